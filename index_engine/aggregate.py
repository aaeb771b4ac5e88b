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

from typing import Annotated

import numpy as np
from pydantic import Field

from .errors import BuildError
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
    present, den, low = _prepare(X, W, min_coverage)
    return _finish(wsum(W, np.where(present, X, 0.0)), den, low)


@AGGREGATE.register("geometric")
def geometric(X: np.ndarray, W: np.ndarray, *, min_coverage: Coverage = 0.0) -> np.ndarray:
    """Weighted geometric mean exp(Σ w·ln x / Σ w) over the children present (COINr ``a_gmean``).

    A value <= 0 is an error naming the unit and node.
    """
    _require_positive(X, "geometric mean")
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


CROSS_ROWS = {"copeland"}
"""Aggregation methods that compare units, so they run one year at a time."""
