"""The pcapng format: sections of blocks, several interfaces, several link types.

Every block is ``type u32 | total length u32 | body | total length u32``, the
length a multiple of 4 and at least 12.  A file is one or more sections, each
opened by a section header block (SHB) whose byte-order magic 0x1A2B3C4D sets
the byte order of everything up to the next SHB.  Interface description blocks
(IDB) number the interfaces of their section from 0, each with its link type,
snap length and options; two options matter here:

* ``if_tsresol`` (code 9): timestamp units.  Top bit clear: 10^-n seconds; top
  bit set: 2^-n seconds.  Default 10^-6 (microseconds).
* ``if_tsoffset`` (code 14): seconds to add to every timestamp.

Packets come in three blocks: enhanced (EPB, type 6: interface, 64-bit
timestamp, captured and original length), obsolete (OPB, type 2: the same with
a 16-bit interface id) and simple (SPB, type 3: original length only, always
interface 0, no timestamp; its captured length is what the block holds, capped
by interface 0's snap length).  An SPB has no time of its own, so it gets the
timestamp of the packet before it in the file (0 if it is the first): the best
estimate that keeps the packet order, documented as such.

Every other block type (name resolution, statistics, secrets, custom, ...) is
skipped.  A block whose length lies (below 12, not a multiple of 4, trailing
length different, beyond :data:`MAX_BLOCK`, past the end of the file) ends the
read with a partial result; so does a packet that names an interface its
section never described, and a section describing more than
:data:`MAX_INTERFACES` interfaces (which would only serve to exhaust memory).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from annotator.capture.formats.pywalk import (
    BT_SHB,
    ST_BAD_LENGTH,
    ST_BODY,
    ST_CONTROL,
    ST_END,
    ST_INTERFACE,
    ST_NEED,
    ST_TOO_BIG,
    ST_TRAILER,
)
from annotator.capture.linktypes import link_type_name

SHB_MAGIC = struct.pack("<I", BT_SHB)
BYTE_ORDER_MAGIC = 0x1A2B3C4D
MAX_BLOCK = 256 * 1024 * 1024 + 1024 * 1024  # a 256 MiB packet plus room for options
OPT_ENDOFOPT = 0
OPT_IF_TSRESOL = 9
OPT_IF_TSOFFSET = 14

ST_BAD_SHB = 100  # status of the Python-level checks below (never from a kernel)
ST_BAD_VERSION = 101
ST_SHORT_IDB = 102
ST_SHORT_SHB = 103
ST_TOO_MANY_INTERFACES = 104
MAX_INTERFACES = 65536  # per section; real captures have a handful, a hostile one millions


@dataclass
class Interface:
    """One interface of a section: link type, snap length, timestamp units and offset."""

    link_type: int
    snaplen: int
    tsresol: int = 6  # the raw if_tsresol byte
    tsoffset: int = 0  # seconds


def ticks_to_ns(ticks: np.ndarray, tsresol: int, tsoffset: int) -> np.ndarray:
    """Convert raw 64-bit pcapng timestamps to int64 nanoseconds, vectorised.

    Hostile resolutions (2^-127, 10^-127) give 0 fractions rather than
    failing; int64 wraps for timestamps beyond the year 2262, as numpy does.
    """
    ticks = ticks.astype(np.uint64, copy=False)
    exp = tsresol & 0x7F
    if tsresol & 0x80:  # 2^-exp seconds
        if exp >= 64:
            secs = np.zeros(len(ticks), np.int64)
            frac = ticks
        else:
            secs = (ticks >> np.uint64(exp)).astype(np.int64)
            frac = ticks & np.uint64((1 << exp) - 1)
        if exp <= 33:
            frac_ns = (frac * np.uint64(1_000_000_000)) >> np.uint64(exp)
        else:
            drop = min(exp - 33, 63)
            frac_ns = ((frac >> np.uint64(drop)) * np.uint64(1_000_000_000)) >> np.uint64(33)
        ns = secs * 1_000_000_000 + frac_ns.astype(np.int64)
    elif exp <= 9:
        ns = ticks.astype(np.int64) * (10 ** (9 - exp))
    elif exp - 9 <= 19:
        ns = (ticks // np.uint64(10 ** (exp - 9))).astype(np.int64)
    else:
        ns = np.zeros(len(ticks), np.int64)
    if tsoffset:
        # A hostile if_tsoffset can be any 64-bit value: clamp it instead of overflowing.
        offset_ns = max(min(tsoffset * 1_000_000_000, 2**63 - 1), -(2**63))
        ns = ns + np.int64(offset_ns)
    return ns


class PcapngWalker:
    """Walks the blocks of one pcapng stream into preallocated column arrays."""

    format = "pcapng"

    def __init__(self) -> None:
        self.big = False
        self.interfaces: list[Interface] = []
        self.link_types: list[str] = []
        self.last_ts = 0  # timestamp given to a simple packet block
        self.sections = 0

    def new_arrays(self, n: int) -> dict[str, np.ndarray]:
        return {
            "off": np.empty(n, np.int64),
            "cap": np.empty(n, np.uint32),
            "wire": np.empty(n, np.uint32),
            "iface": np.empty(n, np.int64),
            "ts_hi": np.empty(n, np.uint32),
            "ts_lo": np.empty(n, np.uint32),
            "has_ts": np.empty(n, np.uint8),
            "ts_ns": np.empty(n, np.int64),
            "link": np.empty(n, np.uint16),
        }

    def walk(
        self, kernels: ModuleType, buf: np.ndarray, pos: int, end: int,
        out: dict[str, np.ndarray], n: int, max_n: int,
    ) -> tuple[int, int, int, int]:  # fmt: skip
        """Walk until the arrays fill, the buffer runs out, or a block cannot be passed.

        Section headers and interface descriptions are parsed here, between
        kernel calls; each run of packets is converted to nanoseconds and link
        types with the interfaces of its own section.
        """
        while True:
            n0 = n
            snap0 = self.interfaces[0].snaplen if self.interfaces else 0
            n, pos, status, detail = kernels.walk_pcapng(
                buf, pos, end, self.big, len(self.interfaces), snap0, MAX_BLOCK,
                out["off"], out["cap"], out["wire"], out["iface"],
                out["ts_hi"], out["ts_lo"], out["has_ts"], n, max_n,
            )  # fmt: skip
            if n > n0:
                self._convert(out, n0, n)
            if status != ST_CONTROL:
                return n, pos, status, detail
            step, status, detail = self.control_block(buf, pos, end)
            if step == 0:
                return n, pos, status, detail
            pos += step

    def control_block(self, buf: np.ndarray, pos: int, end: int) -> tuple[int, int, int]:
        """Parse the SHB or IDB at ``pos``: (bytes consumed or 0, status, detail)."""
        left = end - pos
        data = buf.data  # struct reads the array's bytes through this view
        btype = int.from_bytes(bytes(buf[pos : pos + 4]), "little")
        if btype == BT_SHB:
            if left < 12:
                return 0, ST_END, 12
            bom = bytes(buf[pos + 8 : pos + 12])
            if bom == struct.pack("<I", BYTE_ORDER_MAGIC):
                big = False
            elif bom == struct.pack(">I", BYTE_ORDER_MAGIC):
                big = True
            else:
                return 0, ST_BAD_SHB, 0
            order = ">" if big else "<"
            (blen,) = struct.unpack_from(order + "I", data, pos + 4)
            if blen % 4:
                return 0, ST_BAD_LENGTH, blen
            if blen < 28:
                return 0, ST_SHORT_SHB, blen
            if blen > MAX_BLOCK:
                return 0, ST_TOO_BIG, blen
            if left < blen:
                return 0, ST_NEED, blen
            (trailer,) = struct.unpack_from(order + "I", data, pos + blen - 4)
            if trailer != blen:
                return 0, ST_TRAILER, trailer
            major, minor = struct.unpack_from(order + "HH", data, pos + 12)
            if major != 1:
                return 0, ST_BAD_VERSION, (major << 16) | minor
            self.big = big
            self.interfaces = []
            self.sections += 1
            return blen, ST_CONTROL, 0
        # An interface description: the kernel has checked its lengths and trailer.
        order = ">" if self.big else "<"
        (blen,) = struct.unpack_from(order + "I", data, pos + 4)
        if blen < 20:
            return 0, ST_SHORT_IDB, blen
        if len(self.interfaces) >= MAX_INTERFACES:
            return 0, ST_TOO_MANY_INTERFACES, MAX_INTERFACES
        link, _reserved, snaplen = struct.unpack_from(order + "HHI", data, pos + 8)
        iface = Interface(link_type=link, snaplen=snaplen)
        self._read_options(iface, bytes(buf[pos + 16 : pos + blen - 4]), order)
        self.interfaces.append(iface)
        name = link_type_name(link)
        if name not in self.link_types:
            self.link_types.append(name)
        return blen, ST_CONTROL, 0

    @staticmethod
    def _read_options(iface: Interface, opts: bytes, order: str) -> None:
        """Take if_tsresol and if_tsoffset from an IDB's options; a broken list ends quietly."""
        at = 0
        while at + 4 <= len(opts):
            code, length = struct.unpack_from(order + "HH", opts, at)
            if code == OPT_ENDOFOPT:
                break
            value = opts[at + 4 : at + 4 + length]
            if len(value) < length:
                break
            if code == OPT_IF_TSRESOL and length >= 1:
                iface.tsresol = value[0]
            elif code == OPT_IF_TSOFFSET and length >= 8:
                (iface.tsoffset,) = struct.unpack_from(order + "q", value)
            at += 4 + length + (-length % 4)

    def _convert(self, out: dict[str, np.ndarray], n0: int, n: int) -> None:
        """Fill ts_ns and link for records n0..n-1, all of the current section."""
        ifs = out["iface"][n0:n]
        ticks = (out["ts_hi"][n0:n].astype(np.uint64) << np.uint64(32)) | out["ts_lo"][n0:n]
        ts = out["ts_ns"][n0:n]
        link = out["link"][n0:n]
        if len(self.interfaces) == 1:
            iface = self.interfaces[0]
            ts[:] = ticks_to_ns(ticks, iface.tsresol, iface.tsoffset)
            link[:] = iface.link_type
        else:
            for i in np.unique(ifs):
                sel = ifs == i
                iface = self.interfaces[int(i)]
                ts[sel] = ticks_to_ns(ticks[sel], iface.tsresol, iface.tsoffset)
                link[sel] = iface.link_type
        has = out["has_ts"][n0:n]
        if not has.all():
            # Simple packet blocks take the timestamp of the packet before them.
            idx = np.where(has.astype(bool), np.arange(n - n0), -1)
            np.maximum.accumulate(idx, out=idx)
            filled = np.where(idx >= 0, ts[np.maximum(idx, 0)], self.last_ts)
            ts[:] = filled
        self.last_ts = int(ts[-1])

    def columns(self, out: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
        """(ts_ns, link_type) of the first ``n`` walked records."""
        return out["ts_ns"][:n], out["link"][:n]

    def stop_reason(self, status: int, detail: int, left: int, at_eof: bool) -> str:
        """The partial-read reason for a walk that cannot continue."""
        if status == ST_END:
            return f"truncated block header ({left} of {detail} bytes)"
        if status == ST_NEED:
            return f"block length lies ({detail} runs past the end of the file, {left} bytes left)"
        if status == ST_BAD_LENGTH:
            if detail < 12:
                return f"block length lies ({detail} is below the 12-byte minimum)"
            return f"block length lies ({detail} is not a multiple of 4)"
        if status == ST_TOO_BIG:
            return f"block length lies ({detail} exceeds the 257 MiB limit)"
        if status == ST_TRAILER:
            return f"block length lies (trailing copy says {detail})"
        if status == ST_BODY:
            return f"packet block too short for its captured length {detail}"
        if status == ST_INTERFACE:
            return f"packet names interface {detail}, which its section does not describe"
        if status == ST_BAD_SHB:
            return "section header has no valid byte-order magic"
        if status == ST_BAD_VERSION:
            return f"unsupported pcapng version {detail >> 16}.{detail & 0xFFFF}"
        if status == ST_SHORT_SHB:
            return f"section header block too short ({detail} bytes)"
        if status == ST_TOO_MANY_INTERFACES:
            return f"more than {detail} interfaces in one section"
        if status == ST_SHORT_IDB:
            return f"interface description block too short ({detail} bytes)"
        return f"unreadable block (status {status})"  # pragma: no cover - all statuses named above
