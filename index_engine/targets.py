"""Target tracking (目标量化 → 统计评估): progress of a unit toward each policy target of the spec.

One row per target (an indicator's ``target`` and each entry of its ``targets`` list) for the unit
named in ``tracking.unit``: baseline and latest observation (sub-annual observations such as 2025Q1
count, dated at the period's end), attainment, the growth or the yearly amount required against
the one achieved, a projection to the target year with a prediction interval, the number of usable
observations the status rests on (``n_obs``), the observations the model used, and a status with
its rule in Chinese and English. Each row carries the plan's sentence (``quote``, verbatim) and what the spec
reads into it (``reading_zh``, ``reading_en``).

**Usable observations.** A value counts when it is not a gap, not zero (a programme at zero has not
started) and not flagged as a forecast, and is dated at or after the target's start: its baseline's
date, else 1 January of its ``start_year`` (or ``tracking.start_year``, the plan's first year);
earlier values are context, shown but not counted. A series break (``Panel.breaks``, or the spec's
``breaks`` when it has them: ``unit, indicator, date, note``, the date being the first period on the
new definition) after the start restarts the count at the break (:class:`SeriesBreakWarning`). A
baseline dated after every observation is a :class:`BaselineAfterDataWarning`.

**Statuses** (direction-aware: "meets" is >= the target, or <= for lower-is-better and ranks):

* **no_data**: the tracked unit has no observation of the indicator;
* **not_started**: no usable observation since the start (the plan period has no data yet, the
  series is still zero, or the baseline is later than the data);
* **insufficient_data**: fewer than ``tracking.min_obs`` usable observations (default 3), or a
  prediction interval too wide to decide: at its worse end the target is missed by half
  (attainment <= 50%) and at its better end met twice over (attainment >= 200%);
* **achieved**: the latest observation meets the target;
* **on_track**: the projection for the target year meets it;
* **at_risk**: the projection misses it but the prediction interval reaches it;
* **off_track**: even the interval's better end misses it.

Every status but the first three rests on at least ``min_obs`` usable observations.

**Bases.** Distance-based (``level``, ``year_end_stock``, ``annual_flow``, ``cumulative``):
attainment = (latest − baseline)/(target − baseline); cumulative targets sum the yearly flow since
the start over the target, and give the amount still required per remaining year
((target − sum)/years left) beside the achieved pace (sum/years elapsed). Required growth =
(target/value)^(1/years) − 1, years from the observation's date to 31 December of the target year;
achieved growth = the same compound rate from the baseline to the latest observation (when they are
at least a quarter apart). Pass/fail (no attainment): ``rank`` (achieved when the latest national
rank is within the cut-off ``value``; at risk when outside it but better than at the start);
``growth_vs_reference`` (the plan's "年均增速高于全国平均水平"; ``unit`` is the level's, ``target_value``
and ``growth_gap`` are in pp): the unit's annualised growth from the
baseline to the latest observation against the reference unit's growth over the same dates,
computed from the two level series (the reference's level at a date it does not observe is
interpolated log-linearly between its neighbours, never extrapolated); on track while the gap
(pp) meets ``value`` and the target year has not ended, achieved when it has; ``growth_gap``: a
gap given as data, its latest value against ``value``.

Projection (``tracking.model``): ``loglinear`` (default) fits ln(value) = a + b·t by OLS on the
usable observations, t in decimal years, and gives the prediction interval of a new observation at
the end of the target year (as statsmodels ``OLS.get_prediction(...).summary_frame``), back-
transformed with exp. ``ets`` fits an additive-trend exponential smoothing model to ln of the usable
annual values (statsmodels ``ETSModel``) and uses its simulated prediction interval.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .flags import counts_as_observed
from .errors import BaselineAfterDataWarning, DataError, SeriesBreakWarning
from .panel import Panel, _period_end, parse_period
from .spec import PASS_FAIL_BASES, Node, Spec, Target

COLUMNS = [
    "target", "indicator", "name_zh", "name_en", "unit", "basis", "kind", "tracked_unit",
    "baseline_value", "baseline_date", "latest_value", "latest_date",
    "target_value", "target_year", "attainment",
    "required_cagr_from_baseline", "required_cagr_from_latest", "achieved_cagr",
    "required_per_year", "achieved_per_year", "reference", "reference_value", "growth_gap",
    "projection", "projection_lo", "projection_hi", "n_obs", "min_obs", "model", "model_zh",
    "status", "rule_zh", "rule_en", "warnings", "quote", "reading_zh", "reading_en",
]
NUMERIC_COLUMNS = (
    "baseline_value", "latest_value", "target_value", "target_year", "attainment",
    "required_cagr_from_baseline", "required_cagr_from_latest", "achieved_cagr",
    "required_per_year", "achieved_per_year", "reference_value", "growth_gap",
    "projection", "projection_lo", "projection_hi", "n_obs", "min_obs",
)
"""The numeric columns of targets.csv."""

STATUSES = ("achieved", "on_track", "at_risk", "off_track", "insufficient_data", "not_started", "no_data")
"""Every status code, in the order pages list them."""
DECIDED = STATUSES[:4]
"""Statuses that rest on at least ``tracking.min_obs`` usable observations."""
TOO_WIDE = (0.5, 2.0)
"""An interval is too wide to decide when its worse end attains at most the first share of the
target and its better end at least the second ("missed by half" and "met twice over")."""

RULES: dict[str, tuple[str, str]] = {
    "no_data": ("跟踪单元没有该指标的观测", "no observation of the tracked unit"),
    "not_started": (
        "自{start}起没有有效观测（规划期尚无数据、数值仍为零，或基期晚于数据）",
        "no usable observation since {start} (no data in the plan period yet, the series is still zero, or the baseline is later than the data)",
    ),
    "few": (
        "自{start}起仅有{n}个有效观测，少于所需的{min}个（零值、缺失、预测值及基期或口径变化之前的数据不计）",
        "{n} usable {obs} since {start}, fewer than the {min} required (zeros, gaps, forecasts and values before the baseline or a break do not count)",
    ),
    "wide": (
        "预测区间[{lo}, {hi}]过宽：既包含“仅完成一半”也包含“超额一倍完成”，无法判断",
        "the prediction interval [{lo}, {hi}] is too wide to decide: it spans both the target missed by half and met twice over",
    ),
    "no_projection": ("有效观测不足以拟合预测模型", "the usable observations do not support the projection model"),
    "achieved": ("最新值已达到目标（{n}个有效观测）", "the latest value meets the target ({n} usable observations)"),
    "on_track": ("{year}年预测值达到目标（{n}个有效观测）", "the projection for {year} meets the target ({n} usable observations)"),
    "at_risk": ("预测值未达目标，但预测区间可达目标", "the projection misses the target; its prediction interval reaches it"),
    "off_track": ("预测区间较好的一端也未达目标", "even the better end of the prediction interval misses the target"),
    "rank_achieved": ("全国排名第{rank}位，在前{cut}位以内（{n}年有效观测）", "national rank {rank}, within the top {cut} ({n} years observed)"),
    "rank_at_risk": ("全国排名第{rank}位，未进入前{cut}位，但较{first_year}年的第{first}位有所提升", "national rank {rank}, outside the top {cut} but better than {first} in {first_year}"),
    "rank_off_track": ("全国排名第{rank}位，未进入前{cut}位，且未较{first_year}年提升", "national rank {rank}, outside the top {cut} and not better than in {first_year}"),
    "no_reference": ("参照单元{ref}的数据未覆盖{base}至{latest}，无法比较增速", "the reference unit {ref} has no data around {base} to {latest}: growth cannot be compared"),
    "growth_ahead": (
        "{base}至{latest}年化增速{g}，高于{ref}同口径的{r}（差{gap}个百分点，要求≥{cut}）；目标年尚未结束",
        "annualised growth {g} from {base} to {latest}, above {ref}'s {r} on the same definition (gap {gap} pp, needs >= {cut}); the target year has not ended",
    ),
    "growth_achieved": (
        "{base}至{latest}年化增速{g}，高于{ref}同口径的{r}（差{gap}个百分点，要求≥{cut}）",
        "annualised growth {g} from {base} to {latest}, above {ref}'s {r} on the same definition (gap {gap} pp, needs >= {cut})",
    ),
    "growth_behind": (
        "{base}至{latest}年化增速{g}，未高于{ref}同口径的{r}（差{gap}个百分点，要求≥{cut}）",
        "annualised growth {g} from {base} to {latest}, not above {ref}'s {r} on the same definition (gap {gap} pp, needs >= {cut})",
    ),
    "gap_met": ("最新增速差{gap}个百分点，达到≥{cut}的要求", "the latest growth gap, {gap} pp, meets >= {cut}"),
    "gap_missed": ("最新增速差{gap}个百分点，未达到≥{cut}的要求", "the latest growth gap, {gap} pp, misses >= {cut}"),
}
"""Rule texts (zh, en) by key; a row's ``rule_zh``/``rule_en`` are these with its numbers filled in."""

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "achieved": ("已达成", "achieved"),
    "on_track": ("进展顺利", "on track"),
    "at_risk": ("存在风险", "at risk"),
    "off_track": ("进度滞后", "off track"),
    "insufficient_data": ("数据不足", "insufficient data"),
    "not_started": ("尚未开始", "not started"),
    "no_data": ("无数据", "no data"),
}
"""Status labels (zh, en), as pages and the terminal show them."""

STATUS_RULES: dict[str, tuple[str, str]] = {
    "achieved": ("最新值达到目标（排名在门槛以内；增速差达到要求且目标年已结束）", "the latest value meets the target (rank within the cut-off; growth gap met and the target year over)"),
    "on_track": ("目标年预测值达到目标（增速目标：目前增速差达到要求）", "the projection for the target year meets the target (growth targets: the gap meets it so far)"),
    "at_risk": ("预测值未达目标但预测区间可达（排名：未进前列但较起点提升）", "the projection misses but its interval reaches the target (ranks: outside the cut-off but improving)"),
    "off_track": ("预测区间较好的一端也未达目标（增速差未达要求）", "even the better end of the interval misses the target (growth gap missed)"),
    "insufficient_data": (
        "有效观测少于最低要求，或预测区间同时涵盖“仅完成一半”与“超额一倍完成”",
        "fewer usable observations than the minimum, or an interval spanning both the target missed by half and met twice over",
    ),
    "not_started": ("规划期内尚无有效观测（无数据、数值为零或基期晚于数据）", "no usable observation in the plan period (no data, zero, or a baseline later than the data)"),
    "no_data": RULES["no_data"],
}
"""The general rule of each status (zh, en), for the legend of pages and the terminal."""


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
    """The target table (targets.csv) for ``spec.tracking.unit``, one row per target; empty when the
    spec tracks none.

    A target on an indicator the data lacks, or a tracked unit the data lacks, is a DataError.
    """
    items = [(tid, spec.nodes[code], t) for tid, (code, t) in spec.targets.items() if spec.nodes[code].is_indicator]
    if spec.tracking is None or not items:
        return pd.DataFrame(columns=COLUMNS)
    unit = spec.tracking.unit
    obs = panel.observations
    if not (obs["unit"] == unit).any():
        raise DataError(f"{panel.file}: tracking.unit {unit!r} has no data ({spec.source}: tracking.unit)")
    present = set(pd.unique(obs["indicator"]))
    lacking = list(dict.fromkeys(n.code for _, n, _ in items if n.code not in present))
    if lacking:
        raise DataError(
            f"{panel.file}: the spec {spec.source} sets targets on indicators the data lacks: {', '.join(lacking)}"
        )
    units = {unit} | {t.reference for _, _, t in items if t.reference}
    codes = {n.code for _, n, _ in items}
    small = obs[obs["indicator"].isin(codes) & obs["unit"].isin(units)].dropna(subset=["value"])
    small = small.astype({c: object for c in ("unit", "period", "indicator")})  # tiny frames: numpy beats Arrow here
    data = Observed(small.sort_values("date", kind="stable"), panel.sources, series_breaks(spec, panel))
    rows = [_track_one(spec, data, tid, n, t, unit) for tid, n, t in items]
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["n_obs"] = out["n_obs"].astype(int)
    out["min_obs"] = out["min_obs"].astype(int)
    return out


def series_breaks(spec: Spec, panel: Panel) -> pd.DataFrame:
    """Series breaks, ``unit, indicator, start, note`` (start: the first day of the break's period or
    the day given; an empty unit: every unit): the panel's ``breaks`` and the spec's ``breaks``, when
    either has them."""
    frames = []
    for src in (getattr(panel, "breaks", None), getattr(spec, "breaks", None)):
        if src is None:
            continue
        if not isinstance(src, pd.DataFrame):
            src = pd.DataFrame([b if isinstance(b, dict) else getattr(b, "model_dump", lambda: dict(b))() for b in src])
        if not src.empty and {"unit", "indicator", "date"} <= set(src.columns):
            frames.append(src)
    if not frames:
        return pd.DataFrame(columns=["unit", "indicator", "start", "note"])
    df = pd.concat(frames, ignore_index=True)

    def start(d: Any) -> pd.Timestamp:
        if isinstance(d, (pd.Timestamp, np.datetime64)) or hasattr(d, "year") and not isinstance(d, (int, float)):
            return pd.Timestamp(d)
        try:
            year, label, _ = parse_period(d)
        except ValueError:  # a day, 2025-07-01
            return pd.Timestamp(str(d))
        if "Q" in label:
            return pd.Timestamp(year, 3 * int(label.split("Q")[1]) - 2, 1)
        if "-" in label:
            return pd.Timestamp(year, int(label.split("-")[1]), 1)
        return pd.Timestamp(year, 1, 1)

    note = df["note"] if "note" in df.columns else pd.Series("", index=df.index)
    return pd.DataFrame({"unit": df["unit"].fillna("").astype(str), "indicator": df["indicator"].astype(str),
                         "start": [start(d) for d in df["date"]], "note": note.fillna("").astype(str)})


@dataclass
class Observed:
    """What the targets read: the observations of the tracked and reference units on the targets'
    indicators (sorted by date), the panel's provenance (flags) and the series breaks."""

    observations: pd.DataFrame
    sources: pd.DataFrame | None
    breaks: pd.DataFrame


@dataclass
class Evidence:
    """The observations of one target: all of them (context) and the usable ones it rests on."""

    series: pd.DataFrame
    used: pd.DataFrame
    start_label: str
    start: pd.Timestamp | None = None
    not_counted: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.used)

    def describe(self, lang: str = "en") -> str:
        """Which observations were used and which were not, for the ``model`` (``lang`` "en") and
        ``model_zh`` columns."""
        if lang == "zh":
            used = "、".join(self.used["period"]) or "无"
            skipped = "；".join(f"{_not_counted_zh(k)}{v}个" for k, v in self.not_counted.items() if v)
            return f"{self.n}个有效观测（{used}）" + (f"；不计：{skipped}" if skipped else "")
        used = ", ".join(self.used["period"]) or "none"
        skipped = "; ".join(f"{v} {k}" for k, v in self.not_counted.items() if v)
        noun = "observation" if self.n == 1 else "observations"
        return f"{self.n} usable {noun} ({used})" + (f"; not counted: {skipped}" if skipped else "")


def _not_counted_zh(key: str) -> str:
    """The Chinese of an :attr:`Evidence.not_counted` key ("before 2025", "forecasts", "zeros", "before the break of ...")."""
    if key.startswith("before the break of "):
        return f"口径变化（{key[len('before the break of '):]}）之前"
    if key.startswith("before "):
        return f"{key[len('before '):]}之前"
    return {"forecasts": "预测值", "zeros": "零值"}.get(key, key)


def _forecast_periods(src: pd.DataFrame | None, unit: str, code: str) -> set[str]:
    """Periods of ``unit``'s ``code`` whose flag does not count as observed (forecasts)."""
    if src is None or src.empty or not {"flag", "unit", "indicator"} <= set(src.columns):
        return set()
    s = src[(src["unit"] == unit) & (src["indicator"] == code)]
    s = s[~s["flag"].astype(str).map(counts_as_observed).astype(bool)]
    col = "period" if "period" in s.columns else "year"
    return {str(p) for p in s[col]}


def evidence(data: Observed, unit: str, code: str, start: pd.Timestamp | None, start_label: str,
             annual: bool = False) -> Evidence:
    """The usable observations of ``unit``'s ``code`` from ``start`` on (see the module docstring)."""
    o = data.observations
    s = o[(o["unit"] == unit) & (o["indicator"] == code)]
    if annual:
        s = s[s["period"].str.fullmatch(r"\d{4}")]
    used = s
    counts: dict[str, int] = {}
    if start is not None:
        counts[f"before {start_label}"] = int((used["date"] < start).sum())
        used = used[used["date"] >= start]
    forecasts = _forecast_periods(data.sources, unit, code)
    if forecasts:
        keep = ~used["period"].isin(forecasts) & ~used["year"].astype(str).isin(forecasts)
        counts["forecasts"] = int((~keep).sum())
        used = used[keep]
    zero = used["value"] == 0
    counts["zeros"] = int(zero.sum())
    used = used[~zero]
    notes: list[str] = []
    breaks = data.breaks
    b = breaks[breaks["unit"].isin([unit, "", "None"]) & (breaks["indicator"] == code)] if not breaks.empty else breaks
    if not used.empty and not b.empty:
        inside = b[(b["start"] > used["date"].iloc[0]) & (b["start"] <= used["date"].iloc[-1])]
        if not inside.empty:
            cut = inside.sort_values("start").iloc[-1]
            before = used["date"] < cut["start"]
            counts[f"before the break of {cut['start'].date()}"] = int(before.sum())
            used = used[~before]
            msg = (f"{unit} {code}: observations from {start_label} straddle a series break on {cut['start'].date()}"
                   f"{' (' + cut['note'] + ')' if cut['note'] else ''}; only those from the break on are counted, "
                   "and a baseline before it is on another definition")
            warnings.warn(msg, SeriesBreakWarning, stacklevel=3)
            notes.append("SeriesBreakWarning")
    return Evidence(s, used, start_label, start, counts, notes)


def _n(v: float) -> str:
    """A number for a rule text: thousands separated, three significant digits below 100."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def _rule(key: str, **kw: Any) -> dict[str, str]:
    zh, en = RULES[key]
    return {"rule_zh": zh.format(**kw), "rule_en": en.format(**kw)}


def _start(spec: Spec, t: Target) -> tuple[pd.Timestamp | None, str]:
    """The date a target counts from, and its label: the baseline's, else the start year's 1 January."""
    if t.baseline is not None:
        _, label, _ = parse_period(t.baseline.date)
        return _period_end(label), label
    year = t.start_year or (spec.tracking.start_year if spec.tracking else None)
    return (pd.Timestamp(year, 1, 1), str(year)) if year else (None, "the first observation")


def _track_one(spec: Spec, data: Observed, tid: str, node: Node, t: Target, unit: str) -> dict[str, Any]:
    assert spec.tracking is not None
    row: dict[str, Any] = {c: math.nan for c in COLUMNS}
    row.update(
        target=tid, indicator=node.code, name_zh=node.name_zh, name_en=node.name_en,
        unit=(node.unit if t.basis == "growth_vs_reference" else t.unit or node.unit) or "",
        basis=t.basis, kind="pass_fail" if t.basis in PASS_FAIL_BASES else "distance", tracked_unit=unit,
        target_value=t.value, target_year=t.year, model="", reference=t.reference or "", n_obs=0,
        min_obs=spec.tracking.min_obs, warnings="", quote=t.quote or "",
        reading_zh=t.reading_zh or "", reading_en=t.reading_en or "",
    )
    start, start_label = _start(spec, t)
    ev = evidence(data, unit, node.code, start, start_label, annual=t.basis == "cumulative")
    s = ev.series
    if s.empty:
        row.update(status="no_data", **_rule("no_data"))
        return row
    row.update(latest_value=float(s["value"].iloc[-1]), latest_date=s["period"].iloc[-1], n_obs=ev.n, model=ev.describe())
    if t.baseline is not None and start is not None and start > s["date"].iloc[-1]:
        warnings.warn(
            f"{spec.source}: tree.{node.code}: target {tid}: baseline {start_label} is later than every observation of "
            f"{unit} (the latest is {s['period'].iloc[-1]})", BaselineAfterDataWarning, stacklevel=3,
        )
        ev.warnings.append("BaselineAfterDataWarning")
    row["warnings"] = "; ".join(ev.warnings)
    if ev.used.empty:
        row.update(status="not_started", **_rule("not_started", start=start_label))
        if t.baseline is not None:
            row.update(baseline_value=t.baseline.value, baseline_date=start_label)
        return row
    if t.basis == "rank":
        return _rank(row, ev, t, spec.tracking.min_obs)
    if t.basis == "growth_gap":
        return _gap(row, ev, t, spec.tracking.min_obs)
    if t.basis == "growth_vs_reference":
        return _growth_vs_reference(row, spec, data, ev, t)
    if t.basis == "cumulative":
        return _cumulative(row, spec, ev, t)
    return _level(row, spec, ev, t, better=-1 if node.direction == -1 else 1)


def _few(row: dict[str, Any], ev: Evidence, min_obs: int) -> bool:
    """Mark ``row`` insufficient_data when ``ev`` has fewer than ``min_obs`` usable observations."""
    if ev.n >= min_obs:
        return False
    obs = "observation" if ev.n == 1 else "observations"
    row.update(status="insufficient_data", **_rule("few", start=ev.start_label, n=ev.n, min=min_obs, obs=obs))
    return True


def _baseline(row: dict[str, Any], ev: Evidence, t: Target) -> tuple[float, pd.Timestamp]:
    """The baseline and the latest usable observation, into ``row``. The baseline is the spec's; else
    the level at the start (the last observation before it: context, not counted); else the first
    usable observation."""
    first, last = ev.used.iloc[0], ev.used.iloc[-1]
    before = ev.series[ev.series["date"] < ev.start] if ev.start is not None else ev.series.iloc[:0]
    if t.baseline is not None:
        _, label, _ = parse_period(t.baseline.date)
        base_value, base_date = t.baseline.value, _period_end(label)
    elif not before.empty:
        base_value, base_date, label = float(before["value"].iloc[-1]), before["date"].iloc[-1], before["period"].iloc[-1]
    else:
        base_value, base_date, label = float(first["value"]), first["date"], first["period"]
    row.update(baseline_value=base_value, baseline_date=label, latest_value=float(last["value"]), latest_date=last["period"])
    return base_value, base_date


def _level(row: dict[str, Any], spec: Spec, ev: Evidence, t: Target, better: int) -> dict[str, Any]:
    tracking = spec.tracking
    assert tracking is not None
    base_value, base_date = _baseline(row, ev, t)
    latest, latest_date = row["latest_value"], ev.used["date"].iloc[-1]
    end = pd.Timestamp(int(t.year), 12, 31) if t.year else None
    if t.value != base_value:
        row["attainment"] = (latest - base_value) / (t.value - base_value)
    if end is not None:
        row["required_cagr_from_baseline"] = required_cagr(base_value, t.value, _years_between(base_date, end))
        row["required_cagr_from_latest"] = required_cagr(latest, t.value, _years_between(latest_date, end))
    span = _years_between(base_date, latest_date)
    if span >= 0.25:
        row["achieved_cagr"] = required_cagr(base_value, latest, span)
    if _few(row, ev, tracking.min_obs):
        row["model"], row["model_zh"] = "no projection: " + ev.describe(), "未作预测：" + ev.describe("zh")
        return row
    proj = lo = hi = math.nan
    if end is not None and end > latest_date:
        if tracking.model == "ets":
            annual = ev.used[ev.used["period"].str.fullmatch(r"\d{4}")]
            proj, lo, hi = project_ets(list(annual["year"]), annual["value"].to_numpy(float), int(t.year), tracking.level)
            row["model"] = f"ETS(A,A,N) on ln(annual values), {tracking.level:.0%} prediction interval, on " + ev.describe()
            row["model_zh"] = f"对年度值取对数的ETS(A,A,N)模型，{tracking.level:.0%}预测区间，依据" + ev.describe("zh")
        else:
            proj, lo, hi = project_loglinear(list(ev.used["date"]), ev.used["value"].to_numpy(float), end, tracking.level)
            row["model"] = f"OLS ln(value) = a + b·t, {tracking.level:.0%} prediction interval, on " + ev.describe()
            row["model_zh"] = f"最小二乘 ln(值) = a + b·t，{tracking.level:.0%}预测区间，依据" + ev.describe("zh")
        row.update(projection=proj, projection_lo=lo, projection_hi=hi)
    return _judge(row, latest, proj, lo, hi, t, base_value, better, ev.n)


def _cumulative(row: dict[str, Any], spec: Spec, ev: Evidence, t: Target) -> dict[str, Any]:
    tracking = spec.tracking
    assert tracking is not None
    first_year = t.start_year or tracking.start_year or int(ev.series["year"].min())
    done = ev.series[ev.series["year"] >= first_year]
    cum = float(ev.used["value"].sum())
    last_year = int(done["year"].max())
    remaining = (t.year or last_year) - last_year
    elapsed = last_year - first_year + 1
    row.update(baseline_value=0.0, baseline_date=str(first_year), latest_value=cum,
               latest_date=str(first_year) if last_year == first_year else f"{first_year}-{last_year}")
    row["attainment"] = cum / t.value if t.value else math.nan
    row["required_per_year"] = (t.value - cum) / remaining if remaining > 0 else math.nan
    row["achieved_per_year"] = cum / elapsed if elapsed > 0 else math.nan
    if _few(row, ev, tracking.min_obs):
        row["model"], row["model_zh"] = "no projection: " + ev.describe(), "未作预测：" + ev.describe("zh")
        return row
    proj = lo = hi = cum
    if remaining > 0:
        dates = [pd.Timestamp(int(y), 12, 31) for y in ev.used["year"]]
        vals = ev.used["value"].to_numpy(dtype=float)
        parts = [project_loglinear(dates, vals, pd.Timestamp(y, 12, 31), tracking.level) for y in range(last_year + 1, t.year + 1)]
        proj, lo, hi = (cum + sum(p[k] for p in parts) for k in range(3))
    row.update(projection=proj, projection_lo=lo, projection_hi=hi,
               model="OLS ln(flow) = a + b·t per remaining year, summed (interval: sum of the yearly bounds), on " + ev.describe())
    return _judge(row, cum, proj, lo, hi, t, 0.0, 1, ev.n)


def _judge(row: dict[str, Any], latest: float, proj: float, lo: float, hi: float, t: Target, base: float,
           better: int, n: int) -> dict[str, Any]:
    """The status of a distance-based target with enough observations (see the module docstring)."""
    if _meets(latest, t.value, better):
        row.update(status="achieved", **_rule("achieved", n=n))
        return row
    if math.isnan(proj):
        row.update(status="insufficient_data", **_rule("no_projection"))
        return row
    worse, good = (lo, hi) if better > 0 else (hi, lo)
    if t.value != base:
        a_worse, a_good = ((worse - base) / (t.value - base), (good - base) / (t.value - base))
        if a_worse <= TOO_WIDE[0] and a_good >= TOO_WIDE[1]:
            row.update(status="insufficient_data", **_rule("wide", lo=_n(lo), hi=_n(hi)))
            return row
    if _meets(proj, t.value, better):
        row.update(status="on_track", **_rule("on_track", year=t.year, n=n))
    elif _meets(good, t.value, better):
        row.update(status="at_risk", **_rule("at_risk"))
    else:
        row.update(status="off_track", **_rule("off_track"))
    return row


def _rank(row: dict[str, Any], ev: Evidence, t: Target, min_obs: int) -> dict[str, Any]:
    first, _ = _baseline(row, ev, t)
    row["model"], row["model_zh"] = "latest rank; " + ev.describe(), "最新位次；" + ev.describe("zh")
    if _few(row, ev, min_obs):
        return row
    rank, cut = row["latest_value"], t.value
    kw = dict(rank=_n(rank), cut=_n(cut), n=ev.n, first=_n(first), first_year=row["baseline_date"])
    if rank <= cut:
        row.update(status="achieved", **_rule("rank_achieved", **kw))
    elif rank < first:
        row.update(status="at_risk", **_rule("rank_at_risk", **kw))
    else:
        row.update(status="off_track", **_rule("rank_off_track", **kw))
    return row


def _gap(row: dict[str, Any], ev: Evidence, t: Target, min_obs: int) -> dict[str, Any]:
    last = ev.used.iloc[-1]
    row.update(latest_value=float(last["value"]), latest_date=last["period"], growth_gap=float(last["value"]),
               model="latest growth gap; " + ev.describe())
    if _few(row, ev, min_obs):
        return row
    ok = float(last["value"]) >= t.value
    over = t.year is not None and last["date"] >= pd.Timestamp(int(t.year), 12, 31)
    row.update(status=("achieved" if over else "on_track") if ok else "off_track",
               **_rule("gap_met" if ok else "gap_missed", gap=_n(float(last["value"])), cut=_n(t.value)))
    return row


def level_at(series: pd.DataFrame, when: pd.Timestamp) -> float:
    """The level of ``series`` (``date, value``, positive) at ``when``: observed, else interpolated
    log-linearly between the observations either side (never extrapolated; NaN outside)."""
    s = series[series["value"] > 0]
    exact = s[s["date"] == when]
    if not exact.empty:
        return float(exact["value"].iloc[-1])
    before, after = s[s["date"] < when], s[s["date"] > when]
    if before.empty or after.empty:
        return math.nan
    (d0, v0), (d1, v1) = (before["date"].iloc[-1], float(before["value"].iloc[-1])), (after["date"].iloc[0], float(after["value"].iloc[0]))
    f = (when - d0).days / (d1 - d0).days
    return math.exp(math.log(v0) + f * (math.log(v1) - math.log(v0)))


def _growth_vs_reference(row: dict[str, Any], spec: Spec, data: Observed, ev: Evidence, t: Target) -> dict[str, Any]:
    """The plan's 年均增速高于全国平均水平: annualised growth from the baseline to the latest
    observation against the reference unit's growth over the same dates, from the two level series."""
    assert spec.tracking is not None and t.reference
    base_value, base_date = _baseline(row, ev, t)
    latest, latest_date = row["latest_value"], ev.used["date"].iloc[-1]
    span = _years_between(base_date, latest_date)
    g = required_cagr(base_value, latest, span)
    ref = evidence(data, t.reference, row["indicator"], None, "the first observation").used
    r0, r1 = level_at(ref, base_date), level_at(ref, latest_date)
    gr = required_cagr(r0, r1, span)
    row.update(achieved_cagr=g, reference_value=gr,
               model=f"annualised growth {row['baseline_date']} to {row['latest_date']} against {t.reference} "
               "(its level interpolated log-linearly at dates it does not observe), on " + ev.describe())
    if not (math.isnan(g) or math.isnan(gr)):
        row["growth_gap"] = (g - gr) * 100
    if _few(row, ev, spec.tracking.min_obs):
        return row
    if math.isnan(row["growth_gap"]):
        row.update(status="insufficient_data",
                   **_rule("no_reference", ref=t.reference, base=row["baseline_date"], latest=row["latest_date"]))
        return row
    kw = dict(base=row["baseline_date"], latest=row["latest_date"], g=f"{g:.2%}", r=f"{gr:.2%}", ref=t.reference,
              gap=f"{row['growth_gap']:+.2f}", cut=_n(t.value))
    over = t.year is not None and latest_date >= pd.Timestamp(int(t.year), 12, 31)
    if row["growth_gap"] >= t.value:
        row.update(status="achieved" if over else "on_track", **_rule("growth_achieved" if over else "growth_ahead", **kw))
    else:
        row.update(status="off_track", **_rule("growth_behind", **kw))
    return row
