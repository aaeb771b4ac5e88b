"""index_engine._checks: the text-encoding rule of decode_text, lists of offending rows, Excel's skewness and kurtosis."""

from __future__ import annotations

import codecs
import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from index_engine._checks import (
    CHINESE_RARE_SHARE,
    NO_YEAR,
    bad_rows_error,
    decode_text,
    kurt_excel,
    list_rows,
    skew_excel,
)
from index_engine.errors import DataError, EncodingGuessWarning, SpecError


def decode(raw: bytes, error: type = DataError) -> str:
    """``decode_text`` of a data file, where any warning fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return decode_text(raw, "d.csv", "data", error)


def decode_guessing(raw: bytes) -> str:
    """``decode_text`` of a data file that must come with an EncodingGuessWarning."""
    with pytest.warns(EncodingGuessWarning):
        return decode_text(raw, "d.csv", "data", DataError)


# ---- decode_text: UTF-8 ----------------------------------------------------------------------
def test_utf8_text_is_returned_as_it_is():
    assert decode("unit,name\nBJ,北京\nZH,Zürich\n".encode("utf-8")) == "unit,name\nBJ,北京\nZH,Zürich\n"


def test_a_utf8_byte_order_mark_is_dropped():
    assert decode(codecs.BOM_UTF8 + "unit\n北京\n".encode("utf-8")) == "unit\n北京\n"


def test_plain_ascii_and_an_empty_file_read_without_a_guess():
    assert decode(b"a,b\r\n1,2\r\n") == "a,b\r\n1,2\r\n"
    assert decode(b"") == ""
    assert decode(codecs.BOM_UTF8) == ""


# ---- decode_text: GBK and GB18030 -------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["gbk", "gb2312", "gb18030"])
def test_chinese_text_in_a_gb_encoding_reads_without_a_warning(encoding):
    text = "unit,name\nBJ,北京市\nSH,上海市（浦东）\n"
    assert decode(text.encode(encoding)) == text


def test_gb18030_four_byte_characters_read_among_common_ones():
    """U+20000 is GB18030's four-byte form; with eight common hanzi it is 1 rare character in 9."""
    text = "name\n北京市海淀区中关村𠀀\n"
    raw = text.encode("gb18030")
    assert b"\x95\x32\x82\x36" in raw
    assert decode(raw) == text


def test_gbk_behind_a_utf8_byte_order_mark_reads_as_gbk():
    assert decode(codecs.BOM_UTF8 + "单位,名称\n京,北京\n".encode("gbk")) == "单位,名称\n京,北京\n"


def test_text_reads_as_chinese_up_to_the_rare_share_and_no_further():
    """堃 is in GBK but not GB2312: 1 of 5 characters (0.2) is Chinese, 1 of 4 (0.25) is not, and its
    eight bytes in one run cannot be Western either."""
    assert CHINESE_RARE_SHARE == 0.2
    assert decode("北京北京堃".encode("gbk")) == "北京北京堃"
    message = "d.csv: line 1: cannot tell the text encoding: not UTF-8; as GBK/GB18030 it reads '北京北堃'"
    with pytest.raises(DataError, match=f"^{re.escape(message)}"):
        decode_text("北京北堃".encode("gbk"), "d.csv", "data", DataError)


# ---- decode_text: Latin-1 and Windows-1252 -------------------------------------------------------
def test_latin1_that_is_also_valid_gb18030_is_not_taken_for_chinese():
    """Zürich in Latin-1 reads as Z黵ich in GB18030, a rare hanzi: the rule takes it for Western text."""
    raw = "unit,name\nZH,Zürich\n".encode("latin-1")
    assert raw.decode("gb18030") == "unit,name\nZH,Z黵ich\n"
    with pytest.warns(EncodingGuessWarning) as record:
        text = decode_text(raw, "d.csv", "data", DataError)
    assert text == "unit,name\nZH,Zürich\n"
    assert [str(w.message) for w in record] == [
        "d.csv: not UTF-8 or GBK/GB18030 text; read as Windows-1252 (Western European), "
        "line 2 reads 'ZH,Zürich'; save the file as UTF-8 to be sure"
    ]


def test_the_windows_1252_guess_reads_its_own_characters_and_names_the_first_line_that_is_not_utf8():
    raw = "unit,name\nA,plain\nB,naïve café €5\r\nC,Genève\n".encode("cp1252")
    message = r"^f\.txt: .*line 3 reads 'B,naïve café €5'; save the file as UTF-8 to be sure$"
    with pytest.warns(EncodingGuessWarning, match=message):
        text = decode_text(raw, "f.txt", "data", DataError)
    assert text == "unit,name\nA,plain\nB,naïve café €5\r\nC,Genève\n"


def test_the_guess_warning_points_at_the_caller():
    with pytest.warns(EncodingGuessWarning) as record:
        decode_text("Zürich".encode("latin-1"), "d.csv", "data", DataError)
    assert record[0].filename == __file__


def test_a_run_of_four_accented_characters_is_not_taken_for_western_text():
    """Every run of non-ASCII characters must be at most 3 long; ÿÿÿÿ is not a GB18030 sequence either."""
    raw = b"ok\nbad \xff\xff\xff\xff\n"
    expected = (
        "d.csv: line 2: cannot tell the text encoding: not UTF-8; as GBK/GB18030 it reads 'bad \ufffd\ufffd\ufffd\ufffd'; "
        "as Windows-1252 (Latin-1) it reads 'bad ÿÿÿÿ'; save the file as UTF-8"
    )
    with pytest.raises(DataError, match=f"^{re.escape(expected)}$"):
        decode(raw)


def test_western_text_needs_letters_in_half_its_non_ascii_characters():
    """« » ° are symbols: 1 letter in 4 non-ASCII characters is not Western, 3 in 6 is."""
    raw = "x\n«é» 5°\n".encode("cp1252")
    with pytest.raises(DataError, match=r"^d\.csv: line 2: cannot tell the text encoding"):
        decode(raw)
    assert decode_guessing("x\n«é» éé°\n".encode("cp1252")) == "x\n«é» éé°\n"



# ---- decode_text: refusals -------------------------------------------------------------------
@pytest.mark.parametrize("raw, detail", [
    (b"a,b\n1,\x002\n", "(a NUL byte at offset 6)"),
    (b"\x00", "(a NUL byte at offset 0)"),
    ("ab".encode("utf-16-le"), "(a NUL byte at offset 1)"),
    (codecs.BOM_UTF16_LE + "ab".encode("utf-16-le"), "(a NUL byte at offset 3; it is UTF-16 text: save it as UTF-8)"),
    (codecs.BOM_UTF16_BE + "ab".encode("utf-16-be"), "(a NUL byte at offset 2; it is UTF-16 text: save it as UTF-8)"),
    (codecs.BOM_UTF8 + b"ok\x00", "(a NUL byte at offset 5)"),
], ids=["nul", "nul-first", "utf16-no-bom", "utf16-le", "utf16-be", "after-utf8-bom"])
def test_a_nul_byte_is_not_text_and_its_offset_is_named(raw, detail):
    with pytest.raises(DataError, match=f"^{re.escape('d.csv: not a text data file ' + detail)}$"):
        decode(raw)


def test_the_refusal_is_of_the_class_asked_for_and_names_what_the_file_is():
    with pytest.raises(SpecError, match=r"^x\.yaml: not a text YAML file \(a NUL byte at offset 0\)$"):
        decode_text(b"\x00", "x.yaml", "YAML", SpecError)
    with pytest.raises(SpecError, match=r"^x\.yaml: line 1: cannot tell the text encoding"):
        decode_text(b"\xff\xff\xff\xff", "x.yaml", "YAML", SpecError)


def test_the_error_names_the_first_line_that_is_not_utf8_without_its_line_end():
    raw = "line one\nline two 北京\r\n".encode("utf-8") + b"third \xff\xff\xff\xff\r\nfourth \xfe\xfe\xfe\xfe\n"
    with pytest.raises(DataError, match=r"^d\.csv: line 3: .*as Windows-1252 \(Latin-1\) it reads 'third ÿÿÿÿ';"):
        decode(raw)


def test_the_line_in_the_error_is_cut_at_200_bytes():
    raw = b"x" * 250 + b"\xff\xff\xff\xff"
    with pytest.raises(DataError) as exc:
        decode(raw)
    assert f"it reads '{'x' * 200}'; " in str(exc.value) and "x" * 201 not in str(exc.value)


def test_only_the_first_2000_runs_of_non_ascii_characters_decide():
    """2,000 common hanzi, then 1,000 rare ones (more than the rare share of the whole): read as Chinese."""
    text = " ".join(["北"] * 2000 + ["堃"] * 1000)
    assert decode(text.encode("gbk")) == text


# ---- list_rows and bad_rows_error ------------------------------------------------------------
def test_list_rows_shows_every_label_up_to_the_limit():
    assert list_rows(["a", "b", 3]) == "a, b, 3"
    assert list_rows(["a", "b", "c", "d", "e"]) == "a, b, c, d, e"
    assert list_rows([]) == ""


def test_list_rows_shows_the_first_ones_and_how_many_there_are():
    assert list_rows("abcdefg") == "a, b, c, d, e, ... (7 in all)"
    assert list_rows(range(10), limit=2) == "0, 1, ... (10 in all)"


def test_list_rows_counts_the_total_given_rather_than_the_labels():
    assert list_rows(["a", "b"], total=40) == "a, b, ... (40 in all)"
    assert list_rows(["a", "b"], total=5) == "a, b"


def test_list_rows_writes_unit_and_year_and_leaves_out_the_year_of_a_one_period_index():
    assert NO_YEAR == 0
    assert list_rows([("U1", 2020), ("U2", NO_YEAR), ("U3",), ("U4", None)]) == "U1 2020, U2, U3, U4"


def test_bad_rows_error_names_the_rows_and_their_values():
    idx = pd.MultiIndex.from_tuples([("U1", 2020), ("U2", 2020), ("U3", NO_YEAR)], names=["unit", "year"])
    x = pd.Series([1.5, 2.0, -1e-7], index=idx)
    err = bad_rows_error(x, np.array([True, False, True]), "negative values")
    assert isinstance(err, DataError)
    assert str(err) == "negative values: U1 2020 (1.5), U3 (-1e-07)"


def test_bad_rows_error_shows_five_rows_and_counts_them_all():
    idx = pd.MultiIndex.from_tuples([(f"U{i}", 2021) for i in range(7)], names=["unit", "year"])
    x = pd.Series(np.arange(7.0), index=idx)
    err = bad_rows_error(x, x.to_numpy() >= 0, "zero or more")
    assert str(err) == "zero or more: U0 2021 (0), U1 2021 (1), U2 2021 (2), U3 2021 (3), U4 2021 (4), ... (7 in all)"


# ---- skewness and kurtosis ---------------------------------------------------------------------
def test_skew_excel_matches_excel_skew():
    """x = 1, 2, 3, 10: mean 4, Σd² = 50, Σd³ = 180, g1 = 2·180/50^1.5, G1 = g1·√12/2 (Excel SKEW 1.76363)."""
    expected = (2 * 180 / 50**1.5) * math.sqrt(12) / 2
    assert skew_excel(np.array([1.0, 2.0, 3.0, 10.0])) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(1.763632615, rel=1e-9)
    assert skew_excel(np.array([1.0, 2.0, 3.0])) == pytest.approx(0.0, abs=1e-15)


def test_kurt_excel_matches_excel_kurt():
    """x = 1, 2, 3, 4: Σd² = 5, Σd⁴ = 10.25, r = 4·10.25/25 = 1.64, G2 = (5·(−1.36)+6)·3/(2·1) = −1.2."""
    assert kurt_excel(np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(-1.2, rel=1e-12)
    x = np.array([2.0, 3.0, 3.5, 4.0, 9.0, 15.0])
    assert kurt_excel(x) == pytest.approx(pd.Series(x).kurt(), rel=1e-12)
    assert skew_excel(x) == pytest.approx(pd.Series(x).skew(), rel=1e-12)


def test_skewness_and_kurtosis_drop_missing_values_and_need_enough_of_the_rest():
    assert skew_excel(np.array([1.0, np.nan, 2.0, 3.0, 10.0])) == pytest.approx(skew_excel(np.array([1.0, 2.0, 3.0, 10.0])))
    assert math.isnan(skew_excel(np.array([1.0, 2.0, np.nan])))
    assert math.isnan(kurt_excel(np.array([1.0, 2.0, 3.0, np.nan])))
    assert not math.isnan(kurt_excel(np.array([1.0, 2.0, 3.0, 5.0])))


def test_skewness_and_kurtosis_of_a_constant_are_missing():
    assert math.isnan(skew_excel(np.full(5, 7.0)))
    assert math.isnan(kurt_excel(np.full(5, 7.0)))
