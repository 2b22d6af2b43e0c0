"""The flow stage's entry point: capture files in, a :class:`~annotator.result.FlowTable` out.

:func:`read_flow_table` runs the stage's jobs in one direction, each in its
own module:

1. check and expand the sources (:mod:`annotator.flows.sources`);
2. plan the set: the files' order in time, and which files may continue
   another (:mod:`annotator.flows.capture_set`);
3. read each file into a part (:mod:`annotator.flows.part`), here or in
   worker processes (:mod:`annotator.flows.parallel`), merging the parts in
   file order as they come (:mod:`annotator.flows.merge`);
4. finish the table (:mod:`annotator.flows.finish`).

Several files are read as one capture: a flow may span files, and the result
does not depend on how many processes read them.  Every packet read lands in
exactly one of flows, other traffic or undecodable, and
:attr:`FlowTable.accounting` states it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from annotator.flows.capture_set import OrderedMerge, build_set_merger, plan_set
from annotator.flows.finish import build_flow_table
from annotator.flows.merge import FilePart
from annotator.flows.options import Progress, ReadOptions
from annotator.flows.parallel import read_parts_parallel
from annotator.flows.part import read_part
from annotator.flows.sources import CaptureSource, check_sources
from annotator.registry.resolve import default_registry
from annotator.result import FlowTable

if TYPE_CHECKING:  # pragma: no cover
    from annotator.registry import Registry


def read_flow_table(
    paths: object,
    options: ReadOptions | None = None,
    *,
    registry: Registry | None = None,
    progress: Progress | None = None,
) -> FlowTable:
    """Read one capture, or several as one capture set, into a flow table.

    ``paths`` is a capture path, ``"-"``, a binary file object, a directory,
    a glob pattern, or a list of them.  Several files are one capture: they
    are ordered by their first packet's timestamp, and a flow crossing a file
    boundary is one flow (:mod:`annotator.flows.merge`).  ``options`` (see
    :class:`ReadOptions`; None for the defaults) say how; ``options.jobs``
    reads that many files at once in separate processes, with the same result.

    ``registry`` decides direction for flows without a handshake (None loads
    the bundled one).  ``progress`` is called as reading goes on with the
    packets and the stored bytes read so far, over all files.  With
    ``options.fingerprint``, the table carries ``evidence`` (one result per
    row) and no payload arrays.
    """
    inputs = check_sources(paths)
    sources = inputs.sources
    if options is None:
        options = ReadOptions()
    if registry is None:
        registry = default_registry()
    order, boundaries = plan_set(sources)
    merge = OrderedMerge(build_set_merger(registry, options), order)
    if options.jobs > 1 and len(sources) > 1:
        read_parts_parallel(sources, boundaries, options, registry, progress, order, merge.deliver)
    else:
        _read_in_turn(sources, boundaries, options, registry, progress, order, merge)
    return build_flow_table(merge.merger, merge.parts(), registry, options, skipped=inputs.skipped)


def _read_in_turn(
    sources: Sequence[CaptureSource],
    boundaries: list[bool],
    options: ReadOptions,
    registry: Registry | None,
    progress: Progress | None,
    order: list[int] | None,
    merge: OrderedMerge,
) -> None:
    """Read the files one after another in this process, in ``order`` when it is known."""
    done_packets = done_bytes = 0
    for index in order if order is not None else range(len(sources)):
        report = None
        if progress is not None:
            report = _offset_progress(progress, done_packets, done_bytes)
        part: FilePart = read_part(
            sources[index], options, registry, boundary=boundaries[index], progress=report
        )
        done_packets += part.counts["total"]
        done_bytes += part.info.size or 0
        merge.deliver(index, part)


def _offset_progress(progress: Progress, packets_before: int, bytes_before: int) -> Progress:
    """``progress`` for one file of a set: its counts added to the files read before it."""

    def report(packets: int, nbytes: int) -> None:
        progress(packets_before + packets, bytes_before + nbytes)

    return report
