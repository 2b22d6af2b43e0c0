"""The terminal triage summary (rich): what ``annotate capture.pcap`` prints.

Sections: capture, packets, time span, registry and its date, the caveat,
findings by severity, services seen, other traffic, accounting and any
partial-read notice.  Colour only when the console is a terminal; rich
honours ``NO_COLOR``.  Every string that came from the capture goes through
:func:`~annotator.report.safety.terminal_safe` and is wrapped in
:class:`rich.text.Text`, so neither escape sequences nor ``[markup]`` in an
SNI can act on the analyst's terminal.
"""

from __future__ import annotations

import io
from typing import IO, TYPE_CHECKING, Any

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from annotator._units import human_bytes
from annotator.report._view import ReportView, build_view
from annotator.report.safety import terminal_safe

if TYPE_CHECKING:  # pragma: no cover
    from annotator.result import AnnotateResult

SEVERITY_STYLE = {"high": "bold red", "medium": "dark_orange", "low": "yellow", "info": "cyan"}


def _t(value: Any, style: str = "") -> Text:
    """Inert text for a value that may come from the capture."""
    return Text("-" if value is None else terminal_safe(value), style=style)


def _header(view: ReportView) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")  # a long path wraps, never ends in an ellipsis
    caps = view.captures
    if len(caps) > TERMINAL_CAPTURES_LISTED:
        # A long rotated set: its first and last files; reports list them all.
        total = sum(cap["size"] or 0 for cap in caps)
        line = Text(f"{len(caps):,} files read as one capture, {human_bytes(total)}")
        line.append(" (every file and its SHA-256: -o report.html or .md)", style="dim")
        grid.add_row("Capture set", line)
        grid.add_row("First file", _t(caps[0]["name"], "bold"))
        grid.add_row("Last file", _t(caps[-1]["name"], "bold"))
    for cap in caps if len(caps) <= TERMINAL_CAPTURES_LISTED else ():
        name = _t(cap["name"], "bold")
        name.append(f"  {cap['size_text']}, {cap['format']}", style="dim")
        if cap["compression"]:
            name.append(f" ({cap['compression']})", style="dim")
        grid.add_row("Capture", name)
        grid.add_row("SHA-256", _t(cap["sha256_text"]))
    grid.add_row("Packets", f"{view.packets:,}")
    grid.add_row("Time span", f"{view.first_seen} -> {view.last_seen} ({view.span})")
    reg = view.registry
    source = Text(terminal_safe(reg["source"] or "unknown source"))
    source.append(f", updated {reg['date_text']}", style="dim")
    grid.add_row("Registry", source)
    if reg["coverage_notice"]:
        grid.add_row(
            "",
            Text(
                f"{reg['coverage_notice']}; "
                "run `annotate registry update` for IANA's current registry.",
                style="yellow",
            ),
        )
    grid.add_row("Tool", f"annotator {view.tool_version}, report made {view.generated_at}")
    return grid


def _caveat(view: ReportView) -> Panel:
    parts: list[Any] = [Text(view.caveat)]
    if view.iana_note:
        quote = Text("IANA's note on the registry: ", style="bold")
        quote.append(f"\u201c{terminal_safe(view.iana_note)}\u201d", style="italic")
        parts.append(quote)
    if view.source_note:
        note = Text("Note from the registry source: ", style="bold")
        note.append(terminal_safe(view.source_note))
        parts.append(note)
    return Panel(Group(*parts), title="Caveat", border_style="yellow", box=box.ROUNDED)


#: Capture files listed one by one in the terminal header; a longer set is
#: summarised (its first and last file), and every report file lists them all.
TERMINAL_CAPTURES_LISTED = 4

#: Findings listed per severity in the terminal; the rest are counted, and
#: every report file (-o) lists them all.  A summary is read at once: past a
#: screenful, rows stop helping (and rich's layout cost grows with each row).
TERMINAL_FINDINGS_PER_SEVERITY = 25

#: Rows of "Services seen" and of "Other traffic" in the terminal, largest
#: first; the rest are summed on one line.  A port scan shows thousands of
#: registered services, one flow each, that would otherwise scroll the
#: findings away.
TERMINAL_SERVICES = 25
TERMINAL_OTHER = 25

_WRITE_ALL = "write them all with -o report.html (or .md, .json, .csv)"


def _findings(view: ReportView) -> list[Any]:
    if not view.findings:
        return [Text("No findings.", style="green")]
    out: list[Any] = []
    for severity, rows in view.findings.items():
        total = view.findings_counts.get(severity, len(rows))
        style = SEVERITY_STYLE.get(severity, "")
        table = Table(box=box.SIMPLE_HEAD, expand=True, title_justify="left", padding=(0, 1))
        table.title = Text(f"{severity.upper()} ({total:,})", style=style)
        table.add_column("Finding", ratio=3, min_width=28, overflow="fold")
        table.add_column("Server", ratio=2, min_width=16, overflow="fold")
        table.add_column("Flows", justify="right", no_wrap=True)
        table.add_column("Bytes", justify="right", no_wrap=True)
        table.add_column("ATT&CK", no_wrap=True)
        for row in rows:
            finding = _t(row["flag"], style)
            finding.append("\n")
            finding.append_text(_t(row.get("detail") or row.get("title")))
            server = _t(f"{row['server_ip']} {row['server_port']}/{row['transport']}")
            if row.get("server_name"):
                server.append("\n")
                server.append_text(_t(row["server_name"], "dim"))
            flows = f"{row['flows']:,}"
            if row["clients"] != 1:
                flows += f"\n{row['clients']:,} clients"
            table.add_row(
                finding, server, flows, human_bytes(row["bytes"]), _t(row.get("attack") or "")
            )
        out.append(table)
        if total > len(rows):
            more = total - len(rows)
            out.append(
                Text(
                    f"  ... and {more:,} more {severity} findings, not shown here: {_WRITE_ALL}",
                    style="dim",
                )
            )
    return out


def _more(rest: list[dict[str, Any]], what: str, unit: str) -> Text:
    """The dim line that sums the rows a terminal section leaves out: how
    many, their ``unit`` (the rows' own key: flows or packets) and bytes."""
    total = sum(row[unit] for row in rest)
    nbytes = sum(row["bytes"] for row in rest)
    return Text(
        f"  ... and {len(rest):,} more {what} ({total:,} {unit}, "
        f"{human_bytes(nbytes)}), not shown here: {_WRITE_ALL}",
        style="dim",
    )


def _services(view: ReportView) -> list[Any]:
    table = Table(title="Services seen", title_justify="left", box=box.SIMPLE_HEAD, expand=True)
    table.add_column("Service", ratio=1, min_width=12, overflow="fold")
    table.add_column("Ports", ratio=1, min_width=11, overflow="fold")
    table.add_column("Flows", justify="right", no_wrap=True)
    table.add_column("Bytes", justify="right", no_wrap=True)
    table.add_column("Evidence", ratio=2, min_width=14)
    table.add_column("Speaks", ratio=1, min_width=8, overflow="fold")
    for row in view.services[:TERMINAL_SERVICES]:
        ports = ", ".join(str(p) for p in row["ports"][:6])
        ports += (" ..." if len(row["ports"]) > 6 else "") + f"/{row['transport']}"
        label = _t(row["service"] or "(none)", "" if row["service"] else "dim")
        evidence = Text()
        for key, style in (("consistent", "green"), ("contradicts", "bold red"), ("none", "dim")):
            if row[key]:
                if evidence.plain:
                    evidence.append(", ")
                evidence.append(f"{row[key]:,} {key}", style=style)
        table.add_row(
            label,
            _t(ports),
            f"{row['flows']:,}",
            human_bytes(row["bytes"]),
            evidence,
            _t(", ".join(row["observed"]) or "-"),
        )
    rest = view.services[TERMINAL_SERVICES:]
    return [table, _more(rest, "services", "flows")] if rest else [table]


def _other_and_accounting(view: ReportView) -> list[Any]:
    out: list[Any] = []
    if view.other:
        other = Table(title="Other traffic", title_justify="left", box=box.SIMPLE_HEAD)
        other.add_column("Protocol")
        other.add_column("Packets", justify="right")
        other.add_column("Bytes", justify="right")
        for row in view.other[:TERMINAL_OTHER]:
            other.add_row(_t(row["protocol"]), f"{row['packets']:,}", human_bytes(row["bytes"]))
        out.append(other)
        rest = view.other[TERMINAL_OTHER:]
        if rest:
            out.append(_more(rest, "protocols", "packets"))
    acc = view.accounting
    table = Table(title="Accounting", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("Packets")
    table.add_column("Count", justify="right")
    for key, label in (
        ("packets_total", "total"),
        ("packets_in_flows", "in flows"),
        ("packets_other", "other traffic"),
        ("packets_undecodable", "undecodable"),
    ):
        table.add_row(label, f"{acc.get(key, 0):,}")
    for reason, count in view.undecodable:
        table.add_row(_t(f"  {reason}", "dim"), f"{count:,}")
    table.add_row("flows", f"{acc.get('flows', view.flows_total):,}")
    out.append(table)
    for part in view.partial:
        notice = Text("Partial read: ", style="bold red")
        notice.append_text(_t(part["capture"]))
        notice.append(f" stopped at {part['where']}: ")
        notice.append_text(_t(part["reason"]))
        out.append(notice)
    return out


def summary(view: ReportView) -> Group:
    """The whole terminal summary as one renderable."""
    parts: list[Any] = [
        Text("annotator triage summary", style="bold underline"),
        _header(view),
        _caveat(view),
        Text(f"Findings ({view.findings_total})", style="bold"),
        *_findings(view),
        *_services(view),
        *_other_and_accounting(view),
    ]
    return Group(*parts)


def render_terminal(
    result: AnnotateResult, console: Console | None = None, *, defang: bool = False
) -> None:
    """Print the triage summary of ``result`` to ``console`` (default: stdout)."""
    console = console or Console()
    view = build_view(
        result, defang=defang, max_flows=0, max_findings=TERMINAL_FINDINGS_PER_SEVERITY
    )
    console.print(summary(view))


def write_text(result: AnnotateResult, out: IO[str], *, defang: bool = False) -> None:
    """The same summary as plain text (no colour), for ``--format text``."""
    buffer = io.StringIO()
    console = Console(file=buffer, no_color=True, force_terminal=False, width=120)
    render_terminal(result, console, defang=defang)
    out.writelines(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())
