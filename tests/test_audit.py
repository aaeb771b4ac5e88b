"""Tests of index_engine.audit: the flags on constructed data, and the ASEM example's audit end to
end (the statistics themselves are tested in test_stats.py)."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import index_engine as ie
from index_engine.audit import (
    CORRELATION_CHECKS,
    FILES,
    Audit,
    Thresholds,
    audit,
    cronbach_alpha,
)
from index_engine.errors import OutputExistsError, SmallSampleWarning, SpecError

ROOT = Path(__file__).resolve().parents[1]
ASEM_SPEC = ROOT / "weights/examples/asem.yaml"
ASEM_DATA = ROOT / "inputs/examples/asem/ASEM_iData.csv"


# ---- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def asem():
    spec = ie.load_spec(ASEM_SPEC)
    return ie.build(spec, ie.load_panel(ASEM_DATA, spec))


@pytest.fixture(scope="module")
def asem_audit(asem) -> Audit:
    return audit(asem)


TINY_TREE = {
    "code": "I",
    "children": [
        {"code": "A", "children": [{"code": "A1"}, {"code": "A2"}, {"code": "A3"}]},
        {"code": "B", "children": [{"code": "B1"}, {"code": "B2"}]},
    ],
}


def tiny_frame(n: int = 20, seed: int = 7, years: tuple[int, ...] = ()) -> pd.DataFrame:
    """A1 and A2 are near copies (collinear), A3 is their mirror (negative within A), B1 follows
    A's driver more than its own dimension's, B2 is independent noise."""
    rng = np.random.default_rng(seed)
    frames = []
    for y in years or (None,):
        x = rng.normal(size=n)
        df = pd.DataFrame(
            {
                "unit": [f"U{i:02d}" for i in range(n)],
                "A1": x,
                "A2": x + 0.01 * rng.normal(size=n),
                "A3": -x + 0.3 * rng.normal(size=n),
                "B1": x + 0.4 * rng.normal(size=n),
                "B2": rng.normal(size=n),
            }
        )
        if y is not None:
            df.insert(1, "year", y)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def tiny_build(df: pd.DataFrame | None = None):
    spec = ie.spec_from_dict({"index": {"id": "T"}, "tree": TINY_TREE})
    return ie.build(spec, ie.panel_from_frame(tiny_frame() if df is None else df, spec))


def test_correlation_flags_on_constructed_example():
    """A1~A2 collinear, A3 negative with A, B1 closer to A than to B; nothing else in A or B."""
    from scipy import stats

    b = tiny_build()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = audit(b)
    cf = a.correlation_flags
    assert set(cf["check"]) <= set(CORRELATION_CHECKS)
    coll = cf[cf["check"] == "collinear"]
    assert [tuple(sorted((r.node, r.other))) for r in coll.itertuples()] == [("A1", "A2")]
    neg = cf[cf["check"] == "negative_with_parent"]
    assert list(zip(neg["node"], neg["other"])) == [("A3", "A")]
    other = cf[cf["check"] == "stronger_with_other_dimension"]
    assert ("B1", "A", "B") in set(zip(other["node"], other["other"], other["group"]))
    assert "A1" not in set(other["node"]) and "A2" not in set(other["node"])
    # the flags agree with the correlation table, which agrees with scipy on b.scores
    c = a.correlations
    row = c[(c["relation"] == "same_dimension") & (c["x"] == "A1") & (c["y"] == "A2")].iloc[0]
    r, p = stats.pearsonr(b.scores["A1"], b.scores["A2"])
    rho, prho = stats.spearmanr(b.scores["A1"], b.scores["A2"])
    assert (row.pearson, row.pearson_p, row.spearman, row.spearman_p) == pytest.approx((r, p, rho, prho), rel=1e-9)
    row = c[(c["relation"] == "parent") & (c["x"] == "A3")].iloc[0]
    assert row.y == "A" and row.pearson == pytest.approx(stats.pearsonr(b.scores["A3"], b.scores["A"])[0], rel=1e-12)
    # dimension A is incoherent because of A3; the verdict names the rule that produced it
    v = a.verdicts.set_index("node")
    assert v.loc["A", "verdict"] == "incoherent"
    assert "A3 correlates negatively with A" in v.loc["A", "reason"]
    assert v.loc["A", "n_negative"] == 1
    assert (a.verdicts["rule"] == Thresholds().verdict_rule).all()
    assert "coherent: alpha >= 0.7" in v.loc["A", "rule"]


def test_collinear_threshold_is_a_parameter():
    b = tiny_build()
    c = audit(b).correlations
    r = float(c[(c["relation"] == "same_dimension") & (c["x"] == "A1") & (c["y"] == "A2")]["pearson"].iloc[0])
    assert r > 0.99
    pairs = audit(b, collinear=float(np.nextafter(r, 1.0))).correlation_flags
    assert pairs[pairs["check"] == "collinear"].empty
    pairs = audit(b, collinear=float(np.nextafter(r, 0.0))).correlation_flags
    assert len(pairs[pairs["check"] == "collinear"]) == 1


def test_denominator_correlation(asem, asem_audit):
    """get_denom_corr: each indicator against each denominator column, on raw and denominated data."""
    from scipy import stats

    c = asem_audit.correlations
    den = c[c["relation"] == "denominator"]
    dens = {"Area", "Energy", "GDP", "Population"}
    assert set(den["y"]) == dens
    assert set(den["data"]) == {"raw", "denominated"}
    assert len(den) == 2 * len(asem.spec.indicators) * len(dens)
    row = den[(den["data"] == "raw") & (den["x"] == "Goods") & (den["y"] == "GDP")].iloc[0]
    x, y = asem.tables["raw"]["Goods"].to_numpy(), asem.panel.values["GDP"].to_numpy()
    m = ~(np.isnan(x) | np.isnan(y))
    assert row.pearson == pytest.approx(stats.pearsonr(x[m], y[m])[0], rel=1e-12)
    flagged = asem_audit.flags[asem_audit.flags["check"] == "denominator_correlation"]
    hi = den[(den["data"] == "denominated") & (den["pearson"].abs() > 0.6)]
    assert len(flagged) == len(hi)


# ---- indicator statistics and coverage ----------------------------------------------------


def test_indicator_stats_flags_and_outlier_rule():
    df = tiny_frame()
    df.loc[:4, "B2"] = 0.0  # 25% zeros
    df.loc[:7, "A3"] = np.nan  # 60% available
    df.loc[:, "A2"] = np.where(np.arange(len(df)) < 15, 1.0, 2.0)  # 2 distinct values
    df.loc[0, "B1"] = 1e6  # one huge value: skew and kurtosis far past the rule
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = tiny_build(df)
        a = audit(b, high_zero_share=0.25)
    s = a.indicator_stats[a.indicator_stats["data"] == "raw"].set_index("indicator")
    assert s.loc["A3", "availability"] == pytest.approx(0.6)
    assert s.loc["A3", "flag_availability"] and not s.loc["A1", "flag_availability"]
    assert s.loc["B2", "zero_share"] == pytest.approx(0.25) and s.loc["B2", "flag_zeros"]
    assert s.loc["A2", "unique_share"] == pytest.approx(0.1) and s.loc["A2", "flag_unique"]
    x = b.tables["raw"]["B1"].to_numpy()
    assert s.loc["B1", "skew"] == pytest.approx(ie._checks.skew_excel(x))
    assert s.loc["B1", "kurtosis"] == pytest.approx(ie._checks.kurt_excel(x))
    assert s.loc["B1", "flag_outlier"] and not s.loc["A1", "flag_outlier"]
    assert s.loc["B1", "sd"] == pytest.approx(np.std(x, ddof=1))
    assert s.loc["B1", "median"] == pytest.approx(np.median(x))
    checks = set(zip(a.flags["check"], a.flags["node"], a.flags["data"]))
    assert {("low_availability", "A3", "raw"), ("many_zeros", "B2", "raw"), ("few_unique", "A2", "raw"),
            ("outlier", "B1", "raw")} <= checks  # fmt: skip


def test_unit_coverage_rule():
    df = tiny_frame()
    df.loc[0, ["A1", "A2"]] = np.nan  # U00 has 1 of 3 A indicators
    df.loc[1, "A1"] = np.nan  # U01 has 2 of 3 = 67% >= 66%
    df.loc[2, "B1"] = np.nan  # U02 has 1 of 2 B indicators
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = audit(tiny_build(df))
    u = a.unit_coverage.set_index("unit")
    assert u.loc["U00", "avail_A"] == pytest.approx(1 / 3)
    assert not u.loc["U00", "meets_coverage"] and u.loc["U00", "short_dimensions"] == "A"
    assert u.loc["U01", "meets_coverage"]
    assert not u.loc["U02", "meets_coverage"] and u.loc["U02", "short_dimensions"] == "B"
    assert u.loc["U00", "availability"] == pytest.approx(3 / 5)
    flagged = a.flags[a.flags["check"] == "unit_coverage"]
    assert list(flagged["node"]) == ["U00", "U02"]


# ---- weights against importance -----------------------------------------------------------


def test_importance_is_effective_weight_and_r2(asem, asem_audit):
    from scipy import stats

    imp = asem_audit.importance.set_index("node")
    assert "Index" not in imp.index
    ew = asem.weights.set_index("node")["effective_weight"]
    for code in ("LPI", "Physical", "Conn"):
        assert imp.loc[code, "effective_weight"] == pytest.approx(ew[code])
        r = stats.pearsonr(asem.scores[code], asem.scores["Index"])[0]
        assert imp.loc[code, "r2"] == pytest.approx(r**2, rel=1e-10)
    level1 = imp[imp["level"] == 1]
    assert level1["rel_weight"].sum() == pytest.approx(1.0)
    assert level1["rel_r2"].sum() == pytest.approx(1.0)


def test_importance_of_a_segmented_build_uses_the_tree_weights_once():
    """A build with segment weight sets has a row per node and segment in its weights table; the importance
    table is one row per node with the tree's (default) effective weight, as b.effective_weights() gives it."""
    import warnings

    from index_engine.audit import audit
    from index_engine.job import read_inputs

    spec, panel = read_inputs(ROOT / "weights/examples/zgc_pilot_score.yaml")
    b = ie.build(spec, panel)
    assert (b.weights["segment"] != "").any()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imp = audit(b).importance
    assert not imp.duplicated(["year", "node"]).any()
    eff = b.effective_weights()
    assert imp.set_index("node")["effective_weight"].to_dict() == {c: eff[c] for c in imp["node"]}
    by_level = imp.groupby(["year", "level"])["rel_weight"].sum()
    assert by_level.to_numpy() == pytest.approx(np.ones(len(by_level)))


# ---- the ASEM example end to end ----------------------------------------------------------


def test_asem_audit_tables(asem, asem_audit):
    a = asem_audit
    raw = a.indicator_stats[a.indicator_stats["data"] == "raw"]
    assert list(raw["indicator"]) == list(asem.spec.indicators)
    avail = asem.tables["raw"].notna().mean()
    np.testing.assert_allclose(raw.set_index("indicator")["availability"].loc[avail.index], avail.to_numpy())
    assert set(a.indicator_stats["data"]) == {"raw", "normalized"}
    assert (a.indicator_stats["year"] == 2018).all()
    # every aggregate has alpha and PCA rows; the index row covers all indicators
    assert set(a.cronbach["node"]) == set(asem.spec.aggregates)
    cr = a.cronbach.set_index("node")
    assert cr.loc["Index", "n_indicators"] == len(asem.spec.indicators)
    assert cr.loc["Sust", "n_indicators"] == 19  # every indicator beneath, not the 3 pillars
    codes = [c for c in asem.spec.indicators if asem.spec.parents[c] == "Social"]
    assert cr.loc["Social", "alpha"] == pytest.approx(cronbach_alpha(asem.tables["normalized"][codes]))
    comps = a.pca_components[a.pca_components["node"] == "Social"]
    assert comps["explained"].sum() == pytest.approx(1.0)
    assert comps["eigenvalue"].sum() == pytest.approx(len(codes))
    # one verdict per dimension (level-2 aggregate)
    dims = [c for c in asem.spec.aggregates if asem.spec.levels[c] == 2]
    assert list(a.verdicts["node"]) == dims
    assert set(a.verdicts["verdict"]) <= {"coherent", "check", "incoherent"}
    assert set(a.correlation_flags["check"]) <= set(CORRELATION_CHECKS)
    assert len(a.correlation_flags) == a.flags["check"].isin(CORRELATION_CHECKS).sum()


def test_asem_audit_write(asem_audit, tmp_path):
    out = asem_audit.write(tmp_path / "audit")
    listed = [
        "indicator_stats.csv", "unit_coverage.csv", "correlations.csv", "correlation_flags.csv",
        "cronbach.csv", "pca.csv", "importance.csv", "verdicts.csv", "audit.json",
    ]  # fmt: skip
    for name in listed + list(FILES):
        assert (out / name).is_file(), name
    cron = pd.read_csv(out / "cronbach.csv")
    assert {"node", "n_indicators", "alpha"} <= set(cron.columns)
    imp = pd.read_csv(out / "importance.csv")
    assert {"node", "parent", "effective_weight", "r2"} <= set(imp.columns)
    doc = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    assert len(doc["flags"]) == len(asem_audit.flags)
    assert len(doc["verdicts"]) == len(asem_audit.verdicts)
    assert doc["rules"]["verdict"] == Thresholds().verdict_rule
    assert doc["thresholds"]["low_availability"] == 0.65
    assert doc["summary"]["n_flags"] == len(asem_audit.flags)
    # a second write over the same files is refused, unless forced
    with pytest.raises(OutputExistsError, match="audit files exist already"):
        asem_audit.write(out)
    assert asem_audit.write(out, force=True) == out


def test_sheets(asem_audit):
    sheets = asem_audit.sheets()
    assert "audit_indicator_stats" in sheets and "audit_verdicts" in sheets
    assert all(len(name) <= 31 for name in sheets)
    assert all(isinstance(df, pd.DataFrame) for df in sheets.values())
    assert len(sheets["audit_flags"]) == len(asem_audit.flags)


def test_one_period_build_writes_blank_year(tmp_path):
    a = audit(tiny_build())
    assert (a.cronbach["year"] == 0).all()
    a.write(tmp_path)
    cron = pd.read_csv(tmp_path / "cronbach.csv", keep_default_na=False)
    assert (cron["year"] == "").all()
    doc = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))
    assert all(f["year"] is None for f in doc["flags"])


def test_panel_is_audited_per_year():
    b = tiny_build(tiny_frame(years=(2021, 2022)))
    a = audit(b)
    for name in ("indicator_stats", "unit_coverage", "correlations", "cronbach", "pca", "importance", "verdicts"):
        assert set(getattr(a, name)["year"]) == {2021, 2022}, name
    cr = a.cronbach.set_index(["year", "node"])
    t = b.tables["normalized"]
    sub = t[t.index.get_level_values("year") == 2022][["A1", "A2", "A3"]]
    assert cr.loc[(2022, "A"), "alpha"] == pytest.approx(cronbach_alpha(sub))
    assert cr.loc[(2022, "A"), "n_units"] == 20


# ---- warnings and errors ------------------------------------------------------------------


def test_small_sample_warning():
    with pytest.warns(SmallSampleWarning, match="fewer than 10 units"):
        audit(tiny_build(tiny_frame(n=6)))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"low_availability": 1.5}, "'low_availability' parameter of audit must be a number between 0 and 1"),
        ({"significance": "0.05"}, "'significance' parameter of audit must be a number between 0 and 1"),
        ({"collinear": 2.0}, "'collinear' parameter of audit must be a number between -1 and 1"),
        ({"outlier_skew": -1.0}, "'outlier_skew' parameter of audit must be a non-negative number"),
        ({"alpha_coherent": 1.2}, "'alpha_coherent' parameter of audit must be a number at most 1"),
        ({"unit_coverage": float("nan")}, "'unit_coverage' parameter"),
        ({"alpha_incoherent": 0.8}, "'alpha_incoherent' parameter of audit must be a number at most 'alpha_coherent'"),
        ({"dimension_level": 1}, "'dimension_level' parameter of audit must be an integer of at least 2"),
        ({"dimension_level": True}, "'dimension_level' parameter"),
        ({"dimension_level": 4}, r"'dimension_level' parameter of audit must be an integer between 2 and 3"),
    ],
)
def test_bad_thresholds_raise(params, message):
    b = tiny_build()
    with pytest.raises(SpecError, match=message):
        audit(b, **params)


def test_dimension_level_three_groups_by_sub_index(asem):
    a = audit(asem, dimension_level=3)
    assert list(a.verdicts["node"]) == ["Conn", "Sust"]
    assert {c.removeprefix("avail_") for c in a.unit_coverage.columns if c.startswith("avail_")} == {"Conn", "Sust"}


def test_single_indicator_dimension_gets_check_verdict(tmp_path):
    tree = {"code": "I", "children": [*TINY_TREE["children"], {"code": "C", "children": [{"code": "C1"}]}]}
    spec = ie.spec_from_dict({"index": {"id": "T"}, "tree": tree})
    df = tiny_frame()
    df["C1"] = np.arange(len(df), dtype=float)
    a = audit(ie.build(spec, ie.panel_from_frame(df, spec)))
    v = a.verdicts.set_index("node").loc["C"]
    assert v["verdict"] == "check" and math.isnan(v["alpha"]) and "alpha not computable" in v["reason"]
    p = a.pca.set_index("node").loc["C"]
    assert p["n_indicators"] == 1 and math.isnan(p["kmo"])
    a.write(tmp_path)  # NaN and missing values become null in audit.json
    doc = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))
    assert next(r for r in doc["verdicts"] if r["node"] == "C")["alpha"] is None


def test_the_outlier_flag_follows_the_spec_treatment_thresholds():
    """The audit flags by the rule and the thresholds the treatment uses (treat.outlying): a spec whose JRC
    treatment tolerates more skew gets no flag for an indicator the treatment leaves alone."""
    from index_engine.audit import audit, treatment_thresholds
    from index_engine.treat import outlying

    assert outlying(2.0, 3.5, 2.0, 3.5) and not outlying(1.99, 10, 2.0, 3.5) and not outlying(float("nan"), 9, 2, 3)
    spec = ie.load_spec(ASEM_SPEC)
    panel = ie.load_panel(ASEM_DATA, spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = audit(ie.build(spec, panel))
        flagged = plain.flags[plain.flags["check"] == "outlier"]
        assert len(flagged) and plain.thresholds.outlier_skew == 2.0
        skews = plain.indicator_stats.set_index(["data", "indicator"])["skew"].abs()
        loose = spec.replace("steps.treat.params", {"skew_thresh": float(skews.max()) + 1, "kurt_thresh": 3.5})
        assert treatment_thresholds(loose) == (float(skews.max()) + 1, 3.5)
        a = audit(ie.build(loose, panel))
        assert a.thresholds.outlier_skew == float(skews.max()) + 1
        assert (a.flags["check"] == "outlier").sum() == 0
        raw = lambda f: f[(f["check"] == "outlier") & (f["data"] == "raw")]  # noqa: E731 - the raw data's flags
        assert len(raw(audit(ie.build(loose, panel), outlier_skew=2.0).flags)) == len(raw(flagged)) > 0  # given: as asked
