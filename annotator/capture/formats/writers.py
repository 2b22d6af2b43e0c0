"""Write small pcap and pcapng files byte by byte, for tests and benchmarks.

scapy writes microsecond pcap and microsecond enhanced packet blocks only;
these helpers cover what it cannot: nanosecond and big-endian pcap, the
modified pcap variant, and pcapng with several sections (either byte order),
interfaces, timestamp resolutions and offsets, simple and obsolete packet
blocks, and arbitrary other blocks, including ones with lying lengths.  They
are deliberately literal (one function per structure, fields in file order) so
a test reads like the specification.  The reader uses them only to build the
two tiny captures :func:`~annotator.capture.formats.reader.warm_kernels` walks.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

from annotator.capture.formats.pcap import MAGIC_MODIFIED, MAGIC_NSEC, MAGIC_USEC
from annotator.capture.formats.pcapng import (
    BYTE_ORDER_MAGIC,
    OPT_IF_TSOFFSET,
    OPT_IF_TSRESOL,
)
from annotator.capture.formats.pywalk import BT_EPB, BT_IDB, BT_OPB, BT_SHB, BT_SPB


@dataclass
class Record:
    """One packet to write: timestamp in ns, captured bytes, original length."""

    ts_ns: int
    data: bytes
    wire_len: int | None = None  # defaults to len(data)

    @property
    def orig(self) -> int:
        return len(self.data) if self.wire_len is None else self.wire_len


def pcap_bytes(
    records: Iterable[Record],
    *,
    link_type: int = 1,
    nano: bool = False,
    big: bool = False,
    snaplen: int = 65535,
    modified: bool = False,
    linktype_high_bits: int = 0,
) -> bytes:
    """A whole pcap file; ``linktype_high_bits`` go above the 16-bit link type (FCS info)."""
    o = ">" if big else "<"
    magic = MAGIC_MODIFIED if modified else (MAGIC_NSEC if nano else MAGIC_USEC)
    lt = link_type | (linktype_high_bits << 16)
    out = [struct.pack(o + "IHHiIII", magic, 2, 4, 0, 0, snaplen, lt)]
    for r in records:
        sec, frac = divmod(r.ts_ns, 1_000_000_000)
        if not nano:
            frac //= 1000
        out.append(struct.pack(o + "IIII", sec, frac, len(r.data), r.orig))
        if modified:
            out.append(struct.pack(o + "iHBB", 1, 0x0800, 0, 0))
        out.append(r.data)
    return b"".join(out)


def pad4(data: bytes) -> bytes:
    """``data`` padded with zero bytes to a multiple of 4."""
    return data + b"\0" * (-len(data) % 4)


def block(btype: int, body: bytes, *, big: bool = False, length: int | None = None,
          trailer: int | None = None) -> bytes:  # fmt: skip
    """A pcapng block around ``body`` (padded); ``length``/``trailer`` override to lie."""
    o = ">" if big else "<"
    body = pad4(body)
    total = 12 + len(body)
    head = struct.pack(o + "II", btype, total if length is None else length)
    return head + body + struct.pack(o + "I", total if trailer is None else trailer)


def option(code: int, value: bytes, *, big: bool = False) -> bytes:
    """One pcapng option (code, length, padded value)."""
    return struct.pack((">" if big else "<") + "HH", code, len(value)) + pad4(value)


def end_of_options(*, big: bool = False) -> bytes:
    return struct.pack((">" if big else "<") + "HH", 0, 0)


def shb(*, big: bool = False, version: tuple[int, int] = (1, 0), options: bytes = b"") -> bytes:
    """A section header block; ``big`` picks the byte order of the whole section."""
    o = ">" if big else "<"
    body = struct.pack(o + "IHHq", BYTE_ORDER_MAGIC, version[0], version[1], -1) + options
    return block(BT_SHB, body, big=big)


def idb(link_type: int = 1, *, snaplen: int = 0, tsresol: int | None = None,
        tsoffset: int | None = None, big: bool = False) -> bytes:  # fmt: skip
    """An interface description block with optional if_tsresol / if_tsoffset."""
    o = ">" if big else "<"
    opts = b""
    if tsresol is not None:
        opts += option(OPT_IF_TSRESOL, bytes([tsresol]), big=big)
    if tsoffset is not None:
        opts += option(OPT_IF_TSOFFSET, struct.pack(o + "q", tsoffset), big=big)
    if opts:
        opts += end_of_options(big=big)
    return block(BT_IDB, struct.pack(o + "HHI", link_type, 0, snaplen) + opts, big=big)


def epb(iface: int, ticks: int, data: bytes, *, wire_len: int | None = None,
        big: bool = False, caplen: int | None = None) -> bytes:  # fmt: skip
    """An enhanced packet block; ``ticks`` in the interface's timestamp units."""
    o = ">" if big else "<"
    cap = len(data) if caplen is None else caplen
    orig = len(data) if wire_len is None else wire_len
    head = struct.pack(o + "IIIII", iface, ticks >> 32, ticks & 0xFFFFFFFF, cap, orig)
    return block(BT_EPB, head + data, big=big)


def opb(iface: int, ticks: int, data: bytes, *, wire_len: int | None = None,
        big: bool = False) -> bytes:  # fmt: skip
    """An obsolete packet block (16-bit interface id, 16-bit drop count)."""
    o = ">" if big else "<"
    orig = len(data) if wire_len is None else wire_len
    head = struct.pack(o + "HHIIII", iface, 0, ticks >> 32, ticks & 0xFFFFFFFF, len(data), orig)
    return block(BT_OPB, head + data, big=big)


def spb(data: bytes, *, wire_len: int | None = None, big: bool = False) -> bytes:
    """A simple packet block: original length and data, no interface, no timestamp."""
    o = ">" if big else "<"
    orig = len(data) if wire_len is None else wire_len
    return block(BT_SPB, struct.pack(o + "I", orig) + data, big=big)
