"""Weighting methods (the weights package) and TOPSIS (aggregate.py): contract tests over every registered
weights method, and reference tests against independent sources (published vectors, hand
computations written out here with numpy, brute force)."""

from __future__ import annotations

import copy
import itertools
import warnings

import numpy as np
import pandas as pd
import pytest

import index_engine as ie
from index_engine.aggregate import AGGREGATE, topsis, topsis_scores
from index_engine.errors import DataError, DegenerateIndicatorWarning, SpecError, WeightsNotNormalizedWarning
from index_engine.weights import (
    RI_TABLES,
    WEIGHTS,
    InconsistentJudgementsWarning,
    ahp,
    bartlett_sphericity,
    bod,
    combine,
    critic,
    cv,
    entropy,
    kmo,
    optimal,
    pca,
    std,
)

from .conftest import ROOT

KIDS = ["a", "b", "c", "d"]

CONSISTENT_4 = [[1, 2, 4, 8], ["1/2", 1, 2, 4], ["1/4", "1/2", 1, 2], ["1/8", "1/4", "1/2", 1]]

# params that exercise each registered method on a 4-child node; a new method must be added here
PARAMS: dict[str, dict] = {
    "fixed": {},
    "equal": {},
    "ahp": {"matrix": CONSISTENT_4},
    "entropy": {},
    "critic": {},
    "cv": {},
    "std": {},
    "pca": {},
    "bod": {},
    "combine": {"methods": [{"method": "entropy"}, {"method": "critic"}]},
    "optimal": {},
}
DATA_DRIVEN = frozenset(n for n in WEIGHTS.available() if WEIGHTS.get(n).has("reads_data"))
"""The weighting methods that read the children's scores, as they declare it (the ``reads_data`` trait)."""


def test_the_methods_that_read_data_declare_it():
    """What the trait says against what each method does: these eight estimate weights from the data; the
    others (fixed, equal, AHP) take the spec's numbers only."""
    assert DATA_DRIVEN == {"entropy", "critic", "cv", "std", "pca", "bod", "combine", "optimal"}


def panel_children(seed: int = 7) -> pd.DataFrame:
    """12 units × 3 years of 4 correlated, non-negative children (rows = (unit, year))."""
    rng = np.random.default_rng(seed)
    idx = pd.MultiIndex.from_product([[f"U{i:02d}" for i in range(12)], [2020, 2021, 2022]], names=["unit", "year"])
    f = rng.normal(size=(len(idx), 1))
    X = np.abs(50 + 15 * f + rng.normal(scale=[5, 10, 15, 20], size=(len(idx), 4)))
    return pd.DataFrame(X, index=idx, columns=KIDS)


def nominal() -> pd.Series:
    return pd.Series([1.0, 1.0, 2.0, 1.0], index=KIDS)


def call(name: str, children: pd.DataFrame, **override) -> pd.Series:
    m = WEIGHTS.get(name)
    params = m.validate({**PARAMS[name], **override}, f"test.{name}")
    return m.func(children, nominal(), **params)


# ------------------------------------------------------------------------------------------
# contract tests, parametrised over every registered weights method
# ------------------------------------------------------------------------------------------


def test_every_registered_method_has_contract_params():
    assert set(WEIGHTS.available()) == set(PARAMS)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_contract_nonnegative_sums_to_one_deterministic_not_mutating(name):
    X = panel_children()
    before = X.copy(deep=True)
    params_before = copy.deepcopy(PARAMS[name])
    w1 = call(name, X)
    w2 = call(name, X)
    pd.testing.assert_frame_equal(X, before)
    assert PARAMS[name] == params_before
    assert list(w1.index) == KIDS
    assert (np.asarray(w1) >= 0).all()
    assert float(np.sum(w1)) == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_array_equal(np.asarray(w1), np.asarray(w2))


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_contract_docstring_and_reference(name):
    doc = WEIGHTS.get(name).func.__doc__ or ""
    assert WEIGHTS.get(name).summary
    assert any(k in doc for k in ("doi:", "Reference", "methodology.md", "COINr")), name


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_contract_constant_indicator_follows_the_rule(name):
    """Data-driven methods: a constant indicator carries no information -> weight 0 + warning.
    Subjective / nominal methods (fixed, equal, ahp) do not look at the data."""
    X = panel_children()
    X["c"] = 42.0
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        w = call(name, X)
    degenerate = [r for r in rec if issubclass(r.category, DegenerateIndicatorWarning)]
    assert float(np.sum(w)) == pytest.approx(1.0)
    if name in DATA_DRIVEN:
        assert float(w["c"]) == 0.0
        assert degenerate and "c" in str(degenerate[0].message)
    else:
        assert not degenerate
        assert float(w["c"]) > 0


@pytest.mark.parametrize("name", sorted(DATA_DRIVEN - {"combine"}))
def test_window_estimates_on_those_years_and_ignores_the_others(name):
    X = panel_children()
    w = call(name, X, window=[2020, 2021])
    alone = call(name, X[X.index.get_level_values("year") <= 2021])
    np.testing.assert_allclose(np.asarray(w), np.asarray(alone), atol=1e-12)
    Y = X.copy()
    Y.loc[Y.index.get_level_values("year") == 2022, "a"] *= 7.0
    np.testing.assert_allclose(np.asarray(call(name, Y, window=[2020, 2021])), np.asarray(w), atol=1e-12)
    with pytest.raises(DataError, match="no rows in the window 1990–1995"):
        call(name, X, window=[1990, 1995])


@pytest.mark.parametrize("name", sorted(DATA_DRIVEN - {"combine"}))
def test_window_must_be_ordered(name):
    with pytest.raises(SpecError, match="first_year <= last_year"):
        WEIGHTS.get(name).validate({"window": [2022, 2020]}, "w.yaml: steps.weights.params")


@pytest.mark.parametrize("name", sorted(DATA_DRIVEN - {"combine"}))
def test_all_constant_falls_back_to_equal_weights(name):
    X = pd.DataFrame({"a": [1.0] * 4, "b": [2.0] * 4})
    fn = {"entropy": entropy, "critic": critic, "cv": cv, "std": std, "pca": pca, "optimal": optimal}.get(name)
    with pytest.warns(DegenerateIndicatorWarning):
        w = fn(X) if fn else bod(X).mean()
    np.testing.assert_allclose(w, [0.5, 0.5])


@pytest.mark.parametrize("fn", [entropy, critic, cv, std, pca, bod, optimal])
def test_missing_rows_are_left_out_and_counted(fn):
    X = panel_children().droplevel("year").reset_index(drop=True)
    Y = X.copy()
    Y.iloc[3, 1] = np.nan
    w = fn(Y)
    w0 = fn(X.drop(index=3))
    np.testing.assert_allclose(np.asarray(w), np.asarray(w0))
    assert w.attrs["rows_dropped"] == 1 and w.attrs["rows_used"] == len(X) - 1


@pytest.mark.parametrize("fn", [entropy, critic, cv, std, pca, bod, optimal])
def test_too_few_rows_and_bad_input_are_data_errors(fn):
    with pytest.raises(DataError, match="at least 2 rows"):
        fn(pd.DataFrame({"a": [1.0, np.nan], "b": [1.0, 2.0]}))
    with pytest.raises(DataError, match="infinite"):
        fn(pd.DataFrame({"a": [1.0, np.inf, 2.0], "b": [1.0, 2.0, 3.0]}))
    with pytest.raises(DataError, match="DataFrame"):
        fn(np.ones((3, 2)))


@pytest.mark.parametrize("fn", [cv, bod])
def test_negative_values_are_an_error_listing_rows(fn):
    X = pd.DataFrame({"a": [1.0, -2.0, 3.0], "b": [1.0, 2.0, 3.0]}, index=["x", "y", "z"])
    with pytest.raises(DataError, match=r"indicator a has negative values: y \(-2\)"):
        fn(X)


# ------------------------------------------------------------------------------------------
# entropy
# ------------------------------------------------------------------------------------------


def test_entropy_reproduces_the_methodology_test_vector():
    """docs/methodology.md §E2: X = [[9,0,0,0],[8,3,0.9,0.5],[6,7,0.2,1]], vector-normalised
    (x/√Σx²), with 0·ln0 = 0, gives w = [0.00856537, 0.30716152, 0.39326471, 0.2910084]."""
    X = pd.DataFrame([[9, 0, 0, 0], [8, 3, 0.9, 0.5], [6, 7, 0.2, 1]], columns=list("ABCD"), dtype=float)
    V = X / np.sqrt((X**2).sum())
    w = entropy(V, variant="raw")
    np.testing.assert_allclose(w, [0.00856537, 0.30716152, 0.39326471, 0.2910084], rtol=0, atol=5e-9)
    assert w.attrs["params"]["delta"] == 0.0
    assert w.attrs["k"] == pytest.approx(1 / np.log(3))


def test_entropy_standardised_matches_a_hand_computation():
    """docs/methodology.md §E2 steps 1–5, written out: min-max over all rows, z' = z + 1e-4,
    p = z'/Σz', e = −Σp ln p / ln n, w ∝ 1 − e."""
    X = panel_children()
    A = X.to_numpy()
    n = A.shape[0]
    z = (A - A.min(axis=0)) / (A.max(axis=0) - A.min(axis=0)) + 1e-4
    p = z / z.sum(axis=0)
    e = -(p * np.log(p)).sum(axis=0) / np.log(n)
    w_ref = (1 - e) / (1 - e).sum()
    w = entropy(X)
    np.testing.assert_allclose(w, w_ref, rtol=1e-12)
    assert w.attrs["k"] == pytest.approx(1 / np.log(36))  # panel: k = 1/ln(n·T), 12 units × 3 years
    np.testing.assert_allclose(list(w.attrs["entropy"].values()), e, rtol=1e-12)


def test_entropy_delta_is_recorded_and_moves_the_weights():
    X = panel_children()
    w4, w2 = entropy(X), entropy(X, delta=1e-2)
    assert w4.attrs["params"]["delta"] == 1e-4 and w2.attrs["params"]["delta"] == 1e-2
    assert not np.allclose(w4, w2)


def test_entropy_pool_year_is_the_mean_of_yearly_cross_sections():
    X = panel_children()
    per_year = [entropy(g) for _, g in X.groupby(level="year")]
    w = entropy(X, pool="year")
    np.testing.assert_allclose(w, np.mean(per_year, axis=0), rtol=1e-12)
    assert set(w.attrs["by_year"]) == {2020, 2021, 2022}
    with pytest.raises(DataError, match="no 'year' level"):
        entropy(X.reset_index(drop=True), pool="year")


def test_entropy_raw_needs_nonnegative_values_and_param_errors():
    with pytest.raises(DataError, match="negative"):
        entropy(pd.DataFrame({"a": [1.0, -1.0], "b": [1.0, 2.0]}), variant="raw")
    with pytest.raises(SpecError, match="variant"):
        entropy(panel_children(), variant="log")
    with pytest.raises(SpecError, match="pool"):
        entropy(panel_children(), pool="unit")
    with pytest.raises(SpecError, match="delta"):
        entropy(panel_children(), delta=-1.0)


def test_entropy_all_zero_raw_column_gets_weight_zero():
    X = pd.DataFrame({"a": [0.0, 0.0, 0.0], "b": [1.0, 2.0, 5.0], "c": [3.0, 1.0, 1.0]})
    with pytest.warns(DegenerateIndicatorWarning):
        w = entropy(X, variant="raw")
    assert w["a"] == 0.0 and w.sum() == pytest.approx(1.0)


# ------------------------------------------------------------------------------------------
# AHP
# ------------------------------------------------------------------------------------------


def test_ahp_arcgis_test_matrix_column_normalised_row_mean():
    """ArcGIS Pro documentation's AHP example (docs/methodology.md §E2): the column-normalised row
    mean gives [0.235, 0.089, 0.136, 0.247, 0.294]; the matrix is inconsistent (CR ≈ 0.33)."""
    A = [[1, 3, 2, 2, 0.333], [0.333, 1, 0.5, 1, 0.2], [0.5, 2, 1, 1, 0.5], [0.5, 1, 1, 1, 5], [3, 5, 2, 0.2, 1]]
    with pytest.warns(InconsistentJudgementsWarning, match="CR = 0.331"):
        w = ahp(A, method="colmean", on_inconsistent="warn")
    np.testing.assert_allclose(w.round(3), [0.235, 0.089, 0.136, 0.247, 0.294])
    assert w.attrs["cr"] == pytest.approx(0.33, abs=0.005)
    with pytest.raises(SpecError, match=r"CR = 0\.331 >= 0\.10"):
        ahp(A, method="colmean")


def test_ahp_consistent_3x3_all_methods_give_the_exact_weights():
    """Hand computation: a_ij = w_i/w_j with w = (4, 2, 1)/7 is perfectly consistent, so the
    eigenvector (λmax = n = 3), the row geometric means and the column-normalised row means all
    return w exactly, and CI = CR = 0 (Saaty 1980, Ch. 2)."""
    A = [[1, 2, 4], ["1/2", 1, 2], ["1/4", "1/2", 1]]
    for method in ("eigenvector", "geometric", "colmean"):
        w = ahp(A, method=method)
        np.testing.assert_allclose(w, [4 / 7, 2 / 7, 1 / 7], rtol=0, atol=1e-12)
        assert w.attrs["lambda_max"] == pytest.approx(3.0, abs=1e-9)
        assert w.attrs["cr"] == pytest.approx(0.0, abs=1e-9)


def test_ahp_upper_triangle_blank_cells_and_fraction_strings():
    full = ahp([[1, 3, 5], ["1/3", 1, 2], ["1/5", "1/2", 1]], on_inconsistent="warn")
    tri = ahp([[1, 3, 5], [1, 2], [1]], on_inconsistent="warn")
    blank = ahp([[1, 3, 5], [None, 1, 2], [None, "", 1]], on_inconsistent="warn")
    np.testing.assert_allclose(full, tri, atol=1e-12)
    np.testing.assert_allclose(full, blank, atol=1e-12)


def test_ahp_reciprocity_tolerance_and_cell_errors():
    ahp([[1, 3], [0.333, 1]])  # within 1%
    with pytest.raises(SpecError, match=r"not reciprocal at row 2, column 1"):
        ahp([[1, 3], [0.5, 1]])
    with pytest.raises(SpecError, match=r"row 1, column 2 \(x vs y\) is 0"):
        ahp([[1, 0], [1, 1]], labels=["x", "y"])
    with pytest.raises(SpecError, match=r"row 2, column 1 is -2"):
        ahp([[1, 3], [-2, 1]])
    with pytest.raises(SpecError, match=r"row 1, column 2 is 'three'"):
        ahp([[1, "three"], ["1/3", 1]])
    with pytest.raises(SpecError, match="diagonal must be 1"):
        ahp([[2, 3], ["1/3", 1]])
    with pytest.raises(SpecError, match="missing"):
        ahp([[1, None], [None, 1]])
    with pytest.raises(SpecError, match="rows have lengths"):
        ahp([[1, 2, 3], [1, 2]])
    with pytest.raises(SpecError, match="empty"):
        ahp([])
    with pytest.raises(SpecError, match="on_inconsistent"):
        ahp([[1]], on_inconsistent="ignore")
    with pytest.raises(SpecError, match="tolerance"):
        ahp([[1]], tolerance=2.0)
    with pytest.raises(SpecError, match="unknown AHP method"):
        ahp([[1]], method="power")


def test_ahp_experts_combine_by_elementwise_geometric_mean():
    """Aczél & Saaty (1983): the geometric mean of 2 and 8 is 4, so two experts' 2×2 judgements
    combine to a_12 = 4 and w = (0.8, 0.2)."""
    w = ahp([[[1, 2], ["1/2", 1]], [[1, 8], ["1/8", 1]]])
    np.testing.assert_allclose(w, [0.8, 0.2], atol=1e-12)
    assert w.attrs["experts"] == 2 and len(w.attrs["cr_experts"]) == 2
    with pytest.raises(SpecError, match="differ in size"):
        ahp([[[1, 2], ["1/2", 1]], [[1, 1, 1], [1, 1, 1], [1, 1, 1]]])


def test_ahp_ri_tables():
    """RI(n) for n = 1…10 as docs/methodology.md §E2 lists it (Saaty), and Alonso & Lamata (2006)
    against an independent Monte Carlo of random Saaty-scale reciprocal matrices."""
    assert [RI_TABLES["saaty1980"][n] for n in range(1, 11)] == [0, 0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49]
    assert [RI_TABLES["cn_textbook"][n] for n in range(3, 11)] == [0.52, 0.89, 1.12, 1.26, 1.36, 1.41, 1.46, 1.49]
    rng = np.random.default_rng(1)
    scale = np.array([1 / 9, 1 / 8, 1 / 7, 1 / 6, 1 / 5, 1 / 4, 1 / 3, 1 / 2, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    for n in (3, 5, 8):
        iu = np.triu_indices(n, 1)
        M = np.ones((20000, n, n))
        d = scale[rng.integers(0, 17, size=(20000, len(iu[0])))]
        M[:, iu[0], iu[1]] = d
        M[:, iu[1], iu[0]] = 1 / d
        ri = ((np.linalg.eigvals(M).real.max(axis=1) - n) / (n - 1)).mean()
        assert RI_TABLES["alonso_lamata"][n] == pytest.approx(ri, abs=0.02)
    A = np.ones((11, 11)).tolist()
    with pytest.raises(SpecError, match="beyond the RI table 'saaty1980'"):
        ahp(A)
    assert ahp(A, ri_table="saaty2005").attrs["ri"] == 1.52


def test_ahp_registry_adapter_size_labels_and_load_time_checks():
    X = panel_children()
    with pytest.raises(SpecError, match=r"3×3 but the node has 4 children \(a, b, c, d\)"):
        call("ahp", X, matrix=[[1, 1, 1], [1, 1, 1], [1, 1, 1]])
    w = call("ahp", X, matrix=CONSISTENT_4, labels=["d", "c", "b", "a"])
    np.testing.assert_allclose(w.loc[["d", "c", "b", "a"]], [8 / 15, 4 / 15, 2 / 15, 1 / 15])
    with pytest.raises(SpecError, match="must name exactly the node's children"):
        call("ahp", X, matrix=CONSISTENT_4, labels=["a", "b", "c", "z"])
    m = WEIGHTS.get("ahp")
    with pytest.raises(SpecError, match="either 'matrix'"):
        m.validate({}, "w.yaml: steps.weights.params")
    with pytest.raises(SpecError, match="either 'matrix'"):
        m.validate({"matrix": [[1]], "matrices": [[[1]]]}, "w.yaml: steps.weights.params")
    bad = [[1, 9, "1/9"], ["1/9", 1, 9], [9, "1/9", 1]]
    with pytest.raises(SpecError, match=r"w\.yaml: steps\.weights\.params: weights\.ahp: AHP comparisons are inconsistent: CR = "):
        m.validate({"matrix": bad}, "w.yaml: steps.weights.params")
    m.validate({"matrix": bad, "on_inconsistent": "warn"}, "w.yaml: steps.weights.params")
    with pytest.raises(SpecError, match="distinct"):
        m.validate({"matrix": [[1, 1], [1, 1]], "labels": ["a", "a"]}, "w.yaml")
    with pytest.raises(SpecError, match="tolerance"):
        m.validate({"matrix": [[1]], "tolerance": 0}, "w.yaml")
    with pytest.raises(SpecError, match=r"\(0, 1\)"):
        m.validate({"matrix": [[1]], "tolerance": 5}, "w.yaml")
    with pytest.raises(SpecError, match="not reciprocal"):
        m.validate({"matrices": [[[1, 2], [1, 1]]]}, "w.yaml")


# ------------------------------------------------------------------------------------------
# CRITIC, CV, SD
# ------------------------------------------------------------------------------------------


def test_critic_matches_a_hand_computation():
    """Diakoulaki et al. (1995) / docs/methodology.md §E2, written out: min-max to [0,1], σ with n−1,
    Pearson r by its definition, C_j = σ_j Σ_k (1 − r_jk), w = C/ΣC."""
    X = pd.DataFrame(
        {"a": [3.0, 7, 2, 9, 5], "b": [10.0, 40, 20, 50, 30], "c": [8.0, 1, 6, 2, 5]}, index=list("vwxyz")
    )
    Z = {k: (X[k].to_numpy() - X[k].min()) / (X[k].max() - X[k].min()) for k in X}
    n = 5

    def sd(v):
        return (sum((x - v.mean()) ** 2 for x in v) / (n - 1)) ** 0.5

    def r(u, v):
        return sum((x - u.mean()) * (y - v.mean()) for x, y in zip(u, v)) / (
            sum((x - u.mean()) ** 2 for x in u) * sum((y - v.mean()) ** 2 for y in v)
        ) ** 0.5

    C = {j: sd(Z[j]) * sum(1 - r(Z[j], Z[k]) for k in Z) for j in Z}
    w_ref = np.array([C[j] for j in "abc"]) / sum(C.values())
    np.testing.assert_allclose(critic(X), w_ref, rtol=1e-12)
    Cabs = {j: sd(Z[j]) * sum(1 - abs(r(Z[j], Z[k])) for k in Z) for j in Z}
    np.testing.assert_allclose(critic(X, correlation="abs"), np.array([Cabs[j] for j in "abc"]) / sum(Cabs.values()))
    with pytest.raises(SpecError, match="correlation"):
        critic(X, correlation="spearman")


def test_critic_constant_indicator_is_left_out_of_the_conflict_sums():
    X = panel_children()
    with_c = X.assign(c=5.0)
    with pytest.warns(DegenerateIndicatorWarning):
        w = critic(with_c)
    np.testing.assert_allclose(w.drop("c"), critic(X.drop(columns="c")), rtol=1e-12)


def test_cv_and_std_match_hand_computations():
    """变异系数法 and the SD method (docs/methodology.md §E2; Wang & Luo 2010): by hand."""
    X = pd.DataFrame({"a": [1.0, 2, 3, 6], "b": [10.0, 10, 13, 11], "c": [0.0, 5, 5, 10]})
    v = X.std(ddof=1) / X.mean()
    np.testing.assert_allclose(cv(X), v / v.sum(), rtol=1e-12)
    Z = (X - X.min()) / (X.max() - X.min())
    s = Z.std(ddof=1)
    np.testing.assert_allclose(std(X), s / s.sum(), rtol=1e-12)
    # std is unit-free: rescaling an indicator changes nothing (raw SD would)
    np.testing.assert_allclose(std(X.assign(b=X.b * 1000)), std(X), rtol=1e-12)


# ------------------------------------------------------------------------------------------
# PCA
# ------------------------------------------------------------------------------------------


def factor_data(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(80, 2))
    L = np.array([[0.9, 0.1], [0.8, 0.2], [0.85, 0.0], [0.1, 0.9], [0.2, 0.8], [0.0, 0.7]])
    return pd.DataFrame(f @ L.T + 0.4 * rng.normal(size=(80, 6)), columns=[f"x{i}" for i in range(6)])


def varimax_reference(L: np.ndarray, tol: float = 1e-12, it: int = 2000) -> np.ndarray:
    """Kaiser (1958) varimax with Kaiser normalisation, SVD iteration (as R's stats::varimax)."""
    h = np.sqrt((L**2).sum(axis=1, keepdims=True))
    A = L / h
    p, k = A.shape
    R = np.eye(k)
    d = 0.0
    for _ in range(it):
        B = A @ R
        u, s, vt = np.linalg.svd(A.T @ (B**3 - B @ np.diag((B**2).sum(axis=0)) / p))
        R = u @ vt
        d_old, d = d, s.sum()
        if d_old and d < d_old * (1 + tol):
            break
    return (A @ R) * h


def test_pca_loadings_match_numpy_eigh_of_the_correlation_matrix():
    """Loadings = eigenvectors·√eigenvalues of the correlation matrix (OECD/JRC Handbook 2008,
    step 4), checked against numpy.linalg.eigh; coinr weights = |first eigenvector| / Σ."""
    X = factor_data()
    R = np.corrcoef(X.to_numpy(), rowvar=False)
    lam, vec = np.linalg.eigh(R)
    lam, vec = lam[::-1], vec[:, ::-1]
    w = pca(X)
    np.testing.assert_allclose(w.attrs["eigenvalues"], lam, rtol=1e-10)
    L = np.array([w.attrs["loadings"][c] for c in X.columns])
    np.testing.assert_allclose(np.abs(L), np.abs(vec * np.sqrt(lam)), atol=1e-10)
    wc = pca(X, variant="coinr")
    np.testing.assert_allclose(wc, np.abs(vec[:, 0]) / np.abs(vec[:, 0]).sum(), rtol=1e-10)


def test_pca_handbook_weights_match_an_independent_varimax():
    """Handbook (2008) pp. 89–91 / Nicoletti et al. (2000): keep eigenvalues > 1, varimax,
    squared loadings scaled to unit sum per factor, each indicator on its highest-loading factor,
    factor weight = share of rotated explained variance; rescaled to sum 1."""
    X = factor_data()
    R = np.corrcoef(X.to_numpy(), rowvar=False)
    lam, vec = np.linalg.eigh(R)
    lam, vec = lam[::-1], vec[:, ::-1]
    m = int((lam > 1).sum())
    assert m == 2
    Lr = varimax_reference(vec[:, :m] * np.sqrt(lam[:m]))
    sq = Lr**2
    q = sq / sq.sum(axis=0)
    share = sq.sum(axis=0) / sq.sum()
    home = sq.argmax(axis=1)
    ref = q[np.arange(6), home] * share[home]
    w = pca(X)
    np.testing.assert_allclose(w, ref / ref.sum(), rtol=1e-6)
    assert w.attrs["factors_kept"] == 2
    assert pca(X, n_factors=1).attrs["factors_kept"] == 1
    with pytest.raises(SpecError, match="n_factors"):
        pca(X, n_factors=9)
    with pytest.raises(SpecError, match="variant"):
        pca(X, variant="fa")


def test_kmo_and_bartlett():
    """KMO: Kaiser (1970) — with two variables the partial correlation equals r, so KMO = 0.5.
    Bartlett (1950): χ² = −(n − 1 − (2p+5)/6) ln|R|, df = p(p−1)/2, written out here."""
    assert kmo(np.array([[1.0, 0.6], [0.6, 1.0]]))[0] == pytest.approx(0.5)
    X = factor_data()
    R = np.corrcoef(X.to_numpy(), rowvar=False)
    from scipy.stats import chi2

    stat = -(80 - 1 - (2 * 6 + 5) / 6) * np.log(np.linalg.det(R))
    b = bartlett_sphericity(R, 80)
    assert b.statistic == pytest.approx(stat) and b.df == 15
    assert b.pvalue == pytest.approx(chi2.sf(stat, 15))
    w = pca(X)
    assert 0 < w.attrs["kmo"] <= 1 and w.attrs["bartlett"]["pvalue"] < 0.05
    assert np.isnan(bartlett_sphericity(np.ones((3, 3)), 10).statistic)


def test_pca_small_sample_warns():
    X = factor_data().iloc[:4]
    with pytest.warns(ie.errors.SmallSampleWarning), pytest.warns(ie.errors.SingularCorrelationWarning, match="singular"):
        w = pca(X)
    assert np.isnan(w.attrs["bartlett"]["statistic"]) and np.isnan(w.attrs["kmo"])
    assert float(w.sum()) == pytest.approx(1.0)


# ------------------------------------------------------------------------------------------
# benefit of the doubt
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lower,upper", [(0.0, 1.0), (0.3, 0.7)])
def test_bod_matches_a_brute_force_grid_on_two_indicators(lower, upper):
    """Cherchye et al. (2007): BoD score_i = max_w y_i·w / max_k y_k·w. With 2 indicators the
    weight direction is one number t = w_1/(w_1 + w_2); a grid over t in [lower, upper] finds
    the optimum independently of the linear program."""
    rng = np.random.default_rng(11)
    Y = pd.DataFrame(rng.uniform(0.1, 1.0, size=(9, 2)), columns=["p", "q"])
    t = np.linspace(lower, upper, 200001)
    comp = np.outer(Y.p, t) + np.outer(Y.q, 1 - t)  # units × grid
    brute = (comp / comp.max(axis=0)).max(axis=1)
    W = bod(Y, lower=lower, upper=upper)
    np.testing.assert_allclose(list(W.attrs["score"].values()), brute, atol=1e-6)
    np.testing.assert_allclose(W.sum(axis=1), 1.0)
    assert ((W >= lower - 1e-9) & (W <= upper + 1e-9)).all().all()
    achieved = (Y.to_numpy() * W.to_numpy()).sum(axis=1) / (Y.to_numpy() @ W.to_numpy().T).max(axis=0)
    np.testing.assert_allclose(achieved, brute, atol=1e-6)


def test_bod_bounds_errors_and_node_mean():
    Y = pd.DataFrame({"p": [1.0, 0.5, 0.2], "q": [0.2, 0.5, 1.0], "r": [0.3, 0.3, 0.9]})
    with pytest.raises(SpecError, match="need lower <= 1/3 <= upper"):
        bod(Y, lower=0.4)
    with pytest.raises(SpecError, match="0 <= lower <= upper <= 1"):
        bod(Y, lower=0.8, upper=0.2)
    with pytest.raises(SpecError, match="must not exceed 'upper'"):
        WEIGHTS.get("bod").validate({"lower": 0.8, "upper": 0.2}, "w.yaml")
    X = panel_children()
    w = call("bod", X)
    np.testing.assert_allclose(w, bod(X).mean(axis=0), rtol=1e-12)
    assert len(w.attrs["by_unit"]) == len(X) and w.attrs["by_unit"][("U00", 2020)].keys() == set(KIDS)


def test_bod_unit_with_all_zeros_gets_equal_weights():
    Y = pd.DataFrame({"p": [0.0, 1.0, 0.5], "q": [0.0, 0.5, 1.0]})
    W = bod(Y)
    np.testing.assert_allclose(W.iloc[0], [0.5, 0.5])
    assert W.attrs["score"][0] == 0.0


# ------------------------------------------------------------------------------------------
# combined weights
# ------------------------------------------------------------------------------------------


def test_combine_linear_multiplicative_and_game_by_hand():
    """docs/methodology.md §E2 组合赋权, computed by hand for two sets."""
    s = pd.Series({"x": 0.5, "y": 0.3, "z": 0.2})
    o = pd.Series({"x": 0.2, "y": 0.2, "z": 0.6})
    np.testing.assert_allclose(combine([s, o], alpha=0.7), 0.7 * s + 0.3 * o)
    np.testing.assert_allclose(combine([s, o], how="multiplicative"), (s * o) / (s * o).sum())
    # game theory: [[s·s, s·o], [o·s, o·o]] α = [s·s, o·o]
    G = np.array([[s @ s, s @ o], [o @ s, o @ o]])
    a = np.linalg.solve(G, np.diag(G))
    a = np.abs(a) / np.abs(a).sum()
    g = combine({"subjective": s, "objective": o}, how="game")
    np.testing.assert_allclose(g, a[0] * s + a[1] * o)
    assert g.attrs["coefficients"] == pytest.approx(a.tolist())
    np.testing.assert_allclose(combine([s, s], how="game"), s)
    np.testing.assert_allclose(combine([s, o, s], alpha=[0.2, 0.3, 0.5]), 0.7 * s + 0.3 * o)


def test_combine_errors_and_rescaling():
    s = pd.Series({"x": 0.5, "y": 0.5})
    with pytest.raises(SpecError, match="only by how: linear"):
        combine([s, s], how="game", alpha=0.3)
    with pytest.raises(SpecError, match="same indicators"):
        combine([s, pd.Series({"x": 1.0})])
    with pytest.raises(SpecError, match="at least two"):
        combine([s])
    with pytest.raises(SpecError, match="one alpha per set"):
        combine([s, s, s], alpha=0.5)
    with pytest.raises(SpecError, match="alpha must be in"):
        combine([s, s], alpha=1.5)
    with pytest.raises(SpecError, match=">= 0"):
        combine([s, pd.Series({"x": -1.0, "y": 2.0})])
    with pytest.raises(SpecError, match="product"):
        combine([pd.Series({"x": 1.0, "y": 0.0}), pd.Series({"x": 0.0, "y": 1.0})], how="multiplicative")
    with pytest.warns(WeightsNotNormalizedWarning):
        w = combine([pd.Series({"x": 2.0, "y": 2.0}), s])
    np.testing.assert_allclose(w, [0.5, 0.5])
    with pytest.raises(SpecError, match="how"):
        combine([s, s], how="mean")


def test_combine_registry_checks_its_methods_at_load_time():
    m = WEIGHTS.get("combine")
    where = "w.yaml: steps.weights.params"
    with pytest.raises(SpecError, match="Unknown weights method 'entropi'"):
        m.validate({"methods": [{"method": "entropi"}, {"method": "critic"}]}, where)
    with pytest.raises(SpecError, match=r"methods\[0\]\.params\.delta"):
        m.validate({"methods": [{"method": "entropy", "params": {"delta": -1}}, {"method": "critic"}]}, where)
    with pytest.raises(SpecError, match="at least two"):
        m.validate({"methods": [{"method": "entropy"}]}, where)
    with pytest.raises(SpecError, match="cannot contain combine"):
        m.validate({"methods": [{"method": "combine"}, {"method": "critic"}]}, where)
    with pytest.raises(SpecError, match="unknown key"):
        m.validate({"methods": [{"method": "entropy", "param": {}}, {"method": "critic"}]}, where)
    with pytest.raises(SpecError, match="only by how: linear"):
        m.validate({"methods": [{"method": "entropy"}, {"method": "critic"}], "how": "game", "alpha": 0.2}, where)
    with pytest.raises(SpecError, match="one alpha per method"):
        m.validate({"methods": [{"method": "entropy"}, {"method": "critic"}, {"method": "std"}]}, where)
    X = panel_children()
    w = call("combine", X, methods=[{"method": "ahp", "params": {"matrix": CONSISTENT_4}}, {"method": "entropy"}], alpha=0.6)
    expected = 0.6 * call("ahp", X) + 0.4 * call("entropy", X)
    np.testing.assert_allclose(w, expected, rtol=1e-12)


# ------------------------------------------------------------------------------------------
# optimised weights (COINr get_opt_weights)
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def asem_optimal():
    """COINr's ASEM example with optimised weights for the index (balance) and for Conn (infomax)."""
    s = ie.load_spec(str(ROOT / "weights/examples/asem.yaml"))
    s = s.replace("steps.weights.by_node", {
        "Index": {"method": "optimal"},
        "Conn": {"method": "optimal", "params": {"objective": "infomax"}},
    })  # fmt: skip
    return ie.build(s, ie.load_panel(str(ROOT / "inputs/examples/asem/ASEM_iData.csv"), s))


def _corr_with(scores: pd.DataFrame, kids: list[str], parent: str) -> np.ndarray:
    return np.array([np.corrcoef(scores[k], scores[parent])[0, 1] for k in kids])


def test_optimal_balance_equalises_the_correlations_with_the_index_on_asem(asem_optimal):
    """COINr's test of get_opt_weights(itarg = "equal", Level = 3): Conn and Sust end up equally
    correlated with the index (COINr checks the normalised correlations to 2 decimals); here
    checked to 1e-6 with numpy on the build's own scores."""
    b = asem_optimal
    r = _corr_with(b.scores, ["Conn", "Sust"], "Index")
    assert r[0] == pytest.approx(r[1], abs=1e-6)
    w = b.weights.set_index("node")["weight"]
    assert w["Conn"] != pytest.approx(0.5, abs=0.01)  # equal weights would not balance them
    equal_r = _corr_with(b.scores.assign(Index=b.scores[["Conn", "Sust"]].mean(axis=1)), ["Conn", "Sust"], "Index")
    assert abs(equal_r[0] - equal_r[1]) > 0.01


def test_optimal_balance_follows_targets():
    """Targets (COINr's itarg) set the shares c_j/Σc. COINr's own test asks ASEM's Conn and Sust
    for 1:2 and gets 1/3 and 2/3 by giving Conn a negative weight (COINr's weights are θ/Σθ);
    with weights >= 0 Conn's share cannot fall below corr(Conn, Sust)/(1 + corr(Conn, Sust)),
    reached with Conn's weight 0. A 2:3 target is reachable and met."""
    s = ie.load_spec(str(ROOT / "weights/examples/asem.yaml"))
    b = ie.build(s, ie.load_panel(str(ROOT / "inputs/examples/asem/ASEM_iData.csv"), s))
    X = b.scores[["Conn", "Sust"]]

    def shares(w: pd.Series) -> np.ndarray:
        r = np.array([np.corrcoef(X[c], X @ w.to_numpy())[0, 1] for c in X.columns])
        return r / r.sum()

    w = optimal(X, targets=[2, 3])
    np.testing.assert_allclose(shares(w), [0.4, 0.6], atol=1e-6)
    assert w.attrs["converged"] and w.attrs["targets"] == pytest.approx({"Conn": 0.4, "Sust": 0.6})
    w = optimal(X, targets=[1, 2])
    rho = np.corrcoef(X["Conn"], X["Sust"])[0, 1]
    assert w["Conn"] == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(shares(w), [rho / (1 + rho), 1 / (1 + rho)], atol=1e-6)


def test_optimal_infomax_beats_equal_weights_on_asem(asem_optimal):
    """Infomax maximises Σ_j corr(x_j, parent): higher than with equal weights, and no simplex
    point nearby does better (checked with numpy on the build's scores)."""
    b = asem_optimal
    kids = [c.code for c in b.spec.nodes["Conn"].children]
    got = _corr_with(b.scores, kids, "Conn").mean()
    X = b.scores[kids].to_numpy()
    equal = np.mean([np.corrcoef(X[:, j], X.mean(axis=1))[0, 1] for j in range(len(kids))])
    assert got > equal + 1e-4  # 0.7529 against 0.7519
    w = b.weights.set_index("node").loc[kids, "weight"].to_numpy()
    rng = np.random.default_rng(0)
    for _ in range(200):
        v = np.clip(w + rng.normal(scale=0.02, size=len(w)), 0, None)
        y = X @ (v / v.sum())
        assert np.mean([np.corrcoef(X[:, j], y)[0, 1] for j in range(len(kids))]) <= got + 1e-9


def test_optimal_balance_on_the_boundary_matches_a_constrained_solver():
    """With non-negative weights Conn's five pillars cannot be balanced exactly; the simplex
    search finds the same constrained optimum as scipy's SLSQP on w >= 0, Σw = 1."""
    from scipy.optimize import minimize

    s = ie.load_spec(str(ROOT / "weights/examples/asem.yaml"))
    b = ie.build(s, ie.load_panel(str(ROOT / "inputs/examples/asem/ASEM_iData.csv"), s))
    kids = [c.code for c in s.nodes["Conn"].children]
    X = b.scores[kids].to_numpy()

    def loss(v):
        c = np.array([np.corrcoef(X[:, j], X @ v)[0, 1] for j in range(X.shape[1])])
        return np.mean((c / c.sum() - 0.2) ** 2)

    ref = minimize(loss, np.full(5, 0.2), method="SLSQP", bounds=[(0, 1)] * 5,
                   constraints={"type": "eq", "fun": lambda v: v.sum() - 1}, options={"ftol": 1e-15})  # fmt: skip
    w = optimal(b.scores[kids])
    np.testing.assert_allclose(w, ref.x, atol=1e-4)
    assert w.attrs["objective_value"] == pytest.approx(ref.fun, rel=1e-4)


def test_optimal_parameter_errors():
    m = WEIGHTS.get("optimal")
    where = "w.yaml: steps.weights.params"
    with pytest.raises(SpecError, match="only by objective: balance"):
        m.validate({"objective": "infomax", "targets": [1, 2, 1, 1]}, where)
    with pytest.raises(SpecError, match=r"params\.targets: .* greater than 0"):
        m.validate({"targets": [0, 1, 1, 1]}, where)
    with pytest.raises(SpecError, match="3 targets for 4 children"):
        call("optimal", panel_children(), targets=[1, 2, 1])
    with pytest.raises(SpecError, match="'start' needs one number"):
        optimal(panel_children(), start=[1, 1])
    with pytest.raises(SpecError, match="objective must be"):
        optimal(panel_children(), objective="maximin")


def test_optimal_spearman_and_iteration_limit():
    X = panel_children()
    w = optimal(X, correlation="spearman")
    ranks = X.rank()
    r = [np.corrcoef(ranks[c], (X @ w.to_numpy()).rank())[0, 1] for c in X.columns]
    np.testing.assert_allclose(list(w.attrs["correlations"].values()), r, rtol=1e-12)
    with pytest.warns(ie.errors.OptimisationWarning, match="before converging"):
        w = optimal(X, max_iter=3)
    assert not w.attrs["converged"] and float(w.sum()) == pytest.approx(1.0)


# ------------------------------------------------------------------------------------------
# TOPSIS
# ------------------------------------------------------------------------------------------


def topsis_by_hand(X: np.ndarray, w: np.ndarray, minmax: bool = False) -> np.ndarray:
    """Hwang & Yoon (1981) steps 1–5 with explicit loops (docs/methodology.md §E2)."""
    n, m = X.shape
    R = np.zeros_like(X)
    for j in range(m):
        col = X[:, j]
        for i in range(n):
            R[i, j] = (col[i] - col.min()) / (col.max() - col.min()) if minmax else col[i] / np.sqrt((col**2).sum())
    V = R * w
    best, worst = V.max(axis=0), V.min(axis=0)
    out = []
    for i in range(n):
        dp = np.sqrt(sum((V[i, j] - best[j]) ** 2 for j in range(m)))
        dm = np.sqrt(sum((V[i, j] - worst[j]) ** 2 for j in range(m)))
        out.append(dm / (dp + dm))
    return np.array(out)


def test_topsis_matches_a_hand_computation():
    X = pd.DataFrame([[7.0, 9, 9, 8], [8, 7, 8, 7], [9, 6, 8, 9], [6, 7, 8, 6]], columns=list("abcd"), index=list("PQRS"))
    w = pd.Series({"a": 0.1, "b": 0.4, "c": 0.3, "d": 0.2})
    c = topsis(X, w)
    np.testing.assert_allclose(c, topsis_by_hand(X.to_numpy(), w.to_numpy()), rtol=1e-12)
    np.testing.assert_allclose(topsis(X, w, normalisation="minmax", scale=100), 100 * topsis_by_hand(X.to_numpy(), w.to_numpy(), True))
    assert ((c >= 0) & (c <= 1)).all()
    assert list(c.attrs["d_plus"]) == list("PQRS")
    # only weight ratios matter
    np.testing.assert_allclose(topsis(X, w * 7), c)


def test_topsis_batched_registry_signature_missing_children_and_samples():
    X = np.array([[7.0, 9, 9], [8, 7, 8], [9, 6, np.nan], [6, 7, 8], [np.nan, np.nan, np.nan]])
    W = np.array([[0.2, 0.5, 0.3], [0.6, 0.2, 0.2]])
    out = AGGREGATE.get("topsis").func(X, W)
    assert out.shape == (2, 5) and np.isnan(out[:, 4]).all()
    # row 2 is scored on its present children only, against the ideal over the rows present
    R = X / np.sqrt(np.nansum(X**2, axis=0))
    for s in range(2):
        best, worst = np.nanmax(R, axis=0), np.nanmin(R, axis=0)
        dp = np.sqrt(((W[s, :2] * (R[2, :2] - best[:2])) ** 2).sum())
        dm = np.sqrt(((W[s, :2] * (R[2, :2] - worst[:2])) ** 2).sum())
        assert out[s, 2] == pytest.approx(dm / (dp + dm))
    # complete rows only: equals the hand computation
    Xc = X[[0, 1, 3]]
    np.testing.assert_allclose(topsis_scores(Xc, W)[1], topsis_by_hand(Xc, W[1]), rtol=1e-12)
    # samples × rows × children gives the same as one sample at a time
    X3 = np.stack([Xc, Xc[::-1]])
    out3 = topsis_scores(X3, W)
    np.testing.assert_allclose(out3[1], topsis_by_hand(Xc[::-1], W[1]), rtol=1e-12)
    assert np.isnan(topsis_scores(Xc, W[:1], min_coverage=1.0)).sum() == 0
    assert np.isnan(topsis_scores(X, W[:1], min_coverage=1.0)[0, 2])


def test_topsis_ties_and_errors():
    X = pd.DataFrame({"a": [1.0, 1.0], "b": [2.0, 2.0]})
    np.testing.assert_allclose(topsis(X, [0.5, 0.5]), [0.5, 0.5])
    with pytest.raises(DataError, match="no weight"):
        topsis(X, pd.Series({"a": 1.0}))
    with pytest.raises(DataError, match="2 columns"):
        topsis(X, [1.0])
    with pytest.raises(DataError, match=">= 0"):
        topsis(X, [-1.0, 2.0])
    with pytest.raises(DataError, match="scale"):
        topsis(X, [1.0, 1.0], scale=0)
    with pytest.raises(DataError, match="DataFrame"):
        topsis(X.to_numpy(), [1.0, 1.0])
    with pytest.raises(ie.BuildError, match="normalisation"):
        topsis(X, [1.0, 1.0], normalisation="sum")


# ------------------------------------------------------------------------------------------
# builds
# ------------------------------------------------------------------------------------------


def test_asem_build_with_entropy_weights_sums_to_one_within_every_parent():
    """COINr's ASEM example (docs/methodology.md §H.8) with weights: {method: entropy}."""
    s = ie.load_spec(str(ROOT / "weights/examples/asem.yaml")).replace("steps.weights.method", "entropy")
    b = ie.build(s, ie.load_panel(str(ROOT / "inputs/examples/asem/ASEM_iData.csv"), s))
    wt = b.weights[b.weights.parent != ""]
    sums = wt.groupby("parent")["weight"].sum()
    np.testing.assert_allclose(sums, 1.0, atol=1e-12)
    assert (wt.weight >= 0).all()
    # indicator-level weights are entropy() of the normalised indicators of that group
    kids = list(wt[wt.parent == "Physical"].node)
    direct = entropy(b.tables["normalized"][kids])
    np.testing.assert_allclose(wt.set_index("node").loc[kids, "weight"], direct, rtol=1e-12)
    assert b.weights.set_index("node").loc["Physical", "weight"] != pytest.approx(0.2)


def _spec(weights: dict, aggregate: dict | None = None) -> ie.Spec:
    d = {
        "index": {"id": "T"},
        "tree": {
            "code": "IDX",
            "children": [
                {"code": "D1", "children": [{"code": "a"}, {"code": "b"}, {"code": "e"}]},
                {"code": "D2", "children": [{"code": "c"}, {"code": "d"}]},
            ],
        },
        "steps": {"weights": weights, **({"aggregate": aggregate} if aggregate else {})},
    }
    return ie.spec_from_dict(d, label="t.yaml")


def _panel(spec: ie.Spec) -> ie.Panel:
    rng = np.random.default_rng(5)
    rows = [
        {"unit": f"U{i}", "year": y, **dict(zip("abecd", rng.uniform(1, 10, 5)))}
        for i in range(8)
        for y in (2020, 2021, 2022)
    ]
    return ie.panel_from_frame(pd.DataFrame(rows), spec)


def test_spec_by_level_by_node_and_window_in_a_build():
    s = _spec(
        {
            "method": "equal",
            "by_level": {2: {"method": "entropy", "params": {"window": [2020, 2021]}}},
            "by_node": {"D2": {"method": "ahp", "params": {"matrix": [[1, "1/3"], [3, 1]]}}},
        }
    )
    b = ie.build(s, _panel(s))
    w = b.weights.set_index("node")["weight"]
    assert w["c"] == pytest.approx(0.25) and w["d"] == pytest.approx(0.75)
    assert w["D1"] == pytest.approx(0.5)
    norm = b.tables["normalized"]
    early = norm[norm.index.get_level_values("year") <= 2021][["a", "b", "e"]]
    np.testing.assert_allclose(w[["a", "b", "e"]], entropy(early), rtol=1e-12)


def test_spec_params_are_checked_when_the_spec_loads():
    with pytest.raises(SpecError, match=r"t\.yaml: steps\.weights\.params: weights\.entropy: window must be"):
        _spec({"method": "entropy", "params": {"window": [2022, 2020]}})
    with pytest.raises(SpecError, match=r"steps\.weights\.params\.delta"):
        _spec({"method": "entropy", "params": {"delta": -1}})
    with pytest.raises(SpecError, match=r"steps\.weights\.by_node\.D1\.params: weights\.ahp: AHP comparisons are inconsistent"):
        _spec({"method": "equal", "by_node": {"D1": {"method": "ahp", "params": {"matrix": [[1, 9, "1/9"], ["1/9", 1, 9], [9, "1/9", 1]]}}}})
    with pytest.raises(SpecError, match="has no parameter 'windows'"):
        _spec({"method": "critic", "params": {"windows": [2020, 2021]}})


def test_ahp_matrix_size_is_checked_against_the_node_in_a_build():
    s = _spec({"method": "equal", "by_node": {"D1": {"method": "ahp", "params": {"matrix": [[1, 2], ["1/2", 1]]}}}})
    with pytest.raises(SpecError, match=r"2×2 but the node has 3 children \(a, b, e\)"):
        ie.build(s, _panel(s))


def test_topsis_aggregation_in_a_build():
    s = _spec({"method": "equal"}, {"method": "topsis", "params": {"scale": 100}})
    b = ie.build(s, _panel(s))
    idx = b.scores["IDX"]
    assert idx.between(0, 100).all()
    X = b.scores[["D1", "D2"]].to_numpy()
    np.testing.assert_allclose(idx, 100 * topsis_by_hand(X, np.array([0.5, 0.5])), rtol=1e-12)


def test_every_combination_of_methods_runs_on_the_tiny_spec():
    for wm, am in itertools.product(["entropy", "critic", "cv", "std", "pca", "bod"], ["arithmetic", "topsis"]):
        s = _spec({"method": wm}, {"method": am})
        b = ie.build(s, _panel(s))
        assert b.scores["IDX"].notna().all(), (wm, am)


def test_remaining_input_errors():
    X = panel_children()
    with pytest.raises(DataError, match="no 'year' level"):
        call("entropy", X.reset_index(drop=True), window=[2020, 2021])
    with pytest.raises(DataError, match="at least one indicator"):
        entropy(X[[]])
    with pytest.raises(DataError, match="numeric indicators; not numeric: s"):
        critic(X.assign(s="x"))
    with pytest.raises(SpecError, match=r"row 1, column 2 is True"):
        ahp([[1, True], [1, 1]])
    with pytest.raises(SpecError, match=r"row 1, column 2 is \[3\]"):
        ahp([[1, [3]], [1, 1]])
    with pytest.raises(SpecError, match="2 rows but 3 labels"):
        ahp([[1, 1], [1, 1]], labels=["a", "b", "c"])
    with pytest.raises(SpecError, match="unknown RI table 'saaty'"):
        ahp([[1]], ri_table="saaty")
    one_row_2021 = X[~((X.index.get_level_values("year") == 2021) & (X.index.get_level_values("unit") != "U00"))]
    with pytest.raises(DataError, match="2021 has 1"):
        entropy(one_row_2021, pool="year")
    with pytest.raises(SpecError, match="at least two weight sets"):
        combine([])
    with pytest.raises(SpecError, match="positive total"):
        combine([pd.Series({"x": 0.0, "y": 0.0}), pd.Series({"x": 0.5, "y": 0.5})])
    with pytest.raises(SpecError, match="3 alpha values for 2 weight sets"):
        combine([pd.Series({"x": 1.0}), pd.Series({"x": 1.0})], alpha=[0.2, 0.3, 0.5])


def test_bod_reports_a_failed_linear_program(monkeypatch):
    import scipy.optimize

    class Failed:
        status, message, x = 2, "The problem is infeasible.", None

    monkeypatch.setattr(scipy.optimize, "linprog", lambda *a, **k: Failed())
    with pytest.raises(DataError, match="linear program for row 'x' failed: The problem is infeasible"):
        bod(pd.DataFrame({"a": [1.0, 0.5], "b": [0.2, 0.5]}, index=["x", "y"]))


def test_results_can_be_concatenated():
    """attrs hold plain dicts, so pandas can compare them when results are combined."""
    X = pd.DataFrame({"a": [1.0, 2, 3], "b": [3.0, 1, 2]})
    assert pd.concat([topsis(X, [1, 1]), topsis(2 * X, [1, 1])]).shape == (6,)
    assert pd.concat([bod(X), bod(X)]).shape == (6, 2)
    assert pd.concat([entropy(X), critic(X), pca(X), call("bod", panel_children())]).shape == (10,)


def test_derived_weight_set_reproduces_the_build(run_cli, tmp_path):
    """`index-engine weights` saves estimated weights as a fixed weight set that rebuilds the same scores."""
    out = tmp_path / "derived.yaml"
    r = run_cli("weights", ROOT / "weights/examples/asem.yaml", "--set", "steps.weights.method=entropy", "--out", out)
    assert r.returncode == 0, r.stderr
    spec = ie.load_spec(ROOT / "weights/examples/asem.yaml", overrides={"steps.weights.method": "entropy"})
    panel = ie.load_panel(ROOT / "inputs/examples/asem/ASEM_iData.csv", spec)
    derived = ie.load_spec(out)
    assert derived.steps.weights.method == "fixed"
    a, b = ie.build(spec, panel), ie.build(derived, panel)
    np.testing.assert_allclose(a.scores.to_numpy(), b.scores.to_numpy(), atol=1e-9)


@pytest.fixture(scope="module")
def beijing_upstream() -> dict:
    """One upstream cache (the tables before weighting) for the Beijing builds of this module."""
    return {}


@pytest.mark.parametrize("method", ["equal", "entropy", "critic", "cv", "std", "pca", "bod"])
def test_every_method_runs_on_the_beijing_spec(method, beijing_inputs, beijing_upstream):
    """Each data-driven method runs from YAML at every level of the Beijing spec (on the session's
    Beijing panel: the weights method does not change what is read)."""
    from .conftest import ROOT

    spec = ie.load_spec(ROOT / "weights/beijing_tfdi.yaml", overrides={"steps.weights.method": method})
    panel = beijing_inputs[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = ie.build(spec, panel, cache=beijing_upstream)
    sums = b.weights[b.weights.parent != ""].groupby("parent")["weight"].sum()
    np.testing.assert_allclose(sums, 1.0)
    assert b.scores["BJ_TFDI"].notna().all()
