"""index_engine.scorecard: the pace of each target, the scorecard's rows and counts, and its terminal text."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import index_engine as ie
from index_engine.scorecard import pace, pace_text, scorecard, scorecard_text
from index_engine.targets import track_targets

STATUS_CODES = ("achieved", "on_track", "at_risk", "off_track", "insufficient_data", "not_started", "no_data")
PROGRESS_CODES = ("done", "in_progress", "delayed", "not_started", "no_report")


def plan_spec(name_zh: str = "测试指数", tracking: dict | None = None) -> ie.Spec:
    data = {
        "index": {"id": "T", "name_zh": name_zh, "name_en": "Test index"},
        "tree": {"code": "T", "children": [{"code": "x"}, {"code": "y"}]},
        "measures": [
            {"code": "P1", "title_zh": "第一部分", "title_en": "Part one",
             "measures": [{"code": "M1", "title_zh": "举措一"}, {"code": "M2", "title_zh": "举措二"}]},
            {"code": "P2", "title_zh": "第二部分"},
        ],
    }
    if tracking is not None:
        data["tracking"] = tracking
    return ie.spec_from_dict(data, "t.yaml")


def targets_frame() -> pd.DataFrame:
    return pd.DataFrame([
        {"target": "X1", "indicator": "x", "name_zh": "科技贷款", "name_en": "Tech loans", "basis": "cumulative",
         "required_per_year": 3877.0, "achieved_per_year": 2246.0, "latest_value": 12345.6, "latest_date": "2025",
         "target_value": 50000.0, "target_year": 2027, "projection": 40000.0, "projection_lo": 30000.0,
         "projection_hi": 52000.0, "status": "at_risk", "n_obs": 5, "rule_zh": "规则一", "rule_en": "rule one"},
        {"target": "X2", "indicator": "y", "name_zh": "排名", "name_en": "", "basis": "rank",
         "latest_value": 5.0, "latest_date": "2024", "target_value": 3.0, "target_year": float("nan"),
         "projection": float("nan"), "status": "off_track", "n_obs": 4, "rule_zh": "规则二", "rule_en": "rule two"},
    ])


def measures_frame() -> pd.DataFrame:
    return pd.DataFrame([
        {"part": "P1", "item": "M1", "kind": "measure", "status": "done"},
        {"part": "P1", "item": "M2", "kind": "measure", "status": "delayed"},
        {"part": "P1", "item": "M1.m1", "kind": "milestone", "status": "delayed"},
        {"part": "P1", "item": "M1.m2", "kind": "milestone", "status": "done"},
        {"part": "P9", "item": "M9", "kind": "measure", "status": "done"},
    ])


# ---- pace ------------------------------------------------------------------------------------------

def test_a_cumulative_target_compares_amounts_per_year():
    assert pace({"basis": "cumulative", "required_per_year": 3877.0, "achieved_per_year": "2246"}) == {
        "kind": "per_year", "required": 3877.0, "achieved": 2246.0}


def test_a_level_target_compares_growth_from_the_latest_value():
    row = {"basis": "level", "required_cagr_from_latest": 0.0523, "achieved_cagr": -0.01, "required_per_year": 5.0}
    assert pace(row) == {"kind": "growth", "required": 0.0523, "achieved": -0.01}


def test_a_row_without_a_basis_is_read_as_growth():
    assert pace({"required_cagr_from_latest": 0.1, "achieved_cagr": None}) == {
        "kind": "growth", "required": 0.1, "achieved": None}
    assert pace({"basis": float("nan"), "required_cagr_from_latest": 0.1})["kind"] == "growth"


def test_growth_against_a_reference_gives_the_reference_its_growth_and_the_gap():
    row = {"basis": "growth_vs_reference", "reference_value": 0.05, "achieved_cagr": 0.062, "growth_gap": 1.2,
           "reference": "CN"}
    assert pace(row) == {"kind": "vs_reference", "required": 0.05, "achieved": 0.062, "gap": 1.2, "reference": "CN"}
    assert pace({"basis": "growth_vs_reference", "reference": None})["reference"] == ""


@pytest.mark.parametrize("basis", ["rank", "growth_gap"])
def test_rank_and_growth_gap_targets_compare_the_latest_value_with_the_target(basis):
    assert pace({"basis": basis, "target_value": 3, "latest_value": 5.0, "achieved_cagr": 0.2}) == {
        "kind": basis, "required": 3.0, "achieved": 5.0}


def test_missing_nan_and_text_numbers_are_none():
    p = pace({"basis": "cumulative", "required_per_year": float("nan"), "achieved_per_year": "n/a"})
    assert p["required"] is None and p["achieved"] is None
    assert pace({"basis": "cumulative"}) == {"kind": "per_year", "required": None, "achieved": None}


# ---- pace_text -------------------------------------------------------------------------------------

def test_amounts_of_100_or_more_have_thousands_separators_and_smaller_ones_three_digits():
    p = {"kind": "per_year", "required": 3877.4, "achieved": 12.345}
    assert pace_text(p) == "needs 3,877 a year, achieved 12.3 a year"
    assert pace_text(p, "zh") == "剩余每年需3,877，已实现年均12.3"
    assert pace_text({"kind": "per_year", "required": 99.94, "achieved": 100.0}) == "needs 99.9 a year, achieved 100 a year"


def test_growth_is_written_as_a_percentage():
    p = {"kind": "growth", "required": 0.0523, "achieved": -0.01}
    assert pace_text(p) == "needs 5.2% a year, achieved -1.0%"
    assert pace_text(p, "zh") == "需年增5.2%，已实现-1.0%"


def test_growth_against_a_reference_names_it_and_signs_the_gap():
    p = {"kind": "vs_reference", "required": 0.05, "achieved": 0.062, "gap": 1.2, "reference": "CN"}
    assert pace_text(p) == "growth 6.2% against CN's 5.0% (+1.20 pp)"
    assert pace_text(p, "zh") == "年化增速6.2%，CN为5.0%（差+1.20个百分点）"
    assert pace_text({**p, "gap": -0.456}) == "growth 6.2% against CN's 5.0% (-0.46 pp)"
    assert pace_text({**p, "gap": None}) == "growth 6.2% against CN's 5.0% (– pp)"


def test_rank_and_gap_paces_are_plain_numbers():
    assert pace_text({"kind": "rank", "required": 3.0, "achieved": 5.0}) == "rank 5, target: top 3"
    assert pace_text({"kind": "rank", "required": 3.0, "achieved": 5.0}, "zh") == "排名5，目标为前3位"
    assert pace_text({"kind": "growth_gap", "required": 1.0, "achieved": 0.25}) == "gap 0.25 pp, needs >= 1"


def test_an_unknown_number_is_a_dash():
    assert pace_text({"kind": "growth", "required": None, "achieved": None}) == "needs – a year, achieved –"
    assert pace_text({"kind": "growth_gap", "required": 1.0, "achieved": None}, "zh") == "增速差–个百分点，要求≥1"


def test_any_language_but_zh_is_english():
    assert pace_text({"kind": "rank", "required": 3.0, "achieved": 1.0}, "fr") == "rank 1, target: top 3"


# ---- scorecard -------------------------------------------------------------------------------------

def test_targets_keep_their_columns_and_gain_their_pace():
    card = scorecard(targets_frame(), None, [])
    assert [r["target"] for r in card["targets"]] == ["X1", "X2"]
    x1, x2 = card["targets"]
    assert x1["latest_value"] == 12345.6 and x1["rule_en"] == "rule one"
    assert x1["pace"] == {"kind": "per_year", "required": 3877.0, "achieved": 2246.0}
    assert x2["pace"] == {"kind": "rank", "required": 3.0, "achieved": 5.0}


def test_status_counts_cover_every_status_in_order():
    t = pd.DataFrame({"target": list("abcde"), "status": ["at_risk", "achieved", "at_risk", "no_data", "made_up"]})
    counts = scorecard(t, None, [])["counts"]
    assert list(counts) == list(STATUS_CODES)
    assert counts == {"achieved": 1, "on_track": 0, "at_risk": 2, "off_track": 0, "insufficient_data": 0,
                      "not_started": 0, "no_data": 1}


def test_each_part_gets_its_measures_and_milestones_counted_apart():
    parts = [("P1", "第一部分", "Part one"), ("P2", "第二部分", "")]
    card = scorecard(None, measures_frame(), parts)
    assert card["targets"] == [] and set(card["counts"].values()) == {0}
    p1, p2 = card["parts"]
    assert (p1["code"], p1["title_zh"], p1["title_en"]) == ("P1", "第一部分", "Part one")
    assert [m["item"] for m in p1["measures"]] == ["M1", "M2"]
    assert [m["item"] for m in p1["milestones"]] == ["M1.m1", "M1.m2"]
    assert list(p1["counts"]) == list(PROGRESS_CODES)
    assert p1["counts"] == {"done": 1, "in_progress": 0, "delayed": 1, "not_started": 0, "no_report": 0}
    assert p1["milestone_counts"] == {"done": 1, "in_progress": 0, "delayed": 1, "not_started": 0, "no_report": 0}
    assert p2["measures"] == [] and p2["milestones"] == [] and set(p2["counts"].values()) == {0}


def test_parts_come_in_the_order_given_and_measures_of_other_parts_are_left_out():
    card = scorecard(None, measures_frame(), [("P2", "二", ""), ("P1", "一", "")])
    assert [p["code"] for p in card["parts"]] == ["P2", "P1"]
    assert sum(len(p["measures"]) for p in card["parts"]) == 2  # M9 of P9 is in no part


def test_without_measures_every_part_is_empty():
    card = scorecard(targets_frame(), None, [("P1", "一", "One")])
    assert card["parts"][0]["measures"] == [] and card["parts"][0]["counts"]["done"] == 0


def test_the_targets_frame_is_left_as_it_was():
    t = targets_frame()
    before = t.copy()
    scorecard(t, None, [])
    pd.testing.assert_frame_equal(t, before)


# ---- scorecard_text --------------------------------------------------------------------------------

def test_the_chinese_text_has_a_line_per_target_and_its_rule():
    spec = plan_spec(tracking={"unit": "BJ", "min_obs": 4})
    lines = scorecard_text(spec, targets_frame(), measures_frame()).splitlines()
    assert lines[0] == "T: BJ目标计分卡（状态至少需4个有效观测）"
    assert lines[1] == ("  X1          存在风险              n=5  科技贷款: 12,346 (2025) -> 50,000 (2027); "
                        "剩余每年需3,877，已实现年均2,246 proj 40,000 [30,000, 52,000]")
    assert lines[2] == " " * 14 + "规则一"
    assert lines[3] == "  X2          进度滞后              n=4  排名: 5 (2024) -> 3; 排名5，目标为前3位"
    assert lines[4] == " " * 14 + "规则二"


def test_the_chinese_text_counts_each_parts_measures_and_milestones():
    lines = scorecard_text(plan_spec(tracking={"unit": "BJ"}), targets_frame(), measures_frame()).splitlines()
    assert lines[5] == "实施推进（各部分举措状态）"
    assert lines[6] == "  P1   第一部分: 2 项举措 (已完成 1, 延误 1); 里程碑 已完成 1, 延误 1"
    assert lines[7] == "  P2   第二部分: 0 项举措 (无举措（目标见上）)"
    assert lines[8].startswith("状态规则：已达成: ") and lines[8].count(": ") == len(STATUS_CODES)
    assert len(lines) == 9


def test_the_english_text_falls_back_to_the_indicator_code_and_the_chinese_title():
    spec = plan_spec(name_zh="", tracking={"unit": "BJ", "min_obs": 4})
    assert spec.index.lang == "en"
    lines = scorecard_text(spec, targets_frame(), measures_frame()).splitlines()
    assert lines[0] == "T: scorecard of BJ (a status needs at least 4 usable observations)"
    assert lines[1] == ("  X1          at risk           n=5  Tech loans: 12,346 (2025) -> 50,000 (2027); "
                        "needs 3,877 a year, achieved 2,246 a year proj 40,000 [30,000, 52,000]")
    assert lines[3] == "  X2          off track         n=4  y: 5 (2024) -> 3; rank 5, target: top 3"
    assert lines[4] == " " * 14 + "rule two"
    assert lines[5] == "implementation (status of each part's measures)"
    assert lines[6] == "  P1   Part one: 2 measures (done 1, delayed 1); milestones done 1, delayed 1"
    assert lines[7] == "  P2   第二部分: 0 measures (no measures (targets above))"
    assert lines[8].startswith("status rules: achieved: the latest value meets the target")


def test_a_target_against_a_reference_reads_as_a_growth_gap():
    t = pd.DataFrame([{"target": "G", "indicator": "x", "name_en": "Growth", "basis": "growth_vs_reference",
                       "latest_value": 2.5, "latest_date": "2025", "target_value": 1.0, "target_year": 2027,
                       "reference_value": 0.05, "achieved_cagr": 0.062, "growth_gap": 1.2, "reference": "CN",
                       "status": "on_track", "n_obs": 3, "rule_en": "r"}])
    line = scorecard_text(plan_spec(name_zh="", tracking={"unit": "BJ"}), t, None).splitlines()[1]
    assert line == ("  G           on track          n=3  Growth: 2.5 (2025) -> gap >= 1 pp (2027); "
                    "growth 6.2% against CN's 5.0% (+1.20 pp)")


def test_without_tracking_the_heading_has_no_unit_and_needs_three_observations():
    spec = ie.spec_from_dict({"index": {"id": "T"}, "tree": {"code": "T", "children": [{"code": "x"}]}}, "t.yaml")
    lines = scorecard_text(spec, targets_frame().iloc[:0], None).splitlines()
    assert lines[0] == "T: scorecard of  (a status needs at least 3 usable observations)"
    assert len(lines) == 2 and lines[1].startswith("status rules: ")


def test_a_target_with_no_data_shows_a_dash_for_its_date():
    spec = ie.spec_from_dict({"index": {"id": "T"}, "tracking": {"unit": "BJ"}, "tree": {"code": "T", "children": [
        {"code": "x", "target": {"value": 10, "year": 2027, "quote": "q"}}, {"code": "y"}]}}, "t.yaml")
    frame = pd.DataFrame({"unit": ["BJ", "BJ", "SH", "SH"], "year": [2022, 2023] * 2,
                          "x": [math.nan, math.nan, 1.0, 2.0], "y": [1.0, 2.0, 3.0, 4.0]})
    table = track_targets(spec, ie.panel_from_frame(frame, spec))
    assert table.loc[0, "status"] == "no_data"
    line = scorecard_text(spec, table, None).splitlines()[1]
    assert "x: – (–) -> 10 (2027)" in line
