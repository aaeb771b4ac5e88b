"""Coverage, the publication threshold, weights actually applied, empty-node warnings and the data notice.

The sparse Beijing panel (tests/data/sparse_beijing/) is the build the engine must handle honestly: 5 of
the 37 indicators observed, 4 units and the national series, 2023-2024. Every expected number below is
computed by hand from the spec's nominal weights: 8 dimensions of weight 1; within them VC has 4
indicators of positive weight, CR 5, CM 4, BD 3, RT 2, IN 3, FS 5, XB 5.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import index_engine as ie
from index_engine import cli
from index_engine.coverage import coverage_summary, nominal_shares
from index_engine.errors import EmptyNodeWarning, EmptyNodeYearWarning, SpecError
from index_engine.folder import load_build
from index_engine.outputs import data_notice

from .conftest import DATA, TINY_SPEC, tiny_frame

SPARSE = DATA / "sparse_beijing"
SPEC = SPARSE / "sparse.yaml"
DATA_SIDE = "breaks" in {f.name for f in dataclasses.fields(ie.Panel)}
"""Whether the data file reading of sub-annual rows, duplicates, breaks and missing indicators is there."""
NEEDS_READING = pytest.mark.skipif(
    not DATA_SIDE, reason="needs the reading side: sub-annual rows, duplicates, breaks, data.on_missing_indicator"
)


def annual_rows(spec: ie.Spec) -> pd.DataFrame:
    """The sparse panel as a file without the reading side's features can hold it: its annual rows, Shanghai's
    2024 IN1 from its latest source only, no break column, and every other indicator of the spec as a column of
    gaps (what ``on_missing_indicator: warn`` makes of an indicator the data lacks)."""
    df = pd.read_csv(SPARSE / "sparse_panel.csv", dtype=str, keep_default_na=False)
    df = df[~df["period"].str.contains("-")].drop(columns="break")
    df = df[~((df.unit == "SH") & (df.period == "2024") & (df.indicator == "IN1") & (df.vintage == "2025-03"))]
    pad = [c for c in spec.indicators if c not in set(df["indicator"])]
    gaps = pd.DataFrame({"unit": "BJ", "unit_name": "北京", "period": "2023", "indicator": pad, "value": ""})
    return pd.concat([df, gaps], ignore_index=True).fillna("")


@pytest.fixture(scope="module")
def sparse() -> ie.Build:
    spec = ie.load_spec(SPEC)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ie.build(spec, ie.panel_from_frame(annual_rows(spec), spec, name="sparse_panel.csv"))


def dims(**observed) -> dict[str, F]:
    """Each dimension's coverage: observed positive-weight indicators over the dimension's count."""
    n = {"VC": 4, "CR": 5, "CM": 4, "BD": 3, "RT": 2, "IN": 3, "FS": 5, "XB": 5}
    return {d: F(observed.get(d, 0), k) for d, k in n.items()}


def index_coverage(d: dict[str, F]) -> F:
    return sum(d.values()) / 8


# ---- coverage -----------------------------------------------------------------------------------
def test_nominal_shares_multiply_the_nominal_weights_down_the_tree(tiny_spec):
    s = nominal_shares(tiny_spec)
    # IDX: D1 1/3 (a, b halves), D2 2/3 (c 1/4, d 3/4)
    assert s["IDX"].to_dict() == pytest.approx({"a": 1 / 6, "b": 1 / 6, "c": 1 / 6, "d": 1 / 2})
    assert s["D2"].to_dict() == pytest.approx({"a": 0, "b": 0, "c": 0.25, "d": 0.75})
    assert s["c"].to_dict() == {"a": 0, "b": 0, "c": 1, "d": 0}
    np.testing.assert_allclose(s.sum(axis=0), 1.0)


def test_sparse_coverage_by_hand(sparse):
    cov = sparse.coverage
    full = dims(VC=1, FS=1, IN=1)  # VC3, FS1, IN1
    expected = {
        ("BJ", 2023): full, ("BJ", 2024): full, ("SH", 2023): full, ("SH", 2024): full, ("ZJ", 2023): full,
        ("ZJ", 2024): dims(VC=1, IN=1),  # FS1 a forecast: not observed
        ("SC", 2023): dims(VC=1, FS=1),  # IN1 imputed (carried back): not observed
        ("SC", 2024): full,  # FS1 an estimate (E): observed
    }
    assert set(cov.index) == set(expected)  # the national series is a reference unit, not scored
    for key, d in expected.items():
        for node, share in d.items():
            assert cov.loc[key, node] == pytest.approx(float(share), abs=1e-12), (key, node)
        assert cov.loc[key, "BJ_TFDI"] == pytest.approx(float(index_coverage(d)), abs=1e-12), key
    assert cov.loc[("BJ", 2024), "BJ_TFDI"] == pytest.approx(47 / 480)
    assert cov.loc[("BJ", 2024), "IN1"] == 1 and cov.loc[("SC", 2023), "IN1"] == 0 and cov.loc[("BJ", 2024), "VC4"] == 0


def test_dropping_an_indicator_never_raises_coverage(sparse):
    """An indicator the data lacks counts as unobserved: coverage is against the nominal weights, not the applied."""
    w = sparse.weights.set_index("node")
    assert w.loc["VC3", "applied_weight"] == 1.0 and w.loc["VC3", "weight"] == 0.25  # VC3 alone carries VC
    assert sparse.coverage.loc[("BJ", 2024), "VC"] == 0.25


# ---- withheld scores ----------------------------------------------------------------------------
def test_sparse_scores_below_the_threshold_are_withheld_with_their_reason(sparse):
    s = sparse.scores_long().set_index(["unit", "year", "node"])
    # the index: 47/480 = 0.098 < 0.66 for BJ; ZJ 2024 (VC and IN): 7/96 = 0.073; SC 2023 (VC and FS): 0.45/8 = 0.056
    assert s.loc[("BJ", 2024, "BJ_TFDI"), "status"] == "coverage 0.10 < 0.66"
    assert s.loc[("ZJ", 2024, "BJ_TFDI"), "status"] == "coverage 0.07 < 0.66"
    assert s.loc[("SC", 2023, "BJ_TFDI"), "status"] == "coverage 0.06 < 0.66"
    assert s.loc[("BJ", 2024, "VC"), "status"] == "coverage 0.25 < 0.5"  # levels: {2: 0.5}
    assert s.loc[("BJ", 2024, "CR"), "status"] == "coverage 0.00 < 0.5"
    assert s.loc[("SC", 2023, "IN"), "status"] == "coverage 0.00 < 0.3"  # nodes: {IN: 0.3}
    withheld = s[s["status"] != ""]
    assert withheld["score"].isna().all() and withheld["rank"].isna().all() and withheld["change"].isna().all()
    # published: IN for every unit-year with IN1 observed (1/3 >= 0.3), and every indicator
    published = s[s["status"] == ""]
    assert set(published.index.get_level_values("node")) == {"IN", *sparse.spec.indicators}
    assert published.xs("IN", level="node")["score"].notna().all()
    assert len(published.xs("IN", level="node")) == 7
    # the computed (unpublished) scores are kept on the build: only publication withholds them
    assert np.isfinite(sparse.scores.loc[("BJ", 2024), "VC"]) and np.isnan(sparse.published.loc[("BJ", 2024), "VC"])


def test_ranks_changes_and_contributions_skip_withheld_scores(sparse):
    s = sparse.scores_long().set_index(["unit", "year", "node"])
    inn = s.xs("IN", level="node")
    for year in (2023, 2024):
        one = inn.xs(year, level="year")
        ok = one[one["score"].notna()]
        expected = ok["score"].rank(ascending=False, method="min").astype(int)
        assert (ok["rank"].astype(int) == expected).all()
        assert one["rank"].max() == len(ok)  # SC 2023 withheld: ranks 1..3 in 2023
    assert len(inn.xs(2023, level="year").dropna(subset=["score"])) == 3
    assert np.isnan(s.loc[("SC", 2024, "IN"), "change"])  # SC 2023 withheld: no change
    bj = s.loc[("BJ", 2024, "IN"), "score"] - s.loc[("BJ", 2023, "IN"), "score"]
    assert s.loc[("BJ", 2024, "IN"), "change"] == pytest.approx(bj)
    c = sparse.contributions
    assert c[c["parent"] == "VC"]["contribution"].isna().all()
    assert c[c["child"] == "VC"]["contribution"].isna().all()
    bj_in = c[(c["parent"] == "IN") & (c["unit"] == "BJ") & (c["year"] == 2024)]
    assert bj_in["contribution"].sum() == pytest.approx(s.loc[("BJ", 2024, "IN"), "score"])


def test_no_publish_section_publishes_everything(tiny_spec, tiny_panel):
    b = ie.build(tiny_spec, tiny_panel)
    assert tiny_spec.publish is None and b.withheld is None and b.published is b.scores
    assert (b.scores_long()["status"] == "").all()


def test_thresholds_by_node_beat_level_beat_default():
    spec = ie.spec_from_dict({**TINY_SPEC, "publish": {"min_coverage": 0.9, "levels": {2: 0.6}, "nodes": {"D2": 0.2}}})
    p = spec.publish
    assert p.threshold("IDX", 3) == 0.9 and p.threshold("D1", 2) == 0.6 and p.threshold("D2", 2) == 0.2
    frame = tiny_frame()
    frame.loc[frame["unit"] == "U1", ["a", "c"]] = np.nan  # U1: D1 half observed, D2 three quarters, IDX 1/6 + 1/2
    b = ie.build(spec, ie.panel_from_frame(frame, spec))
    st = b.scores_long().set_index(["unit", "node", "year"])["status"]
    assert st[("U1", "D1", 2020)] == "coverage 0.50 < 0.6"
    assert st[("U1", "D2", 2020)] == "" and st[("U2", "D1", 2020)] == ""
    assert st[("U1", "IDX", 2020)] == "coverage 0.67 < 0.9"


@pytest.mark.parametrize(
    "publish, where",
    [({"nodes": {"a": 0.5}}, "publish.nodes.a"), ({"levels": {1: 0.5}}, "publish.levels.1"),
     ({"min_coverage": 1.5}, "publish.min_coverage"), ({"nodes": {"ZZ": 0.5}}, "publish.nodes.ZZ")],
)
def test_a_bad_publish_section_names_its_path(publish, where, tmp_path, capsys):
    with pytest.raises(SpecError, match=where.replace(".", r"\.")):
        ie.spec_from_dict({**TINY_SPEC, "publish": publish}, label="tiny.yaml")
    spec_file = tmp_path / "s.yaml"
    spec_file.write_text(json.dumps({**TINY_SPEC, "publish": publish}), encoding="utf-8")
    tiny_frame().to_csv(data := tmp_path / "d.csv", index=False)
    assert cli.main(["build", str(spec_file), "--data", str(data), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert where in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


# ---- empty nodes and the weights applied ---------------------------------------------------------
def test_a_node_empty_in_some_years_is_a_named_warning(tiny_spec):
    frame = tiny_frame()
    frame.loc[frame["year"] == 2021, ["c", "d"]] = np.nan  # D2 has no value in 2021
    with pytest.warns(EmptyNodeYearWarning, match=r"node 'D2' has no value for any unit in 2021") as rec:
        ie.build(tiny_spec, ie.panel_from_frame(frame, tiny_spec))
    assert len([w for w in rec if w.category is EmptyNodeYearWarning]) == 1  # the dimension, not each indicator
    assert issubclass(EmptyNodeYearWarning, EmptyNodeWarning)


def test_weights_show_the_weights_applied_beside_the_nominal(tiny_spec):
    frame = tiny_frame()
    frame[["a", "b"]] = np.nan  # D1 left empty: D2 carries the index
    with pytest.warns(EmptyNodeWarning, match="node 'D1'"):
        b = ie.build(tiny_spec, ie.panel_from_frame(frame, tiny_spec))
    w = b.weights.set_index("node")
    assert w.loc["D1", "nominal_weight"] == 1 and w.loc["D1", "weight"] == pytest.approx(1 / 3)
    assert w.loc["D1", "applied_weight"] == 0 and w.loc["D2", "applied_weight"] == 1
    assert w.loc["d", "applied_effective_weight"] == pytest.approx(0.75)  # 1 × 3/4
    assert w.loc["a", "applied_effective_weight"] == 0
    np.testing.assert_allclose(b.scores["IDX"], b.scores["D2"])  # what was applied


# ---- the notice, the console, the workbook and the report --------------------------------------
def test_sparse_notice_by_hand(sparse):
    # 4 units × 2 years × 37 indicators = 296 indicator-years: VC3 8, FS1 8 (one forecast, one estimate),
    # IN1 7 given; one imputed (SC 2023 IN1); 296 - 23 - 1 = 272 missing. Observed: 21 + 1 estimate = 22.
    n = data_notice(sparse)
    assert n["illustrative"] is False
    assert n["en"] == ("Data as of 2025-06 (the latest publication date in the data file); 7% of indicator-years observed "
                       "(observed 7%, estimate under 1%, forecast under 1%, imputed under 1%, missing 92%).")
    assert n["zh"] == ("数据截至2025-06（数据文件中最新的发布日期）；7%的指标-年份为观测数据"
                       "（观测7%，估计不足1%，预测不足1%，插补不足1%，缺失92%）。")
    assert round(100 * 22 / 296) == 7 and round(100 * 21 / 296) == 7 and round(100 * 272 / 296) == 92


def test_illustrative_banner_only_when_the_data_says_so(tiny_spec):
    frame = tiny_frame().melt(id_vars=["unit", "year"], var_name="indicator", value_name="value")
    flagged = ie.build(tiny_spec, ie.panel_from_frame(frame.assign(flag="S"), tiny_spec))  # SDMX-style letter
    n = data_notice(flagged)
    assert n["illustrative"] and n["en"].startswith("Illustrative data, not official statistics: the data file flags 100%")
    assert n["zh"].startswith("示例数据，非官方统计")
    plain = data_notice(ie.build(tiny_spec, ie.panel_from_frame(frame, tiny_spec)))
    assert not plain["illustrative"] and "llustrative" not in plain["en"] and "示例" not in plain["zh"]
    assert plain["en"] == ("Data for 2020–2021 (the data file gives no publication dates); 100% of indicator-years "
                           "observed (observed 100%).")


def test_beijing_default_notice_comes_from_its_flags():
    spec = ie.load_spec(ie.__path__[0] + "/../weights/beijing_tfdi.yaml")
    assert spec.index.notice_zh is None and spec.index.notice_en is None
    panel = ie.load_panel(Path(ie.__path__[0]).parent / "inputs/beijing/beijing_tfdi_panel.csv", spec)
    assert set(panel.sources["flag"]) == {"illustrative", "observed"}  # the two 2025Q1 anchors are published figures
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = ie.build(spec, panel)
    n = data_notice(b)
    assert n["illustrative"] and "do not cite the results" in n["en"] and "请勿引用其结果" in n["zh"]
    assert b.withheld is not None and not b.withheld.to_numpy().any()  # the default publishes every score


def _texts(folder: Path) -> dict[str, str]:
    """Every text a reader of the folder sees: CSVs, JSON, the workbook's cells and the report's pages."""
    from openpyxl import load_workbook

    out = {str(p.relative_to(folder)): p.read_text(encoding="utf-8-sig")
           for p in folder.rglob("*") if p.suffix in (".csv", ".html", ".json", ".js", ".css", ".yaml")}
    book = load_workbook(folder / "results.xlsx", read_only=True)
    for ws in book.worksheets:
        out[f"results.xlsx:{ws.title}"] = "\n".join(str(c) for row in ws.iter_rows(values_only=True) for c in row if c is not None)
    return out


def test_sparse_build_end_to_end(tmp_path, capsys):
    """The console, results.xlsx, manifest.json and the report say how much is observed; nothing calls the data
    illustrative; the report renders with withheld scores; provenance.csv lists the exceptions."""
    spec = ie.load_spec(SPEC)
    (data := tmp_path / "sparse.csv").write_text(annual_rows(spec).to_csv(index=False), encoding="utf-8")
    assert cli.main(["build", str(SPEC), "--data", str(data), "--out", str(out := tmp_path / "out")]) == 0
    console = capsys.readouterr()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    notice = manifest["notice"]
    assert notice["zh"].startswith("数据截至2025-06") and not notice["illustrative"]
    assert notice["zh"] in console.out  # the index's language
    assert "withheld: " in console.out and "coverage (2024)" in console.out
    scores = pd.read_csv(out / "scores.csv", keep_default_na=False)
    root = scores[(scores["node"] == "BJ_TFDI") & (scores["year"] == 2024)].set_index("unit")
    names = ie.load_panel(data, spec).unit_names(list(root.index))
    by_name = {names.get(u, u): u for u in root.index}
    top = [line.split() for line in console.out.splitlines() if line.startswith("  ") and len(line.split()) in (2, 3)]
    shown = {by_name[p[-2]]: p[-1] for p in top if len(p) >= 2 and p[-2] in by_name}
    assert len(shown) >= 3
    for unit, value in shown.items():  # a missing score says whether the build withheld it
        assert (value == "withheld") == (root.loc[unit, "status"] != ""), (unit, value)
    assert "withheld" in shown.values()
    assert "warning: EmptyNodeWarning:" in console.err
    summary = console.out.split("coverage (2024)")[1]
    assert "0.10" in summary and "0.33" in summary  # BJ's index and IN coverage
    assert manifest["withheld"] == int((pd.read_csv(out / "scores.csv")["status"].fillna("") != "").sum()) > 0
    f = load_build(out)
    assert f.notice == notice
    cov = f.coverage.set_index(["unit", "year", "node"])["coverage"]
    assert cov[("BJ", 2024, "BJ_TFDI")] == pytest.approx(47 / 480)
    assert f.scores_long.set_index(["unit", "year", "node"]).loc[("BJ", 2024, "VC"), "status"] == "coverage 0.25 < 0.5"
    prov = f.provenance
    assert prov[(prov.unit == "SC") & (prov.indicator == "IN1")]["how"].tolist() == ["carried back from 2024"]
    assert set(prov["flag"]) >= {"forecast", "estimate"}
    texts = _texts(out)
    readme = texts["results.xlsx:说明"]
    assert notice["zh"] in readme and notice["en"] in readme
    assert "index.html" in {Path(k).name for k in texts}
    texts["manifest.json"] = texts["manifest.json"].replace('"illustrative": false', "")  # the notice's own key
    for name, text in texts.items():
        for word in ("illustrative", "Illustrative", "示例", "模拟"):
            assert word not in text, (name, word)
    for page in ("report/index.html", "report/methodology.html", "report/dim-VC.html", "report/unit-BJ.html", "report/unit-SC.html"):
        assert notice["zh"] in texts[page], page


# ---- the reading side: sub-annual rows, duplicates, breaks, missing indicators ------------------
@NEEDS_READING
def test_sparse_file_as_it_is_under_warn(tmp_path, capsys):
    """The fixture file itself: VC4 and XB2 monthly (December values are the years'), IN1 with a break (BJ 2024)
    and two sources (SH 2024: the latest vintage wins), 32 indicators missing, and with them the denominators
    only they need (LOANS_RMB, LOANS_CORP, HT_FIRMS: no value left missing by them), and targets are not tracked
    (targets of indicators the data lacks are the targets' own rules)."""
    data = SPARSE / "sparse_panel.csv"
    args = ["build", str(SPEC), "--data", str(data), "--out", str(out := tmp_path / "out"), "--no-report",
            "--set", "data.on_missing_indicator=warn", "--set", "data.duplicates=latest_vintage", "--set", "tracking=null"]
    assert cli.main(args) == 0
    f = load_build(out)
    cov = f.coverage.set_index(["unit", "year", "node"])["coverage"]
    bj = dims(VC=2, FS=1, IN=1, XB=1)  # VC3 and VC4, FS1, IN1, XB2
    assert cov[("BJ", 2024, "VC")] == 0.5 and cov[("BJ", 2024, "XB")] == pytest.approx(0.2)
    assert cov[("BJ", 2024, "BJ_TFDI")] == pytest.approx(float(index_coverage(bj)))
    assert cov[("SC", 2024, "XB")] == 0  # no XB2 for SC
    s = f.scores_long.set_index(["unit", "year", "node"])
    assert s.loc[("BJ", 2024, "VC"), "status"] == "" and np.isfinite(s.loc[("BJ", 2024, "VC"), "score"])  # 0.5 >= 0.5
    assert s.loc[("BJ", 2024, "XB"), "status"] == "coverage 0.20 < 0.5"
    # 296 indicator-years: 37 given (VC3 8, FS1 8, IN1 7, VC4 8, XB2 6), 36 observed, 1 imputed, 258 missing
    assert f.notice["en"] == ("Data as of 2025-06 (the latest publication date in the data file); 12% of indicator-years "
                              "observed (observed 12%, estimate under 1%, forecast under 1%, imputed under 1%, missing 87%).")
    prov = f.provenance
    sh = prov[(prov.unit == "SH") & (prov.indicator == "IN1")]
    assert sh["source"].tolist() == ["上海市金融局"]  # the latest vintage, not IN1's usual source
    assert "口径调整" in prov[(prov.unit == "BJ") & (prov.indicator == "IN1")]["note"].iloc[0]
    spec, panel = f.inputs()
    assert ("BJ", "IN1") in set(zip(panel.breaks["unit"], panel.breaks["indicator"]))


def test_coverage_summary_is_the_latest_year_by_dimension(sparse):
    s = coverage_summary(sparse)
    assert list(s.columns) == ["BJ_TFDI", "VC", "CR", "CM", "BD", "RT", "IN", "FS", "XB"]
    assert list(s.index) == ["BJ", "SH", "ZJ", "SC"]
    assert s.loc["ZJ", "FS"] == 0 and s.loc["SC", "FS"] == pytest.approx(0.2)


def test_the_console_summary_of_many_units_is_describes_min_median_and_max():
    """More than 40 units: the console prints min, median and max of each column, missing values left out,
    the rows describe() gives (here without describe's copy of a million rows)."""
    rng = np.random.default_rng(5)
    df = pd.DataFrame(rng.random((1001, 3)), columns=["IDX", "D1", "D2"])
    df.iloc[::3, 1] = np.nan
    df["D2"] = np.nan
    for part in (df, df.iloc[:1000]):  # an odd and an even count of values
        expected = part.describe().loc[["min", "50%", "max"]].rename(index={"50%": "median"})
        pd.testing.assert_frame_equal(cli._min_median_max(part), expected, check_exact=True)


def test_coverage_is_the_observed_cells_times_the_nominal_shares(sparse):
    """node_coverage adds each node's shares of its observed indicators: the product of the observed cells
    (0/1) and the nominal shares, computed here as one matrix product; the observation shares are counted
    from the same cells, which the build does not keep."""
    from index_engine.coverage import node_coverage, observation_shares, observed

    obs = observed(sparse)
    expected = obs.astype(float) @ nominal_shares(sparse.spec).to_numpy()
    np.testing.assert_allclose(node_coverage(sparse).to_numpy(), expected, rtol=0, atol=1e-15)
    assert "_cells" not in sparse.__dict__
    shares = observation_shares(sparse)
    assert shares == observation_shares(sparse) and shares is not observation_shares(sparse)
    assert shares["counted"] == pytest.approx(obs.mean())


def test_coverage_by_pattern_of_observed_indicators_is_the_row_by_row_sum_to_the_bit(sparse, monkeypatch):
    """A node's coverage worked out once per pattern of its partly observed indicators equals the shares added
    row by row (the same additions in the same order), for nodes with few and with many such indicators and
    indicators observed everywhere or nowhere."""
    from index_engine import coverage

    rng = np.random.default_rng(3)
    obs = rng.random((len(sparse.scores), len(sparse.spec.indicators))) < 0.7
    obs[:, :3], obs[:, 3:5] = True, False
    monkeypatch.setattr(coverage, "observed", lambda b: obs)
    shares = nominal_shares(sparse.spec).to_numpy()
    partial = ((obs.sum(axis=0) > 0) & (obs.sum(axis=0) < len(obs)))[:, None] & (shares != 0)
    assert partial.sum(axis=0).max() > coverage._PATTERN_BITS >= partial.sum(axis=0)[partial.sum(axis=0) > 1].min()
    by_pattern = coverage.node_coverage(sparse)
    monkeypatch.setattr(coverage, "_PATTERN_BITS", -1)  # every node row by row
    by_rows = coverage.node_coverage(sparse)
    pd.testing.assert_frame_equal(by_pattern, by_rows, check_exact=True)
    np.testing.assert_allclose(by_rows.to_numpy(), obs @ shares, rtol=0, atol=1e-15)
