"""The one table of fingerprints, in the order :func:`identify` tries them.

Order matters for speed and for precision: checks keyed on a fixed magic value
or a binary header run first (they reject in a byte or two), the text protocols
last, and within a family the more specific before the more general (NetBIOS
names before DNS, SSDP and RTSP before HTTP).  Every protocol a fingerprint
can name appears in :data:`PROTOCOLS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from annotator.evidence import (
    chat,
    databases,
    dhcp,
    dns,
    ftp,
    http,
    kerberos,
    ldap,
    mail,
    mqtt,
    netbios,
    ntp,
    p2p,
    quic,
    rdp,
    redis,
    rtsp,
    sip,
    smb,
    snmp,
    ssdp,
    ssh,
    stun,
    syslog,
    telnet,
    tftp,
    tls,
    vpn,
)
from annotator.evidence.base import Check

TCP = frozenset({"tcp"})
UDP = frozenset({"udp"})
BOTH = frozenset({"tcp", "udp"})


def first_bytes(*spans: int | bytes | range) -> frozenset[int]:
    """The set of first-byte values a fingerprint can start from."""
    out: set[int] = set()
    for span in spans:
        out.update([span] if isinstance(span, int) else span)
    return frozenset(out)


UPPER = range(0x41, 0x5B)
LOWER = range(0x61, 0x7B)
DIGITS = range(0x30, 0x3A)


@dataclass(frozen=True)
class Fingerprint:
    """One entry of the table: the check, the transports it applies to, and
    the first byte values (of either direction) it can match, None for any.

    The first-byte sets let :func:`annotator.evidence.identify` skip a check
    without calling it; they must cover every byte the check accepts first.

    ``context`` is True for a check whose result reads the flow's ports or
    server address (DNS names mDNS and LLMNR by them).  Whether any check
    matches must depend on the bytes and the transport alone; a result from a
    check that reads the context is never reused for another flow with the
    same bytes (see :func:`annotator.evidence.fingerprint_payloads`).
    """

    name: str
    transports: frozenset[str]
    check: Check
    first: frozenset[int] | None = None
    context: bool = False


FINGERPRINTS: tuple[Fingerprint, ...] = (
    # Binary formats with a magic value or a tightly constrained header.
    Fingerprint("tls", TCP, tls.check_tls, first_bytes(range(0x14, 0x18), range(0x80, 0x100))),
    Fingerprint("ssh", TCP, ssh.check_ssh, first_bytes(b"S")),
    Fingerprint("http2", TCP, http.check_http2, first_bytes(b"P")),
    Fingerprint("smb", TCP, smb.check_smb, first_bytes(0x00, 0x81, 0x82, 0x85, 0xFD, 0xFE, 0xFF)),
    Fingerprint("bittorrent", BOTH, p2p.check_bittorrent, first_bytes(0x13, 0x21, 0x41, b"d")),
    Fingerprint("rdp", TCP, rdp.check_rdp, first_bytes(0x03)),
    Fingerprint("quic", UDP, quic.check_quic),
    Fingerprint("dtls", UDP, tls.check_dtls, first_bytes(range(0x14, 0x18))),
    Fingerprint("stun", UDP, stun.check_stun, first_bytes(range(0x00, 0x40))),
    Fingerprint("stun", TCP, stun.check_stun),  # may be framed by a two-byte length
    Fingerprint("wireguard", UDP, vpn.check_wireguard, first_bytes(1, 2, 3, 4)),
    Fingerprint("ike", UDP, vpn.check_ike),
    Fingerprint("openvpn", BOTH, vpn.check_openvpn, first_bytes(range(0, 7), 0x38, 0x40, 0x50)),
    Fingerprint("dhcp", UDP, dhcp.check_dhcp, first_bytes(range(1, 14))),
    Fingerprint("postgresql", TCP, databases.check_postgresql, first_bytes(0)),
    Fingerprint("mysql", TCP, databases.check_mysql),
    Fingerprint("mongodb", TCP, databases.check_mongodb),
    Fingerprint("mqtt", TCP, mqtt.check_mqtt, first_bytes(0x10)),
    Fingerprint("kerberos", BOTH, kerberos.check_kerberos, first_bytes(0, range(0x6A, 0x70), 0x7E)),
    Fingerprint("snmp", BOTH, snmp.check_snmp, first_bytes(0x30)),
    Fingerprint("ldap", BOTH, ldap.check_ldap, first_bytes(0x30)),
    Fingerprint("netbios-ns", UDP, netbios.check_netbios_ns),
    Fingerprint("netbios-dgm", UDP, netbios.check_netbios_dgm, first_bytes(0x10, 0x11, 0x12)),
    Fingerprint("dns", BOTH, dns.check_dns, context=True),
    Fingerprint("nbss", TCP, netbios.check_nbss, first_bytes(0x81)),
    Fingerprint("ntp", UDP, ntp.check_ntp),
    Fingerprint("tftp", UDP, tftp.check_tftp, first_bytes(0)),
    Fingerprint("telnet", TCP, telnet.check_telnet, first_bytes(0xFF)),
    # Text protocols: the more specific request lines before HTTP's.
    Fingerprint("ssdp", UDP, ssdp.check_ssdp, first_bytes(b"MNHmn")),
    Fingerprint("sip", BOTH, sip.check_sip, first_bytes(UPPER)),
    Fingerprint("rtsp", BOTH, rtsp.check_rtsp, first_bytes(UPPER)),
    Fingerprint("http", TCP, http.check_http, first_bytes(UPPER)),
    Fingerprint("redis", TCP, redis.check_redis, first_bytes(b"*")),
    Fingerprint("smtp", TCP, mail.check_smtp, first_bytes(b"2EHeh")),
    Fingerprint("imap", TCP, mail.check_imap, first_bytes(b"*", UPPER, LOWER, DIGITS)),
    Fingerprint("pop3", TCP, mail.check_pop3, first_bytes(b"+")),
    Fingerprint("ftp", TCP, ftp.check_ftp, first_bytes(b"2", UPPER, LOWER)),
    Fingerprint("irc", TCP, chat.check_irc, first_bytes(b"NUCP:")),
    Fingerprint("xmpp", TCP, chat.check_xmpp, first_bytes(b"<")),
    Fingerprint("syslog", BOTH, syslog.check_syslog, first_bytes(b"<", DIGITS)),
    # Last: a bare login prompt, once every text protocol has had its say.
    Fingerprint("telnet", TCP, telnet.check_telnet_login, first_bytes(range(0x20, 0x7F), b"\r\n")),
)

#: Every protocol id a fingerprint can report, with its display name.
PROTOCOLS: dict[str, str] = {
    "tls": "TLS",
    "dtls": "DTLS",
    "quic": "QUIC",
    "http": "HTTP/1.x",
    "http2": "HTTP/2 (cleartext)",
    "ssh": "SSH",
    "dns": "DNS",
    "mdns": "Multicast DNS",
    "llmnr": "LLMNR",
    "netbios-ns": "NetBIOS Name Service",
    "netbios-dgm": "NetBIOS Datagram Service",
    "nbss": "NetBIOS Session Service",
    "smtp": "SMTP",
    "ftp": "FTP",
    "pop3": "POP3",
    "imap": "IMAP",
    "smb": "SMB",
    "rdp": "RDP",
    "ntp": "NTP",
    "dhcp": "DHCP",
    "snmp": "SNMP",
    "sip": "SIP",
    "stun": "STUN/TURN",
    "rtsp": "RTSP",
    "mqtt": "MQTT",
    "redis": "Redis",
    "postgresql": "PostgreSQL",
    "mysql": "MySQL",
    "mongodb": "MongoDB",
    "bittorrent": "BitTorrent",
    "wireguard": "WireGuard",
    "openvpn": "OpenVPN",
    "ike": "IKE (IPsec key exchange)",
    "kerberos": "Kerberos",
    "ldap": "LDAP",
    "syslog": "Syslog",
    "ssdp": "SSDP",
    "telnet": "Telnet",
    "tftp": "TFTP",
    "irc": "IRC",
    "xmpp": "XMPP",
}
