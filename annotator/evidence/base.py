"""The shapes every fingerprint shares: the :class:`Evidence` result, the
:class:`Context` a fingerprint may consult, and small byte helpers.

A fingerprint is a plain function ``check(c2s, s2c, ctx) -> Evidence | None``:
``c2s`` and ``s2c`` are the first payload bytes sent by the client and by the
server, ``ctx`` says which transport and ports the flow uses.  It returns None
when the bytes do not look like its protocol, quickly, from the first bytes.
The port in ``ctx`` may only pick between variants of one wire format (DNS,
mDNS, LLMNR); it never decides on its own that the bytes are a protocol.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Evidence:
    """What the payload of one flow shows.

    ``protocol`` is a canonical lowercase id (see
    :data:`annotator.evidence.PROTOCOLS`) or None when nothing matched;
    ``server_name`` is the TLS SNI or HTTP Host; ``detail`` is one short line for
    people; ``fields`` holds the parsed facts; ``credentials`` says that
    credentials were seen in clear.  The credential itself is never kept, only
    the mechanism (``fields["credentials_mechanism"]``).

    ``roles_reversed`` says that the bytes show the flow's roles the other way
    round: the side taken for the client sent what only servers send (a DNS
    response, a STUN reply, a DHCP offer), or the side taken for the server
    sent what only clients send.  Triage then swaps client and server unless
    a handshake decided them (:func:`annotator.flows.direction.follow_payload`).
    """

    protocol: str | None
    server_name: str | None = None
    detail: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict, hash=False)
    credentials: bool = False
    roles_reversed: bool = False


#: The result for a flow whose payload matched no fingerprint.
UNKNOWN = Evidence(None)


@dataclass(frozen=True)
class Context:
    """The flow facts a fingerprint may consult besides the payload."""

    transport: str
    client_port: int
    server_port: int
    server_ip: str | None = None

    def uses_port(self, *ports: int) -> bool:
        """True when either end of the flow uses one of ``ports``."""
        return self.server_port in ports or self.client_port in ports


Check = Callable[[bytes, bytes, Context], Evidence | None]

#: Each byte value to itself when it is printable ASCII, else to ``?``.
_PRINTABLE = bytes(b if 0x20 <= b <= 0x7E else 0x3F for b in range(256))


def text(raw: bytes, limit: int = 120) -> str:
    """Bytes from the wire as a short, inert, printable ASCII string.

    Anything outside printable ASCII becomes ``?`` so that a capture cannot
    smuggle control characters or terminal escapes into a report.  (One
    table lookup per byte: a regular expression here took a fifth of
    fingerprinting 200,000 flows.)
    """
    return bytes(raw[:limit]).translate(_PRINTABLE).decode("ascii")


def inert(value: str, limit: int = 200) -> str:
    """A decoded string with every non-printable character replaced by ``?``
    (printable non-ASCII letters, as in mDNS names, are kept)."""
    return "".join(c if c.isprintable() else "?" for c in value[:limit])


def against_roles(request: bool | None, from_client: bool) -> bool:
    """Whether one message shows the flow's roles the wrong way round.

    ``request`` is True for a message only clients send (a query, a request,
    a handshake initiation), False for one only servers send (a response, an
    offer), None for one either side sends; ``from_client`` says which side's
    bytes it was found in.
    """
    return request is not None and request != from_client


#: What replaces the user information (``user:password@``) of a URL or Host.
USERINFO_MARK = b"***@"


def without_userinfo(value: bytes) -> tuple[bytes, bool]:
    """``value`` (a URL, a SIP URI or a Host header) with user information
    that holds a password replaced by ``***@``, and whether it did.

    ``rtsp://admin:12345@camera/live`` is how many IP cameras are addressed;
    reports must never repeat the password, nor the account name beside it.
    A user name alone is kept: ``sip:alice@example.com`` is an address.
    """
    start = value.find(b"://")
    if start >= 0:  # scheme://[userinfo@]host/...
        start += 3
        end = len(value)
        for stop in b"/?#":
            found = value.find(bytes([stop]), start)
            if 0 <= found < end:
                end = found
    elif value[:4].lower() in (b"sip:", b"tel:") or value[:5].lower() == b"sips:":
        start = value.find(b":") + 1  # sip:[userinfo@]host;params
        end = len(value)
        for stop in b";?":
            found = value.find(bytes([stop]), start)
            if 0 <= found < end:
                end = found
    else:  # a Host header: [userinfo@]host[:port]
        start, end = 0, len(value)
    at = value.rfind(b"@", start, end)
    if at < 0 or b":" not in value[start:at]:
        return value, False  # a user name alone (sip:alice@example.com) is no secret
    return value[:start] + USERINFO_MARK + value[at + 1 :], True


def first_line(data: bytes, limit: int = 2048) -> bytes | None:
    """The first CRLF- or LF-terminated line of ``data``, without its ending.

    None when no line ending occurs within ``limit`` bytes.
    """
    end = data.find(b"\n", 0, limit)
    if end < 0:
        return None
    return data[: end - 1] if end and data[end - 1] == 13 else data[:end]


def lines(data: bytes, limit: int = 64) -> list[bytes]:
    """Up to ``limit`` complete lines of ``data`` (a cut-off last line is dropped)."""
    # The last piece is what follows the final newline: empty, a line cut off by
    # the capture limit, or the unsplit rest beyond ``limit`` lines.
    out = data.split(b"\n", limit)[:-1]
    return [line[:-1] if line.endswith(b"\r") else line for line in out]


def headers(head_lines: list[bytes]) -> dict[bytes, bytes]:
    """``Name: value`` header lines as a dict of lower-case names to values
    (the first occurrence wins; parsing stops at the blank line)."""
    out: dict[bytes, bytes] = {}
    for line in head_lines:
        if not line:
            break
        colon = line.find(b":")
        if colon > 0:
            out.setdefault(line[:colon].strip().lower(), line[colon + 1 :].strip())
    return out


def ber_length(data: bytes, pos: int) -> tuple[int, int] | None:
    """Decode an ASN.1 BER definite length at ``pos``: (length, position after it).

    None when the length is indefinite, longer than four bytes or cut off.
    """
    if pos >= len(data):
        return None
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 4 or pos + 1 + count > len(data):
        return None
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def ber_tlv(data: bytes, pos: int) -> tuple[int, int, int] | None:
    """One BER element at ``pos``: (tag, content start, content length), or None."""
    if pos >= len(data):
        return None
    parsed = ber_length(data, pos + 1)
    if parsed is None:
        return None
    length, start = parsed
    return data[pos], start, length


def ber_small_int(data: bytes, pos: int) -> tuple[int, int] | None:
    """A BER INTEGER of at most four bytes at ``pos``: (value, position after it)."""
    element = ber_tlv(data, pos)
    if element is None or element[0] != 0x02 or not 1 <= element[2] <= 4:
        return None
    _, start, length = element
    if start + length > len(data):
        return None
    return int.from_bytes(data[start : start + length], "big", signed=True), start + length


def looks_random(chunk: bytes, minimum: int) -> bool:
    """At least ``minimum`` distinct byte values in ``chunk``: keys, nonces and
    ciphertext look like this, zero padding and counters do not."""
    return len(set(chunk)) >= minimum


def server_name(raw: bytes) -> tuple[str, bool] | None:
    """A server name read off the wire (TLS or gQUIC SNI, HTTP Host), and whether
    it is a plausible DNS host name; None when empty.

    A host name comes back lowercased, without its trailing dot.  Anything else
    -- spaces, markup, bytes outside printable ASCII, an over-long label -- is
    itself worth an analyst's look, so it is kept rather than dropped, made
    inert by :func:`text` (non-printable bytes as ``?``, at most 253
    characters), and the caller says it is not a host name (:func:`named`).
    """
    if not raw:
        return None
    name = raw.decode("ascii", "replace")
    if is_hostname(name):
        return name.lower().rstrip("."), True
    return text(raw, 253), False


def named(label: str, name: str, valid: bool) -> str:
    """``label name`` for an evidence detail, marked when the name is not a host name.

    The mark comes before the name, so cutting a long detail never loses it.
    """
    return f"{label} {name}" if valid else f"{label} (not a host name) {name}"


def is_hostname(name: str) -> bool:
    """A plausible DNS host name (letters, digits, hyphen, underscore, dots)."""
    return bool(name) and len(name) <= 253 and _HOSTNAME.fullmatch(name) is not None


_HOSTNAME = re.compile(r"[A-Za-z0-9_*]([A-Za-z0-9_\-]{0,62})(\.[A-Za-z0-9_\-]{1,63})*\.?")
