"""MQTT: the CONNECT packet (protocol name ``MQTT`` levels 4/5, ``MQIsdp`` level 3)
and the server's CONNACK."""

from __future__ import annotations

from annotator.evidence.base import Context, Evidence

CONNECT = 0x10
CONNACK = 0x20
NAMES = {b"\x00\x04MQTT": {4: "3.1.1", 5: "5.0"}, b"\x00\x06MQIsdp": {3: "3.1"}}


def _remaining_length(data: bytes) -> tuple[int, int] | None:
    """The variable-length "remaining length" after the first byte: (value, position)."""
    value, shift = 0, 0
    for pos in range(1, min(len(data), 5)):
        value |= (data[pos] & 0x7F) << shift
        if not data[pos] & 0x80:
            return value, pos + 1
        shift += 7
    return None


def check_mqtt(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """An MQTT CONNECT naming the protocol and its level; a password flag in clear
    counts as credentials seen."""
    if c2s[:1] != bytes([CONNECT]):
        return None
    parsed = _remaining_length(c2s)
    if parsed is None or parsed[0] < 10:
        return None
    pos = parsed[1]
    for name, levels in NAMES.items():
        if c2s[pos : pos + len(name)] == name:
            level_at = pos + len(name)
            if level_at + 1 >= len(c2s) or c2s[level_at] not in levels:
                return None
            version = levels[c2s[level_at]]
            flags = c2s[level_at + 1]
            if flags & 1:  # reserved bit must be zero
                return None
            fields: dict = {"version": version, "username": bool(flags & 0x80)}
            credentials = bool(flags & 0x40)
            if credentials:
                fields["credentials_mechanism"] = "MQTT CONNECT password"
            detail = f"MQTT {version} CONNECT" + (", password in clear" if credentials else "")
            return Evidence("mqtt", None, detail, fields, credentials)
    return None
