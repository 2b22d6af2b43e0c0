"""Fingerprint-on-completion gives the evidence the old end-of-read path gave.

``annotator.annotate`` hands each flow's first payload bytes to the
fingerprints as soon as they can no longer change and drops them; the old
path kept every flow's bytes to the end (``read_flows`` without a
fingerprinter) and fingerprinted them all there (``fingerprint_flows``).
Both must say the same about every flow.  A crafted long-lived flow checks
that the early path really runs while the file is still being read.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

import annotator
from annotator.evidence import fingerprint_flows, fingerprint_payloads
from annotator.flows import ReadOptions
from annotator.flows.direction import follow_known_servers, follow_payload
from annotator.flows.keys import unpack_small
from annotator.flows.part import read_part
from annotator.registry.resolve import default_registry

from ..capture.craft import ACK, PSH, SYN, ethernet, ipv4, tcp

EVIDENCE = ["observed_protocol", "server_name", "evidence_detail", "cleartext_credentials"]
KEYS = ["transport", "client_ip", "client_port", "server_ip", "server_port", "first_seen"]
LABELED = Path(__file__).resolve().parents[3] / "shared" / "captures" / "labeled" / "pcap"


def assert_early_equals_old_path(path: Path) -> None:
    now = annotator.annotate(path).flows
    table = annotator.read_flows(path)
    old = fingerprint_flows(table.flows, table.payload_c2s, table.payload_s2c)
    # The old path's roles, settled from its own fingerprints as triage does.
    settled = follow_known_servers(follow_payload(table.flows, old["roles_reversed"].to_numpy()))
    assert now[KEYS].astype(str).values.tolist() == settled[KEYS].astype(str).values.tolist()
    assert now["direction_basis"].tolist() == settled["direction_basis"].tolist()
    got = now[EVIDENCE].astype(object).where(now[EVIDENCE].notna(), None).values.tolist()
    want = old[EVIDENCE].astype(object).where(old[EVIDENCE].notna(), None).values.tolist()
    assert got == want


@pytest.mark.parametrize("name", ["mixed.pcap", "mixed.pcapng", "mixed.pcap.gz", "truncated.pcap"])
def test_samples_evidence_same_as_fingerprinting_full_payloads(samples, name):
    assert_early_equals_old_path(samples / name)


def test_samples_have_evidence_to_compare(samples):
    # Guard against comparing two empty columns.
    flows = annotator.annotate(samples / "mixed.pcap").flows
    assert flows["observed_protocol"].notna().sum() >= 5


def _labeled() -> list[str]:
    if not LABELED.is_dir():
        return []
    return sorted(p.name for p in LABELED.iterdir() if p.suffix in (".pcap", ".pcapng"))


@pytest.mark.shared
@pytest.mark.parametrize("name", _labeled())
def test_labeled_evidence_same_as_fingerprinting_full_payloads(shared, name):
    assert_early_equals_old_path(shared / "captures" / "labeled" / "pcap" / name)


# --- a long-lived flow is fingerprinted while the file is still being read ---------

CLIENT, SERVER = "10.1.0.1", "10.1.0.2"
#: More packets than one read batch (65,536 records), so the read has a middle.
FILLER = 70_000


def _frame(src, dst, sport, dport, flags, payload=b""):
    return ethernet(ipv4(src, dst, 6, tcp(sport, dport, flags, payload)))


def _write(path: Path, frames: list[bytes]) -> Path:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)]
    for i, frame in enumerate(frames):
        micros = 1_000 * i  # a millisecond apart: no flow goes idle
        out.append(
            struct.pack("<IIII", micros // 1_000_000, micros % 1_000_000, len(frame), len(frame))
        )
        out.append(frame)
    path.write_bytes(b"".join(out))
    return path


@pytest.fixture(scope="module")
def long_capture(tmp_path_factory) -> Path:
    """A web flow whose first payload fills both limits at once, then lives on
    for FILLER packets to the end of the file; and a short flow beside it
    whose payload never fills a limit (fingerprinted only after the read)."""
    c, s = (CLIENT, 41000), (SERVER, 8080)
    request = b"GET /long HTTP/1.1\r\nHost: long.example\r\nX-Pad: " + b"a" * 2100 + b"\r\n\r\n"
    answer = b"HTTP/1.1 200 OK\r\nServer: t\r\nX-Pad: " + b"b" * 600 + b"\r\n\r\n"
    frames = [
        _frame(c[0], s[0], c[1], s[1], SYN),
        _frame(s[0], c[0], s[1], c[1], SYN | ACK),
        _frame(c[0], s[0], c[1], s[1], ACK),
        _frame(c[0], s[0], c[1], s[1], PSH | ACK, request),
        _frame(s[0], c[0], s[1], c[1], PSH | ACK, answer),
        _frame(c[0], "10.1.0.3", 41001, 8081, SYN),
        _frame("10.1.0.3", c[0], 8081, 41001, SYN | ACK),
        _frame(c[0], "10.1.0.3", 41001, 8081, ACK),
        _frame(c[0], "10.1.0.3", 41001, 8081, PSH | ACK, b"GET /s HTTP/1.1\r\nHost: short\r\n\r\n"),
    ]
    ack_c = _frame(c[0], s[0], c[1], s[1], ACK)
    ack_s = _frame(s[0], c[0], s[1], c[1], PSH | ACK, b"more")
    frames += [ack_c if i % 2 else ack_s for i in range(FILLER)]
    return _write(tmp_path_factory.mktemp("early") / "long.pcap", frames)


def test_long_flow_fingerprinted_before_the_file_ends(long_capture):
    read_so_far = [0]
    seen_at: dict[int, int] = {}  # server port -> packets read when fingerprinted

    def progress(packets: int, _bytes: int) -> None:
        read_so_far[0] = packets

    def recording(transport, client_port, server_port, server_ip, c2s, s2c):
        for port in server_port.tolist():
            seen_at.setdefault(int(port), read_so_far[0])
        return fingerprint_payloads(transport, client_port, server_port, server_ip, c2s, s2c)

    options = ReadOptions(fingerprint=recording)
    part = read_part(long_capture, options, default_registry(), progress=progress)
    total = part.counts["total"]
    assert total == FILLER + 9
    # The long flow was handed over during the first batch, long before the
    # end, and kept only its result; the short one (still live at the end of
    # the file, its limits never filled) keeps its bytes for the final step.
    assert seen_at[8080] < total
    assert 8081 not in seen_at
    _, a_port, b_port = unpack_small(part.flows["small"])
    long = int(np.flatnonzero((a_port == 8080) | (b_port == 8080))[0])
    short = int(np.flatnonzero((a_port == 8081) | (b_port == 8081))[0])
    assert part.flows["ev"][long] >= 0
    assert len(part.flows["pay_ab"][long] or b"") == 0
    assert len(part.flows["pay_ba"][long] or b"") == 0
    assert part.evidence[part.flows["ev"][long]].protocol == "http"
    assert part.flows["ev"][short] == -1
    held = part.flows["pay_ab"][short], part.flows["pay_ba"][short]
    assert b"Host: short" in b"".join(bytes(x or b"") for x in held)


def test_long_flow_result_same_as_old_path(long_capture):
    assert_early_equals_old_path(long_capture)
    flows = annotator.annotate(long_capture).flows.set_index("server_port")
    assert flows.loc[8080, "server_name"] == "long.example"
    assert flows.loc[8080, "packets"] == FILLER + 5
