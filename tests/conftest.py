"""Shared fixtures: paths to the examples, and a tiny spec and panel (3 units × 4 indicators × 2 years)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import index_engine as ie

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def root() -> Path:
    return ROOT


TINY_SPEC = {
    "index": {"id": "TINY", "name_en": "Tiny index", "name_zh": "小指数"},
    "tree": {
        "code": "IDX",
        "children": [
            {
                "code": "D1",
                "children": [
                    {"code": "a", "unit": "%"},
                    {"code": "b", "direction": -1},
                ],
            },
            {"code": "D2", "weight": 2, "children": [{"code": "c"}, {"code": "d", "weight": 3}]},
        ],
    },
}


@pytest.fixture
def tiny_spec() -> ie.Spec:
    return ie.spec_from_dict(TINY_SPEC, label="tiny.yaml")


def tiny_frame() -> pd.DataFrame:
    rows = []
    vals = {
        ("U1", 2020): [1.0, 5.0, 10.0, 100.0],
        ("U2", 2020): [2.0, 3.0, 20.0, 300.0],
        ("U3", 2020): [4.0, 1.0, 30.0, 200.0],
        ("U1", 2021): [2.0, 4.0, 12.0, 150.0],
        ("U2", 2021): [3.0, 2.0, 18.0, 250.0],
        ("U3", 2021): [5.0, 2.0, 33.0, 260.0],
    }
    for (u, y), v in vals.items():
        rows.append({"unit": u, "year": y, "a": v[0], "b": v[1], "c": v[2], "d": v[3]})
    return pd.DataFrame(rows)


@pytest.fixture
def tiny_panel(tiny_spec) -> ie.Panel:
    return ie.panel_from_frame(tiny_frame(), tiny_spec)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20251016)


def write_spec(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p
