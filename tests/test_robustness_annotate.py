"""The whole product on every capture in ../shared/captures/robustness/.

tcpdump's 415 test captures are many of them malformed on purpose.  Each one
goes through ``annotator.cli.main`` in-process, exactly as a user's
``annotate FILE --format json -o OUT`` would: reader, decoder, flows,
registry join, evidence, triage and the JSON report.  What must hold for
every file:

* nothing escapes ``main`` and it returns 0, 2 or 3 -- never 70 (internal
  error, a bug) nor 1 (no --fail-on was given);
* exit 2 (unreadable) prints exactly one line on stderr, naming the file;
* exit 3 (partial) prints a "partial capture" line per cut-short file;
* whenever a report is written, its accounting adds up: packets in flows +
  other + undecodable == total == the packets the capture section reports,
  and the per-reason undecodable counts sum to the undecodable total.

Today every one of the 415 files reads to its end (exit 0, malformed packets
counted as undecodable); copies cut short exercise exits 2 and 3.
pytest-timeout is the hang guard: one file stuck in a loop fails the test
instead of stalling CI.  The whole folder takes about 25 s (some 60 ms a
file, most of it the fixed cost of a run: registry join, triage, report).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotator.cli import EXIT_INPUT, EXIT_OK, EXIT_PARTIAL, main

pytestmark = [pytest.mark.shared, pytest.mark.slow, pytest.mark.timeout(180)]


def robustness_captures(shared: Path) -> list[Path]:
    folder = shared / "captures" / "robustness"
    if not folder.is_dir():
        pytest.skip(f"no robustness captures at {folder}")
    return sorted(p for p in folder.iterdir() if p.is_file())


def accounting_problems(name: str, report: dict) -> list[str]:
    """What is wrong with the accounting of one JSON report (empty when it adds up)."""
    acc = report["accounting"]
    problems = []
    parts = acc["packets_in_flows"] + acc["packets_other"] + acc["packets_undecodable"]
    if parts != acc["packets_total"]:
        problems.append(f"{name}: flows+other+undecodable {parts} != total {acc['packets_total']}")
    if sum(acc["undecodable"].values()) != acc["packets_undecodable"]:
        problems.append(f"{name}: undecodable reasons do not sum to {acc['packets_undecodable']}")
    if acc["packets_total"] != report["capture"]["packets"]:
        problems.append(
            f"{name}: accounting total {acc['packets_total']} != "
            f"capture packets {report['capture']['packets']}"
        )
    if acc["flows"] != len(report["flows"]):
        problems.append(f"{name}: {acc['flows']} flows counted, {len(report['flows'])} listed")
    if sum(f["packets"] for f in report["flows"]) != acc["packets_in_flows"]:
        problems.append(f"{name}: flow packets do not sum to packets_in_flows")
    if sum(o["packets"] for o in report["other_traffic"]) != acc["packets_other"]:
        problems.append(f"{name}: other traffic does not sum to packets_other")
    return problems


def annotate_once(path: Path, out: Path, capsys) -> tuple[int, dict | None, list[str]]:
    """Run ``annotate PATH --format json -o OUT`` in-process and check what a user sees.

    Returns the exit code, the parsed report (None when none was written) and
    the problems found.
    """
    out.unlink(missing_ok=True)
    code = main([str(path), "--format", "json", "-o", str(out), "--no-progress"])
    err = capsys.readouterr().err
    lines = err.splitlines()
    name = path.name
    if code not in (EXIT_OK, EXIT_INPUT, EXIT_PARTIAL):
        return code, None, [f"{name}: exit {code}: {err.strip()[:300]}"]
    if code == EXIT_INPUT:
        if len(lines) != 1 or name not in lines[0]:
            return code, None, [f"{name}: exit 2 wants one line naming the file: {lines}"]
        return code, None, []
    problems = []
    if code == EXIT_PARTIAL and not any("partial capture" in line for line in lines):
        problems.append(f"{name}: exit 3 without a 'partial capture' line")
    if code == EXIT_OK and err:
        problems.append(f"{name}: exit 0 but stderr says {err.strip()[:200]!r}")
    report = json.loads(out.read_text(encoding="utf-8"))
    if (code == EXIT_PARTIAL) != bool(report["partial"]):
        problems.append(f"{name}: exit {code} but the report's partial is {report['partial']}")
    return code, report, problems + accounting_problems(name, report)


def test_annotate_survives_every_robustness_capture(shared, tmp_path, capsys):
    captures = robustness_captures(shared)
    out = tmp_path / "report.json"
    problems: list[str] = []
    codes: list[int] = []
    undecodable = 0
    for path in captures:
        code, report, found = annotate_once(path, out, capsys)
        codes.append(code)
        problems += found
        if report is not None:
            undecodable += report["accounting"]["packets_undecodable"]
    assert not problems, "\n".join(problems)
    assert len(codes) == len(captures) > 400
    # malformed packets are counted, with a reason, not dropped
    assert undecodable > 0


def test_annotate_survives_robustness_captures_cut_short(shared, tmp_path, capsys):
    """Every seventh capture cut at two thirds of its size (mostly mid-record)
    and at 10 bytes (inside the file header): the partial and the unreadable
    paths, over the same variety of formats and link types."""
    captures = robustness_captures(shared)[::7]
    out = tmp_path / "report.json"
    problems: list[str] = []
    codes: list[int] = []
    for path in captures:
        data = path.read_bytes()
        for keep in (len(data) * 2 // 3, 10):
            cut = tmp_path / f"cut{keep}-{path.name}"
            cut.write_bytes(data[:keep])
            code, _, found = annotate_once(cut, out, capsys)
            codes.append(code)
            problems += found
            cut.unlink()
    assert not problems, "\n".join(problems)
    assert codes.count(EXIT_PARTIAL) > len(captures) // 2
    assert codes.count(EXIT_INPUT) >= len(captures)
