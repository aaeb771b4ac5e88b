"""Tests of index_engine._json: one cleaner for everything written as JSON."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from index_engine._json import jsonable


def test_jsonable_gives_strict_json_from_numpy_and_pandas():
    value = {
        1: np.float64("nan"),
        "inf": -np.inf,
        "arr": np.array([[1, 2], [3, 4]], dtype=np.int32),
        "series": pd.Series([0.5, np.nan], index=["a", "b"]),
        "frame": pd.DataFrame({"x": [1.0, np.inf]}),
        "tuple": (np.int64(3), np.bool_(False), True, None, pd.NA, pd.NaT),
        "str": np.str_("s"),
        "nested": [{"k": np.float32(0.25)}],
    }
    got = jsonable(value)
    assert got == {
        "1": None,
        "inf": None,
        "arr": [[1, 2], [3, 4]],
        "series": {"a": 0.5, "b": None},
        "frame": {"x": [1.0, None]},
        "tuple": [3, False, True, None, None, None],
        "str": "s",
        "nested": [{"k": 0.25}],
    }
    assert type(got["tuple"][0]) is int and type(got["tuple"][1]) is bool and type(got["str"]) is str
    json.dumps(got, allow_nan=False)  # strict JSON: no NaN, no Infinity


def test_jsonable_keeps_infinity_for_yaml_when_asked():
    got = jsonable({"upper": np.inf, "lower": float("nan")}, keep_infinite=True)
    assert got["upper"] == math.inf and got["lower"] is None
