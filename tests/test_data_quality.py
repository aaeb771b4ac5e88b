"""Real data files: provenance columns, gap tokens, duplicates, sub-annual rows, breaks, units named in Chinese,
indicators the data lacks. Every bad input is a message naming file and place, exit 2, nothing written."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import index_engine as ie
from index_engine.errors import (
    DuplicateRowsWarning,
    GapTokenWarning,
    MissingDenominatorWarning,
    MissingIndicatorWarning,
    PartialYearWarning,
    UnknownIndicatorWarning,
)

from .conftest import TINY_SPEC, tiny_frame, write_spec

SPEC = """index: {id: T}
tree:
  code: T
  children:
    - code: D1
      children: [{code: a}, {code: b}]
    - code: D2
      weight: 2
      children: [{code: c}, {code: d, weight: 3}]
"""
QUICK = ("--no-report", "--no-excel")


def long_text(**extra_cols) -> str:
    """The tiny panel in the long layout (36... rows: 3 units x 2 years x 4 indicators)."""
    long = tiny_frame().melt(id_vars=["unit", "year"], var_name="indicator", value_name="value")
    for c, v in extra_cols.items():
        long[c] = v
    return long.to_csv(index=False)


def write(tmp_path, text, name="d.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# ---- provenance -----------------------------------------------------------------------------------

def test_provenance_columns_are_read_with_canonical_flags(tmp_path):
    text = ("unit,period,indicator,value,source,vintage,flag,note\n"
            "BJ,2024,x,1,统计年鉴,2025-03,,\n"
            "BJ,2025,x,2,公报,2026,E,\n"
            "SH,2024,x,3,,,代理,用研发人员代替\n"
            "SH,2025,x,4,年报,2026-02-28,p,\n")
    p = ie.load_panel(write(tmp_path, text))
    s = p.sources
    assert list(s.columns) == ["unit", "year", "period", "indicator", "source", "vintage", "flag", "note"]
    assert list(s["flag"]) == ["observed", "estimate", "proxy", "provisional"]
    assert list(s["vintage"]) == ["2025-03", "2026", "", "2026-02-28"]
    assert s.loc[2, "note"] == "用研发人员代替" and s.loc[0, "source"] == "统计年鉴"
    assert list(s["year"]) == [2024, 2025, 2024, 2025]


def test_no_provenance_columns_no_sources(tmp_path):
    assert ie.load_panel(write(tmp_path, long_text())).sources.empty


@pytest.mark.parametrize("column,cell,message", [
    ("flag", "guess", "d.csv: column 'flag', row 3: unknown flag 'guess'; use one of observed (A, 观测)"),
    ("vintage", "March 2025", "d.csv: column 'vintage': not a vintage (write YYYY, YYYY-MM or YYYY-MM-DD, or leave it empty) at row 3 ('March 2025')"),
    ("vintage", "2025-13", "at row 3 ('2025-13')"),
    ("break", "maybe", "d.csv: column 'break': mark a series break with 1"),
])
def test_bad_provenance_cells_name_file_and_row(run_cli, tmp_path, column, cell, message):
    text = f"unit,period,indicator,value,{column}\nBJ,2024,a,1,\nBJ,2025,a,2,{cell}\n"
    with pytest.raises(ie.DataError) as exc:
        ie.load_panel(write(tmp_path, text))
    assert message in str(exc.value)
    spec = write_spec(tmp_path, SPEC)
    r = run_cli("build", spec, "--data", tmp_path / "d.csv", "--out", tmp_path / "out")
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


def test_wide_workbook_takes_provenance_from_its_provenance_sheet(tmp_path, tiny_spec):
    p = tmp_path / "w.xlsx"
    prov = pd.DataFrame({"unit": ["U1", "U2"], "period": [2021, 2021], "indicator": ["a", "c"],
                         "source": ["census", "survey"], "flag": ["F", ""], "break": ["", "1"], "note": ["", "new basis"]})
    with pd.ExcelWriter(p) as xw:
        tiny_frame().to_excel(xw, sheet_name="data", index=False)
        prov.to_excel(xw, sheet_name="provenance", index=False)
    panel = ie.load_panel(p, tiny_spec)
    assert list(panel.sources["flag"]) == ["forecast", "observed"]
    assert panel.sources.loc[0, "source"] == "census"
    assert panel.breaks.to_dict("records") == [{"unit": "U2", "indicator": "c", "date": "2021", "note": "new basis"}]
    assert panel.values.loc[("U2", 2021), "c"] == 18


def test_wide_csv_takes_provenance_from_the_sidecar_the_spec_names(tmp_path):
    tiny_frame().to_csv(tmp_path / "w.csv", index=False)
    write(tmp_path, "unit,year,indicator,source,vintage\nU3,2020,d,ministry,2021-06\nU9,2020,d,x,\n", "w_sources.csv")
    spec = ie.spec_from_dict({**TINY_SPEC, "data": {"file": "w.csv", "provenance": "w_sources.csv"}}, "t.yaml", tmp_path)
    with pytest.raises(ie.DataError, match=r"w_sources.csv: units the data does not have at row 3 \(U9\)"):
        ie.load_panel(tmp_path / "w.csv", spec)
    gone = spec.replace("data.provenance", "gone.csv")
    with pytest.raises(ie.DataError, match=r"t.yaml: data.provenance: no such file '.*gone.csv'"):
        ie.load_panel(tmp_path / "w.csv", gone)
    write(tmp_path, "unit,year,indicator,source,vintage\nU3,2020,d,ministry,2021-06\n", "w_sources.csv")
    s = ie.load_panel(tmp_path / "w.csv", spec).sources
    assert s[["unit", "year", "indicator", "source", "vintage", "flag"]].values.tolist() == [
        ["U3", 2020, "d", "ministry", "2021-06", "observed"]]


# ---- indicators the data lacks, and indicators the spec does not name -----------------------------

def test_missing_indicators_listed_by_dimension_and_how_to_go_on(run_cli, tmp_path):
    spec = write_spec(tmp_path, SPEC)
    long = tiny_frame().melt(id_vars=["unit", "year"], var_name="indicator", value_name="value")
    write(tmp_path, long[~long.indicator.isin(["b", "c", "d"])].to_csv(index=False))
    r = run_cli("build", spec, "--data", tmp_path / "d.csv", "--out", tmp_path / "out")
    assert r.returncode == 2 and not (tmp_path / "out").exists()
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and lines[0].endswith("d.csv: the data lacks 3 of the 4 indicators of " + str(spec) + ":")
    assert lines[1:3] == ["  D1: b", "  D2: c, d"]
    assert "--set data.on_missing_indicator=warn" in lines[3] and len(lines) == 4


def test_under_warn_missing_indicators_are_dropped_and_weights_renormalised(run_cli, tmp_path):
    spec = write_spec(tmp_path, SPEC)
    long = tiny_frame().melt(id_vars=["unit", "year"], var_name="indicator", value_name="value")
    write(tmp_path, long[long.indicator != "d"].to_csv(index=False))
    out = tmp_path / "out"
    r = run_cli("build", spec, "--data", tmp_path / "d.csv", "--out", out, "--set", "data.on_missing_indicator=warn", *QUICK)
    assert r.returncode == 0, r.stderr
    assert "T (2021): 3 units, 3 of 4 indicators (1 dropped: no data)" in r.stdout
    assert "warning: MissingIndicatorWarning:" in r.stderr and "dropped 1 of the 4 indicators the data lacks (D2: d)" in r.stderr
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        b = ie.build(ie.load_spec(spec, {"data.on_missing_indicator": "warn"}), ie.load_panel(tmp_path / "d.csv"))
    names = [w.category.__name__ for w in caught if issubclass(w.category, ie.IndexEngineWarning)]  # named once, not again as an indicator with "no spread"
    assert names == ["MissingIndicatorWarning"], names  # one warning per fact: not again as an empty node
    s = b.scores
    # D2 stands on c alone; the index is (D1 + 2 D2) / 3, D1 the mean of a and b (min-max, b higher is better)
    np.testing.assert_allclose(s["D2"], s["c"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(s["D1"], (s["a"] + s["b"]) / 2, rtol=0, atol=1e-12)
    np.testing.assert_allclose(s["T"], (s["D1"] + 2 * s["D2"]) / 3, rtol=0, atol=1e-12)
    c = tiny_frame().set_index(["unit", "year"])["c"].reindex(s.index)
    np.testing.assert_allclose(s["c"], 100 * (c - 10) / (33 - 10), rtol=0, atol=1e-12)
    step = [st for st in b.log if st.step == "data" and st.method == "missing_indicators"]
    assert len(step) == 1 and step[0].applies_to == ("d",) and step[0].spec_path == "data.on_missing_indicator"
    assert b.dropped_indicators == ("d",)


def test_a_dimension_whose_indicators_are_all_dropped_is_named_once_as_empty(tmp_path):
    spec = ie.load_spec(write_spec(tmp_path, SPEC), {"data.on_missing_indicator": "warn"})
    long = tiny_frame().melt(id_vars=["unit", "year"], var_name="indicator", value_name="value")
    panel = ie.load_panel(write(tmp_path, long[long.indicator.isin(["a", "b"])].to_csv(index=False)), spec)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ie.build(spec, panel)
    named = [(w.category.__name__, str(w.message)) for w in caught if issubclass(w.category, ie.IndexEngineWarning)]
    assert [n for n, _ in named] == ["MissingIndicatorWarning", "EmptyNodeWarning"], named
    assert "node 'D2' (its indicators c, d)" in named[1][1]  # the dimension left empty, not c and d again


def test_a_denominator_the_data_lacks_leaves_its_values_missing_recorded(tmp_path):
    """a / pop with pop empty for U2 2021; c / gdp with no gdp column: those values are missing (not an error),
    named in one warning, the log, provenance.csv and coverage."""
    from index_engine.provenance import provenance_table

    spec = ie.load_spec(write_spec(tmp_path, SPEC.replace("{code: a}", "{code: a, denominator: pop}").replace(
        "children: [{code: c}", "children: [{code: c, denominator: gdp}") + "steps: {denominate: {method: divide}}\n"))
    df = tiny_frame()
    df["pop"] = [2.0, 4.0, 5.0, 8.0, np.nan, 10.0]  # rows U1 2020, U2 2020, U3 2020, U1 2021, U2 2021, U3 2021
    df.to_csv(tmp_path / "w.csv", index=False)
    panel = ie.load_panel(tmp_path / "w.csv", spec)
    with pytest.warns(MissingDenominatorWarning, match=r"w.csv: 7 values without their denominator left missing: "
                      r"a / pop \(empty for U2 2021\), c / gdp \(not in the data\)"):
        b = ie.build(spec, panel)
    den = b.tables["denominated"]
    # a / pop by hand: U1 1/2, 2/8; U2 2/4, (2021 no pop); U3 4/5, 5/10
    expected = {("U1", 2020): 0.5, ("U1", 2021): 0.25, ("U2", 2020): 0.5, ("U2", 2021): np.nan,
                ("U3", 2020): 0.8, ("U3", 2021): 0.5}
    np.testing.assert_allclose(den["a"].reindex(list(expected)).to_numpy(), list(expected.values()), rtol=0, atol=1e-15)
    assert den["c"].isna().all() and den["b"].equals(b.tables["raw"]["b"])
    step = [st for st in b.log if st.step == "data" and st.method == "missing_denominators"]
    assert len(step) == 1 and step[0].applies_to == ("a", "c") and step[0].changed == 7
    prov = provenance_table(b)
    lost = prov[prov["how"].str.startswith("missing: no ")]
    assert sorted(zip(lost.unit, lost.year, lost.indicator)) == sorted(
        [("U2", 2021, "a")] + [(u, y, "c") for u in ("U1", "U2", "U3") for y in (2020, 2021)])
    assert set(lost.loc[lost.indicator == "a", "how"]) == {"missing: no pop (its denominator)"}
    assert b.coverage.loc[("U2", 2021), "a"] == 0 and b.coverage.loc[("U1", 2021), "a"] == 1
    assert (b.coverage["c"] == 0).all()


def test_indicators_the_spec_does_not_name_are_a_warning(tmp_path, tiny_spec):
    text = long_text() + "U1,2020,zz,5\nU1,2020,yy,6\n"
    panel = ie.load_panel(write(tmp_path, text), tiny_spec)
    with pytest.warns(UnknownIndicatorWarning, match=r"d.csv: the data has 2 indicators the spec does not name, not used: zz, yy"):
        ie.build(tiny_spec, panel)


def test_numeric_columns_of_a_wide_file_the_spec_names_nowhere_are_a_warning(tmp_path):
    """zz is listed; pop (a denominator), region (a group), vintage (provenance) and the indicators are not."""
    spec = ie.load_spec(write_spec(tmp_path, SPEC.replace("{code: a}", "{code: a, denominator: pop}")))
    df = tiny_frame().assign(pop=7.0, zz=1.5, region=["N", "S", "N", "N", "S", "N"], vintage=2022)
    df.to_csv(tmp_path / "w.csv", index=False)
    panel = ie.load_panel(tmp_path / "w.csv", spec)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        b = ie.build(spec, panel)
    unknown = [str(w.message) for w in caught if w.category is UnknownIndicatorWarning]
    assert unknown == [f"{tmp_path / 'w.csv'}: the data has 1 numeric column the spec does not name, not used: zz"]
    assert [st.applies_to for st in b.log if st.method == "unknown_indicators"] == [("zz",)]


# ---- gap tokens ------------------------------------------------------------------------------------

def test_gap_tokens_are_counted_per_file_and_reported(tmp_path, tiny_spec):
    text = long_text()
    cells = ["n/a", " NULL ", "#N/A", "—", "...", "n/a", ""]
    rows = text.strip().split("\n")
    for k, cell in enumerate(cells, start=1):  # the values of rows 1..7 become gap tokens
        parts = rows[k].split(",")
        rows[k] = ",".join(parts[:-1] + [cell])
    panel = ie.load_panel(write(tmp_path, "\n".join(rows) + "\n"))
    assert panel.quality.gaps == {"n/a": 2, "null": 1, "#n/a": 1, "—": 1, "...": 1, "": 1}
    assert int(panel.values.isna().sum().sum()) == 7
    with pytest.warns(GapTokenWarning, match=r"d.csv: read as gaps: 7 cells: 'n/a' ×2, '#n/a' ×1, '...' ×1, 'null' ×1, '—' ×1, 1 blank"):
        b = ie.build(tiny_spec, panel)
    assert [st.changed for st in b.log if st.method == "gaps"] == [7]


def test_a_percent_cell_of_a_long_file_is_read_and_its_gaps_counted_once(tmp_path, tiny_spec):
    """A trailing % is read only for an indicator whose unit is %, so such a file is read indicator by
    indicator: the gap tokens met on the way are counted once all the same."""
    rows = long_text().strip().split("\n")
    header = rows[0].split(",")
    at = {c: header.index(c) for c in ("indicator", "value")}
    first_a = next(k for k, r in enumerate(rows) if k and r.split(",")[at["indicator"]] == "a")
    first_b = next(k for k, r in enumerate(rows) if k and r.split(",")[at["indicator"]] == "b")
    for k, cell in ((first_a, "2.5%"), (first_a + 1, "n/a"), (first_b, "n/a"), (first_b + 1, "NULL")):
        parts = rows[k].split(",")
        parts[at["value"]] = cell
        rows[k] = ",".join(parts)
    panel = ie.load_panel(write(tmp_path, "\n".join(rows) + "\n"), tiny_spec)
    assert panel.quality.gaps == {"n/a": 2, "null": 1}
    assert 2.5 in panel.values["a"].to_numpy()
    assert int(panel.values.isna().sum().sum()) == 3


def test_blank_cells_alone_are_logged_without_a_warning(tmp_path, tiny_spec):
    df = tiny_frame()
    df.loc[0, "a"] = np.nan
    df.to_csv(tmp_path / "w.csv", index=False)
    panel = ie.load_panel(tmp_path / "w.csv", tiny_spec)
    assert panel.quality.gaps == {"": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("error", GapTokenWarning)
        ie.build(tiny_spec, panel)


# ---- duplicates ------------------------------------------------------------------------------------

DUP = ("unit,year,indicator,value,source,vintage\n"
       "U1,2020,a,1,yearbook,2021-05\n"
       "U1,2020,a,1.5,bulletin,2021-02\n")


def test_duplicates_are_an_error_naming_both_rows(run_cli, tmp_path):
    text = long_text(source="yearbook", vintage="2021") + "U1,2020,a,1.5,bulletin,2021-02\n"
    with pytest.raises(ie.DataError) as exc:
        ie.load_panel(write(tmp_path, text))
    msg = str(exc.value)
    assert "d.csv: duplicated (unit, period, indicator): rows 2 and 26 (U1, 2020, a; sources 'yearbook', 'bulletin')" in msg
    assert "data.duplicates" in msg


def test_duplicates_settled_by_latest_vintage_or_source_order(tmp_path):
    text = long_text(source="yearbook", vintage="2021-05") + "U1,2020,a,1.5,bulletin,2021-02\n"
    path = write(tmp_path, text)
    latest = ie.spec_from_dict({**TINY_SPEC, "data": {"duplicates": "latest_vintage"}}, "t.yaml")
    p = ie.load_panel(path, latest)
    assert p.values.loc[("U1", 2020), "a"] == 1.0  # the yearbook, published 2021-05, is later
    assert p.quality.duplicates[["kept_row", "dropped_rows"]].values.tolist() == [[2, "26"]]
    with pytest.warns(DuplicateRowsWarning, match="1 duplicated values settled by data.duplicates"):
        ie.build(latest, p)
    order = ie.spec_from_dict({**TINY_SPEC, "data": {"duplicates": {"source_order": ["bulletin", "yearbook"]}}}, "t.yaml")
    assert ie.load_panel(path, order).values.loc[("U1", 2020), "a"] == 1.5
    tie = write(tmp_path, long_text(source="yearbook", vintage="2021") + "U1,2020,a,1.5,bulletin,2021\n", "tie.csv")
    with pytest.raises(ie.DataError, match=r"tie.csv: data.duplicates: latest_vintage cannot choose between rows 2 and 26 "
                                            r"\(U1, 2020, a; sources 'yearbook', 'bulletin'\) \(their vintages are equal or empty\)"):
        ie.load_panel(tie, latest)


# ---- sub-annual rows -------------------------------------------------------------------------------

SUB_SPEC = """index: {id: S}
tree:
  code: S
  children:
    - {code: STOCK, type: stock}
    - {code: FLOW, type: flow}
    - {code: PART, type: flow}
    - {code: ANN, type: flow, aggregate_periods: annualise}
    - {code: MEAN, aggregate_periods: mean}
"""


def _sub_rows() -> str:
    rows = ["unit,period,indicator,value"]
    for u, base in (("BJ", 10), ("SH", 20)):
        rows += [f"{u},2024,STOCK,{base}", f"{u},2024,FLOW,{base}", f"{u},2024,PART,{base}", f"{u},2024,ANN,{base}",
                 f"{u},2024,MEAN,{base}"]
        rows += [f"{u},2025-{m:02d},STOCK,{base + m}" for m in range(1, 10)]  # to September
        rows += [f"{u},2025Q{q},FLOW,{base * q}" for q in range(1, 5)]  # a whole year of quarters
        rows += [f"{u},2025-{m:02d},PART,{m}" for m in range(1, 10)]
        rows += [f"{u},2025-{m:02d},ANN,{m}" for m in range(1, 10)]
        rows += [f"{u},2025Q{q},MEAN,{base + q}" for q in (1, 2)]
    rows += ["BJ,2025,STOCK,99"]  # an annual row wins over the months
    return "\n".join(rows) + "\n"


def test_sub_annual_rows_make_annual_values_by_the_indicator_rule(tmp_path):
    spec = ie.load_spec(write_spec(tmp_path, SUB_SPEC))
    panel = ie.load_panel(write(tmp_path, _sub_rows()), spec)
    v = panel.values
    assert v.loc[("BJ", 2025), "STOCK"] == 99  # the annual row
    assert v.loc[("SH", 2025), "STOCK"] == 29  # the last month, September
    assert v.loc[("SH", 2025), "FLOW"] == 20 * (1 + 2 + 3 + 4)  # four quarters summed
    assert np.isnan(v.loc[("SH", 2025), "PART"])  # 9 months of a flow: partial, missing
    assert v.loc[("SH", 2025), "ANN"] == pytest.approx(45 * 12 / 9)  # 1+...+9 = 45, scaled to 12 months
    assert v.loc[("SH", 2025), "MEAN"] == pytest.approx((21 + 22) / 2)
    a = panel.quality.annualised.set_index(["unit", "indicator"])
    assert a.loc[("SH", "STOCK"), "note"] == "latest: 2025-09" and a.loc[("SH", "STOCK"), "status"] == "latest"
    assert a.loc[("SH", "PART"), "status"] == "partial" and "9 of 12 months (2025-01..2025-09)" in a.loc[("SH", "PART"), "note"]
    assert ("BJ", "STOCK") not in a.index
    s = panel.sources.set_index(["unit", "year", "indicator"])
    assert s.loc[("SH", 2025, "STOCK"), "note"] == "from sub-annual rows, last: latest: 2025-09"
    obs = panel.observations
    assert len(obs[(obs.unit == "SH") & (obs.indicator == "STOCK")]) == 10  # the dated rows stay
    with pytest.warns(PartialYearWarning, match=r"2 annual values from sub-annual rows, partial: PART \(sum\)"):
        b = ie.build(spec, panel)
    from index_engine.provenance import provenance_table

    t = provenance_table(b)
    part = t[t["treatment"] == "partial_year"].set_index(["unit", "year", "indicator"])["how"]
    assert part[("SH", 2025, "STOCK")] == "latest: 2025-09" and ("BJ", 2025, "STOCK") not in part.index
    assert "annualised from 9 of 12 months" in part[("SH", 2025, "ANN")] and ("SH", 2025, "FLOW") not in part.index
    assert part[("BJ", 2025, "PART")].startswith("partial year: 9 of 12 months") and len(part) == 7  # STOCK 1, PART, ANN, MEAN 2


def test_sub_annual_rules_come_from_the_spec_the_data_is_read_with(tmp_path):
    spec = ie.load_spec(write_spec(tmp_path, SUB_SPEC))
    panel = ie.load_panel(write(tmp_path, _sub_rows()))  # no spec: every indicator by 'last'
    assert panel.values.loc[("SH", 2025), "FLOW"] == 80  # the last quarter
    with pytest.raises(ie.DataError, match=r"d.csv: annual values were made from sub-annual rows by other rules than "
                                            r"the spec's: FLOW \(last, the spec's is sum\)"):
        ie.build(spec, panel)


def test_an_indicator_with_only_monthly_rows_is_not_lacking(tmp_path):
    spec = ie.load_spec(write_spec(tmp_path, "index: {id: M}\ntree:\n  code: M\n  children: [{code: x}, {code: y, type: flow}]\n"))
    text = "unit,period,indicator,value\n" + "".join(
        f"{u},2025,x,{k}\n" + "".join(f"{u},2025-{m:02d},y,{m}\n" for m in (1, 2, 3)) for k, u in enumerate(("A", "B")))
    panel = ie.load_panel(write(tmp_path, text), spec)  # no "lacks y": y is there, partial
    assert panel.missing_indicators(spec) == [] and panel.values["y"].isna().all()


# ---- units named in Chinese, reference and tracked units ---------------------------------------------

UNITS_SPEC = """index: {id: U}
tree:
  code: U
  children: [{code: a}, {code: b}]
reference_units: [全国]
tracking: {unit: 北京}
"""


def test_units_named_in_chinese_by_code_or_name(run_cli, tmp_path):
    spec = write_spec(tmp_path, UNITS_SPEC)
    text = ("unit,unit_name,year,indicator,value\n"
            "BJ,北京,2025,a,3\nBJ,北京,2025,b,3\n上海,上海,2025,a,2\n上海,上海,2025,b,2\n"
            "广东,广东,2025,a,1\n广东,广东,2025,b,1\nCN,全国,2025,a,100\nCN,全国,2025,b,100\n")
    write(tmp_path, text)
    from index_engine.job import read_inputs

    spec_obj, panel = read_inputs(spec, tmp_path / "d.csv")
    assert spec_obj.reference_units == ("CN",) and spec_obj.tracking.unit == "BJ"
    b = ie.build(ie.load_spec(spec), panel)  # the library resolves names too
    assert "CN" not in set(b.scores.index.get_level_values("unit"))
    # min-max over BJ, 上海, 广东 only (with CN's 100 in the pool BJ would score 2): 100, 50, 0
    assert b.scores["U"].tolist() == [100, 50, 0] and b.ranks["U"].tolist() == [1, 2, 3]
    r = run_cli("build", spec, "--data", tmp_path / "d.csv", "--out", tmp_path / "out", *QUICK)
    assert r.returncode == 0, r.stderr
    assert "3 units (+1 reference)" in r.stdout


def test_a_reference_unit_not_in_the_data_is_an_error(run_cli, tmp_path):
    spec = write_spec(tmp_path, UNITS_SPEC.replace("[全国]", "[全国, 香港]"))
    write(tmp_path, "unit,unit_name,year,indicator,value\nBJ,北京,2025,a,3\nBJ,北京,2025,b,1\nCN,全国,2025,a,1\nCN,全国,2025,b,2\n"
          "SH,上海,2025,a,2\nSH,上海,2025,b,2\n")
    r = run_cli("build", spec, "--data", tmp_path / "d.csv", "--out", tmp_path / "out")
    assert r.returncode == 2 and not (tmp_path / "out").exists()
    assert "d.csv: " in r.stderr and "reference_units[1]: '香港' is neither a unit code nor a unit name of the data" in r.stderr


def test_reference_units_are_checked_before_units_narrows(tmp_path):
    """The time-series spec ranks BJ only and keeps CN as reference; CN is found in the whole file."""
    spec = ie.spec_from_dict({"index": {"id": "TS"}, "tree": {"code": "TS", "children": [{"code": "a"}, {"code": "b"}]},
                              "units": ["BJ"], "reference_units": ["全国"]}, "ts.yaml")
    text = ("unit,unit_name,year,indicator,value\n"
            + "".join(f"{u},{n},{y},{i},{v + y - 2020}\n" for u, n, v in (("BJ", "北京", 1), ("CN", "全国", 5))
                      for y in (2020, 2021) for i in "ab"))
    panel = ie.load_panel(write(tmp_path, text), spec)
    b = ie.build(spec, panel)
    assert b.spec.reference_units == ("CN",)
    assert set(b.scores.index.get_level_values("unit")) == {"BJ"}


# ---- breaks ----------------------------------------------------------------------------------------

def test_breaks_from_the_file_and_the_spec_stop_changes(tmp_path, tiny_spec):
    text = long_text(**{"break": ""})
    rows = text.strip().split("\n")
    k = next(i for i, r in enumerate(rows) if r.startswith("U2,2021,c,"))
    rows[k] += "1"
    path = write(tmp_path, "\n".join(rows) + "\n")
    spec = tiny_spec.replace("breaks", [{"indicator": "a", "unit": "U1", "date": "2021-07", "note": "新口径"}])
    panel = ie.load_panel(path, spec)
    assert panel.breaks[["unit", "indicator", "date"]].values.tolist() == [["U2", "c", "2021"], ["U1", "a", "2021-07"]]
    assert panel.break_between("U2", "c", 2020, 2021) and panel.break_between("U1", "a", 2021, 2020)
    assert not panel.break_between("U2", "c", 2021, 2022) and not panel.break_between("U1", "c", 2020, 2021)
    b = ie.build(spec, panel)
    ch = b.change
    assert np.isnan(ch.loc[("U2", 2021), "c"]) and np.isnan(ch.loc[("U1", 2021), "a"])
    s = b.scores
    assert ch.loc[("U1", 2021), "c"] == pytest.approx(s.loc[("U1", 2021), "c"] - s.loc[("U1", 2020), "c"])
    assert ch.loc[("U2", 2021), "a"] == pytest.approx(s.loc[("U2", 2021), "a"] - s.loc[("U2", 2020), "a"])
    assert [st.method for st in b.log if st.step == "data"] == ["breaks"]


def test_a_break_of_an_indicator_the_spec_lacks_is_a_spec_error(tiny_spec):
    with pytest.raises(ie.SpecError, match=r"breaks\[0\].indicator: no indicator with code 'zz'"):
        tiny_spec.replace("breaks", [{"indicator": "zz", "date": 2021}])
    with pytest.raises(ie.SpecError, match=r"breaks\[0\].date: must be a date YYYY, YYYY-MM, YYYY-MM-DD"):
        tiny_spec.replace("breaks", [{"indicator": "a", "date": "July"}])


# ---- the data-collection template ------------------------------------------------------------------

def test_template_workbook_filled_loads_back_as_it_is(run_cli, tmp_path):
    from openpyxl import load_workbook

    tiny_frame().to_csv(tmp_path / "known.csv", index=False)
    spec = write_spec(tmp_path, SPEC)
    book = tmp_path / "collect.xlsx"
    r = run_cli("template", spec, "--data", tmp_path / "known.csv", "--years", "2022-2023", "-o", book)
    assert r.returncode == 0, r.stderr
    assert "4 indicators x 3 units x 2 years (24 rows to fill)" in r.stdout
    wb = load_workbook(book)
    assert wb.sheetnames == ["data", "indicators", "说明", "lists"]
    ws = wb["data"]
    assert [c.value for c in ws[1]] == ["unit", "unit_name", "period", "indicator", "value", "flag", "source", "vintage",
                                        "note", "break"]
    lists = {str(dv.sqref).split(":")[0][0]: dv.formula1 for dv in ws.data_validations.dataValidation}
    assert lists == {"A": "'lists'!$A$2:$A$4", "D": "'lists'!$B$2:$B$5", "F": "'lists'!$C$2:$C$13"}
    assert [c.value for c in wb["lists"]["B"]][1:5] == ["a", "b", "c", "d"]
    assert [c.value for c in wb["indicators"]["A"]][1:] == ["a", "b", "c", "d"]
    # a department fills it in a spreadsheet program: values, one estimate with its source and vintage
    expected = {}
    for k, row in enumerate(ws.iter_rows(min_row=2), start=1):
        unit, period, ind = row[0].value, row[2].value, row[3].value
        row[4].value = expected[(unit, period, ind)] = float(k)
    ws["F2"], ws["G2"], ws["H2"] = "估计", "部门测算", "2024-03"
    wb.save(book)
    panel = ie.load_panel(book, ie.load_spec(spec))
    got = {(u, y, i): panel.values.loc[(u, y), i] for (u, y, i) in expected}
    assert got == expected
    assert panel.sources.loc[0, ["unit", "year", "indicator", "flag", "source", "vintage"]].tolist() == [
        "U1", 2022, "a", "estimate", "部门测算", "2024-03"]
    r = run_cli("build", spec, "--data", book, "--out", tmp_path / "out", *QUICK)
    assert r.returncode == 0, r.stderr
    ws["F3"] = "maybe"
    wb.save(book)
    r = run_cli("build", spec, "--data", book, "--out", tmp_path / "out2", *QUICK)
    assert r.returncode == 2 and "collect.xlsx: column 'flag', row 3: unknown flag 'maybe'" in r.stderr
    assert not (tmp_path / "out2").exists()


def test_template_refuses_to_overwrite_and_bad_years(run_cli, tmp_path):
    spec = write_spec(tmp_path, SPEC)
    (tmp_path / "c.xlsx").write_bytes(b"x")
    r = run_cli("template", spec, "-o", tmp_path / "c.xlsx")
    assert r.returncode == 2 and "c.xlsx: the file exists already; pass --force" in r.stderr
    assert (tmp_path / "c.xlsx").read_bytes() == b"x"
    r = run_cli("template", spec, "-o", tmp_path / "n.xlsx", "--years", "2025-2019")
    assert r.returncode == 2 and "--years '2025-2019': write a range such as 2019-2025" in r.stderr
    assert not (tmp_path / "n.xlsx").exists()


def test_excel_vintage_dates_and_a_bad_policy(run_cli, tmp_path):
    import datetime

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["unit", "period", "indicator", "value", "vintage", "flag"])
    ws.append(["BJ", 2024, "a", 1.5, datetime.datetime(2025, 3, 31), "A"])
    ws.append(["BJ", 2025, "a", 2.5, 2026, "f"])
    wb.save(tmp_path / "v.xlsx")
    s = ie.load_panel(tmp_path / "v.xlsx").sources
    assert s[["vintage", "flag"]].values.tolist() == [["2025-03-31", "observed"], ["2026", "forecast"]]
    spec = write_spec(tmp_path, SPEC)
    r = run_cli("validate", spec, "--data", tmp_path / "v.xlsx", "--set", "data.on_missing_indicator=maybe")
    assert r.returncode == 2 and "data.on_missing_indicator: must be 'error' or 'warn', got 'maybe'" in r.stderr
