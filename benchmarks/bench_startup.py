"""How long ``annotate CAPTURE`` takes as a whole process, and where the time goes.

Run by hand (never in the test suite)::

    .venv/bin/python benchmarks/bench_startup.py                 # samples/mixed.pcap, 7 runs
    .venv/bin/python benchmarks/bench_startup.py --runs 11 other.pcap

Two measurements, each repeated ``--runs`` times after one warm-up run (which
writes the bytecode and the registry's binary copy, as any first run of an
installed package does), reported as min / median / max because the machine
may be shared and noisy:

* wall time of the real console script, ``annotate CAPTURE > /dev/null``,
  start-up included;
* the same work split by stage in a fresh interpreter: pandas' import, our own
  imports, the registry load, reading the capture, triage, the terminal render.

It also names the heavy optional modules (numba, scapy, dpkt, matplotlib,
jinja2, pyarrow.parquet) that the stage run imported: for a small capture
read to the terminal, there should be none.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numba", "llvmlite", "scapy", "dpkt", "matplotlib", "jinja2", "pyarrow.parquet")

#: Runs in a child interpreter; prints one JSON object of stage times (seconds).
STAGES = r"""
import io, json, sys, time
marks = [("start", time.perf_counter())]
import pandas
marks.append(("import pandas", time.perf_counter()))
import annotator, annotator.cli
from annotator.report import render_terminal
marks.append(("import annotator", time.perf_counter()))
from annotator.registry import load_registry
registry = load_registry(None)
marks.append(("registry", time.perf_counter()))
from annotator.flows import read_flow_table
from annotator.result import AnnotateResult
table = read_flow_table(sys.argv[1], registry=registry)
marks.append(("read", time.perf_counter()))
from annotator.triage import triage
flows, findings = triage(table, registry)
marks.append(("triage", time.perf_counter()))
result = AnnotateResult(
    flows=flows, findings=findings, other=table.other, accounting=table.accounting,
    captures=table.captures, registry=registry, partial=list(table.partial),
    started_at=pandas.Timestamp.now(tz="UTC"),
)
out, sys.stdout = sys.stdout, io.StringIO()
render_terminal(result)
sys.stdout = out
marks.append(("render", time.perf_counter()))
stages = {b[0]: b[1] - a[1] for a, b in zip(marks, marks[1:])}
heavy = sorted(m for m in sys.modules if m in HEAVY or m.split(".")[0] in HEAVY)
print(json.dumps({"stages": stages, "heavy": heavy}))
"""


def _environment() -> dict[str, str]:
    """This environment, but writing bytecode as an installed package's users do."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def whole_process(capture: Path, runs: int) -> list[float]:
    """Wall seconds of each run of the ``annotate`` console script."""
    script = Path(sys.executable).with_name("annotate")
    command = [str(script), str(capture)]
    env = _environment()
    subprocess.run(command, stdout=subprocess.DEVNULL, env=env, check=False)  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, env=env, check=False)
        times.append(time.perf_counter() - started)
    return times


def by_stage(capture: Path, runs: int) -> tuple[dict[str, list[float]], list[str]]:
    """Seconds per stage over ``runs`` fresh interpreters, and the heavy modules seen."""
    code = f"HEAVY = {HEAVY!r}\n" + STAGES
    command = [sys.executable, "-P", "-c", code, str(capture)]  # -P: no cwd on sys.path
    env = _environment()
    subprocess.run(command, capture_output=True, env=env, check=True)  # warm-up
    stages: dict[str, list[float]] = {}
    heavy: set[str] = set()
    for _ in range(runs):
        done = subprocess.run(command, capture_output=True, env=env, check=True, text=True)
        report = json.loads(done.stdout.strip().splitlines()[-1])
        for name, seconds in report["stages"].items():
            stages.setdefault(name, []).append(seconds)
        heavy.update(report["heavy"])
    return stages, sorted(heavy)


def _line(label: str, values: list[float]) -> str:
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"  {label:<18} min {low:6.3f}  median {mid:6.3f}  max {high:6.3f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("capture", nargs="?", default=str(ROOT / "samples" / "mixed.pcap"))
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    capture = Path(args.capture)

    print(f"annotate {capture.name}: {args.runs} runs after one warm-up, {os.cpu_count()} cores")
    print("whole process (console script, output to /dev/null):")
    print(_line("wall", whole_process(capture, args.runs)))
    stages, heavy = by_stage(capture, args.runs)
    print("by stage (fresh interpreter each run):")
    for name, values in stages.items():
        print(_line(name, values))
    total = [sum(run) for run in zip(*stages.values(), strict=True)]
    print(_line("sum of stages", total))
    print(f"heavy optional modules imported: {', '.join(heavy) if heavy else 'none'}")


if __name__ == "__main__":
    main()
