"""index_engine.template: the data-collection workbook, its sheets, drop-down lists, years and units."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import load_workbook

import index_engine as ie
from index_engine import template
from index_engine.template import ENTRY_COLUMNS, list_ranges, parse_years, template_sheets, write_template

SPEC = {
    "index": {"id": "T", "name_zh": "测试指数"},
    "tree": {"code": "T", "children": [
        {"code": "D1", "children": [
            {"code": "a", "name_zh": "研发投入", "name_en": "R&D", "unit": "亿元", "type": "flow", "direction": -1,
             "source": "统计年鉴", "description": "全社会研发经费", "target": {"value": 2.5, "year": 2027}},
            {"code": "S", "children": [{"code": "b", "type": "stock", "aggregate_periods": "mean"}]},
        ]},
        {"code": "D2", "children": [{"code": "c", "type": "ratio", "target": {"value": 3, "basis": "rank"}}]},
    ]},
    "units": ["BJ", "SH"],
    "reference_units": ["CN", "BJ"],
}
FLAG_WORDS = ["observed", "estimate", "provisional", "proxy", "forecast", "illustrative",
              "观测", "估计", "初步", "代理", "预测", "示例"]


@pytest.fixture
def spec() -> ie.Spec:
    return ie.spec_from_dict(SPEC, "t.yaml")


def sheet_rows(path, name: str) -> list[list]:
    wb = load_workbook(path, read_only=True)
    try:
        return [list(r) for r in wb[name].iter_rows(values_only=True)]
    finally:
        wb.close()


# ---- parse_years -----------------------------------------------------------------------------------

def test_a_range_gives_every_year_in_it():
    assert parse_years("2019-2021") == [2019, 2020, 2021]
    assert parse_years(" 2019 - 2020 ") == [2019, 2020]
    assert parse_years("2024-2024") == [2024]


def test_a_list_gives_its_years_sorted_once_each():
    assert parse_years("2025, 2023,2025") == [2023, 2025]
    assert parse_years("2023") == [2023]


def test_a_range_may_span_at_most_200_years():
    assert len(parse_years("2000-2199")) == 200
    with pytest.raises(ie.SpecError, match=r"--years '2000-2200': write a range such as 2019-2025"):
        parse_years("2000-2200")


@pytest.mark.parametrize("text", ["2025-2019", "19-25", "2019;2020", "2019..2021", "", "last year"])
def test_anything_else_is_an_error_naming_the_option(text):
    message = rf"^--years {text!r}: write a range such as 2019-2025 or a list such as 2023,2025$"
    with pytest.raises(ie.SpecError, match=message):
        parse_years(text)


# ---- template_sheets -------------------------------------------------------------------------------

def test_the_entry_sheet_has_a_row_per_unit_indicator_and_year(spec):
    data = template_sheets(spec, ["BJ", "SH"], {"BJ": "北京"}, [2023, 2024])["data"]
    assert list(data.columns) == ENTRY_COLUMNS == ["unit", "unit_name", "period", "indicator", "value", "flag",
                                                  "source", "vintage", "note", "break"]
    want = [(u, y, i) for u in ("BJ", "SH") for i in ("a", "b", "c") for y in (2023, 2024)]
    assert list(zip(data["unit"], data["period"], data["indicator"])) == want
    assert data["unit_name"].tolist() == ["北京"] * 6 + [""] * 6
    assert data[ENTRY_COLUMNS[4:]].isna().all().all()


def test_the_indicators_sheet_describes_each_indicator(spec):
    ind = template_sheets(spec, ["BJ"], {}, [2023, 2024, 2025])["indicators"].set_index("code")
    assert list(ind.index) == ["a", "b", "c"]
    assert ind.loc["a"].to_dict() == {
        "name_zh": "研发投入", "name_en": "R&D", "dimension": "D1", "unit": "亿元", "type": "flow",
        "sub_annual_rule": "sum", "definition (口径)": "全社会研发经费", "source": "统计年鉴", "direction": -1,
        "target": "2.5 by 2027 (level)",
        "periods wanted": "2023-2025 annual; monthly or quarterly rows become annual by 'sum'",
    }
    assert ind["dimension"].tolist() == ["D1", "D1", "D2"]  # b sits under S, within D1
    assert ind["sub_annual_rule"].tolist() == ["sum", "mean", "last"]  # flow; aggregate_periods; any other type
    assert ind.loc["c", "target"] == "3 (rank)" and ind.loc["b", "target"] == ""
    assert ind.loc["b", ["unit", "source", "definition (口径)"]].tolist() == ["", "", ""]
    assert ind["direction"].tolist() == [-1, 1, 1]


@pytest.mark.parametrize("years, text", [([2023, 2025], "2023,2025"), ([2024], "2024"), ([2020, 2021], "2020-2021")])
def test_the_periods_wanted_are_a_range_only_when_the_years_follow_each_other(spec, years, text):
    ind = template_sheets(spec, ["BJ"], {}, years)["indicators"]
    assert ind.loc[2, "periods wanted"] == f"{text} annual; monthly or quarterly rows become annual by 'last'"


def test_the_lists_sheet_offers_the_units_indicators_and_every_flag_word(spec):
    lists = template_sheets(spec, ["BJ", "SH"], {}, [2024])["lists"]
    assert list(lists.columns) == ["unit", "indicator", "flag"] and len(lists) == len(FLAG_WORDS)
    assert lists["flag"].tolist() == FLAG_WORDS
    assert lists["unit"].dropna().tolist() == ["BJ", "SH"] and lists["indicator"].dropna().tolist() == ["a", "b", "c"]
    assert lists["unit"].iloc[2:].isna().all()


def test_the_guide_is_in_chinese_and_english(spec):
    guide = template_sheets(spec, [], {}, [2024])["说明"]
    assert list(guide.columns) == ["说明", "guide"] and len(guide) == 7
    assert guide["guide"].iloc[-1] == "To check the filled workbook: index-engine validate SPEC.yaml --data this.xlsx"
    assert guide["说明"].str.len().gt(0).all() and guide["guide"].str.len().gt(0).all()


def test_beyond_max_rows_the_entry_sheet_and_the_unit_list_are_left_empty(spec, monkeypatch):
    monkeypatch.setattr(template, "MAX_ROWS", 2 * 3 * 2)
    assert len(template_sheets(spec, ["BJ", "SH"], {}, [2023, 2024])["data"]) == 12
    sheets = template_sheets(spec, ["BJ", "SH", "GZ"], {}, [2023, 2024])
    assert sheets["data"].empty and list(sheets["data"].columns) == ENTRY_COLUMNS
    assert sheets["lists"]["unit"].isna().all() and sheets["lists"]["indicator"].dropna().tolist() == ["a", "b", "c"]
    assert list_ranges(sheets) == {"data": {"indicator": "'lists'!$B$2:$B$4", "flag": "'lists'!$C$2:$C$13"}}


def test_each_list_range_covers_its_entries_from_row_two(spec):
    sheets = template_sheets(spec, ["BJ", "SH"], {}, [2024])
    assert list_ranges(sheets) == {"data": {"unit": "'lists'!$A$2:$A$3", "indicator": "'lists'!$B$2:$B$4",
                                            "flag": f"'lists'!$C$2:$C${len(FLAG_WORDS) + 1}"}}


# ---- write_template --------------------------------------------------------------------------------

def test_without_data_the_units_are_the_specs_and_the_year_the_last_one(spec, tmp_path):
    out = tmp_path / "sub" / "collect.xlsx"
    last = dt.date.today().year - 1
    assert write_template(spec, out) == {"units": 3, "indicators": 3, "years": [last], "rows": 9}
    rows = sheet_rows(out, "data")
    assert rows[0] == ENTRY_COLUMNS
    assert [(r[0], r[2], r[3]) for r in rows[1:]] == [(u, last, i) for u in ("BJ", "SH", "CN") for i in "abc"]
    assert [r[0] for r in sheet_rows(out, "lists")[1:4]] == ["BJ", "SH", "CN"]
    wb = load_workbook(out, read_only=True)
    assert wb.properties.title == "测试指数: data collection"
    wb.close()


def test_the_data_given_names_the_units_and_years(spec, tmp_path):
    data = tmp_path / "known.csv"
    text = "unit,unit_name,year,a,b,c\nGZ,广州,2021,1,2,3\nSZ,SZ,2021,1,2,3\nGZ,广州,2022,1,2,3\nSZ,SZ,2022,1,2,3\n"
    data.write_bytes(text.encode("gbk"))
    out = tmp_path / "c.xlsx"
    assert write_template(spec, out, data=data) == {"units": 2, "indicators": 3, "years": [2021, 2022], "rows": 12}
    rows = sheet_rows(out, "data")[1:]
    assert [(r[0], r[1]) for r in rows[::6]] == [("GZ", "广州"), ("SZ", None)]  # a name that is the code is left out
    assert sorted({r[2] for r in rows}) == [2021, 2022]
    assert write_template(spec, tmp_path / "y.xlsx", data=data, years=[2025])["years"] == [2025]


def test_the_specs_own_data_file_is_read_when_it_can_be(spec, tmp_path):
    (tmp_path / "d.csv").write_text("unit,year,a,b,c\nXA,2020,1,2,3\n", encoding="utf-8")
    s = ie.spec_from_dict({**SPEC, "data": {"file": "d.csv"}}, "t.yaml", base_dir=tmp_path)
    assert write_template(s, tmp_path / "a.xlsx") == {"units": 1, "indicators": 3, "years": [2020], "rows": 3}
    (tmp_path / "d.csv").write_text("unit;year;a;b;c\nXA;2020;1;2;3\n", encoding="utf-8")
    assert write_template(s, tmp_path / "b.xlsx", years=[2024])["units"] == 3  # unreadable: the spec's units


def test_data_given_that_cannot_be_read_is_an_error_naming_it(spec, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("unit;year;a\nGZ;2021;1,5\n", encoding="utf-8")
    with pytest.raises(ie.DataError, match=r"bad\.csv: line 1: the file looks ';'-separated"):
        write_template(spec, tmp_path / "c.xlsx", data=bad)
    assert not (tmp_path / "c.xlsx").exists()


def test_only_an_xlsx_name_is_accepted(spec, tmp_path):
    with pytest.raises(ie.SpecError, match=r"c\.xls: the template is an \.xlsx workbook; give a name ending in \.xlsx"):
        write_template(spec, tmp_path / "c.xls")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_workbook_is_replaced_only_with_force(spec, tmp_path):
    out = tmp_path / "c.xlsx"
    out.write_bytes(b"old")
    with pytest.raises(ie.OutputExistsError, match=r"c\.xlsx: the file exists already; pass --force to replace it"):
        write_template(spec, out, years=[2024])
    assert out.read_bytes() == b"old"
    write_template(spec, out, years=[2024], force=True)
    assert sheet_rows(out, "data")[1][:4] == ["BJ", None, 2024, "a"]


def test_a_failed_write_leaves_the_old_workbook_and_no_temporary_file(spec, tmp_path, monkeypatch):
    out = tmp_path / "c.xlsx"
    out.write_bytes(b"old")

    def broken(sheets, path, **kw):
        with open(path, "wb") as f:
            f.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(template, "write_xlsx", broken)
    with pytest.raises(OSError, match="disk full"):
        write_template(spec, out, years=[2024], force=True)
    assert out.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["c.xlsx"]
