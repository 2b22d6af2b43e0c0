"""Flows that repeat the same first bytes (floods, scans) are fingerprinted once
per distinct payload, and each still gets exactly the result it would alone."""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import annotator
from annotator.evidence import FINGERPRINTS, fingerprint_payloads, identify
from annotator.evidence.engine import _Memo

scapy_all = pytest.importorskip("scapy.all")

DNS_QUERY = bytes(
    scapy_all.DNS(id=0x1234, rd=1, qd=scapy_all.DNSQR(qname="printer.local", qtype="A"))
)
HTTP_GET = b"GET /index.html HTTP/1.1\r\nHost: www.example.com\r\n\r\n"
ZEROS = bytes(64)
POOL = [
    (DNS_QUERY, b""),
    (HTTP_GET, b"HTTP/1.1 200 OK\r\n\r\n"),
    (ZEROS, b""),
    (b"SSH-2.0-OpenSSH_9.6\r\n", b"SSH-2.0-OpenSSH_9.7\r\n"),
    (b"\x00\x01", b""),
    (b"", b""),
]
# Ports and servers that change what the same DNS bytes are called.
PLACES = [
    (40000, 53, "192.0.2.53"),
    (40000, 5353, "192.0.2.7"),
    (5353, 40000, "192.0.2.7"),
    (40001, 40002, "224.0.0.251"),
    (40001, 5355, "192.0.2.8"),
    (40001, 8080, "192.0.2.80"),
]


def alone(transport: str, cport: int, sport: int, ip: str, c2s: bytes, s2c: bytes):
    """What one flow gets when fingerprinted by itself (as the flow table keeps it)."""
    if not c2s and not s2c:
        return None
    found = identify(c2s, s2c, transport=transport, client_port=cport, server_port=sport,
                     server_ip=ip)  # fmt: skip
    return None if found.protocol is None else dataclasses.replace(found, fields={})


def run(rows: list[tuple[str, int, int, str, bytes, bytes]]):
    def column(i, dtype=object):
        return np.array([r[i] for r in rows], dtype=dtype)

    return fingerprint_payloads(
        column(0), column(1, np.int64), column(2, np.int64), column(3), column(4), column(5)
    )


def test_the_same_dns_bytes_are_named_by_each_flows_port_and_group() -> None:
    rows = [("udp", c, s, ip, DNS_QUERY, b"") for c, s, ip in PLACES] * 3
    got = [None if r is None else r.protocol for r in run(rows)]
    assert got == ["dns", "mdns", "mdns", "mdns", "llmnr", "dns"] * 3


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["udp", "tcp"]),
            st.sampled_from(PLACES),
            st.sampled_from(POOL),
        ),
        max_size=40,
    )
)
def test_every_row_gets_what_it_would_get_alone(picks) -> None:
    rows = [(t, c, s, ip, a, b) for t, (c, s, ip), (a, b) in picks]
    assert run(rows) == [alone(*row) for row in rows]


def test_a_flood_capture_reads_as_its_flows_would_one_by_one(tmp_path: Path) -> None:
    """End to end: a flood of identical zero-filled datagrams and the same
    DNS query sent to a resolver and to the mDNS group, in one capture."""
    packets = []
    for i in range(300):
        packets.append(
            scapy_all.Ether()
            / scapy_all.IP(src=f"198.51.100.{1 + i % 200}", dst="192.0.2.1")
            / scapy_all.UDP(sport=20000 + i, dport=9)
            / ZEROS
        )
    for i, (dst, dport) in enumerate([("192.0.2.53", 53), ("224.0.0.251", 5353)] * 5):
        packets.append(
            scapy_all.Ether()
            / scapy_all.IP(src="192.0.2.10", dst=dst)
            / scapy_all.UDP(sport=41000 + i, dport=dport)
            / DNS_QUERY
        )
    for n, packet in enumerate(packets):
        packet.time = 1_790_000_000 + n / 100
    path = tmp_path / "flood.pcap"
    scapy_all.wrpcap(str(path), packets)
    flows = annotator.annotate(path).flows
    assert len(flows) == 310
    by_port = flows.groupby("server_port")["observed_protocol"].agg(
        lambda s: sorted(set(s.fillna("-")))
    )
    assert by_port.to_dict() == {9: ["-"], 53: ["dns"], 5353: ["mdns"]}


class PortRead(Exception):
    """A check looked at the flow's ports or server address."""


class Tripwire:
    """A context with a transport only: reading anything else raises PortRead."""

    def __init__(self, transport: str) -> None:
        self.transport = transport

    def __getattr__(self, name: str):
        raise PortRead(name)


def _payload_pairs(*captures: Path) -> list[tuple[str, bytes, bytes]]:
    pairs = [(t, a, b) for t in ("udp", "tcp") for a, b in POOL]
    for capture in captures:
        table = annotator.read_flows(capture)
        sides = zip(table.flows["transport"], table.payload_c2s, table.payload_s2c, strict=True)
        pairs += [(str(t), bytes(a or b""), bytes(b or b"")) for t, a, b in sides]
    return [p for p in pairs if p[1] or p[2]]


def _context_readers(pairs: list[tuple[str, bytes, bytes]]) -> set[str]:
    return {
        fp.name
        for fp in FINGERPRINTS
        for t, a, b in pairs
        if t in fp.transports and _reads_context(fp, t, a, b)
    }


def _reads_context(fp, transport: str, c2s: bytes, s2c: bytes) -> bool:
    for first, second in ((c2s, s2c), (s2c, c2s)):
        try:
            fp.check(first, second, Tripwire(transport))
        except PortRead:
            return True
        except (IndexError, ValueError, struct.error, UnicodeError):
            pass
    return False


def test_only_checks_marked_context_read_ports_or_addresses(samples: Path) -> None:
    """A result is reused for other flows with the same bytes unless its check
    is marked ``context``: every unmarked check must leave ports alone."""
    readers = _context_readers(_payload_pairs(samples / "mixed.pcap"))
    assert readers == {fp.name for fp in FINGERPRINTS if fp.context}  # the tripwire works: dns


@pytest.mark.shared
def test_only_checks_marked_context_read_ports_on_the_labeled_captures(shared: Path) -> None:
    """The same on the first bytes of every flow of the reference captures,
    which reach deep into each protocol's parser."""
    folder = shared / "captures" / "labeled" / "pcap"
    captures = sorted(p for p in folder.iterdir() if p.suffix in (".pcap", ".pcapng"))
    readers = _context_readers(_payload_pairs(*captures))
    assert readers == {fp.name for fp in FINGERPRINTS if fp.context}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200), st.binary(max_size=80), st.sampled_from(["tcp", "udp"]))
def test_unmarked_checks_never_read_ports_on_any_bytes(c2s: bytes, s2c: bytes, transport) -> None:
    for fp in FINGERPRINTS:
        if transport in fp.transports and not fp.context:
            assert not _reads_context(fp, transport, c2s, s2c), fp.name


def test_the_memo_holds_at_most_its_budget_and_starts_again_when_full() -> None:
    memo = _Memo(budget=100)
    for i in range(48):  # three fit; every fourth starts the memo again
        memo.put(("udp", bytes([i]) * 30, b""), None)
        assert memo.held <= 100
    assert len(memo.table) == 3 and ("udp", bytes([47]) * 30, b"") in memo.table
    memo.put(("udp", bytes(101), b""), None)  # larger than the whole budget: not kept
    assert memo.held == 0 and memo.table == {}
