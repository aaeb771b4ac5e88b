"""The contract every registered method keeps, whatever its family (index_engine.families.FAMILIES).

For every method of every family, called the way the pipeline calls its family:

* **the input is not mutated** (values, index and ``attrs`` of every argument, and the params);
* **the index (or shape) is kept**: a per-indicator method returns a Series on the input's index,
  in the same order; a screen a boolean Series on the frame's index; weights a Series on the
  nominal weights' index; an aggregation samples × rows;
* **the missing-value policy** of its family holds (see ``POLICY``);
* **deterministic**: the same input gives the same output, bit for bit;
* **a docstring with its formula and a reference** (see ``test_docstring_states_a_formula`` and
  ``test_docstring_cites_a_reference`` for the rules).

``PARAMS`` gives every method a valid parameter set; a method registered without an entry fails
``test_every_method_has_contract_params``, so the table stays complete.
"""

from __future__ import annotations

import copy
import inspect
import re
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest

from index_engine.aggregate import quasi_arithmetic
from index_engine.families import FAMILIES
from index_engine.registry import Method

from .test_weighting_methods import PARAMS as WEIGHTS_PARAMS
from .test_weighting_methods import nominal as weights_nominal
from .test_weighting_methods import panel_children

POLICY = {
    "transform": "a missing value stays missing (a transform never invents data)",
    "denominate": "a missing value stays missing; a missing denominator gives a missing value",
    "impute": "observed values are never changed; a gap is filled (every method but 'none')",
    "screen": "a row with no data at all is dropped (every method but 'none')",
    "treat": "a missing value stays missing and gets the label ''",
    "normalize": "a missing value stays missing (points: unless 'missing' gives its points)",
    "weights": "rows with a missing child are left out (complete cases): the same weights as without them",
    "aggregate": (
        "a row with every child missing is missing; a row with some children missing is scored on the "
        "children present (the means renormalise the weights, the sum counts a missing child 0), except "
        "by a mean that needs every child (the generalised mean, docs/methodology.md §H.4)"
    ),
}
"""Each family's missing-value policy, as tested below."""

# a valid parameter set for every registered method; a new method must be added here
PARAMS: dict[str, dict[str, dict[str, Any]]] = {
    "transform": {
        "none": {}, "log": {}, "log1p": {}, "sqrt": {}, "boxcox": {"lmbda": 0.5},
        "cap": {"lower": 5.0, "upper": 60.0}, "rolling_sum": {"window": 2},
    },
    "denominate": {"none": {}, "divide": {"scale": 100.0}},
    "impute": {
        "none": {}, "mean": {}, "median": {}, "group_mean": {"group": "grp"}, "group_median": {"group": "grp"},
        "interpolate": {}, "carry_forward": {}, "carry_back": {}, "carry": {},
    },
    "screen": {"none": {}, "availability": {"threshold": 0.5}},
    "treat": {"none": {}, "jrc": {}, "winsorise": {}, "zscore_clip": {"z": 3.0}},
    "normalize": {
        "minmax": {}, "zscore": {}, "rank": {}, "prank": {}, "borda": {}, "dist2max": {},
        "dist2ref": {"ref_unit": "U1"}, "dist2targ": {"target": 120.0}, "fracmax": {},
        "goalposts": {"lower": 0.0, "upper": 100.0}, "base_index": {"base_year": 2020},
        "base_diff": {"base_year": 2020}, "points": {"thresholds": [10.0, 50.0], "points": [0.0, 5.0, 10.0]},
        "none": {},
    },
    "weights": WEIGHTS_PARAMS,
    "aggregate": {
        "arithmetic": {}, "geometric": {}, "harmonic": {}, "generalised": {"p": 2.0}, "median": {},
        "copeland": {}, "sum": {}, "topsis": {},
    },
}

UNITS = [f"U{i}" for i in range(1, 7)]
YEARS = [2020, 2021, 2022]
GAP = ("U2", 2021)  # inside U2's series, so interpolation can fill it


def _series() -> pd.Series:
    """6 units × 3 years of positive values, one gap, and an outlier so outlier rules act."""
    idx = pd.MultiIndex.from_product([UNITS, YEARS], names=["unit", "year"])
    rng = np.random.default_rng(15)
    x = pd.Series(rng.uniform(5.0, 60.0, len(idx)).round(3), index=idx, name="x")
    x[("U6", 2022)] = 900.0
    x[GAP] = np.nan
    x.attrs["source"] = "contract"
    return x


def _attrs(index: pd.MultiIndex) -> pd.DataFrame:
    units = index.get_level_values("unit")
    return pd.DataFrame({"grp": np.where(units.isin(["U1", "U2", "U3"]), "A", "B")}, index=index)


def _frame() -> pd.DataFrame:
    """rows = (unit, year), 3 indicators; one row with no data at all, one with a single gap."""
    x = _series().fillna(10.0)
    f = pd.DataFrame({"a": x, "b": x[::-1].to_numpy() + 1.0, "c": np.sqrt(x.to_numpy()) + 2.0})
    f.loc[("U3", 2022), :] = np.nan
    f.loc[("U4", 2020), "b"] = np.nan
    return f


def _agg_inputs() -> tuple[np.ndarray, np.ndarray]:
    """rows × children scores in [1, 100] (row 2 has every child missing, row 4 one), 2 weight samples."""
    rng = np.random.default_rng(16)
    X = rng.uniform(1.0, 100.0, (8, 3))
    X[2, :] = np.nan
    X[4, 1] = np.nan
    W = np.array([[1.0, 2.0, 1.0], [0.5, 0.25, 1.0]])
    return X, W


def _methods() -> list[tuple[str, str]]:
    return [(family, name) for family, reg in FAMILIES.items() for name in reg.available()]


def _method(family: str, name: str) -> tuple[Method, dict[str, Any]]:
    m = FAMILIES[family].get(name)
    return m, m.validate(copy.deepcopy(PARAMS[family][name]), f"contract.{family}.{name}.params")


def _call(family: str, name: str) -> tuple[list[Any], Callable[[], Any]]:
    """The inputs of one call of ``family.name`` and a function making that call."""
    m, p = _method(family, name)
    if family in ("transform", "treat", "normalize"):
        args: list[Any] = [_series()]
    elif family == "denominate":
        x = _series()
        den = pd.Series(np.linspace(1.0, 4.0, len(x)), index=x.index, name="gdp")
        den[("U5", 2020)] = np.nan
        args = [x, den]
    elif family == "impute":
        x = _series()
        args = [x, _attrs(x.index)]
    elif family == "screen":
        args = [_frame()]
    elif family == "weights":
        kids = panel_children()
        kids.iloc[4, 1] = np.nan
        args = [kids, weights_nominal()]
    else:
        args = list(_agg_inputs())
    return args, lambda: m.func(*args, **p)


def _snapshot(obj: Any) -> Any:
    return copy.deepcopy(obj), copy.deepcopy(getattr(obj, "attrs", None))


def _assert_same(a: Any, b: Any) -> None:
    """Equal values (NaN equal to NaN) and, for pandas objects, the same index, name and dtype."""
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True)
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_every_method_has_contract_params():
    for family, reg in FAMILIES.items():
        missing = sorted(set(reg.available()) - set(PARAMS.get(family, {})))
        assert not missing, f"add {family} method(s) {missing} to PARAMS in {__file__}"
        stale = sorted(set(PARAMS.get(family, {})) - set(reg.available()))
        assert not stale, f"PARAMS names {family} method(s) that are not registered: {stale}"
    assert set(PARAMS) == set(FAMILIES) == set(POLICY)


@pytest.mark.parametrize("family,name", _methods())
def test_input_not_mutated_and_deterministic(family, name):
    args, call = _call(family, name)
    before = [_snapshot(a) for a in args]
    params_before = copy.deepcopy(PARAMS[family][name])
    first = call()
    second = call()
    for a, (value, attrs) in zip(args, before):
        _assert_same(a, value)
        assert getattr(a, "attrs", None) == attrs
    assert PARAMS[family][name] == params_before
    _assert_same(first, second)


@pytest.mark.parametrize("family,name", _methods())
def test_index_or_shape_is_kept(family, name):
    args, call = _call(family, name)
    out = call()
    if family == "treat":
        values, labels = out
        assert values.index.equals(args[0].index) and labels.index.equals(args[0].index)
    elif family == "screen":
        assert out.index.equals(args[0].index) and out.dtype == bool
    elif family == "weights":
        assert list(out.index) == list(args[1].index)
        assert float(np.sum(out)) == pytest.approx(1.0, abs=1e-12)
    elif family == "aggregate":
        X, W = args
        assert out.shape == (W.shape[0], X.shape[0])
    else:
        assert isinstance(out, pd.Series) and out.index.equals(args[0].index)


@pytest.mark.parametrize("family,name", _methods())
def test_missing_value_policy(family, name):
    args, call = _call(family, name)
    out = call()
    m = FAMILIES[family].get(name)
    if family in ("transform", "denominate", "normalize"):
        x = args[0]
        assert out[x.isna()].isna().all(), POLICY[family]
        if family == "denominate" and not m.has("identity"):
            assert np.isnan(out[("U5", 2020)]), POLICY[family]
    elif family == "treat":
        values, labels = out
        gap = args[0].isna()
        assert values[gap].isna().all() and (labels[gap] == "").all(), POLICY[family]
    elif family == "impute":
        x = args[0]
        seen = x.notna()
        pd.testing.assert_series_equal(out[seen], x[seen], check_exact=True, check_names=False)
        assert np.isnan(out[GAP]) if m.has("identity") else np.isfinite(out[GAP]), POLICY[family]
    elif family == "screen":
        empty = args[0].isna().all(axis=1)
        assert out[empty].all() if m.has("identity") else not out[empty].any(), POLICY[family]
        assert out[~empty].all()
    elif family == "weights":
        complete = m.func(args[0].dropna(), args[1], **_method(family, name)[1])
        np.testing.assert_allclose(np.asarray(out, float), np.asarray(complete, float), rtol=0, atol=1e-12)
    else:
        X, _ = args
        all_missing = np.isnan(X).all(axis=1)
        some_missing = np.isnan(X).any(axis=1) & ~all_missing
        assert np.isnan(out[:, all_missing]).all() and np.isfinite(out[:, ~np.isnan(X).any(axis=1)]).all()
        form = quasi_arithmetic(name, PARAMS[family][name])
        needs_every_child = form is not None and form.complete
        assert (np.isnan(out[:, some_missing]) if needs_every_child else np.isfinite(out[:, some_missing])).all(), POLICY[family]


# ---- docstrings ---------------------------------------------------------------------------------

FORMULA = re.compile(r"[=/·×Σ√^<>≤≥|∝]|\b(?:ln|exp|log|max|min|rank|mean|median|clip)\(")
"""A formula: an (in)equality, a ratio or product, a sum, a root or power, or a named function applied."""

REFERENCE = re.compile(
    r"^\s*References?\b"  # a References section (numpydoc) or a 'Reference:' line
    r"|\bReferences?:"
    r"|\bdoi:\s*10\.|doi\.org/10\."  # a DOI
    r"|(?:METHODOLOGY(?:\.md)?|docs/methodology\.md)\s+§\s?[A-H]"  # a section of the methodology
    r"|\b[A-Z][A-Za-z'’-]+(?: et al\.?| (?:and|&) [A-Z][A-Za-z'’-]+)?,? \(?(?:1[89]|20)\d\d\)?",  # author-year
    re.M,
)
"""A reference: a References section, a DOI, a methodology section (docs/methodology.md §X; the
older form docs/methodology.md §X is accepted) or an author-year citation such as Munda (2008)."""

# methods whose docstrings still lack a reference; strict, so a fixed one must be removed from here
LACKS_REFERENCE: set[tuple[str, str]] = set()
LACKS_FORMULA: set[tuple[str, str]] = set()


def _doc(m: Method) -> str:
    """The method's docstring and those of the functions it points to (``See :func:`entropy```)."""
    doc = inspect.getdoc(m.func) or ""
    module = inspect.getmodule(m.func)
    for name in re.findall(r":func:`~?([\w.]+)`", doc):
        target = getattr(module, name.rsplit(".", 1)[-1], None)
        if callable(target):
            doc += "\n" + (inspect.getdoc(target) or "")
    return doc


def _computing(pending: set[tuple[str, str]], why: str) -> list:
    """Every method but the identities (a step switched off computes nothing and follows no source)."""
    return [
        pytest.param(f, n, marks=pytest.mark.xfail(strict=True, reason=why)) if (f, n) in pending else (f, n)
        for f, n in _methods()
        if not FAMILIES[f].get(n).has("identity")
    ]


@pytest.mark.parametrize("family,name", _methods())
def test_every_method_has_a_docstring(family, name):
    assert FAMILIES[family].get(name).summary, f"{family}.{name} has no docstring"


@pytest.mark.parametrize("family,name", [(f, n) for f, n in _methods() if FAMILIES[f].get(n).has("identity")])
def test_identity_methods_return_their_input(family, name):
    args, call = _call(family, name)
    out = call()
    if family == "treat":
        _assert_same(out[0], args[0])
        assert (out[1] == "").all()
    elif family == "screen":
        assert out.all()
    else:
        _assert_same(out, args[0])


@pytest.mark.parametrize("family,name", _computing(LACKS_FORMULA, "docstring lacks its formula"))
def test_docstring_states_a_formula(family, name):
    doc = _doc(FAMILIES[family].get(name))
    assert FORMULA.search(doc), f"{family}.{name}: the docstring gives no formula"


@pytest.mark.parametrize("family,name", _computing(LACKS_REFERENCE, "docstring lacks a reference"))
def test_docstring_cites_a_reference(family, name):
    doc = _doc(FAMILIES[family].get(name))
    assert REFERENCE.search(doc), f"{family}.{name}: the docstring cites no reference"
