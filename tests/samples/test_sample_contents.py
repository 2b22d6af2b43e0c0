"""The bundled samples hold what samples/README.md says, as an independent dissector sees it.

tshark (Wireshark's command-line dissector) reads each sample; every flow the README
describes is checked with tshark's own fields (SNI, SSH banners, HTTP Host, telnet
data, SCTP chunks, DCCP types, VLAN ids, IPv4 fragment flags, IPv6), so the samples
are checked without trusting annotator's own decoder.  The generator is checked to
be deterministic and to reproduce the committed files byte for byte.
"""

from __future__ import annotations

import csv
import gzip
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
MIXED = SAMPLES / "mixed.pcap"
FILES = ("mixed.pcap", "mixed.pcapng", "mixed.pcap.gz", "truncated.pcap")
TSHARK = shutil.which("tshark") or ("/usr/bin/tshark" if Path("/usr/bin/tshark").exists() else None)
IANA_2014_CSV = Path("/usr/share/ipv6toolkit/service-names-port-numbers.csv")

needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")


def tshark(
    path: Path, fields: list[str], display: str | None = None, *opts: str
) -> list[list[str]]:
    """Rows of tab-separated ``fields`` for the frames of ``path`` matching ``display``."""
    cmd = [TSHARK, "-n", "-r", str(path), "-T", "fields", "-E", "separator=\t"]
    for name in fields:
        cmd += ["-e", name]
    if display:
        cmd += ["-Y", display]
    cmd += list(opts)
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    return [line.split("\t") for line in run.stdout.splitlines()]


def frame_digests(path: Path) -> list[tuple[str, ...]]:
    """(time, wire length, captured length, MD5 of the bytes) for every frame."""
    rows = tshark(
        path,
        ["frame.time_epoch", "frame.len", "frame.cap_len", "frame.md5_hash"],
        None,
        "-o",
        "frame.generate_md5_hash:TRUE",
    )
    return [tuple(row) for row in rows]


# --- the generator -------------------------------------------------------------------


def test_generator_is_deterministic_and_reproduces_the_committed_files(tmp_path: Path) -> None:
    pytest.importorskip("scapy")
    pytest.importorskip("cryptography")
    outs = [tmp_path / "first", tmp_path / "second"]
    for out in outs:
        run = subprocess.run(
            [sys.executable, str(SAMPLES / "make_samples.py"), "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stderr
    for name in FILES:
        first, second = (outs[0] / name).read_bytes(), (outs[1] / name).read_bytes()
        assert first == second, f"{name} differs between two runs"
    # The committed captures are what the committed script writes today.  (The gzip
    # stream itself depends on the zlib build, so compare what it decompresses to.)
    for name in ("mixed.pcap", "mixed.pcapng", "truncated.pcap"):
        assert (outs[0] / name).read_bytes() == (SAMPLES / name).read_bytes(), (
            f"samples/{name} is not what make_samples.py writes now; if scapy's output "
            "changed on purpose, regenerate the samples and check samples/README.md"
        )
    assert gzip.decompress((SAMPLES / "mixed.pcap.gz").read_bytes()) == MIXED.read_bytes()


def test_samples_are_small_and_in_the_formats_their_names_say() -> None:
    for name in FILES:
        assert (SAMPLES / name).stat().st_size < 1_000_000, name
    assert MIXED.read_bytes()[:4] == struct.pack("<I", 0xA1B2C3D4)  # microsecond pcap
    gz = (SAMPLES / "mixed.pcap.gz").read_bytes()
    assert gz[:2] == b"\x1f\x8b" and gz[4:8] == b"\0\0\0\0", "gzip header must carry mtime 0"
    assert gz[3] & 0x08 == 0, "gzip header must not carry a file name"


def test_pcapng_has_one_interface_with_nanosecond_resolution() -> None:
    data = (SAMPLES / "mixed.pcapng").read_bytes()
    kind, size = struct.unpack_from("<II", data, 0)
    assert kind == 0x0A0D0D0A
    idb_kind, idb_size, link_type = struct.unpack_from("<IIH", data, size)
    assert (idb_kind, link_type) == (1, 1)
    options, pos, tsresol = data[size + 16 : size + idb_size - 4], 0, None
    while pos + 4 <= len(options):
        code, length = struct.unpack_from("<HH", options, pos)
        if code == 9:
            tsresol = options[pos + 4]
        pos += 4 + length + (-length % 4)
    assert tsresol == 9


# --- the mixed scenario as tshark dissects it -----------------------------------------


@needs_tshark
def test_same_frames_in_pcap_pcapng_and_gzip() -> None:
    reference = frame_digests(MIXED)
    assert len(reference) == 173
    assert frame_digests(SAMPLES / "mixed.pcapng") == reference
    assert frame_digests(SAMPLES / "mixed.pcap.gz") == reference


@needs_tshark
def test_truncated_capture_is_cut_inside_a_record() -> None:
    data, whole = (SAMPLES / "truncated.pcap").read_bytes(), MIXED.read_bytes()
    assert len(data) < len(whole) and whole.startswith(data)
    pos = 24
    while pos + 16 <= len(data):
        pos += 16 + struct.unpack_from("<I", data, pos + 8)[0]
    assert pos > len(data), "the cut must fall inside a packet record"
    run = subprocess.run(
        [TSHARK, "-n", "-r", str(SAMPLES / "truncated.pcap"), "-T", "fields", "-e", "frame.number"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "cut short in the middle of a packet" in run.stderr
    readable = len(run.stdout.splitlines())
    assert 0 < readable < len(frame_digests(MIXED))


@needs_tshark
def test_every_checksum_is_valid() -> None:
    bad = tshark(
        MIXED,
        ["frame.number"],
        "ip.checksum.status == 0 || tcp.checksum.status == 0 || udp.checksum.status == 0"
        " || dccp.checksum.status == 0",
        "-o",
        "ip.check_checksum:TRUE",
        "-o",
        "tcp.check_checksum:TRUE",
        "-o",
        "udp.check_checksum:TRUE",
        "-o",
        "dccp.check_checksum:TRUE",
    )
    assert bad == []
    assert tshark(MIXED, ["frame.number"], "_ws.malformed || _ws.expert.severity >= error") == []


@needs_tshark
def test_tls_client_hellos_carry_sni_and_alpn_and_get_server_hellos() -> None:
    rows = tshark(
        MIXED,
        ["ip.src", "ipv6.src", "tcp.dstport", "udp.dstport", "quic.version",
         "tls.handshake.extensions_server_name", "tls.handshake.extensions_alpn_str"],
        "tls.handshake.type == 1",
    )  # fmt: skip
    hellos = {(r[0] or r[1], r[2] or r[3], r[4], r[5], r[6]) for r in rows}
    assert hellos == {
        ("10.20.30.41", "443", "", "docs.example.org", "h2,http/1.1"),
        ("10.20.30.42", "443", "", "mail.example.net", "h2,http/1.1"),
        ("2001:db8:20:30::41", "443", "", "www.example.com", "h2,http/1.1"),
        ("10.20.30.41", "443", "0x00000001", "cdn.example.net", "h3"),  # QUIC Initial
    }
    servers = tshark(MIXED, ["ip.src", "ipv6.src", "tcp.srcport", "udp.srcport"],
                     "tls.handshake.type == 2")  # fmt: skip
    assert sorted((r[0] or r[1], r[2] or r[3]) for r in servers) == sorted(
        [("198.51.100.20", "443"), ("198.51.100.25", "443"), ("2001:db8:100::10", "443"),
         ("198.51.100.30", "443")]
    )  # fmt: skip


@needs_tshark
def test_tcp_flows_open_with_a_handshake_from_the_intended_client() -> None:
    rows = tshark(
        MIXED,
        ["ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport"],
        "tcp.flags.syn == 1 && tcp.flags.ack == 0",
    )
    syns = {(r[0] or r[1], r[2], r[3] or r[4], r[5]) for r in rows}
    assert syns == {
        ("10.20.30.41", "51544", "198.51.100.20", "443"),
        ("10.20.30.42", "58312", "198.51.100.25", "443"),
        ("2001:db8:20:30::41", "52890", "2001:db8:100::10", "443"),
        ("10.20.30.57", "50522", "203.0.113.44", "443"),
        ("10.20.30.42", "59876", "10.20.30.80", "8180"),
        ("10.20.30.42", "60222", "10.20.30.155", "5555"),
        ("10.20.30.43", "61512", "10.20.30.10", "49668"),
        ("10.99.0.60", "53023", "10.99.0.2", "23"),
    }
    synacks = tshark(MIXED, ["tcp.srcport"], "tcp.flags.syn == 1 && tcp.flags.ack == 1")
    assert sorted(int(r[0]) for r in synacks) == [23, 443, 443, 443, 443, 5555, 8180, 49668]


@needs_tshark
def test_dns_queries_and_answers() -> None:
    rows = tshark(
        MIXED,
        ["dns.flags.response", "dns.qry.name", "dns.qry.type", "dns.a", "dns.aaaa", "ipv6.src"],
        "dns",
    )
    answers = {(r[1], r[3] or r[4]) for r in rows if r[0] in ("1", "True")}
    assert {
        ("docs.example.org", "198.51.100.20"),
        ("mail.example.net", "198.51.100.25"),
        ("cdn.example.net", "198.51.100.30"),
        ("www.example.com", "2001:db8:100::10"),
    } <= answers
    queries = [r for r in rows if r[0] in ("0", "False")]
    assert len(queries) == 5 and len(rows) == 10
    assert any(r[5] == "2001:db8:20:30::53" for r in rows), "one lookup runs over IPv6"


@needs_tshark
def test_ipv4_fragments_of_one_udp_datagram() -> None:
    frags = tshark(
        MIXED,
        ["ip.id", "ip.flags.mf", "ip.frag_offset", "ip.proto"],
        "ip.flags.mf == 1 || ip.frag_offset > 0",
        "-o",
        "ip.defragment:FALSE",
    )
    assert [(r[0], r[1], r[3]) for r in frags] == [("0x7a7a", "1", "17"), ("0x7a7a", "0", "17")]
    assert frags[0][2] == "0" and int(frags[1][2]) > 0
    # Reassembled, the datagram is one DNS answer with 11 TXT records.
    whole = tshark(MIXED, ["dns.count.answers", "dns.qry.name"], "dns.resp.type == 16")
    assert whole == [["11", "example.org"]]


@needs_tshark
def test_ntp_client_and_server() -> None:
    rows = tshark(MIXED, ["ip.src", "udp.srcport", "udp.dstport", "ntp.flags.mode"], "ntp")
    assert rows == [["10.20.30.41", "50123", "123", "3"], ["203.0.113.123", "123", "50123", "4"]]


@needs_tshark
def test_ssh_banners_on_port_443() -> None:
    # tshark dissects 443 as TLS by port; decoding the flow as SSH shows what it speaks.
    rows = tshark(MIXED, ["ip.src", "tcp.srcport", "ssh.protocol"], "ssh.protocol",
                  "-d", "tcp.port==50522,ssh")  # fmt: skip
    assert rows == [
        ["203.0.113.44", "443", "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5"],
        ["10.20.30.57", "50522", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"],
    ]
    kex = tshark(MIXED, ["ssh.message_code"], "ssh.message_code == 20", "-d", "tcp.port==50522,ssh")
    assert len(kex) == 2


@needs_tshark
def test_http_on_port_8180() -> None:
    rows = tshark(
        MIXED,
        ["tcp.dstport", "tcp.srcport", "http.request.method", "http.host", "http.response.code"],
        "http",
    )
    assert rows == [
        ["8180", "59876", "GET", "wiki.corp.example.com:8180", ""],
        ["59876", "8180", "", "", "200"],
    ]


@needs_tshark
def test_adb_and_dcerpc_and_the_dynamic_port() -> None:
    adb = tshark(MIXED, ["tcp.srcport", "tcp.payload"], "tcp.port == 5555 && tcp.len > 0")
    assert [r[0] for r in adb] == ["60222", "5555", "60222"]
    assert all(r[1].replace(":", "")[:8] in ("434e584e", "4f50454e") for r in adb)  # CNXN, OPEN
    rpc = tshark(MIXED, ["tcp.srcport", "dcerpc.pkt_type"], "dcerpc")
    assert rpc == [["61512", "11"], ["49668", "12"]]  # bind, bind_ack


@needs_tshark
def test_sctp_association_and_dccp_connection() -> None:
    sctp = tshark(MIXED, ["ip.src", "sctp.srcport", "sctp.dstport", "sctp.chunk_type"], "sctp")
    assert [r[3] for r in sctp] == ["1", "2", "10", "11", "0", "3"]  # INIT ... DATA, SACK
    assert sctp[0][:3] == ["10.20.30.70", "50905", "2905"]
    assert tshark(MIXED, ["m3ua.message_class", "m3ua.message_type"], "m3ua") == [["3", "1"]]
    dccp = tshark(MIXED, ["ip.src", "dccp.srcport", "dccp.dstport", "dccp.type"], "dccp")
    assert dccp == [
        ["10.20.30.43", "52004", "5004", "0"],
        ["198.51.100.77", "5004", "52004", "1"],
        ["10.20.30.43", "52004", "5004", "3"],
    ]


@needs_tshark
def test_telnet_login_runs_on_vlan_99() -> None:
    vlans = tshark(MIXED, ["vlan.id", "tcp.port"], "vlan")
    assert vlans and all(r == ["99", "53023,23"] or r == ["99", "23,53023"] for r in vlans)
    assert len(vlans) == len(tshark(MIXED, ["frame.number"], "tcp.port == 23"))
    rows = tshark(MIXED, ["tcp.srcport", "telnet.cmd", "telnet.data"], "telnet")
    server_text = " ".join(r[2] for r in rows if r[0] == "23")
    client_text = " ".join(r[2] for r in rows if r[0] == "53023")
    assert "253" in rows[0][1], "the server opens with IAC DO negotiation"
    assert "login: " in server_text and "Password: " in server_text
    assert "netadmin" in client_text and "fake-Pa55w0rd-EXAMPLE" in client_text


@needs_tshark
def test_other_traffic_arp_and_icmp_echo() -> None:
    arp = tshark(MIXED, ["arp.opcode", "arp.src.proto_ipv4", "arp.dst.proto_ipv4"], "arp")
    assert arp == [["1", "10.20.30.41", "10.20.30.1"], ["2", "10.20.30.1", "10.20.30.41"]]
    icmp = tshark(MIXED, ["icmp.type", "ip.src"], "icmp")
    assert [r[0] for r in icmp] == ["8", "0", "8", "0"]


@needs_tshark
def test_ipv6_carries_dns_and_tls() -> None:
    rows = tshark(MIXED, ["udp.port", "tcp.port"], "ipv6")
    assert any("53" in r[0].split(",") for r in rows)
    assert any("443" in r[1].split(",") for r in rows)


# --- the registry facts the scenario relies on ----------------------------------------


def _csv_records(port: int, transport: str) -> list[dict[str, str]]:
    out = []
    with IANA_2014_CSV.open(encoding="utf-8", errors="replace", newline="") as handle:
        for row in csv.DictReader(handle):
            number = row["Port Number"].strip()
            if not number or row["Transport Protocol"] not in (transport, ""):
                continue
            low, _, high = number.partition("-")
            if int(low) <= port <= int(high or low):
                out.append(row)
    return out


@pytest.mark.skipif(not IANA_2014_CSV.exists(), reason="Debian's ipv6toolkit CSV is absent")
def test_port_choices_in_the_2014_registry() -> None:
    assert [r["Description"] for r in _csv_records(8180, "tcp")] == ["Unassigned"]
    adb = _csv_records(5555, "tcp")
    assert [r["Service Name"] for r in adb] == ["personal-agent"]
    assert adb[0]["Known Unauthorized Uses"].strip()
    assert _csv_records(49668, "tcp") == []  # nothing is assigned in the dynamic range


@pytest.mark.shared
def test_port_choices_in_the_2026_registry(shared: Path) -> None:
    from defusedxml import ElementTree

    ns = "{http://www.iana.org/assignments}"
    tree = ElementTree.parse(shared / "iana" / "service-names-port-numbers.xml")
    found: dict[tuple[int, str], list[tuple[str, str, bool]]] = {}
    wanted = {(8180, "tcp"), (5555, "tcp"), (2905, "sctp"), (5004, "dccp"), (23, "tcp")}
    for rec in tree.getroot().iter(ns + "record"):
        number = rec.findtext(ns + "number")
        if not number:
            continue
        low, _, high = number.partition("-")
        proto = rec.findtext(ns + "protocol") or ""
        for port, transport in wanted:
            if int(low) <= port <= int(high or low) and proto in (transport, ""):
                found.setdefault((port, transport), []).append(
                    (
                        rec.findtext(ns + "name") or "",
                        rec.findtext(ns + "description") or "",
                        rec.find(ns + "unauthorized") is not None,
                    )
                )
    assert found[(8180, "tcp")] == [("", "Unassigned", False)]
    assert found[(5555, "tcp")] == [("personal-agent", "Personal Agent", True)]
    assert [r[0] for r in found[(2905, "sctp")]] == ["m3ua"]
    assert [r[0] for r in found[(5004, "dccp")]] == ["avt-profile-1"]
    assert [r[0] for r in found[(23, "tcp")]] == ["telnet"]
