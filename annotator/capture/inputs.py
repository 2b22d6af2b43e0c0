"""What the user named as input, as a list of capture files.

``annotate`` takes files, directories and glob patterns (quoted, so the shell
left them alone, or from Python).  A directory stands for the capture files in
it -- a rotated set from ``tcpdump -C``/``-G`` or a ring buffer, whose names
carry counters or dates rather than extensions -- so its files are recognised
by their first bytes, never by their names, and others (a README, a checksum
list, a FIFO) are skipped and reported.  Subdirectories are not entered.  A
glob pattern's matches are sorted the same way.  A file named twice (or
reached twice, through a directory and a pattern) is refused: its packets
would count twice.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from typing import Any

from annotator.capture.formats.compression import COMPRESSION_MAGIC
from annotator.errors import InputError

#: First bytes of uncompressed captures: pcap in both byte orders and both
#: timestamp resolutions, and a pcapng section header block.
CAPTURE_MAGIC = (
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
    b"\x0a\x0d\x0d\x0a",
)
_GLOB_CHARS = frozenset("*?[")


@dataclass
class Inputs:
    """Capture sources in the order found, and the entries of directories and
    patterns that were skipped, with why (``why[path]``)."""

    sources: list[Any] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    why: dict[str, str] = field(default_factory=dict)

    def skip(self, path: str, reason: str) -> None:
        self.skipped.append(path)
        self.why[path] = reason


def looks_like_capture(path: str) -> bool:
    """True when the file starts like a capture or a compressed file.

    A file that cannot be opened counts as one: reading it then names the
    real problem (permission denied...) instead of skipping it as "not a
    capture", which would leave a hole in a set without an error.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return True
    return head.startswith(CAPTURE_MAGIC) or any(
        head.startswith(m) for m in COMPRESSION_MAGIC.values()
    )


def expand_inputs(items: list[Any]) -> Inputs:
    """Files, directories and glob patterns into capture sources.

    ``-``, file objects and URLs pass through; an existing file is taken as it is
    (reading it reports what is wrong with it); a directory contributes its
    capture files in name order; a name that does not exist but holds ``*``,
    ``?`` or ``[`` is a glob pattern, expanded in name order (directories it
    matches are expanded too).  Raises :class:`InputError` for a directory
    without captures or a pattern that matches nothing.
    """
    out = Inputs()
    for item in items:
        if not isinstance(item, str | os.PathLike) or os.fspath(item) == "-":
            out.sources.append(item)
            continue
        path = os.fspath(item)
        if "://" in path:  # a URL (s3://, https://...): one file, read where it is opened
            out.sources.append(item)
        elif os.path.isdir(path):
            _directory(path, out)
        elif not os.path.lexists(path) and _GLOB_CHARS & set(path):
            matches = sorted(glob.glob(path))
            if not matches:
                raise InputError(path, "no file matches this pattern")
            if not _entries(matches, out):
                raise InputError(path, "no capture files match this pattern")
        else:
            out.sources.append(item)
    _refuse_repeats(out.sources)
    return out


def _directory(path: str, out: Inputs) -> None:
    try:
        names = sorted(n for n in os.listdir(path) if not n.startswith("."))
    except OSError as exc:
        raise InputError(path, f"cannot list this directory: {exc.strerror or exc}") from None
    if not _entries([os.path.join(path, n) for n in names], out, nested=False):
        raise InputError(path, "no capture files in this directory")


def _entries(paths: list[str], out: Inputs, *, nested: bool = True) -> int:
    """Add the capture files among ``paths`` (a directory's entries or a
    pattern's matches) to ``out``, noting the others; return how many.

    Directories matched by a pattern are expanded; a directory's own
    subdirectories are not entered (``nested=False``), silently.
    """
    found = 0
    for full in paths:
        if os.path.isdir(full):
            if nested:
                before = len(out.sources)
                _directory(full, out)
                found += len(out.sources) - before
            continue
        if not os.path.isfile(full):  # a FIFO, a socket, a device, a broken link
            out.skip(full, "skipped, not a regular file")
        elif looks_like_capture(full):
            out.sources.append(full)
            found += 1
        else:
            out.skip(full, "skipped, not a capture file")
    return found


def _refuse_repeats(sources: list[Any]) -> None:
    """The same file named twice would count each of its packets twice."""
    seen: dict[str, str] = {}
    for source in sources:
        if not isinstance(source, str | os.PathLike) or os.fspath(source) == "-":
            continue
        name = os.fspath(source)
        if "://" in name or not os.path.exists(name):
            continue
        key = os.path.realpath(name)
        if key in seen:
            raise InputError(
                name, f"named twice (also as {seen[key]}): its packets would count twice"
            )
        seen[key] = name
