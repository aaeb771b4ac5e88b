"""Importance against weight: each node's effective weight next to η² and r² with the index
(Paruolo, Saisana & Saltelli 2013)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..outputs import write_csv
from ..stats import correlation_ratios, importance_shares, squared_correlation
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
    η²/Σ η² over the siblings, relative weight w/Σ w over the siblings, the sums over the siblings
    that count (weight > 0, η² known): :func:`index_engine.stats.importance_shares`, the rule the audit
    applies to r² (:func:`index_engine.stats.squared_correlation`, computed here too).

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
    rows = [
        {"node": code, "parent": spec.parents[code], "effective_weight": float(eff.get(code, np.nan)),
         "r2": squared_correlation(xs[:, j], y), "eta2": float(eta2[j])}
        for j, code in enumerate(codes)
    ]
    df = pd.DataFrame(rows, columns=["node", "parent", "effective_weight", "r2", "eta2"])
    # η² share against weight share among the siblings that count (the audit's rule for r²)
    shares = importance_shares(df["eta2"], df["effective_weight"], df["parent"], threshold=threshold)
    flag = np.where(shares["gap"], np.where(shares["rel_importance"] > shares["rel_weight"], ABOVE, BELOW), "")
    flag = np.where(df["effective_weight"] == 0, WEIGHT_0, flag)
    df["flag"] = np.where(df["eta2"].isna(), TOO_FEW, flag).astype(object)
    return Importance(df, has_years=b.panel.has_years)


def with_importance(result: SensitivityResult | Callable[[], SensitivityResult], b) -> SensitivityResult:
    """``result`` with the importance table of the nominal build ``b`` (written as importance.csv); ``result``
    may be a function returning it (a result still being made elsewhere), called once the table is made."""
    table = importance(b).table
    return replace(result() if callable(result) else result, importance=table)
