"""Every flag is complete: its facts, a rule over the whole table, a sentence that reads well.

A flag is one block in annotator/triage/flags.py.  These tests hold every
block to the contract, so a new flag that misses a part fails here: one
crafted capture (with a small registry in IANA's CSV form) raises every
flag, and each flag's rule and sentence are checked on it.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import annotator
from annotator.triage import flags as catalog
from annotator.triage import prepare_flows
from annotator.triage.evaluate import evaluate
from annotator.triage.findings import build_findings
from annotator.triage.flag import Flag
from annotator.triage.flags import FLAGS
from annotator.triage.severity import SEVERITIES, SEVERITY_RANK

_CRAFT = Path(__file__).resolve().parents[1] / "capture" / "craft.py"
_spec = importlib.util.spec_from_file_location("craft_for_flag_catalog", _CRAFT)
craft = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(craft)

CLIENT, SERVER = "10.1.0.5", "10.2.0.9"
REGISTRY_CSV = (
    "Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,"
    "Registration Date,Modification Date,Reference,Service Code,"
    "Unauthorized Use Reported,Assignment Notes\n"
    "http,80,tcp,World Wide Web HTTP,,,,,,,,\n"
    "https,443,tcp,http protocol over TLS/SSL,,,,,,,,\n"
    "oldsvc,7001,tcp,Old service,,,,,,,,De-Assigned on 2020-05-01\n"
    "tcponly,7002,tcp,Only over TCP,,,,,,,,\n"
    "sneaky,7003,tcp,Often abused,,,,,,,Known UNAUTHORIZED USE on port 7003,\n"
    ",7004,tcp,Reserved,,,,,,,,\n"
    ",7100-7199,,Unassigned,,,,,,,,\n"
)
HTTP_GET = b"GET /x HTTP/1.1\r\nHost: h.example\r\n\r\n"
BASIC_AUTH = b"GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Basic YWxpY2U6c2VjcmV0\r\n\r\n"
SSH_BANNER = b"SSH-2.0-OpenSSH_9.6\r\n"
#: How a missing value reads when it slips into a sentence.
MISSING = re.compile(r"\b(None|nan|NaN|NaT)\b|<NA>")


def tcp(sport: int, dport: int, c2s: bytes = b"", s2c: bytes = b"") -> list[bytes]:
    """A TCP handshake, then a payload segment each way where given."""

    def seg(src: str, dst: str, sp: int, dp: int, flags: int, data: bytes = b"") -> bytes:
        return craft.ethernet(craft.ipv4(src, dst, 6, craft.tcp(sp, dp, flags, data)))

    frames = [
        seg(CLIENT, SERVER, sport, dport, craft.SYN),
        seg(SERVER, CLIENT, dport, sport, craft.SYN | craft.ACK),
        seg(CLIENT, SERVER, sport, dport, craft.ACK),
    ]
    if s2c:
        frames.append(seg(SERVER, CLIENT, dport, sport, craft.PSH | craft.ACK, s2c))
    if c2s:
        frames.append(seg(CLIENT, SERVER, sport, dport, craft.PSH | craft.ACK, c2s))
    return frames


def every_flag_frames() -> list[bytes]:
    """Conversations that, between them, raise every flag (the comment names it)."""
    return [
        *tcp(40001, 443, s2c=SSH_BANNER),  # protocol-mismatch
        craft.ethernet(craft.ipv4(CLIENT, SERVER, 6, craft.tcp(40002, 0, craft.SYN))),  # port-zero
        *tcp(40003, 7150, HTTP_GET),  # known-protocol-unregistered-port, unassigned-port
        *tcp(40004, 7003),  # unauthorized-use-reported, port-only-label
        *tcp(40005, 7004),  # reserved-port
        *tcp(40006, 80, BASIC_AUTH),  # cleartext-authentication
        *tcp(40007, 7001),  # deassigned-or-historic
        craft.ethernet(craft.ipv4(CLIENT, SERVER, 17, craft.udp(40008, 7002, b"x"))),
        craft.ethernet(craft.ipv4(SERVER, CLIENT, 17, craft.udp(7002, 40008, b"x"))),
        *tcp(40009, 50000),  # dynamic-port-server
        *tcp(40010, 50001),  # dynamic-port-server, a second server
    ]


@pytest.fixture(scope="module")
def every_flag(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The prepared flow table of the capture raising every flag, and its evaluation."""
    folder = tmp_path_factory.mktemp("every-flag")
    registry_path = folder / "registry.csv"
    registry_path.write_text(REGISTRY_CSV)
    registry = annotator.load_registry(registry_path)
    capture = craft.write_pcap(folder / "every-flag.pcap", every_flag_frames())
    table = annotator.read_flows(capture, registry=registry)
    prepared = prepare_flows(table, registry)
    return prepared, evaluate(prepared)[0]


def test_every_flag_has_its_facts() -> None:
    for key, flag in FLAGS.items():
        assert flag.id == key
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", flag.id), flag.id
        assert flag.severity in SEVERITIES, flag.id
        assert flag.title and flag.title[0].isupper() and not flag.title.endswith("."), flag.id
        assert flag.explanation and flag.explanation.endswith("."), flag.id
        assert flag.attack is None or re.fullmatch(r"T\d{4}(\.\d{3})?", flag.attack), flag.id
        assert callable(flag.rule) and callable(flag.detail), flag.id


def test_flags_are_listed_most_urgent_first() -> None:
    ranks = [SEVERITY_RANK[flag.severity] for flag in FLAGS.values()]
    assert ranks == sorted(ranks)


def test_every_flag_defined_is_listed() -> None:
    defined = [value for value in vars(catalog).values() if isinstance(value, Flag)]
    assert len(defined) == len(FLAGS)
    assert all(FLAGS[flag.id] is flag for flag in defined)


def test_each_rule_returns_one_boolean_per_flow(every_flag) -> None:
    _, evaluated = every_flag
    for table in (evaluated, evaluated.iloc[:0]):
        for flag in FLAGS.values():
            mask = flag.rule(table)
            assert isinstance(mask, np.ndarray), flag.id
            assert mask.dtype == np.bool_, flag.id
            assert mask.shape == (len(table),), flag.id


def test_the_capture_raises_every_flag(every_flag) -> None:
    """A new flag needs a conversation in every_flag_frames() that raises it."""
    _, evaluated = every_flag
    raised = {flag for flags in evaluated["flags"] for flag in flags}
    assert raised == set(FLAGS)


def test_each_detail_sentence_reads_without_missing_values(every_flag) -> None:
    prepared, _ = every_flag
    findings = build_findings(*evaluate(prepared))
    assert set(findings["flag"]) == set(FLAGS)
    for flag, detail in zip(findings["flag"], findings["detail"], strict=True):
        assert detail, flag
        assert not MISSING.search(detail), (flag, detail)
    sentence = dict(zip(findings["flag"], findings["detail"], strict=False))
    mismatch = "443/tcp is registered to https, but the traffic speaks SSH"
    assert sentence["protocol-mismatch"] == mismatch
    assert sentence["transport-not-registered"] == "port 7002 is assigned for tcp only, not udp"
