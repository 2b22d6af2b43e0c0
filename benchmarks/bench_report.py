"""Time every report format on a large synthetic result (run by hand).

    .venv/bin/python benchmarks/bench_report.py [FLOWS]

The flows of samples/mixed.pcap are tiled to FLOWS rows (default 100,000)
with distinct ports and times, so the reports see a realistic flow table of
that size.  Prints seconds and output size per format.  The HTML report must
stay small enough to open quickly: its flow table is capped at 5,000 rows.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import annotator
from annotator.report import write_report

ROOT = Path(__file__).resolve().parent.parent


def big_result(n: int):
    """The mixed sample's result with its flow table tiled to ``n`` rows."""
    result = annotator.annotate(ROOT / "samples" / "mixed.pcap")
    flows = result.flows
    reps = -(-n // len(flows))
    big = pd.concat([flows] * reps, ignore_index=True).iloc[:n].copy()
    big["client_port"] = (np.arange(n) % 64000 + 1024).astype(np.uint16)
    shift = pd.to_timedelta(np.arange(n) * 10, unit="ms")
    big["first_seen"] = big["first_seen"] + shift
    big["last_seen"] = big["last_seen"] + shift
    big["bytes"] = big["bytes"] + np.arange(n) % 997
    result.flows = big
    result.accounting = dict(result.accounting, flows=n)
    return result


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    result = big_result(n)
    print(f"{n:,} flows, {len(result.findings)} findings")
    with tempfile.TemporaryDirectory() as folder:
        for ext in ("html", "md", "json", "jsonl", "csv", "parquet", "txt"):
            target = Path(folder) / f"report.{ext}"
            start = time.perf_counter()
            write_report(result, target)
            took = time.perf_counter() - start
            print(f"{ext:8} {took:6.2f} s  {target.stat().st_size / 1e6:8.2f} MB")


if __name__ == "__main__":
    main()
