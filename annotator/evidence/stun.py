"""STUN and TURN (RFC 8489/8656): the 20-byte header with the magic cookie
0x2112A442, or a classic RFC 3489 message whose attributes parse exactly."""

from __future__ import annotations

from dataclasses import replace

from annotator.evidence.base import Context, Evidence, against_roles
from annotator.evidence.tls import check_dtls

MAGIC_COOKIE = b"\x21\x12\xa4\x42"
CLASSES = ("request", "indication", "success response", "error response")
METHODS = {
    1: "Binding",
    2: "SharedSecret",
    3: "Allocate",
    4: "Refresh",
    6: "Send",
    7: "Data",
    8: "CreatePermission",
    9: "ChannelBind",
    10: "Connect",
}


def _message(data: bytes) -> tuple[str, str] | None:
    if len(data) < 20 or data[0] & 0xC0:
        return None
    msg_type = int.from_bytes(data[0:2], "big")
    length = int.from_bytes(data[2:4], "big")
    if length % 4:
        return None
    method = (msg_type & 0xF) | ((msg_type >> 1) & 0x70) | ((msg_type >> 2) & 0xF80)
    klass = CLASSES[((msg_type >> 4) & 1) | ((msg_type >> 7) & 2)]
    if data[4:8] == MAGIC_COOKIE:
        return METHODS.get(method, f"method {method:#x}"), klass
    # Classic STUN: no cookie, so demand a known method and attributes that fill
    # the message exactly.
    if method not in (1, 2) or length == 0 or len(data) < 20 + length:
        return None
    pos, end = 20, 20 + length
    while pos + 4 <= end:
        attr_len = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if int.from_bytes(data[pos : pos + 2], "big") > 0x8030:
            return None
        pos += 4 + attr_len
    return (METHODS[method], klass) if pos == end else None


def _after_stun(data: bytes) -> bytes:
    """What follows the leading run of cookie-carrying STUN messages in ``data``."""
    pos = 0
    while len(data) - pos >= 20 and data[pos + 4 : pos + 8] == MAGIC_COOKIE:
        pos += 20 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return data[pos:]


def check_stun(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """A STUN/TURN message from either side (over TCP possibly with RFC 4571 framing).

    The first message found (the client's first) gives the roles: a request
    from the server's side, or a response from the client's, says they are
    the other way round; an indication says nothing.
    """
    for data, from_client in ((c2s, True), (s2c, False)):
        found = _message(data)
        if found is None and ctx.transport == "tcp" and len(data) > 22:
            framed = int.from_bytes(data[:2], "big")
            found = _message(data[2:]) if framed >= 20 else None
        if found:
            method, klass = found
            request = None if klass == "indication" else klass == "request"
            roles_reversed = against_roles(request, from_client)
            # WebRTC multiplexes ICE (STUN) and DTLS on one port: when the client's
            # DTLS handshake follows its STUN checks, the flow carries DTLS.
            rest_c2s, rest_s2c = _after_stun(c2s), _after_stun(s2c)
            if ctx.transport == "udp" and (rest_c2s or rest_s2c):
                dtls = check_dtls(rest_c2s, rest_s2c, ctx)
                if dtls is not None:
                    detail = f"{dtls.detail} after STUN (WebRTC)"
                    return replace(dtls, detail=detail, roles_reversed=roles_reversed)
            fields = {"method": method, "class": klass}
            return Evidence("stun", None, f"STUN {method} {klass}", fields,
                            roles_reversed=roles_reversed)  # fmt: skip
    return None
