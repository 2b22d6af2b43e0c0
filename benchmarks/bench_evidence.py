"""Time the evidence stage on 100,000 flows (run by hand, not in CI).

The flows are real: every flow of the project's sample captures (and, when
present, of ../shared/captures/labeled) is read with the flow stage, then the
table is repeated until it holds 100,000 rows, so the mix of protocols, empty
payloads and unknown traffic is that of real captures.  A second run uses
random payloads, the worst case (every fingerprint is tried, both ways round).
Both run with the memo of repeated payloads off, so every row is
fingerprinted; a third runs the repeated real mix with the memo on, as
``annotate`` does (a flood or scan repeats its first bytes the same way).

    .venv/bin/python benchmarks/bench_evidence.py [N]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from annotator.evidence import engine, fingerprint_flows
from annotator.flows import read_flow_table

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "samples", ROOT.parent / "shared" / "captures" / "labeled" / "pcap"]


def _registry():
    xml = ROOT.parent / "shared" / "iana" / "service-names-port-numbers.xml"
    if xml.is_file():
        from annotator.registry import load_registry

        return load_registry(xml)
    return None


def real_flows() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """All flows of the available captures, with their first payload bytes."""
    registry = _registry()
    frames, c2s, s2c = [], [], []
    for folder in SOURCES:
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix not in (".pcap", ".pcapng"):
                continue
            try:
                table = read_flow_table(path, registry=registry)
            except Exception as err:  # a bench run skips what the reader refuses
                print(f"skip {path.name}: {err}", file=sys.stderr)
                continue
            frames.append(table.flows[["transport", "client_port", "server_port", "server_ip"]])
            c2s.append(table.payload_c2s)
            s2c.append(table.payload_s2c)
    return pd.concat(frames, ignore_index=True), np.concatenate(c2s), np.concatenate(s2c)


def repeat_to(n: int, flows: pd.DataFrame, c2s: np.ndarray, s2c: np.ndarray):
    """The table repeated (and cut) to exactly ``n`` rows."""
    index = np.resize(np.arange(len(flows)), n)
    return flows.iloc[index].reset_index(drop=True), c2s[index], s2c[index]


def random_flows(n: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """``n`` flows of random payload on random ports: nothing matches early."""
    rng = np.random.default_rng(7)
    flows = pd.DataFrame(
        {
            "transport": rng.choice(["tcp", "udp"], n),
            "client_port": rng.integers(1024, 65536, n),
            "server_port": rng.integers(1, 65536, n),
            "server_ip": "192.0.2.1",
        }
    )
    c2s = np.empty(n, dtype=object)
    s2c = np.empty(n, dtype=object)
    for i in range(n):
        c2s[i] = os.urandom(int(rng.choice([60, 300, 1200, 2048])))
        s2c[i] = os.urandom(int(rng.choice([0, 256])))
    return flows, c2s, s2c


def timed(label: str, flows, c2s, s2c, memo_bytes: int = 0) -> None:
    engine._MEMO = engine._Memo(memo_bytes)  # a fresh memo; 0 bytes: every row is checked
    start, cpu = time.perf_counter(), time.process_time()
    out = fingerprint_flows(flows, c2s, s2c)
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    named = int(out["observed_protocol"].notna().sum())
    per_flow = took / len(flows) * 1e6
    print(f"{label}: {len(flows):,} flows in {took:.2f} s wall, {cpu:.2f} s CPU")
    print(f"    ({per_flow:.1f} us/flow wall), {named:,} named")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    flows, c2s, s2c = real_flows()
    print(f"{len(flows):,} distinct real flows read")
    timed("real mix", *repeat_to(n, flows, c2s, s2c))
    timed("random payloads (worst case)", *random_flows(n))
    timed("real mix, memo on", *repeat_to(n, flows, c2s, s2c), memo_bytes=engine.MEMO_BYTES)


if __name__ == "__main__":
    main()
