"""RDP: a TPKT header (version 3) carrying an X.224 Connection Request with
the RDP routing cookie or RDP negotiation request, or the matching Confirm.

Other protocols (S7comm, ISO-TSAP) also open with TPKT and X.224, so a bare
Connection Request is not enough: the RDP-specific part must be present.
"""

from __future__ import annotations

from annotator.evidence.base import Context, Evidence

X224_CONNECTION_REQUEST = 0xE0
X224_CONNECTION_CONFIRM = 0xD0
NEG_REQUEST, NEG_RESPONSE, NEG_FAILURE = 1, 2, 3
PROTOCOLS = {0: "standard RDP", 1: "TLS", 2: "CredSSP", 8: "RDSTLS", 4: "RDSTLS", 0x10: "RDP-AAD"}


def _x224(data: bytes, code: int) -> bytes | None:
    """The X.224 variable part of a TPKT-framed TPDU of type ``code``."""
    if len(data) < 11 or data[0] != 3 or data[1] != 0:
        return None
    length = int.from_bytes(data[2:4], "big")
    if length < 11 or data[4] != length - 5 or data[5] & 0xF0 != code:
        return None
    return data[11:length]


def check_rdp(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """RDP Connection Request with cookie/negotiation, or a Confirm with RDP_NEG_RSP."""
    rest = _x224(c2s, X224_CONNECTION_REQUEST)
    fields: dict = {}
    if rest is not None:
        if rest.startswith(b"Cookie: mstshash="):
            end = rest.find(b"\r\n")
            fields["cookie"] = "mstshash"
            rest = rest[end + 2 :] if end > 0 else b""  # the cookie's user name is not kept
        elif rest.startswith(b"Cookie: msts="):
            fields["cookie"] = "msts"
            rest = rest[rest.find(b"\r\n") + 2 :] if b"\r\n" in rest else b""
        if len(rest) == 8 and rest[0] == NEG_REQUEST and rest[2:4] == b"\x08\x00":
            requested = int.from_bytes(rest[4:8], "little")
            fields["requested_protocols"] = requested
        if fields:
            detail = "RDP Connection Request" + (
                f", cookie {fields['cookie']}" if "cookie" in fields else ""
            )
            return Evidence("rdp", None, detail, fields)
    rest = _x224(s2c, X224_CONNECTION_CONFIRM)
    if (
        rest is not None
        and len(rest) == 8
        and rest[0] in (NEG_RESPONSE, NEG_FAILURE)
        and rest[2:4] == b"\x08\x00"
    ):
        if rest[0] == NEG_RESPONSE:
            chosen = PROTOCOLS.get(int.from_bytes(rest[4:8], "little"), "unknown")
            return Evidence("rdp", None, f"RDP Connection Confirm, {chosen}", {"security": chosen})
        return Evidence("rdp", None, "RDP Connection Confirm, negotiation failure", {})
    return None
