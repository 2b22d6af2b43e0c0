"""Planning and merging a capture set: several files read as one capture.

Before reading, the files are put in time order by peeking at each one's
first packet (:func:`plan_set`), so that each file's part can be merged as
soon as the parts before it are (:class:`OrderedMerge`) and its settled
flows' bytes dropped, whatever order the parts arrive in: from this process,
from worker processes or from Dask workers.  The merge itself follows the
single-read flow rules (:mod:`annotator.flows.merge`); with a fingerprinter,
the payload of flows the merge makes final turns into evidence at once
(:func:`build_set_merger`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from annotator.capture.formats import open_capture
from annotator.flows.early import client_sides, run_fingerprinter
from annotator.flows.flowcols import Flows
from annotator.flows.merge import FilePart, SetMerger, order_parts
from annotator.flows.options import ReadOptions
from annotator.flows.sources import CaptureSource, read_once
from annotator.flows.timeouts import timeout_table

if TYPE_CHECKING:  # pragma: no cover
    from annotator.registry import Registry


def first_timestamp(source: CaptureSource) -> int | None:
    """The first packet's timestamp (ns) of a capture file, None when it has none.

    Reads one small batch; used to order the files of a set before reading them.
    """
    with open_capture(source, max_decompressed=None, max_ratio=None, chunk_bytes=1 << 16) as reader:
        for records in reader.batches(chunk_records=1):
            if len(records):
                return int(records.ts_ns[0])
    return None


def time_order(firsts: Sequence[int | None]) -> list[int]:
    """File indexes by first timestamp; files without packets last, each group as given."""
    return sorted(range(len(firsts)), key=lambda i: (firsts[i] is None, firsts[i] or 0))


def plan_set(sources: Sequence[CaptureSource]) -> tuple[list[int] | None, list[bool]]:
    """The reading order of a set's files and which need boundary mode.

    Files are peeked for their first packet's timestamp and ordered by it, so
    they can be merged as they are read.  Boundary mode is for every file but
    the first in time: its flows can never continue an earlier file's, so
    their payload is fingerprinted early.  Streams and FIFOs cannot be read
    twice: with one among several sources the order is known only after
    reading (None) and every file is read in boundary mode, which is always
    correct.
    """
    if len(sources) == 1:
        return [0], [False]
    if any(read_once(s) for s in sources):
        return None, [True] * len(sources)
    firsts = [first_timestamp(s) for s in sources]
    order = time_order(firsts)
    boundaries = [True] * len(sources)
    if firsts[order[0]] is not None:
        boundaries[order[0]] = False
    return order, boundaries


def build_set_merger(registry: Registry | None, options: ReadOptions) -> SetMerger:
    """A new merger for a capture set's parts (local reads and Dask alike).

    With a fingerprinter, the payload of flows the merge makes final turns
    into evidence at once and is dropped.
    """
    timeouts = timeout_table(options.idle_timeout)
    fingerprint = options.fingerprint
    if fingerprint is None:
        return SetMerger(timeouts)
    limits = options.payload_limits

    def finalize(done: Flows, evidence: list[Any]) -> None:
        has = (done["pay_len_ab"] > 0) | (done["pay_len_ba"] > 0)
        idx = np.flatnonzero(has & (done["ev"] < 0))
        if len(idx):
            ca = client_sides(done, idx, registry)
            found = run_fingerprinter(fingerprint, done, idx, ca, limits)
            done["ev"][idx] = np.arange(len(evidence), len(evidence) + len(idx))
            evidence.extend(found)
        done["pay_ab"][:] = b""
        done["pay_ba"][:] = b""

    return SetMerger(timeouts, finalize)


class OrderedMerge:
    """Feeds a set's parts to its merger in file order, as they arrive in any order.

    ``order`` is the files' order in time (:func:`plan_set`); a part waits
    only for the parts before it.  With ``order`` None (streams among the
    files: the order is known only once every part is read), the parts are
    ordered and merged by :meth:`parts`.
    """

    def __init__(self, merger: SetMerger, order: list[int] | None) -> None:
        self.merger = merger
        self.order = order
        self._merged: list[FilePart] = []
        self._pending: dict[int, FilePart] = {}

    def deliver(self, index: int, part: FilePart) -> None:
        """Take the part of file ``index``; merge every part whose turn has come."""
        self._pending[index] = part
        order, merged = self.order, self._merged
        while (
            order is not None and len(merged) < len(order) and order[len(merged)] in self._pending
        ):
            ready = self._pending.pop(order[len(merged)])
            self.merger.add(ready)
            merged.append(ready)

    def parts(self) -> list[FilePart]:
        """Every part, merged, in file order (call once all are delivered)."""
        if self.order is None:
            for part in order_parts([self._pending.pop(i) for i in sorted(self._pending)]):
                self.merger.add(part)
                self._merged.append(part)
        return self._merged
