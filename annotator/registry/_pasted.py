"""Pasted registry text, shared by both renderings: cell kinds, the row, the record.

:mod:`annotator.registry.load_text` reads pipe (and tab-separated) tables and
:mod:`annotator.registry._pasted_plain` plain text; both gather a record's
cells into a :class:`Row`, place the cells whose column the rendering lost by
their kind (:func:`place`), and turn the row into a
:class:`~annotator.registry.model.Record` (:func:`to_record`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from annotator.registry.model import Record, RegistryMeta

# What each kind of cell looks like.
PORT = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?$")
DATE = re.compile(r"^\d{4}-\d{2}(?:-\d{2})?$")
BRACKETS = re.compile(r"^(?:\[[^\[\]]+\])+$")
_REF_ITEM = re.compile(r"^(?:RFC[\d-]|draft-|https?:|ftp:|note\b|\d+$)", re.I)
_UNAUTHORIZED = re.compile(r"unauthori[sz]ed|unofficial", re.I)
#: A service name: a letter or digit, then up to 62 of the characters IANA's names use.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+/*-]{0,62}$")
URI = re.compile(r"^(?:mailto|tel|fax|https?):", re.I)
# The lines around the records: the table header, the contact table, separators.
HEADER = re.compile(r"^\W*Service\s+Name\W+Port\s+Number", re.I)
CONTACT_TITLE = re.compile(r"^\W*Contact\s+Information\W*$", re.I)
CONTACT_HEADER = re.compile(r"^\W*ID\W+Name\b", re.I)
SEPARATOR = re.compile(r"^[\s|:-]*-{3}[\s|:-]*$")
# Openings of assignment notes: where plain text gives no other separator, and
# how a notes cell is told from a description when the description cell is empty.
NOTE_PHRASES = (
    r"Defined TXT keys\b|This entry is an alias\b|This entry records\b|"
    r"This entry (?:is being|has been) removed\b|Historic usage was\b|De-Assigned on\b"
)
_NOTE_OPENING = re.compile(rf"^(?:{NOTE_PHRASES})")

# Column positions in IANA's order (for reading shifted pipe cells).
DESC, PEOPLE, DATES, REFS, SC, UNAUTH, NOTES = range(7)


@dataclass
class Row:
    """The columns of one pasted record, as far as they can be placed."""

    name: str = ""
    port: str = ""
    transport: str = ""
    description: str = ""
    people: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    service_code: str = ""
    unauthorized: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    exact: dict[str, str] | None = None  # every column, when the row kept its empty cells


def place(row: Row, cell: str, pos: int) -> int:
    """Put one cell in the first column at or after ``pos`` that its kind fits."""
    if BRACKETS.match(cell):
        items = re.findall(r"\[([^\[\]]+)\]", cell)
        if pos <= PEOPLE and len(row.people) < 2 and not all(_REF_ITEM.match(x) for x in items):
            row.people.append(cell)
            return PEOPLE
        row.refs.append(cell)
        return REFS
    if DATE.match(cell) and pos <= DATES and len(row.dates) < 2:
        row.dates.append(cell)
        return DATES
    if cell.isdigit() and DESC < pos <= SC:
        row.service_code = cell
        return UNAUTH
    if pos == DESC and not _NOTE_OPENING.match(cell):
        row.description = cell
        return PEOPLE
    if pos <= UNAUTH and _UNAUTHORIZED.search(cell):
        row.unauthorized.append(cell)
        return NOTES
    row.notes.append(cell)
    return NOTES


def to_record(row: Row, order: int, line_no: int, meta: RegistryMeta) -> Record | None:
    """The record of ``row``; None, counted in ``meta``, when its port or name is malformed.

    A lone date is not guessed to be a registration or a modification date;
    two are registration then modification.  Two person cells are assignee
    then contact, a lone one is the assignee.
    """
    lo: int | None = None
    hi: int | None = None
    if row.port:
        m = PORT.match(row.port)
        if m is not None:
            lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if lo is None or hi is None or hi > 65535 or lo > hi:
            meta.skip(f"line {line_no}: bad port number {row.port!r}")
            return None
    if row.name and not NAME.match(row.name):
        meta.skip(f"line {line_no}: {row.name[:40]!r} is not a service name")
        return None
    reg, mod = row.dates if len(row.dates) == 2 else ("", "")
    placed = row.exact or {
        "assignee": row.people[0] if row.people else "",
        "contact": row.people[1] if len(row.people) > 1 else "",
        "registration_date": reg,
        "modification_date": mod,
        "reference": "".join(row.refs),
        "service_code": row.service_code,
    }
    return Record.build(
        row.name,
        lo,
        hi,
        row.transport,
        order=order,
        description=row.description,
        unauthorized_use=" ".join(row.unauthorized),
        notes=" ".join(row.notes),
        assignee=placed["assignee"],
        contact=placed["contact"],
        registration_date=placed["registration_date"],
        modification_date=placed["modification_date"],
        reference=placed["reference"],
        service_code=placed["service_code"],
    )
