"""Ranks: 1 = best within each year, ties "min" within a tolerance, missing kept (COINr §H.3).

One function ranks everything: a build's scores (:func:`rank_scores`, rows (unit, year) ×
nodes) and the thousands of builds of a sensitivity analysis (:func:`rank_desc`, samples ×
rows), so the two can never disagree.

Ties: two scores tie when they are equal to within :data:`RANK_RTOL`, relative:
``|a − b| <= RANK_RTOL · max(1, |a|, |b|)``. Float residue (27.000000000000004 against 27.0,
a mean computed in another order) then never splits a tie. Scores are sorted best first, and a
score within the tolerance of the one before it shares that one's rank, so a run of scores
each within the tolerance of its neighbour shares the rank of its first (the best); the next
distinct score's rank counts every score before it ("min" ties: 1, 1, 3).
"""

from __future__ import annotations

import os
import threading
from typing import Sequence

import numpy as np
import pandas as pd

RANK_RTOL = 1e-9
"""Relative tolerance of a tie: ``|a − b| <= RANK_RTOL · max(1, |a|, |b|)``."""

_RANK_BLOCK = 512
"""Samples ranked per argsort: blocks that stay in cache, with reused buffers ..."""

_RANK_CELLS = 1 << 16
"""... of at most this many samples × units (fewer samples per block for many units)."""

_SCRATCH = threading.local()

_WIDE = 20_000
"""Rows per year from which each sample is ranked on its own (one sort, or one count of its
distinct values, per sample, in threads), rather than in blocks of samples."""


def year_codes(index: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """(each row's year as a code, the codes of the years present in year order) of ``index``, a (unit,
    year) MultiIndex: its ``year`` level's own codes, so the rows' years are never hashed nor sorted (a
    level of one year is one code; a level of several is counted once, since it may keep years no row
    has any more). Code -1, a row without a year, is in no year."""
    if isinstance(index, pd.MultiIndex):
        level = index.names.index("year")
        codes, values = np.asarray(index.codes[level]), np.asarray(index.levels[level])
    else:
        codes, values = pd.factorize(np.asarray(index.get_level_values("year")))
        values = np.asarray(values)
    if codes.size == 0:
        return codes, np.arange(0)
    if values.size == 1 and codes.min() >= 0:
        return codes, np.zeros(1, np.intp)
    counts = np.bincount(codes if codes.min() >= 0 else codes[codes >= 0], minlength=values.size)
    present = np.flatnonzero(counts)
    return codes, present[np.argsort(values[present], kind="stable")]


def year_groups(index: pd.Index) -> list[np.ndarray]:
    """Positions of each year's rows in ``index`` (a (unit, year) MultiIndex), years in order."""
    codes, years = year_codes(index)
    if years.size == 1 and codes.min() >= 0:  # one year: every row
        return [np.arange(codes.size)]
    return [np.flatnonzero(codes == c) for c in years]


def rank_desc(
    scores: np.ndarray,
    groups: Sequence[np.ndarray] | None = None,
    out: np.ndarray | None = None,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Ranks (1 = best, ties "min" within :data:`RANK_RTOL`, NaN kept) of each row of ``scores``.

    Parameters
    ----------
    scores : array, samples × units (1-D: one sample)
    groups : sequence of int arrays, optional
        Positions of the units ranked together (one per year, see :func:`year_groups`);
        default: all units together.
    out, rows : array and int array, optional
        Write sample i's ranks to ``out[rows[i]]`` and return ``out``.

    Returns
    -------
    array like ``scores`` (or ``out``)

    Notes
    -----
    Ties: see the module docstring; 27.0 and 27.000000000000004 share a rank. Many samples of
    few units (a sensitivity analysis) are ranked in blocks of :data:`_RANK_BLOCK` samples, one
    argsort each; a year of many units (a large build) is ranked one sample at a time.

    Examples
    --------
    >>> rank_desc(np.array([[3.0, 1.0, 3.0, np.nan]])).tolist()
    [[1.0, 3.0, 1.0, nan]]
    >>> rank_desc(np.array([27.0, 27.000000000000004, 26.0])).tolist()
    [1.0, 1.0, 3.0]
    """
    one = np.ndim(scores) == 1 and out is None
    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    n, width = scores.shape
    if groups is None:
        groups = [np.arange(width)]
    if out is None:
        out, rows = np.empty(scores.shape), np.arange(n)
    elif rows is None:
        rows = np.arange(n)
    if n == 0:
        return out
    for sel in groups:
        m = len(sel)
        whole = m == width
        if m >= _WIDE:
            _rank_each(scores if whole else scores[:, sel], out, rows, None if whole else sel)
            continue
        work = _RankWork.get(m)  # scratch reused by every block and call (fresh arrays are much slower)
        B = min(work.B, n)
        direct = whole and out.flags.c_contiguous
        block = None if direct else np.empty((B, m))
        for i in range(0, n, B):
            k = min(B, n - i)
            part = scores[i : i + k] if whole else scores[i : i + k, sel]
            if direct:
                work.rank(part, out, rows[i : i + k])
            else:
                work.rank(part, block, np.arange(k))
                out[np.ix_(rows[i : i + k], sel)] = block[:k]
    return out[0] if one else out


def rank_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Rank 1 = best within each year of every column, ties "min" within :data:`RANK_RTOL`, missing kept.

    ``scores`` has rows (unit, year) and one column per node; the ranks are :func:`rank_desc`'s.
    """
    ranks = np.empty(scores.shape[::-1])  # a row per column: each column's ranks are contiguous
    if len(year_codes(scores.index)[1]) == 1 and len(scores) >= _WIDE:  # one year of many units: each column ranked from its own array
        _rank_each([scores[c].to_numpy(dtype=float) for c in scores.columns], ranks, np.arange(scores.shape[1]), None)
    else:
        rank_desc(scores.to_numpy(dtype=float).T, year_groups(scores.index), ranks)
    return pd.DataFrame(ranks.T, index=scores.index, columns=scores.columns, copy=False)  # the frame's own block


def _starts(sv: np.ndarray) -> np.ndarray:
    """For sorted (ascending) values: True where a value does not tie with the one before it."""
    start = np.ones(sv.size, bool)
    if sv.size > 1:
        start[1:] = ~_close(sv[:-1], sv[1:])
    return start


def _close(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """|hi − lo| <= RANK_RTOL · max(1, |lo|, |hi|) elementwise, for lo <= hi (NaN: False)."""
    big = max(1.0, -float(np.fmin.reduce(lo, initial=np.inf)), float(np.fmax.reduce(hi, initial=-np.inf)))
    d = hi - lo
    near = d <= RANK_RTOL * big
    if big > 1.0 and near.any():
        _refine(near, d, lo, hi)
    return near


def _refine(near: np.ndarray, d: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
    """``near`` found every tie against a bound of every |value|: the pairs that differ by more
    than RANK_RTOL (so their own magnitude decides) get the exact test. They are few, so this
    costs one comparison, never a gather of every tie."""
    unsure = np.flatnonzero(near & (d > RANK_RTOL))
    if unsure.size:
        scale = np.maximum(1.0, np.maximum(np.abs(lo[unsure]), np.abs(hi[unsure])))
        near[unsure] = d[unsure] <= RANK_RTOL * scale


class _RankWork:
    """Scratch for ranking blocks of up to ``B`` samples of ``m`` units, reused by every block
    (argsort and gathers into freshly allocated arrays are much slower)."""

    @classmethod
    def get(cls, m: int) -> "_RankWork":
        """This thread's scratch for rows of ``m`` units (kept for the next call)."""
        B = max(1, min(_RANK_BLOCK, _RANK_CELLS // m))
        work = getattr(_SCRATCH, "work", None)
        if work is None or work.shape != (B, m):
            work = _SCRATCH.work = cls(B, m)
        return work

    def __init__(self, B: int, m: int):
        self.B, self.shape = B, (B, m)
        self.neg = np.empty((B, m))
        self.offsets = (np.arange(B) * m)[:, None]  # the flat position of each row's first cell
        self.positions = np.tile(np.arange(1.0, m + 1.0), B)  # 1, 2, ..., m repeated for every row
        self.flat = np.empty((B, m), dtype=np.intp)
        self.sv = np.empty(B * m)
        self.diff = np.empty(B * m)
        self.tie = np.empty(B * m, dtype=bool)

    def rank(self, s: np.ndarray, out: np.ndarray, rows: np.ndarray) -> None:
        """Descending "min" ranks of each row i of ``s`` into ``out[rows[i]]`` (``out`` C-contiguous)."""
        S, m = s.shape
        n = S * m
        neg = np.negative(s, out=self.neg[:S])
        order = np.argsort(neg, axis=1)  # ties get the first position of their run, whatever their order
        flat = np.add(order, self.offsets[:S], out=self.flat[:S])
        # flat positions (faster than 2-D fancy indexing); "clip" (they are in range) keeps take unbuffered
        sv = np.take(neg.ravel(), flat.ravel(), out=self.sv[:n], mode="clip")
        # ties within the tolerance (see _close), against a bound of every |value|: rows are
        # sorted, so their first and last values are their extremes (NaN sorts last)
        lo, hi = sv[::m].min(), sv[m - 1 :: m].max()
        nan = hi != hi
        if nan:  # a row with a missing score
            lo, hi = np.fmin.reduce(sv), np.fmax.reduce(sv)
        big = max(1.0, -lo, hi)
        d = np.subtract(sv[1:], sv[:-1], out=self.diff[: n - 1])
        tie = np.less_equal(d, RANK_RTOL * big, out=self.tie[: n - 1])
        tie[m - 1 :: m] = False  # the last cell of a row and the first of the next
        vals = self.positions[:n]
        if tie.any():
            if big > 1.0:
                _refine(tie, d, sv[:-1], sv[1:])
            tie = np.r_[tie, False].reshape(S, m)  # [r, j]: cell j + 1 of row r ties with cell j
            t_rows = np.flatnonzero(tie.any(axis=1))
            new = np.ones((len(t_rows), m), dtype=bool)
            new[:, 1:] = ~tie[t_rows, : m - 1]
            first = np.maximum.accumulate(np.where(new, np.arange(m), 0), axis=1)
            vals = vals.reshape(S, m).copy()
            vals[t_rows] = first + 1.0
            vals = vals.ravel()
        order += (rows * out.shape[1])[:, None]
        out.reshape(-1)[order.ravel()] = vals  # out is C-contiguous: reshape is a view
        if nan:
            r, c = np.nonzero(np.isnan(s))
            out[rows[r], c] = np.nan


def _value_codes(v: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(the position of each value of ``v`` among its distinct values, the distinct values sorted), or
    None when there are more than ``limit``. ``v`` (no NaN) is coded a block at a time, so each hash
    table is a block's size rather than ``v``'s (a million values would take one of some 40 MB)."""
    whole = _whole_number_codes(v)
    if whole is not None:
        return whole if whole[1].size <= limit else None
    block = 1 << 16
    codes = np.empty(v.size, np.intp)
    found = []
    for i in range(0, v.size, block):
        c, u = pd.factorize(v[i : i + block], sort=False)
        if u.size > limit:
            return None
        codes[i : i + block] = c
        found.append(u)
    uniq = np.unique(np.concatenate(found)) if found else v[:0]
    if uniq.size > limit:
        return None
    for i, u in zip(range(0, v.size, block), found):  # a block's codes to positions among all the values
        codes[i : i + block] = np.searchsorted(uniq, u)[codes[i : i + block]]
    return codes, uniq


_WHOLE_SPAN = 1 << 16
"""Whole numbers spanning at most this many values are coded by counting them (:func:`_whole_number_codes`)."""


def _whole_number_codes(v: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`_value_codes` (without its limit) of whole numbers (points, counts) spanning at most
    :data:`_WHOLE_SPAN` values: each value's offset from the smallest, counted (no hashing, no sort), the
    distinct ones numbered in order; None for anything else (a fraction, or a wider span). A block at a
    time, into the one array of codes (no full-size temporaries)."""
    if v.size == 0:
        return None
    lo, hi = float(v.min()), float(v.max())
    if not (-(2.0**53) < lo <= hi < 2.0**53 and hi - lo <= _WHOLE_SPAN):  # (NaN and infinities fail too)
        return None
    block = 1 << 16
    codes = np.empty(v.size, np.intp)
    counts = np.zeros(int(hi - lo) + 1, np.intp)
    for i in range(0, v.size, block):
        part = codes[i : i + block]
        np.copyto(part, v[i : i + block], casting="unsafe")  # (exact for the whole numbers it keeps)
        if not np.array_equal(part, v[i : i + block]):  # a fraction
            return None
        part -= int(lo)
        counts += np.bincount(part, minlength=counts.size)
    present = counts > 0
    number = np.cumsum(present, dtype=np.intp) - 1  # each present value's position among the distinct ones
    for i in range(0, v.size, block):
        number.take(codes[i : i + block], out=codes[i : i + block], mode="clip")
    return codes, np.flatnonzero(present) + lo


def _rank_each(scores: np.ndarray | Sequence[np.ndarray], out: np.ndarray, rows: np.ndarray, sel: np.ndarray | None) -> None:
    """Each sample (a row of many units: a row of ``scores``, or one of its arrays) on its own; threads when
    there are several (numpy's sort releases the GIL)."""

    def one(i: int) -> None:
        x = scores[i]
        nan = np.isnan(x)
        ok = np.flatnonzero(~nan) if nan.any() else None  # every score present: no gather, no copy
        v = x if ok is None else x[ok]
        dest = out[rows[i]] if sel is None and ok is None else None  # the ranks can go straight there
        coded = _value_codes(v, 4096)
        if coded is not None:  # few distinct values (points, counts): rank the values, not the units
            codes, uniq = coded
            neg = -uniq  # best first
            counts = np.bincount(codes, minlength=len(uniq))
            order_u = np.argsort(neg)
            cnt = counts[order_u]
            first = np.cumsum(cnt) - cnt + 1.0
            ranked = np.empty(len(uniq))
            ranked[order_u] = np.maximum.accumulate(np.where(_starts(neg[order_u]), first, 0.0))
            r = ranked.take(codes, out=dest, mode="clip")  # (codes are in range: "clip" writes unbuffered)
        else:
            neg = -v
            order = np.argsort(neg)  # ties all get the first position, so the sort need not be stable
            r = np.empty(v.size) if dest is None else dest
            r[order] = np.maximum.accumulate(np.where(_starts(neg[order]), np.arange(1.0, v.size + 1.0), 0.0))
        if dest is not None:
            return
        if ok is not None:
            res = np.full(x.size, np.nan)
            res[ok] = r
            r = res
        if sel is None:
            out[rows[i]] = r
        else:
            out[rows[i], sel] = r

    n = len(scores)
    if n > 1 and n * len(scores[0]) > 200_000:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # one per core: each holds a few arrays of the units
            list(pool.map(one, range(n)))
    else:
        for i in range(n):
            one(i)
