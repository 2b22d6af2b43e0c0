"""Each finding's counts and times are those of the flows it points at.

The findings are grouped with numpy; this checks the result against the flow
table directly, finding by finding, on the project's sample captures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import annotator
from annotator.triage.findings import _groups


@pytest.mark.parametrize("name", ["mixed.pcap", "mixed.pcapng", "truncated.pcap"])
def test_findings_sum_up_their_flows(samples: Path, name: str) -> None:
    result = annotator.annotate(samples / name)
    flows, findings = result.flows, result.findings
    assert not findings.empty
    seen = set()
    for finding in findings.to_dict(orient="records"):
        mine = flows.iloc[finding["flow_index"]]
        key = (finding["flag"], finding["transport"], finding["server_ip"], finding["server_port"])
        assert finding["flag"] in {f for fl in mine["flags"] for f in fl}
        assert (mine["server_ip"] == finding["server_ip"]).all()
        assert (mine["server_port"] == finding["server_port"]).all()
        assert (mine["transport"].astype(str) == finding["transport"]).all()
        assert finding["flows"] == len(mine)
        assert finding["clients"] == mine["client_ip"].nunique()
        assert finding["bytes"] == int(mine["bytes"].sum())
        assert finding["first_seen"] == mine["first_seen"].min()
        assert finding["last_seen"] == mine["last_seen"].max()
        seen.add((*key, finding["observed_protocol"]))
    assert len(seen) == len(findings)  # one finding per group
    ranks = findings["severity"].cat.codes.tolist()
    assert ranks == sorted(ranks, reverse=True)


def _numbered_by_first_appearance(keys: np.ndarray) -> list[int]:
    seen: dict[tuple, int] = {}
    return [seen.setdefault(tuple(col), len(seen)) for col in keys.T.tolist()]


@pytest.mark.parametrize("high", [3, 70_000, 2**60])
def test_finding_groups_are_numbered_by_first_appearance(high: int) -> None:
    # Findings come out in the order their groups first appear (before the
    # severity sort), whatever the sizes of the codes: 2**60 takes the
    # general path, the others the single-integer one.
    rng = np.random.default_rng(high)
    keys = rng.integers(0, 4, size=(5, 3000))
    keys[2] *= high  # the column of server address codes, say
    group, n = _groups(keys)
    expected = _numbered_by_first_appearance(keys)
    assert group.tolist() == expected and n == max(expected) + 1
