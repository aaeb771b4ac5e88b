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
from .targets import STATUS_LABELS, STATUS_RULES, STATUSES



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


PACE_TEXT: dict[str, tuple[str, str]] = {
    "per_year": ("剩余每年需{req}，已实现年均{ach}", "needs {req} a year, achieved {ach} a year"),
    "growth": ("需年增{req}，已实现{ach}", "needs {req} a year, achieved {ach}"),
    "vs_reference": ("年化增速{ach}，{ref}为{req}（差{gap}个百分点）", "growth {ach} against {ref}'s {req} ({gap} pp)"),
    "rank": ("排名{ach}，目标为前{req}位", "rank {ach}, target: top {req}"),
    "growth_gap": ("增速差{ach}个百分点，要求≥{req}", "gap {ach} pp, needs >= {req}"),
}
"""The words of a target's pace by kind (zh, en); the terminal and the pages fill in the numbers."""


def _fmt(v: float | None, pct: bool = False) -> str:
    if v is None:
        return "–"
    return f"{v:.1%}" if pct else (f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}")


def pace_text(p: dict[str, Any], lang: str = "en") -> str:
    """One line for the pace of a target, numbers plainly formatted (the terminal's)."""
    pct = p["kind"] in ("growth", "vs_reference")
    gap = "–" if p.get("gap") is None else f"{p['gap']:+.2f}"
    text = PACE_TEXT[p["kind"]][0 if lang == "zh" else 1]
    return text.format(req=_fmt(p.get("required"), pct), ach=_fmt(p.get("achieved"), pct), ref=p.get("reference", ""), gap=gap)


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
        date = r.get("latest_date")
        value = f"{_fmt(_num(r.get('latest_value')))} ({'–' if date is None or pd.isna(date) or date == '' else date})"
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
                         + ("; " + ("里程碑" if zh else "milestones") + f" {', '.join(miles)}" if miles else ""))
    legend = "; ".join(f"{STATUS_LABELS[s][0 if zh else 1]}: {STATUS_RULES[s][0 if zh else 1]}" for s in STATUSES)
    lines.append(("状态规则：" if zh else "status rules: ") + legend)
    return "\n".join(lines)
