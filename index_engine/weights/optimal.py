"""Optimised weights (COINr ``get_opt_weights``): weights chosen for the correlations of the children with their parent."""

from __future__ import annotations

import math
import warnings
from typing import Annotated, Any, Literal, Sequence

import numpy as np
import pandas as pd
from pydantic import Field

from ..errors import OptimisationWarning, SpecError
from ._shared import WEIGHTS, Window, _check_window, _in_window, _informative

Objective = Literal["balance", "infomax"]


def optimal(
    data: pd.DataFrame,
    *,
    objective: Objective = "balance",
    targets: Sequence[float] | None = None,
    correlation: Literal["pearson", "spearman"] = "pearson",
    start: Sequence[float] | None = None,
    tolerance: float = 1e-6,
    max_iter: int = 2000,
) -> pd.Series:
    """Weights that balance (or maximise) the children's correlations with the weighted mean they make.

    Parameters
    ----------
    data : DataFrame, rows = units or unit-years, columns = the k children of one node
        On the scale they are aggregated at (normalised, direction applied).
    objective : {"balance", "infomax"}, default="balance"
        ``balance``: minimise ``(1/k) Σ_j (t_j − c_j/Σ_i c_i)²``, so the children's shares of the
        correlation with the parent match the targets t (equal by default: every child equally
        important). ``infomax``: maximise ``Σ_j c_j``, the information the parent keeps.
    targets : sequence of float > 0, optional
        ``balance`` only: relative target importances, one per child in column order (COINr's
        ``itarg``; ``[1, 2, 1]`` asks the second child to be twice as important); rescaled to sum
        to 1. Default: equal.
    correlation : {"pearson", "spearman"}, default="pearson"
        The correlation c_j (COINr's ``cortype``). Spearman's is a step function of the weights,
        which a simplex search handles poorly; prefer Pearson.
    start : sequence of float >= 0, optional
        Starting weights (default: the targets for ``balance``, equal weights for ``infomax``).
    tolerance : float, default=1e-6
        Convergence tolerance of the search, on the weights and on the objective.
    max_iter : int, default=2000
        Iteration limit; reaching it gives the best weights found and an OptimisationWarning.

    Returns
    -------
    Series indexed by child, summing to 1
        ``attrs``: ``objective``, ``correlation``, ``correlations`` c_j at the optimum,
        ``shares`` c_j/Σc, ``targets`` (balance), ``objective_value``, ``iterations``,
        ``converged``, ``degenerate``, ``rows_used``, ``rows_dropped``.

    Notes
    -----
    The parent is the weighted arithmetic mean of the children, y = Σ_j w_j x_j with w >= 0 and
    Σ w = 1, and c_j = corr(x_j, y) over the rows used (complete rows). As COINr 1.1.14's
    ``get_opt_weights``, the weights are searched by Nelder–Mead (``scipy.optimize.minimize``;
    COINr: ``stats::optim``), starting from the targets (balance) or the spec's weights
    (infomax). Where this departs from COINr: the search variable θ gives w = |θ|/Σ|θ| (COINr
    uses θ/Σθ, which can turn a weight negative); ``balance`` minimises the mean squared
    difference itself rather than its logarithm (the same minimiser, but the logarithm tends to
    −∞ at an exact balance, so the search would never meet its tolerance there); the default
    tolerance is tight (COINr's ``toler`` 0.1 is a relative tolerance on the objective); and
    COINr re-aggregates the whole index and correlates a level with the index, where this
    method correlates one node's children with that node (the same thing for the children of
    the index). A constant child has no correlation: it gets weight 0 and is left out
    (DegenerateIndicatorWarning). Rows with a missing child are left out.

    References
    ----------
    Becker, W., Saisana, M., Paruolo, P. & Vandecasteele, I. (2017). Weights and importance in
    composite indicators: Closing the gap. *Ecological Indicators* 80, 12–22.
    doi:10.1016/j.ecolind.2017.03.056 (COINr's version is the linear, correlation-based one).
    Nelder, J. A. & Mead, R. (1965). A simplex method for function minimization. *Comput. J.*
    7(4), 308–313. doi:10.1093/comjnl/7.4.308

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=200)
    >>> X = pd.DataFrame({"a": f + rng.normal(scale=0.3, size=200), "b": f + rng.normal(scale=1.5, size=200)})
    >>> w = optimal(X)
    >>> abs(w.attrs["correlations"]["a"] - w.attrs["correlations"]["b"]) < 1e-6
    True
    >>> w.round(3).tolist()  # the noisier, more spread b would dominate an equal-weight mean
    [0.649, 0.351]
    """
    from scipy.optimize import minimize

    who = "weights.optimal"
    if objective not in ("balance", "infomax"):
        raise SpecError(f"{who}: objective must be 'balance' or 'infomax'. Got {objective!r} instead")
    if correlation not in ("pearson", "spearman"):
        raise SpecError(f"{who}: correlation must be 'pearson' or 'spearman'. Got {correlation!r} instead")
    if objective == "infomax" and targets is not None:
        raise SpecError(f"{who}: 'targets' are used only by objective: balance; leave them out with objective: infomax")
    X, dropped, arr, const, degenerate = _informative(data, who, "they have no correlation, so their weight is 0")
    k = X.shape[1]
    t_all = _check_vector(targets, k, "targets", who, positive=True)
    s_all = _check_vector(start, k, "start", who, positive=False)
    keep = np.flatnonzero(~const)
    w = np.zeros(k)
    info: dict[str, Any] = {"objective_value": math.nan, "iterations": 0, "converged": True}
    t = t_all[keep] / t_all[keep].sum() if len(keep) else t_all
    if len(keep) == 0:
        w[:] = 1.0 / k
    elif len(keep) == 1:
        w[keep] = 1.0
    else:
        Y = arr[:, keep]
        if correlation == "spearman":
            from scipy.stats import rankdata

            Y = rankdata(Y, axis=0)
        Z = (Y - Y.mean(axis=0)) / Y.std(axis=0)  # standardised children: corr(x_j, y) = mean(z_j · z_y)

        def corr_with_parent(theta: np.ndarray) -> np.ndarray:
            a = np.abs(theta)
            parent = arr[:, keep] @ (a / a.sum())
            if correlation == "spearman":
                parent = rankdata(parent)
            sd = parent.std()
            if not sd > 0:
                return np.full(len(keep), math.nan)
            return Z.T @ ((parent - parent.mean()) / sd) / len(parent)

        def loss(theta: np.ndarray) -> float:
            if not np.abs(theta).sum() > 0:
                return math.inf
            c = corr_with_parent(theta)
            if objective == "infomax":
                value = -float(c.sum())
            else:
                total = c.sum()
                value = float(np.mean((t - c / total) ** 2)) if total > 0 else math.inf
            return value if math.isfinite(value) else math.inf

        if s_all is not None and s_all[keep].sum() > 0:
            x0 = s_all[keep] / s_all[keep].sum()
        else:
            x0 = t if objective == "balance" else np.full(len(keep), 1.0 / len(keep))
        res = minimize(loss, x0, method="Nelder-Mead",
                       options={"xatol": tolerance, "fatol": tolerance**2, "maxiter": max_iter, "maxfev": 2 * max_iter})  # fmt: skip
        a = np.abs(res.x)
        w[keep] = a / a.sum()
        info = {"objective_value": float(res.fun), "iterations": int(res.nit), "converged": bool(res.success)}
        if not res.success:
            warnings.warn(
                f"{who}: the search stopped before converging ({res.message}); the weights are the best found. "
                f"Raise max_iter or tolerance",
                OptimisationWarning,
                stacklevel=2,
            )
    out = pd.Series(w, index=X.columns, name="weight")
    c = np.full(k, math.nan)
    if len(keep) > 1:
        c[keep] = corr_with_parent(w[keep])
    shares = c / np.nansum(c) if np.nansum(c) != 0 else np.full(k, math.nan)
    out.attrs.update({
        "method": "optimal", "params": {"objective": objective, "correlation": correlation, "tolerance": tolerance,
                                        "max_iter": max_iter},
        "objective": objective, "correlation": correlation,
        "correlations": dict(zip(X.columns, c.tolist())), "shares": dict(zip(X.columns, shares.tolist())),
        "targets": dict(zip(X.columns[keep], t.tolist())) if objective == "balance" else None,
        **info, "degenerate": degenerate, "rows_used": len(X), "rows_dropped": dropped,
    })  # fmt: skip
    return out


def _check_vector(v: Sequence[float] | None, k: int, name: str, who: str, *, positive: bool) -> np.ndarray | None:
    if v is None:
        return np.ones(k) if name == "targets" else None
    a = np.asarray(list(v), dtype=float)
    ok = a > 0 if positive else a >= 0
    if len(a) != k or not np.isfinite(a).all() or not ok.all() or a.sum() <= 0:
        need = "> 0" if positive else ">= 0, not all 0"
        raise SpecError(f"{who}: '{name}' needs one number {need} per child ({k}). Got {list(v)} instead")
    return a


def _check_optimal(p: dict[str, Any]) -> str | None:
    if p["objective"] == "infomax" and p.get("targets") is not None:
        return "'targets' are used only by objective: balance; leave them out with objective: infomax"
    return _check_window(p)


@WEIGHTS.register("optimal", check=_check_optimal, traits=("reads_data",))
def _optimal_node(
    children: pd.DataFrame,
    nominal: pd.Series,
    *,
    objective: Objective = "balance",
    targets: list[Annotated[float, Field(gt=0)]] | None = None,
    correlation: Literal["pearson", "spearman"] = "pearson",
    tolerance: Annotated[float, Field(gt=0)] = 1e-6,
    max_iter: Annotated[int, Field(ge=1)] = 2000,
    window: Window = None,
) -> pd.Series:
    """Optimised weights (COINr get_opt_weights): children equally (or as ``targets``) correlated with the node, or maximally (``infomax``).

    ``targets`` follow the node's children in spec order. ``infomax`` starts from the spec's
    weights, as COINr does. See :func:`optimal`. Reference: Becker et al. (2017),
    doi:10.1016/j.ecolind.2017.03.056.
    """
    if targets is not None and len(targets) != len(nominal):
        kids = ", ".join(map(str, nominal.index))
        raise SpecError(f"weights.optimal: {len(targets)} targets for {len(nominal)} children ({kids}); give one per child, in that order")
    start = nominal.to_numpy(dtype=float) if objective == "infomax" else None
    w = optimal(_in_window(children[list(nominal.index)], window, "optimal"), objective=objective, targets=targets,
                correlation=correlation, start=start, tolerance=tolerance, max_iter=max_iter)  # fmt: skip
    w.attrs["window"] = list(window) if window else None
    return w
