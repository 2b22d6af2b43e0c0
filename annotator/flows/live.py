"""The table of live flows: slot arrays plus a sorted hash index.

Live flows stay in place in capacity-grown column arrays (one slot per flow),
so continuing a flow is an in-place vectorized update and a batch never
copies the whole table.  A small index -- key hashes sorted, with their slots
-- finds a batch's keys with one ``searchsorted``; finished flows are taken
out (their slots reused) and new ones inserted, touching only the index and
the rows that change.

Idle expiry is checked against a lower bound on the earliest moment any live
flow can expire (its last timestamp plus its transport's timeout): while the
clock has not passed it, no live flow is scanned, so a batch costs nothing
per live flow there.  The bound stays valid as flows continue (their last
timestamp only grows) and is lowered as flows are inserted.
"""

from __future__ import annotations

import numpy as np

from annotator.flows.flowcols import OBJECT_COLUMNS, Flows, concat, empty_flows, take
from annotator.flows.keys import find_keys

_KEY_COLUMNS = ("a_hi", "a_lo", "b_hi", "b_lo", "small")
_NEVER = np.iinfo(np.int64).max


class LiveTable:
    """Live flows in canonical orientation, addressable by slot."""

    def __init__(self, timeout_ns: np.ndarray | None = None) -> None:
        """``timeout_ns``: idle timeout per IP protocol number (256 entries), for :meth:`idle`."""
        self.cols: Flows = empty_flows(0)
        self.free = np.zeros(0, dtype=np.intp)
        self.index_h = np.zeros(0, dtype=np.uint64)
        self.index_slot = np.zeros(0, dtype=np.intp)
        self.timeout_ns = timeout_ns
        self.due = _NEVER  # no live flow can expire at or before this clock

    def _timeouts(self) -> np.ndarray:
        """The idle timeout per IP protocol number; idle tracking needs them."""
        if self.timeout_ns is None:
            raise ValueError("LiveFlows was made without idle timeouts (timeout_ns)")
        return self.timeout_ns

    def _deadlines(self, last_ts: np.ndarray, small: np.ndarray) -> np.ndarray:
        """Last timestamp plus the transport's timeout, saturating at the int64 maximum."""
        tmo = self._timeouts()[(small >> np.uint64(48)).astype(np.uint8)]
        return np.where(last_ts > _NEVER - tmo, _NEVER, last_ts + tmo)

    def __len__(self) -> int:
        return len(self.index_h)

    def lookup(self, h: np.ndarray, key: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Slots of the live flows with these hashes and keys, and which exist."""
        index_slot, cols = self.index_slot, self.cols

        def keys_at(positions: np.ndarray) -> tuple[np.ndarray, ...]:
            slots = index_slot[positions]
            return tuple(cols[c][slots] for c in _KEY_COLUMNS)

        at, found = find_keys(self.index_h, keys_at, h, key)
        slot = index_slot[at] if len(index_slot) else np.zeros(len(h), dtype=np.intp)
        return slot, found

    def remove(self, slots: np.ndarray) -> Flows | None:
        """Take flows out of the table (returned as rows) and free their slots."""
        if len(slots) == 0:
            return None
        rows = take(self.cols, slots)
        for c in OBJECT_COLUMNS:
            self.cols[c][slots] = b""
        gone = np.zeros(len(self.cols["h"]), dtype=bool)
        gone[slots] = True
        keep = ~gone[self.index_slot]
        self.index_h, self.index_slot = self.index_h[keep], self.index_slot[keep]
        self.free = np.concatenate([self.free, slots])
        return rows

    def insert(self, rows: Flows) -> np.ndarray:
        """Add new live flows; return their slots."""
        k = len(rows["h"])
        if k == 0:
            return np.zeros(0, dtype=np.intp)
        if len(self.free) < k:
            size = len(self.cols["h"])
            extra = max(k - len(self.free), size, 1024)
            self.cols = concat([self.cols, empty_flows(extra)])
            self.free = np.concatenate([self.free, np.arange(size, size + extra)])
        slots, self.free = self.free[:k], self.free[k:]
        for c, values in rows.items():
            self.cols[c][slots] = values
        order = np.argsort(rows["h"])
        h = rows["h"][order]
        at = np.searchsorted(self.index_h, h)
        self.index_h = np.insert(self.index_h, at, h)
        self.index_slot = np.insert(self.index_slot, at, slots[order])
        if self.timeout_ns is not None:
            self.due = min(self.due, int(self._deadlines(rows["last_ts"], rows["small"]).min()))
        return slots

    def idle(self, now: int) -> np.ndarray:
        """Slots of the flows silent for longer than their transport's timeout.

        Scans the live flows only when ``now`` has passed :attr:`due`; the
        result is the same as scanning every time.
        """
        if now <= self.due or len(self.index_slot) == 0:
            return np.zeros(0, dtype=np.intp)
        slots = self.index_slot
        last_ts, small = self.cols["last_ts"][slots], self.cols["small"][slots]
        proto = (small >> np.uint64(48)).astype(np.uint8)
        gone = (now - last_ts) > self._timeouts()[proto]
        stay = ~gone
        self.due = int(self._deadlines(last_ts[stay], small[stay]).min()) if stay.any() else _NEVER
        return slots[gone]

    def rows(self) -> Flows:
        """Every live flow, as rows."""
        return take(self.cols, self.index_slot)
