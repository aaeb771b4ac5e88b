"""Uncertainty and sensitivity analysis: batched perturbations of a Spec (METHODOLOGY §B5, §B6, §H.9).

What is varied is a set of **factors**, declared in the spec's ``uncertainty:`` section or built in
Python:

* :class:`WeightNoise` multiplies the weights of the nodes at chosen tree levels by 1 + u·f,
  u ~ U(−1, 1), renormalised within each parent (COINr ``get_noisy_weights``; f = 0.25 by default);
* :class:`Choice` puts one of a list of values at a spec path (``steps.normalize.method``,
  ``steps.treat.params.winmax``, ``tree.LPI.weight`` ...), each with equal probability; without a
  path, each value maps several paths to values. Any spec value can be a factor this way.

A factor that cannot be applied is a :class:`~index_engine.errors.SpecError` naming its key, before
anything is built; nothing ever falls back to a default.

How it stays fast: a sample is a set of discrete choices plus weight multipliers. Samples are
grouped by the spec their choices give; the upstream tables (impute … normalize) are computed once
per distinct spec through :func:`index_engine.pipeline.upstream` with one shared cache, so a sample
that only changes the normalisation reuses the treated table, and a sample that only changes the
aggregation or the weights reuses everything. Weights and aggregation are then evaluated for whole
batches of samples:

* a node whose children and weights no sample changes is computed once per spec and kept;
* weight noise becomes a ``samples × children`` weight array;
* a subtree of quasi-arithmetic means with one φ (arithmetic, geometric, harmonic, power;
  :class:`~index_engine.aggregate.QuasiArithmetic`) over complete children is one such mean of its
  leaves with effective weights, so a batch is one matrix product per spec (see :class:`_Linear`);
* anything else (missing children, data-driven weights, medians, TOPSIS ...) goes node by node
  through the registered aggregation functions, with ``samples × rows × children`` arrays.

Batches are chunks of the design sized by :data:`EVAL_CELLS` (never by the number of processes),
so the same seed gives the same numbers whatever ``jobs`` is; with ``jobs > 1`` the distinct
upstream builds run in a process pool.

Results: :func:`uncertainty` (N random builds, rank and score intervals), :func:`sobol` (Saltelli
design, first-order and total Sobol indices with bootstrap intervals), :func:`remove_one` (each
indicator and dimension left out in turn) and :func:`importance` (effective weight against η² and
r², Paruolo, Saisana & Saltelli 2013). Each returns an object with DataFrames and ``.write(dir)``.

References
----------
Saisana M., Saltelli A., Tarantola S. (2005). Uncertainty and sensitivity analysis techniques as
tools for the quality assessment of composite indicators. JRSS-A 168(2):307–323.
doi:10.1111/j.1467-985X.2005.00350.x
Saltelli A. et al. (2010). Variance based sensitivity analysis of model output. Design and estimator
for the total sensitivity index. Comput. Phys. Commun. 181(2):259–270. doi:10.1016/j.cpc.2009.09.018
Paruolo P., Saisana M., Saltelli A. (2013). Ratings and rankings: voodoo or science? JRSS-A
176(3):609–634. doi:10.1111/j.1467-985X.2012.01059.x

Examples
--------
>>> from index_engine.sensitivity import Choice, WeightNoise
>>> factors = {"weights": WeightNoise(levels=(2, 3)), "aggregation": Choice(path="steps.aggregate.method",
...            values=["arithmetic", "geometric"])}
>>> factors["weights"].noise
0.25
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import yaml

from . import __version__
from ._checks import list_rows
from .errors import BuildError, DataError, SpecError
from .evaluate import EVAL_CELLS, Evaluator, Prepared, segment_rows
from .outputs import write_csv, write_folder
from .panel import Panel
from .pipeline import stage_keys, tree_model, upstream
from .ranks import rank_desc, year_groups
from .spec import Spec, UncertainFactor

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# ---------------------------------------------------------------------------------------------
# factors
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WeightNoise:
    """Noise on the weights of every node at ``levels``: w·(1 + u·noise), u ~ U(−1, 1), renormalised.

    Parameters
    ----------
    levels : tuple of int
        Tree levels whose weights vary (1 = indicators, 2 = their parents, ...; COINr numbering).
    noise : float, default=0.25
        The largest relative change of a weight (0.25 = ±25%), in (0, 1].
    group : str, optional
        Sobol group label; factors with the same label share their indices.

    Notes
    -----
    The noise multiplies the weights the spec's weighting method resolves (fixed, equal, or a
    data-driven method), one independent u per node, as COINr ``get_noisy_weights``.
    """

    levels: tuple[int, ...]
    noise: float = 0.25
    group: str | None = None

    def __post_init__(self) -> None:
        levels = (self.levels,) if isinstance(self.levels, int) else tuple(self.levels)
        if not levels or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in levels):
            raise SpecError(f"WeightNoise levels must be tree levels (integers >= 1). Got {self.levels!r} instead")
        if isinstance(self.noise, bool) or not isinstance(self.noise, (int, float)) or not 0 < self.noise <= 1:
            raise SpecError(f"WeightNoise noise must be a number in (0, 1]. Got {self.noise!r} instead")
        object.__setattr__(self, "levels", tuple(int(v) for v in levels))
        object.__setattr__(self, "noise", float(self.noise))

    def as_dict(self) -> dict[str, Any]:
        return {"type": "weights", "levels": list(self.levels), "noise": self.noise, "group": self.group}


@dataclass(frozen=True)
class Choice:
    """One of ``values`` at spec ``path``, each with equal probability.

    Parameters
    ----------
    values : sequence
        The alternatives. With ``path``, each value replaces the value at ``path`` whole (a
        mapping for ``steps.normalize`` replaces the step). Without ``path``, each value is a
        mapping of spec paths to values, applied together.
    path : str, optional
        A spec path (see :mod:`index_engine.spec`), e.g. ``steps.treat.params.winmax``.
    group : str, optional
        Sobol group label.
    """

    values: tuple[Any, ...]
    path: str | None = None
    group: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.values, (str, bytes, Mapping)) or not isinstance(self.values, Iterable):
            raise SpecError(f"Choice values must be a list of alternatives. Got {self.values!r} instead")
        values = tuple(self.values)
        if not values:
            raise SpecError("a Choice needs at least one value")
        if self.path is None and not all(isinstance(v, Mapping) and v for v in values):
            raise SpecError("a Choice without a path needs values that map spec paths to values")
        object.__setattr__(self, "values", values)

    def changes(self, i: int) -> dict[str, Any]:
        """The spec changes of alternative ``i``."""
        v = self.values[i]
        return {self.path: v} if self.path is not None else dict(v)

    def as_dict(self) -> dict[str, Any]:
        return {"type": "choice", "path": self.path, "values": _jsonable(list(self.values)), "group": self.group}


Factor = WeightNoise | Choice


def factors_from_spec(spec: Spec) -> dict[str, Factor]:
    """The spec's ``uncertainty:`` section as factor objects (in the order written)."""
    return {key: _as_factor(key, f) for key, f in spec.uncertainty.items()}


def _as_factor(key: str, f: Any) -> Factor:
    if isinstance(f, (WeightNoise, Choice)):
        return f
    if isinstance(f, Mapping):
        try:
            f = UncertainFactor.model_validate(dict(f))
        except Exception as exc:  # pydantic's message, under the factor's key
            raise SpecError(f"uncertainty.{key}: {exc}") from None
    if isinstance(f, UncertainFactor):
        if f.type == "weights":
            return WeightNoise(levels=f.levels, noise=f.noise, group=f.group)
        return Choice(values=f.values, path=f.path, group=f.group)
    raise SpecError(f"uncertainty.{key}: a factor is a WeightNoise or a Choice. Got {type(f).__name__} instead")


@dataclass
class _Plan:
    """Factors resolved against a spec: uniform columns, perturbed nodes, Sobol groups."""

    factors: dict[str, Factor]
    choice_keys: list[str]
    cols: dict[str, list[int]]
    noise: list[tuple[str, str, str, int, int, float]]  # key, parent, child, position, column, f
    noise_parents: dict[str, str]  # parent -> key of the first factor that perturbs it
    groups: dict[str, list[str]]  # Sobol label -> factor keys
    D: int

    def decode(self, U: np.ndarray) -> np.ndarray:
        """Choice indices (samples × choice factors) from uniforms in [0, 1)."""
        out = np.zeros((U.shape[0], len(self.choice_keys)), dtype=np.int64)
        for j, key in enumerate(self.choice_keys):
            k = len(self.factors[key].values)
            out[:, j] = np.minimum((U[:, self.cols[key][0]] * k).astype(np.int64), k - 1)
        return out

    def manifest(self) -> dict[str, Any]:
        out = {}
        for key, f in self.factors.items():
            d = f.as_dict()
            if isinstance(f, WeightNoise):
                d["nodes"] = [child for k, _, child, *_ in self.noise if k == key]
            out[key] = d
        return out


def _plan(spec: Spec, factors: Mapping[str, Any] | None) -> _Plan:
    where = spec.source
    if factors is None:
        if not spec.uncertainty:
            raise SpecError(f"{where}: the spec has no uncertainty: section; add one or pass factors")
        facs = factors_from_spec(spec)
    elif isinstance(factors, Mapping):
        facs = {str(k): _as_factor(str(k), f) for k, f in factors.items()}
    else:
        raise SpecError(f"factors must map factor keys to WeightNoise or Choice objects. Got {type(factors).__name__} instead")
    if not facs:
        raise SpecError(f"{where}: no uncertain factors given")
    cols: dict[str, list[int]] = {}
    noise: list[tuple[str, str, str, int, int, float]] = []
    noise_parents: dict[str, str] = {}
    perturbed: dict[str, str] = {}
    touched: dict[str, str] = {}
    col = 0
    below_root = sorted({spec.levels[c] for c in spec.nodes if c != spec.tree.code})
    for key, f in facs.items():
        label = f"{where}: uncertainty.{key}"
        if isinstance(f, Choice):
            for i, v in enumerate(f.values):
                changes = f.changes(i)
                for p in changes:
                    for other_p, other_key in touched.items():
                        if other_key != key and (p == other_p or p.startswith(other_p + ".") or other_p.startswith(p + ".")):
                            raise SpecError(f"{label}: the path {p} overlaps {other_p} of factor {other_key!r}; one path, one factor")
                    touched.setdefault(p, key)
                try:
                    spec.replace_many(changes, origin=f"uncertainty.{key}")
                except SpecError as exc:
                    raise SpecError(
                        f"{label}: value {i + 1} of {len(f.values)} ({_cell_text(v)}) cannot be applied: {exc}"
                    ) from None
            cols[key] = [col]
            col += 1
        else:
            cols[key] = []
            for lvl in f.levels:
                nodes = [c for c in spec.nodes if spec.levels[c] == lvl and spec.parents[c] is not None]
                if not nodes:
                    raise SpecError(
                        f"{label}: no node at level {lvl} has a weight; the levels below the index are {below_root}"
                    )
                for child in nodes:
                    if child in perturbed:
                        raise SpecError(f"{label}: the weight of {child} is already varied by factor {perturbed[child]!r}")
                    perturbed[child] = key
                    parent = spec.parents[child]
                    kids = [c.code for c in spec.nodes[parent].children]
                    noise.append((key, parent, child, kids.index(child), col, f.noise))
                    noise_parents.setdefault(parent, key)
                    cols[key].append(col)
                    col += 1
    groups: dict[str, list[str]] = {}
    for key, f in facs.items():
        groups.setdefault(f.group or key, []).append(key)
    return _Plan(facs, [k for k, f in facs.items() if isinstance(f, Choice)], cols, noise, noise_parents, groups, col)


# ---------------------------------------------------------------------------------------------
# designs and estimators
# ---------------------------------------------------------------------------------------------
def monte_carlo_design(n: int, D: int, seed: int = 0) -> np.ndarray:
    """``n`` × ``D`` independent uniforms in [0, 1) (numpy's PCG64 seeded with ``seed``)."""
    return np.random.default_rng(seed).random((n, D))


def saltelli_design(n: int, groups: Sequence[Sequence[int]], seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """The Saltelli design: A, B, then A_B^(g) for each group g (N·(d + 2) rows).

    Parameters
    ----------
    n : int
        Rows of A and B (the base sample size N).
    groups : sequence of sequences of int
        The columns of each group (a factor, or factors grouped together); together they are the
        ``D`` columns of the design. A_B^(g) is A with the columns of group g taken from B.
    seed : int, default=0
        Seed of the scrambled Sobol' sequence (``scipy.stats.qmc.Sobol``) of dimension 2·D whose
        first D columns are A and last D are B.

    Returns
    -------
    X : array, n·(d + 2) × D, values in [0, 1)
    blocks : list of str, one per row: ``A``, ``B`` or ``AB:<g>`` (g the group's position)

    References
    ----------
    Saltelli A. et al. (2010), Comput. Phys. Commun. 181(2):259–270, doi:10.1016/j.cpc.2009.09.018.
    """
    from scipy.stats import qmc

    D = sum(len(g) for g in groups)
    if n < 2:
        raise SpecError(f"a Sobol design needs n >= 2. Got {n} instead")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # n need not be a power of 2 (COINr's N = 500)
        base = qmc.Sobol(d=2 * D, scramble=True, seed=seed).random(n)
    A, B = base[:, :D], base[:, D:]
    parts = [A, B]
    blocks = ["A"] * n + ["B"] * n
    for gi, g in enumerate(groups):
        ab = A.copy()
        ab[:, list(g)] = B[:, list(g)]
        parts.append(ab)
        blocks += [f"AB:{gi}"] * n
    return np.vstack(parts), blocks


def sobol_indices(
    y: np.ndarray, n: int, labels: Sequence[str], *, nboot: int = 1000, seed: int = 0, level: float = 0.90
) -> pd.DataFrame:
    """First-order and total Sobol indices from the outputs of a :func:`saltelli_design`.

    COINr's ``SA_estimate`` (METHODOLOGY §B5): V = var(y_A ∪ y_B) (n − 1 denominator);
    S_i = mean(y_B·(y_ABi − y_A))/V (Saltelli 2010); S_Ti = Σ(y_A − y_ABi)²/(2N·V) (Jansen 1999).
    Bootstrap: the N rows are resampled with replacement ``nboot`` times (V held fixed, as
    COINr), and ``S1_lo``/``S1_hi``, ``ST_lo``/``ST_hi`` are the (1 ± level)/2 quantiles.

    Parameters
    ----------
    y : array of n·(d + 2) outputs, in the design's row order (A, B, A_B^(1), …)
    n : int, the base sample size N
    labels : the d group labels, in design order
    nboot : int, default=1000 (0 for no intervals)
    seed : int, default=0, seed of the bootstrap
    level : float, default=0.90 (the 5–95% interval)

    Returns
    -------
    DataFrame ``factor, S1, S1_lo, S1_hi, ST, ST_lo, ST_hi``

    Notes
    -----
    Missing outputs are not allowed (a failed build is an error, never a dropped row). When the
    output does not vary at all (V = 0) every index is NaN.

    References
    ----------
    Saltelli A. et al. (2010), doi:10.1016/j.cpc.2009.09.018. Jansen M.J.W. (1999), Comput. Phys.
    Commun. 117:35–43, doi:10.1016/S0010-4655(98)00154-4.

    Examples
    --------
    >>> X, blocks = saltelli_design(256, [[0], [1]], seed=1)
    >>> y = X[:, 0] + 0 * X[:, 1]
    >>> sobol_indices(y, 256, ["x0", "x1"], nboot=0)[["S1", "ST"]].round(2).to_numpy().tolist()
    [[1.0, 1.0], [0.0, 0.0]]
    """
    y = np.asarray(y, dtype=float)
    d = len(labels)
    if y.shape != (n * (d + 2),):
        raise DataError(f"sobol_indices: expected {n * (d + 2)} outputs (n·(d + 2)), got {y.shape[0]}")
    if np.isnan(y).any():
        raise DataError(f"sobol_indices: {int(np.isnan(y).sum())} outputs are missing")
    yA, yB = y[:n], y[n : 2 * n]
    yAB = y[2 * n :].reshape(d, n)
    V = np.var(np.concatenate([yA, yB]), ddof=1)
    si_terms = yB[None, :] * (yAB - yA[None, :])  # d × n
    st_terms = (yA[None, :] - yAB) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        S1 = si_terms.mean(axis=1) / V
        ST = st_terms.sum(axis=1) / (2 * n * V)
    out = pd.DataFrame({"factor": list(labels), "S1": S1, "S1_lo": np.nan, "S1_hi": np.nan, "ST": ST, "ST_lo": np.nan, "ST_hi": np.nan})
    if nboot > 0 and V > 0:
        rng = np.random.default_rng([seed, 20100101])
        q = [(1 - level) / 2, (1 + level) / 2]
        s1b, stb = [], []
        for start in range(0, nboot, 200):
            m = min(200, nboot - start)
            idx = rng.integers(0, n, size=(m, n))
            s1b.append(si_terms[:, idx].mean(axis=2) / V)  # d × m
            stb.append(st_terms[:, idx].sum(axis=2) / (2 * n * V))
        s1b, stb = np.concatenate(s1b, axis=1), np.concatenate(stb, axis=1)
        out[["S1_lo", "S1_hi"]] = np.quantile(s1b, q, axis=1).T
        out[["ST_lo", "ST_hi"]] = np.quantile(stb, q, axis=1).T
    return out


# ---------------------------------------------------------------------------------------------
# the batched evaluator
# ---------------------------------------------------------------------------------------------
class _Engine:
    """An analysis' distinct specs on the nominal build's rows, evaluated by one :class:`Evaluator`.

    Rows are the nominal build's before screening (a row a spec screens out is missing there);
    each distinct spec's upstream tables come from :func:`index_engine.pipeline.upstream` with
    one shared cache.
    """

    def __init__(self, spec: Spec, panel: Panel, plan: _Plan | None, node: str | None, cache: dict | None):
        self.spec, self.panel, self.plan = spec, panel, plan
        self.node = node or spec.tree.code
        if self.node not in spec.nodes:
            raise SpecError(f"{spec.source}: no node {self.node!r} in the tree")
        self.cache = {} if cache is None else cache
        self.warnings: dict[str, None] = {}
        self.normalized: dict[str, tuple[pd.DataFrame, list[str]]] = {}
        self.prepared: dict[str, Prepared] = {}
        self.spec_of: dict[tuple, Spec] = {}
        self.node_models: dict[str, Any] = {}  # shared by specs whose nodes are alike (their static weights resolved once)
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
        model = tree_model(spec_g, self.node_models)
        p = self.ev.prepare(model, X, segment_rows(spec_g, self.panel, self.master), label)
        self.prepared[key] = p
        return p

    def evaluate(
        self, members: list[tuple[Prepared, int]], mult: dict[str, np.ndarray], record: Iterable[str] = ()
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Scores of the analysed node (samples × rows) for a batch (see :meth:`Evaluator.evaluate`)."""
        return self.ev.evaluate(members, mult, self.node, record)


# ---- running a design --------------------------------------------------------------------
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
    if progress is None:
        progress = bool(getattr(sys.stderr, "isatty", lambda: False)())
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="build", file=sys.stderr, leave=False)


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


def _simulate(eng: _Engine, U: np.ndarray, *, jobs: int, progress: bool | None, desc: str, client: Any = None) -> _Sim:
    t0 = time.perf_counter()
    plan = eng.plan
    n = U.shape[0]
    combos = plan.decode(U)
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
    bar = _progress(n, progress, desc)
    # phase 1: the upstream tables of each distinct spec (in a process pool for jobs > 1)
    first_spec: dict[str, tuple[Spec, tuple]] = {}
    for s, c, k in zip(specs, combo_t, ukeys):
        first_spec.setdefault(k, (s, c))
    todo: dict[str, Spec] = {}
    for k, (s, _) in first_spec.items():
        nk = eng.stage_key(s, "normalize")
        if nk not in eng.normalized:
            todo.setdefault(nk, s)
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
        if bar is not None:
            bar.set_description(f"{desc}: {len(todo)} upstream builds")
        if client is not None:  # Dask: one task per bundle of upstream builds that share a treated table
            panel_f = client.scatter(eng.panel, broadcast=True)
            results = client.gather(client.map(_upstream_remote, [panel_f] * len(bundles), bundles, pure=False))
        else:
            with _pool(len(bundles), {"panel": eng.panel, "cache": eng.cache}) as ex:
                results = list(ex.map(_upstream_job, bundles))
        for res in results:
            for nk, table, msgs in res:
                eng.normalized[nk] = (table, msgs)
    prepared = {}
    for k, (s, c) in first_spec.items():
        prepared[k] = eng.prepare(s, c)
    # phase 2: fixed chunks of samples, batched by the node models they share
    keys = sorted(prepared)
    sigs = sorted({prepared[k].model.signature() for k in keys}, key=lambda s: min(k for k in keys if prepared[k].model.signature() == s))
    sig_rank = {s: i for i, s in enumerate(sigs)}
    key_rank = {k: i for i, k in enumerate(keys)}
    combo_key = np.array([key_rank[k] for k in ukeys])  # distinct combo -> distinct spec
    sample_key = combo_key[inv]
    key_sig = np.array([sig_rank[prepared[k].model.signature()] for k in keys])
    # samples ordered by (signature, spec, sample number): each chunk is contiguous in both
    order_all = np.lexsort((np.arange(n), sample_key, key_sig[sample_key]))
    sig_of = key_sig[sample_key[order_all]]
    t1 = time.perf_counter()
    # work in that order (contiguous chunks); each chunk is ranked while it is in cache and
    # written straight to its samples' places in design order
    key_sorted = sample_key[order_all]
    U_sorted = U[order_all]
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
            mult = _noise_multipliers(plan, eng.spec, U_sorted[start:stop])
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                y, rec = eng.evaluate(members, mult, record=plan.noise_parents)
            for w in caught:
                eng.warnings.setdefault(f"{w.category.__name__}: {w.message}")
            where = order_all[start:stop]
            scores[where] = y
            rank_desc(y, eng.year_groups, ranks, where)
            for p, arr in rec.items():
                realised[p][where] = arr
            if bar is not None:
                bar.set_description(desc)
                bar.update(stop - start)
    t2 = time.perf_counter()
    if bar is not None:
        bar.close()
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


def _nominal(eng: _Engine) -> tuple[np.ndarray, np.ndarray]:
    p = eng.prepare(eng.spec)
    y, _ = eng.evaluate([(p, 1)], {})
    return y[0], rank_desc(y, eng.year_groups)[0]


# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SensitivityResult:
    """What an analysis computed; :meth:`write` writes the files of its mode.

    Attributes
    ----------
    mode : {"uncertainty", "sobol", "remove"}
    samples : DataFrame, one row per build
        ``sample`` (and ``block`` for Sobol, ``removed`` for remove-one), each choice factor's
        value (as YAML text where it is not a plain number or word) and, for each weight factor,
        the realised weights ``<factor>.<node>`` of every child of a perturbed parent (summing to 1
        within the parent). :func:`sample_spec` turns a row back into its Spec.
    scores, ranks : DataFrame, builds × (unit, year)
        The target node's score and rank (1 = best within the year) in every build.
    nominal : DataFrame ``unit, year, score, rank``
        The nominal build (the spec as given).
    rank_stats, sobol, remove_one, importance : DataFrame or None
        The tables of ``rank_stats.csv``, ``sobol.csv``, ``remove_one.csv`` and ``importance.csv``.
    y : array or None
        The Sobol output of each build (mean absolute rank change by default).
    manifest : dict
        Inputs, design, seed, factors, counts, timings and warnings (``manifest.json``).
    """

    mode: str
    spec: Spec
    factors: dict[str, Factor]
    samples: pd.DataFrame
    scores: pd.DataFrame
    ranks: pd.DataFrame
    nominal: pd.DataFrame
    manifest: dict[str, Any]
    rank_stats: pd.DataFrame | None = None
    sobol: pd.DataFrame | None = None
    remove_one: pd.DataFrame | None = None
    importance: pd.DataFrame | None = None
    y: np.ndarray | None = field(default=None, repr=False)
    has_years: bool = True

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every file's table, by file name."""
        out = {"samples.csv": self.samples}
        for name in ("rank_stats", "sobol", "remove_one", "importance"):
            df = getattr(self, name)
            if df is not None:
                out[f"{name}.csv"] = df
        return out

    def write(self, out_dir: str | Path, *, force: bool = False) -> Path:
        """Write the tables and ``manifest.json`` into ``out_dir`` (atomically; refused if it exists unless ``force``)."""
        tables = self.tables()
        manifest = dict(self.manifest)
        manifest["files"] = sorted(list(tables) + ["manifest.json"])
        manifest["rows"] = {k: int(len(v)) for k, v in tables.items()}

        def fill(d: Path) -> None:
            for name, df in tables.items():
                write_csv(df, d / name, self.has_years)
            (d / "manifest.json").write_text(json.dumps(_jsonable(manifest), ensure_ascii=False, indent=1), encoding="utf-8")

        return write_folder(Path(out_dir), fill, force=force)

    def sample_spec(self, i: int) -> Spec:
        """The Spec of build ``i`` (a normal build of it gives that build's scores)."""
        if self.mode == "remove":
            return removed_spec(self.spec, self.samples.loc[i, "removed"])
        return sample_spec(self.spec, self.samples.iloc[i].to_dict(), self.factors)


def sample_spec(spec: Spec, row: Mapping[str, Any], factors: Mapping[str, Any] | None = None) -> Spec:
    """The Spec of one row of ``samples.csv``: its choices applied, its realised weights fixed.

    Parameters
    ----------
    spec : Spec
        The nominal spec the analysis ran on.
    row : mapping of column -> value
        A row of ``samples.csv`` (strings as read from the file, or the values of
        ``SensitivityResult.samples``).
    factors : mapping, optional
        The analysis' factors (default: the spec's ``uncertainty:`` section).

    Returns
    -------
    Spec
        The choices put at their paths, and for each parent with a perturbed child every child's
        weight set to the realised weight, with ``steps.weights.by_node.<parent>: {method: fixed}``
        so the weighting method takes them as they are. A segment's weight set that names one of
        those children gets the same multipliers: weight × realised / resolved tree weight (its
        weight stays as it is for a child whose tree weight is 0; with a data-driven weighting
        method the segment's weights, which come from its own rows, are not written).
    """
    plan = _plan(spec, factors)
    changes: dict[str, Any] = {}
    for key in plan.choice_keys:
        f = plan.factors[key]
        if key not in row:
            raise DataError(f"samples row: no column {key!r} (the factors differ from the analysis')")
        v = _read_cell(row[key])
        if f.path is not None:
            changes[f.path] = v
        else:
            changes.update(dict(v))
    chosen = spec.replace_many(changes, origin="samples.csv") if changes else spec
    model = {nd.code: nd for nd in tree_model(chosen).nodes} if plan.noise_parents else {}
    for parent, key in plan.noise_parents.items():
        realised = {}
        for c in spec.nodes[parent].children:
            col = f"{key}.{c.code}"
            if col not in row:
                raise DataError(f"samples row: no column {col!r} (the factors differ from the analysis')")
            realised[c.code] = changes[f"tree.{c.code}.weight"] = float(_read_cell(row[col]))
        changes[f"steps.weights.by_node.{parent}"] = {"method": "fixed"}
        nd = model[parent]
        if nd.reads_data:
            continue  # a segment's data-driven weights come from its own rows: not written here
        tree_w = nd.static()[0]
        for seg in nd.segments:
            for c, ws in nd.static(seg)[0].items():
                changes[f"segments.weight_sets.{seg}.{c}"] = float(ws * realised[c] / tree_w[c]) if tree_w[c] > 0 else float(ws)
    return spec.replace_many(changes, origin="samples.csv") if changes else spec


def removed_spec(spec: Spec, code: str) -> Spec:
    """The spec with ``code`` left out: weight 0 in its parent, and in every segment weight set."""
    changes: dict[str, Any] = {f"tree.{code}.weight": 0}
    for seg, ws in (spec.segments.weight_sets if spec.segments is not None else {}).items():
        if code in ws:
            changes[f"segments.weight_sets.{seg}.{code}"] = 0
    return spec.replace_many(changes, origin="remove_one")


# ---- writing helpers -----------------------------------------------------------------------
def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if np.isnan(v) else float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def _cell_text(v: Any) -> str:
    """A value as one line of YAML (what ``--set PATH=VALUE`` takes)."""
    text = yaml.safe_dump(_jsonable(v), default_flow_style=True, allow_unicode=True, width=10**9, sort_keys=False)
    text = text.strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")]
    return text.removesuffix("...").strip()


def _cell(v: Any) -> Any:
    """Numbers stay numbers in samples.csv; anything else is its YAML text."""
    if isinstance(v, bool) or v is None:
        return _cell_text(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return v
    return _cell_text(v)


def _read_cell(v: Any) -> Any:
    if isinstance(v, str):
        if v.startswith("'") and v[1:2] and v[1] in _FORMULA_START:
            v = v[1:]  # the CSV-injection guard's apostrophe
        return yaml.safe_load(v) if v.strip() else v
    if isinstance(v, np.generic):
        return v.item()
    return v


# ---------------------------------------------------------------------------------------------
# the analyses
# ---------------------------------------------------------------------------------------------
def _frames(eng: _Engine, scores: np.ndarray, ranks: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    cols = eng.master
    s = pd.DataFrame(scores, columns=cols)
    r = pd.DataFrame(ranks, columns=cols)
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
) -> SensitivityResult:
    """The builds of an explicit design: one row of uniforms in [0, 1) per build.

    Columns follow the factors in order: one per choice factor (alternative i of k is drawn for
    u in [i/k, (i + 1)/k)), and one per perturbed node of a weight factor (u = 0.5 leaves its
    weight as it is; 0 and 1 are −noise and +noise). ``manifest["columns"]`` names them.
    This is what :func:`uncertainty` and :func:`sobol` run; use it for a design of your own.
    """
    t0 = time.perf_counter()
    jobs = _check_jobs(jobs)
    plan = _plan(spec, factors)
    U = np.asarray(U, dtype=float)
    if U.ndim != 2 or U.shape[1] != plan.D or U.shape[0] < 1:
        raise DataError(f"evaluate_design: U must be builds × {plan.D} (the factors' columns). Got shape {U.shape} instead")
    if not ((U >= 0) & (U <= 1)).all():
        raise DataError("evaluate_design: every value of U must lie in [0, 1]")
    eng = _Engine(spec, panel, plan, node, cache)
    s0, r0 = _nominal(eng)
    sim = _simulate(eng, np.minimum(U, np.nextafter(1.0, 0)), jobs=jobs, progress=progress, desc="design", client=client)
    scores, ranks = _frames(eng, sim.scores, sim.ranks)
    manifest = _manifest(
        "design", spec, panel, eng, builds=int(U.shape[0]), jobs=jobs, factors=plan.manifest(), columns=_columns(plan),
        distinct_specs=sim.distinct_specs, upstream_builds=sim.upstream_builds, chunk=eng.chunk,
        timings_s={**sim.timings, "total_s": round(time.perf_counter() - t0, 6)},
    )
    return SensitivityResult(
        "design", spec, plan.factors, _samples_frame(eng, sim, {}), scores, ranks, _nominal_frame(eng, s0, r0),
        manifest, rank_stats=_rank_stats(eng, s0, r0, sim.scores, sim.ranks), has_years=panel.has_years,
    )


def _columns(plan: _Plan) -> list[str]:
    names = [""] * plan.D
    for key in plan.choice_keys:
        names[plan.cols[key][0]] = key
    for key, _, child, _, col, _ in plan.noise:
        names[col] = f"{key}.{child}"
    return names


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
        A tqdm progress bar on stderr; default: only when stderr is a terminal.
    client : distributed.Client, optional
        Run the distinct upstream builds as Dask tasks on this client's cluster (same numbers).

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
    t0 = time.perf_counter()
    n, jobs = _check_n(n, "uncertainty"), _check_jobs(jobs)
    plan = _plan(spec, factors)
    eng = _Engine(spec, panel, plan, node, cache)
    s0, r0 = _nominal(eng)
    U = monte_carlo_design(n, plan.D, seed)
    sim = _simulate(eng, U, jobs=jobs, progress=progress, desc="uncertainty", client=client)
    scores, ranks = _frames(eng, sim.scores, sim.ranks)
    manifest = _manifest(
        "uncertainty", spec, panel, eng, design="Monte Carlo: independent U[0, 1) per factor column (numpy PCG64)",
        n=n, seed=seed, builds=n, jobs=jobs, factors=plan.manifest(), distinct_specs=sim.distinct_specs,
        upstream_builds=sim.upstream_builds, chunk=eng.chunk, timings_s={**sim.timings, "total_s": round(time.perf_counter() - t0, 6)},
    )
    return SensitivityResult(
        "uncertainty", spec, plan.factors, _samples_frame(eng, sim, {}), scores, ranks, _nominal_frame(eng, s0, r0),
        manifest, rank_stats=_rank_stats(eng, s0, r0, sim.scores, sim.ranks), has_years=panel.has_years,
    )


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
    node, cache, progress : as :func:`uncertainty`

    Returns
    -------
    SensitivityResult
        ``sobol`` (``factor, S1, S1_lo, S1_hi, ST, ST_lo, ST_hi``; ``factor`` is the key under
        ``uncertainty:`` or the group label), ``rank_stats`` over the A and B builds (2N, as COINr),
        ``samples`` with the design block of each build, ``y``.

    References
    ----------
    Saltelli A. et al. (2010), doi:10.1016/j.cpc.2009.09.018; COINr ``get_sensitivity`` and
    ``SA_estimate`` (METHODOLOGY §B5).
    """
    t0 = time.perf_counter()
    n, jobs = _check_n(n, "sobol"), _check_jobs(jobs)
    if n < 2:
        raise SpecError(f"sobol: n must be at least 2. Got {n} instead")
    plan = _plan(spec, factors)
    eng = _Engine(spec, panel, plan, node, cache)
    s0, r0 = _nominal(eng)
    what, fy = _output(eng, output, r0)
    labels = list(plan.groups)
    col_groups = [[c for key in plan.groups[g] for c in plan.cols[key]] for g in labels]
    U, blocks = saltelli_design(n, col_groups, seed)
    sim = _simulate(eng, U, jobs=jobs, progress=progress, desc="sobol", client=client)
    y = fy(sim.scores, sim.ranks)
    if np.isnan(y).any():
        bad = np.flatnonzero(np.isnan(y))[:5].tolist()
        raise BuildError(f"{spec.source}: the output ({what}) is missing in builds {bad}; every build must have one")
    indices = sobol_indices(y, n, labels, nboot=nboot, seed=seed)
    block_names = [b if not b.startswith("AB:") else f"AB:{labels[int(b[3:])]}" for b in blocks]
    scores, ranks = _frames(eng, sim.scores, sim.ranks)
    ab = slice(0, 2 * n)
    manifest = _manifest(
        "sobol", spec, panel, eng,
        design="Saltelli: A, B and A_B^(i) from a scrambled Sobol' sequence (scipy.stats.qmc.Sobol)",
        estimators="S1 = mean(yB(yABi - yA))/V (Saltelli 2010); ST = sum((yA - yABi)^2)/(2N V) (Jansen); V = var(yA, yB)",
        output=what, n=n, seed=seed, builds=int(U.shape[0]), nboot=nboot, jobs=jobs, factors=plan.manifest(),
        sobol_groups=plan.groups, distinct_specs=sim.distinct_specs, upstream_builds=sim.upstream_builds, chunk=eng.chunk,
        rank_stats_builds="the A and B blocks (2N builds), as COINr",
        timings_s={**sim.timings, "total_s": round(time.perf_counter() - t0, 6)},
    )
    samples = _samples_frame(eng, sim, {"block": block_names})
    samples.insert(2, "output", y)
    return SensitivityResult(
        "sobol", spec, plan.factors, samples, scores, ranks, _nominal_frame(eng, s0, r0), manifest,
        rank_stats=_rank_stats(eng, s0, r0, sim.scores[ab], sim.ranks[ab]), sobol=indices, y=y,
        has_years=panel.has_years,
    )


def remove_one(
    spec: Spec, panel: Panel, *, node: str | None = None, cache: dict | None = None, progress: bool | None = None
) -> SensitivityResult:
    """Leave out each indicator and each dimension in turn; how far do the ranks move?

    A node is left out by giving it weight 0 in its parent (its siblings keep their relative
    weights, as COINr ``remove_elements`` with fixed weights); a parent left with no weighted
    child is missing and is dropped from its own parent's mean. All removals are one batch.

    Returns
    -------
    SensitivityResult
        ``remove_one`` (``removed, level, mean_abs_rank_change, max_abs_rank_change``: the mean
        and largest |rank − nominal rank| over every unit and year), ``scores`` and ``ranks``
        (one row per removal), ``samples`` (``sample, removed, level``).
    """
    t0 = time.perf_counter()
    plan = _Plan({}, [], {}, [], {}, {}, 0)
    eng = _Engine(spec, panel, plan, node, cache)
    s0, r0 = _nominal(eng)
    target = eng.node
    below = set()
    stack = [target]
    while stack:
        c = stack.pop()
        for ch in spec.nodes[c].children:
            below.add(ch.code)
            stack.append(ch.code)
    removed = [c for c in spec.nodes if c in below]
    if not removed:
        raise SpecError(f"{spec.source}: {target} has nothing beneath it to remove")
    S = len(removed)
    mult: dict[str, np.ndarray] = {}
    for s, c in enumerate(removed):
        parent = spec.parents[c]
        kids = [k.code for k in spec.nodes[parent].children]
        M = mult.setdefault(parent, np.ones((S, len(kids))))
        M[s, kids.index(c)] = 0.0
    p = eng.prepare(spec)
    bar = _progress(S, progress, "remove one")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y, _ = eng.evaluate([(p, S)], mult)
    for w in caught:
        eng.warnings.setdefault(f"{w.category.__name__}: {w.message}")
    ranks = rank_desc(y, eng.year_groups)
    if bar is not None:
        bar.update(S)
        bar.close()
    diff = np.abs(ranks - r0[None, :])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean_c, max_c = np.nanmean(diff, axis=1), np.nanmax(diff, axis=1)
    levels = [spec.levels[c] for c in removed]
    table = pd.DataFrame({"removed": removed, "level": levels, "mean_abs_rank_change": mean_c, "max_abs_rank_change": max_c})
    scores, rk = _frames(eng, y, ranks)
    manifest = _manifest(
        "remove", spec, panel, eng, builds=S, method="weight 0 in the parent, siblings keep their relative weights",
        timings_s={"total_s": round(time.perf_counter() - t0, 6)},
    )
    samples = pd.DataFrame({"sample": np.arange(S), "removed": removed, "level": levels})
    return SensitivityResult(
        "remove", spec, {}, samples, scores, rk, _nominal_frame(eng, s0, r0), manifest, remove_one=table,
        has_years=panel.has_years,
    )


# ---------------------------------------------------------------------------------------------
# importance against weight
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Importance:
    """``table``: ``node, parent, effective_weight, r2, eta2, flag`` (``importance.csv``)."""

    table: pd.DataFrame
    has_years: bool = True

    def write(self, out_dir: str | Path) -> Path:
        """Write ``importance.csv`` into ``out_dir`` (created if needed)."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        write_csv(self.table, out_dir / "importance.csv", self.has_years)
        return out_dir / "importance.csv"


def correlation_ratio(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's correlation ratio η² = var(E[y | x]) / var(y), E[y | x] a cubic smoothing spline.

    The spline is ``scipy.interpolate.make_smoothing_spline`` with its smoothing chosen by
    generalised cross-validation; tied x values are merged (y averaged, weighted by count). With
    fewer than 5 distinct x values (a binary or categorical indicator) E[y | x] is the mean of y
    at each value, Pearson's original definition. Fewer than 2 distinct values, or a constant y,
    give NaN.

    Examples
    --------
    >>> x = np.linspace(0, 1, 50)
    >>> round(correlation_ratio(x, (x - 0.5) ** 2), 2)
    1.0
    """
    from scipy.interpolate import make_smoothing_spline

    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    vy = np.var(y)
    if not vy > 0:
        return float("nan")
    xu, inv, counts = np.unique(x, return_inverse=True, return_counts=True)
    if len(xu) < 2:
        return float("nan")
    ym = np.bincount(inv, weights=y) / counts
    if len(xu) < 5:
        fitted = ym[inv]
    else:
        fitted = make_smoothing_spline(xu, ym, w=counts.astype(float))(x)
    return float(np.clip(np.var(fitted) / vy, 0.0, 1.0))


def importance(b, *, threshold: float = 0.5) -> Importance:
    """Each indicator's and dimension's effective weight next to its importance for the index.

    Parameters
    ----------
    b : Build
    threshold : float, default=0.5
        Flag a node when its share of importance among its siblings differs from its share of
        weight by more than ``threshold`` times the weight share (METHODOLOGY §B6; this
        project's choice, not a JRC rule).

    Returns
    -------
    Importance
        ``table``: ``node, parent, effective_weight, r2, eta2, flag`` for every node below the
        index. ``r2`` is the squared Pearson correlation of the node's scores with the index,
        ``eta2`` the correlation ratio (:func:`correlation_ratio`); both over every unit and year
        together. ``flag``: ``importance above weight``, ``importance below weight``, ``weight 0``,
        ``too few values`` (fewer than 2 distinct values) or empty.

    Notes
    -----
    Rows where the node or the index is missing are left out. Relative importance is
    η²/Σ η² over the siblings, relative weight w/Σ w over the siblings.

    References
    ----------
    Paruolo P., Saisana M., Saltelli A. (2013), JRSS-A 176(3):609–634, doi:10.1111/j.1467-985X.2012.01059.x.
    Becker W. et al. (2017), Ecol. Indic. 80:12–22, doi:10.1016/j.ecolind.2017.03.056.
    """
    spec = b.spec
    root = spec.tree.code
    y = b.scores[root].to_numpy(float)
    eff = b.effective_weights()  # the tree's weights (segments have their own rows in b.weights)
    rows = []
    for code in spec.nodes:
        if code == root:
            continue
        x = b.scores[code].to_numpy(float)
        ok = ~(np.isnan(x) | np.isnan(y))
        if ok.sum() > 2 and np.std(x[ok]) > 0 and np.std(y[ok]) > 0:
            r2 = float(np.corrcoef(x[ok], y[ok])[0, 1] ** 2)
        else:
            r2 = float("nan")
        rows.append(
            {
                "node": code,
                "parent": spec.parents[code],
                "effective_weight": float(eff.get(code, np.nan)),
                "r2": r2,
                "eta2": correlation_ratio(x, y),
            }
        )
    df = pd.DataFrame(rows, columns=["node", "parent", "effective_weight", "r2", "eta2"])
    flags = []
    for _, r in df.iterrows():
        sib = df[df.parent == r.parent]
        if np.isnan(r.eta2):
            flags.append("too few values")
            continue
        if r.effective_weight == 0:
            flags.append("weight 0")
            continue
        sib = sib[(sib.effective_weight > 0) & sib.eta2.notna()]
        rel_w = r.effective_weight / sib.effective_weight.sum()
        tot = sib.eta2.sum()
        rel_s = r.eta2 / tot if tot > 0 else np.nan
        if np.isnan(rel_s) or abs(rel_s - rel_w) <= threshold * rel_w:
            flags.append("")
        else:
            flags.append("importance above weight" if rel_s > rel_w else "importance below weight")
    df["flag"] = flags
    return Importance(df, has_years=b.panel.has_years)


def with_importance(result: SensitivityResult, b) -> SensitivityResult:
    """``result`` with the importance table of the nominal build ``b`` (written as importance.csv)."""
    return replace(result, importance=importance(b).table)
