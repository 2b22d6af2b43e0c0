"""Merging the flows of capture files read apart, as if they were read as one.

A rotated capture set (``tcpdump -C``/``-G``, ring buffers) is one capture cut
into files, so a conversation may cross a file boundary.  Files are read
independently -- in one process, in several (``jobs``), or on Dask workers --
each into a :class:`FilePart`, and the parts are merged here with the same
flow rules a single read applies, not by summing counts:

* files are taken in order of their first packet's timestamp;
* a key's first flow in a file (its ``head``) continues the flow of the same
  key still live at the end of the files before (the *carry*), unless the gap
  between them is longer than the transport's idle timeout, or the carry had
  ended with FIN or RST and the head opens with a SYN;
* a reader that cannot see the previous file assumes, for each key's first
  flow, that its predecessor ended: a first SYN after some packets starts a
  piece of its own (``rejoin``).  When the predecessor had not ended -- or
  there was none to continue -- the piece is joined back to its head, which is
  what reading the files as one stream does;
* client and server are decided on the merged flows, and their payload
  (first bytes each way) is the concatenation of the pieces' bytes.

Everything is vectorized per file; only flows that actually merge have their
payload bytes concatenated one by one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from annotator.capture.decode.fragments import FragmentTable, fragment_keys, within_window
from annotator.flows.flowcols import OBJECT_COLUMNS, Flows, concat, empty_flows, take
from annotator.flows.keys import canonical_keys, find_keys, hash_key
from annotator.result import CaptureInfo, Partial

_KEY = ("a_hi", "a_lo", "b_hi", "b_lo", "small")
_SUMS = ("pk_ab", "pk_ba", "by_ab", "by_ba", "pay_len_ab", "pay_len_ba")


@dataclass
class FilePart:
    """What reading one capture file yields, ready to merge (and to pickle).

    ``flows`` are the file's flow records in canonical orientation (see
    :mod:`annotator.flows.flowcols`); ``evidence`` the fingerprint results
    their ``ev`` column indexes; ``first_ts`` the first packet's timestamp in
    nanoseconds (None for a file without packets), which orders the files.
    """

    name: str
    info: CaptureInfo
    flows: Flows
    evidence: list[Any]
    first_ts: int | None
    partial: Partial | None = None
    counts: Counter = field(default_factory=Counter)  # packets_total, in_flows, other, ...
    other: Counter = field(default_factory=Counter)
    other_bytes: Counter = field(default_factory=Counter)
    undecodable: Counter = field(default_factory=Counter)
    seconds: float = 0.0  # time spent reading the file
    # Later IP fragments whose first fragment was not in this file (boundary
    # mode), and the first fragments remembered at its end (see _attribute).
    orphans: dict[str, np.ndarray] | None = None
    fragments: list = field(default_factory=list)
    # Later fragments still waiting for a first fragment when the file ended
    # (orphan columns), and each key's first first fragment in the file's
    # first batch: they meet across a boundary as in one read (see
    # _attribute_trailing).
    trailing: dict[str, np.ndarray] | None = None
    leading: dict = field(default_factory=dict)


def order_parts(parts: list[FilePart]) -> list[FilePart]:
    """Parts in order of their first timestamp (files without packets last, as given)."""
    never = np.iinfo(np.int64).max
    return sorted(parts, key=lambda p: never if p.first_ts is None else p.first_ts)


class _Carry:
    """The last flow of each key still live after the files merged so far."""

    def __init__(self) -> None:
        self.h = np.zeros(0, dtype=np.uint64)
        self.key = tuple(np.zeros(0, dtype=np.uint64) for _ in _KEY)
        self.root = np.zeros(0, dtype=np.int64)  # row the merged flow is gathered into
        self.last_pkt_ts = np.zeros(0, dtype=np.int64)
        self.ended = np.zeros(0, dtype=bool)

    @classmethod
    def of(cls, cols: Flows, m: int) -> _Carry:
        """The carry made of rows ``0 .. m-1`` of ``cols`` (one live flow per key)."""
        carry = cls()
        if m:
            order = np.argsort(cols["h"][:m], kind="stable")
            carry.h = cols["h"][:m][order]
            carry.key = tuple(cols[c][:m][order] for c in _KEY)
            carry.root = order.astype(np.int64)
            carry.last_pkt_ts = cols["last_pkt_ts"][:m][order]
            carry.ended = cols["ended"][:m][order]
        return carry

    def lookup(self, h: np.ndarray, key: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Carry positions of these hashes and keys, and which are carried."""
        return find_keys(self.h, lambda p: tuple(k[p] for k in self.key), h, key)


Finalizer = Callable[[Flows, list[Any]], None]


class SetMerger:
    """Merges the parts of a capture set one by one, in file order.

    After each part, the flows that can no longer continue into a later file
    (every flow but the last, still live, one of each key) are *final*: with
    a ``finalize`` callback they are handed over at once -- to fingerprint
    what is left and drop their payload bytes -- so a long set holds the
    payload of its open flows only, not of every file's first flows.
    """

    def __init__(self, timeout_ns: np.ndarray, finalize: Finalizer | None = None) -> None:
        self.timeout_ns = timeout_ns
        self.finalize = finalize
        self.evidence: list[Any] = []
        self.final: list[Flows] = []
        self.open: Flows | None = None  # flows still live at the end of the files so far
        self.fragments = FragmentTable()  # first fragments at the end of the files so far
        self.files = 0
        # The previous part and its trailing later fragments not yet counted.
        self._pending: tuple[FilePart, dict[str, np.ndarray]] | None = None

    def add(self, part: FilePart) -> None:
        """Merge the next part (parts must come in file order); its flows are consumed."""
        flows = dict(part.flows)
        # The part may come from another process, whose flow hash has its own
        # secret (see annotator.flows.keys.hash_key): hash its keys here.
        flows["h"] = hash_key(*(flows[c] for c in _KEY))
        n_new = len(flows["h"])
        flows["file"] = np.full(n_new, self.files, dtype=np.int32)
        ev = flows["ev"]
        flows["ev"] = np.where(ev >= 0, ev + len(self.evidence), -1).astype(np.int32)
        self.evidence.extend(part.evidence)
        part.flows, part.evidence = {}, []  # the merger owns them now
        this_file = self.files
        self.files += 1
        carried = self.open if self.open is not None else empty_flows()
        m = len(carried["h"])
        cols = concat([carried, flows]) if m else flows
        carry = _Carry.of(cols, m)
        trailing = part.trailing
        if len(self.fragments) and m:
            if part.orphans is not None:
                _attribute(part, part.orphans, self.fragments, cols, carry)
            if trailing is not None:  # a first fragment before them wins
                counted = _attribute(part, trailing, self.fragments, cols, carry)
                trailing = {c: v[~counted] for c, v in trailing.items()}
        if self._pending is not None and part.leading:
            prev, orphans = self._pending
            _attribute_trailing(prev, orphans, this_file - 1, part.leading, cols,
                                np.arange(m, len(cols["h"])))  # fmt: skip
        waiting = trailing is not None and len(trailing["ts_ns"]) > 0
        self._pending = (part, trailing) if trailing is not None and waiting else None
        target = np.arange(len(cols["h"]), dtype=np.int64)
        met = _merge_file(cols, np.arange(m, len(cols["h"])), target, carry, self.timeout_ns)
        # A carried flow whose key was met in this file can no longer go on:
        # it was joined (its group ends with this file's pieces) or left behind.
        cols["live_end"][met] = False
        merged = _gather(cols, target)
        still = merged["live_end"]
        done = take(merged, ~still)
        if self.finalize is not None:
            self.finalize(done, self.evidence)
        self.final.append(done)
        self.open = take(merged, still)
        if self.finalize is not None:
            # An open flow with a result was fingerprinted while live, so its
            # bytes were complete: any later join keeps that result (see
            # _gather), and the bytes can go now.
            kept = self.open["ev"] >= 0
            for column in (*OBJECT_COLUMNS, "head", "rejoin"):
                self.open[column][kept] = b"" if column in OBJECT_COLUMNS else False
        self.fragments.absorb(part.fragments)
        if part.fragments:
            # The clock: the median time of this file's remembered first
            # fragments, so one corrupt timestamp cannot empty the table
            # (as in the decoder).
            self.fragments.expire(int(np.median([value[3] for _, value in part.fragments])))

    def result(self) -> tuple[Flows, list[Any]]:
        """Every flow of the set, and the evidence list their ``ev`` indexes.

        The merger lets go of its flows (so the caller's table is their only
        copy): call it once, after the last part.
        """
        tail = self.open if self.open is not None else empty_flows()
        final, self.final, self.open = self.final, [], None
        return concat([*final, tail]), self.evidence


def _matched_orphans(
    o: dict[str, np.ndarray], lookup: Callable[[bytes], tuple[int, int, int, int] | None]
) -> tuple[np.ndarray, Any]:
    """The orphan rows whose fragment key ``lookup`` knows within the window, and
    the canonical flow keys they take from those first fragments."""
    keys = fragment_keys(
        *(o[c] for c in ("ip_version", "src_hi", "src_lo", "dst_hi", "dst_lo", "frag_id",
                         "frag_nh")),
    )  # fmt: skip
    stamps = o["ts_ns"].tolist()
    entries = [(i, lookup(k)) for i, k in enumerate(keys)]
    hits = [(i, v) for i, v in entries if v is not None and within_window(stamps[i], v[3])]
    idx = np.array([i for i, _ in hits], dtype=np.intp)
    ports = np.array([v for _, v in hits], dtype=np.int64).reshape(-1, 4)
    k = canonical_keys(
        o["src_hi"][idx], o["src_lo"][idx], o["dst_hi"][idx], o["dst_lo"][idx],
        ports[:, 1].astype(np.uint16), ports[:, 2].astype(np.uint16),
        ports[:, 0].astype(np.uint8), o["vlan"][idx],
    )  # fmt: skip
    return idx, k


def _count_in_flows(part: FilePart, o: dict[str, np.ndarray], i: int) -> None:
    """Move orphan row ``i`` of ``part`` from other traffic to flows in its accounting."""
    label = f"IPv{int(o['ip_version'][i])} fragment, first fragment not seen"
    wire = int(o["wire_len"][i])
    part.other[label] -= 1
    part.other_bytes[label] -= wire
    if part.other[label] <= 0:
        del part.other[label], part.other_bytes[label]
    part.counts["other"] -= 1
    part.counts["in_flows"] += 1


def _add_packet(cols: Flows, row: int, fwd: bool, ts: int, wire: int) -> None:
    """Count one packet without payload or TCP flags in flow ``row``."""
    side = "ab" if fwd else "ba"
    cols[f"pk_{side}"][row] += 1
    cols[f"by_{side}"][row] += wire
    cols["first_ts"][row] = min(cols["first_ts"][row], ts)
    cols["last_ts"][row] = max(cols["last_ts"][row], ts)


def _attribute(
    part: FilePart, o: dict[str, np.ndarray], fragments: FragmentTable, cols: Flows,
    carry: _Carry,
) -> np.ndarray:  # fmt: skip
    """Count a file's orphan fragments in the flows of their first fragments.

    A later fragment at the start of a file whose first fragment ended the
    previous file belongs to that datagram's flow, as it would in a single
    read: its packet and bytes go to the flow still live for that key, and the
    part's accounting moves it from other traffic to flows.  Returns which
    rows of ``o`` were counted.
    """
    counted = np.zeros(len(o["ts_ns"]), dtype=bool)
    idx, k = _matched_orphans(o, fragments.get)
    if not len(idx):
        return counted
    at, found = carry.lookup(k.h, (k.a_hi, k.a_lo, k.b_hi, k.b_lo, k.small))
    for j in np.flatnonzero(found):
        root, i = carry.root[at[j]], idx[j]
        ts = int(o["ts_ns"][i])
        _add_packet(cols, root, bool(k.fwd[j]), ts, int(o["wire_len"][i]))
        carry.last_pkt_ts[at[j]] = max(carry.last_pkt_ts[at[j]], ts)
        cols["last_pkt_ts"][root] = max(cols["last_pkt_ts"][root], ts)
        _count_in_flows(part, o, i)
        counted[i] = True
    return counted


def _attribute_trailing(
    prev: FilePart, o: dict[str, np.ndarray], prev_file: int, leading: dict, cols: Flows,
    rows: np.ndarray,
) -> None:  # fmt: skip
    """Count the later fragments that ended the previous file in the flows of the
    first fragments that open this one (``rows``: this file's flows).

    In one read, a later fragment with no first fragment before it waits one
    batch for one after it, and at a file boundary that batch is the next
    file's first.  The fragment then comes first in the flow of its first
    fragment, which is that key's first flow in this file: the flow now
    starts in the previous file, at the fragment's frame.
    """
    idx, k = _matched_orphans(o, leading.get)
    if not len(idx):
        return
    heads = rows[cols["head"][rows]]
    at, found = _find_heads(cols, heads, k.h, (k.a_hi, k.a_lo, k.b_hi, k.b_lo, k.small))
    started: set[int] = set()
    for j in np.flatnonzero(found).tolist():  # orphans are in capture order
        row, i = int(heads[at[j]]), idx[j]
        ts, fwd = int(o["ts_ns"][i]), bool(k.fwd[j])
        _add_packet(cols, row, fwd, ts, int(o["wire_len"][i]))
        if row not in started:  # the earliest of them is the flow's first packet
            started.add(row)
            cols["file"][row] = prev_file
            cols["first_frame"][row] = int(o["frame"][i])
            cols["first_pkt_ts"][row] = ts
            cols["first_fwd"][row] = fwd
            cols["open_first"][row] = False
        _count_in_flows(prev, o, i)


def _find_heads(
    cols: Flows, heads: np.ndarray, h: np.ndarray, key: tuple[np.ndarray, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``heads`` (rows of one file's first flows) of these hashes
    and keys, and which were found.

    By hash, then full key (:func:`~annotator.flows.keys.find_keys`), not
    through a dict of key tuples: Python hashes integers with a public
    function, so a capture could put all its keys on one dict slot.
    """
    by_h = np.argsort(cols["h"][heads], kind="stable")
    sorted_keys = tuple(cols[c][heads][by_h] for c in _KEY)
    at, found = find_keys(cols["h"][heads][by_h], lambda p: tuple(c[p] for c in sorted_keys),
                          h, key)  # fmt: skip
    return by_h[at], found


def _merge_file(
    cols: Flows, rows: np.ndarray, target: np.ndarray, carry: _Carry, tmo: np.ndarray
) -> np.ndarray:
    """Join one file's head (and rejoin) pieces to the carry (by ``target``).

    Returns the rows of the carried flows whose key the file met.
    """
    heads = rows[cols["head"][rows]]
    hkey = tuple(cols[c][heads] for c in _KEY)
    at, found = carry.lookup(cols["h"][heads], hkey)
    proto = (hkey[4] >> np.uint64(48)).astype(np.uint8)
    if len(carry.h) == 0:
        found[:] = False
        at[:] = 0
        prev_ts, p_ended = np.zeros(len(heads), np.int64), np.zeros(len(heads), bool)
    else:
        prev_ts, p_ended = carry.last_pkt_ts[at], carry.ended[at] & found
    gap = cols["first_pkt_ts"][heads] - prev_ts
    cont = found & (gap <= tmo[proto])
    join_p = cont & ~(p_ended & cols["open_first"][heads])
    target[heads[join_p]] = carry.root[at[join_p]]

    # A rejoin piece goes back to its head unless the head continued a flow
    # that had ended (then its SYN really opened a new flow).
    joins = rows[cols["rejoin"][rows]]
    if len(joins):
        # A rejoin piece (a key whose first packets precede its first SYN)
        # has a head of its key in the same file.
        jh, _ = _find_heads(cols, heads, cols["h"][joins], tuple(cols[c][joins] for c in _KEY))
        back = ~(cont[jh] & p_ended[jh])
        target[joins[back]] = target[heads[jh[back]]]

    # Carried flows whose key this file met: they cannot continue past it.
    return carry.root[at[found]]


def _gather(cols: Flows, target: np.ndarray) -> Flows:
    """Fold rows into their targets (pieces in file and frame order)."""
    if len(target) == 0:
        return cols
    order = np.lexsort((cols["first_frame"], cols["file"], target))
    tgt = target[order]
    start = np.flatnonzero(np.r_[True, tgt[1:] != tgt[:-1]])
    if len(start) == len(order):
        return cols  # nothing merged
    s = take(cols, order)
    size = np.diff(np.r_[start, len(order)])
    last = start + size - 1
    out = take(s, start)  # the first piece carries key, file, first frame, orientation
    for c in _SUMS:
        out[c] = np.add.reduceat(s[c], start)
    out["flags"] = np.bitwise_or.reduceat(s["flags"], start)
    out["first_ts"] = np.minimum.reduceat(s["first_ts"], start)
    out["last_ts"] = np.maximum.reduceat(s["last_ts"], start)
    out["last_pkt_ts"] = s["last_pkt_ts"][last]
    out["evented"] = np.logical_or.reduceat(s["evented"], start)
    out["live_end"] = s["live_end"][last]
    # The handshake decides from the first piece that saw one; "ended" is the
    # state after the last piece with an event.
    pos = np.arange(len(order))
    first_hs = np.minimum.reduceat(np.where(s["hs_dir"] != 0, pos, len(order)), start)
    out["hs_dir"] = np.where(
        first_hs < len(order), s["hs_dir"][np.minimum(first_hs, len(order) - 1)], 0
    )
    last_ev = np.maximum.reduceat(np.where(s["evented"], pos, -1), start)
    out["ended"] = np.where(last_ev >= 0, s["ended"][np.maximum(last_ev, 0)], False)
    # A joined flow is fingerprinted anew from its joined bytes, unless its
    # first piece had complete bytes and gave them up (that result stands).
    first_kept = (out["ev"] >= 0) & ~out["head"] & ~out["rejoin"]
    for m in np.flatnonzero((size > 1) & ~first_kept).tolist():
        a, b = start[m], start[m] + size[m]
        out["ev"][m] = -1
        for c in OBJECT_COLUMNS:
            out[c][m] = b"".join(s[c][a:b])
    return out
