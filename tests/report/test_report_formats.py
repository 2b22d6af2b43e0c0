"""CSV, Parquet, Markdown and terminal output of the hand-built hostile result."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd
from rich.console import Console

from annotator.report import render_terminal, write_report
from annotator.report.csv import write_csv
from annotator.report.markdown import render_markdown


def test_csv_neutralises_formulas_and_keeps_every_flow(crafted, hostile) -> None:
    out = io.StringIO()
    write_csv(crafted, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == len(crafted.flows)
    dns = rows[4]
    assert dns["server_name"] == "'" + hostile.formula
    assert not any(
        cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row.values()
    )
    assert rows[0]["services"] == "https" and rows[2]["flags"] == (
        "known-protocol-unregistered-port;unassigned-port"
    )
    assert rows[0]["vlan_id"] == "" and rows[1]["vlan_id"] == "20"
    assert rows[0]["first_seen"] == "2024-01-02T03:04:05.123456Z"
    assert rows[3]["cleartext_credentials"] == "true"


def test_parquet_round_trip_keeps_dtypes_and_values(any_result, tmp_path: Path) -> None:
    target = tmp_path / "flows.parquet"
    write_report(any_result, target)
    back = pd.read_parquet(target)
    flows = any_result.flows
    assert list(back.columns) == list(flows.columns)
    assert back.dtypes.to_dict() == flows.dtypes.to_dict()
    assert back["severity"].cat.ordered and list(back["severity"].cat.categories) == list(
        flows["severity"].cat.categories
    )
    for name in ("services", "flags"):
        assert [list(v) for v in back[name]] == [list(v) for v in flows[name]]
    scalar = [c for c in flows.columns if c not in ("services", "flags")]
    pd.testing.assert_frame_equal(back[scalar], flows[scalar])


def test_markdown_tables_hold_hostile_strings(crafted, hostile) -> None:
    text = render_markdown(crafted)
    for heading in (
        "## Findings",
        "## Services seen",
        "## Flows",
        "## Other traffic",
        "## Accounting",
        "## Glossary of flags",
    ):
        assert heading in text
    assert "A registered port is not a verdict" in text
    assert "IANA's own note" in text
    # Every table row keeps its column count: no value splits a cell.
    for block in re.findall(r"(?:^\|.*\|\n)+", text, flags=re.MULTILINE):
        lines = block.splitlines()
        widths = {len(re.split(r"(?<!\\)\|", line)) for line in lines}
        assert len(widths) == 1, lines
    assert "<script>" not in text and "<img" not in text
    assert "[click](" not in text  # the link syntax is broken up
    assert "\x1b" not in text and "\u202e" not in text
    assert hostile.markdown not in text


def test_markdown_defang(crafted) -> None:
    text = render_markdown(crafted, defang=True)
    # Markdown shows "[.]" as the escaped "\[.\]".
    assert "93.184.216\\[.\\]34" in text
    assert "hxxp://evil.example\\[.\\]net" in text
    assert "93.184.216.34" not in text


def test_markdown_caps_flow_table(crafted) -> None:
    text = render_markdown(crafted, max_flows=2)
    flows_section = text.split("## Flows", 1)[1].split("## Other traffic", 1)[0]
    assert "Showing the 2 largest flows by bytes of 7" in flows_section
    assert flows_section.count("\n| ") == 2 + 2  # header, alignment, two flows


def _terminal_text(result, **console_options) -> str:
    console = Console(file=io.StringIO(), width=140, **console_options)
    render_terminal(result, console)
    return console.file.getvalue()


def test_terminal_summary_of_the_sample(mixed) -> None:
    text = _terminal_text(mixed, force_terminal=False)
    for needle in (
        "samples/mixed.pcap",
        "Packets    173",
        "2026-03-10 09:15:00 UTC",
        "A registered port is not a verdict",
        "HIGH (1)",
        "443/tcp is registered to https, but the traffic speaks SSH",
        "MEDIUM (3)",
        "cleartext-authentication",
        "Services seen",
        "Other traffic",
        "ICMP",
        "Accounting",
    ):
        assert needle in text, needle
    assert "Partial read" not in text


def test_terminal_summary_sections(crafted) -> None:
    text = _terminal_text(crafted, force_terminal=False)
    for needle in (
        "Packets",
        "Time span",
        "service-names-port-numbers.xml",
        "2026-08-17",
        "A registered port is not a verdict",
        "IANA's note",
        "HIGH (1)",
        "protocol-mismatch",
        "Services seen",
        "Other traffic",
        "Accounting",
        "Partial read",
    ):
        assert needle in text, needle


def test_terminal_shows_hostile_strings_inert(crafted) -> None:
    text = _terminal_text(crafted, force_terminal=True, color_system="truecolor")
    assert "\x1b[2J" not in text
    assert "\x07" not in text and "\u202e" not in text
    assert "[bold red]boom[/bold red]" in re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert "\x1b[" in text  # styles are on for a terminal


def test_terminal_respects_no_color(crafted, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    text = _terminal_text(crafted, force_terminal=True)
    assert not re.search(r"\x1b\[[0-9;]*3[0-9]m|\x1b\[[0-9;]*38;", text)


def test_terminal_not_a_tty_has_no_escapes(crafted) -> None:
    assert "\x1b" not in _terminal_text(crafted, force_terminal=False)


def test_terminal_names_missing_registry_columns(crafted) -> None:
    crafted.registry.meta.columns_available = ["service_name", "port_number"]
    text = _terminal_text(crafted, force_terminal=False)
    assert "annotate registry update" in text


def test_text_format_and_defang(crafted, hostile, tmp_path: Path) -> None:
    target = tmp_path / "summary.txt"
    write_report(crafted, target, defang=True)
    text = target.read_text(encoding="utf-8")
    assert "203.0.113[.]7" in text and "\x1b" not in text
    assert hostile.terminal not in text


def test_a_note_that_is_not_ianas_is_not_quoted_as_ianas(crafted, tmp_path: Path) -> None:
    crafted.registry.meta.note = "Built from redistributed copies, not fetched from IANA."
    for ext in ("md", "txt", "html"):
        write_report(crafted, tmp_path / f"r.{ext}")
        text = (tmp_path / f"r.{ext}").read_text(encoding="utf-8")
        assert "IANA's own note" not in text and "IANA's note" not in text, ext
        assert "Note from the registry source" in text, ext
    from annotator.report import to_json_document

    document = to_json_document(crafted)
    assert document["iana_note"] is None
    assert document["registry"]["note"].startswith("Built from")


def test_sample_csv_has_every_flow_in_order(mixed) -> None:
    out = io.StringIO()
    write_csv(mixed, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["community_id"] for r in rows] == mixed.flows["community_id"].astype(str).tolist()
    assert [int(r["bytes"]) for r in rows] == mixed.flows["bytes"].tolist()
    assert list(rows[0]) == list(mixed.flows.columns)


def test_sample_markdown_sections(mixed) -> None:
    text = render_markdown(mixed)
    assert "| `protocol-mismatch` | 443/tcp is registered to https, but the traffic speaks SSH" in (
        text
    )
    flows_section = text.split("## Flows", 1)[1].split("## Other traffic", 1)[0]
    assert flows_section.count("\n| ") == 2 + len(mixed.flows)


def test_ipv6_endpoints_are_bracketed_in_the_flow_tables(crafted, tmp_path: Path) -> None:
    # "fd00::5:50000" could be one address; "[fd00::5]:50000" cannot.
    markdown = render_markdown(crafted)
    assert "\\[fd00::5\\]:50000" in markdown and "\\[fd00::1\\]:61000" in markdown
    assert "fd00::5:50000" not in markdown
    write_report(crafted, tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "[fd00::5]:50000" in page and "fd00::5:50000" not in page
    assert "93.184.216.34:443" in page  # IPv4 as before
