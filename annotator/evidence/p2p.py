"""BitTorrent: the peer-wire handshake, the bencoded DHT (KRPC) messages and
uTP, its UDP transport (BEP 29)."""

from __future__ import annotations

import re

from annotator.evidence.base import Context, Evidence

HANDSHAKE = b"\x13BitTorrent protocol"
_KRPC = re.compile(rb"d1:[aeqrtvy]")
UTP_STATE = 2
UTP_SYN = 4


def _krpc(data: bytes) -> str | None:
    """The KRPC message kind of a bencoded DHT packet, or None."""
    if not data.startswith(b"d1:") or _KRPC.match(data) is None:
        return None
    for marker, kind in ((b"1:y1:q", "query"), (b"1:y1:r", "response"), (b"1:y1:e", "error")):
        if marker in data:
            return kind
    return None


def _utp_opening(c2s: bytes, s2c: bytes) -> bool:
    """A uTP SYN answered by an ST_STATE for the same connection id that
    acknowledges the SYN's sequence number."""
    return (
        len(c2s) >= 20
        and len(s2c) >= 20
        and c2s[0] == UTP_SYN << 4 | 1
        and c2s[1] <= 2
        and s2c[0] == UTP_STATE << 4 | 1
        and s2c[1] <= 2
        and s2c[2:4] == c2s[2:4]
        and s2c[18:20] == c2s[16:18]
    )


def _utp_state_chain(data: bytes) -> bool:
    """Back-to-back uTP ST_STATE packets (20 bytes each, no payload) for one
    connection id: the acknowledgements a uTP receiver sends."""
    if len(data) < 40 or data[0] != UTP_STATE << 4 | 1 or data[1] != 0:
        return False
    if data[2:4] == b"\0\0" or data[4:8] == b"\0\0\0\0":  # connection id, timestamp
        return False
    return data[20] == data[0] and data[21] == 0 and data[22:24] == data[2:4]


def check_bittorrent(c2s: bytes, s2c: bytes, ctx: Context) -> Evidence | None:
    """The 20-byte handshake prefix, a DHT message, or a uTP connection opening."""
    for data in (c2s, s2c):
        if data.startswith(HANDSHAKE):
            return Evidence("bittorrent", None, "BitTorrent peer handshake", {"kind": "handshake"})
    if ctx.transport != "udp":
        return None
    for data in (c2s, s2c):
        kind = _krpc(data)
        if kind:
            return Evidence("bittorrent", None, f"BitTorrent DHT {kind}", {"kind": f"dht {kind}"})
    if _utp_opening(c2s, s2c) or _utp_state_chain(s2c) or _utp_state_chain(c2s):
        return Evidence("bittorrent", None, "BitTorrent uTP connection", {"kind": "utp"})
    return None
