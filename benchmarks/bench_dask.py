"""Time a capture set annotated in one process and on a local two-worker Dask cluster.

Builds a capture with ``make_flow_capture.py`` (or takes the files given),
cuts it into files at record boundaries, then times:

* ``annotator.annotate(files)`` in this process;
* starting a ``LocalCluster`` of two worker processes (one thread each);
* ``annotator.dask.annotate_many(files, client)`` on it, twice (the first run
  also pays for importing annotator and loading the registry in the workers).

It checks that both results have the same flows (bar the file/frame columns),
findings and accounting, and prints the figures.  Run by hand::

    .venv/bin/python benchmarks/bench_dask.py --packets 2000000 --files 8
    .venv/bin/python benchmarks/bench_dask.py captures/*.pcap
"""

from __future__ import annotations

import argparse
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_flow_capture import make_capture


def split_pcap(src: Path, out: Path, pieces: int) -> list[Path]:
    """Cut a classic little-endian pcap into ``pieces`` files of whole records."""
    data = src.read_bytes()
    records, pos = [], 24
    while pos + 16 <= len(data):
        (stored,) = struct.unpack_from("<I", data, pos + 8)
        records.append((pos, pos + 16 + stored))
        pos += 16 + stored
    step = -(-len(records) // pieces)
    paths = []
    for k in range(pieces):
        chunk = records[k * step : (k + 1) * step]
        if not chunk:
            break
        path = out / f"part-{k:03d}.pcap"
        path.write_bytes(data[:24] + data[chunk[0][0] : chunk[-1][1]])
        paths.append(path)
    return paths


def _timed(label: str, fn):
    started = time.perf_counter()
    value = fn()
    print(f"{label:<42} {time.perf_counter() - started:8.2f} s")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="capture files (default: build one)")
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--files", dest="pieces", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    import annotator
    from annotator.dask import annotate_many

    with tempfile.TemporaryDirectory() as tmp:
        files = args.files
        if not files:
            whole = Path(tmp) / "whole.pcap"
            _timed(f"build {args.packets:,} packets", lambda: make_capture(whole, args.packets))
            files = split_pcap(whole, Path(tmp), args.pieces)
        size = sum(f.stat().st_size for f in files)
        print(f"{len(files)} files, {size / 1e6:.1f} MB")

        one = _timed("annotate, one process", lambda: annotator.annotate(files))
        cluster = _timed(
            f"LocalCluster start ({args.workers} workers)",
            lambda: LocalCluster(
                n_workers=args.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=50,
            ),
        )
        with cluster, Client(cluster) as client:
            _timed("annotate_many, first run", lambda: annotate_many(files, client))
            many = _timed("annotate_many, second run", lambda: annotate_many(files, client))
        place = ["capture", "first_frame"]
        same = (
            one.flows.drop(columns=place).equals(many.flows.drop(columns=place))
            and one.findings.equals(many.findings)
            and one.accounting == many.accounting
        )
        print(
            f"{len(one.flows):,} flows, {one.accounting['packets_total']:,} packets; same: {same}"
        )


if __name__ == "__main__":
    main()
