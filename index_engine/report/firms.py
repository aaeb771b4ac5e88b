"""The summary report of a firm-level build: distributions, grades, top firms, separating indicators.

A build with many units (a firm-level build such as the 中关村领航积分: a large build written as
wide Parquet, or any build with more than :data:`SUMMARY_UNITS` units) gets summary pages
instead of a page per unit: the overview (headline numbers, grade shares by year), the score
distribution by year (histogram and quantiles), grades by segment, the top firms of the latest
year, the indicators that separate the grades, and the methodology, targets and robustness pages
of the ordinary report. :func:`~index_engine.report.render.render_report` chooses the mode.

Reading stays proportional to what the pages show: through :class:`index_engine.folder.BuildFolder`,
from Parquet only the columns needed are read (the index score, the dimensions, the grades, the
unit codes, one normalized indicator at a time), every summary is computed with numpy on arrays
(``bincount``, ``histogram``, ``quantile``), and only the top firms ever become Python objects. A
CSV-layout build (at most ``outputs.LARGE_ROWS`` unit-years) is pivoted into the same arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._checks import NO_YEAR
from ..aggregate import AGGREGATE, linear_coefficients
from ..errors import DataError
from ..folder import WIDE, BuildFolder, load_build
from ..spec import Spec
from . import charts as ch
from . import i18n
from .model import ReportModel, build_nodes, index_meta, read_extras, score_digits, slug
from .page import Page
from .site import PageBuilder

SUMMARY_UNITS = 300
"""A build with more units than this gets the summary report (no page per unit)."""
LARGE_LAYOUT = WIDE
TOP_N = 100
"""Firms listed on the top-firms page."""
TOP_SENSITIVITY = 50
"""Units of sensitivity/rank_stats.csv shown on the robustness page (best nominal ranks)."""
MAX_FLAGS = 500
"""Audit flags of the latest year listed on the robustness page."""
QUANTILES = (("min", 0.0), ("p05", 0.05), ("p10", 0.10), ("p25", 0.25), ("median", 0.5),
             ("p75", 0.75), ("p90", 0.90), ("p95", 0.95), ("max", 1.0))
GRADE_COLORS = ["#1f4e79", "#4f9dc9", "#d98b2b", "#b8262b", "#7a5195", "#3a8f6b", "#8c6d46", "#5b6b7f"]
NONE_SEGMENT = "\x00none"  # the segment of a firm whose segment column is empty


# ---- choosing the mode ------------------------------------------------------------------------
def is_summary_build(build_dir: str | Path | BuildFolder) -> bool:
    """True for a large build (wide Parquet) or a build with more than :data:`SUMMARY_UNITS` units."""
    try:
        f = build_dir if isinstance(build_dir, BuildFolder) else load_build(build_dir)
    except DataError:
        return False
    if f.is_large:
        return True
    n = f.manifest.get("units")
    if isinstance(n, int) and not isinstance(n, bool):
        return n > SUMMARY_UNITS
    return len(f.units) > SUMMARY_UNITS


# ---- the per-unit tables as arrays --------------------------------------------------------------
def _positions(needles: pa.Array | pa.ChunkedArray, haystack: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """For each needle, its position in ``haystack`` (-1 when absent)."""
    if isinstance(haystack, pa.ChunkedArray):
        haystack = haystack.combine_chunks()
    idx = pc.index_in(needles, value_set=haystack)
    return idx.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _text(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    if not pa.types.is_string(col.type):
        col = pc.cast(col, pa.string())
    return col


class _Source:
    """The per-unit tables of a build folder (either layout) as arrays aligned to its score rows.

    ``units`` (arrow strings) and ``years`` (ints) key the rows; :meth:`score`, :meth:`rank`,
    :meth:`normalized` and :meth:`grades` return arrays in that row order. In the Parquet layout
    only the columns asked for are read.
    """

    def __init__(self, f: BuildFolder):
        self.f = f
        units, self.years = f.row_keys
        self.units = pa.array(units, pa.string())

    def _column(self, table: str, code: str) -> np.ndarray:
        v = self.f.column(table, code)
        return np.full(len(self.years), np.nan) if v is None else v

    def score(self, code: str) -> np.ndarray:
        return self._column("scores", code)

    def rank(self, code: str, rows: np.ndarray) -> np.ndarray:
        return self._column("ranks", code)[rows]

    def normalized(self, indicator: str) -> np.ndarray | None:
        return self.f.column("normalized", indicator) if "normalized" in self.f.stages else None

    def grades(self) -> pa.Array | None:
        g = self.f.grades_column()
        return None if g is None else pa.array(g, pa.string())

    def unit_table(self, columns: list[str]) -> pa.Table:
        u = self.f.units
        cols = ["unit"] + [c for c in dict.fromkeys(columns) if c in u.columns and c != "unit"]
        return pa.table({c: _text(pa.array(u[c], from_pandas=True)) for c in cols})


# ---- the summary ---------------------------------------------------------------------------
@dataclass
class FirmSummary:
    """Numbers of the summary pages (see :func:`summarise`)."""

    n_units: int
    years: tuple[int, ...]
    per_year: list[dict[str, Any]]  # year, n, mean, sd, min … max, grade counts and shares
    hist_edges: list[float]
    hist_counts: dict[int, list[int]]
    grade_labels: tuple[str, ...] = ()
    grade_node: str | None = None
    grade_basis: str = "score"
    grade_cutoffs: tuple[float, ...] = ()
    segment_column: str | None = None
    segment_labels: list[str] = field(default_factory=list)  # NONE_SEGMENT for firms without one
    by_segment: list[dict[str, Any]] = field(default_factory=list)  # latest year
    top: list[dict[str, Any]] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)  # grade labels, or quartile keys without grades
    groups_are_grades: bool = True
    separating: list[dict[str, Any]] = field(default_factory=list)
    dims_by_group: list[dict[str, Any]] = field(default_factory=list)
    score_max: float = 100.0
    score_range: tuple[float, float] = (0.0, 100.0)


def _nice_step(span: float, bins: int = 20) -> float:
    if not span > 0 or not math.isfinite(span):
        return 1.0
    raw = span / bins
    p = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * p:
            return m * p
    return 10 * p


def _edges(lo: float, hi: float) -> np.ndarray:
    step = _nice_step(hi - lo)
    a = math.floor(lo / step) * step
    b = math.ceil(hi / step) * step
    if b <= a:
        b = a + step
    n = int(round((b - a) / step))
    return a + step * np.arange(n + 1)


def _stats(v: np.ndarray) -> dict[str, Any]:
    if v.size == 0:
        return {"n": 0, "mean": None, "sd": None, **{k: None for k, _ in QUANTILES}}
    q = np.quantile(v, [p for _, p in QUANTILES])
    return {"n": int(v.size), "mean": float(v.mean()), "sd": float(v.std(ddof=1)) if v.size > 1 else None,
            **{k: float(x) for (k, _), x in zip(QUANTILES, q)}}


def _codes(values: pa.Array, labels: list[str]) -> np.ndarray:
    """Position of each value in ``labels`` (-1 for a missing or unknown value)."""
    if not labels:
        return np.full(len(values), -1, dtype=np.int64)
    return _positions(values, pa.array(labels, pa.string()))


def _group_means(codes: np.ndarray, v: np.ndarray, k: int) -> list[float | None]:
    ok = (codes >= 0) & ~np.isnan(v)
    n = np.bincount(codes[ok], minlength=k)
    s = np.bincount(codes[ok], weights=v[ok], minlength=k)
    return [float(s[i] / n[i]) if n[i] else None for i in range(k)]


def _gap(means: list[float | None]) -> float | None:
    present = [x for x in means if x is not None]
    return present[0] - present[-1] if len(present) >= 2 else None


def summarise(src: _Source, spec: dict[str, Any], root: str, nodes: dict[str, Any], n_units: int | None) -> FirmSummary:
    years_all = src.years
    s = src.score(root)
    ok = ~np.isnan(s)
    years = tuple(int(y) for y in np.unique(years_all[ok])) or tuple(int(y) for y in np.unique(years_all)) or (NO_YEAR,)
    latest = years[-1]
    vals = s[ok]
    lo, hi = (float(vals.min()), float(vals.max())) if vals.size else (0.0, 100.0)
    edges = _edges(lo, hi)

    # grades
    g_spec = spec.get("grades") if isinstance(spec.get("grades"), dict) else None
    grade_col = src.grades() if g_spec else None
    labels = [str(x) for x in (g_spec or {}).get("labels") or ("A", "B", "C", "D")] if grade_col is not None else []
    gcodes = _codes(grade_col, labels) if grade_col is not None else np.full(len(s), -1, dtype=np.int64)

    per_year: list[dict[str, Any]] = []
    hist: dict[int, list[int]] = {}
    for y in years:
        rows = (years_all == y) & ok
        v = s[rows]
        st = _stats(v)
        st["year"] = y
        if labels:
            c = np.bincount(gcodes[rows & (gcodes >= 0)], minlength=len(labels))
            tot = int(c.sum())
            st["grades"] = {lab: int(c[i]) for i, lab in enumerate(labels)}
            st["graded"] = tot
            st["shares"] = {lab: (int(c[i]) / tot if tot else None) for i, lab in enumerate(labels)}
        per_year.append(st)
        hist[y] = [int(x) for x in np.histogram(v, bins=edges)[0]] if v.size else [0] * (len(edges) - 1)

    last = np.flatnonzero((years_all == latest) & ok)  # rows of the latest year with a score

    # segments (from the unit table), for the latest year's rows
    seg = spec.get("segments") if isinstance(spec.get("segments"), dict) else None
    seg_col = str(seg["column"]) if seg and seg.get("column") else None
    name_cols = ["unit_name", "unit_name_en"]
    ut = src.unit_table(([seg_col] if seg_col else []) + name_cols)
    upos = _positions(src.units.take(pa.array(last)), ut.column("unit")) if ut.num_rows and len(last) else np.full(len(last), -1)
    seg_labels: list[str] = []
    seg_codes = np.full(len(last), -1, dtype=np.int64)
    if seg_col and seg_col in ut.column_names:
        col = _text(ut.column(seg_col))
        found = [str(x) for x in pc.unique(col).to_pylist() if x not in (None, "")]
        order = [str(k) for k in (seg.get("weight_sets") or {})]
        seg_labels = [x for x in order if x in found] + sorted(x for x in found if x not in order)
        vals_last = col.take(pa.array(np.maximum(upos, 0))) if len(last) else pa.array([], pa.string())
        seg_codes = _codes(vals_last, seg_labels)
        seg_codes[upos < 0] = -1
        if (seg_codes < 0).any():
            seg_labels.append(NONE_SEGMENT)
            seg_codes[seg_codes < 0] = len(seg_labels) - 1

    s_last = s[last]
    g_last = gcodes[last]
    by_segment: list[dict[str, Any]] = []
    for i, lab in enumerate(seg_labels):
        m = seg_codes == i
        row = {"segment": lab, **_stats(s_last[m])}
        if labels:
            c = np.bincount(g_last[m & (g_last >= 0)], minlength=len(labels))
            tot = int(c.sum())
            row["grades"] = {gl: int(c[j]) for j, gl in enumerate(labels)}
            row["graded"] = tot
            row["shares"] = {gl: (int(c[j]) / tot if tot else None) for j, gl in enumerate(labels)}
        by_segment.append(row)

    # the top firms of the latest year: highest score, then unit code
    top: list[dict[str, Any]] = []
    if len(last):
        k = min(TOP_N, len(last))
        thr = np.partition(s_last, len(s_last) - k)[len(s_last) - k]
        cand = np.flatnonzero(s_last >= thr)
        codes = src.units.take(pa.array(last[cand])).to_pylist()
        order = sorted(range(len(cand)), key=lambda j: (-s_last[cand[j]], codes[j]))[:k]
        pick = cand[order]
        rows = last[pick]
        ranks = src.rank(root, rows)
        dims = nodes[root].children
        dim_vals = {d: src.score(d)[rows] for d in dims}
        names = {c: ut.column(c) for c in name_cols if c in ut.column_names}
        for j, (p, r) in enumerate(zip(pick, rows)):
            unit = codes[order[j]]
            row = {
                "unit": unit, "score": float(s_last[p]),
                "rank": None if np.isnan(ranks[j]) else int(ranks[j]),
                "grade": labels[g_last[p]] if labels and g_last[p] >= 0 else None,
                "segment": seg_labels[seg_codes[p]] if seg_labels else None,
                "dims": {d: (None if np.isnan(dim_vals[d][j]) else float(dim_vals[d][j])) for d in dims},
                "name": "", "name_other": "",
            }
            if upos[p] >= 0 and names:
                nm = [names[c][int(upos[p])].as_py() for c in name_cols if c in names]
                nm = [str(x) for x in nm if x not in (None, "") and str(x) != unit]
                row["name"] = nm[0] if nm else ""
                row["name_other"] = nm[1] if len(nm) > 1 and nm[1] != nm[0] else ""
            top.append(row)

    # what separates the groups (grades, or score quartiles without grades) in the latest year
    if labels:
        groups, gl, are_grades = labels, g_last, True
    else:
        groups, are_grades = ["quartile_1", "quartile_2", "quartile_3", "quartile_4"], False
        if len(s_last):
            q75, q50, q25 = np.quantile(s_last, [0.75, 0.5, 0.25])
            gl = np.where(s_last >= q75, 0, np.where(s_last >= q50, 1, np.where(s_last >= q25, 2, 3))).astype(np.int64)
        else:
            gl = np.zeros(0, dtype=np.int64)
    separating = []
    inds = [c for c, n in nodes.items() if n.is_indicator]
    n_grouped = int((gl >= 0).sum())
    for ind in inds:
        v = src.normalized(ind)
        if v is None:
            means, nz = [None] * len(groups), None
        else:
            v = v[last]
            means = _group_means(gl, v, len(groups))
            nz = float(((v != 0) & ~np.isnan(v) & (gl >= 0)).sum() / n_grouped) if n_grouped else None
        separating.append({"code": ind, "means": means, "gap": _gap(means), "nonzero": nz})
    separating.sort(key=lambda r: (r["gap"] is None, -(r["gap"] or 0.0)))
    dims_by_group = []
    for code, n in nodes.items():
        if n.is_indicator or code == root:
            continue
        means = _group_means(gl, src.score(code)[last], len(groups))
        dims_by_group.append({"code": code, "means": means, "gap": _gap(means)})

    return FirmSummary(
        n_units=int(n_units) if n_units is not None else len(np.unique(src.units.to_numpy(zero_copy_only=False))),
        years=years, per_year=per_year, hist_edges=[float(x) for x in edges], hist_counts=hist,
        grade_labels=tuple(labels), grade_node=(g_spec or {}).get("node") or root if labels else None,
        grade_basis=str((g_spec or {}).get("basis") or "score"),
        grade_cutoffs=tuple(float(x) for x in (g_spec or {}).get("cutoffs") or ()),
        segment_column=seg_col if seg_labels else None, segment_labels=seg_labels, by_segment=by_segment,
        top=top, groups=groups, groups_are_grades=are_grades, separating=separating, dims_by_group=dims_by_group,
        score_max=float(np.abs(vals).max()) if vals.size else 100.0, score_range=(lo, hi),
    )


# ---- the model -------------------------------------------------------------------------------
@dataclass
class FirmModel(ReportModel):
    """A :class:`ReportModel` without per-unit tables, with the :class:`FirmSummary` of the build."""

    summary: FirmSummary | None = None

    @property
    def score_digits(self) -> int:
        return score_digits(self.summary.score_max if self.summary else 100)

    def score_range(self) -> tuple[float, float] | None:
        return self.summary.score_range if self.summary else None

    def ranking(self, year: int, node: str | None = None) -> list[str]:
        return []  # no per-unit rankings in a summary report


def _firm_pages(spec: Spec) -> dict[str, str]:
    """Where each node links to: its row on the separating-indicators page."""
    return {code: f"indicators.html#{'ind' if n.is_indicator else 'node'}-{slug(code)}" for code, n in spec.nodes.items()}


def load_firm_model(build_dir: str | Path | BuildFolder) -> FirmModel:
    """Read a firm-level build folder (Parquet or CSV layout) into a :class:`FirmModel`."""
    f = build_dir if isinstance(build_dir, BuildFolder) else load_build(build_dir)
    spec = f.spec
    weights = f.weights
    root, nodes = build_nodes(spec, weights, pages=_firm_pages(spec))
    extras = read_extras(f)
    n_units = f.manifest.get("units")
    spec_dict = spec.to_dict()
    summary = summarise(_Source(f), spec_dict, root, nodes, n_units if isinstance(n_units, int) else None)
    sens = extras["sensitivity"]
    if sens is not None and "rank_stats" in sens:  # only the best nominal ranks of its latest year
        rs = sens["rank_stats"]
        if "year" in rs.columns and len(rs):
            rs = rs[rs["year"] == rs["year"].max()]
        if "nominal_rank" in rs.columns:
            rs = rs.sort_values("nominal_rank", kind="stable")
        sens["rank_stats"] = rs.head(TOP_SENSITIVITY)
    empty = pd.DataFrame()
    m = FirmModel(
        build_dir=f.path, spec=spec_dict, index=index_meta(spec), root=root, nodes=nodes, units={}, years=summary.years,
        scores=empty, contributions=empty, weights=weights, raw=empty, normalized=empty, treatment=empty,
        imputed=empty, summary=summary, **extras,
    )
    m.parsed_spec = spec
    return m


# ---- the pages -------------------------------------------------------------------------------
class FirmPageBuilder(PageBuilder):
    """The summary pages of a firm-level build, in one language."""

    m: FirmModel

    def nav(self) -> list[tuple[str, str]]:
        m = self.m
        nav = [("index.html", "overview"), ("distribution.html", "distribution")]
        if m.summary.grade_labels:
            nav.append(("grades.html", "grades_page"))
        nav += [("firms.html", "top_firms"), ("indicators.html", "separating")]
        if m.targets is not None:
            nav.append(("targets.html", "targets"))
        nav.append(("methodology.html", "methodology"))
        if m.audit is not None or m.sensitivity is not None:
            nav.append(("robustness.html", "robustness"))
        return nav

    def page_makers(self) -> list[Callable[[], Page | list[Page]]]:
        m = self.m
        out: list[Callable[[], Page | list[Page]]] = [self.overview, self.distribution_page]
        if m.summary.grade_labels:
            out.append(self.grades_page)
        out += [self.top_page, self.separating_page]
        if m.targets is not None:
            out.append(self.targets_page)
        out.append(self.methodology_page)
        if m.audit is not None or m.sensitivity is not None:
            out.append(self.robustness_page)
        return out

    # ---- helpers ----------------------------------------------------------------------------
    @property
    def sm(self) -> FirmSummary:
        return self.m.summary  # type: ignore[return-value]

    def seg_name(self, s: str | None) -> str:
        return self.t("segment_none") if s == NONE_SEGMENT else ("" if s is None else self.f.keyed("seg_", s))

    def group_name(self, g: str) -> str:
        return g if self.sm.groups_are_grades else self.t(g)

    def count(self, v: Any) -> str:
        return i18n.fmt_num(v, 0)

    def band_labels(self) -> list[str]:
        e = self.sm.hist_edges
        d = 0 if all(float(x).is_integer() for x in e) else max(1, min(3, -int(math.floor(math.log10(e[1] - e[0])))))
        return [f"{i18n.fmt_num(a, d)}–{i18n.fmt_num(b, d)}" for a, b in zip(e, e[1:])]

    def years_text(self) -> str:
        ys = [y for y in self.sm.years if y != NO_YEAR]
        if not ys:
            return ""
        return str(ys[0]) if len(ys) == 1 else f"{ys[0]}–{ys[-1]}"

    def histogram(self, years: list[int], title: str) -> ch.Chart:
        groups = [{"name": str(y) if self.m.has_years else self.t("firms"), "values": self.sm.hist_counts[y],
                   "color": ch.COLORWAY[i % len(ch.COLORWAY)] if len(years) > 1 else ch.NAVY}
                  for i, y in enumerate(years)]
        chart = ch.bar_chart(
            self.cid(), title, self.band_labels(), groups, fmt=self.count, horizontal=False,
            value_title=self.t("firms"), category_title=self.t("score_band"),
        )
        sm = self.sm
        if sm.grade_basis != "quantile" and len(sm.grade_cutoffs) == len(sm.grade_labels) - 1:
            # a cut-off c on the band axis: band i spans categories i-0.5 .. i+0.5
            e = sm.hist_edges
            lines, notes = [], []
            for g, c in zip(sm.grade_labels, sm.grade_cutoffs):
                if not e[0] <= c <= e[-1]:
                    continue
                i = min(int(np.searchsorted(e, c, side="right")) - 1, len(e) - 2)
                x = i - 0.5 + (c - e[i]) / (e[i + 1] - e[i])
                lines.append({"type": "line", "x0": x, "x1": x, "y0": 0, "y1": 1, "xref": "x", "yref": "paper",
                              "line": {"color": ch.INK, "width": 1.4, "dash": "dash"}})
                notes.append({"x": x, "y": 1, "xref": "x", "yref": "paper", "yanchor": "bottom", "showarrow": False,
                              "text": ch.esc(f"{self.t('grade_cutoff', g=g)} {i18n.fmt_num(c, 0 if float(c).is_integer() else None)}"), "font": {"size": 11}})
            chart.figure["layout"]["shapes"] = lines
            chart.figure["layout"]["annotations"] = notes
            chart.figure["layout"]["margin"]["t"] = 48
        return chart

    def grade_share_chart(self, title: str, cats: list[str], rows: list[dict[str, Any]], cat_title: str) -> ch.Chart:
        labels = self.sm.grade_labels
        groups = [{"name": self.t("grade_x", g=g), "values": [r["shares"][g] for r in rows],
                   "color": GRADE_COLORS[i % len(GRADE_COLORS)]} for i, g in enumerate(labels)]
        return ch.bar_chart(
            self.cid(), title, cats, groups, fmt=lambda v: i18n.fmt_pct(v, self.lang), barmode="stack",
            value_title=self.t("share"), category_title=cat_title, tickformat=".0%", range_=(0, 1),
        )

    # ---- pages ------------------------------------------------------------------------------
    def overview(self) -> Page:
        m, sm = self.m, self.sm
        last = sm.per_year[-1]
        prev = sm.per_year[-2] if len(sm.per_year) > 1 else None
        head = {
            "n": last["n"], "mean": last["mean"], "median": last["median"],
            "mean_change": None if prev is None or prev["mean"] is None or last["mean"] is None else last["mean"] - prev["mean"],
            "median_change": None if prev is None or prev["median"] is None or last["median"] is None else last["median"] - prev["median"],
            "years": self.years_text(), "n_years": len(sm.years),
        }
        charts = [self.histogram([m.latest], self.t("histogram_latest", year=m.latest) if m.has_years else self.t("distribution"))]
        if sm.grade_labels and len(sm.per_year) > 1:
            charts.append(self.grade_share_chart(self.t("grade_shares_chart"), [str(r["year"]) for r in sm.per_year],
                                                 sm.per_year, self.t("year")))
        links = [(href, key) for href, key in self.nav() if href != "index.html"]
        ctx = self.base("index.html", self.t("overview"), "index.html", head=head, sm=sm, charts=charts, links=links)
        return Page("index.html", "firms_overview.html.j2", ctx, charts)

    def distribution_page(self) -> Page:
        sm = self.sm
        charts = [self.histogram(list(sm.years), self.t("histogram") if len(sm.years) > 1 else self.t("distribution"))]
        ctx = self.base("distribution.html", self.t("distribution"), "distribution.html", sm=sm, charts=charts,
                        quantiles=QUANTILES, seg_name=self.seg_name)
        return Page("distribution.html", "firms_distribution.html.j2", ctx, charts)

    def rule_rows(self) -> list[tuple[str, str]]:
        sm = self.sm
        labels, c = sm.grade_labels, list(sm.grade_cutoffs)
        out = []
        if len(c) != len(labels) - 1:
            return [(g, "") for g in labels]
        num = lambda v: i18n.fmt_num(v, None if not float(v).is_integer() else 0)  # noqa: E731
        pct = lambda v: i18n.fmt_pct(v, self.lang, 0 if round(v * 100, 6).is_integer() else 1)  # noqa: E731
        for i, g in enumerate(labels):
            if sm.grade_basis == "quantile":
                if i == 0:
                    out.append((g, self.t("rule_top", p=pct(c[0]))))
                elif i == len(labels) - 1:
                    out.append((g, self.t("rule_rest", p=pct(1 - c[-1]))))
                else:
                    out.append((g, self.t("rule_top_between", lo=pct(c[i - 1]), hi=pct(c[i]))))
            elif i == 0:
                out.append((g, self.t("rule_at_least", c=num(c[0]))))
            elif i == len(labels) - 1:
                out.append((g, self.t("rule_below", c=num(c[-1]))))
            else:
                out.append((g, self.t("rule_between", lo=num(c[i]), hi=num(c[i - 1]))))
        return out

    def grades_page(self) -> Page:
        m, sm = self.m, self.sm
        charts: list[ch.Chart] = []
        if sm.by_segment:
            charts.append(self.grade_share_chart(
                self.t("grades_by_segment_chart", year=m.latest), [self.seg_name(r["segment"]) for r in sm.by_segment],
                sm.by_segment, self.t("segment"),
            ))
        if len(sm.per_year) > 1:
            charts.append(self.grade_share_chart(self.t("grade_shares_chart"), [str(r["year"]) for r in sm.per_year],
                                                 sm.per_year, self.t("year")))
        node = sm.grade_node or m.root
        basis = self.t("grade_basis_quantile" if sm.grade_basis == "quantile" else "grade_basis_score",
                       node=self.f.node_name(node))
        ctx = self.base("grades.html", self.t("grades_page"), "grades.html", sm=sm, charts=charts,
                        rules=self.rule_rows(), basis=basis, seg_name=self.seg_name)
        return Page("grades.html", "firms_grades.html.j2", ctx, charts)

    def multipliers(self) -> dict[str, dict[str, float]]:
        """``{segment: {dimension: factor}}``: what each dimension's points count for in the total of a
        firm of that segment ('' = the default weights), so that Σ factor · points = the total. With
        ``sum`` aggregation the factor is w · k / Σw (the weights rescaled to add up to the k
        dimensions); with a weighted mean it is w / Σw (:func:`~index_engine.aggregate.linear_coefficients`).
        Empty for other aggregations."""
        m = self.m
        method = str(((m.spec.get("steps") or {}).get("aggregate") or {}).get("method") or "")
        w = m.weights
        if method not in AGGREGATE or w is None or w.empty or "weight" not in w.columns:
            return {}
        dims = list(m.dimensions)
        seg = w["segment"] if "segment" in w.columns else [""] * len(w)
        out: dict[str, dict[str, float]] = {}
        for s_, node, weight in zip(seg, w["node"], w["weight"]):
            if node in dims and weight == weight:
                out.setdefault(str(s_ or ""), {})[node] = float(weight)
        for s_, ws in out.items():
            W = [ws.get(d, 0.0) for d in dims]
            c = linear_coefficients(method, W) if sum(W) else np.zeros((1, len(dims)))
            if c is None:
                return {}
            out[s_] = dict(zip(dims, c[0].tolist()))
        return out

    def top_page(self) -> Page:
        m, sm = self.m, self.sm
        dims = list(m.dimensions)
        vals = [r["dims"][d] for r in sm.top for d in dims if r["dims"][d] is not None]
        mult = self.multipliers()
        weighted = bool(mult) and any(abs(f - 1) > 1e-9 for ws in mult.values() for f in ws.values())
        rows = []
        for r in sm.top:
            f = mult.get(str(r.get("segment") or ""), mult.get("", {}))
            counted = {d: (None if r["dims"][d] is None else r["dims"][d] * f.get(d, 1.0)) for d in dims}
            rows.append({**r, "counted": counted, "factors": f})
        factor_rows = [(s_, [mult[s_].get(d) for d in dims]) for s_ in ([""] + [x for x in mult if x]) if s_ in mult] if weighted else []
        ctx = self.base("firms.html", self.t("top_firms"), "firms.html", sm=sm, dims=dims, seg_name=self.seg_name,
                        heat_lo=min(vals) if vals else 0, heat_hi=max(vals) if vals else 100, rows=rows,
                        weighted=weighted, factor_rows=factor_rows)
        return Page("firms.html", "firms_top.html.j2", ctx)

    def separating_page(self) -> Page:
        m, sm = self.m, self.sm
        rows = [r for r in sm.separating if r["gap"] is not None]
        charts: list[ch.Chart] = []
        if rows:
            charts.append(ch.bar_chart(
                self.cid(), self.t("gap_chart", year=m.latest) if m.has_years else self.t("gap"),
                [f"{r['code']} {self.f.node_name(r['code'])}" if len(self.f.node_name(r["code"])) <= 16
                 else f"{r['code']} {self.f.node_name(r['code'])[:15]}…" for r in rows],
                [{"name": self.t("gap"), "values": [r["gap"] for r in rows],
                  "colors": [ch.NAVY if r["gap"] >= 0 else ch.FOCUS for r in rows]}],
                fmt=lambda v: i18n.fmt_num(v, 2), value_title=self.t("gap"), category_title=self.t("indicator"),
            ))
        groups = [self.group_name(g) for g in sm.groups]
        ctx = self.base("indicators.html", self.t("separating"), "indicators.html", sm=sm, charts=charts,
                        groups=groups, slug=slug)
        return Page("indicators.html", "firms_indicators.html.j2", ctx, charts)

    def methodology_page(self) -> Page:
        page = super().methodology_page()
        sm = self.sm
        if sm.by_segment:
            page.context["segment_counts"] = [(self.seg_name(r["segment"]), r["n"]) for r in sm.by_segment]
            page.context["segment_total"] = sum(r["n"] for r in sm.by_segment)
        page.context["segment_column"] = sm.segment_column or (self.m.spec.get("segments") or {}).get("column") or ""
        return page

    def robustness_page(self) -> Page:
        page = super().robustness_page()
        audit = page.context.get("audit")
        if audit and len(audit["flags"]) > MAX_FLAGS:
            audit["flags"] = audit["flags"][:MAX_FLAGS]
        return page
