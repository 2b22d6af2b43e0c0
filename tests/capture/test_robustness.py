"""Every capture in ../shared read in-process: no crash, no hang, every record counted.

The 415 tcpdump test captures in ``captures/robustness/`` are many of them
malformed on purpose; ``captures/labeled/pcap/`` holds real traffic.  The
reader must never let anything but :class:`CaptureError` escape, must number
frames 1..N without gaps, must give the same arrays with every walk engine,
and must count the records tshark counts.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from annotator.capture.formats import open_capture
from annotator.capture.formats.engines import available_engines
from annotator.errors import CaptureError

pytestmark = pytest.mark.shared
TSHARK = shutil.which("tshark") or "/usr/bin/tshark"

# A handful covering big-endian, nanosecond, pcapng, records over the snap
# length, and a large fuzzed capture.
HANDFUL = [
    "robustness/802_15_4_beacon.pcap",
    "robustness/isup.pcap",
    "robustness/timestamp_invalid_nano.pcap",
    "robustness/OSPFv2_Capture_FINAL.pcapng",
    "robustness/dccp_options-oobr.pcap",
    "robustness/q933-heapoverflow-2.pcap",
    "labeled/pcap/fuzz-2006-09-29-28586.pcap",
    "labeled/pcap/alexa-app.pcapng",
]


def all_captures(shared: Path) -> list[Path]:
    caps = shared / "captures"
    files = sorted((caps / "robustness").iterdir()) + sorted((caps / "labeled" / "pcap").iterdir())
    return [f for f in files if f.is_file()]


def read_columns(path: Path, engine: str) -> tuple[dict[str, np.ndarray] | None, object]:
    """All record columns of a capture (None on CaptureError) and the reader or error."""
    try:
        with open_capture(path, engine=engine) as reader:
            parts = [
                (b.frame, b.offset, b.cap_len, b.wire_len, b.ts_ns, b.link_type,
                 np.array([b.data[o : o + c].sum() for o, c in zip(b.offset[:3], b.cap_len[:3],
                                                                   strict=True)]))
                for b in reader.batches(chunk_records=4096)
            ]  # fmt: skip
    except CaptureError as err:
        return None, err
    names = ("frame", "offset", "cap_len", "wire_len", "ts_ns", "link_type", "head_sums")
    if not parts:
        return {n: np.zeros(0) for n in names}, reader
    return {
        n: np.concatenate(col) for n, col in zip(names, zip(*parts, strict=True), strict=True)
    }, reader


def tshark_frames(path: Path, *fields: str) -> tuple[list[list[str]] | None, str]:
    """tshark's per-frame fields, or None when tshark cannot read the file at all."""
    proc = subprocess.run(
        [TSHARK, "-n", "-r", str(path), "-T", "fields", *(a for f in fields for a in ("-e", f))],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if "unknown or unsupported" in proc.stderr or "isn't a capture file" in proc.stderr:
        return None, proc.stderr
    return [line.split("\t") for line in proc.stdout.splitlines()], proc.stderr


@pytest.mark.parametrize("engine", ["c", "numba"])
def test_every_shared_capture_reads_alike_with_python_and_a_compiled_engine(shared, engine):
    if engine not in available_engines():
        pytest.skip(f"engine {engine!r} not available here (C walk not built, or no numba)")
    problems = []
    for path in all_captures(shared):
        py, py_reader = read_columns(path, "python")
        nb, nb_reader = read_columns(path, engine)
        if py is None or nb is None:
            if str(py_reader) != str(nb_reader):
                problems.append(f"{path.name}: engines disagree: {py_reader} / {nb_reader}")
            continue
        n = len(py["frame"])
        if not np.array_equal(py["frame"], np.arange(1, n + 1)):
            problems.append(f"{path.name}: frames are not 1..{n}")
        if py_reader.info.packets != n:
            problems.append(f"{path.name}: info.packets {py_reader.info.packets} != {n}")
        for name in py:
            if not np.array_equal(py[name], nb[name]):
                problems.append(f"{path.name}: engines disagree on {name}")
        if py_reader.partial != nb_reader.partial:
            problems.append(f"{path.name}: engines disagree on the partial result")
        if py_reader.partial and not 0 < py_reader.partial.offset <= path.stat().st_size:
            problems.append(f"{path.name}: partial offset outside the file")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", HANDFUL)
def test_records_timestamps_and_lengths_match_tshark(shared, name):
    if not Path(TSHARK).exists():
        pytest.skip("tshark not installed")
    path = shared / "captures" / name
    rows, _ = tshark_frames(path, "frame.number", "frame.time_epoch", "frame.len", "frame.cap_len")
    cols, reader = read_columns(path, "python")
    assert rows is not None and cols is not None
    assert len(cols["frame"]) == len(rows) == reader.info.packets
    assert cols["wire_len"].tolist() == [int(r[2]) for r in rows]
    assert cols["cap_len"].tolist() == [int(r[3]) for r in rows]
    # tshark prints epoch seconds with 9 decimals; it shows invalid fractions
    # (a billion nanoseconds or more) raw, as timestamp_invalid_nano.pcap has them
    shown = [r[1] for r in rows]
    valid = [len(t.split(".")[1]) == 9 and not t.startswith("-") for t in shown]
    assert sum(valid) >= len(rows) - 2
    theirs = [int(t.replace(".", "")) for t, ok in zip(shown, valid, strict=True) if ok]
    assert cols["ts_ns"][np.array(valid, bool)].tolist() == theirs


def test_record_counts_match_wiretap_on_every_shared_capture(shared):
    """Counts for all captures, from capinfos: tshark's own file reader (wiretap)
    without the dissectors, so one call covers all 551 files in a fraction of a
    second where tshark needs about a second per file."""
    capinfos = shutil.which("capinfos")
    if capinfos is None:
        pytest.skip("capinfos (wireshark-common) not installed")
    files = all_captures(shared)
    proc = subprocess.run(
        [capinfos, "-c", "-M", "-T", "-r", *map(str, files)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    counts = dict(line.rsplit("\t", 1) for line in proc.stdout.splitlines())
    problems = []
    for path in files:
        if str(path) not in counts:
            continue  # wiretap cannot read this link type at all
        try:
            with open_capture(path) as reader:
                n = sum(len(b) for b in reader.batches())
        except CaptureError as err:
            n, why = 0, str(err)
        else:
            why = reader.partial.reason if reader.partial else ""
        if n != int(counts[str(path)]):
            problems.append(f"{path.name}: {n} records ({why}), wiretap {counts[str(path)]}")
    assert len(counts) > 500
    assert not problems, "\n".join(problems)
