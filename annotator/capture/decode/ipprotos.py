"""IP protocol numbers (IANA "Assigned Internet Protocol Numbers") and names.

Used for the IPv4 protocol field, the IPv6 next-header chain and the
other-traffic labels.  Only the common ones are named; any other number is
labelled "IP protocol N".
"""

from __future__ import annotations

IPPROTO_HOPOPTS = 0  # IPv6 hop-by-hop options
IPPROTO_ICMP = 1
IPPROTO_IPIP = 4  # IPv4 encapsulated in IP
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_DCCP = 33
IPPROTO_IPV6 = 41  # IPv6 encapsulated in IP
IPPROTO_ROUTING = 43  # IPv6 routing header
IPPROTO_FRAGMENT = 44  # IPv6 fragment header
IPPROTO_GRE = 47
IPPROTO_ESP = 50
IPPROTO_AH = 51  # authentication header; length in 4-octet units minus 2
IPPROTO_ICMPV6 = 58
IPPROTO_NONE = 59  # IPv6 "no next header"
IPPROTO_DSTOPTS = 60  # IPv6 destination options
IPPROTO_SCTP = 132

#: IPv6 extension headers the decoder walks (AH also follows an IPv4 header).
IPV6_EXTENSION_HEADERS = (
    IPPROTO_HOPOPTS,
    IPPROTO_ROUTING,
    IPPROTO_FRAGMENT,
    IPPROTO_DSTOPTS,
    IPPROTO_AH,
)

IP_PROTOCOL_NAMES: dict[int, str] = {
    0: "IPv6 hop-by-hop",
    1: "ICMP",
    2: "IGMP",
    3: "GGP",
    4: "IPv4 encapsulation",
    5: "ST",
    6: "TCP",
    8: "EGP",
    9: "IGP",
    17: "UDP",
    27: "RDP",
    33: "DCCP",
    36: "XTP",
    41: "IPv6 encapsulation",
    43: "IPv6 routing",
    44: "IPv6 fragment",
    45: "IDRP",
    46: "RSVP",
    47: "GRE",
    48: "DSR",
    50: "ESP",
    51: "AH",
    55: "MOBILE",
    57: "SKIP",
    58: "ICMPv6",
    59: "IPv6 no next header",
    60: "IPv6 destination options",
    88: "EIGRP",
    89: "OSPF",
    92: "MTP",
    93: "AX.25",
    94: "IPIP",
    97: "EtherIP",
    98: "ENCAP",
    103: "PIM",
    108: "IPComp",
    111: "IPX-in-IP",
    112: "VRRP",
    113: "PGM",
    115: "L2TP",
    118: "STP",
    121: "SMP",
    124: "IS-IS over IPv4",
    126: "CRTP",
    127: "CRUDP",
    132: "SCTP",
    133: "FC",
    134: "RSVP-E2E-IGNORE",
    135: "IPv6 mobility",
    136: "UDP-Lite",
    137: "MPLS-in-IP",
    139: "HIP",
    140: "Shim6",
    141: "WESP",
    142: "ROHC",
    143: "Ethernet",
    144: "AGGFRAG",
    145: "NSH",
    253: "experimental IP protocol 253",
    254: "experimental IP protocol 254",
}


def ip_protocol_name(number: int) -> str:
    """A human name for an IP protocol number ("IP protocol N" when unnamed)."""
    return IP_PROTOCOL_NAMES.get(int(number), f"IP protocol {int(number)}")
