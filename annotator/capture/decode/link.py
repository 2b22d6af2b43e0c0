"""Link-layer headers: from each record's first byte to a network-layer code.

Each handler takes the packets of one link type, retires those whose header is
truncated, and leaves the others with ``pos`` just past the link header and
``net`` set to a code of :mod:`.nettypes` (an EtherType for most).  VLAN tags,
MPLS stacks, PPPoE and LLC that follow are walked afterwards by :mod:`.tags`,
whatever the link type, because Linux cooked captures carry them too.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from annotator.capture import linktypes as lt

from ..columns import KIND_UNDECODABLE
from .ethertypes import ETH_P_IPV4, ETH_P_IPV6, ETH_P_PPPOE_SESS
from .nettypes import AF_BASE, CISCO_SLARP, IP_BY_VERSION, IPX_RAW_8023, SLL_BASE, ppp_code
from .packets import PENDING, Packets, masked, u8, u16

ETHERNET_HEADER = 14  # destination, source, EtherType
SLL_HEADER = 16  # packet type, ARPHRD, address length, 8 address bytes, protocol
SLL2_HEADER = 20  # protocol, reserved, ifindex, ARPHRD, packet type, address length, address
LOOPBACK_HEADER = 4  # address family
C_HDLC_HEADER = 4  # address, control, EtherType
C_HDLC_SLARP = 0x8035

# Linux cooked-capture protocol values that are not EtherTypes (if_ether.h).
SLL_P_802_3 = 0x0001  # Novell raw 802.3
SLL_P_802_2 = 0x0004  # 802.2 LLC follows


def ethernet(pk: Packets, idx: np.ndarray) -> None:
    """Ethernet II or IEEE 802.3: EtherType or length at byte 12."""
    idx = pk.need(idx, ETHERNET_HEADER, "truncated Ethernet header")
    pk.net[idx] = u16(pk.data, pk.at(idx, 12))
    pk.pos[idx] += ETHERNET_HEADER


def _cooked_protocol(proto: np.ndarray) -> np.ndarray:
    """Linux cooked protocol field -> network code (EtherType, LLC, or named other)."""
    code = np.where(proto >= 0x0600, proto, SLL_BASE | proto)
    code = np.where(proto == SLL_P_802_2, 0, code)  # 0 is "an 802.3 length": LLC follows
    return np.where(proto == SLL_P_802_3, IPX_RAW_8023, code)


def linux_sll(pk: Packets, idx: np.ndarray) -> None:
    """Linux cooked capture v1: protocol at byte 14, 16-byte header."""
    idx = pk.need(idx, SLL_HEADER, "truncated Linux cooked header")
    pk.net[idx] = _cooked_protocol(u16(pk.data, pk.at(idx, 14)))
    pk.pos[idx] += SLL_HEADER


def linux_sll2(pk: Packets, idx: np.ndarray) -> None:
    """Linux cooked capture v2: protocol at byte 0, 20-byte header."""
    idx = pk.need(idx, SLL2_HEADER, "truncated Linux cooked v2 header")
    pk.net[idx] = _cooked_protocol(u16(pk.data, pk.at(idx)))
    pk.pos[idx] += SLL2_HEADER


def _fixed(code: int) -> Callable[[Packets, np.ndarray], None]:
    def handler(pk: Packets, idx: np.ndarray) -> None:
        pk.net[idx] = code

    handler.__doc__ = f"No link header: the record starts with network code 0x{code:x}."
    return handler


def loopback(pk: Packets, idx: np.ndarray) -> None:
    """BSD NULL (0) and OpenBSD LOOP (108): a 4-byte address family.

    NULL stores it in the capturing host's byte order and LOOP in network
    order; a family is a small number, so a value that only fits when read the
    other way round is byte-swapped (what libpcap-based tools do too).
    """
    idx = pk.need(idx, LOOPBACK_HEADER, "truncated loopback header")
    at = pk.at(idx)
    data = pk.data
    little = u8(data, at) | (u8(data, at + 1) << 8) | (u8(data, at + 2) << 16)
    little |= u8(data, at + 3) << 24
    big = (u16(data, at) << 16) | u16(data, at + 2)
    family = np.where(little <= 0xFFFF, little, big)
    pk.net[idx] = AF_BASE | np.minimum(family, 0xFFFF)
    pk.pos[idx] += LOOPBACK_HEADER


def ppp(pk: Packets, idx: np.ndarray) -> None:
    """PPP: optional 0xFF 0x03 address/control, then a 1- or 2-byte protocol.

    A protocol whose first byte is odd was compressed to that one byte
    (RFC 1661 protocol-field compression).
    """
    idx = pk.need(idx, 2, "truncated PPP header")
    at = pk.at(idx)
    framed = (u8(pk.data, at) == 0xFF) & (u8(pk.data, at + 1) == 0x03)
    pk.pos[idx] += np.where(framed, 2, 0)
    idx = pk.need(idx, 1, "truncated PPP header")
    at = pk.at(idx)
    first = u8(pk.data, at)
    short = (first & 1) == 1
    has_two = pk.pos[idx] + 2 <= pk.end[idx]
    truncated = ~short & ~has_two
    if truncated.any():
        pk.finish(idx[truncated], KIND_UNDECODABLE, "truncated PPP header")
        keep = ~truncated
        idx, at, first = idx[keep], at[keep], first[keep]
        short, has_two = short[keep], has_two[keep]
    second = masked(u8, pk.data, at + 1, has_two)
    pk.net[idx] = ppp_code(np.where(short, first, (first << 8) | second))
    pk.pos[idx] += np.where(short, 1, 2)


def cisco_hdlc(pk: Packets, idx: np.ndarray) -> None:
    """Cisco HDLC: address, control, then an EtherType (0x8035 here is SLARP)."""
    idx = pk.need(idx, C_HDLC_HEADER, "truncated Cisco HDLC header")
    proto = u16(pk.data, pk.at(idx, 2))
    pk.net[idx] = np.where(proto == C_HDLC_SLARP, CISCO_SLARP, proto)
    pk.pos[idx] += C_HDLC_HEADER


def ppp_hdlc(pk: Packets, idx: np.ndarray) -> None:
    """PPP_HDLC (50): PPP in HDLC-like framing, or Cisco HDLC (address 0x0F/0x8F)."""
    idx = pk.need(idx, 1, "truncated PPP header")
    address = u8(pk.data, pk.at(idx))
    cisco = (address == 0x0F) | (address == 0x8F)
    cisco_hdlc(pk, idx[cisco])
    ppp(pk, idx[~cisco])


#: The supported link types and their decoders.
HANDLERS: dict[int, Callable[[Packets, np.ndarray], None]] = {
    lt.LINKTYPE_NULL: loopback,
    lt.LINKTYPE_ETHERNET: ethernet,
    lt.LINKTYPE_PPP: ppp,
    lt.LINKTYPE_PPP_HDLC: ppp_hdlc,
    lt.LINKTYPE_PPP_ETHER: _fixed(ETH_P_PPPOE_SESS),
    lt.LINKTYPE_RAW_DLT12: _fixed(IP_BY_VERSION),
    lt.LINKTYPE_RAW_DLT14: _fixed(IP_BY_VERSION),
    lt.LINKTYPE_RAW: _fixed(IP_BY_VERSION),
    lt.LINKTYPE_C_HDLC: cisco_hdlc,
    lt.LINKTYPE_LOOP: loopback,
    lt.LINKTYPE_LINUX_SLL: linux_sll,
    lt.LINKTYPE_IPV4: _fixed(ETH_P_IPV4),
    lt.LINKTYPE_IPV6: _fixed(ETH_P_IPV6),
    lt.LINKTYPE_LINUX_SLL2: linux_sll2,
}


def decode_links(pk: Packets, idx: np.ndarray) -> np.ndarray:
    """Run the link decoder of each packet's link type; the packets that go on.

    Packets of an unsupported link type are retired as undecodable with the
    link type's name.
    """
    if not len(idx):
        return idx
    link = pk.link_type[idx]
    single = bool((link == link[0]).all())
    kinds = link[:1] if single else np.unique(link)
    for value in kinds:
        sel = idx if single else idx[link == value]
        handler = HANDLERS.get(int(value))
        if handler is None:
            pk.finish(sel, KIND_UNDECODABLE, lt.unsupported_link_type(int(value)))
        else:
            handler(pk, sel)
    return idx[pk.cols["kind"][idx] == PENDING]
