"""Scale benchmark: memory against packets, and capture sets with --jobs.

Two cases, each command in its own fresh process (``/usr/bin/time -v`` gives
its peak RSS, wall time is measured around it):

``memory``
    ``annotate`` on captures with the same number of flows and growing
    numbers of packets (default 5 and 20 million; :mod:`make_flow_capture`,
    written to ``benchmarks/out/`` and reused).  Flows are fingerprinted as
    their payload completes and then hold only their columns, so peak RSS
    should stay flat as packets grow.  ``read_flows`` without fingerprinting
    (it keeps every flow's first payload bytes for its caller) is shown beside
    it for comparison.

``jobs``
    A capture cut into a set of files (classic pcap records, split exactly),
    annotated as one capture with ``--jobs 1`` and ``--jobs N``; prints each
    median wall time and CPU time over ``--repeat`` runs, alternating the
    two, the ratio of the medians, and the median (and range) of the ratios
    of each back-to-back pair, steadier when the machine's speed drifts.
    ``--report json`` (the default) times the command writing the whole JSON
    report to standard output, and compares the outputs: they must be
    identical.  ``--report terminal`` times the command as typed at a
    terminal (``annotate FILES --jobs N``, the triage summary), compares
    those summaries, and afterwards compares one untimed JSON report of each
    side too.  The JSON report is about a second of serial work after the
    read on a 50,000-flow set, the summary a fraction of that; the figures
    show how much of the speed-up that tail takes.
    ``--no-hash`` passes ``--no-hash`` to ``annotate`` (no SHA-256 of each
    file: one process then keeps one core busy, not one and a quarter).
    ``--peer`` also measures, after each pair, what this machine gives N
    processes that share nothing: the files cut into N runs of consecutive
    files, each annotated by its own ``--jobs 1`` process (writing the same
    report), all at once and then one after the other.  Their ratio is the
    most N processes can gain here (they share caches and memory bandwidth,
    and on many machines two hardware threads share one core); ``--jobs N``
    is then quoted against it.  The CPU seconds of both ways are printed:
    when running at once costs more CPU than one after the other, the cores
    themselves slow down while shared, whatever the program.

Run by hand (targets live here, never in the test suite)::

    .venv/bin/python benchmarks/bench_scale.py memory --packets 5000000 20000000 --flows 50000
    .venv/bin/python benchmarks/bench_scale.py jobs --packets 4000000 --files 8 --jobs 2
    .venv/bin/python benchmarks/bench_scale.py jobs --packets 4000000 --files 8 --compress gzip
    .venv/bin/python benchmarks/bench_scale.py jobs --packets 4000000 --files 8 --no-hash
    .venv/bin/python benchmarks/bench_scale.py jobs --packets 4000000 --files 8 --report terminal
    .venv/bin/python benchmarks/bench_scale.py jobs --packets 4000000 --files 8 --peer
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import re
import resource
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
ROOT = HERE.parent
ANNOTATE = Path(sys.executable).parent / "annotate"
sys.path.insert(0, str(HERE))


def capture(packets: int, flows: int | None) -> Path:
    """The generated capture for these sizes, built once."""
    from make_flow_capture import make_capture

    OUT.mkdir(exist_ok=True)
    path = OUT / f"flows-{packets}-{flows or 'default'}.pcap"
    if not path.exists():
        print(f"building {path.name} ...", flush=True)
        make_capture(path, packets, flows)
    return path


def timed(argv: list[str]) -> tuple[float, float, bytes]:
    """Run ``argv`` under /usr/bin/time -v: (wall seconds, peak RSS MB, stdout)."""
    wall, peak, _, out = timed_cpu(argv)
    return wall, peak, out


def timed_cpu(argv: list[str]) -> tuple[float, float, float, bytes]:
    """Run ``argv`` under /usr/bin/time -v: (wall s, peak RSS MB, CPU s, stdout).

    CPU seconds are user plus system time of the process and its children
    (``--jobs`` workers included), so they show how much of two cores a run
    kept busy.
    """
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-v", *argv], capture_output=True, check=True)
    wall = time.perf_counter() - start
    peak = re.search(rb"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    cpu = sum(
        float(m.group(1))
        for m in re.finditer(rb"(?:User|System) time \(seconds\): ([\d.]+)", done.stderr)
    )
    return wall, int(peak.group(1)) / 1024 if peak else float("nan"), cpu, done.stdout


_READ_ONLY = (
    "import sys, annotator; t = annotator.read_flows(sys.argv[1], sha256=True); print(len(t.flows))"
)


def bench_memory(packet_counts: list[int], flows: int) -> None:
    head = ("packets", "flows", "annotate MB", "s", "read_flows MB", "s")
    widths = (12, 8, 11, 6, 13, 6)
    print("  ".join(f"{h:>{w}}" for h, w in zip(head, widths, strict=True)))
    for packets in packet_counts:
        path = capture(packets, flows)
        wall, peak, _ = timed([str(ANNOTATE), str(path), "--no-progress", "--format", "json",
                               "-o", "/dev/null"])  # fmt: skip
        r_wall, r_peak, out = timed([sys.executable, "-c", _READ_ONLY, str(path)])
        cells = (f"{packets:,}", f"{int(out):,}", f"{peak:.0f}", f"{wall:.1f}",
                 f"{r_peak:.0f}", f"{r_wall:.1f}")  # fmt: skip
        print("  ".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True)), flush=True)


def split_pcap(path: Path, files: int, folder: Path) -> list[Path]:
    """Cut a classic pcap into ``files`` parts of consecutive records, exactly."""
    folder.mkdir(parents=True, exist_ok=True)
    made = sorted(folder.glob("part*.pcap"))
    stamp = folder / "source.txt"
    if stamp.exists() and stamp.read_text() == f"{path} {path.stat().st_size} {files}":
        return made  # already cut from this capture
    for old in folder.glob("part*"):
        old.unlink()
    data = path.read_bytes()
    order = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    starts, pos = [], 24
    while pos + 16 <= len(data):
        starts.append(pos)
        pos += 16 + struct.unpack_from(order + "I", data, pos + 8)[0]
    step = -(-len(starts) // files)
    bounds = [starts[i] for i in range(0, len(starts), step)] + [pos]
    out = []
    for k in range(len(bounds) - 1):
        part = folder / f"part{k:03d}.pcap"
        part.write_bytes(data[:24] + data[bounds[k] : bounds[k + 1]])
        out.append(part)
    stamp.write_text(f"{path} {path.stat().st_size} {files}")
    return out


def compress(parts: list[Path], how: str) -> list[Path]:
    """The parts compressed as rotation tools leave them (``tcpdump -z``), once."""
    if how == "none":
        return parts
    out = []
    for part in parts:
        target = part.with_name(part.name + (".zst" if how == "zstd" else ".gz"))
        if not target.exists() or target.stat().st_mtime < part.stat().st_mtime:
            if how == "zstd":
                import zstandard

                data = zstandard.ZstdCompressor(level=3, threads=-1).compress(part.read_bytes())
                target.write_bytes(data)
            else:
                subprocess.run(["gzip", "-1", "-k", "-f", str(part)], check=True)
        out.append(target)
    return out


def bench_jobs(
    packets: int,
    flows: int | None,
    files: int,
    jobs: int,
    repeat: int,
    how: str,
    no_hash: bool = False,
    report: str = "json",
    peer: bool = False,
) -> None:
    parts = split_pcap(capture(packets, flows), files, OUT / f"set-{packets}-{files}")
    parts = compress(parts, how)
    command = [str(ANNOTATE), *map(str, parts), "--no-progress"]
    if no_hash:
        command.append("--no-hash")
    base = [*command, "--format", "json"] if report == "json" else command
    cuts = [len(parts) * k // jobs for k in range(jobs + 1)]
    shares = [[*base[:1], *map(str, parts[a:b]), *base[1 + len(parts) :], "--jobs", "1"]
              for a, b in itertools.pairwise(cuts) if b > a]  # fmt: skip
    peers: list[float] = []
    runs: dict[int, list[float]] = {1: [], jobs: []}
    cpus: dict[int, list[float]] = {1: [], jobs: []}
    digests: dict[int, set[str]] = {1: set(), jobs: set()}
    for _ in range(repeat):
        for n in (1, jobs):
            wall, peak, cpu, out = timed_cpu([*base, "--jobs", str(n)])
            runs[n].append(wall)
            cpus[n].append(cpu)
            digests[n].add(_digest(out))
            print(f"jobs {n}: {wall:.2f} s, {cpu:.2f} CPU s, peak {peak:.0f} MB", flush=True)
        if peer:
            together, apart, cpu_together, cpu_apart = _peer(shares)
            peers.append(apart / together)
            at_once = f"{together:.2f} s ({cpu_together:.2f} CPU s)"
            one_by_one = f"{apart:.2f} s ({cpu_apart:.2f} CPU s)"
            print(f"peer: {len(shares)} shares at once {at_once}, one after the other {one_by_one}",
                  flush=True)  # fmt: skip
    one, many = statistics.median(runs[1]), statistics.median(runs[jobs])
    # Each pair ran back to back, so its ratio is steadier than the ratio of
    # medians when the machine's speed drifts between runs.
    pairs = sorted(a / b for a, b in zip(runs[1], runs[jobs], strict=True))
    pair = f"{statistics.median(pairs):.2f}x ({pairs[0]:.2f}-{pairs[-1]:.2f}x)"
    how += (", --no-hash" if no_hash else "") + f", {report} report"
    print(f"{len(parts)} files ({how}), {packets:,} packets: jobs 1 median {one:.2f} s "
          f"({statistics.median(cpus[1]):.2f} CPU s), jobs {jobs} median {many:.2f} s "
          f"({statistics.median(cpus[jobs]):.2f} CPU s), speed-up {one / many:.2f}x; "
          f"pairs median {pair}")  # fmt: skip
    if peers:
        peers.sort()
        print(f"peer: {len(shares)} processes sharing nothing, at once against one by one: "
              f"pairs median {statistics.median(peers):.2f}x ({peers[0]:.2f}-{peers[-1]:.2f}x); "
              f"--jobs {jobs} reached {statistics.median(pairs) / statistics.median(peers):.0%} "
              f"of it")  # fmt: skip
    same = digests[1] == digests[jobs] and len(digests[1]) == 1
    print(f"{report} outputs identical" if same else f"{report.upper()} OUTPUTS DIFFER")
    if report != "json":  # the summary shows a part of the result: compare all of it too
        reports = {_digest(timed_cpu([*command, "--format", "json", "--jobs", str(n)])[3])
                   for n in (1, jobs)}  # fmt: skip
        print("JSON reports identical" if len(reports) == 1 else "JSON REPORTS DIFFER")


def _children_cpu() -> float:
    """CPU seconds (user and system) of this process's finished children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _peer(shares: list[list[str]]) -> tuple[float, float, float, float]:
    """The commands, one per share of the set, run at once, then one by one:
    wall seconds of each way, then CPU seconds of each way (all the commands'),
    which show whether the same work cost more CPU while the cores were shared."""
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    cpu, start = _children_cpu(), time.perf_counter()
    running = [subprocess.Popen(share, **quiet) for share in shares]
    if any([p.wait() for p in running]):  # every one waited for (and its CPU counted)
        raise SystemExit("a command on a share of the set failed")
    together, cpu_together = time.perf_counter() - start, _children_cpu() - cpu
    cpu, start = _children_cpu(), time.perf_counter()
    for share in shares:
        subprocess.run(share, check=True, **quiet)
    return together, time.perf_counter() - start, cpu_together, _children_cpu() - cpu


def _digest(out: bytes) -> str:
    """SHA-256 of a report without the times it names (when the run started, ended)."""
    body = re.sub(rb'"(generated|started)_at": "[^"]*"', b"", out)
    body = re.sub(rb"report made [^\n]*", b"", body)
    return hashlib.sha256(body).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="case", required=True)
    mem = sub.add_parser("memory")
    mem.add_argument("--packets", type=int, nargs="+", default=[5_000_000, 20_000_000])
    mem.add_argument("--flows", type=int, default=50_000)
    job = sub.add_parser("jobs")
    job.add_argument("--packets", type=int, default=4_000_000)
    job.add_argument("--flows", type=int, default=None)
    job.add_argument("--files", type=int, default=8)
    job.add_argument("--jobs", type=int, default=2)
    job.add_argument("--repeat", type=int, default=3)
    job.add_argument("--compress", choices=("none", "zstd", "gzip"), default="none")
    job.add_argument("--no-hash", action="store_true", help="pass --no-hash to annotate")
    job.add_argument(
        "--report",
        choices=("json", "terminal"),
        default="json",
        help="time the JSON report (compared exactly) or the terminal summary",
    )
    job.add_argument(
        "--peer",
        action="store_true",
        help="also time the set cut into --jobs shares, one independent process each",
    )
    args = parser.parse_args()
    if args.case == "memory":
        bench_memory(args.packets, args.flows)
    else:
        bench_jobs(
            args.packets, args.flows, args.files, args.jobs, args.repeat, args.compress,
            args.no_hash, args.report, args.peer,
        )  # fmt: skip


if __name__ == "__main__":
    main()
