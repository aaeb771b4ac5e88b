"""Reading indicator data: layouts, encodings, Excel, and errors that name file, row and column."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

import index_engine as ie

from .conftest import ROOT, tiny_frame

LONG = "unit,year,indicator,value\n" + "".join(
    f"{u},{y},{i},{v}\n" for u in ("U1", "U2", "U3") for y in (2020, 2021) for i, v in zip("abcd", (1, 2, 3, 4))
)


def write(tmp_path, text, name="d.csv", encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_long_and_wide_give_the_same_panel(tmp_path, tiny_spec):
    wide = tiny_frame()
    wp = tmp_path / "w.csv"
    wide.to_csv(wp, index=False)
    long = wide.melt(id_vars=["unit", "year"], var_name="indicator", value_name="value")
    lp = tmp_path / "l.csv"
    long.to_csv(lp, index=False)
    a, b = ie.load_panel(wp, tiny_spec), ie.load_panel(lp, tiny_spec)
    pd.testing.assert_frame_equal(a.values[list("abcd")], b.values[list("abcd")])
    assert a.units == ["U1", "U2", "U3"] and a.years == [2020, 2021]


def test_gbk_and_bom_files_just_work(tmp_path):
    text = "unit,unit_name,indicator,value\nBJ,北京,x,1.5\nSH,上海,x,2.5\n"
    for enc, name in (("gbk", "gbk.csv"), ("gb18030", "gb.csv"), ("utf-8-sig", "bom.csv")):
        p = ie.load_panel(write(tmp_path, text, name, enc))
        assert p.unit_names() == {"BJ": "北京", "SH": "上海"}
        assert list(p.values["x"]) == [1.5, 2.5]


def test_excel_sheet(tmp_path, tiny_spec):
    p = tmp_path / "d.xlsx"
    with pd.ExcelWriter(p) as xw:
        pd.DataFrame({"note": ["cover"]}).to_excel(xw, sheet_name="cover", index=False)
        tiny_frame().to_excel(xw, sheet_name="data", index=False)
    panel = ie.load_panel(p, tiny_spec, sheet="data")
    assert panel.values.loc[("U2", 2021), "d"] == 250
    with pytest.raises(ie.DataError, match=r"d.xlsx: no sheet 'nope'; the sheets are 'cover', 'data'"):
        ie.load_panel(p, tiny_spec, sheet="nope")


def test_broken_excel_file(tmp_path):
    p = write(tmp_path, "not a workbook", "bad.xlsx")
    with pytest.raises(ie.DataError, match="bad.xlsx: not a readable .xlsx workbook"):
        ie.load_panel(p)


def test_parquet(tmp_path, tiny_spec):
    p = tmp_path / "d.parquet"
    tiny_frame().to_parquet(p)
    assert ie.load_panel(p, tiny_spec).values.loc[("U3", 2020), "c"] == 30


def test_parquet_read_in_groups_of_columns_is_the_file(tmp_path, monkeypatch):
    from index_engine import panel, readahead

    monkeypatch.setattr(readahead, "PARQUET_COLUMNS_AT_ONCE", 3)
    wide = tiny_frame().assign(**{f"x{i}": np.arange(6.0) for i in range(20)}, e=[1.0, np.nan, 3, 4, 5, 6])
    for name, frame, index in (("plain", wide, False), ("ranged", wide.iloc[1:], None), ("indexed", wide.set_index("unit"), None)):
        p = tmp_path / f"{name}.parquet"
        frame.to_parquet(p, index=index)
        expect = pd.read_parquet(p)
        got = panel._read_parquet(p, str(p))
        pd.testing.assert_frame_equal(got, expect)
        assert len(got._mgr.blocks) == got.shape[1]  # a block per column, as the reading made them


def test_side_by_side_joins_columns_without_copying_them():
    from index_engine.panel import side_by_side

    parts = [pd.DataFrame({"a": np.arange(3.0), "b": np.arange(3.0) + 1}), pd.Series(np.ones(3), name="c"), pd.DataFrame({"a": np.zeros(3)})]
    joined = side_by_side(parts)
    sources = [parts[0]["a"], parts[0]["b"], parts[1], parts[2]["a"]]
    assert list(joined.columns) == ["a", "b", "c", "a"]
    assert all(np.shares_memory(joined.iloc[:, i].to_numpy(), s.to_numpy()) for i, s in enumerate(sources))


def test_a_file_read_ahead_is_taken_once_and_only_unchanged(tmp_path, tiny_spec):
    from index_engine import readahead

    p = tmp_path / "d.parquet"
    tiny_frame().to_parquet(p)
    readahead.start(p)
    read = readahead.take(p)
    assert read[0].names == list(tiny_frame().columns) and sum(t.num_rows for t in read[1:]) == 6
    assert readahead.take(p) is None  # once
    readahead.start(p)
    before = p.stat().st_mtime_ns
    tiny_frame().assign(c=0.0).to_parquet(p)  # changed since: read again
    os.utime(p, ns=(before + 10**9, before + 10**9))  # a later time, even where the clock is coarse
    assert ie.load_panel(p, tiny_spec).values.loc[("U3", 2020), "c"] == 0
    assert readahead._ahead == {}


def test_a_file_read_ahead_in_vain_fails_as_it_always_did(tmp_path, monkeypatch):
    from index_engine import readahead

    bad = write(tmp_path, "not parquet", "bad.parquet")
    readahead.start(bad)
    with pytest.raises(ie.DataError, match=r"bad.parquet: cannot read the file"):
        ie.load_panel(bad)
    monkeypatch.setenv("INDEX_ENGINE_MAX_FILE_MB", "0.000001")
    readahead.start(bad)  # over the limit, or not Parquet by its name: not read
    readahead.start(write(tmp_path, "unit,x\nA,1\n", "d.csv"))
    assert readahead._ahead == {}


def test_coinr_idata_loads_directly():
    p = ie.load_panel(ROOT / "inputs/examples/asem/ASEM_iData.csv")
    assert len(p.units) == 51 and p.years == [2018]
    assert "EurAsia_group" in p.attrs.columns and "GDP" in p.values.columns
    assert p.unit_names()["AUT"] == "Austria"


def test_duplicated_rows_are_named(tmp_path):
    text = LONG + "U2,2021,c,9\n"
    with pytest.raises(ie.DataError) as exc:
        ie.load_panel(write(tmp_path, text))
    msg = str(exc.value)
    assert "d.csv: duplicated (unit, period, indicator): rows 16 and 26 (U2, 2021, c)" in msg


def test_non_numeric_cell_names_row_and_column(tmp_path, tiny_spec):
    df = tiny_frame().astype(object)
    df.loc[3, "c"] = "twelve"
    p = tmp_path / "w.csv"
    df.to_csv(p, index=False)
    with pytest.raises(ie.DataError, match=r"w.csv: column 'c': not a number at row 5 \('twelve'\)"):
        ie.load_panel(p, tiny_spec)


def test_long_non_numeric_cell(tmp_path):
    text = LONG.replace("U3,2021,b,2", "U3,2021,b,n.a.x")
    with pytest.raises(ie.DataError, match=r"column 'value' \(indicator 'b'\): not a number at row 23 \('n.a.x'\)"):
        ie.load_panel(write(tmp_path, text))


def test_thousands_separators_and_percent(tmp_path, tiny_spec):
    df = tiny_frame().astype(object)
    df.loc[0, "d"] = "1,234.5"
    df.loc[1, "a"] = "2.5%"  # 'a' has unit %
    p = tmp_path / "w.csv"
    df.to_csv(p, index=False)
    panel = ie.load_panel(p, tiny_spec)
    assert panel.values.loc[("U1", 2020), "d"] == 1234.5
    assert panel.values.loc[("U2", 2020), "a"] == 2.5
    df.loc[1, "a"] = 2.0
    df.loc[2, "c"] = "30%"  # 'c' has no % unit
    df.to_csv(p, index=False)
    with pytest.raises(ie.DataError, match=r"column 'c': not a number at row 4 \('30%'\) \(a trailing % is read only"):
        ie.load_panel(p, tiny_spec)


def test_missing_tokens_are_gaps(tmp_path):
    text = "unit,x\nA,1\nB,-\nC,NA\nD,\nE,..\n"
    v = ie.load_panel(write(tmp_path, text)).values["x"]
    assert v.iloc[0] == 1 and v.iloc[1:].isna().all()


def test_indicator_the_data_lacks(tmp_path, tiny_spec):
    df = tiny_frame().drop(columns="d")
    p = tmp_path / "w.csv"
    df.to_csv(p, index=False)
    with pytest.raises(ie.DataError) as exc:
        ie.load_panel(p, tiny_spec)
    first, by_dimension, how = str(exc.value).splitlines()
    assert first.endswith("w.csv: the data lacks 1 of the 4 indicators of tiny.yaml:")
    assert by_dimension == "  D2: d"
    assert "--set data.on_missing_indicator=warn" in how


def test_unit_with_no_data(tmp_path, tiny_spec):
    df = tiny_frame()
    df.loc[df.unit == "U2", list("abcd")] = np.nan
    p = tmp_path / "w.csv"
    df.to_csv(p, index=False)
    with pytest.raises(ie.DataError, match="these units have no data for any indicator of the spec: U2"):
        ie.load_panel(p, tiny_spec)


@pytest.mark.parametrize("text", ["", "   \n"])
def test_empty_file(tmp_path, text):
    with pytest.raises(ie.DataError, match="d.csv: the file is empty"):
        ie.load_panel(write(tmp_path, text))


def test_header_only(tmp_path):
    with pytest.raises(ie.DataError, match="the file has a header but no rows"):
        ie.load_panel(write(tmp_path, "unit,x\n"))


def test_no_unit_column(tmp_path):
    with pytest.raises(ie.DataError, match="no unit column"):
        ie.load_panel(write(tmp_path, "country,x\nA,1\n"))


def test_malformed_csv(tmp_path):
    with pytest.raises(ie.DataError, match="d.csv: not a well-formed CSV table"):
        ie.load_panel(write(tmp_path, 'unit,x\nA,1\nB,"2\n'))


def test_bad_period(tmp_path):
    with pytest.raises(ie.DataError, match=r"column 'period': not a period .* row 3 \('last year'\)"):
        ie.load_panel(write(tmp_path, "unit,period,indicator,value\nA,2020,x,1\nA,last year,x,2\n"))


def test_quarterly_observations_are_kept(tmp_path):
    text = "unit,period,indicator,value\nBJ,2024,CR1,40000\nBJ,2025Q1,CR1,42000\nBJ,2025,CR1,45000\nBJ,2025-03,CR2,19000\n"
    p = ie.load_panel(write(tmp_path, text))
    assert p.years == [2024, 2025]
    obs = p.observations.set_index(["indicator", "period"])
    assert obs.loc[("CR1", "2025Q1"), "value"] == 42000
    assert obs.loc[("CR1", "2025Q1"), "date"] == pd.Timestamp("2025-03-31")
    assert obs.loc[("CR2", "2025-03"), "date"] == pd.Timestamp("2025-03-31")
    assert p.values.loc[("BJ", 2025), "CR1"] == 45000


def test_one_period_data_has_no_year(tmp_path):
    p = ie.load_panel(write(tmp_path, "unit,x\nA,1\nB,2\n"))
    assert not p.has_years and len(p.years) == 1


def test_a_wide_file_in_any_row_order_reads_as_the_same_panel(tmp_path, tiny_spec):
    """Rows come in the order of each unit's first appearance, years ascending, whatever the file's
    order; padded unit codes are the same unit; CSV and Parquet agree."""
    f = tiny_frame()
    shuffled = f.sample(frac=1, random_state=3).reset_index(drop=True)
    shuffled["unit"] = [f"  {u} " if i % 2 else u for i, u in enumerate(shuffled["unit"])]
    pq, csv = tmp_path / "s.parquet", tmp_path / "s.csv"
    shuffled.to_parquet(pq)
    shuffled.to_csv(csv, index=False)
    codes = [u.strip() for u in shuffled["unit"]]
    first = list(dict.fromkeys(codes))
    expect = sorted(zip(codes, shuffled["year"]), key=lambda k: (first.index(k[0]), k[1]))
    want = f.set_index(["unit", "year"]).loc[expect, list("abcd")]
    for p in (pq, csv):
        panel = ie.load_panel(p, tiny_spec)
        assert list(panel.values.index) == expect
        assert panel.units == first and panel.n_units == 3
        pd.testing.assert_frame_equal(panel.values[list("abcd")], want, check_names=False)


def test_unit_codes_are_read_as_text_and_empty_ones_are_named(tmp_path):
    p = tmp_path / "n.parquet"
    pd.DataFrame({"unit": [10, 9, 100], "x": [1.0, 2.0, 3.0]}).to_parquet(p)
    panel = ie.load_panel(p)
    assert panel.units == ["10", "9", "100"] and panel.unit_names(["9"]) == {"9": "9"}
    assert panel.values.loc[("100", ie.panel.NO_YEAR), "x"] == 3.0
    p = tmp_path / "b.parquet"
    pd.DataFrame({"unit": ["A", " ", None, "B", "nan"], "x": [1.0, 2, 3, 4, 5]}).to_parquet(p)
    with pytest.raises(ie.DataError, match=r"b.parquet: column 'unit': empty unit at row 3, row 4, row 6"):
        ie.load_panel(p)


def test_unit_count_counts_the_codes_in_use():
    idx = pd.MultiIndex.from_arrays([["b", "a", "b", "c"], [1, 1, 2, 1]], names=["unit", "year"])
    assert ie.panel.unit_count(idx) == 3
    assert ie.panel.unit_count(idx[[0, 2]]) == 1  # levels keep unused codes after a selection


@pytest.mark.skipif(pd.__version__ < "3", reason="pandas 2 copies on concat and selection unless copy-on-write is set")
def test_a_parquet_panel_and_its_raw_stage_share_the_file_s_memory(tmp_path, tiny_spec):
    """The panel's columns are the arrays read (a block each), and the raw stage is a view of them."""
    p = tmp_path / "d.parquet"
    tiny_frame().assign(extra=7.0).to_parquet(p)
    panel = ie.load_panel(p, tiny_spec)
    b = ie.build(tiny_spec, panel)
    raw = b.tables["raw"]
    assert all(np.shares_memory(raw[c].to_numpy(), panel.values[c].to_numpy()) for c in "abcd")


def test_codes_of_sorted_text_equal_pandas_factorize():
    """Unit codes already in order are coded by comparing neighbours; the codes and distinct values are
    pandas.factorize(sort=True)'s; any other column is left to it (None)."""
    from index_engine.panel import _sorted_codes

    for values in (["a", "a", "b", "c", "c"], ["A", "a", "é", "é", "北京"], [f"F{i:07d}" for i in range(0, 5000, 3)]):
        col = pd.Series(values, dtype="str")
        got = _sorted_codes(col)
        if got is None:  # pandas without Arrow strings
            assert not (isinstance(col.dtype, pd.StringDtype) and col.dtype.storage == "pyarrow")
            continue
        codes, uniq = pd.factorize(col, sort=True)
        np.testing.assert_array_equal(got[0], codes)
        pd.testing.assert_index_equal(got[1], pd.Index(uniq))
    for values in (["b", "a"], ["a", None, "b"], ["x"]):
        assert _sorted_codes(pd.Series(values, dtype="str")) is None
    assert _sorted_codes(pd.Series([1, 2, 3])) is None


def test_level_values_share_a_level_of_one_row_per_value():
    """level_values is get_level_values; a level whose values are one row each, in order, is returned itself."""
    from index_engine.panel import level_values

    one = pd.MultiIndex.from_arrays([pd.array(["A", "B", "C"], dtype="str"), [2025] * 3], names=["unit", "year"])
    many = pd.MultiIndex.from_arrays([["B", "A", "B"], [2024, 2024, 2025]], names=["unit", "year"])
    for idx in (one, many):
        for name in ("unit", "year"):
            pd.testing.assert_index_equal(level_values(idx, name), idx.get_level_values(name))
    assert level_values(one, "unit") is not one.levels[0] and level_values(one, "unit")._values is one.levels[0]._values
