"""What a read is given: capture sources, checked before any file is opened.

A source is a path (a file, a directory, a glob pattern or ``"-"`` for
standard input) or a binary file object; a read takes one or a list of them.
Anything else -- the capture's bytes themselves, a text-mode file, a number --
is a one-line :class:`~annotator.errors.UsageError` here, not a ``TypeError``
deep in a reader.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from typing import Any, BinaryIO

from annotator.capture.inputs import Inputs, expand_inputs
from annotator.errors import UsageError

#: One capture file as the format readers open it: a path, ``"-"`` for
#: standard input, or a binary file object (see
#: :func:`annotator.capture.formats.open_capture`).
CaptureSource = str | os.PathLike[str] | BinaryIO

_USAGE = "read_flows: give a capture path, '-', a binary file or a list of them"


def source_name(source: object) -> str:
    """The name a capture is reported under: its path, or a stream's name."""
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    return str(getattr(source, "name", "<stream>"))


def check_sources(paths: object) -> Inputs:
    """One source or an iterable of them, checked and expanded into capture files.

    Directories and glob patterns are expanded (:func:`expand_inputs`); what
    they held that is not a capture is listed in ``Inputs.skipped``.
    """
    if isinstance(paths, str | os.PathLike) or hasattr(paths, "read"):
        items: list[Any] = [paths]
    elif isinstance(paths, Iterable) and not isinstance(paths, bytes | bytearray | memoryview):
        items = list(paths)
    else:
        items = []  # bytes would iterate as integers: the capture's content is not a path
    if not items:
        raise UsageError(_USAGE)
    for item in items:
        if isinstance(item, io.TextIOBase):
            name = source_name(item)
            raise UsageError(f"{_USAGE}: {name} is open in text mode; open it with 'rb'")
        if not (isinstance(item, str | os.PathLike) or hasattr(item, "read")):
            raise UsageError(f"{_USAGE}, not {type(item).__name__}")
    return expand_inputs(items)


def read_once(source: object) -> bool:
    """A source that cannot be opened twice: standard input, a file object, a
    FIFO or a shell's ``<(...)`` (peeking at its first packet would eat it)."""
    if not isinstance(source, str | os.PathLike):
        return True
    name = os.fspath(source)
    return name == "-" or ("://" not in name and os.path.exists(name) and not os.path.isfile(name))
