"""The whole job as one library call (index_engine.job): what it writes, what it records, rebuild."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

import index_engine as ie
from index_engine import job as jobs
from index_engine.cli import main
from index_engine.errors import DataError

from .conftest import ROOT, TINY_SPEC, tiny_frame


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    tiny_frame().to_csv(tmp_path / "tiny.csv", index=False)
    p = tmp_path / "tiny.yaml"
    p.write_text(yaml.safe_dump(dict(TINY_SPEC, data={"file": "tiny.csv"}), allow_unicode=True), encoding="utf-8")
    return p


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_run_build_writes_what_the_cli_writes(tiny, tmp_path):
    job = jobs.run_build(tiny, out=tmp_path / "lib", audit=True, uncertainty=20, overrides={"tree.D2.weight": 3}, excel=False)
    assert main(["build", str(tiny), "--out", str(tmp_path / "cli"), "--audit", "--uncertainty", "20",
                 "--set", "tree.D2.weight=3", "--no-excel"]) == 0
    assert files(job.folder) == files(tmp_path / "cli")
    for name in ("scores.csv", "weights.csv", "spec.yaml", "audit/audit.json", "sensitivity/rank_stats.csv", "report/index.html"):
        assert (job.folder / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    assert job.build.spec.get("tree.D2.weight") == 3 and job.audit is not None and job.sensitivity is not None
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_build_write_writes_tables_and_with_extras_the_audit_and_report(tiny_spec, tiny_panel, tmp_path):
    b = ie.build(tiny_spec, tiny_panel)
    plain = b.write(tmp_path / "plain", excel=False)
    assert not (plain / "report").exists() and not (plain / "audit").exists() and (plain / "manifest.json").exists()
    full = b.write(tmp_path / "full", excel=False, extras=("audit", "report"))
    assert (full / "report" / "index.html").exists() and (full / "audit" / "audit.json").exists()
    assert files(full) == files(jobs.write_job(b, tmp_path / "job", excel=False, audit=True))
    with pytest.raises(ValueError, match="unknown extra output 'sobol'"):
        b.write(tmp_path / "x", extras=("sobol",))


def test_the_writer_does_not_run_the_audit(tiny_spec, tiny_panel, tmp_path, monkeypatch):
    from index_engine.audit import audit

    b = ie.build(tiny_spec, tiny_panel)
    a = audit(b)

    def no(*args, **kwargs):
        raise AssertionError("the audit ran again")

    monkeypatch.setattr("index_engine.audit.audit", no)
    out = jobs.write_job(b, tmp_path / "b", excel=True, audit=a, report=False)
    assert (out / "audit" / "audit.json").read_text(encoding="utf-8").startswith("{")
    sheets = pd.ExcelFile(out / "results.xlsx").sheet_names
    assert any(s.startswith("audit_") for s in sheets)


def test_the_folder_records_data_sheet_and_every_set(tiny, tmp_path, monkeypatch):
    xlsx = tmp_path / "other" / "data.xlsx"
    xlsx.parent.mkdir()
    with pd.ExcelWriter(xlsx) as w:
        pd.DataFrame({"note": ["illustrative"]}).to_excel(w, sheet_name="notes", index=False)
        tiny_frame().to_excel(w, sheet_name="values", index=False)
    out = tmp_path / "b"
    monkeypatch.chdir(xlsx.parent)
    assert main(["build", str(tiny), "--data", "data.xlsx", "--sheet", "values", "--out", str(out), "--no-report",
                 "--set", "tree.D2.weight=4", "--set", "steps.normalize.method=zscore"]) == 0
    spec = yaml.safe_load((out / "spec.yaml").read_text(encoding="utf-8"))
    assert spec["data"]["file"] == "other/data.xlsx" and spec["data"]["sheet"] == "values"  # relative to the spec's folder, as in a spec file
    assert spec["data"]["on_missing_indicator"] == "error"  # the reading policies are recorded too
    assert spec["steps"]["normalize"]["method"] == "zscore"
    import json

    inputs = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["inputs"]
    assert inputs["data_file"] == str(xlsx.resolve()) and inputs["sheet"] == "values"
    assert inputs["set"] == {"tree.D2.weight": 4, "steps.normalize.method": "zscore"}
    assert inputs["base_dir"] == str(tmp_path) and inputs["options"]["report"] is False


def test_rebuild_gives_the_same_scores_byte_for_byte(tiny, tmp_path, monkeypatch):
    xlsx = tmp_path / "data.xlsx"
    with pd.ExcelWriter(xlsx) as w:
        pd.DataFrame({"note": ["x"]}).to_excel(w, sheet_name="notes", index=False)
        tiny_frame().to_excel(w, sheet_name="values", index=False)
    first = tmp_path / "first"
    assert main(["build", str(tiny), "--data", str(xlsx), "--sheet", "values", "--out", str(first), "--no-excel",
                 "--no-report", "--audit", "--uncertainty", "20", "--set", "steps.normalize.method=zscore"]) == 0
    assert main(["rebuild", str(first), "--out", str(tmp_path / "again")]) == 0
    again = tmp_path / "again"
    for name in ("scores.csv", "spec.yaml", "weights.csv", "audit/audit.json", "sensitivity/rank_stats.csv"):
        assert (again / name).read_bytes() == (first / name).read_bytes(), name
    assert files(again) == files(first)
    monkeypatch.chdir(tmp_path / "first")  # without --out: a new outputs/<index id>/<timestamp>/
    assert main(["rebuild", "."]) == 0
    (new,) = (tmp_path / "first" / "outputs" / "TINY").iterdir()
    assert (new / "scores.csv").read_bytes() == (first / "scores.csv").read_bytes()


def test_rebuild_refuses_changed_data_and_a_folder_without_inputs(tiny, tmp_path, capsys):
    out = tmp_path / "b"
    assert main(["build", str(tiny), "--out", str(out), "--no-report", "--no-excel"]) == 0
    (tmp_path / "tiny.csv").write_text((tmp_path / "tiny.csv").read_text().replace("100.0", "101.0"))
    assert main(["rebuild", str(out), "--out", str(tmp_path / "again")]) == 2
    assert "SHA-256 differs" in capsys.readouterr().err and not (tmp_path / "again").exists()
    with pytest.raises(DataError, match="not a finished build folder"):
        jobs.rebuild(tmp_path)


def test_a_folder_written_by_build_write_rebuilds_with_its_options(tiny, tmp_path):
    spec, panel = jobs.read_inputs(tiny, overrides={"tree.D1.weight": 2})
    first = ie.build(spec, panel).write(tmp_path / "first", excel=False, extras=("audit",))
    again = jobs.rebuild(first, tmp_path / "again").folder
    assert files(again) == files(first) and "report/index.html" not in files(again)
    assert (again / "scores.csv").read_bytes() == (first / "scores.csv").read_bytes()


def test_rebuild_in_place_with_force(tiny, tmp_path):
    out = tmp_path / "b"
    assert main(["build", str(tiny), "--out", str(out), "--no-report", "--no-excel"]) == 0
    scores = (out / "scores.csv").read_bytes()
    assert main(["rebuild", str(out), "--out", str(out)]) == 2
    assert main(["rebuild", str(out), "--out", str(out), "--force"]) == 0
    assert (out / "scores.csv").read_bytes() == scores


def test_default_uncertainty_factors(tiny_spec, tiny_panel):
    from index_engine.sensitivity import Choice, WeightNoise

    f = jobs.default_factors(tiny_spec, tiny_panel)  # min-max 0-100 has zeros: no geometric mean
    assert f == {"weights_level2": WeightNoise(levels=(2,), noise=0.25)}
    positive = tiny_spec.replace("steps.normalize.params", {"lower": 1, "upper": 100})
    f = jobs.default_factors(positive, tiny_panel)
    assert f["aggregation"] == Choice(path="steps.aggregate.method", values=["arithmetic", "geometric"])
    flat = ie.spec_from_dict({"index": {"id": "F"}, "tree": {"code": "I", "children": [{"code": "a"}, {"code": "b"}]}})
    f = jobs.default_factors(flat, ie.panel_from_frame(tiny_frame()[["unit", "year", "a", "b"]], flat))
    assert f == {"weights_level1": WeightNoise(levels=(1,), noise=0.25)}  # no level between index and indicators


def test_a_spec_without_uncertainty_section_runs_with_default_factors(tiny, tmp_path):
    job = jobs.run_build(tiny, out=tmp_path / "b", uncertainty=30, report=False, excel=False)
    assert set(job.sensitivity.manifest["factors"]) == {"weights_level2"}
    assert (job.folder / "sensitivity" / "rank_stats.csv").exists()


def test_the_time_series_spec_builds_with_its_audit_and_report(tmp_path):
    job = jobs.run_build(ROOT / "weights/beijing_tfdi_timeseries.yaml", out=tmp_path / "ts", audit=True,
                         uncertainty=10, excel=False)
    assert (job.folder / "report" / "robustness.html").exists()


def test_empty_cells_format_as_missing():
    from index_engine.report import i18n

    assert i18n.fmt_num("") == i18n.fmt_num(None) == i18n.MISSING


@pytest.mark.parametrize("path", sorted(str(p.relative_to(ROOT)) for p in (*ROOT.glob("weights/*.yaml"), *ROOT.glob("weights/examples/*.yaml"))))
def test_every_bundled_spec_has_what_make_run_needs(path):
    """`make run SPEC=...` runs `build SPEC --audit --uncertainty 1000`: a data file and factors to vary."""
    spec, panel = jobs.read_inputs(ROOT / path)
    factors = spec.uncertainty or jobs.default_factors(spec, panel)
    assert factors and panel.n_units > 0


@pytest.mark.parametrize("audit, uncertainty", [(True, 20), (True, None), (False, 20)])
def test_work_done_beside_the_build_in_child_processes_writes_the_same_folder(tiny, tmp_path, monkeypatch, audit, uncertainty):
    """Whichever of the audit and the analysis a child makes (and the tables a child writes), the
    folder and the results are those of one process."""
    from index_engine.parallel import PROCESSES_ENV

    forked = jobs.run_build(tiny, out=tmp_path / "forked", audit=audit, uncertainty=uncertainty)
    monkeypatch.setenv(PROCESSES_ENV, "1")
    one = jobs.run_build(tiny, out=tmp_path / "one", audit=audit, uncertainty=uncertainty)
    assert files(forked.folder) == files(one.folder)
    assert ("audit/audit.json" in files(one.folder)) == audit and ("sensitivity/rank_stats.csv" in files(one.folder)) == bool(uncertainty)
    timed = {"manifest.json", "sensitivity/manifest.json"}  # they record seconds taken
    for name in set(files(one.folder)) - timed:
        assert (forked.folder / name).read_bytes() == (one.folder / name).read_bytes(), name
    if uncertainty:
        pd.testing.assert_frame_equal(forked.sensitivity.rank_stats, one.sensitivity.rank_stats)
    if audit:
        pd.testing.assert_frame_equal(forked.audit.flags, one.audit.flags)


def test_run_sensitivity_writes_what_the_cli_writes_forked_or_not(tiny, tmp_path, monkeypatch):
    """The library call and the command write the same folder; the analysis done in a child beside the
    table writing gives the same files as all of it in one process."""
    from index_engine.parallel import PROCESSES_ENV

    job = jobs.run_sensitivity(tiny, out=tmp_path / "lib", mode="sobol", n=16, overrides={"tree.D2.weight": 3})
    assert main(["sensitivity", str(tiny), "--mode", "sobol", "--n", "16", "--out", str(tmp_path / "cli"),
                 "--set", "tree.D2.weight=3"]) == 0
    monkeypatch.setenv(PROCESSES_ENV, "1")
    one = jobs.run_sensitivity(tiny, out=tmp_path / "one", mode="sobol", n=16, overrides={"tree.D2.weight": 3})
    assert files(job.folder) == files(tmp_path / "cli") == files(one.folder)
    assert "sensitivity/sobol.csv" in files(job.folder) and not (job.folder / "report").exists()
    timed = {"manifest.json", "sensitivity/manifest.json"}  # they record seconds taken
    for name in set(files(one.folder)) - timed:
        assert (job.folder / name).read_bytes() == (tmp_path / "cli" / name).read_bytes() == (one.folder / name).read_bytes(), name
    pd.testing.assert_frame_equal(job.sensitivity.sobol, one.sensitivity.sobol)
    assert job.build.spec.get("tree.D2.weight") == 3


def test_run_sensitivity_of_a_finished_folder_adds_sensitivity_and_refuses_twice(tiny, tmp_path):
    """``build_dir``: sensitivity/ goes into the folder, and its report is rendered again to show it."""
    from index_engine.report.i18n import STRINGS

    built = jobs.run_build(tiny, out=tmp_path / "b", excel=False)
    page = built.folder / "report" / "robustness.html"
    headings = set(STRINGS["remove_one"].values())
    assert not page.exists()  # a build without an analysis has no robustness page
    job = jobs.run_sensitivity(build_dir=built.folder, mode="remove")
    assert job.folder == built.folder and (built.folder / "sensitivity" / "remove_one.csv").is_file()
    assert any(h in page.read_text(encoding="utf-8") for h in headings)
    with pytest.raises(ie.OutputExistsError):
        jobs.run_sensitivity(build_dir=built.folder, mode="remove")
    with pytest.raises(ie.SpecError):
        jobs.run_sensitivity(tiny, build_dir=built.folder)
    with pytest.raises(ie.SpecError):
        jobs.analyse(built.build.spec, built.build.panel, "morris")


def test_run_audit_writes_the_audit_alone_and_refuses_an_existing_folder_before_the_work(tmp_path, monkeypatch):
    """index-engine audit SPEC as a library call: the audit's folder, the build it audited; an existing folder is
    refused before anything is built (and replaced with force)."""
    import json

    from index_engine import job as job_mod
    from index_engine.errors import OutputExistsError

    spec = ROOT / "weights/examples/hdi.yaml"
    j = job_mod.run_audit(spec, out=tmp_path / "a")
    assert j.folder == tmp_path / "a" and j.audit is not None and j.build.spec.index.id == "HDI"
    assert json.loads((j.folder / "audit.json").read_text(encoding="utf-8"))["summary"] == j.audit.summary()
    monkeypatch.setattr(job_mod, "build", lambda *a, **k: pytest.fail("built before refusing"))
    with pytest.raises(OutputExistsError, match="exists already"):
        job_mod.run_audit(spec, out=tmp_path / "a")
