"""JSON and JSONL: every field present, typed as docs/output.md says, and documented."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from annotator.report import flow_records, to_json_document, write_report
from annotator.report.json import write_json, write_jsonl

DOCS = Path(__file__).resolve().parents[2] / "docs" / "output.md"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

#: The fields the annotate issue requires in every JSONL object.
REQUIRED_FLOW_FIELDS = [
    "transport",
    "client_ip",
    "client_port",
    "server_ip",
    "server_port",
    "vlan_id",
    "first_seen",
    "last_seen",
    "duration_s",
    "packets",
    "bytes",
    "packets_c2s",
    "packets_s2c",
    "bytes_c2s",
    "bytes_s2c",
    "tcp_flags",
    "direction_basis",
    "port_class",
    "service",
    "services",
    "description",
    "registry_status",
    "registry_notes",
    "unauthorized_use",
    "observed_protocol",
    "server_name",
    "evidence",
    "label_basis",
    "flags",
    "severity",
    "community_id",
    "first_frame",
    "wireshark_filter",
    "capture",
]


def documented(section: str) -> dict[str, str]:
    """Field -> type from the table between <!-- section --> markers in docs/output.md."""
    text = DOCS.read_text(encoding="utf-8")
    body = text.split(f"<!-- {section} -->", 1)[1].split(f"<!-- /{section} -->", 1)[0]
    rows = re.findall(r"^\| `([a-z0-9_]+)` \| ([^|]+) \|", body, flags=re.MULTILINE)
    return {name: kind.strip() for name, kind in rows}


def conforms(value: Any, kind: str) -> bool:
    """Does a JSON value have the documented type?"""
    if kind.endswith(" or null") and value is None:
        return True
    base = kind.removesuffix(" or null")
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array of strings": lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v),
        "array of integers": lambda v: (
            isinstance(v, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in v)
        ),
        "timestamp": lambda v: isinstance(v, str) and bool(ISO.match(v)),
        "object": lambda v: isinstance(v, dict),
        "array of objects": lambda v: isinstance(v, list) and all(isinstance(o, dict) for o in v),
        "object or array of objects": lambda v: isinstance(v, dict | list),
    }
    return checks[base](value)


def check_records(records: list[dict[str, Any]], section: str) -> None:
    spec = documented(section)
    assert spec, f"no field table for {section} in docs/output.md"
    for record in records:
        undocumented = set(record) - set(spec)
        assert not undocumented, f"fields missing from docs/output.md: {undocumented}"
        absent = set(spec) - set(record)
        assert not absent, f"docs/output.md promises fields the {section} lack: {absent}"
        for name, value in record.items():
            assert conforms(value, spec[name]), f"{section}.{name}={value!r} is not {spec[name]}"


def check_document(document: dict[str, Any]) -> None:
    """The whole JSON document against docs/output.md."""
    check_records([document], "document-fields")
    assert set(documented("document-fields")) == set(document)
    captures = document["capture"]
    check_records(captures if isinstance(captures, list) else [captures], "capture-fields")
    check_records([document["registry"]], "registry-fields")
    check_records([document["accounting"]], "accounting-fields")
    check_records(document["findings"], "finding-fields")
    check_records(document["other_traffic"], "other-fields")
    check_records(document["flows"], "flow-fields")
    for flow in document["flows"]:
        assert set(REQUIRED_FLOW_FIELDS) <= set(flow)


def test_docs_name_every_required_flow_field() -> None:
    assert set(REQUIRED_FLOW_FIELDS) <= set(documented("flow-fields"))


def test_jsonl_lines_match_the_docs(crafted) -> None:
    out = io.StringIO()
    write_jsonl(crafted, out)
    lines = out.getvalue().splitlines()
    assert len(lines) == len(crafted.flows)
    records = [json.loads(line) for line in lines]
    check_records(records, "flow-fields")
    first = records[0]
    assert first["first_seen"] == "2024-01-02T03:04:05.123456Z"
    assert first["vlan_id"] is None and records[1]["vlan_id"] == 20
    assert first["services"] == ["https"] and records[2]["services"] == []
    assert records[1]["flags"] == ["protocol-mismatch"] and records[1]["severity"] == "high"
    assert first["severity"] is None


def test_json_document_matches_the_docs(crafted) -> None:
    out = io.StringIO()
    write_json(crafted, out)
    document = json.loads(out.getvalue())
    check_document(document)
    assert document["flows"] == list(flow_records(crafted))
    assert document["findings"][0]["severity"] == "high"
    assert document["capture"]["sha256"] == "ab" * 32
    assert document["accounting"]["undecodable"] == {"truncated IPv4 header": 1}
    assert document["iana_note"].startswith("ASSIGNMENT OF A PORT NUMBER")
    assert document["partial"] == [
        {"capture": crafted.captures[0].name, "offset": 9000, "reason": "truncated record"}
    ]


def test_json_is_machine_exact_even_with_defang(crafted, tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    write_report(crafted, target, defang=True)
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["flows"][0]["server_ip"] == "93.184.216.34"
    assert document["flows"][0]["server_name"] == "<script>alert(1)</script>"


def test_to_json_document_is_plain_json(any_result) -> None:
    document = to_json_document(any_result)
    text = json.dumps(document, allow_nan=False)  # no numpy scalars, no NaN
    assert json.loads(text)["tool"] == "annotator"


def test_several_captures_give_a_list(crafted) -> None:
    from dataclasses import replace

    second = replace(crafted.captures[0], name="second.pcap")
    crafted.captures.append(second)
    document = to_json_document(crafted)
    assert [c["name"] for c in document["capture"]][1] == "second.pcap"
    check_document(document)


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_empty_result_writes_valid_json(crafted, fmt: str) -> None:
    crafted.flows = crafted.flows.iloc[0:0]
    crafted.findings = crafted.findings.iloc[0:0]
    out = io.StringIO()
    (write_json if fmt == "json" else write_jsonl)(crafted, out)
    if fmt == "json":
        assert json.loads(out.getvalue())["flows"] == []
    else:
        assert out.getvalue() == ""


def test_sample_json_and_jsonl_match_the_docs(mixed) -> None:
    out = io.StringIO()
    write_json(mixed, out)
    document = json.loads(out.getvalue())
    check_document(document)
    assert len(document["flows"]) == len(mixed.flows) == document["accounting"]["flows"]
    lines = io.StringIO()
    write_jsonl(mixed, lines)
    records = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert records == document["flows"]
    check_records(records, "flow-fields")
    by_port = {(r["server_port"], r["transport"]): r for r in records}
    ssh_on_443 = [r for r in records if r["observed_protocol"] == "ssh"]
    assert ssh_on_443 and ssh_on_443[0]["evidence"] == "contradicts"
    assert ssh_on_443[0]["flags"] == ["protocol-mismatch"] and ssh_on_443[0]["severity"] == "high"
    assert by_port[(23, "tcp")]["cleartext_credentials"] is True
    acc = document["accounting"]
    assert acc["packets_total"] == (
        acc["packets_in_flows"] + acc["packets_other"] + acc["packets_undecodable"]
    )


def test_json_writes_null_for_nan_and_plain_values_for_numpy_scalars(crafted) -> None:
    """Whatever the frame holds (float NaN, numpy scalars, pandas NA, timestamps
    in an object column), the text is valid JSON without a NaN token."""
    flows = crafted.flows.copy()
    flows["duration_s"] = flows["duration_s"].astype(float)
    flows.loc[flows.index[0], "duration_s"] = float("nan")
    flows["extra"] = pd.Series(
        [np.int64(7), np.bool_(True), pd.NA, pd.Timestamp("2024-01-02 03:04:05.5", tz="UTC")]
        + [np.float64("nan")] * (len(flows) - 4),
        index=flows.index,
        dtype=object,
    )
    crafted.flows = flows
    out = io.StringIO()
    write_json(crafted, out)
    text = out.getvalue()
    assert "NaN" not in text
    records = json.loads(text)["flows"]
    assert records[0]["duration_s"] is None
    assert [r["extra"] for r in records[:4]] == [7, True, None, "2024-01-02T03:04:05.500000Z"]
    assert all(r["extra"] is None for r in records[4:])
    lines = io.StringIO()
    write_jsonl(crafted, lines)
    assert [json.loads(line) for line in lines.getvalue().splitlines()] == records


def test_json_says_which_registry_columns_are_stale(mixed) -> None:
    # The bundled snapshot carries unauthorized-use texts as of an older
    # registry: a SIEM reading the JSON must learn that as a reader of the
    # HTML does, not take their absence on newer ports for "none reported".
    out = io.StringIO()
    write_json(mixed, out)
    registry = json.loads(out.getvalue())["registry"]
    assert "unauthorized_use" in registry["columns_stale"]
    assert "unauthorized_use" not in registry["columns_available"]
    assert registry["coverage_notice"].startswith("This registry's")
    assert registry["downloaded"] is None
