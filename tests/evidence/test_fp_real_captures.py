"""Fingerprints on real payloads from the reference captures in ../shared
(skipped when absent): what a user sees in the evidence columns."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import annotator
from annotator.evidence import fingerprint_flows

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def registry(shared: Path):
    """The full IANA registry (the flow stage uses it to pick the server side)."""
    return annotator.load_registry(shared / "iana" / "service-names-port-numbers.xml")


def evidence_of(shared: Path, registry, name: str):
    table = annotator.read_flows(shared / "captures" / "labeled" / "pcap" / name, registry=registry)
    out = fingerprint_flows(table.flows, table.payload_c2s, table.payload_s2c)
    return table.flows.join(out)


def test_imap_login_is_flagged_and_the_password_is_nowhere(shared: Path, registry) -> None:
    flows = evidence_of(shared, registry, "imap.pcap")
    row = flows[flows["server_port"] == 143].iloc[0]
    assert row["observed_protocol"] == "imap"
    assert bool(row["cleartext_credentials"]) is True
    assert "pfres" not in flows.to_csv()  # the password in this capture


@pytest.mark.parametrize(
    ("capture", "protocol", "port"),
    [
        ("rdp.pcap", "rdp", 3389),
        ("kerberos-login.pcap", "kerberos", 88),
        ("mqtt.pcap", "mqtt", 1883),
        ("pgsql2.pcapng", "postgresql", 60102),
        ("wireguard.pcap", "wireguard", 51820),
        ("NTPv4.pcap", "ntp", 123),
        ("sip.pcap", "sip", 5060),
    ],
)
def test_real_capture_protocols(
    shared: Path, registry, capture: str, protocol: str, port: int
) -> None:
    flows = evidence_of(shared, registry, capture)
    assert protocol in set(flows["observed_protocol"].dropna())
    either_end = (flows["server_port"] == port) | (flows["client_port"] == port)
    assert set(flows.loc[either_end, "observed_protocol"].dropna()) <= {protocol}


def test_details_and_names_from_real_traffic_are_inert(shared: Path, registry) -> None:
    """Whatever the capture holds, what is kept is one printable line."""
    for name in ("dns-invalid-chars.pcap", "http-manipulated.pcap", "xss.pcap", "1kxun.pcap"):
        flows = evidence_of(shared, registry, name)
        for column in ("evidence_detail", "server_name"):
            for value in flows[column].dropna():
                assert re.search(r"[\x00-\x1f\x7f]", value) is None, (name, value)
                assert len(value) <= 200


def test_quic_initial_sni_from_a_real_capture(shared: Path, registry) -> None:
    flows = evidence_of(shared, registry, "quic-29.pcap")
    quic = flows[flows["observed_protocol"] == "quic"]
    assert "localhost" in set(quic["server_name"])
    assert quic["evidence_detail"].str.contains("ALPN h3-29").any()
