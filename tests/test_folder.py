"""The build-folder reader (index_engine.folder) and what reads through it: diff, audit --build, sensitivity --build.

A folder must read back to the tables of the Build that wrote it, in either layout: the long CSV
layout (a small build) and the wide Parquet layout (the 1,000-firm sample, forced into it by
lowering ``outputs.LARGE_ROWS``, as the firm report's tests do). Unit codes that pandas would
take for missing values (``NA`` for Namibia, ``NULL``, ``N/A``, ``#N/A``) stay codes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import index_engine as ie
import index_engine.outputs as outputs
from index_engine.audit import audit
from index_engine.cli import main
from index_engine.diff import diff_builds
from index_engine.errors import DataError
from index_engine.folder import LONG, WIDE, load_build, read_csv
from index_engine.job import build_again

from .conftest import ROOT, TINY_SPEC, tiny_frame

FIRM_SPEC = ROOT / "weights/examples/zgc_pilot_score.yaml"
FIRM_DATA = ROOT / "inputs/zgc/zgc_firms_sample.csv"
ODD_CODES = {"U1": "NA", "U2": "NULL", "U3": "N/A"}
"""Unit codes that read_csv's defaults would turn into NaN."""


def small_spec_dict() -> dict:
    """The tiny spec with mean imputation and grades, reading small.csv beside it."""
    d = json.loads(json.dumps(TINY_SPEC))
    d["steps"] = {"impute": {"method": "mean"}}
    d["grades"] = {"cutoffs": [60, 40, 20]}
    d["data"] = {"file": "small.csv"}
    return d


def small_frame() -> pd.DataFrame:
    """tiny_frame with the odd unit codes, a fourth unit ``#N/A`` and one missing cell (imputed)."""
    f = tiny_frame()
    f["unit"] = f["unit"].map(ODD_CODES)
    extra = f[f["unit"] == "NA"].assign(unit="#N/A", a=[3.0, 4.0], d=[120.0, 130.0])
    f = pd.concat([f, extra], ignore_index=True)
    f.loc[(f["unit"] == "NULL") & (f["year"] == 2021), "c"] = np.nan
    f["unit_name"] = f["unit"].map({"NA": "Namibia", "NULL": "Null Island", "N/A": "", "#N/A": "Nowhere"})
    return f


def write_inputs(d: Path, frame: pd.DataFrame | None = None, spec: dict | None = None) -> Path:
    """small.yaml and small.csv in ``d``; returns the spec's path."""
    d.mkdir(parents=True, exist_ok=True)
    (frame if frame is not None else small_frame()).to_csv(d / "small.csv", index=False)
    (d / "small.yaml").write_text(yaml.safe_dump(spec or small_spec_dict(), allow_unicode=True), encoding="utf-8")
    return d / "small.yaml"


def build_from(spec_path: Path) -> ie.Build:
    spec = ie.load_spec(spec_path)
    return ie.build(spec, ie.load_panel(spec.base_dir / spec.data.file, spec))


def write_wide(b: ie.Build, d: Path) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(outputs, "LARGE_ROWS", 1)
        return b.write(d, excel=False)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[ie.Build, Path, Path]:
    """The small build, and its folders in the long and the wide layout."""
    d = tmp_path_factory.mktemp("small")
    b = build_from(write_inputs(d / "in"))
    return b, b.write(d / "long", excel=False), write_wide(b, d / "wide")


@pytest.fixture(scope="module")
def firms(tmp_path_factory) -> tuple[ie.Build, Path]:
    """The 1,000-firm sample, written in the wide Parquet layout."""
    spec = ie.load_spec(FIRM_SPEC)
    b = ie.build(spec, ie.load_panel(FIRM_DATA, spec))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(outputs, "LARGE_ROWS", 100)
        d = b.write(tmp_path_factory.mktemp("firms") / "a", excel=False)
    return b, d


def same(a: pd.DataFrame, b: pd.DataFrame, **kw) -> None:
    """``a`` read from a folder equals ``b`` in ``b``'s columns (a folder may add some, e.g. names beside codes)."""
    pd.testing.assert_frame_equal(a[list(b.columns)].reset_index(drop=True), b.reset_index(drop=True),
                                  check_dtype=False, **kw)


def text_as_written(df: pd.DataFrame) -> pd.DataFrame:
    """A Build's table as the folder reads it back: missing text is an empty cell."""
    df = df.copy()
    for c in df.columns:
        if not pd.api.types.is_numeric_dtype(df[c]):
            df[c] = df[c].astype(object).where(df[c].notna(), "")
    return df


# ---- both layouts read back to the Build's tables ----------------------------------------------
def test_long_layout_reads_back_the_build(small):
    b, d, _ = small
    f = load_build(d)
    assert f.layout == LONG and not f.is_large and f.spec == b.spec
    assert f.years == (2020, 2021) and f.has_years
    pd.testing.assert_frame_equal(f.scores, b.scores, check_exact=True)
    pd.testing.assert_frame_equal(f.ranks, b.ranks.astype(float), check_exact=True)
    pd.testing.assert_frame_equal(f.change, b.change, check_exact=True)
    assert f.stages == tuple(b.tables)
    for stage, wide in b.tables.items():
        pd.testing.assert_frame_equal(f.table(stage), wide, check_exact=True, check_names=False)
    same(f.scores_long, b.scores_long())
    for name in ("weights", "fitted", "treatment", "imputed", "contributions", "grades"):
        same(getattr(f, name), text_as_written(getattr(b, name)))
    assert len(f.imputed) == 1 and f.imputed["unit"].tolist() == ["NULL"]  # the one missing cell
    assert f.targets is None and f.audit is None and f.sensitivity is None and not f.has_report
    assert [s["step"] for s in f.log] == [s.step for s in b.log]
    assert f.manifest["layout"] == LONG


def test_wide_layout_reads_back_the_build(firms):
    b, d = firms
    f = load_build(d)
    assert f.layout == WIDE and f.is_large and f.spec == b.spec
    pd.testing.assert_frame_equal(f.scores, b.scores, check_exact=True)
    aggs = list(b.spec.aggregates)
    assert list(f.ranks.columns) == aggs and f.ranked_nodes == tuple(aggs)  # indicator ranks are not written
    pd.testing.assert_frame_equal(f.ranks, b.ranks[aggs].astype(float), check_exact=True)
    pd.testing.assert_frame_equal(f.change, b.change, check_exact=True)
    same_as = json.loads((d / "tables" / "same_as.json").read_text(encoding="utf-8"))
    assert same_as and f.stages == tuple(b.tables)
    for stage, wide in b.tables.items():  # unchanged stages come from the stage they equal
        pd.testing.assert_frame_equal(f.table(stage), wide, check_exact=True, check_names=False)
    for name in ("weights", "fitted", "treatment", "imputed", "grades"):
        same(getattr(f, name), text_as_written(getattr(b, name)))
    assert f.contributions is None
    assert f.units["unit"].tolist() == b.panel.units
    ind = b.spec.indicators[3]
    np.testing.assert_array_equal(f.column("normalized", ind), b.tables["normalized"][ind].to_numpy())
    assert f.column("normalized", "no-such-indicator") is None
    assert f.grades_column().tolist() == b.grades["grade"].tolist()
    sl = f.scores_long  # the long view of the wide files: scores and changes of every node, ranks of aggregates
    ref = b.scores_long()
    same(sl.drop(columns="rank"), ref.drop(columns="rank"))
    agg = sl["node"].isin(aggs).to_numpy()
    assert sl["rank"][agg].tolist() == ref["rank"][agg].tolist() and sl["rank"][~agg].isna().all()


def test_the_two_layouts_of_one_build_read_alike(small):
    b, long_dir, wide_dir = small
    lf, wf = load_build(long_dir), load_build(wide_dir)
    assert (lf.layout, wf.layout) == (LONG, WIDE)
    pd.testing.assert_frame_equal(lf.scores, wf.scores, check_exact=True)
    for stage in b.tables:
        pd.testing.assert_frame_equal(lf.table(stage), wf.table(stage), check_exact=True)
    same(lf.grades, wf.grades)
    assert lf.units["unit"].tolist() == wf.units["unit"].tolist() == ["NA", "NULL", "N/A", "#N/A"]


def test_unit_codes_that_look_missing_stay_codes(small):
    b, d, wide_dir = small
    for f in (load_build(d), load_build(wide_dir)):
        assert f.scores.index.get_level_values("unit").unique().tolist() == ["NA", "NULL", "N/A", "#N/A"]
        assert f.unit_names() == {"NA": "Namibia", "NULL": "Null Island", "N/A": "N/A", "#N/A": "Nowhere"}
        assert f.scores.loc[("NA", 2021), "IDX"] == b.scores.loc[("NA", 2021), "IDX"]
    assert set(load_build(d).table_long("raw")["unit"]) == {"NA", "NULL", "N/A", "#N/A"}


def test_byte_order_marks_and_extra_columns_are_read(small, tmp_path):
    """CSV written for Excel (UTF-8 with a BOM) and a name column beside the codes read the same."""
    b, d, _ = small
    bom = tmp_path / "bom"
    shutil.copytree(d, bom)
    scores = pd.read_csv(bom / "scores.csv", dtype=str, keep_default_na=False)
    scores.insert(1, "name", scores["unit"].map({"NA": "Namibia"}).fillna("0"))
    scores.to_csv(bom / "scores.csv", index=False)
    for p in bom.rglob("*.csv"):
        p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())
    f = load_build(bom)
    pd.testing.assert_frame_equal(f.scores, b.scores, check_exact=True)
    pd.testing.assert_frame_equal(f.table("raw"), b.tables["raw"], check_exact=True, check_names=False)
    assert f.units["unit"].tolist() == ["NA", "NULL", "N/A", "#N/A"]
    assert f.scores_long["name"].iloc[0] in ("Namibia", "0") and f.scores_long["name"].dtype != float


def test_numbers_are_read_exactly(tmp_path):
    """Shortest-form floats read back as the same doubles (pandas' default parser may miss by an ulp)."""
    rng = np.random.default_rng(7)
    x = rng.random(2000) * 10.0 ** rng.integers(-8, 8, 2000)
    df = pd.DataFrame({"unit": ["NA"] * len(x), "value": x, "flag": ["nan"] * len(x)})
    p = tmp_path / "t.csv"
    df.to_csv(p, index=False)
    back = read_csv(p, numeric=["value"])
    np.testing.assert_array_equal(back["value"].to_numpy(), x)
    assert back["unit"].eq("NA").all() and back["flag"].eq("nan").all()
    p.write_text("unit,value\nNA,1.5\nNULL,oops\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"t.csv: row 3, column 'value': 'oops' is not a number"):
        read_csv(p, numeric=["value"])


def test_the_spec_loads_without_its_data_file(tmp_path):
    spec_path = write_inputs(tmp_path / "in")
    b = build_from(spec_path)
    d = b.write(tmp_path / "b", excel=False)
    (tmp_path / "in" / "small.csv").unlink()
    f = load_build(d)
    assert f.spec == b.spec and f.spec.base_dir == spec_path.parent
    with pytest.raises(DataError, match="the data file it was built from is not there .*small.csv.*pass --data FILE"):
        f.inputs()



def test_the_spec_a_folder_was_written_from_is_taken_as_its_spec_yaml(small):
    b, long_dir, wide_dir = small
    for d in (long_dir, wide_dir):
        read = load_build(d).spec
        handed = load_build(d, spec=b.spec)
        assert "spec" in handed.__dict__  # taken, spec.yaml not read
        taken = handed.spec
        assert taken == read and taken.hash() == read.hash()
        assert (taken.source, taken.base_dir) == (read.source, read.base_dir)
        other = b.spec.replace("grades.cutoffs", [70, 40, 20])  # not the spec the manifest records
        refused = load_build(d, spec=other)
        assert "spec" not in refused.__dict__ and refused.spec == read


# ---- a corrupt folder is an error naming the file (exit 2) --------------------------------------
CORRUPTIONS = {  # kind: (file, its new bytes or None to delete it, what the error must say)
    "no manifest": ("manifest.json", None, "not a finished build folder: manifest.json missing"),
    "garbled manifest": ("manifest.json", b'{"layout": ', "manifest.json: not valid JSON"),
    "manifest not an object": ("manifest.json", b"[1, 2]", "manifest.json: not a build manifest"),
    "unknown layout": ("manifest.json", b'{"layout": "zip"}', "manifest.json: unknown layout 'zip'"),
    "no scores": ("scores.csv", None, "not a finished build folder: scores.csv missing"),
    "binary scores": ("scores.csv", b"unit,year\n\xff\xfe\x00bad\n", "scores.csv: cannot read it as a CSV file"),
    "scores without nodes": ("scores.csv", b"unit,year,score\nNA,2020,1\n", "scores.csv: column 'node' missing"),
    "text score": ("scores.csv", b"unit,year,node,score\nNA,2020,IDX,high\n",
                   "scores.csv: row 2, column 'score': 'high' is not a number"),
    "duplicated score": ("scores.csv", b"unit,year,node,score\nNA,2020,IDX,1\nNA,2020,IDX,2\n",
                         "scores.csv: (NA, 2020, IDX) appears more than once"),
    "garbled spec": ("spec.yaml", b"tree: [", "spec.yaml: line 1, column 8: not valid YAML"),
    "no stage tables": ("tables", None, "no stage table 'raw'"),
}


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_diff_of_a_corrupt_folder_exits_2_naming_the_file(small, tmp_path, capsys, kind):
    _, good, _ = small
    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    name, content, expected = CORRUPTIONS[kind]
    if content is not None:
        (bad / name).write_bytes(content)
    elif (bad / name).is_dir():
        shutil.rmtree(bad / name)
    else:
        (bad / name).unlink()
    assert main(["diff", str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert expected in err and str(bad) in err and "internal error" not in err and "Traceback" not in err
    assert err.count("\n") == 1


def test_corrupt_parquet_exits_2_naming_the_file(small, tmp_path, capsys):
    _, _, wide = small
    bad = tmp_path / "bad"
    shutil.copytree(wide, bad)
    (bad / "scores.parquet").write_bytes(b"PAR1 not really")
    assert main(["diff", str(wide), str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad / 'scores.parquet'}: cannot read it as a Parquet file" in err
    assert main(["diff", str(wide), str(bad / "nowhere")]) == 2
    assert "nowhere: no such build folder" in capsys.readouterr().err


# ---- diff ------------------------------------------------------------------------------------
def expected_score_changes(a: ie.Build, b: ie.Build, tol: float = 1e-9) -> pd.DataFrame:
    """The cells whose score differs, computed from the two Builds with pandas."""
    old, new = a.scores.stack(future_stack=True), b.scores.stack(future_stack=True)
    both = pd.concat([old.rename("old"), new.rename("new")], axis=1)
    diff = (both["old"] - both["new"]).abs() > tol
    diff |= both["old"].isna() != both["new"].isna()
    out = both[diff].reset_index()
    out.columns = ["unit", "year", "node", "old", "new"]
    return out.sort_values(["unit", "year", "node"]).reset_index(drop=True)


def test_diff_of_two_large_builds(firms, tmp_path, capsys):
    b, a_dir = firms
    spec = b.spec.replace("tree.INPUT.weight", 3.0)
    v = b.panel.values.copy()
    ind = b.spec.indicators[2]
    cell = (v.index[np.flatnonzero(v[ind].notna().to_numpy())[0]], ind)
    v.loc[cell] = v.loc[cell] + 1.0
    panel = ie.Panel(v, b.panel.attrs, None, b.panel.sources, b.panel.file, b.panel.sha256, b.panel.has_years)
    b2 = ie.build(spec, panel)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(outputs, "LARGE_ROWS", 100)
        b_dir = b2.write(tmp_path / "b", excel=False)
    d = diff_builds(a_dir, b_dir)
    exp = expected_score_changes(b, b2)
    assert len(d.scores) == len(exp) > 0
    assert d.scores["unit"].tolist() == exp["unit"].tolist() and d.scores["node"].tolist() == exp["node"].tolist()
    np.testing.assert_array_equal(d.scores["score_new"].to_numpy(), exp["new"].to_numpy())
    assert (d.scores["what"] == "changed").all()
    aggs = list(b.spec.aggregates)
    ranks_changed = (b.ranks[aggs].fillna(-1) != b2.ranks[aggs].fillna(-1)).to_numpy().sum()
    assert len(d.ranks) == ranks_changed and set(d.ranks["node"]) <= set(b.spec.aggregates)
    assert d.data[["unit", "indicator", "what"]].values.tolist() == [[cell[0][0], cell[1], "changed"]]
    assert d.data["change"].iloc[0] == pytest.approx(1.0)
    assert "tree.INPUT.weight" in d.spec["path"].tolist()
    assert main(["diff", str(a_dir), str(b_dir), "--out", str(tmp_path / "d"), "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert f"scores_changed: {len(exp)}" in out
    assert pd.read_csv(tmp_path / "d" / "scores.csv").shape[0] == len(exp)


def test_diff_across_layouts(small, tmp_path):
    b, long_dir, wide_dir = small
    assert diff_builds(long_dir, wide_dir).summary() == diff_builds(long_dir, long_dir).summary()
    assert all(v == 0 for v in diff_builds(wide_dir, long_dir).summary().values())
    # the NA unit's raw value revised: the data diff pairs it with NA, not with a missing code
    frame = small_frame()
    frame.loc[(frame["unit"] == "NA") & (frame["year"] == 2021), "a"] = 2.5
    b2 = build_from(write_inputs(tmp_path / "in2", frame))
    new_long = b2.write(tmp_path / "long2", excel=False)
    new_wide = write_wide(b2, tmp_path / "wide2")
    ref = diff_builds(long_dir, new_long)
    assert ref.data[["unit", "year", "indicator", "value_old", "value_new"]].values.tolist() == [["NA", "2021", "a", 2.0, 2.5]]
    exp = expected_score_changes(b, b2)
    assert ref.scores[["unit", "node"]].values.tolist() == exp[["unit", "node"]].values.tolist()
    for old, new in ((wide_dir, new_wide), (long_dir, new_wide), (wide_dir, new_long)):
        d = diff_builds(old, new)
        for kind in ("scores", "data", "weights", "parameters", "spec"):
            same(getattr(d, kind), getattr(ref, kind))
        aggs = ref.ranks[ref.ranks["node"].isin(b.spec.aggregates)]
        same(d.ranks, aggs)  # ranks of the aggregates: what a wide folder holds


# ---- audit --build and sensitivity --build ------------------------------------------------------
@pytest.fixture
def built(tmp_path, capsys) -> tuple[Path, Path]:
    """The small spec built by the CLI with its report; returns (spec path, build folder)."""
    spec_path = write_inputs(tmp_path / "in")
    out = tmp_path / "b"
    assert main(["build", str(spec_path), "--out", str(out), "--no-excel"]) == 0
    capsys.readouterr()
    return spec_path, out


def test_audit_build_writes_the_audit_of_that_build(built, tmp_path, capsys):
    spec_path, d = built
    assert not (d / "report" / "robustness.html").exists()
    assert main(["audit", "--build", str(d)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {d / 'audit'}" in out and "TINY: audit of 4 indicators" in out
    expected = audit(build_from(spec_path)).write(tmp_path / "expected")
    files = sorted(p.name for p in expected.iterdir())
    assert sorted(p.name for p in (d / "audit").iterdir()) == files
    for name in files:
        assert (d / "audit" / name).read_bytes() == (expected / name).read_bytes(), name
    assert (d / "report" / "robustness.html").is_file()  # the report was rendered again with the audit
    assert set(load_build(d).audit) == {n[:-4] for n in files if n.endswith(".csv")}
    assert not list(d.glob(".audit.*"))  # no temporary folder left behind
    assert main(["audit", "--build", str(d)]) == 2
    assert "audit: the folder exists already; pass --force" in capsys.readouterr().err
    assert main(["audit", str(spec_path), "--build", str(d), "--force"]) == 0  # the same spec may be named


def test_audit_build_refuses_what_is_not_that_build(built, tmp_path, capsys):
    spec_path, d = built
    cases = [
        (["--build", str(d), "--out", str(tmp_path / "x")], "give one of them"),
        (["--build", str(d), "--set", "steps.impute.method=median"], "--set cannot change the spec of an existing build"),
        ([str(ROOT / "weights/examples/hdi.yaml"), "--build", str(d)], "that build was made from another spec"),
        (["--build", str(tmp_path / "nope")], "nope: no such build folder"),
        ([], "give a SPEC, or --build DIR"),
    ]
    for args, message in cases:
        assert main(["audit", *args]) == 2, args
        assert message in capsys.readouterr().err, args
    frame = small_frame()
    frame.loc[0, "a"] = 9.0
    frame.to_csv(spec_path.parent / "small.csv", index=False)  # the data changed since the build
    assert main(["audit", "--build", str(d)]) == 2
    assert "not the data" in capsys.readouterr().err and not (d / "audit").exists()
    original = tmp_path / "original.csv"
    small_frame().to_csv(original, index=False)
    assert main(["audit", "--build", str(d), "--data", str(original)]) == 0  # the original, moved
    capsys.readouterr()


def test_rebuild_must_reproduce_the_scores(built, tmp_path):
    _, d = built
    b = build_again(d)
    scores = pd.read_csv(d / "scores.csv", dtype=str, keep_default_na=False)
    scores.loc[0, "score"] = str(float(scores.loc[0, "score"]) + 0.5)
    scores.to_csv(d / "scores.csv", index=False)
    with pytest.raises(DataError, match="does not reproduce its scores .1 differ, first NA 2020 IDX"):
        load_build(d).check_same(b)


def test_sensitivity_build_reads_spec_and_data_from_the_folder(built, capsys):
    _, d = built
    assert main(["sensitivity", "--mode", "remove", "--build", str(d)]) == 0
    assert (d / "sensitivity" / "remove_one.csv").is_file() and "wrote" in capsys.readouterr().out
    assert load_build(d).sensitivity["remove_one"]["mean_abs_rank_change"].dtype == float
    assert main(["sensitivity", "--mode", "remove", "--build", str(d), "--set", "steps.impute.method=median"]) == 2
    assert "--set cannot change the spec" in capsys.readouterr().err
    assert main(["sensitivity", "--mode", "remove"]) == 2
    assert "give a SPEC, or --build DIR" in capsys.readouterr().err


def test_tables_of_a_sub_folder_are_read_when_first_asked_for(tmp_path):
    from index_engine.folder import TablesOnDemand

    (tmp_path / "good.csv").write_text("unit,value\nA,1.5\nB,\n", encoding="utf-8")
    (tmp_path / "bad.csv").write_bytes(b"\xff\xfe\x00broken")
    read: list[str] = []

    def reader(stem, path):
        read.append(stem)
        return read_csv(path, auto=True)

    tables = TablesOnDemand({p.stem: p for p in sorted(tmp_path.glob("*.csv"))}, reader)
    assert list(tables) == ["bad", "good"] and len(tables) == 2 and "good" in tables and "other" not in tables
    assert read == []  # listing and membership read nothing
    assert tables["good"]["value"].tolist()[0] == 1.5 and tables.get("good") is tables["good"]
    assert read == ["good"]  # once
    with pytest.raises(DataError, match="bad.csv"):
        tables["bad"]
