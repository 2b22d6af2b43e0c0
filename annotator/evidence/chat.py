"""Chat protocols with textual openings: IRC and XMPP."""

from __future__ import annotations

import re

from annotator.evidence.base import Context, Evidence, lines

_IRC_CLIENT = re.compile(
    rb"(CAP LS(?: [0-9]+)?|NICK [^\s]{1,32}|PASS [^\s]+|USER [^\s]+ [^\s]+ [^\s]+ :.*)"
)
_IRC_SERVER = re.compile(rb":[^\s]{1,64} (NOTICE [^\s]+ :.*|[0-9]{3} [^\s]+ .*)")
_XMPP = re.compile(rb"(<\?xml[^>]{0,100}\?>\s*)?<stream:stream\s[^>]*jabber:(client|server)")


def check_irc(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """IRC: the client's registration (NICK/USER/CAP/PASS) and, if seen, a
    server line with a prefix."""
    if c2s[:4] not in (b"NICK", b"USER", b"CAP ", b"PASS"):
        return None
    client = lines(c2s, 4)
    if len(client) < 2 or not all(_IRC_CLIENT.fullmatch(line) for line in client[:2]):
        return None
    server = lines(s2c, 2)
    if s2c and not (server and _IRC_SERVER.fullmatch(server[0])):
        return None
    credentials = client[0].startswith(b"PASS ")
    fields: dict = {}
    if credentials:
        fields["credentials_mechanism"] = "IRC PASS"
    return Evidence("irc", None, "IRC client registration", fields, credentials)


def check_xmpp(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """XMPP: an opening ``<stream:stream>`` in the jabber:client or jabber:server namespace."""
    if c2s[:1] != b"<":
        return None
    match = _XMPP.match(c2s[:1024])
    if match is None:
        return None
    kind = match.group(2).decode()
    return Evidence("xmpp", None, f"XMPP stream ({kind})", {"namespace": f"jabber:{kind}"})
