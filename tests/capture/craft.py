"""Helpers that build test packets and captures byte by byte with ``struct``.

Checksums are left at zero (nothing in annotator verifies them).  Other tests
may import these, e.g. ``from tests.capture.craft import ethernet, ipv4, tcp``
or by path; each builder returns ``bytes`` so layers nest by function call::

    frame = ethernet(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(1234, 80, SYN)))
    batch = record_batch([frame], link_type=1)
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from annotator.capture.columns import RecordBatch

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def record_batch(
    frames: Sequence[bytes],
    link_type: int | Sequence[int],
    ts_ns: Sequence[int] | None = None,
    first_frame: int = 1,
) -> RecordBatch:
    """A RecordBatch holding ``frames`` back to back (fully captured)."""
    n = len(frames)
    lens = np.array([len(f) for f in frames], dtype=np.int64)
    offset = np.zeros(n, dtype=np.int64)
    if n:
        offset[1:] = np.cumsum(lens)[:-1]
    data = np.frombuffer(b"".join(frames), dtype=np.uint8).copy()
    if isinstance(link_type, int):
        link = np.full(n, link_type, dtype=np.uint16)
    else:
        link = np.asarray(link_type, dtype=np.uint16)
    stamps = np.arange(n, dtype=np.int64) * 1000 if ts_ns is None else np.asarray(ts_ns)
    return RecordBatch(
        data=data,
        offset=offset,
        cap_len=lens.astype(np.uint32),
        wire_len=lens.astype(np.uint32),
        ts_ns=stamps.astype(np.int64),
        link_type=link,
        frame=np.arange(first_frame, first_frame + n, dtype=np.int64),
    )


def write_pcap(path: str | Path, frames: Sequence[bytes], link_type: int = 1) -> Path:
    """Write a classic little-endian microsecond pcap file of ``frames``."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, link_type)]
    for i, frame in enumerate(frames):
        out.append(struct.pack("<IIII", 1_700_000_000 + i, 0, len(frame), len(frame)))
        out.append(frame)
    path = Path(path)
    path.write_bytes(b"".join(out))
    return path


# --- link layers ------------------------------------------------------------------


def ethernet(
    payload: bytes, ethertype: int = 0x0800, vlans: Sequence[int] = (), outer_tpid: int = 0x8100
) -> bytes:
    """An Ethernet II frame; ``vlans`` are VLAN ids, outermost first.

    The outermost tag uses ``outer_tpid`` (0x88a8 or 0x9100 for QinQ), inner
    ones 0x8100; the EtherType of the payload comes after the last tag.
    """
    tags = b"".join(
        struct.pack("!HH", outer_tpid if i == 0 else 0x8100, vid & 0x0FFF)
        for i, vid in enumerate(vlans)
    )
    return MAC_B + MAC_A + tags + struct.pack("!H", ethertype) + payload


def mpls(labels: Sequence[int], payload: bytes) -> bytes:
    """An MPLS label stack (bottom-of-stack bit on the last entry)."""
    out = b""
    for i, label in enumerate(labels):
        bottom = 1 if i == len(labels) - 1 else 0
        out += struct.pack("!I", (label << 12) | (bottom << 8) | 64)
    return out + payload


def pppoe_session(ppp_protocol: int, payload: bytes, session: int = 0x1234) -> bytes:
    """A PPPoE session header plus PPP protocol (EtherType 0x8864 payload)."""
    return struct.pack("!BBHHH", 0x11, 0, session, len(payload) + 2, ppp_protocol) + payload


def linux_sll(payload: bytes, protocol: int = 0x0800) -> bytes:
    """Linux cooked capture v1 header (16 bytes)."""
    return struct.pack("!HHH8sH", 0, 1, 6, MAC_A + b"\0\0", protocol) + payload


def linux_sll2(payload: bytes, protocol: int = 0x0800) -> bytes:
    """Linux cooked capture v2 header (20 bytes)."""
    return struct.pack("!HHIHBB8s", protocol, 0, 2, 1, 0, 6, MAC_A + b"\0\0") + payload


def null_loopback(payload: bytes, family: int = 2, big_endian: bool = False) -> bytes:
    """BSD NULL / LOOP header: the address family as 4 bytes."""
    return struct.pack(">I" if big_endian else "<I", family) + payload


# --- IP ----------------------------------------------------------------------------


def ipv4(
    src: str,
    dst: str,
    proto: int,
    payload: bytes,
    *,
    ident: int = 1,
    more_fragments: bool = False,
    fragment_offset: int = 0,
    options: bytes = b"",
    ihl: int | None = None,
    total_length: int | None = None,
    version: int = 4,
) -> bytes:
    """An IPv4 header (``fragment_offset`` in bytes, a multiple of 8) plus payload."""
    header_len = 20 + len(options)
    ihl_value = header_len // 4 if ihl is None else ihl
    total = header_len + len(payload) if total_length is None else total_length
    frag = (0x2000 if more_fragments else 0) | (fragment_offset // 8)
    header = struct.pack(
        "!BBHHHBBH4s4s",
        (version << 4) | ihl_value,
        0,
        total,
        ident,
        frag,
        64,
        proto,
        0,
        ipaddress.IPv4Address(src).packed,
        ipaddress.IPv4Address(dst).packed,
    )
    return header + options + payload


def ipv6(src: str, dst: str, next_header: int, payload: bytes, *, length: int | None = None):
    """An IPv6 fixed header plus payload (which may start with extension headers)."""
    plen = len(payload) if length is None else length
    return (
        struct.pack("!IHBB", 6 << 28, plen, next_header, 64)
        + ipaddress.IPv6Address(src).packed
        + ipaddress.IPv6Address(dst).packed
        + payload
    )


def ipv6_options(next_header: int, payload: bytes, size: int = 8) -> bytes:
    """A hop-by-hop, destination options or routing header of ``size`` bytes (multiple of 8)."""
    return struct.pack("!BB", next_header, size // 8 - 1) + b"\x01" + bytes(size - 3) + payload


def ipv6_fragment(next_header: int, payload: bytes, *, offset: int, more: bool, ident: int):
    """An IPv6 fragment header (``offset`` in bytes, a multiple of 8)."""
    field = (offset // 8) << 3 | (1 if more else 0)
    return struct.pack("!BBHI", next_header, 0, field, ident) + payload


def auth_header(next_header: int, payload: bytes, icv: int = 12) -> bytes:
    """An IPsec AH header with an ``icv``-byte integrity value."""
    size = 12 + icv
    return struct.pack("!BBHII", next_header, size // 4 - 2, 0, 0x100, 1) + bytes(icv) + payload


# --- transports ---------------------------------------------------------------------


def tcp(
    sport: int,
    dport: int,
    flags: int = ACK,
    payload: bytes = b"",
    *,
    options: bytes = b"",
    data_offset: int | None = None,
) -> bytes:
    """A TCP header (``data_offset`` in 32-bit words overrides the real one)."""
    words = (20 + len(options)) // 4 if data_offset is None else data_offset
    header = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, words << 4, flags, 65535, 0, 0)
    return header + options + payload


def udp(sport: int, dport: int, payload: bytes = b"") -> bytes:
    """A UDP header plus payload."""
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def sctp(sport: int, dport: int, chunk_type: int, chunk_body: bytes = b"") -> bytes:
    """An SCTP common header plus one chunk."""
    chunk = struct.pack("!BBH", chunk_type, 0, 4 + len(chunk_body)) + chunk_body
    return struct.pack("!HHII", sport, dport, 0xDEADBEEF, 0) + chunk


def dccp(
    sport: int,
    dport: int,
    packet_type: int,
    payload: bytes = b"",
    *,
    extended: bool = True,
    data_offset: int | None = None,
) -> bytes:
    """A DCCP packet: generic header (X bit = ``extended``), a service code or
    acknowledgement sub-header as the type needs, then ``payload``."""
    x = 1 if extended else 0
    type_byte = (packet_type << 1) | x
    if extended:
        generic_tail = struct.pack("!BB", type_byte, 0) + (1).to_bytes(6, "big")
    else:
        generic_tail = struct.pack("!B", type_byte) + (1).to_bytes(3, "big")
    extra = b""
    if packet_type == 0:  # Request: service code
        extra = struct.pack("!I", 42)
    elif packet_type == 1:  # Response: acknowledgement sub-header, service code
        extra = (bytes(2) + (1).to_bytes(6, "big") if extended else bytes(4)) + struct.pack(
            "!I", 42
        )
    header_len = 8 + len(generic_tail) + len(extra)
    words = header_len // 4 if data_offset is None else data_offset
    start = struct.pack("!HHBBH", sport, dport, words, 0, 0)
    return start + generic_tail + extra + payload
