"""Registry timings, run by hand (never a timed test).

    .venv/bin/python benchmarks/bench_registry.py ../shared/iana/service-names-port-numbers.xml

Prints: the load time of the given registry file (best and median of a few
runs), the one-time build of the (transport, port) slot table, and the time
of a vectorized lookup of 1,000,000 random (port, transport) pairs
(``slot_ids`` and ``assigned_mask``).  Targets: load under 1 s for the full
XML, a million-pair lookup well under 0.1 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

from annotator.registry.loaders import parse_registry


def timed(fn, repeat: int, clock=time.perf_counter) -> list[float]:
    """Seconds (wall clock unless told otherwise) of ``repeat`` calls of ``fn``."""
    out = []
    for _ in range(repeat):
        start = clock()
        fn()
        out.append(clock() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("registry", type=Path, help="registry file (XML, CSV or pasted text)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=1_000_000)
    args = parser.parse_args()

    data = args.registry.read_bytes()
    load = lambda: parse_registry(data, str(args.registry))  # noqa: E731
    loads = timed(load, args.repeat)
    cpu = timed(load, args.repeat, time.process_time)
    reg = load()
    print(f"registry: {args.registry} ({len(data):,} bytes, {len(reg):,} records)")
    print(f"load:        best {min(loads):.3f} s, median {statistics.median(loads):.3f} s")
    print(f"load (CPU):  best {min(cpu):.3f} s, median {statistics.median(cpu):.3f} s")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    start = time.perf_counter()
    reg.table  # noqa: B018 - builds the slot table once
    print(f"slot table:  {time.perf_counter() - start:.3f} s ({len(reg.slots):,} slots)")

    rng = np.random.default_rng(0)
    ports = rng.integers(0, 65536, args.pairs, dtype=np.int64)
    codes = rng.integers(0, 4, args.pairs, dtype=np.int64)
    lookups = timed(lambda: reg.slot_ids(ports, codes), args.repeat)
    masks = timed(lambda: reg.assigned_mask(ports, codes), args.repeat)
    print(
        f"slot_ids:    {args.pairs:,} pairs, best {min(lookups) * 1000:.1f} ms, "
        f"median {statistics.median(lookups) * 1000:.1f} ms"
    )
    print(
        f"assigned_mask: {args.pairs:,} pairs, best {min(masks) * 1000:.1f} ms, "
        f"median {statistics.median(masks) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
