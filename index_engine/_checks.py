"""Shared validators, statistics and message formatting."""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np
import pandas as pd

from .errors import DataError


def list_rows(labels: Iterable[Any], limit: int = 5, total: int | None = None) -> str:
    """At most ``limit`` offending rows, then '...' and how many there are (``total`` if given)."""
    labels = list(labels)
    n = len(labels) if total is None else total
    shown = ", ".join(_fmt_label(x) for x in labels[:limit])
    return shown + (f", ... ({n} in all)" if n > limit else "")


def _fmt_label(x: Any) -> str:
    if isinstance(x, tuple):
        unit, year = x[0], x[1] if len(x) > 1 else None
        return f"{unit} {year}" if year is not None and year != NO_YEAR else str(unit)
    return str(x)


NO_YEAR = 0
"""The year label of a one-period index (written as an empty cell)."""


def bad_rows_error(x: pd.Series, mask: np.ndarray, what: str) -> DataError:
    """A DataError naming the (unit, year) rows where ``mask`` holds."""
    rows = list(x.index[np.asarray(mask)])
    vals = list(np.asarray(x)[np.asarray(mask)])
    shown = ", ".join(f"{_fmt_label(r)} ({v:g})" for r, v in zip(rows[:5], vals[:5]))
    more = f", ... ({len(rows)} in all)" if len(rows) > 5 else ""
    return DataError(f"{what}: {shown}{more}")


def skew_excel(x: np.ndarray) -> float:
    """Sample skewness as Excel SKEW and e1071 type 2: G1 = g1·sqrt(n(n-1))/(n-2); NaN if n < 3."""
    x = x[~np.isnan(x)]
    n = x.size
    if n < 3:
        return math.nan
    d = x - x.mean()
    m2 = np.sum(d**2)
    if m2 == 0:
        return math.nan
    g1 = math.sqrt(n) * np.sum(d**3) / m2**1.5
    return g1 * math.sqrt(n * (n - 1)) / (n - 2)


def kurt_excel(x: np.ndarray) -> float:
    """Excess kurtosis as Excel KURT and e1071 type 2; NaN if n < 4.

    r = n·Σd⁴/(Σd²)², G2 = ((n+1)(r−3)+6)(n−1)/((n−2)(n−3)).
    """
    x = x[~np.isnan(x)]
    n = x.size
    if n < 4:
        return math.nan
    d = x - x.mean()
    m2 = np.sum(d**2)
    if m2 == 0:
        return math.nan
    r = n * np.sum(d**4) / m2**2
    return ((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3))
