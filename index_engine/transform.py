"""Transforms (family ``transform``) and denominators (family ``denominate``).

A transform takes one indicator as a Series indexed by (unit, year) and returns a Series on the
same index. It runs before anything else, so it sees the raw values.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
import pandas as pd
from pydantic import Field

from ._checks import bad_rows_error
from .registry import Registry

TRANSFORM = Registry("transform", "Per-indicator transforms applied to the raw data.")
DENOMINATE = Registry("denominate", "Scaling by a denominator column (per GDP, per capita, ...).")


@TRANSFORM.register("none", traits=("identity", "distributable"))
def none(x: pd.Series) -> pd.Series:
    """Leave the values as they are."""
    return x


@TRANSFORM.register("log", traits=("distributable",))
def log(x: pd.Series, *, base: Annotated[float, Field(gt=0)] | None = None) -> pd.Series:
    """Natural logarithm ln(x) (or log to ``base``); a value <= 0 is an error naming its rows.

    ln(x)/ln(base) for a ``base``. Skewed indicators are transformed before normalisation
    (OECD/JRC Handbook 2008, step 5; docs/methodology.md §A, §B2).
    """
    bad = (x <= 0).to_numpy()
    if bad.any():
        raise bad_rows_error(x, bad, "log needs values > 0; these are not")
    out = np.log(x)
    return out / np.log(base) if base else out


@TRANSFORM.register("log1p", traits=("distributable",))
def log1p(x: pd.Series) -> pd.Series:
    """ln(1 + x), for counts with zeros; a value <= -1 is an error.

    The log transform of a skewed indicator (docs/methodology.md §A, step 5), defined at 0.
    """
    bad = (x <= -1).to_numpy()
    if bad.any():
        raise bad_rows_error(x, bad, "log1p needs values > -1; these are not")
    return np.log1p(x)


@TRANSFORM.register("sqrt", traits=("distributable",))
def sqrt(x: pd.Series) -> pd.Series:
    """Square root √x; a negative value is an error.

    EIS practice for skewed indicators (docs/methodology.md §C.5).
    """
    bad = (x < 0).to_numpy()
    if bad.any():
        raise bad_rows_error(x, bad, "sqrt needs values >= 0; these are not")
    return np.sqrt(x)


@TRANSFORM.register("boxcox", traits=("distributable",))
def boxcox(x: pd.Series, *, lmbda: float, shift: float = 0.0) -> pd.Series:
    """Box-Cox with a fixed λ: ((x+shift)^λ − 1)/λ, or ln(x+shift) when λ = 0 (Box and Cox 1964).

    Values are never shifted silently: ``shift`` is explicit, and x + shift <= 0 is an error.
    Reference: Box, G. E. P. & Cox, D. R. (1964), An analysis of transformations, JRSS-B 26(2),
    211–252, doi:10.1111/j.2517-6161.1964.tb00553.x; docs/methodology.md §B2.
    """
    y = x + shift
    bad = (y <= 0).to_numpy()
    if bad.any():
        raise bad_rows_error(x, bad, f"boxcox needs x + shift > 0 (shift = {shift:g}); these are not")
    return np.log(y) if lmbda == 0 else (y**lmbda - 1) / lmbda


def _cap_check(p: dict) -> str | None:
    if p["lower"] is None and p["upper"] is None:
        return "give 'lower', 'upper' or both"
    if p["lower"] is not None and p["upper"] is not None and p["lower"] > p["upper"]:
        return f"'lower' ({p['lower']:g}) must not exceed 'upper' ({p['upper']:g})"
    return None


@TRANSFORM.register("cap", check=_cap_check, traits=("distributable",))
def cap(x: pd.Series, *, lower: float | None = None, upper: float | None = None) -> pd.Series:
    """Clip values to [lower, upper]: min(max(x, lower), upper) (either bound optional).

    As the HDI caps its indicators at the upper goalposts (docs/methodology.md §D).
    """
    return x.clip(lower=lower, upper=upper)


@TRANSFORM.register("rolling_sum", traits=("across_years", "distributable"))
def rolling_sum(
    x: pd.Series,
    *,
    window: Annotated[int, Field(ge=1)] = 3,
    min_periods: Annotated[int, Field(ge=1)] | None = None,
) -> pd.Series:
    """Sum over the last ``window`` years of each unit (for lumpy flows such as REITs issuance).

    y_t = Σ x_s over t − window < s <= t. Years are consecutive calendar years; a missing year
    counts as missing, and a sum needs ``min_periods`` observed years (default: the whole
    window). A flow indicator's choice of period (OECD/JRC Handbook 2008, step 2: stock or flow;
    docs/methodology.md §A).
    """
    wide = x.unstack("unit")
    full = wide.reindex(range(int(wide.index.min()), int(wide.index.max()) + 1))
    rolled = full.rolling(window, min_periods=min_periods or window).sum()
    out = rolled.stack(future_stack=True).swaplevel().reindex(x.index)
    return out.astype(float)


@DENOMINATE.register("none", traits=("identity", "distributable"))
def no_denominator(x: pd.Series, denominator: pd.Series | None) -> pd.Series:
    """Leave the values as they are."""
    return x


@DENOMINATE.register("divide", traits=("distributable",))
def divide(
    x: pd.Series,
    denominator: pd.Series | None,
    *,
    scale: Annotated[float, Field(gt=0)] = 1.0,
) -> pd.Series:
    """x / denominator · scale (COINr ``Denominate``); indicators with no denominator are left as they are.

    The denominator column is the indicator's ``denominator`` in the spec. A zero denominator is
    an error naming its rows; a missing one gives a missing value. Reference: docs/methodology.md
    §A (step 2, scaling denominators), §H.8.
    """
    if denominator is None:
        return x
    zero = ((denominator == 0) & x.notna()).to_numpy()
    if zero.any():
        raise bad_rows_error(denominator, zero, f"denominator {denominator.name!r} is 0")
    return x / denominator * scale
