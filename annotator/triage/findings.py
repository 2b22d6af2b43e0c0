"""Findings: flagged flows grouped so one noisy server is one finding, not ten thousand.

A finding is one (flag, transport, server, port, observed protocol), built
from the hits of :func:`annotator.triage.hits.find_hits` (the rules are not
run again).  It is as urgent as its most urgent hit, and its ``detail`` is
its flag's sentence over the finding's facts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import numpy as np
import pandas as pd

from annotator._arrays import distinct_pairs, distinct_rows
from annotator.triage.flag import FACT_COLUMNS, FindingFacts
from annotator.triage.hits import Hits
from annotator.triage.severity import SEVERITY_DTYPE, most_urgent_per_group, severity_column

FINDING_COLUMNS = (
    "severity",
    "flag",
    "title",
    "detail",
    "attack",
    "transport",
    "server_ip",
    "server_port",
    "service",
    "observed_protocol",
    "server_name",
    "flows",
    "clients",
    "bytes",
    "first_seen",
    "last_seen",
    "flow_index",
)

#: Columns a finding takes from the first of its flows where they are present.
_FIRST_PRESENT = (
    "service",
    "observed_protocol",
    "server_name",
    "unauthorized_use",
    "registry_notes",
    "other_transports",
)


def build_findings(flows: pd.DataFrame, hits: Hits) -> pd.DataFrame:
    """Group the ``hits`` over ``flows`` into findings, most urgent first, then by bytes.

    The grouping runs on numpy arrays of factorized keys (groups numbered in
    order of first appearance, as a pandas groupby without sorting would),
    because a pandas groupby's fixed cost dominates triage on a small capture.
    """
    if not len(hits):
        return _empty_findings()
    rows = hits.rows  # flow row of each (flag, flow) hit, flag by flag
    flag_code = hits.flag

    def codes_of(name: str) -> np.ndarray:
        # Factorized over the whole column (missing values as one more code),
        # then picked: no Python object per cell.  Only equality of codes
        # matters; groups are numbered by first appearance in _groups.
        return pd.factorize(flows[name], use_na_sentinel=False)[0][rows]

    keys = np.stack(
        [
            flag_code,
            codes_of("transport"),
            codes_of("server_ip"),
            flows["server_port"].to_numpy(dtype=np.int64)[rows],
            codes_of("observed_protocol"),
        ]
    )
    group, n = _groups(keys)
    first_hit = _first_of_each(group, n, np.ones(len(rows), dtype=bool))
    first_row = rows[first_hit]

    client_code = pd.factorize(flows["client_ip"])[0][rows]  # missing addresses: -1, not counted
    known = client_code >= 0
    client_groups, _ = distinct_pairs(group[known], client_code[known])
    total = np.zeros(n, dtype=np.int64)
    np.add.at(total, group, flows["bytes"].to_numpy(dtype=np.int64)[rows])

    group_flag = flag_code[first_hit]
    flag_ids = [flag.id for flag in hits.flags]
    agg = pd.DataFrame(
        {
            "flag": pd.array([flag_ids[c] for c in group_flag.tolist()], dtype="str"),
            "transport": flows["transport"].astype(str).take(first_row),
            "server_ip": flows["server_ip"].take(first_row),
            "server_port": flows["server_port"].take(first_row),
            "flows": np.bincount(group, minlength=n),
            "clients": np.bincount(client_groups, minlength=n),
            "bytes": total,
        }
    ).reset_index(drop=True)
    for name, pick_last in (("first_seen", False), ("last_seen", True)):
        column = flows[name]
        stamps = column.to_numpy(dtype="datetime64[ns]").view(np.int64)[rows]
        present = column.notna().to_numpy()[rows]
        agg[name] = _take(column, rows, _extreme_of_each(group, n, stamps, present, pick_last))
    for name in _FIRST_PRESENT:
        present = flows[name].notna().to_numpy()[rows]
        agg[name] = _take(flows[name], rows, _first_of_each(group, n, present))
    # The flow rows of each group: sort the hits by group number and cut the
    # sorted rows, as one Python list, at the group boundaries.
    by_group = rows[np.argsort(group, kind="stable")]
    ends = np.cumsum(np.bincount(group, minlength=n)).tolist()
    positions = by_group.tolist()  # slicing one list is cheaper than n array views
    agg["flow_index"] = [positions[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]

    # Per-flag facts looked up by flag code: one lookup per flag, not per finding.
    agg["severity"] = severity_column(most_urgent_per_group(group, hits.severity, n))
    agg["title"] = np.array([f.title for f in hits.flags], dtype=object)[group_flag]
    agg["attack"] = pd.array(np.array([f.attack for f in hits.flags], dtype=object)[group_flag],
                             dtype="string")  # fmt: skip
    details = [flag.detail for flag in hits.flags]
    agg["detail"] = [
        details[code](facts) for code, facts in zip(group_flag.tolist(), _facts(agg), strict=True)
    ]
    agg = agg.sort_values(["severity", "bytes"], ascending=[False, False], kind="stable")
    return agg[list(FINDING_COLUMNS)].reset_index(drop=True)


def _groups(keys: np.ndarray) -> tuple[np.ndarray, int]:
    """Group number of each column of ``keys`` (numbered by first appearance), and the count.

    ``keys`` holds non-negative codes.  When their ranges multiply to less
    than 2**62 (always, short of millions of servers), each column becomes one
    integer and a hash table numbers them; the general way sorts the columns,
    which is several times slower on many findings.
    """
    combined = np.zeros(keys.shape[1], dtype=np.int64)
    span = 1
    for row in keys:
        size = int(row.max()) + 1 if row.size else 1
        span *= size
        if span >= 2**62:
            break
        combined = combined * size + row
    else:
        group, uniques = pd.factorize(combined)  # numbered by first appearance
        return group.astype(np.int64), len(uniques)
    first, inverse = distinct_rows(*keys)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(first), dtype=np.int64)
    rank[order] = np.arange(len(first))
    return rank[inverse], len(first)


def _first_of_each(group: np.ndarray, n: int, mask: np.ndarray) -> np.ndarray:
    """Per group, the position of its first entry where ``mask`` holds; -1 for none."""
    candidates = np.flatnonzero(mask)
    out = np.full(n, -1, dtype=np.int64)
    out[group[candidates][::-1]] = candidates[::-1]  # the last write, the first position, wins
    return out


def _extreme_of_each(
    group: np.ndarray, n: int, values: np.ndarray, mask: np.ndarray, largest: bool
) -> np.ndarray:
    """Per group, the position of its smallest (or largest) value where ``mask`` holds, or -1."""
    candidates = np.flatnonzero(mask)
    ranked = candidates[np.argsort(values[candidates], kind="stable")]
    if not largest:
        ranked = ranked[::-1]
    out = np.full(n, -1, dtype=np.int64)
    out[group[ranked]] = ranked  # the last write wins: the extreme value
    return out


def _take(column: pd.Series, rows: np.ndarray, picks: np.ndarray) -> pd.Series:
    """``column`` at the flow rows of ``picks`` (positions into ``rows``), missing where -1."""
    where = np.where(picks >= 0, rows[np.maximum(picks, 0)], -1)
    return pd.Series(column.array.take(where, allow_fill=True))


def _facts(frame: pd.DataFrame) -> Iterator[FindingFacts]:
    """Each finding's facts for its detail sentence (missing values as None), one at a time.

    Far cheaper than ``to_dict("records")`` over Arrow-backed string columns,
    and a generator, so the dicts of many findings are never held at once.
    """
    arrays = [_shared_objects(frame[c]) for c in FACT_COLUMNS]
    for values in zip(*arrays, strict=True):
        yield cast(FindingFacts, dict(zip(FACT_COLUMNS, values, strict=True)))


def _shared_objects(column: pd.Series) -> np.ndarray:
    """``column`` as an object array holding one Python object per distinct value.

    Findings repeat the same registry notes and addresses many times;
    converting each cell would make a new string apiece.
    """
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    values = np.empty(len(uniques) + 1, dtype=object)  # the last slot, None, is for -1
    values[:-1] = np.asarray(uniques, dtype=object)
    return values[codes]


def _empty_findings() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in FINDING_COLUMNS})
    frame["severity"] = pd.Categorical([], dtype=SEVERITY_DTYPE)
    return frame
