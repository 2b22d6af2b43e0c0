"""The fast paths of registry loading give exactly what the plain rules give.

The CSV loader reads column by column and makes Record objects only when asked
for them; the bundled snapshot is loaded without folding whitespace because
its converter writes it folded; the slot table is built with numpy.  Each
shortcut is checked here against the slow, obvious reading: the snapshot
loaded with folding, a registry built from the Record objects, and a
per-port reading of the lookup rules (model.py) on registries made to hold
overlapping ranges, blank transports and several records per port.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from annotator.registry import TRANSPORTS, Record, Registry
from annotator.registry.load_csv import load_csv
from annotator.registry.resolve import snapshot_metadata


def _snapshot_text() -> str:
    data = resources.files("annotator.registry").joinpath("data", "snapshot.csv.gz").read_bytes()
    return gzip.decompress(data).decode("utf-8")


def _same(a: Registry, b: Registry) -> None:
    """The two registries answer everything alike."""
    assert a.records == b.records
    assert len(a) == len(b)
    assert np.array_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.slots, b.slots, check_exact=True)
    ports = np.arange(65536)
    for code in range(len(TRANSPORTS)):
        codes = np.full(ports.shape, code)
        assert np.array_equal(a.assigned_mask(ports, codes), b.assigned_mask(ports, codes))


def test_snapshot_cells_are_folded_as_its_metadata_says() -> None:
    assert snapshot_metadata()["text_normalized"] is True
    rows = list(csv.reader(io.StringIO(_snapshot_text(), newline="")))
    assert len(rows) == snapshot_metadata()["records"] + 1
    unfolded = [cell for row in rows for cell in row if cell != " ".join(cell.split())]
    assert unfolded == []


def test_snapshot_loads_alike_with_and_without_folding() -> None:
    text = _snapshot_text()
    _same(load_csv(text, "snapshot", normalized=True), load_csv(text, "snapshot"))


def test_column_wise_registry_equals_the_one_built_from_its_records() -> None:
    loaded = load_csv(_snapshot_text(), "snapshot", normalized=True)
    assert len(loaded) == 14243  # known before any record is made
    rebuilt = Registry(loaded.records, loaded.meta)
    _same(loaded, rebuilt)
    assert [r.order for r in loaded.records] == list(range(len(loaded)))
    assert loaded.lookup_name("http")[0].port == "80"


def test_whitespace_is_folded_when_the_csv_does_not_vouch_for_it() -> None:
    text = (
        "Service Name,Port Number,Transport Protocol,Description,Assignment Notes\n"
        ' http ,80, TCP ,"World  Wide\nWeb  HTTP ","  This entry is now\thistoric "\n'
    )
    (rec,) = load_csv(text, "pasted.csv").records
    assert (rec.service, rec.transport, rec.port_lo) == ("http", "tcp", 80)
    assert rec.description == "World Wide Web HTTP"
    assert rec.notes == "This entry is now historic" and rec.historic


def _expected(records: list[Record], port: int, transport: str) -> list[Record]:
    """model.py's rules read port by port: exact records beat ranges; blank is every transport."""
    here = [r for r in records if r.transport in (transport, "") and r.covers(port)]
    exact = [r for r in here if not r.is_range]
    return exact or here


def _random_registry(rng: random.Random) -> list[Record]:
    words = ["", "Unassigned", "Reserved", "This entry is now historic", "Deprecated"]
    records = []
    for i in range(rng.randint(1, 30)):
        lo = rng.choice([None, rng.randint(0, 24), rng.randint(65520, 65535)])
        hi = lo if lo is None or rng.random() < 0.5 else min(65535, lo + rng.randint(0, 12))
        records.append(
            Record.build(
                rng.choice(["", "a", "b", "c"]),
                lo,
                hi,
                rng.choice(["", *TRANSPORTS]),
                order=i,
                description=rng.choice(words),
                notes=rng.choice(words),
            )
        )
    return records


@pytest.mark.parametrize("seed", range(40))
def test_slot_table_follows_the_lookup_rules_port_by_port(seed: int) -> None:
    records = _random_registry(random.Random(seed))
    registry = Registry(records)
    ports = [*range(0, 40), *range(65510, 65536)]
    seen: dict[tuple[int, ...], int] = {}
    for transport in TRANSPORTS:
        code = TRANSPORTS.index(transport)
        slots = registry.slot_ids(np.array(ports), np.full(len(ports), code))
        for port, slot in zip(ports, slots.tolist(), strict=True):
            expected = _expected(records, port, transport)
            assert registry.lookup(port, transport) == expected
            primary = next((r for r in expected if r.current), None)
            assert registry.primary(port, transport) == primary
            if not expected:
                assert slot == -1
                continue
            ids = tuple(r.order for r in expected)
            assert seen.setdefault(ids, slot) == slot  # one slot per distinct set of records
            row = registry.slots.loc[slot]
            assert row["service"] == (primary.service if primary else None)
            assert row["services"] == tuple(dict.fromkeys(r.service for r in expected if r.service))
    # A range piece whose every port an exact record overrides keeps an unused slot.
    assert set(seen.values()) <= set(registry.slots.index)
