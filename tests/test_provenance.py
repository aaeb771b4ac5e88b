"""provenance.csv: the exceptions behind a build's values (flags, other sources, notes, imputed and treated cells)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import index_engine as ie
from index_engine import outputs
from index_engine.folder import load_build
from index_engine.provenance import COLUMNS, EVERY, provenance_table

from .conftest import BEIJING, ROOT, TINY_SPEC, tiny_frame


def long_frame() -> pd.DataFrame:
    """The tiny panel in the long layout, with a source per indicator and a vintage."""
    df = tiny_frame().melt(id_vars=["unit", "year"], var_name="indicator", value_name="value")
    df["source"] = df["indicator"].map({"a": "统计局", "b": "统计局", "c": "人民银行", "d": "人民银行"})
    df["vintage"] = "2025-03"
    return df


def test_columns_and_nothing_but_exceptions(tiny_spec):
    b = ie.build(tiny_spec, ie.panel_from_frame(long_frame(), tiny_spec))
    t = provenance_table(b)
    assert list(t.columns) == COLUMNS
    # every value observed, from its indicator's usual source; no imputation or treatment: only the vintage,
    # the same for the whole file, recorded once
    assert t.to_dict("records") == [{"unit": EVERY, "year": EVERY, "indicator": EVERY, "flag": "observed", "source": "",
                                     "vintage": "2025-03", "note": "", "treatment": "", "how": "the same for every value of the file"}]


def test_flags_other_sources_and_notes_are_listed(tiny_spec):
    df = long_frame()
    df["flag"] = ""
    df["note"] = ""
    at = lambda u, y, i: (df.unit == u) & (df.year == y) & (df.indicator == i)  # noqa: E731
    df.loc[at("U1", 2021, "a"), "flag"] = "P"  # provisional, by its SDMX letter
    df.loc[at("U2", 2020, "c"), "flag"] = "代理"  # proxy
    df.loc[at("U3", 2021, "d"), "source"] = "企业年报"  # not d's usual source
    df.loc[at("U2", 2021, "b"), "note"] = "=口径调整"  # a note (that a spreadsheet would run as a formula)
    b = ie.build(tiny_spec, ie.panel_from_frame(df, tiny_spec))
    t = provenance_table(b).iloc[1:].set_index(["unit", "year", "indicator"])  # after the row of the whole file
    assert set(t.index) == {("U1", 2021, "a"), ("U2", 2020, "c"), ("U3", 2021, "d"), ("U2", 2021, "b")}
    assert t.loc[("U1", 2021, "a"), "flag"] == "provisional" and t.loc[("U2", 2020, "c"), "flag"] == "proxy"
    assert t.loc[("U3", 2021, "d"), "source"] == "企业年报" and t.loc[("U3", 2021, "d"), "flag"] == "observed"
    assert t.loc[("U2", 2021, "b"), "note"] == "=口径调整"
    assert (t["treatment"] == "").all() and (t["vintage"] == "2025-03").all()


def test_what_holds_for_the_whole_file_is_one_row(tiny_spec):
    df = long_frame().assign(source="示范来源", flag="illustrative", vintage="2024")
    b = ie.build(tiny_spec, ie.panel_from_frame(df, tiny_spec))
    t = provenance_table(b)
    assert len(t) == 1
    row = t.iloc[0]
    assert (row["unit"], row["year"], row["indicator"]) == (EVERY, EVERY, EVERY)
    assert (row["flag"], row["source"], row["vintage"]) == ("illustrative", "示范来源", "2024")


def _seen_years(before: pd.DataFrame, unit: str, indicator: str) -> list[int]:
    col = before[indicator].xs(unit, level="unit")
    return sorted(int(y) for y in col.dropna().index)


def test_beijing_imputed_cells_say_how_and_from_which_year():
    spec = ie.load_spec(BEIJING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = ie.build(spec, ie.load_panel(ROOT / "inputs/beijing/beijing_tfdi_panel.csv", spec))
    t = provenance_table(b)
    first = t.iloc[0]
    assert (first["unit"], first["flag"]) == (EVERY, "illustrative") and "generate.py" in first["source"]
    imp = t[t["treatment"].isin(["imputed", "earlier_year"])]
    assert len(imp) == len(b.imputed) > 0
    assert (imp["treatment"] == "earlier_year").any()
    assert (imp["how"].str.startswith("carried forward from ") == (imp["treatment"] == "earlier_year")).all()
    before = b.tables["denominated"]
    for u, y, i, how in zip(imp["unit"], imp["year"], imp["indicator"], imp["how"]):
        seen = _seen_years(before, u, i)
        earlier = [s for s in seen if s < int(y)]
        method = b.imputed.set_index(["unit", "year", "indicator"]).loc[(u, int(y), i), "method"]
        if method == "carry_forward" or earlier:
            assert how == f"carried forward from {max(earlier)}"
        else:
            assert how == f"carried back from {min(s for s in seen if s > int(y))}"
        # the value imputed is the one of that year
        src = int(how.rsplit(" ", 1)[1])
        assert b.tables["imputed"].loc[(u, int(y)), i] == before.loc[(u, src), i]
    treated = t[t["treatment"] == "treated"]
    assert len(treated) == len(b.treatment)
    r = b.treatment.iloc[0]
    row = treated[(treated.unit == r["unit"]) & (treated.year == r["year"]) & (treated.indicator == r["indicator"])]
    assert row["how"].iloc[0] == f"{r['treatment']}: {r['before']:.6g} -> {r['after']:.6g}"


def test_mean_and_interpolation_say_over_what():
    spec = ie.spec_from_dict({**TINY_SPEC, "steps": {"impute": {"method": "mean", "by_indicator": {"c": {"method": "interpolate"}}}}})
    frame = pd.concat([tiny_frame(), tiny_frame().query("year == 2021").assign(year=2022)], ignore_index=True)
    frame.loc[(frame.unit == "U1") & (frame.year == 2020), "a"] = np.nan
    frame.loc[(frame.unit == "U2") & (frame.year == 2021), "c"] = np.nan
    b = ie.build(spec, ie.panel_from_frame(frame, spec))
    t = provenance_table(b).set_index(["unit", "year", "indicator"])["how"]
    assert t[("U1", 2020, "a")] == "mean of 2 units in 2020"  # U2 and U3 have a in 2020
    assert t[("U2", 2021, "c")] == "interpolated between 2020 and 2022"


def test_written_through_the_csv_writer_and_read_back(tmp_path, tiny_spec):
    df = long_frame()
    df["note"] = ""
    df.loc[0, "note"] = "=SUM(A1)"
    b = ie.build(tiny_spec, ie.panel_from_frame(df, tiny_spec))
    b.write(tmp_path / "b", excel=False)
    text = (tmp_path / "b" / "provenance.csv").read_text(encoding="utf-8-sig")
    assert "'=SUM(A1)" in text  # escaped as every CSV the project writes
    f = load_build(tmp_path / "b")
    back = f.provenance
    assert list(back.columns) == COLUMNS and back["note"].tolist() == ["", "'=SUM(A1)"]
    assert back["year"].tolist() == [EVERY, 2020] and back["vintage"].tolist() == ["2025-03", "2025-03"]


def test_large_layout_writes_coverage_and_provenance_as_parquet(tmp_path, tiny_spec, monkeypatch):
    df = long_frame().assign(flag="estimate")
    b = ie.build(tiny_spec, ie.panel_from_frame(df, tiny_spec))
    monkeypatch.setattr(outputs, "LARGE_ROWS", 1)
    b.write(tmp_path / "b", excel=False)
    f = load_build(tmp_path / "b")
    assert f.is_large and (tmp_path / "b" / "coverage.parquet").is_file()
    cov = f.coverage.set_index(["unit", "year", "node"])["coverage"]
    assert set(cov.index.get_level_values("node")) == set(tiny_spec.aggregates)
    np.testing.assert_allclose(cov.to_numpy(), 1.0)  # estimates count as observed
    prov = f.provenance
    assert len(prov) == 1 and prov["flag"].iloc[0] == "estimate" and prov["unit"].iloc[0] == EVERY
    assert (f.scores_long["status"] == "").all()
