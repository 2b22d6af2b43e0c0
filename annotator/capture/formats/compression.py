"""Decompressing a capture: which compression, the decompressors, and the bomb guard.

A capture may arrive gzip-, bzip2-, xz- or zstd-compressed.  The compression is
recognised by the first bytes of the file (its magic number), never by the file
name, so ``capture.pcap`` that is really gzip still reads and ``capture.gz``
that is really a plain pcap too (:func:`detect_compression`).

Decompression-bomb guard
------------------------
A small compressed file can expand to an enormous stream.  Two limits stop
that, each checked as the decompressed bytes come out (:class:`BombGuard`):

* ``max_decompressed`` (default :data:`DEFAULT_MAX_DECOMPRESSED`, 64 GiB): the
  total decompressed size;
* ``max_ratio`` (default :data:`DEFAULT_MAX_RATIO`, 1000): decompressed bytes
  per compressed byte read so far.  Real captures compress 2 to 20 times, a few
  highly repetitive ones a few hundred times; gzip cannot exceed about 1,030,
  so only purpose-built input goes past 1,000.  The ratio is checked only once
  more than :data:`RATIO_FLOOR` (64 MiB) has come out, so small files never
  trip it on a lucky first block.

Exceeding either raises :class:`~annotator.errors.DecompressionBombError` (not a
partial result: an analyst should know the input was refused, and can lift the
limits with ``--no-bomb-guard`` on the command line or ``None`` here).  Either
limit set to ``None`` is off.

The decoders' own memory is capped too (:data:`DECODER_MEMORY_LIMIT`): an xz
or zstd file can ask for a gigabyte-sized dictionary, and one that asks for
more than 256 MiB is refused as corrupt instead of exhausting memory.

Corrupt or truncated compressed data is not an error of the whole capture: the
records decompressed before the damage are kept, and the reader reports a
partial result at that point.  The decompressors are driven directly
(:class:`_Decompressing`, :class:`_ZstdDecompressing`) rather than through
the stdlib's file classes and zstandard's stream reader: those dropped the
output of the call that met the damage (readable packets, all of a small
file), and zstandard's reader took a zstd stream cut between two blocks for
a whole one.
"""

from __future__ import annotations

import bz2
import io
import lzma
import zlib
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import zstandard

from annotator._units import human_bytes
from annotator.errors import DecompressionBombError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

DEFAULT_MAX_DECOMPRESSED = 64 * 1024**3  # 64 GiB
DEFAULT_MAX_RATIO = 1000.0
RATIO_FLOOR = 64 * 1024**2  # the ratio is only judged past 64 MiB of output
# Memory a decoder may take for its window/dictionary (xz and zstd let the file
# ask for gigabytes); 256 MiB covers every standard preset and zstd --long=28.
DECODER_MEMORY_LIMIT = 256 * 1024**2

#: Leading bytes of each supported compression format.
COMPRESSION_MAGIC: dict[str, bytes] = {
    "gzip": b"\x1f\x8b",
    "bzip2": b"BZh",
    "xz": b"\xfd7zXZ\x00",
    "zstd": b"\x28\xb5\x2f\xfd",
}

#: Errors the decompressors raise on damaged or truncated input.
DECOMPRESS_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError, zstandard.ZstdError)


#: Decompressed bytes asked of gzip, bzip2 and xz per call.  When the data
#: turns out damaged or cut short, what the failing call had produced is lost
#: with it, so the pieces stay small: at most this much of what ``zcat`` would
#: recover is missed.
DECOMPRESS_PIECE = 64 * 1024
#: Stored bytes read at a time for those three decompressors.
COMPRESSED_CHUNK = 64 * 1024


def detect_compression(head: bytes) -> str | None:
    """The compression format whose magic number ``head`` starts with, or None."""
    for name, magic in COMPRESSION_MAGIC.items():
        if head.startswith(magic):
            return name
    return None


def decompressing(raw: io.RawIOBase, compression: str) -> io.RawIOBase:
    """The decompressed bytes of ``raw``, whose content is ``compression``-compressed.

    Read errors are those of :data:`DECOMPRESS_ERRORS`; :func:`describe_corruption`
    turns one into the reason a partial read reports.
    """
    if compression == "zstd":
        return _ZstdDecompressing(raw)
    return _Decompressing(raw, compression)


ZSTD_FRAME_MAGIC = 0xFD2FB528
_ZSTD_MAGIC_BYTES = ZSTD_FRAME_MAGIC.to_bytes(4, "little")
#: Skippable frames carry one of these sixteen magic numbers, then their size.
ZSTD_SKIPPABLE = range(0x184D2A50, 0x184D2A60)


class _ZstdFrames:
    """Follows the frame layout of a zstd stream as its compressed bytes go by.

    It reads only the frame headers (their length from zstandard) and the
    three-byte block headers (RFC 8878, 3.1), and passes over block
    contents: a few operations per block.
    It tells where blocks end, so the decompressor can be fed a few blocks
    at a time (a block never holds more than 128 KiB once decompressed, but
    a few bytes of input can hold many blocks), and whether the stream
    stopped on a frame boundary.  It does not check the data: the
    decompressor does that.
    """

    def __init__(self) -> None:
        self._state = "magic"
        self._need = 4  # header bytes to collect in the current state
        self._head = bytearray()
        self._skip = 0  # bytes to pass over (block contents, skippable frames)
        self._checksum = False
        self.lost = False  # bytes that are no frame: the decompressor will say so

    @property
    def at_boundary(self) -> bool:
        """Whether every frame seen so far is complete."""
        return self.lost or (self._state == "magic" and not self._head and not self._skip)

    def feed(self, data: bytes) -> list[int]:
        """Follow ``data``; return the offsets in it just after each block ends."""
        ends: list[int] = []
        i, n = 0, len(data)
        while i < n and not self.lost:
            if self._skip:
                step = min(self._skip, n - i)
                self._skip -= step
                i += step
                if not self._skip and self._state in ("block", "magic"):
                    ends.append(i)
                continue
            take = min(self._need - len(self._head), n - i)
            self._head += data[i : i + take]
            i += take
            if len(self._head) == self._need:
                self._advance(bytes(self._head))
                self._head.clear()
                if not self._skip and self._state in ("block", "magic"):
                    ends.append(i)  # an empty block, or a frame with nothing after it
        return ends

    def _advance(self, head: bytes) -> None:
        value = int.from_bytes(head, "little")
        if self._state == "magic":
            if value == ZSTD_FRAME_MAGIC:
                self._state, self._need = "descriptor", 1
            elif value in ZSTD_SKIPPABLE:
                self._state, self._need = "skippable", 4
            else:
                self.lost = True
        elif self._state == "skippable":
            self._skip, self._state, self._need = value, "magic", 4
        elif self._state == "descriptor":
            self._checksum = bool((value >> 2) & 1)
            # zstandard reads the header's length off the magic and descriptor.
            try:
                header = zstandard.frame_header_size(_ZSTD_MAGIC_BYTES + head)
            except zstandard.ZstdError:  # a reserved bit: the decompressor will say so
                self.lost = True
                return
            self._skip = header - len(_ZSTD_MAGIC_BYTES) - 1  # window, dictionary id, size
            self._state, self._need = "header", 3
        else:  # a block header: last-block bit, type, size
            kind, size = (value >> 1) & 3, value >> 3
            if kind == 3:  # reserved
                self.lost = True
                return
            self._skip = 1 if kind == 1 else size  # an RLE block stores one byte
            self._state = "block"
            if value & 1:  # the frame's last block, then its checksum
                self._skip += 4 if self._checksum else 0
                self._state, self._need = "magic", 4
            else:
                self._need = 3


#: Blocks given to the zstd decompressor per call: at most 8 x 128 KiB out.
ZSTD_BLOCKS_PER_CALL = 8


class _ZstdDecompressing(io.RawIOBase):
    """zstd decompressed from the stored bytes, keeping all it can.

    zstandard's stream reader ends quietly when its input stops inside a
    frame, so a capture cut short passed for a whole one, and it could drop
    the last blocks before the cut.  Here a decompression object per frame is
    fed a few blocks at a time (:class:`_ZstdFrames` finds them), which
    bounds each call's output however small the input, delivers every block
    before a cut, and says when the input ended inside a frame.
    """

    def __init__(self, raw: io.RawIOBase) -> None:
        super().__init__()
        self._raw = raw
        self._frames = _ZstdFrames()
        self._maker = zstandard.ZstdDecompressor(max_window_size=DECODER_MEMORY_LIMIT)
        self._dec = self._maker.decompressobj()
        self._segments: deque[bytes] = deque()  # input cut after every few blocks
        self._out = b""
        self._at = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        while self._at == len(self._out):
            if not self._segments and not self._read_segments():
                if not self._frames.at_boundary:
                    raise EOFError("zstd stream truncated")
                return 0
            self._out, self._at = self._decompress(self._segments.popleft()), 0
        n = min(len(view), len(self._out) - self._at)
        view[:n] = memoryview(self._out)[self._at : self._at + n]  # one copy, not two
        self._at += n
        return n

    def _read_segments(self) -> bool:
        chunk = self._raw.read(COMPRESSED_CHUNK)
        if not chunk:
            return False
        ends = self._frames.feed(chunk)
        cuts = ends[ZSTD_BLOCKS_PER_CALL - 1 :: ZSTD_BLOCKS_PER_CALL]
        start = 0
        for cut in cuts:
            self._segments.append(chunk[start:cut])
            start = cut
        if start < len(chunk):
            self._segments.append(chunk[start:])
        return True

    def _decompress(self, data: bytes) -> bytes:
        out = []
        while data:
            out.append(self._dec.decompress(data))
            if not self._dec.eof:
                break
            data = self._dec.unused_data  # the next frame starts here
            self._dec = self._maker.decompressobj()
        return b"".join(out)


class _Decompressing(io.RawIOBase):
    """gzip, bzip2 or xz decompressed from the stored bytes, keeping all it can.

    The stdlib's file classes drop what a read call had produced when the
    data turns out damaged, and a truncated stream raises as soon as the
    input ends, so a capture cut short lost up to a whole buffer of readable
    packets (all of a small file).  Here the decompressor objects are fed
    directly: output comes out as the input goes in, at most
    :data:`DECOMPRESS_PIECE` bytes a call, so a cut stream delivers every byte
    before the cut and then says so, and damaged data loses at most one piece.
    Concatenated members (``cat a.gz b.gz``, pbzip2, xz streams) are read on;
    zero padding after the last one is ignored, other trailing bytes are
    reported as damage.
    """

    def __init__(self, raw: io.RawIOBase, compression: str) -> None:
        super().__init__()
        self._raw = raw
        self._compression = compression
        self._magic = COMPRESSION_MAGIC[compression]
        self._zlib = compression == "gzip"
        self._dec = self._new()
        self._pending = b""  # input not yet taken by the decompressor

    def _new(self) -> Any:  # zlib, bz2 and lzma decompressors share no base class
        if self._compression == "gzip":
            return zlib.decompressobj(wbits=31)  # gzip header and trailer, CRC checked
        if self._compression == "bzip2":
            return bz2.BZ2Decompressor()
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ, memlimit=DECODER_MEMORY_LIMIT)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        limit = min(len(view), DECOMPRESS_PIECE)
        while True:
            if self._dec.eof and not self._next_member():
                return 0
            data = self._pending
            if not data and (self._zlib or self._dec.needs_input):
                data = self._raw.read(COMPRESSED_CHUNK)
                if not data:
                    raise EOFError(f"{self._compression} stream truncated")
            out = self._dec.decompress(data, limit)
            self._pending = self._dec.unconsumed_tail if self._zlib else b""
            if out:
                view[: len(out)] = out
                return len(out)

    def _next_member(self) -> bool:
        """After a member's end: start the next one, or say the stream is over."""
        rest = self._dec.unused_data + self._pending
        while True:
            rest = rest.lstrip(b"\0")  # padding (tape blocks, xz stream padding)
            if rest:
                break
            rest = self._raw.read(COMPRESSED_CHUNK)
            if not rest:
                return False
        if not rest.startswith(self._magic[: len(rest)]):
            raise OSError(f"bytes after the end of the {self._compression} stream")
        self._dec, self._pending = self._new(), rest
        return True


class CorruptStream(Exception):
    """The compressed data is damaged from here on; ``reason`` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def describe_corruption(compression: str, exc: BaseException) -> str:
    """The reason a partial read gives for a decompressor's error ``exc``."""
    if isinstance(exc, EOFError):
        return f"{compression} stream ends before its end marker (truncated)"
    text = str(exc).strip() or type(exc).__name__
    return f"corrupt {compression} data ({text})"


@dataclass(frozen=True)
class BombGuard:
    """The decompression-bomb limits of one read (see the module's docstring).

    ``None`` turns a limit off.  :meth:`check` is called after every piece of
    decompressed output, so a bomb is refused before it fills memory or disk.
    """

    max_decompressed: int | None = DEFAULT_MAX_DECOMPRESSED
    max_ratio: float | None = DEFAULT_MAX_RATIO

    def check(self, name: str, compression: str, out: int, stored: int) -> None:
        """Raise when ``out`` decompressed bytes from ``stored`` compressed ones exceed a limit."""
        hint = "(use --no-bomb-guard to lift the limit)"
        if self.max_decompressed is not None and out > self.max_decompressed:
            raise DecompressionBombError(
                name,
                f"decompressed output exceeds {human_bytes(self.max_decompressed)} "
                f"from {human_bytes(stored)} of {compression} data {hint}",
            )
        if self.max_ratio is not None and out > RATIO_FLOOR:
            ratio = out / max(stored, 1)
            if ratio > self.max_ratio:
                raise DecompressionBombError(
                    name,
                    f"decompressed output exceeds {self.max_ratio:g} times the compressed size "
                    f"({human_bytes(out)} from {human_bytes(stored)} of {compression} data) {hint}",
                )
