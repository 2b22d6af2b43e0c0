"""The five registry excerpts in ../shared/seeds, as users paste them, load exactly.

Pinned for each: the record count (no more, no fewer), and name, port,
transport, description and notes of records that exercise each rendering
quirk (shifted pipe cells, plain-text continuation lines, service-name-only
lines, contact tables).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from annotator.registry import Registry, load_registry

COUNTS = {"000": 101, "001": 101, "002": 101, "003": 23, "004": 17}


def seed(shared: Path, number: str) -> Registry:
    (path,) = (shared / "seeds").glob(f"{number}_*.txt")
    return load_registry(path)


def cols(rec) -> tuple:
    return (rec.service, rec.port, rec.transport, rec.description, rec.notes)


@pytest.mark.parametrize("number", sorted(COUNTS))
def test_each_seed_loads_to_exactly_its_records(shared, number):
    reg = seed(shared, number)
    assert len(reg) == COUNTS[number]
    assert reg.meta.format == "text" and reg.meta.skipped_rows == 0
    assert reg.meta.title == "Service Name and Transport Protocol Port Number Registry"
    assert [r.order for r in reg] == list(range(len(reg)))
    # Header, title and contact rows never become records.
    assert not any(r.service in ("Service", "ID", "Contact", "|") for r in reg)


def test_seed_000_pipe_table_with_shifted_cells(shared):
    reg = seed(shared, "000")
    assert reg.meta.updated == "2025-10-30"
    assert "DOES NOT IN ANY WAY IMPLY AN" in reg.meta.note
    first = reg.records[0]
    assert cols(first) == ("lisp-data", "4341", "udp", "LISP Data Packets", "")
    assert (first.assignee, first.contact, first.reference) == (
        "[IESG]",
        "[IETF_Chair]",
        "[RFC9300]",
    )
    assert (first.registration_date, first.modification_date) == ("2007-11-12", "2021-02-17")

    (r5030,) = reg.lookup(5030, "tcp")
    assert cols(r5030) == (
        "",
        "5030",
        "tcp",
        "Reserved",
        "Historic usage was surfpass. De-Assigned on 2022-01-10",
    )
    assert r5030.status == "reserved" and r5030.deassigned
    assert r5030.deassigned_date == "2022-01-10"

    (gap,) = reg.lookup(6303, "dccp")
    assert cols(gap) == ("", "6302-6305", "", "Unassigned", "")
    assert gap.status == "unassigned"
    (swx,) = reg.lookup(7331, "sctp")
    assert cols(swx)[:4] == ("swx", "7300-7359", "", "The Swiss Exchange")
    assert [r.service for r in reg.lookup(6301, "udp")] == ["bmc-ctd-ldap", "bmc_ctd_ldap"]
    assert reg.primary(6301, "udp").service == "bmc-ctd-ldap"
    assert reg.lookup(6301, "udp")[1].historic
    assert reg.lookup(6301, "tcp")[0].description == (
        "BMC CONTROL-D LDAP SERVER IANA assigned this well-formed service name as a "
        'replacement for "bmc_ctd_ldap".'
    )
    assert reg.lookup(5230, "udp")[0].status == "reserved"


def test_seed_001_plain_service_name_only_records(shared):
    reg = seed(shared, "001")
    assert all(r.port_lo is None for r in reg)
    assert (reg.table == -1).all()  # name-only records never match a port
    assert cols(reg.records[0]) == ("smi", "", "", "Structure of Management Information", "")
    assert cols(reg.lookup_name("tcp")[0]) == ("tcp", "", "", "Transmission Control Protocol", "")
    aco = reg.lookup_name("tcp-aco")[0]  # "TCP" is not a transport token
    assert cols(aco) == ("tcp-aco", "", "", "TCP Alternate Checksum Option", "")
    sonar = [r.transport for r in reg.lookup_name("7ksonar")]
    assert sonar == ["tcp", "udp"]
    assert cols(reg.lookup_name("7ksonar")[0])[3:] == (
        "Teledyne Marine 7k Sonar Protocol",
        "Defined TXT keys: None",
    )
    assert cols(reg.lookup_name("accountedge")[0])[3:] == (
        "MYOB AccountEdge",
        "Defined TXT keys: None",
    )
    last = reg.records[-1]
    assert cols(last) == ("autosendimages", "", "tcp", "automatic sending Image data protocol", "")
    assert (last.assignee, last.contact) == ("[Canon_Inc_2]", "[Kazuo_Moritomo]")
    assert reg.people["Sven_Slezak"].uri == "mailto:sunny&"


def test_seed_002_plain_text_with_continuation_lines(shared):
    reg = seed(shared, "002")
    assert reg.meta.updated == "2025-08-26"
    elmd = reg.lookup(1454, "udp")
    assert [r.service for r in elmd] == ["interhdl-elmd", "interhdl_elmd"]
    assert elmd[0].description == (
        "interHDL License Manager IANA assigned this well-formed service name as a "
        'replacement for "interhdl_elmd".'
    )
    assert elmd[0].assignee == "[Eli_Sternheim]" and elmd[0].notes == ""
    assert elmd[1].historic and elmd[1].notes.startswith(
        'This entry is an alias to "interhdl-elmd"'
    )
    assert [r.port for r in reg.lookup_name("csdmbase")] == ["1467", "1467", "1471", "1471"]
    assert cols(reg.records[0]) == ("tabula", "1437", "udp", "Tabula", "")
    assert reg.people["Bruce_Wilson"].uri == "tel:+1-905-771-6161"
    assert reg.people["Karen_Burns"].name == "Karen Burns"


def test_seed_003_pipes_without_leading_pipe(shared):
    reg = seed(shared, "003")
    assert reg.meta.updated == "2024-11-19"
    assert [r.service for r in reg.lookup(44322, "tcp")] == ["pmcdproxy"]
    (withdrawn,) = reg.lookup(44323, "udp")
    assert cols(withdrawn) == (
        "",
        "44323",
        "udp",
        "Unassigned",
        '"pcp" assignment withdrawn, moved to port 5351 per RFC6887',
    )
    assert withdrawn.deassigned
    assert reg.people["IETF_Chair"].org == "IETF"
    assert reg.people["Ken_McDonell"].updated == "2010-12-20"


def test_seed_004_deregistered_port_and_references(shared):
    reg = seed(shared, "004")
    (r585,) = reg.lookup(585, "tcp")
    assert cols(r585) == (
        "",
        "585",
        "",
        "De-registered",
        "Use of 585 is not recommended, use 993 instead",
    )
    assert r585.deassigned and r585.discouraged
    iris = reg.lookup_name("iris-lwz")[0]
    assert (iris.assignee, iris.reference) == ("", "[RFC4993]")
    assert reg.primary(993, "tcp").service == "imaps"
    assert reg.lookup(993, "udp")[0].status == "reserved"
    assert reg.people["Jim_Davis_2"].org == "WS, Inc"
