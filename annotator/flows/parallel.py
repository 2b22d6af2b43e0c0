"""Reading the files of a capture set in several processes (``jobs``).

Each worker process reads whole files (:func:`annotator.flows.part.read_part`)
and sends back their :class:`~annotator.flows.merge.FilePart`; the parent
merges them exactly as it merges files it read itself, so the result does not
depend on the number of processes.  Files are handed out in time order, so
the parent can merge each part soon after it arrives (and free it), or
largest first when that order is unknown.

Every worker gets the read options and the registry once, when it starts;
the options say how many readers run at once (``readers``: the number of
workers), so a reader does not count on a free CPU for its helper threads.

Progress: every worker writes its file's packet and byte counts into a shared
array (no messages, no locks: each slot has one writer); the parent sums the
array while it waits and passes the totals to the caller's callback.

Workers are started by fork where the platform has it (they inherit the
imported modules, and for a large set the compiled record walks loaded once
in the parent, so starting one is cheap) and by spawn elsewhere.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, MutableSequence, Sequence
from typing import TYPE_CHECKING

from annotator.capture.formats.reader import warm_kernels
from annotator.flows.merge import FilePart
from annotator.flows.options import Progress, ReadOptions
from annotator.flows.part import read_part
from annotator.flows.sources import CaptureSource

if TYPE_CHECKING:  # pragma: no cover
    from multiprocessing.context import BaseContext

    from annotator.registry import Registry

#: Stored bytes of a set from which the parent loads the compiled walks before
#: forking: below it, files are small enough that readers may not use them.
WARM_MIN_BYTES = 32 * 1024 * 1024


@dataclasses.dataclass
class _Worker:
    """What a worker process keeps from its start: the read's options and registry,
    and the shared progress array (packets and bytes read, two slots per file)."""

    options: ReadOptions
    registry: Registry | None
    counters: MutableSequence[int]


_worker: _Worker | None = None  # set in each worker process by _init


def _init(options: ReadOptions, registry: Registry | None, counters: MutableSequence[int]) -> None:
    global _worker
    _worker = _Worker(options, registry, counters)


def _read(index: int, source: CaptureSource, boundary: bool) -> FilePart:
    worker = _worker
    if worker is None:
        raise RuntimeError("_read runs in a worker process started with _init")
    counters = worker.counters

    def progress(packets: int, nbytes: int) -> None:
        counters[2 * index] = packets
        counters[2 * index + 1] = nbytes

    return read_part(source, worker.options, worker.registry, boundary=boundary, progress=progress)


def _context() -> BaseContext:
    # multiprocessing loads here, not with the module: a read in one process
    # (the usual case) does not pay for it at start-up.
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def read_parts_parallel(
    sources: Sequence[CaptureSource],
    boundaries: list[bool],
    options: ReadOptions,
    registry: Registry | None,
    progress: Progress | None,
    order: list[int] | None,
    deliver: Callable[[int, FilePart], None],
) -> None:
    """Read ``sources`` in up to ``options.jobs`` processes; ``deliver(index, part)`` as each ends.

    Files are handed out in ``order`` (their order in time, so the caller can
    merge them as they come), or largest first when the order is unknown.
    """
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait  # see _context

    ctx = _context()
    counters = ctx.Array("q", 2 * len(sources), lock=False)
    sizes = [
        os.path.getsize(s) if isinstance(s, str | os.PathLike) and os.path.isfile(s) else 0
        for s in sources
    ]
    if ctx.get_start_method() == "fork" and sum(sizes) >= WARM_MIN_BYTES:
        # Without the C walk, load the numba walks once, here: forked workers
        # inherit them instead of each loading numba.  With the C walk this
        # returns at once and numba is never loaded.
        warm_kernels()
    if order is None:
        order = sorted(range(len(sources)), key=lambda i: -sizes[i])
    workers = min(options.jobs, len(sources))
    start = (dataclasses.replace(options, readers=workers), registry, counters)
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init, initargs=start) as pool:
        pending = {pool.submit(_read, i, sources[i], boundaries[i]): i for i in order}
        try:
            while pending:
                finished, _ = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                for future in sorted(finished, key=lambda f: order.index(pending[f])):
                    deliver(pending.pop(future), future.result())
                if progress is not None:
                    values = counters[:]
                    progress(sum(values[0::2]), sum(values[1::2]))
        except BaseException:
            # One unreadable file (or an interrupt) ends the whole read at once.
            pool.shutdown(wait=False, cancel_futures=True)
            raise
