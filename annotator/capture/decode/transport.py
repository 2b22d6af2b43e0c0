"""The four transports of the port registry: TCP, UDP, SCTP and DCCP.

All four start with the source and destination port, so a packet whose first
four transport bytes are captured is a flow packet.  The rest of the header is
read when it is there: a capture cut short by its snap length still counts
the packet in its flow (with no payload), as Wireshark shows its ports too.
Header fields that are present but impossible (TCP data offset < 5, a DCCP
data offset shorter than its generic header) make the packet undecodable.

``payload_off``/``payload_len`` is the captured transport payload, bounded by
the IP length (so link-layer padding is not payload):

* TCP: after the header and options (data offset);
* UDP: after the 8-byte header;
* SCTP: the user data of a first DATA chunk, else everything after the 12-byte
  common header (only the first chunk is looked at, so a chunk length of 0
  cannot stall anything);
* DCCP: after the data offset.

``handshake``: TCP SYN without ACK, SCTP INIT (chunk type 1) and DCCP Request
(type 0) mark the sender as the client (HS_OPEN); TCP SYN+ACK, SCTP INIT ACK
(2) and DCCP Response (1) mark it as the server (HS_ACCEPT).
"""

from __future__ import annotations

import numpy as np

from ..columns import (
    HS_ACCEPT,
    HS_OPEN,
    KIND_FLOW,
    KIND_UNDECODABLE,
    PROTO_DCCP,
    PROTO_SCTP,
    PROTO_TCP,
    PROTO_UDP,
    TCP_ACK,
    TCP_SYN,
)
from .packets import Packets, masked, u8, u16

PORTS = 4
TCP_OFF_DATA_OFFSET = 12  # high nibble: header length in 32-bit words
TCP_OFF_FLAGS = 13
TCP_HEADER_MIN = 20
UDP_HEADER = 8
SCTP_COMMON_HEADER = 12
SCTP_CHUNK_DATA = 0
SCTP_CHUNK_INIT = 1
SCTP_CHUNK_INIT_ACK = 2
SCTP_DATA_CHUNK_HEADER = 16  # type, flags, length, TSN, stream id, stream seq, PPID
DCCP_OFF_DATA_OFFSET = 4  # header length in 32-bit words
DCCP_OFF_TYPE = 8  # reserved (3 bits), type (4 bits), X: extended sequence numbers (1 bit)
DCCP_HEADER_SHORT = 12  # generic header with 24-bit sequence numbers (X = 0)
DCCP_HEADER_LONG = 16  # generic header with 48-bit sequence numbers (X = 1)
DCCP_REQUEST = 0
DCCP_RESPONSE = 1

NAMES = {PROTO_TCP: "TCP", PROTO_UDP: "UDP", PROTO_SCTP: "SCTP", PROTO_DCCP: "DCCP"}


def _ports(pk: Packets, idx: np.ndarray, proto: int) -> tuple[np.ndarray, np.ndarray]:
    """Check and read the ports; mark the packets as flow packets."""
    idx = pk.need(idx, PORTS, f"truncated {NAMES[proto]} header")
    at = pk.at(idx)
    cols = pk.cols
    cols["sport"][idx] = u16(pk.data, at)
    cols["dport"][idx] = u16(pk.data, at + 2)
    cols["proto"][idx] = proto
    cols["kind"][idx] = KIND_FLOW
    cols["label"][idx] = 0
    return idx, at


def _payload(pk: Packets, idx: np.ndarray, at: np.ndarray, start: np.ndarray) -> None:
    """Record the payload from ``start`` (relative offset) to the end of the IP payload."""
    end = pk.end[idx]
    start = np.minimum(start, end)
    pk.cols["payload_off"][idx] = at - pk.pos[idx] + start
    pk.cols["payload_len"][idx] = end - start


def _tcp(pk: Packets, idx: np.ndarray) -> None:
    idx, at = _ports(pk, idx, PROTO_TCP)
    pos, end = pk.pos[idx], pk.end[idx]
    has_offset = pos + TCP_OFF_DATA_OFFSET < end
    header = (masked(u8, pk.data, at + TCP_OFF_DATA_OFFSET, has_offset) >> 4) * 4
    bad = has_offset & (header < TCP_HEADER_MIN)
    if bad.any():
        pk.finish(idx[bad], KIND_UNDECODABLE, "bad TCP data offset")
        keep = ~bad
        idx, at, pos, end, header = idx[keep], at[keep], pos[keep], end[keep], header[keep]
        has_offset = has_offset[keep]
    has_flags = pos + TCP_OFF_FLAGS < end
    flags = masked(u8, pk.data, at + TCP_OFF_FLAGS, has_flags)
    cols = pk.cols
    cols["tcp_flags"][idx] = flags
    syn = (flags & TCP_SYN) != 0
    ack = (flags & TCP_ACK) != 0
    cols["handshake"][idx] = np.where(syn, np.where(ack, HS_ACCEPT, HS_OPEN), 0)
    _payload(pk, idx, at, np.where(has_offset, pos + header, end))


def _udp(pk: Packets, idx: np.ndarray) -> None:
    idx, at = _ports(pk, idx, PROTO_UDP)
    _payload(pk, idx, at, pk.pos[idx] + UDP_HEADER)


def _sctp(pk: Packets, idx: np.ndarray) -> None:
    idx, at = _ports(pk, idx, PROTO_SCTP)
    pos, end = pk.pos[idx], pk.end[idx]
    has_chunk = pos + SCTP_COMMON_HEADER < end
    chunk = masked(u8, pk.data, at + SCTP_COMMON_HEADER, has_chunk)
    hs = np.where(chunk == SCTP_CHUNK_INIT, HS_OPEN, 0)
    hs = np.where(chunk == SCTP_CHUNK_INIT_ACK, HS_ACCEPT, hs)
    pk.cols["handshake"][idx] = np.where(has_chunk, hs, 0)
    data_at = SCTP_COMMON_HEADER + SCTP_DATA_CHUNK_HEADER
    has_data = has_chunk & (chunk == SCTP_CHUNK_DATA) & (pos + data_at <= end)
    _payload(pk, idx, at, pos + np.where(has_data, data_at, SCTP_COMMON_HEADER))
    if has_data.any():
        didx, dat = idx[has_data], at[has_data]
        chunk_len = u16(pk.data, dat + SCTP_COMMON_HEADER + 2)
        user = np.maximum(chunk_len - SCTP_DATA_CHUNK_HEADER, 0)
        lens = pk.cols["payload_len"]
        lens[didx] = np.minimum(lens[didx], user)


def _dccp(pk: Packets, idx: np.ndarray) -> None:
    idx, at = _ports(pk, idx, PROTO_DCCP)
    pos, end = pk.pos[idx], pk.end[idx]
    has_generic = pos + DCCP_HEADER_SHORT <= end
    offset = masked(u8, pk.data, at + DCCP_OFF_DATA_OFFSET, has_generic) * 4
    type_byte = masked(u8, pk.data, at + DCCP_OFF_TYPE, has_generic)
    generic = np.where(type_byte & 1, DCCP_HEADER_LONG, DCCP_HEADER_SHORT)
    bad = has_generic & (offset < generic)
    if bad.any():
        pk.finish(idx[bad], KIND_UNDECODABLE, "bad DCCP data offset")
        keep = ~bad
        idx, at, pos, end = idx[keep], at[keep], pos[keep], end[keep]
        has_generic, offset, type_byte = has_generic[keep], offset[keep], type_byte[keep]
    kind = (type_byte >> 1) & 0x0F
    hs = np.where(kind == DCCP_REQUEST, HS_OPEN, np.where(kind == DCCP_RESPONSE, HS_ACCEPT, 0))
    pk.cols["handshake"][idx] = np.where(has_generic, hs, 0)
    _payload(pk, idx, at, np.where(has_generic, pos + offset, end))


def decode_transport(pk: Packets, idx: np.ndarray) -> None:
    """Decode the transport header of packets ``idx`` (``nh`` is one of the four)."""
    nh = pk.nh[idx]
    tcp = nh == PROTO_TCP
    if tcp.all():
        _tcp(pk, idx)
        return
    for proto, decoder in ((PROTO_TCP, _tcp), (PROTO_UDP, _udp), (PROTO_SCTP, _sctp)):
        sel = idx[nh == proto]
        if len(sel):
            decoder(pk, sel)
    sel = idx[nh == PROTO_DCCP]
    if len(sel):
        _dccp(pk, sel)
