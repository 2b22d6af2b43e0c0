"""Which registry is used: --registry FILE, then $ANNOTATOR_REGISTRY, then the cached
update, then the bundled snapshot; and a broken choice is a one-line error naming it.

The registries here are the project's own: small CSVs written by the tests and
the bundled snapshot. The conftest points the cache at a fresh folder per test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import annotator
from annotator.errors import RegistryError
from annotator.registry import load_registry
from annotator.registry.resolve import (
    cache_dir,
    clear_default_cache,
    default_registry,
    resolve_registry,
)

HEADER = "Service Name,Port Number,Transport Protocol,Description\r\n"


def _registry_file(path: Path, name: str) -> Path:
    """A tiny IANA CSV whose 80/tcp service name tells which file was used."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{name},80,tcp,marker record\r\n", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _fresh_defaults():
    clear_default_cache()
    yield
    clear_default_cache()


def _used(path: str | Path | None = None) -> tuple[str, str]:
    registry = resolve_registry(path)
    return registry.primary(80, "tcp").service, registry.meta.extra["origin"]


def test_precedence_from_snapshot_to_explicit(tmp_path: Path, monkeypatch) -> None:
    assert _used() == ("http", "snapshot")

    _registry_file(cache_dir() / "registry.csv", "from-cache")
    assert _used() == ("from-cache", "cache")

    env_file = _registry_file(tmp_path / "env.csv", "from-env")
    monkeypatch.setenv("ANNOTATOR_REGISTRY", str(env_file))
    assert _used() == ("from-env", "environment")
    assert "$ANNOTATOR_REGISTRY" in resolve_registry().meta.source

    explicit = _registry_file(tmp_path / "explicit.csv", "from-flag")
    assert _used(explicit) == ("from-flag", "explicit")


def test_load_registry_none_and_annotate_use_the_same_default(tmp_path: Path) -> None:
    _registry_file(cache_dir() / "registry.csv", "from-cache")
    assert load_registry(None) is default_registry()
    assert annotator.load_registry(None).primary(80, "tcp").service == "from-cache"


def test_default_is_cached_but_follows_a_changed_file(tmp_path: Path, monkeypatch) -> None:
    env_file = _registry_file(tmp_path / "env.csv", "first")
    monkeypatch.setenv("ANNOTATOR_REGISTRY", str(env_file))
    first = default_registry()
    assert default_registry() is first
    _registry_file(env_file, "second-version")  # different size: a new cache key
    assert default_registry().primary(80, "tcp").service == "second-version"


def test_cached_xml_wins_over_nothing_and_says_when_it_was_downloaded() -> None:
    path = _registry_file(cache_dir() / "registry.csv", "cached")
    registry = default_registry()
    assert registry.meta.source == f"{path} (cached update)"
    # A CSV has no date of its own: the install day is said, never passed off as one.
    assert not registry.meta.updated and registry.meta.extra["downloaded"]
    from annotator.registry.resolve import registry_date

    assert (
        registry_date(registry.meta) == f"unknown, downloaded {registry.meta.extra['downloaded']}"
    )


def test_broken_environment_registry_names_the_file_and_variable(
    tmp_path: Path, monkeypatch
) -> None:
    missing = tmp_path / "gone.xml"
    monkeypatch.setenv("ANNOTATOR_REGISTRY", str(missing))
    with pytest.raises(RegistryError) as caught:
        default_registry()
    message = str(caught.value)
    assert str(missing) in message and "$ANNOTATOR_REGISTRY" in message
    assert "\n" not in message


def test_broken_cached_registry_points_to_update(tmp_path: Path) -> None:
    broken = cache_dir() / "registry.xml"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_bytes(b"<?xml version='1.0'?><registry><record>")  # cut off mid-way
    with pytest.raises(RegistryError) as caught:
        default_registry()
    message = str(caught.value)
    assert str(broken) in message and "annotate registry update" in message


def test_explicit_bad_file_is_a_registry_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(RegistryError, match="empty"):
        resolve_registry(empty)


def test_a_registry_handed_to_annotate_says_it_was_explicit(tmp_path: Path) -> None:
    path = _registry_file(tmp_path / "mine.csv", "mine")
    sample = Path(__file__).resolve().parents[2] / "samples" / "mixed.pcap"
    result = annotator.annotate(sample, registry=path)
    assert result.registry.meta.extra["origin"] == "explicit"
    assert annotator.read_flows(sample, registry=path).flows is not None
    assert annotator.annotate(sample).registry.meta.extra["origin"] == "snapshot"


def test_a_cache_folder_out_of_reach_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Under sudo with $HOME kept, the cache folder may be one this user cannot
    # enter: say so and how to go on, not an internal error (exit 70).
    def denied(self: Path, *args, **kwargs) -> bool:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "is_file", denied)
    with pytest.raises(RegistryError) as caught:
        default_registry()
    message = str(caught.value)
    assert "Permission denied" in message and "ANNOTATOR_CACHE" in message
    assert "\n" not in message
    monkeypatch.undo()
    from annotator.cli import main

    sample = Path(__file__).resolve().parents[2] / "samples" / "mixed.pcap"
    monkeypatch.setattr(Path, "is_file", denied)
    assert main([str(sample), "--no-progress"]) == 2
    assert "cannot look into the registry cache folder" in capsys.readouterr().err
