"""A short run of each atheris fuzz target (fuzz/), as CI's smoke check.

Each target runs in its own process (libFuzzer owns the process and exits
when done) on a fresh seed corpus written by fuzz/make_corpus.py, for a few
thousand executions.  Exit status 0 means no input raised anything but the
project's own one-line errors and no accounting invariant broke; on a finding
libFuzzer exits non-zero and saves the input, whose path the failure shows.
The long runs are documented in fuzz/README.md.
"""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from annotator.capture.formats.engines import available_engines

ROOT = Path(__file__).resolve().parent.parent
FUZZ = ROOT / "fuzz"

needs_atheris = pytest.mark.skipif(
    importlib.util.find_spec("atheris") is None,
    reason="atheris not installed (pip install -e '.[fuzz]'; wheels exist for CPython 3.11)",
)

# (target, executions, largest input): the capture target runs about 200
# inputs a second (read_flows end to end), the registry one about 2,000, the
# evidence one several thousand.
TARGETS = [
    ("fuzz_capture", 2500, 65536),
    ("fuzz_registry", 6000, 16384),
    ("fuzz_evidence", 20000, 4096),
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    subprocess.run(
        [sys.executable, str(FUZZ / "make_corpus.py"), str(out)], check=True, capture_output=True
    )
    return out


@needs_atheris
@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize(("target", "runs", "max_len"), TARGETS)
def test_fuzz_target_smoke_run(corpus, tmp_path, target, runs, max_len):
    seeds = corpus / target.removeprefix("fuzz_")
    assert len(list(seeds.iterdir())) >= 5
    command = [
        sys.executable,
        str(FUZZ / f"{target}.py"),
        str(seeds),
        f"-atheris_runs={runs}",
        f"-max_len={max_len}",
        "-max_total_time=60",
        "-timeout=10",
        # No memory limit here: libFuzzer judges it by the peak RSS, which
        # Linux carries over from the parent across fork and exec, so the
        # limit would measure pytest's own peak.  The long runs set one.
        "-rss_limit_mb=0",
        f"-artifact_prefix={tmp_path}/",
    ]
    run = {"capture_output": True, "text": True, "timeout": 80, "cwd": ROOT}
    proc = subprocess.run(command, **run)
    if proc.returncode == -signal.SIGALRM and not any(tmp_path.iterdir()):
        # Seen once on a loaded machine: the fuzzer process killed by its own
        # timer signal, with no input saved -- libFuzzer's alarm, not a
        # finding (a finding exits non-zero and saves the input).  One rerun.
        proc = subprocess.run(command, **run)
    tail = proc.stderr[-3000:]
    assert proc.returncode == 0, f"{target} found a problem (exit {proc.returncode}):\n{tail}"
    assert "Done" in proc.stderr, tail  # libFuzzer's last line: it really ran


def test_capture_corpus_reads_the_same_with_every_walk(corpus):
    """The compiled walks (C and numba), which atheris cannot instrument,
    against the Python one on every capture input of the corpus: the seeds,
    plus what the smoke run above added (libFuzzer stores new inputs in the
    corpus folder)."""
    compiled = [e for e in available_engines() if e != "python"]
    if not compiled:
        pytest.skip("neither the C walk nor numba is available")
    proc = subprocess.run(
        [sys.executable, str(FUZZ / "replay_engines.py"), str(corpus / "capture")],
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert ", 0 differ" in proc.stdout
    assert f"the Python walk and {' and '.join(compiled)}," in proc.stdout


# Inputs the fuzzers found, replayed without atheris so they stay fixed.
REGISTRY_FINDINGS = [
    # expat raised LookupError (an internal error at the command line) on an
    # XML declaration naming an encoding Python does not know, ValueError on
    # a multi-byte one
    (b'<?xml version="1.0" encoding="UTF-4"?>\n<registry/>', "unsupported encoding"),
    (b'<?xml version="1.0" encoding="utf-32"?><registry/>', "unsupported encoding"),
    (b'<?xml version="1.0" encoding="rot13"?><registry/>', "unsupported encoding"),
]


@pytest.mark.parametrize(("data", "why"), REGISTRY_FINDINGS)
def test_registry_fuzz_findings_are_one_line_errors(tmp_path, capsys, data, why):
    from annotator.cli import EXIT_INPUT, main

    bad = tmp_path / "registry.xml"
    bad.write_bytes(data)
    code = main([str(ROOT / "samples" / "mixed.pcap"), "--registry", str(bad), "--no-progress"])
    lines = capsys.readouterr().err.splitlines()
    assert code == EXIT_INPUT
    assert len(lines) == 1 and str(bad) in lines[0] and why in lines[0], lines
