"""Coverage: how much observed data stands behind each score, and which scores are published.

For unit u, year y and node n::

    coverage(u, y, n) = Σ_i s(n, i) · obs(u, y, i)

over the indicators i under n, where s(n, i) is i's nominal effective weight within n (the spec's
nominal weights, each divided by the sum of its siblings', multiplied from n down to i; so
Σ_i s(n, i) = 1) and obs(u, y, i) is 1 when the data file gives the year's value (after the
transformation and the denominator), its flag counts as observed (:func:`index_engine.flags.counts_as_observed`:
observed, estimate, provisional, proxy, illustrative; not forecast) and it was not imputed. An
indicator the data lacks, one dropped, or one without any value counts 0, so dropping an
indicator never raises coverage; an indicator of nominal weight 0 counts for nothing. For an
indicator, coverage is obs itself. Coverage is measured against the nominal weights whatever the
weighting method (a data-driven method's weights are not known before the data).

A spec's ``publish:`` section (:class:`index_engine.spec.Publish`) sets the threshold below which a
unit's score at an aggregate is withheld: empty in scores.csv with its reason in ``status``
(``coverage 0.12 < 0.66``), left out of ranks, changes and contributions. Without it every score
is published (COINr and HDI parity).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Iterable, Mapping

import numpy as np
import pandas as pd

from ._checks import list_rows
from .errors import EmptyNodeYearWarning
from .flags import FLAGS, canonical_flag
from .panel import has_value
from .ranks import year_codes
from .tables import effective_weights

if TYPE_CHECKING:
    from .panel import Panel
    from .result import Build
    from .spec import Spec

FLAG_NAMES = tuple(FLAGS)
"""The flag vocabulary in display order; :func:`value_flags` codes a flag by its position here."""
_COUNTS = np.array([FLAGS[f].counts_as_observed for f in FLAG_NAMES])


def nominal_shares(spec: Spec, nodes: Iterable[str] | None = None) -> pd.DataFrame:
    """s(n, i): indicators (rows, tree order) × nodes (columns, default every node), each column summing to 1.

    >>> from index_engine.spec import spec_from_dict
    >>> s = spec_from_dict({"index": {"id": "X"}, "tree": {"code": "X", "children": [
    ...     {"code": "A", "children": [{"code": "a1"}, {"code": "a2", "weight": 3}]}, {"code": "b"}]}})
    >>> nominal_shares(s, ["X", "A"]).to_dict()
    {'X': {'a1': 0.125, 'a2': 0.375, 'b': 0.5}, 'A': {'a1': 0.25, 'a2': 0.75, 'b': 0.0}}
    """
    nodes = list(spec.nodes) if nodes is None else list(nodes)
    pos = {c: k for k, c in enumerate(spec.indicators)}
    memo: dict[str, np.ndarray] = {}

    def shares(code: str) -> np.ndarray:
        if code not in memo:
            out = np.zeros(len(pos))
            node = spec.nodes[code]
            if node.is_indicator:
                out[pos[code]] = 1.0
            else:
                total = sum(c.weight for c in node.children)
                for c in node.children:
                    if c.weight > 0:
                        out += (c.weight / total) * shares(c.code)
            memo[code] = out
        return memo[code]

    return pd.DataFrame({c: shares(c) for c in nodes}, index=list(spec.indicators))


def value_flags(panel: Panel, indicators: Iterable[str], index: pd.MultiIndex) -> np.ndarray | None:
    """The flag of each value, coded by its position in :data:`FLAG_NAMES`: rows of ``index`` ×
    ``indicators``, -1 where the file gives no flag for the value (an observed value); None when it
    gives none at all.

    Flags come from ``panel.sources`` (the long layout's ``flag`` column): a year's annual row, else
    its latest sub-annual one. A wide file's text column ``flag`` flags every value of its row."""
    inds = list(indicators)
    out: np.ndarray | None = None
    attrs = panel.attrs
    if "flag" in attrs.columns:
        col = attrs["flag"]
        where = f"{panel.file}: column 'flag'"
        words = {v: FLAG_NAMES.index(canonical_flag("" if v in ("nan", "None") else v, where)) for v in pd.unique(col)}
        codes = col.map(words)
        if not codes.index.equals(index):
            codes = codes.reindex(index)
        row = codes.fillna(-1).to_numpy(dtype=np.int8)
        out = np.repeat(row[:, None], len(inds), axis=1)
    src = panel.sources
    if "flag" in src.columns and len(src):
        src = src[src["indicator"].isin(inds)]
        annual = (src["period"].astype(str) == src["year"].astype(str)) | (src["period"].astype(str) == "")
        src = src.assign(_annual=annual.to_numpy()).sort_values(["_annual", "period"], kind="stable")
        src = src.drop_duplicates(["unit", "year", "indicator"], keep="last")
        rows = index.get_indexer(pd.MultiIndex.from_arrays([src["unit"], src["year"]]))
        cols = pd.Index(inds).get_indexer(src["indicator"])
        codes = np.array([FLAG_NAMES.index(f) for f in src["flag"]], dtype=np.int8)
        keep = rows >= 0
        if out is None:
            out = np.full((len(index), len(inds)), -1, dtype=np.int8)
        out[rows[keep], cols[keep]] = codes[keep]
    return out


GIVEN_STAGES = ("raw", "denominated")
"""The stage tables whose values count as given by the file: present as read, and after the denominator
(a value whose denominator is missing is not observed)."""


def observed(b: Build) -> np.ndarray:
    """obs(u, y, i) of the build's rows (``b.scores.index``) × the spec's indicators: a value given by the
    file (present after the transformation and the denominator), not imputed, with a flag that counts
    as observed. Made on each call (the coverage tables made from it are kept); the build's
    :func:`observation_shares` are counted from the same cells the first time."""
    given, flags = _cells(b)
    if "_observation_shares" not in b.__dict__:
        b.__dict__["_observation_shares"] = _shares(b, given, flags)
    return _counted(given, flags)


def observed_cells(
    spec: Spec, panel: Panel, tables: Mapping[str, pd.DataFrame], index: pd.MultiIndex
) -> np.ndarray:
    """:func:`observed` of the rows ``index`` from a panel's stage tables (``tables``: at least those of
    :data:`GIVEN_STAGES`), where there is no build yet (``index-engine validate``)."""
    inds = list(spec.indicators)
    return _counted(given_cells(tables, index, inds, GIVEN_STAGES), value_flags(panel, inds, index))


def _counted(given: np.ndarray, flags: np.ndarray | None) -> np.ndarray:
    """The given cells whose flag counts as observed (no flag: observed)."""
    return given if flags is None else given & ((flags < 0) | _COUNTS[np.maximum(flags, 0)])


def _cells(b: Build) -> tuple[np.ndarray, np.ndarray | None]:
    """(where the file gives a value, the flag of each value or None): the build's rows × the spec's
    indicators (a large build's cells are not kept: a million rows of 30 indicators take 30 MB)."""
    inds = list(b.spec.indicators)
    return _given(b, inds, GIVEN_STAGES), value_flags(b.panel, inds, b.scores.index)


def _given(b: Build, inds: list[str], stages: tuple[str, ...]) -> np.ndarray:
    """:func:`given_cells` of the build's rows."""
    return given_cells(b.tables, b.scores.index, inds, stages)


def given_cells(
    tables: Mapping[str, pd.DataFrame], index: pd.MultiIndex, inds: list[str], stages: tuple[str, ...]
) -> np.ndarray:
    """True where every stage table of ``stages`` has a value: the rows ``index`` × ``inds`` (a column a stage
    lacks: False)."""
    out = np.zeros((len(index), len(inds)), dtype=bool, order="F")  # a column per indicator, contiguous
    seen: list[pd.DataFrame] = []
    for stage in stages:
        t = tables.get(stage)
        if t is None or any(t is s for s in seen):  # a stage that changed nothing is its input's table
            continue
        seen.append(t)
        same = t.index is index or (len(t.index) == len(index) and t.index.equals(index))
        pos = None if same else t.index.get_indexer(index)
        for k, c in enumerate(inds):
            if c not in t.columns:
                out[:, k] = False
                continue
            values = t[c].to_numpy(dtype=float)
            if pos is None and stage == stages[0]:  # straight into the column, no temporaries
                np.isnan(values, out=out[:, k])
                np.logical_not(out[:, k], out=out[:, k])
                continue
            has = ~np.isnan(values)
            has = has if pos is None else np.where(pos >= 0, has[np.maximum(pos, 0)], False)
            if stage == stages[0]:
                out[:, k] = has
            else:
                out[:, k] &= has
    return out


def observation_shares(b: Build) -> dict[str, float]:
    """How the build's indicator-years (its rows × the spec's indicators) stand: the share given by the
    file under each flag (keys of :data:`FLAG_NAMES`, only those present), ``imputed``, ``missing``
    (neither), and ``counted``, the share that counts as observed (the sum over the flags that count).
    Counted once per build."""
    made = b.__dict__.get("_observation_shares")
    if made is None:
        made = b.__dict__["_observation_shares"] = _shares(b, *_cells(b))
    return dict(made)


def _shares(b: Build, given: np.ndarray, flags: np.ndarray | None) -> dict[str, float]:
    """:func:`observation_shares` from the build's cells (:func:`_cells`)."""
    n_filled = int((_given(b, list(b.spec.indicators), ("imputed",)) & ~given).sum()) if len(b.imputed) else 0
    total = given.size or 1
    if flags is None:
        counts = np.zeros(len(FLAG_NAMES), dtype=np.int64)
        counts[0] = np.count_nonzero(given)
    else:
        counts = np.bincount(np.maximum(flags, 0)[given], minlength=len(FLAG_NAMES))
    out = {f: counts[k] / total for k, f in enumerate(FLAG_NAMES) if counts[k]}
    out["imputed"] = n_filled / total
    out["missing"] = 1.0 - (int(counts.sum()) + n_filled) / total
    out["counted"] = float(counts[_COUNTS].sum()) / total
    return out


def latest_vintage(panel: Panel) -> str:
    """The latest publication date (``vintage``) the data file gives, as written (empty when none)."""
    src = panel.sources
    if "vintage" not in src.columns or not len(src):
        return ""
    v = src["vintage"].dropna().astype(str).str.strip()
    v = v[(v != "") & (v.str.lower() != "nan")]
    return str(v.max()) if len(v) else ""


_BLOCK = 65_536

_PATTERN_BITS = 12
"""A node with up to this many partly observed indicators has its coverage worked out once per pattern of
them (at most 2**12 values), then looked up by each row's pattern; beyond, row by row."""


def node_coverage(b: Build, nodes: Iterable[str] | None = None) -> pd.DataFrame:
    """coverage(u, y, n): rows like ``b.scores`` × ``nodes`` (default every node) (:func:`coverage_of` the
    build's observed cells)."""
    return coverage_of(b.spec, observed(b), b.scores.index, nodes)


def coverage_of(spec: Spec, obs: np.ndarray, index: pd.MultiIndex, nodes: Iterable[str] | None = None) -> pd.DataFrame:
    """coverage(u, y, n): the rows ``index`` × ``nodes`` (default every node), from the observed cells ``obs``
    (rows × the spec's indicators, :func:`observed`): each node's nominal shares of its observed indicators
    added up in the spec's order of the indicators. Each node's column is contiguous (a Parquet column is
    made from it without a copy).

    A row's coverage of a node depends only on which of the node's indicators it observes, and most of them
    are observed in every row or in none. So the sum is made once per pattern of the partly observed ones
    (the same additions in the same order as row by row, so the same bits), and each row takes its
    pattern's value; a node with more than :data:`_PATTERN_BITS` of them is added up a block of rows at a
    time instead (so the block stays in cache)."""
    shares = nominal_shares(spec, nodes)
    w = shares.to_numpy(dtype=float)
    rows = len(obs)
    seen = np.array([np.count_nonzero(obs[:, i]) for i in range(obs.shape[1])], dtype=np.int64)
    out = np.empty((w.shape[1], rows))  # nodes × rows: a node's coverage is one contiguous row
    for j in range(w.shape[1]):
        terms = [(i, w[i, j]) for i in np.flatnonzero(w[:, j])]  # in the spec's order of the indicators
        partial = [i for i, _ in terms if 0 < seen[i] < rows]
        if len(partial) > _PATTERN_BITS:
            _added_by_rows(out[j], obs, terms)
            continue
        bit = {i: k for k, i in enumerate(partial)}
        patterns = np.arange(1 << len(partial))
        value = np.zeros(len(patterns))  # the coverage of each pattern of the partly observed indicators
        for i, share in terms:
            if seen[i] == rows:
                np.add(value, share, out=value)
            elif i in bit:
                np.add(value, share, out=value, where=(patterns >> bit[i]) & 1 == 1)
        if not partial:
            out[j] = value[0]
            continue
        code = np.zeros(rows, np.uint16)  # each row's pattern
        for i, k in bit.items():
            np.bitwise_or(code, np.left_shift(obs[:, i], k, dtype=np.uint16), out=code)
        value.take(code, out=out[j], mode="clip")  # (codes are in range: "clip" takes them as they are)
    return pd.DataFrame(out.T, index=index, columns=shares.columns, copy=False)


def _added_by_rows(out: np.ndarray, obs: np.ndarray, terms: list[tuple[int, float]]) -> None:
    """``out`` (rows) = the sum of the shares of ``terms`` (indicator, share) that each row observes, a
    block of rows at a time."""
    out[:] = 0.0
    for start in range(0, len(out), _BLOCK):
        block, seen = out[start:start + _BLOCK], obs[start:start + _BLOCK]
        for i, share in terms:
            np.add(block, share, out=block, where=seen[:, i])


def aggregate_coverage(b: Build) -> pd.DataFrame:
    """The coverage of the aggregates (a large build's coverage.parquet, the withheld scores, the console
    summary), computed once per build."""
    aggs = list(b.spec.aggregates)
    if "coverage" in b.__dict__:
        return b.coverage[aggs]
    made = b.__dict__.get("_aggregate_coverage")
    if made is None:
        made = b.__dict__["_aggregate_coverage"] = node_coverage(b, aggs)
    return made


def coverage_long(coverage: pd.DataFrame) -> pd.DataFrame:
    """``unit, year, node, coverage`` of a wide coverage table (coverage.csv)."""
    out = coverage.stack(future_stack=True).rename("coverage").reset_index()
    out.columns = ["unit", "year", "node", "coverage"]
    return out


def thresholds(spec: Spec) -> dict[str, float]:
    """Each aggregate's publication threshold (empty without ``publish:``)."""
    p = spec.publish
    if p is None:
        return {}
    return {c: p.threshold(c, spec.levels[c]) for c in spec.aggregates}


def withheld(spec: Spec, coverage: pd.DataFrame) -> pd.DataFrame | None:
    """True where a unit's score at an aggregate is withheld (coverage below its threshold): rows like
    ``coverage`` × the aggregates; None without ``publish:``."""
    thr = thresholds(spec)
    if not thr:
        return None
    cols = list(thr)
    return pd.DataFrame(below(coverage[cols].to_numpy(), np.array([thr[c] for c in cols])), index=coverage.index, columns=cols)


def below(coverage: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """Where ``coverage`` is below ``threshold`` (elementwise; a coverage within 1e-12 of it, float residue of
    a sum of weights, is not below)."""
    return coverage < threshold - 1e-12


def status_text(coverage: float, threshold: float) -> str:
    """Why a score is withheld, e.g. ``coverage 0.12 < 0.66``."""
    return f"coverage {coverage:.2f} < {threshold:g}"


def status_of(spec: Spec, coverage: pd.DataFrame | None, rows: pd.DataFrame) -> np.ndarray:
    """The ``status`` of each row (``unit, year, node``) of ``rows``: why its score is withheld (its coverage
    below the spec's threshold, :func:`status_text`), empty when it is published; ``coverage`` is long
    (``unit, year, node, coverage``, :func:`coverage_long`), None where there is none."""
    out = np.full(len(rows), "", dtype=object)
    thr = thresholds(spec)
    if not thr or coverage is None or not len(rows):
        return out
    cov = coverage[coverage["node"].isin(list(thr))]
    low = cov[below(cov["coverage"].to_numpy(), cov["node"].map(thr).to_numpy())]
    text = pd.Series([status_text(c, thr[n]) for n, c in zip(low["node"], low["coverage"])],
                     index=pd.MultiIndex.from_arrays([low["unit"], low["year"], low["node"]]), dtype=object)
    found = text.reindex(pd.MultiIndex.from_arrays([rows["unit"], rows["year"], rows["node"]])).to_numpy(dtype=object)
    return np.where(pd.isna(found), "", found)


def published(scores: pd.DataFrame, held: pd.DataFrame | None) -> pd.DataFrame:
    """``scores`` with each withheld score made missing (``scores`` itself when nothing is withheld)."""
    if held is None or not held.to_numpy().any():
        return scores
    out = scores.copy()
    for c in held.columns:
        mask = held[c].to_numpy()
        if mask.any():
            out[c] = np.where(mask, np.nan, out[c].to_numpy(dtype=float))
    return out


def applied_weights(spec: Spec, table: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """``table`` (weights.csv) with ``applied_weight`` and ``applied_effective_weight``: the weights once the
    children without any score in the build are taken out and their siblings' weights renormalised (what
    aggregation did for every row; a child missing for some rows only is renormalised away in those rows)."""
    has = {c: has_value(scores[c].to_numpy(dtype=float)) for c in scores.columns}
    parts = []
    blocks = table.groupby("segment", sort=False) if "segment" in table.columns else [("", table)]
    for _, t in blocks:
        w = dict(zip(t["node"], t["weight"].astype(float)))
        within: dict[str, pd.Series] = {}
        for code in spec.aggregates:
            kids = [c.code for c in spec.nodes[code].children]
            live = sum(w[k] for k in kids if has.get(k, False))
            share = {k: w[k] / live if has.get(k, False) and live > 0 else 0.0 for k in kids}
            within[code] = pd.Series(share, dtype=float)
        applied = {k: float(v) for ws in within.values() for k, v in ws.items()}
        eff = effective_weights(spec, within)
        root = spec.tree.code
        t = t.assign(applied_weight=[1.0 if n == root else applied[n] for n in t["node"]],
                     applied_effective_weight=[eff[n] for n in t["node"]])
        parts.append(t)
    out = pd.concat(parts) if len(parts) > 1 else parts[0]
    return out.loc[table.index]


def warn_empty_years(spec: Spec, table: pd.DataFrame, file: str) -> list[tuple[str, tuple[int, ...]]]:
    """Warn (:class:`EmptyNodeYearWarning`) about each node with no value for any unit in some years but
    not all (a node empty in every year is :func:`index_engine.panel.warn_empty_nodes`' warning). Only the
    highest such node of a branch is named. Returns (node, years) of each warning."""
    inds = [c for c in spec.indicators if c in table.columns]
    if not inds:
        return []
    if len(year_codes(table.index)[1]) < 2:
        return []
    years = table.index.get_level_values("year")
    present = table[inds].notna().groupby(years).any()  # years × indicators
    empty_in: dict[str, np.ndarray] = {c: ~present[c].to_numpy() for c in inds}
    for c in spec.indicators:
        empty_in.setdefault(c, np.ones(len(present), bool))
    for code in spec.aggregates:
        empty_in[code] = np.logical_and.reduce([empty_in[k.code] for k in spec.nodes[code].children])
    out = []
    for code in spec.nodes:
        e = empty_in[code]
        parent = spec.parents[code]
        if spec.nodes[code].weight == 0 and parent is not None:
            continue  # weighs nothing: no score is computed without it
        e_top = e & ~empty_in[parent] if parent is not None else e
        if e.all() or not e_top.any():
            continue
        ys = tuple(int(y) for y in present.index[e_top])
        what = f"indicator {code!r}" if spec.nodes[code].is_indicator else f"node {code!r}"
        warnings.warn(
            f"{file}: {what} has no value for any unit in {list_rows([str(y) for y in ys])}, so the scores "
            f"above it in {'that year are' if len(ys) == 1 else 'those years are'} computed without it",
            EmptyNodeYearWarning,
            stacklevel=2,
        )
        out.append((code, ys))
    return out


def coverage_summary(b: Build) -> pd.DataFrame:
    """Coverage of the index and of each dimension (the root's children) for every unit of the latest
    year: units (rows, the build's order) × nodes."""
    spec = b.spec
    nodes = [spec.tree.code] + [c.code for c in spec.tree.children if not c.is_indicator]
    cov = aggregate_coverage(b)
    years = cov.index.get_level_values("year")
    latest = np.asarray(years == years.max())
    rows = slice(None) if latest.all() else latest  # one year: every row, and the columns are not copied
    return pd.DataFrame({c: cov[c].to_numpy()[rows] for c in nodes}, index=cov.index[rows].get_level_values("unit"), copy=False)
