"""The ``wireshark_filter`` column: exact text, and real tshark selects exactly the flow."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import annotator

_CRAFT = Path(__file__).resolve().parents[1] / "capture" / "craft.py"
_spec = importlib.util.spec_from_file_location("craft_for_filters", _CRAFT)
craft = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = craft
_spec.loader.exec_module(craft)


def _tcp(src, dst, sp, dp, flags, data=b"", vlans=()):
    return craft.ethernet(craft.ipv4(src, dst, 6, craft.tcp(sp, dp, flags, data)), vlans=vlans)


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    a, b = "10.0.0.1", "10.0.0.2"
    frames = [
        _tcp(a, b, 40000, 80, craft.SYN),
        _tcp(b, a, 80, 40000, craft.SYN | craft.ACK),
        _tcp(a, b, 40000, 80, craft.ACK, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        _tcp(a, b, 40001, 80, craft.SYN),  # another flow between the same hosts
        _tcp(a, b, 40002, 80, craft.SYN, vlans=[100]),
        _tcp(b, a, 80, 40002, craft.SYN | craft.ACK, vlans=[100]),
        # The same addresses and ports as the first flow, on VLAN 7: another flow.
        _tcp(a, b, 40000, 80, craft.ACK, b"x", vlans=[7]),
    ]
    for src, dst in (("2001:db8::1", "2001:db8::2"), ("2001:db8::2", "2001:db8::1")):
        frames.append(craft.ethernet(craft.ipv6(src, dst, 17, craft.udp(5353, 5353, b"x")), 0x86DD))
    return craft.write_pcap(tmp_path / "filters.pcap", frames)


def test_filter_text(capture: Path) -> None:
    flows = annotator.annotate(capture).flows
    vlan = flows["vlan_id"].fillna(0).astype(int).tolist()
    keys = zip(flows["client_port"].tolist(), vlan, strict=True)
    got = dict(zip(keys, flows["wireshark_filter"].tolist(), strict=True))
    assert got[40000, 0] == (
        "ip.addr==10.0.0.1 && ip.addr==10.0.0.2 && tcp.port==40000 && tcp.port==80 && !vlan"
    )
    assert got[40000, 7] == (
        "ip.addr==10.0.0.1 && ip.addr==10.0.0.2 && tcp.port==40000 && tcp.port==80 && vlan.id==7"
    )
    assert got[40002, 100] == (
        "ip.addr==10.0.0.1 && ip.addr==10.0.0.2 && tcp.port==40002 && tcp.port==80 && vlan.id==100"
    )
    # Same port both ways: the port appears once.
    assert got[5353, 0] == (
        "ipv6.addr==2001:db8::1 && ipv6.addr==2001:db8::2 && udp.port==5353 && !vlan"
    )


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_tshark_selects_exactly_each_flow(capture: Path) -> None:
    flows = annotator.annotate(capture).flows
    for row in flows.itertuples():
        out = subprocess.run(
            ["tshark", "-n", "-r", str(capture), "-Y", row.wireshark_filter,
             "-T", "fields", "-e", "frame.number"],
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        frames = [int(x) for x in out.stdout.split()]
        assert len(frames) == row.packets, (row.wireshark_filter, frames)
        assert frames[0] == row.first_frame
