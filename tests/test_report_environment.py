"""The report's jinja2 environment (index_engine.report.environment): compiled templates kept and reused,
never stale, never failing a report."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

import index_engine as ie
from index_engine.errors import UnknownIndicatorWarning
from index_engine.parallel import PROCESSES_ENV
from index_engine.report import render, render_report
from index_engine.report.environment import OPTIONS, ReportEnvironment, TemplateCodeCache, template_cache_folder

from .conftest import ROOT


@pytest.fixture(scope="module")
def hdi_folder(tmp_path_factory) -> Path:
    """The HDI build (12 countries, one year): a small report."""
    spec = ie.load_spec(ROOT / "weights/examples/hdi.yaml")
    with pytest.warns(UnknownIndicatorWarning, match="hdi_published"):  # the published HDI, kept for comparison
        b = ie.build(spec, ie.load_panel(ROOT / "inputs/examples/hdi/hdi_2021.csv", spec))
    return b.write(tmp_path_factory.mktemp("hdi") / "build", excel=False)


@pytest.fixture
def compiled(monkeypatch) -> list[str]:
    """The names of the templates jinja2 compiles from source from now on, all pages made in this
    process (none in a forked child, where this list would not see them)."""
    monkeypatch.setenv(PROCESSES_ENV, "1")
    names: list[str] = []
    compile_source = jinja2.Environment.compile

    def counting(self, source, name=None, filename=None, *args, **kwargs):
        names.append(name)
        return compile_source(self, source, name, filename, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    return names


def pages(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.html"))}


def test_a_second_report_in_a_process_compiles_nothing(hdi_folder, tmp_path, monkeypatch, compiled):
    monkeypatch.setattr(render, "TEMPLATE_CODES", TemplateCodeCache(None))  # memory only, empty
    render_report(hdi_folder, tmp_path / "first")
    assert "base.html.j2" in compiled and "overview.html.j2" in compiled
    compiled.clear()
    render_report(hdi_folder, tmp_path / "second", lang="en")
    assert compiled == []


def test_a_later_process_reads_the_compiled_templates_back(hdi_folder, tmp_path, monkeypatch, compiled):
    folder = tmp_path / "cache"
    folder.mkdir()
    monkeypatch.setattr(render, "TEMPLATE_CODES", TemplateCodeCache(folder))
    first = render_report(hdi_folder, tmp_path / "first")
    assert compiled and len(list(folder.glob("*.j2c"))) == len(set(compiled))
    compiled.clear()
    monkeypatch.setattr(render, "TEMPLATE_CODES", TemplateCodeCache(folder))  # as a new process finds it
    second = render_report(hdi_folder, tmp_path / "second")
    assert compiled == []
    assert pages(first) == pages(second)


def test_an_unwritable_cache_place_still_renders(hdi_folder, tmp_path, monkeypatch):
    """The tests run as any user (root may write anywhere), so the place is made unwritable for all: a
    folder under a file."""
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    monkeypatch.setattr(render, "TEMPLATE_CODES", TemplateCodeCache(blocker / "cache"))
    out = render_report(hdi_folder, tmp_path / "report")
    assert (out / "index.html").is_file() and blocker.read_text() == "not a folder"


@pytest.mark.parametrize("place", ["a file", "inside a file", "removed"])
def test_a_place_that_cannot_be_written_keeps_the_code_in_memory(tmp_path, compiled, place):
    """A file where the folder should be, a folder under a file, a folder removed after it was chosen."""
    blocker, templates = tmp_path / "blocker", tmp_path / "templates"
    blocker.write_text("not a folder")
    templates.mkdir()
    (templates / "t.html.j2").write_text("<p>{{ x }}</p>")
    folder = {"a file": blocker, "inside a file": blocker / "cache", "removed": tmp_path / "gone"}[place]
    cache = TemplateCodeCache(folder)
    for _ in range(2):  # a new environment each time, as each report makes one
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates), bytecode_cache=cache, **OPTIONS)
        assert env.get_template("t.html.j2").render(x="<b>") == "<p>&lt;b&gt;</p>"
    assert compiled == ["t.html.j2"] and len(cache._codes) == 1
    assert blocker.read_text() == "not a folder" and not (tmp_path / "gone").exists()


def test_damaged_or_stale_files_are_compiled_again(tmp_path, compiled):
    """jinja2 checks each template's source against the checksum in the file; a damaged file, a
    changed source and changed options are each compiled again, never used."""
    templates, folder = tmp_path / "templates", tmp_path / "cache"
    templates.mkdir()
    folder.mkdir()
    (templates / "t.html.j2").write_text("<p>{{ x }} one</p>")

    def render_fresh(**options) -> str:  # a new cache object: as a new process finds the folder
        cache = TemplateCodeCache(folder)
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates), bytecode_cache=cache, **OPTIONS)
        return env.get_template("t.html.j2").render(x="<b>")

    assert render_fresh() == "<p>&lt;b&gt; one</p>" and compiled == ["t.html.j2"]
    assert render_fresh() == "<p>&lt;b&gt; one</p>" and compiled == ["t.html.j2"]  # read back
    (templates / "t.html.j2").write_text("<p>{{ x }} two</p>")
    assert render_fresh() == "<p>&lt;b&gt; two</p>" and len(compiled) == 2
    [entry] = folder.glob("*.j2c")
    entry.write_bytes(entry.read_bytes()[:20])
    assert render_fresh() == "<p>&lt;b&gt; two</p>" and len(compiled) == 3
    entry.write_bytes(b"")
    assert render_fresh() == "<p>&lt;b&gt; two</p>" and len(compiled) == 4
    assert render_fresh() == "<p>&lt;b&gt; two</p>" and len(compiled) == 4


def test_other_options_or_versions_name_other_files(monkeypatch):
    plain = TemplateCodeCache(None)._suffix
    monkeypatch.setitem(OPTIONS, "trim_blocks", False)
    assert TemplateCodeCache(None)._suffix != plain
    monkeypatch.undo()
    monkeypatch.setattr(jinja2, "__version__", "0.0")
    assert TemplateCodeCache(None)._suffix != plain


def test_cache_folder_beside_the_package_else_the_user_cache_else_none(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr("sys.dont_write_bytecode", True)  # as PYTHONDONTWRITEBYTECODE=1
    assert template_cache_folder() == tmp_path / "xdg" / "index_engine" / "templates"
    assert (tmp_path / "xdg" / "index_engine" / "templates").is_dir()
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    assert template_cache_folder() is None
    monkeypatch.setattr("sys.dont_write_bytecode", False)
    beside = template_cache_folder()
    assert beside in (None, Path(render.__file__).parent / "__pycache__")  # None where the package is read-only


class Row(dict):
    score = "attribute"


@pytest.mark.parametrize("obj, name", [
    ({"score": 1.5}, "score"),
    ({"items": 3, "keys": None}, "items"),  # dict's own attributes first, as jinja2 reads them
    ({"items": 3}, "keys"),
    ({"score": 1}, "rank"),  # missing: undefined
    ({}, "__class__"),
    (Row(score=2), "score"),  # a dict subclass: as jinja2 reads it
    (Row(), "rank"),
    ("text", "upper"),
    (None, "score"),
])
def test_report_environment_reads_names_as_jinja2_does(obj, name):
    ours, theirs = ReportEnvironment(**OPTIONS), jinja2.Environment(**OPTIONS)
    got, expected = ours.getattr(obj, name), theirs.getattr(obj, name)
    if isinstance(expected, jinja2.Undefined):
        assert isinstance(got, jinja2.StrictUndefined) and got._undefined_name == name and got._undefined_obj is obj
    else:
        assert got == expected
    template = "{{ (obj.%s if obj.%s is defined else 'undefined')|string }}" % (name, name)
    assert ours.from_string(template).render(obj=obj) == theirs.from_string(template).render(obj=obj)
