"""A capture read as a set of files gives the same flows as read whole (issue #6).

The set is made by cutting a classic pcap between records (no timestamp
rounding), so every packet is the same; only the file a flow was first seen
in and its frame number there may differ, and those are checked against the
cut itself.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import annotator
from annotator.errors import AnnotatorError

from ..capture.craft import ACK, FIN, PSH, RST, SYN, ethernet, ipv4, tcp, udp
from .splitting import (
    WHERE_COLUMNS,
    Split,
    Unsplittable,
    accounting,
    client_hello,
    in_reading_order,
    mismatches,
    split_every,
    split_into,
    split_pcap,
    write_timed_pcap,
)


def assert_same(whole, parts, split: Split) -> None:
    """Everything a user sees is equal, and capture/first_frame follow the cut."""
    assert mismatches(whole.flows, parts.flows, WHERE_COLUMNS) == []
    assert mismatches(whole.findings, parts.findings, ()) == []
    assert mismatches(whole.other, parts.other, ()) == []
    assert accounting(parts) == accounting(whole)
    truth = [split.locate(int(f)) for f in whole.flows["first_frame"]]
    seen = list(zip(parts.flows["capture"], parts.flows["first_frame"].astype(int), strict=True))
    assert seen == truth


def shuffled(paths: list[Path], seed: int) -> list[str]:
    items = [str(p) for p in paths]
    random.Random(seed).shuffle(items)
    return items


@pytest.fixture(scope="module")
def mixed_whole(samples: Path):
    return annotator.annotate(samples / "mixed.pcap")


@pytest.mark.parametrize("size", range(1, 21))
def test_mixed_split_every_size_equals_whole(samples, tmp_path, mixed_whole, size):
    split = split_every(samples / "mixed.pcap", size, tmp_path)
    result = annotator.annotate(shuffled(split.paths, size))
    assert_same(mixed_whole, result, split)


@pytest.mark.parametrize("size", [1, 3, 8, 20])
def test_mixed_split_with_two_jobs_equals_whole(samples, tmp_path, mixed_whole, size):
    split = split_every(samples / "mixed.pcap", size, tmp_path)
    result = annotator.annotate(shuffled(split.paths, 100 + size), jobs=2)
    assert_same(mixed_whole, result, split)


@pytest.mark.parametrize(
    "cuts", [[1], [172], [2, 3, 50, 51, 52, 140], [10, 90], [5, 6, 7, 8, 9, 100, 170]]
)
@pytest.mark.parametrize("jobs", [1, 2])
def test_mixed_uneven_cuts_equal_whole(samples, tmp_path, mixed_whole, cuts, jobs):
    split = split_pcap(samples / "mixed.pcap", cuts, tmp_path)
    result = annotator.annotate(list(reversed([str(p) for p in split.paths])), jobs=jobs)
    assert_same(mixed_whole, result, split)


@pytest.mark.parametrize("size", [3, 20])
def test_parts_hashed_with_another_secret_merge_as_one_read(
    samples, tmp_path, mixed_whole, monkeypatch, size
):
    # A part read in another process (a spawned worker, a Dask worker on
    # another machine) carries flow hashes keyed with that process's secret.
    from annotator.flows import keys, read

    own, plain_read = keys._SECRET, read.read_part
    secrets = np.random.default_rng(size)

    def read_elsewhere(*args, **kwargs):
        monkeypatch.setattr(keys, "_SECRET", secrets.integers(0, 2**64, 5, dtype=np.uint64))
        try:
            return plain_read(*args, **kwargs)
        finally:
            monkeypatch.setattr(keys, "_SECRET", own)

    monkeypatch.setattr(read, "read_part", read_elsewhere)
    split = split_every(samples / "mixed.pcap", size, tmp_path)
    assert_same(mixed_whole, annotator.annotate(shuffled(split.paths, size)), split)


def test_colliding_hashes_neither_merge_nor_split_conversations_across_files(
    samples, tmp_path, mixed_whole, monkeypatch
):
    # Every key on one hash: the readers' live tables and the set merger's
    # carry must still tell conversations apart by their full keys.
    from annotator.flows import keys, merge

    def one_hash(a_hi, *rest):
        return np.zeros(len(a_hi), dtype=np.uint64)

    monkeypatch.setattr(keys, "hash_key", one_hash)
    monkeypatch.setattr(merge, "hash_key", one_hash)
    split = split_every(samples / "mixed.pcap", 7, tmp_path)
    assert_same(mixed_whole, annotator.annotate(shuffled(split.paths, 7)), split)


# --- crafted captures: a file boundary on each merge rule ----------------------------

CLIENT, SERVER = "10.0.0.1", "10.0.0.2"


def _tcp(src: str, dst: str, sport: int, dport: int, flags: int, payload: bytes = b"") -> bytes:
    return ethernet(ipv4(src, dst, 6, tcp(sport, dport, flags, payload)))


def _udp(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    return ethernet(ipv4(src, dst, 17, udp(sport, dport, payload)))


class Conversation:
    """Packets between a client and a server, with their expected side."""

    def __init__(self, client=(CLIENT, 40000), server=(SERVER, 8080), proto="tcp") -> None:
        self.client, self.server, self.proto = client, server, proto
        self.packets: list[tuple[float, bytes]] = []
        self.sides: list[bool] = []  # True: client to server

    def send(self, t: float, from_client: bool, flags: int = ACK, payload: bytes = b""):
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        if self.proto == "tcp":
            frame = _tcp(src[0], dst[0], src[1], dst[1], flags, payload)
        else:
            frame = _udp(src[0], dst[0], src[1], dst[1], payload)
        self.packets.append((t, frame))
        self.sides.append(from_client)
        return self

    def handshake(self, t: float):
        return self.send(t, True, SYN).send(t + 0.001, False, SYN | ACK).send(t + 0.002, True)


def read_set(tmp_path: Path, packets, cut: int, jobs: int):
    """Whole read and split read (files in reverse order) of crafted packets."""
    whole_path = write_timed_pcap(tmp_path / "whole.pcap", packets)
    split = split_pcap(whole_path, [cut], tmp_path / "set")
    assert len(split.paths) == 2
    whole = annotator.annotate(whole_path)
    parts = annotator.annotate([str(p) for p in reversed(split.paths)], jobs=jobs)
    assert_same(whole, parts, split)
    return parts


def expect_flow(row, conv: Conversation, indexes, basis: str) -> None:
    """One flow row matches the packets ``indexes`` of ``conv`` and its roles."""
    c2s = [i for i in indexes if conv.sides[i]]
    s2c = [i for i in indexes if not conv.sides[i]]
    assert (row.client_ip, row.client_port) == conv.client
    assert (row.server_ip, row.server_port) == conv.server
    assert (row.packets_c2s, row.packets_s2c) == (len(c2s), len(s2c))
    assert row.bytes_c2s == sum(len(conv.packets[i][1]) for i in c2s)
    assert row.bytes_s2c == sum(len(conv.packets[i][1]) for i in s2c)
    assert row.direction_basis == basis


JOBS = pytest.mark.parametrize("jobs", [1, 2])


@JOBS
def test_tcp_data_across_the_boundary_is_one_flow(tmp_path, jobs):
    conv = Conversation().handshake(0.0)
    conv.send(0.1, True, PSH | ACK, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    conv.send(0.2, False, PSH | ACK, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    conv.send(0.3, True, PSH | ACK, b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n")
    conv.send(0.4, False, PSH | ACK, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    conv.send(0.5, True, FIN | ACK).send(0.6, False, FIN | ACK).send(0.7, True)
    result = read_set(tmp_path, conv.packets, 5, jobs)
    assert len(result.flows) == 1
    expect_flow(next(result.flows.itertuples()), conv, range(10), "handshake")
    assert result.flows.observed_protocol.iloc[0] == "http"
    assert result.accounting["packets_in_flows"] == 10


@JOBS
@pytest.mark.parametrize("ending", [FIN | ACK, RST])
def test_end_in_file_one_then_syn_in_file_two_is_two_flows(tmp_path, jobs, ending):
    conv = Conversation().handshake(0.0)
    conv.send(0.1, True, PSH | ACK, b"hello")
    conv.send(0.2, True, ending)
    conv.handshake(0.3)
    conv.send(0.4, True, PSH | ACK, b"again")
    result = read_set(tmp_path, conv.packets, 5, jobs)
    assert len(result.flows) == 2
    first, second = result.flows.itertuples()
    expect_flow(first, conv, range(5), "handshake")
    expect_flow(second, conv, range(5, 9), "handshake")


@JOBS
@pytest.mark.parametrize("with_fin", [True, False])
def test_acks_then_syn_after_the_boundary(tmp_path, jobs, with_fin):
    conv = Conversation().handshake(0.0)
    conv.send(0.1, True, PSH | ACK, b"data")
    conv.send(0.2, True, (FIN | ACK) if with_fin else ACK)
    conv.send(0.3, False, ACK).send(0.31, True, ACK).send(0.32, False, ACK)
    conv.send(0.4, True, SYN).send(0.41, False, SYN | ACK).send(0.42, True)
    result = read_set(tmp_path, conv.packets, 5, jobs)
    if with_fin:
        assert len(result.flows) == 2
        first, second = result.flows.itertuples()
        expect_flow(first, conv, range(8), "handshake")
        expect_flow(second, conv, range(8, 11), "handshake")
    else:
        assert len(result.flows) == 1
        expect_flow(next(result.flows.itertuples()), conv, range(11), "handshake")


def test_acks_then_syn_of_several_conversations_on_one_hash(tmp_path, monkeypatch):
    # Each conversation's piece after its first SYN is joined back to its own
    # head in the second file, found by full key among keys on one hash.
    from annotator.flows import keys, merge

    def one_hash(a_hi, *rest):
        return np.zeros(len(a_hi), dtype=np.uint64)

    monkeypatch.setattr(keys, "hash_key", one_hash)
    monkeypatch.setattr(merge, "hash_key", one_hash)
    # The last two have no second SYN: the file has more heads than pieces
    # to rejoin, and the last one is not in the second file at all.
    convs = [Conversation(client=(CLIENT, 40000 + i)).handshake(i / 100) for i in range(6)]
    for i, conv in enumerate(convs):
        t = 1 + i / 100
        conv.send(t, True, ACK).send(t + 0.1, False, ACK)
        if i < 5:
            conv.send(t + 1, True, ACK).send(t + 1.1, False, ACK)  # after the cut
        if i < 4:
            conv.send(t + 2, True, SYN).send(t + 2.1, False, SYN | ACK).send(t + 2.2, True)
    packets = sorted((p for conv in convs for p in conv.packets), key=lambda p: p[0])
    result = read_set(tmp_path, packets, 6 * 5, 1)
    rows = sorted(result.flows.itertuples(), key=lambda r: r.client_port)
    assert len(rows) == len(convs)
    for row, conv in zip(rows, convs, strict=True):
        expect_flow(row, conv, range(len(conv.packets)), "handshake")


@JOBS
@pytest.mark.parametrize(("gap", "flows"), [(121.0, 2), (119.0, 1)])
def test_udp_idle_gap_at_the_boundary(tmp_path, jobs, gap, flows):
    conv = Conversation(client=(CLIENT, 50001), server=(SERVER, 53), proto="udp")
    conv.send(0.0, True, payload=b"\x12\x34" + bytes(10)).send(
        0.1, False, payload=b"\x12\x34" + bytes(10)
    )
    conv.send(0.1 + gap, True, payload=b"\x56\x78" + bytes(10))
    conv.send(0.2 + gap, False, payload=b"\x56\x78" + bytes(10))
    result = read_set(tmp_path, conv.packets, 2, jobs)
    assert len(result.flows) == flows
    rows = list(result.flows.itertuples())
    pieces = [range(4)] if flows == 1 else [range(2), range(2, 4)]
    for row, indexes in zip(rows, pieces, strict=True):
        expect_flow(row, conv, indexes, "registry")


@JOBS
def test_udp_first_packet_direction_decided_across_files(tmp_path, jobs):
    # Same port both sides: only the first packet (in file 1) tells the client,
    # and the client is the higher address, so it is endpoint B of the key.
    conv = Conversation(client=("10.0.0.9", 7000), server=("10.0.0.3", 7000), proto="udp")
    conv.send(0.0, True, payload=b"ping")
    for k in range(3):
        conv.send(0.1 + k / 10, False, payload=b"pong").send(0.15 + k / 10, True, payload=b"ping")
    result = read_set(tmp_path, conv.packets, 1, jobs)
    assert len(result.flows) == 1
    expect_flow(next(result.flows.itertuples()), conv, range(7), "first-packet")


@JOBS
def test_tls_client_hello_split_over_the_boundary(tmp_path, jobs):
    hello = client_hello("files.example.org")
    conv = Conversation(server=(SERVER, 443)).handshake(0.0)
    conv.send(0.1, True, ACK, hello[:60])
    conv.send(0.2, True, PSH | ACK, hello[60:])
    conv.send(0.3, False, ACK)
    result = read_set(tmp_path, conv.packets, 4, jobs)
    assert len(result.flows) == 1
    row = next(result.flows.itertuples())
    expect_flow(row, conv, range(6), "handshake")
    assert (row.observed_protocol, row.server_name) == ("tls", "files.example.org")


@JOBS
def test_a_fragment_past_the_reassembly_window_is_not_joined_across_the_boundary(tmp_path, jobs):
    # 61 s after its first fragment, a receiver has given up on the datagram:
    # the later fragment is other traffic, in the set as in the whole file.
    datagram = udp(40000, 5060, b"OPTIONS sip:x SIP/2.0\r\n" + b"x" * 200)
    first = ethernet(ipv4(CLIENT, SERVER, 17, datagram[:104], ident=78, more_fragments=True))
    later = ethernet(ipv4(CLIENT, SERVER, 17, datagram[104:], ident=78, fragment_offset=104))
    result = read_set(tmp_path, [(0.0, first), (61.0, later)], 1, jobs)
    assert result.flows.packets.tolist() == [1]
    assert result.accounting["packets_other"] == 1
    assert result.other.protocol.tolist() == ["IPv4 fragment, first fragment not seen"]


@JOBS
def test_udp_fragments_across_the_boundary_stay_in_the_flow(tmp_path, jobs):
    datagram = udp(40000, 5060, b"OPTIONS sip:x SIP/2.0\r\n" + b"x" * 200)
    first = ethernet(ipv4(CLIENT, SERVER, 17, datagram[:104], ident=77, more_fragments=True))
    later = ethernet(ipv4(CLIENT, SERVER, 17, datagram[104:], ident=77, fragment_offset=104))
    reply = _udp(SERVER, CLIENT, 5060, 40000, b"SIP/2.0 200 OK\r\n\r\n")
    packets = [(0.0, first), (0.01, later), (0.05, reply)]
    result = read_set(tmp_path, packets, 1, jobs)
    assert len(result.flows) == 1
    row = next(result.flows.itertuples())
    assert (row.client_ip, row.client_port, row.server_port) == (CLIENT, 40000, 5060)
    assert (row.packets_c2s, row.packets_s2c) == (2, 1)
    assert row.bytes_c2s == len(first) + len(later)
    assert result.accounting["packets_in_flows"] == 3
    assert result.accounting["packets_other"] == 0
    assert len(result.other) == 0


@JOBS
@pytest.mark.parametrize("gap", [0.01, 59.0])
def test_a_later_fragment_ending_a_file_meets_its_first_fragment_in_the_next(tmp_path, jobs, gap):
    # Sent last fragment first, the datagram is cut between its two halves:
    # in one read the later fragment waits a batch for its first fragment; in
    # the set it waits for the next file's first batch.  The flow then starts
    # in the first file, with the later fragment.
    datagram = udp(40000, 5060, b"OPTIONS sip:x SIP/2.0\r\n" + b"x" * 200)
    later = ethernet(ipv4(CLIENT, SERVER, 17, datagram[104:], ident=79, fragment_offset=104))
    first = ethernet(ipv4(CLIENT, SERVER, 17, datagram[:104], ident=79, more_fragments=True))
    reply = _udp(SERVER, CLIENT, 5060, 40000, b"SIP/2.0 200 OK\r\n\r\n")
    noise = _udp("10.9.9.9", SERVER, 53000, 53, b"\x00" * 20)
    packets = [(0.0, noise), (0.5, later), (0.5 + gap, first), (0.6 + gap, reply)]
    result = read_set(tmp_path, packets, 2, jobs)  # read_set: equal to the whole file
    row = result.flows[result.flows.client_port == 40000].iloc[0]
    assert (row.packets_c2s, row.packets_s2c) == (2, 1)
    assert row.bytes_c2s == len(first) + len(later)
    assert row.first_frame == 2 and row.capture.endswith("part000.pcap")
    assert row.observed_protocol == "sip"
    assert result.accounting["packets_other"] == 0


@JOBS
def test_a_later_fragment_ending_a_file_past_the_window_stays_other_traffic(tmp_path, jobs):
    datagram = udp(40000, 5060, b"OPTIONS sip:x SIP/2.0\r\n" + b"x" * 200)
    later = ethernet(ipv4(CLIENT, SERVER, 17, datagram[104:], ident=80, fragment_offset=104))
    first = ethernet(ipv4(CLIENT, SERVER, 17, datagram[:104], ident=80, more_fragments=True))
    result = read_set(tmp_path, [(0.0, later), (61.0, first)], 1, jobs)
    assert result.flows.packets.tolist() == [1]
    assert result.other.protocol.tolist() == ["IPv4 fragment, first fragment not seen"]


@JOBS
def test_handshakeless_tcp_across_the_boundary_by_ports(tmp_path, jobs):
    conv = Conversation(client=(CLIENT, 51000), server=(SERVER, 443))
    conv.send(0.0, False, PSH | ACK, b"\x17\x03\x03\x00\x05hello")
    conv.send(0.1, True, ACK)
    conv.send(0.2, True, PSH | ACK, b"\x17\x03\x03\x00\x05world")
    conv.send(0.3, False, ACK)
    result = read_set(tmp_path, conv.packets, 2, jobs)
    assert len(result.flows) == 1
    expect_flow(next(result.flows.itertuples()), conv, range(4), "registry")


# --- the labeled captures of ../shared, each cut into four files --------------------

LABELED = Path(__file__).resolve().parents[3] / "shared" / "captures" / "labeled" / "pcap"
NOT_EQUAL = {
    # Timestamps go back 19 hours across a cut: the files are read in the
    # order part2, part0, part1, part3, and the UDP flow 40282<->7500 (frame
    # 9 in part2, frame 8 in part1) is split in two by the set merge, while
    # the same packets in that order read as one file give one flow.
    "codm.pcap": pytest.mark.xfail(
        strict=True,
        reason="carry of a flow expired by a later file is not continued when an "
        "earlier-stamped packet of it comes in a following file",
    ),
}


def _labeled() -> list:
    if not LABELED.is_dir():
        return []
    names = sorted(p.name for p in LABELED.iterdir() if p.suffix in (".pcap", ".pcapng"))
    return [pytest.param(name, marks=NOT_EQUAL.get(name, ())) for name in names]


@pytest.mark.shared
@pytest.mark.parametrize("name", _labeled())
def test_labeled_capture_in_four_files_equals_one_read(shared, tmp_path, name):
    source = shared / "captures" / "labeled" / "pcap" / name
    try:
        split = split_into(source, 4, tmp_path / "set")
    except Unsplittable as problem:
        pytest.skip(f"cannot cut this capture simply: {problem}")
    reference, ordered = in_reading_order(split, tmp_path)
    if ordered.paths == split.paths:
        reference = source  # timestamps never go back across a cut
    whole = annotator.annotate(reference)
    # Two processes on every eighth capture keeps the run short; the pool and
    # the single process share the merge, which every capture exercises.
    jobs = 2 if sum(map(ord, name)) % 8 == 0 else 1
    parts = annotator.annotate([str(p) for p in reversed(split.paths)], jobs=jobs)
    assert_same(whole, parts, ordered)


# --- one bad file in a set ------------------------------------------------------------


def _bad_file(tmp_path: Path, kind: str) -> Path:
    if kind == "missing":
        return tmp_path / "rotated-0003.pcap"
    bad = tmp_path / "rotated-0003.pcap"
    if kind == "not-a-capture":
        bad.write_bytes(b"this is a text file that was named like a capture\n" * 20)
    else:  # a pcap cut inside its global header
        bad.write_bytes(bytes.fromhex("d4c3b2a1020004000000"))
    return bad


def _good_set(samples: Path, tmp_path: Path) -> list[str]:
    return [str(p) for p in split_every(samples / "mixed.pcap", 60, tmp_path / "set").paths]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["missing", "not-a-capture", "short-header"])
@JOBS
def test_one_bad_file_in_a_set_is_a_one_line_error_naming_it(samples, tmp_path, kind, jobs):
    good = _good_set(samples, tmp_path)
    bad = _bad_file(tmp_path, kind)
    with pytest.raises(AnnotatorError) as caught:
        annotator.annotate([good[0], str(bad), *good[1:]], jobs=jobs)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{bad}: ")
    assert "Traceback" not in message


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["missing", "not-a-capture"])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_cli_bad_file_in_a_set_no_traceback(samples, tmp_path, kind, jobs):
    good = _good_set(samples, tmp_path)
    bad = _bad_file(tmp_path, kind)
    done = subprocess.run(
        [sys.executable, "-m", "annotator.cli", "-j", jobs, "--no-progress", *good, str(bad)],
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(bad) in lines[0]
    assert "Traceback" not in done.stderr + done.stdout
