"""The report pages (index_engine.report): model, pages, escaping, number formats, CLI.

The browser checks (pages load from file:// with no console error, charts draw, links resolve)
are in test_report_browser.py; these run without a browser.
"""

from __future__ import annotations

import csv
import html
from html import unescape as html_unescape
import json
import math
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pandas as pd
import yaml
import pytest

import index_engine as ie
from index_engine._json import jsonable
from index_engine.errors import DataError, OutputExistsError
from index_engine.folder import load_build
from index_engine.report import charts, i18n, load_model, render_report
from index_engine.report.site import PageBuilder

from .conftest import BEIJING, ROOT, TINY_SPEC, tiny_frame


# ---- fake results added to a build folder (also used by test_report_browser.py) --------------

TARGET_COLUMNS = [
    "indicator", "name_zh", "name_en", "unit", "basis", "baseline_value", "baseline_date", "latest_value",
    "latest_date", "target_value", "target_year", "attainment", "required_cagr_from_baseline",
    "required_cagr_from_latest", "achieved_cagr", "projection", "projection_lo", "projection_hi", "model",
    "status", "rule_en", "rule_zh", "quote", "reading_zh", "reading_en", "model_zh",
]
RANK_QUOTE = "推动科技创新债券、科技保险、科技型企业上市和不动产投资信托基金发行规模位居全国前列"


def write_fake_targets(d: Path) -> None:
    """A small targets.csv in the documented columns, one row per status."""
    rows = [
        ["CR1", "科技贷款余额", "Tech-related loan balance", "亿元", "year_end_stock", 42000, "2025Q1", 45200, "2025",
         55000, 2027, 0.246, 0.103, 0.1032, 0.1024, 56750, 54460, 59130, "OLS ln(value) = a + b·t", "on_track",
         "projection for the target year meets the target", "目标年预测值达到目标",
         "到2027年底，……科技贷款和科技型企业贷款余额分别突破5.5万亿元和2.5万亿元", "", "", "最小二乘 ln(值) = a + b·t"],
        ["VC1", "科技领域在京新设基金规模", "New tech-oriented funds", "亿元", "cumulative", 0, "2025", 2246, "2025",
         10000, 2027, 0.2246, "", "", "", 6803, 5212, 9249, "loglinear flows, summed", "off_track",
         "even the better end of the prediction interval misses the target", "预测区间的较好一端也未达到目标",
         "科技创新领域引入长期资本、耐心资本等在京新设基金规模力争超万亿元",
         "“力争超万亿元”读作2025—2027年新设基金规模合计", "\"strive to exceed one trillion yuan\" read as the 2025-2027 sum", "对数线性流量，累计"],
        ["VC5", "AIC股权投资试点基金规模", "AIC pilot funds", "亿元", "year_end_stock", 0, "2019", 318, "2025", 500, 2027,
         0.636, "", 0.254, 0.35, 470, 380, 560, "OLS ln(value) = a + b·t", "at_risk",
         "the projection misses the target but the interval reaches it", "预测值未达到目标，但预测区间可达", "", "", "",
         "最小二乘 ln(值) = a + b·t"],
        ["CM3", "全国IPO规模排名", "National rank in IPO proceeds", "位次 (1 = best of 31 provinces)", "rank", "", "",
         1, "2025", 3, 2027, 1, "", "", "", "", "", "", "", "achieved", "national rank <= 3", "全国排名前3",
         RANK_QUOTE, "“位居全国前列”读作全国排名前3", "\"well ahead nationally\" read as national rank <= 3", ""],
    ]
    with open(d / "targets.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(TARGET_COLUMNS)
        w.writerows(rows)


def write_fake_sensitivity(d: Path) -> None:
    """sensitivity/ with rank_stats.csv (from scores.csv), sobol.csv and importance.csv."""
    s = pd.read_csv(d / "scores.csv", dtype={"unit": str})
    root = s.loc[s["level"] == s["level"].max(), "node"].iloc[0]
    last = s[(s["node"] == root) & (s["year"] == s["year"].max())].sort_values("rank")
    out = d / "sensitivity"
    out.mkdir(exist_ok=True)
    n = len(last)
    rs = pd.DataFrame({
        "unit": last["unit"], "year": last["year"], "nominal_rank": last["rank"],
        "mean_rank": last["rank"] + 0.3, "median_rank": last["rank"],
        "q05_rank": (last["rank"] - 1).clip(lower=1), "q95_rank": (last["rank"] + 2).clip(upper=n),
        "nominal_score": last["score"], "q05_score": last["score"] - 3, "q95_score": last["score"] + 2,
    })
    rs.to_csv(out / "rank_stats.csv", index=False)
    pd.DataFrame({
        "factor": ["steps.normalize.method", "weights", "steps.aggregate.method"],
        "S1": [0.42, 0.21, 0.05], "S1_lo": [0.35, 0.12, 0.0], "S1_hi": [0.5, 0.3, 0.1],
        "ST": [0.6, 0.33, 0.09], "ST_lo": [0.52, 0.25, 0.03], "ST_hi": [0.7, 0.41, 0.15],
    }).to_csv(out / "sobol.csv", index=False)
    pd.DataFrame({
        "node": ["VC", "CR"], "parent": [root, root], "effective_weight": [0.125, 0.125],
        "r2": [0.93, 0.7], "eta2": [0.91, 0.66], "flag": ["", "importance below weight"],
    }).to_csv(out / "importance.csv", index=False)


@pytest.fixture(scope="module")
def bj(beijing_folder) -> Path:
    """The Beijing build with its audit (conftest.py), written once per session."""
    return beijing_folder


@pytest.fixture(scope="module")
def bj_plain(bj, tmp_path_factory) -> Path:
    """The Beijing build without targets, sensitivity or audit."""
    d = tmp_path_factory.mktemp("bj_plain") / "build"
    shutil.copytree(bj, d)
    (d / "targets.csv").unlink(missing_ok=True)
    shutil.rmtree(d / "audit", ignore_errors=True)
    shutil.rmtree(d / "report", ignore_errors=True)
    return d


@pytest.fixture(scope="module")
def bj_full(bj, tmp_path_factory) -> Path:
    """The Beijing build with audit, fake targets.csv and fake sensitivity/."""
    d = tmp_path_factory.mktemp("bj_full") / "build"
    shutil.copytree(bj, d)
    shutil.rmtree(d / "report", ignore_errors=True)
    write_fake_targets(d)
    write_fake_sensitivity(d)
    return d


@pytest.fixture(scope="module")
def hdi_folder(tmp_path_factory) -> Path:
    """The HDI build (12 countries, one year): a small report, for the folder and command-line checks."""
    spec = ie.load_spec(ROOT / "weights/examples/hdi.yaml")
    b = ie.build(spec, ie.load_panel(ROOT / "inputs/examples/hdi/hdi_2021.csv", spec))
    return b.write(tmp_path_factory.mktemp("hdi") / "build", excel=False)


@pytest.fixture
def hdi(hdi_folder, tmp_path) -> Path:
    """A copy of the HDI build folder this test may change."""
    return Path(shutil.copytree(hdi_folder, tmp_path / "hdi"))


@pytest.fixture(scope="module")
def bj_full_model(bj_full):
    """load_model(bj_full), read once for the module (tests only read it)."""
    return load_model(bj_full)


@pytest.fixture(scope="module")
def full_zh(bj_full, tmp_path_factory) -> Path:
    return render_report(bj_full, tmp_path_factory.mktemp("rzh") / "report")


@pytest.fixture(scope="module")
def full_en(bj_full, tmp_path_factory) -> Path:
    return render_report(bj_full, tmp_path_factory.mktemp("ren") / "report", lang="en")


def read(p: Path) -> str:
    return p.read_text(encoding="utf-8")


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        for key in ("href", "src"):
            if a.get(key):
                self.refs.append(a[key])


# ---- pages --------------------------------------------------------------------------------
def test_every_page_is_written(full_zh, bj_full, bj_full_model):
    m = bj_full_model
    names = {p.name for p in full_zh.iterdir()}
    expected = {"index.html", "units.html", "framework.html", "methodology.html", "targets.html",
                "robustness.html", "plotly.min.js", "report.css", "report.js"}
    expected |= {m.units[u].page for u in m.ranked_units}
    expected |= {m.nodes[c].page for c in m.aggregates + m.indicators}
    assert expected <= names
    assert len(m.ranked_units) == 13 and len(m.indicators) == 37 and len(m.aggregates) == 8
    from plotly.offline import get_plotlyjs

    assert read(full_zh / "plotly.min.js") == get_plotlyjs()


def test_chinese_by_default_english_on_request(full_zh, full_en):
    zh, en = read(full_zh / "index.html"), read(full_en / "index.html")
    assert '<html lang="zh-Hans">' in zh and '<html lang="en">' in en
    assert "北京市科技金融发展指数" in zh and "总览" in zh and "北京" in zh
    assert "Beijing Tech-Finance Development Index" in en and "Overview" in en and "Beijing" in en
    # interface words come from one language only
    assert "总览" not in en and "编制方法" not in en
    assert ">Overview<" not in zh and ">Methodology<" not in zh


def test_default_language_follows_the_index_name(tmp_path):
    spec_dict = json.loads(json.dumps(TINY_SPEC))
    del spec_dict["index"]["name_zh"]
    spec = ie.spec_from_dict(spec_dict, label="tiny.yaml")
    b = ie.build(spec, ie.panel_from_frame(tiny_frame(), spec))
    b.write(tmp_path / "b", excel=False)
    out = render_report(tmp_path / "b")
    assert out == tmp_path / "b" / "report"
    assert '<html lang="en">' in read(out / "index.html")


def test_pages_reference_only_local_files(full_zh, full_en):
    for folder in (full_zh, full_en):
        for page in folder.glob("*.html"):
            p = Links()
            p.feed(read(page))
            for ref in p.refs:
                parts = urlsplit(ref)
                assert parts.scheme in ("", "data"), f"{page.name}: {ref}"
                assert not ref.startswith("//"), f"{page.name}: {ref}"
                if parts.scheme == "data":
                    continue
                if parts.path:
                    assert (folder / unquote(parts.path)).is_file(), f"{page.name}: {ref}"
                if parts.fragment and not parts.path:
                    assert parts.fragment in p.ids, f"{page.name}: #{parts.fragment}"


def test_every_chart_is_a_valid_plotly_figure_with_a_table(bj_full, bj_full_model):
    go = pytest.importorskip("plotly.graph_objects")
    m = bj_full_model
    n = 0
    for lang in ("zh", "en"):
        for page in PageBuilder(m, lang).pages():
            for c in page.charts:
                go.Figure(c.figure)  # raises on any invalid property
                assert c.table.rows and all(len(r) == len(c.table.columns) for r in c.table.rows), c.title
                n += 1
    assert n > 100


def test_figure_json_written_as_is_or_cleaned_is_the_same(bj_full_model):
    """Each figure is written without cleaning where it holds only plain values; the text is the one
    cleaning first gives, and a NaN, an infinity or a numpy number is cleaned."""
    clean = lambda obj: charts._js(jsonable(obj))  # noqa: E731
    figures = [c.figure for page in PageBuilder(bj_full_model, "en").pages() for c in page.charts]
    assert figures and all(charts._js(f) == clean(f) for f in figures)
    odd = {"x": [1.5, float("nan"), np.float64(2.0), np.int64(3), -math.inf], "y": np.array([0.25]), "t": "<b>&"}
    assert charts._js(odd) == clean(odd) == '{"x":[1.5,null,2.0,3,null],"y":[0.25],"t":"\\u003cb\\u003e\\u0026"}'


def test_small_multiples_format_each_value_once():
    seen: list[object] = []

    def fmt(v):
        seen.append(v)
        return "—" if v is None else f"{v:.1f}"

    panels = [{"name": f"u{i}", "y": [1.0, 2.5, None, -0.0], "ref": [0.0, 2.5, 3.0, 3.0]} for i in range(5)]
    chart = charts.small_multiples("c", "t", [2021, 2022, 2023, 2024], panels, fmt=fmt, ref_name="median")
    assert chart.table.rows[0] == ["u0", "1.0", "2.5", "—", "-0.0"] and chart.table.rows[-1] == ["median", "0.0", "2.5", "3.0", "3.0"]
    # -0.0 shown twice on each panel (hover, table), the reference's 0.0 on each panel and once in the table
    assert sorted(map(repr, seen)) == sorted(map(repr, [1.0, 2.5, None, 3.0] + [-0.0] * 10 + [0.0] * 6))


def test_overview_numbers_match_scores_csv(full_zh, bj_full):
    s = pd.read_csv(bj_full / "scores.csv")
    last = s[(s["node"] == "BJ_TFDI") & (s["year"] == s["year"].max())].set_index("unit")
    html = read(full_zh / "index.html")
    rows = re.findall(r'<tr[^>]*>\s*<td class="num" data-sort="(\d+)">.*?href="unit-(\w+)\.html".*?data-sort="([-0-9.e]+)"', html, re.S)
    assert len(rows) >= 13
    for rank, unit, score in rows[:13]:
        assert int(rank) == int(last.loc[unit, "rank"])
        assert float(score) == pytest.approx(float(last.loc[unit, "score"]))
    assert f"{last.loc['BJ', 'score']:.1f}" in html


def test_the_coverage_column_is_the_builds_coverage(full_zh, bj_full):
    """The units and dimension pages' coverage is coverage.csv's (the share of nominal weight the publication
    rule reads), not a count of indicators with data: the page never shows a second number by that name."""
    cov = pd.read_csv(bj_full / "coverage.csv")
    last = cov[cov["year"] == cov["year"].max()].set_index(["unit", "node"])["coverage"]
    for page, node in (("units.html", "BJ_TFDI"), ("dim-VC.html", "VC")):
        html = read(full_zh / page)
        cells = re.findall(r'href="unit-(\w+)\.html".*?<td class="num" data-sort="([0-9.e-]+)">(\d+)%</td>\s*</tr>', html, re.S)
        assert len(cells) >= 13, page
        for unit, value, shown in cells:
            assert float(value) == pytest.approx(last[(unit, node)], abs=1e-12)
            assert int(shown) == round(100 * last[(unit, node)])
        assert "/37</td>" not in html and "名义权重中有观测数据支撑的比例" in html


def test_unit_profile_contributions_add_up_to_the_change(bj_full, bj_full_model):
    m = bj_full_model
    y, prev = m.latest, m.previous
    for u in m.ranked_units:
        total = sum(m.contribution(u, y, d) - m.contribution(u, prev, d) for d in m.dimensions)
        assert total == pytest.approx(m.change(u, y, m.root), abs=1e-9)


def test_unit_profile_shows_dimensions_strengths_and_trends(full_zh, full_en):
    zh = read(full_zh / "unit-BJ.html")
    assert "北京" in zh and "同组中位数" in zh and "优势指标" in zh and "短板指标" in zh and "历年走势" in zh
    assert "各维度对指数变化的贡献（2024→2025）" in zh
    en = read(full_en / "unit-SH.html")
    assert "Shanghai" in en and "Strengths" in en and "Against the peer median" in en


def test_indicator_page_shows_units_sources_and_treatment(full_zh, full_en, bj_full, bj_full_model):
    zh = read(full_zh / "ind-CR1.html")
    assert "科技贷款余额" in zh and "万亿元" in zh and "中国人民银行北京市分行" in zh
    en = read(full_en / "ind-CR1.html")
    assert "CNY" in en and " trn" in en and "Tech-related loan balance" in en
    treated = pd.read_csv(bj_full / "treatment.csv")
    ind = treated["indicator"].iloc[0]
    page = read(full_en / bj_full_model.nodes[ind].page)
    assert "Outlier treatment" in page and treated["treatment"].iloc[0] in page
    assert "No value was treated or imputed." in read(full_en / "ind-CR1.html")


def test_dimension_page_lists_children_coverage_and_verdict(full_en):
    html = read(full_en / "dim-VC.html")
    for code in ("VC1", "VC2", "VC3", "VC4", "VC5"):
        assert f"ind-{code}.html" in html
    assert "Coverage" in html and "Statistical coherence" in html and "Weight zero" in html


def test_methodology_is_generated_from_spec_log_weights_and_manifest(full_zh, full_en, bj_full):
    spec = ie.spec_from_dict(__import__("yaml").safe_load(read(bj_full / "spec.yaml")))
    log = json.loads(read(bj_full / "log.json"))
    manifest = json.loads(read(bj_full / "manifest.json"))
    zh, en = read(full_zh / "methodology.html"), read(full_en / "methodology.html")
    assert manifest["notice"]["zh"] in zh and manifest["notice"]["en"] in en  # the notice of the data's flags
    assert manifest["notice"]["illustrative"] and "示例数据" in manifest["notice"]["zh"]
    for step in log:
        assert step["spec_path"] in en
    assert manifest["spec_sha256"] in en and manifest["data_sha256"] in en
    assert "12.50%" in en  # a dimension's effective weight (1/8)
    for code in spec.indicators:
        assert f'href="ind-{code}.html"' in en
    assert "The JRC outlier rule" in en  # the method's summary from the registry


def test_notice_is_on_every_page(full_zh, bj_full):
    notice = json.loads(read(bj_full / "manifest.json"))["notice"]["zh"]
    for page in full_zh.glob("*.html"):
        assert notice in read(page), page.name


def test_targets_page(full_zh, full_en):
    zh, en = read(full_zh / "targets.html"), read(full_en / "targets.html")
    for s in ("已达成", "进展顺利", "存在风险", "进度滞后"):
        assert s in zh
    for s in ("achieved", "on track", "at risk", "off track"):
        assert s in en
    assert "5.50万亿元" in zh and "CNY 5.50 trn" in en  # target 55,000 亿元
    assert "10.3%" in en and "第1位" in zh and "rank 1" in en
    assert 'href="targets.html"' in read(full_en / "index.html")
    assert "targets.html" in read(full_en / "ind-CR1.html")


@pytest.fixture(scope="module")
def loop_reports(bj, tmp_path_factory) -> dict[str, Path]:
    """The Beijing build's own targets.csv and measures.csv (illustrative progress file), in both languages."""
    return {lang: render_report(bj, tmp_path_factory.mktemp(f"loop_{lang}") / "report", lang=lang) for lang in ("zh", "en")}


def test_loop_pages(loop_reports, bj):
    zh, en = loop_reports["zh"], loop_reports["en"]
    targets = pd.read_csv(bj / "targets.csv")
    sc_zh, sc_en = read(zh / "scorecard.html"), read(en / "scorecard.html")
    for page in (sc_zh, sc_en):
        assert page.count('<th scope="row" class="ind">') == len(targets) == 11
        assert page.count('href="implementation.html#part-') == 8
    assert "剩余每年需3,877亿元，已实现年均2,246亿元" in sc_zh  # VC1's cumulative pace
    assert "needs CNY 387.7 bn a year, achieved CNY 224.6 bn a year" in sc_en
    assert "数据不足" in sc_zh and "insufficient data" in sc_en and "数据不足" not in sc_en
    assert 'href="scorecard.html"' in read(zh / "index.html") and 'href="implementation.html"' in read(zh / "index.html")
    impl = read(zh / "implementation.html")
    assert impl.count('<tr id="m-M') == 20 and impl.count('<tr class="milestone"') == 10
    assert "中关村领航积分" in impl and "科汇通" in impl and "国家创业投资引导基金京津冀区域基金" in impl
    assert "未报告" in impl and "示例" in impl  # measures with no report; the illustrative flag
    t_zh, t_en = read(zh / "targets.html"), read(en / "targets.html")
    assert "科技贷款包括科技型企业贷款和科技相关产业贷款" in t_zh and "Tech loans are loans to tech-based enterprises" in t_en
    assert "well ahead nationally&#34; read as national rank" in t_en and "年均增速高于全国平均水平" in t_zh
    assert "“位居全国前列”读作首发上市募资额在31个省份中排名前3" in t_zh and "read as" not in t_zh
    assert '<q lang="zh-Hans" class="source-quote">推动科技创新债券' in t_en  # the plan's sentence, verbatim
    assert "IPO proceeds of tech firms well ahead nationally" in read(en / "ind-CM3.html")
    assert "年化增速10.2%，全国为9.1%（差+1.15个百分点）" in t_zh  # CR1.growth against the national series
    assert "科技型企业贷款包括高新技术企业贷款" in read(zh / "ind-CR2.html")
    assert 'href="targets.html#t-CR2.growth"' in read(en / "ind-CR2.html")


def test_implementation_page_without_a_progress_file(bj, tmp_path):
    d = tmp_path / "b"
    shutil.copytree(bj, d, ignore=shutil.ignore_patterns("report"))
    m = pd.read_csv(d / "measures.csv", dtype=str, keep_default_na=False)
    m[["status", "date", "evidence", "source", "flag"]] = ["no_report", "", "", "", ""]
    m["n_reports"] = "0"
    m.to_csv(d / "measures.csv", index=False)
    page = read(render_report(d, tmp_path / "r", lang="en") / "implementation.html")
    assert "This build used no progress file" in page
    assert page.count("<li><a href=\"#m-M") == 30  # every measure and milestone listed as unreported


def test_robustness_page(full_zh, full_en):
    en = read(full_en / "robustness.html")
    assert "Statistical audit" in en and "Correlation of indicators with dimensions" in en
    assert "Nominal ranks against rank intervals" in en and "normalisation method" in en
    assert "importance below weight" in en
    zh = read(full_zh / "robustness.html")
    assert "稳健性" in zh and "重要性低于权重" in zh
    # rank intervals first; scores pooled over normalisations are labelled so; one importance measure
    assert en.index("Nominal ranks against rank intervals") < en.index("Statistical audit")
    assert "Score interval (mixed normalisations)" in en and "η²" in en and "Var(E[index | component])" in en
    assert "<th scope=\"col\" class=\"num\">R²</th>" not in en and "r² is the squared correlation" not in en
    assert "What it means" in en and "含义" in zh


def test_audit_flags_in_the_page_language(full_zh, full_en, bj_full):
    """Flag messages are written from each flag's fields in the page's language, never the audit's English in zh."""
    flags = pd.read_csv(bj_full / "audit" / "flags.csv")
    latest = flags[flags["year"] == flags["year"].max()]
    zh, en = read(full_zh / "robustness.html"), read(full_en / "robustness.html")
    assert not any(html.escape(m) in zh for m in latest["message"])
    for _, f in latest.drop_duplicates("check").iterrows():
        if f["check"] == "outlier":
            assert f"{f['node']}：偏度{f['value']:.2f}（{'原始数据' if f['data'] == 'raw' else '标准化数据'}），可能存在离群值" in zh
            assert f"{f['node']}: skew {f['value']:.2f}" in en
        if f["check"] == "collinear":
            assert html.escape(f"{f['node']}与{f['other']}在{f['group']}内相关系数r = {f['value']:.2f}，可能重复计算") in zh
            assert f"{f['node']} and {f['other']} correlate at r = {f['value']:.2f} within {f['group']}" in en
        if f["check"] == "low_availability":
            assert f"{f['node']}：仅{round(f['value'] * 100):.0f}%的数值可得" in zh
    assert {"outlier", "collinear", "low_availability"} <= set(latest["check"])


def test_pages_without_targets_sensitivity_or_audit(hdi, tmp_path):
    out = render_report(hdi, tmp_path / "r")
    names = {p.name for p in out.iterdir()}
    assert "index.html" in names and "methodology.html" in names
    assert "targets.html" not in names and "robustness.html" not in names
    html = read(out / "index.html")
    assert "targets.html" not in html and "robustness.html" not in html


def test_robustness_from_sensitivity_alone(hdi, tmp_path):
    write_fake_sensitivity(hdi)
    out = render_report(hdi, tmp_path / "r", lang="en")
    html = read(out / "robustness.html")
    assert "Sobol" in html and "Statistical audit" not in html


def test_one_period_build(hdi):
    out = render_report(hdi, lang="en")
    html = read(out / "index.html")
    assert "Switzerland" in html and "0.962" in html
    assert "The index over time" not in html


# ---- the explorer (自定义权重) and the brief ---------------------------------------------------
class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of <title>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.title, self._in_title = "", False

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        self.tags.append((tag, dict(attrs)))
        self._in_title = tag == "title"

    def handle_endtag(self, tag):  # noqa: ANN001
        self._in_title = False

    def handle_data(self, data):  # noqa: ANN001
        if self._in_title:
            self.title += data


def tags(page: Path) -> Tags:
    t = Tags()
    t.feed(read(page))
    return t


def test_explorer_markup_has_a_slider_per_dimension_and_the_normalised_table(full_zh, full_en, bj_full, bj_full_model):
    m = bj_full_model
    for folder in (full_zh, full_en):
        t = tags(folder / "explorer.html")
        ranges = [a for tag, a in t.tags if tag == "input" and a.get("type") == "range"]
        dims = [a["data-child"] for a in ranges if a["data-node"] == m.root]
        assert dims == list(m.dimensions)  # one slider per dimension, in the markup
        subs = [a["data-child"] for a in ranges if a["data-node"] != m.root]
        assert sorted(subs) == sorted(c for d in m.dimensions for c in m.nodes[d].children)
        for a in ranges:  # the official weights sit at the middle for the largest sibling, exact
            assert a["value"] == a["data-official"] and a["step"] == "any"
        vc = {a["data-child"]: float(a["value"]) for a in ranges if a["data-node"] == "VC"}
        assert vc["VC1"] == 5.0 and vc["VC5"] == 0.0  # VC5 has weight 0 in the spec
        # no behaviour in the markup: no inline script, no on...= attribute; the script is a file beside the page
        html = read(folder / "explorer.html")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        assert not any(k.startswith("on") for _, a in t.tags for k in a)
        assert [a["src"] for tag, a in t.tags if tag == "script"] == ["explorer.js", "report.js"]
        assert (folder / "explorer.js").is_file() and (folder / "explorer.css").is_file()
        data = json.loads(next(a["data-model"] for tag, a in t.tags if a.get("id") == "explorer"))
        assert data["root"] == m.root and data["order"][-1] == m.root
        assert data["nodes"]["VC"]["p"] == 1 and data["nodes"]["VC"]["complete"] is False
        rows = [tuple(r) for r in data["rows"]]
        norm = m.normalized.set_index(["unit", "year", "indicator"])["value"]
        for i in ("VC1", "CR3", "XB5"):
            for (u, y), v in zip(rows, data["x"][i]):
                ref = norm.get((u, y, i))
                assert (v is None and (ref is None or ref != ref)) or v == ref  # the table the build aggregated, exactly
        assert {u for u, _ in rows} == set(m.ranked_units)  # no reference unit
    assert "自定义权重" in read(full_zh / "explorer.html") and "Build your own index" in read(full_en / "explorer.html")


def test_explorer_says_when_it_cannot_recompute(tmp_path):
    spec_dict = json.loads(json.dumps(TINY_SPEC))
    spec_dict["steps"] = {"aggregate": {"method": "arithmetic", "by_level": {2: {"method": "median"}}}}
    spec = ie.spec_from_dict(spec_dict, label="median.yaml")
    b = ie.build(spec, ie.panel_from_frame(tiny_frame(), spec))
    b.write(tmp_path / "b", excel=False)
    out = render_report(tmp_path / "b", tmp_path / "r", lang="en")
    html = read(out / "explorer.html")
    assert "not available" in html and "median" in html
    assert 'type="range"' not in html and "data-model" not in html
    assert not list(out.glob("brief-*.html"))  # the spec tracks no unit: no brief
    # segments with their own weight sets: rows weighted differently, which the page does not model
    spec_dict = {**json.loads(json.dumps(TINY_SPEC)), "segments": {"column": "stage", "weight_sets": {"start": {"a": 3.0}}}}
    spec = ie.spec_from_dict(spec_dict, label="segments.yaml")
    frame = tiny_frame()
    frame["stage"] = frame["unit"].map({"U1": "start", "U2": "mature", "U3": "mature"})
    ie.build(spec, ie.panel_from_frame(frame, spec)).write(tmp_path / "s", excel=False)
    html = read(render_report(tmp_path / "s", tmp_path / "rs", lang="en") / "explorer.html")
    assert "not available" in html and "segments" in html and 'type="range"' not in html


def test_explorer_supports_the_geometric_mean(hdi):
    out = render_report(hdi, lang="en")
    t = tags(out / "explorer.html")
    data = json.loads(next(a["data-model"] for tag, a in t.tags if a.get("id") == "explorer"))
    assert data["nodes"][data["root"]]["p"] == 0  # the HDI: a geometric mean of its dimensions
    assert sum(1 for tag, a in t.tags if tag == "input" and a.get("data-node") == data["root"]) == 3


def test_brief_per_tracked_unit_only_page_so_titled(bj_full, full_zh, full_en):
    for folder, word in ((full_zh, "简报"), (full_en, "Brief")):
        titled = sorted(p.name for p in folder.glob("*.html") if word in tags(p).title)
        assert titled == ["brief-BJ.html"]
        html = read(folder / "brief-BJ.html")
        notice = load_build(bj_full).notice["zh" if folder is full_zh else "en"]  # the build's data notice
        # two sheets, each with the data notice and its page number
        sheets = html.split('<section class="sheet"')[1:]
        assert len(sheets) == 2
        for i, sheet in enumerate(sheets, 1):
            assert html_text(notice) in sheet
            page_no = f"第{i}页，共2页" if folder is full_zh else f"Page {i} of 2"
            assert page_no in sheet
        assert "brief.css" in html and "plotly.min.js" not in html  # no chart script: printing needs no redraw
    css = read(full_zh / "brief.css")
    assert re.search(r"@page\s*\{[^}]*size:\s*A4", css)
    html = read(full_en / "brief-BJ.html")
    for text in ("Beijing: Brief", "Reference: the peer median (13 units)", "Targets", "Strengths", "Weaknesses"):
        assert text in html, text


def html_text(s: str) -> str:
    """``s`` as jinja2's autoescape writes it."""
    return html.escape(s, quote=True).replace("&#x27;", "&#39;").replace("&quot;", "&#34;")


# ---- escaping ------------------------------------------------------------------------------
EVIL = '<script>alert("x")</script>'


def test_names_with_script_and_quotes_render_as_text(tmp_path):
    spec_dict = json.loads(json.dumps(TINY_SPEC))
    spec_dict["index"]["name_en"] = f'Index {EVIL} "quoted" \'single\''
    spec_dict["index"]["name_zh"] = f"指数{EVIL}"
    spec_dict["index"]["notice_en"] = f"notice {EVIL}"
    spec_dict["tree"]["children"][0]["name_en"] = f'Dim "one" {EVIL}'
    spec_dict["tree"]["children"][0]["children"][0]["name_en"] = "</script><img src=x onerror=alert(1)>"
    spec_dict["tree"]["children"][0]["children"][0]["unit"] = '<b>"%"</b>'
    spec_dict["tree"]["children"][0]["children"][0]["source"] = f"src {EVIL}"
    spec = ie.spec_from_dict(spec_dict, label="evil.yaml")
    frame = tiny_frame()
    frame["unit_name"] = frame["unit"].map({"U1": f'U1 {EVIL}', "U2": 'U2 "q" &amp;', "U3": "U3 <i>"})
    b = ie.build(spec, ie.panel_from_frame(frame, spec))
    b.write(tmp_path / "b", excel=False)
    for lang in ("zh", "en"):
        out = render_report(b_dir := tmp_path / "b", tmp_path / f"r_{lang}", lang=lang)
        assert b_dir.exists()
        for page in out.glob("*.html"):
            html = read(page)
            assert EVIL not in html, page.name
            assert "<img src=x" not in html and "<i>" not in html and '<b>"%"</b>' not in html, page.name
            # every <script> is ours and none is inline: plotly.min.js, report.js and the explorer's explorer.js
            for attrs, script in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S):
                assert script == "" and re.fullmatch(r' src="(plotly\.min|report|explorer)\.js" defer', attrs), attrs + script[:80]
        html = read(out / "index.html")
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
        if lang == "en":
            assert "&#34;quoted&#34;" in html and "&#39;single&#39;" in html
            # chart JSON: plotly gets the name HTML-escaped, and the JSON has no raw "<"
            figures = "".join(html_unescape(f) for f in re.findall(r'data-figure="([^"]*)"', read(out / "dim-D1.html")))
            assert figures and "<" not in figures and "\\u0026lt;" in figures


def test_odd_codes_get_safe_unique_file_names(tmp_path):
    spec_dict = json.loads(json.dumps(TINY_SPEC))
    spec_dict["tree"]["children"][0]["children"][0]["code"] = "a/b"
    spec_dict["tree"]["children"][0]["children"][1]["code"] = "A/B"
    spec = ie.spec_from_dict(spec_dict, label="odd.yaml")
    frame = tiny_frame().rename(columns={"a": "a/b", "b": "A/B"})
    b = ie.build(spec, ie.panel_from_frame(frame, spec))
    b.write(tmp_path / "b", excel=False)
    out = render_report(tmp_path / "b", lang="en")
    m = load_model(tmp_path / "b")
    pages = [m.nodes[c].page for c in ("a/b", "A/B")]
    assert len({p.lower() for p in pages}) == 2 and all("/" not in p for p in pages)
    assert all((out / p).is_file() for p in pages)


# ---- output folder and errors --------------------------------------------------------------
def test_existing_report_is_refused_unless_force(hdi, tmp_path):
    out = render_report(hdi, tmp_path / "r")
    with pytest.raises(OutputExistsError, match="the folder exists already"):
        render_report(hdi, out)
    (out / "index.html").write_text("old", encoding="utf-8")
    render_report(hdi, out, lang="en", force=True)
    assert '<html lang="en">' in read(out / "index.html")
    assert not list(tmp_path.glob(".r.*"))  # no temporary folder left behind


def test_force_does_not_replace_a_folder_that_is_not_a_report(bj_plain, tmp_path):
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(OutputExistsError, match="holds no report"):
        render_report(bj_plain, other, force=True)
    assert (other / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_output_path_that_is_a_file(bj_plain, tmp_path):
    f = tmp_path / "report"
    f.write_text("x", encoding="utf-8")
    with pytest.raises(OutputExistsError, match="exists and is not a folder"):
        render_report(bj_plain, f, force=True)


def test_unreadable_csv(bj_plain, tmp_path):
    d = tmp_path / "b"
    shutil.copytree(bj_plain, d)
    (d / "scores.csv").write_bytes(b"unit,year\n\xff\xfe\x00bad\n")
    with pytest.raises(DataError, match="scores.csv: cannot read it as a CSV file"):
        render_report(d)


def test_bad_language_and_bad_build_folder(bj_plain, tmp_path):
    with pytest.raises(ValueError, match="lang must be one of 'zh', 'en'; got 'fr'"):
        render_report(bj_plain, tmp_path / "r", lang="fr")
    with pytest.raises(DataError, match="no such build folder"):
        render_report(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="not a finished build folder: scores.csv, weights.csv, units.csv, spec.yaml, manifest.json missing"):
        render_report(empty)
    broken = tmp_path / "broken"
    shutil.copytree(bj_plain, broken)
    (broken / "spec.yaml").write_text("tree: [", encoding="utf-8")
    with pytest.raises(DataError, match="spec.yaml: line 1, column 8: not valid YAML"):
        render_report(broken)
    (broken / "spec.yaml").write_text("index: {id: X}\n", encoding="utf-8")
    with pytest.raises(DataError, match="spec.yaml: tree: is required"):
        render_report(broken)
    shutil.copyfile(bj_plain / "spec.yaml", broken / "spec.yaml")
    (broken / "log.json").write_text("{", encoding="utf-8")
    with pytest.raises(DataError, match="log.json: not valid JSON"):
        render_report(broken)
    (broken / "log.json").unlink()
    (broken / "scores.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(DataError, match="scores.csv: column 'unit' missing"):
        render_report(broken)
    assert not (tmp_path / "r").exists()


# ---- i18n ----------------------------------------------------------------------------------
def test_every_interface_string_has_both_languages():
    for key, d in i18n.STRINGS.items():
        assert set(d) == {"zh", "en"}, key
        assert d["zh"].strip() and d["en"].strip(), key
        assert set(re.findall(r"{(\w+)}", d["zh"])) == set(re.findall(r"{(\w+)}", d["en"])), key
    with pytest.raises(KeyError, match="no interface string 'nope'"):
        i18n.t("nope", "zh")


def test_every_importance_flag_has_its_words_in_both_languages():
    """The robustness page shows an importance flag through its interface string (spaces as underscores),
    never the bare key."""
    from index_engine.sensitivity.importance import FLAGS

    for flag in FLAGS:
        key = flag.replace(" ", "_")  # as the page looks it up (report/site.py)
        assert key in i18n.STRINGS, flag
        assert i18n.t(key, "en") == flag and "_" not in i18n.t(key, "zh"), flag


@pytest.mark.parametrize(
    ("value", "unit", "lang", "expected"),
    [
        (45200, "亿元", "zh", "4.52万亿元"),
        (2246, "亿元", "zh", "2,246亿元"),
        (318, "亿元", "zh", "318.0亿元"),
        (9999.9, "亿元", "zh", "1.00万亿元"),
        (2246, "亿元", "en", "CNY 224.6 bn"),
        (45200, "亿元", "en", "CNY 4.52 trn"),
        (0.5, "亿元", "en", "CNY 50.0 mn"),
        (69, "亿美元", "en", "USD 6.90 bn"),
        (69, "亿美元", "zh", "69.0亿美元"),
        (12, "家", "zh", "12家"),
        (12, "家", "en", "12 firms"),
        (3977, "户", "zh", "3,977户"),
        (29.5, "%", "en", "29.5%"),
        (2.07, "百分点 (pp)", "zh", "2.07百分点"),
        (2.07, "百分点 (pp)", "en", "2.07 pp"),
        (1, "位次 (1 = best of 31 provinces)", "zh", "第1位"),
        (5, "位次 (1 = best of 31 provinces)", "en", "rank 5"),
        (21.5, "bp", "en", "21.5 bp"),
        (0.962, None, "en", "0.96"),
        (None, "亿元", "zh", "–"),
        (float("nan"), "%", "en", "–"),
    ],
)
def test_quantities_in_the_locale_style(value, unit, lang, expected):
    assert i18n.fmt_qty(value, unit, lang) == expected


@pytest.mark.parametrize("values, dtype", [
    ([1.5, float("nan"), float("inf"), -2.0], "float64"),
    ([3, 4, 5, 6], "int64"),
    ([1, None, 3, None], "Int64"),
    ([1.5, None, 0.25, 7.0], "double[pyarrow]"),
    ([True, False, True, False], "bool"),
    (["1.5", None, "x", "2"], "object"),
])
def test_model_lookups_read_each_column_as_float_reads_each_cell(values, dtype):
    from index_engine.report.model import _float, _lookup

    df = pd.DataFrame({"unit": list("abcd"), "year": [2020, 2020, 2021, 2021], "v": pd.Series(values, dtype=dtype)})
    df["w"] = df["v"]
    per_cell = [_float(v) for v in df["v"].tolist()]
    assert _lookup(df, ["unit", "year"], ["v"]) == {(u, y): v for u, y, v in zip(df["unit"], df["year"], per_cell) if v is not None}
    both = _lookup(df, ["unit", "year"], ["v", "w"])
    assert list(both) == [("a", 2020), ("b", 2020), ("c", 2021), ("d", 2021)]
    assert [v for v, _ in both.values()] == per_cell and all(type(v) in (float, type(None)) for v, _ in both.values())


def test_model_records_are_jsonable_cells_of_every_type():
    from index_engine.report.model import records

    df = pd.DataFrame({
        "f": [1.5, np.nan, np.inf, -np.inf, -0.0], "i": np.arange(5, dtype=np.int32), "b": [True, False, True, True, False],
        "n": pd.Series([1, None, 3, 4, 5], dtype="Int64"), "s": ["x", None, "z", "w", "v"],
        "a": pd.Series(["a", None, "c", "d", "e"], dtype="string[pyarrow]"), "h": np.arange(5, dtype=np.float32) / 3,
        "o": [np.float64("nan"), np.int64(2), "t", None, 2.5],
    })
    expected = [{c: jsonable(v) for c, v in zip(df.columns, row)} for row in df.to_numpy(dtype=object).tolist()]
    got = records(df)
    assert got == expected and [list(map(type, r.values())) for r in got] == [list(map(type, r.values())) for r in expected]
    assert got[1]["f"] is None and got[2]["f"] is None and got[1]["n"] is None and got[1]["a"] is None
    assert records(pd.DataFrame()) == [] and records(None) == []


def test_number_helpers():
    assert i18n.fmt_num(-0.04, 1) == "0.0"
    assert i18n.fmt_num(1234567.891) == "1,234,568"
    assert i18n.fmt_signed(0.04) == "0.0" and i18n.fmt_signed(2.345) == "+2.3"
    assert i18n.fmt_int_signed(2) == "+2" and i18n.fmt_int_signed(0) == "0" and i18n.fmt_int_signed(None) == "–"
    assert i18n.fmt_pct(0.10296) == "10.3%" and i18n.fmt_pct(None) == "–"
    assert i18n.unit_label("亿元", "en") == "CNY bn" and i18n.unit_label("亿元", "zh") == "亿元"
    assert i18n.axis_unit("亿元", "en") == "CNY 100 mn"
    assert i18n.pick_name({"name_zh": "", "name_en": "X"}, "zh") == "X"
    assert i18n.pick_name({"code": "C"}, "en") == "C"


# ---- command line --------------------------------------------------------------------------
def test_cli_report(run_cli, hdi, tmp_path):
    b = hdi
    r = run_cli("report", b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"wrote {b / 'report' / 'index.html'}"
    assert '<html lang="zh-Hans">' in read(b / "report" / "index.html")
    r = run_cli("report", b)
    assert r.returncode == 2 and "the folder exists already" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("report", b, "--force", "--lang", "en")
    assert r.returncode == 0, r.stderr
    assert '<html lang="en">' in read(b / "report" / "index.html")
    r = run_cli("report", b, "--lang", "zh", "--out", tmp_path / "elsewhere")
    assert r.returncode == 0 and '<html lang="zh-Hans">' in read(tmp_path / "elsewhere" / "index.html")
    r = run_cli("report", b, "--lang", "fr")
    assert r.returncode == 2 and "invalid choice: 'fr'" in r.stderr


def test_cli_report_bad_folder_and_debug(run_cli, tmp_path):
    r = run_cli("report", tmp_path / "nope")
    assert r.returncode == 2 and "no such build folder" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("report", tmp_path / "nope", "--debug")
    assert r.returncode == 2 and "Traceback" in r.stderr


def test_cli_report_help(run_cli):
    r = run_cli("report", "--help")
    assert r.returncode == 0 and "usage: index-engine report" in r.stdout and "--lang" in r.stdout


# ---- publishable pages: one language, publication block, values that explain the ranks --------
class TextNodes(HTMLParser):
    """The text a reader sees: text nodes outside <script>, <style>, <code> and <pre>, and outside
    quotations of a source in its own language (``<q lang="zh-Hans">``, ``<blockquote lang="zh-Hans">``:
    the plan's sentence a target comes from is cited verbatim, on the English pages too)."""

    SKIP = {"script", "style", "code", "pre"}
    QUOTES = {"q", "blockquote"}

    def __init__(self, source_lang: str = "") -> None:
        super().__init__()
        self.source_lang = source_lang  # quotations in this language are skipped
        self.depth = 0
        self.open: list[bool] = []  # per open <q>/<blockquote>: whether it is a skipped quotation
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        self.depth += tag in self.SKIP
        if tag in self.QUOTES:
            skip = bool(self.source_lang) and dict(attrs).get("lang") == self.source_lang
            self.open.append(skip)
            self.depth += skip

    def handle_endtag(self, tag):  # noqa: ANN001
        self.depth -= tag in self.SKIP
        if tag in self.QUOTES and self.open:
            self.depth -= self.open.pop()

    def handle_data(self, data):  # noqa: ANN001
        if not self.depth and data.strip():
            self.texts.append(data.strip())


CJK = re.compile(r"[\u3400-\u9fff]")
ENGLISH_WORD = re.compile(r"(?<![A-Za-z_./])[a-z]{4,}(?![A-Za-z_./])")  # file names and paths are not prose


def other_script(folder: Path, lang: str) -> dict[str, list[str]]:
    """Per page, the text nodes in the other language's script (Chinese on en pages, English words on zh pages).

    Allowed: codes, formulas and verbatim text in ``<code>``/``<pre>``, and on an English page a verbatim
    quotation of a Chinese source marked as such (``<q lang="zh-Hans">`` or ``<blockquote lang="zh-Hans">``,
    e.g. the plan's sentence a target comes from); everything else (readings, notes, names) is translated.
    """
    bad: dict[str, list[str]] = {}
    for page in sorted(folder.glob("*.html")):
        p = TextNodes("zh-Hans" if lang == "en" else "")
        p.feed(read(page))
        hits = [t for t in p.texts if (CJK.search(t) if lang == "en" else ENGLISH_WORD.search(t))]
        if hits:
            bad[page.name] = hits[:5]
    return bad


def test_every_page_is_in_one_language(full_zh, full_en):
    """Every page of both folders, the targets page with its quotations and readings included."""
    assert 'lang="zh-Hans"' in read(full_en / "targets.html")  # the plan's sentence, quoted verbatim
    assert "“位居全国前列”读作全国排名前3" in read(full_zh / "targets.html")
    assert "well ahead nationally" in read(full_en / "targets.html")
    assert other_script(full_zh, "zh") == {}
    assert other_script(full_en, "en") == {}


def test_publication_block_and_citation_on_every_page(full_zh, full_en):
    for folder, label in ((full_zh, "建议引用"), (full_en, "Suggested citation")):
        for page in folder.glob("*.html"):
            text = read(page)
            assert 'class="pub"' in text and label in text, page.name
            assert "weights/" not in text and "inputs/" not in text, page.name  # no developer file paths
    # without a publication: section the citation is made from the index's name and version
    assert "北京市科技金融发展指数（2025）：《北京市科技金融发展指数》，版本0.1.0。" in read(full_zh / "index.html")


def test_publication_section_is_shown_and_dates_come_from_the_spec(hdi, tmp_path):
    spec = yaml.safe_load((hdi / "spec.yaml").read_text(encoding="utf-8"))
    spec["publication"] = {"publisher": "UNDP HDRO", "release_date": "2022-09-08", "data_cutoff": "2022-06",
                           "citation_en": "UNDP (2022). Human Development Report 2021/2022.", "contact": "hdro@undp.org"}
    (hdi / "spec.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    a = render_report(hdi, tmp_path / "a", lang="en")
    b = render_report(hdi, tmp_path / "b", lang="en")
    page = read(a / "methodology.html")
    for text in ("UNDP HDRO", "2022-09-08", "2022-06", "UNDP (2022). Human Development Report 2021/2022.", "hdro@undp.org"):
        assert text in page
    assert all(read(p) == read(b / p.name) for p in a.glob("*.html"))  # no clock: a rerender is byte-identical


def test_the_normalised_value_orders_the_ranks(full_zh, bj_full, bj_full_model):
    """Indicator pages show the value that was normalised beside the level; it orders the ranks
    (ties aside), and every level column uses one unit."""
    m = bj_full_model
    y = m.latest
    checked = 0
    for code in m.indicators:
        b = m.basis.get(code)
        page = read(full_zh / m.nodes[code].page)
        if b is None or not b.differs:
            continue
        assert i18n.basis_label(b.denominator, b.scale, b.transform, "zh") in page
        sign = 1 if m.nodes[code].direction > 0 else -1
        rows = sorted((m.rank(u, y, code), -sign * (m.basis_value(u, y, code) or 0)) for u in m.ranked_units
                      if m.rank(u, y, code) is not None and m.basis_value(u, y, code) is not None)
        ordered = [-v for _, v in rows]  # best rank first: the value (signed by direction) never rises
        assert all(a >= b_ - 1e-9 for a, b_ in zip(ordered, ordered[1:])), code
        checked += 1
    assert checked > 20
    ind = read(full_zh / m.nodes["IN2"].page)
    assert "万亿元" in ind and "2.34" in ind and "6.90" in ind  # one unit in the level column


def test_imputed_values_are_marked(full_zh, bj_full, bj_full_model):
    m = bj_full_model
    (u, y, code), marks = next((k, v) for k, v in m.marks.items() if k[1] == m.latest)
    kind = marks[0][0]
    assert kind in ("imputed", "earlier_year")  # a value carried forward is an earlier year's value
    imputed = load_build(bj_full).imputed
    assert ((imputed["unit"] == u) & (imputed["year"] == y) & (imputed["indicator"] == code)).any()
    page = read(full_zh / m.nodes[code].page)
    assert f'class="mk mk-{kind}"' in page and i18n.STRINGS[f"mark_{kind}"]["zh"] in page


def test_downloads_beside_tables_and_charts(full_zh):
    page = read(full_zh / "index.html")
    links = re.findall(r'href="(data/[^"]+\.csv)" download', page)
    assert len(links) >= 3
    for link in links:
        head = (full_zh / link).read_text(encoding="utf-8-sig").splitlines()[0]
        assert head and not head.startswith("=")


def test_every_treatment_and_marked_flag_has_a_marker():
    """The pages' markers cover what the engine records: each treatment of provenance.csv and each flag the
    vocabulary marks, but for illustrative data, which the notice on every page names instead."""
    from index_engine.flags import FLAGS
    from index_engine.provenance import TREATMENTS
    from index_engine.report.model import MARK_KINDS

    marked = {name for name, flag in FLAGS.items() if flag.marked} - {"illustrative"}
    assert set(MARK_KINDS) == (set(TREATMENTS) - {""}) | marked
    assert len(set(MARK_KINDS.values())) == len(MARK_KINDS)  # one marker per kind
