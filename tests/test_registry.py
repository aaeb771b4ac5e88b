"""index_engine.registry: methods registered by name, their parameters checked against the signature, their traits."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from pydantic import Field

from index_engine.errors import SpecError, UnknownMethodError
from index_engine.registry import TRAITS, Registry

WHERE = "t.yaml: steps.scale.params"


def scale(
    x: float,
    y: float = 0.0,
    *,
    factor: Annotated[float, Field(gt=0)] = 1.0,
    mode: Literal["up", "down"] = "up",
    rounds: int = 3,
    label: str,
) -> float:
    """Multiply a value by a positive factor,
    rounding it a few times.

    The second paragraph is not part of the summary.
    """
    return x * factor + y


def fresh_registry() -> Registry:
    registry = Registry("test", "Methods registered by the tests.")
    registry.register("scale", traits=("rowwise", "distributable"))(scale)
    return registry


def test_register_returns_the_function_and_get_returns_its_method():
    registry = Registry("test", "Methods registered by the tests.")
    assert registry.register("scale")(scale) is scale
    method = registry.get("scale")
    assert (method.family, method.name, method.func) == ("test", "scale", scale)
    assert registry.family == "test" and registry.doc == "Methods registered by the tests."


def test_only_keyword_only_arguments_are_parameters():
    method = fresh_registry().get("scale")
    assert list(method.params) == ["factor", "mode", "rounds", "label"]


def test_the_summary_is_the_docstrings_first_paragraph_on_one_line():
    assert fresh_registry().get("scale").summary == "Multiply a value by a positive factor, rounding it a few times."


def test_a_registry_lists_contains_and_iterates_its_methods():
    registry = fresh_registry()
    registry.register("abs")(lambda x: abs(x))
    assert registry.available() == ["abs", "scale"]
    assert "scale" in registry and "abs" in registry and "nope" not in registry
    assert sorted(m.name for m in registry) == ["abs", "scale"]


def test_a_name_registered_twice_is_refused():
    registry = fresh_registry()
    with pytest.raises(ValueError, match="test method 'scale' is registered twice"):
        registry.register("scale")(scale)


def test_defaults_are_filled_in_and_given_values_kept():
    method = fresh_registry().get("scale")
    assert method.validate({"label": "a"}, WHERE) == {"factor": 1.0, "mode": "up", "rounds": 3, "label": "a"}
    assert method.validate({"label": "b", "factor": 2.5, "mode": "down"}, WHERE) == {
        "factor": 2.5, "mode": "down", "rounds": 3, "label": "b"}


def test_values_are_converted_to_the_annotated_type():
    resolved = fresh_registry().get("scale").validate({"label": "a", "factor": 2, "rounds": "7"}, WHERE)
    assert resolved["factor"] == 2.0 and type(resolved["factor"]) is float
    assert resolved["rounds"] == 7 and type(resolved["rounds"]) is int


def test_validate_does_not_change_the_given_mapping():
    given = {"label": "a"}
    fresh_registry().get("scale").validate(given, WHERE)
    assert given == {"label": "a"}


def test_an_unknown_parameter_names_its_yaml_path_and_the_close_match():
    with pytest.raises(SpecError) as err:
        fresh_registry().get("scale").validate({"label": "a", "factr": 2}, WHERE)
    assert str(err.value) == f"{WHERE}.factr: test.scale has no parameter 'factr' (did you mean 'factor'?)"


def test_an_unknown_parameter_without_a_close_match_lists_the_parameters():
    with pytest.raises(SpecError) as err:
        fresh_registry().get("scale").validate({"zzz": 1}, WHERE)
    assert str(err.value) == (
        f"{WHERE}.zzz: test.scale has no parameter 'zzz'; its parameters are 'factor', 'mode', 'rounds', 'label'")


def test_a_parameter_of_a_method_without_parameters_says_there_are_none():
    registry = Registry("test")
    registry.register("plain")(lambda x: x)
    with pytest.raises(SpecError) as err:
        registry.get("plain").validate({"extra": 1}, "plain")
    assert str(err.value) == "plain.extra: test.plain has no parameter 'extra'; its parameters are none"


def test_a_value_of_the_wrong_type_names_the_path_the_parameter_and_the_value():
    with pytest.raises(SpecError) as err:
        fresh_registry().get("scale").validate({"label": "a", "rounds": "many"}, WHERE)
    message = str(err.value)
    assert message.startswith(f"{WHERE}.rounds: the 'rounds' parameter of test.scale is invalid: ")
    assert "integer" in message and message.endswith(". Got 'many' instead")


def test_a_violated_constraint_names_the_path_and_the_bound():
    with pytest.raises(SpecError) as err:
        fresh_registry().get("scale").validate({"label": "a", "factor": -1}, WHERE)
    message = str(err.value)
    assert message.startswith(f"{WHERE}.factor: the 'factor' parameter of test.scale is invalid: ")
    assert "greater than 0" in message and message.endswith("Got -1 instead")


def test_a_value_outside_a_literal_names_the_allowed_values():
    with pytest.raises(SpecError) as err:
        fresh_registry().get("scale").validate({"label": "a", "mode": "sideways"}, WHERE)
    assert str(err.value).startswith(f"{WHERE}.mode: the 'mode' parameter of test.scale is invalid: ")
    assert "'up'" in str(err.value) and "'down'" in str(err.value) and "Got 'sideways' instead" in str(err.value)


def test_a_parameter_without_default_is_required():
    with pytest.raises(SpecError) as err:
        fresh_registry().get("scale").validate({}, WHERE)
    assert str(err.value) == f"{WHERE}: test.scale needs the parameter 'label'"


def test_a_node_default_stands_in_for_a_missing_parameter_and_is_left_to_the_node():
    registry = Registry("test")
    registry.register("scale", node_defaults={"label": "name_en"})(scale)
    method = registry.get("scale")
    assert method.node_defaults == {"label": "name_en"}
    assert method.validate(None, WHERE) == {"factor": 1.0, "mode": "up", "rounds": 3}
    assert method.validate({"label": "given"}, WHERE)["label"] == "given"


def test_check_sees_the_resolved_parameters_and_its_message_names_the_path():
    seen: list[dict] = []

    def rounds_below_ten(params: dict) -> str | None:
        seen.append(dict(params))
        return f"rounds must be below 10, not {params['rounds']}" if params["rounds"] >= 10 else None

    registry = Registry("test")
    registry.register("scale", check=rounds_below_ten)(scale)
    method = registry.get("scale")
    assert method.validate({"label": "a"}, WHERE)["rounds"] == 3
    assert seen == [{"factor": 1.0, "mode": "up", "rounds": 3, "label": "a"}]
    with pytest.raises(SpecError) as err:
        method.validate({"label": "a", "rounds": 12}, WHERE)
    assert str(err.value) == f"{WHERE}: test.scale: rounds must be below 10, not 12"


def test_traits_are_kept_on_the_method_and_answered_by_has():
    method = fresh_registry().get("scale")
    assert method.traits == frozenset({"rowwise", "distributable"})
    assert method.has("rowwise") and method.has("distributable")
    assert not any(method.has(t) for t in TRAITS if t not in {"rowwise", "distributable"})


def test_has_an_unknown_trait_is_a_key_error_naming_it():
    with pytest.raises(KeyError, match="unknown method trait 'fast'; traits are identity, across_years"):
        fresh_registry().get("scale").has("fast")


def test_registering_an_unknown_trait_is_refused():
    with pytest.raises(ValueError, match=r"test\.odd: unknown trait\(s\) \['fast', 'slow'\]; traits are identity"):
        Registry("test").register("odd", traits=("rowwise", "slow", "fast"))


def test_fitted_statistics_need_the_freezable_trait_and_are_kept():
    with pytest.raises(ValueError, match=r"test\.scale: 'fitted' needs the 'freezable' trait"):
        Registry("test").register("scale", fitted={"factor": "factor"})
    registry = Registry("test")
    registry.register("scale", traits=("freezable",), fitted={"fit_factor": "factor"})(scale)
    assert registry.get("scale").fitted == {"fit_factor": "factor"} and registry.get("scale").has("freezable")


def test_an_unknown_method_suggests_the_close_name_and_lists_the_available():
    registry = fresh_registry()
    registry.register("shift")(lambda x: x)
    with pytest.raises(UnknownMethodError) as err:
        registry.get("scal", WHERE)
    assert str(err.value) == f"{WHERE}: Unknown test method 'scal'. Did you mean 'scale'? Available: 'scale', 'shift'."
    assert isinstance(err.value, SpecError) and isinstance(err.value, ValueError)


def test_an_unknown_method_without_a_close_name_has_no_suggestion_and_no_path_when_none_given():
    with pytest.raises(UnknownMethodError) as err:
        fresh_registry().get("quantile")
    assert str(err.value) == "Unknown test method 'quantile'. Available: 'scale'."


def test_a_fresh_registry_is_independent_of_another():
    first, second = fresh_registry(), Registry("test")
    second.register("other")(lambda x: x)
    assert first.available() == ["scale"] and second.available() == ["other"]
