"""Build a large, realistic pcap for the capture-engine benchmark, fast, with numpy.

The capture has many overlapping flows (about one per hundred packets), IPv4
and IPv6, 802.1Q VLAN tags on a quarter of them, TCP (opening with SYN and
SYN+ACK) and UDP, payloads from none (bare ACKs) to full-sized segments, and
fragmented UDP datagrams (a first fragment carrying the UDP header, then a
later fragment without it).  Frames are laid out for a whole chunk of packets
at once: every header field is written with one vectorized assignment per
byte, never a Python step per packet.  Checksums are left zero (nothing here
checks them).

With ``--flood`` it writes a flood instead: every packet a UDP datagram from
its own spoofed IPv4 source and port to one server port, all carrying the
same 64 bytes, so each packet is a flow of its own.

Usage::

    .venv/bin/python benchmarks/make_flow_capture.py OUT.pcap --packets 5000000
    .venv/bin/python benchmarks/make_flow_capture.py OUT.pcap --packets 1000000 --flood
"""

from __future__ import annotations

import argparse
import struct
from pathlib import Path

import numpy as np

CHUNK = 500_000
PACKETS_PER_FLOW = 100
FRAGMENT_SHARE = 0.02  # of IPv4 UDP packets, each followed by a later fragment


def _put(buf: np.ndarray, at: np.ndarray, value: np.ndarray | int, width: int) -> None:
    """Write big-endian integers of ``width`` bytes at offsets ``at``."""
    value = np.asarray(value, dtype=np.uint64)
    for k in range(width):
        shift = np.uint64(8 * (width - 1 - k))
        buf[at + k] = ((value >> shift) & np.uint64(0xFF)).astype(np.uint8)


def _put_bytes(buf: np.ndarray, at: np.ndarray, rows: np.ndarray) -> None:
    """Write one row of bytes (an (n, w) uint8 matrix) at each offset."""
    buf[at[:, None] + np.arange(rows.shape[1])] = rows


class FlowSet:
    """The flows of the capture: endpoints, transport, address family, VLAN."""

    def __init__(self, count: int, rng: np.random.Generator) -> None:
        self.count = count
        self.v6 = rng.random(count) < 0.3
        self.udp = rng.random(count) < 0.35
        self.vlan = np.where(rng.random(count) < 0.25, rng.integers(1, 4095, count), -1)
        self.cport = rng.integers(32768, 61000, count)
        self.sport = rng.choice(np.array([443, 80, 53, 22, 25, 8080, 3478, 123, 5060]), count)
        # Addresses: 10.x clients and 203.0.113/198.51.100-style servers; v6 in 2001:db8::/32.
        self.cip4 = (10 << 24) + rng.integers(1, 1 << 16, count)
        self.sip4 = (198 << 24) + (51 << 16) + rng.integers(1, 1 << 14, count)
        self.cip6 = rng.integers(0, 256, (count, 16), dtype=np.uint8)
        self.sip6 = rng.integers(0, 256, (count, 16), dtype=np.uint8)
        self.cip6[:, :4] = self.sip6[:, :4] = [0x20, 0x01, 0x0D, 0xB8]
        self.seen = np.zeros(count, dtype=np.int8)  # packets emitted so far, capped at 2


def _frames(flows: FlowSet, first: int, n: int, total: int, rng: np.random.Generator, t0: float):
    """Record headers and frames of packets ``first .. first + n - 1`` of ``total``."""
    i = np.arange(first, first + n)
    per_flow = total / flows.count
    at = (i / per_flow).astype(np.int64)
    fid = np.clip(at + rng.integers(-400, 1, n), 0, flows.count - 1)
    v6, udp, vlan = flows.v6[fid], flows.udp[fid], flows.vlan[fid]
    # Later fragments: some IPv4 UDP packets are first fragments, the next packet the rest.
    frag1 = (~v6 & udp) & (rng.random(n) < FRAGMENT_SHARE) & (np.arange(n) % 2 == 0)
    frag1[-1] = False
    frag2 = np.zeros(n, dtype=bool)
    frag2[1:] = frag1[:-1]
    fid[frag2] = fid[np.flatnonzero(frag1)]
    v6, udp, vlan = flows.v6[fid], flows.udp[fid], flows.vlan[fid]
    # Handshake: a flow's first packet is the client's SYN, the second the server's SYN+ACK.
    order = np.argsort(fid, kind="stable")
    sf = fid[order]
    rank = np.arange(n) - np.searchsorted(sf, sf)
    nth = np.empty(n, dtype=np.int64)
    nth[order] = rank + flows.seen[sf]
    np.add.at(flows.seen, fid, 1)
    np.minimum(flows.seen, 2, out=flows.seen)
    c2s = np.where(nth == 0, True, np.where(nth == 1, False, rng.random(n) < 0.5))
    c2s[frag2] = c2s[np.flatnonzero(frag1)]
    kind = rng.random(n)
    pay = np.where(
        kind < 0.4, 0, np.where(kind < 0.7, rng.integers(40, 200, n), rng.integers(900, 1400, n))
    )
    pay[(~udp) & (nth < 2)] = 0
    pay[udp & (pay == 0)] = 48
    pay[frag1 | frag2] = 1200
    tl = np.where(udp, 8, 20)
    tl[frag2] = 0
    il = np.where(v6, 40, 20)
    ll = np.where(vlan >= 0, 18, 14)
    flen = ll + il + tl + pay
    rec = 16 + flen
    start = np.cumsum(rec) - rec
    buf = np.zeros(int(rec.sum()), dtype=np.uint8)
    ts = t0 + i * 20e-6
    sec = ts.astype(np.int64)
    _put(buf, start, sec, 4)
    _put(buf, start + 4, ((ts - sec) * 1e6).astype(np.int64), 4)
    _put(buf, start + 8, flen, 4)
    _put(buf, start + 12, flen, 4)
    for at, width in ((0, 4), (4, 4), (8, 4), (12, 4)):  # record header is little-endian
        buf[start[:, None] + at + np.arange(width)] = buf[
            start[:, None] + at + np.arange(width)[::-1]
        ]
    f = start + 16
    buf[f] = 0x02
    buf[f + 6] = 0x02
    buf[f + 11] = 1
    tagged = np.flatnonzero(vlan >= 0)
    _put(buf, f[tagged] + 12, 0x8100, 2)
    _put(buf, f[tagged] + 14, vlan[tagged], 2)
    ip = f + ll
    _put(buf, ip - 2, np.where(v6, 0x86DD, 0x0800), 2)
    proto = np.where(udp, 17, 6)
    cport, sport = flows.cport[fid], flows.sport[fid]
    src_port, dst_port = np.where(c2s, cport, sport), np.where(c2s, sport, cport)
    four = np.flatnonzero(~v6)
    a, fa = ip[four], fid[four]
    buf[a] = 0x45
    _put(buf, a + 2, 20 + tl[four] + pay[four], 2)
    _put(buf, a + 4, (i[four] // 2) & 0xFFFF, 2)
    _put(buf, a + 6, np.where(frag1[four], 0x2000, np.where(frag2[four], (8 + 1200) // 8, 0)), 2)
    buf[a + 8] = 64
    buf[a + 9] = proto[four]
    s4, d4 = flows.cip4[fa], flows.sip4[fa]
    _put(buf, a + 12, np.where(c2s[four], s4, d4), 4)
    _put(buf, a + 16, np.where(c2s[four], d4, s4), 4)
    six = np.flatnonzero(v6)
    a, fa = ip[six], fid[six]
    buf[a] = 0x60
    _put(buf, a + 4, tl[six] + pay[six], 2)
    buf[a + 6] = proto[six]
    buf[a + 7] = 64
    out = c2s[six][:, None]
    _put_bytes(buf, a + 8, np.where(out, flows.cip6[fa], flows.sip6[fa]))
    _put_bytes(buf, a + 24, np.where(out, flows.sip6[fa], flows.cip6[fa]))
    th = ip + il
    hdr = np.flatnonzero(~frag2)
    _put(buf, th[hdr], src_port[hdr], 2)
    _put(buf, th[hdr] + 2, dst_port[hdr], 2)
    u = np.flatnonzero(udp & ~frag2)
    _put(buf, th[u] + 4, np.where(frag1[u], 8 + 2400, 8 + pay[u]), 2)
    t = np.flatnonzero(~udp)
    _put(buf, th[t] + 4, i[t] * 1000, 4)
    buf[th[t] + 12] = 0x50
    flags = np.where(
        nth[t] == 0, 0x02, np.where(nth[t] == 1, 0x12, np.where(pay[t] > 0, 0x18, 0x10))
    )
    buf[th[t] + 13] = flags
    _put(buf, th[t] + 14, 65535, 2)
    # Payload: a recognisable first line, the rest zeros.
    body = np.flatnonzero(pay >= 16)
    text = np.frombuffer(b"GET /index.html", dtype=np.uint8)
    _put_bytes(buf, (th + tl)[body], np.broadcast_to(text, (len(body), len(text))))
    return buf


def make_capture(path: Path, packets: int, flows: int | None = None, seed: int = 11) -> None:
    """Write the benchmark capture (microsecond pcap, Ethernet) to ``path``.

    ``flows`` defaults to one per hundred packets.
    """
    rng = np.random.default_rng(seed)
    flows = FlowSet(flows or max(packets // PACKETS_PER_FLOW, 1), rng)
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for first in range(0, packets, CHUNK):
            n = min(CHUNK, packets - first)
            out.write(_frames(flows, first, n, packets, rng, 1_790_000_000.0).tobytes())


FLOOD_PAYLOAD = bytes(64)


def make_flood(path: Path, packets: int, seed: int = 11) -> None:
    """Write a UDP flood (see the module docstring) of ``packets`` datagrams to ``path``."""
    rng = np.random.default_rng(seed)
    flen = 14 + 20 + 8 + len(FLOOD_PAYLOAD)
    template = np.zeros(16 + flen, dtype=np.uint8)
    template[16 + 12 : 16 + 14] = (0x08, 0x00)  # Ethernet: IPv4
    ip = 16 + 14
    template[ip : ip + 10] = (0x45, 0, 0, 20 + 8 + len(FLOOD_PAYLOAD), 0, 0, 0, 0, 64, 17)
    template[ip + 16 : ip + 20] = (192, 0, 2, 1)  # the target
    template[ip + 22 : ip + 24] = (0, 80)
    template[ip + 24 : ip + 26] = (0, 8 + len(FLOOD_PAYLOAD))
    template[ip + 28 :] = np.frombuffer(FLOOD_PAYLOAD, dtype=np.uint8)
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for first in range(0, packets, CHUNK):
            n = min(CHUNK, packets - first)
            rows = np.tile(template, (n, 1))
            ts = 1_790_000_000.0 + np.arange(first, first + n) * 10e-6
            sec = ts.astype(np.int64)
            head = np.stack([sec, ((ts - sec) * 1e6).astype(np.int64),
                             np.full(n, flen), np.full(n, flen)], axis=1)  # fmt: skip
            rows[:, :16] = head.astype("<u4").view(np.uint8).reshape(n, 16)
            flat, at = rows.reshape(-1), np.arange(n) * rows.shape[1]  # flat is a view
            _put(flat, at + ip + 12, rng.integers(1 << 24, 224 << 24, n), 4)  # the sources
            _put(flat, at + ip + 20, rng.integers(1024, 65536, n), 2)
            out.write(rows.tobytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--packets", type=int, default=5_000_000)
    parser.add_argument("--flows", type=int, default=None)
    parser.add_argument("--flood", action="store_true", help="a UDP flood, one flow a packet")
    args = parser.parse_args()
    if args.flood:
        make_flood(args.out, args.packets)
    else:
        make_capture(args.out, args.packets, args.flows)


if __name__ == "__main__":
    main()
