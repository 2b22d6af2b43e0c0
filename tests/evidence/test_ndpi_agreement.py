"""Agreement with nDPI, the reference peer, on the real captures in ../shared.

Every capture in ``captures/labeled/pcap`` is read with the project's own flow
stage (``annotator.read_flows``, with the full IANA registry from ../shared);
each flow's first payload bytes are fingerprinted and the result is compared
with nDPI's verdict for the same flow (same transport, same two endpoints, same
VLAN), counting only the lines nDPI marks ``Confidence: DPI``.  A flow counts
when nDPI names a protocol this project fingerprints and the evidence stage
names one too; the observed protocol must agree for at least 95% of them.

How nDPI's names map to ours (the part of ``MASTER.APP`` before the dot):

* ``TLS``, and the implicit-TLS names ``IMAPS``, ``POPS``, ``SMTPS`` -> tls;
* ``FTPS`` -> ftp: nDPI says FTPS for FTP upgraded with ``AUTH TLS``, whose
  first bytes are FTP commands (implicit FTPS on port 990 would start with TLS,
  but nDPI names that TLS);
* ``HTTP``, ``HTTP_Proxy``, ``HTTP_Connect`` -> http (a proxy speaks HTTP);
  our ``http2`` (cleartext preface or h2c upgrade) counts as http too;
* ``SMBv1``, ``SMBv23`` -> smb; ``DHCPV6`` -> dhcp; ``FTP_CONTROL`` -> ftp;
* ``IPSec`` -> ike: over UDP nDPI says IPSec for the key exchange (it also says
  so for ESP in UDP, which we do not name, so those flows are not counted);
* ``NetBIOS`` covers name, datagram and session service: our netbios-ns,
  netbios-dgm and nbss all count as NetBIOS;
* everything else by the same name in lower case (``Kerberos`` -> kerberos).

Names with no counterpart here (application labels such as WhatsApp without a
master protocol, RTP, game protocols) are not counted.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

import annotator
from annotator.evidence import PROTOCOLS, fingerprint_flows

NDPI_TO_OURS = {
    "TLS": "tls",
    "IMAPS": "tls",
    "POPS": "tls",
    "SMTPS": "tls",
    "FTPS": "ftp",
    "DTLS": "dtls",
    "QUIC": "quic",
    "HTTP": "http",
    "HTTP_Proxy": "http",
    "HTTP_Connect": "http",
    "SSH": "ssh",
    "DNS": "dns",
    "MDNS": "mdns",
    "LLMNR": "llmnr",
    "NetBIOS": "netbios",
    "SMTP": "smtp",
    "FTP_CONTROL": "ftp",
    "POP3": "pop3",
    "IMAP": "imap",
    "SMBv1": "smb",
    "SMBv23": "smb",
    "RDP": "rdp",
    "NTP": "ntp",
    "DHCP": "dhcp",
    "DHCPV6": "dhcp",
    "SNMP": "snmp",
    "SIP": "sip",
    "STUN": "stun",
    "RTSP": "rtsp",
    "MQTT": "mqtt",
    "Redis": "redis",
    "PostgreSQL": "postgresql",
    "MySQL": "mysql",
    "MongoDB": "mongodb",
    "BitTorrent": "bittorrent",
    "WireGuard": "wireguard",
    "OpenVPN": "openvpn",
    "IPSec": "ike",
    "Kerberos": "kerberos",
    "LDAP": "ldap",
    "Syslog": "syslog",
    "SSDP": "ssdp",
    "Telnet": "telnet",
    "TFTP": "tftp",
    "IRC": "irc",
    "Jabber": "xmpp",
    "XMPP": "xmpp",
}

#: Our ids folded onto the family nDPI reports.
FAMILY = {"http2": "http", "netbios-ns": "netbios", "netbios-dgm": "netbios", "nbss": "netbios"}

_LINE = re.compile(
    r"^\s+\d+\s+(TCP|UDP)\s+(\S+):(\d+)\s+<?->\s+(\S+):(\d+)\s+"
    r"(?:\[VLAN: (\d+)\])?\[proto: (?:\w+:)?[\d.]+/([^\]]+)\]"
)


def _ip(text: str) -> str:
    try:
        return ipaddress.ip_address(text.strip("[]")).compressed
    except ValueError:  # nDPI occasionally prints a malformed IPv6 address
        return text


_HOST = re.compile(r"\[Hostname/SNI: ([^\]]+)\]")


def ndpi_verdicts(path: Path) -> dict[tuple, tuple[str, str | None]]:
    """nDPI's DPI-confidence verdicts of one result file:
    flow key -> (nDPI master name, the host name or SNI nDPI saw)."""
    out = {}
    for line in path.read_text("latin-1").splitlines():
        match = _LINE.match(line)
        if match is None or "[Confidence: DPI]" not in line:
            continue
        transport, a_ip, a_port, b_ip, b_port, vlan, name = match.groups()
        ends = frozenset({(_ip(a_ip), int(a_port)), (_ip(b_ip), int(b_port))})
        key = (transport.lower(), int(vlan) if vlan else None, ends)
        host = _HOST.search(line)
        out[key] = (name.split(".")[0], host.group(1).lower() if host else None)
    return out


Row = tuple[str, str | None, str, str | None, str | None]


def compare_capture(pcap: Path, result: Path, registry) -> list[Row]:
    """(nDPI name, our protocol, capture, nDPI's host name, our server name) for
    every flow nDPI classified by DPI."""
    verdicts = ndpi_verdicts(result)
    if not verdicts:
        return []
    table = annotator.read_flows(pcap, registry=registry)
    flows = table.flows
    evidence = fingerprint_flows(flows, table.payload_c2s, table.payload_s2c)
    seen: set = set()
    rows = []
    for i in range(len(flows)):
        row = flows.iloc[i]
        vlan = row["vlan_id"]
        key = (
            row["transport"],
            None if vlan is None or vlan is pd.NA or pd.isna(vlan) else int(vlan),
            frozenset(
                {
                    (_ip(row["client_ip"]), int(row["client_port"])),
                    (_ip(row["server_ip"]), int(row["server_port"])),
                }
            ),
        )
        if key in verdicts and key not in seen:
            seen.add(key)
            ndpi, host = verdicts[key]
            ours = evidence["observed_protocol"].iloc[i]
            rows.append((ndpi, ours, pcap.name, host, evidence["server_name"].iloc[i]))
    return rows


def agreement(rows: list[Row]) -> tuple[int, int, Counter, Counter]:
    """(agreeing, counted, disagreements by (nDPI, ours), unnamed by nDPI name)."""
    counted = agree = 0
    wrong: Counter = Counter()
    missed: Counter = Counter()
    for ndpi, ours, capture, _, _ in rows:
        theirs = NDPI_TO_OURS.get(ndpi)
        if theirs is None:
            continue
        if ours is None:
            missed[theirs] += 1
            continue
        counted += 1
        if FAMILY.get(ours, ours) == theirs:
            agree += 1
        else:
            wrong[(ndpi, ours, capture)] += 1
    return agree, counted, wrong, missed


@pytest.fixture(scope="module")
def reference_rows(shared: Path) -> list[Row]:
    registry = annotator.load_registry(shared / "iana" / "service-names-port-numbers.xml")
    pcaps = sorted((shared / "captures" / "labeled" / "pcap").iterdir())
    results = shared / "captures" / "labeled" / "ndpi-results"
    rows = []
    for pcap in pcaps:
        result = results / f"{pcap.name}.out"
        if result.is_file():
            rows.extend(compare_capture(pcap, result, registry))
    return rows


@pytest.mark.shared
@pytest.mark.slow
def test_agreement_with_ndpi_is_at_least_95_percent(reference_rows) -> None:
    agree, counted, wrong, missed = agreement(reference_rows)
    named_by_ndpi = counted + sum(missed.values())
    print(f"\nnDPI agreement: {agree}/{counted} = {agree / max(counted, 1):.1%} of flows both name")
    print(
        f"coverage: we name {counted} of {named_by_ndpi} flows nDPI names with a protocol we know"
    )
    for (ndpi, ours, capture), n in wrong.most_common():
        print(f"  disagree: nDPI {ndpi} vs ours {ours} x{n} ({capture})")
    print("  not named by us (nDPI's name):", dict(missed.most_common()))
    assert counted >= 500, "too few comparable flows: the reference data or the flow stage changed"
    assert agree / counted >= 0.95


def test_mapping_targets_are_protocols_we_fingerprint() -> None:
    families = {FAMILY.get(p, p) for p in PROTOCOLS}
    assert set(NDPI_TO_OURS.values()) <= families


@pytest.mark.shared
@pytest.mark.slow
def test_server_names_agree_with_ndpi(reference_rows) -> None:
    """The TLS and QUIC SNI and the HTTP Host we extract are the names nDPI saw."""
    pairs = [
        (theirs, ours)
        for ndpi, protocol, _, theirs, ours in reference_rows
        if theirs and ours and protocol in ("tls", "http", "quic")
    ]
    same = sum(theirs == ours for theirs, ours in pairs)
    print(f"\nserver names: {same}/{len(pairs)} agree with nDPI's Hostname/SNI")
    for theirs, ours in [p for p in pairs if p[0] != p[1]][:10]:
        print(f"  nDPI {theirs!r} vs ours {ours!r}")
    assert len(pairs) >= 300
    assert same / len(pairs) >= 0.95
