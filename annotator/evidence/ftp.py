"""FTP control connection: the 220 greeting and the client's commands.

``USER`` and ``LIST``/``RETR`` also exist in POP3, so a client alone counts as
FTP only when it uses commands POP3 does not have, or the server greets with 220.
"""

from __future__ import annotations

from annotator.evidence.base import Context, Evidence, first_line, lines, text

COMMANDS = frozenset(
    b"USER PASS ACCT AUTH FEAT SYST OPTS HOST CLNT PWD XPWD CWD CDUP TYPE PORT EPRT PASV EPSV "
    b"LIST NLST RETR STOR MLSD MLST SIZE MDTM REST QUIT NOOP PBSZ PROT MKD RMD DELE".split()
)
ONLY_FTP = frozenset(
    b"AUTH FEAT SYST OPTS HOST CLNT PWD CWD TYPE PORT EPRT PASV EPSV MLSD PBSZ".split()
)
ANONYMOUS = frozenset({b"anonymous", b"ftp"})


def check_ftp(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """FTP: a 220 greeting followed by FTP commands, or a greeting naming FTP."""
    if s2c[:3] != b"220" and (s2c or not c2s[:1].isalpha()):
        return None
    greeting = first_line(s2c, 512)
    if greeting is not None and not (greeting[:4] in (b"220 ", b"220-") or greeting == b"220"):
        greeting = None
    commands = lines(c2s, 32)
    verbs = [line.split(b" ")[0].upper() for line in commands]
    ftp_client = bool(verbs) and verbs[0] in COMMANDS
    if greeting is None:
        if not (ftp_client and s2c == b"" and verbs[0] in ONLY_FTP):
            return None
    elif not ftp_client and not (c2s == b"" and b"FTP" in greeting.upper()):
        return None
    fields: dict = {}
    if greeting is not None:
        fields["banner"] = text(greeting, 120)
    credentials = False
    user = None
    for line, verb in zip(commands, verbs, strict=True):
        if verb == b"AUTH":
            fields["auth_tls"] = True
            break
        if verb == b"USER":
            user = line[5:].strip().lower()
        elif verb == b"PASS" and user is not None and user not in ANONYMOUS:
            credentials = True
            fields["credentials_mechanism"] = "FTP USER/PASS"
    if user in ANONYMOUS:
        fields["anonymous"] = True
    detail = f"FTP {fields['banner']}" if greeting is not None else "FTP client commands"
    if fields.get("auth_tls"):
        detail += ", AUTH TLS"
    return Evidence("ftp", None, detail[:160], fields, credentials)
