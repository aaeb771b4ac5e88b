"""The report model: a finished build folder read into plain data the pages show.

Stage two of three (build folder → report model → jinja2 pages). Everything here comes from the
files a build wrote, read through :func:`index_engine.folder.load_build` (scores, contributions,
weights, stage tables, treatment, imputed, fitted, units, log, manifest, the spec and, when
present, audit/, targets and sensitivity/), never from a recomputation, so the pages cannot
disagree with what was computed. The framework tree is the spec's. Nothing here depends on the
language of the pages: names are kept in both languages and numbers unformatted.

>>> from index_engine.report.model import slug
>>> slug("VC1"), slug("a/b"), slug("北京")
('VC1', 'a_x2f_b', '_x5317__x4eac_')
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from .._checks import NO_YEAR
from .._json import jsonable
from ..folder import SENSITIVITY_NUMERIC, BuildFolder, load_build
from ..families import FAMILIES
from ..spec import Spec, spec_from_dict, step_choice
from ..tables import default_weights


@dataclass(frozen=True)
class NodeInfo:
    """A node of the framework tree with its weights as the build resolved them."""

    code: str
    name_zh: str
    name_en: str
    parent: str | None
    level: int
    depth: int
    children: tuple[str, ...]
    unit: str | None = None
    direction: int = 1
    type: str | None = None
    denominator: str | None = None
    source: str | None = None
    source_zh: str | None = None
    source_en: str | None = None
    description: str | None = None
    description_zh: str | None = None
    description_en: str | None = None
    target: dict[str, Any] | None = None
    goalposts: dict[str, Any] | None = None
    targets: tuple[dict[str, Any], ...] = ()
    definition_zh: str | None = None
    definition_en: str | None = None
    nominal_weight: float | None = None
    weight: float | None = None
    effective_weight: float | None = None
    page: str = ""

    @property
    def is_indicator(self) -> bool:
        return not self.children


@dataclass(frozen=True)
class UnitInfo:
    """A unit as units.csv lists it."""

    code: str
    name_zh: str
    name_en: str
    reference: bool = False
    dropped_years: str = ""
    page: str = ""


def score_digits(largest: float) -> int:
    """Decimals a page shows scores with, from the largest |score|: 3 on a 0–1 scale (at most 1.5), else 1."""
    return 3 if (largest == largest and largest <= 1.5) else 1


def slug(code: str) -> str:
    """A file-name-safe form of a code: ASCII letters, digits, ``-`` and ``_`` kept, the rest as ``_x<hex>_``."""
    return "".join(ch if re.fullmatch(r"[A-Za-z0-9_-]", ch) else f"_x{ord(ch):x}_" for ch in str(code))


PAGE_SLUG_MAX = 60
"""Longest slug in a page file name; a longer one is cut and followed by a hash of the code."""


def page_stem(prefix: str, code: str) -> str:
    """``<prefix>-<slug>``, or ``<prefix>-<slug cut to PAGE_SLUG_MAX>-<8 hex of SHA-1(code)>`` for a long code,
    so a file name stays far below the 255-byte limit whatever the code (250 letters, 36 Chinese characters).

    >>> page_stem("unit", "BJ"), page_stem("unit", "x" * 250)[-9:], len(page_stem("unit", "北" * 36))
    ('unit-BJ', '-c37ef17c', 74)
    """
    s = slug(code)
    if len(s) <= PAGE_SLUG_MAX:
        return f"{prefix}-{s}"
    return f"{prefix}-{s[:PAGE_SLUG_MAX]}-{hashlib.sha1(str(code).encode('utf-8')).hexdigest()[:8]}"


def _unique_pages(codes: Iterable[str], prefix: str, taken: set[str]) -> dict[str, str]:
    """``{code: "<page_stem>.html"}``, unique even on a case-insensitive file system."""
    out: dict[str, str] = {}
    for code in codes:
        base = page_stem(prefix, code)
        name, i = base, 1
        while name.lower() in taken:
            i += 1
            name = f"{base}-{i}"
        taken.add(name.lower())
        out[code] = f"{name}.html"
    return out


def _bool(v: Any) -> bool:
    return str(v).strip().lower() in ("true", "1", "yes")


def _float(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def records(df: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Rows of a frame as plain dicts, each value as :func:`~index_engine._json.jsonable` makes it
    (NaN and infinities → None), converted a column at a time."""
    if df is None or df.empty:
        return []
    names = list(df.columns)
    return [dict(zip(names, row)) for row in zip(*(_plain(column) for _, column in df.items()))]


def _plain(column: pd.Series) -> list[Any]:
    """:func:`~index_engine._json.jsonable` of each value of ``column``: a numpy number column as a
    whole (``tolist`` gives Python numbers; NaN and infinities become None), others value by value."""
    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else "O"
    if kind in "biu":
        return column.to_numpy().tolist()
    if kind == "f":
        return [v if v - v == 0 else None for v in column.to_numpy().tolist()]  # v - v is NaN for NaN and ±inf
    return [jsonable(v) for v in column.to_numpy(dtype=object).tolist()]


MARK_KINDS: dict[str, str] = {
    "imputed": "*", "earlier_year": "‡", "partial_year": "†", "treated": "§",
    "estimate": "~", "provisional": "°", "proxy": "≈", "forecast": "»",
}
"""The marker shown beside a value of each kind (a treatment, or a flag the pages mark), in this order.
Illustrative values are not marked one by one: the data notice on every page says so."""


def read_marks(f: BuildFolder) -> tuple[dict[tuple[str, int, str], tuple[tuple[str, str], ...]], str]:
    """``{(unit, year, indicator): ((kind, how), ...)}`` for every value a page marks, and the latest
    vintage the provenance table names ('' when none).

    From the folder's provenance table (:attr:`BuildFolder.provenance`: a row per exception, ``treatment`` and
    ``flag`` give the kinds, ``how`` or ``note`` the explanation) when the build wrote one; else
    from the imputation records (``imputed.csv``: kind ``imputed``, ``how`` the method)."""
    out: dict[tuple[str, int, str], list[tuple[str, str]]] = {}

    def add(u: Any, y: Any, i: Any, kind: str, how: Any) -> None:
        if kind in MARK_KINDS:
            key = (str(u), NO_YEAR if y is None or y == "" or y != y else int(y), str(i))
            if kind not in [k for k, _ in out.get(key, [])]:
                out.setdefault(key, []).append((kind, "" if how is None or how != how else str(how)))

    prov = f.provenance
    vintage = ""
    if prov is not None:
        if "vintage" in prov.columns:
            vintage = max((str(v) for v in prov["vintage"] if v == v and str(v).strip()), default="")
        for r in prov.to_dict("records"):
            how = r.get("how") or r.get("note")
            if r.get("treatment"):
                add(r.get("unit"), r.get("year"), r.get("indicator"), str(r["treatment"]), how)
            if r.get("flag"):
                add(r.get("unit"), r.get("year"), r.get("indicator"), str(r["flag"]), r.get("note") or how)
    elif not f.imputed.empty:
        imp = f.imputed
        years = imp["year"] if "year" in imp.columns else [NO_YEAR] * len(imp)
        for u, y, i, meth in zip(imp["unit"], years, imp["indicator"], imp.get("method", [""] * len(imp))):
            add(u, y, i, "imputed", meth)
    return {k: tuple(v) for k, v in out.items()}, vintage


@dataclass(frozen=True)
class Basis:
    """What an indicator's score is computed from, besides its level: the stage whose value was
    normalised (after transformation, denominator and imputation) and how it relates to the level."""

    denominator: str | None = None
    scale: float | None = None
    transform: str | None = None

    @property
    def differs(self) -> bool:
        """Whether the value normalised is not the level as read."""
        return bool(self.denominator or self.transform)


@dataclass
class ReportModel:
    """Everything the pages show, read from one build folder (see :func:`load_model`)."""

    build_dir: Path
    spec: dict[str, Any]
    index: dict[str, Any]
    root: str
    nodes: dict[str, NodeInfo]
    units: dict[str, UnitInfo]  # every unit units.csv lists, in its order
    years: tuple[int, ...]
    scores: pd.DataFrame
    contributions: pd.DataFrame
    weights: pd.DataFrame
    raw: pd.DataFrame
    normalized: pd.DataFrame
    treatment: pd.DataFrame
    imputed: pd.DataFrame
    fitted: pd.DataFrame
    log: list[dict[str, Any]]
    manifest: dict[str, Any]
    audit: Mapping[str, pd.DataFrame] | None = None
    audit_json: dict[str, Any] | None = None
    targets: pd.DataFrame | None = None
    measures: pd.DataFrame | None = None
    sensitivity: dict[str, pd.DataFrame] | None = None
    focus: str | None = None
    sensitivity_factors: tuple[str, ...] = ()
    marks: dict[tuple[str, int, str], tuple[tuple[str, str], ...]] = field(default_factory=dict)
    basis: dict[str, Basis] = field(default_factory=dict)
    _score: dict[tuple[str, int, str], tuple[float | None, float | None, float | None]] = field(default_factory=dict, repr=False)
    _contrib: dict[tuple[str, int, str], float] = field(default_factory=dict, repr=False)
    _raw: dict[tuple[str, int, str], float] = field(default_factory=dict, repr=False)
    _coverage: dict[tuple[str, int, str], float] = field(default_factory=dict, repr=False)
    _norm: dict[tuple[str, int, str], float] = field(default_factory=dict, repr=False)
    _basis: dict[tuple[str, int, str], float] = field(default_factory=dict, repr=False)
    _vintage: str = ""
    _rankings: dict[tuple[int, str], list[str]] = field(default_factory=dict, repr=False)
    _medians: dict[tuple[int, str], float | None] = field(default_factory=dict, repr=False)
    _rows_by_indicator: dict[int, tuple[pd.DataFrame, dict[Any, list[dict[str, Any]]]]] = field(default_factory=dict, repr=False)

    # ---- structure ------------------------------------------------------------------
    @property
    def has_years(self) -> bool:
        return self.years != (NO_YEAR,)

    @property
    def latest(self) -> int:
        return self.years[-1]

    @property
    def previous(self) -> int | None:
        return self.years[-2] if len(self.years) > 1 else None

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The root's children (the index's dimensions, or its indicators in a one-level index)."""
        return self.nodes[self.root].children

    @property
    def aggregates(self) -> tuple[str, ...]:
        """Aggregate nodes other than the root, tree order: each gets a page."""
        return tuple(c for c, n in self.nodes.items() if not n.is_indicator and c != self.root)

    @property
    def indicators(self) -> tuple[str, ...]:
        return tuple(c for c, n in self.nodes.items() if n.is_indicator)

    @functools.cached_property
    def parsed_spec(self) -> Spec:
        """The spec as a :class:`~index_engine.spec.Spec` (``spec`` holds it as plain data): the one
        the loaders read, else read from ``spec`` (as ``spec.yaml`` gives it, without the YAML parse)."""
        return spec_from_dict(self.spec, label=str(self.build_dir / "spec.yaml"), base_dir=self.build_dir)

    @functools.cached_property
    def ranked_units(self) -> tuple[str, ...]:
        """Units with index scores (reference units excluded), best first in the latest year, then the units of
        that year whose index score is withheld (too little observed data) or missing (worked out once: the
        pages ask hundreds of times)."""
        ranked = self.ranking(self.latest)
        if len(ranked) == sum(not info.reference for info in self.units.values()):
            return tuple(ranked)
        scored = {u for (u, y, _) in self._score if y == self.latest} - set(ranked)  # some published score
        return tuple(ranked + [u for u, info in self.units.items() if not info.reference and u in scored])

    @property
    def default_lang(self) -> str:
        return "zh" if str(self.index.get("name_zh") or "").strip() else "en"

    @property
    def score_digits(self) -> int:
        return score_digits(self.scores["score"].abs().max() if not self.scores.empty else 100)

    def indicators_under(self, code: str) -> tuple[str, ...]:
        n = self.nodes[code]
        if n.is_indicator:
            return (code,)
        return tuple(i for c in n.children for i in self.indicators_under(c))

    def path_to(self, code: str) -> list[str]:
        """Codes from the root down to ``code``."""
        out = [code]
        while self.nodes[out[-1]].parent:
            out.append(self.nodes[out[-1]].parent)  # type: ignore[arg-type]
        return out[::-1]

    def dimension_of(self, code: str) -> str | None:
        p = self.path_to(code)
        return p[1] if len(p) > 1 else None

    # ---- numbers --------------------------------------------------------------------
    def score(self, unit: str, year: int, node: str) -> float | None:
        return self._score.get((unit, year, node), (None, None, None))[0]

    def rank(self, unit: str, year: int | None, node: str) -> int | None:
        if year is None:
            return None
        r = self._score.get((unit, year, node), (None, None, None))[1]
        return None if r is None else int(r)

    def change(self, unit: str, year: int, node: str) -> float | None:
        return self._score.get((unit, year, node), (None, None, None))[2]

    def score_range(self) -> tuple[float, float] | None:
        """(lowest, highest) score of any node, unit and year; None when there is none."""
        vals = [v[0] for v in self._score.values() if v[0] is not None]
        return (min(vals), max(vals)) if vals else None

    def raw_value(self, unit: str, year: int, indicator: str) -> float | None:
        return self._raw.get((unit, year, indicator))

    @property
    def latest_vintage(self) -> str:
        """The latest ``vintage`` in the folder's provenance table ('' without one)."""
        return self._vintage

    def basis_value(self, unit: str, year: int, indicator: str) -> float | None:
        """The value that was normalised (see :class:`Basis`), or the level when nothing changed it."""
        if indicator in self.basis and self.basis[indicator].differs:
            return self._basis.get((unit, year, indicator))
        return self.raw_value(unit, year, indicator)

    def marks_of(self, unit: str, year: int, indicator: str) -> tuple[tuple[str, str], ...]:
        return self.marks.get((unit, year, indicator), ())

    @property
    def mark_kinds(self) -> tuple[str, ...]:
        """The kinds of marker that occur in this build, in :data:`MARK_KINDS` order."""
        seen = {k for v in self.marks.values() for k, _ in v}
        return tuple(k for k in MARK_KINDS if k in seen)

    def norm_value(self, unit: str, year: int, indicator: str) -> float | None:
        return self._norm.get((unit, year, indicator))

    def contribution(self, unit: str, year: int, child: str) -> float | None:
        return self._contrib.get((unit, year, child))

    def ranking(self, year: int, node: str | None = None) -> list[str]:
        """Units with a score for ``node`` (default the index) in ``year``, best first."""
        node = node or self.root
        if (year, node) not in self._rankings:  # pages ask for the same ranking many times
            self._rankings[year, node] = self._ranking(year, node)
        return list(self._rankings[year, node])

    def _ranking(self, year: int, node: str) -> list[str]:
        rows = []
        for u, info in self.units.items():
            if info.reference:
                continue
            s, r, _ = self._score.get((u, year, node), (None, None, None))
            if s is None:
                continue
            rows.append((r if r is not None else math.inf, -s, u))
        return [u for *_, u in sorted(rows, key=lambda x: (x[0], x[1]))]

    def peer_median(self, year: int, node: str) -> float | None:
        """The median score of the units ranked on ``node`` in ``year`` (None when there is none)."""
        if (year, node) not in self._medians:
            vals = [self.score(u, year, node) for u in self.ranking(year, node)]
            vals = [v for v in vals if v is not None]
            self._medians[year, node] = float(np.median(vals)) if vals else None
        return self._medians[year, node]

    def series(self, unit: str, node: str) -> list[tuple[int, float | None]]:
        return [(y, self.score(unit, y, node)) for y in self.years]

    def raw_series(self, unit: str, indicator: str) -> list[tuple[int, float | None]]:
        return [(y, self.raw_value(unit, y, indicator)) for y in self.years]

    def coverage(self, year: int, unit: str, node: str) -> float | None:
        """The build's coverage of ``node`` for ``unit`` in ``year``: the share of the node's nominal weight
        backed by observed data, what the publication rule compares with its threshold
        (:attr:`BuildFolder.coverage`); None where the folder records none."""
        return self._coverage.get((unit, year, node))

    def indicator_coverage(self, indicator: str) -> list[tuple[int, int, int]]:
        """(year, units with raw data, units ranked) per year."""
        out = []
        for y in self.years:
            us = self.ranking(y) or [u for u, i in self.units.items() if not i.reference]
            out.append((y, sum(1 for u in us if self.raw_value(u, y, indicator) is not None), len(us)))
        return out

    def steps_for(self, indicator: str) -> list[dict[str, Any]]:
        """Log entries that applied to ``indicator`` (or to every indicator)."""
        out = []
        for s in self.log:
            to = s.get("applies_to") or []
            if indicator in to or "*" in to:
                out.append(s)
        return out

    def rows_for(self, df: pd.DataFrame, indicator: str) -> list[dict[str, Any]]:
        """The rows of ``df`` (treatment, imputed, fitted, targets, an audit table) about ``indicator``, as
        :func:`records` gives them."""
        if df is None or df.empty or "indicator" not in df.columns:
            return []
        held = self._rows_by_indicator.get(id(df))
        if held is None or held[0] is not df:  # each table is split by indicator once
            groups: dict[Any, list[dict[str, Any]]] = {}
            for r in records(df):
                groups.setdefault(r["indicator"], []).append(r)
            held = self._rows_by_indicator[id(df)] = (df, groups)
        groups = held[1]
        return [dict(r) for r in groups.get(indicator, [])]


def _lookup(df: pd.DataFrame, key: list[str], cols: list[str]) -> dict:
    """``{key tuple: value}`` with one value column (rows without a number left out), else
    ``{key tuple: (values)}``, the values as :func:`_float` reads them."""
    if df.empty:
        return {}
    keys = zip(*(df[c].tolist() for c in key))
    if len(cols) == 1:
        return {k: v for k, v in zip(keys, _floats(df[cols[0]])) if v is not None}
    return dict(zip(keys, zip(*(_floats(df[c]) for c in cols))))


def _floats(column: pd.Series) -> list[float | None]:
    """:func:`_float` of each value, a numeric column converted as a whole."""
    if getattr(column.dtype, "kind", "O") in "biuf":
        return [None if v != v else v for v in column.to_numpy(dtype=float, na_value=np.nan).tolist()]
    return [_float(v) for v in column.tolist()]


def build_nodes(
    spec: Spec, weights: pd.DataFrame, pages: dict[str, str] | None = None, taken: set[str] | None = None
) -> tuple[str, dict[str, NodeInfo]]:
    """The root's code and every node of the spec's tree (tree order) with its weights.

    ``pages`` gives each node's page; by default ``dim-<code>.html`` for an aggregate below the
    root and ``ind-<code>.html`` for an indicator (unique, none of the names in ``taken``).
    """
    weights = default_weights(weights)
    wmap = {r["node"]: r for r in records(weights)} if not weights.empty else {}
    root = spec.tree.code
    codes = list(spec.nodes)  # pre-order
    if pages is None:
        taken = taken if taken is not None else set()
        pages = _unique_pages([c for c in codes[1:] if not spec.nodes[c].is_indicator], "dim", taken)
        pages.update(_unique_pages([c for c in codes if spec.nodes[c].is_indicator], "ind", taken))
    depth = {root: 0}
    nodes: dict[str, NodeInfo] = {}
    for code, n in spec.nodes.items():
        parent = spec.parents[code]
        if parent is not None:
            depth[code] = depth[parent] + 1
        w = wmap.get(code, {})
        nodes[code] = NodeInfo(
            code=code,
            name_zh=n.name_zh or "",
            name_en=n.name_en or "",
            parent=parent,
            level=spec.levels[code],
            depth=depth[code],
            children=tuple(c.code for c in n.children),
            unit=n.unit,
            direction=n.direction,
            type=n.type,
            denominator=n.denominator,
            source=n.source,
            source_zh=n.source_zh,
            source_en=n.source_en,
            description=n.description,
            description_zh=n.description_zh,
            description_en=n.description_en,
            target=n.target.model_dump(mode="json") if n.target is not None else None,
            goalposts=n.goalposts.model_dump(mode="json") if n.goalposts is not None else None,
            targets=tuple({**t.model_dump(mode="json"), "id": tid} for tid, t in n.all_targets),
            definition_zh=n.definition_zh,
            definition_en=n.definition_en,
            nominal_weight=_float(w.get("nominal_weight", n.weight)),
            weight=_float(w.get("weight")),
            effective_weight=_float(w.get("effective_weight")),
            page="index.html" if parent is None else pages[code],
        )
    return root, nodes


SENSITIVITY_TABLES = tuple(SENSITIVITY_NUMERIC)
"""The tables of sensitivity/ the robustness page shows (those the folder reader knows, besides the samples)."""


def index_meta(spec: Spec) -> dict[str, Any]:
    """The spec's ``index`` block as a dict (``id`` defaulting to the root's code)."""
    index = dict(spec.to_dict().get("index") or {})
    if not index.get("id"):
        index["id"] = spec.tree.code
    return index


def read_extras(f: BuildFolder) -> dict[str, Any]:
    """What every report reads besides the per-unit tables: fitted, log, manifest and, when
    present, audit/, targets and sensitivity/ (as keyword arguments of ReportModel)."""
    audit = f.audit or None
    audit_json = f.audit_json
    if f.audit is not None and audit is None and audit_json:
        audit = {}
    targets = f.targets
    if targets is not None and (targets.empty or "indicator" not in targets.columns):
        targets = None
    sensitivity = None
    if f.sensitivity is not None:
        sensitivity = {k: f.sensitivity[k] for k in SENSITIVITY_TABLES if k in f.sensitivity and not f.sensitivity[k].empty}
        sensitivity = sensitivity or None
    return {
        "fitted": f.fitted, "log": f.log, "manifest": f.manifest, "audit": audit, "audit_json": audit_json,
        "targets": targets, "sensitivity": sensitivity, "measures": f.measures,
        "sensitivity_factors": tuple(_factor_paths((f.sensitivity_manifest or {}).get("factors"))) if sensitivity else (),
    }


def _factor_paths(factors: Any) -> list[str]:
    """The spec paths an uncertainty analysis varied (``weights`` for a weight factor), from its manifest."""
    if not isinstance(factors, dict):
        return []
    return [str(f.get("path") or name) if isinstance(f, dict) and f.get("type") == "choice" else str(name)
            for name, f in factors.items()]


def load_model(build_dir: str | Path | BuildFolder) -> ReportModel:
    """Read a finished build folder into a :class:`ReportModel`.

    Parameters
    ----------
    build_dir : path of a folder written by ``index-engine build`` (or ``Build.write``), or the
        :class:`~index_engine.folder.BuildFolder` opened on it

    Raises
    ------
    DataError
        When the folder does not exist, lacks a file every build has, or a file cannot be read.
    """
    f = build_dir if isinstance(build_dir, BuildFolder) else load_build(build_dir)
    spec = f.spec
    weights = f.weights
    taken: set[str] = {"index", "units", "framework", "targets", "methodology", "robustness", "scorecard", "implementation"}
    root, nodes = build_nodes(spec, weights, taken=taken)

    units_df = f.units
    scores = f.scores_long
    unit_codes = list(units_df["unit"])
    listed = set(unit_codes)
    for u in scores["unit"].unique():  # a unit scored but not listed still gets a page
        if u not in listed:
            unit_codes.append(u)
            listed.add(u)
    upages = _unique_pages(unit_codes, "unit", taken)
    units: dict[str, UnitInfo] = {}
    urows = {r["unit"]: r for r in records(units_df)}
    for u in unit_codes:
        r = urows.get(u, {})
        name = str(r.get("unit_name") or "")
        name_en = str(r.get("unit_name_en") or "")
        units[u] = UnitInfo(
            code=u,
            name_zh=name if name != name_en else "",
            name_en=name_en or ("" if re.search(r"[\u3000-\u9fff]", name) else name),
            reference=_bool(r.get("reference", False)),
            dropped_years=str(r.get("dropped_years") or ""),
            page=upages[u],
        )
    years = f.years

    def stage(name: str) -> pd.DataFrame:
        return f.table_long(name) if name in f.stages else pd.DataFrame()

    contributions = f.contributions if f.contributions is not None else pd.DataFrame()
    raw = stage("raw")
    normalized = stage("normalized")
    m = ReportModel(
        build_dir=f.path, spec=spec.to_dict(), index=index_meta(spec), root=root, nodes=nodes, units=units,
        years=years, scores=scores, contributions=contributions, weights=weights, raw=raw, normalized=normalized,
        treatment=f.treatment, imputed=f.imputed, **read_extras(f),
    )
    m.parsed_spec = spec
    m._score = _lookup(scores, ["unit", "year", "node"], ["score", "rank", "change"])
    m._score = {k: v for k, v in m._score.items() if v[0] is not None}
    if not contributions.empty:
        m._contrib = _lookup(contributions, ["unit", "year", "child"], ["contribution"])
    if not raw.empty:
        m._raw = _lookup(raw, ["unit", "year", "indicator"], ["value"])
    if f.coverage is not None:
        m._coverage = _lookup(f.coverage, ["unit", "year", "node"], ["coverage"])
    if not normalized.empty:
        m._norm = _lookup(normalized, ["unit", "year", "indicator"], ["value"])
    basis_stage = next((st for st in ("imputed", "denominated", "transformed") if st in f.stages), None)
    m.basis = basis_of(spec)
    if basis_stage is not None and any(b.differs for b in m.basis.values()):
        m._basis = _lookup(stage(basis_stage), ["unit", "year", "indicator"], ["value"])
    m.marks, m._vintage = read_marks(f)
    m.focus = _focus(m)
    return m


def basis_of(spec: Spec) -> dict[str, Basis]:
    """Each indicator's :class:`Basis` from the spec's transform and denominate choices (a method with the
    ``identity`` trait changes nothing)."""
    def used(step: str, code: str) -> Any:  # the step's choice for the indicator, None if it leaves it as it is
        choice, _ = step_choice(spec, step, code)
        return None if FAMILIES[step].get(choice.method).has("identity") else choice

    out = {}
    for code, n in spec.nodes.items():
        if not n.is_indicator:
            continue
        tr, de = used("transform", code), used("denominate", code)
        den = n.denominator if de is not None and n.denominator else None
        scale = de.params.get("scale", 1) if den else None
        out[code] = Basis(den, float(scale) if scale is not None else None, tr.method if tr is not None else None)
    return out


def tracked_units(m: ReportModel) -> list[str]:
    """The tracked units with an index score in the latest year: the spec's ``tracking.unit``, then the
    targets' tracked units, each once."""
    cands: list[str] = []
    tracking = m.spec.get("tracking")
    if isinstance(tracking, dict) and tracking.get("unit"):
        cands.append(str(tracking["unit"]))
    if m.targets is not None and "tracked_unit" in m.targets.columns:
        cands.extend(str(u) for u in m.targets["tracked_unit"] if isinstance(u, str) and u)
    ranked = set(m.ranking(m.latest))
    return [u for u in dict.fromkeys(cands) if u in ranked]


def _focus(m: ReportModel) -> str | None:
    """The headline unit: the first tracked unit (:func:`tracked_units`), else the first unit listed."""
    ranked = set(m.ranking(m.latest))
    cands = tracked_units(m) + [u for u, i in m.units.items() if not i.reference]
    return next((u for u in cands if u in ranked), None)
