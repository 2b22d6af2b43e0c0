"""DHCP and BOOTP over IPv4 (fixed header and the magic cookie 63 82 53 63),
and DHCPv6 (message type, transaction id, well-formed options)."""

from __future__ import annotations

from annotator.evidence.base import Context, Evidence, against_roles

MAGIC_COOKIE = b"\x63\x82\x53\x63"
MESSAGE_TYPES = {
    1: "DISCOVER",
    2: "OFFER",
    3: "REQUEST",
    4: "DECLINE",
    5: "ACK",
    6: "NAK",
    7: "RELEASE",
    8: "INFORM",
}
V6_TYPES = {
    1: "SOLICIT",
    2: "ADVERTISE",
    3: "REQUEST",
    4: "CONFIRM",
    5: "RENEW",
    6: "REBIND",
    7: "REPLY",
    8: "RELEASE",
    9: "DECLINE",
    10: "RECONFIGURE",
    11: "INFORMATION-REQUEST",
    12: "RELAY-FORW",
    13: "RELAY-REPL",
}
#: DHCPv6 messages only servers send (a relay forwards toward the server, so
#: RELAY-FORW counts as a client's and RELAY-REPL as a server's).
V6_FROM_SERVER = frozenset({2, 7, 10, 13})


def _dhcp4(data: bytes, from_client: bool) -> Evidence | None:
    if len(data) < 240 or data[0] not in (1, 2) or data[236:240] != MAGIC_COOKIE:
        return None
    if data[2] > 16 or data[3] > 16:  # hardware address length, hops
        return None
    kind = "BOOTREQUEST" if data[0] == 1 else "BOOTREPLY"
    pos = 240
    while pos + 1 < len(data) and data[pos] != 255:
        if data[pos] == 0:
            pos += 1
            continue
        if data[pos] == 53 and data[pos + 1] == 1 and pos + 2 < len(data):
            kind = MESSAGE_TYPES.get(data[pos + 2], kind)
            break
        pos += 2 + data[pos + 1]
    # BOOTREQUEST (op 1) comes from clients, BOOTREPLY (op 2) from servers.
    return Evidence("dhcp", None, f"DHCP {kind}", {"version": 4, "message_type": kind},
                    roles_reversed=against_roles(data[0] == 1, from_client))  # fmt: skip


def _dhcp6(data: bytes, from_client: bool) -> Evidence | None:
    """DHCPv6 client/server messages (at least two options, each inside the
    data) and relay messages (hop count, two addresses, then options)."""
    if len(data) < 12 or not 1 <= data[0] <= 13:
        return None
    relay = data[0] >= 12
    if relay and (data[1] > 32 or len(data) < 42):
        return None
    pos, count, codes = (34 if relay else 4), 0, []
    while pos + 4 <= len(data) and count < 32:
        code = int.from_bytes(data[pos : pos + 2], "big")
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if code == 0 or code > 150 or pos + 4 + length > len(data):
            break
        codes.append(code)
        pos += 4 + length
        count += 1
    # A well-formed client or server message carries a client identifier (1) or
    # elapsed time (8) and ends at the end of its options (unless more follow).
    if relay:  # a relay message always carries the relayed message (option 9)
        if 9 not in codes or (pos != len(data) and count < 2):
            return None
    elif count < 2 or not {1, 8} & set(codes) or (pos != len(data) and count < 3):
        return None
    kind = V6_TYPES[data[0]]
    reversed_roles = against_roles(data[0] not in V6_FROM_SERVER, from_client)
    return Evidence("dhcp", None, f"DHCPv6 {kind}", {"version": 6, "message_type": kind},
                    roles_reversed=reversed_roles)  # fmt: skip


def check_dhcp(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """DHCPv4 with its magic cookie, else DHCPv6 with a clean option list
    (the client's bytes first); a request from the server's side, or a reply
    from the client's, says the roles are the other way round."""
    return _dhcp4(c2s, True) or _dhcp4(s2c, False) or _dhcp6(c2s, True) or _dhcp6(s2c, False)
