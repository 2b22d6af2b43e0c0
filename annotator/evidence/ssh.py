"""SSH: the identification string ``SSH-protoversion-softwareversion``."""

from __future__ import annotations

import re

from annotator.evidence.base import Context, Evidence, text

_BANNER = re.compile(
    rb"SSH-(2\.0|1\.99|1\.5|1\.3)-([\x21-\x2c\x2e-\x7e][\x21-\x7e]*)(?: [^\r\n]*)?\r?\n?"
)


def _banner(data: bytes) -> tuple[str, str, str] | None:
    if not data.startswith(b"SSH-"):
        return None
    end = data.find(b"\n", 0, 256)
    line = data[: end + 1] if end >= 0 else data[:255]
    match = _BANNER.fullmatch(line)
    if match is None:
        return None
    return match.group(1).decode(), text(match.group(2), 80), text(line.rstrip(b"\r\n"), 120)


def check_ssh(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """An SSH identification string from the server (preferred) or the client."""
    server = _banner(s2c)
    client = _banner(c2s)
    if server is None and client is None:
        return None
    version, software, line = server or client  # type: ignore[misc]
    fields = {"version": version, "software": software, "banner": line}
    if server and client:
        fields["client_software"] = client[1]
    return Evidence("ssh", None, line, fields)
