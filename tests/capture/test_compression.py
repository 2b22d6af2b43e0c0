"""Compressed captures: detected by content, read like plain ones, bombs refused."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import random
import struct
import zlib

import pytest
import zstandard

from annotator.capture.formats import compression, open_capture
from annotator.capture.formats import writers as w
from annotator.capture.formats.writers import Record
from annotator.errors import CaptureError, DecompressionBombError

T0 = 1_650_000_000_000_000_000

COMPRESSORS = {
    "gzip": gzip.compress,
    "bzip2": lambda data: bz2.compress(data, 1),  # 100 kB blocks: truncation keeps some
    "xz": lzma.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


def capture_bytes(count: int = 300, size: int = 90) -> bytes:
    """A pcap of ``count`` records numbered in their first 4 bytes, the rest random."""
    body = size - 4
    noise = random.Random(count).randbytes(count * body)
    recs = [
        Record(T0 + i * 1000, struct.pack(">I", i) + noise[i * body : (i + 1) * body])
        for i in range(count)
    ]
    return w.pcap_bytes(recs)


def streamed(kind: str, packed: bytes) -> bytes:
    """What the format's own incremental decompressor yields from ``packed``
    before it runs out (as ``zcat``/``xzcat``/``zstdcat`` print before failing)."""
    if kind == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(packed)
    dec = {"gzip": lambda: zlib.decompressobj(wbits=31), "bzip2": bz2.BZ2Decompressor,
           "xz": lzma.LZMADecompressor}[kind]()  # fmt: skip
    return dec.decompress(packed)


def whole_records(plain: bytes, size: int = 90) -> int:
    """Whole records in a prefix of :func:`capture_bytes` output."""
    return max(0, (len(plain) - 24) // (16 + size))


def records(path, **kw):
    with open_capture(path, **kw) as reader:
        out = []
        for b in reader.batches():
            out += [bytes(b.data[o : o + c]) for o, c in zip(b.offset, b.cap_len, strict=True)]
    return out, reader


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_each_compression_reads_like_the_plain_file(tmp_path, kind):
    plain = capture_bytes()
    packed = COMPRESSORS[kind](plain)
    # a misleading name: detection is by content, not by extension
    path = tmp_path / "capture.pcap"
    path.write_bytes(packed)
    (tmp_path / "plain.pcap").write_bytes(plain)
    got, reader = records(path)
    want, _ = records(tmp_path / "plain.pcap")
    assert got == want and len(got) == 300
    assert reader.info.compression == kind
    assert reader.info.format == "pcap"
    assert reader.info.size == len(packed)
    assert reader.info.sha256 == hashlib.sha256(packed).hexdigest()
    assert reader.partial is None


def test_pcapng_inside_gzip_and_multi_member_gzip(tmp_path):
    ng = w.shb() + w.idb(1) + b"".join(w.epb(0, i, bytes([i]) * 64) for i in range(10))
    path = tmp_path / "x.bin"
    path.write_bytes(gzip.compress(ng[:200]) + gzip.compress(ng[200:]))
    got, reader = records(path)
    assert got == [bytes([i]) * 64 for i in range(10)]
    assert reader.info.format == "pcapng" and reader.info.compression == "gzip"


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_truncated_compressed_stream_keeps_what_decompressed(tmp_path, kind):
    plain = capture_bytes(4000)
    packed = COMPRESSORS[kind](plain)
    path = tmp_path / "cut.pcap.z"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    got, reader = records(path, chunk_bytes=4096)
    assert reader.partial is not None
    assert reader.partial.reason == f"{kind} stream ends before its end marker (truncated)"
    # Every record the reference decompressor gets out of the cut bytes is kept.
    assert len(got) == whole_records(streamed(kind, path.read_bytes()))
    assert 0 < len(got) < 4000
    # every record delivered is whole and in order
    assert all(g[:4] == struct.pack(">I", i) for i, g in enumerate(got))
    assert reader.partial.offset == 24 + len(got) * 106


def test_corrupt_gzip_data_is_partial_not_a_crash(tmp_path):
    packed = bytearray(gzip.compress(capture_bytes(3000)))
    packed[len(packed) // 2 : len(packed) // 2 + 40] = b"\xff" * 40
    path = tmp_path / "bad.gz"
    path.write_bytes(bytes(packed))
    got, reader = records(path, chunk_bytes=4096)
    # damaged deflate data may still decode (to garbage) until the CRC check:
    # either way the read ends early with a reason, never an exception
    assert reader.partial is not None and len(got) < 3000
    assert all(g[:4] == struct.pack(">I", i) for i, g in enumerate(got[:100]))


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_compressed_non_capture_names_the_compression(tmp_path, kind):
    path = tmp_path / "notes.txt.z"
    path.write_bytes(COMPRESSORS[kind](b"hello, this is text, not packets\n" * 10))
    with pytest.raises(CaptureError) as err:
        open_capture(path)
    assert str(err.value) == (
        f"{path}: {kind}-compressed, but not a pcap or pcapng file (starts with 68 65 6c 6c)"
    )


def test_compressed_empty_and_garbage_after_magic(tmp_path):
    empty = tmp_path / "empty.gz"
    empty.write_bytes(gzip.compress(b""))
    with pytest.raises(CaptureError, match="gzip-compressed, but empty"):
        open_capture(empty)
    garbage = tmp_path / "garbage.xz"
    garbage.write_bytes(b"\xfd7zXZ\x00" + b"\x01" * 100)
    with pytest.raises(CaptureError, match="corrupt xz data"):
        open_capture(garbage)


def test_bomb_guard_total_size(tmp_path):
    path = tmp_path / "big.pcap.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(capture_bytes(5000, 200)))
    with pytest.raises(DecompressionBombError) as err:
        records(path, max_decompressed=100_000)
    message = str(err.value)
    assert message.startswith(f"{path}: decompressed output exceeds 97.7 KiB")
    assert "--no-bomb-guard" in message and "\n" not in message
    got, _ = records(path, max_decompressed=None)  # the guard lifted
    assert len(got) == 5000


def test_bomb_guard_ratio(tmp_path, monkeypatch):
    # A capture of identical zero-filled records compresses far beyond 100:1.
    recs = [Record(T0, b"\0" * 1400) for _ in range(3000)]
    path = tmp_path / "zeros.pcap.bz2"
    path.write_bytes(bz2.compress(w.pcap_bytes(recs)))
    monkeypatch.setattr(compression, "RATIO_FLOOR", 0)  # judge the ratio from the start
    with pytest.raises(DecompressionBombError, match="exceeds 100 times the compressed size"):
        records(path, max_ratio=100)
    got, reader = records(path, max_ratio=None)
    assert len(got) == 3000 and reader.partial is None


def test_default_limits_are_documented():
    doc = compression.__doc__
    assert compression.DEFAULT_MAX_DECOMPRESSED == 64 * 1024**3 and "64 GiB" in doc
    assert compression.DEFAULT_MAX_RATIO == 1000 and "1000" in doc


def test_default_guard_stops_a_real_zstd_bomb(tmp_path):
    # A pcap header, one record claiming 255 MiB, then zeros: ~100 MiB of
    # output from a few kilobytes.  The default limits refuse it past 64 MiB.
    head = w.pcap_bytes([], snaplen=0) + struct.pack("<IIII", 0, 0, 255 << 20, 255 << 20)
    comp = zstandard.ZstdCompressor().compressobj()
    packed = comp.compress(head) + b"".join(comp.compress(bytes(1 << 20)) for _ in range(100))
    packed += comp.flush()
    assert len(packed) < 100_000
    path = tmp_path / "bomb.pcap"
    path.write_bytes(packed)
    with pytest.raises(DecompressionBombError, match="exceeds 1000 times the compressed size"):
        records(path)


def test_xz_asking_for_a_huge_dictionary_is_refused(tmp_path):
    filters = [{"id": lzma.FILTER_LZMA2, "dict_size": 1536 << 20}]  # 1.5 GiB
    path = tmp_path / "greedy.xz"
    path.write_bytes(lzma.compress(capture_bytes(10), format=lzma.FORMAT_XZ, filters=filters))
    with pytest.raises(CaptureError, match=r"corrupt xz data \(Memory usage limit"):
        open_capture(path)


@pytest.mark.parametrize("frames", [1, 2])
def test_zstd_cut_on_a_block_boundary_is_a_partial_read_not_a_whole_one(tmp_path, frames):
    # The zstd reader ends quietly when its input stops between blocks: the
    # capture looked whole (exit 0) with packets missing.  A compressor
    # flushed mid-frame gives exactly such a cut.
    plain = capture_bytes(4000)
    half = len(plain) // 2
    maker = zstandard.ZstdCompressor()
    head = maker.compress(plain[:half]) if frames == 2 else b""
    unfinished = maker.compressobj()
    body = unfinished.compress(plain[half:] if frames == 2 else plain)
    body += unfinished.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
    path = tmp_path / "cut.pcap.zst"
    path.write_bytes(head + body)
    got, reader = records(path, chunk_bytes=4096)
    assert reader.partial is not None
    assert reader.partial.reason == "zstd stream ends before its end marker (truncated)"
    assert len(got) == 4000  # every byte was there: only the frame's end is missing
    # The same bytes with the frame finished read whole.
    path.write_bytes(head + body + unfinished.flush())
    got, reader = records(path)
    assert reader.partial is None and len(got) == 4000


def test_zstd_skippable_frames_and_checksums_read_whole(tmp_path):
    plain = capture_bytes(500)
    framed = zstandard.ZstdCompressor(write_checksum=True, write_content_size=False)
    skippable = struct.pack("<II", 0x184D2A5A, 5) + b"notes"
    path = tmp_path / "x.zst"
    path.write_bytes(framed.compress(plain[:1000]) + skippable + framed.compress(plain[1000:]))
    got, reader = records(path)
    assert reader.partial is None and len(got) == 500


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_any_cut_keeps_what_the_decompressor_gives(tmp_path, kind):
    # Cut anywhere: never an exception, and every whole record the format's
    # own decompressor recovers is delivered (at most a piece is lost to
    # damage, nothing to a clean cut).
    plain = capture_bytes(1500)
    packed = COMPRESSORS[kind](plain)
    rng = random.Random(kind)
    for cut in sorted(rng.sample(range(30, len(packed)), 12)):
        path = tmp_path / f"cut{cut}.z"
        path.write_bytes(packed[:cut])
        try:
            got, reader = records(path, chunk_bytes=4096)
        except CaptureError as err:  # nothing readable at all: said, not crashed
            assert whole_records(streamed(kind, packed[:cut])) == 0, err
            continue
        assert reader.partial is not None
        assert len(got) == whole_records(streamed(kind, packed[:cut]))
