"""Benchmark: render the Beijing report (target: under 3 s, median of 5 runs).

    python bench/report.py                # builds the Beijing index with its audit into a temp folder first
    python bench/report.py BUILD_DIR      # times an existing build folder instead

Only ``render_report`` is timed (reading the build folder, building every page and chart, writing
the pages and plotly.min.js), in both languages.
"""

from __future__ import annotations

import statistics
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


def beijing_build(tmp: Path) -> Path:
    spec = ie.load_spec(ROOT / "weights/beijing_tfdi.yaml")
    panel = ie.load_panel(ROOT / "inputs/beijing/beijing_tfdi_panel.csv", spec)
    return ie.build(spec, panel).write(tmp / "build", excel=False, extras=("audit",))


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        build_dir = Path(argv[0]) if argv else beijing_build(tmp)
        pages = 0
        worst = 0.0
        for lang in ("zh", "en"):
            times = []
            for i in range(RUNS):
                t0 = time.perf_counter()
                out = render_report(build_dir, tmp / f"report_{lang}_{i}", lang=lang)
                times.append(time.perf_counter() - t0)
            pages = len(list(out.glob("*.html")))
            med = statistics.median(times)
            worst = max(worst, med)
            runs = ", ".join(f"{x:.2f}" for x in times)
            print(f"render_report ({lang}, {pages} pages): median {med:.2f} s of {RUNS} [{runs}]")
    verdict = "OK" if worst < TARGET_S else "SLOW"
    print(f"{verdict}: target under {TARGET_S:.0f} s")
    return 0 if worst < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
