"""Provenance: what stands behind each value a build used, as the exceptions table provenance.csv.

``provenance_table(b)`` has the columns :data:`COLUMNS`, a row per exception:

* a value the data file flags other than ``observed``, gives from a source other than the indicator's usual
  one (its most frequent in the file), or annotates with a ``note``;
* a cell the build imputed (``treatment`` ``imputed``; ``how`` says how and from which observations, e.g.
  ``interpolated between 2021 and 2024``, ``mean of 12 units in 2024``), or filled with the value of an earlier
  year (``earlier_year``: ``carried forward from 2023``);
* a year's value made from part of the year by the sub-annual rules (``partial_year``; ``how``: the rule's note,
  e.g. ``latest: 2025-09``, or a flow's partial year, missing unless annualised);
* a value the outlier treatment changed (``treated``; ``how``: the rule, the value before and after);
* a value left missing because the data lacks its denominator for that unit-year (``how``: ``missing: no GDP
  (its denominator)``; followed by how it was imputed, if it was).

A flag, source, vintage or note that is the same for every value of the file is recorded once, in a
first row whose ``unit``, ``year`` and ``indicator`` are :data:`EVERY` (``*``), not on every row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .plan import compile_plan
from .coverage import FLAG_NAMES, value_flags

if TYPE_CHECKING:
    from .result import Build

COLUMNS = ["unit", "year", "indicator", "flag", "source", "vintage", "note", "treatment", "how"]
"""The columns of provenance.csv."""
TREATMENTS = ("", "imputed", "treated", "earlier_year", "partial_year")
"""The values of ``treatment``: '' (a value as the file gives it), imputed, treated (outliers), and, for a
year's value made from another period, earlier_year and partial_year."""
PARTIAL_STATUSES = ("latest", "partial", "annualised", "partial_mean")
"""Statuses of ``Panel.quality.annualised`` whose year's value stands on part of the year (``partial_year``)."""
EVERY = "*"
"""``unit``, ``year`` and ``indicator`` of the row that records what holds for every value of the file."""
_TEXT = ("flag", "source", "vintage", "note")


def _file_rows(b: Build) -> pd.DataFrame:
    """The data file's provenance of the spec's indicators and denominators, a row per unit, year and
    indicator (the annual row, else the latest sub-annual one), every text column filled."""
    spec = b.spec
    wanted = set(spec.indicators) | {n.denominator for n in spec.nodes.values() if n.denominator}
    src = b.panel.sources
    src = src[src["indicator"].isin(wanted)] if len(src) else src
    out = pd.DataFrame({c: src[c].to_numpy() for c in ("unit", "year", "period", "indicator")})
    for c in _TEXT:
        col = src[c] if c in src.columns else pd.Series("", index=src.index)
        out[c] = col.fillna("").astype(str).str.strip().to_numpy()
    out.loc[out["flag"] == "", "flag"] = "observed"
    if "flag" in b.panel.attrs.columns and "flag" not in src.columns:  # a wide file's flag column, per row
        inds = [c for c in spec.indicators if c in b.panel.values.columns]
        codes = value_flags(b.panel, inds, b.panel.values.index)
        if codes is not None:
            idx = b.panel.values.index
            present = np.column_stack([b.panel.values[c].notna().to_numpy() for c in inds]) if inds else np.zeros((len(idx), 0), bool)
            r, k = np.nonzero(present & (codes >= 0))
            names = np.array(FLAG_NAMES, dtype=object)
            out = pd.DataFrame({"unit": idx.get_level_values("unit")[r], "year": idx.get_level_values("year")[r],
                                "period": "", "indicator": np.array(inds, dtype=object)[k], "flag": names[codes[r, k]],
                                "source": "", "vintage": "", "note": ""})
    annual = (out["period"].astype(str) == out["year"].astype(str)) | (out["period"].astype(str) == "")
    out = out.assign(_annual=annual.to_numpy()).sort_values(["_annual", "period"], kind="stable")
    out = out.drop_duplicates(["unit", "year", "indicator"], keep="last").sort_index()
    return out.drop(columns=["_annual", "period"])


def _imputed_how(b: Build) -> pd.DataFrame:
    """``unit, year, indicator, treatment, how`` of every imputed cell."""
    imp = b.imputed
    if imp is None or imp.empty:
        return pd.DataFrame(columns=["unit", "year", "indicator", "treatment", "how"])
    before = b.tables["denominated"]
    entries = {e.code: e for e in compile_plan(b.spec).entries("impute")}
    hows = np.empty(len(imp), dtype=object)
    attrs = b.panel.attrs
    units, years = before.index.get_level_values("unit").to_numpy(), before.index.get_level_values("year").to_numpy()
    imp_units, imp_years, imp_methods = (imp[c].to_numpy() for c in ("unit", "year", "method"))
    group_of: dict[str, dict] = {}  # each grouping attribute as {(unit, year): group}, made once
    for code, pos in imp.groupby("indicator", sort=False).indices.items():
        ok = ~np.isnan(before[code].to_numpy(dtype=float))
        by_unit: dict = {}
        for u, y in zip(units[ok].tolist(), years[ok].tolist()):
            by_unit.setdefault(u, []).append(int(y))
        e = entries.get(code)
        pool = e.pool if e is not None else "year"
        group = e.params.get("group") if e is not None else None
        seen_years, counts = np.unique(years[ok], return_counts=True)
        per_year = dict(zip(seen_years.tolist(), counts.tolist()))  # units with data in each year
        over = int(ok.sum()) if pool == "all" else None
        if group and group not in group_of:
            group_of[group] = attrs[group].to_dict() if group in attrs.columns else {}
        groups = group_of.get(group, {}) if group else {}
        hows[pos] = [_how(method, int(y), sorted(by_unit.get(u, [])), per_year.get(int(y), 0) if over is None else over,
                          pool, groups.get((u, y), "") if group else None)
                     for u, y, method in zip(imp_units[pos], imp_years[pos], imp_methods[pos])]
    carried = np.array([h.startswith("carried forward") for h in hows], dtype=bool)
    return pd.DataFrame({"unit": imp["unit"].to_numpy(), "year": imp["year"].to_numpy(),
                         "indicator": imp["indicator"].to_numpy(),
                         "treatment": np.where(carried, "earlier_year", "imputed"), "how": hows})


def _how(method: str, year: int, seen: list[int], n: int, pool: str | None, group: Any) -> str:
    """How one cell was imputed, from which observations: ``seen`` the years the unit has data for the
    indicator, ``n`` the values the statistic was taken over, ``group`` the unit's group (None: no group)."""
    prev = max((s for s in seen if s < year), default=None)
    nxt = min((s for s in seen if s > year), default=None)
    if method == "carry_forward" or (method == "carry" and prev is not None):
        return f"carried forward from {prev}"
    if method in ("carry_back", "carry"):
        return f"carried back from {nxt}"
    if method == "interpolate":
        return f"interpolated between {prev} and {nxt}"
    if method in ("mean", "median", "group_mean", "group_median"):
        stat = method.removeprefix("group_")
        over = f"{n} unit-years" if pool == "all" else f"{n} units in {year}"
        if group is not None:
            return f"{stat} of group {group!s} ({over} with data)"
        return f"{stat} of {over}"
    return f"imputed by {method}"


def _no_denominator_how(b: Build) -> pd.DataFrame:
    """``unit, year, indicator, treatment, how`` of every value left missing because the data lacks its
    denominator for the unit-year (present before the denominator, missing after it)."""
    cols = ["unit", "year", "indicator", "treatment", "how"]
    before, after = b.tables.get("transformed"), b.tables.get("denominated")
    dens = {c: b.spec.nodes[c].denominator for c in b.spec.indicators if b.spec.nodes[c].denominator}
    if before is None or after is None or before is after or not dens:
        return pd.DataFrame(columns=cols)
    parts = []
    for code, den in dens.items():
        gone = before[code].notna().to_numpy() & after[code].isna().to_numpy()
        if gone.any():
            idx = before.index[gone]
            parts.append(pd.DataFrame({"unit": idx.get_level_values("unit"), "year": idx.get_level_values("year"),
                                       "indicator": code, "treatment": "", "how": f"missing: no {den} (its denominator)"}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


def _partial_year_how(b: Build) -> pd.DataFrame:
    """``unit, year, indicator, treatment, how`` of every year's value made from part of the year by the
    sub-annual rules (:func:`index_engine.dataquality.annualise`): a stock's latest value before year-end, a
    flow's partial year (missing, or annualised, or a mean of the periods there are); ``how`` is the rule's note."""
    a = b.panel.quality.annualised
    if a is None or a.empty:
        return pd.DataFrame(columns=["unit", "year", "indicator", "treatment", "how"])
    a = a[a["indicator"].isin(set(b.spec.indicators)) & (a["status"].isin(PARTIAL_STATUSES))]
    return pd.DataFrame({"unit": a["unit"].to_numpy(), "year": a["year"].to_numpy(), "indicator": a["indicator"].to_numpy(),
                         "treatment": "partial_year", "how": a["note"].to_numpy()})


def _treated_how(b: Build) -> pd.DataFrame:
    """``unit, year, indicator, treatment, how`` of every value the outlier treatment changed."""
    t = b.treatment
    if t is None or t.empty:
        return pd.DataFrame(columns=["unit", "year", "indicator", "treatment", "how"])
    how = [f"{rule}: {before:.6g} -> {after:.6g}" for rule, before, after in zip(t["treatment"], t["before"], t["after"])]
    return pd.DataFrame({"unit": t["unit"].to_numpy(), "year": t["year"].to_numpy(), "indicator": t["indicator"].to_numpy(),
                         "treatment": "treated", "how": how})


def provenance_table(b: Build) -> pd.DataFrame:
    """provenance.csv of ``b``: the :data:`COLUMNS`, the exceptions only (see the module docstring)."""
    rows = _file_rows(b)
    first: dict[str, str] = {}
    for c in _TEXT:
        vals = pd.unique(rows[c]) if len(rows) else []
        first[c] = vals[0] if len(vals) == 1 else None
    listed = np.zeros(len(rows), bool)
    if first["flag"] is None:
        listed |= (rows["flag"] != "observed").to_numpy()
    if first["source"] is None:  # the usual source of each indicator: its most frequent
        given = rows[rows["source"] != ""]
        usual = given.groupby("indicator")["source"].agg(lambda s: s.mode().iloc[0])
        listed |= ((rows["source"] != rows["indicator"].map(usual)) & (rows["source"] != "")).to_numpy()
    if first["note"] is None:
        listed |= (rows["note"] != "").to_numpy()
    exceptions = rows[listed].assign(treatment="", how="")
    made = pd.concat([_no_denominator_how(b), _imputed_how(b), _treated_how(b), _partial_year_how(b)], ignore_index=True)
    parts = [exceptions[COLUMNS]]
    if len(made):
        made = made.groupby(["unit", "year", "indicator"], sort=False, as_index=False).agg(
            {"treatment": lambda t: next((x for x in t if x), ""), "how": "; ".join})
        merged = exceptions.drop(columns=["treatment", "how"]).merge(made, on=["unit", "year", "indicator"], how="right")
        for c in _TEXT:
            merged[c] = merged[c].fillna("")
        parts = [exceptions[~exceptions.set_index(["unit", "year", "indicator"]).index.isin(
            merged.set_index(["unit", "year", "indicator"]).index)][COLUMNS], merged[COLUMNS]]
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
    shared = {c: v for c, v in first.items() if v is not None}
    if any(shared.get(c, "") not in ("", "observed") for c in _TEXT):
        head = {"unit": EVERY, "year": EVERY, "indicator": EVERY, **{c: shared.get(c, "") for c in _TEXT},
                "treatment": "", "how": "the same for every value of the file"}
        out = pd.concat([pd.DataFrame([head]), out.astype({"year": object})], ignore_index=True)
    return out[COLUMNS].reset_index(drop=True)
