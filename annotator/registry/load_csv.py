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
from annotator.registry import _markers
from annotator.registry._columns import RecordColumns
from annotator.registry._registry import Registry
from annotator.registry.model import COLUMNS, TRANSPORTS, RegistryMeta

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


def load_csv(text: str, name: str, *, normalized: bool = False) -> Registry:
    """Parse IANA CSV ``text`` (from file ``name``) into a :class:`Registry`.

    The file is read column by column and the registry makes its
    :class:`~annotator.registry.model.Record` objects only when asked for them
    (see :mod:`annotator.registry._columns`).  Cells are stripped and their
    whitespace runs folded to one space, unless the caller vouches that they
    already are (``normalized=True``: the bundled snapshot, whose converter
    writes them so).
    """
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
    available = frozenset(c for h in header if (c := HEADERS[h][1])) & frozenset(COLUMNS)
    meta = RegistryMeta(source=name, format="csv", columns_available=available)

    width = len(header)
    body = rows[1:]
    full = [row for row in body if len(row) == width]
    lines = list(range(2, len(body) + 2))  # row number of each full row, for skip reasons
    skips: list[tuple[int, str]] = []
    if len(full) < len(body):  # rows of the wrong width are skipped (blank ones silently)
        lines = [n for n, row in enumerate(body, start=2) if len(row) == width]
        skips = [
            (n, f"row {n}: {len(row)} cells, expected {width}")
            for n, row in enumerate(body, start=2)
            if len(row) != width and any(cell.strip() for cell in row)
        ]
    cells = list(zip(*full, strict=True)) or [()] * width
    # A field named twice (both spellings of unauthorized use) takes its last column.
    by_field = {HEADERS[h][0]: list(column) for h, column in zip(header, cells, strict=True)}
    for field, column in by_field.items():
        if not normalized:
            fold = field in _FOLDED
            by_field[field] = [" ".join(c.split()) if fold else c.strip() for c in column]

    keep, lo, hi = _check_rows(by_field, lines, skips)
    for _, reason in sorted(skips):  # in file order
        meta.skip(reason)
    if not keep:
        raise RegistryError(name, "no records in this registry CSV")
    if len(keep) < len(lines):  # some rows were skipped
        by_field = {f: [column[i] for i in keep] for f, column in by_field.items()}
    blank = [""] * len(keep)
    text_of = {f: by_field.get(f, blank) for f in _TEXT}
    service, description, notes = text_of["service"], text_of["description"], text_of["notes"]
    columns = RecordColumns(
        port_lo=lo,
        port_hi=hi,
        transport=[t.lower() for t in by_field["transport"]],
        order=list(range(len(keep))),
        **text_of,
        **_markers.derive_columns(service, description, notes),
    )
    return Registry.from_columns(columns, meta)


#: Record text fields a CSV can carry (everything but the port and transport).
_TEXT = tuple(dict.fromkeys(h for h, _ in HEADERS.values() if h not in ("port", "transport")))
#: Fields whose whitespace runs fold to one space (the others are only stripped).
_FOLDED = frozenset(_TEXT) - {"service", "provenance"}


def _check_rows(
    by_field: dict[str, list[str]], lines: list[int], skips: list[tuple[int, str]]
) -> tuple[list[int], list[int | None], list[int | None]]:
    """(rows that are records, their first ports, their last ports).

    Each other row adds (line number, reason) to ``skips``; blank rows are dropped silently.
    """
    keep: list[int] = []
    los: list[int | None] = []
    his: list[int | None] = []
    names = by_field["service"]
    transports = by_field["transport"]
    for i, port in enumerate(by_field["port"]):
        lo = hi = None
        if port.isdigit() and port.isascii() and len(port) <= 5:
            lo = hi = int(port)
        elif port:
            m = _PORT.match(port)
            if not m:
                skips.append((lines[i], f"row {lines[i]}: bad port number {port!r}"))
                continue
            lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if lo is not None and hi is not None and (hi > 65535 or lo > hi):
            skips.append((lines[i], f"row {lines[i]}: port out of range {port!r}"))
            continue
        transport = transports[i].lower()
        if transport and transport not in TRANSPORTS:
            skips.append((lines[i], f"row {lines[i]}: unknown transport {transport!r}"))
            continue
        if not names[i] and lo is None:
            if any(column[i] for column in by_field.values()):
                skips.append((lines[i], f"row {lines[i]}: neither a service name nor a port"))
            continue
        keep.append(i)
        los.append(lo)
        his.append(hi)
    return keep, los, his
