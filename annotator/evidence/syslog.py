"""Syslog (RFC 3164 and RFC 5424): ``<PRI>`` then a timestamp or version and text."""

from __future__ import annotations

import re

from annotator.evidence.base import Context, Evidence

FACILITIES = (
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "audit",
    "alert",
    "clock",
    *(f"local{i}" for i in range(8)),
)
SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
_MESSAGE = re.compile(
    rb"(?:[1-9][0-9]{0,5} )?<(0|[1-9][0-9]?|1[0-8][0-9]|19[01])>"
    rb"(1 [0-9-]|[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:|[0-9]{4}-[0-9]{2}-|[\x20-\x7e]{8})"
)


def check_syslog(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """A syslog message from the sender (TCP may use octet counting)."""
    if c2s[:1] != b"<" and not (ctx.transport == "tcp" and c2s[:1].isdigit()):
        return None
    match = _MESSAGE.match(c2s)
    if match is None or (s2c and ctx.transport == "udp"):
        return None
    pri = int(match.group(1))
    facility, severity = FACILITIES[pri >> 3], SEVERITIES[pri & 7]
    fields = {
        "facility": facility,
        "severity": severity,
        "format": "RFC 5424" if match.group(2).startswith(b"1 ") else "RFC 3164",
    }
    return Evidence("syslog", None, f"Syslog {facility}.{severity}", fields)
