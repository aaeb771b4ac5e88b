"""Hostile inputs: each bad data or spec file ends as an error naming the file and the place
(exit 2 from the CLI, nothing written) or as documented behaviour with a named warning; and
what already held stays held."""

from __future__ import annotations

import json
import os
import re
import threading
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import index_engine as ie
from index_engine import _files, yamlsafe
from index_engine.cli import main
from index_engine.errors import EmptyNodeWarning, EncodingGuessWarning
from index_engine.panel import MAX_ABS_VALUE

from .test_cli import GOOD_DATA as DATA, GOOD_SPEC as SPEC


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return p


def run_build(tmp_path: Path, capsys, spec: Path, data: Path | None = None) -> tuple[int, str]:
    """``index-engine build`` in-process: (exit code, stderr); the output folder must not exist after a failure."""
    out = tmp_path / "out"
    args = ["build", str(spec), "--out", str(out)] + (["--data", str(data)] if data else [])
    code = main(args)
    err = capsys.readouterr().err
    if code != 0:
        assert not out.exists()
        assert "Traceback" not in err and "internal error" not in err
    return code, err


def workbook(path: Path, rows: list[list], title: str = "data", **sheets: list[list]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for r in rows:
        ws.append(r)
    for name, more in sheets.items():
        extra = wb.create_sheet(name)
        for r in more:
            extra.append(r)
    wb.save(path)
    return path


# ---- data: values -------------------------------------------------------------------------
def test_parquet_nan_year_is_refused(tmp_path):
    p = tmp_path / "d.parquet"
    pd.DataFrame({"unit": ["A", "B", "C"], "year": [2020.0, np.nan, 2020.0], "le": [1.0, 2, 3]}).to_parquet(p)
    with pytest.raises(ie.DataError, match=rf"^{re.escape(str(p))}: column 'year': no period at row 3$"):
        ie.load_panel(p)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "frame", "long csv"])
def test_infinite_value_is_refused_in_every_format(tmp_path, fmt):
    df = pd.DataFrame({"unit": ["CHE", "HKG", "JPN"], "year": [2021] * 3, "le": [84.0, -np.inf, 85.0]})
    if fmt == "csv":
        p = tmp_path / "d.csv"
        df.to_csv(p, index=False)
        load, where = (lambda: ie.load_panel(p)), str(p)
    elif fmt == "parquet":
        p = tmp_path / "d.parquet"
        df.to_parquet(p)
        load, where = (lambda: ie.load_panel(p)), str(p)
    elif fmt == "frame":
        load, where = (lambda: ie.panel_from_frame(df)), "<DataFrame>"
    else:
        p = write(tmp_path, "l.csv", "unit,year,indicator,value\nCHE,2021,le,84\nHKG,2021,le,-inf\n")
        load, where = (lambda: ie.load_panel(p)), f"{p}: column 'value' (indicator 'le')"
    with pytest.raises(ie.DataError) as exc:
        load()
    msg = str(exc.value)
    assert msg.startswith(where) and "infinite value at row 3 (unit HKG, -inf)" in msg


def test_parquet_missing_unit_is_named(tmp_path):
    p = tmp_path / "d.parquet"
    pd.DataFrame({"unit": ["A", None], "year": [2020, 2020], "le": [1.0, 2.0]}).to_parquet(p)
    with pytest.raises(ie.DataError, match=rf"{re.escape(str(p))}: column 'unit': empty unit at row 3"):
        ie.load_panel(p)


def test_values_that_would_overflow_are_refused(tmp_path, capsys):
    data = write(tmp_path, "d.csv", DATA.replace("U1,2020,1,5", "U1,2020,1e308,5").replace("U3,2020,4,1", "U3,2020,4,-1.7e308"))
    with pytest.raises(ie.DataError) as exc:
        ie.load_panel(data)
    assert str(exc.value).startswith(f"{data}: column 'a': value beyond ±1e+50 at row 2 (unit U1, 1e+308)")
    code, err = run_build(tmp_path, capsys, write(tmp_path, "x.yaml", SPEC), data)
    assert code == 2 and err.count("\n") == 1 and "column 'a': value beyond ±1e+50" in err


@pytest.mark.parametrize("steps", [
    "{normalize: {method: minmax}}",
    "{normalize: {method: zscore}, treat: {method: jrc}}",
    "{normalize: {method: none}, aggregate: {method: arithmetic}}",
])
def test_values_at_the_bound_give_finite_scores(tmp_path, steps):
    top = MAX_ABS_VALUE
    df = pd.DataFrame({"unit": [f"U{i}" for i in range(8)], "a": [top, -top, 0, 1, 2, 3, 4, 5], "b": [-top, top, 1, 2, 3, 4, 5, 6]})
    spec = ie.load_spec(write(tmp_path, "x.yaml", SPEC + f"steps: {steps}\n"))
    with np.errstate(over="raise", invalid="raise"):
        b = ie.build(spec, ie.panel_from_frame(df, spec))
    assert np.isfinite(b.scores.to_numpy(float)).all()


# ---- data: headers, layouts, separators -----------------------------------------------------
def test_duplicated_column_in_csv_names_both(tmp_path):
    p = write(tmp_path, "d.csv", "unit,year,le,gni,le\nA,2020,1,2,3\n")
    with pytest.raises(ie.DataError, match=rf"^{re.escape(str(p))}: the header names a column twice: 'le' \(columns 3 and 5\)"):
        ie.load_panel(p)


def test_duplicated_column_in_excel_names_both(tmp_path):
    p = workbook(tmp_path / "d.xlsx", [["unit", "year", "le", "le"], ["A", 2020, 1, 2]])
    with pytest.raises(ie.DataError, match=rf"^{re.escape(str(p))}: sheet 'data': the header names a column twice: 'le' \(columns C and D\)"):
        ie.load_panel(p)


def test_duplicated_column_in_a_frame(tmp_path):
    df = pd.DataFrame([["A", 1, 2]], columns=["unit", "le", "le"])
    with pytest.raises(ie.DataError, match=r"<DataFrame>: the header names a column twice: 'le' \(columns 2 and 3\)"):
        ie.panel_from_frame(df)


def test_missing_year_column_is_named(tmp_path):
    p = write(tmp_path, "d.csv", "unit,indicator,value\nA,le,1\nA,le,2\nB,le,3\n")
    with pytest.raises(ie.DataError) as exc:
        ie.load_panel(p)
    assert str(exc.value).startswith(
        f"{p}: there is no period column (period, year, time) and these (unit, indicator) pairs repeat: row 2 (A, le), row 3 (A, le)"
    )
    p = write(tmp_path, "w.csv", "unit,le\nA,1\nA,2\n")
    with pytest.raises(ie.DataError, match=r"duplicated unit at row 2 \(A\), row 3 \(A\); there is no period column"):
        ie.load_panel(p)


def test_semicolon_separated_csv_is_named(tmp_path, capsys):
    data = write(tmp_path, "d.csv", "unit;year;a;b\nU1;2020;1,5;5\nU2;2020;2;3\n")
    with pytest.raises(ie.DataError, match=rf"^{re.escape(str(data))}: line 1: the file looks ';'-separated"):
        ie.load_panel(data)
    code, err = run_build(tmp_path, capsys, write(tmp_path, "x.yaml", SPEC), data)
    assert code == 2 and "looks ';'-separated" in err


def test_tab_separated_text_is_read(tmp_path):
    p = write(tmp_path, "d.tsv", DATA.replace(",", "\t"))
    assert ie.load_panel(p).values.loc[("U3", 2020), "a"] == 4


# ---- data: encodings -----------------------------------------------------------------------
def test_latin1_csv_is_read_right_with_a_named_warning(tmp_path):
    p = write(tmp_path, "d.csv", "unit,unit_name,le\nZH,Zürich,1\nGE,Genève,2\nCI,Côte d'Ivoire,3\n".encode("latin-1"))
    with pytest.warns(EncodingGuessWarning, match=rf"{re.escape(str(p))}: .*read as Windows-1252.*line 2"):
        panel = ie.load_panel(p)
    assert panel.unit_names() == {"ZH": "Zürich", "GE": "Genève", "CI": "Côte d'Ivoire"}


def test_text_in_no_known_encoding_is_refused_with_the_guesses(tmp_path):
    p = write(tmp_path, "d.csv", "unit,unit_name,le\nA,東京都千代田区,1\n".encode("shift_jis"))
    with pytest.raises(ie.DataError) as exc:
        ie.load_panel(p)
    msg = str(exc.value)
    assert msg.startswith(f"{p}: line 2: cannot tell the text encoding: not UTF-8; as GBK/GB18030 it reads")
    assert "as Windows-1252 (Latin-1) it reads" in msg and "save the file as UTF-8" in msg


def test_gbk_behind_a_utf8_bom_reads(tmp_path):
    p = write(tmp_path, "d.csv", b"\xef\xbb\xbf" + "unit,unit_name,le\nBJ,北京,1\nSH,上海,2\n".encode("gbk"))
    assert ie.load_panel(p).unit_names() == {"BJ": "北京", "SH": "上海"}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_chinese_files_keep_reading(tmp_path, encoding):
    # a rare (GBK extension) character among common ones, and Windows line ends
    text = "unit,unit_name,le\r\nBJ,北京市海淀区,1\r\nSH,王堃的上海,2\r\nGD,广东省（含深圳）,3\r\n"
    with warnings.catch_warnings(action="error"):
        panel = ie.load_panel(write(tmp_path, "d.csv", text.encode(encoding)))
    assert panel.unit_names()["SH"] == "王堃的上海" and list(panel.values["le"]) == [1, 2, 3]


# ---- data: Excel -----------------------------------------------------------------------------
def test_excel_merged_cells_are_refused(tmp_path):
    p = tmp_path / "d.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "data"
    for r in [["unit", "year", "a", "b"], ["U1", 2020, 1, 5], [None, 2021, 2, 3], ["U3", 2020, 4, 1]]:
        ws.append(r)
    ws.merge_cells("A2:A3")
    wb.save(p)
    with pytest.raises(ie.DataError, match=rf"^{re.escape(str(p))}: sheet 'data': merged cells at A2:A3"):
        ie.load_panel(p)


def test_excel_formula_without_saved_result_is_refused(tmp_path):
    p = workbook(tmp_path / "d.xlsx", [["unit", "year", "a", "b"], ["U1", 2020, 1, "=C2*2"], ["U2", 2020, 3, 7]])
    with pytest.raises(ie.DataError, match=rf"^{re.escape(str(p))}: sheet 'data': formulas with no saved result at D2:"):
        ie.load_panel(p)


def test_excel_formula_with_a_saved_result_reads(tmp_path):
    p = workbook(tmp_path / "d.xlsx", [["unit", "year", "a", "b"], ["U1", 2020, 1, "=C2*2"], ["U2", 2020, 3, 7]])
    # what a spreadsheet program writes once it has calculated: the result beside the formula
    with zipfile.ZipFile(p) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    assert b"<f>C2*2</f><v />" in parts[sheet]
    parts[sheet] = parts[sheet].replace(b"<f>C2*2</f><v />", b"<f>C2*2</f><v>2</v>")
    with zipfile.ZipFile(p, "w") as zf:
        for n, b in parts.items():
            zf.writestr(n, b)
    assert ie.load_panel(p).values.loc[("U1", 2020), "b"] == 2


def test_excel_notes_sheet_first_suggests_sheet(tmp_path, capsys):
    p = workbook(tmp_path / "d.xlsx", [["About this workbook"], ["collected 2025"]], title="说明",
                 data=[["unit", "year", "a", "b"], ["U1", 2020, 1, 5], ["U2", 2020, 2, 3]])
    with pytest.raises(ie.DataError) as exc:
        ie.load_panel(p)
    assert str(exc.value).startswith(f"{p}: sheet '说明' has no unit column")
    assert "the sheets are '说明', 'data': choose the data sheet with --sheet" in str(exc.value)
    assert ie.load_panel(p, sheet="data").values.loc[("U2", 2020), "b"] == 3


# ---- data and spec: files that are not regular files, and the size limit -----------------------
def _no_block(load) -> Exception:
    """Run ``load`` in a thread; it must finish (with an error) within a few seconds."""
    box: list = []

    def target():
        try:
            load()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            box.append(exc)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "the reader blocked"
    return box[0]


@pytest.mark.parametrize("kind", ["fifo", "dev", "dir"])
def test_non_regular_files_are_refused(tmp_path, kind):
    if kind == "fifo":
        path, what = tmp_path / "d.csv", "a named pipe (FIFO)"
        os.mkfifo(path)
    elif kind == "dev":
        path, what = Path("/dev/zero"), "a character device"
    else:
        path, what = tmp_path / "d.csv", "a directory"
        path.mkdir()
    exc = _no_block(lambda: ie.load_panel(path))
    assert isinstance(exc, ie.DataError) and str(exc) == f"{path}: is {what}, not a regular data file"
    exc = _no_block(lambda: ie.load_spec(path))
    assert isinstance(exc, ie.SpecError) and str(exc) == f"{path}: is {what}, not a regular spec file"


def test_fifo_through_the_cli(tmp_path, capsys):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    t0 = time.perf_counter()
    code, err = run_build(tmp_path, capsys, write(tmp_path, "x.yaml", SPEC), fifo)
    assert code == 2 and "is a named pipe (FIFO)" in err and time.perf_counter() - t0 < 10


def test_size_limit_is_settable(tmp_path, monkeypatch):
    data = write(tmp_path, "d.csv", DATA)
    spec = write(tmp_path, "x.yaml", SPEC)
    assert _files.max_file_bytes() >= 2 * 2**30
    monkeypatch.setenv(_files.MAX_FILE_MB_ENV, str(40 / 2**20))
    with pytest.raises(ie.DataError, match=rf"^{re.escape(str(data))}: the data file is {len(DATA)} bytes, over the limit of 40 bytes \(set INDEX_ENGINE_MAX_FILE_MB"):
        ie.load_panel(data)
    with pytest.raises(ie.SpecError, match=rf"^{re.escape(str(spec))}: the spec file is .* over the limit"):
        ie.load_spec(spec)
    monkeypatch.setenv(_files.MAX_FILE_MB_ENV, "lots")
    with pytest.raises(ie.DataError, match="INDEX_ENGINE_MAX_FILE_MB='lots': must be a positive number of megabytes"):
        ie.load_panel(data)


# ---- spec: YAML ------------------------------------------------------------------------------
def test_duplicate_yaml_key_is_named(tmp_path):
    p = write(tmp_path, "x.yaml", SPEC + "steps:\n  normalize: {method: minmax}\n  normalize: {method: zscore}\n")
    with pytest.raises(ie.SpecError, match=rf"^{re.escape(str(p))}: line 11, column 3: steps.normalize: the key 'normalize' appears twice in one mapping \(first at line 10\)"):
        ie.load_spec(p)
    p = write(tmp_path, "y.yaml", SPEC.replace("{code: b}", "{code: b, weight: 1, weight: 2}"))
    with pytest.raises(ie.SpecError, match=r"line 8, column 32: tree.children\[0\].children\[1\].weight: the key 'weight' appears twice"):
        ie.load_spec(p)


def test_aliases_and_merge_keys_still_load(tmp_path):
    text = SPEC + "steps:\n  normalize: &mm {method: minmax, params: {lower: 0, upper: 10}}\n  treat: {method: none}\n"
    text += "uncertainty:\n  norm: {type: choice, path: steps.normalize, values: [*mm, {<<: *mm, params: {lower: 1, upper: 10}}]}\n"
    spec = ie.load_spec(write(tmp_path, "x.yaml", text))
    assert spec.steps.normalize.params == {"lower": 0, "upper": 10}
    assert spec.uncertainty["norm"].values[1]["params"] == {"lower": 1, "upper": 10}


def test_alias_bomb_in_a_kept_value_is_refused_fast(tmp_path, capsys):
    levels = "".join(f"    - &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 9))
    text = SPEC + "uncertainty:\n  f:\n    type: choice\n    path: index.description\n    values:\n"
    text = text + "    - &l0 [x, x, x, x, x, x, x, x, x, x]\n" + levels
    p = write(tmp_path, "bomb.yaml", text)
    t0 = time.perf_counter()
    with pytest.raises(ie.SpecError, match=rf"^{re.escape(str(p))}: line \d+: uncertainty.f.values\[\d\]: the YAML stands for more than 200,000 values"):
        ie.load_spec(p)
    assert main(["validate", str(p)]) == 2
    assert "stands for more than" in capsys.readouterr().err
    assert time.perf_counter() - t0 < 5


def test_alias_inside_itself_is_refused(tmp_path):
    p = write(tmp_path, "x.yaml", SPEC + "units: &u [U1, *u]\n")
    with pytest.raises(ie.SpecError, match=rf"^{re.escape(str(p))}: line 9: units\[1\]: an alias refers to a value that contains it"):
        ie.load_spec(p)


@pytest.mark.parametrize("content,detail", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a NUL byte at offset 8"),
    ("index: {id: T}\n".encode("utf-16"), "a NUL byte at offset 3; it is UTF-16 text: save it as UTF-8"),
    (SPEC.encode() + b"\x1a", "control character U+001A"),
])
def test_binary_spec_is_not_a_text_yaml_file(tmp_path, capsys, content, detail):
    p = write(tmp_path, "x.yaml", content)
    with pytest.raises(ie.SpecError, match="not a text YAML file") as exc:
        ie.load_spec(p)
    assert str(exc.value).startswith(str(p)) and detail in str(exc.value)
    code, err = run_build(tmp_path, capsys, p, write(tmp_path, "d.csv", DATA))
    assert code == 2 and "not a text YAML file" in err


def _nested_tree(depth: int) -> str:
    tree = "{code: leaf}"
    for i in reversed(range(depth - 1)):
        tree = f"{{code: n{i}, children: [{tree}]}}"
    return f"index: {{id: T}}\ntree: {tree}\n"


def test_tree_400_deep_is_refused(tmp_path, capsys):
    p = write(tmp_path, "x.yaml", _nested_tree(400))
    with pytest.raises(ie.SpecError) as exc:
        ie.load_spec(p)
    msg = str(exc.value)
    assert msg.startswith(f"{p}: line 2, column ") and "tree.children[0].children ... " in msg
    assert f"nested more than {yamlsafe.MAX_YAML_DEPTH} levels deep, the limit (a tree may be at most 50 levels deep)" in msg
    code, err = run_build(tmp_path, capsys, p, write(tmp_path, "d.csv", "unit,leaf\nA,1\nB,2\n"))
    assert code == 2 and "levels deep" in err


def test_tree_just_over_the_limit_names_the_node(tmp_path):
    assert ie.load_spec(write(tmp_path, "ok.yaml", _nested_tree(50))).levels["n0"] == 50
    p = write(tmp_path, "x.yaml", _nested_tree(51))
    with pytest.raises(ie.SpecError, match=rf"^{re.escape(str(p))}: tree.leaf: the tree is more than 50 levels deep, the limit \(n0 > n1 > n2 > ... > n48 > n49 > leaf\)"):
        ie.load_spec(p)
    flat = "index: {id: T}\ntree:\n  - {code: n0}\n" + "".join(f"  - {{code: n{i}, parent: n{i - 1}}}\n" for i in range(1, 400))
    with pytest.raises(ie.SpecError, match=r"x.yaml: tree.n50: the tree is more than 50 levels deep"):
        ie.load_spec(write(tmp_path, "x.yaml", flat))


def test_python_tags_are_refused(tmp_path, capsys):
    p = write(tmp_path, "x.yaml", SPEC + "units: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ie.SpecError, match=rf"^{re.escape(str(p))}: line 9, column 8: not valid YAML \(could not determine a constructor"):
        ie.load_spec(p)
    spec = write(tmp_path, "ok.yaml", SPEC)
    code = main(["build", str(spec), "--data", str(write(tmp_path, "d.csv", DATA)), "--out", str(tmp_path / "out"),
                 "--set", "units=!!python/object/apply:os.system ['echo pwned']"])
    captured = capsys.readouterr()
    assert code == 2 and "not valid YAML" in captured.err and "pwned" not in captured.out
    assert not (tmp_path / "out").exists()


# ---- a node with no data ----------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::index_engine.errors.DegenerateIndicatorWarning")
def test_empty_indicator_and_dimension_are_named(tmp_path, capsys):
    spec_text = SPEC.replace("        - {code: b}\n", "        - {code: b}\n    - code: E\n      children:\n        - {code: c}\n        - {code: d}\n")
    spec_file = write(tmp_path, "x.yaml", spec_text)
    data = write(tmp_path, "d.csv", "unit,year,a,b,c,d\nU1,2020,1,,,\nU2,2020,2,,,\nU3,2020,4,,,\n")
    spec = ie.load_spec(spec_file)
    with pytest.warns(EmptyNodeWarning) as caught:
        b = ie.build(spec, ie.load_panel(data, spec))
    named = [str(w.message) for w in caught if w.category is EmptyNodeWarning]
    assert named == [
        f"{data}: indicator 'b' (under 'D') has no value for any unit or year, so the scores above it are computed without it",
        f"{data}: node 'E' (its indicators c, d) has no value for any unit or year, so the scores above it are computed without it",
    ]
    assert [w for w in b.warnings if w.startswith("EmptyNodeWarning")] == [f"EmptyNodeWarning: {m}" for m in named]
    code, err = run_build(tmp_path, capsys, spec_file, data)
    assert code == 0 and "warning: EmptyNodeWarning" in err and "node 'E'" in err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert sum(w.startswith("EmptyNodeWarning") for w in manifest["warnings"]) == 2
