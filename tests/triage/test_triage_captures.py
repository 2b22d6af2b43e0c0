"""Every flag, both verdicts and the client/server choice, pinned on crafted captures.

Each test writes a small capture (struct-built frames from tests/capture/craft.py)
and runs the real pipeline through :func:`annotator.annotate`.  Port facts come
either from the bundled snapshot (stable facts: 80/tcp http, 443/tcp https) or
from a small IANA-format CSV registry written by the test, which is how a user
passes ``--registry FILE``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

import annotator
from annotator.report import write_report

_CRAFT = Path(__file__).resolve().parents[1] / "capture" / "craft.py"
_spec = importlib.util.spec_from_file_location("craft_for_triage", _CRAFT)
craft = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(craft)

CLIENT, SERVER = "10.1.0.5", "10.2.0.9"
HEADER = (
    "Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,"
    "Registration Date,Modification Date,Reference,Service Code,"
    "Unauthorized Use Reported,Assignment Notes\n"
)


def tcp_conversation(
    sport: int,
    dport: int,
    c2s: bytes = b"",
    s2c: bytes = b"",
    *,
    client: str = CLIENT,
    server: str = SERVER,
) -> list[bytes]:
    """A TCP handshake, one payload segment each way, and a FIN exchange."""

    def seg(src: str, dst: str, sp: int, dp: int, flags: int, data: bytes = b"") -> bytes:
        return craft.ethernet(craft.ipv4(src, dst, 6, craft.tcp(sp, dp, flags, data)))

    frames = [
        seg(client, server, sport, dport, craft.SYN),
        seg(server, client, dport, sport, craft.SYN | craft.ACK),
        seg(client, server, sport, dport, craft.ACK),
    ]
    if s2c and not c2s:  # server speaks first (banners)
        frames.append(seg(server, client, dport, sport, craft.PSH | craft.ACK, s2c))
    if c2s:
        frames.append(seg(client, server, sport, dport, craft.PSH | craft.ACK, c2s))
        if s2c:
            frames.append(seg(server, client, dport, sport, craft.PSH | craft.ACK, s2c))
    frames.append(seg(client, server, sport, dport, craft.FIN | craft.ACK))
    frames.append(seg(server, client, dport, sport, craft.FIN | craft.ACK))
    return frames


def udp_exchange(
    sport: int,
    dport: int,
    payload: bytes = b"x",
    *,
    first: str = CLIENT,
    second: str = SERVER,
    reply: bool = True,
) -> list[bytes]:
    frames = [craft.ethernet(craft.ipv4(first, second, 17, craft.udp(sport, dport, payload)))]
    if reply:
        frames.append(
            craft.ethernet(craft.ipv4(second, first, 17, craft.udp(dport, sport, payload)))
        )
    return frames


def annotate_frames(tmp_path: Path, frames: list[bytes], registry: str | Path | None = None):
    path = craft.write_pcap(tmp_path / "t.pcap", frames)
    return annotator.annotate(path, registry=registry)


def only_flow(result) -> pd.Series:
    assert len(result.flows) == 1, result.flows
    return result.flows.iloc[0]


@pytest.fixture
def small_registry(tmp_path: Path) -> Path:
    """A registry in IANA's CSV form with one record of each status of interest."""
    rows = [
        "http,80,tcp,World Wide Web HTTP,,,,,,,,",
        "https,443,tcp,http protocol over TLS/SSL,,,,,,,,",
        "ssh,22,tcp,The Secure Shell (SSH) Protocol,,,,,,,,",
        ",5030,tcp,Reserved,,,2006-12,2022-01-10,,,,"
        "Historic usage was surfpass. De-Assigned on 2022-01-10",
        "oldsvc,7001,tcp,Old service,,,,,,,,De-Assigned on 2020-05-01",
        "tcponly,7002,tcp,Only over TCP,,,,,,,,",
        "sneaky,7003,tcp,Often abused,,,,,,,Known UNAUTHORIZED USE on port 7003,",
        ",7004,tcp,Reserved,,,,,,,,",
        ",7100-7199,,Unassigned,,,,,,,,",
    ]
    path = tmp_path / "registry.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return path


# --- verdicts and label basis ------------------------------------------------------


def test_http_on_80_is_confirmed_by_traffic(tmp_path: Path) -> None:
    frames = tcp_conversation(
        40001,
        80,
        b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    )
    flow = only_flow(annotate_frames(tmp_path, frames))
    assert flow["service"] == "http"
    assert flow["observed_protocol"] == "http"
    assert flow["evidence"] == "consistent"
    assert flow["label_basis"] == "confirmed-by-traffic"
    assert flow["server_name"] == "a.example"
    assert flow["flags"] == []
    assert pd.isna(flow["severity"])


def test_ssh_on_443_contradicts_the_label(tmp_path: Path) -> None:
    frames = tcp_conversation(40002, 443, b"SSH-2.0-OpenSSH_9.6\r\n", b"SSH-2.0-OpenSSH_9.3\r\n")
    result = annotate_frames(tmp_path, frames)
    flow = only_flow(result)
    assert flow["service"] == "https"
    assert flow["observed_protocol"] == "ssh"
    assert flow["evidence"] == "contradicts"
    assert flow["label_basis"] == "registration-only"
    assert flow["flags"] == ["protocol-mismatch"]
    assert flow["severity"] == "high"
    finding = result.findings.iloc[0]
    assert finding["flag"] == "protocol-mismatch"
    assert finding["attack"] == "T1571"
    assert "registered to https" in finding["detail"] and "SSH" in finding["detail"]


def test_no_payload_gives_no_verdict_and_a_port_only_label(tmp_path: Path) -> None:
    flow = only_flow(annotate_frames(tmp_path, tcp_conversation(40003, 80)))
    assert flow["evidence"] == "none"
    assert pd.isna(flow["observed_protocol"])
    assert flow["label_basis"] == "registration-only"
    assert flow["flags"] == ["port-only-label"]
    assert flow["severity"] == "info"


# --- every flag --------------------------------------------------------------------


def test_port_zero(tmp_path: Path) -> None:
    frames = [craft.ethernet(craft.ipv4(CLIENT, SERVER, 6, craft.tcp(40004, 0, craft.SYN)))]
    flow = only_flow(annotate_frames(tmp_path, frames))
    assert flow["server_port"] == 0
    assert "port-zero" in flow["flags"]
    assert flow["severity"] == "high"


def test_known_protocol_on_unassigned_port(tmp_path: Path, small_registry: Path) -> None:
    frames = tcp_conversation(40005, 7150, b"GET /x HTTP/1.1\r\nHost: h.example\r\n\r\n")
    flow = only_flow(annotate_frames(tmp_path, frames, small_registry))
    assert flow["registry_status"] == "unassigned"
    assert flow["flags"] == ["known-protocol-unregistered-port", "unassigned-port"]
    assert flow["severity"] == "medium"


def test_unassigned_port_without_payload(tmp_path: Path, small_registry: Path) -> None:
    flow = only_flow(annotate_frames(tmp_path, tcp_conversation(40006, 7160), small_registry))
    assert flow["flags"] == ["unassigned-port"]
    assert flow["severity"] == "low"


def test_unauthorized_use_reported(tmp_path: Path, small_registry: Path) -> None:
    flow = only_flow(annotate_frames(tmp_path, tcp_conversation(40007, 7003), small_registry))
    assert flow["unauthorized_use"] == "Known UNAUTHORIZED USE on port 7003"
    assert flow["flags"] == ["unauthorized-use-reported", "port-only-label"]
    assert flow["severity"] == "medium"


def test_registry_texts_are_held_once_per_text(tmp_path: Path, small_registry: Path) -> None:
    """Flows of one port share its registry texts: categoricals, each text once.

    A capture of 200,000 flows held 35 MB of copies of http's 1.5 kB
    assignment notes as plain strings; a category holds it once.
    """
    frames = []
    for i in range(6):
        frames += tcp_conversation(41000 + i, 7003 if i % 2 else 5030, client=f"10.1.0.{i + 1}")
    frames += udp_exchange(41100, 7150)  # unassigned: the registry is silent
    flows = annotator.annotate(craft.write_pcap(tmp_path / "t.pcap", frames),
                               registry=small_registry).flows  # fmt: skip
    assert len(flows) == 7
    for column in ("description", "registry_notes", "unauthorized_use"):
        assert isinstance(flows[column].dtype, pd.CategoricalDtype), column
    notes = flows.set_index("server_port")["registry_notes"]
    assert list(flows["registry_notes"].cat.categories) == [
        "Historic usage was surfpass. De-Assigned on 2022-01-10"
    ]
    assert notes[5030].nunique() == 1 and notes[7003].isna().all()
    assert pd.isna(notes[7150])
    unauthorized = flows.set_index("server_port")["unauthorized_use"]
    assert set(unauthorized[7003]) == {"Known UNAUTHORIZED USE on port 7003"}
    assert flows["unauthorized_use"].str.contains("UNAUTHORIZED").sum() == 3
    assert sorted(flows["description"].cat.categories) == ["Often abused", "Reserved", "Unassigned"]


def test_registry_texts_keep_their_dtype_when_all_are_missing(
    tmp_path: Path, small_registry: Path
) -> None:
    """No notes at all still gives a categorical of strings, and Parquet gives it back."""
    result = annotate_frames(tmp_path, udp_exchange(41100, 7150), small_registry)
    notes = result.flows["registry_notes"]
    assert notes.isna().all()
    assert isinstance(notes.dtype, pd.CategoricalDtype)
    assert pd.api.types.is_string_dtype(notes.cat.categories)
    write_report(result, tmp_path / "flows.parquet")
    back = pd.read_parquet(tmp_path / "flows.parquet")
    for column in ("description", "registry_notes", "unauthorized_use"):
        assert isinstance(back[column].dtype, pd.CategoricalDtype), column
    assert back["description"].tolist() == ["Unassigned"]


def test_reserved_port(tmp_path: Path, small_registry: Path) -> None:
    flow = only_flow(annotate_frames(tmp_path, tcp_conversation(40008, 7004), small_registry))
    assert flow["registry_status"] == "reserved"
    assert flow["flags"] == ["reserved-port"]


def test_deassigned_reserved_port_carries_both_flags(tmp_path: Path, small_registry: Path) -> None:
    """5030/tcp: reserved, with IANA's note that surfpass was de-assigned."""
    flow = only_flow(annotate_frames(tmp_path, tcp_conversation(40009, 5030), small_registry))
    assert "reserved-port" in flow["flags"]
    assert "De-Assigned on 2022-01-10" in flow["registry_notes"]


def test_deassigned_only(tmp_path: Path, small_registry: Path) -> None:
    flow = only_flow(annotate_frames(tmp_path, tcp_conversation(40010, 7001), small_registry))
    assert pd.isna(flow["service"])
    assert flow["registry_status"] == "historic"
    assert flow["flags"] == ["deassigned-or-historic"]
    assert flow["severity"] == "low"


def test_current_name_with_historic_alias_is_not_flagged(tmp_path: Path) -> None:
    """6301/tcp has bmc-ctd-ldap and its historic alias bmc_ctd_ldap."""
    flow = only_flow(annotate_frames(tmp_path, tcp_conversation(40011, 6301)))
    assert flow["service"] == "bmc-ctd-ldap"
    assert "bmc_ctd_ldap" in flow["services"]
    assert "deassigned-or-historic" not in flow["flags"]


def test_transport_not_registered(tmp_path: Path, small_registry: Path) -> None:
    flow = only_flow(annotate_frames(tmp_path, udp_exchange(40012, 7002), small_registry))
    assert flow["transport"] == "udp"
    assert flow["server_port"] == 7002
    assert flow["flags"] == ["transport-not-registered"]


def test_dynamic_port_server_is_never_unassigned(tmp_path: Path) -> None:
    flow = only_flow(annotate_frames(tmp_path, tcp_conversation(40013, 50000)))
    assert flow["server_port"] == 50000
    assert flow["port_class"] == "dynamic"
    assert flow["registry_status"] == "dynamic"
    assert flow["flags"] == ["dynamic-port-server"]
    assert flow["severity"] == "info"


def test_cleartext_ftp_login_is_flagged_and_never_printed(tmp_path: Path) -> None:
    secret = b"Hunter2-not-real"
    sport = 40014

    def seg(src, dst, sp, dp, data):
        return craft.ethernet(
            craft.ipv4(src, dst, 6, craft.tcp(sp, dp, craft.PSH | craft.ACK, data))
        )

    frames = tcp_conversation(sport, 21, b"USER alice\r\n", b"220 ftp ready\r\n")[:-2]
    frames += [
        seg(SERVER, CLIENT, 21, sport, b"331 Password required\r\n"),
        seg(CLIENT, SERVER, sport, 21, b"PASS " + secret + b"\r\n"),
    ]
    result = annotate_frames(tmp_path, frames)
    flow = only_flow(result)
    assert flow["observed_protocol"] == "ftp"
    assert bool(flow["cleartext_credentials"]) is True
    assert "cleartext-authentication" in flow["flags"]
    from annotator.report import to_json_document

    assert secret.decode() not in repr(to_json_document(result))
    assert secret.decode() not in result.flows.to_csv()


def test_http_basic_auth_is_cleartext_authentication(tmp_path: Path) -> None:
    request = b"GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Basic YWxpY2U6c2VjcmV0\r\n\r\n"
    flow = only_flow(annotate_frames(tmp_path, tcp_conversation(40015, 80, request)))
    assert "cleartext-authentication" in flow["flags"]
    assert flow["evidence"] == "consistent"


def test_findings_group_flows_by_server(tmp_path: Path, small_registry: Path) -> None:
    frames = tcp_conversation(40016, 7160) + tcp_conversation(40017, 7160, client="10.1.0.6")
    result = annotate_frames(tmp_path, frames, small_registry)
    assert len(result.flows) == 2
    finding = result.findings[result.findings["flag"] == "unassigned-port"].iloc[0]
    assert finding["flows"] == 2
    assert finding["clients"] == 2
    assert sorted(finding["flow_index"]) == [0, 1]


# --- client and server ----------------------------------------------------------------


def test_handshake_decides_even_against_port_numbers(tmp_path: Path) -> None:
    """The SYN sender is the client even when it uses the lower, registered port."""
    flow = only_flow(annotate_frames(tmp_path, tcp_conversation(80, 45000)))
    assert flow["direction_basis"] == "handshake"
    assert (flow["client_port"], flow["server_port"]) == (80, 45000)


@pytest.mark.parametrize(
    ("first_port", "second_port", "server_port", "basis"),
    [
        (40001, 161, 161, "registry"),  # 161/udp snmp assigned, 40001 not
        (50001, 41000, 41000, "port-class"),  # user beats dynamic (both unassigned)
        (42000, 41000, 41000, "lower-port"),  # both unassigned user ports
        (50002, 50002, 50002, "first-packet"),  # nothing else can decide
    ],
)
def test_direction_heuristics_without_handshake(
    tmp_path: Path, first_port: int, second_port: int, server_port: int, basis: str
) -> None:
    frames = udp_exchange(first_port, second_port, first="10.9.0.1", second="10.9.0.2")
    flow = only_flow(annotate_frames(tmp_path, frames))
    assert flow["direction_basis"] == basis
    assert flow["server_port"] == server_port
    if basis == "first-packet":
        assert flow["client_ip"] == "10.9.0.1"


def test_every_finding_points_at_exactly_its_flows() -> None:
    """Findings and flows agree: each flagged flow is in one finding per flag."""
    result = annotator.annotate(Path(__file__).resolve().parents[2] / "samples" / "mixed.pcap")
    flows = result.flows
    for finding in result.findings.to_dict("records"):
        rows = flows.iloc[finding["flow_index"]]
        assert len(rows) == finding["flows"]
        assert all(finding["flag"] in flags for flags in rows["flags"])
        assert set(rows["server_ip"]) == {finding["server_ip"]}
        assert set(rows["server_port"]) == {finding["server_port"]}
        assert rows["bytes"].sum() == finding["bytes"]
    per_flag = result.findings.groupby("flag", observed=True)["flows"].sum().to_dict()
    carried = flows["flags"].explode().dropna().value_counts().to_dict()
    assert per_flag == carried


def test_a_group_address_on_a_dynamic_port_is_no_server(tmp_path: Path) -> None:
    # A device announcing itself to ff02::1 (or 239.x, or the broadcast) on a
    # dynamic port: nothing "serves" there, so no dynamic-port-server finding;
    # a unicast server on the same port still gets one.
    from scapy.layers.inet import IP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    packets = [
        Ether() / IPv6(src="2001:db8::7", dst="ff02::1") / UDP(sport=62976, dport=62976) / b"hi",
        Ether() / IP(src="10.0.0.7", dst="239.1.2.3") / UDP(sport=62977, dport=62977) / b"hi",
        Ether() / IP(src="10.0.0.7", dst="255.255.255.255") / UDP(sport=62978, dport=62978) / b"x",
        Ether() / IP(src="10.0.0.7", dst="10.0.0.9") / UDP(sport=62979, dport=62979) / b"hi",
    ]
    path = tmp_path / "announce.pcap"
    wrpcap(str(path), packets)
    flows = annotator.annotate(path).flows.set_index("server_ip")
    for group in ("ff02::1", "239.1.2.3", "255.255.255.255"):
        assert "dynamic-port-server" not in flows.loc[group, "flags"], group
    assert "dynamic-port-server" in flows.loc["10.0.0.9", "flags"]
