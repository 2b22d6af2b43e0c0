"""Load IANA's registry CSV (service-names-port-numbers.csv).

The header must be IANA's, in any order; the unauthorized-use column is
accepted under both of IANA's spellings ("Unauthorized Use Reported" and the
older "Known Unauthorized Uses"), and a trailing "Provenance" column (written
by the bundled snapshot's converter) is kept per record.  Rows that cannot be
records (bad port, unknown transport, wrong cell count) are skipped and
counted in ``meta.skipped_rows`` with a reason.
"""

from __future__ import annotations

import csv
import io
import re

from annotator.errors import RegistryError
from annotator.registry.model import COLUMNS, TRANSPORTS, Record, Registry, RegistryMeta

#: Header spelling -> (Record.build argument, ``columns_available`` name).
HEADERS = {
    "service name": ("service", "service_name"),
    "port number": ("port", "port_number"),
    "transport protocol": ("transport", "transport_protocol"),
    "description": ("description", "description"),
    "assignee": ("assignee", "assignee"),
    "contact": ("contact", "contact"),
    "registration date": ("registration_date", "registration_date"),
    "modification date": ("modification_date", "modification_date"),
    "reference": ("reference", "reference"),
    "service code": ("service_code", "service_code"),
    "unauthorized use reported": ("unauthorized_use", "unauthorized_use"),
    "known unauthorized uses": ("unauthorized_use", "unauthorized_use"),
    "assignment notes": ("notes", "assignment_notes"),
    "provenance": ("provenance", None),
}
REQUIRED = ("service name", "port number", "transport protocol", "description")

#: A registry field is a few kilobytes at most; anything past this is not a registry.
FIELD_LIMIT = 1024 * 1024

_PORT = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?$")


def load_csv(text: str, name: str) -> Registry:
    """Parse IANA CSV ``text`` (from file ``name``) into a :class:`Registry`."""
    old_limit = csv.field_size_limit(FIELD_LIMIT)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=False))
    except csv.Error as err:
        raise RegistryError(name, f"unreadable CSV ({err})") from None
    finally:
        csv.field_size_limit(old_limit)
    header = [h.strip().lower() for h in rows[0]]
    unknown = [h for h in header if h not in HEADERS]
    if unknown:
        raise RegistryError(name, f"not an IANA registry CSV (unexpected column {unknown[0]!r})")
    missing = [h for h in REQUIRED if h not in header]
    if missing:
        raise RegistryError(name, f"not an IANA registry CSV (no {missing[0]!r} column)")
    fields = [HEADERS[h][0] for h in header]
    available = frozenset(HEADERS[h][1] for h in header if HEADERS[h][1]) & frozenset(COLUMNS)
    meta = RegistryMeta(source=name, format="csv", columns_available=available)

    records: list[Record] = []
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(fields):
            meta.skip(f"row {line_no}: {len(row)} cells, expected {len(fields)}")
            continue
        values = {f: cell.strip() for f, cell in zip(fields, row, strict=True)}
        rec = _record(values, len(records), line_no, meta)
        if rec is not None:
            records.append(rec)
    if not records:
        raise RegistryError(name, "no records in this registry CSV")
    return Registry(records, meta)


def _record(values: dict[str, str], order: int, line_no: int, meta: RegistryMeta) -> Record | None:
    port = values.pop("port")
    lo = hi = None
    if port:
        m = _PORT.match(port)
        if not m:
            return meta.skip(f"row {line_no}: bad port number {port!r}")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi > 65535 or lo > hi:
            return meta.skip(f"row {line_no}: port out of range {port!r}")
    transport = values.pop("transport").lower()
    if transport and transport not in TRANSPORTS:
        return meta.skip(f"row {line_no}: unknown transport {transport!r}")
    service = values.pop("service")
    if not service and lo is None:
        return meta.skip(f"row {line_no}: neither a service name nor a port")
    provenance = values.pop("provenance", "")
    return Record.build(service, lo, hi, transport, order=order, provenance=provenance, **values)
