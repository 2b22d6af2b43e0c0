"""Builders of synthetic packet batches for the flow-stage unit tests."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import numpy as np
import pytest

from annotator.capture.columns import (
    HS_ACCEPT,
    HS_OPEN,
    KIND_FLOW,
    PacketBatch,
)

PROTO = {"tcp": 6, "udp": 17, "sctp": 132, "dccp": 33}
FLAG_BITS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10}


def _split(addr: str) -> tuple[int, int, int]:
    ip = ipaddress.ip_address(addr)
    value = int(ip) | (0xFFFF << 32) if ip.version == 4 else int(ip)
    return value >> 64, value & (2**64 - 1), ip.version


def build_batch(packets: list[dict], first_frame: int = 1) -> PacketBatch:
    """A PacketBatch from packet descriptions (a Python loop is fine in tests).

    Each packet: ``src``, ``dst``, ``sport``, ``dport``, ``t`` (seconds), and
    optionally ``proto`` (name, default tcp), ``flags`` (letters FSRPA),
    ``payload`` (bytes), ``wire`` (length), ``vlan``, ``kind``, ``label``,
    ``hs`` (handshake bits; derived from TCP flags when omitted).
    """
    batch = PacketBatch.empty(len(packets))
    data = bytearray()
    c = batch.columns
    for i, p in enumerate(packets):
        c["frame"][i] = first_frame + i
        c["ts_ns"][i] = round(p["t"] * 1e9)
        payload = p.get("payload", b"")
        c["wire_len"][i] = c["cap_len"][i] = p.get("wire", 60 + len(payload))
        c["kind"][i] = p.get("kind", KIND_FLOW)
        c["label"][i] = p.get("label", 0)
        if c["kind"][i] != KIND_FLOW:
            continue
        s_hi, s_lo, ver = _split(p["src"])
        d_hi, d_lo, _ = _split(p["dst"])
        c["src_hi"][i], c["src_lo"][i], c["dst_hi"][i], c["dst_lo"][i] = s_hi, s_lo, d_hi, d_lo
        c["ip_version"][i] = ver
        proto = p.get("proto", "tcp")
        c["proto"][i] = PROTO[proto]
        c["sport"][i], c["dport"][i] = p["sport"], p["dport"]
        flags = sum(FLAG_BITS[f] for f in p.get("flags", ""))
        if proto == "tcp":
            c["tcp_flags"][i] = flags
        hs = 0
        if proto == "tcp" and flags & 0x02:
            hs = HS_ACCEPT if flags & 0x10 else HS_OPEN
        c["handshake"][i] = p.get("hs", hs)
        c["vlan"][i] = p.get("vlan", -1)
        c["payload_off"][i] = len(data)
        c["payload_len"][i] = len(payload)
        data += payload
    batch.data = np.frombuffer(bytes(data), dtype=np.uint8).copy()
    batch.labels = list(packets[0].get("labels", [])) if packets else []
    return batch


class FakeRegistry:
    """A registry stand-in: the given (port, transport code) pairs are assigned."""

    def __init__(self, assigned: set[tuple[int, int]]) -> None:
        self.assigned = assigned

    def assigned_mask(self, ports: np.ndarray, transport_codes: np.ndarray) -> np.ndarray:
        return np.array(
            [
                (int(p), int(t)) in self.assigned
                for p, t in zip(ports, transport_codes, strict=True)
            ],
            dtype=bool,
        )


@pytest.fixture
def make_batch() -> Callable[..., PacketBatch]:
    return build_batch


@pytest.fixture
def fake_registry() -> type[FakeRegistry]:
    return FakeRegistry
