"""The byte stream under a capture: file or standard input, hashed, maybe compressed.

A capture may arrive gzip-, bzip2-, xz- or zstd-compressed.  The compression is
recognised by the first bytes of the file (its magic number), never by the file
name, so ``capture.pcap`` that is really gzip still reads and ``capture.gz``
that is really a plain pcap too.

While the stored bytes are read they are counted and fed to SHA-256, so the
report can name the exact file analysed without a second pass over it.  One
pass is cheaper than hashing up front (the file is read once instead of
twice).  SHA-256 is still a quarter of the work of a whole read (about
1.7 GB/s with the CPU's SHA instructions, against about 0.45 GB/s of packets
read, decoded and folded into flows), so large reads are hashed on a helper
thread (hashlib releases the GIL) while the main thread walks and decodes --
when a CPU is free for it.  Confined to one CPU (``taskset``, a container's
CPU set), or with as many readers at once as CPUs (``--jobs``, see
:func:`share_cpus`), each read is hashed at once instead: the bytes are
still in cache, and no thread competes for the core (about 5% faster than
the helper thread there).  See
``benchmarks/bench_read.py`` for the figures.  The digest is known once the stored bytes have
been read to their end; when reading stops early on a corrupt capture the rest
of a regular file is still hashed, while standard input is hashed as far as it
was read.  ``sha256=False`` (``--no-hash``) skips the digest for a user who
needs the core more than the provenance; the digest is then None.

Decompression-bomb guard
------------------------
A small compressed file can expand to an enormous stream.  Two limits stop
that, each checked as the decompressed bytes come out:

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
partial result at that point.
"""

from __future__ import annotations

import _compression  # the stdlib's decompressing reader behind gzip, bz2 and lzma files
import bz2
import contextlib
import gzip
import hashlib
import io
import lzma
import os
import sys
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

import zstandard

from annotator.errors import CaptureError, DecompressionBombError

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

# Errors the decompressors raise on damaged or truncated input.
_DECOMPRESS_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError, zstandard.ZstdError)


class CorruptStream(Exception):
    """The compressed data is damaged from here on; ``reason`` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _human(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"  # pragma: no cover - loop always returns


ASYNC_HASH_MIN = 1 << 20  # reads at least this large are hashed on the helper thread
# Hash jobs queued before the reader waits.  Each pending job keeps its read
# buffer alive (no copy), so this bounds how many old buffers the helper
# thread can pin: 4 jobs of 1 MiB still let hashing overlap the walk.
_MAX_PENDING = 4
_READERS = [1]  # capture readers running at once on this machine's CPUs (see share_cpus)


def share_cpus(readers: int) -> None:
    """Say that this process is one of ``readers`` reading captures at the same time.

    The SHA-256 helper thread is used only while the process may run on more
    CPUs than there are readers; ``--jobs`` workers call this.
    """
    _READERS[0] = max(1, int(readers))


class _HashingRaw(io.RawIOBase):
    """The stored bytes: counted and hashed as they are read, with a peeked prefix.

    ``stable`` says the caller never rewrites a buffer while a view of it is
    alive (the capture reader reuses a buffer only when nothing refers to it,
    and a pending hash job holds a view), so large reads can be hashed later
    on the helper thread without a copy; otherwise they are copied first.
    """

    def __init__(self, fileobj: BinaryIO, prefix: bytes, *, hashing: bool = True) -> None:
        super().__init__()
        self._f = fileobj
        self._prefix = prefix
        self.count = 0
        self.eof = False
        self.stable = False
        self.hashing = hashing
        self._helper = hashing and _usable_cpus() > _READERS[0]  # a CPU is free to hash on
        self._sha = hashlib.sha256()
        self._pool: ThreadPoolExecutor | None = None
        self._pending: deque[Future] = deque()

    def _hash(self, data: memoryview) -> None:
        if not self.hashing:
            return
        if self._pool is None and (len(data) < ASYNC_HASH_MIN or not self._helper):
            self._sha.update(data)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256")
        job = data if self.stable else bytes(data)
        self._pending.append(self._pool.submit(self._sha.update, job))
        while len(self._pending) > _MAX_PENDING:
            self._pending.popleft().result()

    def _settle(self) -> None:
        while self._pending:
            self._pending.popleft().result()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        view = memoryview(b).cast("B")
        if self._prefix:
            n = min(len(view), len(self._prefix))
            view[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
        else:
            if hasattr(self._f, "readinto"):
                n = self._f.readinto(view) or 0
            else:
                n = _read_into(self._f, view)
            if n == 0:
                self.eof = True
                return 0
        self._hash(view[:n])
        self.count += n
        return n

    def drain(self) -> None:
        """Read (and hash) whatever is left of the stored bytes."""
        self.stable = False  # the drain buffer is reused
        buf = bytearray(1 << 20)
        while not self.eof:
            self.readinto(buf)

    def hexdigest(self) -> str | None:
        self._settle()
        return self._sha.hexdigest() if self.hashing else None

    def close(self) -> None:
        self._settle()
        super().close()


def _usable_cpus() -> int:
    """How many CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _read_into(f: BinaryIO, view: memoryview) -> int:
    data = f.read(len(view))
    view[: len(data)] = data
    return len(data)


def _peek(f: BinaryIO, n: int) -> bytes:
    """Read up to ``n`` bytes, looping over short reads (pipes deliver piecemeal)."""
    out = b""
    while len(out) < n:
        more = f.read(n - len(out))
        if not more:
            break
        out += more
    return out


def detect_compression(head: bytes) -> str | None:
    """The compression format whose magic number ``head`` starts with, or None."""
    for name, magic in COMPRESSION_MAGIC.items():
        if head.startswith(magic):
            return name
    return None


class ByteStream:
    """The decompressed bytes of a capture, read with :meth:`readinto`.

    ``compression`` names the detected format (None for plain files).  The
    stream raises :class:`CorruptStream` when compressed data turns out to be
    damaged and :class:`DecompressionBombError` when a limit is exceeded.
    ``sha256=False`` reads without hashing (:meth:`sha256` is then None).
    """

    def __init__(
        self,
        source: str | Path | BinaryIO,
        *,
        max_decompressed: int | None = DEFAULT_MAX_DECOMPRESSED,
        max_ratio: float | None = DEFAULT_MAX_RATIO,
        sha256: bool = True,
    ) -> None:
        self.name, fileobj, self.size, self._owned, self._regular = _open_source(source)
        try:
            head = _peek(fileobj, 6)
        except OSError as exc:
            self._close_owned(fileobj)
            raise CaptureError(self.name, f"cannot read: {exc.strerror or exc}") from None
        self._fileobj = fileobj
        self.raw = _HashingRaw(fileobj, head, hashing=sha256)
        self.compression = detect_compression(head)
        self.max_decompressed = max_decompressed
        self.max_ratio = max_ratio
        self.out = 0  # decompressed bytes delivered so far
        self._inner: io.RawIOBase | io.BufferedIOBase | BinaryIO
        if self.compression is None:
            self._inner = self.raw
            self.raw.stable = True  # the reader never rewrites a buffer a hash job still holds
        elif self.compression == "gzip":
            self._inner = gzip.GzipFile(fileobj=self.raw, mode="rb")
        elif self.compression == "bzip2":
            self._inner = bz2.BZ2File(self.raw, mode="rb")
        elif self.compression == "xz":
            # LZMAFile offers no memory limit; its reader with a limited decompressor does.
            self._inner = io.BufferedReader(
                _compression.DecompressReader(
                    self.raw, lzma.LZMADecompressor, trailing_error=lzma.LZMAError,
                    memlimit=DECODER_MEMORY_LIMIT,
                )
            )  # fmt: skip
        else:
            dctx = zstandard.ZstdDecompressor(max_window_size=DECODER_MEMORY_LIMIT)
            self._inner = dctx.stream_reader(self.raw, read_across_frames=True, closefd=False)

    def readinto(self, view: memoryview) -> int:
        """Fill ``view`` with up to ``len(view)`` decompressed bytes; 0 means the end."""
        try:
            n = self._inner.readinto(view) or 0
        except _DECOMPRESS_ERRORS as exc:
            if self.compression is None:
                raise CaptureError(self.name, f"read failed: {exc}") from None
            raise CorruptStream(_describe_corruption(self.compression, exc)) from None
        self.out += n
        if n and self.compression is not None:
            self._check_limits()
        return n

    def _check_limits(self) -> None:
        hint = "(use --no-bomb-guard to lift the limit)"
        if self.max_decompressed is not None and self.out > self.max_decompressed:
            raise DecompressionBombError(
                self.name,
                f"decompressed output exceeds {_human(self.max_decompressed)} "
                f"from {_human(self.raw.count)} of {self.compression} data {hint}",
            )
        if self.max_ratio is not None and self.out > RATIO_FLOOR:
            ratio = self.out / max(self.raw.count, 1)
            if ratio > self.max_ratio:
                raise DecompressionBombError(
                    self.name,
                    f"decompressed output exceeds {self.max_ratio:g} times the compressed size "
                    f"({_human(self.out)} from {_human(self.raw.count)} of "
                    f"{self.compression} data) {hint}",
                )

    def sha256(self) -> str | None:
        """Digest of the stored bytes, once they have all been read (else None).

        Also None when the stream was opened with ``sha256=False``.
        """
        return self.raw.hexdigest() if self.raw.eof else None

    def finish(self) -> None:
        """Hash the rest of a regular file after reading stopped early."""
        if self._regular and not self.raw.eof and self.raw.hashing:
            with contextlib.suppress(OSError):
                self.raw.drain()
        if self.size is None and self.raw.eof:
            self.size = self.raw.count

    def close(self) -> None:
        """Release the decompressor and any file this stream opened itself."""
        if self._inner is not self.raw:
            with contextlib.suppress(Exception):
                self._inner.close()
        self.raw._settle()
        self._close_owned(self._fileobj)

    def _close_owned(self, fileobj: BinaryIO) -> None:
        if self._owned:
            fileobj.close()


def _describe_corruption(compression: str, exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return f"{compression} stream ends before its end marker (truncated)"
    text = str(exc).strip() or type(exc).__name__
    return f"corrupt {compression} data ({text})"


def _open_source(source: str | Path | BinaryIO) -> tuple[str, BinaryIO, int | None, bool, bool]:
    """(name, file object, stored size, whether we own it, whether it is a regular file)."""
    if isinstance(source, str | Path):
        name = str(source)
        if name == "-":
            return "-", sys.stdin.buffer, None, False, False
        path = Path(source)
        try:
            if path.is_dir():
                raise CaptureError(name, "is a directory, not a capture file")
            f = open(path, "rb")  # noqa: SIM115 - closed by ByteStream.close
        except CaptureError:
            raise
        except FileNotFoundError:
            raise CaptureError(name, "no such file") from None
        except PermissionError:
            raise CaptureError(name, "permission denied") from None
        except OSError as exc:
            raise CaptureError(name, f"cannot open: {exc.strerror or exc}") from None
        try:
            st = path.stat()
            regular = path.is_file()
        except OSError:
            st, regular = None, False
        return name, f, (st.st_size if st is not None and regular else None), True, regular
    name = str(getattr(source, "name", "<stream>"))
    return name, source, None, False, False
