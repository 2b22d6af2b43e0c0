"""SSDP (UPnP discovery): ``M-SEARCH * HTTP/1.1`` and ``NOTIFY * HTTP/1.1`` over
UDP, and the unicast HTTP-style answers carrying ST and USN headers."""

from __future__ import annotations

from annotator.evidence.base import Context, Evidence, headers, lines, text

_REQUESTS = (b"M-SEARCH * HTTP/1.1\r\n", b"NOTIFY * HTTP/1.1\r\n", b"M-SEARCH * HTTP/1.0\r\n")


def check_ssdp(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """An SSDP search or announcement, or a search answer with ST/USN headers."""
    for data in (c2s, s2c):
        if data[:1] in (b"M", b"N") and data.upper().startswith(_REQUESTS):
            method = data.split(b" ", 1)[0].upper().decode()
            head = headers(lines(data[:2048], 32)[1:])
            fields = {"method": method}
            target = head.get(b"st") or head.get(b"nt")
            if target:
                fields["search_target"] = text(target, 100)
            detail = f"SSDP {method}" + (f", {fields['search_target']}" if target else "")
            return Evidence("ssdp", None, detail, fields)
    for data in (s2c, c2s):
        if data.startswith(b"HTTP/1.1 200") and ctx.transport == "udp":
            head = headers(lines(data[:2048], 32)[1:])
            if b"usn" in head and b"st" in head:
                return Evidence("ssdp", None, "SSDP search response", {"status": 200})
    return None
