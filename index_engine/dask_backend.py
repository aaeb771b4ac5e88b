"""Builds that outgrow one machine: the panel split by unit into partitions, run as Dask tasks.

Every step that works row by row or unit by unit (transforms, denominators, carrying and
interpolating within a unit, screening, points and goalposts, fixed-base indices) runs on each
partition with the in-process code. Statistics pooled over units are computed as
reductions over the partitions: per indicator (and year, when the normalisation is per year) the
count, minimum, maximum, mean and sum of squared deviations, combined exactly with Chan's parallel
formula (Chan, Golub and LeVeque 1983, The American Statistician 37(3):242–247,
doi:10.1080/00031305.1983.10483115); the normalisation then runs on each partition with those
statistics fixed (``xmin``/``xmax``, ``xmean``/``xsd``). The gathered normalised table is then
weighted, aggregated and ranked by the in-process build's evaluator
(:func:`index_engine.pipeline.build_from_stages`). The result is the same Build the in-process
engine gives, to rounding.

Methods that need every unit at once inside a step (the JRC outlier rule, rank-based
normalisation, data-driven weights, TOPSIS, Copeland) are refused with a clear error rather than
approximated. Install with ``pip install 'index_engine[dask]'``; ``scheduler`` is the address of a
running ``dask.distributed`` scheduler (e.g. ``tcp://10.0.0.5:8786``), or None for a LocalCluster.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import pandas as pd

from .errors import BuildError, SpecError
from .families import FAMILIES
from .panel import Panel
from .pipeline import StageResult, build_from_stages, upstream
from .plan import compile_plan
from .result import Step
from .spec import Spec, step_choice


def check_supported(spec: Spec) -> None:
    """A SpecError naming the first step choice of the spec (used or not) whose method the Dask
    backend cannot run exactly: one without the ``distributable`` trait."""
    for step, family in FAMILIES.items():
        s = getattr(spec.steps, step)
        choices = [(f"steps.{step}", s.method)]
        choices += [(f"steps.{step}.by_indicator.{k}", c.method) for k, c in s.by_indicator.items()]
        choices += [(f"steps.{step}.by_node.{k}", c.method) for k, c in s.by_node.items()]
        choices += [(f"steps.{step}.by_level.{k}", c.method) for k, c in s.by_level.items()]
        for path, method in choices:
            if not family.get(method).has("distributable"):
                allowed = [m.name for m in family if m.has("distributable")]
                raise SpecError(
                    f"{spec.source}: {path}.method: the dask backend cannot run {step}.{method} exactly "
                    f"(it needs every unit at once); supported: {', '.join(sorted(allowed))}"
                )


def split_panel(panel: Panel, partitions: int) -> list[Panel]:
    """The panel cut into ``partitions`` pieces by unit (each unit's years stay together)."""
    units = np.asarray(panel.units, dtype=object)
    chunks = [c for c in np.array_split(units, max(1, min(partitions, len(units)))) if len(c)]
    out = []
    unit_level = panel.values.index.get_level_values("unit")
    for chunk in chunks:
        rows = unit_level.isin(set(chunk))
        out.append(Panel(panel.values[rows], panel.attrs[rows], None, panel.sources, panel.file, panel.sha256, panel.has_years))
    return out


def _treated(spec: Spec, part: Panel) -> pd.DataFrame:
    return upstream(spec, part)["treat"].table


def _moments(spec: Spec, treated: pd.DataFrame) -> dict[tuple[str, Any], tuple[float, float, float, float, float]]:
    """Per indicator (and year for per-year pools): count, min, max, mean, M2 of the values the
    normalisation sees (its plan entry's direction applied)."""
    out = {}
    years = treated.index.get_level_values("year").to_numpy()
    for entry in compile_plan(spec).entries("normalize"):
        code = entry.code
        x = treated[code].to_numpy(dtype=float) * entry.direction
        by_year = entry.pool == "year"
        keys = [(int(y), years == y) for y in np.unique(years)] if by_year else [("all", np.ones(len(x), bool))]
        for key, sel in keys:
            v = x[sel]
            v = v[~np.isnan(v)]
            if v.size == 0:
                out[(code, key)] = (0.0, np.nan, np.nan, np.nan, 0.0)
                continue
            m = float(v.mean())
            out[(code, key)] = (float(v.size), float(v.min()), float(v.max()), m, float(((v - m) ** 2).sum()))
    return out


def combine_moments(parts: list[dict]) -> dict:
    """Chan's parallel combination of (count, min, max, mean, M2) from each partition."""
    total: dict = {}
    for part in parts:
        for key, (n, lo, hi, mean, m2) in part.items():
            if key not in total:
                total[key] = (n, lo, hi, mean, m2)
                continue
            n0, lo0, hi0, mean0, m20 = total[key]
            if n == 0:
                continue
            if n0 == 0:
                total[key] = (n, lo, hi, mean, m2)
                continue
            nn = n0 + n
            delta = mean - mean0
            total[key] = (nn, min(lo0, lo), max(hi0, hi), mean0 + delta * n / nn, m20 + m2 + delta**2 * n0 * n / nn)
    return total


def fixed_spec(spec: Spec, stats: dict) -> Spec:
    """The spec with each indicator's pooled normalisation statistics written in as parameters."""
    overrides = {}
    for entry in compile_plan(spec).entries("normalize"):
        if (entry.code, "all") not in stats:
            continue  # statistics per year (pool: year) are not written in
        n, lo, hi, mean, m2 = stats[(entry.code, "all")]
        pooled = {"min": lo, "max": hi, "mean": mean}
        if n > 1 and m2 > 0:
            pooled["sd"] = float(np.sqrt(m2 / (n - 1)))
        fixed = {param: pooled[stat] for stat, param in entry.method.fitted.items() if stat in pooled}
        if not fixed:
            continue  # the method fits nothing the moments give (base_index's base values are per unit)
        choice, _ = step_choice(spec, "normalize", entry.code)
        params = {**fixed, **choice.params}
        overrides[entry.code] = {"method": choice.method, "params": params}
    if not overrides:
        return spec
    by = {k: v.model_dump() for k, v in spec.steps.normalize.by_indicator.items()}
    by.update(overrides)
    return spec.replace("steps.normalize.by_indicator", by, origin="dask backend")


def _upstream(spec: Spec, part: Panel) -> dict:
    """One partition's upstream stages (transform … normalize, with pooled statistics fixed)."""
    return upstream(spec, part)


def build_dask(
    spec: Spec, panel: Panel, *, scheduler: str | None = None, partitions: int | None = None, client: Any = None
):
    """Build ``spec`` on ``panel`` as Dask tasks over partitions of units; returns a Build.

    The partitions run the upstream stages; their normalised tables, gathered in the panel's
    row order, are then weighted and aggregated by the build's own evaluator
    (:mod:`index_engine.evaluate`) and ranked by its one rank function.

    Parameters
    ----------
    scheduler : str, optional
        Address of a dask.distributed scheduler; None starts a LocalCluster on this machine.
    partitions : int, optional
        How many pieces to cut the units into (default: 2 per worker thread, at least 2).
    client : distributed.Client, optional
        An existing client (overrides ``scheduler``).
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise BuildError("the dask backend needs dask.distributed: pip install 'index_engine[dask]'") from None
    check_supported(spec)
    if any(e.pool == "year" for e in compile_plan(spec).entries("normalize")):
        raise SpecError(
            f"{spec.source}: steps.normalize.pool: the dask backend pools normalisation statistics over all years; "
            "set pool: all (or build in-process)"
        )
    t0 = time.perf_counter()
    own: list[Any] = []
    if client is None:
        if scheduler:
            client = Client(scheduler)
        else:
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
            client = Client(cluster)
            own.append(cluster)
        own.insert(0, client)
    try:
        n_threads = sum(client.nthreads().values()) or 1
        parts = split_panel(panel, partitions or max(2, 2 * n_threads))
        inner = spec.replace_many({"tracking": None, "grades": None}, origin="dask backend")
        futures = client.map(_treated, [inner] * len(parts), parts, pure=False)
        moments = client.gather(client.map(_moments, [inner] * len(parts), futures, pure=False))
        stats = combine_moments(moments)
        fixed = fixed_spec(inner, stats)
        stages = client.gather(client.map(_upstream, [fixed] * len(parts), parts, pure=False))
    finally:
        for obj in own:
            obj.close()
    return _assemble(spec, panel, stages, time.perf_counter() - t0, len(parts))


def _assemble(spec: Spec, panel: Panel, parts: list[dict], seconds: float, n_parts: int):
    """One Build from the partitions' upstream stages, in the panel's row order: the tables
    joined, then weights, scores and log by :func:`index_engine.pipeline.build_from_stages`."""

    order = panel.values.index

    def cat(frames: list[pd.DataFrame]) -> pd.DataFrame:
        joined = pd.concat(frames)
        return joined.reindex(order[order.isin(joined.index)])

    first = parts[0]
    stages = {}
    for stage, res in first.items():
        records = dict(res.records)
        for name, value in res.records.items():
            if isinstance(value, pd.DataFrame) and name != "fitted":  # cell records: every partition's
                records[name] = pd.concat([p[stage].records[name] for p in parts], ignore_index=True)
            elif isinstance(value, tuple):  # dropped rows
                records[name] = tuple(x for p in parts for x in p[stage].records[name])
        stages[stage] = StageResult(
            cat([p[stage].table for p in parts]), res.steps, records, [w for p in parts for w in p[stage].warnings]
        )
    b = build_from_stages(spec, panel, stages, {"dask": round(seconds, 6)})
    note = Step("backend", "dask", {"partitions": n_parts}, ("*",), "", 0, (f"{seconds:.2f} s on the cluster",))
    return dataclasses.replace(b, log=b.log + (note,))
