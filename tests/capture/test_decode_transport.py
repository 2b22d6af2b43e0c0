"""TCP flags and handshake, SCTP INIT, DCCP Request/Response, payload bounds."""

from __future__ import annotations

import pytest

from annotator.capture.columns import HS_ACCEPT, HS_OPEN, KIND_FLOW, KIND_UNDECODABLE

from .craft import ACK, FIN, PSH, RST, SYN, dccp, ethernet, ipv4, ipv6, sctp, tcp
from .decode_helpers import decode, label, row

A, B = "172.16.0.1", "172.16.0.2"


def v4(proto: int, payload: bytes) -> bytes:
    return ethernet(ipv4(A, B, proto, payload))


@pytest.mark.parametrize(
    ("flags", "handshake"),
    [
        (SYN, HS_OPEN),
        (SYN | ACK, HS_ACCEPT),
        (ACK, 0),
        (PSH | ACK, 0),
        (FIN | ACK, 0),
        (RST, 0),
        (SYN | 0xC0, HS_OPEN),  # ECN-setup SYN (ECE, CWR)
    ],
)
def test_tcp_flags_and_handshake(flags, handshake):
    r = row(decode([v4(6, tcp(50000, 443, flags))]))
    assert (r["kind"], r["tcp_flags"], r["handshake"]) == (KIND_FLOW, flags, handshake)


def test_tcp_options_and_payload():
    options = b"\x02\x04\x05\xb4\x01\x03\x03\x07"  # MSS, NOP, window scale
    batch = decode([v4(6, tcp(1, 2, PSH | ACK, b"GET / HTTP/1.1\r\n", options=options))])
    r = row(batch)
    assert r["payload_len"] == 16
    assert bytes(batch.data[r["payload_off"] : r["payload_off"] + 3]) == b"GET"


def test_tcp_cut_by_snap_length_after_the_ports_is_still_a_flow_packet():
    frame = v4(6, tcp(1111, 80, SYN))
    r = row(decode([frame[: 14 + 20 + 10]]))
    assert (r["kind"], r["sport"], r["dport"], r["payload_len"], r["tcp_flags"]) == (
        KIND_FLOW,
        1111,
        80,
        0,
        0,
    )


def test_sctp_init_and_init_ack_and_data():
    init = sctp(3868, 3868, 1, bytes(16))
    init_ack = sctp(3868, 3868, 2, bytes(16))
    data = sctp(2905, 2905, 0, bytes(12) + b"m3ua")  # DATA: TSN, stream, seq, PPID, user data
    zero_len = sctp(1, 2, 3, b"")[:12] + b"\x03\x00\x00\x00"  # chunk length 0
    batch = decode([v4(132, init), v4(132, init_ack), v4(132, data), v4(132, zero_len)])
    assert batch["kind"].tolist() == [KIND_FLOW] * 4
    assert batch["proto"].tolist() == [132] * 4
    assert batch["handshake"].tolist() == [HS_OPEN, HS_ACCEPT, 0, 0]
    assert batch["sport"].tolist() == [3868, 3868, 2905, 1]
    r = row(batch, 2)
    assert r["payload_len"] == 4
    assert bytes(batch.data[r["payload_off"] : r["payload_off"] + 4]) == b"m3ua"


@pytest.mark.parametrize("extended", [True, False])
def test_dccp_request_response_and_data(extended):
    request = dccp(40000, 5004, 0, b"hi", extended=extended)
    response = dccp(5004, 40000, 1, b"yo", extended=extended)
    data = dccp(40000, 5004, 2, b"data", extended=extended)
    batch = decode([v4(33, request), v4(33, response), v4(33, data)])
    assert batch["kind"].tolist() == [KIND_FLOW] * 3
    assert batch["proto"].tolist() == [33] * 3
    assert batch["handshake"].tolist() == [HS_OPEN, HS_ACCEPT, 0]
    assert batch["payload_len"].tolist() == [2, 2, 4]
    r = row(batch, 2)
    assert bytes(batch.data[r["payload_off"] : r["payload_off"] + 4]) == b"data"


def test_dccp_over_ipv6():
    frame = ethernet(ipv6("fe80::1", "fe80::2", 33, dccp(1, 2, 0)), 0x86DD)
    r = row(decode([frame]))
    assert (r["kind"], r["proto"], r["handshake"], r["ip_version"]) == (KIND_FLOW, 33, HS_OPEN, 6)


@pytest.mark.parametrize(
    ("proto", "payload", "reason"),
    [
        (33, dccp(1, 2, 0, data_offset=2), "bad DCCP data offset"),
        (33, dccp(1, 2, 2, extended=True, data_offset=3), "bad DCCP data offset"),
        (33, b"\x00\x01\x00", "truncated DCCP header"),
        (132, b"\x00\x01", "truncated SCTP header"),
    ],
)
def test_malformed_sctp_dccp(proto, payload, reason):
    batch = decode([v4(proto, payload)])
    assert row(batch)["kind"] == KIND_UNDECODABLE
    assert label(batch) == reason
