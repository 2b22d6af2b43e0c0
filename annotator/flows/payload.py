"""First payload bytes of each flow, for the evidence stage.

The evidence stage recognises protocols from the start of a conversation (a
TLS ClientHello with its SNI, an HTTP request line, an SSH banner), so each
flow keeps the concatenation of its first payload segments in each direction,
in capture order, up to a limit.

Only packets of flows that still need bytes are touched, and the selection is
vectorized: a segmented running sum of payload lengths says how many bytes of
each packet still fit.  The bytes are gathered with one fancy index into the
batch buffer and cut into one ``bytes`` object per flow piece -- a Python step
per flow, never per packet.

TCP is taken in capture order: retransmitted or reordered segments are not
reassembled, so a retransmission early in a connection repeats bytes.  That is
rare in the first few kilobytes and harmless for fingerprints that look at the
first message.
"""

from __future__ import annotations

import numpy as np


def collect_payload(
    data: np.ndarray,
    payload_off: np.ndarray,
    payload_len: np.ndarray,
    direction: np.ndarray,
    seg_start: np.ndarray,
    need: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Gather the first payload bytes of each segment in one direction.

    Packets are grouped into consecutive segments starting at ``seg_start``;
    ``direction`` selects the packets of the wanted direction and ``need`` is
    how many more bytes each segment may take.  Returns an object array of
    ``bytes`` (one per segment) and their lengths.
    """
    nseg = len(seg_start)
    out = np.full(nseg, b"", dtype=object)
    length = np.zeros(nseg, dtype=np.int32)
    if nseg == 0 or not need.any():
        return out, length
    n = len(payload_len)
    lens = np.where(direction, payload_len, 0).astype(np.int64)
    np.maximum(lens, 0, out=lens)
    seg_of = np.zeros(n, dtype=np.int64)
    seg_of[seg_start[1:]] = 1
    seg_of = np.cumsum(seg_of)
    before = np.cumsum(lens) - lens
    before -= before[seg_start][seg_of]
    take = np.clip(need[seg_of] - before, 0, lens)
    sel = np.flatnonzero(take > 0)
    if len(sel) == 0:
        return out, length
    takes = take[sel]
    offs = payload_off[sel]
    # Guard against offsets beyond the buffer (a decoder bug must not crash us).
    fits = (offs >= 0) & (offs + takes <= len(data))
    if not fits.all():
        sel, takes, offs = sel[fits], takes[fits], offs[fits]
        if len(sel) == 0:
            return out, length
    starts = np.cumsum(takes) - takes
    idx = np.repeat(offs - starts, takes) + np.arange(int(takes.sum()))
    buf = data[idx].tobytes()
    sseg = seg_of[sel]
    first = np.ones(len(sseg), dtype=bool)
    first[1:] = sseg[1:] != sseg[:-1]
    bstart = np.flatnonzero(first)
    blen = np.add.reduceat(takes, bstart)
    owner = sseg[bstart]
    length[owner] = blen
    pos = starts[bstart]
    for o, p, ln in zip(owner.tolist(), pos.tolist(), blen.tolist(), strict=True):
        out[o] = buf[p : p + ln]
    return out, length
