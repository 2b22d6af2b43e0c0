"""Capture-engine benchmark: file to flow table, against dpkt, scapy, NFStream and tshark.

Builds a large realistic capture (:mod:`make_flow_capture`: many flows, IPv4
and IPv6, VLAN tags, TCP and UDP with payloads, fragments; not committed,
written to ``benchmarks/out/``), then times IN THE SAME RUN, each tool in its
own fresh process so peak memory is its own:

* ``read_flows`` -- file to :class:`~annotator.result.FlowTable`, one core,
  hashing the file with SHA-256 as the reports need (the default);
* ``read_flows_nohash`` -- the same with ``sha256=False`` (``--no-hash``):
  the flow table alone, which is all the other tools compute;
* a dpkt loop building the same bidirectional 5-tuple table;
* scapy (``PcapReader``) on a slice of the file, extrapolated to the whole
  (said so in the output: scapy is far too slow for millions of packets);
* NFStream (``pip install nfstream``; one meter, no statistics or DPI, so
  it does the least work it can), if it is installed;
* tshark, ``-q -z conv,tcp -z conv,udp``.

Every tool's process (and whatever it starts: tshark, NFStream's meters, the
SHA-256 thread of ``read_flows``) is pinned to ONE CPU by default, so the
figures are "on one core" for all of them alike; ``--cpus all`` lifts the pin.

It prints packets per second (wall and CPU time: the machine may be shared),
the ratio of each to ``read_flows``, and peak RSS; then ``read_flows`` peak
RSS on a capture with the same flows but a fifth of the packets, to show
memory follows flows, not packets.

Run by hand (timing targets live here, never in the test suite)::

    .venv/bin/python benchmarks/bench_capture.py --packets 5000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))


def _rss_mb() -> float:
    """Peak resident set of this process since it started (VmHWM; unlike
    ``ru_maxrss`` it is not inherited from the parent across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    """CPU seconds of this process and its finished children (NFStream meters)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _key(proto, src, sport, dst, dport):
    a, b = (src, sport), (dst, dport)
    return (proto, a, b) if a <= b else (proto, b, a)


def run_read_flows(path: Path, sha256: bool = True) -> dict:
    from annotator.flows import ReadOptions, read_flow_table

    base = _rss_mb()
    table = read_flow_table(path, ReadOptions(sha256=sha256))
    acc = table.accounting
    return {"packets": acc["packets_total"], "flows": acc["flows"], "rss_before_mb": base}


def run_dpkt(path: Path) -> dict:
    import dpkt

    table: dict = {}
    packets = 0
    with open(path, "rb") as f:
        for _ts, buf in dpkt.pcap.Reader(f):
            packets += 1
            eth = dpkt.ethernet.Ethernet(buf)
            ip = eth.data
            if not isinstance(ip, dpkt.ip.IP | dpkt.ip6.IP6):
                continue
            l4 = ip.data
            if not isinstance(l4, dpkt.tcp.TCP | dpkt.udp.UDP):
                continue
            key = _key(
                ip.p if isinstance(ip, dpkt.ip.IP) else ip.nxt, ip.src, l4.sport, ip.dst, l4.dport
            )
            entry = table.get(key)
            if entry is None:
                table[key] = [1, len(buf)]
            else:
                entry[0] += 1
                entry[1] += len(buf)
    return {"packets": packets, "flows": len(table)}


def run_scapy(path: Path, limit: int) -> dict:
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.utils import PcapReader

    table: dict = {}
    packets = 0
    with PcapReader(str(path)) as reader:
        for pkt in reader:
            packets += 1
            ip = pkt.getlayer(IP) or pkt.getlayer(IPv6)
            l4 = pkt.getlayer(TCP) or pkt.getlayer(UDP)
            if ip is not None and l4 is not None:
                entry = table.setdefault(
                    _key(type(l4).__name__, ip.src, l4.sport, ip.dst, l4.dport), [0, 0]
                )
                entry[0] += 1
                entry[1] += len(pkt)
            if packets >= limit:
                break
    return {"packets": packets, "flows": len(table)}


def run_nfstream(path: Path) -> dict:
    from nfstream import NFStreamer

    streamer = NFStreamer(
        source=str(path), n_meters=1, n_dissections=0, statistical_analysis=False, splt_analysis=0
    )
    frame = streamer.to_pandas()
    return {"packets": int(frame["bidirectional_packets"].sum()), "flows": len(frame)}


def run_tshark(path: Path) -> dict:
    proc = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-q", "-z", "conv,tcp", "-z", "conv,udp"],
        capture_output=True,
        text=True,
    )
    flows = sum(1 for line in proc.stdout.splitlines() if "<->" in line)
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "flows": flows,
        "rss_mb_child": child.ru_maxrss / 1024,
        "cpu_child": child.ru_utime + child.ru_stime,
    }


def child(tool: str, path: Path, limit: int) -> None:
    """Run one tool in this process and print its figures as JSON.

    The tool's modules are imported before the clock starts (for read_flows
    also the bundled registry and its port table; the compiled record walk,
    C or else numba's cached kernel, loads on the first read, inside the clock).
    """
    if tool.startswith("read_flows"):
        import annotator.capture.decode
        import annotator.capture.formats
        import annotator.flows  # noqa: F401
        import annotator.registry.resolve as resolve

        resolve.default_registry().assigned_mask(np.zeros(1, np.uint16), np.zeros(1, np.uint8))
    elif tool in ("dpkt", "scapy", "nfstream"):
        __import__({"dpkt": "dpkt", "scapy": "scapy.all", "nfstream": "nfstream"}[tool])
    wall, cpu = time.perf_counter(), _cpu()
    if tool.startswith("read_flows"):
        out = run_read_flows(path, sha256=tool == "read_flows")
    elif tool == "dpkt":
        out = run_dpkt(path)
    elif tool == "scapy":
        out = run_scapy(path, limit)
    elif tool == "nfstream":
        out = run_nfstream(path)
    else:
        out = run_tshark(path)
    out["wall"] = time.perf_counter() - wall
    out["cpu"] = _cpu() - cpu
    out["rss_mb"] = out.pop("rss_mb_child", None) or _rss_mb()
    print(json.dumps(out))


def measure(tool: str, path: Path, limit: int = 0, cpus: set[int] | None = None) -> dict | None:
    """Run ``tool`` in a fresh process, pinned to ``cpus`` (None: not pinned)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    cmd = [sys.executable, __file__, "--child", tool, "--limit", str(limit), str(path)]

    def pin() -> None:
        if cpus is not None:
            os.sched_setaffinity(0, cpus)

    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, preexec_fn=pin)
    if proc.returncode != 0:
        print(f"  {tool}: failed: {proc.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _cpu_set(spec: str) -> set[int] | None:
    if spec == "all":
        return None
    if spec == "one":
        return {min(os.sched_getaffinity(0))}
    return {int(spec)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=5_000_000)
    parser.add_argument("--flows", type=int, default=None, help="default: packets / 100")
    parser.add_argument("--scapy-slice", type=int, default=50_000)
    parser.add_argument(
        "--tools", default="read_flows,read_flows_nohash,dpkt,scapy,nfstream,tshark"
    )
    parser.add_argument(
        "--cpus",
        default="one",
        help="'one' (default): each tool's process pinned to one CPU; 'all': not pinned; "
        "or a CPU number",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("path", nargs="?", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.path, args.limit)
        return

    from make_flow_capture import make_capture

    OUT.mkdir(exist_ok=True)
    flows = args.flows or max(args.packets // 100, 1)
    path = OUT / f"flows-{args.packets}-{flows}.pcap"
    small = OUT / f"flows-{args.packets // 5}-{flows}.pcap"
    for p, n in ((path, args.packets), (small, args.packets // 5)):
        if not p.exists():
            t = time.perf_counter()
            make_capture(p, n, flows)
            size, took = p.stat().st_size / 1e6, time.perf_counter() - t
            print(f"built {p.name}: {n:,} packets, {flows:,} flows, {size:,.0f} MB in {took:.1f} s")
    print(f"capture: {path} ({args.packets:,} packets, {flows:,} flows)")
    cpus = _cpu_set(args.cpus)
    print(f"pinned to CPU {sorted(cpus)}" if cpus else "not pinned (all CPUs)")
    tools = args.tools.split(",")
    results = {}
    for tool in tools:
        if tool == "nfstream":
            try:
                import nfstream  # noqa: F401
            except ImportError:
                print("  nfstream: not installed (pip install nfstream); skipped")
                continue
        if tool == "tshark" and not shutil.which("tshark"):
            print("  tshark: not installed; skipped")
            continue
        res = measure(tool, path, args.scapy_slice if tool == "scapy" else 0, cpus)
        if res is None:
            continue
        res.setdefault("packets", args.packets)
        results[tool] = res
        note = ""
        if tool == "scapy":
            note = f"  (on the first {res['packets']:,} packets, extrapolated)"
        print(f"  {tool:17s} {res['packets'] / res['wall'] / 1e6:6.3f} Mpps wall "
              f"{res['packets'] / max(res['cpu'], 1e-9) / 1e6:6.3f} Mpps cpu  "
              f"{res['wall']:7.1f} s  flows {res.get('flows', 0):>9,}  "
              f"peak RSS {res['rss_mb']:6.0f} MB{note}")  # fmt: skip
    base = results.get("read_flows")
    if base:
        rate = base["packets"] / base["wall"]
        nohash = results.get("read_flows_nohash")
        print("ratios (read_flows packets/s over each tool's, wall time; "
              "in brackets read_flows_nohash's):")  # fmt: skip
        for tool, res in results.items():
            if not tool.startswith("read_flows"):
                theirs = res["packets"] / res["wall"]
                text = f"  vs {tool:10s} {rate / theirs:6.1f}x"
                if nohash:
                    text += f"  ({nohash['packets'] / nohash['wall'] / theirs:.1f}x)"
                print(text)
        res_small = measure("read_flows", small, cpus=cpus)
        if res_small:
            print(f"read_flows peak RSS: {base['rss_mb']:.0f} MB on {base['packets']:,} packets, "
                  f"{res_small['rss_mb']:.0f} MB on {res_small['packets']:,} packets, same "
                  f"{flows:,} flows (after imports: {base['rss_before_mb']:.0f} MB)")  # fmt: skip


if __name__ == "__main__":
    main()
