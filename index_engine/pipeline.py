"""build(spec, panel) -> Build: run the steps in order and log each one.

Every step reads the previous stage's table (wide: rows = (unit, year), columns = indicators)
and returns a new one; nothing is mutated. Each step adds a :class:`~index_engine.result.Step`
to the log with the resolved method and parameters and the number of cells it changed.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from . import __version__
from ._native import numeric_settings
from ._checks import list_rows
from .aggregate import DomainError
from .coverage import applied_weights, warn_empty_years
from .errors import BuildError, DataError, IndexEngineError, MissingDenominatorWarning, SpecError
from .evaluate import TreeModel, aggregate_build, segment_rows
from .folder import STAGE_ORDER, BuildFolder, load_build
from .dataquality import findings
from .panel import Panel, has_value, resolve_units, warn_empty_nodes
from .plan import Entry, compile_plan, resolve
from .plan import frozen as _freeze
from .ranks import year_codes, year_groups
from .registry import Method
from ._json import jsonable
from .result import Build, Step
from .spec import Spec
from .tables import weight_table
from .targets import track_targets



class _Log:
    def __init__(self) -> None:
        self.steps: list[Step] = []

    def add(self, step: str, groups: dict[tuple, list[str]], changed: dict[tuple, int], notes: dict[tuple, list[str]] | None = None) -> None:
        for key, codes in groups.items():
            method, params_items, path = key
            self.steps.append(
                Step(
                    step=step,
                    method=method,
                    params=dict(params_items),
                    applies_to=tuple(codes),
                    spec_path=path,
                    changed=int(changed.get(key, 0)),
                    notes=tuple((notes or {}).get(key, ())),
                )
            )


def _call(step: str, code: str, method: Method, fn: Callable[[], Any], panel: Panel) -> Any:
    try:
        return fn()
    except DomainError:
        raise
    except IndexEngineError as exc:
        msg = str(exc)
        prefix = f"{panel.file}: indicator {code}: {step}.{method.name}: "
        msg = msg.removeprefix(f"{code}: ").removeprefix(f"{step}.{method.name}: ")
        raise type(exc)(prefix + msg) from None


def _pooled(
    x: pd.Series, pool: str, fn: Callable[[pd.Series, np.ndarray | None], Any], years: list[tuple[np.ndarray, pd.Index]] | None
) -> list[tuple[pd.Series, Any, np.ndarray | None]]:
    """``fn(rows, positions)`` over all rows (pool 'all', or one year; positions None) or over each
    year's rows, ``years`` being :func:`_year_positions` of ``x``'s index."""
    if pool == "all" or years is None:
        return [(x, fn(x, None), None)]
    values = x.to_numpy() if isinstance(x.dtype, np.dtype) else None
    out = []
    for pos, rows in years:
        # the year's rows on the index taken once per stage (x.iloc[pos], without taking the index again)
        g = x.iloc[pos] if values is None else pd.Series(values[pos], index=rows, name=x.name, copy=False)
        out.append((g, fn(g, pos), pos))
    return out


def _year_positions(index: pd.MultiIndex) -> list[tuple[np.ndarray, pd.Index]] | None:
    """Positions and index of each year's rows (years ascending, rows in table order), None for one
    year: the groups of ``groupby(level="year")``, found once for every indicator of a stage."""
    if len(year_codes(index)[1]) <= 1:
        return None
    return [(pos, index[pos]) for pos in year_groups(index)]


def _joined(parts: list[tuple[pd.Series, pd.Series, np.ndarray | None]], index: pd.Index) -> pd.Series:
    """The results of :func:`_pooled`'s groups as one Series on ``index``: ``parts`` are
    (rows, result, positions); a result on its rows' index goes straight to their positions."""
    if len(parts) == 1:
        r = parts[0][1]
        if r.index is index:
            return r
        if r.index.equals(index):  # the same rows in the same order, on another index object
            return r.set_axis(index)
    if all(pos is not None and (r.index is g.index or r.index.equals(g.index)) for g, r, pos in parts):
        values = [r.to_numpy() for _, r, _ in parts]
        out = np.empty(len(index), dtype=np.result_type(*values) if all(v.dtype.kind in "fiub" for v in values) else object)
        for (_, _, pos), v in zip(parts, values):
            out[pos] = v
        return pd.Series(out, index=index, name=parts[0][1].name)
    return pd.concat([r for _, r, _ in parts]).reindex(index)


def _per_indicator(
    spec: Spec,
    panel: Panel,
    step: str,
    table: pd.DataFrame,
    apply: Callable[[Entry, pd.Series], pd.Series],
    log: _Log,
) -> pd.DataFrame:
    """``apply`` each indicator's plan entry of ``step`` to its column; log the entries."""
    entries = compile_plan(spec).entries(step)
    codes = [e.code for e in entries]
    column = _column_reader(table)
    block = np.empty((len(entries), len(table)))  # the new table, a row per column, filled as each is made
    kept = []  # columns a method leaves as they are: copied in only if a new table is made
    groups: dict[tuple, list[str]] = defaultdict(list)
    changed: dict[tuple, int] = defaultdict(int)
    for i, entry in enumerate(entries):
        code = entry.code
        key = entry.group
        groups[key].append(code)
        if entry.method.has("identity"):
            kept.append(i)
            continue
        x = column(code)
        before = x.to_numpy(dtype=float)
        if step != "impute" and not has_value(before):  # no value at all (dropped, or empty): nothing to
            kept.append(i)  # transform, treat or normalise, and no "no spread" warning for it (it is named once)
            continue
        y = _call(step, code, entry.method, lambda: apply(entry, x), panel)
        # (a Series through to_numpy: numpy's probing of its attributes would look the names up in the index)
        block[i] = y.to_numpy(dtype=float) if isinstance(y, pd.Series) else np.asarray(y, dtype=float)
        changed[key] += _cells_changed(before, block[i])
    log.add(step, groups, changed)
    if sum(changed.values()) == 0 and list(table.columns) == codes:
        return table  # nothing changed: the same table, not a copy (large builds write it once)
    for i in kept:
        block[i] = table[codes[i]].to_numpy(dtype=float)
    return pd.DataFrame(block.T, index=table.index, columns=codes, copy=False)


_ARRAY_CELLS = 1_000_000
"""Tables up to this many cells have their columns read from one array of the whole table (see :func:`_column_reader`)."""


def _column_reader(table: pd.DataFrame) -> Callable[[str], pd.Series]:
    """``code`` -> a copy of the table's column as a Series named ``code``.

    A small table whose columns are all float64 is read as one array (which may be a copy), and each
    column taken from it: much cheaper than ``table[code]`` on a MultiIndex, which costs about as much
    as a small column's whole step. A larger table is read column by column (``table[code]``), so it is
    never copied whole."""
    if table.size <= _ARRAY_CELLS and table.columns.is_unique and (table.dtypes == np.float64).all():
        values, where, index = table.to_numpy(), table.columns.get_loc, table.index
        return lambda code: pd.Series(values[:, where(code)], index=index, name=code)  # (the constructor copies)

    def column(code: str) -> pd.Series:
        x = table[code]
        return x if x.name == code else x.rename(code)

    return column


def _cells_changed(before: np.ndarray, after: np.ndarray) -> int:
    """How many cells differ, a cell missing in both not counting."""
    n = np.count_nonzero(before != after)  # NaN != NaN: both missing count here, and are taken off below
    if n:
        both = np.isnan(before)
        if both.any():
            both &= np.isnan(after)
            n -= np.count_nonzero(both)
    return int(n)


UPSTREAM = ("raw", "transform", "denominate", "impute", "screen", "treat", "normalize")
"""The stages before weighting, each a table of indicators; their results can be cached."""

STAGE_TABLE = dict(zip(UPSTREAM, STAGE_ORDER))
"""Each upstream stage's table, by the name a build folder gives it (``tables/<name>``)."""


@dataclass
class StageResult:
    """One upstream stage's table, its records (imputed cells, treated points, ...), log and warnings."""

    table: pd.DataFrame
    steps: list[Step]
    records: dict[str, Any] = field(default_factory=dict)
    warnings: list[warnings.WarningMessage] = field(default_factory=list)


def _stage_inputs(spec: Spec, stage: str) -> Any:
    """What a stage reads beyond the stages before it: its plan entries (method, params, path,
    direction and pool of each indicator) and the parts of the spec that are not method choices."""
    if stage == "raw":
        return [spec.indicators, spec.units, spec.reference_units]
    entries = compile_plan(spec).signature(stage)
    if stage == "denominate":
        return [entries, [spec.nodes[c].denominator for c in spec.indicators]]
    if stage == "impute":
        return [entries, spec.reference_units]
    if stage == "normalize" and spec.freeze_normalization:
        return [entries, hashlib.sha1(_reference_build(spec).file("fitted").read_bytes()).hexdigest()]
    return entries


def stage_keys(spec: Spec) -> dict[str, str]:
    """A key per upstream stage that changes exactly when the stage or one before it would."""

    keys, prev = {}, ""
    for stage in UPSTREAM:
        text = prev + json.dumps(_stage_inputs(spec, stage), sort_keys=True, default=str)
        prev = hashlib.sha1(text.encode()).hexdigest()
        keys[stage] = prev
    return keys


def upstream(spec: Spec, panel: Panel, cache: dict | None = None, *, until: str = "normalize") -> dict[str, StageResult]:
    """Run transform … normalize (or the stages up to ``until``), reusing ``cache`` entries for stages whose
    inputs did not change.

    ``cache`` is a plain dict owned by the caller (for one panel); sensitivity analysis passes
    the same dict for every sample, so a sample that only changes the normalisation reuses the
    treated table.
    """
    keys = stage_keys(spec)
    out: dict[str, StageResult] = {}
    prev: StageResult | None = None
    for stage in UPSTREAM[: UPSTREAM.index(until) + 1]:
        key = (id(panel), keys[stage])
        if cache is not None and key in cache:
            res = cache[key]
        else:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                res = _STAGES[stage](spec, panel, prev.table if prev else None)
            res.warnings = list(caught)
            if cache is not None:
                cache[key] = res
        out[stage] = res
        prev = res
    return out


def _raw(spec: Spec, panel: Panel, _: Any) -> StageResult:
    """The spec's indicators of the data (an indicator the data lacks, under ``data.on_missing_indicator: warn``,
    as a column of gaps: the aggregates renormalise their weights over the children with values), and a
    ``data`` step in the log for each thing reading found (:func:`index_engine.dataquality.findings`)."""
    missing = tuple(panel.missing_indicators(spec))
    if missing:
        raw = panel.values.reindex(columns=list(spec.indicators))
    else:
        raw = panel.values[list(spec.indicators)]  # tables are never changed in place: a view, not a copy
    log = _Log()
    for f in findings(spec, panel):
        if f.warning is not None:
            warnings.warn(f.text, f.warning, stacklevel=2)
        log.steps.append(Step("data", f.kind, {}, f.codes, f.spec_path, f.count, (f.text,)))
    if spec.units is not None:
        keep_units = set(spec.units) | set(spec.reference_units)
        unknown = sorted(set(spec.units) - set(panel.units))
        if unknown:
            raise DataError(f"{panel.file}: the spec's units list names units the data lacks: {list_rows(unknown)}")
        raw = raw[raw.index.get_level_values("unit").isin(keep_units)]
    warn_empty_nodes(spec, raw, panel.file, dropped=missing)
    warn_empty_years(spec, raw, panel.file)
    return StageResult(raw, log.steps)


def _transform(spec: Spec, panel: Panel, table: pd.DataFrame) -> StageResult:
    log = _Log()
    out = _per_indicator(spec, panel, "transform", table, lambda e, x: e.method.func(x, **e.params), log)
    return StageResult(out, log.steps)


def _denominate(spec: Spec, panel: Panel, table: pd.DataFrame) -> StageResult:
    """Each indicator scaled by its denominator. A value whose denominator the data lacks (no column, or an
    empty cell for its unit-year) is missing, not an error: logged (a ``data`` step ``missing_denominators``)
    and warned about (:class:`MissingDenominatorWarning`). A denominator is read on the table's rows (the
    spec's ``units`` may leave out some of the data's)."""
    lost: list[tuple[str, str, bool, list]] = []  # (indicator, denominator, column absent, unit-years)
    on_rows: dict[str, pd.Series] = {}  # each denominator on the table's rows, taken once

    def denominator(name: str) -> pd.Series:
        if name not in on_rows:
            if name not in panel.values.columns:
                d = pd.Series(np.nan, index=table.index)
            else:
                d = panel.values[name]
                d = d.set_axis(table.index) if d.index.equals(table.index) else d.reindex(table.index)
            on_rows[name] = d.rename(name)
        return on_rows[name]

    def apply(e: Entry, x: pd.Series) -> pd.Series:
        den_name = spec.nodes[e.code].denominator
        if not den_name:
            return e.method.func(x, None, **e.params)
        absent = den_name not in panel.values.columns
        den = denominator(den_name)
        gone = x.notna().to_numpy() & den.isna().to_numpy()
        if gone.any():
            lost.append((e.code, den_name, absent, list(x.index[gone])))
        return e.method.func(x, den, **e.params)

    log = _Log()
    out = _per_indicator(spec, panel, "denominate", table, apply, log)
    if lost:
        n = sum(len(cells) for *_, cells in lost)
        parts = [f"{code} / {den} ({'not in the data' if absent else 'empty for ' + list_rows(cells, 3)})"
                 for code, den, absent, cells in lost]
        text = (f"{panel.file}: {n} value{'s' * (n != 1)} without their denominator left missing: "
                f"{list_rows(parts, 8)}")
        warnings.warn(text, MissingDenominatorWarning, stacklevel=2)
        log.steps.append(Step("data", "missing_denominators", {}, tuple(c for c, *_ in lost), "steps.denominate", n, (text,)))
    return StageResult(out, log.steps)


class _CellRecords:
    """One row per touched cell of a stage's table: ``unit, year, indicator`` and ``columns``, gathered
    indicator by indicator as positions and arrays, made into one table at the end."""

    def __init__(self, index: pd.MultiIndex, columns: list[str]) -> None:
        self.index, self.columns = index, columns
        self.parts: list[tuple[np.ndarray, str, dict[str, Any]]] = []

    def add(self, hit: np.ndarray, code: str, **values: Any) -> None:
        """The cells ``hit`` (a mask over the index) of indicator ``code``; ``values`` a value or an array per column."""
        self.parts.append((np.flatnonzero(hit), code, values))

    def table(self) -> pd.DataFrame:
        cols = ["unit", "year", "indicator", *self.columns]
        if not self.parts:
            return pd.DataFrame(columns=cols)
        idx = self.index[np.concatenate([pos for pos, _, _ in self.parts])]
        data: dict[str, Any] = {"unit": idx.get_level_values("unit"), "year": idx.get_level_values("year"),
                                "indicator": [code for pos, code, _ in self.parts for _ in range(len(pos))]}
        for c in self.columns:
            data[c] = _stacked([(len(pos), v[c]) for pos, _, v in self.parts])
        return pd.DataFrame(data, columns=cols)


def _stacked(parts: list[tuple[int, Any]]) -> Any:
    """The values of one column of :class:`_CellRecords`: arrays joined, a value repeated over its cells."""
    arrays = [v if isinstance(v, np.ndarray) else None for _, v in parts]
    if all(a is not None for a in arrays):
        return np.concatenate(arrays)
    return [x for n, v in parts for x in (v if isinstance(v, np.ndarray) else [v] * n)]


def _impute(spec: Spec, panel: Panel, table: pd.DataFrame) -> StageResult:
    # reference units (e.g. the national series) stay out of pools, ranks and peer statistics
    if spec.reference_units:
        units = table.index.get_level_values("unit")
        peers = table[~units.isin(set(spec.reference_units))]
    else:
        peers = table
    if peers.empty:
        raise DataError(f"{panel.file}: no units are left once the reference units are set aside")
    attrs = panel.attrs.reindex(peers.index)
    years = _year_positions(peers.index)
    year_attrs = {id(pos): attrs.iloc[pos] for pos, _ in years or ()}  # each year's rows, taken once
    records = _CellRecords(peers.index, ["method", "value"])

    def apply(e: Entry, x: pd.Series) -> pd.Series:
        parts = _pooled(x, e.pool, lambda g, pos: e.method.func(g, attrs if pos is None else year_attrs[id(pos)], **e.params), years)
        y = _joined(parts, x.index)
        before, after = x.to_numpy(dtype=float), y.to_numpy(dtype=float)
        filled = np.isnan(before) & ~np.isnan(after)
        if filled.any():
            records.add(filled, e.code, method=e.method.name, value=after[filled])
        return y

    log = _Log()
    out = _per_indicator(spec, panel, "impute", peers, apply, log)
    return StageResult(out, log.steps, {"imputed": records.table()})


def _screen(spec: Spec, panel: Panel, imp: pd.DataFrame) -> StageResult:
    entry = compile_plan(spec).screen
    method, params, path = entry.method, entry.params, entry.path
    if entry.pool != "year" or len(year_codes(imp.index)[1]) == 1:
        keep = method.func(imp, **params)
    else:
        keep = pd.concat([method.func(g, **params) for _, g in imp.groupby(level="year", sort=True)])
    keep = keep.reindex(imp.index).fillna(False).astype(bool).to_numpy()
    if keep.all():  # nothing dropped: the same table (large builds write it once)
        dropped, screened = (), imp
    else:
        dropped, screened = tuple(imp.index[~keep]), imp[keep]
    if screened.empty:
        raise BuildError(f"{spec.source}: {path}: screen.{method.name} dropped every unit")
    note = [f"dropped {list_rows(list(dropped))}"] if dropped else []
    log = _Log()
    key = entry.group
    log.add("screen", {key: ["*"]}, {key: len(dropped)}, {key: note})
    return StageResult(screened, log.steps, {"dropped": dropped})


def _treat(spec: Spec, panel: Panel, table: pd.DataFrame) -> StageResult:
    records = _CellRecords(table.index, ["treatment", "before", "after"])
    years = _year_positions(table.index)

    def apply(e: Entry, x: pd.Series) -> pd.Series:
        parts = _pooled(x, e.pool, lambda g, pos: e.method.func(g, **e.params), years)
        y = _joined([(g, r[0], pos) for g, r, pos in parts], x.index)
        lab = _joined([(g, r[1], pos) for g, r, pos in parts], x.index).to_numpy(dtype=object)
        hit = (lab != "") & ~pd.isna(lab)
        if hit.any():
            records.add(hit, e.code, treatment=lab[hit], before=x.to_numpy()[hit], after=y.to_numpy()[hit])
        return y

    log = _Log()
    out = _per_indicator(spec, panel, "treat", table, apply, log)
    return StageResult(out, log.steps, {"treatment": records.table()})


def _reference_build(spec: Spec) -> BuildFolder:
    """The reference build ``freeze_normalization`` names, read by the build-folder reader; it must hold
    ``fitted.csv``, and the treatment must not pool all years."""
    from pathlib import Path

    if any(e.pool == "all" for e in compile_plan(spec).entries("treat")):  # (no treatment has no pool)
        raise SpecError(
            f"{spec.source}: freeze_normalization: outlier treatment pooled over all years (steps.treat.pool: all) "
            "changes earlier years when a year is added; treat year by year (pool: year) or not at all"
        )

    d = Path(spec.freeze_normalization or "")
    d = d if d.is_absolute() else spec.base_dir / d
    try:
        ref = load_build(d)
    except DataError as exc:
        raise SpecError(f"{spec.source}: freeze_normalization: {exc}") from None
    if not ref.has("fitted"):
        raise SpecError(f"{spec.source}: freeze_normalization: no fitted.csv in the reference build {d}")
    return ref


def frozen_parameters(spec: Spec) -> dict[str, dict[str, float]]:
    """Per indicator, the normalisation statistics of the reference build named by
    ``freeze_normalization`` (pooled over all years), as fixed parameters (e.g. xmin, xmax)."""
    if not spec.freeze_normalization:
        return {}
    ref = _reference_build(spec)
    f, fitted = ref.file("fitted"), ref.fitted  # (an indicator coded NA stays a code)
    out: dict[str, dict[str, float]] = {}
    for entry in compile_plan(spec).entries("normalize"):
        code, method = entry.code, entry.method
        if not method.has("freezable"):
            continue
        rows = fitted[(fitted["indicator"] == code) & (fitted["pool"].astype(str) == "all")]
        if rows.empty:
            raise SpecError(
                f"{spec.source}: freeze_normalization: {f} has no pooled ('all') {method.name} statistics for {code}"
            )
        r = rows.iloc[0]
        out[code] = {
            param: json.loads(r[col]) if isinstance(r[col], str) else float(r[col])  # JSON: unit -> value
            for col, param in method.fitted.items()
            if col in r and pd.notna(r[col]) and r[col] != ""
        }
    return out


def _normalize(spec: Spec, panel: Panel, table: pd.DataFrame) -> StageResult:
    fitted: list[dict[str, Any]] = []
    frozen = frozen_parameters(spec)
    years = _year_positions(table.index)

    def apply(e: Entry, x: pd.Series) -> pd.Series:
        p = e.params
        if e.code in frozen:
            p = {**p, **{k: v for k, v in frozen[e.code].items() if p.get(k) is None}}
        parts = _pooled(x if e.direction == 1 else x * e.direction, e.pool, lambda g, pos: e.method.func(g, **p), years)
        for g, r, _ in parts:
            fit = r.attrs.get("fitted")
            if fit:
                yr = "all" if len(parts) == 1 and e.pool == "all" else int(g.index.get_level_values("year")[0])
                fitted.append({"indicator": e.code, "pool": yr, **fit})
        return _joined(parts, x.index)

    log = _Log()
    out = _per_indicator(spec, panel, "normalize", table, apply, log)
    return StageResult(out, log.steps, {"fitted": pd.DataFrame(fitted)})


_STAGES: dict[str, Callable[[Spec, Panel, Any], StageResult]] = {
    "raw": _raw,
    "transform": _transform,
    "denominate": _denominate,
    "impute": _impute,
    "screen": _screen,
    "treat": _treat,
    "normalize": _normalize,
}


def build(spec: Spec, panel: Panel, *, cache: dict | None = None) -> Build:
    """Build the index: every stage's table, weights, scores, ranks and contributions.

    Parameters
    ----------
    spec : Spec
        The index (see :func:`index_engine.load_spec`).
    panel : Panel
        The data (see :func:`index_engine.load_panel`).
    cache : dict, optional
        Reused upstream stages (see :func:`upstream`); for many builds of one panel.

    Returns
    -------
    Build
        Frozen; ``build(b.spec, b.panel) == b``.
    """
    t0 = time.perf_counter()
    panel.check_against(spec)
    spec = resolve_units(spec, panel)  # reference and tracked units named by their names: their codes
    with numeric_settings():  # many small products and large arrays: see index_engine._native
        stages = upstream(spec, panel, cache)
        return build_from_stages(spec, panel, stages, {"upstream": round(time.perf_counter() - t0, 6)})


def build_from_stages(spec: Spec, panel: Panel, stages: dict[str, StageResult], timings: dict[str, float]) -> Build:
    """The Build of upstream stage results (:func:`upstream`): weights and scores from the
    evaluator, the log and the warnings of every stage. ``timings`` gains ``aggregate``."""
    t0 = time.perf_counter()
    log = _Log()
    for res in stages.values():
        log.steps.extend(res.steps)
    caught_all = [w for res in stages.values() for w in res.warnings]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        weights, scores = _aggregate(spec, panel, stages["normalize"].table, log)
    caught_all += list(caught)
    timings["aggregate"] = round(time.perf_counter() - t0, 6)
    warns = []
    for w in caught_all:
        warns.append(f"{w.category.__name__}: {w.message}")
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return Build(
        spec=spec,
        panel=panel,
        tables={STAGE_TABLE[k]: v.table for k, v in stages.items()},
        scores=scores,
        weights=weights,
        imputed=stages["impute"].records["imputed"],
        treatment=stages["treat"].records["treatment"],
        dropped=stages["screen"].records["dropped"],
        fitted=stages["normalize"].records["fitted"],
        log=tuple(log.steps),
        warnings=tuple(warns),
        version=__version__,
        targets=track_targets(spec, panel),
        timings=timings,
    )


def tree_model(spec: Spec, shared: dict | None = None) -> TreeModel:
    """The spec's aggregates as the evaluator runs them (methods resolved by :func:`resolve`);
    ``shared`` lets specs share their data-free weights (see :meth:`TreeModel.of`)."""
    return TreeModel.of(spec, resolve, shared)


def _aggregate(
    spec: Spec, panel: Panel, normalized: pd.DataFrame, log: _Log
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Weights and scores of every aggregate, lowest level first (see :mod:`index_engine.evaluate`)."""
    model = tree_model(spec)
    parts = segment_rows(spec, panel, normalized.index)
    agg = aggregate_build(model, normalized, parts)
    groups: dict[tuple, list[str]] = defaultdict(list)
    wgroups: dict[tuple, list[str]] = defaultdict(list)
    for nd in model.nodes:
        groups[(nd.method.name, _freeze(nd.params), nd.path)].append(nd.code)
        wgroups[(nd.weighting.name, _freeze(nd.wparams), nd.wpath)].append(nd.code)
    notes = {
        key: [f"{c}: {json.dumps(jsonable(agg.diagnostics[c]), ensure_ascii=False)}" for c in codes if agg.diagnostics.get(c)]
        for key, codes in wgroups.items()
    }
    log.add("weights", wgroups, {}, notes)
    log.add("aggregate", groups, {})
    aggregates = pd.DataFrame(agg.scores, index=normalized.index, copy=False)  # the evaluator's arrays, not copied
    scores = pd.concat([normalized, aggregates], axis=1)  # the indicators' columns shared, not copied
    methods = {nd.code: nd.weighting.name for nd in model.nodes}
    table = weight_table(spec, agg.weights, agg.diagnostics, methods=methods)
    for name, ws in agg.segment_weights.items():
        seg_table = weight_table(spec, {**agg.weights, **ws}, {}, spec.segments.weight_sets[name], methods=methods)
        seg_table.insert(0, "segment", name)
        table = pd.concat([table.assign(segment=table.get("segment", "")), seg_table], ignore_index=True)
    if agg.segment_weights:
        table = table[["segment"] + [c for c in table.columns if c != "segment"]]
    return applied_weights(spec, table, scores), scores
