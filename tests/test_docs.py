"""The docs cover the code: every CLI command and flag is in the README, docs/methods.md is current."""

from __future__ import annotations

import re

from index_engine.cli import make_parser
from index_engine.families import methods_markdown

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _subparsers():
    parser = make_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices


def test_every_command_is_documented():
    for name in _subparsers():
        assert f"index-engine {name}" in README, name


def test_every_flag_is_documented():
    for name, sub in _subparsers().items():
        for action in sub._actions:
            for flag in action.option_strings:
                if flag in ("-h", "--help", "-o"):
                    continue
                assert flag in README, f"{name} {flag}"


def test_readme_names_the_two_commands_first():
    first = README.index("make run")
    assert first < README.index("## A short tour") and "make test" in README[:first + 400]


def test_methods_table_is_current():
    text = (ROOT / "docs/methods.md").read_text(encoding="utf-8")
    assert text == methods_markdown(), "run: python -m index_engine.families > docs/methods.md"


def test_every_registered_method_has_a_docstring():
    from index_engine.families import FAMILIES

    for reg in FAMILIES.values():
        for name in reg.available():
            assert reg.get(name).summary, f"{reg.family}.{name}"


def test_readme_spec_example_is_valid(tmp_path):
    import index_engine as ie

    block = re.search(r"```yaml\n(index: \{id: HDI.*?)```", README, re.S).group(1)
    p = tmp_path / "hdi.yaml"
    p.write_text(block.replace("../../inputs", str(ROOT / "inputs")), encoding="utf-8")
    spec = ie.load_spec(p)
    b = ie.build(spec, ie.load_panel(ROOT / "inputs/examples/hdi/hdi_2021.csv", spec))
    assert abs(float(b.scores.loc[("CHE", 2021), "HDI"]) - 0.962) < 0.0005
