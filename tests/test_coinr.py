"""index_engine.coinr: COINr's iMeta table read into spec data, and the spec and iData that result."""

from __future__ import annotations

import csv

import pytest

import index_engine as ie
from index_engine.coinr import imeta_to_dict

from .conftest import ROOT

ASEM = ROOT / "inputs/examples/asem"
META = ASEM / "ASEM_iMeta.csv"
HEADER = '"Level","iCode","iName","Direction","Weight","Unit","Target","Denominator","Parent","Type"\n'


def imeta_rows() -> list[dict[str, str]]:
    with open(META, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_meta(tmp_path, body: str, name: str = "meta.csv", encoding: str = "utf-8"):
    p = tmp_path / name
    p.write_bytes((HEADER + body).encode(encoding))
    return p


@pytest.fixture(scope="module")
def asem_spec() -> ie.Spec:
    return ie.load_spec(META)


def test_the_asem_tree_read_back_equals_the_imeta_rows(asem_spec):
    """Every Indicator and Aggregate row is a node with its parent and weight; groups and denominators are not nodes."""
    rows = imeta_rows()
    tree_rows = [r for r in rows if r["Type"] in ("Indicator", "Aggregate")]
    assert len(tree_rows) == 49 + 8 + 2 + 1
    assert set(asem_spec.nodes) == {r["iCode"] for r in tree_rows}
    assert asem_spec.parents == {r["iCode"]: r["Parent"] or None for r in tree_rows}
    for r in tree_rows:
        assert asem_spec.nodes[r["iCode"]].weight == float(r["Weight"]), r["iCode"]
        assert asem_spec.nodes[r["iCode"]].name_en == r["iName"]
    others = {r["iCode"] for r in rows if r["Type"] in ("Group", "Denominator")}
    assert others == {"GDP_group", "GDPpc_group", "Pop_group", "EurAsia_group", "Area", "Energy", "GDP", "Population"}
    assert not others & set(asem_spec.nodes)


def test_the_asem_indicators_keep_their_direction_unit_denominator_and_target(asem_spec):
    indicators = [r for r in imeta_rows() if r["Type"] == "Indicator"]
    assert list(asem_spec.indicators) == [r["iCode"] for r in indicators]
    for r in indicators:
        n = asem_spec.nodes[r["iCode"]]
        assert n.direction == int(r["Direction"]), r["iCode"]
        assert n.unit == (r["Unit"] or None)
        assert n.denominator == (r["Denominator"] or None)
        assert n.target.value == float(r["Target"])
    assert {c for c in asem_spec.indicators if asem_spec.nodes[c].direction == -1} == {
        r["iCode"] for r in indicators if r["Direction"] == "-1"}
    assert asem_spec.nodes["Flights"].denominator == "Population" and asem_spec.nodes["LPI"].denominator is None


def test_the_levels_of_the_tree_are_coinrs_level_column(asem_spec):
    tree_rows = [r for r in imeta_rows() if r["Type"] in ("Indicator", "Aggregate")]
    assert asem_spec.levels == {r["iCode"]: int(r["Level"]) for r in tree_rows}


def test_the_index_is_named_after_the_root_row_and_takes_the_default_steps(asem_spec):
    root = next(r for r in imeta_rows() if r["Type"] == "Aggregate" and not r["Parent"])
    assert asem_spec.tree.code == root["iCode"] == "Index"
    assert asem_spec.index.id == "Index" and asem_spec.index.name_en == root["iName"] == "Sustainable Connectivity"
    assert asem_spec.index.description == "Imported from the COINr iMeta table ASEM_iMeta.csv."
    assert asem_spec.steps.denominate.method == "divide"  # ASEM divides some indicators by a denominator
    assert asem_spec.steps.normalize.method == "minmax"
    assert asem_spec.steps.normalize.params == {"lower": 0, "upper": 100}
    assert asem_spec.steps.aggregate.method == "arithmetic"


def test_idata_loads_as_it_is_for_the_imported_spec(asem_spec):
    with open(ASEM / "ASEM_iData.csv", newline="", encoding="utf-8") as f:
        data = list(csv.DictReader(f))
    panel = ie.load_panel(ASEM / "ASEM_iData.csv", asem_spec)
    assert panel.units == [r["uCode"] for r in data] and panel.n_units == 51
    assert panel.years == [2018] and panel.missing_indicators(asem_spec) == []
    aut = next(r for r in data if r["uCode"] == "AUT")
    for code in ("LPI", "Flights", "CostImpEx", "Population"):
        assert panel.values.loc[("AUT", 2018), code] == float(aut[code])
    columns = [*asem_spec.indicators, "Area", "Energy", "GDP", "Population"]
    missing = sum(1 for r in data for c in columns if r[c] == "")
    assert int(panel.values[columns].isna().sum().sum()) == missing == 64  # the README's count


def test_a_small_table_becomes_plain_spec_data(tmp_path):
    p = write_meta(tmp_path, "3,IDX,My index,,,,,,,Aggregate\n"
                             "2,P,Pillar,,2,,,,IDX,Aggregate\n"
                             "1,a,,1,0.5,%,80,,P,Indicator\n"
                             "1,b,Bee,-1,,,,,P,Indicator\n"
                             ",G,Group,,,,,,,Group\n")
    assert imeta_to_dict(p) == {
        "index": {"id": "IDX", "name_en": "My index", "description": "Imported from the COINr iMeta table meta.csv."},
        "tree": [
            {"code": "IDX", "name_en": "My index"},
            {"code": "P", "name_en": "Pillar", "parent": "IDX", "weight": 2.0},
            {"code": "a", "name_en": "a", "parent": "P", "weight": 0.5, "direction": 1, "unit": "%",
             "target": {"value": 80.0}},
            {"code": "b", "name_en": "Bee", "parent": "P", "direction": -1},
        ],
        "steps": {
            "denominate": {"method": "none"},
            "normalize": {"method": "minmax", "params": {"lower": 0, "upper": 100}},
            "aggregate": {"method": "arithmetic"},
        },
    }


def test_index_id_replaces_the_root_code(tmp_path):
    p = write_meta(tmp_path, "2,IDX,I,,,,,,,Aggregate\n1,a,A,1,1,,,,IDX,Indicator\n")
    assert imeta_to_dict(p, index_id="MINE")["index"]["id"] == "MINE"
    assert ie.load_spec(p).index.id == "IDX"


def test_several_roots_give_the_file_name_as_id_and_the_spec_refuses_them(tmp_path):
    p = write_meta(tmp_path, "2,A,Alpha,,,,,,,Aggregate\n2,B,Beta,,,,,,,Aggregate\n"
                             "1,a,a,1,1,,,,A,Indicator\n1,b,b,1,1,,,,B,Indicator\n", name="two.csv")
    assert imeta_to_dict(p)["index"] == {"id": "two", "name_en": "Alpha",
                                         "description": "Imported from the COINr iMeta table two.csv."}
    with pytest.raises(ie.SpecError,
                       match=r"two\.csv: tree: exactly one node must have no parent \(the index\); found \['A', 'B'\]"):
        ie.load_spec(p)


def test_a_utf8_table_with_a_byte_order_mark_reads(tmp_path):
    p = write_meta(tmp_path, "2,IDX,指数,,,,,,,Aggregate\n1,a,甲,1,1,,,,IDX,Indicator\n", encoding="utf-8-sig")
    d = imeta_to_dict(p)
    assert [n["code"] for n in d["tree"]] == ["IDX", "a"] and d["index"]["name_en"] == "指数"


def test_a_gbk_table_reads_like_the_utf8_one(tmp_path):
    body = "2,IDX,综合指数,,,,,,,Aggregate\n1,a,研发投入,1,2,亿元,,,IDX,Indicator\n"
    gbk = write_meta(tmp_path, body, name="gbk.csv", encoding="gbk")
    utf = write_meta(tmp_path, body, name="utf.csv")
    assert imeta_to_dict(gbk)["tree"] == imeta_to_dict(utf)["tree"]


def test_a_missing_file_is_a_spec_error_naming_it(tmp_path):
    p = tmp_path / "nope.csv"
    with pytest.raises(ie.SpecError, match=r"nope\.csv: cannot read the iMeta table"):
        imeta_to_dict(p)


def test_an_empty_file_is_a_spec_error_naming_it(tmp_path):
    p = tmp_path / "empty.csv"
    p.write_text("", encoding="utf-8")
    with pytest.raises(ie.SpecError, match=r"empty\.csv: cannot read the iMeta table"):
        imeta_to_dict(p)


def test_a_table_without_the_required_columns_names_them(tmp_path):
    p = tmp_path / "data.csv"
    p.write_text("iCode,Level,Weight\na,1,1\n", encoding="utf-8")
    with pytest.raises(ie.SpecError, match=r"data\.csv: not a COINr iMeta table: columns Parent, Type are missing"):
        imeta_to_dict(p)


AGG = "2,IDX,I,,,,,,,Aggregate\n"


@pytest.mark.parametrize("rows, message", [
    # a cell the iMeta reader cannot take: named by row and column
    (AGG + ",G,Group,,,,,,,Group\n1,a,A,1,heavy,,,,IDX,Indicator\n", r"row 4, column 'Weight': not a number \('heavy'\)"),
    (AGG + "1,a,A,1,1,,,,IDX,Indicator\n1,b,B,up,1,,,,IDX,Indicator\n",
     r"row 4, column 'Direction': must be 1 or -1 \('up'\)"),
    (AGG + "1,a,A,0,1,,,,IDX,Indicator\n", r"row 3, column 'Direction': must be 1 or -1 \('0'\)"),
    (AGG + "1,a,A,1.5,1,,,,IDX,Indicator\n", r"row 3, column 'Direction': must be 1 or -1 \('1\.5'\)"),
    (AGG + "1,a,A,1,1,,high,,IDX,Indicator\n", r"row 3, column 'Target': not a number \('high'\)"),
    # a value the spec refuses: named by its tree path
    (AGG + "1,a,A,1,-1,,,,IDX,Indicator\n",
     r"tree\.IDX\.children\[0\]\.weight: must be a non-negative number, got -1\.0"),
    (AGG + "1,a,A,1,1,,,,Pillar,Indicator\n", r"tree\[1\]\.parent: 'a' names a parent 'Pillar' that does not exist"),
])
def test_a_bad_cell_is_an_error_naming_where_it_is(tmp_path, rows, message):
    with pytest.raises(ie.SpecError, match=r"meta\.csv: " + message):
        ie.load_spec(write_meta(tmp_path, rows))


def test_the_optional_columns_may_be_left_out(tmp_path):
    p = tmp_path / "short.csv"
    p.write_text("iCode,Level,Parent,Type\nIDX,2,,Aggregate\na,1,IDX,Indicator\n", encoding="utf-8")
    d = imeta_to_dict(p)
    assert d["tree"] == [{"code": "IDX", "name_en": "IDX"}, {"code": "a", "name_en": "a", "parent": "IDX"}]
    assert d["steps"]["denominate"] == {"method": "none"}
