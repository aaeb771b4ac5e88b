"""Spec loading: validation messages name the file and the YAML path; paths, extends and --set."""

from __future__ import annotations

import pytest
import yaml

import index_engine as ie
from index_engine.spec import parse_path

from .conftest import ROOT, TINY_SPEC, write_spec

BASE = """
index: {id: X, name_en: X index}
tree:
  code: X
  children:
    - code: credit
      children:
        - code: c1
        - code: c2
        - code: c3
          direction: {direction}
    - code: vc
      weight: {weight}
      children:
        - code: v1
steps:
  normalize: {normalize}
"""


def spec_text(direction="1", weight="1", normalize="{method: minmax}") -> str:
    return BASE.replace("{direction}", direction).replace("{weight}", weight).replace("{normalize}", normalize)


def load_error(tmp_path, text) -> str:
    p = write_spec(tmp_path, text, "x.yaml")
    with pytest.raises(ie.SpecError) as exc:
        ie.load_spec(p)
    return str(exc.value)


def test_a_valid_spec_loads(tmp_path):
    s = ie.load_spec(write_spec(tmp_path, spec_text()))
    assert s.indicators == ("c1", "c2", "c3", "v1")
    assert s.levels == {"X": 3, "credit": 2, "c1": 1, "c2": 1, "c3": 1, "vc": 2, "v1": 1}
    assert s.aggregates == ("credit", "vc", "X")


def test_direction_message_names_file_and_path(tmp_path):
    msg = load_error(tmp_path, spec_text(direction="up"))
    assert msg == f"{tmp_path / 'x.yaml'}: tree.credit.children[2].direction: must be 1 or -1, got 'up'"


@pytest.mark.parametrize("weight", ["-1", "heavy", ".nan"])
def test_bad_weight(tmp_path, weight):
    msg = load_error(tmp_path, spec_text(weight=weight))
    assert "tree.X.children[1].weight: must be a non-negative number" in msg


def test_misspelt_key_is_named_with_a_suggestion(tmp_path):
    msg = load_error(tmp_path, spec_text().replace("      weight: 1", "      wieght: 1"))
    assert "tree.X.children[1].wieght: unknown key 'wieght' (did you mean 'weight'?)" in msg


def test_misspelt_step_key(tmp_path):
    msg = load_error(tmp_path, spec_text(normalize="{method: minmax, parms: {}}"))
    assert "steps.normalize.parms: unknown key 'parms' (did you mean 'params'?)" in msg


def test_unknown_method_lists_the_available_ones(tmp_path):
    msg = load_error(tmp_path, spec_text(normalize="{method: min-max}"))
    assert "steps.normalize.method: Unknown normalize method 'min-max'. Did you mean 'minmax'?" in msg
    assert "'zscore'" in msg


def test_unknown_parameter(tmp_path):
    msg = load_error(tmp_path, spec_text(normalize="{method: minmax, params: {uper: 10}}"))
    assert "steps.normalize.params.uper: normalize.minmax has no parameter 'uper' (did you mean 'upper'?)" in msg


def test_parameter_constraint(tmp_path):
    msg = load_error(tmp_path, spec_text(normalize="{method: minmax, params: {lower: 5, upper: 0}}"))
    assert "steps.normalize.params: normalize.minmax: 'upper' must be greater than 'lower'" in msg


def test_parameter_type(tmp_path):
    msg = load_error(tmp_path, spec_text(normalize="{method: minmax, params: {upper: high}}"))
    assert "steps.normalize.params.upper: the 'upper' parameter of normalize.minmax is invalid" in msg


def test_duplicated_code(tmp_path):
    msg = load_error(tmp_path, spec_text().replace("code: c2", "code: c1"))
    assert "tree.credit.children[1].code: duplicated code 'c1'" in msg


FLAT = """
index: {id: F}
tree:
  - {code: F}
  - {code: A, parent: F}
  - {code: a1, parent: A}
  - {code: a2, parent: %s}
"""


def test_flat_tree_with_parents(tmp_path):
    s = ie.load_spec(write_spec(tmp_path, FLAT % "A"))
    assert s.parents["a2"] == "A" and s.levels["F"] == 3


def test_parent_that_does_not_exist(tmp_path):
    msg = load_error(tmp_path, FLAT % "B")
    assert "tree[3].parent: 'a2' names a parent 'B' that does not exist" in msg


def test_cycle_of_parents(tmp_path):
    text = FLAT % "A" + "  - {code: p, parent: q}\n  - {code: q, parent: p}\n"
    msg = load_error(tmp_path, text)
    assert "the parents form a cycle (p -> q -> p)" in msg


def test_nested_parent_must_match(tmp_path):
    msg = load_error(tmp_path, spec_text().replace("        - code: c2", "        - code: c2\n          parent: vc"))
    assert "tree.credit.children[1].parent: 'c2' says its parent is 'vc', but it sits under 'credit'" in msg


def test_indicator_only_key_on_an_aggregate(tmp_path):
    msg = load_error(tmp_path, spec_text().replace("    - code: vc\n", "    - code: vc\n      unit: '%'\n"))
    assert "tree.X.children[1].unit: only indicators" in msg


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ie.SpecError, match="no such spec file"):
        ie.load_spec(tmp_path / "nope.yaml")
    msg = load_error(tmp_path, "index: {id: X\ntree: [")
    assert "not valid YAML" in msg and "line" in msg


def test_override_by_indicator_must_name_an_indicator(tmp_path):
    msg = load_error(tmp_path, spec_text(normalize="{method: minmax, by_indicator: {zz: {method: rank}}}"))
    assert "steps.normalize.by_indicator.zz: no indicator with code 'zz'" in msg


def test_path_grammar():
    assert parse_path("steps.aggregate.by_level.3.method") == ["steps", "aggregate", "by_level", "3", "method"]
    assert parse_path("tree.X.children[0].weight") == ["tree", "X", "children", 0, "weight"]
    with pytest.raises(ie.SpecError):
        parse_path("steps..method")


def test_get_and_replace(tiny_spec):
    assert tiny_spec.get("tree.D2.weight") == 2
    s2 = tiny_spec.replace("tree.d.weight", 5)
    assert s2.get("tree.d.weight") == 5 and tiny_spec.get("tree.d.weight") == 3  # immutable
    s3 = tiny_spec.replace("steps.normalize.method", "zscore")
    assert s3.steps.normalize.method == "zscore"
    s4 = tiny_spec.replace("steps.aggregate.by_level.3", {"method": "geometric"})
    assert s4.steps.aggregate.by_level[3].method == "geometric"


def test_replace_is_validated(tiny_spec):
    with pytest.raises(ie.SpecError, match=r"tiny.yaml \(--set\): tree.IDX.children\[1\].weight: must be a non-negative number, got -1"):
        tiny_spec.replace("tree.D2.weight", -1)
    with pytest.raises(ie.SpecError, match="no node with code 'nope'"):
        tiny_spec.replace("tree.nope.weight", 1)


def test_spec_is_frozen(tiny_spec):
    with pytest.raises(Exception):
        tiny_spec.index = None  # type: ignore[misc]


def test_yaml_round_trip(tiny_spec, tmp_path):
    p = write_spec(tmp_path, tiny_spec.to_yaml())
    assert ie.load_spec(p) == tiny_spec


def test_extends_with_weight_set_and_set(tmp_path):
    write_spec(tmp_path, yaml.safe_dump(TINY_SPEC), "base.yaml")
    variant = write_spec(
        tmp_path,
        "extends: base.yaml\nindex: {id: TINY_V}\nweight_set: {D1: 3, c: 2}\n"
        "set: {steps.normalize.method: zscore}\nsteps: {aggregate: {method: geometric}}\n",
        "variant.yaml",
    )
    s = ie.load_spec(variant)
    assert s.index.id == "TINY_V" and s.index.name_en == "Tiny index"
    assert s.nodes["D1"].weight == 3 and s.nodes["c"].weight == 2 and s.nodes["d"].weight == 3
    assert s.steps.normalize.method == "zscore" and s.steps.aggregate.method == "geometric"


def test_extends_errors(tmp_path):
    msg = load_error(tmp_path, "extends: missing.yaml\n")
    assert "extends: no such spec file 'missing.yaml'" in msg
    write_spec(tmp_path, yaml.safe_dump(TINY_SPEC), "base.yaml")
    msg = load_error(tmp_path, "extends: base.yaml\nweight_set: {zz: 1}\n")
    assert "weight_set.zz: no node with code 'zz'" in msg


def test_coinr_imeta_loads_directly():
    s = ie.load_spec(ROOT / "inputs/examples/asem/ASEM_iMeta.csv")
    assert len(s.indicators) == 49 and s.tree.code == "Index"
    assert s.levels["Index"] == 4 and s.nodes["NEET"].direction == -1
