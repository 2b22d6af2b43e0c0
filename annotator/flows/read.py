"""``read_flows``: capture files in, a :class:`~annotator.result.FlowTable` out.

This is the glue of the capture stage: each file is opened by the format
readers (:func:`annotator.capture.formats.open_capture`), its record batches
decoded into packet columns (:class:`annotator.capture.decode.Decoder`), and
the packet batches folded into flows (:class:`FlowAggregator`), while
other-traffic and undecodable packets are counted by label.  Several files are
read in order as one capture: a flow may span files.

Every packet read lands in exactly one of flows, other traffic or
undecodable, and :attr:`FlowTable.accounting` states it.
"""

from __future__ import annotations

import io
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from annotator.capture.columns import KIND_FLOW, KIND_OTHER, KIND_UNDECODABLE, PacketBatch
from annotator.capture.inputs import Inputs, expand_inputs
from annotator.errors import UsageError
from annotator.flows.aggregate import FlowAggregator, timeout_table
from annotator.flows.direction import decide
from annotator.flows.early import Fingerprinter, client_sides, run_fingerprinter
from annotator.flows.flowcols import Flows, take
from annotator.flows.keys import unpack_small
from annotator.flows.merge import FilePart, SetMerger, order_parts
from annotator.flows.table import build_frame, text_array
from annotator.result import FileTiming, FlowTable

#: Default first-payload limits (bytes).  2,048 client-to-server holds a whole
#: TLS ClientHello with its SNI, even with a post-quantum key share (~1.8 kB);
#: 512 server-to-client holds a ServerHello's start, banners and status lines.
DEFAULT_PAYLOAD_C2S = 2048
DEFAULT_PAYLOAD_S2C = 512


def _source_name(source: Any) -> str:
    """The name a capture is reported under: its path, or a stream's name."""
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    return str(getattr(source, "name", "<stream>"))


def _sources(paths: Any) -> Inputs:
    """One source (path, directory, glob, "-", binary file) or an iterable of them."""
    usage = "read_flows: give a capture path, '-', a binary file or a list of them"
    if isinstance(paths, str | os.PathLike) or hasattr(paths, "read"):
        items = [paths]
    elif isinstance(paths, Iterable) and not isinstance(paths, bytes | bytearray | memoryview):
        items = list(paths)
    else:
        items = []  # bytes would iterate as integers: the capture's content is not a path
    if not items:
        raise UsageError(usage)
    for item in items:
        if isinstance(item, io.TextIOBase):
            name = _source_name(item)
            raise UsageError(f"{usage}: {name} is open in text mode; open it with 'rb'")
        if not (isinstance(item, str | os.PathLike) or hasattr(item, "read")):
            raise UsageError(f"{usage}, not {type(item).__name__}")
    return expand_inputs(items)


def _count(counter: Counter, batch: PacketBatch, kind: int, sizes: Counter | None) -> int:
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
            if sizes is not None:
                sizes[name] += int(nbytes[i])
    return total


def _check_limit(name: str, value: int, minimum: int) -> int:
    """A payload limit, checked when given (an integer of at least ``minimum``)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UsageError(f"{name} must be an integer of at least {minimum} bytes")
    return value


def default_registry():
    """The bundled registry (imported lazily: the flow stage works without it)."""
    from annotator.registry.resolve import default_registry as _default

    return _default()


def finish_flows(
    agg: FlowAggregator,
    names: list[str],
    registry: Any,
    payload_c2s: int = DEFAULT_PAYLOAD_C2S,
    payload_s2c: int = DEFAULT_PAYLOAD_S2C,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Finish one aggregation: the flow DataFrame and the payload arrays.

    Rows are sorted by first timestamp, then file and first frame; client and
    server are decided (:func:`annotator.flows.direction.decide`); each
    payload side is trimmed to its own limit.  ``names`` are the capture
    names by file index.
    """
    limits = (payload_c2s, payload_s2c)
    flows, sides, _ = _finish(_table_order(agg.finish()), [], names, registry, limits, None)
    return flows, sides[0], sides[1]


def _table_order(cols: Flows) -> Flows:
    """The flow records in table order: first timestamp, then file, then first frame."""
    return take(cols, np.lexsort((cols["first_frame"], cols["file"], cols["first_ts"])))


def _finish(
    cols: Flows,
    evidence: list[Any],
    names: list[str],
    registry: Any,
    limits: tuple[int, int],
    fingerprint: Fingerprinter | None,
) -> tuple[pd.DataFrame, list[np.ndarray] | None, np.ndarray | None]:
    """Merged flow records, in table order, into the user's table, with payload or evidence.

    Without a fingerprinter, returns the payload arrays (client-to-server,
    server-to-client) aligned with the rows; with one, the flows whose bytes
    were not fingerprinted while reading are fingerprinted now, and the
    evidence array (one result or None per row) is returned instead.
    Without a fingerprinter, ``cols`` gives up its payload columns.
    """
    proto, a_port, b_port = unpack_small(cols["small"])
    client_is_a, basis = decide(proto, a_port, b_port, cols["hs_dir"], cols["first_fwd"], registry)
    flows = build_frame(cols, client_is_a, basis, names)
    if fingerprint is None:
        sides, lengths = [], []
        for client_side in (True, False):
            from_a = client_is_a == client_side
            sides.append(np.where(from_a, cols["pay_ab"], cols["pay_ba"]))
            lengths.append(np.where(from_a, cols["pay_len_ab"], cols["pay_len_ba"]))
        # Taken out of ``cols``: a server side longer than its limit (kept
        # long while its direction was unknown) is then freed as it is cut,
        # instead of living beside its cut copy until the end.
        del cols["pay_ab"], cols["pay_ba"]
        for data, length, limit in zip(sides, lengths, limits, strict=True):
            for i in np.flatnonzero(length > limit):
                data[i] = data[i][:limit]
        return flows, sides, None
    found = np.full(len(flows), None, dtype=object)
    ev = cols["ev"]
    done = np.flatnonzero(ev >= 0)
    if len(done):
        kept = np.empty(len(evidence), dtype=object)
        kept[:] = evidence
        found[done] = kept[ev[done]]
    has = (cols["pay_len_ab"] > 0) | (cols["pay_len_ba"] > 0)
    rest = np.flatnonzero(has & (ev < 0))
    if len(rest):
        results = np.empty(len(rest), dtype=object)
        results[:] = list(run_fingerprinter(fingerprint, cols, rest, client_is_a[rest], limits))
        found[rest] = results
    return flows, None, found


def read_part(
    source: Any,
    *,
    registry: Any,
    idle_timeout: float | Mapping[str, float] | None = None,
    payload_c2s: int = DEFAULT_PAYLOAD_C2S,
    payload_s2c: int = DEFAULT_PAYLOAD_S2C,
    fingerprint: Fingerprinter | None = None,
    boundary: bool = False,
    progress: Callable[[int, int], None] | None = None,
    bomb_guard: bool = True,
    sha256: bool = True,
    readers: int = 1,
) -> FilePart:
    """Read one capture file into a :class:`FilePart`, ready to merge.

    ``boundary=True`` when another file may come before this one in the
    capture set: each key's first flow is then kept mergeable (see
    :mod:`annotator.flows.merge`).  ``progress`` is called after each batch
    with the packets and the stored bytes read so far in this file.
    ``readers`` is how many files are read at once on this machine (see
    :func:`~annotator.capture.formats.open_capture`).
    """
    from annotator.capture.decode import Decoder
    from annotator.capture.formats import open_capture

    started = time.perf_counter()
    agg = FlowAggregator(
        idle_timeout,
        payload_c2s=payload_c2s,
        payload_s2c=payload_s2c,
        early_direction=True,
        registry=registry,
        fingerprint=fingerprint,
        boundary=boundary,
    )
    other, other_bytes, undecodable, counts = Counter(), Counter(), Counter(), Counter()
    first_ts = None
    # Later fragments ahead of their first fragment wait one batch for it.
    decoder = Decoder(keep_orphans=boundary, hold_orphans=True)
    limits = {} if bomb_guard else {"max_decompressed": None, "max_ratio": None}

    def fold(batch: PacketBatch) -> None:
        counts["in_flows"] += int((batch["kind"] == KIND_FLOW).sum())
        counts["other"] += _count(other, batch, KIND_OTHER, other_bytes)
        counts["undecodable"] += _count(undecodable, batch, KIND_UNDECODABLE, None)
        agg.add(batch)
        counts["total"] += len(batch)

    with open_capture(source, sha256=sha256, readers=readers, **limits) as reader:
        for records in reader.batches():
            if first_ts is None and len(records):
                first_ts = int(records.ts_ns[0])
            fold(decoder.decode(records))
            if progress is not None:
                progress(counts["total"], reader.bytes_read)
            records = None  # release the read buffer before the next fill
        fold(decoder.flush())
        info, partial = reader.info, reader.partial
    return FilePart(
        name=_source_name(source),
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


def _stack(pieces: list[dict[str, np.ndarray]] | None) -> dict[str, np.ndarray] | None:
    """One dict of columns from per-batch dicts (None stays None)."""
    if not pieces:
        return None
    return {c: np.concatenate([p[c] for p in pieces]) for c in pieces[0]}


def first_timestamp(source: Any) -> int | None:
    """The first packet's timestamp (ns) of a capture file, None when it has none.

    Reads one batch; used to order the files of a set before reading them.
    """
    from annotator.capture.formats import open_capture

    with open_capture(source, max_decompressed=None, max_ratio=None, chunk_bytes=1 << 16) as reader:
        for records in reader.batches(chunk_records=1):
            if len(records):
                return int(records.ts_ns[0])
    return None


def _read_once(source: Any) -> bool:
    """A source that cannot be opened twice: standard input, a file object, a
    FIFO or a shell's ``<(...)`` (peeking at its first packet would eat it)."""
    if not isinstance(source, str | os.PathLike):
        return True
    name = os.fspath(source)
    return name == "-" or ("://" not in name and os.path.exists(name) and not os.path.isfile(name))


def plan_set(sources: list[Any]) -> tuple[list[int] | None, list[bool]]:
    """The reading order of a set's files and which need boundary mode.

    Files are peeked for their first packet's timestamp and ordered by it
    (files without packets last, each group in the order given), so they can
    be merged as they are read.  Boundary mode is for every file but the first
    in time: its flows can never continue an earlier file's, so their payload
    is fingerprinted early.  Streams and FIFOs cannot be read twice: with one among
    several sources the order is known only after reading (None) and every
    file is read in boundary mode, which is always correct.
    """
    if len(sources) == 1:
        return [0], [False]
    if any(_read_once(s) for s in sources):
        return None, [True] * len(sources)
    firsts = [first_timestamp(s) for s in sources]
    order = sorted(range(len(sources)), key=lambda i: (firsts[i] is None, firsts[i] or 0))
    boundaries = [True] * len(sources)
    if firsts[order[0]] is not None:
        boundaries[order[0]] = False
    return order, boundaries


def set_merger(
    registry: Any,
    idle_timeout: float | Mapping[str, float] | None,
    limits: tuple[int, int],
    fingerprint: Fingerprinter | None,
) -> SetMerger:
    """The merger of a capture set's parts (local reads and Dask alike).

    With a fingerprinter, the payload of flows the merge makes final turns
    into evidence at once and is dropped.
    """
    timeouts = timeout_table(idle_timeout)
    if fingerprint is None:
        return SetMerger(timeouts)

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


def set_table(
    merger: SetMerger,
    parts: list[FilePart],
    registry: Any,
    limits: tuple[int, int],
    fingerprint: Fingerprinter | None,
) -> FlowTable:
    """The set's :class:`FlowTable` from a merger fed ``parts`` (in file order)."""
    cols, evidence = merger.result()
    cols = _table_order(cols)  # the merger has let go: the unsorted copy is freed here
    names = [p.name for p in parts]
    flows, sides, found = _finish(cols, evidence, names, registry, limits, fingerprint)
    other, other_bytes, undecodable, counts = Counter(), Counter(), Counter(), Counter()
    for p in parts:
        other.update(p.other)
        other_bytes.update(p.other_bytes)
        undecodable.update(p.undecodable)
        counts.update(p.counts)
    other_table = pd.DataFrame(
        {
            "protocol": text_array(list(other)),
            "packets": np.array([other[k] for k in other], dtype=np.int64),
            "bytes": np.array([other_bytes[k] for k in other], dtype=np.int64),
        }
    )
    other_table = other_table.sort_values(
        ["packets", "protocol"], ascending=[False, True], kind="stable", ignore_index=True
    )
    partial = [p.partial for p in parts if p.partial is not None]
    accounting = {
        "packets_total": counts["total"],
        "packets_in_flows": counts["in_flows"],
        "packets_other": counts["other"],
        "packets_undecodable": counts["undecodable"],
        "undecodable": dict(undecodable.most_common()),
        "flows": len(flows),
        "partial": [
            {"capture": p.capture, "offset": p.offset, "reason": p.reason} for p in partial
        ],
    }
    return FlowTable(
        flows=flows,
        other=other_table,
        accounting=accounting,
        captures=[p.info for p in parts],
        payload_c2s=sides[0] if sides else None,
        payload_s2c=sides[1] if sides else None,
        partial=partial,
        registry=registry,
        evidence=found,
        timings=[FileTiming(p.name, p.counts["total"], p.info.size, p.seconds) for p in parts],
    )


def read_flows(
    paths: Any,
    *,
    registry: Any = None,
    idle_timeout: float | Mapping[str, float] | None = None,
    payload_c2s: int = DEFAULT_PAYLOAD_C2S,
    payload_s2c: int = DEFAULT_PAYLOAD_S2C,
    progress: Callable[[int, int], None] | None = None,
    bomb_guard: bool = True,
    fingerprint: Fingerprinter | None = None,
    jobs: int = 1,
    sha256: bool = True,
) -> FlowTable:
    """Read one capture, or several as one capture set, into a flow table.

    Several files are one capture: they are ordered by their first packet's
    timestamp, and a flow crossing a file boundary is one flow
    (:mod:`annotator.flows.merge`).  ``jobs`` reads that many files at once in
    separate processes; the result is the same as with one.

    ``registry`` decides direction for flows without a handshake (any object
    with ``assigned_mask(ports, transport_codes)``; None loads the bundled
    one).  ``idle_timeout`` is seconds of silence after which a key starts a
    new flow: one number, a mapping by transport, or None for the defaults
    (:data:`annotator.flows.aggregate.DEFAULT_IDLE_TIMEOUT`).  ``payload_c2s``
    and ``payload_s2c`` bound the first payload bytes kept per flow (at least
    2,048 and 256).  ``progress`` is called as reading goes on with the
    packets and the stored bytes read so far, over all files.
    ``bomb_guard=False`` lifts the decompression limits for compressed input
    (:mod:`annotator.capture.formats.compression`).  ``sha256=False`` skips
    the SHA-256 of each file, about a quarter of the CPU of a read, for when
    the core matters more than provenance; ``captures[i].sha256`` is then None.

    ``fingerprint`` (see :data:`annotator.flows.early.Fingerprinter`) turns
    each flow's first payload bytes into evidence as soon as they are
    complete, so they are not held to the end: the table then carries
    ``evidence`` (one result per row) and no payload arrays.
    """
    inputs = _sources(paths)
    sources = inputs.sources
    c2s = _check_limit("payload_c2s", payload_c2s, 2048)
    s2c = _check_limit("payload_s2c", payload_s2c, 256)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise UsageError("jobs must be a positive integer")
    timeout_table(idle_timeout)  # a bad timeout is a usage error before any reading
    if registry is None:
        registry = default_registry()
    options = {
        "registry": registry,
        "idle_timeout": idle_timeout,
        "payload_c2s": c2s,
        "payload_s2c": s2c,
        "fingerprint": fingerprint,
        "bomb_guard": bomb_guard,
        "sha256": bool(sha256),
    }
    order, boundaries = plan_set(sources)
    limits = (c2s, s2c)
    merger = set_merger(registry, idle_timeout, limits, fingerprint)
    merged: list[FilePart] = []
    pending: dict[int, FilePart] = {}

    def deliver(index: int, part: FilePart) -> None:
        # Parts are merged in file order as soon as each one's turn comes.
        pending[index] = part
        while order is not None and len(merged) < len(order) and order[len(merged)] in pending:
            ready = pending.pop(order[len(merged)])
            merger.add(ready)
            merged.append(ready)

    if jobs > 1 and len(sources) > 1:
        from annotator.flows.parallel import read_parts_parallel

        read_parts_parallel(sources, boundaries, options, jobs, progress, order, deliver)
    else:
        done_packets = done_bytes = 0
        for index in order if order is not None else range(len(sources)):
            report = None
            if progress is not None:
                base_p, base_b = done_packets, done_bytes

                def report(packets: int, nbytes: int, _p=base_p, _b=base_b) -> None:
                    progress(_p + packets, _b + nbytes)

            part = read_part(sources[index], boundary=boundaries[index], progress=report, **options)
            done_packets += part.counts["total"]
            done_bytes += part.info.size or 0
            deliver(index, part)
    if order is None:  # streams among the files: the order is known only now
        for part in order_parts([pending[i] for i in range(len(sources))]):
            merger.add(part)
            merged.append(part)
    table = set_table(merger, merged, registry, limits, fingerprint)
    table.skipped = inputs.skipped
    return table
