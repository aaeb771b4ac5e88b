"""index_engine.diff: what changed between two build folders, cell by cell, named by unit, year and node."""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import index_engine as ie
import index_engine.outputs as outputs
from index_engine.diff import BuildDiff, _compare_wide, _flatten, diff_builds
from index_engine.errors import OutputExistsError
from index_engine.folder import load_build

from .conftest import TINY_SPEC, tiny_frame

E_VALUES = [7.0, 8.0, 9.0, 10.0, 11.0, 12.0]
"""Indicator ``e`` in the rows of tiny_frame: U1, U2, U3 in 2020, then in 2021."""


def tiny_build(spec: dict | ie.Spec, frame: pd.DataFrame) -> ie.Build:
    if isinstance(spec, dict):
        spec = ie.spec_from_dict(spec, label="tiny.yaml")
    return ie.build(spec, ie.panel_from_frame(frame, spec))


def with_e() -> dict:
    """The tiny spec with a fifth indicator ``e`` (weight 1) under D2."""
    d = copy.deepcopy(TINY_SPEC)
    d["tree"]["children"][1]["children"].append({"code": "e"})
    return d


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict[str, tuple[ie.Build, Path]]:
    """The tiny build and revisions of it, each with its folder:

    - ``base``: the tiny spec and data; ``wide``: the same build in the wide (Parquet) layout;
    - ``reweighted``: D2's weight 1 instead of 2;
    - ``with_e``: an indicator ``e`` added under D2;
    - ``with_u4``: a unit U4 in 2020 whose values lie inside every indicator's range.
    """
    root = tmp_path_factory.mktemp("diff")
    frame = tiny_frame()
    u4 = pd.DataFrame([{"unit": "U4", "year": 2020, "a": 3.0, "b": 3.0, "c": 20.0, "d": 200.0}])
    made = {
        "base": tiny_build(TINY_SPEC, frame),
        "reweighted": tiny_build(ie.spec_from_dict(TINY_SPEC, label="tiny.yaml").replace("tree.D2.weight", 1), frame),
        "with_e": tiny_build(with_e(), frame.assign(e=E_VALUES)),
        "with_u4": tiny_build(TINY_SPEC, pd.concat([frame, u4], ignore_index=True)),
    }
    out = {name: (b, b.write(root / name, excel=False)) for name, b in made.items()}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(outputs, "LARGE_ROWS", 1)
        out["wide"] = (made["base"], made["base"].write(root / "wide", excel=False))
    return out


def folder(builds, name: str) -> Path:
    return builds[name][1]


def rows(df: pd.DataFrame) -> list[list]:
    return df.values.tolist()


# ---- scores ------------------------------------------------------------------------------------
def test_changed_scores_are_named_by_unit_year_and_node_with_their_change(builds):
    """D2's weight 2 → 1 moves IDX from D1/3 + 2·D2/3 to (D1 + D2)/2: a change of (D1 − D2)/6,
    none where D1 = D2 (U1 2020, both 0). Only IDX changes."""
    base = builds["base"][0].scores
    d = diff_builds(folder(builds, "base"), folder(builds, "reweighted"))
    new_idx = (base["D1"] + base["D2"]) / 2
    expected = [
        [u, str(y), "IDX", base.loc[(u, y), "IDX"], new_idx[(u, y)], (base.loc[(u, y), "D1"] - base.loc[(u, y), "D2"]) / 6,
         "changed"]
        for u, y in [("U1", 2021), ("U2", 2020), ("U2", 2021), ("U3", 2020), ("U3", 2021)]
    ]
    assert list(d.scores.columns) == ["unit", "year", "node", "score_old", "score_new", "change", "what"]
    assert [r[:3] + r[6:] for r in rows(d.scores)] == [r[:3] + r[6:] for r in expected]
    np.testing.assert_allclose(d.scores[["score_old", "score_new", "change"]].to_numpy(float),
                               [r[3:6] for r in expected], rtol=1e-12)
    assert d.scores.loc[d.scores["unit"] == "U2", "change"].iloc[0] == pytest.approx((37.5 - 85.869565217) / 6)


def test_score_differences_within_tol_are_not_listed(builds):
    base = builds["base"][0].scores
    change = ((base["D1"] - base["D2"]) / 6).round(9)
    big = change[change.abs() > 1.0]
    assert len(big) == 2  # U2 2020 (−8.06) and U3 2020 (+4.71)
    d = diff_builds(folder(builds, "base"), folder(builds, "reweighted"), tol=1.0)
    assert d.scores[["unit", "year"]].values.tolist() == [[u, str(y)] for u, y in big.index]
    assert d.summary()["scores_changed"] == 2
    assert len(d.ranks) == 2  # ranks are compared exactly, whatever tol


def test_the_summary_counts_each_kind_and_the_largest_score_change(builds):
    base = builds["base"][0].scores
    largest = ((base["D1"] - base["D2"]) / 6).abs().max()
    s = diff_builds(folder(builds, "base"), folder(builds, "reweighted")).summary()
    assert s == {
        "scores_changed": 5, "max_abs_score_change": pytest.approx(largest, rel=1e-12), "ranks_changed": 2,
        "weights_changed": 6, "parameters_changed": 0, "data_cells_changed": 0, "spec_values_changed": 1,
    }


# ---- ranks -------------------------------------------------------------------------------------
def test_changed_ranks_are_named_by_unit_year_and_node(builds):
    """In 2020 the reweighted IDX puts U3 (73.4) before U2 (61.7); before, U2 (69.7) led U3 (68.7)."""
    base = builds["base"][0].scores
    old = base["IDX"].groupby(level="year").rank(ascending=False)
    new = ((base["D1"] + base["D2"]) / 2).groupby(level="year").rank(ascending=False)
    moved = old[old != new].index
    expected = [[u, str(y), "IDX", old[(u, y)], new[(u, y)], new[(u, y)] - old[(u, y)], "changed"] for u, y in moved]
    d = diff_builds(folder(builds, "base"), folder(builds, "reweighted"))
    assert rows(d.ranks) == expected == [["U2", "2020", "IDX", 1.0, 2.0, 1.0, "changed"],
                                         ["U3", "2020", "IDX", 2.0, 1.0, -1.0, "changed"]]


# ---- weights, parameters, data and spec ----------------------------------------------------------
def test_effective_weights_that_changed_are_listed_by_node(builds):
    """Old: D1 1/3, D2 2/3, a = b = c = 1/6, d = 2/3 · 3/4; new: D1 = D2 = 1/2, a = b = 1/4, c = 1/8, d = 3/8."""
    d = diff_builds(folder(builds, "base"), folder(builds, "reweighted"))
    expected = {"D1": (1 / 3, 1 / 2), "D2": (2 / 3, 1 / 2), "a": (1 / 6, 1 / 4), "b": (1 / 6, 1 / 4),
                "c": (1 / 6, 1 / 8), "d": (1 / 2, 3 / 8)}
    got = {r["node"]: r for r in d.weights.to_dict("records")}
    assert set(got) == set(expected)
    for node, (old, new) in expected.items():
        assert got[node]["effective_weight_old"] == pytest.approx(old, rel=1e-12)
        assert got[node]["effective_weight_new"] == pytest.approx(new, rel=1e-12)
        assert got[node]["change"] == pytest.approx(new - old, rel=1e-12) and got[node]["what"] == "changed"


def test_the_spec_value_that_changed_is_named_by_its_path(builds):
    d = diff_builds(folder(builds, "base"), folder(builds, "reweighted"))
    assert rows(d.spec) == [["tree.D2.weight", 2.0, 1.0]]
    assert d.data.empty and d.parameters.empty


def test_a_revised_data_cell_of_a_one_period_index_has_an_empty_year(tmp_path):
    """2020 only, no year column; U1's a 1 → 1.5 raises a's minimum, so U2's a is (2 − 1.5)/(4 − 1.5) = 20
    (was (2 − 1)/(4 − 1) = 33.3), D1 = (20 + 50)/2 = 35 and IDX = 35/3 + 2·87.5/3 = 70."""
    frame = tiny_frame().query("year == 2020").drop(columns="year")
    old = tiny_build(TINY_SPEC, frame).write(tmp_path / "old", excel=False)
    new = tiny_build(TINY_SPEC, frame.assign(a=[1.5, 2.0, 4.0])).write(tmp_path / "new", excel=False)
    d = diff_builds(old, new)
    assert rows(d.data) == [["U1", "", "a", 1.0, 1.5, 0.5, "changed"]]
    assert d.scores[["unit", "year", "node", "what"]].values.tolist() == [
        ["U2", "", "D1", "changed"], ["U2", "", "IDX", "changed"], ["U2", "", "a", "changed"]]
    np.testing.assert_allclose(d.scores["score_old"], [(100 / 3 + 50) / 2, (100 / 3 + 50) / 6 + 2 * 87.5 / 3, 100 / 3])
    np.testing.assert_allclose(d.scores["score_new"], [35.0, 70.0, 20.0])
    assert rows(d.parameters) == [["a", "all", "min", 1.0, 1.5, 0.5, "changed"]]


# ---- nodes and units only one folder has -----------------------------------------------------------
def test_a_node_only_the_new_build_has_is_added_everywhere_it_appears(builds):
    """e is 7 … 12 in the rows U1, U2, U3 of 2020 then 2021: min-max gives 0, 20, 40, 60, 80, 100.
    Its effective weight is 2/3 · 1/5; ranks are compared for the nodes both builds have."""
    d = diff_builds(folder(builds, "base"), folder(builds, "with_e"))
    added = d.scores[d.scores["node"] == "e"]
    assert added[["unit", "year", "score_new"]].values.tolist() == [
        ["U1", "2020", 0.0], ["U1", "2021", 60.0], ["U2", "2020", 20.0], ["U2", "2021", 80.0],
        ["U3", "2020", 40.0], ["U3", "2021", 100.0]]
    assert (added["what"] == "added").all() and added[["score_old", "change"]].isna().all().all()
    assert set(d.scores.loc[d.scores["what"] == "changed", "node"]) == {"D2", "IDX"}
    assert "e" not in set(d.ranks["node"])
    e_weight = d.weights[d.weights["node"] == "e"]
    assert e_weight["what"].tolist() == ["added"] and e_weight["effective_weight_new"].iloc[0] == pytest.approx(2 / 15)
    assert rows(d.parameters.fillna(-1)) == [
        ["e", "all", "max", -1, 12.0, -1, "added"], ["e", "all", "min", -1, 7.0, -1, "added"]]
    assert sorted(d.data["value_new"]) == E_VALUES and set(d.data["what"]) == {"added"} and set(d.data["indicator"]) == {"e"}
    spec = {r["path"]: (r["old"], r["new"]) for r in d.spec.to_dict("records")}
    assert spec["tree.e.code"] == (None, "e") and spec["tree.e.weight"] == (None, 1.0)
    assert all(path.startswith("tree.e.") for path in spec)


def test_a_node_only_the_old_build_has_is_removed(builds):
    d = diff_builds(folder(builds, "with_e"), folder(builds, "base"))
    removed = d.scores[d.scores["node"] == "e"]
    assert sorted(removed["score_old"]) == [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
    assert (removed["what"] == "removed").all() and removed[["score_new", "change"]].isna().all().all()
    assert d.weights.loc[d.weights["node"] == "e", "what"].tolist() == ["removed"]
    assert set(d.parameters["what"]) == {"removed"} and set(d.data["what"]) == {"removed"}
    assert rows(d.spec[d.spec["path"] == "tree.e.code"]) == [["tree.e.code", "e", None]]


def test_a_unit_only_the_new_build_has_is_added_and_the_others_keep_their_scores(builds):
    """U4's values lie inside every range, so the min-max bounds and the other units' scores stay;
    U4 takes second place in 2020 for D1 (50 vs U2's 37.5) and pushes U1 down from third to fourth."""
    d = diff_builds(folder(builds, "base"), folder(builds, "with_u4"))
    assert set(d.scores["unit"]) == {"U4"} and len(d.scores) == 7 and set(d.scores["what"]) == {"added"}
    assert d.scores.loc[d.scores["node"] == "a", "score_new"].tolist() == [50.0]  # (3 − 1)/(5 − 1)
    ranks = {(r["unit"], r["node"]): (r["rank_old"], r["rank_new"], r["what"]) for r in d.ranks.to_dict("records")}
    assert ranks[("U1", "IDX")] == (3.0, 4.0, "changed") and ranks[("U2", "D1")] == (2.0, 3.0, "changed")
    assert ranks[("U4", "D1")][1:] == (2.0, "added") and math.isnan(ranks[("U4", "D1")][0])
    assert set(d.ranks["year"]) == {"2020"}
    assert rows(d.data[["unit", "indicator", "value_new", "what"]]) == [
        ["U4", "a", 3.0, "added"], ["U4", "b", 3.0, "added"], ["U4", "c", 20.0, "added"], ["U4", "d", 200.0, "added"]]


def test_a_diff_of_added_scores_only_has_a_largest_change_of_zero_and_strict_json(builds, tmp_path):
    d = diff_builds(folder(builds, "base"), folder(builds, "with_u4"))
    assert d.summary()["scores_changed"] == 7
    assert d.summary()["max_abs_score_change"] == 0.0
    out = d.write(tmp_path / "d")

    def no_constant(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"), parse_constant=no_constant)
    assert summary["max_abs_score_change"] == 0.0


# ---- layouts and arguments -----------------------------------------------------------------------
def test_a_wide_old_folder_against_a_long_new_one_with_an_added_node(builds):
    """The same listing as long against long. With e, D2 (2020: U2 72.7, U3 55.4) keeps its order and IDX
    (U2 61.0, U3 66.1) swaps U2 and U3; the wide layout holds the aggregates' ranks only."""
    long_long = diff_builds(folder(builds, "base"), folder(builds, "with_e"))
    d = diff_builds(folder(builds, "wide"), folder(builds, "with_e"))
    assert load_build(folder(builds, "wide")).ranked_nodes == ("D1", "D2", "IDX")
    for kind in ("scores", "weights", "parameters", "data", "spec"):
        pd.testing.assert_frame_equal(getattr(d, kind), getattr(long_long, kind), check_dtype=False)
    pd.testing.assert_frame_equal(d.ranks, long_long.ranks, check_dtype=False)
    assert rows(d.ranks) == [
        ["U2", "2020", "IDX", 1.0, 2.0, 1.0, "changed"], ["U3", "2020", "IDX", 2.0, 1.0, -1.0, "changed"]]


def test_open_build_folders_are_compared_like_their_paths(builds):
    a, b = folder(builds, "base"), folder(builds, "reweighted")
    d = diff_builds(load_build(a), load_build(b))
    assert (d.old, d.new) == (str(a), str(b))
    pd.testing.assert_frame_equal(d.scores, diff_builds(str(a), str(b)).scores)


def test_a_build_against_itself_lists_nothing_in_named_columns(builds):
    d = diff_builds(folder(builds, "with_e"), folder(builds, "with_e"))
    assert list(d.scores.columns) == ["unit", "year", "node", "score_old", "score_new", "change", "what"]
    assert list(d.ranks.columns) == ["unit", "year", "node", "rank_old", "rank_new", "change", "what"]
    assert list(d.data.columns) == ["unit", "year", "indicator", "value_old", "value_new", "change", "what"]
    assert list(d.parameters.columns) == ["indicator", "pool", "parameter", "old", "new", "change", "what"]
    assert list(d.spec.columns) == ["path", "old", "new"]
    assert all(len(getattr(d, k)) == 0 for k in ("scores", "ranks", "weights", "parameters", "data", "spec"))
    assert d.scores["score_old"].dtype == float and d.summary()["max_abs_score_change"] == 0.0


# ---- writing the diff ----------------------------------------------------------------------------
def test_the_diff_is_written_as_a_csv_per_kind_and_a_summary(builds, tmp_path):
    a, b = folder(builds, "base"), folder(builds, "reweighted")
    d = diff_builds(a, b)
    out = d.write(tmp_path / "d")
    assert out == tmp_path / "d"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["scores.csv", "ranks.csv", "weights.csv", "parameters.csv", "data.csv", "spec.csv", "summary.json"])
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary == {"old": str(a), "new": str(b), **d.summary()}
    ranks = pd.read_csv(out / "ranks.csv", encoding="utf-8-sig", dtype={"year": str})
    assert rows(ranks) == [["U2", "2020", "IDX", 1.0, 2.0, 1.0, "changed"], ["U3", "2020", "IDX", 2.0, 1.0, -1.0, "changed"]]
    scores = pd.read_csv(out / "scores.csv", encoding="utf-8-sig")
    np.testing.assert_allclose(scores["change"], d.scores["change"], rtol=1e-9)
    assert pd.read_csv(out / "data.csv", encoding="utf-8-sig").empty
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_writing_a_diff_over_an_existing_folder_needs_force(builds, tmp_path):
    d = diff_builds(folder(builds, "base"), folder(builds, "reweighted"))
    out = tmp_path / "d"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match=f"^{re.escape(str(out))}: the folder exists already"):
        d.write(out)
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    d.write(out, force=True)
    assert "keep.txt" not in {p.name for p in out.iterdir()} and (out / "summary.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_a_build_diff_is_a_frozen_record():
    empty = pd.DataFrame()
    d = BuildDiff("a", "b", *(empty,) * 6)
    with pytest.raises(AttributeError):
        d.old = "c"


# ---- the comparison of two wide tables, and the spec's paths -------------------------------------
def wide(cells: dict[tuple[str, int], dict[str, float]]) -> pd.DataFrame:
    idx = pd.MultiIndex.from_tuples(list(cells), names=["unit", "year"])
    return pd.DataFrame(list(cells.values()), index=idx)


def test_compare_wide_pairs_cells_by_row_and_column():
    """Changed, gone missing, within tol, both missing, a column and a row only one side has."""
    old = wide({("B", 2021): {"x": 1.0, "y": np.nan, "z": 5.0}, ("A", 2020): {"x": 2.0, "y": 3.0, "z": 6.0}})
    new = wide({("A", 2020): {"x": 2.0 + 1e-12, "y": np.nan, "w": 9.0}, ("C", 0): {"x": 4.0, "y": 1.0, "w": 1.0}})
    got = _compare_wide(old, new, "node", "score", 1e-9).fillna(-1)
    assert rows(got) == [
        ["A", "2020", "w", -1, 9.0, -1, "added"],
        ["A", "2020", "y", 3.0, -1, -1, "changed"],
        ["A", "2020", "z", 6.0, -1, -1, "removed"],
        ["B", "2021", "x", 1.0, -1, -1, "removed"],
        ["B", "2021", "z", 5.0, -1, -1, "removed"],
        ["C", "", "w", -1, 1.0, -1, "added"],
        ["C", "", "x", -1, 4.0, -1, "added"],
        ["C", "", "y", -1, 1.0, -1, "added"],
    ]


def test_compare_wide_of_equal_rows_gives_the_change_new_minus_old():
    old = wide({("A", 2020): {"x": 1.0, "y": 2.0}, ("B", 2020): {"x": 3.0, "y": 4.0}})
    new = wide({("A", 2020): {"x": 1.5, "y": 2.0}, ("B", 2020): {"x": 3.0, "y": 3.0}})
    assert rows(_compare_wide(old, new, "indicator", "value", 0.0)) == [
        ["A", "2020", "x", 1.0, 1.5, 0.5, "changed"], ["B", "2020", "y", 4.0, 3.0, -1.0, "changed"]]
    assert rows(_compare_wide(old, new, "indicator", "value", 0.5)) == [["B", "2020", "y", 4.0, 3.0, -1.0, "changed"]]


def test_spec_paths_name_tree_nodes_by_their_code():
    data = {
        "index": {"id": "X"},
        "tree": {"code": "IDX", "weight": 1, "children": [{"code": "a", "weight": 2, "children": []}]},
        "uncertainty": {"f": {"values": (1, 2)}},
        "measures": [{"code": "M1"}],
    }
    assert _flatten(data) == {
        "index.id": "X", "tree.IDX.code": "IDX", "tree.IDX.weight": 1, "tree.a.code": "a", "tree.a.weight": 2,
        "uncertainty.f.values": [1, 2], "measures[0].code": "M1",
    }
