"""The Build: a frozen record of one build, with every table, its provenance and writers."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._json import jsonable
from .panel import Panel
from .ranks import rank_scores
from .spec import Spec
from .tables import change_on_previous_year, contributions, default_weights, grade_table, long_scores
from .coverage import aggregate_coverage, coverage_long, node_coverage, published, status_of, withheld
from .measures import COLUMNS as MEASURE_COLUMNS, spec_measure_table


@dataclass(frozen=True)
class Step:
    """One log entry: a step, its method and resolved params, what it applied to and changed."""

    step: str
    method: str
    params: dict[str, Any]
    applies_to: tuple[str, ...]
    spec_path: str
    changed: int
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "method": self.method,
            "params": jsonable(self.params),
            "applies_to": list(self.applies_to),
            "spec_path": self.spec_path,
            "changed": self.changed,
            "notes": list(self.notes),
        }


@dataclass(frozen=True, eq=False)
class Build:
    """Everything one build computed. ``build(b.spec, b.panel) == b``.

    Attributes
    ----------
    tables : dict of stage -> DataFrame (rows (unit, year), columns indicators)
        ``raw``, ``transformed``, ``denominated``, ``imputed``, ``screened``, ``treated``, ``normalized``.
    scores : DataFrame, rows (unit, year), one column per node
        Indicators (normalised) and every aggregate up to the index.
    ranks, change : DataFrame like ``scores`` (properties, computed on first use)
        Rank within the year (1 = best, ties 'min') and score minus the previous year's, of the
        published scores.
    coverage, withheld, published : properties (see :mod:`index_engine.coverage`)
        The share of each node's nominal weight backed by observed data; where a score is withheld
        (the spec's ``publish:`` threshold); ``scores`` with the withheld ones missing.
    weights : DataFrame
        ``node, parent, level, nominal_weight, weight, effective_weight``.
    """

    spec: Spec
    panel: Panel
    tables: dict[str, pd.DataFrame]
    scores: pd.DataFrame
    weights: pd.DataFrame
    imputed: pd.DataFrame
    treatment: pd.DataFrame
    dropped: tuple
    fitted: pd.DataFrame
    log: tuple[Step, ...]
    warnings: tuple[str, ...]
    version: str
    targets: pd.DataFrame = field(default_factory=pd.DataFrame)
    timings: dict[str, float] = field(default_factory=dict, compare=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Build):
            return NotImplemented
        frames = ("scores", "weights", "imputed", "treatment", "fitted", "targets")
        return (
            self.spec == other.spec
            and self.panel == other.panel
            and self.tables.keys() == other.tables.keys()
            and all(self.tables[k].equals(other.tables[k]) for k in self.tables)
            and all(getattr(self, f).equals(getattr(other, f)) for f in frames)
            and self.log == other.log
            and self.dropped == other.dropped
            and self.version == other.version
        )

    __hash__ = None  # type: ignore[assignment]

    # ---- views ------------------------------------------------------------------------
    @cached_property
    def coverage(self) -> pd.DataFrame:
        """Share of each node's nominal effective weight backed by observed data, like ``scores``
        (see :mod:`index_engine.coverage`; computed on first use)."""
        return node_coverage(self)

    @cached_property
    def withheld(self) -> pd.DataFrame | None:
        """True where a unit's score at an aggregate is withheld (its coverage below the spec's
        ``publish`` threshold): rows like ``scores`` × aggregates; None without ``publish:``."""
        if self.spec.publish is None:
            return None
        return withheld(self.spec, aggregate_coverage(self))

    @cached_property
    def published(self) -> pd.DataFrame:
        """``scores`` with the withheld scores missing: what the build publishes, ranks and compares
        (``scores`` itself when nothing is withheld)."""
        return published(self.scores, self.withheld)

    @cached_property
    def measures(self) -> pd.DataFrame:
        """The plan's measures and milestones with their reported status (:func:`index_engine.measures.measure_table`,
        from the spec's ``data.progress``); empty when the spec has no ``measures:``."""
        return spec_measure_table(self.spec, self.targets) if self.spec.measures else pd.DataFrame(columns=MEASURE_COLUMNS)

    @cached_property
    def ranks(self) -> pd.DataFrame:
        """Rank within the year of the published scores, 1 = best, ties 'min' within
        :data:`~index_engine.ranks.RANK_RTOL`, like ``scores`` (computed on first use); a withheld score has none."""
        return rank_scores(self.published)

    def ranks_of(self, nodes: list[str], keep: list[str] | None = None) -> pd.DataFrame:
        """Ranks of some nodes only (cheaper than ``ranks`` for a large build); kept, so asking again for
        some of them costs nothing. ``keep`` keeps only those nodes' ranks (ranks written to a file once
        need not all stay in memory)."""
        if "ranks" in self.__dict__:
            return self.ranks[nodes]
        kept = self.__dict__.setdefault("_ranks_of", [])
        for r in kept:
            if set(nodes) <= set(r.columns):
                return r[nodes]
        made = rank_scores(self.published[nodes])
        if keep is None:
            kept.append(made)
        elif keep:
            kept.append(made[keep].copy())  # a copy: a view would keep every node's ranks
        return made

    @cached_property
    def change(self) -> pd.DataFrame:
        """Published score minus the unit's published score in the previous year, like ``scores`` (computed on first use)."""
        return change_on_previous_year(self.published, self.panel.breaks)

    def change_of(self, nodes: list[str]) -> pd.DataFrame:
        """Change of some nodes only (cheaper than ``change`` for a large build)."""
        if "change" in self.__dict__:
            return self.change[nodes]
        return change_on_previous_year(self.published[nodes], self.panel.breaks)

    @cached_property
    def grades(self) -> pd.DataFrame:
        """``unit, year, node, score, grade`` from the spec's ``grades`` (empty without them)."""
        return grade_table(self.spec, self.published)

    @cached_property
    def contributions(self) -> pd.DataFrame:
        """``unit, year, parent, child, contribution`` (see :func:`index_engine.tables.contributions`); missing
        where the parent's or the child's score is withheld."""
        c = contributions(self.spec, self.scores, self.weights)
        held = self.withheld
        if held is None or c.empty or not held.to_numpy().any():
            return c
        long = held.stack(future_stack=True)

        def hidden(node: str) -> np.ndarray:
            keys = pd.MultiIndex.from_arrays([c["unit"], c["year"], c[node]])
            return long.reindex(keys).fillna(False).to_numpy(dtype=bool)

        hide = hidden("parent") | hidden("child")
        return c.assign(contribution=np.where(hide, np.nan, c["contribution"].to_numpy(dtype=float)))

    def table(self, stage: str) -> pd.DataFrame:
        """The wide table of ``stage`` (one of :data:`index_engine.folder.STAGE_ORDER`, or 'scores')."""
        if stage == "scores":
            return self.scores
        try:
            return self.tables[stage]
        except KeyError:
            raise KeyError(f"no stage {stage!r}; stages are {', '.join(self.tables)}") from None

    def scores_long(self) -> pd.DataFrame:
        """``unit, year, node, level, score, rank, change, status`` for every node, unit and year: the published
        scores; ``status`` says why a score is withheld (``coverage 0.12 < 0.66``), empty when it is published."""
        out = long_scores(self.spec, self.published, self.ranks, self.change)
        out["rank"] = out["rank"].astype("Int64")
        held = self.withheld
        withheld_any = held is not None and held.to_numpy().any()
        out["status"] = status_of(self.spec, coverage_long(aggregate_coverage(self)) if withheld_any else None, out)
        return out

    def summary(self, top: int | None = None) -> pd.DataFrame:
        """The index's score, rank and change for every unit in the latest year, best first (by rank, then
        unit code); ``top`` keeps the first ``top`` rows, picked by a partial sort (as cheap for a million
        units as for ten)."""
        idx = self.spec.tree.code
        years = self.scores.index.get_level_values("year")
        latest = np.asarray(years == years.max())
        sel: slice | np.ndarray = slice(None) if latest.all() else np.flatnonzero(latest)
        rank = self.ranks_of([idx])[idx].to_numpy()[sel]
        if top is not None and top < len(rank):
            r = np.where(np.isnan(rank), np.inf, rank)
            kth = np.partition(r, top - 1)[top - 1]
            keep = np.flatnonzero(r <= kth)  # every unit tied with the top-th too, so the order by code below is exact
            sel = keep if isinstance(sel, slice) else sel[keep]
            rank = rank[keep]
        if len(self.panel.years) > 1:
            change = self.change_of([idx])[idx].to_numpy()[sel]
        else:
            change = np.full(len(rank), np.nan)
        df = pd.DataFrame(
            {"unit": self.scores.index[sel].get_level_values("unit"), "score": self.published[idx].to_numpy()[sel],
             "rank": pd.array(rank, dtype="Int64"), "change": change}
        )
        df = df.sort_values(["rank", "unit"], na_position="last", kind="stable").reset_index(drop=True)
        return df if top is None else df.head(top)

    def effective_weights(self) -> pd.Series:
        return default_weights(self.weights).set_index("node")["effective_weight"]

    @property
    def dropped_indicators(self) -> tuple[str, ...]:
        """The spec's indicators the data lacks, dropped under ``data.on_missing_indicator: warn`` (from the log's
        ``data`` step ``missing_indicators``); they count as unobserved against the nominal weights."""
        return tuple(c for st in self.log if st.step == "data" and st.method == "missing_indicators" for c in st.applies_to)

    # ---- writing ----------------------------------------------------------------------
    def write(
        self, out_dir: str | Path, *, force: bool = False, excel: bool | None = None, extras: tuple[str, ...] = ()
    ) -> Path:
        """Write the build folder into ``out_dir`` atomically (a temporary folder renamed at the end).

        Without ``extras`` it holds the tables, ``results.xlsx``, ``spec.yaml``, ``log.json`` and
        ``manifest.json``; ``extras`` adds ``"audit"`` (``audit/``, computed from the build) and
        ``"report"`` (``report/``, the report pages). ``index_engine.job.run_build`` writes exactly
        what ``index-engine build`` writes. An existing ``out_dir`` is refused with
        :class:`OutputExistsError` unless ``force``; with ``force`` it is replaced only once the new
        one is complete.
        """
        unknown = sorted(set(extras) - {"audit", "report"})
        if unknown:
            raise ValueError(f"unknown extra output {unknown[0]!r}; extras are 'audit' and 'report'")
        from .job import write_job

        return write_job(self, Path(out_dir), force=force, excel=excel, audit="audit" in extras, report="report" in extras)
