"""Streaming flow aggregation: packet columns into bidirectional flows.

:class:`FlowAggregator` takes one :class:`~annotator.capture.columns.PacketBatch`
at a time and keeps a table of *live* flows across batches
(:class:`~annotator.flows.live.LiveTable`: numpy columns in slots, with a
sorted hash index).  Per batch, everything is vectorized:

1. flow packets get a canonical key (:mod:`annotator.flows.keys`) and are
   sorted by it, stably, so each key's packets stay in capture order;
2. each key group is cut into *segments* where a new flow starts: after an
   idle gap longer than the transport's timeout, or at a TCP SYN (without ACK)
   whose previous SYN/FIN/RST event in the flow was a FIN or RST;
3. segments are reduced with ``ufunc.reduceat`` (packets, bytes, flags, times,
   handshake, first payload bytes);
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

import numpy as np

from annotator.capture.columns import (
    HS_OPEN,
    KIND_FLOW,
    PROTO_DCCP,
    PROTO_SCTP,
    PROTO_TCP,
    PROTO_UDP,
    TCP_FIN,
    TCP_RST,
    PacketBatch,
)
from annotator.errors import UsageError
from annotator.flows.direction import AssignedPorts, decide
from annotator.flows.early import EarlyEvidence, Fingerprinter
from annotator.flows.flowcols import Flows, concat, empty_flows, take
from annotator.flows.keys import canonical_keys, same_key, unpack_small
from annotator.flows.live import LiveTable
from annotator.flows.payload import collect_payload

#: Idle timeouts in seconds, per transport.  Connection-oriented transports
#: (TCP, SCTP, DCCP) get an hour: their flows also end on FIN/RST followed by a
#: new SYN, so the timeout only matters for conversations whose end was not
#: captured, and an hour keeps a quiet SSH or database session in one row.
#: Datagram transports (UDP) get 120 s, NFStream's idle default, between Zeek's
#: 60 s and the 180 s most NAT devices keep a UDP mapping.
DEFAULT_IDLE_TIMEOUT: dict[str, float] = {
    "tcp": 3600.0,
    "udp": 120.0,
    "sctp": 3600.0,
    "dccp": 3600.0,
}

_PROTO_BY_NAME = {"tcp": PROTO_TCP, "udp": PROTO_UDP, "sctp": PROTO_SCTP, "dccp": PROTO_DCCP}

# Event codes of the FIN/RST-then-SYN rule.
_EV_END = 1
_EV_OPEN = 2


def _group_order(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order that groups equal hashes, keeping capture order within a group.

    The packet index is packed into the low bits of the hash and the packed
    words sorted (a plain, SIMD-accelerated sort of one uint64 array, faster
    than a stable argsort); groups are runs of equal high bits.  Returns the
    order and a mask marking the first packet of each group.
    """
    n = len(h)
    bits = np.uint64(max(int(n - 1).bit_length(), 1))
    packed = ((h >> bits) << bits) | np.arange(n, dtype=np.uint64)
    packed.sort()
    order = (packed & ((np.uint64(1) << bits) - np.uint64(1))).astype(np.intp)
    high = packed >> bits
    new_grp = np.ones(n, dtype=bool)
    new_grp[1:] = high[1:] != high[:-1]
    return order, new_grp


def timeout_table(idle_timeout: float | Mapping[str, float] | None) -> np.ndarray:
    """Idle timeout in nanoseconds for each IP protocol number (256 entries).

    ``idle_timeout`` is one number of seconds for every transport, a mapping
    naming some transports (the others keep their default), or None for the
    defaults in :data:`DEFAULT_IDLE_TIMEOUT`.
    """
    chosen = dict(DEFAULT_IDLE_TIMEOUT)
    if isinstance(idle_timeout, Mapping):
        for name, value in idle_timeout.items():
            if name not in chosen:
                raise UsageError(
                    f"idle_timeout: unknown transport {name!r} (use tcp, udp, sctp or dccp)"
                )
            chosen[name] = value
    elif idle_timeout is not None:
        chosen = dict.fromkeys(chosen, idle_timeout)
    ns = {}
    for name, seconds in chosen.items():
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
            raise UsageError(f"idle_timeout for {name} must be a positive number of seconds")
        # Anything beyond ~73 years (infinity included) means "never split".
        ns[name] = int(min(seconds, 2.3e9) * 1e9)
    table = np.full(256, ns["udp"], dtype=np.int64)
    for name, value in ns.items():
        table[_PROTO_BY_NAME[name]] = value
    return table


class FlowAggregator:
    """Accumulates packet batches into flows; see the module docstring.

    ``payload_c2s`` and ``payload_s2c`` are how many first payload bytes are
    kept per flow from the client and from the server.  Until a handshake has
    named the server, both sides of a flow keep up to the larger limit (the
    port rules that decide direction otherwise run at the end); once it has,
    the server side keeps only ``payload_s2c``, which bounds memory per flow.

    ``early_direction=True`` decides client and server of UDP flows (which
    never carry a handshake) as soon as they start, with the same port rules
    and ``registry`` that :func:`annotator.flows.read.finish_flows` applies at
    the end, so their server side keeps only ``payload_s2c`` from the start
    instead of the larger limit: the same payload comes out, with about 1.5 kB
    less held per UDP flow while reading.  Pass the registry that
    ``finish_flows`` will get.
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
        self.now = np.iinfo(np.int64).min
        self.early = EarlyEvidence(fingerprint, registry, self.limits) if fingerprint else None
        self.boundary = boundary
        self.seen_h = np.zeros(0, dtype=np.uint64)  # keys met so far (boundary mode)

    @property
    def evidence(self) -> list:
        """Fingerprint results so far; a flow's ``ev`` column indexes this list."""
        return self.early.results if self.early is not None else []

    def add(self, batch: PacketBatch, file_index: int = 0) -> None:
        """Fold one batch of packets into the flow tables."""
        is_flow = batch["kind"] == KIND_FLOW
        n = int(np.count_nonzero(is_flow))
        if n == 0:
            return
        sel = np.arange(n) if n == len(is_flow) else np.flatnonzero(is_flow)

        def col(name: str) -> np.ndarray:
            return batch[name] if n == len(is_flow) else batch[name][sel]

        k = canonical_keys(
            *(col(c) for c in ("src_hi", "src_lo", "dst_hi", "dst_lo", "sport", "dport")),
            col("proto"),
            col("vlan"),
        )
        order, new_grp = _group_order(k.h)
        key = tuple(x[order] for x in (k.a_hi, k.a_lo, k.b_hi, k.b_lo, k.small))
        tied = ~new_grp[1:]
        mixed = np.zeros(n - 1, dtype=bool)
        for x in key:
            mixed |= x[1:] != x[:-1]
        if (mixed & tied).any():
            # Two conversations share a hash prefix: group this batch exactly.
            order = np.lexsort((k.small, k.b_lo, k.b_hi, k.a_lo, k.a_hi))
            key = tuple(x[order] for x in (k.a_hi, k.a_lo, k.b_hi, k.b_lo, k.small))
            new_grp[1:] = ~same_key(tuple(x[1:] for x in key), tuple(x[:-1] for x in key))
        pk = sel[order]  # batch positions of the flow packets, grouped by key
        self._fold(batch, pk, key, k.h[order], k.fwd[order], new_grp, file_index)

    def _fold(self, batch, pk, key, hs, fwd, new_grp, file_index) -> None:
        n = len(pk)
        pos_n = np.arange(n)
        ts = batch["ts_ns"][pk]
        flags = batch["tcp_flags"][pk]
        hsk = batch["handshake"][pk]
        proto = (key[4] >> np.uint64(48)).astype(np.uint8)
        tmo = self.timeout_ns[proto]
        gstart = np.flatnonzero(new_grp)
        gid = np.cumsum(new_grp) - 1

        # Which key groups continue a live flow.
        live = self.live.cols
        slot, found = self.live.lookup(hs[gstart], tuple(x[gstart] for x in key))
        n_live = len(self.live)
        ngrp = len(gstart)
        first_seen = np.zeros(ngrp, dtype=bool)
        if self.boundary:
            # Boundary mode: a key met for the first time in this file may
            # continue a flow of the previous file, which is not known here.
            gh = hs[gstart]
            seen = self.seen_h
            at = np.minimum(np.searchsorted(seen, gh), max(len(seen) - 1, 0))
            first_seen = ~found & ~((seen[at] == gh) if len(seen) else np.zeros(ngrp, bool))
            self.seen_h = np.union1d(seen, gh[first_seen])

        # Idle-gap splits (in capture order within a key).
        prev_ts = np.empty(n, dtype=np.int64)
        prev_ts[1:] = ts[:-1]
        prev_ts[gstart] = np.where(found, live["last_pkt_ts"][slot] if n_live else 0, ts[gstart])
        gap_split = (ts - prev_ts) > tmo

        # FIN/RST followed by a new SYN: the SYN starts a new flow when the
        # previous FIN/RST/SYN event of the same flow was a FIN or RST.
        is_tcp = proto == PROTO_TCP
        ev = np.zeros(n, dtype=np.int8)
        ev[is_tcp & ((flags & (TCP_FIN | TCP_RST)) != 0)] = _EV_END
        ev[is_tcp & ((hsk & HS_OPEN) != 0)] = _EV_OPEN
        evpos = np.where(ev != 0, pos_n, -1)
        last_ev = np.maximum.accumulate(evpos)
        prev_ev = np.empty(n, dtype=np.int64)
        prev_ev[0] = -1
        prev_ev[1:] = last_ev[:-1]
        gap_start = np.maximum.accumulate(np.where(new_grp | gap_split, pos_n, 0))
        has_prev = prev_ev >= gap_start
        prev_end = has_prev & (ev[np.maximum(prev_ev, 0)] == _EV_END)
        cont_group = found & ~gap_split[gstart]
        live_ended = live["ended"][slot] if n_live else np.zeros(ngrp, dtype=bool)
        # Boundary mode: until its first event, a key's first flow in the file
        # acts as if its unseen predecessor had ended, so a first SYN starts a
        # piece of its own (``rejoin``) that the merge puts back when that
        # predecessor turns out not to have ended (annotator.flows.merge).
        virtual = first_seen.copy()
        if self.boundary and n_live:
            virtual |= cont_group & live["head"][slot] & ~live["evented"][slot]
        inherit = (
            ~has_prev & (gap_start == gstart[gid]) & ((cont_group & live_ended) | virtual)[gid]
        )
        syn_split = (ev == _EV_OPEN) & (prev_end | inherit)
        rejoin = syn_split & ~has_prev & inherit & virtual[gid]
        rejoin &= ~(first_seen[gid] & (pos_n == gstart[gid]))
        split = gap_split | syn_split
        split[gstart] |= ~found

        # Segments: reduce packets into flow pieces.
        segmark = split | new_grp
        seg = np.flatnonzero(segmark)
        nseg = len(seg)
        seg_end = np.empty(nseg, dtype=np.int64)
        seg_end[:-1] = seg[1:]
        seg_end[-1] = n
        seg_gid = gid[seg]
        seg_cont = new_grp[seg] & ~split[seg]
        last_of_grp = np.ones(nseg, dtype=bool)
        last_of_grp[:-1] = seg_gid[1:] != seg_gid[:-1]

        wire = batch["wire_len"][pk].astype(np.int64)
        count = seg_end - seg
        r = empty_flows(nseg)
        r["h"][:] = hs[seg]
        for c, col in zip(("a_hi", "a_lo", "b_hi", "b_lo", "small"), key, strict=True):
            r[c][:] = col[seg]
        r["ip_version"][:] = batch["ip_version"][pk[seg]]
        r["pk_ab"][:] = np.add.reduceat(fwd.astype(np.int64), seg)
        r["pk_ba"][:] = count - r["pk_ab"]
        r["by_ab"][:] = np.add.reduceat(np.where(fwd, wire, 0), seg)
        r["by_ba"][:] = np.add.reduceat(wire, seg) - r["by_ab"]
        r["flags"][:] = np.bitwise_or.reduceat(flags, seg)
        r["first_ts"][:] = np.minimum.reduceat(ts, seg)
        r["last_ts"][:] = np.maximum.reduceat(ts, seg)
        r["last_pkt_ts"][:] = ts[seg_end - 1]
        r["file"][:] = file_index
        r["first_frame"][:] = batch["frame"][pk[seg]]
        r["first_fwd"][:] = fwd[seg]
        first_hs = np.minimum.reduceat(np.where(hsk != 0, pos_n, n), seg)
        has_hs = first_hs < n
        at = np.minimum(first_hs, n - 1)
        a_client = np.where((hsk[at] & HS_OPEN) != 0, fwd[at], ~fwd[at])
        r["hs_dir"][:] = np.where(has_hs, np.where(a_client, 1, 2), 0)
        seg_last_ev = np.maximum.reduceat(evpos, seg)
        seg_has_ev = seg_last_ev >= seg
        r["ended"][:] = seg_has_ev & (ev[np.maximum(seg_last_ev, 0)] == _EV_END)
        r["evented"][:] = seg_has_ev
        r["first_pkt_ts"][:] = ts[seg]
        r["open_first"][:] = ev[seg] == _EV_OPEN
        r["head"][:] = new_grp[seg] & first_seen[seg_gid]
        r["rejoin"][:] = rejoin[seg]

        # First payload bytes, only for flows that still need some.
        cont_slot = slot[seg_gid]
        hs_dir = r["hs_dir"]
        if n_live:
            known = np.where(seg_cont, live["hs_dir"][cont_slot], 0)
            hs_dir = np.where(known != 0, known, hs_dir)
        if self.early_direction:
            hs_dir = self._udp_direction(key, seg, seg_cont, cont_slot, r["first_fwd"], hs_dir)
        if self.boundary:
            # Pieces the merge may join to another file's flow keep the larger
            # limit both ways: their direction is only known after the merge.
            edge = r["head"] | r["rejoin"]
            if n_live:
                edge |= seg_cont & (live["head"][cont_slot] | live["rejoin"][cont_slot])
            hs_dir = np.where(edge, 0, hs_dir)
        c2s, s2c = self.limits
        need = []
        for side, server_dir in (("ab", 2), ("ba", 1)):
            limit = np.where(hs_dir == server_dir, s2c, max(c2s, s2c))
            have = np.where(seg_cont, live[f"pay_len_{side}"][cont_slot], 0) if n_live else 0
            need.append(np.maximum(limit - have, 0))
        got = collect_payload(
            batch.data, batch["payload_off"][pk], batch["payload_len"][pk], fwd, seg, count, need
        )
        for side, (data, length) in zip(("ab", "ba"), got, strict=True):
            r[f"pay_{side}"] = data
            r[f"pay_len_{side}"] = length

        # Continue live flows with the segments that carry on from them.
        cs = np.flatnonzero(seg_cont)
        if len(cs):
            s = cont_slot[cs]
            for c in ("pk_ab", "pk_ba", "by_ab", "by_ba", "pay_len_ab", "pay_len_ba"):
                live[c][s] += r[c][cs]
            live["flags"][s] |= r["flags"][cs]
            live["first_ts"][s] = np.minimum(live["first_ts"][s], r["first_ts"][cs])
            live["last_ts"][s] = np.maximum(live["last_ts"][s], r["last_ts"][cs])
            live["last_pkt_ts"][s] = r["last_pkt_ts"][cs]
            live["hs_dir"][s] = np.where(live["hs_dir"][s] == 0, r["hs_dir"][cs], live["hs_dir"][s])
            live["ended"][s] = np.where(seg_has_ev[cs], r["ended"][cs], live["ended"][s])
            live["evented"][s] |= r["evented"][cs]
            for side in ("ab", "ba"):
                col, add = live[f"pay_{side}"], r[f"pay_{side}"]
                for i in np.flatnonzero(r[f"pay_len_{side}"][cs] > 0):
                    col[s[i]] = col[s[i]] + add[cs[i]]

        # Live flows whose key moved on to a new flow in this batch are done;
        # each key's last new segment becomes live.
        if not last_of_grp.all():
            self._finished(take(r, ~seg_cont & ~last_of_grp))
        retired = self.live.remove(slot[found & ~seg_cont[last_of_grp]])
        if retired is not None:
            self._finished(retired)
        inserted = self.live.insert(take(r, ~seg_cont & last_of_grp))

        # Release flows idle for longer than their timeout.  The clock is the
        # batch's median timestamp, so one corrupt far-future timestamp cannot
        # expire every live flow at once.
        self.now = max(self.now, int(np.median(ts)))
        expired = self.live.remove(self.live.idle(self.now))
        if expired is not None:
            self._finished(expired)
        if self.early is not None:
            touched = np.concatenate([cont_slot[cs], inserted])
            self.early.settle_live(self.live.cols, touched)

    def _finished(self, rows: Flows) -> None:
        """Keep finished flows; with a fingerprinter, their payload turns into evidence."""
        if self.early is not None:
            self.early.settle_finished(rows)
        self.done.append(rows)

    def _udp_direction(self, key, seg, seg_cont, cont_slot, first_fwd, hs_dir) -> np.ndarray:
        """``hs_dir`` with UDP segments' client side filled in by the port rules.

        The final decision (:func:`~annotator.flows.direction.decide`) for a
        UDP flow depends only on its ports and on who sent its first packet
        -- the live flow's, for a segment that continues one -- so it can be
        taken here already, for payload limits only.
        """
        small = key[4][seg]
        udp = np.flatnonzero((small >> np.uint64(48)) == PROTO_UDP)
        if len(udp) == 0:
            return hs_dir
        small = small[udp]
        first = first_fwd[udp]
        if len(self.live):
            cont = seg_cont[udp]
            first = np.where(cont, self.live.cols["first_fwd"][cont_slot[udp]], first)
        proto, a_port, b_port = unpack_small(small)
        no_hs = np.zeros(len(udp), dtype=np.uint8)
        client_is_a, _ = decide(proto, a_port, b_port, no_hs, first, self.registry)
        hs_dir = hs_dir.copy()
        hs_dir[udp] = np.where(client_is_a, 1, 2)
        return hs_dir

    def finish(self) -> Flows:
        """Every flow, finished or still live, in one table (canonical orientation).

        Flows still live are marked ``live_end``: a following file may continue them.
        """
        live = self.live.rows()
        live["live_end"][:] = True
        table = concat([*self.done, live])
        self.done, self.live = [], LiveTable(self.timeout_ns)
        return table
