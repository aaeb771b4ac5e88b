"""Transforms and denominators (transform.py), each checked against an independent computation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from index_engine.errors import DataError, SpecError
from index_engine.transform import TRANSFORM, boxcox, cap, divide, log1p, rolling_sum


def panel(values: dict[tuple[str, int], float]) -> pd.Series:
    idx = pd.MultiIndex.from_tuples(list(values), names=["unit", "year"])
    return pd.Series(list(values.values()), index=idx, name="x", dtype=float)


def test_boxcox_matches_scipy_with_a_fixed_lambda():
    from scipy import stats

    x = panel({("A", 2020): 0.5, ("B", 2020): 1.0, ("C", 2020): 4.0, ("D", 2020): 30.0})
    for lmbda in (0.5, 0.0, -1.0, 2.0):
        np.testing.assert_allclose(boxcox(x, lmbda=lmbda), stats.boxcox(x.to_numpy(), lmbda=lmbda), rtol=1e-14)
    np.testing.assert_allclose(boxcox(x - 1, lmbda=0.5, shift=1.0), stats.boxcox(x.to_numpy(), lmbda=0.5), rtol=1e-14)
    with pytest.raises(DataError, match=r"boxcox needs x \+ shift > 0 \(shift = 0\)"):
        boxcox(x - 1, lmbda=0.5)


def test_log1p_by_hand():
    x = panel({("A", 2020): 0.0, ("B", 2020): math.e - 1, ("C", 2020): 9.0, ("D", 2020): -0.5})
    np.testing.assert_allclose(log1p(x), [0.0, 1.0, math.log(10), -math.log(2)], rtol=1e-15)
    with pytest.raises(DataError, match="log1p needs values > -1"):
        log1p(panel({("A", 2020): -1.0}))


def test_cap_is_numpy_clip_and_needs_a_bound():
    x = panel({("A", 2020): -3.0, ("B", 2020): 2.0, ("C", 2020): 7.5, ("D", 2020): np.nan})
    np.testing.assert_array_equal(cap(x, lower=0.0, upper=5.0), np.clip(x.to_numpy(), 0.0, 5.0))
    np.testing.assert_array_equal(cap(x, upper=5.0), [-3.0, 2.0, 5.0, np.nan])
    m = TRANSFORM.get("cap")
    with pytest.raises(SpecError, match="give 'lower', 'upper' or both"):
        m.validate({}, "t.yaml: steps.transform.params")
    with pytest.raises(SpecError, match=r"'lower' \(5\) must not exceed 'upper' \(1\)"):
        m.validate({"lower": 5, "upper": 1}, "t.yaml: steps.transform.params")


def test_rolling_sum_by_hand_with_a_missing_year_and_an_absent_year():
    # unit A: 2019..2022 with 2021 missing; unit B has no 2020 row at all (a calendar gap)
    x = panel({
        ("A", 2019): 1.0, ("A", 2020): 2.0, ("A", 2021): np.nan, ("A", 2022): 4.0,
        ("B", 2019): 10.0, ("B", 2021): 30.0, ("B", 2022): 40.0,
    })
    got = rolling_sum(x, window=2)
    assert got.index.equals(x.index)
    # the sum of the year and the one before; a missing or absent year in the window gives a gap
    np.testing.assert_array_equal(got, [np.nan, 3.0, np.nan, np.nan, np.nan, np.nan, 70.0])
    # with min_periods=1 the observed years of the window are summed
    np.testing.assert_array_equal(rolling_sum(x, window=2, min_periods=1), [1.0, 3.0, 2.0, 4.0, 10.0, 30.0, 70.0])
    np.testing.assert_array_equal(rolling_sum(x, window=3, min_periods=2), [np.nan, 3.0, 3.0, 6.0, np.nan, 40.0, 70.0])


def test_divide_by_hand_and_zero_denominator():
    x = panel({("A", 2020): 6.0, ("B", 2020): 3.0, ("C", 2020): 1.0})
    den = pd.Series([2.0, np.nan, 4.0], index=x.index, name="gdp")
    np.testing.assert_array_equal(divide(x, den, scale=100.0), [300.0, np.nan, 25.0])
    assert divide(x, None) is x
    with pytest.raises(DataError, match="denominator 'gdp' is 0"):
        divide(x, den.fillna(0.0))
