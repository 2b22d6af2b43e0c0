"""RTSP: a request line ending in ``RTSP/1.0`` (or 2.0) or an RTSP status line."""

from __future__ import annotations

import re

from annotator.evidence.base import Context, Evidence, first_line, text, without_userinfo

_REQUEST = re.compile(
    rb"(OPTIONS|DESCRIBE|SETUP|PLAY|PAUSE|TEARDOWN|ANNOUNCE|RECORD|GET_PARAMETER|"
    rb"SET_PARAMETER|REDIRECT|PLAY_NOTIFY) (\S+) RTSP/(1\.0|2\.0)"
)
_STATUS = re.compile(rb"RTSP/(1\.0|2\.0) ([1-5][0-9][0-9])(?: .*)?")


def check_rtsp(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """An RTSP request from the client, else an RTSP status line from the server."""
    line = first_line(c2s) if c2s[:1].isupper() else None
    match = _REQUEST.fullmatch(line) if line else None
    if match:
        method = match.group(1).decode()
        url, password = without_userinfo(match.group(2))
        fields = {"method": method, "url": text(url, 200), "version": match.group(3).decode()}
        detail = f"RTSP {method} {fields['url']}"
        if password:  # rtsp://user:password@camera/...: never repeated, only said
            fields["credentials_mechanism"] = "password in the URL"
            detail += ", password in the URL"
        return Evidence("rtsp", None, detail, fields, credentials=password)
    line = first_line(s2c) if s2c.startswith(b"RTSP/") else None
    match = _STATUS.fullmatch(line) if line else None
    if match:
        status = int(match.group(2))
        return Evidence("rtsp", None, f"RTSP response {status}", {"status": status})
    return None
