"""index_engine.tables: effective weights, the weights table, grades, contributions, the change on the previous year."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import index_engine as ie
from index_engine.tables import (
    change_on_previous_year,
    contributions,
    default_weights,
    effective_weights,
    grade_table,
    weight_table,
)

# IDX ─┬─ P (2) ─┬─ D1 (1) ─┬─ a (1)
#      │         │          └─ b (3)
#      │         └─ c (1)
#      └─ D2 (1) ─┬─ d (1)
#                 ├─ e (0)
#                 └─ f (2)
DEEP_TREE = {
    "code": "IDX",
    "children": [
        {"code": "P", "weight": 2, "children": [
            {"code": "D1", "children": [{"code": "a"}, {"code": "b", "weight": 3}]},
            {"code": "c"},
        ]},
        {"code": "D2", "children": [{"code": "d"}, {"code": "e", "weight": 0}, {"code": "f", "weight": 2}]},
    ],
}

# IDX ─┬─ D1 (1) ─┬─ a (1)
#      │          └─ b (3)
#      └─ D2 (3) ─┬─ c (2)
#                 ├─ d (0)
#                 └─ e (2)
FLAT_TREE = {
    "code": "IDX",
    "children": [
        {"code": "D1", "children": [{"code": "a"}, {"code": "b", "weight": 3}]},
        {"code": "D2", "weight": 3, "children": [
            {"code": "c", "weight": 2}, {"code": "d", "weight": 0}, {"code": "e", "weight": 2},
        ]},
    ],
}


def _spec(tree: dict, **sections) -> ie.Spec:
    return ie.spec_from_dict({"index": {"id": "T", "name_en": "Tables"}, "tree": tree, **sections}, label="t.yaml")


def _normalised(spec: ie.Spec) -> dict[str, pd.Series]:
    """Each aggregate's children's nominal weights divided by their sum (what the fixed method gives)."""
    out = {}
    for code in spec.aggregates:
        kids = spec.nodes[code].children
        total = sum(k.weight for k in kids)
        out[code] = pd.Series({k.code: k.weight / total for k in kids})
    return out


def _index(rows: list[tuple[str, int]]) -> pd.MultiIndex:
    return pd.MultiIndex.from_tuples(rows, names=["unit", "year"])


# ---- effective weights ---------------------------------------------------------------------------


def test_effective_weights_are_the_products_of_the_normalised_weights_down_the_tree():
    spec = _spec(DEEP_TREE)
    eff = effective_weights(spec, _normalised(spec))
    p, d2 = 2 / 3, 1 / 3
    d1, c = p * 1 / 2, p * 1 / 2
    expected = {
        "IDX": 1.0, "P": p, "D1": d1, "a": d1 * 1 / 4, "b": d1 * 3 / 4, "c": c,
        "D2": d2, "d": d2 * 1 / 3, "e": 0.0, "f": d2 * 2 / 3,
    }
    assert set(eff.index) == set(spec.nodes) and len(eff) == len(spec.nodes)
    for code, w in expected.items():
        assert eff[code] == pytest.approx(w, abs=1e-15), code
    assert sum(eff[i] for i in spec.indicators) == pytest.approx(1.0)
    assert eff["D1"] + eff["c"] == pytest.approx(eff["P"])


def test_a_weight_zero_branch_has_effective_weight_zero_all_the_way_down():
    tree = {**DEEP_TREE, "children": [DEEP_TREE["children"][0], {**DEEP_TREE["children"][1], "weight": 0}]}
    spec = _spec(tree)
    eff = effective_weights(spec, _normalised(spec))
    assert [eff[c] for c in ("D2", "d", "e", "f")] == [0.0, 0.0, 0.0, 0.0]
    assert eff["P"] == 1.0 and eff["b"] == pytest.approx(1 / 2 * 3 / 4)


def test_effective_weights_multiply_the_weights_as_given_and_stop_where_a_node_has_none():
    """No normalisation of its own; an aggregate missing from ``weights`` gives its descendants no row."""
    spec = _spec(FLAT_TREE)
    weights = {"IDX": pd.Series({"D1": 2.0, "D2": 0.5}), "D2": pd.Series({"c": 4.0, "d": 0.0, "e": 1.0})}
    eff = effective_weights(spec, weights)
    assert eff.to_dict() == {"IDX": 1.0, "D1": 2.0, "D2": 0.5, "c": 2.0, "d": 0.0, "e": 0.5}


# ---- the weights table ---------------------------------------------------------------------------


def test_the_weight_table_has_a_row_per_node_in_tree_order():
    spec = _spec(DEEP_TREE, steps={"weights": {"method": "fixed", "by_node": {"D2": {"method": "equal"}}}})
    t = weight_table(spec, _normalised(spec))
    assert list(t.columns) == [
        "node", "parent", "level", "nominal_weight", "weight", "effective_weight", "children_weights", "diagnostics"
    ]
    assert t["node"].tolist() == ["IDX", "P", "D1", "a", "b", "c", "D2", "d", "e", "f"]
    assert t["parent"].tolist() == ["", "IDX", "P", "D1", "D1", "P", "IDX", "D2", "D2", "D2"]
    assert t["level"].tolist() == [4, 3, 2, 1, 1, 1, 2, 1, 1, 1]
    assert t["nominal_weight"].tolist() == [1, 2, 1, 1, 3, 1, 1, 1, 0, 2]
    np.testing.assert_allclose(t["weight"], [1, 2 / 3, 1 / 2, 1 / 4, 3 / 4, 1 / 2, 1 / 3, 1 / 3, 0, 2 / 3], rtol=1e-15)
    np.testing.assert_allclose(
        t["effective_weight"],
        [1, 2 / 3, 1 / 3, 1 / 12, 1 / 4, 1 / 3, 1 / 3, 1 / 9, 0, 2 / 9],
        rtol=1e-15,
    )
    assert t["children_weights"].tolist() == ["fixed", "fixed", "fixed", "", "", "", "equal", "", "", ""]
    assert (t["diagnostics"] == "").all()


def test_a_segment_weight_table_takes_its_nominal_weights_and_the_methods_given():
    spec = _spec(FLAT_TREE)
    t = weight_table(
        spec, _normalised(spec), nominal={"D1": 5.0, "e": 7.0}, methods={"D1": "fixed", "D2": "entropy", "IDX": "equal"}
    ).set_index("node")
    assert t["nominal_weight"].to_dict() == {
        "IDX": 1.0, "D1": 5.0, "a": 1.0, "b": 3.0, "D2": 3.0, "c": 2.0, "d": 0.0, "e": 7.0
    }
    assert t["children_weights"].to_dict() == {
        "IDX": "equal", "D1": "fixed", "a": "", "b": "", "D2": "entropy", "c": "", "d": "", "e": ""
    }


def test_diagnostics_are_json_text_for_the_aggregates_that_have_some():
    spec = _spec(FLAT_TREE)
    diagnostics = {
        "IDX": {"ratio": np.float64(0.5), "names": ("甲", "b"), "n": np.int64(3)},
        "D1": {},
        "a": {"ignored": 1},
    }
    t = weight_table(spec, _normalised(spec), diagnostics).set_index("node")["diagnostics"]
    assert json.loads(t["IDX"]) == {"ratio": 0.5, "names": ["甲", "b"], "n": 3}
    assert "甲" in t["IDX"]  # written as the character, not \\u7532
    assert t["D1"] == "" and t["D2"] == "" and t["a"] == ""


# ---- default weights -----------------------------------------------------------------------------


def test_default_weights_are_the_rows_without_a_segment():
    table = pd.DataFrame({
        "segment": ["", "", "big", "big", ""],
        "node": ["IDX", "D1", "IDX", "D1", "D2"],
        "weight": [1.0, 0.25, 1.0, 0.75, 0.75],
    })
    d = default_weights(table)
    assert d.index.tolist() == [0, 1, 4]
    assert d["node"].tolist() == ["IDX", "D1", "D2"] and d["weight"].tolist() == [1.0, 0.25, 0.75]


def test_default_weights_of_an_unsegmented_or_empty_table_are_the_table_itself():
    plain = pd.DataFrame({"node": ["IDX"], "weight": [1.0]})
    empty = pd.DataFrame(columns=["segment", "node", "weight"])
    assert default_weights(plain) is plain
    assert default_weights(empty) is empty


# ---- grades --------------------------------------------------------------------------------------


def _grade_by_cutoffs(score: float, cutoffs: list[float], labels: list[str]) -> str | None:
    """The first label whose cut-off the score reaches, the last label below every cut-off; no score, no grade."""
    if math.isnan(score):
        return None
    for cut, label in zip(cutoffs, labels):
        if score >= cut:
            return label
    return labels[-1]


def _grades(g: pd.DataFrame) -> list[str | None]:
    """The grade column with a missing grade as None."""
    return [None if pd.isna(x) else x for x in g["grade"]]


def _quantile(values: list[float], q: float) -> float:
    """The q-quantile of ``values`` by linear interpolation between the order statistics."""
    v = sorted(values)
    pos = q * (len(v) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def test_no_grades_section_gives_an_empty_grade_table():
    spec = _spec(FLAT_TREE)
    scores = pd.DataFrame({"IDX": [50.0]}, index=_index([("U1", 2020)]))
    g = grade_table(spec, scores)
    assert g.empty and list(g.columns) == ["unit", "year", "node", "score", "grade"]


def test_score_grades_follow_the_cutoffs_with_a_score_on_a_cutoff_taking_the_higher_grade():
    spec = _spec(FLAT_TREE, grades={"cutoffs": [60, 40, 20]})
    values = [100.0, 60.0, 59.999, 40.0, 40.0, 20.0, 19.9, 0.0, np.nan, -5.0]
    rows = [(f"U{k}", 2020 + k % 2) for k in range(len(values))]
    scores = pd.DataFrame({"IDX": values, "D1": 0.0}, index=_index(rows))
    g = grade_table(spec, scores)
    assert list(g.columns) == ["unit", "year", "node", "score", "grade"]
    assert g["unit"].tolist() == [u for u, _ in rows] and g["year"].tolist() == [y for _, y in rows]
    assert g["node"].tolist() == ["IDX"] * len(values)
    np.testing.assert_array_equal(g["score"].to_numpy(), np.array(values))
    expected = [_grade_by_cutoffs(v, [60, 40, 20], ["A", "B", "C", "D"]) for v in values]
    assert expected == ["A", "A", "B", "B", "B", "C", "D", "D", None, "D"]
    assert _grades(g) == expected


def test_grades_of_the_node_the_spec_names_with_its_own_labels():
    spec = _spec(FLAT_TREE, grades={"node": "D1", "labels": ["good", "fair", "poor"], "cutoffs": [2, 1.5]})
    index = _index([("A", 1), ("B", 1), ("C", 1)])
    scores = pd.DataFrame({"IDX": [99.0, 0.0, 50.0], "D1": [1.0, 2.5, 1.5]}, index=index)
    g = grade_table(spec, scores)
    assert g["node"].tolist() == ["D1"] * 3
    assert g["score"].tolist() == [1.0, 2.5, 1.5]
    assert g["grade"].tolist() == [_grade_by_cutoffs(v, [2, 1.5], ["good", "fair", "poor"]) for v in (1.0, 2.5, 1.5)]
    assert g["grade"].tolist() == ["poor", "good", "fair"]


def test_quantile_grades_give_the_best_shares_of_each_years_units_their_grades():
    """cut-offs [0.1, 0.4, 0.7]: the best 10% of a year's units get A, the next 30% B, the next 30% C, the rest D;
    a unit without a score gets none and does not count in its year's quantiles."""
    spec = _spec(FLAT_TREE, grades={"cutoffs": [0.1, 0.4, 0.7], "basis": "quantile"})
    units = [f"U{k:02d}" for k in range(10)]
    first = [3.0, 10.0, 1.0, 7.0, 5.0, 9.0, 2.0, 8.0, 4.0, 6.0]  # 1..10 in a shuffled order
    second = [12.0, 40.0, np.nan, 33.0, 35.0, 5.0, 21.0, 18.0, 29.0, 50.0]
    rows, values = [], []
    for k, u in enumerate(units):  # unit by unit, the years interleaved
        rows += [(u, 2020), (u, 2021)]
        values += [first[k], second[k]]
    scores = pd.DataFrame({"IDX": values}, index=_index(rows))
    g = grade_table(spec, scores)
    labels = ["A", "B", "C", "D"]
    expected = []
    for (_, year), v in zip(rows, values):
        year_values = [x for (_, y), x in zip(rows, values) if y == year and not math.isnan(x)]
        cuts = [_quantile(year_values, 1 - c) for c in (0.1, 0.4, 0.7)]
        expected.append(None if math.isnan(v) else labels[sum(v < q for q in cuts)])
    assert _grades(g) == expected
    by_year = g.assign(grade=g["grade"].fillna("-")).groupby("year")["grade"].apply(lambda s: "".join(sorted(s)))
    assert by_year[2020] == "ABBBCCCDDD"
    assert g.set_index(["unit", "year"]).loc[("U01", 2020), "grade"] == "A"
    assert pd.isna(g.set_index(["unit", "year"]).loc[("U02", 2021), "grade"])


# ---- contributions -------------------------------------------------------------------------------


def _weights_frame(spec: ie.Spec) -> pd.DataFrame:
    w = _normalised(spec)
    parents = spec.parents
    weight = [1.0 if parents[c] is None else w[parents[c]][c] for c in spec.nodes]
    return pd.DataFrame({"node": list(spec.nodes), "weight": weight})


def _hand_contributions(spec: ie.Spec, scores: pd.DataFrame, parents: list[str]) -> dict[tuple, float]:
    """(unit, year, parent, child) -> parent · w·x / Σ w·x over the children with a score."""
    w = _normalised(spec)
    out = {}
    for parent in parents:
        kids = [k.code for k in spec.nodes[parent].children]
        for (unit, year), row in scores.iterrows():
            wx = {k: w[parent][k] * row[k] for k in kids if not math.isnan(row[k])}
            total = sum(wx.values())
            for k in kids:
                out[(unit, year, parent, k)] = row[parent] * wx[k] / total if k in wx else math.nan
    return out


def _flat_scores() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "a": [10.0, np.nan, 30.0, np.nan],
            "b": [2.0, 6.0, 4.0, np.nan],
            "c": [5.0, 8.0, 1.0, 3.0],
            "d": [100.0, 100.0, 100.0, 100.0],
            "e": [1.0, 2.0, 9.0, 3.0],
            "D1": [4.0, 6.0, 10.5, np.nan],
            "D2": [3.0, 5.0, 5.0, 3.0],
            "IDX": [3.25, 5.25, 6.375, 3.0],
        },
        index=_index([("U1", 2020), ("U1", 2021), ("U2", 2020), ("U2", 2021)]),
    )


def test_contributions_are_the_parents_score_shared_by_weighted_value():
    """A missing child has none and its siblings share the whole score; a child of weight 0 contributes 0; a parent
    with no child present has none."""
    spec = _spec(FLAT_TREE)
    scores = _flat_scores()
    c = contributions(spec, scores, _weights_frame(spec))
    assert list(c.columns) == ["unit", "year", "parent", "child", "contribution"]
    keys = list(zip(c["unit"], c["year"], c["parent"], c["child"]))
    assert keys == [
        (u, y, p, k)
        for p, kids in (("D1", "ab"), ("D2", "cde"), ("IDX", ["D1", "D2"]))
        for u, y in scores.index
        for k in kids
    ]
    expected = _hand_contributions(spec, scores, ["D1", "D2", "IDX"])
    got = dict(zip(keys, c["contribution"]))
    for key, value in expected.items():
        if math.isnan(value):
            assert math.isnan(got[key]), key
        else:
            assert got[key] == pytest.approx(value, rel=1e-14), key
    assert math.isnan(got[("U1", 2021, "D1", "a")]) and got[("U1", 2021, "D1", "b")] == 6.0
    assert {got[(u, y, "D2", "d")] for u, y in scores.index} == {0.0}
    assert math.isnan(got[("U2", 2021, "D1", "a")]) and math.isnan(got[("U2", 2021, "D1", "b")])
    assert got[("U2", 2021, "IDX", "D2")] == 3.0 and math.isnan(got[("U2", 2021, "IDX", "D1")])


def test_contributions_of_a_weighted_mean_add_up_to_the_parent():
    spec = _spec(FLAT_TREE)
    scores = _flat_scores()
    c = contributions(spec, scores, _weights_frame(spec))
    sums = c.dropna(subset=["contribution"]).groupby(["unit", "year", "parent"])["contribution"].sum()
    for (unit, year, parent), total in sums.items():
        assert total == pytest.approx(scores.loc[(unit, year), parent], rel=1e-14)
    assert len(sums) == 11  # every unit-year and parent but U2 2021's D1


def test_contributions_use_the_default_weights_of_a_segmented_table():
    spec = _spec(FLAT_TREE)
    scores = _flat_scores()
    plain = _weights_frame(spec)
    segmented = pd.concat(
        [plain.assign(segment=""), plain.assign(segment="big", weight=[1.0, 0.9, 0.5, 0.5, 0.1, 0.2, 0.6, 0.2])],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(contributions(spec, scores, segmented), contributions(spec, scores, plain))


def test_only_the_means_have_contributions():
    """A median or a sum has none: a spec with no mean anywhere gives an empty table with the columns."""
    medians = _spec(FLAT_TREE, steps={"aggregate": {"method": "median", "by_node": {"D2": {"method": "geometric"}}}})
    scores = _flat_scores()
    c = contributions(medians, scores, _weights_frame(medians))
    assert set(c["parent"]) == {"D2"} and len(c) == 3 * len(scores)
    expected = _hand_contributions(medians, scores, ["D2"])
    for (u, y, p, k), value in zip(zip(c["unit"], c["year"], c["parent"], c["child"]), c["contribution"]):
        assert value == pytest.approx(expected[(u, y, p, k)], rel=1e-14)
    none = _spec(FLAT_TREE, steps={"aggregate": {"method": "sum"}})
    empty = contributions(none, scores, _weights_frame(none))
    assert empty.empty and list(empty.columns) == ["unit", "year", "parent", "child", "contribution"]


def test_children_scoring_zero_contribute_zero():
    """A unit with the lowest value of every indicator of a parent (0 after min-max) has a parent score of 0, and
    each child's arithmetic-mean contribution (w/Σw)·x is 0."""
    spec = _spec(FLAT_TREE)
    scores = pd.DataFrame(
        {"a": [0.0], "b": [0.0], "c": [0.0], "d": [0.0], "e": [4.0], "D1": [0.0], "D2": [2.0], "IDX": [1.5]},
        index=_index([("U1", 2020)]),
    )
    c = contributions(spec, scores, _weights_frame(spec)).set_index(["parent", "child"])["contribution"]
    assert c[("D1", "a")] == 0.0 and c[("D1", "b")] == 0.0
    assert c[("IDX", "D1")] == 0.0


# ---- change on the previous year -----------------------------------------------------------------


def test_a_single_year_has_no_change():
    scores = pd.DataFrame({"a": [1.0, 2.0], "IDX": [3.0, 4.0]}, index=_index([("U1", 2020), ("U2", 2020)]))
    ch = change_on_previous_year(scores)
    assert ch.index.equals(scores.index) and list(ch.columns) == ["a", "IDX"]
    assert ch.isna().all().all()


def _years_scores() -> pd.DataFrame:
    """Years 2018, 2020 and 2021 (no 2019), rows in no particular order; U2 has no 2020 row, U4 no 2018 row."""
    rows = [("U2", 2021), ("U1", 2020), ("U2", 2018), ("U1", 2018), ("U1", 2021), ("U3", 2021), ("U3", 2020),
            ("U4", 2021), ("U5", 2018), ("U4", 2020), ("U5", 2020)]
    return pd.DataFrame(
        {"a": [7.0, 4.0, 1.0, 2.0, 9.5, np.nan, 3.0, 8.0, 1.0, 5.0, 2.0],
         "IDX": [70.0, 40.0, 10.0, 20.0, 95.0, 33.0, 30.0, 80.0, 10.0, 50.0, 25.0]},
        index=_index(rows),
    )


def _hand_change(scores: pd.DataFrame, previous: dict[int, int]) -> dict[tuple, float]:
    values = {(u, y, col): scores.loc[(u, y), col] for u, y in scores.index for col in scores.columns}
    out = {}
    for (u, y, col), v in values.items():
        before = values.get((u, previous.get(y), col), math.nan)
        out[(u, y, col)] = v - before
    return out


def test_change_is_on_the_previous_year_of_the_panel_not_the_calendar():
    scores = _years_scores()
    ch = change_on_previous_year(scores)
    assert ch.index.equals(scores.index) and list(ch.columns) == list(scores.columns)
    expected = _hand_change(scores, {2020: 2018, 2021: 2020})
    for (u, y, col), value in expected.items():
        got = ch.loc[(u, y), col]
        assert (math.isnan(got) and math.isnan(value)) or got == value, (u, y, col)
    assert ch.loc[("U1", 2020), "IDX"] == 20.0  # 2020 on 2018
    assert ch.loc[("U1", 2021), "a"] == 5.5
    assert math.isnan(ch.loc[("U2", 2021), "IDX"])  # no 2020 row: no change, not 2021 on 2018
    assert math.isnan(ch.loc[("U3", 2021), "a"])  # no value this year
    assert ch.loc[("U4", 2021), "a"] == 3.0 and ch.loc[("U5", 2020), "a"] == 1.0
    assert ch.xs(2018, level="year").isna().all().all()


def test_a_series_break_removes_the_changes_of_its_indicator_that_span_it():
    """A break dated in year Y separates the years before Y from Y and after: a change from 2018 to 2020 spans a
    2019 break; a break dated in the first year spans nothing; a break of a column not in the table is ignored."""
    scores = _years_scores()
    breaks = pd.DataFrame(
        {
            "unit": ["U1", "U4", "U5", "U1"],
            "indicator": ["a", "a", "a", "zz"],
            "date": ["2019", "2021-07-01", "2018Q2", "2021"],
            "note": ["", "", "", ""],
        }
    )
    ch = change_on_previous_year(scores, breaks)
    plain = change_on_previous_year(scores)
    assert plain.loc[("U1", 2020), "a"] == 2.0 and math.isnan(ch.loc[("U1", 2020), "a"])
    assert ch.loc[("U1", 2021), "a"] == 5.5  # 2020 -> 2021 does not span 2019
    assert plain.loc[("U4", 2021), "a"] == 3.0 and math.isnan(ch.loc[("U4", 2021), "a"])
    assert ch.loc[("U5", 2020), "a"] == 1.0
    pd.testing.assert_series_equal(ch["IDX"], plain["IDX"])  # other columns keep theirs
    kept = [(u, y) for u, y in scores.index if (u, y) not in {("U1", 2020), ("U4", 2021)}]
    pd.testing.assert_frame_equal(ch.loc[kept], plain.loc[kept])
    pd.testing.assert_frame_equal(change_on_previous_year(scores, breaks.iloc[:0]), plain)
