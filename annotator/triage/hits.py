"""The one evaluation of the flags' rules over a flow table: every (flag, flow) hit.

:func:`find_hits` runs each flag's rule once and keeps, for every flow a rule
holds for, the flow's row, the flag and the hit's severity.  Both the flows'
``flags`` and ``severity`` columns (:func:`flag_lists`, :func:`flow_severity`)
and the findings (:func:`annotator.triage.findings.build_findings`) are read
from these hits, so the rules never run twice and the three can never
disagree.

A hit's severity is its flag's default, unless the flag decides per hit
(:attr:`Flag.severity_of <annotator.triage.flag.Flag.severity_of>`: a tunnel
flag whose urgency depends on the tunnel) or the caller adjusts the hits
afterwards (``adjust_severity``: a site policy raising what it cares about).
A flow's severity, and a finding's, is the most urgent of its hits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from annotator.triage.flag import Flag
from annotator.triage.flags import FLAGS
from annotator.triage.severity import (
    SEVERITY_CODE,
    most_urgent_per_group,
    severity_codes,
    severity_column,
    severity_names,
)

#: Flags a flow's bit set can hold: one bit each in an int64, the sign bit unused.
MAX_FLAGS = 63


@dataclass(frozen=True, eq=False)  # arrays have no single truth value to compare by
class Hits:
    """Every (flag, flow) pair whose rule holds, flag by flag.

    ``rows``, ``flag`` and ``severity`` are parallel arrays with one entry per
    hit, ordered by flag (the order of ``flags``) and, within a flag, by flow
    row: the order a flow lists its flags and findings number their groups.
    """

    #: The flags evaluated, in order; ``flag`` holds positions in it.
    flags: tuple[Flag, ...]
    #: Position of each hit's flow in the flow table (int64).
    rows: np.ndarray
    #: Position of each hit's flag in ``flags`` (int64, ascending).
    flag: np.ndarray
    #: Severity code of each hit (int8, see :data:`annotator.triage.severity.SEVERITY_CODE`).
    severity: np.ndarray
    #: Rows in the flow table.
    flow_count: int

    def __len__(self) -> int:
        return len(self.rows)

    def severity_names(self) -> np.ndarray:
        """Each hit's severity by name (an object array)."""
        return severity_names(self.severity)

    def with_severity(self, names: Iterable[str] | np.ndarray) -> Hits:
        """These hits with the given severity names, one per hit."""
        codes = severity_codes(names)
        if len(codes) != len(self):
            raise ValueError(f"expected {len(self)} severities, one per hit, got {len(codes)}")
        return Hits(self.flags, self.rows, self.flag, codes, self.flow_count)


#: A caller's say on the hits' severities: the flow table and the hits in, one
#: severity name per hit out (a site policy raising findings it cares about).
SeverityAdjustment = Callable[[pd.DataFrame, Hits], np.ndarray]


def find_hits(
    flows: pd.DataFrame,
    flags: Iterable[Flag] = FLAGS.values(),
    *,
    adjust_severity: SeverityAdjustment | None = None,
) -> Hits:
    """Run every flag's rule once over ``flows`` and collect the hits.

    ``adjust_severity``, when given, is called with the flow table and the
    hits (severities as the flags decide) and returns each hit's severity.
    """
    flags = tuple(flags)
    if len(flags) > MAX_FLAGS:
        raise ValueError(f"at most {MAX_FLAGS} flags can be evaluated together, got {len(flags)}")
    n = len(flows)
    rows: list[np.ndarray] = []
    severities: list[np.ndarray] = []
    counts = np.zeros(len(flags), dtype=np.int64)
    for code, flag in enumerate(flags):
        mask = np.asarray(flag.rule(flows))
        if mask.dtype != np.bool_ or mask.shape != (n,):
            raise ValueError(
                f"the rule of flag {flag.id!r} must return {n} booleans, one per flow; "
                f"it returned {mask.dtype} of shape {mask.shape}"
            )
        hit = np.flatnonzero(mask)
        counts[code] = hit.size
        rows.append(hit)
        severity_of = flag.severity_of
        if severity_of is None:
            severities.append(np.full(hit.size, SEVERITY_CODE[flag.severity], dtype=np.int8))
            continue
        codes = severity_codes(severity_of(flows, hit))
        if len(codes) != hit.size:
            raise ValueError(
                f"the severities of flag {flag.id!r} must be one per hit ({hit.size}), "
                f"got {len(codes)}"
            )
        severities.append(codes)
    hits = Hits(
        flags=flags,
        rows=np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64),
        flag=np.repeat(np.arange(len(flags), dtype=np.int64), counts),
        severity=np.concatenate(severities) if severities else np.zeros(0, dtype=np.int8),
        flow_count=n,
    )
    if adjust_severity is not None:
        hits = hits.with_severity(adjust_severity(flows, hits))
    return hits


def flag_lists(hits: Hits) -> list[list[str]]:
    """Each flow's flag ids, in the order of ``hits.flags`` (a list of its own per flow).

    Each flow's flags become one bit set; the id lists are built once per
    distinct set and copied per flow, so no Python work is done per hit.
    """
    ids = [flag.id for flag in hits.flags]
    bits = np.zeros(hits.flow_count, dtype=np.int64)
    bounds = np.searchsorted(hits.flag, np.arange(len(ids) + 1)).tolist()
    for code in range(len(ids)):
        bits[hits.rows[bounds[code] : bounds[code + 1]]] |= np.int64(1) << code
    distinct, inverse = np.unique(bits, return_inverse=True)
    names = [[ids[b] for b in range(len(ids)) if code >> b & 1] for code in distinct.tolist()]
    return [list(names[i]) for i in inverse.reshape(-1).tolist()]


def flow_severity(hits: Hits) -> pd.Categorical:
    """Each flow's most urgent severity among its hits; missing for a flow without flags."""
    return severity_column(most_urgent_per_group(hits.rows, hits.severity, hits.flow_count))
