"""What a data file says about its values besides the numbers, and the rules that turn its rows into annual values.

Used by :mod:`index_engine.panel` when it reads a file (see ``docs/data.md``):

* provenance columns (``source``, ``vintage``, ``flag``, ``note``, ``break``) read and checked row by row;
* gap tokens (:data:`GAP_TOKENS`) counted per file;
* duplicated rows (same unit, period and indicator) settled by the spec's ``data.duplicates`` policy or refused;
* sub-annual rows turned into annual values by each indicator's rule (:func:`period_rule`);
* series breaks gathered into one table.

Problems are reported through a :class:`Problems` collector: by default the first raises a
:class:`~index_engine.errors.DataError`; ``index-engine validate`` collects them all instead.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._checks import list_rows
from .errors import (DataError, DuplicateRowsWarning, GapTokenWarning, MissingIndicatorWarning, PartialYearWarning,
                     UnknownIndicatorWarning)
from .flags import canonical_flag

if TYPE_CHECKING:
    from .spec import Spec

GAP_TOKENS = (
    "", "-", "--", "—", "–", "－", "..", "...", "…", "na", "n/a", "n.a.", "nan", "null", "none", "#n/a",
)
"""Cell texts read as a gap (a missing value), compared case-insensitively after trimming: empty, ``-``,
``--``, the dashes ``—`` ``–`` ``－``, ``..``, ``...``, ``…``, ``NA``, ``N/A``, ``n.a.``, ``NaN``, ``null``,
``None``, ``#N/A``. Any other text in a value column is an error naming its row."""

SOURCE_COLUMNS = ["unit", "year", "period", "indicator", "source", "vintage", "flag", "note"]
"""Columns of :attr:`Panel.sources <index_engine.panel.Panel.sources>`."""
BREAK_COLUMNS = ["unit", "indicator", "date", "note"]
"""Columns of :attr:`Panel.breaks <index_engine.panel.Panel.breaks>`."""
ANNUAL_COLUMNS = ["unit", "year", "indicator", "rule", "periods", "last_period", "value", "status", "note"]
"""Columns of the record of sub-annual rows turned into annual values (``Panel.quality.annualised``)."""
DUPLICATE_COLUMNS = ["unit", "period", "indicator", "kept_row", "dropped_rows", "policy"]
PROVENANCE_COLUMNS = ("source", "vintage", "flag", "note", "break")
"""The optional provenance columns of a long file (and of a wide file's provenance sheet or sidecar)."""

_VINTAGE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_BREAK_YES = {"1", "1.0", "true", "yes", "y", "x", "break", "是", "√", "✓"}
_BREAK_NO = {"", "0", "0.0", "false", "no", "n", "否"}
RULES = ("last", "sum", "mean", "annualise")


class Problems:
    """Where reading problems go: raised at once (``collect=None``), or appended to a list to report together."""

    def __init__(self, collect: list[str] | None = None) -> None:
        self.collect = collect

    def __call__(self, message: str) -> None:
        if self.collect is None:
            raise DataError(message)
        self.collect.append(message)


@dataclass(frozen=True)
class DataQuality:
    """What reading a file found besides the values (shown by ``validate`` and logged by a build).

    gaps : {token: count}
        Cells of the value columns read as gaps, by token as written (lower case; ``''`` for a blank cell).
    annualised : DataFrame (:data:`ANNUAL_COLUMNS`)
        Each unit-year-indicator whose annual value comes from sub-annual rows, with the rule and its status
        (``complete``, ``latest`` for a stock before year-end, ``partial`` for an incomplete flow: missing,
        ``annualised``).
    duplicates : DataFrame (:data:`DUPLICATE_COLUMNS`)
        Duplicated rows settled by the spec's policy.
    indicators : tuple
        The codes of a long file's indicator column, in the order of the file (empty for a wide file).
    """

    gaps: dict[str, int] = field(default_factory=dict)
    indicators: tuple[str, ...] = ()
    annualised: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ANNUAL_COLUMNS))
    duplicates: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=DUPLICATE_COLUMNS))

    @property
    def n_gaps(self) -> int:
        return int(sum(self.gaps.values()))


def count_gaps(tokens: pd.Series, counter: dict[str, int]) -> None:
    """Add the gap tokens of ``tokens`` (lower-cased, trimmed cell texts already known to be gaps) to ``counter``."""
    for token, n in tokens.value_counts().items():
        counter[str(token)] = counter.get(str(token), 0) + int(n)


def gap_summary(gaps: dict[str, int]) -> str:
    """``'3 cells: 'n/a' ×2, '—' ×1 (and 10 blank)'``: the gap tokens read, blank cells last."""
    named = sorted(((t, n) for t, n in gaps.items() if t), key=lambda tn: (-tn[1], tn[0]))
    parts = [f"{t!r} ×{n}" for t, n in named]
    blank = gaps.get("", 0)
    if blank:
        parts.append(f"{blank} blank")
    return f"{sum(gaps.values())} cells: " + ", ".join(parts)


def _cell_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _texts(col: pd.Series) -> np.ndarray:
    return np.array([_cell_text(v) for v in col.tolist()], dtype=object)


def normal_vintage(v: Any) -> str | None:
    """A vintage as ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` ('' when empty); None when it is not a date."""
    if isinstance(v, (_dt.datetime, _dt.date, pd.Timestamp)):
        return f"{v.year:04d}-{v.month:02d}-{v.day:02d}"
    text = _cell_text(v)
    if not text:
        return ""
    m = _VINTAGE.match(text)
    if not m:
        return None
    y, mo, d = m.groups()
    try:
        _dt.date(int(y), int(mo or 1), int(d or 1))
    except ValueError:
        return None
    return text


def vintage_key(v: str) -> tuple[int, int, int]:
    """Order of vintages: by year, month, day; a vintage without month (or day) sorts before one with it."""
    m = _VINTAGE.match(v)
    if not m:
        return (-1, -1, -1)
    y, mo, d = m.groups()
    return int(y), int(mo or 0), int(d or 0)


def read_provenance(df: pd.DataFrame, name: str, problems: Problems, rows: np.ndarray | None = None) -> dict[str, np.ndarray] | None:
    """The provenance columns of ``df`` (matched without case) as arrays, one value per row: ``source``, ``note``
    (text), ``vintage`` (:func:`normal_vintage`), ``flag`` (canonical, :func:`~index_engine.flags.canonical_flag`)
    and ``break`` (bool). None when the file has none of them. ``rows`` are the file rows of ``df`` (default:
    header on row 1). A bad flag, vintage or break mark is a problem naming the file, column and rows."""
    low = {str(c).lower(): c for c in df.columns}
    present = [c for c in PROVENANCE_COLUMNS if c in low]
    if not present:
        return None
    n = len(df)
    rows = np.arange(n) + 2 if rows is None else rows
    out: dict[str, np.ndarray] = {}
    for c in ("source", "note"):
        out[c] = _texts(df[low[c]]) if c in low else np.full(n, "", dtype=object)
    out["vintage"] = np.full(n, "", dtype=object)
    if "vintage" in low:
        col = df[low["vintage"]]
        codes, uniq = pd.factorize(col.astype(object), use_na_sentinel=True)
        normal = [normal_vintage(u) for u in uniq]
        bad = [i for i, v in enumerate(normal) if v is None]
        if bad:
            hit = np.flatnonzero(np.isin(codes, bad))
            where = [f"row {rows[i]} ({_cell_text(col.iloc[i])!r})" for i in hit[:6]]
            problems(f"{name}: column {low['vintage']!r}: not a vintage (write YYYY, YYYY-MM or YYYY-MM-DD, or leave it "
                     f"empty) at {list_rows(where, total=hit.size)}")
        table = np.array([v or "" for v in normal] + [""], dtype=object)
        out["vintage"] = table[codes]  # a missing cell (code -1) takes the last entry, ''
    out["flag"] = np.full(n, "observed", dtype=object)
    if "flag" in low:
        col = df[low["flag"]]
        texts = _texts(col)
        codes, uniq = pd.factorize(texts)
        canon = []
        for i, u in enumerate(uniq):
            try:
                canon.append(canonical_flag(u))
            except DataError:
                hit = np.flatnonzero(codes == i)
                canon.append("observed")
                problems(canonical_flag_error(u, f"{name}: column {low['flag']!r}, {list_rows([f'row {rows[j]}' for j in hit], total=hit.size)}"))
        out["flag"] = np.array(canon, dtype=object)[codes] if len(uniq) else out["flag"]
    out["break"] = np.zeros(n, bool)
    if "break" in low:
        texts = np.array([t.lower() for t in _texts(df[low["break"]])], dtype=object)
        yes = np.isin(texts, list(_BREAK_YES))
        bad = ~yes & ~np.isin(texts, list(_BREAK_NO))
        if bad.any():
            hit = np.flatnonzero(bad)
            where = [f"row {rows[i]} ({texts[i]!r})" for i in hit[:6]]
            problems(f"{name}: column {low['break']!r}: mark a series break with 1 (or yes, x, 是) and leave other rows "
                     f"empty; not a break mark at {list_rows(where, total=hit.size)}")
        out["break"] = yes
    return out


def canonical_flag_error(text: str, where: str) -> str:
    """The message of an unknown flag at ``where`` (file, column and rows), from the flag vocabulary's own error."""
    try:
        canonical_flag(text, where)
    except DataError as exc:
        return str(exc)
    return where  # pragma: no cover - text is a known flag


def settle_duplicates(
    key: pd.DataFrame, prov: dict[str, np.ndarray] | None, policy: Any, name: str, problems: Problems,
    rows: np.ndarray | None = None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """(rows to keep, record of the duplicates settled) for rows of ``key`` (``unit, period, indicator``) that
    repeat. ``policy``: ``'error'`` (each set of repeated rows is a problem naming them all), ``'latest_vintage'``
    (the row with the latest vintage wins; a tie or an empty vintage is a problem), or an object with
    ``source_order`` (the row whose source comes first wins; sources not listed come after, a tie is a problem)."""
    n = len(key)
    rows = np.arange(n) + 2 if rows is None else rows
    keep = np.ones(n, bool)
    dup = np.flatnonzero(key.duplicated(keep=False).to_numpy())
    if dup.size == 0:
        return keep, pd.DataFrame(columns=DUPLICATE_COLUMNS)
    order = getattr(policy, "source_order", None)
    mode = "source_order" if order is not None else str(policy)
    sources = prov["source"] if prov is not None else np.full(n, "", dtype=object)
    vintages = prov["vintage"] if prov is not None else np.full(n, "", dtype=object)
    groups = key.iloc[dup].groupby(list(key.columns), sort=False).indices
    records, unsettled = [], []
    for (u, p, ind), pos in groups.items():
        idx = dup[pos]
        if mode == "latest_vintage":
            ranks = [vintage_key(vintages[i]) if vintages[i] else None for i in idx]
            best = max((r for r in ranks if r is not None), default=None)
            winners = [i for i, r in zip(idx, ranks) if r == best]
            ok = best is not None and len(winners) == 1 and all(r is not None for r in ranks)
        elif mode == "source_order":
            place = {s: k for k, s in enumerate(order)}
            ranks = [place.get(sources[i], len(order)) for i in idx]
            winners = [i for i, r in zip(idx, ranks) if r == min(ranks)]
            ok = len(winners) == 1
        else:
            ok, winners = False, []
        srcs = ", ".join(repr(sources[i]) for i in idx) if any(sources[i] for i in idx) else ""
        label = f"rows {', '.join(str(rows[i]) for i in idx[:-1])} and {rows[idx[-1]]} ({u}, {p or '-'}, {ind}{'; sources ' + srcs if srcs else ''})"
        if not ok:  # (when problems are collected, the first row stands for them)
            unsettled.append(label)
            keep[idx[1:]] = False
            continue
        win = winners[0]
        keep[idx] = False
        keep[win] = True
        records.append({"unit": u, "period": p, "indicator": ind, "kept_row": int(rows[win]),
                        "dropped_rows": " ".join(str(rows[i]) for i in idx if i != win), "policy": mode})
    if unsettled:
        if mode == "error":
            how = ("keep one row of each, or set data.duplicates in the spec: latest_vintage, or {source_order: [...]} "
                   "naming the sources in the order to prefer")
            problems(f"{name}: duplicated (unit, period, indicator): {list_rows(unsettled)}; {how}")
        else:
            why = "their vintages are equal or empty" if mode == "latest_vintage" else "their sources rank equal in data.duplicates.source_order"
            problems(f"{name}: data.duplicates: {mode} cannot choose between {list_rows(unsettled)} ({why})")
    return keep, pd.DataFrame(records, columns=DUPLICATE_COLUMNS)


def period_rule(spec: Spec | None, indicator: str) -> str:
    """How an indicator's sub-annual rows make its annual value: the spec's ``aggregate_periods``, else what its
    ``type`` implies (``flow``: ``sum``; ``stock`` and every other type: ``last``)."""
    node = spec.nodes.get(indicator) if spec is not None else None
    if node is None:
        return "last"
    if node.aggregate_periods is not None:
        return node.aggregate_periods
    return "sum" if node.type == "flow" else "last"


def annualise(obs: pd.DataFrame, spec: Spec | None) -> pd.DataFrame:
    """Annual values from the sub-annual rows of ``obs`` (``unit, period, date, year, indicator, value``, sub-annual
    rows with a value, for unit-years without an annual value), one row per unit, year and indicator
    (:data:`ANNUAL_COLUMNS`).

    Rules (:func:`period_rule`): ``last`` the latest observation of the year (status ``latest`` and a note
    "latest: 2025-09" before year-end); ``sum`` the sum of the months (or quarters) when all 12 (4) are there,
    else missing with status ``partial``; ``annualise`` that sum scaled by 12/n (4/n) when some are missing;
    ``mean`` the mean of the months (quarters) there are. Monthly rows are used when a year has any, else
    quarterly ones.
    """
    if obs.empty:
        return pd.DataFrame(columns=ANNUAL_COLUMNS)
    out = []
    quarterly = obs["period"].str.contains("Q", regex=False).to_numpy()
    obs = obs.assign(_q=quarterly)
    for (unit, year, ind), g in obs.groupby(["unit", "year", "indicator"], sort=False):
        rule = period_rule(spec, ind)
        g = g.sort_values("date")
        last = g.iloc[-1]
        if rule == "last":
            year_end = last["date"].month == 12
            out.append((unit, year, ind, rule, len(g), last["period"], float(last["value"]),
                        "complete" if year_end else "latest", "" if year_end else f"latest: {last['period']}"))
            continue
        part = g[~g["_q"]] if (~g["_q"]).any() else g
        per_year = 4 if part["_q"].iloc[0] else 12
        part = part.drop_duplicates("period", keep="last")
        n = len(part)
        what = "quarters" if per_year == 4 else "months"
        span = f"{part['period'].iloc[0]}..{part['period'].iloc[-1]}"
        total = float(part["value"].sum())
        if rule == "mean":
            value, status = float(part["value"].mean()), "complete" if n == per_year else "partial_mean"
            note = "" if n == per_year else f"mean of {n} of {per_year} {what} ({span})"
        elif n == per_year:
            value, status, note = total, "complete", ""
        elif rule == "annualise":
            value, status = total * per_year / n, "annualised"
            note = f"annualised from {n} of {per_year} {what} ({span}): sum × {per_year}/{n}"
        else:
            value, status = np.nan, "partial"
            note = f"partial year: {n} of {per_year} {what} ({span}); the sum of a part of a year is not an annual value"
        out.append((unit, year, ind, rule, n, part["period"].iloc[-1], value, status, note))
    return pd.DataFrame(out, columns=ANNUAL_COLUMNS)


def year_of(date: str) -> int:
    """The year of a break date (``2023``, ``2023-07``, ``2023-07-01``, ``2023Q3``)."""
    return int(str(date)[:4])


@dataclass(frozen=True)
class Finding:
    """One thing reading found that a build logs (a ``data`` step of the log) and, when ``warning`` is set,
    warns about: ``kind`` (missing_indicators, unknown_indicators, gaps, sub_annual, duplicates, breaks),
    the codes it concerns, how many cells or rows, and the text."""

    kind: str
    codes: tuple[str, ...]
    count: int
    text: str
    warning: type[Warning] | None = None
    spec_path: str = "data"


def _strings(value: Any) -> set[str]:
    """Every text (key or value) in a nested structure of dicts and lists, such as a spec's dict."""
    out: set[str] = set()
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            out.add(v)
        elif isinstance(v, dict):
            out.update(str(k) for k in v)
            stack.extend(v.values())
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
    return out


def group_by_dimension(spec: Spec, codes: list[str]) -> dict[str, list[str]]:
    """``codes`` grouped by their dimension (the node right below the index), in tree order."""
    out: dict[str, list[str]] = {}
    for c in codes:
        dim = c
        while spec.parents.get(dim) not in (None, spec.tree.code):
            dim = spec.parents[dim]
        out.setdefault(dim if spec.parents.get(dim) is not None else spec.tree.code, []).append(c)
    return out


def findings(spec: Spec, panel: Any) -> list[Finding]:
    """What the build log records about the data of ``panel`` read for ``spec`` (see :class:`Finding`)."""

    out: list[Finding] = []
    file, q = panel.file, panel.quality
    missing = panel.missing_indicators(spec)
    if missing and spec.data is not None and spec.data.on_missing_indicator == "warn":
        groups = "; ".join(f"{d}: {', '.join(c)}" for d, c in group_by_dimension(spec, missing).items())
        out.append(Finding("missing_indicators", tuple(missing), len(missing),
                           f"{file}: dropped {len(missing)} of the {len(spec.indicators)} indicators the data lacks "
                           f"({groups}); the weights of their siblings are renormalised", MissingIndicatorWarning,
                           "data.on_missing_indicator"))
    dens = {n.denominator for n in spec.nodes.values() if n.denominator}
    if q.indicators:  # a long file: the codes of its indicator column
        unknown = [c for c in q.indicators if c not in spec.nodes and c not in dens]
        what = "indicator"
    else:  # a wide file: its numeric columns that the spec names nowhere (not as a node, denominator, group, ...)
        named = dens | _strings(spec.to_dict())
        unknown = [c for c in panel.values.columns
                   if c not in spec.nodes and c not in named and str(c).lower() not in PROVENANCE_COLUMNS]
        what = "numeric column"
    if unknown:
        out.append(Finding("unknown_indicators", tuple(unknown), len(unknown),
                           f"{file}: the data has {len(unknown)} {what}{'s' * (len(unknown) != 1)} the spec does not name, "
                           f"not used: {list_rows(unknown)}", UnknownIndicatorWarning))
    if q.gaps:
        named = any(t for t in q.gaps)
        out.append(Finding("gaps", tuple(sorted(q.gaps)), q.n_gaps, f"{file}: read as gaps: {gap_summary(q.gaps)}",
                           GapTokenWarning if named else None))
    a = q.annualised
    if not a.empty:
        used = a[a["indicator"].isin(spec.indicators)]
        for status, part in used.groupby("status", sort=True):
            rules = ", ".join(f"{i} ({r})" for i, r in part[["indicator", "rule"]].drop_duplicates().itertuples(index=False))
            cells = list_rows([f"{u} {y} {i}" + (f" ({n})" if n else "") for u, y, i, n in
                               part[["unit", "year", "indicator", "note"]].itertuples(index=False)])
            text = f"{file}: {len(part)} annual values from sub-annual rows, {status}: {rules}: {cells}"
            if status == "partial":
                text += "; missing (a flow's partial year is not an annual value unless aggregate_periods: annualise)"
            out.append(Finding("sub_annual", tuple(pd.unique(part["indicator"])), len(part), text,
                               PartialYearWarning if status == "partial" else None))
    d = q.duplicates
    if not d.empty:
        rows = list_rows([f"{r.unit} {r.period} {r.indicator}: row {r.kept_row} kept, {r.dropped_rows} dropped"
                          for r in d.itertuples(index=False)])
        out.append(Finding("duplicates", tuple(pd.unique(d["indicator"])), len(d),
                           f"{file}: {len(d)} duplicated values settled by data.duplicates ({d['policy'].iloc[0]}): {rows}",
                           DuplicateRowsWarning, "data.duplicates"))
    b = panel.breaks
    if not b.empty:
        out.append(Finding("breaks", tuple(pd.unique(b["indicator"])), len(b),
                           f"{file}: series breaks (no change spans them): "
                           + list_rows([f"{r.unit} {r.indicator} from {r.date}" + (f" ({r.note})" if r.note else "")
                                        for r in b.itertuples(index=False)]), None, "breaks"))
    return out
