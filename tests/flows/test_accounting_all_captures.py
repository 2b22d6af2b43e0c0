"""Every capture in ../shared/captures is read with every packet accounted for.

For each file: read_flow_table either refuses it with a one-line CaptureError, or
returns a table whose accounting adds up (flows + other + undecodable ==
total == packets the reader delivered) and whose total equals tshark's frame
count whenever Wireshark's reader (capinfos, the library tshark uses) reads
the file to its end without complaint.
"""

from __future__ import annotations

import pytest

from annotator.errors import CaptureError
from annotator.flows import read_flow_table

from .conftest import FakeRegistry
from .peer import frame_counts

pytestmark = [pytest.mark.shared, pytest.mark.slow, pytest.mark.timeout(300)]


def check_accounting(table) -> None:
    acc = table.accounting
    assert (
        acc["packets_in_flows"] + acc["packets_other"] + acc["packets_undecodable"]
        == (acc["packets_total"])
    )
    assert acc["packets_total"] == sum(c.packets for c in table.captures)
    assert acc["packets_in_flows"] == int(table.flows["packets"].sum())
    assert acc["packets_other"] == int(table.other["packets"].sum())
    assert acc["packets_undecodable"] == sum(acc["undecodable"].values())
    assert acc["flows"] == len(table.flows) == len(table.payload_c2s) == len(table.payload_s2c)


def test_every_capture_is_fully_accounted(shared):
    paths = sorted(p for p in (shared / "captures").rglob("*") if p.is_file())
    paths = [p for p in paths if "ndpi-results" not in p.parts]
    registry = FakeRegistry(set())
    refused, partial, compared, differing = [], 0, 0, []
    counts = frame_counts(paths)
    for path in paths:
        try:
            table = read_flow_table(path, registry=registry)
        except CaptureError as err:
            assert "\n" not in str(err) and str(path) in str(err)
            refused.append(path.name)
            continue
        check_accounting(table)
        partial += bool(table.partial)
        if path in counts and not table.partial:
            compared += 1
            if counts[path] != table.accounting["packets_total"]:
                differing.append((path.name, counts[path], table.accounting["packets_total"]))
    print(f"\n{len(paths)} captures: {len(refused)} refused, {partial} partial, "
          f"{compared} compared with Wireshark's frame count (capinfos)")  # fmt: skip
    assert len(paths) > 500
    assert not differing
