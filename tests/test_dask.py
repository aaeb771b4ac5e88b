"""The Dask backend gives the in-process build's scores and ranks (to 1e-12) on a LocalCluster."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import index_engine as ie
from index_engine.dask_backend import build_dask, combine_moments, split_panel

from .conftest import ROOT

# distributed (and dask under it) is imported by the cluster fixture, on the worker that runs this module,
# rather than when every worker collects the suite
pytestmark = pytest.mark.skipif(importlib.util.find_spec("distributed") is None, reason="distributed is not installed (pip install -e .[test])")


@pytest.fixture(scope="module")
def client():
    """One worker process with two threads: tasks still cross a process boundary (pickled both
    ways) and run side by side, for the cost of starting one Python process instead of two."""
    import distributed

    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


_LOCAL: dict[str, ie.Build] = {}


def firm_build_in_process(overrides: dict) -> tuple[ie.Spec, ie.Panel, ie.Build]:
    """The firm sample's spec (with ``overrides``), panel and in-process build; the build without
    overrides is made once for the module."""
    spec = ie.load_spec(ROOT / "weights/examples/zgc_pilot_score.yaml", overrides=overrides)
    panel = ie.load_panel(ROOT / "inputs/zgc/zgc_firms_sample.csv", spec)
    if overrides:
        return spec, panel, ie.build(spec, panel)
    if "plain" not in _LOCAL:
        _LOCAL["plain"] = ie.build(spec, panel)
    return spec, panel, _LOCAL["plain"]


def _same(a: ie.Build, b: ie.Build) -> None:
    assert list(a.scores.index) == list(b.scores.index)
    np.testing.assert_allclose(b.scores.to_numpy(), a.scores.to_numpy(), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(b.ranks.to_numpy(), a.ranks.to_numpy())


@pytest.mark.parametrize("overrides", [{}, {"steps.normalize": {"method": "zscore", "params": {"mean": 10, "sd": 2}},
                                            "steps.aggregate.method": "arithmetic", "grades": None}])
def test_firm_model_matches_in_process(client, overrides):
    spec, panel, local = firm_build_in_process(overrides)
    remote = build_dask(spec, panel, client=client, partitions=7)
    _same(local, remote)
    assert any(s.step == "backend" and s.params["partitions"] == 7 for s in remote.log)


def test_panel_with_screening_matches(client):
    spec = ie.load_spec(ROOT / "weights/examples/asem_panel.yaml", overrides={"steps.treat": {"method": "none"}})
    panel = ie.load_panel(ROOT / "inputs/examples/asem/ASEM_iData_p.csv", spec)
    local, remote = ie.build(spec, panel), build_dask(spec, panel, client=client, partitions=4)
    _same(local, remote)
    assert set(local.dropped) == set(remote.dropped)


def test_unsupported_methods_are_refused(client):
    spec = ie.load_spec(ROOT / "weights/examples/asem.yaml")  # group means need every unit of a group
    panel = ie.load_panel(ROOT / "inputs/examples/asem/ASEM_iData.csv", spec)
    with pytest.raises(ie.SpecError, match="steps.impute.method: the dask backend cannot run impute.group_mean exactly"):
        build_dask(spec, panel, client=client)


def test_moments_combine_exactly():
    rng = np.random.default_rng(1)
    x = rng.normal(5, 3, 1000)
    parts = [x[:10], x[10:400], x[400:]]
    stats = combine_moments([{("a", "all"): (p.size, p.min(), p.max(), p.mean(), ((p - p.mean()) ** 2).sum())} for p in parts])
    n, lo, hi, mean, m2 = stats[("a", "all")]
    assert n == 1000 and lo == x.min() and hi == x.max()
    assert mean == pytest.approx(x.mean(), rel=1e-14) and np.sqrt(m2 / 999) == pytest.approx(x.std(ddof=1), rel=1e-13)


def test_split_keeps_units_whole():
    spec = ie.load_spec(ROOT / "weights/examples/asem_panel.yaml")
    panel = ie.load_panel(ROOT / "inputs/examples/asem/ASEM_iData_p.csv", spec)
    parts = split_panel(panel, 4)
    assert sum(len(p.values) for p in parts) == len(panel.values)
    seen = [set(p.units) for p in parts]
    assert all(not (a & b) for i, a in enumerate(seen) for b in seen[i + 1:])


def test_cli_backend_dask(client, run_cli, tmp_path):
    spec = ROOT / "weights/examples/zgc_pilot_score.yaml"
    r = run_cli("build", spec, "--backend", "dask", "--scheduler", client.scheduler.address, "--partitions", "3",
                "--out", tmp_path / "d", "--no-excel")
    assert r.returncode == 0, r.stderr
    import pandas as pd

    local = firm_build_in_process({})[2]
    got = pd.read_csv(tmp_path / "d" / "scores.csv")
    exp = local.scores_long()
    np.testing.assert_allclose(got["score"].to_numpy(), exp["score"].to_numpy(), atol=1e-12)


def test_sensitivity_batches_as_dask_tasks(client):
    """The distinct upstream builds of an uncertainty design run as Dask tasks: same numbers."""
    from index_engine import sensitivity as sa

    # two of the five Winsorisation limits: 4 distinct upstream builds in 2 tasks (one per treated
    # table, each normalised two ways) rather than 10 in 5
    spec = ie.load_spec(ROOT / "weights/examples/asem.yaml", overrides={"uncertainty.winmax.values": [1, 3]})
    panel = ie.load_panel(ROOT / "inputs/examples/asem/ASEM_iData.csv", spec)
    local = sa.uncertainty(spec, panel, n=60, seed=3)
    remote = sa.uncertainty(spec, panel, n=60, seed=3, client=client)
    np.testing.assert_array_equal(local.ranks.to_numpy(), remote.ranks.to_numpy())
    np.testing.assert_allclose(local.scores.to_numpy(), remote.scores.to_numpy(), rtol=0, atol=1e-12)
    assert remote.manifest["upstream_builds"] == local.manifest["upstream_builds"] == 4
