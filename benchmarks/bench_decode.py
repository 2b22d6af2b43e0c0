"""Time the packet decoder alone: RecordBatch -> PacketBatch, packets per second.

Builds a synthetic batch in memory (no file): by default mostly
Ethernet/IPv4/TCP with payloads, plus UDP, IPv6, VLAN-tagged frames, IPv4
fragments and some ARP, with varied addresses and ports.  ``--mix tcp`` uses
plain Ethernet/IPv4/TCP only (the typical-traffic target: well over 2 million
packets per second).  Compares, on a slice, with a per-packet dpkt loop.

Run by hand::

    .venv/bin/python benchmarks/bench_decode.py --packets 2000000 --batch 65536

Timing targets live here, never in the test suite.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from annotator.capture.columns import RecordBatch
from annotator.capture.decode import Decoder
from tests.capture.craft import (
    ACK,
    PSH,
    SYN,
    ethernet,
    ipv4,
    ipv6,
    tcp,
    udp,
)


def templates(mix: str) -> tuple[list[bytes], np.ndarray, list[tuple[int, int]]]:
    """Frames to replicate, their weights, and (port offset, address offset) to vary."""
    a, b = "10.0.0.1", "10.0.0.2"
    tcp_frames = [
        ethernet(ipv4(a, b, 6, tcp(40000, 443, PSH | ACK, bytes(n)))) for n in (0, 100, 600, 1400)
    ]
    if mix == "tcp":
        return tcp_frames, np.array([0.4, 0.2, 0.2, 0.2]), [(34, 26)] * 4
    frames = [
        *tcp_frames,
        ethernet(ipv4(a, b, 6, tcp(40000, 443, SYN))),
        ethernet(ipv4(a, b, 17, udp(5353, 53, bytes(60)))),
        ethernet(ipv6("2001:db8::1", "2001:db8::2", 6, tcp(40000, 443, ACK, bytes(400))), 0x86DD),
        ethernet(ipv4(a, b, 17, udp(4000, 4789, bytes(120))), vlans=[100]),
        ethernet(ipv4(a, b, 17, udp(7, 9, bytes(1000))[:800], ident=5, more_fragments=True)),
        ethernet(ipv4(a, b, 17, bytes(200), ident=5, fragment_offset=800)),
        ethernet(bytes(28), 0x0806),
    ]
    weights = np.array([0.25, 0.15, 0.15, 0.15, 0.05, 0.1, 0.07, 0.04, 0.01, 0.01, 0.02])
    spots = [(34, 26)] * 6 + [(54, 22), (38, 30), (34, 26), (34, 26), (34, 26)]
    return frames, weights / weights.sum(), spots


def build(packets: int, mix: str, seed: int = 1) -> RecordBatch:
    """A RecordBatch of ``packets`` frames drawn from the templates, ports and addresses varied."""
    rng = np.random.default_rng(seed)
    frames, weights, spots = templates(mix)
    choice = rng.choice(len(frames), size=packets, p=weights)
    lens = np.array([len(f) for f in frames], dtype=np.int64)[choice]
    offset = np.zeros(packets, dtype=np.int64)
    offset[1:] = np.cumsum(lens)[:-1]
    data = np.empty(int(lens.sum()), dtype=np.uint8)
    for k, frame in enumerate(frames):
        sel = np.flatnonzero(choice == k)
        rows = offset[sel][:, None] + np.arange(len(frame))
        data[rows] = np.frombuffer(frame, dtype=np.uint8)
        port_at, addr_at = spots[k]
        if frame[12:14] == b"\x08\x06":
            continue
        ports = rng.integers(1024, 65535, len(sel))
        data[offset[sel] + port_at] = ports >> 8
        data[offset[sel] + port_at + 1] = ports & 0xFF
        data[offset[sel] + addr_at + 3] = rng.integers(1, 255, len(sel))
    return RecordBatch(
        data=data,
        offset=offset,
        cap_len=lens.astype(np.uint32),
        wire_len=lens.astype(np.uint32),
        ts_ns=np.arange(packets, dtype=np.int64) * 1000,
        link_type=np.ones(packets, dtype=np.uint16),
        frame=np.arange(1, packets + 1, dtype=np.int64),
    )


def chunks(batch: RecordBatch, size: int) -> list[RecordBatch]:
    """Split into batches of ``size`` records sharing one buffer (as the reader's would)."""
    out = []
    for start in range(0, len(batch), size):
        s = slice(start, start + size)
        out.append(
            RecordBatch(
                data=batch.data,
                offset=batch.offset[s],
                cap_len=batch.cap_len[s],
                wire_len=batch.wire_len[s],
                ts_ns=batch.ts_ns[s],
                link_type=batch.link_type[s],
                frame=batch.frame[s],
            )
        )
    return out


def dpkt_loop(batch: RecordBatch, count: int) -> float:
    """Seconds per packet for a dpkt decode of the first ``count`` packets."""
    import dpkt

    raw = batch.data.tobytes()
    frames = [
        raw[o : o + n] for o, n in zip(batch.offset[:count], batch.cap_len[:count], strict=True)
    ]
    start = time.perf_counter()
    for frame in frames:
        ip = dpkt.ethernet.Ethernet(frame).data
        transport = getattr(ip, "data", None)
        getattr(transport, "sport", None)
    return (time.perf_counter() - start) / len(frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=2_000_000)
    parser.add_argument("--batch", type=int, default=65_536)
    parser.add_argument("--mix", choices=["mixed", "tcp"], default="mixed")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    batch = build(args.packets, args.mix)
    parts = chunks(batch, args.batch)
    best = best_cpu = float("inf")
    for _ in range(args.repeat):
        decoder = Decoder()
        start, start_cpu = time.perf_counter(), time.process_time()
        kinds = np.zeros(3, dtype=np.int64)
        for part in parts:
            out = decoder.decode(part)
            kinds += np.bincount(out["kind"], minlength=3)[:3]
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    rate = args.packets / best
    print(f"mix={args.mix} packets={args.packets:,} batch={args.batch:,}")
    print(f"decoder: {best:.3f} s, {rate / 1e6:.2f} M packets/s ({1e9 / rate:.0f} ns/packet)")
    # CPU time of this process: less distorted than wall time on a busy machine
    cpu_rate = args.packets / best_cpu
    print(f"decoder CPU time: {best_cpu:.3f} s, {cpu_rate / 1e6:.2f} M packets/s")
    print(f"kinds: flow={kinds[0]:,} other={kinds[1]:,} undecodable={kinds[2]:,}")
    per_packet = dpkt_loop(batch, min(200_000, args.packets))
    print(f"dpkt loop: {1 / per_packet / 1e6:.3f} M packets/s; decoder is {rate * per_packet:.0f}x")


if __name__ == "__main__":
    main()
