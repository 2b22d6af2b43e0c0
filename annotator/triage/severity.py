"""Severity: the order of urgency, and the questions asked of it, in one place.

A flag has a default severity; a hit of it may be given another (see
:class:`annotator.triage.flag.Flag` and :func:`annotator.triage.hits.find_hits`).
A flow's severity and a finding's are the most urgent of their hits, and
``--fail-on`` asks whether any finding is at or above a threshold: all of
them use the order and the functions below.

Two spellings of the same order are kept on purpose: :data:`SEVERITIES`
lists names most urgent first (how reports group and list them), and the
``severity`` columns are categoricals with :data:`SEVERITY_ORDER`, least
urgent first, so that ``flows.severity >= "medium"`` reads naturally and
``max()`` is the most urgent.  Array code works on *codes*, positions in
:data:`SEVERITY_ORDER`, where a larger code is more urgent.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from annotator.errors import UsageError

#: Severities from most to least urgent.
SEVERITIES: tuple[str, ...] = ("high", "medium", "low", "info")
#: Position of each severity in :data:`SEVERITIES`: 0 is the most urgent.
SEVERITY_RANK: dict[str, int] = {name: rank for rank, name in enumerate(SEVERITIES)}
#: Severities from least to most urgent: the categories of the ``severity`` columns.
SEVERITY_ORDER: tuple[str, ...] = tuple(reversed(SEVERITIES))
#: Code of each severity: its position in :data:`SEVERITY_ORDER` (larger is more urgent).
SEVERITY_CODE: dict[str, int] = {name: code for code, name in enumerate(SEVERITY_ORDER)}
#: The dtype of the flows' and the findings' ``severity`` columns.
SEVERITY_DTYPE = pd.CategoricalDtype(list(SEVERITY_ORDER), ordered=True)


def check_severity(name: str) -> str:
    """Return ``name`` when it is a severity; raise :class:`UsageError` saying which are."""
    if name not in SEVERITY_RANK:
        raise UsageError(f"unknown severity {name!r}: expected one of {', '.join(SEVERITIES)}")
    return name


def most_urgent(severities: Iterable[str]) -> str | None:
    """The most urgent of ``severities``, or None when there are none."""
    return min(severities, key=lambda name: SEVERITY_RANK[check_severity(name)], default=None)


def at_or_above(severity: str, threshold: str) -> bool:
    """Whether ``severity`` is as urgent as ``threshold`` or more."""
    return SEVERITY_RANK[check_severity(severity)] <= SEVERITY_RANK[check_severity(threshold)]


def severity_codes(names: Iterable[str] | np.ndarray) -> np.ndarray:
    """The code of each severity name in ``names`` (int8); :class:`UsageError` on any other."""
    values = np.asarray(names if isinstance(names, np.ndarray) else list(names), dtype=object)
    codes = pd.Index(SEVERITY_ORDER).get_indexer(values)
    unknown = codes < 0
    if unknown.any():
        check_severity(str(values[np.flatnonzero(unknown)[0]]))
    return codes.astype(np.int8)


def severity_names(codes: np.ndarray) -> np.ndarray:
    """The name of each severity code in ``codes``, as an object array."""
    return np.asarray(SEVERITY_ORDER, dtype=object)[np.asarray(codes, dtype=np.intp)]


def severity_column(codes: np.ndarray) -> pd.Categorical:
    """A ``severity`` column from codes; -1 is a missing severity (a flow without flags)."""
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int8), dtype=SEVERITY_DTYPE)


def most_urgent_per_group(groups: np.ndarray, codes: np.ndarray, group_count: int) -> np.ndarray:
    """For each of ``group_count`` groups, the largest of its ``codes``; -1 for a group with none.

    ``groups[i]`` is the group of ``codes[i]``.  One vectorized assignment per
    severity, least urgent first, so the most urgent one written last wins.
    """
    out = np.full(group_count, -1, dtype=np.int8)
    for code in range(len(SEVERITY_ORDER)):
        out[groups[codes == code]] = code
    return out
