"""``annotate registry lookup QUERY``: every record at a port, port/transport or name."""

from __future__ import annotations

import argparse

from rich.markup import escape
from rich.table import Table

from annotator._cli.exits import EXIT_OK
from annotator._cli.registry.common import load, registry_line
from annotator._cli.registry.printing import console, lacks_notice
from annotator.errors import UsageError
from annotator.registry import TRANSPORTS, Record, port_class


def parse_query(query: str) -> tuple[int | None, str | None, str | None]:
    """Split a lookup query into (port, transport, name); exactly one of port/name is set.

    ``443/tcp`` -> (443, "tcp", None); ``443`` -> (443, None, None);
    ``https`` -> (None, None, "https"); ``https/tcp`` -> (None, "tcp", "https").
    """
    text = query.strip()
    if not text:
        raise UsageError("lookup: empty query; give a port (443), port/transport (443/tcp) or name")
    head, slash, tail = text.partition("/")
    transport = tail.strip().lower() if slash else None
    if slash and transport not in TRANSPORTS:
        raise UsageError(
            f"lookup: unknown transport {tail!r} in {query!r} (expected {', '.join(TRANSPORTS)})"
        )
    head = head.strip()
    if head.lstrip("+-").isdigit():  # a number, even a signed one, is meant as a port
        port = int(head)
        if not 0 <= port <= 65535:
            raise UsageError(f"lookup: port {port} is out of range (0-65535)")
        return port, transport, None
    if not head:
        raise UsageError(f"lookup: no port or service name in {query!r}")
    return None, transport, head


def run_lookup(args: argparse.Namespace) -> int:
    """Print every record the query names, one table each, registry order."""
    port, transport, name = parse_query(args.query)
    registry = load(args)
    out = console()
    out.print(escape(registry_line(registry)))
    if port is not None:
        found = registry.lookup(port, transport)
        where = f"{port}/{transport}" if transport else f"port {port}"
        out.print(f"{escape(where)}: {port_class(port)} port (RFC 6335)")
    else:
        assert name is not None
        found = registry.lookup_name(name)
        if transport:
            found = [r for r in found if r.transport in (transport, "")]
        where = f"{name}/{transport}" if transport else name
    if not found:
        extra = ""
        if port is not None and port >= 49152:
            extra = "; the dynamic range is never assigned"
        out.print(f"no registry record for {escape(where)}{extra}")
        return EXIT_OK
    out.print(f"{len(found)} record{'s' if len(found) != 1 else ''} for {escape(where)}:")
    for rec in found:
        out.print(_record_table(rec))
    lacks_notice(registry, out, brief=True)
    return EXIT_OK


def _marker_words(rec: Record) -> str:
    """The record's markers in words: ``historic, de-assigned 2022-01-10``."""
    marks = []
    if rec.historic:
        marks.append("historic")
    if rec.deassigned:
        marks.append(f"de-assigned {rec.deassigned_date}" if rec.deassigned_date else "de-assigned")
    if rec.discouraged:
        marks.append("use discouraged")
    if rec.widely_used:
        marks.append("unassigned but widely used")
    return ", ".join(marks)


def _record_table(rec: Record) -> Table:
    """One record as a two-column table: only the fields that have a value."""
    where = f"{rec.port or '(no port)'}/{rec.transport or 'any'}"
    title = f"{rec.service or '(no service name)'}  {where}"
    table = Table(title=escape(title), title_justify="left", show_header=False, expand=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    marks = _marker_words(rec)
    status = rec.status + (f" ({marks})" if marks else "")
    fields = [
        ("status", status),
        ("description", rec.description),
        ("unauthorized use", rec.unauthorized_use),
        ("notes", rec.notes),
        ("assignee", rec.assignee),
        ("contact", rec.contact),
        ("registered", rec.registration_date),
        ("modified", rec.modification_date),
        ("reference", rec.reference),
        ("service code", rec.service_code),
        ("provenance", rec.provenance),
    ]
    for label, value in fields:
        if value:
            table.add_row(label, escape(value))
    return table
