"""Headers between the link layer and IP: VLAN tags, MPLS, PPPoE and 802.2 LLC.

These can stack (QinQ, VLAN then MPLS, ...), so the walk repeats a bounded
number of times over the packets still sitting on one of them; each round is
one vectorized step for all such packets.  A stack deeper than
:data:`MAX_LAYERS` is undecodable ("link-layer header stack too long").

The ``vlan`` column records the *outermost* VLAN id (the service tag of a QinQ
frame), -1 when the frame carries no 802.1Q/802.1ad tag.
"""

from __future__ import annotations

import numpy as np

from ..columns import KIND_UNDECODABLE
from .ethertypes import (
    ETH_MAX_LENGTH,
    ETH_P_MPLS_MC,
    ETH_P_MPLS_UC,
    ETH_P_PPPOE_SESS,
    ETH_P_QINQ,
    ETH_P_QINQ_OLD,
    ETH_P_QINQ_OLD2,
    ETH_P_VLAN,
    LLC_SAP_SNAP,
    SNAP_OUI_CISCO,
    SNAP_OUI_ENCAPSULATED_ETHERNET,
)
from .nettypes import (
    CISCO_SNAP_BASE,
    IPX_RAW_8023,
    LLC_BASE,
    MPLS_PAYLOAD,
    SNAP_OTHER,
    ppp_code,
)
from .packets import PENDING, Packets, u8, u16

MAX_LAYERS = 12
VLAN_TAG = 4  # TCI (priority, DEI, 12-bit VLAN id), then the inner EtherType
MPLS_ENTRY = 4  # label (20 bits), traffic class (3), bottom of stack (1), TTL (8)
PPPOE_SESSION = 8  # version/type, code, session id, length, then the PPP protocol
LLC_HEADER = 3  # DSAP, SSAP, control
SNAP_HEADER = 8  # LLC header plus 3-byte organisation code and 2-byte protocol

VLAN_TYPES = (ETH_P_VLAN, ETH_P_QINQ, ETH_P_QINQ_OLD, ETH_P_QINQ_OLD2)
MPLS_TYPES = (ETH_P_MPLS_UC, ETH_P_MPLS_MC)


#: What each EtherType is to the walk: 0 not stacked, else one of the codes below.
NOT_STACKED, VLAN, MPLS, PPPOE, LLC = 0, 1, 2, 3, 4
STACK_ROLE = np.zeros(0x10000, dtype=np.uint8)
STACK_ROLE[: ETH_MAX_LENGTH + 1] = LLC
STACK_ROLE[list(VLAN_TYPES)] = VLAN
STACK_ROLE[list(MPLS_TYPES)] = MPLS
STACK_ROLE[ETH_P_PPPOE_SESS] = PPPOE


def _role(net: np.ndarray) -> np.ndarray:
    """The :data:`STACK_ROLE` of each network code (codes past 0xFFFF are never stacked)."""
    return STACK_ROLE[np.where(net <= 0xFFFF, net, 0xFFFF)]


def _vlan(pk: Packets, idx: np.ndarray) -> None:
    idx = pk.need(idx, VLAN_TAG, "truncated VLAN tag")
    at = pk.at(idx)
    vlan = pk.cols["vlan"]
    outer = vlan[idx] < 0
    vlan[idx[outer]] = u16(pk.data, at[outer]) & 0x0FFF
    pk.net[idx] = u16(pk.data, at + 2)
    pk.pos[idx] += VLAN_TAG


def _mpls(pk: Packets, idx: np.ndarray) -> None:
    idx = pk.need(idx, MPLS_ENTRY, "truncated MPLS label stack")
    bottom = (u8(pk.data, pk.at(idx, 2)) & 1) == 1
    pk.net[idx[bottom]] = MPLS_PAYLOAD
    pk.pos[idx] += MPLS_ENTRY


def _pppoe(pk: Packets, idx: np.ndarray) -> None:
    idx = pk.need(idx, PPPOE_SESSION, "truncated PPPoE header")
    pk.net[idx] = ppp_code(u16(pk.data, pk.at(idx, 6)))
    pk.pos[idx] += PPPOE_SESSION


def _llc(pk: Packets, idx: np.ndarray) -> None:
    """802.3 length frames: LLC, SNAP (a plain EtherType goes on), or raw IPX."""
    idx = pk.need(idx, 2, "truncated LLC header")
    at = pk.at(idx)
    # Novell "raw 802.3": IPX straight after the length, its checksum 0xFFFF.
    raw_ipx = (u8(pk.data, at) == 0xFF) & (u8(pk.data, at + 1) == 0xFF)
    pk.net[idx[raw_ipx]] = IPX_RAW_8023
    idx = pk.need(idx[~raw_ipx], LLC_HEADER, "truncated LLC header")
    at = pk.at(idx)
    dsap = u8(pk.data, at)
    snap = (dsap == LLC_SAP_SNAP) & (u8(pk.data, at + 1) == LLC_SAP_SNAP)
    plain = idx[~snap]
    pk.net[plain] = LLC_BASE | dsap[~snap]
    pk.pos[plain] += LLC_HEADER
    snap_idx = pk.need(idx[snap], SNAP_HEADER, "truncated SNAP header")
    at = pk.at(snap_idx)
    oui = (u16(pk.data, at + 3) << 8) | u8(pk.data, at + 5)
    proto = u16(pk.data, at + 6)
    code = np.where(oui == SNAP_OUI_CISCO, CISCO_SNAP_BASE | proto, SNAP_OTHER)
    # SNAP with a zero organisation code carries an EtherType: keep walking.
    pk.net[snap_idx] = np.where(oui == SNAP_OUI_ENCAPSULATED_ETHERNET, proto, code)
    pk.pos[snap_idx] += SNAP_HEADER


def walk_tags(pk: Packets, idx: np.ndarray) -> np.ndarray:
    """Walk the stacked headers of packets ``idx``; the packets that go on.

    Afterwards ``net`` of each remaining packet is an EtherType or another
    network code that is not one of the stacked headers, and ``pos`` points
    just past the last stacked header.
    """
    current = idx
    for _ in range(MAX_LAYERS):
        role = _role(pk.net[current])
        stacked = role != NOT_STACKED
        if not stacked.any():
            break
        current, role = current[stacked], role[stacked]
        for value, walk in ((VLAN, _vlan), (MPLS, _mpls), (PPPOE, _pppoe), (LLC, _llc)):
            sel = current[role == value]
            if len(sel):
                walk(pk, sel)
        current = current[pk.cols["kind"][current] == PENDING]
    else:
        current = current[_role(pk.net[current]) != NOT_STACKED]
        pk.finish(current, KIND_UNDECODABLE, "link-layer header stack too long")
    return idx[pk.cols["kind"][idx] == PENDING]
