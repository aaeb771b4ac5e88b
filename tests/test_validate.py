"""index_engine.validate: the data check of a spec, its flag and coverage matrices and the report's tables."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import index_engine as ie
from index_engine.validate import ValidationReport, flags_of, tracked_matrix, unit_coverage, validate_data

SPEC = """index: {id: V}
tree:
  code: V
  children:
    - code: D1
      children:
        - {code: a, weight: 2}
        - code: S
          children: [{code: b}, {code: c, weight: 3}]
    - code: D2
      weight: 5
      children: [{code: d}, {code: e, weight: 4}]
tracking: {unit: 北京}
"""

ROWS = [  # unit, unit_name, period, indicator, value, flag
    ("BJ", "北京", "2023", "a", "1", ""),
    ("BJ", "北京", "2023", "b", "1", "F"),
    ("BJ", "北京", "2024", "a", "1", "E"),
    ("BJ", "北京", "2024", "b", "2", "预测"),
    ("BJ", "北京", "2024", "c", "2", "代理"),
    ("BJ", "北京", "2024", "d", "", ""),
    ("BJ", "北京", "2024-03", "e", "2", ""),
    ("SH", "上海", "2024", "c", "1", "p"),
    ("SH", "上海", "2024", "e", "1", "S"),
    ("GZ", "广州", "2023", "a", "1", "A"),
    ("GZ", "广州", "2023", "e", "1", ""),
]

# each indicator's share of its dimension's nominal weight, worked out from SPEC:
# D1 = a (2 of 3) + S (1 of 3, split b 1 : c 3); D2 = d (1 of 5) + e (4 of 5)
SHARES = {
    "D1": {"a": Fraction(2, 3), "b": Fraction(1, 3) * Fraction(1, 4), "c": Fraction(1, 3) * Fraction(3, 4)},
    "D2": {"d": Fraction(1, 5), "e": Fraction(4, 5)},
}
COUNTED = {"observed", "estimate", "provisional", "proxy", "illustrative"}  # forecast is not observed
CANONICAL = {"": "observed", "A": "observed", "E": "estimate", "p": "provisional", "代理": "proxy", "F": "forecast",
             "预测": "forecast", "S": "illustrative"}


def data_text(rows=ROWS) -> str:
    return "unit,unit_name,period,indicator,value,flag\n" + "".join(",".join(r) + "\n" for r in rows)


@pytest.fixture
def files(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    data = tmp_path / "d.csv"
    data.write_bytes(data_text().encode("gbk"))
    return spec, data


@pytest.fixture
def loaded(files):
    spec_file, data_file = files
    spec = ie.load_spec(spec_file)
    return spec, ie.load_panel(data_file, spec)


def expected_flag(unit: str, year: int, indicator: str) -> str:
    """The flag of a value as the rows give it: its annual row's flag, or ``observed`` for a value from sub-annual rows."""
    for u, _, period, ind, value, flag in ROWS:
        if (u, ind) == (unit, indicator) and period.startswith(str(year)) and value:
            return CANONICAL[flag] if period == str(year) else "observed"
    return ""


# ---- unit_coverage ---------------------------------------------------------------------------------

def test_coverage_is_the_observed_share_of_each_dimensions_nominal_weight(loaded):
    spec, panel = loaded
    got = unit_coverage(spec, panel)
    assert list(got.columns) == ["unit", "year", "D1", "D2"]
    assert got["unit"].tolist() == ["BJ", "SH", "GZ"] and set(got["year"]) == {2024}
    for row in got.itertuples(index=False):
        for dim, shares in SHARES.items():
            want = sum((w for ind, w in shares.items() if expected_flag(row.unit, 2024, ind) in COUNTED), Fraction(0))
            assert getattr(row, dim) == pytest.approx(float(want)), (row.unit, dim)


def test_a_forecast_does_not_count_and_a_unit_with_nothing_in_the_latest_year_has_none(loaded):
    """BJ: a (estimate) and c (proxy) count, b is a forecast, e comes from a monthly row; SH: c and e;
    GZ: nothing in 2024."""
    got = unit_coverage(*loaded).set_index("unit")
    assert got.loc["BJ", "D1"] == pytest.approx(2 / 3 + 1 / 4) and got.loc["BJ", "D2"] == pytest.approx(4 / 5)
    assert got.loc["SH", "D1"] == pytest.approx(1 / 4) and got.loc["SH", "D2"] == pytest.approx(4 / 5)
    assert got.loc["GZ", "D1"] == 0 and got.loc["GZ", "D2"] == 0


def test_a_zero_weight_indicator_adds_nothing_to_coverage():
    spec = ie.spec_from_dict({"index": {"id": "Z"}, "tree": {"code": "Z", "children": [
        {"code": "D1", "children": [{"code": "a", "weight": 0}, {"code": "b"}]}]}}, "z.yaml")
    panel = ie.panel_from_frame(pd.DataFrame({"unit": ["U1", "U2"], "year": [2024, 2024], "a": [1.0, None],
                                              "b": [None, 1.0]}), spec)
    assert unit_coverage(spec, panel)[["unit", "D1"]].values.tolist() == [["U1", 0.0], ["U2", 1.0]]


def test_wide_data_without_flags_counts_every_value(tiny_spec, tiny_panel):
    got = unit_coverage(tiny_spec, tiny_panel)
    assert got.values.tolist() == [["U1", 2021, 1.0, 1.0], ["U2", 2021, 1.0, 1.0], ["U3", 2021, 1.0, 1.0]]


# ---- flags_of and tracked_matrix --------------------------------------------------------------------

def test_flags_are_the_vocabulary_words_and_blank_where_there_is_no_value(loaded):
    spec, panel = loaded
    f = flags_of(spec, panel)
    assert list(f.columns) == ["a", "b", "c", "d", "e"]
    assert list(f.index) == [("BJ", 2023), ("BJ", 2024), ("SH", 2024), ("GZ", 2023)]  # the unit-years with a value
    for (unit, year), row in f.iterrows():
        assert row.to_dict() == {c: expected_flag(unit, year, c) for c in "abcde"}, (unit, year)
    assert f.loc[("BJ", 2024)].tolist() == ["estimate", "forecast", "proxy", "", "observed"]


def test_flags_name_every_spec_indicator_even_one_the_data_lacks(tmp_path, files):
    spec_file, _ = files
    spec = ie.load_spec(spec_file, overrides={"data": {"on_missing_indicator": "warn"}})
    rows = [r for r in ROWS if r[3] != "d"]
    (tmp_path / "no_d.csv").write_text(data_text(rows), encoding="utf-8")
    panel = ie.load_panel(tmp_path / "no_d.csv", spec)
    f = flags_of(spec, panel)
    assert list(f.columns) == ["a", "b", "c", "d", "e"] and set(f["d"]) == {""}


def test_wide_data_flags_every_value_observed(tiny_spec, tiny_panel):
    f = flags_of(tiny_spec, tiny_panel)
    assert f.shape == (6, 4) and set(f.to_numpy().ravel()) == {"observed"}


def test_the_tracked_matrix_is_indicators_by_year_for_one_unit(loaded):
    spec, panel = loaded
    bj = tracked_matrix(spec, panel, "BJ")
    assert list(bj.columns) == ["indicator", "2023", "2024"]
    assert bj.to_dict("list") == {"indicator": list("abcde"),
                                  "2023": [expected_flag("BJ", 2023, c) for c in "abcde"],
                                  "2024": [expected_flag("BJ", 2024, c) for c in "abcde"]}
    assert bj["2023"].tolist() == ["observed", "forecast", "", "", ""]


def test_a_year_without_values_is_a_blank_column(loaded):
    gz = tracked_matrix(*loaded, "GZ")
    assert gz["2024"].tolist() == [""] * 5 and gz["2023"].tolist() == ["observed", "", "", "", "observed"]


# ---- validate_data ----------------------------------------------------------------------------------

def test_a_gbk_file_validates_and_gives_every_table(files):
    spec_file, data_file = files
    r = validate_data(spec_file, data_file)
    assert r.ok and r.errors == [] and r.warnings == []
    assert r.spec.tracking.unit == "BJ"  # 北京, the name in the data, resolved to its code
    assert r.panel.units == ["BJ", "SH", "GZ"]
    assert set(r.tables) == {"problems", "missing_indicators", "gaps", "sub_annual", "duplicates", "breaks",
                             "coverage_units", "coverage_tracked"}
    pd.testing.assert_frame_equal(r.tables["coverage_tracked"], tracked_matrix(r.spec, r.panel, "BJ"))
    pd.testing.assert_frame_equal(r.tables["coverage_units"], unit_coverage(r.spec, r.panel))
    assert r.notes == [f"{data_file}: read as gaps: 1 cells: 1 blank",
                       f"{data_file}: 1 annual values from sub-annual rows, latest: e (last): BJ 2024 e (latest: 2024-03)"]
    assert r.tables["problems"].values.tolist() == [["note", r.notes[0]], ["note", r.notes[1]]]
    assert r.tables["gaps"].values.tolist() == [["", 1]]
    assert r.tables["sub_annual"][["unit", "year", "indicator", "rule"]].values.tolist() == [["BJ", 2024, "e", "last"]]


def test_the_spec_file_names_the_data_when_none_is_given(tmp_path, files):
    spec_file, _ = files
    spec_file.write_text(SPEC + "data: {file: d.csv}\n", encoding="utf-8")
    r = validate_data(spec_file)
    assert r.ok and r.panel.file.endswith("d.csv") and r.panel.n_units == 3


def test_no_data_anywhere_is_a_spec_error_naming_the_spec(files):
    spec_file, _ = files
    with pytest.raises(ie.SpecError, match=r"s\.yaml: no data file: pass --data FILE"):
        validate_data(spec_file)


def test_warnings_and_notes_are_kept_apart(tmp_path, files):
    spec_file, _ = files
    rows = [*ROWS, ("SH", "上海", "2024", "zz", "3", ""), ("SH", "上海", "2024", "a", "n/a", "")]
    (tmp_path / "w.csv").write_text(data_text(rows), encoding="utf-8")
    r = validate_data(spec_file, tmp_path / "w.csv")
    assert r.ok
    w = tmp_path / "w.csv"
    assert r.warnings == [f"{w}: the data has 1 indicator the spec does not name, not used: zz",
                          f"{w}: read as gaps: 2 cells: 'n/a' ×1, 1 blank"]
    assert r.tables["gaps"].values.tolist() == [["", 1], ["n/a", 1]]
    assert r.tables["problems"]["severity"].tolist() == ["warning", "warning", "note"]


def test_a_missing_indicator_is_an_error_grouped_by_dimension(tmp_path, files):
    spec_file, _ = files
    (tmp_path / "m.csv").write_text(data_text([r for r in ROWS if r[3] not in ("b", "d")]), encoding="utf-8")
    r = validate_data(spec_file, tmp_path / "m.csv")
    assert not r.ok and len(r.errors) == 1
    assert "the data lacks 2 of the 5 indicators" in r.errors[0] and "D1: b" in r.errors[0] and "D2: d" in r.errors[0]
    assert r.tables["missing_indicators"].values.tolist() == [["b", "D1", "error"], ["d", "D2", "error"]]
    assert r.spec.tracking.unit == "北京"  # with problems, the units are left as the spec names them
    assert r.tables["coverage_tracked"]["indicator"].tolist() == list("abcde")
    assert r.tables["coverage_tracked"].set_index("indicator").loc[["b", "d"]].to_numpy().tolist() == [["", ""], ["", ""]]


def test_overrides_let_missing_indicators_be_dropped(tmp_path, files):
    spec_file, _ = files
    (tmp_path / "m.csv").write_text(data_text([r for r in ROWS if r[3] != "b"]), encoding="utf-8")
    r = validate_data(spec_file, tmp_path / "m.csv", overrides={"data.on_missing_indicator": "warn"})
    assert r.ok and r.tables["missing_indicators"].values.tolist() == [["b", "D1", "dropped"]]
    assert r.warnings == [f"{tmp_path / 'm.csv'}: dropped 1 of the 5 indicators the data lacks (D1: b); "
                          "the weights of their siblings are renormalised"]


def test_a_bad_override_names_its_spec_path(files):
    spec_file, data_file = files
    with pytest.raises(ie.SpecError, match=r"tree\.D1\.children\[0\]\.direction: must be 1 or -1, got 'up'"):
        validate_data(spec_file, data_file, overrides={"tree.a.direction": "up"})


def test_an_unreadable_file_is_one_error_naming_the_file_row_and_column(tmp_path, files):
    spec_file, _ = files
    bad = tmp_path / "bad.csv"
    bad.write_text("unit,period,indicator,value\nBJ,2024,a,1\nBJ,2024,b,abc\n", encoding="utf-8")
    r = validate_data(spec_file, bad)
    assert not r.ok and r.panel is None
    assert r.errors == [f"{bad}: column 'value' (indicator 'b'): not a number at row 3 ('abc')"]
    assert list(r.tables) == ["problems"] and r.tables["problems"].values.tolist() == [["error", r.errors[0]]]


def test_a_missing_data_file_is_one_error(tmp_path, files):
    spec_file, _ = files
    r = validate_data(spec_file, tmp_path / "nope.csv")
    assert r.errors == [f"{tmp_path / 'nope.csv'}: no such data file"] and r.panel is None


# ---- ValidationReport -------------------------------------------------------------------------------

def test_a_report_is_ok_until_it_has_an_error():
    r = ValidationReport(spec=None, panel=None, warnings=["w"], notes=["n"])
    assert r.ok and r.tables == {}
    r.errors.append("e")
    assert not r.ok


def test_write_puts_each_table_in_a_csv_file_and_refuses_to_overwrite(tmp_path, files):
    r = validate_data(*files)
    out = r.write(tmp_path / "rep")
    assert out == tmp_path / "rep"
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{name}.csv" for name in r.tables)
    units = pd.read_csv(out / "coverage_units.csv")
    assert units["unit"].tolist() == ["BJ", "SH", "GZ"]
    assert units["D1"].tolist() == pytest.approx([11 / 12, 1 / 4, 0.0])
    tracked = pd.read_csv(out / "coverage_tracked.csv", dtype=str, keep_default_na=False)
    assert tracked["2024"].tolist() == ["estimate", "forecast", "proxy", "", "observed"]
    with pytest.raises(ie.OutputExistsError):
        r.write(tmp_path / "rep")
    r.tables = {"problems": pd.DataFrame([("error", "x")], columns=["severity", "message"])}
    r.write(tmp_path / "rep", force=True)
    assert [p.name for p in (tmp_path / "rep").iterdir()] == ["problems.csv"]
    assert (tmp_path / "rep" / "problems.csv").read_text(encoding="utf-8-sig") == "severity,message\nerror,x\n"


def test_data_without_a_period_writes_the_coverage_year_blank(tmp_path):
    """A one-period file (no period column) has no year to show: the written table leaves it blank, as a build
    folder does, instead of the internal placeholder."""
    spec = tmp_path / "s.yaml"
    spec.write_text("index: {id: V}\ntree: {code: V, children: [{code: D, children: [{code: a}, {code: b}]}]}\n",
                    encoding="utf-8")
    (tmp_path / "d.csv").write_text("unit,a,b\nU1,1,\nU2,2,3\n", encoding="utf-8")
    r = validate_data(spec, tmp_path / "d.csv")
    units = pd.read_csv(r.write(tmp_path / "rep") / "coverage_units.csv", dtype=str, keep_default_na=False)
    assert units["year"].tolist() == ["", ""] and units["D"].tolist() == ["0.5", "1.0"]


@pytest.mark.parametrize("path", ["weights/examples/asem.yaml", "weights/beijing_tfdi.yaml", "weights/examples/hdi.yaml"])
def test_coverage_is_the_one_the_build_computes(path):
    """Each dimension's coverage in the latest year is the build's own (denominators and the file's flags
    included), so a score validate shows above the publication threshold is not withheld by the build."""
    import warnings

    from index_engine.job import read_inputs

    root = Path(__file__).resolve().parents[1]
    spec, panel = read_inputs(root / path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = ie.build(spec, panel)
    got = unit_coverage(spec, panel).set_index("unit")
    dims = [c.code for c in spec.tree.children]
    year = int(got["year"].iloc[0])
    built = b.coverage.xs(year, level="year")[dims]
    assert len(built) >= 10
    np.testing.assert_allclose(got.loc[built.index, dims].to_numpy(float), built.to_numpy(float), rtol=0, atol=1e-12)


def test_data_the_build_cannot_transform_is_an_error_not_a_crash(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("index: {id: V}\ntree: {code: V, children: [{code: D, children: [{code: a}, {code: b}]}]}\n"
                    "steps: {transform: {method: log}}\n", encoding="utf-8")
    (tmp_path / "d.csv").write_text("unit,year,a,b\nU1,2024,-1,2\nU2,2024,2,3\n", encoding="utf-8")
    r = validate_data(spec, tmp_path / "d.csv")
    assert not r.ok and any("log" in e and "a" in e for e in r.errors)
    assert "coverage_units" not in r.tables and list(r.tables["problems"]["severity"]).count("error") == len(r.errors)
