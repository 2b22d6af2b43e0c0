"""Severity: one order, and a severity decided per finding where a flag or the caller says so.

By default a finding is as urgent as its flag's default severity (what every
report showed so far).  A flag may decide per hit (``Flag.severity_of``), and
the caller of :func:`annotator.triage.triage` may adjust the hits
(``adjust_severity``, as a site policy will); a flow and a finding are then
as urgent as their most urgent hit.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import annotator
from annotator.errors import UsageError
from annotator.triage import FLAGS, Hits, triage
from annotator.triage.severity import (
    SEVERITY_CODE,
    at_or_above,
    most_urgent,
    severity_codes,
)

_CRAFT = Path(__file__).resolve().parents[1] / "capture" / "craft.py"
_spec = importlib.util.spec_from_file_location("craft_for_severity", _CRAFT)
craft = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(craft)

SERVER = "10.2.0.9"


def syn(client: str, sport: int, dport: int) -> bytes:
    return craft.ethernet(craft.ipv4(client, SERVER, 6, craft.tcp(sport, dport, craft.SYN)))


@pytest.fixture
def table(tmp_path: Path):
    """Two clients to one dynamic port (one finding), one client to another port."""
    frames = [syn("10.1.0.5", 40001, 50000), syn("10.1.0.6", 40002, 50000)]
    frames += [syn("10.1.0.7", 40003, 50001)]
    return annotator.read_flows(craft.write_pcap(tmp_path / "t.pcap", frames))


@pytest.fixture
def registry():
    return annotator.load_registry()


def test_most_urgent_and_threshold() -> None:
    assert most_urgent(["info", "medium", "low"]) == "medium"
    assert most_urgent([]) is None
    assert at_or_above("high", "medium")
    assert at_or_above("medium", "medium")
    assert not at_or_above("low", "medium")


def test_an_unknown_severity_says_which_exist() -> None:
    with pytest.raises(UsageError, match="high, medium, low, info"):
        severity_codes(["high", "critical"])
    with pytest.raises(UsageError, match="'urgent'"):
        at_or_above("urgent", "high")


def test_by_default_a_finding_has_its_flag_severity(table, registry) -> None:
    flows, findings = triage(table, registry)
    assert (findings["severity"].astype(str) == "info").all()
    assert findings["flag"].tolist() == ["dynamic-port-server", "dynamic-port-server"]
    assert flows["severity"].astype(str).tolist() == ["info", "info", "info"]


def test_an_adjustment_raises_the_hits_it_chooses(table, registry) -> None:
    """A finding and a flow are as urgent as their most urgent hit."""

    def escalate_one_client(flows: pd.DataFrame, hits: Hits) -> np.ndarray:
        names = hits.severity_names()
        chosen = flows["client_ip"].to_numpy(dtype=object)[hits.rows] == "10.1.0.6"
        return np.where(chosen, "high", names)

    flows, findings = triage(table, registry, adjust_severity=escalate_one_client)
    by_port = dict(zip(findings["server_port"], findings["severity"].astype(str), strict=True))
    assert by_port == {50000: "high", 50001: "info"}
    assert findings["server_port"].iloc[0] == 50000  # most urgent first
    severity = dict(zip(flows["client_ip"], flows["severity"].astype(str), strict=True))
    assert severity == {"10.1.0.5": "info", "10.1.0.6": "high", "10.1.0.7": "info"}
    assert flows["flags"].tolist() == [["dynamic-port-server"]] * 3  # flags as before


def test_a_flag_may_decide_each_hit_severity(table, registry, monkeypatch) -> None:
    """A flag whose urgency depends on the flow (as a tunnel flag's will on the tunnel)."""

    def by_port(flows: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        return np.where(flows["server_port"].to_numpy()[rows] == 50001, "medium", "info")

    flag = dataclasses.replace(FLAGS["dynamic-port-server"], severity_of=by_port)
    monkeypatch.setitem(FLAGS, flag.id, flag)
    flows, findings = triage(table, registry)
    assert findings["severity"].astype(str).tolist() == ["medium", "info"]
    assert findings["server_port"].tolist() == [50001, 50000]
    assert flows["severity"].astype(str).tolist() == ["info", "info", "medium"]
    assert flag.severity == "info"  # the glossary still shows the default


def test_an_adjustment_must_name_a_severity_per_hit(table, registry) -> None:
    with pytest.raises(ValueError, match="one per hit"):
        triage(table, registry, adjust_severity=lambda flows, hits: np.array(["high"]))
    with pytest.raises(UsageError, match="'severe'"):
        triage(table, registry, adjust_severity=lambda flows, hits: np.full(len(hits), "severe"))


def test_severity_codes_grow_with_urgency() -> None:
    codes = severity_codes(["info", "low", "medium", "high"]).tolist()
    assert codes == sorted(codes)
    assert codes[-1] == SEVERITY_CODE["high"]
