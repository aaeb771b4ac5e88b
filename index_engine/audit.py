"""Statistical audit of a build: coverage, indicator statistics, correlations, Cronbach's alpha, PCA.

``audit(build)`` returns an :class:`Audit`, a frozen record of labelled tables that a report can
render directly, and writes them with :meth:`Audit.write`. It follows the JRC-COIN audit practice
(OECD/JRC *Handbook on Constructing Composite Indicators*, 2008, step 4; Saisana et al., GII
audits) with the conventions of COINr 1.1.14 (``get_stats``, ``get_data_avail``, ``get_corr``,
``get_corr_flags``, ``get_cronbach``, ``get_denom_corr``, ``get_eff_weights``; see
METHODOLOGY.md §B1, §B4, §B6, §H).

Which data each table is computed on:

=====================  ======================================================================
table                  data
=====================  ======================================================================
indicator_stats        ``raw`` (as read) and ``normalized`` (after every indicator step);
                       the ``data`` column says which
unit_coverage          ``raw``
correlations           ``scores`` (normalised indicators and aggregates) for the framework
                       relations; ``raw`` and ``denominated`` for the denominators
cronbach, pca          ``normalized``, complete cases of the group's indicators
importance             ``scores`` (r² with the index) and ``build.weights``
=====================  ======================================================================

Every table has a ``year`` column: a panel is audited year by year (a one-period build has
the single year ``0``, written as an empty cell).

Where this module departs from COINr on purpose (each is documented where it happens):

* Cronbach's alpha uses complete cases (COINr: pairwise-complete covariances), so that the
  covariance matrix is a proper one and alpha matches the textbook formula.
* The zero-share and unique-share flags divide by the available values (COINr's flags divide
  by all rows, so missing values also count against them).
* The outlier flag is the failure of the treat step's pass test (METHODOLOGY §H.5):
  ``|skew| >= 2 and kurtosis >= 3.5``; COINr's ``get_stats`` uses strict ``>``. They differ
  only at the exact thresholds.
* Spearman p-values are scipy's t approximation; R's ``cor.test`` uses an exact test for small
  samples without ties. Pearson p-values agree with R.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from ._checks import NO_YEAR, kurt_excel, list_rows, skew_excel
from .errors import OutputExistsError, SmallSampleWarning, SpecError

MIN_UNITS = 10
"""Below this many units in a year the audit warns that its statistics are unstable (§F3)."""

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

FLAG_COLUMNS = ["year", "check", "data", "node", "other", "group", "value", "threshold", "message"]
CORRELATION_CHECKS = (
    "collinear",
    "negative_with_parent",
    "insignificant_with_parent",
    "stronger_with_other_dimension",
    "denominator_correlation",
)
CORRELATION_COLUMNS = [
    "year", "data", "relation", "x", "y", "group", "n",
    "pearson", "pearson_p", "spearman", "spearman_p",
]  # fmt: skip


# ---- thresholds ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """The audit's thresholds; each states the comparison that raises its flag.

    Attributes
    ----------
    low_availability : float, default=0.65
        Flag an indicator whose share of available values is ``<`` this (COINr ``t_avail``).
    high_zero_share : float, default=0.5
        Flag an indicator whose share of zeros among available values is ``>=`` this
        (COINr ``t_zero`` flags a non-zero share below 0.5).
    low_unique_share : float, default=0.5
        Flag an indicator whose share of distinct values among available values is ``<`` this
        (COINr ``t_unq``).
    outlier_skew, outlier_kurtosis : float, default=2.0, 3.5
        Flag an indicator with ``|skew| >= outlier_skew`` **and** ``kurtosis >= outlier_kurtosis``
        (Excel SKEW and KURT; the JRC rule, METHODOLOGY §B2, §H.5).
    unit_coverage : float, default=0.66
        A unit meets the coverage rule if, in every dimension, the share of its indicators with
        data is ``>=`` this (GII: about 66% in each group; METHODOLOGY §B1).
    collinear : float, default=0.9
        Flag a pair of indicators in one dimension whose Pearson r is ``>`` this
        (COINr ``get_corr_flags(cor_thresh = 0.9)``).
    significance : float, default=0.05
        Flag a correlation with the parent whose Pearson p-value is ``>=`` this.
    denominator_corr : float, default=0.6
        Flag an indicator whose |Pearson r| with a denominator is ``>`` this, on the denominated
        data (COINr ``get_denom_corr(cor_thresh = 0.6)``).
    alpha_coherent, alpha_incoherent : float, default=0.7, 0.6
        Cronbach's alpha at or above which a dimension can be coherent, and below which it is
        incoherent (rules of thumb, METHODOLOGY §B4).
    pc1_share : float, default=0.5
        PC1 dominates if exactly one eigenvalue is ``> 1`` and PC1 explains ``>=`` this share.
    importance_gap : float, default=0.5
        Flag a node whose relative importance (r² over the sum of r² at its level) differs from
        its relative effective weight by more than this fraction of the weight (METHODOLOGY §B6;
        this project's choice, not a JRC rule).
    dimension_level : int, default=2
        The level whose aggregates are the dimensions (1 = indicator). An indicator's dimension
        is its lowest ancestor at this level or above.
    """

    low_availability: float = 0.65
    high_zero_share: float = 0.5
    low_unique_share: float = 0.5
    outlier_skew: float = 2.0
    outlier_kurtosis: float = 3.5
    unit_coverage: float = 0.66
    collinear: float = 0.9
    significance: float = 0.05
    denominator_corr: float = 0.6
    alpha_coherent: float = 0.7
    alpha_incoherent: float = 0.6
    pc1_share: float = 0.5
    importance_gap: float = 0.5
    dimension_level: int = 2

    def __post_init__(self) -> None:
        unit = ("low_availability", "high_zero_share", "low_unique_share", "unit_coverage", "significance",
                "denominator_corr", "pc1_share")  # fmt: skip
        for name in unit:
            _check_number(name, getattr(self, name), 0.0, 1.0, "a number between 0 and 1")
        _check_number("collinear", self.collinear, -1.0, 1.0, "a number between -1 and 1")
        for name in ("outlier_skew", "outlier_kurtosis", "importance_gap"):
            _check_number(name, getattr(self, name), 0.0, math.inf, "a non-negative number")
        for name in ("alpha_coherent", "alpha_incoherent"):
            _check_number(name, getattr(self, name), -math.inf, 1.0, "a number at most 1")
        if self.alpha_incoherent > self.alpha_coherent:
            raise SpecError(
                "The 'alpha_incoherent' parameter of audit must be a number at most 'alpha_coherent' "
                f"({self.alpha_coherent:g}). Got {self.alpha_incoherent!r} instead."
            )
        lv = self.dimension_level
        if isinstance(lv, bool) or not isinstance(lv, (int, np.integer)) or lv < 2:
            raise SpecError(f"The 'dimension_level' parameter of audit must be an integer of at least 2. Got {lv!r} instead.")

    @property
    def verdict_rule(self) -> str:
        return (
            f"coherent: alpha >= {self.alpha_coherent:g}, PC1 dominates (exactly one eigenvalue > 1 and "
            f"PC1 >= {self.pc1_share:.0%} of the variance) and no indicator correlates negatively with the "
            f"dimension; incoherent: alpha < {self.alpha_incoherent:g} or an indicator correlates negatively "
            "with the dimension; check: otherwise (or when alpha or the PCA cannot be computed)"
        )


def _check_number(name: str, v: Any, lo: float, hi: float, what: str) -> None:
    ok = not isinstance(v, bool) and isinstance(v, (int, float, np.integer, np.floating)) and lo <= v <= hi
    if not ok or math.isnan(float(v)):
        raise SpecError(f"The '{name}' parameter of audit must be {what}. Got {v!r} instead.")


# ---- statistics ---------------------------------------------------------------------------


def cronbach_alpha(data: pd.DataFrame | np.ndarray, *, use: str = "complete") -> float:
    """Cronbach's alpha of the columns of ``data``.

    Parameters
    ----------
    data : DataFrame or 2-D array, rows = units, columns = k items (indicators)
    use : {"complete", "pairwise"}, default="complete"
        ``complete`` drops every row with a missing value (the audit's choice: the covariance
        matrix is then a proper one and alpha equals the textbook formula on one sample);
        ``pairwise`` takes each covariance over the rows where both columns are present, as
        COINr's ``get_cronbach(use = "pairwise.complete.obs")``.

    Returns
    -------
    float
        ``k/(k-1) · (1 − Σ σ²_i / σ²_total)``, σ² the sample variances (n − 1) and σ²_total the
        variance of the row sums, i.e. the sum of the covariance matrix. This equals COINr's
        ``k²·σ̄_off / Σ σ_ij``. NaN if k < 2, fewer than 2 rows, or no total variance.

    Notes
    -----
    The two ``use`` options agree when no value is missing.

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
    *Psychometrika* 16, 297–334. doi:10.1007/BF02310555

    Examples
    --------
    >>> round(cronbach_alpha(np.array([[1, 2], [2, 3], [3, 5]])), 4)
    0.9474
    """
    x = np.asarray(data, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"cronbach_alpha needs a 2-D table (rows = units, columns = indicators), got {x.ndim} dimension(s)")
    if use not in ("complete", "pairwise"):
        raise ValueError(f"The 'use' parameter of cronbach_alpha must be 'complete' or 'pairwise'. Got {use!r} instead.")
    if use == "complete":
        x = x[~np.isnan(x).any(axis=1)]
    n, k = x.shape
    if k < 2 or n < 2:
        return math.nan
    if use == "complete":
        cov = np.cov(x, rowvar=False, ddof=1)
    else:
        cov = pd.DataFrame(x).cov().to_numpy()
    total = float(np.nansum(cov))
    if not total > 0:
        return math.nan
    return k / (k - 1) * (1.0 - float(np.nansum(np.diag(cov))) / total)


def kmo(corr: np.ndarray) -> tuple[float, np.ndarray]:
    """Kaiser–Meyer–Olkin measure of sampling adequacy of a correlation matrix.

    Parameters
    ----------
    corr : (k, k) array, a correlation matrix

    Returns
    -------
    overall : float
        ``Σ_{i≠j} r²_ij / (Σ_{i≠j} r²_ij + Σ_{i≠j} q²_ij)``, with ``q_ij = −P_ij/√(P_ii P_jj)``
        the partial correlations and ``P = R⁻¹``.
    per_item : (k,) array
        The same ratio over row i only (MSA_i).

    Notes
    -----
    NaN when R is singular (fewer units than indicators, or collinear indicators) or k < 2.
    Kaiser's labels: >= 0.9 marvelous, 0.8 meritorious, 0.7 middling, 0.6 mediocre, 0.5
    miserable, below unacceptable; METHODOLOGY §E2 asks for >= 0.6.

    References
    ----------
    Kaiser, H. F. (1974). An index of factorial simplicity. *Psychometrika* 39, 31–36.
    doi:10.1007/BF02291575

    Examples
    --------
    >>> r = np.array([[1, .5, .4], [.5, 1, .3], [.4, .3, 1]])
    >>> round(kmo(r)[0], 4)
    0.6279
    """
    r = np.asarray(corr, dtype=float)
    k = r.shape[0]
    nan = (math.nan, np.full(k, math.nan))
    if k < 2 or not np.isfinite(r).all() or np.linalg.matrix_rank(r) < k:
        return nan
    p = np.linalg.inv(r)
    d = np.sqrt(np.diag(p))
    q = -p / np.outer(d, d)
    off = ~np.eye(k, dtype=bool)
    r2 = np.where(off, r**2, 0.0)
    q2 = np.where(off, q**2, 0.0)
    overall = r2.sum() / (r2.sum() + q2.sum())
    per = r2.sum(axis=1) / (r2.sum(axis=1) + q2.sum(axis=1))
    return float(overall), per


def bartlett_sphericity(corr: np.ndarray, n: int) -> tuple[float, int, float]:
    """Bartlett's test that a correlation matrix is the identity (sphericity).

    Parameters
    ----------
    corr : (p, p) array, a correlation matrix
    n : int, the number of units it was computed from

    Returns
    -------
    chi2, df, p_value : float, int, float
        ``χ² = −(n − 1 − (2p + 5)/6) · ln|R|`` on ``p(p − 1)/2`` degrees of freedom; the
        p-value from the χ² distribution (scipy). A small p-value (< 0.05) means the indicators
        are correlated enough for PCA or factor analysis.

    Notes
    -----
    NaN when |R| <= 0 (singular R), p < 2 or ``n − 1 − (2p + 5)/6 <= 0``.

    References
    ----------
    Bartlett, M. S. (1950). Tests of significance in factor analysis. *British Journal of
    Psychology, Statistical Section* 3, 77–85. doi:10.1111/j.2044-8317.1950.tb00285.x

    Examples
    --------
    >>> chi2, df, p = bartlett_sphericity(np.array([[1, .5], [.5, 1]]), 30)
    >>> round(chi2, 3), df
    (7.911, 1)
    """
    r = np.asarray(corr, dtype=float)
    p = r.shape[0]
    df = p * (p - 1) // 2
    factor = n - 1 - (2 * p + 5) / 6
    if p < 2 or factor <= 0 or not np.isfinite(r).all():
        return math.nan, df, math.nan
    sign, logdet = np.linalg.slogdet(r)
    if sign <= 0 or not np.isfinite(logdet):
        return math.nan, df, math.nan
    chi2 = -factor * logdet
    return float(chi2), df, float(stats.chi2.sf(chi2, df))


def correlate(x: np.ndarray, y: np.ndarray) -> tuple[int, float, float, float, float]:
    """Pearson and Spearman correlations of two vectors, pairwise-complete, with p-values.

    Parameters
    ----------
    x, y : 1-D arrays of equal length; NaN marks a missing value

    Returns
    -------
    n, pearson, pearson_p, spearman, spearman_p
        ``n`` is the number of pairs with both values present. Correlations are NaN if n < 3 or
        either vector is constant over those pairs.

    Notes
    -----
    Pairwise-complete observations, as COINr's ``stats::cor(use = "pairwise.complete.obs")``.
    Spearman's rho is Pearson's r of the average ranks. Both p-values are two-sided from the
    t statistic ``r·√((n − 2)/(1 − r²))`` on n − 2 degrees of freedom, which is what
    ``scipy.stats.pearsonr`` (and R's ``cor.test``) and ``scipy.stats.spearmanr`` compute; R's
    ``cor.test(method = "spearman")`` uses an exact test for small n without ties instead.

    References
    ----------
    Pearson, K. (1896). *Phil. Trans. R. Soc. A* 187, 253–318. doi:10.1098/rsta.1896.0007.
    Spearman, C. (1904). *Am. J. Psychol.* 15(1), 72–101. doi:10.2307/1412159

    Examples
    --------
    >>> n, r, p, rho, prho = correlate(np.array([1., 2, 3, 4]), np.array([1., 3, 2, np.nan]))
    >>> n, round(r, 3), round(p, 3)
    (3, 0.5, 0.667)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    m = ~(np.isnan(x) | np.isnan(y))
    n = int(m.sum())
    r, rho = _pearson(x[m], y[m]), math.nan
    if not math.isnan(r):
        rho = _pearson(_avg_rank(x[m]), _avg_rank(y[m]))
    return n, r, _p_value(r, n), rho, _p_value(rho, n)


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if x.size < 3:
        return math.nan
    dx, dy = x - x.mean(), y - y.mean()
    sxx, syy = float(dx @ dx), float(dy @ dy)
    if sxx == 0 or syy == 0 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return max(-1.0, min(1.0, float(dx @ dy) / math.sqrt(sxx * syy)))


def _avg_rank(a: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties given their average rank (as ``scipy.stats.rankdata``)."""
    order = np.argsort(a, kind="mergesort")
    inv = np.empty(a.size, dtype=np.intp)
    inv[order] = np.arange(a.size)
    s = a[order]
    first = np.concatenate(([True], s[1:] != s[:-1]))
    dense = np.cumsum(first)[inv]
    bounds = np.concatenate((np.flatnonzero(first), [a.size]))
    return 0.5 * (bounds[dense] + bounds[dense - 1] + 1)


def _p_value(r: float, n: int) -> float:
    if math.isnan(r) or n < 3:
        return math.nan
    if abs(r) >= 1.0:
        return 0.0
    t = abs(r) * math.sqrt((n - 2) / (1.0 - r * r))
    return float(2.0 * special.stdtr(n - 2, -t))


def pca_eigen(corr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending) and PC1 loadings of a correlation matrix.

    The loadings are the first eigenvector times √λ₁, i.e. each indicator's correlation with
    the first principal component, oriented so that they sum to a non-negative number.
    """
    r = np.asarray(corr, dtype=float)
    vals, vecs = np.linalg.eigh(r)
    order = np.argsort(vals)[::-1]
    vals, vecs = vals[order], vecs[:, order]
    v1 = vecs[:, 0]
    if v1.sum() < 0:
        v1 = -v1
    return vals, v1 * math.sqrt(max(vals[0], 0.0))


# ---- the audit ----------------------------------------------------------------------------


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
        if self.has_years or "year" not in df.columns:
            return df
        out = df.copy()
        out["year"] = out["year"].map(lambda y: "" if y == NO_YEAR else y).astype(object)
        return out

    def summary(self) -> dict[str, Any]:
        """Headline numbers: flags by check, verdicts by kind, alpha of every aggregate (by year for a panel)."""
        by_check = self.flags["check"].value_counts().to_dict() if len(self.flags) else {}
        verdicts = self.verdicts["verdict"].value_counts().to_dict() if len(self.verdicts) else {}
        alpha: dict[str, Any] = {}
        for row in self.cronbach.itertuples(index=False):
            if self.has_years:
                alpha.setdefault(str(row.node), {})[str(row.year)] = _json_value(row.alpha)
            else:
                alpha[str(row.node)] = _json_value(row.alpha)
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
        from .outputs import write_csv

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


def _json_value(v: Any) -> Any:
    if v is None or v is pd.NA:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if math.isnan(v) or math.isinf(v) else float(v)
    return v


def _records(df: pd.DataFrame, has_years: bool) -> list[dict[str, Any]]:
    out = []
    for row in df.to_dict(orient="records"):
        rec = {str(k): _json_value(v) for k, v in row.items()}
        if "year" in rec and not has_years:
            rec["year"] = None
        out.append(rec)
    return out


def audit(
    build: Any,
    *,
    low_availability: float = 0.65,
    high_zero_share: float = 0.5,
    low_unique_share: float = 0.5,
    outlier_skew: float = 2.0,
    outlier_kurtosis: float = 3.5,
    unit_coverage: float = 0.66,
    collinear: float = 0.9,
    significance: float = 0.05,
    denominator_corr: float = 0.6,
    alpha_coherent: float = 0.7,
    alpha_incoherent: float = 0.6,
    pc1_share: float = 0.5,
    importance_gap: float = 0.5,
    dimension_level: int = 2,
) -> Audit:
    """Audit a build: coverage, indicator statistics, correlations, Cronbach's alpha, PCA, weights.

    Parameters
    ----------
    build : Build
        A finished build (``index_engine.build``).
    low_availability, high_zero_share, low_unique_share, outlier_skew, outlier_kurtosis,
    unit_coverage, collinear, significance, denominator_corr, alpha_coherent, alpha_incoherent,
    pc1_share, importance_gap, dimension_level
        Thresholds; see :class:`Thresholds` for each default and the comparison it makes. A bad
        value raises :class:`~index_engine.errors.SpecError`.

    Returns
    -------
    Audit

    Notes
    -----
    Panels are audited year by year. Correlations use pairwise-complete observations;
    Cronbach's alpha, PCA, KMO and Bartlett use complete cases of the group's indicators on the
    normalised data. A statistic that cannot be computed (too few values, constant data, a
    singular correlation matrix) is NaN and raises no flag. A year with fewer than
    :data:`MIN_UNITS` units gets a :class:`~index_engine.errors.SmallSampleWarning`.

    Dimension verdicts: see :attr:`Thresholds.verdict_rule`; the rule is also written in the
    ``rule`` column of ``verdicts`` and in ``audit.json``.

    References
    ----------
    OECD/JRC (2008). *Handbook on Constructing Composite Indicators: Methodology and User Guide*,
    step 4 (multivariate analysis). ISBN 978-92-64-04345-9.
    Becker, W. et al. COINr 1.1.14 (R package, JRC-COIN), ``R/stats.R``, ``R/correlations.R``,
    ``R/weights.R``.
    Cronbach (1951) doi:10.1007/BF02310555; Kaiser (1974) doi:10.1007/BF02291575;
    Bartlett (1950) doi:10.1111/j.2044-8317.1950.tb00285.x.
    Paruolo, M., Saisana, M. and Saltelli, A. (2013). Ratings and rankings: voodoo or science?
    *JRSS A* 176(3), 609–634. doi:10.1111/j.1467-985X.2012.01059.x (importance vs weights).

    Examples
    --------
    >>> import index_engine as ie
    >>> spec = ie.load_spec("weights/examples/asem.yaml")
    >>> b = ie.build(spec, ie.load_panel("inputs/examples/asem/ASEM_iData.csv", spec))
    >>> a = audit(b)
    >>> a.cronbach.set_index("node").loc[["Conn", "Sust", "Index"], "alpha"].round(3).tolist()
    [0.881, 0.679, 0.899]
    >>> a.verdicts.set_index("node").loc[["Social", "Physical", "Instit"], "verdict"].tolist()
    ['coherent', 'check', 'incoherent']
    """
    th = Thresholds(
        low_availability=low_availability,
        high_zero_share=high_zero_share,
        low_unique_share=low_unique_share,
        outlier_skew=outlier_skew,
        outlier_kurtosis=outlier_kurtosis,
        unit_coverage=unit_coverage,
        collinear=collinear,
        significance=significance,
        denominator_corr=denominator_corr,
        alpha_coherent=alpha_coherent,
        alpha_incoherent=alpha_incoherent,
        pc1_share=pc1_share,
        importance_gap=importance_gap,
        dimension_level=dimension_level,
    )
    return _Auditor(build, th).run()


class _Auditor:
    """Computes the tables of one audit; holds the tree lookups they share."""

    def __init__(self, b: Any, th: Thresholds) -> None:
        self.b = b
        self.th = th
        spec = b.spec
        self.spec = spec
        self.ind = list(spec.indicators)
        self.index = spec.tree.code
        top = spec.levels[self.index]
        if th.dimension_level > top:
            raise SpecError(
                f"The 'dimension_level' parameter of audit must be an integer between 2 and {top} "
                f"(the index's level in {spec.source}). Got {th.dimension_level!r} instead."
            )
        self.dim_of = {c: self._dimension_of(c) for c in self.ind}
        self.dims = list(dict.fromkeys(self.dim_of[c] for c in self.ind))
        self.beneath = {a: self._indicators_beneath(a) for a in spec.aggregates}
        self.flags: list[dict[str, Any]] = []

    # tree helpers
    def _dimension_of(self, code: str) -> str:
        p = self.spec.parents[code]
        while p is not None and self.spec.levels[p] < self.th.dimension_level and self.spec.parents[p] is not None:
            p = self.spec.parents[p]
        return p if p is not None else code

    def _indicators_beneath(self, code: str) -> list[str]:
        """Indicators under ``code`` that count in the index: one weighing 0 (a rank kept only for
        a target, a programme only one unit has) is not part of the dimension's scale."""
        out: list[str] = []
        eff = self.b.effective_weights()

        def walk(n: Any) -> None:
            if n.is_indicator and float(eff.get(n.code, 1.0)) > 0:
                out.append(n.code)
            for c in n.children:
                walk(c)

        walk(self.spec.nodes[code])
        return out

    def _flag(self, year: int, check: str, node: str, value: float, threshold: float, message: str,
              *, data: str = "", other: str = "", group: str = "") -> None:  # fmt: skip
        self.flags.append(
            {"year": year, "check": check, "data": data, "node": node, "other": other, "group": group,
             "value": value, "threshold": threshold, "message": message}  # fmt: skip
        )

    def _years(self, df: pd.DataFrame) -> dict[int, pd.DataFrame]:
        ys = df.index.get_level_values("year")
        return {int(y): df[ys == y] for y in self.b.panel.years}

    def _yl(self, year: int) -> str:
        return f" in {year}" if self.b.panel.has_years else ""

    # ---- run ------------------------------------------------------------------------
    def run(self) -> Audit:
        b = self.b
        raw_years = self._years(b.tables["raw"])
        small = [y for y, t in raw_years.items() if len(t) < MIN_UNITS]
        if small:
            label = ", ".join(str(y) for y in small) if b.panel.has_years else "the build"
            warnings.warn(
                f"audit: fewer than {MIN_UNITS} units ({label}): skewness, kurtosis, correlations, alpha and PCA "
                "are unstable at this size",
                SmallSampleWarning,
                stacklevel=3,
            )
        istats = self.indicator_stats()
        coverage = self.unit_coverage()
        corr = self.correlations()
        self.correlation_flags(corr)
        cron, pca, comps, loads = self.cronbach_pca()
        imp = self.importance(corr)
        verdicts = self.verdicts(cron, pca, corr)
        flags = pd.DataFrame(self.flags, columns=FLAG_COLUMNS)
        order = {c: i for i, c in enumerate(["low_availability", "many_zeros", "few_unique", "outlier",
                                              "unit_coverage", *CORRELATION_CHECKS, "importance_gap"])}  # fmt: skip
        flags = (
            flags.assign(_o=flags["check"].map(order))
            .sort_values(["year", "_o"], kind="stable")
            .drop(columns="_o")
            .reset_index(drop=True)
        )
        cflags = flags[flags["check"].isin(CORRELATION_CHECKS)].reset_index(drop=True)
        return Audit(
            indicator_stats=istats,
            unit_coverage=coverage,
            correlations=corr,
            correlation_flags=cflags,
            cronbach=cron,
            pca=pca,
            pca_components=comps,
            pca_loadings=loads,
            importance=imp,
            verdicts=verdicts,
            flags=flags,
            thresholds=self.th,
            index=self.index,
            has_years=bool(b.panel.has_years),
        )

    # ---- indicator statistics (COINr get_stats) -------------------------------------
    def indicator_stats(self) -> pd.DataFrame:
        th = self.th
        rows = []
        for data in ("raw", "normalized"):
            for year, t in self._years(self.b.tables[data]).items():
                for code in self.ind:
                    x = t[code].to_numpy(dtype=float)
                    a = x[~np.isnan(x)]
                    n, na = x.size, a.size
                    nz = int((a == 0).sum())
                    nu = int(np.unique(a).size)
                    avail = na / n if n else math.nan
                    zshare = nz / na if na else math.nan
                    ushare = nu / na if na else math.nan
                    sk, ku = skew_excel(x), kurt_excel(x)
                    f_av = bool(avail < th.low_availability)
                    f_z = bool(zshare >= th.high_zero_share)
                    f_u = bool(ushare < th.low_unique_share)
                    f_out = bool(abs(sk) >= th.outlier_skew and ku >= th.outlier_kurtosis)
                    rows.append({
                        "year": year, "data": data, "indicator": code, "dimension": self.dim_of[code],
                        "n_units": n, "n_available": na, "availability": avail, "n_zero": nz,
                        "zero_share": zshare, "n_unique": nu, "unique_share": ushare,
                        "min": a.min() if na else math.nan, "max": a.max() if na else math.nan,
                        "mean": a.mean() if na else math.nan, "median": float(np.median(a)) if na else math.nan,
                        "sd": a.std(ddof=1) if na >= 2 else math.nan, "skew": sk, "kurtosis": ku,
                        "flag_availability": f_av, "flag_zeros": f_z, "flag_unique": f_u, "flag_outlier": f_out,
                    })  # fmt: skip
                    yl = self._yl(year)
                    if f_av:
                        self._flag(year, "low_availability", code, avail, th.low_availability,
                                   f"{code}: {avail:.0%} of values available{yl} ({data} data)", data=data)  # fmt: skip
                    if f_z:
                        self._flag(year, "many_zeros", code, zshare, th.high_zero_share,
                                   f"{code}: {zshare:.0%} of available values are zero{yl} ({data} data)", data=data)  # fmt: skip
                    if f_u:
                        self._flag(year, "few_unique", code, ushare, th.low_unique_share,
                                   f"{code}: only {ushare:.0%} of available values are distinct{yl} ({data} data)",
                                   data=data)  # fmt: skip
                    if f_out:
                        self._flag(year, "outlier", code, sk, th.outlier_skew,
                                   f"{code}: skew {sk:.2f}, kurtosis {ku:.2f}{yl} ({data} data): possible outliers",
                                   data=data)  # fmt: skip
        return pd.DataFrame(rows)

    # ---- unit coverage (COINr get_data_avail) --------------------------------------
    def unit_coverage(self) -> pd.DataFrame:
        th = self.th
        names = self.b.panel.unit_names()
        rows = []
        for year, t in self._years(self.b.tables["raw"]).items():
            ok = t[self.ind].notna()
            zero = (t[self.ind] == 0).sum(axis=1)
            by_dim = {d: ok[[c for c in self.ind if self.dim_of[c] == d]].mean(axis=1) for d in self.dims}
            for i, (unit, _) in enumerate(t.index):
                dav = {d: float(by_dim[d].iloc[i]) for d in self.dims}
                short = [d for d, v in dav.items() if v < th.unit_coverage]
                row = {
                    "year": year, "unit": unit, "unit_name": names.get(unit, unit),
                    "n_indicators": len(self.ind), "n_available": int(ok.iloc[i].sum()),
                    "n_zero": int(zero.iloc[i]), "availability": float(ok.iloc[i].mean()),
                }  # fmt: skip
                row.update({f"avail_{d}": v for d, v in dav.items()})
                row["min_dimension_availability"] = min(dav.values())
                row["meets_coverage"] = not short
                row["short_dimensions"] = ";".join(short)
                rows.append(row)
                if short:
                    detail = ", ".join(f"{d} {dav[d]:.0%}" for d in short)
                    self._flag(year, "unit_coverage", unit, min(dav.values()), th.unit_coverage,
                               f"{unit}: below {th.unit_coverage:.0%} of indicators in {detail}{self._yl(year)}",
                               data="raw", group=";".join(short))  # fmt: skip
        return pd.DataFrame(rows)

    # ---- correlations (COINr get_corr, get_corr_flags, get_denom_corr) -------------
    def correlations(self) -> pd.DataFrame:
        spec = self.spec
        rows: list[dict[str, Any]] = []

        def add(year: int, data: str, relation: str, x: str, y: str, group: str, xv: np.ndarray, yv: np.ndarray) -> None:
            n, r, p, rho, prho = correlate(xv, yv)
            rows.append({"year": year, "data": data, "relation": relation, "x": x, "y": y, "group": group, "n": n,
                         "pearson": r, "pearson_p": p, "spearman": rho, "spearman_p": prho})  # fmt: skip

        nodes = [c for c in spec.nodes if c != self.index]
        for year, s in self._years(self.b.scores).items():
            col = {c: s[c].to_numpy(dtype=float) for c in s.columns}
            for d in self.dims:
                members = [c for c in self.ind if self.dim_of[c] == d]
                for i, a in enumerate(members):
                    for c in members[i + 1 :]:
                        add(year, "scores", "same_dimension", a, c, d, col[a], col[c])
            for c in nodes:
                p = spec.parents[c]
                add(year, "scores", "parent", c, p, self.dim_of.get(c, ""), col[c], col[p])
            for c in self.ind:
                for d in self.dims:
                    add(year, "scores", "dimension", c, d, self.dim_of[c], col[c], col[d])
            for c in nodes:
                add(year, "scores", "index", c, self.index, self.dim_of.get(c, ""), col[c], col[self.index])
        dens = sorted({n.denominator for n in spec.nodes.values() if n.denominator})
        dens = [d for d in dens if d in self.b.panel.values.columns]
        for data in ("raw", "denominated"):
            if not dens or data not in self.b.tables:
                continue
            table = self.b.tables[data]
            den = self.b.panel.values[dens].reindex(table.index)
            for year, t in self._years(table).items():
                dy = den.loc[t.index]
                dcol = {d: dy[d].to_numpy(dtype=float) for d in dens}
                for c in self.ind:
                    xc = t[c].to_numpy(dtype=float)
                    for d in dens:
                        add(year, data, "denominator", c, d, self.dim_of[c], xc, dcol[d])
        return pd.DataFrame(rows, columns=CORRELATION_COLUMNS)

    def correlation_flags(self, corr: pd.DataFrame) -> None:
        th = self.th
        for r in corr.itertuples(index=False):
            yl = self._yl(r.year)
            if r.relation == "same_dimension" and r.pearson > th.collinear:
                self._flag(r.year, "collinear", r.x, r.pearson, th.collinear,
                           f"{r.x} and {r.y} correlate at r = {r.pearson:.2f} within {r.group}{yl}: possible "
                           "double counting", data=r.data, other=r.y, group=r.group)  # fmt: skip
            elif r.relation == "parent":
                if r.pearson < 0:
                    self._flag(r.year, "negative_with_parent", r.x, r.pearson, 0.0,
                               f"{r.x} correlates negatively with its parent {r.y} (r = {r.pearson:.2f}){yl}",
                               data=r.data, other=r.y, group=r.group)  # fmt: skip
                elif r.pearson_p >= th.significance:
                    self._flag(r.year, "insignificant_with_parent", r.x, r.pearson_p, th.significance,
                               f"{r.x} is not significantly correlated with its parent {r.y} (r = {r.pearson:.2f}, "
                               f"p = {r.pearson_p:.3f}){yl}", data=r.data, other=r.y, group=r.group)  # fmt: skip
            elif r.relation == "denominator" and r.data == "denominated" and abs(r.pearson) > th.denominator_corr:
                own = self.spec.nodes[r.x].denominator
                how = f"divided by {own}" if own else "not denominated"
                self._flag(r.year, "denominator_correlation", r.x, r.pearson, th.denominator_corr,
                           f"{r.x} ({how}) correlates with {r.y} at r = {r.pearson:.2f}{yl}: a size effect?",
                           data=r.data, other=r.y, group=r.group)  # fmt: skip
        # an indicator that correlates more with another dimension than with its own
        dim = corr[(corr["data"] == "scores") & (corr["relation"] == "dimension")]
        by_x: dict[tuple[int, str], dict[str, float]] = {}
        for year, x, y, r in zip(dim["year"], dim["x"], dim["y"], dim["pearson"]):
            by_x.setdefault((int(year), x), {})[y] = float(r)
        for (year, x), rs in by_x.items():
            d = self.dim_of[x]
            r_own = rs.get(d, math.nan)
            others = {y: r for y, r in rs.items() if y != d and not math.isnan(r)}
            if math.isnan(r_own) or not others:
                continue
            best = max(others, key=lambda y: others[y])
            if others[best] > r_own:
                self._flag(year, "stronger_with_other_dimension", x, others[best], r_own,
                           f"{x} correlates more with {best} (r = {others[best]:.2f}) than with its own "
                           f"dimension {d} (r = {r_own:.2f}){self._yl(year)}",
                           data="scores", other=best, group=d)  # fmt: skip

    # ---- Cronbach's alpha and PCA ---------------------------------------------------
    def cronbach_pca(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        th = self.th
        cron, pca, comps, loads = [], [], [], []
        aggs = list(self.spec.aggregates)
        top_down = sorted(aggs, key=lambda c: (-self.spec.levels[c], aggs.index(c)))
        for year, t in self._years(self.b.tables["normalized"]).items():
            for node in top_down:
                codes = self.beneath[node]
                x = t[codes].dropna(how="any").to_numpy(dtype=float)
                n, k = x.shape
                lvl = self.spec.levels[node]
                cron.append({"year": year, "node": node, "level": lvl, "n_indicators": k, "n_units": n,
                             "alpha": cronbach_alpha(x)})  # fmt: skip
                row = {"year": year, "node": node, "level": lvl, "n_indicators": k, "n_units": n,
                       "n_eigen_gt1": pd.NA, "pc1_share": math.nan, "pc1_dominates": pd.NA,
                       "loadings_same_sign": pd.NA, "kmo": math.nan, "bartlett_chi2": math.nan,
                       "bartlett_df": k * (k - 1) // 2, "bartlett_p": math.nan}  # fmt: skip
                ok = k >= 2 and n >= 3 and bool((np.ptp(x, axis=0) > 0).all())
                if ok:
                    r = np.corrcoef(x, rowvar=False)
                    vals, load = pca_eigen(r)
                    share = vals / vals.sum()
                    n_gt1 = int((vals > 1).sum())
                    overall, msa = kmo(r)
                    chi2, df, p = bartlett_sphericity(r, n)
                    row.update({
                        "n_eigen_gt1": n_gt1, "pc1_share": float(share[0]),
                        "pc1_dominates": bool(n_gt1 == 1 and share[0] >= th.pc1_share),
                        "loadings_same_sign": bool((load >= -1e-12).all()),
                        "kmo": overall, "bartlett_chi2": chi2, "bartlett_df": df, "bartlett_p": p,
                    })  # fmt: skip
                    cum = np.cumsum(share)
                    for j in range(k):
                        comps.append({"year": year, "node": node, "component": j + 1, "eigenvalue": float(vals[j]),
                                      "explained": float(share[j]), "cumulative": float(cum[j])})  # fmt: skip
                    for j, c in enumerate(codes):
                        loads.append({"year": year, "node": node, "indicator": c, "pc1_loading": float(load[j]),
                                      "msa": float(msa[j])})  # fmt: skip
                pca.append(row)
        pca_df = pd.DataFrame(pca)
        for c in ("n_eigen_gt1",):
            pca_df[c] = pca_df[c].astype("Int64")
        for c in ("pc1_dominates", "loadings_same_sign"):
            pca_df[c] = pca_df[c].astype("boolean")
        comp_cols = ["year", "node", "component", "eigenvalue", "explained", "cumulative"]
        load_cols = ["year", "node", "indicator", "pc1_loading", "msa"]
        return pd.DataFrame(cron), pca_df, pd.DataFrame(comps, columns=comp_cols), pd.DataFrame(loads, columns=load_cols)

    # ---- effective weights against importance (COINr get_eff_weights; §B6) ---------
    def importance(self, corr: pd.DataFrame) -> pd.DataFrame:
        th = self.th
        w = self.b.weights
        r_idx = corr[(corr["data"] == "scores") & (corr["relation"] == "index")].set_index(["year", "x"])["pearson"]
        rows = []
        for year in self.b.panel.years:
            wy = w[w["year"] == year] if "year" in w.columns else w
            for rec in wy.itertuples(index=False):
                if rec.node == self.index:
                    continue
                r = r_idx.get((int(year), rec.node), math.nan)
                rows.append({"year": int(year), "node": rec.node, "parent": rec.parent, "level": int(rec.level),
                             "effective_weight": float(rec.effective_weight), "r2": r * r})  # fmt: skip
        cols = ["year", "node", "parent", "level", "effective_weight", "r2", "rel_weight", "rel_r2", "flag_gap"]
        df = pd.DataFrame(rows, columns=cols[:6])
        if df.empty:
            return pd.DataFrame(columns=cols)
        grp = df.groupby(["year", "level"])
        df["rel_weight"] = df["effective_weight"] / grp["effective_weight"].transform("sum")
        df["rel_r2"] = df["r2"] / grp["r2"].transform("sum")
        gap = (df["rel_r2"] - df["rel_weight"]).abs()
        df["flag_gap"] = (gap > th.importance_gap * df["rel_weight"]) & df["rel_r2"].notna() & (df["rel_weight"] > 0)
        for r in df[df["flag_gap"]].itertuples(index=False):
            self._flag(r.year, "importance_gap", r.node, r.rel_r2, r.rel_weight,
                       f"{r.node}: relative importance {r.rel_r2:.3f} (r² with the index) against relative "
                       f"effective weight {r.rel_weight:.3f} at level {r.level}{self._yl(r.year)}",
                       data="scores", other=self.index, group=str(r.parent))  # fmt: skip
        return df

    # ---- verdicts ---------------------------------------------------------------------
    def verdicts(self, cron: pd.DataFrame, pca: pd.DataFrame, corr: pd.DataFrame) -> pd.DataFrame:
        th = self.th
        rule = th.verdict_rule
        alpha = cron.set_index(["year", "node"])["alpha"]
        pc = pca.set_index(["year", "node"])
        dim = corr[(corr["data"] == "scores") & (corr["relation"] == "dimension")]
        rows = []
        for year in self.b.panel.years:
            year = int(year)
            for d in self.dims:
                if d not in self.beneath:
                    continue
                a = float(alpha.get((year, d), math.nan))
                p = pc.loc[(year, d)]
                dom = p["pc1_dominates"]
                kids = dim[(dim["year"] == year) & (dim["y"] == d) & (dim["group"] == d)]
                neg = kids[kids["pearson"] < 0]
                reasons_bad, reasons_check = [], []
                if a < th.alpha_incoherent:
                    reasons_bad.append(f"alpha {a:.2f} < {th.alpha_incoherent:g}")
                for r in neg.itertuples(index=False):
                    reasons_bad.append(f"{r.x} correlates negatively with {d} (r = {r.pearson:.2f})")
                if reasons_bad:
                    verdict, reason = "incoherent", "; ".join(reasons_bad)
                else:
                    if math.isnan(a):
                        reasons_check.append(f"alpha not computable ({p['n_indicators']} indicators, "
                                             f"{p['n_units']} complete units)")  # fmt: skip
                    elif a < th.alpha_coherent:
                        reasons_check.append(f"alpha {a:.2f} < {th.alpha_coherent:g}")
                    if dom is pd.NA:
                        reasons_check.append("PCA not computable")
                    elif not dom:
                        reasons_check.append(
                            f"PC1 does not dominate ({p['n_eigen_gt1']} eigenvalues > 1, PC1 {p['pc1_share']:.0%})"
                        )
                    if reasons_check:
                        verdict, reason = "check", "; ".join(reasons_check)
                    else:
                        verdict = "coherent"
                        reason = f"alpha {a:.2f}, one eigenvalue > 1, PC1 {p['pc1_share']:.0%}, no negative correlation"
                rows.append({
                    "year": year, "node": d, "name": self.spec.nodes[d].name_en or self.spec.nodes[d].name_zh,
                    "verdict": verdict, "alpha": a, "n_eigen_gt1": p["n_eigen_gt1"], "pc1_share": p["pc1_share"],
                    "pc1_dominates": dom, "n_negative": int(len(neg)), "reason": reason, "rule": rule,
                })  # fmt: skip
        df = pd.DataFrame(rows)
        if not df.empty:
            df["n_eigen_gt1"] = df["n_eigen_gt1"].astype("Int64")
            df["pc1_dominates"] = df["pc1_dominates"].astype("boolean")
        return df
