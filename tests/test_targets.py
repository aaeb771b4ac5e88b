"""Target tracking, frozen normalisation and build diffs (the annual-build loop)."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

import index_engine as ie
from index_engine.targets import project_ets, project_loglinear, required_cagr, track_targets

from .conftest import BEIJING, ROOT


@pytest.fixture(scope="module")
def beijing(beijing_inputs):
    """The Beijing spec and panel (conftest.py)."""
    return beijing_inputs


@pytest.fixture(scope="module")
def targets(beijing):
    return track_targets(*beijing).set_index("target")


def test_required_growth_reproduces_the_plan(targets):
    """Plan: tech loans 4.2 -> 5.5 trillion yuan from 2025Q1 to end-2027 (about 10.3% a year) and
    tech-enterprise loans 1.9 -> 2.5 trillion (about 10.5%); checked by hand: 2.75 years."""
    cr1, cr2 = targets.loc["CR1"], targets.loc["CR2"]
    assert cr1.baseline_value == 42000 and cr1.baseline_date == "2025Q1" and cr1.target_value == 55000
    assert cr1.required_cagr_from_baseline == pytest.approx((55000 / 42000) ** (1 / 2.75) - 1, rel=2e-3)
    assert round(cr1.required_cagr_from_baseline, 4) == 0.1030 and round(cr2.required_cagr_from_baseline, 4) == 0.1049
    years_left = (pd.Timestamp("2027-12-31") - pd.Timestamp("2025-12-31")).days / 365.25
    assert cr1.required_cagr_from_latest == pytest.approx((55000 / cr1.latest_value) ** (1 / years_left) - 1)
    assert cr1.attainment == pytest.approx((cr1.latest_value - 42000) / (55000 - 42000))


def test_every_target_quotes_the_plan_and_several_targets_share_an_indicator(beijing, targets):
    spec, _ = beijing
    assert (targets["quote"].str.len() > 0).all()
    assert targets.loc["CM3", "reading_zh"].startswith("“位居全国前列”")
    assert targets.loc["CM3", "reading_en"].startswith('"well ahead nationally" read as national rank <= 3')
    notes_en = [t.note_en for _, t in spec.targets.values()]
    assert all(notes_en)  # every target has its English note beside the Chinese one
    cjk, english_word = re.compile(r"[\u3400-\u9fff]"), re.compile(r"(?<![A-Za-z_])[a-z]{4,}")
    assert not any(cjk.search(s) for s in [*notes_en, *targets["reading_en"]])
    assert not any(english_word.search(s) for s in [*(t.note or "" for _, t in spec.targets.values()), *targets["reading_zh"]])
    assert list(targets.index) == list(spec.targets)
    for code in ("CR1", "CR2"):
        rows = targets[targets["indicator"] == code]
        assert list(rows.basis) == ["year_end_stock", "growth_vs_reference"]
        assert list(rows.reference) == ["", "CN"] and list(rows.kind) == ["distance", "pass_fail"]
    assert "CR3" not in set(targets["indicator"])  # CR3 stays an indicator, its growth_gap target is gone
    assert "CR3" in spec.indicators
    with pytest.raises(ie.SpecError, match=r"tree.VC5.target.quote: is required"):
        spec.replace("tree.VC5.target.quote", None)
    with pytest.raises(ie.SpecError, match=r"targets\[1\].id: target id 'CR1' is used twice"):
        spec.replace("tree.CR1.targets[1].id", "CR1")


def test_no_status_rests_on_fewer_than_the_minimum(targets):
    """On the illustrative data (2025Q1 and end-2025 in the plan period) nothing is decided."""
    decided = targets[targets.status.isin(["achieved", "on_track", "at_risk", "off_track"])]
    assert (decided.n_obs >= decided.min_obs).all()
    assert targets.n_obs.dtype.kind == "i" and (targets.min_obs == 3).all()
    assert targets.loc["CR5", "status"] == "insufficient_data" and targets.loc["VC5", "status"] == "insufficient_data"
    assert targets.loc["CR5", "n_obs"] == 1 and "4 zeros" not in targets.loc["CR5", "model"]
    assert targets.loc["CR5", "model"] == "no projection: 1 usable observation (2025); not counted: 6 before 2025"
    assert targets.loc["CR1", "model"].startswith("no projection: 2 usable observations (2025Q1, 2025)")
    assert (targets.rule_zh.str.len() > 0).all() and (targets.rule_en.str.len() > 0).all()


def test_growth_vs_national_from_the_two_level_series(beijing, targets):
    """Checked by hand: Beijing's growth from the 2025Q1 baseline to end-2025, annualised, against
    the national series interpolated log-linearly at 2025-03-31 between end-2024 and end-2025."""
    _, panel = beijing
    o = panel.observations
    for code, base in (("CR1", 42000.0), ("CR2", 19000.0)):
        bj = float(o[(o.unit == "BJ") & (o.indicator == code) & (o.period == "2025")].value.iloc[0])
        cn24, cn25 = (float(o[(o.unit == "CN") & (o.indicator == code) & (o.period == y)].value.iloc[0]) for y in ("2024", "2025"))
        years = 275 / 365.25  # 2025-03-31 to 2025-12-31
        g = (bj / base) ** (1 / years) - 1
        cn_q1 = math.exp(math.log(cn24) + 90 / 365 * (math.log(cn25) - math.log(cn24)))
        g_cn = (cn25 / cn_q1) ** (1 / years) - 1
        row = targets.loc[f"{code}.growth"]
        assert row.achieved_cagr == pytest.approx(g) and row.reference_value == pytest.approx(g_cn)
        assert row.growth_gap == pytest.approx((g - g_cn) * 100)
        assert math.isnan(row.attainment)  # pass/fail: no distance scale
    assert targets.loc["CR1.growth", "growth_gap"] == pytest.approx(1.1516, abs=1e-4)
    assert targets.loc["CR2.growth", "growth_gap"] == pytest.approx(1.8689, abs=1e-4)


def _track(tmp_path, rows, targets, tracking=None, breaks=None, indicator_type="stock"):
    """track_targets on a hand-made series: rows of (unit, period, value) of indicator X."""
    spec = ie.spec_from_dict({
        "index": {"id": "T"}, "tracking": {"unit": "A", **(tracking or {})},
        "tree": {"code": "T", "children": [{"code": "X", "type": indicator_type, "targets": targets}]},
    })
    path = tmp_path / "x.csv"
    pd.DataFrame([{"unit": u, "period": p, "indicator": "X", "value": v} for u, p, v in rows]).to_csv(path, index=False)
    panel = ie.load_panel(path, spec)
    if breaks is not None:
        object.__setattr__(panel, "breaks", pd.DataFrame(breaks, columns=["unit", "indicator", "date", "note"]))
    return track_targets(spec, panel).set_index("target")


LEVEL = {"value": 200, "year": 2027, "basis": "level", "quote": "q"}


def test_too_few_observations(tmp_path):
    t = _track(tmp_path, [("A", "2024", 80), ("A", "2025", 100), ("A", "2026", 115)], [LEVEL], {"start_year": 2025})
    assert t.loc["X", "status"] == "insufficient_data" and t.loc["X", "n_obs"] == 2
    assert "2 usable observations since 2025, fewer than the 3 required" in t.loc["X", "rule_en"]
    t = _track(tmp_path, [("A", "2024", 80), ("A", "2025", 100), ("A", "2026", 115)], [LEVEL], {"start_year": 2025, "min_obs": 2})
    assert t.loc["X", "status"] == "insufficient_data"  # two points fit no line with an interval
    assert t.loc["X", "baseline_value"] == 80 and t.loc["X", "baseline_date"] == "2024"  # the level at the start


def test_zeros_and_gaps_are_not_observations(tmp_path):
    rows = [("A", "2021", 0), ("A", "2022", 0), ("A", "2023", 0), ("A", "2024", 50), ("A", "2025", 60), ("A", "2026", None)]
    t = _track(tmp_path, rows, [LEVEL], {"start_year": 2021})
    assert t.loc["X", "status"] == "insufficient_data" and t.loc["X", "n_obs"] == 2
    assert t.loc["X", "model"] == "no projection: 2 usable observations (2024, 2025); not counted: 3 zeros"
    t = _track(tmp_path, [("A", "2021", 0), ("A", "2022", 0)], [LEVEL], {"start_year": 2021})
    assert t.loc["X", "status"] == "not_started"


def test_a_decided_status_and_an_interval_too_wide(tmp_path):
    smooth = [("A", "2024", 95), ("A", "2025Q1", 100), ("A", "2025Q2", 110), ("A", "2025Q3", 121), ("A", "2025Q4", 133)]
    t = _track(tmp_path, smooth, [LEVEL], {"start_year": 2025})
    assert t.loc["X", "status"] == "on_track" and t.loc["X", "n_obs"] == 4
    assert t.loc["X", "projection"] > 200
    noisy = [("A", "2024", 50), ("A", "2025Q1", 20), ("A", "2025Q2", 150), ("A", "2025Q3", 40), ("A", "2025Q4", 160)]
    t = _track(tmp_path, noisy, [LEVEL], {"start_year": 2025})
    row = t.loc["X"]
    assert row.status == "insufficient_data" and "too wide to decide" in row.rule_en
    base = row.baseline_value
    assert (row.projection_lo - base) / (200 - base) <= 0.5 and (row.projection_hi - base) / (200 - base) >= 2


def test_a_break_restarts_the_count(tmp_path):
    from index_engine.errors import SeriesBreakWarning

    rows = [("A", "2024", 18000), ("A", "2025Q1", 19000), ("A", "2025Q2", 19400), ("A", "2025Q3", 11000), ("A", "2025Q4", 11300)]
    target = {**LEVEL, "value": 25000, "baseline": {"value": 19000, "date": "2025Q1"}}
    with pytest.warns(SeriesBreakWarning, match="straddle a series break on 2025-07-01"):
        t = _track(tmp_path, rows, [target], breaks=[("A", "X", "2025Q3", "口径 change")])
    row = t.loc["X"]
    assert row.status == "insufficient_data" and row.n_obs == 2 and row.warnings == "SeriesBreakWarning"
    assert row.model.endswith("not counted: 1 before 2025Q1; 2 before the break of 2025-07-01")
    with pytest.warns(SeriesBreakWarning):  # a break for every unit, dated by day
        t = _track(tmp_path, rows, [target], breaks=[(None, "X", "2025-07-01", "")])
    assert t.loc["X", "n_obs"] == 2


def test_baseline_after_the_data(tmp_path):
    from index_engine.errors import BaselineAfterDataWarning

    target = {**LEVEL, "baseline": {"value": 120, "date": "2026Q1"}}
    with pytest.warns(BaselineAfterDataWarning, match="baseline 2026Q1 is later than every observation"):
        t = _track(tmp_path, [("A", "2024", 100), ("A", "2025", 110)], [target])
    assert t.loc["X", "status"] == "not_started" and t.loc["X", "warnings"] == "BaselineAfterDataWarning"


def test_several_targets_and_growth_against_a_reference(tmp_path):
    rows = [(u, p, v * k) for u, k in (("A", 1.0), ("R", 10.0)) for p, v in
            (("2024", 100), ("2025Q1", 103), ("2025Q2", 106), ("2025Q3", 109), ("2025Q4", 112))]
    rows = [r for r in rows if not (r[0] == "R" and "Q" in r[1] and r[1] != "2025Q4")]  # R is annual
    rows = [("R", "2025", 1100.0) if r == ("R", "2025Q4", 1120.0) else r for r in rows]
    targets = [{**LEVEL, "value": 150, "baseline": {"value": 103, "date": "2025Q1"}},
               {"id": "X.g", "value": 0, "year": 2027, "basis": "growth_vs_reference", "reference": "R",
                "baseline": {"value": 103, "date": "2025Q1"}, "quote": "年均增速高于全国平均水平"}]
    t = _track(tmp_path, rows, targets)
    assert list(t.index) == ["X", "X.g"] and list(t.indicator) == ["X", "X"]
    g = t.loc["X.g"]
    years = 275 / 365.25
    r_q1 = math.exp(math.log(1000) + 90 / 365 * (math.log(1100) - math.log(1000)))
    assert g.achieved_cagr == pytest.approx((112 / 103) ** (1 / years) - 1)
    assert g.reference_value == pytest.approx((1100 / r_q1) ** (1 / years) - 1)
    assert g.status == "on_track" and g.n_obs == 4 and g.growth_gap > 0
    with pytest.raises(ie.SpecError, match="growth_vs_reference needs the reference unit"):
        _track(tmp_path, rows, [{**targets[1], "reference": None}])


def test_ets_projection_matches_statsmodels():
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    vals = np.array([100.0, 110, 123, 134, 150, 162, 181])
    years = list(range(2019, 2026))
    p, lo, hi = project_ets(years, vals, 2027, 0.9)
    y = pd.Series(np.log(vals), index=pd.period_range("2019", periods=7, freq="Y"))
    fit = ETSModel(y, error="add", trend="add").fit(disp=False)
    fr = fit.get_prediction(start=7, end=8).summary_frame(alpha=0.1)
    assert p == pytest.approx(math.exp(fr["mean"].iloc[-1]))
    assert lo < p < hi


def test_loglinear_projection_matches_statsmodels():
    import statsmodels.api as sm

    dates = [pd.Timestamp(y, 12, 31) for y in range(2019, 2026)]
    vals = np.array([100.0, 112, 121, 137, 149, 166, 180])
    p, lo, hi = project_loglinear(dates, vals, pd.Timestamp("2027-12-31"), 0.9)
    t = np.array([d.year + (d - pd.Timestamp(d.year, 1, 1)).days / 365.25 for d in dates])
    res = sm.OLS(np.log(vals), sm.add_constant(t)).fit()
    x_end = 2027 + (pd.Timestamp("2027-12-31") - pd.Timestamp("2027-01-01")).days / 365.25
    fr = res.get_prediction(np.array([[1.0, x_end]])).summary_frame(alpha=0.1)
    assert (p, lo, hi) == pytest.approx(tuple(math.exp(fr[c].iloc[0]) for c in ("mean", "obs_ci_lower", "obs_ci_upper")))


def test_cumulative_and_rank_targets(beijing, targets):
    spec, panel = beijing
    o = panel.observations
    vc1 = o[(o.unit == "BJ") & (o.indicator == "VC1") & (o.year >= 2025) & (o.period.str.len() == 4)]
    assert targets.loc["VC1", "latest_value"] == pytest.approx(vc1.value.sum())
    assert targets.loc["VC1", "attainment"] == pytest.approx(vc1.value.sum() / 10000)
    assert targets.loc["VC1", "required_per_year"] == pytest.approx((10000 - 2246.0) / 2) == 3877
    assert targets.loc["VC1", "achieved_per_year"] == pytest.approx(2246.0)
    for code in ("CM3", "BD2", "RT3", "IN4"):
        assert targets.loc[code, "kind"] == "pass_fail" and math.isnan(targets.loc[code, "attainment"])
        assert targets.loc[code, "status"] == "insufficient_data"  # one plan-period year


def test_rank_statuses_with_enough_years(tmp_path):
    rank = {"value": 3, "year": 2027, "basis": "rank", "quote": "位居全国前列", "reading": "top 3"}
    rows = [("A", str(y), r) for y, r in ((2024, 6), (2025, 5), (2026, 4), (2027, 4))]
    t = _track(tmp_path, rows, [rank], {"start_year": 2025}, indicator_type="rank")
    assert t.loc["X", "status"] == "at_risk" and t.loc["X", "n_obs"] == 3  # better than 6 at the start
    rows[-1] = ("A", "2027", 2)
    t = _track(tmp_path, rows, [rank], {"start_year": 2025}, indicator_type="rank")
    assert t.loc["X", "status"] == "achieved"


def test_status_rule():
    from index_engine.spec import Target
    from index_engine.targets import _judge

    t = Target(value=55, year=2027)
    def status(latest, proj, lo, hi):
        return _judge({}, latest, proj, lo, hi, t, 40, 1, 3)["status"]
    assert status(60, 70, 65, 75) == "achieved"
    assert status(50, 56, 52, 60) == "on_track"
    assert status(50, 54, 50, 58) == "at_risk"
    assert status(50, 52, 50, 54) == "off_track"
    assert status(50, 56, 45, 75) == "insufficient_data"  # 45 attains a third, 75 over twice
    assert required_cagr(100, 121, 2) == pytest.approx(0.1)


def test_loglinear_needs_three_points():
    p, lo, hi = project_loglinear([pd.Timestamp("2024-12-31"), pd.Timestamp("2025-12-31")], np.array([1.0, 2.0]), pd.Timestamp("2027-12-31"), 0.9)
    assert math.isnan(p)


def test_target_on_an_indicator_the_data_lacks(beijing):
    spec, panel = beijing
    values = panel.observations[panel.observations.indicator != "CR5"]
    stripped = ie.Panel(panel.values, panel.attrs, values, panel.sources, "x.csv", "", True)
    with pytest.raises(ie.DataError, match="sets targets on indicators the data lacks: CR5"):
        track_targets(spec, stripped)


def test_targets_in_the_build_outputs(beijing_folder):
    t = pd.read_csv(beijing_folder / "targets.csv")
    assert set(t.indicator) == {"VC1", "VC5", "CR1", "CR2", "CR5", "CM3", "BD2", "RT3", "IN4"}
    assert len(t) == 11 and list(t[t.indicator == "CR1"].reference.fillna("")) == ["", "CN"]
    assert set(t.status) <= {"achieved", "on_track", "at_risk", "off_track", "insufficient_data", "not_started", "no_data"}
    m = pd.read_csv(beijing_folder / "measures.csv", dtype=str, keep_default_na=False)
    assert (m.kind == "measure").sum() == 20 and set(m.part) == {f"P{i}" for i in range(2, 9)}


def test_targets_cli(run_cli, tmp_path):
    r = run_cli("targets", BEIJING, "--out", tmp_path / "t.csv")
    assert r.returncode == 0, r.stderr
    assert "CR1.growth" in r.stdout and "剩余每年需3,877" in r.stdout and "P8" in r.stdout
    assert (tmp_path / "t.csv").exists()


def test_time_series_spec_is_100_in_the_base_year():
    spec = ie.load_spec(ROOT / "weights/beijing_tfdi_timeseries.yaml")
    b = ie.build(spec, ie.load_panel(spec.base_dir / spec.data.file, spec))
    base = b.scores.xs(2019, level="year")[list(spec.aggregates)]
    assert (base == 100.0).all().all()
    assert set(b.scores.index.get_level_values("unit")) == {"BJ"}


def test_pooled_minmax_score_moves_only_when_the_data_moves(beijing, beijing_build):
    """Min-max pooled over all units and years: adding a year with the same values for every
    unit leaves the earlier years' scores unchanged only when min and max are frozen."""
    spec, panel = beijing
    b = beijing_build
    # each (unit, year) score depends on its own data and the pooled bounds: change one unit's
    # 2019 raw value inside the range and only that unit's scores move
    v = panel.values.copy()
    inside = v.loc[("SH", 2019), "VC3"]
    v.loc[("SH", 2019), "VC3"] = inside * 1.01
    p2 = ie.Panel(v, panel.attrs, panel.observations, panel.sources, panel.file, "", True)
    b2 = ie.build(spec, p2)
    moved = (b.scores - b2.scores).abs().max(axis=1)
    assert set(moved[moved > 1e-12].index) == {("SH", 2019)}


def test_frozen_normalisation_keeps_the_published_past(beijing, tmp_path):
    """A build frozen on a reference build's pooled min/max keeps 2019–2024 scores when 2025 arrives."""
    spec, panel = beijing
    with pytest.raises(ie.SpecError, match="treat year by year"):
        ie.build(spec.replace("freeze_normalization", str(tmp_path)), panel)
    spec = spec.replace("steps.treat.pool", "year")
    old_vals = panel.values[panel.values.index.get_level_values("year") <= 2024]
    old_panel = ie.Panel(old_vals, panel.attrs.reindex(old_vals.index), panel.observations, panel.sources, "old", "", True)
    old = ie.build(spec, old_panel)
    ref = old.write(tmp_path / "ref", excel=False)
    frozen = spec.replace("freeze_normalization", str(ref))
    new = ie.build(frozen, panel)
    inds = list(spec.indicators)
    common = old.scores.index
    np.testing.assert_allclose(new.scores.loc[common, inds], old.scores.loc[common, inds], atol=1e-9)
    refit = ie.build(spec, panel)
    assert not np.allclose(refit.scores.loc[common, inds].fillna(0), old.scores.loc[common, inds].fillna(0))


def test_freeze_needs_a_build_folder_with_its_fitted_statistics(beijing, tmp_path):
    """The reference build is read as any build folder is; one without fitted.csv is refused by name."""
    spec, panel = beijing
    spec = spec.replace("steps.treat.pool", "year")
    with pytest.raises(ie.SpecError, match="freeze_normalization: .*not a finished build folder"):
        ie.build(spec.replace("freeze_normalization", str(tmp_path)), panel)
    ref = ie.build(spec, panel).write(tmp_path / "ref", excel=False)
    (ref / "fitted.csv").unlink()
    with pytest.raises(ie.SpecError, match="freeze_normalization: no fitted.csv in the reference build"):
        ie.build(spec.replace("freeze_normalization", str(ref)), panel)


def test_diff_lists_changes(run_cli, beijing, beijing_folder, tmp_path):
    from index_engine.diff import diff_builds

    spec, panel = beijing
    a = beijing_folder
    b = ie.build(spec.replace("tree.CR.weight", 2), panel).write(tmp_path / "b", excel=False)
    d = diff_builds(a, b)
    assert d.summary()["data_cells_changed"] == 0
    assert list(d.spec.path) == ["tree.CR.weight"]
    assert set(d.weights.node) >= {"CR", "VC", "CR1"}
    assert (d.scores.node == "BJ_TFDI").any()
    same = diff_builds(a, a)
    assert same.summary()["scores_changed"] == 0
    r = run_cli("diff", a, b, "--out", tmp_path / "d")
    assert r.returncode == 0 and (tmp_path / "d" / "scores.csv").exists()
    r = run_cli("diff", a, tmp_path)
    assert r.returncode == 2 and "not a finished build folder" in r.stderr


def test_frozen_base_values_keep_the_time_series(tmp_path):
    """A fixed-base series frozen on a reference build keeps its base when base-year data is revised."""
    spec = ie.load_spec(ROOT / "weights/beijing_tfdi_timeseries.yaml")
    panel = ie.load_panel(spec.base_dir / spec.data.file, spec)
    base = ie.build(spec, panel)
    ref = base.write(tmp_path / "ref", excel=False)
    v = panel.values.copy()
    v.loc[("BJ", 2019), "CR1"] *= 1.05  # a revision of the base year
    revised = ie.Panel(v, panel.attrs, panel.observations, panel.sources, "revised", "", True)
    moved = ie.build(spec, revised)
    frozen = ie.build(spec.replace("freeze_normalization", str(ref)), revised)
    assert moved.scores.loc[("BJ", 2025), "CR1"] != pytest.approx(base.scores.loc[("BJ", 2025), "CR1"])
    assert frozen.scores.loc[("BJ", 2025), "CR1"] == pytest.approx(base.scores.loc[("BJ", 2025), "CR1"])
    assert frozen.scores.loc[("BJ", 2019), "CR1"] == pytest.approx(105.0)
