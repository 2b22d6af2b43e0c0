"""Cross-check against dpkt, a per-packet reference decoder, on real captures.

For every packet of the labeled captures in ../shared where dpkt finds an IPv4
or IPv6 header carrying TCP or UDP, the vectorized decoder must report a flow
packet with the same IP version, transport, ports and addresses.  Later
fragments are left out (dpkt sees no transport header in them; the decoder
gives them their first fragment's ports); first fragments are compared.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import dpkt
import numpy as np
import pytest

from annotator.capture.columns import KIND_FLOW, RecordBatch
from annotator.capture.decode import Decoder

pytestmark = pytest.mark.shared

# Link types whose dpkt decoder we can run for reference.
REFERENCE_LINKS = {
    1: dpkt.ethernet.Ethernet,
    113: dpkt.sll.SLL,
}


def _read(path: Path) -> tuple[int, list[bytes]] | None:
    try:
        with path.open("rb") as fh:
            reader = dpkt.pcap.Reader(fh)
            return reader.datalink(), [buf for _, buf in reader]
    except (ValueError, dpkt.dpkt.NeedData):
        return None  # pcapng, or a file dpkt cannot read


def _batch(frames: list[bytes], link_type: int) -> RecordBatch:
    lens = np.array([len(f) for f in frames], dtype=np.int64)
    offset = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    n = len(frames)
    return RecordBatch(
        data=np.frombuffer(b"".join(frames), dtype=np.uint8),
        offset=offset,
        cap_len=lens.astype(np.uint32),
        wire_len=lens.astype(np.uint32),
        ts_ns=np.zeros(n, dtype=np.int64),
        link_type=np.full(n, link_type, dtype=np.uint16),
        frame=np.arange(1, n + 1, dtype=np.int64),
    )


def _reference(frame: bytes, link_cls) -> tuple | None:
    """(version, proto, sport, dport, src, dst) as dpkt sees it, or None."""
    try:
        obj = link_cls(frame)
    except (dpkt.dpkt.UnpackError, IndexError, ValueError):
        return None
    for _ in range(4):  # down through PPPoE/PPP to the first IP header
        if isinstance(obj, dpkt.ip.IP | dpkt.ip6.IP6) or not hasattr(obj, "data"):
            break
        obj = obj.data
    if isinstance(obj, dpkt.ip.IP):
        # dpkt does not check the version nibble (fuzzed captures have others)
        if obj.v != 4 or obj.offset:  # later fragments carry no transport header
            return None
        version = 4
    elif isinstance(obj, dpkt.ip6.IP6):
        if obj.v != 6:
            return None
        if 44 in getattr(obj, "extension_hdrs", {}) and obj.extension_hdrs.get(44) is not None:
            return None
        version = 6
    else:
        return None
    transport = obj.data
    if not isinstance(transport, dpkt.tcp.TCP | dpkt.udp.UDP):
        return None
    proto = 6 if isinstance(transport, dpkt.tcp.TCP) else 17
    src = int(ipaddress.ip_address(obj.src))
    dst = int(ipaddress.ip_address(obj.dst))
    if version == 4:
        src, dst = src | 0xFFFF_0000_0000, dst | 0xFFFF_0000_0000
    return version, proto, transport.sport, transport.dport, src, dst


def test_ports_and_protocols_agree_with_dpkt(shared: Path):
    files = sorted((shared / "captures" / "labeled" / "pcap").glob("*.pcap"))
    compared = 0
    mismatches: list[str] = []
    for path in files:
        read = _read(path)
        if read is None or read[0] not in REFERENCE_LINKS or not read[1]:
            continue
        link_type, frames = read
        batch = Decoder().decode(_batch(frames, link_type))
        cols = batch.columns
        src = (cols["src_hi"].astype(object) << 64) | cols["src_lo"].astype(object)
        dst = (cols["dst_hi"].astype(object) << 64) | cols["dst_lo"].astype(object)
        for i, frame in enumerate(frames):
            expected = _reference(frame, REFERENCE_LINKS[link_type])
            if expected is None:
                continue
            compared += 1
            got = (
                int(cols["ip_version"][i]),
                int(cols["proto"][i]),
                int(cols["sport"][i]),
                int(cols["dport"][i]),
                int(src[i]),
                int(dst[i]),
            )
            if cols["kind"][i] != KIND_FLOW or got != expected:
                mismatches.append(f"{path.name} frame {i + 1}: dpkt {expected}, decoder {got}")
    assert compared > 10_000
    assert not mismatches, "\n".join(mismatches[:20])
