"""The flow stage (read_flow_table) end to end on crafted captures (scapy): flows, other traffic,
fragments, several files, truncation and hostile input."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP, fragment
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.layers.sctp import SCTP, SCTPChunkInit
from scapy.packet import Raw
from scapy.utils import wrpcap

from annotator.errors import CaptureError, UsageError
from annotator.flows import ReadOptions, read_flow_table
from annotator.registry.resolve import default_registry

from .conftest import FakeRegistry

C, S = "192.0.2.10", "198.51.100.20"
T0 = 1_700_000_000.0


def conversation() -> list:
    """A TCP connection with an HTTP exchange, client port 40000 to 80."""
    e = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    c2s = IP(src=C, dst=S) / TCP(sport=40000, dport=80)
    s2c = IP(src=S, dst=C) / TCP(sport=80, dport=40000)
    pk = [
        e / IP(src=C, dst=S) / TCP(sport=40000, dport=80, flags="S"),
        e / IP(src=S, dst=C) / TCP(sport=80, dport=40000, flags="SA"),
        e / c2s.copy(),
        e
        / IP(src=C, dst=S)
        / TCP(sport=40000, dport=80, flags="PA")
        / Raw(b"GET / HTTP/1.1\r\n\r\n"),
        e
        / IP(src=S, dst=C)
        / TCP(sport=80, dport=40000, flags="PA")
        / Raw(b"HTTP/1.1 200 OK\r\n\r\n"),
        e / IP(src=C, dst=S) / TCP(sport=40000, dport=80, flags="FA"),
        e / s2c.copy(),
    ]
    pk[2][TCP].flags = "A"
    pk[6][TCP].flags = "FA"
    for i, p in enumerate(pk):
        p.time = T0 + i * 0.01
    return pk


def mixed() -> list:
    pk = conversation()
    extra = [
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        / Dot1Q(vlan=42)
        / IP(src=C, dst="192.0.2.53")
        / UDP(sport=5000, dport=53)
        / Raw(b"q" * 30),
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src=C, dst=S) / ICMP(),
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / ARP(psrc=C, pdst=S),
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        / IP(src=C, dst=S)
        / SCTP(sport=3000, dport=2905)
        / SCTPChunkInit(),
    ]
    big = IP(src=S, dst=C, id=77) / UDP(sport=53, dport=5001) / Raw(b"A" * 3000)
    extra += [
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / f
        for f in fragment(big, fragsize=1000)
    ]
    for i, p in enumerate(extra):
        p.time = T0 + 1 + i * 0.01
    return pk + extra


def test_crafted_capture_flows_other_fragments_and_accounting(tmp_path):
    path = tmp_path / "mixed.pcap"
    packets = mixed()
    wrpcap(str(path), packets)
    table = read_flow_table(path)
    f = table.flows
    assert f.transport.tolist() == ["tcp", "udp", "sctp", "udp"]
    tcp = f.iloc[0]
    assert (tcp.client_ip, tcp.client_port, tcp.server_ip, tcp.server_port) == (C, 40000, S, 80)
    assert (tcp.packets_c2s, tcp.packets_s2c, tcp.direction_basis) == (4, 3, "handshake")
    assert tcp.bytes == sum(len(p) for p in packets[:7])
    assert table.payload_c2s[0] == b"GET / HTTP/1.1\r\n\r\n"
    assert table.payload_s2c[0] == b"HTTP/1.1 200 OK\r\n\r\n"
    assert f.iloc[1].vlan_id == 42 and f.iloc[0:1].vlan_id.isna().all()
    assert (f.iloc[2].client_port, f.iloc[2].direction_basis) == (3000, "handshake")
    frag = f.iloc[3]  # every fragment of the 3,000-byte answer is in the DNS flow
    assert (frag.packets, frag.server_port, frag.client_ip) == (4, 53, C)
    assert str(tcp.first_seen) == "2023-11-14 22:13:20+00:00"
    names = {p.lower() for p in table.other.protocol}
    assert any("icmp" in n for n in names) and any("arp" in n for n in names)
    acc = table.accounting
    assert acc["packets_total"] == len(packets) == table.captures[0].packets
    assert acc["packets_in_flows"] == 13 and acc["packets_other"] == 2
    assert acc["packets_in_flows"] + acc["packets_other"] + acc["packets_undecodable"] == len(
        packets
    )
    assert acc["flows"] == 4 and not acc["partial"]
    assert table.other.packets.dtype == np.int64


def test_several_files_read_in_order_as_one_capture(tmp_path):
    pk = conversation()
    a, b = tmp_path / "a.pcap", tmp_path / "b.pcap"
    wrpcap(str(a), pk[:3])
    wrpcap(str(b), pk[3:])
    table = read_flow_table([a, b], registry=FakeRegistry(set()))
    assert len(table.flows) == 1
    row = table.flows.iloc[0]
    assert (row.packets, row.capture, row.first_frame) == (7, str(a), 1)
    assert [c.packets for c in table.captures] == [3, 4]
    assert list(table.flows.capture.cat.categories) == [str(a), str(b)]
    assert table.accounting["packets_total"] == 7


@pytest.mark.parametrize("jobs", [1, 2])
def test_sha256_of_each_file_or_none_with_the_same_flows(tmp_path, jobs):
    pk = conversation()
    a, b = tmp_path / "a.pcap", tmp_path / "b.pcap"
    wrpcap(str(a), pk[:3])
    wrpcap(str(b), pk[3:])
    reg = FakeRegistry(set())
    hashed = read_flow_table([a, b], ReadOptions(jobs=jobs), registry=reg)
    bare = read_flow_table([a, b], ReadOptions(jobs=jobs, sha256=False), registry=reg)
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (a, b)]
    assert [c.sha256 for c in hashed.captures] == digests
    assert [c.sha256 for c in bare.captures] == [None, None]
    pd.testing.assert_frame_equal(bare.flows, hashed.flows)
    assert bare.accounting == hashed.accounting
    assert [c.size for c in bare.captures] == [a.stat().st_size, b.stat().st_size]


def _reverse_fragmented(count: int, filler: int) -> list[bytes]:
    """``count`` UDP datagrams in four fragments each, sent last fragment first."""
    from tests.capture import craft

    frames = [craft.ethernet(craft.ipv4("10.0.0.9", "10.0.0.1", 1, bytes(8)))] * filler
    for ident in range(count):
        body = craft.udp(40000 + ident % 50, 53, bytes([ident % 256]) * 5912)
        pieces = [
            craft.ethernet(craft.ipv4("10.0.0.1", "10.0.0.2", 17, body[off : off + 1480],
                                      ident=ident, fragment_offset=off,
                                      more_fragments=off + 1480 < len(body)))
            for off in range(0, len(body), 1480)
        ]  # fmt: skip
        frames += pieces[::-1]
    return frames


def test_later_fragments_ahead_of_their_first_across_read_batches(tmp_path):
    """Reverse-order fragments still meet their first fragment when a batch ends between them."""
    from annotator.capture.formats import open_capture
    from tests.capture import craft

    for filler in range(4):  # shift the frames until a batch ends inside a datagram
        path = craft.write_pcap(tmp_path / f"rev{filler}.pcap", _reverse_fragmented(1500, filler))
        with open_capture(path) as reader:
            ends = [int(b.frame[-1]) for b in reader.batches()]
        cut = [e for e in ends[:-1] if (e - filler) % 4 != 0]  # not after a datagram's last
        if cut:
            break
    assert cut, "no batch boundary inside a datagram: the test would prove nothing"
    table = read_flow_table(path, registry=FakeRegistry(set()))
    acc = table.accounting
    assert acc["packets_other"] == filler and acc["packets_undecodable"] == 0
    assert acc["packets_in_flows"] == 1500 * 4 == table.flows.packets.sum()
    # Each datagram is one flow (its 5-tuple recurs after the UDP idle timeout)
    # holding all four of its fragments.
    assert table.flows.packets.tolist() == [4] * 1500
    assert set(table.flows.server_port) == {53}


def test_truncated_capture_gives_a_partial_result(tmp_path):
    path = tmp_path / "cut.pcap"
    wrpcap(str(path), conversation())
    data = path.read_bytes()
    path.write_bytes(data[:-20])
    table = read_flow_table(path, registry=FakeRegistry(set()))
    assert table.partial and table.accounting["partial"][0]["offset"] > 0
    assert table.accounting["packets_total"] == 6 == table.flows.packets.sum()


def test_bundled_registry_decides_without_handshake(tmp_path):
    reg = default_registry()
    client = next(
        p for p in range(40000, 40100) if not reg.assigned_mask(np.array([p]), np.array([1]))[0]
    )
    path = tmp_path / "stun.pcap"
    p = (
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        / IP(src=C, dst=S)
        / UDP(sport=client, dport=3478)
        / Raw(b"x")
    )
    p.time = T0
    wrpcap(str(path), [p])
    row = read_flow_table(path).flows.iloc[0]
    assert (row.server_port, row.direction_basis) == (3478, "registry")


def test_hostile_input_and_bad_options_raise_one_line_errors(tmp_path):
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"this is not a capture at all" * 10)
    with pytest.raises(CaptureError) as err:
        read_flow_table(junk)
    assert str(junk) in str(err.value) and "\n" not in str(err.value)
    good = tmp_path / "good.pcap"
    wrpcap(str(good), conversation())
    for bad in ({"idle_timeout": -1}, {"idle_timeout": {"icmp": 5}}, {"payload_c2s": 100},
                {"payload_s2c": 10}):  # fmt: skip
        with pytest.raises(UsageError):
            read_flow_table(good, ReadOptions(**bad), registry=FakeRegistry(set()))
    with pytest.raises(UsageError):
        read_flow_table([])
