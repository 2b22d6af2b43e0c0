"""Property tests of the capture readers: hostile bytes never crash or hang them.

Invariants checked on random and mutilated input:

* only :class:`CaptureError` escapes (a truncated or lying capture is a partial
  result, not an exception);
* frames are numbered 1..N and every record lies inside the data read;
* the work is bounded: a record costs at least its header, so N is at most
  the stream size over the smallest header;
* the C walk and the numba kernel give the same records and partial as the
  Python walk;
* a valid capture cut at any offset gives exactly the records that fit.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotator.capture.formats import open_capture
from annotator.capture.formats import writers as w
from annotator.capture.formats.engines import available_engines
from annotator.capture.formats.writers import Record
from annotator.errors import CaptureError

COMPILED = [e for e in available_engines() if e != "python"]
if not COMPILED:
    pytest.skip("neither the C walk nor numba is available", allow_module_level=True)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PCAP_HEAD = w.pcap_bytes([])
PCAPNG_HEAD = w.shb() + w.idb(1)


def outcome(data: bytes, engine: str, **kw) -> tuple:
    """Everything the reader says about ``data``: records, partial, or the error."""
    try:
        with open_capture(io.BytesIO(data), engine=engine, chunk_bytes=4096, **kw) as reader:
            cols = [[] for _ in range(6)]
            for b in reader.batches(chunk_records=5):
                assert len(b.data) >= 0
                ends = b.offset.astype(np.int64) + b.cap_len
                assert (b.offset >= 0).all() and (ends <= len(b.data)).all()
                for col, arr in zip(cols, (b.frame, b.cap_len, b.wire_len, b.ts_ns, b.link_type),
                                    strict=False):  # fmt: skip
                    col.extend(arr.tolist())
                cols[5].extend(bytes(b.data[o : o + c]) for o, c in zip(b.offset, b.cap_len,
                                                                       strict=True))  # fmt: skip
            partial = reader.partial
            info = reader.info
    except CaptureError as err:
        return ("error", str(err))
    frames = cols[0]
    assert frames == list(range(1, len(frames) + 1))
    assert info.packets == len(frames)
    assert len(frames) <= len(data) // 12  # no record without its header
    if partial is not None:
        assert 0 <= partial.offset <= len(data)
    return ("ok", cols, partial.reason if partial else None, partial.offset if partial else None)


def agree(data: bytes) -> tuple:
    """Run every engine, check they agree with the Python walk, return its outcome."""
    a = outcome(data, "python")
    for engine in COMPILED:
        assert outcome(data, engine) == a, engine
    return a


@SETTINGS
@given(st.binary(max_size=600))
def test_random_bytes(data):
    agree(data)


@SETTINGS
@given(head=st.sampled_from([PCAP_HEAD, PCAPNG_HEAD]), tail=st.binary(max_size=800))
def test_random_bytes_after_a_valid_header(head, tail):
    agree(head + tail)


@SETTINGS
@given(
    blocks=st.lists(
        st.one_of(
            st.builds(lambda d, i, t: w.epb(i, t, d), st.binary(max_size=40),
                      st.integers(0, 2), st.integers(0, 2**64 - 1)),
            st.builds(w.spb, st.binary(max_size=40)),
            st.builds(lambda d, i, t: w.opb(i, t, d), st.binary(max_size=40),
                      st.integers(0, 2), st.integers(0, 2**64 - 1)),
            st.builds(lambda lt, r, o: w.idb(lt, tsresol=r, tsoffset=o), st.integers(0, 65535),
                      st.integers(0, 255), st.integers(-(2**63), 2**63 - 1)),
            st.builds(lambda big: w.shb(big=big), st.booleans()),
            st.builds(w.block, st.integers(0, 2**32 - 1), st.binary(max_size=30)),
        ),
        max_size=12,
    ),
    cut=st.integers(0, 4000),
    flip=st.tuples(st.integers(0, 4000), st.integers(0, 255)),
)  # fmt: skip
def test_pcapng_block_soup_with_a_cut_and_a_flipped_byte(blocks, cut, flip):
    data = bytearray(PCAPNG_HEAD + b"".join(blocks))
    at, value = flip
    if at < len(data):
        data[at] = value
    agree(bytes(data[: max(cut, 1)]))


@SETTINGS
@given(
    snaplen=st.sampled_from([0, 1, 64, 65535, 2**31, 2**32 - 1]),
    link=st.integers(0, 2**32 - 1),
    nano=st.booleans(),
    big=st.booleans(),
    recs=st.lists(
        st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
                  st.sampled_from([0, 1, 60, 2**18, 2**28, 2**28 + 1, 2**32 - 1]),
                  st.integers(0, 2**32 - 1)),
        max_size=6,
    ),
)  # fmt: skip
def test_pcap_header_fields_at_their_extremes(snaplen, link, nano, big, recs):
    o = ">" if big else "<"
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    data = struct.pack(o + "IHHiIII", magic, 2, 4, 0, 0, snaplen, link)
    for sec, frac, caplen, wire in recs:
        data += struct.pack(o + "IIII", sec, frac, caplen, wire) + b"\xee" * min(caplen, 100)
    result = agree(data)
    assert result[0] == "ok"
    for ts, (sec, frac, _, _) in zip(result[1][3], recs, strict=False):
        assert ts == sec * 10**9 + frac * (1 if nano else 1000)
    assert set(result[1][4]) <= {link & 0xFFFF}


def whole_record_ends(head_len: int, sizes: list[int], per_record: int) -> list[int]:
    ends, at = [], head_len
    for size in sizes:
        at += per_record + size
        ends.append(at)
    return ends


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_valid_capture_truncated_at_every_offset(fmt):
    sizes = [0, 1, 5, 60, 3, 17]
    payloads = [bytes([i + 1]) * s for i, s in enumerate(sizes)]
    if fmt == "pcap":
        data = w.pcap_bytes([Record(10**9 * (i + 1), p) for i, p in enumerate(payloads)])
        head = 24
        ends = whole_record_ends(24, sizes, 16)
    else:
        blocks = [w.epb(0, i + 1, p) for i, p in enumerate(payloads)]
        data = PCAPNG_HEAD + b"".join(blocks)
        head = len(PCAPNG_HEAD)
        ends = list(np.cumsum([len(b) for b in blocks]) + head)
    for cut in range(len(data) + 1):
        result = outcome(data[:cut], "python")
        if cut < head and fmt == "pcap":
            assert result[0] == "error", cut
            continue
        if cut < head:  # a pcapng cut inside its first section or interface block
            assert result[0] == "error" or result[1][0] == [], cut
            continue
        whole = sum(1 for e in ends if e <= cut)
        _, cols, reason, offset = result
        assert cols[5] == payloads[:whole], cut
        last_end = ends[whole - 1] if whole else head
        if cut == last_end:
            assert reason is None, cut
        else:
            assert reason is not None and offset == last_end, cut
    # the compiled walks agree on every cut, too
    for cut in range(0, len(data) + 1, 7):
        want = outcome(data[:cut], "python")
        for engine in COMPILED:
            assert outcome(data[:cut], engine) == want, (cut, engine)
