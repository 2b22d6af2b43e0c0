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
from dataclasses import dataclass, field

from annotator.errors import RegistryError
from annotator.registry._registry import Registry
from annotator.registry.model import COLUMNS, TRANSPORTS, Person, Record, RegistryMeta

_PORT = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?$")
_DATE = re.compile(r"^\d{4}-\d{2}(?:-\d{2})?$")
_BRACKETS = re.compile(r"^(?:\[[^\[\]]+\])+$")
_REF_ITEM = re.compile(r"^(?:RFC[\d-]|draft-|https?:|ftp:|note\b|\d+$)", re.I)
_UNAUTHORIZED = re.compile(r"unauthori[sz]ed|unofficial", re.I)
#: How IANA's "Unauthorized Use Reported" texts begin ("Known UNAUTHORIZED USEs
#: on port 5555", "Unauthorized Use Known on port 8765", "Unofficial use of...").
_UNAUTHORIZED_START = re.compile(r"(?:known\s+)?(?:unauthori[sz]ed|unofficial)", re.I)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+/*-]{0,62}$")
_HEADER = re.compile(r"^\W*Service\s+Name\W+Port\s+Number", re.I)
_CONTACT_TITLE = re.compile(r"^\W*Contact\s+Information\W*$", re.I)
_CONTACT_HEADER = re.compile(r"^\W*ID\W+Name\b", re.I)
_SEPARATOR = re.compile(r"^[\s|:-]*-{3}[\s|:-]*$")
_URI = re.compile(r"^(?:mailto|tel|fax|https?):", re.I)

# Plain-text record starts.
_P_PORT = re.compile(r"^(\d{1,6}(?:-\d{1,6})?)(?:\s+(.*))?$")
_P_NAME_PORT = re.compile(r"^(\S+)\s+(\d{1,6}(?:-\d{1,6})?)(?:\s+(.*))?$")
_P_NAME_TRANSPORT = re.compile(r"^(\S+)\s+(tcp|udp|sctp|dccp)(?:\s+(.*))?$")
_P_NAME = re.compile(r"^(\S+)(?:\s+(.*))?$")
# Where the structured tail of a plain-text record starts: a bracket group or a date.
_P_TAIL = re.compile(r"(?:^|\s)(?:\[[^\[\]\s]+\])+(?=\s|$)|(?:^|\s)\d{4}-\d{2}(?:-\d{2})?(?=\s|$)")
# Openings of assignment notes: where plain text gives no other separator, and
# how a notes cell is told from a description when the description cell is empty.
_NOTE_PHRASES = (
    r"Defined TXT keys\b|This entry is an alias\b|This entry records\b|"
    r"This entry (?:is being|has been) removed\b|Historic usage was\b|De-Assigned on\b"
)
_P_NOTE_START = re.compile(rf"\s(?={_NOTE_PHRASES})")
_NOTE_OPENING = re.compile(rf"^(?:{_NOTE_PHRASES})")
# A nameless record's description is one of IANA's status words; text after it is a note.
_P_NAMELESS_NOTE = re.compile(
    r"(?:Reserved|Unassigned|De-registered|Removed|Deprecated)(?=\s+[^\s(\[-])", re.I
)

_LABELS = {
    "last updated": "updated",
    "expert(s)": "expert",
    "reference": "reference",
    "note": "note",
    "request an assignment": "request",
    "available formats": "formats",
}

# Column positions in IANA's order (for reading shifted pipe cells).
_DESC, _PEOPLE, _DATES, _REFS, _SC, _UNAUTH, _NOTES = range(7)


@dataclass
class _Row:
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


def load_text(text: str, name: str) -> Registry:
    """Parse pasted registry ``text`` (from file ``name``) into a :class:`Registry`."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _HEADER.match(line)), None)
    if start is None:
        raise RegistryError(name, "not a registry (no 'Service Name  Port Number' header)")
    delimiter = _delimiter(lines[start:])
    meta = _preamble(lines[:start], name)
    meta.columns_available = frozenset(COLUMNS)
    body = lines[start + 1 :]
    if delimiter:
        rows, people = _table_body(body, start + 2, meta, delimiter)
    else:
        rows, people = _plain_body(body, start + 2, meta)
    records: list[Record] = []
    for line_no, row in rows:
        rec = _to_record(row, len(records), line_no, meta)
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
    updated = next((c for c in sections.get("updated", []) if _DATE.match(c)), "")
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


def _table_body(lines: list[str], first_no: int, meta: RegistryMeta, delimiter: str):
    """Rows of a pipe (or tab-separated) table, and its contact table."""
    rows: list[tuple[int, _Row]] = []
    people: dict[str, Person] = {}
    contacts = False
    for no, line in enumerate(lines, start=first_no):
        if not line.strip() or _SEPARATOR.match(line) or _HEADER.match(line):
            continue
        if _CONTACT_TITLE.match(line):
            contacts = True
            continue
        if contacts:
            if not _CONTACT_HEADER.match(line):
                _person(_cells(line, delimiter), people, meta, no)
            continue
        cells = _cells(line, delimiter)
        if delimiter not in line or not cells:
            meta.skip(f"line {no}: not a table row")
            continue
        whole = _row_in_place(line.split("\t")) if delimiter == "\t" else None
        rows.append((no, whole or _row_from_cells(cells)))
    return rows, people


def _row_in_place(raw: list[str]) -> _Row | None:
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
        and not _PORT.match(name)
        and (not port or _PORT.match(port))
        and (not transport or transport in TRANSPORTS)
        and all(not c or _DATE.match(c) for c in (reg, mod))
        and all(not c or _BRACKETS.match(c) for c in (assignee, contact))
        and (not code or code.isdigit())
    )
    if not plausible:
        return None
    exact = {"assignee": assignee, "contact": contact, "registration_date": reg}
    exact.update(modification_date=mod, reference=ref, service_code=code)
    return _Row(name, port, transport, desc, unauthorized=[unauth], notes=[notes], exact=exact)


def _row_from_cells(cells: list[str]) -> _Row:
    """Place shifted cells by kind, in IANA's column order."""
    row = _Row()
    i = 0
    if not _PORT.match(cells[0]):
        row.name, i = cells[0], 1
    if i < len(cells) and _PORT.match(cells[i]):
        row.port, i = cells[i], i + 1
    if i < len(cells) and cells[i] in TRANSPORTS:
        row.transport, i = cells[i], i + 1
    pos = _DESC
    for cell in cells[i:]:
        pos = _place(row, cell, pos)
    return row


def _place(row: _Row, cell: str, pos: int) -> int:
    """Put one cell in the first column at or after ``pos`` that its kind fits."""
    if _BRACKETS.match(cell):
        items = re.findall(r"\[([^\[\]]+)\]", cell)
        if pos <= _PEOPLE and len(row.people) < 2 and not all(_REF_ITEM.match(x) for x in items):
            row.people.append(cell)
            return _PEOPLE
        row.refs.append(cell)
        return _REFS
    if _DATE.match(cell) and pos <= _DATES and len(row.dates) < 2:
        row.dates.append(cell)
        return _DATES
    if cell.isdigit() and _DESC < pos <= _SC:
        row.service_code = cell
        return _UNAUTH
    if pos == _DESC and not _NOTE_OPENING.match(cell):
        row.description = cell
        return _PEOPLE
    if pos <= _UNAUTH and _UNAUTHORIZED.search(cell):
        row.unauthorized.append(cell)
        return _NOTES
    row.notes.append(cell)
    return _NOTES


def _person(cells: list[str], people: dict[str, Person], meta: RegistryMeta, no: int) -> None:
    """One contact row: [id], then name, organization, URI and date in any shift."""
    if not cells or not _BRACKETS.match(cells[0]):
        if cells:
            meta.skip(f"line {no}: contact row without an [ID]")
        return
    pid = cells[0].strip("[]")
    uri = next((c for c in cells[1:] if _URI.match(c)), "")
    updated = next((c for c in cells[1:] if _DATE.match(c)), "")
    texts = [c for c in cells[1:] if c not in (uri, updated)]
    people[pid] = Person(
        id=pid,
        name=texts[0] if texts else "",
        org=" ".join(texts[1:]),
        uri=uri,
        updated=updated,
    )


# -- plain text -----------------------------------------------------------------


def _plain_body(lines: list[str], first_no: int, meta: RegistryMeta):
    starts: list[tuple[int, list[str]]] = []  # (line number, [record line + continuations])
    people: dict[str, Person] = {}
    contacts = False
    with_ports = False
    for no, raw in enumerate(lines, start=first_no):
        line = raw.strip()
        if not line or _SEPARATOR.match(line) or _HEADER.match(line):
            continue
        if _CONTACT_TITLE.match(line):
            contacts = True
            continue
        if contacts:
            if not _CONTACT_HEADER.match(line):
                _plain_person(line, people, meta, no)
            continue
        kind = _plain_start(line, with_ports)
        if kind == "port":
            with_ports = True
        if kind:
            starts.append((no, [line]))
        elif starts:
            starts[-1][1].append(line)
        else:
            meta.skip(f"line {no}: text before the first record")
    return [(no, _row_from_plain(" ".join(parts))) for no, parts in starts], people


def _plain_start(line: str, with_ports: bool) -> str | None:
    """ "port" or "name" when ``line`` starts a record, else None (a continuation line)."""
    if _P_PORT.match(line):
        return "port"
    m = _P_NAME_PORT.match(line)
    if m and _NAME.match(m.group(1)):
        return "port"
    m = _P_NAME_TRANSPORT.match(line)
    if m and _NAME.match(m.group(1)):
        return "name"
    m = _P_NAME.match(line)
    if not with_ports and m and _NAME.match(m.group(1)) and not m.group(1).endswith(":"):
        return "name"
    return None


def _row_from_plain(text: str) -> _Row:
    text = " ".join(text.split())  # tabs and runs of spaces separate alike
    row = _Row()
    m = _P_PORT.match(text)
    if m:
        row.port, rest = m.group(1), m.group(2) or ""
    else:
        row.name, rest = _P_NAME.match(text).groups("")
        m = _P_PORT.match(rest)
        if m:
            row.port, rest = m.group(1), m.group(2) or ""
    first, _, after = rest.partition(" ")
    if first in TRANSPORTS:
        row.transport, rest = first, after
    tail = _P_TAIL.search(rest)
    note = _P_NOTE_START.search(rest)
    cut = min(x.start() for x in (tail, note) if x) if (tail or note) else len(rest)
    status_word = None if row.name or tail or note else _P_NAMELESS_NOTE.match(rest)
    if status_word:  # "Unassigned "pcp" assignment withdrawn, ...": the rest is a note
        cut = status_word.end()
    row.description = rest[:cut].strip()
    tokens = rest[cut:].split()
    pos = _PEOPLE
    k = 0
    while k < len(tokens) and (
        _BRACKETS.match(tokens[k]) or _DATE.match(tokens[k]) or tokens[k].isdigit()
    ):
        pos = _place(row, tokens[k], pos)
        k += 1
    free = " ".join(tokens[k:])
    if free:
        (row.unauthorized if _UNAUTHORIZED_START.match(free) else row.notes).append(free)
    return row


def _plain_person(line: str, people: dict[str, Person], meta: RegistryMeta, no: int) -> None:
    tokens = line.split()
    if not _BRACKETS.match(tokens[0]):
        meta.skip(f"line {no}: contact row without an [ID]")
        return
    uri = next((t for t in tokens[1:] if _URI.match(t)), "")
    updated = next((t for t in tokens[1:] if _DATE.match(t)), "")
    name = " ".join(t for t in tokens[1:] if t not in (uri, updated))
    pid = tokens[0].strip("[]")
    people[pid] = Person(id=pid, name=name, uri=uri, updated=updated)


# -- rows to records ---------------------------------------------------------------


def _to_record(row: _Row, order: int, line_no: int, meta: RegistryMeta) -> Record | None:
    lo = hi = None
    if row.port:
        m = _PORT.match(row.port)
        lo, hi = (int(m.group(1)), int(m.group(2) or m.group(1))) if m else (None, None)
        if m is None or hi > 65535 or lo > hi:
            meta.skip(f"line {line_no}: bad port number {row.port!r}")
            return None
    if row.name and not _NAME.match(row.name):
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
        **placed,
    )
