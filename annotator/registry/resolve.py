"""Which registry to use, and the record of where it came from.

One code path serves every registry used to annotate: :func:`resolve_registry`,
which the public :func:`load_registry` (``annotator.load_registry``) calls, as
do ``annotate(registry=...)``, ``read_flows`` and ``annotate --registry FILE``.
A registry file therefore gives the same registry, metadata included,
whichever way it is handed over.

Precedence, first match wins:

1. an explicit path (``--registry FILE``, ``annotate(..., registry=FILE)``);
2. the file named by ``$ANNOTATOR_REGISTRY``;
3. the copy installed by ``annotate registry update`` in the user cache folder
   (``platformdirs.user_cache_dir("annotator")``, or ``$ANNOTATOR_CACHE``);
4. the snapshot bundled in the package (``annotator/registry/data``).

The loaded registry's ``meta`` says which one it is (``meta.extra["origin"]``
is ``explicit``, ``environment``, ``cache`` or ``snapshot``; a registry given
as bytes is ``explicit`` too), its source and date, and, for the snapshot,
which columns are stale or incomplete, so a report can name the registry it
used and point to ``annotate registry update``.
Default registries are cached in-process, keyed by file and modification time,
so annotating many captures loads the registry once.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import threading
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any

from annotator.errors import RegistryError
from annotator.registry import _snapcache
from annotator.registry._registry import Registry
from annotator.registry.load_csv import load_csv
from annotator.registry.loaders import read_registry
from annotator.registry.model import COLUMNS

#: Environment variable naming a registry file to use by default.
ENV_REGISTRY = "ANNOTATOR_REGISTRY"
#: Environment variable overriding the cache folder (tests point it at a temp dir).
ENV_CACHE = "ANNOTATOR_CACHE"
#: Files ``annotate registry update`` installs, by format, in order of preference.
CURRENT_NAMES = {"xml": "registry.xml", "csv": "registry.csv"}
#: The copy each update replaced, kept beside it.
PREVIOUS_NAMES = {"xml": "registry.previous.xml", "csv": "registry.previous.csv"}
#: How reports and ``registry info`` name the bundled snapshot.
SNAPSHOT_SOURCE = "bundled snapshot"
#: Columns complete and current for every snapshot record; the others are partly stale.
SNAPSHOT_CURRENT_COLUMNS = frozenset(
    {"service_name", "port_number", "transport_protocol", "description"}
)
REMEDY = "annotate registry update"

#: What a registry can be loaded from: a file's path or its bytes.
RegistrySource = str | PathLike[str] | bytes

_lock = threading.Lock()
_loaded: dict[tuple[Any, ...], Registry] = {}


def cache_dir() -> Path:
    """The folder holding the updated registry: ``$ANNOTATOR_CACHE`` or the user cache."""
    override = os.environ.get(ENV_CACHE)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_dir  # only when needed: spares its import at start-up

    return Path(user_cache_dir("annotator"))


def cached_registry_path() -> Path | None:
    """The registry installed by ``annotate registry update``, if there is one."""
    folder = cache_dir()
    for name in CURRENT_NAMES.values():
        path = folder / name
        try:
            if path.is_file():
                return path
        except OSError as exc:  # a folder this user may not enter (sudo kept $HOME...)
            raise RegistryError(
                folder, f"cannot look into the registry cache folder: {exc.strerror or exc} "
                f"(set ${ENV_CACHE} to a folder of yours, or give --registry)"
            ) from None  # fmt: skip
    return None


def clear_default_cache() -> None:
    """Forget registries loaded by default (after an update, or in tests)."""
    with _lock:
        _loaded.clear()


def load_registry(source: RegistrySource | None = None) -> Registry:
    """Load a registry from a file path or raw bytes; None gives the default registry.

    Any form is read (IANA's XML or CSV, or text pasted from IANA's page),
    chosen by content.  A given registry is labelled ``explicit`` in
    ``meta.extra["origin"]``, exactly as ``annotate(registry=path)`` labels
    it; the default is the one ``annotate`` uses when given none
    (``$ANNOTATOR_REGISTRY``, the cached update, then the bundled snapshot),
    loaded once per process.  Raises :class:`~annotator.errors.RegistryError`
    naming the file when it cannot be used.
    """
    return resolve_registry(source)


def resolve_registry(source: RegistrySource | None = None) -> Registry:
    """The registry to use: ``source`` if given, else the default by precedence.

    What :func:`load_registry` does; a given ``source`` is labelled
    ``explicit`` and never cached, the default is cached in-process.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        registry = read_registry(source)
        _label(registry, None, "explicit")
        return registry
    if source is not None:
        return _from_file(Path(source), "explicit", cached=False)
    env = os.environ.get(ENV_REGISTRY, "").strip()
    if env:
        return _from_file(Path(env), "environment", cached=True)
    cached = cached_registry()
    return cached if cached is not None else _snapshot()


def cached_registry() -> Registry | None:
    """The registry installed by ``annotate registry update`` (loaded once), or None."""
    path = cached_registry_path()
    return None if path is None else _from_file(path, "cache", cached=True)


def default_registry() -> Registry:
    """The registry used when none is given (``resolve_registry(None)``), cached in-process."""
    return resolve_registry(None)


def snapshot_metadata() -> dict[str, Any]:
    """The bundled snapshot's ``snapshot.json``: sources, versions, counts, what it lacks."""
    text = (
        resources.files("annotator.registry")
        .joinpath("data", "snapshot.json")
        .read_text(encoding="utf-8")
    )
    return json.loads(text)


def _from_file(path: Path, origin: str, *, cached: bool) -> Registry:
    key: tuple[Any, ...] | None = None
    if cached:
        try:
            stat = path.stat()
            key = (origin, str(path.resolve()), stat.st_mtime_ns, stat.st_size)
        except OSError:
            key = None  # the loader reports the problem with the file
        if key is not None and key in _loaded:
            return _loaded[key]
    try:
        registry = read_registry(path)
    except RegistryError as err:
        raise RegistryError(path, _explain(err.problem, origin)) from None
    _label(registry, path, origin)
    if key is not None:
        with _lock:
            _loaded[key] = registry
    return registry


def adopt_cached(path: Path, registry: Registry) -> None:
    """Remember ``registry``, just loaded from the freshly installed ``path``, as the cache.

    ``annotate registry update`` has already parsed the file to check it;
    this spares the next :func:`default_registry` call a second parse.
    """
    clear_default_cache()
    stat = path.stat()
    _label(registry, path, "cache")
    with _lock:
        _loaded[("cache", str(path.resolve()), stat.st_mtime_ns, stat.st_size)] = registry


def _label(registry: Registry, path: Path | None, origin: str) -> None:
    """Record in ``registry.meta`` where it came from (and, for the cache, when).

    ``path`` is the file read, None for a registry given as bytes.
    """
    meta = registry.meta
    meta.extra["origin"] = origin
    if path is None:
        return
    if origin == "environment":
        meta.source = f"{path} (${ENV_REGISTRY})"
    elif origin == "cache":
        meta.source = f"{path} (cached update)"
        downloaded = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).date().isoformat()
        # Only the date of the install: a CSV carries no date of its own, and
        # an old file installed today is not today's registry.
        meta.extra["downloaded"] = downloaded


def registry_date(meta: Any) -> str:
    """The registry's date for people: its own "updated" date, else ``unknown``
    with the day a cached update was installed (``unknown, downloaded 2026-11-27``)."""
    updated = getattr(meta, "updated", None)
    if updated:
        return str(updated)
    downloaded = (getattr(meta, "extra", None) or {}).get("downloaded")
    return f"unknown, downloaded {downloaded}" if downloaded else "unknown"


def _explain(problem: str, origin: str) -> str:
    if origin == "environment":
        return f"{problem} (named by ${ENV_REGISTRY})"
    if origin == "cache":
        return f"{problem} (the cached update; run `{REMEDY}` again)"
    return problem


def _parse_snapshot(packed: bytes, info: dict[str, Any]) -> Registry:
    """The bundled snapshot parsed from its gzip-compressed CSV bytes."""
    try:
        text = gzip.decompress(packed).decode("utf-8")
    except (OSError, EOFError, ValueError) as err:  # UnicodeDecodeError is a ValueError
        raise RegistryError(SNAPSHOT_SOURCE, f"damaged installation ({err})") from None
    # The converter writes every cell already stripped and folded, and says so.
    normalized = info.get("text_normalized") is True
    return load_csv(text, SNAPSHOT_SOURCE, normalized=normalized)


def _snapshot() -> Registry:
    key = ("snapshot",)
    if key in _loaded:
        return _loaded[key]
    data_dir = resources.files("annotator.registry").joinpath("data")
    try:
        packed = data_dir.joinpath("snapshot.csv.gz").read_bytes()
        info_bytes = data_dir.joinpath("snapshot.json").read_bytes()
        info = json.loads(info_bytes.decode("utf-8"))
    except (OSError, ValueError) as err:  # UnicodeDecodeError is a ValueError
        raise RegistryError(SNAPSHOT_SOURCE, f"damaged installation ({err})") from None
    # A binary copy of an earlier parse of these very bytes, when one was saved.
    saved = _snapcache.cache_file(cache_dir(), packed, info_bytes)
    registry = _snapcache.load(saved)  # None when absent or unusable
    if registry is None:
        registry = _parse_snapshot(packed, info)
        _snapcache.store(saved, registry)
    meta = registry.meta
    meta.title = info.get("title", "")
    meta.updated = info.get("updated", "")
    meta.note = info.get("note", "")
    meta.source = SNAPSHOT_SOURCE
    meta.columns_available = SNAPSHOT_CURRENT_COLUMNS
    stale = [c for c in COLUMNS if c not in SNAPSHOT_CURRENT_COLUMNS]
    meta.extra.update(
        origin="snapshot",
        snapshot=info,
        columns_stale=stale,
        columns_stale_as_of=info.get("stale_columns", {}).get("as_of", ""),
        columns_missing_for=info.get("missing_columns", {}).get("count", 0),
        lacks=list(info.get("lacks", [])),
        remedy=REMEDY,
    )
    with _lock:
        _loaded[key] = registry
    return registry
