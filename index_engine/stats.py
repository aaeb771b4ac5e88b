"""Statistics shared by the audit, the weighting methods and the sensitivity analysis.

Each statistic is computed here once: correlations with p-values (:func:`correlate`), Cronbach's
alpha (:func:`cronbach_alpha`), the eigenvalues of a correlation matrix (:func:`pca_eigen`), the
Kaiser–Meyer–Olkin measure (:func:`kmo`), Bartlett's test of sphericity
(:func:`bartlett_sphericity`), and two measures of how much a node matters to the index.

Importance: two measures, two names
-----------------------------------
How much of the index's variance a component explains is measured two ways, and both appear in
the outputs:

* :func:`squared_correlation`, **r²**: the share of the index's variance explained by a straight
  line in the component. Cheap; the audit reports it per year (``audit/importance.csv``, column
  ``r2``), among all nodes of a level.
* :func:`correlation_ratio`, **η²** (Pearson's correlation ratio, the first-order sensitivity
  index S_i = V(E[y | x_i]) / V(y) of Paruolo, Saisana & Saltelli 2013): the share explained by
  any smooth curve in the component, estimated with a cubic smoothing spline. The sensitivity
  analysis reports it pooled over every unit and year (``sensitivity/importance.csv``, column
  ``eta2``, next to the pooled ``r2``), among the node's siblings.

η² >= r² up to the spline's smoothing; they are equal when the relation is linear. So the same
node can show two different numbers: the audit's r² of one year, and the sensitivity's pooled r²
and η². Both compare relative importance with relative weight by one rule,
:func:`importance_shares`.

scipy is imported inside the functions that use it, so that importing the engine does not load it.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd

from .errors import SingularCorrelationWarning

# ---- correlations ---------------------------------------------------------------------------


class Correlation(NamedTuple):
    """Pearson's and Spearman's correlation of a pair of vectors, with two-sided p-values."""

    n: int
    pearson: float
    pearson_p: float
    spearman: float
    spearman_p: float


def correlate(x: np.ndarray, y: np.ndarray) -> Correlation:
    """Pearson and Spearman correlations of two vectors, pairwise-complete, with p-values.

    Parameters
    ----------
    x, y : 1-D arrays of equal length; NaN marks a missing value

    Returns
    -------
    Correlation
        ``(n, pearson, pearson_p, spearman, spearman_p)``; ``n`` is the number of pairs with
        both values present. Correlations are NaN if n < 3 or either vector is constant over
        those pairs.

    Notes
    -----
    Pairwise-complete observations, as COINr's ``stats::cor(use = "pairwise.complete.obs")``.
    Spearman's rho is Pearson's r of the average ranks. Both p-values are two-sided from the
    t statistic ``r·√((n − 2)/(1 − r²))`` on n − 2 degrees of freedom (Student's t from
    ``scipy.special.stdtr``), which is what ``scipy.stats.pearsonr`` (and R's ``cor.test``) and
    ``scipy.stats.spearmanr`` compute; R's ``cor.test(method = "spearman")`` uses an exact test
    for small n without ties instead.

    Written out rather than calling ``scipy.stats.pearsonr`` and ``spearmanr`` for speed: the
    audit correlates thousands of short pairs, and on 90 values the two scipy calls take about
    ten times as long as this function (their input checks dominate). The tests check it against
    both.

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
        rho = _pearson(_average_rank(x[m]), _average_rank(y[m]))
    return Correlation(n, r, _t_p_value(r, n), rho, _t_p_value(rho, n))


def squared_correlation(x: np.ndarray, y: np.ndarray) -> float:
    """r², the share of the variance of ``y`` that a straight line in ``x`` explains.

    Pearson's r over the pairs where both values are present, squared; NaN with fewer than 3
    pairs or a constant vector. It is the correlation ratio (:func:`correlation_ratio`) with
    E[y | x] restricted to a straight line.

    References
    ----------
    Paruolo, M., Saisana, M. & Saltelli, A. (2013). Ratings and rankings: voodoo or science?
    *JRSS A* 176(3), 609–634. doi:10.1111/j.1467-985X.2012.01059.x (r² as the linear
    approximation of the first-order sensitivity index).

    Examples
    --------
    >>> round(squared_correlation(np.array([1., 2, 3, 4]), np.array([1., 3, 2, 4])), 4)
    0.64
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    m = ~(np.isnan(x) | np.isnan(y))
    r = _pearson(x[m], y[m])
    return r * r


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if x.size < 3:
        return math.nan
    dx, dy = x - x.mean(), y - y.mean()
    sxx, syy = float(dx @ dx), float(dy @ dy)
    if sxx == 0 or syy == 0 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return max(-1.0, min(1.0, float(dx @ dy) / math.sqrt(sxx * syy)))


def _average_rank(a: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties given their average rank (``scipy.stats.rankdata``, written out for speed)."""
    order = np.argsort(a, kind="mergesort")
    inv = np.empty(a.size, dtype=np.intp)
    inv[order] = np.arange(a.size)
    s = a[order]
    first = np.concatenate(([True], s[1:] != s[:-1]))
    dense = np.cumsum(first)[inv]
    bounds = np.concatenate((np.flatnonzero(first), [a.size]))
    return 0.5 * (bounds[dense] + bounds[dense - 1] + 1)


def _t_p_value(r: float, n: int) -> float:
    """Two-sided p-value of a correlation r on n pairs from Student's t on n − 2 df."""
    if math.isnan(r) or n < 3:
        return math.nan
    if abs(r) >= 1.0:
        return 0.0
    from scipy import special

    t = abs(r) * math.sqrt((n - 2) / (1.0 - r * r))
    return float(2.0 * special.stdtr(n - 2, -t))


# ---- reliability and principal components ---------------------------------------------------


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
    The two ``use`` options agree when no value is missing. Neither scipy nor statsmodels has
    Cronbach's alpha.

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


def pca_eigen(corr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending) and PC1 loadings of a correlation matrix.

    The loadings are the first eigenvector times √λ₁, i.e. each indicator's correlation with
    the first principal component, oriented so that they sum to a non-negative number
    (``numpy.linalg.eigh``).

    References
    ----------
    OECD/JRC (2008). *Handbook on Constructing Composite Indicators*, step 4 (principal
    components). doi:10.1787/9789264043466-en

    Examples
    --------
    >>> vals, load = pca_eigen(np.array([[1.0, 0.5], [0.5, 1.0]]))
    >>> vals.round(6).tolist(), load.round(4).tolist()
    ([1.5, 0.5], [0.866, 0.866])
    """
    r = np.asarray(corr, dtype=float)
    vals, vecs = np.linalg.eigh(r)
    order = np.argsort(vals)[::-1]
    vals, vecs = vals[order], vecs[:, order]
    v1 = vecs[:, 0]
    if v1.sum() < 0:
        v1 = -v1
    return vals, v1 * math.sqrt(max(vals[0], 0.0))


# ---- factorability: KMO and Bartlett ----------------------------------------------------------


class KMO(NamedTuple):
    """The Kaiser–Meyer–Olkin measure: overall, and per variable (MSA_i)."""

    overall: float
    per_item: np.ndarray


def kmo(corr: np.ndarray) -> KMO:
    """Kaiser–Meyer–Olkin measure of sampling adequacy of a correlation matrix.

    Parameters
    ----------
    corr : (k, k) array, a correlation matrix

    Returns
    -------
    KMO
        ``overall = Σ_{i≠j} r²_ij / (Σ_{i≠j} r²_ij + Σ_{i≠j} q²_ij)``, with
        ``q_ij = −P_ij/√(P_ii P_jj)`` the anti-image (partial) correlations and ``P = R⁻¹``;
        ``per_item[i]`` (MSA_i) is the same ratio over row i only.

    Notes
    -----
    **A singular R has no KMO**: the anti-image correlations are defined through R⁻¹, which does
    not exist when R is singular (fewer units than indicators, or an exact linear dependence).
    Then both results are NaN and a :class:`~index_engine.errors.SingularCorrelationWarning` says
    why. A pseudo-inverse is not used in its place: it gives a number, but not the limit of KMO
    as R approaches the singular matrix (for k equally correlated variables with r → 1,
    KMO → 1/(1 + 1/(k−1)²), 0.8 for k = 3, while the pseudo-inverse of the all-ones matrix
    gives 0.5). NaN without a warning if k < 2.

    Kaiser's labels: >= 0.9 marvelous, 0.8 meritorious, 0.7 middling, 0.6 mediocre, 0.5
    miserable, below unacceptable; docs/methodology.md §E2 asks for >= 0.6. Neither scipy nor
    statsmodels has KMO.

    References
    ----------
    Kaiser, H. F. (1974). An index of factorial simplicity. *Psychometrika* 39, 31–36.
    doi:10.1007/BF02291575
    Kaiser, H. F. & Rice, J. (1974). Little Jiffy, Mark IV. *Educ. Psychol. Meas.* 34(1),
    111–117. doi:10.1177/001316447403400115 (the formula above, with q² in the denominator).

    Examples
    --------
    >>> r = np.array([[1, .5, .4], [.5, 1, .3], [.4, .3, 1]])
    >>> round(kmo(r).overall, 4)
    0.6279
    """
    r = np.asarray(corr, dtype=float)
    k = r.shape[0]
    undefined = KMO(math.nan, np.full(k, math.nan))
    if k < 2:
        return undefined
    if not np.isfinite(r).all():
        warnings.warn(
            "KMO: the correlation matrix has missing or infinite entries (a constant variable?), so KMO is undefined (NaN)",
            SingularCorrelationWarning,
            stacklevel=2,
        )
        return undefined
    if np.linalg.matrix_rank(r) < k:
        warnings.warn(
            f"KMO: the {k}×{k} correlation matrix is singular (fewer units than variables, or a variable that is "
            "a linear combination of others), so its anti-image correlations and KMO are undefined (NaN)",
            SingularCorrelationWarning,
            stacklevel=2,
        )
        return undefined
    p = np.linalg.inv(r)
    d = np.sqrt(np.diag(p))
    q = -p / np.outer(d, d)
    off = ~np.eye(k, dtype=bool)
    r2 = np.where(off, r**2, 0.0)
    q2 = np.where(off, q**2, 0.0)
    overall = r2.sum() / (r2.sum() + q2.sum())
    per = r2.sum(axis=1) / (r2.sum(axis=1) + q2.sum(axis=1))
    return KMO(float(overall), per)


class Bartlett(NamedTuple):
    """Bartlett's test of sphericity: χ² statistic, degrees of freedom, p-value."""

    statistic: float
    df: int
    pvalue: float


def bartlett_sphericity(corr: np.ndarray, n: int) -> Bartlett:
    """Bartlett's test that a correlation matrix is the identity (sphericity).

    Parameters
    ----------
    corr : (p, p) array, a correlation matrix
    n : int, the number of units it was computed from

    Returns
    -------
    Bartlett
        ``statistic`` χ² = −(n − 1 − (2p + 5)/6) · ln|R| on ``df`` = p(p − 1)/2 degrees of
        freedom, and its ``pvalue`` from the χ² distribution (``scipy.stats.chi2``). A small
        p-value (< 0.05) means the indicators are correlated enough for PCA or factor analysis.

    Notes
    -----
    NaN (statistic and p-value) when R is singular (its rank is below p: fewer units than
    indicators, or an exact linear dependence; ln|R| would be −∞), p < 2, R has a non-finite
    entry, or ``n − 1 − (2p + 5)/6 <= 0``. ``scipy.stats.bartlett`` is a different test (equal
    variances).

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
    undefined = Bartlett(math.nan, df, math.nan)
    factor = n - 1 - (2 * p + 5) / 6
    if p < 2 or factor <= 0 or not np.isfinite(r).all() or np.linalg.matrix_rank(r) < p:
        return undefined
    sign, logdet = np.linalg.slogdet(r)
    if sign <= 0 or not np.isfinite(logdet):
        return undefined
    from scipy.stats import chi2 as chi2_dist

    chi2 = -factor * logdet
    return Bartlett(float(chi2), df, float(chi2_dist.sf(chi2, df)))


# ---- importance -------------------------------------------------------------------------------


def correlation_ratio(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's correlation ratio η² = V(E[y | x]) / V(y), E[y | x] a cubic smoothing spline.

    Parameters
    ----------
    x : 1-D array, a component's scores (NaN = missing)
    y : 1-D array of the same length, the index's scores

    Returns
    -------
    float in [0, 1]
        The first-order sensitivity index of ``y`` to ``x``: the share of the variance of ``y``
        that the best smooth function of ``x`` explains. NaN if fewer than 2 distinct x values
        or a constant y.

    Notes
    -----
    Pairs with a missing value are left out. The spline is
    ``scipy.interpolate.make_smoothing_spline`` with its smoothing chosen by generalised
    cross-validation; tied x values are merged (y averaged, weighted by count). With fewer than 5
    distinct x values (a binary or categorical indicator) E[y | x] is the mean of y at each value,
    Pearson's original definition.

    References
    ----------
    Paruolo, M., Saisana, M. & Saltelli, A. (2013). Ratings and rankings: voodoo or science?
    *JRSS A* 176(3), 609–634. doi:10.1111/j.1467-985X.2012.01059.x
    Pearson, K. (1903). Mathematical contributions to the theory of evolution: On homotyposis
    in homologous but differentiated organs. *Proc. R. Soc. Lond.* 71, 288–313.
    doi:10.1098/rspl.1902.0099

    Examples
    --------
    >>> x = np.linspace(0, 1, 50)
    >>> round(correlation_ratio(x, (x - 0.5) ** 2), 2)
    1.0
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    vy = np.var(y)
    if not vy > 0:
        return math.nan
    xu, inv, counts = np.unique(x, return_inverse=True, return_counts=True)
    if len(xu) < 2:
        return math.nan
    ym = np.bincount(inv, weights=y) / counts
    if len(xu) < 5:
        fitted = ym[inv]
    else:
        from scipy.interpolate import make_smoothing_spline

        fitted = make_smoothing_spline(xu, ym, w=counts.astype(float))(x)
    return float(np.clip(np.var(fitted) / vy, 0.0, 1.0))


def importance_shares(
    importance: Sequence[float] | pd.Series,
    weight: Sequence[float] | pd.Series,
    group: Sequence[object] | pd.Series,
    *,
    threshold: float = 0.5,
) -> pd.DataFrame:
    """Relative importance against relative weight within groups, and the gap test.

    Parameters
    ----------
    importance : sequence of float
        Each node's importance (r² from :func:`squared_correlation`, or η² from
        :func:`correlation_ratio`); NaN if unknown.
    weight : sequence of float
        Each node's weight (effective weights, or nominal weights within the group).
    group : sequence
        The group each node is compared within (its parent, or its year and level).
    threshold : float, default=0.5
        The gap that raises the flag, as a fraction of the relative weight.

    Returns
    -------
    DataFrame, one row per node (index as ``importance``'s if a Series)
        ``rel_importance = S_i / Σ_g S_j`` and ``rel_weight = w_i / Σ_g w_j``, the sums over the
        members of the node's group that count (weight > 0 and importance known), and ``gap``:
        ``|rel_importance − rel_weight| > threshold · rel_weight``, False for a node that does not
        count or a group with no importance.

    Notes
    -----
    A node with weight 0 does not count: it contributes nothing to the index, so its importance
    would only shrink the others' shares. Nor does a node whose importance is unknown (NaN). Both
    still get ``w_i / Σ_g w_j`` and ``S_i / Σ_g S_j`` against the totals of the nodes that count
    (so a weight-0 node shows ``rel_weight`` 0 and its importance share).

    References
    ----------
    Paruolo, Saisana & Saltelli (2013), doi:10.1111/j.1467-985X.2012.01059.x (relative importance
    against relative nominal weight); docs/methodology.md §B6 (the 50% threshold is this project's choice,
    not a JRC rule).

    Examples
    --------
    >>> importance_shares([0.8, 0.2, 0.5], [0.5, 0.5, 1.0], ["A", "A", "B"]).round(2).to_dict("list")
    {'rel_importance': [0.8, 0.2, 1.0], 'rel_weight': [0.5, 0.5, 1.0], 'gap': [True, True, False]}
    """
    index = importance.index if isinstance(importance, pd.Series) else None
    s = np.asarray(importance, dtype=float)
    w = np.asarray(weight, dtype=float)
    labels = pd.Series(list(group), dtype=object)  # labels may be tuples, e.g. (year, level)
    g = pd.factorize(labels, use_na_sentinel=False)[0]
    counts = (w > 0) & ~np.isnan(s)
    s_tot = np.bincount(g, weights=np.where(counts, s, 0.0))[g]
    w_tot = np.bincount(g, weights=np.where(counts, w, 0.0))[g]
    with np.errstate(invalid="ignore", divide="ignore"):
        rel_s = np.where(s_tot > 0, s / np.where(s_tot > 0, s_tot, 1.0), math.nan)
        rel_w = np.where(w_tot > 0, w / np.where(w_tot > 0, w_tot, 1.0), math.nan)
        gap = counts & ~np.isnan(rel_s) & (np.abs(rel_s - rel_w) > threshold * rel_w)
    return pd.DataFrame({"rel_importance": rel_s, "rel_weight": rel_w, "gap": gap}, index=index)
