"""index_engine.yamlsafe: libyaml and the Python loader read every spec alike; errors come from the Python loader."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from index_engine import yamlsafe
from index_engine.errors import SpecError

from .conftest import ROOT

SPECS = sorted((ROOT / "weights").rglob("*.yaml"))


def _python_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlsafe, "_compose_with_libyaml", lambda text: None)


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="libyaml is not installed")
def test_libyaml_reads_every_bundled_spec_as_the_python_loader_does(monkeypatch):
    assert len(SPECS) >= 8
    fast = {p: yamlsafe.read_yaml_text(p.read_text(encoding="utf-8"), str(p)) for p in SPECS}
    assert all(yamlsafe._compose_with_libyaml(p.read_text(encoding="utf-8")) is not None for p in SPECS)
    _python_only(monkeypatch)
    for p in SPECS:
        assert yamlsafe.read_yaml_text(p.read_text(encoding="utf-8"), str(p)) == fast[p], p


@pytest.mark.parametrize("text, message", [
    ("a: 1\na: 2\n", "line 2, column 1: a: the key 'a' appears twice"),
    ("a: [1, 2\n", "not valid YAML"),
    ("a: !!python/object:os.system x\n", "not valid YAML"),
    ("a: &x [*x]\n", "an alias refers to a value that contains it"),
])
def test_errors_read_the_same_with_or_without_libyaml(monkeypatch, text, message):
    with pytest.raises(SpecError) as fast:
        yamlsafe.read_yaml_text(text, "t.yaml")
    _python_only(monkeypatch)
    with pytest.raises(SpecError) as slow:
        yamlsafe.read_yaml_text(text, "t.yaml")
    assert str(fast.value) == str(slow.value)
    assert str(fast.value).startswith("t.yaml: ") and message in str(fast.value)


def test_nesting_past_the_limit_is_left_to_the_python_loader_and_refused():
    deep = "[" * (yamlsafe.MAX_YAML_DEPTH + 5) + "]" * (yamlsafe.MAX_YAML_DEPTH + 5)
    assert yamlsafe._compose_with_libyaml(deep) is None
    with pytest.raises(SpecError, match=f"nested more than {yamlsafe.MAX_YAML_DEPTH} levels deep"):
        yamlsafe.read_yaml_text(deep, "deep.yaml")
    assert yamlsafe.read_yaml_text("[" * 20 + "]" * 20, "ok.yaml") is not None


def test_format_path_writes_the_spec_grammar():
    assert yamlsafe.format_path(["tree", "children", 2, "code"]) == "tree.children[2].code"
    assert yamlsafe.format_path([]) == ""


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="libyaml is not installed")
def test_libyaml_writes_every_bundled_spec_as_the_python_emitter_does():
    from index_engine.spec import load_spec, spec_yaml_text

    loaded = [load_spec(p) for p in sorted((ROOT / "weights").glob("*.yaml")) + sorted((ROOT / "weights" / "examples").glob("*.yaml"))]
    assert len(loaded) >= 8
    for spec in loaded:  # read back by libyaml's loader, which reads every bundled spec as the Python one does (above)
        for data in (spec.to_dict(), yaml.load(spec_yaml_text(spec), Loader=yaml.CSafeLoader)):
            text = yamlsafe.write_yaml_text(data, allow_unicode=True, sort_keys=False)
            assert text == yaml.safe_dump(data, allow_unicode=True, sort_keys=False), spec.index.id
            assert yaml.load(text, Loader=yaml.CSafeLoader) == data


_plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
    max_leaves=12,
)


@given(_plain)
@settings(max_examples=150, deadline=None)
def test_what_write_yaml_text_writes_reads_back(data):
    for flow in (False, True):
        text = yamlsafe.write_yaml_text(data, allow_unicode=True, sort_keys=False, default_flow_style=flow, width=10**9)
        assert yaml.safe_load(text) == data
