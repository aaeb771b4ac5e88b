"""The three user-facing speed rows, each as a ratio to a reference run side by side (run: python bench/speed.py).

These machines are shared and noisy, so every figure is a ratio to a reference measured in the same
session, runs interleaved (engine, reference, engine, reference, ...) and the median of ``--runs``.
Every run is a fresh process timed from the outside, imports included, as a user would see it (with
bytecode cached, as in an installed package: see ``CHILD_ENV``).

| row | engine | reference | goal |
| --- | --- | --- | --- |
| make run | ``index-engine build weights/beijing_tfdi.yaml --audit --uncertainty 1000`` | the numpy floor | <= 4.2x (about 3 s) |
| Sobol | ``index-engine sensitivity weights/examples/asem.yaml --mode sobol --n 500`` | the numpy floor | <= 2.5x (about 200x COINr) |
| firms | ``index-engine build`` of the 30-indicator firm model on 10^6 firms, ``--no-report`` | ``firm_polars.py`` | <= 1.5x, peak < 1 GB |

The numpy floor (``floor_kernel.py``) does the 3,000 ASEM-shaped builds of COINr's vignette Sobol design as
pure array work: about 0.7 s on a quiet 2-core machine, where COINr 1.1.14's ``get_sensitivity`` takes
about 370 s (so 2.5x the floor is about 200x faster than COINr). ``firm_polars.py`` is a hand-written
Polars script of the same firm model (same scores, ranks and grades). Both live in the shared bench
folder (``--refs``, default ``../shared/bench`` beside the repository). Polars is not a dependency: the
firm row runs only where ``import polars`` works (``pip install --target bench/.data/pl polars`` and
``PYTHONPATH=bench/.data/pl``), and is skipped otherwise with a line saying so.

    python bench/speed.py [--runs 3] [--rows make_run sobol firms] [--firms 1000000]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scale import data_file  # bench/ is this script's folder, so its sibling imports

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "index_engine"]


CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
"""The children's environment: bytecode is cached (``__pycache__``), as in an installed package, so an
environment that sets PYTHONDONTWRITEBYTECODE does not make every run compile the engine's modules anew."""


def timed(cmd: list[str], cwd: Path = ROOT) -> tuple[float, float]:
    """Wall seconds and peak resident memory (GB, this child's own ru_maxrss from wait4) of one process;
    a non-zero exit stops the benchmark with the child's stderr."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err, env=CHILD_ENV)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            err.seek(0)
            sys.exit(f"{' '.join(cmd)} exited {p.returncode}:\n{err.read().decode(errors='replace')[-2000:]}")
    return wall, usage.ru_maxrss / 1e6


def side_by_side(engine, reference, runs: int) -> tuple[list[float], list[float], list[float]]:
    """Interleaved runs: engine, reference, engine, ...; returns engine times, reference times and peaks."""
    e, r, peaks = [], [], []
    for _ in range(runs):
        t, peak = engine()
        e.append(t)
        peaks.append(peak)
        r.append(reference()[0])
    return e, r, peaks


def row(name: str, e: list[float], r: list[float], goal: float, ref_name: str, extra: str = "") -> None:
    me, mr = statistics.median(e), statistics.median(r)
    ratio = me / mr
    verdict = "ok" if ratio <= goal else "over"
    print(f"{name:<9} {me:>8.2f} s  {ref_name:<14} {mr:>7.2f} s  ratio {ratio:>5.2f}x  goal <= {goal:g}x  {verdict}{extra}")


def floor(refs: Path):
    return lambda: timed([sys.executable, str(refs / "floor_kernel.py")])


def make_run(tmp: Path):
    counter = iter(range(10**6))

    def run():
        out = tmp / f"make_run_{next(counter)}"
        return timed(CLI + ["build", "weights/beijing_tfdi.yaml", "--audit", "--uncertainty", "1000", "--out", str(out)])

    return run


def sobol(tmp: Path):
    counter = iter(range(10**6))

    def run():
        out = tmp / f"sobol_{next(counter)}"
        return timed(CLI + ["sensitivity", "weights/examples/asem.yaml", "--mode", "sobol", "--n", "500", "--out", str(out)])

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rows", nargs="+", default=["make_run", "sobol", "firms"], choices=["make_run", "sobol", "firms"])
    ap.add_argument("--firms", type=int, default=1_000_000)
    ap.add_argument("--refs", type=Path, default=ROOT.parent / "shared" / "bench")
    a = ap.parse_args()
    if not (a.refs / "floor_kernel.py").exists():
        sys.exit(f"no floor_kernel.py in {a.refs}: pass --refs with the shared bench folder")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; medians of {a.runs} interleaved runs, "
          "each a fresh process (imports included)")
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        if "make_run" in a.rows:
            e, r, _ = side_by_side(make_run(tmp), floor(a.refs), a.runs)
            row("make run", e, r, 4.2, "numpy floor")
        if "sobol" in a.rows:
            e, r, _ = side_by_side(sobol(tmp), floor(a.refs), a.runs)
            row("sobol", e, r, 2.5, "numpy floor", f"  (COINr ~370 s: about {370 / statistics.median(e):.0f}x faster)")
        if "firms" in a.rows:
            if importlib.util.find_spec("polars") is None:
                print("firms     skipped: polars is not importable (see the docstring to install it in a scratch place)")
                return
            data = data_file(a.firms)  # the same generated file bench/scale.py times
            spec = "weights/examples/zgc_pilot_score_30.yaml"
            counter = iter(range(10**6))

            def engine():
                out = tmp / f"firms_{next(counter)}"
                return timed(CLI + ["build", spec, "--data", str(data), "--no-report", "--out", str(out)])

            def polars():
                out = tmp / f"polars_{next(counter)}"
                return timed([sys.executable, str(a.refs / "firm_polars.py"), spec, str(data), str(out)])

            e, r, peaks = side_by_side(engine, polars, a.runs)
            peak = max(peaks)
            row("firms", e, r, 1.5, "polars script", f"  peak {peak:.2f} GB ({'ok' if peak < 1 else 'over'} 1 GB)")


if __name__ == "__main__":
    main()
