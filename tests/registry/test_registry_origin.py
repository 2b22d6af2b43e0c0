"""A registry file gives the same registry whichever way it is handed over.

``annotator.load_registry(path)`` and ``annotate(capture, registry=path)`` go
through one code path: the same records and the same metadata, including
where it came from (``meta.extra["origin"] == "explicit"``), and the same
one-line error for a file that is not a registry.  With no argument,
``load_registry()`` is the registry ``annotate`` uses by default.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import annotator
from annotator.errors import RegistryError
from annotator.registry.resolve import clear_default_cache

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "mixed.pcap"
CSV = (
    "Service Name,Port Number,Transport Protocol,Description\r\n"
    "mine,80,tcp,a marker record\r\n"
    "bad,99999,tcp,a row that is skipped\r\n"
)


@pytest.fixture(autouse=True)
def _fresh_defaults():
    clear_default_cache()
    yield
    clear_default_cache()


@pytest.fixture
def registry_file(tmp_path: Path) -> Path:
    path = tmp_path / "mine.csv"
    path.write_text(CSV, encoding="utf-8", newline="")
    return path


def test_load_registry_and_annotate_give_the_same_metadata(registry_file: Path) -> None:
    loaded = annotator.load_registry(registry_file)
    used = annotator.annotate(SAMPLE, registry=registry_file).registry
    assert loaded.meta == used.meta
    assert loaded.meta.extra["origin"] == "explicit"
    assert loaded.meta.source == str(registry_file)
    assert loaded.meta.skipped_rows == 1
    assert loaded.records == used.records


def test_a_path_as_text_or_path_object_is_the_same_registry(registry_file: Path) -> None:
    spelled = f"{registry_file.parent}/./{registry_file.name}"
    as_text = annotator.load_registry(spelled)
    as_path = annotator.load_registry(registry_file)
    used = annotator.annotate(SAMPLE, registry=spelled).registry
    assert as_text.meta == as_path.meta == used.meta


def test_registry_bytes_are_explicit_too(registry_file: Path) -> None:
    registry = annotator.load_registry(registry_file.read_bytes())
    assert registry.meta.extra["origin"] == "explicit"
    assert registry.meta.source == "<registry bytes>"
    assert registry.primary(80, "tcp").service == "mine"


def test_no_argument_is_the_default_annotate_uses() -> None:
    default = annotator.load_registry()
    assert default.meta.extra["origin"] == "snapshot"
    assert annotator.load_registry(None) is default
    assert annotator.annotate(SAMPLE).registry is default


def test_a_bad_file_is_the_same_error_either_way(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("nothing like a registry\n", encoding="utf-8")
    with pytest.raises(RegistryError) as loading:
        annotator.load_registry(bad)
    with pytest.raises(RegistryError) as annotating:
        annotator.annotate(SAMPLE, registry=bad)
    assert str(loading.value) == str(annotating.value)
    assert str(bad) in str(loading.value) and "\n" not in str(loading.value)
