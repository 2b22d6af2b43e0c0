"""Client and server from the payload and from the capture's proven servers.

The port rules guess; the bytes and the capture's handshakes know.  Each test
crafts a capture with scapy and runs the whole pipeline (:func:`annotator.annotate`),
then reads the flow as an analyst would: who is the client, which port was
joined against the registry, and why (``direction_basis``).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pandas as pd
import pytest
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.dhcp6 import (
    DUID_LL,
    DHCP6_Solicit,
    DHCP6OptClientId,
    DHCP6OptElapsedTime,
    DHCP6OptIA_NA,
    DHCP6OptOptReq,
)
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import wrpcap

import annotator
from annotator.evidence import identify
from annotator.flows.direction import BASES, follow_known_servers, follow_payload

STUN_COOKIE = b"\x21\x12\xa4\x42"


def write(tmp_path: Path, packets: list, name: str = "c.pcap") -> Path:
    """Packets one second apart (unless they carry a time), as a pcap."""
    for i, packet in enumerate(packets):
        if not getattr(packet, "_timed", False):
            packet.time = 1_700_000_000 + i
    path = tmp_path / name
    wrpcap(str(path), packets)
    return path


def at(packet, seconds: float):
    """``packet`` stamped ``seconds`` after the first packet's time."""
    packet.time = 1_700_000_000 + seconds
    packet._timed = True
    return packet


def one_flow(path: Path) -> pd.Series:
    flows = annotator.annotate(path).flows
    assert len(flows) == 1
    return flows.iloc[0]


def udp(src: str, dst: str, sport: int, dport: int, payload: bytes):
    return Ether() / IP(src=src, dst=dst) / UDP(sport=sport, dport=dport) / Raw(payload)


def stun(klass: int, method: int = 3) -> bytes:
    """A STUN message with the magic cookie; ``klass`` 0 request ... 3 error response."""
    msg_type = (method & 0xF) | ((klass & 1) << 4) | ((klass & 2) << 7)
    return struct.pack("!HH", msg_type, 0) + STUN_COOKIE + os.urandom(12)


def wireguard_initiation(sender: bytes) -> bytes:
    return b"\x01\0\0\0" + sender + os.urandom(140)


def wireguard_response(sender: bytes, receiver: bytes) -> bytes:
    return b"\x02\0\0\0" + sender + receiver + os.urandom(80)


def wireguard_data(receiver: bytes, counter: int) -> bytes:
    return b"\x04\0\0\0" + receiver + struct.pack("<Q", counter) + os.urandom(48)


def test_dhcpv6_solicit_makes_the_host_the_client_not_the_multicast_group(tmp_path) -> None:
    # 546 and 547 are both registered, so the port rules picked the lower
    # port's side -- the soliciting host -- as the server, and the multicast
    # group, which can never send, as the client.
    solicit = (
        Ether()
        / IPv6(src="fe80::1", dst="ff02::1:2")
        / UDP(sport=546, dport=547)
        / DHCP6_Solicit(trid=0x1234)
        / DHCP6OptClientId(duid=DUID_LL(lladdr="02:00:00:00:00:01"))
        / DHCP6OptIA_NA(iaid=1)
        / DHCP6OptElapsedTime()
        / DHCP6OptOptReq()
    )
    flow = one_flow(write(tmp_path, [solicit, solicit.copy()]))
    assert (flow.client_ip, flow.client_port) == ("fe80::1", 546)
    assert (flow.server_ip, flow.server_port) == ("ff02::1:2", 547)
    assert flow.direction_basis == "payload"
    assert flow.service == "dhcpv6-server"
    assert (flow.packets_c2s, flow.packets_s2c) == (2, 0)
    assert flow.bytes_c2s == flow.bytes and flow.bytes_s2c == 0


def test_stun_allocate_request_names_the_requester_the_client(tmp_path) -> None:
    # Two unassigned user ports: the lower one (the requester's) looked like
    # the server's, so the TURN server was flagged as a client.
    local, relay = "192.168.12.169", "198.51.100.54"
    packets = [
        udp(local, relay, 38123, 40003, stun(0)),
        udp(relay, local, 40003, 38123, stun(3)),
        udp(local, relay, 38123, 40003, stun(0)),
        udp(relay, local, 40003, 38123, stun(2)),
    ]
    flow = one_flow(write(tmp_path, packets))
    assert (flow.client_ip, flow.client_port, flow.server_port) == (local, 38123, 40003)
    assert flow.direction_basis == "payload"
    assert flow.observed_protocol == "stun"
    assert (flow.packets_c2s, flow.packets_s2c) == (2, 2)


def test_wireguard_initiator_is_the_client_and_its_later_flow_follows(tmp_path) -> None:
    # 51820 is in the dynamic range, so the port classes made the initiator's
    # user port the server's.  After 200 s of silence (past UDP's idle
    # timeout) the tunnel's data is a new flow without a handshake message:
    # it takes the roles its first flow proved.
    me, peer = "10.9.0.1", "10.9.0.2"
    mine, theirs = os.urandom(4), os.urandom(4)
    packets = [
        at(udp(me, peer, 43462, 51820, wireguard_initiation(mine)), 0),
        at(udp(peer, me, 51820, 43462, wireguard_response(theirs, mine)), 0.1),
        at(udp(me, peer, 43462, 51820, wireguard_data(theirs, 0)), 0.2),
        at(udp(peer, me, 51820, 43462, wireguard_data(mine, 0)), 0.3),
        at(udp(peer, me, 51820, 43462, wireguard_data(mine, 1)), 200),
        at(udp(me, peer, 43462, 51820, wireguard_data(theirs, 1)), 200.1),
    ]
    flows = annotator.annotate(write(tmp_path, packets)).flows
    assert len(flows) == 2
    assert (flows.client_ip == me).all() and (flows.server_port == 51820).all()
    assert flows.direction_basis.tolist() == ["payload", "known-server"]
    assert (flows.observed_protocol == "wireguard").all()


def test_a_reply_from_the_same_port_pair_swaps_to_the_asker(tmp_path) -> None:
    # Both ends on 53 (server to server): the first packet decides, and the
    # capture began with the answer.
    answer = DNS(id=7, qr=1, qd=DNSQR(qname="example.com"), an=DNSRR(rrname="example.com"))
    question = DNS(id=8, rd=1, qd=DNSQR(qname="example.org"))
    packets = [
        udp("10.0.0.53", "10.0.0.77", 53, 53, bytes(answer)),
        udp("10.0.0.77", "10.0.0.53", 53, 53, bytes(question)),
    ]
    flow = one_flow(write(tmp_path, packets))
    assert (flow.client_ip, flow.server_ip) == ("10.0.0.77", "10.0.0.53")
    assert flow.direction_basis == "payload"
    assert (flow.packets_c2s, flow.packets_s2c) == (1, 1)


def test_an_mdns_announcement_keeps_the_device_as_the_sender(tmp_path) -> None:
    # A response sent to the group answers nobody: the group never becomes the client.
    announcement = DNS(qr=1, aa=1, an=DNSRR(rrname="printer.local", type="A", rdata="192.168.1.5"))
    flow = one_flow(
        write(tmp_path, [udp("192.168.1.5", "224.0.0.251", 5353, 5353, bytes(announcement))])
    )
    assert (flow.client_ip, flow.server_ip) == ("192.168.1.5", "224.0.0.251")
    assert flow.direction_basis == "first-packet"


def test_a_dhcp_offer_to_broadcast_keeps_the_server_on_67(tmp_path) -> None:
    offer = (
        Ether()
        / IP(src="192.168.1.1", dst="255.255.255.255")
        / UDP(sport=67, dport=68)
        / BOOTP(op=2, chaddr=b"\x02" * 6)
        / DHCP(options=[("message-type", "offer"), "end"])
    )
    flow = one_flow(write(tmp_path, [offer]))
    assert (flow.server_ip, flow.server_port) == ("192.168.1.1", 67)
    assert flow.direction_basis == "lower-port"
    assert flow.evidence_detail == "DHCP OFFER"


def test_a_handshake_is_never_overruled_by_the_payload(tmp_path) -> None:
    # The connecting side sends a DNS *response* over TCP: odd, but the SYN
    # says who connected, and that is what an analyst needs to know.
    answer = DNS(id=7, qr=1, qd=DNSQR(qname="example.com"))
    wire = struct.pack("!H", len(answer)) + bytes(answer)
    c, s = "10.0.0.1", "10.0.0.2"
    packets = [
        Ether() / IP(src=c, dst=s) / TCP(sport=40000, dport=53, flags="S", seq=1),
        Ether() / IP(src=s, dst=c) / TCP(sport=53, dport=40000, flags="SA", seq=9, ack=2),
        Ether() / IP(src=c, dst=s) / TCP(sport=40000, dport=53, flags="A", seq=2, ack=10),
        Ether() / IP(src=c, dst=s) / TCP(sport=40000, dport=53, flags="PA", seq=2, ack=10) / wire,
    ]
    flow = one_flow(write(tmp_path, packets))
    assert (flow.client_ip, flow.server_port) == (c, 53)
    assert flow.direction_basis == "handshake"
    assert identify(wire, b"", transport="tcp", client_port=40000, server_port=53).roles_reversed


def test_a_connection_seen_mid_stream_takes_the_roles_its_siblings_proved(tmp_path) -> None:
    # Two connections to 65.49.68.25:50053 open with a handshake; a third was
    # already running when the capture started.  Its ports alone (user against
    # dynamic) would make the client's ephemeral port the server's.
    client, server = "10.132.0.23", "65.49.68.25"
    packets = []
    for port in (38120, 38152):
        packets += [
            Ether() / IP(src=client, dst=server) / TCP(sport=port, dport=50053, flags="S"),
            Ether() / IP(src=server, dst=client) / TCP(sport=50053, dport=port, flags="SA"),
        ]
    packets += [
        Ether() / IP(src=server, dst=client) / TCP(sport=50053, dport=37898, flags="PA") / b"x",
        Ether() / IP(src=client, dst=server) / TCP(sport=37898, dport=50053, flags="A"),
    ]
    flows = annotator.annotate(write(tmp_path, packets)).flows
    late = flows[flows.client_port == 37898]
    assert len(late) == 1, flows[["client_port", "server_port", "direction_basis"]]
    assert (late.iloc[0].server_ip, late.iloc[0].server_port) == (server, 50053)
    assert late.iloc[0].direction_basis == "known-server"
    assert (flows.server_port == 50053).all()


def test_read_flows_alone_keeps_the_port_rules(tmp_path) -> None:
    # The flow stage has no fingerprints: only annotate settles roles from the payload.
    local, relay = "192.168.12.169", "198.51.100.54"
    path = write(tmp_path, [udp(local, relay, 38123, 40003, stun(0))])
    flows = annotator.read_flows(path).flows
    assert flows.iloc[0].server_port == 38123
    assert flows.iloc[0].direction_basis == "lower-port"


def table(rows: list[tuple]) -> pd.DataFrame:
    """A flow table of (transport, client, cport, server, sport, basis) rows."""
    frame = pd.DataFrame(
        rows, columns=["transport", "client_ip", "client_port", "server_ip", "server_port",
                       "direction_basis"],
    )  # fmt: skip
    frame["direction_basis"] = pd.Categorical(frame["direction_basis"], categories=BASES)
    frame["packets_c2s"], frame["packets_s2c"] = [3] * len(frame), [5] * len(frame)
    frame["bytes_c2s"], frame["bytes_s2c"] = [300] * len(frame), [500] * len(frame)
    return frame


def test_follow_payload_swaps_every_side_column_and_nothing_else() -> None:
    flows = table([
        ("udp", "10.0.0.1", 1000, "10.0.0.2", 2000, "lower-port"),
        ("udp", "10.0.0.3", 1000, "10.0.0.4", 2000, "handshake"),
        ("udp", "10.0.0.5", 1000, "ff02::fb", 2000, "registry"),
        ("udp", "10.0.0.7", 1000, "10.0.0.8", 2000, "registry"),
    ])  # fmt: skip
    out = follow_payload(flows, [True, True, True, False])
    assert out.iloc[0][["client_ip", "client_port", "server_ip", "server_port"]].tolist() == [
        "10.0.0.2",
        2000,
        "10.0.0.1",
        1000,
    ]
    assert out.iloc[0][["packets_c2s", "packets_s2c", "bytes_c2s", "bytes_s2c"]].tolist() == [
        5,
        3,
        500,
        300,
    ]
    assert out.direction_basis.tolist() == ["payload", "handshake", "registry", "registry"]
    pd.testing.assert_frame_equal(out.iloc[1:], flows.iloc[1:])
    assert flows.iloc[0].client_ip == "10.0.0.1"  # the input is left as it was
    assert follow_payload(flows, [False] * 4) is flows
    # Every row swapped (pandas may hand out views when all rows are selected).
    whole = follow_payload(flows.iloc[:1], [True])
    assert whole.iloc[0][["client_port", "server_port", "packets_c2s", "bytes_s2c"]].tolist() == [
        2000,
        1000,
        5,
        300,
    ]


@pytest.mark.parametrize(
    ("basis", "swapped"),
    [("first-packet", True), ("lower-port", True), ("port-class", True), ("registry", False),
     ("handshake", False)],
)  # fmt: skip
def test_known_servers_overrule_only_the_weaker_rules(basis: str, swapped: bool) -> None:
    flows = table([
        ("tcp", "10.0.0.1", 40000, "10.0.0.9", 8443, "handshake"),
        ("tcp", "10.0.0.9", 8443, "10.0.0.2", 40001, basis),
        ("udp", "10.0.0.9", 8443, "10.0.0.3", 40002, "lower-port"),  # another transport
    ])  # fmt: skip
    out = follow_known_servers(flows)
    assert bool(out.iloc[1].server_port == 8443) is swapped
    assert out.iloc[2].server_port == 40002


def test_two_proven_servers_talking_keep_their_roles() -> None:
    flows = table([
        ("tcp", "10.0.0.1", 40000, "10.0.0.8", 7000, "handshake"),
        ("tcp", "10.0.0.1", 40001, "10.0.0.9", 7001, "handshake"),
        ("tcp", "10.0.0.9", 7001, "10.0.0.8", 7000, "lower-port"),
    ])  # fmt: skip
    assert follow_known_servers(flows) is flows


def test_a_proven_server_is_proven_on_its_own_vlan_only() -> None:
    # The VLAN is part of a flow's key: the same address and port on another
    # VLAN may be another host (overlapping address plans).
    flows = table([
        ("tcp", "10.0.0.1", 40000, "10.0.0.9", 8443, "handshake"),
        ("tcp", "10.0.0.9", 8443, "10.0.0.2", 40001, "lower-port"),
        ("tcp", "10.0.0.9", 8443, "10.0.0.3", 40002, "lower-port"),
    ])  # fmt: skip
    flows["vlan_id"] = pd.array([10, 10, 20], dtype="Int32")
    out = follow_known_servers(flows)
    assert out.server_port.tolist() == [8443, 8443, 40002]
    assert out.direction_basis.tolist() == ["handshake", "known-server", "lower-port"]
