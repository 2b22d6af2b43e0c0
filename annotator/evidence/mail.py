"""The three cleartext mail protocols: SMTP, POP3 and IMAP.

Each is recognised by the server's greeting or the client's first command.
Credentials count as "seen in clear" when the client authenticates with a
password mechanism before any STARTTLS/STLS; the values are never kept.
"""

from __future__ import annotations

import re

from annotator.evidence.base import Context, Evidence, first_line, lines, text

SMTP_COMMANDS = (b"EHLO ", b"HELO ", b"EHLO\r", b"HELO\r")
POP3_COMMANDS = frozenset(
    b"USER PASS APOP CAPA STLS AUTH QUIT STAT LIST UIDL RETR TOP NOOP".split()
)
_IMAP_COMMAND = re.compile(
    rb"[A-Za-z0-9.]{1,16} (CAPABILITY|LOGIN|AUTHENTICATE|STARTTLS|ID|NOOP|LOGOUT|SELECT|"
    rb"EXAMINE|LIST|LSUB|STATUS|ENABLE)(?: .*)?",
    re.IGNORECASE,
)


def _before_tls(data: bytes, tls_verb: bytes) -> list[bytes]:
    """The client's command lines up to (not including) its TLS upgrade command."""
    out = []
    for line in lines(data, 32):
        if line.upper().split(b" ")[0] == tls_verb:
            break
        out.append(line)
    return out


def _greeting(s2c: bytes, code: bytes) -> bytes | None:
    line = first_line(s2c, 512)
    if (
        line is not None
        and line.startswith(code)
        and line[len(code) : len(code) + 1] in (b" ", b"-", b"")
    ):
        return line
    return None


def check_smtp(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """SMTP: a 220 greeting naming SMTP, or a client opening with EHLO/HELO."""
    if s2c[:3] != b"220" and c2s[:1] not in (b"E", b"H", b"e", b"h"):
        return None
    banner = _greeting(s2c, b"220")
    client_hello = c2s[:5].upper() in SMTP_COMMANDS
    if not client_hello and not (banner and b"SMTP" in banner.upper()):
        return None
    if not client_hello and c2s and c2s[:4].upper() not in (b"QUIT", b"STAR", b"AUTH", b"MAIL"):
        return None
    fields: dict = {}
    detail = "SMTP"
    if banner:
        fields["banner"] = text(banner, 120)
        detail = f"SMTP {fields['banner']}"
    credentials = False
    for line in _before_tls(c2s, b"STARTTLS"):
        words = line.upper().split(b" ")
        if words[0] == b"AUTH" and len(words) > 1 and words[1] in (b"PLAIN", b"LOGIN"):
            credentials = True
            fields["credentials_mechanism"] = f"SMTP AUTH {words[1].decode()}"
    if any(line.upper() == b"STARTTLS" for line in lines(c2s, 32)):
        fields["starttls"] = True
    return Evidence("smtp", None, detail[:160], fields, credentials)


def check_pop3(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """POP3: a ``+OK`` greeting, with the client (if it spoke) sending POP3 commands."""
    if s2c[:3] != b"+OK":
        return None
    banner = _greeting(s2c, b"+OK")
    if banner is None:
        return None
    commands = lines(c2s, 32)
    if c2s and (not commands or commands[0].upper().split(b" ")[0] not in POP3_COMMANDS):
        return None
    fields: dict = {"banner": text(banner, 120)}
    credentials = False
    seen = [line.upper().split(b" ")[0] for line in _before_tls(c2s, b"STLS")]
    if b"APOP" in seen:
        credentials, fields["credentials_mechanism"] = True, "POP3 APOP"
    elif b"USER" in seen and b"PASS" in seen:
        credentials, fields["credentials_mechanism"] = True, "POP3 USER/PASS"
    elif b"AUTH" in seen:
        for line in _before_tls(c2s, b"STLS"):
            if line.upper().startswith((b"AUTH PLAIN", b"AUTH LOGIN")):
                credentials, fields["credentials_mechanism"] = True, "POP3 AUTH"
    return Evidence("pop3", None, f"POP3 {fields['banner']}"[:160], fields, credentials)


def check_imap(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """IMAP: an untagged ``* OK``/``* PREAUTH`` greeting or a tagged client command."""
    if s2c[:2] != b"* " and (not c2s[:1].isalnum() or c2s.find(b" ", 0, 18) < 0):
        return None
    banner = None
    line = first_line(s2c, 1024)
    if line is not None and line.upper().startswith((b"* OK", b"* PREAUTH", b"* BYE")):
        banner = line
    commands = lines(c2s, 32)
    tagged = bool(commands) and _IMAP_COMMAND.fullmatch(commands[0]) is not None
    if banner is None and not tagged:
        return None
    if banner is not None and c2s and not tagged:
        return None
    fields: dict = {}
    if banner:
        fields["banner"] = text(banner, 120)
    credentials = False
    for command in _before_imap_tls(commands):
        words = command.upper().split(b" ")
        if len(words) > 1 and words[1] == b"LOGIN":
            credentials, fields["credentials_mechanism"] = True, "IMAP LOGIN"
        elif len(words) > 2 and words[1] == b"AUTHENTICATE" and words[2] in (b"PLAIN", b"LOGIN"):
            credentials, fields["credentials_mechanism"] = (
                True,
                f"IMAP AUTHENTICATE {words[2].decode()}",
            )
    detail = f"IMAP {fields['banner']}" if banner else "IMAP client commands"
    return Evidence("imap", None, detail[:160], fields, credentials)


def _before_imap_tls(commands: list[bytes]) -> list[bytes]:
    out = []
    for command in commands:
        words = command.upper().split(b" ")
        if len(words) > 1 and words[1] == b"STARTTLS":
            break
        out.append(command)
    return out
