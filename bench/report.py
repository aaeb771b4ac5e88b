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
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def time_report(build_dir: Path, tmp: Path, label: str) -> float:
    """Median seconds of ``RUNS`` renders per language (the worse language), printed per language."""
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
    return worst


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build_dir", nargs="?", help="an existing build folder to time instead of the Beijing build")
    ap.add_argument("--firms", type=int, default=100_000, help="firms of the summary-report timing (0: skip)")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        build_dir = Path(a.build_dir) if a.build_dir else beijing_build(tmp)
        worst = time_report(build_dir, tmp, "Beijing" if not a.build_dir else build_dir.name)
        if a.firms > 0:
            worst = max(worst, time_report(firm_build(tmp, a.firms), tmp, f"{a.firms:,} firms (summary)"))
    verdict = "OK" if worst < TARGET_S else "SLOW"
    print(f"{verdict}: target under {TARGET_S:.0f} s")
    return 0 if worst < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
