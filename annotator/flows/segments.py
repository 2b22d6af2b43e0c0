"""Cutting a batch's key groups into flow segments, and reducing each segment.

Works on :class:`~annotator.flows.grouping.GroupedPackets`: a batch's flow
packets with each key's packets contiguous and in capture order.  A key group
is cut where a new flow starts -- after an idle gap longer than the
transport's timeout (:func:`idle_splits`), or at a TCP SYN (without ACK)
whose previous SYN/FIN/RST event in the flow was a FIN or RST
(:func:`syn_splits`) -- into *segments* (:func:`cut_segments`), which
``ufunc.reduceat`` turns into one flow piece each (:func:`reduce_segments`).

These are pure functions of the batch and of what the live flows say about
each key group (found, last timestamp, ended); the aggregator
(:mod:`annotator.flows.aggregate`) looks that up and applies the result.
Every step is a whole-array numpy operation: cost grows with the packets of
the batch, never with a Python step per packet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from annotator.capture.columns import HS_OPEN, PROTO_TCP, TCP_FIN, TCP_RST, PacketBatch
from annotator.flows.flowcols import Flows, empty_flows
from annotator.flows.grouping import GroupedPackets

#: Event codes of the FIN/RST-then-SYN rule: a FIN or RST ends a flow, an
#: opening SYN (SYN without ACK) starts one when the flow had ended.
EVENT_END = 1
EVENT_OPEN = 2

#: ``hs_dir`` values: which endpoint the first handshake packet names client.
HS_DIR_A_CLIENT = 1
HS_DIR_B_CLIENT = 2


@dataclass
class Events:
    """The SYN/FIN/RST events of a batch's grouped packets.

    ``code`` is :data:`EVENT_END`, :data:`EVENT_OPEN` or 0 per packet;
    ``position`` is the packet's own position where it is an event and -1
    elsewhere, so a running maximum gives the latest event so far.
    """

    code: np.ndarray
    position: np.ndarray


@dataclass
class Segments:
    """Runs of consecutive grouped packets that each make one flow piece.

    ``start`` and ``end`` bound each segment (``end`` exclusive), ``group`` is
    its key group, ``continues`` whether it carries on the key's live flow
    (only a group's first segment can), and ``last_of_group`` whether it is
    its group's last (the one that stays live after the batch).
    """

    start: np.ndarray
    end: np.ndarray
    group: np.ndarray
    continues: np.ndarray
    last_of_group: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    @property
    def packet_count(self) -> np.ndarray:
        """Packets in each segment."""
        return self.end - self.start


def tcp_events(packets: GroupedPackets) -> Events:
    """Each TCP packet's event: FIN or RST ends a flow, an opening SYN starts one.

    An opening SYN that also carries FIN or RST counts as an opening.  Other
    transports have no events here: only their idle gaps split them.
    """
    is_tcp = packets.proto == PROTO_TCP
    code = np.zeros(len(packets), dtype=np.int8)
    code[is_tcp & ((packets.tcp_flags & (TCP_FIN | TCP_RST)) != 0)] = EVENT_END
    code[is_tcp & ((packets.handshake & HS_OPEN) != 0)] = EVENT_OPEN
    position = np.where(code != 0, np.arange(len(packets)), -1)
    return Events(code=code, position=position)


def idle_splits(
    packets: GroupedPackets,
    timeout_ns: np.ndarray,
    found_live: np.ndarray,
    live_last_pkt_ts: np.ndarray,
) -> np.ndarray:
    """Packets that start a new flow because their key was silent too long.

    A packet's gap is measured from the previous packet of its key in capture
    order: within the batch, the packet before it in the group; for a group's
    first packet, the last packet of the key's live flow where one was found
    (``found_live`` and ``live_last_pkt_ts``, one per group), else no gap.
    ``timeout_ns`` is the idle timeout per IP protocol number (256 entries).
    """
    ts = packets.ts
    previous_ts = np.empty(len(packets), dtype=np.int64)
    previous_ts[1:] = ts[:-1]
    first = packets.group_first
    previous_ts[first] = np.where(found_live, live_last_pkt_ts, ts[first])
    return (ts - previous_ts) > timeout_ns[packets.proto]


def syn_splits(
    packets: GroupedPackets,
    events: Events,
    idle_split: np.ndarray,
    ended_before: np.ndarray,
    unknown_before: np.ndarray,
    first_seen: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Opening SYNs that start a new flow, and which of those the merge may rejoin.

    An opening SYN starts a new flow when the previous SYN/FIN/RST event of
    its flow was a FIN or RST.  Before the group's first event in the batch,
    that previous event is the live flow's: ``ended_before`` (one per group)
    says whether the key's flow before this batch had ended, as far as its
    events go.  It only counts for packets still in the group's first flow
    (no idle split between them and the group start).

    ``unknown_before`` (one per group, boundary mode) marks keys whose flow
    before this batch may sit in another file: they count as ended, so their
    first SYN starts a piece of its own; that piece is returned marked
    *rejoin*, for the merge (:mod:`annotator.flows.merge`) to put back when
    the other file's flow turns out not to have ended.  A key's very first
    packet in the file (``first_seen``) starts a piece anyway and is never
    marked.  Returns the split mask and the rejoin mask, per packet.
    """
    n = len(packets)
    position = np.arange(n)
    latest_event = np.maximum.accumulate(events.position)
    previous_event = np.empty(n, dtype=np.int64)
    previous_event[0] = -1
    previous_event[1:] = latest_event[:-1]
    flow_start = np.maximum.accumulate(np.where(packets.group_start | idle_split, position, 0))
    has_previous = previous_event >= flow_start
    after_end = has_previous & (events.code[np.maximum(previous_event, 0)] == EVENT_END)
    group = packets.group_of
    group_first = packets.group_first[group]
    in_first_flow = flow_start == group_first
    inherits_end = ~has_previous & in_first_flow & ended_before[group]
    split = (events.code == EVENT_OPEN) & (after_end | inherits_end)
    rejoin = split & inherits_end & unknown_before[group]
    rejoin &= ~(first_seen[group] & (position == group_first))
    return split, rejoin


def cut_segments(packets: GroupedPackets, new_flow: np.ndarray, found_live: np.ndarray) -> Segments:
    """Cut each key group into segments where a new flow starts.

    ``new_flow`` marks the packets that start a new flow (idle or SYN
    splits); a group whose key has no live flow (``found_live`` False, one
    per group) starts one at its first packet.  A group's first segment that
    starts no new flow continues the key's live flow.
    """
    starts_flow = new_flow.copy()
    starts_flow[packets.group_first] |= ~found_live
    start = np.flatnonzero(starts_flow | packets.group_start)
    end = np.empty(len(start), dtype=np.int64)
    end[:-1] = start[1:]
    end[-1] = len(packets)
    group = packets.group_of[start]
    last_of_group = np.ones(len(start), dtype=bool)
    last_of_group[:-1] = group[1:] != group[:-1]
    return Segments(
        start=start,
        end=end,
        group=group,
        continues=packets.group_start[start] & ~starts_flow[start],
        last_of_group=last_of_group,
    )


def reduce_segments(
    batch: PacketBatch,
    packets: GroupedPackets,
    segments: Segments,
    events: Events,
    first_seen: np.ndarray,
    rejoin: np.ndarray,
    file_index: int,
) -> Flows:
    """One flow record per segment, in canonical orientation, without payload.

    Counts and bytes per side, OR of TCP flags, first and last timestamps,
    the handshake's verdict on the client (``hs_dir``), and the fields the
    merge of files read apart needs (``ended``, ``evented``, ``open_first``,
    ``head``, ``rejoin``; see :mod:`annotator.flows.flowcols`).  The payload
    columns stay empty: the aggregator fills them, with limits that depend
    on the live flows.
    """
    start, end = segments.start, segments.end
    rows, forward, ts = packets.rows, packets.forward, packets.ts
    wire = batch["wire_len"][rows].astype(np.int64)
    pieces = empty_flows(len(segments))
    pieces["h"][:] = packets.key_hash[start]
    for name, column in zip(("a_hi", "a_lo", "b_hi", "b_lo", "small"), packets.key, strict=True):
        pieces[name][:] = column[start]
    pieces["ip_version"][:] = batch["ip_version"][rows[start]]
    pieces["pk_ab"][:] = np.add.reduceat(forward.astype(np.int64), start)
    pieces["pk_ba"][:] = segments.packet_count - pieces["pk_ab"]
    pieces["by_ab"][:] = np.add.reduceat(np.where(forward, wire, 0), start)
    pieces["by_ba"][:] = np.add.reduceat(wire, start) - pieces["by_ab"]
    pieces["flags"][:] = np.bitwise_or.reduceat(packets.tcp_flags, start)
    pieces["first_ts"][:] = np.minimum.reduceat(ts, start)
    pieces["last_ts"][:] = np.maximum.reduceat(ts, start)
    pieces["last_pkt_ts"][:] = ts[end - 1]
    pieces["file"][:] = file_index
    pieces["first_frame"][:] = batch["frame"][rows[start]]
    pieces["first_fwd"][:] = forward[start]
    pieces["hs_dir"][:] = _handshake_direction(packets, start)
    last_event = np.maximum.reduceat(events.position, start)
    has_event = last_event >= start
    pieces["ended"][:] = has_event & (events.code[np.maximum(last_event, 0)] == EVENT_END)
    pieces["evented"][:] = has_event
    pieces["first_pkt_ts"][:] = ts[start]
    pieces["open_first"][:] = events.code[start] == EVENT_OPEN
    pieces["head"][:] = packets.group_start[start] & first_seen[segments.group]
    pieces["rejoin"][:] = rejoin[start]
    return pieces


def _handshake_direction(packets: GroupedPackets, start: np.ndarray) -> np.ndarray:
    """``hs_dir`` per segment: who its first handshake packet names client, 0 for none.

    The first packet with a handshake bit decides: an opening packet (SYN,
    INIT, Request) was sent by the client, any other handshake packet (a
    SYN+ACK, say) by the server.
    """
    n = len(packets)
    handshake = packets.handshake
    first_handshake = np.minimum.reduceat(np.where(handshake != 0, np.arange(n), n), start)
    at = np.minimum(first_handshake, n - 1)
    forward = packets.forward[at]
    a_is_client = np.where((handshake[at] & HS_OPEN) != 0, forward, ~forward)
    verdict = np.where(a_is_client, HS_DIR_A_CLIENT, HS_DIR_B_CLIENT)
    return np.where(first_handshake < n, verdict, 0)
