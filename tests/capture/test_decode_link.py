"""Link layers and the headers stacked on them: exact column values."""

from __future__ import annotations

import pytest

from annotator.capture.columns import HS_OPEN, KIND_FLOW, KIND_OTHER, KIND_UNDECODABLE

from .craft import (
    SYN,
    ethernet,
    ipv4,
    ipv6,
    linux_sll,
    linux_sll2,
    mpls,
    null_loopback,
    pppoe_session,
    tcp,
    udp,
)
from .decode_helpers import decode, label, row

V4_TCP = ipv4("192.0.2.1", "198.51.100.7", 6, tcp(40000, 443, SYN, b"abc"))
V6_UDP = ipv6("2001:db8::1", "2001:db8::2", 17, udp(5353, 53, b"query"))


def assert_v4_tcp(r: dict) -> None:
    assert r["kind"] == KIND_FLOW
    assert (r["ip_version"], r["proto"], r["sport"], r["dport"]) == (4, 6, 40000, 443)
    assert r["src_lo"] == 0xFFFF_C000_0201 and r["src_hi"] == 0
    assert r["dst_lo"] == 0xFFFF_C633_6407
    assert r["tcp_flags"] == SYN and r["handshake"] == HS_OPEN
    assert r["payload_len"] == 3


def assert_v6_udp(r: dict) -> None:
    assert r["kind"] == KIND_FLOW
    assert (r["ip_version"], r["proto"], r["sport"], r["dport"]) == (6, 17, 5353, 53)
    assert r["src_hi"] == 0x2001_0DB8_0000_0000 and r["src_lo"] == 1
    assert r["payload_len"] == 5


def test_ethernet_ipv4_and_ipv6():
    batch = decode([ethernet(V4_TCP), ethernet(V6_UDP, 0x86DD)])
    assert_v4_tcp(row(batch, 0))
    assert_v6_udp(row(batch, 1))
    assert row(batch, 0)["vlan"] == -1
    # the payload offset points at the payload bytes in the batch data
    r = row(batch, 0)
    assert bytes(batch.data[r["payload_off"] : r["payload_off"] + 3]) == b"abc"


def test_frame_metadata_is_carried_through():
    batch = decode([ethernet(V4_TCP)] * 3)
    assert batch["frame"].tolist() == [1, 2, 3]
    assert batch["ts_ns"].tolist() == [0, 1000, 2000]
    assert batch["wire_len"].tolist() == [len(ethernet(V4_TCP))] * 3


@pytest.mark.parametrize("tpid", [0x8100, 0x88A8, 0x9100])
def test_vlan_and_qinq_record_outermost_id(tpid):
    single = ethernet(V4_TCP, vlans=[42], outer_tpid=tpid)
    double = ethernet(V6_UDP, 0x86DD, vlans=[300, 7], outer_tpid=tpid)
    batch = decode([single, double])
    assert_v4_tcp(row(batch, 0))
    assert row(batch, 0)["vlan"] == 42
    assert_v6_udp(row(batch, 1))
    assert row(batch, 1)["vlan"] == 300


def test_mpls_stack_then_ip_by_version_nibble():
    frames = [
        ethernet(mpls([16], V4_TCP), 0x8847),
        ethernet(mpls([16, 17, 18], V6_UDP), 0x8848),
        ethernet(mpls([16], bytes(20)), 0x8847),  # pseudowire control word: not IP
        ethernet(mpls([16], V4_TCP), 0x8847, vlans=[5]),
    ]
    batch = decode(frames)
    assert_v4_tcp(row(batch, 0))
    assert_v6_udp(row(batch, 1))
    assert row(batch, 2)["kind"] == KIND_OTHER and label(batch, 2) == "MPLS"
    assert_v4_tcp(row(batch, 3))
    assert row(batch, 3)["vlan"] == 5


def test_pppoe_session():
    frames = [
        ethernet(pppoe_session(0x0021, V4_TCP), 0x8864),
        ethernet(pppoe_session(0x0057, V6_UDP), 0x8864),
        ethernet(pppoe_session(0xC021, bytes(10)), 0x8864),
        ethernet(bytes(10), 0x8863),
    ]
    batch = decode(frames)
    assert_v4_tcp(row(batch, 0))
    assert_v6_udp(row(batch, 1))
    assert label(batch, 2) == "PPP LCP" and row(batch, 2)["kind"] == KIND_OTHER
    assert label(batch, 3) == "PPPoE discovery"


def test_non_ip_ethertypes_are_named_other_traffic():
    frames = [
        ethernet(bytes(28), 0x0806),
        ethernet(bytes(30), 0x88CC),
        ethernet(bytes(30), 0x888E),
        ethernet(bytes(30), 0x88F7),
        ethernet(bytes(30), 0x8809),
        ethernet(bytes(30), 0x88B5),
        ethernet(bytes(30), 0x1234),
    ]
    batch = decode(frames)
    assert set(batch["kind"].tolist()) == {KIND_OTHER}
    assert [label(batch, i) for i in range(7)] == [
        "ARP",
        "LLDP",
        "EAPOL (802.1X)",
        "PTP",
        "Slow protocols (LACP)",
        "IEEE 802 local experimental",
        "EtherType 0x1234",
    ]
    assert batch["ip_version"].tolist() == [0] * 7


def test_8023_llc_frames():
    stp = b"\x42\x42\x03" + bytes(35)
    netbios = b"\xf0\xf0\x03" + bytes(30)
    cdp = b"\xaa\xaa\x03\x00\x00\x0c\x20\x00" + bytes(30)
    snap_ip = b"\xaa\xaa\x03\x00\x00\x00\x08\x00" + V4_TCP
    raw_ipx = b"\xff\xff" + bytes(28)
    frames = [ethernet(p, len(p)) for p in (stp, netbios, cdp, snap_ip, raw_ipx)]
    batch = decode(frames)
    assert [label(batch, i) for i in (0, 1, 2, 4)] == ["LLC/STP", "LLC/NetBIOS", "CDP", "IPX"]
    assert_v4_tcp(row(batch, 3))


def test_linux_cooked_v1_and_v2():
    frames = [linux_sll(V4_TCP), linux_sll(V6_UDP, 0x86DD), linux_sll(bytes(28), 0x0806)]
    batch = decode(frames, 113)
    assert_v4_tcp(row(batch, 0))
    assert_v6_udp(row(batch, 1))
    assert label(batch, 2) == "ARP"
    batch = decode([linux_sll2(V4_TCP), linux_sll2(V6_UDP, 0x86DD), linux_sll2(b"x")[:12]], 276)
    assert_v4_tcp(row(batch, 0))
    assert_v6_udp(row(batch, 1))
    assert label(batch, 2) == "truncated Linux cooked v2 header"


def test_linux_cooked_vlan_and_llc():
    tagged = linux_sll(b"\x00\x09\x08\x00" + V4_TCP, 0x8100)
    llc = linux_sll(b"\x42\x42\x03" + bytes(35), 0x0004)
    batch = decode([tagged, llc], 113)
    assert_v4_tcp(row(batch, 0))
    assert row(batch, 0)["vlan"] == 9
    assert label(batch, 1) == "LLC/STP"


@pytest.mark.parametrize("link_type", [12, 14, 101])
def test_raw_ip_by_version_nibble(link_type):
    batch = decode([V4_TCP, V6_UDP, b"\x70" + bytes(30), b""], link_type)
    assert_v4_tcp(row(batch, 0))
    assert_v6_udp(row(batch, 1))
    assert row(batch, 2)["kind"] == KIND_UNDECODABLE and label(batch, 2) == "bad IP version 7"
    assert label(batch, 3) == "truncated IP header"


def test_raw_ipv4_and_ipv6_link_types_check_the_version():
    batch = decode([V4_TCP, V6_UDP], 228)
    assert_v4_tcp(row(batch, 0))
    assert label(batch, 1) == "bad IP version 6"
    batch = decode([V6_UDP, V4_TCP], 229)
    assert_v6_udp(row(batch, 0))
    assert label(batch, 1) == "bad IP version 4"


@pytest.mark.parametrize("link_type", [0, 108])
@pytest.mark.parametrize("big_endian", [False, True])
def test_bsd_loopback_either_byte_order(link_type, big_endian):
    frames = [
        null_loopback(V4_TCP, 2, big_endian),
        null_loopback(V6_UDP, 24, big_endian),
        null_loopback(V6_UDP, 28, big_endian),
        null_loopback(V6_UDP, 30, big_endian),
        null_loopback(bytes(20), 7, big_endian),
        b"\x02\x00",
    ]
    batch = decode(frames, link_type)
    assert_v4_tcp(row(batch, 0))
    for i in (1, 2, 3):
        assert_v6_udp(row(batch, i))
    assert label(batch, 4) == "loopback address family 7"
    assert label(batch, 5) == "truncated loopback header"


def test_ppp_framings():
    frames = [
        b"\xff\x03\x00\x21" + V4_TCP,  # address/control, 2-byte protocol
        b"\x00\x57" + V6_UDP,  # no address/control
        b"\xff\x03\x21" + V4_TCP,  # compressed 1-byte protocol
        b"\xff\x03\xc0\x21" + bytes(8),  # LCP
        b"\xff\x03\x00",  # protocol cut off
    ]
    batch = decode(frames, 9)
    assert_v4_tcp(row(batch, 0))
    assert_v6_udp(row(batch, 1))
    assert_v4_tcp(row(batch, 2))
    assert label(batch, 3) == "PPP LCP"
    assert label(batch, 4) == "truncated PPP header"


def test_ppp_carrying_mpls():
    batch = decode([b"\xff\x03\x02\x81" + mpls([100], V4_TCP), b"\x02\x81" + mpls([1], b"")], 9)
    assert_v4_tcp(row(batch, 0))
    assert label(batch, 1) == "truncated IP header"


def test_ppp_hdlc_link_type_takes_both_framings():
    frames = [b"\xff\x03\x00\x21" + V4_TCP, b"\x0f\x00\x86\xdd" + V6_UDP, b""]
    batch = decode(frames, 50)
    assert_v4_tcp(row(batch, 0))
    assert_v6_udp(row(batch, 1))
    assert label(batch, 2) == "truncated PPP header"


def test_ppp_ether_link_type():
    batch = decode([pppoe_session(0x0021, V4_TCP), pppoe_session(0x0021, b"")[:5]], 51)
    assert_v4_tcp(row(batch, 0))
    assert label(batch, 1) == "truncated PPPoE header"


def test_cisco_hdlc():
    frames = [
        b"\x0f\x00\x08\x00" + V4_TCP,
        b"\x8f\x00\x86\xdd" + V6_UDP,
        b"\x8f\x00\x80\x35" + bytes(20),
        b"\x0f\x00",
    ]
    batch = decode(frames, 104)
    assert_v4_tcp(row(batch, 0))
    assert_v6_udp(row(batch, 1))
    assert label(batch, 2) == "Cisco SLARP"
    assert label(batch, 3) == "truncated Cisco HDLC header"


def test_unsupported_link_types_are_named_and_accounted():
    frames = [V4_TCP, V4_TCP, ethernet(V4_TCP), V4_TCP]
    batch = decode(frames, [147, 127, 1, 4242])
    assert batch["kind"].tolist() == [
        KIND_UNDECODABLE,
        KIND_UNDECODABLE,
        KIND_FLOW,
        KIND_UNDECODABLE,
    ]
    assert label(batch, 0) == "unsupported link type 147 (USER0)"
    assert label(batch, 1) == "unsupported link type 127 (IEEE802_11_RADIOTAP)"
    assert_v4_tcp(row(batch, 2))
    assert label(batch, 3) == "unsupported link type 4242"


def test_mixed_link_types_in_one_batch():
    frames = [ethernet(V4_TCP), V6_UDP, linux_sll(V4_TCP), null_loopback(V6_UDP, 30)]
    batch = decode(frames, [1, 101, 113, 0])
    assert_v4_tcp(row(batch, 0))
    assert_v6_udp(row(batch, 1))
    assert_v4_tcp(row(batch, 2))
    assert_v6_udp(row(batch, 3))


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (ethernet(V4_TCP)[:13], "truncated Ethernet header"),
        (ethernet(b"\x00", vlans=[1])[:16], "truncated VLAN tag"),
        (ethernet(b"\x00\x01", 0x8847), "truncated MPLS label stack"),
        (ethernet(b"\x00" * 4, 0x8847), "truncated MPLS label stack"),
        (ethernet(b"\x11\x00\x00\x01", 0x8864), "truncated PPPoE header"),
        (ethernet(b"\x42", 3), "truncated LLC header"),
        (ethernet(b"\xaa\xaa\x03\x00", 8), "truncated SNAP header"),
        (ethernet(b"", 0x0800), "truncated IPv4 header"),
        (ethernet(V4_TCP[:19]), "truncated IPv4 header"),
        (ethernet(V6_UDP[:39], 0x86DD), "truncated IPv6 header"),
    ],
)
def test_truncated_link_and_network_headers(frame, reason):
    batch = decode([frame])
    assert row(batch)["kind"] == KIND_UNDECODABLE
    assert label(batch) == reason


def test_tag_stack_too_long():
    frame = ethernet(V4_TCP, vlans=list(range(1, 20)))
    batch = decode([frame])
    assert label(batch) == "link-layer header stack too long"
    assert row(batch)["vlan"] == 1


def test_labels_only_grow_within_one_decoder():
    from annotator.capture.decode import Decoder

    from .craft import record_batch

    decoder = Decoder()
    first = decoder.decode(record_batch([ethernet(bytes(28), 0x0806)], 1))
    second = decoder.decode(
        record_batch([ethernet(bytes(30), 0x88CC), ethernet(bytes(28), 0x0806)], 1)
    )
    assert first.labels == ["ARP"]
    assert second.labels[: len(first.labels)] == first.labels
    assert second["label"].tolist() == [1, 0]


def test_label_vocabulary_is_bounded_for_hostile_input():
    from annotator.capture.decode.labels import MAX_LABELS, OVERFLOW_LABEL, Vocabulary

    vocab = Vocabulary()
    indices = [vocab.intern(f"EtherType 0x{i:05x}") for i in range(MAX_LABELS + 10)]
    assert len(vocab) == MAX_LABELS + 1
    assert vocab.names[indices[-1]] == OVERFLOW_LABEL
    assert indices[:MAX_LABELS] == list(range(MAX_LABELS))
    assert vocab.intern("EtherType 0x00003") == 3


def test_many_distinct_ethertypes_in_one_batch():
    frames = [ethernet(bytes(30), 0x1000 + i) for i in range(3000)]
    batch = decode(frames)
    assert set(batch["kind"].tolist()) == {KIND_OTHER}
    assert len(set(batch["label"].tolist())) == 3000
    assert label(batch, 2999) == f"EtherType 0x{0x1000 + 2999:04x}"
