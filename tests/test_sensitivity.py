"""Uncertainty and sensitivity analysis (index_engine.sensitivity): batched builds against normal builds,
Sobol estimators against the Ishigami function, the COINr vignette design, determinism, files and CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import index_engine as ie
from index_engine import evaluate
from index_engine import sensitivity as sa
from index_engine.sensitivity.factors import _plan as plan_factors

from .conftest import ROOT, TINY_SPEC, tiny_frame

ASEM = ROOT / "weights/examples/asem.yaml"
BEIJING = ROOT / "weights/beijing_tfdi.yaml"
HDI = ROOT / "weights/examples/hdi.yaml"


def _load(path):
    spec = ie.load_spec(path)
    return spec, ie.load_panel(spec.base_dir / spec.data.file, spec)


@pytest.fixture(scope="module")
def asem():
    spec, panel = _load(ASEM)
    return spec, panel, {}  # one upstream cache for the module


@pytest.fixture
def tiny():
    spec = ie.spec_from_dict(TINY_SPEC, label="tiny.yaml").replace("steps.normalize.params", {"lower": 1, "upper": 100})
    return spec, ie.panel_from_frame(tiny_frame(), spec)


def tiny_factors():
    return {
        "normalisation": sa.Choice(
            path="steps.normalize",
            values=[
                {"method": "minmax", "params": {"lower": 1, "upper": 100}},
                {"method": "zscore", "params": {"mean": 50, "sd": 10}},
                {"method": "rank"},
            ],
        ),
        "weights": sa.WeightNoise(levels=(1, 2), noise=0.25),
        "aggregation": sa.Choice(path="steps.aggregate.method", values=["arithmetic", "geometric"]),
    }


# ---- the batched evaluation is the normal build --------------------------------------------
def test_nominal_choices_give_the_nominal_build(tiny):
    """A sample with every factor at its nominal choice (and u = 0) is the nominal build."""
    spec, panel = tiny
    b = ie.build(spec, panel)
    # columns: normalisation, the 6 perturbed weights, aggregation (see manifest["columns"])
    one = sa.evaluate_design(spec, panel, np.array([[0.1] + [0.5] * 6 + [0.2]]), tiny_factors())
    assert one.manifest["columns"][0] == "normalisation" and one.manifest["columns"][-1] == "aggregation"
    np.testing.assert_array_equal(one.scores.iloc[0].to_numpy(), b.scores["IDX"].to_numpy())
    np.testing.assert_array_equal(one.ranks.iloc[0].to_numpy(), b.ranks["IDX"].to_numpy())
    np.testing.assert_array_equal(one.nominal["score"].to_numpy(), b.scores["IDX"].to_numpy())
    # inside a batch of other builds: the same ranks; scores to the last bits of a matrix product
    rng = np.random.default_rng(1)
    U = rng.random((40, 8))
    U[[3, 17, 31]] = [0.1] + [0.5] * 6 + [0.2]
    many = sa.evaluate_design(spec, panel, U, tiny_factors())
    for i in (3, 17, 31):
        np.testing.assert_array_equal(many.ranks.iloc[i].to_numpy(), b.ranks["IDX"].to_numpy())
        np.testing.assert_allclose(many.scores.iloc[i].to_numpy(), b.scores["IDX"].to_numpy(), rtol=1e-13, atol=0)
    assert many.samples.loc[3, "weights.a"] == pytest.approx(0.5)  # u = 0: the nominal weight within D1


def test_nominal_of_every_node_is_the_build(asem):
    spec, panel, cache = asem
    b = ie.build(spec, panel, cache=cache)
    for node in ("Physical", "Conn", "Index"):
        r = sa.uncertainty(spec, panel, n=4, node=node, cache=cache)
        np.testing.assert_array_equal(r.nominal["score"].to_numpy(), b.scores[node].to_numpy())
        np.testing.assert_array_equal(r.nominal["rank"].to_numpy(), b.ranks[node].to_numpy())


def test_batch_equals_builds_one_at_a_time(asem, tmp_path):
    """Every sample of the vignette design, rebuilt from its samples.csv row by the normal build."""
    spec, panel, cache = asem
    r = sa.uncertainty(spec, panel, n=20, seed=3, cache=cache)
    r.write(tmp_path / "u")
    rows = pd.read_csv(tmp_path / "u" / "samples.csv", dtype=str, keep_default_na=False)
    assert len(rows) == 20 and list(rows.columns[:3]) == ["sample", "winmax", "normalisation"]
    assert {"geometric", "arithmetic"} >= set(rows["aggregation"])
    for i in range(20):
        b = ie.build(sa.sample_spec(spec, rows.iloc[i].to_dict()), panel, cache=cache)
        np.testing.assert_allclose(r.scores.iloc[i].to_numpy(), b.scores["Index"].to_numpy(), rtol=1e-12, atol=0)
        np.testing.assert_array_equal(r.ranks.iloc[i].to_numpy(), b.ranks["Index"].to_numpy())
    # the result's own rows give the same specs
    assert r.sample_spec(7) == sa.sample_spec(spec, rows.iloc[7].to_dict())


@pytest.mark.parametrize("missing", [False, True])
def test_batch_with_per_sample_children(tiny, missing):
    """Noise at the indicator level makes every dimension vary by sample. With a value missing the
    weights renormalise row by row, so the batch goes node by node, as the build does."""
    spec, panel = tiny
    if missing:
        frame = tiny_frame()
        frame.loc[(frame["unit"] == "U2") & (frame["year"] == 2021), "a"] = np.nan
        panel = ie.panel_from_frame(frame, spec)
    r = sa.uncertainty(spec, panel, tiny_factors(), n=30, seed=5)
    cache: dict = {}
    for i in range(30):
        b = ie.build(r.sample_spec(i), panel, cache=cache)
        np.testing.assert_allclose(r.scores.iloc[i].to_numpy(), b.scores["IDX"].to_numpy(), rtol=1e-12, atol=0)
        np.testing.assert_array_equal(r.ranks.iloc[i].to_numpy(), b.ranks["IDX"].to_numpy())


@pytest.mark.parametrize("levels", [(1, 2, 3), (2, 3), (3,)])
@pytest.mark.parametrize("mix", ["arithmetic", "geometric", "arithmetic below, geometric above"])
def test_linear_forms_equal_node_by_node_evaluation(asem, monkeypatch, levels, mix):
    """A subtree of means with one φ evaluated as one mean of its leaves gives the node-by-node scores."""
    spec, panel, cache = asem
    spec = spec.replace("steps.normalize.params.lower", 1)
    if mix == "arithmetic below, geometric above":
        spec = spec.replace_many({"steps.aggregate.method": "geometric", "steps.aggregate.by_level": {2: {"method": "arithmetic"}}})
    else:
        spec = spec.replace("steps.aggregate.method", mix)
    factors = {
        "weights": sa.WeightNoise(levels=levels, noise=0.4),
        "norm": sa.Choice(path="steps.normalize.params.lower", values=[1, 10]),
    }
    U = np.random.default_rng(7).random((60, plan_factors(spec, factors).D))
    of = evaluate._Linear.of
    used = []

    def run(linear: bool, node: str):
        def counting(*args, **kwargs):
            lin = of(*args, **kwargs) if linear else None
            used.append(lin is not None)
            return lin

        monkeypatch.setattr(evaluate._Linear, "of", staticmethod(counting))
        return sa.evaluate_design(spec, panel, U, factors, node=node, cache=cache)

    for node in ("Index", "Conn", "Physical"):  # the index, and intermediate target nodes
        used.clear()
        fast = run(True, node)
        assert any(used) or (node == "Physical" and levels != (1, 2, 3))  # the linear forms did the work
        slow = run(False, node)
        np.testing.assert_allclose(fast.scores.to_numpy(), slow.scores.to_numpy(), rtol=1e-13, atol=0)
        np.testing.assert_array_equal(fast.ranks.to_numpy(), slow.ranks.to_numpy())


@pytest.mark.parametrize("p", [3, 2, 0.5])
def test_power_means_of_negative_values_in_batches(tiny, p):
    """z-scores below a power mean: an odd power of a negative mean has no real root (the build's
    NaN must stay NaN), an even one does, a fractional one refuses negatives."""
    spec, panel = tiny
    spec = spec.replace_many({
        "steps.normalize": {"method": "zscore", "params": {"mean": 0, "sd": 1}},
        "steps.aggregate": {"method": "generalised", "params": {"p": p}},
    })
    f = {"w": sa.WeightNoise(levels=(1, 2), noise=0.4)}
    if p == 0.5:
        with pytest.raises(ie.BuildError, match="generalised mean with p = 0.5 needs values > 0"):
            sa.uncertainty(spec, panel, f, n=10, seed=1)
        return
    r = sa.uncertainty(spec, panel, f, n=20, seed=1)
    for i in range(20):
        b = ie.build(r.sample_spec(i), panel)
        np.testing.assert_allclose(r.scores.iloc[i].to_numpy(), b.scores["IDX"].to_numpy(), rtol=1e-12, atol=0)
        np.testing.assert_array_equal(r.ranks.iloc[i].to_numpy(), b.ranks["IDX"].to_numpy())
    assert r.scores.isna().any().any() == (p == 3)


def test_data_driven_weights_are_batched_too(tiny):
    spec, panel = tiny
    spec = spec.replace("steps.weights", {"method": "entropy"})
    factors = {
        "weights": sa.WeightNoise(levels=(2,)),
        "norm": sa.Choice(path="steps.normalize", values=[{"method": "minmax", "params": {"lower": 1}}, {"method": "rank"}]),
    }
    r = sa.uncertainty(spec, panel, factors, n=10, seed=2)
    for i in range(10):
        b = ie.build(r.sample_spec(i), panel)
        np.testing.assert_allclose(r.scores.iloc[i].to_numpy(), b.scores["IDX"].to_numpy(), rtol=1e-12)


def test_rank_desc_matches_pandas(monkeypatch):
    """Batched ranks within each year equal pandas' rank(ascending=False, method="min") per year."""
    from index_engine import ranks

    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, size=(50, 12)).astype(float)  # many ties
    x[x == 5] = np.nan
    for years in (np.repeat([2020, 2021, 2022], 4), np.full(12, 2020)):  # three years, or one
        groups = [np.flatnonzero(years == y) for y in np.unique(years)]
        expected = np.stack([
            pd.Series(row).groupby(years).rank(ascending=False, method="min").to_numpy() for row in x
        ])
        np.testing.assert_array_equal(sa.rank_desc(x, groups), expected)
        # in blocks, each row's ranks written to its own row of a larger array
        monkeypatch.setattr(ranks, "_RANK_BLOCK", 7)
        rows = rng.permutation(60)[:50]
        out = np.full((60, 12), -1.0)
        assert sa.rank_desc(x, groups, out, rows) is out
        np.testing.assert_array_equal(out[rows], expected)
        assert (np.delete(out, rows, axis=0) == -1).all()
        monkeypatch.undo()
    assert sa.rank_desc(np.empty((0, 12)), groups).shape == (0, 12)


# ---- Sobol ------------------------------------------------------------------------------------
def test_ishigami_indices():
    """Ishigami (a = 7, b = 0.1): S1 = 0.3139, 0.4424, 0; ST = 0.5576, 0.4424, 0.2437 (Saltelli et al. 2010, Table 1;
    Sobol' & Levitan 1999)."""
    n = 2**13
    X, blocks = sa.saltelli_design(n, [[0], [1], [2]], seed=0)
    assert X.shape == (5 * n, 3) and blocks[n] == "B" and blocks[-1] == "AB:2"
    x = X * 2 * np.pi - np.pi
    y = np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])
    r = sa.sobol_indices(y, n, ["x1", "x2", "x3"], nboot=300, seed=0)
    np.testing.assert_allclose(r["S1"], [0.3139, 0.4424, 0.0], atol=0.01)
    np.testing.assert_allclose(r["ST"], [0.5576, 0.4424, 0.2437], atol=0.005)
    assert ((r["S1_lo"] <= [0.3139, 0.4424, 0.0]) & (r["S1_hi"] >= [0.3139, 0.4424, 0.0])).all()
    assert list(r.columns) == ["factor", "S1", "S1_lo", "S1_hi", "ST", "ST_lo", "ST_hi"]


@pytest.mark.parametrize("null", [["x", "y"], ["x", "x"]])
def test_a_factor_that_changes_nothing_has_zero_indices(tiny, null):
    spec, panel = tiny
    factors = {**tiny_factors(), "label": sa.Choice(path="tree.a.name_en", values=null)}
    r = sa.sobol(spec, panel, factors, n=64, seed=0, nboot=100)
    row = r.sobol.set_index("factor").loc["label"]
    assert row["S1"] == 0 and row["ST"] == 0 and row["S1_lo"] == 0 and row["ST_hi"] == 0
    assert r.sobol.set_index("factor").loc["aggregation", "ST"] > 0


def test_asem_vignette_ranks_the_factors_as_coinr(asem):
    """COINr's sensitivity vignette: total indices aggregation > normalisation > weights > winmax.

    Stable at N = 256 (1,536 builds) for seeds 0-7; the test runs seed 0."""
    spec, panel, cache = asem
    r = sa.sobol(spec, panel, n=256, seed=0, cache=cache, nboot=200)
    st = r.sobol.set_index("factor")["ST"]
    assert list(st.sort_values(ascending=False).index) == ["aggregation", "normalisation", "weights", "winmax"]
    assert r.manifest["builds"] == 256 * 6 and len(r.samples) == 256 * 6
    assert r.samples["block"].iloc[0] == "A" and r.samples["block"].iloc[-1] == "AB:aggregation"
    # rank statistics over the A and B blocks, as COINr
    assert len(r.rank_stats) == len(panel.units)
    assert (r.rank_stats["q05_rank"] <= r.rank_stats["median_rank"]).all()
    assert (r.rank_stats["median_rank"] <= r.rank_stats["q95_rank"]).all()


def test_sobol_output_of_one_unit(tiny):
    spec, panel = tiny
    r = sa.sobol(spec, panel, tiny_factors(), n=32, seed=1, nboot=0, output=("score", "U1"))
    assert r.manifest["output"] == "score of U1 in 2021"
    np.testing.assert_array_equal(r.y, r.scores[("U1", 2021)].to_numpy())
    with pytest.raises(ie.DataError, match="no row for unit 'U9'"):
        sa.sobol(spec, panel, tiny_factors(), n=8, output=("rank", "U9"))
    with pytest.raises(ie.SpecError, match="output must be"):
        sa.sobol(spec, panel, tiny_factors(), n=8, output="median")


def test_grouped_factors_share_indices(tiny):
    spec, panel = tiny
    f = tiny_factors()
    f["normalisation"] = sa.Choice(path="steps.normalize", values=[{"method": "rank"}, {"method": "zscore", "params": {"mean": 50, "sd": 10}}], group="methods")
    f["aggregation"] = sa.Choice(path="steps.aggregate.method", values=["arithmetic", "geometric"], group="methods")
    r = sa.sobol(spec, panel, f, n=16, seed=0, nboot=0)
    assert list(r.sobol["factor"]) == ["methods", "weights"] and len(r.samples) == 16 * 4


# ---- determinism ----------------------------------------------------------------------------
def test_same_seed_same_numbers_whatever_the_jobs(asem):
    spec, panel, _ = asem
    upstream: dict = {}  # the serial runs share their upstream tables; the run on 2 processes makes its own
    a = sa.uncertainty(spec, panel, n=60, seed=11, jobs=1, cache=upstream)
    b = sa.uncertainty(spec, panel, n=60, seed=11, jobs=2)
    assert b.manifest["upstream_builds"] == 10  # every winmax x normalisation: the 2 processes share them out
    pd.testing.assert_frame_equal(a.scores, b.scores, check_exact=True)
    pd.testing.assert_frame_equal(a.samples, b.samples, check_exact=True)
    pd.testing.assert_frame_equal(a.rank_stats, b.rank_stats, check_exact=True)
    c = sa.uncertainty(spec, panel, n=60, seed=12, cache=upstream)
    assert not a.scores.equals(c.scores)


# ---- remove-one and importance ----------------------------------------------------------------
def test_remove_one(tiny, tmp_path):
    spec, panel = tiny
    r = sa.remove_one(spec, panel)
    t = r.remove_one.set_index("removed")
    assert list(r.remove_one.columns) == ["removed", "level", "mean_abs_rank_change", "max_abs_rank_change"]
    assert set(t.index) == {"D1", "D2", "a", "b", "c", "d"} and t.loc["D1", "level"] == 2
    for code in t.index:
        b = ie.build(spec.replace(f"tree.{code}.weight", 0), panel)
        change = np.abs(b.ranks["IDX"].to_numpy() - r.nominal["rank"].to_numpy())
        assert t.loc[code, "mean_abs_rank_change"] == pytest.approx(change.mean())
        assert t.loc[code, "max_abs_rank_change"] == change.max()
    r.write(tmp_path / "rm")
    assert sorted(p.name for p in (tmp_path / "rm").iterdir()) == ["manifest.json", "remove_one.csv", "samples.csv"]


def test_importance(asem, tmp_path):
    spec, panel, cache = asem
    imp = sa.importance(ie.build(spec, panel, cache=cache))
    t = imp.table.set_index("node")
    assert list(imp.table.columns) == ["node", "parent", "effective_weight", "r2", "eta2", "flag"]
    assert len(t) == len(spec.nodes) - 1 and t.loc["Conn", "effective_weight"] == pytest.approx(0.5)
    assert ((t["r2"] >= 0) & (t["r2"] <= 1)).all() and ((t["eta2"] >= 0) & (t["eta2"] <= 1)).all()
    assert set(t["flag"]) <= {"", "importance above weight", "importance below weight", "weight 0", "too few values"}
    # a smoother explains at least about as much as a straight line
    assert (t["eta2"] >= t["r2"] - 0.05).all()
    imp.write(tmp_path)
    assert (tmp_path / "importance.csv").exists()
    x = np.linspace(-1, 1, 60)
    assert sa.correlation_ratio(x, x**2) > 0.95 and sa.correlation_ratio(x, x**2 * 0 + 1) != sa.correlation_ratio(x, x**2 * 0 + 1)


# ---- files ----------------------------------------------------------------------------------
def test_write_files_and_refuse_existing(tiny, tmp_path):
    spec, panel = tiny
    r = sa.sobol(spec, panel, tiny_factors(), n=16, seed=0, nboot=50)
    out = r.write(tmp_path / "s")
    names = sorted(p.name for p in out.iterdir())
    assert names == ["manifest.json", "rank_stats.csv", "samples.csv", "sobol.csv"]
    rs = pd.read_csv(out / "rank_stats.csv")
    assert list(rs.columns) == [
        "unit", "year", "nominal_rank", "mean_rank", "median_rank", "q05_rank", "q95_rank",
        "nominal_score", "q05_score", "q95_score",
    ]
    assert list(pd.read_csv(out / "sobol.csv").columns) == ["factor", "S1", "S1_lo", "S1_hi", "ST", "ST_lo", "ST_hi"]
    man = json.loads((out / "manifest.json").read_text())
    assert man["builds"] == 16 * 5 and man["seed"] == 0 and man["spec_sha256"] == spec.hash()
    assert man["factors"]["weights"]["nodes"] == ["a", "b", "c", "d", "D1", "D2"]
    with pytest.raises(ie.OutputExistsError, match="exists already"):
        r.write(out)
    r.write(out, force=True)


# ---- factors and errors -------------------------------------------------------------------
def test_spec_uncertainty_section(asem):
    spec, _, _ = asem
    f = sa.factors_from_spec(spec)
    assert list(f) == ["winmax", "normalisation", "weights", "aggregation"]
    assert f["weights"] == sa.WeightNoise(levels=(2, 3), noise=0.25)
    assert f["winmax"].values == (1, 2, 3, 4, 5) and f["winmax"].path == "steps.treat.params.winmax"
    bj = ie.load_spec(BEIJING)
    assert list(sa.factors_from_spec(bj)) == ["weights", "normalisation", "aggregation", "imputation"]


@pytest.mark.parametrize(
    "section,message",
    [
        ({"w": {"type": "weights"}}, "uncertainty.w: a weights factor needs 'levels'"),
        ({"w": {"type": "weights", "levels": [0]}}, "levels are 1"),
        ({"w": {"type": "weights", "levels": [2], "noise": 1.5}}, "uncertainty.w.noise"),
        ({"c": {"type": "choice"}}, "a choice factor needs 'values'"),
        ({"c": {"type": "choice", "values": [1, 2]}}, "without 'path', each value"),
        ({"c": {"type": "choice", "path": "x", "values": [1], "levels": [1]}}, "not 'levels'"),
        ({"w": {"type": "weights", "levels": [2], "path": "x"}}, "not 'path' or 'values'"),
        ({"c": {"type": "choise", "values": [1]}}, "uncertainty.c.type"),
    ],
)
def test_bad_uncertainty_sections(section, message):
    with pytest.raises(ie.SpecError, match=message):
        ie.spec_from_dict({**TINY_SPEC, "uncertainty": section}, label="tiny.yaml")


def test_a_factor_that_cannot_be_applied_is_an_error(tiny):
    spec, panel = tiny
    with pytest.raises(ie.SpecError, match=r"uncertainty.winmax: value 1 of 2 \(1\) cannot be applied"):
        sa.uncertainty(spec, panel, {"winmax": sa.Choice(path="steps.treat.params.winmax", values=[1, 2])}, n=2)
    with pytest.raises(ie.SpecError, match="uncertainty.agg: value 2 of 2 .*Unknown aggregate method 'geo'"):
        sa.uncertainty(spec, panel, {"agg": sa.Choice(path="steps.aggregate.method", values=["arithmetic", "geo"])}, n=2)
    with pytest.raises(ie.SpecError, match="uncertainty.w: no node at level 4 has a weight; the levels below the index are"):
        sa.uncertainty(spec, panel, {"w": sa.WeightNoise(levels=(4,))}, n=2)
    with pytest.raises(ie.SpecError, match="the weight of a is already varied by factor 'w1'"):
        sa.uncertainty(spec, panel, {"w1": sa.WeightNoise(levels=(1,)), "w2": sa.WeightNoise(levels=(1, 2))}, n=2)
    with pytest.raises(ie.SpecError, match="the path steps.normalize.method overlaps steps.normalize of factor 'n1'"):
        sa.uncertainty(
            spec, panel,
            {"n1": sa.Choice(path="steps.normalize", values=[{"method": "rank"}]),
             "n2": sa.Choice(path="steps.normalize.method", values=["zscore"])},
            n=2,
        )
    with pytest.raises(ie.SpecError, match="has no uncertainty: section"):
        sa.uncertainty(spec, panel, n=2)
    with pytest.raises(ie.SpecError, match="n must be a positive integer"):
        sa.uncertainty(spec, panel, tiny_factors(), n=0)
    with pytest.raises(ie.SpecError, match="jobs must be a positive integer"):
        sa.uncertainty(spec, panel, tiny_factors(), n=2, jobs=0)
    with pytest.raises(ie.SpecError, match="WeightNoise noise must be"):
        sa.WeightNoise(levels=(1,), noise=0)
    with pytest.raises(ie.SpecError, match="WeightNoise levels must be"):
        sa.WeightNoise(levels=(0,))
    with pytest.raises(ie.SpecError, match="Choice values must be a list"):
        sa.Choice(path="x", values="abc")
    with pytest.raises(ie.SpecError, match="at least one value"):
        sa.Choice(path="x", values=[])
    with pytest.raises(ie.SpecError, match="a Choice without a path"):
        sa.Choice(values=[1, 2])
    with pytest.raises(ie.SpecError, match="a factor is a WeightNoise or a Choice"):
        sa.uncertainty(spec, panel, {"x": 3}, n=2)
    with pytest.raises(ie.SpecError, match="factors must map"):
        sa.uncertainty(spec, panel, [sa.WeightNoise(levels=(1,))], n=2)
    with pytest.raises(ie.SpecError, match="no node 'XX'"):
        sa.uncertainty(spec, panel, tiny_factors(), n=2, node="XX")
    with pytest.raises(ie.DataError, match="U must be builds × 8"):
        sa.evaluate_design(spec, panel, np.zeros((2, 3)), tiny_factors())
    with pytest.raises(ie.DataError, match=r"lie in \[0, 1\]"):
        sa.evaluate_design(spec, panel, np.full((2, 8), 2.0), tiny_factors())
    with pytest.raises(ie.DataError, match="expected 20 outputs"):
        sa.sobol_indices(np.zeros(7), 5, ["a", "b"])
    with pytest.raises(ie.DataError, match="1 outputs are missing"):
        sa.sobol_indices(np.r_[np.zeros(19), np.nan], 5, ["a", "b"])
    with pytest.raises(ie.SpecError, match="needs n >= 2"):
        sa.saltelli_design(1, [[0]])


@pytest.mark.parametrize("levels", [(2,), (1,)])  # D1's weights fixed, or varying by sample
def test_a_build_that_fails_names_the_sample(tiny, levels):
    spec, panel = tiny
    spec = spec.replace("steps.normalize.params", {"lower": 0, "upper": 100})  # zeros: no geometric mean
    f = {"agg": sa.Choice(path="steps.aggregate.method", values=["arithmetic", "geometric"]), "w": sa.WeightNoise(levels=levels)}
    with pytest.raises(ie.BuildError, match=r"node D1: a geometric mean needs values > 0 .* \(sensitivity sample with agg=geometric\)"):
        sa.uncertainty(spec, panel, f, n=20)


def test_progress_bar_only_when_asked(tiny, capsys):
    spec, panel = tiny
    sa.uncertainty(spec, panel, tiny_factors(), n=5)
    assert capsys.readouterr().err == ""
    sa.uncertainty(spec, panel, tiny_factors(), n=5, progress=True)
    assert "uncertainty" in capsys.readouterr().err


# ---- command line ----------------------------------------------------------------------------
def run_main(capsys, *args):
    """The command in this process (faster than a subprocess): exit code, stdout, stderr."""
    from index_engine.cli import main

    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_sensitivity_new_build_folder(run_cli, tmp_path):
    out = tmp_path / "asem"
    # two of the five Winsorisation limits: 4 upstream builds for the 2 processes rather than 10
    r = run_cli("sensitivity", ASEM, "--mode", "sobol", "--n", "8", "--seed", "3", "--jobs", "2", "--out", out,
                "--set", "uncertainty.winmax.values=[1, 3]")
    assert r.returncode == 0, r.stderr
    assert "aggregation" in r.stdout and (out / "scores.csv").exists()
    names = sorted(p.name for p in (out / "sensitivity").iterdir())
    assert names == ["importance.csv", "manifest.json", "rank_stats.csv", "samples.csv", "sobol.csv"]
    man = json.loads((out / "sensitivity" / "manifest.json").read_text())
    assert man["n"] == 8 and man["seed"] == 3 and man["jobs"] == 2 and man["builds"] == 48
    r = run_cli("sensitivity", ASEM, "--n", "4", "--out", out)
    assert r.returncode == 2 and "exists already" in r.stderr and "Traceback" not in r.stderr


def test_cli_sensitivity_defaults_and_force(tmp_path, capsys):
    """Default mode (uncertainty), seed and jobs; --force over an existing folder; HDI with a factor set by --set."""
    out = tmp_path / "hdi"
    out.mkdir()
    noise = "uncertainty={w: {type: weights, levels: [2]}}"
    code, stdout, err = run_main(capsys, "sensitivity", str(HDI), "--set", noise, "--n", "50", "--out", str(out), "--force")
    assert code == 0, err
    assert sorted(p.name for p in (out / "sensitivity").iterdir()) == [
        "importance.csv", "manifest.json", "rank_stats.csv", "samples.csv"
    ]
    man = json.loads((out / "sensitivity" / "manifest.json").read_text())
    assert man["mode"] == "uncertainty" and man["seed"] == 0 and man["jobs"] == 1 and man["builds"] == 50
    assert "median" in stdout and (out / "scores.csv").exists()


def test_cli_sensitivity_into_an_existing_build(tmp_path, capsys):
    out = tmp_path / "hdi"
    assert run_main(capsys, "build", str(HDI), "--out", str(out), "--no-excel")[0] == 0
    code, stdout, err = run_main(capsys, "sensitivity", str(HDI), "--mode", "remove", "--build", str(out))
    assert code == 0, err
    assert (out / "sensitivity" / "remove_one.csv").exists() and "wrote" in stdout
    code, _, err = run_main(capsys, "sensitivity", str(HDI), "--mode", "remove", "--build", str(out))
    assert code == 2 and "pass --force" in err
    assert run_main(capsys, "sensitivity", str(HDI), "--mode", "remove", "--build", str(out), "--force")[0] == 0
    code, _, err = run_main(
        capsys, "sensitivity", str(HDI), "--mode", "remove", "--build", str(out), "--force", "--set", "steps.aggregate.by_level={}"
    )
    assert code == 2 and "--set cannot change the spec of an existing build" in err
    code, _, err = run_main(capsys, "sensitivity", str(ASEM), "--mode", "remove", "--build", str(out))
    assert code == 2 and "that build was made from another spec" in err
    code, _, err = run_main(capsys, "sensitivity", str(HDI), "--build", str(tmp_path / "nope"))
    assert code == 2 and "no such build folder" in err
    code, _, err = run_main(capsys, "sensitivity", str(HDI), "--build", str(out), "--out", str(tmp_path / "x"))
    assert code == 2 and "give one of them" in err
    code, _, err = run_main(capsys, "sensitivity", str(HDI), "--n", "0", "--out", str(tmp_path / "y"))
    assert code == 2 and "--n must be at least 1" in err
    code, _, err = run_main(capsys, "sensitivity", str(HDI), "--jobs", "0", "--out", str(tmp_path / "y"))
    assert code == 2 and "--jobs must be at least 1" in err
    # a spec without an uncertainty: section gets the documented default factors (job.default_factors)
    code, _, err = run_main(capsys, "sensitivity", str(HDI), "--n", "20", "--out", str(tmp_path / "z"))
    assert code == 0, err
    samples = pd.read_csv(tmp_path / "z" / "sensitivity" / "samples.csv")
    assert any(c.startswith("weights_level") for c in samples.columns)
    assert (tmp_path / "z" / "scores.csv").exists() and not (tmp_path / "z" / "report").exists()
