"""Finishing a read: merged flow records into the user's :class:`~annotator.result.FlowTable`.

Rows are put in table order (first timestamp, then file, then first frame),
client and server are decided (:func:`annotator.flows.direction.decide`),
the records become the flow DataFrame (:func:`annotator.flows.table.build_frame`),
and each flow's first payload bytes are either trimmed to their limits and
returned beside the table or, when the read was given a fingerprinter,
turned into evidence.  The parts' counts become ``other`` and the accounting.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from annotator.flows.aggregate import FlowAggregator
from annotator.flows.direction import AssignedPorts, decide
from annotator.flows.early import Fingerprinter, run_fingerprinter
from annotator.flows.flowcols import Flows, take
from annotator.flows.keys import unpack_small
from annotator.flows.merge import FilePart, SetMerger
from annotator.flows.options import DEFAULT_PAYLOAD_C2S, DEFAULT_PAYLOAD_S2C, ReadOptions
from annotator.flows.table import build_frame, text_array
from annotator.result import FileTiming, FlowTable

if TYPE_CHECKING:  # pragma: no cover
    from annotator.registry import Registry


def table_order(cols: Flows) -> Flows:
    """The flow records in table order: first timestamp, then file, then first frame."""
    return take(cols, np.lexsort((cols["first_frame"], cols["file"], cols["first_ts"])))


def _frame(
    cols: Flows, names: list[str], registry: AssignedPorts | None
) -> tuple[pd.DataFrame, np.ndarray]:
    """The flow DataFrame of records in table order, and ``client_is_a`` for each row."""
    proto, a_port, b_port = unpack_small(cols["small"])
    client_is_a, basis = decide(proto, a_port, b_port, cols["hs_dir"], cols["first_fwd"], registry)
    return build_frame(cols, client_is_a, basis, names), client_is_a


def finish_payload(
    cols: Flows, names: list[str], registry: AssignedPorts | None, limits: tuple[int, int]
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Flow records, in table order, into the flow DataFrame and its payload arrays.

    The payload arrays (client-to-server, server-to-client) are aligned with
    the rows, each side cut to its own limit.  ``cols`` gives up its payload
    columns: a server side longer than its limit (kept long while its
    direction was unknown) is then freed as it is cut, instead of living
    beside its cut copy until the end.
    """
    flows, client_is_a = _frame(cols, names, registry)
    sides, lengths = [], []
    for client_side in (True, False):
        from_a = client_is_a == client_side
        sides.append(np.where(from_a, cols["pay_ab"], cols["pay_ba"]))
        lengths.append(np.where(from_a, cols["pay_len_ab"], cols["pay_len_ba"]))
    del cols["pay_ab"], cols["pay_ba"]
    for data, length, limit in zip(sides, lengths, limits, strict=True):
        for i in np.flatnonzero(length > limit):
            data[i] = data[i][:limit]
    return flows, sides[0], sides[1]


def finish_evidence(
    cols: Flows,
    evidence: list[Any],
    names: list[str],
    registry: AssignedPorts | None,
    limits: tuple[int, int],
    fingerprint: Fingerprinter,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Flow records, in table order, into the flow DataFrame and its evidence array.

    Flows fingerprinted while reading keep their result (``ev`` indexes
    ``evidence``); the flows whose bytes were not are fingerprinted now.  The
    evidence array holds one result or None per row.
    """
    flows, client_is_a = _frame(cols, names, registry)
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
    return flows, found


def finish_flows(
    agg: FlowAggregator,
    names: list[str],
    registry: AssignedPorts | None,
    payload_c2s: int = DEFAULT_PAYLOAD_C2S,
    payload_s2c: int = DEFAULT_PAYLOAD_S2C,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Finish one aggregation: the flow DataFrame and the payload arrays.

    For callers that feed a :class:`FlowAggregator` their own packet batches.
    ``names`` are the capture names by file index.
    """
    return finish_payload(table_order(agg.finish()), names, registry, (payload_c2s, payload_s2c))


def _other_table(other: Counter[str], other_bytes: Counter[str]) -> pd.DataFrame:
    """Traffic that is not a flow, by protocol name: most packets first."""
    table = pd.DataFrame(
        {
            "protocol": text_array(list(other)),
            "packets": np.array([other[k] for k in other], dtype=np.int64),
            "bytes": np.array([other_bytes[k] for k in other], dtype=np.int64),
        }
    )
    return table.sort_values(
        ["packets", "protocol"], ascending=[False, True], kind="stable", ignore_index=True
    )


def build_flow_table(
    merger: SetMerger,
    parts: list[FilePart],
    registry: Registry | None,
    options: ReadOptions,
    *,
    skipped: list[str] | None = None,
) -> FlowTable:
    """A capture set's :class:`FlowTable` from a merger fed ``parts`` (in file order).

    ``skipped`` lists the directory entries that were not captures.
    """
    cols, evidence = merger.result()
    cols = table_order(cols)  # the merger has let go: the unsorted copy is freed here
    names = [p.name for p in parts]
    limits = options.payload_limits
    payload_c2s = payload_s2c = found = None
    if options.fingerprint is None:
        flows, payload_c2s, payload_s2c = finish_payload(cols, names, registry, limits)
    else:
        flows, found = finish_evidence(cols, evidence, names, registry, limits, options.fingerprint)
    other: Counter[str] = Counter()
    other_bytes: Counter[str] = Counter()
    undecodable: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for p in parts:
        other.update(p.other)
        other_bytes.update(p.other_bytes)
        undecodable.update(p.undecodable)
        counts.update(p.counts)
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
        other=_other_table(other, other_bytes),
        accounting=accounting,
        captures=[p.info for p in parts],
        payload_c2s=payload_c2s,
        payload_s2c=payload_s2c,
        partial=partial,
        registry=registry,
        evidence=found,
        timings=[FileTiming(p.name, p.counts["total"], p.info.size, p.seconds) for p in parts],
        skipped=skipped if skipped is not None else [],
    )
