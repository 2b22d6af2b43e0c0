"""Build the dense (transport, port) -> slot table and the per-slot join columns.

Built once per registry (about 0.1 s for the full registry) so that a join over
millions of flows is a single numpy take.  A *slot* is one distinct, ordered
set of records; every (transport, port) holding the same set shares it (all
ports of one unassigned range, for instance).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from annotator.registry.model import Record

N_PORTS = 65536

SLOT_COLUMNS = (
    "service",
    "services",
    "description",
    "status",
    "historic_only",
    "deassigned",
    "deassigned_date",
    "unauthorized_use",
    "notes",
    "discouraged",
    "widely_used",
)
_BOOL = ("historic_only", "deassigned", "discouraged", "widely_used")


def build_table(
    records: Sequence[Record],
) -> tuple[np.ndarray, list[tuple[int, ...]], pd.DataFrame]:
    """(table, records of each slot, slot DataFrame) for ``records`` in registry order."""
    from annotator.registry.model import TRANSPORTS

    table = np.full((len(TRANSPORTS), N_PORTS), -1, dtype=np.int32)
    slot_of: dict[tuple[int, ...], int] = {}

    def slot(key: tuple[int, ...]) -> int:
        found = slot_of.get(key)
        if found is None:
            found = slot_of[key] = len(slot_of)
        return found

    for code, name in enumerate(TRANSPORTS):
        exact: dict[int, list[int]] = {}
        ranges: list[tuple[int, int, int]] = []
        for i, rec in enumerate(records):
            if rec.port_lo is None or rec.transport not in (name, ""):
                continue
            hi = rec.port_hi if rec.port_hi is not None else rec.port_lo
            if hi == rec.port_lo:
                exact.setdefault(rec.port_lo, []).append(i)
            else:
                ranges.append((rec.port_lo, hi, i))
        row = table[code]
        for lo, hi, key in _range_segments(ranges):
            row[lo : hi + 1] = slot(key)
        for port, idxs in exact.items():  # an exact record beats any range over it
            row[port] = slot(tuple(idxs))

    keys = sorted(slot_of, key=slot_of.__getitem__)
    rows = [_slot_row([records[i] for i in key]) for key in keys]
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(SLOT_COLUMNS)
    frame = pd.DataFrame(
        {
            name: pd.Series(values, dtype=bool if name in _BOOL else object)
            for name, values in zip(SLOT_COLUMNS, columns, strict=True)
        }
    )
    frame.index.name = "slot"
    return table, keys, frame


def _range_segments(
    ranges: list[tuple[int, int, int]],
) -> list[tuple[int, int, tuple[int, ...]]]:
    """Split possibly overlapping ranges into (lo, hi, record ids) pieces of constant cover."""
    if not ranges:
        return []
    events: dict[int, list[tuple[int, int]]] = {}
    for lo, hi, i in ranges:
        events.setdefault(lo, []).append((+1, i))
        events.setdefault(hi + 1, []).append((-1, i))
    points = sorted(events)
    active: set[int] = set()
    out = []
    for a, b in itertools.pairwise(points):
        for sign, i in events[a]:
            if sign > 0:
                active.add(i)
            else:
                active.discard(i)
        if active:
            out.append((a, min(b, 65536) - 1, tuple(sorted(active))))
    return out


def _slot_row(recs: list[Record]) -> tuple:
    """The join columns for one ordered set of records."""
    primary = next((r for r in recs if r.current), None)
    best = primary or recs[0]
    names = tuple(dict.fromkeys(r.service for r in recs if r.service))
    unauthorized = _joined(r.unauthorized_use for r in recs)
    notes = _joined(r.notes for r in recs)
    return (
        primary.service if primary else None,
        names,
        best.description or None,
        best.status,
        primary is None and all(r.historic or r.deassigned for r in recs),
        primary is None and best.deassigned,
        best.deassigned_date if primary is None else None,
        unauthorized,
        notes,
        best.discouraged,
        best.widely_used,
    )


def _joined(texts) -> str | None:
    """Distinct non-empty texts, in order, one per line; None when there are none."""
    unique = list(dict.fromkeys(t for t in texts if t))
    return "\n".join(unique) if unique else None
