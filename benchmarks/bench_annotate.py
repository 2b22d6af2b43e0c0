"""Annotate benchmark: the whole product against the flow stage alone, and start-up.

Two figures from the annotate issue:

* on a large capture (1 million packets by default, built by
  :mod:`make_flow_capture` into ``benchmarks/out/``, not committed), the time of
  :func:`annotator.annotate` (read, registry join, fingerprints, flags,
  findings) against :func:`annotator.read_flows` alone, each in its own fresh
  process, best of ``--repeat`` runs; the target is a ratio of at most 1.5;
* on the small bundled sample, the wall time of the whole ``annotate`` command
  as a user runs it (interpreter start-up, imports, registry, terminal
  summary), median of ``--repeat`` runs; the target is under one second.

Run by hand (timing targets live here, never in the test suite)::

    .venv/bin/python benchmarks/bench_annotate.py --packets 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))

CHILD = """
import sys, time
t0 = time.perf_counter()
import annotator
registry = annotator.load_registry()
t1 = time.perf_counter()
if sys.argv[1] == "read_flows":
    table = annotator.read_flows(sys.argv[2], registry=registry, sha256=True)
    n = len(table.flows)
else:
    result = annotator.annotate(sys.argv[2], registry=registry)
    n = len(result.flows)
t2 = time.perf_counter()
print(f"{t2 - t1:.3f} {n}")
"""


def timed_child(stage: str, capture: Path) -> tuple[float, int]:
    """Seconds spent in ``stage`` (imports and registry loading excluded) and the flow count."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, stage, str(capture)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]), int(out[1])


def command_seconds(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--flows", type=int, default=None, help="default: the generator's")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from make_flow_capture import make_capture

    OUT.mkdir(exist_ok=True)
    capture = OUT / f"annotate-{args.packets}-{args.flows or 'default'}.pcap"
    if not capture.exists():
        make_capture(capture, args.packets, args.flows)

    read = [timed_child("read_flows", capture) for _ in range(args.repeat)]
    full = [timed_child("annotate", capture) for _ in range(args.repeat)]
    best_read, flows = min(read)
    best_full, _ = min(full)
    print(f"capture: {capture.name}, {args.packets:,} packets, {flows:,} flows")
    print(f"read_flows  best {best_read:7.3f} s  ({args.packets / best_read:,.0f} packets/s)")
    print(f"annotate    best {best_full:7.3f} s  ({args.packets / best_full:,.0f} packets/s)")
    print(f"ratio annotate / read_flows: {best_full / best_read:.2f} (target <= 1.5)")

    annotate = str(Path(sys.executable).with_name("annotate"))
    sample = str(ROOT / "samples" / "mixed.pcap")
    runs = [command_seconds([annotate, sample]) for _ in range(max(args.repeat, 5))]
    shown = ", ".join(f"{r:.2f}" for r in runs)
    print(
        f"`annotate samples/mixed.pcap` wall, median of {len(runs)}: "
        f"{statistics.median(runs):.3f} s (target < 1 s; runs {shown})"
    )


if __name__ == "__main__":
    main()
