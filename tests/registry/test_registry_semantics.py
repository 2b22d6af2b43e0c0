"""Lookup semantics of the registry model, on a small registry written for these tests.

The same rules are pinned on the real registry in test_registry_full_xml.py;
these run without ../shared.
"""

from __future__ import annotations

import numpy as np
import pytest

from annotator.registry import TRANSPORTS, Record, Registry, load_registry, port_class
from annotator.registry.export import CSV_HEADER

ROWS = [
    "http,80,tcp,World Wide Web HTTP,[IESG],[IETF_Chair],,2021-10-01,[RFC9110],,,",
    (
        'www,80,tcp,World Wide Web HTTP,,,,,,,,"This is a duplicate of the '
        '""http"" service and should not be used for discovery purposes."'
    ),
    (
        "x11,6000-6063,tcp,X Window "
        "System,[Stuart_Anderson],[Stuart_Anderson],,,,,Known Unauthorized Use "
        "on port 6003,"
    ),
    (
        "x11,6000-6063,udp,X Window "
        "System,[Stuart_Anderson],[Stuart_Anderson],,,,,Known Unauthorized Use "
        "on port 6003,"
    ),
    ("fancy-x,6010,tcp,An exact record inside the x11 range,[Someone],[Someone],2020-01-01,,,,,"),
    (
        ",5030,tcp,Reserved,,,2006-12,2022-01-10,,,,Historic usage was surfpass. "
        "De-Assigned on 2022-01-10"
    ),
    "bmc-ctd-ldap,6301,tcp,BMC CONTROL-D LDAP SERVER,[P_B],[P_B],2006-09,,,,,",
    (
        "bmc_ctd_ldap,6301,tcp,BMC CONTROL-D LDAP "
        'SERVER,[P_B],[P_B],2006-09,,,,,"This entry is an alias to '
        '""bmc-ctd-ldap"". This entry is now historic, not usable for use with '
        'many common service discovery mechanisms."'
    ),
    ",6302-6305,,Unassigned,,,,,,,,",
    "csdmbase,1467,tcp,CSDMBASE,,,,,,,,",
    "csdmbase,1471,tcp,csdmbase,,,,,,,,",
    "msp,18,tcp,Message Send Protocol (historic),,,,,,,,",
    (
        "bhoetty,351,tcp,bhoetty,,,,,,,,This entry records an unassigned but "
        "widespread use (added 5/21/97)"
    ),
    ',585,,De-registered,,,,2006-04-25,,,,"Use of 585 is not recommended, use 993 instead"',
    ",4501,,Unassigned,,,,,,,,De-registered 08 June 2001",
    (
        "origo-native,3001,tcp,OrigoDB Server Native "
        'Interface,,,,2013-03-29,,,,"port 3001 previously ""Removed on '
        '2006-05-25"""'
    ),
    "airplay,,tcp,Protocol for streaming of audio/video content,,,,,,,,Defined TXT keys: am",
    "smtp,25,,Simple Mail Transfer,,,,,,,,",
]
CSV = "\n".join([",".join(CSV_HEADER), *ROWS]) + "\n"


@pytest.fixture(scope="module")
def reg() -> Registry:
    return load_registry(CSV.encode())


def names(records: list[Record]) -> list[str]:
    return [r.service for r in records]


def test_range_covers_every_port_of_it(reg):
    for port in (6000, 6001, 6031, 6063):
        assert names(reg.lookup(port, "tcp")) == ["x11"]
    assert reg.lookup(6064, "tcp") == []
    x11 = reg.lookup(6000, "tcp")[0]
    assert x11.is_range and x11.covers(6063) and not x11.covers(6064)
    assert [r.port for r in reg.lookup(6304, "sctp")] == ["6302-6305"]


def test_exact_record_beats_the_range_over_it(reg):
    assert names(reg.lookup(6010, "tcp")) == ["fancy-x"]
    assert names(reg.lookup(6010, "udp")) == ["x11"]  # the exact record is tcp only


def test_several_records_at_one_port_keep_registry_order_and_know_the_current_name(reg):
    at = reg.lookup(6301, "tcp")
    assert names(at) == ["bmc-ctd-ldap", "bmc_ctd_ldap"]
    assert at[1].historic and not at[0].historic
    assert reg.primary(6301, "tcp").service == "bmc-ctd-ldap"
    slot = reg.slots.loc[reg.slot_ids(np.array([6301]), np.array([0]))[0]]
    assert slot["service"] == "bmc-ctd-ldap"
    assert slot["services"] == ("bmc-ctd-ldap", "bmc_ctd_ldap")


def test_a_duplicate_name_that_should_not_be_used_is_kept_but_not_primary(reg):
    at = reg.lookup(80, "tcp")
    assert names(at) == ["http", "www"]
    assert at[1].discouraged and not at[0].discouraged
    assert reg.primary(80, "tcp").service == "http"


def test_one_name_at_two_ports(reg):
    assert [r.port for r in reg.lookup_name("CSDMBASE")] == ["1467", "1471"]


def test_blank_transport_applies_to_every_transport(reg):
    for transport in TRANSPORTS:
        assert names(reg.lookup(25, transport)) == ["smtp"]
    assert reg.lookup(25) == reg.lookup(25, "dccp")


def test_service_name_only_records_never_match_a_port(reg):
    (airplay,) = reg.lookup_name("airplay")
    assert airplay.port_lo is None and airplay.transport == "tcp"
    assert all("airplay" not in names(reg.lookup(p)) for p in (0, 80, 65535))


def test_reserved_and_deassigned_port_with_its_date(reg):
    (rec,) = reg.lookup(5030, "tcp")
    assert rec.status == "reserved"
    assert rec.deassigned and rec.deassigned_date == "2022-01-10"
    assert rec.historic  # "Historic usage was surfpass"
    assert reg.primary(5030, "tcp") is None
    slot = reg.slots.loc[reg.slot_ids(np.array([5030]), np.array([0]))[0]]
    assert slot["historic_only"] and slot["deassigned"] and slot["service"] is None


def test_status_markers_from_the_registry_wording(reg):
    (msp,) = reg.lookup(18, "tcp")
    assert msp.historic and not msp.current
    (bhoetty,) = reg.lookup(351, "tcp")
    assert bhoetty.widely_used
    (r585,) = reg.lookup(585, "udp")
    assert r585.status == "reserved" and r585.deassigned and r585.discouraged
    (r4501,) = reg.lookup(4501, "tcp")
    assert r4501.status == "unassigned" and r4501.deassigned_date == "2001-06-08"
    (origo,) = reg.lookup(3001, "tcp")
    assert origo.current and not origo.deassigned  # removed in the past, assigned again


def test_port_class_follows_rfc_6335():
    ports = np.array([0, 1023, 1024, 49151, 49152, 65535])
    assert port_class(ports).tolist() == ["system", "system", "user", "user", "dynamic", "dynamic"]


def test_vectorized_lookup_agrees_with_record_lookup(reg):
    rng = np.random.default_rng(7)
    ports = np.concatenate([rng.integers(0, 65536, 300), [18, 25, 80, 5030, 6010, 6301, 6303]])
    codes = rng.integers(0, 4, len(ports))
    slots = reg.slot_ids(ports, codes)
    current = reg.assigned_mask(ports, codes)
    for port, code, slot, cur in zip(ports, codes, slots, current, strict=True):
        records = reg.lookup(int(port), TRANSPORTS[code])
        primary = reg.primary(int(port), TRANSPORTS[code])
        assert (slot == -1) == (not records)
        assert bool(cur) == (primary is not None)
        if records:
            assert reg.slots.loc[slot, "service"] == (primary.service if primary else None)


def test_slot_ids_out_of_range_give_minus_one(reg):
    got = reg.slot_ids(np.array([80, 80, 70000, -1]), np.array([0, 9, 0, 0]))
    assert got[0] >= 0 and got[1:].tolist() == [-1, -1, -1]
    assert reg.assigned_mask(np.array([80, 80]), np.array([0, -1])).tolist() == [True, False]
    assert reg.slot_ids(np.array([80], dtype=np.uint16), np.array([0], dtype=np.int8))[0] >= 0


def test_a_registry_survives_pickling_for_worker_processes(reg):
    import pickle

    reg.slots  # noqa: B018 - pickle the built tables too
    again = pickle.loads(pickle.dumps(reg))
    assert again.records == reg.records
    assert again.primary(6301, "tcp").service == "bmc-ctd-ldap"
    assert (again.table == reg.table).all()
