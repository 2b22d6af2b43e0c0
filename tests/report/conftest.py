"""A hand-built AnnotateResult for the report tests.

It carries what a capture cannot easily carry: terminal escape sequences,
bidi overrides and rich markup in a capture file name and server names, a
formula in a banner, dollar signs for matplotlib.  Its flows have the dtypes
the triage stage produces, so the exports see the real column types.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from annotator.result import AnnotateResult, CaptureInfo, Partial
from annotator.triage.flags import FLAGS
from annotator.triage.severity import SEVERITY_DTYPE, most_urgent

HOSTILE_SNI = "<script>alert(1)</script>"
HOSTILE_HOST = '"><img src=x onerror=alert(1)>'
HOSTILE_MD = "[click](http://evil.example.net/x) | pipe | `tick` *bold* _u_"
HOSTILE_FORMULA = '=HYPERLINK("http://evil.example.net","x")'
HOSTILE_TERMINAL = "bad\x1b[2Jname\x07[bold red]boom[/bold red]\u202egpj.exe"
IANA_NOTE = (
    "ASSIGNMENT OF A PORT NUMBER DOES NOT IN ANY WAY IMPLY AN ENDORSEMENT OF AN "
    "APPLICATION OR PRODUCT."
)


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


FLOW_ROWS = [
    # transport, client, cport, server, sport, vlan, first, dur, pk c2s, pk s2c, b c2s, b s2c,
    # tcp_flags, service, services, observed, server_name, evidence, basis, flags, cred
    (
        "tcp",
        "10.0.0.5",
        51000,
        "93.184.216.34",
        443,
        None,
        "2024-01-02T03:04:05.123456",
        2.5,
        12,
        14,
        2200,
        48000,
        "SYN,ACK,PSH,FIN",
        "https",
        ["https"],
        "TLS",
        HOSTILE_SNI,
        "consistent",
        "confirmed-by-traffic",
        [],
        False,
    ),
    (
        "tcp",
        "10.0.0.5",
        51002,
        "203.0.113.7",
        443,
        20,
        "2024-01-02T03:04:07.000001",
        30.0,
        40,
        38,
        9000,
        15000,
        "SYN,ACK,PSH",
        "https",
        ["https"],
        "SSH",
        None,
        "contradicts",
        "registration-only",
        ["protocol-mismatch"],
        False,
    ),
    (
        "tcp",
        "10.0.0.9",
        40000,
        "198.51.100.2",
        8123,
        None,
        "2024-01-02T03:04:09.5",
        1.0,
        5,
        5,
        700,
        900,
        "SYN,ACK,PSH",
        None,
        [],
        "HTTP",
        HOSTILE_HOST,
        "none",
        None,
        ["known-protocol-unregistered-port", "unassigned-port"],
        False,
    ),
    (
        "tcp",
        "10.0.0.7",
        40100,
        "192.0.2.23",
        23,
        None,
        "2024-01-02T03:04:10",
        8.0,
        30,
        28,
        300,
        2000,
        "SYN,ACK,PSH,FIN",
        "telnet",
        ["telnet"],
        "telnet",
        HOSTILE_MD,
        "consistent",
        "confirmed-by-traffic",
        ["cleartext-authentication"],
        True,
    ),
    (
        "udp",
        "10.0.0.5",
        53000,
        "10.0.0.1",
        53,
        None,
        "2024-01-02T03:04:05.5",
        0.01,
        1,
        1,
        60,
        120,
        None,
        "domain",
        ["domain"],
        "DNS",
        HOSTILE_FORMULA,
        "consistent",
        "confirmed-by-traffic",
        [],
        False,
    ),
    (
        "udp",
        "10.0.0.8",
        123,
        "10.0.0.1",
        123,
        None,
        "2024-01-02T03:04:11",
        0.0,
        1,
        0,
        90,
        0,
        None,
        "ntp",
        ["ntp"],
        None,
        None,
        "none",
        "registration-only",
        ["port-only-label"],
        False,
    ),
    (
        "tcp",
        "fd00::5",
        50000,
        "fd00::1",
        61000,
        None,
        "2024-01-02T03:04:12",
        4.0,
        6,
        6,
        1200,
        3400,
        "SYN,ACK",
        None,
        [],
        None,
        HOSTILE_TERMINAL,
        "none",
        None,
        ["dynamic-port-server"],
        False,
    ),
]


def make_flows() -> pd.DataFrame:
    """Seven flows with the triage stage's column names and dtypes."""
    cols = list(zip(*FLOW_ROWS, strict=True))
    (
        transport,
        cip,
        cport,
        sip,
        sport,
        vlan,
        first,
        dur,
        pc2s,
        ps2c,
        bc2s,
        bs2c,
        tflags,
        service,
        services,
        observed,
        sname,
        evidence,
        basis,
        flags,
        cred,
    ) = cols
    first_seen = pd.to_datetime(list(first), utc=True, format="ISO8601").as_unit("ns")
    duration = np.array(dur, dtype=np.float64)
    last_seen = first_seen + pd.to_timedelta(duration, unit="s")
    packets_c2s = np.array(pc2s, dtype=np.int64)
    packets_s2c = np.array(ps2c, dtype=np.int64)
    bytes_c2s = np.array(bc2s, dtype=np.int64)
    bytes_s2c = np.array(bs2c, dtype=np.int64)
    severity = [most_urgent(FLAGS[f].severity for f in fl) for fl in flags]
    n = len(FLOW_ROWS)
    port_class = ["system" if p < 1024 else "user" if p < 49152 else "dynamic" for p in sport]
    return pd.DataFrame(
        {
            "transport": pd.array(transport, dtype="str"),
            "ip_version": np.array([6 if ":" in a else 4 for a in cip], dtype=np.uint8),
            "client_ip": pd.array(cip, dtype="str"),
            "client_port": np.array(cport, dtype=np.uint16),
            "server_ip": pd.array(sip, dtype="str"),
            "server_port": np.array(sport, dtype=np.uint16),
            "vlan_id": pd.array(vlan, dtype="Int16"),
            "first_seen": first_seen,
            "last_seen": last_seen,
            "duration_s": duration,
            "packets": packets_c2s + packets_s2c,
            "bytes": bytes_c2s + bytes_s2c,
            "packets_c2s": packets_c2s,
            "packets_s2c": packets_s2c,
            "bytes_c2s": bytes_c2s,
            "bytes_s2c": bytes_s2c,
            "tcp_flags": pd.array(tflags, dtype="str"),
            "direction_basis": pd.array(["handshake"] * n, dtype="str"),
            "first_frame": np.arange(1, n + 1, dtype=np.int64) * 3,
            "capture": pd.array([HOSTILE_TERMINAL + ".pcap"] * n, dtype="str"),
            "community_id": pd.array(
                [f"1:abcdefghij{i}klmnopqrstuvwxyz=" for i in range(n)], dtype="str"
            ),
            "port_class": pd.array(port_class, dtype="str"),
            "service": pd.array(service, dtype="str"),
            "services": pd.Series(list(services), dtype=object),
            "description": pd.array(
                [
                    {
                        "https": "http protocol over TLS/SSL",
                        "telnet": "Telnet",
                        "domain": "Domain Name Server",
                        "ntp": "Network Time Protocol",
                    }.get(s)
                    for s in service
                ],
                dtype="str",
            ),
            "registry_status": pd.array(["assigned" if s else None for s in service], dtype="str"),
            "registry_notes": pd.array([None] * n, dtype="str"),
            "unauthorized_use": pd.array([None] * n, dtype="str"),
            "observed_protocol": pd.array(observed, dtype="str"),
            "server_name": pd.array(sname, dtype="str"),
            "evidence_detail": pd.array([f"SNI {s}" if s else None for s in sname], dtype="str"),
            "evidence": pd.array(evidence, dtype="str"),
            "label_basis": pd.array(basis, dtype="str"),
            "flags": pd.Series([list(f) for f in flags], dtype=object),
            "severity": pd.Categorical(severity, dtype=SEVERITY_DTYPE),
            "cleartext_credentials": np.array(cred, dtype=bool),
            "wireshark_filter": pd.array(
                [
                    f"{t}.port == {p} && ip.addr == {a}"
                    for t, p, a in zip(transport, sport, sip, strict=True)
                ],
                dtype="str",
            ),
        }
    )


def make_findings(flows: pd.DataFrame) -> pd.DataFrame:
    """One finding row per (flag, transport, server, port, observed protocol)."""
    rows = []
    for position, (_, flow) in enumerate(flows.iterrows()):
        for flag_id in flow["flags"]:
            flag = FLAGS[flag_id]
            rows.append(
                {
                    "severity": flag.severity,
                    "flag": flag_id,
                    "title": flag.title,
                    "detail": f"{flow['server_port']}/{flow['transport']}: {flag.title}"
                    + (
                        f" (server name {flow['server_name']})"
                        if pd.notna(flow["server_name"])
                        else ""
                    ),
                    "attack": flag.attack,
                    "transport": flow["transport"],
                    "server_ip": flow["server_ip"],
                    "server_port": flow["server_port"],
                    "service": flow["service"],
                    "observed_protocol": flow["observed_protocol"],
                    "server_name": flow["server_name"],
                    "flows": 1,
                    "clients": 1,
                    "bytes": flow["bytes"],
                    "first_seen": flow["first_seen"],
                    "last_seen": flow["last_seen"],
                    "flow_index": [position],
                }
            )
    frame = pd.DataFrame(rows)
    frame["severity"] = pd.Categorical(frame["severity"], dtype=SEVERITY_DTYPE)
    return frame.sort_values(["severity", "bytes"], ascending=[False, False]).reset_index(drop=True)


def make_result() -> AnnotateResult:
    """The hand-built result: seven flows, findings, other traffic, one partial read."""
    flows = make_flows()
    first, last = flows["first_seen"].min(), flows["last_seen"].max()
    capture = CaptureInfo(
        name=HOSTILE_TERMINAL + ".pcap",
        size=123456,
        sha256="ab" * 32,
        format="pcap",
        compression=None,
        link_types=["ETHERNET"],
        packets=int(flows["packets"].sum()) + 7,
        first_seen=first,
        last_seen=last,
    )
    other = pd.DataFrame(
        {
            "protocol": pd.array(["ARP", "ICMP"], dtype="str"),
            "packets": np.array([4, 2], dtype=np.int64),
            "bytes": np.array([240, 196], dtype=np.int64),
        }
    )
    accounting = {
        "packets_total": capture.packets,
        "packets_in_flows": int(flows["packets"].sum()),
        "packets_other": 6,
        "packets_undecodable": 1,
        "undecodable": {"truncated IPv4 header": 1},
        "flows": len(flows),
    }
    meta = SimpleNamespace(
        title="Service Name and Transport Protocol Port Number Registry",
        updated="2026-08-17",
        note=IANA_NOTE,
        source="service-names-port-numbers.xml",
        format="xml",
        columns_available=[
            "service",
            "port",
            "transport",
            "description",
            "assignee",
            "unauthorized_use",
            "assignment_notes",
        ],
        skipped_rows=0,
    )
    return AnnotateResult(
        flows=flows,
        findings=make_findings(flows),
        other=other,
        accounting=accounting,
        captures=[capture],
        registry=SimpleNamespace(meta=meta),
        partial=[Partial(capture=capture.name, offset=9000, reason="truncated record")],
        started_at=pd.Timestamp("2026-11-26T21:00:00", tz="UTC"),
    )


@pytest.fixture
def crafted() -> AnnotateResult:
    """The hand-built result with hostile strings (see module docstring)."""
    return make_result()


@pytest.fixture
def hostile() -> SimpleNamespace:
    """The hostile strings the hand-built result carries."""
    return SimpleNamespace(
        sni=HOSTILE_SNI,
        host=HOSTILE_HOST,
        markdown=HOSTILE_MD,
        formula=HOSTILE_FORMULA,
        terminal=HOSTILE_TERMINAL,
    )


# --- a crafted capture, built with scapy into a temporary folder --------------

#: A capture file name full of markup, formula and link syntax (no "/": it is a file name).
HOSTILE_FILE_NAME = (
    '=HYPERLINK("http:evil","x") <script>alert(1)'
    ' "><img src=x onerror=alert(1)> [click](http:evil) | pipe |.pcap'
)
HOSTILE_BANNER = (
    b"SSH-2.0-OpenSSH_9.6 <script>alert(1)</script>"
    b' "><img src=x onerror=alert(1)> [click](http://evil.example) | pipe | $x^2$\r\n'
)
TELNET_PASSWORD = "Tr0ub4dor&3-never-print-me"
#: Passwords in user information: an HTTP Host, an IP camera's RTSP URL, a SIP URI.
URL_PASSWORDS = ("h0st-never-print-me", "c4mera-never-print-me", "s1p-never-print-me")


def _client_hello(sni: bytes) -> bytes:
    """A minimal TLS 1.2 ClientHello carrying ``sni`` in its server_name extension."""
    import struct

    server_name = struct.pack("!BH", 0, len(sni)) + sni
    sni_ext = struct.pack("!HHH", 0, len(server_name) + 2, len(server_name)) + server_name
    body = b"\x03\x03" + bytes(range(32)) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    body += struct.pack("!H", len(sni_ext)) + sni_ext
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


def _tcp_session(client: str, cport: int, server: str, sport: int, t0: float, talk):
    """Packets of one TCP connection: handshake, ``talk`` [(from_client, bytes)], FIN."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw

    seq = {True: 1000, False: 5000}
    packets = []

    def send(from_client: bool, flags: str, payload: bytes = b"") -> None:
        src, dst = (client, server) if from_client else (server, client)
        sp, dp = (cport, sport) if from_client else (sport, cport)
        ack = seq[not from_client] if "A" in flags else 0
        pkt = (
            Ether()
            / IP(src=src, dst=dst)
            / TCP(sport=sp, dport=dp, flags=flags, seq=seq[from_client], ack=ack)
        )
        if payload:
            pkt = pkt / Raw(payload)
        pkt.time = t0 + len(packets) * 0.01
        packets.append(pkt)
        seq[from_client] += len(payload) + (1 if "S" in flags or "F" in flags else 0)

    send(True, "S")
    send(False, "SA")
    send(True, "A")
    for from_client, payload in talk:
        send(from_client, "PA", payload)
    send(True, "FA")
    send(False, "FA")
    send(True, "A")
    return packets


def build_hostile_capture(folder) -> Path:
    """A pcap whose TLS SNI, HTTP Host, SSH banner and file name hold injections,
    plus a telnet login with a password in clear text, and passwords in the
    user information of an HTTP Host, an RTSP URL and a SIP URI."""
    from scapy.utils import wrpcap

    t = 1_700_000_000.0
    packets = []
    packets += _tcp_session("10.1.1.10", 50001, "198.51.100.10", 443, t, [
        (True, _client_hello(b"<script>alert(1)</script>")),
    ])  # fmt: skip
    packets += _tcp_session("10.1.1.10", 50002, "198.51.100.11", 443, t + 1, [
        (True, _client_hello(b"evil.example.com")),
    ])  # fmt: skip
    packets += _tcp_session("10.1.1.10", 50003, "198.51.100.12", 80, t + 2, [
        (True, b'GET / HTTP/1.1\r\nHost: "><img src=x onerror=alert(1)>\r\n'
               b"User-Agent: [click](http://evil) | pipe | =HYPERLINK(\"http://evil\")\r\n\r\n"),
        (False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ])  # fmt: skip
    packets += _tcp_session("10.1.1.10", 50004, "198.51.100.13", 80, t + 3, [
        (True, b"GET /x HTTP/1.1\r\nHost: [click](http://evil)|pipe|\r\n\r\n"),
        (False, b"HTTP/1.1 404 Not Found\r\n\r\n"),
    ])  # fmt: skip
    packets += _tcp_session("10.1.1.10", 50005, "198.51.100.14", 443, t + 4, [
        (False, HOSTILE_BANNER),
        (True, b"SSH-2.0-OpenSSH_9.6\r\n"),
    ])  # fmt: skip
    packets += _tcp_session("10.1.1.10", 50006, "198.51.100.15", 23, t + 5, [
        (False, b"\xff\xfd\x18\xff\xfd\x20"),
        (True, b"\xff\xfc\x18\xff\xfc\x20"),
        (False, b"\r\nlogin: "),
        (True, b"alice\r\n"),
        (False, b"Password: "),
        (True, TELNET_PASSWORD.encode() + b"\r\n"),
        (False, b"\r\nWelcome alice\r\n$ "),
    ])  # fmt: skip
    host, camera, sip = URL_PASSWORDS
    packets += _tcp_session("10.1.1.10", 50007, "198.51.100.16", 80, t + 6, [
        (True, b"GET / HTTP/1.1\r\nHost: admin:" + host.encode() + b"@intranet.example\r\n\r\n"),
        (False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ])  # fmt: skip
    packets += _tcp_session("10.1.1.10", 50008, "198.51.100.17", 554, t + 7, [
        (True, b"DESCRIBE rtsp://admin:" + camera.encode() + b"@198.51.100.17/live RTSP/1.0\r\n"
               b"CSeq: 1\r\n\r\n"),
        (False, b"RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\n\r\n"),
    ])  # fmt: skip
    packets += _tcp_session("10.1.1.10", 50009, "198.51.100.18", 5060, t + 8, [
        (True, b"REGISTER sip:bob:" + sip.encode() + b"@example.com SIP/2.0\r\n"
               b"CSeq: 1 REGISTER\r\n\r\n"),
        (False, b"SIP/2.0 200 OK\r\nCSeq: 1 REGISTER\r\n\r\n"),
    ])  # fmt: skip
    path = Path(folder) / HOSTILE_FILE_NAME
    wrpcap(str(path), packets)
    return path


@pytest.fixture(scope="module")
def hostile_capture(tmp_path_factory: pytest.TempPathFactory):
    """(result, file name, telnet password) of the crafted capture, annotated.

    The capture is read by its bare file name from inside its folder, so its
    name (which starts with ``=``) is what every report shows as-is.
    """
    pytest.importorskip("scapy", reason="scapy builds the crafted capture")
    import contextlib

    import annotator

    path = build_hostile_capture(tmp_path_factory.mktemp("hostile"))
    with contextlib.chdir(path.parent):
        result = annotator.annotate(path.name)
    return SimpleNamespace(
        result=result,
        path=path,
        name=path.name,
        banner=HOSTILE_BANNER.decode().strip(),
        password=TELNET_PASSWORD,
        passwords=(TELNET_PASSWORD, *URL_PASSWORDS),
    )


# --- a real headless Chromium -------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")


class Browser:
    """Runs Debian's chromium headless on local files, with a fresh profile each time."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.runs = 0

    def _run(self, page: Path, *extra: str) -> str:
        import subprocess

        self.runs += 1
        profile = self.scratch / f"profile-{self.runs}"
        done = subprocess.run(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                *extra,
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    def dump_dom(self, page: Path, *flags: str) -> str:
        """The DOM after the page's scripts ran, serialized by the browser."""
        return self._run(page, *flags, "--virtual-time-budget=3000", "--dump-dom")

    def screenshot(self, page: Path, png: Path, size: str = "1400,2400") -> Path:
        """A PNG of the rendered page (look at it when changing the design)."""
        self._run(page, f"--screenshot={png}", f"--window-size={size}")
        return png


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Browser:
    """Headless Chromium; the test is skipped when /usr/bin/chromium is not installed."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed (the CI installs Debian's chromium)")
    return Browser(tmp_path_factory.mktemp("chromium"))


# --- parsing and checking a report page ------------------------------------

RESOURCE_ATTRS = {"src", "href", "xlink:href", "action", "formaction", "poster", "data",
                  "srcset", "background", "cite", "manifest", "ping"}  # fmt: skip
EXTERNAL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)


class Page(HTMLParser):
    """Every element with its attributes, the text, and the inline scripts and styles."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._in: str | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._in = tag
            (self.scripts if tag == "script" else self.styles).append("")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._in = None

    def handle_data(self, data):
        if self._in == "script":
            self.scripts[-1] += data
        elif self._in == "style":
            self.styles[-1] += data
        else:
            self.text.append(data)

    def tags(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.elements if tag == name]

    def all_text(self) -> str:
        return "".join(self.text)


def assert_self_contained(html: str) -> None:
    """No element, attribute or style could make the browser fetch anything."""
    page = Page(html)
    for tag, attrs in page.elements:
        assert tag not in {"link", "iframe", "object", "embed", "img", "base", "frame",
                           "audio", "video", "source", "track", "form"}, tag  # fmt: skip
        for name, value in attrs.items():
            assert not name.startswith("on"), f"<{tag} {name}> event handler in the page"
            if name in RESOURCE_ATTRS and value:
                if tag == "a" and name == "href":
                    continue  # a plain link is not a resource; nothing loads until clicked
                assert value.startswith("#") or not EXTERNAL.match(value), (tag, name, value)
        if tag == "script":
            assert "src" not in attrs
    styles = " ".join(page.styles) + " ".join(str(a.get("style", "")) for _, a in page.elements)
    assert "@import" not in styles
    assert not re.search(r"url\(\s*['\"]?(?!data:|#)", styles), "CSS url() to a resource"
    assert "@font-face" not in styles


@pytest.fixture
def page_check() -> SimpleNamespace:
    """The HTML parser and the self-containment check, for the report tests."""
    return SimpleNamespace(Page=Page, assert_self_contained=assert_self_contained)


# --- the real pipeline on the project's own sample ------------------------------


@pytest.fixture(scope="session")
def _mixed_result() -> AnnotateResult:
    import annotator

    capture = Path(__file__).resolve().parents[2] / "samples" / "mixed.pcap"
    if not capture.exists():
        pytest.skip("samples/mixed.pcap not generated (run samples/make_samples.py)")
    return annotator.annotate(capture)


@pytest.fixture
def mixed(_mixed_result: AnnotateResult) -> AnnotateResult:
    """``annotator.annotate("samples/mixed.pcap")``, with frames a test may change."""
    from dataclasses import replace

    return replace(
        _mixed_result,
        flows=_mixed_result.flows.copy(),
        findings=_mixed_result.findings.copy(),
        other=_mixed_result.other.copy(),
        accounting=dict(_mixed_result.accounting),
        captures=list(_mixed_result.captures),
        partial=list(_mixed_result.partial),
    )


@pytest.fixture(params=["mixed", "crafted"])
def any_result(request: pytest.FixtureRequest) -> AnnotateResult:
    """The real sample's result, then the hand-built hostile one."""
    return request.getfixturevalue(request.param)
