"""NTP: the 48-byte header of modes 1-5 (RFC 5905) and mode 6/7 control messages."""

from __future__ import annotations

from annotator.evidence.base import Context, Evidence

MODES = {
    1: "symmetric active",
    2: "symmetric passive",
    3: "client",
    4: "server",
    5: "broadcast",
    6: "control",
    7: "private",
}


def _header(data: bytes) -> tuple[int, int] | None:
    """(version, mode) of a plausible NTP message at the start of ``data``."""
    if len(data) < 12:
        return None
    version, mode = (data[0] >> 3) & 7, data[0] & 7
    if not 1 <= version <= 4 or mode == 0:
        return None
    if mode >= 6:
        # Control (ntpq) and private (ntpdc) messages: no leap indicator, version
        # 2-4.  Control: opcode 1-31, a data count of at most 468 bytes.  Private:
        # implementation 0, 2 or 3 and a small request code.
        if data[0] & 0xC0 or version < 2:
            return None
        if mode == 6:
            count = int.from_bytes(data[10:12], "big")
            return (version, mode) if 1 <= data[1] & 0x1F <= 7 and count <= 468 else None
        return (version, mode) if data[2] in (0, 2, 3) and data[3] < 50 else None
    if len(data) < 48:
        return None
    stratum, poll, precision = data[1], data[2], data[3] - 256 if data[3] > 127 else data[3]
    if stratum > 16 or not (poll <= 17 or poll >= 0xFA) or not (-32 <= precision <= 0):
        return None
    # Root delay and root dispersion: 16.16 seconds, never more than a few seconds.
    if (data[4] > 0x0F and data[4] != 0xFF) or (data[8] > 0x0F and data[8] != 0xFF):
        return None
    return version, mode


def check_ntp(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """NTP over UDP: header sanity on either side, with both sides agreeing when both spoke."""
    client = _header(c2s)
    server = _header(s2c)
    if client is None and server is None:
        return None
    if client and server and client[1] in (3, 4) and server[1] not in (4, 3):
        return None
    version, mode = client or server  # type: ignore[misc]
    fields = {"version": version, "mode": MODES[mode]}
    return Evidence("ntp", None, f"NTPv{version} {MODES[mode]}", fields)
