"""Benchmark: render the Beijing report (target: under 3 s, median of 5 runs), and the summary report
of a 10^5-firm large build (same target).

    python bench/report.py                # builds the Beijing index with its audit into a temp folder first
    python bench/report.py BUILD_DIR      # times an existing build folder instead
    python bench/report.py --firms 0      # skips the firm-level summary (default: 100,000 firms)

Only ``render_report`` is timed (reading the build folder, building every page and chart, writing
the pages and plotly.min.js), in both languages. For the firm-level summary, the illustrative data
of ``inputs/zgc/generate.py --firms N --years 2025`` (kept in bench/.data/, not in git) is built
with the 中关村领航积分 model into a temp folder first: above 50,000 unit-years that is a large
build (wide Parquet), whose report summarises the firms instead of writing a page per firm.

Then, per page type (overview, unit-*, dim-*, ind-*, explorer, brief-*, ...; one page of each), the
pages of the last report of each build are opened from disk in Chromium (the system chromium
driven by playwright, as the browser tests; skipped with a note when either is missing, or with
``--no-browser``) and timed, median of ``--loads`` loads in a fresh tab each:

* first paint: the browser's ``first-contentful-paint`` (ms from navigation start);
* charts drawn: every ``div.chart`` holds plotly's SVG and the explorer has recomputed its table
  (ms from navigation start, polled every animation frame; "–" on a page with neither);
* loaded: the bytes of the page and of every local file it requests (plotly.min.js included).

The folder size of each report (files, MB, of which plotly.min.js) is printed last.

    python bench/report.py --firms 0 --loads 5     # the Beijing report only, five loads per page
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import index_engine as ie  # noqa: E402
from index_engine.report import render_report  # noqa: E402

TARGET_S = 3.0
RUNS = 5
DATA = ROOT / "bench" / ".data"


def beijing_build(tmp: Path) -> Path:
    spec = ie.load_spec(ROOT / "weights/beijing_tfdi.yaml")
    panel = ie.load_panel(ROOT / "inputs/beijing/beijing_tfdi_panel.csv", spec)
    return ie.build(spec, panel).write(tmp / "build", excel=False, extras=("audit",))


def firm_build(tmp: Path, n: int) -> Path:
    """The 中关村领航积分 model on ``n`` generated firms (one year), written without results.xlsx."""
    DATA.mkdir(parents=True, exist_ok=True)
    f = DATA / f"zgc_{n}.parquet"
    if not f.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "inputs/zgc/generate.py"), "--firms", str(n), "--years", "2025", "--out", str(f)],
            check=True, capture_output=True,
        )
    spec = ie.load_spec(ROOT / "weights/examples/zgc_pilot_score.yaml")
    return ie.build(spec, ie.load_panel(f, spec)).write(tmp / "firms", excel=False)


def time_report(build_dir: Path, tmp: Path, label: str) -> tuple[float, Path]:
    """Median seconds of ``RUNS`` renders per language (the worse language), printed per language,
    and the last report written."""
    worst = 0.0
    for lang in ("zh", "en"):
        times = []
        for i in range(RUNS):
            t0 = time.perf_counter()
            out = render_report(build_dir, tmp / f"report_{label}_{lang}_{i}", lang=lang)
            times.append(time.perf_counter() - t0)
        pages = len(list(out.glob("*.html")))
        med = statistics.median(times)
        worst = max(worst, med)
        runs = ", ".join(f"{x:.2f}" for x in times)
        print(f"render_report {label} ({lang}, {pages} pages): median {med:.2f} s of {RUNS} [{runs}]")
    return worst, out


def page_type(name: str) -> str:
    """``unit-BJ.html`` -> ``unit-*``; a page without a code in its name is its own type."""
    stem = name.removesuffix(".html")
    prefix, sep, _ = stem.partition("-")
    return f"{prefix}-*" if sep else stem


def folder_size(folder: Path) -> tuple[int, int, int]:
    """(files, bytes, bytes of plotly.min.js) of a report folder."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    plotly = folder / "plotly.min.js"
    return len(files), sum(p.stat().st_size for p in files), plotly.stat().st_size if plotly.is_file() else 0


PAINT_JS = """() => {
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  return fcp ? fcp.startTime : null;
}"""
DRAWN_JS = """() => [...document.querySelectorAll('div.chart')].every(d => d.querySelector('svg.main-svg'))
  && (!document.getElementById('explorer') || !document.getElementById('explorer').dataset.model
      || document.getElementById('explorer').dataset.ready === '1')"""
HAS_DYNAMIC_JS = """() => document.querySelectorAll('div.chart').length > 0
  || !!(document.getElementById('explorer') && document.getElementById('explorer').dataset.model)"""


def chromium_path() -> str | None:
    import os
    import shutil

    found = shutil.which("chromium")
    return found or ("/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None)


def time_pages(folder: Path, label: str, loads: int) -> None:
    """First paint and charts drawn (ms, median of ``loads``) of one page of each type, in Chromium."""
    chromium = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print(f"pages {label}: skipped (playwright is not installed: pip install -e .[test])")
        return
    if chromium is None:
        print(f"pages {label}: skipped (chromium is not installed)")
        return
    pages: dict[str, str] = {}
    for p in sorted(folder.glob("*.html")):
        pages.setdefault(page_type(p.name), p.name)
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]
    print(f"pages {label} (median of {loads} loads, ms from navigation start):")
    print(f"  {'type':<14} {'page':<22} {'loaded':>9} {'first paint':>12} {'charts drawn':>13}")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=args)
        try:
            for kind, name in pages.items():
                paints, drawn, loaded = [], [], 0
                for _ in range(loads):
                    tab = browser.new_page(viewport={"width": 1280, "height": 900})
                    requested: list[str] = []
                    tab.on("request", lambda r: requested.append(r.url))
                    tab.goto((folder / name).as_uri(), wait_until="domcontentloaded")
                    if tab.evaluate(HAS_DYNAMIC_JS):
                        tab.wait_for_function(DRAWN_JS, polling="raf", timeout=60_000)
                        drawn.append(tab.evaluate("() => performance.now()"))
                    tab.wait_for_load_state("load")
                    tab.wait_for_function(PAINT_JS, timeout=60_000)
                    paints.append(tab.evaluate(PAINT_JS))
                    loaded = sum(Path(unquote(urlsplit(u).path)).stat().st_size
                                 for u in dict.fromkeys(requested) if u.startswith("file://"))
                    tab.close()
                d = f"{statistics.median(drawn):.0f}" if drawn else "–"
                print(f"  {kind:<14} {name[:22]:<22} {loaded / 1024:>7.0f} kB {statistics.median(paints):>12.0f} {d:>13}")
        finally:
            browser.close()


def report_size(folder: Path, label: str) -> None:
    n, total, plotly = folder_size(folder)
    print(f"folder {label}: {n} files, {total / 1e6:.2f} MB (plotly.min.js {plotly / 1e6:.2f} MB)")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build_dir", nargs="?", help="an existing build folder to time instead of the Beijing build")
    ap.add_argument("--firms", type=int, default=100_000, help="firms of the summary-report timing (0: skip)")
    ap.add_argument("--loads", type=int, default=3, help="loads of each page in Chromium (median reported)")
    ap.add_argument("--no-browser", action="store_true", help="time the rendering only, not the pages in Chromium")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        build_dir = Path(a.build_dir) if a.build_dir else beijing_build(tmp)
        label = "Beijing" if not a.build_dir else build_dir.name
        worst, out = time_report(build_dir, tmp, label)
        reports = [(label, out)]
        if a.firms > 0:
            firms_label = f"{a.firms:,} firms (summary)"
            secs, out = time_report(firm_build(tmp, a.firms), tmp, firms_label)
            worst = max(worst, secs)
            reports.append((firms_label, out))
        for name, folder in reports:
            if not a.no_browser:
                time_pages(folder, name, max(1, a.loads))
            report_size(folder, name)
    verdict = "OK" if worst < TARGET_S else "SLOW"
    print(f"{verdict}: target under {TARGET_S:.0f} s")
    return 0 if worst < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
