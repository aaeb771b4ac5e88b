"""Benefit-of-the-doubt weights: each unit's most favourable weights (DEA linear programs)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError
from ._shared import WEIGHTS, Share, Window, _check_window, _in_window, _informative

def bod(data: pd.DataFrame, *, lower: float = 0.0, upper: float = 1.0) -> pd.DataFrame:
    """Benefit-of-the-doubt weights: each unit's own most favourable weights (DEA, linear programs).

    For unit i: maximise Σ_j w_j y_ij subject to Σ_j w_j y_kj <= 1 for every unit k and w >= 0,
    and, when ``lower``/``upper`` are set, lower <= w_j/Σw <= upper. The optimum is the unit's
    BoD score in [0, 1]; its weights are reported rescaled to sum to 1.

    Parameters
    ----------
    data : DataFrame, rows = units or unit-years, columns = indicators
        Non-negative, on a common scale (normalised), direction applied.
    lower, upper : float, default=0.0 and 1.0
        Bounds on each indicator's share of the unit's weights (0 and 1 = unrestricted). Need
        lower <= 1/k <= upper for k informative indicators, else no weights are feasible.

    Returns
    -------
    DataFrame, one row per unit (row of ``data`` used), one column per indicator; rows sum to 1
        ``attrs``: ``score`` (BoD score by row label), ``degenerate``, ``rows_used``,
        ``rows_dropped``, ``lower``, ``upper``. Attrs hold plain dicts and lists only, so pandas
        can compare them when tables are combined.

    Notes
    -----
    Solved with ``scipy.optimize.linprog`` (HiGHS), one program per unit. Optimal weights need
    not be unique; HiGHS returns a vertex, deterministically. Rows with a missing indicator are
    left out. A constant indicator would let every unit reach score 1 by weighting it alone, so
    it is excluded (weight 0, DegenerateIndicatorWarning). A unit whose best score is 0 (all
    its values 0) gets equal weights. A negative value is an error listing the rows.

    References
    ----------
    Cherchye, L., Moesen, W., Rogge, N. & Van Puyenbroeck, T. (2007). An introduction to
    'benefit of the doubt' composite indicators. Soc. Indic. Res. 82:111–145.
    doi:10.1007/s11205-006-9029-7.
    Charnes, A., Cooper, W. W. & Rhodes, E. (1978). Measuring the efficiency of decision making
    units. Eur. J. Oper. Res. 2(6):429–444. doi:10.1016/0377-2217(78)90138-8.

    Examples
    --------
    >>> W = bod(pd.DataFrame({"a": [1.0, 0.5, 0.2], "b": [0.2, 0.5, 1.0]}, index=["x", "y", "z"]))
    >>> W.round(3).values.tolist()
    [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]
    >>> [round(v, 3) for v in W.attrs["score"].values()]
    [1.0, 0.833, 1.0]
    """
    from scipy.optimize import linprog

    who = "weights.bod"
    if not (0.0 <= lower <= upper <= 1.0):
        raise SpecError(f"{who}: need 0 <= lower <= upper <= 1. Got lower = {lower!r}, upper = {upper!r} instead")
    rule = "a constant indicator lets every unit score 1 by weighting it alone, so it is excluded (weight 0)"
    X, dropped, arr, const, degenerate = _informative(data, who, rule, nonnegative=True)
    keep = np.flatnonzero(~const)
    k = len(keep)
    W = np.zeros(arr.shape)
    score = np.zeros(arr.shape[0])
    if k == 0:
        W[:] = 1.0 / arr.shape[1]
    else:
        if not (lower <= 1.0 / k + 1e-12 and upper >= 1.0 / k - 1e-12):
            raise SpecError(
                f"{who}: with {k} indicators the weight shares cannot all lie in [{lower:g}, {upper:g}]; "
                f"need lower <= 1/{k} <= upper"
            )
        Y = arr[:, keep]
        A_ub = [Y]
        b_ub = [np.ones(len(Y))]
        if lower > 0:
            A_ub.append(lower * np.ones((k, k)) - np.eye(k))  # lower·Σw − w_j <= 0
            b_ub.append(np.zeros(k))
        if upper < 1:
            A_ub.append(np.eye(k) - upper * np.ones((k, k)))  # w_j − upper·Σw <= 0
            b_ub.append(np.zeros(k))
        A = np.vstack(A_ub)
        b = np.concatenate(b_ub)
        for i in range(len(Y)):
            res = linprog(-Y[i], A_ub=A, b_ub=b, bounds=[(0, None)] * k, method="highs")
            if res.status != 0:
                raise DataError(f"{who}: the linear program for row {X.index[i]!r} failed: {res.message}")
            w = np.clip(res.x, 0.0, None)
            score[i] = float(Y[i] @ w)
            W[i, keep] = w / w.sum() if w.sum() > 0 and score[i] > 0 else 1.0 / k
    out = pd.DataFrame(W, index=X.index, columns=X.columns)
    out.attrs.update(
        {"method": "bod", "params": {"lower": lower, "upper": upper}, "rows_used": len(X), "rows_dropped": dropped,
         "score": dict(zip(X.index, score.tolist())), "degenerate": degenerate, "lower": lower, "upper": upper}
    )
    return out


def _check_bod(p: dict[str, Any]) -> str | None:
    if p["lower"] > p["upper"]:
        return f"the 'lower' parameter of weights.bod must not exceed 'upper'. Got lower = {p['lower']}, upper = {p['upper']} instead"
    return _check_window(p)


@WEIGHTS.register("bod", check=_check_bod, traits=("reads_data",))
def _bod_node(
    children: pd.DataFrame, nominal: pd.Series, *, lower: Share = 0.0, upper: Share = 1.0, window: Window = None
) -> pd.Series:
    """Benefit-of-the-doubt weights for a whole node: the mean over the rows (units, unit-years) of each row's most favourable weights.

    One set of weights per node is what an aggregation step can use, so the rows' own weights
    (each summing to 1) are averaged; the per-row weights and BoD scores are in
    ``attrs['by_unit']`` ({row: {child: weight}}) and ``attrs['score']`` ({row: score}). See
    :func:`bod`. Reference: Cherchye et al. (2007), doi:10.1007/s11205-006-9029-7.
    """
    W = bod(_in_window(children[list(nominal.index)], window, "bod"), lower=lower, upper=upper)
    w = W.mean(axis=0).rename("weight")
    w = w / w.sum()
    w.attrs = {**W.attrs, "by_unit": W.to_dict(orient="index"), "window": list(window) if window else None}
    return w
