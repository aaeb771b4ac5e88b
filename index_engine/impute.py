"""Missing-value methods (family ``impute``) and unit screening (family ``screen``).

An impute method takes one indicator (Series indexed by unit, year) and the unit attributes
(a DataFrame on the same index, holding group columns) and returns the Series with gaps filled.
Cross-sectional methods (mean, median, group mean) see one year at a time unless the step's
``pool`` is ``all``; time-series methods (interpolate, carry) always see every year of a unit.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from .errors import DataError
from .registry import Registry

IMPUTE = Registry("impute", "Filling missing values; every imputed cell is recorded in imputed.csv.")
SCREEN = Registry("screen", "Dropping units with too little data.")

@IMPUTE.register("none", traits=("identity", "distributable"))
def none(x: pd.Series, attrs: pd.DataFrame) -> pd.Series:
    """Leave gaps missing; aggregation then averages the children that are present (§H.4)."""
    return x


@IMPUTE.register("mean", traits=("across_rows",))
def mean(x: pd.Series, attrs: pd.DataFrame) -> pd.Series:
    """Fill a gap with the indicator's mean over the units present (COINr ``i_mean``).

    x̂ = Σ x_i / n over the n units with data. Reference: docs/methodology.md §A (step 3).
    """
    return x.fillna(x.mean())


@IMPUTE.register("median", traits=("across_rows",))
def median(x: pd.Series, attrs: pd.DataFrame) -> pd.Series:
    """Fill a gap with the indicator's median over the units present (COINr ``i_median``).

    x̂ = median(x_i) over the units with data. Reference: docs/methodology.md §A (step 3).
    """
    return x.fillna(x.median())


def _group_col(attrs: pd.DataFrame, group: str) -> pd.Series:
    if group not in attrs.columns:
        avail = ", ".join(repr(c) for c in attrs.columns) or "none"
        raise DataError(f"group column {group!r} is not in the data; the unit columns are {avail}")
    return attrs[group]


@IMPUTE.register("group_mean", traits=("across_rows",))
def group_mean(x: pd.Series, attrs: pd.DataFrame, *, group: str) -> pd.Series:
    """Fill a gap with the mean of the unit's group (COINr ``i_mean_grp``); a group with no data stays missing.

    x̂ = mean(x_i) over the units i of the group with data. Reference: docs/methodology.md §B1
    (gaps as the group mean), §H.8 (COINr's example build).
    """
    g = _group_col(attrs, group)
    if not x.isna().to_numpy().any():
        return x  # no gap to fill
    return x.fillna(x.groupby(g.to_numpy(), dropna=False).transform("mean"))


@IMPUTE.register("group_median", traits=("across_rows",))
def group_median(x: pd.Series, attrs: pd.DataFrame, *, group: str) -> pd.Series:
    """Fill a gap with the median of the unit's group (COINr ``i_median_grp``); a group with no data stays missing.

    x̂ = median(x_i) over the units i of the group with data. Reference: docs/methodology.md §B1, §H.8.
    """
    g = _group_col(attrs, group)
    if not x.isna().to_numpy().any():
        return x  # no gap to fill
    return x.fillna(x.groupby(g.to_numpy(), dropna=False).transform("median"))


def _by_unit(x: pd.Series, how) -> pd.Series:
    if not x.isna().to_numpy().any():
        return x  # no gap to fill
    wide = x.unstack("unit").sort_index()
    filled = how(wide)
    return filled.stack(future_stack=True).swaplevel().reindex(x.index)


@IMPUTE.register("interpolate", traits=("across_years", "distributable"))
def interpolate(x: pd.Series, attrs: pd.DataFrame) -> pd.Series:
    """Linear interpolation between a unit's observed years (inside gaps only; ends stay missing).

    x̂_t = x_a + (x_b − x_a)·(t − a)/(b − a), a and b the unit's nearest observed years before and
    after t: interpolation is in the year value, so a gap between 2019 and 2022 is filled on the
    line. Reference: docs/methodology.md §F.2 (imputation none / carry forward / linear).
    """
    return _by_unit(x, lambda w: w.interpolate(method="index", limit_area="inside"))


@IMPUTE.register("carry_forward", traits=("across_years", "distributable"))
def carry_forward(x: pd.Series, attrs: pd.DataFrame) -> pd.Series:
    """Last observation carried forward (a gap takes the unit's latest earlier value).

    x̂_t = x_s, s the unit's latest observed year before t. Reference: docs/methodology.md §C.3 (EIS).
    """
    return _by_unit(x, lambda w: w.ffill())


@IMPUTE.register("carry_back", traits=("across_years", "distributable"))
def carry_back(x: pd.Series, attrs: pd.DataFrame) -> pd.Series:
    """Next observation carried back (a gap takes the unit's earliest later value).

    x̂_t = x_s, s the unit's earliest observed year after t. Reference: docs/methodology.md §C.3 (EIS).
    """
    return _by_unit(x, lambda w: w.bfill())


@IMPUTE.register("carry", traits=("across_years", "distributable"))
def carry(x: pd.Series, attrs: pd.DataFrame) -> pd.Series:
    """Carry forward, then back for gaps at the start of a series (EIS practice).

    x̂_t = x_s, s the unit's latest observed year before t, else its earliest after t.
    Reference: docs/methodology.md §C.3.
    """
    return _by_unit(x, lambda w: w.ffill().bfill())


@SCREEN.register("none", traits=("identity", "distributable"))
def no_screen(data: pd.DataFrame) -> pd.Series:
    """Keep every unit."""
    return pd.Series(True, index=data.index)


@SCREEN.register("availability", traits=("distributable",))
def availability(
    data: pd.DataFrame,
    *,
    threshold: Annotated[float, Field(ge=0, le=1)] = 0.66,
    count_zeros: Literal["data", "missing"] = "data",
) -> pd.Series:
    """Keep a unit-year whose share of indicators with data is not below ``threshold``.

    As COINr ``Screen(dat_thresh, unit_screen = "byNA")``: a unit is dropped when
    availability < threshold (strict). ``count_zeros = "missing"`` also counts zeros as gaps
    (COINr ``"byNAandZeros"``): a row is kept when n_present / n_indicators >= ``threshold``.
    Reference: docs/methodology.md §B1 (unit coverage), §H.8.
    """
    present = data.notna()
    if count_zeros == "missing":
        present &= data.ne(0)
    share = present.to_numpy().mean(axis=1) if data.shape[1] else np.ones(len(data))
    return pd.Series(share >= threshold, index=data.index)
