"""Binary protocols, built with scapy where it has the layer and with struct
otherwise: DNS and its variants, NetBIOS, SMB, RDP, NTP, DHCP, SNMP, STUN,
MQTT, databases, BitTorrent, WireGuard, OpenVPN, Kerberos, LDAP, TFTP."""

from __future__ import annotations

import os
import struct

import pytest

from annotator.evidence import identify

scapy_all = pytest.importorskip("scapy.all")
from scapy.asn1.asn1 import ASN1_OID  # noqa: E402
from scapy.contrib.mqtt import MQTT, MQTTConnect  # noqa: E402
from scapy.layers.dhcp import BOOTP, DHCP  # noqa: E402
from scapy.layers.dhcp6 import (  # noqa: E402
    DHCP6_Solicit,
    DHCP6OptClientId,
    DHCP6OptElapsedTime,
    DHCP6OptIA_NA,
)
from scapy.layers.dns import DNS, DNSQR, DNSRR  # noqa: E402
from scapy.layers.netbios import NBNSHeader, NBNSQueryRequest, NBTSession  # noqa: E402
from scapy.layers.ntp import NTPHeader  # noqa: E402
from scapy.layers.smb import SMB_Header  # noqa: E402
from scapy.layers.smb2 import SMB2_Header, SMB2_Negotiate_Protocol_Request  # noqa: E402
from scapy.layers.snmp import SNMP, SNMPget, SNMPvarbind  # noqa: E402
from scapy.layers.tftp import TFTP, TFTP_RRQ  # noqa: E402

raw = scapy_all.raw
SECRET = "s3cret-community"


def tcp(c2s: bytes, s2c: bytes = b"", port: int = 1000):
    return identify(c2s, s2c, transport="tcp", client_port=51000, server_port=port)


def udp(c2s: bytes, s2c: bytes = b"", port: int = 1000, server_ip: str | None = None):
    return identify(
        c2s, s2c, transport="udp", client_port=51000, server_port=port, server_ip=server_ip
    )


def dns_query(name: str = "www.example.com", qtype: str = "AAAA") -> bytes:
    return raw(DNS(id=0x1234, rd=1, qd=DNSQR(qname=name, qtype=qtype)))


def test_dns_over_udp_and_tcp() -> None:
    ev = udp(dns_query(), port=53)
    assert ev.protocol == "dns" and ev.fields["dns_qname"] == "www.example.com"
    assert ev.detail == "DNS query AAAA www.example.com"
    query = dns_query()
    assert tcp(len(query).to_bytes(2, "big") + query, port=53).protocol == "dns"


def test_dns_on_another_port_is_still_dns() -> None:
    assert udp(dns_query(), port=8053).protocol == "dns"


def test_response_only_dns() -> None:
    answer = raw(
        DNS(
            id=1, qr=1, qd=DNSQR(qname="a.example"), an=DNSRR(rrname="a.example", rdata="192.0.2.1")
        )
    )
    ev = udp(b"", answer, port=53)
    assert ev.protocol == "dns" and ev.fields["dns_rcode"] == 0


def test_port_and_multicast_group_pick_mdns_and_llmnr() -> None:
    query = dns_query("printer.local", "A")
    assert udp(query, port=5353).protocol == "mdns"
    assert udp(query, port=40000, server_ip="ff02::fb").protocol == "mdns"
    assert udp(query, port=5355).protocol == "llmnr"
    assert udp(query, port=40000, server_ip="224.0.0.252").protocol == "llmnr"


def test_the_port_never_makes_bytes_dns() -> None:
    assert udp(os.urandom(64), port=5353, server_ip="224.0.0.251").protocol is None
    broken = dns_query()[:-8]  # the name is cut: no complete question
    assert udp(broken, port=53).protocol is None


def test_odd_label_bytes_are_kept_inert() -> None:
    query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x04a\x1b[b\x02cn\x00\x00\x01\x00\x01"
    ev = udp(query, port=53)
    assert ev.protocol == "dns" and "\x1b" not in ev.detail


def test_netbios_name_service() -> None:
    ev = udp(raw(NBNSHeader() / NBNSQueryRequest(QUESTION_NAME="WORKGROUP")), port=137)
    assert ev.protocol == "netbios-ns" and ev.fields["netbios_name"] == "WORKGROUP<00>"


def test_smb2_with_netbios_header_and_dialect_from_the_response() -> None:
    request = raw(
        NBTSession() / SMB2_Header() / SMB2_Negotiate_Protocol_Request(Dialects=[0x0202, 0x0311])
    )
    header = bytearray(raw(SMB2_Header(Flags=1)))  # a response
    body = struct.pack("<HHH", 65, 1, 0x0311) + bytes(58)
    response = struct.pack("!I", len(header) + len(body)) + bytes(header) + body
    ev = tcp(request, response, 445)
    assert ev.protocol == "smb" and ev.fields["smb_dialect"] == "3.1.1"
    assert ev.detail == "SMB dialect 3.1.1"


def test_smb1_and_direct_smb2() -> None:
    assert tcp(raw(NBTSession() / SMB_Header()), port=445).fields["smb_version"] == "1"
    assert tcp(raw(SMB2_Header()) + bytes(40), port=445).protocol == "smb"


def rdp_request(extra: bytes) -> bytes:
    x224 = bytes([6 + len(extra), 0xE0, 0, 0, 0, 0, 0]) + extra
    return b"\x03\x00" + struct.pack("!H", 4 + len(x224)) + x224


def test_rdp_connection_request_with_cookie_and_negotiation() -> None:
    neg = b"\x01\x00\x08\x00\x03\x00\x00\x00"
    ev = tcp(rdp_request(b"Cookie: mstshash=administrator\r\n" + neg), port=3389)
    assert ev.protocol == "rdp" and ev.fields["cookie"] == "mstshash"
    assert "administrator" not in repr(ev)


def test_iso_tsap_connection_request_is_not_rdp() -> None:
    # S7comm opens with the same TPKT + X.224 CR, but carries TSAP parameters.
    s7 = rdp_request(b"\xc1\x02\x01\x00\xc2\x02\x01\x02\xc0\x01\x0a")
    assert tcp(s7, port=102).protocol is None


def test_ntp_client_and_server() -> None:
    ev = udp(raw(NTPHeader()), port=123)
    assert ev.protocol == "ntp" and ev.fields["mode"] == "client" and ev.fields["version"] == 4
    server = raw(
        NTPHeader(mode=4, stratum=2, ref=3_900_000_000, recv=3_900_000_001, sent=3_900_000_002)
    )
    assert udp(b"", server, 123).fields["mode"] == "server"


def test_dhcp_v4_and_v6() -> None:
    discover = raw(
        BOOTP(chaddr=b"\x00\x11\x22\x33\x44\x55")
        / DHCP(options=[("message-type", "discover"), "end"])
    )
    assert udp(discover, port=67).detail == "DHCP DISCOVER"
    solicit = raw(DHCP6_Solicit() / DHCP6OptElapsedTime() / DHCP6OptClientId() / DHCP6OptIA_NA())
    ev = udp(solicit, port=547)
    assert ev.protocol == "dhcp" and ev.fields["version"] == 6


def test_snmp_community_is_credentials_but_never_kept() -> None:
    oid = ASN1_OID("1.3.6.1.2.1.1.1.0")
    ev = udp(raw(SNMP(community=SECRET, PDU=SNMPget(varbindlist=[SNMPvarbind(oid=oid)]))), port=161)
    assert ev.protocol == "snmp" and ev.credentials is True
    assert ev.fields["version"] == "SNMPv2c"
    assert SECRET not in repr(ev)


def test_stun_binding_request() -> None:
    request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + os.urandom(12)
    ev = udp(request, port=3478)
    assert ev.protocol == "stun" and ev.fields["method"] == "Binding"


def test_mqtt_connect_with_password() -> None:
    packet = MQTT() / MQTTConnect(
        protoname="MQTT",
        protolevel=4,
        usernameflag=1,
        passwordflag=1,
        clientId="c",
        username="u",
        password=SECRET,
    )
    ev = tcp(raw(packet), port=1883)
    assert ev.protocol == "mqtt" and ev.credentials is True and ev.fields["version"] == "3.1.1"
    assert SECRET not in repr(ev)


def test_postgresql_startup_and_ssl_request() -> None:
    params = b"user\x00alice\x00database\x00app\x00\x00"
    startup = struct.pack("!II", 8 + len(params), 0x00030000) + params
    assert tcp(startup, port=5432).protocol == "postgresql"
    assert tcp(b"\x00\x00\x00\x08\x04\xd2\x16\x2f", b"S", 5432).fields["message"] == "SSLRequest"
    cleartext = b"R\x00\x00\x00\x08\x00\x00\x00\x03"
    assert tcp(startup, cleartext, 5432).credentials is True


def test_mysql_server_greeting() -> None:
    body = b"\x0a8.0.36\x00" + struct.pack("<I", 42) + b"abcdefgh\x00" + bytes(40)
    greeting = len(body).to_bytes(3, "little") + b"\x00" + body
    ev = tcp(b"", greeting, 3306)
    assert ev.protocol == "mysql" and ev.fields["version"] == "8.0.36"


def test_mongodb_op_msg_and_reply() -> None:
    doc = b"\x10\x00\x00\x00\x10ping\x00\x01\x00\x00\x00\x00"
    msg = struct.pack("<iiiiI", 21 + len(doc), 7, 0, 2013, 0) + b"\x00" + doc
    reply = struct.pack("<iiiiI", 21 + len(doc), 99, 7, 2013, 0) + b"\x00" + doc
    assert tcp(msg, reply, 27017).protocol == "mongodb"
    wrong = struct.pack("<iiiiI", 21 + len(doc), 99, 8, 2013, 0) + b"\x00" + doc
    assert tcp(msg, wrong, 27017).protocol is None  # the reply must answer the request


def test_bittorrent_handshake_and_dht() -> None:
    handshake = b"\x13BitTorrent protocol" + bytes(8) + os.urandom(40)
    assert tcp(handshake, port=6881).protocol == "bittorrent"
    dht = b"d1:ad2:id20:" + os.urandom(20) + b"e1:q4:ping1:t2:aa1:y1:qe"
    assert udp(dht, port=6881).fields["kind"] == "dht query"


def test_wireguard_handshake() -> None:
    initiation = b"\x01\x00\x00\x00" + os.urandom(144)
    ev = udp(initiation, port=51820)
    assert ev.protocol == "wireguard" and ev.fields["message"] == "handshake initiation"
    assert udp(initiation[:100], port=51820).protocol is None  # wrong length


def test_openvpn_hard_reset_over_udp_and_tcp() -> None:
    session = os.urandom(8)
    reset = b"\x38" + session + b"\x00" + b"\x00\x00\x00\x00"
    assert udp(reset, port=1194).protocol == "openvpn"
    answer = b"\x40" + os.urandom(8) + b"\x01\x00\x00\x00\x00" + session + b"\x00\x00\x00\x00"
    assert udp(reset, answer, 1194).detail == "OpenVPN hard reset, answered"
    assert tcp(struct.pack("!H", len(reset)) + reset + b"\x00" * 4, port=1194).protocol == "openvpn"


def der(tag: int, content: bytes) -> bytes:
    size = len(content)
    length = bytes([size]) if size < 128 else b"\x82" + struct.pack("!H", size)
    return bytes([tag]) + length + content


def test_kerberos_as_req_over_udp_and_tcp() -> None:
    body = der(0xA1, b"\x02\x01\x05") + der(0xA2, b"\x02\x01\x0a") + der(0xA4, der(0x30, bytes(20)))
    as_req = der(0x6A, der(0x30, body))
    assert udp(as_req, port=88).detail == "Kerberos AS-REQ"
    assert tcp(struct.pack("!I", len(as_req)) + as_req, port=88).protocol == "kerberos"


def test_ldap_simple_bind_is_credentials() -> None:
    bind = der(
        0x60, b"\x02\x01\x03" + der(0x04, b"cn=admin,dc=example") + der(0x80, SECRET.encode())
    )
    message = der(0x30, b"\x02\x01\x01" + bind)
    ev = tcp(message, port=389)
    assert ev.protocol == "ldap" and ev.credentials is True
    assert SECRET not in repr(ev)
    anonymous = der(
        0x30, b"\x02\x01\x01" + der(0x60, b"\x02\x01\x03" + der(0x04, b"") + der(0x80, b""))
    )
    assert tcp(anonymous, port=389).credentials is False


def test_tftp_read_request() -> None:
    ev = udp(raw(TFTP() / TFTP_RRQ(filename=b"pxelinux.0", mode=b"octet")), port=69)
    assert ev.protocol == "tftp" and ev.fields["mode"] == "octet"


def test_ntp_mode_7_monlist_request_and_mode_6_control() -> None:
    monlist = b"\x17\x00\x03\x2a" + bytes(44)
    ev = udp(monlist, port=123)
    assert ev.protocol == "ntp" and ev.fields["mode"] == "private" and "42" in ev.detail
    readvar = b"\x16\x02\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00"
    assert udp(readvar, port=123).fields["mode"] == "control"
    assert udp(b"\x16\x02\x00\x01\x12\x34\x00\x00\x00\x10\x00\x00", port=123).protocol is None


def test_dhcpv6_relay_forward() -> None:
    from scapy.layers.dhcp6 import DHCP6_RelayForward, DHCP6OptRelayMsg

    inner = DHCP6_Solicit() / DHCP6OptElapsedTime() / DHCP6OptClientId()
    relayed = raw(DHCP6_RelayForward(hopcount=1) / DHCP6OptRelayMsg(message=inner))
    ev = udp(relayed, port=547)
    assert ev.protocol == "dhcp" and ev.fields["message_type"] == "RELAY-FORW"


def test_gena_notify_over_tcp_is_http() -> None:
    ev = tcp(b"NOTIFY /evt HTTP/1.1\r\nHOST: 192.0.2.5:2869\r\nNT: upnp:event\r\n\r\n", port=2869)
    assert ev.protocol == "http" and ev.fields["method"] == "NOTIFY"


def test_a_query_to_port_53_is_dns_whatever_the_client_port() -> None:
    ev = identify(dns_query(), b"", transport="udp", client_port=5353, server_port=53)
    assert ev.protocol == "dns"
    answer = identify(b"", dns_query(), transport="udp", client_port=5353, server_port=40000)
    assert answer.protocol == "mdns"


def netbios_name(name: str, suffix: int = 0x20) -> bytes:
    """First-level encoding of a NetBIOS name (RFC 1001 section 14.1)."""
    raw_name = name.upper().ljust(15).encode() + bytes([suffix])
    letters = b"".join(bytes([0x41 + (b >> 4), 0x41 + (b & 0x0F)]) for b in raw_name)
    return b"\x20" + letters + b"\x00"


def test_netbios_datagram_and_session_request() -> None:
    from scapy.layers.netbios import NBTDatagram

    datagram = (
        raw(NBTDatagram(SourceName="HOST1", DestinationName="WORKGROUP")) + b"\xffSMB%" + bytes(40)
    )
    ev = udp(datagram, port=138)
    assert ev.protocol == "netbios-dgm" and ev.fields["netbios_name"] == "HOST1<00>"
    names = netbios_name("FILESERVER") + netbios_name("CLIENT", 0x00)
    request = b"\x81\x00" + struct.pack("!H", len(names)) + names
    ev = tcp(request, b"\x82\x00\x00\x00", 139)
    assert ev.protocol == "nbss" and ev.fields["netbios_name"] == "FILESERVER<20>"
    # The SMB that follows the session request makes it SMB.
    smb = raw(NBTSession() / SMB2_Header() / SMB2_Negotiate_Protocol_Request(Dialects=[0x0311]))
    assert tcp(request + smb, b"\x82\x00\x00\x00", 139).protocol == "smb"


def test_utp_connection_opening() -> None:
    syn = b"\x41\x00\x12\x34" + os.urandom(12) + b"\x00\x01" + b"\x00\x00"
    state = b"\x21\x00\x12\x34" + os.urandom(12) + b"\x56\x78" + b"\x00\x01"
    assert udp(syn, state, 6881).fields["kind"] == "utp"
    wrong_ack = state[:18] + b"\x00\x09"
    assert udp(syn, wrong_ack, 6881).protocol is None


def test_ike_sa_init_with_and_without_the_non_esp_marker() -> None:
    payloads = os.urandom(200)
    header = os.urandom(8) + bytes(8) + b"\x21\x20\x22\x08" + bytes(4)
    message = header + struct.pack("!I", 28 + len(payloads)) + payloads
    ev = udp(message, port=500)
    assert ev.protocol == "ike" and ev.detail == "IKEv2 IKE_SA_INIT"
    assert udp(b"\x00\x00\x00\x00" + message, port=4500).protocol == "ike"
    too_long = header + struct.pack("!I", 5000) + payloads
    assert udp(too_long, port=500).protocol is None
