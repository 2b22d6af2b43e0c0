"""IPv4 options and fragments, the IPv6 extension-header chain, malformed IP headers."""

from __future__ import annotations

import ipaddress
import random

import numpy as np
import pytest

from annotator.capture.columns import KIND_FLOW, KIND_OTHER, KIND_UNDECODABLE
from annotator.capture.decode import Decoder
from annotator.capture.decode.fragments import fragment_keys

from .craft import (
    ACK,
    SYN,
    auth_header,
    ethernet,
    ipv4,
    ipv6,
    ipv6_fragment,
    ipv6_options,
    record_batch,
    tcp,
    udp,
)
from .decode_helpers import decode, label, row

A, B = "10.1.1.1", "10.2.2.2"
A6, B6 = "2001:db8::a", "2001:db8::b"


def v6(payload: bytes, nh: int, **kw) -> bytes:
    return ethernet(ipv6(A6, B6, nh, payload, **kw), 0x86DD)


def test_ipv4_options_move_the_transport_header():
    options = b"\x94\x04\x00\x00" + b"\x01\x01\x01\x00"  # router alert, NOPs, end
    batch = decode([ethernet(ipv4(A, B, 17, udp(68, 67, b"dhcp"), options=options))])
    r = row(batch)
    assert (r["kind"], r["sport"], r["dport"], r["payload_len"]) == (KIND_FLOW, 68, 67, 4)
    assert bytes(batch.data[r["payload_off"] : r["payload_off"] + 4]) == b"dhcp"


def test_ethernet_padding_is_not_payload():
    small = ethernet(ipv4(A, B, 6, tcp(1, 2, ACK)))
    padded = small + bytes(60 - len(small))
    batch = decode([padded])
    assert row(batch)["payload_len"] == 0


def test_capture_shorter_than_ip_length_bounds_payload():
    frame = ethernet(ipv4(A, B, 17, udp(1, 2, b"x" * 100)))
    batch = Decoder().decode(record_batch([frame[:50]], 1))
    r = row(batch)
    assert r["kind"] == KIND_FLOW and r["payload_len"] == 50 - 14 - 20 - 8


def test_zero_total_length_reads_to_capture_end():
    # segmentation offload leaves total length 0 in captures from the sender
    frame = ethernet(ipv4(A, B, 6, tcp(1, 2, ACK, b"z" * 40), total_length=0))
    r = row(decode([frame]))
    assert r["kind"] == KIND_FLOW and r["payload_len"] == 40


@pytest.mark.parametrize(
    ("packet", "reason"),
    [
        (ipv4(A, B, 6, tcp(1, 2), ihl=4), "bad IPv4 header length"),
        (ipv4(A, B, 6, tcp(1, 2), ihl=0), "bad IPv4 header length"),
        (ipv4(A, B, 6, tcp(1, 2), ihl=15), "truncated IPv4 header"),
        (ipv4(A, B, 6, tcp(1, 2), total_length=12), "IPv4 total length shorter than header"),
        (ipv4(A, B, 6, tcp(1, 2), version=7), "bad IP version 7"),
        (ipv4(A, B, 6, tcp(1, 2), version=6), "bad IP version 6"),
        (ipv4(A, B, 6, b"\x00\x01"), "truncated TCP header"),
        (ipv4(A, B, 17, b"\x00"), "truncated UDP header"),
        (ipv4(A, B, 6, tcp(1, 2, data_offset=4)), "bad TCP data offset"),
        (ipv4(A, B, 6, tcp(1, 2, data_offset=0)), "bad TCP data offset"),
    ],
)
def test_malformed_ipv4(packet, reason):
    batch = decode([ethernet(packet)])
    assert row(batch)["kind"] == KIND_UNDECODABLE
    assert label(batch) == reason


def test_other_ip_protocols_are_named():
    protos = [1, 2, 47, 50, 89, 103, 112, 4, 41, 250]
    batch = decode([ethernet(ipv4(A, B, p, bytes(24))) for p in protos])
    assert set(batch["kind"].tolist()) == {KIND_OTHER}
    assert batch["proto"].tolist() == protos
    assert [label(batch, i) for i in range(len(protos))] == [
        "ICMP",
        "IGMP",
        "GRE",
        "ESP",
        "OSPF",
        "PIM",
        "VRRP",
        "IPv4 encapsulation",
        "IPv6 encapsulation",
        "IP protocol 250",
    ]
    assert batch["ip_version"].tolist() == [4] * len(protos)


def test_ipv4_fragments_take_the_ports_of_the_first():
    body = udp(5000, 53, b"q" * 40)
    first = ethernet(ipv4(A, B, 17, body[:24], ident=77, more_fragments=True))
    middle = ethernet(
        ipv4(A, B, 17, body[24:40], ident=77, more_fragments=True, fragment_offset=24)
    )
    last = ethernet(ipv4(A, B, 17, body[40:], ident=77, fragment_offset=40))
    other_id = ethernet(ipv4(A, B, 17, body[40:], ident=78, fragment_offset=40))
    batch = decode([first, middle, last, other_id])
    for i in range(3):
        r = row(batch, i)
        assert (r["kind"], r["proto"], r["sport"], r["dport"]) == (KIND_FLOW, 17, 5000, 53)
    assert row(batch, 0)["payload_len"] == 16
    assert row(batch, 1)["payload_len"] == 0 and row(batch, 2)["payload_len"] == 0
    assert row(batch, 3)["kind"] == KIND_OTHER
    assert label(batch, 3) == "IPv4 fragment, first fragment not seen"


def test_fragments_out_of_order_within_a_batch():
    body = tcp(1234, 80, ACK, b"d" * 64)
    first = ethernet(ipv4(A, B, 6, body[:48], ident=9, more_fragments=True))
    last = ethernet(ipv4(A, B, 6, body[48:], ident=9, fragment_offset=48))
    batch = decode([last, first])
    assert batch["kind"].tolist() == [KIND_FLOW, KIND_FLOW]
    assert batch["sport"].tolist() == [1234, 1234] and batch["dport"].tolist() == [80, 80]


def test_fragments_across_batches_and_reversed_addresses_do_not_match():
    body = udp(7, 9, b"p" * 40)
    first = ethernet(ipv4(A, B, 17, body[:24], ident=5, more_fragments=True))
    later = ethernet(ipv4(A, B, 17, body[24:], ident=5, fragment_offset=24))
    swapped = ethernet(ipv4(B, A, 17, body[24:], ident=5, fragment_offset=24))
    decoder = Decoder()
    decoder.decode(record_batch([first], 1))
    batch = decoder.decode(record_batch([later, swapped], 1, first_frame=2))
    assert (row(batch, 0)["kind"], row(batch, 0)["sport"], row(batch, 0)["dport"]) == (0, 7, 9)
    assert label(batch, 1) == "IPv4 fragment, first fragment not seen"


def _reversed_datagram(ident: int, sport: int = 7) -> tuple[bytes, bytes]:
    """(later, first) fragments of one UDP datagram, in the order some senders emit them."""
    body = udp(sport, 9, b"r" * 40)
    first = ethernet(ipv4(A, B, 17, body[:24], ident=ident, more_fragments=True))
    later = ethernet(ipv4(A, B, 17, body[24:], ident=ident, fragment_offset=24))
    return later, first


def test_held_later_fragment_joins_its_first_fragment_from_the_next_batch():
    later, first = _reversed_datagram(5)
    decoder = Decoder(hold_orphans=True, keep_orphans=True)
    one = decoder.decode(record_batch([later], 1, ts_ns=[10]))
    assert len(one) == 0  # held back, not labelled yet
    two = decoder.decode(record_batch([first], 1, ts_ns=[20], first_frame=2))
    assert two["frame"].tolist() == [1, 2]  # the held row comes first, in capture order
    assert two["kind"].tolist() == [KIND_FLOW, KIND_FLOW]
    assert two["sport"].tolist() == [7, 7] and two["dport"].tolist() == [9, 9]
    assert two["ts_ns"].tolist() == [10, 20] and two["payload_len"].tolist()[0] == 0
    assert decoder.orphans == [] and len(decoder.flush()) == 0


def test_held_later_fragment_without_its_first_is_other_traffic_one_batch_later():
    later, _ = _reversed_datagram(6)
    decoder = Decoder(hold_orphans=True, keep_orphans=True)
    assert len(decoder.decode(record_batch([later], 1))) == 0
    other = ethernet(ipv4(A, B, 1, bytes(16)))
    two = decoder.decode(record_batch([other], 1, first_frame=2))
    assert two["frame"].tolist() == [1, 2]
    assert label(two, 0) == "IPv4 fragment, first fragment not seen"
    assert len(decoder.orphans) == 1 and decoder.orphans[0]["frag_id"].tolist() == [6]
    # One still held at the end comes out of flush, named the same way, and
    # is kept apart for the next file of a set (whose first batch it would
    # have met in one read).
    decoder.decode(record_batch([_reversed_datagram(8)[0]], 1, first_frame=3))
    last = decoder.flush()
    assert last["frame"].tolist() == [3]
    assert label(last, 0) == "IPv4 fragment, first fragment not seen"
    assert len(decoder.orphans) == 1 and len(decoder.flush()) == 0
    assert decoder.trailing["frag_id"].tolist() == [8]
    assert decoder.trailing["frame"].tolist() == [3]


SECOND = 1_000_000_000


@pytest.mark.parametrize("gap_s, joined", [(60, True), (61, False), (-60, True), (-61, False)])
def test_fragments_meet_only_within_the_reassembly_window(gap_s, joined):
    # A receiver gives up on a datagram after at most a minute; the same
    # identification may then belong to another datagram.  Either order.
    later, first = _reversed_datagram(11)
    frames = [first, later] if gap_s > 0 else [later, first]
    batch = Decoder().decode(record_batch(frames, 1, ts_ns=[0, abs(gap_s) * SECOND]))
    at = 1 if gap_s > 0 else 0  # the later fragment's row
    assert batch["kind"][1 - at] == KIND_FLOW
    assert batch["kind"][at] == (KIND_FLOW if joined else KIND_OTHER)


def test_a_reused_identification_sends_each_later_fragment_to_the_datagram_it_follows():
    # The 16-bit identification wraps on a busy sender (and overlapping-
    # fragment attacks reuse one): two datagrams with one key in one batch.
    def datagram(sport: int) -> tuple[bytes, bytes]:
        body = udp(sport, 53, b"q" * 40)
        first = ethernet(ipv4(A, B, 17, body[:24], ident=4242, more_fragments=True))
        return first, ethernet(ipv4(A, B, 17, body[24:], ident=4242, fragment_offset=24))

    first_a, later_a = datagram(1000)
    first_b, later_b = datagram(2000)
    batch = decode([first_a, later_a, later_a, first_b, later_b])
    assert batch["kind"].tolist() == [KIND_FLOW] * 5
    assert batch["sport"].tolist() == [1000, 1000, 1000, 2000, 2000]
    # Sent last fragment first: one with no first fragment before it takes
    # the next one.  (Reused and reversed at once, nothing tells the two
    # apart: the second later fragment goes with the first fragment before it.)
    batch = decode([later_a, first_a, later_b, first_b])
    assert batch["sport"].tolist() == [1000, 1000, 1000, 2000]


def test_held_fragment_meets_its_first_only_within_the_window():
    later, first = _reversed_datagram(12)
    decoder = Decoder(hold_orphans=True)
    decoder.decode(record_batch([later], 1, ts_ns=[0]))
    two = decoder.decode(record_batch([first], 1, ts_ns=[61 * SECOND], first_frame=2))
    assert two["kind"].tolist() == [KIND_OTHER, KIND_FLOW]
    assert label(two, 0) == "IPv4 fragment, first fragment not seen"


def test_fragment_table_follows_the_rate_of_fragments_not_the_length_of_the_capture():
    # One first fragment a second for an hour: the table keeps about two
    # minutes of them, and a later fragment still meets a recent one.
    decoder = Decoder()
    for minute in range(60):
        firsts = [
            ethernet(ipv4(A, B, 17, udp(1000, 53, bytes(8)), ident=(minute * 60 + s) % 65536,
                          more_fragments=True))
            for s in range(60)
        ]  # fmt: skip
        stamps = [(minute * 60 + s) * SECOND for s in range(60)]
        decoder.decode(record_batch(firsts, 1, ts_ns=stamps, first_frame=minute * 60 + 1))
    kept = len(decoder.fragment_state())
    assert 120 <= kept <= 180
    last = ethernet(ipv4(A, B, 17, bytes(8), ident=3599, fragment_offset=16))
    batch = decoder.decode(record_batch([last], 1, ts_ns=[3600 * SECOND], first_frame=3601))
    assert (row(batch)["kind"], row(batch)["sport"]) == (KIND_FLOW, 1000)


def test_one_corrupt_timestamp_does_not_expire_the_fragment_table():
    # The table's clock is the median time of a batch's first fragments: one
    # far-future stamp among them must not drop the others.
    firsts = [
        ethernet(ipv4(A, B, 17, udp(3000 + i, 53, bytes(8)), ident=500 + i, more_fragments=True))
        for i in range(3)
    ]
    decoder = Decoder()
    decoder.decode(record_batch(firsts, 1, ts_ns=[0, SECOND, 10**18]))
    later = ethernet(ipv4(A, B, 17, bytes(8), ident=500, fragment_offset=16))
    batch = decoder.decode(record_batch([later], 1, ts_ns=[2 * SECOND], first_frame=4))
    assert (row(batch)["kind"], row(batch)["sport"]) == (KIND_FLOW, 3000)


def test_later_fragment_of_a_non_transport_protocol_keeps_its_name():
    frag = ethernet(ipv4(A, B, 1, bytes(32), ident=3, fragment_offset=1480))
    assert label(decode([frag])) == "ICMP"


def test_fragment_table_is_bounded():
    decoder = Decoder(fragment_capacity=2)
    firsts = [
        ethernet(ipv4(A, B, 17, udp(100 + i, 53, bytes(8)), ident=i, more_fragments=True))
        for i in range(3)
    ]
    decoder.decode(record_batch(firsts, 1))
    laters = [ethernet(ipv4(A, B, 17, bytes(8), ident=i, fragment_offset=16)) for i in range(3)]
    batch = decoder.decode(record_batch(laters, 1))
    assert batch["kind"].tolist() == [KIND_OTHER, KIND_FLOW, KIND_FLOW]
    assert batch["sport"].tolist()[1:] == [101, 102]


def test_ipv6_extension_header_chain():
    chain = ipv6_options(43, ipv6_options(60, ipv6_options(6, tcp(1, 22, SYN), 16), 24))
    batch = decode([v6(chain, 0), v6(auth_header(17, udp(500, 500, b"ike")), 51)])
    r = row(batch, 0)
    assert (r["kind"], r["proto"], r["sport"], r["dport"], r["tcp_flags"]) == (0, 6, 1, 22, SYN)
    r = row(batch, 1)
    assert (r["kind"], r["proto"], r["sport"], r["payload_len"]) == (0, 17, 500, 3)


def test_ipv4_authentication_header_is_skipped():
    batch = decode([ethernet(ipv4(A, B, 51, auth_header(6, tcp(179, 50000, ACK, b"bgp"))))])
    r = row(batch)
    assert (r["kind"], r["proto"], r["sport"], r["dport"], r["payload_len"]) == (
        0,
        6,
        179,
        50000,
        3,
    )


def test_truncated_ipv4_authentication_header():
    short = ethernet(ipv4(A, B, 51, b"\x06\x04\x00"))
    overrun = ethernet(ipv4(A, B, 51, auth_header(6, b"")[:12]))
    batch = decode([short, overrun])
    assert [label(batch, i) for i in range(2)] == ["truncated AH header"] * 2


def test_ipv6_fragments():
    body = udp(4000, 4001, b"u" * 64)
    first = v6(ipv6_fragment(17, body[:32], offset=0, more=True, ident=0xABCDEF01), 44)
    last = v6(ipv6_fragment(17, body[32:], offset=32, more=False, ident=0xABCDEF01), 44)
    orphan = v6(ipv6_fragment(17, body[32:], offset=32, more=False, ident=0x1), 44)
    atomic = v6(ipv6_fragment(17, body, offset=0, more=False, ident=0x2), 44)
    batch = decode([last, first, orphan, atomic])
    assert batch["kind"].tolist() == [KIND_FLOW, KIND_FLOW, KIND_OTHER, KIND_FLOW]
    assert batch["sport"].tolist() == [4000, 4000, 0, 4000]
    assert label(batch, 2) == "IPv6 fragment, first fragment not seen"
    assert row(batch, 3)["payload_len"] == 64


def test_ipv6_fragment_with_destination_options_after_it():
    inner = ipv6_options(6, tcp(8080, 9090, ACK, b"x" * 8))
    first = v6(ipv6_fragment(60, inner[:24], offset=0, more=True, ident=11), 44)
    later = v6(ipv6_fragment(60, inner[24:], offset=24, more=False, ident=11), 44)
    batch = decode([first, later])
    assert batch["kind"].tolist() == [KIND_FLOW, KIND_FLOW]
    assert batch["proto"].tolist() == [6, 6]
    assert batch["dport"].tolist() == [9090, 9090]


@pytest.mark.parametrize(
    ("payload", "nh", "reason"),
    [
        (ipv6_options(0, b"") * 10, 0, "IPv6 extension header chain too long"),
        (ipv6_options(6, b"", 8)[:5], 0, "truncated IPv6 extension header"),
        (b"\x06\x05" + bytes(6), 60, "truncated IPv6 extension header"),
        (ipv6_options(6, b"\x00\x01"), 43, "truncated TCP header"),
    ],
)
def test_malformed_ipv6_chains(payload, nh, reason):
    batch = decode([v6(payload, nh)])
    assert row(batch)["kind"] == KIND_UNDECODABLE
    assert label(batch) == reason


def test_ipv6_other_protocols():
    batch = decode([v6(bytes(8), 58), v6(b"", 59), v6(bytes(8), 47)])
    assert [label(batch, i) for i in range(3)] == ["ICMPv6", "IPv6 no next header", "GRE"]
    assert batch["kind"].tolist() == [KIND_OTHER] * 3
    assert batch["ip_version"].tolist() == [6] * 3


def test_results_do_not_depend_on_batching():
    """One large batch (several internal slices) equals many small batches."""
    import numpy as np

    frames = []
    for i in range(9000):
        body = udp(1000 + i % 50, 53, bytes(40))
        if i % 3 == 0:
            frames.append(ethernet(ipv4(A, B, 6, tcp(2000 + i % 7, 443, SYN if i % 5 else ACK))))
        elif i % 3 == 1:
            frames.append(v6(ipv6_options(17, body), 60))
        else:
            frames.append(ethernet(ipv4(A, B, 17, body[:24], ident=i, more_fragments=True)))
            frames.append(ethernet(ipv4(A, B, 17, body[24:], ident=i, fragment_offset=24)))
    big = Decoder().decode(record_batch(frames, 1))
    small_decoder = Decoder()
    parts = [
        small_decoder.decode(record_batch(frames[s : s + 7], 1, first_frame=s + 1))
        for s in range(0, len(frames), 7)
    ]
    assert (big["kind"] == KIND_FLOW).all()
    for name in ("frame", "kind", "proto", "sport", "dport", "src_lo", "dst_hi", "payload_len"):
        joined = np.concatenate([p[name] for p in parts])
        assert np.array_equal(big[name], joined), name


# Python's hash of a tuple of integers is public (xxHash-style lanes over the
# integers' own hashes), so IPv6 fragment keys can be solved for one hash.
_M64 = (1 << 64) - 1
_P1, _P2, _P5 = 11400714785074694791, 14029467366897019727, 2870177450012600261


def _lane(acc: int, value: int) -> int:
    acc = (acc + (value % ((1 << 61) - 1)) * _P2) & _M64
    return ((((acc << 31) | (acc >> 33)) & _M64) * _P1) & _M64


def _tuple_hash_collisions(n: int) -> list[tuple[int, ...]]:
    """``n`` (version, src_hi, src_lo, dst_hi, dst_lo, id, nh) with one tuple hash."""
    target = 0x0123456789ABCDEF
    p1_inverse, p2_inverse = pow(_P1, -1, 1 << 64), pow(_P2, -1, 1 << 64)
    before = (target * p1_inverse) & _M64
    before = ((before >> 31) | (before << 33)) & _M64  # undo the rotation
    rng, out = random.Random(6), []
    while len(out) < n:
        src_lo = rng.getrandbits(60)
        acc = _P5
        for value in (6, 0x20010DB800000001, src_lo, 0x20010DB800000002):
            acc = _lane(acc, value)
        dst_lo = ((before - acc) * p2_inverse) & _M64
        if dst_lo < (1 << 61) - 1:
            out.append((6, 0x20010DB800000001, src_lo, 0x20010DB800000002, dst_lo, 7, 17))
    return out


def test_crafted_fragment_keys_do_not_share_a_dict_hash() -> None:
    crafted = _tuple_hash_collisions(500)
    assert len({hash(k) for k in crafted}) == 1  # as tuples: one hash for all
    columns = [np.array(c, dtype=np.uint64 if i in (1, 2, 3, 4) else np.int64)
               for i, c in enumerate(zip(*crafted, strict=True))]  # fmt: skip
    keys = fragment_keys(*columns)
    assert len(set(keys)) == len(crafted)
    assert len({hash(k) for k in keys}) == len(crafted)


def test_fragments_of_crafted_colliding_keys_each_find_their_own_ports():
    frames, crafted = [], _tuple_hash_collisions(300)
    for i, (_, s_hi, s_lo, d_hi, d_lo, ident, _) in enumerate(crafted):
        src = str(ipaddress.IPv6Address(s_hi << 64 | s_lo))
        dst = str(ipaddress.IPv6Address(d_hi << 64 | d_lo))
        body = udp(1000 + i, 53, b"q" * 40)
        frames.append(ethernet(ipv6(src, dst, 44, ipv6_fragment(
            17, body[:24], offset=0, more=True, ident=ident)), 0x86DD))  # fmt: skip
        frames.append(ethernet(ipv6(src, dst, 44, ipv6_fragment(
            17, body[24:], offset=24, more=False, ident=ident)), 0x86DD))  # fmt: skip
    batch = decode(frames)
    assert batch["kind"].tolist() == [KIND_FLOW] * len(frames)
    assert batch["sport"].tolist() == [1000 + i // 2 for i in range(len(frames))]


def test_a_set_file_lists_only_the_earliest_stray_fragments(monkeypatch):
    # For the merge with the previous file, a decoder lists later fragments
    # that found no first fragment, but only as many as the first-fragment
    # table holds (the earliest), so a flood of them cannot grow the list.
    from annotator.capture.decode import decoder as decoder_module

    monkeypatch.setattr(decoder_module, "MAX_LISTED_ORPHANS", 3)
    decoder = Decoder(keep_orphans=True)
    strays = [_reversed_datagram(ident)[0] for ident in range(10, 15)]
    first = decoder.decode(record_batch(strays[:2], 1))
    second = decoder.decode(record_batch(strays[2:], 1, first_frame=3))
    for batch in (first, second):  # every one is still counted, as other traffic
        assert set(batch["kind"].tolist()) == {KIND_OTHER}
        assert {label(batch, i) for i in range(len(batch))} == {
            "IPv4 fragment, first fragment not seen"
        }
    listed = [i for rows in decoder.orphans for i in rows["frag_id"].tolist()]
    frames = [f for rows in decoder.orphans for f in rows["frame"].tolist()]
    assert listed == [10, 11, 12] and frames == [1, 2, 3]
