"""The compiled plan: entries as the spec says, the direction rule applied once, one compile per
spec, stage keys that follow the plan, and method traits that agree with the Dask backend."""

from __future__ import annotations

import copy
import gc
import json

import numpy as np
import pandas as pd
import pytest

import index_engine as ie
from index_engine import plan as plan_mod
from index_engine.dask_backend import check_supported
from index_engine.families import FAMILIES
from index_engine.pipeline import UPSTREAM, resolve, stage_keys, upstream
from index_engine.plan import compile_plan
from index_engine.registry import Method
from index_engine.spec import StepSpec

from .conftest import TINY_SPEC, tiny_frame


def _spec(**steps) -> ie.Spec:
    data = copy.deepcopy(TINY_SPEC)
    data["steps"] = steps
    return ie.spec_from_dict(data, label="tiny.yaml")


def _with_node(spec: ie.Spec, code: str, **attrs) -> ie.Spec:
    return spec.replace_many({f"tree.{code}.{k}": v for k, v in attrs.items()})


# ---- entries ----------------------------------------------------------------------------


def test_entries_follow_by_indicator_by_node_and_by_level():
    spec = _spec(
        normalize={"method": "minmax", "by_indicator": {"a": {"method": "zscore", "params": {"mean": 10, "sd": 2}}}},
        aggregate={"method": "arithmetic", "by_level": {2: {"method": "geometric"}}, "by_node": {"D2": {"method": "harmonic"}}},
        weights={"method": "fixed", "by_level": {3: {"method": "equal"}}},
    )
    plan = compile_plan(spec)
    a = plan.entry("normalize", "a")
    assert (a.method.name, a.path) == ("zscore", "steps.normalize.by_indicator.a")
    assert dict(a.params) == {"mean": 10.0, "sd": 2.0, "on_constant": "nan", "xmean": None, "xsd": None}
    c = plan.entry("normalize", "c")
    assert (c.method.name, c.path, dict(c.params)["upper"]) == ("minmax", "steps.normalize", 100.0)
    agg = {e.code: (e.method.name, e.path) for e in plan.entries("aggregate")}
    assert agg == {
        "D1": ("geometric", "steps.aggregate.by_level.2"),
        "D2": ("harmonic", "steps.aggregate.by_node.D2"),  # a node's own choice beats its level's
        "IDX": ("arithmetic", "steps.aggregate"),
    }
    assert plan.entry("weights", "IDX").path == "steps.weights.by_level.3"
    assert [e.code for e in plan.entries("weights")] == list(spec.aggregates)
    assert (plan.screen.code, plan.screen.path, plan.screen.pool) == ("IDX", "steps.screen", None)  # none takes no statistics
    assert plan.entry("treat", "b").traits == FAMILIES["treat"].get("none").traits
    # resolve is the plan's entry, as a fresh dict each time
    method, params, path = resolve(spec, "normalize", "a")
    assert (method, params, path) == (a.method, dict(a.params), a.path)
    params["mean"] = -1
    assert plan.entry("normalize", "a").params["mean"] == 10.0


def test_pools_come_from_the_step_and_the_across_years_trait():
    spec = _spec(
        impute={"method": "mean", "pool": "all", "by_indicator": {"a": {"method": "interpolate"}}},
        normalize={"method": "minmax", "pool": "year", "by_indicator": {"b": {"method": "base_diff", "params": {"base_year": 2020}}}},
    )
    plan = compile_plan(spec)
    assert plan.entry("impute", "a").pool == "all" and plan.entry("impute", "c").pool == "all"
    assert plan.entry("normalize", "a").pool == "year"
    assert plan.entry("normalize", "b").pool == "all"  # base_diff reads a unit's other years
    assert plan.entry("treat", "a").pool is None and plan.entry("transform", "a").pool is None  # none; no pool


def test_the_trees_levels_fill_params_and_move_with_the_direction():
    spec = _with_node(_spec(normalize={"method": "goalposts"}), "b", goalposts={"lower": 6, "upper": 0})
    spec = spec.replace_many({f"tree.{c}.goalposts": {"lower": 0, "upper": 50} for c in ("a", "c", "d")})
    plan = compile_plan(spec)
    b, a = plan.entry("normalize", "b"), plan.entry("normalize", "a")
    assert (b.direction, b.params["lower"], b.params["upper"]) == (-1, -6, 0)
    assert (a.direction, a.params["lower"], a.params["upper"]) == (1, 0, 50)
    given = spec.replace("steps.normalize.by_indicator", {"b": {"method": "goalposts", "params": {"lower": -6, "upper": 0}}})
    assert dict(compile_plan(given).entry("normalize", "b").params) == dict(b.params)  # given params are on the data's scale
    pts = spec.replace("steps.normalize.by_indicator", {"b": {"method": "points", "params": {"thresholds": [2], "points": [0, 1]}}})
    assert compile_plan(pts).entry("normalize", "b").direction == 1  # own_units: thresholds in the data's units
    assert compile_plan(spec).entry("transform", "b").direction == 1


def test_a_missing_tree_value_is_an_error_with_its_path():
    spec = _spec(normalize={"method": "goalposts"})
    with pytest.raises(ie.SpecError, match=r"tiny.yaml: steps.normalize.params.lower: normalize.goalposts needs 'lower' for a; "
                       r"give it there or set tree.a.goalposts.lower"):
        compile_plan(spec)


# ---- the direction rule, once ------------------------------------------------------------


def _mirror(spec: ie.Spec, frame: pd.DataFrame, code: str, **node) -> tuple[ie.Spec, pd.DataFrame]:
    """The same index with ``code`` given as −x and direction +1 (and ``node`` attributes)."""
    mirrored = frame.assign(**{code: -frame[code]})
    return _with_node(spec, code, direction=1, **node), mirrored


def test_a_negative_indicator_with_goalposts_scores_as_its_mirror():
    frame = tiny_frame()
    spec = _spec(normalize={"method": "minmax", "by_indicator": {"b": {"method": "goalposts"}}})
    spec = _with_node(spec, "b", goalposts={"lower": 6, "upper": 0})  # lower is better: 6 -> 0, 0 -> 100
    b = ie.build(spec, ie.panel_from_frame(frame, spec))
    m_spec, m_frame = _mirror(spec, frame, "b", goalposts={"lower": -6, "upper": 0})
    m = ie.build(m_spec, ie.panel_from_frame(m_frame, m_spec))
    pd.testing.assert_frame_equal(b.scores, m.scores, check_exact=True)
    raw = frame.set_index(["unit", "year"])["b"]
    expected = ((6 - raw) / 6 * 100).clip(0, 100)
    np.testing.assert_allclose(b.scores["b"], expected.reindex(b.scores.index), rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["minmax", "zscore", "rank", "fracmax"])
def test_a_negative_indicator_scores_as_its_mirror(method):
    frame = tiny_frame()
    spec = _spec(normalize={"method": method})
    b = ie.build(spec, ie.panel_from_frame(frame, spec))
    m_spec, m_frame = _mirror(spec, frame, "b")
    m = ie.build(m_spec, ie.panel_from_frame(m_frame, m_spec))
    pd.testing.assert_frame_equal(b.scores, m.scores, check_exact=True)


def test_points_and_base_index_read_the_indicator_in_its_own_units():
    frame = tiny_frame()
    spec = _spec(normalize={"method": "points", "params": {"thresholds": [2, 4], "points": [0, 5, 10]}})
    b = ie.build(spec, ie.panel_from_frame(frame, spec))  # b has direction -1; its points are as given
    raw = frame.set_index(["unit", "year"])["b"]
    expected = pd.Series(np.array([0.0, 5.0, 10.0])[np.digitize(raw, [2, 4])], index=raw.index)
    np.testing.assert_array_equal(b.scores["b"], expected.reindex(b.scores.index))
    spec = _spec(normalize={"method": "base_index", "params": {"base_year": 2020}})
    bi = ie.build(spec, ie.panel_from_frame(frame, spec))
    base = raw.xs(2020, level="year")
    units = raw.index.get_level_values("unit")
    np.testing.assert_allclose(bi.scores["b"], (100 * base.reindex(units).to_numpy() / raw).reindex(bi.scores.index))
    fitted = bi.fitted.set_index("indicator")["base_values"]
    assert json.loads(fitted["b"]) == {"U1": 5.0, "U2": 3.0, "U3": 1.0}  # frozen in the data's own units


# ---- one compile per spec ----------------------------------------------------------------


def test_a_spec_is_compiled_once_and_its_plan_dropped_with_it(monkeypatch, tiny_panel):
    calls = {"compile": 0, "validate": 0}
    compile_, validate = plan_mod._compile, Method.validate

    def counting_compile(spec):
        calls["compile"] += 1
        return compile_(spec)

    def counting_validate(self, *a, **k):
        calls["validate"] += 1
        return validate(self, *a, **k)

    monkeypatch.setattr(plan_mod, "_compile", counting_compile)
    monkeypatch.setattr(Method, "validate", counting_validate)
    spec = _spec(normalize={"method": "minmax", "by_indicator": {"a": {"method": "zscore"}}})
    paths = {e.path for step in plan_mod.STEP_NAMES for e in compile_plan(spec).entries(step)}
    assert calls["validate"] == len(paths) == 9  # each choice checked once, as the spec loads: 8 steps + 1 override
    assert set(spec.validated_choices) == paths
    b = ie.build(spec, tiny_panel)
    ie.build(spec, tiny_panel)
    b.contributions, b.weights  # noqa: B018 - the outputs resolve methods again
    assert calls["compile"] == 1 and calls["validate"] == 9  # the plan takes the checked params: none checked again
    other = spec.replace("steps.aggregate.method", "geometric")
    compile_plan(other)
    assert calls["compile"] == 2
    monkeypatch.undo()
    key = id(other)
    assert key in plan_mod._PLANS
    del other
    gc.collect()
    assert key not in plan_mod._PLANS


# ---- stage keys -------------------------------------------------------------------------

STAGES = UPSTREAM


def _changed(a: ie.Spec, b: ie.Spec) -> list[str]:
    ka, kb = stage_keys(a), stage_keys(b)
    return [s for s in STAGES if ka[s] != kb[s]]


@pytest.mark.parametrize(
    "change, first",
    [
        ({"steps.aggregate.method": "geometric"}, None),
        ({"steps.weights.method": "equal"}, None),
        ({"tree.d.weight": 5}, None),
        ({"grades": {"cutoffs": [80, 60, 40]}}, None),
        ({"steps.normalize.params": {"upper": 10}}, "normalize"),
        ({"tree.b.direction": 1}, "normalize"),
        ({"steps.treat": {"method": "winsorise"}}, "treat"),
        ({"steps.treat": {"method": "winsorise", "pool": "all"}}, "treat"),
        ({"steps.treat.pool": "all"}, None),  # no treatment: no statistics to pool
        ({"steps.screen.method": "availability"}, "screen"),
        ({"steps.impute.method": "mean"}, "impute"),
        ({"steps.transform.by_indicator": {"c": {"method": "log"}}}, "transform"),
        ({"reference_units": ["U3"]}, "raw"),
    ],
)
def test_stage_keys_change_from_the_changed_stage_on(change, first):
    spec = _spec()
    changed = _changed(spec, spec.replace_many(change))
    assert changed == ([] if first is None else list(STAGES[STAGES.index(first):]))


def test_stage_keys_follow_what_the_method_reads():
    spec = _with_node(_spec(), "b", goalposts={"lower": 6, "upper": 0})
    moved = _with_node(spec, "b", goalposts={"lower": 9, "upper": 0})
    assert _changed(spec, moved) == []  # minmax does not read goalposts
    gp = {"steps.normalize.by_indicator": {"b": {"method": "goalposts"}}}
    assert _changed(spec.replace_many(gp), moved.replace_many(gp)) == ["normalize"]
    interp = _spec(impute={"method": "interpolate"})
    assert _changed(interp, interp.replace("steps.impute.pool", "all")) == []  # it reads every year anyway
    same_choice = interp.replace("steps.impute.by_indicator", {"a": {"method": "interpolate"}})
    assert _changed(interp, same_choice) == list(STAGES[3:])  # the log names where a choice came from


def test_the_stage_cache_reuses_every_stage_a_change_does_not_reach(tiny_panel):
    cache: dict = {}
    spec = _spec(treat={"method": "winsorise"})
    first = upstream(spec, tiny_panel, cache)
    again = upstream(spec.replace("steps.aggregate.method", "geometric"), tiny_panel, cache)
    assert all(again[s] is first[s] for s in STAGES)
    norm = upstream(spec.replace("steps.normalize.method", "zscore"), tiny_panel, cache)
    assert all(norm[s] is first[s] for s in STAGES[:-1]) and norm["normalize"] is not first["normalize"]


# ---- traits -----------------------------------------------------------------------------


def _with_method(spec: ie.Spec, step: str, name: str) -> ie.Spec:
    """``spec`` with ``step`` set to ``name`` without checking its params (the Dask check reads names only)."""
    steps = spec.steps.model_copy(update={step: StepSpec(method=name)})
    return spec.model_copy(update={"steps": steps})


@pytest.mark.parametrize("step", list(FAMILIES))
def test_the_dask_backend_refuses_exactly_the_methods_that_are_not_distributable(step):
    spec = _spec()
    for method in FAMILIES[step]:
        candidate = _with_method(spec, step, method.name)
        if method.has("distributable"):
            check_supported(candidate)
        else:
            with pytest.raises(ie.SpecError, match=rf"steps.{step}.method: the dask backend cannot run {step}.{method.name} exactly"):
                check_supported(candidate)


def test_traits_the_engine_relies_on():
    get = lambda step, name: FAMILIES[step].get(name)  # noqa: E731
    assert not get("normalize", "none").has("identity")  # it still applies the direction
    assert all(FAMILIES[s].get("none").has("identity") for s in ("transform", "denominate", "impute", "screen", "treat"))
    assert {m.name for m in FAMILIES["impute"] if m.has("across_years")} == {"interpolate", "carry_forward", "carry_back", "carry"}
    assert {m.name for m in FAMILIES["normalize"] if m.has("across_years")} == {"base_index", "base_diff"}
    assert {m.name: m.fitted for m in FAMILIES["normalize"] if m.has("freezable")} == {
        "minmax": {"min": "xmin", "max": "xmax"},
        "zscore": {"mean": "xmean", "sd": "xsd"},
        "base_index": {"base_values": "base_values"},
    }
    for family in FAMILIES.values():
        for m in family:
            assert set(m.fitted.values()) <= set(m.params), f"{m.family}.{m.name}"
            if "direction" in m.params:  # the parameter is how it learns the direction of data in its own units
                assert m.has("own_units"), f"{m.family}.{m.name}"
