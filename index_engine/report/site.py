"""The pages of a report site: :class:`PageBuilder` makes each page's context from the report model.

Stage two of three (see :mod:`.render`): plain rows of codes and numbers, formatted text and
:class:`~index_engine.report.charts.Chart` objects, in one language. The pages of the evaluation
loop, the explorer and the brief are made by :mod:`.loop`, :mod:`.explorer` and :mod:`.brief`;
a firm-level build's by :mod:`.firms`.
"""

from __future__ import annotations

import functools
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable

from . import charts as ch
from . import i18n
from . import loop
from .brief import brief_file, brief_page, brief_units
from .explorer import EXPLORER_PAGE, explorer_page
from .format import Formatter
from .model import ReportModel, records
from .page import Page, strengths_weaknesses
from ..spec import STEP_NAMES, step_choice
from ..families import FAMILIES


class PageBuilder:
    """Builds every page's context from the model, in one language."""

    def __init__(self, m: ReportModel, lang: str, has_xlsx: bool = False):
        self.m, self.lang = m, lang
        self.f = Formatter(m, lang)
        self._maker = self._ids = 0
        self.has_xlsx = has_xlsx  # the report sits in its build folder, beside results.xlsx
        self.downloads: dict[str, tuple[list[str], list[list[Any]]]] = {}  # data/<name>.csv -> (columns, rows)

    def download(self, name: str, columns: list[str], rows: list[list[Any]]) -> str:
        """Register a table's CSV (written with the report as ``data/<name>.csv``) and return its path."""
        path = f"data/{name}.csv"
        self.downloads[path] = (columns, rows)
        return path

    # ---- helpers ----------------------------------------------------------------------
    def t(self, key: str, **kw: Any) -> str:
        return i18n.t(key, self.lang, **kw)

    def cid(self) -> str:
        """A chart's id, unique in the report: the position of its page's maker and a count within it, so
        that pages made in any order or process get the same ids."""
        self._ids += 1
        return f"chart-{self._maker + 1}-{self._ids}"

    def year_label(self, y: int | None) -> str:
        return "" if y is None or not self.m.has_years else str(y)

    def qfmt(self, unit: str | None) -> Callable[[Any], str]:
        return lambda v: i18n.fmt_qty(v, unit, self.lang)

    @property
    def sfmt(self) -> Callable[[Any], str]:
        return self.f.score

    @property
    def single(self) -> bool:
        """One unit ranked (a time series): pages for one unit, no rank out of one and no peer statistics."""
        return len(self.m.ranked_units) == 1

    @property
    def base_year(self) -> int | None:
        """The first year of a build with several years (the base of a time series), else None."""
        return self.m.years[0] if self.m.has_years and len(self.m.years) > 1 else None

    def year_rows(self, u: str) -> list[dict[str, Any]]:
        """One row per year for one unit: index score, change, growth (%) and each dimension's score."""
        m, rows, last = self.m, [], None
        for yr in m.years:
            s = m.score(u, yr, m.root)
            rows.append({
                "year": yr, "score": s, "change": m.change(u, yr, m.root),
                "growth": None if s is None or last in (None, 0) else s / last - 1,
                "dims": {d: m.score(u, yr, d) for d in m.dimensions},
            })
            last = s
        return rows

    def notice(self) -> str:
        """The data notice in the page's language: the build's own (:func:`index_engine.outputs.data_notice`,
        recorded in ``manifest.json`` as ``notice``); empty for a folder written before it was recorded."""
        rec = self.m.manifest.get("notice")
        src = rec if isinstance(rec, dict) else {}
        return str(src.get(self.lang) or src.get("en" if self.lang == "zh" else "zh") or "")

    def publication(self) -> dict[str, Any]:
        """The publication block: ``rows`` of (label, text) from the spec's ``publication:`` section and the
        suggested citation (the spec's, else one made from the index's name, publisher and version).
        The data cut-off defaults to the latest vintage in ``provenance.csv``, else the latest year; no
        date is taken from the clock."""
        m, zh = self.m, self.lang == "zh"
        pub = m.spec.get("publication") or {}
        name = i18n.pick_name(m.index, self.lang, str(m.index.get("id", "")))
        publisher = (pub.get("publisher") if zh else pub.get("publisher_en") or pub.get("publisher")) or ""
        version = pub.get("version") or str(m.index.get("version") or "")
        cutoff = pub.get("data_cutoff") or m.latest_vintage or (str(m.latest) if m.has_years else "")
        release = pub.get("release_date") or ""
        licence = (pub.get("licence") if zh else pub.get("licence_en") or pub.get("licence")) or ""
        rows = [(self.t(k), v) for k, v in (
            ("pub_publisher", publisher), ("pub_release", release), ("pub_cutoff", cutoff),
            ("version", version), ("pub_contact", pub.get("contact") or ""), ("pub_licence", licence),
        ) if v]
        citation = pub.get(f"citation_{self.lang}") or ""
        if not citation:
            year = (release or cutoff)[:4]
            citation = self.t("citation_auto", who=publisher or name, year=year, name=name, version=version or "1") if year else \
                self.t("citation_auto_noyear", who=publisher or name, name=name, version=version or "1")
        return {"rows": rows, "citation": citation}

    def nav(self) -> list[tuple[str, str]]:
        """(page, interface-string key) of each entry of the navigation bar."""
        m = self.m
        nav = [("index.html", "overview"), ("units.html", "units"), ("framework.html", "framework")]
        nav += loop.nav_entries(m)
        nav.append(("methodology.html", "methodology"))
        if m.audit is not None or m.sensitivity is not None:
            nav.append(("robustness.html", "robustness"))
        nav += extra_nav(self)
        return nav

    def base(self, file: str, title: str, active: str, **kw: Any) -> dict[str, Any]:
        m = self.m
        if not hasattr(self, "_pub"):  # the same on every page: worked out once
            self._pub, self._notice, self._nav = self.publication(), self.notice(), self.nav()
            rec = m.manifest.get("notice")
            self._illustrative = bool(rec.get("illustrative")) if isinstance(rec, dict) else False
        notice = self._notice
        return {
            "file": file,
            "title": title,
            "active": active,
            "nav": list(self._nav),
            "index_name": i18n.pick_name(m.index, self.lang, str(m.index.get("id", ""))),
            "index_description": i18n.pick_text(m.index, "description", self.lang),
            "notice": notice or "",
            "notice_illustrative": self._illustrative,
            "publication": self._pub,
            "year": self.year_label(m.latest),
            "single": self.single,
            "base_year": self.base_year,
            "crumbs": kw.pop("crumbs", []),
            "charts": kw.pop("charts", []),
            **kw,
        }

    # ---- pages ------------------------------------------------------------------------
    def pages(self) -> list[Page]:
        """Every page, in order."""
        return self.make_pages(range(len(self.page_makers())))

    def make_pages(self, which: Iterable[int]) -> list[Page]:
        """The pages of the makers at positions ``which`` of :meth:`page_makers`."""
        makers, out = self.page_makers(), []
        for k in which:
            self._maker, self._ids = k, 0
            made = makers[k]()
            out += made if isinstance(made, list) else [made]
        return out

    def page_makers(self) -> list[Callable[[], Page | list[Page]]]:
        """The functions that make the pages, in order (each a page or a few)."""
        m = self.m
        out: list[Callable[[], Page | list[Page]]] = [self.overview, self.units_page, self.framework_page]
        out += [functools.partial(self.unit_page, u) for u in m.ranked_units]
        out += [functools.partial(self.node_page, c) for c in m.aggregates]
        out += [functools.partial(self.indicator_page, c) for c in m.indicators]
        out.append(functools.partial(loop.pages, self))
        out.append(self.methodology_page)
        if m.audit is not None or m.sensitivity is not None:
            out.append(self.robustness_page)
        out.append(functools.partial(extra_pages, self))
        return out

    def second_share(self) -> list[int]:
        """The positions in :meth:`page_makers` of the makers a second process takes, the first taking the
        others: every other one, except that the implementation pages, when they fall to the same half as the
        robustness page (the costliest: it reads the audit's tables), trade places with the maker before them."""
        makers = self.page_makers()
        share = set(range(1, len(makers), 2))
        robustness = [k for k, mk in enumerate(makers) if mk == self.robustness_page]
        implementation = [k for k, mk in enumerate(makers) if getattr(mk, "func", None) is loop.pages]
        if robustness and implementation and implementation[0] > 0 and (robustness[0] in share) == (implementation[0] in share):
            share ^= {implementation[0], implementation[0] - 1}
        return sorted(share)

    @functools.cached_property
    def verdicts(self) -> dict[tuple[Any, Any], dict[str, Any]]:
        """The audit's verdict on each (node, year): the first row ``audit/verdicts.csv`` gives for it."""
        out: dict[tuple[Any, Any], dict[str, Any]] = {}
        for r in records(self.m.audit["verdicts"]):  # type: ignore[index]
            out.setdefault((r["node"], r["year"]), r)
        return out

    def ranking_rows(self, year: int, node: str | None = None) -> list[dict[str, Any]]:
        m = self.m
        node = node or m.root
        prev = m.years[m.years.index(year) - 1] if m.years.index(year) > 0 else None
        rows = []
        for u in m.ranking(year, node):
            r, pr = m.rank(u, year, node), m.rank(u, prev, node)
            rows.append({
                "unit": u,
                "score": m.score(u, year, node),
                "rank": r,
                "change": m.change(u, year, node),
                "prev_rank": pr,
                "rank_change": None if r is None or pr is None else pr - r,
                "dims": {d: m.score(u, year, d) for d in m.nodes[node].children},
            })
        return rows

    def overview(self) -> Page:
        m, y = self.m, self.m.latest
        rows = self.ranking_rows(y)
        charts: list[ch.Chart] = []
        headline = None
        if m.focus:
            u = m.focus
            headline = {
                "unit": u,
                "score": m.score(u, y, m.root),
                "change": m.change(u, y, m.root),
                "rank": m.rank(u, y, m.root),
                "n": len(rows),
                "rank_change": next((r["rank_change"] for r in rows if r["unit"] == u), None),
                "median": m.peer_median(y, m.root),
                "median_prev": m.peer_median(m.previous, m.root) if m.previous is not None else None,
            }
            if self.base_year is not None:
                base, prev = m.score(u, self.base_year, m.root), m.score(u, m.previous, m.root)
                s = headline["score"]
                headline.update(
                    base_score=base, since_base=None if s is None or base is None else s - base,
                    growth=None if s is None or prev in (None, 0) else s / prev - 1,
                )
        dims = list(m.dimensions)
        vals = [r["dims"][d] for r in rows for d in dims if r["dims"][d] is not None]
        heat_lo, heat_hi = (min(vals), max(vals)) if vals else (0, 100)
        if m.has_years and len(m.years) > 1:
            charts.append(self.trend_chart(self.t("index_over_time"), m.root, m.ranked_units))
        if self.single and m.has_years and not m.contributions.empty and dims:
            u = m.ranked_units[0]
            groups = [{"name": self.f.node_name(d), "values": [m.contribution(u, yr, d) for yr in m.years]} for d in dims]
            if any(v is not None for g in groups for v in g["values"]):
                charts.append(ch.bar_chart(
                    self.cid(), self.t("composition_over_time"), [str(yr) for yr in m.years], groups, fmt=self.sfmt,
                    barmode="stack", value_title=self.t("index_score"), category_title=self.t("year"),
                    total=[m.score(u, yr, m.root) for yr in m.years], total_label=self.t("index_score"),
                ))
        elif not m.contributions.empty and dims:
            units = m.ranked_units
            groups = [
                {"name": self.f.node_name(d), "values": [m.contribution(u, y, d) for u in units]}
                for d in dims
            ]
            if any(v is not None for g in groups for v in g["values"]):
                charts.append(ch.bar_chart(
                    self.cid(), self.t("composition") + (f" ({y})" if m.has_years else ""),
                    [self.f.unit_name(u) for u in units], groups, fmt=self.sfmt, barmode="stack",
                    value_title=self.t("index_score"), category_title=self.t("unit"),
                    total=[m.score(u, y, m.root) for u in units], total_label=self.t("index_score"),
                ))
        year_rows = self.year_rows(m.ranked_units[0]) if self.single else []
        dn = [self.f.node_name(d) for d in dims]
        if year_rows:
            dl = self.download("index-years", [self.t("year"), self.t("index_score"), self.t("change_short")] + dn,
                               [[r["year"], r["score"], r["change"]] + [r["dims"][d] for d in dims] for r in year_rows])
        else:
            dl = self.download("index-ranking", [self.t("rank"), self.t("code"), self.t("unit"), self.t("index_score"),
                                                 self.t("change_short")] + dn,
                               [[r["rank"], r["unit"], self.f.unit_name(r["unit"]), r["score"], r["change"]]
                                + [r["dims"][d] for d in dims] for r in rows])
        if year_rows:
            vals = [v for r in year_rows for v in r["dims"].values() if v is not None]
            heat_lo, heat_hi = (min(vals), max(vals)) if vals else (0, 100)
        ctx = self.base("index.html", self.t("overview"), "index.html", headline=headline, rows=rows, year_rows=year_rows, dl=dl,
                        dims=dims, heat_lo=heat_lo, heat_hi=heat_hi, charts=charts,
                        prev_year=self.year_label(m.previous))
        return Page("index.html", "overview.html.j2", ctx, charts)

    def units_page(self) -> Page:
        m, y = self.m, self.m.latest
        rows = []
        for u in m.ranked_units:
            rows.append({"unit": u, "score": m.score(u, y, m.root), "rank": m.rank(u, y, m.root),
                         "change": m.change(u, y, m.root), "coverage": m.coverage(y, u, m.root)})
        others = [u for u in m.units if u not in set(m.ranked_units)]
        ctx = self.base("units.html", self.t("units"), "units.html", rows=rows, others=others)
        return Page("units.html", "units.html.j2", ctx)

    def framework_page(self) -> Page:
        m = self.m
        rows = [n for c, n in m.nodes.items() if c != m.root]
        ctx = self.base("framework.html", self.t("framework"), "framework.html", rows=rows)
        return Page("framework.html", "framework.html.j2", ctx)

    def unit_page(self, u: str) -> Page:
        m, y, prev = self.m, self.m.latest, self.m.previous
        info = m.units[u]
        n_ranked = len(m.ranking(y))
        single, by = self.single, self.base_year
        dims = []
        for d in m.dimensions:
            s, med = m.score(u, y, d), m.peer_median(y, d)
            base = m.score(u, by, d) if by is not None else None
            dims.append({
                "code": d, "score": s, "rank": m.rank(u, y, d), "n": len(m.ranking(y, d)), "median": med,
                "diff": None if s is None or med is None else s - med, "change": m.change(u, y, d),
                "base": base, "since_base": None if s is None or base is None else s - base,
            })
        # the reference beside the unit: the peer median, or the base year for a unit on its own
        ref_name, ref_key = (self.t("base_year_score", year=by), "base") if single and by is not None else (self.t("peer_median"), "median")
        charts = [ch.bar_chart(
            self.cid(), (self.t("vs_base") if ref_key == "base" else self.t("vs_peers")) + (f" ({y})" if m.has_years else ""),
            [self.f.node_name(d["code"]) for d in dims],
            [{"name": self.f.unit_name(u) + (f" {y}" if ref_key == "base" else ""), "values": [d["score"] for d in dims], "color": ch.FOCUS},
             {"name": ref_name, "values": [d[ref_key] for d in dims], "color": ch.MUTED}],
            fmt=self.sfmt, value_title=self.t("score"), category_title=self.t("dimension"),
        )] if not single or by is not None else []
        # indicators: strengths and weaknesses by rank, and the full scorecard
        inds = self.unit_indicators(u, y, by)
        strengths, weaknesses = strengths_weaknesses(inds, by_base=single)
        if m.has_years and len(m.years) > 1:
            dcol = ch.dimension_colors(m.dimensions)
            panels = [{"name": self.f.node_name(c), "y": [s for _, s in m.series(u, c)], "color": dcol.get(c, ch.FOCUS),
                       "ref": None if single else [m.peer_median(yr, c) for yr in m.years]}
                      for c in (m.root, *m.dimensions)]
            charts.append(ch.small_multiples(
                self.cid(), self.t("trends"), [str(v) for v in m.years], panels, fmt=self.sfmt, x_label=self.t("year"),
                value_name=self.f.unit_name(u), ref_name=self.t("peer_median"), columns=3, shared_y=not single,
            ))
        contrib = None
        if prev is not None and not m.contributions.empty:
            deltas = []
            for d in m.dimensions:
                a, b = m.contribution(u, y, d), m.contribution(u, prev, d)
                deltas.append(None if a is None or b is None else a - b)
            if any(v is not None for v in deltas):
                colors = [ch.NAVY if (v or 0) >= 0 else ch.FOCUS for v in deltas]
                title = self.t("contrib_change", prev=prev, year=y)
                charts.append(ch.bar_chart(
                    self.cid(), title, [self.f.node_name(d) for d in m.dimensions],
                    [{"name": self.t("contribution"), "values": deltas, "colors": colors}],
                    fmt=self.f.signed, value_title=self.t("change_short"), category_title=self.t("dimension"),
                ))
                contrib = {"total": sum(v for v in deltas if v is not None), "change": m.change(u, y, m.root)}
            if single and by is not None and by != prev:
                deltas = [_diff(m.contribution(u, y, d), m.contribution(u, by, d)) for d in m.dimensions]
                if any(v is not None for v in deltas):
                    charts.append(ch.bar_chart(
                        self.cid(), self.t("contrib_since_base", base=by, year=y), [self.f.node_name(d) for d in m.dimensions],
                        [{"name": self.t("contribution"), "values": deltas,
                          "colors": [ch.NAVY if (v or 0) >= 0 else ch.FOCUS for v in deltas]}],
                        fmt=self.f.signed, value_title=self.t("change_short"), category_title=self.t("dimension"),
                    ))
        dl = self.download(f"{Path(info.page).stem}-{y}", [self.t("code"), self.t("indicator"), self.t("dimension"), self.t("raw_value"),
                                                         self.t("unit_of_measure"), self.t("score"), self.t("rank"), self.t("change_short")],
                           [[r["code"], self.f.node_name(r["code"]), self.f.node_name(r["dim"]) if r["dim"] else "", r["raw"],
                             r["unit"] or "", r["score"], r["rank"], r["change"]] for r in inds])
        ctx = self.base(
            info.page, self.f.unit_name(u), "units.html", unit=u, info=info, dl=dl,
            score=m.score(u, y, m.root), rank=m.rank(u, y, m.root), n=n_ranked,
            change=m.change(u, y, m.root), prev_rank=m.rank(u, prev, m.root) if prev is not None else None,
            median=m.peer_median(y, m.root), dims=dims,
            dims_base=m.score(u, self.base_year, m.root) if self.base_year is not None else None, strengths=strengths, weaknesses=weaknesses,
            inds=inds, charts=charts, contrib=contrib,
            crumbs=[("units.html", self.t("units"))],
        )
        return Page(info.page, "unit.html.j2", ctx, charts)

    def unit_indicators(self, u: str, y: int, by: int | None = None) -> list[dict[str, Any]]:
        """Per indicator: ``u``'s raw value, score, rank among ``n`` units and change in ``y``, whether
        it counts (effective weight above zero) and, given a base year ``by``, the score gained since."""
        m = self.m
        inds = []
        for i in m.indicators:
            node = m.nodes[i]
            inds.append({
                "code": i, "dim": m.dimension_of(i), "unit": node.unit, "raw": m.raw_value(u, y, i),
                "score": m.score(u, y, i), "rank": m.rank(u, y, i), "n": len(m.ranking(y, i)),
                "change": m.change(u, y, i), "counted": (node.effective_weight or 0) > 0,
                "since_base": _diff(m.score(u, y, i), m.score(u, by, i)) if by is not None else None,
            })
        return inds

    def node_page(self, code: str) -> Page:
        m, y = self.m, self.m.latest
        node = m.nodes[code]
        kids = []
        for c in node.children:
            kn = m.nodes[c]
            avail = sum(1 for u in m.ranked_units if m.raw_value(u, y, c) is not None) if kn.is_indicator else None
            kids.append({"node": kn, "available": avail, "units": len(m.ranked_units),
                         "median": m.peer_median(y, c)})
        rows = self.ranking_rows(y, code)
        for r in rows:
            r["coverage"] = m.coverage(y, r["unit"], code)
        charts: list[ch.Chart] = []
        if m.has_years and len(m.years) > 1:
            charts.append(self.trend_chart(self.t("scores_over_time"), code, m.ranking(y, code)))
        vals = [r["dims"][c] for r in rows for c in node.children if r["dims"][c] is not None]
        processing = []
        for i in m.indicators_under(code):
            nt = len(m.rows_for(m.treatment, i))
            ni = len(m.rows_for(m.imputed, i))
            processing.append({"code": i, "treated": nt, "imputed": ni})
        verdict = None
        if m.audit is not None and "verdicts" in m.audit:
            verdict = self.verdicts.get((code, y))
            verdict = dict(verdict) if verdict is not None else None
        inds = [c for c in node.children if m.nodes[c].is_indicator]
        raw_rows = [{"unit": r["unit"], "values": {}} for r in rows]
        raw_cols = []  # (indicator, heading, kind): the value normalised (when it is not the level), then the level
        for i in inds:
            b = m.basis.get(i)
            if b is not None and b.differs:
                bfmt = i18n.column_unit([m.basis_value(r["unit"], y, i) for r in rows], None, self.lang)[1]
                raw_cols.append((i, i18n.basis_label(b.denominator, b.scale, b.transform, self.lang), "basis"))
                for r in raw_rows:
                    r["values"][(i, "basis")] = bfmt(m.basis_value(r["unit"], y, i))
            head, rfmt = self.f.column([m.raw_value(r["unit"], y, i) for r in rows], m.nodes[i].unit)
            raw_cols.append((i, f"{self.t('level_value')} ({head})" if head else self.t("level_value"), "raw"))
            for r in raw_rows:
                r["values"][(i, "raw")] = rfmt(m.raw_value(r["unit"], y, i))
        stem = Path(node.page).stem
        dl = self.download(f"{stem}-{y}", [self.t("rank"), self.t("code"), self.t("unit"), self.t("score"), self.t("change_short")]
                           + [f"{c} {self.f.node_name(c)}" for c in node.children],
                           [[r["rank"], r["unit"], self.f.unit_name(r["unit"]), r["score"], r["change"]]
                            + [r["dims"][c] for c in node.children] for r in rows])
        dl_raw = self.download(
            f"{stem}-values-{y}", [self.t("code"), self.t("unit")] + [
                f"{i} {h}" if k == "basis" else f"{i} {self.t('level_value')} ({i18n.unit_label(m.nodes[i].unit, self.lang)})"
                for i, h, k in raw_cols],
            [[r["unit"], self.f.unit_name(r["unit"])] + [m.basis_value(r["unit"], y, i) if k == "basis" else m.raw_value(r["unit"], y, i)
                                                         for i, _, k in raw_cols] for r in rows]) if raw_cols else ""
        sources = [(i, i18n.pick_text(m.nodes[i], "source", self.lang)) for i in m.indicators_under(code)]
        sources = [(i, src) for i, src in sources if src]
        parent = node.parent
        crumbs = [("framework.html", self.t("framework"))]
        crumbs += [(m.nodes[c].page, self.f.node_name(c)) for c in m.path_to(code)[1:-1]]
        ctx = self.base(
            node.page, self.f.node_name(code), "framework.html", node=node, kids=kids, rows=rows,
            heat_lo=min(vals) if vals else 0, heat_hi=max(vals) if vals else 100, charts=charts,
            node_description=i18n.pick_text(node, "description", self.lang),
            processing=processing, verdict=verdict, parent=parent, crumbs=crumbs, inds=inds,
            raw_rows=raw_rows, raw_cols=raw_cols, sources=sources, dl=dl, dl_raw=dl_raw,
        )
        return Page(node.page, "node.html.j2", ctx, charts)

    def indicator_page(self, code: str) -> Page:
        m, y = self.m, self.m.latest
        node = m.nodes[code]
        unit = node.unit
        rows = []
        for u in m.ranked_units:
            rows.append({"unit": u, "raw": m.raw_value(u, y, code), "norm": m.norm_value(u, y, code),
                         "basis": m.basis_value(u, y, code),
                         "score": m.score(u, y, code), "rank": m.rank(u, y, code), "change": m.change(u, y, code)})
        rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, -(r["score"] or 0)))
        raw_head, raw_fmt = self.f.column([r["raw"] for r in rows], unit)
        for r in rows:
            r["raw_text"] = raw_fmt(r["raw"])
        basis = m.basis.get(code)
        basis_head = None
        if basis is not None and basis.differs:
            basis_head = i18n.basis_label(basis.denominator, basis.scale, basis.transform, self.lang)
            bfmt = i18n.column_unit([r["basis"] for r in rows], None, self.lang)[1]
            for r in rows:
                r["basis_text"] = bfmt(r["basis"])
        dl = self.download(f"{Path(node.page).stem}-{y}", [self.t("rank"), self.t("code"), self.t("unit")]
                           + ([basis_head] if basis_head else []) + [f"{self.t('level_value')} ({i18n.unit_label(unit, self.lang)})" if unit else self.t("level_value"),
                                                                      self.t("score"), self.t("change_short")],
                           [[r["rank"], r["unit"], self.f.unit_name(r["unit"])] + ([r["basis"]] if basis_head else [])
                            + [r["raw"], r["score"], r["change"]] for r in rows])
        charts: list[ch.Chart] = []
        if m.has_years and len(m.years) > 1:
            units = [u for u in m.ranked_units if any(v is not None for _, v in m.raw_series(u, code))]
            if units:
                med = [_median([m.raw_value(u, yr, code) for u in m.ranked_units]) for yr in m.years]
                panels = [{"name": self.f.unit_name(u), "y": [v for _, v in m.raw_series(u, code)], "focus": u == m.focus,
                           "ref": med if len(units) > 1 else None} for u in units]
                charts.append(ch.small_multiples(
                    self.cid(), self.t("raw_over_time") + (f" ({i18n.axis_unit(unit, self.lang)})" if unit else ""),
                    [str(v) for v in m.years], panels, fmt=self.qfmt(unit), x_label=self.t("year"),
                    ref_name=self.t("peer_median"),
                ))
        bar_units = [r for r in rows if r["score"] is not None]
        if bar_units:
            charts.append(ch.bar_chart(
                self.cid(), self.t("scores_in", year=y) if m.has_years else self.t("score"),
                [self.f.unit_name(r["unit"]) for r in bar_units],
                [{"name": self.t("score"), "values": [r["score"] for r in bar_units],
                  "colors": [ch.FOCUS if r["unit"] == m.focus else ch.NAVY for r in bar_units]}],
                fmt=self.sfmt, value_title=self.t("score"), category_title=self.t("unit"),
            ))
        stats = None
        if m.audit is not None and "indicator_stats" in m.audit:
            stats = [r for r in m.rows_for(m.audit["indicator_stats"], code) if r["year"] == y]
        target_row, target_status = None, {}
        if m.targets is not None:
            tr = m.rows_for(m.targets, code)
            target_row = tr[0] if tr else None
            target_status = {r.get("target", code): r.get("status") for r in tr}
        ctx = self.base(
            node.page, self.f.node_name(code), "framework.html", node=node, rows=rows, charts=charts,
            raw_head=raw_head, basis_head=basis_head, dl=dl, node_description=i18n.pick_text(node, "description", self.lang),
            node_source=i18n.pick_text(node, "source", self.lang), coverage=m.indicator_coverage(code), steps=m.steps_for(code),
            treated=m.rows_for(m.treatment, code), imputed=m.rows_for(m.imputed, code),
            fitted=m.rows_for(m.fitted, code), stats=stats, target_row=target_row, target_status=target_status,
            crumbs=[("framework.html", self.t("framework"))]
            + [(m.nodes[c].page, self.f.node_name(c)) for c in m.path_to(code)[1:-1]],
        )
        return Page(node.page, "indicator.html.j2", ctx, charts)

    def targets_page(self) -> Page:
        return loop.targets_page(self)

    def methodology_page(self) -> Page:
        m = self.m
        nodes = list(m.nodes.values())
        charts: list[ch.Chart] = []
        if any((n.effective_weight or 0) > 0 for n in nodes if n.is_indicator):
            ids = [n.code for n in nodes]
            labels = [self.f.node_name(n.code) if n.parent is None else n.code for n in nodes]
            parents = [n.parent or "" for n in nodes]
            values = [n.effective_weight if n.is_indicator else 0.0 for n in nodes]
            dcol = ch.dimension_colors(m.dimensions)
            colors = ["#ffffff" if n.parent is None else dcol[n.code] if n.code in dcol
                      else ch.lighter(dcol.get(m.dimension_of(n.code) or "", ch.NAVY)) for n in nodes]
            labels = [f"{n.code} {self.f.node_name(n.code)}" if n.code in dcol else lab for n, lab in zip(nodes, labels)]
            charts.append(ch.weight_map(
                self.cid(), self.t("weights_chart"), ids, labels, parents, values,
                fmt=lambda v: i18n.fmt_pct(v, self.lang, 2),
                columns=[self.t("node"), self.t("effective_weight")], colors=colors,
            ))
        steps = []
        spec_steps = m.spec.get("steps") or {}
        for s in m.log:
            name = str(s.get("step", ""))
            summary = _method_summary(name, str(s.get("method", ""))) if self.lang == "en" else ""
            pool = (spec_steps.get(name) or {}).get("pool") if isinstance(spec_steps.get(name), dict) else None
            steps.append({**s, "summary": summary, "pool": pool})
        sources = [(n.code, i18n.pick_text(n, "source", self.lang)) for n in nodes if n.is_indicator]
        sources = [(c, src) for c, src in sources if src]
        seg_sets, seg_rows = self.segment_weights()
        ctx = self.base(
            "methodology.html", self.t("methodology"), "methodology.html", nodes=nodes, steps=steps,
            sources=sources, manifest=m.manifest, charts=charts, units=list(m.units.values()), plain=self.plain_steps(),
            bands=self.scoring_bands(),
            description=i18n.pick_text(m.index, "description", self.lang),
            index_version=m.index.get("version") or "", seg_sets=seg_sets, seg_rows=seg_rows,
            segment_column=str((m.spec.get("segments") or {}).get("column") or ""), segment_counts=[],
            segment_total=0,
        )
        return Page("methodology.html", "methodology.html.j2", ctx, charts)

    def scoring_bands(self) -> list[dict[str, Any]]:
        """For each indicator scored by bands (normalize ``points``): ``{"code", "unit", "bands": [(band text,
        points)]}`` read from the spec, so a firm can see why it got its points."""
        spec = self.m.parsed_spec
        out = []
        for code in self.m.indicators:
            choice, _ = step_choice(spec, "normalize", code)
            if choice.method != "points":
                continue
            th, pts = list(choice.params.get("thresholds") or []), list(choice.params.get("points") or [])
            if len(pts) != len(th) + 1:
                continue
            num = lambda v: i18n.fmt_num(v, 0 if float(v).is_integer() else None)  # noqa: E731
            bands = [(self.t("band_below", hi=num(th[0])), pts[0])]
            bands += [(self.t("band_between", lo=num(a), hi=num(b)), p) for a, b, p in zip(th, th[1:], pts[1:])]
            bands.append((self.t("band_from", lo=num(th[-1])), pts[-1]))
            if choice.params.get("missing") is not None:
                bands.append((self.t("band_missing"), choice.params["missing"]))
            out.append({"code": code, "unit": self.m.nodes[code].unit, "bands": bands})
        return out

    def plain_steps(self) -> list[str]:
        """The method statement in plain words, one sentence per step the spec uses (steps set to
        ``none`` are left out), with the counts of imputed and treated values from the build."""
        m, out = self.m, []
        counts = {"impute": len(m.imputed), "treat": len(m.treatment)}
        for step in STEP_NAMES:
            choice = (m.spec.get("steps") or {}).get(step) or {}
            method = str(choice.get("method") or "none")
            overrides = len(choice.get("by_indicator") or {}) + len(choice.get("by_node") or {}) + len(choice.get("by_level") or {})
            if method == "none" and not overrides:
                continue
            key = f"plain_{step}_{method}" if f"plain_{step}_{method}" in i18n.STRINGS else f"plain_{step}"
            text = self.t(key, method=method, n=counts.get(step, 0))
            if overrides:
                text = text.rstrip("。.") + self.t("plain_overrides", n=overrides) + ("。" if self.lang == "zh" else ".")
            out.append(text)
        return out

    def segment_weights(self) -> tuple[list[str], list[dict[str, Any]]]:
        """The segments with their own weight set (weights.csv's ``segment`` column) and, per node,
        ``{"node", "sets": {segment: (weight within parent, effective weight)}}`` ('' is the default set);
        empty without segments."""
        w = self.m.weights
        if w is None or w.empty or "segment" not in w.columns or "node" not in w.columns:
            return [], []
        sets = [s for s in dict.fromkeys(w["segment"]) if s != ""]
        if not sets:
            return [], []
        look = {(r["segment"], r["node"]): (r.get("weight"), r.get("effective_weight")) for r in records(w)}
        rows = [{"node": c, "sets": {s: look.get((s, c), (None, None)) for s in [""] + sets}}
                for c in self.m.nodes if c != self.m.root]
        return sets, rows

    def trend_chart(self, title: str, node: str, units: Any) -> ch.Chart:
        """A node's score over the years: one line for a single unit, else a small panel per unit
        with the peer median as the reference line."""
        m, years = self.m, [str(v) for v in self.m.years]
        units = list(units)
        if len(units) == 1:
            return ch.line_chart(self.cid(), title, years, [{"name": self.f.unit_name(units[0]),
                                 "y": [s for _, s in m.series(units[0], node)], "focus": True}],
                                 fmt=self.sfmt, y_title=self.t("score"), x_label=self.t("year"))
        med = [m.peer_median(yr, node) for yr in m.years]
        panels = [{"name": self.f.unit_name(u), "y": [s for _, s in m.series(u, node)], "focus": u == m.focus, "ref": med}
                  for u in units]
        return ch.small_multiples(self.cid(), title, years, panels, fmt=self.sfmt, x_label=self.t("year"),
                                  ref_name=self.t("peer_median"))

    def factor_label(self, factor: str) -> str:
        """An uncertainty factor in words: ``weights`` or the step a spec path chooses (``steps.normalize.method``)."""
        for step in ("normalize", "aggregate", "impute", "treat"):
            if f"steps.{step}" in factor:
                return self.t(f"factor_{step}")
        return self.t("factor_weights") if factor.startswith("weights") else factor

    def robustness_page(self) -> Page:
        m, y = self.m, self.m.latest
        charts: list[ch.Chart] = []
        audit: dict[str, Any] | None = None
        if m.audit is not None:
            a = m.audit
            flags = a.get("flags")
            by_check: list[tuple[str, int, int]] = []
            latest_flags: list[dict[str, Any]] = []
            if flags is not None and not flags.empty and "check" in flags.columns:
                allc = Counter(flags["check"])
                lat = flags[flags["year"] == y] if "year" in flags.columns else flags
                latc = Counter(lat["check"])
                by_check = sorted(((c, latc.get(c, 0), n, self.f.keyed("mean_", c) if f"mean_{c}" in i18n.STRINGS else "",
                                    self.f.keyed("act_", c) if f"act_{c}" in i18n.STRINGS else "")
                                   for c, n in allc.items()), key=lambda x: -x[2])
                latest_flags = records(lat)
            verdicts = []
            if "verdicts" in a and not a["verdicts"].empty:
                v = a["verdicts"]
                verdicts = records(v[v["year"] == y] if "year" in v.columns else v)
            cron = []
            if "cronbach" in a and not a["cronbach"].empty:
                c = a["cronbach"]
                cron = records(c[c["year"] == y] if "year" in c.columns else c)
            importance = []
            if "importance" in a and not a["importance"].empty:
                imp = a["importance"]
                importance = records(imp[imp["year"] == y] if "year" in imp.columns else imp)
            corr = a.get("correlations")
            if corr is not None and not corr.empty and {"relation", "x", "y", "pearson"} <= set(corr.columns):
                cc = corr[(corr["year"] == y) & (corr["relation"] == "dimension")]
                if "data" in cc.columns:
                    cc = cc[cc["data"] == "scores"]
                if not cc.empty:
                    ys, xs = set(cc["y"]), set(cc["x"])
                    dims = [d for d in m.dimensions if d in ys]
                    inds = [i for i in m.indicators if i in xs]
                    look = {(r["x"], r["y"]): r["pearson"] for r in records(cc)}
                    z = [[look.get((i, d)) for d in dims] for i in inds]
                    charts.append(ch.heatmap(
                        self.cid(), self.t("correlation_heatmap", year=y),
                        [self.f.node_name(d) if len(self.f.node_name(d)) <= 8 else d for d in dims],
                        [i for i in inds], z, fmt=lambda v: i18n.fmt_num(v, 2), zmin=-1, zmax=1,
                        diverging=True, corner=self.t("indicator"),
                    ))
                    charts[-1].kind = "corr"
            audit = {"by_check": by_check, "flags": latest_flags, "verdicts": verdicts, "cronbach": cron,
                     "importance": importance, "thresholds": (m.audit_json or {}).get("thresholds", {}),
                     "rules": (m.audit_json or {}).get("rules", {})}
        sens: dict[str, Any] | None = None
        if m.sensitivity is not None:
            s = m.sensitivity
            sens = {"rank_stats": [], "sobol": [], "importance": [], "remove_one": []}
            rs = s.get("rank_stats")
            if rs is not None and not rs.empty:
                if "year" in rs.columns:
                    ry = y if (rs["year"] == y).any() else int(rs["year"].max())
                    rs = rs[rs["year"] == ry]
                else:
                    ry = y
                rows = records(rs.sort_values("nominal_rank") if "nominal_rank" in rs.columns else rs)
                sens["rank_stats"] = rows
                sens["rank_year"] = ry
                charts.append(ch.interval_chart(
                    self.cid(), self.t("rank_intervals", year=ry), [self.f.unit_name(r["unit"]) for r in rows],
                    [r.get("nominal_rank") for r in rows], [r.get("q05_rank") for r in rows],
                    [r.get("q95_rank") for r in rows], fmt=_rank_fmt,
                    point_name=self.t("nominal_rank"), interval_name=self.t("rank_interval"),
                    extra=[r.get("median_rank") for r in rows], extra_name=self.t("median_rank"),
                    value_title=self.t("rank"), label_title=self.t("unit"),
                ))
                charts[-1].kind = "ranks"
            sens["pooled"] = any("normalize" in f for f in m.sensitivity_factors)
            sb = s.get("sobol")
            if sb is not None and not sb.empty:
                rows = records(sb)
                sens["pooled"] = sens["pooled"] or any("normalize" in str(r["factor"]) for r in rows)
                sens["sobol"] = rows
                charts.append(ch.bar_chart(
                    self.cid(), self.t("sobol"), [self.factor_label(str(r["factor"])) for r in rows],
                    [{"name": "S1", "values": [r.get("S1") for r in rows], "lo": [r.get("S1_lo") for r in rows],
                      "hi": [r.get("S1_hi") for r in rows], "color": ch.NAVY},
                     {"name": "ST", "values": [r.get("ST") for r in rows], "lo": [r.get("ST_lo") for r in rows],
                      "hi": [r.get("ST_hi") for r in rows], "color": "#d98b2b"}],
                    fmt=lambda v: i18n.fmt_num(v, 3), errors=True, value_title=self.t("sobol"),
                    category_title=self.t("factor"),
                ))
                charts[-1].kind = "sobol"
            for name in ("importance", "remove_one"):
                df = s.get(name)
                if df is not None and not df.empty:
                    sens[name] = records(df)
            for r in sens["importance"]:
                flag = str(r.get("flag") or "")
                r["flag"] = self.f.keyed("", flag.replace(" ", "_")) if flag else ""
        ctx = self.base("robustness.html", self.t("robustness"), "robustness.html", audit=audit, sens=sens,
                        charts=charts)
        return Page("robustness.html", "robustness.html.j2", ctx, charts)


def extra_nav(pb: PageBuilder) -> list[tuple[str, str]]:
    """Navigation entries of the explorer and the brief (pages of :mod:`.explorer` and :mod:`.brief`)."""
    out = [(EXPLORER_PAGE, "explorer")]
    units = brief_units(pb.m)
    if units:
        out.append((brief_file(units[0]), "brief"))
    return out


def extra_pages(pb: PageBuilder) -> list[Page]:
    """The explorer (自定义权重) and one brief per tracked unit (:mod:`.explorer`, :mod:`.brief`)."""
    return [explorer_page(pb)] + [brief_page(pb, u) for u in brief_units(pb.m)]


def extra_static(written: list[str]) -> list[str]:
    """The static files the extra pages need, when they are written (``written``: the pages' files)."""
    files = set(written)
    out = ["explorer.css", "explorer.js"] if "explorer.html" in files else []
    return out + (["brief.css"] if any(f.startswith("brief-") for f in files) else [])


def _median(values: list[float | None]) -> float | None:
    """The median of the values present, or None when there is none."""
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return None
    k = len(vals) // 2
    return vals[k] if len(vals) % 2 else (vals[k - 1] + vals[k]) / 2


def _diff(a: float | None, b: float | None) -> float | None:
    """a - b, or None when either is missing."""
    return None if a is None or b is None else a - b


def _rank_fmt(v: Any) -> str:
    """A rank, or a mean/median rank with one decimal when it is not whole."""
    if i18n.is_missing(v):
        return i18n.MISSING
    return i18n.fmt_rank(v) if float(v).is_integer() else i18n.fmt_num(v, 1)


def _method_summary(step: str, method: str) -> str:
    """The registry's one-line summary of a method (English), or '' when it is not registered here."""
    try:
        return FAMILIES[step].get(method).summary.replace("``", "")
    except Exception:  # noqa: BLE001 - a plugin method or an old build: the page just omits it
        return ""
