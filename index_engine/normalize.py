"""Normalisation methods (family ``normalize``).

A method takes one indicator (Series indexed by unit, year), already multiplied by its
direction as COINr does (§H.1; see :func:`index_engine.plan.data_direction`), and returns a
Series on the same index; a method with the ``own_units`` trait gets the indicator in its own
units instead. The step's ``pool``
decides whether statistics are taken over all years (default, so scores compare across
years) or year by year. Fitted statistics (min, max, mean, sd, base values) are returned in
``result.attrs["fitted"]``, and each can be fixed by a parameter, so a later build can reuse
a reference build's goalposts instead of refitting them.
"""

from __future__ import annotations

import json
import warnings
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from .errors import BuildError, DataError, DegenerateIndicatorWarning
from .registry import Registry

NORMALIZE = Registry("normalize", "Bringing indicators onto a common scale.")

OnConstant = Literal["nan", "midpoint", "error"]


def _fitted(out: pd.Series, **stats: float) -> pd.Series:
    out.attrs["fitted"] = {k: (None if v is None or np.isnan(v) else float(v)) for k, v in stats.items()}
    return out


def _affine(x: pd.Series, shift: float, scale: float, times: float, plus: float) -> pd.Series:
    """(x − shift)/scale·times + plus, in numpy on the values (the same operations in the same order as on the Series)."""
    return pd.Series((x.to_numpy(dtype=float) - shift) / scale * times + plus, index=x.index, name=x.name)


def _constant(x: pd.Series, on_constant: str, midpoint: float, method: str) -> pd.Series:
    if not x.notna().any():  # no value at all: nothing to normalise (the build's EmptyNodeWarning names it)
        return x.astype(float)
    if on_constant == "error":
        raise BuildError(f"{x.name}: the indicator has no spread (every value is equal)")
    warnings.warn(
        f"{x.name}: the indicator has no spread; normalize.{method} gives "
        + ("NaN" if on_constant == "nan" else f"the midpoint {midpoint:g}"),
        DegenerateIndicatorWarning,
        stacklevel=3,
    )
    fill = np.nan if on_constant == "nan" else midpoint
    return x.where(x.isna(), fill).astype(float)


def _minmax_check(p: dict) -> str | None:
    if not p["upper"] > p["lower"]:
        return f"'upper' must be greater than 'lower'. Got lower={p['lower']:g}, upper={p['upper']:g}"
    return None


@NORMALIZE.register("minmax", check=_minmax_check, traits=("across_rows", "distributable", "freezable"), fitted={"min": "xmin", "max": "xmax"})
def minmax(
    x: pd.Series,
    *,
    lower: float = 0.0,
    upper: float = 100.0,
    on_constant: OnConstant = "nan",
    xmin: float | None = None,
    xmax: float | None = None,
) -> pd.Series:
    """Min-max: (x − min)/(max − min)·(upper − lower) + lower, min and max ignoring gaps (COINr ``n_minmax``).

    ``xmin``/``xmax`` fix the bounds (e.g. frozen from a reference build); values outside them
    then fall outside [lower, upper]. A zero range follows ``on_constant``: NaN with a
    DegenerateIndicatorWarning (COINr), the midpoint of [lower, upper], or an error.
    Reference: docs/methodology.md §B3, §H.2.
    """
    lo = float(x.min()) if xmin is None else xmin
    hi = float(x.max()) if xmax is None else xmax
    if not hi > lo or np.isnan(lo):
        return _fitted(_constant(x, on_constant, (lower + upper) / 2, "minmax"), min=lo, max=hi)
    return _fitted(_affine(x, lo, hi - lo, upper - lower, lower), min=lo, max=hi)


@NORMALIZE.register("zscore", traits=("across_rows", "distributable", "freezable"), fitted={"mean": "xmean", "sd": "xsd"})
def zscore(
    x: pd.Series,
    *,
    mean: float = 0.0,
    sd: Annotated[float, Field(gt=0)] = 1.0,
    on_constant: OnConstant = "nan",
    xmean: float | None = None,
    xsd: Annotated[float, Field(gt=0)] | None = None,
) -> pd.Series:
    """z-score: (x − x̄)/s·sd + mean, s the sample sd (n − 1), as COINr ``n_zscore``.

    Reference: docs/methodology.md §B3, §H.2.
    """
    m = float(x.mean()) if xmean is None else xmean
    s = float(x.std(ddof=1)) if xsd is None else xsd
    if not s > 0:
        return _fitted(_constant(x, on_constant, mean, "zscore"), mean=m, sd=s)
    return _fitted(_affine(x, m, s, sd, mean), mean=m, sd=s)


@NORMALIZE.register("rank", traits=("across_rows",))
def rank(x: pd.Series) -> pd.Series:
    """Rank with the best unit highest, ties 'min', gaps kept (COINr ``n_rank``).

    y_i = 1 + #{j : x_j < x_i}. Reference: docs/methodology.md §B3, §H.3.
    """
    return x.rank(method="min", na_option="keep")


@NORMALIZE.register("prank", traits=("across_rows",))
def prank(x: pd.Series) -> pd.Series:
    """Percentile rank (rank − 1)/(n − 1), ties 'min' (COINr ``n_prank``).

    n counts the units with data. Reference: docs/methodology.md §B3, §H.3.
    """
    return (x.rank(method="min", na_option="keep") - 1) / (x.notna().sum() - 1)


@NORMALIZE.register("borda", traits=("across_rows",))
def borda(x: pd.Series) -> pd.Series:
    """Borda score: rank − 1, ties 'min' (COINr ``n_borda``).

    y_i = #{j : x_j < x_i}, the number of units beaten. Reference: docs/methodology.md §H.3.
    """
    return x.rank(method="min", na_option="keep") - 1


@NORMALIZE.register("dist2max", traits=("across_rows",))
def dist2max(x: pd.Series, *, scale: Annotated[float, Field(gt=0)] = 1.0, on_constant: OnConstant = "nan") -> pd.Series:
    """Distance to the maximum: (1 − (max − x)/(max − min))·scale (COINr ``n_dist2max``).

    Reference: docs/methodology.md §B3 (distance to target or frontier).
    """
    lo, hi = float(x.min()), float(x.max())
    if not hi > lo:
        return _fitted(_constant(x, on_constant, scale / 2, "dist2max"), min=lo, max=hi)
    return _fitted((1 - (hi - x) / (hi - lo)) * scale, min=lo, max=hi)


@NORMALIZE.register("dist2ref", traits=("across_rows",))
def dist2ref(
    x: pd.Series, *, ref_unit: str, scale: Annotated[float, Field(gt=0)] = 1.0, cap_max: bool = False
) -> pd.Series:
    """Distance to a reference unit's value: (1 − (x_ref − x)/(x_ref − min))·scale (COINr ``n_dist2ref``).

    For a panel the reference is the unit's value in the same year, and min is that year's
    minimum. Reference: docs/methodology.md §B3 (distance to a reference).
    """
    units = x.index.get_level_values("unit")
    if ref_unit not in set(units):
        raise DataError(f"{x.name}: normalize.dist2ref: the reference unit {ref_unit!r} has no row")
    ref = x[units == ref_unit].droplevel("unit")
    ref_for_row = pd.Series(ref.reindex(x.index.get_level_values("year")).to_numpy(), index=x.index)
    lo = x.groupby(level="year").transform("min")
    y = (1 - (ref_for_row - x) / (ref_for_row - lo)) * scale
    return y.clip(upper=scale) if cap_max else y


@NORMALIZE.register("dist2targ", node_defaults={"target": "target.value"}, traits=("across_rows",))
def dist2targ(
    x: pd.Series, *, target: float, scale: Annotated[float, Field(gt=0)] = 1.0, cap_max: bool = False
) -> pd.Series:
    """Distance to target: (1 − (target − x)/(target − min))·scale (COINr ``n_dist2targ``).

    The target is the indicator's ``target.value`` unless given; for a negative-direction
    indicator it is negated with the data (§H.1). Reference: docs/methodology.md §B3, §H.1.
    """
    lo = float(x.min())
    if target == lo:
        raise BuildError(f"{x.name}: normalize.dist2targ: the target equals the minimum ({lo:g})")
    y = (1 - (target - x) / (target - lo)) * scale
    return _fitted(y.clip(upper=scale) if cap_max else y, min=lo, target=target)


@NORMALIZE.register("fracmax", traits=("across_rows",))
def fracmax(x: pd.Series, *, scale: Annotated[float, Field(gt=0)] = 1.0) -> pd.Series:
    """Fraction of the maximum: x / max·scale (COINr ``n_fracmax``).

    Reference: docs/methodology.md §H.1 (the direction is applied first).
    """
    hi = float(x.max())
    return _fitted(x / hi * scale, max=hi)


def _goalposts_check(p: dict) -> str | None:
    if p.get("lower") is not None and p.get("upper") is not None and p["lower"] == p["upper"]:
        return "'lower' and 'upper' must differ"
    return None


@NORMALIZE.register(
    "goalposts", check=_goalposts_check, node_defaults={"lower": "goalposts.lower", "upper": "goalposts.upper"}
, traits=("distributable",))
def goalposts(
    x: pd.Series,
    *,
    lower: float,
    upper: float,
    scale: Annotated[float, Field(gt=0)] = 100.0,
    cap: bool = True,
    log: bool = False,
) -> pd.Series:
    """Goalposts: (x − lower)/(upper − lower)·scale, capped to [0, scale] (HDI; COINr ``n_goalposts``).

    ``log = True`` takes logs of x and both goalposts first (the HDI income index,
    UNDP HDR Technical note 1). The goalposts come from the indicator's ``goalposts`` unless given.
    Reference: docs/methodology.md §B3, §D.
    """
    if log:
        bad = (x <= 0).to_numpy()
        if bad.any() or lower <= 0 or upper <= 0:
            raise DataError(f"{x.name}: normalize.goalposts with log needs values and goalposts > 0")
        x, lower, upper = np.log(x), float(np.log(lower)), float(np.log(upper))
    y = (x.to_numpy(dtype=float) - lower) / (upper - lower)  # on the values: the Series' operations, without its overhead
    if cap:
        y = np.clip(y, 0, 1)
    return _fitted(pd.Series(y * scale, index=x.index, name=x.name), lower=lower, upper=upper)


@NORMALIZE.register(
    "base_index",
    node_defaults={"direction": "direction"},
    traits=("across_years", "distributable", "freezable", "own_units"),
    fitted={"base_values": "base_values"},
)
def base_index(
    x: pd.Series,
    *,
    base_year: int,
    base: Annotated[float, Field(gt=0)] = 100.0,
    direction: Literal[1, -1] = 1,
    base_values: dict[str, float] | None = None,
) -> pd.Series:
    """Fixed-base index: base·x_t / x_base, per unit (中关村指数, NBS 中国创新指数 style, docs/methodology.md §E1).

    Needs a positive base-year value for every unit with data (an error names the units
    that lack one). ``x`` is in its own units (trait ``own_units``); for a lower-is-better
    indicator (direction −1, from the spec) the index is base·x_base / x_t, so a fall raises it.
    ``base_values`` (unit → base-year value) fixes the base, e.g. frozen from a reference
    build, so a revision of the base-year data does not rewrite the series.
    """
    years = x.index.get_level_values("year")
    units = x.index.get_level_values("unit")
    if base_values is not None:
        b = pd.Series(base_values, dtype=float)
    else:
        if base_year not in set(years):
            raise DataError(f"{x.name}: normalize.base_index: the base year {base_year} is not in the data")
        b = x[years == base_year].droplevel("year")
    b_row = pd.Series(b.reindex(units).to_numpy(), index=x.index)
    bad = ~(b_row > 0) & x.notna()
    if bad.any():
        units_bad = sorted(set(map(str, units[bad.to_numpy()])))
        raise DataError(
            f"{x.name}: normalize.base_index needs a value > 0 in the base year {base_year}; "
            f"missing or not positive for {', '.join(units_bad[:5])}"
        )
    out = base * x / b_row if direction == 1 else base * b_row / x
    out = _fitted(out, base_year=float(base_year))
    out.attrs["fitted"]["base_values"] = json.dumps({str(u): float(v) for u, v in b.dropna().items()})
    return out


@NORMALIZE.register("base_diff", traits=("across_years", "distributable"))
def base_diff(
    x: pd.Series,
    *,
    base_year: int,
    base: float = 100.0,
    scale: Annotated[float, Field(gt=0)] = 1.0,
) -> pd.Series:
    """Fixed base in points: base + (x_t − x_base)·scale, per unit, for indicators that can be <= 0
    (growth gaps in percentage points), so the base year is ``base`` like a ``base_index``.

    ``x`` arrives multiplied by the direction, so a fall in a lower-is-better indicator raises it.
    Reference: docs/methodology.md §C.8 (EIS performance change in points), §E1.
    """
    years = x.index.get_level_values("year")
    if base_year not in set(years):
        raise DataError(f"{x.name}: normalize.base_diff: the base year {base_year} is not in the data")
    units = x.index.get_level_values("unit")
    b = x[years == base_year].droplevel("year")
    b_row = pd.Series(b.reindex(units).to_numpy(), index=x.index)
    return _fitted(base + (x - b_row) * scale, base_year=float(base_year))


def _points_check(p: dict) -> str | None:
    t, pts = list(p["thresholds"]), list(p["points"])
    if len(pts) != len(t) + 1:
        return f"'points' needs one more entry than 'thresholds' (bands below, between and above). Got {len(t)} thresholds and {len(pts)} points"
    if any(b <= a for a, b in zip(t, t[1:])):
        return f"'thresholds' must increase. Got {t}"
    return None


@NORMALIZE.register("points", check=_points_check, traits=("distributable", "own_units"))
def points(
    x: pd.Series,
    *,
    thresholds: list[float],
    points: list[float],
    missing: float | None = None,
) -> pd.Series:
    """Score bands: a value below ``thresholds[0]`` gets ``points[0]``, from ``thresholds[i-1]`` up
    to (not including) ``thresholds[i]`` gets ``points[i]``, from the last threshold up the last
    points (企业创新积分制 style, e.g. invention patents 0 / 1–2 / 3–9 / 10+ → 0 / 5 / 12 / 20 with
    thresholds [1, 3, 10]). A yes/no qualification is thresholds [1], points [0, p].

    Thresholds are in the indicator's own units, which is how it arrives (trait ``own_units``):
    the points say which values are better, whatever the direction. A missing value stays
    missing unless ``missing`` gives its points. A categorical scale (OECD/JRC Handbook 2008,
    normalisation methods; doi:10.1787/9789264043466-en; docs/methodology.md §A, step 5).
    """
    v = x.to_numpy(dtype=float)
    pts = np.asarray(points, dtype=float)
    band = points_band(v, np.asarray(thresholds, dtype=float))
    # a band is at most len(thresholds): with a point for each, "clip" never clips, and it takes small
    # integers as they are (the default mode first copies them to a full-size array of indices)
    out = pts.take(band, mode="clip" if pts.size > len(thresholds) else "raise")
    nan = np.isnan(v)
    if nan.any():
        fill = np.float64(np.nan if missing is None else missing)
        if fill.tobytes() != pts[:1].tobytes():  # a missing value is in band 0: already points[0]
            np.copyto(out, fill, where=nan)
    return pd.Series(out, index=x.index, name=x.name, copy=False)


def points_band(v: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """The band of each value: how many of the (increasing) thresholds are <= it, as
    ``numpy.digitize(v, thresholds, right=False)``; 0 for NaN.

    A few thresholds are counted with one comparison each over the whole column (a tenth of the
    time of a binary search per value); many go through ``numpy.searchsorted``.
    """
    if len(thresholds) > 100:
        band = np.searchsorted(thresholds, v, side="right")
        band[np.isnan(v)] = 0
        return band
    band = np.zeros(v.shape, np.int8)
    for t in thresholds:
        np.add(band, v >= t, out=band, casting="unsafe")
    return band


@NORMALIZE.register("none", traits=("distributable",))
def none(x: pd.Series) -> pd.Series:
    """Leave the values as they are (direction still applied).

    y = direction·x. Reference: docs/methodology.md §H.1.
    """
    return x.astype(float)
