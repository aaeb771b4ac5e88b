"""Tests of index_engine.stats: every statistic against an independent computation (numpy or
scipy written out here, a closed form, or a published value)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

import index_engine as ie
from index_engine import audit as audit_module
from index_engine import stats as st
from index_engine import weights as weights_module
from index_engine.errors import SingularCorrelationWarning
from index_engine.stats import (
    bartlett_sphericity,
    correlate,
    correlation_ratio,
    correlation_ratios,
    cronbach_alpha,
    importance_shares,
    kmo,
    minimize_bounded,
    pca_eigen,
    smoothing_spline,
    smoothing_splines,
    squared_correlation,
)

from .conftest import ROOT


@pytest.fixture(scope="module")
def asem():
    spec = ie.load_spec(ROOT / "weights/examples/asem.yaml")
    return ie.build(spec, ie.load_panel(ROOT / "inputs/examples/asem/ASEM_iData.csv", spec))


# ---- Cronbach's alpha -------------------------------------------------------------------


def test_cronbach_alpha_matches_hand_computation():
    """α = k/(k−1)·(1 − Σσ²_i/σ²_total), Cronbach (1951) doi:10.1007/BF02310555."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 1)) + rng.normal(size=(40, 5))
    k = x.shape[1]
    item_var = x.var(axis=0, ddof=1).sum()
    total_var = x.sum(axis=1).var(ddof=1)
    expected = k / (k - 1) * (1 - item_var / total_var)
    assert cronbach_alpha(x) == pytest.approx(expected, rel=1e-12)
    # COINr's form k²·mean(off-diagonal covariance)/sum(covariance) is the same number
    c = np.cov(x, rowvar=False)
    sig_off = (c.sum() - np.trace(c)) / (k * (k - 1))
    assert cronbach_alpha(pd.DataFrame(x)) == pytest.approx(k**2 * sig_off / c.sum(), rel=1e-12)


def test_cronbach_alpha_uses_complete_cases():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(30, 4)) + rng.normal(size=(30, 1))
    x[[0, 5, 9], [1, 2, 0]] = np.nan
    assert cronbach_alpha(x) == pytest.approx(cronbach_alpha(x[~np.isnan(x).any(axis=1)]), rel=1e-12)
    assert cronbach_alpha(x, use="pairwise") != pytest.approx(cronbach_alpha(x), rel=1e-6)


def test_cronbach_alpha_pairwise_reproduces_coinr(asem):
    """COINr 1.1.14 documents get_cronbach(coin, dset = "Raw", iCodes = "P2P", Level = 1) =
    0.05126659 (?get_cronbach example and vignette("analysis")), with pairwise covariances."""
    codes = [c.code for c in asem.spec.nodes["P2P"].children]
    raw = asem.tables["raw"][codes]
    assert cronbach_alpha(raw, use="pairwise") == pytest.approx(0.05126659, abs=5e-9)


@pytest.mark.parametrize("data", [np.ones((3, 1)), np.ones((1, 3)), np.full((4, 3), 2.0)])
def test_cronbach_alpha_degenerate_is_nan(data):
    assert math.isnan(cronbach_alpha(data))


def test_cronbach_alpha_rejects_bad_input():
    with pytest.raises(ValueError, match="2-D table"):
        cronbach_alpha(np.ones(4))
    with pytest.raises(ValueError, match="'use' parameter of cronbach_alpha"):
        cronbach_alpha(np.ones((4, 2)), use="everything")


# ---- KMO, Bartlett, PCA -------------------------------------------------------------------


def _kmo_direct(r: np.ndarray) -> tuple[float, np.ndarray]:
    """Kaiser (1974) doi:10.1007/BF02291575, written out element by element."""
    k = r.shape[0]
    inv = np.linalg.inv(r)
    num_all = den_all = 0.0
    per = np.empty(k)
    for i in range(k):
        num = den = 0.0
        for j in range(k):
            if i == j:
                continue
            partial = -inv[i, j] / math.sqrt(inv[i, i] * inv[j, j])
            num += r[i, j] ** 2
            den += r[i, j] ** 2 + partial**2
        per[i] = num / den
        num_all += num
        den_all += den
    return num_all / den_all, per


def test_kmo_matches_direct_formula():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 1)) @ np.ones((1, 5)) + rng.normal(size=(60, 5))
    r = np.corrcoef(x, rowvar=False)
    overall, per = kmo(r)
    exp_overall, exp_per = _kmo_direct(r)
    assert overall == pytest.approx(exp_overall, rel=1e-12)
    np.testing.assert_allclose(per, exp_per, rtol=1e-12)


def test_kmo_of_equicorrelated_variables_has_a_closed_form():
    """k variables all correlated at ρ: the partial correlation of any pair given the others is
    ρ/(1 + (k−2)ρ), so KMO = ρ²/(ρ² + q²) (Kaiser & Rice 1974 formula, written out)."""
    for k, rho in [(3, 0.5), (4, 0.3), (6, 0.8), (3, 0.999)]:
        r = np.full((k, k), rho) + (1 - rho) * np.eye(k)
        q = rho / (1 + (k - 2) * rho)
        expected = rho**2 / (rho**2 + q**2)
        got = kmo(r)
        assert got.overall == pytest.approx(expected, rel=1e-10)
        np.testing.assert_allclose(got.per_item, expected, rtol=1e-10)
    # two variables: the partial correlation is r itself, so KMO = 0.5 whatever r is
    assert kmo(np.array([[1.0, 0.6], [0.6, 1.0]])).overall == pytest.approx(0.5)


def test_kmo_of_a_singular_matrix_is_nan_with_a_named_warning():
    """R⁻¹ does not exist, so neither do the anti-image correlations (Kaiser 1974). The limit
    as ρ → 1 of three equicorrelated variables is 0.8 (closed form above), which a pseudo-inverse
    would not give (it gives 0.5), so NaN is the answer, not a number."""
    r = np.full((3, 3), 1 - 1e-7) + 1e-7 * np.eye(3)
    assert kmo(r).overall == pytest.approx(0.8, abs=1e-6)
    with pytest.warns(SingularCorrelationWarning, match="3×3 correlation matrix is singular"):
        overall, per = kmo(np.ones((3, 3)))
    assert math.isnan(overall) and np.isnan(per).all()
    rng = np.random.default_rng(8)
    x = rng.normal(size=(4, 6))  # fewer units than variables
    with pytest.warns(SingularCorrelationWarning):
        assert math.isnan(kmo(np.corrcoef(x, rowvar=False)).overall)
    with pytest.warns(SingularCorrelationWarning, match="missing or infinite"):
        assert math.isnan(kmo(np.array([[1.0, np.nan], [np.nan, 1.0]])).overall)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(kmo(np.ones((1, 1))).overall)  # k < 2: undefined, nothing to warn about


def test_audit_weights_and_stats_share_one_kmo_and_bartlett(asem):
    """The audit's PCA table and the PCA weights report the same KMO and Bartlett statistic for
    the same indicators (both call index_engine.stats); a singular matrix is NaN in both."""
    assert audit_module.kmo is weights_module.kmo is st.kmo
    assert audit_module.bartlett_sphericity is weights_module.bartlett_sphericity is st.bartlett_sphericity
    a = audit_module.audit(asem)
    row = a.pca.set_index("node").loc["Physical"]
    codes = [c.code for c in asem.spec.nodes["Physical"].children]
    w = weights_module.pca(asem.tables["normalized"][codes])
    assert row["kmo"] == pytest.approx(w.attrs["kmo"], rel=1e-12)
    assert row["bartlett_chi2"] == pytest.approx(w.attrs["bartlett"]["statistic"], rel=1e-12)
    with pytest.warns(SingularCorrelationWarning), pytest.warns(ie.errors.SmallSampleWarning):
        few = weights_module.pca(asem.tables["normalized"][codes].iloc[:4])
    assert math.isnan(few.attrs["kmo"])


def test_bartlett_matches_textbook_formula():
    """Bartlett (1950): χ² = −(n − 1 − (2p + 5)/6)·ln|R| on p(p − 1)/2 degrees of freedom."""
    from scipy import stats

    rng = np.random.default_rng(4)
    n, p = 45, 4
    x = rng.normal(size=(n, 1)) + rng.normal(size=(n, p))
    r = np.corrcoef(x, rowvar=False)
    expected = -(n - 1 - (2 * p + 5) / 6) * math.log(np.linalg.det(r))
    chi2, df, pval = bartlett_sphericity(r, n)
    assert chi2 == pytest.approx(expected, rel=1e-10)
    assert df == p * (p - 1) / 2
    assert pval == pytest.approx(stats.chi2.sf(expected, df), rel=1e-10)


def test_bartlett_degenerate_is_nan():
    assert math.isnan(bartlett_sphericity(np.ones((3, 3)), 50)[0])  # |R| = 0
    assert math.isnan(bartlett_sphericity(np.eye(3), 2)[0])  # too few units
    rng = np.random.default_rng(9)
    r = np.corrcoef(rng.normal(size=(5, 8)), rowvar=False)  # rank 4: ln|R| is rounding noise
    b = bartlett_sphericity(r, 5)
    assert math.isnan(b.statistic) and math.isnan(b.pvalue) and b.df == 28


def test_pca_eigen():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(50, 1)) + 0.5 * rng.normal(size=(50, 4))
    r = np.corrcoef(x, rowvar=False)
    vals, load = pca_eigen(r)
    np.testing.assert_allclose(vals, np.sort(np.linalg.eigvalsh(r))[::-1], rtol=1e-12)
    # PC1 loadings are the correlations of each variable with the first component's scores
    z = (x - x.mean(0)) / x.std(0, ddof=1)
    w = np.linalg.eigh(r)[1][:, -1]
    scores = z @ w
    corr = [np.corrcoef(z[:, j], scores)[0, 1] for j in range(4)]
    np.testing.assert_allclose(np.abs(load), np.abs(corr), rtol=1e-10)
    assert load.sum() > 0


# ---- correlations -------------------------------------------------------------------------


@pytest.mark.parametrize("n", [3, 5, 12, 51])
@pytest.mark.parametrize("ties", [False, True])
def test_correlate_matches_scipy(n, ties):
    from scipy import stats

    rng = np.random.default_rng(n)
    x = rng.normal(size=n)
    y = x + rng.normal(size=n)
    if ties:
        x, y = np.round(x), np.round(2 * y)
    got = correlate(x, y)
    r, p = stats.pearsonr(x, y)
    rho, prho = stats.spearmanr(x, y)
    assert got[0] == n
    np.testing.assert_allclose(got[1:], [r, p, rho, prho], rtol=1e-9, atol=1e-14)


def test_correlate_pairwise_complete_and_degenerate():
    from scipy import stats

    x = np.array([1.0, 2, 3, 4, np.nan, 6])
    y = np.array([2.0, 1, 4, np.nan, 5, 7])
    n, r, p, rho, prho = correlate(x, y)
    m = ~(np.isnan(x) | np.isnan(y))
    assert n == 4
    assert (r, p) == pytest.approx(tuple(stats.pearsonr(x[m], y[m])), rel=1e-12)
    assert (rho, prho) == pytest.approx(tuple(stats.spearmanr(x[m], y[m])), rel=1e-12)
    assert all(math.isnan(v) for v in correlate(x[:2], y[:2])[1:])  # n < 3
    assert all(math.isnan(v) for v in correlate(np.ones(5), np.arange(5.0))[1:])  # constant


@pytest.mark.parametrize("seed", range(4))
def test_correlate_pairs_gives_correlates_numbers_to_the_bit(seed):
    """Complete and gappy columns, constant ones, ties and pairs of fewer than 3 complete values."""
    rng = np.random.default_rng(seed)
    n = 9
    cols = {f"c{i}": np.round(rng.normal(size=n), 1) for i in range(6)}
    cols["gappy"] = np.where(rng.random(n) < 0.4, np.nan, rng.normal(size=n))
    cols["gappy2"] = np.where(rng.random(n) < 0.4, np.nan, rng.normal(size=n))
    cols["constant"] = np.full(n, 2.5)
    cols["two"] = np.r_[1.0, 2.0, np.full(n - 2, np.nan)]
    cols["constant_where_gappy"] = np.where(np.isnan(cols["gappy"]), 7.0, 1.0)
    pairs = [(a, b) for a in cols for b in cols if a != b]
    got = st.correlate_pairs(cols, pairs)
    want = [correlate(cols[a], cols[b]) for a, b in pairs]
    assert len(got) == len(want)
    for (a, b), g, w in zip(pairs, got, want):
        np.testing.assert_array_equal(np.array(g), np.array(w), err_msg=f"{a} x {b}")
        assert isinstance(g.n, int)


# ---- importance ---------------------------------------------------------------------------


def test_squared_correlation_is_scipy_pearson_squared_on_complete_pairs():
    from scipy import stats

    rng = np.random.default_rng(11)
    x, y = rng.normal(size=30), rng.normal(size=30)
    y += x
    x[[2, 7]] = np.nan
    m = ~np.isnan(x)
    assert squared_correlation(x, y) == pytest.approx(stats.pearsonr(x[m], y[m])[0] ** 2, rel=1e-12)
    assert math.isnan(squared_correlation(np.ones(5), np.arange(5.0)))
    assert math.isnan(squared_correlation(np.arange(2.0), np.arange(2.0)))


def test_correlation_ratio_with_few_distinct_values_is_pearsons_between_group_share():
    """With fewer than 5 distinct x values E[y | x] is the group mean: η² = SS_between / SS_total
    (Pearson 1903), written out here as a one-way ANOVA."""
    rng = np.random.default_rng(12)
    x = rng.integers(0, 4, size=60).astype(float)
    y = 2.0 * x + rng.normal(size=60)
    grand = y.mean()
    ss_between = sum((x == g).sum() * (y[x == g].mean() - grand) ** 2 for g in np.unique(x))
    ss_total = ((y - grand) ** 2).sum()
    assert correlation_ratio(x, y) == pytest.approx(ss_between / ss_total, rel=1e-12)


def test_correlation_ratio_sees_a_curve_that_r2_misses():
    """A U-shaped relation: r² ≈ 0, η² ≈ 1; a straight line: both 1; noise: both small. Missing
    pairs are left out; a constant y or a single x value gives NaN."""
    x = np.linspace(-1, 1, 81)
    u = x**2
    assert squared_correlation(x, u) < 1e-12
    assert correlation_ratio(x, u) > 0.999
    assert correlation_ratio(x, 3 * x + 1) == pytest.approx(1.0, abs=1e-9)
    rng = np.random.default_rng(13)
    assert correlation_ratio(rng.normal(size=200), rng.normal(size=200)) < 0.1
    xm = x.copy()
    xm[::10] = np.nan
    m = ~np.isnan(xm)
    assert correlation_ratio(xm, u) == pytest.approx(correlation_ratio(x[m], u[m]), rel=1e-12)
    assert math.isnan(correlation_ratio(x, np.ones_like(x)))
    assert math.isnan(correlation_ratio(np.ones(9), x[:9]))


def _series(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0, 100, n))
    return x, np.sin(x / 15) * 10 + x / 4 + rng.normal(0, 2, n), rng.integers(1, 4, n).astype(float)


@pytest.mark.parametrize("n, seed", [(5, 1), (8, 2), (40, 3), (91, 4), (250, 5)])
def test_smoothing_spline_is_scipys_estimator(n, seed):
    """Reinsch's form against ``scipy.interpolate.make_smoothing_spline`` (B-spline form), weighted.

    At a given λ the two fits agree to rounding (1e-6 on values of about 30: both forms lose digits when
    two x values are close, here 1e-4 apart). With λ chosen by
    GCV they agree to the optimiser's tolerance: both run bounded Brent on (0, n), but GCV values
    that differ in the last bits can stop it at a λ a little apart where GCV is flat; on these
    series the fitted values agree to 1e-4 and η² = var(f)/var(y) to 1e-6."""
    from scipy.interpolate import make_smoothing_spline

    x, y, w = _series(n, seed)
    for lam in (1e-3, 1.0, 40.0):
        assert np.abs(smoothing_spline(x, y, w, lam=lam) - make_smoothing_spline(x, y, w=w, lam=lam)(x)).max() < 1e-6
    ours, theirs = smoothing_spline(x, y, w), make_smoothing_spline(x, y, w=w)(x)
    assert np.abs(ours - theirs).max() < 1e-4
    assert np.var(ours) / np.var(y) == pytest.approx(np.var(theirs) / np.var(y), abs=1e-6)


def test_smoothing_spline_limits_and_refusals():
    """λ = 0 interpolates; a large λ tends to the weighted least-squares line; a straight line is
    its own fit at any λ. Fewer than 5 points, unsorted x or a weight <= 0 are refused."""
    x, y, w = _series(30, 6)
    assert np.allclose(smoothing_spline(x, y, w, lam=0.0), y, atol=1e-9)
    line = np.polynomial.polynomial.polyfit(x, y, 1, w=np.sqrt(w))
    assert np.allclose(smoothing_spline(x, y, w, lam=1e12), np.polynomial.polynomial.polyval(x, line), atol=1e-4)
    assert np.allclose(smoothing_spline(x, 2 * x - 3), 2 * x - 3, atol=1e-9)
    for bad in ((x[:4], y[:4], None), (x[::-1], y, None), (x, y, np.zeros(30))):
        with pytest.raises(ValueError):
            smoothing_spline(*bad)


@pytest.mark.parametrize(
    "f, bounds",
    [
        (lambda x: (x - 2.0) ** 2, (0.0, 5.0)),
        (lambda x: math.sin(x) + 0.1 * x, (-2.0, 7.0)),
        (lambda x: abs(x - 1.3) ** 0.5, (0.5, 3.0)),
        (lambda x: (x - 4.9999) ** 4, (0.0, 5.0)),
        (lambda x: -x, (-2.0, 7.0)),
    ],
)
def test_minimize_bounded_is_the_bounded_brent_search(f, bounds):
    """The same points as ``scipy.optimize.minimize_scalar(method="bounded")``: the same x to the bit
    (a smooth minimum, a kink, a flat quartic, a minimum at the bound)."""
    from scipy.optimize import minimize_scalar

    assert minimize_bounded(f, *bounds) == minimize_scalar(f, bounds=bounds, method="bounded").x


def test_splines_fitted_together_are_each_fitted_alone():
    """Systems of different lengths stacked row by row (the shorter padded with identity rows) give
    each one's own fit: bit for bit at a given λ, and to the optimiser's tolerance with λ by GCV
    (the searches run in step; their GCV sums may differ in the last bits). η² of many columns is
    each column's η², a column with too few values NaN."""
    problems = [_series(n, seed) for n, seed in ((40, 3), (5, 1), (91, 4), (12, 8))]
    for lam in (1e-3, 2.0):
        together = smoothing_splines(problems, lam=lam)
        for (x, y, w), fit in zip(problems, together):
            assert np.array_equal(fit, smoothing_spline(x, y, w, lam=lam))
    for (x, y, w), fit in zip(problems, smoothing_splines(problems)):
        assert np.abs(fit - smoothing_spline(x, y, w)).max() < 1e-6
    rng = np.random.default_rng(21)
    y = rng.normal(size=60)
    cols = np.column_stack([y + rng.normal(size=60), np.sin(3 * y), np.ones(60), rng.integers(0, 3, 60).astype(float)])
    cols[::7, 0] = np.nan
    eta2 = correlation_ratios(cols, y)
    alone = [correlation_ratio(cols[:, j], y) for j in range(cols.shape[1])]
    assert math.isnan(eta2[2]) and math.isnan(alone[2])
    assert eta2[[0, 1, 3]] == pytest.approx([alone[0], alone[1], alone[3]], abs=1e-9)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_minimize_bounded_on_arrays_takes_each_searchs_own_steps(seed):
    """Searches run in step end where each would alone: the same x to the bit as one search at a time."""
    rng = np.random.default_rng(seed)
    centre, lo, hi = rng.uniform(-3, 3, 6), rng.uniform(-5, -3, 6), rng.uniform(3, 6, 6)
    kink, square, quartic = (rng.choice([0.0, 1.0], 6), rng.choice([0.0, 0.5], 6), rng.uniform(0.0, 0.2, 6))

    def f(x, j=slice(None)):  # a kink, a parabola and a flat quartic mixed: + − × and abs only, alike on floats and arrays
        t = x - centre[j]
        return kink[j] * abs(t) + square[j] * t * t + quartic[j] * t * t * t * t - 0.3 * t

    together = minimize_bounded(f, lo, hi)
    for j in range(6):
        alone = minimize_bounded(lambda x: f(x, j), lo[j], hi[j])
        assert together[j] == alone


def test_correlation_ratio_merges_x_values_closer_than_float_precision_allows():
    """x values within X_TIE of the range of each other are one value: a pair 1e-14 apart gives the
    η² of the merged series (where the spline's equations would be singular), and a series
    without near ties is the GCV spline's var(f)/var(y)."""
    x, y, _ = _series(40, 7)
    near = x.copy()
    near[11] = near[10] + 1e-14 * (x[-1] - x[0])
    merged_x = np.delete(near, 11)
    merged_y = np.delete(y, 11)
    merged_y[10] = (y[10] + y[11]) / 2
    w = np.ones(39)
    w[10] = 2.0
    fitted = np.insert(smoothing_spline(merged_x, merged_y, w), 11, 0.0)
    fitted[11] = fitted[10]
    assert correlation_ratio(near, y) == pytest.approx(np.var(fitted) / np.var(y), rel=1e-9)
    assert correlation_ratio(x, y) == pytest.approx(np.var(smoothing_spline(x, y)) / np.var(y), rel=1e-12)
    assert st.X_TIE == 1e-7


def test_importance_shares_by_hand():
    """Shares within each group over the members that count (weight > 0, importance known)."""
    imp = pd.Series([0.6, 0.2, 0.4, np.nan, 0.9, 0.1], index=list("abcdef"))
    w = [0.25, 0.25, 0.0, 0.5, 0.5, 0.5]
    g = ["P", "P", "P", "P", "Q", "Q"]
    got = importance_shares(imp, w, g, threshold=0.5)
    assert list(got.index) == list("abcdef")
    # P counts a and b only: importance 0.6 + 0.2, weight 0.25 + 0.25
    np.testing.assert_allclose(got["rel_importance"], [0.75, 0.25, 0.5, np.nan, 0.9, 0.1])
    np.testing.assert_allclose(got["rel_weight"], [0.5, 0.5, 0.0, 1.0, 0.5, 0.5])
    # |0.75 − 0.5| = 0.25 is not > 0.25; |0.25 − 0.5| = 0.25 is not either; Q: 0.4 > 0.25 both
    assert got["gap"].tolist() == [False, False, False, False, True, True]
    assert importance_shares(imp, w, g, threshold=0.49)["gap"].tolist()[:2] == [True, True]
    tuples = importance_shares([0.5, 0.5], [1.0, 1.0], [(2020, 1), (2021, 1)])
    assert tuples["rel_importance"].tolist() == [1.0, 1.0]
