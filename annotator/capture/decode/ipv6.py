"""IPv6 (RFC 8200) and the extension-header chain.

Fixed header, by byte offset: 0 version (4 bits), 4 payload length, 6 next
header, 8 source address, 24 destination address; 40 bytes in all.

Extension headers walked: hop-by-hop (0), routing (43), fragment (44),
destination options (60) and AH (51).  Their length byte counts 8-octet units
beyond the first 8 octets, except AH (4-octet units minus 2) and the fragment
header (always 8).  AH also follows IPv4 headers and is skipped there the
same way (a short one there is "truncated AH header").  The chain is walked
at most :data:`MAX_EXTENSIONS` rounds; a chain still going after that is
undecodable ("IPv6 extension header chain too long"), and one running past
the captured bytes is "truncated IPv6 extension header".

A payload length of 0 (jumbogram, or segmentation offload) reads to the end of
the capture.
"""

from __future__ import annotations

import numpy as np

from ..columns import KIND_UNDECODABLE
from .ipprotos import IPPROTO_AH, IPPROTO_FRAGMENT, IPV6_EXTENSION_HEADERS
from .ipv4 import FRAG_FIRST, FRAG_LATER, bad_version
from .packets import PENDING, Packets, u8, u16, u32

HEADER = 40
OFF_PAYLOAD_LENGTH = 4
OFF_NEXT_HEADER = 6
OFF_SOURCE = 8
MAX_EXTENSIONS = 8
EXTENSION_MIN = 8
FRAGMENT_OFFSET_MASK = 0xFFF8  # offset in 8-octet units, already shifted by 3
FRAGMENT_MORE = 0x0001
IS_EXTENSION = np.zeros(256, dtype=bool)
IS_EXTENSION[list(IPV6_EXTENSION_HEADERS)] = True


def decode_ipv6(pk: Packets, idx: np.ndarray) -> np.ndarray:
    """Decode the fixed IPv6 headers of packets ``idx``; the packets that go on.

    On return ``pos`` points after the fixed header, ``end`` is the end of the
    IP payload within the capture and ``nh`` the next header.
    """
    idx = pk.need(idx, 1, "truncated IPv6 header")
    version = u8(pk.data, pk.at(idx)) >> 4
    wrong = version != 6
    if wrong.any():
        bad_version(pk, idx[wrong], version[wrong])
        idx = idx[~wrong]
    idx = pk.need(idx, HEADER, "truncated IPv6 header")
    at = pk.at(idx)
    data = pk.data
    cols = pk.cols
    cols["ip_version"][idx] = 6
    for k, name in enumerate(("src_hi", "src_lo", "dst_hi", "dst_lo")):
        cols[name][idx] = pk.be64[at + OFF_SOURCE + 8 * k]
    length = u16(data, at + OFF_PAYLOAD_LENGTH)
    l3 = pk.pos[idx]
    cap = pk.cap[idx]
    pk.end[idx] = np.where(length == 0, cap, np.minimum(cap, l3 + HEADER + length))
    pk.pos[idx] = l3 + HEADER
    pk.nh[idx] = u8(data, at + OFF_NEXT_HEADER)
    return idx


def _is_extension(pk: Packets, idx: np.ndarray) -> np.ndarray:
    """Packets of ``idx`` now sitting on an extension header they should walk."""
    nh = pk.nh[idx]
    ext = IS_EXTENSION[nh]
    # IPv4 only carries AH among these; a later fragment has no headers to walk.
    ext &= (pk.cols["ip_version"][idx] == 6) | (nh == IPPROTO_AH)
    return ext & (pk.frag[idx] != FRAG_LATER)


def walk_extensions(pk: Packets, idx: np.ndarray) -> np.ndarray:
    """Skip the extension headers of packets ``idx``; the packets that go on.

    An IPv6 fragment header sets the fragment fields (32-bit identification;
    the key protocol is the fragment header's own next header, which the first
    and the later fragments share).
    """
    current = idx
    for _ in range(MAX_EXTENSIONS):
        current = current[_is_extension(pk, current)]
        if not len(current):
            break
        after_v4 = pk.cols["ip_version"][current] == 4  # AH after an IPv4 header
        if after_v4.any():
            kept_v4 = pk.need(current[after_v4], EXTENSION_MIN, "truncated AH header")
            kept_v6 = pk.need(current[~after_v4], EXTENSION_MIN, "truncated IPv6 extension header")
            current = np.concatenate([kept_v4, kept_v6])
        else:
            current = pk.need(current, EXTENSION_MIN, "truncated IPv6 extension header")
        at = pk.at(current)
        data = pk.data
        nh = pk.nh[current]
        length_byte = u8(data, at + 1)
        length = np.where(nh == IPPROTO_AH, (length_byte + 2) * 4, (length_byte + 1) * 8)
        fragment = nh == IPPROTO_FRAGMENT
        length = np.where(fragment, EXTENSION_MIN, length)
        if fragment.any():
            fidx, fat = current[fragment], at[fragment]
            field = u16(data, fat + 2)
            later = (field & FRAGMENT_OFFSET_MASK) != 0
            more = (field & FRAGMENT_MORE) != 0
            real = later | more  # offset 0 without M is an "atomic" fragment: a whole packet
            fidx, fat, later = fidx[real], fat[real], later[real]
            pk.frag[fidx] = np.where(later, FRAG_LATER, FRAG_FIRST)
            pk.frag_id[fidx] = u32(data, fat + 4)
            pk.frag_nh[fidx] = u8(data, fat)
        pk.nh[current] = u8(data, at)
        pk.pos[current] += length
        beyond = pk.pos[current] > pk.end[current]
        if beyond.any():
            cut = current[beyond]
            v4 = pk.cols["ip_version"][cut] == 4
            pk.finish(cut[v4], KIND_UNDECODABLE, "truncated AH header")
            pk.finish(cut[~v4], KIND_UNDECODABLE, "truncated IPv6 extension header")
            current = current[~beyond]
    else:
        current = current[_is_extension(pk, current)]
        pk.finish(current, KIND_UNDECODABLE, "IPv6 extension header chain too long")
    return idx[pk.cols["kind"][idx] == PENDING]
