"""A crafted capture full of injections, through every report format and a real browser.

The capture (built with scapy) carries ``<script>`` and ``"><img onerror>``
in a TLS SNI, an HTTP Host and an SSH banner, Markdown link and pipe syntax,
a spreadsheet formula at the start of its own file name, and a telnet login
and passwords in URLs (HTTP Host, RTSP, SIP) that must appear in no output at all.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pandas as pd
from rich.console import Console

from annotator.report import render_terminal, write_report
from annotator.report.safety import markdown_safe

FORMATS = ("html", "md", "json", "jsonl", "csv", "parquet", "txt")


def _write_all(result, folder: Path, inputs) -> dict[str, Path]:
    out = {}
    for ext in FORMATS:
        out[ext] = folder / f"report.{ext}"
        write_report(result, out[ext], inputs=inputs)
    return out


def test_injections_reach_the_result(hostile_capture) -> None:
    """The attack strings really are in the result the reports are made from."""
    flows = hostile_capture.result.flows
    assert (flows["capture"].astype(str) == hostile_capture.name).all()
    assert hostile_capture.banner in flows["evidence_detail"].astype(str).tolist()
    assert flows["cleartext_credentials"].any()


def test_password_appears_in_no_output(hostile_capture, tmp_path: Path) -> None:
    reports = _write_all(hostile_capture.result, tmp_path, [hostile_capture.path])
    console = Console(file=io.StringIO(), width=120)
    render_terminal(hostile_capture.result, console)
    for password in hostile_capture.passwords:
        for path in reports.values():
            assert password.encode() not in path.read_bytes(), (path.name, password)
        assert password not in console.file.getvalue()
    flows = hostile_capture.result.flows
    # Each login is flagged, and said to be there, without being repeated.
    credentialed = flows[flows["cleartext_credentials"]]
    assert sorted(credentialed["server_port"].tolist()) == [23, 80, 554, 5060]
    assert all("cleartext-authentication" in f for f in credentialed["flags"])
    details = credentialed["evidence_detail"].astype(str).tolist()
    assert any("password in the Host header" in d for d in details)
    assert "RTSP DESCRIBE rtsp://***@198.51.100.17/live, password in the URL" in details
    assert "SIP REGISTER sip:***@example.com, password in the URI" in details
    assert "intranet.example" in credentialed["server_name"].astype(str).tolist()


def test_html_in_chromium_runs_nothing_injected(
    hostile_capture, browser, page_check, tmp_path: Path
) -> None:
    Page, assert_self_contained = page_check.Page, page_check.assert_self_contained
    report = tmp_path / "report.html"
    write_report(hostile_capture.result, report, inputs=[hostile_capture.path])
    assert_self_contained(report.read_text(encoding="utf-8"))
    dom = browser.dump_dom(report)
    page = Page(dom)
    # Our own script ran (CSP allows it by hash) ...
    assert 'data-report-script="ran"' in dom
    # ... and nothing injected became an element.
    assert not page.tags("img")
    assert len(page.tags("script")) == 1
    assert not any(name.startswith("on") for _, attrs in page.elements for name in attrs)
    text = page.all_text()
    assert hostile_capture.banner in text  # shown, as text
    assert hostile_capture.name in text
    assert "443/tcp is registered to https, but the traffic speaks SSH" in text
    assert "cleartext-authentication" in text
    # Layout intact: every flow row has the same number of cells as the header.
    table = dom.split('<table class="sortable flows">', 1)[1].split("</table>", 1)[0]
    header_cells = len(re.findall(r"<th[ >]", table.split("</thead>", 1)[0]))
    body = table.split("<tbody>", 1)[1]
    rows = body.split("</tr>")[:-1]
    assert len(rows) == len(hostile_capture.result.flows)
    assert all(len(re.findall(r"<td[ >]", row)) == header_cells for row in rows)
    browser.screenshot(report, tmp_path / "hostile.png")


def test_markdown_keeps_injections_as_text(hostile_capture, tmp_path: Path) -> None:
    report = tmp_path / "r.md"
    write_report(hostile_capture.result, report)
    text = report.read_text(encoding="utf-8")
    assert "<script>" not in text and "<img" not in text
    assert "[click](" not in text
    assert markdown_safe(hostile_capture.name) in text
    # Every row of every table has as many cells as its header.
    for block in re.findall(r"(?:^\|.*\|\n)+", text, flags=re.MULTILINE):
        widths = {len(re.split(r"(?<!\\)\|", line)) for line in block.splitlines()}
        assert len(widths) == 1, block


def test_csv_and_json_are_exact_but_formula_safe(hostile_capture, tmp_path: Path) -> None:
    reports = _write_all(hostile_capture.result, tmp_path, [hostile_capture.path])
    rows = list(csv.DictReader(io.StringIO(reports["csv"].read_text(encoding="utf-8"))))
    assert all(row["capture"] == "'" + hostile_capture.name for row in rows)
    document = json.loads(reports["json"].read_text(encoding="utf-8"))
    assert document["capture"]["name"] == hostile_capture.name  # exact in JSON
    lines = reports["jsonl"].read_text(encoding="utf-8").splitlines()
    details = [json.loads(line)["evidence_detail"] for line in lines]
    assert hostile_capture.banner in details
    back = pd.read_parquet(reports["parquet"])
    assert (
        back["evidence_detail"].tolist() == hostile_capture.result.flows["evidence_detail"].tolist()
    )


def test_all_formats_carry_the_same_flows(hostile_capture, tmp_path: Path) -> None:
    reports = _write_all(hostile_capture.result, tmp_path, [hostile_capture.path])
    flows = hostile_capture.result.flows
    key = ["community_id", "bytes"]
    expected = flows[key].astype({"community_id": str}).values.tolist()
    jsonl = [json.loads(line) for line in reports["jsonl"].read_text().splitlines()]
    document = json.loads(reports["json"].read_text())
    rows = list(csv.DictReader(io.StringIO(reports["csv"].read_text())))
    parquet = pd.read_parquet(reports["parquet"])
    assert [[r["community_id"], r["bytes"]] for r in jsonl] == expected
    assert [[r["community_id"], r["bytes"]] for r in document["flows"]] == expected
    assert [[r["community_id"], int(r["bytes"])] for r in rows] == expected
    assert parquet[key].astype({"community_id": str}).values.tolist() == expected
