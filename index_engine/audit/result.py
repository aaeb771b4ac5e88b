"""The audit's result: :class:`Audit`, its tables, summary, ``audit.json`` and files."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

from .._checks import list_rows
from .._json import jsonable
from ..errors import OutputExistsError
from ..outputs import blank_year, write_csv
from .thresholds import Thresholds

FILES = (
    "indicator_stats.csv",
    "unit_coverage.csv",
    "correlations.csv",
    "correlation_flags.csv",
    "cronbach.csv",
    "pca.csv",
    "pca_components.csv",
    "pca_loadings.csv",
    "importance.csv",
    "verdicts.csv",
    "flags.csv",
    "audit.json",
)
"""Every file :meth:`Audit.write` writes."""


@dataclass(frozen=True, eq=False)
class Audit:
    """The statistical audit of one build: labelled tables, flags and verdicts.

    Attributes
    ----------
    indicator_stats : DataFrame
        ``year, data, indicator, dimension, n_units, n_available, availability, n_zero,
        zero_share, n_unique, unique_share, min, max, mean, median, sd, skew, kurtosis,
        flag_availability, flag_zeros, flag_unique, flag_outlier``; ``data`` is ``raw`` or
        ``normalized`` (one row per indicator and data).
    unit_coverage : DataFrame
        ``year, unit, unit_name, n_indicators, n_available, n_zero, availability,
        avail_<dimension>…, min_dimension_availability, meets_coverage, short_dimensions``
        (raw data).
    correlations : DataFrame
        ``year, data, relation, x, y, group, n, pearson, pearson_p, spearman, spearman_p``.
        ``relation`` is ``same_dimension`` (indicator pairs within a dimension, ``group``), ``parent``
        (a node with its parent), ``dimension`` (an indicator with every dimension; ``group`` is
        its own), ``index`` (a node with the index) or ``denominator`` (an indicator with a
        denominator column, on ``raw`` and ``denominated`` data). A pair may appear under two
        relations (an indicator and its dimension is also ``parent``).
    correlation_flags : DataFrame
        The rows of ``flags`` whose check is one of :data:`CORRELATION_CHECKS`.
    cronbach : DataFrame
        ``year, node, level, n_indicators, n_units, alpha``: every aggregate node, on all
        indicators beneath it; the index row covers all indicators.
    pca : DataFrame
        ``year, node, level, n_indicators, n_units, n_eigen_gt1, pc1_share, pc1_dominates,
        loadings_same_sign, kmo, bartlett_chi2, bartlett_df, bartlett_p``.
    pca_components, pca_loadings : DataFrame
        ``year, node, component, eigenvalue, explained, cumulative`` and
        ``year, node, indicator, pc1_loading, msa``.
    importance : DataFrame
        ``year, node, parent, level, effective_weight, r2, rel_weight, rel_r2, flag_gap``.
    verdicts : DataFrame
        ``year, node, name, verdict, alpha, n_eigen_gt1, pc1_share, pc1_dominates, n_negative,
        reason, rule``: one row per dimension.
    flags : DataFrame
        ``year, check, data, node, other, group, value, threshold, message``: every flag.
    thresholds : Thresholds
    index, has_years
        The index code and whether the build has years.
    """

    indicator_stats: pd.DataFrame
    unit_coverage: pd.DataFrame
    correlations: pd.DataFrame
    correlation_flags: pd.DataFrame
    cronbach: pd.DataFrame
    pca: pd.DataFrame
    pca_components: pd.DataFrame
    pca_loadings: pd.DataFrame
    importance: pd.DataFrame
    verdicts: pd.DataFrame
    flags: pd.DataFrame
    thresholds: Thresholds
    index: str
    has_years: bool

    _TABLES = (
        "indicator_stats", "unit_coverage", "correlations", "correlation_flags", "cronbach", "pca",
        "pca_components", "pca_loadings", "importance", "verdicts", "flags",
    )  # fmt: skip

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every table by file stem, with the year blanked for a one-period build."""
        return {name: self._shown(getattr(self, name)) for name in self._TABLES}

    def sheets(self) -> dict[str, pd.DataFrame]:
        """``{sheet name: DataFrame}`` for the build's workbook; names are ``audit_<table>``."""
        return {f"audit_{name}"[:31]: df for name, df in self.frames().items()}

    def _shown(self, df: pd.DataFrame) -> pd.DataFrame:
        return blank_year(df, self.has_years)

    def summary(self) -> dict[str, Any]:
        """Headline numbers: flags by check, verdicts by kind, alpha of every aggregate (by year for a panel)."""
        by_check = self.flags["check"].value_counts().to_dict() if len(self.flags) else {}
        verdicts = self.verdicts["verdict"].value_counts().to_dict() if len(self.verdicts) else {}
        alpha: dict[str, Any] = {}
        for row in self.cronbach.itertuples(index=False):
            if self.has_years:
                alpha.setdefault(str(row.node), {})[str(row.year)] = jsonable(row.alpha)
            else:
                alpha[str(row.node)] = jsonable(row.alpha)
        return {
            "n_flags": int(len(self.flags)),
            "flags_by_check": {str(k): int(v) for k, v in by_check.items()},
            "verdicts": {str(k): int(v) for k, v in verdicts.items()},
            "alpha": alpha,
        }

    def to_dict(self) -> dict[str, Any]:
        """The content of ``audit.json``: thresholds, rules, summary, every flag and verdict."""
        th = {f.name: getattr(self.thresholds, f.name) for f in fields(self.thresholds)}
        return {
            "index": self.index,
            "thresholds": th,
            "rules": {
                "verdict": self.thresholds.verdict_rule,
                "outlier": f"|skew| >= {th['outlier_skew']:g} and kurtosis >= {th['outlier_kurtosis']:g} "
                "(Excel SKEW, KURT)",
                "unit_coverage": f"a unit has data for >= {th['unit_coverage']:.0%} of the indicators of every "
                "dimension",
                "cronbach": "all indicators beneath the node, normalised data, complete cases",
            },
            "summary": self.summary(),
            "flags": _records(self.flags, self.has_years),
            "verdicts": _records(self.verdicts, self.has_years),
        }

    def write(self, out_dir: str | Path, *, force: bool = False) -> Path:
        """Write every table as CSV and ``audit.json`` into ``out_dir`` (created if missing).

        Files an earlier audit left there are refused with :class:`OutputExistsError` unless
        ``force``. Returns ``out_dir``. The files are listed in :data:`FILES`.
        """
        d = Path(out_dir)
        present = [f for f in FILES if (d / f).exists()]
        if present and not force:
            raise OutputExistsError(f"{d}: audit files exist already ({list_rows(present)}); pass force=True to replace them")
        d.mkdir(parents=True, exist_ok=True)
        for name, df in self.frames().items():
            write_csv(df, d / f"{name}.csv")
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=1, allow_nan=False)
        (d / "audit.json").write_text(text + "\n", encoding="utf-8")
        return d


def _records(df: pd.DataFrame, has_years: bool) -> list[dict[str, Any]]:
    out = []
    for row in df.to_dict(orient="records"):
        rec = {str(k): jsonable(v) for k, v in row.items()}
        if "year" in rec and not has_years:
            rec["year"] = None
        out.append(rec)
    return out
