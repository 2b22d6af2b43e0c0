"""Working state of one batch while it is decoded, and the byte readers.

The decoder never makes a Python object per packet.  Each stage works on an
array of packet indices (``idx``) together with per-packet arrays held here:
``pos`` (where the next header starts, relative to the record), ``end`` (one
past the last byte that belongs to the current layer, bounded by the captured
length) and ``net`` (the network-layer code, see :mod:`.nettypes`).

A stage first checks that the bytes it needs are captured (:meth:`Packets.need`
retires the others as undecodable with a reason) and only then reads fields
with fancy indexing, so nothing is ever read outside a record.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..columns import COLUMN_DTYPES, KIND_UNDECODABLE, RecordBatch
from .labels import Vocabulary

#: ``kind`` of a packet no stage has finished yet.
PENDING = 255


def u8(data: np.ndarray, at: np.ndarray) -> np.ndarray:
    """One byte at each absolute offset, as int64."""
    return data[at].astype(np.int64)


def u16(data: np.ndarray, at: np.ndarray) -> np.ndarray:
    """A big-endian 16-bit field at each absolute offset, as int64."""
    return (data[at].astype(np.int64) << 8) | data[at + 1]


def u32(data: np.ndarray, at: np.ndarray) -> np.ndarray:
    """A big-endian 32-bit field at each absolute offset, as int64."""
    return (u16(data, at) << 16) | u16(data, at + 2)


def masked(reader: Callable, data: np.ndarray, at: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """``reader`` at ``at`` where ``ok``, 0 elsewhere (nothing read out of bounds)."""
    values = reader(data, np.where(ok, at, 0))
    values[~ok] = 0
    return values


def big_endian_view(data: np.ndarray, width: int) -> np.ndarray:
    """``data`` seen as overlapping big-endian integers of ``width`` bytes, one per byte offset.

    ``view[at]`` reads the ``width``-byte field at each offset in a single
    gather, much faster than gathering the bytes one by one and combining them.
    """
    dtype = np.dtype(f">u{width}")
    return np.ndarray((data.size - width + 1,), dtype=dtype, buffer=data, strides=(1,))


class Packets:
    """Per-packet arrays of the batch being decoded plus the output columns."""

    def __init__(self, batch: RecordBatch, vocab: Vocabulary) -> None:
        n = len(batch)
        data = np.ascontiguousarray(batch.data, dtype=np.uint8).reshape(-1)
        if data.size < 8:  # masked reads index byte 0 (and a few after it)
            data = np.concatenate([data, np.zeros(8, dtype=np.uint8)])
        base = np.asarray(batch.offset, dtype=np.int64)
        cap = np.asarray(batch.cap_len, dtype=np.int64)
        # A record that claims bytes beyond the buffer is cut to what exists.
        inside = base >= 0
        base = np.where(inside, base, 0)
        room = np.maximum(np.int64(batch.data.size) - base, 0)
        cap = np.where(inside, np.minimum(cap, room), 0)

        self.n = n
        self.data = data
        self.be32 = big_endian_view(data, 4)  # IPv4 addresses
        self.be64 = big_endian_view(data, 8)  # IPv6 address halves
        self.base = base
        self.cap = cap
        self.vocab = vocab
        self.link_type = np.asarray(batch.link_type, dtype=np.int64)
        self.pos = np.zeros(n, dtype=np.int64)
        self.end = cap.copy()
        self.net = np.zeros(n, dtype=np.int64)
        # IP-level state: next header, fragment role (0 none, 1 first, 2 later), id, key protocol
        self.nh = np.zeros(n, dtype=np.int64)
        self.frag = np.zeros(n, dtype=np.int8)
        self.frag_id = np.zeros(n, dtype=np.int64)
        self.frag_nh = np.zeros(n, dtype=np.int64)

        cols = {name: np.zeros(n, dtype=dt) for name, dt in COLUMN_DTYPES.items()}
        cols["frame"][:] = batch.frame
        cols["ts_ns"][:] = batch.ts_ns
        cols["wire_len"][:] = batch.wire_len
        cols["cap_len"][:] = batch.cap_len
        cols["kind"][:] = PENDING
        cols["vlan"][:] = -1
        cols["payload_off"][:] = base
        self.cols = cols

    def at(self, idx: np.ndarray, delta: int = 0) -> np.ndarray:
        """Absolute offsets of the current header (plus ``delta``) of packets ``idx``."""
        return self.base[idx] + self.pos[idx] + delta

    def finish(self, idx: np.ndarray, kind: int, name: str) -> None:
        """Retire packets ``idx`` as ``kind`` with one label."""
        if len(idx):
            self.cols["kind"][idx] = kind
            self.cols["label"][idx] = self.vocab.intern(name)

    def finish_by(
        self, idx: np.ndarray, kind: int, codes: np.ndarray, namer: Callable[[int], str]
    ) -> None:
        """Retire packets ``idx`` as ``kind``, labelled by ``namer`` of each packet's code.

        ``namer`` runs once per distinct code, not once per packet.
        """
        if not len(idx):
            return
        distinct, inverse = np.unique(codes, return_inverse=True)
        table = np.array([self.vocab.intern(namer(int(c))) for c in distinct], dtype=np.uint16)
        self.cols["kind"][idx] = kind
        self.cols["label"][idx] = table[inverse]

    def need(self, idx: np.ndarray, size: int | np.ndarray, reason: str) -> np.ndarray:
        """The packets of ``idx`` with ``size`` bytes at ``pos`` before ``end``.

        The others are retired as undecodable with ``reason``.
        """
        ok = self.pos[idx] + size <= self.end[idx]
        if ok.all():
            return idx
        self.finish(idx[~ok], KIND_UNDECODABLE, reason)
        return idx[ok]

    def split(self, idx: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``idx`` where ``mask`` holds and where it does not."""
        if mask.all():
            return idx, idx[:0]
        if not mask.any():
            return idx[:0], idx
        return idx[mask], idx[~mask]
