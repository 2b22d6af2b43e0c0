"""The "services seen" table of the reports, checked against the flows it summarizes.

Every flow counts once under its (service, transport); bytes, verdicts, ports
and observed protocols add up to what the flow table says, and the rows come
largest first.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import annotator
from annotator.report._view import SERVICE_COLUMNS, service_rows, services_seen


@pytest.mark.parametrize("name", ["mixed.pcap", "mixed.pcapng"])
def test_service_rows_add_up_to_the_flow_table(samples: Path, name: str) -> None:
    path = samples / name
    if not path.exists():
        pytest.skip(f"no {name} in samples/")
    flows = annotator.annotate(path).flows
    rows = service_rows(flows)
    assert sum(r["flows"] for r in rows) == len(flows)
    assert sum(r["bytes"] for r in rows) == int(flows["bytes"].sum())
    assert len({(r["service"], r["transport"]) for r in rows}) == len(rows)
    sizes = [(r["bytes"], r["flows"]) for r in rows]
    assert sizes == sorted(sizes, reverse=True)
    for row in rows:
        service = flows["service"].fillna("")
        mine = flows[(service == (row["service"] or "")) & (flows["transport"] == row["transport"])]
        assert row["flows"] == len(mine) and row["bytes"] == int(mine["bytes"].sum())
        assert row["ports"] == sorted(set(mine["server_port"].tolist()))
        for verdict in ("consistent", "contradicts", "none"):
            assert row[verdict] == int((mine["evidence"] == verdict).sum())
        observed = set(mine["observed_protocol"].dropna().tolist()) - {""}
        assert row["observed"] == sorted(observed)
    assert any(r["service"] is None for r in rows) == bool(flows["service"].isna().any())
    frame = services_seen(flows)
    assert list(frame.columns) == list(SERVICE_COLUMNS)
    assert frame["bytes"].tolist() == [r["bytes"] for r in rows]


def test_no_flows_no_rows(samples: Path) -> None:
    flows = annotator.annotate(samples / "mixed.pcap").flows.iloc[:0]
    assert service_rows(flows) == []
    assert services_seen(flows).empty
