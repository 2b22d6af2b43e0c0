"""The evidence stage's public face: identify(), fingerprint_flows(), the table."""

from __future__ import annotations

import dataclasses
import os
import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotator.evidence import (
    FINGERPRINTS,
    PROTOCOLS,
    Evidence,
    fingerprint_flows,
    fingerprint_payloads,
    identify,
)
from annotator.evidence.base import Context, text

HELLO = b"GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: t\r\n\r\n"
SSH = b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3\r\n"


def test_evidence_is_frozen_and_unknown_has_no_protocol() -> None:
    ev = identify(b"", b"", transport="tcp", client_port=1, server_port=443)
    assert ev.protocol is None and ev.server_name is None and ev.credentials is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.protocol = "tls"  # type: ignore[misc]


@pytest.mark.parametrize("port", [22, 53, 80, 443, 3389, 5060])
def test_the_port_alone_never_names_a_protocol(port: int) -> None:
    junk = bytes(range(7, 200))
    for transport in ("tcp", "udp"):
        ev = identify(junk, junk[::-1], transport=transport, client_port=50000, server_port=port)
        assert ev.protocol is None


def test_bytes_decide_even_on_a_port_registered_to_something_else() -> None:
    ev = identify(HELLO, b"", transport="tcp", client_port=50000, server_port=22)
    assert ev.protocol == "http"
    assert ev.server_name == "www.example.com"


def test_directions_swapped_by_the_flow_stage_are_still_recognised() -> None:
    # The capture began after the client's banner: the "client" is the server.
    ev = identify(
        b"HTTP/1.1 200 OK\r\n\r\n", HELLO, transport="tcp", client_port=80, server_port=50000
    )
    assert ev.protocol == "http"
    assert ev.fields["status"] == 200


def test_fingerprint_flows_aligns_with_the_index_and_skips_empty_flows() -> None:
    flows = pd.DataFrame(
        {
            "transport": ["tcp", "tcp", "udp", "tcp"],
            "client_port": [50000, 50001, 50002, 50003],
            "server_port": [80, 22, 9999, 443],
            "server_ip": ["192.0.2.1", "192.0.2.2", None, "2001:db8::1"],
        },
        index=[10, 20, 30, 40],
    )
    c2s = np.array([HELLO, b"", None, os.urandom(300)], dtype=object)
    s2c = np.array([b"", SSH, b"", b""], dtype=object)
    out = fingerprint_flows(flows, c2s, s2c)
    assert list(out.index) == [10, 20, 30, 40]
    assert list(out.columns) == [
        "observed_protocol",
        "server_name",
        "evidence_detail",
        "cleartext_credentials",
        "roles_reversed",
    ]
    assert out["observed_protocol"].tolist() == ["http", "ssh", None, None]
    # A server's banner alone, from the server, says nothing against the roles.
    assert out["roles_reversed"].tolist() == [False] * 4
    assert out["server_name"].tolist() == ["www.example.com", None, None, None]
    assert out.loc[20, "evidence_detail"] == "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3"
    assert out["cleartext_credentials"].dtype == bool
    assert not out["cleartext_credentials"].any()


def test_fingerprint_flows_on_an_empty_table() -> None:
    flows = pd.DataFrame({"transport": [], "client_port": [], "server_port": [], "server_ip": []})
    out = fingerprint_flows(flows, np.array([], dtype=object), np.array([], dtype=object))
    assert len(out) == 0 and "observed_protocol" in out


def test_every_protocol_a_fingerprint_reports_is_declared() -> None:
    assert {fp.name for fp in FINGERPRINTS} <= set(PROTOCOLS) - {"mdns", "llmnr"}
    assert all(pid == pid.lower() for pid in PROTOCOLS)


def test_first_byte_gates_never_hide_a_match() -> None:
    """A fingerprint's first-byte set must cover what it accepts: replay a few
    known payloads through every check without the gate and compare."""
    samples = [(HELLO, b""), (b"", SSH), (b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x03", b"")]
    for c2s, s2c in samples:
        ctx = Context("tcp", 50000, 80)
        for fp in FINGERPRINTS:
            if "tcp" in fp.transports and fp.check(c2s, s2c, ctx) is not None and fp.first:
                assert (c2s[:1] and c2s[0] in fp.first) or (s2c[:1] and s2c[0] in fp.first)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    c2s=st.binary(max_size=300),
    s2c=st.binary(max_size=120),
    transport=st.sampled_from(["tcp", "udp"]),
)
def test_no_fingerprint_raises_on_arbitrary_bytes(c2s: bytes, s2c: bytes, transport: str) -> None:
    ctx = Context(transport, 40000, 53, "224.0.0.251")
    for fp in FINGERPRINTS:
        result = fp.check(c2s, s2c, ctx)
        assert result is None or isinstance(result, Evidence)


@settings(max_examples=200, deadline=None)
@given(
    prefix=st.sampled_from(
        [
            b"\x16\x03\x01",
            b"\x16\xfe\xfd",
            b"\xc0\x00\x00\x00\x01",
            b"\x00\x00\x00",
            b"0\x82",
            b"*3\r\n$3\r\n",
            b"SSH-2.0-",
            b"GET / HTTP/1.1\r\n",
            b"\x13BitTorrent protocol",
            b"\x03\x00\x00",
            b"\xffSMB",
            b"\x00\x01\x00\x00!\x12\xa4B",
            b"<34>",
            b"\x01\x00\x00\x00",
        ]
    ),
    tail=st.binary(max_size=200),
)
def test_no_fingerprint_raises_on_plausible_prefixes(prefix: bytes, tail: bytes) -> None:
    """Hostile payloads that start right and then go wrong (the common fuzz case)."""
    for transport in ("tcp", "udp"):
        ctx = Context(transport, 40000, 443)
        for fp in FINGERPRINTS:
            fp.check(prefix + tail, tail, ctx)
            fp.check(tail, prefix + tail, ctx)


def test_random_payloads_are_not_named() -> None:
    """Precision first: seeded random bytes of many sizes name nothing."""
    rng = random.Random(20261126)
    named = []
    for i in range(3000):
        c2s = rng.randbytes(rng.choice([12, 48, 64, 148, 300, 1300, 2048]))
        s2c = rng.randbytes(rng.choice([0, 40, 256]))
        transport = "udp" if i % 2 else "tcp"
        ev = identify(
            c2s, s2c, transport=transport, client_port=50000, server_port=rng.randrange(1, 65536)
        )
        if ev.protocol is not None:
            named.append(ev.detail)
    assert named == []


def test_the_detail_stays_one_short_line() -> None:
    host = ".".join(["a" * 60] * 4)
    request = f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    ev = identify(
        request, b"HTTP/1.1 200 OK\r\n\r\n", transport="tcp", client_port=1, server_port=80
    )
    assert ev.protocol == "http" and len(ev.detail) <= 200 and "\n" not in ev.detail


@given(st.binary(max_size=300), st.integers(min_value=0, max_value=300))
def test_wire_text_is_printable_ascii_one_character_per_byte(raw: bytes, limit: int) -> None:
    # What reaches a report from the wire: every byte of the first ``limit``
    # kept in place, anything but printable ASCII (controls, escapes, DEL,
    # bytes above 0x7f) shown as "?".
    shown = text(raw, limit)
    kept = raw[:limit]
    assert len(shown) == len(kept)
    for byte, char in zip(kept, shown, strict=True):
        assert char == (chr(byte) if 0x20 <= byte <= 0x7E else "?")


def test_wire_text_hides_a_terminal_escape_in_a_host_header() -> None:
    request = b"GET / HTTP/1.1\r\nHost: evil\x1b[2Jexample.com\r\n\r\n"
    ev = identify(request, b"", transport="tcp", client_port=40000, server_port=80)
    assert ev.protocol == "http" and "\x1b" not in ev.detail
    assert "evil?[2Jexample.com" in ev.detail


def test_payload_results_keep_everything_but_the_parsed_fields() -> None:
    # The flow stage's fingerprinter drops only ``fields`` (to save memory per
    # flow); protocol, server name, detail and the credentials flag stay.
    request = b"GET /a HTTP/1.1\r\nHost: example.com\r\nAuthorization: Basic dTpw\r\n\r\n"
    rows = [(request, b"HTTP/1.1 200 OK\r\n\r\n"), (b"\x00\x01", b""), (b"", b"")]
    found = fingerprint_payloads(
        np.array(["tcp"] * 3, dtype=object), np.array([40000] * 3), np.array([8080] * 3),
        np.array(["192.0.2.1"] * 3, dtype=object),
        np.array([r[0] for r in rows], dtype=object), np.array([r[1] for r in rows], dtype=object),
    )  # fmt: skip
    whole = identify(*rows[0], transport="tcp", client_port=40000, server_port=8080,
                     server_ip="192.0.2.1")  # fmt: skip
    assert whole.fields and whole.credentials
    assert found[0] == dataclasses.replace(whole, fields={})
    assert found[1:] == [None, None]
