"""TLS and DTLS: record headers, ClientHello/ServerHello with SNI and ALPN.

The ClientHello parser walks as far as the bytes go, so a hello cut off at
2 KiB still yields the SNI when it lies inside the captured part.
"""

from __future__ import annotations

import struct

from annotator.evidence.base import Context, Evidence, named, server_name, text

# Record content types (RFC 8446 section 5.1).
CHANGE_CIPHER_SPEC = 20
ALERT = 21
HANDSHAKE = 22
APPLICATION_DATA = 23

# Handshake message types.
CLIENT_HELLO = 1
SERVER_HELLO = 2
HELLO_VERIFY_REQUEST = 3  # DTLS only

# Extension numbers.
EXT_SERVER_NAME = 0
EXT_ALPN = 16
EXT_SUPPORTED_VERSIONS = 43

TLS_VERSIONS = {
    0x0300: "SSL 3.0",
    0x0301: "TLS 1.0",
    0x0302: "TLS 1.1",
    0x0303: "TLS 1.2",
    0x0304: "TLS 1.3",
}
DTLS_VERSIONS = {0xFEFF: "DTLS 1.0", 0xFEFD: "DTLS 1.2", 0xFEFC: "DTLS 1.3"}

MAX_RECORD = 16384 + 2048  # plaintext limit plus the largest expansion allowed


def _tls_record_ok(data: bytes, pos: int = 0) -> bool:
    """A plausible TLS record header at ``pos``."""
    if len(data) < pos + 5:
        return False
    ctype, major, minor, length = data[pos], data[pos + 1], data[pos + 2], data[pos + 3 : pos + 5]
    return (
        CHANGE_CIPHER_SPEC <= ctype <= APPLICATION_DATA
        and major == 3
        and minor <= 4
        and 0 < int.from_bytes(length, "big") <= MAX_RECORD
    )


def _handshake_stream(data: bytes) -> bytes:
    """The handshake bytes carried by the leading run of TLS handshake records."""
    out = bytearray()
    pos = 0
    while _tls_record_ok(data, pos) and data[pos] == HANDSHAKE:
        length = int.from_bytes(data[pos + 3 : pos + 5], "big")
        out += data[pos + 5 : pos + 5 + length]
        pos += 5 + length
    return bytes(out)


def _parse_extensions(data: bytes, pos: int, facts: dict, *, server: bool) -> None:
    """Read SNI, ALPN and supported_versions from the extension block at ``pos``."""
    if pos + 2 > len(data):
        return
    end = min(len(data), pos + 2 + int.from_bytes(data[pos : pos + 2], "big"))
    pos += 2
    while pos + 4 <= end:
        ext_type, ext_len = struct.unpack_from("!HH", data, pos)
        body = data[pos + 4 : pos + 4 + ext_len]
        pos += 4 + ext_len
        if len(body) < ext_len:
            return  # cut off inside this extension
        if ext_type == EXT_SERVER_NAME and not server and len(body) >= 5 and body[2] == 0:
            name_len = int.from_bytes(body[3:5], "big")
            raw = body[5 : 5 + name_len]
            found = server_name(raw) if len(raw) == name_len else None
            if found is not None:
                facts["sni"], facts["sni_valid"] = found
        elif ext_type == EXT_ALPN and len(body) >= 3:
            protos, i = [], 2
            while i < len(body):
                n = body[i]
                protos.append(text(body[i + 1 : i + 1 + n], 40))
                i += 1 + n
            facts["alpn"] = protos
        elif ext_type == EXT_SUPPORTED_VERSIONS:
            if server and len(body) == 2:
                facts["version_code"] = int.from_bytes(body, "big")
            elif not server and body:
                offered = [int.from_bytes(body[i : i + 2], "big") for i in range(1, len(body), 2)]
                known = [v for v in offered if v in TLS_VERSIONS or v in DTLS_VERSIONS]
                if known:
                    facts["version_code"] = max(known) if known[0] < 0xFE00 else min(known)


def hello_facts(hs: bytes, want: int, *, dtls: bool) -> dict | None:
    """Facts of the hello of type ``want`` at the start of handshake bytes ``hs``."""
    header = 12 if dtls else 4
    if len(hs) < header + 2 or hs[0] != want:
        return None
    length = int.from_bytes(hs[1:4], "big")
    if length < 38 or length > 1 << 17:
        return None
    body = hs[header : header + length]
    version = int.from_bytes(body[0:2], "big")
    if (version not in DTLS_VERSIONS) if dtls else (version not in TLS_VERSIONS):
        return None
    facts: dict = {"version_code": version}
    pos = 2 + 32
    if pos >= len(body):
        return facts
    sid_len = body[pos]
    if sid_len > 32:
        return None
    pos += 1 + sid_len
    if want == CLIENT_HELLO:
        if dtls:  # the cookie (empty in a first ClientHello)
            if pos >= len(body):
                return facts
            pos += 1 + body[pos]
        if pos + 2 > len(body):
            return facts
        suites = int.from_bytes(body[pos : pos + 2], "big")
        if suites % 2 or suites == 0:
            return None
        pos += 2 + suites
        if pos >= len(body):
            return facts
        pos += 1 + body[pos]  # compression methods
    else:
        pos += 3  # chosen cipher suite and compression method
    _parse_extensions(body, pos, facts, server=want != CLIENT_HELLO)
    return facts


def _describe(kind: str, facts: dict, versions: dict[int, str]) -> Evidence:
    protocol = "dtls" if versions is DTLS_VERSIONS else "tls"
    version = versions.get(facts.get("version_code", 0))
    fields: dict = {"handshake": kind}
    if version:
        fields["version"] = version
    parts = [f"{version or protocol.upper()} {kind}"]
    if "sni" in facts:
        fields["sni"] = facts["sni"]
        parts.append(named("SNI", facts["sni"], facts.get("sni_valid", True)))
    if facts.get("alpn"):
        fields["alpn"] = facts["alpn"]
        parts.append("ALPN " + ",".join(facts["alpn"]))
    return Evidence(protocol, facts.get("sni"), ", ".join(parts), fields)


def _sslv2_client_hello(data: bytes) -> bool:
    """An SSLv2-format ClientHello (two-byte header with the high bit set)."""
    return (
        len(data) >= 11
        and bool(data[0] & 0x80)
        and data[2] == CLIENT_HELLO
        and data[3:5] in (b"\x00\x02", b"\x03\x00", b"\x03\x01", b"\x03\x02", b"\x03\x03")
        and ((data[0] & 0x7F) << 8 | data[1]) >= 9 + int.from_bytes(data[5:7], "big")
    )


def check_tls(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """TLS: a ClientHello from the client or ServerHello from the server; failing
    those, a chain of well-formed records (a flow captured mid-session)."""
    c_ok = _tls_record_ok(c2s)
    s_ok = _tls_record_ok(s2c)
    if not (c_ok or s_ok):
        return (
            Evidence("tls", None, "SSL 2 ClientHello", {"version": "SSL 2"})
            if (_sslv2_client_hello(c2s))
            else None
        )
    if c_ok and c2s[0] == HANDSHAKE:
        facts = hello_facts(_handshake_stream(c2s), CLIENT_HELLO, dtls=False)
        if facts is not None:
            if s_ok and s2c[0] == HANDSHAKE:
                server = hello_facts(_handshake_stream(s2c), SERVER_HELLO, dtls=False)
                if server and "version_code" in server:
                    facts["version_code"] = server["version_code"]
            return _describe("ClientHello", facts, TLS_VERSIONS)
    if s_ok and s2c[0] == HANDSHAKE:
        facts = hello_facts(_handshake_stream(s2c), SERVER_HELLO, dtls=False)
        if facts is not None:
            return _describe("ServerHello", facts, TLS_VERSIONS)
    for data, ok in ((c2s, c_ok), (s2c, s_ok)):
        if ok and data[0] != HANDSHAKE and _record_chain(data):
            version = TLS_VERSIONS.get(int.from_bytes(data[1:3], "big"), "TLS")
            return Evidence(
                "tls",
                None,
                f"{version} records (handshake not seen)",
                {"version": version, "handshake": "not seen"},
            )
    return None


def _record_chain(data: bytes) -> bool:
    """Consecutive records that all parse, ending at or past the end of ``data``."""
    pos = 0
    count = 0
    while pos < len(data):
        if len(data) - pos < 5:  # a header cut off by the capture limit
            rest = data[pos:]
            return (
                CHANGE_CIPHER_SPEC <= rest[0] <= APPLICATION_DATA
                and rest[1:3] == data[1:3][: len(rest) - 1]
            )
        if not _tls_record_ok(data, pos) or data[pos + 1 : pos + 3] != data[1:3]:
            return False
        pos += 5 + int.from_bytes(data[pos + 3 : pos + 5], "big")
        count += 1
    return count >= 1


def _dtls_record_ok(data: bytes, pos: int = 0) -> bool:
    if len(data) < pos + 13:
        return False
    version = int.from_bytes(data[pos + 1 : pos + 3], "big")
    length = int.from_bytes(data[pos + 11 : pos + 13], "big")
    return (
        CHANGE_CIPHER_SPEC <= data[pos] <= APPLICATION_DATA
        and version in DTLS_VERSIONS
        and 0 < length <= MAX_RECORD
    )


def check_dtls(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """DTLS: the 13-byte record header with a DTLS version; hellos parsed."""
    for data, want, kind in (
        (c2s, CLIENT_HELLO, "ClientHello"),
        (s2c, SERVER_HELLO, "ServerHello"),
    ):
        if _dtls_record_ok(data) and data[0] == HANDSHAKE:
            length = int.from_bytes(data[11:13], "big")
            facts = hello_facts(data[13 : 13 + length], want, dtls=True)
            if facts is not None:
                return _describe(kind, facts, DTLS_VERSIONS)
            if len(data) > 13 and data[13] == HELLO_VERIFY_REQUEST:
                return _describe("HelloVerifyRequest", {}, DTLS_VERSIONS)
    for data in (c2s, s2c):
        # Records past the handshake: a small epoch and a sequence number far
        # below 2**48, then the next record or the end of what was captured.
        if _dtls_record_ok(data) and data[3] == 0 and data[5:7] == b"\0\0":
            length = int.from_bytes(data[11:13], "big")
            nxt = 13 + length
            if nxt >= len(data) or _dtls_record_ok(data, nxt):
                version = DTLS_VERSIONS[int.from_bytes(data[1:3], "big")]
                return Evidence("dtls", None, f"{version} records", {"version": version})
    return None
