"""Packet-level agreement with tshark on the labeled captures in ../shared.

All labeled captures are concatenated with ``mergecap -a`` (one tshark run, so
the test stays fast), read with the project's own reader, decoded, and
compared frame by frame with tshark's outermost TCP/UDP/SCTP/DCCP ports
(reassembly off).  Differences must fall in the documented categories:

* the transport sits inside an ICMP error or a tunnel (IP-in-IP, GRE): the
  decoder counts only the outermost layer, so the frame is ICMP/tunnel traffic;
* a TCP data offset below 5, which tshark still shows ports for;
* later IP fragments, which the decoder gives the first fragment's ports and
  tshark shows no transport for.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from annotator.capture.columns import KIND_FLOW, TRANSPORT_BY_PROTO
from annotator.capture.decode import Decoder
from annotator.capture.formats import open_capture

pytestmark = pytest.mark.shared

TRANSPORTS = ("tcp", "udp", "sctp", "dccp")
FIELDS = ["frame.number", "frame.protocols", "ip.frag_offset", "ipv6.fraghdr.offset"]
for _name in TRANSPORTS:
    FIELDS += [f"{_name}.srcport", f"{_name}.dstport"]


def _tshark(path: Path) -> dict[int, list[str]]:
    command = ["tshark", "-n", "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE"]
    command += ["-r", str(path), "-T", "fields", "-E", "occurrence=f"]
    for field in FIELDS:
        command += ["-e", field]
    out = subprocess.run(command, capture_output=True, text=True, check=False).stdout
    return {int(p[0]): p for p in (line.split("\t") for line in out.splitlines()) if p[0]}


def _outermost(fields: list[str]) -> tuple[tuple[str, int, int] | None, list[str]]:
    layers = fields[1].split(":")
    for name in layers:
        if name in TRANSPORTS:
            k = 4 + 2 * TRANSPORTS.index(name)
            if fields[k] and fields[k + 1]:
                return (name, int(fields[k]), int(fields[k + 1])), layers
            return None, layers
    return None, layers


def _explained_miss(layers: list[str], label: str) -> bool:
    transport = next(i for i, name in enumerate(layers) if name in TRANSPORTS)
    before = layers[:transport]
    ips = sum(name in ("ip", "ipv6") for name in before)
    if {"icmp", "icmpv6"} & set(before):
        return label in ("ICMP", "ICMPv6")
    if ips > 1 or "gre" in before:
        return label in ("IPv4 encapsulation", "IPv6 encapsulation", "GRE")
    return label == "bad TCP data offset"


@pytest.mark.skipif(not shutil.which("tshark") or not shutil.which("mergecap"), reason="no tshark")
def test_ports_agree_with_tshark(shared: Path, tmp_path: Path):
    files = sorted((shared / "captures" / "labeled" / "pcap").iterdir())
    merged = tmp_path / "labeled.pcapng"
    subprocess.run(["mergecap", "-a", "-w", str(merged), *map(str, files)], check=True)
    reference = _tshark(merged)

    mine: dict[int, tuple] = {}
    decoder = Decoder()
    with open_capture(merged) as reader:
        for records in reader.batches():
            batch = decoder.decode(records)
            for i in range(len(batch)):
                frame = int(batch["frame"][i])
                if batch["kind"][i] == KIND_FLOW:
                    name = TRANSPORT_BY_PROTO[int(batch["proto"][i])]
                    mine[frame] = (name, int(batch["sport"][i]), int(batch["dport"][i]))
                else:
                    mine[frame] = ("label", batch.labels[batch["label"][i]])
    assert len(mine) == len(reference) > 25_000

    compared = agreed = 0
    unexplained = []
    for frame, fields in reference.items():
        expected, layers = _outermost(fields)
        got = mine[frame]
        if expected is None:
            later = (fields[2] not in ("", "0")) or (fields[3] not in ("", "0"))
            if got[0] != "label" and not later:
                unexplained.append(f"frame {frame}: decoder {got}, tshark {fields[1]}")
            continue
        compared += 1
        if got == expected:
            agreed += 1
        elif got[0] != "label" or not _explained_miss(layers, got[1]):
            unexplained.append(f"frame {frame}: decoder {got}, tshark {expected} {fields[1]}")
    assert compared > 20_000
    assert agreed >= 0.99 * compared
    assert not unexplained, "\n".join(unexplained[:20])
