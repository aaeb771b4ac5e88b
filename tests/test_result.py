"""index_engine.result: the Build's views (coverage, published scores, ranks, changes, grades, summary) and methods."""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import index_engine as ie
from index_engine.errors import UnknownIndicatorWarning
from index_engine.job import read_inputs
from index_engine.measures import COLUMNS as MEASURE_COLUMNS
from index_engine.folder import STAGE_ORDER as STAGES
from index_engine.result import Step

ROOT = Path(__file__).resolve().parents[1]

# IDX ─┬─ D1 (1) ─┬─ a (1)
#      │          └─ b (3)
#      └─ D2 (3) ─┬─ c (2)
#                 ├─ d (0)
#                 └─ e (2)
SPEC = {
    "index": {"id": "R", "name_en": "Result"},
    "tree": {
        "code": "IDX",
        "children": [
            {"code": "D1", "children": [{"code": "a"}, {"code": "b", "weight": 3}]},
            {"code": "D2", "weight": 3, "children": [
                {"code": "c", "weight": 2}, {"code": "d", "weight": 0}, {"code": "e", "weight": 2},
            ]},
        ],
    },
    "steps": {"normalize": {"method": "none"}},
}
WEIGHTS = {"D1": {"a": 1, "b": 3}, "D2": {"c": 2, "d": 0, "e": 2}, "IDX": {"D1": 1, "D2": 3}}
SHARES = {  # each indicator's nominal share of each aggregate: the weights divided by their sums, multiplied down
    "D1": {"a": 1 / 4, "b": 3 / 4},
    "D2": {"c": 1 / 2, "d": 0.0, "e": 1 / 2},
    "IDX": {"a": 1 / 4 * 1 / 4, "b": 1 / 4 * 3 / 4, "c": 3 / 4 * 1 / 2, "d": 0.0, "e": 3 / 4 * 1 / 2},
}
THRESHOLD = {"D1": 0.5, "D2": 0.5, "IDX": 0.7}  # publish: min_coverage 0.7, levels {2: 0.5}
AGGREGATES = ["D1", "D2", "IDX"]
INDICATORS = ["a", "b", "c", "d", "e"]
nan = math.nan
DATA = {  # (unit, year): a, b, c, d, e
    ("U1", 2020): (10, 1, 5, 100, 1),
    ("U2", 2020): (20, 2, 6, 100, 1),
    ("U3", 2020): (30, 3, 7, 100, 1),
    ("U4", 2020): (4, 4, 4, 100, 4),
    ("U0", 2020): (2, 2, 2, 100, 2),
    ("U1", 2021): (40, nan, 8, 100, 2),  # D1 covered 1/4: withheld
    ("U2", 2021): (50, 5, 9, 100, 2),
    ("U3", 2021): (nan, 6, 10, 100, 2),
    ("U4", 2021): (8, nan, nan, 100, 4),  # D1 1/4 withheld, D2 exactly 1/2 published, IDX 7/16 withheld
    ("U0", 2021): (nan, 6, 10, 100, 2),  # ties U3
}


def _frame() -> pd.DataFrame:
    return pd.DataFrame([{"unit": u, "year": y, **dict(zip(INDICATORS, v))} for (u, y), v in DATA.items()])


def _make(**sections) -> ie.Build:
    spec = ie.spec_from_dict({**SPEC, **sections}, label="r.yaml")
    return ie.build(spec, ie.panel_from_frame(_frame(), spec))


def _held_build() -> ie.Build:
    return _make(
        publish={"min_coverage": 0.7, "levels": {2: 0.5}}, grades={"labels": ["A", "B", "C"], "cutoffs": [6, 4]}
    )


@pytest.fixture(scope="module")
def held() -> ie.Build:
    """The build with a ``publish:`` threshold and grades; tests only read it."""
    return _held_build()


@pytest.fixture(scope="module")
def hdi() -> ie.Build:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownIndicatorWarning)  # the file's published HDI column
        return ie.build(*read_inputs(ROOT / "weights/examples/hdi.yaml"))


# ---- by hand -------------------------------------------------------------------------------------


def _mean(values: dict[str, float], weights: dict[str, float]) -> float:
    """The weighted arithmetic mean over the values present."""
    present = {k: v for k, v in values.items() if not math.isnan(v)}
    total = sum(weights[k] for k in present)
    return sum(weights[k] * v for k, v in present.items()) / total if present and total else nan


def _scores() -> dict[tuple, dict[str, float]]:
    out = {}
    for key, v in DATA.items():
        row = dict(zip(INDICATORS, (float(x) for x in v)))
        row["D1"] = _mean({k: row[k] for k in WEIGHTS["D1"]}, WEIGHTS["D1"])
        row["D2"] = _mean({k: row[k] for k in WEIGHTS["D2"]}, WEIGHTS["D2"])
        row["IDX"] = _mean({k: row[k] for k in WEIGHTS["IDX"]}, WEIGHTS["IDX"])
        out[key] = row
    return out


def _coverage() -> dict[tuple, dict[str, float]]:
    out = {}
    for key, v in DATA.items():
        seen = {k: not math.isnan(x) for k, x in zip(INDICATORS, v)}
        row = {k: float(s) for k, s in seen.items()}
        for agg, shares in SHARES.items():
            row[agg] = sum(share for k, share in shares.items() if seen[k])
        out[key] = row
    return out


def _withheld() -> dict[tuple, dict[str, bool]]:
    return {key: {agg: cov[agg] < THRESHOLD[agg] for agg in AGGREGATES} for key, cov in _coverage().items()}


def _published() -> dict[tuple, dict[str, float]]:
    held = _withheld()
    return {key: {n: (nan if held[key].get(n) else s) for n, s in row.items()} for key, row in _scores().items()}


def _ranks(values: dict[tuple, dict[str, float]]) -> dict[tuple, dict[str, float]]:
    """1 + how many units of the same year score higher (ties share the best rank); none without a score."""
    out = {}
    for (unit, year), row in values.items():
        out[(unit, year)] = {}
        for n, v in row.items():
            others = [r[n] for (u, y), r in values.items() if y == year and not math.isnan(r[n])]
            out[(unit, year)][n] = nan if math.isnan(v) else 1 + sum(o > v for o in others)
    return out


def _change(values: dict[tuple, dict[str, float]]) -> dict[tuple, dict[str, float]]:
    out = {}
    for (unit, year), row in values.items():
        before = values.get((unit, year - 1))
        out[(unit, year)] = {n: nan if before is None else v - before[n] for n, v in row.items()}
    return out


def _assert_frame_is(frame: pd.DataFrame, expected: dict[tuple, dict[str, float]], columns: list[str]) -> None:
    assert set(frame.index) == set(expected)
    for key, row in expected.items():
        for n in columns:
            got, want = frame.loc[key, n], row[n]
            if isinstance(want, float) and math.isnan(want):
                assert pd.isna(got), (key, n, got)
            else:
                assert got == pytest.approx(want, rel=1e-13, abs=1e-13), (key, n)


# ---- coverage, withheld and published scores -----------------------------------------------------


def test_coverage_is_the_nominal_share_of_observed_indicators(held):
    """A weight-0 indicator counts for nothing; a missing one counts 0 against its nominal weight."""
    assert set(held.coverage.columns) == {*INDICATORS, *AGGREGATES}
    _assert_frame_is(held.coverage, _coverage(), [*INDICATORS, *AGGREGATES])
    assert held.coverage.loc[("U4", 2021), "IDX"] == pytest.approx(7 / 16)


def test_scores_below_their_threshold_are_withheld(held):
    w = held.withheld
    assert list(w.columns) == AGGREGATES and w.index.equals(held.scores.index)
    assert w.dtypes.eq(bool).all()
    expected = _withheld()
    assert {key: w.loc[key].to_dict() for key in expected} == expected
    assert sorted((u, y, n) for (u, y), row in expected.items() for n, h in row.items() if h) == [
        ("U1", 2021, "D1"), ("U4", 2021, "D1"), ("U4", 2021, "IDX")
    ]
    assert not w.loc[("U4", 2021), "D2"]  # coverage exactly at the threshold is published


def test_published_scores_are_the_scores_with_the_withheld_ones_missing(held):
    _assert_frame_is(held.scores, _scores(), [*INDICATORS, *AGGREGATES])
    _assert_frame_is(held.published, _published(), [*INDICATORS, *AGGREGATES])
    assert held.scores.loc[("U4", 2021), "IDX"] == 5.0 and math.isnan(held.published.loc[("U4", 2021), "IDX"])


def test_without_a_publish_section_nothing_is_withheld():
    b = _make()
    assert b.withheld is None
    assert b.published is b.scores
    assert b.coverage.loc[("U4", 2021), "IDX"] == pytest.approx(7 / 16)


# ---- ranks and changes ---------------------------------------------------------------------------


def test_ranks_are_within_the_year_best_first_with_ties_sharing_the_best_rank(held):
    expected = _ranks(_published())
    _assert_frame_is(held.ranks, expected, [*INDICATORS, *AGGREGATES])
    r = held.ranks
    assert r.loc[("U3", 2021), "IDX"] == r.loc[("U0", 2021), "IDX"] == 3  # a tie
    assert r.loc[("U3", 2020), "D2"] == r.loc[("U4", 2020), "D2"] == 1 and r.loc[("U2", 2020), "D2"] == 3
    assert math.isnan(r.loc[("U1", 2021), "D1"])  # withheld: no rank
    assert r.loc[("U2", 2021), "D1"] == 1 and r.loc[("U3", 2021), "D1"] == 2


def test_ranks_of_some_nodes_are_those_nodes_ranks(held):
    expected = _ranks(_published())
    got = held.ranks_of(["IDX", "D1"])
    assert list(got.columns) == ["IDX", "D1"]
    _assert_frame_is(got, expected, ["IDX", "D1"])


def test_ranks_of_are_taken_from_the_ranks_once_these_are_made():
    b = _held_build()
    whole = b.ranks
    pd.testing.assert_frame_equal(b.ranks_of(["D2", "a"]), whole[["D2", "a"]])
    assert "_ranks_of" not in b.__dict__


def test_ranks_of_nodes_ranked_before_are_kept_and_reused():
    b = _held_build()
    first = b.ranks_of(["IDX", "D1"])
    assert [list(r.columns) for r in b.__dict__["_ranks_of"]] == [["IDX", "D1"]]
    pd.testing.assert_frame_equal(b.ranks_of(["D1"]), first[["D1"]])
    assert len(b.__dict__["_ranks_of"]) == 1  # D1 came from the ranks kept
    b.ranks_of(["D2"], keep=[])
    assert len(b.__dict__["_ranks_of"]) == 1  # keep=[]: nothing kept
    assert "ranks" not in b.__dict__


def test_change_is_the_published_score_minus_the_previous_years(held):
    expected = _change(_published())
    _assert_frame_is(held.change, expected, [*INDICATORS, *AGGREGATES])
    ch = held.change
    assert ch.loc[("U1", 2021), "IDX"] == 13.75 - 3.0625
    assert math.isnan(ch.loc[("U1", 2021), "D1"]) and math.isnan(ch.loc[("U4", 2021), "IDX"])  # withheld now
    assert ch.xs(2020, level="year").isna().all().all()


def test_change_of_some_nodes_is_their_change_with_or_without_the_whole_change():
    b = _held_build()
    expected = _change(_published())
    early = b.change_of(["IDX", "D2"])
    assert list(early.columns) == ["IDX", "D2"] and "change" not in b.__dict__
    _assert_frame_is(early, expected, ["IDX", "D2"])
    whole = b.change
    pd.testing.assert_frame_equal(b.change_of(["D2"]), whole[["D2"]])


def test_a_series_break_in_the_panel_removes_the_change_that_spans_it():
    spec = ie.spec_from_dict({**SPEC, "breaks": [{"indicator": "c", "unit": "U2", "date": "2021-03"}]}, label="r.yaml")
    b = ie.build(spec, ie.panel_from_frame(_frame(), spec))
    assert math.isnan(b.change.loc[("U2", 2021), "c"]) and math.isnan(b.change_of(["c"]).loc[("U2", 2021), "c"])
    assert b.change.loc[("U1", 2021), "c"] == 8 - 5
    assert b.change.loc[("U2", 2021), "D2"] == (18 + 4) / 4 - (12 + 2) / 4  # the aggregates keep theirs


# ---- the summary ---------------------------------------------------------------------------------


def test_the_summary_is_the_latest_year_best_first_ties_by_unit_code(held):
    s = held.summary()
    assert list(s.columns) == ["unit", "score", "rank", "change"]
    assert str(s["rank"].dtype) == "Int64"
    published, change = _published(), _change(_published())
    assert s["unit"].tolist() == ["U1", "U2", "U0", "U3", "U4"]  # U0 and U3 tie; U4 withheld, last
    assert s["rank"].tolist()[:4] == [1, 2, 3, 3] and pd.isna(s["rank"].iloc[4])
    for row in s.itertuples():
        want_score, want_change = published[(row.unit, 2021)]["IDX"], change[(row.unit, 2021)]["IDX"]
        assert (math.isnan(want_score) and math.isnan(row.score)) or row.score == pytest.approx(want_score)
        assert (math.isnan(want_change) and math.isnan(row.change)) or row.change == pytest.approx(want_change)


def test_the_top_of_the_summary_breaks_a_tie_at_the_cut_by_unit_code(held):
    top = held.summary(top=3)
    assert top["unit"].tolist() == ["U1", "U2", "U0"]
    pd.testing.assert_frame_equal(top, held.summary().head(3))
    assert held.summary(top=10)["unit"].tolist() == ["U1", "U2", "U0", "U3", "U4"]


def test_a_single_year_summary_ranks_the_hdi_as_published_with_no_change(hdi):
    """UNDP Human Development Report 2021/2022, Statistical Annex Table 1 (the file's ``hdi_published``)."""
    table = pd.read_csv(ROOT / "inputs/examples/hdi/hdi_2021.csv")
    hdr = dict(zip(table["unit"], table["hdi_published"]))
    s = hdi.summary()
    assert s["unit"].tolist() == sorted(hdr, key=lambda u: -hdr[u])
    assert s["rank"].tolist() == list(range(1, len(hdr) + 1))
    assert [round(v, 3) for v in s["score"]] == [hdr[u] for u in s["unit"]]
    assert s["change"].isna().all() and hdi.change.isna().all().all()
    assert hdi.summary(top=2)["unit"].tolist() == ["CHE", "NOR"]


# ---- grades and contributions --------------------------------------------------------------------


def test_grades_are_of_the_published_index(held):
    g = held.grades
    assert list(g.columns) == ["unit", "year", "node", "score", "grade"] and set(g["node"]) == {"IDX"}
    published = _published()

    def grade(v: float) -> str | None:
        return None if math.isnan(v) else "A" if v >= 6 else "B" if v >= 4 else "C"

    got = {(u, y): (None if pd.isna(x) else x) for u, y, x in zip(g["unit"], g["year"], g["grade"])}
    assert got == {key: grade(row["IDX"]) for key, row in published.items()}
    assert got[("U3", 2021)] == "A" and got[("U4", 2020)] == "B"  # on a cut-off: the higher grade
    assert got[("U4", 2021)] is None  # withheld: no grade


def test_a_build_without_grades_has_an_empty_grade_table():
    g = _make().grades
    assert g.empty and list(g.columns) == ["unit", "year", "node", "score", "grade"]


def test_contributions_share_each_score_and_go_missing_where_a_score_is_withheld(held):
    scores, held_cells = _scores(), _withheld()
    expected = {}
    for parent, weights in WEIGHTS.items():
        for key, row in scores.items():
            wx = {k: w * row[k] for k, w in weights.items() if not math.isnan(row[k])}
            for k in weights:
                value = row[parent] * wx[k] / sum(wx.values()) if k in wx else nan
                if held_cells[key][parent] or held_cells[key].get(k, False):
                    value = nan
                expected[(*key, parent, k)] = value
    c = held.contributions
    got = dict(zip(zip(c["unit"], c["year"], c["parent"], c["child"]), c["contribution"]))
    assert set(got) == set(expected) and len(c) == len(expected)
    for key, value in expected.items():
        assert (math.isnan(value) and math.isnan(got[key])) or got[key] == pytest.approx(value, rel=1e-13), key
    assert math.isnan(got[("U1", 2021, "D1", "a")])  # the parent withheld
    assert math.isnan(got[("U4", 2021, "IDX", "D2")])  # the parent withheld, the child published
    assert math.isnan(got[("U1", 2021, "IDX", "D1")])  # the child withheld
    assert got[("U1", 2021, "IDX", "D2")] == pytest.approx(13.75 * 15 / 55)
    assert got[("U2", 2020, "D2", "d")] == 0.0  # weight 0


# ---- effective weights ---------------------------------------------------------------------------


def test_effective_weights_of_the_hdi_are_the_undp_ones(hdi):
    """HDR 2021/2022 Technical note 1: the geometric mean of three equally weighted dimension indices, education the
    mean of its two schooling indices."""
    eff = hdi.effective_weights()
    expected = {
        "HDI": 1, "health": 1 / 3, "le": 1 / 3, "education": 1 / 3, "eys": 1 / 6, "mys": 1 / 6,
        "income": 1 / 3, "gni": 1 / 3,
    }
    assert set(eff.index) == set(expected)
    for code, w in expected.items():
        assert eff[code] == pytest.approx(w, rel=1e-15), code


def test_effective_weights_of_a_segmented_build_are_the_trees():
    b = ie.build(*_segmented())
    eff = b.effective_weights()
    assert eff.index.is_unique and len(b.weights) == 2 * len(eff)
    tree = {"IDX": 1, "D1": 1 / 4, "a": 1 / 16, "b": 3 / 16, "D2": 3 / 4, "c": 3 / 8, "d": 0, "e": 3 / 8}
    assert {k: pytest.approx(v) for k, v in tree.items()} == eff.to_dict()
    big = b.weights[b.weights["segment"] == "big"].set_index("node")["effective_weight"]
    assert big["D1"] == pytest.approx(3 / 4) and big["b"] == pytest.approx(3 / 4 * 3 / 4)


def _segmented() -> tuple[ie.Spec, ie.Panel]:
    segments = {"column": "seg", "weight_sets": {"big": {"D1": 3, "D2": 1}}}
    spec = ie.spec_from_dict({**SPEC, "segments": segments}, label="r.yaml")
    frame = _frame().assign(seg=lambda f: np.where(f["unit"] == "U2", "big", ""))
    return spec, ie.panel_from_frame(frame, spec)


# ---- the long table and the stages ---------------------------------------------------------------


def test_scores_long_lists_every_cell_by_year_then_from_the_index_down(held):
    s = held.scores_long()
    assert list(s.columns) == ["unit", "year", "node", "level", "score", "rank", "change", "status"]
    assert len(s) == len(DATA) * 8 and str(s["rank"].dtype) == "Int64"
    per_year = s.loc[s["year"] == 2020, "node"].tolist()
    assert per_year[:15] == ["IDX"] * 5 + ["D2"] * 5 + ["D1"] * 5
    assert set(per_year[15:]) == set(INDICATORS)
    assert s["year"].tolist() == [2020] * 40 + [2021] * 40
    assert s.loc[s["node"] == "IDX", "level"].eq(3).all() and s.loc[s["node"] == "a", "level"].eq(1).all()
    status = {(u, y, n): t for u, y, n, t in zip(s["unit"], s["year"], s["node"], s["status"]) if t}
    assert status == {
        ("U1", 2021, "D1"): "coverage 0.25 < 0.5",
        ("U4", 2021, "D1"): "coverage 0.25 < 0.5",
        ("U4", 2021, "IDX"): "coverage 0.44 < 0.7",
    }
    row = s[(s["unit"] == "U2") & (s["year"] == 2021) & (s["node"] == "IDX")].iloc[0]
    assert row["score"] == 8.1875 and row["rank"] == 2 and row["change"] == pytest.approx(8.1875 - 4.25)


def test_table_gives_a_stage_or_the_scores_and_names_the_stages_when_asked_for_another(held):
    assert held.table("scores") is held.scores
    assert tuple(held.tables) == STAGES
    for stage in STAGES:
        assert held.table(stage) is held.tables[stage]
    assert held.table("raw").loc[("U4", 2021), "a"] == 8.0
    stages = "raw, transformed, denominated, imputed, screened, treated, normalized"
    with pytest.raises(KeyError, match=f"no stage 'final'; stages are {stages}"):
        held.table("final")


# ---- the rest ------------------------------------------------------------------------------------


def test_a_spec_without_measures_has_an_empty_measure_table(held):
    assert held.measures.empty and list(held.measures.columns) == MEASURE_COLUMNS


def test_dropped_indicators_are_the_codes_of_the_data_steps_missing_indicators(held):
    assert held.dropped_indicators == ()
    log = (
        Step("data", "missing_indicators", {}, ("d", "e"), "data", 0),
        Step("data", "gaps", {}, ("a",), "data", 3),
        Step("impute", "missing_indicators", {}, ("b",), "steps.impute", 0),
        Step("data", "missing_indicators", {}, ("c",), "data", 0),
    )
    assert dataclasses.replace(held, log=log).dropped_indicators == ("d", "e", "c")


def test_a_step_as_a_dict_is_plain_json():
    step = Step("treat", "winsorise", {"limit": np.float64(2.5), "codes": ("a", "b"), "n": np.int64(3)}, ("a", "b"),
                "steps.treat", 4, ("a: 2 values",))
    d = step.as_dict()
    assert d == {
        "step": "treat", "method": "winsorise", "params": {"limit": 2.5, "codes": ["a", "b"], "n": 3},
        "applies_to": ["a", "b"], "spec_path": "steps.treat", "changed": 4, "notes": ["a: 2 values"],
    }
    assert json.loads(json.dumps(d)) == d


def test_a_build_equals_the_build_of_its_own_spec_and_panel_and_is_not_hashable(held):
    again = ie.build(held.spec, held.panel)
    assert again == held
    assert again != _make()  # no publish:, no grades
    assert (held == "a build") is False
    with pytest.raises(TypeError):
        hash(held)


def test_write_refuses_an_unknown_extra_before_writing_anything(held, tmp_path):
    out = tmp_path / "build"
    with pytest.raises(ValueError, match="unknown extra output 'charts'; extras are 'audit' and 'report'"):
        held.write(out, extras=("audit", "charts"))
    assert not out.exists()
