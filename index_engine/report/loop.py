"""Pages of the plan's loop (目标量化 → 实施推进 → 统计评估): the scorecard a director reads first
(``scorecard.html``), the targets (``targets.html``) and the implementation of the plan's parts and
measures (``implementation.html``). The index and its dimensions (the other pages) are the
evaluation leg.

The pages read targets.csv and measures.csv of the build folder and the spec's ``measures:``;
the scorecard's rows come from :func:`index_engine.scorecard.scorecard`, as the terminal's do.
Pass/fail targets (ranks, growth against a reference) are never drawn on the attainment scale of
the distance-based ones.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from ..flags import FLAGS
from ..measures import PROGRESS_STATUSES, target_ids
from ..scorecard import pace, scorecard
from ..spec import PASS_FAIL_BASES
from ..targets import STATUSES
from . import charts as ch
from . import i18n
from .model import ReportModel, records

from .page import Page

if TYPE_CHECKING:
    from .site import PageBuilder

PROGRESS_ORDER = tuple(PROGRESS_STATUSES)


def nav_entries(m: ReportModel) -> list[tuple[str, str]]:
    """The loop's entries of the navigation bar: scorecard, targets and implementation, as present."""
    out = []
    if m.targets is not None:
        out += [("scorecard.html", "scorecard"), ("targets.html", "targets")]
    if _has_measures(m):
        out.append(("implementation.html", "implementation"))
    return out


def pages(pb: PageBuilder) -> list[Page]:
    out = []
    if pb.m.targets is not None:
        out += [scorecard_page(pb), targets_page(pb)]
    if _has_measures(pb.m):
        out.append(implementation_page(pb))
    return out


def _has_measures(m: ReportModel) -> bool:
    return bool(m.spec.get("measures"))


def _parts(m: ReportModel) -> list[dict[str, Any]]:
    return list(m.spec.get("measures") or [])


def pace_label(pb: PageBuilder, row: dict[str, Any]) -> str:
    """The pace of a target in the page's language, numbers in the page's formats."""
    p = pace(row)
    k = p["kind"]
    if k == "per_year":
        fmt = lambda v: pb.f.qty(v, row.get("unit"))  # noqa: E731
    elif k in ("growth", "vs_reference"):
        fmt = pb.f.pct
    elif k == "rank":
        fmt = i18n.fmt_rank
    else:
        fmt = lambda v: i18n.fmt_num(v, 2)  # noqa: E731
    req = p.get("required")
    if k == "rank":
        req_s = i18n.fmt_num(req, 0)
    else:
        req_s = fmt(req)
    gap = i18n.fmt_signed(p.get("gap"), 2)
    ref = pb.f.unit_name(p["reference"]) if p.get("reference") else ""
    return pb.t(f"pace_{k}", req=req_s, ach=fmt(p.get("achieved")), ref=ref, gap=gap)


def _target_rows(pb: PageBuilder) -> list[dict[str, Any]]:
    m, lang = pb.m, pb.lang
    rows = records(m.targets)
    for r in rows:
        r.setdefault("target", r.get("indicator"))
        r["in_tree"] = r.get("indicator") in m.nodes
        r["name"] = (r.get(f"name_{lang}") or r.get("name_en") or r.get("name_zh")
                     or (pb.f.node_name(r["indicator"]) if r["in_tree"] else r.get("indicator")))
        r["rule_text"] = r.get(f"rule_{lang}") or r.get("rule") or ""
        r["reading_text"] = i18n.pick_text(r, "reading", lang)  # a folder from before reading_zh/_en has reading (English)
        r["pace_text"] = pace_label(pb, r)
        r["pass_fail"] = r.get("kind") == "pass_fail" or r.get("basis") in PASS_FAIL_BASES
    return rows


def _definitions(pb: PageBuilder, codes: list[str]) -> list[dict[str, Any]]:
    """The 口径 of each indicator that has one in the page's language."""
    out = []
    for c in dict.fromkeys(codes):
        n = pb.m.nodes.get(c)
        if n is None:
            continue
        text = i18n.pick_text(n, "definition", pb.lang)
        if text:
            out.append({"code": c, "text": text})
    return out


def _legend(pb: PageBuilder) -> list[tuple[str, str]]:
    return [(s, pb.t(f"statusrule_{s}")) for s in STATUSES]


def _min_obs(rows: list[dict[str, Any]]) -> int | None:
    vals = [int(r["min_obs"]) for r in rows if r.get("min_obs") is not None]
    return max(vals) if vals else None


def targets_page(pb: PageBuilder) -> Page:
    """目标量化: every target with its quote, reading, evidence and status; the 口径 definitions."""
    m = pb.m
    rows = _target_rows(pb)
    counts = Counter(str(r.get("status") or "") for r in rows)
    unit = next((str(r.get("tracked_unit")) for r in rows if r.get("tracked_unit")), m.focus)
    charts: list[ch.Chart] = []

    def label(r: dict[str, Any]) -> str:
        name = str(r["name"])
        return f"{r['target']} {name}" if len(name) <= 18 else f"{r['target']} {name[:17]}…"

    pct = lambda v: i18n.fmt_pct(v, pb.lang)  # noqa: E731
    att = [r for r in rows if not r["pass_fail"] and r.get("attainment") is not None]
    if att:
        charts.append(ch.bar_chart(
            pb.cid(), pb.t("progress_chart"), [label(r) for r in att],
            [{"name": pb.t("attainment"), "values": [r["attainment"] for r in att],
              "colors": [ch.STATUS_COLORS.get(str(r.get("status")), ch.MUTED) for r in att]}],
            fmt=pct, value_title=pb.t("attainment"), category_title=pb.t("indicator"), ref_line=1.0, tickformat=".0%",
        ))
        charts[-1].note = pb.t("pass_fail_note")
    def pair(title: str, sel: list[dict[str, Any]], first: tuple[str, str, str], second: tuple[str, str, str],
             fmt: Any, value_title: str, **kw: Any) -> None:
        """Two bars per target: (column, label key, colour) of each."""
        if sel:
            charts.append(ch.bar_chart(
                pb.cid(), pb.t(title), [label(r) for r in sel],
                [{"name": pb.t(k), "values": [r.get(col) for r in sel], "color": colour} for col, k, colour in (first, second)],
                fmt=fmt, value_title=value_title, category_title=pb.t("indicator"), **kw,
            ))

    per_year = [r for r in rows if r.get("basis") == "cumulative" and r.get("required_per_year") is not None]
    unit_of = per_year[0].get("unit") if per_year else None
    pair("per_year_chart", per_year, ("required_per_year", "required_per_year", ch.MUTED),
         ("achieved_per_year", "achieved_per_year", ch.NAVY), pb.qfmt(unit_of), i18n.axis_unit(unit_of, pb.lang))
    growth = [r for r in rows if not r["pass_fail"] and r.get("basis") != "cumulative"
              and (r.get("achieved_cagr") is not None or r.get("required_cagr_from_latest") is not None)]
    pair("growth_chart", growth, ("required_cagr_from_latest", "required_from_latest", ch.MUTED),
         ("achieved_cagr", "achieved_growth", ch.NAVY), pct, pb.t("required_growth"), tickformat=".0%")
    vs = [r for r in rows if r.get("basis") == "growth_vs_reference" and r.get("achieved_cagr") is not None]
    pair("vs_reference_chart", vs, ("achieved_cagr", "unit_growth", ch.NAVY),
         ("reference_value", "reference_growth", ch.MUTED), pct, pb.t("unit_growth"), tickformat=".0%")
    pj = [r for r in rows if not r["pass_fail"] and r.get("projection") is not None and r.get("target_value") not in (None, 0)]
    if pj:
        ratio = lambda r, k: r[k] / r["target_value"] if r.get(k) is not None else None  # noqa: E731
        charts.append(ch.interval_chart(
            pb.cid(), pb.t("projection_chart"), [label(r) for r in pj],
            [ratio(r, "projection") for r in pj], [ratio(r, "projection_lo") for r in pj], [ratio(r, "projection_hi") for r in pj],
            fmt=pct, point_name=pb.t("projection"), interval_name=pb.t("interval"), value_title=pb.t("share_of_target"),
            label_title=pb.t("indicator"), ref_line=1.0, tickformat=".0%",
            colors=[ch.STATUS_COLORS.get(str(r.get("status")), ch.FOCUS) for r in pj],
            log=all(v is not None and v > 0 for r in pj for v in (ratio(r, "projection"), ratio(r, "projection_lo"))),
        ))
    ctx = pb.base("targets.html", pb.t("targets"), "targets.html", rows=rows, counts=counts, statuses=STATUSES,
                  tracked=unit, charts=charts, legend=_legend(pb), min_obs=_min_obs(rows),
                  definitions=_definitions(pb, [r["indicator"] for r in rows]))
    return Page("targets.html", "targets.html.j2", ctx, charts)


def _measure_rows(pb: PageBuilder) -> tuple[list[dict[str, Any]], bool]:
    """measures.csv rows keyed for the pages, and whether any progress was reported at all."""
    m = pb.m
    rows = records(m.measures) if m.measures is not None else []
    reported = any((r.get("status") or "no_report") != "no_report" for r in rows)
    for r in rows:
        r["title"] = (r.get(f"title_{pb.lang}") or r.get("title_zh") or r.get("title_en") or r.get("item"))
        if pb.lang == "en":  # the file's English columns when it has them (measures.TRANSLATED_COLUMNS)
            r["evidence"], r["source"] = r.get("evidence_en") or r.get("evidence"), r.get("source_en") or r.get("source")
        flag = str(r.get("flag") or "")
        r["flag_label"] = FLAGS[flag].label(pb.lang) if flag in FLAGS and FLAGS[flag].marked else ""
        r["targets_list"] = [t for t in str(r.get("targets") or "").split(";") if t]
        r["indicators_list"] = [c for c in str(r.get("indicators") or "").split(";") if c and c in m.nodes]
    return rows, reported


def _status_of_targets(m: ReportModel) -> dict[str, str]:
    if m.targets is None or "target" not in m.targets.columns:
        return {}
    return dict(zip(m.targets["target"], m.targets["status"]))


def implementation_page(pb: PageBuilder) -> Page:
    """实施推进: each part of the plan with its measures, highlights, milestones, links and progress."""
    m = pb.m
    rows, reported = _measure_rows(pb)
    by_item = {r["item"]: r for r in rows}
    tstatus = _status_of_targets(m)
    parts = []
    for p in _parts(m):
        measures = []
        for ms in p.get("measures") or []:
            r = by_item.get(ms["code"], {"status": "no_report", "targets_list": [], "indicators_list": []})
            miles = [by_item[c] for c in by_item if by_item[c].get("measure") == ms["code"] and by_item[c].get("kind") == "milestone"]
            highlights = [(h.get(pb.lang) or h.get("zh") or h.get("en")) for h in ms.get("highlights") or []]
            measures.append({"code": ms["code"], "title": ms.get(f"title_{pb.lang}") or ms.get("title_zh"), "row": r,
                             "highlights": highlights, "milestones": miles,
                             "targets": [(t, tstatus.get(t)) for t in r["targets_list"]]})
        parts.append({"code": p["code"], "title": p.get(f"title_{pb.lang}") or p.get("title_zh"), "measures": measures,
                      "targets": [(t, tstatus.get(t)) for t in target_ids(m.parsed_spec, p.get("targets") or [])]})
    unreported = [r for r in rows if r.get("status") == "no_report"]
    ctx = pb.base("implementation.html", pb.t("implementation"), "implementation.html", parts=parts,
                  unreported=unreported, reported=reported, progress=PROGRESS_ORDER)
    return Page("implementation.html", "implementation.html.j2", ctx)


def scorecard_page(pb: PageBuilder) -> Page:
    """The one-page scorecard: every target (value, pace, projection, status), every part (its measures' status)."""
    m = pb.m
    rows = _target_rows(pb)
    parts = [(p["code"], p.get("title_zh") or "", p.get("title_en") or "") for p in _parts(m)]
    mrows = m.measures if m.measures is not None else None
    card = scorecard(None, mrows, parts)
    tstatus = _status_of_targets(m)
    for p, spec_part in zip(card["parts"], _parts(m)):
        p["title"] = (p["title_zh"] if pb.lang == "zh" else p["title_en"]) or p["title_zh"]
        p["targets"] = [(t, tstatus.get(t)) for t in target_ids(m.parsed_spec, spec_part.get("targets") or [])]
    unit = next((str(r.get("tracked_unit")) for r in rows if r.get("tracked_unit")), m.focus)
    counts = Counter(str(r.get("status") or "") for r in rows)
    ctx = pb.base("scorecard.html", pb.t("scorecard"), "scorecard.html", rows=rows, parts=card["parts"],
                  counts=counts, statuses=STATUSES, progress=PROGRESS_ORDER, tracked=unit,
                  legend=_legend(pb), min_obs=_min_obs(rows), has_measures=_has_measures(m))
    return Page("scorecard.html", "scorecard.html.j2", ctx)
