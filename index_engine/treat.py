"""Outlier treatment (family ``treat``).

A treat method takes one indicator (Series indexed by unit, year; one year at a time unless the
step's ``pool`` is ``all``) on its original direction, and returns the treated Series and a
Series of labels naming what was done to each point ('' for untouched).
"""

from __future__ import annotations

import warnings
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from ._checks import kurt_excel, skew_excel
from .errors import SmallSampleWarning
from .registry import Registry

TREAT = Registry("treat", "Outlier treatment: the JRC skewness/kurtosis rule and friends.")


@TREAT.register("none", traits=("identity", "distributable"))
def none(x: pd.Series) -> tuple[pd.Series, pd.Series]:
    """No treatment."""
    return x, _labels(np.full(len(x), "", dtype=object), x)


def _labels(labels: np.ndarray, x: pd.Series) -> pd.Series:
    """The labels Series of a treatment of ``x``: kept as Python strings (object), as the pipeline reads them."""
    return pd.Series(labels, index=x.index, dtype=object)


def outlying(skew: float, kurtosis: float, skew_thresh: float, kurt_thresh: float) -> bool:
    """The JRC outlier rule: |skew| >= ``skew_thresh`` and kurtosis >= ``kurt_thresh`` (Excel SKEW and
    KURT); False where either is undefined (too few or all equal values). The treatment (:func:`jrc`) and
    the audit's outlier flag both apply it (docs/methodology.md §B2, §H.5)."""
    if np.isnan(skew) or np.isnan(kurtosis):
        return False
    return bool(abs(skew) >= skew_thresh and kurtosis >= kurt_thresh)


def _passes(v: np.ndarray, skew_thresh: float, kurt_thresh: float) -> bool:
    return not outlying(skew_excel(v), kurt_excel(v), skew_thresh, kurt_thresh)


def _fallback(v: np.ndarray, how: str, lmbda: float) -> np.ndarray:
    lo, hi = np.nanmin(v), np.nanmax(v)
    if how == "log_ct":
        return np.log(v - lo + 0.01 * (hi - lo))
    if how == "log_ct_signed":
        # skew-aware variant: mirror for negative skew so the order of units is kept
        if skew_excel(v) < 0:
            return -np.log(hi + 0.01 * (hi - lo) - v)
        return np.log(v - lo + 0.01 * (hi - lo))
    if how == "log_gii":
        return np.log((hi - 1) * (v - lo) / (hi - lo) + 1)
    if how == "boxcox":
        y = v - lo + 1
        return np.log(y) if lmbda == 0 else (y**lmbda - 1) / lmbda
    return v


@TREAT.register("jrc", traits=("across_rows",))
def jrc(
    x: pd.Series,
    *,
    winmax: Annotated[int, Field(ge=0)] | None = 5,
    skew_thresh: Annotated[float, Field(gt=0)] = 2.0,
    kurt_thresh: float = 3.5,
    fallback: Literal["log_ct", "log_ct_signed", "log_gii", "boxcox", "none"] = "log_ct",
    boxcox_lambda: float = 0.5,
    min_points: Annotated[int, Field(ge=4)] = 4,
) -> tuple[pd.Series, pd.Series]:
    """The JRC outlier rule exactly as COINr 1.1.14 ``Treat`` (docs/methodology.md §B2, §H.5).

    An indicator passes when |skew| < ``skew_thresh`` or kurtosis < ``kurt_thresh`` (Excel
    SKEW/KURT). A failing one is winsorised one pass at a time: for skew >= 0 every point equal
    to the maximum takes the largest other value, else the mirror at the minimum; the count of
    winsorised points is the size of the current max and min sets (ties count), and winsorising
    stops at ``winmax`` points or as soon as it passes. If it still fails, the winsorisation is
    dropped and ``fallback`` (default ln(x − min + 0.01·(max − min))) is applied to the original
    values and kept. Fewer than ``min_points`` values: left untouched with a SmallSampleWarning.

    References: Becker W. et al. (2022), COINr: An R package for developing composite indicators,
    JOSS 7(78), 4567, doi:10.21105/joss.04567.
    """
    v = x.to_numpy(dtype=float, copy=True)
    labels = np.full(v.shape, "", dtype=object)
    ok = ~np.isnan(v)
    if ok.sum() < min_points:
        if ok.any():  # (no value at all: the build's EmptyNodeWarning names the indicator)
            warnings.warn(
                f"{x.name}: only {int(ok.sum())} values, outlier test skipped", SmallSampleWarning, stacklevel=2
            )
        return x, _labels(labels, x)
    if _passes(v, skew_thresh, kurt_thresh):
        return x, _labels(labels, x)
    w = v.copy()
    imax = np.zeros(v.shape, bool)
    imin = np.zeros(v.shape, bool)
    nwin = 0
    passing = False
    while not passing and (winmax is None or nwin < winmax):
        if skew_excel(w) >= 0:
            imax = w == np.nanmax(w)
            rest = w[~imax & ok]
            if rest.size == 0:
                break
            w[imax] = rest.max()
        else:
            imin = w == np.nanmin(w)
            rest = w[~imin & ok]
            if rest.size == 0:
                break
            w[imin] = rest.min()
        nwin = int(imax.sum() + imin.sum())
        passing = _passes(w, skew_thresh, kurt_thresh)
    if passing:
        labels[imax] = "winhi"
        labels[imin] = "winlo"
        return pd.Series(w, index=x.index, name=x.name), _labels(labels, x)
    if fallback == "none":
        labels[imax] = "winhi"
        labels[imin] = "winlo"
        return pd.Series(w, index=x.index, name=x.name), _labels(labels, x)
    t = _fallback(v, fallback, boxcox_lambda)
    labels[ok] = fallback
    return pd.Series(t, index=x.index, name=x.name), _labels(labels, x)


@TREAT.register("winsorise", traits=("across_rows",))
def winsorise(
    x: pd.Series,
    *,
    winmax: Annotated[int, Field(ge=0)] | None = 5,
    skew_thresh: Annotated[float, Field(gt=0)] = 2.0,
    kurt_thresh: float = 3.5,
) -> tuple[pd.Series, pd.Series]:
    """The JRC rule's winsorisation alone, kept even if the indicator still fails (no log fallback).

    While |skew| >= ``skew_thresh`` and kurtosis >= ``kurt_thresh``, every point equal to the
    maximum takes the largest other value, x_(n) = x_(n−1) (for skew >= 0; else the mirror at the
    minimum), up to ``winmax`` points. Reference: docs/methodology.md §B2, §H.5; COINr ``winsorise``.
    """
    return jrc(x, winmax=winmax, skew_thresh=skew_thresh, kurt_thresh=kurt_thresh, fallback="none")


@TREAT.register("zscore_clip", traits=("across_rows",))
def zscore_clip(x: pd.Series, *, z: Annotated[float, Field(gt=0)] = 3.0) -> tuple[pd.Series, pd.Series]:
    """EIS outlier rule: |z| > ``z`` replaced by the highest (lowest) non-outlier value.

    z = (x − x̄)/s with s the sample sd (n − 1), over the values given (all countries and years
    when the step's pool is ``all``). Reference: docs/methodology.md §C.1.
    """
    v = x.to_numpy(dtype=float, copy=True)
    labels = np.full(v.shape, "", dtype=object)
    sd = np.nanstd(v, ddof=1) if np.sum(~np.isnan(v)) > 1 else np.nan
    if not sd or np.isnan(sd):
        return x, _labels(labels, x)
    zz = (v - np.nanmean(v)) / sd
    hi, lo = zz > z, zz < -z
    inside = v[~hi & ~lo & ~np.isnan(v)]
    if inside.size:
        v[hi], v[lo] = inside.max(), inside.min()
    labels[hi], labels[lo] = "winhi", "winlo"
    return pd.Series(v, index=x.index, name=x.name), _labels(labels, x)
