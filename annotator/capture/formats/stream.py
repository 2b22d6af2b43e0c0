"""The byte stream under a capture: a file or standard input, hashed, maybe compressed.

:class:`ByteStream` opens the source (a path, ``"-"`` for standard input, or
a binary file object), peeks at its first bytes to detect the compression,
and stacks the layers a read goes through: the stored bytes, counted and
hashed (:mod:`.hashing`), then the decompressor when there is one, with the
decompression-bomb guard checked on its output (:mod:`.compression`).

Opening errors are :class:`~annotator.errors.CaptureError` with a message
that says what is wrong with the source (missing, a directory, not readable).
When reading stops early on a corrupt capture, :meth:`ByteStream.finish`
still hashes the rest of a regular file, while standard input is hashed as
far as it was read.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path
from typing import BinaryIO

from annotator.capture.formats.compression import (
    DECOMPRESS_ERRORS,
    DEFAULT_MAX_DECOMPRESSED,
    DEFAULT_MAX_RATIO,
    BombGuard,
    CorruptStream,
    decompressing,
    describe_corruption,
    detect_compression,
)
from annotator.capture.formats.hashing import HashingRaw
from annotator.errors import CaptureError

#: Bytes peeked at to detect the compression (the longest magic number).
MAGIC_PEEK = 6


class ByteStream:
    """The decompressed bytes of a capture, read with :meth:`readinto`.

    ``compression`` names the detected format (None for plain files).  The
    stream raises :class:`~annotator.capture.formats.compression.CorruptStream`
    when compressed data turns out to be damaged and
    :class:`~annotator.errors.DecompressionBombError` when a limit is exceeded.
    ``sha256=False`` reads without hashing (:meth:`sha256` is then None).
    ``readers`` is the number of capture readers running at once on this
    machine; it decides whether hashing may take a helper thread
    (:mod:`.hashing`).
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | BinaryIO,
        *,
        max_decompressed: int | None = DEFAULT_MAX_DECOMPRESSED,
        max_ratio: float | None = DEFAULT_MAX_RATIO,
        sha256: bool = True,
        readers: int = 1,
    ) -> None:
        self.name, fileobj, self.size, self._owned, self._regular = _open_source(source)
        try:
            head = _peek(fileobj, MAGIC_PEEK)
        except OSError as exc:
            self._close_owned(fileobj)
            raise CaptureError(self.name, f"cannot read: {exc.strerror or exc}") from None
        self._fileobj = fileobj
        self.raw = HashingRaw(fileobj, head, hashing=sha256, readers=readers)
        self.compression = detect_compression(head)
        self.guard = BombGuard(max_decompressed, max_ratio)
        self.out = 0  # decompressed bytes delivered so far
        self._inner: io.RawIOBase
        if self.compression is None:
            self._inner = self.raw
            self.raw.stable = True  # the reader never rewrites a buffer a hash job still holds
        else:
            self._inner = decompressing(self.raw, self.compression)

    def readinto(self, view: memoryview) -> int:
        """Fill ``view`` with up to ``len(view)`` decompressed bytes; 0 means the end."""
        try:
            n = self._inner.readinto(view) or 0
        except DECOMPRESS_ERRORS as exc:
            if self.compression is None:
                raise CaptureError(self.name, f"read failed: {exc}") from None
            raise CorruptStream(describe_corruption(self.compression, exc)) from None
        self.out += n
        if n and self.compression is not None:
            self.guard.check(self.name, self.compression, self.out, self.raw.count)
        return n

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
        self.raw.settle()
        self._close_owned(self._fileobj)

    def _close_owned(self, fileobj: BinaryIO) -> None:
        if self._owned:
            fileobj.close()


def _open_source(
    source: str | os.PathLike[str] | BinaryIO,
) -> tuple[str, BinaryIO, int | None, bool, bool]:
    """(name, file object, stored size, whether we own it, whether it is a regular file).

    Any ``os.PathLike`` is a path (``pathlib.Path`` and others alike); anything
    else is taken as an open binary file.
    """
    if isinstance(source, str | os.PathLike):
        name = os.fspath(source)
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


def _peek(f: BinaryIO, n: int) -> bytes:
    """Read up to ``n`` bytes, looping over short reads (pipes deliver piecemeal)."""
    out = b""
    while len(out) < n:
        more = f.read(n - len(out))
        if not more:
            break
        out += more
    return out
