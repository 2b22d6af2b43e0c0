"""Distinct values, pairs and rows of integer columns, by sorting.

The flow stage, triage and the reports group columns taken from the capture
(addresses, ports, codes of them).  ``np.unique`` was the slow part of that
on a million flows: without indices it hashes (numpy 2.3 and later), with
``axis=1`` it sorts each row as opaque bytes, and both took ten times what a
plain sort of the same integers takes.  These helpers sort the integer
columns themselves with ``np.lexsort``, whose time depends on how many
values there are, never on which values a hostile capture chose.
"""

from __future__ import annotations

import numpy as np


def _starts(*sorted_columns: np.ndarray) -> np.ndarray:
    """Where a new value (or row of values) begins in columns sorted together."""
    n = len(sorted_columns[0])
    starts = np.zeros(n, dtype=bool)
    if n:
        starts[0] = True
        for column in sorted_columns:
            starts[1:] |= column[1:] != column[:-1]
    return starts


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of a 1-d array, ascending (``np.unique(values)``)."""
    ordered = np.sort(values)
    return ordered[_starts(ordered)]


def distinct_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct pairs ``(a[i], b[i])``, ordered by ``a`` then ``b``.

    The same pairs, in the same order, as ``np.unique(np.stack([a, b]), axis=1)``.
    """
    order = np.lexsort((b, a))
    sa, sb = a[order], b[order]
    starts = _starts(sa, sb)
    return sa[starts], sb[starts]


def distinct_rows(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each distinct row of aligned ``columns``: where it first occurs, and which row is which.

    Returns ``first`` (the index of each distinct row's first occurrence, the
    distinct rows in sorted order) and ``inverse`` (for every row, the
    position of its distinct row in ``first``), as
    ``np.unique(rows, return_index=True, return_inverse=True)`` does for rows.
    """
    order = np.lexsort(columns[::-1])  # stable: each group's first entry is its first row
    starts = _starts(*(c[order] for c in columns))
    inverse = np.empty(len(order), dtype=np.intp)
    inverse[order] = np.cumsum(starts) - 1
    return order[starts], inverse


def member(values: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Which of ``values`` occur in ``allowed`` (``np.isin(values, allowed)``).

    By binary search in the sorted ``allowed``: ``np.isin`` goes through
    ``np.unique``'s hashing, which is slower on large arrays.
    """
    values = np.asarray(values)
    if not len(values) or not len(allowed):
        return np.zeros(len(values), dtype=bool)
    ordered = np.sort(allowed)
    at = np.minimum(np.searchsorted(ordered, values), len(ordered) - 1)
    return ordered[at] == values
