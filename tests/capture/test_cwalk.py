"""The C record walk (annotator/capture/formats/_cwalk.c) as a module of its own.

Whole-capture agreement with the other engines is tested where they are
(test_formats.py, test_robustness.py, test_formats_properties.py, the fuzz
replay).  Here: the extension is really built wherever it can be (so an
install that silently fell back fails CI), it agrees with the Python walk
call by call (positions, statuses, lengths near 2^32), and misuse from Python
raises instead of reading or writing outside the arrays.
"""

from __future__ import annotations

import shutil
import struct
import sys
import sysconfig
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from annotator.capture.formats import pywalk
from annotator.capture.formats import writers as w

try:
    from annotator.capture.formats import _cwalk
except ImportError:
    _cwalk = None

needs_c = pytest.mark.skipif(_cwalk is None, reason="the C walk was not built")


def _can_build_extensions() -> str | None:
    """Why this interpreter cannot build a C extension, or None when it can."""
    cc = (sysconfig.get_config_var("CC") or "").split()
    if not cc or shutil.which(cc[0]) is None:
        return f"no C compiler (sysconfig CC {cc[:1]} is not on PATH)"
    include = sysconfig.get_paths().get("include", "")
    if not (Path(include) / "Python.h").is_file():
        return f"no Python.h in {include} (install the Python headers, e.g. python3-dev)"
    return None


def test_the_extension_is_built_where_it_can_be():
    """An install on a machine with a compiler and headers must have built the C walk."""
    why = _can_build_extensions()
    if why is not None:
        pytest.skip(f"this interpreter cannot build extensions: {why}")
    assert _cwalk is not None, (
        "a C compiler and Python.h are present but annotator.capture.formats._cwalk is not "
        "importable: the optional build failed silently (see the pip install log)"
    )
    assert Path(_cwalk.__file__).parent == Path(pywalk.__file__).parent


# -- call by call against the Python walk -------------------------------------


def pcap_arrays(n: int) -> list[np.ndarray]:
    return [np.zeros(n, np.int64)] + [np.zeros(n, np.uint32) for _ in range(4)]


def pcapng_arrays(n: int) -> list[np.ndarray]:
    return [
        np.zeros(n, np.int64), np.zeros(n, np.uint32), np.zeros(n, np.uint32),
        np.zeros(n, np.int64), np.zeros(n, np.uint32), np.zeros(n, np.uint32),
        np.zeros(n, np.uint8),
    ]  # fmt: skip


def both(fn: str, buf: np.ndarray, head: list, make, tail: tuple[int, int]):
    """Run one walk function in C and in Python on fresh arrays; both results."""
    out = []
    for module in (_cwalk, pywalk):
        arrays = make(tail[1])
        out.append((getattr(module, fn)(buf, *head, *arrays, *tail), arrays))
    return out


def record(sec: int, caplen: int, wire: int, big: bool = False, body: bytes = b"") -> bytes:
    return struct.pack(">IIII" if big else "<IIII", sec, 7, caplen, wire) + body


@needs_c
@pytest.mark.parametrize("big", [False, True])
@pytest.mark.parametrize(
    ("tail_bytes", "max_cap", "status"),
    [
        (b"", 1000, pywalk.ST_END),  # clean end
        (b"\x01\x02\x03", 1000, pywalk.ST_END),  # header cut short
        (None, 2**32 - 1, pywalk.ST_NEED),  # record longer than what is left
        (None, 10, pywalk.ST_TOO_BIG),  # record over the limit
    ],
)
def test_walk_pcap_matches_python_record_by_record(big, tail_bytes, max_cap, status):
    good = b"".join(record(i, 5, 60 + i, big, b"abcde") for i in range(3))
    if tail_bytes is None:  # a header claiming 2^32 - 1 bytes: the 64-bit check stops it
        tail_bytes = record(9, 2**32 - 1, 2**32 - 1, big) + b"x" * 40
    data = np.frombuffer(good + tail_bytes, np.uint8)
    (c, c_arr), (p, p_arr) = both(
        "walk_pcap", data, [0, len(data), big, 16, max_cap], pcap_arrays, (0, 8)
    )
    assert c == p
    for a, b in zip(c_arr, p_arr, strict=True):
        assert np.array_equal(a[: c[0]], b[: c[0]])
    assert c[:1] + c[2:3] == (3, status)


@needs_c
def test_walk_pcap_stops_full_and_resumes_where_it_stopped():
    data = np.frombuffer(b"".join(record(i, 4, 4, body=b"wxyz") for i in range(10)), np.uint8)
    arrays = pcap_arrays(12)
    n, pos, status, _ = _cwalk.walk_pcap(data, 0, len(data), False, 16, 99, *arrays, 0, 4)
    assert (n, pos, status) == (4, 80, pywalk.ST_FULL)
    n, pos, status, detail = _cwalk.walk_pcap(data, pos, len(data), False, 16, 99, *arrays, n, 12)
    assert (n, pos, status, detail) == (10, 200, pywalk.ST_END, 16)
    assert arrays[0][:10].tolist() == [16 + 20 * i for i in range(10)]
    assert arrays[3][:10].tolist() == list(range(10))
    assert arrays[0][10:].tolist() == [0, 0]  # nothing written past the last record


@needs_c
@pytest.mark.parametrize("big", [False, True])
def test_walk_pcapng_matches_python_block_by_block(big):
    blocks = [
        w.epb(0, 2**64 - 1, b"e" * 13, big=big),
        w.opb(1, 5, b"o" * 3, big=big),
        w.spb(b"s" * 9, big=big),
        w.block(0x0BAD, b"skip me", big=big),
    ]
    endings = [
        b"",
        w.idb(big=big),  # control block: back to Python
        w.shb(big=big),  # a new section
        w.epb(5, 1, b"i", big=big),  # an interface not described
        w.epb(0, 1, b"x" * 8, big=big)[:-4] + struct.pack(">I" if big else "<I", 4),  # trailer
        struct.pack(">II" if big else "<II", 6, 2**32 - 4),  # a length near 2^32
        struct.pack(">II" if big else "<II", 6, 13),  # not a multiple of 4
        struct.pack(">II" if big else "<II", 6, 28) + bytes(16) + struct.pack(
            ">I" if big else "<I", 28),  # an EPB too short for its fields
        b"\x06\x00",  # a block header cut short
    ]  # fmt: skip
    for ending in endings:
        data = np.frombuffer(b"".join(blocks) + ending, np.uint8)
        for snap0 in (0, 4):
            head = [0, len(data), big, 2, snap0, 2**28]
            (c, c_arr), (p, p_arr) = both("walk_pcapng", data, head, pcapng_arrays, (0, 16))
            assert c == p, (ending, snap0)
            assert c[0] == 3
            for a, b in zip(c_arr, p_arr, strict=True):
                assert np.array_equal(a[:3], b[:3]), (ending, snap0)


# -- misuse raises, never crashes ---------------------------------------------


@needs_c
def test_misuse_raises_instead_of_touching_memory_it_does_not_own():
    data = np.frombuffer(record(1, 4, 4, body=b"abcd") * 2, np.uint8)
    ok = pcap_arrays(4)

    def call(buf=data, end=40, arrays=ok, n=0, max_n=4, hdr=16, pos=0):
        return _cwalk.walk_pcap(buf, pos, end, False, hdr, 99, *arrays, n, max_n)

    assert call()[:3] == (2, 40, pywalk.ST_END)
    with pytest.raises(ValueError, match=r"end \(41\) must lie within buf \(40 bytes\)"):
        call(end=41)
    with pytest.raises(ValueError, match="must lie within buf"):
        call(pos=-1)
    with pytest.raises(ValueError, match="fewer than max_n"):
        call(max_n=5)
    with pytest.raises(ValueError, match="must not be negative"):
        call(n=-1)
    with pytest.raises(ValueError, match="hdr_len must be at least 16"):
        call(hdr=8)
    with pytest.raises(TypeError, match="off must hold native int64"):
        call(arrays=[ok[1], *ok[1:]])
    with pytest.raises(TypeError, match="cap must hold native uint32"):
        call(arrays=[ok[0], ok[1].astype(np.int32), *ok[2:]])
    with pytest.raises(TypeError, match="cap must hold native uint32"):
        call(arrays=[ok[0], ok[1].astype(ok[1].dtype.newbyteorder()), *ok[2:]])
    with pytest.raises(TypeError, match="wire must be a writable C-contiguous"):
        call(arrays=[*ok[:2], np.zeros(8, np.uint32)[::2], *ok[3:]])
    frozen = ok[4].copy()
    frozen.flags.writeable = False
    with pytest.raises(TypeError, match="frac must be a writable"):
        call(arrays=[*ok[:4], frozen])
    with pytest.raises(TypeError, match="buf must hold bytes"):
        call(buf=data.view(np.uint32), end=10)
    with pytest.raises(TypeError, match="buf must be a C-contiguous byte buffer"):
        call(buf="not bytes")
    with pytest.raises(TypeError):
        _cwalk.walk_pcap(data, 0, len(data), False, 16, 99, *ok, 0)  # one argument short
    with pytest.raises(OverflowError):
        call(end=2**70)
    assert call(buf=bytes(data))[:3] == (2, 40, pywalk.ST_END)  # any byte buffer is fine


@needs_c
def test_pcapng_misuse_raises():
    data = np.frombuffer(w.epb(0, 1, b"abc"), np.uint8)
    ok = pcapng_arrays(2)

    def call(arrays=ok, end=None):
        end = len(data) if end is None else end
        return _cwalk.walk_pcapng(data, 0, end, False, 1, 0, 2**28, *arrays, 0, 2)

    assert call()[:3] == (1, len(data), pywalk.ST_END)
    with pytest.raises(TypeError, match="iface must hold native int64"):
        call(arrays=[*ok[:3], ok[1], *ok[4:]])
    with pytest.raises(TypeError, match="has_ts must hold native uint8"):
        call(arrays=[*ok[:6], np.zeros(2, np.int8)])
    with pytest.raises(ValueError, match="ts_lo holds 1 items"):
        call(arrays=[*ok[:5], np.zeros(1, np.uint32), ok[6]])
    with pytest.raises(ValueError, match="must lie within buf"):
        call(end=len(data) + 4)


@needs_c
def test_the_walk_lets_other_threads_run():
    """The GIL is released around the loop (the SHA-256 helper thread runs meanwhile).

    With a switch interval of minutes the interpreter never takes the GIL from
    this thread on its own, so the other thread (which gives the GIL back at
    every ``sleep(0)``) counts only while the walk has released it.
    """
    blob = b"".join(record(i, 0, 0) for i in range(500_000))
    data = np.frombuffer(blob, np.uint8)
    arrays = pcap_arrays(500_000)
    ticks, stop, started = [0], threading.Event(), threading.Event()

    def spin():
        started.set()
        while not stop.is_set():
            ticks[0] += 1
            time.sleep(0)

    old = sys.getswitchinterval()
    thread = threading.Thread(target=spin)
    thread.start()
    started.wait()
    sys.setswitchinterval(300)
    try:
        during = 0
        for _ in range(10):
            before = ticks[0]
            n = _cwalk.walk_pcap(data, 0, len(data), False, 16, 0, *arrays, 0, 500_000)[0]
            during += ticks[0] - before
            assert n == 500_000
    finally:
        sys.setswitchinterval(old)
        stop.set()
        thread.join()
    assert during > 0
