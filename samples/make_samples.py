"""Write the bundled sample captures: a small, realistic office capture in four forms.

Run from anywhere (``python samples/make_samples.py [--out DIR]``); it needs scapy and
cryptography (the ``test`` extra).  It writes, next to itself unless ``--out`` says
otherwise:

``mixed.pcap``
    The main scenario on Ethernet (classic pcap, microsecond timestamps, written with
    scapy).  Flow by flow, see ``samples/README.md``: TLS 1.3 browsing with SNI and
    ALPN over IPv4 and IPv6, a QUIC Initial on 443/udp, DNS (one answer fragmented
    into two IPv4 fragments), NTP, SSH on 443/tcp, HTTP on the unassigned port
    8180/tcp, an Android Debug Bridge handshake on 5555/tcp (a port with unauthorized
    use reported), DCE/RPC on the dynamic port 49668/tcp, SCTP (M3UA, 2905), DCCP
    (RTP, 5004), a telnet login on VLAN 99, and ARP and ICMP echo as other traffic.
``mixed.pcapng``
    The same frames and timestamps as a pcapng file with nanosecond resolution
    (``if_tsresol`` = 9), written here with struct because scapy's pcapng writer
    only produces microsecond enhanced packet blocks.
``mixed.pcap.gz``
    ``mixed.pcap`` gzip-compressed with mtime 0 and no file name in the header.
``truncated.pcap``
    ``mixed.pcap`` cut in the middle of a packet record, so a reader must return a
    partial result (exit code 3 for ``annotate``).

The scenario is :data:`SCENARIO`: one small function per conversation and its start
time; their frames are merged in time order, so conversations interleave as on a
real wire.

Determinism: every timestamp is a fixed offset from 2026-03-10 09:15:00 UTC, every
sequence number, identifier and port is written out, and every "random" byte
(TLS randoms, key shares, encrypted records) comes from :func:`filler`, a SHA-256
counter stream keyed by a label.  Running the script twice gives byte-identical
files; ``tests/samples/test_sample_contents.py`` checks that.

All addresses are private (RFC 1918) or documentation ranges (RFC 5737, RFC 3849)
and all names are under the reserved example domains.  The telnet password is an
obvious fake (:data:`FAKE_PASSWORD`) and must never appear in any report.
"""

from __future__ import annotations

import argparse
import calendar
import gzip
import hashlib
import hmac
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import ICMP, IP, TCP, UDP, fragment
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.layers.ntp import NTPHeader
from scapy.layers.sctp import (
    SCTP,
    SCTPChunkCookieAck,
    SCTPChunkCookieEcho,
    SCTPChunkData,
    SCTPChunkInit,
    SCTPChunkInitAck,
    SCTPChunkParamStateCookie,
    SCTPChunkSACK,
)
from scapy.layers.tls.extensions import (
    ProtocolName,
    ServerName,
    TLS_Ext_ALPN,
    TLS_Ext_PSKKeyExchangeModes,
    TLS_Ext_ServerName,
    TLS_Ext_SignatureAlgorithms,
    TLS_Ext_SupportedGroups,
    TLS_Ext_SupportedVersion_CH,
    TLS_Ext_SupportedVersion_SH,
    TLS_Ext_Unknown,
)
from scapy.layers.tls.handshake import TLSClientHello, TLSServerHello
from scapy.layers.tls.keyexchange_tls13 import (
    KeyShareEntry,
    TLS_Ext_KeyShare_CH,
    TLS_Ext_KeyShare_SH,
)
from scapy.layers.tls.record import TLS
from scapy.packet import Packet, Raw
from scapy.utils import PcapWriter

HERE = Path(__file__).resolve().parent

#: Start of the scenario: a Tuesday morning, in microseconds since the epoch.
T0_US = calendar.timegm((2026, 3, 10, 9, 15, 0)) * 1_000_000

#: The telnet password typed in the clear.  Obviously fake; reports must never show it.
FAKE_PASSWORD = "fake-Pa55w0rd-EXAMPLE"
TELNET_USER = "netadmin"

GATEWAY_MAC = "00:1a:2b:00:00:01"


def filler(label: str, size: int) -> bytes:
    """Deterministic pseudo-random bytes: SHA-256 over ``label`` and a counter."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{label}/{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


@dataclass
class Host:
    """One endpoint.  ``mac`` is the gateway's for hosts beyond the router.

    ``ip_id`` is where the host's IPv4 identification counter starts; every
    build starts it afresh (:func:`reset_hosts`), so building twice in one
    process gives the same frames.
    """

    ip: str
    mac: str = GATEWAY_MAC
    ttl: int = 64
    ip_id: int = 0x1000
    _next_id: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        self._next_id = self.ip_id

    def next_id(self) -> int:
        self._next_id = (self._next_id + 1) & 0xFFFF
        return self._next_id


# The office LAN (10.20.30.0/24), a management VLAN (10.99.0.0/24) and the Internet.
ALICE = Host("10.20.30.41", "3c:52:82:11:22:41", ip_id=0x2A10)
BOB = Host("10.20.30.42", "3c:52:82:11:22:42", ip_id=0x5B02)
CAROL = Host("10.20.30.43", "3c:52:82:11:22:43", ip_id=0x0C77)
DEV = Host("10.20.30.57", "3c:52:82:11:22:57", ip_id=0x7710)
ROUTER = Host("10.20.30.1", GATEWAY_MAC, ip_id=0x0001)
RESOLVER = Host("10.20.30.53", "52:54:00:aa:00:53", ip_id=0x3E00)
FILESRV = Host("10.20.30.10", "52:54:00:aa:00:10", ip_id=0x4400)
WIKI = Host("10.20.30.80", "52:54:00:aa:00:80", ip_id=0x6100)
PHONE = Host("10.20.30.155", "a4:50:46:0d:15:5e", ip_id=0x0150)
SIGGW = Host("10.20.30.70", "52:54:00:aa:00:70", ip_id=0x0700)
STP = Host("10.20.40.5", ttl=63, ip_id=0x0400)
ADMIN = Host("10.99.0.60", "3c:52:82:11:22:60", ip_id=0x6060)
SWITCH = Host("10.99.0.2", "00:1e:be:99:00:02", ttl=255, ip_id=0x0002)
DOCS = Host("198.51.100.20", ttl=54, ip_id=0x9000)
MAIL = Host("198.51.100.25", ttl=53, ip_id=0xA000)
CDN = Host("198.51.100.30", ttl=55, ip_id=0xB000)
MEDIA = Host("198.51.100.77", ttl=50, ip_id=0xC000)
JUMP = Host("203.0.113.44", ttl=47, ip_id=0xD000)
NTPSRV = Host("203.0.113.123", ttl=51, ip_id=0xE000)
ALICE6 = Host("2001:db8:20:30::41", ALICE.mac)
RESOLVER6 = Host("2001:db8:20:30::53", RESOLVER.mac)
WWW6 = Host("2001:db8:100::10", ttl=56)
HOSTS = (ALICE, BOB, CAROL, DEV, ROUTER, RESOLVER, FILESRV, WIKI, PHONE, SIGGW, STP, ADMIN,
         SWITCH, DOCS, MAIL, CDN, MEDIA, JUMP, NTPSRV, ALICE6, RESOLVER6, WWW6)  # fmt: skip


def reset_hosts() -> None:
    """Restart every host's IPv4 identification counter."""
    for host in HOSTS:
        host._next_id = host.ip_id


@dataclass
class Capture:
    """Frames with their timestamps (microseconds), sorted when written."""

    frames: list[tuple[int, Packet]] = field(default_factory=list)

    def add(self, t_us: int, frame: Packet) -> None:
        self.frames.append((t_us, frame))

    def ordered(self) -> list[tuple[int, Packet]]:
        # sorted() is stable, so frames sharing a timestamp keep their build order.
        return sorted(self.frames, key=lambda item: item[0])


def ip_layer(src: Host, dst: Host, proto: int | None = None) -> Packet:
    """Ethernet plus IPv4 or IPv6 header from ``src`` to ``dst``."""
    if ":" in src.ip:
        net: Packet = IPv6(src=src.ip, dst=dst.ip, hlim=src.ttl)
        if proto is not None:
            net.nh = proto
    else:
        net = IP(src=src.ip, dst=dst.ip, ttl=src.ttl, id=src.next_id(), flags="DF")
        if proto is not None:
            net.proto = proto
    return Ether(src=src.mac, dst=dst.mac) / net


def with_vlan(frame: Packet, vlan: int) -> Packet:
    """Insert an 802.1Q tag after the Ethernet header."""
    eth = frame[Ether]
    return Ether(src=eth.src, dst=eth.dst) / Dot1Q(vlan=vlan) / eth.payload


class TcpSession:
    """One TCP connection: handshake, data both ways with ACKs, orderly close."""

    def __init__(
        self,
        cap: Capture,
        start_us: int,
        client: Host,
        cport: int,
        server: Host,
        sport: int,
        rtt_us: int = 20_000,
        vlan: int | None = None,
    ) -> None:
        self.cap, self.t, self.rtt, self.vlan = cap, start_us, rtt_us, vlan
        self.ends = {True: (client, cport), False: (server, sport)}
        seed = hashlib.sha256(f"isn/{client.ip}/{cport}/{server.ip}/{sport}".encode()).digest()
        self.seq = {True: int.from_bytes(seed[:4], "big"), False: int.from_bytes(seed[4:8], "big")}

    def _emit(self, from_client: bool, flags: str, payload: bytes = b"", opts=None) -> None:
        src, sport = self.ends[from_client]
        dst, dport = self.ends[not from_client]
        ack = self.seq[not from_client] if "A" in flags else 0
        seg = TCP(
            sport=sport,
            dport=dport,
            seq=self.seq[from_client],
            ack=ack,
            flags=flags,
            window=(64240 if from_client else 65160) if "S" in flags else 502,
            options=opts or [],
        )
        frame = ip_layer(src, dst) / seg
        if payload:
            frame = frame / Raw(payload)
        if self.vlan is not None:
            frame = with_vlan(frame, self.vlan)
        self.cap.add(self.t, frame)
        self.seq[from_client] = (self.seq[from_client] + len(payload)) & 0xFFFFFFFF
        if "S" in flags or "F" in flags:
            self.seq[from_client] = (self.seq[from_client] + 1) & 0xFFFFFFFF

    def handshake(self) -> TcpSession:
        syn_opts = [("MSS", 1460), ("SAckOK", b""), ("NOP", None), ("WScale", 7)]
        self._emit(True, "S", opts=syn_opts)
        self.t += self.rtt // 2
        self._emit(False, "SA", opts=syn_opts)
        self.t += self.rtt // 2
        self._emit(True, "A")
        self.t += 300
        return self

    def send(self, from_client: bool, payload: bytes, think_us: int = 400) -> TcpSession:
        """Send ``payload`` in MSS-sized segments; the peer acknowledges the last one."""
        for offset in range(0, len(payload), 1448):
            self._emit(from_client, "PA", payload[offset : offset + 1448])
            self.t += 60
        self.t += self.rtt // 2
        self._emit(not from_client, "A")
        self.t += think_us
        return self

    def close(self, by_client: bool = True) -> TcpSession:
        self._emit(by_client, "FA")
        self.t += self.rtt // 2
        self._emit(not by_client, "FA")
        self.t += self.rtt // 2
        self._emit(by_client, "A")
        return self


def udp(cap: Capture, t_us: int, src: Host, sport: int, dst: Host, dport: int, payload) -> None:
    cap.add(t_us, ip_layer(src, dst) / UDP(sport=sport, dport=dport) / payload)


# --- application payloads -------------------------------------------------------------


def client_hello(sni: str, alpn: list[bytes], label: str, quic_params: bytes | None = None):
    """A TLS 1.3 ClientHello handshake message with SNI and ALPN (scapy's TLS layer)."""
    ext = [
        TLS_Ext_ServerName(servernames=[ServerName(servername=sni.encode())]),
        TLS_Ext_SupportedGroups(groups=[29, 23, 24]),
        TLS_Ext_SignatureAlgorithms(sig_algs=[0x0403, 0x0804, 0x0401, 0x0503, 0x0805]),
        TLS_Ext_ALPN(protocols=[ProtocolName(protocol=p) for p in alpn]),
        TLS_Ext_SupportedVersion_CH(versions=[0x0304, 0x0303]),
        TLS_Ext_PSKKeyExchangeModes(kxmodes=[1]),
        TLS_Ext_KeyShare_CH(
            client_shares=[KeyShareEntry(group=29, key_exchange=filler(label + "/ks", 32))]
        ),
    ]
    if quic_params is not None:
        ext.append(TLS_Ext_Unknown(type=0x39, val=quic_params))
    rnd = filler(label + "/random", 32)
    return TLSClientHello(
        version=0x0303,
        gmt_unix_time=int.from_bytes(rnd[:4], "big"),
        random_bytes=rnd[4:],
        sid=b"" if quic_params is not None else filler(label + "/sid", 32),
        ciphers=[0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xCCA9],
        comp=[0],
        ext=ext,
    )


def server_hello(label: str, sid: bytes) -> TLSServerHello:
    """A TLS 1.3 ServerHello (TLS_AES_128_GCM_SHA256, x25519)."""
    rnd = filler(label + "/srandom", 32)
    return TLSServerHello(
        version=0x0303,
        gmt_unix_time=int.from_bytes(rnd[:4], "big"),
        random_bytes=rnd[4:],
        sid=sid,
        cipher=0x1301,
        comp=0,
        ext=[
            TLS_Ext_SupportedVersion_SH(version=0x0304),
            TLS_Ext_KeyShare_SH(
                server_share=KeyShareEntry(group=29, key_exchange=filler(label + "/sks", 32))
            ),
        ],
    )


def app_data(label: str, size: int) -> bytes:
    """One TLS application-data record of ``size`` opaque (encrypted-looking) bytes."""
    return struct.pack("!BHH", 23, 0x0303, size) + filler(label, size)


def tls_browse(cap: Capture, t: int, client: Host, cport: int, server: Host, sni: str) -> None:
    """A TLS 1.3 connection: ClientHello/ServerHello, a request and a response, close."""
    s = TcpSession(cap, t, client, cport, server, 443).handshake()
    hello = client_hello(sni, [b"h2", b"http/1.1"], sni)
    s.send(True, bytes(TLS(type=22, version=0x0301, msg=[hello])))
    flight = bytes(TLS(type=22, version=0x0303, msg=[server_hello(sni, hello.sid)]))
    flight += struct.pack("!BHHB", 20, 0x0303, 1, 1) + app_data(sni + "/ee-cert-fin", 2900)
    s.send(False, flight)
    s.send(True, struct.pack("!BHHB", 20, 0x0303, 1, 1) + app_data(sni + "/cfin", 53))
    s.send(True, app_data(sni + "/req", 412), think_us=30_000)
    s.send(False, app_data(sni + "/resp", 5200), think_us=2_000_000)
    s.close()


def dns_pair(cap, t, client, cport, server, qid, name, qtype, answers) -> None:
    """A DNS query and its answer over UDP 53 (scapy's DNS layer)."""
    query = DNS(id=qid, rd=1, qd=DNSQR(qname=name, qtype=qtype))
    udp(cap, t, client, cport, server, 53, query)
    records = [DNSRR(rrname=name, type=qtype, ttl=300, rdata=a) for a in answers]
    reply = DNS(id=qid, qr=1, rd=1, ra=1, qd=DNSQR(qname=name, qtype=qtype), an=records)
    udp(cap, t + 1_800, server, 53, client, cport, reply)


def hkdf_label(secret: bytes, label: str, length: int) -> bytes:
    """TLS 1.3 HKDF-Expand-Label with an empty context (RFC 8446 section 7.1)."""
    full = b"tls13 " + label.encode()
    info = struct.pack("!HB", length, len(full)) + full + b"\x00"
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(secret, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def quic_initial(dcid: bytes, scid: bytes, key_dcid: bytes, server: bool, frames: bytes) -> bytes:
    """A QUIC v1 Initial packet, encrypted and header-protected as RFC 9001 section 5."""
    salt = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")
    initial = hmac.new(salt, key_dcid, hashlib.sha256).digest()
    secret = hkdf_label(initial, "server in" if server else "client in", 32)
    key, iv = hkdf_label(secret, "quic key", 16), hkdf_label(secret, "quic iv", 12)
    hp = hkdf_label(secret, "quic hp", 16)
    if not server:  # clients pad their first datagram to at least 1,200 bytes
        frames = frames + bytes(max(0, 1162 - len(frames)))
    pn, pn_len = 0, 2
    head = bytes([0xC0 | (pn_len - 1)]) + struct.pack("!I", 1)
    head += bytes([len(dcid)]) + dcid + bytes([len(scid)]) + scid + b"\x00"  # no token
    head += struct.pack("!H", 0x4000 | (pn_len + len(frames) + 16)) + pn.to_bytes(pn_len, "big")
    nonce = bytes(a ^ b for a, b in zip(iv, pn.to_bytes(12, "big"), strict=True))
    sealed = AESGCM(key).encrypt(nonce, frames, head)
    pn_at = len(head) - pn_len
    sample = sealed[4 - pn_len : 20 - pn_len]
    mask = Cipher(algorithms.AES(hp), modes.ECB()).encryptor().update(sample)
    out = bytearray(head + sealed)
    out[0] ^= mask[0] & 0x0F
    for i in range(pn_len):
        out[pn_at + i] ^= mask[1 + i]
    return bytes(out)


def crypto_frame(data: bytes) -> bytes:
    """A QUIC CRYPTO frame at offset 0 (2-byte varint length)."""
    return b"\x06\x00" + struct.pack("!H", 0x4000 | len(data)) + data


def ssh_kexinit(label: str) -> bytes:
    """An SSH binary packet holding a KEXINIT message (RFC 4253 section 7.1)."""
    lists = [
        "curve25519-sha256,ecdh-sha2-nistp256,ext-info-c",
        "ssh-ed25519,rsa-sha2-512,rsa-sha2-256",
        "chacha20-poly1305@openssh.com,aes128-ctr,aes256-gcm@openssh.com",
        "chacha20-poly1305@openssh.com,aes128-ctr,aes256-gcm@openssh.com",
        "umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com",
        "umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com",
        "none,zlib@openssh.com",
        "none,zlib@openssh.com",
        "",
        "",
    ]
    body = bytes([20]) + filler(label + "/cookie", 16)
    for item in lists:
        body += struct.pack("!I", len(item)) + item.encode()
    body += b"\x00" + struct.pack("!I", 0)
    pad = 8 - (len(body) + 5) % 8
    pad += 8 if pad < 4 else 0
    return struct.pack("!IB", len(body) + pad + 1, pad) + body + bytes(pad)


def adb_message(command: bytes, arg0: int, arg1: int, data: bytes) -> bytes:
    """An Android Debug Bridge message: 24-byte little-endian header, then data."""
    cmd = int.from_bytes(command, "little")
    head = struct.pack("<6I", cmd, arg0, arg1, len(data), sum(data) & 0xFFFFFFFF, cmd ^ 0xFFFFFFFF)
    return head + data


def dcerpc(ptype: int, body: bytes, call_id: int = 2) -> bytes:
    """A connection-oriented DCE/RPC PDU header (version 5.0, little-endian NDR)."""
    return (
        struct.pack("<BBBB4sHHI", 5, 0, ptype, 3, b"\x10\0\0\0", 16 + len(body), 0, call_id) + body
    )


def uuid_le(text: str, version: int) -> bytes:
    """A DCE/RPC syntax id: UUID in little-endian field order plus its version."""
    parts = text.split("-")
    raw = struct.pack("<IHH", int(parts[0], 16), int(parts[1], 16), int(parts[2], 16))
    return raw + bytes.fromhex(parts[3] + parts[4]) + struct.pack("<I", version)


def dccp_packet(src: Host, dst: Host, sport: int, dport: int, kind: int, seq: int, ack=None):
    """A DCCP packet with 48-bit sequence numbers (RFC 4340), checksum over everything."""
    extra = b"" if ack is None else struct.pack("!HHI", 0, ack >> 32, ack & 0xFFFFFFFF)
    if kind in (0, 1):  # Request and Response carry the service code
        extra += b"RTPA"
    header_len = 16 + len(extra)
    head = struct.pack("!HHBBH", sport, dport, header_len // 4, 0, 0)
    head += bytes([(kind << 1) | 1, 0]) + seq.to_bytes(6, "big") + extra
    pseudo = bytes(map(int, src.ip.split("."))) + bytes(map(int, dst.ip.split(".")))
    pseudo += struct.pack("!BBH", 0, 33, len(head))
    data = pseudo + head
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    head = head[:6] + struct.pack("!H", ~total & 0xFFFF) + head[8:]
    return ip_layer(src, dst, proto=33) / Raw(head)


# --- the scenario, one conversation per function -------------------------------------
# Each takes the capture and its start time (microseconds); build_mixed() places them.

# Telnet commands and options (RFC 854, 1091, 1073, 857, 858).
IAC, SE, SB, WILL, DO = 255, 240, 250, 251, 253
ECHO, SGA, TTYPE, NAWS = 1, 3, 24, 31


def arp_gateway(cap: Capture, t: int) -> None:
    """Alice resolves her gateway's MAC address."""
    request = ARP(op=1, hwsrc=ALICE.mac, psrc=ALICE.ip, pdst=ROUTER.ip)
    cap.add(t, Ether(src=ALICE.mac, dst="ff:ff:ff:ff:ff:ff") / request)
    reply = ARP(op=2, hwsrc=ROUTER.mac, psrc=ROUTER.ip, hwdst=ALICE.mac, pdst=ALICE.ip)
    cap.add(t + 350, Ether(src=ROUTER.mac, dst=ALICE.mac) / reply)


def ntp_sync(cap: Capture, t: int) -> None:
    """Alice asks a public NTP server for the time (NTPv4 client and server modes)."""
    now = calendar.timegm((2026, 3, 10, 9, 15, 0)) + 2_208_988_800  # seconds since 1900
    ask = NTPHeader(version=4, mode=3, poll=6, precision=-20, id="0.0.0.0",
                    ref=0, orig=0, recv=0, sent=now + 0.005)  # fmt: skip
    udp(cap, t, ALICE, 50123, NTPSRV, 123, ask)
    answer = NTPHeader(version=4, mode=4, stratum=2, poll=6, precision=-24, id="198.51.100.1",
                       ref=now - 900.25, orig=now + 0.005, recv=now + 0.0205,
                       sent=now + 0.0206)  # fmt: skip
    udp(cap, t + 31_000, NTPSRV, 123, ALICE, 50123, answer)


def browsing(cap: Capture, t: int) -> None:
    """DNS lookups, then TLS 1.3 to each name: two over IPv4, one over IPv6."""
    dns_pair(cap, t, ALICE, 53211, RESOLVER, 0x1C2D, "docs.example.org", "A", [DOCS.ip])
    tls_browse(cap, t + 4_000, ALICE, 51544, DOCS, "docs.example.org")
    dns_pair(cap, t + 90_000, BOB, 61002, RESOLVER, 0x7E11, "mail.example.net", "A", [MAIL.ip])
    tls_browse(cap, t + 95_000, BOB, 58312, MAIL, "mail.example.net")
    t6 = t + 280_000
    dns_pair(cap, t6, ALICE6, 55102, RESOLVER6, 0x4A01, "www.example.com", "AAAA", [WWW6.ip])
    tls_browse(cap, t6 + 3_000, ALICE6, 52890, WWW6, "www.example.com")


def quic_attempt(cap: Capture, t: int) -> None:
    """Alice's browser tries HTTP/3: a QUIC v1 Initial each way, Wireshark-decryptable."""
    dns_pair(cap, t, ALICE, 64890, RESOLVER, 0x0B0B, "cdn.example.net", "A", [CDN.ip])
    dcid, cscid, sscid = filler("quic/dcid", 8), filler("quic/cscid", 8), filler("quic/sscid", 8)
    # transport parameters: max_idle_timeout 30 s, initial_max_data 256 KiB, source CID
    params = bytes.fromhex("0104800075300404800400000f08") + cscid
    hello = client_hello("cdn.example.net", [b"h3"], "cdn.example.net/quic", quic_params=params)
    first = quic_initial(dcid, cscid, dcid, False, crypto_frame(bytes(hello)))
    udp(cap, t + 3_000, ALICE, 60311, CDN, 443, Raw(first))
    sh = server_hello("cdn.example.net/quic", b"")
    reply = b"\x02\x00\x00\x00\x00" + crypto_frame(bytes(sh))  # ACK of packet 0, ServerHello
    udp(cap, t + 21_000, CDN, 443, ALICE, 60311, Raw(quic_initial(cscid, sscid, dcid, True, reply)))


def fragmented_dns(cap: Capture, t: int) -> None:
    """A TXT lookup whose 1,817-byte answer arrives as two IPv4 fragments."""
    txt = [b"v=spf1 include:_spf.example.org ip4:198.51.100.0/24 -all"]
    txt += [b"example-site-verification=" + filler(f"txt{i}", 60).hex().encode() for i in range(10)]
    question = DNSQR(qname="example.org", qtype="TXT")
    udp(cap, t, BOB, 57005, RESOLVER, 53, DNS(id=0x5151, rd=1, qd=question, ar=[]))
    records = [DNSRR(rrname="example.org", type="TXT", ttl=3600, rdata=[s]) for s in txt]
    answer = DNS(id=0x5151, qr=1, rd=1, ra=1, qd=question, an=records)
    big = IP(src=RESOLVER.ip, dst=BOB.ip, ttl=64, id=0x7A7A) / UDP(sport=53, dport=57005) / answer
    for i, part in enumerate(fragment(big, fragsize=1480)):
        cap.add(t + 2_500 + 40 * i, Ether(src=RESOLVER.mac, dst=BOB.mac) / part)


def ssh_on_443(cap: Capture, t: int) -> None:
    """SSH to a jump host on 443/tcp: the port says https, the bytes say SSH."""
    s = TcpSession(cap, t, DEV, 50522, JUMP, 443, rtt_us=38_000).handshake()
    s.send(False, b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5\r\n")
    s.send(True, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
    s.send(True, ssh_kexinit("ssh/client"))
    s.send(False, ssh_kexinit("ssh/server"))
    s.send(True, struct.pack("!IBB", 44, 6, 30) + filler("ssh/ecdh-init", 42))
    s.send(False, filler("ssh/encrypted-1", 564))
    s.send(True, filler("ssh/encrypted-2", 96), think_us=1_500_000)
    s.close()


def http_on_8180(cap: Capture, t: int) -> None:
    """HTTP on 8180/tcp, unassigned in the registry: the team wiki's status page."""
    request = (
        b"GET /status HTTP/1.1\r\nHost: wiki.corp.example.com:8180\r\n"
        b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
        b"Accept: text/html,application/xhtml+xml\r\nConnection: close\r\n\r\n"
    )
    body = b"<!doctype html><title>wiki status</title><p>All services operational.</p>\n"
    response = (
        b"HTTP/1.1 200 OK\r\nServer: Jetty(9.4.53)\r\nContent-Type: text/html; charset=utf-8\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
    )
    s = TcpSession(cap, t, BOB, 59876, WIKI, 8180, rtt_us=600).handshake()
    s.send(True, request).send(False, response).close(by_client=False)


def adb_on_5555(cap: Capture, t: int) -> None:
    """Android Debug Bridge on 5555/tcp (registered to personal-agent; unauthorized use known)."""
    host = b"host::features=shell_v2,cmd,stat_v2,ls_v2,fixed_push_mkdir\x00"
    device = b"device::ro.product.name=example;ro.product.model=Demo;\x00"
    s = TcpSession(cap, t, BOB, 60222, PHONE, 5555, rtt_us=4_000).handshake()
    s.send(True, adb_message(b"CNXN", 0x01000001, 256 * 1024, host))
    s.send(False, adb_message(b"CNXN", 0x01000001, 256 * 1024, device))
    s.send(True, adb_message(b"OPEN", 1, 0, b"shell:getprop ro.build.version.release\x00"))
    s.close()


def rpc_on_dynamic_port(cap: Capture, t: int) -> None:
    """DCE/RPC bind to SAMR on the file server's dynamic endpoint 49668/tcp."""
    ndr = uuid_le("8a885d04-1ceb-11c9-9fe8-08002b104860", 2)
    bind = struct.pack("<HHIB3x", 5840, 5840, 0, 1) + struct.pack("<HBx", 0, 1)
    bind += uuid_le("12345778-1234-abcd-ef00-0123456789ac", 1) + ndr  # SAMR
    bind_ack = struct.pack("<HHI", 5840, 5840, 0x1D3F) + struct.pack("<H", 6) + b"49668\x00"
    bind_ack += struct.pack("<B3xHH", 1, 0, 0) + ndr  # one result: acceptance, NDR
    s = TcpSession(cap, t, CAROL, 61512, FILESRV, 49668, rtt_us=500).handshake()
    s.send(True, dcerpc(11, bind)).send(False, dcerpc(12, bind_ack)).close()


def sctp_m3ua(cap: Capture, t: int) -> None:
    """An SCTP association to an M3UA peer (2905/sctp) carrying one ASP Up message."""
    ctag, stag = 0x1A2B3C4D, 0x5E6F7081
    cookie = filler("sctp/cookie", 32)
    streams = {"a_rwnd": 106496, "n_out_streams": 10, "n_in_streams": 10}
    asp_up = struct.pack("!BBBBI", 1, 0, 3, 1, 8)  # M3UA version 1, class ASPSM, type ASP Up
    chunks = [
        (SIGGW, 0, SCTPChunkInit(init_tag=ctag, init_tsn=1000, **streams)),
        (STP, ctag, SCTPChunkInitAck(init_tag=stag, init_tsn=5000, **streams,
                                     params=[SCTPChunkParamStateCookie(cookie=cookie)])),
        (SIGGW, stag, SCTPChunkCookieEcho(cookie=cookie)),
        (STP, ctag, SCTPChunkCookieAck()),
        (SIGGW, stag, SCTPChunkData(tsn=1000, stream_id=0, stream_seq=0, proto_id=3,
                                    beginning=1, ending=1, data=asp_up)),
        (STP, ctag, SCTPChunkSACK(cumul_tsn_ack=1000, a_rwnd=106496)),
    ]  # fmt: skip
    for i, (src, tag, chunk) in enumerate(chunks):
        dst, ports = (STP, (50905, 2905)) if src is SIGGW else (SIGGW, (2905, 50905))
        header = SCTP(sport=ports[0], dport=ports[1], tag=tag)
        cap.add(t + 1_500 * i, ip_layer(src, dst) / header / chunk)


def dccp_rtp(cap: Capture, t: int) -> None:
    """A DCCP connection for RTP media (5004/dccp): Request, Response, Ack."""
    cap.add(t, dccp_packet(CAROL, MEDIA, 52004, 5004, 0, 0xA1B2C3D4))
    cap.add(t + 24_000, dccp_packet(MEDIA, CAROL, 5004, 52004, 1, 0x1F2E3D4C, ack=0xA1B2C3D4))
    cap.add(t + 24_400, dccp_packet(CAROL, MEDIA, 52004, 5004, 3, 0xA1B2C3D5, ack=0x1F2E3D4C))


def telnet_login(cap: Capture, t: int) -> None:
    """Telnet to a switch on management VLAN 99: option negotiation, then a login in clear."""
    s = TcpSession(cap, t, ADMIN, 53023, SWITCH, 23, rtt_us=900, vlan=99).handshake()
    s.send(False, bytes([IAC, DO, TTYPE, IAC, DO, NAWS, IAC, WILL, ECHO, IAC, WILL, SGA]))
    agree = [IAC, WILL, TTYPE, IAC, WILL, NAWS, IAC, DO, ECHO, IAC, DO, SGA]
    window = [IAC, SB, NAWS, 0, 80, 0, 24, IAC, SE]  # 80 x 24
    s.send(True, bytes(agree + window))
    s.send(False, bytes([IAC, SB, TTYPE, 1, IAC, SE]))  # send your terminal type
    s.send(True, bytes([IAC, SB, TTYPE, 0]) + b"XTERM" + bytes([IAC, SE]))
    s.send(False, b"\r\nsw-core-01 login: ", think_us=1_200_000)
    s.send(True, TELNET_USER.encode() + b"\r\n")
    s.send(False, TELNET_USER.encode() + b"\r\nPassword: ", think_us=1_800_000)
    s.send(True, FAKE_PASSWORD.encode() + b"\r\n")
    banner = b"\r\nLast login: Mon Mar  9 17:02:11 2026 from 10.99.0.60\r\nsw-core-01> "
    s.send(False, banner, think_us=900_000)
    s.send(True, b"exit\r\n")
    s.send(False, b"exit\r\n")
    s.close(by_client=False)


def ping_gateway(cap: Capture, t: int) -> None:
    """Bob pings his gateway twice, a second apart."""
    for i in range(2):
        payload = Raw(filler(f"ping/{i}", 48))
        sent = t + i * 1_000_000
        cap.add(sent, ip_layer(BOB, ROUTER) / ICMP(type=8, id=0x0BEE, seq=i + 1) / payload)
        cap.add(sent + 420, ip_layer(ROUTER, BOB) / ICMP(type=0, id=0x0BEE, seq=i + 1) / payload)


#: The scenario: each conversation and when it starts, in microseconds after T0_US.
SCENARIO = (
    (0, arp_gateway),
    (5_000, ntp_sync),
    (120_000, browsing),
    (700_000, quic_attempt),
    (900_000, fragmented_dns),
    (1_200_000, ssh_on_443),
    (1_600_000, http_on_8180),
    (1_900_000, adb_on_5555),
    (2_100_000, rpc_on_dynamic_port),
    (2_300_000, sctp_m3ua),
    (2_500_000, dccp_rtp),
    (2_800_000, telnet_login),
    (3_000_000, ping_gateway),
)


def build_mixed() -> list[tuple[int, Packet]]:
    """Every frame of the office scenario, in capture order."""
    reset_hosts()
    cap = Capture()
    for offset, conversation in SCENARIO:
        conversation(cap, T0_US + offset)
    return cap.ordered()


# --- writers ----------------------------------------------------------------------------


def write_pcap(path: Path, frames: Iterable[tuple[int, Packet]]) -> None:
    """Classic pcap, microsecond timestamps, Ethernet, written by scapy."""
    with PcapWriter(str(path), linktype=1, sync=False) as writer:
        writer.write_header(None)
        for t_us, frame in frames:
            sec, usec = divmod(t_us, 1_000_000)
            raw = bytes(frame)
            writer.write_packet(raw, sec=sec, usec=usec, caplen=len(raw), wirelen=len(raw))


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + bytes(-len(value) % 4)


def _block(kind: int, body: bytes) -> bytes:
    size = 12 + len(body)
    return struct.pack("<II", kind, size) + body + struct.pack("<I", size)


def write_pcapng(path: Path, frames: Iterable[tuple[int, Packet]]) -> None:
    """pcapng: one section, one Ethernet interface with nanosecond timestamps."""
    shb_opts = _option(4, b"annotator samples/make_samples.py") + _option(0, b"")
    out = [_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + shb_opts)]
    idb_opts = _option(2, b"eth0") + _option(9, b"\x09") + _option(0, b"")
    out.append(_block(1, struct.pack("<HHI", 1, 0, 262144) + idb_opts))
    for t_us, frame in frames:
        raw = bytes(frame)
        ns = t_us * 1000
        head = struct.pack("<IIIII", 0, ns >> 32, ns & 0xFFFFFFFF, len(raw), len(raw))
        out.append(_block(6, head + raw + bytes(-len(raw) % 4)))
    path.write_bytes(b"".join(out))


def truncate_middle(pcap: bytes) -> bytes:
    """Cut a pcap in the middle of the data of its middle record."""
    offsets, pos = [], 24
    while pos + 16 <= len(pcap):
        offsets.append(pos)
        caplen = struct.unpack_from("<I", pcap, pos + 8)[0]
        pos += 16 + caplen
    middle = offsets[len(offsets) // 2]
    caplen = struct.unpack_from("<I", pcap, middle + 8)[0]
    return pcap[: middle + 16 + caplen // 2]


def main(argv: list[str] | None = None) -> int:
    """Write every sample into ``--out`` (default: this script's folder)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write into")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    frames = build_mixed()
    pcap = args.out / "mixed.pcap"
    write_pcap(pcap, frames)
    write_pcapng(args.out / "mixed.pcapng", frames)
    data = pcap.read_bytes()
    (args.out / "mixed.pcap.gz").write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    (args.out / "truncated.pcap").write_bytes(truncate_middle(data))
    for name in ("mixed.pcap", "mixed.pcapng", "mixed.pcap.gz", "truncated.pcap"):
        print(f"{args.out / name}: {(args.out / name).stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
