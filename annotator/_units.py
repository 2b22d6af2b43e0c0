"""Quantities written for people: the one byte-size formatter of the project.

Reports, the command's messages, charts and the capture reader's limit
messages all write sizes the same way (``1536`` -> ``"1.5 KiB"``), so a size
in an error reads like the same size in a report.  Exact counts stay exact in
the machine formats (JSON, CSV, Parquet).
"""

from __future__ import annotations

import math

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def human_bytes(n: float | None) -> str:
    """``1536`` -> ``"1.5 KiB"``; whole bytes below 1 KiB; ``"-"`` when unknown.

    Binary units (powers of 1,024), one decimal from KiB up, TiB the largest.
    """
    if n is None:
        return "-"
    try:
        value = float(n)
    except (TypeError, ValueError):
        return "-"  # pandas' NA and NaT, which float() refuses
    if math.isnan(value):
        return "-"
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable: the last unit always returns")  # pragma: no cover
