"""The table of live flows: slot arrays plus a sorted hash index.

Live flows stay in place in capacity-grown column arrays (one slot per flow),
so continuing a flow is an in-place vectorized update and a batch never
copies the whole table.  A small index -- key hashes sorted, with their slots
-- finds a batch's keys with one ``searchsorted``; finished flows are taken
out (their slots reused) and new ones inserted, touching only the index and
the rows that change.
"""

from __future__ import annotations

import numpy as np

from annotator.flows.flowcols import OBJECT_COLUMNS, Flows, concat, empty_flows, take
from annotator.flows.keys import same_key

_KEY_COLUMNS = ("a_hi", "a_lo", "b_hi", "b_lo", "small")


class LiveTable:
    """Live flows in canonical orientation, addressable by slot."""

    def __init__(self) -> None:
        self.cols: Flows = empty_flows(0)
        self.free = np.zeros(0, dtype=np.intp)
        self.index_h = np.zeros(0, dtype=np.uint64)
        self.index_slot = np.zeros(0, dtype=np.intp)

    def __len__(self) -> int:
        return len(self.index_h)

    def lookup(self, h: np.ndarray, key: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Slots of the live flows with these hashes and keys, and which exist."""
        n = len(self.index_h)
        if n == 0:
            return np.zeros(len(h), dtype=np.intp), np.zeros(len(h), dtype=bool)
        slot = self.index_slot[np.minimum(np.searchsorted(self.index_h, h), n - 1)]
        found = same_key(tuple(self.cols[c][slot] for c in _KEY_COLUMNS), key)
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

    def insert(self, rows: Flows) -> None:
        """Add new live flows."""
        k = len(rows["h"])
        if k == 0:
            return
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

    def idle(self, now: int, timeout_ns: np.ndarray) -> np.ndarray:
        """Slots of the flows silent for longer than their transport's timeout."""
        slots = self.index_slot
        proto = (self.cols["small"][slots] >> np.uint64(48)).astype(np.uint8)
        return slots[(now - self.cols["last_ts"][slots]) > timeout_ns[proto]]

    def rows(self) -> Flows:
        """Every live flow, as rows."""
        return take(self.cols, self.index_slot)
