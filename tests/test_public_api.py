"""The public API changes only on purpose: this test pins it."""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
import types
from pathlib import Path

import pandas as pd
import pytest

import annotator
from annotator.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent

EXPECTED = {
    "AnnotateResult",
    "AnnotatorError",
    "CaptureError",
    "CaptureInfo",
    "DecompressionBombError",
    "FlowTable",
    "InputError",
    "Partial",
    "Record",
    "Registry",
    "RegistryError",
    "UpdateError",
    "UsageError",
    "__version__",
    "annotate",
    "load_registry",
    "read_flows",
}


def test_public_names_are_pinned() -> None:
    assert set(annotator.__all__) == EXPECTED
    for name in EXPECTED:
        assert hasattr(annotator, name), name


def _public_names(module: types.ModuleType) -> set[str]:
    """Names a user could reach on ``module``: not private, not a submodule of it."""
    return {
        name
        for name in dir(module)
        if not name.startswith("_") and not isinstance(getattr(module, name), types.ModuleType)
    }


def test_no_stray_public_attributes() -> None:
    """Every public name of ``annotator`` is in ``__all__``: a helper imported for the
    package's own use (``Any``, ``importlib``) must not look like part of the API."""
    assert _public_names(annotator) == set(annotator.__all__) - {"__version__"}


@pytest.mark.parametrize("name", ["report", "plot", "dask"])
def test_lazy_submodules_export_what_they_define(name: str) -> None:
    """The lazily loaded modules list in ``__all__`` every public function and class
    they define, and nothing that is not there; what they import for their own use
    (``np``, a helper from another module) is not their API and stays out."""
    if name == "dask" and importlib.util.find_spec("distributed") is None:
        pytest.skip("annotator.dask needs the [dask] extra")
    module = importlib.import_module(f"annotator.{name}")
    exported = set(module.__all__)
    assert exported <= _public_names(module), exported - _public_names(module)
    defined = {
        attr
        for attr in _public_names(module)
        if getattr(getattr(module, attr), "__module__", None) == module.__name__
    }
    assert defined <= exported, defined - exported


def test_errors_form_one_tree() -> None:
    for name in ("CaptureError", "RegistryError", "UpdateError", "UsageError", "InputError"):
        assert issubclass(getattr(annotator, name), annotator.AnnotatorError)
    assert issubclass(annotator.DecompressionBombError, annotator.CaptureError)


def test_import_is_light() -> None:
    """Heavy optional modules load lazily, never at ``import annotator``
    (multiprocessing only when ``jobs`` asks for worker processes)."""
    code = (
        "import sys, annotator; "
        "names = ('matplotlib', 'scapy', 'numba', 'dask', 'jinja2', 'multiprocessing'); "
        "heavy = [m for m in names if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_lazy_submodules() -> None:
    assert annotator.report.write_report is not None
    assert callable(annotator.plot.bytes_by_service)
    # annotator.dask loads on first use; without the [dask] extra that use is
    # a one-line UsageError naming the extra, not an ImportError traceback.
    if importlib.util.find_spec("distributed") is None:
        with pytest.raises(UsageError, match=r"pip install 'annotator\[dask\]'"):
            annotator.dask.annotate_many  # noqa: B018
    else:
        assert callable(annotator.dask.annotate_many) and callable(annotator.dask.read_many)


@pytest.mark.parametrize(
    ("source", "says"),
    [
        (b"\xd4\xc3\xb2\xa1", "give a capture path"),  # the content, not a path
        ([b"capture.pcap"], "not bytes"),
        (io.StringIO("text"), "open in text mode"),
        (42, "give a capture path"),
    ],
)
def test_sources_that_are_not_captures_raise_the_usage_error(source, says) -> None:
    # Within the documented tree (AnnotatorError), never AttributeError or TypeError.
    with pytest.raises(UsageError, match=says):
        annotator.annotate(source)


class _OtherPath(os.PathLike):
    """A path type that is not pathlib's: ``os.fspath`` is all it offers."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __fspath__(self) -> str:
        return self.path


def test_any_path_like_is_read_as_a_path() -> None:
    sample = str(ROOT / "samples" / "mixed.pcap")
    by_text = annotator.annotate(sample)
    by_path_like = annotator.annotate(_OtherPath(sample))
    assert by_path_like.captures[0].name == sample
    assert by_path_like.captures[0].sha256 == by_text.captures[0].sha256
    pd.testing.assert_frame_equal(by_path_like.flows, by_text.flows)
    pair = annotator.read_flows([_OtherPath(sample), _OtherPath(sample + ".gz")], jobs=2)
    assert sorted(c.name for c in pair.captures) == [sample, sample + ".gz"]
