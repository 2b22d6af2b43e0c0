"""``annotate registry info``: which registry is in use, and its counts."""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence

from rich.markup import escape
from rich.table import Table

from annotator._cli.exits import EXIT_OK
from annotator._cli.registry.common import load
from annotator._cli.registry.printing import console, lacks_notice
from annotator.registry import TRANSPORTS, Record
from annotator.registry.resolve import registry_date


def run_info(args: argparse.Namespace) -> int:
    """Print the registry's source, date and counts (status, transport, provenance)."""
    registry = load(args)
    meta = registry.meta
    records = registry.records
    out = console()

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
    out.print(head)

    out.print(_counts_table("by status", _status_counts(records)))
    out.print(_counts_table("by transport", _transport_counts(records)))
    provenance = Counter(r.provenance for r in records if r.provenance)
    if provenance:
        out.print(_counts_table("by provenance", sorted(provenance.items())))
    for reason in meta.skipped_reasons[:10]:
        out.print(f"  skipped: {escape(reason)}")
    if meta.skipped_rows > 10:
        out.print(f"  ... and {meta.skipped_rows - 10:,} more skipped rows")
    lacks_notice(registry, out)
    return EXIT_OK


def _status_counts(records: Sequence[Record]) -> list[tuple[str, int]]:
    status = Counter(r.status for r in records)
    rows = [(name, status.get(name, 0)) for name in ("assigned", "reserved", "unassigned")]
    rows.append(("  of which historic", sum(1 for r in records if r.historic)))
    rows.append(("  of which de-assigned", sum(1 for r in records if r.deassigned)))
    return rows


def _transport_counts(records: Sequence[Record]) -> list[tuple[str, int]]:
    counts = Counter(r.transport for r in records if r.port_lo is not None)
    rows = [(name, counts.get(name, 0)) for name in TRANSPORTS]
    rows.append(("blank (every transport)", counts.get("", 0)))
    rows.append(("service name only, no port", sum(1 for r in records if r.port_lo is None)))
    rows.append(("ranges", sum(1 for r in records if r.is_range)))
    return rows


def _counts_table(title: str, rows: Sequence[tuple[str, int]]) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, box=None)
    table.add_column()
    table.add_column(justify="right")
    for name, count in rows:
        table.add_row(escape(name), f"{count:,}")
    return table
