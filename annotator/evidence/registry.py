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


@dataclass(frozen=True)
class Fingerprint:
    """One entry of the table: the check and the transports it applies to."""

    name: str
    transports: frozenset[str]
    check: Check


FINGERPRINTS: tuple[Fingerprint, ...] = (
    # Binary formats with a magic value or a tightly constrained header.
    Fingerprint("tls", TCP, tls.check_tls),
    Fingerprint("ssh", TCP, ssh.check_ssh),
    Fingerprint("http2", TCP, http.check_http2),
    Fingerprint("smb", TCP, smb.check_smb),
    Fingerprint("bittorrent", BOTH, p2p.check_bittorrent),
    Fingerprint("rdp", TCP, rdp.check_rdp),
    Fingerprint("quic", UDP, quic.check_quic),
    Fingerprint("dtls", UDP, tls.check_dtls),
    Fingerprint("stun", BOTH, stun.check_stun),
    Fingerprint("wireguard", UDP, vpn.check_wireguard),
    Fingerprint("openvpn", BOTH, vpn.check_openvpn),
    Fingerprint("dhcp", UDP, dhcp.check_dhcp),
    Fingerprint("postgresql", TCP, databases.check_postgresql),
    Fingerprint("mysql", TCP, databases.check_mysql),
    Fingerprint("mongodb", TCP, databases.check_mongodb),
    Fingerprint("mqtt", TCP, mqtt.check_mqtt),
    Fingerprint("kerberos", BOTH, kerberos.check_kerberos),
    Fingerprint("snmp", BOTH, snmp.check_snmp),
    Fingerprint("ldap", BOTH, ldap.check_ldap),
    Fingerprint("netbios-ns", UDP, netbios.check_netbios_ns),
    Fingerprint("netbios-dgm", UDP, netbios.check_netbios_dgm),
    Fingerprint("dns", BOTH, dns.check_dns),
    Fingerprint("nbss", TCP, netbios.check_nbss),
    Fingerprint("ntp", UDP, ntp.check_ntp),
    Fingerprint("tftp", UDP, tftp.check_tftp),
    Fingerprint("telnet", TCP, telnet.check_telnet),
    # Text protocols: the more specific request lines before HTTP's.
    Fingerprint("ssdp", UDP, ssdp.check_ssdp),
    Fingerprint("sip", BOTH, sip.check_sip),
    Fingerprint("rtsp", BOTH, rtsp.check_rtsp),
    Fingerprint("http", TCP, http.check_http),
    Fingerprint("redis", TCP, redis.check_redis),
    Fingerprint("smtp", TCP, mail.check_smtp),
    Fingerprint("imap", TCP, mail.check_imap),
    Fingerprint("pop3", TCP, mail.check_pop3),
    Fingerprint("ftp", TCP, ftp.check_ftp),
    Fingerprint("irc", TCP, chat.check_irc),
    Fingerprint("xmpp", TCP, chat.check_xmpp),
    Fingerprint("syslog", BOTH, syslog.check_syslog),
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
    "kerberos": "Kerberos",
    "ldap": "LDAP",
    "syslog": "Syslog",
    "ssdp": "SSDP",
    "telnet": "Telnet",
    "tftp": "TFTP",
    "irc": "IRC",
    "xmpp": "XMPP",
}
