"""NTP: the 48-byte header of modes 1-5 (RFC 5905) and mode 6/7 control messages."""

from __future__ import annotations

from annotator.evidence.base import Context, Evidence, against_roles

UNIX_EPOCH = 2_208_988_800  # 1970-01-01 in NTP seconds
MODES = {
    1: "symmetric active",
    2: "symmetric passive",
    3: "client",
    4: "server",
    5: "broadcast",
    6: "control",
    7: "private",
}


def _control_request(data: bytes) -> bool:
    """An ntpq control request (mode 6): no leap bits, version 2-4, the R, E and
    M bits clear, a defined opcode, zero status, offset 0, at most 468 bytes."""
    return (
        len(data) >= 12
        and data[0] & 0xC7 == 6
        and 2 <= (data[0] >> 3) & 7 <= 4
        and 1 <= data[1] <= 7
        and data[4:6] == b"\0\0"
        and data[8:10] == b"\0\0"
        and int.from_bytes(data[10:12], "big") <= 468
    )


def _private_request(data: bytes) -> bool:
    """An ntpdc private request (mode 7, as in "monlist"): response and more bits
    clear, version 2-4, no sequence, implementation 2 or 3 (the ntpd daemons), a
    small non-zero request code, and the error and must-be-zero nibbles zero."""
    return (
        len(data) >= 8
        and data[0] & 0xC7 == 7
        and 2 <= (data[0] >> 3) & 7 <= 4
        and data[1] == 0
        and data[2] in (2, 3)
        and 0 < data[3] < 50
        and data[4] & 0xF0 == 0
        and data[6] & 0xF0 == 0
    )


def _header(data: bytes) -> tuple[int, int] | None:
    """(version, mode) of a plausible NTP time message (modes 1-5) at the start
    of ``data``."""
    if len(data) < 12:
        return None
    version, mode = (data[0] >> 3) & 7, data[0] & 7
    if not 2 <= version <= 4 or not 1 <= mode <= 5:  # NTPv1 (1988) is long gone
        return None
    if len(data) < 48:
        return None
    stratum, poll, precision = data[1], data[2], data[3] - 256 if data[3] > 127 else data[3]
    if stratum > 16 or not (poll <= 17 or poll >= 0xFA) or not (-32 <= precision <= 0):
        return None
    # Root delay and root dispersion: 16.16 seconds, never more than a few seconds.
    if (data[4] > 0x0F and data[4] != 0xFF) or (data[8] > 0x0F and data[8] != 0xFF):
        return None
    # Every mode but the client's stamps its transmit time in seconds since
    # 1900: from 1970 (a device whose clock was never set) to the era rollover in
    # February 2036, when this check will need era 1's small values too.
    if mode != 3 and int.from_bytes(data[40:44], "big") < UNIX_EPOCH:
        return None
    # A server also stamps when the request arrived.
    if mode == 4 and int.from_bytes(data[32:36], "big") < UNIX_EPOCH:
        return None
    return version, mode


def check_ntp(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """NTP over UDP: a time message on either side (both agreeing when both
    spoke), or a control/private request from the client."""
    for data, check, mode in ((c2s, _control_request, 6), (c2s, _private_request, 7)):
        if check(data):
            version = (data[0] >> 3) & 7
            detail = f"NTPv{version} {MODES[mode]} request"
            if mode == 7:
                detail += f" (request code {data[3]})"
            return Evidence("ntp", None, detail, {"version": version, "mode": MODES[mode]})
    client = _header(c2s)
    server = _header(s2c)
    if client is None and server is None:
        return None
    if client and server and client[1] in (3, 4) and server[1] not in (4, 3):
        return None
    version, mode = client or server  # type: ignore[misc]
    fields = {"version": version, "mode": MODES[mode]}
    # Mode 3 comes from clients and mode 4 from servers; the symmetric and
    # broadcast modes say nothing about roles.
    roles_reversed = against_roles({3: True, 4: False}.get(mode), client is not None)
    return Evidence("ntp", None, f"NTPv{version} {MODES[mode]}", fields,
                    roles_reversed=roles_reversed)  # fmt: skip
