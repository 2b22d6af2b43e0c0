"""The sort-based distinct helpers give exactly what np.unique gives."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from annotator._arrays import distinct, distinct_pairs, distinct_rows, member

# Few distinct values, so repeats are common; and the whole uint64 range.
SMALL = hnp.arrays(np.int64, st.integers(0, 60), elements=st.integers(-3, 3))
WIDE = st.integers(0, 2**64 - 1)


@given(SMALL)
def test_distinct_is_np_unique(values: np.ndarray) -> None:
    np.testing.assert_array_equal(distinct(values), np.unique(values))


@given(st.integers(0, 60).flatmap(lambda n: st.tuples(
    hnp.arrays(np.int64, n, elements=st.integers(0, 4)),
    hnp.arrays(np.int64, n, elements=st.integers(-2, 2)),
)))  # fmt: skip
def test_distinct_pairs_are_np_unique_of_the_stacked_columns(columns) -> None:
    a, b = columns
    got_a, got_b = distinct_pairs(a, b)
    want = np.unique(np.stack([a, b]), axis=1)
    np.testing.assert_array_equal(got_a, want[0])
    np.testing.assert_array_equal(got_b, want[1])


@given(st.integers(0, 60).flatmap(lambda n: st.tuples(
    hnp.arrays(np.uint64, n, elements=st.sampled_from([0, 1, 2**63, 2**64 - 1])),
    hnp.arrays(np.uint64, n, elements=WIDE),
    hnp.arrays(np.uint8, n, elements=st.integers(0, 1)),
)))  # fmt: skip
def test_distinct_rows_find_each_rows_first_occurrence(columns) -> None:
    hi, lo, flag = columns
    first, inverse = distinct_rows(hi, lo, flag)
    rows = list(zip(hi.tolist(), lo.tolist(), flag.tolist(), strict=True))
    # Every row maps to a distinct row equal to it, whose index is its first occurrence.
    assert len(inverse) == len(rows)
    assert len(first) == len(set(rows))
    for i, row in enumerate(rows):
        assert rows[first[inverse[i]]] == row
        assert first[inverse[i]] == rows.index(row)
    # The distinct rows come in sorted order.
    assert [rows[f] for f in first] == sorted(set(rows))


@given(SMALL, SMALL)
def test_member_is_np_isin(values: np.ndarray, allowed: np.ndarray) -> None:
    assert np.array_equal(member(values, allowed), np.isin(values, allowed))
