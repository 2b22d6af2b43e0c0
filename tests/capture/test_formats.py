"""The pcap and pcapng readers on captures crafted byte by byte (and with scapy).

Every test runs with each record-walk engine: the C walk, the numba kernel and
their plain-Python twin must deliver the same records.
"""

from __future__ import annotations

import hashlib
import io
import struct
import subprocess
import sys

import numpy as np
import pytest

from annotator.capture.formats import engines, open_capture
from annotator.capture.formats import writers as w
from annotator.capture.formats.engines import available_engines
from annotator.capture.formats.writers import Record
from annotator.errors import CaptureError, UsageError

HAVE = available_engines()
HAVE_NUMBA = "numba" in HAVE
HAVE_C = "c" in HAVE
NOT_BUILT = "the C walk was not built (no C compiler at install)"

ENGINES = [
    "python",
    pytest.param("c", marks=pytest.mark.skipif(not HAVE_C, reason=NOT_BUILT)),
    pytest.param("numba", marks=pytest.mark.skipif(not HAVE_NUMBA, reason="no numba")),
]
T0 = 1_700_000_000_123_456_789  # a timestamp with nanosecond digits


def frames(count: int, size: int = 60, start: int = 0) -> list[bytes]:
    """Distinct frames: each starts with its index so records can be told apart."""
    return [struct.pack(">I", start + i) + bytes([i % 251]) * (size - 4) for i in range(count)]


def read(source, engine: str, chunk_records: int = 65536, **kw):
    """(rows, reader): rows are (frame, ts_ns, wire_len, link_type, bytes) per record."""
    rows = []
    with open_capture(source, engine=engine, **kw) as reader:
        for b in reader.batches(chunk_records):
            for i in range(len(b)):
                o, c = int(b.offset[i]), int(b.cap_len[i])
                rows.append(
                    (int(b.frame[i]), int(b.ts_ns[i]), int(b.wire_len[i]), int(b.link_type[i]),
                     bytes(b.data[o : o + c]))
                )  # fmt: skip
    return rows, reader


def write(tmp_path, data: bytes, name: str = "c.pcap"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    return request.param


# -- pcap -------------------------------------------------------------------


@pytest.mark.parametrize("big", [False, True])
@pytest.mark.parametrize("nano", [False, True])
def test_pcap_variants_give_records_timestamps_and_lengths(tmp_path, engine, big, nano):
    data = frames(5, 70)
    recs = [Record(T0 + i * 1_000_001, d, wire_len=1000 + i) for i, d in enumerate(data)]
    path = write(tmp_path, w.pcap_bytes(recs, nano=nano, big=big, link_type=101))
    rows, reader = read(path, engine)
    unit = 1 if nano else 1000
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5]
    assert [r[1] for r in rows] == [(T0 + i * 1_000_001) // unit * unit for i in range(5)]
    assert [r[2] for r in rows] == [1000, 1001, 1002, 1003, 1004]
    assert {r[3] for r in rows} == {101}
    assert [r[4] for r in rows] == data
    assert reader.partial is None
    assert reader.info.format == "pcap" and reader.info.compression is None
    assert reader.info.link_types == ["RAW"]
    assert reader.info.packets == 5


def test_fcs_bits_above_the_link_type_are_masked_off(tmp_path, engine):
    # 0x1400 << 16: the "F" bit and an FCS length of 4 bytes in bits 26-31.
    path = write(tmp_path, w.pcap_bytes([Record(T0, b"x" * 60)], linktype_high_bits=0x1400))
    rows, reader = read(path, engine)
    assert rows[0][3] == 1
    assert reader.info.link_types == ["ETHERNET"]


def test_modified_pcap_skips_the_extra_header_fields(tmp_path, engine):
    data = frames(3)
    path = write(tmp_path, w.pcap_bytes([Record(T0, d) for d in data], modified=True))
    rows, reader = read(path, engine)
    assert [r[4] for r in rows] == data and reader.partial is None


def test_scapy_written_pcap_matches_scapy_packets(tmp_path, engine):
    scapy = pytest.importorskip("scapy.all")
    pkts = [
        scapy.Ether() / scapy.IP(dst="192.0.2.1") / scapy.TCP(dport=443, flags="S"),
        scapy.Ether() / scapy.IPv6(dst="2001:db8::1") / scapy.UDP(dport=53) / (b"q" * 30),
        scapy.Ether() / scapy.ARP(pdst="192.0.2.9"),
    ]
    for i, p in enumerate(pkts):
        p.time = 1_600_000_000 + i + 0.25
    path = tmp_path / "scapy.pcap"
    scapy.wrpcap(str(path), pkts)
    rows, reader = read(path, engine)
    assert [r[4] for r in rows] == [bytes(p) for p in pkts]
    assert [r[1] for r in rows] == [(1_600_000_000 + i) * 10**9 + 250_000_000 for i in range(3)]
    assert reader.info.first_seen.value == rows[0][1]
    assert reader.info.last_seen.value == rows[-1][1]


def test_scapy_pcapng_writer_is_read(tmp_path, engine):
    scapy = pytest.importorskip("scapy.all")
    pkts = [scapy.Ether() / scapy.IP() / scapy.UDP(sport=i, dport=53) for i in range(1, 6)]
    path = tmp_path / "scapy.pcapng"
    scapy.wrpcapng(str(path), pkts)
    rows, reader = read(path, engine)
    assert [r[4] for r in rows] == [bytes(p) for p in pkts]
    assert reader.info.format == "pcapng" and reader.partial is None


def test_truncated_record_keeps_records_before_it(tmp_path, engine):
    whole = w.pcap_bytes([Record(T0, d) for d in frames(4, 100)])
    path = write(tmp_path, whole[:-30])
    rows, reader = read(path, engine)
    assert len(rows) == 3
    assert reader.partial is not None
    assert reader.partial.offset == 24 + 3 * 116
    assert reader.partial.reason == "truncated record (86 of 116 bytes)"
    assert reader.info.packets == 3


def test_truncated_record_header(tmp_path, engine):
    whole = w.pcap_bytes([Record(T0, d) for d in frames(2, 100)])
    rows, reader = read(write(tmp_path, whole + b"\x01\x02\x03\x04\x05"), engine)
    assert len(rows) == 2
    assert reader.partial.reason == "truncated record header (5 of 16 bytes)"
    assert reader.partial.offset == len(whole)


@pytest.mark.parametrize(
    ("caplen", "reason"),
    [
        (0xFFFFFFFF, "record length 4294967295 exceeds the 256 MiB limit"),
        (10_000_000, "record length 10000000 exceeds snaplen 65535 (and the 256 KiB slack)"),
    ],
)
def test_lying_record_length_stops_with_partial(tmp_path, engine, caplen, reason):
    good = w.pcap_bytes([Record(T0, d) for d in frames(2)])
    bad = struct.pack("<IIII", 1, 0, caplen, caplen) + b"\0" * 64
    rows, reader = read(write(tmp_path, good + bad), engine)
    assert len(rows) == 2
    assert reader.partial.reason == reason
    assert reader.partial.offset == len(good)


def test_record_a_little_over_snaplen_is_read_like_tshark(tmp_path, engine):
    path = write(tmp_path, w.pcap_bytes([Record(T0, b"y" * 200)], snaplen=64))
    rows, reader = read(path, engine)
    assert len(rows) == 1 and reader.partial is None


def test_header_only_pcap_has_no_records(tmp_path, engine):
    rows, reader = read(write(tmp_path, w.pcap_bytes([])), engine)
    assert rows == [] and reader.partial is None
    assert reader.info.packets == 0 and reader.info.first_seen is None


# -- chunking ---------------------------------------------------------------


def test_records_straddling_buffers_and_batches_are_all_delivered(tmp_path, engine):
    data = [d * 3 for d in frames(400, 37)] + [b"\xab" * 20_000]  # one larger than a buffer
    recs = [Record(T0 + i, d) for i, d in enumerate(data)]
    path = write(tmp_path, w.pcap_bytes(recs, nano=True))
    whole, _ = read(path, engine)
    small, reader = read(path, engine, chunk_records=7, chunk_bytes=4096)
    assert small == whole
    assert [r[4] for r in small] == data
    assert [r[0] for r in small] == list(range(1, 402))
    assert reader.partial is None


def test_batch_contract_dtypes(tmp_path, engine):
    path = write(tmp_path, w.pcap_bytes([Record(T0, d) for d in frames(3)]))
    with open_capture(path, engine=engine) as reader:
        (batch,) = list(reader.batches())
    assert batch.data.dtype == np.uint8
    assert batch.offset.dtype == np.int64 and batch.frame.dtype == np.int64
    assert batch.cap_len.dtype == np.uint32 and batch.wire_len.dtype == np.uint32
    assert batch.ts_ns.dtype == np.int64 and batch.link_type.dtype == np.uint16
    assert len(batch) == 3


def test_batches_can_be_read_once_and_options_are_checked(tmp_path):
    path = write(tmp_path, w.pcap_bytes([Record(T0, b"z" * 60)]))
    with open_capture(path) as reader:
        list(reader.batches())
        with pytest.raises(UsageError):
            list(reader.batches())
    with pytest.raises(UsageError):
        open_capture(path, engine="fortran")


# -- pcapng -----------------------------------------------------------------


def test_pcapng_sections_byte_orders_interfaces_and_resolutions(tmp_path, engine):
    sec = 1_700_000_000
    data = frames(9, 64)
    blob = b"".join(
        [
            # section 1, little-endian: Ethernet in microseconds, raw IP in nanoseconds
            w.shb(),
            w.idb(1),
            w.idb(101, tsresol=9),
            w.epb(0, sec * 10**6 + 5, data[0]),
            w.epb(1, sec * 10**9 + 7, data[1]),
            w.block(0x00000BAD, b"custom block, skipped"),
            w.block(0x00000004, b"\0" * 8),  # name resolution, skipped
            w.opb(1, sec * 10**9 + 9, data[2]),
            # section 2, big-endian: interface numbering restarts
            w.shb(big=True),
            w.idb(113, tsresol=0x80 | 20, big=True),  # 2^-20 s
            w.idb(1, tsresol=3, tsoffset=100, big=True),  # ms, +100 s
            w.epb(0, (sec << 20) | (1 << 19), data[3], big=True),  # +0.5 s
            w.epb(1, 1234, data[4], big=True),
            w.block(0x00000005, b"\0" * 20, big=True),  # interface statistics, skipped
            # section 3, little-endian again, simple packet blocks
            w.shb(),
            w.idb(228, snaplen=40),
            w.spb(data[5]),  # no timestamp: the previous packet's, across sections too
            w.epb(0, sec * 10**6, data[6][:40], wire_len=64),
            w.spb(data[7], wire_len=64),  # the previous packet's timestamp
            w.spb(data[8]),
        ]
    )
    rows, reader = read(write(tmp_path, blob, "m.pcapng"), engine)
    assert reader.partial is None
    assert [r[0] for r in rows] == list(range(1, 10))
    assert [r[1] for r in rows] == [
        sec * 10**9 + 5000,
        sec * 10**9 + 7,
        sec * 10**9 + 9,
        sec * 10**9 + 500_000_000,
        1_234_000_000 + 100 * 10**9,
        1_234_000_000 + 100 * 10**9,
        sec * 10**9,
        sec * 10**9,
        sec * 10**9,
    ]
    assert [r[3] for r in rows] == [1, 101, 101, 113, 1, 228, 228, 228, 228]
    assert [r[4] for r in rows[:5]] == data[:5]
    # SPB: captured length is what the block holds, capped by interface 0's snaplen
    assert [len(r[4]) for r in rows[5:]] == [40, 40, 40, 40]
    assert [r[2] for r in rows[5:]] == [64, 64, 64, 64]
    assert reader.info.link_types == ["ETHERNET", "RAW", "LINUX_SLL", "IPV4"]
    assert reader.info.format == "pcapng"


def test_pcapng_power_of_two_and_coarse_resolutions(tmp_path, engine):
    blob = (
        w.shb()
        + w.idb(1, tsresol=0x80 | 40)  # 2^-40 s: fractions finer than a nanosecond
        + w.idb(1, tsresol=12)  # picoseconds
        + w.idb(1, tsresol=0)  # whole seconds
        + w.epb(0, (5 << 40) | (1 << 39), b"a" * 20)
        + w.epb(1, 7 * 10**12 + 3_000_000, b"b" * 20)
        + w.epb(2, 9, b"c" * 20)
    )
    rows, _ = read(write(tmp_path, blob, "r.pcapng"), engine)
    assert [r[1] for r in rows] == [5_500_000_000, 7_000_003_000, 9_000_000_000]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (w.block(6, b"\0" * 24, length=8), "block length lies (8 is below the 12-byte minimum)"),
        (w.block(6, b"\0" * 24, length=30), "block length lies (30 is not a multiple of 4)"),
        (w.block(6, b"\0" * 24, trailer=99), "block length lies (trailing copy says 99)"),
        (w.block(6, b"\0" * 24, length=4000), "block length lies (4000 runs past the end"),
        (w.block(6, b"\0" * 24, length=0xFFFFFFFC), "block length lies (4294967292 exceeds"),
        (w.epb(0, 1, b"x" * 8, caplen=100), "packet block too short for its captured length 100"),
        (w.epb(3, 1, b"x" * 8), "packet names interface 3, which its section does not describe"),
        (w.block(0x0A0D0D0A, b"\0" * 16), "section header has no valid byte-order magic"),
        (w.shb(version=(2, 0)), "unsupported pcapng version 2.0"),
        (w.block(1, b""), "interface description block too short (12 bytes)"),
    ],
)
def test_pcapng_lying_blocks_end_the_read_with_partial(tmp_path, engine, bad, reason):
    good = w.shb() + w.idb(1) + w.epb(0, 1, b"g" * 60) + w.epb(0, 2, b"h" * 60)
    rows, reader = read(write(tmp_path, good + bad + w.epb(0, 3, b"i" * 60), "l.pcapng"), engine)
    assert [r[4] for r in rows] == [b"g" * 60, b"h" * 60]
    assert reader.partial is not None
    assert reader.partial.reason.startswith(reason)
    assert reader.partial.offset == len(good)


def test_pcapng_truncated_block_header_at_the_end(tmp_path, engine):
    good = w.shb() + w.idb(1) + w.epb(0, 1, b"g" * 60)
    rows, reader = read(write(tmp_path, good + b"\x06\0\0\0\x20", "t.pcapng"), engine)
    assert len(rows) == 1
    assert reader.partial.reason == "truncated block header (5 of 8 bytes)"
    assert reader.partial.offset == len(good)


def test_spb_first_in_file_gets_timestamp_zero(tmp_path, engine):
    blob = w.shb() + w.idb(1) + w.spb(b"s" * 30) + w.epb(0, 7, b"e" * 30)
    rows, _ = read(write(tmp_path, blob, "z.pcapng"), engine)
    assert [r[1] for r in rows] == [0, 7000]


def test_spb_without_interface_is_partial(tmp_path, engine):
    rows, reader = read(write(tmp_path, w.shb() + w.spb(b"x" * 20), "s.pcapng"), engine)
    assert rows == [] and "interface 0" in reader.partial.reason


# -- not a capture, missing, stdin, file objects, hash ----------------------


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty file"),
        (b"<!DOCTYPE html><html>", "not a pcap or pcapng file (starts with 3c 21 44 4f)"),
        (bytes(range(200, 256)) * 3, "not a pcap or pcapng file (starts with c8 c9 ca cb)"),
        (w.pcap_bytes([])[:20], "truncated pcap file header (20 of 24 bytes)"),
        (w.shb()[:10], "unreadable pcapng section header"),
    ],
)
def test_not_a_capture_is_a_one_line_capture_error(tmp_path, content, problem):
    path = write(tmp_path, content, "bad.pcap")
    with pytest.raises(CaptureError) as err:
        open_capture(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and problem in message
    assert "\n" not in message


def test_missing_file_and_directory_are_capture_errors(tmp_path):
    with pytest.raises(CaptureError, match="no such file"):
        open_capture(tmp_path / "absent.pcap")
    with pytest.raises(CaptureError, match="is a directory"):
        open_capture(tmp_path)


def test_sha256_and_size_of_the_stored_file(tmp_path, engine):
    data = w.pcap_bytes([Record(T0, d) for d in frames(50)])
    path = write(tmp_path, data)
    _, reader = read(path, engine)
    assert reader.info.sha256 == hashlib.sha256(data).hexdigest()
    assert reader.info.size == len(data)


def test_sha256_covers_the_whole_file_even_after_a_partial_read(tmp_path):
    data = w.pcap_bytes([Record(T0, d) for d in frames(5)]) + struct.pack("<IIII", 0, 0, 2**31, 9)
    data += b"\0" * 3000
    _, reader = read(write(tmp_path, data), "python", chunk_bytes=4096)
    assert reader.partial is not None
    assert reader.info.sha256 == hashlib.sha256(data).hexdigest()


def test_sha256_false_reads_the_same_records_and_gives_no_digest(tmp_path, engine):
    data = w.pcap_bytes([Record(T0, d) for d in frames(50)])
    path = write(tmp_path, data)
    hashed, with_digest = read(path, engine)
    rows, reader = read(path, engine, sha256=False)
    assert rows == hashed and len(rows) == 50
    assert with_digest.info.sha256 == hashlib.sha256(data).hexdigest()
    assert reader.info.sha256 is None
    assert reader.info.size == len(data) and reader.partial is None


def test_sha256_false_on_a_partial_read_gives_no_digest_and_the_same_stop(tmp_path):
    data = w.pcap_bytes([Record(T0, d) for d in frames(5)]) + struct.pack("<IIII", 0, 0, 2**31, 9)
    data += b"\0" * 3000
    path = write(tmp_path, data)
    hashed, full = read(path, "python", chunk_bytes=4096)
    rows, reader = read(path, "python", chunk_bytes=4096, sha256=False)
    assert rows == hashed and len(rows) == 5
    assert reader.partial == full.partial and reader.partial is not None
    assert reader.info.sha256 is None


def test_standard_input_is_read_as_a_stream(monkeypatch, engine):
    data = w.pcap_bytes([Record(T0, d) for d in frames(20)])

    class FakeStdin:
        buffer = io.BytesIO(data)

    monkeypatch.setattr("sys.stdin", FakeStdin)
    rows, reader = read("-", engine)
    assert len(rows) == 20
    assert reader.info.name == "-"
    assert reader.info.sha256 == hashlib.sha256(data).hexdigest()
    assert reader.info.size == len(data)


def test_binary_file_object_source(engine):
    data = w.pcap_bytes([Record(T0, d) for d in frames(4)])
    rows, reader = read(io.BytesIO(data), engine)
    assert [r[0] for r in rows] == [1, 2, 3, 4] and reader.partial is None


@pytest.mark.skipif(not HAVE_NUMBA, reason="no numba")
def test_auto_engine_without_the_c_walk_switches_to_numba_mid_read_without_a_seam(
    tmp_path, monkeypatch
):
    recs = [Record(T0 + i, d) for i, d in enumerate(frames(300, 50))]
    path = write(tmp_path, w.pcap_bytes(recs))
    want, _ = read(path, "python", chunk_records=7)
    monkeypatch.setattr(engines, "load_c", lambda: None)  # as on a machine without gcc
    monkeypatch.setattr(engines, "NUMBA_MIN_RECORDS", 40)
    with open_capture(path, engine="auto") as r:
        got = [int(f) for b in r.batches(7) for f in b.frame]
        assert r._walks.module is not None and r._walks.module.__name__.endswith(".numbawalk")
    assert got == [row[0] for row in want] == list(range(1, 301))


@pytest.mark.skipif(not HAVE_C, reason=NOT_BUILT)
def test_auto_engine_walks_in_c_from_the_first_record_of_a_small_file(tmp_path):
    path = write(tmp_path, w.pcap_bytes([Record(T0, d) for d in frames(3)]))
    with open_capture(path, engine="auto") as r:
        assert r._walks.module is not None and r._walks.module.__name__.endswith("._cwalk")
        assert [int(f) for b in r.batches() for f in b.frame] == [1, 2, 3]


def test_forcing_an_engine_that_is_not_there_is_a_usage_error(tmp_path, monkeypatch):
    path = write(tmp_path, w.pcap_bytes([Record(T0, d) for d in frames(1)]))
    monkeypatch.setattr(engines, "load_c", lambda: None)
    with pytest.raises(UsageError, match="engine 'c' asked for, but the C record walk was not"):
        open_capture(path, engine="c")
    monkeypatch.setattr(engines, "load_numba", lambda: None)
    with open_capture(path, engine="numba") as r, pytest.raises(UsageError, match="numba is not"):
        list(r.batches())
    # and "auto" falls back to the Python walk, reading the file all the same
    rows, reader = read(path, "auto")
    assert len(rows) == 1 and reader.partial is None


def test_project_samples_read_alike_with_every_engine(samples):
    paths = sorted(p for p in samples.glob("*.pcap*") if p.is_file())
    if not paths:
        pytest.skip("no samples")
    compiled = [e for e in HAVE if e != "python"]
    if not compiled:
        pytest.skip("neither the C walk nor numba is available")
    for path in paths:
        a, ra = read(path, "python")
        assert ra.info.packets == len(a) > 0, path.name
        for engine in compiled:
            b, rb = read(path, engine)
            assert a == b and ra.partial == rb.partial, (path.name, engine)


def test_pcapng_second_section_header_cut_short(tmp_path, engine):
    good = w.shb() + w.idb(1) + w.epb(0, 1, b"g" * 60)
    rows, reader = read(write(tmp_path, good + w.shb()[:10], "h.pcapng"), engine)
    assert len(rows) == 1
    assert reader.partial.reason == "truncated block header (10 of 12 bytes)"


def test_a_file_shorter_than_a_magic_number_shows_only_its_bytes(tmp_path):
    with pytest.raises(CaptureError, match=r"not a pcap or pcapng file \(starts with 0a 0d\)$"):
        open_capture(write(tmp_path, b"\x0a\x0d"))


def test_dash_reads_a_real_pipe(tmp_path):
    data = w.pcap_bytes([Record(T0 + i, d) for i, d in enumerate(frames(3000, 200))])
    code = (
        "from annotator.capture.formats import open_capture\n"
        "with open_capture('-') as r:\n"
        "    n = sum(len(b) for b in r.batches())\n"
        "print(n, r.info.sha256, r.partial)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True,
                          timeout=120, check=True)  # fmt: skip
    assert proc.stdout.decode().split() == ["3000", hashlib.sha256(data).hexdigest(), "None"]


def test_pcapng_interface_flood_is_cut_off(tmp_path, monkeypatch):
    from annotator.capture.formats import pcapng

    monkeypatch.setattr(pcapng, "MAX_INTERFACES", 3)
    blob = w.shb() + w.idb(1) + w.epb(0, 1, b"a" * 20) + w.idb(1) * 3 + w.epb(2, 2, b"b" * 20)
    rows, reader = read(write(tmp_path, blob, "f.pcapng"), "python")
    assert [r[4] for r in rows] == [b"a" * 20]
    assert reader.partial.reason == "more than 3 interfaces in one section"
