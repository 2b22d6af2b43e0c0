"""write_report: format choice, atomic replacement, devices and FIFOs, stdout, inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from annotator.errors import UsageError
from annotator.report import write_report
from annotator.report.write import choose_format


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("r.html", "html"),
        ("R.HTM", "html"),
        ("r.md", "markdown"),
        ("r.json", "json"),
        ("r.jsonl", "jsonl"),
        ("r.csv", "csv"),
        ("r.parquet", "parquet"),
    ],
)
def test_format_from_extension(name: str, fmt: str) -> None:
    assert choose_format(name) == fmt


def test_explicit_format_wins_and_unknown_is_a_usage_error() -> None:
    assert choose_format("out.json", "csv") == "csv"
    with pytest.raises(UsageError, match="unknown report format 'xlsx'"):
        choose_format("out.json", "xlsx")
    with pytest.raises(UsageError, match="cannot tell the report format"):
        choose_format("out.bin")
    assert choose_format("-") == "text"


def test_every_format_writes_a_file(mixed, tmp_path: Path) -> None:
    for ext in ("html", "md", "json", "jsonl", "csv", "parquet", "txt"):
        target = tmp_path / f"report.{ext}"
        write_report(mixed, target)
        assert target.stat().st_size > 100, ext
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_failing_renderer_leaves_old_file_and_no_temp(crafted, tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "report.json"
    target.write_text("previous report\n")

    def explode(result, out):
        out.write('{"half": ')
        raise RuntimeError("renderer died half way")

    monkeypatch.setattr("annotator.report.json.write_json", explode)
    with pytest.raises(RuntimeError, match="half way"):
        write_report(crafted, target)
    assert target.read_text() == "previous report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_interrupted_new_report_leaves_nothing(crafted, tmp_path: Path, monkeypatch) -> None:
    def interrupt(result, out):
        out.write("a,b\n")
        raise KeyboardInterrupt

    monkeypatch.setattr("annotator.report.csv.write_csv", interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_report(crafted, tmp_path / "flows.csv")
    assert list(tmp_path.iterdir()) == []


def test_replaced_file_is_a_new_inode_with_normal_permissions(crafted, tmp_path: Path) -> None:
    target = tmp_path / "r.jsonl"
    target.write_text("old")
    before = target.stat().st_ino
    write_report(crafted, target)
    assert target.stat().st_ino != before  # renamed over, not truncated in place
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_dev_null_is_written_in_place(crafted) -> None:
    before = os.stat("/dev/null")
    write_report(crafted, "/dev/null", fmt="json")
    after = os.stat("/dev/null")
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert os.path.exists("/dev/null") and not Path("/dev/null").is_file()


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_fifo_is_written_not_replaced(mixed, tmp_path: Path, fmt: str) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    write_report(mixed, fifo, fmt=fmt)
    reader.join(timeout=30)
    assert fifo.is_fifo()
    data = received[0]
    if fmt == "jsonl":
        assert len(data.decode().splitlines()) == len(mixed.flows)
    else:
        assert data[:4] == b"PAR1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_dash_writes_to_stdout(crafted, capfdbinary) -> None:
    write_report(crafted, "-", fmt="jsonl")
    lines = capfdbinary.readouterr().out.decode().splitlines()
    assert [json.loads(line)["server_port"] for line in lines] == crafted.flows[
        "server_port"
    ].tolist()


def test_stdout_in_a_real_process_is_clean_json(tmp_path: Path) -> None:
    """The bytes on a real stdout are the report alone (nothing else printed)."""
    folder = str(Path(__file__).parent)
    code = (
        f"import sys; sys.path.insert(0, {folder!r})\n"
        "import conftest\n"
        "from annotator.report import write_report\n"
        "write_report(conftest.make_result(), '-', fmt='json')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=True, timeout=120
    )
    assert json.loads(done.stdout)["tool"] == "annotator"


def test_refuses_to_overwrite_an_input(crafted, tmp_path: Path) -> None:
    capture = tmp_path / "capture.json"
    capture.write_bytes(b"\xd4\xc3\xb2\xa1evidence")
    with pytest.raises(UsageError, match="input capture"):
        write_report(crafted, capture, inputs=[capture])
    link = tmp_path / "alias.json"
    os.link(capture, link)
    with pytest.raises(UsageError, match="input capture"):
        write_report(crafted, link, inputs=[str(capture)])
    relative = Path(os.path.relpath(capture))
    with pytest.raises(UsageError, match="input capture"):
        write_report(crafted, relative, inputs=[capture])
    assert capture.read_bytes() == b"\xd4\xc3\xb2\xa1evidence"


def test_bad_destinations_are_one_line_usage_errors(crafted, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist") as missing:
        write_report(crafted, tmp_path / "no" / "such" / "r.html")
    with pytest.raises(UsageError, match="is a folder"):
        write_report(crafted, tmp_path, fmt="html")
    assert "\n" not in str(missing.value)


def test_a_capture_without_flows_still_gets_every_report(crafted, tmp_path: Path) -> None:
    crafted.flows = crafted.flows.iloc[0:0]
    crafted.findings = crafted.findings.iloc[0:0]
    crafted.other = crafted.other.iloc[0:0]
    crafted.captures[0].first_seen = crafted.captures[0].last_seen = None
    crafted.captures[0].packets = 0
    crafted.accounting = {
        "packets_total": 0,
        "packets_in_flows": 0,
        "packets_other": 0,
        "packets_undecodable": 0,
        "undecodable": {},
        "flows": 0,
    }
    for ext in ("html", "md", "json", "jsonl", "csv", "parquet", "txt"):
        write_report(crafted, tmp_path / f"empty.{ext}")
    assert "No findings" in (tmp_path / "empty.html").read_text(encoding="utf-8")
    assert json.loads((tmp_path / "empty.json").read_text())["flows"] == []
    assert (tmp_path / "empty.jsonl").read_text() == ""
    assert (tmp_path / "empty.csv").read_text().count("\n") == 1  # the header alone


def test_a_capture_without_flows_writes_every_format(tmp_path: Path, mixed) -> None:
    # ARP and ICMP only: the pipeline's own empty flow table, not a hand-made
    # one, must keep the dtypes of a full one (list columns included) and
    # write every format, Parquet too.
    from scapy.layers.inet import ICMP, IP
    from scapy.layers.l2 import ARP, Ether
    from scapy.utils import wrpcap

    import annotator
    from annotator.cli import main

    capture = tmp_path / "quiet.pcap"
    wrpcap(str(capture), [Ether() / ARP(pdst="10.0.0.1"), Ether() / IP() / ICMP()])
    flows = annotator.annotate(capture).flows
    assert flows.empty
    assert flows.dtypes.astype(str).to_dict() == mixed.flows.dtypes.astype(str).to_dict()
    outputs = [tmp_path / f"quiet.{ext}" for ext in ("parquet", "json", "csv", "md", "html")]
    argv = [str(capture), "--no-progress"]
    for path in outputs:
        argv += ["-o", str(path)]
    assert main(argv) == 0
    assert all(path.is_file() for path in outputs)
    import pandas as pd

    back = pd.read_parquet(outputs[0])
    assert back.empty and list(back.columns) == list(flows.columns)
