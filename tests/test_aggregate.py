"""Aggregation methods (aggregate.py) that no other test file checks number by number."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from index_engine.aggregate import copeland
from index_engine.errors import BuildError


def copeland_by_hand(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Pairwise weighted majority written out: for each pair, sum the weights of the children each
    unit is strictly better on (children missing for either unit left out); the winner gains 1,
    the loser loses 1."""
    n = X.shape[0]
    score = np.zeros(n)
    for i, j in itertools.combinations(range(n), 2):
        for_i = for_j = 0.0
        for c in range(X.shape[1]):
            if np.isnan(X[i, c]) or np.isnan(X[j, c]):
                continue
            if X[i, c] > X[j, c]:
                for_i += w[c]
            elif X[j, c] > X[i, c]:
                for_j += w[c]
        if for_i > for_j:
            score[i] += 1
            score[j] -= 1
        elif for_j > for_i:
            score[j] += 1
            score[i] -= 1
    return score


def test_copeland_small_example_by_hand():
    # units A, B, C on three children, weights 1, 1, 2
    X = np.array([[3.0, 1.0, 2.0], [1.0, 2.0, 3.0], [2.0, 3.0, 1.0]])
    W = np.array([[1.0, 1.0, 2.0]])
    # A vs B: A better on c1 (1), B on c2, c3 (3) -> B; A vs C: A on c1, c3 (3), C on c2 (1) -> A;
    # B vs C: B on c3 (2), C on c1, c2 (2) -> tie
    np.testing.assert_array_equal(copeland(X, W), [[0.0, 1.0, -1.0]])
    np.testing.assert_array_equal(copeland(X, W)[0], copeland_by_hand(X, W[0]))


def test_copeland_matches_the_pairwise_loop_with_gaps_and_weight_samples():
    rng = np.random.default_rng(3)
    X = rng.integers(0, 5, (9, 4)).astype(float)  # many ties
    X[2, 1] = X[5, 3] = np.nan
    X[7, :] = np.nan
    W = rng.uniform(0.1, 2.0, (3, 4))
    got = copeland(X, W)
    assert got.shape == (3, 9)
    for s in range(3):
        exp = copeland_by_hand(X, W[s])
        exp[7] = np.nan  # no child present: missing
        np.testing.assert_array_equal(got[s], exp)


def test_copeland_min_coverage_and_size_limit():
    X = np.array([[1.0, np.nan, np.nan], [2.0, 2.0, 2.0], [3.0, 1.0, 1.0]])
    got = copeland(X, np.ones((1, 3)), min_coverage=0.5)
    assert np.isnan(got[0, 0]) and not np.isnan(got[0, 1:]).any()
    with pytest.raises(BuildError, match="copeland compares every pair of units; 20001 rows is too many"):
        copeland(np.zeros((20001, 2)), np.ones((1, 2)))


@pytest.mark.parametrize("k", [2, 6, 18])
def test_sum_of_a_block_without_gaps_is_the_same_product_to_the_bit(monkeypatch, k):
    """A block with every child present is summed as it is, without the copy that sets gaps to 0: the same
    product on the same values in the same layout, so the same bits as the general path (taken here by a
    view that is not contiguous); a block with gaps, a weight of 0 and weight samples go the general way."""
    from index_engine import aggregate

    monkeypatch.setattr(aggregate, "ROW_BLOCK", 64)
    rng = np.random.default_rng(k)
    wide = rng.normal(50, 20, (300, k + 1))
    wide[70:90, 0] = np.nan  # gaps in the second block only
    wide[200:210, :k] = np.nan  # and rows with no child at all in the fourth
    X, strided = np.ascontiguousarray(wide[:, :k]), wide[:, :k]
    for W in (rng.random((1, k)) * 3, np.eye(1, k), rng.random((4, k))):
        fast, general = aggregate.total(X, W), aggregate.total(strided, W)
        np.testing.assert_array_equal(fast, general)
        assert np.isnan(fast[:, 200:210]).all()
        assert np.isnan(fast[:, 70:90]).all() == (W.shape[0] == 1 and W[0, 1:].sum() == 0)  # only child 0 weighs


def test_linear_coefficients_are_what_each_child_counts_for():
    """With every child present, the arithmetic mean and the sum are Σ c·x with the coefficients
    linear_coefficients gives (w / Σ w, and w · k / Σ w written out here); other methods have none."""
    from index_engine.aggregate import AGGREGATE, linear_coefficients

    rng = np.random.default_rng(3)
    X, W = rng.random((50, 4)) * 100, rng.random((3, 4)) + 0.1
    by_hand = {"arithmetic": W / W.sum(axis=1, keepdims=True), "sum": W * 4 / W.sum(axis=1, keepdims=True)}
    for name, c in by_hand.items():
        got = linear_coefficients(name, W)
        np.testing.assert_allclose(got, c, rtol=1e-14)
        np.testing.assert_allclose(AGGREGATE.get(name).func(X, W), got @ X.T, rtol=1e-12)
    np.testing.assert_allclose(linear_coefficients("sum", [1.0, 1.0, 2.0]), [[0.75, 0.75, 1.5]])
    for name in ("geometric", "median", "topsis", "copeland"):
        assert linear_coefficients(name, W) is None
