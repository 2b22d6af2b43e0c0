"""Replay a capture corpus through every record walk and report any difference.

atheris cannot see inside the compiled walks (the C extension and the numba
kernel), so ``fuzz_capture.py`` fuzzes the plain-Python one.  The inputs the
fuzzer keeps (each reached new code) are then good test cases for the compiled
walks: this script reads every file of a corpus with ``engine="python"`` and
with each compiled engine available here, ``"c"`` and ``"numba"`` (small read
buffers, so records straddle buffers), and compares the records, the partial
result, or the error.  Exit status 1 when any input differs, 2 on bad usage or
when no compiled engine is available.

Usage::

    .venv/bin/python fuzz/replay_engines.py fuzz/corpus/capture [more folders or files]
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from annotator.capture.formats import open_capture
from annotator.capture.formats.engines import available_engines
from annotator.errors import CaptureError

CHUNK_BYTES = 4096  # small buffers: records cross buffer boundaries often


def outcome(data: bytes, engine: str) -> tuple:
    """What one walk makes of ``data``: the record columns and partial, or the error."""
    try:
        with open_capture(io.BytesIO(data), engine=engine, chunk_bytes=CHUNK_BYTES) as reader:
            parts = [
                (b.frame, b.cap_len, b.wire_len, b.ts_ns, b.link_type,
                 np.array([hash(bytes(b.data[o : o + c])) for o, c in zip(b.offset, b.cap_len,
                                                                          strict=True)]))
                for b in reader.batches(chunk_records=7)
            ]  # fmt: skip
            partial = reader.partial
    except CaptureError as err:
        return ("error", str(err))
    cols = [np.concatenate(c).tolist() if c else [] for c in zip(*parts, strict=True)]
    return ("read", cols, partial)


def inputs(args: list[str]) -> Iterator[Path]:
    for arg in args:
        path = Path(arg)
        yield from sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]


def main(args: list[str]) -> int:
    if not args:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    compiled = [e for e in available_engines() if e != "python"]
    if not compiled:
        print("neither the C walk nor numba is available: nothing to compare", file=sys.stderr)
        return 2
    checked, differ = 0, []
    for path in inputs(args):
        data = path.read_bytes()
        want = outcome(data, "python")
        differ += [(path, e) for e in compiled if outcome(data, e) != want]
        checked += 1
    for path, engine in differ:
        print(f"engine {engine} differs from the Python walk on {path}")
    walks = " and ".join(compiled)
    print(f"{checked} inputs replayed through the Python walk and {walks}, {len(differ)} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
