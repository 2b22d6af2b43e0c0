"""Pasted-text renderings, on small pastes written for these tests (no ../shared needed).

test_registry_seeds.py pins the same rules on the five real pastes.
"""

from __future__ import annotations

import pytest

from annotator.errors import RegistryError
from annotator.registry import load_registry

NAMES = (
    "Service Name | Port Number | Transport Protocol | Description | Assignee | Contact | "
    "Registration Date | Modification Date | Reference | Service Code | "
    "Unauthorized Use Reported | Assignment Notes"
)

PIPE = f"""Service Name and Transport Protocol Port Number Registry
- Last Updated
- 2026-01-02
- Note
- Assigning a port endorses nothing about the traffic on it.
- Available Formats
| {NAMES} |
|---|---|---|---|---|---|---|---|---|---|---|---|
| finger | 79 | tcp | Finger | [D_Z] | [D_Z] | Unauthorized use by some mail users | |||
| 5030 | tcp | Reserved | 2006-12 | 2022-01-10 | Historic usage was surfpass. \
De-Assigned on 2022-01-10 | ||||||
| 6302-6305 | Unassigned | ||||||||||
| swx | 7300-7359 | The Swiss Exchange | [E_B] | [E_B] | |||||||
| acmaint_dbd | 774 | udp | [A_B] | [A_B] | This entry is an alias to "acmaint-dbd". \
This entry is now historic. |
| discard | 9 | dccp | Discard | [E_K] | [E_K] | [RFC4340] | 1145656131 |
| big | 70000 | tcp | Not a port | |
Contact Information
| ID | Name | Organization | Contact URI | Last Updated |
|---|---|---|---|---|
| [D_Z] | David Z | mailto:dz&example.org | 2001-01 | |
| [E_K] | Eddie K | Some Lab | mailto:ek&example.org | |
"""

PLAIN = """Service Name and Transport Protocol Port Number Registry
Last Updated
2026-01-02
Service Name Port Number Transport Protocol Description Assignee Contact Registration Date \
Modification Date Reference Service Code Unauthorized Use Reported Assignment Notes
msl-lmd 1464 tcp MSL License Manager

IANA assigned this well-formed service name as a replacement for "msl_lmd".
[M_T] [M_T]
msl_lmd 1464 tcp MSL License Manager [M_T] [M_T] This entry is an alias to "msl-lmd". \
This entry is now historic, not usable for use with many common service discovery mechanisms.
6302-6305 Unassigned
44323 udp Unassigned "pcp" assignment withdrawn, moved to port 5351 per RFC6887

Contact Information

ID Name Contact URI Last Updated
[M_T] Matt T mailto:mt&example.org 2010-12-20
"""

NAME_ONLY = """Service Name Port Number Transport Protocol Description Assignee Contact \
Registration Date Modification Date Reference Service Code Unauthorized Use Reported \
Assignment Notes
tcp Transmission Control Protocol
tcp-aco TCP Alternate Checksum Option
airplay tcp Protocol for streaming of audio/video content [Apple] [B_B] 2012-09-19 \
Defined TXT keys: am, cn
accountedge MYOB AccountEdge Defined TXT keys: None
"""


def cols(rec) -> tuple:
    return (rec.service, rec.port, rec.transport, rec.description, rec.notes)


def test_pipe_table_cells_are_placed_by_kind():
    reg = load_registry(PIPE.encode())
    assert reg.meta.format == "text" and reg.meta.updated == "2026-01-02"
    assert reg.meta.note == "Assigning a port endorses nothing about the traffic on it."
    assert [r.service or r.port for r in reg] == [
        "finger",
        "5030",
        "6302-6305",
        "swx",
        "acmaint_dbd",
        "discard",
    ]
    finger, r5030, gap, swx, alias, discard = reg.records
    assert finger.unauthorized_use == "Unauthorized use by some mail users"
    assert cols(r5030)[:4] == ("", "5030", "tcp", "Reserved") and r5030.deassigned
    assert (r5030.registration_date, r5030.modification_date) == ("2006-12", "2022-01-10")
    assert cols(gap) == ("", "6302-6305", "", "Unassigned", "")
    assert cols(swx)[:4] == ("swx", "7300-7359", "", "The Swiss Exchange")
    assert alias.description == "" and alias.historic  # the notes cell is not a description
    assert (discard.reference, discard.service_code) == ("[RFC4340]", "1145656131")
    assert reg.meta.skipped_rows == 1 and "70000" in reg.meta.skipped_reasons[0]
    assert reg.people["D_Z"].updated == "2001-01"
    assert (reg.people["E_K"].name, reg.people["E_K"].org) == ("Eddie K", "Some Lab")


def test_pipe_table_without_leading_pipes_and_tab_separated_tables():
    bare = "\n".join(line.lstrip("| ") for line in PIPE.splitlines())
    tabbed = "\n".join(
        "\t".join(c.strip() for c in line.strip().strip("|").split("|")) if "|" in line else line
        for line in PIPE.splitlines()
    )
    expected = [cols(r) for r in load_registry(PIPE.encode())]
    assert [cols(r) for r in load_registry(bare.encode())] == expected
    assert [cols(r) for r in load_registry(tabbed.encode())] == expected


def test_plain_text_joins_continuation_lines_into_their_record():
    reg = load_registry(PLAIN.encode())
    assert [cols(r)[:3] for r in reg] == [
        ("msl-lmd", "1464", "tcp"),
        ("msl_lmd", "1464", "tcp"),
        ("", "6302-6305", ""),
        ("", "44323", "udp"),
    ]
    first = reg.records[0]
    assert first.description == (
        "MSL License Manager IANA assigned this well-formed service name as a "
        'replacement for "msl_lmd".'
    )
    assert (first.assignee, first.contact) == ("[M_T]", "[M_T]")
    assert reg.primary(1464, "tcp").service == "msl-lmd" and reg.records[1].historic
    assert (
        reg.records[3].notes.startswith('"pcp" assignment withdrawn') and reg.records[3].deassigned
    )
    assert reg.people["M_T"].uri == "mailto:mt&example.org"


def test_plain_service_name_only_lines():
    reg = load_registry(NAME_ONLY.encode())
    assert [cols(r) for r in reg] == [
        ("tcp", "", "", "Transmission Control Protocol", ""),
        ("tcp-aco", "", "", "TCP Alternate Checksum Option", ""),
        (
            "airplay",
            "",
            "tcp",
            "Protocol for streaming of audio/video content",
            "Defined TXT keys: am, cn",
        ),
        ("accountedge", "", "", "MYOB AccountEdge", "Defined TXT keys: None"),
    ]
    airplay = reg.records[2]
    assert (airplay.assignee, airplay.contact) == ("[Apple]", "[B_B]")
    assert airplay.registration_date == ""  # a lone date could be either: not guessed


def test_a_header_without_records_is_not_a_registry():
    with pytest.raises(RegistryError, match="no records"):
        load_registry(f"| {NAMES} |\n|---|---|\n".encode())


def test_the_table_form_is_read_from_the_rows_not_the_header_alone():
    header, *rows = NAME_ONLY.splitlines()
    tab_header = "\t".join(header.split("  "))  # a header copied with tabs, rows with spaces
    plain = load_registry("\n".join([tab_header.replace(" Port", "\tPort"), *rows]).encode())
    assert [r.service for r in plain] == ["tcp", "tcp-aco", "airplay", "accountedge"]
    tabbed_rows = ["\t".join(["http", "80", "tcp", "World Wide Web HTTP", "[A]", "[A]"])]
    tabbed = load_registry("\n".join([header, *tabbed_rows]).encode())
    assert [(r.service, r.port, r.description) for r in tabbed] == [
        ("http", "80", "World Wide Web HTTP")
    ]


def test_tab_separated_rows_with_every_cell_are_read_by_position():
    header = NAMES.replace(" | ", "\t")
    row = ["lone", "4000", "udp", "One date", "", "[C]", "", "2020-05-06", "", "", "", "n"]
    (rec,) = load_registry(f"{header}\n{chr(9).join(row)}\n".encode()).records
    assert (rec.assignee, rec.contact) == ("", "[C]")
    assert (rec.registration_date, rec.modification_date) == ("", "2020-05-06")
    assert (rec.description, rec.notes) == ("One date", "n")


def test_plain_text_keeps_unauthorized_use_however_iana_words_it():
    # IANA's texts start "Known UNAUTHORIZED USEs", "Known Unauthorized Use",
    # "Unauthorized Use Known" or "Unofficial use": all are the column the
    # unauthorized-use-reported flag reads, never the assignment notes.
    text = (
        "Service Name  Port Number  Transport Protocol  Description  Assignee  Contact  "
        "Registration Date  Modification Date  Reference  Service Code  "
        "Unauthorized Use Reported  Assignment Notes\n"
        "personal-agent 5555 tcp Personal Agent [Jackie_Wu] [Jackie_Wu] "
        "Known UNAUTHORIZED USEs on port 5555\n"
        "x11 6000-6063 tcp X Window System [Stephen_Gildea] [Stephen_Gildea] "
        "Known Unauthorized Use on port 6000-6063\n"
        "finger 79 tcp Finger [Unknown] Unauthorized Use Known on port 79\n"
        "http 80 tcp World Wide Web HTTP [Tim_Berners_Lee] [Tim_Berners_Lee] "
        "Defined TXT keys: u=<username>\n"
    )
    registry = load_registry(text.encode())
    by_service = {r.service: r for r in registry.records}
    assert by_service["personal-agent"].unauthorized_use == "Known UNAUTHORIZED USEs on port 5555"
    assert by_service["x11"].unauthorized_use.startswith("Known Unauthorized Use")
    assert by_service["finger"].unauthorized_use.startswith("Unauthorized Use Known")
    assert by_service["http"].unauthorized_use == ""
    assert by_service["http"].notes == "Defined TXT keys: u=<username>"
    assert not any(r.notes for r in registry.records if r.service != "http")
