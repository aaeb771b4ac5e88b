"""The spec: one immutable description of an index (framework tree + step choices).

A spec is a YAML file under ``weights/``. It is parsed into frozen pydantic models with unknown
keys forbidden; every error names the file and the YAML path of the bad value, e.g.
``weights/x.yaml: tree.CR.children[2].direction: must be 1 or -1, got 'up'``.

Path grammar (used by error messages, ``--set``, ``Spec.get``/``Spec.replace`` and the
uncertainty factors): dotted keys from the top of the spec, ``[i]`` for list positions, and
``tree.<CODE>`` for the node with that code anywhere in the tree. Examples::

    steps.normalize.method            steps.normalize.params.upper
    steps.aggregate.by_level.3.method tree.VC1.weight
    tree.HDI.children[0].name_en      reference_units
"""

from __future__ import annotations

import copy
import datetime
import difflib
import hashlib
import json
import math
import re
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from ._checks import decode_text
from ._files import check_input_file
from .coinr import imeta_to_dict
from .errors import SpecError
from .yamlsafe import MAX_TREE_DEPTH, format_path, read_yaml_text, write_yaml_text

STEP_NAMES = ("transform", "denominate", "impute", "screen", "treat", "normalize", "weights", "aggregate")
INDICATOR_STEPS = ("transform", "denominate", "impute", "treat", "normalize")
NODE_STEPS = ("weights", "aggregate")

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_BREAK_DATE = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?|Q[1-4])?")


class _Model(BaseModel):
    model_config = _FROZEN


class Goalposts(_Model):
    """Fixed goalposts of an indicator (HDI style): lower maps to 0, upper to the scale's top."""

    lower: float
    upper: float


class Baseline(_Model):
    value: float
    date: str


TARGET_BASES = ("year_end_stock", "annual_flow", "level", "cumulative", "rank", "growth_vs_reference", "growth_gap")
"""Target bases. Distance-based (attainment on the baseline-to-target scale): ``year_end_stock``,
``annual_flow``, ``level``, ``cumulative``. Pass/fail (no attainment scale): ``rank`` (national rank
<= ``value``), ``growth_vs_reference`` (annualised growth since the baseline above the reference
unit's by at least ``value`` pp) and ``growth_gap`` (a growth gap given as data, in pp)."""
PASS_FAIL_BASES = ("rank", "growth_vs_reference", "growth_gap")


class Target(_Model):
    """A policy target of an indicator, traced to the plan.

    ``quote`` is the plan's sentence the target comes from, verbatim in its own language (required when
    the spec has ``tracking:``); ``reading_zh``/``reading_en`` say what the spec reads into it beyond the
    words (e.g. "位居全国前列 读作全国排名前3" / "well ahead nationally, read as national rank <= 3");
    a bare ``reading`` is taken as the English form. ``note_zh``/``note_en`` (a bare ``note`` is the
    Chinese form) label the target on the pages. ``id`` names the target for ``measures:`` links (default: the
    indicator's code for its first target, ``<code>.<n>`` for the n-th).
    """

    value: float
    year: int | None = None
    basis: Literal[TARGET_BASES] = "level"  # type: ignore[valid-type]
    unit: str | None = None
    start_year: int | None = None
    baseline: Baseline | None = None
    reference: str | None = None
    note: str | None = None
    note_en: str | None = None
    id: str | None = None
    quote: str | None = None
    reading_zh: str | None = None
    reading_en: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _reading(cls, v: Any) -> Any:
        """``reading`` is the English form; ``note_zh`` the Chinese ``note``."""
        if isinstance(v, dict):
            v = dict(v)
            if "reading" in v:
                if v.get("reading_en") is not None:
                    raise ValueError("give either reading or reading_en, not both")
                v["reading_en"] = v.pop("reading")
            if "note_zh" in v:
                if v.get("note") is not None:
                    raise ValueError("give either note or note_zh, not both")
                v["note"] = v.pop("note_zh")
        return v

    @field_validator("id")
    @classmethod
    def _id(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[^\s\[\]=,]+", v):
            raise ValueError(f"must be a code without spaces, brackets, commas or '=', got {v!r}")
        return v


class Node(_Model):
    """A node of the framework tree: the index, an aggregate, or (no children) an indicator."""

    code: str = Field(min_length=1)
    name_zh: str = ""
    name_en: str = ""
    parent: str | None = None
    weight: float = 1.0
    description: str | None = None
    description_zh: str | None = None
    description_en: str | None = None
    children: tuple[Node, ...] = ()
    # indicator attributes
    unit: str | None = None
    direction: int = 1
    type: Literal["stock", "flow", "ratio", "rank", "binary", "count"] | None = None
    denominator: str | None = None
    target: Target | None = None
    targets: tuple[Target, ...] = ()
    goalposts: Goalposts | None = None
    source: str | None = None
    aggregate_periods: Literal["last", "sum", "mean", "annualise"] | None = None
    definition_zh: str | None = None
    definition_en: str | None = None
    source_zh: str | None = None
    source_en: str | None = None

    @field_validator("code", mode="before")
    @classmethod
    def _code(cls, v: Any) -> Any:
        if not isinstance(v, str) or not re.fullmatch(r"[^\s.\[\]=]+", v):
            raise ValueError(f"must be a code without spaces, dots, brackets or '=', got {v!r}")
        return v

    @field_validator("weight", mode="before")
    @classmethod
    def _weight(cls, v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ValueError(f"must be a non-negative number, got {v!r}")
        return float(v)

    @field_validator("direction", mode="before")
    @classmethod
    def _direction(cls, v: Any) -> Any:
        if isinstance(v, bool) or v not in (1, -1):
            raise ValueError(f"must be 1 or -1, got {v!r}")
        return int(v)

    @property
    def is_indicator(self) -> bool:
        return not self.children

    @property
    def all_targets(self) -> tuple[tuple[str, Target], ...]:
        """``(id, target)`` of every target of the node: ``target`` and the ``targets`` list, in order."""
        ts = ((self.target,) if self.target is not None else ()) + self.targets
        return tuple((t.id or (self.code if i == 0 else f"{self.code}.{i + 1}"), t) for i, t in enumerate(ts))


class StepChoice(_Model):
    """A method and its parameters."""

    method: str
    params: dict[str, Any] = {}


class StepSpec(StepChoice):
    """One pipeline step: a default method, with overrides by indicator, node or level.

    ``pool`` says over which rows the method's statistics are taken: ``all`` (every unit and
    year together) or ``year`` (each year on its own). ``None`` uses the step's default.
    """

    by_indicator: dict[str, StepChoice] = {}
    by_node: dict[str, StepChoice] = {}
    by_level: dict[int, StepChoice] = {}
    pool: Literal["all", "year"] | None = None


def _step(method: str, **params: Any) -> StepSpec:
    return StepSpec(method=method, params=params)


class Steps(_Model):
    """The pipeline, in the order it runs."""

    transform: StepSpec = _step("none")
    denominate: StepSpec = _step("none")
    impute: StepSpec = _step("none")
    screen: StepSpec = _step("none")
    treat: StepSpec = _step("none")
    normalize: StepSpec = _step("minmax")
    weights: StepSpec = _step("fixed")
    aggregate: StepSpec = _step("arithmetic")


class SourceOrder(_Model):
    """Duplicated rows are settled by source: the row whose ``source`` comes first in ``source_order`` wins."""

    source_order: tuple[str, ...] = Field(min_length=1)


class DataRef(_Model):
    """The data of a spec and how to read it (see ``docs/data.md``).

    ``file`` is relative to the spec file; ``provenance`` names a sidecar file (CSV or .xlsx, long:
    ``unit, period, indicator, source, vintage, flag, note, break``) giving the provenance of a wide file's
    values. ``on_missing_indicator``: a spec indicator the data lacks is an error, or (``warn``) it is dropped
    and the weights of its siblings renormalised. ``duplicates``: two rows for one unit, period and indicator
    are an error, or the latest ``vintage`` wins, or the first source in ``{source_order: [...]}``.
    ``progress`` names the progress file of the plan's measures (see :mod:`index_engine.measures`),
    relative to the spec file too.
    """

    file: str | None = None
    sheet: str | None = None
    provenance: str | None = None
    on_missing_indicator: Literal["error", "warn"] = "error"
    duplicates: Literal["error", "latest_vintage"] | SourceOrder = "error"
    progress: str | None = None


class SeriesBreak(_Model):
    """A change of definition (口径) of an indicator's series: values before ``date`` and from ``date`` on are not
    comparable, so no change, growth rate or base-year value spans it. ``unit`` empty: every unit."""

    indicator: str
    unit: str | None = None
    date: str
    note: str = ""

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, v: Any) -> Any:
        if isinstance(v, (datetime.date, datetime.datetime)):  # YAML reads 2023-07-01 as a date
            v = v.strftime("%Y-%m-%d")
        text = str(v).strip() if isinstance(v, (int, str)) and not isinstance(v, bool) else None
        if text is None or not _BREAK_DATE.fullmatch(text):
            raise ValueError(f"must be a date YYYY, YYYY-MM, YYYY-MM-DD or a period such as 2025Q1, got {v!r}")
        return text


class Tracking(_Model):
    """Target tracking: whose targets the indicators' ``target`` entries are, and how to project.

    ``min_obs``: the usable observations (not zero, not a gap, not a forecast; dated at or after the
    baseline and after any series break) a status other than insufficient_data / not_started rests
    on (default 3). ``start_year``: the plan's first year; a target with no baseline counts from
    it, earlier years are context.
    """

    unit: str
    model: Literal["loglinear", "ets"] = "loglinear"
    level: float = Field(0.9, gt=0, lt=1)
    min_obs: int = Field(3, ge=2)
    start_year: int | None = None


class Milestone(_Model):
    """A dated deliverable of a measure, for a named instrument that has no indicator (yet)."""

    code: str | None = None
    what_zh: str
    what_en: str = ""
    by: str | None = None


class Highlight(_Model):
    """A highlight (亮点举措) the plan names for a measure."""

    zh: str
    en: str = ""


class Measure(_Model):
    """One of the plan's measures (举措): titles, the highlights the plan names, milestones, and the
    indicators and targets (codes) that evidence it."""

    code: str = Field(min_length=1)
    title_zh: str
    title_en: str = ""
    highlights: tuple[Highlight, ...] = ()
    milestones: tuple[Milestone, ...] = ()
    indicators: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()

    @property
    def all_milestones(self) -> tuple[tuple[str, Milestone], ...]:
        """``(code, milestone)``: a milestone's own code, else ``<measure>.m<n>``."""
        return tuple((m.code or f"{self.code}.m{i + 1}", m) for i, m in enumerate(self.milestones))


class PlanPart(_Model):
    """A part (部分) of the plan: its measures, or, for the general targets, the targets it carries."""

    code: str = Field(min_length=1)
    title_zh: str
    title_en: str = ""
    indicators: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    measures: tuple[Measure, ...] = ()


class UncertainFactor(_Model):
    """One uncertain input of the ``uncertainty:`` section (see :mod:`index_engine.sensitivity`).

    ``type: weights`` multiplies the weights of the nodes at ``levels`` by 1 + u·``noise``,
    u ~ U(−1, 1), renormalised within each parent (COINr ``get_noisy_weights``). ``type: choice``
    picks one of ``values`` with equal probability and puts it at the spec ``path``; without a
    ``path``, each value maps spec paths to values (several changes at once). ``group`` joins
    factors into one Sobol group.
    """

    type: Literal["weights", "choice"]
    levels: tuple[int, ...] = ()
    noise: float = Field(0.25, gt=0, le=1)
    path: str | None = None
    values: tuple[Any, ...] = ()
    group: str | None = None

    @model_validator(mode="after")
    def _check(self) -> "UncertainFactor":
        if self.type == "weights":
            if not self.levels:
                raise ValueError("a weights factor needs 'levels', the tree levels whose weights vary (e.g. [2, 3])")
            if any(lvl < 1 for lvl in self.levels):
                raise ValueError(f"levels are 1 (indicators) or more, got {list(self.levels)}")
            if self.path is not None or self.values:
                raise ValueError("a weights factor takes 'levels' and 'noise', not 'path' or 'values'")
        else:
            if not self.values:
                raise ValueError("a choice factor needs 'values', the alternatives to choose among")
            if self.levels:
                raise ValueError("a choice factor takes 'path' and 'values', not 'levels'")
            if self.path is None and not all(isinstance(v, dict) and v for v in self.values):
                raise ValueError("without 'path', each value of a choice factor must map spec paths to values")
        return self


class Grades(_Model):
    """Grades from a node's score: ``labels`` best first, ``cutoffs`` one fewer, descending.

    ``basis: score``: a score >= cutoffs[i] (and below the cut-offs before it) gets labels[i],
    below the last cut-off the last label. ``basis: quantile``: cutoffs are shares of units from
    the top within each year (e.g. [0.1, 0.4, 0.7]: the best 10% get A, the next 30% B, ...).
    """

    node: str | None = None
    labels: tuple[str, ...] = ("A", "B", "C", "D")
    cutoffs: tuple[float, ...]
    basis: Literal["score", "quantile"] = "score"

    @model_validator(mode="after")
    def _check(self) -> "Grades":
        if len(self.cutoffs) != len(self.labels) - 1:
            raise ValueError(
                f"needs one cut-off fewer than labels ({len(self.labels)} labels, {len(self.cutoffs)} cut-offs)"
            )
        c = list(self.cutoffs)
        if self.basis == "score" and any(b >= a for a, b in zip(c, c[1:])):
            raise ValueError(f"score cut-offs must decrease, got {c}")
        if self.basis == "quantile" and (any(b <= a for a, b in zip(c, c[1:])) or not all(0 < x < 1 for x in c)):
            raise ValueError(f"quantile cut-offs are increasing shares between 0 and 1, got {c}")
        return self


class Segments(_Model):
    """Weights that differ by a unit's segment (e.g. start-up / growth / mature firms).

    ``column`` is a text column of the data; ``weight_sets`` maps each segment to node weights
    that replace the tree's for the units in it. Units of another segment use the tree's weights.
    """

    column: str
    weight_sets: dict[str, dict[str, float]]


class Publish(_Model):
    """When a score is published: ``min_coverage``, the share of an aggregate's nominal effective weight
    that observed data must back (see :mod:`index_engine.coverage`), below which the unit's score at
    that aggregate is withheld (empty, with its reason in scores.csv ``status``) and left out of ranks.

    ``levels`` (COINr level numbers, 2 = the lowest aggregates) and ``nodes`` (aggregate codes) give
    their own thresholds; a node's own beats its level's, which beats ``min_coverage``. Indicators
    are never withheld: an imputed or flagged value is published with its marker (provenance.csv).
    A spec without ``publish:`` publishes every score.
    """

    min_coverage: float = Field(0.0, ge=0, le=1)
    levels: dict[int, Annotated[float, Field(ge=0, le=1)]] = {}
    nodes: dict[str, Annotated[float, Field(ge=0, le=1)]] = {}

    def threshold(self, code: str, level: int) -> float:
        """The threshold of the aggregate ``code`` at ``level``."""
        return self.nodes.get(code, self.levels.get(level, self.min_coverage))


class IndexMeta(_Model):
    id: str = Field(min_length=1)
    name_zh: str = ""
    name_en: str = ""
    description: str = ""
    description_zh: str = ""
    description_en: str = ""
    version: str = "1"
    notice_zh: str | None = None
    """Deprecated and ignored: the data notice comes from the data's flags (:func:`index_engine.outputs.data_notice`)."""
    notice_en: str | None = None
    """Deprecated and ignored, as ``notice_zh``."""

    @property
    def lang(self) -> str:
        """The index's own language: ``"zh"`` when it has a Chinese name, else ``"en"``."""
        return "zh" if self.name_zh.strip() else "en"
    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        """The id names the default output folder ``outputs/<id>/``: one plain folder name."""
        if v in (".", "..") or re.search(r"[/\\\x00-\x1f]", v) or v != v.strip() or len(v.encode()) > 100:
            raise ValueError(f"must be a folder name (it names outputs/<id>/): at most 100 bytes, no '/', '\\', control characters or surrounding spaces, not '.' or '..'; got {v!r}")
        return v


class Publication(_Model):
    """Who publishes the index and how to cite it (the report's publication block on every page).

    Dates are written as given (``2026-03-31``); the report never takes them from the clock, so a
    rebuild stays byte-identical. Without ``citation_zh``/``citation_en`` the report suggests one
    from the index's name, the publisher and the version."""

    publisher: str = ""
    publisher_en: str = ""
    release_date: str = ""
    data_cutoff: str = ""
    version: str = ""
    citation_zh: str = ""
    citation_en: str = ""
    contact: str = ""
    licence: str = ""
    licence_en: str = ""

    @field_validator("release_date", "data_cutoff", "version", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        """A YAML date (``2026-03-31``) or number (``1.0``) kept as the text it was written as."""
        return v.isoformat() if hasattr(v, "isoformat") else str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


class Spec(_Model):
    """The whole spec of an index. Immutable: :meth:`replace` returns a new Spec."""

    index: IndexMeta
    tree: Node
    steps: Steps = Steps()
    units: tuple[str, ...] | None = None
    reference_units: tuple[str, ...] = ()
    tracking: Tracking | None = None
    freeze_normalization: str | None = None
    grades: Grades | None = None
    segments: Segments | None = None
    publish: Publish | None = None
    data: DataRef | None = None
    breaks: tuple[SeriesBreak, ...] = ()
    uncertainty: dict[str, UncertainFactor] = {}
    measures: tuple[PlanPart, ...] = ()
    publication: Publication | None = None

    _source: str = PrivateAttr(default="<spec>")
    _base_dir: str = PrivateAttr(default=".")
    _validated_choices: dict[str, tuple[Any, dict[str, Any]]] = PrivateAttr(default_factory=dict)

    # ---- derived views of the tree -------------------------------------------------
    @cached_property
    def nodes(self) -> dict[str, Node]:
        """Every node by code, parents before children (pre-order)."""
        out: dict[str, Node] = {}

        def walk(n: Node) -> None:
            out[n.code] = n
            for c in n.children:
                walk(c)

        walk(self.tree)
        return out

    @cached_property
    def parents(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {self.tree.code: None}
        for n in self.nodes.values():
            for c in n.children:
                out[c.code] = n.code
        return out

    @cached_property
    def indicators(self) -> tuple[str, ...]:
        """Indicator codes in tree order."""
        return tuple(c for c, n in self.nodes.items() if n.is_indicator)

    @cached_property
    def levels(self) -> dict[str, int]:
        """COINr level numbers: 1 = indicator, a parent is one more than its highest child."""
        out: dict[str, int] = {}

        def walk(n: Node) -> int:
            out[n.code] = 1 if n.is_indicator else 1 + max(walk(c) for c in n.children)
            return out[n.code]

        walk(self.tree)
        return out

    @cached_property
    def aggregates(self) -> tuple[str, ...]:
        """Aggregate node codes in the order they are computed (lowest level first)."""
        aggs = [c for c, n in self.nodes.items() if not n.is_indicator]
        return tuple(sorted(aggs, key=lambda c: (self.levels[c], aggs.index(c))))

    @cached_property
    def targets(self) -> dict[str, tuple[str, Target]]:
        """Every target by id: ``{id: (indicator code, Target)}``, in tree order."""
        return {tid: (c, t) for c, n in self.nodes.items() for tid, t in n.all_targets}

    @cached_property
    def plan_measures(self) -> dict[str, tuple[PlanPart, Measure]]:
        """Every measure of ``measures:`` by code: ``{code: (part, measure)}``."""
        return {m.code: (p, m) for p in self.measures for m in p.measures}

    @property
    def source(self) -> str:
        return self._source

    @property
    def base_dir(self) -> Path:
        return Path(self._base_dir)

    @property
    def validated_choices(self) -> Mapping[str, tuple[Any, dict[str, Any]]]:
        """Every method choice of ``steps`` by its path (``steps.normalize``, ``steps.normalize.by_indicator.X``,
        ...): the registered method and its params with defaults filled in, as checked when the spec was
        validated (the plan compiles from these, not checking them again)."""
        return MappingProxyType(self._validated_choices)

    def as_read_from(self, source: str | Path, base_dir: str | Path) -> Spec:
        """This spec as :func:`load_spec` gives it from ``source``, a file holding :meth:`to_yaml` (the same
        values, validated already), relative paths starting at ``base_dir``."""
        spec = self.model_copy()
        spec._source = str(source)
        spec._base_dir = str(base_dir)
        return spec

    # ---- paths ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain data, as YAML would hold it (defaults included)."""
        return self.model_dump(mode="json")

    def to_yaml(self) -> str:
        return write_yaml_text(self.to_dict(), allow_unicode=True, sort_keys=False)

    def hash(self) -> str:
        """SHA-256 of the canonical JSON form: equal specs have equal hashes."""
        text = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def get(self, path: str) -> Any:
        """The value at ``path`` (see the module's path grammar)."""
        parent, key = _locate(self.to_dict(), path, create=False)
        return parent[key]

    def replace(self, path: str, value: Any, origin: str = "--set") -> Spec:
        """A new Spec with the value at ``path`` replaced, validated like the file."""
        return self.replace_many({path: value}, origin=origin)

    def replace_many(self, changes: dict[str, Any], origin: str = "--set") -> Spec:
        data = self.to_dict()
        for path, value in changes.items():
            try:
                parent, key = _locate(data, path, create=True)
            except SpecError as exc:
                raise SpecError(f"{origin} {path}: {exc}") from None
            parent[key] = value
        return _validate(data, label=f"{self._source} ({origin})", base_dir=self.base_dir, source=self._source)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Spec) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(self.hash())


# ---- path grammar --------------------------------------------------------------------
_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(path: str) -> list[str | int]:
    """Split ``a.b[2].c`` into ``['a', 'b', 2, 'c']``."""
    if not path or path.startswith(".") or path.endswith(".") or ".." in path:
        raise SpecError(f"{path!r} is not a spec path (e.g. steps.normalize.method, tree.VC1.weight)")
    pos, out = 0, []
    while pos < len(path):
        if path[pos] == ".":
            pos += 1
        m = _TOKEN.match(path, pos)
        if not m:
            raise SpecError(f"{path!r} is not a spec path (e.g. steps.normalize.method, tree.VC1.weight)")
        out.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    return out


def _find_node(tree: dict[str, Any], code: str) -> dict[str, Any] | None:
    if tree.get("code") == code:
        return tree
    for c in tree.get("children") or ():
        found = _find_node(c, code) if isinstance(c, dict) else None
        if found is not None:
            return found
    return None


def _locate(data: dict[str, Any], path: str, create: bool) -> tuple[Any, Any]:
    """Container and key of ``path`` inside plain spec data."""
    tokens = parse_path(path)
    cur: Any = data
    i = 0
    if tokens[0] == "tree" and len(tokens) > 1 and isinstance(tokens[1], str) and tokens[1] != "children":
        node = _find_node(data.get("tree") or {}, tokens[1])
        if node is None:
            raise SpecError(f"no node with code {tokens[1]!r} in the tree")
        cur, i = node, 2
        if i == len(tokens):
            raise SpecError("a path must end at a value (e.g. tree.CODE.weight)")
    for j in range(i, len(tokens) - 1):
        t = tokens[j]
        nxt = tokens[j + 1]
        try:
            if isinstance(cur, dict) and t not in cur and isinstance(t, str) and create:
                cur[t] = [] if isinstance(nxt, int) else {}
            if isinstance(cur, dict) and isinstance(t, str) and t.isdigit() and t not in cur and int(t) in cur:
                t = int(t)
            if create and isinstance(cur, dict) and cur.get(t) is None and j == 0 and t == "data":
                cur[t] = {}  # data: its reading policies may be set without a file (--set data.on_missing_indicator=warn)
            cur = cur[t]
        except (KeyError, IndexError, TypeError):
            raise SpecError(f"{format_path(tokens[: j + 1])} does not exist") from None
        if cur is None and create:
            raise SpecError(f"{format_path(tokens[: j + 1])} is empty; set the whole value instead")
    last = tokens[-1]
    if isinstance(cur, dict):
        if isinstance(last, str) and last.isdigit() and last not in cur and int(last) in cur:
            last = int(last)
        if last not in cur and not create:
            raise SpecError(f"{path} does not exist")
        return cur, last
    if isinstance(cur, list) and isinstance(last, int) and last < len(cur):
        return cur, last
    raise SpecError(f"{path} does not exist")


# ---- loading ---------------------------------------------------------------------------
_NOT_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _read_yaml(path: Path) -> dict[str, Any]:
    check_input_file(path, "spec", SpecError)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the spec file ({exc.strerror})") from None
    text = decode_text(raw, str(path), "YAML", SpecError)
    bad = _NOT_PRINTABLE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        column = bad.start() - text.rfind("\n", 0, bad.start())
        raise SpecError(
            f"{path}: line {line}, column {column}: not a text YAML file (control character U+{ord(bad.group()):04X})"
        )
    data = read_yaml_text(text, str(path))
    if not isinstance(data, dict):
        raise SpecError(f"{path}: a spec must be a YAML mapping with 'index' and 'tree' keys")
    return data


def _check_tree_depth(tree: Any, label: str) -> None:
    """Refuse a tree deeper than MAX_TREE_DEPTH, naming the first node too deep and its ancestors."""
    stack = [(tree, 1, ())] if isinstance(tree, dict) else []
    while stack:
        node, depth, above = stack.pop()
        code = str(node.get("code", "?"))
        if depth > MAX_TREE_DEPTH:
            chain = " > ".join([*above[:3], "...", *above[-2:], code]) if len(above) > 5 else " > ".join([*above, code])
            raise SpecError(
                f"{label}: tree.{code}: the tree is more than {MAX_TREE_DEPTH} levels deep, the limit ({chain})"
            )
        children = node.get("children")
        if isinstance(children, (list, tuple)):
            stack.extend((c, depth + 1, above + (code,)) for c in children if isinstance(c, dict))


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``; ``params`` are replaced whole, and dropped when the method changes."""
    out = copy.deepcopy(base)
    if "method" in over and over["method"] != out.get("method") and "params" not in over:
        out.pop("params", None)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k != "params":
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _resolve_file(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a spec file, following ``extends`` and applying ``weight_set`` and ``set``."""
    path = path.resolve() if path.exists() else path
    if path in seen:
        raise SpecError(f"{path}: extends: a spec cannot extend itself (cycle through {seen[-1]})")
    data = _read_yaml(path)
    base_name = data.pop("extends", None)
    weight_set = data.pop("weight_set", None)
    settings = data.pop("set", None)
    if base_name is not None:
        if not isinstance(base_name, str):
            raise SpecError(f"{path}: extends: must be the path of a spec file, got {base_name!r}")
        base_path = (path.parent / base_name)
        if not base_path.exists():
            raise SpecError(f"{path}: extends: no such spec file {base_name!r}")
        base = _resolve_file(base_path, seen + (path,))
        if isinstance(base.get("data"), dict):
            base["data"] = dict(base["data"])
            own = data.get("data")
            if isinstance(own, dict) and own.get("file") is not None:
                # a data file of its own: the base's provenance sidecar and progress file belong to the
                # base's data file and go with it, as they do when --data replaces the file
                for key in ("provenance", "progress"):
                    base["data"].pop(key, None)
            for key in ("file", "provenance", "progress"):
                if base["data"].get(key) is not None:
                    base["data"][key] = _rebase(base["data"][key], base_path.parent, path.parent)
        data = _deep_merge(base, data)
    if weight_set is not None:
        if not isinstance(weight_set, dict):
            raise SpecError(f"{path}: weight_set: must map node codes to weights")
        for code, w in weight_set.items():
            node = _find_node(data.get("tree") or {}, str(code))
            if node is None:
                raise SpecError(f"{path}: weight_set.{code}: no node with code {code!r} in the tree")
            node["weight"] = w
    if settings is not None:
        if not isinstance(settings, dict):
            raise SpecError(f"{path}: set: must map spec paths to values")
        for p, v in settings.items():
            try:
                parent, key = _locate(data, str(p), create=True)
            except SpecError as exc:
                raise SpecError(f"{path}: set.{p}: {exc}") from None
            parent[key] = v
    return data


def _rebase(file: Any, old_dir: Path, new_dir: Path) -> Any:
    if not isinstance(file, str) or Path(file).is_absolute():
        return file
    import os

    return os.path.relpath((old_dir / file).resolve(), new_dir.resolve())


def load_spec(path: str | Path, overrides: dict[str, Any] | None = None, *, base_dir: str | Path | None = None) -> Spec:
    """Read and validate a spec file (YAML, or a COINr iMeta CSV).

    Parameters
    ----------
    path : str or Path
        The YAML spec (``extends``, ``weight_set`` and ``set`` are applied) or a COINr
        ``iMeta`` CSV, which is converted with :func:`index_engine.coinr.imeta_to_dict`.
    overrides : dict of {path: value}, optional
        Values to replace, as ``--set`` does; validated like the file.
    base_dir : str or Path, optional
        The folder the spec's relative paths (``data.file``, ``freeze_normalization``) are relative to;
        default the file's folder (a build folder's ``spec.yaml`` names the original spec's).
    """
    path = Path(path)
    check_input_file(path, "spec", SpecError)
    base = path.parent if base_dir is None else Path(base_dir)
    if path.suffix.lower() == ".csv":
        spec = spec_from_dict(imeta_to_dict(path), label=str(path), base_dir=base)
    else:
        data = _resolve_file(path)
        spec = _validate(data, label=str(path), base_dir=base, source=str(path))
    if overrides:
        spec = spec.replace_many(overrides, origin="--set")
    return spec


def spec_from_dict(data: dict[str, Any], label: str = "<dict>", base_dir: str | Path = ".") -> Spec:
    """Validate plain data (as from YAML) into a Spec."""
    return _validate(copy.deepcopy(data), label=label, base_dir=Path(base_dir), source=label)


def _validate(data: dict[str, Any], label: str, base_dir: Path, source: str) -> Spec:
    if isinstance(data.get("tree"), list):
        data["tree"] = _nest_flat_tree(data["tree"], label)
    _check_tree_depth(data.get("tree"), label)
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(_pydantic_message(exc, data, label)) from None
    spec._source = source
    spec._base_dir = str(base_dir)
    _check_tree(spec, label)
    _check_steps(spec, label)
    return spec


def _nest_flat_tree(rows: list[Any], label: str) -> dict[str, Any]:
    """Turn a flat node list (each with ``parent``) into the nested form, checking it."""
    by_code: dict[str, dict[str, Any]] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or "code" not in row:
            raise SpecError(f"{label}: tree[{i}]: each node needs a 'code'")
        code = str(row["code"])
        if code in by_code:
            raise SpecError(f"{label}: tree[{i}].code: duplicated code {code!r}")
        by_code[code] = {**row, "children": list(row.get("children") or [])}
    roots = [c for c, r in by_code.items() if r.get("parent") in (None, "")]
    for i, (code, row) in enumerate(by_code.items()):
        p = row.get("parent")
        if p not in (None, "") and p not in by_code:
            raise SpecError(f"{label}: tree[{i}].parent: {code!r} names a parent {p!r} that does not exist")
    for i, code in enumerate(by_code):
        seen, cur = [code], by_code[code].get("parent")
        while cur not in (None, ""):
            if cur in seen:
                cycle = " -> ".join(seen[seen.index(cur):] + [cur])
                raise SpecError(f"{label}: tree[{i}].parent: the parents form a cycle ({cycle})")
            seen.append(cur)
            cur = by_code[cur].get("parent")
    if len(roots) != 1:
        raise SpecError(f"{label}: tree: exactly one node must have no parent (the index); found {roots}")
    for code, row in by_code.items():
        p = row.get("parent")
        if p not in (None, ""):
            by_code[p]["children"].append(row)
    for row in by_code.values():
        if not row["children"]:
            row.pop("children")
    return by_code[roots[0]]


def _loc_to_path(loc: tuple[Any, ...], data: dict[str, Any]) -> str:
    """Render a pydantic location with the parent's code: tree.CR.children[2].direction."""
    out = ""
    cur: Any = data
    for t in loc:
        code = cur.get("code") if isinstance(cur, dict) else None
        if t == "children" and isinstance(code, str) and out.startswith("tree"):
            out = f"tree.{code}"
        if isinstance(t, int):
            out += f"[{t}]"
        else:
            out += f".{t}" if out else str(t)
        try:
            cur = cur[t]
        except (KeyError, IndexError, TypeError):
            cur = None
    return out


def _pydantic_message(exc: ValidationError, data: dict[str, Any], label: str) -> str:
    lines = []
    for err in exc.errors()[:5]:
        loc = tuple(err["loc"])
        path = _loc_to_path(loc, data)
        kind = err["type"]
        if kind == "extra_forbidden":
            key = loc[-1]
            allowed = _allowed_keys(loc, data)
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            msg = f"unknown key {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
            if allowed and not hint:
                msg += f"; allowed keys: {', '.join(allowed)}"
        elif kind == "missing":
            msg = "is required"
        elif kind == "value_error":
            msg = str(err["msg"]).removeprefix("Value error, ")
        elif kind == "literal_error":
            msg = f"{err['msg'].removeprefix('Input should be ').replace('should be', 'must be')}"
            msg = f"must be {msg}, got {err.get('input')!r}"
        else:
            msg = f"{err['msg'].replace('Input should', 'must')}, got {err.get('input')!r}"
        lines.append(f"{label}: {path}: {msg}")
    if len(exc.errors()) > 5:
        lines.append(f"... and {len(exc.errors()) - 5} more")
    return "\n".join(lines)


def _allowed_keys(loc: tuple[Any, ...], data: dict[str, Any]) -> list[str]:
    model: Any = Spec
    for t in loc[:-1]:
        if isinstance(t, int):
            continue
        field = getattr(model, "model_fields", {}).get(t)
        if field is None:
            return []
        ann = field.annotation
        for cand in (Node, StepSpec, StepChoice, Steps, IndexMeta, Target, Goalposts, Baseline, DataRef, SeriesBreak,
                     Tracking, PlanPart, Measure, Milestone, Highlight):
            if cand is ann or cand in getattr(ann, "__args__", ()) or (
                getattr(ann, "__args__", None) and any(cand in getattr(a, "__args__", ()) for a in ann.__args__)
            ):
                model = cand
                break
        else:
            if t in ("by_indicator", "by_node", "by_level"):
                model = StepChoice
            else:
                return []
    return sorted(getattr(model, "model_fields", {}))


_INDICATOR_ONLY = ("unit", "type", "denominator", "target", "targets", "goalposts", "aggregate_periods", "definition_zh",
                   "definition_en")


def _check_tree(spec: Spec, label: str) -> None:
    seen: dict[str, str] = {}

    def walk(n: Node, path: str, parent: str | None) -> None:
        if n.code in seen:
            raise SpecError(f"{label}: {path}.code: duplicated code {n.code!r} (also at {seen[n.code]})")
        seen[n.code] = path
        if n.parent is not None and n.parent != parent:
            raise SpecError(
                f"{label}: {path}.parent: {n.code!r} says its parent is {n.parent!r}, but it sits under {parent!r}"
            )
        if n.children:
            for key in _INDICATOR_ONLY:
                if getattr(n, key) not in (None, ()):
                    raise SpecError(f"{label}: {path}.{key}: only indicators (nodes without children) take {key!r}")
            if all(c.weight == 0 for c in n.children):
                raise SpecError(f"{label}: {path}.children: all weights are 0; at least one must be positive")
        for i, c in enumerate(n.children):
            walk(c, f"tree.{n.code}.children[{i}]", n.code)

    walk(spec.tree, "tree", None)
    _check_targets(spec, label)
    _check_measures(spec, label)
    if not spec.tree.children:
        raise SpecError(f"{label}: tree.children: the index needs at least one indicator")
    for i, brk in enumerate(spec.breaks):
        if brk.indicator not in spec.nodes or not spec.nodes[brk.indicator].is_indicator:
            raise SpecError(f"{label}: breaks[{i}].indicator: no indicator with code {brk.indicator!r}")
    if spec.grades is not None and spec.grades.node is not None and spec.grades.node not in spec.nodes:
        raise SpecError(f"{label}: grades.node: no node with code {spec.grades.node!r}")
    if spec.publish is not None:
        for code in spec.publish.nodes:
            if code not in spec.nodes or spec.nodes[code].is_indicator:
                raise SpecError(f"{label}: publish.nodes.{code}: no aggregate with code {code!r} (indicators are never withheld)")
        top = spec.levels[spec.tree.code]
        for level in spec.publish.levels:
            if not 2 <= level <= top:
                raise SpecError(f"{label}: publish.levels.{level}: the aggregates' levels are 2 to {top}")
    if spec.segments is not None:
        for seg, ws in spec.segments.weight_sets.items():
            for code, w in ws.items():
                if code not in spec.nodes or spec.parents[code] is None:
                    raise SpecError(f"{label}: segments.weight_sets.{seg}.{code}: no node below the index with code {code!r}")
                if not (isinstance(w, (int, float)) and w >= 0):
                    raise SpecError(f"{label}: segments.weight_sets.{seg}.{code}: must be a non-negative number, got {w!r}")


def _check_targets(spec: Spec, label: str) -> None:
    """Target ids unique; a quote on every target of a spec that tracks them; a reference unit for
    growth_vs_reference."""
    seen: dict[str, str] = {}
    for code, n in spec.nodes.items():
        for i, (tid, t) in enumerate(n.all_targets):
            path = f"tree.{code}.target" if (n.target is not None and i == 0) else (
                f"tree.{code}.targets[{i - (n.target is not None)}]")
            if tid in seen:
                raise SpecError(f"{label}: {path}.id: target id {tid!r} is used twice (also on {seen[tid]})")
            seen[tid] = code
            if spec.tracking is not None and not (t.quote or "").strip():
                raise SpecError(
                    f"{label}: {path}.quote: is required when the spec tracks targets (tracking:): the plan's "
                    "sentence the target comes from; say in 'reading:' what the spec reads into it"
                )
            if t.basis == "growth_vs_reference" and not t.reference:
                raise SpecError(f"{label}: {path}.reference: growth_vs_reference needs the reference unit (e.g. CN)")


def _check_measures(spec: Spec, label: str) -> None:
    """Codes of parts, measures and milestones unique; their links name indicators and targets of the spec."""
    seen: set[str] = set()
    targets = spec.targets
    target_codes = set(targets) | {c for c, _ in targets.values()}

    def links(obj: PlanPart | Measure, path: str) -> None:
        for j, c in enumerate(obj.indicators):
            if c not in spec.nodes or not spec.nodes[c].is_indicator:
                raise SpecError(f"{label}: {path}.indicators[{j}]: no indicator with code {c!r}")
        for j, c in enumerate(obj.targets):
            if c not in target_codes:
                raise SpecError(f"{label}: {path}.targets[{j}]: no target with id (or indicator with a target) {c!r}")

    def unique(code: str, path: str) -> None:
        if code in seen:
            raise SpecError(f"{label}: {path}: duplicated code {code!r} in measures")
        seen.add(code)

    for i, p in enumerate(spec.measures):
        unique(p.code, f"measures[{i}].code")
        links(p, f"measures[{i}]")
        for k, m in enumerate(p.measures):
            path = f"measures[{i}].measures[{k}]"
            unique(m.code, f"{path}.code")
            links(m, path)
            for q, (mc, _) in enumerate(m.all_milestones):
                unique(mc, f"{path}.milestones[{q}].code")


def _check_steps(spec: Spec, label: str) -> None:
    """Every method choice of ``steps`` checked (its method known, its params valid), each kept by its path in
    :attr:`Spec.validated_choices`."""
    from .families import FAMILIES

    nodes = spec.nodes
    checked = spec._validated_choices

    def check(reg: Any, choice: Any, path: str) -> None:
        method = reg.get(choice.method, where=f"{label}: {path}.method")
        checked[path] = (method, method.validate(choice.params, f"{label}: {path}.params"))

    for step in STEP_NAMES:
        s: StepSpec = getattr(spec.steps, step)
        reg = FAMILIES[step]
        base = f"{label}: steps.{step}"
        check(reg, s, f"steps.{step}")
        if s.pool is not None and step not in ("impute", "screen", "treat", "normalize"):
            raise SpecError(f"{base}.pool: only impute, screen, treat and normalize take a pool")
        for code, choice in s.by_indicator.items():
            if step not in INDICATOR_STEPS:
                raise SpecError(f"{base}.by_indicator: {step} is set per node or level (by_node, by_level)")
            if code not in nodes or not nodes[code].is_indicator:
                raise SpecError(f"{base}.by_indicator.{code}: no indicator with code {code!r}")
            check(reg, choice, f"steps.{step}.by_indicator.{code}")
        for code, choice in s.by_node.items():
            if step not in NODE_STEPS:
                raise SpecError(f"{base}.by_node: {step} is set per indicator (by_indicator)")
            if code not in nodes or nodes[code].is_indicator:
                raise SpecError(f"{base}.by_node.{code}: no aggregate node with code {code!r}")
            check(reg, choice, f"steps.{step}.by_node.{code}")
        levels = set(spec.levels[c] for c in spec.aggregates)
        for lvl, choice in s.by_level.items():
            if step not in NODE_STEPS:
                raise SpecError(f"{base}.by_level: {step} is set per indicator (by_indicator)")
            if lvl not in levels:
                raise SpecError(f"{base}.by_level.{lvl}: no aggregate at level {lvl}; levels are {sorted(levels)}")
            check(reg, choice, f"steps.{step}.by_level.{lvl}")


def step_choice(spec: Spec, step: str, code: str) -> tuple[StepChoice, str]:
    """The method choice that applies to indicator or node ``code`` in ``step``, and its path."""
    s: StepSpec = getattr(spec.steps, step)
    if code in s.by_indicator:
        return s.by_indicator[code], f"steps.{step}.by_indicator.{code}"
    if code in s.by_node:
        return s.by_node[code], f"steps.{step}.by_node.{code}"
    lvl = spec.levels.get(code)
    if lvl in s.by_level:
        return s.by_level[lvl], f"steps.{step}.by_level.{lvl}"
    return s, f"steps.{step}"


def write_spec_yaml(data: dict[str, Any], out: str | Path) -> Path:
    """Write spec data as YAML (nested tree), validated first."""
    spec = spec_from_dict(data, label=str(out))
    out = Path(out)
    out.write_text(spec_yaml_text(spec), encoding="utf-8")
    return out


def spec_yaml_text(spec: Spec) -> str:
    """The YAML of a spec without default-valued keys, so it reads like a hand-written one."""
    data = spec.model_dump(mode="json", exclude_defaults=True)

    def drop_parent(node: dict[str, Any]) -> None:  # implied by the nesting
        node.pop("parent", None)
        for child in node.get("children", ()):
            drop_parent(child)

    drop_parent(data["tree"])
    return write_yaml_text(data, allow_unicode=True, sort_keys=False)
