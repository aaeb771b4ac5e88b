"""Running an analysis: the distinct specs of a design, their batches through the evaluator,
ranks written into design order, and the analyses built on that (uncertainty, Sobol, remove-one)."""

from __future__ import annotations

import sys
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from .. import __version__
from .._checks import list_rows
from ..errors import BuildError, DataError, SpecError
from ..evaluate import Evaluator, Prepared, segment_rows
from ..panel import Panel
from ..pipeline import build, stage_keys, tree_model, upstream
from ..ranks import rank_desc
from ..result import Build
from ..spec import Spec
from .design import monte_carlo_design, saltelli_design, sobol_indices
from .factors import Choice, _cell, _cell_text, _columns, _Plan, _plan
from .result import SensitivityResult

class _Engine:
    """An analysis' distinct specs on the nominal build's rows, evaluated by one :class:`Evaluator`.

    Rows are the nominal build's before screening (a row a spec screens out is missing there);
    each distinct spec's upstream tables come from :func:`index_engine.pipeline.upstream` with
    one shared cache.
    """

    def __init__(
        self, spec: Spec, panel: Panel, plan: _Plan | None, node: str | None, cache: dict | None,
        nominal: Build | None = None,
    ):
        self.spec, self.panel, self.plan = spec, panel, plan
        self.node = node or spec.tree.code
        if self.node not in spec.nodes:
            raise SpecError(f"{spec.source}: no node {self.node!r} in the tree")
        self.cache = {} if cache is None else cache
        self.warnings: dict[str, None] = {}
        self.normalized: dict[str, tuple[pd.DataFrame, list[str]]] = {}
        self.prepared: dict[str, Prepared] = {}
        self.spec_of: dict[tuple, Spec] = {}
        self.node_weights: dict[tuple, Any] = {}  # data-free weights shared by the specs' alike nodes
        self._hash: dict[int, tuple[Spec, str]] = {}
        self._stage_keys: dict[str, dict[str, str]] = {}
        panel.check_against(spec)
        stages = upstream(spec, panel, self.cache)
        self.master = stages["impute"].table.index
        self.R = len(self.master)
        self.ev = Evaluator(self.master)
        self.chunk = self.ev.chunk(tree_model(spec))
        self.year_groups = self.ev.year_groups
        self.indicators = list(spec.indicators)
        self.held = self._withheld(nominal)

    def _withheld(self, nominal: Build | None = None) -> np.ndarray | None:
        """Where the nominal build (``nominal``, else made here) withholds the analysed node's score (its
        coverage below the spec's ``publish:`` threshold), over the rows; None where it withholds none. Those
        scores are withheld in every build of the analysis too, so that no build ranks a score the nominal
        build does not publish (the publication rule reads the spec's nominal weights and the data, which
        the analysis keeps)."""
        if self.spec.publish is None or self.node not in self.spec.aggregates:
            return None
        if nominal is None:
            with warnings.catch_warnings():  # the nominal build has said them already
                warnings.simplefilter("ignore")
                nominal = build(self.spec, self.panel, cache=self.cache)
        held = nominal.withheld
        if held is None or self.node not in held.columns:
            return None
        mask = held[self.node].reindex(self.master, fill_value=False).to_numpy(dtype=bool)
        return mask if mask.any() else None

    def withhold(self, y: np.ndarray) -> np.ndarray:
        """``y`` (builds × rows) with the scores the nominal build withholds made missing, in place."""
        if self.held is not None:
            y[:, self.held] = np.nan
        return y

    # ---- distinct specs ----------------------------------------------------------------
    def key(self, spec_g: Spec) -> str:
        """The spec's hash (cached: a spec is hashed once per analysis)."""
        k = self._hash.get(id(spec_g))
        if k is None or k[0] is not spec_g:
            k = self._hash[id(spec_g)] = (spec_g, spec_g.hash())
        return k[1]

    def stage_key(self, spec_g: Spec, stage: str) -> str:
        key = self.key(spec_g)
        if key not in self._stage_keys:
            self._stage_keys[key] = stage_keys(spec_g)
        return self._stage_keys[key][stage]

    def spec_for(self, combo: tuple[int, ...]) -> Spec:
        if combo not in self.spec_of:
            changes: dict[str, Any] = {}
            for key, i in zip(self.plan.choice_keys, combo):
                changes.update(self.plan.factors[key].changes(int(i)))
            self.spec_of[combo] = self.spec.replace_many(changes, origin="uncertainty") if changes else self.spec
        return self.spec_of[combo]

    def label(self, combo: tuple[int, ...] | None) -> str:
        if not combo:
            return "the nominal spec"
        return ", ".join(
            f"{k}={_cell_text(self.plan.factors[k].values[int(i)])}" for k, i in zip(self.plan.choice_keys, combo)
        )

    def normalized_table(self, spec_g: Spec) -> pd.DataFrame:
        nkey = self.stage_key(spec_g, "normalize")
        if nkey not in self.normalized:
            stages = upstream(spec_g, self.panel, self.cache)
            msgs = [f"{w.category.__name__}: {w.message}" for res in stages.values() for w in res.warnings]
            self.normalized[nkey] = (stages["normalize"].table, msgs)
        table, msgs = self.normalized[nkey]
        for m in msgs:
            self.warnings.setdefault(m)
        return table

    def prepare(self, spec_g: Spec, combo: tuple[int, ...] | None = None) -> Prepared:
        key = self.key(spec_g)
        if key in self.prepared:
            return self.prepared[key]
        label = self.label(combo)
        table = self.normalized_table(spec_g)
        pos = self.master.get_indexer(table.index)
        if (pos < 0).any():
            extra = list(table.index[pos < 0])
            raise BuildError(f"{spec_g.source}: with {label}, the build has rows the nominal build lacks: {list_rows(extra)}")
        X = np.full((len(self.master), len(self.indicators)), np.nan)
        X[pos] = table[self.indicators].to_numpy(dtype=float)
        model = tree_model(spec_g, self.node_weights)
        p = self.ev.prepare(model, X, segment_rows(spec_g, self.panel, self.master), label)
        self.prepared[key] = p
        return p

    def evaluate(
        self, members: list[tuple[Prepared, int]], mult: dict[str, np.ndarray], record: Iterable[str] = ()
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Scores of the analysed node (samples × rows) for a batch (see :meth:`Evaluator.evaluate`)."""
        return self.ev.evaluate(members, mult, self.node, record)


_WORKER: dict[str, Any] = {}


def _init_worker(state: dict[str, Any]) -> None:
    _WORKER.clear()
    _WORKER.update(state)


def _upstream_job(specs: list[Spec]) -> list[tuple[str, pd.DataFrame, list[str]]]:
    out = []
    for s in specs:
        stages = upstream(s, _WORKER["panel"], _WORKER["cache"])
        msgs = [f"{w.category.__name__}: {w.message}" for res in stages.values() for w in res.warnings]
        out.append((stage_keys(s)["normalize"], stages["normalize"].table, msgs))
    return out


def _upstream_remote(panel: Panel, specs: list[Spec]) -> list[tuple[str, pd.DataFrame, list[str]]]:
    """A bundle of upstream builds as one Dask task (its own cache, shared within the bundle)."""
    _init_worker({"panel": panel, "cache": {}})
    return _upstream_job(specs)


def _pool(jobs: int, state: dict[str, Any]):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context(method), initializer=_init_worker, initargs=(state,))


def _progress(total: int, progress: bool | None, desc: str):
    """A tqdm bar on stderr, or None. By default (``progress=None``) only when stderr is a
    terminal: never in a pipe, a log file or a notebook's captured stream."""
    if progress is None:
        isatty = getattr(sys.stderr, "isatty", None)
        try:
            progress = bool(isatty()) if isatty is not None else False
        except (OSError, ValueError):  # a closed or detached stream
            progress = False
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="build", file=sys.stderr, mininterval=0.2, dynamic_ncols=True)


@dataclass
class _Design:
    """What each build of a run changes: its choices and its weight multipliers."""

    combos: np.ndarray  # builds × choice factors: the alternative of each
    multipliers: Callable[[np.ndarray], dict[str, np.ndarray]]  # build numbers -> parent -> builds × children

    @property
    def n(self) -> int:
        return self.combos.shape[0]

    @classmethod
    def of_uniforms(cls, plan: _Plan, spec: Spec, U: np.ndarray) -> "_Design":
        """A design of uniforms in [0, 1) (builds × plan columns, see :func:`evaluate_design`)."""
        return cls(plan.decode(U), lambda rows: _noise_multipliers(plan, spec, U[rows]))


@dataclass
class _Sim:
    scores: np.ndarray  # samples × master rows
    ranks: np.ndarray
    realised: dict[str, np.ndarray]  # parent -> samples × children
    combos: np.ndarray
    keys: list[str]  # distinct spec key of each sample
    distinct_specs: int
    upstream_builds: int
    timings: dict[str, float]


def _simulate(eng: _Engine, design: _Design, *, jobs: int, bar: Any, client: Any = None) -> _Sim:
    """Every build of ``design``: the distinct specs' upstream tables, then fixed chunks of builds
    through the evaluator, each chunk ranked and written into design order."""
    t0 = time.perf_counter()
    plan = eng.plan
    n = design.n
    combos = design.combos
    if combos.shape[1]:
        # one integer per combination (mixed radix), so np.unique works on a flat array
        radix = np.array([len(plan.factors[k].values) for k in plan.choice_keys], dtype=np.int64)
        place = np.concatenate([np.cumprod(radix[::-1])[::-1][1:], [1]])
        codes, inv = np.unique(combos @ place, return_inverse=True)
        uniq = (codes[:, None] // place[None, :]) % radix[None, :]
        inv = np.asarray(inv).reshape(-1)
    else:
        uniq, inv = np.zeros((1, 0), dtype=np.int64), np.zeros(n, dtype=np.int64)
    combo_t = [tuple(int(v) for v in c) for c in uniq]
    specs = [eng.spec_for(c) for c in combo_t]
    ukeys = [eng.key(s) for s in specs]
    # phase 1: the upstream tables of each distinct spec (in a process pool for jobs > 1)
    first_spec: dict[str, tuple[Spec, tuple]] = {}
    for s, c, k in zip(specs, combo_t, ukeys):
        first_spec.setdefault(k, (s, c))
    todo: dict[str, Spec] = {}
    for k, (s, _) in first_spec.items():
        nk = eng.stage_key(s, "normalize")
        if nk not in eng.normalized:
            todo.setdefault(nk, s)
    done = 0

    def note(count: int) -> None:
        if bar is not None and todo:
            bar.set_postfix_str(f"upstream builds {min(count, len(todo))}/{len(todo)}", refresh=True)

    if (jobs > 1 or client is not None) and len(todo) > 1:
        by_treat: dict[str, list[Spec]] = defaultdict(list)
        for s in todo.values():
            by_treat[eng.stage_key(s, "treat")].append(s)
        width = len(by_treat) if client is not None else min(jobs, len(by_treat))
        bundles: list[list[Spec]] = [[] for _ in range(width)]
        load = [0.0] * len(bundles)
        for _, ss in sorted(by_treat.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            i = int(np.argmin(load))
            bundles[i].extend(ss)
            load[i] += 1.5 + len(ss)
        note(0)
        if client is not None:  # Dask: one task per bundle of upstream builds that share a treated table
            panel_f = client.scatter(eng.panel, broadcast=True)
            results = client.gather(client.map(_upstream_remote, [panel_f] * len(bundles), bundles, pure=False))
        else:
            with _pool(len(bundles), {"panel": eng.panel, "cache": eng.cache}) as ex:
                results = []
                for res in ex.map(_upstream_job, bundles):
                    results.append(res)
                    done += len(res)
                    note(done)
        for res in results:
            for nk, table, msgs in res:
                eng.normalized[nk] = (table, msgs)
    prepared = {}
    for k, (s, c) in first_spec.items():
        fresh = eng.stage_key(s, "normalize") not in eng.normalized
        prepared[k] = eng.prepare(s, c)
        if fresh:
            done += 1
            note(done)
    # phase 2: fixed chunks of samples, batched by the node models they share
    keys = sorted(prepared)
    signature = {k: prepared[k].model.signature() for k in keys}
    sigs = sorted(set(signature.values()), key=lambda s: min(k for k in keys if signature[k] == s))
    sig_rank = {s: i for i, s in enumerate(sigs)}
    key_rank = {k: i for i, k in enumerate(keys)}
    combo_key = np.array([key_rank[k] for k in ukeys])  # distinct combo -> distinct spec
    sample_key = combo_key[inv]
    key_sig = np.array([sig_rank[signature[k]] for k in keys])
    # samples ordered by (signature, spec, sample number): each chunk is contiguous in both
    order_all = np.lexsort((np.arange(n), sample_key, key_sig[sample_key]))
    sig_of = key_sig[sample_key[order_all]]
    t1 = time.perf_counter()
    if bar is not None and todo:
        bar.set_postfix_str("", refresh=False)
    # work in that order (contiguous chunks); each chunk is ranked while it is in cache and
    # written straight to its samples' places in design order
    key_sorted = sample_key[order_all]
    starts = np.flatnonzero(np.r_[True, key_sorted[1:] != key_sorted[:-1]])  # first sample of each spec
    scores = np.empty((n, eng.R))
    ranks = np.empty((n, eng.R))
    realised = {p: np.empty((n, len(eng.spec.nodes[p].children))) for p in plan.noise_parents}
    sig_bounds = np.searchsorted(sig_of, np.arange(len(sigs) + 1))
    for si in range(len(sigs)):
        for start in range(sig_bounds[si], sig_bounds[si + 1], eng.chunk):
            stop = min(start + eng.chunk, sig_bounds[si + 1])
            cuts = np.r_[start, starts[(starts > start) & (starts < stop)], stop]
            members = [(prepared[keys[key_sorted[a]]], int(b - a)) for a, b in zip(cuts[:-1], cuts[1:])]
            where = order_all[start:stop]
            mult = design.multipliers(where)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                y, rec = eng.evaluate(members, mult, record=plan.noise_parents)
            for w in caught:
                eng.warnings.setdefault(f"{w.category.__name__}: {w.message}")
            scores[where] = eng.withhold(y)
            rank_desc(y, eng.year_groups, ranks, where)
            for p, arr in rec.items():
                realised[p][where] = arr
            if bar is not None:
                bar.update(stop - start)
    t2 = time.perf_counter()
    upstream_builds = len({eng.stage_key(p.model.spec, "normalize") for p in prepared.values()})
    return _Sim(
        scores, ranks, realised, combos, [keys[i] for i in sample_key], len(prepared), upstream_builds,
        {"prepare_s": round(t1 - t0, 6), "evaluate_s": round(t2 - t1, 6)},
    )


def _noise_multipliers(plan: _Plan, spec: Spec, U: np.ndarray) -> dict[str, np.ndarray]:
    mult: dict[str, np.ndarray] = {}
    for _, parent, _, pos, col, f in plan.noise:
        M = mult.get(parent)
        if M is None:
            M = mult[parent] = np.ones((U.shape[0], len(spec.nodes[parent].children)))
        M[:, pos] = 1.0 + (2.0 * U[:, col] - 1.0) * f
    return mult


@dataclass
class _Run:
    """One run of a design: the engine, the nominal scores and ranks, every build's, and timings."""

    eng: _Engine
    s0: np.ndarray
    r0: np.ndarray
    sim: _Sim
    t0: float

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        return _frames(self.eng, self.sim.scores, self.sim.ranks)

    def nominal(self) -> pd.DataFrame:
        return _nominal_frame(self.eng, self.s0, self.r0)

    def manifest(self, mode: str, **extra: Any) -> dict[str, Any]:
        sim = self.sim
        counts = {"distinct_specs": sim.distinct_specs, "upstream_builds": sim.upstream_builds, "chunk": self.eng.chunk}
        timings = {**sim.timings, "total_s": round(time.perf_counter() - self.t0, 6)}
        return _manifest(mode, self.eng.spec, self.eng.panel, self.eng, **extra, **counts, timings_s=timings)


def _run(
    spec: Spec, panel: Panel, plan: _Plan, design: Callable[[_Engine, np.ndarray], _Design], *, desc: str,
    jobs: int = 1, node: str | None = None, cache: dict | None = None, progress: bool | None = None, client: Any = None,
    nominal: Build | None = None,
) -> _Run:
    """The one runner: the nominal build and every build of ``design(engine, nominal ranks)``."""
    t0 = time.perf_counter()
    eng = _Engine(spec, panel, plan, node, cache, nominal)
    p = eng.prepare(spec)
    y = eng.withhold(eng.evaluate([(p, 1)], {})[0])
    s0, r0 = y[0], rank_desc(y, eng.year_groups)[0]
    d = design(eng, r0)
    bar = _progress(d.n, progress, desc)
    try:
        sim = _simulate(eng, d, jobs=jobs, bar=bar, client=client)
    finally:
        if bar is not None:
            bar.close()
    return _Run(eng, s0, r0, sim, t0)


def _frames(eng: _Engine, scores: np.ndarray, ranks: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    cols = eng.master
    s = pd.DataFrame(scores, columns=cols, copy=False)  # the run's own arrays, not copied again
    r = pd.DataFrame(ranks, columns=cols, copy=False)
    s.index.name = r.index.name = "sample"
    return s, r


def _nominal_frame(eng: _Engine, s0: np.ndarray, r0: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit": eng.master.get_level_values("unit"),
            "year": eng.master.get_level_values("year"),
            "score": s0,
            "rank": r0,
        }
    )


def _rank_stats(eng: _Engine, s0: np.ndarray, r0: np.ndarray, scores: np.ndarray, ranks: np.ndarray) -> pd.DataFrame:
    def q(a: np.ndarray, p: float) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a row missing in every build
            return np.nanquantile(a, p, axis=0) if np.isnan(a).any() else np.quantile(a, p, axis=0)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean_rank = np.nanmean(ranks, axis=0)
    out = pd.DataFrame(
        {
            "unit": eng.master.get_level_values("unit"),
            "year": eng.master.get_level_values("year"),
            "nominal_rank": r0,
            "mean_rank": mean_rank,
            "median_rank": q(ranks, 0.5),
            "q05_rank": q(ranks, 0.05),
            "q95_rank": q(ranks, 0.95),
            "nominal_score": s0,
            "q05_score": q(scores, 0.05),
            "q95_score": q(scores, 0.95),
        }
    )
    keep = ~(np.isnan(r0) & np.isnan(ranks).all(axis=0))
    return out[keep].sort_values(["year", "nominal_rank", "unit"], kind="stable").reset_index(drop=True)


def _output(eng: _Engine, output: Any, r0: np.ndarray) -> tuple[str, Any]:
    """A function of (scores, ranks) -> one number per build, and its description."""
    if output in (None, "mean_abs_rank_change"):
        def f(scores: np.ndarray, ranks: np.ndarray) -> np.ndarray:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return np.nanmean(np.abs(ranks - r0[None, :]), axis=1)

        return "mean_abs_rank_change", f
    if isinstance(output, (tuple, list)) and len(output) in (2, 3) and output[0] in ("rank", "score"):
        kind, unit = output[0], output[1]
        years = sorted(set(eng.master.get_level_values("year")))
        year = output[2] if len(output) == 3 else years[-1]
        try:
            j = eng.master.get_loc((unit, year))
        except KeyError:
            raise DataError(f"sobol output: no row for unit {unit!r} in year {year}") from None

        def g(scores: np.ndarray, ranks: np.ndarray) -> np.ndarray:
            return (ranks if kind == "rank" else scores)[:, j]

        return f"{kind} of {unit} in {year}", g
    raise SpecError(
        f"output must be 'mean_abs_rank_change', ('rank', unit[, year]) or ('score', unit[, year]). Got {output!r} instead"
    )


def _check_n(n: int, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise SpecError(f"{what}: n must be a positive integer. Got {n!r} instead")
    return int(n)


def _check_jobs(jobs: int) -> int:
    if isinstance(jobs, bool) or not isinstance(jobs, (int, np.integer)) or jobs < 1:
        raise SpecError(f"jobs must be a positive integer. Got {jobs!r} instead")
    return int(jobs)


def _samples_frame(eng: _Engine, sim: _Sim, extra: dict[str, Any]) -> pd.DataFrame:
    plan = eng.plan
    n = sim.scores.shape[0]
    data: dict[str, Any] = {"sample": np.arange(n)}
    data.update(extra)
    for key, f in plan.factors.items():  # in the order the factors are written
        if isinstance(f, Choice):
            vals = [_cell(v) for v in f.values]
            data[key] = [vals[i] for i in sim.combos[:, plan.choice_keys.index(key)]]
        else:
            for parent, k in plan.noise_parents.items():
                if k == key:
                    for c, child in enumerate(eng.spec.nodes[parent].children):
                        data[f"{key}.{child.code}"] = sim.realised[parent][:, c]
    return pd.DataFrame(data)


def _manifest(mode: str, spec: Spec, panel: Panel, eng: _Engine, **extra: Any) -> dict[str, Any]:
    return {
        "mode": mode,
        "index": spec.index.id,
        "node": eng.node,
        "package_version": __version__,
        "spec_file": spec.source,
        "spec_sha256": spec.hash(),
        "data_file": panel.file,
        "data_sha256": panel.sha256,
        **extra,
        "warnings": list(eng.warnings),
    }


def evaluate_design(
    spec: Spec,
    panel: Panel,
    U: np.ndarray,
    factors: Mapping[str, Any] | None = None,
    jobs: int = 1,
    *,
    node: str | None = None,
    cache: dict | None = None,
    progress: bool | None = None,
    client: Any = None,
    nominal: Build | None = None,
) -> SensitivityResult:
    """The builds of an explicit design: one row of uniforms in [0, 1) per build.

    Columns follow the factors in order: one per choice factor (alternative i of k is drawn for
    u in [i/k, (i + 1)/k)), and one per perturbed node of a weight factor (u = 0.5 leaves its
    weight as it is; 0 and 1 are −noise and +noise). ``manifest["columns"]`` names them.
    This is what :func:`uncertainty` and :func:`sobol` run; use it for a design of your own. The other
    arguments are those of :func:`uncertainty`.
    """
    jobs = _check_jobs(jobs)
    plan = _plan(spec, factors)
    U = np.asarray(U, dtype=float)
    if U.ndim != 2 or U.shape[1] != plan.D or U.shape[0] < 1:
        raise DataError(f"evaluate_design: U must be builds × {plan.D} (the factors' columns). Got shape {U.shape} instead")
    if not ((U >= 0) & (U <= 1)).all():
        raise DataError("evaluate_design: every value of U must lie in [0, 1]")
    U = np.minimum(U, np.nextafter(1.0, 0))
    options = {"jobs": jobs, "node": node, "cache": cache, "progress": progress, "client": client, "nominal": nominal}
    return _of_uniforms("design", spec, panel, plan, U, options, builds=int(U.shape[0]), columns=_columns(plan))


def _of_uniforms(
    mode: str, spec: Spec, panel: Panel, plan: _Plan, U: np.ndarray, options: dict[str, Any], **manifest: Any
) -> SensitivityResult:
    """The result of a design of uniforms (``options``: :func:`_run`'s), with each unit's rank and
    score intervals over every build."""
    run = _run(spec, panel, plan, lambda eng, r0: _Design.of_uniforms(plan, spec, U), desc=mode, **options)
    scores, ranks = run.frames()
    manifest = run.manifest(mode, **manifest, jobs=options["jobs"], factors=plan.manifest())
    return SensitivityResult(
        mode, spec, plan.factors, _samples_frame(run.eng, run.sim, {}), scores, ranks, run.nominal(),
        manifest, rank_stats=_rank_stats(run.eng, run.s0, run.r0, run.sim.scores, run.sim.ranks), has_years=panel.has_years,
    )


def uncertainty(
    spec: Spec,
    panel: Panel,
    factors: Mapping[str, Any] | None = None,
    n: int = 1000,
    seed: int = 0,
    jobs: int = 1,
    *,
    node: str | None = None,
    cache: dict | None = None,
    progress: bool | None = None,
    client: Any = None,
    nominal: Build | None = None,
) -> SensitivityResult:
    """Uncertainty analysis: ``n`` random builds, and each unit's rank and score intervals.

    Parameters
    ----------
    spec, panel : the nominal index and its data
    factors : mapping of key -> WeightNoise or Choice, optional
        Default: the spec's ``uncertainty:`` section.
    n : int, default=1000
        Number of builds (the GII audits use 1,000–4,000).
    seed : int, default=0
        Seed of the Monte Carlo sample (numpy PCG64); the same seed gives the same numbers for
        any ``jobs``.
    jobs : int, default=1
        Processes for the distinct upstream builds.
    node : str, optional
        The node whose scores and ranks are analysed (default: the index).
    cache : dict, optional
        Upstream cache shared with other calls on the same panel (see :func:`index_engine.pipeline.upstream`).
    progress : bool, optional
        A tqdm progress bar on stderr (builds done; upstream builds while they run); default:
        only when stderr is a terminal, never in a pipe or a log.
    client : distributed.Client, optional
        Run the distinct upstream builds as Dask tasks on this client's cluster (same numbers).
    nominal : Build, optional
        The build of ``spec`` and ``panel``, where the caller has made it: the scores it withholds (the
        spec's ``publish:`` threshold) are withheld in every build of the analysis, and are taken from it
        rather than from a build made again.

    Returns
    -------
    SensitivityResult
        ``rank_stats`` (``unit, year, nominal_rank, mean_rank, median_rank, q05_rank, q95_rank,
        nominal_score, q05_score, q95_score``), ``samples``, ``scores``, ``ranks``.

    Notes
    -----
    Quantiles are numpy's default (linear, R's type 7, as COINr's ``RankStats``); a unit-year
    missing in some builds is summarised over the builds where it has a score.
    """
    n, jobs = _check_n(n, "uncertainty"), _check_jobs(jobs)
    plan = _plan(spec, factors)
    U = monte_carlo_design(n, plan.D, seed)
    options = {"jobs": jobs, "node": node, "cache": cache, "progress": progress, "client": client, "nominal": nominal}
    design = "Monte Carlo: independent U[0, 1) per factor column (numpy PCG64)"
    return _of_uniforms("uncertainty", spec, panel, plan, U, options, design=design, n=n, seed=seed, builds=n)


def sobol(
    spec: Spec,
    panel: Panel,
    factors: Mapping[str, Any] | None = None,
    n: int = 1000,
    seed: int = 0,
    jobs: int = 1,
    *,
    output: Any = "mean_abs_rank_change",
    nboot: int = 1000,
    node: str | None = None,
    cache: dict | None = None,
    progress: bool | None = None,
    client: Any = None,
    nominal: Build | None = None,
) -> SensitivityResult:
    """Variance-based sensitivity analysis: Saltelli design, first-order and total Sobol indices.

    Parameters
    ----------
    spec, panel : the nominal index and its data
    factors : mapping of key -> WeightNoise or Choice, optional
        Default: the spec's ``uncertainty:`` section. Factors with the same ``group`` share one
        pair of indices; a weight factor is one group of as many columns as nodes it perturbs.
    n : int, default=1000
        The base sample size N; the design has N·(d + 2) builds for d groups.
    seed : int, default=0
        Seed of the scrambled Sobol' sequence and of the bootstrap.
    jobs : int, default=1
        Processes for the distinct upstream builds.
    output : default "mean_abs_rank_change"
        The output analysed: the mean absolute rank change of the node against the nominal
        ranks over every unit and year (COINr), or ``("rank", unit[, year])`` /
        ``("score", unit[, year])`` (default year: the latest).
    nboot : int, default=1000
        Bootstrap resamples for the 5–95% intervals.
    node, cache, progress, client, nominal : as :func:`uncertainty`

    Returns
    -------
    SensitivityResult
        ``sobol`` (``factor, S1, S1_lo, S1_hi, ST, ST_lo, ST_hi``; ``factor`` is the key under
        ``uncertainty:`` or the group label), ``rank_stats`` over the A and B builds (2N, as COINr),
        ``samples`` with the design block of each build, ``y``.

    Warns
    -----
    DegenerateOutputWarning
        When more than 90% of the outputs are one same value (see :func:`sobol_indices`).

    References
    ----------
    Saltelli A. et al. (2010), doi:10.1016/j.cpc.2009.09.018; COINr ``get_sensitivity`` and
    ``SA_estimate`` (docs/methodology.md §B5).
    """
    n, jobs = _check_n(n, "sobol"), _check_jobs(jobs)
    if n < 2:
        raise SpecError(f"sobol: n must be at least 2. Got {n} instead")
    plan = _plan(spec, factors)
    labels = list(plan.groups)
    col_groups = [[c for key in plan.groups[g] for c in plan.cols[key]] for g in labels]
    U, blocks = saltelli_design(n, col_groups, seed)
    outputs: dict[str, Any] = {}

    def design(eng: _Engine, r0: np.ndarray) -> _Design:
        outputs["what"], outputs["f"] = _output(eng, output, r0)  # checked before any build runs
        return _Design.of_uniforms(plan, spec, U)

    run = _run(spec, panel, plan, design, desc="sobol", jobs=jobs, node=node, cache=cache, progress=progress, client=client,
               nominal=nominal)
    what = outputs["what"]
    y = outputs["f"](run.sim.scores, run.sim.ranks)
    if np.isnan(y).any():
        bad = np.flatnonzero(np.isnan(y))[:5].tolist()
        raise BuildError(f"{spec.source}: the output ({what}) is missing in builds {bad}; every build must have one")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        indices = sobol_indices(y, n, labels, nboot=nboot, seed=seed)
    for w in caught:
        run.eng.warnings.setdefault(f"{w.category.__name__}: {w.message}")
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    block_names = [b if not b.startswith("AB:") else f"AB:{labels[int(b[3:])]}" for b in blocks]
    scores, ranks = run.frames()
    ab = slice(0, 2 * n)
    manifest = run.manifest(
        "sobol",
        design="Saltelli: A, B and A_B^(i) from a Sobol' sequence (Joe-Kuo directions, linear matrix scramble and digital shift)",
        estimators="S1 = mean(yB(yABi - yA))/V (Saltelli 2010); ST = sum((yA - yABi)^2)/(2N V) (Jansen); V = var(yA, yB)",
        output=what, n=n, seed=seed, builds=int(U.shape[0]), nboot=nboot, jobs=jobs, factors=plan.manifest(),
        sobol_groups=plan.groups, rank_stats_builds="the A and B blocks (2N builds), as COINr",
    )
    samples = _samples_frame(run.eng, run.sim, {"block": block_names})
    samples.insert(2, "output", y)
    return SensitivityResult(
        "sobol", spec, plan.factors, samples, scores, ranks, run.nominal(), manifest,
        rank_stats=_rank_stats(run.eng, run.s0, run.r0, run.sim.scores[ab], run.sim.ranks[ab]), sobol=indices, y=y,
        has_years=panel.has_years,
    )


def remove_one(
    spec: Spec, panel: Panel, *, node: str | None = None, cache: dict | None = None, progress: bool | None = None,
    nominal: Build | None = None,
) -> SensitivityResult:
    """Leave out each indicator and each dimension in turn; how far do the ranks move?

    A node is left out by giving it weight 0 in its parent (its siblings keep their relative
    weights, as COINr ``remove_elements`` with fixed weights), in the tree and in every segment's
    weight set (:func:`~index_engine.sensitivity.removed_spec`); a parent left with no weighted
    child is missing and is dropped from its own parent's mean.

    ``node``, ``cache``, ``progress`` and ``nominal`` are those of :func:`uncertainty`.

    Returns
    -------
    SensitivityResult
        ``remove_one`` (``removed, level, mean_abs_rank_change, max_abs_rank_change``: the mean
        and largest |rank − nominal rank| over every unit and year), ``scores`` and ``ranks``
        (one row per removal), ``samples`` (``sample, removed, level``).
    """
    plan = _Plan({}, [], {}, [], {}, {}, 0)
    target = node or spec.tree.code
    below = set()
    stack = [target] if target in spec.nodes else []
    while stack:
        c = stack.pop()
        for ch in spec.nodes[c].children:
            below.add(ch.code)
            stack.append(ch.code)
    removed = [c for c in spec.nodes if c in below]
    S = len(removed)
    mult: dict[str, np.ndarray] = {}
    for s, c in enumerate(removed):
        parent = spec.parents[c]
        kids = [k.code for k in spec.nodes[parent].children]
        M = mult.setdefault(parent, np.ones((S, len(kids))))
        M[s, kids.index(c)] = 0.0

    def design(eng: _Engine, r0: np.ndarray) -> _Design:
        if not removed:
            raise SpecError(f"{spec.source}: {eng.node} has nothing beneath it to remove")
        return _Design(np.zeros((S, 0), dtype=np.int64), lambda rows: {p: M[rows] for p, M in mult.items()})

    run = _run(spec, panel, plan, design, desc="remove one", node=node, cache=cache, progress=progress, nominal=nominal)
    diff = np.abs(run.sim.ranks - run.r0[None, :])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean_c, max_c = np.nanmean(diff, axis=1), np.nanmax(diff, axis=1)
    levels = [spec.levels[c] for c in removed]
    table = pd.DataFrame({"removed": removed, "level": levels, "mean_abs_rank_change": mean_c, "max_abs_rank_change": max_c})
    scores, rk = run.frames()
    manifest = run.manifest(
        "remove", builds=S, method="weight 0 in the parent (and in every segment's weight set), siblings keep their relative weights",
    )
    samples = pd.DataFrame({"sample": np.arange(S), "removed": removed, "level": levels})
    return SensitivityResult(
        "remove", spec, {}, samples, scores, rk, run.nominal(), manifest, remove_one=table, has_years=panel.has_years,
    )
