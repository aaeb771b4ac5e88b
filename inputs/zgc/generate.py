"""Illustrative firm data for the 中关村领航积分 (Zhongguancun pilot score) example.

示例数据，非官方统计 (illustrative, not official statistics): every number is drawn from seeded
distributions chosen to look like tech-firm data (heavy-tailed patents and revenues, many zeros,
missing values, firms entering and leaving across years). No real firm is described.

    python inputs/zgc/generate.py                         # the 1,000-firm sample CSV (committed)
    python inputs/zgc/generate.py --firms 1000000 --years 2025 --extra 18 --out big.parquet

``--extra K`` adds K more indicators x01..xK (for the 30-indicator scale benchmark).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20251016
LABEL = "示例数据，非官方统计 (illustrative, not official statistics): inputs/zgc/generate.py"
STAGES = np.array(["startup", "growth", "mature"])


def generate(firms: int, years: list[int], extra: int = 0, seed: int = SEED) -> pd.DataFrame:
    """A wide table: one row per firm and year (firms enter and leave), one column per indicator."""
    rng = np.random.default_rng(seed)
    n = firms
    stage = rng.choice(3, size=n, p=[0.45, 0.35, 0.20])
    size = np.exp(rng.normal(0, 1, n) + stage * 1.2)  # latent firm size, larger when mature
    quality = rng.normal(0, 1, n)  # latent innovation capacity
    first = rng.integers(years[0] - 3, years[-1] + 1, n)  # entry year
    last = np.maximum(first + rng.integers(1, 12, n), years[0])  # exit year; every firm appears once at least
    frames = []
    for t, year in enumerate(years):
        alive = (first <= year) & (last >= year)
        idx = np.flatnonzero(alive)
        m = idx.size
        q = quality[idx] + rng.normal(0, 0.3, m)
        sz = size[idx] * np.exp(rng.normal(0.05 * t, 0.1, m))
        st = stage[idx]
        rd_int = np.clip(rng.gamma(2.0, 3.0, m) * np.exp(0.35 * q), 0, 80)
        rd_staff = np.clip(rng.beta(2, 5, m) * 100 * np.exp(0.2 * q), 0, 100)
        patents = rng.negative_binomial(0.4, 1 / (1 + 2.5 * np.exp(0.8 * q) * sz**0.5))
        soft = rng.negative_binomial(0.6, 1 / (1 + 3 * np.exp(0.5 * q)))
        standards = rng.poisson(0.08 * np.exp(0.7 * q) * sz**0.3)
        revenue = sz * np.exp(rng.normal(2, 1.2, m))  # 万元, heavy-tailed
        rev_growth = np.where(st == 0, rng.normal(35, 40, m), np.where(st == 1, rng.normal(18, 20, m), rng.normal(6, 10, m)))
        emp_growth = rev_growth * 0.5 + rng.normal(0, 8, m)
        rounds = rng.poisson(np.where(st == 0, 0.6, np.where(st == 1, 0.9, 0.3)) * np.exp(0.4 * q))
        credit = (rng.random(m) < 0.85 + 0.05 * np.tanh(q)).astype(float)
        hightech = (rng.random(m) < 1 / (1 + np.exp(-(q + 0.5 * st - 0.3)))).astype(float)
        srdi = (rng.random(m) < 0.15 * (1 + np.tanh(q)) * (st > 0)).astype(float)
        giant = (srdi == 1) & (rng.random(m) < 0.2)
        df = pd.DataFrame(
            {
                "unit": np.char.add("F", np.char.zfill(idx.astype(str), 7)),
                "year": year,
                "stage": STAGES[st],
                "rd_intensity": rd_int.round(2),
                "rd_staff_share": rd_staff.round(1),
                "invention_patents": patents.astype(float),
                "software_copyrights": soft.astype(float),
                "standards": standards.astype(float),
                "revenue": revenue.round(1),
                "revenue_growth": rev_growth.round(1),
                "employment_growth": emp_growth.round(1),
                "equity_rounds": rounds.astype(float),
                "credit_record": credit,
                "hightech": hightech,
                "srdi": srdi,
                "little_giant": giant.astype(float),
            }
        )
        for k in range(1, extra + 1):
            df[f"x{k:02d}"] = np.round(np.exp(rng.normal(0, 1, m) + 0.3 * q), 3)
        # missing values: firms that did not report (about 3% of cells of reported indicators)
        for col in ("rd_intensity", "rd_staff_share", "revenue_growth", "employment_growth", "equity_rounds"):
            df.loc[rng.random(m) < 0.03, col] = np.nan
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--firms", type=int, default=1000)
    ap.add_argument("--years", type=int, nargs="+", default=[2023, 2024, 2025])
    ap.add_argument("--extra", type=int, default=0)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out", default=str(Path(__file__).with_name("zgc_firms_sample.csv")))
    a = ap.parse_args()
    df = generate(a.firms, a.years, a.extra, a.seed)
    out = Path(a.out)
    if out.suffix == ".parquet":
        df.to_parquet(out, index=False)
    else:  # the CSV says on every row what it is (the flag makes the build's notice say so)
        df.insert(3, "source", LABEL)
        df.insert(4, "flag", "illustrative")
        df.to_csv(out, index=False, lineterminator="\n")
    print(f"wrote {out}: {len(df)} rows, {df['unit'].nunique()} firms")


if __name__ == "__main__":
    main()
