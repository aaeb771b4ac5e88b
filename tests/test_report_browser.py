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
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from index_engine.report import load_model, render_report

from .conftest import CHROMIUM
from .test_report import write_fake_sensitivity, write_fake_targets
from .test_report_firms import SUMMARY_PAGES, firm_build

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[test])")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def reports(beijing_folder, tmp_path_factory) -> dict[str, Path]:
    """The Beijing report in Chinese and English, with audit, targets and sensitivity, and one without them."""
    src = beijing_folder
    full = tmp_path_factory.mktemp("browser") / "build"
    shutil.copytree(src, full)
    shutil.rmtree(full / "report", ignore_errors=True)
    if not (full / "targets.csv").exists():
        write_fake_targets(full)
    write_fake_sensitivity(full)
    plain = tmp_path_factory.mktemp("browser_plain") / "build"
    shutil.copytree(src, plain)
    (plain / "targets.csv").unlink(missing_ok=True)
    shutil.rmtree(plain / "audit", ignore_errors=True)
    shutil.rmtree(plain / "report", ignore_errors=True)
    return {
        "zh": render_report(full, full / "report_zh"),
        "en": render_report(full, full / "report_en", lang="en"),
        "plain": render_report(plain, plain / "report", lang="en"),
        "build": full,
    }


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
    """Open ``name`` in the tab ``v`` and check charts, links, console and requests."""
    v.goto(folder / name)
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
    foreign = [u for u in v.requests if not (u.startswith("file://") or u.startswith("data:"))]
    assert not foreign, f"{name}: requests {foreign}"
    local = [Path(unquote(urlsplit(u).path)) for u in v.requests if u.startswith("file://")]
    assert all(p.is_file() and folder in p.parents for p in local), f"{name}: {local}"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_loads_cleanly(browser, reports, lang):
    folder = reports[lang]
    pages = sorted(p.name for p in folder.glob("*.html"))
    assert {"index.html", "targets.html", "robustness.html", "methodology.html"} <= set(pages)
    v = Visit(browser)
    try:
        for name in pages:
            check_page(v, folder, name)
    finally:
        v.close()


def test_report_without_targets_or_sensitivity_loads_cleanly(browser, reports):
    folder = reports["plain"]
    assert not (folder / "targets.html").exists() and not (folder / "robustness.html").exists()
    v = Visit(browser)
    try:
        for name in ("index.html", "unit-BJ.html", "dim-VC.html", "ind-CR1.html", "methodology.html"):
            check_page(v, folder, name)
    finally:
        v.close()


def test_chinese_names_appear_as_text(browser, reports):
    m = load_model(reports["build"])
    v = Visit(browser, reports["zh"] / "index.html")
    try:
        text = v.page.inner_text("body")
        assert "北京市科技金融发展指数" in text
        for u in m.ranked_units:
            assert m.units[u].name_zh in text, u
        for d in m.dimensions:
            assert m.nodes[d].name_zh in text, d
        # the heading is drawn with a CJK font, not as missing-glyph boxes: its width is that of ~9 ideographs
        w = v.page.eval_on_selector(".masthead-title a", "e => e.getBoundingClientRect().width")
        assert w > 9 * 12
    finally:
        v.close()
    v = Visit(browser, reports["en"] / "unit-BJ.html")
    try:
        text = v.page.inner_text("body")
        assert "Beijing" in text and "北京" in text  # the other language's name as a subtitle
    finally:
        v.close()


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


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_overview_screenshot_is_not_blank(browser, reports, lang, tmp_path):
    v = Visit(browser, reports[lang] / "index.html")
    try:
        v.page.wait_for_function("() => document.querySelector('div.chart svg.main-svg')")
        png = v.page.screenshot(full_page=False)
    finally:
        v.close()
    (tmp_path / f"overview_{lang}.png").write_bytes(png)
    probe = browser.new_page()
    try:
        stats = probe.evaluate(VARIANCE_JS, "data:image/png;base64," + base64.b64encode(png).decode())
    finally:
        probe.close()
    assert stats["width"] == 1280 and stats["height"] == 900
    assert stats["variance"] > 500, stats  # a blank page is 0; the overview is ~3,000


def test_ranking_table_sorts(browser, reports):
    v = Visit(browser, reports["en"] / "index.html")
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
        v.close()


def test_print_stylesheet_hides_navigation(browser, reports):
    v = Visit(browser, reports["zh"] / "unit-BJ.html")
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
        v.close()


@pytest.fixture(scope="module")
def summary_report(tmp_path_factory) -> Path:
    """The summary report of the firm-level sample written as a large (Parquet) build, in Chinese."""
    build = firm_build(tmp_path_factory, "parquet")
    return render_report(build, tmp_path_factory.mktemp("browser_firms") / "report", lang="zh")


def test_summary_report_loads_cleanly(browser, summary_report):
    """The overview of a firm-level summary: no console error, every chart an SVG, every link resolves."""
    pages = {p.name for p in summary_report.glob("*.html")}
    assert pages == SUMMARY_PAGES and not [p for p in pages if p.startswith("unit-")]
    v = Visit(browser)
    try:
        check_page(v, summary_report, "index.html")
        assert v.page.eval_on_selector_all("div.chart svg.main-svg", "els => els.length") >= 2
        assert v.page.eval_on_selector_all("#grade-shares tbody tr", "els => els.length") == 3
        text = v.page.inner_text("body")
        assert "中关村领航积分（示例）" in text and "得分分布" in text
        for name in sorted(pages - {"index.html"}):
            check_page(v, summary_report, name)
    finally:
        v.close()
