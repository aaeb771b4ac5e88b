"""index_engine.xlsx: workbooks it writes read back in openpyxl with their sheets, values, layout and lists."""

from __future__ import annotations

import io
import re
import zipfile

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.escape import unescape

from index_engine import xlsx
from index_engine.xlsx import MAX_TEXT, MAX_WIDTH, WIDTH_SAMPLE, column_letter, display_width, sheet_name, write_xlsx


def written(sheets: dict[str, pd.DataFrame], **options) -> io.BytesIO:
    buf = io.BytesIO()
    write_xlsx(sheets, buf, **options)
    buf.seek(0)
    return buf


def part(buf: io.BytesIO, name: str) -> str:
    with zipfile.ZipFile(buf) as zf:
        return zf.read(name).decode("utf-8")


def rows_of(ws) -> list[tuple]:
    return list(ws.iter_rows(values_only=True))


def test_sheets_keep_their_order_and_the_first_is_the_one_shown(tmp_path):
    sheets = {"说明": pd.DataFrame({"a": [1]}), "scores": pd.DataFrame({"b": [2]}), "z": pd.DataFrame({"c": [3]})}
    path = tmp_path / "book.xlsx"
    write_xlsx(sheets, path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["说明", "scores", "z"]
    assert wb.active.title == "说明"
    assert [bool(ws.sheet_view.tabSelected) for ws in wb.worksheets] == [True, False, False]


def test_text_numbers_and_booleans_read_back_as_written():
    frame = pd.DataFrame({
        "text": ["BJ", "北京市", " pad ", "a&b<c>\"d'"],
        "int": [0, -7, 2**40, 2**53 + 1],
        "float": [61.5, 0.1 + 0.2, -1e-300, 1.7976931348623157e308],
        "bool": [True, False, True, False],
    })  # fmt: skip
    wb = load_workbook(written({"t": frame}))
    assert rows_of(wb["t"]) == [("text", "int", "float", "bool"), *frame.itertuples(index=False, name=None)]
    assert [type(v) for v in rows_of(wb["t"])[2]] == [str, int, float, bool]


def test_numbers_are_written_in_their_shortest_exact_form():
    shortest = {0.1 + 0.2: "0.30000000000000004", 1 / 3: "0.3333333333333333", 1e-300: "1e-300", 2.5: "2.5"}
    buf = written({"t": pd.DataFrame({"x": list(shortest)})})
    sheet = part(buf, "xl/worksheets/sheet1.xml")
    assert re.findall(r'<c r="A\d+"><v>(.*?)</v>', sheet) == list(shortest.values())
    assert [r[0] for r in rows_of(load_workbook(buf)["t"])[1:]] == list(shortest)


def test_nan_none_na_nat_and_empty_text_leave_the_cell_empty():
    frame = pd.DataFrame({
        "x": [np.nan, 1.0, np.nan],
        "obj": [None, "", pd.NA],
        "when": [pd.NaT, pd.NaT, pd.NaT],
        "keep": ["a", "b", "c"],
    })  # fmt: skip
    buf = written({"t": frame})
    assert rows_of(load_workbook(buf)["t"])[1:] == [
        (None, None, None, "a"), (1.0, None, None, "b"), (None, None, None, "c")]
    sheet = part(buf, "xl/worksheets/sheet1.xml")
    assert '<c r="A2"' not in sheet and '<c r="B3"' not in sheet and '<c r="C4"' not in sheet


def test_numpy_scalars_in_an_object_column_are_numbers():
    frame = pd.DataFrame({"mixed": pd.Series([np.int64(3), np.float32(0.5), np.bool_(True), "x"], dtype=object)})
    ws = load_workbook(written({"t": frame}))["t"]
    assert [r[0] for r in rows_of(ws)[1:]] == [3, 0.5, True, "x"]
    assert [ws.cell(row=r, column=1).data_type for r in range(2, 6)] == ["n", "n", "b", "s"]


def test_infinities_are_written_as_text():
    ws = load_workbook(written({"t": pd.DataFrame({"x": [np.inf, -np.inf, 2.0]})}))["t"]
    assert [r[0] for r in rows_of(ws)[1:]] == ["inf", "-inf", 2.0]
    assert ws["A2"].data_type == "s" and ws["A4"].data_type == "n"


@pytest.mark.parametrize("text", ["=1+1", "=SUM(A1:A2)", "+1", "-1", "@cmd", "=HYPERLINK(\"http://x\")"])
def test_formula_like_text_is_stored_as_text_not_as_a_formula(text):
    buf = written({"t": pd.DataFrame({"unit": [text]})})
    ws = load_workbook(buf)["t"]
    assert ws["A2"].value == text and ws["A2"].data_type == "s"
    sheet = part(buf, "xl/worksheets/sheet1.xml")
    assert "<f>" not in sheet and 't="inlineStr"' in sheet


def inline_texts(buf: io.BytesIO) -> list[str]:
    """The texts of the first sheet's body cells as stored, before a reader undoes the _xHHHH_ escapes."""
    sheet = part(buf, "xl/worksheets/sheet1.xml")
    return re.findall(r'<c r="A\d+" t="inlineStr"><is><t xml:space="preserve">(.*?)</t>', sheet, re.S)


def test_characters_xml_cannot_hold_are_escaped_as_ooxml_reads_them():
    """ECMA-376 Part 1 §22.9.2.19 (ST_Xstring): a character XML cannot hold is written _xHHHH_."""
    texts = ["a\x01b", "\x00\x08\x0b\x0c\x1f", "tab\tand\nline"]
    stored = inline_texts(written({"t": pd.DataFrame({"text": texts})}))
    assert stored == ["a_x0001_b", "_x0000__x0008__x000B__x000C__x001F_", "tab\tand\nline"]
    assert [unescape(s) for s in stored] == texts


def test_text_that_looks_like_an_escape_reads_back_as_written():
    """An underscore that would start an _xHHHH_ escape is itself escaped, as _x005F_ (ECMA-376 ST_Xstring)."""
    texts = ["_x0041_", "a_x000D_b"]
    stored = inline_texts(written({"t": pd.DataFrame({"text": texts})}))
    assert [unescape(s) for s in stored] == texts


def test_text_of_the_cell_limit_is_kept_whole_and_longer_text_is_cut_with_an_ellipsis():
    whole, longer = "a" * MAX_TEXT, "北" * (MAX_TEXT - 1) + "xy"
    ws = load_workbook(written({"t": pd.DataFrame({"text": [whole, longer]})}))["t"]
    assert ws["A2"].value == whole
    assert len(ws["A3"].value) == 32_767 and ws["A3"].value == "北" * (MAX_TEXT - 1) + "…"


def test_the_header_is_bold_and_frozen_and_the_body_is_not_bold():
    wb = load_workbook(written({"a": pd.DataFrame({"x": [1], "y": ["u"]}), "b": pd.DataFrame({"z": [2.0]})}))
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert all(c.font.b for c in ws[1]), ws.title
        assert not any(c.font.b for c in ws[2]), ws.title


def test_east_asian_wide_characters_count_twice_in_a_columns_width():
    frame = pd.DataFrame({"h": ["北京北京北京"], "i": ["abcdefghijkl"], "j": ["abcdef"], "k": ["ｱｲｳｴｵｶ"]})
    widths = load_workbook(written({"t": frame}))["t"].column_dimensions
    assert widths["A"].width == widths["B"].width > widths["C"].width
    assert widths["D"].width == widths["C"].width  # half-width katakana count once


def test_a_long_header_widens_its_column_and_widths_stop_at_the_maximum():
    frame = pd.DataFrame({"a_rather_long_header": [1], "b": [1], "c": ["x" * 500]})
    widths = load_workbook(written({"t": frame}))["t"].column_dimensions
    assert widths["A"].width > widths["B"].width
    assert widths["A"].width >= len("a_rather_long_header")
    assert widths["C"].width == MAX_WIDTH


def test_only_the_first_rows_set_a_columns_width():
    short = ["x"] * WIDTH_SAMPLE
    frame = pd.DataFrame({"late": short + ["y" * 40], "early": ["y" * 40] + short})
    widths = load_workbook(written({"t": frame}))["t"].column_dimensions
    plain = load_workbook(written({"t": pd.DataFrame({"late": short})}))["t"].column_dimensions
    assert widths["A"].width == plain["A"].width < widths["B"].width


def test_text_wider_than_its_column_wraps_and_short_text_does_not():
    frame = pd.DataFrame({"note": ["short", "word " * 40]})
    ws = load_workbook(written({"t": frame}))["t"]
    assert ws.column_dimensions["A"].width == MAX_WIDTH
    assert not ws["A2"].alignment.wrap_text and ws["A3"].alignment.wrap_text


def test_the_same_tables_give_the_same_bytes_with_fixed_times_and_no_dates(tmp_path):
    sheets = {"t": pd.DataFrame({"unit": ["BJ", "SH"], "x": [1.5, np.nan]}), "u": pd.DataFrame({"y": ["北京"]})}
    write_xlsx(sheets, tmp_path / "a.xlsx", title="Index")
    write_xlsx(sheets, str(tmp_path / "b.xlsx"), title="Index")
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.xlsx") as zf:
        infos = zf.infolist()
        core = zf.read("docProps/core.xml").decode()
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o644}
    assert "created" not in core and "modified" not in core


def test_the_title_becomes_the_documents_title_property():
    wb = load_workbook(written({"t": pd.DataFrame({"a": [1]})}, title="Tiny index & 小指数 <2024>"))
    assert wb.properties.title == "Tiny index & 小指数 <2024>"
    assert wb.properties.creator == "index_engine"


def test_a_column_gets_a_drop_down_list_of_allowed_values_over_the_validation_rows():
    sheets = {"data": pd.DataFrame({"unit": ["BJ", "SH"], "flag": ["A", "E"]}),
              "lists": pd.DataFrame({"flag": ["A", "E"]})}
    source = "'lists'!$A$2:$A$3"
    wb = load_workbook(written(sheets, lists={"data": {"flag": source}}))
    (validation,) = wb["data"].data_validations.dataValidation
    assert validation.type == "list" and validation.formula1 == source
    assert str(validation.sqref) == f"B2:B{xlsx.VALIDATION_ROWS + 1}"
    assert validation.allow_blank and validation.showErrorMessage and validation.errorStyle == "stop"
    assert not wb["lists"].data_validations.dataValidation


def test_a_drop_down_list_covers_every_row_of_a_table_longer_than_the_validation_rows(monkeypatch):
    monkeypatch.setattr(xlsx, "VALIDATION_ROWS", 3)
    frame = pd.DataFrame({"flag": ["A"] * 5})
    wb = load_workbook(written({"data": frame}, lists={"data": {"flag": "$Z$1:$Z$2"}}))
    assert str(wb["data"].data_validations.dataValidation[0].sqref) == "A2:A6"


def test_a_list_for_a_column_the_sheet_lacks_is_refused():
    with pytest.raises(ValueError, match=r"no column 'flag' to validate \(columns are \['unit'\]\)"):
        write_xlsx({"data": pd.DataFrame({"unit": ["BJ"]})}, io.BytesIO(), lists={"data": {"flag": "$A$1:$A$2"}})


def test_sheet_names_are_made_valid_in_the_workbook():
    wb = load_workbook(written({"a/b": pd.DataFrame({"x": [1]}), "'quoted'": pd.DataFrame({"x": [2]}),
                                "": pd.DataFrame({"x": [3]}), "y" * 40: pd.DataFrame({"x": [4]})}))
    assert wb.sheetnames == ["a_b", "quoted", "sheet", "y" * 31]


def test_names_that_become_the_same_once_made_valid_are_refused():
    with pytest.raises(ValueError, match=r"two sheets named 'a_b' \(from 'a/b' and 'a:b'\)"):
        write_xlsx({"a/b": pd.DataFrame({"x": [1]}), "a:b": pd.DataFrame({"x": [2]})}, io.BytesIO())


def test_a_sheet_of_only_a_header_and_a_sheet_of_nothing_read_back_empty():
    wb = load_workbook(written({"head": pd.DataFrame(columns=["a", "b"]), "none": pd.DataFrame()}))
    assert rows_of(wb["head"]) == [("a", "b")]
    assert rows_of(wb["none"]) == []


def test_column_letters_are_the_ones_openpyxl_uses_for_every_excel_column():
    assert [column_letter(j) for j in range(16_384)] == [get_column_letter(j + 1) for j in range(16_384)]


@pytest.mark.parametrize("value, width", [
    ("abc", 3), ("北京", 4), ("Ａ", 2), ("ｱ", 1), ("é", 1), ("北京ab", 6), (None, 0), (float("nan"), 0),
    (pd.NA, 0), (12.5, 4), (1000, 4),
])
def test_display_width_counts_east_asian_wide_and_full_width_characters_twice(value, width):
    assert display_width(value) == width


def test_sheet_name_replaces_forbidden_characters_strips_quotes_and_is_never_blank():
    assert sheet_name("a[b]c:d*e?f/g\\h") == "a_b_c_d_e_f_g_h"
    assert sheet_name("'x'") == "x" and sheet_name("''") == "sheet" and sheet_name("") == "sheet"
    assert sheet_name("z" * 31) == "z" * 31 and sheet_name("z" * 32) == "z" * 31
