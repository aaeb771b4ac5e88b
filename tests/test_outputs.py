"""What a build folder looks like to a spreadsheet user: CSVs with a BOM, names beside codes, results.xlsx
with a 说明 sheet first, distinct sheet names, frozen headers, text never a formula, the same bytes twice."""

from __future__ import annotations

import codecs
import csv
import errno
import hashlib
import io
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

import index_engine as ie
from index_engine import outputs
from index_engine.audit import audit
from index_engine.xlsx import MAX_TEXT, column_letter, display_width, sheet_name, write_xlsx

SPEC = {
    "index": {"id": "NAMED", "name_zh": "示例指数", "name_en": "Example index", "notice_zh": "示例数据，请勿引用。",
              "notice_en": "Illustrative data; do not cite."},
    "tree": {
        "code": "IDX", "name_zh": "示例指数",
        "children": [
            {"code": "D1", "name_zh": "投入", "name_en": "Input",
             "children": [{"code": "a", "name_zh": "甲"}, {"code": "b", "name_en": "Bee only", "direction": -1}]},
            {"code": "D2", "name_en": "Output", "children": [{"code": "c", "name_zh": "丙", "name_en": "C"}, {"code": "d"}]},
        ],
    },
    "steps": {"impute": {"method": "carry"}},
}  # fmt: skip
FORMULA_NAME = "=HYPERLINK(\"x\")"


def frame() -> pd.DataFrame:
    """12 units × 2 years, one gap (imputed), a unit named like a formula and one in Chinese."""
    rng = np.random.default_rng(3)
    rows = []
    for y in (2020, 2021):
        for k in range(12):
            rows.append({"unit": f"U{k:02d}", "unit_name": {0: FORMULA_NAME, 1: "北京"}.get(k, f"Unit {k}"), "year": y,
                         **{c: float(v) for c, v in zip("abcd", rng.normal(10, 3, 4))}})
    df = pd.DataFrame(rows)
    df.loc[5, "c"] = np.nan
    return df


@pytest.fixture(scope="module")
def named():
    spec = ie.spec_from_dict(SPEC, label="named.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ie.build(spec, ie.panel_from_frame(frame(), spec))


@pytest.fixture(scope="module")
def folder(named, tmp_path_factory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return named.write(tmp_path_factory.mktemp("b") / "out", extras=("audit",))


@pytest.fixture(scope="module")
def book(folder):
    return load_workbook(folder / "results.xlsx")


def test_every_csv_starts_with_a_bom_and_reads_back_with_clean_headers(folder):
    paths = sorted(folder.rglob("*.csv"))
    assert {"scores.csv", "weights.csv", "units.csv", "tables/raw.csv", "audit/flags.csv"} <= {
        p.relative_to(folder).as_posix() for p in paths
    }
    for p in paths:
        raw = p.read_bytes()
        assert raw.startswith(codecs.BOM_UTF8) and not raw.startswith(codecs.BOM_UTF8 * 2), p
        header = next(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert list(pd.read_csv(p, nrows=0).columns) == header, p
        assert not any(h.startswith("\ufeff") for h in header), p
    assert list(pd.read_csv(folder / "units.csv").columns) == ["unit", "unit_name", "reference", "dropped_years"]


def test_the_arrow_path_of_write_csv_writes_the_bom_too(tmp_path):
    df = pd.DataFrame({"unit": ["北京", "=1+1"] * 30_000, "value": np.arange(60_000) / 7})
    outputs.write_csv(df, tmp_path / "big.csv")
    raw = (tmp_path / "big.csv").read_bytes()
    assert raw.startswith(codecs.BOM_UTF8 + b'"unit","value"\n')
    back = pd.read_csv(tmp_path / "big.csv")
    assert back["unit"].iloc[0] == "北京" and back["unit"].iloc[1] == "'=1+1"
    assert np.array_equal(back["value"].to_numpy(), df["value"].to_numpy())  # shortest exact form


def test_diff_and_sensitivity_tables_go_through_the_same_writer(folder, named, tmp_path):
    from index_engine.diff import diff_builds

    d = diff_builds(folder, folder).write(tmp_path / "diff")
    assert (d / "scores.csv").read_bytes().startswith(codecs.BOM_UTF8)
    from index_engine import sensitivity as sa

    s = sa.remove_one(named.spec, named.panel, progress=False).write(tmp_path / "sens")
    for p in s.glob("*.csv"):
        assert p.read_bytes().startswith(codecs.BOM_UTF8), p


def test_scores_and_weights_carry_names_in_the_index_language(folder, named):
    scores = pd.read_csv(folder / "scores.csv", keep_default_na=False)
    assert list(scores.columns) == ["unit", "unit_name", "year", "node", "node_name", "level", "score", "rank", "change", "status"]
    names = scores.drop_duplicates("node").set_index("node")["node_name"].to_dict()
    # Chinese first (the index has a Chinese name), else English, else empty
    assert names == {"IDX": "示例指数", "D1": "投入", "D2": "Output", "a": "甲", "b": "Bee only", "c": "丙", "d": ""}
    units = scores.drop_duplicates("unit").set_index("unit")["unit_name"]
    assert units["U01"] == "北京" and units["U00"] == "'" + FORMULA_NAME
    weights = pd.read_csv(folder / "weights.csv", keep_default_na=False)
    assert list(weights.columns[:3]) == ["node", "node_name", "parent"]
    assert weights.set_index("node")["node_name"].to_dict() == names
    assert list(named.weights.columns[:2]) == ["node", "parent"]  # the Build's own table is unchanged


def test_an_english_index_names_nodes_in_english():
    spec = ie.spec_from_dict({**SPEC, "index": {"id": "EN", "name_en": "Example index"}}, label="en.yaml")
    assert spec.index.lang == "en"
    assert outputs.node_names(spec) == {"IDX": "示例指数", "D1": "Input", "D2": "Output", "a": "甲", "b": "Bee only",
                                        "c": "C", "d": ""}  # fmt: skip


def test_readme_sheet_comes_first_and_describes_every_sheet(book, named):
    assert book.sheetnames[0] == "说明"
    rows = list(book["说明"].iter_rows(values_only=True))
    listed = [r[0] for r in rows[rows.index(("工作表 / sheet", "内容", "contents")) + 1:]]
    assert listed == book.sheetnames
    described = {r[0]: (r[1], r[2]) for r in rows}
    for name in book.sheetnames:
        assert described[name][0] and described[name][1], name
    notice = outputs.data_notice(named)
    assert described["数据说明 / data notice"] == (notice["zh"], notice["en"])
    assert not notice["illustrative"] and "示例" not in notice["zh"]  # the spec's deprecated notice is not used
    assert notice["en"].startswith("Data for 2020–2021 (the data file gives no publication dates);")
    assert described["指数 / index"] == ("示例指数", "Example index")


def test_record_tables_and_stage_tables_have_their_own_sheets(book, named):
    imputed = list(book["imputed"].iter_rows(values_only=True))
    assert len(named.imputed) == 1 and len(imputed) == 1 + len(named.imputed)
    assert list(imputed[0]) == list(named.imputed.columns)
    assert [n for n in book.sheetnames if n.startswith("stage_")] == [f"stage_{s}" for s in named.tables]
    stage = list(book["stage_imputed"].iter_rows(values_only=True))
    assert len(stage) == 1 + named.tables["imputed"].size


def test_audit_sheets_are_named_once(book, named):
    assert not [n for n in book.sheetnames if n.startswith("audit_audit_")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = list(audit(named).sheets())
    assert [n for n in book.sheetnames if n.startswith("audit_")] == expected


def test_every_sheet_has_a_frozen_bold_header_and_sized_columns(book):
    for ws in book.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert ws["A1"].font.b, ws.title
        assert ws.column_dimensions["A"].width >= 6, ws.title
    assert book["scores"].column_dimensions["B"].width >= display_width("unit_name")


def test_formula_like_text_is_escaped_in_csv_and_plain_text_in_xlsx(folder, book):
    units = pd.read_csv(folder / "units.csv")
    assert units.set_index("unit").loc["U00", "unit_name"] == "'" + FORMULA_NAME
    cells = [c for row in book["scores"].iter_rows(min_col=2, max_col=2) for c in row if c.value == FORMULA_NAME]
    assert cells and all(c.data_type == "s" for c in cells)


def test_a_rebuild_writes_the_same_bytes(named, tmp_path):
    a, b = named.write(tmp_path / "a"), named.write(tmp_path / "b")
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file() and p.name != "manifest.json")
    assert files and files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file() and p.name != "manifest.json")
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_a_large_build_gets_the_readme_sheet(named, tmp_path, monkeypatch):
    monkeypatch.setattr(outputs, "LARGE_ROWS", 10)
    out = named.write(tmp_path / "big")
    wb = load_workbook(out / "results.xlsx")
    assert wb.sheetnames[0] == "说明" and all(ws.freeze_panes == "A2" for ws in wb.worksheets)
    listed = {r[0] for r in wb["说明"].iter_rows(values_only=True)}
    assert set(wb.sheetnames) <= listed
    assert "node_name" in pd.read_csv(out / "weights.csv").columns


def test_two_sheets_of_one_name_are_refused():
    sheets = {"imputed": pd.DataFrame({"a": [1]})}
    with pytest.raises(ValueError, match="two sheets named 'Imputed'"):
        write_xlsx({**sheets, "Imputed": pd.DataFrame()}, io.BytesIO())
    with pytest.raises(ValueError, match="results.xlsx: two sheets named 'imputed'"):
        outputs.result_sheets(_FakeBuild(), sheets, {}, {"imputed": pd.DataFrame()})


class _FakeBuild:
    class panel:  # noqa: N801 - stands in for Build.panel
        has_years = True


def test_xlsx_cells_keep_their_values_and_types():
    rng = np.random.default_rng(0)
    x = rng.normal(size=50) * 10.0 ** rng.integers(-300, 300, 50)
    df = pd.DataFrame({
        "x": x,
        "text": ["=SUM(A1)", "a\x0bb", "x&<>\"y", " pad ", "中文"] * 10,
        "n": pd.array([1, None, 3, 4, 2**40] * 10, dtype="Int64"),
        "flag": [True, False, None, True, False] * 10,
        "edge": [np.inf, -np.inf, np.nan, 0.0, -0.5] * 10,
    })  # fmt: skip
    buf = io.BytesIO()
    write_xlsx({"t": df, "empty": pd.DataFrame(columns=["only"])}, buf)
    wb = load_workbook(buf)
    rows = list(wb["t"].iter_rows(values_only=True))
    assert rows[0] == tuple(df.columns)
    assert [r[0] for r in rows[1:]] == list(x)  # every double exactly
    assert rows[1][1:] == ("=SUM(A1)", 1, True, "inf") and wb["t"]["B2"].data_type == "s"
    # XML cannot hold U+000B: escaped as Excel reads it (ECMA-376 ST_Xstring)
    assert rows[2][1:] == ("a_x000B_b", None, False, "-inf")
    assert rows[3][1:] == ("x&<>\"y", 3, None, None) and rows[4][1:] == (" pad ", 4, True, 0)
    assert rows[5][1:] == ("中文", 2**40, False, -0.5)
    assert [r for r in wb["empty"].iter_rows(values_only=True)] == [("only",)]


def test_xlsx_names_widths_and_long_text():
    assert [column_letter(j) for j in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]
    assert sheet_name("a/b:c*?[x]") == "a_b_c___x_" and len(sheet_name("x" * 40)) == 31
    assert display_width("北京ab") == 6
    buf = io.BytesIO()
    write_xlsx({"t": pd.DataFrame({"long": ["长" * (MAX_TEXT + 5)]})}, buf)
    ws = load_workbook(buf)["t"]
    assert len(ws["A2"].value) == MAX_TEXT and ws["A2"].value.endswith("…") and ws["A2"].alignment.wrap_text
    assert ws.column_dimensions["A"].width == 60


def test_large_layout_tables_read_back_with_gaps_as_nulls(named, tmp_path, monkeypatch):
    """The wide Parquet tables equal the build's frames; a gap (NaN) is a null, as pandas writes it."""
    import pyarrow.parquet as pq

    monkeypatch.setattr(outputs, "LARGE_ROWS", 10)
    out = named.write(tmp_path / "big")
    for name, frame in (("scores.parquet", named.scores), ("tables/raw.parquet", named.tables["raw"]),
                        ("ranks.parquet", named.ranks_of(list(named.spec.aggregates)))):
        t = pq.read_table(out / name)
        assert t.column_names[:2] == ["unit", "year"]
        back = t.to_pandas().set_index(["unit", "year"])
        pd.testing.assert_frame_equal(back, frame, check_names=False, check_column_type=False, check_index_type=False)
        assert [t.column(c).null_count for c in frame.columns] == frame.isna().sum().tolist()
    assert named.tables["raw"].isna().to_numpy().sum() == 1  # the gap, imputed later


def test_a_failed_parquet_file_fails_the_write_and_leaves_nothing(named, tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    monkeypatch.setattr(outputs, "LARGE_ROWS", 10)
    real = pq.write_table

    def failing(table, path, **kw):
        if str(path).endswith("ranks.parquet"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(table, path, **kw)

    monkeypatch.setattr(pq, "write_table", failing)
    with pytest.raises(OSError, match="No space left on device"):
        named.write(tmp_path / "big")
    assert not (tmp_path / "big").exists() and not list(tmp_path.iterdir())


def test_the_raw_table_encoded_while_building_is_the_file_written_without_it(named, tmp_path, monkeypatch):
    """A large build's raw table, encoded on a thread while the build runs, is written as those bytes: the
    same file as the writers make from the build; a table of other rows is not taken for it."""
    from index_engine.job import write_job

    monkeypatch.setattr(outputs, "LARGE_ROWS", 10)
    early = outputs.EarlyRawTable.start(named.spec, named.panel)
    assert early is not None and early.holds(named.tables["raw"]) and not early.holds(named.tables["raw"].iloc[:5])
    with_early = write_job(named, tmp_path / "early", report=False, early=early)
    assert early._job is None  # taken: the bytes were written and are not kept
    without = write_job(named, tmp_path / "plain", report=False)
    assert (with_early / "tables/raw.parquet").read_bytes() == (without / "tables/raw.parquet").read_bytes()
    for folder in (with_early, without):  # hashed as they were written (by the encoder, the writers): the files' own
        files = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["files"]
        assert "tables/raw.parquet" in files and "scores.parquet" in files
        assert all(hashlib.sha256((folder / name).read_bytes()).hexdigest() == sha for name, sha in files.items())
    monkeypatch.setattr(outputs, "LARGE_ROWS", 10_000)
    assert outputs.EarlyRawTable.start(named.spec, named.panel) is None  # a small build writes CSV
