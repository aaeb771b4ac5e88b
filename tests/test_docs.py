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


# ---- the methodology the docstrings cite -----------------------------------------------------

METHODOLOGY = ROOT / "docs/methodology.md"
CITATION = re.compile(r"§\s?([A-Z])(?:\.?(\d+))?(?![\w.]*\d)")
"""A methodology section: §B2, §H, §H.4 or §H4 (a § followed by a digit, e.g. §3.1 of a book, is not one)."""


def methodology_sections() -> set[str]:
    """Every citable section of docs/methodology.md: each lettered section (``H``), each
    sub-section (``B2``), and each numbered item of a lettered section without sub-sections (``H4``)."""
    found: set[str] = set()
    letter, items = None, []
    has_sub: dict[str, bool] = {}
    for line in METHODOLOGY.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"## ([A-Z])\. ", line):
            letter = m.group(1)
            found.add(letter)
            has_sub[letter] = False
        elif m := re.match(r"### ([A-Z])(\d+)\. ", line):
            found.add(m.group(1) + m.group(2))
            has_sub[m.group(1)] = True
        elif letter and (m := re.match(r"(\d+)\. ", line)):
            items.append(letter + m.group(1))
    return found | {i for i in items if not has_sub[i[0]]}


def cited_sections() -> dict[str, list[str]]:
    """Section -> the files that cite it: the package's modules and templates, the specs and the README.

    Citations are written "docs/methodology.md §X"; a bare "§X" is read the same way.
    """
    files = [*sorted((ROOT / "index_engine").rglob("*.py")), *sorted((ROOT / "index_engine").rglob("*.j2")),
             *sorted((ROOT / "weights").rglob("*.yaml")), ROOT / "README.md"]
    out: dict[str, list[str]] = {}
    for f in files:
        for letter, item in CITATION.findall(f.read_text(encoding="utf-8")):
            out.setdefault(letter + item, []).append(str(f.relative_to(ROOT)))
    return out


def test_methodology_is_in_the_repository():
    text = METHODOLOGY.read_text(encoding="utf-8")
    assert text.startswith("# Methodology") and "## H. Matching COINr exactly" in text
    assert "../shared" not in text and "../shared" not in README


def test_the_section_rule_reads_the_document():
    sections = methodology_sections()
    assert {"A", "B", "B2", "B6", "C3", "E1", "E2", "F2", "H", "H1", "H9"} <= sections
    assert "B7" not in sections and "H10" not in sections and "B1" in sections and "B12" not in sections


def test_every_cited_methodology_section_exists():
    cited = cited_sections()
    assert len(cited) > 10
    missing = {s: files for s, files in cited.items() if s not in methodology_sections()}
    assert not missing, f"sections cited but not in docs/methodology.md: {missing}"


def test_reference_data_has_its_generator_beside_it():
    """Every folder of reference data under tests/data says where it comes from and holds the
    script that produced it."""
    from .conftest import DATA

    folders = [d for d in DATA.iterdir() if d.is_dir()]
    assert folders
    for d in folders:
        assert (d / "README.md").exists(), d
        scripts = list(d.glob("generate.*"))
        assert scripts, f"{d}: no generate.* script beside the data"
        for s in scripts:
            assert s.name in (d / "README.md").read_text(encoding="utf-8"), s
