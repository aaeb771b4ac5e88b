"""Target tracking (目标量化 → 统计评估): progress of a unit toward each indicator's policy target.

For every indicator with a ``target`` in the spec and the unit named in ``tracking.unit``:
baseline and latest observation (sub-annual observations such as 2025Q1 count, dated at the
period's end), attainment, the compound annual growth required from the baseline and from the
latest observation to the end of the target year, the growth achieved, a projection to the target
year with a prediction interval, and a status.

Projection (``tracking.model``): ``loglinear`` (default) fits ln(value) = a + b·t by OLS on every
dated observation, t in decimal years, and gives the prediction interval of a new observation at
the end of the target year (as statsmodels ``OLS.get_prediction(...).summary_frame``), back-transformed
with exp. ``ets`` fits an additive-trend exponential smoothing model to ln of the annual values
(statsmodels ``ETSModel``) and uses its simulated prediction interval.

Status rule (direction-aware: "meets" means >= the target, or <= for lower-is-better indicators
and ranks):

* **achieved**: the latest observation meets the target;
* **on_track**: the projection for the target year meets it (for ranks and growth gaps, which are
  not projected: the latest value meets it);
* **at_risk**: the projection misses it but the prediction interval reaches it;
* **off_track**: even the interval's better end misses it.

Attainment = (latest − baseline)/(target − baseline) for levels and stocks; cumulative targets
(``basis: cumulative``) use the sum of the flow since ``start_year`` over the target. Required
growth = (target/value)^(1/years) − 1, years from the observation's date to 31 December of the
target year. Achieved growth = the compound annual growth from the baseline to the latest
observation when they are at least a quarter apart, else over the last three positive annual
values. When there are too few positive observations to project (fewer than 3), a target is on
track when the achieved growth is at least the growth required from the latest value. Growth-gap
targets are yearly: achieved when the latest year's gap meets the target (attainment = the share
of years, from ``start_year``, that met it). Rank targets (national rank <= the cut-off in
``target.value``): achieved, at risk when above the cut-off but better than in the first year, else
off track.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from .errors import DataError
from .panel import Panel
from .spec import Node, Spec

COLUMNS = [
    "indicator", "name_zh", "name_en", "unit", "basis", "tracked_unit",
    "baseline_value", "baseline_date", "latest_value", "latest_date",
    "target_value", "target_year", "attainment",
    "required_cagr_from_baseline", "required_cagr_from_latest", "achieved_cagr",
    "required_per_year", "reference", "reference_value",
    "projection", "projection_lo", "projection_hi", "model", "status", "rule",
]

RULES = {
    "achieved": "latest value meets the target",
    "on_track": "projection for the target year meets the target",
    "at_risk": "projection misses the target, its prediction interval reaches it",
    "off_track": "even the better end of the prediction interval misses the target",
    "no_data": "no observation of the tracked unit",
}


def _years_between(a: pd.Timestamp, b: pd.Timestamp) -> float:
    return (b - a).days / 365.25


def _decimal_year(d: pd.Timestamp) -> float:
    start = pd.Timestamp(d.year, 1, 1)
    return d.year + (d - start).days / 365.25


def required_cagr(value: float, target: float, years: float) -> float:
    """(target/value)^(1/years) − 1: the compound annual growth that reaches the target in time."""
    if not (value > 0 and target > 0 and years > 0):
        return math.nan
    return (target / value) ** (1 / years) - 1


def _meets(value: float, target: float, better: int) -> bool:
    return bool(value >= target) if better > 0 else bool(value <= target)


def project_loglinear(dates: list[pd.Timestamp], values: np.ndarray, when: pd.Timestamp, level: float) -> tuple[float, float, float]:
    """Point and prediction interval of ln(value) = a + b·t (OLS), at ``when``, back-transformed.

    The interval is OLS's prediction interval for a new observation,
    ŷ₀ ± t_{n−2, (1+level)/2} · √(s² + s²·x₀ᵀ(XᵀX)⁻¹x₀) with s² = SSR/(n − 2) (Montgomery, Peck &
    Vining, *Introduction to Linear Regression Analysis*, 5th ed., §2.5), computed as statsmodels'
    ``OLS(y, X).fit().get_prediction(x0).summary_frame()`` computes it (through the pseudo-inverse of
    X) without importing statsmodels (half a second).
    """
    from scipy.special import stdtrit  # Student's t quantile, as scipy.stats.t.ppf

    ok = values > 0
    t = np.array([_decimal_year(d) for d in dates])[ok]
    y = np.log(values[ok])
    if len(y) < 3:
        return math.nan, math.nan, math.nan
    X = np.column_stack([np.ones_like(t), t])
    pinv = np.linalg.pinv(X, rcond=1e-15)
    beta = pinv @ y
    resid = y - X @ beta
    df = len(y) - 2
    scale = float(np.sum(resid**2)) / df
    x0 = np.array([1.0, _decimal_year(when)])
    mean = float(x0 @ beta)
    var_mean = float(x0 @ ((pinv @ pinv.T) * scale) @ x0)
    half = float(stdtrit(df, 1 - (1 - level) / 2.0)) * math.sqrt(var_mean + scale)
    return math.exp(mean), math.exp(mean - half), math.exp(mean + half)


def project_ets(years: list[int], values: np.ndarray, target_year: int, level: float) -> tuple[float, float, float]:
    """Additive-trend ETS on ln(annual values) (statsmodels ETSModel), forecast to ``target_year``."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    ok = values > 0
    y = pd.Series(np.log(values[ok]), index=pd.Index(np.asarray(years)[ok]))
    if len(y) < 4:
        return math.nan, math.nan, math.nan
    y.index = pd.period_range(start=str(int(y.index[0])), periods=len(y), freq="Y")
    h = target_year - int(str(y.index[-1]))
    if h <= 0:
        return math.nan, math.nan, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ETSModel(y, error="add", trend="add").fit(disp=False)
        frame = fit.get_prediction(start=len(y), end=len(y) + h - 1).summary_frame(alpha=1 - level)
    last = frame.iloc[-1]
    return float(np.exp(last["mean"])), float(np.exp(last["pi_lower"])), float(np.exp(last["pi_upper"]))


def track_targets(spec: Spec, panel: Panel) -> pd.DataFrame:
    """The target table (targets.csv) for ``spec.tracking.unit``; empty when the spec tracks none.

    A target on an indicator the data lacks, or a tracked unit the data lacks, is a DataError.
    """
    nodes = [n for n in spec.nodes.values() if n.is_indicator and n.target is not None]
    if spec.tracking is None or not nodes:
        return pd.DataFrame(columns=COLUMNS)
    unit = spec.tracking.unit
    obs = panel.observations
    if unit not in set(obs["unit"]):
        raise DataError(f"{panel.file}: tracking.unit {unit!r} has no data ({spec.source}: tracking.unit)")
    lacking = [n.code for n in nodes if n.code not in set(obs["indicator"])]
    if lacking:
        raise DataError(
            f"{panel.file}: the spec {spec.source} sets targets on indicators the data lacks: {', '.join(lacking)}"
        )
    rows = [_track_one(spec, panel, n, unit) for n in nodes]
    return pd.DataFrame(rows, columns=COLUMNS)


def _series(panel: Panel, unit: str, code: str) -> pd.DataFrame:
    o = panel.observations
    s = o[(o["unit"] == unit) & (o["indicator"] == code)].dropna(subset=["value"])
    return s.sort_values("date")


def _track_one(spec: Spec, panel: Panel, node: Node, unit: str) -> dict[str, Any]:
    t = node.target
    assert t is not None
    better = -1 if (t.basis == "rank" or node.direction == -1) else 1
    row: dict[str, Any] = {c: math.nan for c in COLUMNS}
    row.update(
        indicator=node.code, name_zh=node.name_zh, name_en=node.name_en, unit=t.unit or node.unit or "",
        basis=t.basis, tracked_unit=unit, target_value=t.value, target_year=t.year,
        model="", reference=t.reference or "",
    )
    s = _series(panel, unit, node.code)
    if s.empty:
        row.update(status="no_data", rule=RULES["no_data"])
        return row
    dates = list(s["date"])
    values = s["value"].to_numpy(dtype=float)
    latest_date, latest = dates[-1], float(values[-1])
    row.update(latest_value=latest, latest_date=s["period"].iloc[-1])
    end = pd.Timestamp(int(t.year), 12, 31) if t.year else None
    level = spec.tracking.level if spec.tracking else 0.9

    if t.basis == "rank":
        row["attainment"] = 1.0 if latest <= t.value else math.nan
        status = "achieved" if latest <= t.value else ("at_risk" if len(values) > 1 and latest < values[0] else "off_track")
        rule = f"national rank <= {t.value:g}: " + (
            RULES["achieved"] if status == "achieved" else
            "rank above the cut-off but improving since the first year" if status == "at_risk" else
            "rank above the cut-off and not improving"
        )
        row.update(status=status, rule=rule)
        return row

    if t.basis == "growth_gap":
        ref = _series(panel, t.reference, node.code) if t.reference else pd.DataFrame()
        annual = s[s["period"].str.fullmatch(r"\d{4}")]
        if not ref.empty and node.type in ("stock", "flow"):
            g_u = annual.set_index("year")["value"].pct_change() * 100
            r_annual = ref[ref["period"].str.fullmatch(r"\d{4}")].set_index("year")["value"]
            g_r = r_annual.pct_change() * 100
            gap = (g_u - g_r).dropna()
            if gap.empty:
                row.update(status="no_data", rule=RULES["no_data"])
                return row
            row.update(latest_value=float(gap.iloc[-1]), latest_date=str(int(gap.index[-1])),
                       reference_value=float(g_r.loc[gap.index[-1]]))
            gaps = gap
        else:
            gaps = annual.set_index("year")["value"]
        if t.start_year is not None:
            gaps = gaps[gaps.index >= t.start_year]
        met = int((gaps >= t.value).sum())
        row["attainment"] = met / len(gaps) if len(gaps) else math.nan
        last = float(gaps.iloc[-1])
        status = "achieved" if last >= t.value else "off_track"
        row.update(
            status=status,
            rule=f"a yearly target: growth gap >= {t.value:g} pp in the latest year; met in {met} of {len(gaps)} years",
        )
        return row

    if t.basis == "cumulative":
        start = t.start_year or int(s["year"].min())
        annual = s[s["period"].str.fullmatch(r"\d{4}")]
        done = annual[annual["year"] >= start]
        cum = float(done["value"].sum())
        last_year = int(done["year"].max()) if not done.empty else start - 1
        remaining = (t.year or last_year) - last_year
        span_label = str(start) if last_year == start else f"{start}-{last_year}"
        row.update(baseline_value=0.0, baseline_date=str(start), latest_value=cum,
                   latest_date=span_label if not done.empty else "")
        row["attainment"] = cum / t.value if t.value else math.nan
        row["required_per_year"] = (t.value - cum) / remaining if remaining > 0 else math.nan
        proj, lo, hi = cum, cum, cum
        if remaining > 0:
            yrs = list(annual["year"])
            vals = annual["value"].to_numpy(dtype=float)
            future = [pd.Timestamp(y, 12, 31) for y in range(last_year + 1, t.year + 1)]
            parts = [project_loglinear([pd.Timestamp(y, 12, 31) for y in yrs], vals, f, level) for f in future]
            proj = cum + sum(p[0] for p in parts)
            lo = cum + sum(p[1] for p in parts)
            hi = cum + sum(p[2] for p in parts)
        row.update(projection=proj, projection_lo=lo, projection_hi=hi,
                   model="loglinear flows, summed (interval: sum of the yearly bounds)")
        row.update(_status(cum, proj, lo, hi, t.value, 1))
        return row

    # levels and stocks
    if t.baseline is not None:
        from .panel import _period_end, parse_period

        _, label, _ = parse_period(t.baseline.date)
        base_value, base_date, base_label = t.baseline.value, _period_end(label), label
    else:
        first = s.iloc[0] if t.start_year is None else s[s["year"] >= t.start_year].iloc[0]
        base_value, base_date, base_label = float(first["value"]), first["date"], first["period"]
    row.update(baseline_value=base_value, baseline_date=base_label)
    if t.value != base_value:
        row["attainment"] = (latest - base_value) / (t.value - base_value)
    if end is not None:
        row["required_cagr_from_baseline"] = required_cagr(base_value, t.value, _years_between(base_date, end))
        row["required_cagr_from_latest"] = required_cagr(latest, t.value, _years_between(latest_date, end))
    span = _years_between(base_date, latest_date)
    if span >= 0.25:
        row["achieved_cagr"] = required_cagr(base_value, latest, span)
    if math.isnan(row["achieved_cagr"]):
        annual = s[s["period"].str.fullmatch(r"\d{4}") & (s["value"] > 0)].tail(3)
        if len(annual) >= 2:
            row["achieved_cagr"] = required_cagr(
                float(annual["value"].iloc[0]), float(annual["value"].iloc[-1]), float(annual["year"].iloc[-1] - annual["year"].iloc[0])
            )
    model = spec.tracking.model if spec.tracking else "loglinear"
    if end is not None and end > latest_date:
        if model == "ets":
            annual = s[s["period"].str.fullmatch(r"\d{4}")]
            proj, lo, hi = project_ets(list(annual["year"]), annual["value"].to_numpy(float), int(t.year), level)
            row["model"] = f"ETS(A,A,N) on ln(annual values), {level:.0%} prediction interval"
        else:
            proj, lo, hi = project_loglinear(dates, values, end, level)
            row["model"] = f"OLS ln(value) = a + b·t on {len(values)} dated observations, {level:.0%} prediction interval"
        row.update(projection=proj, projection_lo=lo, projection_hi=hi)
    else:
        proj = lo = hi = math.nan
    row.update(_status(latest, proj, lo, hi, t.value, better))
    if math.isnan(proj) and row["status"] != "achieved":
        # too few positive observations to project: compare achieved with required growth
        ach, req = row["achieved_cagr"], row["required_cagr_from_latest"]
        if not (math.isnan(ach) or math.isnan(req)):
            ok = ach >= req
            row.update(
                status="on_track" if ok else "off_track",
                rule=("achieved growth meets" if ok else "achieved growth is below") + " the growth required from the latest value (too few observations to project)",
            )
    return row


def _status(latest: float, proj: float, lo: float, hi: float, target: float, better: int) -> dict[str, str]:
    if _meets(latest, target, better):
        s = "achieved"
    elif math.isnan(proj):
        s = "off_track"
    elif _meets(proj, target, better):
        s = "on_track"
    elif _meets(hi if better > 0 else lo, target, better):
        s = "at_risk"
    else:
        s = "off_track"
    return {"status": s, "rule": RULES[s]}
