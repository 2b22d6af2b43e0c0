"""Write the two notebooks in this folder from the cell text below, without outputs.

Keeping the cells here, as plain strings, makes the notebooks reviewable as text
and keeps the committed ``.ipynb`` files free of outputs, execution counts and
random cell ids (every cell gets a fixed id), so regenerating them changes
nothing unless a cell changed.  Run ``.venv/bin/python notebooks/make_notebooks.py``
after editing a cell; ``tests/test_notebooks.py`` executes both notebooks.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

#: Finds the repository root whether the notebook runs from notebooks/ or the root.
FIND_ROOT = """\
from pathlib import Path

import pandas as pd

import annotator

# The notebook may run from notebooks/ (Jupyter, CI) or from the repository root:
# walk up from the working folder to the one that holds samples/mixed.pcap.
here = Path.cwd()
ROOT = next(p for p in (here, *here.parents) if (p / "samples" / "mixed.pcap").is_file())
CAPTURE = ROOT / "samples" / "mixed.pcap"
pd.set_option("display.max_colwidth", 60)
CAPTURE"""

FLOW_ANALYSIS = [
    (
        "md",
        """\
# Flow analysis with annotator

This notebook loads the bundled sample capture (`samples/mixed.pcap`, a small
office scenario described in `samples/README.md`), annotates it, and explores
the result with pandas: where the bytes go, which labels the traffic confirms
or contradicts, which flows are flagged, and what the IANA registry says about
a port. Everything here also works on your own capture: change `CAPTURE`.

Remember the caveat that heads every annotator report: **a registered port is
not a verdict on the traffic.** The `service` column says what a port is
registered for; `observed_protocol` and `evidence` say what the bytes showed.""",
    ),
    ("code", FIND_ROOT),
    (
        "md",
        """\
## Annotate

`annotator.annotate` reads the capture, builds bidirectional flows (client and
server decided by the handshake where there is one), joins each server port
against the registry, fingerprints the payload and flags what needs a look. It
returns a result whose `.flows` is an ordinary DataFrame.""",
    ),
    (
        "code",
        """\
result = annotator.annotate(CAPTURE)
print(f"{len(result.flows)} flows, {len(result.findings)} findings")
result.accounting""",
    ),
    (
        "code",
        """\
columns = ["transport", "client_ip", "server_ip", "server_port", "service",
           "observed_protocol", "server_name", "evidence", "flags", "severity"]
result.flows[columns]""",
    ),
    (
        "md",
        """\
## Services by bytes

Group the flows by their registered service (flows on unregistered ports have
no service; `dropna=False` keeps them as their own group).""",
    ),
    (
        "code",
        """\
by_service = (
    result.flows.assign(service=result.flows["service"].fillna("(unregistered)"))
    .groupby(["service", "transport"], observed=True)
    .agg(flows=("bytes", "size"), bytes=("bytes", "sum"), packets=("packets", "sum"))
    .sort_values("bytes", ascending=False)
)
by_service""",
    ),
    (
        "md",
        """\
## Evidence verdicts

`consistent`: the bytes speak a protocol the registered service runs over (TLS
on `https`). `contradicts`: they speak something else (SSH on `https`). `none`:
no payload, nothing recognised, or no registered service to compare with.""",
    ),
    (
        "code",
        """\
result.flows["evidence"].value_counts()""",
    ),
    (
        "code",
        """\
pd.crosstab(
    result.flows["observed_protocol"].fillna("(not recognised)"),
    result.flows["evidence"],
)""",
    ),
    (
        "md",
        """\
## Flagged flows

A flow carries every flag that applies, and its `severity` is the most urgent
among them. `explode` gives one row per (flow, flag).""",
    ),
    (
        "code",
        """\
flagged = result.flows[result.flows["severity"].notna()]
flagged.sort_values("severity", ascending=False)[
    ["transport", "server_ip", "server_port", "service", "observed_protocol", "flags", "severity"]
]""",
    ),
    (
        "code",
        """\
flagged.explode("flags")["flags"].value_counts()""",
    ),
    (
        "md",
        """\
## Registry lookups

`annotator.load_registry()` returns the registry annotator uses (your cached
`annotate registry update`, else the bundled snapshot). `lookup(port,
transport)` gives every record at a port; `lookup_name(name)` every record of a
service name.""",
    ),
    (
        "code",
        """\
registry = annotator.load_registry()
print(registry.meta.source, registry.meta.updated)
pd.DataFrame(
    [(r.service, r.port_lo, r.port_hi, r.transport, r.status, r.description)
     for r in registry.lookup(443, "tcp")],
    columns=["service", "port_lo", "port_hi", "transport", "status", "description"],
)""",
    ),
    (
        "code",
        """\
pd.DataFrame(
    [(r.service, "-" if r.port_lo is None else str(r.port_lo), r.transport or "(any)",
      r.description)
     for r in registry.lookup_name("https")],
    columns=["service", "port", "transport", "description"],
)""",
    ),
    (
        "code",
        """\
# The ports behind two of the findings: one with unauthorized use reported, one unassigned.
for port in (5555, 8180):
    for r in registry.lookup(port, "tcp"):
        print(port, r.status, r.service or "-", "|", r.description, "|",
              r.unauthorized_use or "")""",
    ),
    (
        "md",
        """\
## Charts

Each chart function takes the result, draws on the Axes you give it (or a new
figure) and returns the Axes.""",
    ),
    (
        "code",
        """\
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(7, 3.2))
annotator.plot.bytes_by_service(result, ax=ax)
plt.show()""",
    ),
    (
        "code",
        """\
fig, ax = plt.subplots(figsize=(7, 2.6))
annotator.plot.flows_by_class(result, ax=ax)
plt.show()""",
    ),
    (
        "code",
        """\
ax = annotator.plot.flag_timeline(result)  # no ax given: the function makes its own figure
ax.figure""",
    ),
]

TRIAGE = [
    (
        "md",
        """\
# From a capture to a shareable triage report

An analyst's path with annotator: annotate a capture, read the findings from the
most urgent down, pivot to the flows behind one of them, and write reports to
hand on (HTML for people, Markdown for a ticket, JSON and CSV for tools).

The reports go to a temporary folder (or to `$ANNOTATOR_NOTEBOOK_OUT` when set),
never into the repository.""",
    ),
    ("code", FIND_ROOT),
    (
        "code",
        """\
import os
import tempfile

OUT = Path(os.environ.get("ANNOTATOR_NOTEBOOK_OUT") or tempfile.mkdtemp(prefix="annotator-triage-"))
OUT.mkdir(parents=True, exist_ok=True)
OUT""",
    ),
    (
        "md",
        """\
## Annotate and read the header

Every report says which capture it covers and which registry labelled it (and
how current that registry is), under the caveat that a registered port is not
a verdict on the traffic.""",
    ),
    (
        "code",
        """\
from annotator.triage.flags import CAVEAT

result = annotator.annotate(CAPTURE)
capture = result.captures[0]
print(f"capture:  {capture.name}  ({capture.size} bytes, sha256 {capture.sha256[:16]}...)")
print(f"packets:  {capture.packets}  from {capture.first_seen} to {capture.last_seen}")
print(f"registry: {result.registry.meta.source}, updated {result.registry.meta.updated}")
print()
print(CAVEAT)""",
    ),
    (
        "md",
        """\
## Findings by severity

Findings group flagged flows by flag and server, so one noisy server is one
line. Read them from `high` down.""",
    ),
    (
        "code",
        """\
from annotator.triage.severity import SEVERITIES

findings = result.findings
findings["severity"].value_counts().reindex(SEVERITIES, fill_value=0)  # most urgent first""",
    ),
    (
        "code",
        """\
findings[["severity", "flag", "detail", "attack", "server_ip", "server_port", "flows",
          "clients"]]""",
    ),
    (
        "md",
        """\
## Pivot to the flows behind the most urgent finding

Each finding lists its flows (`flow_index`); each flow carries a Wireshark
display filter and a Community ID to look it up in Wireshark, Zeek, Suricata or
Elastic.""",
    ),
    (
        "code",
        """\
top = findings.iloc[0]
print(top["severity"], top["flag"], "-", top["detail"])
result.flows.loc[list(top["flow_index"]),
                 ["client_ip", "client_port", "server_ip", "server_port", "evidence_detail",
                  "community_id", "wireshark_filter"]]""",
    ),
    (
        "md",
        """\
## Write the reports

`write_report` picks the format from the file extension and writes atomically
(a half-written report is never left behind). Credentials seen in clear text are
flagged, but never written to any report.""",
    ),
    (
        "code",
        """\
written = []
for name in ("report.html", "report.md", "report.json", "flows.csv"):
    target = OUT / name
    annotator.report.write_report(result, target)
    written.append((name, target.stat().st_size))
    print(f"{target}  ({target.stat().st_size:,} bytes)")""",
    ),
    (
        "code",
        """\
# The Markdown report is ready to paste into a ticket; here is how it begins.
print("\\n".join((OUT / "report.md").read_text(encoding="utf-8").splitlines()[:25]))""",
    ),
    (
        "md",
        """\
Open `report.html` in any browser: it is one self-contained file (inline CSS
and SVG charts, no external fetches) that reads offline and prints cleanly.""",
    ),
]


def build(cells: list[tuple[str, str]], stem: str) -> nbformat.NotebookNode:
    """A notebook of ``cells`` with stable ids and the venv's python3 kernel."""
    nb = new_notebook()
    for number, (kind, source) in enumerate(cells, start=1):
        make = new_markdown_cell if kind == "md" else new_code_cell
        nb.cells.append(make(source, id=f"{stem}-{number:02d}"))
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def main() -> None:
    """Write flow_analysis.ipynb and triage.ipynb next to this script."""
    for stem, cells in (("flow_analysis", FLOW_ANALYSIS), ("triage", TRIAGE)):
        nb = build(cells, stem.replace("_", "-"))
        nbformat.validate(nb)
        nbformat.write(nb, HERE / f"{stem}.ipynb")


if __name__ == "__main__":
    main()
