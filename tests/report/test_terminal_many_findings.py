"""The terminal summary stays a summary when a capture has thousands of findings."""

from __future__ import annotations

import importlib.util
import io
import sys
from pathlib import Path

from rich.console import Console

import annotator
from annotator.report._view import service_rows
from annotator.report.terminal import (
    TERMINAL_FINDINGS_PER_SEVERITY,
    TERMINAL_OTHER,
    TERMINAL_SERVICES,
    render_terminal,
)

_CRAFT = Path(__file__).resolve().parents[1] / "capture" / "craft.py"
_spec = importlib.util.spec_from_file_location("craft_for_terminal_cap", _CRAFT)
craft = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = craft
_spec.loader.exec_module(craft)


def test_findings_beyond_a_screenful_are_counted_not_listed(tmp_path: Path) -> None:
    # 60 servers each answering a UDP exchange on a port where the traffic is
    # DNS but the bundled registry has no UDP assignment: one finding each.
    frames = []
    query = bytes.fromhex("abcd01000001000000000000") + b"\x07example\x03com\x00\x00\x01\x00\x01"
    for k in range(60):
        server = f"10.9.{k // 200}.{k % 200 + 1}"
        ip_out = craft.ipv4("10.1.0.5", server, 17, craft.udp(40000 + k, 1, query))
        ip_back = craft.ipv4(server, "10.1.0.5", 17, craft.udp(1, 40000 + k, query))
        frames += [craft.ethernet(ip_out), craft.ethernet(ip_back)]
    result = annotator.annotate(craft.write_pcap(tmp_path / "many.pcap", frames))
    by_severity = result.findings["severity"].astype(str).value_counts()
    severity, count = by_severity.index[0], int(by_severity.iloc[0])
    assert count > TERMINAL_FINDINGS_PER_SEVERITY

    sink = io.StringIO()
    render_terminal(result, Console(file=sink, width=160, no_color=True, force_terminal=False))
    text = sink.getvalue()
    assert f"{severity.upper()} ({count:,})" in text
    hidden = count - TERMINAL_FINDINGS_PER_SEVERITY
    assert f"... and {hidden:,} more {severity} findings, not shown here" in text
    # Only the first rows are listed: the last findings' servers do not appear.
    listed = result.findings[result.findings["severity"].astype(str) == severity]
    shown = listed["server_ip"].astype(str).tolist()
    assert all(f"{ip} " in text for ip in shown[:TERMINAL_FINDINGS_PER_SEVERITY])
    assert not any(f"{ip} " in text for ip in shown[TERMINAL_FINDINGS_PER_SEVERITY:])


def _text(result) -> str:
    sink = io.StringIO()
    render_terminal(result, Console(file=sink, width=160, no_color=True, force_terminal=False))
    return sink.getvalue()


def test_a_port_scan_lists_the_largest_services_and_sums_the_rest(tmp_path: Path) -> None:
    # A SYN scan of ports 1-300 answered by RST: one flow, and often one
    # registered service, per port; the server answers port 80 with data too.
    frames = []
    for port in range(1, 301):
        syn = craft.tcp(40000, port, craft.SYN)
        frames.append(craft.ethernet(craft.ipv4("10.1.0.5", "10.9.0.1", 6, syn)))
        payload = b"x" * 1000 if port == 80 else b""
        rst = craft.tcp(port, 40000, craft.RST | craft.ACK, payload)
        frames.append(craft.ethernet(craft.ipv4("10.9.0.1", "10.1.0.5", 6, rst)))
    result = annotator.annotate(craft.write_pcap(tmp_path / "scan.pcap", frames))
    rows = service_rows(result.flows)
    assert len(rows) > TERMINAL_SERVICES
    text = _text(result)
    shown, rest = rows[:TERMINAL_SERVICES], rows[TERMINAL_SERVICES:]
    flows = sum(r["flows"] for r in rest)
    assert f"... and {len(rest):,} more services ({flows:,} flows, " in text
    section = text.split("Services seen")[1].split("... and")[0]
    lines = section.splitlines()
    rule = next(k for k, line in enumerate(lines) if line.strip().startswith("─"))
    listed = [line.split()[0] for line in lines[rule + 1 :] if line.strip()]
    assert listed == [r["service"] or "(none)" for r in shown]  # largest first, in order


def test_other_traffic_lists_the_busiest_protocols_and_sums_the_rest(tmp_path: Path) -> None:
    # Forty IP protocols the flow stage does not take (no ports), one packet each.
    frames = [
        craft.ethernet(craft.ipv4("10.1.0.5", "10.9.0.1", proto, b"\x00" * 8))
        for proto in range(140, 180)
    ]
    result = annotator.annotate(craft.write_pcap(tmp_path / "other.pcap", frames))
    assert len(result.other) > TERMINAL_OTHER
    hidden = len(result.other) - TERMINAL_OTHER
    packets = int(result.other["packets"].iloc[TERMINAL_OTHER:].sum())
    text = _text(result)
    assert f"... and {hidden:,} more protocols ({packets:,} packets, " in text
