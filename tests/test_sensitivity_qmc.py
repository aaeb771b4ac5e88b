"""Sobol' points (index_engine.sensitivity.qmc): scipy's unscrambled points bit for bit, net balance of
the scrambled ones, determinism, and the Sobol indices of test functions with known values."""

import warnings

import numpy as np
import pytest

import index_engine as ie
from index_engine import sensitivity as sa
from index_engine.sensitivity import qmc


@pytest.mark.parametrize("d, n", [(1, 1), (1, 8), (2, 500), (5, 1024), (26, 500), (40, 4096), (300, 777), (1111, 64)])
def test_unscrambled_points_are_scipys(d, n):
    from scipy.stats import qmc as scipy_qmc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # n not a power of 2
        expected = scipy_qmc.Sobol(d, scramble=False).random(n)
    np.testing.assert_array_equal(qmc.sobol_points(n, d, scramble=False), expected)


def test_direction_numbers_read_off_scipys_points_when_the_table_is_absent(monkeypatch):
    table = qmc.direction_numbers(30, 10)
    monkeypatch.setattr(qmc, "_joe_kuo", lambda: (None, None))
    np.testing.assert_array_equal(qmc.direction_numbers(30, 10), table)


def _counts(X: np.ndarray, bits: tuple[int, ...]) -> np.ndarray:
    """Points per elementary interval with 2^bits[j] slices along dimension j."""
    cells = np.zeros(len(X), dtype=np.int64)
    for j, b in enumerate(bits):
        cells = (cells << b) | np.floor(X[:, j] * 2**b).astype(np.int64)
    return np.bincount(cells, minlength=2 ** sum(bits))


@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_scrambled_points_keep_the_net_balance(seed):
    """The first 2^m points: one point in each of the 2^m slices of every dimension ((0, m, 1)-nets), and in
    every elementary interval of area 2^-m of the first two dimensions (a (0, m, 2)-net); 2^(m-k) in each of
    the 2^k slices of a coarser grid."""
    m, d = 10, 12
    X = qmc.sobol_points(2**m, d, seed=seed)
    assert ((X >= 0) & (X < 1)).all() and len(np.unique(X[:, 0])) == 2**m
    for j in range(d):
        for k in (1, 4, m):
            assert (_counts(X[:, [j]], (k,)) == 2 ** (m - k)).all(), (j, k)
    for a in range(m + 1):
        assert (_counts(X[:, :2], (a, m - a)) == 1).all(), a
    # the unscrambled points of dimension 0 are exactly i / 2^m; scrambled ones move within their slices
    np.testing.assert_array_equal(np.sort(qmc.sobol_points(2**m, d, scramble=False)[:, 0]), np.arange(2**m) / 2**m)
    assert not np.array_equal(np.sort(X[:, 0]), np.arange(2**m) / 2**m)


def test_scrambled_points_are_fixed_by_the_seed():
    a = qmc.sobol_points(500, 26, seed=3)
    np.testing.assert_array_equal(a, qmc.sobol_points(500, 26, seed=3))
    np.testing.assert_array_equal(a[:100], qmc.sobol_points(100, 26, seed=3))  # a prefix of the longer run
    assert not np.array_equal(a, qmc.sobol_points(500, 26, seed=4))
    assert a.shape == (500, 26) and (a * 2**qmc.BITS == np.rint(a * 2**qmc.BITS)).all()


def test_bad_sizes():
    with pytest.raises(ie.SpecError, match="at least 1"):
        qmc.sobol_points(8, 0)
    with pytest.raises(ie.SpecError, match="at most 21201 dimensions"):
        qmc.sobol_points(8, 21202)
    with pytest.raises(ie.SpecError, match="n must be between"):
        qmc.sobol_points(-1, 2)


def test_indices_of_a_linear_function():
    """y = Σ c_i x_i with independent U(0, 1) inputs: S1_i = ST_i = c_i² / Σ c_j² (additive, no interactions)."""
    c = np.array([1.0, 2.0, 3.0, 0.0])
    n = 2**12
    X, _ = sa.saltelli_design(n, [[0], [1], [2], [3]], seed=5)
    r = sa.sobol_indices(X @ c, n, ["a", "b", "c", "d"], nboot=0)
    expected = c**2 / (c**2).sum()
    np.testing.assert_allclose(r["S1"], expected, atol=0.01)
    np.testing.assert_allclose(r["ST"], expected, atol=0.01)


def test_indices_of_grouped_columns():
    """Groups: y = x0·x1 + x2 with x0, x1 in one group. Var(x0 x1) = 1/9 − 1/16 = 7/144, Var(x2) = 1/12, so the
    group's S1 = ST = (7/144) / (7/144 + 12/144) = 7/19 and x2's 12/19."""
    n = 2**12
    X, blocks = sa.saltelli_design(n, [[0, 1], [2]], seed=2)
    assert X.shape == (4 * n, 3) and blocks[2 * n] == "AB:0"
    np.testing.assert_array_equal(X[2 * n : 3 * n, 2], X[:n, 2])  # A_B^(0) keeps A's column 2 ...
    np.testing.assert_array_equal(X[2 * n : 3 * n, :2], X[n : 2 * n, :2])  # ... and takes B's group 0
    y = X[:, 0] * X[:, 1] + X[:, 2]
    r = sa.sobol_indices(y, n, ["g", "x2"], nboot=0)
    np.testing.assert_allclose(r["S1"], [7 / 19, 12 / 19], atol=0.015)
    np.testing.assert_allclose(r["ST"], [7 / 19, 12 / 19], atol=0.015)
