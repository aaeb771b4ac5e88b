"""Weighting methods (family ``weights``).

Two layers, one computation:

* **Public functions** a script calls on a table (rows = units or unit-years, columns =
  indicators, direction already applied): :func:`ahp`, :func:`entropy`, :func:`critic`,
  :func:`cv`, :func:`std`, :func:`pca`, :func:`bod` and :func:`combine`. Each returns weights
  indexed by column, summing to 1 (``bod`` returns one row of weights per unit), with its
  diagnostics in ``result.attrs``.
* **Registry adapters** with the family signature ``f(children, nominal, *, params) -> Series``:
  a weighting method gets the children of one aggregate node (a DataFrame, rows = unit-years,
  columns = child codes, on the scale they are aggregated at) and their nominal weights from the
  spec, and returns a Series of weights indexed by child, summing to 1. A spec chooses one with
  ``steps.weights: {method: entropy, params: {...}}``, per node with ``by_node`` or per level with
  ``by_level``.

Conventions shared by the data-driven methods (entropy, critic, cv, std, pca, bod):

* **Missing values**: rows with any missing indicator are left out (complete cases, as COINr's
  ``get_PCA`` does with ``na.omit``); ``attrs["rows_used"]`` and ``attrs["rows_dropped"]`` count them.
  At least 2 complete rows are needed.
* **Panels**: every row counts once, so a panel of n units × T years is n·T observations
  (METHODOLOGY §E2: k = 1/ln(n·T) for entropy). Pass ``window: [first_year, last_year]`` in the
  registry params to estimate on those years only; the weights are then held fixed for every
  year of the build (METHODOLOGY §E2: estimate once on a base window and freeze).
* **Constant indicators** (zero variance over the rows used) carry no information about the
  differences between units, so every data-driven method gives them weight 0 and warns with
  :class:`~index_engine.errors.DegenerateIndicatorWarning`; nothing is ever divided by a zero
  range. If no indicator is informative, the weights are equal (1/k) and the warning says so.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction
from typing import Annotated, Any, Literal, Mapping, Sequence

import numpy as np
import pandas as pd
from pathlib import Path
from pydantic import Field

from ._checks import bad_rows_error
from .errors import (
    DataError,
    DegenerateIndicatorWarning,
    IndexEngineError,
    InconsistentJudgementsWarning,
    SmallSampleWarning,
    SpecError,
    WeightsNotNormalizedWarning,
)
from .registry import Registry

WEIGHTS = Registry("weights", "Weights of the children of each aggregate node.")


@WEIGHTS.register("fixed", traits=("distributable",))
def fixed(children: pd.DataFrame, nominal: pd.Series) -> pd.Series:
    """The spec's weights, rescaled to sum to 1 within the parent (COINr: weights are relative)."""
    w = nominal.astype(float)
    return w / w.sum()


@WEIGHTS.register("equal", traits=("distributable",))
def equal(children: pd.DataFrame, nominal: pd.Series) -> pd.Series:
    """Equal weights 1/k for the k children (逐级等权 when used at every level, METHODOLOGY §E1)."""
    return pd.Series(np.full(len(nominal), 1.0 / len(nominal)), index=nominal.index)


# --------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------

Window = tuple[int, int] | None
"""``[first_year, last_year]`` (both included) of the rows a data-driven method is estimated on."""

Share = Annotated[float, Field(ge=0, le=1)]


def _check_window(p: dict[str, Any]) -> str | None:
    w = p.get("window")
    if w is not None and w[0] > w[1]:
        return f"window must be [first_year, last_year] with first_year <= last_year. Got {list(w)} instead"
    return None


def _in_window(children: pd.DataFrame, window: Window, who: str) -> pd.DataFrame:
    """The rows of ``children`` whose ``year`` index level lies in ``window`` (all rows if None)."""
    if window is None:
        return children
    if "year" not in (children.index.names or []):
        raise DataError(f"weights.{who}: 'window' needs rows indexed by (unit, year); these rows have no 'year' level")
    years = np.asarray(children.index.get_level_values("year"))
    keep = (years >= window[0]) & (years <= window[1])
    if not keep.any():
        have = sorted(set(years.tolist()))
        raise DataError(
            f"weights.{who}: no rows in the window {window[0]}–{window[1]}; the data have the years "
            f"{have[0]}–{have[-1]}" if have else f"weights.{who}: no rows to estimate on"
        )
    return children[keep]


def _table(data: pd.DataFrame, who: str) -> tuple[pd.DataFrame, int]:
    """``data`` as floats, complete rows only, checked: (table, number of rows dropped)."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"{who} needs a DataFrame (rows = units, columns = indicators); got {type(data).__name__}")
    if data.shape[1] == 0:
        raise DataError(f"{who} needs at least one indicator column")
    try:
        X = data.astype(float)
    except (TypeError, ValueError):
        bad = [c for c in data.columns if not pd.api.types.is_numeric_dtype(data[c])]
        raise DataError(f"{who} needs numeric indicators; not numeric: {', '.join(map(str, bad[:5]))}") from None
    arr = X.to_numpy()
    if np.isinf(arr).any():
        col = X.columns[np.isinf(arr).any(axis=0)][0]
        raise bad_rows_error(X[col], np.isinf(X[col].to_numpy()), f"{who}: indicator {col} has infinite values")
    complete = ~np.isnan(arr).any(axis=1)
    used = X[complete]
    if len(used) < 2:
        raise DataError(
            f"{who} needs at least 2 rows with every indicator present; got {len(used)} of {len(X)} "
            f"(indicators {', '.join(map(str, X.columns[:8]))}{', ...' if X.shape[1] > 8 else ''})"
        )
    return used, int((~complete).sum())


def _require_nonnegative(X: pd.DataFrame, who: str) -> None:
    for col in X.columns:
        neg = X[col].to_numpy() < 0
        if neg.any():
            raise bad_rows_error(X[col], neg, f"{who} needs values >= 0; indicator {col} has negative values")


def _constant(arr: np.ndarray) -> np.ndarray:
    """Columns with zero range (all values equal, to within rounding of the values)."""
    rng = arr.max(axis=0) - arr.min(axis=0)
    scale = np.maximum(np.abs(arr).max(axis=0), 1.0)
    return rng <= 1e-12 * scale


def _warn_constant(cols: Sequence[Any], who: str, rule: str) -> None:
    if len(cols):
        names = ", ".join(map(str, cols))
        warnings.warn(
            f"{who}: indicator(s) {names} are constant over the rows used, so they carry no information; {rule}",
            DegenerateIndicatorWarning,
            stacklevel=3,
        )


def _normalise(score: np.ndarray, columns: pd.Index, who: str) -> pd.Series:
    """``score / score.sum()`` as a Series; equal weights (with a warning) if every score is 0."""
    score = np.clip(np.asarray(score, dtype=float), 0.0, None)
    total = score.sum()
    if not np.isfinite(total) or total <= 0:
        warnings.warn(
            f"{who}: no indicator separates the units (all scores are 0), so the weights are equal (1/{len(columns)})",
            DegenerateIndicatorWarning,
            stacklevel=3,
        )
        score = np.ones(len(columns))
        total = float(len(columns))
    return pd.Series(score / total, index=columns, name="weight")


def _minmax(arr: np.ndarray, const: np.ndarray) -> np.ndarray:
    """Min-max to [0, 1] per column over all rows; a constant column becomes 0 (never 0/0)."""
    mn = arr.min(axis=0)
    rng = np.where(const, 1.0, arr.max(axis=0) - mn)
    return np.where(const, 0.0, (arr - mn) / rng)


def _finish(w: pd.Series, method: str, params: dict[str, Any], used: pd.DataFrame, dropped: int, **extra: Any) -> pd.Series:
    w.attrs.update({"method": method, "params": params, "rows_used": len(used), "rows_dropped": dropped, **extra})
    return w


# --------------------------------------------------------------------------------------------
# AHP
# --------------------------------------------------------------------------------------------

RI_TABLES: dict[str, dict[int, float]] = {
    # Saaty (1980), The Analytic Hierarchy Process, McGraw-Hill; METHODOLOGY §E2.
    "saaty1980": {1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41, 9: 1.45, 10: 1.49},
    # Saaty (2005), Theory and Applications of the ANP, p. 31; also Saaty & Tran (2007),
    # doi:10.1016/j.mcm.2007.03.022 (the table used by AHPy 'saaty' and R ahpsurvey).
    "saaty2005": {
        1: 0.0, 2: 0.0, 3: 0.52, 4: 0.89, 5: 1.11, 6: 1.25, 7: 1.35, 8: 1.40, 9: 1.45, 10: 1.49,
        11: 1.52, 12: 1.54, 13: 1.56, 14: 1.58, 15: 1.59,
    },
    # The table in most Chinese AHP textbooks and code (METHODOLOGY §E2's "alternative table").
    "cn_textbook": {
        1: 0.0, 2: 0.0, 3: 0.52, 4: 0.89, 5: 1.12, 6: 1.26, 7: 1.36, 8: 1.41, 9: 1.46, 10: 1.49,
        11: 1.52, 12: 1.54, 13: 1.56, 14: 1.58, 15: 1.59,
    },
    # Alonso & Lamata (2006), IJUFKS 14(4):445-459, doi:10.1142/S0218488506004114 (100,000
    # random Saaty-scale matrices per n).
    "alonso_lamata": {
        1: 0.0, 2: 0.0, 3: 0.5245, 4: 0.8815, 5: 1.1086, 6: 1.2479, 7: 1.3417, 8: 1.4056,
        9: 1.4499, 10: 1.4854, 11: 1.5141, 12: 1.5365, 13: 1.5551, 14: 1.5713, 15: 1.5838,
    },
    # Donegan & Dodd (1991), Math. Comput. Model. 15(10):135-137, doi:10.1016/0895-7177(91)90098-R.
    "donegan_dodd": {
        1: 0.0, 2: 0.0, 3: 0.4914, 4: 0.8286, 5: 1.0591, 6: 1.1797, 7: 1.2519, 8: 1.3171,
        9: 1.3733, 10: 1.4055, 11: 1.4213, 12: 1.4497, 13: 1.4643, 14: 1.4822, 15: 1.4969,
        16: 1.5078, 17: 1.5153, 18: 1.5262, 19: 1.5313, 20: 1.5371,
    },
}
"""Published random consistency indices RI(n) by table name."""

RITable = Literal["saaty1980", "saaty2005", "cn_textbook", "alonso_lamata", "donegan_dodd"]
AHPMethod = Literal["eigenvector", "geometric", "colmean"]
Entry = float | str | None
Matrix = list[list[Entry]]
CR_LIMIT = 0.10
"""Saaty's acceptance threshold: a matrix is consistent enough if CR < 0.10."""


def _cell(i: int, j: int, labels: Sequence[str] | None) -> str:
    s = f"row {i + 1}, column {j + 1}"
    return s + f" ({labels[i]} vs {labels[j]})" if labels is not None else s


def _entry(v: Any, i: int, j: int, labels: Sequence[str] | None) -> float:
    if v is None or (isinstance(v, str) and not v.strip()):
        return math.nan
    if isinstance(v, bool):
        raise SpecError(f"AHP matrix cell {_cell(i, j, labels)} is {v!r}; give a number like 3 or a fraction like '1/3'")
    if isinstance(v, str):
        try:
            return float(Fraction(v.replace(" ", "")))
        except (ValueError, ZeroDivisionError):
            raise SpecError(
                f"AHP matrix cell {_cell(i, j, labels)} is {v!r}; give a number like 3 or a fraction like '1/3'"
            ) from None
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise SpecError(f"AHP matrix cell {_cell(i, j, labels)} is {v!r}; give a number like 3 or a fraction like '1/3'") from None
    if math.isnan(f):
        return math.nan
    return f


def _is_matrix_list(obj: Any) -> bool:
    """True if ``obj`` is a list of matrices (three levels of nesting) rather than one matrix."""
    if isinstance(obj, np.ndarray):
        return obj.ndim == 3
    try:
        first_row = obj[0]
        first = first_row[0]
    except (TypeError, IndexError, KeyError):
        return False
    return isinstance(first, (list, tuple, np.ndarray))


def _ahp_matrix(matrix: Any, tolerance: float, labels: Sequence[str] | None) -> np.ndarray:
    """A complete positive reciprocal matrix from a full matrix or an upper triangle."""
    rows = [list(r) for r in (matrix.tolist() if isinstance(matrix, np.ndarray) else matrix)] if matrix is not None else []
    n = len(rows)
    if n == 0:
        raise SpecError("AHP matrix is empty; give one row per element compared")
    if labels is not None and len(labels) != n:
        raise SpecError(f"AHP matrix has {n} rows but {len(labels)} labels ({', '.join(map(str, labels))})")
    lens = [len(r) for r in rows]
    A = np.full((n, n), np.nan)
    if all(k == n for k in lens):
        for i, r in enumerate(rows):
            for j, v in enumerate(r):
                A[i, j] = _entry(v, i, j, labels)
    elif lens == list(range(n, 0, -1)):
        for i, r in enumerate(rows):
            for k, v in enumerate(r):
                A[i, i + k] = _entry(v, i, i + k, labels)
    else:
        raise SpecError(
            f"AHP matrix rows have lengths {lens}; give a full {n}×{n} matrix, or its upper triangle with the "
            f"diagonal (rows of length {', '.join(map(str, range(n, 0, -1)))})"
        )
    for i in range(n):
        for j in range(n):
            a = A[i, j]
            if not math.isnan(a) and (a <= 0 or math.isinf(a)):
                raise SpecError(f"AHP matrix cell {_cell(i, j, labels)} is {a:g}; comparisons must be finite and > 0")
    for i in range(n):
        if math.isnan(A[i, i]):
            A[i, i] = 1.0
        elif abs(A[i, i] - 1.0) > tolerance:
            raise SpecError(f"AHP matrix cell {_cell(i, i, labels)} is {A[i, i]:g}; the diagonal must be 1")
    for i in range(n):
        for j in range(i + 1, n):
            a, b = A[i, j], A[j, i]
            if math.isnan(a) and math.isnan(b):
                raise SpecError(f"AHP matrix cell {_cell(i, j, labels)} is missing (and so is its mirror {_cell(j, i, labels)})")
            if math.isnan(a):
                A[i, j] = 1.0 / b
            elif math.isnan(b):
                A[j, i] = 1.0 / a
            elif abs(a * b - 1.0) > tolerance:
                raise SpecError(
                    f"AHP matrix is not reciprocal at {_cell(j, i, labels)}: it is {b:g}, but 1/({_cell(i, j, labels)} = "
                    f"{a:g}) = {1 / a:.4g} (tolerance {tolerance:.0%})"
                )
    return A


def _ahp_priorities(A: np.ndarray, method: str) -> np.ndarray:
    n = A.shape[0]
    if method == "eigenvector":
        vals, vecs = np.linalg.eig(A)
        k = int(np.argmax(vals.real))
        v = np.abs(vecs[:, k].real)
    elif method == "geometric":
        v = np.exp(np.log(A).mean(axis=1))
    else:  # colmean: normalise each column to sum 1, then average the rows (算术平均法)
        v = (A / A.sum(axis=0, keepdims=True)).mean(axis=1)
    if n == 1:
        return np.ones(1)
    return v / v.sum()


def _ahp_consistency(A: np.ndarray, ri_table: str) -> dict[str, float]:
    n = A.shape[0]
    lam = float(np.max(np.linalg.eigvals(A).real)) if n > 1 else 1.0
    table = RI_TABLES[ri_table]
    if n not in table:
        fits = [k for k, t in RI_TABLES.items() if n in t]
        raise SpecError(
            f"AHP matrix has n = {n}, beyond the RI table {ri_table!r} (n <= {max(table)}); "
            + (f"choose one of {', '.join(map(repr, fits))}" if fits else "split the comparisons into smaller groups")
        )
    ri = table[n]
    ci = max((lam - n) / (n - 1), 0.0) if n > 1 else 0.0  # λmax >= n; below n only by rounding
    cr = ci / ri if ri > 0 else 0.0
    return {"lambda_max": lam, "ci": ci, "ri": ri, "cr": cr}


def _ahp_compute(
    matrix: Any, method: str, ri_table: str, tolerance: float, labels: Sequence[str] | None
) -> tuple[np.ndarray, dict[str, Any]]:
    if ri_table not in RI_TABLES:
        raise SpecError(f"unknown RI table {ri_table!r}; the tables are {', '.join(map(repr, RI_TABLES))}")
    if method not in ("eigenvector", "geometric", "colmean"):
        raise SpecError(f"unknown AHP method {method!r}; choose 'eigenvector', 'geometric' or 'colmean'")
    experts = list(matrix) if _is_matrix_list(matrix) else [matrix]
    mats = [_ahp_matrix(m, tolerance, labels) for m in experts]
    sizes = sorted({m.shape[0] for m in mats})
    if len(sizes) > 1:
        raise SpecError(f"the experts' AHP matrices differ in size ({', '.join(f'{k}×{k}' for k in sizes)})")
    # group AHP: element-wise geometric mean of the judgements (AIJ; Aczél & Saaty 1983)
    A = np.exp(np.mean([np.log(m) for m in mats], axis=0))
    info: dict[str, Any] = {"n": A.shape[0], "ri_table": ri_table, "ahp_method": method, "experts": len(mats)}
    info.update(_ahp_consistency(A, ri_table))
    if len(mats) > 1:
        info["cr_experts"] = [_ahp_consistency(m, ri_table)["cr"] for m in mats]
    info["matrix"] = A.tolist()
    return _ahp_priorities(A, method), info


def _ahp_message(info: dict[str, Any]) -> str:
    return (
        f"AHP comparisons are inconsistent: CR = {info['cr']:.3f} >= {CR_LIMIT:.2f} (λmax = {info['lambda_max']:.3f}, "
        f"CI = {info['ci']:.3f}, RI({info['n']}) = {info['ri']:g} from {info['ri_table']}). Revise the judgements, "
        f"or set on_inconsistent: warn to use them anyway"
    )


def ahp(
    matrix: Any,
    *,
    method: AHPMethod = "eigenvector",
    ri_table: RITable = "saaty1980",
    on_inconsistent: Literal["error", "warn"] = "error",
    tolerance: float = 0.01,
    labels: Sequence[str] | None = None,
) -> pd.Series:
    """Weights from a pairwise comparison matrix (Analytic Hierarchy Process, 层次分析法).

    Parameters
    ----------
    matrix : list of lists, ndarray, or a list of those (one per expert)
        Saaty 1–9 judgements, a_ij = importance of element i over element j. Either the full n×n
        matrix (cells may be left ``None``; they take the reciprocal of their mirror) or its upper
        triangle *with* the diagonal (rows of length n, n−1, …, 1). Entries may be numbers or
        strings such as ``"1/3"``. Several experts' matrices are combined by the element-wise
        geometric mean (AIJ), which keeps the result reciprocal.
    method : {"eigenvector", "geometric", "colmean"}, default="eigenvector"
        Principal right eigenvector (Saaty); row geometric means; or column-normalised row means
        (算术平均法, the ArcGIS Pro approximation). All three agree on a consistent matrix.
    ri_table : {"saaty1980", "saaty2005", "cn_textbook", "alonso_lamata", "donegan_dodd"}, default="saaty1980"
        Random index table for CR = CI / RI(n) (see ``RI_TABLES``).
    on_inconsistent : {"error", "warn"}, default="error"
        What CR >= 0.10 does: raise :class:`~index_engine.errors.SpecError`, or warn with
        :class:`InconsistentJudgementsWarning` and return the weights.
    tolerance : float, default=0.01
        Relative tolerance of the reciprocity check |a_ij·a_ji − 1| (so 0.333 passes for 1/3) and of
        the diagonal.
    labels : sequence of str, optional
        Names of the elements, used as the result's index and in messages.

    Returns
    -------
    Series indexed by element (``labels``, else 0..n−1), summing to 1
        ``attrs``: ``lambda_max``, ``ci``, ``ri``, ``cr``, ``n``, ``ri_table``, ``ahp_method``,
        ``experts``, ``cr_experts`` (several experts), ``matrix`` (the combined matrix).

    Notes
    -----
    λmax is always the principal eigenvalue of the (combined) matrix, whatever ``method``
    derives the weights, so CR does not depend on ``method``. For n <= 2 the matrix is always
    consistent and CR = 0. A cell that is not positive, a diagonal other than 1 or a
    non-reciprocal pair is an error naming the cell (row, column; 1-based). Entries are used as
    given (0.333 is not replaced by 1/3).

    References
    ----------
    Saaty, T. L. (1977). A scaling method for priorities in hierarchical structures. J. Math.
    Psychol. 15(3):234–281. doi:10.1016/0022-2496(77)90033-5.
    Aczél, J. & Saaty, T. L. (1983). Procedures for synthesizing ratio judgements. J. Math.
    Psychol. 27(1):93–102. doi:10.1016/0022-2496(83)90028-7.
    METHODOLOGY.md §E2.

    Examples
    --------
    >>> w = ahp([[1, 2, 4], ["1/2", 1, 2], ["1/4", "1/2", 1]], labels=["A", "B", "C"])
    >>> w.round(4).tolist()
    [0.5714, 0.2857, 0.1429]
    >>> round(w.attrs["cr"], 6)
    0.0
    """
    if on_inconsistent not in ("error", "warn"):
        raise SpecError(f"on_inconsistent must be 'error' or 'warn'. Got {on_inconsistent!r} instead")
    if not 0 < tolerance < 1:
        raise SpecError(f"tolerance must be a float in (0, 1). Got {tolerance!r} instead")
    labels = list(labels) if labels is not None else None
    v, info = _ahp_compute(matrix, method, ri_table, tolerance, labels)
    info["consistent"] = bool(info["cr"] < CR_LIMIT)
    if not info["consistent"]:
        if on_inconsistent == "error":
            raise SpecError(_ahp_message(info))
        warnings.warn(_ahp_message(info), InconsistentJudgementsWarning, stacklevel=2)
    w = pd.Series(v, index=labels if labels is not None else range(len(v)), name="weight")
    w.attrs.update({"method": "ahp", "params": {"method": method, "ri_table": ri_table, "tolerance": tolerance}, **info})
    return w


def _check_ahp(p: dict[str, Any]) -> str | None:
    given = [k for k in ("matrix", "matrices") if p.get(k) is not None]
    if len(given) != 1:
        return "give the comparisons as either 'matrix' (one expert) or 'matrices' (several experts, combined by geometric mean), not both or neither"
    if not 0 < p["tolerance"] < 1:
        return f"the 'tolerance' parameter of weights.ahp must be a float in (0, 1). Got {p['tolerance']!r} instead"
    labels = p.get("labels")
    if labels is not None and len(set(labels)) != len(labels):
        return f"labels must be distinct. Got {labels} instead"
    try:
        _, info = _ahp_compute(p[given[0]], p["method"], p["ri_table"], p["tolerance"], labels)
    except IndexEngineError as exc:
        return str(exc)
    if p["on_inconsistent"] == "error" and info["cr"] >= CR_LIMIT:
        return _ahp_message(info)
    return None


@WEIGHTS.register("ahp", check=_check_ahp)
def _ahp_node(
    children: pd.DataFrame,
    nominal: pd.Series,
    *,
    matrix: Matrix | None = None,
    matrices: list[Matrix] | None = None,
    labels: list[str] | None = None,
    method: AHPMethod = "eigenvector",
    ri_table: RITable = "saaty1980",
    on_inconsistent: Literal["error", "warn"] = "error",
    tolerance: float = 0.01,
) -> pd.Series:
    """AHP weights from the spec's pairwise comparisons (``matrix:`` or several experts' ``matrices:``).

    Rows and columns follow the node's children in spec order, or ``labels`` if given (which must
    name exactly those children). The judgements are checked when the spec loads. See
    :func:`ahp`. Reference: Saaty (1977), doi:10.1016/0022-2496(77)90033-5.
    """
    kids = [str(k) for k in nominal.index]
    given = matrices if matrices is not None else matrix
    first = given[0] if matrices is not None else given
    n = len(first) if first is not None else 0
    if n != len(kids):
        raise SpecError(
            f"weights.ahp: the comparison matrix is {n}×{n} but the node has {len(kids)} children "
            f"({', '.join(kids)}); give one row and one column per child, in that order"
        )
    if labels is not None and sorted(map(str, labels)) != sorted(kids):
        raise SpecError(
            f"weights.ahp: labels {list(labels)} must name exactly the node's children ({', '.join(kids)})"
        )
    w = ahp(
        given, method=method, ri_table=ri_table, on_inconsistent=on_inconsistent, tolerance=tolerance,
        labels=list(map(str, labels)) if labels is not None else kids,
    )
    out = w.reindex(kids)
    out.index = nominal.index
    out.attrs = dict(w.attrs)
    return out


# --------------------------------------------------------------------------------------------
# entropy
# --------------------------------------------------------------------------------------------


def _entropy_once(arr: np.ndarray, variant: str, delta: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(e, d, constant) for one block of rows."""
    n = arr.shape[0]
    const = _constant(arr)
    Z = _minmax(arr, const) if variant == "standardised" else arr
    Zs = Z + delta
    col = Zs.sum(axis=0)
    P = Zs / np.where(col > 0, col, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(P > 0, P * np.log(np.where(P > 0, P, 1.0)), 0.0)  # 0·ln 0 = 0
    e = -plogp.sum(axis=0) / math.log(n)
    e = np.where(const, 1.0, np.clip(e, 0.0, 1.0))
    return e, 1.0 - e, const


def entropy(
    data: pd.DataFrame,
    *,
    variant: Literal["standardised", "raw"] = "standardised",
    delta: float | None = None,
    pool: Literal["all", "year"] = "all",
) -> pd.Series:
    """Entropy weights (熵权法 / 熵值法): indicators whose values are more unequal get more weight.

    Parameters
    ----------
    data : DataFrame, rows = units or unit-years, columns = indicators (direction applied)
    variant : {"standardised", "raw"}, default="standardised"
        ``standardised``: z = (x − min)/(max − min) per indicator over all rows used, then
        z′ = z + delta (the textbook 熵值法, METHODOLOGY §E2). ``raw``: p = x/Σx on the data as
        given (x >= 0 required), e.g. on vector-normalised or positive raw data.
    delta : float or None, default=None
        Shift that keeps ln 0 away. None means 1e-4 for ``standardised`` (METHODOLOGY §E2) and 0
        for ``raw``; with 0 the convention 0·ln 0 = 0 applies. It moves the weights, so it is
        recorded in ``attrs``.
    pool : {"all", "year"}, default="all"
        ``all``: one entropy over every row, k = 1/ln(n·T) for a panel of n units × T years
        (pooled min-max keeps the years comparable). ``year``: the cross-section method per year
        (min-max, p and k = 1/ln n_t within year t), then the mean of the yearly weights. Needs a
        ``year`` index level.

    Returns
    -------
    Series indexed by indicator, summing to 1
        ``attrs``: ``entropy`` e_j, ``divergence`` d_j = 1 − e_j, ``k``, ``delta``, ``variant``,
        ``pool``, ``degenerate`` (constant indicators), ``rows_used``, ``rows_dropped``;
        ``by_year`` (the yearly weights) when ``pool='year'``.

    Notes
    -----
    p_ij = z′_ij/Σ_i z′_ij, e_j = −k Σ_i p_ij ln p_ij, w_j = (1 − e_j)/Σ(1 − e_j). Rows with a
    missing indicator are left out. A constant indicator has e = 1 (its p is uniform), so weight
    0, with a DegenerateIndicatorWarning.

    References
    ----------
    Shannon, C. E. (1948). A mathematical theory of communication. Bell Syst. Tech. J.
    27(3):379–423. doi:10.1002/j.1538-7305.1948.tb01338.x.
    Hwang, C.-L. & Yoon, K. (1981). Multiple Attribute Decision Making, pp. 52–54. Springer.
    doi:10.1007/978-3-642-48318-9.
    METHODOLOGY.md §E2 (definitions, test vector).

    Examples
    --------
    >>> X = pd.DataFrame({"a": [9, 8, 6], "b": [0, 3, 7], "c": [0, 0.9, 0.2], "d": [0, 0.5, 1]})
    >>> entropy(X / np.sqrt((X**2).sum()), variant="raw").round(6).tolist()
    [0.008565, 0.307162, 0.393265, 0.291008]
    """
    who = "weights.entropy"
    if variant not in ("standardised", "raw"):
        raise SpecError(f"{who}: variant must be 'standardised' or 'raw'. Got {variant!r} instead")
    if pool not in ("all", "year"):
        raise SpecError(f"{who}: pool must be 'all' or 'year'. Got {pool!r} instead")
    if delta is None:
        delta = 1e-4 if variant == "standardised" else 0.0
    if delta < 0:
        raise SpecError(f"{who}: delta must be >= 0. Got {delta!r} instead")
    X, dropped = _table(data, who)
    if variant == "raw":
        _require_nonnegative(X, f"{who} (variant 'raw')")
    params = {"variant": variant, "delta": delta, "pool": pool}
    if pool == "all":
        arr = X.to_numpy()
        e, d, const = _entropy_once(arr, variant, delta)
        degenerate = list(X.columns[const])
        _warn_constant(degenerate, who, "their entropy is 1, so their weight is 0")
        w = _normalise(d, X.columns, who)
        return _finish(
            w, "entropy", params, X, dropped, entropy=dict(zip(X.columns, e.tolist())),
            divergence=dict(zip(X.columns, d.tolist())), k=1.0 / math.log(arr.shape[0]), degenerate=degenerate,
        )
    if "year" not in (X.index.names or []):
        raise DataError(f"{who}: pool 'year' needs rows indexed by (unit, year); these rows have no 'year' level")
    by_year: dict[Any, list[float]] = {}
    degenerate_any: set[Any] = set()
    for yr, g in X.groupby(level="year", sort=True):
        if len(g) < 2:
            raise DataError(f"{who}: pool 'year' needs at least 2 complete rows in every year; {yr} has {len(g)}")
        e, d, const = _entropy_once(g.to_numpy(), variant, delta)
        degenerate_any.update(X.columns[const])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateIndicatorWarning)
            by_year[yr] = _normalise(d, X.columns, who).tolist()
    degenerate = [c for c in X.columns if c in degenerate_any]
    _warn_constant(degenerate, who, "within the year(s) where they are constant their weight is 0")
    w = pd.Series(np.mean(list(by_year.values()), axis=0), index=X.columns, name="weight")
    w = w / w.sum()
    return _finish(w, "entropy", params, X, dropped, by_year={k: dict(zip(X.columns, v)) for k, v in by_year.items()},
                   degenerate=degenerate)


@WEIGHTS.register("entropy", check=_check_window, traits=("reads_data",))
def _entropy_node(
    children: pd.DataFrame,
    nominal: pd.Series,
    *,
    variant: Literal["standardised", "raw"] = "standardised",
    delta: Annotated[float, Field(ge=0)] | None = None,
    pool: Literal["all", "year"] = "all",
    window: Window = None,
) -> pd.Series:
    """Entropy weights (熵权法) estimated on the children's scores (all rows, or the ``window`` years), then held fixed.

    See :func:`entropy`. Reference: Hwang & Yoon (1981), doi:10.1007/978-3-642-48318-9.
    """
    w = entropy(_in_window(children[list(nominal.index)], window, "entropy"), variant=variant, delta=delta, pool=pool)
    w.attrs["window"] = list(window) if window else None
    return w


# --------------------------------------------------------------------------------------------
# CRITIC, coefficient of variation, standard deviation
# --------------------------------------------------------------------------------------------


def critic(data: pd.DataFrame, *, correlation: Literal["pearson", "abs"] = "pearson") -> pd.Series:
    """CRITIC weights (CRiteria Importance Through Intercriteria Correlation): contrast × conflict.

    Parameters
    ----------
    data : DataFrame, rows = units or unit-years, columns = indicators (direction applied)
    correlation : {"pearson", "abs"}, default="pearson"
        Conflict R_j = Σ_k (1 − r_jk) with Pearson r (Diakoulaki et al. 1995), or Σ_k (1 − |r_jk|)
        so that a strong negative correlation counts as redundancy rather than conflict.

    Returns
    -------
    Series indexed by indicator, summing to 1
        ``attrs``: ``sd`` σ_j, ``conflict`` R_j, ``information`` C_j, ``correlation`` (matrix as
        nested dict), ``degenerate``, ``rows_used``, ``rows_dropped``.

    Notes
    -----
    On data min-max standardised to [0, 1] over all rows used: σ_j = sample SD (n − 1),
    C_j = σ_j·R_j, w_j = C_j/ΣC (METHODOLOGY §E2). Rows with a missing indicator are left out.
    A constant indicator has σ = 0 and an undefined correlation: it gets weight 0 and is left
    out of the other indicators' conflict sums (with a DegenerateIndicatorWarning).

    References
    ----------
    Diakoulaki, D., Mavrotas, G. & Papayannakis, L. (1995). Determining objective weights in
    multiple criteria problems: the CRITIC method. Comput. Oper. Res. 22(7):763–770.
    doi:10.1016/0305-0548(94)00059-H.

    Examples
    --------
    >>> X = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [2.0, 1, 4, 3], "c": [4.0, 3, 2, 1]})
    >>> critic(X).round(4).tolist()
    [0.3, 0.25, 0.45]
    """
    who = "weights.critic"
    if correlation not in ("pearson", "abs"):
        raise SpecError(f"{who}: correlation must be 'pearson' or 'abs'. Got {correlation!r} instead")
    X, dropped = _table(data, who)
    arr = X.to_numpy()
    const = _constant(arr)
    degenerate = list(X.columns[const])
    _warn_constant(degenerate, who, "their weight is 0 and they are left out of the conflict sums")
    keep = ~const
    Z = _minmax(arr, const)[:, keep]
    sd = np.zeros(len(X.columns))
    conflict = np.zeros(len(X.columns))
    r = np.ones((int(keep.sum()),) * 2)
    if keep.any():
        sd[keep] = Z.std(axis=0, ddof=1)
        if keep.sum() > 1:
            r = np.corrcoef(Z, rowvar=False)
        rr = np.abs(r) if correlation == "abs" else r
        conflict[keep] = (1.0 - rr).sum(axis=1)
    info = sd * conflict
    w = _normalise(info, X.columns, who)
    kept = list(X.columns[keep])
    return _finish(
        w, "critic", {"correlation": correlation}, X, dropped, sd=dict(zip(X.columns, sd.tolist())),
        conflict=dict(zip(X.columns, conflict.tolist())), information=dict(zip(X.columns, info.tolist())),
        correlation={a: dict(zip(kept, row)) for a, row in zip(kept, np.atleast_2d(r).tolist())}, degenerate=degenerate,
    )


@WEIGHTS.register("critic", check=_check_window, traits=("reads_data",))
def _critic_node(
    children: pd.DataFrame, nominal: pd.Series, *, correlation: Literal["pearson", "abs"] = "pearson", window: Window = None
) -> pd.Series:
    """CRITIC weights estimated on the children's scores (all rows, or the ``window`` years), then held fixed.

    See :func:`critic`. Reference: Diakoulaki et al. (1995), doi:10.1016/0305-0548(94)00059-H.
    """
    w = critic(_in_window(children[list(nominal.index)], window, "critic"), correlation=correlation)
    w.attrs["window"] = list(window) if window else None
    return w


def cv(data: pd.DataFrame) -> pd.Series:
    """Coefficient-of-variation weights (变异系数法): w_j ∝ s_j / x̄_j.

    Parameters
    ----------
    data : DataFrame, rows = units or unit-years, columns = indicators
        Ratio-scale data: every value >= 0 (raw positive data, as METHODOLOGY §E2 asks). On
        min-max normalised data the CV depends on where the minimum sits, so prefer raw data.

    Returns
    -------
    Series indexed by indicator, summing to 1
        ``attrs``: ``mean``, ``sd`` (sample, n − 1), ``cv``, ``degenerate``, ``rows_used``,
        ``rows_dropped``.

    Notes
    -----
    A negative value is an error listing the rows. Rows with a missing indicator are left out.
    A constant indicator (including an all-zero one) has s = 0, so weight 0, with a
    DegenerateIndicatorWarning; its mean is never divided into.

    References
    ----------
    METHODOLOGY.md §E2 (变异系数法). The coefficient of variation as a weight: Zeleny, M. (1982),
    Multiple Criteria Decision Making, McGraw-Hill (contrast intensity).

    Examples
    --------
    >>> cv(pd.DataFrame({"a": [1.0, 2, 3], "b": [10.0, 10, 13]})).round(4).tolist()
    [0.7605, 0.2395]
    """
    who = "weights.cv"
    X, dropped = _table(data, who)
    _require_nonnegative(X, who)
    arr = X.to_numpy()
    const = _constant(arr)
    degenerate = list(X.columns[const])
    _warn_constant(degenerate, who, "their standard deviation is 0, so their weight is 0")
    mean = arr.mean(axis=0)
    sd = np.where(const, 0.0, arr.std(axis=0, ddof=1))
    v = np.where(const, 0.0, sd / np.where(mean > 0, mean, 1.0))
    w = _normalise(v, X.columns, who)
    return _finish(w, "cv", {}, X, dropped, mean=dict(zip(X.columns, mean.tolist())),
                   sd=dict(zip(X.columns, sd.tolist())), cv=dict(zip(X.columns, v.tolist())), degenerate=degenerate)


@WEIGHTS.register("cv", check=_check_window, traits=("reads_data",))
def _cv_node(children: pd.DataFrame, nominal: pd.Series, *, window: Window = None) -> pd.Series:
    """Coefficient-of-variation weights (变异系数法) on the children's scores (all rows, or the ``window`` years), then held fixed.

    See :func:`cv`. Reference: METHODOLOGY.md §E2.
    """
    w = cv(_in_window(children[list(nominal.index)], window, "cv"))
    w.attrs["window"] = list(window) if window else None
    return w


def std(data: pd.DataFrame) -> pd.Series:
    """Standard-deviation weights: w_j ∝ SD of the min-max standardised indicator.

    Parameters
    ----------
    data : DataFrame, rows = units or unit-years, columns = indicators (direction applied)

    Returns
    -------
    Series indexed by indicator, summing to 1
        ``attrs``: ``sd`` (sample, n − 1, of the [0, 1] data), ``degenerate``, ``rows_used``,
        ``rows_dropped``.

    Notes
    -----
    Always on data min-max standardised to [0, 1] over the rows used, never on raw data (whose
    SD depends on the unit of measurement). Rows with a missing indicator are left out. A
    constant indicator has SD 0, so weight 0, with a DegenerateIndicatorWarning.

    References
    ----------
    Wang, Y.-M. & Luo, Y. (2010). Integration of correlations with standard deviations for
    determining attribute weights in multiple attribute decision making. Math. Comput. Model.
    51(1–2):1–12. doi:10.1016/j.mcm.2009.07.016.

    Examples
    --------
    >>> std(pd.DataFrame({"a": [0.0, 5, 10], "b": [0.0, 0, 1]})).round(4).tolist()
    [0.4641, 0.5359]
    """
    who = "weights.std"
    X, dropped = _table(data, who)
    arr = X.to_numpy()
    const = _constant(arr)
    degenerate = list(X.columns[const])
    _warn_constant(degenerate, who, "their standard deviation is 0, so their weight is 0")
    sd = np.where(const, 0.0, _minmax(arr, const).std(axis=0, ddof=1))
    w = _normalise(sd, X.columns, who)
    return _finish(w, "std", {}, X, dropped, sd=dict(zip(X.columns, sd.tolist())), degenerate=degenerate)


@WEIGHTS.register("std", check=_check_window, traits=("reads_data",))
def _std_node(children: pd.DataFrame, nominal: pd.Series, *, window: Window = None) -> pd.Series:
    """Standard-deviation weights on the min-max standardised children (all rows, or the ``window`` years), then held fixed.

    See :func:`std`. Reference: Wang & Luo (2010), doi:10.1016/j.mcm.2009.07.016.
    """
    w = std(_in_window(children[list(nominal.index)], window, "std"))
    w.attrs["window"] = list(window) if window else None
    return w


# --------------------------------------------------------------------------------------------
# PCA / factor analysis
# --------------------------------------------------------------------------------------------


def kmo(corr: np.ndarray) -> tuple[float, np.ndarray]:
    """Kaiser–Meyer–Olkin measure of sampling adequacy: (overall KMO, MSA per variable).

    KMO = Σ_{i≠j} r_ij² / (Σ_{i≠j} r_ij² + Σ_{i≠j} q_ij²), with q the partial correlations
    q_ij = −S_ij/√(S_ii S_jj), S = R⁻¹ (pseudo-inverse if R is singular). Kaiser (1970),
    doi:10.1007/BF02291817; Kaiser & Rice (1974), doi:10.1177/001316447403400115.
    """
    R = np.asarray(corr, dtype=float)
    try:
        S = np.linalg.inv(R)
    except np.linalg.LinAlgError:
        S = np.linalg.pinv(R)
    d = np.sqrt(np.abs(np.diag(S)))
    Q = -S / np.outer(d, d)
    off = ~np.eye(len(R), dtype=bool)
    r2 = np.where(off, R**2, 0.0)
    q2 = np.where(off, Q**2, 0.0)
    total = r2.sum() + q2.sum()
    overall = float(r2.sum() / total) if total > 0 else math.nan
    per = r2.sum(axis=1) / np.where(r2.sum(axis=1) + q2.sum(axis=1) > 0, r2.sum(axis=1) + q2.sum(axis=1), 1.0)
    return overall, per


def bartlett_sphericity(corr: np.ndarray, n: int) -> dict[str, float]:
    """Bartlett's test that the correlation matrix is the identity.

    χ² = −(n − 1 − (2p + 5)/6)·ln|R| with p(p − 1)/2 degrees of freedom (Bartlett 1950,
    doi:10.1111/j.2044-8317.1950.tb00285.x); p-value from ``scipy.stats.chi2``. NaN when R is
    singular (n <= p, or an exact linear dependence).
    """
    from scipy.stats import chi2

    R = np.asarray(corr, dtype=float)
    p = R.shape[0]
    df = p * (p - 1) / 2
    sign, logdet = np.linalg.slogdet(R)
    if n <= p or np.linalg.matrix_rank(R) < p or sign <= 0 or not np.isfinite(logdet):  # singular R
        return {"statistic": math.nan, "df": df, "pvalue": math.nan}
    stat = -(n - 1 - (2 * p + 5) / 6) * logdet
    return {"statistic": float(stat), "df": df, "pvalue": float(chi2.sf(stat, df))}


def _varimax(L: np.ndarray) -> np.ndarray:
    """Varimax rotation with Kaiser normalisation (rows scaled to unit communality first, as R's
    ``stats::varimax`` and SPSS do), computed by ``statsmodels`` ``rotate_factors``."""
    if L.shape[1] < 2:
        return L.copy()
    from statsmodels.multivariate.factor_rotation import rotate_factors

    h = np.sqrt((L**2).sum(axis=1, keepdims=True))
    h = np.where(h > 0, h, 1.0)
    Lr, _ = rotate_factors(L / h, "varimax")
    return Lr * h


def pca(
    data: pd.DataFrame,
    *,
    variant: Literal["handbook", "coinr"] = "handbook",
    n_factors: int | None = None,
) -> pd.Series:
    """Weights from principal components (statsmodels PCA on the correlation matrix).

    Parameters
    ----------
    data : DataFrame, rows = units or unit-years, columns = indicators (direction applied)
    variant : {"handbook", "coinr"}, default="handbook"
        ``handbook`` (OECD/JRC Handbook 2008, step 6, after Nicoletti et al. 2000): keep the
        factors with eigenvalue > 1 (Kaiser), rotate their loadings by varimax, square the rotated
        loadings and scale them to unit sum within each factor; each indicator joins the factor on
        which it loads most, each factor is weighted by its share of the variance the kept factors
        explain, and the products are rescaled to sum to 1. ``coinr``: absolute first-component
        loadings (eigenvector entries) rescaled to sum to 1 (COINr ``get_PCA``, which uses the
        signed loadings; equal when they share a sign).
    n_factors : int, optional
        Number of factors to keep in ``handbook`` (default: every eigenvalue > 1, at least one).

    Returns
    -------
    Series indexed by indicator, summing to 1
        ``attrs``: ``eigenvalues`` and ``explained`` (of the correlation matrix), ``loadings``
        (component loadings eigvec·√λ, per indicator, sign fixed so each component's loadings sum
        >= 0), ``rotated_loadings`` and ``factor_shares`` (handbook), ``kmo``,
        ``kmo_per_indicator``, ``bartlett`` ({statistic, df, pvalue}), ``degenerate``,
        ``rows_used``, ``rows_dropped``.

    Notes
    -----
    The data are z-scored (PCA of the correlation matrix). Rows with a missing indicator are
    left out, as COINr does. A constant indicator has no correlation: it is left out of the PCA
    and gets weight 0 (DegenerateIndicatorWarning). KMO (>= 0.6 wanted) and Bartlett's test
    (p < 0.05 wanted, METHODOLOGY §B4/§E2) are reported, not enforced. With fewer rows than
    indicators the correlation matrix is singular: Bartlett's statistic is NaN and a
    SmallSampleWarning is issued.

    References
    ----------
    OECD/JRC (2008). Handbook on Constructing Composite Indicators, pp. 89–91.
    doi:10.1787/9789264043466-en.
    Nicoletti, G., Scarpetta, S. & Boylaud, O. (2000). Summary indicators of product market
    regulation. OECD Economics Department WP 226. doi:10.1787/215182844604.
    Kaiser, H. F. (1958). The varimax criterion for analytic rotation in factor analysis.
    Psychometrika 23:187–200. doi:10.1007/BF02289233.

    Examples
    --------
    >>> X = pd.DataFrame({"a": [1.0, 2, 3, 4, 5], "b": [2.0, 1, 4, 3, 5], "c": [1.0, 3, 2, 5, 4]})
    >>> w = pca(X, variant="coinr")
    >>> round(float(w.sum()), 12), w.idxmax()
    (1.0, 'a')
    """
    from statsmodels.multivariate.pca import PCA

    who = "weights.pca"
    if variant not in ("handbook", "coinr"):
        raise SpecError(f"{who}: variant must be 'handbook' or 'coinr'. Got {variant!r} instead")
    X, dropped = _table(data, who)
    arr = X.to_numpy()
    const = _constant(arr)
    degenerate = list(X.columns[const])
    _warn_constant(degenerate, who, "they are left out of the PCA and get weight 0")
    keep = ~const
    cols = list(X.columns[keep])
    p = len(cols)
    score = np.zeros(len(X.columns))
    extra: dict[str, Any] = {"degenerate": degenerate}
    if p == 0:
        w = _normalise(score, X.columns, who)
        return _finish(w, "pca", {"variant": variant, "n_factors": n_factors}, X, dropped, **extra)
    if p == 1:
        score[keep] = 1.0
        w = _normalise(score, X.columns, who)
        return _finish(w, "pca", {"variant": variant, "n_factors": n_factors}, X, dropped, **extra)
    Y = arr[:, keep]
    n = Y.shape[0]
    if n <= p:
        warnings.warn(
            f"{who}: {n} rows for {p} indicators; the correlation matrix is singular, so PCA weights are unstable",
            SmallSampleWarning,
            stacklevel=2,
        )
    res = PCA(Y, ncomp=min(p, n), standardize=True, demean=True, normalize=True, method="eig")
    lam = np.clip(np.asarray(res.eigenvals, dtype=float) / n, 0.0, None)  # eigenvalues of the correlation matrix
    vecs = np.asarray(res.eigenvecs, dtype=float)
    signs = np.where(vecs.sum(axis=0) < 0, -1.0, 1.0)
    vecs = vecs * signs
    loadings = vecs * np.sqrt(lam)
    corr = np.corrcoef(Y, rowvar=False)
    k_all, k_per = kmo(corr)
    extra.update(
        eigenvalues=lam.tolist(),
        explained=(lam / lam.sum()).tolist(),
        loadings={c: row for c, row in zip(cols, loadings.tolist())},
        kmo=k_all,
        kmo_per_indicator=dict(zip(cols, k_per.tolist())),
        bartlett=bartlett_sphericity(corr, n),
    )
    if variant == "coinr":
        score[keep] = np.abs(vecs[:, 0])
    else:
        m = int(n_factors) if n_factors is not None else max(1, int((lam > 1.0).sum()))
        if not 1 <= m <= p:
            raise SpecError(f"{who}: n_factors must be between 1 and {p} (the informative indicators). Got {n_factors!r} instead")
        Lr = _varimax(loadings[:, :m])
        sq = Lr**2
        var = sq.sum(axis=0)
        q = sq / np.where(var > 0, var, 1.0)
        share = var / var.sum()
        home = np.argmax(sq, axis=1)
        score[keep] = q[np.arange(p), home] * share[home]
        extra.update(
            factors_kept=m,
            rotated_loadings={c: row for c, row in zip(cols, Lr.tolist())},
            factor_shares=share.tolist(),
            factor_of={c: int(h) for c, h in zip(cols, home)},
        )
    w = _normalise(score, X.columns, who)
    return _finish(w, "pca", {"variant": variant, "n_factors": n_factors}, X, dropped, **extra)


@WEIGHTS.register("pca", check=_check_window, traits=("reads_data",))
def _pca_node(
    children: pd.DataFrame,
    nominal: pd.Series,
    *,
    variant: Literal["handbook", "coinr"] = "handbook",
    n_factors: Annotated[int, Field(ge=1)] | None = None,
    window: Window = None,
) -> pd.Series:
    """PCA / factor-analysis weights on the children's scores (all rows, or the ``window`` years), then held fixed.

    See :func:`pca`. Reference: OECD/JRC Handbook (2008), doi:10.1787/9789264043466-en.
    """
    w = pca(_in_window(children[list(nominal.index)], window, "pca"), variant=variant, n_factors=n_factors)
    w.attrs["window"] = list(window) if window else None
    return w


# --------------------------------------------------------------------------------------------
# benefit of the doubt
# --------------------------------------------------------------------------------------------


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
    X, dropped = _table(data, who)
    _require_nonnegative(X, who)
    arr = X.to_numpy()
    const = _constant(arr)
    degenerate = list(X.columns[const])
    _warn_constant(degenerate, who, "a constant indicator lets every unit score 1 by weighting it alone, so it is excluded (weight 0)")
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


# --------------------------------------------------------------------------------------------
# combined subjective + objective weights
# --------------------------------------------------------------------------------------------


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
    METHODOLOGY.md §E2 (组合赋权: linear α = 0.5, multiplicative, game theory).
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
    are combined by :func:`combine`. Reference: METHODOLOGY.md §E2.
    """
    sets = []
    for i, choice in enumerate(methods):
        m = WEIGHTS.get(choice["method"])
        params = m.validate(choice.get("params") or {}, f"weights.combine.methods[{i}].params")
        w = m.func(children, nominal, **params)
        sets.append(pd.Series(np.asarray(w, dtype=float), index=nominal.index, name=f"{i}:{choice['method']}"))
    return combine(sets, how=how, alpha=alpha)


def weight_set_yaml(build: Any, out: Path | None = None) -> str:
    """A variant spec holding a build's resolved weights as fixed weights, for review and reuse.

    It ``extends`` the build's spec (path relative to ``out``), sets every node's weight to the
    weight the build used within its parent, and replaces the weights step by ``fixed``, so
    data-driven weights estimated once (e.g. on a base window) stay frozen.
    """
    import os

    import yaml

    spec = build.spec
    w = build.weights.set_index("node")
    src = Path(spec.source)
    base = os.path.relpath(src.resolve(), (out.parent if out else Path.cwd()).resolve()) if src.exists() else str(src)
    methods = {row.node: row.children_weights for row in build.weights.itertuples() if row.children_weights}
    data = {
        "extends": base,
        "index": {"id": f"{spec.index.id}_derived", "description": (
            f"Weights estimated by {spec.index.id}'s weights step ("
            + ", ".join(f"{k}: {v}" for k, v in methods.items())
            + "), frozen as fixed weights."
        )},
        "weight_set": {code: float(w.loc[code, "weight"]) for code in spec.nodes if spec.parents[code] is not None},
        "set": {"steps.weights": {"method": "fixed"}},
    }
    return "# Derived weight set: review before use.\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
