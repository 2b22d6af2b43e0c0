"""NetBIOS over TCP/IP (RFC 1002): name service (UDP 137), datagram service
(UDP 138) and the session service's own requests (TCP 139).

All three carry NetBIOS names in the "first-level encoding": a 32-byte label of
letters A-P, two per byte of the 16-byte name.  That encoding is what the
fingerprints look for.
"""

from __future__ import annotations

import struct

from annotator.evidence.base import Context, Evidence, text

NS_OPCODES = {0: "query", 5: "registration", 6: "release", 7: "WACK", 8: "refresh", 9: "refresh"}
DGM_TYPES = {
    0x10: "direct unique",
    0x11: "direct group",
    0x12: "broadcast",
    0x13: "error",
    0x14: "query request",
    0x15: "positive query response",
    0x16: "negative query response",
}
SESSION_TYPES = {
    0x81: "session request",
    0x82: "positive session response",
    0x83: "negative session response",
}


def decode_name(data: bytes, pos: int) -> tuple[str, int] | None:
    """A first-level encoded NetBIOS name at ``pos`` (length byte 32, letters A-P,
    optional scope labels, root label): (name and suffix, position after it)."""
    if len(data) < pos + 34 or data[pos] != 32:
        return None
    encoded = data[pos + 1 : pos + 33]
    if any(not 0x41 <= b <= 0x50 for b in encoded):
        return None
    raw = bytes(((encoded[i] - 0x41) << 4) | (encoded[i + 1] - 0x41) for i in range(0, 32, 2))
    pos += 33
    while pos < len(data) and data[pos] != 0:  # scope labels
        if data[pos] > 63:
            return None
        pos += 1 + data[pos]
    if pos >= len(data):
        return None
    return f"{text(raw[:15].rstrip(b' '), 15)}<{raw[15]:02x}>", pos + 1


def check_netbios_ns(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """NetBIOS name service: a DNS-like header whose first name is NetBIOS-encoded."""
    for data in (c2s, s2c):
        if len(data) < 50:
            continue
        _, flags, qd, an, ns, ar = struct.unpack_from("!6H", data)
        opcode = (flags >> 11) & 0xF
        if opcode not in NS_OPCODES or qd + an == 0 or max(qd, an, ns, ar) > 8:
            continue
        name = decode_name(data, 12)
        if name is None or len(data) < name[1] + 4:
            continue
        kind = "response" if flags & 0x8000 else NS_OPCODES[opcode]
        fields = {"netbios_name": name[0], "opcode": NS_OPCODES[opcode]}
        return Evidence("netbios-ns", None, f"NetBIOS name {kind} {name[0]}", fields)
    return None


def check_netbios_dgm(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """NetBIOS datagram service: message type, source address, encoded names."""
    data = c2s or s2c
    if len(data) < 82 or data[0] not in (0x10, 0x11, 0x12):
        return None
    source = decode_name(data, 14)
    if source is None or decode_name(data, source[1]) is None:
        return None
    fields = {"netbios_name": source[0], "message": DGM_TYPES[data[0]]}
    return Evidence(
        "netbios-dgm", None, f"NetBIOS datagram {DGM_TYPES[data[0]]} from {source[0]}", fields
    )


def check_nbss(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """NetBIOS session service request naming the called and calling names."""
    if len(c2s) < 72 or c2s[0] != 0x81 or c2s[1] & 0xFE:
        return None
    called = decode_name(c2s, 4)
    if called is None or decode_name(c2s, called[1]) is None:
        return None
    fields = {"netbios_name": called[0]}
    return Evidence("nbss", None, f"NetBIOS session request to {called[0]}", fields)
