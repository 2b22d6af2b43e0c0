"""Redis: RESP arrays of bulk strings from the client (``*2\\r\\n$3\\r\\nGET\\r\\n...``)."""

from __future__ import annotations

import re

from annotator.evidence.base import Context, Evidence, text

_ARRAY = re.compile(
    rb"\*([1-9][0-9]{0,3})\r\n\$([1-9][0-9]{0,8})\r\n([A-Za-z][A-Za-z._-]{0,31})\r\n"
)
_REPLIES = (b"+", b"-", b":", b"$", b"*", b"%", b"_", b"#", b",", b"(", b"=", b"~", b">", b"|")


def check_redis(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """A RESP command array whose first bulk string is the command name; the
    server, if it answered, answers in RESP."""
    if c2s[:1] != b"*":
        return None
    match = _ARRAY.match(c2s)
    if match is None or int(match.group(2)) != len(match.group(3)):
        return None
    if s2c and not s2c.startswith(_REPLIES):
        return None
    command = text(match.group(3), 32).upper()
    fields: dict = {"command": command}
    credentials = command == "AUTH" or (command == "HELLO" and b"AUTH" in c2s[:200].upper())
    if credentials:
        fields["credentials_mechanism"] = "Redis AUTH"
    return Evidence("redis", None, f"Redis {command}", fields, credentials)
