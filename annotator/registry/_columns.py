"""The registry's records held column by column, from which the lookup tables are built.

Making one :class:`~annotator.registry.model.Record` object per registry row
is the costliest part of loading the bundled snapshot, and annotating a
capture needs none of them: the flow join needs only the (transport, port) slot table
and the per-slot columns.  So the CSV loader hands the registry its columns,
and the records are made from them on the first use of ``Registry.records``.
Registries built from records (XML, pasted text) are turned into columns once,
to build the table with numpy instead of a loop per record.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

from annotator.registry.model import Record

#: Record's fields in its constructor's order; RecordColumns has one list per field.
FIELDS = tuple(f.name for f in dataclasses.fields(Record))


@dataclass
class RecordColumns:
    """One list per :class:`Record` field, all of the same length, in registry order."""

    service: list[str]
    port_lo: list[int | None]
    port_hi: list[int | None]
    transport: list[str]
    description: list[str]
    assignee: list[str]
    contact: list[str]
    registration_date: list[str]
    modification_date: list[str]
    reference: list[str]
    service_code: list[str]
    unauthorized_use: list[str]
    notes: list[str]
    status: list[str]
    historic: list[bool]
    deassigned: list[bool]
    deassigned_date: list[str | None]
    discouraged: list[bool]
    widely_used: list[bool]
    order: list[int]
    provenance: list[str]

    def __len__(self) -> int:
        return len(self.service)

    @classmethod
    def from_records(cls, records: Sequence[Record]) -> RecordColumns:
        """The columns of ``records``.

        Field by field, so that no object per record is made on the way (a
        tuple per record would wake the garbage collector over the whole heap).
        """
        return cls(*(list(map(attrgetter(name), records)) for name in FIELDS))

    def records(self) -> tuple[Record, ...]:
        """The :class:`Record` of every row, in registry order."""
        return tuple(map(Record, *(getattr(self, name) for name in FIELDS)))
