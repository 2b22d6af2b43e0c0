"""The HTML report: self-contained, strict CSP, escaped, capped; rendered in real Chromium."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pandas as pd
import pytest

from annotator.report import write_report
from annotator.report.html import SORT_SCRIPT, render_html
from annotator.report.safety import visible_controls


def csp_of(page) -> str:
    metas = [a for a in page.tags("meta") if a.get("http-equiv") == "Content-Security-Policy"]
    assert len(metas) == 1
    return str(metas[0]["content"])


def test_html_is_self_contained_with_a_strict_csp(crafted, page_check) -> None:
    html = render_html(crafted)
    page_check.assert_self_contained(html)
    page = page_check.Page(html)
    policy = csp_of(page)
    assert "default-src 'none'" in policy
    assert "img-src data:" in policy
    assert len(page.scripts) == 1
    digest = base64.b64encode(hashlib.sha256(page.scripts[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy
    assert page.scripts[0] == SORT_SCRIPT
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";")[0]


def test_html_has_every_section_and_finding(crafted, page_check) -> None:
    html = render_html(crafted)
    page = page_check.Page(html)
    ids = {a.get("id") for _, a in page.elements}
    for section in ("findings", "services", "charts", "flows", "other", "accounting", "glossary",
                    "caveat"):  # fmt: skip
        assert section in ids, section
    text = page.all_text()
    assert "A registered port is not a verdict" in text
    assert "IANA's own note" in text and "ASSIGNMENT OF A PORT NUMBER" in text
    assert "ab" * 32 in text and "service-names-port-numbers.xml" in text and "2026-08-17" in text
    assert len([a for t, a in page.elements if t == "tr" and a.get("class") == "finding"]) == len(
        crafted.findings
    )
    links = {a.get("href") for a in page.tags("a")}
    assert "https://attack.mitre.org/techniques/T1571/" in links
    assert len(page.tags("svg")) >= 3  # three inline charts
    assert "Partial read" in text


def test_html_escapes_hostile_strings(crafted, hostile, page_check) -> None:
    html = render_html(crafted)
    page = page_check.Page(html)
    assert not page.tags("img")
    assert len(page.tags("script")) == 1
    text = page.all_text()
    assert hostile.sni in text and hostile.host in text  # shown as text
    assert visible_controls(hostile.terminal) in text  # bidi override made visible
    assert "\u202e" not in html and "\x1b" not in html


def test_html_defang(crafted, page_check) -> None:
    text = page_check.Page(render_html(crafted, defang=True)).all_text()
    assert "93.184.216[.]34" in text and "hxxp://evil.example[.]net" in text
    assert "93.184.216.34:" not in text


def test_html_caps_flows_but_lists_every_finding(crafted, page_check) -> None:
    big = pd.concat([crafted.flows] * 1000, ignore_index=True)  # 7,000 flows
    crafted.flows = big
    html = render_html(crafted, max_flows=500)
    page = page_check.Page(html)
    flows_table = html.split('<table class="sortable flows">', 1)[1].split("</table>", 1)[0]
    assert flows_table.count("<tr>") == 1 + 500
    assert "Showing the 500 largest flows by bytes of 7,000" in page.all_text()
    assert "--format csv" in html
    assert len([a for t, a in page.elements if t == "tr" and a.get("class") == "finding"]) == len(
        crafted.findings
    )


def test_real_sample_report_in_chromium(samples: Path, browser, tmp_path: Path, page_check) -> None:
    import annotator

    capture = samples / "mixed.pcap"
    if not capture.exists():
        pytest.skip("samples/mixed.pcap not generated (run samples/make_samples.py)")
    result = annotator.annotate(capture)
    report = tmp_path / "mixed.html"
    write_report(result, report, inputs=[capture])
    page_check.assert_self_contained(report.read_text(encoding="utf-8"))
    dom = browser.dump_dom(report)
    page = page_check.Page(dom)
    assert 'data-report-script="ran"' in dom  # our script runs under the CSP
    text = page.all_text()
    assert "443/tcp is registered to https, but the traffic speaks SSH" in text
    assert "cleartext-authentication" in text
    rows = [a for t, a in page.elements if t == "tr" and a.get("class") == "finding"]
    assert len(rows) == len(result.findings)
    shot = browser.screenshot(report, tmp_path / "mixed.png")
    assert shot.stat().st_size > 20_000


SORT_HARNESS = """<!DOCTYPE html><html><body><iframe id="r" src="report.html"></iframe>
<script>
document.getElementById("r").addEventListener("load", function () {
  var doc = document.getElementById("r").contentDocument;
  var table = doc.querySelector("table.flows");
  var heads = table.querySelectorAll("thead th");
  var col = -1;
  heads.forEach(function (th, i) { if (th.textContent.trim() === "Packets") { col = i; } });
  var read = function () {
    return Array.prototype.map.call(table.tBodies[0].rows, function (row) {
      return row.cells[col].textContent.trim(); });
  };
  heads[col].click();
  var ascending = read();
  heads[col].click();
  var out = document.createElement("pre");
  out.id = "out";
  out.textContent = JSON.stringify({ascending: ascending, descending: read()});
  document.body.appendChild(out);
});
</script></body></html>"""


def test_clicking_a_header_sorts_the_flow_table(crafted, browser, tmp_path: Path) -> None:
    """Numeric columns sort as numbers (1,200 after 999), both ways, in real Chromium."""
    import json

    crafted.flows["packets"] = [5, 1200, 30, 999, 12000, 7, 100]
    write_report(crafted, tmp_path / "report.html")
    harness = tmp_path / "harness.html"
    harness.write_text(SORT_HARNESS, encoding="utf-8")
    dom = browser.dump_dom(harness, "--allow-file-access-from-files")
    found = json.loads(dom.split('<pre id="out">', 1)[1].split("</pre>", 1)[0])
    assert found["ascending"] == ["5", "7", "30", "100", "999", "1,200", "12,000"]
    assert found["descending"] == list(reversed(found["ascending"]))
