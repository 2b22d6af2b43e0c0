"""The aggregator's stages on their own: grouping by key, splits, segments."""

from __future__ import annotations

import numpy as np
import pytest

from annotator.capture.columns import KIND_OTHER
from annotator.errors import UsageError
from annotator.flows import keys as keys_module
from annotator.flows import timeouts
from annotator.flows.grouping import GroupedPackets, group_by_key
from annotator.flows.segments import (
    EVENT_END,
    EVENT_OPEN,
    cut_segments,
    idle_splits,
    reduce_segments,
    syn_splits,
    tcp_events,
)

from .conftest import build_batch

C, S, T = "192.0.2.10", "198.51.100.20", "203.0.113.5"


def tcp(src, sport, dst, dport, t, flags="A", **kw):
    return dict(src=src, sport=sport, dst=dst, dport=dport, t=t, flags=flags, **kw)


def udp(src, sport, dst, dport, t, **kw):
    return dict(src=src, sport=sport, dst=dst, dport=dport, t=t, proto="udp", **kw)


def grouped(packets: list[dict]) -> GroupedPackets:
    result = group_by_key(build_batch(packets))
    assert result is not None
    return result


def no_live(packets: GroupedPackets) -> np.ndarray:
    return np.zeros(packets.n_groups, dtype=bool)


INTERLEAVED = [
    tcp(C, 40000, S, 443, 1.0, "S"),
    udp(T, 5353, C, 5353, 1.1),
    tcp(S, 443, C, 40000, 1.2, "SA"),
    dict(src=C, dst=S, sport=0, dport=0, t=1.25, kind=KIND_OTHER),
    udp(C, 5353, T, 5353, 1.3),
    tcp(C, 40000, S, 443, 1.4, "A"),
]


def test_each_key_is_one_contiguous_run_in_capture_order_without_other_traffic():
    packets = grouped(INTERLEAVED)
    assert len(packets) == 5 and packets.n_groups == 2
    runs = np.split(packets.rows, packets.group_first[1:])
    assert sorted(run.tolist() for run in runs) == [[0, 2, 5], [1, 4]]
    assert packets.group_of.tolist() == [0] * len(runs[0]) + [1] * len(runs[1])


def test_grouping_is_exact_even_when_every_key_shares_one_hash(monkeypatch):
    monkeypatch.setattr(
        keys_module, "hash_key", lambda a_hi, *rest: np.zeros(len(a_hi), dtype=np.uint64)
    )
    packets = grouped(INTERLEAVED)
    assert packets.n_groups == 2
    runs = np.split(packets.rows, packets.group_first[1:])
    assert sorted(run.tolist() for run in runs) == [[0, 2, 5], [1, 4]]


def test_a_batch_without_flow_packets_has_no_groups():
    assert group_by_key(build_batch([INTERLEAVED[3]])) is None


def test_an_idle_gap_longer_than_the_timeout_splits_and_one_as_long_does_not():
    packets = grouped([udp(C, 5000, S, 53, t) for t in (0.0, 120.0, 240.5, 241.0)])
    table = timeouts.timeout_table(None)
    split = idle_splits(packets, table, no_live(packets), np.zeros(1, dtype=np.int64))
    assert split.tolist() == [False, False, True, False]


def test_a_group_continuing_a_live_flow_measures_its_gap_from_the_live_flow():
    packets = grouped([udp(C, 5000, S, 53, 200.0)])
    table = timeouts.timeout_table(None)
    found = np.ones(1, dtype=bool)
    recent = np.array([100 * 10**9], dtype=np.int64)
    stale = np.array([10 * 10**9], dtype=np.int64)
    assert not idle_splits(packets, table, found, recent)[0]
    assert idle_splits(packets, table, found, stale)[0]


def test_a_syn_after_fin_splits_but_a_retransmitted_syn_does_not():
    packets = grouped(
        [
            tcp(C, 40000, S, 80, 1.0, "S"),
            tcp(C, 40000, S, 80, 1.1, "S"),
            tcp(C, 40000, S, 80, 1.2, "FA"),
            tcp(C, 40000, S, 80, 1.3, "S"),
        ]
    )
    events = tcp_events(packets)
    assert events.code.tolist() == [EVENT_OPEN, EVENT_OPEN, EVENT_END, EVENT_OPEN]
    idle = np.zeros(len(packets), dtype=bool)
    none = no_live(packets)
    split, rejoin = syn_splits(packets, events, idle, none, none, none)
    assert split.tolist() == [False, False, False, True]
    assert not rejoin.any()


def test_a_first_syn_splits_when_the_flow_before_the_batch_had_ended():
    packets = grouped([tcp(C, 40000, S, 80, 2.0, "S"), tcp(C, 40000, S, 80, 2.1, "A")])
    events = tcp_events(packets)
    idle = np.zeros(len(packets), dtype=bool)
    none, ended = no_live(packets), np.ones(1, dtype=bool)
    assert syn_splits(packets, events, idle, ended, none, none)[0].tolist() == [True, False]
    assert syn_splits(packets, events, idle, none, none, none)[0].tolist() == [False, False]
    # A predecessor that may sit in another file: the SYN's piece is marked for the merge.
    _, rejoin = syn_splits(packets, events, idle, ended, ended, none)
    assert rejoin.tolist() == [True, False]


def test_segments_cover_every_packet_once_and_only_a_first_one_continues():
    packets = grouped([udp(C, 5000, S, 53, t) for t in (0.0, 1.0, 500.0, 501.0, 1000.0)])
    table = timeouts.timeout_table(None)
    found = np.ones(1, dtype=bool)
    live_last = np.array([0], dtype=np.int64)
    split = idle_splits(packets, table, found, live_last)
    segments = cut_segments(packets, split, found)
    assert segments.start.tolist() == [0, 2, 4]
    assert segments.packet_count.sum() == len(packets)
    assert segments.continues.tolist() == [True, False, False]
    assert segments.last_of_group.tolist() == [False, False, True]
    new_key = cut_segments(packets, split, ~found)
    assert not new_key.continues.any()


def test_reduced_pieces_count_packets_and_bytes_per_side():
    batch = build_batch(
        [
            tcp(C, 40000, S, 443, 1.0, "S", wire=74),
            tcp(S, 443, C, 40000, 1.1, "SA", wire=74),
            tcp(C, 40000, S, 443, 1.2, "PA", wire=166),
        ]
    )
    packets = group_by_key(batch)
    assert packets is not None
    none = no_live(packets)
    split = np.zeros(len(packets), dtype=bool)
    segments = cut_segments(packets, split, none)
    events = tcp_events(packets)
    pieces = reduce_segments(batch, packets, segments, events, none, split, file_index=3)
    assert pieces["pk_ab"] + pieces["pk_ba"] == 3
    assert pieces["by_ab"] + pieces["by_ba"] == 74 + 74 + 166
    assert pieces["first_ts"][0] == 10**9 and pieces["last_ts"][0] == 1_200_000_000
    assert pieces["file"][0] == 3 and pieces["first_frame"][0] == 1
    a_is_client = bool(pieces["first_fwd"][0])
    assert pieces["hs_dir"][0] == (1 if a_is_client else 2)
    assert pieces["pay_ab"][0] == b"" and pieces["pay_len_ab"][0] == 0


def test_idle_timeouts_per_transport_override_the_default():
    table = timeouts.timeout_table({"udp": 30})
    assert table[17] == 30 * 10**9 and table[6] == 3600 * 10**9


@pytest.mark.parametrize("bad", [0, -1, "60", True, {"icmp": 5}])
def test_a_bad_idle_timeout_is_a_usage_error(bad):
    with pytest.raises(UsageError):
        timeouts.timeout_table(bad)
