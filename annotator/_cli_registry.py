"""``annotate registry ...``: inspect, look up, export, compare and update the registry.

A thin layer over :mod:`annotator.registry`: every subcommand loads the
registry it is given (``--registry FILE``) or the default by precedence
(``$ANNOTATOR_REGISTRY``, the cached update, the bundled snapshot) and prints
what the library returns. Registry text is escaped before it reaches rich, so
square brackets in IANA's data (``[Jon_Postel]``) print as they are.

Bad input raises the library's one-line errors; :func:`annotator.cli.main`
prints them and exits 2.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any

from annotator.errors import AnnotatorError, UsageError
from annotator.registry.resolve import registry_date

EXIT_OK = 0
EXIT_USAGE = 2

_EPILOG = """\
examples:
  annotate registry info                          which registry is in use, and its counts
  annotate registry lookup 443/tcp                every record at a port and transport
  annotate registry lookup 5030                   every record at a port, any transport
  annotate registry lookup https                  every record with that service name
  annotate registry show --format csv > reg.csv   every record in IANA's CSV columns
  annotate registry diff old.xml new.xml          records added, removed, changed, renamed
  annotate registry update                        fetch IANA's current XML into the cache
"""


def add_registry_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``registry`` and its subcommands to an existing ``add_subparsers()`` group."""
    group = subparsers.add_parser(
        "registry",
        help="inspect, look up, export, compare and update the port registry",
        description="Inspect, look up, export, compare and update the IANA Service Name "
        "and Transport Protocol Port Number Registry that annotator joins against.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _registry_option(group, default=None)
    commands = group.add_subparsers(dest="registry_command", metavar="COMMAND")
    commands.required = True

    info = commands.add_parser("info", help="source, date, record counts, skipped rows")
    _registry_option(info)

    lookup = commands.add_parser(
        "lookup", help="records for a port, port/transport, or service name"
    )
    lookup.add_argument("query", metavar="QUERY", help="443/tcp, 443, https or https/tcp")
    _registry_option(lookup)

    show = commands.add_parser("show", help="every record in IANA's CSV columns, or as JSON")
    show.add_argument("--format", choices=("csv", "json"), default="csv", help="default: csv")
    show.add_argument(
        "--provenance",
        action="store_true",
        help="add a trailing Provenance column (where each snapshot record came from)",
    )
    _registry_option(show)

    diff = commands.add_parser(
        "diff", help="records added, removed, changed and renamed between two registries"
    )
    diff.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="OLD NEW; with only NEW, OLD is --registry or the default registry",
    )
    _registry_option(diff)

    update = commands.add_parser(
        "update", help="download IANA's current registry into the cache and use it"
    )
    update.add_argument(
        "--source",
        metavar="URL|FILE",
        default=None,
        help="where to fetch from (default: IANA's official XML); a CSV works too",
    )
    update.add_argument("--no-progress", action="store_true", help="no progress bar")
    _registry_option(update, help_text="same as --source FILE: install this registry file")


def _registry_option(
    parser: argparse.ArgumentParser, *, default: Any = argparse.SUPPRESS, help_text: str = ""
) -> None:
    parser.add_argument(
        "--registry",
        metavar="FILE",
        default=default,
        help=help_text
        or "registry file (IANA XML or CSV, or text pasted from IANA's page); default: "
        "$ANNOTATOR_REGISTRY, then the cached update, then the bundled snapshot",
    )


def build_registry_parser() -> argparse.ArgumentParser:
    """A stand-alone parser for ``annotate registry ...``."""
    parser = argparse.ArgumentParser(prog="annotate")
    add_registry_commands(parser.add_subparsers(dest="command", metavar="COMMAND"))
    return parser


def run_registry_main(argv: Sequence[str]) -> int:
    """Parse ``annotate registry`` arguments (without the word ``registry``) and run them."""
    parser = build_registry_parser()
    try:
        args = parser.parse_args(["registry", *argv])
    except SystemExit as stop:  # argparse printed usage, or --help
        return EXIT_USAGE if stop.code else EXIT_OK
    return run_registry_command(args)


def run_registry_command(args: argparse.Namespace) -> int:
    """Run the parsed ``registry`` subcommand; return the exit code.

    Library errors (:class:`~annotator.errors.AnnotatorError`) propagate so the
    caller prints them as one line and exits 2.
    """
    handlers = {
        "info": _info,
        "lookup": _lookup,
        "show": _show,
        "diff": _diff,
        "update": _update,
    }
    return handlers[args.registry_command](args)


def _load(args: argparse.Namespace):
    from annotator.registry.resolve import resolve_registry

    return resolve_registry(getattr(args, "registry", None))


def _console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def _registry_line(registry: Any) -> str:
    meta = registry.meta
    return f"registry: {meta.source} ({meta.format or '?'}, updated {registry_date(meta)})"


# -- info -------------------------------------------------------------------


def _info(args: argparse.Namespace) -> int:
    from rich.markup import escape
    from rich.table import Table

    registry = _load(args)
    meta = registry.meta
    records = registry.records
    console = _console()

    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("source", escape(meta.source))
    head.add_row("format", escape(meta.format or "?"))
    if meta.title:
        head.add_row("title", escape(meta.title))
    head.add_row("updated", escape(registry_date(meta)))
    head.add_row("records", f"{len(records):,}")
    head.add_row("skipped rows", f"{meta.skipped_rows:,}")
    if registry.people:
        head.add_row("people", f"{len(registry.people):,}")
    unauthorized = sum(1 for r in records if r.unauthorized_use)
    head.add_row("unauthorized use reported", f"{unauthorized:,}")
    console.print(head)

    console.print(_counts_table("by status", _status_counts(records)))
    console.print(_counts_table("by transport", _transport_counts(records)))
    provenance = Counter(r.provenance for r in records if r.provenance)
    if provenance:
        console.print(_counts_table("by provenance", sorted(provenance.items())))
    for reason in meta.skipped_reasons[:10]:
        console.print(f"  skipped: {escape(reason)}")
    if meta.skipped_rows > 10:
        console.print(f"  ... and {meta.skipped_rows - 10:,} more skipped rows")
    _lacks_notice(registry, console)
    return EXIT_OK


def _status_counts(records: Sequence[Any]) -> list[tuple[str, int]]:
    status = Counter(r.status for r in records)
    rows = [(name, status.get(name, 0)) for name in ("assigned", "reserved", "unassigned")]
    rows.append(("  of which historic", sum(1 for r in records if r.historic)))
    rows.append(("  of which de-assigned", sum(1 for r in records if r.deassigned)))
    return rows


def _transport_counts(records: Sequence[Any]) -> list[tuple[str, int]]:
    from annotator.registry import TRANSPORTS

    counts = Counter(r.transport for r in records if r.port_lo is not None)
    rows = [(name, counts.get(name, 0)) for name in TRANSPORTS]
    rows.append(("blank (every transport)", counts.get("", 0)))
    rows.append(("service name only, no port", sum(1 for r in records if r.port_lo is None)))
    rows.append(("ranges", sum(1 for r in records if r.is_range)))
    return rows


def _counts_table(title: str, rows: Sequence[tuple[str, int]]):
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_header=False, box=None)
    table.add_column()
    table.add_column(justify="right")
    for name, count in rows:
        table.add_row(escape(name), f"{count:,}")
    return table


def _lacks_notice(registry: Any, console: Any, *, brief: bool = False) -> None:
    """For the bundled snapshot: what it lacks, and how to get the full registry."""
    from rich.markup import escape

    extra = registry.meta.extra
    stale = extra.get("columns_stale")
    if not stale:
        return
    if brief:
        console.print(
            "Bundled snapshot: columns beyond name, port, transport and description may be "
            "stale or empty; `annotate registry update` fetches IANA's current registry."
        )
        return
    console.print(
        f"This is the bundled snapshot: columns {escape(', '.join(stale))} are as of "
        f"{escape(str(extra.get('columns_stale_as_of') or 'an older registry'))} and empty for "
        f"{extra.get('columns_missing_for', 0):,} newer records."
    )
    for item in extra.get("lacks", []):
        console.print(f"  - {escape(str(item))}")
    console.print("Run `annotate registry update` to use IANA's current registry.")


# -- lookup -------------------------------------------------------------------


def parse_query(query: str) -> tuple[int | None, str | None, str | None]:
    """Split a lookup query into (port, transport, name); exactly one of port/name is set.

    ``443/tcp`` -> (443, "tcp", None); ``443`` -> (443, None, None);
    ``https`` -> (None, None, "https"); ``https/tcp`` -> (None, "tcp", "https").
    """
    from annotator.registry import TRANSPORTS

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


def _lookup(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from annotator.registry import port_class

    port, transport, name = parse_query(args.query)
    registry = _load(args)
    console = _console()
    console.print(escape(_registry_line(registry)))
    if port is not None:
        found = registry.lookup(port, transport)
        where = f"{port}/{transport}" if transport else f"port {port}"
        console.print(f"{escape(where)}: {port_class(port)} port (RFC 6335)")
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
        console.print(f"no registry record for {escape(where)}{extra}")
        return EXIT_OK
    console.print(f"{len(found)} record{'s' if len(found) != 1 else ''} for {escape(where)}:")
    for rec in found:
        console.print(_record_table(rec))
    _lacks_notice(registry, console, brief=True)
    return EXIT_OK


def _markers(rec: Any) -> str:
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


def _record_table(rec: Any):
    """One record as a two-column table: only the fields that have a value."""
    from rich.markup import escape
    from rich.table import Table

    where = f"{rec.port or '(no port)'}/{rec.transport or 'any'}"
    title = f"{rec.service or '(no service name)'}  {where}"
    table = Table(title=escape(title), title_justify="left", show_header=False, expand=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    status = rec.status + (f" ({_markers(rec)})" if _markers(rec) else "")
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


# -- show -------------------------------------------------------------------


def _show(args: argparse.Namespace) -> int:
    from annotator.registry.export import to_csv, to_json

    registry = _load(args)
    if args.format == "json":
        to_json(registry, sys.stdout)
    else:
        to_csv(registry, sys.stdout, provenance=args.provenance)
    sys.stdout.flush()
    return EXIT_OK


# -- diff -------------------------------------------------------------------


def _diff(args: argparse.Namespace) -> int:
    from annotator.registry.diff import diff
    from annotator.registry.loaders import read_registry
    from annotator.registry.resolve import resolve_registry

    files = args.files
    if len(files) > 2:
        raise UsageError(f"diff: expected OLD NEW, got {len(files)} files")
    if len(files) == 2:
        if getattr(args, "registry", None):
            raise UsageError("diff: give either OLD NEW or --registry OLD with NEW, not both")
        old, new = read_registry(files[0]), read_registry(files[1])
    else:
        old, new = resolve_registry(getattr(args, "registry", None)), read_registry(files[0])
    result = diff(old, new)
    out = sys.stdout
    out.write(f"old {_registry_line(old)}\nnew {_registry_line(new)}\n")
    out.write(
        f"{len(result.added):,} added, {len(result.removed):,} removed, "
        f"{len(result.changed):,} changed, {len(result.renamed):,} renamed\n"
    )
    for rec in result.added:
        out.write(f"+ {_brief(rec)}\n")
    for rec in result.removed:
        out.write(f"- {_brief(rec)}\n")
    for change in result.renamed:
        rest = [f for f in change.fields if f != "service"]
        also = f" (also {', '.join(rest)})" if rest else ""
        out.write(
            f"> {_where(change.new)}: renamed {change.old.service} -> {change.new.service}{also}\n"
        )
    for change in result.changed:
        parts = "; ".join(
            f"{f}: {_clip(getattr(change.old, f))!r} -> {_clip(getattr(change.new, f))!r}"
            for f in change.fields
        )
        out.write(f"~ {change.new.service or '-'} {_where(change.new)}: {parts}\n")
    return EXIT_OK


def _where(rec: Any) -> str:
    return f"{rec.port or '(no port)'}/{rec.transport or 'any'}"


def _brief(rec: Any) -> str:
    return f"{rec.service or '-'} {_where(rec)} {rec.status}: {_clip(rec.description)}"


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- update -----------------------------------------------------------------


def _update(args: argparse.Namespace) -> int:
    from annotator.registry.resolve import cached_registry
    from annotator.registry.update import update_registry

    source = args.source
    chosen = getattr(args, "registry", None)
    if chosen and source and chosen != source:
        raise UsageError("update: give --source or --registry, not both")
    progress = not args.no_progress and sys.stderr.isatty()
    path = update_registry(source or chosen, progress=progress)
    registry = cached_registry()
    if registry is None:  # installed moments ago; only a concurrent removal gets here
        raise AnnotatorError(f"installed {path}, but it has since disappeared")
    date = registry_date(registry.meta)
    print(f"installed {path}: {len(registry):,} records, updated {date}")
    print("annotate now uses it by default (unless --registry or $ANNOTATOR_REGISTRY is set)")
    return EXIT_OK
