"""Annotating a capture set on a Dask cluster (``pip install 'annotator[dask]'``).

Each file of the set is one task: a worker reads it with
:func:`annotator.flows.part.read_part` in boundary mode (a worker cannot
cheaply peek at the other files to learn which comes first) and fingerprints
payloads as flows complete, so what travels back is a
:class:`~annotator.flows.merge.FilePart` (flow records, fingerprint results and
counts), never payload bytes.  The driver merges the parts with
:class:`annotator.flows.merge.SetMerger`, the same rules as a single read:
idle splits, FIN/RST-then-SYN and the client/server decision are applied across
file boundaries.  The result equals :func:`annotator.annotate` on the same set.

Sources are local paths (they must exist, at the same path, on every worker;
directories and glob patterns are expanded on the driver) or fsspec URLs
(``s3://``, ``gcs://``, ``http(s)://``, ``file://``) opened on the worker, with
the workers' own credentials.  dask, distributed and fsspec are imported only
when this module is.
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import Sequence
from os import PathLike
from typing import Any, BinaryIO, cast

import pandas as pd

from annotator._api import as_registry, assemble
from annotator.capture.inputs import expand_inputs
from annotator.errors import AnnotatorError, InputError, UsageError
from annotator.evidence import fingerprint_payloads
from annotator.flows.capture_set import (
    OrderedMerge,
    build_set_merger,
    first_timestamp,
    time_order,
)
from annotator.flows.finish import build_flow_table
from annotator.flows.merge import FilePart
from annotator.flows.options import Progress, ReadOptions
from annotator.flows.part import read_part
from annotator.registry import Registry
from annotator.result import AnnotateResult, FlowTable

try:
    import distributed
    import fsspec
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise UsageError(
        f"annotator.dask needs {exc.name or 'dask'}: pip install 'annotator[dask]'"
    ) from None

__all__ = ["annotate_many", "read_many"]

#: URL schemes opened with fsspec on the worker rather than as local paths.
_URL_MARK = "://"

#: The reading keywords a cluster read takes (see :func:`annotator.read_flows`).
_OPTIONS = ("idle_timeout", "payload_c2s", "payload_s2c", "bomb_guard", "sha256")


class _NamedStream(io.RawIOBase):
    """A remote file object presented to the capture reader under its URL."""

    def __init__(self, raw: Any, name: str) -> None:
        super().__init__()
        self._raw = raw
        self.name = name

    def readable(self) -> bool:
        return True

    def readinto(self, view: Any) -> int:
        data = self._raw.read(len(view))
        view[: len(data)] = data
        return len(data)


def _as_file(raw: Any, url: str) -> BinaryIO:
    """A remote file under its URL's name, as the binary file the capture readers take
    (they only read it, front to back)."""
    return cast(BinaryIO, _NamedStream(raw, url))


def _is_url(source: Any) -> bool:
    return isinstance(source, str) and _URL_MARK in source


def _open_url(url: str) -> Any:
    """The fsspec file of ``url``, opened on the worker; a one-line InputError when it cannot be.

    HTTP is streamed (no range requests, which plain servers lack); the
    reader reads front to back and never seeks.
    """
    streamed = {"block_size": 0} if url.startswith(("http://", "https://")) else {}
    try:
        return fsspec.open(url, "rb", **streamed).open()
    except FileNotFoundError:
        problem = "no such file"
    except Exception as exc:  # any backend's failure to open, as one line
        problem = f"cannot open: {exc}"
    raise InputError(url, problem)


def _read_one(source: str, options: ReadOptions, registry: Registry) -> FilePart:
    """Worker side: one file (path or URL) into a fingerprinted FilePart.

    An :class:`AnnotatorError` leaves without its chained cause: the cause
    (an HTTP response, say) may not pickle, and the scheduler would then
    hand the caller a bare ``Exception`` instead of the one-line error.
    """
    try:
        return _read_source(source, options, registry)
    except AnnotatorError as exc:
        exc.__cause__ = exc.__context__ = None
        raise


def _first_one(source: str) -> int | None:
    """Worker side: the first packet's timestamp of one file (path or URL), to order the set."""
    try:
        if not _is_url(source):
            return first_timestamp(source)
        raw = _open_url(source)
        try:
            return first_timestamp(_as_file(raw, source))
        finally:
            raw.close()
    except AnnotatorError as exc:
        exc.__cause__ = exc.__context__ = None
        raise


def _read_source(source: str, options: ReadOptions, registry: Registry) -> FilePart:
    if not _is_url(source):
        return read_part(source, options, registry, boundary=True)
    raw = _open_url(source)
    problem = None
    try:
        part = read_part(_as_file(raw, source), options, registry, boundary=True)
    except AnnotatorError:
        raise
    except OSError as exc:
        problem = f"read failed: {exc}"
    finally:
        raw.close()
    if problem is not None:
        raise InputError(source, problem)
    size = getattr(raw, "size", None)
    if isinstance(size, int):
        part.info = dataclasses.replace(part.info, size=size)
    return part


def _expand(paths: Any) -> list[str]:
    """Sources as a list: URLs kept as given, local directories and globs expanded."""
    if isinstance(paths, str | PathLike):
        paths = [paths]
    items = [os.fspath(p) if isinstance(p, PathLike) else p for p in paths]
    if not items or not all(isinstance(p, str) for p in items):
        raise UsageError("annotator.dask: give capture paths or URLs (not streams)")
    if "-" in items:
        raise UsageError("annotator.dask: standard input cannot be sent to a cluster")
    expanded = {
        p: [os.fspath(s) for s in expand_inputs([p]).sources] for p in items if not _is_url(p)
    }
    return [s for p in items for s in expanded.get(p, [p])]


def _check_address(address: str) -> None:
    """Refuse a malformed scheduler address before a Client is built: one that
    fails half-way leaves a Client whose clean-up can hang the process."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address)
        if scheme in ("tcp", "tls", "ws", "wss"):
            parse_host_port(location)
    except (ValueError, TypeError) as exc:  # "foo", "tcp://": no port, no host
        raise UsageError(
            f"{address!r} is not a Dask scheduler address such as tcp://host:8786 ({exc})"
        ) from None


def _client(client: Any) -> tuple[Any, bool]:
    """A distributed.Client (and whether we opened it) from a Client or an address."""
    if isinstance(client, str):
        _check_address(client)
        try:
            return distributed.Client(client, timeout="20s"), True
        except OSError as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {client}: {exc}") from None
    if isinstance(client, distributed.Client):
        return client, False
    raise UsageError("client must be a distributed.Client or a scheduler address string")


def _options(options: dict[str, Any]) -> tuple[ReadOptions, Progress | None]:
    """The reading options, checked on the driver before anything is sent.

    Files are fingerprinted on the workers, so only evidence travels back.
    """
    progress = options.pop("progress", None)
    options.pop("jobs", None)  # the cluster decides how many files are read at once
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise UsageError(f"annotator.dask: unknown option {unknown[0]!r}")
    return ReadOptions(**options, fingerprint=fingerprint_payloads), progress


def read_many(
    paths: str | PathLike[str] | Sequence[str | PathLike[str]],
    client: Any,
    *,
    registry: Registry | str | PathLike[str] | None = None,
    **options: Any,
) -> FlowTable:
    """Read a capture set on a Dask cluster into one fingerprinted flow table.

    ``client`` is a ``distributed.Client`` or a scheduler address such as
    ``"tcp://host:8786"`` (a client is then opened and closed here).
    ``options``: ``idle_timeout``, ``payload_c2s``, ``payload_s2c``,
    ``bomb_guard``, ``sha256`` as for :func:`annotator.read_flows` (so each
    file's SHA-256 only when ``sha256=True``), and ``progress``, called with
    the packets and stored bytes read so far as each file finishes.  A file a
    worker cannot read raises the same one-line :class:`AnnotatorError` as a
    local read.
    """
    checked, progress = _options({"sha256": False, **options})
    sources = _expand(paths)
    reg = as_registry(registry)
    dask_client, owned = _client(client)
    try:
        # The files' order in time first (one small read each), so parts can
        # be merged -- and their settled flows' bytes dropped -- as they come.
        firsts = dask_client.gather(dask_client.map(_first_one, sources, pure=False))
        order = time_order(firsts)
        merge = OrderedMerge(build_set_merger(reg, checked), order)
        shared = dask_client.scatter(reg, broadcast=True, hash=False)
        futures = {
            dask_client.submit(_read_one, sources[i], checked, shared, pure=False): i for i in order
        }
        packets = nbytes = 0
        try:
            for future in distributed.as_completed(list(futures)):
                part = future.result()
                merge.deliver(futures[future], part)
                packets += part.counts["total"]
                nbytes += part.info.size or 0
                if progress is not None:
                    progress(packets, nbytes)
        except BaseException:
            dask_client.cancel(list(futures))
            raise
    finally:
        if owned:
            dask_client.close()
    return build_flow_table(merge.merger, merge.parts(), reg, checked)


def annotate_many(
    paths: str | PathLike[str] | Sequence[str | PathLike[str]],
    client: Any,
    registry: Registry | str | PathLike[str] | None = None,
    **options: Any,
) -> AnnotateResult:
    """Annotate a capture set on a Dask cluster; the result of :func:`annotator.annotate`.

    Files are read and fingerprinted on the workers, merged by flow key on
    the driver with the single-read flow rules, then triaged here.  See
    :func:`read_many` for ``client`` and ``options``; as with
    :func:`annotator.annotate`, each file's SHA-256 is computed unless
    ``sha256=False`` (reports carry it for the chain of custody).
    """
    started = pd.Timestamp.now(tz="UTC")
    reg = as_registry(registry)
    table = read_many(paths, client, registry=reg, **{"sha256": True, **options})
    return assemble(table, reg, started)
