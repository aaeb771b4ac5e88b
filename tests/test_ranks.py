"""The one rank function (index_engine.ranks): 1 = best within each year, ties "min" within a
relative tolerance, missing kept; checked against pandas' rank(method="min")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from index_engine import ranks
from index_engine.ranks import RANK_RTOL, rank_desc, rank_scores, year_groups


def _pandas_ranks(x: np.ndarray, years: np.ndarray) -> np.ndarray:
    return np.stack([pd.Series(row).groupby(years).rank(ascending=False, method="min").to_numpy() for row in x])


def test_float_residue_ties():
    """27.000000000000004 and 27.0 are one score: they share rank 1 and the next is 3."""
    assert rank_desc(np.array([27.0, 27.000000000000004, 26.0])).tolist() == [1.0, 1.0, 3.0]
    assert rank_desc(np.array([0.1 + 0.2, 0.3, 0.30000001])).tolist() == [2.0, 2.0, 1.0]


@pytest.mark.parametrize("scale", [1e-3, 1.0, 100.0, 1e6])
def test_tolerance_is_relative_above_one(scale):
    """|a − b| <= RANK_RTOL · max(1, |a|, |b|): inside it a tie, at twice it two ranks."""
    a = 7.0 * scale
    tol = RANK_RTOL * max(1.0, a)
    assert rank_desc(np.array([a, a + 0.5 * tol, a - 0.9 * tol])).tolist() == [1.0, 1.0, 1.0]
    assert rank_desc(np.array([a, a + 2 * tol])).tolist() == [2.0, 1.0]
    assert rank_desc(np.array([-a, -a - 0.5 * tol, 0.0])).tolist() == [2.0, 2.0, 1.0]


def test_missing_kept_and_years_separate():
    x = np.array([[3.0, 1.0, 3.0, np.nan, 5.0, 5.0]])
    years = np.array([2020, 2020, 2020, 2020, 2021, 2021])
    groups = [np.flatnonzero(years == y) for y in (2020, 2021)]
    np.testing.assert_array_equal(rank_desc(x, groups), [[1.0, 3.0, 1.0, np.nan, 1.0, 1.0]])


@pytest.mark.parametrize("kind", ["ties", "distinct"])
@pytest.mark.parametrize("wide", [False, True])
def test_matches_pandas(monkeypatch, kind, wide):
    """Both ways of ranking (blocks of samples; one wide sample at a time) give pandas' ranks
    when no two distinct scores are within the tolerance."""
    if wide:
        monkeypatch.setattr(ranks, "_WIDE", 1)
    rng = np.random.default_rng(3)
    if kind == "ties":
        x = rng.integers(0, 7, size=(40, 30)).astype(float)
        x[x == 6] = np.nan
    else:
        x = rng.permutation(40 * 30).reshape(40, 30) * 0.37
        x[rng.random(x.shape) < 0.1] = np.nan
    years = np.repeat([2019, 2020, 2021], 10)
    groups = [np.flatnonzero(years == y) for y in np.unique(years)]
    np.testing.assert_array_equal(rank_desc(x, groups), _pandas_ranks(x, years))


def test_many_distinct_values_one_at_a_time(monkeypatch):
    """A wide sample with more distinct values than the counting path takes is sorted instead."""
    monkeypatch.setattr(ranks, "_WIDE", 1)
    x = np.arange(6000, dtype=float)[None, :] * 1.5
    x[0, 10] = x[0, 11]
    np.testing.assert_array_equal(rank_desc(x), _pandas_ranks(x, np.zeros(6000)))


def test_rank_scores_of_a_build_table():
    idx = pd.MultiIndex.from_tuples(
        [("A", 2020), ("B", 2020), ("C", 2020), ("A", 2021), ("B", 2021)], names=["unit", "year"]
    )
    scores = pd.DataFrame({"IDX": [2.0, 2.0 + 1e-13, 1.0, np.nan, 4.0], "D1": [1.0, 2.0, 3.0, 4.0, 4.0]}, index=idx)
    r = rank_scores(scores)
    assert r.index.equals(idx) and list(r.columns) == ["IDX", "D1"]
    np.testing.assert_array_equal(r["IDX"], [1.0, 1.0, 3.0, np.nan, 1.0])
    np.testing.assert_array_equal(r["D1"], [3.0, 2.0, 1.0, 1.0, 1.0])
    assert [g.tolist() for g in year_groups(idx)] == [[0, 1, 2], [3, 4]]


def test_rank_scores_of_one_wide_year_ranks_each_column_from_its_own_array(monkeypatch):
    """One year of many units: each column is ranked from its own array (no copy of the table), with the
    same ranks as pandas' and as the blocks of samples give."""
    rng = np.random.default_rng(8)
    idx = pd.MultiIndex.from_arrays([[f"U{k:03d}" for k in range(300)], np.full(300, 2025)], names=["unit", "year"])
    scores = pd.DataFrame({"IDX": rng.integers(0, 9, 300) * 1.5, "D1": rng.normal(size=300), "D2": rng.normal(size=300)}, index=idx)
    scores.iloc[::7, 1] = np.nan
    blocks = rank_scores(scores)
    monkeypatch.setattr(ranks, "_WIDE", 100)
    each = rank_scores(scores)
    pd.testing.assert_frame_equal(each, blocks, check_exact=True)
    pd.testing.assert_frame_equal(each, scores.rank(ascending=False, method="min"), check_exact=True)


def test_ranks_of_keeps_only_the_nodes_asked_to_keep(tiny_spec, tiny_panel):
    """Build.ranks_of keeps what it ranked, or with ``keep`` only those nodes' ranks (a large build keeps the
    index's once ranks.parquet is written); the ranks are rank_scores' either way."""
    import index_engine as ie

    b = ie.build(tiny_spec, tiny_panel)
    aggs, root = list(b.spec.aggregates), b.spec.tree.code
    expected = rank_scores(b.published[aggs])
    pd.testing.assert_frame_equal(b.ranks_of(aggs, keep=[root]), expected)
    assert [list(r.columns) for r in b.__dict__["_ranks_of"]] == [[root]]
    pd.testing.assert_frame_equal(b.ranks_of([root]), expected[[root]])
    pd.testing.assert_frame_equal(b.ranks_of(aggs), expected)
    assert [list(r.columns) for r in b.__dict__["_ranks_of"]] == [[root], aggs]


def test_whole_numbers_are_coded_by_counting_as_by_hashing(monkeypatch):
    """Whole numbers in a narrow span (points, counts) are coded by counting them, with the codes and
    distinct values the hashing path gives; fractions, wide spans and huge values go to hashing."""
    rng = np.random.default_rng(11)
    v = rng.integers(-40, 90, 50_000).astype(float)
    v[::97] = -0.0
    whole = ranks._value_codes(v, 4096)
    assert whole is not None and ranks._whole_number_codes(v) is not None
    monkeypatch.setattr(ranks, "_WHOLE_SPAN", -1)  # nothing is coded by counting
    hashed = ranks._value_codes(v, 4096)
    np.testing.assert_array_equal(whole[0], hashed[0])
    np.testing.assert_array_equal(whole[1], hashed[1])
    monkeypatch.undo()
    assert ranks._value_codes(v, 100) is None  # 130 distinct values
    for other in (v + 0.5, v * 1e4, np.array([2.0**60, 2.0**60 + 4096])):
        assert ranks._whole_number_codes(other) is None


def test_year_codes_read_the_index_level():
    """Years come from the MultiIndex's own codes: levels keeping years no row has, and unsorted levels."""
    idx = pd.MultiIndex(levels=[["A", "B"], [2022, 2020, 2021]], codes=[[0, 1, 0, 1], [0, 1, 0, 1]], names=["unit", "year"])
    codes, present = ranks.year_codes(idx)
    assert idx.levels[1][present].tolist() == [2020, 2022]  # 2021: no row
    assert [g.tolist() for g in year_groups(idx)] == [[1, 3], [0, 2]]
    one = pd.MultiIndex.from_arrays([["A", "B"], [2025, 2025]], names=["unit", "year"])
    assert [g.tolist() for g in year_groups(one)] == [[0, 1]] and year_groups(one[:0]) == []
