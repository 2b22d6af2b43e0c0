"""Kerberos v5 (RFC 4120): DER application tags for AS/TGS requests and replies,
AP-REQ and KRB-ERROR, whose first element is ``pvno = 5``.  Over TCP a four-byte
length comes first."""

from __future__ import annotations

from annotator.evidence.base import Context, Evidence, ber_tlv

MESSAGES = {
    0x6A: "AS-REQ",
    0x6B: "AS-REP",
    0x6C: "TGS-REQ",
    0x6D: "TGS-REP",
    0x6E: "AP-REQ",
    0x6F: "AP-REP",
    0x7E: "KRB-ERROR",
}
PVNO_5 = b"\x02\x01\x05"


def _message(data: bytes) -> str | None:
    if not data or data[0] not in MESSAGES:
        return None
    outer = ber_tlv(data, 0)
    if outer is None:
        return None
    seq = ber_tlv(data, outer[1])
    if seq is None or seq[0] != 0x30:
        return None
    first = ber_tlv(data, seq[1])
    # KDC-REQ starts at [1] pvno; KDC-REP, AP-REQ, AP-REP and KRB-ERROR at [0] pvno.
    if first is None or first[0] not in (0xA0, 0xA1) or data[first[1] : first[1] + 3] != PVNO_5:
        return None
    return MESSAGES[data[0]]


def check_kerberos(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """A Kerberos message from the client, else from the server."""
    for data in (c2s, s2c):
        if ctx.transport == "tcp" and len(data) > 4 and data[0] & 0x80 == 0:
            kind = _message(data[4:])
        else:
            kind = _message(data)
        if kind:
            return Evidence("kerberos", None, f"Kerberos {kind}", {"message": kind})
    return None
