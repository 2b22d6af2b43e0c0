"""Plain pasted text: whitespace-separated lines, a record and its continuations.

A record is one line plus the continuation lines that follow it (a
description IANA broke with ``<br/>``).  In a listing with ports, only a line
that starts with a port, or a name and a port (or transport), starts a
record; in a listing of service-name-only records every line that starts with
a service name does.  The record's structured tail (person references, dates,
references, a service code) is found by its kind; free text after it is the
unauthorized-use report or the notes.
"""

from __future__ import annotations

import re

from annotator.registry._pasted import (
    BRACKETS,
    CONTACT_HEADER,
    CONTACT_TITLE,
    DATE,
    HEADER,
    NAME,
    NOTE_PHRASES,
    PEOPLE,
    SEPARATOR,
    URI,
    Row,
    place,
)
from annotator.registry.model import TRANSPORTS, Person, RegistryMeta

#: How IANA's "Unauthorized Use Reported" texts begin ("Known UNAUTHORIZED USEs
#: on port 5555", "Unauthorized Use Known on port 8765", "Unofficial use of...").
_UNAUTHORIZED_START = re.compile(r"(?:known\s+)?(?:unauthori[sz]ed|unofficial)", re.I)
# Plain-text record starts.
_P_PORT = re.compile(r"^(\d{1,6}(?:-\d{1,6})?)(?:\s+(.*))?$")
_P_NAME_PORT = re.compile(r"^(\S+)\s+(\d{1,6}(?:-\d{1,6})?)(?:\s+(.*))?$")
_P_NAME_TRANSPORT = re.compile(r"^(\S+)\s+(tcp|udp|sctp|dccp)(?:\s+(.*))?$")
_P_NAME = re.compile(r"^(\S+)(?:\s+(.*))?$")
# Where the structured tail of a plain-text record starts: a bracket group or a date.
_P_TAIL = re.compile(r"(?:^|\s)(?:\[[^\[\]\s]+\])+(?=\s|$)|(?:^|\s)\d{4}-\d{2}(?:-\d{2})?(?=\s|$)")
_P_NOTE_START = re.compile(rf"\s(?={NOTE_PHRASES})")
# A nameless record's description is one of IANA's status words; text after it is a note.
_P_NAMELESS_NOTE = re.compile(
    r"(?:Reserved|Unassigned|De-registered|Removed|Deprecated)(?=\s+[^\s(\[-])", re.I
)


def plain_body(
    lines: list[str], first_no: int, meta: RegistryMeta
) -> tuple[list[tuple[int, Row]], dict[str, Person]]:
    """(line number, row) of each record in plain text, and its contact table."""
    starts: list[tuple[int, list[str]]] = []  # (line number, [record line + continuations])
    people: dict[str, Person] = {}
    contacts = False
    with_ports = False
    for no, raw in enumerate(lines, start=first_no):
        line = raw.strip()
        if not line or SEPARATOR.match(line) or HEADER.match(line):
            continue
        if CONTACT_TITLE.match(line):
            contacts = True
            continue
        if contacts:
            if not CONTACT_HEADER.match(line):
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
    if m and NAME.match(m.group(1)):
        return "port"
    m = _P_NAME_TRANSPORT.match(line)
    if m and NAME.match(m.group(1)):
        return "name"
    m = _P_NAME.match(line)
    if not with_ports and m and NAME.match(m.group(1)) and not m.group(1).endswith(":"):
        return "name"
    return None


def _row_from_plain(text: str) -> Row:
    text = " ".join(text.split())  # tabs and runs of spaces separate alike
    row = Row()
    m = _P_PORT.match(text)
    if m:
        row.port, rest = m.group(1), m.group(2) or ""
    else:
        word = _P_NAME.match(text)
        assert word is not None  # a record's text starts with a word (see _plain_start)
        row.name, rest = word.groups("")
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
    pos = PEOPLE
    k = 0
    while k < len(tokens) and (
        BRACKETS.match(tokens[k]) or DATE.match(tokens[k]) or tokens[k].isdigit()
    ):
        pos = place(row, tokens[k], pos)
        k += 1
    free = " ".join(tokens[k:])
    if free:
        (row.unauthorized if _UNAUTHORIZED_START.match(free) else row.notes).append(free)
    return row


def _plain_person(line: str, people: dict[str, Person], meta: RegistryMeta, no: int) -> None:
    tokens = line.split()
    if not BRACKETS.match(tokens[0]):
        meta.skip(f"line {no}: contact row without an [ID]")
        return
    uri = next((t for t in tokens[1:] if URI.match(t)), "")
    updated = next((t for t in tokens[1:] if DATE.match(t)), "")
    name = " ".join(t for t in tokens[1:] if t not in (uri, updated))
    pid = tokens[0].strip("[]")
    people[pid] = Person(id=pid, name=name, uri=uri, updated=updated)
