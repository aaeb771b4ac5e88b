"""Statistical (data-driven) weights: entropy, CRITIC, coefficient of variation, standard deviation, PCA."""

from __future__ import annotations

import math
import warnings
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from ..errors import DataError, DegenerateIndicatorWarning, SmallSampleWarning, SpecError
from ..stats import bartlett_sphericity, kmo
from ._shared import (
    WEIGHTS,
    Window,
    _check_window,
    _constant,
    _finish,
    _in_window,
    _informative,
    _minmax,
    _normalise,
    _require_nonnegative,
    _table,
    _warn_constant,
)

# --------------------------------------------------------------------------------------------
# entropy
# --------------------------------------------------------------------------------------------


def _entropy_once(arr: np.ndarray, variant: str, delta: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(e, d, constant) for one block of rows."""
    n = arr.shape[0]
    const = _constant(arr)
    Z = _minmax(arr, const) if variant == "standardised" else arr
    Zs = Z + delta
    col = Zs.sum(axis=0)
    P = Zs / np.where(col > 0, col, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(P > 0, P * np.log(np.where(P > 0, P, 1.0)), 0.0)  # 0·ln 0 = 0
    e = -plogp.sum(axis=0) / math.log(n)
    e = np.where(const, 1.0, np.clip(e, 0.0, 1.0))
    return e, 1.0 - e, const


def entropy(
    data: pd.DataFrame,
    *,
    variant: Literal["standardised", "raw"] = "standardised",
    delta: float | None = None,
    pool: Literal["all", "year"] = "all",
) -> pd.Series:
    """Entropy weights (熵权法 / 熵值法): indicators whose values are more unequal get more weight.

    Parameters
    ----------
    data : DataFrame, rows = units or unit-years, columns = indicators (direction applied)
    variant : {"standardised", "raw"}, default="standardised"
        ``standardised``: z = (x − min)/(max − min) per indicator over all rows used, then
        z′ = z + delta (the textbook 熵值法, docs/methodology.md §E2). ``raw``: p = x/Σx on the data as
        given (x >= 0 required), e.g. on vector-normalised or positive raw data.
    delta : float or None, default=None
        Shift that keeps ln 0 away. None means 1e-4 for ``standardised`` (docs/methodology.md §E2) and 0
        for ``raw``; with 0 the convention 0·ln 0 = 0 applies. It moves the weights, so it is
        recorded in ``attrs``.
    pool : {"all", "year"}, default="all"
        ``all``: one entropy over every row, k = 1/ln(n·T) for a panel of n units × T years
        (pooled min-max keeps the years comparable). ``year``: the cross-section method per year
        (min-max, p and k = 1/ln n_t within year t), then the mean of the yearly weights. Needs a
        ``year`` index level.

    Returns
    -------
    Series indexed by indicator, summing to 1
        ``attrs``: ``entropy`` e_j, ``divergence`` d_j = 1 − e_j, ``k``, ``delta``, ``variant``,
        ``pool``, ``degenerate`` (constant indicators), ``rows_used``, ``rows_dropped``;
        ``by_year`` (the yearly weights) when ``pool='year'``.

    Notes
    -----
    p_ij = z′_ij/Σ_i z′_ij, e_j = −k Σ_i p_ij ln p_ij, w_j = (1 − e_j)/Σ(1 − e_j). Rows with a
    missing indicator are left out. A constant indicator has e = 1 (its p is uniform), so weight
    0, with a DegenerateIndicatorWarning.

    References
    ----------
    Shannon, C. E. (1948). A mathematical theory of communication. Bell Syst. Tech. J.
    27(3):379–423. doi:10.1002/j.1538-7305.1948.tb01338.x.
    Hwang, C.-L. & Yoon, K. (1981). Multiple Attribute Decision Making, pp. 52–54. Springer.
    doi:10.1007/978-3-642-48318-9.
    docs/methodology.md §E2 (definitions, test vector).

    Examples
    --------
    >>> X = pd.DataFrame({"a": [9, 8, 6], "b": [0, 3, 7], "c": [0, 0.9, 0.2], "d": [0, 0.5, 1]})
    >>> entropy(X / np.sqrt((X**2).sum()), variant="raw").round(6).tolist()
    [0.008565, 0.307162, 0.393265, 0.291008]
    """
    who = "weights.entropy"
    if variant not in ("standardised", "raw"):
        raise SpecError(f"{who}: variant must be 'standardised' or 'raw'. Got {variant!r} instead")
    if pool not in ("all", "year"):
        raise SpecError(f"{who}: pool must be 'all' or 'year'. Got {pool!r} instead")
    if delta is None:
        delta = 1e-4 if variant == "standardised" else 0.0
    if delta < 0:
        raise SpecError(f"{who}: delta must be >= 0. Got {delta!r} instead")
    X, dropped = _table(data, who)
    if variant == "raw":
        _require_nonnegative(X, f"{who} (variant 'raw')")
    params = {"variant": variant, "delta": delta, "pool": pool}
    if pool == "all":
        arr = X.to_numpy()
        e, d, const = _entropy_once(arr, variant, delta)
        degenerate = list(X.columns[const])
        _warn_constant(degenerate, who, "their entropy is 1, so their weight is 0")
        w = _normalise(d, X.columns, who)
        return _finish(
            w, "entropy", params, X, dropped, entropy=dict(zip(X.columns, e.tolist())),
            divergence=dict(zip(X.columns, d.tolist())), k=1.0 / math.log(arr.shape[0]), degenerate=degenerate,
        )
    if "year" not in (X.index.names or []):
        raise DataError(f"{who}: pool 'year' needs rows indexed by (unit, year); these rows have no 'year' level")
    by_year: dict[Any, list[float]] = {}
    degenerate_any: set[Any] = set()
    for yr, g in X.groupby(level="year", sort=True):
        if len(g) < 2:
            raise DataError(f"{who}: pool 'year' needs at least 2 complete rows in every year; {yr} has {len(g)}")
        e, d, const = _entropy_once(g.to_numpy(), variant, delta)
        degenerate_any.update(X.columns[const])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateIndicatorWarning)
            by_year[yr] = _normalise(d, X.columns, who).tolist()
    degenerate = [c for c in X.columns if c in degenerate_any]
    _warn_constant(degenerate, who, "within the year(s) where they are constant their weight is 0")
    w = pd.Series(np.mean(list(by_year.values()), axis=0), index=X.columns, name="weight")
    w = w / w.sum()
    return _finish(w, "entropy", params, X, dropped, by_year={k: dict(zip(X.columns, v)) for k, v in by_year.items()},
                   degenerate=degenerate)


@WEIGHTS.register("entropy", check=_check_window, traits=("reads_data",))
def _entropy_node(
    children: pd.DataFrame,
    nominal: pd.Series,
    *,
    variant: Literal["standardised", "raw"] = "standardised",
    delta: Annotated[float, Field(ge=0)] | None = None,
    pool: Literal["all", "year"] = "all",
    window: Window = None,
) -> pd.Series:
    """Entropy weights (熵权法) estimated on the children's scores (all rows, or the ``window`` years), then held fixed.

    See :func:`entropy`. Reference: Hwang & Yoon (1981), doi:10.1007/978-3-642-48318-9.
    """
    w = entropy(_in_window(children[list(nominal.index)], window, "entropy"), variant=variant, delta=delta, pool=pool)
    w.attrs["window"] = list(window) if window else None
    return w


# --------------------------------------------------------------------------------------------
# CRITIC, coefficient of variation, standard deviation
# --------------------------------------------------------------------------------------------


def critic(data: pd.DataFrame, *, correlation: Literal["pearson", "abs"] = "pearson") -> pd.Series:
    """CRITIC weights (CRiteria Importance Through Intercriteria Correlation): contrast × conflict.

    Parameters
    ----------
    data : DataFrame, rows = units or unit-years, columns = indicators (direction applied)
    correlation : {"pearson", "abs"}, default="pearson"
        Conflict R_j = Σ_k (1 − r_jk) with Pearson r (Diakoulaki et al. 1995), or Σ_k (1 − |r_jk|)
        so that a strong negative correlation counts as redundancy rather than conflict.

    Returns
    -------
    Series indexed by indicator, summing to 1
        ``attrs``: ``sd`` σ_j, ``conflict`` R_j, ``information`` C_j, ``correlation`` (matrix as
        nested dict), ``degenerate``, ``rows_used``, ``rows_dropped``.

    Notes
    -----
    On data min-max standardised to [0, 1] over all rows used: σ_j = sample SD (n − 1),
    C_j = σ_j·R_j, w_j = C_j/ΣC (docs/methodology.md §E2). Rows with a missing indicator are left out.
    A constant indicator has σ = 0 and an undefined correlation: it gets weight 0 and is left
    out of the other indicators' conflict sums (with a DegenerateIndicatorWarning).

    References
    ----------
    Diakoulaki, D., Mavrotas, G. & Papayannakis, L. (1995). Determining objective weights in
    multiple criteria problems: the CRITIC method. Comput. Oper. Res. 22(7):763–770.
    doi:10.1016/0305-0548(94)00059-H.

    Examples
    --------
    >>> X = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [2.0, 1, 4, 3], "c": [4.0, 3, 2, 1]})
    >>> critic(X).round(4).tolist()
    [0.3, 0.25, 0.45]
    """
    who = "weights.critic"
    if correlation not in ("pearson", "abs"):
        raise SpecError(f"{who}: correlation must be 'pearson' or 'abs'. Got {correlation!r} instead")
    X, dropped, arr, const, degenerate = _informative(data, who, "their weight is 0 and they are left out of the conflict sums")
    keep = ~const
    Z = _minmax(arr, const)[:, keep]
    sd = np.zeros(len(X.columns))
    conflict = np.zeros(len(X.columns))
    r = np.ones((int(keep.sum()),) * 2)
    if keep.any():
        sd[keep] = Z.std(axis=0, ddof=1)
        if keep.sum() > 1:
            r = np.corrcoef(Z, rowvar=False)
        rr = np.abs(r) if correlation == "abs" else r
        conflict[keep] = (1.0 - rr).sum(axis=1)
    info = sd * conflict
    w = _normalise(info, X.columns, who)
    kept = list(X.columns[keep])
    return _finish(
        w, "critic", {"correlation": correlation}, X, dropped, sd=dict(zip(X.columns, sd.tolist())),
        conflict=dict(zip(X.columns, conflict.tolist())), information=dict(zip(X.columns, info.tolist())),
        correlation={a: dict(zip(kept, row)) for a, row in zip(kept, np.atleast_2d(r).tolist())}, degenerate=degenerate,
    )


@WEIGHTS.register("critic", check=_check_window, traits=("reads_data",))
def _critic_node(
    children: pd.DataFrame, nominal: pd.Series, *, correlation: Literal["pearson", "abs"] = "pearson", window: Window = None
) -> pd.Series:
    """CRITIC weights estimated on the children's scores (all rows, or the ``window`` years), then held fixed.

    See :func:`critic`. Reference: Diakoulaki et al. (1995), doi:10.1016/0305-0548(94)00059-H.
    """
    w = critic(_in_window(children[list(nominal.index)], window, "critic"), correlation=correlation)
    w.attrs["window"] = list(window) if window else None
    return w


def cv(data: pd.DataFrame) -> pd.Series:
    """Coefficient-of-variation weights (变异系数法): w_j ∝ s_j / x̄_j.

    Parameters
    ----------
    data : DataFrame, rows = units or unit-years, columns = indicators
        Ratio-scale data: every value >= 0 (raw positive data, as docs/methodology.md §E2 asks). On
        min-max normalised data the CV depends on where the minimum sits, so prefer raw data.

    Returns
    -------
    Series indexed by indicator, summing to 1
        ``attrs``: ``mean``, ``sd`` (sample, n − 1), ``cv``, ``degenerate``, ``rows_used``,
        ``rows_dropped``.

    Notes
    -----
    A negative value is an error listing the rows. Rows with a missing indicator are left out.
    A constant indicator (including an all-zero one) has s = 0, so weight 0, with a
    DegenerateIndicatorWarning; its mean is never divided into.

    References
    ----------
    docs/methodology.md §E2 (变异系数法). The coefficient of variation as a weight: Zeleny, M. (1982),
    Multiple Criteria Decision Making, McGraw-Hill (contrast intensity).

    Examples
    --------
    >>> cv(pd.DataFrame({"a": [1.0, 2, 3], "b": [10.0, 10, 13]})).round(4).tolist()
    [0.7605, 0.2395]
    """
    who = "weights.cv"
    X, dropped, arr, const, degenerate = _informative(data, who, "their standard deviation is 0, so their weight is 0", nonnegative=True)
    mean = arr.mean(axis=0)
    sd = np.where(const, 0.0, arr.std(axis=0, ddof=1))
    v = np.where(const, 0.0, sd / np.where(mean > 0, mean, 1.0))
    w = _normalise(v, X.columns, who)
    return _finish(w, "cv", {}, X, dropped, mean=dict(zip(X.columns, mean.tolist())),
                   sd=dict(zip(X.columns, sd.tolist())), cv=dict(zip(X.columns, v.tolist())), degenerate=degenerate)


@WEIGHTS.register("cv", check=_check_window, traits=("reads_data",))
def _cv_node(children: pd.DataFrame, nominal: pd.Series, *, window: Window = None) -> pd.Series:
    """Coefficient-of-variation weights (变异系数法) on the children's scores (all rows, or the ``window`` years), then held fixed.

    See :func:`cv`. Reference: docs/methodology.md §E2.
    """
    w = cv(_in_window(children[list(nominal.index)], window, "cv"))
    w.attrs["window"] = list(window) if window else None
    return w


def std(data: pd.DataFrame) -> pd.Series:
    """Standard-deviation weights: w_j ∝ SD of the min-max standardised indicator.

    Parameters
    ----------
    data : DataFrame, rows = units or unit-years, columns = indicators (direction applied)

    Returns
    -------
    Series indexed by indicator, summing to 1
        ``attrs``: ``sd`` (sample, n − 1, of the [0, 1] data), ``degenerate``, ``rows_used``,
        ``rows_dropped``.

    Notes
    -----
    Always on data min-max standardised to [0, 1] over the rows used, never on raw data (whose
    SD depends on the unit of measurement). Rows with a missing indicator are left out. A
    constant indicator has SD 0, so weight 0, with a DegenerateIndicatorWarning.

    References
    ----------
    Wang, Y.-M. & Luo, Y. (2010). Integration of correlations with standard deviations for
    determining attribute weights in multiple attribute decision making. Math. Comput. Model.
    51(1–2):1–12. doi:10.1016/j.mcm.2009.07.016.

    Examples
    --------
    >>> std(pd.DataFrame({"a": [0.0, 5, 10], "b": [0.0, 0, 1]})).round(4).tolist()
    [0.4641, 0.5359]
    """
    who = "weights.std"
    X, dropped, arr, const, degenerate = _informative(data, who, "their standard deviation is 0, so their weight is 0")
    sd = np.where(const, 0.0, _minmax(arr, const).std(axis=0, ddof=1))
    w = _normalise(sd, X.columns, who)
    return _finish(w, "std", {}, X, dropped, sd=dict(zip(X.columns, sd.tolist())), degenerate=degenerate)


@WEIGHTS.register("std", check=_check_window, traits=("reads_data",))
def _std_node(children: pd.DataFrame, nominal: pd.Series, *, window: Window = None) -> pd.Series:
    """Standard-deviation weights on the min-max standardised children (all rows, or the ``window`` years), then held fixed.

    See :func:`std`. Reference: Wang & Luo (2010), doi:10.1016/j.mcm.2009.07.016.
    """
    w = std(_in_window(children[list(nominal.index)], window, "std"))
    w.attrs["window"] = list(window) if window else None
    return w


# --------------------------------------------------------------------------------------------
# PCA / factor analysis
# --------------------------------------------------------------------------------------------

def _varimax(L: np.ndarray) -> np.ndarray:
    """Varimax rotation with Kaiser normalisation (rows scaled to unit communality first, as R's
    ``stats::varimax`` and SPSS do), computed by ``statsmodels`` ``rotate_factors``."""
    if L.shape[1] < 2:
        return L.copy()
    from statsmodels.multivariate.factor_rotation import rotate_factors

    h = np.sqrt((L**2).sum(axis=1, keepdims=True))
    h = np.where(h > 0, h, 1.0)
    Lr, _ = rotate_factors(L / h, "varimax")
    return Lr * h


def pca(
    data: pd.DataFrame,
    *,
    variant: Literal["handbook", "coinr"] = "handbook",
    n_factors: int | None = None,
) -> pd.Series:
    """Weights from principal components (statsmodels PCA on the correlation matrix).

    Parameters
    ----------
    data : DataFrame, rows = units or unit-years, columns = indicators (direction applied)
    variant : {"handbook", "coinr"}, default="handbook"
        ``handbook`` (OECD/JRC Handbook 2008, step 6, after Nicoletti et al. 2000): keep the
        factors with eigenvalue > 1 (Kaiser), rotate their loadings by varimax, square the rotated
        loadings and scale them to unit sum within each factor; each indicator joins the factor on
        which it loads most, each factor is weighted by its share of the variance the kept factors
        explain, and the products are rescaled to sum to 1. ``coinr``: absolute first-component
        loadings (eigenvector entries) rescaled to sum to 1 (COINr ``get_PCA``, which uses the
        signed loadings; equal when they share a sign).
    n_factors : int, optional
        Number of factors to keep in ``handbook`` (default: every eigenvalue > 1, at least one).

    Returns
    -------
    Series indexed by indicator, summing to 1
        ``attrs``: ``eigenvalues`` and ``explained`` (of the correlation matrix), ``loadings``
        (component loadings eigvec·√λ, per indicator, sign fixed so each component's loadings sum
        >= 0), ``rotated_loadings`` and ``factor_shares`` (handbook), ``kmo``,
        ``kmo_per_indicator``, ``bartlett`` ({statistic, df, pvalue}), ``degenerate``,
        ``rows_used``, ``rows_dropped``.

    Notes
    -----
    The data are z-scored (PCA of the correlation matrix). Rows with a missing indicator are
    left out, as COINr does. A constant indicator has no correlation: it is left out of the PCA
    and gets weight 0 (DegenerateIndicatorWarning). KMO (>= 0.6 wanted) and Bartlett's test
    (p < 0.05 wanted, docs/methodology.md §B4/§E2) are reported, not enforced. With fewer rows than
    indicators the correlation matrix is singular: KMO and Bartlett's statistic are NaN
    (:func:`~index_engine.stats.kmo` says why with a SingularCorrelationWarning) and a
    SmallSampleWarning is issued.

    References
    ----------
    OECD/JRC (2008). Handbook on Constructing Composite Indicators, pp. 89–91.
    doi:10.1787/9789264043466-en.
    Nicoletti, G., Scarpetta, S. & Boylaud, O. (2000). Summary indicators of product market
    regulation. OECD Economics Department WP 226. doi:10.1787/215182844604.
    Kaiser, H. F. (1958). The varimax criterion for analytic rotation in factor analysis.
    Psychometrika 23:187–200. doi:10.1007/BF02289233.

    Examples
    --------
    >>> X = pd.DataFrame({"a": [1.0, 2, 3, 4, 5], "b": [2.0, 1, 4, 3, 5], "c": [1.0, 3, 2, 5, 4]})
    >>> w = pca(X, variant="coinr")
    >>> round(float(w.sum()), 12), w.idxmax()
    (1.0, 'a')
    """
    from statsmodels.multivariate.pca import PCA

    who = "weights.pca"
    if variant not in ("handbook", "coinr"):
        raise SpecError(f"{who}: variant must be 'handbook' or 'coinr'. Got {variant!r} instead")
    X, dropped, arr, const, degenerate = _informative(data, who, "they are left out of the PCA and get weight 0")
    keep = ~const
    cols = list(X.columns[keep])
    p = len(cols)
    score = np.zeros(len(X.columns))
    extra: dict[str, Any] = {"degenerate": degenerate}
    if p == 0:
        w = _normalise(score, X.columns, who)
        return _finish(w, "pca", {"variant": variant, "n_factors": n_factors}, X, dropped, **extra)
    if p == 1:
        score[keep] = 1.0
        w = _normalise(score, X.columns, who)
        return _finish(w, "pca", {"variant": variant, "n_factors": n_factors}, X, dropped, **extra)
    Y = arr[:, keep]
    n = Y.shape[0]
    if n <= p:
        warnings.warn(
            f"{who}: {n} rows for {p} indicators; the correlation matrix is singular, so PCA weights are unstable",
            SmallSampleWarning,
            stacklevel=2,
        )
    res = PCA(Y, ncomp=min(p, n), standardize=True, demean=True, normalize=True, method="eig")
    lam = np.clip(np.asarray(res.eigenvals, dtype=float) / n, 0.0, None)  # eigenvalues of the correlation matrix
    vecs = np.asarray(res.eigenvecs, dtype=float)
    signs = np.where(vecs.sum(axis=0) < 0, -1.0, 1.0)
    vecs = vecs * signs
    loadings = vecs * np.sqrt(lam)
    corr = np.corrcoef(Y, rowvar=False)
    k_all, k_per = kmo(corr)
    extra.update(
        eigenvalues=lam.tolist(),
        explained=(lam / lam.sum()).tolist(),
        loadings={c: row for c, row in zip(cols, loadings.tolist())},
        kmo=k_all,
        kmo_per_indicator=dict(zip(cols, k_per.tolist())),
        bartlett=bartlett_sphericity(corr, n)._asdict(),
    )
    if variant == "coinr":
        score[keep] = np.abs(vecs[:, 0])
    else:
        m = int(n_factors) if n_factors is not None else max(1, int((lam > 1.0).sum()))
        if not 1 <= m <= p:
            raise SpecError(f"{who}: n_factors must be between 1 and {p} (the informative indicators). Got {n_factors!r} instead")
        Lr = _varimax(loadings[:, :m])
        sq = Lr**2
        var = sq.sum(axis=0)
        q = sq / np.where(var > 0, var, 1.0)
        share = var / var.sum()
        home = np.argmax(sq, axis=1)
        score[keep] = q[np.arange(p), home] * share[home]
        extra.update(
            factors_kept=m,
            rotated_loadings={c: row for c, row in zip(cols, Lr.tolist())},
            factor_shares=share.tolist(),
            factor_of={c: int(h) for c, h in zip(cols, home)},
        )
    w = _normalise(score, X.columns, who)
    return _finish(w, "pca", {"variant": variant, "n_factors": n_factors}, X, dropped, **extra)


@WEIGHTS.register("pca", check=_check_window, traits=("reads_data",))
def _pca_node(
    children: pd.DataFrame,
    nominal: pd.Series,
    *,
    variant: Literal["handbook", "coinr"] = "handbook",
    n_factors: Annotated[int, Field(ge=1)] | None = None,
    window: Window = None,
) -> pd.Series:
    """PCA / factor-analysis weights on the children's scores (all rows, or the ``window`` years), then held fixed.

    See :func:`pca`. Reference: OECD/JRC Handbook (2008), doi:10.1787/9789264043466-en.
    """
    w = pca(_in_window(children[list(nominal.index)], window, "pca"), variant=variant, n_factors=n_factors)
    w.attrs["window"] = list(window) if window else None
    return w
