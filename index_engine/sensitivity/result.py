"""What an analysis computed (:class:`SensitivityResult`) and the spec of each of its builds."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import DataError
from ..folder import SENSITIVITY_NUMERIC
from ..atomic import write_folder
from ..outputs import write_csv
from ..pipeline import tree_model
from ..spec import Spec
from .._json import jsonable
from .factors import Factor, _plan, _read_cell

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
        for name in SENSITIVITY_NUMERIC:  # the tables the build-folder reader reads back
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
            (d / "manifest.json").write_text(json.dumps(jsonable(manifest), ensure_ascii=False, indent=1), encoding="utf-8")

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
