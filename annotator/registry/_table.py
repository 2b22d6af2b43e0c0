"""Build the dense (transport, port) -> slot table and the per-slot join columns.

Built once per registry so that a join over millions of flows is a single
numpy take.  A *slot* is one distinct, ordered set of records; every
(transport, port) holding the same set shares it (all ports of one unassigned
range, for instance).  Slot ids are handed out in a fixed order: per
transport, first the range pieces by start port, then the exact ports in the
order the registry first lists them.

The work is done over record columns (see :mod:`annotator.registry._columns`)
with numpy; only the few slots holding several records (aliases, the odd
duplicate) need a step in Python.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from annotator.registry._columns import RecordColumns
from annotator.registry.model import TRANSPORTS

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
#: None as a 0-d object array, the "no value" operand of ``np.where`` over text columns.
_NONE = np.array(None, dtype=object)


def build_table(cols: RecordColumns) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame]:
    """(table, slot members, slot offsets, slot DataFrame) for the records in ``cols``.

    The record ids of slot ``s`` are ``members[offsets[s]:offsets[s + 1]]``, in
    registry order.
    """
    n = len(cols)
    lo = np.array([-1 if p is None else p for p in cols.port_lo], dtype=np.int64)
    hi = np.array([-1 if p is None else p for p in cols.port_hi], dtype=np.int64)
    hi = np.where(hi < 0, lo, hi)
    blank = len(TRANSPORTS)  # a blank transport applies to every transport
    codes = {name: code for code, name in enumerate(TRANSPORTS)} | {"": blank}
    code = np.array([codes.get(t, -1) for t in cols.transport], dtype=np.int64)

    # A set of records is named by a key id: the record id when it is one
    # record, n + k for the k-th distinct set of several.
    several: dict[tuple[int, ...], int] = {}

    def key_id(ids: tuple[int, ...]) -> int:
        return ids[0] if len(ids) == 1 else several.setdefault(ids, n + len(several))

    # Every piece of the table, in the order slot ids are handed out: per
    # transport, the range pieces by first port, then the exact ports.
    parts: list[tuple[np.ndarray, ...]] = []
    for c in range(len(TRANSPORTS)):
        applies = (lo >= 0) & ((code == c) | (code == blank))
        spans = np.flatnonzero(applies & (lo != hi))
        parts.append(_pieces(c, *_range_pieces(lo[spans], hi[spans], spans, key_id), False))

        # Exact records grouped by port, each group in registry order.
        singles = np.flatnonzero(applies & (lo == hi))
        by_port = singles[np.argsort(lo[singles], kind="stable")]
        starts = np.flatnonzero(np.diff(lo[by_port], prepend=-1))
        ends = np.append(starts[1:], len(by_port))
        keys = by_port[starts]
        for g in np.flatnonzero(ends - starts > 1).tolist():
            keys[g] = key_id(tuple(by_port[starts[g] : ends[g]].tolist()))
        listed = np.argsort(by_port[starts])  # ports as the registry first lists them
        ports = lo[by_port[starts]][listed]
        parts.append(_pieces(c, ports, ports, keys[listed], True))
    piece_code, piece_lo, piece_hi, piece_key, exact = (
        np.concatenate(p) for p in zip(*parts, strict=True)
    )

    # Slot ids number the distinct key ids in the order of their first piece.
    key_ids, first_use = np.unique(piece_key, return_index=True)
    by_first_use = np.argsort(first_use)
    slot_key = key_ids[by_first_use]  # slot id -> key id
    slot_of_key = np.empty(len(key_ids), dtype=np.int32)
    slot_of_key[by_first_use] = np.arange(len(key_ids), dtype=np.int32)
    piece_slot = slot_of_key[np.searchsorted(key_ids, piece_key)]

    table = np.full((len(TRANSPORTS), N_PORTS), -1, dtype=np.int32)
    spans = ~exact
    for c, a, b, slot in zip(
        piece_code[spans].tolist(),
        piece_lo[spans].tolist(),
        piece_hi[spans].tolist(),
        piece_slot[spans].tolist(),
        strict=True,
    ):
        table[c, a : b + 1] = slot
    # An exact record beats any range over its port.
    table[piece_code[exact], piece_lo[exact]] = piece_slot[exact]

    groups = list(several)
    sizes = [1 if k < n else len(groups[k - n]) for k in slot_key.tolist()]
    members = np.fromiter(
        itertools.chain.from_iterable((k,) if k < n else groups[k - n] for k in slot_key.tolist()),
        np.int64,
        sum(sizes),
    )
    offsets = np.concatenate(([0], np.cumsum(sizes, dtype=np.int64)))
    return table, members, offsets, slot_frame(cols, members, offsets)


def _pieces(
    code: int, lo: np.ndarray, hi: np.ndarray, keys: np.ndarray, exact: bool
) -> tuple[np.ndarray, ...]:
    """Columns (transport, first port, last port, key id, exact?) of some table pieces."""
    lo = np.asarray(lo, dtype=np.int64)
    return (
        np.full(len(lo), code, dtype=np.int64),
        lo,
        np.asarray(hi, dtype=np.int64),
        np.asarray(keys, dtype=np.int64),
        np.full(len(lo), exact, dtype=bool),
    )


def _range_pieces(
    lo: np.ndarray, hi: np.ndarray, ids: np.ndarray, key_id: Callable[[tuple[int, ...]], int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split possibly overlapping ranges into pieces of constant cover, in port order.

    Returns (first ports, last ports, key ids).  Most ranges overlap no other
    and are a piece as they stand, named by their record id; only groups of
    overlapping ranges need the sweep (:func:`_sweep`).
    """
    if not len(lo):
        return lo, hi, ids
    order = np.lexsort((ids, hi, lo))
    lo, hi, ids = lo[order], hi[order], ids[order]
    reach = np.maximum.accumulate(hi)  # the last port covered by this range or an earlier one
    new_group = np.concatenate(([True], lo[1:] > reach[:-1]))
    group = np.cumsum(new_group) - 1
    sizes = np.bincount(group)
    alone = sizes[group] == 1
    firsts, lasts, keys = [lo[alone]], [hi[alone]], [ids[alone]]
    for g in np.flatnonzero(sizes > 1).tolist():
        members = group == g
        ranges = zip(lo[members].tolist(), hi[members].tolist(), ids[members].tolist(), strict=True)
        pieces = _sweep(list(ranges))
        firsts.append(np.array([a for a, _, _ in pieces], dtype=np.int64))
        lasts.append(np.array([b for _, b, _ in pieces], dtype=np.int64))
        keys.append(np.array([key_id(ids) for _, _, ids in pieces], dtype=np.int64))
    first, last, key = (np.concatenate(v) for v in (firsts, lasts, keys))
    by_port = np.argsort(first, kind="stable")
    return first[by_port], last[by_port], key[by_port]


def _sweep(ranges: list[tuple[int, int, int]]) -> list[tuple[int, int, tuple[int, ...]]]:
    """(first port, last port, record ids) of each piece of constant cover of overlapping ranges."""
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
            out.append((a, min(b, N_PORTS) - 1, tuple(sorted(active))))
    return out


def slot_frame(cols: RecordColumns, members: np.ndarray, offsets: np.ndarray) -> pd.DataFrame:
    """The join columns of every slot (index = slot id).

    A slot's *primary* record is its first current one (assigned, not
    historic, not de-assigned); its *best* record is the primary, else its
    first.  Name, description and status come from those; the names, notes
    and unauthorized-use reports of all its records are gathered.
    """
    if len(offsets) < 2:
        return _frame({name: [] for name in SLOT_COLUMNS})
    starts = offsets[:-1]
    sizes = np.diff(offsets)

    status = np.array(cols.status, dtype=object)
    historic = np.array(cols.historic, dtype=bool)
    deassigned = np.array(cols.deassigned, dtype=bool)
    current = (status == "assigned") & ~historic & ~deassigned
    position = np.where(current[members], np.arange(len(members)), len(members))
    first_current = np.minimum.reduceat(position, starts)
    has_primary = first_current < len(members)
    primary = members[np.minimum(first_current, len(members) - 1)]
    first = members[starts]
    best = np.where(has_primary, primary, first)
    all_gone = np.logical_and.reduceat((historic | deassigned)[members], starts)

    service = np.array(cols.service, dtype=object)
    columns = {
        "service": np.where(has_primary, service[primary], _NONE),
        "services": [(name,) if name else () for name in service[first]],
        "description": _or_none(np.array(cols.description, dtype=object)[best]),
        "status": status[best],
        "historic_only": ~has_primary & all_gone,
        "deassigned": ~has_primary & deassigned[best],
        "deassigned_date": np.where(
            has_primary, _NONE, np.array(cols.deassigned_date, dtype=object)[best]
        ),
        "unauthorized_use": _or_none(np.array(cols.unauthorized_use, dtype=object)[first]),
        "notes": _or_none(np.array(cols.notes, dtype=object)[first]),
        "discouraged": np.array(cols.discouraged, dtype=bool)[best],
        "widely_used": np.array(cols.widely_used, dtype=bool)[best],
    }
    for s in np.flatnonzero(sizes > 1).tolist():  # slots gathering several records
        key = members[offsets[s] : offsets[s + 1]].tolist()
        columns["services"][s] = tuple(dict.fromkeys(n for i in key if (n := cols.service[i])))
        columns["unauthorized_use"][s] = _joined(cols.unauthorized_use[i] for i in key)
        columns["notes"][s] = _joined(cols.notes[i] for i in key)
    return _frame(columns)


def _frame(columns: dict) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            name: pd.Series(columns[name], dtype=bool if name in _BOOL else object)
            for name in SLOT_COLUMNS
        }
    )
    frame.index.name = "slot"
    return frame


def _or_none(values: np.ndarray) -> np.ndarray:
    """``values`` (an object array of text) with empty text as None."""
    values[values == ""] = None
    return values


def _joined(texts: Iterable[str]) -> str | None:
    """Distinct non-empty texts, in order, one per line; None when there are none."""
    unique = list(dict.fromkeys(t for t in texts if t))
    return "\n".join(unique) if unique else None
