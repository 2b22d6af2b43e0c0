"""The exception tree of annotator, in one place.

Every error the library raises on purpose derives from :class:`AnnotatorError`,
so a caller (the ``annotate`` command among them) can catch that one class and
print a one-line message instead of a traceback::

    AnnotatorError                 base class; ``str(err)`` is a one-line message
    ├── UsageError                 a bad argument or option (exit code 2)
    ├── InputError                 an input file cannot be used at all (exit code 2)
    │   ├── CaptureError           not a capture, unreadable, empty, unsupported
    │   │   └── DecompressionBombError  compressed input expands beyond the limits
    │   └── RegistryError          not a registry, hostile XML, implausible content
    └── UpdateError                ``annotate registry update`` failed (exit code 2)

A capture that is only partly readable is not an error: the result carries a
``partial`` record (byte offset and reason) and the command exits with code 3.
"""

from __future__ import annotations

from pathlib import Path


class AnnotatorError(Exception):
    """Base class of every error annotator raises on purpose."""

    exit_code: int = 2


class UsageError(AnnotatorError):
    """A bad argument or option value."""


class InputError(AnnotatorError):
    """An input file that cannot be used at all.

    The message always names the file and the problem, on one line.
    """

    def __init__(self, path: str | Path | None, problem: str) -> None:
        self.path = str(path) if path is not None else None
        self.problem = problem
        where = f"{self.path}: " if self.path else ""
        super().__init__(f"{where}{problem}")

    def __reduce__(self) -> tuple:
        # Rebuilt from (path, problem), so the error crosses process
        # boundaries intact (``jobs``, Dask workers).
        return (type(self), (self.path, self.problem))


class CaptureError(InputError):
    """The capture file is unreadable, empty, not a capture, or unsupported."""


class DecompressionBombError(CaptureError):
    """Compressed input expands beyond the configured size or ratio limit."""


class RegistryError(InputError):
    """The registry file is unreadable, hostile, or not a registry."""


class UpdateError(AnnotatorError):
    """Downloading or installing a registry update failed."""
