"""Settings the console script makes for its own process, never the library's
(a library must not change process-wide settings behind its caller's back;
docs/scale.md shows how to make the same choices in a notebook)."""

from __future__ import annotations

import gc
import os


def use_system_allocator() -> None:
    """Let pyarrow (under pandas' string columns) use the C library's allocator.

    pyarrow's default pool keeps freed memory for reuse, which raises the
    peak of a capture with many flows.  Only the command does
    this: a library must not change a process-wide setting behind its
    caller's back (docs/scale.md shows how to do the same in Python).  An
    explicit ARROW_DEFAULT_MEMORY_POOL is respected.
    """
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    try:
        import pyarrow
    except ImportError:  # pragma: no cover - pandas without pyarrow
        return
    pyarrow.set_memory_pool(pyarrow.system_memory_pool())


#: Allocations of container objects between the collector's youngest-generation
#: passes in the command's process (CPython's default is 700), and how many of
#: those passes before each older one.  See :func:`collect_less`.
GC_THRESHOLDS = (50_000, 20, 10)


def collect_less() -> None:
    """Run Python's cycle collector less often in the command's own process.

    A large capture makes a few Python objects per flow (fingerprint results,
    flag lists, report records) that live to the end, and with the default
    thresholds the collector walks all of them again and again.  The command
    makes few reference cycles, so with rarer passes little garbage waits
    longer.  Only the console script does
    this; the library leaves the interpreter's settings alone.
    """
    gc.set_threshold(*GC_THRESHOLDS)
