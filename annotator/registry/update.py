"""``annotate registry update``: fetch IANA's current registry into the user cache.

The bundled snapshot is as current as redistributable sources allow; the
official registry is one download away. :func:`update_registry` fetches it
(IANA's XML by default; IANA's CSV or a local file work too), proves it loads
with the ordinary loader and is plausibly complete, then installs it into the
cache folder atomically, keeping the copy it replaces. From then on
:func:`annotator.registry.resolve.resolve_registry` prefers it to the snapshot.

Every failure is an :class:`~annotator.errors.UpdateError` with a one-line
message naming the source; the installed copy is never touched on failure.
"""

from __future__ import annotations

import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO

from annotator.errors import AnnotatorError, InputError, UpdateError
from annotator.registry._registry import Registry
from annotator.registry.loaders import read_registry
from annotator.registry.resolve import (
    CURRENT_NAMES,
    PREVIOUS_NAMES,
    adopt_cached,
    cache_dir,
    cached_registry_path,
)

#: Where IANA publishes the registry as XML (the richest form, with the people table).
DEFAULT_SOURCE = (
    "https://www.iana.org/assignments/service-names-port-numbers/service-names-port-numbers.xml"
)
#: Below this many records a download is a truncated or wrong file, not the registry.
MIN_RECORDS = 10_000
#: The registry is about 4 MB; anything far larger is not it (and must not fill the disk).
MAX_BYTES = 64 * 1024 * 1024
#: Seconds to wait for the server before giving up.
TIMEOUT = 60.0
_CHUNK = 64 * 1024
_USER_AGENT = "annotator-registry-update (+https://www.iana.org/assignments/)"


def update_registry(source: str | None = None, *, progress: bool = True) -> Path:
    """Download (or copy) a registry, check it, install it in the cache; return its path.

    ``source`` is an ``http(s)://`` or ``file://`` URL or a local file path;
    None means IANA's official XML. ``progress`` shows a progress bar on
    standard error. Raises :class:`UpdateError` when the source cannot be
    fetched, does not parse as a registry, or holds too few records.
    """
    source = source or DEFAULT_SOURCE
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(prefix=".download-", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise UpdateError(f"cannot write into the cache folder {folder}: {_reason(exc)}") from None
    temp = Path(temp_name)
    try:
        try:
            with os.fdopen(handle, "wb") as sink:
                _fetch(source, sink, progress=progress)
            temp.chmod(0o644)  # mkstemp makes it private; the registry is public data
        except OSError as exc:  # disk full, quota, ...
            raise UpdateError(f"cannot write {temp}: {_reason(exc)}") from None
        registry, kind = _check(source, temp)
        installed = _install(temp, folder, kind)
    finally:
        temp.unlink(missing_ok=True)
    adopt_cached(installed, registry)
    return installed


def _is_url(source: str) -> bool:
    return source.split(":", 1)[0].lower() in ("http", "https", "file") and "://" in source


def _fetch(source: str, sink: BinaryIO, *, progress: bool) -> None:
    """Stream ``source`` into ``sink``, refusing more than :data:`MAX_BYTES`."""
    with ExitStack() as stack:
        if _is_url(source):
            request = urllib.request.Request(source, headers={"User-Agent": _USER_AGENT})
            try:
                response = stack.enter_context(urllib.request.urlopen(request, timeout=TIMEOUT))
            except urllib.error.HTTPError as exc:
                raise UpdateError(f"{source}: HTTP error {exc.code} {exc.reason}") from None
            except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
                raise UpdateError(f"{source}: cannot download ({_reason(exc)})") from None
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            reader: BinaryIO = response
        else:
            path = Path(source).expanduser()
            try:
                reader = stack.enter_context(path.open("rb"))
                total = path.stat().st_size
            except OSError as exc:
                raise UpdateError(f"{source}: cannot read ({_reason(exc)})") from None
        advance = stack.enter_context(_progress_bar(source, total, enabled=progress))
        copied = 0
        while True:
            try:
                chunk = reader.read(_CHUNK)
            except (http.client.HTTPException, OSError, ValueError) as exc:
                raise UpdateError(f"{source}: download interrupted ({_reason(exc)})") from None
            if not chunk:
                break
            copied += len(chunk)
            if copied > MAX_BYTES:
                raise UpdateError(
                    f"{source}: larger than {MAX_BYTES // (1024 * 1024)} MiB, not the registry"
                )
            sink.write(chunk)
            advance(len(chunk))
        if total is not None and _is_url(source) and copied < total:
            raise UpdateError(f"{source}: download truncated ({copied} of {total} bytes)")


class _NoBar:
    """Stand-in for the progress bar when it is turned off."""

    def __enter__(self) -> Callable[[int], None]:
        return lambda _n: None

    def __exit__(self, *exc: object) -> None:
        return None


class _RichBar:
    """A rich progress bar on standard error, sized when the length is known."""

    def __init__(self, source: str, total: int | None) -> None:
        # rich is imported only when a bar is shown (not in scripts, nor in tests).
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn("registry update"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = self._progress.add_task(source, total=total)

    def __enter__(self) -> Callable[[int], None]:
        self._progress.start()
        return lambda n: self._progress.advance(self._task, n)

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()


def _progress_bar(source: str, total: int | None, *, enabled: bool) -> _NoBar | _RichBar:
    return _RichBar(source, total) if enabled else _NoBar()


def _check(source: str, path: Path) -> tuple[Registry, str]:
    """Load the download with the ordinary loader; return it and ``"xml"`` or ``"csv"``."""
    try:
        registry = read_registry(path)
    except InputError as exc:
        raise UpdateError(f"{source}: not a usable registry ({exc.problem})") from None
    except AnnotatorError as exc:
        raise UpdateError(f"{source}: not a usable registry ({exc})") from None
    count = len(registry)
    if count <= MIN_RECORDS:
        raise UpdateError(
            f"{source}: implausible registry, {count} records (the full registry has over "
            f"{MIN_RECORDS:,}); nothing was installed"
        )
    fmt = str(getattr(registry.meta, "format", "") or "").lower()
    if fmt in ("xml", "csv"):
        return registry, fmt
    raise UpdateError(f"{source}: expected IANA's XML or CSV, got {fmt or 'another form'}")


def _install(temp: Path, folder: Path, kind: str) -> Path:
    """Move the checked download into place atomically, keeping the copy it replaces."""
    target = folder / CURRENT_NAMES[kind]
    try:
        current = cached_registry_path()
        if current is not None:
            previous = folder / PREVIOUS_NAMES[current.suffix.lstrip(".")]
            staged = folder / f".{previous.name}.tmp"
            shutil.copyfile(current, staged)
            for name in PREVIOUS_NAMES.values():
                (folder / name).unlink(missing_ok=True)
            os.replace(staged, previous)
        os.replace(temp, target)
        for name in CURRENT_NAMES.values():
            if folder / name != target:
                (folder / name).unlink(missing_ok=True)
    except OSError as exc:
        raise UpdateError(f"cannot install the registry into {folder}: {_reason(exc)}") from exc
    return target


def _reason(exc: BaseException) -> str:
    """A short, single-line reason for an OS or network error."""
    reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
    return " ".join(str(reason).split()) or type(exc).__name__
