"""Scale benchmark: the 30-indicator firm model on 10^4, 10^5 and 10^6 firms.

For each size, a seeded Parquet file is generated once (bench/.data/, not in git), then a fresh
subprocess loads it, builds (transform, normalise, aggregate, rank) and writes the outputs, and
reports its wall time and peak resident memory (ru_maxrss). Targets (issue: enterprise scoring at
scale): 10^6 firms in under 10 s and 4 GB, cost growing linearly.

    python bench/scale.py [--sizes 10000 100000 1000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / ".data"

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import index_engine as ie
spec = ie.load_spec(sys.argv[1])
t1 = time.perf_counter()
panel = ie.load_panel(sys.argv[2], spec)
t2 = time.perf_counter()
b = ie.build(spec, panel)
t3 = time.perf_counter()
b.write(sys.argv[3], excel=True)
t4 = time.perf_counter()
print(json.dumps({"import_spec": t1 - t0, "load": t2 - t1, "build": t3 - t2, "write": t4 - t3, "total": t4 - t0,
                  "build_timings": b.timings, "rows": len(b.scores),
                  "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}))
"""


def data_file(n: int) -> Path:
    DATA.mkdir(parents=True, exist_ok=True)
    f = DATA / f"firms_{n}.parquet"
    if not f.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "inputs/zgc/generate.py"), "--firms", str(n), "--years", "2025",
             "--extra", "18", "--out", str(f)],
            check=True, capture_output=True,
        )
    return f


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    a = ap.parse_args()
    spec = ROOT / "weights/examples/zgc_pilot_score_30.yaml"
    print(f"{'firms':>9} {'load s':>7} {'build s':>8} {'write s':>8} {'total s':>8} {'peak GB':>8}")
    for n in a.sizes:
        f = data_file(n)
        with tempfile.TemporaryDirectory() as tmp:
            r = subprocess.run([sys.executable, "-c", CHILD, str(spec), str(f), str(Path(tmp) / "out")],
                               capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stderr)
            raise SystemExit(1)
        m = json.loads(r.stdout.strip().splitlines()[-1])
        print(f"{n:>9} {m['load']:>7.2f} {m['build']:>8.2f} {m['write']:>8.2f} {m['total']:>8.2f} {m['peak_rss_gb']:>8.2f}")


if __name__ == "__main__":
    main()
