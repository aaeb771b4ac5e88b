"""Combined weights (组合赋权): two or more weight sets, e.g. subjective AHP with objective entropy."""

from __future__ import annotations

import warnings
from typing import Any, Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import IndexEngineError, SpecError, WeightsNotNormalizedWarning
from ._shared import WEIGHTS

def _weight_sets(weight_sets: Any) -> pd.DataFrame:
    if isinstance(weight_sets, pd.DataFrame):
        sets = weight_sets.astype(float)
    else:
        items = list(weight_sets.items()) if isinstance(weight_sets, Mapping) else list(enumerate(weight_sets))
        if not items:
            raise SpecError("weights.combine needs at least two weight sets")
        series = []
        for name, s in items:
            s = s if isinstance(s, pd.Series) else pd.Series(np.asarray(s, dtype=float))
            series.append(s.astype(float).rename(name))
        idx = series[0].index
        for s in series[1:]:
            if set(s.index) != set(idx) or len(s) != len(idx):
                raise SpecError(
                    f"weights.combine: weight set {s.name!r} covers {sorted(map(str, s.index))} but the first covers "
                    f"{sorted(map(str, idx))}; every set must weight the same indicators"
                )
        sets = pd.concat([s.reindex(idx) for s in series], axis=1)
    if sets.shape[1] < 2:
        raise SpecError(f"weights.combine needs at least two weight sets. Got {sets.shape[1]} instead")
    if sets.isna().any().any() or (sets < 0).any().any():
        raise SpecError("weights.combine: weights must be >= 0 and not missing")
    tot = sets.sum(axis=0)
    if (tot <= 0).any():
        raise SpecError("weights.combine: every weight set needs a positive total")
    if not np.allclose(tot, 1.0):
        warnings.warn(
            "weights.combine: weight sets not summing to 1 were rescaled: "
            + ", ".join(f"{c} ({t:g})" for c, t in tot.items() if not np.isclose(t, 1.0)),
            WeightsNotNormalizedWarning,
            stacklevel=3,
        )
    return sets / tot


def combine(
    weight_sets: Any,
    *,
    how: Literal["linear", "multiplicative", "game"] = "linear",
    alpha: float | Sequence[float] = 0.5,
) -> pd.Series:
    """Combined weights (组合赋权), e.g. subjective (AHP) with objective (entropy).

    Parameters
    ----------
    weight_sets : list or dict of Series (or a DataFrame, one column per set)
        Each indexed by the same indicators and summing to 1 (others are rescaled with a
        WeightsNotNormalizedWarning).
    how : {"linear", "multiplicative", "game"}, default="linear"
        ``linear``: w = Σ_k α_k w_k; with two sets and a float α, w = α·w_1 + (1 − α)·w_2
        (so put the subjective set first). ``multiplicative``: w_j ∝ Π_k w_kj. ``game`` (博弈论组合赋权):
        solve Σ_k α_k (w_l·w_k) = w_l·w_l for every l, take |α| rescaled to sum 1 and
        w = Σ_k α_k w_k.
    alpha : float or sequence of float, default=0.5
        ``linear`` only: α for the first of two sets, or one coefficient per set (>= 0, summing
        to 1). Any other value with another ``how`` is an error, not silently ignored.

    Returns
    -------
    Series indexed by indicator, summing to 1
        ``attrs``: ``how``, ``coefficients`` (the α used), ``sets`` (the input sets, rescaled).

    Notes
    -----
    ``multiplicative`` gives 0 to an indicator that any set weights 0; if the product is 0 for
    every indicator it is an error. In ``game`` a singular system (e.g. identical sets) is
    solved by least squares (minimum norm), which splits α equally between identical sets.

    References
    ----------
    docs/methodology.md §E2 (组合赋权: linear α = 0.5, multiplicative, game theory).
    Yan, H.-B. & Ma, T. (2015). A game theory-based approach for combining multiple sets of
    weights. Expert Syst. Appl. (DOI not checked here).

    Examples
    --------
    >>> a = pd.Series({"x": 0.6, "y": 0.4}); b = pd.Series({"x": 0.2, "y": 0.8})
    >>> combine([a, b]).round(3).tolist()
    [0.4, 0.6]
    >>> combine([a, b], how="multiplicative").round(4).tolist()
    [0.2727, 0.7273]
    """
    if how not in ("linear", "multiplicative", "game"):
        raise SpecError(f"weights.combine: how must be 'linear', 'multiplicative' or 'game'. Got {how!r} instead")
    sets = _weight_sets(weight_sets)
    K = sets.shape[1]
    Wm = sets.to_numpy()
    if how != "linear":
        if not (isinstance(alpha, (int, float)) and float(alpha) == 0.5):
            raise SpecError(f"weights.combine: 'alpha' is used only by how: linear; leave it out with how: {how}")
    if how == "linear":
        if isinstance(alpha, (int, float)):
            if K != 2:
                raise SpecError(f"weights.combine: a single alpha combines two sets; give one alpha per set for {K} sets")
            coef = np.array([float(alpha), 1.0 - float(alpha)])
        else:
            coef = np.asarray(list(alpha), dtype=float)
            if len(coef) != K:
                raise SpecError(f"weights.combine: {len(coef)} alpha values for {K} weight sets")
        if (coef < 0).any() or not np.isclose(coef.sum(), 1.0):
            raise SpecError(f"weights.combine: alpha must be in [0, 1] (one per set: >= 0, summing to 1). Got {alpha!r} instead")
        w = Wm @ coef
    elif how == "multiplicative":
        prod = Wm.prod(axis=1)
        if prod.sum() <= 0:
            raise SpecError("weights.combine: the product of the weight sets is 0 for every indicator")
        coef = np.ones(K)
        w = prod
    else:
        G = Wm.T @ Wm
        a, *_ = np.linalg.lstsq(G, np.diag(G), rcond=None)
        coef = np.abs(a) / np.abs(a).sum()
        w = Wm @ coef
    out = pd.Series(w / w.sum(), index=sets.index, name="weight")
    out.attrs.update({"method": "combine", "how": how, "coefficients": coef.tolist(),
                      "sets": {str(c): sets[c].to_dict() for c in sets.columns}})
    return out


def _check_combine(p: dict[str, Any]) -> str | None:
    methods = p["methods"]
    if len(methods) < 2:
        return f"'methods' needs at least two weighting methods to combine. Got {len(methods)} instead"
    for i, choice in enumerate(methods):
        extra = set(choice) - {"method", "params"}
        if "method" not in choice or extra:
            return f"methods[{i}] must be {{method: <name>, params: {{...}}}}" + (f"; unknown key(s) {sorted(extra)}" if extra else "")
        if choice["method"] == "combine":
            return f"methods[{i}]: combine cannot contain combine"
        try:
            WEIGHTS.get(choice["method"], where=f"methods[{i}].method").validate(
                choice.get("params") or {}, f"methods[{i}].params"
            )
        except IndexEngineError as exc:
            return str(exc)
    alpha = p["alpha"]
    if p["how"] != "linear" and not (isinstance(alpha, float) and alpha == 0.5):
        return f"'alpha' is used only by how: linear; leave it out with how: {p['how']}"
    if p["how"] == "linear":
        if isinstance(alpha, float):
            if len(methods) != 2:
                return f"a single alpha combines two methods; give one alpha per method for {len(methods)} methods"
            if not 0 <= alpha <= 1:
                return f"the 'alpha' parameter of weights.combine must be in [0, 1]. Got {alpha} instead"
        elif len(alpha) != len(methods) or min(alpha) < 0 or not np.isclose(sum(alpha), 1.0):
            return f"give one alpha per method (>= 0, summing to 1). Got {alpha} instead"
    return None


@WEIGHTS.register("combine", check=_check_combine, traits=("reads_data",))
def _combine_node(
    children: pd.DataFrame,
    nominal: pd.Series,
    *,
    methods: list[dict[str, Any]],
    how: Literal["linear", "multiplicative", "game"] = "linear",
    alpha: float | list[float] = 0.5,
) -> pd.Series:
    """Combined weights (组合赋权) of two or more weighting methods, e.g. ``methods: [{method: ahp, params: {...}}, {method: entropy}]``.

    Each method runs on the node as it would alone (each with its own ``window``), then the sets
    are combined by :func:`combine`. Reference: docs/methodology.md §E2.
    """
    sets = []
    for i, choice in enumerate(methods):
        m = WEIGHTS.get(choice["method"])
        params = m.validate(choice.get("params") or {}, f"weights.combine.methods[{i}].params")
        w = m.func(children, nominal, **params)
        sets.append(pd.Series(np.asarray(w, dtype=float), index=nominal.index, name=f"{i}:{choice['method']}"))
    return combine(sets, how=how, alpha=alpha)
