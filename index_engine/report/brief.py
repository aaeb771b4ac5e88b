"""The printable two-page brief of a tracked unit: ``brief-<unit>.html`` (…简报 / …: Brief).

Which units get one: the spec's ``tracking.unit`` and the units ``targets.csv`` tracks, when they
have an index score in the latest year. A spec that tracks no unit (a pure benchmark such as
ASEM or the HDI) gets no brief: a brief of whoever ranks first would be a profile nobody asked for.

Two sheets, each one printed A4 page (``brief.css``: ``@page { size: A4 }``, a page break after
the first sheet; the browser's default print gives two pages): sheet 1 holds the index value,
rank and change, the dimensions against the reference and the index over the years; sheet 2 the
targets scorecard (from ``targets.csv`` in the build folder), strengths and weaknesses. Each sheet
carries the build's data notice (the same text as every page's notice bar) and its page number;
the pages' footer (publication details) follows the second sheet.
The charts are HTML bars sized in the markup, so printing needs no script and no redraw.

The reference is, in order: a reference unit with index scores (the national series), else the
peer median of the units ranked (as EIS shows the EU average), else, for a single-unit time
series, the unit's own base (first) year.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .model import ReportModel, page_stem, records, tracked_units

from .page import Page, strengths_weaknesses

if TYPE_CHECKING:
    from .site import PageBuilder

TARGET_ROWS = 12
"""Targets listed on the brief (the rest are counted, with a pointer to the targets page)."""
TREND_YEARS = 7
"""Latest years of the index shown in the brief's small table."""


def brief_file(unit: str) -> str:
    """The page of ``unit``'s brief."""
    return f"{page_stem('brief', unit)}.html"


def brief_units(m: ReportModel) -> list[str]:
    """Units that get a brief: the tracked ones with an index score in the latest year (:func:`tracked_units`)."""
    return tracked_units(m)


def reference(m: ReportModel, u: str) -> dict[str, Any]:
    """How the brief compares ``u``: ``kind`` (unit | median | base | none), a label's fields and
    ``score(year, node)``."""
    y = m.latest
    for r, info in m.units.items():
        if info.reference and m.score(r, y, m.root) is not None:
            return {"kind": "unit", "unit": r, "score": lambda yr, node, r=r: m.score(r, yr, node)}
    n = len(m.ranking(y))
    if n > 1:
        return {"kind": "median", "n": n, "score": lambda yr, node: m.peer_median(yr, node)}
    if m.has_years and len(m.years) > 1:
        base = m.years[0]
        return {"kind": "base", "year": base, "score": lambda yr, node: m.score(u, base, node)}
    return {"kind": "none", "score": lambda yr, node: None}


def target_rows(m: ReportModel, u: str) -> list[dict[str, Any]]:
    """The rows of targets.csv for ``u`` (all of them when the file names no tracked unit)."""
    if m.targets is None:
        return []
    rows = records(m.targets)
    if "tracked_unit" in m.targets.columns:
        rows = [r for r in rows if str(r.get("tracked_unit") or u) == u]
    return rows


def brief_page(pb: "PageBuilder", u: str) -> "Page":
    """``brief-<unit>.html``: two printed A4 pages on one tracked unit."""
    m, y, prev = pb.m, pb.m.latest, pb.m.previous
    ref = reference(m, u)
    lo, hi = pb.f.lo, pb.f.hi
    span = hi - lo if hi > lo else 1.0

    def bar(v: float | None) -> float:
        return 0.0 if v is None else round(100 * min(1.0, max(0.0, (v - lo) / span)), 2)

    dims = []
    for d in m.dimensions:
        s, r = m.score(u, y, d), ref["score"](y, d)
        dims.append({
            "code": d, "score": s, "ref": r, "diff": None if s is None or r is None else s - r,
            "rank": m.rank(u, y, d), "n": len(m.ranking(y, d)), "change": m.change(u, y, d),
            "bar": bar(s), "ref_bar": bar(r),
        })
    years = list(m.years[-TREND_YEARS:]) if m.has_years else []
    trend = [{"year": v, "score": m.score(u, v, m.root), "rank": m.rank(u, v, m.root),
              "ref": ref["score"](v, m.root)} for v in years]
    strengths, weaknesses = strengths_weaknesses(pb.unit_indicators(u, y))
    targets = target_rows(m, u)
    for r in targets:
        code = r.get("indicator")
        r["in_tree"] = code in m.nodes
        r["name"] = r.get(f"name_{pb.lang}") or (pb.f.node_name(code) if r["in_tree"] else str(code or ""))
    rank, prev_rank = m.rank(u, y, m.root), m.rank(u, prev, m.root) if prev is not None else None
    ref_label = {
        "unit": lambda: pb.t("brief_ref_unit", name=pb.f.unit_name(ref.get("unit", ""))),
        "median": lambda: pb.t("brief_ref_median", n=ref.get("n")),
        "base": lambda: pb.t("brief_ref_base", year=ref.get("year")),
        "none": lambda: "",
    }[ref["kind"]]()
    file = brief_file(u)
    ctx = pb.base(
        file, pb.t("brief_title", unit=pb.f.unit_name(u)), file, unit=u,
        score=m.score(u, y, m.root), change=m.change(u, y, m.root), rank=rank, n=len(m.ranking(y)),
        prev_rank=prev_rank, rank_change=None if rank is None or prev_rank is None else prev_rank - rank,
        ref_kind=ref["kind"], ref_label=ref_label, ref_score=ref["score"](y, m.root), dims=dims, trend=trend,
        targets=targets[:TARGET_ROWS], targets_more=max(0, len(targets) - TARGET_ROWS),
        has_targets=m.targets is not None, strengths=strengths, weaknesses=weaknesses, pages_total=2,
    )
    return Page(file, "brief.html.j2", ctx)
