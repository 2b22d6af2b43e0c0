"""Telnet: option negotiation (IAC WILL/WONT/DO/DONT) and login prompts."""

from __future__ import annotations

import re

from annotator.evidence.base import Context, Evidence

IAC = 0xFF
SB = 0xFA  # subnegotiation begin
WILL, WONT, DO, DONT = 0xFB, 0xFC, 0xFD, 0xFE
_PROMPT = re.compile(rb"(login|username|user name|password)\s*:", re.IGNORECASE)


def _negotiates(data: bytes) -> bool:
    """Starts with IAC WILL/WONT/DO/DONT/SB and a known option, then more of the same
    (or nothing more)."""
    if len(data) < 3 or data[0] != IAC or not (data[1] == SB or WILL <= data[1] <= DONT):
        return False
    if data[2] > 49 and data[2] != 0xFF:
        return False
    return len(data) == 3 or data[3] == IAC


_TEXT = re.compile(rb"[\x20-\x7e\r\n\t]+")
_PROMPT_AT_LINE_END = re.compile(rb"(?im)^.{0,60}\b(login|username|user name)\s*:\s*$")


def _bare_login(s2c: bytes) -> bool:
    """A terminal greeting without negotiation: plain text ending a line with a
    login prompt (the server then waits for the user to type)."""
    return (
        8 <= len(s2c) <= 1024
        and _TEXT.fullmatch(s2c) is not None
        and _PROMPT_AT_LINE_END.search(s2c) is not None
    )


def check_telnet_login(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """A telnet-style login without option negotiation (embedded devices).  It
    runs after every text protocol, so a greeting of theirs is never taken for it."""
    if not _bare_login(s2c) or (c2s and _TEXT.fullmatch(c2s) is None):
        return None
    credentials = bool(c2s.strip())
    fields: dict = {"login_prompt": True, "negotiation": False}
    if credentials:
        fields["credentials_mechanism"] = "telnet login"
    return Evidence(
        "telnet", None, "Telnet login prompt (no option negotiation)", fields, credentials
    )


def check_telnet(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """Telnet option negotiation from either side."""
    if not (_negotiates(s2c) or _negotiates(c2s)):
        return None
    typed = bytes(b for b in c2s if 0x20 <= b < 0x7F)
    prompted = _PROMPT.search(s2c) is not None
    credentials = prompted and len(typed) > 0
    fields: dict = {"login_prompt": prompted}
    if credentials:
        fields["credentials_mechanism"] = "telnet login"
    detail = "Telnet option negotiation" + (", login prompt" if prompted else "")
    return Evidence("telnet", None, detail, fields, credentials)
