"""Benchmark of index_engine.sensitivity on COINr's ASEM example (run: python bench/sensitivity.py).

Prints, each the median of 5 runs from a cold upstream cache (every run rebuilds its upstream tables):

* one nominal build (``index_engine.build``);
* COINr's vignette Sobol design at N = 500: 4 factors, N·(d + 2) = 3,000 builds;
* uncertainty analysis at N = 10,000 builds;
* the floor: the same batches (one per distinct spec, i.e. per distinct set of discrete choices)
  by a minimal hand-written numpy kernel, one matrix product (samples × indicators effective
  weights @ indicators × rows) and one argsort per batch, from the same normalised tables.

The engine's time is split into ``prepare`` (spec per distinct choice, upstream tables, node
models) and ``evaluate`` (weights, nested means and ranks for every sample, written back in design
order: the part the floor does); ``evaluate / floor`` is the ratio the targets name (within 5×).
The floor is a linear arithmetic kernel: it skips the geometric mean's logarithms and
exponentials, the checks for missing and out-of-domain values, the nodes computed once per spec,
tied ranks and the reordering, so it is a lower bound, not the same computation. The ``jobs = 2``
row's ratio is for information: its evaluate step is the same code, run right after the process
pool that built the upstream tables, and measures about 30% slower than with ``jobs = 1``.

Targets on a 2-core machine: Sobol N = 500 under 2 s; uncertainty N = 10,000 under 5 s; evaluate
within 5× of the floor. COINr rebuilds the whole coin per sample (~0.13 s a run: ~390 s for 3,000).
BLAS runs on one thread unless ``--blas-threads`` says otherwise (``0``: as the environment has it).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

_args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
_args.add_argument(
    "--blas-threads", type=int, default=1,
    help="BLAS threads, set before numpy loads (default 1: the batches are small, and one thread gives stable "
    "timings on a shared machine); 0 leaves the environment as it is",
)
ARGS = _args.parse_args()
if ARGS.blas_threads > 0:
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = str(ARGS.blas_threads)

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import index_engine as ie  # noqa: E402
from index_engine import sensitivity as sa  # noqa: E402
from index_engine.pipeline import upstream  # noqa: E402

RUNS = 5
COINR_SECONDS_PER_RUN = 0.13


def blas_threads() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        if ARGS.blas_threads > 0:
            return f"{ARGS.blas_threads} (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and MKL_NUM_THREADS set by this script)"
        return "unknown (threadpoolctl not installed, thread variables unset)"
    info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return ", ".join(f"{i.get('internal_api')} {i.get('version')}: {i.get('num_threads')} threads" for i in info) or "no BLAS found"


def blas_name() -> str:
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version', '')}".strip()
    except Exception:  # noqa: BLE001 - informational only
        return "unknown"


def median_time(fn, runs: int = RUNS):
    times, out = [], None
    for i in range(runs):
        t0 = time.perf_counter()
        out = fn(i)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def effective_weights(spec: ie.Spec, nominal: dict[str, float], samples, factor_cols: dict[str, str]) -> np.ndarray:
    """Samples × indicators: the product down the tree of each node's within-parent weight."""
    n = len(samples)
    w = {}
    for code in spec.nodes:
        parent = spec.parents[code]
        if parent is None:
            continue
        col = factor_cols.get(code)
        w[code] = samples[col].to_numpy(float) if col is not None else np.full(n, nominal[code])
    out = np.ones((n, len(spec.indicators)))
    for j, code in enumerate(spec.indicators):
        c = code
        while spec.parents[c] is not None:
            out[:, j] *= w[c]
            c = spec.parents[c]
    return out


def floor_batches(spec: ie.Spec, panel: ie.Panel, result: sa.SensitivityResult):
    """The batches of ``result`` (one per distinct spec) as (X rows × indicators, E samples × indicators)."""
    b = ie.build(spec, panel)
    nominal = b.weights.set_index("node")["weight"].to_dict()
    s = result.samples
    choice_keys = [k for k, f in result.factors.items() if isinstance(f, sa.Choice)]
    factor_cols = {c.split(".", 1)[1]: c for c in s.columns if "." in c and c.split(".", 1)[0] in result.factors}
    E = effective_weights(spec, nominal, s, factor_cols)
    cache: dict = {}
    batches = []
    for _, rows in s.groupby(choice_keys, sort=True).groups.items():
        first = s.loc[rows[0]].to_dict()
        spec_g = sa.sample_spec(spec, first, result.factors)
        X = upstream(spec_g, panel, cache)["normalize"].table[list(spec.indicators)].to_numpy(float)
        X = np.nan_to_num(X)
        batches.append((np.ascontiguousarray(X.T), np.ascontiguousarray(E[np.asarray(rows)])))
    return batches


def floor_kernel(batches) -> float:
    t0 = time.perf_counter()
    for XT, E in batches:
        scores = E @ XT  # samples × rows
        np.argsort(-scores, axis=1)
    return time.perf_counter() - t0


def main() -> None:
    spec = ie.load_spec(ROOT / "weights/examples/asem.yaml")
    panel = ie.load_panel(spec.base_dir / spec.data.file, spec)
    sa.saltelli_design(4, [[0]])  # import scipy.stats once, outside the timings
    print(f"index_engine {ie.__version__} · Python {platform.python_version()} · numpy {np.__version__} · "
          f"{os.cpu_count()} CPUs · BLAS {blas_name()}, threads: {blas_threads()}")
    print(f"ASEM: {len(panel.units)} units, {len(spec.indicators)} indicators, {len(spec.aggregates)} aggregates; "
          f"factors {list(sa.factors_from_spec(spec))}; median of {RUNS} runs, cold upstream cache each run\n")

    t_build, _ = median_time(lambda i: ie.build(spec, panel))
    print(f"nominal build (index_engine.build)                 {t_build:8.3f} s")

    rows = []
    for label, fn, target in (
        ("Sobol N = 500 (3,000 builds)", lambda i: sa.sobol(spec, panel, n=500, seed=i), 2.0),
        ("uncertainty N = 10,000", lambda i: sa.uncertainty(spec, panel, n=10_000, seed=i), 5.0),
        ("Sobol N = 500, jobs = 2", lambda i: sa.sobol(spec, panel, n=500, seed=i, jobs=2), None),
    ):
        runs = []
        for i in range(RUNS):
            t0 = time.perf_counter()
            r = fn(i)
            runs.append((time.perf_counter() - t0, r.manifest["timings_s"]["prepare_s"], r.manifest["timings_s"]["evaluate_s"], r))
        total = statistics.median(x[0] for x in runs)
        prep = statistics.median(x[1] for x in runs)
        ev = statistics.median(x[2] for x in runs)
        r = runs[-1][3]
        batches = floor_batches(spec, panel, r)
        floor = statistics.median(floor_kernel(batches) for _ in range(RUNS))
        builds = r.manifest["builds"]
        ok = "" if target is None else ("  target < %.0f s: %s" % (target, "met" if total < target else "MISSED"))
        print(f"{label:<32} total {total:7.3f} s  ({builds / total:8.0f} builds/s; COINr ~{builds * COINR_SECONDS_PER_RUN:5.0f} s){ok}")
        print(f"{'':<32}   prepare {prep:6.3f} s: {r.manifest['distinct_specs']} distinct specs, "
              f"{r.manifest['upstream_builds']} upstream builds")
        verdict = "for information" if target is None else ("within" if ev / floor <= 5 else "NOT within") + " 5×"
        print(f"{'':<32}   evaluate {ev:6.4f} s  vs floor {floor:6.4f} s ({len(batches)} batches): "
              f"{ev / floor:4.1f}× the floor ({verdict})")
        rows.append((label, total, ev, floor))


if __name__ == "__main__":
    main()
