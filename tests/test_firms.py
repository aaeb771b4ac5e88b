"""Firm scoring: the 中关村领航积分 points model on the 1,000-firm illustrative sample."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pandas as pd
import pytest

import index_engine as ie
from index_engine.aggregate import total
from index_engine.normalize import points, points_band

from .conftest import ROOT

SPEC = ROOT / "weights/examples/zgc_pilot_score.yaml"


def test_points_bands_by_hand():
    """Invention patents 0 / 1–2 / 3–9 / 10+ → 0 / 5 / 12 / 20 points (the issue's example)."""
    x = pd.Series([0, 1, 2, 3, 9, 10, 250, np.nan], dtype=float)
    got = points(x, thresholds=[1, 3, 10], points=[0, 5, 12, 20])
    assert got.iloc[:7].tolist() == [0, 5, 5, 12, 12, 20, 20] and np.isnan(got.iloc[7])
    assert points(x, thresholds=[1], points=[0, 8], missing=0).tolist() == [0, 8, 8, 8, 8, 8, 8, 0]


def test_points_give_a_missing_value_its_own_points():
    """``missing`` is what a missing value scores, to the bit, whether or not it equals the lowest band's points."""
    x = pd.Series([0.0, 5.0, np.nan])
    assert points(x, thresholds=[1], points=[2, 8], missing=3).tolist() == [2, 8, 3]
    signs = np.signbit(points(x, thresholds=[1], points=[-0.0, 8], missing=0).to_numpy())
    assert signs.tolist() == [True, False, False]  # -0.0 below the threshold, +0.0 where missing


def test_point_bands_equal_numpy_digitize(rng):
    """A comparison per threshold (few) or a binary search (many) gives numpy.digitize's bands."""
    v = rng.gamma(1.0, 2.0, 20_000)
    v[::17] = np.nan
    v[:40] = [0.5, 1.0, 2.0, np.inf, -np.inf] * 8
    for t in (np.array([0.5, 1.0, 2.0]), np.array([1.0]), np.sort(rng.uniform(0, 10, 150))):
        want = np.digitize(v, t, right=False)
        want[np.isnan(v)] = 0
        np.testing.assert_array_equal(points_band(v, t), want)


def test_points_parameters_are_checked():
    with pytest.raises(ie.SpecError, match="'points' needs one more entry than 'thresholds'"):
        ie.load_spec(SPEC, overrides={"steps.normalize.params": {"thresholds": [1, 2], "points": [0, 1]}})
    with pytest.raises(ie.SpecError, match="'thresholds' must increase"):
        ie.load_spec(SPEC, overrides={"steps.normalize.params": {"thresholds": [3, 1], "points": [0, 1, 2]}})


def test_sum_aggregation():
    X = np.array([[1.0, 2.0, np.nan], [4.0, 5.0, 6.0]])
    np.testing.assert_allclose(total(X, np.array([[1.0, 1.0, 1.0]])), [[3.0, 15.0]])
    np.testing.assert_allclose(total(X, np.array([[2.0, 1.0, 0.0]])), [[1 * 2 + 2 * 1, 4 * 2 + 5]])


def test_sum_in_blocks_of_rows_equals_the_sum_by_hand(rng, monkeypatch):
    """Rows taken a block at a time: Σ w·x with the weights rescaled to add up to the number of
    children, a missing child 0, every child missing (or too few, min_coverage) missing."""
    import index_engine.aggregate as agg

    monkeypatch.setattr(agg, "ROW_BLOCK", 64)
    X = rng.normal(size=(1000, 4)).round(2)
    X[rng.random(X.shape) < 0.3] = np.nan
    X[:5] = np.nan
    W = np.array([[1.0, 2.0, 0.5, 0.5], [0.0, 1.0, 1.0, 2.0]])
    got = total(X, W, min_coverage=0.5)
    for s, w in enumerate(W):
        k = w * 4 / w.sum()
        want = np.nansum(X * k, axis=1)
        present = ~np.isnan(X)
        want[(present.mean(axis=1) < 0.5) | ((present * w).sum(axis=1) == 0)] = np.nan
        np.testing.assert_allclose(got[s], want, rtol=1e-12)


def test_the_top_of_the_summary_equals_the_head_of_the_whole_summary():
    """Integer points tie a lot: the partial sort keeps every unit tied with the last one it returns, so
    the order by rank, then unit code, is that of sorting everything."""
    spec = ie.load_spec(SPEC)
    b = ie.build(spec, ie.load_panel(ROOT / "inputs/zgc/zgc_firms_sample.csv", spec))
    full = b.summary()
    r = full["rank"].to_numpy()
    cuts = [int(i) + 1 for i in np.flatnonzero(r[:-1] == r[1:])[:5]]  # cuts through ties
    assert cuts
    for k in (1, 10, 100, len(full) + 5, *cuts):
        pd.testing.assert_frame_equal(b.summary(top=k), full.head(k))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        from index_engine.cli import _print_summary

        _print_summary(b)
    lines = out.getvalue().splitlines()
    assert [ln.split()[1] for ln in lines[1:11]] == full["unit"].head(10).tolist()
    assert lines[11] == f"  ... {len(full) - 10} more"


def test_firm_scores_equal_the_points_added_up_by_hand():
    spec = ie.load_spec(SPEC)
    df = pd.read_csv(ROOT / "inputs/zgc/zgc_firms_sample.csv")
    assert df["unit"].nunique() == 1000
    b = ie.build(spec, ie.load_panel(ROOT / "inputs/zgc/zgc_firms_sample.csv", spec))
    pts = {}
    for code, choice in spec.steps.normalize.by_indicator.items():
        t, p = choice.params["thresholds"], choice.params["points"]
        v = df[code]
        band = sum((v >= th).astype(int) for th in t)
        pts[code] = np.where(v.isna(), 0, np.asarray(p)[band])
    dims = {d.code: sum(pts[c.code] for c in d.children) for d in spec.tree.children}
    sets = {"startup": {"GROWTH": 1.5, "FINANCE": 1.5, "QUAL": 0.5}, "mature": {"OUTPUT": 1.5, "GROWTH": 0.5}}
    expected = np.zeros(len(df))
    for i, stage in enumerate(df["stage"]):
        w = {d: sets.get(stage, {}).get(d, 1.0) for d in dims}
        k = len(w) / sum(w.values())  # sum aggregation: weights rescaled to add up to the number of children
        expected[i] = sum(w[d] * k * dims[d][i] for d in dims)
    got = b.scores["ZGC"].reindex(pd.MultiIndex.from_frame(df[["unit", "year"]])).to_numpy()
    np.testing.assert_allclose(got, expected)
    assert b.scores["ZGC"].max() <= 100 and b.scores["ZGC"].min() >= 0
    # weights.csv: each segment's rows carry its own weight set as the nominal weights
    wt = b.weights.set_index(["segment", "node"])
    for stage, ws in sets.items():
        for d in dims:
            assert wt.loc[(stage, d), "nominal_weight"] == ws.get(d, 1.0)
            assert wt.loc[(stage, d), "weight"] == pytest.approx(ws.get(d, 1.0) / sum(ws.get(e, 1.0) for e in dims))
    assert (wt.loc[""].loc[list(dims), "nominal_weight"] == 1.0).all()
    grades = b.grades.set_index(["unit", "year"])["grade"]
    s = b.scores["ZGC"]
    assert (grades[s >= 70] == "A").all() and (grades[(s < 55) & (s >= 40)] == "C").all() and (grades[s < 40] == "D").all()


def test_a_large_build_writes_parquet_and_summaries(tmp_path, monkeypatch):
    """Above LARGE_ROWS unit-years, per-unit tables are wide Parquet and results.xlsx holds summaries."""
    import index_engine.outputs as outputs

    monkeypatch.setattr(outputs, "LARGE_ROWS", 1000)
    spec = ie.load_spec(SPEC)
    b = ie.build(spec, ie.load_panel(ROOT / "inputs/zgc/zgc_firms_sample.csv", spec))
    out = b.write(tmp_path / "big")
    scores = pd.read_parquet(out / "scores.parquet")
    assert len(scores) == len(b.scores) and "ZGC" in scores.columns
    assert not (out / "scores.csv").exists()
    # each table once: unchanged stages and the normalised indicators (columns of scores.parquet) are named
    same_as = json.loads((out / "tables" / "same_as.json").read_text())
    assert same_as["normalized"] == "scores" and not (out / "tables" / "normalized.parquet").exists()
    pd.testing.assert_frame_equal(scores.set_index(["unit", "year"])[list(spec.indicators)], b.tables["normalized"], check_names=False)
    for stage, to in same_as.items():
        assert to == "scores" or (out / "tables" / f"{to}.parquet").exists()
        if to != "scores":
            assert b.tables[stage].equals(pd.read_parquet(out / "tables" / f"{to}.parquet").set_index(["unit", "year"]))
    xl = pd.ExcelFile(out / "results.xlsx")
    assert "distribution" in xl.sheet_names and any(n.startswith("top100_") for n in xl.sheet_names)
    top = pd.read_excel(out / "results.xlsx", sheet_name=[n for n in xl.sheet_names if n.startswith("top100_")][0])
    step = np.diff(top["score"].to_numpy())  # best first; scores tied to float residue may come in unit order
    assert (step <= 1e-9 * top["score"].abs().max()).all()
    man = json.loads((out / "manifest.json").read_text())
    assert man["layout"].startswith("wide parquet") and "scores.parquet" in man["files"]


@pytest.mark.parametrize("segments", [True, False])
def test_grade_counts_are_the_grouped_table(segments):
    """results.xlsx's grades_by_segment of a large build, counted on codes, is the table pandas groups by
    year, segment and grade (grades and segments missing in some rows)."""
    from index_engine.outputs import grade_counts

    spec = ie.load_spec(SPEC)
    if not segments:
        spec = spec.replace("segments", None)
    b = ie.build(spec, ie.load_panel(ROOT / "inputs/zgc/zgc_firms_sample.csv", spec))
    g = b.grades.copy()
    g.loc[g.index[::7], "grade"] = None
    b.__dict__["grades"] = g
    if segments:
        b.panel.attrs.loc[b.panel.attrs.index[::11], "stage"] = None
    by = [g["year"]]
    if segments:
        by.append(pd.Series(b.panel.attrs["stage"].reindex(b.scores.index).array, name="stage"))
    expected = g.groupby(by + [g["grade"]]).size().unstack(fill_value=0).reset_index()
    pd.testing.assert_frame_equal(grade_counts(b), expected)


def test_quantile_grades():
    spec = ie.load_spec(SPEC, overrides={"grades": {"labels": ["A", "B", "C"], "cutoffs": [0.1, 0.5], "basis": "quantile"}})
    b = ie.build(spec, ie.load_panel(ROOT / "inputs/zgc/zgc_firms_sample.csv", spec))
    g = b.grades
    for yr, part in g.groupby("year"):
        share_a = (part.grade == "A").mean()
        assert 0.05 <= share_a <= 0.2  # ties at the cut-off can move the share a little
        assert part.loc[part.grade == "A", "score"].min() >= part.loc[part.grade == "B", "score"].max()


def test_grade_and_segment_errors(tmp_path):
    with pytest.raises(ie.SpecError, match="grades: needs one cut-off fewer than labels"):
        ie.load_spec(SPEC, overrides={"grades.cutoffs": [1, 2, 3, 4]})
    with pytest.raises(ie.SpecError, match="segments.weight_sets.startup.NOPE: no node below the index"):
        ie.load_spec(SPEC, overrides={"segments.weight_sets.startup.NOPE": 1})
    spec = ie.load_spec(SPEC, overrides={"segments.column": "size_class"})
    with pytest.raises(ie.DataError, match="segments.column 'size_class' is not a text column of the data"):
        ie.build(spec, ie.load_panel(ROOT / "inputs/zgc/zgc_firms_sample.csv", spec))



@pytest.mark.parametrize("one_year", [True, False])
def test_distribution_sheet_of_a_large_build(one_year):
    """The distribution sheet is the index's description by year (one year, or several)."""
    from index_engine.outputs import summary_sheets

    spec = ie.load_spec(SPEC)
    frame = pd.read_csv(ROOT / "inputs/zgc/zgc_firms_sample.csv")
    if one_year:
        frame = frame[frame["year"] == frame["year"].max()]
    b = ie.build(spec, ie.panel_from_frame(frame, spec))
    expected = b.scores["ZGC"].groupby(level="year").describe(percentiles=[0.05, 0.25, 0.5, 0.75, 0.95]).reset_index()
    assert len(expected) == (1 if one_year else frame["year"].nunique())
    pd.testing.assert_frame_equal(summary_sheets(b)["distribution"], expected)
