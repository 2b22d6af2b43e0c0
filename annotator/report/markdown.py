"""The Markdown report, for pasting into tickets (GitHub, GitLab, Jira's
Markdown mode).

Same sections as the HTML report, as pipe tables.  Every value goes through
:func:`~annotator.report.safety.markdown_safe`, so a server name such as
``[click](http://evil) | x`` can neither make a link nor split a cell, and raw
HTML tags become entities.  The flow table is capped like the HTML one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import IO, Any

from annotator._units import human_bytes
from annotator.report._view import ReportView, build_view, endpoint, human_duration
from annotator.report.safety import markdown_safe as md


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], right: Sequence[int] = ()) -> str:
    """A pipe table; cells must already be escaped."""
    align = ["---:" if i in right else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _code(flag_id: Any) -> str:
    """A flag id as inline code when it is a plain id, else escaped text."""
    text = str(flag_id)
    return f"`{text}`" if re.fullmatch(r"[a-z0-9-]+", text) else md(text)


def _n(value: Any) -> str:
    return "-" if value is None else f"{int(value):,}"


def _header(view: ReportView) -> list[str]:
    out = ["# Capture triage report", ""]
    rows = []
    if len(view.captures) == 1:
        cap = view.captures[0]
        rows.append(("Capture", md(cap["name"])))
        rows.append(("SHA-256", md(cap["sha256_text"])))
        kind = cap["format"] + (f", {cap['compression']}" if cap["compression"] else "")
        rows.append(("Size / format", f"{cap['size_text']} ({_n(cap['size'])} bytes), {md(kind)}"))
    else:
        rows.append(
            ("Capture set", f"{len(view.captures)} files, read as one capture (see Captures)")
        )
    rows.append(("Packets", _n(view.packets)))
    rows.append(("Time span", f"{view.first_seen} to {view.last_seen} ({view.span})"))
    reg = view.registry
    rows.append(
        (
            "Registry",
            f"{md(reg['source'] or 'unknown source')}, updated {md(reg['date_text'])}",
        )
    )
    rows.append(("Tool", f"annotator {view.tool_version}"))
    rows.append(("Report made", view.generated_at))
    out.append(_table(("Field", "Value"), rows))
    out.append("")
    out.append(f"> **Caveat.** {md(view.caveat)}")
    if view.iana_note:
        out += [">", f"> IANA's own note on the registry: \u201c{md(view.iana_note)}\u201d (IANA)"]
    if view.source_note:
        out += [">", f"> Note from the registry source: {md(view.source_note)}"]
    out.append("")
    for part in view.partial:
        out.append(
            f"**Partial read:** {md(part['capture'])} could only be read up to "
            f"{md(part['where'])}: {md(part['reason'])}."
        )
        out.append("")
    if reg["coverage_notice"]:
        out.append(
            f"**Note:** {md(reg['coverage_notice'])}; "
            "run `annotate registry update` for IANA's current registry."
        )
        out.append("")
    if view.defanged:
        out += ["_Indicators in this report are defanged._", ""]
    return out


def _findings(view: ReportView) -> list[str]:
    out = [f"## Findings ({view.findings_total:,})", ""]
    if not view.findings:
        return [*out, "No findings.", ""]
    for severity, rows in view.findings.items():
        out += [f"### {severity.upper()} ({len(rows)})", ""]
        cells = []
        for f in rows:
            server = f"{md(f['server_ip'])} {f['server_port']}/{md(f['transport'])}"
            if f.get("server_name"):
                server += f" ({md(f['server_name'])})"
            attack = f"[{md(f['attack'])}]({f['attack_url']})" if f.get("attack_url") else "-"
            cells.append(
                (
                    _code(f["flag"]),
                    md(f.get("detail") or f.get("title") or ""),
                    server,
                    _n(f["flows"]),
                    _n(f["clients"]),
                    human_bytes(f["bytes"]),
                    attack,
                )
            )
        headers = ("Flag", "What was seen", "Server", "Flows", "Clients", "Bytes", "ATT&CK")
        out += [_table(headers, cells, right=(3, 4, 5)), ""]
    return out


def _services(view: ReportView) -> list[str]:
    rows = []
    for s in view.services:
        ports = ", ".join(str(p) for p in s["ports"][:8]) + (" ..." if len(s["ports"]) > 8 else "")
        rows.append(
            (
                md(s["service"] or "(no registration)"),
                f"{ports}/{md(s['transport'])}",
                _n(s["flows"]),
                human_bytes(s["bytes"]),
                f"{s['consistent']} / {s['contradicts']} / {s['none']}",
                md(", ".join(s["observed"]) or "-"),
            )
        )
    headers = ("Service", "Ports", "Flows", "Bytes", "Consistent / contradicts / none", "Speaks")
    return ["## Services seen", "", _table(headers, rows, right=(2, 3)), ""]


def _flows(view: ReportView) -> list[str]:
    out = ["## Flows", ""]
    if view.flows_capped:
        out += [
            f"Showing the {len(view.flows):,} largest flows by bytes of {view.flows_total:,}; "
            "export `--format csv` or `--format parquet` for the rest.",
            "",
        ]
    rows = []
    for f in view.flows:
        rows.append(
            (
                f["severity"] or "-",
                md(" ".join(f["flags"]) or "-"),
                md(f["transport"]),
                md(endpoint(f["client_ip"], f["client_port"])),
                md(endpoint(f["server_ip"], f["server_port"])),
                md(f["service"] or "-"),
                md(
                    (f["observed_protocol"] or "-")
                    + (f": {f['evidence_detail']}" if f.get("evidence_detail") else "")
                ),
                md(f["evidence"]),
                md(f["server_name"] or "-"),
                _n(f["packets"]),
                human_bytes(f["bytes"]),
                f["first_seen_text"],
                human_duration(f["duration_s"]),
            )
        )
    headers = (
        "Severity", "Flags", "Proto", "Client", "Server", "Service", "Speaks", "Evidence",
        "Server name", "Packets", "Bytes", "First seen", "Duration",
    )  # fmt: skip
    return [*out, _table(headers, rows, right=(9, 10, 12)), ""]


def _rest(view: ReportView) -> list[str]:
    out = ["## Other traffic", ""]
    if view.other:
        rows = [(md(o["protocol"]), _n(o["packets"]), human_bytes(o["bytes"])) for o in view.other]
        out += [_table(("Protocol", "Packets", "Bytes"), rows, right=(1, 2)), ""]
    else:
        out += ["None.", ""]
    acc = view.accounting
    counts = [
        ("Packets in the capture", _n(acc.get("packets_total", 0))),
        ("in flows", _n(acc.get("packets_in_flows", 0))),
        ("other traffic", _n(acc.get("packets_other", 0))),
        ("undecodable", _n(acc.get("packets_undecodable", 0))),
        *[(f"undecodable: {md(reason)}", _n(count)) for reason, count in view.undecodable],
        ("Flows", _n(acc.get("flows", view.flows_total))),
    ]
    if len(view.captures) > 1:
        files = [
            (
                md(cap["name"]),
                _n(cap["packets"]),
                cap["size_text"],
                cap["first_seen"],
                cap["last_seen"],
                md(cap["sha256_text"]),
            )
            for cap in view.captures
        ]
        headers = ("File", "Packets", "Size", "First packet", "Last packet", "SHA-256")
        out += [
            "## Captures",
            "",
            "Read as one capture, in order of their first packet.",
            "",
            _table(headers, files, right=(1, 2)),
            "",
        ]
    out += ["## Accounting", "", _table(("Count", "Value"), counts, right=(1,)), ""]
    glossary = [
        (
            g.severity,
            f"`{g.id}`",
            md(g.explanation),
            f"[{g.attack}]({g.attack_url})" if g.attack_url else "-",
        )
        for g in view.glossary
    ]
    out += ["## Glossary of flags", "", _table(("Severity", "Flag", "Meaning", "ATT&CK"), glossary)]
    return [*out, ""]


def render_markdown(result: Any, *, defang: bool = False, max_flows: int = 5000) -> str:
    """The whole report as one Markdown string."""
    view = build_view(result, defang=defang, max_flows=max_flows)
    lines = _header(view) + _findings(view) + _services(view) + _flows(view) + _rest(view)
    lines.append(f"_Generated by annotator {view.tool_version} on {view.generated_at}._")
    return "\n".join(lines) + "\n"


def write_markdown(
    result: Any, out: IO[str], *, defang: bool = False, max_flows: int = 5000
) -> None:
    """Write the Markdown report to ``out``."""
    out.write(render_markdown(result, defang=defang, max_flows=max_flows))
