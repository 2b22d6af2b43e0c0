"""tshark as a peer: per-frame fields aggregated by bidirectional 5-tuple.

Only the outermost network layer counts: a frame is attributed to a 5-tuple
when the protocol right after its first IP header (past IPv6 extension
headers) is TCP, UDP, SCTP or DCCP and tshark reports the ports.  A frame
whose IP protocol is one of those transports but carries no ports is a
non-first fragment (tshark, with reassembly off, cannot attribute it), kept
apart by IP pair so a difference can be explained.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

TSHARK = shutil.which("tshark")
CAPINFOS = shutil.which("capinfos")
TRANSPORTS = {"tcp": 6, "udp": 17, "sctp": 132, "dccp": 33}
FIELDS = (
    *("frame.number", "frame.len", "frame.protocols"),
    *("ip.src", "ip.dst", "ip.proto", "ip.frag_offset"),
    *("ipv6.src", "ipv6.dst", "ipv6.fraghdr.offset", "ipv6.fraghdr.nxt"),
    *(f"{t}.{end}port" for t in ("tcp", "udp", "sctp", "dccp") for end in ("src", "dst")),
    "communityid",
)


@dataclass
class PeerView:
    """What tshark saw in one capture."""

    frames: int = 0
    ok: bool = True
    error: str = ""
    conv: dict[tuple, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    frames_of: dict[tuple, list[int]] = field(default_factory=lambda: defaultdict(list))
    community: dict[tuple, str] = field(default_factory=dict)
    tunnelled: set[tuple] = field(default_factory=set)  # 5-tuples carrying another IP layer
    fragments: dict[tuple, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))


def five_tuple(transport: str, ip1: str, p1: int, ip2: str, p2: int) -> tuple:
    """A direction-free 5-tuple key."""
    a, b = sorted([(ip1, int(p1)), (ip2, int(p2))])
    return (transport, a, b)


def ip_pair(ip1: str, ip2: str, proto: int) -> tuple:
    return (proto, *sorted([ip1, ip2]))


def run_tshark(path: Path) -> PeerView:
    """Run tshark over one capture and aggregate its frames by 5-tuple."""
    cmd = [TSHARK, "-n", "-r", str(path), "-o", "ip.defragment:FALSE", "-o"]
    cmd += ["ipv6.defragment:FALSE", "--enable-protocol", "communityid"]
    cmd += ["-T", "fields", "-E", "occurrence=f", "-E", "separator=\t"]
    for f in FIELDS:
        cmd += ["-e", f]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=300)
    view = PeerView(ok=proc.returncode == 0, error=proc.stderr.strip()[-300:])
    for line in proc.stdout.splitlines():
        row = dict(zip(FIELDS, line.split("\t"), strict=False))
        view.frames += 1
        tokens = row.get("frame.protocols", "").split(":")
        at = next((i for i, t in enumerate(tokens) if t in ("ip", "ipv6")), None)
        if at is None:
            continue
        v4 = tokens[at] == "ip"
        src, dst = (row["ip.src"], row["ip.dst"]) if v4 else (row["ipv6.src"], row["ipv6.dst"])
        nxt = at + 1
        while nxt < len(tokens) and tokens[nxt].startswith("ipv6."):
            nxt += 1
        name = tokens[nxt] if nxt < len(tokens) else ""
        size = int(row["frame.len"])
        ports = (row.get(f"{name}.srcport", ""), row.get(f"{name}.dstport", ""))
        if name in TRANSPORTS and ports[0] and ports[1]:
            entry = view.conv[five_tuple(name, src, ports[0], dst, ports[1])]
            entry[0] += 1
            entry[1] += size
            key = five_tuple(name, src, ports[0], dst, ports[1])
            view.frames_of[key].append(int(row["frame.number"]))
            if row.get("communityid"):
                view.community.setdefault(key, row["communityid"])
            if any(t in ("ip", "ipv6") for t in tokens[nxt:]):
                view.tunnelled.add(key)
            continue
        if v4:
            proto = int(row["ip.proto"] or -1)
            later = row["ip.frag_offset"] not in ("", "0")
        else:
            proto = int(row["ipv6.fraghdr.nxt"] or -1)
            later = row["ipv6.fraghdr.offset"] not in ("", "0")
        if later and proto in TRANSPORTS.values():
            entry = view.fragments[ip_pair(src, dst, proto)]
            entry[0] += 1
            entry[1] += size
    return view


def frame_counts(paths: list[Path]) -> dict[Path, int]:
    """Frames Wireshark's capture library reads from each file, by ``capinfos``.

    capinfos uses the same reader (wiretap) as tshark but starts in
    milliseconds, so one call covers hundreds of files.  Files it complains
    about (unsupported link type, cut short, corrupt) are left out.
    """
    if CAPINFOS is None or not paths:
        return {}
    proc = subprocess.run(
        [CAPINFOS, "-c", "-M", "-T", "-r", *map(str, paths)],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=600,
    )
    counts = {}
    for line in proc.stdout.splitlines():
        name, _, count = line.rpartition("\t")
        if count.isdigit():
            counts[Path(name)] = int(count)
    for path in list(counts):
        if f'"{path}"' in proc.stderr:
            del counts[path]
    return counts
