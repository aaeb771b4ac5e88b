"""Tables derived from a build's scores and weights: effective weights, the weights table, grades,
contributions and changes (``weights.csv``, ``grades.csv``, ``contributions.csv``, ``Build.change``).

Below the pipeline and the Build result, which both call them.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ._json import jsonable
from .dataquality import year_of
from .panel import level_values
from .plan import resolve
from .spec import Spec


def default_weights(weights: pd.DataFrame) -> pd.DataFrame:
    """The rows of a weights table (``weights.csv``) for the default weights: a segmented build adds a set
    of rows per segment (``segment`` not empty)."""
    if weights.empty or "segment" not in weights.columns:
        return weights
    return weights[weights["segment"] == ""]


def effective_weights(spec: Spec, weights: dict[str, pd.Series]) -> pd.Series:
    """Each node's weight in the index: the product of within-parent weights down the tree (COINr ``get_eff_weights``)."""
    eff = {spec.tree.code: 1.0}
    for code in spec.nodes:
        for child, w in (weights.get(code, pd.Series(dtype=float))).items():
            eff[child] = eff[code] * float(w)
    return pd.Series(eff)


def weight_table(
    spec: Spec,
    weights: dict[str, pd.Series],
    diagnostics: dict[str, dict[str, Any]] | None = None,
    nominal: Mapping[str, float] | None = None,
    *,
    methods: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """``node, parent, level, nominal_weight, weight, effective_weight`` for every node, and for
    each aggregate the weighting method of its children and that method's diagnostics (JSON).
    ``nominal`` replaces the tree's nominal weights of the nodes it names (a segment's weight set);
    ``methods`` gives each aggregate's weighting method (default: resolved from the spec)."""
    eff = effective_weights(spec, weights)
    nominal = nominal or {}
    diagnostics = diagnostics or {}
    rows = []
    for code in spec.nodes:
        parent = spec.parents[code]
        is_agg = not spec.nodes[code].is_indicator
        rows.append(
            {
                "node": code,
                "parent": parent or "",
                "level": spec.levels[code],
                "nominal_weight": nominal.get(code, spec.nodes[code].weight),
                "weight": float(weights[parent][code]) if parent else 1.0,
                "effective_weight": float(eff.get(code, np.nan)),
                "children_weights": (methods[code] if methods else resolve(spec, "weights", code)[0].name) if is_agg else "",
                "diagnostics": json.dumps(jsonable(diagnostics.get(code) or {}), ensure_ascii=False)
                if is_agg and diagnostics.get(code)
                else "",
            }
        )
    return pd.DataFrame(rows)


def long_scores(spec: Spec, scores: pd.DataFrame, ranks: pd.DataFrame, change: pd.DataFrame) -> pd.DataFrame:
    """``unit, year, node, level, score, rank, change`` of wide tables (rows (unit, year), a column per node), in
    the order scores.csv holds them: by year, the aggregates from the index down, then the indicators."""
    parts = [scores.stack(future_stack=True).rename("score"),
             ranks.reindex(columns=scores.columns).stack(future_stack=True).rename("rank"),
             change.reindex(columns=scores.columns).stack(future_stack=True).rename("change")]
    out = pd.concat(parts, axis=1).reset_index()
    out.columns = ["unit", "year", "node", "score", "rank", "change"]
    out.insert(3, "level", out["node"].map(spec.levels))
    order = {c: i for i, c in enumerate(reversed(list(spec.aggregates)))}
    out["_o"] = out["node"].map(lambda c: order.get(c, len(order)))
    return out.sort_values(["year", "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)


def grade_table(spec: Spec, scores: pd.DataFrame) -> pd.DataFrame:
    """``unit, year, node, score, grade`` from the spec's ``grades`` (empty without them)."""
    g = spec.grades
    if g is None:
        return pd.DataFrame(columns=["unit", "year", "node", "score", "grade"])
    node = g.node or spec.tree.code
    score = scores[node]
    v = score.to_numpy()
    if g.basis == "score":  # how many cut-offs the score falls below, by a binary search of the sorted cut-offs
        cuts = np.sort(np.asarray(g.cutoffs, dtype=float))
        band = len(cuts) - np.searchsorted(cuts, v, side="right")
    else:  # cut-offs are shares from the top, turned into score quantiles within each year
        qs = [1 - c for c in g.cutoffs]
        per_year = score.groupby(level="year").quantile(qs).unstack()
        years = score.index.get_level_values("year")
        band = (v[:, None] < per_year.reindex(years).to_numpy()).sum(axis=1)
    band[np.isnan(v)] = len(g.labels)  # no score, no grade
    idx = score.index
    text = pd.Index([*g.labels, None, node])  # the text columns are taken from it (no Python string per row)
    return pd.DataFrame(
        {"unit": level_values(idx, "unit"), "year": idx.get_level_values("year"),
         "node": text.take(np.full(len(v), len(g.labels) + 1)), "score": v, "grade": text.take(band)},
        copy=False,  # the columns made here, and the scores' own: not copied again
    )


def contributions(spec: Spec, scores: pd.DataFrame, weights: pd.DataFrame) -> pd.DataFrame:
    """``unit, year, parent, child, contribution``: parent · w·x / Σ w·x over the children present.

    For the arithmetic mean this is (w/Σw)·x, and the children's contributions add up to the
    parent's score; where Σ w·x is 0 (every child present scoring 0, or scores cancelling out) the
    share is undefined and the contribution is (w/Σw)·x. Only for the means (the ``mean`` trait);
    medians, sums and ranking methods such as TOPSIS have none.
    """
    wt = default_weights(weights).set_index("node")["weight"]  # contributions use the default weights
    units, years = scores.index.get_level_values("unit"), scores.index.get_level_values("year")
    columns: dict[str, list] = {"unit": [], "year": [], "parent": [], "child": [], "contribution": []}
    for code in spec.aggregates:
        method, _, _ = resolve(spec, "aggregate", code)
        if not method.has("mean"):
            continue
        kids = [c.code for c in spec.nodes[code].children]
        X = scores[kids].to_numpy(dtype=float)
        w = wt.reindex(kids).to_numpy()[None, :]
        present = ~np.isnan(X)
        wx = np.where(present, X * w, 0.0)
        tot = wx.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(present, wx / tot, np.nan)
            contribution = share * scores[code].to_numpy()[:, None]
            cancelled = present & (tot == 0)
            if cancelled.any():  # (w/Σw)·x over the children present
                contribution[cancelled] = (wx / np.where(present, w, 0.0).sum(axis=1, keepdims=True))[cancelled]
        # one row per unit-year and child, the children of a unit-year together (a stacked table's order)
        columns["unit"].append(units.repeat(len(kids)))
        columns["year"].append(years.repeat(len(kids)))
        columns["parent"].append(np.full(X.size, code, dtype=object))
        columns["child"].append(np.tile(np.array(kids, dtype=object), len(X)))
        columns["contribution"].append(contribution.ravel())
    if not columns["unit"]:
        return pd.DataFrame(columns=["unit", "year", "parent", "child", "contribution"])
    return pd.DataFrame({
        "unit": units[:0].append(columns["unit"]), "year": years[:0].append(columns["year"]),
        "parent": pd.Index(np.concatenate(columns["parent"])), "child": pd.Index(np.concatenate(columns["child"])),
        "contribution": np.concatenate(columns["contribution"]),
    })


def change_on_previous_year(scores: pd.DataFrame, breaks: pd.DataFrame | None = None) -> pd.DataFrame:
    """Score minus the same unit's score in the previous year of the panel (missing in the first).

    ``breaks`` (:attr:`Panel.breaks <index_engine.panel.Panel.breaks>`): an indicator's change is missing
    where it would span a break of its series (:meth:`Panel.break_between <index_engine.panel.Panel.break_between>`).
    """
    years = sorted(set(scores.index.get_level_values("year")))
    if len(years) == 1:
        return pd.DataFrame(np.full(scores.shape, np.nan), index=scores.index, columns=scores.columns)
    prev = {y: p for p, y in zip(years, years[1:])}
    idx = scores.index
    prev_years = np.array([prev.get(y, -10**9) for y in idx.get_level_values("year")])
    prev_idx = pd.MultiIndex.from_arrays([idx.get_level_values("unit"), prev_years], names=["unit", "year"])
    before = scores.reindex(prev_idx)
    before.index = idx
    change = scores - before
    if breaks is not None and not breaks.empty:
        units, years_now = idx.get_level_values("unit"), idx.get_level_values("year").to_numpy()
        for unit, indicator, date in breaks[["unit", "indicator", "date"]].itertuples(index=False):
            if indicator in change.columns:
                y = year_of(date)
                spans = (units == unit) & (prev_years < y) & (y <= years_now)
                if spans.any():
                    change.loc[spans, indicator] = np.nan
    return change
