"""Nominal build times of the bundled specs (median of 5 runs, data already loaded).

    python bench/build.py
"""

from __future__ import annotations

import statistics
import time
import warnings
from pathlib import Path

import index_engine as ie

ROOT = Path(__file__).resolve().parents[1]
SPECS = [
    "weights/examples/hdi.yaml",
    "weights/examples/asem.yaml",
    "weights/examples/asem_panel.yaml",
    "weights/beijing_tfdi.yaml",
    "weights/beijing_tfdi_timeseries.yaml",
    "weights/examples/zgc_pilot_score.yaml",
]


def main() -> None:
    print(f"{'spec':<42} {'rows':>6} {'load s':>7} {'build s':>8}")
    for rel in SPECS:
        spec = ie.load_spec(ROOT / rel)
        t = time.perf_counter()
        panel = ie.load_panel(spec.base_dir / spec.data.file, spec)
        load = time.perf_counter() - t
        times = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(5):
                t = time.perf_counter()
                b = ie.build(spec, panel)
                times.append(time.perf_counter() - t)
        print(f"{rel:<42} {len(b.scores):>6} {load:>7.3f} {statistics.median(times):>8.3f}")


if __name__ == "__main__":
    main()
