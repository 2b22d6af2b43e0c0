"""ReadOptions: the reading options, checked once when built, frozen, and sent to
every reader as they are (worker processes and Dask workers included)."""

from __future__ import annotations

import dataclasses
import hashlib
import multiprocessing
import pickle

import pytest

import annotator
from annotator.errors import UsageError
from annotator.evidence import fingerprint_payloads
from annotator.flows import ReadOptions, parallel, read, read_flow_table

BAD = [
    ({"payload_c2s": 2047}, "payload_c2s must be an integer of at least 2048 bytes"),
    ({"payload_c2s": 4096.0}, "payload_c2s must be an integer of at least 2048 bytes"),
    ({"payload_s2c": 255}, "payload_s2c must be an integer of at least 256 bytes"),
    ({"payload_s2c": True}, "payload_s2c must be an integer of at least 256 bytes"),
    ({"jobs": 0}, "jobs must be a positive integer"),
    ({"jobs": True}, "jobs must be a positive integer"),
    ({"idle_timeout": -1}, "idle_timeout for tcp must be a positive number of seconds"),
    ({"idle_timeout": {"udp": "60"}}, "idle_timeout for udp must be a positive number of seconds"),
    (
        {"idle_timeout": {"icmp": 5}},
        "idle_timeout: unknown transport 'icmp' (use tcp, udp, sctp or dccp)",
    ),
]


@pytest.mark.parametrize(("keywords", "message"), BAD)
def test_bad_options_are_one_line_usage_errors_when_built(keywords, message) -> None:
    with pytest.raises(UsageError) as caught:
        ReadOptions(**keywords)
    assert str(caught.value) == message


@pytest.mark.parametrize(("keywords", "message"), BAD)
def test_the_keyword_api_says_the_same_before_reading(samples, keywords, message) -> None:
    for entry in (annotator.read_flows, annotator.annotate):
        with pytest.raises(UsageError) as caught:
            entry(samples / "mixed.pcap", **keywords)
        assert str(caught.value) == message


def test_readers_is_a_positive_count() -> None:
    with pytest.raises(UsageError, match=r"^readers must be a positive integer$"):
        ReadOptions(readers=0)


def test_options_are_frozen_and_pickle_unchanged() -> None:
    options = ReadOptions(
        idle_timeout={"udp": 60},
        payload_s2c=1024,
        sha256=False,
        fingerprint=fingerprint_payloads,
        jobs=2,
    )
    assert pickle.loads(pickle.dumps(options)) == options
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.jobs = 3


def test_a_timeout_mapping_changed_later_changes_nothing() -> None:
    timeouts = {"udp": 60.0}
    options = ReadOptions(idle_timeout=timeouts)
    timeouts["udp"] = -1.0
    assert options.idle_timeout == {"udp": 60.0}


def test_read_flows_hashes_only_when_asked_annotate_by_default(samples) -> None:
    path = samples / "mixed.pcap"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert annotator.read_flows(path).captures[0].sha256 is None
    assert annotator.read_flows(path, sha256=True).captures[0].sha256 == digest
    assert annotator.annotate(path).captures[0].sha256 == digest
    assert annotator.annotate(path, sha256=False).captures[0].sha256 is None
    # Hashing changes nothing else.
    hashed, bare = annotator.read_flows(path, sha256=True), annotator.read_flows(path)
    assert hashed.flows.equals(bare.flows) and hashed.accounting == bare.accounting


def _say_readers(source, options, registry, **_):
    raise UsageError(f"readers={options.readers}")


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(),
    reason="the worker sees the stand-in reader only when it is forked",
)
@pytest.mark.parametrize(("jobs", "readers"), [(2, 2), (5, 3)])
def test_each_worker_is_told_how_many_readers_run_at_once(
    samples, monkeypatch, jobs, readers
) -> None:
    # As many readers as worker processes: one per file, at most ``jobs``.
    monkeypatch.setattr(parallel, "read_part", _say_readers)
    files = [samples / "mixed.pcap", samples / "mixed.pcapng", samples / "mixed.pcap.gz"]
    with pytest.raises(UsageError, match=rf"^readers={readers}$"):
        read_flow_table(files, ReadOptions(jobs=jobs))


def test_a_read_in_one_process_has_one_reader(samples, monkeypatch) -> None:
    monkeypatch.setattr(read, "read_part", _say_readers)
    with pytest.raises(UsageError, match=r"^readers=1$"):
        read_flow_table([samples / "mixed.pcap", samples / "mixed.pcapng"])
