"""LDAP and CLDAP: a BER LDAPMessage (SEQUENCE, messageID, protocolOp).

A simple bind carries the password in clear; its presence (a non-empty simple
credential) is recorded as credentials seen, never the value."""

from __future__ import annotations

from annotator.evidence.base import Context, Evidence, ber_small_int, ber_tlv

OPERATIONS = {
    0x60: "bindRequest",
    0x61: "bindResponse",
    0x42: "unbindRequest",
    0x63: "searchRequest",
    0x64: "searchResEntry",
    0x65: "searchResDone",
    0x66: "modifyRequest",
    0x67: "modifyResponse",
    0x68: "addRequest",
    0x4A: "delRequest",
    0x6C: "modDNRequest",
    0x6E: "compareRequest",
    0x50: "abandonRequest",
    0x77: "extendedRequest",
    0x78: "extendedResponse",
}
SIMPLE_AUTH = 0x80
SASL_AUTH = 0xA3


def _message(data: bytes) -> tuple[str, bool] | None:
    """(operation, simple-bind password present) of an LDAPMessage, or None."""
    outer = ber_tlv(data, 0)
    if outer is None or outer[0] != 0x30:
        return None
    msg_id = ber_small_int(data, outer[1])
    if msg_id is None or msg_id[0] < 0:
        return None
    op = ber_tlv(data, msg_id[1])
    if op is None or op[0] not in OPERATIONS:
        return None
    name = OPERATIONS[op[0]]
    if op[0] != 0x60:
        return name, False
    version = ber_small_int(data, op[1])  # bindRequest: version, name, authentication
    if version is None or version[0] not in (2, 3):
        return None
    dn = ber_tlv(data, version[1])
    if dn is None or dn[0] != 0x04:
        return None
    auth = ber_tlv(data, dn[1] + dn[2])
    if auth is None or auth[0] not in (SIMPLE_AUTH, SASL_AUTH):
        return None
    return name, auth[0] == SIMPLE_AUTH and auth[2] > 0


def check_ldap(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """An LDAP request from the client or a response from the server."""
    for data in (c2s, s2c):
        if data[:1] != b"\x30":
            continue
        found = _message(data)
        if found:
            op, password = found
            fields: dict = {"operation": op}
            detail = f"LDAP {op}"
            if password:
                fields["credentials_mechanism"] = "LDAP simple bind"
                detail += " (simple bind, password in clear)"
            return Evidence("ldap", None, detail, fields, password)
    return None
