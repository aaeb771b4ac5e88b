"""Normalisation methods (normalize.py): rank-based ones against scipy.stats.rankdata, distances and
fractions against hand computations (COINr 1.1.14's n_* formulas, docs/methodology.md §B3, §H.3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from index_engine.errors import BuildError, DataError, DegenerateIndicatorWarning
from index_engine.normalize import borda, dist2max, dist2ref, dist2targ, fracmax, prank, rank

NAN = np.nan
VALUES = np.array([3.0, 7.0, 7.0, 1.0, NAN, 10.0])


def one_year(values, units=None, year=2020) -> pd.Series:
    units = units or [f"U{i}" for i in range(len(values))]
    idx = pd.MultiIndex.from_arrays([units, [year] * len(values)], names=["unit", "year"])
    return pd.Series(np.asarray(values, dtype=float), index=idx, name="x")


def rankdata_min(v: np.ndarray) -> np.ndarray:
    """scipy's 'min' ranks of the values present, missing kept."""
    from scipy import stats

    out = np.full(v.shape, np.nan)
    ok = ~np.isnan(v)
    out[ok] = stats.rankdata(v[ok], method="min")
    return out


def test_rank_prank_and_borda_match_scipy_rankdata():
    x = one_year(VALUES)
    r = rankdata_min(VALUES)
    n = np.sum(~np.isnan(VALUES))
    np.testing.assert_array_equal(rank(x), r)
    np.testing.assert_array_equal(borda(x), r - 1)
    np.testing.assert_allclose(prank(x), (r - 1) / (n - 1), rtol=1e-15)
    # by hand: 1 < 3 < 7 = 7 < 10, ties share the lower rank
    assert borda(x).tolist()[:4] == [1.0, 2.0, 2.0, 0.0] and prank(x).iloc[5] == 1.0


def test_dist2max_by_hand():
    x = one_year(VALUES)
    # 1 − (max − x)/(max − min) with min 1, max 10
    np.testing.assert_allclose(dist2max(x), [2 / 9, 6 / 9, 6 / 9, 0.0, NAN, 1.0], rtol=1e-15)
    np.testing.assert_allclose(dist2max(x, scale=100.0), np.array([2, 6, 6, 0, NAN, 9]) / 9 * 100, rtol=1e-14)
    with pytest.warns(DegenerateIndicatorWarning, match="no spread"):
        assert dist2max(one_year([4.0, 4.0]), on_constant="midpoint", scale=100.0).tolist() == [50.0, 50.0]


def test_fracmax_by_hand():
    x = one_year(VALUES)
    np.testing.assert_allclose(fracmax(x, scale=100.0), VALUES / 10.0 * 100.0, rtol=1e-15)
    assert fracmax(x).attrs["fitted"] == {"max": 10.0}


def test_dist2targ_by_hand_and_capped():
    x = one_year(VALUES)
    # 1 − (target − x)/(target − min) with target 8, min 1
    expected = 1 - (8.0 - VALUES) / (8.0 - 1.0)
    np.testing.assert_allclose(dist2targ(x, target=8.0), expected, rtol=1e-15)
    capped = dist2targ(x, target=8.0, cap_max=True, scale=100.0)
    np.testing.assert_allclose(capped, np.minimum(expected, 1.0) * 100, rtol=1e-14)
    assert capped.iloc[5] == 100.0 and dist2targ(x, target=8.0).iloc[5] == pytest.approx(9 / 7)
    with pytest.raises(BuildError, match=r"the target equals the minimum \(1\)"):
        dist2targ(x, target=1.0)


def test_dist2ref_by_hand_per_year():
    a = one_year([2.0, 4.0, 6.0], units=["A", "B", "C"], year=2020)
    b = one_year([10.0, 5.0, 0.0], units=["A", "B", "C"], year=2021)
    x = pd.concat([a, b])
    got = dist2ref(x, ref_unit="B")
    # 2020: ref 4, min 2 -> 1 − (4 − x)/2; 2021: ref 5, min 0 -> 1 − (5 − x)/5
    np.testing.assert_allclose(got, [0.0, 1.0, 2.0, 2.0, 1.0, 0.0], rtol=1e-15)
    np.testing.assert_allclose(dist2ref(x, ref_unit="B", cap_max=True, scale=10.0), [0, 10, 10, 10, 10, 0], rtol=1e-15)
    with pytest.raises(DataError, match="the reference unit 'Z' has no row"):
        dist2ref(x, ref_unit="Z")
