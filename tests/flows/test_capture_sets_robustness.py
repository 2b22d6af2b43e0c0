"""tcpdump's malformed test captures, cut into capture sets: no crash, every packet counted.

Each readable capture is cut in three and read with the files given in
reverse (jobs 1 for most, jobs 2 for every fifth): the set must account for
exactly the packets a whole read does, and each packet in exactly one of
flows, other traffic or undecodable.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import annotator
from annotator.errors import AnnotatorError

from .splitting import Unsplittable, split_into

ROBUSTNESS = Path(__file__).resolve().parents[3] / "shared" / "captures" / "robustness"


def _captures() -> list[str]:
    if not ROBUSTNESS.is_dir():
        return []
    return sorted(p.name for p in ROBUSTNESS.iterdir() if p.is_file())[::3]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", _captures())
def test_malformed_capture_as_a_set(shared: Path, tmp_path: Path, name: str) -> None:
    source = shared / "captures" / "robustness" / name
    try:
        whole = annotator.annotate(source)
    except AnnotatorError:
        pytest.skip("not readable as a whole either (its one-line error is tested elsewhere)")
    try:
        split = split_into(source, 3, tmp_path / "set")
    except Unsplittable as problem:
        pytest.skip(f"cannot cut this capture simply: {problem}")
    jobs = 2 if _captures().index(name) % 5 == 0 else 1
    many = annotator.annotate([str(p) for p in reversed(split.paths)], jobs=jobs)
    acc = many.accounting
    counted = acc["packets_in_flows"] + acc["packets_other"] + acc["packets_undecodable"]
    assert acc["packets_total"] == counted
    assert acc["packets_total"] == whole.accounting["packets_total"]
    assert acc["flows"] == len(many.flows)
