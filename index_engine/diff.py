"""What changed between two builds: scores, ranks, weights, fitted parameters, data cells and spec.

``index-engine diff OLD_BUILD NEW_BUILD`` reads two build folders (as written by
``index-engine build``, in either layout, through :func:`index_engine.folder.load_build`) and lists
every difference with its size, so a researcher can explain a revision of a published series.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._checks import NO_YEAR
from .folder import BuildFolder, load_build
from .atomic import write_folder
from .outputs import write_csv

KEY = {"scores": ["unit", "year", "node"], "weights": ["node"], "fitted": ["indicator", "pool"], "data": ["unit", "year", "indicator"]}


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        if "code" in data and prefix.startswith("tree"):
            prefix = f"tree.{data['code']}"
        for k, v in data.items():
            if k == "children" and isinstance(v, (list, tuple)):
                for c in v:
                    out.update(_flatten(c, "tree"))
                continue
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(data, (list, tuple)) and not all(isinstance(x, (str, int, float)) for x in data):
        for i, v in enumerate(data):
            out.update(_flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = list(data) if isinstance(data, tuple) else data
    return out


def _changed(a: np.ndarray, b: np.ndarray, tol: float) -> np.ndarray:
    """Cells that differ by more than ``tol``, or where one side is missing."""
    na, nb = np.isnan(a), np.isnan(b)
    with np.errstate(invalid="ignore"):
        return (~(na & nb) & (np.abs(a - b) > tol)) | (na != nb)


def _year_text(years: np.ndarray) -> np.ndarray:
    return np.array(["" if y == NO_YEAR else str(int(y)) for y in years], dtype=object)


def _compare_wide(old: pd.DataFrame, new: pd.DataFrame, key: str, value: str, tol: float) -> pd.DataFrame:
    """Cells of two wide tables (rows (unit, year), a column per ``key``) that differ, as long rows
    ``unit, year, <key>, <value>_old, <value>_new, change, what``, sorted by unit, year and key.

    A cell counts as present where its row and its column are; ``what`` is "removed" for a cell
    present in ``old`` only, "added" in ``new`` only, else "changed".
    """
    if old.index.equals(new.index):  # the same rows (the usual case): no alignment needed
        rows = old.index
        ro = rn = np.arange(len(rows))
    else:
        rows = old.index.append(new.index[~new.index.isin(old.index)])
        ro, rn = old.index.get_indexer(rows), new.index.get_indexer(rows)
    cols = list(old.columns) + [c for c in new.columns if c not in set(old.columns)]
    units = rows.get_level_values("unit").to_numpy(dtype=object)
    years = rows.get_level_values("year").to_numpy()
    parts = []
    for c in cols:
        a = np.full(len(rows), np.nan)
        b = np.full(len(rows), np.nan)
        in_a = (ro >= 0) & (c in old.columns)
        in_b = (rn >= 0) & (c in new.columns)
        if c in old.columns:
            a[in_a] = old[c].to_numpy(dtype=float)[ro[in_a]]
        if c in new.columns:
            b[in_b] = new[c].to_numpy(dtype=float)[rn[in_b]]
        i = np.flatnonzero(_changed(a, b, tol))
        if len(i):
            parts.append(pd.DataFrame({
                "unit": units[i], "year": years[i], key: c, f"{value}_old": a[i], f"{value}_new": b[i],
                "change": b[i] - a[i],
                "what": np.where(in_a[i] & in_b[i], "changed", np.where(in_a[i], "removed", "added")).astype(object),
            }))
    columns = ["unit", "year", key, f"{value}_old", f"{value}_new", "change", "what"]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=float if c.startswith(value) or c == "change" else object) for c in columns})
    out = pd.concat(parts, ignore_index=True).sort_values(["unit", "year", key], kind="stable")
    out["year"] = _year_text(out["year"].to_numpy())
    return out.reset_index(drop=True)[columns]


def _compare(old: pd.DataFrame, new: pd.DataFrame, key: list[str], value: str, tol: float) -> pd.DataFrame:
    """Rows of two long tables whose ``value`` differs (by more than ``tol``; text values when unequal)."""
    m = old[key + [value]].merge(new[key + [value]], on=key, how="outer", suffixes=("_old", "_new"), indicator=True)
    a, b = m[f"{value}_old"], m[f"{value}_new"]
    if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
        changed = _changed(a.to_numpy(dtype=float), b.to_numpy(dtype=float), tol)
        delta = b - a
    else:  # a text parameter: equal or not
        changed = ((a.astype(str) != b.astype(str)) | (a.isna() != b.isna())).to_numpy()
        delta = pd.Series(np.nan, index=m.index)
    out = m[changed].copy()
    out["change"] = delta[changed]
    out["what"] = out["_merge"].map({"left_only": "removed", "right_only": "added", "both": "changed"}).astype(str)
    return out.drop(columns="_merge").reset_index(drop=True)


def _weight_key(old: pd.DataFrame, new: pd.DataFrame) -> list[str]:
    """``node``, and ``segment`` and ``year`` where both builds' weights have them (segment or yearly weights)."""
    return KEY["weights"] + [c for c in ("segment", "year") if c in old.columns and c in new.columns]


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
        """Counts of each kind of difference, and the largest change of a score both builds have (0 when no
        score is in both: an added or removed score has no change)."""
        change = self.scores["change"].abs()
        s: dict[str, Any] = {
            "scores_changed": len(self.scores),
            "max_abs_score_change": float(change.max()) if change.notna().any() else 0.0,
            "ranks_changed": len(self.ranks),
            "weights_changed": len(self.weights),
            "parameters_changed": len(self.parameters),
            "data_cells_changed": len(self.data),
            "spec_values_changed": len(self.spec),
        }
        return s

    def write(self, out_dir: str | Path, *, force: bool = False) -> Path:
        """Write a CSV per kind and ``summary.json`` into ``out_dir`` (atomically; refused if it exists unless ``force``)."""
        def fill(d: Path) -> None:
            for name in ("scores", "ranks", "weights", "parameters", "data", "spec"):
                write_csv(getattr(self, name), d / f"{name}.csv", float_format="%.10g")
            (d / "summary.json").write_text(
                json.dumps({"old": self.old, "new": self.new, **self.summary()}, indent=1), encoding="utf-8"
            )

        return write_folder(Path(out_dir), fill, force=force)


def diff_builds(old_dir: str | Path | BuildFolder, new_dir: str | Path | BuildFolder, *, tol: float = 1e-9) -> BuildDiff:
    """Compare two build folders (either layout, or one of each); numbers closer than ``tol`` count as equal.

    Ranks are compared for the nodes both folders rank (every node in the CSV layout, the
    aggregates in the Parquet layout of a large build).
    """
    old = old_dir if isinstance(old_dir, BuildFolder) else load_build(old_dir)
    new = new_dir if isinstance(new_dir, BuildFolder) else load_build(new_dir)
    scores = _compare_wide(old.scores, new.scores, "node", "score", tol)
    ranked = [c for c in old.ranked_nodes if c in set(new.ranked_nodes)]
    ranks = _compare_wide(old.wide("ranks", ranked), new.wide("ranks", ranked), "node", "rank", 0)
    wo, wn = old.weights, new.weights
    weights = _compare(wo, wn, _weight_key(wo, wn), "effective_weight", tol)
    params = []
    fo, fn = old.fitted, new.fitted
    if fo.empty or fn.empty:  # one build fitted nothing: compare against an empty table
        fo = fo if not fo.empty else pd.DataFrame(columns=fn.columns if not fn.empty else KEY["fitted"])
        fn = fn if not fn.empty else pd.DataFrame(columns=fo.columns)
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
    data = _compare_wide(old.table("raw"), new.table("raw"), "indicator", "value", tol)
    yo, yn = _flatten(old.spec.to_dict()), _flatten(new.spec.to_dict())
    spec_rows = [{"path": k, "old": yo.get(k), "new": yn.get(k)} for k in sorted(set(yo) | set(yn)) if yo.get(k) != yn.get(k)]
    spec = pd.DataFrame(spec_rows, columns=["path", "old", "new"])
    return BuildDiff(str(old.path), str(new.path), scores, ranks, weights, parameters, data, spec)
