"""Each finding's counts and times are those of the flows it points at.

The findings are grouped with numpy; this checks the result against the flow
table directly, finding by finding, on the project's sample captures.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import annotator


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
