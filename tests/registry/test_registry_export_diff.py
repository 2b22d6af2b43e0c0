"""CSV/JSON export and registry diff, on small registries written for these tests."""

from __future__ import annotations

import io
import json

from annotator.registry import load_registry
from annotator.registry.diff import diff
from annotator.registry.export import CSV_HEADER, to_csv, to_json

HEADER = ",".join(CSV_HEADER)

OLD = [
    "alpha,1000,tcp,Alpha service,[A],[A],2001-01,,,,,",
    "alpha,1000,udp,Alpha service,[A],[A],2001-01,,,,,",
    "beta,1001,tcp,Beta,[B],[B],,,,,,",
    "gamma,1002,tcp,Gamma,[C],[C],,,,,,",
    ",1003,tcp,Reserved,,,,,,,,",
    "svc-only,,,A DNS-SD name,,,,,,,,Defined TXT keys: None",
]
NEW = [
    "alpha,1000,tcp,Alpha service v2,[A],[A],2001-01,2026-01-01,,,,",
    "alpha,1000,udp,Alpha service,[A],[A],2001-01,,,,,",
    "beta2,1001,tcp,Beta renamed,[B],[B],,,,,,",
    ",1002,tcp,Reserved,,,,2026-01-01,,,,De-Assigned on 2026-01-01",
    "delta,1003,tcp,Delta,[D],[D],2026-01-01,,,,,",
    "svc-only,,,A DNS-SD name,,,,,,,,Defined TXT keys: None",
]


def registry(rows: list[str]):
    return load_registry(("\n".join([HEADER, *rows]) + "\n").encode())


def test_csv_export_writes_iana_header_and_reloads_the_same_records():
    reg = registry(
        [
            *OLD,
            'quoted,2000,tcp,"Has, commas and ""quotes""",,,,,,,Known Unauthorized Use,',
            "=cmd,2001,udp,=1+1,,,,,,,,",  # registry data is written verbatim, no guard
        ]
    )
    out = io.StringIO()
    to_csv(reg, out)
    lines = out.getvalue().splitlines()
    assert lines[0] == HEADER
    assert lines[-1] == "=cmd,2001,udp,=1+1,,,,,,,,"
    back = load_registry(out.getvalue().encode())
    assert back.records == reg.records


def test_csv_export_can_carry_provenance():
    reg = load_registry(f"{HEADER},Provenance\nx,1,tcp,a,,,,,,,,,npm\n".encode())
    out = io.StringIO()
    to_csv(reg, out, provenance=True)
    assert out.getvalue().splitlines()[0].endswith(",Provenance")
    assert load_registry(out.getvalue().encode()).records[0].provenance == "npm"


def test_json_export_has_meta_records_and_markers():
    out = io.StringIO()
    to_json(registry(NEW), out)
    doc = json.loads(out.getvalue())
    assert doc["meta"]["format"] == "csv"
    reserved = doc["records"][3]
    assert reserved["port"] == "1002" and reserved["status"] == "reserved"
    assert reserved["deassigned"] is True and reserved["deassigned_date"] == "2026-01-01"


def test_diff_finds_added_removed_changed_and_renamed():
    d = diff(registry(OLD), registry(NEW))
    assert [(c.old.key(), c.fields) for c in d.changed] == [
        (("alpha", "1000", "tcp"), ("description", "modification_date"))
    ]
    assert [(c.old.service, c.new.service, c.new.port) for c in d.renamed] == [
        ("beta", "beta2", "1001")
    ]
    assert "service" in d.renamed[0].fields and "description" in d.renamed[0].fields
    # A name that became Reserved is a removal and an addition, not a rename.
    assert sorted(r.key() for r in d.removed) == [("", "1003", "tcp"), ("gamma", "1002", "tcp")]
    assert sorted(r.key() for r in d.added) == [("", "1002", "tcp"), ("delta", "1003", "tcp")]


def test_diff_of_a_registry_with_itself_is_empty():
    assert not diff(registry(OLD), registry(OLD))
