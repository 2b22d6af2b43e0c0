"""Which IANA service names each observed protocol is consistent with.

A flow's verdict is ``consistent`` when the protocol its bytes speak is one a
service registered at its port is known to run over, and ``contradicts`` when
it is not.  The table lists real names from IANA's Service Name and Transport
Protocol Port Number Registry.  Besides the names listed, a few protocols
accept a family of names by pattern (for example any ``...-https`` or
``...-ssl`` name for TLS), because IANA holds hundreds of such vendor names and
listing each one would be brittle; the patterns are in :data:`NAME_PATTERNS`.
docs/evidence.md shows both as a table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_TLS_NAMES = (
    "https",
    "imaps",
    "pop3s",
    "ldaps",
    "ftps",
    "ftps-data",
    "submissions",
    "ircs-u",
    "nntps",
    "telnets",
    "domain-s",
    "sips",
    "secure-mqtt",
    "amqps",
    "xmpp-client",
    "xmpp-server",
    "stuns",
    "turns",
    "stun-behaviors",
    "msft-gc-ssl",
    "syslog-tls",
    "snmptls",
    "snmptls-trap",
    "netconf-tls",
    "netconf-ch-tls",
    "restconf-ch-tls",
    "radsec",
    "rtsps",
    "tftps",
    "ntske",
    "pcsync-https",
    "oracleas-https",
    "tungsten-https",
    "sun-sr-https",
    "sun-user-https",
    "synapse-nhttps",
    "wbem-https",
    "wbem-exp-https",
    "appserv-https",
    "amt-soap-https",
    "amt-redir-tls",
    "dicom-tls",
    "opcua-tls",
    "ipsdtls",
    "sshell",
    "odette-ftps",
    "pt-tls",
    "rpki-rtr-tls",
    "iadt-tls",
    "db2c-tls",
    "cops-tls",
    "sdo-tls",
    "seclayer-tls",
    # "-s" names whose registry description says TLS or "secure":
    "ads-s",
    "docker-s",
    "ethernet-ip-s",
    "linktest-s",
    "mbap-s",
    "ms-s-sideshow",
    "oma-ilp-s",
    "oma-mlp-s",
    "oma-rlp-s",
    "radware-rpm-s",
    "rt-event-s",
    "simple-push-s",
    "sitewatch-s",
    "wsdapi-s",
    "z-wave-s",
)
_HTTP_NAMES = (
    "http",
    "www",
    "www-http",
    "http-alt",
    "http-mgmt",
    "http-rpc-epmap",
    "gss-http",
    "radan-http",
    "wbem-http",
    "xmpp-bosh",
    "appserv-http",
    "amt-soap-http",
    "soap-http",
    "synapse-nhttp",
    "multiling-http",
    "manyone-http",
    "sunlps-http",
    "tungsten-http",
    "ultraseek-http",
    "http-wmap",
    "oob-ws-http",
    "wap-push-http",
)

#: Observed protocol id -> the IANA service names it is consistent with.
CONSISTENT_SERVICES: dict[str, frozenset[str]] = {
    "tls": frozenset(_TLS_NAMES),
    "dtls": frozenset(
        {
            "sips",
            "stuns",
            "turns",
            "domain-s",
            "syslog-tls",
            "snmpdtls",
            "snmpdtls-trap",
            "babel-dtls",
            "gre-udp-dtls",
            "mpls-udp-dtls",
            "hncp-dtls-port",
            "ipsdtls",
            "radsec",
            "https",
            # WebRTC media servers multiplex ICE (STUN) and DTLS-SRTP on one port.
            "stun",
            "turn",
        }
    ),
    "quic": frozenset({"https", "domain-s", "agtp-quic"}),
    "http": frozenset(_HTTP_NAMES),
    "http2": frozenset(_HTTP_NAMES),
    "ssh": frozenset(
        {
            "ssh",
            "netconf-ssh",
            "netconf-ch-ssh",
            "sdo-ssh",
            "snmpssh",
            "snmpssh-trap",
            "tl1-ssh",
            "ssh-mgmt",
        }
    ),
    "dns": frozenset({"domain", "dns-llq", "menandmice-dns", "sunscalar-dns"}),
    "mdns": frozenset({"mdns"}),
    "llmnr": frozenset({"llmnr"}),
    "netbios-ns": frozenset({"netbios-ns"}),
    "netbios-dgm": frozenset({"netbios-dgm"}),
    "nbss": frozenset({"netbios-ssn"}),
    "smtp": frozenset({"smtp", "submission", "rsmtp"}),
    "ftp": frozenset({"ftp", "gsiftp", "kftp"}),
    "pop3": frozenset({"pop3", "pop2"}),
    "imap": frozenset({"imap", "imap3"}),
    "smb": frozenset({"microsoft-ds", "netbios-ssn", "smbdirect"}),
    "rdp": frozenset({"ms-wbt-server", "vmrdp"}),
    "ntp": frozenset({"ntp"}),
    "dhcp": frozenset({"bootps", "bootpc", "dhcpv6-client", "dhcpv6-server"}),
    "snmp": frozenset({"snmp", "snmptrap", "snmp-tcp-port"}),
    "sip": frozenset({"sip"}),
    "stun": frozenset({"stun", "turn", "stun-behavior", "stun-behaviors"}),
    "rtsp": frozenset({"rtsp", "rtsp-alt"}),
    "mqtt": frozenset({"mqtt"}),
    "redis": frozenset({"redis"}),
    "postgresql": frozenset({"postgresql"}),
    "mysql": frozenset({"mysql", "mysql-proxy"}),
    "mongodb": frozenset({"mongodb"}),
    "bittorrent": frozenset(),  # BitTorrent has no IANA assignment
    "wireguard": frozenset(),  # nor does WireGuard (51820 is unassigned)
    "openvpn": frozenset({"openvpn"}),
    "ike": frozenset({"isakmp", "ipsec-nat-t"}),
    "kerberos": frozenset({"kerberos", "kerberos-iv"}),
    "ldap": frozenset({"ldap", "msft-gc", "ldap-admin"}),
    "syslog": frozenset({"syslog", "syslog-conn"}),
    "ssdp": frozenset({"ssdp"}),
    "telnet": frozenset(
        {
            "telnet",
            "rtelnet",
            "ktelnet",
            "tl1-telnet",
            "scpi-telnet",
            "hp-3000-telnet",
            "skytelnet",
            "telnetcpcd",
        }
    ),
    "tftp": frozenset({"tftp", "tftp-mcast"}),
    "irc": frozenset({"irc", "ircu", "irc-serv"}),
    "xmpp": frozenset({"xmpp-client", "xmpp-server"}),
}

#: Name families accepted besides the listed names (matched against the whole name).
NAME_PATTERNS: dict[str, re.Pattern[str]] = {
    "tls": re.compile(r".*(https|ssl|[^d]tls)(-.*)?"),
    "dtls": re.compile(r".*dtls.*"),
    "http": re.compile(r".*-http"),
    "http2": re.compile(r".*-http"),
    "quic": re.compile(r".*-quic"),
}


def is_consistent(protocol: str, services: Iterable[str]) -> bool:
    """True when ``protocol`` is consistent with at least one of ``services``.

    An unknown protocol id is consistent with nothing.
    """
    names = CONSISTENT_SERVICES.get(protocol)
    if names is None:
        return False
    pattern = NAME_PATTERNS.get(protocol)
    for service in services:
        name = str(service).lower()
        if name in names or (pattern is not None and pattern.fullmatch(name)):
            return True
    return False
