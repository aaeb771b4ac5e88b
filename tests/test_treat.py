"""Outlier treatment (treat.py), checked against scipy and hand computations."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from index_engine._checks import kurt_excel, skew_excel
from index_engine.errors import SmallSampleWarning
from index_engine.treat import jrc, winsorise, zscore_clip


def series(values) -> pd.Series:
    idx = pd.MultiIndex.from_arrays([[f"U{i:02d}" for i in range(len(values))], [2020] * len(values)], names=["unit", "year"])
    return pd.Series(np.asarray(values, dtype=float), index=idx, name="x")


TWO_HIGH = series(list(range(1, 19)) + [200.0, 300.0])  # n = 20, two outliers at the top


def fails_jrc_test(v: np.ndarray) -> bool:
    return abs(skew_excel(v)) >= 2.0 and kurt_excel(v) >= 3.5


def test_winsorise_matches_scipy_mstats_winsorize():
    from scipy.stats import mstats

    x = TWO_HIGH
    assert fails_jrc_test(x.to_numpy())
    y, lab = winsorise(x)
    # two passes: 300 takes 200, then both 200s take 18 (ties count), after which the rule passes
    expected = np.asarray(mstats.winsorize(x.to_numpy(), limits=(0, 2 / 20)))
    np.testing.assert_array_equal(y, expected)
    assert expected[-2:].tolist() == [18.0, 18.0]
    assert lab.tolist() == [""] * 18 + ["winhi", "winhi"]
    assert not fails_jrc_test(y.to_numpy())


def test_winsorise_keeps_its_points_when_the_limit_stops_it_where_jrc_falls_back_to_the_log():
    from scipy.stats import mstats

    x = TWO_HIGH
    y, lab = winsorise(x, winmax=1)
    np.testing.assert_array_equal(y, np.asarray(mstats.winsorize(x.to_numpy(), limits=(0, 1 / 20))))
    assert fails_jrc_test(y.to_numpy()) and lab.tolist() == [""] * 19 + ["winhi"]
    v = x.to_numpy()
    y_jrc, lab_jrc = jrc(x, winmax=1)
    np.testing.assert_allclose(y_jrc, np.log(v - v.min() + 0.01 * (v.max() - v.min())), rtol=1e-15)
    assert set(lab_jrc) == {"log_ct"}


def test_winsorise_mirrors_at_the_minimum_for_negative_skew():
    from scipy.stats import mstats

    x = -TWO_HIGH
    y, lab = winsorise(x)
    np.testing.assert_array_equal(y, np.asarray(mstats.winsorize(x.to_numpy(), limits=(2 / 20, 0))))
    assert lab.tolist() == [""] * 18 + ["winlo", "winlo"]


def test_winsorise_leaves_a_passing_indicator_and_warns_below_four_points():
    x = series(np.arange(1.0, 21.0))
    y, lab = winsorise(x)
    assert y is x and (lab == "").all()
    with pytest.warns(SmallSampleWarning, match="only 3 values"):
        y, _ = winsorise(series([1.0, 2.0, 1000.0]))
    np.testing.assert_array_equal(y, [1.0, 2.0, 1000.0])


def test_zscore_clip_replaces_points_beyond_three_sample_sds():
    from scipy import stats

    v = np.r_[np.arange(1.0, 31.0), [150.0, -120.0], np.nan]
    z = stats.zscore(v[:-1], ddof=1)
    assert (np.abs(z) > 3).tolist() == [False] * 30 + [True, True]  # scipy's z-scores with n − 1
    y, lab = zscore_clip(series(v), z=3.0)
    np.testing.assert_array_equal(y, np.r_[np.arange(1.0, 31.0), [30.0, 1.0], np.nan])
    assert lab.tolist() == [""] * 30 + ["winhi", "winlo", ""]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y, lab = zscore_clip(series(v), z=4.0)  # no |z| > 4: nothing changes
    np.testing.assert_array_equal(y, v)
    assert (lab == "").all()


def test_zscore_clip_of_a_constant_or_single_value_changes_nothing():
    for v in ([5.0, 5.0, 5.0], [7.0, np.nan]):
        y, lab = zscore_clip(series(v))
        np.testing.assert_array_equal(y, v)
        assert (lab == "").all()
