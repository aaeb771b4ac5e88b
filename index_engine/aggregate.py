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
from dataclasses import dataclass
from typing import Annotated, Any, Callable, Literal, Mapping, Sequence

import numpy as np
import pandas as pd
from pydantic import Field

from .errors import BuildError, DataError
from .registry import Method, Registry

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
    return np.matmul(A, W[:, :, None])[..., 0]  # one small product per sample (as einsum's bmm path, without its planning)


def row_sum(W: np.ndarray) -> np.ndarray:
    """Σ_c W[s, c] as samples × 1: a product with ones (a reduction along a short axis is slow)."""
    return (W @ np.ones(W.shape[1]))[:, None]


def row_max(W: np.ndarray) -> np.ndarray:
    """max_c W[s, c] as samples × 1, one column at a time (a reduction along a short axis is slow)."""
    m = W[:, 0].copy()
    for j in range(1, W.shape[1]):
        np.maximum(m, W[:, j], out=m)
    return m[:, None]


def _complete(X: np.ndarray) -> bool:
    """No child missing anywhere (then the weights present are all the weights)."""
    return not np.isnan(X.sum())


def _full_mean(num: np.ndarray, W: np.ndarray) -> np.ndarray:
    """num / Σ w for samples × rows when no child is missing (all weights 0: missing), in place."""
    den = row_sum(W)
    with np.errstate(invalid="ignore", divide="ignore"):
        num /= den
    zero = den[:, 0] == 0
    if zero.any():
        num[zero] = np.nan
    return num


def _prepare(X: np.ndarray, W: np.ndarray, min_coverage: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    present = ~np.isnan(X)
    den = wsum(W, present.astype(float))  # samples × rows: weight of the children present
    if min_coverage > 0:
        low = np.broadcast_to(present.mean(axis=-1) < min_coverage, den.shape)
    else:
        low = np.zeros(den.shape, bool)
    return present, den, low


def _finish(num: np.ndarray, den: np.ndarray, low: np.ndarray | None) -> np.ndarray:
    """num / den, missing where no weight is present (den = 0) or coverage is ``low``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    bad = den == 0 if low is None else low | (den == 0)
    if bad.any():
        out[np.broadcast_to(bad, out.shape)] = np.nan
    return out


def _per_sample(X: np.ndarray, S: int):
    """The rows × children matrix of each sample."""
    for s in range(S):
        yield s, (X if X.ndim == 2 else X[s])


def _require_positive(X: np.ndarray, what: str) -> None:
    bad = X <= 0  # NaN compares False: missing values pass
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=-1).reshape(-1, bad.shape[-2]).any(axis=0))
        raise DomainError(f"a {what} needs values > 0 (min-max 1–100 is the usual choice); values are never shifted silently", rows)


@dataclass(frozen=True)
class QuasiArithmetic:
    """A weighted quasi-arithmetic (Kolmogorov–Nagumo) mean M = φ⁻¹(Σ w·φ(x) / Σ w).

    φ(x) = x^p for p ≠ 0 and ln x for p = 0: p = 1 is the arithmetic mean, 0 the geometric, −1
    the harmonic (Hardy, Littlewood & Pólya 1934, Inequalities, §3.1–3.2). Written this way every
    such mean is a linear combination of φ(x), so a batch of weight samples is one matrix product.
    """

    p: float
    positive: str | None = None  # the mean's name when it needs values > 0
    complete: bool = False  # missing if any child is missing (else: drop them and renormalise)

    def phi(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """φ(x); ``x`` itself for the arithmetic mean unless ``out`` is given."""
        if self.p == 1:
            if out is None:
                return x
            out[...] = x
            return out
        if self.p == 0:
            return np.log(x, out=out)
        if self.p == -1:
            return np.reciprocal(x, out=out)
        return np.power(x, self.p, out=out)

    def inverse(self, y: np.ndarray) -> np.ndarray:
        """φ⁻¹(y), in place."""
        if self.p == 1:
            return y
        if self.p == 0:
            return np.exp(y, out=y)
        if self.p == -1:
            return np.reciprocal(y, out=y)
        return np.power(y, 1.0 / self.p, out=y)

    @property
    def sign_safe(self) -> bool:
        """φ⁻¹ is defined on every mean of φ values whatever their signs (p = 1 or an even integer),
        so φ(φ⁻¹(y)) = y; for an odd power a negative mean has no real root."""
        return self.p == 1 or (self.p > 0 and self.p % 2 == 0)

    @property
    def positive_leaves(self) -> bool:
        """A linear form of nested means needs values > 0: φ's domain, or φ⁻¹ not sign safe."""
        return bool(self.positive) or not self.sign_safe

    def check(self, X: np.ndarray) -> None:
        if self.positive:
            _require_positive(X, self.positive)


_IDENTITY = QuasiArithmetic(1.0)
_GEOMETRIC = QuasiArithmetic(0.0, "geometric mean")
_HARMONIC = QuasiArithmetic(-1.0, "harmonic mean")


def _power(params: Mapping[str, Any]) -> QuasiArithmetic:
    p = float(params.get("p", 1.0))
    if p == 0:
        return QuasiArithmetic(0.0, "geometric mean", complete=True)
    positive = f"generalised mean with p = {p:g}" if p < 0 or p != int(p) else None
    return QuasiArithmetic(p, positive, complete=True)


def quasi_form(form: Callable[[Mapping[str, Any]], QuasiArithmetic]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare, where a mean registers, its φ form as a function of its params (see
    :func:`quasi_arithmetic`); the batched evaluator then treats it as a linear form of φ(x)."""

    def deco(func: Callable[..., Any]) -> Callable[..., Any]:
        func.quasi_form = form  # type: ignore[attr-defined]
        return func

    return deco


def linear(coefficients: Callable[[np.ndarray], np.ndarray]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare, where an aggregation registers, that with every child present the parent's score is
    Σ c·x, with the coefficients ``c = coefficients(W)`` (samples × children) of the weights ``W``; see
    :func:`linear_coefficients`."""

    def deco(func: Callable[..., Any]) -> Callable[..., Any]:
        func.linear = coefficients  # type: ignore[attr-defined]
        return func

    return deco


def weights_to_one(W: np.ndarray) -> np.ndarray:
    """w / Σ w: the weights of a mean, adding up to 1."""
    return W / row_sum(W)


def weights_to_count(W: np.ndarray) -> np.ndarray:
    """w · k / Σ w for k children: the weights of a sum, adding up to the number of children (equal
    weights give the plain sum)."""
    return W * (W.shape[-1] / row_sum(W))


def linear_coefficients(method: Method | str, W: np.ndarray) -> np.ndarray | None:
    """What each child's score counts for in its parent's, with every child present, for an aggregation
    declared :func:`linear` (the arithmetic mean: w / Σ w; the sum: w · k / Σ w), as samples × children of
    the weights ``W`` (samples × children, or one row of weights); None for any other method."""
    if isinstance(method, str):
        method = AGGREGATE.get(method)
    coefficients = getattr(method.func, "linear", None)
    return coefficients(np.atleast_2d(np.asarray(W, dtype=float))) if coefficients is not None else None


def quasi_arithmetic(method: Method | str, params: Mapping[str, Any]) -> QuasiArithmetic | None:
    """The φ form a registered mean declared with :func:`quasi_form` (arithmetic, geometric,
    harmonic, generalised), for its ``params``; None for any other method."""
    if isinstance(method, str):
        method = AGGREGATE.get(method)
    form = getattr(method.func, "quasi_form", None)
    return form(params) if form is not None else None


def _quasi_mean(X: np.ndarray, W: np.ndarray, form: QuasiArithmetic, min_coverage: float) -> np.ndarray:
    """φ⁻¹(Σ w·φ(x) / Σ w) over the children present, for X rows × children or samples × rows × children."""
    if form.complete:  # a row with a child missing is missing: its other values are not checked
        X = np.where(np.isnan(X).any(axis=-1, keepdims=True), np.nan, X)
    form.check(X)
    if _complete(X):  # every child present: Σ w over the children is the same for every row
        return form.inverse(_full_mean(wsum(W, form.phi(X)), W))
    present, den, low = _prepare(X, W, min_coverage)
    if form.complete:
        low = low | np.broadcast_to(~present.all(axis=-1), den.shape)
    with np.errstate(divide="ignore"):
        vals = np.where(present, form.phi(np.where(present, X, 1.0)), 0.0)
    return form.inverse(_finish(wsum(W, vals), den, low))


@AGGREGATE.register("arithmetic", traits=("mean", "rowwise", "distributable"))
@quasi_form(lambda params: _IDENTITY)
@linear(weights_to_one)
def arithmetic(X: np.ndarray, W: np.ndarray, *, min_coverage: Coverage = 0.0) -> np.ndarray:
    """Weighted arithmetic mean Σ w·x / Σ w over the children present (COINr ``a_amean``).

    Reference: OECD/JRC Handbook on Constructing Composite Indicators (2008), step 6, doi:10.1787/9789264043466-en; docs/methodology.md §H.4 (missing children).
    """
    return _quasi_mean(X, W, _IDENTITY, min_coverage)


@AGGREGATE.register("geometric", traits=("mean", "rowwise", "distributable"))
@quasi_form(lambda params: _GEOMETRIC)
def geometric(X: np.ndarray, W: np.ndarray, *, min_coverage: Coverage = 0.0) -> np.ndarray:
    """Weighted geometric mean exp(Σ w·ln x / Σ w) over the children present (COINr ``a_gmean``).

    A value <= 0 is an error naming the unit and node. Reference: OECD/JRC Handbook on Constructing Composite Indicators (2008), step 6, doi:10.1787/9789264043466-en; docs/methodology.md §H.4.
    """
    return _quasi_mean(X, W, _GEOMETRIC, min_coverage)


@AGGREGATE.register("harmonic", traits=("mean", "rowwise", "distributable"))
@quasi_form(lambda params: _HARMONIC)
def harmonic(X: np.ndarray, W: np.ndarray, *, min_coverage: Coverage = 0.0) -> np.ndarray:
    """Weighted harmonic mean Σ w / Σ (w / x) over the children present (COINr ``a_hmean``).

    Reference: Hardy, Littlewood & Pólya (1934), Inequalities, ch. 2 (weighted means); OECD/JRC Handbook on Constructing Composite Indicators (2008), step 6, doi:10.1787/9789264043466-en; docs/methodology.md §H.4.
    """
    return _quasi_mean(X, W, _HARMONIC, min_coverage)


@AGGREGATE.register("generalised", traits=("mean", "rowwise", "distributable"))
@quasi_form(_power)
def generalised(X: np.ndarray, W: np.ndarray, *, p: float = 1.0, min_coverage: Coverage = 0.0) -> np.ndarray:
    """Generalised (power) mean (Σ w·x^p / Σ w)^(1/p); p = 0 is the geometric mean (COINr ``a_genmean``).

    Missing if any child is missing. p <= 0 or a non-integer p needs values > 0. Reference:
    Hardy, Littlewood & Pólya (1934), Inequalities, ch. 2; Decancq & Lugo (2013), Econometric
    Reviews 32(1), doi:10.1080/07474938.2012.690641.
    """
    return _quasi_mean(X, W, _power({"p": p}), min_coverage)


def quasi_mean_by_block(
    form: QuasiArithmetic, X: np.ndarray, W: np.ndarray, bounds: np.ndarray, min_coverage: float = 0.0
) -> np.ndarray:
    """The mean for blocks of samples that share their children: samples × rows.

    ``X`` is blocks × rows × children, ``W`` samples × children, and samples ``bounds[g]`` to
    ``bounds[g + 1]`` use block g. φ is applied once per block; each block is one matrix product.
    """
    form.check(X)
    S, R = W.shape[0], X.shape[1]
    present = ~np.isnan(X)
    num = np.empty((S, R))
    if present.all():
        Phi = form.phi(X)
        for g in range(X.shape[0]):
            num[bounds[g] : bounds[g + 1]] = W[bounds[g] : bounds[g + 1]] @ Phi[g].T
        return form.inverse(_full_mean(num, W))
    with np.errstate(divide="ignore"):
        Phi = np.where(present, form.phi(np.where(present, X, 1.0)), 0.0)
    den = np.empty((S, R))
    low = np.empty((S, R), bool)
    for g in range(X.shape[0]):
        sl = slice(bounds[g], bounds[g + 1])
        num[sl] = W[sl] @ Phi[g].T
        den[sl] = W[sl] @ present[g].T
        cover = present[g].mean(axis=1)
        low[sl] = (cover < min_coverage) | (form.complete & (cover < 1))
    return form.inverse(_finish(num, den, low))


def quasi_mean_by_child(
    form: QuasiArithmetic, children: Sequence[np.ndarray], W: np.ndarray, min_coverage: float = 0.0
) -> np.ndarray:
    """The mean when every child is its own samples × rows array (children that vary by sample).

    Accumulates Σ_c w_c·φ(x_c) child by child in one scratch array, without a samples × rows ×
    children array.
    """
    for x in children:
        form.check(x[..., None])  # samples × rows × 1: an error names rows, not samples
    if not all(_complete(x) for x in children):
        return _quasi_mean(np.stack(children, axis=-1), W, form, min_coverage)
    num = np.zeros(children[0].shape)
    tmp = np.empty_like(num)
    for c, x in enumerate(children):
        form.phi(x, out=tmp)
        tmp *= W[:, c : c + 1]
        num += tmp
    return form.inverse(_full_mean(num, W))


@AGGREGATE.register("median", traits=("rowwise", "distributable"))
def median(X: np.ndarray, W: np.ndarray, *, min_coverage: Coverage = 0.0) -> np.ndarray:
    """Weighted median of the children present: the value m where the cumulative weight first
    reaches half the total, Σ_{x ≤ m} w ≥ Σ w / 2, averaged with the next value when it lands
    exactly on half (with equal weights this is the ordinary median). Not a mean, so no
    contributions are reported. Reference: Edgeworth (1888), "On a new method of reducing
    observations relating to several quantities", Phil. Mag. 25(154), doi:10.1080/14786448808628170.
    """
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


@AGGREGATE.register("copeland", traits=("across_rows", "per_year"))
def copeland(X: np.ndarray, W: np.ndarray, *, min_coverage: Coverage = 0.0) -> np.ndarray:
    """Copeland score: for each pair of units, the one better on a weighted majority of children
    gains 1 and the other loses 1 (ties 0); children missing for either unit are left out of
    that pair: C(a) = Σ_b sign(Σ_i w_i·[x_ai > x_bi] − Σ_i w_i·[x_ai < x_bi]). Non-compensatory
    (Munda 2008, Social Multi-Criteria Evaluation). O(rows²)."""
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


@AGGREGATE.register("sum", traits=("rowwise", "distributable"))
@linear(weights_to_count)
def total(X: np.ndarray, W: np.ndarray, *, min_coverage: Coverage = 0.0) -> np.ndarray:
    """Weighted sum Σ w·x with the weights rescaled to add up to the number of children, so equal
    weights give the plain sum (points scales, 企业创新积分制). A missing child counts 0.

    Reference: additive (linear) aggregation, OECD/JRC Handbook on Constructing Composite Indicators (2008), step 6, doi:10.1787/9789264043466-en.
    """
    Wk = weights_to_count(W)
    out = np.empty((W.shape[0], X.shape[-2]))
    # weights >= 0, some > 0 in every sample: with every child present the weight present is > 0 and the
    # coverage 1, so a block without a missing child is summed as it is (the same array, the same product)
    weighs = min_coverage <= 1 and bool(np.all(W >= 0) and np.all(np.isfinite(W)) and np.all(np.any(W > 0, axis=-1)))
    for rows in _row_blocks(X.shape[-2]):  # a block of rows at a time: temporaries stay small
        Xr = X[..., rows, :]
        if weighs and Xr.flags.c_contiguous and _complete(Xr):
            out[:, rows] = wsum(Wk, Xr)
            continue
        present, den, low = _prepare(Xr, W, min_coverage)
        part = wsum(Wk, np.where(present, Xr, 0.0))
        part[low | (den == 0)] = np.nan
        out[:, rows] = part
    return out


ROW_BLOCK = 1 << 16
"""Rows per block where a method works through the rows in blocks (a few MB of temporaries per block)."""


def _row_blocks(n: int) -> list[slice]:
    return [slice(i, min(i + ROW_BLOCK, n)) for i in range(0, n, ROW_BLOCK)]


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


@AGGREGATE.register("topsis", traits=("across_rows",))
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
        r = x/√Σx² (Hwang & Yoon) or r = (x − min)/(max − min) (docs/methodology.md §E2); a constant
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
    doi:10.1007/978-3-642-48318-9. docs/methodology.md §E2.

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
