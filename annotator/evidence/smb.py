"""SMB 1, 2 and 3, with or without the 4-byte NetBIOS session header.

The protocol ids ``\\xffSMB`` (SMB1), ``\\xfeSMB`` (SMB2/3) and ``\\xfdSMB`` (SMB3
transform header, encrypted) sit at the start of every message.  A NEGOTIATE
response names the chosen dialect.
"""

from __future__ import annotations

from annotator.evidence.base import Context, Evidence

SMB1, SMB2, SMB3_TRANSFORM = b"\xffSMB", b"\xfeSMB", b"\xfdSMB"
SESSION_CONTROL = frozenset({0x81, 0x82, 0x85})  # request, positive response, keepalive
SMB2_NEGOTIATE = 0
SMB1_NEGOTIATE = 0x72
DIALECTS = {
    0x0202: "2.0.2",
    0x0210: "2.1",
    0x0300: "3.0",
    0x0302: "3.0.2",
    0x0311: "3.1.1",
    0x02FF: "2.???",
}


def _message(data: bytes) -> bytes | None:
    """The SMB message in ``data``: after a session header, or bare (SMB direct).

    On port 139 the NetBIOS session request (0x81), its positive response
    (0x82) or a keepalive (0x85) may come first; they are skipped.
    """
    for _ in range(3):
        if len(data) < 4 or data[0] not in SESSION_CONTROL:
            break
        data = data[4 + int.from_bytes(data[2:4], "big") :]
    if data[:1] == b"\x00" and data[4:8] in (SMB1, SMB2, SMB3_TRANSFORM):
        return data[4:]
    if data[:4] in (SMB1, SMB2, SMB3_TRANSFORM):
        return data
    return None


def _dialect(message: bytes) -> str | None:
    """The dialect an SMB2 NEGOTIATE response picked."""
    # SMB2_FLAGS_SERVER_TO_REDIR (bit 0 of the flags at offset 16) marks a response.
    if (
        message[:4] == SMB2
        and len(message) >= 72
        and message[12] == SMB2_NEGOTIATE
        and message[16] & 1
    ):
        return DIALECTS.get(int.from_bytes(message[68:70], "little"))
    return None


def check_smb(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """SMB in either direction; the dialect from a NEGOTIATE response when present."""
    client = _message(c2s)
    server = _message(s2c)
    message = client or server
    if message is None:
        return None
    if message[:4] == SMB1:
        # SMB1 is only plausible with a known command and the status/flags present.
        if len(message) < 32:
            return None
        version = "1"
    elif message[:4] == SMB2:
        if len(message) < 64 or message[4:6] != b"\x40\x00":  # structure size 64
            return None
        version = "2/3"
    else:
        version = "3 (encrypted)"
    fields: dict = {"smb_version": version}
    dialect = _dialect(server) if server else None
    if dialect:
        fields["smb_dialect"] = dialect
    elif client and client[:4] == SMB1 and client[4] == SMB1_NEGOTIATE and b"SMB 2" in client:
        fields["offers_smb2"] = True
    detail = f"SMB dialect {dialect}" if dialect else f"SMB{version}"
    return Evidence("smb", None, detail, fields)
