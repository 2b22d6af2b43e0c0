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

import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from annotator.capture.columns import KIND_FLOW, KIND_OTHER, KIND_UNDECODABLE, PacketBatch
from annotator.errors import UsageError
from annotator.flows.aggregate import FlowAggregator
from annotator.flows.direction import decide
from annotator.flows.flowcols import take
from annotator.flows.table import build_frame
from annotator.result import CaptureInfo, FlowTable, Partial

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


def _sources(paths: Any) -> list[Any]:
    """One source (path, "-", binary file) or an iterable of them, as a list."""
    if isinstance(paths, str | os.PathLike) or hasattr(paths, "read"):
        return [paths]
    if isinstance(paths, Iterable):
        items = list(paths)
        if items:
            return items
    raise UsageError("read_flows: give a capture path, '-', a binary file or a list of them")


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
    """Finish an aggregation: the flow DataFrame and the payload arrays.

    Rows are sorted by first timestamp, then file and first frame; client and
    server are decided (:func:`annotator.flows.direction.decide`); each
    payload side is trimmed to its own limit.  ``names`` are the capture
    names by file index.
    """
    cols = agg.finish()
    cols = take(cols, np.lexsort((cols["first_frame"], cols["file"], cols["first_ts"])))
    small = cols["small"]
    proto = (small >> np.uint64(48)).astype(np.uint8)
    a_port = ((small >> np.uint64(16)) & np.uint64(0xFFFF)).astype(np.uint16)
    b_port = (small & np.uint64(0xFFFF)).astype(np.uint16)
    client_is_a, basis = decide(proto, a_port, b_port, cols["hs_dir"], cols["first_fwd"], registry)
    flows = build_frame(cols, client_is_a, basis, names)
    sides = []
    for client_side, limit in ((True, payload_c2s), (False, payload_s2c)):
        from_a = client_is_a == client_side
        data = np.where(from_a, cols["pay_ab"], cols["pay_ba"])
        lengths = np.where(from_a, cols["pay_len_ab"], cols["pay_len_ba"])
        for i in np.flatnonzero(lengths > limit):
            data[i] = data[i][:limit]
        sides.append(data)
    return flows, sides[0], sides[1]


def read_flows(
    paths: Any,
    *,
    registry: Any = None,
    idle_timeout: float | Mapping[str, float] | None = None,
    payload_c2s: int = DEFAULT_PAYLOAD_C2S,
    payload_s2c: int = DEFAULT_PAYLOAD_S2C,
    progress: Callable[[int], None] | None = None,
    bomb_guard: bool = True,
) -> FlowTable:
    """Read one capture, or several in order as one capture, into a flow table.

    ``registry`` decides direction for flows without a handshake (any object
    with ``assigned_mask(ports, transport_codes)``; None loads the bundled
    one).  ``idle_timeout`` is seconds of silence after which a key starts a
    new flow: one number, a mapping by transport, or None for the defaults
    (:data:`annotator.flows.aggregate.DEFAULT_IDLE_TIMEOUT`).  ``payload_c2s``
    and ``payload_s2c`` bound the first payload bytes kept per flow (at least
    2,048 and 256).  ``progress`` is called with the packet count so far after
    each batch.  ``bomb_guard=False`` lifts the decompression limits for
    compressed input (:mod:`annotator.capture.formats.compression`).
    """
    from annotator.capture.decode import Decoder
    from annotator.capture.formats import open_capture

    sources = _sources(paths)
    c2s = _check_limit("payload_c2s", payload_c2s, 2048)
    s2c = _check_limit("payload_s2c", payload_s2c, 256)
    if registry is None:
        registry = default_registry()
    agg = FlowAggregator(
        idle_timeout, payload_c2s=c2s, payload_s2c=s2c, early_direction=True, registry=registry
    )
    names = [_source_name(s) for s in sources]
    infos: list[CaptureInfo] = []
    partial: list[Partial] = []
    other, other_bytes, undecodable = Counter(), Counter(), Counter()
    total = in_flows = n_other = n_undec = 0
    for index, source in enumerate(sources):
        decoder = Decoder()
        limits = {} if bomb_guard else {"max_decompressed": None, "max_ratio": None}
        with open_capture(source, **limits) as reader:
            for records in reader.batches():
                batch = decoder.decode(records)
                if len(batch) == 0:
                    continue
                in_flows += int((batch["kind"] == KIND_FLOW).sum())
                n_other += _count(other, batch, KIND_OTHER, other_bytes)
                n_undec += _count(undecodable, batch, KIND_UNDECODABLE, None)
                agg.add(batch, index)
                total += len(batch)
                if progress is not None:
                    progress(total)
            infos.append(reader.info)
            if reader.partial is not None:
                partial.append(reader.partial)
            records = batch = None  # release the last read buffer before the table is built
    flows, pay_c2s, pay_s2c = finish_flows(agg, names, registry, c2s, s2c)
    other_table = pd.DataFrame(
        {
            "protocol": pd.array(list(other), dtype="str"),
            "packets": np.array([other[k] for k in other], dtype=np.int64),
            "bytes": np.array([other_bytes[k] for k in other], dtype=np.int64),
        }
    )
    other_table = other_table.sort_values(
        ["packets", "protocol"], ascending=[False, True], kind="stable", ignore_index=True
    )
    accounting = {
        "packets_total": total,
        "packets_in_flows": in_flows,
        "packets_other": n_other,
        "packets_undecodable": n_undec,
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
        captures=infos,
        payload_c2s=pay_c2s,
        payload_s2c=pay_s2c,
        partial=partial,
        registry=registry,
    )
