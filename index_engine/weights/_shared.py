"""Shared parts of the weighting methods: the registry, the window of years, and the checks and
conventions every data-driven method follows (see the package docstring)."""

from __future__ import annotations

import warnings
from typing import Annotated, Any, NamedTuple, Sequence

import numpy as np
import pandas as pd
from pydantic import Field

from .._checks import bad_rows_error
from ..errors import DataError, DegenerateIndicatorWarning
from ..registry import Registry

WEIGHTS = Registry("weights", "Weights of the children of each aggregate node.")


Window = tuple[int, int] | None
"""``[first_year, last_year]`` (both included) of the rows a data-driven method is estimated on."""

Share = Annotated[float, Field(ge=0, le=1)]


def _check_window(p: dict[str, Any]) -> str | None:
    w = p.get("window")
    if w is not None and w[0] > w[1]:
        return f"window must be [first_year, last_year] with first_year <= last_year. Got {list(w)} instead"
    return None


def _in_window(children: pd.DataFrame, window: Window, who: str) -> pd.DataFrame:
    """The rows of ``children`` whose ``year`` index level lies in ``window`` (all rows if None)."""
    if window is None:
        return children
    if "year" not in (children.index.names or []):
        raise DataError(f"weights.{who}: 'window' needs rows indexed by (unit, year); these rows have no 'year' level")
    years = np.asarray(children.index.get_level_values("year"))
    keep = (years >= window[0]) & (years <= window[1])
    if not keep.any():
        have = sorted(set(years.tolist()))
        raise DataError(
            f"weights.{who}: no rows in the window {window[0]}–{window[1]}; the data have the years "
            f"{have[0]}–{have[-1]}" if have else f"weights.{who}: no rows to estimate on"
        )
    return children[keep]


def _table(data: pd.DataFrame, who: str) -> tuple[pd.DataFrame, int]:
    """``data`` as floats, complete rows only, checked: (table, number of rows dropped)."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"{who} needs a DataFrame (rows = units, columns = indicators); got {type(data).__name__}")
    if data.shape[1] == 0:
        raise DataError(f"{who} needs at least one indicator column")
    try:
        X = data.astype(float)
    except (TypeError, ValueError):
        bad = [c for c in data.columns if not pd.api.types.is_numeric_dtype(data[c])]
        raise DataError(f"{who} needs numeric indicators; not numeric: {', '.join(map(str, bad[:5]))}") from None
    arr = X.to_numpy()
    if np.isinf(arr).any():
        col = X.columns[np.isinf(arr).any(axis=0)][0]
        raise bad_rows_error(X[col], np.isinf(X[col].to_numpy()), f"{who}: indicator {col} has infinite values")
    complete = ~np.isnan(arr).any(axis=1)
    used = X[complete]
    if len(used) < 2:
        raise DataError(
            f"{who} needs at least 2 rows with every indicator present; got {len(used)} of {len(X)} "
            f"(indicators {', '.join(map(str, X.columns[:8]))}{', ...' if X.shape[1] > 8 else ''})"
        )
    return used, int((~complete).sum())


def _require_nonnegative(X: pd.DataFrame, who: str) -> None:
    for col in X.columns:
        neg = X[col].to_numpy() < 0
        if neg.any():
            raise bad_rows_error(X[col], neg, f"{who} needs values >= 0; indicator {col} has negative values")


def _constant(arr: np.ndarray) -> np.ndarray:
    """Columns with zero range (all values equal, to within rounding of the values)."""
    rng = arr.max(axis=0) - arr.min(axis=0)
    scale = np.maximum(np.abs(arr).max(axis=0), 1.0)
    return rng <= 1e-12 * scale


def _warn_constant(cols: Sequence[Any], who: str, rule: str, *, stacklevel: int = 3) -> None:
    if len(cols):
        names = ", ".join(map(str, cols))
        warnings.warn(
            f"{who}: indicator(s) {names} are constant over the rows used, so they carry no information; {rule}",
            DegenerateIndicatorWarning,
            stacklevel=stacklevel,
        )


class Informative(NamedTuple):
    """A data-driven method's table: complete rows as floats, and which columns are constant."""

    X: pd.DataFrame
    dropped: int
    arr: np.ndarray
    const: np.ndarray
    degenerate: list[Any]


def _informative(data: pd.DataFrame, who: str, rule: str, *, nonnegative: bool = False) -> Informative:
    """``data``'s complete rows (checked, and >= 0 if ``nonnegative``) and its constant columns, which
    get a DegenerateIndicatorWarning; ``rule`` says what the method does with them."""
    X, dropped = _table(data, who)
    if nonnegative:
        _require_nonnegative(X, who)
    arr = X.to_numpy()
    const = _constant(arr)
    degenerate = list(X.columns[const])
    _warn_constant(degenerate, who, rule, stacklevel=4)
    return Informative(X, dropped, arr, const, degenerate)


def _normalise(score: np.ndarray, columns: pd.Index, who: str) -> pd.Series:
    """``score / score.sum()`` as a Series; equal weights (with a warning) if every score is 0."""
    score = np.clip(np.asarray(score, dtype=float), 0.0, None)
    total = score.sum()
    if not np.isfinite(total) or total <= 0:
        warnings.warn(
            f"{who}: no indicator separates the units (all scores are 0), so the weights are equal (1/{len(columns)})",
            DegenerateIndicatorWarning,
            stacklevel=3,
        )
        score = np.ones(len(columns))
        total = float(len(columns))
    return pd.Series(score / total, index=columns, name="weight")


def _minmax(arr: np.ndarray, const: np.ndarray) -> np.ndarray:
    """Min-max to [0, 1] per column over all rows; a constant column becomes 0 (never 0/0)."""
    mn = arr.min(axis=0)
    rng = np.where(const, 1.0, arr.max(axis=0) - mn)
    return np.where(const, 0.0, (arr - mn) / rng)


def _finish(w: pd.Series, method: str, params: dict[str, Any], used: pd.DataFrame, dropped: int, **extra: Any) -> pd.Series:
    w.attrs.update({"method": method, "params": params, "rows_used": len(used), "rows_dropped": dropped, **extra})
    return w
