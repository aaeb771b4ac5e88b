"""The index-engine command: each subcommand, exit codes and messages.

The commands run in this process (the ``run_cli`` fixture of conftest.py); one test runs the
installed entry point as a subprocess, to check that ``python -m index_engine`` exits with the
command's code.
"""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from .conftest import ROOT

ASEM = str(ROOT / "weights/examples/asem.yaml")
HDI = str(ROOT / "weights/examples/hdi.yaml")
QUICK = ("--no-report", "--no-excel")  # where a test is not about the report or the workbook


def test_the_module_entry_point_exits_with_the_commands_code():
    r = subprocess.run([sys.executable, "-m", "index_engine", "build", "nope.yaml"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "nope.yaml: no such spec file" in r.stderr and "Traceback" not in r.stderr


def test_version(run_cli):
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.startswith("index-engine ")


def test_help_for_every_command(run_cli):
    for cmd in ("build", "validate", "import-coinr"):
        r = run_cli(cmd, "--help")
        assert r.returncode == 0 and "usage: index-engine" in r.stdout


def test_build_writes_a_new_folder_and_refuses_to_overwrite(run_cli, tmp_path):
    out = tmp_path / "hdi"
    r = run_cli("build", HDI, "--out", out)
    assert r.returncode == 0, r.stderr
    assert "Switzerland" in r.stdout and (out / "scores.csv").exists()
    assert (out / "results.xlsx").exists() and (out / "report" / "index.html").exists()  # by default
    before = (out / "scores.csv").read_bytes()
    r = run_cli("build", HDI, "--out", out)
    assert r.returncode == 2 and "the folder exists already" in r.stderr and "Traceback" not in r.stderr
    assert (out / "scores.csv").read_bytes() == before
    r = run_cli("build", HDI, "--out", out, "--force", "--set", "steps.aggregate.by_level={}", *QUICK)
    assert r.returncode == 0
    assert (out / "scores.csv").read_bytes() != before
    assert not (out / "results.xlsx").exists() and not (out / "report").exists()


def test_default_output_folder(run_cli, tmp_path):
    r = run_cli("build", HDI, *QUICK, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    runs = list((tmp_path / "outputs" / "HDI").iterdir())
    assert len(runs) == 1 and (runs[0] / "manifest.json").exists()


def test_set_is_validated(run_cli, tmp_path):
    r = run_cli("build", HDI, "--out", tmp_path / "x", "--set", "tree.le.direction=up")
    assert r.returncode == 2
    assert "tree.health.children[0].direction: must be 1 or -1, got 'up'" in r.stderr
    r = run_cli("build", HDI, "--out", tmp_path / "x", "--set", "nonsense")
    assert r.returncode == 2 and "write it as path=value" in r.stderr
    assert not (tmp_path / "x").exists()


def test_data_flag_and_bad_data(run_cli, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("unit,le,eys,mys,gni\nA,80,15,abc,1000\n")
    r = run_cli("build", HDI, "--data", bad, "--out", tmp_path / "o")
    assert r.returncode == 2
    assert f"{bad}: column 'mys': not a number at row 2 ('abc')" in r.stderr
    assert "Traceback" not in r.stderr
    r = run_cli("build", HDI, "--data", bad, "--out", tmp_path / "o", "--debug")
    assert r.returncode == 2 and "Traceback" in r.stderr


def test_validate(run_cli, tmp_path):
    r = run_cli("validate", ASEM)
    assert r.returncode == 0 and "51 units" in r.stdout
    spec = tmp_path / "x.yaml"
    spec.write_text("index: {id: X}\ntree: {code: X, children: [{code: a, wieght: 2}]}\n")
    r = run_cli("validate", spec)
    assert r.returncode == 2
    assert "tree.X.children[0].wieght: unknown key 'wieght' (did you mean 'weight'?)" in r.stderr


def test_import_coinr_round_trip(run_cli, tmp_path):
    meta = ROOT / "inputs/examples/asem/ASEM_iMeta.csv"
    data = ROOT / "inputs/examples/asem/ASEM_iData.csv"
    out = tmp_path / "asem.yaml"
    r = run_cli("import-coinr", meta, data, "-o", out)
    assert r.returncode == 0, r.stderr
    r = run_cli("build", out, "--out", tmp_path / "b", *QUICK)
    assert r.returncode == 0, r.stderr
    scores = pd.read_csv(tmp_path / "b" / "scores.csv")
    assert scores.node.nunique() == 49 + 8 + 2 + 1
    r = run_cli("import-coinr", meta, "-o", out)
    assert r.returncode == 2 and "exists already" in r.stderr


def test_missing_spec_file(run_cli):
    r = run_cli("build", "nope.yaml")
    assert r.returncode == 2 and "nope.yaml: no such spec file" in r.stderr


def test_no_command_prints_help(run_cli):
    r = run_cli()
    assert r.returncode == 2 and "usage" in r.stdout


GOOD_SPEC = """index: {id: T}
tree:
  code: T
  children:
    - code: D
      children:
        - {code: a}
        - {code: b}
"""
GOOD_DATA = "unit,year,a,b\nU1,2020,1,5\nU2,2020,2,3\nU3,2020,4,1\n"

BAD_INPUTS = [
    ("misspelt key", GOOD_SPEC.replace("{code: a}", "{code: a, wieght: 1}"), GOOD_DATA,
     "tree.D.children[0].wieght: unknown key 'wieght' (did you mean 'weight'?)"),
    ("unknown method", GOOD_SPEC + "steps: {normalize: {method: min-max}}\n", GOOD_DATA,
     "steps.normalize.method: Unknown normalize method 'min-max'"),
    ("missing parent", "index: {id: T}\ntree:\n  - {code: T}\n  - {code: a, parent: X}\n", GOOD_DATA,
     "tree[1].parent: 'a' names a parent 'X' that does not exist"),
    ("cycle", "index: {id: T}\ntree:\n  - {code: T}\n  - {code: a, parent: T}\n  - {code: p, parent: q}\n  - {code: q, parent: p}\n",
     GOOD_DATA, "the parents form a cycle"),
    ("negative weight", GOOD_SPEC.replace("{code: b}", "{code: b, weight: -1}"), GOOD_DATA,
     "tree.D.children[1].weight: must be a non-negative number, got -1"),
    ("non-numeric weight", GOOD_SPEC.replace("{code: b}", "{code: b, weight: heavy}"), GOOD_DATA,
     "tree.D.children[1].weight: must be a non-negative number, got 'heavy'"),
    ("duplicated code", GOOD_SPEC.replace("{code: b}", "{code: a}"), GOOD_DATA,
     "tree.D.children[1].code: duplicated code 'a'"),
    ("duplicated row", GOOD_SPEC, GOOD_DATA + "U1,2020,3,3\n", "duplicated unit and year at row 2 (U1 2020), row 5 (U1 2020)"),
    ("non-numeric cell", GOOD_SPEC, GOOD_DATA.replace("U2,2020,2,3", "U2,2020,two,3"), "column 'a': not a number at row 3 ('two')"),
    ("indicator missing", GOOD_SPEC, "unit,year,a\nU1,2020,1\n", "d.csv: the data lacks 1 of the 2 indicators of"),
    ("unit with no data", GOOD_SPEC, GOOD_DATA + "U4,2020,,\n", "these units have no data for any indicator of the spec: U4"),
    ("empty file", GOOD_SPEC, "", "the file is empty"),
    ("log of a negative", GOOD_SPEC + "steps: {transform: {method: log}}\n", GOOD_DATA.replace("U3,2020,4,1", "U3,2020,-4,1"),
     "indicator a: transform.log: log needs values > 0; these are not: U3 2020 (-4)"),
    ("geometric of zero", GOOD_SPEC + "steps: {aggregate: {method: geometric}}\n", GOOD_DATA,
     "node D: a geometric mean needs values > 0"),
    ("GBK is fine, bad YAML is not", "index: {id: T\n", GOOD_DATA, "not valid YAML"),
]


@pytest.mark.parametrize("name,spec_text,data_text,message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_exits_2_with_a_clear_message(run_cli, tmp_path, name, spec_text, data_text, message):
    spec = tmp_path / "x.yaml"
    spec.write_text(spec_text, encoding="utf-8")
    data = tmp_path / "d.csv"
    data.write_text(data_text, encoding="utf-8")
    r = run_cli("build", spec, "--data", data, "--out", tmp_path / "out")
    assert r.returncode == 2, r.stderr
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


def test_gbk_data_builds(run_cli, tmp_path):
    spec = tmp_path / "x.yaml"
    spec.write_text(GOOD_SPEC, encoding="utf-8")
    data = tmp_path / "d.csv"
    data.write_bytes("unit,unit_name,year,a,b\nU1,北京,2020,1,5\nU2,上海,2020,2,3\nU3,广东,2020,4,1\n".encode("gbk"))
    r = run_cli("build", spec, "--data", data, "--out", tmp_path / "out", *QUICK)
    assert r.returncode == 0, r.stderr
    assert "北京" in (tmp_path / "out" / "units.csv").read_text(encoding="utf-8")


VALIDATE_SPEC = """index: {id: V}
tree:
  code: V
  children:
    - code: D1
      children: [{code: a}, {code: b}]
    - code: D2
      children: [{code: c, type: flow}, {code: d, weight: 3}]
reference_units: [全国, 香港]
tracking: {unit: 北京}
"""
VALIDATE_DATA = """unit,unit_name,period,indicator,value,flag,source,vintage
BJ,北京,2024,a,1,,yb,2025
BJ,北京,2024,a,2,guess,bl,2025
BJ,北京,2025,a,n/a,,,
BJ,北京,2025-03,c,5,,,
BJ,北京,2024,d,7,X,,
SH,上海,2024,a,3,E,,2025-13
SH,上海,2024,zz,3,,,
CN,全国,2024,a,9,,,
"""


def test_validate_reports_every_problem_in_one_pass(run_cli, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(VALIDATE_SPEC, encoding="utf-8")
    (tmp_path / "d.csv").write_text(VALIDATE_DATA, encoding="utf-8")
    r = run_cli("validate", spec, "--data", tmp_path / "d.csv", "--out", tmp_path / "rep")
    assert r.returncode == 2
    assert "d.csv (3 units, 2 years): 5 errors, 3 warnings" in r.stdout
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 5
    for part in ("column 'vintage': not a vintage", "row 7 ('2025-13')", "column 'flag', row 3: unknown flag 'guess'",
                 "duplicated (unit, period, indicator): rows 2 and 3 (BJ, 2024, a; sources 'yb', 'bl')",
                 "the data lacks 1 of the 4 indicators of", "  D1: b",
                 "reference_units[1]: '香港' is neither a unit code nor a unit name of the data",
                 "d.csv: the data has 1 indicator the spec does not name, not used: zz",
                 "d.csv: read as gaps: 1 cells: 'n/a' ×1",
                 "partial: c (sum): BJ 2025 c (partial year: 1 of 12 months (2025-03..2025-03)"):
        assert part in r.stderr, part
    tracked = pd.read_csv(tmp_path / "rep" / "coverage_tracked.csv", keep_default_na=False, dtype=str)
    assert tracked.to_dict("list") == {"indicator": ["a", "b", "c", "d"], "2024": ["observed", "", "", "proxy"],
                                       "2025": ["", "", "", ""]}
    units = pd.read_csv(tmp_path / "rep" / "coverage_units.csv")
    # 2025: BJ has no value (a is n/a, c partial); in 2024 d (proxy, counted, weight 3/4 of D2) would cover 75% of D2
    assert units[["unit", "D1", "D2"]].values.tolist() == [["BJ", 0, 0], ["SH", 0, 0], ["CN", 0, 0]]
    problems = pd.read_csv(tmp_path / "rep" / "problems.csv")
    assert problems["severity"].tolist() == ["error"] * 5 + ["warning"] * 3
    assert (tmp_path / "rep" / "missing_indicators.csv").read_text(encoding="utf-8-sig").splitlines()[1:] == ["b,D1,error"]


def test_validate_coverage_of_each_dimension(run_cli, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(VALIDATE_SPEC.replace(", 香港", ""), encoding="utf-8")
    rows = ["unit,unit_name,period,indicator,value,flag"]
    rows += [f"{u},{n},2024,{i},1,{f}" for u, n in (("BJ", "北京"), ("SH", "上海"), ("CN", "全国")) for i, f in
             (("a", ""), ("b", "F"), ("c", ""), ("d", "X"))]
    rows += ["SH,上海,2024,d,n/a,", "BJ,北京,2024,c,,"]
    text = "\n".join(r for r in rows if not r.startswith(("SH,上海,2024,d,1", "BJ,北京,2024,c,1"))) + "\n"
    (tmp_path / "d.csv").write_text(text, encoding="utf-8")
    r = run_cli("validate", spec, "--data", tmp_path / "d.csv", "--out", tmp_path / "rep")
    assert r.returncode == 0, r.stderr
    units = pd.read_csv(tmp_path / "rep" / "coverage_units.csv").set_index("unit")
    # D1 = a (1/2) + b (1/2, forecast: not observed) -> 0.5; D2 = c (1/4) + d (3/4, proxy: counted)
    assert units.loc["BJ", "D1"] == 0.5 and units.loc["BJ", "D2"] == 0.75  # c is blank
    assert units.loc["SH", "D2"] == 0.25  # d is n/a
    assert units.loc["CN", "D2"] == 1.0
    assert "observed share of each dimension's weight, 2024" in r.stdout


def test_the_command_exits_with_mains_code_once_the_heap_is_frozen(monkeypatch):
    """``index-engine`` and ``python -m index_engine`` run console_main: main's exit code, the heap frozen
    once the engine is imported and at the end, transparent huge pages off first; main called by a script or
    a test freezes nothing."""
    import tomllib

    from index_engine import cli

    with open(ROOT / "pyproject.toml", "rb") as f:
        assert tomllib.load(f)["project"]["scripts"]["index-engine"] == "index_engine.cli:console_main"
    assert "console_main()" in (ROOT / "index_engine" / "__main__.py").read_text(encoding="utf-8")
    calls = []
    monkeypatch.setattr(cli.gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(cli, "no_huge_pages", lambda: calls.append("no huge pages"))
    cli.engine_imported()
    assert calls == []  # not the command's own process
    monkeypatch.setattr(cli, "_AS_COMMAND", False)
    monkeypatch.setattr(cli, "main", lambda: calls.append("main") or cli.engine_imported() or 3)
    with pytest.raises(SystemExit) as exit_:
        cli.console_main()
    assert exit_.value.code == 3
    assert calls == ["no huge pages", "main", "freeze", "freeze"]
