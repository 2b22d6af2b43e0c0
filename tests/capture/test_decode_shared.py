"""Every packet of every capture in ../shared is decoded into exactly one kind."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from annotator.capture.columns import KIND_FLOW, KIND_OTHER, KIND_UNDECODABLE
from annotator.capture.decode import Decoder
from annotator.capture.formats import open_capture
from annotator.errors import CaptureError

pytestmark = pytest.mark.shared


def test_all_shared_captures_are_accounted(shared: Path):
    files = sorted((shared / "captures" / "robustness").iterdir())
    files += sorted((shared / "captures" / "labeled" / "pcap").iterdir())
    kinds = Counter()
    reasons = Counter()
    for path in files:
        decoder = Decoder()
        try:
            with open_capture(path) as reader:
                for records in reader.batches():
                    batch = decoder.decode(records)
                    assert len(batch) == len(records)
                    assert np.array_equal(batch["frame"], records.frame)
                    counts = np.bincount(batch["kind"], minlength=3)
                    assert counts.sum() == counts[:3].sum() == len(records), path.name
                    kinds.update(dict(enumerate(counts[:3].tolist())))
                    undecodable = batch["label"][batch["kind"] == KIND_UNDECODABLE]
                    reasons.update(batch.labels[i] for i in undecodable.tolist())
        except CaptureError:
            continue  # not a capture at all: the reader's tests cover these
    assert kinds[KIND_FLOW] > 20_000 and kinds[KIND_OTHER] > 1_000
    assert "not decoded" not in reasons
    # undecodable packets are rare and each has a short reason
    assert kinds[KIND_UNDECODABLE] < 0.02 * sum(kinds.values())
    assert all(len(reason) < 60 for reason in reasons)
