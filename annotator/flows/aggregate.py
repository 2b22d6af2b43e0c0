"""Streaming flow aggregation: packet columns into bidirectional flows.

:class:`FlowAggregator` takes one :class:`~annotator.capture.columns.PacketBatch`
at a time and keeps a table of *live* flows across batches
(:class:`~annotator.flows.live.LiveTable`: numpy columns in slots, with a
sorted hash index).  Per batch, everything is vectorized, in stages:

1. flow packets get a canonical key and are grouped by it, each key's packets
   in capture order (:mod:`annotator.flows.grouping`);
2. each key group is looked up among the live flows, then cut into
   *segments* where a new flow starts: after an idle gap longer than the
   transport's timeout, or at a TCP SYN (without ACK) whose previous
   SYN/FIN/RST event in the flow was a FIN or RST
   (:mod:`annotator.flows.segments`);
3. segments are reduced with ``ufunc.reduceat`` (packets, bytes, flags, times,
   handshake) into flow pieces, which get their first payload bytes
   (:mod:`annotator.flows.payload`) up to what their flow may still keep;
4. a key's first segment continues its live flow when there is one; a key's
   last segment becomes live; everything else is finished;
5. live flows idle for longer than their timeout (measured against a clock
   that follows the median timestamp of each batch, so a single corrupt
   timestamp cannot expire everything) are finished and released.

Memory therefore grows with the number of live flows, never with packets.
Flows are kept in canonical orientation (endpoint ``A`` is the lower one);
client and server are decided at the end (:mod:`annotator.flows.direction`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from annotator.capture.columns import PROTO_UDP, PacketBatch
from annotator.flows.direction import AssignedPorts, decide
from annotator.flows.early import EarlyEvidence, Fingerprinter
from annotator.flows.flowcols import Flows, concat, take
from annotator.flows.grouping import GroupedPackets, group_by_key
from annotator.flows.keys import unpack_small
from annotator.flows.live import LiveTable
from annotator.flows.payload import collect_payload
from annotator.flows.segments import (
    HS_DIR_A_CLIENT,
    HS_DIR_B_CLIENT,
    Segments,
    cut_segments,
    idle_splits,
    reduce_segments,
    syn_splits,
    tcp_events,
)

# The idle timeouts are configured here, so they are importable from here too.
from annotator.flows.timeouts import timeout_table


@dataclass
class LiveMatch:
    """How a batch's key groups meet the live flows, one element per group.

    ``slot`` is the slot of the key's live flow, meaningful where ``found``.
    ``first_seen`` (boundary mode only, else all False) marks keys met for
    the first time in this file: their flow may continue one of the previous
    file, which this aggregator cannot see.
    """

    slot: np.ndarray
    found: np.ndarray
    first_seen: np.ndarray


class FlowAggregator:
    """Accumulates packet batches into flows; see the module docstring.

    ``payload_c2s`` and ``payload_s2c`` are how many first payload bytes are
    kept per flow from the client and from the server.  Until a handshake has
    named the server, both sides of a flow keep up to the larger limit (the
    port rules that decide direction otherwise run at the end); once it has,
    the server side keeps only ``payload_s2c``, which bounds memory per flow.

    ``early_direction=True`` decides client and server of UDP flows (which
    never carry a handshake) as soon as they start, with the same port rules
    and ``registry`` that :func:`annotator.flows.finish.finish_flows` applies at
    the end, so their server side keeps only ``payload_s2c`` from the start
    instead of the larger limit: the same payload comes out, and a UDP flow
    holds no more server bytes while reading than it will keep.  Pass the
    registry that ``finish_flows`` will get.
    """

    def __init__(
        self,
        idle_timeout: float | Mapping[str, float] | None = None,
        payload_c2s: int = 2048,
        payload_s2c: int = 512,
        *,
        early_direction: bool = False,
        registry: AssignedPorts | None = None,
        fingerprint: Fingerprinter | None = None,
        boundary: bool = False,
    ) -> None:
        self.timeout_ns = timeout_table(idle_timeout)
        self.limits = (int(payload_c2s), int(payload_s2c))
        self.early_direction = early_direction
        self.registry = registry
        self.live = LiveTable(self.timeout_ns)
        self.done: list[Flows] = []
        self.now = int(np.iinfo(np.int64).min)
        self.early = EarlyEvidence(fingerprint, registry, self.limits) if fingerprint else None
        self.boundary = boundary
        self.seen_h = np.zeros(0, dtype=np.uint64)  # key hashes met so far (boundary mode)

    @property
    def evidence(self) -> list[Any]:
        """Fingerprint results so far; a flow's ``ev`` column indexes this list."""
        return self.early.results if self.early is not None else []

    def add(self, batch: PacketBatch, file_index: int = 0) -> None:
        """Fold one batch of packets into the flow tables."""
        packets = group_by_key(batch)
        if packets is not None:
            self._fold(batch, packets, file_index)

    def _fold(self, batch: PacketBatch, packets: GroupedPackets, file_index: int) -> None:
        """Fold a batch's grouped flow packets into the live and finished flows.

        The stages of the module docstring, in order.  Every stage up to the
        payload reads the live table as it was before the batch; only
        :meth:`_continue_live`, :meth:`_replace_live` and :meth:`_expire_idle`
        change it, in that order.
        """
        match = self._match_live(packets)
        events = tcp_events(packets)
        live_last_pkt_ts = self._live_column("last_pkt_ts", match.slot)
        idle_split = idle_splits(packets, self.timeout_ns, match.found, live_last_pkt_ts)
        ended_before, unknown_before = self._state_before_batch(
            match, idle_split[packets.group_first]
        )
        syn_split, rejoin = syn_splits(
            packets, events, idle_split, ended_before, unknown_before, match.first_seen
        )
        segments = cut_segments(packets, idle_split | syn_split, match.found)
        pieces = reduce_segments(
            batch, packets, segments, events, match.first_seen, rejoin, file_index
        )
        live_slot = match.slot[segments.group]  # the key's live flow, per segment
        self._add_payload(batch, packets, segments, pieces, live_slot)
        continued = self._continue_live(pieces, segments, live_slot)
        inserted = self._replace_live(pieces, segments, match)
        self._expire_idle(packets.ts)
        if self.early is not None:
            self.early.settle_live(self.live.cols, np.concatenate([continued, inserted]))

    def _live_column(self, name: str, slots: np.ndarray) -> np.ndarray:
        """Column ``name`` of the live flows in ``slots``; zeros while no flow is live.

        Callers use the values only where a live flow was found, so the
        zeros merely stand in for an empty table.
        """
        column = self.live.cols[name]
        if len(self.live):
            return column[slots]
        return np.zeros(len(slots), dtype=column.dtype)

    def _match_live(self, packets: GroupedPackets) -> LiveMatch:
        """Find each key group's live flow; in boundary mode, note keys new to the file."""
        group_hash = packets.key_hash[packets.group_first]
        slot, found = self.live.lookup(group_hash, packets.group_keys())
        first_seen = np.zeros(packets.n_groups, dtype=bool)
        if self.boundary:
            seen = self.seen_h
            if len(seen):
                at = np.minimum(np.searchsorted(seen, group_hash), len(seen) - 1)
                first_seen = ~found & (seen[at] != group_hash)
            else:
                first_seen = ~found
            self.seen_h = np.union1d(seen, group_hash[first_seen])
        return LiveMatch(slot=slot, found=found, first_seen=first_seen)

    def _state_before_batch(
        self, match: LiveMatch, idle_at_group_start: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per key group: whether the flow before this batch had ended, and whether it is unknown.

        A group whose first packet resumes its live flow (found, no idle gap)
        inherits that flow's last event.  In boundary mode a key's first flow
        in the file -- a key met for the first time, or a live head that has
        seen no event yet -- acts as if its unseen predecessor had ended, so
        a first SYN starts a piece of its own (``rejoin``) that the merge puts
        back when that predecessor turns out not to have ended
        (:mod:`annotator.flows.merge`).  Returns ``(ended_before,
        unknown_before)`` for :func:`~annotator.flows.segments.syn_splits`.
        """
        resumes = match.found & ~idle_at_group_start
        unknown_before = match.first_seen.copy()
        if self.boundary and len(self.live):
            live_head = self._live_column("head", match.slot)
            live_evented = self._live_column("evented", match.slot)
            unknown_before |= resumes & live_head & ~live_evented
        ended_before = (resumes & self._live_column("ended", match.slot)) | unknown_before
        return ended_before, unknown_before

    def _add_payload(
        self,
        batch: PacketBatch,
        packets: GroupedPackets,
        segments: Segments,
        pieces: Flows,
        live_slot: np.ndarray,
    ) -> None:
        """Fill the pieces' first payload bytes, only as many as their flow still needs."""
        hs_dir = self._direction_for_limits(segments, pieces, live_slot)
        room = self._payload_room(hs_dir, segments.continues, live_slot)
        rows = packets.rows
        collected = collect_payload(
            batch.data,
            batch["payload_off"][rows],
            batch["payload_len"][rows],
            packets.forward,
            segments.start,
            segments.packet_count,
            room,
        )
        for side, (data, length) in zip(("ab", "ba"), collected, strict=True):
            pieces[f"pay_{side}"] = data
            pieces[f"pay_len_{side}"] = length

    def _direction_for_limits(
        self, segments: Segments, pieces: Flows, live_slot: np.ndarray
    ) -> np.ndarray:
        """``hs_dir`` per piece as far as payload limits go (0: client unknown yet).

        A piece continuing a live flow takes that flow's handshake verdict
        when it has one; with ``early_direction``, UDP pieces are decided by
        the port rules; in boundary mode, pieces the merge may join to
        another file's flow stay undecided (their direction is only known
        after the merge), so they keep the larger limit both ways.
        """
        continues = segments.continues
        known = np.where(continues, self._live_column("hs_dir", live_slot), 0)
        hs_dir = np.where(known != 0, known, pieces["hs_dir"])
        if self.early_direction:
            hs_dir = self._udp_direction(pieces, continues, live_slot, hs_dir)
        if self.boundary:
            edge = pieces["head"] | pieces["rejoin"]
            live_edge = self._live_column("head", live_slot) | self._live_column(
                "rejoin", live_slot
            )
            edge |= continues & live_edge
            hs_dir = np.where(edge, 0, hs_dir)
        return hs_dir

    def _payload_room(
        self, hs_dir: np.ndarray, continues: np.ndarray, live_slot: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Bytes each piece may still take from A and from B.

        The server side's limit is ``payload_s2c`` once the server is known,
        else both sides get the larger limit; a piece continuing a live flow
        subtracts what that flow holds already.
        """
        c2s, s2c = self.limits
        room = []
        for side, b_is_client in (("ab", HS_DIR_B_CLIENT), ("ba", HS_DIR_A_CLIENT)):
            limit = np.where(hs_dir == b_is_client, s2c, max(c2s, s2c))
            held = np.where(continues, self._live_column(f"pay_len_{side}", live_slot), 0)
            room.append(np.maximum(limit - held, 0))
        return room[0], room[1]

    def _udp_direction(
        self, pieces: Flows, continues: np.ndarray, live_slot: np.ndarray, hs_dir: np.ndarray
    ) -> np.ndarray:
        """``hs_dir`` with UDP pieces' client side filled in by the port rules.

        The final decision (:func:`~annotator.flows.direction.decide`) for a
        UDP flow depends only on its ports and on who sent its first packet
        -- the live flow's, for a piece that continues one -- so it can be
        taken here already, for payload limits only.
        """
        small = pieces["small"]
        udp = np.flatnonzero((small >> np.uint64(48)) == PROTO_UDP)
        if len(udp) == 0:
            return hs_dir
        live_first_fwd = self._live_column("first_fwd", live_slot[udp])
        first_fwd = np.where(continues[udp], live_first_fwd, pieces["first_fwd"][udp])
        proto, a_port, b_port = unpack_small(small[udp])
        no_handshake = np.zeros(len(udp), dtype=np.uint8)
        client_is_a, _ = decide(proto, a_port, b_port, no_handshake, first_fwd, self.registry)
        hs_dir = hs_dir.copy()
        hs_dir[udp] = np.where(client_is_a, HS_DIR_A_CLIENT, HS_DIR_B_CLIENT)
        return hs_dir

    def _continue_live(
        self, pieces: Flows, segments: Segments, live_slot: np.ndarray
    ) -> np.ndarray:
        """Add the pieces that carry on a live flow into it; return the slots updated."""
        continuing = np.flatnonzero(segments.continues)
        slots = live_slot[continuing]
        if len(continuing) == 0:
            return slots
        live = self.live.cols
        for name in ("pk_ab", "pk_ba", "by_ab", "by_ba", "pay_len_ab", "pay_len_ba"):
            live[name][slots] += pieces[name][continuing]
        live["flags"][slots] |= pieces["flags"][continuing]
        live["first_ts"][slots] = np.minimum(
            live["first_ts"][slots], pieces["first_ts"][continuing]
        )
        live["last_ts"][slots] = np.maximum(live["last_ts"][slots], pieces["last_ts"][continuing])
        live["last_pkt_ts"][slots] = pieces["last_pkt_ts"][continuing]
        live_hs_dir = live["hs_dir"][slots]
        live["hs_dir"][slots] = np.where(
            live_hs_dir == 0, pieces["hs_dir"][continuing], live_hs_dir
        )
        # A piece without events leaves the flow's last event as it was.
        evented = pieces["evented"][continuing]
        live["ended"][slots] = np.where(evented, pieces["ended"][continuing], live["ended"][slots])
        live["evented"][slots] |= evented
        for side in ("ab", "ba"):
            held, more = live[f"pay_{side}"], pieces[f"pay_{side}"]
            for i in np.flatnonzero(pieces[f"pay_len_{side}"][continuing] > 0):
                held[slots[i]] = held[slots[i]] + more[continuing[i]]
        return slots

    def _replace_live(self, pieces: Flows, segments: Segments, match: LiveMatch) -> np.ndarray:
        """Finish what this batch ended and make each key's newest flow live.

        Pieces that start a new flow and are not their key's last are
        finished already; a live flow whose key moved on to a new flow is
        taken out and finished; each key's last new piece becomes live.
        Returns the slots of the flows inserted.
        """
        starts_new = ~segments.continues
        if not segments.last_of_group.all():
            self._finished(take(pieces, starts_new & ~segments.last_of_group))
        moved_on = match.found & ~segments.continues[segments.last_of_group]
        retired = self.live.remove(match.slot[moved_on])
        if retired is not None:
            self._finished(retired)
        return self.live.insert(take(pieces, starts_new & segments.last_of_group))

    def _expire_idle(self, ts: np.ndarray) -> None:
        """Finish and release the live flows idle for longer than their timeout.

        The clock is the batch's median timestamp, never going back, so one
        corrupt far-future timestamp cannot expire every live flow at once.
        """
        self.now = max(self.now, int(np.median(ts)))
        expired = self.live.remove(self.live.idle(self.now))
        if expired is not None:
            self._finished(expired)

    def _finished(self, rows: Flows) -> None:
        """Keep finished flows; with a fingerprinter, their payload turns into evidence."""
        if self.early is not None:
            self.early.settle_finished(rows)
        self.done.append(rows)

    def finish(self) -> Flows:
        """Every flow, finished or still live, in one table (canonical orientation).

        Flows still live are marked ``live_end``: a following file may continue them.
        """
        live = self.live.rows()
        live["live_end"][:] = True
        table = concat([*self.done, live])
        self.done, self.live = [], LiveTable(self.timeout_ns)
        return table
