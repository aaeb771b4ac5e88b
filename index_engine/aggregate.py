"""Aggregation methods (family ``aggregate``), batched over weight samples.

An aggregation method takes the children's scores ``X`` (array, rows × children, or samples ×
rows × children when the children differ by sample; NaN for missing) and weights ``W`` (array,
samples × children) and returns the parent's scores for every sample (array, samples × rows). A single build is one sample; uncertainty analysis passes
thousands at once, so every mean here is a matrix product, never a loop over units.

Missing children (§H.4, COINr): the arithmetic, geometric and harmonic means and the median
drop them and renormalise the remaining weights; the generalised mean is missing if any child
is. ``min_coverage`` leaves a parent missing when the share of its children with data is below
it (strict <).
"""

from __future__ import annotations

import warnings
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from .errors import BuildError, DataError
from .registry import Registry

AGGREGATE = Registry("aggregate", "Combining children into their parent's score.")

Coverage = Annotated[float, Field(ge=0, le=1)]


class DomainError(BuildError):
    """A value outside a mean's domain (for example <= 0 in a geometric mean)."""

    def __init__(self, message: str, rows: np.ndarray):
        super().__init__(message)
        self.rows = rows


def wsum(W: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Σ_c W[s, c]·A[..., r, c] as samples × rows: one matrix product for a 2-D ``A``."""
    if A.ndim == 2:
        return W @ A.T
    return np.einsum("sc,src->sr", W, A, optimize=True)


def _complete(X: np.ndarray) -> bool:
    """No child missing anywhere (then the weights present are all the weights)."""
    return not np.isnan(X.sum())


def _full_mean(num: np.ndarray, W: np.ndarray) -> np.ndarray:
    """num / Σ w for samples × rows when no child is missing (all weights 0: missing)."""
    den = W.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[np.broadcast_to(den == 0, out.shape)] = np.nan
    return out


def _prepare(X: np.ndarray, W: np.ndarray, min_coverage: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    present = ~np.isnan(X)
    den = wsum(W, present.astype(float))  # samples × rows: weight of the children present
    if min_coverage > 0:
        low = np.broadcast_to(present.mean(axis=-1) < min_coverage, den.shape)
    else:
        low = np.zeros(den.shape, bool)
    return present, den, low


def _finish(num: np.ndarray, den: np.ndarray, low: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[low | (den == 0)] = np.nan
    return out


def _per_sample(X: np.ndarray, S: int):
    """The rows × children matrix of each sample."""
    for s in range(S):
        yield s, (X if X.ndim == 2 else X[s])


def _require_positive(X: np.ndarray, what: str) -> None:
    bad = (X <= 0) & ~np.isnan(X)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=-1).reshape(-1, bad.shape[-2]).any(axis=0))
        raise DomainError(f"a {what} needs values > 0 (min-max 1–100 is the usual choice); values are never shifted silently", rows)


@AGGREGATE.register("arithmetic")
def arithmetic(X: np.ndarray, W: np.ndarray, *, min_coverage: Coverage = 0.0) -> np.ndarray:
    """Weighted arithmetic mean Σ w·x / Σ w over the children present (COINr ``a_amean``)."""
    if _complete(X):  # every child present: Σ w over the children is the same for every row
        return _full_mean(wsum(W, X), W)
    present, den, low = _prepare(X, W, min_coverage)
    return _finish(wsum(W, np.where(present, X, 0.0)), den, low)


@AGGREGATE.register("geometric")
def geometric(X: np.ndarray, W: np.ndarray, *, min_coverage: Coverage = 0.0) -> np.ndarray:
    """Weighted geometric mean exp(Σ w·ln x / Σ w) over the children present (COINr ``a_gmean``).

    A value <= 0 is an error naming the unit and node.
    """
    _require_positive(X, "geometric mean")
    if _complete(X):
        return np.exp(_full_mean(wsum(W, np.log(X)), W))
    present, den, low = _prepare(X, W, min_coverage)
    with np.errstate(divide="ignore"):
        logs = np.where(present, np.log(np.where(present, X, 1.0)), 0.0)
    return np.exp(_finish(wsum(W, logs), den, low))


@AGGREGATE.register("harmonic")
def harmonic(X: np.ndarray, W: np.ndarray, *, min_coverage: Coverage = 0.0) -> np.ndarray:
    """Weighted harmonic mean Σ w / Σ (w / x) over the children present (COINr ``a_hmean``)."""
    _require_positive(X, "harmonic mean")
    present, den, low = _prepare(X, W, min_coverage)
    inv = np.where(present, 1.0 / np.where(present, X, 1.0), 0.0)
    return 1.0 / _finish(wsum(W, inv), den, low)


@AGGREGATE.register("generalised")
def generalised(X: np.ndarray, W: np.ndarray, *, p: float = 1.0, min_coverage: Coverage = 0.0) -> np.ndarray:
    """Generalised (power) mean (Σ w·x^p / Σ w)^(1/p); p = 0 is the geometric mean (COINr ``a_genmean``).

    Missing if any child is missing. p <= 0 or a non-integer p needs values > 0.
    """
    incomplete = np.isnan(X).any(axis=-1, keepdims=True)
    if p == 0:
        return geometric(np.where(incomplete, np.nan, X), W, min_coverage=min_coverage)
    if p < 0 or p != int(p):
        _require_positive(X, f"generalised mean with p = {p:g}")
    Xz = np.where(np.isnan(X), 0.0, X)
    out = (wsum(W, Xz**p) / W.sum(axis=1, keepdims=True)) ** (1.0 / p)
    out[np.broadcast_to(incomplete[..., 0], out.shape)] = np.nan
    return out


@AGGREGATE.register("median")
def median(X: np.ndarray, W: np.ndarray, *, min_coverage: Coverage = 0.0) -> np.ndarray:
    """Weighted median of the children present: the value where the cumulative weight first
    reaches half the total, averaged with the next value when it lands exactly on half (with
    equal weights this is the ordinary median)."""
    present, den, low = _prepare(X, W, min_coverage)
    out = np.empty(den.shape)
    for s, Xs in _per_sample(X, W.shape[0]):
        ok = ~np.isnan(Xs)
        order = np.argsort(np.where(ok, Xs, np.inf), axis=1)
        xs = np.take_along_axis(np.where(ok, Xs, np.nan), order, axis=1)
        ws = np.take_along_axis(np.where(ok, W[s][None, :], 0.0), order, axis=1)
        cum = np.cumsum(ws, axis=1)
        half = cum[:, -1:] / 2
        k = np.argmax(cum >= half * (1 - 1e-12), axis=1)
        rows = np.arange(Xs.shape[0])
        val = xs[rows, k]
        nxt = np.minimum(k + 1, Xs.shape[1] - 1)
        exact = np.isclose(cum[rows, k], half[:, 0]) & (nxt > k)
        out[s] = np.where(exact, (val + xs[rows, nxt]) / 2, val)
    out[low | (den == 0)] = np.nan
    return out


@AGGREGATE.register("copeland")
def copeland(X: np.ndarray, W: np.ndarray, *, min_coverage: Coverage = 0.0) -> np.ndarray:
    """Copeland score: for each pair of units, the one better on a weighted majority of children
    gains 1 and the other loses 1 (ties 0); children missing for either unit are left out of
    that pair. Non-compensatory (Munda 2008, Social Multi-Criteria Evaluation). O(rows²)."""
    present, den, low = _prepare(X, W, min_coverage)
    R = X.shape[-2]
    if R > 20000:
        raise BuildError(f"copeland compares every pair of units; {R} rows is too many (at most 20,000)")
    out = np.empty(den.shape)
    for s, Xs in _per_sample(X, W.shape[0]):
        gt = (Xs[:, None, :] > Xs[None, :, :]).astype(float)
        lt = (Xs[:, None, :] < Xs[None, :, :]).astype(float)
        out[s] = np.sign(gt @ W[s] - lt @ W[s]).sum(axis=1)
    out[low | (den == 0)] = np.nan
    return out


@AGGREGATE.register("sum")
def total(X: np.ndarray, W: np.ndarray, *, min_coverage: Coverage = 0.0) -> np.ndarray:
    """Weighted sum Σ w·x with the weights rescaled to add up to the number of children, so equal
    weights give the plain sum (points scales, 企业创新积分制). A missing child counts 0."""
    present, den, low = _prepare(X, W, min_coverage)
    k = X.shape[-1]
    Wk = W * (k / W.sum(axis=1, keepdims=True))
    out = wsum(Wk, np.where(present, X, 0.0))
    out[low | (den == 0)] = np.nan
    return out


CROSS_ROWS = {"copeland"}
"""Aggregation methods that compare units, so they run one year at a time."""


Normalisation = Literal["vector", "minmax"]


def _topsis_distances(X: np.ndarray, W: np.ndarray, normalisation: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(D⁺, D⁻) as samples × rows, and the normalised best and worst value of each child.

    Normalisation, ideal and anti-ideal are taken per child over the rows given (ignoring
    missing values); distances sum over the children present in each row.
    """
    if normalisation not in ("vector", "minmax"):
        raise BuildError(f"topsis normalisation must be 'vector' or 'minmax'. Got {normalisation!r} instead")
    present = ~np.isnan(X)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-missing children: nan-reductions of empty slices
        if normalisation == "vector":
            norm = np.sqrt(np.nansum(X**2, axis=-2, keepdims=True))
            R = np.where(norm > 0, X / np.where(norm > 0, norm, 1.0), 0.0)
        else:
            lo = np.nanmin(X, axis=-2, keepdims=True)
            rng = np.nanmax(X, axis=-2, keepdims=True) - lo
            R = np.where(rng > 0, (X - lo) / np.where(rng > 0, rng, 1.0), 0.0)
        R = np.where(present, R, np.nan)
        best = np.nanmax(R, axis=-2, keepdims=True)  # w >= 0, so V⁺ = w·max r and V⁻ = w·min r
        worst = np.nanmin(R, axis=-2, keepdims=True)
    W2 = W**2
    dp = np.sqrt(wsum(W2, np.where(present, (R - best) ** 2, 0.0)))
    dm = np.sqrt(wsum(W2, np.where(present, (R - worst) ** 2, 0.0)))
    return dp, dm, best, worst


@AGGREGATE.register("topsis")
def topsis_scores(
    X: np.ndarray,
    W: np.ndarray,
    *,
    normalisation: Normalisation = "vector",
    scale: Annotated[float, Field(gt=0)] = 1.0,
    min_coverage: Coverage = 0.0,
) -> np.ndarray:
    """TOPSIS closeness C = D⁻/(D⁺ + D⁻) ∈ [0, 1] (× ``scale``) to the ideal point (Hwang & Yoon 1981).

    Each child is normalised over the rows (``vector``: x/√Σx²; ``minmax``: (x − min)/(max − min)),
    weighted, and compared with the best (ideal) and worst (anti-ideal) row value of each child.
    **The ideal points are pooled over the rows given**: in a build that is every unit and year
    together (aggregation runs over all rows at once), so a unit's score is its closeness to the
    best value seen anywhere in the panel, which keeps years comparable. Missing children are
    dropped per row (the distances sum over the children present); a row with no child present,
    or below ``min_coverage``, is missing. A row at both the ideal and the anti-ideal (every row
    ties on every child) gets C = 0.5. Reference: Hwang, C.-L. & Yoon, K. (1981), Multiple
    Attribute Decision Making, Springer, doi:10.1007/978-3-642-48318-9.
    """
    present, den, low = _prepare(X, W, min_coverage)
    dp, dm, _, _ = _topsis_distances(X, W, normalisation)
    tot = dp + dm
    with np.errstate(invalid="ignore", divide="ignore"):
        C = np.where(tot > 0, dm / np.where(tot > 0, tot, 1.0), 0.5)
    out = C * scale
    out[low | (den == 0)] = np.nan
    return out


def topsis(
    data: pd.DataFrame,
    weights: pd.Series | np.ndarray | list[float],
    *,
    normalisation: Normalisation = "vector",
    scale: float = 1.0,
) -> pd.Series:
    """TOPSIS scores of the rows of ``data``: closeness to the ideal point, C = D⁻/(D⁺ + D⁻).

    Parameters
    ----------
    data : DataFrame, rows = units or unit-years, columns = indicators (direction applied, so
        larger is better for every column)
    weights : Series indexed by column (or array in column order)
        Non-negative; only their ratios matter.
    normalisation : {"vector", "minmax"}, default="vector"
        r = x/√Σx² (Hwang & Yoon) or r = (x − min)/(max − min) (METHODOLOGY §E2); a constant
        column normalises to 0 and adds nothing to either distance.
    scale : float, default=1.0
        Multiplies C (e.g. 100 for a 0–100 score).

    Returns
    -------
    Series indexed like ``data``, values in [0, ``scale``]
        ``attrs`` (plain dicts, so pandas can combine results): ``d_plus`` and ``d_minus`` (by row
        label), ``ideal`` and ``anti_ideal`` (weighted normalised values per column),
        ``normalisation``, ``weights``.

    Notes
    -----
    Ideal and anti-ideal points are pooled over **the rows given**: pass one year to compare
    units within that year, or the whole panel for scores comparable over time. Missing values
    are dropped per row; a row with every value missing is missing.

    References
    ----------
    Hwang, C.-L. & Yoon, K. (1981). Multiple Attribute Decision Making, pp. 128–134. Springer.
    doi:10.1007/978-3-642-48318-9. METHODOLOGY.md §E2.

    Examples
    --------
    >>> X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 2.0, 1.0]}, index=["x", "y", "z"])
    >>> topsis(X, pd.Series({"a": 0.5, "b": 0.5})).round(3).tolist()
    [0.5, 0.5, 0.5]
    >>> topsis(X, pd.Series({"a": 0.75, "b": 0.25}), normalisation="minmax").round(3).tolist()
    [0.25, 0.5, 0.75]
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"topsis needs a DataFrame (rows = units, columns = indicators); got {type(data).__name__}")
    if isinstance(weights, pd.Series):
        missing = [c for c in data.columns if c not in weights.index]
        if missing:
            raise DataError(f"topsis: no weight for column(s) {', '.join(map(str, missing))}")
        w = weights.reindex(data.columns).to_numpy(dtype=float)
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != (data.shape[1],):
            raise DataError(f"topsis: {w.size} weights for {data.shape[1]} columns")
    if (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
        raise DataError(f"topsis: weights must be finite, >= 0 and not all 0. Got {w.tolist()} instead")
    if not scale > 0:
        raise DataError(f"topsis: scale must be > 0. Got {scale!r} instead")
    X = data.to_numpy(dtype=float)
    W = w[None, :]
    C = topsis_scores(X, W, normalisation=normalisation, scale=scale)[0]
    dp, dm, best, worst = _topsis_distances(X, W, normalisation)
    out = pd.Series(C, index=data.index, name="topsis")
    out.attrs.update(
        {
            "normalisation": normalisation,
            "weights": dict(zip(data.columns, w.tolist())),
            "d_plus": dict(zip(data.index, dp[0].tolist())),
            "d_minus": dict(zip(data.index, dm[0].tolist())),
            "ideal": dict(zip(data.columns, (w * best[0]).tolist())),
            "anti_ideal": dict(zip(data.columns, (w * worst[0]).tolist())),
        }
    )
    return out
