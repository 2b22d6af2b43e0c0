"""A hand-built AnnotateResult for the report tests.

It carries what a capture cannot easily carry: terminal escape sequences,
bidi overrides and rich markup in a capture file name and server names, a
formula in a banner, dollar signs for matplotlib.  Its flows have the dtypes
the triage stage produces, so the exports see the real column types.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from annotator.result import AnnotateResult, CaptureInfo, Partial
from annotator.triage.flags import FLAGS, SEVERITIES

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
    severity = [
        min((FLAGS[f].severity for f in fl), key=SEVERITIES.index) if fl else None for fl in flags
    ]
    sev_type = pd.CategoricalDtype(list(reversed(SEVERITIES)), ordered=True)
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
            "severity": pd.Categorical(severity, dtype=sev_type),
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
    for _, flow in flows.iterrows():
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
                }
            )
    frame = pd.DataFrame(rows)
    frame["severity"] = pd.Categorical(
        frame["severity"], categories=list(reversed(SEVERITIES)), ordered=True
    )
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
