"""The build pipeline: each step's behaviour, the log, regeneration and the written outputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import index_engine as ie
from index_engine import aggregate
from index_engine.errors import DegenerateIndicatorWarning

from .conftest import ROOT, tiny_frame


def test_regeneration_gives_an_equal_build(tiny_spec, tiny_panel):
    b = ie.build(tiny_spec, tiny_panel)
    assert ie.build(b.spec, b.panel) == b
    other = ie.build(tiny_spec.replace("tree.d.weight", 1), tiny_panel)
    assert other != b


def test_min_max_direction_and_weighted_mean(tiny_spec, tiny_panel):
    """Hand computation: min-max 0–100 pooled over both years, 'b' reversed, weights relative."""
    b = ie.build(tiny_spec, tiny_panel)
    raw = tiny_frame().set_index(["unit", "year"])
    a = (raw.a - raw.a.min()) / (raw.a.max() - raw.a.min()) * 100
    bb = (raw.b.max() - raw.b) / (raw.b.max() - raw.b.min()) * 100
    c = (raw.c - raw.c.min()) / (raw.c.max() - raw.c.min()) * 100
    d = (raw.d - raw.d.min()) / (raw.d.max() - raw.d.min()) * 100
    d1 = (a + bb) / 2
    d2 = (c * 1 + d * 3) / 4
    idx = (d1 * 1 + d2 * 2) / 3
    np.testing.assert_allclose(b.scores["IDX"], idx.reindex(b.scores.index), atol=1e-12)
    np.testing.assert_allclose(b.scores["b"], bb.reindex(b.scores.index), atol=1e-12)
    w = b.weights.set_index("node")
    assert w.loc["d", "weight"] == pytest.approx(0.75)
    assert w.loc["d", "effective_weight"] == pytest.approx(0.75 * 2 / 3)


def test_ranks_and_change(tiny_spec, tiny_panel):
    b = ie.build(tiny_spec, tiny_panel)
    s = b.scores["IDX"]
    for yr in (2020, 2021):
        one = s.xs(yr, level="year")
        expected = one.rank(ascending=False, method="min")
        assert (b.ranks["IDX"].xs(yr, level="year") == expected).all()
    ch = b.change["IDX"]
    assert ch.xs(2020, level="year").isna().all()
    assert ch[("U1", 2021)] == pytest.approx(s[("U1", 2021)] - s[("U1", 2020)])


def test_contributions_add_up_to_the_parent(tiny_spec, tiny_panel):
    b = ie.build(tiny_spec, tiny_panel)
    tot = b.contributions.groupby(["unit", "year", "parent"])["contribution"].sum()
    for (u, y, p), v in tot.items():
        assert v == pytest.approx(b.scores.loc[(u, y), p])


def test_scores_long_has_every_node(tiny_spec, tiny_panel):
    b = ie.build(tiny_spec, tiny_panel)
    s = b.scores_long()
    assert list(s.columns) == ["unit", "year", "node", "level", "score", "rank", "change", "status"]
    assert (s["status"] == "").all()  # no publish: section: every score published
    assert len(s) == 6 * len(tiny_spec.nodes)
    assert set(s.loc[s.node == "IDX", "level"]) == {3}


def test_log_records_every_step(tiny_spec, tiny_panel):
    b = ie.build(tiny_spec, tiny_panel)
    steps = [s.step for s in b.log]
    for name in ("transform", "denominate", "impute", "screen", "treat", "normalize", "weights", "aggregate"):
        assert name in steps
    norm = [s for s in b.log if s.step == "normalize"][0]
    assert norm.method == "minmax" and norm.params["upper"] == 100.0 and norm.changed == 24


def test_per_indicator_override_and_level_override(tiny_spec, tiny_panel):
    s = tiny_spec.replace("steps.normalize.params", {"lower": 1, "upper": 100})
    s = s.replace("steps.normalize.by_indicator", {"c": {"method": "rank"}})
    s = s.replace("steps.aggregate.by_level", {3: {"method": "geometric"}})
    b = ie.build(s, tiny_panel)
    assert list(b.scores["c"].xs(2020, level="year")) == [1.0, 4.0, 5.0]  # ranks pooled over both years
    d1, d2 = b.scores["D1"], b.scores["D2"]
    np.testing.assert_allclose(b.scores["IDX"], (d1 * d2**2) ** (1 / 3), atol=1e-12)
    paths = {st.spec_path for st in b.log if st.step == "normalize"}
    assert paths == {"steps.normalize", "steps.normalize.by_indicator.c"}


def test_log_of_a_non_positive_value_names_unit_period_indicator(tiny_spec, tiny_panel):
    s = tiny_spec.replace("steps.transform.by_indicator", {"a": {"method": "log"}})
    df = tiny_frame()
    df.loc[4, "a"] = -3.0  # U2 2021
    with pytest.raises(ie.DataError) as exc:
        ie.build(s, ie.panel_from_frame(df, s))
    assert "indicator a: transform.log: log needs values > 0; these are not: U2 2021 (-3)" in str(exc.value)


def test_geometric_mean_of_zero_is_an_error(tiny_spec, tiny_panel):
    s = tiny_spec.replace("steps.aggregate.method", "geometric")
    with pytest.raises(ie.BuildError, match=r"steps.aggregate: node D1: a geometric mean needs values > 0"):
        ie.build(s, tiny_panel)
    ok = s.replace("steps.normalize.params", {"lower": 1, "upper": 100})
    assert ie.build(ok, tiny_panel).scores["IDX"].notna().all()


@pytest.mark.parametrize("option,expected", [("nan", np.nan), ("midpoint", 50.0)])
def test_zero_variance_indicator(tiny_spec, option, expected):
    df = tiny_frame()
    df["c"] = 7.0
    s = tiny_spec.replace("steps.normalize.params", {"on_constant": option})
    with pytest.warns(DegenerateIndicatorWarning, match="c: the indicator has no spread"):
        b = ie.build(s, ie.panel_from_frame(df, s))
    if np.isnan(expected):
        assert b.scores["c"].isna().all()
        # D2 then rests on d alone (weights renormalised over the children present)
        np.testing.assert_allclose(b.scores["D2"], b.scores["d"])
    else:
        assert (b.scores["c"] == expected).all()


def test_zero_variance_error_option(tiny_spec):
    df = tiny_frame()
    df["c"] = 7.0
    s = tiny_spec.replace("steps.normalize.params", {"on_constant": "error"})
    with pytest.raises(ie.BuildError, match="indicator c: normalize.minmax: the indicator has no spread"):
        ie.build(s, ie.panel_from_frame(df, s))


def test_impute_group_mean_and_record(tiny_spec):
    df = tiny_frame()
    df["grp"] = ["x", "x", "y", "x", "x", "y"]
    df.loc[0, "a"] = np.nan  # U1 2020, group x: the mean of U2 2020 (2.0)
    s = tiny_spec.replace("steps.impute", {"method": "group_mean", "params": {"group": "grp"}})
    b = ie.build(s, ie.panel_from_frame(df, s))
    assert b.tables["imputed"].loc[("U1", 2020), "a"] == 2.0
    rec = b.imputed
    assert rec.to_dict("records") == [{"unit": "U1", "year": 2020, "indicator": "a", "method": "group_mean", "value": 2.0}]


def test_impute_interpolates_between_years(tiny_spec):
    t = tiny_frame()
    df = pd.concat([t, t[t.year == 2021].assign(year=2022)], ignore_index=True)
    df.loc[(df.unit == "U1") & (df.year == 2021), "c"] = np.nan
    s = tiny_spec.replace("steps.impute.method", "interpolate")
    b = ie.build(s, ie.panel_from_frame(df, s))
    assert b.tables["imputed"].loc[("U1", 2021), "c"] == pytest.approx((10 + 12) / 2)


def test_screen_drops_units_below_the_threshold(tiny_spec):
    df = tiny_frame()
    df.loc[0, ["a", "b"]] = np.nan  # U1 2020: 2 of 4 indicators
    s = tiny_spec.replace("steps.screen", {"method": "availability", "params": {"threshold": 0.75}})
    b = ie.build(s, ie.panel_from_frame(df, s))
    assert b.dropped == (("U1", 2020),)
    assert ("U1", 2020) not in b.scores.index
    s2 = s.replace("steps.screen.params.threshold", 0.5)  # strict <: 0.5 is kept
    assert ie.build(s2, ie.panel_from_frame(df, s2)).dropped == ()


def test_reference_units_stay_out_of_pools_and_ranks(tiny_spec):
    df = pd.concat([tiny_frame(), pd.DataFrame([{"unit": "NAT", "year": 2020, "a": 100, "b": 0, "c": 0, "d": 0}])])
    s = tiny_spec.replace("reference_units", ["NAT"])
    b = ie.build(s, ie.panel_from_frame(df, s))
    assert "NAT" not in b.scores.index.get_level_values("unit")
    base = ie.build(tiny_spec, ie.panel_from_frame(tiny_frame(), tiny_spec))
    pd.testing.assert_frame_equal(b.scores, base.scores)
    assert ("NAT", 2020) in b.tables["raw"].index


def test_units_list_keeps_only_those_units(tiny_spec, tiny_panel):
    s = tiny_spec.replace("units", ["U1", "U3"])
    b = ie.build(s, tiny_panel)
    assert set(b.scores.index.get_level_values("unit")) == {"U1", "U3"}


def test_base_index_is_100_in_the_base_year(tiny_spec, tiny_panel):
    s = tiny_spec.replace("steps.normalize", {"method": "base_index", "params": {"base_year": 2020}})
    b = ie.build(s, tiny_panel)
    assert np.allclose(b.scores.xs(2020, level="year"), 100)
    raw = tiny_frame().set_index(["unit", "year"])
    assert b.scores.loc[("U1", 2021), "a"] == pytest.approx(100 * 2 / 1)
    assert b.scores.loc[("U1", 2021), "b"] == pytest.approx(100 * 5 / 4)  # direction -1: x_base / x_t
    assert raw.loc[("U1", 2021), "b"] == 4


def test_min_coverage_leaves_a_parent_missing(tiny_spec):
    df = tiny_frame()
    df.loc[0, "a"] = np.nan
    s = tiny_spec.replace("steps.aggregate.params", {"min_coverage": 0.6})
    b = ie.build(s, ie.panel_from_frame(df, s))
    assert np.isnan(b.scores.loc[("U1", 2020), "D1"])
    assert not np.isnan(b.scores.loc[("U2", 2020), "D1"])


def test_treat_jrc_winsorises_an_outlier():
    """An obvious outlier is winsorised by the JRC rule (|skew| > 2 and kurtosis > 3.5) and recorded."""
    from index_engine.treat import jrc

    x = pd.Series([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 200], name="x")
    y, lab = jrc(x)
    assert y.iloc[-1] == 11 and lab.iloc[-1] == "winhi" and (lab.iloc[:-1] == "").all()


def test_write_outputs(tiny_spec, tiny_panel, tmp_path):
    b = ie.build(tiny_spec, tiny_panel)
    out = b.write(tmp_path / "run1")
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    for f in ("scores.csv", "contributions.csv", "weights.csv", "treatment.csv", "imputed.csv", "log.json",
              "manifest.json", "results.xlsx", "spec.yaml", "tables/raw.csv", "tables/normalized.csv"):
        assert f in names
    scores = pd.read_csv(out / "scores.csv")
    assert len(scores) == 6 * len(tiny_spec.nodes)
    man = json.loads((out / "manifest.json").read_text())
    assert man["spec_sha256"] == tiny_spec.hash() and man["rows"]["scores.csv"] == len(scores)
    xl = pd.ExcelFile(out / "results.xlsx")
    assert {"scores", "weights", "stage_raw", "stage_normalized"} <= set(xl.sheet_names)
    # an existing folder is refused and left untouched
    with pytest.raises(ie.OutputExistsError):
        b.write(out)
    assert (out / "scores.csv").exists()
    b.write(out, force=True)
    assert not list(tmp_path.glob(".*tmp"))


def test_failed_write_leaves_nothing(tiny_spec, tiny_panel, tmp_path, monkeypatch):
    b = ie.build(tiny_spec, tiny_panel)
    import index_engine.outputs as outputs

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(outputs, "_write_excel", boom)
    with pytest.raises(OSError):
        b.write(tmp_path / "run")
    assert list(tmp_path.iterdir()) == []


def test_formula_like_text_is_written_as_text(tiny_spec, tmp_path):
    df = tiny_frame()
    df["unit_name"] = ["=HYPERLINK(1)", "+1", "-x", "@sum", "=1+2", "plain"][: len(df)]
    b = ie.build(tiny_spec, ie.panel_from_frame(df, tiny_spec))
    out = b.write(tmp_path / "r")
    units = pd.read_csv(out / "units.csv")
    assert units.unit_name.iloc[0] == "'=HYPERLINK(1)"
    from openpyxl import load_workbook

    ws = load_workbook(out / "results.xlsx")["units"]
    cell = ws["B2"]
    assert cell.data_type == "s" and cell.value == "=HYPERLINK(1)"


def test_one_period_index_writes_an_empty_year(tmp_path):
    spec = ie.load_spec(ROOT / "weights/examples/hdi.yaml")
    df = pd.read_csv(ROOT / "inputs/examples/hdi/hdi_2021.csv").drop(columns="year")
    b = ie.build(spec, ie.panel_from_frame(df, spec))
    out = b.write(tmp_path / "hdi")
    scores = pd.read_csv(out / "scores.csv")
    assert scores["year"].isna().all()


def test_weight_diagnostics_are_written(tiny_spec, tiny_panel, tmp_path):
    """AHP's CR and entropy's diagnostics reach weights.csv and the log."""
    s = tiny_spec.replace("steps.weights.by_node", {"D2": {"method": "entropy"}})
    s = s.replace("steps.weights.by_level", {3: {"method": "ahp", "params": {"matrix": [[1, 2], [0.5, 1]]}}})
    b = ie.build(s, tiny_panel)
    w = b.weights.set_index("node")
    assert w.loc["IDX", "children_weights"] == "ahp" and '"cr": 0.0' in w.loc["IDX", "diagnostics"]
    assert w.loc["IDX", "weight"] == 1.0
    assert w.loc["D1", "weight"] == pytest.approx(2 / 3)
    assert w.loc["D2", "children_weights"] == "entropy" and w.loc["D2", "diagnostics"]
    notes = [n for st in b.log if st.step == "weights" for n in st.notes]
    assert any(n.startswith("IDX:") for n in notes)
    out = b.write(tmp_path / "w", excel=False)
    assert "diagnostics" in pd.read_csv(out / "weights.csv").columns


def test_pool_on_a_step_that_has_none(tiny_spec):
    with pytest.raises(ie.SpecError, match="steps.aggregate.pool: only impute, screen, treat and normalize take a pool"):
        tiny_spec.replace("steps.aggregate.pool", "year")


def test_no_contributions_for_ranking_aggregations(tiny_spec, tiny_panel):
    b = ie.build(tiny_spec.replace("steps.aggregate.by_level", {3: {"method": "topsis"}}), tiny_panel)
    assert set(b.contributions.parent) == {"D1", "D2"}


def test_power_mean_rows_with_a_child_missing_are_missing_whatever_their_other_values():
    """generalised is missing when a child is missing: a 0 beside the gap is not a domain error."""
    X = np.array([[np.nan, 0.0], [2.0, 8.0]])
    W = np.ones((1, 2))
    for p in (0.0, -1.0, 0.5):
        y = aggregate.generalised(X, W, p=p)[0]
        assert np.isnan(y[0]) and y[1] == pytest.approx({0.0: 4.0, -1.0: 3.2, 0.5: 4.5}[p])
    with pytest.raises(aggregate.DomainError, match="p = 0.5 needs values > 0"):
        aggregate.generalised(np.array([[1.0, 0.0]]), W, p=0.5)


def test_batched_mean_of_per_sample_children_names_the_row():
    """quasi_mean_by_child equals the generic mean, and a value out of domain names its row."""
    rng = np.random.default_rng(3)
    kids = [rng.uniform(1, 100, size=(6, 4)) for _ in range(3)]
    W = rng.uniform(0.5, 1.5, size=(6, 3))
    form = aggregate.quasi_arithmetic("geometric", {})
    np.testing.assert_allclose(
        aggregate.quasi_mean_by_child(form, kids, W), aggregate.geometric(np.stack(kids, axis=-1), W), rtol=1e-14
    )
    kids[1][5, 2] = 0.0  # sample 5, row 2
    with pytest.raises(aggregate.DomainError) as err:
        aggregate.quasi_mean_by_child(form, kids, W)
    assert err.value.rows.tolist() == [2]


def test_stage_tables_read_whole_or_column_by_column_give_the_same_build(beijing_inputs, beijing_build, monkeypatch):
    """A small stage table is read as one array, a large one column by column: the same build to the last bit
    (Beijing: carried gaps over seven years, goalposts, treatment records)."""
    from index_engine import pipeline

    monkeypatch.setattr(pipeline, "_ARRAY_CELLS", 0)  # every table read column by column
    b = ie.build(*beijing_inputs)
    assert list(b.tables) == list(beijing_build.tables)
    for name, table in beijing_build.tables.items():
        pd.testing.assert_frame_equal(b.tables[name], table, check_exact=True)
    for records in ("imputed", "treatment", "fitted"):
        pd.testing.assert_frame_equal(getattr(b, records), getattr(beijing_build, records), check_exact=True)
    assert len(beijing_build.imputed) > 0
    pd.testing.assert_frame_equal(b.scores, beijing_build.scores, check_exact=True)


@pytest.mark.filterwarnings("ignore::index_engine.errors.MissingDenominatorWarning")  # LAO's two empty denominators
def test_denominators_are_read_on_the_rows_the_spec_keeps():
    """With ``units:`` naming some of the data's units, each indicator is divided by its denominator on those
    rows: the denominated values are the full build's for the same unit-years (division is row by row)."""
    spec = ie.load_spec(ROOT / "weights/examples/asem.yaml")
    panel = ie.load_panel(spec.base_dir / spec.data.file, spec)
    assert any(spec.nodes[c].denominator for c in spec.indicators)
    kept = sorted(panel.units)[:30]
    full = ie.build(spec, panel).tables["denominated"]
    part = ie.build(spec.replace("units", kept), panel).tables["denominated"]
    assert sorted(set(part.index.get_level_values("unit"))) == kept
    pd.testing.assert_frame_equal(part, full.loc[part.index], check_exact=True)
