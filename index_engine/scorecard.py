"""The scorecard of the plan's loop: every target with its value, required against achieved pace,
projection and status, and every part of the plan with the status of its measures.

One structure for both readers: :func:`scorecard` gives the rows, the terminal prints them with
:func:`scorecard_text` (``index-engine targets``) and the report's scorecard page renders them.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import pandas as pd

from .measures import PROGRESS_STATUSES
from .targets import STATUS_RULES, STATUSES

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "achieved": ("已达成", "achieved"),
    "on_track": ("进度正常", "on track"),
    "at_risk": ("有风险", "at risk"),
    "off_track": ("偏离目标", "off track"),
    "insufficient_data": ("数据不足", "insufficient data"),
    "not_started": ("尚未开始", "not started"),
    "no_data": ("无数据", "no data"),
}
"""Target status labels (zh, en)."""


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def pace(row: dict[str, Any]) -> dict[str, Any]:
    """The pace a target needs and the one achieved, by basis: ``kind`` is ``per_year`` (cumulative:
    amount per remaining year against amount per year so far), ``growth`` (levels: growth required
    from the latest value against growth achieved), ``vs_reference`` (growth against the reference
    unit's) or ``rank`` (latest rank against the cut-off)."""
    basis = str(row.get("basis") or "")
    if basis == "cumulative":
        return {"kind": "per_year", "required": _num(row.get("required_per_year")), "achieved": _num(row.get("achieved_per_year"))}
    if basis == "growth_vs_reference":
        return {"kind": "vs_reference", "required": _num(row.get("reference_value")), "achieved": _num(row.get("achieved_cagr")),
                "gap": _num(row.get("growth_gap")), "reference": row.get("reference") or ""}
    if basis in ("rank", "growth_gap"):
        return {"kind": basis, "required": _num(row.get("target_value")), "achieved": _num(row.get("latest_value"))}
    return {"kind": "growth", "required": _num(row.get("required_cagr_from_latest")), "achieved": _num(row.get("achieved_cagr"))}


def scorecard(targets: pd.DataFrame | None, measures: pd.DataFrame | None,
              parts: Iterable[tuple[str, str, str]]) -> dict[str, Any]:
    """``{"targets": [...], "parts": [...], "counts": {status: n}}``.

    ``targets``: targets.csv rows, each with ``pace`` (see :func:`pace`). ``parts``: ``(code,
    title_zh, title_en)`` of the plan's parts; each part row gets its measures (from measures.csv)
    and ``counts`` of their statuses, milestones apart (``milestone_counts``).
    """
    rows = [] if targets is None else [dict(r) for r in targets.to_dict("records")]
    for r in rows:
        r["pace"] = pace(r)
    counts = {s: sum(1 for r in rows if r.get("status") == s) for s in STATUSES}
    m = measures if measures is not None else pd.DataFrame(columns=["part", "kind", "status"])
    out_parts = []
    for code, zh, en in parts:
        mine = m[m["part"] == code]
        items = mine.to_dict("records")
        meas = [r for r in items if r.get("kind") == "measure"]
        miles = [r for r in items if r.get("kind") == "milestone"]
        out_parts.append({
            "code": code, "title_zh": zh, "title_en": en, "measures": meas, "milestones": miles,
            "counts": {s: sum(1 for r in meas if r.get("status") == s) for s in PROGRESS_STATUSES},
            "milestone_counts": {s: sum(1 for r in miles if r.get("status") == s) for s in PROGRESS_STATUSES},
        })
    return {"targets": rows, "parts": out_parts, "counts": counts}


def _fmt(v: float | None, pct: bool = False) -> str:
    if v is None:
        return "–"
    return f"{v:.1%}" if pct else (f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}")


def pace_text(p: dict[str, Any], lang: str = "en") -> str:
    """One line for the pace of a target (terminal and report use the same words)."""
    zh = lang == "zh"
    k, req, ach = p["kind"], p.get("required"), p.get("achieved")
    if k == "per_year":
        return f"需每年{_fmt(req)}，已实现每年{_fmt(ach)}" if zh else f"needs {_fmt(req)}/yr, achieved {_fmt(ach)}/yr"
    if k == "vs_reference":
        gap = "–" if p.get("gap") is None else f"{p['gap']:+.2f}"
        return (f"年化增速{_fmt(ach, True)}，{p['reference']}为{_fmt(req, True)}（差{gap}个百分点）" if zh
                else f"growth {_fmt(ach, True)} vs {p['reference']} {_fmt(req, True)} ({gap} pp)")
    if k == "rank":
        return f"排名第{_fmt(ach)}，门槛前{_fmt(req)}" if zh else f"rank {_fmt(ach)}, cut-off {_fmt(req)}"
    if k == "growth_gap":
        return f"增速差{_fmt(ach)}，要求≥{_fmt(req)}" if zh else f"gap {_fmt(ach)} pp, needs >= {_fmt(req)}"
    return (f"需年增{_fmt(req, True)}，已实现{_fmt(ach, True)}" if zh
            else f"needs {_fmt(req, True)}/yr, achieved {_fmt(ach, True)}/yr")


def scorecard_text(spec: Any, targets: pd.DataFrame, measures: pd.DataFrame | None) -> str:
    """The scorecard as terminal text, in the index's language."""
    lang = spec.index.lang
    zh = lang == "zh"
    card = scorecard(targets, measures, [(p.code, p.title_zh, p.title_en) for p in spec.measures])
    unit = spec.tracking.unit if spec.tracking else ""
    min_obs = spec.tracking.min_obs if spec.tracking else 3
    lines = [f"{spec.index.id}: " + (f"{unit}目标计分卡（状态至少需{min_obs}个有效观测）" if zh
                                     else f"scorecard of {unit} (a status needs at least {min_obs} usable observations)")]
    for r in card["targets"]:
        name = (r.get("name_zh") if zh else r.get("name_en")) or r.get("indicator")
        value = f"{_fmt(_num(r.get('latest_value')))} ({r.get('latest_date') or '–'})"
        goal = (f"{'增速差≥' if zh else 'gap >= '}{_fmt(_num(r.get('target_value')))} pp" if r.get("basis") == "growth_vs_reference"
                else _fmt(_num(r.get("target_value")))) + (f" ({int(r['target_year'])})" if _num(r.get("target_year")) else "")
        proj = _num(r.get("projection"))
        proj_s = "" if proj is None else f" proj {_fmt(proj)} [{_fmt(_num(r.get('projection_lo')))}, {_fmt(_num(r.get('projection_hi')))}]"
        status = STATUS_LABELS.get(str(r.get("status")), (r.get("status"), r.get("status")))[0 if zh else 1]
        lines.append(f"  {r['target']:<11} {status:<17} n={int(_num(r.get('n_obs')) or 0)}  {name}: {value} -> {goal}; "
                     f"{pace_text(r['pace'], lang)}{proj_s}")
        lines.append(f"  {'':<11} {r.get('rule_zh' if zh else 'rule_en') or ''}")
    if card["parts"]:
        lines.append("实施推进（各部分举措状态）" if zh else "implementation (status of each part's measures)")
        for p in card["parts"]:
            title = p["title_zh"] if zh else (p["title_en"] or p["title_zh"])
            parts = [f"{PROGRESS_STATUSES[s][0 if zh else 1]} {n}" for s, n in p["counts"].items() if n]
            miles = [f"{PROGRESS_STATUSES[s][0 if zh else 1]} {n}" for s, n in p["milestone_counts"].items() if n]
            what = ", ".join(parts) or ("无举措（目标见上）" if zh else "no measures (targets above)")
            lines.append(f"  {p['code']:<4} {title}: {len(p['measures'])} " + ("项举措" if zh else "measures") + f" ({what})"
                         + (f"; " + ("里程碑" if zh else "milestones") + f" {', '.join(miles)}" if miles else ""))
    legend = "; ".join(f"{STATUS_LABELS[s][0 if zh else 1]}: {STATUS_RULES[s][0 if zh else 1]}" for s in STATUSES)
    lines.append(("状态规则：" if zh else "status rules: ") + legend)
    return "\n".join(lines)
