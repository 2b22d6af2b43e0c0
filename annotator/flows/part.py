"""Reading one capture file into a :class:`~annotator.flows.merge.FilePart`.

The file is opened by the format readers (:func:`annotator.capture.formats.open_capture`),
its record batches decoded into packet columns
(:class:`annotator.capture.decode.Decoder`), and the packet batches folded into
flows (:class:`~annotator.flows.aggregate.FlowAggregator`), while other-traffic
and undecodable packets are counted by label.  Every packet read lands in
exactly one of flows, other traffic or undecodable.

This is the one place a file is read, whoever reads it: this process, a
worker process (:mod:`annotator.flows.parallel`) or a Dask worker
(:mod:`annotator.dask`).  Its part is then merged with the set's other files
(:mod:`annotator.flows.merge`).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

from annotator.capture.columns import KIND_FLOW, KIND_OTHER, KIND_UNDECODABLE, PacketBatch
from annotator.capture.decode import Decoder
from annotator.capture.formats import DEFAULT_MAX_DECOMPRESSED, DEFAULT_MAX_RATIO, open_capture
from annotator.flows.aggregate import FlowAggregator
from annotator.flows.merge import FilePart
from annotator.flows.options import Progress, ReadOptions
from annotator.flows.sources import CaptureSource, source_name

if TYPE_CHECKING:  # pragma: no cover
    from annotator.registry import Registry


def _count(counter: Counter[str], batch: PacketBatch, kind: int, sizes: Counter[str] | None) -> int:
    """Add a batch's packets of one kind to per-label counters; return how many."""
    mask = batch["kind"] == kind
    total = int(mask.sum())
    if total:
        labels = batch["label"][mask]
        counts = np.bincount(labels)
        nbytes = np.bincount(labels, weights=batch["wire_len"][mask]) if sizes is not None else None
        for i in np.flatnonzero(counts):
            name = batch.labels[i] if i < len(batch.labels) else f"label {i}"
            counter[name] += int(counts[i])
            if sizes is not None and nbytes is not None:
                sizes[name] += int(nbytes[i])
    return total


def _stack(pieces: list[dict[str, np.ndarray]] | None) -> dict[str, np.ndarray] | None:
    """One dict of columns from per-batch dicts (None stays None)."""
    if not pieces:
        return None
    return {c: np.concatenate([p[c] for p in pieces]) for c in pieces[0]}


def read_part(
    source: CaptureSource,
    options: ReadOptions,
    registry: Registry | None,
    *,
    boundary: bool = False,
    progress: Progress | None = None,
) -> FilePart:
    """Read one capture file into a :class:`FilePart`, ready to merge.

    ``registry`` decides client and server of UDP flows as they start (the
    same rules the end of the read applies).  ``boundary=True`` when another
    file may come before this one in the capture set: each key's first flow
    is then kept mergeable (see :mod:`annotator.flows.merge`).  ``progress``
    is called after each batch with the packets and the stored bytes read so
    far in this file.
    """
    started = time.perf_counter()
    agg = FlowAggregator(
        options.idle_timeout,
        payload_c2s=options.payload_c2s,
        payload_s2c=options.payload_s2c,
        early_direction=True,
        registry=registry,
        fingerprint=options.fingerprint,
        boundary=boundary,
    )
    other: Counter[str] = Counter()
    other_bytes: Counter[str] = Counter()
    undecodable: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    first_ts = None
    # Later fragments ahead of their first fragment wait one batch for it.
    decoder = Decoder(keep_orphans=boundary, hold_orphans=True)

    def fold(batch: PacketBatch) -> None:
        counts["in_flows"] += int((batch["kind"] == KIND_FLOW).sum())
        counts["other"] += _count(other, batch, KIND_OTHER, other_bytes)
        counts["undecodable"] += _count(undecodable, batch, KIND_UNDECODABLE, None)
        agg.add(batch)
        counts["total"] += len(batch)

    guard = options.bomb_guard  # False lifts the decompression limits
    with open_capture(
        source,
        max_decompressed=DEFAULT_MAX_DECOMPRESSED if guard else None,
        max_ratio=DEFAULT_MAX_RATIO if guard else None,
        sha256=options.sha256,
        readers=options.readers,
    ) as reader:
        for records in reader.batches():
            if first_ts is None and len(records):
                first_ts = int(records.ts_ns[0])
            fold(decoder.decode(records))
            if progress is not None:
                progress(counts["total"], reader.bytes_read)
            del records  # release the read buffer before the next fill
        fold(decoder.flush())
        info, partial = reader.info, reader.partial
    return FilePart(
        name=source_name(source),
        info=info,
        flows=agg.finish(),
        evidence=agg.evidence,
        first_ts=first_ts,
        partial=partial,
        counts=counts,
        other=other,
        other_bytes=other_bytes,
        undecodable=undecodable,
        seconds=time.perf_counter() - started,
        orphans=_stack(decoder.orphans),
        fragments=decoder.fragment_state(),
        trailing=decoder.trailing,
        leading=decoder.leading or {},
    )
