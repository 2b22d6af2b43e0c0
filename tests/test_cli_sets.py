"""The command line on capture sets: directories, glob patterns, --jobs, --verbose, --dask."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from annotator.cli import main

ROOT = Path(__file__).resolve().parent.parent
MIXED = ROOT / "samples" / "mixed.pcap"

_spec = importlib.util.spec_from_file_location(
    "splitting_for_cli", ROOT / "tests" / "flows" / "splitting.py"
)
splitting = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = splitting  # dataclasses look their module up there
_spec.loader.exec_module(splitting)


def _json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = main([*argv, "--format", "json", "--no-progress"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def _flows_without_where(doc: dict) -> list[dict]:
    return [
        {k: v for k, v in flow.items() if k not in ("capture", "first_frame")}
        for flow in doc["flows"]
    ]


@pytest.fixture
def rotated(tmp_path: Path) -> Path:
    """samples/mixed.pcap as a rotated set in a directory, plus a file that is no capture."""
    folder = tmp_path / "ring"
    split = splitting.split_every(MIXED, 30, folder)
    assert len(split.paths) == 6
    # Rotation names carry counters, not extensions: recognition is by content.
    for k, path in enumerate(split.paths):
        path.rename(folder / f"trace.{k}")
    (folder / "SHA256SUMS").write_text("0" * 64 + "  trace.0\n")
    (folder / ".hidden").write_bytes(MIXED.read_bytes())
    return folder


def test_directory_is_one_capture(rotated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, whole = _json([str(MIXED)], capsys)
    assert code == 0
    code = main([str(rotated), "--format", "json", "--no-progress"])
    captured = capsys.readouterr()
    got = json.loads(captured.out)
    assert code == 0
    assert _flows_without_where(got) == _flows_without_where(whole)
    assert got["accounting"] == whole["accounting"]
    assert f"{rotated / 'SHA256SUMS'}: skipped, not a capture file" in captured.err
    assert ".hidden" not in captured.err + json.dumps(got["capture"])
    names = {flow["capture"] for flow in got["flows"]}
    assert names <= {str(rotated / f"trace.{k}") for k in range(6)}


def test_glob_pattern_and_jobs_give_the_same_result(
    rotated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, one = _json([str(rotated / "trace.*")], capsys)
    _, two = _json([str(rotated / "trace.*"), "--jobs", "2"], capsys)
    assert one["flows"] == two["flows"]
    assert one["findings"] == two["findings"]
    assert one["accounting"] == two["accounting"]
    assert len(one["flows"]) == 17


def test_pattern_without_match_and_empty_directory_are_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / "nothing-*.pcap"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert (
        err.strip()
        == f"annotate: error: {tmp_path / 'nothing-*.pcap'}: no file matches this pattern"
    )
    (tmp_path / "notes.txt").write_text("not a capture")
    assert main([str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path}: no capture files in this directory" in err
    assert "Traceback" not in err


def test_bad_file_in_a_set_is_exit_2_with_jobs(
    rotated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "broken.pcap"
    bad.write_bytes(b"\xd4\xc3\xb2\xa1" + b"\x00" * 5)
    code = main([str(rotated / "trace.0"), str(bad), "--jobs", "2", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"annotate: error: {bad}:")


def test_verbose_prints_throughput_per_file_and_total(
    rotated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(rotated), "--verbose", "--no-progress"]) == 0
    err = capsys.readouterr().err.splitlines()
    per_file = [line for line in err if line.startswith(f"annotate: {rotated}/trace.")]
    assert len(per_file) == 6
    assert all("packets" in line and "M packets/s" in line for line in per_file)
    total = [line for line in err if line.startswith("annotate: total:")]
    assert len(total) == 1
    assert "6 files, 173 packets" in total[0] and "17 flows" in total[0]


def test_stdin_twice_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-", "-", "--no-progress"]) == 2
    assert "standard input" in capsys.readouterr().err


def test_dask_option_reads_on_a_cluster(rotated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        _, local = _json([str(rotated)], capsys)
        code, remote = _json([str(rotated), "--dask", cluster.scheduler_address], capsys)
    assert code == 0
    assert remote["flows"] == local["flows"]
    assert remote["accounting"] == local["accounting"]


def test_urls_are_not_glob_patterns() -> None:
    from annotator.capture.inputs import expand_inputs

    url = "https://example.invalid/pcap?name=a*[1].pcap"
    assert expand_inputs([url]).sources == [url]


def test_reports_of_a_set_list_its_files(rotated: Path, tmp_path: Path) -> None:
    html, md = tmp_path / "set.html", tmp_path / "set.md"
    assert main([str(rotated), "-o", str(html), "-o", str(md), "--no-progress"]) == 0
    names = [str(rotated / f"trace.{k}") for k in range(6)]
    page = html.read_text()
    assert "6 files</a>, read as one capture" in page
    section = page[page.index('<section id="captures">') : page.index('<section id="accounting">')]
    # One row per file, in time order, each with its own hash.
    assert [section.index(n) for n in names] == sorted(section.index(n) for n in names)
    assert section.count('data-field="capture-name"') == 6
    text = md.read_text()
    assert "| Capture set | 6 files, read as one capture (see Captures) |" in text
    # (Names are Markdown-escaped: the temporary folder's underscores get a backslash.)
    rows = [line for line in text.splitlines() if any(f"trace.{k} |" in line for k in range(6))]
    assert len(rows) == 6 and all(len(r.split("|")[6].strip()) == 64 for r in rows)


def test_terminal_summarises_a_long_set(rotated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(rotated), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "Capture set" in out and "6 files read as one capture" in out
    # Long paths wrap at the test console's width: compare without whitespace.
    flat = "".join(out.split())
    assert f"Firstfile{rotated / 'trace.0'}" in flat
    assert f"Lastfile{rotated / 'trace.5'}" in flat
    assert "trace.3" not in out
    assert not any(line.startswith("SHA-256") for line in out.splitlines())  # in reports


def test_a_file_named_twice_is_refused_not_counted_twice(
    rotated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(MIXED), str(MIXED), "--no-progress"]) == 2
    assert "named twice" in capsys.readouterr().err
    # Reached twice, through the directory and a pattern into it.
    assert main([str(rotated), str(rotated / "trace.1"), "--no-progress"]) == 2
    assert "named twice" in capsys.readouterr().err


def test_a_pattern_sorts_its_matches_as_a_directory_does(
    rotated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, got = _json([str(rotated / "*")], capsys)
    assert code == 0 and got["accounting"]["packets_total"] == 173
    capsys.readouterr()
    assert main([str(rotated / "SHA*"), "--no-progress"]) == 2
    assert "no capture files match this pattern" in capsys.readouterr().err


def test_fifos_are_read_once_and_noted_in_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import threading

    data = MIXED.read_bytes()
    fifos = [tmp_path / "one", tmp_path / "two"]
    for fifo in fifos:
        os.mkfifo(fifo)

    def feed(path: Path) -> None:
        with open(path, "wb") as f:
            f.write(data)

    writers = [threading.Thread(target=feed, args=(f,), daemon=True) for f in fifos]
    for w in writers:
        w.start()
    # Two pipes (as a shell's <(...) gives): each is read once, none is
    # peeked at first and found empty later.
    code, got = _json([str(f) for f in fifos], capsys)
    assert code == 0 and got["accounting"]["packets_total"] == 2 * 173
    # In a directory, a FIFO is no capture file to open: noted, not read.
    folder = tmp_path / "ring"
    folder.mkdir()
    (folder / "a.pcap").write_bytes(data)
    os.mkfifo(folder / "pipe")
    assert main([str(folder), "--no-progress", "--format", "json", "-o", os.devnull]) == 0
    assert f"{folder / 'pipe'}: skipped, not a regular file" in capsys.readouterr().err


def test_a_set_entry_or_folder_that_cannot_be_read_is_an_error_not_a_gap(
    rotated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import annotator.capture.inputs as inputs

    # As the test may run as root, the refusals are staged where annotate meets them.
    def denied(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(inputs.os, "listdir", denied)
    assert main([str(rotated), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"annotate: error: {rotated}: cannot list this directory: Permission denied"
    monkeypatch.undo()
    # An entry that cannot be opened is kept in the set, so reading it names
    # the problem (exit 2), instead of being skipped as "not a capture file".
    monkeypatch.setattr(inputs, "open", denied, raising=False)
    assert inputs.looks_like_capture(str(rotated / "trace.0"))
