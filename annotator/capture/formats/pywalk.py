"""The record walk in plain Python: the fallback of the compiled walks.

Walking from one record header to the next is sequential (each header says
where the next one starts), so it cannot be vectorised with numpy.  These
functions do it with :mod:`struct`.  Two compiled twins do the same walk with
the same signature, filling the same output arrays: ``_cwalk`` (C, built at
install time when a compiler is present; the reader's first choice, as it
costs nothing to load) and :mod:`annotator.capture.formats.numbawalk` (numba, for
installs without a compiler).  The test suite checks that all three agree on
every capture it reads.  This one serves machines with neither, and is the
walk the fuzzer instruments.

Both functions walk ``buf[pos:end]`` and append to the output arrays from
index ``n`` up to ``max_n``.  They return ``(n, pos, status, detail)``: the
new record count, the position of the first byte not consumed, why they
stopped (one of the ``ST_*`` codes below) and a number that goes with it.
"""

from __future__ import annotations

import struct

import numpy as np

# Why a walk stopped.
ST_END = 0  # fewer bytes than one header remain; ``detail`` = header size
ST_NEED = 1  # a record/block runs past ``end``; ``detail`` = its total size
ST_FULL = 2  # the output arrays are full
ST_CONTROL = 3  # pcapng: a section header or interface block to parse in Python
ST_TOO_BIG = 4  # a length above the limit; ``detail`` = that length
ST_BAD_LENGTH = 5  # pcapng block length below 12 or not a multiple of 4
ST_TRAILER = 6  # pcapng trailing block length differs; ``detail`` = trailer
ST_BODY = 7  # pcapng packet block too short for what it claims; ``detail`` = caplen
ST_INTERFACE = 8  # pcapng packet names an interface not defined; ``detail`` = id

# pcapng block types the walk knows.
BT_SHB = 0x0A0D0D0A  # section header (same bytes in either byte order)
BT_IDB = 0x00000001  # interface description
BT_OPB = 0x00000002  # obsolete packet block
BT_SPB = 0x00000003  # simple packet block
BT_EPB = 0x00000006  # enhanced packet block


def walk_pcap(
    buf: np.ndarray,
    pos: int,
    end: int,
    big: bool,
    hdr_len: int,
    max_cap: int,
    off: np.ndarray,
    cap: np.ndarray,
    wire: np.ndarray,
    sec: np.ndarray,
    frac: np.ndarray,
    n: int,
    max_n: int,
) -> tuple[int, int, int, int]:
    """Walk pcap record headers (16 bytes, or 24 in the modified format)."""
    unpack = struct.Struct(">IIII" if big else "<IIII").unpack_from
    data = buf.data  # struct reads the array's bytes through this view
    n0 = n
    o_l: list[int] = []
    c_l: list[int] = []
    w_l: list[int] = []
    s_l: list[int] = []
    f_l: list[int] = []
    status, detail = ST_FULL, 0
    while n < max_n:
        if end - pos < hdr_len:
            status, detail = ST_END, hdr_len
            break
        s, f, c, w = unpack(data, pos)
        if c > max_cap:
            status, detail = ST_TOO_BIG, c
            break
        if end - pos - hdr_len < c:
            status, detail = ST_NEED, hdr_len + c
            break
        o_l.append(pos + hdr_len)
        c_l.append(c)
        w_l.append(w)
        s_l.append(s)
        f_l.append(f)
        n += 1
        pos += hdr_len + c
    off[n0:n] = o_l
    cap[n0:n] = c_l
    wire[n0:n] = w_l
    sec[n0:n] = s_l
    frac[n0:n] = f_l
    return n, pos, status, detail


def walk_pcapng(
    buf: np.ndarray,
    pos: int,
    end: int,
    big: bool,
    n_if: int,
    snap0: int,
    max_block: int,
    off: np.ndarray,
    cap: np.ndarray,
    wire: np.ndarray,
    iface: np.ndarray,
    ts_hi: np.ndarray,
    ts_lo: np.ndarray,
    has_ts: np.ndarray,
    n: int,
    max_n: int,
) -> tuple[int, int, int, int]:
    """Walk pcapng blocks, collecting enhanced, simple and obsolete packet blocks.

    Stops at a section header or interface description (``ST_CONTROL``) so the
    caller can parse it; every other block type is skipped.  ``snap0`` is the
    snap length of interface 0 (0 = none), which bounds simple packet blocks.
    """
    u32 = struct.Struct(">I" if big else "<I").unpack_from
    u16 = struct.Struct(">H" if big else "<H").unpack_from
    data = buf.data  # struct reads the array's bytes through this view
    n0 = n
    o_l: list[int] = []
    c_l: list[int] = []
    w_l: list[int] = []
    i_l: list[int] = []
    h_l: list[int] = []
    l_l: list[int] = []
    t_l: list[int] = []
    status, detail = ST_FULL, 0
    while n < max_n:
        if end - pos < 8:
            status, detail = ST_END, 8
            break
        btype = u32(data, pos)[0]
        if btype == BT_SHB:
            status, detail = ST_CONTROL, 0
            break
        blen = u32(data, pos + 4)[0]
        if blen < 12 or blen % 4 != 0:
            status, detail = ST_BAD_LENGTH, blen
            break
        if blen > max_block:
            status, detail = ST_TOO_BIG, blen
            break
        if end - pos < blen:
            status, detail = ST_NEED, blen
            break
        trailer = u32(data, pos + blen - 4)[0]
        if trailer != blen:
            status, detail = ST_TRAILER, trailer
            break
        if btype == BT_IDB:
            status, detail = ST_CONTROL, 0
            break
        if btype in (BT_EPB, BT_OPB):
            if blen < 32:
                status, detail = ST_BODY, 0
                break
            i = u32(data, pos + 8)[0] if btype == BT_EPB else u16(data, pos + 8)[0]
            c = u32(data, pos + 20)[0]
            if c > blen - 32:
                status, detail = ST_BODY, c
                break
            if i >= n_if:
                status, detail = ST_INTERFACE, i
                break
            o_l.append(pos + 28)
            c_l.append(c)
            w_l.append(u32(data, pos + 24)[0])
            i_l.append(i)
            h_l.append(u32(data, pos + 12)[0])
            l_l.append(u32(data, pos + 16)[0])
            t_l.append(1)
            n += 1
        elif btype == BT_SPB:
            if blen < 16:
                status, detail = ST_BODY, 0
                break
            if n_if < 1:
                status, detail = ST_INTERFACE, 0
                break
            w = u32(data, pos + 8)[0]
            c = min(w, blen - 16)
            if snap0 > 0:
                c = min(c, snap0)
            o_l.append(pos + 12)
            c_l.append(c)
            w_l.append(w)
            i_l.append(0)
            h_l.append(0)
            l_l.append(0)
            t_l.append(0)
            n += 1
        pos += blen
    off[n0:n] = o_l
    cap[n0:n] = c_l
    wire[n0:n] = w_l
    iface[n0:n] = i_l
    ts_hi[n0:n] = h_l
    ts_lo[n0:n] = l_l
    has_ts[n0:n] = t_l
    return n, pos, status, detail
