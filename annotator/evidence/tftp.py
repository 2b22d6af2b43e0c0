"""TFTP (RFC 1350): a read or write request naming a file and a transfer mode."""

from __future__ import annotations

import re

from annotator.evidence.base import Context, Evidence

_REQUEST = re.compile(
    rb"\x00([\x01\x02])[\x20-\x7e]{1,255}\x00(netascii|octet|mail)\x00", re.IGNORECASE
)


def check_tftp(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """A TFTP RRQ/WRQ (its answer comes from another port, so only the request is seen)."""
    match = _REQUEST.match(c2s)
    if match is None:
        return None
    kind = "read request" if match.group(1) == b"\x01" else "write request"
    mode = match.group(2).decode().lower()
    return Evidence("tftp", None, f"TFTP {kind}, mode {mode}", {"request": kind, "mode": mode})
