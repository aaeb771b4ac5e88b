"""The "build your own index" page (自定义权重), as the OECD Better Life Index lets readers weigh topics.

``explorer.html`` holds one ``<input type="range">`` per dimension (the root's children) and, per
dimension, one per child of that dimension, all written into the markup; ``explorer.js`` (a
static file beside the pages) only attaches behaviour. Its data sit in the ``data-model``
attribute of ``#explorer`` (JSON): the normalised indicator scores of every unit and year (from
``tables/normalized``, the table the build aggregated), every aggregate's children with their
weights as applied (weights.csv) and the φ form of its mean, so the browser recomputes every
level bottom-up with the engine's rule:

    w'_c = w_c / max_k w_k                       (all weights 0: the parent is missing)
    parent = φ⁻¹( Σ_{c present} w'_c φ(x_c) / Σ_{c present} w'_c )
    φ(x) = x^p (p ≠ 0), ln x (p = 0)

over the children present (missing ones dropped and the weights renormalised; a generalised mean
is missing when any child is; a share of children present below ``min_coverage`` leaves it
missing), as :mod:`index_engine.aggregate` and :mod:`index_engine.evaluate` compute it. A unit-year
without an official index score (withheld for too little observed data: the publication rule reads the
nominal weights and the data, not the sliders) has no score at any weights. Ranks are
:mod:`index_engine.ranks`' rule: best first within each year, ties "min" when two neighbouring
scores differ by at most ``RANK_RTOL · max(1, |a|, |b|)``.

The page supports the means that declare a φ form (``aggregate.quasi_arithmetic``: arithmetic,
geometric, harmonic, generalised) and work row by row; for any other method (median, Copeland,
TOPSIS, sum ...) or a spec whose segments carry their own weight sets it says the page is not
available and names the node and method.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..aggregate import quasi_arithmetic
from ..ranks import RANK_RTOL
from ..plan import resolve
from ..tables import default_weights
from .model import records

from .page import Page

if TYPE_CHECKING:
    from .site import PageBuilder

EXPLORER_PAGE = "explorer.html"
SLIDER_MAX = 10.0
"""A slider runs from 0 to this; the official weights sit at half of it for the largest sibling."""


@dataclass(frozen=True)
class Blocker:
    """Why the page cannot recompute the index: a node and what it uses."""

    node: str
    method: str


def slider_positions(weights: list[float]) -> list[float]:
    """Official slider positions: each weight over the largest sibling's, times half the range
    (equal weights all sit at the middle; only ratios matter to the means)."""
    top = max(weights) if weights else 0.0
    return [SLIDER_MAX / 2 * w / top if top > 0 else 0.0 for w in weights]


def explorer_model(pb: "PageBuilder") -> tuple[dict[str, Any] | None, list[Blocker]]:
    """The data of the page (None when it cannot recompute the index) and what blocks it."""
    m = pb.m
    spec = m.parsed_spec
    blockers: list[Blocker] = []
    if spec.segments is not None and spec.segments.weight_sets:
        blockers.append(Blocker(m.root, "segments"))
    wrows = {r["node"]: r for r in records(default_weights(m.weights))}
    nodes: dict[str, dict[str, Any]] = {}
    for code in spec.aggregates:  # children before parents, as the evaluator runs them
        method, params, _ = resolve(spec, "aggregate", code)
        form = quasi_arithmetic(method, params)
        if form is None or not method.has("rowwise"):
            blockers.append(Blocker(code, method.name))
            continue
        kids = list(m.nodes[code].children)
        w = [_weight(wrows.get(c, {}).get("weight")) for c in kids]
        nodes[code] = {
            "kids": kids, "w": w, "p": form.p, "complete": form.complete,
            "minCov": float(params.get("min_coverage", 0.0) or 0.0),
        }
    if blockers or m.normalized.empty:
        return None, blockers
    scored = [u for u in m.units if not m.units[u].reference]
    rows = [(u, y) for y in m.years for u in scored if any(m.norm_value(u, y, i) is not None for i in m.indicators)]
    x = {i: [m.norm_value(u, y, i) for u, y in rows] for i in m.indicators}
    data = {
        "root": m.root, "order": list(nodes), "nodes": nodes, "years": list(m.years),
        "rows": [[u, y] for u, y in rows], "x": x, "rtol": RANK_RTOL, "digits": m.score_digits,
        "official": [m.score(u, y, m.root) for u, y in rows],
        "names": {u: pb.f.unit_name(u) for u in scored},
        "pages": {u: m.units[u].page for u in scored},
    }
    return data, []


def _weight(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(f) else f


def slider_group(pb: "PageBuilder", node: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The sliders of ``node``'s children: code, name, official weight share and slider position."""
    nd = data["nodes"][node]
    total = sum(nd["w"]) or 1.0
    return [
        {"node": node, "code": c, "name": pb.f.node_name(c), "share": w / total, "pos": p}
        for c, w, p in zip(nd["kids"], nd["w"], slider_positions(nd["w"]))
    ]


def explorer_page(pb: "PageBuilder") -> "Page":
    """``explorer.html``: the sliders, the recomputed ranking (official values until a slider moves)."""
    m, y = pb.m, pb.m.latest
    data, blockers = explorer_model(pb)
    dims: list[dict[str, Any]] = []
    subs: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    if data is not None:
        dims = slider_group(pb, m.root, data)
        subs = [{"code": d, "name": pb.f.node_name(d), "sliders": slider_group(pb, d, data)}
                for d in m.dimensions if d in data["nodes"]]
        rows = [{"unit": u, "score": m.score(u, y, m.root), "rank": m.rank(u, y, m.root)} for u in m.ranking(y)]
    ctx = pb.base(
        EXPLORER_PAGE, pb.t("explorer"), EXPLORER_PAGE, data=json.dumps(data, ensure_ascii=False, allow_nan=False)
        if data is not None else "", blockers=blockers, dims=dims, subs=subs, rows=rows,
        years=[v for v in m.years] if m.has_years else [], slider_max=SLIDER_MAX,
    )
    return Page(EXPLORER_PAGE, "explorer.html.j2", ctx)
