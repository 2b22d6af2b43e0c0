"""A capture read as a set of files gives the same flows as read whole (issue #6).

The set is made by cutting a classic pcap between records (no timestamp
rounding), so every packet is the same; only the file a flow was first seen
in and its frame number there may differ, and those are checked against the
cut itself.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import annotator

from .splitting import WHERE_COLUMNS, Split, accounting, mismatches, split_every, split_pcap


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
