"""The reader's buffer reuse: bytes a batch points into are never overwritten.

The capture reader reuses its previous buffer once nothing refers to it any
more (so a plain read keeps two buffers, without allocating and faulting in a
new one per batch).  A caller that keeps its batches must still find every
record's bytes intact, and the SHA-256 hashed on the helper thread from views
of those buffers must still be the file's.
"""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
import sys
import threading

import pytest

from annotator.capture.formats import hashing, open_capture
from annotator.capture.formats import writers as w
from annotator.capture.formats.engines import available_engines
from annotator.capture.formats.writers import Record
from annotator.errors import UsageError

T0 = 1_700_000_000_000_000_000


def _frames(count: int, size: int) -> list[bytes]:
    """Distinct frames: each starts with its index and is filled with it."""
    return [struct.pack(">I", i) + bytes([i % 251]) * (size - 4) for i in range(count)]


@pytest.mark.parametrize("engine", ["python", "c", "numba"])
def test_kept_batches_keep_their_bytes_and_the_hash_is_the_files(tmp_path, engine):
    if engine not in available_engines():
        pytest.skip(f"engine {engine!r} not available here (C walk not built, or no numba)")
    data = _frames(3000, 1500)  # ~4.5 MB through 64 KiB buffers: ~70 buffer turns
    blob = w.pcap_bytes([Record(T0 + i, d) for i, d in enumerate(data)])
    path = tmp_path / "many.pcap"
    path.write_bytes(blob)
    with open_capture(path, engine=engine, chunk_bytes=65536) as reader:
        kept = list(reader.batches())
        info = reader.info
    got = [
        bytes(b.data[o : o + c])
        for b in kept
        for o, c in zip(b.offset.tolist(), b.cap_len.tolist(), strict=True)
    ]
    assert len(kept) > 50
    assert got == data
    assert info.sha256 == hashlib.sha256(blob).hexdigest()


@pytest.mark.parametrize(
    ("cpus", "readers", "threaded"), [(2, 1, True), (1, 1, False), (2, 2, False), (4, 2, True)]
)
def test_the_hash_helper_thread_runs_only_with_a_cpu_to_spare(
    tmp_path, monkeypatch, cpus, readers, threaded
):
    monkeypatch.setattr(hashing, "_usable_cpus", lambda: cpus)
    data = _frames(4000, 1500)  # 6 MB, read in 1 MiB pieces
    blob = w.pcap_bytes([Record(T0 + i, d) for i, d in enumerate(data)])
    path = tmp_path / "big.pcap"
    path.write_bytes(blob)
    names: set[str] = set()
    with open_capture(path, readers=readers) as reader:
        for _ in reader.batches():
            names |= {t.name for t in threading.enumerate()}
        info = reader.info
    assert any(name.startswith("sha256") for name in names) is threaded
    assert info.sha256 == hashlib.sha256(blob).hexdigest()


def test_a_process_confined_to_one_cpu_hashes_without_a_helper_thread(tmp_path):
    blob = w.pcap_bytes([Record(T0 + i, d) for i, d in enumerate(_frames(4000, 1500))])
    path = tmp_path / "big.pcap"
    path.write_bytes(blob)
    code = (
        "import sys, threading\n"
        "from annotator.capture.formats import hashing, open_capture\n"
        "names = set()\n"
        "with open_capture(sys.argv[1]) as r:\n"
        "    for _ in r.batches():\n"
        "        names |= {t.name for t in threading.enumerate()}\n"
        "print(hashing._usable_cpus(), any(n.startswith('sha256') for n in names),"
        " r.info.sha256)\n"
    )
    one = {min(os.sched_getaffinity(0))}
    run = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True,
        preexec_fn=lambda: os.sched_setaffinity(0, one),
    )  # fmt: skip
    assert run.stdout.split() == ["1", "False", hashlib.sha256(blob).hexdigest()]


def test_a_streaming_read_reuses_its_buffers_and_gives_the_same_records(tmp_path):
    data = _frames(2000, 700)
    blob = w.pcap_bytes([Record(T0 + i, d) for i, d in enumerate(data)])
    path = tmp_path / "stream.pcap"
    path.write_bytes(blob)
    got, buffers = [], set()
    with open_capture(path, engine="python", chunk_bytes=65536) as reader:
        for batch in reader.batches():
            buffers.add(batch.data.ctypes.data)
            got += [
                bytes(batch.data[o : o + c])
                for o, c in zip(batch.offset.tolist(), batch.cap_len.tolist(), strict=True)
            ]
        info = reader.info
    assert got == data
    assert info.sha256 == hashlib.sha256(blob).hexdigest()
    # Batches are dropped one by one here, so the reader turns over two buffers
    # (plus the first, small-read one) instead of one fresh buffer per batch.
    assert len(buffers) <= 3


def _fresh(code: str, hide_c: bool = False) -> str:
    """Run ``code`` in a fresh interpreter (no walk loaded yet); its standard output.

    ``hide_c`` makes the C walk unimportable there, as on a machine without a
    compiler at install time.
    """
    if hide_c:
        code = "import sys\nsys.modules['annotator.capture.formats._cwalk'] = None\n" + code
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout


def test_warm_kernels_without_the_c_walk_loads_both_numba_walks() -> None:
    """What `jobs` relies on: after warm_kernels, forked workers find both walks compiled."""
    pytest.importorskip("numba", reason="numba is not installed (the [fast] extra)")
    out = _fresh(
        "from annotator.capture.formats import numbawalk as walk\n"
        "from annotator.capture.formats.reader import warm_kernels\n"
        "assert not walk.walk_pcap.signatures and not walk.walk_pcapng.signatures\n"
        "assert warm_kernels() is True\n"
        "print(len(walk.walk_pcap.signatures), len(walk.walk_pcapng.signatures))\n",
        hide_c=True,
    )
    pcap, pcapng = map(int, out.split())
    assert pcap >= 1 and pcapng >= 1


def test_with_the_c_walk_nothing_loads_numba() -> None:
    """warm_kernels and a whole read of a capture leave numba unimported."""
    if "c" not in available_engines():
        pytest.skip("the C walk was not built (no C compiler at install)")
    out = _fresh(
        "import io, sys\n"
        "from annotator.capture.formats import open_capture, writers as w\n"
        "from annotator.capture.formats.reader import warm_kernels\n"
        "assert warm_kernels() is True\n"
        "blob = w.pcap_bytes([w.Record(10**9 * i, bytes(60)) for i in range(5)])\n"
        "with open_capture(io.BytesIO(blob)) as r:\n"
        "    print(sum(len(b) for b in r.batches()), 'numba' in sys.modules)\n"
    )
    assert out.split() == ["5", "False"]


@pytest.mark.parametrize("readers", [0, -2, True, 1.5])
def test_readers_must_be_a_positive_integer(tmp_path, readers):
    path = tmp_path / "one.pcap"
    path.write_bytes(w.pcap_bytes([Record(T0, bytes(60))]))
    with pytest.raises(UsageError, match="readers must be a positive integer"):
        open_capture(path, readers=readers)


def test_readers_is_a_setting_of_each_read_not_of_the_process(tmp_path, monkeypatch):
    """A read told of many readers leaves the next read in the process free to thread."""
    monkeypatch.setattr(hashing, "_usable_cpus", lambda: 2)
    blob = w.pcap_bytes([Record(T0 + i, d) for i, d in enumerate(_frames(4000, 1500))])
    path = tmp_path / "big.pcap"
    path.write_bytes(blob)
    threaded = []
    for readers in (2, 1):
        names: set[str] = set()
        with open_capture(path, readers=readers) as reader:
            for _ in reader.batches():
                names |= {t.name for t in threading.enumerate()}
        threaded.append(any(name.startswith("sha256") for name in names))
        assert reader.info.sha256 == hashlib.sha256(blob).hexdigest()
    assert threaded == [False, True]
