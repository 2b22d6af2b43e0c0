"""What samples/README.md promises annotator reports about the samples, pinned.

Every row of the README's flow table, its findings, other traffic and accounting
are checked through the public API (``annotator.annotate``) and the ``annotate``
command, with the default registry, exactly as a user would meet them.  If a row
here changes, the README changes with it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

import annotator

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
MIXED = SAMPLES / "mixed.pcap"
FAKE_PASSWORD = "fake-Pa55w0rd-EXAMPLE"  # the telnet password in make_samples.py

# transport, client, client port, server, server port -> service, observed protocol,
# server name, evidence, label basis, flags, severity: the README's flow table.
EXPECTED = [
    ("udp", "10.20.30.41", 50123, "203.0.113.123", 123,
     "ntp", "ntp", None, "consistent", "confirmed-by-traffic", [], None),
    ("udp", "10.20.30.41", 53211, "10.20.30.53", 53,
     "domain", "dns", None, "consistent", "confirmed-by-traffic", [], None),
    ("tcp", "10.20.30.41", 51544, "198.51.100.20", 443,
     "https", "tls", "docs.example.org", "consistent", "confirmed-by-traffic", [], None),
    ("udp", "10.20.30.42", 61002, "10.20.30.53", 53,
     "domain", "dns", None, "consistent", "confirmed-by-traffic", [], None),
    ("tcp", "10.20.30.42", 58312, "198.51.100.25", 443,
     "https", "tls", "mail.example.net", "consistent", "confirmed-by-traffic", [], None),
    ("udp", "2001:db8:20:30::41", 55102, "2001:db8:20:30::53", 53,
     "domain", "dns", None, "consistent", "confirmed-by-traffic", [], None),
    ("tcp", "2001:db8:20:30::41", 52890, "2001:db8:100::10", 443,
     "https", "tls", "www.example.com", "consistent", "confirmed-by-traffic", [], None),
    ("udp", "10.20.30.41", 64890, "10.20.30.53", 53,
     "domain", "dns", None, "consistent", "confirmed-by-traffic", [], None),
    ("udp", "10.20.30.41", 60311, "198.51.100.30", 443,
     "https", "quic", "cdn.example.net", "consistent", "confirmed-by-traffic", [], None),
    ("udp", "10.20.30.42", 57005, "10.20.30.53", 53,
     "domain", "dns", None, "consistent", "confirmed-by-traffic", [], None),
    ("tcp", "10.20.30.57", 50522, "203.0.113.44", 443,
     "https", "ssh", None, "contradicts", "registration-only", ["protocol-mismatch"], "high"),
    ("tcp", "10.20.30.42", 59876, "10.20.30.80", 8180,
     None, "http", "wiki.corp.example.com", "none", None,
     ["known-protocol-unregistered-port", "unassigned-port"], "medium"),
    ("tcp", "10.20.30.42", 60222, "10.20.30.155", 5555,
     "personal-agent", None, None, "none", "registration-only",
     ["unauthorized-use-reported", "port-only-label"], "medium"),
    ("tcp", "10.20.30.43", 61512, "10.20.30.10", 49668,
     None, None, None, "none", None, ["dynamic-port-server"], "info"),
    ("sctp", "10.20.30.70", 50905, "10.20.40.5", 2905,
     "m3ua", None, None, "none", "registration-only", ["port-only-label"], "info"),
    ("dccp", "10.20.30.43", 52004, "198.51.100.77", 5004,
     "avt-profile-1", None, None, "none", "registration-only", ["port-only-label"], "info"),
    ("tcp", "10.99.0.60", 53023, "10.99.0.2", 23,
     "telnet", "telnet", None, "consistent", "confirmed-by-traffic",
     ["cleartext-authentication"], "medium"),
]  # fmt: skip
KEY = ["transport", "client_ip", "client_port", "server_ip", "server_port"]
CHECKED = ["service", "observed_protocol", "server_name", "evidence", "label_basis"]


def _plain(value: object) -> object:
    """A DataFrame cell as a plain Python value (NA -> None, numpy -> int/str)."""
    if isinstance(value, list | tuple):
        return list(value)
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _rows(result: annotator.AnnotateResult) -> dict[tuple, dict[str, object]]:
    """Flows by their five-tuple key, cells as plain values."""
    out = {}
    for record in result.flows.to_dict("records"):
        row = {name: _plain(value) for name, value in record.items()}
        key = tuple(str(row[k]) if k.endswith("ip") or k == "transport" else row[k] for k in KEY)
        assert key not in out, f"two flows share the key {key}"
        out[key] = row
    return out


def _annotate_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``annotate`` command of this environment."""
    script = Path(sys.executable).with_name("annotate")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "annotator.cli"]
    return subprocess.run(
        [*cmd, *args], capture_output=True, text=True, timeout=120, check=False, cwd=ROOT
    )


@pytest.fixture(scope="module")
def mixed() -> annotator.AnnotateResult:
    return annotator.annotate(str(MIXED))


def test_every_flow_of_the_readme_table(mixed: annotator.AnnotateResult) -> None:
    rows = _rows(mixed)
    assert len(rows) == len(EXPECTED) == 17
    for expected in EXPECTED:
        key, want = expected[:5], expected[5:]
        assert key in rows, f"missing flow {key}"
        row = rows[key]
        got = [row[name] for name in CHECKED]
        assert got == list(want[:5]), f"flow {key}"
        assert sorted(row["flags"]) == sorted(want[5]), f"flags of flow {key}"
        assert row["severity"] == want[6], f"severity of flow {key}"


def test_direction_comes_from_the_handshake_or_the_registered_port(
    mixed: annotator.AnnotateResult,
) -> None:
    basis = dict(
        zip(mixed.flows["transport"].astype(str), mixed.flows["direction_basis"], strict=True)
    )
    by_transport = mixed.flows.groupby(mixed.flows["transport"].astype(str), observed=True)
    for transport, group in by_transport:
        expected = "registry" if transport == "udp" else "handshake"
        assert set(group["direction_basis"].astype(str)) == {expected}, transport
    assert basis  # every transport of the scenario is present
    assert set(by_transport.groups) == {"tcp", "udp", "sctp", "dccp"}


def test_vlan_and_fragments_and_ipv6(mixed: annotator.AnnotateResult) -> None:
    rows = _rows(mixed)
    telnet = rows[("tcp", "10.99.0.60", 53023, "10.99.0.2", 23)]
    assert telnet["vlan_id"] == 99
    assert [r["vlan_id"] for r in rows.values()].count(None) == 16
    # The fragmented answer: the query plus both fragments land in one flow.
    assert rows[("udp", "10.20.30.42", 57005, "10.20.30.53", 53)]["packets"] == 3
    assert sum(1 for r in rows.values() if ":" in r["client_ip"]) == 2


def test_findings_by_severity(mixed: annotator.AnnotateResult) -> None:
    findings = mixed.findings
    assert Counter(findings["severity"].astype(str)) == {
        "high": 1,
        "medium": 3,
        "low": 1,
        "info": 4,
    }
    pairs = {
        (str(f), int(p)) for f, p in zip(findings["flag"], findings["server_port"], strict=True)
    }
    assert pairs == {
        ("protocol-mismatch", 443),
        ("known-protocol-unregistered-port", 8180),
        ("unauthorized-use-reported", 5555),
        ("cleartext-authentication", 23),
        ("unassigned-port", 8180),
        ("dynamic-port-server", 49668),
        ("port-only-label", 5555),
        ("port-only-label", 2905),
        ("port-only-label", 5004),
    }


def test_other_traffic_and_accounting(mixed: annotator.AnnotateResult) -> None:
    other = dict(zip(mixed.other["protocol"].astype(str), mixed.other["packets"], strict=True))
    assert other == {"ARP": 2, "ICMP": 4}
    acc = mixed.accounting
    assert (acc["packets_total"], acc["packets_in_flows"]) == (173, 167)
    assert (acc["packets_other"], acc["packets_undecodable"]) == (6, 0)
    assert mixed.partial == [] and mixed.exit_status == 0


@pytest.mark.parametrize("name", ["mixed.pcapng", "mixed.pcap.gz"])
def test_pcapng_and_gzip_give_the_same_result(mixed: annotator.AnnotateResult, name: str) -> None:
    other = annotator.annotate(str(SAMPLES / name))
    columns = [*KEY, *CHECKED, "packets", "bytes", "first_seen", "last_seen", "severity"]

    def table(result: annotator.AnnotateResult) -> list[list[object]]:
        frame = result.flows[columns].astype(object)
        return sorted(([_plain(v) for v in row] for row in frame.to_numpy()), key=repr)

    assert table(other) == table(mixed)
    assert other.accounting["packets_total"] == 173
    assert len(other.findings) == len(mixed.findings)


def test_truncated_capture_gives_a_partial_result() -> None:
    result = annotator.annotate(str(SAMPLES / "truncated.pcap"))
    assert result.exit_status == 3
    assert len(result.partial) == 1
    # Reading stops in the 87th record, which starts at byte 38,412 and is cut
    # after 91 of its 166 bytes.
    assert 38_412 <= result.partial[0].offset <= 38_503
    assert result.accounting["packets_total"] == 86
    assert len(result.flows) == 11


def test_truncated_capture_exits_3_from_the_command() -> None:
    run = _annotate_cli("samples/truncated.pcap")
    assert run.returncode == 3, run.stderr
    assert "Traceback" not in run.stderr


@pytest.fixture(scope="module")
def cli_runs() -> dict[str, subprocess.CompletedProcess[str]]:
    """The README's run command, and its JSON and JSONL forms, run once for the module."""
    forms = {"terminal": (), "json": ("--format", "json"), "jsonl": ("--format", "jsonl")}
    return {name: _annotate_cli("samples/mixed.pcap", *args) for name, args in forms.items()}


def test_the_readme_run_command(cli_runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    for name, run in cli_runs.items():
        assert run.returncode == 0, (name, run.stderr)
        assert "Traceback" not in run.stderr, name
    parsed = json.loads(cli_runs["json"].stdout)
    assert len(parsed["flows"]) == 17 and len(parsed["findings"]) == 9
    assert parsed["accounting"]["packets_total"] == 173
    lines = [json.loads(line) for line in cli_runs["jsonl"].stdout.splitlines() if line.strip()]
    assert len(lines) == 17
    assert {(r["server_port"], tuple(r["flags"])) for r in lines} >= {
        (443, ("protocol-mismatch",)),
        (23, ("cleartext-authentication",)),
    }


def test_the_telnet_password_is_never_shown(
    mixed: annotator.AnnotateResult,
    cli_runs: dict[str, subprocess.CompletedProcess[str]],
    tmp_path: Path,
) -> None:
    telnet = _rows(mixed)[("tcp", "10.99.0.60", 53023, "10.99.0.2", 23)]
    assert "cleartext-authentication" in telnet["flags"]
    assert FAKE_PASSWORD not in mixed.flows.astype(str).to_string()
    assert FAKE_PASSWORD not in mixed.findings.astype(str).to_string()
    for suffix in ("html", "md", "json", "jsonl", "csv"):
        target = tmp_path / f"report.{suffix}"
        annotator.report.write_report(mixed, target)
        assert FAKE_PASSWORD not in target.read_text(encoding="utf-8"), suffix
    for name, run in cli_runs.items():
        assert FAKE_PASSWORD not in run.stdout + run.stderr, name
