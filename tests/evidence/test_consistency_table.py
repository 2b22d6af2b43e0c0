"""CONSISTENT_SERVICES: which registered service names each protocol fits."""

from __future__ import annotations

from pathlib import Path

import defusedxml.ElementTree as ET
import pytest

from annotator.evidence import CONSISTENT_SERVICES, NAME_PATTERNS, PROTOCOLS, is_consistent


def test_every_protocol_has_an_entry() -> None:
    assert set(CONSISTENT_SERVICES) == set(PROTOCOLS)


@pytest.mark.shared
def test_every_listed_name_is_a_real_registry_name(shared: Path) -> None:
    tree = ET.parse(shared / "iana" / "service-names-port-numbers.xml")
    names = {
        el.text.strip().lower()
        for el in tree.iter()
        if el.tag.rsplit("}", 1)[-1] == "name" and el.text
    }
    assert len(names) > 5000
    listed = set().union(*CONSISTENT_SERVICES.values())
    assert sorted(listed - names) == []


@pytest.mark.parametrize(
    ("protocol", "services", "expected"),
    [
        ("tls", ["https"], True),
        ("tls", ["imaps"], True),
        ("tls", ["pop3s"], True),
        ("tls", ["secure-mqtt"], True),
        ("tls", ["domain-s"], True),
        ("tls", ["pcsync-https"], True),  # 8443, by the -https pattern
        ("tls", ["tungsten-https"], True),
        ("tls", ["http"], False),
        ("tls", ["ssh"], False),
        ("tls", ["sslp"], False),  # Simple Socket Library's PortMaster, not SSL
        ("http", ["http", "www", "www-http"], True),
        ("http", ["http-alt"], True),
        ("http", ["radan-http"], True),
        ("http", ["https"], False),
        ("http", ["irdmi"], False),  # 8000: HTTP there contradicts the registration
        ("http2", ["http"], True),
        ("quic", ["https"], True),
        ("quic", ["domain"], False),
        ("ssh", ["ssh"], True),
        ("ssh", ["telnet"], False),
        ("dns", ["domain"], True),
        ("dns", ["mdns"], False),
        ("mdns", ["mdns"], True),
        ("llmnr", ["llmnr"], True),
        ("smb", ["microsoft-ds"], True),
        ("smb", ["netbios-ssn"], True),
        ("rdp", ["ms-wbt-server"], True),
        ("dhcp", ["bootps"], True),
        ("dhcp", ["dhcpv6-server"], True),
        ("snmp", ["snmptrap"], True),
        ("stun", ["stun", "turn"], True),
        ("dtls", ["stun"], True),  # WebRTC: STUN and DTLS share the media port
        ("dtls", ["http"], False),
        ("kerberos", ["kerberos"], True),
        ("ldap", ["msft-gc"], True),
        ("bittorrent", ["http"], False),
        ("wireguard", ["openvpn"], False),
        ("no-such-protocol", ["http"], False),
        ("tls", [], False),
    ],
)
def test_is_consistent(protocol: str, services: list[str], expected: bool) -> None:
    assert is_consistent(protocol, services) is expected


def test_any_registered_name_is_enough_and_case_does_not_matter() -> None:
    assert is_consistent("smtp", ("urd", "SUBMISSION"))
    assert is_consistent("tls", iter(["igmpv3lite", "submissions"]))


def test_patterns_only_for_families_with_many_vendor_names() -> None:
    assert set(NAME_PATTERNS) <= {"tls", "dtls", "http", "http2", "quic"}
