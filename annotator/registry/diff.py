"""Compare two registries: records added, removed, changed and renamed.

Records pair up by (service name, port, transport), names compared without
case.  Of the records left unpaired, a removed and an added record at the
same port and transport that both carry a service name are a *rename*
(seed 003 of 2024 against the 2026 registry: ``pmcdproxy`` at 44322 became
``pmproxy``).  Nameless records (Reserved, Unassigned) never form renames: a
port that went from a name to "Reserved" shows as one removal and one
addition.

A pasted text rendering drops empty cells and cannot place a lone date, so
when either side was loaded from pasted text, a column that is empty on that
side is treated as unknown rather than as changed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from annotator.registry._registry import Registry
from annotator.registry.model import Record

#: The columns compared for "changed" (IANA's columns, without registry order).
COMPARED = (
    "description",
    "assignee",
    "contact",
    "registration_date",
    "modification_date",
    "reference",
    "service_code",
    "unauthorized_use",
    "notes",
)


@dataclass(frozen=True)
class Change:
    """One record present in both registries with different column values."""

    old: Record
    new: Record
    fields: tuple[str, ...]  # the columns that differ (plus "service" for a rename)


@dataclass
class RegistryDiff:
    """The differences from ``old`` to ``new``; each list in the new registry's order."""

    added: list[Record] = field(default_factory=list)
    removed: list[Record] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    renamed: list[Change] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.renamed)


def diff(old: Registry, new: Registry) -> RegistryDiff:
    """Records added, removed, changed and renamed between ``old`` and ``new``."""
    blank_unknown = "text" in (old.meta.format, new.meta.format)
    old_by_key = _keyed(old.records)
    new_by_key = _keyed(new.records)
    result = RegistryDiff()
    for key, rec in new_by_key.items():
        before = old_by_key.get(key)
        if before is None:
            result.added.append(rec)
            continue
        fields = _differing(before, rec, blank_unknown)
        if fields:
            result.changed.append(Change(before, rec, fields))
    result.removed = [rec for key, rec in old_by_key.items() if key not in new_by_key]
    _pair_renames(result, blank_unknown)
    result.removed.sort(key=lambda r: r.order)
    return result


def _keyed(records: tuple[Record, ...]) -> dict[tuple[str, str, str, int], Record]:
    """Records by (name, port, transport, occurrence): repeated keys stay distinct."""
    seen: dict[tuple[str, str, str], int] = defaultdict(int)
    out = {}
    for rec in records:
        k = rec.key()
        out[(*k, seen[k])] = rec
        seen[k] += 1
    return out


def _differing(a: Record, b: Record, blank_unknown: bool) -> tuple[str, ...]:
    out = []
    for name in COMPARED:
        x, y = getattr(a, name), getattr(b, name)
        if x == y or (blank_unknown and (not x or not y)):
            continue
        out.append(name)
    return tuple(out)


def _pair_renames(result: RegistryDiff, blank_unknown: bool) -> None:
    """Turn a removed and an added named record at one (port, transport) into a rename."""
    added_at: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for rec in result.added:
        if rec.service and rec.port:
            added_at[(rec.port, rec.transport)].append(rec)
    paired: set[int] = set()
    still_removed = []
    for rec in result.removed:
        candidates = added_at.get((rec.port, rec.transport)) if rec.service and rec.port else None
        if candidates:
            new = candidates.pop(0)
            paired.add(id(new))
            fields = ("service", *_differing(rec, new, blank_unknown))
            result.renamed.append(Change(rec, new, fields))
        else:
            still_removed.append(rec)
    result.removed = still_removed
    result.added = [r for r in result.added if id(r) not in paired]
