"""Packet decoding: raw capture records to per-packet columns, vectorized with numpy.

One public name, :class:`Decoder`: feed it the
:class:`~annotator.capture.columns.RecordBatch` chunks of one capture in
order and get a :class:`~annotator.capture.columns.PacketBatch` for each.

What is decoded:

* link types Ethernet (1), Linux cooked v1/v2 (113, 276), raw IP (12, 14,
  101, 228, 229), BSD loopback (0, 108), PPP (9, and 50 in HDLC framing),
  PPPoE without Ethernet (51) and Cisco HDLC (104), with
  802.1Q/802.1ad VLAN tags (``vlan`` = the outermost VLAN id, -1 untagged),
  MPLS label stacks, PPPoE sessions and 802.2 LLC/SNAP;
* IPv4 with options and fragments, IPv6 with its extension-header chain and
  fragments;
* TCP, UDP, SCTP and DCCP ports, TCP flags and the handshake direction.

``ip_version``, the addresses and ``proto`` are filled for every packet with a
valid IP header, other traffic included (``proto`` is then the protocol that
was named, e.g. 1 for ICMP), so the other-traffic table can use them too.

Every packet ends in exactly one kind: a flow packet, other traffic (named:
"ARP", "ICMP", "GRE", "EtherType 0x88b5", ...), or undecodable (with a short
reason: "truncated IPv4 header", "bad IP version 7", "unsupported link type
147 (USER0)", ...).  A later fragment of a TCP/UDP/SCTP/DCCP datagram whose
first fragment was not seen earlier in the capture or in the same batch (or
was itself undecodable) is other traffic "IPv4 fragment, first fragment not
seen" (or IPv6); a later fragment of another protocol keeps that protocol's
name.  Tunnels are not entered: only the outermost transport counts.
"""

from __future__ import annotations

from .decoder import Decoder

__all__ = ["Decoder"]
