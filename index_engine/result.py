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


STAGES = ("raw", "transformed", "denominated", "imputed", "screened", "treated", "normalized")


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
        Rank within the year (1 = best, ties 'min') and score minus the previous year's.
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
    def measures(self) -> pd.DataFrame:
        """The plan's measures and milestones with their reported status (:func:`index_engine.measures.measure_table`,
        from the spec's ``data.progress``); empty when the spec has no ``measures:``."""
        from .measures import COLUMNS, spec_measure_table

        return spec_measure_table(self.spec, self.targets) if self.spec.measures else pd.DataFrame(columns=COLUMNS)

    @cached_property
    def ranks(self) -> pd.DataFrame:
        """Rank within the year, 1 = best, ties 'min' within :data:`~index_engine.ranks.RANK_RTOL`, like ``scores`` (computed on first use)."""
        return rank_scores(self.scores)

    def ranks_of(self, nodes: list[str]) -> pd.DataFrame:
        """Ranks of some nodes only (cheaper than ``ranks`` for a large build); kept, so asking again for
        some of them costs nothing."""
        if "ranks" in self.__dict__:
            return self.ranks[nodes]
        kept = self.__dict__.setdefault("_ranks_of", [])
        for r in kept:
            if set(nodes) <= set(r.columns):
                return r[nodes]
        kept.append(rank_scores(self.scores[nodes]))
        return kept[-1]

    @cached_property
    def change(self) -> pd.DataFrame:
        """Score minus the unit's score in the previous year, like ``scores`` (computed on first use)."""
        from .pipeline import change_on_previous_year

        return change_on_previous_year(self.scores)

    def change_of(self, nodes: list[str]) -> pd.DataFrame:
        """Change of some nodes only (cheaper than ``change`` for a large build)."""
        if "change" in self.__dict__:
            return self.change[nodes]
        from .pipeline import change_on_previous_year

        return change_on_previous_year(self.scores[nodes])

    @cached_property
    def grades(self) -> pd.DataFrame:
        """``unit, year, node, score, grade`` from the spec's ``grades`` (empty without them)."""
        from .pipeline import grade_table

        return grade_table(self.spec, self.scores)

    @cached_property
    def contributions(self) -> pd.DataFrame:
        """``unit, year, parent, child, contribution`` (see :func:`index_engine.pipeline.contributions`)."""
        from .pipeline import contributions

        return contributions(self.spec, self.scores, self.weights)

    def table(self, stage: str) -> pd.DataFrame:
        """The wide table of ``stage`` (one of STAGES, or 'scores')."""
        if stage == "scores":
            return self.scores
        try:
            return self.tables[stage]
        except KeyError:
            raise KeyError(f"no stage {stage!r}; stages are {', '.join(self.tables)}") from None

    def scores_long(self) -> pd.DataFrame:
        """``unit, year, node, level, score, rank, change`` for every node, unit and year."""
        s = self.scores.stack(future_stack=True).rename("score")
        r = self.ranks.stack(future_stack=True).rename("rank")
        c = self.change.stack(future_stack=True).rename("change")
        out = pd.concat([s, r, c], axis=1).reset_index()
        out.columns = ["unit", "year", "node", "score", "rank", "change"]
        out.insert(3, "level", out["node"].map(self.spec.levels))
        out["rank"] = out["rank"].astype("Int64")
        order = {c: i for i, c in enumerate(reversed(list(self.spec.aggregates)))}
        out["_o"] = out["node"].map(lambda c: order.get(c, len(order)))
        out = out.sort_values(["year", "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)
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
            {"unit": self.scores.index[sel].get_level_values("unit"), "score": self.scores[idx].to_numpy()[sel],
             "rank": pd.array(rank, dtype="Int64"), "change": change}
        )
        df = df.sort_values(["rank", "unit"], na_position="last", kind="stable").reset_index(drop=True)
        return df if top is None else df.head(top)

    def effective_weights(self) -> pd.Series:
        w = self.weights
        if "segment" in w.columns:
            w = w[w["segment"] == ""]
        return w.set_index("node")["effective_weight"]

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
