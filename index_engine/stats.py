"""Statistics shared by the audit, the weighting methods and the sensitivity analysis.

Each statistic is computed here once: correlations with p-values (:func:`correlate`, and
:func:`correlate_pairs` for many pairs), Cronbach's alpha (:func:`cronbach_alpha`), the eigenvalues of a correlation matrix (:func:`pca_eigen`), the
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
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Sequence

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


def correlate_pairs(columns: Mapping[str, np.ndarray], pairs: Iterable[tuple[str, str]]) -> list[Correlation]:
    """:func:`correlate` of ``columns[a]`` and ``columns[b]`` for each pair ``(a, b)``, the same numbers.

    Each column is centred and ranked once for each set of complete pairs it meets, however many
    pairs it is in (the audit correlates each node with its parent, its dimension, the index and
    its siblings), with the operations :func:`correlate` does, so the numbers are its to the bit.

    Examples
    --------
    >>> cols = {"a": np.array([1., 2, 3, 4]), "b": np.array([1., 3, 2, 4])}
    >>> correlate_pairs(cols, [("a", "b")]) == [correlate(cols["a"], cols["b"])]
    True
    """
    valid = {}
    prepared: dict[tuple[Any, bytes | None], tuple[np.ndarray, float, np.ndarray, float] | None] = {}

    def prepare(code: Any, m: np.ndarray | None, key: bytes | None) -> tuple[np.ndarray, float, np.ndarray, float] | None:
        """``code``'s values over the pairs ``m`` (None: all of them) centred, ranked and centred."""
        if (code, key) not in prepared:
            x = np.asarray(columns[code], dtype=float)
            x = x if m is None else x[m]
            if x.size < 3 or np.ptp(x) == 0:
                prepared[code, key] = None  # correlate says NaN
            else:
                dx, dr = x - x.mean(), _average_rank(x)
                dr = dr - dr.mean()
                prepared[code, key] = (dx, float(dx @ dx), dr, float(dr @ dr))
        return prepared[code, key]

    out: list[Correlation | tuple[int, float, float]] = []
    for a, b in pairs:
        for c in (a, b):
            if c not in valid:
                ok = ~np.isnan(np.asarray(columns[c], dtype=float))
                valid[c] = None if ok.all() else ok
        if valid[a] is None and valid[b] is None:
            m, key = None, None
        else:
            m = valid[b] if valid[a] is None else valid[a] if valid[b] is None else valid[a] & valid[b]
            key = m.tobytes()
        pa, pb = prepare(a, m, key), prepare(b, m, key)
        if pa is None or pb is None or pa[1] == 0 or pb[1] == 0:  # what correlate says: no correlation
            n = len(columns[a]) if m is None else int(np.count_nonzero(m))
            out.append(Correlation(n, math.nan, math.nan, math.nan, math.nan))
            continue
        n = pa[0].size
        r = max(-1.0, min(1.0, float(pa[0] @ pb[0]) / math.sqrt(pa[1] * pb[1])))
        rho = max(-1.0, min(1.0, float(pa[2] @ pb[2]) / math.sqrt(pa[3] * pb[3])))
        out.append((n, r, rho))
    todo = [i for i, c in enumerate(out) if not isinstance(c, Correlation)]
    if todo:  # the p-values in one call: scipy.special's per-call cost is most of a short pair's time
        n, r, rho = (np.array(v) for v in zip(*(out[i] for i in todo)))
        p = _t_p_value(np.concatenate([r, rho]), np.concatenate([n, n]))
        for i, k in enumerate(todo):
            out[k] = Correlation(int(n[i]), float(r[i]), float(p[i]), float(rho[i]), float(p[len(todo) + i]))
    return out  # type: ignore[return-value]


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


def _t_p_value(r: Any, n: Any) -> Any:
    """Two-sided p-value of a correlation r on n pairs from Student's t on n − 2 df,
    2·T_{n−2}(−|r|·√((n − 2)/(1 − r²))): NaN when r is or n < 3, 0 when |r| = 1.
    Elementwise on arrays (a float for floats)."""
    from scipy import special

    r_arr, n_arr = np.asarray(r, dtype=float), np.asarray(n, dtype=float)
    p = np.full(np.broadcast(r_arr, n_arr).shape, np.nan)
    r_arr, n_arr = np.broadcast_to(r_arr, p.shape), np.broadcast_to(n_arr, p.shape)
    ok = ~np.isnan(r_arr) & (n_arr >= 3)
    p[ok & (np.abs(r_arr) >= 1.0)] = 0.0
    mid = ok & (np.abs(r_arr) < 1.0)
    if mid.any():
        rm, nm = r_arr[mid], n_arr[mid]
        t = np.abs(rm) * np.sqrt((nm - 2) / (1.0 - rm * rm))
        p[mid] = 2.0 * special.stdtr(nm - 2, -t)
    return float(p) if p.ndim == 0 else p


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
        freedom, and its ``pvalue`` from the χ² distribution (``scipy.special.chdtrc``, which
        ``scipy.stats.chi2.sf`` calls). A small
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
    from scipy.special import chdtrc  # the χ² survival function, as scipy.stats.chi2.sf computes it

    chi2 = -factor * logdet
    return Bartlett(float(chi2), df, float(chdtrc(df, chi2)))


# ---- importance -------------------------------------------------------------------------------

X_TIE = 1e-7
""":func:`correlation_ratio` treats x values within this share of their range of each other as one value."""


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
        or a constant y. :func:`correlation_ratios` gives it for many x at once.

    Notes
    -----
    Pairs with a missing value are left out. The spline is :func:`smoothing_spline`, the estimator
    of ``scipy.interpolate.make_smoothing_spline`` with the smoothing chosen by generalised
    cross-validation, fitted to the mean of y at each distinct x value weighted by its count (x
    values within :data:`X_TIE` of the range of each other count as one: closer, the spline's
    equations lose their precision; the fit to the means is the least-squares fit to the points,
    :func:`smoothing_spline`'s). With fewer than 5
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
    return float(correlation_ratios(np.asarray(x, float)[:, None], y)[0])


def correlation_ratios(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """:func:`correlation_ratio` of ``y`` on each column of the 2-D array ``x``, the splines fitted together.

    The GCV searches of all columns run in step (:func:`smoothing_splines`), so many components
    cost about as much as one.

    Examples
    --------
    >>> x = np.linspace(0, 1, 50)
    >>> correlation_ratios(np.column_stack([x, np.ones(50)]), (x - 0.5) ** 2).round(2).tolist()
    [1.0, nan]
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    eta2 = np.full(x.shape[1], np.nan)
    fits: list[tuple[int, np.ndarray, float, tuple[np.ndarray, np.ndarray, np.ndarray]]] = []
    for j in range(x.shape[1]):
        ok = ~(np.isnan(x[:, j]) | np.isnan(y))
        xj, yj = x[ok, j], y[ok]
        vy = np.var(yj) if yj.size else math.nan
        if not vy > 0:
            continue
        order = np.argsort(xj, kind="stable")
        xs = xj[order]
        # one value per run of x values each within X_TIE of the range of the one before
        start = np.concatenate(([True], np.diff(xs) > X_TIE * (xs[-1] - xs[0])))
        inv = np.empty(xj.size, dtype=np.intp)
        inv[order] = np.cumsum(start) - 1
        counts = np.bincount(inv).astype(float)
        xu = np.bincount(inv, weights=xj) / counts
        if len(xu) < 2:
            continue
        ym = np.bincount(inv, weights=yj) / counts
        if len(xu) < 5:
            eta2[j] = np.clip(np.var(ym[inv]) / vy, 0.0, 1.0)
        else:
            fits.append((j, inv, vy, (xu, ym, counts)))
    for (j, inv, vy, _), fitted in zip(fits, smoothing_splines([f[3] for f in fits])):
        eta2[j] = np.clip(np.var(fitted[inv]) / vy, 0.0, 1.0)
    return eta2


def smoothing_spline(x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None, lam: float | None = None) -> np.ndarray:
    """Fitted values at ``x`` of the cubic smoothing spline, its smoothing chosen by GCV.

    Parameters
    ----------
    x : 1-D array, strictly increasing, at least 5 values
    y : 1-D array of the same length
    w : 1-D array of positive weights, default all 1
    lam : float, optional
        The smoothing λ; default: the λ in [0, n] that minimises the generalised cross-validation
        criterion, as ``scipy.interpolate.make_smoothing_spline`` chooses it.

    Returns
    -------
    array
        ``f(x)`` for the natural cubic spline f that minimises ``Σ w_i (y_i − f(x_i))² + λ ∫ f''²``.

    Notes
    -----
    The estimator of ``scipy.interpolate.make_smoothing_spline``, computed in Reinsch's form
    (Green & Silverman 1994, §2.3) in O(n): with ``h_i = x_{i+1} − x_i``, Q the n × (n − 2)
    tridiagonal matrix of second divided differences and R the (n − 2)² tridiagonal matrix with
    ``R_ii = (h_i + h_{i+1})/3`` and ``R_{i,i+1} = h_{i+1}/6``, the penalty is ``gᵀ Q R⁻¹ Qᵀ g``;
    ``γ`` solves the banded system ``(R + λ Qᵀ W⁻¹ Q) γ = Qᵀ y`` (banded Cholesky, in the order of
    LAPACK's ``dpbtf2`` and ``dtbsv``) and ``f(x) = y − λ W⁻¹ Q γ``.
    GCV is scipy's: ``(1/n) Σ (y_i − f(x_i))² / (1 − tr(A)/n)²``, A the hat matrix, with
    ``tr(A) = 2 + tr(M⁻¹ R)``, M = R + λ Qᵀ W⁻¹ Q, from the three central bands of M⁻¹
    (Hutchinson & de Hoog 1985). λ is searched on [0, n] by Brent's method
    (:func:`minimize_bounded`), as scipy does; the fit equals scipy's to rounding at a given λ, and the
    chosen λ to the optimiser's tolerance (tests/test_stats.py pins both).

    References
    ----------
    Reinsch, C. H. (1967). Smoothing by spline functions. *Numer. Math.* 10, 177–183.
    doi:10.1007/BF02162161
    Green, P. J. & Silverman, B. W. (1994). *Nonparametric Regression and Generalized Linear
    Models*. Chapman & Hall, §2.3 and §3.2. doi:10.1201/b15710
    Hutchinson, M. F. & de Hoog, F. R. (1985). Smoothing noisy data with spline functions.
    *Numer. Math.* 47, 99–106. doi:10.1007/BF01389878
    Craven, P. & Wahba, G. (1979). Smoothing noisy data with spline functions. *Numer. Math.* 31,
    377–403. doi:10.1007/BF01404567 (GCV)

    Examples
    --------
    >>> x = np.linspace(0, 1, 20)
    >>> np.allclose(smoothing_spline(x, 2 * x + 1), 2 * x + 1)
    True
    """
    x = np.asarray(x, dtype=float)
    return smoothing_splines([(x, y, np.ones(x.size) if w is None else w)], lam)[0]


def smoothing_splines(
    problems: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], lam: float | None = None
) -> list[np.ndarray]:
    """:func:`smoothing_spline` of each ``(x, y, w)``, fitted together: one pass over the rows of all the
    banded systems at a time (each padded in front to the longest with rows of the identity, which
    change nothing), and their GCV searches run in step (:func:`minimize_bounded` on arrays)."""
    if not problems:
        return []
    arrays = []
    for x, y, w in problems:
        x, y, w = (np.asarray(v, dtype=float) for v in (x, y, w))
        n = x.size
        if n < 5 or x.shape != (n,) or y.shape != (n,) or w.shape != (n,):
            raise ValueError(f"smoothing_spline needs at least 5 points and x, y, w of one length; got {n}, {y.size}, {w.size}")
        if not (np.diff(x) > 0).all() or not (w > 0).all():
            raise ValueError("smoothing_spline needs strictly increasing x and positive weights")
        arrays.append((x, y, w))
    batch = _SplineBatch(arrays)
    if lam is None:
        lams = minimize_bounded(batch.gcv, np.zeros(len(arrays)), batch.n.copy())
    else:
        lams = np.full(len(arrays), float(lam))
    res, _ = batch.solve(lams, trace=False)
    fitted = batch.y - res
    return [fitted[o:, j].copy() for j, o in enumerate(batch.offset)]


class _SplineBatch:
    """The Reinsch equations of several smoothing splines, row i of every system side by side.

    Arrays are (rows, systems); system j is padded in front by ``offset[j]`` rows: identity rows in
    M = R + λS (R_ii = 1, nothing else), zero weights and data in the n-row arrays."""

    def __init__(self, problems: list[tuple[np.ndarray, np.ndarray, np.ndarray]]):
        sizes = np.array([x.size for x, _, _ in problems])
        n, k = int(sizes.max()), len(problems)
        m = n - 2
        self.n, self.offset = sizes.astype(float), n - sizes
        self.y, self.winv = np.zeros((n, k)), np.zeros((n, k))
        self.q0, self.q1, self.q2 = np.zeros((m, k)), np.zeros((m, k)), np.zeros((m, k))
        self.r0, self.rd, self.ro = np.ones((m, k)), np.zeros((m, k)), np.zeros((m, k))  # R's diagonal (padding 1), for the trace (padding 0), off-diagonal
        self.s0, self.s1, self.s2 = np.zeros((m, k)), np.zeros((m, k)), np.zeros((m, k))  # S = Qᵀ W⁻¹ Q: diagonal, (i, i+1), (i, i+2)
        for j, ((x, y, w), o) in enumerate(zip(problems, self.offset)):
            h = np.diff(x)
            # Qᵀ, row i: q0_i at column i, q1_i at i + 1, q2_i at i + 2
            q0, q2 = 1.0 / h[:-1], 1.0 / h[1:]
            q1 = -q0 - q2
            winv = 1.0 / w
            self.y[o:, j], self.winv[o:, j] = y, winv
            self.q0[o:, j], self.q1[o:, j], self.q2[o:, j] = q0, q1, q2
            self.r0[o:, j] = self.rd[o:, j] = (h[:-1] + h[1:]) / 3.0
            self.ro[o:-1, j] = h[1:-1] / 6.0
            self.s0[o:, j] = q0**2 * winv[:-2] + q1**2 * winv[1:-1] + q2**2 * winv[2:]
            self.s1[o:-1, j] = q1[:-1] * q0[1:] * winv[1:-2] + q2[:-1] * q1[1:] * winv[2:-1]
            self.s2[o:-2, j] = q2[:-2] * q0[2:] * winv[2:-2]
        self.qty = self.q0 * self.y[:-2] + self.q1 * self.y[1:-1] + self.q2 * self.y[2:]

    def solve(self, lam: np.ndarray, trace: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """The residuals ``y − f(x)`` (rows, systems) at the smoothing ``lam`` (one per system), and
        tr(M⁻¹ R) of each system when ``trace``."""
        m0, m1, m2 = self.r0 + lam * self.s0, self.ro + lam * self.s1, lam * self.s2
        rows, k = m0.shape
        u0, u1, u2, z = np.empty((rows, k)), np.empty((rows, k)), np.empty((rows, k)), np.empty((rows, k))
        p1 = p2 = pp2 = z1 = z2 = np.zeros(k)  # U_{i-1,i}, U_{i-1,i+1}, U_{i-2,i}, z_{i-1}, z_{i-2}
        with np.errstate(invalid="ignore"):
            for i in range(rows):  # M = UᵀU (dpbtf2's order) and Uᵀz = Qᵀy (dtbsv's), row by row
                d = np.sqrt((m0[i] - pp2 * pp2) - p1 * p1)
                rec = 1.0 / d
                n1 = (m1[i] - p1 * p2) * rec
                n2 = m2[i] * rec
                zi = ((self.qty[i] - pp2 * z2) - p1 * z1) / d
                u0[i], u1[i], u2[i], z[i] = d, n1, n2, zi
                pp2, p2, p1, z2, z1 = p2, n2, n1, z1, zi
        if not (u0 > 0).all():
            raise np.linalg.LinAlgError("smoothing_spline: the banded system is not positive definite")
        g = np.zeros((rows + 2, k))
        total = np.zeros(k) if trace else None
        if trace:  # Σ = M⁻¹ = U⁻¹U⁻ᵀ, its bands from the bottom row up: Σ_ii = 1/U_ii² − a_i Σ_{i,i+1} − b_i Σ_{i,i+2}
            minus_a, minus_b = -u1 / u0, -u2 / u0  # a_i = U_{i,i+1}/U_ii, b_i = U_{i,i+2}/U_ii
            inv_sq, ro2 = 1.0 / (u0 * u0), 2.0 * self.ro
        s00 = s01 = s11 = np.zeros(k)  # Σ_{i+1,i+1}, Σ_{i+1,i+2}, Σ_{i+2,i+2}
        for i in range(rows - 1, -1, -1):  # Ug = z (dtbsv's order), and the central bands of M⁻¹
            g[i] = ((z[i] - u2[i] * g[i + 2]) - u1[i] * g[i + 1]) / u0[i]
            if trace:
                a, b = minus_a[i], minus_b[i]
                c01 = a * s00 + b * s01  # Σ_{i,i+1}
                c02 = a * s01 + b * s11  # Σ_{i,i+2}
                c00 = inv_sq[i] + a * c01 + b * c02
                total += c00 * self.rd[i] + c01 * ro2[i]
                s00, s01, s11 = c00, c01, s00
        g = g[:-2]
        qg = np.zeros(self.y.shape)
        qg[:-2] += self.q0 * g
        qg[1:-1] += self.q1 * g
        qg[2:] += self.q2 * g
        return lam * self.winv * qg, total

    def gcv(self, lam: np.ndarray) -> np.ndarray:
        """Each system's GCV criterion at its ``lam``: (1/n) Σ (y_i − f(x_i))² / (1 − tr(A)/n)²."""
        res, trace = self.solve(lam)
        n = self.n
        return np.einsum("ij,ij->j", res, res) / n / (1.0 - (2.0 + trace) / n) ** 2


def minimize_bounded(f: Callable[[Any], Any], a: Any, b: Any, *, xtol: float = 1e-5, maxiter: int = 500) -> Any:
    """The x in [a, b] where ``f`` has a local minimum, by Brent's method (golden sections and parabolas).

    Brent's ``fmin`` (Brent 1973, ch. 5; Forsythe, Malcolm & Moler 1977, §8.2): start at the golden
    section of [a, b]; each step tries the parabola through the three best points and falls back
    to a golden-section step when the parabola's minimum is outside the bracket or the step does
    not halve; stop when x is within ``2·tol − (b − a)/2`` of the bracket's middle, with
    ``tol = √ε·|x| + xtol/3``. This is the search ``scipy.optimize.minimize_scalar(method="bounded")``
    runs with its default ``xatol = 1e-5`` (tests/test_stats.py compares the two), without loading
    scipy.optimize.

    With arrays ``a`` and ``b``, one search per element runs in step: ``f`` takes an array of points,
    one per search, and returns their values (a finished search's point is passed again); each
    search takes the same steps as alone.

    References
    ----------
    Brent, R. P. (1973). *Algorithms for Minimization without Derivatives*. Prentice-Hall, ch. 5.
    Forsythe, G. E., Malcolm, M. A. & Moler, C. B. (1977). *Computer Methods for Mathematical
    Computations*. Prentice-Hall, §8.2 (``fmin``).

    Examples
    --------
    >>> round(minimize_bounded(lambda x: (x - 2.0) ** 2, 0.0, 5.0), 4)
    2.0
    >>> minimize_bounded(lambda x: (x - np.array([1.0, 3.0])) ** 2, np.zeros(2), np.full(2, 5.0)).round(4)
    array([1., 3.])
    """
    if np.ndim(a) == 0 and np.ndim(b) == 0:
        return float(minimize_bounded(lambda u: np.array([f(float(u[0]))]), np.array([float(a)]), np.array([float(b)]), xtol=xtol, maxiter=maxiter)[0])
    golden = 0.5 * (3.0 - math.sqrt(5.0))
    root_eps = math.sqrt(2.2e-16)
    a, b = np.array(a, dtype=float), np.array(b, dtype=float)
    x = w = v = a + golden * (b - a)
    fx = fw = fv = np.asarray(f(x), dtype=float)
    d = e = np.zeros_like(x)
    active = np.ones(x.shape, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(maxiter):
            middle = 0.5 * (a + b)
            tol = root_eps * np.abs(x) + xtol / 3.0
            active &= ~(np.abs(x - middle) <= 2.0 * tol - 0.5 * (b - a))
            if not active.any():
                break
            # the parabola through (v, fv), (w, fw), (x, fx), where the step before last was larger than tol
            r = (x - w) * (fx - fv)
            q = (x - v) * (fx - fw)
            p = (x - v) * q - (x - w) * r
            q = 2.0 * (q - r)
            p = np.where(q > 0.0, -p, p)
            q = np.abs(q)
            parabolic = (np.abs(e) > tol) & (np.abs(p) < np.abs(0.5 * q * e)) & (q * (a - x) < p) & (p < q * (b - x))
            step = p / q
            near_bound = ((x + step) - a < 2.0 * tol) | (b - (x + step) < 2.0 * tol)
            step = np.where(near_bound, np.where(middle >= x, tol, -tol), step)
            # else a golden section of the larger part
            golden_e = np.where(x >= middle, a, b) - x
            e, d = np.where(parabolic, d, golden_e), np.where(parabolic, step, golden * golden_e)
            u = x + np.where(np.abs(d) >= tol, d, np.where(d > 0, tol, -tol))
            u = np.where(active, u, x)
            fu = np.asarray(f(u), dtype=float)
            better = active & (fu <= fx)
            worse = active & ~(fu <= fx)
            a = np.where(better & (u < x), a, np.where(better, x, np.where(worse & (u < x), u, a)))
            b = np.where(better & (u < x), x, np.where(worse & (u >= x), u, b))
            second = worse & ((fu <= fw) | (w == x))
            third = worse & ~second & ((fu <= fv) | (v == x) | (v == w))
            v, fv = np.where(better | second, w, np.where(third, u, v)), np.where(better | second, fw, np.where(third, fu, fv))
            w, fw = np.where(better, x, np.where(second, u, w)), np.where(better, fx, np.where(second, fu, fw))
            x, fx = np.where(better, u, x), np.where(better, fu, fx)
    return x


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
