"""Property tests (hypothesis) of the normalisation and aggregation conventions."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import index_engine as ie
from index_engine.aggregate import AGGREGATE
from index_engine.normalize import minmax

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


def series(values) -> pd.Series:
    idx = pd.MultiIndex.from_arrays([[f"U{i}" for i in range(len(values))], [2020] * len(values)], names=["unit", "year"])
    return pd.Series(values, index=idx, name="x", dtype=float)


@settings(deadline=None)
@given(st.lists(finite, min_size=2, max_size=40), st.floats(-100, 100), st.floats(0.5, 200))
def test_minmax_stays_within_bounds(values, lower, width):
    x = series(values)
    if x.max() == x.min():
        return
    y = minmax(x, lower=lower, upper=lower + width)
    tol = 1e-9 * max(1.0, abs(lower) + width)
    assert (y >= lower - tol).all() and (y <= lower + width + tol).all()


def _spec(direction: int) -> ie.Spec:
    return ie.spec_from_dict(
        {
            "index": {"id": "P"},
            "tree": {"code": "P", "children": [{"code": "a", "direction": direction}, {"code": "b"}]},
        }
    )


frames = st.integers(3, 12).flatmap(
    lambda n: st.tuples(
        arrays(np.float64, n, elements=st.integers(0, 10**6), unique=True),
        arrays(np.float64, n, elements=st.floats(0, 1000)),
    )
)


FLIPPED = ie.spec_from_dict(
    {
        "index": {"id": "P"},
        "tree": {"code": "P", "children": [{"code": "a"}, {"code": "a_down", "direction": -1}, {"code": "b"}]},
    }
)
"""The same column twice, once with each direction, so one build ranks both ways."""


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames)
def test_flipping_direction_reverses_ranks(data):
    a, b = data
    df = pd.DataFrame({"unit": [f"U{i}" for i in range(len(a))], "a": a, "a_down": a, "b": b})
    built = ie.build(FLIPPED, ie.panel_from_frame(df, FLIPPED))
    n = len(a)
    assert ((built.ranks["a"] + built.ranks["a_down"]) == n + 1).all()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames, st.randoms(use_true_random=False))
def test_permuting_units_permutes_results(data, rnd):
    a, b = data
    df = pd.DataFrame({"unit": [f"U{i}" for i in range(len(a))], "a": a, "b": b})
    order = list(range(len(df)))
    rnd.shuffle(order)
    spec = _spec(1)
    one = ie.build(spec, ie.panel_from_frame(df, spec))
    two = ie.build(spec, ie.panel_from_frame(df.iloc[order], spec))
    pd.testing.assert_frame_equal(one.scores.sort_index(), two.scores.sort_index())
    pd.testing.assert_frame_equal(one.ranks.sort_index(), two.ranks.sort_index())


@settings(deadline=None)
@given(
    st.sampled_from(["arithmetic", "geometric", "harmonic", "generalised", "median"]),
    arrays(np.float64, st.integers(1, 20), elements=st.floats(0.01, 1000)),
    st.integers(1, 6),
    arrays(np.float64, 6, elements=st.floats(0.1, 10)),
)
def test_identical_children_aggregate_to_themselves(method, x, k, w):
    X = np.repeat(x[:, None], k, axis=1)
    out = AGGREGATE.get(method).func(X, w[None, :k])
    np.testing.assert_allclose(out[0], x, rtol=1e-9)


@settings(deadline=None)
@given(arrays(np.float64, (5, 4), elements=st.floats(0.1, 100)), arrays(np.float64, (3, 4), elements=st.floats(0.01, 5)))
def test_batched_weights_equal_one_at_a_time(X, W):
    """A batch of weight samples gives the same scores as each sample on its own."""
    for name in ("arithmetic", "geometric", "harmonic", "median"):
        f = AGGREGATE.get(name).func
        batch = f(X, W)
        for s in range(W.shape[0]):
            np.testing.assert_allclose(batch[s], f(X, W[s : s + 1])[0], rtol=1e-12)
        X3 = np.broadcast_to(X, (W.shape[0],) + X.shape)
        np.testing.assert_allclose(f(X3, W), batch, rtol=1e-12)
