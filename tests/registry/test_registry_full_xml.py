"""The full IANA registry XML (2026-08-17, ../shared/iana): every rule on the real rows."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from annotator.registry import TRANSPORTS, Registry, load_registry
from annotator.registry.diff import diff
from annotator.registry.export import CSV_HEADER, csv_row, to_csv, to_json


@pytest.fixture(scope="module")
def full(shared: Path) -> Registry:
    return load_registry(shared / "iana" / "service-names-port-numbers.xml")


def test_every_record_column_and_person_is_loaded(full):
    assert len(full) == 14533
    assert full.meta.skipped_rows == 0
    assert sum(1 for r in full if r.unauthorized_use) == 112
    assert sum(1 for r in full if r.port_lo is None) == 1070
    assert full.meta.updated == "2026-08-17"
    assert full.meta.title == "Service Name and Transport Protocol Port Number Registry"
    assert "DOES NOT IN ANY WAY IMPLY AN" in full.meta.note
    assert len(full.people) == 5615
    (smtp,) = full.lookup(25, "tcp")
    assert (smtp.assignee, smtp.contact) == ("[IESG]", "[IETF_Chair]")
    assert smtp.modification_date == "2017-06-05"
    assert [r.service_code for r in full.lookup(9, "dccp")] == ["1145656131"]


def test_ranges_and_exact_records_inside_them(full):
    assert all(r.service == "x11" for p in (6000, 6031, 6063) for r in full.lookup(p, "tcp"))
    assert [r.service for r in full.lookup(7775, "tcp")] == ["inetfs"]
    assert [r.port for r in full.lookup(7770, "tcp")] == ["7748-7776"]
    assert [r.port for r in full.lookup(7775, "udp")] == ["7775"]  # Reserved beats the range


def test_aliases_duplicates_and_the_current_name(full):
    assert [r.service for r in full.lookup(6301, "tcp")] == ["bmc-ctd-ldap", "bmc_ctd_ldap"]
    assert full.primary(6301, "tcp").service == "bmc-ctd-ldap"
    assert sorted({r.port for r in full.lookup_name("csdmbase")}) == ["1467", "1471"]
    at80 = full.lookup(80, "tcp")
    assert [r.service for r in at80] == ["http", "www", "www-http"]
    assert full.primary(80, "tcp").service == "http"
    assert [r.discouraged for r in at80] == [False, True, True]


def test_deassigned_historic_and_widely_used_wordings(full):
    def one(port, transport="tcp"):
        (rec,) = full.lookup(port, transport)
        return rec

    assert (one(5030).status, one(5030).deassigned_date) == ("reserved", "2022-01-10")
    assert one(2).deassigned_date == "2025-02-13"  # "De-assigned on 2025-02-13, previously ..."
    assert one(47).deassigned_date == "2017-05-18"  # "This entry has been removed on ..."
    assert one(51, "sctp").deassigned_date == "2013-05-24"  # "This entry is being removed on"
    assert one(4501).deassigned_date == "2001-06-08"  # "De-registered 08 June 2001"
    assert one(585, "udp").deassigned and one(585, "udp").discouraged
    assert one(44323, "udp").deassigned  # "assignment withdrawn"
    assert not one(3001).deassigned and full.primary(3001, "tcp").service == "origo-native"
    assert full.lookup_name("iad1")[0].deassigned  # "This service name is no longer in use."
    assert not full.lookup_name("jmap")[0].deassigned  # "de-assigned and re-assigned"
    assert one(18).historic and full.primary(18, "tcp") is None  # "(historic)"
    assert not one(9878, "udp").historic  # "Historically, ... referred to as kca_service"
    bhoetty = full.lookup(351, "tcp")  # an unassigned but widespread use beside the assignment
    assert [(r.service, r.widely_used) for r in bhoetty] == [
        ("matip-type-b", False),
        ("bhoetty", True),
    ]
    assert full.primary(351, "tcp").service == "matip-type-b"
    assert full.lookup_name("cddbp")[0].widely_used


def test_dynamic_ports_hold_no_record(full):
    ports = np.arange(49152, 65536)
    assert (full.slot_ids(ports, np.zeros(len(ports), dtype=np.int64)) == -1).all()
    assert set(full.port_class(ports)) == {"dynamic"}


def test_vectorized_join_agrees_with_record_lookups(full):
    rng = np.random.default_rng(2026)
    ports = np.concatenate([rng.integers(0, 49152, 3000), np.arange(0, 1100)])
    codes = np.concatenate([rng.integers(0, 4, 3000), np.zeros(1100, dtype=np.int64)])
    slots = full.slot_ids(ports, codes)
    current = full.assigned_mask(ports, codes)
    service = full.slots["service"].to_numpy()
    for port, code, slot, cur in zip(ports, codes, slots, current, strict=True):
        primary = full.primary(int(port), TRANSPORTS[code])
        assert bool(cur) == (primary is not None)
        assert (slot == -1) == (not full.lookup(int(port), TRANSPORTS[code]))
        if slot >= 0:
            assert service[slot] == (primary.service if primary else None)


def test_csv_export_round_trips_every_record(full):
    out = io.StringIO()
    to_csv(full, out)
    text = out.getvalue()
    assert text.splitlines()[0] == ",".join(CSV_HEADER)
    back = load_registry(text.encode())
    assert back.meta.format == "csv" and back.meta.skipped_rows == 0
    assert len(back) == 14533 and sum(1 for r in back if r.unauthorized_use) == 112
    assert back.records == full.records
    assert not diff(full, back)


def test_json_export_has_every_record(full, tmp_path):
    import json

    path = tmp_path / "registry.json"
    to_json(full, path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert len(doc["records"]) == 14533 and doc["meta"]["updated"] == "2026-08-17"
    assert doc["records"][0]["port"] == "0" and len(doc["people"]) == 5615


def test_diff_of_seed_003_against_2026_shows_the_pmproxy_rename(full, shared):
    (path,) = (shared / "seeds").glob("003_*.txt")
    changes = diff(load_registry(path), full)
    renames = {(c.old.service, c.new.service, c.new.port, c.new.transport) for c in changes.renamed}
    assert ("pmcdproxy", "pmproxy", "44322", "tcp") in renames
    assert ("pmcdproxy", "pmproxy", "44322", "udp") in renames
    assert not changes.removed  # everything else in the 2024 excerpt is still there


def test_the_whole_registry_pasted_as_a_pipe_table_loads_back(full):
    """Render every record as IANA's page pastes it (empty cells dropped, values shifted
    left) and load it: every record comes back with its name, port and transport, and
    nearly all with their description and notes (the rest lack a description, so a
    lone text cell cannot be placed)."""
    header = " | ".join(CSV_HEADER)
    lines = [full.meta.title, f"| {header} |", "|" + "---|" * len(CSV_HEADER)]
    for rec in full:
        cells = [c for c in csv_row(rec) if c]
        lines.append("| " + " | ".join(cells) + " |")
    pasted = load_registry("\n".join(lines).encode())
    assert pasted.meta.format == "text" and pasted.meta.skipped_rows == 0
    assert [r.key() for r in pasted] == [r.key() for r in full]
    placed = sum(
        (a.description, a.notes) == (b.description, b.notes)
        for a, b in zip(full, pasted, strict=True)
    )
    assert placed >= 14533 - 30


def test_the_whole_registry_as_tab_separated_cells_loads_back_exactly(full):
    """A spreadsheet's or browser's copy keeps every cell: every column comes back."""
    lines = ["\t".join(CSV_HEADER)] + ["\t".join(csv_row(rec)) for rec in full]
    assert load_registry("\n".join(lines).encode()).records == full.records
