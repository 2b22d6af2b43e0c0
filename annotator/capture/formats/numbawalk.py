"""The record walk compiled with numba: the fast path when the C walk was not built.

Same walk, same signature and same results as :mod:`.pywalk` (see there for the
contract and the ``ST_*`` status codes) and as the C extension ``_cwalk``,
compiled to machine code instead of interpreted record by record.  numba does
not check array bounds, so every length read from the file is checked against
``end`` (and ``end`` against the buffer) before a byte it implies is touched.

The reader prefers the C walk, which is as fast and costs nothing to load;
numba costs each process memory and time to start (:mod:`.engines`).  This module
serves installs without a C compiler (with the ``fast`` extra): it imports
numba at import time, and the reader imports it lazily, only for captures
large enough to repay that start-up, falling back to :mod:`.pywalk` when numba
is not installed.  ``cache=True`` keeps the compiled code on disk next to this
file, so the compile cost is paid once per install.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from annotator.capture.formats.pywalk import (
    BT_EPB,
    BT_IDB,
    BT_OPB,
    BT_SHB,
    BT_SPB,
    ST_BAD_LENGTH,
    ST_BODY,
    ST_CONTROL,
    ST_END,
    ST_FULL,
    ST_INTERFACE,
    ST_NEED,
    ST_TOO_BIG,
    ST_TRAILER,
)


@njit(cache=True, inline="always")
def _u32(buf: np.ndarray, p: int, big: bool) -> np.int64:
    b0 = np.int64(buf[p])
    b1 = np.int64(buf[p + 1])
    b2 = np.int64(buf[p + 2])
    b3 = np.int64(buf[p + 3])
    if big:
        return (b0 << 24) | (b1 << 16) | (b2 << 8) | b3
    return (b3 << 24) | (b2 << 16) | (b1 << 8) | b0


@njit(cache=True, inline="always")
def _u16(buf: np.ndarray, p: int, big: bool) -> np.int64:
    b0 = np.int64(buf[p])
    b1 = np.int64(buf[p + 1])
    if big:
        return (b0 << 8) | b1
    return (b1 << 8) | b0


@njit(cache=True)
def walk_pcap(buf, pos, end, big, hdr_len, max_cap, off, cap, wire, sec, frac, n, max_n):
    """Compiled twin of :func:`.pywalk.walk_pcap`."""
    end = min(end, buf.shape[0])
    while n < max_n:
        if end - pos < hdr_len:
            return n, pos, ST_END, hdr_len
        c = _u32(buf, pos + 8, big)
        if c > max_cap:
            return n, pos, ST_TOO_BIG, c
        if end - pos - hdr_len < c:
            return n, pos, ST_NEED, hdr_len + c
        sec[n] = _u32(buf, pos, big)
        frac[n] = _u32(buf, pos + 4, big)
        wire[n] = _u32(buf, pos + 12, big)
        cap[n] = c
        off[n] = pos + hdr_len
        n += 1
        pos += hdr_len + c
    return n, pos, ST_FULL, 0


@njit(cache=True)
def walk_pcapng(
    buf,
    pos,
    end,
    big,
    n_if,
    snap0,
    max_block,
    off,
    cap,
    wire,
    iface,
    ts_hi,
    ts_lo,
    has_ts,
    n,
    max_n,
):
    """Compiled twin of :func:`.pywalk.walk_pcapng`."""
    end = min(end, buf.shape[0])
    while n < max_n:
        if end - pos < 8:
            return n, pos, ST_END, 8
        btype = _u32(buf, pos, big)
        if btype == BT_SHB:
            return n, pos, ST_CONTROL, 0
        blen = _u32(buf, pos + 4, big)
        if blen < 12 or blen % 4 != 0:
            return n, pos, ST_BAD_LENGTH, blen
        if blen > max_block:
            return n, pos, ST_TOO_BIG, blen
        if end - pos < blen:
            return n, pos, ST_NEED, blen
        trailer = _u32(buf, pos + blen - 4, big)
        if trailer != blen:
            return n, pos, ST_TRAILER, trailer
        if btype == BT_IDB:
            return n, pos, ST_CONTROL, 0
        if btype in (BT_EPB, BT_OPB):
            if blen < 32:
                return n, pos, ST_BODY, 0
            i = _u32(buf, pos + 8, big) if btype == BT_EPB else _u16(buf, pos + 8, big)
            c = _u32(buf, pos + 20, big)
            if c > blen - 32:
                return n, pos, ST_BODY, c
            if i >= n_if:
                return n, pos, ST_INTERFACE, i
            off[n] = pos + 28
            cap[n] = c
            wire[n] = _u32(buf, pos + 24, big)
            iface[n] = i
            ts_hi[n] = _u32(buf, pos + 12, big)
            ts_lo[n] = _u32(buf, pos + 16, big)
            has_ts[n] = 1
            n += 1
        elif btype == BT_SPB:
            if blen < 16:
                return n, pos, ST_BODY, 0
            if n_if < 1:
                return n, pos, ST_INTERFACE, 0
            w = _u32(buf, pos + 8, big)
            c = min(w, blen - 16)
            if snap0 > 0:
                c = min(c, snap0)
            off[n] = pos + 12
            cap[n] = c
            wire[n] = w
            iface[n] = 0
            ts_hi[n] = 0
            ts_lo[n] = 0
            has_ts[n] = 0
            n += 1
        pos += blen
    return n, pos, ST_FULL, 0
