"""Subjective weights: the spec's own (``fixed``), equal, and AHP pairwise comparisons."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction
from typing import Any, Literal, Sequence

import numpy as np
import pandas as pd

from ..errors import IndexEngineError, InconsistentJudgementsWarning, SpecError
from ._shared import WEIGHTS

@WEIGHTS.register("fixed", traits=("distributable",))
def fixed(children: pd.DataFrame, nominal: pd.Series) -> pd.Series:
    """The spec's weights, rescaled to sum to 1 within the parent: w_i / Σ_j w_j (COINr: weights are relative).

    Reference: docs/methodology.md §H (COINr 1.1.14 conventions).
    """
    w = nominal.astype(float)
    return w / w.sum()


@WEIGHTS.register("equal", traits=("distributable",))
def equal(children: pd.DataFrame, nominal: pd.Series) -> pd.Series:
    """Equal weights 1/k for the k children (逐级等权 when used at every level, docs/methodology.md §E1)."""
    return pd.Series(np.full(len(nominal), 1.0 / len(nominal)), index=nominal.index)


# --------------------------------------------------------------------------------------------
# AHP
# --------------------------------------------------------------------------------------------

RI_TABLES: dict[str, dict[int, float]] = {
    # Saaty (1980), The Analytic Hierarchy Process, McGraw-Hill; docs/methodology.md §E2.
    "saaty1980": {1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41, 9: 1.45, 10: 1.49},
    # Saaty (2005), Theory and Applications of the ANP, p. 31; also Saaty & Tran (2007),
    # doi:10.1016/j.mcm.2007.03.022 (the table used by AHPy 'saaty' and R ahpsurvey).
    "saaty2005": {
        1: 0.0, 2: 0.0, 3: 0.52, 4: 0.89, 5: 1.11, 6: 1.25, 7: 1.35, 8: 1.40, 9: 1.45, 10: 1.49,
        11: 1.52, 12: 1.54, 13: 1.56, 14: 1.58, 15: 1.59,
    },
    # The table in most Chinese AHP textbooks and code (docs/methodology.md §E2's "alternative table").
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
    docs/methodology.md §E2.

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
