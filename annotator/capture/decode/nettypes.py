"""Network-layer type codes: what follows the link layer, in one number space.

Each link layer tells what comes next in its own way (an EtherType, a PPP
protocol, a BSD address family, nothing at all for raw IP).  The link decoders
translate all of them into one ``int64`` code per packet so that the later
stages (tag walk, IP dispatch, naming of other traffic) are one vectorized
step each:

* ``0 .. 0xFFFF``: an EtherType; values up to 1500 are an 802.3 length, so an
  802.2 LLC header follows;
* the ``*_BASE | value`` ranges below: a PPP protocol, a BSD address family,
  an LLC SAP, a Cisco SNAP protocol, a Linux cooked protocol;
* single codes for "IP, tell v4 from v6 by the version nibble" (raw IP) and
  "whatever follows an MPLS label stack".
"""

from __future__ import annotations

import numpy as np

from .ethertypes import (
    CISCO_SNAP_NAMES,
    ETH_P_IPV4,
    ETH_P_IPV6,
    ETH_P_MPLS_MC,
    ETH_P_MPLS_UC,
    LLC_SAP_NAMES,
    PPP_IPV4,
    PPP_IPV6,
    PPP_MPLS_MC,
    PPP_MPLS_UC,
    ethertype_name,
    ppp_protocol_name,
)

IP_BY_VERSION = 0x1_0000  # raw IP: the version nibble decides
MPLS_PAYLOAD = 0x1_0001  # below the bottom MPLS label: IPv4/IPv6 by nibble, else "MPLS"
IPX_RAW_8023 = 0x1_0002  # Novell "raw 802.3" (IPX straight after the length)
CISCO_SLARP = 0x1_0003  # Cisco HDLC keepalive/address resolution
SNAP_OTHER = 0x1_0004  # SNAP with an organisation code we do not name
PPP_BASE = 0x2_0000  # | PPP protocol number
AF_BASE = 0x3_0000  # | BSD address family
LLC_BASE = 0x4_0000  # | 802.2 DSAP, for LLC frames that are not SNAP
CISCO_SNAP_BASE = 0x5_0000  # | Cisco SNAP protocol id
SLL_BASE = 0x6_0000  # | Linux cooked-capture protocol value below 0x0600

#: BSD address families for IPv4 and IPv6 (IPv6 differs between the BSDs).
AF_INET = 2
AF_INET6_VALUES = (24, 28, 30)  # NetBSD/OpenBSD, FreeBSD, Darwin

#: Codes that mean "an IPv4 header follows" and "an IPv6 header follows".
IPV4_CODES = np.array([ETH_P_IPV4, PPP_BASE | PPP_IPV4, AF_BASE | AF_INET], dtype=np.int64)
IPV6_CODES = np.array(
    [ETH_P_IPV6, PPP_BASE | PPP_IPV6, *(AF_BASE | af for af in AF_INET6_VALUES)], dtype=np.int64
)


def ppp_code(proto: np.ndarray) -> np.ndarray:
    """PPP protocol numbers -> network codes (MPLS over PPP rejoins the MPLS walk)."""
    code = np.where(proto == PPP_MPLS_UC, ETH_P_MPLS_UC, PPP_BASE | proto)
    return np.where(proto == PPP_MPLS_MC, ETH_P_MPLS_MC, code)


def network_name(code: int) -> str:
    """The other-traffic label for a network-layer code that is not IP."""
    code = int(code)
    if code <= 0xFFFF:
        return ethertype_name(code)
    if code == MPLS_PAYLOAD:
        return "MPLS"
    if code == IPX_RAW_8023:
        return "IPX"
    if code == CISCO_SLARP:
        return "Cisco SLARP"
    if code == SNAP_OTHER:
        return "LLC/SNAP"
    base, value = code & ~0xFFFF, code & 0xFFFF
    if base == PPP_BASE:
        return ppp_protocol_name(value)
    if base == AF_BASE:
        return f"loopback address family {value}"
    if base == LLC_BASE:
        return LLC_SAP_NAMES.get(value, "802.3 LLC")
    if base == CISCO_SNAP_BASE:
        return CISCO_SNAP_NAMES.get(value, f"Cisco SNAP 0x{value:04x}")
    if base == SLL_BASE:
        return f"Linux cooked protocol 0x{value:04x}"
    return f"network type 0x{code:x}"
