"""EtherTypes (IEEE 802 numbers), PPP protocol numbers and 802.2 LLC SAPs.

Names for traffic that is not IP, as the other-traffic table shows them.
"""

from __future__ import annotations

ETH_P_IPV4 = 0x0800
ETH_P_ARP = 0x0806
ETH_P_VLAN = 0x8100  # IEEE 802.1Q customer tag
ETH_P_IPV6 = 0x86DD
ETH_P_MPLS_UC = 0x8847
ETH_P_MPLS_MC = 0x8848
ETH_P_PPPOE_DISC = 0x8863
ETH_P_PPPOE_SESS = 0x8864
ETH_P_QINQ = 0x88A8  # IEEE 802.1ad service tag
ETH_P_QINQ_OLD = 0x9100  # pre-standard service tag, still common
ETH_P_QINQ_OLD2 = 0x9200
#: Values up to this one are an IEEE 802.3 length, not an EtherType.
ETH_MAX_LENGTH = 1500

ETHERTYPE_NAMES: dict[int, str] = {
    0x0800: "IPv4",
    0x0806: "ARP",
    0x0842: "Wake-on-LAN",
    0x2000: "CDP",
    0x22F0: "AVTP",
    0x22F3: "TRILL",
    0x6002: "DEC MOP",
    0x6003: "DECnet",
    0x6004: "DEC LAT",
    0x6558: "Transparent Ethernet Bridging",
    0x8035: "RARP",
    0x809B: "AppleTalk",
    0x80F3: "AARP",
    0x8100: "802.1Q VLAN",
    0x8137: "IPX",
    0x8138: "IPX",
    0x8204: "QNX Qnet",
    0x86DD: "IPv6",
    0x8808: "Ethernet flow control",
    0x8809: "Slow protocols (LACP)",
    0x8819: "CobraNet",
    0x8847: "MPLS",
    0x8848: "MPLS",
    0x8863: "PPPoE discovery",
    0x8864: "PPPoE session",
    0x886F: "Microsoft NLB",
    0x8874: "Broadcom tag",
    0x887B: "HomePlug",
    0x888E: "EAPOL (802.1X)",
    0x8892: "PROFINET",
    0x8899: "Realtek RRCP",
    0x889A: "HyperSCSI",
    0x88A2: "ATA over Ethernet",
    0x88A4: "EtherCAT",
    0x88A8: "802.1ad QinQ",
    0x88AB: "Ethernet Powerlink",
    0x88B5: "IEEE 802 local experimental",
    0x88B6: "IEEE 802 local experimental",
    0x88B8: "IEC 61850 GOOSE",
    0x88B9: "IEC 61850 GSE",
    0x88BA: "IEC 61850 sampled values",
    0x88CC: "LLDP",
    0x88CD: "SERCOS III",
    0x88E1: "HomePlug AV",
    0x88E3: "MRP",
    0x88E5: "MACsec",
    0x88E7: "Provider Backbone Bridging",
    0x88F7: "PTP",
    0x88F8: "NC-SI",
    0x88FB: "PRP",
    0x8902: "CFM (802.1ag)",
    0x8906: "FCoE",
    0x8914: "FCoE initialization",
    0x8915: "RoCE",
    0x891D: "TTEthernet",
    0x892F: "HSR",
    0x893A: "IEEE 1905.1",
    0x9000: "Ethernet loopback",
    0x9100: "802.1ad QinQ",
    0xCAFE: "Veritas LLT",
}

PPP_IPV4 = 0x0021
PPP_IPV6 = 0x0057
PPP_MPLS_UC = 0x0281
PPP_MPLS_MC = 0x0283

PPP_PROTOCOL_NAMES: dict[int, str] = {
    0x002B: "PPP IPX",
    0x003D: "PPP multilink",
    0x00FD: "PPP compressed datagram",
    0x8021: "PPP IPCP",
    0x8057: "PPP IPv6CP",
    0x80FD: "PPP CCP",
    0x8281: "PPP MPLSCP",
    0xC021: "PPP LCP",
    0xC023: "PPP PAP",
    0xC025: "PPP LQR",
    0xC223: "PPP CHAP",
}

#: IEEE 802.2 LLC destination service access points.
LLC_SAP_NAMES: dict[int, str] = {
    0x04: "LLC/SNA",
    0x06: "LLC/IP",
    0x42: "LLC/STP",
    0x80: "LLC/XNS",
    0xAA: "LLC/SNAP",
    0xE0: "LLC/IPX",
    0xF0: "LLC/NetBIOS",
    0xF4: "LLC/LAN management",
    0xFE: "LLC/OSI",
}
LLC_SAP_SNAP = 0xAA
SNAP_OUI_ENCAPSULATED_ETHERNET = 0x000000  # SNAP carrying a plain EtherType
SNAP_OUI_CISCO = 0x00000C

#: EtherType-like protocol identifiers Cisco sends in SNAP frames.
CISCO_SNAP_NAMES: dict[int, str] = {
    0x2000: "CDP",
    0x2003: "VTP",
    0x2004: "DTP",
    0x010B: "Cisco PVST+",
    0x0111: "Cisco UDLD",
}


def ethertype_name(value: int) -> str:
    """A human name for an EtherType ("EtherType 0x88cc" when unnamed)."""
    return ETHERTYPE_NAMES.get(int(value), f"EtherType 0x{int(value):04x}")


def ppp_protocol_name(value: int) -> str:
    """A human name for a PPP protocol number ("PPP protocol 0xc021" when unnamed)."""
    return PPP_PROTOCOL_NAMES.get(int(value), f"PPP protocol 0x{int(value):04x}")
