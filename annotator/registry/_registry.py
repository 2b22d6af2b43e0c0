"""The loaded registry: records in registry order, metadata, people, and lookups.

Lookup rules (each pinned by a test on real registry rows):

* A range record (``x11 6000-6063``, ``6302-6305 Unassigned``) covers every
  port in it, but an exact record for a port beats any range covering it.
* A (port, transport) may hold several records (``csdmbase`` at 1467 and
  1471; ``bmc-ctd-ldap`` and its historic alias ``bmc_ctd_ldap`` at 6301).
  All are kept, in registry order.  The *current* ("primary") name is the
  first record there that is assigned, not historic and not de-assigned.
* A blank transport applies to every transport.
* Service-name-only records (DNS-SD names) never match a port; they are
  found by name.
* Port class per RFC 6335: ``system`` 0-1023, ``user`` 1024-49151,
  ``dynamic`` 49152-65535 (the registry assigns nothing there, so a dynamic
  port is "dynamic", never "unassigned").

For joins over millions of flows the registry builds, once and lazily, a
dense ``int32`` table of shape (4, 65536) mapping (transport code, port) to a
*slot*: one row of :attr:`Registry.slots` per distinct set of records.  A
lookup is then one numpy fancy-indexing step.  The table is built from the
records' columns (:mod:`annotator.registry._columns`, by
:mod:`annotator.registry._table`); a registry loaded column by column (CSV,
the bundled snapshot) makes its :class:`Record` objects only when
:attr:`Registry.records` or a record lookup first needs them, since
annotating a capture needs only the table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

from annotator.registry._columns import RecordColumns
from annotator.registry._table import build_table, slot_frame
from annotator.registry.model import TRANSPORTS, Person, Record, RegistryMeta, port_class


class Registry:
    """The loaded registry: records in registry order, metadata, people, lookups."""

    def __init__(
        self,
        records: tuple[Record, ...] | list[Record],
        meta: RegistryMeta | None = None,
        people: dict[str, Person] | None = None,
    ) -> None:
        self._records: tuple[Record, ...] | None = tuple(records)
        self._columns: RecordColumns | None = None
        # Columns still to be made (a saved copy's texts are split on first
        # use): ``(how many records, function giving the columns)``.
        self._pending: tuple[int, Callable[[], RecordColumns]] | None = None
        self.meta = meta if meta is not None else RegistryMeta()
        self.people: dict[str, Person] = dict(people or {})
        self._table: np.ndarray | None = None
        self._slots: pd.DataFrame | None = None
        self._slot_members: np.ndarray | None = None  # record ids of slot s:
        self._slot_offsets: np.ndarray | None = None  # members[offsets[s]:offsets[s + 1]]
        self._current: np.ndarray | None = None
        self._by_name: dict[str, list[Record]] | None = None

    @classmethod
    def from_columns(cls, columns: RecordColumns, meta: RegistryMeta | None = None) -> Registry:
        """A registry over record columns; its :class:`Record` objects are made on first use.

        Annotating a capture needs only the slot table, which is built from the
        columns directly, so the records of a column-wise loaded registry (the
        CSV loader, the bundled snapshot) are never made unless asked for.
        """
        registry = cls((), meta)
        registry._records = None
        registry._columns = columns
        return registry

    @classmethod
    def from_column_loader(
        cls, n: int, load: Callable[[], RecordColumns], meta: RegistryMeta | None = None
    ) -> Registry:
        """A registry of ``n`` records whose columns ``load`` makes when first needed.

        For a saved copy with its slot table (see ``_adopt_table``): the port
        test that deciding flow direction needs then never makes the many
        Python strings of the text cells, which only the join columns and the
        records use.
        """
        registry = cls((), meta)
        registry._records = None
        registry._pending = (n, load)
        return registry

    def _column_data(self) -> RecordColumns | None:
        """The record columns, made now if they were pending; None for a record-built registry."""
        if self._columns is None and self._pending is not None:
            self._columns = self._pending[1]()
            self._pending = None
        return self._columns

    def _table_columns(self) -> RecordColumns:
        """Columns to build tables from: the registry's own, or its records' (made once)."""
        columns = self._column_data()
        return columns if columns is not None else RecordColumns.from_records(self.records)

    @property
    def records(self) -> tuple[Record, ...]:
        """Every record, in registry order."""
        if self._records is None:
            columns = self._column_data()
            assert columns is not None
            self._records = columns.records()
        return self._records

    def __len__(self) -> int:
        if self._records is None:
            if self._pending is not None:
                return self._pending[0]
            if self._columns is not None:
                return len(self._columns)
        return len(self.records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __repr__(self) -> str:
        m = self.meta
        return f"<Registry {len(self)} records, {m.format or '?'} {m.updated or ''}>"

    # -- record lookups ---------------------------------------------------

    def lookup(self, port: int, transport: str | None = None) -> list[Record]:
        """Every record for ``port`` (all transports when ``transport`` is None), registry order."""
        codes = range(len(TRANSPORTS)) if transport is None else [_code(transport)]
        found: set[int] = set()
        for code in codes:
            if code < 0 or not 0 <= port <= 65535:
                continue
            slot = int(self.table[code, port])
            if slot >= 0:
                assert self._slot_members is not None and self._slot_offsets is not None
                start, end = self._slot_offsets[slot : slot + 2]
                found.update(self._slot_members[start:end].tolist())
        return [self.records[i] for i in sorted(found)]

    def lookup_name(self, name: str) -> list[Record]:
        """Every record with this service name (case-insensitive), in registry order."""
        if self._by_name is None:
            index: dict[str, list[Record]] = {}
            for rec in self.records:
                if rec.service:
                    index.setdefault(rec.service.lower(), []).append(rec)
            self._by_name = index
        return list(self._by_name.get(name.strip().lower(), []))

    def primary(self, port: int, transport: str) -> Record | None:
        """The current assignment at (port, transport), or None."""
        for rec in self.lookup(port, transport):
            if rec.current:
                return rec
        return None

    # -- vectorized lookups ------------------------------------------------

    @property
    def table(self) -> np.ndarray:
        """(4, 65536) int32: slot id of each (transport code, port), -1 where no record."""
        if self._table is None:
            self._build()
        assert self._table is not None
        return self._table

    @property
    def slots(self) -> pd.DataFrame:
        """One row per slot (index = slot id): the join columns for that set of records."""
        if self._slots is None:
            members, offsets = self._slot_members, self._slot_offsets
            if self._table is not None and members is not None and offsets is not None:
                # An adopted table (see _adopt_table): only the join columns are missing.
                self._slots = slot_frame(self._table_columns(), members, offsets)
            else:
                self._build()
        assert self._slots is not None
        return self._slots

    def slot_ids(self, ports: np.ndarray, transport_codes: np.ndarray) -> np.ndarray:
        """Slot id (int32) of each (port, transport code) pair; -1 for no record.

        Ports outside 0-65535 and transport codes outside 0-3 give -1.
        """
        ports = np.asarray(ports)
        codes = np.asarray(transport_codes)
        table = self.table
        ok = (ports >= 0) & (ports <= 65535) & (codes >= 0) & (codes < len(TRANSPORTS))
        if ok.all():
            return table[codes, ports]
        out = np.full(np.broadcast(ports, codes).shape, -1, dtype=np.int32)
        p = np.broadcast_to(ports, out.shape)
        c = np.broadcast_to(codes, out.shape)
        out[ok] = table[c[ok], p[ok]]
        return out

    def assigned_mask(self, ports: np.ndarray, transport_codes: np.ndarray) -> np.ndarray:
        """True where (port, transport) has a current assignment."""
        if self._current is None:
            self._build()
        assert self._current is not None
        return self._current[self.slot_ids(ports, transport_codes)]

    def port_class(self, ports: np.ndarray | int) -> np.ndarray:
        """RFC 6335 class of each port (see :func:`port_class`)."""
        return port_class(ports)

    def _build(self) -> None:
        columns = self._table_columns()
        self._table, self._slot_members, self._slot_offsets, self._slots = build_table(columns)
        self._set_current()

    def _adopt_table(
        self, table: np.ndarray, members: np.ndarray, offsets: np.ndarray, current: np.ndarray
    ) -> None:
        """Take a slot table saved from an earlier build, with its ``current`` mask.

        The mask has one bool per slot plus a final False, as
        :meth:`assigned_mask` indexes it; the join columns are made only when
        first asked for.
        """
        self._table, self._slot_members, self._slot_offsets = table, members, offsets
        self._current = current

    def _set_current(self) -> None:
        assert self._slots is not None
        current = self._slots["service"].notna().to_numpy()
        # One extra False at the end, so slot id -1 indexes "no assignment".
        self._current = np.append(current, False)


def _code(transport: str) -> int:
    """Transport code of a name (-1 when unknown)."""
    t = transport.strip().lower()
    return TRANSPORTS.index(t) if t in TRANSPORTS else -1
