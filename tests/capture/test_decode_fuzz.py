"""Property tests: random bytes never break the decoder and every packet is accounted."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotator.capture.columns import KIND_FLOW, KIND_OTHER, KIND_UNDECODABLE, RecordBatch
from annotator.capture.decode import Decoder
from annotator.capture.decode.link import HANDLERS

from .craft import SYN, ethernet, ipv4, ipv6, ipv6_options, record_batch, tcp, udp

SUPPORTED = sorted(HANDLERS)

# Valid frames to mutate: random bytes alone rarely get past the IP header.
SEEDS = [
    ethernet(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(1, 2, SYN, b"payload"))),
    ethernet(ipv6("::1", "::2", 0, ipv6_options(17, udp(3, 4, b"x"))), 0x86DD, vlans=[3]),
    ipv4("10.0.0.1", "10.0.0.2", 17, udp(5, 6, b"y" * 20)),
]


def check(batch: RecordBatch, decoder: Decoder | None = None) -> None:
    out = (decoder or Decoder()).decode(batch)
    assert len(out) == len(batch)
    assert set(out["kind"].tolist()) <= {KIND_FLOW, KIND_OTHER, KIND_UNDECODABLE}
    labels = out["label"][out["kind"] != KIND_FLOW]
    assert (labels < len(out.labels)).all()
    assert "not decoded" not in out.labels
    flow = out["kind"] == KIND_FLOW
    assert (out["payload_len"] >= 0).all()
    ends = out["payload_off"][flow] + out["payload_len"][flow]
    starts = batch.offset[flow] + batch.cap_len[flow]
    assert (ends <= starts).all()  # payload stays inside its own record


frames_strategy = st.lists(st.binary(max_size=120), min_size=1, max_size=30)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=frames_strategy, link_type=st.sampled_from(SUPPORTED))
def test_random_frames_every_supported_link_type(frames, link_type):
    check(record_batch(frames, link_type))


@settings(max_examples=150, deadline=None)
@given(
    seed=st.sampled_from(range(len(SEEDS))),
    flips=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=6),
    cut=st.integers(0, 200),
)
def test_mutated_valid_frames(seed, flips, cut):
    frame = bytearray(SEEDS[seed])
    for at, value in flips:
        if at < len(frame):
            frame[at] = value
    frame = bytes(frame[: max(cut, 1)])
    check(record_batch([frame, bytes(frame)], 1 if seed < 2 else 101))


@settings(max_examples=60, deadline=None)
@given(
    frames=frames_strategy,
    links=st.lists(st.integers(0, 300), min_size=30, max_size=30),
)
def test_any_link_type_number_and_mixed_batches(frames, links):
    check(record_batch(frames, links[: len(frames)]))


def test_records_claiming_bytes_beyond_the_buffer():
    batch = record_batch([ethernet(ipv4("1.1.1.1", "2.2.2.2", 6, tcp(1, 2)))], 1)
    batch.cap_len = np.array([5000], dtype=np.uint32)
    batch.offset = np.array([10], dtype=np.int64)
    out = Decoder().decode(batch)
    assert len(out) == 1 and out["kind"][0] in (KIND_FLOW, KIND_OTHER, KIND_UNDECODABLE)
    assert out["payload_off"][0] + out["payload_len"][0] <= batch.data.size
    # a record wholly outside the buffer is an empty, truncated frame
    batch.offset = np.array([10_000], dtype=np.int64)
    out = Decoder().decode(batch)
    assert out.labels[out["label"][0]] == "truncated Ethernet header"


def test_empty_batch():
    out = Decoder().decode(record_batch([], 1))
    assert len(out) == 0
