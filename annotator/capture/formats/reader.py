"""Open a capture file and stream its records out in chunks.

:func:`open_capture` detects the compression (by content, :mod:`.stream`),
then the format (pcap or pcapng, by magic number), and returns a
:class:`CaptureReader`.  Its :meth:`CaptureReader.batches` reads the
decompressed stream in large buffers (:data:`DEFAULT_CHUNK_BYTES`), a piece
at a time (:data:`READ_PIECE`), and walks the record headers of each piece as
soon as it is read with one of the record walks (:mod:`.engines` says which),
yielding :class:`~annotator.capture.columns.RecordBatch` objects.  A record
that straddles two buffers is carried over to the next one, so memory stays
bounded by the buffer size (plus the largest single record), whatever the file
size.

Every record is accounted for: frames are numbered 1..N in file order, and
when the file ends mid-record or a header lies, reading stops with
:attr:`CaptureReader.partial` naming the byte offset (in the decompressed
stream) and the reason; the records before it are all delivered.
"""

from __future__ import annotations

import io
import os
import types
from collections.abc import Iterator
from sys import getrefcount
from typing import BinaryIO

import numpy as np
import pandas as pd

from annotator.capture.columns import RecordBatch
from annotator.capture.formats.compression import (
    DEFAULT_MAX_DECOMPRESSED,
    DEFAULT_MAX_RATIO,
    CorruptStream,
)
from annotator.capture.formats.engines import WalkChoice, load_c, load_numba
from annotator.capture.formats.pcap import FILE_HEADER_LEN, PCAP_MAGICS, PcapWalker, parse_header
from annotator.capture.formats.pcapng import SHB_MAGIC, PcapngWalker
from annotator.capture.formats.pywalk import ST_END, ST_FULL, ST_NEED
from annotator.capture.formats.stream import ByteStream
from annotator.errors import CaptureError, UsageError
from annotator.result import CaptureInfo, Partial

#: Size of each read buffer.  A batch never spans two buffers, and the buffer a
#: batch points into stays alive while the next one fills, so two buffers (plus
#: the decoded columns of one batch, which shrink with it) are resident at a
#: time.  Smaller buffers keep less memory resident but add a fixed cost per
#: batch; ``benchmarks/bench_capture.py`` measures the trade.
DEFAULT_CHUNK_BYTES = 6 * 1024 * 1024
DEFAULT_CHUNK_RECORDS = 65536
READ_PIECE = 1024 * 1024  # bytes read (and walked) at a time: about what stays in cache


def warm_kernels() -> bool:
    """Load the compiled walk ``engine="auto"`` would use, before workers are forked.

    With the C walk built there is nothing to warm (it loads at once and holds
    no compiled code), so this returns True at once without loading numba.
    Otherwise it loads the numba walk by walking two tiny in-memory captures,
    so worker processes forked afterwards (``jobs``) inherit the loaded code
    instead of each loading numba and its cached kernels again.  Returns
    False when neither is available.
    """
    if load_c() is not None:
        return True
    if load_numba() is None:
        return False
    from annotator.capture.formats import writers

    frame = bytes(14)
    pcap = writers.pcap_bytes([writers.Record(1_000_000_000, frame)])
    pcapng = writers.shb() + writers.idb() + writers.epb(0, 1, frame)
    for data in (pcap, pcapng):
        with CaptureReader(io.BytesIO(data), engine="numba") as reader:
            for _ in reader.batches():
                pass
    return True


class CaptureReader:
    """An open capture: its :attr:`info`, its record batches, and how it ended.

    Use as a context manager (or call :meth:`close`).  :meth:`batches` may be
    iterated once.  :attr:`info` is completed (packet count, first and last
    timestamps, SHA-256 of the stored file) when the batches are exhausted;
    :attr:`partial` is set when reading stopped before the end of the data.
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | BinaryIO,
        *,
        max_decompressed: int | None = DEFAULT_MAX_DECOMPRESSED,
        max_ratio: float | None = DEFAULT_MAX_RATIO,
        engine: str = "auto",
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        sha256: bool = True,
        readers: int = 1,
    ) -> None:
        self._walks = WalkChoice(engine)
        if chunk_bytes < 4096:
            raise UsageError(f"chunk_bytes must be at least 4096, not {chunk_bytes}")
        if isinstance(readers, bool) or not isinstance(readers, int) or readers < 1:
            raise UsageError(f"readers must be a positive integer, not {readers!r}")
        self._chunk_bytes = chunk_bytes
        self._buf = np.empty(0, np.uint8)
        self._spare: np.ndarray | None = None  # the previous buffer, reused when free
        self._base = 0  # stream offset of self._buf[0]
        self._pos = 0
        self._end = 0
        self._eof = False
        self._corrupt: str | None = None
        self._started = False
        self._finished = False
        self._frames = 0
        self._first: int | None = None
        self._last: int | None = None
        self.partial: Partial | None = None
        self._stream = ByteStream(
            source,
            max_decompressed=max_decompressed,
            max_ratio=max_ratio,
            sha256=sha256,
            readers=readers,
        )
        self.name = self._stream.name
        try:
            self._walker = self._open_format()
        except BaseException:
            self._stream.close()
            raise
        self.info = CaptureInfo(
            name=self.name,
            size=self._stream.size,
            sha256=None,
            format=self._walker.format,
            compression=self._stream.compression,
            link_types=list(self._walker.link_types),
        )

    # -- opening -------------------------------------------------------------

    def _open_format(self) -> PcapWalker | PcapngWalker:
        self._refill(FILE_HEADER_LEN)
        inside = f"{self._stream.compression}-compressed, but " if self._stream.compression else ""
        if self._end == 0:
            if self._corrupt:
                raise CaptureError(self.name, self._corrupt)
            raise CaptureError(self.name, f"{inside}empty" if inside else "empty file")
        head = bytes(self._buf[: min(4, self._end)])
        if head in PCAP_MAGICS:
            if self._end < FILE_HEADER_LEN:
                raise CaptureError(
                    self.name, f"{inside}truncated pcap file header ({self._end} of 24 bytes)"
                )
            self._pos = FILE_HEADER_LEN
            return PcapWalker(parse_header(bytes(self._buf[:FILE_HEADER_LEN])))
        if head == SHB_MAGIC:
            walker = PcapngWalker()
            while True:
                step, status, detail = walker.control_block(self._buf, self._pos, self._end)
                if step:
                    self._pos += step
                    return walker
                if status in (ST_END, ST_NEED) and not self._eof:
                    if len(self._buf) - self._pos >= detail:
                        self._fill(detail)
                    else:
                        self._refill(detail)
                    continue
                why = walker.stop_reason(status, detail, self._end - self._pos, True)
                raise CaptureError(self.name, f"{inside}unreadable pcapng section header: {why}")
        shown = " ".join(f"{b:02x}" for b in head)
        raise CaptureError(self.name, f"{inside}not a pcap or pcapng file (starts with {shown})")

    # -- buffer --------------------------------------------------------------

    def _fill(self, need: int) -> None:
        """Read on into the free tail of the current buffer.

        Reads until ``need`` bytes lie after the read position (or the stream
        ends), and at least one :data:`READ_PIECE` when there is room.  The
        walk then runs over bytes just read, still in the CPU cache: walking
        a whole buffer after filling it is much slower, each record header
        being a dependent load from memory.
        """
        goal = min(len(self._buf), max(self._pos + need, self._end + READ_PIECE))
        view = self._buf.data
        while self._end < goal and not self._eof:
            try:
                got = self._stream.readinto(view[self._end : goal])
            except CorruptStream as exc:
                self._corrupt, self._eof = exc.reason, True
                break
            if got == 0:
                self._eof = True
                break
            self._end += got

    def _refill(self, need: int) -> None:
        """Move the unread tail to another buffer and read on from the stream.

        Batches already handed out keep pointing into the buffers they were
        read into, so bytes once read are never overwritten while anything
        refers to them.  The buffer before the current one is reused when
        nothing else holds it any more (its reference count shows no batch,
        array view or pending hash job), as in a plain read where each batch
        is done with before the next; otherwise a fresh one is allocated.
        Reuse saves the allocation and the page faults of filling new memory.
        """
        keep = self._end - self._pos
        size = max(self._chunk_bytes, keep + need)
        # 2 references: the attribute and getrefcount's own argument.
        if self._spare is not None and len(self._spare) >= size and getrefcount(self._spare) == 2:
            new = self._spare
        else:
            new = np.empty(size, np.uint8)
        new[:keep] = self._buf[self._pos : self._end]
        self._base += self._pos
        self._spare = self._buf if len(self._buf) else None
        self._buf, self._pos, self._end = new, 0, keep
        self._fill(need)

    def _kernel_module(self) -> types.ModuleType:
        if self._walks.module is not None:
            return self._walks.module
        stored = self._stream.size if self._stream.compression is None else None
        return self._walks.choose(stored, self._base + self._end, self._frames)

    # -- reading -------------------------------------------------------------

    def batches(self, chunk_records: int = DEFAULT_CHUNK_RECORDS) -> Iterator[RecordBatch]:
        """Yield the records in batches of at most ``chunk_records``, in file order."""
        if chunk_records < 1:
            raise UsageError(f"chunk_records must be positive, not {chunk_records}")
        if self._started:
            raise UsageError("a capture's batches can be read only once")
        self._started = True
        try:
            yield from self._read(chunk_records)
            self._finish()
        finally:
            self._stream.close()
            # The read buffers go too (batches still held keep theirs alive).
            self._buf, self._spare = np.empty(0, np.uint8), None

    def _read(self, chunk_records: int) -> Iterator[RecordBatch]:
        walker = self._walker
        done = False
        while not done:
            out = walker.new_arrays(chunk_records)
            n = 0
            while n < chunk_records:
                n, self._pos, status, detail = walker.walk(
                    self._kernel_module(), self._buf, self._pos, self._end, out, n, chunk_records
                )
                if status == ST_FULL:
                    break
                if status in (ST_END, ST_NEED) and not self._eof:
                    if len(self._buf) - self._pos >= detail:
                        self._fill(detail)  # room left: the batch goes on in this buffer
                        continue
                    if n:
                        break  # hand these out before the buffer is replaced
                    self._refill(detail)
                    continue
                done = True
                left = self._end - self._pos
                if status in (ST_END, ST_NEED) and self._corrupt:
                    reason = self._corrupt
                elif status == ST_END and left == 0:
                    break  # clean end of the capture
                else:
                    reason = walker.stop_reason(status, detail, left, True)
                at = self._base + self._pos
                self.partial = Partial(capture=self.name, offset=at, reason=reason)
                break
            if n:
                yield self._batch(walker, out, n)

    def _batch(self, walker: PcapWalker | PcapngWalker, out: dict, n: int) -> RecordBatch:
        ts, link = walker.columns(out, n)
        frame = np.arange(self._frames + 1, self._frames + n + 1, dtype=np.int64)
        self._frames += n
        lo, hi = int(ts.min()), int(ts.max())
        self._first = lo if self._first is None else min(self._first, lo)
        self._last = hi if self._last is None else max(self._last, hi)
        return RecordBatch(
            data=self._buf,
            offset=out["off"][:n],
            cap_len=out["cap"][:n],
            wire_len=out["wire"][:n],
            ts_ns=ts,
            link_type=link,
            frame=frame,
        )

    def _finish(self) -> None:
        """Complete :attr:`info` once the records are exhausted."""
        if self._finished:
            return
        self._finished = True
        self._stream.finish()
        info = self.info
        info.size = self._stream.size
        info.sha256 = self._stream.sha256()
        info.link_types = list(self._walker.link_types)
        info.packets = self._frames
        if self._first is not None and self._last is not None:
            info.first_seen = pd.Timestamp(self._first, unit="ns", tz="UTC")
            info.last_seen = pd.Timestamp(self._last, unit="ns", tz="UTC")

    @property
    def bytes_read(self) -> int:
        """Stored (possibly compressed) bytes read from the source so far."""
        return self._stream.raw.count

    # -- lifetime ------------------------------------------------------------

    def close(self) -> None:
        """Release the file (and decompressor); safe to call more than once."""
        self._stream.close()

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_capture(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    max_decompressed: int | None = DEFAULT_MAX_DECOMPRESSED,
    max_ratio: float | None = DEFAULT_MAX_RATIO,
    engine: str = "auto",
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    sha256: bool = True,
    readers: int = 1,
) -> CaptureReader:
    """Open a pcap or pcapng capture, plain or compressed; ``"-"`` is standard input.

    Raises :class:`~annotator.errors.CaptureError` when the source is missing,
    unreadable, empty, or not a capture; the limits guard against
    decompression bombs (see :mod:`annotator.capture.formats.compression`).
    ``sha256=False`` skips hashing the stored bytes (``info.sha256`` stays None).
    ``readers`` is how many capture readers run at once on this machine (the
    ``--jobs`` workers pass their number): the stored bytes are hashed on a
    helper thread only while this process has more CPUs than that
    (:mod:`annotator.capture.formats.hashing`).
    """
    return CaptureReader(
        source,
        max_decompressed=max_decompressed,
        max_ratio=max_ratio,
        engine=engine,
        chunk_bytes=chunk_bytes,
        sha256=sha256,
        readers=readers,
    )
