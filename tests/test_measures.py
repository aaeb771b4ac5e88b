"""The plan's measures (实施推进): the spec's measures section, the progress file and its reading."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

import index_engine as ie
from index_engine.job import read_inputs
from index_engine.measures import measure_table, read_progress, spec_measure_table

from .conftest import BEIJING, ROOT

PLAN_PARTS = ["总体目标", "发挥创业投资支持科技创新生力军作用", "发挥货币信贷支持科技创新的重要作用",
              "发挥资本市场支持科技创新的关键枢纽作用", "发挥科技保险支持创新的减震器和稳定器作用",
              "加强财政政策对科技金融的引导和支持", "打造科技金融开放创新生态", "加强组织实施"]

PLAN_MEASURES = [  # the drafting note's 三、主要内容举措 (二) to (八), in order
    "争取各类国家级基金在京落地", "深化金融资产投资公司（AIC）股权投资试点", "支持长期资本在京扩大股权投资规模",
    "促进创业投资和股权投资高质量发展", "健全创业投资退出渠道",
    "用好用足结构性货币政策工具", "优化科技型企业评价模型", "推动银行丰富科技信贷创新产品", "推动科技金融专营化专业化发展",
    "深化中关村科创金融服务中心试点",
    "加大力度支持优质科技型企业挂牌上市", "打造债券“中关村科技板”", "提高REITs（不动产信托投资基金）发行数量及规模",
    "推动科技保险产品和服务创新", "发挥财政资金放大和引导作用", "提升跨境资金使用便利性", "推动科技金融开放合作",
    "加强科技金融工作统筹", "持续做好企业融资对接", "完善科技金融监测统计机制",
]


@pytest.fixture(scope="module")
def spec() -> ie.Spec:
    return ie.load_spec(BEIJING)


def test_the_spec_lists_the_plans_eight_parts_and_twenty_measures(spec):
    assert [p.title_zh for p in spec.measures] == PLAN_PARTS
    assert [len(p.measures) for p in spec.measures] == [0, 5, 5, 3, 1, 1, 2, 3]
    assert [m.title_zh for _, m in spec.plan_measures.values()] == PLAN_MEASURES
    for _, m in spec.plan_measures.values():
        for h in m.highlights:
            assert h.zh and h.en
    first = spec.measures[0]
    assert set(first.targets) == {"VC1", "CR1", "CR1.growth", "CR2", "CR2.growth", "CM3", "BD2", "RT3", "IN4"}
    named = " ".join(ms.what_zh for _, m in spec.plan_measures.values() for _, ms in m.all_milestones)
    for instrument in ("京津冀区域基金", "中关村领航积分", "中关村科技板", "REITs储备", "保险共同体", "科汇通", "融资对接",
                       "综合评估机制", "发展指数"):
        assert instrument in named, instrument


def test_measure_links_must_name_codes_of_the_spec(spec):
    with pytest.raises(ie.SpecError, match=r"measures\[1\].measures\[0\].indicators\[0\]: no indicator with code 'VC9'"):
        spec.replace("measures[1].measures[0].indicators", ["VC9"])
    with pytest.raises(ie.SpecError, match=r"measures\[0\].targets\[0\]: no target with id .* 'CR3'"):
        spec.replace("measures[0].targets", ["CR3"])
    with pytest.raises(ie.SpecError, match=r"duplicated code 'M2.1' in measures"):
        spec.replace("measures[1].measures[1].code", "M2.1")
    with pytest.raises(ie.SpecError, match=r"measures\[1\].measures\[0\]: unknown key 'measures'|measures\[1\].measures\[0\].measures"):
        spec.replace("measures[1].measures[0].measures", [])


def test_status_is_the_latest_report(spec, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(
        "measure,date,status,evidence,source\n"
        "M2.1,2025-12-31,已完成,landed,gov\n"
        "M2.1,2025-06-30,in_progress,talks,gov\n"
        "M3.2a,2026-01-15,滞后,late,bank\n", encoding="utf-8")
    t = measure_table(spec, read_progress(path, spec)).set_index("item")
    assert t.loc["M2.1", "status"] == "done" and t.loc["M2.1", "n_reports"] == 2 and t.loc["M2.1", "evidence"] == "landed"
    assert t.loc["M3.2a", "status"] == "delayed" and t.loc["M3.2a", "kind"] == "milestone"
    assert t.loc["M8.1", "status"] == "no_report"
    assert (t.kind == "measure").sum() == 20


def test_progress_file_errors_name_the_row(spec, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("measure,date,status,evidence,source\nM9.9,2025-01-01,done,x,y\n", encoding="utf-8")
    with pytest.raises(ie.DataError, match=r"p.csv: row 2: column 'measure': 'M9.9' is no measure or milestone"):
        read_progress(path, spec)
    path.write_text("measure,date,status,evidence,source\nM2.1,2025-01-01,finished-ish,x,y\n", encoding="utf-8")
    with pytest.raises(ie.DataError, match=r"row 2: column 'status': unknown status 'finished-ish'"):
        read_progress(path, spec)
    path.write_text("measure,date,status\nM2.1,2025-01-01,done\n", encoding="utf-8")
    with pytest.raises(ie.DataError, match="lacks the column"):
        read_progress(path, spec)


def test_progress_file_in_excel(spec, tmp_path):
    path = tmp_path / "p.xlsx"
    pd.DataFrame({"measure": ["M4.2a"], "date": ["2025-10-31"], "status": ["done"], "evidence": ["first issue"],
                  "source": ["exchange"]}).to_excel(path, index=False)
    t = measure_table(spec, read_progress(path, spec)).set_index("item")
    assert t.loc["M4.2a", "status"] == "done"


def test_the_illustrative_progress_file_is_labelled(spec):
    p = pd.read_csv(ROOT / "inputs/beijing/progress.csv", dtype=str)
    assert set(p["flag"]) == {"illustrative"} and p["evidence"].str.startswith("示例").all()
    t = spec_measure_table(spec)
    assert (t.status != "no_report").any() and (t.status == "no_report").any()


def test_data_replaced_leaves_the_progress_file_unless_given(spec, tmp_path):
    data = tmp_path / "panel.csv"
    shutil.copy(ROOT / "inputs/beijing/beijing_tfdi_panel.csv", data)
    s, _ = read_inputs(BEIJING)
    assert s.data.progress == "../inputs/beijing/progress.csv"
    s, _ = read_inputs(BEIJING, data)
    assert s.data.progress is None and set(spec_measure_table(s).status) == {"no_report"}
    s, _ = read_inputs(BEIJING, data, progress=ROOT / "inputs/beijing/progress.csv")
    assert (spec_measure_table(s).status == "done").any()


def test_build_cli_with_progress(run_cli, tmp_path):
    prog = tmp_path / "p.csv"
    prog.write_text("measure,date,status,evidence,source\nM8.3b,2026-03-31,done,published,office\n", encoding="utf-8")
    data = tmp_path / "panel.csv"
    shutil.copy(ROOT / "inputs/beijing/beijing_tfdi_panel.csv", data)
    r = run_cli("build", BEIJING, "--data", data, "--progress", prog, "--out", tmp_path / "b", "--no-excel", "--no-report")
    assert r.returncode == 0, r.stderr
    m = pd.read_csv(tmp_path / "b" / "measures.csv", dtype=str, keep_default_na=False).set_index("item")
    assert m.loc["M8.3b", "status"] == "done" and m.loc["M2.1", "status"] == "no_report"
    r = run_cli("targets", BEIJING, "--progress", tmp_path / "missing.csv")
    assert r.returncode == 2 and "missing.csv" in r.stderr


def test_a_link_to_an_indicator_means_each_of_its_targets():
    """A measure or part may name a target by its id or an indicator by its code (each of its targets): one
    rule (measures.target_ids) for the measures table and the report's parts."""
    from index_engine.measures import target_ids

    s = ie.spec_from_dict({"index": {"id": "T"}, "tree": {"code": "T", "children": [
        {"code": "a", "targets": [{"value": 1, "year": 2027, "id": "loans"}, {"value": 2, "year": 2027}]},
        {"code": "b", "target": {"value": 3, "year": 2027}}]}})
    assert list(s.targets) == ["loans", "a.2", "b"]
    assert target_ids(s, ["a", "b", "loans", "zz"]) == ["loans", "a.2", "b"]
