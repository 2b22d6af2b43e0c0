"""annotator: label capture flows by IANA-registered service and flag what needs a look.

The public face is small (it is pinned by tests/test_public_api.py)::

    import annotator
    result = annotator.annotate("capture.pcap")     # AnnotateResult
    result.flows                                    # pandas DataFrame, one row per flow
    result.findings, result.other, result.accounting, result.registry
    table = annotator.read_flows("capture.pcap")    # the flow stage alone
    registry = annotator.load_registry()            # the registry in use, or any file

``annotator.report`` writes reports (``write_report``), ``annotator.plot``
draws charts and ``annotator.dask`` reads capture sets on a Dask cluster
(``annotate_many``); they load on first use so that ``import annotator``
stays quick.
Every error raised on purpose derives from :class:`AnnotatorError`.
"""

import importlib as _importlib
import types as _types

from annotator._api import annotate, read_flows
from annotator._version import __version__
from annotator.errors import (
    AnnotatorError,
    CaptureError,
    DecompressionBombError,
    InputError,
    RegistryError,
    UpdateError,
    UsageError,
)
from annotator.registry import Record, Registry, load_registry
from annotator.result import AnnotateResult, CaptureInfo, FlowTable, Partial

__all__ = [
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
]

_LAZY_SUBMODULES = ("dask", "plot", "report")


def __getattr__(name: str) -> _types.ModuleType:
    """Load ``annotator.dask``, ``annotator.plot`` and ``annotator.report`` on first use."""
    if name in _LAZY_SUBMODULES:
        return _importlib.import_module(f"annotator.{name}")
    raise AttributeError(f"module 'annotator' has no attribute {name!r}")
