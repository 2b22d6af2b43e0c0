"""Choosing the report format and writing it without ever leaving half a file.

* The format comes from ``fmt`` or, when that is None, from the destination's
  extension.
* A regular file (existing or new) is written to a temporary file in the
  same folder, flushed to disk, then renamed over the destination with
  :func:`os.replace`; a renderer that fails, or a run that is interrupted,
  leaves the old file (or no file) and no temporary file behind.
* ``"-"`` writes to standard output.
* An existing non-regular file (``/dev/null``, a FIFO, a terminal device) is
  opened and written directly: renaming onto it would replace the device
  node (as root) or fail.
* A destination that is one of the input captures is refused.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from annotator.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from annotator.result import AnnotateResult

FORMATS = ("html", "markdown", "json", "jsonl", "csv", "parquet", "text")

_ALIASES = {
    "htm": "html",
    "md": "markdown",
    "ndjson": "jsonl",
    "txt": "text",
    "terminal": "text",
}

#: Every name :func:`choose_format` accepts for a format: the formats, then their aliases.
FORMAT_NAMES = (*FORMATS, *_ALIASES)

_EXTENSIONS = {
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".txt": "text",
}


def choose_format(destination: str | Path, fmt: str | None = None) -> str:
    """The report format: ``fmt`` when given, else from the file extension
    (``"-"``, standard output, defaults to the plain-text summary)."""
    if fmt is not None:
        name = _ALIASES.get(fmt.lower(), fmt.lower())
        if name not in FORMATS:
            raise UsageError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
        return name
    if str(destination) == "-":
        return "text"  # standard output without a format: the summary, as on a terminal
    suffix = Path(str(destination)).suffix.lower()
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    raise UsageError(
        f"cannot tell the report format for {str(destination)!r}; use a file name ending in "
        f"{', '.join(sorted(_EXTENSIONS))} or give the format ({', '.join(FORMATS)})"
    )


def _renderer(fmt: str, *, defang: bool, max_flows: int) -> tuple[bool, Callable[[Any, Any], None]]:
    """(binary?, function(result, stream)) for one format."""
    if fmt == "parquet":
        from annotator.report.parquet import write_parquet

        return True, write_parquet
    if fmt == "json":
        from annotator.report.json import write_json

        return False, write_json
    if fmt == "jsonl":
        from annotator.report.json import write_jsonl

        return False, write_jsonl
    if fmt == "csv":
        from annotator.report.csv import write_csv

        return False, write_csv
    if fmt == "html":
        from annotator.report.html import write_html

        return False, lambda r, out: write_html(r, out, defang=defang, max_flows=max_flows)
    if fmt == "markdown":
        from annotator.report.markdown import write_markdown

        return False, lambda r, out: write_markdown(r, out, defang=defang, max_flows=max_flows)
    from annotator.report.terminal import write_text

    return False, lambda r, out: write_text(r, out, defang=defang)


def _render(render: Callable[[Any, Any], None], binary: bool, result: Any, raw: IO[bytes]) -> None:
    if binary:  # Parquet wants a seekable file; pipes and devices get a buffered copy
        if raw.seekable():
            render(result, raw)
        else:
            buffer = io.BytesIO()
            render(result, buffer)
            raw.write(buffer.getvalue())
        return
    text = io.TextIOWrapper(raw, encoding="utf-8", newline="", write_through=True)
    try:
        render(result, text)
        text.flush()
    finally:
        text.detach()


def _is_input(target: Path, inputs: Iterable[str | os.PathLike[str]]) -> bool:
    resolved = target.resolve()
    for item in inputs:
        if str(item) == "-":
            continue
        path = Path(item)
        if path.resolve() == resolved:
            return True
        with contextlib.suppress(OSError):
            if target.exists() and path.exists() and os.path.samefile(path, target):
                return True
    return False


def _write_atomically(
    target: Path, render: Callable[[Any, Any], None], binary: bool, result: Any
) -> None:
    folder = target.parent
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as raw:
            _render(render, binary, result, raw)
            raw.flush()
            os.fsync(raw.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp_name, 0o666 & ~umask)
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise


def write_report(
    result: AnnotateResult,
    destination: str | Path,
    *,
    fmt: str | None = None,
    defang: bool = False,
    max_flows: int = 5000,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> None:
    """Write ``result`` as a report to ``destination`` (``"-"`` for standard output).

    ``fmt`` is one of html, markdown, json, jsonl, csv, parquet, text (None:
    from the extension).  ``defang`` rewrites indicators in the human-facing
    formats (html, markdown, text); the machine formats stay exact.
    ``max_flows`` caps the flow table of the HTML and Markdown reports (every
    finding is still listed).  ``inputs`` are the capture paths that were read:
    a destination that is one of them is refused, so a report never
    overwrites its evidence.  Raises :class:`UsageError` for a bad format or
    destination.
    """
    name = choose_format(destination, fmt)
    if max_flows < 0:
        raise UsageError(f"max_flows must be 0 or more, not {max_flows}")
    binary, render = _renderer(name, defang=defang, max_flows=max_flows)

    if str(destination) == "-":
        _render(render, binary, result, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return

    target = Path(destination)
    if _is_input(target, inputs):
        raise UsageError(f"{target}: refusing to write the report over an input capture")
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise UsageError(f"{target}: cannot write the report: {exc.strerror}") from None
    try:
        if mode is not None and stat.S_ISDIR(mode):
            raise UsageError(f"{target}: is a folder; give a file name for the report")
        if mode is not None and not stat.S_ISREG(mode):
            with open(target, "wb") as raw:  # device or FIFO: write in place, never rename
                _render(render, binary, result, raw)
            return
        if not target.parent.is_dir():
            raise UsageError(f"{target}: the folder {target.parent} does not exist")
        _write_atomically(target, render, binary, result)
    except BrokenPipeError:
        raise  # a reader that went away (-o /dev/stdout | head): as for "-", not an error
    except OSError as exc:
        raise UsageError(f"{target}: cannot write the report: {exc.strerror or exc}") from None
