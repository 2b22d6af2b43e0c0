"""Test helpers: cut a classic pcap into a capture set, and compare results.

A capture set made here holds exactly the records of the original (no
timestamp rounding): each part is the original global header followed by
consecutive records.  :class:`Split` remembers where each part starts, so a
test can compute independently which part and frame a packet lands in.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pandas as pd

#: Columns that name where a flow was first seen; they differ between one
#: whole file and the same packets split into files.
WHERE_COLUMNS = ("capture", "first_frame")
ACCOUNTING_KEYS = (
    "packets_total",
    "packets_in_flows",
    "packets_other",
    "packets_undecodable",
    "undecodable",
    "flows",
)


class Unsplittable(ValueError):
    """A capture this helper cannot cut simply (the test says why it skips)."""


def capture_records(data: bytes) -> tuple[bytes, list[bytes]]:
    """A capture's prefix (repeated in every part) and its packet records.

    Classic pcap: the global header and the records.  pcapng: the section
    header and the blocks before the first packet, then one record per packet
    block, each carrying the non-packet blocks that follow it (statistics,
    names).  A pcapng with a second section or an interface declared after a
    packet raises :class:`Unsplittable`.
    """
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        return pcapng_records(data)
    return pcap_records(data)


def pcapng_records(data: bytes) -> tuple[bytes, list[bytes]]:
    """The pcapng side of :func:`capture_records`."""
    order = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    prefix, records, pos = b"", [], 0
    while pos + 12 <= len(data):
        kind, length = struct.unpack_from(order + "II", data, pos)
        if length < 12 or pos + length > len(data):
            raise Unsplittable("truncated or malformed block")
        block, start = data[pos : pos + length], pos
        pos += length
        if kind in (2, 3, 6):  # packet, simple packet, enhanced packet
            records.append(block)
        elif (kind == 0x0A0D0D0A and start > 0) or (kind == 1 and records):
            raise Unsplittable("a section or interface starts after the first packet")
        elif records:
            records[-1] += block
        else:
            prefix += block
    if pos != len(data):
        raise Unsplittable("trailing bytes after the last block")
    return prefix, records


def pcap_records(data: bytes) -> tuple[bytes, list[bytes]]:
    """A classic pcap's 24-byte global header and its records (header + data)."""
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        fmt = "<I"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        fmt = ">I"
    else:
        raise ValueError("not a classic pcap")
    records, pos = [], 24
    while pos + 16 <= len(data):
        (included,) = struct.unpack_from(fmt, data, pos + 8)
        end = pos + 16 + included
        if end > len(data):
            break
        records.append(data[pos:end])
        pos = end
    return data[:24], records


@dataclass
class Split:
    """A capture set cut from one pcap: part paths and each part's first record."""

    paths: list[Path]
    starts: list[int]  # 0-based index of each part's first record in the original

    def locate(self, frame: int) -> tuple[str, int]:
        """Where the original's 1-based ``frame`` lands: (part path, frame in it)."""
        index = frame - 1
        part = max(k for k, start in enumerate(self.starts) if start <= index)
        return str(self.paths[part]), index - self.starts[part] + 1


def split_pcap(source: Path, cuts: list[int], folder: Path) -> Split:
    """Cut ``source`` before each record index in ``cuts`` (0-based, ascending).

    Writes ``part000.pcap``, ``part001.pcap``, ... in ``folder``; empty parts
    (a cut at 0, at the end, or repeated) are not written.
    """
    header, records = capture_records(Path(source).read_bytes())
    suffix = Path(source).suffix
    folder.mkdir(parents=True, exist_ok=True)
    bounds = sorted({0, *[c for c in cuts if 0 < c < len(records)], len(records)})
    paths, starts = [], []
    for k, (lo, hi) in enumerate(pairwise(bounds)):
        path = folder / f"part{k:03d}{suffix}"
        path.write_bytes(header + b"".join(records[lo:hi]))
        paths.append(path)
        starts.append(lo)
    return Split(paths, starts)


def split_into(source: Path, count: int, folder: Path) -> Split:
    """Cut ``source`` into ``count`` parts of about equal numbers of records."""
    _, records = capture_records(Path(source).read_bytes())
    step = max(1, -(-len(records) // count))
    return split_pcap(source, list(range(step, len(records), step)), folder)


def split_every(source: Path, size: int, folder: Path) -> Split:
    """Cut ``source`` into parts of ``size`` records (the last may be shorter)."""
    _, records = capture_records(Path(source).read_bytes())
    return split_pcap(source, list(range(size, len(records), size)), folder)


def plain(frame: pd.DataFrame, drop: tuple[str, ...] = ()) -> list[list[object]]:
    """A frame's rows as plain Python values (NA as None) for an exact comparison."""
    kept = frame.drop(columns=[c for c in drop if c in frame.columns])
    columns = [
        [None if pd.isna(v) is True else str(v) for v in kept[c].astype(object).tolist()]
        for c in kept.columns
    ]
    return [list(kept.columns), *map(list, zip(*columns, strict=True))]


def mismatches(whole: pd.DataFrame, split: pd.DataFrame, drop: tuple[str, ...]) -> list[str]:
    """Column-by-column differences between two frames (empty when equal)."""
    if len(whole) != len(split):
        return [f"row count {len(whole)} != {len(split)}"]
    out = []
    for column in whole.columns:
        if column in drop:
            continue
        a, b = plain(whole[[column]])[1:], plain(split[[column]])[1:]
        bad = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if bad:
            out.append(
                f"{column}: {len(bad)} rows differ, first row {bad[0]}: {a[bad[0]]} != {b[bad[0]]}"
            )
    return out


def accounting(result) -> dict[str, object]:
    """The accounting of an annotate result without the per-file partial list."""
    return {key: result.accounting[key] for key in ACCOUNTING_KEYS}


def write_timed_pcap(path: Path, packets: list[tuple[float, bytes]]) -> Path:
    """A little-endian microsecond pcap of (seconds, Ethernet frame) packets."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)]
    for seconds, frame in packets:
        micros = round(seconds * 1_000_000)
        out.append(
            struct.pack("<IIII", micros // 1_000_000, micros % 1_000_000, len(frame), len(frame))
        )
        out.append(frame)
    path.write_bytes(b"".join(out))
    return path


def client_hello(server_name: str) -> bytes:
    """A minimal TLS 1.2 ClientHello record carrying a server_name extension."""
    name = server_name.encode()
    sni_list = struct.pack("!BH", 0, len(name)) + name
    sni = struct.pack("!HHH", 0, len(sni_list) + 2, len(sni_list)) + sni_list
    body = (
        b"\x03\x03"
        + bytes(range(32))  # client random
        + b"\x00"  # no session id
        + struct.pack("!H", 4)
        + b"\x13\x01\xc0\x2f"  # two cipher suites
        + b"\x01\x00"  # null compression only
        + struct.pack("!H", len(sni))
        + sni
    )
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


def in_reading_order(split: Split, folder: Path) -> tuple[Path, Split]:
    """The single file a capture set is equivalent to, and the set in that order.

    A set's files are read in order of their first packet's timestamp (ties
    in the order given; the tests give the files reversed), so a set cut from
    a capture whose timestamps go backwards across a cut is a different
    packet order than the original: its reference is the parts concatenated
    in that order, written to ``folder/reference<suffix>``.
    """
    from annotator.flows.capture_set import first_timestamp

    stamps = [first_timestamp(path) for path in split.paths]
    order = sorted(range(len(split.paths)), key=lambda k: (stamps[k], -k))
    prefix, _ = capture_records(split.paths[0].read_bytes())
    chunks, starts, paths, at = [prefix], [], [], 0
    for k in order:
        _, records = capture_records(split.paths[k].read_bytes())
        chunks.extend(records)
        starts.append(at)
        paths.append(split.paths[k])
        at += len(records)
    reference = folder / f"reference{split.paths[0].suffix}"
    reference.write_bytes(b"".join(chunks))
    return reference, Split(paths, starts)
