"""Load the registry as users paste it from IANA's web page.

Two renderings occur, both handled here (examples in the project's tests):

* **Pipe tables**, with or without a leading ``|`` (and tab-separated
  tables, read the same way; a tab-separated row that kept all twelve
  cells, as a spreadsheet or a browser copies it, is read by position).  Empty cells are dropped
  by the rendering, so values shift left: ``| 5030 | tcp | Reserved | ...``
  has no service-name cell and ``| 6302-6305 | Unassigned |`` has neither
  name nor transport.  Cells are therefore read by *kind*, in IANA's column
  order: an optional name, a port (``80`` or ``6000-6063``), a transport
  (only the lowercase words tcp, udp, sctp, dccp), the description, person
  references (``[Joe_Touch]``), dates, other references (``[RFC6335]``), a
  numeric service code, then unauthorized-use text and notes.
* **Plain text**, whitespace-separated, where a record is one line plus the
  continuation lines that follow it (a description IANA broke with
  ``<br/>``).  In a listing with ports, only a line that starts with a port,
  or a name and a port (or transport), starts a record; in a listing of
  service-name-only records every line that starts with a service name does.

Title, metadata, header and separator rows are not records.  The "Contact
Information" table becomes :attr:`Registry.people`.

Pasted text loses the empty cells, so a lone date may be a registration or a
modification date: such a date is not guessed.  Two dates are registration
then modification; two person cells are assignee then contact; a lone person
cell is the assignee (IANA writes a single person in both columns, so a lone
cell means the record had no separate contact).  In plain text, name and
organization of a contact run together and are kept together as the name.
"""

from __future__ import annotations

import re

from annotator.errors import RegistryError
from annotator.registry._pasted import (
    BRACKETS,
    CONTACT_HEADER,
    CONTACT_TITLE,
    DATE,
    DESC,
    HEADER,
    PORT,
    SEPARATOR,
    URI,
    Row,
    place,
    to_record,
)
from annotator.registry._pasted_plain import plain_body
from annotator.registry._registry import Registry
from annotator.registry.model import COLUMNS, TRANSPORTS, Person, Record, RegistryMeta

_LABELS = {
    "last updated": "updated",
    "expert(s)": "expert",
    "reference": "reference",
    "note": "note",
    "request an assignment": "request",
    "available formats": "formats",
}


def load_text(text: str, name: str) -> Registry:
    """Parse pasted registry ``text`` (from file ``name``) into a :class:`Registry`."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if HEADER.match(line)), None)
    if start is None:
        raise RegistryError(name, "not a registry (no 'Service Name  Port Number' header)")
    delimiter = _delimiter(lines[start:])
    meta = _preamble(lines[:start], name)
    meta.columns_available = frozenset(COLUMNS)
    body = lines[start + 1 :]
    if delimiter:
        rows, people = _table_body(body, start + 2, meta, delimiter)
    else:
        rows, people = plain_body(body, start + 2, meta)
    records: list[Record] = []
    for line_no, row in rows:
        rec = to_record(row, len(records), line_no, meta)
        if rec is not None:
            records.append(rec)
    if not records:
        raise RegistryError(name, "no records under the registry table header")
    return Registry(records, meta, people)


def _delimiter(lines: list[str]) -> str | None:
    """``"|"`` or tab when most table lines use it (header included), else None (plain)."""
    filled = [line for line in lines if line.strip()]
    for delimiter in ("|", "\t"):
        if sum(delimiter in line for line in filled) * 2 > len(filled):
            return delimiter
    return None


# -- preamble -------------------------------------------------------------------


def _preamble(lines: list[str], name: str) -> RegistryMeta:
    """Title, "Last Updated" date and IANA's note from the text above the table."""
    clean = [line.strip().lstrip("-").strip() for line in lines]
    title = next((c for c in clean if re.search(r"Port Number Registry", c)), "")
    sections: dict[str, list[str]] = {}
    current = None
    for c in clean:
        label = _LABELS.get(c.lower())
        if label:
            current = label
            sections.setdefault(label, [])
        elif current and c:
            sections[current].append(c)
    updated = next((c for c in sections.get("updated", []) if DATE.match(c)), "")
    note_lines = sections.get("note")
    if not note_lines:  # some pastes lose the "Note" label: find the note's opening words
        first = next((i for i, c in enumerate(clean) if c.startswith("Service names and")), None)
        note_lines = []
        for c in clean[first:] if first is not None else []:
            if c.lower() in _LABELS:
                break
            note_lines.append(c)
    note = "\n".join(note_lines)
    return RegistryMeta(title=title, updated=updated, note=note, source=name, format="text")


# -- pipe tables ---------------------------------------------------------------


def _cells(line: str, delimiter: str = "|") -> list[str]:
    return [c.strip() for c in line.split(delimiter) if c.strip()]


def _table_body(
    lines: list[str], first_no: int, meta: RegistryMeta, delimiter: str
) -> tuple[list[tuple[int, Row]], dict[str, Person]]:
    """(line number, row) of each record in a pipe (or tab-separated) table, and its contacts."""
    rows: list[tuple[int, Row]] = []
    people: dict[str, Person] = {}
    contacts = False
    for no, line in enumerate(lines, start=first_no):
        if not line.strip() or SEPARATOR.match(line) or HEADER.match(line):
            continue
        if CONTACT_TITLE.match(line):
            contacts = True
            continue
        if contacts:
            if not CONTACT_HEADER.match(line):
                _person(_cells(line, delimiter), people, meta, no)
            continue
        cells = _cells(line, delimiter)
        if delimiter not in line or not cells:
            meta.skip(f"line {no}: not a table row")
            continue
        whole = _row_in_place(line.split("\t")) if delimiter == "\t" else None
        rows.append((no, whole or _row_from_cells(cells)))
    return rows, people


def _row_in_place(raw: list[str]) -> Row | None:
    """A tab-separated row that kept all twelve cells (a spreadsheet's or a browser's copy).

    Every column is then known by position, dates and people included; None
    when the row does not have exactly IANA's columns with plausible values.
    """
    cells = [c.strip() for c in raw]
    if len(cells) != len(COLUMNS):
        return None
    name, port, transport, desc, assignee, contact, reg, mod, ref, code, unauth, notes = cells
    plausible = (
        (name or port)
        and not PORT.match(name)
        and (not port or PORT.match(port))
        and (not transport or transport in TRANSPORTS)
        and all(not c or DATE.match(c) for c in (reg, mod))
        and all(not c or BRACKETS.match(c) for c in (assignee, contact))
        and (not code or code.isdigit())
    )
    if not plausible:
        return None
    exact = {"assignee": assignee, "contact": contact, "registration_date": reg}
    exact.update(modification_date=mod, reference=ref, service_code=code)
    return Row(name, port, transport, desc, unauthorized=[unauth], notes=[notes], exact=exact)


def _row_from_cells(cells: list[str]) -> Row:
    """Place shifted cells by kind, in IANA's column order."""
    row = Row()
    i = 0
    if not PORT.match(cells[0]):
        row.name, i = cells[0], 1
    if i < len(cells) and PORT.match(cells[i]):
        row.port, i = cells[i], i + 1
    if i < len(cells) and cells[i] in TRANSPORTS:
        row.transport, i = cells[i], i + 1
    pos = DESC
    for cell in cells[i:]:
        pos = place(row, cell, pos)
    return row


def _person(cells: list[str], people: dict[str, Person], meta: RegistryMeta, no: int) -> None:
    """One contact row: [id], then name, organization, URI and date in any shift."""
    if not cells or not BRACKETS.match(cells[0]):
        if cells:
            meta.skip(f"line {no}: contact row without an [ID]")
        return
    pid = cells[0].strip("[]")
    uri = next((c for c in cells[1:] if URI.match(c)), "")
    updated = next((c for c in cells[1:] if DATE.match(c)), "")
    texts = [c for c in cells[1:] if c not in (uri, updated)]
    people[pid] = Person(
        id=pid,
        name=texts[0] if texts else "",
        org=" ".join(texts[1:]),
        uri=uri,
        updated=updated,
    )
