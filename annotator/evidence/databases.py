"""Database wire protocols: PostgreSQL, MySQL/MariaDB and MongoDB."""

from __future__ import annotations

import re
import struct

from annotator.evidence.base import Context, Evidence, text

PG_PROTOCOL_3 = 0x00030000
PG_SPECIAL = {80877103: "SSLRequest", 80877104: "GSSENCRequest", 80877102: "CancelRequest"}
PG_AUTH_CLEARTEXT = 3
_MYSQL_VERSION = re.compile(rb"[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{1,3}[\x20-\x7e]{0,60}\x00")
MONGO_OPCODES = {1: "OP_REPLY", 2004: "OP_QUERY", 2013: "OP_MSG", 2012: "OP_COMPRESSED"}


def check_postgresql(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """PostgreSQL startup message (protocol 3.0 and ``user`` parameter) or one of
    the 8/16-byte special requests (SSL, GSS encryption, cancel)."""
    if len(c2s) < 8 or c2s[0] != 0:
        return None
    length, code = struct.unpack_from("!II", c2s)
    if code in PG_SPECIAL and length == (16 if code == 80877102 else 8):
        kind = PG_SPECIAL[code]
        return Evidence("postgresql", None, f"PostgreSQL {kind}", {"message": kind})
    if code != PG_PROTOCOL_3 or not 9 <= length <= 10000 or b"user\x00" not in c2s[8:length]:
        return None
    fields: dict = {"version": "3.0", "message": "StartupMessage"}
    credentials = (
        s2c[:1] == b"R"
        and len(s2c) >= 9
        and struct.unpack_from("!II", s2c, 1) == (8, PG_AUTH_CLEARTEXT)
    )
    if credentials:
        fields["credentials_mechanism"] = "PostgreSQL cleartext password"
    return Evidence("postgresql", None, "PostgreSQL StartupMessage 3.0", fields, credentials)


def check_mysql(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """MySQL/MariaDB initial handshake (protocol 10) sent by the server."""
    if len(s2c) < 40 or s2c[3] != 0 or s2c[4] != 10:
        return None
    length = int.from_bytes(s2c[0:3], "little")
    match = _MYSQL_VERSION.match(s2c, 5)
    if match is None or not 40 <= length <= 1024:
        return None
    version = text(match.group(0)[:-1], 60)
    return Evidence("mysql", None, f"MySQL handshake, server {version}", {"version": version})


def _mongo(data: bytes) -> str | None:
    if len(data) < 21:
        return None
    length, _, _, opcode = struct.unpack_from("<iiii", data)
    if opcode not in MONGO_OPCODES or not 21 <= length <= 48 * 1024 * 1024:
        return None
    if opcode == 2013 and (
        data[20] not in (0, 1) or int.from_bytes(data[16:20], "little") & 0xFFFC
    ):
        return None
    if opcode == 2004 and b"\x00" not in data[20:200]:
        return None
    return MONGO_OPCODES[opcode]


def check_mongodb(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """MongoDB wire protocol: a client request (OP_MSG, OP_QUERY, compressed) and,
    when the server answered, a reply whose responseTo is the request's id."""
    opcode = _mongo(c2s)
    if opcode is None or opcode == "OP_REPLY":
        return None
    if s2c and (_mongo(s2c) is None or s2c[8:12] != c2s[4:8]):
        return None
    return Evidence("mongodb", None, f"MongoDB {opcode}", {"opcode": opcode})
