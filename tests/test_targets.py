"""Target tracking, frozen normalisation and build diffs (the annual-build loop)."""

from __future__ import annotations

import math

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
    return track_targets(*beijing).set_index("indicator")


def test_required_growth_reproduces_the_plan(targets):
    """Plan: tech loans 4.2 -> 5.5 trillion yuan from 2025Q1 to end-2027 (about 10.3% a year) and
    tech-enterprise loans 1.9 -> 2.5 trillion (about 10.5%); checked by hand: 2.75 years."""
    cr1, cr2 = targets.loc["CR1"], targets.loc["CR2"]
    assert cr1.baseline_value == 42000 and cr1.baseline_date == "2025Q1" and cr1.target_value == 55000
    assert cr1.required_cagr_from_baseline == pytest.approx((55000 / 42000) ** (1 / 2.75) - 1, rel=2e-3)
    assert round(cr1.required_cagr_from_baseline, 3) == 0.103
    assert round(cr2.required_cagr_from_baseline, 3) == 0.105
    years_left = (pd.Timestamp("2027-12-31") - pd.Timestamp("2025-12-31")).days / 365.25
    assert cr1.required_cagr_from_latest == pytest.approx((55000 / cr1.latest_value) ** (1 / years_left) - 1)
    assert cr1.attainment == pytest.approx((cr1.latest_value - 42000) / (55000 - 42000))


def test_projection_matches_statsmodels_called_directly(beijing, targets):
    import statsmodels.api as sm

    spec, panel = beijing
    o = panel.observations
    s = o[(o.unit == "BJ") & (o.indicator == "CR1")].sort_values("date")
    t = np.array([d.year + (d - pd.Timestamp(d.year, 1, 1)).days / 365.25 for d in s.date])
    res = sm.OLS(np.log(s.value.to_numpy()), sm.add_constant(t)).fit()
    x_end = 2027 + (pd.Timestamp("2027-12-31") - pd.Timestamp("2027-01-01")).days / 365.25
    fr = res.get_prediction(np.array([[1.0, x_end]])).summary_frame(alpha=0.1)
    assert targets.loc["CR1", "projection"] == pytest.approx(math.exp(fr["mean"].iloc[0]))
    assert targets.loc["CR1", "projection_lo"] == pytest.approx(math.exp(fr["obs_ci_lower"].iloc[0]))
    assert targets.loc["CR1", "projection_hi"] == pytest.approx(math.exp(fr["obs_ci_upper"].iloc[0]))


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


def test_cumulative_and_rank_targets(beijing, targets):
    spec, panel = beijing
    o = panel.observations
    vc1 = o[(o.unit == "BJ") & (o.indicator == "VC1") & (o.year >= 2025) & (o.period.str.len() == 4)]
    assert targets.loc["VC1", "latest_value"] == pytest.approx(vc1.value.sum())
    assert targets.loc["VC1", "attainment"] == pytest.approx(vc1.value.sum() / 10000)
    assert targets.loc["VC1", "required_per_year"] == pytest.approx((10000 - vc1.value.sum()) / 2)
    for code in ("CM3", "BD2", "RT3", "IN4"):
        rank = targets.loc[code, "latest_value"]
        assert (targets.loc[code, "status"] == "achieved") == (rank <= 3)


def test_status_rule():
    from index_engine.targets import _status

    assert _status(60, 70, 65, 75, 55, 1)["status"] == "achieved"
    assert _status(50, 56, 52, 60, 55, 1)["status"] == "on_track"
    assert _status(50, 54, 50, 58, 55, 1)["status"] == "at_risk"
    assert _status(50, 52, 50, 54, 55, 1)["status"] == "off_track"
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
    assert set(t.indicator) == {"VC1", "VC5", "CR1", "CR2", "CR3", "CR5", "CM3", "BD2", "RT3", "IN4"}
    assert set(t.status) <= {"achieved", "on_track", "at_risk", "off_track", "no_data"}


def test_targets_cli(run_cli, tmp_path):
    r = run_cli("targets", BEIJING, "--out", tmp_path / "t.csv")
    assert r.returncode == 0, r.stderr
    assert "CR1" in r.stdout and (tmp_path / "t.csv").exists()


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
    ref = ie.build(spec, old_panel).write(tmp_path / "ref", excel=False)
    frozen = spec.replace("freeze_normalization", str(ref))
    new = ie.build(frozen, panel)
    old = ie.build(spec, old_panel)
    inds = list(spec.indicators)
    common = old.scores.index
    np.testing.assert_allclose(new.scores.loc[common, inds], old.scores.loc[common, inds], atol=1e-9)
    refit = ie.build(spec, panel)
    assert not np.allclose(refit.scores.loc[common, inds].fillna(0), old.scores.loc[common, inds].fillna(0))


def test_freeze_needs_a_build_folder(beijing, tmp_path):
    spec, panel = beijing
    spec = spec.replace("steps.treat.pool", "year")
    with pytest.raises(ie.SpecError, match="freeze_normalization: no fitted.csv"):
        ie.build(spec.replace("freeze_normalization", str(tmp_path)), panel)


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
