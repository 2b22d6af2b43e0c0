"""DNS over UDP and TCP, and its two link-local siblings mDNS and LLMNR.

The bytes decide that a flow speaks the DNS wire format: a sane 12-byte header
and a first name parsed completely under the label rules.  Only then may the
port or multicast group pick the variant (mDNS on 5353 or 224.0.0.251/ff02::fb,
LLMNR on 5355 or 224.0.0.252/ff02::1:3).
"""

from __future__ import annotations

import struct

from annotator.evidence.base import Context, Evidence, against_roles, inert

OPCODES = {0: "query", 1: "inverse query", 2: "status", 4: "notify", 5: "update"}
QTYPES = {
    1: "A",
    2: "NS",
    5: "CNAME",
    6: "SOA",
    12: "PTR",
    15: "MX",
    16: "TXT",
    28: "AAAA",
    33: "SRV",
    35: "NAPTR",
    43: "DS",
    48: "DNSKEY",
    64: "SVCB",
    65: "HTTPS",
    255: "ANY",
}
CLASSES = frozenset({1, 3, 4, 254, 255})  # IN, CH, HS, NONE, ANY

MDNS_GROUPS = frozenset({"224.0.0.251", "ff02::fb"})
LLMNR_GROUPS = frozenset({"224.0.0.252", "ff02::1:3"})


def read_name(data: bytes, pos: int) -> tuple[str, int] | None:
    """A domain name of uncompressed labels at ``pos``: (name, position after it).

    Labels are 1-63 bytes, the name at most 255 bytes and ended by the root
    label.  Label bytes are not restricted: resolvers pass odd bytes through, and
    the structure alone is specific enough.  None when any rule is broken.
    """
    labels: list[str] = []
    total = 0
    while pos < len(data):
        size = data[pos]
        if size == 0:
            return ".".join(labels) or ".", pos + 1
        if size > 63:
            return None
        label = data[pos + 1 : pos + 1 + size]
        total += size + 1
        if len(label) < size or total > 255:
            return None
        labels.append(inert(label.decode("utf-8", "replace"), 63))
        pos += 1 + size
    return None


def parse_message(data: bytes) -> dict | None:
    """The header and first question (or first answer) of a DNS message, or None."""
    if len(data) < 17:
        return None
    ident, flags, qd, an, ns, ar = struct.unpack_from("!6H", data)
    opcode = (flags >> 11) & 0xF
    if opcode not in OPCODES or flags & 0x40 or qd > 16 or an > 256 or ns > 256 or ar > 256:
        return None
    response = bool(flags & 0x8000)
    if qd == 0 and not (response and an):
        return None
    if qd == 0 and opcode != 0:
        return None
    parsed = read_name(data, 12)
    if parsed is None:
        return None
    name, pos = parsed
    if pos + 4 > len(data):
        return None
    qtype, qclass = struct.unpack_from("!HH", data, pos)
    if qtype == 0 or (qclass & 0x7FFF) not in CLASSES:
        return None
    if name == "." and qtype not in (2, 6, 48, 255) and not response:
        return None
    return {
        "id": ident,
        "response": response,
        "opcode": OPCODES[opcode],
        "rcode": flags & 0xF,
        "qname": name,
        "qtype": QTYPES.get(qtype, str(qtype)),
        "questions": qd,
        "answers": an,
    }


def _message(data: bytes, transport: str) -> dict | None:
    if transport == "tcp":
        if len(data) < 19:
            return None
        length = int.from_bytes(data[:2], "big")
        return parse_message(data[2 : 2 + length]) if length >= 17 else None
    return parse_message(data)


def _variant(ctx: Context) -> tuple[str, str]:
    """Which of the three protocols sharing the DNS wire format this flow uses:
    the server's group or port first, then the client's port (a responder
    answering from 5353 or 5355)."""
    if ctx.server_ip in MDNS_GROUPS or ctx.server_port == 5353:
        return "mdns", "mDNS"
    if ctx.server_ip in LLMNR_GROUPS or ctx.server_port == 5355:
        return "llmnr", "LLMNR"
    if ctx.server_port != 53 and ctx.client_port == 5353:
        return "mdns", "mDNS"
    if ctx.server_port != 53 and ctx.client_port == 5355:
        return "llmnr", "LLMNR"
    return "dns", "DNS"


def check_dns(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """DNS, mDNS or LLMNR: the message must parse; the port picks the variant.

    The client's first message is read if it parses, else the server's; a
    response from the client's side, or a query from the server's, says the
    roles are the other way round.
    """
    message, from_client = _message(c2s, ctx.transport), True
    if message is None:
        message, from_client = _message(s2c, ctx.transport), False
    if message is None:
        return None
    protocol, label = _variant(ctx)
    kind = "response" if message["response"] else message["opcode"]
    fields = {
        "dns_qname": message["qname"],
        "dns_qtype": message["qtype"],
        "dns_opcode": message["opcode"],
    }
    if message["response"]:
        fields["dns_rcode"] = message["rcode"]
    detail = f"{label} {kind} {message['qtype']} {message['qname']}"
    if ctx.transport == "tcp":
        detail += " (over TCP)"
    return Evidence(protocol, None, detail[:160], fields,
                    roles_reversed=against_roles(not message["response"], from_client))  # fmt: skip
