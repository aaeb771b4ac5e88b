"""The one evaluator (index_engine.evaluate): a build against a node-by-node computation written
here from the formulas; every bundled spec's sensitivity nominal against its build; traits."""

from __future__ import annotations

import importlib.util
import io
import warnings

import numpy as np
import pandas as pd
import pytest

import index_engine as ie
from index_engine import sensitivity as sa
from index_engine.aggregate import AGGREGATE
from index_engine.weights import WEIGHTS

from .conftest import ROOT, TINY_SPEC, tiny_frame

STAGE = {"U1": "start", "U2": "mature", "U3": "other"}
SEGMENTS = {"column": "stage", "weight_sets": {"start": {"a": 3.0, "D2": 0.5}, "mature": {"c": 0.0}}}


def _tiny(aggregate: str, *, segments: bool, weights: str = "fixed") -> tuple[ie.Spec, ie.Panel]:
    d = {
        **TINY_SPEC,
        "steps": {
            "normalize": {"method": "minmax", "params": {"lower": 1, "upper": 100}},
            "weights": {"method": weights},
            "aggregate": {"method": aggregate},
        },
    }
    if segments:
        d["segments"] = SEGMENTS
    spec = ie.spec_from_dict(d, label="tiny.yaml")
    frame = tiny_frame()
    frame["stage"] = frame["unit"].map(STAGE)
    return spec, ie.panel_from_frame(frame, spec)


# ---- a node-by-node computation from the formulas -------------------------------------------
def _weighted_median(x: np.ndarray, w: np.ndarray) -> float:
    ok = ~np.isnan(x)
    x, w = x[ok], w[ok]
    order = np.argsort(x)
    x, w = x[order], w[order]
    cum, half = np.cumsum(w), w.sum() / 2
    k = int(np.argmax(cum >= half * (1 - 1e-12)))
    return (x[k] + x[k + 1]) / 2 if np.isclose(cum[k], half) and k + 1 < len(x) else x[k]


def _topsis(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Closeness D⁻/(D⁺ + D⁻) with vector normalisation, ideal points over the rows given."""
    R = X / np.sqrt((X**2).sum(axis=0))
    dp = np.sqrt(((w * (R - R.max(axis=0))) ** 2).sum(axis=1))
    dm = np.sqrt(((w * (R - R.min(axis=0))) ** 2).sum(axis=1))
    return dm / (dp + dm)


def _copeland(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    out = np.zeros(len(X))
    for i in range(len(X)):
        for j in range(len(X)):
            better, worse = w[X[i] > X[j]].sum(), w[X[i] < X[j]].sum()
            out[i] += np.sign(better - worse)
    return out


def _row_formula(method: str, X: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Each row from its own weights (W: rows × children)."""
    present = ~np.isnan(X)
    Xz = np.where(present, X, 0.0)
    Wp = np.where(present, W, 0.0)
    if method == "arithmetic":
        return (Wp * Xz).sum(axis=1) / Wp.sum(axis=1)
    if method == "geometric":
        return np.exp((Wp * np.log(np.where(present, X, 1.0))).sum(axis=1) / Wp.sum(axis=1))
    if method == "sum":
        k = X.shape[1]
        return (W * k / W.sum(axis=1, keepdims=True) * Xz).sum(axis=1)
    if method == "median":
        return np.array([_weighted_median(X[r], W[r]) for r in range(len(X))])
    raise AssertionError(method)


def node_by_node(b: ie.Build, *, segment_column: str | None = None) -> pd.DataFrame:
    """Every aggregate of ``b`` again, one node at a time: each row with the weights its segment
    gives it, TOPSIS pooled over all rows (a segment's rows again over that segment's rows),
    Copeland per year, data-driven weights from the rows they apply to."""
    spec, norm = b.spec, b.tables["normalized"]
    scores = {c: norm[c].to_numpy(float) for c in norm.columns}
    years = norm.index.get_level_values("year").to_numpy()
    seg = (
        b.panel.attrs[segment_column].reindex(norm.index).to_numpy() if segment_column else np.full(len(norm), None)
    )
    sets = spec.segments.weight_sets if spec.segments else {}
    for code in spec.aggregates:
        children = spec.nodes[code].children
        kids = [c.code for c in children]
        X = np.column_stack([scores[k] for k in kids])
        method = b.log[[s.step for s in b.log].index("aggregate")].method
        wname = spec.steps.weights.method

        def weights_of(rows: np.ndarray, name: str | None) -> np.ndarray:
            nominal = pd.Series(
                [sets[name].get(c.code, c.weight) if name else c.weight for c in children], index=kids, dtype=float
            )
            frame = pd.DataFrame(X[rows], columns=kids)
            return np.asarray(WEIGHTS.get(wname).func(frame, nominal), dtype=float)

        everyone = np.ones(len(X), bool)
        parts = [(None, everyone)] + [
            (name, seg == name) for name, ws in sets.items() if any(k in ws for k in kids) and (seg == name).any()
        ]
        if method in ("topsis", "copeland"):
            y = np.full(len(X), np.nan)
            for name, rows in parts:  # the tree's weights over every row, then each segment's over its rows
                w = weights_of(rows, name)
                if method == "topsis":
                    y[rows] = _topsis(X[rows], w)
                else:
                    for yr in np.unique(years[rows]):
                        sel = rows & (years == yr)
                        y[sel] = _copeland(X[sel], w)
        else:
            W = np.tile(weights_of(everyone, None), (len(X), 1))
            for name, rows in parts[1:]:
                W[rows] = weights_of(rows, name)
            y = _row_formula(method, X, W)
        scores[code] = y
    return pd.DataFrame(scores, index=norm.index)


@pytest.mark.parametrize(
    "aggregate,segments,weights",
    [
        ("arithmetic", False, "fixed"),
        ("arithmetic", True, "fixed"),
        ("geometric", True, "fixed"),
        ("sum", True, "equal"),
        ("median", True, "fixed"),
        ("topsis", True, "fixed"),
        ("copeland", False, "fixed"),
        ("arithmetic", True, "entropy"),
    ],
)
def test_build_equals_node_by_node(aggregate, segments, weights):
    spec, panel = _tiny(aggregate, segments=segments, weights=weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = ie.build(spec, panel)
        r = sa.remove_one(spec, panel)
    expected = node_by_node(b, segment_column="stage" if segments else None)
    np.testing.assert_allclose(b.scores.to_numpy(), expected[b.scores.columns].to_numpy(), rtol=1e-12, atol=1e-12)
    # the analysis' nominal is the build, to the last bit
    np.testing.assert_array_equal(r.nominal["score"].to_numpy(), b.scores["IDX"].to_numpy())
    np.testing.assert_array_equal(r.nominal["rank"].to_numpy(), b.ranks["IDX"].to_numpy())
    if segments:  # a segment's weight set is in the weights table, beside the tree's
        w = b.weights
        assert set(w["segment"]) == {"", "start", "mature"}
        start = w[(w["segment"] == "start") & (w["node"] == "a")]
        assert start["nominal_weight"].item() == 3.0


def test_segment_weights_change_only_their_rows():
    spec, panel = _tiny("arithmetic", segments=True)
    plain = ie.build(spec.replace("segments", None), panel)
    seg = ie.build(spec, panel)
    units = seg.scores.index.get_level_values("unit")
    same = np.isclose(seg.scores["IDX"], plain.scores["IDX"], rtol=0, atol=1e-12)
    assert same[units == "U3"].all() and not same[units == "U1"].all() and not same[units == "U2"].all()


def test_domain_error_names_node_and_unit_years():
    spec, panel = _tiny("geometric", segments=True)
    spec = spec.replace("steps.normalize.params.lower", 0)
    with pytest.raises(ie.BuildError, match=r"steps.aggregate: node D1: a geometric mean needs values > 0 .* — for U\d 20\d\d"):
        ie.build(spec, panel)


@pytest.mark.parametrize("aggregate", ["arithmetic", "sum", "geometric"])
def test_build_by_blocks_of_rows(monkeypatch, aggregate):
    """A build with more rows than a block computes each rowwise node a block at a time: the same scores."""
    import index_engine.evaluate as ev

    spec, panel = _tiny(aggregate, segments=False)
    whole = ie.build(spec, panel)
    monkeypatch.setattr(ev, "ROW_BLOCK", 2)
    blocks = ie.build(spec, panel)
    assert len(blocks.scores) > 2
    expected = node_by_node(blocks)
    np.testing.assert_allclose(blocks.scores.to_numpy(), expected[blocks.scores.columns].to_numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(blocks.scores.to_numpy(), whole.scores.to_numpy(), rtol=1e-12, atol=1e-12)


def test_domain_error_by_blocks_names_the_unit_years(monkeypatch):
    import index_engine.evaluate as ev

    spec, panel = _tiny("geometric", segments=False)
    spec = spec.replace("steps.normalize.params.lower", 0)
    monkeypatch.setattr(ev, "ROW_BLOCK", 2)
    with pytest.raises(ie.BuildError, match=r"steps.aggregate: node D1: a geometric mean needs values > 0 .* — for U\d 20\d\d"):
        ie.build(spec, panel)


def test_median_has_no_contributions():
    """Contributions are reported for weighted means only (the ``mean`` trait): not for a median."""
    spec, panel = _tiny("median", segments=False)
    assert ie.build(spec, panel).contributions.empty
    b = ie.build(spec.replace("steps.aggregate.by_node", {"D2": {"method": "arithmetic"}}), panel)
    assert set(b.contributions["parent"]) == {"D2"}
    assert not AGGREGATE.get("median").has("mean") and AGGREGATE.get("sum").has("rowwise")


# ---- every bundled spec: the analysis' nominal is the build ---------------------------------
def _bundled():
    specs = sorted((ROOT / "weights").glob("*.yaml")) + sorted((ROOT / "weights/examples").glob("*.yaml"))
    return [pytest.param(p, id=p.relative_to(ROOT).as_posix()) for p in specs]


def _panel(spec: ie.Spec) -> ie.Panel:
    if spec.data is not None and spec.data.file:
        return ie.load_panel(spec.base_dir / spec.data.file, spec)
    # the 30-indicator scale variant: a small sample from the data generator it names
    path = ROOT / "inputs/zgc/generate.py"
    mod = importlib.util.module_from_spec(importlib.util.spec_from_file_location("zgc_generate", path))
    mod.__loader__.exec_module(mod)
    return ie.panel_from_frame(mod.generate(300, [2024, 2025], extra=18), spec)


@pytest.mark.parametrize("path", _bundled())
def test_sensitivity_nominal_equals_build(path):
    spec = ie.load_spec(path, overrides={"tracking": None})  # target tracking: no part of the scores
    panel = _panel(spec)
    cache: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = ie.build(spec, panel, cache=cache)
        r = sa.remove_one(spec, panel, cache=cache)
    root = spec.tree.code
    rows = pd.MultiIndex.from_frame(r.nominal[["unit", "year"]])
    score = b.published[root].reindex(rows).to_numpy()
    rank = b.ranks[root].reindex(rows).to_numpy()
    np.testing.assert_array_equal(r.nominal["score"].to_numpy(), score)
    np.testing.assert_array_equal(r.nominal["rank"].to_numpy(), rank)
    # the batched removals are builds of the spec without the node (segments' weight sets too)
    with_siblings = [i for i, c in enumerate(r.samples["removed"]) if len(spec.nodes[spec.parents[c]].children) > 1]
    for i in (with_siblings[0], with_siblings[-1]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bi = ie.build(r.sample_spec(i), panel, cache=cache)
        np.testing.assert_allclose(r.scores.iloc[i].to_numpy(), bi.scores[root].reindex(rows).to_numpy(), rtol=1e-12, atol=1e-9)
        np.testing.assert_array_equal(r.ranks.iloc[i].to_numpy(), bi.ranks[root].reindex(rows).to_numpy())


def test_an_analysis_withholds_what_the_build_withholds(monkeypatch):
    """With a publication threshold, the nominal build's withheld scores are missing in every build of an
    analysis and rank nowhere: the nominal ranks are the build's ranks of its published scores."""
    spec = ie.load_spec(ROOT / "weights/examples/asem.yaml", overrides={"publish": {"min_coverage": 0.9}})
    panel = _panel(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = ie.build(spec, panel)
        r = sa.uncertainty(spec, panel, {"w": sa.WeightNoise(levels=(1,), noise=0.25)}, n=20, seed=3)
    root = spec.tree.code
    held = b.withheld[root]
    assert held.sum() >= 3  # the threshold withholds some units
    rows = pd.MultiIndex.from_frame(r.nominal[["unit", "year"]])
    np.testing.assert_array_equal(r.nominal["rank"].to_numpy(), b.ranks[root].reindex(rows).to_numpy())
    np.testing.assert_array_equal(r.nominal["score"].to_numpy(), b.published[root].reindex(rows).to_numpy())
    out = held.reindex(rows, fill_value=False).to_numpy()
    assert np.isnan(r.scores.to_numpy()[:, out]).all() and np.isnan(r.ranks.to_numpy()[:, out]).all()
    assert not np.isnan(r.ranks.to_numpy()[:, ~out]).any()
    # each build's ranks are 1..k over the published units of the year: none is taken by a withheld one
    per_year = r.nominal["year"].to_numpy()
    for y in np.unique(per_year):
        k = int((~out & (per_year == y)).sum())
        assert np.nanmax(r.ranks.to_numpy()[:, per_year == y]) <= k
    assert set(r.rank_stats["unit"]) == set(rows[~out].get_level_values("unit"))
    # given the nominal build, the analysis takes what it withholds from it instead of building it again
    import index_engine.sensitivity.run as run_mod

    def no_second_build(*a, **k):
        raise AssertionError("built again")

    monkeypatch.setattr(run_mod, "build", no_second_build)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = sa.uncertainty(spec, panel, {"w": sa.WeightNoise(levels=(1,), noise=0.25)}, n=20, seed=3, nominal=b)
    pd.testing.assert_frame_equal(again.ranks, r.ranks)


def test_segment_weights_under_noise_rebuild_from_samples():
    """Weight noise reaches a segment's weight set too, and samples.csv rows rebuild it."""
    spec = ie.load_spec(ROOT / "weights/examples/zgc_pilot_score.yaml", overrides={"steps.aggregate": {"method": "arithmetic"}})
    panel = ie.load_panel(spec.base_dir / spec.data.file, spec)
    r = sa.uncertainty(spec, panel, {"w": sa.WeightNoise(levels=(1, 2), noise=0.3)}, n=3, seed=1)
    for i in range(3):
        b = ie.build(r.sample_spec(i), panel)
        np.testing.assert_allclose(r.scores.iloc[i].to_numpy(), b.scores["ZGC"].to_numpy(), rtol=1e-12)
        np.testing.assert_array_equal(r.ranks.iloc[i].to_numpy(), b.ranks["ZGC"].to_numpy())


def test_remove_one_with_segments_and_importance(tmp_path):
    """What ``index-engine sensitivity weights/examples/zgc_pilot_score.yaml --mode remove`` runs."""
    spec = ie.load_spec(ROOT / "weights/examples/zgc_pilot_score.yaml")
    panel = ie.load_panel(spec.base_dir / spec.data.file, spec)
    cache: dict = {}
    r = sa.with_importance(sa.remove_one(spec, panel, cache=cache), ie.build(spec, panel, cache=cache))
    r.write(tmp_path / "s")
    table = pd.read_csv(tmp_path / "s" / "remove_one.csv")
    assert {"GROWTH", "FINANCE", "rd_intensity"} <= set(table["removed"])
    imp = pd.read_csv(tmp_path / "s" / "importance.csv").set_index("node")
    assert imp.loc["GROWTH", "effective_weight"] == pytest.approx(0.2)  # the tree's weights, not a segment's


# ---- warnings and progress -------------------------------------------------------------------
def test_sobol_warns_when_the_output_barely_varies():
    y = np.zeros(8 * 5)
    y[:3] = [1.0, 2.0, 1.0]  # 37 of 40 outputs are 0
    with pytest.warns(ie.errors.DegenerateOutputWarning, match="37 of 40 outputs .* are 0"):
        sa.sobol_indices(y, 8, ["a", "b", "c"], nboot=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sa.sobol_indices(np.arange(40.0) % 7, 8, ["a", "b", "c"], nboot=0)


def test_sobol_of_a_factor_that_changes_nothing_warns_and_says_so_in_the_manifest():
    spec, panel = _tiny("arithmetic", segments=False)
    f = {"label": sa.Choice(path="tree.a.name_en", values=["x", "y"])}
    with pytest.warns(ie.errors.DegenerateOutputWarning):
        r = sa.sobol(spec, panel, f, n=8, nboot=0)
    assert any("DegenerateOutputWarning" in w for w in r.manifest["warnings"])


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_bar_only_on_a_terminal(monkeypatch, terminal):
    spec, panel = _tiny("arithmetic", segments=False)
    err = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    sa.uncertainty(spec, panel, {"w": sa.WeightNoise(levels=(1,))}, n=5)
    assert ("uncertainty" in err.getvalue()) == terminal
