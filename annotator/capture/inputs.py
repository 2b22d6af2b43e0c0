"""What the user named as input, as a list of capture files.

``annotate`` takes files, directories and glob patterns (quoted, so the shell
left them alone, or from Python).  A directory stands for the capture files in
it -- a rotated set from ``tcpdump -C``/``-G`` or a ring buffer, whose names
carry counters or dates rather than extensions -- so its files are recognised
by their first bytes, never by their names, and others (a README, a checksum
list) are skipped and reported.  Subdirectories are not entered.
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
    """Capture sources in the order found, and the directory entries skipped."""

    sources: list[Any] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def looks_like_capture(path: str) -> bool:
    """True when the file starts like a capture or a compressed file."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return False
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
            for match in matches:
                if os.path.isdir(match):
                    _directory(match, out)
                else:
                    out.sources.append(match)
        else:
            out.sources.append(item)
    return out


def _directory(path: str, out: Inputs) -> None:
    names = sorted(n for n in os.listdir(path) if not n.startswith("."))
    found = 0
    for name in names:
        full = os.path.join(path, name)
        if not os.path.isfile(full):
            continue
        if looks_like_capture(full):
            out.sources.append(full)
            found += 1
        else:
            out.skipped.append(full)
    if not found:
        raise InputError(path, "no capture files in this directory")
