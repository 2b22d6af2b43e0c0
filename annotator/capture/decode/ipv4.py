"""IPv4 (RFC 791): header checks, addresses, protocol and fragments.

Layout of the fixed header, by byte offset::

    0 version (4 bits) | IHL (4 bits, header length in 32-bit words)
    2 total length      4 identification
    6 flags (3 bits) | fragment offset (13 bits, in 8-byte units)
    9 protocol          12 source address     16 destination address

A total length of 0 is what TCP segmentation offload leaves in captures taken
on the sending host; such a packet is read to the end of the capture, like
Wireshark does.  Otherwise the IP payload ends at the total length, so
Ethernet padding is never taken for payload.
"""

from __future__ import annotations

import numpy as np

from ..columns import KIND_UNDECODABLE
from .packets import Packets, u8, u16

HEADER_MIN = 20
OFF_TOTAL_LENGTH = 2
OFF_IDENTIFICATION = 4
OFF_FRAGMENT = 6
OFF_PROTOCOL = 9
OFF_SOURCE = 12
FLAG_MORE_FRAGMENTS = 0x2000
FRAGMENT_OFFSET_MASK = 0x1FFF
#: IPv4 addresses are stored IPv4-mapped (::ffff:a.b.c.d) in the low 64 bits.
MAPPED_PREFIX = np.uint64(0xFFFF_0000_0000)

FRAG_NONE, FRAG_FIRST, FRAG_LATER = 0, 1, 2


def bad_version(pk: Packets, idx: np.ndarray, version: np.ndarray) -> None:
    """Retire packets whose IP version nibble is not what the layer below said."""
    pk.finish_by(idx, KIND_UNDECODABLE, version, lambda v: f"bad IP version {v}")


def decode_ipv4(pk: Packets, idx: np.ndarray) -> np.ndarray:
    """Decode the IPv4 headers of packets ``idx``; the packets that go on.

    On return ``pos`` points at the IP payload, ``end`` is the end of the IP
    payload within the capture, ``nh`` is the protocol, and the fragment
    fields are set for fragments.
    """
    idx = pk.need(idx, 1, "truncated IPv4 header")
    first = u8(pk.data, pk.at(idx))
    version = first >> 4
    wrong = version != 4
    if wrong.any():
        bad_version(pk, idx[wrong], version[wrong])
        idx, first = idx[~wrong], first[~wrong]
    ihl = (first & 0x0F) * 4
    short = ihl < HEADER_MIN
    if short.any():
        pk.finish(idx[short], KIND_UNDECODABLE, "bad IPv4 header length")
        idx, ihl = idx[~short], ihl[~short]
    idx_ok = pk.need(idx, HEADER_MIN, "truncated IPv4 header")
    if len(idx_ok) != len(idx):
        ihl = ihl[np.isin(idx, idx_ok, assume_unique=True)]
        idx = idx_ok
    idx_ok = pk.need(idx, ihl, "truncated IPv4 header")  # options cut off
    if len(idx_ok) != len(idx):
        ihl = ihl[np.isin(idx, idx_ok, assume_unique=True)]
        idx = idx_ok

    at = pk.at(idx)
    data = pk.data
    total = u16(data, at + OFF_TOTAL_LENGTH)
    bogus = (total != 0) & (total < ihl)
    if bogus.any():
        pk.finish(idx[bogus], KIND_UNDECODABLE, "IPv4 total length shorter than header")
        keep = ~bogus
        idx, at, total, ihl = idx[keep], at[keep], total[keep], ihl[keep]

    cols = pk.cols
    cols["ip_version"][idx] = 4
    proto = u8(data, at + OFF_PROTOCOL)
    cols["src_lo"][idx] = pk.be32[at + OFF_SOURCE].astype(np.uint64) | MAPPED_PREFIX
    cols["dst_lo"][idx] = pk.be32[at + OFF_SOURCE + 4].astype(np.uint64) | MAPPED_PREFIX

    l3 = pk.pos[idx]
    ip_end = np.where(total == 0, pk.cap[idx], np.minimum(pk.cap[idx], l3 + total))
    pk.end[idx] = ip_end
    pk.pos[idx] = l3 + ihl
    pk.nh[idx] = proto

    fragment = u16(data, at + OFF_FRAGMENT)
    offset = fragment & FRAGMENT_OFFSET_MASK
    more = (fragment & FLAG_MORE_FRAGMENTS) != 0
    in_fragment = (offset != 0) | more
    if in_fragment.any():
        fidx = idx[in_fragment]
        pk.frag[fidx] = np.where(offset[in_fragment] != 0, FRAG_LATER, FRAG_FIRST)
        pk.frag_id[fidx] = u16(data, at[in_fragment] + OFF_IDENTIFICATION)
        pk.frag_nh[fidx] = proto[in_fragment]
    return idx
