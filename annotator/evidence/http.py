"""HTTP/1.x (request line, Host, status line) and HTTP/2 (preface, h2c upgrade)."""

from __future__ import annotations

import re

from annotator.evidence.base import (
    Context,
    Evidence,
    headers,
    lines,
    named,
    server_name,
    text,
    without_userinfo,
)

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

METHODS = frozenset(
    b"GET POST HEAD PUT DELETE OPTIONS PATCH CONNECT TRACE PROPFIND PROPPATCH MKCOL COPY MOVE "
    b"LOCK UNLOCK SEARCH REPORT MKCALENDAR BPROPFIND SUBSCRIBE UNSUBSCRIBE PURGE NOTIFY".split()
)
_REQUEST = re.compile(rb"([A-Z]{3,12}) (\S.*?) HTTP/(1\.[01]|0\.9)")
_STATUS = re.compile(rb"HTTP/(1\.[01]) ([1-5][0-9][0-9])(?: |$)")


def request_line(data: bytes) -> tuple[bytes, bytes, bytes] | None:
    """(method, target, version) of an HTTP/1.x request line at the start of ``data``."""
    head = lines(data[:4096], 1)
    if head:
        match = _REQUEST.fullmatch(head[0])
        if match and match.group(1) in METHODS:
            return match.group(1), match.group(2), match.group(3)
        return None
    # A request line longer than what was captured: method and an absolute target.
    space = data.find(b" ", 0, 13)
    if space > 2 and data[:space] in METHODS and data[space + 1 : space + 2] in (b"/", b"h"):
        target = data[space + 1 :]
        if target.startswith((b"/", b"http://", b"https://")) and b"\n" not in target:
            return data[:space], target.split(b" ")[0], b"?"
    return None


def status_code(data: bytes) -> int | None:
    """The status code of an HTTP/1.x status line at the start of ``data``."""
    if not data.startswith(b"HTTP/1."):
        return None
    end = data.find(b"\n", 0, 512)
    line = data[: end if end >= 0 else 512].rstrip(b"\r")
    match = _STATUS.match(line)
    return int(match.group(2)) if match else None


def _host(head: dict[bytes, bytes]) -> tuple[str, bool] | None:
    """The Host header without its port or user information, and whether it
    is a host name (see :func:`~annotator.evidence.base.server_name`); an
    IPv6 literal counts as one."""
    value = head.get(b"host")
    if value is None:
        return None
    at = value.rfind(b"@")
    if at >= 0:  # user:password@host is not a Host header, but clients send it
        value = value[at + 1 :]
    if value.startswith(b"["):  # IPv6 literal
        return text(value.split(b"]")[0] + b"]", 80), True
    host = value.rsplit(b":", 1)[0] if value.count(b":") == 1 else value
    return server_name(host)


def check_http2(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """The HTTP/2 connection preface sent in clear (prior knowledge h2c)."""
    if c2s.startswith(H2_PREFACE[: min(len(c2s), len(H2_PREFACE))]) and len(c2s) >= 16:
        return Evidence("http2", None, "HTTP/2 connection preface (cleartext)", {"version": "2"})
    return None


def check_http(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """HTTP/1.x: a request line from the client or a status line from the server."""
    request = request_line(c2s) if c2s[:1].isupper() else None
    status = status_code(s2c) if s2c[:1] == b"H" else None
    if request is None and status is None:
        # A flow whose first captured client bytes are a response (the capture
        # began after the request): the server direction may carry a request.
        status = status_code(c2s) if c2s[:1] == b"H" else None
        if status is None:
            return None
    fields: dict = {}
    parts = []
    host = None
    credentials = False
    if request is not None:
        method, target, version = request
        head = headers(lines(c2s[:4096], 64)[1:])
        found = _host(head)
        fields.update(method=method.decode(), path=text(target, 200), version=version.decode())
        parts.append(f"HTTP {method.decode()}")
        if found:
            host = found[0]
            fields["host"] = host
            parts.append(named("Host", *found))
        auth = head.get(b"authorization")
        if auth is not None and auth[:6].lower() == b"basic ":
            credentials = True
            fields["credentials_mechanism"] = "HTTP Basic"
        elif without_userinfo(head.get(b"host", b""))[1]:
            credentials = True
            fields["credentials_mechanism"] = "password in the Host header"
        upgrade = head.get(b"upgrade")
        if upgrade is not None and upgrade.lower().startswith(b"h2c"):
            fields["upgrade"] = "h2c"
            parts.append("upgrade h2c")
        agent = head.get(b"user-agent")
        if agent:
            fields["user_agent"] = text(agent, 120)
    if status is not None:
        fields["status"] = status
        if not parts:
            parts.append("HTTP response")
        parts.append(str(status))
    protocol = "http2" if fields.get("upgrade") == "h2c" else "http"
    if credentials:
        parts.append(
            "Basic credentials in clear"
            if fields["credentials_mechanism"] == "HTTP Basic"
            else "password in the Host header"
        )
    return Evidence(protocol, host, ", ".join(parts), fields, credentials)
