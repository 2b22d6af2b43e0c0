"""Which record walk a capture reader uses: C, numba or plain Python.

Three walks give the same arrays.  The C walk (``_cwalk``, built from
``_cwalk.c`` at install time when a C compiler is present) is the fastest
and costs nothing to load, so ``engine="auto"`` uses it from the first record
whatever the size.  When it was not built, the numba walk (:mod:`.numbawalk`,
the ``fast`` extra) is as fast per record but costly to start in each process
(importing numba and initialising LLVM, even with the compiled code cached on
disk), which only pays off over many records: ``"auto"`` then takes it from
the start for a stored file of at least :data:`NUMBA_MIN_BYTES`, and
otherwise walks with plain Python (:mod:`.pywalk`) until
:data:`NUMBA_MIN_RECORDS` records or :data:`NUMBA_MIN_BYTES` of stream have
gone by (standard input and compressed files have no size up front), then
switches; it stays with Python when numba is not installed either.  ``"c"``,
``"numba"`` and ``"python"`` force one (the tests use them to check that all
give the same arrays).  ``benchmarks/bench_read.py`` measures the walks and
their start-up.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from annotator.capture.formats import pywalk
from annotator.errors import UsageError

#: The values of a reader's ``engine`` option.
ENGINES = ("auto", "c", "numba", "python")
#: A stored file at least this large, or this much stream read, repays loading numba.
NUMBA_MIN_BYTES = 128 * 1024 * 1024
#: So do this many records walked.
NUMBA_MIN_RECORDS = 500_000


def load_c() -> ModuleType | None:
    """The C walk, or None when the extension was not built (no compiler at install)."""
    try:
        return importlib.import_module("annotator.capture.formats._cwalk")
    except ImportError:
        return None


def load_numba() -> ModuleType | None:
    """The numba walk, or None when numba is not installed."""
    try:
        from annotator.capture.formats import numbawalk
    except ImportError:
        return None
    return numbawalk


def available_engines() -> tuple[str, ...]:
    """The engines that can be forced here: ``"c"`` when built, ``"numba"`` when installed.

    ``"python"`` is always among them.  Whether numba is installed is looked up
    without importing it, as the import alone is slow.
    """
    found = ["c"] if load_c() is not None else []
    if importlib.util.find_spec("numba") is not None:
        found.append("numba")
    return (*found, "python")


class WalkChoice:
    """The record walk of one read: fixed by ``engine``, or chosen as it goes (``"auto"``).

    :attr:`module` is the walk once it is decided (None while ``"auto"``
    still walks with plain Python and may switch to numba).  An unknown
    engine, or a forced one that is not available here, is a
    :class:`~annotator.errors.UsageError`.
    """

    def __init__(self, engine: str) -> None:
        if engine not in ENGINES:
            raise UsageError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
        self.engine = engine
        self.module: ModuleType | None = pywalk if engine == "python" else None
        if engine in ("c", "auto"):
            self.module = load_c()
            if self.module is None and engine == "c":
                raise UsageError(
                    "engine 'c' asked for, but the C record walk was not built "
                    "(reinstall annotator with a C compiler and the Python headers present)"
                )

    def choose(self, stored: int | None, seen: int, records: int) -> ModuleType:
        """The walk for the next step of a read not yet decided.

        ``stored`` is the size of an uncompressed stored file (None when
        unknown or compressed), ``seen`` the stream bytes read so far and
        ``records`` the records walked so far.
        """
        if self.module is not None:
            return self.module
        if self.engine == "numba":
            numba = load_numba()
            if numba is None:
                raise UsageError("engine 'numba' asked for, but numba is not installed")
            self.module = numba
            return numba
        if (
            (stored or 0) >= NUMBA_MIN_BYTES
            or seen >= NUMBA_MIN_BYTES
            or records >= NUMBA_MIN_RECORDS
        ):
            self.module = load_numba() or pywalk
            return self.module
        return pywalk  # small so far: decide again on the next buffer
