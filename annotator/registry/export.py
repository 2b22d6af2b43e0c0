"""Write a loaded registry back out: IANA's CSV (verbatim header) or JSON.

This is registry data, not a report: cells are written as they are, without
a spreadsheet-formula guard, so that loading the CSV back gives the same
records (``load_registry(to_csv(reg))`` round-trips every column).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from contextlib import contextmanager
from os import PathLike
from pathlib import Path
from typing import IO, Any

from annotator.registry._registry import Registry
from annotator.registry.model import Record

#: IANA's CSV header, verbatim.
CSV_HEADER = (
    "Service Name",
    "Port Number",
    "Transport Protocol",
    "Description",
    "Assignee",
    "Contact",
    "Registration Date",
    "Modification Date",
    "Reference",
    "Service Code",
    "Unauthorized Use Reported",
    "Assignment Notes",
)

Target = str | PathLike[str] | IO[str]


def csv_row(rec: Record) -> list[str]:
    """One record in IANA's CSV column order."""
    return [
        rec.service,
        rec.port,
        rec.transport,
        rec.description,
        rec.assignee,
        rec.contact,
        rec.registration_date,
        rec.modification_date,
        rec.reference,
        rec.service_code,
        rec.unauthorized_use,
        rec.notes,
    ]


def to_csv(registry: Registry, file: Target, *, provenance: bool = False) -> None:
    """Write every record under IANA's CSV header (plus "Provenance" when asked)."""
    with _opened(file) as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([*CSV_HEADER, "Provenance"] if provenance else CSV_HEADER)
        for rec in registry.records:
            row = csv_row(rec)
            writer.writerow([*row, rec.provenance] if provenance else row)


def record_dict(rec: Record) -> dict[str, Any]:
    """A record as a JSON-ready dict: IANA's columns, then the derived markers."""
    return {
        "service": rec.service,
        "port": rec.port,
        "port_lo": rec.port_lo,
        "port_hi": rec.port_hi,
        "transport": rec.transport,
        "description": rec.description,
        "assignee": rec.assignee,
        "contact": rec.contact,
        "registration_date": rec.registration_date,
        "modification_date": rec.modification_date,
        "reference": rec.reference,
        "service_code": rec.service_code,
        "unauthorized_use": rec.unauthorized_use,
        "notes": rec.notes,
        "status": rec.status,
        "historic": rec.historic,
        "deassigned": rec.deassigned,
        "deassigned_date": rec.deassigned_date,
        "discouraged": rec.discouraged,
        "widely_used": rec.widely_used,
        "provenance": rec.provenance,
    }


def to_json(registry: Registry, file: Target) -> None:
    """Write ``{"meta": ..., "records": [...], "people": [...]}`` as JSON."""
    m = registry.meta
    doc = {
        "meta": {
            "title": m.title,
            "updated": m.updated,
            "source": m.source,
            "format": m.format,
            "note": m.note,
            "columns_available": sorted(m.columns_available),
            "skipped_rows": m.skipped_rows,
            "skipped_reasons": list(m.skipped_reasons),
            "extra": m.extra,
        },
        "records": [record_dict(r) for r in registry.records],
        "people": [
            {"id": p.id, "name": p.name, "org": p.org, "uri": p.uri, "updated": p.updated}
            for p in registry.people.values()
        ],
    }
    with _opened(file) as out:
        json.dump(doc, out, ensure_ascii=False, indent=1, default=str)
        out.write("\n")


@contextmanager
def _opened(file: Target) -> Iterator[IO[str]]:
    """A text stream for a path (opened and closed here) or an open file (left open)."""
    if isinstance(file, str | PathLike):
        with Path(file).open("w", encoding="utf-8", newline="") as out:
            yield out
    else:
        yield file
