"""Report stage: terminal summary, HTML, Markdown, CSV, JSON, JSONL, Parquet.

The public names are few; each format lives in its own module::

    write_report(result, "report.html")     # format from the extension, atomic write
    render_terminal(result)                 # the rich triage summary
    to_json_document(result)                # the --format json document as a dict
    flow_records(result)                    # the JSONL objects, one per flow
"""

from __future__ import annotations

from annotator.report.json import flow_records, to_json_document
from annotator.report.terminal import render_terminal
from annotator.report.write import FORMATS, choose_format, write_report

__all__ = [
    "FORMATS",
    "choose_format",
    "flow_records",
    "render_terminal",
    "to_json_document",
    "write_report",
]
