"""The HTML triage report: one self-contained, offline, printable file.

Everything is inline: CSS, the charts (SVG drawn by :mod:`annotator.report.charts`)
and one small script that makes the flow tables sortable.  Nothing is fetched:
no external images, fonts, styles or scripts.  A strict
Content-Security-Policy (``default-src 'none'``, the one script allowed by
its SHA-256 hash) makes sure that, even if an escaping bug let markup
through, the browser would neither run it nor load anything.

The template is rendered by jinja2 with autoescape on; strings from the
capture additionally pass through
:func:`~annotator.report.safety.visible_controls` (the ``inert`` filter) so
bidi overrides and control characters show instead of rearranging text.
The flow table is capped at ``max_flows`` (largest by bytes); the report says
so and points to the CSV/Parquet exports for the rest.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from typing import IO, Any

from annotator._units import human_bytes
from annotator.report._view import ReportView, build_view, endpoint, human_duration
from annotator.report.safety import visible_controls

#: Sorts a table when its header is clicked; marks <html> so tests can tell it ran.
SORT_SCRIPT = """
document.documentElement.setAttribute("data-report-script", "ran");
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("thead th").forEach(function (th, col) {
    th.tabIndex = 0;
    th.title = "Sort by this column";
    var sort = function () {
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var asc = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("thead th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var key = function (row) {
        var cell = row.cells[col];
        var v = cell.getAttribute("data-sort");
        if (v === null) { v = cell.textContent.trim(); }
        var plain = v.replace(/,/g, "");
        return (plain !== "" && isFinite(plain)) ? parseFloat(plain) : v.toLowerCase();
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (typeof x !== typeof y) { x = String(x); y = String(y); }
        return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
      });
      rows.forEach(function (row) { body.appendChild(row); });
    };
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sort(); } });
  });
});
"""


def script_hash(script: str = SORT_SCRIPT) -> str:
    """The CSP source expression (``'sha256-...'``) allowing exactly ``script``."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def content_security_policy() -> str:
    """No fetches of any kind; inline styles; only our own script."""
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src {script_hash()}; base-uri 'none'; form-action 'none'"
    )


@cache
def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("annotator.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["inert"] = lambda v: "-" if v is None else visible_controls(v)
    env.filters["human_bytes"] = human_bytes
    env.globals["endpoint"] = endpoint
    env.filters["duration"] = human_duration
    env.filters["thousands"] = lambda v: "-" if v is None else f"{int(v):,}"
    return env


def _charts(result: Any) -> dict[str, str]:
    """The three charts as inline SVG; empty when there are no flows."""
    if result.flows.empty:
        return {}
    from annotator.report import charts  # matplotlib loads with it, on first use

    svg = {
        "bytes": charts.to_svg(charts.bytes_by_service(result, top=10)),
        "classes": charts.to_svg(charts.flows_by_class(result)),
    }
    if result.flows["severity"].notna().any():
        svg["timeline"] = charts.to_svg(charts.flag_timeline(result))
    return svg


def render_html(result: Any, *, defang: bool = False, max_flows: int = 5000) -> str:
    """The whole report as one HTML string."""
    view: ReportView = build_view(result, defang=defang, max_flows=max_flows)
    template = _environment().get_template("report.html.j2")
    from markupsafe import Markup

    charts = {name: Markup(svg) for name, svg in _charts(result).items()}
    return template.render(
        view=view,
        charts=charts,
        csp=content_security_policy(),
        script=Markup(SORT_SCRIPT),
    )


def write_html(result: Any, out: IO[str], *, defang: bool = False, max_flows: int = 5000) -> None:
    """Write the HTML report to ``out``."""
    out.write(render_html(result, defang=defang, max_flows=max_flows))
