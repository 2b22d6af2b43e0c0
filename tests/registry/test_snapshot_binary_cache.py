"""The bundled snapshot's binary copy in the cache folder: same registry, never trusted blindly.

The first default load parses the snapshot's CSV and saves a binary copy; the
next process loads that copy instead.  Whatever the copy holds, the registry
users see must be the one the parse gives, and a damaged or unwritable copy
must only cost the parse.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from annotator.registry._columns import FIELDS
from annotator.registry.resolve import cache_dir, clear_default_cache, default_registry


def _saved_copies() -> list[Path]:
    return sorted(cache_dir().glob("snapshot.*.npz"))


def _fresh_default():
    clear_default_cache()
    return default_registry()


def _assert_same(parsed, cached) -> None:
    for name in FIELDS:
        assert getattr(cached._column_data(), name) == getattr(parsed._column_data(), name), name
    assert (cached.table == parsed.table).all()
    pd.testing.assert_frame_equal(cached.slots, parsed.slots)
    assert cached.meta == parsed.meta
    assert cached.lookup(443, "tcp") == parsed.lookup(443, "tcp")
    assert cached.primary(6301, "tcp") == parsed.primary(6301, "tcp")


def test_second_load_reads_the_saved_copy_and_gives_the_same_registry() -> None:
    assert _saved_copies() == []
    parsed = _fresh_default()
    (saved,) = _saved_copies()
    assert parsed.meta.extra["origin"] == "snapshot"

    stamp = saved.stat().st_mtime_ns
    cached = _fresh_default()
    assert saved.stat().st_mtime_ns == stamp  # read, not rewritten
    assert cached is not parsed
    _assert_same(parsed, cached)
    assert cached.records == parsed.records
    assert cached.lookup_name("http") == parsed.lookup_name("http")
    assert cached.meta.extra["origin"] == "snapshot"


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_a_damaged_copy_is_parsed_again_and_replaced(damage: str) -> None:
    parsed = _fresh_default()
    (saved,) = _saved_copies()
    data = saved.read_bytes()
    saved.write_bytes(
        {"truncate": data[: len(data) // 2], "garbage": b"not an npz" * 100, "empty": b""}[damage]
    )
    again = _fresh_default()
    _assert_same(parsed, again)
    assert saved.read_bytes() == data  # the parse wrote a good copy back


def test_an_unusable_cache_folder_still_gives_the_snapshot(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    parsed = _fresh_default()
    occupied = tmp_path / "cache-is-a-file"
    occupied.write_text("occupied", encoding="utf-8")
    monkeypatch.setenv("ANNOTATOR_CACHE", str(occupied))
    again = _fresh_default()
    _assert_same(parsed, again)
    assert occupied.read_text(encoding="utf-8") == "occupied"


def test_the_copy_is_named_by_content(tmp_path: Path) -> None:
    from annotator.registry._snapcache import cache_file

    a = cache_file(tmp_path, b"snapshot bytes", b"{}")
    assert a == cache_file(tmp_path, b"snapshot bytes", b"{}")
    assert a != cache_file(tmp_path, b"snapshot bytes!", b"{}")
    assert a != cache_file(tmp_path, b"snapshot bytes", b'{"updated": "x"}')


def test_copies_of_other_snapshots_are_removed_when_a_new_one_is_saved() -> None:
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    older = folder / "snapshot.0123456789abcdef0123.npz"
    older.write_bytes(b"a copy saved by an older version")
    _fresh_default()
    assert [p.name for p in _saved_copies()] != [older.name]
    assert not older.exists() and len(_saved_copies()) == 1


def test_the_port_test_from_the_copy_makes_no_text_cells() -> None:
    """Deciding flow direction (``assigned_mask``) needs no text: read_flows stays light."""
    import numpy as np

    parsed = _fresh_default()
    cached = _fresh_default()
    ports = np.arange(65536, dtype=np.int64)
    for code in range(4):
        codes = np.full(len(ports), code, dtype=np.uint8)
        assert (cached.assigned_mask(ports, codes) == parsed.assigned_mask(ports, codes)).all()
    assert len(cached) == len(parsed) > 10_000
    assert cached._columns is None  # still pending: no cell was cut
    # The first use of the join columns makes them, the same as the parse's.
    pd.testing.assert_frame_equal(cached.slots, parsed.slots)
    assert cached._columns is not None and cached.records == parsed.records


@pytest.mark.parametrize("damage", ["mask", "cells"])
def test_a_copy_with_a_wrong_mask_or_cell_count_is_not_used(damage: str) -> None:
    import numpy as np

    parsed = _fresh_default()
    (saved,) = _saved_copies()
    with np.load(saved, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    if damage == "mask":
        arrays["current"] = arrays["current"][:-1]
    else:
        arrays["service"] = np.append(arrays["service"], np.frombuffer(b"\x1fx", np.uint8))
    with saved.open("wb") as out:
        np.savez(out, **arrays)
    damaged = saved.read_bytes()
    again = _fresh_default()
    _assert_same(parsed, again)
    assert saved.read_bytes() != damaged  # parsed again and a good copy saved
