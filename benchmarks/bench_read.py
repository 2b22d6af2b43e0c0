"""Time the capture-file reader alone: records per second, C walk vs numba vs Python walk.

Builds a large little-endian microsecond pcap (or pcapng) with numpy (a
few seconds, not committed: written to ``benchmarks/out/`` unless ``--out``
says otherwise), then reads it through :func:`annotator.capture.formats.open_capture`
with each engine available (``c`` when the extension was built, ``numba``
when installed, ``python``) and prints records/second, wall time and peak RSS
of a fresh process, plus the start-up cost of each compiled walk.
Also compares hashing the file while streaming against hashing it up front.

Run by hand::

    .venv/bin/python benchmarks/bench_read.py --records 3000000
    .venv/bin/python benchmarks/bench_read.py --records 3000000 --format pcapng

Timing targets live here, never in the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import resource
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from annotator.capture.formats import open_capture
from annotator.capture.formats.engines import available_engines

OUT = Path(__file__).resolve().parent / "out"


def make_capture(path: Path, records: int, fmt: str = "pcap", seed: int = 7) -> None:
    """Write ``records`` Ethernet-sized records (60-1514 bytes, mostly small) quickly,
    as a microsecond pcap or as a pcapng of enhanced packet blocks."""
    rng = np.random.default_rng(seed)
    small = rng.random(records) < 0.6
    lengths = np.where(small, 60 + rng.integers(0, 40, records), rng.integers(100, 1515, records))
    ng = fmt == "pcapng"
    with open(path, "wb") as f:
        if ng:
            shb = struct.pack("<IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack(
                "<I", 28
            )
            idb = struct.pack("<IIHHII", 1, 20, 1, 0, 0, 20)
            f.write(shb + idb)
        else:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        step = 100_000
        for first in range(0, records, step):
            lens = lengths[first : first + step].astype(np.int64)
            n = len(lens)
            usec = 1_700_000_000 * 10**6 + np.arange(first, first + n) * 10
            if ng:
                sizes = 32 + lens + (-lens % 4)
                hdr = np.empty((n, 7), dtype="<u4")
                hdr[:, 0], hdr[:, 1], hdr[:, 2] = 6, sizes, 0
                hdr[:, 3], hdr[:, 4] = usec >> 32, usec & 0xFFFFFFFF
                hdr[:, 5], hdr[:, 6] = lens, lens
            else:
                sizes = 16 + lens
                hdr = np.empty((n, 4), dtype="<u4")
                hdr[:, 0], hdr[:, 1] = usec // 10**6, usec % 10**6
                hdr[:, 2], hdr[:, 3] = lens, lens
            starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
            buf = np.full(int(sizes.sum()), 0x5A, np.uint8)  # payload bytes do not matter here
            width = hdr.shape[1] * 4
            buf[starts[:, None] + np.arange(width)] = hdr.view(np.uint8).reshape(n, width)
            if ng:  # the trailing copy of each block length
                trailer = sizes.astype("<u4").view(np.uint8).reshape(n, 4)
                buf[(starts + sizes - 4)[:, None] + np.arange(4)] = trailer
            f.write(buf.tobytes())


def walk_only(path: Path, kernels: object, piece: int = 1 << 20) -> tuple[int, float]:
    """Time the record walk alone: the file read 1 MiB at a time (as the reader
    does, so headers are walked while in cache), only the walk calls timed."""
    out = [np.empty(1 << 16, t) for t in (np.int64, np.uint32, np.uint32, np.uint32, np.uint32)]
    total, spent = 0, 0.0
    with open(path, "rb") as f:
        buf, pos, end = np.frombuffer(f.read(24), np.uint8), 24, 24
        while chunk := f.read(piece):
            buf = np.concatenate((buf[pos:end], np.frombuffer(chunk, np.uint8)))
            pos, end = 0, len(buf)
            t = time.perf_counter()
            while True:
                args = (buf, pos, end, False, 16, 1 << 28, *out, 0, len(out[0]))
                n, pos, status, _ = kernels.walk_pcap(*args)
                total += n
                if status != 2:  # anything but "arrays full": this piece is done
                    break
            spent += time.perf_counter() - t
    return total, spent


def _tiny_walk_args() -> tuple:
    out = [np.empty(4, d) for d in (np.int64, np.uint32, np.uint32, np.uint32, np.uint32)]
    return (np.zeros(64, np.uint8), 0, 64, False, 16, 1 << 28, *out, 0, 4)


STARTUP_PROBE = """
import time
import numpy as np
import annotator.capture.formats  # the package itself (pandas, ...) is not the walk's cost
t = time.perf_counter()
from annotator.capture.formats import {module} as walk
t1 = time.perf_counter()
buf = np.zeros(64, np.uint8)
out = [np.empty(4, d) for d in (np.int64, np.uint32, np.uint32, np.uint32, np.uint32)]
walk.walk_pcap(buf, 0, 64, False, 16, 1 << 28, *out, 0, 4)
t2 = time.perf_counter()
print(f"import {{(t1 - t) * 1e3:.1f}} ms + first call {{(t2 - t1) * 1e3:.1f}} ms")
"""
MODULES = {"c": "_cwalk", "numba": "numbawalk"}


def rss_mb() -> float:
    """Peak resident memory of this process image (VmHWM; ru_maxrss would carry
    the parent's peak across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_all(path: Path, engine: str) -> tuple[int, float]:
    t = time.perf_counter()
    n = 0
    with open_capture(path, engine=engine) as reader:
        for batch in reader.batches():
            n += len(batch)
        assert reader.partial is None and reader.info.packets == n
    return n, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=3_000_000)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--keep", action="store_true", help="keep the generated capture")
    ap.add_argument("--format", choices=("pcap", "pcapng"), default="pcap")
    ap.add_argument("--read", type=Path, help=argparse.SUPPRESS)  # child: time one read
    ap.add_argument("--engine", default="auto", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.read:
        if args.engine == "numba":  # start-up is reported apart, by STARTUP_PROBE
            from annotator.capture.formats import numbawalk

            numbawalk.walk_pcap(*_tiny_walk_args())
        elif args.engine == "auto":
            print(0, 0.0, rss_mb())  # the process before any read: interpreter and imports
            return
        n, dt = read_all(args.read, args.engine)
        print(n, dt, rss_mb())
        return
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"bench_{args.records}.{args.format}"
    if not path.exists():
        t = time.perf_counter()
        make_capture(path, args.records, args.format)
        mb = path.stat().st_size / 1e6
        print(f"generated {path} ({mb:.0f} MB) in {time.perf_counter() - t:.1f} s")
    size = path.stat().st_size
    engines = available_engines()
    compiled = [e for e in engines if e != "python"]
    for engine in compiled:
        read_all(path, engine)  # warm the page cache (and numba's kernel cache on disk)
    for engine in compiled:
        startup = subprocess.run(
            [sys.executable, "-c", STARTUP_PROBE.format(module=MODULES[engine])],
            check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        print(f"{engine} walk start-up in a fresh process: {startup}")
    base = subprocess.run(
        [sys.executable, __file__, "--read", str(path), "--engine", "auto"],
        check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    print(f"a fresh process before reading: peak RSS {float(base[2]):.0f} MB")
    for engine in engines:
        # a fresh child process per engine, so peak RSS is the reader's own
        out = subprocess.run(
            [sys.executable, __file__, "--read", str(path), "--engine", engine],
            check=True, capture_output=True, text=True,
        ).stdout.split()  # fmt: skip
        n, dt, rss = int(out[0]), float(out[1]), float(out[2])
        print(f"{engine:7s} {n:,} records in {dt:.2f} s = {n / dt / 1e6:.2f} M records/s "
              f"({size / dt / 1e6:.0f} MB/s), peak RSS {rss:.0f} MB")  # fmt: skip
    for engine in compiled:
        n, dt = read_all(path, engine)  # this process is warm: allocator, kernel, page cache
        rate = f"{n / dt / 1e6:.2f} M records/s ({size / dt / 1e6:.0f} MB/s)"
        print(f"{engine}, warm process: {rate}")
    from annotator.capture.formats import pywalk

    package = "annotator.capture.formats."
    walks = [(e, importlib.import_module(package + MODULES[e])) for e in compiled]
    walks.append(("python", pywalk))
    for name, kernels in walks if args.format == "pcap" else ():
        n, dt = walk_only(path, kernels)
        print(
            f"walk only, {name:6s}: {n / dt / 1e6:.2f} M records/s ({dt / n * 1e9:.0f} ns/record)"
        )
    t = time.perf_counter()
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(16 << 20):
            h.update(chunk)
    dt = time.perf_counter() - t
    print(
        f"separate up-front SHA-256 pass: {dt:.2f} s ({size / dt / 1e6:.0f} MB/s) "
        "-- the reader hashes while streaming instead, saving the second read"
    )
    if not args.keep:
        path.unlink()


if __name__ == "__main__":
    main()
