"""The arguments of ``annotate CAPTURE...`` (``annotate registry ...`` has its own)."""

from __future__ import annotations

import argparse

from annotator._version import __version__
from annotator.report.write import FORMAT_NAMES, FORMATS
from annotator.triage.severity import SEVERITIES

#: What ``--fail-on`` accepts: a severity, or "never".
FAIL_ON = (*SEVERITIES, "never")

EPILOG = """\
examples:
  annotate capture.pcap                      triage summary in the terminal
  annotate capture.pcapng.gz -o report.html  self-contained HTML report
  annotate a.pcap b.pcap -o flows.csv -o flows.parquet
  annotate /data/ring/ --jobs 2              a rotated set (a directory) as one capture
  annotate 'rot/*.pcap.gz' --verbose         a quoted glob; throughput per file at the end
  annotate rot/ --dask tcp://sched:8786      read the files on a Dask cluster
  annotate capture.pcap --format jsonl       one JSON object per flow on stdout (for SIEMs)
  tcpdump -w - | annotate -                  read standard input
  annotate capture.pcap --fail-on high       exit 1 when a high-severity finding is present
  annotate registry lookup 443/tcp           what the registry says about a port
  annotate registry update                   fetch IANA's current registry into the cache

exit codes: 0 ok, 1 finding at/above --fail-on, 2 usage or unreadable input,
3 partial capture (results for what was readable); 2 wins over 1, 1 over 3.
"""


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``annotate CAPTURE...`` (``annotate registry ...`` has its own)."""
    parser = argparse.ArgumentParser(
        prog="annotate",
        description=(
            "Label the flows of a packet capture by IANA-registered service, check each "
            "label against what the traffic actually speaks, and flag what needs a look. "
            "See also: annotate registry --help."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "captures",
        nargs="+",
        metavar="CAPTURE",
        help="pcap or pcapng file, optionally gzip/bzip2/xz/zstd-compressed; "
        "'-' reads standard input; a directory or a quoted glob pattern stands for "
        "the capture files it holds; several files are one capture set, "
        "ordered by their first packet's time",
    )
    parser.add_argument(
        "-o",
        "--output",
        action="append",
        default=[],
        metavar="FILE",
        help="write a report; the format follows the extension (.html, .md, "
        ".json, .jsonl, .csv, .parquet); '-' is standard output; repeatable",
    )
    parser.add_argument(
        "--format",
        choices=FORMAT_NAMES,  # and their aliases (md, terminal...), as -o takes them
        default=None,
        metavar="FORMAT",
        help="report format for standard output (also for -o -) and for an -o "
        f"without a known extension: {', '.join(FORMATS)}; text is the summary "
        "without colour (default: the terminal summary)",
    )
    parser.add_argument(
        "--registry",
        metavar="FILE",
        help="registry file (IANA XML or CSV, or text pasted from IANA's page); "
        "default: $ANNOTATOR_REGISTRY, the cached update, the bundled snapshot",
    )
    parser.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        default="never",
        metavar="SEVERITY",
        help="exit 1 when a finding reaches SEVERITY (high, medium, low, info; default: never)",
    )
    parser.add_argument(
        "--defang",
        action="store_true",
        help="defang indicators in human-facing reports (hxxp://, example[.]com)",
    )
    parser.add_argument(
        "--max-flows",
        type=positive_int,
        default=5000,
        metavar="N",
        help="cap on the flow table in HTML and Markdown reports (default 5000)",
    )
    parser.add_argument(
        "--no-bomb-guard",
        action="store_true",
        help="lift the size and ratio limits on compressed input",
    )
    parser.add_argument(
        "--no-hash",
        action="store_true",
        help="skip the SHA-256 of each capture file (about a quarter of a read's CPU); "
        "reports then show none",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=positive_int,
        default=1,
        metavar="N",
        help="read up to N files at once in separate processes (default 1); "
        "the result is the same for any N",
    )
    parser.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="read the files on a Dask cluster (e.g. tcp://scheduler:8786); "
        "needs the 'dask' extra; see docs/scale.md",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="after the report, print per-file and total throughput on stderr",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument("--version", action="version", version=f"annotate {__version__}")
    return parser


def positive_int(text: str) -> int:
    """An argparse type: a whole number above zero, or a usage error saying what was given."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value
