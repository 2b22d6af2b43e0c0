"""SIP: a request line ``METHOD sip:uri SIP/2.0`` or a ``SIP/2.0 NNN`` status line."""

from __future__ import annotations

import re

from annotator.evidence.base import Context, Evidence, first_line, text, without_userinfo

_REQUEST = re.compile(
    rb"(INVITE|REGISTER|OPTIONS|ACK|BYE|CANCEL|SUBSCRIBE|NOTIFY|MESSAGE|INFO|PRACK|UPDATE|"
    rb"REFER|PUBLISH) ((?:sips?|tel|urn):\S+) SIP/2\.0"
)
_STATUS = re.compile(rb"SIP/2\.0 ([1-6][0-9][0-9])(?: .*)?")


def check_sip(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """A SIP request or response in either direction (SIP peers are symmetric)."""
    for data in (c2s, s2c):
        if not data[:1].isupper():
            continue
        line = first_line(data)
        if line is None:
            continue
        match = _REQUEST.fullmatch(line)
        if match:
            method = match.group(1).decode()
            cleaned, password = without_userinfo(match.group(2))
            uri = text(cleaned, 120)
            fields = {"method": method, "uri": uri}
            detail = f"SIP {method} {uri}"
            if password:  # sip:user:password@host, deprecated but still sent
                fields["credentials_mechanism"] = "password in the SIP URI"
                detail += ", password in the URI"
            return Evidence("sip", None, detail, fields, credentials=password)
        match = _STATUS.fullmatch(line)
        if match:
            status = int(match.group(1))
            return Evidence("sip", None, f"SIP response {status}", {"status": status})
    return None
