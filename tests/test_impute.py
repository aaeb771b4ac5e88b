"""Missing-value methods and screening (impute.py), each checked against a hand computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from index_engine.errors import DataError
from index_engine.impute import availability, carry, carry_back, carry_forward, group_median, interpolate


def panel(values: dict[tuple[str, int], float]) -> pd.Series:
    idx = pd.MultiIndex.from_tuples(list(values), names=["unit", "year"])
    return pd.Series(list(values.values()), index=idx, name="x", dtype=float)


NAN = np.nan
SERIES = panel({
    ("A", 2019): NAN, ("A", 2020): 2.0, ("A", 2021): NAN, ("A", 2022): NAN, ("A", 2023): 8.0, ("A", 2024): NAN,
    ("B", 2019): NAN, ("B", 2020): NAN, ("B", 2021): NAN, ("B", 2022): NAN, ("B", 2023): NAN, ("B", 2024): NAN,
})


def test_carry_back_takes_the_next_observed_year_of_the_same_unit():
    got = carry_back(SERIES, pd.DataFrame(index=SERIES.index))
    # A: 2019 and 2021-2022 take the next value; 2024 has none after it; B has no data at all
    np.testing.assert_array_equal(got, [2.0, 2.0, 8.0, 8.0, 8.0, NAN] + [NAN] * 6)
    assert got.index.equals(SERIES.index)


def test_carry_forward_and_carry_by_hand():
    attrs = pd.DataFrame(index=SERIES.index)
    np.testing.assert_array_equal(carry_forward(SERIES, attrs), [NAN, 2.0, 2.0, 2.0, 8.0, 8.0] + [NAN] * 6)
    np.testing.assert_array_equal(carry(SERIES, attrs), [2.0, 2.0, 2.0, 2.0, 8.0, 8.0] + [NAN] * 6)


def test_interpolate_on_the_year_line_inside_gaps_only():
    got = interpolate(SERIES, pd.DataFrame(index=SERIES.index))
    np.testing.assert_allclose(got, [NAN, 2.0, 4.0, 6.0, 8.0, NAN] + [NAN] * 6)


def test_carry_back_follows_years_not_row_order():
    shuffled = SERIES.iloc[[4, 0, 3, 1, 2, 5]]
    got = carry_back(shuffled, pd.DataFrame(index=shuffled.index))
    assert got.index.equals(shuffled.index)
    np.testing.assert_array_equal(got, [8.0, 2.0, 8.0, 2.0, 8.0, NAN])


def test_group_median_is_numpy_median_of_the_group():
    idx = pd.MultiIndex.from_product([["A", "B", "C", "D", "E", "F", "G"], [2020]], names=["unit", "year"])
    x = pd.Series([1.0, 4.0, 10.0, NAN, 3.0, NAN, NAN], index=idx, name="x")
    attrs = pd.DataFrame({"grp": ["g1", "g1", "g1", "g1", "g2", "g2", "g3"]}, index=idx)
    got = group_median(x, attrs, group="grp")
    g1 = np.median([1.0, 4.0, 10.0])
    np.testing.assert_array_equal(got, [1.0, 4.0, 10.0, g1, 3.0, 3.0, NAN])  # g3 has no data: stays missing
    with pytest.raises(DataError, match="group column 'region' is not in the data; the unit columns are 'grp'"):
        group_median(x, attrs, group="region")


def test_availability_keeps_a_share_at_the_threshold():
    idx = pd.MultiIndex.from_product([["A", "B", "C"], [2020]], names=["unit", "year"])
    data = pd.DataFrame({"a": [1.0, 0.0, NAN], "b": [2.0, NAN, NAN], "c": [3.0, 5.0, 1.0]}, index=idx)
    # shares present: A 3/3, B 2/3, C 1/3; counting zeros as gaps, B 1/3
    assert availability(data, threshold=2 / 3).tolist() == [True, True, False]
    assert availability(data, threshold=2 / 3, count_zeros="missing").tolist() == [True, False, False]
