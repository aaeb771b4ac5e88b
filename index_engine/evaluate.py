"""One evaluator: the weights and aggregation of a tree, for one build or a batch of samples.

A build is one sample (S = 1); an uncertainty or sensitivity analysis passes thousands at once.
Both go through :meth:`Evaluator.evaluate`, so a sensitivity analysis' nominal is the build to
the last bit, and every rule lives here once:

* each aggregate's children's weights come from its weighting method (resolved once per spec
  when the method does not read the data, i.e. has no ``reads_data`` trait; from the children's
  scores otherwise), divided by their largest (:func:`scale_by_max`: the means are the same, and
  equal weights become exact 1s, so 100s average to exactly 100);
* a spec's ``segments`` give a segment's rows their own weight set: the node is computed over
  every row with the tree's weights, then each segment's rows are computed again with the
  segment's weights (a data-driven method reads only that segment's rows), as the spec says;
* a ``per_year`` method (Copeland) runs on one year's rows at a time; any other method (TOPSIS:
  pooled over every row given) on all rows at once;
* a value outside a mean's domain is a :class:`~index_engine.errors.BuildError` naming the node,
  the unit-years and, in an analysis, the sample.

How batches stay fast (each step is exact algebra or bookkeeping, never an approximation):

* a node whose children and weights no sample changes is computed once per spec and kept
  (:attr:`Prepared.fixed`);
* weight noise is a ``samples × children`` multiplier array;
* a subtree of quasi-arithmetic means with one φ (arithmetic, geometric, harmonic, power; see
  :class:`~index_engine.aggregate.QuasiArithmetic`) over complete children is one such mean of
  its leaves with effective weights, so a batch is one matrix product per spec (:class:`_Linear`;
  not used where segments give rows their own weights);
* anything else (missing children, data-driven weights, medians, TOPSIS ...) goes node by node
  through the registered aggregation functions with ``samples × rows × children`` arrays.

Ranks are :func:`index_engine.ranks.rank_desc`'s, for builds and batches alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ._checks import list_rows
from .aggregate import ROW_BLOCK, DomainError, QuasiArithmetic, quasi_arithmetic, quasi_mean_by_block, quasi_mean_by_child, row_max, row_sum
from .errors import BuildError, DataError, IndexEngineError
from .panel import Panel
from .ranks import year_groups
from .registry import Method
from .spec import Spec

EVAL_CELLS = 1 << 21
"""Samples × rows × children per evaluation batch (2²¹ cells, 16 MB as floats): a batch holds
``max(1, EVAL_CELLS // (rows · widest node))`` samples. Derived from the data and the tree, never
from the number of processes, so the same seed gives the same numbers whatever ``jobs`` is."""

_COPY_ROWS = 1 << 13
"""Rows per block where columns are copied side by side (a block of a few children fits in cache)."""

_SLICE_COLUMNS = 6
"""From this many neighbouring indicator columns, a block is copied from X in one go (numpy's own
transposing copy; for fewer, stacking a block of rows at a time is quicker)."""

Resolver = Callable[[Spec, str, str], tuple[Method, dict[str, Any], str]]
"""``resolve(spec, step, code) -> (method, params, spec path)`` (see :func:`index_engine.plan.resolve`)."""


def scale_by_max(W: np.ndarray) -> np.ndarray:
    """Weights (samples × children) divided by each sample's largest: the same means, and equal
    weights become exact 1s. A sample whose weights are all 0 (every child removed) keeps 0s,
    so its parent is missing."""
    if W.ndim == 1:  # one sample (a build): the same numbers, without the per-column loop
        top = W.max()
        return (W / top if top > 0 else W.copy())[None, :]
    m = row_max(W)
    if not (m > 0).all():
        m[m <= 0] = 1.0
    return W / m


# ---------------------------------------------------------------------------------------------
# the tree as the evaluator runs it
# ---------------------------------------------------------------------------------------------
@dataclass(eq=False)
class NodeModel:
    """One aggregate: its children, its aggregation and weighting methods, its nominal weights.

    ``segments`` maps each segment whose weight set names one of the children to the nominal
    weights it gives them (the tree's weight for a child it does not name).
    """

    code: str
    kids: tuple[str, ...]
    method: Method
    params: dict[str, Any]
    path: str
    weighting: Method
    wparams: dict[str, Any]
    wpath: str
    nominal: tuple[float, ...]
    segments: dict[str, tuple[float, ...]]
    source: str
    form: QuasiArithmetic | None = field(init=False)
    per_year: bool = field(init=False)
    rowwise: bool = field(init=False)
    reads_data: bool = field(init=False)
    _static: dict[str, tuple[pd.Series, dict[str, Any], np.ndarray]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.form = quasi_arithmetic(self.method, self.params)
        self.per_year = self.method.has("per_year")
        self.rowwise = self.method.has("rowwise")
        self.reads_data = self.weighting.has("reads_data")

    def nominal_weights(self, segment: str = "") -> pd.Series:
        """The spec's weights of the children: the tree's, or ``segment``'s weight set."""
        return pd.Series(self.segments[segment] if segment else self.nominal, index=list(self.kids), dtype=float)

    def weights(self, children: pd.DataFrame, segment: str = "") -> tuple[pd.Series, dict[str, Any]]:
        """The children's weights (summing to 1, in child order) and the method's diagnostics
        (CR, KMO, ...), from ``children`` (rows × children scores; ignored without ``reads_data``)
        and the nominal weights of ``segment`` ("" for the tree's)."""
        nominal = self.nominal_weights(segment)
        try:
            kids = children if list(children.columns) == list(nominal.index) else children[list(nominal.index)]
            raw = self.weighting.func(kids, nominal, **self.wparams)
        except IndexEngineError as exc:
            raise type(exc)(f"{self.source}: {self.wpath}: node {self.code}: {exc}") from None
        w = pd.Series(np.asarray(raw, dtype=float), index=nominal.index)
        if (w < 0).any() or not np.isclose(w.sum(), 1.0):
            raise BuildError(
                f"{self.source}: {self.wpath}: weights.{self.weighting.name} for {self.code} gave weights "
                "that are negative or do not sum to 1"
            )
        return w, dict(getattr(raw, "attrs", {}) or {})

    def static(self, segment: str = "") -> tuple[pd.Series, dict[str, Any]]:
        """The weights of a method without ``reads_data``, resolved once and kept."""
        return self._resolve_static(segment)[:2]

    def static_w(self, segment: str = "") -> np.ndarray:
        """:meth:`static`'s weights as an array in child order (the batches read it often)."""
        return self._resolve_static(segment)[2]

    def _resolve_static(self, segment: str) -> tuple[pd.Series, dict[str, Any], np.ndarray]:
        if segment not in self._static:
            w, diag = self.weights(pd.DataFrame(columns=list(self.kids)), segment)
            self._static[segment] = (w, diag, w.to_numpy())
        return self._static[segment]

    def weights_key(self) -> tuple:
        """What the node's data-free weights depend on (nodes with equal keys share them)."""
        return (self.source, self.wpath, self.code, self.kids, self.weighting.name, repr(sorted(self.wparams.items())),
                self.nominal, repr(sorted(self.segments.items())))

    def signature(self) -> list[Any]:
        """What the node's evaluation depends on, its data-free weights included."""
        w = None if self.reads_data else self.static_w().tolist()
        return [self.code, self.kids, self.method.name, self.params, self.weighting.name, self.wparams, w, self.segments]


@dataclass(eq=False)
class TreeModel:
    """A spec's aggregates (children before parents) as the evaluator runs them."""

    spec: Spec
    nodes: tuple[NodeModel, ...]

    @classmethod
    def of(cls, spec: Spec, resolve: Resolver, shared: dict[tuple, Any] | None = None) -> "TreeModel":
        """The tree of ``spec``, its methods found by ``resolve`` (the pipeline's).

        ``shared`` (a dict owned by the caller) lets the nodes of many specs share their
        data-free weights (see :meth:`NodeModel.weights_key`), so they are resolved once.
        """
        nodes = []
        weight_sets = spec.segments.weight_sets if spec.segments is not None else {}
        for code in spec.aggregates:
            children = spec.nodes[code].children
            kids = tuple(c.code for c in children)
            method, params, path = resolve(spec, "aggregate", code)
            weighting, wparams, wpath = resolve(spec, "weights", code)
            segments = {
                name: tuple(float(ws.get(c.code, c.weight)) for c in children)
                for name, ws in weight_sets.items()
                if any(k in ws for k in kids)
            }
            nominal = tuple(float(c.weight) for c in children)
            nd = NodeModel(code, kids, method, params, path, weighting, wparams, wpath, nominal, segments, spec.source)
            if shared is not None:
                nd._static = shared.setdefault(nd.weights_key(), nd._static)
            nodes.append(nd)
        return cls(spec, tuple(nodes))

    def signature(self) -> str:
        """Equal for specs whose trees evaluate alike (they can share one batch)."""
        column = self.spec.segments.column if self.spec.segments is not None else None
        return json.dumps([column, [nd.signature() for nd in self.nodes]], sort_keys=True, default=str)


def segment_rows(spec: Spec, panel: Panel, index: pd.Index) -> list[tuple[str, np.ndarray]]:
    """Positions in ``index`` of each segment that has its own weight set and rows in the data
    (spec ``segments``), in the order of ``segments.weight_sets``."""
    if spec.segments is None:
        return []
    col = spec.segments.column
    if col not in panel.attrs.columns:
        avail = ", ".join(repr(c) for c in panel.attrs.columns) or "none"
        raise DataError(f"{panel.file}: segments.column {col!r} is not a text column of the data (text columns: {avail})")
    seg = panel.attrs[col].reindex(index).to_numpy()
    out = []
    for name in spec.segments.weight_sets:
        rows = np.flatnonzero(seg == name)
        if rows.size:
            out.append((name, rows))
    return out


@dataclass(eq=False)
class Prepared:
    """One distinct spec on the evaluator's rows: its indicators' scores and its tree."""

    model: TreeModel
    X: np.ndarray  # rows × indicators
    column: dict[str, int]  # indicator -> column of X
    parts: list[tuple[str, np.ndarray]]  # segment -> its rows, for segments with their own weights
    label: str | None  # what gave this spec (a sensitivity sample's choices), for messages
    fixed: dict[str, np.ndarray] = field(default_factory=dict)  # node -> scores that no sample changes
    resolved: dict[tuple[str, str], tuple[pd.Series, dict[str, Any]]] = field(default_factory=dict)
    """(node, segment) -> data-driven weights and diagnostics over this spec's fixed children."""
    _clean: dict[tuple[str, bool], Any] = field(default_factory=dict)
    _leaves: dict[tuple[float, tuple[str, ...]], np.ndarray] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return self.model.spec.source

    def values(self, code: str) -> np.ndarray:
        """The scores (rows) of an indicator or of a node that no sample changes."""
        return self.X[:, self.column[code]] if code in self.column else self.fixed[code]

    def side_by_side(self, codes: Sequence[str], rows: slice = slice(None)) -> np.ndarray:
        """``rows`` × ``codes``: the columns of :meth:`values` side by side, row-major as a batch's are
        (the same layout gives the same rounding), always a copy. Copied a block of rows at a time, so the
        strided writes stay in cache (column by column over all rows is several times slower); many
        neighbouring columns of X, the indicators of a node, in one go."""
        at = [self.column.get(c, -1) for c in codes]
        if len(at) >= _SLICE_COLUMNS and at[0] >= 0 and at == list(range(at[0], at[0] + len(at))):
            return np.array(self.X[rows, at[0] : at[0] + len(at)], order="C")
        cols = [self.values(c)[rows] for c in codes]
        out = np.empty((len(cols[0]), len(cols)))
        for i in range(0, len(out), _COPY_ROWS):
            np.stack([col[i : i + _COPY_ROWS] for col in cols], axis=1, out=out[i : i + _COPY_ROWS])
        return out

    def clean(self, code: str, form: QuasiArithmetic) -> bool:
        """No value of ``code`` missing, nor outside the domain of ``form``'s φ, nor <= 0 when φ⁻¹
        is not sign safe (kept per spec)."""
        positive = form.positive_leaves
        if code in self.column:
            return bool(self.clean_indicators(positive)[self.column[code]])
        if (code, positive) not in self._clean:
            v = self.fixed[code]
            self._clean[code, positive] = not np.isnan(v).any() and not (positive and (v <= 0).any())
        return self._clean[code, positive]

    def note_clean(self, code: str, complete: bool, positive: bool) -> None:
        """Record what :meth:`clean` would find for a node's scores, from a check over many specs at once."""
        self._clean[code, False], self._clean[code, True] = complete, positive

    def clean_indicators(self, positive: bool) -> np.ndarray:
        """Per indicator: no value missing (nor <= 0 when ``positive``)."""
        if ("", positive) not in self._clean:
            ok = ~np.isnan(self.X).any(axis=0)
            self._clean["", positive] = ok & ~(self.X <= 0).any(axis=0) if positive else ok
        return self._clean["", positive]

    def leaf_matrix(self, form: QuasiArithmetic, leaves: tuple[str, ...]) -> np.ndarray:
        """rows × leaves: φ of the leaves' scores (kept per spec; X itself for φ(x) = x on all indicators)."""
        key = (form.p, leaves)
        if key not in self._leaves:
            if leaves == tuple(self.column):  # every indicator, in order: X itself
                self._leaves[key] = self.X if form.p == 1 else form.phi(self.X)
            else:
                self._leaves[key] = form.phi(np.column_stack([self.values(c) for c in leaves]))
        return self._leaves[key]


@dataclass
class _Linear:
    """Scores φ⁻¹(Σ_j E[s, j]·φ(x_j)) of a subtree of quasi-arithmetic means with one φ, kept unevaluated.

    A mean of such means with the same φ and complete children is again one: φ(parent) =
    Σ_c a_c·φ(child_c) with a = w / Σ w, so a whole subtree is one mean of its leaves (indicators,
    or nodes that no sample changes) with effective weights E, the products of the normalised
    weights down the tree. A batch is then one matrix product per spec, E (samples × leaves) @
    φ(leaves) (leaves × rows), as a linear index is. This is exact algebra, not an approximation:
    the scores differ from node-by-node evaluation by rounding only.
    """

    form: QuasiArithmetic
    A: np.ndarray  # samples × children: the node's own normalised weights
    E: np.ndarray  # samples × leaves: effective weights, each row summing to 1
    leaves: tuple[str, ...]

    @classmethod
    def of(
        cls, nd: NodeModel, kinds: list[str], lins: list["_Linear | None"], M: np.ndarray | None, S: int,
        leaf_ok: Callable[[str, QuasiArithmetic], bool],
    ) -> "_Linear | None":
        """The node as a linear form, or None when it is not one (or need not be: nothing varies by sample).

        Its children must be linear forms with the same φ, or ``"g"`` children (fixed per spec)
        that ``leaf_ok`` accepts: none missing (weights would renormalise row by row) and none
        outside φ's domain (the node's own function then raises the error, naming the sample).
        """
        form = nd.form
        if form is None or not nd.rowwise or nd.reads_data:
            return None
        if M is None and "lin" not in kinds:
            return None
        if "s" in kinds or any(lin is not None and lin.form.p != form.p for lin in lins):
            return None
        if not all(leaf_ok(c, form) for c, kind in zip(nd.kids, kinds) if kind == "g"):
            return None
        w = nd.static_w()
        Wraw = w[None, :] * M if M is not None else np.broadcast_to(w[None, :], (S, len(nd.kids)))
        total = row_sum(Wraw)
        if not (total > 0).all():
            return None
        A = Wraw / total
        if "lin" not in kinds:  # every child is a leaf
            return cls(form, A, A, tuple(nd.kids))
        E, leaves = [], []
        for c, (code, lin) in enumerate(zip(nd.kids, lins)):
            E.append(A[:, c : c + 1] if lin is None else lin.E * A[:, c : c + 1])
            leaves.extend((code,) if lin is None else lin.leaves)
        return cls(form, A, np.concatenate(E, axis=1), tuple(leaves))

    def scores(self, preps: list[Prepared], bounds: np.ndarray) -> np.ndarray:
        """samples × rows: one product per spec, then φ⁻¹."""
        out = np.empty((self.E.shape[0], preps[0].X.shape[0]))
        for g, p in enumerate(preps):
            out[bounds[g] : bounds[g + 1]] = self.E[bounds[g] : bounds[g + 1]] @ p.leaf_matrix(self.form, self.leaves).T
        return self.form.inverse(out)


# ---------------------------------------------------------------------------------------------
# the evaluator
# ---------------------------------------------------------------------------------------------
_ALL_ROWS: tuple[tuple[str, np.ndarray | None], ...] = (("", None),)
"""The parts of a node without segments: every row, with the tree's weights."""


class Evaluator:
    """Weights and aggregation of prepared specs over fixed rows (unit, year), for batches of samples."""

    def __init__(self, rows: pd.Index):
        self.rows = rows
        self.R = len(rows)

    @cached_property
    def year_groups(self) -> list[np.ndarray]:
        """Positions of each year's rows (:func:`~index_engine.ranks.year_groups`), for the methods that run
        year by year and the ranks of a batch; made when first asked for."""
        return year_groups(self.rows)

    def prepare(
        self, model: TreeModel, X: np.ndarray, parts: list[tuple[str, np.ndarray]], label: str | None = None
    ) -> Prepared:
        """A spec to evaluate: ``X`` holds its indicators' scores (rows × ``model.spec.indicators``)."""
        return Prepared(model, X, {c: j for j, c in enumerate(model.spec.indicators)}, parts, label)

    def chunk(self, model: TreeModel) -> int:
        """Samples per batch: ``EVAL_CELLS // (rows · widest node)``, at least 1."""
        widest = max(len(nd.kids) for nd in model.nodes)
        return max(1, EVAL_CELLS // (self.R * widest))

    # ---- one batch -----------------------------------------------------------------------
    def evaluate(
        self,
        members: list[tuple[Prepared, int]],
        mult: Mapping[str, np.ndarray],
        target: str,
        record: Iterable[str] = (),
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Scores of node ``target`` (samples × rows) for a batch.

        ``members`` lists the distinct specs of the batch (sharing one
        :meth:`TreeModel.signature`) with their sample counts, in order; ``mult`` gives, per
        aggregate, weight multipliers (samples × children). ``record`` names the aggregates
        whose realised weights (the tree's, renormalised to sum 1) are returned.

        Each node's scores are one of: the same for every sample of a spec (``"g"``: computed
        once per spec and kept in :attr:`Prepared.fixed`), a :class:`_Linear` form, or samples ×
        rows (``"s"``). With one spec and no multipliers every node is ``"g"``: a build.
        """
        G = len(members)
        counts = np.array([c for _, c in members])
        S = int(counts.sum())
        bounds = np.concatenate([[0], np.cumsum(counts)])
        gid = np.repeat(np.arange(G), counts)
        preps = [p for p, _ in members]
        kinds: dict[str, str] = {}  # indicators are "g"
        per_sample: dict[str, np.ndarray] = {}
        lins: dict[str, _Linear] = {}
        stacked: dict[str, np.ndarray] = {}
        linear = not preps[0].parts  # segments give rows their own weights: node by node

        leaf_checked: dict[tuple[str, bool], bool] = {}
        indicators_ok: dict[bool, np.ndarray] = {}

        def leaf_ok(code: str, form: QuasiArithmetic) -> bool:
            """A "g" child can be a leaf of a linear form: no value missing or outside φ's domain.

            (Expanding a "g" node into its own children instead would save computing it once per
            spec but make every sample's product longer: dearer once a spec has a few samples.)
            """
            positive = form.positive_leaves
            if (code, positive) not in leaf_checked:
                if code in preps[0].column:
                    if positive not in indicators_ok:  # every indicator, every spec, at once
                        indicators_ok[positive] = np.logical_and.reduce([p.clean_indicators(positive) for p in preps])
                    leaf_checked[code, positive] = bool(indicators_ok[positive][preps[0].column[code]])
                else:
                    leaf_checked[code, positive] = all(p.clean(code, form) for p in preps)
            return leaf_checked[code, positive]

        def indicators() -> np.ndarray:
            """specs × rows × indicators, every spec's X (a view for one spec)."""
            if "" not in stacked:
                stacked[""] = preps[0].X[None] if G == 1 else np.stack([p.X for p in preps])
            return stacked[""]

        def fixed(code: str) -> np.ndarray:
            """specs × rows for a "g" node or indicator."""
            if code in preps[0].column:
                return indicators()[:, :, preps[0].column[code]]
            if code not in stacked:
                stacked[code] = preps[0].fixed[code][None] if G == 1 else np.stack([p.fixed[code] for p in preps])
            return stacked[code]

        def children(codes: Sequence[str], todo: list[int] | None = None) -> np.ndarray:
            """specs × rows × children of "g" children (of the specs ``todo``, default all), as
            np.column_stack lays out each spec's block."""
            column = preps[0].column
            if G == 1:  # one spec (a build)
                return preps[0].side_by_side(codes)[None]
            if all(c in column for c in codes):
                X3 = indicators() if todo is None or len(todo) == G else indicators()[todo]
                return np.ascontiguousarray(X3[:, :, [column[c] for c in codes]])
            return np.stack([fixed(c) if todo is None else fixed(c)[todo] for c in codes], axis=-1)

        def samples(code: str) -> np.ndarray:
            """samples × rows for an "s" or "lin" node."""
            if code not in per_sample:
                per_sample[code] = lins.pop(code).scores(preps, bounds)
                kinds[code] = "s"
            return per_sample[code]

        record = set(record)
        realised: dict[str, np.ndarray] = {}
        for ni, nd0 in enumerate(preps[0].model.nodes):
            M = mult.get(nd0.code)
            kid_kinds = [kinds.get(c, "g") for c in nd0.kids]
            if M is None and set(kid_kinds) == {"g"}:
                # children and weights fixed within each spec: one row of scores per spec, kept
                todo = [g for g, p in enumerate(preps) if nd0.code not in p.fixed]
                if todo:
                    if G == 1 and self._by_blocks(preps[0], nd0):
                        Y = self._fixed_by_blocks(preps[0], ni)[None]
                    else:
                        Y = self._fixed_scores([preps[g] for g in todo], ni, children(nd0.kids, todo))
                    complete, positive = ~np.isnan(Y).any(axis=1), ~(Y <= 0).any(axis=1)
                    for i, g in enumerate(todo):
                        preps[g].fixed[nd0.code] = Y[i]
                        preps[g].note_clean(nd0.code, bool(complete[i]), bool(complete[i] and positive[i]))
                if nd0.code in record:
                    Xg = children(nd0.kids)
                    raw = np.stack([self._spec_weights(p, ni, Xg[g]) for g, p in enumerate(preps)])
                    realised[nd0.code] = (raw / row_sum(raw))[gid]
                continue
            lin = _Linear.of(nd0, kid_kinds, [lins.get(c) for c in nd0.kids], M, S, leaf_ok) if linear else None
            if lin is not None:  # one quasi-arithmetic mean of the leaves below, evaluated only when needed
                kinds[nd0.code] = "lin"
                lins[nd0.code] = lin
                if nd0.code in record:
                    realised[nd0.code] = lin.A
                continue
            kinds[nd0.code] = "s"
            if set(kid_kinds) == {"g"}:
                y, Wraw = self._over_fixed_children(preps, ni, children(nd0.kids), M, bounds, gid)
            else:
                kids = [fixed(c)[gid] if kind == "g" else samples(c) for c, kind in zip(nd0.kids, kid_kinds)]
                y, Wraw = self._over_sample_children(preps, ni, kids, M, gid)
            per_sample[nd0.code] = y
            if nd0.code in record:
                realised[nd0.code] = Wraw / row_sum(Wraw)
        if kinds.get(target, "g") == "g":
            return fixed(target)[gid], realised
        out = samples(target)
        if mult:  # a sample at its spec's nominal weights is that spec's build, to the last bit
            nominal = np.logical_and.reduce([row_max(np.abs(m - 1.0))[:, 0] == 0 for m in mult.values()])
            for g in np.unique(gid[nominal]):
                out[(gid == g) & nominal] = self.evaluate([(preps[g], 1)], {}, target)[0][0]
        return out, realised

    # ---- one node ------------------------------------------------------------------------
    @staticmethod
    def _parts(p: Prepared, nd: NodeModel) -> Sequence[tuple[str, np.ndarray | None]]:
        """Every row with the tree's weights (""), then each segment's rows with its own."""
        own = [(name, rows) for name, rows in p.parts if name in nd.segments] if p.parts else None
        return (("", None), *own) if own else _ALL_ROWS

    def _frame(self, X: np.ndarray, nd: NodeModel, rows: np.ndarray | None) -> pd.DataFrame:
        return pd.DataFrame(X, index=self.rows if rows is None else self.rows[rows], columns=list(nd.kids))

    def _spec_weights(self, p: Prepared, ni: int, X: np.ndarray, segment: str = "", rows: np.ndarray | None = None) -> np.ndarray:
        """The weights of node ``ni`` of one spec whose children (``X``: its rows × children) no
        sample changes: resolved once per spec and kept with their diagnostics."""
        nd = p.model.nodes[ni]
        if not nd.reads_data:
            return nd.static_w(segment)
        key = (nd.code, segment)
        if key not in p.resolved:
            p.resolved[key] = nd.weights(self._frame(X, nd, rows), segment)
        return p.resolved[key][0].to_numpy()

    def _by_blocks(self, p: Prepared, nd: NodeModel) -> bool:
        """A build's node that can go a block of rows at a time: more rows than a block, a ``rowwise``
        method, weights that do not read the data, no segment weights."""
        return (self.R > ROW_BLOCK and nd.rowwise and not nd.per_year and not nd.reads_data
                and self._parts(p, nd) is _ALL_ROWS)

    def _fixed_by_blocks(self, p: Prepared, ni: int) -> np.ndarray:
        """Scores (rows) of node ``ni`` of one spec, :data:`~index_engine.aggregate.ROW_BLOCK` rows at a
        time (the blocks the sum works in), so its children are never all copied side by side at once."""
        nd = p.model.nodes[ni]
        w = scale_by_max(nd.static_w())
        y = np.empty(self.R)
        for i in range(0, self.R, ROW_BLOCK):
            rows = slice(i, min(i + ROW_BLOCK, self.R))
            y[rows] = self._call([p], ni, p.side_by_side(nd.kids, rows), w, 0, np.arange(rows.start, rows.stop))[0]
        return y

    def _fixed_scores(self, preps: list[Prepared], ni: int, Xg: np.ndarray) -> np.ndarray:
        """Scores (specs × rows) of node ``ni`` whose children and weights no sample changes."""
        nd0 = preps[0].model.nodes[ni]
        G, R, k = Xg.shape
        if not nd0.reads_data and (G == 1 or nd0.rowwise) and self._parts(preps[0], nd0) is _ALL_ROWS:
            # every spec's rows stacked into one call (a rowwise method treats rows one by one)
            w = scale_by_max(nd0.static_w())
            return self._call(preps, ni, Xg.reshape(G * R, k), w, None if G > 1 else 0).reshape(G, R)
        y = np.empty((G, R))
        for g, p in enumerate(preps):
            for segment, rows in self._parts(p, nd0):
                Xp = Xg[g] if rows is None else Xg[g][rows]
                w = scale_by_max(self._spec_weights(p, ni, Xp, segment, rows))
                if rows is None:
                    y[g] = self._call(preps, ni, Xp, w, g)[0]
                else:
                    y[g, rows] = self._call(preps, ni, Xp, w, g, rows)[0]
        return y

    def _over_fixed_children(
        self, preps: list[Prepared], ni: int, Xg: np.ndarray, M: np.ndarray, bounds: np.ndarray, gid: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Children fixed within each spec (``Xg``: specs × rows × children), weights per sample:
        one matrix product per spec. Returns the scores and the tree's raw weights per sample."""
        nd0 = preps[0].model.nodes[ni]
        S = len(gid)
        y = W0 = None
        for segment, rows in self._parts(preps[0], nd0):
            Xp = Xg if rows is None else Xg[:, rows, :]
            if nd0.reads_data:
                Wraw = M * np.stack([self._spec_weights(p, ni, Xp[g], segment, rows) for g, p in enumerate(preps)])[gid]
            else:
                Wraw = nd0.static_w(segment)[None, :] * M
            Wn = scale_by_max(Wraw)
            yp = self._quasi(nd0, quasi_mean_by_block, Xp, Wn, bounds)
            if yp is None:  # not a quasi-arithmetic mean, or a value outside its domain: the node's own function
                yp = np.empty((S, Xp.shape[1]))
                for g in range(len(preps)):
                    sl = slice(bounds[g], bounds[g + 1])
                    yp[sl] = self._call(preps, ni, Xp[g], Wn[sl], g, rows)
            if rows is None:
                y, W0 = yp, Wraw
            else:
                y[:, rows] = yp
        return y, W0

    def _over_sample_children(
        self, preps: list[Prepared], ni: int, kids: list[np.ndarray], M: np.ndarray | None, gid: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Children that vary by sample (each samples × rows). Returns the scores and the tree's
        raw weights per sample."""
        nd0 = preps[0].model.nodes[ni]
        S, k = len(gid), len(nd0.kids)
        y = W0 = None
        for segment, rows in self._parts(preps[0], nd0):
            kp = kids if rows is None else [x[:, rows] for x in kids]
            X = None
            if nd0.reads_data:
                X = np.stack(kp, axis=-1)
                Wraw = np.stack([
                    preps[gid[s]].model.nodes[ni].weights(self._frame(X[s], nd0, rows), segment)[0].to_numpy()
                    for s in range(S)
                ])
            else:  # the same in every spec of the batch (same signature)
                Wraw = np.broadcast_to(nd0.static_w(segment)[None, :], (S, k))
            if M is not None:
                Wraw = Wraw * M
            Wn = scale_by_max(Wraw)
            yp = self._quasi(nd0, quasi_mean_by_child, kp, Wn)
            if yp is None:
                yp = self._call(preps, ni, np.stack(kp, axis=-1) if X is None else X, Wn, gid, rows)
            if rows is None:
                y, W0 = yp, Wraw
            else:
                y[:, rows] = yp
        return y, W0

    @staticmethod
    def _quasi(nd: NodeModel, how: Any, *args: Any) -> np.ndarray | None:
        """A quasi-arithmetic node by ``quasi_mean_by_block`` or ``quasi_mean_by_child``; None when the
        node is another kind of mean or a value is outside its domain (its own function then runs,
        and its error names the sample)."""
        if nd.form is None or not nd.rowwise:
            return None
        try:
            return how(nd.form, *args, min_coverage=nd.params.get("min_coverage", 0.0))
        except DomainError:
            return None

    def _call(
        self, preps: list[Prepared], ni: int, X: np.ndarray, W: np.ndarray, owner: Any, rows: np.ndarray | None = None
    ) -> np.ndarray:
        """The node's aggregation function over a batch (samples × the rows of ``X``).

        ``rows`` are the positions of ``X``'s rows (default: every row). ``owner`` says whose
        rows these are, for error messages: the position of the one spec, an array mapping each
        row of ``W`` to its spec, or ``None`` for a 2-D ``X`` holding the rows of several specs
        stacked (a row's spec is then row // R).
        """
        nd = preps[0].model.nodes[ni]
        R = self.R
        try:
            return nd.method.func(X, W, **nd.params) if not nd.per_year else self._apply(nd, X, W, rows)
        except DomainError as exc:
            if owner is None:  # stacked rows: the spec of the first offending row
                g, bad = int(exc.rows[0]) // R, exc.rows[exc.rows // R == exc.rows[0] // R] % R
            elif isinstance(owner, (int, np.integer)):  # one spec
                g, bad = int(owner), exc.rows
            else:  # find the spec that fails
                g, bad = None, exc.rows
                for cand in np.unique(owner):
                    sel = owner == cand
                    try:
                        self._apply(nd, X if X.ndim == 2 else X[sel], W[sel], rows)
                    except DomainError as exc_g:
                        g, bad = int(cand), exc_g.rows
                        break
            if rows is not None:
                bad = rows[bad]
            label = preps[g].label if g is not None else None
            where = f" (sensitivity sample with {label})" if label else ""
            src = preps[g].source if g is not None else preps[0].source
            raise BuildError(f"{src}: {nd.path}: node {nd.code}: {exc} — for {list_rows(list(self.rows[bad]))}{where}") from None

    def _apply(self, nd: NodeModel, X: np.ndarray, W: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        """``nd``'s function on ``X`` (a ``per_year`` method one year at a time); a DomainError's
        rows are positions in ``X``."""
        if not nd.per_year:
            return nd.method.func(X, W, **nd.params)
        groups = self.year_groups if rows is None else year_groups(self.rows[rows])
        y = np.full((W.shape[0], X.shape[-2]), np.nan)
        for sel in groups:
            try:
                y[:, sel] = nd.method.func(X[..., sel, :], W, **nd.params)
            except DomainError as exc:
                raise DomainError(str(exc), sel[exc.rows]) from None
        return y


# ---------------------------------------------------------------------------------------------
# a build
# ---------------------------------------------------------------------------------------------
@dataclass
class Aggregation:
    """What a build's aggregation computed: every aggregate's scores and its children's weights."""

    scores: dict[str, np.ndarray]  # aggregate -> rows, lowest level first
    weights: dict[str, pd.Series]  # aggregate -> its children's weights (summing to 1)
    diagnostics: dict[str, dict[str, Any]]  # aggregate -> its weighting method's diagnostics
    segment_weights: dict[str, dict[str, pd.Series]]  # segment -> aggregate -> weights, where its set applies


def aggregate_build(model: TreeModel, normalized: pd.DataFrame, parts: list[tuple[str, np.ndarray]]) -> Aggregation:
    """A build's weights and aggregate scores: one sample of :meth:`Evaluator.evaluate`.

    ``normalized`` has rows (unit, year) and the spec's indicators as columns; ``parts`` are the
    rows of each segment with its own weight set (:func:`segment_rows`).
    """
    ev = Evaluator(normalized.index)
    inds = list(model.spec.indicators)
    X = (normalized if list(normalized.columns) == inds else normalized[inds]).to_numpy(dtype=float)  # a view when it can
    p = ev.prepare(model, X, parts)
    ev.evaluate([(p, 1)], {}, model.spec.tree.code)
    weights, diagnostics = {}, {}
    segment_weights: dict[str, dict[str, pd.Series]] = {name: {} for name, _ in parts}
    for nd in model.nodes:
        for segment, _ in Evaluator._parts(p, nd):
            w, diag = p.resolved[nd.code, segment] if nd.reads_data else nd.static(segment)
            if segment:
                segment_weights[segment][nd.code] = w
            else:
                weights[nd.code], diagnostics[nd.code] = w, diag
    return Aggregation({nd.code: p.fixed[nd.code] for nd in model.nodes}, weights, diagnostics, segment_weights)
