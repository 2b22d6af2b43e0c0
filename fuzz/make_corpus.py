"""Write the seed corpora of the fuzz targets into fuzz/corpus/ (git-ignored).

Capture seeds are cut from the project's own samples (samples/*.pcap,
*.pcapng): the file header plus a short run of records, so each seed is small
enough for the fuzzer to mutate quickly yet starts from a valid capture of
each format, byte order and protocol mix the samples hold.  A few seeds are
compressed with each supported codec.  Registry seeds are small hand-written
snippets of each registry form the loaders accept (IANA XML, IANA CSV, the
pasted web-page table, UTF-16 text).  Evidence seeds are the first payload
bytes of each flow of the samples (TLS, HTTP, DNS, SSH, ...).

Usage::

    .venv/bin/python fuzz/make_corpus.py [OUT_DIR]     # default fuzz/corpus
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import struct
import sys
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent / "samples"
RECORDS_PER_SEED = 3
PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1": "<", b"\x4d\x3c\xb2\xa1": "<"}
PCAP_MAGICS.update({m[::-1]: ">" for m in list(PCAP_MAGICS)})
PCAPNG_EPB, PCAPNG_SPB, PCAPNG_PB = 6, 3, 2


def pcap_seeds(data: bytes) -> Iterator[bytes]:
    """The 24-byte file header followed by each run of RECORDS_PER_SEED records."""
    order = PCAP_MAGICS[data[:4]]
    offsets, pos = [], 24
    while pos + 16 <= len(data):
        (cap_len,) = struct.unpack_from(order + "I", data, pos + 8)
        offsets.append(pos)
        pos += 16 + cap_len
    offsets.append(min(pos, len(data)))
    for i in range(0, len(offsets) - 1, RECORDS_PER_SEED):
        end = offsets[min(i + RECORDS_PER_SEED, len(offsets) - 1)]
        yield data[:24] + data[offsets[i] : end]


def pcapng_seeds(data: bytes) -> Iterator[bytes]:
    """Every non-packet block kept (section, interfaces, ...), packets in short runs."""
    order = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    meta, packets, pos = [], [], 0
    while pos + 12 <= len(data):
        kind, length = struct.unpack_from(order + "II", data, pos)
        if length < 12:
            break
        block = data[pos : pos + length]
        (packets if kind in (PCAPNG_EPB, PCAPNG_SPB, PCAPNG_PB) else meta).append(block)
        pos += length
    head = b"".join(meta)
    for i in range(0, len(packets), RECORDS_PER_SEED):
        yield head + b"".join(packets[i : i + RECORDS_PER_SEED])


def compressed(seed: bytes) -> Iterator[bytes]:
    """One seed in each codec the reader detects by content."""
    yield gzip.compress(seed, mtime=0)
    yield bz2.compress(seed)
    yield lzma.compress(seed)
    try:
        import zstandard
    except ImportError:  # optional: the reader then refuses zstd input anyway
        return
    yield zstandard.ZstdCompressor().compress(seed)


def capture_seeds() -> Iterator[bytes]:
    for path in sorted(SAMPLES.iterdir()):
        data = path.read_bytes()
        if data[:4] in PCAP_MAGICS:
            seeds = list(pcap_seeds(data))
        elif data[:4] == b"\x0a\x0d\x0d\x0a":
            seeds = list(pcapng_seeds(data))
        else:
            continue
        yield from seeds
        if seeds:
            yield from compressed(seeds[0])


XML_SEED = b"""<?xml version="1.0" encoding="UTF-8"?>
<registry xmlns="http://www.iana.org/assignments" id="service-names-port-numbers">
  <title>Service Name and Transport Protocol Port Number Registry</title>
  <updated>2026-01-15</updated>
  <note>Seed written for fuzzing; not IANA's text.</note>
  <record date="2001-05" updated="2021-03-01">
    <name>demo</name><protocol>tcp</protocol><number>4000</number>
    <description>Demo service<br/>second line</description>
    <assignee><xref type="person" data="Some_One"/></assignee>
    <contact><xref type="person" data="Some_One"/></contact>
    <xref type="rfc" data="rfc9999"/><note>see <xref type="uri" data="http://a.example/"/></note>
  </record>
  <record><name>demo</name><protocol>udp</protocol><number>4000-4002</number>
    <description>Demo, datagrams</description><unauthorized>yes</unauthorized></record>
  <record><description>Unassigned</description><number>4003-4010</number></record>
  <record><name>old</name><protocol>sctp</protocol><number>22</number>
    <description>Historic demo</description><sc>X</sc></record>
  <people><person id="Some_One"><name>Some One</name><uri>mailto:one@a.example</uri>
    <updated>2020-01-01</updated></person></people>
</registry>
"""
CSV_SEED = (
    "Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,"
    "Registration Date,Modification Date,Reference,Service Code,"
    "Unauthorized Use Reported,Assignment Notes\r\n"
    'demo,4000,tcp,"Demo service, with a comma",[Some_One],[Some_One],2001-05,'
    "2021-03-01,[RFC9999],,,\r\n"
    "demo,4000-4002,udp,Demo datagrams,,,,,,,Yes,\r\n"
    ",4003-4010,,Unassigned,,,,,,,,\r\n"
    'old,22,sctp,"Historic ""quoted"" demo",,,,,,X,,"Note: ""=1+1"""\r\n'
)
TEXT_SEED = (
    "Service Name  Port Number  Transport Protocol  Description\n"
    "demo          4000         tcp                 Demo service\n"
    "demo          4000-4002    udp                 Demo datagrams\n"
    "              4003-4010                        Unassigned\n"
)
PIPE_SEED = (
    "| Service Name | Port Number | Transport Protocol | Description |\n"
    "|---|---|---|---|\n"
    "| demo | 4000 | tcp | Demo service |\n"
    "| old | 22 | sctp | Historic demo |\n"
)


def registry_seeds() -> Iterator[bytes]:
    yield XML_SEED
    yield XML_SEED.replace(b' xmlns="http://www.iana.org/assignments"', b"")
    yield CSV_SEED.encode()
    yield CSV_SEED.encode("utf-16")
    yield CSV_SEED.replace(",", "\t").encode("utf-16")
    yield TEXT_SEED.encode()
    yield PIPE_SEED.encode("utf-8-sig")


def evidence_seeds() -> Iterator[bytes]:
    """The first payload bytes of every flow of the samples, in fuzz_evidence's layout."""
    from annotator.flows import read_flow_table

    transports = {"tcp": 0, "udp": 1, "sctp": 3}
    for path in sorted(SAMPLES.glob("*.pcap*")):
        table = read_flow_table(path)
        rows = table.flows[["transport", "client_port", "server_port"]].itertuples(index=False)
        for (transport, client, server), c2s, s2c in zip(
            rows, table.payload_c2s, table.payload_s2c, strict=True
        ):
            c2s, s2c = bytes(c2s or b"")[:2048], bytes(s2c or b"")[:2048]
            if (c2s or s2c) and transport in transports:
                head = struct.pack(">BHHH", transports[transport], client, server, len(c2s))
                yield head + c2s + s2c


def write(folder: Path, seeds: Iterator[bytes]) -> int:
    """Store each distinct seed under its SHA-1, as libFuzzer names corpus files."""
    folder.mkdir(parents=True, exist_ok=True)
    names = set()
    for seed in seeds:
        name = hashlib.sha1(seed).hexdigest()
        (folder / name).write_bytes(seed)
        names.add(name)
    return len(names)


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else HERE / "corpus"
    n_cap = write(out / "capture", capture_seeds())
    n_reg = write(out / "registry", registry_seeds())
    n_evi = write(out / "evidence", evidence_seeds())
    print(f"{out}: {n_cap} capture, {n_reg} registry and {n_evi} evidence seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
