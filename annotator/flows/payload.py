"""First payload bytes of each flow, for the evidence stage.

The evidence stage recognises protocols from the start of a conversation (a
TLS ClientHello with its SNI, an HTTP request line, an SSH banner), so each
flow keeps the concatenation of its first payload segments in each direction,
in capture order, up to a limit.

Only packets of flows that still need bytes are touched, and the selection is
vectorized: a segmented running sum of payload lengths says how many bytes of
each packet still fit.  The kept pieces -- a flow's first few segments, so
their number is bounded by the flows, not the packets -- are gathered either
with one fancy index over the batch buffer (short pieces) or joined as buffer
slices (long pieces, where a per-byte index costs far more), then cut
into one ``bytes`` object per flow piece.

TCP is taken in capture order: retransmitted or reordered segments are not
reassembled, so a retransmission early in a connection repeats bytes.  That is
rare in the first few kilobytes and harmless for fingerprints that look at the
first message.
"""

from __future__ import annotations

import numpy as np

#: Average piece length above which pieces are joined as slices, not indexed.
SLICE_MIN_AVERAGE = 64


def collect_payload(
    data: np.ndarray,
    payload_off: np.ndarray,
    payload_len: np.ndarray,
    forward: np.ndarray,
    seg_start: np.ndarray,
    count: np.ndarray,
    need: tuple[np.ndarray, np.ndarray],
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Gather the first payload bytes of each segment, in each direction.

    Packets are grouped into consecutive segments starting at ``seg_start``
    (``count`` packets each); ``forward`` tells the direction of each packet
    and ``need`` how many more bytes each segment may take going forward and
    backward.  Returns, per direction, an object array of ``bytes`` (one per
    segment) and their lengths.
    """
    nseg = len(seg_start)
    result = []
    wants = (need[0] > 0) | (need[1] > 0)
    cand: np.ndarray | list[int] = (
        np.flatnonzero(np.repeat(wants, count) & (payload_len > 0)) if wants.any() else []
    )
    for side in (0, 1):
        out = np.full(nseg, b"", dtype=object)
        length = np.zeros(nseg, dtype=np.int32)
        result.append((out, length))
        if len(cand) == 0:
            continue
        sel = cand[forward[cand] == (side == 0)]
        seg = np.searchsorted(seg_start, sel, side="right") - 1
        lens = payload_len[sel].astype(np.int64)
        first = np.ones(len(sel), dtype=bool)
        first[1:] = seg[1:] != seg[:-1]
        before = np.cumsum(lens) - lens
        group = np.cumsum(first) - 1
        before -= before[first][group]
        take = np.clip(need[side][seg] - before, 0, lens)
        keep = take > 0
        offs = payload_off[sel][keep]
        take, seg = take[keep], seg[keep]
        # An offset beyond the buffer would be a decoder bug; never crash on it.
        fits = (offs >= 0) & (offs + take <= len(data))
        if not fits.all():
            offs, take, seg = offs[fits], take[fits], seg[fits]
        if len(take) == 0:
            continue
        buf = _gather(data, offs, take)
        starts = np.cumsum(take) - take
        first = np.ones(len(seg), dtype=bool)
        first[1:] = seg[1:] != seg[:-1]
        bstart = np.flatnonzero(first)
        blen = np.add.reduceat(take, bstart)
        owner = seg[bstart]
        length[owner] = blen
        for o, p, n in zip(owner.tolist(), starts[bstart].tolist(), blen.tolist(), strict=True):
            out[o] = buf[p : p + n]
    return result


def _gather(data: np.ndarray, offs: np.ndarray, lens: np.ndarray) -> bytes:
    """The byte ranges ``data[offs[i] : offs[i] + lens[i]]`` laid end to end.

    Two equivalent ways, chosen by cost: short pieces are gathered with one
    fancy index (cost per byte), long ones joined as buffer slices (cost per
    piece, far less than per byte for full-sized segments).
    """
    if len(lens) * SLICE_MIN_AVERAGE < int(lens.sum()):
        view = memoryview(data.data)
        pieces = zip(offs.tolist(), lens.tolist(), strict=True)
        return b"".join([view[o : o + n] for o, n in pieces])
    return data[_gather_index(offs, lens)].tobytes()


def _gather_index(offs: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Indices ``offs[0] .. offs[0]+lens[0]-1, offs[1] ..``: the ranges laid end to end."""
    total = int(lens.sum())
    step = np.ones(total, dtype=np.int64)
    starts = np.cumsum(lens) - lens
    step[0] = offs[0]
    step[starts[1:]] = offs[1:] - (offs[:-1] + lens[:-1] - 1)
    return np.cumsum(step)
