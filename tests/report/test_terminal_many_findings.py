"""The terminal summary stays a summary when a capture has thousands of findings."""

from __future__ import annotations

import importlib.util
import io
import sys
from pathlib import Path

from rich.console import Console

import annotator
from annotator.report.terminal import TERMINAL_FINDINGS_PER_SEVERITY, render_terminal

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
