"""What changed between two builds: scores, ranks, weights, fitted parameters, data cells and spec.

``index-engine diff OLD_BUILD NEW_BUILD`` reads two build folders (as written by
``index-engine build``) and lists every difference with its size, so a researcher can explain a
revision of a published series.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .errors import DataError, OutputExistsError
from .outputs import write_csv

KEY = {"scores": ["unit", "year", "node"], "weights": ["node"], "fitted": ["indicator", "pool"], "data": ["unit", "year", "indicator"]}


def _read(d: Path, name: str) -> pd.DataFrame:
    f = d / name
    if not f.exists():
        raise DataError(f"{d}: not a build folder ({name} is missing)")
    df = pd.read_csv(f, keep_default_na=True)
    if "year" in df.columns:
        df["year"] = df["year"].astype("Int64").astype(str).replace("<NA>", "")
    return df


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        if "code" in data and prefix.startswith("tree"):
            prefix = f"tree.{data['code']}"
        for k, v in data.items():
            if k == "children" and isinstance(v, list):
                for c in v:
                    out.update(_flatten(c, "tree"))
                continue
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(data, list) and not all(isinstance(x, (str, int, float)) for x in data):
        for i, v in enumerate(data):
            out.update(_flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = data
    return out


def _compare(old: pd.DataFrame, new: pd.DataFrame, key: list[str], value: str, tol: float) -> pd.DataFrame:
    m = old[key + [value]].merge(new[key + [value]], on=key, how="outer", suffixes=("_old", "_new"), indicator=True)
    a, b = m[f"{value}_old"], m[f"{value}_new"]
    both_nan = a.isna() & b.isna()
    changed = ~both_nan & ((a - b).abs() > tol) | (a.isna() != b.isna())
    out = m[changed].copy()
    out["change"] = out[f"{value}_new"] - out[f"{value}_old"]
    out["what"] = out["_merge"].map({"left_only": "removed", "right_only": "added", "both": "changed"}).astype(str)
    return out.drop(columns="_merge").reset_index(drop=True)


@dataclass(frozen=True)
class BuildDiff:
    """Differences between two builds, one DataFrame per kind."""

    old: str
    new: str
    scores: pd.DataFrame
    ranks: pd.DataFrame
    weights: pd.DataFrame
    parameters: pd.DataFrame
    data: pd.DataFrame
    spec: pd.DataFrame

    def summary(self) -> dict[str, Any]:
        s: dict[str, Any] = {
            "scores_changed": len(self.scores),
            "max_abs_score_change": float(self.scores["change"].abs().max()) if len(self.scores) else 0.0,
            "ranks_changed": len(self.ranks),
            "weights_changed": len(self.weights),
            "parameters_changed": len(self.parameters),
            "data_cells_changed": len(self.data),
            "spec_values_changed": len(self.spec),
        }
        return s

    def write(self, out_dir: str | Path, *, force: bool = False) -> Path:
        out = Path(out_dir)
        if out.exists() and not force:
            raise OutputExistsError(f"{out}: the folder exists already; choose another --out or pass --force")
        out.mkdir(parents=True, exist_ok=True)
        for name in ("scores", "ranks", "weights", "parameters", "data", "spec"):
            write_csv(getattr(self, name), out / f"{name}.csv", float_format="%.10g")
        (out / "summary.json").write_text(
            json.dumps({"old": self.old, "new": self.new, **self.summary()}, indent=1), encoding="utf-8"
        )
        return out


def diff_builds(old_dir: str | Path, new_dir: str | Path, *, tol: float = 1e-9) -> BuildDiff:
    """Compare two build folders; numbers closer than ``tol`` count as equal."""
    old, new = Path(old_dir), Path(new_dir)
    so, sn = _read(old, "scores.csv"), _read(new, "scores.csv")
    scores = _compare(so, sn, KEY["scores"], "score", tol)
    ranks = _compare(so, sn, KEY["scores"], "rank", 0)
    wo, wn = _read(old, "weights.csv"), _read(new, "weights.csv")
    weights = _compare(wo, wn, KEY["weights"], "effective_weight", tol)
    params = []
    fo, fn = _read(old, "fitted.csv"), _read(new, "fitted.csv")
    for col in sorted((set(fo.columns) | set(fn.columns)) - set(KEY["fitted"])):
        a = fo if col in fo else fo.assign(**{col: np.nan})
        b = fn if col in fn else fn.assign(**{col: np.nan})
        d = _compare(a.astype({"pool": str}), b.astype({"pool": str}), KEY["fitted"], col, tol)
        if len(d):
            d = d.rename(columns={f"{col}_old": "old", f"{col}_new": "new"})
            d.insert(2, "parameter", col)
            params.append(d)
    parameters = pd.concat(params, ignore_index=True) if params else pd.DataFrame(
        columns=["indicator", "pool", "parameter", "old", "new", "change", "what"]
    )
    data = _compare(_read(old, "tables/raw.csv"), _read(new, "tables/raw.csv"), KEY["data"], "value", tol)
    spec_rows = []
    yo = _flatten(yaml.safe_load((old / "spec.yaml").read_text(encoding="utf-8")) or {})
    yn = _flatten(yaml.safe_load((new / "spec.yaml").read_text(encoding="utf-8")) or {})
    for k in sorted(set(yo) | set(yn)):
        if yo.get(k) != yn.get(k):
            spec_rows.append({"path": k, "old": yo.get(k), "new": yn.get(k)})
    spec = pd.DataFrame(spec_rows, columns=["path", "old", "new"])
    return BuildDiff(str(old), str(new), scores, ranks, weights, parameters, data, spec)
