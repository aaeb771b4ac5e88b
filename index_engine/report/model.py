"""The report model: a finished build folder read into plain data the pages show.

Stage two of three (build folder → report model → jinja2 pages). Everything here comes from the
files a build wrote (``scores.csv``, ``contributions.csv``, ``weights.csv``, ``tables/*.csv``,
``treatment.csv``, ``imputed.csv``, ``fitted.csv``, ``units.csv``, ``log.json``, ``manifest.json``,
``spec.yaml`` and, when present, ``audit/``, ``targets.csv`` and ``sensitivity/``), never from a
recomputation, so the pages cannot disagree with what was computed. Nothing here depends on the
language of the pages: names are kept in both languages and numbers unformatted.

>>> from index_engine.report.model import slug
>>> slug("VC1"), slug("a/b"), slug("北京")
('VC1', 'a_x2f_b', '_x5317__x4eac_')
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
import yaml

from ..errors import DataError

NO_YEAR = 0  # the year of a one-period build (its CSVs leave ``year`` empty)
REQUIRED = ("scores.csv", "weights.csv", "units.csv", "spec.yaml")


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
    description: str | None = None
    target: dict[str, Any] | None = None
    goalposts: dict[str, Any] | None = None
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


def _read(path: Path, numeric: Iterable[str] = ()) -> pd.DataFrame:
    """A CSV with text kept as text (unit code ``NA`` stays ``NA``) and the named columns as numbers."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read it as a CSV file ({exc})") from None
    for c in numeric:
        if c in df.columns:
            df[c] = pd.to_numeric(df[c].replace("", np.nan), errors="coerce")
    return df


def _years(df: pd.DataFrame) -> pd.DataFrame:
    if "year" in df.columns:
        y = pd.to_numeric(df["year"].replace("", np.nan), errors="coerce")
        df["year"] = y.fillna(NO_YEAR).astype(int)
    return df


def _auto_numeric(df: pd.DataFrame, skip: Iterable[str] = ()) -> pd.DataFrame:
    """Columns whose every non-empty cell is a number, as numbers; other columns stay text."""
    for c in df.columns:
        if c in skip:
            continue
        filled = df[c] != ""
        if not filled.any():
            continue
        conv = pd.to_numeric(df[c].where(filled, np.nan), errors="coerce")
        if conv.notna().sum() == filled.sum():
            df[c] = conv
    return df


def _bool(v: Any) -> bool:
    return str(v).strip().lower() in ("true", "1", "yes")


def _float(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _clean(v: Any) -> Any:
    """NaN → None, numpy scalars → Python (for templates and JSON)."""
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def records(df: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Rows of a frame as plain dicts (NaN → None)."""
    if df is None or df.empty:
        return []
    return [{k: _clean(v) for k, v in row.items()} for row in df.to_dict("records")]


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
    audit: dict[str, pd.DataFrame] | None = None
    audit_json: dict[str, Any] | None = None
    targets: pd.DataFrame | None = None
    sensitivity: dict[str, pd.DataFrame] | None = None
    focus: str | None = None
    _score: dict[tuple[str, int, str], tuple[float | None, float | None, float | None]] = field(default_factory=dict, repr=False)
    _contrib: dict[tuple[str, int, str], float] = field(default_factory=dict, repr=False)
    _raw: dict[tuple[str, int, str], float] = field(default_factory=dict, repr=False)
    _norm: dict[tuple[str, int, str], float] = field(default_factory=dict, repr=False)

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

    @property
    def ranked_units(self) -> tuple[str, ...]:
        """Units with index scores (reference units excluded), best first in the latest year."""
        return tuple(self.ranking(self.latest))

    @property
    def default_lang(self) -> str:
        return "zh" if str(self.index.get("name_zh") or "").strip() else "en"

    @property
    def score_digits(self) -> int:
        s = self.scores["score"].abs().max() if not self.scores.empty else 100
        return 3 if (s == s and s <= 1.5) else 1

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

    def norm_value(self, unit: str, year: int, indicator: str) -> float | None:
        return self._norm.get((unit, year, indicator))

    def contribution(self, unit: str, year: int, child: str) -> float | None:
        return self._contrib.get((unit, year, child))

    def ranking(self, year: int, node: str | None = None) -> list[str]:
        """Units with a score for ``node`` (default the index) in ``year``, best first."""
        node = node or self.root
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
        vals = [self.score(u, year, node) for u in self.ranking(year, node)]
        vals = [v for v in vals if v is not None]
        return float(np.median(vals)) if vals else None

    def series(self, unit: str, node: str) -> list[tuple[int, float | None]]:
        return [(y, self.score(unit, y, node)) for y in self.years]

    def raw_series(self, unit: str, indicator: str) -> list[tuple[int, float | None]]:
        return [(y, self.raw_value(unit, y, indicator)) for y in self.years]

    def coverage(self, year: int, unit: str, node: str) -> tuple[int, int]:
        """(indicators with raw data, indicators) beneath ``node`` for ``unit`` in ``year``."""
        inds = self.indicators_under(node)
        n = sum(1 for i in inds if self.raw_value(unit, year, i) is not None)
        return n, len(inds)

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
        if df is None or df.empty or "indicator" not in df.columns:
            return []
        return records(df[df["indicator"] == indicator])


def _walk(tree: dict[str, Any], parent: str | None, depth: int, out: list[tuple[dict, str | None, int]]) -> None:
    out.append((tree, parent, depth))
    for c in tree.get("children") or ():
        _walk(c, tree["code"], depth + 1, out)


def _levels(tree: dict[str, Any], out: dict[str, int]) -> int:
    kids = tree.get("children") or ()
    out[tree["code"]] = 1 if not kids else 1 + max(_levels(c, out) for c in kids)
    return out[tree["code"]]


def _lookup(df: pd.DataFrame, key: list[str], cols: list[str]) -> dict:
    if df.empty:
        return {}
    vals = zip(*(df[c].tolist() for c in key + cols))
    if len(cols) == 1:
        return {tuple(v[: len(key)]): _float(v[-1]) for v in vals if _float(v[-1]) is not None}
    return {tuple(v[: len(key)]): tuple(_float(x) for x in v[len(key):]) for v in vals}


def read_spec(d: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The build's spec.yaml as a dict, and its ``index`` block (with ``id`` defaulting to the root's code)."""
    try:
        spec = yaml.safe_load((d / "spec.yaml").read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DataError(f"{d / 'spec.yaml'}: not valid YAML ({exc})") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("tree"), dict) or "code" not in spec["tree"]:
        raise DataError(f"{d / 'spec.yaml'}: no framework tree (a 'tree' with a 'code')")
    index = dict(spec.get("index") or {})
    index.setdefault("id", spec["tree"]["code"])
    return spec, index


def read_weights(d: Path) -> pd.DataFrame:
    return _read(d / "weights.csv", ["level", "nominal_weight", "weight", "effective_weight"])


def default_weights(weights: pd.DataFrame) -> pd.DataFrame:
    """The rows of weights.csv for the default weights (a segmented build adds a set per segment)."""
    if weights.empty or "segment" not in weights.columns:
        return weights
    return weights[weights["segment"] == ""]


def build_nodes(
    spec: dict[str, Any], weights: pd.DataFrame, pages: dict[str, str] | None = None, taken: set[str] | None = None
) -> tuple[str, dict[str, NodeInfo]]:
    """The root's code and every node of the spec's tree (tree order) with its weights.

    ``pages`` gives each node's page; by default ``dim-<code>.html`` for an aggregate below the
    root and ``ind-<code>.html`` for an indicator (unique, none of the names in ``taken``).
    """
    weights = default_weights(weights)
    wmap = {r["node"]: r for r in records(weights)} if not weights.empty else {}
    flat: list[tuple[dict, str | None, int]] = []
    _walk(spec["tree"], None, 0, flat)
    levels: dict[str, int] = {}
    _levels(spec["tree"], levels)
    codes = [n["code"] for n, _, _ in flat]
    if pages is None:
        taken = taken if taken is not None else set()
        is_ind = {n["code"]: not (n.get("children") or ()) for n, _, _ in flat}
        pages = _unique_pages([c for c in codes[1:] if not is_ind[c]], "dim", taken)
        pages.update(_unique_pages([c for c in codes if is_ind[c]], "ind", taken))
    nodes: dict[str, NodeInfo] = {}
    for n, parent, depth in flat:
        w = wmap.get(n["code"], {})
        code = str(n["code"])
        nodes[code] = NodeInfo(
            code=code,
            name_zh=str(n.get("name_zh") or ""),
            name_en=str(n.get("name_en") or ""),
            parent=parent,
            level=levels[code],
            depth=depth,
            children=tuple(str(c["code"]) for c in n.get("children") or ()),
            unit=n.get("unit"),
            direction=int(n.get("direction") or 1),
            type=n.get("type"),
            denominator=n.get("denominator"),
            source=n.get("source"),
            description=n.get("description"),
            target=n.get("target"),
            goalposts=n.get("goalposts"),
            nominal_weight=_float(w.get("nominal_weight", n.get("weight"))),
            weight=_float(w.get("weight")),
            effective_weight=_float(w.get("effective_weight")),
            page="index.html" if parent is None else pages[code],
        )
    return codes[0], nodes


def load_json(p: Path) -> Any:
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{p}: not valid JSON ({exc})") from None


def read_extras(d: Path) -> dict[str, Any]:
    """What every report reads besides the per-unit tables: fitted.csv, log.json, manifest.json,
    and, when present, audit/, targets.csv and sensitivity/ (as keyword arguments of ReportModel)."""
    fitted = _auto_numeric(_read(d / "fitted.csv"), ("indicator", "pool")) if (d / "fitted.csv").is_file() else pd.DataFrame()
    log = load_json(d / "log.json") or []
    manifest = load_json(d / "manifest.json") or {}

    audit = audit_json = None
    if (d / "audit").is_dir():
        audit = {}
        for p in sorted((d / "audit").glob("*.csv")):
            df = _auto_numeric(_years(_read(p)), ("year",))
            audit[p.stem] = df
        audit_json = load_json(d / "audit" / "audit.json")
        if not audit and not audit_json:
            audit = None

    targets = None
    if (d / "targets.csv").is_file():
        num = [
            "baseline_value", "latest_value", "target_value", "target_year", "attainment",
            "required_cagr_from_baseline", "required_cagr_from_latest", "achieved_cagr",
            "required_per_year", "reference_value", "projection", "projection_lo", "projection_hi",
        ]
        targets = _read(d / "targets.csv", num)
        if targets.empty or "indicator" not in targets.columns:
            targets = None

    sensitivity = None
    sd = d / "sensitivity"
    if sd.is_dir():
        sensitivity = {}
        specs = {
            "rank_stats": ["nominal_rank", "mean_rank", "median_rank", "q05_rank", "q95_rank",
                           "nominal_score", "q05_score", "q95_score"],
            "sobol": ["S1", "S1_lo", "S1_hi", "ST", "ST_lo", "ST_hi"],
            "importance": ["effective_weight", "r2", "eta2"],
            "remove_one": ["level", "mean_abs_rank_change", "max_abs_rank_change"],
        }
        for stem, num in specs.items():
            p = sd / f"{stem}.csv"
            if p.is_file():
                df = _years(_read(p, num))
                if not df.empty:
                    sensitivity[stem] = df
        sensitivity = sensitivity or None
    return {
        "fitted": fitted, "log": log if isinstance(log, list) else [],
        "manifest": manifest if isinstance(manifest, dict) else {}, "audit": audit, "audit_json": audit_json,
        "targets": targets, "sensitivity": sensitivity,
    }


def load_model(build_dir: str | Path) -> ReportModel:
    """Read a finished build folder into a :class:`ReportModel`.

    Parameters
    ----------
    build_dir : path of a folder written by ``index-engine build`` (or ``Build.write``)

    Raises
    ------
    DataError
        When the folder does not exist or lacks one of scores.csv, weights.csv, units.csv, spec.yaml.
    """
    d = Path(build_dir)
    if not d.is_dir():
        raise DataError(f"{d}: no such build folder")
    missing = [f for f in REQUIRED if not (d / f).is_file()]
    if missing:
        raise DataError(f"{d}: not a finished build folder: {', '.join(missing)} missing")
    spec, index = read_spec(d)
    weights = read_weights(d)
    taken: set[str] = {"index", "units", "framework", "targets", "methodology", "robustness"}
    root, nodes = build_nodes(spec, weights, taken=taken)

    units_df = _read(d / "units.csv")
    scores = _years(_read(d / "scores.csv", ["level", "score", "rank", "change"]))
    for c in ("unit", "node"):
        if c not in scores.columns:
            raise DataError(f"{d / 'scores.csv'}: column {c!r} missing")
    unit_codes = list(units_df["unit"]) if "unit" in units_df.columns else []
    for u in scores["unit"].unique():  # a unit scored but not listed still gets a page
        if u not in unit_codes:
            unit_codes.append(u)
    upages = _unique_pages(unit_codes, "unit", taken)
    units: dict[str, UnitInfo] = {}
    urows = {r["unit"]: r for r in records(units_df)} if "unit" in units_df.columns else {}
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

    years = tuple(sorted(int(y) for y in scores["year"].unique())) if "year" in scores.columns else (NO_YEAR,)
    if "year" not in scores.columns:
        scores["year"] = NO_YEAR
    years = years or (NO_YEAR,)

    def opt(name: str, numeric: Iterable[str]) -> pd.DataFrame:
        p = d / name
        return _years(_read(p, numeric)) if p.is_file() else pd.DataFrame()

    contributions = opt("contributions.csv", ["contribution"])
    raw = opt("tables/raw.csv", ["value"])
    normalized = opt("tables/normalized.csv", ["value"])
    treatment = opt("treatment.csv", ["before", "after"])
    imputed = opt("imputed.csv", ["value"])

    m = ReportModel(
        build_dir=d, spec=spec, index=index, root=root, nodes=nodes, units=units, years=years,
        scores=scores, contributions=contributions, weights=weights, raw=raw, normalized=normalized,
        treatment=treatment, imputed=imputed, **read_extras(d),
    )
    m._score = _lookup(scores, ["unit", "year", "node"], ["score", "rank", "change"])
    m._score = {k: v for k, v in m._score.items() if v[0] is not None}
    if not contributions.empty:
        m._contrib = _lookup(contributions, ["unit", "year", "child"], ["contribution"])
    if not raw.empty:
        m._raw = _lookup(raw, ["unit", "year", "indicator"], ["value"])
    if not normalized.empty:
        m._norm = _lookup(normalized, ["unit", "year", "indicator"], ["value"])
    m.focus = _focus(m)
    return m


def _focus(m: ReportModel) -> str | None:
    """The headline unit: the spec's ``tracking.unit``, else the targets' unit, else the first unit listed."""
    ranked = set(m.ranking(m.latest))
    cands: list[str] = []
    tracking = m.spec.get("tracking")
    if isinstance(tracking, dict) and tracking.get("unit"):
        cands.append(str(tracking["unit"]))
    if m.targets is not None and "tracked_unit" in m.targets.columns:
        cands.extend(str(u) for u in m.targets["tracked_unit"] if u)
    cands.extend(u for u, i in m.units.items() if not i.reference)
    for u in cands:
        if u in ranked:
            return u
    return None
