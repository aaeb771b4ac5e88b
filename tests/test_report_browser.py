"""The report pages in a real browser: Debian's chromium driven by playwright (from PyPI).

For the Beijing build in both languages: every page loads from file:// with no console error and
no request to anything but local files; every chart container holds a rendered SVG; every
internal link resolves to an existing file; the Chinese names appear as text; a screenshot of the
overview is not blank. The summary report of a firm-level build (the 1,000-firm sample written as a
large Parquet build) loads the same way. Skipped when chromium or playwright is absent (``.ci/run`` installs
chromium, chromium-headless-shell and fonts-noto-cjk; ``pip install -e .[test]`` installs playwright).
The browser is conftest.py's ``browser`` (one per session); playwright's own browser downloads are
never used: the system's Chromium is the executable.
"""

from __future__ import annotations

import base64
import re
import shutil
import unicodedata
import zlib
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest

import index_engine as ie
from index_engine.folder import load_build
from index_engine.report import load_model, render_report

from .conftest import CHROMIUM
from .test_report import write_fake_sensitivity, write_fake_targets
from .test_report_firms import SUMMARY_PAGES, firm_build

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[test])")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")


class Reports:
    """The Beijing report in Chinese and English, with audit, targets and sensitivity (``"zh"``,
    ``"en"``, their build folder ``"build"``), and one without them (``"plain"``), each rendered the
    first time a test asks for it: the module's tests are split between two workers by language
    (the classes below), and each worker renders only the reports its tests open."""

    def __init__(self, beijing_folder: Path, tmp_path_factory) -> None:
        self.src, self.tmp, self.made = beijing_folder, tmp_path_factory, {}

    def _full(self) -> Path:
        full = self.tmp.mktemp("browser") / "build"
        shutil.copytree(self.src, full)
        shutil.rmtree(full / "report", ignore_errors=True)
        if not (full / "targets.csv").exists():
            write_fake_targets(full)
        write_fake_sensitivity(full)
        return full

    def _plain(self) -> Path:
        plain = self.tmp.mktemp("browser_plain") / "build"
        shutil.copytree(self.src, plain)
        (plain / "targets.csv").unlink(missing_ok=True)
        shutil.rmtree(plain / "audit", ignore_errors=True)
        shutil.rmtree(plain / "report", ignore_errors=True)
        return render_report(plain, plain / "report", lang="en")

    def __getitem__(self, key: str) -> Path:
        if key not in self.made:
            if key == "build":
                self.made[key] = self._full()
            elif key == "plain":
                self.made[key] = self._plain()
            else:
                self.made[key] = render_report(self["build"], self["build"] / f"report_{key}", lang=key)
        return self.made[key]


@pytest.fixture(scope="module")
def reports(beijing_folder, tmp_path_factory) -> Reports:
    return Reports(beijing_folder, tmp_path_factory)


class Visit:
    """A browser tab that records every console error, page error and request of the page it opens."""

    def __init__(self, browser, path: Path | None = None, **kw):
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900}, **kw)
        self.page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"requestfailed: {r.url}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        if path is not None:
            self.goto(path)

    def goto(self, path: Path) -> None:
        self.errors.clear()
        self.requests.clear()
        self.page.goto(path.as_uri(), wait_until="load")

    def close(self) -> None:
        self.page.close()


def check_page(v: Visit, folder: Path, name: str) -> None:
    """Check charts, links, console and requests of ``name``, just opened from ``folder`` in the tab ``v``."""
    page = v.page
    # charts: every container holds a rendered SVG
    n = page.eval_on_selector_all("div.chart", "els => els.length")
    if n:
        page.wait_for_function(
            "() => [...document.querySelectorAll('div.chart')].every(d => d.querySelector('svg.main-svg'))",
            timeout=15000,
        )
        sizes = page.eval_on_selector_all("div.chart svg.main-svg", "els => els.map(e => e.getBoundingClientRect().width)")
        assert sizes and min(sizes) > 100, f"{name}: a chart is {min(sizes)} px wide"
    # internal links resolve to files on disk (and same-page anchors to an id)
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    for href in hrefs:
        parts = urlsplit(href)
        assert parts.scheme in ("", "data"), f"{name}: external link {href}"
        if parts.path:
            assert (folder / unquote(parts.path)).is_file(), f"{name}: broken link {href}"
        elif parts.fragment:
            assert page.query_selector(f"[id='{parts.fragment}']"), f"{name}: broken anchor {href}"
    assert not v.errors, f"{name}: {v.errors}"
    # the publication block (publisher, dates, suggested citation) on every page
    assert page.is_visible("footer section.pub .pub-cite"), f"{name}: no publication block"
    foreign = [u for u in v.requests if not (u.startswith("file://") or u.startswith("data:"))]
    assert not foreign, f"{name}: requests {foreign}"
    local = [Path(unquote(urlsplit(u).path)) for u in v.requests if u.startswith("file://")]
    assert all(p.is_file() and folder in p.parents for p in local), f"{name}: {local}"


class Tabs:
    """The pages of the module's reports, each opened once and checked once (``check_page``) however
    many tests look at it. The pages of ``KEPT`` stay open in their own tab for the tests that read
    them after the page check (a test that changes its page, e.g. clicks or prints it, closes it
    with ``close``); the others are opened one after the other in one tab."""

    KEPT = frozenset({"index.html", "unit-BJ.html", "ind-IN2.html", "scorecard.html", "implementation.html",
                      "brief-BJ.html", "explorer.html"})

    def __init__(self, browser, reports: Reports) -> None:
        self.browser, self.reports = browser, reports
        self.kept: dict[tuple[str, str], Visit] = {}
        self.checked: set[tuple[str, str]] = set()
        self.roaming: Visit | None = None

    def open(self, lang: str, name: str) -> Visit:
        """The tab holding ``name`` of report ``lang``, opened if it is not already."""
        if (lang, name) not in self.kept:
            self.kept[lang, name] = Visit(self.browser, self.reports[lang] / name)
        return self.kept[lang, name]

    def check(self, lang: str, name: str) -> None:
        """``check_page`` on ``name`` of report ``lang``, unless it passed on the page as it is open."""
        if (lang, name) in self.checked:
            return
        if name in self.KEPT:
            v = self.open(lang, name)
        else:
            self.roaming = self.roaming or Visit(self.browser)
            v = self.roaming
            v.goto(self.reports[lang] / name)
        check_page(v, self.reports[lang], name)
        self.checked.add((lang, name))

    def close(self, lang: str, name: str) -> None:
        """Close the tab of ``name`` (after a test changed the page); the next test opens it afresh."""
        self.checked.discard((lang, name))
        v = self.kept.pop((lang, name), None)
        if v is not None:
            v.close()

    def close_all(self) -> None:
        for v in [*self.kept.values(), *([self.roaming] if self.roaming else [])]:
            v.close()
        self.kept.clear()


@pytest.fixture(scope="module")
def tabs(browser, reports):
    t = Tabs(browser, reports)
    yield t
    t.close_all()


VARIANCE_JS = """async (src) => {
  const img = new Image();
  img.src = src;
  await img.decode();
  const c = document.createElement('canvas');
  c.width = img.width; c.height = img.height;
  const ctx = c.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  let n = 0, s = 0, s2 = 0;
  for (let i = 0; i < d.length; i += 4) {
    const y = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
    s += y; s2 += y * y; n++;
  }
  const mean = s / n;
  return {width: c.width, height: c.height, variance: s2 / n - mean * mean};
}"""



@pytest.fixture(scope="module")
def summary_report(tmp_path_factory) -> Path:
    """The summary report of the firm-level sample written as a large (Parquet) build, in Chinese."""
    build = firm_build(tmp_path_factory, "parquet")
    return render_report(build, tmp_path_factory.mktemp("browser_firms") / "report", lang="zh")



# ---- the explorer (自定义权重): the browser's numbers are the engine's -----------------------------
EXPLORER_ROWS = """() => [...document.querySelectorAll('#x-table tbody tr')].map(tr => [
  tr.dataset.unit, tr.querySelector('.x-score').dataset.value, tr.querySelector('.x-rank').dataset.value])"""

SET_SLIDER = """([node, child, value]) => {
  const s = document.querySelector(`#explorer input[type=range][data-node="${node}"][data-child="${child}"]`);
  s.value = String(value);
  s.dispatchEvent(new Event('input', {bubbles: true}));
  return Number(s.value);
}"""


@pytest.fixture(scope="module")
def explorer_tab(tabs):
    """The Chinese explorer page, open in one tab for the module."""
    v = tabs.open("zh", "explorer.html")
    v.page.wait_for_selector("#explorer[data-ready]")
    return v


def explorer_results(v: Visit, year: int) -> dict[str, tuple[float | None, int | None]]:
    """{unit: (score, rank)} of ``year`` as the page shows them (full precision from data-value)."""
    v.page.select_option("#x-year", str(year))
    out = {}
    for unit, score, rank in v.page.evaluate(EXPLORER_ROWS):
        out[unit] = (float(score) if score else None, int(rank) if rank else None)
    return out


def assert_engine_numbers(v: Visit, build, years) -> None:
    """Every year's index scores (to 1e-9) and ranks on the page are ``build``'s."""
    root = build.spec.tree.code
    for year in years:
        shown = explorer_results(v, year)
        scores = build.scores[root].xs(year, level="year")
        ranks = build.ranks[root].xs(year, level="year")
        expect = {u: s for u, s in scores.items() if s == s}
        assert {u for u, (s, _) in shown.items() if s is not None} == set(expect), year
        for u, s in expect.items():
            assert abs(shown[u][0] - s) <= 1e-9, (year, u, shown[u][0], s)
            assert shown[u][1] == int(ranks[u]), (year, u)



# ---- the brief: two A4 pages, the data notice on each ---------------------------------------
def pdf_page_texts(pdf: bytes) -> list[str]:
    """The text of each page of a PDF as Chromium writes it (object dictionaries in the clear,
    Flate content streams, fonts with ToUnicode CMaps, glyphs as hex strings), NFKC-normalised and
    without white space. Enough to search a printed page for a sentence, no PDF library needed."""
    objs = {int(m.group(1)): m.group(2) for m in re.finditer(rb"(\d+) 0 obj\s*(.*?)\s*endobj", pdf, re.S)}

    def stream(n: int) -> bytes:
        body = objs[n]
        head, data = body.split(b"stream", 1)
        data = data.lstrip(b"\r\n")
        data = data[: data.rindex(b"endstream")]
        return zlib.decompress(data) if b"/FlateDecode" in head else data

    def ref(body: bytes, key: bytes) -> int | None:
        m = re.search(rb"/" + key + rb"\s+(\d+) 0 R", body)
        return int(m.group(1)) if m else None

    def cmap(n: int) -> dict[int, str]:
        out, text = {}, stream(n)
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
            for a, b in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                out[int(a, 16)] = bytes.fromhex(b.decode()).decode("utf-16-be")
        for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
            for a, b, c in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                for k, g in enumerate(range(int(a, 16), int(b, 16) + 1)):
                    out[g] = chr(int(c, 16) + k)
        return out

    kids = re.search(rb"/Type\s*/Pages\b.*?/Kids\s*\[(.*?)\]", pdf, re.S)
    pages = []
    for n in (int(x) for x in re.findall(rb"(\d+) 0 R", kids.group(1))):
        page = objs[n]
        res = objs[ref(page, b"Resources")] if ref(page, b"Resources") else page
        fdict = re.search(rb"/Font\s*(<<.*?>>|\d+ 0 R)", res, re.S).group(1)
        if fdict.endswith(b"R"):
            fdict = objs[int(fdict.split()[0])]
        fonts = {}
        for name, fn in re.findall(rb"/(\w+)\s+(\d+) 0 R", fdict):
            tu = ref(objs[int(fn)], b"ToUnicode")
            fonts[name] = cmap(tu) if tu else {}
        cont = re.search(rb"/Contents\s+(\d+) 0 R|/Contents\s*\[(.*?)\]", page, re.S)
        refs = [int(cont.group(1))] if cont.group(1) else [int(x) for x in re.findall(rb"(\d+) 0 R", cont.group(2))]
        text, font = [], {}
        for c in refs:
            for tok in re.finditer(rb"/(\w+)\s+[\d.]+\s+Tf|<([0-9A-Fa-f]*)>", stream(c)):
                if tok.group(1):
                    font = fonts.get(tok.group(1), {})
                else:
                    h = tok.group(2).decode()
                    text.append("".join(font.get(int(h[i : i + 4], 16), "") for i in range(0, len(h), 4)))
        pages.append(re.sub(r"\s+", "", unicodedata.normalize("NFKC", "".join(text))))
    return pages


A4_POINTS = (595.0, 842.0)


def _pdf_comparable(text: str) -> str:
    """Text as a PDF's text layer gives it back: NFKC, no spaces, every dash one hyphen (fonts draw 2019–2025
    with a figure dash)."""
    return re.sub(r"[\u2010-\u2015]", "-", re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)))


# ---- the tests, in two classes by language: --dist loadscope sends each class to its own worker --


class PagesOfOneLanguage:
    """What is checked on the report in each language; the classes below name the language."""

    lang = ""

    def test_every_page_loads_cleanly(self, tabs, reports):
        folder = reports[self.lang]
        pages = sorted(p.name for p in folder.glob("*.html"))
        assert {"index.html", "targets.html", "robustness.html", "methodology.html"} <= set(pages)
        for name in pages:
            tabs.check(self.lang, name)

    def test_loop_pages_load_cleanly(self, tabs):
        """Scorecard, targets and implementation: charts drawn, links and anchors resolve, the numbers shown."""
        lang = self.lang
        for name in ("scorecard.html", "targets.html", "implementation.html"):
            tabs.check(lang, name)
        page = tabs.open(lang, "scorecard.html").page
        assert page.eval_on_selector_all("table.scorecard tbody tr", "els => els.length") == 11
        assert page.eval_on_selector_all("table.scorecard-parts tbody tr", "els => els.length") == 8
        text = page.inner_text("main")
        assert ("剩余每年需3,877亿元" if lang == "zh" else "needs CNY 387.7 bn a year") in text
        page = tabs.open(lang, "implementation.html").page
        assert page.eval_on_selector_all("table.measures tbody tr:not(.milestone)", "els => els.length") == 20

    def test_overview_screenshot_is_not_blank(self, browser, tabs, tmp_path):
        lang = self.lang
        v = tabs.open(lang, "index.html")
        v.page.wait_for_function("() => document.querySelector('div.chart svg.main-svg')")
        png = v.page.screenshot(full_page=False)
        (tmp_path / f"overview_{lang}.png").write_bytes(png)
        probe = browser.new_page()
        try:
            stats = probe.evaluate(VARIANCE_JS, "data:image/png;base64," + base64.b64encode(png).decode())
        finally:
            probe.close()
        assert stats["width"] == 1280 and stats["height"] == 900
        assert stats["variance"] > 500, stats  # a blank page is 0; the overview is ~3,000

    def test_brief_prints_two_a4_pages_with_the_notice_on_each(self, tabs, reports):
        lang = self.lang
        folder = reports[lang]
        v = tabs.open(lang, "brief-BJ.html")
        try:
            assert v.page.title().startswith("北京简报" if lang == "zh" else "Beijing: Brief")
            v.page.emulate_media(media="print")
            pdf = v.page.pdf(prefer_css_page_size=True)  # the page size the print stylesheet sets, as the print dialog does
            assert not v.errors
        finally:
            tabs.close(lang, "brief-BJ.html")
        texts = pdf_page_texts(pdf)
        assert len(texts) == 2 == len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
        boxes = [tuple(float(x) for x in b) for b in re.findall(rb"/MediaBox\s*\[0 0 ([\d.]+) ([\d.]+)\]", pdf)]
        assert boxes and all(abs(w - A4_POINTS[0]) < 1 and abs(h - A4_POINTS[1]) < 1 for w, h in boxes), boxes
        recorded = load_build(folder.parent).notice[lang]  # the build's data notice (the report sits in its build folder)
        notice = _pdf_comparable(recorded)
        mark = "示例数据" if lang == "zh" else "Illustrativedata"
        for i, text in enumerate(texts, 1):
            assert mark in text and notice in _pdf_comparable(text), (i, text[:200])
            # 页 may be drawn with the radical ⻚ (U+2EDA), which NFKC leaves as it is
            assert re.search(rf"第{i}.,共2." if lang == "zh" else f"Page{i}of2", text), (i, text[-200:])
        assert ("目标进展" if lang == "zh" else "Targets") in texts[1]

    def test_phone_width_has_no_clipped_chart_and_cues_wide_tables(self, browser, reports):
        lang = self.lang
        page = browser.new_page(viewport={"width": 390, "height": 844})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            for name in PHONE_PAGES:
                page.goto((reports[lang] / name).as_uri(), wait_until="load")
                if page.eval_on_selector_all("div.chart", "els => els.length"):
                    page.wait_for_function("() => [...document.querySelectorAll('div.chart')].every(d => d.querySelector('svg.main-svg'))",
                                           timeout=15000)
                # the page itself never scrolls sideways; every chart fits its box and keeps a usable width
                assert page.evaluate("() => document.documentElement.scrollWidth") <= 391, name
                charts = page.eval_on_selector_all(
                    "div.chart", "els => els.map(d => [d.querySelector('svg.main-svg').getBoundingClientRect().width, "
                    "d.parentElement.getBoundingClientRect().width, d.querySelector('svg.main-svg').getBoundingClientRect().right])")
                for svg_w, box_w, right in charts:
                    assert 250 <= svg_w <= box_w + 1 and right <= 391, (name, svg_w, box_w, right)
                # a table wider than the screen scrolls in its box with a visible cue under it
                boxes = page.eval_on_selector_all(
                    ".table-scroll, table.data.compact", "els => els.filter(b => !(b.tagName === 'TABLE' && b.closest('.table-scroll')))"
                    ".map(b => [b.scrollWidth > b.clientWidth + 1, "
                    "!!(b.nextElementSibling && b.nextElementSibling.classList.contains('scroll-cue') && b.nextElementSibling.offsetHeight > 0)])")
                assert all(cue for wide, cue in boxes if wide), name
            assert not errors, errors
        finally:
            page.close()


PHONE_PAGES = ["index.html", "unit-BJ.html", "dim-VC.html", "ind-IN2.html", "robustness.html", "methodology.html"]


class TestChinese(PagesOfOneLanguage):
    """The Chinese report (tests of the base class first, then these), the explorer and the firm summary."""

    lang = "zh"

    def test_chinese_names_appear_as_text(self, tabs, reports):
        m = load_model(reports["build"])
        page = tabs.open("zh", "index.html").page
        text = page.inner_text("body")
        assert "北京市科技金融发展指数" in text
        for u in m.ranked_units:
            assert m.units[u].name_zh in text, u
        for d in m.dimensions:
            assert m.nodes[d].name_zh in text, d
        # the heading is drawn with a CJK font, not as missing-glyph boxes: its width is that of ~9 ideographs
        w = page.eval_on_selector(".masthead-title a", "e => e.getBoundingClientRect().width")
        assert w > 9 * 12

    def test_print_stylesheet_hides_navigation(self, tabs):
        v = tabs.open("zh", "unit-BJ.html")
        try:
            v.page.emulate_media(media="print")
            assert v.page.eval_on_selector(".topnav", "e => getComputedStyle(e).display") == "none"
            assert v.page.eval_on_selector("details.chart-data", "e => getComputedStyle(e).display") == "none"
            # charts are redrawn at the A4 text width for printing, and back after
            widths = "() => [...document.querySelectorAll('div.chart svg.main-svg')].map(e => e.getBoundingClientRect().width)"
            v.page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
            v.page.wait_for_function(f"() => ({widths})().every(w => w <= 680)")
            v.page.emulate_media(media="screen")
            v.page.evaluate("() => window.dispatchEvent(new Event('afterprint'))")
            v.page.wait_for_function(f"() => ({widths})().every(w => w > 900)")
            v.page.emulate_media(media="print")
            pdf = v.page.pdf(format="A4")
            assert pdf[:4] == b"%PDF" and len(pdf) > 20_000
        finally:
            tabs.close("zh", "unit-BJ.html")

    def test_overview_prints_with_the_mark_and_page_numbers(self, tabs, reports):
        v = tabs.open("zh", "index.html")
        try:
            v.page.emulate_media(media="print")
            style = v.page.eval_on_selector(".print-mark", "e => [getComputedStyle(e).display, getComputedStyle(e).position, e.textContent]")
            assert style[0] == "block" and style[1] == "fixed" and "示例数据" in style[2]  # fixed: repeated on every printed page
            css = (reports["zh"] / "report.css").read_text(encoding="utf-8")
            assert "size: A4" in css and "counter(page)" in css
            assert v.page.is_visible("footer section.pub")
            pdf = v.page.pdf(format="A4", prefer_css_page_size=True)
            assert pdf[:4] == b"%PDF" and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page\r") + pdf.count(b"/Type /Page ") + pdf.count(b"/Type /Page>") >= 1
        finally:
            tabs.close("zh", "index.html")

    def test_explorer_reproduces_the_official_index(self, explorer_tab, beijing_build):
        v = explorer_tab
        v.page.click("#x-reset")
        assert_engine_numbers(v, beijing_build, beijing_build.scores.index.get_level_values("year").unique())
        assert v.page.inner_text("#x-state") == "当前为官方权重。"
        assert not v.errors

    def test_explorer_matches_the_engine_at_random_weights(self, explorer_tab, beijing_inputs, beijing_build):
        """Random slider positions for the dimensions and, in turn, for one dimension's indicators,
        against the index rebuilt by the engine with those weights (the spec's weights method is
        ``fixed``: the tree's weights, rescaled within each parent)."""
        spec, panel = beijing_inputs
        v = explorer_tab
        rng = np.random.default_rng(14)
        years = list(beijing_build.scores.index.get_level_values("year").unique())
        root = spec.tree.code
        dims = [c.code for c in spec.tree.children]
        for trial, dim in enumerate(["VC", "CR", "XB"]):
            v.page.click("#x-reset")
            v.page.select_option("#x-dim", dim)
            changes = {}
            for d in dims:
                w = round(float(rng.uniform(0, 10)), 3) if trial or d != "BD" else 0.0  # a dimension switched off
                changes[f"tree.{d}.weight"] = v.page.evaluate(SET_SLIDER, [root, d, w])
            for c in spec.nodes[dim].children:  # e.g. VC5, weight 0 and Beijing-only: renormalised over the units that have it
                w = round(float(rng.uniform(0.5, 10)), 3)
                changes[f"tree.{c.code}.weight"] = v.page.evaluate(SET_SLIDER, [dim, c.code, w])
            assert v.page.is_visible(f"fieldset.x-sub[data-dim='{dim}']")
            assert v.page.inner_text("#x-state") != "当前为官方权重。"
            rebuilt = ie.build(spec.replace_many(changes), panel)
            assert_engine_numbers(v, rebuilt, [years[-1], years[0]] if trial else years)
        v.page.click("#x-reset")
        assert_engine_numbers(v, beijing_build, years[-1:])
        assert not v.errors

    def test_summary_report_loads_cleanly(self, browser, summary_report):
        """The overview of a firm-level summary: no console error, every chart an SVG, every link resolves."""
        pages = {p.name for p in summary_report.glob("*.html")}
        assert pages == SUMMARY_PAGES and not [p for p in pages if p.startswith("unit-")]
        v = Visit(browser, summary_report / "index.html")
        try:
            check_page(v, summary_report, "index.html")
            assert v.page.eval_on_selector_all("div.chart svg.main-svg", "els => els.length") >= 2
            assert v.page.eval_on_selector_all("#grade-shares tbody tr", "els => els.length") == 3
            text = v.page.inner_text("body")
            assert "中关村领航积分（示例）" in text and "得分分布" in text
            for name in sorted(pages - {"index.html"}):
                v.goto(summary_report / name)
                check_page(v, summary_report, name)
        finally:
            v.close()


class TestEnglish(PagesOfOneLanguage):
    """The English report (tests of the base class first, then these) and the report without targets."""

    lang = "en"

    def test_the_explorer_gives_no_score_to_what_the_build_withholds(self, browser, tmp_path):
        """With a publication threshold, a unit whose index score the build withholds gets none in the explorer,
        at the official weights or any others (the threshold reads the nominal weights), and ranks nowhere."""
        root_dir = Path(__file__).resolve().parents[1]
        spec = ie.load_spec(root_dir / "weights/examples/asem.yaml", overrides={"publish": {"min_coverage": 0.9}})
        panel = ie.load_panel(spec.base_dir / spec.data.file, spec)
        b = ie.build(spec, panel)
        root = spec.tree.code
        held = b.withheld[root]
        assert held.any()
        folder = b.write(tmp_path / "b", excel=False)
        v = Visit(browser, render_report(folder, lang="en") / "explorer.html")
        try:
            v.page.wait_for_selector("#explorer[data-ready]")
            published = b.published[root].droplevel("year")  # one year
            for move in (False, True):
                if move:  # any weights: the withheld units still have no score
                    v.page.evaluate(SET_SLIDER, [root, spec.tree.children[0].code, 9.0])
                shown = {u: (float(sc) if sc else None, int(r) if r else None) for u, sc, r in v.page.evaluate(EXPLORER_ROWS)}
                assert {u for u, (s, _) in shown.items() if s is not None} == set(published.dropna().index)
                assert all(shown[u] == (None, None) for u in held[held].index.get_level_values("unit") if u in shown)
                ranks = sorted(r for _, r in shown.values() if r is not None)
                assert ranks[-1] <= published.notna().sum()
            assert not v.errors
        finally:
            v.close()

    def test_english_pages_name_units_in_english_only(self, tabs):
        text = tabs.open("en", "unit-BJ.html").page.inner_text("body")
        assert "Beijing" in text and "北京" not in text  # one language per page: English names only

    def test_ranks_follow_the_normalised_value_in_the_page(self, tabs):
        """On an indicator page the column that was normalised (share of GDP) orders the ranks."""
        page = tabs.open("en", "ind-IN2.html").page
        rows = page.eval_on_selector_all(
            "#h-latest ~ .table-scroll table tbody tr",
            "trs => trs.map(tr => [Number(tr.cells[0].textContent), Number(tr.querySelector('td.basis').getAttribute('data-sort'))])")
        assert len(rows) == 13 and "Share of GDP (%)" in page.inner_text("#h-latest ~ .table-scroll thead")
        vals = [b for _, b in sorted(rows)]
        assert all(a >= b for a, b in zip(vals, vals[1:])), rows

    def test_ranking_table_sorts(self, tabs):
        v = tabs.open("en", "index.html")
        try:
            page = v.page
            first = lambda: page.inner_text("#ranking tbody tr:first-child th")  # noqa: E731
            assert first() == "Beijing"
            head = page.locator("#ranking thead th").nth(2)  # index score
            head.click()
            assert head.get_attribute("aria-sort") == "ascending" and first() != "Beijing"
            head.click()
            assert head.get_attribute("aria-sort") == "descending" and first() == "Beijing"
            head.focus()
            page.keyboard.press("Enter")
            assert head.get_attribute("aria-sort") == "ascending"
            assert not v.errors
        finally:
            tabs.close("en", "index.html")

    def test_explorer_and_brief_fit_a_phone(self, browser, reports):
        """At 390 px the page does not scroll sideways: wide tables scroll inside their own box."""
        v = Visit(browser)
        v.page.set_viewport_size({"width": 390, "height": 844})
        try:
            for name in ("explorer.html", "brief-BJ.html"):
                v.goto(reports["en"] / name)
                assert v.page.evaluate("() => document.documentElement.scrollWidth") <= 390, name
                wide = v.page.eval_on_selector_all(
                    "table", "els => els.filter(t => t.getBoundingClientRect().width > 390).map(t => t.parentElement.className)")
                assert all("table-scroll" in c.split() for c in wide), (name, wide)
            assert not v.errors
        finally:
            v.close()

    def test_report_without_targets_or_sensitivity_loads_cleanly(self, browser, reports):
        folder = reports["plain"]
        assert not (folder / "targets.html").exists() and not (folder / "robustness.html").exists()
        v = Visit(browser)
        try:
            for name in ("index.html", "unit-BJ.html", "dim-VC.html", "ind-CR1.html", "methodology.html"):
                v.goto(folder / name)
                check_page(v, folder, name)
        finally:
            v.close()

    def test_implementation_page_without_targets_loads_cleanly(self, browser, reports):
        folder = reports["plain"]
        assert (folder / "implementation.html").exists() and not (folder / "scorecard.html").exists()
        v = Visit(browser, folder / "implementation.html")
        try:
            check_page(v, folder, "implementation.html")
        finally:
            v.close()

    def test_brief_with_many_targets_still_prints_two_pages(self, browser, beijing_folder, tmp_path):
        """Twenty-five targets: the brief lists the first TARGET_ROWS and still prints on two pages."""
        import pandas as pd

        from index_engine.report.brief import TARGET_ROWS

        build = tmp_path / "build"
        shutil.copytree(beijing_folder, build)
        shutil.rmtree(build / "report", ignore_errors=True)
        t = pd.read_csv(build / "targets.csv", dtype=str, keep_default_na=False)
        many = pd.concat([t] * (25 // len(t) + 1), ignore_index=True).iloc[:25]
        many["name_en"] = many["name_en"] + " (a long name that goes on to fill its line and more)"
        many.to_csv(build / "targets.csv", index=False)
        folder = render_report(build, tmp_path / "report", lang="en")
        assert f"{25 - TARGET_ROWS} more targets" in (folder / "brief-BJ.html").read_text(encoding="utf-8")
        v = Visit(browser, folder / "brief-BJ.html")
        try:
            v.page.emulate_media(media="print")
            texts = pdf_page_texts(v.page.pdf(prefer_css_page_size=True))
        finally:
            v.close()
        assert len(texts) == 2 and all("Illustrativedata" in x for x in texts)
