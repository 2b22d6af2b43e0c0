"""VPN tunnels that announce themselves: WireGuard, OpenVPN, and IKE (the key
exchange of IPsec)."""

from __future__ import annotations

from annotator.evidence.base import Context, Evidence, against_roles, looks_random

# WireGuard message types and their fixed lengths (the data message only has a minimum).
WG_LENGTHS = {1: 148, 2: 92, 3: 64}
WG_NAMES = {
    1: "handshake initiation",
    2: "handshake response",
    3: "cookie reply",
    4: "transport data",
}
#: Which side sends each WireGuard message: the initiator (True), the responder
#: (False), or either (None, transport data).
WG_FROM_INITIATOR = {1: True, 2: False, 3: False, 4: None}

# OpenVPN opcodes (high five bits of the first byte; the low three are the key id).
OVPN_HARD_RESET_CLIENT_V2 = 7
OVPN_HARD_RESET_SERVER_V2 = 8
OVPN_HARD_RESET_CLIENT_V3 = 10
HMAC_SIZES = (20, 32, 64)  # SHA-1, SHA-256, SHA-512 tls-auth digests


def _wg_message(data: bytes) -> int | None:
    """The type of a WireGuard message at the start of ``data``, or None."""
    if len(data) < 32 or not 1 <= data[0] <= 4 or data[1:4] != b"\0\0\0":
        return None
    # After the type and index come random bytes: an ephemeral public key
    # (initiation, response), a nonce (cookie reply) or ciphertext (data).
    if data[4:8] == b"\0\0\0\0" or not looks_random(
        data[16:32] if data[0] == 4 else data[8:40], 12
    ):
        return None
    if data[0] == 4:
        return 4 if data[13:16] == b"\0\0\0" else None  # a 64-bit counter, far from wrapping
    size = WG_LENGTHS[data[0]]
    if len(data) == size:
        return data[0]
    if len(data) > size and 1 <= data[size] <= 4 and data[size + 1 : size + 4] == b"\0\0\0":
        return data[0]  # another datagram of the flow follows
    return None


def _wg_handshake_pair(c2s: bytes, s2c: bytes) -> bool:
    """An initiation answered by a response whose receiver index is the
    initiator's sender index (whatever padding the messages carry)."""
    return (
        len(c2s) >= 148
        and len(s2c) >= 92
        and c2s[:4] == b"\x01\0\0\0"
        and s2c[:4] == b"\x02\0\0\0"
        and s2c[8:12] == c2s[4:8]
    )


def check_wireguard(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """WireGuard handshake messages with their exact lengths, or transport data
    from both sides.  A pair answered the other way round matches when the
    engine exchanges the directions (it then marks the roles reversed)."""
    if _wg_handshake_pair(c2s, s2c):
        return Evidence("wireguard", None, "WireGuard handshake", {"message": "handshake"})
    client = _wg_message(c2s)
    server = _wg_message(s2c)
    if client is None and server is None:
        return None
    if (client == 4) != (server == 4) and 4 in (client, server):
        return None  # transport data alone counts only when both sides send it
    if 3 in (client, server) and 1 not in (client, server):
        return None  # a cookie reply only ever answers an initiation
    message: int = client if client is not None else server  # type: ignore[assignment]
    kind = WG_NAMES[message]
    # An initiation from the server's side, or a response from the client's,
    # says the roles are the other way round.
    roles_reversed = against_roles(WG_FROM_INITIATOR[message], client is not None)
    return Evidence("wireguard", None, f"WireGuard {kind}", {"message": kind},
                    roles_reversed=roles_reversed)  # fmt: skip


def _session_id_echoed(c2s: bytes, s2c: bytes) -> bool:
    """The server's hard reset acknowledges the client's session id."""
    return (
        len(s2c) >= 26
        and s2c[0] >> 3 == OVPN_HARD_RESET_SERVER_V2
        and c2s[1:9] in s2c[9 : 9 + 64 + 40]
    )


def _openvpn(c2s: bytes, s2c: bytes) -> str | None:
    if len(c2s) < 14 or c2s[0] & 7:
        return None
    opcode = c2s[0] >> 3
    if opcode not in (OVPN_HARD_RESET_CLIENT_V2, OVPN_HARD_RESET_CLIENT_V3):
        return None
    if s2c and _session_id_echoed(c2s, s2c):
        return "hard reset, answered"
    if not looks_random(c2s[1:9], 6):  # the session id is 64 random bits
        return None
    if c2s[9:14] == b"\0\0\0\0\0" and (len(c2s) == 14 or c2s[15:23] == c2s[1:9]):
        return "hard reset"  # no tls-auth: empty ack array, message id 0
    for size in HMAC_SIZES:  # tls-auth: digest, replay id 1, timestamp, then the same
        at = 9 + size
        if c2s[at : at + 4] == b"\0\0\0\x01" and c2s[at + 8 : at + 13] == b"\0\0\0\0\0":
            return "hard reset (tls-auth)"
    return None


def check_openvpn(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """OpenVPN's client hard reset (V2/V3), raw over UDP or length-framed over TCP."""
    if ctx.transport == "tcp":  # each packet framed by its two-byte length
        length = int.from_bytes(c2s[:2], "big")
        if len(c2s) < 16 or not 14 <= length <= 1600:
            return None
        c2s = c2s[2 : 2 + length]
        s2c = s2c[2 : 2 + int.from_bytes(s2c[:2], "big")]
    kind = _openvpn(c2s, s2c)
    if kind is None:
        return None
    return Evidence("openvpn", None, f"OpenVPN {kind}", {"message": kind})


# IKE exchange types by major version (RFC 2408/2409 for v1, RFC 7296 for v2).
IKE_EXCHANGES = {
    0x10: {1: "Base", 2: "Main Mode", 4: "Aggressive Mode", 5: "Informational", 32: "Quick Mode"},
    0x20: {34: "IKE_SA_INIT", 35: "IKE_AUTH", 36: "CREATE_CHILD_SA", 37: "INFORMATIONAL"},
}
NON_ESP_MARKER = b"\0\0\0\0"  # precedes IKE on the NAT-traversal port (RFC 3948)


def _ike(data: bytes) -> str | None:
    """The exchange of an IKE message whose length field fits the data."""
    if data[:4] == NON_ESP_MARKER:
        data = data[4:]
    if len(data) < 28 or data[:8] == bytes(8) or data[17] not in IKE_EXCHANGES:
        return None
    exchange = IKE_EXCHANGES[data[17]].get(data[18])
    length = int.from_bytes(data[24:28], "big")
    if exchange is None or not 28 <= length <= len(data):
        return None
    if length < len(data) and data[length : length + 8] != data[:8]:
        return None  # what follows must be the next message of the same exchange
    return f"IKEv{data[17] >> 4} {exchange}"


def check_ike(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """IKEv1 or IKEv2 on either side, with or without the non-ESP marker."""
    kind = _ike(c2s) or _ike(s2c)
    if kind is None:
        return None
    return Evidence("ike", None, kind, {"version": kind[4], "exchange": kind[6:]})
