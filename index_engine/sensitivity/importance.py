"""Importance against weight: each node's effective weight next to η² and r² with the index
(Paruolo, Saisana & Saltelli 2013)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..outputs import write_csv
from ..stats import correlation_ratios
from .result import SensitivityResult

@dataclass(frozen=True, eq=False)
class Importance:
    """``table``: ``node, parent, effective_weight, r2, eta2, flag`` (``importance.csv``)."""

    table: pd.DataFrame
    has_years: bool = True

    def write(self, out_dir: str | Path) -> Path:
        """Write ``importance.csv`` into ``out_dir`` (created if needed)."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        write_csv(self.table, out_dir / "importance.csv", self.has_years)
        return out_dir / "importance.csv"


ABOVE, BELOW, WEIGHT_0, TOO_FEW = "importance above weight", "importance below weight", "weight 0", "too few values"
FLAGS = (ABOVE, BELOW, WEIGHT_0, TOO_FEW)
"""The values of the importance table's ``flag`` column besides empty (each has its words in the report)."""


def importance(b, *, threshold: float = 0.5) -> Importance:
    """Each indicator's and dimension's effective weight next to its importance for the index.

    Parameters
    ----------
    b : Build
    threshold : float, default=0.5
        Flag a node when its share of importance among its siblings differs from its share of
        weight by more than ``threshold`` times the weight share (docs/methodology.md §B6; this
        project's choice, not a JRC rule).

    Returns
    -------
    Importance
        ``table``: ``node, parent, effective_weight, r2, eta2, flag`` for every node below the
        index. ``r2`` is the squared Pearson correlation of the node's scores with the index,
        ``eta2`` the correlation ratio (:func:`correlation_ratio`); both over every unit and year
        together. ``flag``: ``importance above weight``, ``importance below weight``, ``weight 0``,
        ``too few values`` (fewer than 2 distinct values) or empty.

    Notes
    -----
    Rows where the node or the index is missing are left out. Relative importance is
    η²/Σ η² over the siblings, relative weight w/Σ w over the siblings.

    References
    ----------
    Paruolo P., Saisana M., Saltelli A. (2013), JRSS-A 176(3):609–634, doi:10.1111/j.1467-985X.2012.01059.x.
    Becker W. et al. (2017), Ecol. Indic. 80:12–22, doi:10.1016/j.ecolind.2017.03.056.
    """
    spec = b.spec
    root = spec.tree.code
    y = b.scores[root].to_numpy(float)
    eff = b.effective_weights()  # the tree's weights (segments have their own rows in b.weights)
    codes = [code for code in spec.nodes if code != root]
    xs = b.scores[codes].to_numpy(float)
    eta2 = correlation_ratios(xs, y)  # the splines of all nodes fitted together
    rows = []
    for j, code in enumerate(codes):
        x = xs[:, j]
        ok = ~(np.isnan(x) | np.isnan(y))
        if ok.sum() > 2 and np.std(x[ok]) > 0 and np.std(y[ok]) > 0:
            r2 = float(np.corrcoef(x[ok], y[ok])[0, 1] ** 2)
        else:
            r2 = float("nan")
        rows.append(
            {
                "node": code,
                "parent": spec.parents[code],
                "effective_weight": float(eff.get(code, np.nan)),
                "r2": r2,
                "eta2": float(eta2[j]),
            }
        )
    df = pd.DataFrame(rows, columns=["node", "parent", "effective_weight", "r2", "eta2"])
    # siblings that count: weight > 0 and η² known (plain lists: a few dozen rows, looked up per row)
    counted: dict[str, list[tuple[float, float]]] = {}
    for parent, w, e in zip(df["parent"], df["effective_weight"], df["eta2"]):
        if w > 0 and not np.isnan(e):
            counted.setdefault(parent, []).append((w, e))
    flags = []
    for parent, w, e in zip(df["parent"], df["effective_weight"], df["eta2"]):
        if np.isnan(e):
            flags.append(TOO_FEW)
            continue
        if w == 0:
            flags.append(WEIGHT_0)
            continue
        sib = counted.get(parent, [])
        rel_w = w / sum(sw for sw, _ in sib) if sib else np.nan
        tot = sum(se for _, se in sib)
        rel_s = e / tot if tot > 0 else np.nan
        if np.isnan(rel_s) or abs(rel_s - rel_w) <= threshold * rel_w:
            flags.append("")
        else:
            flags.append(ABOVE if rel_s > rel_w else BELOW)
    df["flag"] = flags
    return Importance(df, has_years=b.panel.has_years)


def with_importance(result: SensitivityResult | Callable[[], SensitivityResult], b) -> SensitivityResult:
    """``result`` with the importance table of the nominal build ``b`` (written as importance.csv); ``result``
    may be a function returning it (a result still being made elsewhere), called once the table is made."""
    table = importance(b).table
    return replace(result() if callable(result) else result, importance=table)
