"""The summary report of a firm-level build (index_engine.report.firms).

Two kinds of build get summary pages instead of a page per unit: (a) a large build, written as
wide Parquet (forced here on the 1,000-firm sample by lowering ``outputs.LARGE_ROWS``), and (b) a
CSV-layout build with more than ``SUMMARY_UNITS`` units (the same sample written normally). Every
number checked here is recomputed in the test from the build's own files with pandas.
"""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pandas as pd
import pytest

import index_engine as ie
import index_engine.outputs as outputs
from index_engine.report import firms, i18n, render_report
from index_engine.report.firms import FirmPageBuilder, is_summary_build, load_firm_model

from .conftest import ROOT, TINY_SPEC, tiny_frame
from .test_report import write_fake_sensitivity, write_fake_targets

SPEC = ROOT / "weights/examples/zgc_pilot_score.yaml"
DATA = ROOT / "inputs/zgc/zgc_firms_sample.csv"
ROOT_NODE = "ZGC"
LABELS = ["A", "B", "C", "D"]
SUMMARY_PAGES = {"index.html", "distribution.html", "grades.html", "firms.html", "indicators.html", "methodology.html"}
_BUILDS: dict[str, Path] = {}


# ---- shared builds (also used by test_report_browser.py) ------------------------------------
def firm_build(tmp_path_factory, kind: str) -> Path:
    """The 1,000-firm sample built once per session: ``"parquet"`` (large layout) or ``"csv"``."""
    if kind not in _BUILDS:
        spec = ie.load_spec(SPEC)
        b = ie.build(spec, ie.load_panel(DATA, spec))
        d = tmp_path_factory.mktemp(f"firms_{kind}") / "build"
        if kind == "parquet":
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(outputs, "LARGE_ROWS", 100)
                b.write(d)
        else:
            b.write(d, excel=False)
        _BUILDS[kind] = d
    return _BUILDS[kind]


@pytest.fixture(scope="module", params=["parquet", "csv"])
def build(request, tmp_path_factory) -> Path:
    return firm_build(tmp_path_factory, request.param)


@pytest.fixture(scope="module")
def parquet_build(tmp_path_factory) -> Path:
    return firm_build(tmp_path_factory, "parquet")


@pytest.fixture(scope="module")
def csv_build(tmp_path_factory) -> Path:
    return firm_build(tmp_path_factory, "csv")


_REPORTS: dict[tuple[Path, str], Path] = {}


def report(build_dir: Path, lang: str) -> Path:
    key = (build_dir, lang)
    if key not in _REPORTS:
        _REPORTS[key] = render_report(build_dir, build_dir.parent / f"report_{lang}", lang=lang)
    return _REPORTS[key]


# ---- the build's own files, read with pandas ---------------------------------------------
def scores_root(d: Path) -> pd.DataFrame:
    """unit, year, score, rank of the index."""
    if (d / "scores.parquet").is_file():
        s = pd.read_parquet(d / "scores.parquet", columns=["unit", "year", ROOT_NODE])
        r = pd.read_parquet(d / "ranks.parquet", columns=["unit", "year", ROOT_NODE])
        s = s.rename(columns={ROOT_NODE: "score"}).merge(r.rename(columns={ROOT_NODE: "rank"}), on=["unit", "year"])
    else:
        s = pd.read_csv(d / "scores.csv", dtype={"unit": str}, keep_default_na=False, na_values=[""])
        s = s[s["node"] == ROOT_NODE][["unit", "year", "score", "rank"]]
    return s.dropna(subset=["score"]).astype({"unit": str, "year": int})


def grades(d: Path) -> pd.DataFrame:
    if (d / "grades.parquet").is_file():
        g = pd.read_parquet(d / "grades.parquet")
    else:
        g = pd.read_csv(d / "grades.csv", dtype={"unit": str, "grade": str}, keep_default_na=False, na_values=[""])
    return g.dropna(subset=["grade"]).astype({"unit": str, "year": int, "grade": str})


def units(d: Path) -> pd.DataFrame:
    if (d / "units.parquet").is_file():
        return pd.read_parquet(d / "units.parquet").astype({"unit": str})
    return pd.read_csv(d / "units.csv", dtype=str, keep_default_na=False)


def normalized(d: Path) -> pd.DataFrame:
    """Wide: unit, year, one column per indicator."""
    if (d / "scores.parquet").is_file():  # a large build: the normalised indicators are columns of the scores
        return pd.read_parquet(d / "scores.parquet").astype({"unit": str})
    n = pd.read_csv(d / "tables/normalized.csv", dtype={"unit": str}, keep_default_na=False, na_values=[""])
    return n.pivot(index=["unit", "year"], columns="indicator", values="value").reset_index()


# ---- reading tables out of the pages -------------------------------------------------------
class Tables(HTMLParser):
    """Rows of every table with an id: ``{id: [(tr attrs, [(tag, attrs, text), ...]), ...]}``, and all ids and refs."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list] = {}
        self.ids: set[str] = set()
        self.refs: list[str] = []
        self._table: str | None = None
        self._row: tuple[dict, list] | None = None
        self._cell: list | None = None
        self._in_head = False

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        for k in ("href", "src"):
            if a.get(k):
                self.refs.append(a[k])
        if tag == "table" and a.get("id"):
            self._table = a["id"]
            self.tables[self._table] = []
        elif tag == "thead":
            self._in_head = True
        elif tag == "tbody":
            self._in_head = False
        elif tag == "tr" and self._table and not self._in_head:
            self._row = (a, [])
        elif tag in ("td", "th") and self._row is not None:
            self._cell = [tag, a, ""]

    def handle_endtag(self, tag):  # noqa: ANN001
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._cell[2] = self._cell[2].strip()
            self._row[1].append(tuple(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):  # noqa: ANN001
        if self._cell is not None:
            self._cell[2] += data


def parse(p: Path) -> Tables:
    t = Tables()
    t.feed(p.read_text(encoding="utf-8"))
    return t


def num(v: str) -> float:
    return float("nan") if v == "" else float(v)


# ---- the mode ------------------------------------------------------------------------------------
def test_summary_mode_is_chosen_by_layout_or_size(parquet_build, csv_build, tmp_path, monkeypatch):
    assert is_summary_build(parquet_build) and is_summary_build(csv_build)
    spec = ie.spec_from_dict(TINY_SPEC, label="tiny.yaml")
    ie.build(spec, ie.panel_from_frame(tiny_frame(), spec)).write(tmp_path / "tiny", excel=False)
    assert not is_summary_build(tmp_path / "tiny") and not is_summary_build(tmp_path / "missing")
    monkeypatch.setattr(firms, "SUMMARY_UNITS", 1000)  # 1,000 units is not more than 1,000
    assert not is_summary_build(csv_build)
    assert is_summary_build(parquet_build)  # the Parquet layout always is


def test_the_parquet_build_has_no_csv_tables(parquet_build, csv_build):
    import json

    manifest = json.loads((parquet_build / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["layout"] == firms.LARGE_LAYOUT
    assert not (parquet_build / "scores.csv").exists() and not (parquet_build / "units.csv").exists()
    assert (csv_build / "scores.csv").is_file() and (csv_build / "grades.csv").is_file()


# ---- pages -------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_summary_pages_exist_and_none_per_unit(build, lang):
    out = report(build, lang)
    names = {p.name for p in out.iterdir()}
    assert SUMMARY_PAGES | {"plotly.min.js", "report.css", "report.js"} <= names
    assert not [n for n in names if n.startswith(("unit-", "dim-", "ind-"))]
    assert "targets.html" not in names and "robustness.html" not in names  # no targets.csv, audit/ or sensitivity/
    assert len([n for n in names if n.endswith(".html")]) == len(SUMMARY_PAGES)
    html = (out / "index.html").read_text(encoding="utf-8")
    assert ('<html lang="zh-Hans">' in html) == (lang == "zh")
    if lang == "zh":
        assert "中关村领航积分（示例）" in html and "得分分布" in html and "1,000家企业" in html
        assert ">Overview<" not in html
    else:
        assert "Zhongguancun Pilot Score (illustrative)" in html and "Top firms" in html and "1,000 firms" in html
        assert "总览" not in html and "编制方法" not in html
    notice = json.loads((build / "manifest.json").read_text(encoding="utf-8"))["notice"][lang]  # from the data's flags
    assert "illustrative" in notice or "示例数据" in notice
    for page in out.glob("*.html"):
        assert notice in page.read_text(encoding="utf-8"), page.name


def test_links_resolve(build):
    out = report(build, "en")
    ids = {p.name: parse(p).ids for p in out.glob("*.html")}
    for page in out.glob("*.html"):
        for ref in parse(page).refs:
            parts = urlsplit(ref)
            assert parts.scheme in ("", "data") and not ref.startswith("//"), f"{page.name}: {ref}"
            if parts.scheme == "data":
                continue
            target = unquote(parts.path) or page.name
            assert (out / target).is_file(), f"{page.name}: {ref}"
            if parts.fragment:
                assert parts.fragment in ids[target], f"{page.name}: {ref}"


def test_headline_numbers(build):
    s = scores_root(build)
    last = s[s["year"] == s["year"].max()]["score"]
    t = parse(report(build, "en") / "index.html")
    html = (report(build, "en") / "index.html").read_text(encoding="utf-8")
    assert f'id="n-firms" data-value="{len(last)}"' in html
    assert f">{last.mean():.1f}<" in html and f">{last.median():.1f}<" in html
    rows = {r[0]["data-year"]: r[1] for r in t.tables["grade-shares"]}
    assert sorted(rows) == [str(y) for y in sorted(s["year"].unique())]
    for y, cells in rows.items():
        sy = s[s["year"] == int(y)]["score"]
        assert int(cells[1][1]["data-count"]) == len(sy)
        assert num(cells[2][1]["data-sort"]) == pytest.approx(sy.mean())
        assert num(cells[3][1]["data-sort"]) == pytest.approx(sy.median())


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_grade_shares_equal_the_grade_counts(build, lang):
    g = grades(build)
    counts = g.groupby(["year", "grade"]).size().unstack(fill_value=0).reindex(columns=LABELS, fill_value=0)
    out = report(build, lang)
    rows = {int(r[0]["data-year"]): r[1] for r in parse(out / "index.html").tables["grade-shares"]}
    assert set(rows) == set(counts.index)
    for y, cells in rows.items():
        graded = {c[1]["data-grade"]: c for c in cells if "data-grade" in c[1]}
        assert list(graded) == LABELS
        total = counts.loc[y].sum()
        for lab in LABELS:
            n = int(counts.loc[y, lab])
            assert int(graded[lab][1]["data-count"]) == n
            assert num(graded[lab][1]["data-share"]) == pytest.approx(n / total)
            assert graded[lab][2].startswith(i18n.fmt_pct(n / total, lang))  # the share as shown
    # the cards show the latest year's shares; grades.html the counts by year
    html = (out / "index.html").read_text(encoding="utf-8")
    ly = counts.index.max()
    for lab in LABELS:
        assert i18n.fmt_pct(counts.loc[ly, lab] / counts.loc[ly].sum(), lang) in html
    by_year = {int(r[0]["data-year"]): r[1] for r in parse(out / "grades.html").tables["grades-by-year"]}
    for y, cells in by_year.items():
        assert [int(c[1]["data-count"]) for c in cells if "data-grade" in c[1]] == counts.loc[y].tolist()


def test_grades_by_segment(build):
    g = grades(build)
    g = g[g["year"] == g["year"].max()].merge(units(build)[["unit", "stage"]], on="unit", how="left")
    ct = pd.crosstab(g["stage"], g["grade"]).reindex(columns=LABELS, fill_value=0)
    rows = parse(report(build, "en") / "grades.html").tables["grades-by-segment"]
    seen = {}
    for attrs, cells in rows:
        seen[attrs["data-segment"]] = [int(c[1]["data-count"]) for c in cells if "data-grade" in c[1]]
    assert seen.pop("") == ct.sum().tolist()  # the all-firms row
    assert set(seen) == set(ct.index) == {"startup", "growth", "mature"}
    for seg, counts in seen.items():
        assert counts == ct.loc[seg].tolist(), seg
    assert list(seen)[:2] == ["startup", "mature"]  # the spec's weight sets first


def test_top_firms_are_the_top_scores(build):
    s = scores_root(build)
    last = s[s["year"] == s["year"].max()]
    top = last.sort_values(["score", "unit"], ascending=[False, True]).head(firms.TOP_N)
    g = grades(build).set_index(["unit", "year"])["grade"]
    seg = units(build).set_index("unit")["stage"]
    rows = parse(report(build, "en") / "firms.html").tables["top-firms"]
    assert len(rows) == firms.TOP_N
    got = [(a["data-unit"], c) for a, c in rows]
    assert [u for u, _ in got] == top["unit"].tolist()
    for (u, cells), (_, want) in zip(got, top.iterrows()):
        assert num(cells[2][1]["data-sort"]) == pytest.approx(want["score"])
        assert int(cells[0][1]["data-sort"]) == int(want["rank"])
        assert cells[3][1]["data-grade"] == g.loc[(u, int(want["year"]))]
        assert cells[4][1]["data-segment"] == seg.loc[u]
    # nobody outside the list scores higher than the last listed firm
    assert last["score"].nlargest(firms.TOP_N).tolist() == top["score"].tolist()


def test_separating_indicators_match_a_groupby(build):
    n = normalized(build)
    g = grades(build)
    ly = g["year"].max()
    df = g[g["year"] == ly][["unit", "year", "grade"]].merge(n, on=["unit", "year"], how="left")
    spec = ie.load_spec(SPEC)
    inds = list(spec.indicators)
    means = df.groupby("grade")[inds].mean().reindex(LABELS)
    gap = (means.loc["A"] - means.loc["D"]).sort_values(ascending=False, kind="stable")
    nonzero = ((df[inds] != 0) & df[inds].notna()).sum() / len(df)
    rows = parse(report(build, "en") / "indicators.html").tables["separating"]
    assert [a["data-ind"] for a, _ in rows] == gap.index.tolist()  # largest gap first
    for attrs, cells in rows:
        ind = attrs["data-ind"]
        vals = [num(c[1]["data-sort"]) for c in cells if "data-group" in c[1]]
        np.testing.assert_allclose(vals, means[ind].to_numpy(), rtol=1e-12)
        gap_cell = next(c for c in cells if "data-gap" in c[1])
        share_cell = next(c for c in cells if "data-share" in c[1])
        assert num(gap_cell[1]["data-gap"]) == pytest.approx(gap[ind], rel=1e-12)
        assert num(share_cell[1]["data-share"]) == pytest.approx(nonzero[ind], rel=1e-12)
    # the dimensions by grade, from the scores
    dims = [d.code for d in spec.tree.children]
    if (build / "scores.parquet").is_file():
        sc = pd.read_parquet(build / "scores.parquet", columns=["unit", "year"] + dims)
    else:
        sc = pd.read_csv(build / "scores.csv", dtype={"unit": str})
        sc = sc[sc["node"].isin(dims)].pivot(index=["unit", "year"], columns="node", values="score").reset_index()
    dm = g[g["year"] == ly].merge(sc, on=["unit", "year"]).groupby("grade")[dims].mean().reindex(LABELS)
    drows = parse(report(build, "en") / "indicators.html").tables["dims-by-grade"]
    assert [a["data-node"] for a, _ in drows] == dims
    for attrs, cells in drows:
        assert num(next(c for c in cells if "data-gap" in c[1])[1]["data-gap"]) == pytest.approx(
            dm.loc["A", attrs["data-node"]] - dm.loc["D", attrs["data-node"]])


def test_quantiles_match_pandas(build):
    s = scores_root(build)
    rows = parse(report(build, "en") / "distribution.html").tables["quantiles"]
    for attrs, cells in rows:
        v = s[s["year"] == int(attrs["data-year"])]["score"]
        q = {c[1]["data-q"]: num(c[1]["data-sort"]) for c in cells if "data-q" in c[1]}
        assert q["min"] == v.min() and q["max"] == v.max()
        for key, p in (("p05", 0.05), ("p25", 0.25), ("median", 0.5), ("p75", 0.75), ("p95", 0.95)):
            assert q[key] == pytest.approx(v.quantile(p)), key


def test_histogram_counts_every_firm(build):
    m = load_firm_model(build)
    s = scores_root(build)
    for y, counts in m.summary.hist_counts.items():
        assert sum(counts) == (s["year"] == y).sum()
    e = m.summary.hist_edges
    assert e[0] <= s["score"].min() and e[-1] >= s["score"].max()


def test_both_layouts_give_the_same_summary(parquet_build, csv_build):
    a, b = load_firm_model(parquet_build).summary, load_firm_model(csv_build).summary
    assert a.years == b.years == (2023, 2024, 2025) and a.n_units == b.n_units == 1000
    assert a.per_year == b.per_year and a.hist_counts == b.hist_counts and a.hist_edges == b.hist_edges
    assert a.by_segment == b.by_segment and a.top == b.top
    assert [r["code"] for r in a.separating] == [r["code"] for r in b.separating]
    for x, y in zip(a.separating, b.separating):
        np.testing.assert_allclose(np.array(x["means"], float), np.array(y["means"], float), rtol=1e-12)


def test_methodology_shows_the_weights_of_each_segment(build):
    html = (report(build, "en") / "methodology.html").read_text(encoding="utf-8")
    w = pd.read_csv(build / "weights.csv", keep_default_na=False)
    assert 'id="segment-weight-table"' in html and ">start-up<" in html and ">mature<" in html
    eff = w[(w["segment"] == "startup") & (w["node"] == "GROWTH")]["effective_weight"].astype(float).iloc[0]
    assert i18n.fmt_pct(eff, "en", 2) in html  # 27.27%
    assert "Framework and weights" in html and "How the index is made" in html and "About the data" in html
    assert 'href="indicators.html#ind-invention_patents"' in html and 'href="indicators.html#node-OUTPUT"' in html
    assert 'id="units"' not in html and 'id="segments"' in html  # firms are not listed one by one


def test_every_chart_is_a_valid_plotly_figure_with_a_table(build):
    go = pytest.importorskip("plotly.graph_objects")
    m = load_firm_model(build)
    n = 0
    for lang in ("zh", "en"):
        for page in FirmPageBuilder(m, lang).pages():
            for c in page.charts:
                go.Figure(c.figure)
                assert c.table.rows and all(len(r) == len(c.table.columns) for r in c.table.rows), c.title
                n += 1
    assert n >= 12


def test_targets_and_robustness_pages_when_their_inputs_exist(csv_build, tmp_path):
    d = tmp_path / "b"
    shutil.copytree(csv_build, d, ignore=shutil.ignore_patterns("report*"))
    write_fake_targets(d)
    write_fake_sensitivity(d)  # rank_stats.csv for all 1,000 firms
    out = render_report(d, tmp_path / "r", lang="en")
    names = {p.name for p in out.glob("*.html")}
    assert names == SUMMARY_PAGES | {"targets.html", "robustness.html"}
    html = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="targets.html"' in html and 'href="robustness.html"' in html
    rob = (out / "robustness.html").read_text(encoding="utf-8")
    assert "Sobol" in rob and "Nominal ranks against rank intervals" in rob
    # the best nominal ranks only, each in the rank table and in the chart's data table
    assert rob.count('<th scope="row">F') == 2 * firms.TOP_SENSITIVITY
    assert "achieved" in (out / "targets.html").read_text(encoding="utf-8")


def test_a_build_without_grades_groups_by_quartile(tmp_path):
    spec = ie.load_spec(SPEC).replace_many({"grades": None, "segments": None})
    ie.build(spec, ie.load_panel(DATA, spec)).write(tmp_path / "b", excel=False)
    out = render_report(tmp_path / "b", lang="en")
    names = {p.name for p in out.glob("*.html")}
    assert names == SUMMARY_PAGES - {"grades.html"}
    html = (out / "indicators.html").read_text(encoding="utf-8")
    assert "Top 25%" in html and "Bottom 25%" in html and "grouped by quartile" in html
    assert 'href="grades.html"' not in (out / "index.html").read_text(encoding="utf-8")
    assert 'id="segment-weight-table"' not in (out / "methodology.html").read_text(encoding="utf-8")


def test_cli_build_writes_the_summary_report(run_cli, tmp_path):
    r = run_cli("build", SPEC, "--out", tmp_path / "b", "--no-excel")
    assert r.returncode == 0, r.stderr
    names = {p.name for p in (tmp_path / "b" / "report").glob("*.html")}
    assert names == SUMMARY_PAGES


def test_a_firm_can_be_told_why_it_got_its_score_and_grade(parquet_build):
    """Points per dimension (times the stage factor) add up to the total; bands are tables; the
    histogram shows the grade cut-offs."""
    from index_engine.report.firms import FirmPageBuilder

    m = load_firm_model(parquet_build)
    b = FirmPageBuilder(m, "en")
    top = b.top_page().context
    assert top["weighted"]
    for r in top["rows"]:
        assert sum(v for v in r["counted"].values() if v is not None) == pytest.approx(r["score"], abs=1e-9), r["unit"]
    startup = dict(top["factor_rows"])["startup"]
    w = {"INPUT": 1.0, "OUTPUT": 1.0, "GROWTH": 1.5, "FINANCE": 1.5, "QUAL": 0.5}
    assert startup == pytest.approx([w[d] * 5 / sum(w.values()) for d in m.dimensions])
    bands = {x["code"]: x["bands"] for x in b.scoring_bands()}
    assert bands["invention_patents"] == [("below 1", 0), ("1 to under 3", 5), ("3 to under 10", 12), ("10 or more", 20), ("missing", 0)]
    hist = b.histogram([m.latest], "h").figure["layout"]
    edges = b.sm.hist_edges
    xs = [s_["x0"] for s_ in hist["shapes"]]
    assert len(xs) == 3 and [a["text"].split()[-1] for a in hist["annotations"]] == ["70", "55", "40"]
    for x, c in zip(xs, (70, 55, 40)):  # a cut-off sits at its place on the band axis
        i = int(x + 0.5)
        assert edges[i] + (x - i + 0.5) * (edges[i + 1] - edges[i]) == pytest.approx(c)
    page = (report(parquet_build, "en") / "methodology.html").read_text(encoding="utf-8")
    assert "Scoring bands" in page and "points = [" not in page.split("Computation log")[0]
