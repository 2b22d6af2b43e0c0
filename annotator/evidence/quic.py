"""QUIC: the long header of IETF QUIC (v1, v2, drafts) and Google QUIC.

Only the unencrypted invariants are read (RFC 8999): the header form bit, the
version and the connection-id lengths.  Google QUIC up to Q043 has its own
public header with the version at byte 9.
"""

from __future__ import annotations

from annotator.evidence import quic_initial
from annotator.evidence.base import Context, Evidence, named, server_name
from annotator.evidence.tls import CLIENT_HELLO, hello_facts

V1 = 0x00000001
V2 = 0x6B3343CF
# Long-header packet types of v1; v2 renumbers them (RFC 9369 section 3.2).
TYPES_V1 = ("Initial", "0-RTT", "Handshake", "Retry")
TYPES_V2 = ("Retry", "Initial", "0-RTT", "Handshake")


def version_name(version: int) -> str | None:
    """A readable name for a QUIC version number, or None when unknown."""
    if version == V1:
        return "v1"
    if version == V2:
        return "v2"
    if version >> 8 == 0xFF0000 and 1 <= version & 0xFF <= 34:
        return f"draft-{version & 0xFF}"
    if version >> 4 == 0xFACEB00:  # Facebook's mvfst
        return f"mvfst-{version & 0xF}"
    tag = version.to_bytes(4, "big")
    if tag[:1] in (b"Q", b"T") and tag[1:].isdigit():
        return tag.decode()
    return None


def _gquic_legacy(data: bytes) -> str | None:
    """Google QUIC up to Q043: flags, 8-byte connection id, then the version."""
    if len(data) < 13 or data[0] & 0xC0 or data[0] & 0x09 != 0x09:
        return None
    name = version_name(int.from_bytes(data[9:13], "big"))
    return name if name and name[0] in "QT" and name[1:] <= "043" else None


def _gquic_server_handshake(data: bytes) -> bool:
    """A legacy gQUIC server packet (8-byte connection id, no version) whose
    cleartext crypto frame carries a REJ or SHLO handshake message."""
    if len(data) < 30 or data[0] & 0xC1 or not data[0] & 0x08:
        return False
    window = data[9:48]
    return b"REJ\x00" in window or b"SHLO" in window


def _chlo_sni(data: bytes) -> tuple[str, bool] | None:
    """The SNI tag of a cleartext gQUIC CHLO handshake message: "CHLO", a tag
    count, (tag, end offset) pairs, then the values end to end."""
    pos = data.find(b"CHLO", 0, 80)
    if pos < 0 or pos + 8 > len(data):
        return None
    count = int.from_bytes(data[pos + 4 : pos + 6], "little")
    values = pos + 8 + 8 * count
    start = 0
    for entry in range(pos + 8, min(values, len(data) - 7), 8):
        end = int.from_bytes(data[entry + 4 : entry + 8], "little")
        if data[entry : entry + 4] == b"SNI\x00" and start < end <= len(data) - values:
            return server_name(data[values + start : values + end])
        start = end
    return None


def _long_header(data: bytes) -> tuple[str, str] | None:
    """(version name, packet type) of an IETF-style long header, or None."""
    if len(data) < 7 or not data[0] & 0x80:
        return None
    version = int.from_bytes(data[1:5], "big")
    name = version_name(version)
    if name is None:
        return None
    if name[0] in "QT" and name[1:] < "046":
        return None  # older gQUIC never uses this header
    if not data[0] & 0x40 and name != "v2":
        return None  # the fixed bit
    dcid_len = data[5]
    if name[0] in "QT" and name[1:] == "046":  # Q046: both lengths in one byte
        return name, "Initial"
    if dcid_len > 20:
        return None
    pos = 6 + dcid_len
    if pos >= len(data) or data[pos] > 20:
        return None
    kinds = TYPES_V2 if version == V2 else TYPES_V1
    return name, kinds[(data[0] >> 4) & 3]


def _connection_ids(data: bytes) -> tuple[bytes, bytes] | None:
    """(destination, source) connection ids of a long header, by the invariants."""
    if len(data) < 7 or not data[0] & 0x80 or data[5] > 20:
        return None
    dcid_end = 6 + data[5]
    if dcid_end >= len(data) or data[dcid_end] > 20:
        return None
    scid_end = dcid_end + 1 + data[dcid_end]
    if scid_end > len(data):
        return None
    return data[6:dcid_end], data[dcid_end + 1 : scid_end]


def _version_negotiation(c2s: bytes, s2c: bytes) -> bool:
    """A server's Version Negotiation answering the client's long header: the
    connection ids swapped back, and a list of versions including a known one."""
    if len(s2c) < 11 or s2c[1:5] != b"\0\0\0\0":
        return False
    client, server = _connection_ids(c2s), _connection_ids(s2c)
    if client is None or server is None or server != (client[1], client[0]):
        return False
    pos = 7 + len(server[0]) + len(server[1])
    listed = [int.from_bytes(s2c[i : i + 4], "big") for i in range(pos, len(s2c) - 3, 4)]
    return any(v in (V1, V2) or v >> 8 == 0xFF0000 for v in listed)


def check_quic(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """QUIC long header (client first, then server) or a Version Negotiation."""
    for data, who in ((c2s, "client"), (s2c, "server")):
        legacy = _gquic_legacy(data)
        if legacy:
            chlo = _chlo_sni(data) if who == "client" else None
            legacy_fields: dict[str, object] = {"quic_version": legacy}
            if chlo:
                legacy_fields["sni"] = chlo[0]
            detail = f"gQUIC {legacy}" + (f" CHLO, {named('SNI', *chlo)}" if chlo else "")
            return Evidence("quic", chlo[0] if chlo else None, detail, legacy_fields)
        header = _long_header(data)
        if header:
            name, kind = header
            if who == "client" and kind == "Initial" and name in ("v1", "v2") and len(data) < 1200:
                continue  # a client's Initial is always padded to 1200 bytes
            label = "gQUIC" if name[0] in "QT" else "QUIC"
            fields: dict[str, object] = {"quic_version": name, "packet_type": kind}
            detail = f"{label} {name} {kind} from {who}"
            sni = None
            if who == "client" and kind == "Initial" and label == "QUIC":
                hello = quic_initial.client_hello(data)
                facts = hello_facts(hello, CLIENT_HELLO, dtls=False) if hello else None
                if facts and "sni" in facts:
                    sni = fields["sni"] = facts["sni"]
                    detail += ", " + named("SNI", facts["sni"], facts.get("sni_valid", True))
                if facts and facts.get("alpn"):
                    fields["alpn"] = facts["alpn"]
                    detail += ", ALPN " + ",".join(facts["alpn"])
            return Evidence("quic", sni, detail, fields)
    if _gquic_server_handshake(s2c) and not c2s:
        return Evidence(
            "quic", None, "gQUIC server handshake (REJ/SHLO)", {"quic_version": "gQUIC"}
        )
    if _version_negotiation(c2s, s2c):
        return Evidence("quic", None, "QUIC Version Negotiation", {"packet_type": "VN"})
    return None
