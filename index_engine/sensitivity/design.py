"""Designs (Monte Carlo, Saltelli) and the Sobol estimators (docs/methodology.md §B5)."""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import DataError, DegenerateOutputWarning, SpecError
from .qmc import sobol_points

DEGENERATE_SHARE = 0.9
"""Sobol indices warn (:class:`~index_engine.errors.DegenerateOutputWarning`) when more than this
share of the outputs are one same value: the variance then rests on a few builds."""

def monte_carlo_design(n: int, D: int, seed: int = 0) -> np.ndarray:
    """``n`` × ``D`` independent uniforms in [0, 1) (numpy's PCG64 seeded with ``seed``)."""
    return np.random.default_rng(seed).random((n, D))


def saltelli_design(n: int, groups: Sequence[Sequence[int]], seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """The Saltelli design: A, B, then A_B^(g) for each group g (N·(d + 2) rows).

    Parameters
    ----------
    n : int
        Rows of A and B (the base sample size N).
    groups : sequence of sequences of int
        The columns of each group (a factor, or factors grouped together); together they are the
        ``D`` columns of the design. A_B^(g) is A with the columns of group g taken from B.
    seed : int, default=0
        Seed of the scrambled Sobol' sequence (:func:`~index_engine.sensitivity.qmc.sobol_points`:
        Joe–Kuo direction numbers, random linear matrix scramble and digital shift) of dimension
        2·D whose first D columns are A and last D are B.

    Returns
    -------
    X : array, n·(d + 2) × D, values in [0, 1)
    blocks : list of str, one per row: ``A``, ``B`` or ``AB:<g>`` (g the group's position)

    References
    ----------
    Saltelli A. et al. (2010), Comput. Phys. Commun. 181(2):259–270, doi:10.1016/j.cpc.2009.09.018.
    """
    D = sum(len(g) for g in groups)
    if n < 2:
        raise SpecError(f"a Sobol design needs n >= 2. Got {n} instead")
    base = sobol_points(n, 2 * D, scramble=True, seed=seed)  # n need not be a power of 2 (COINr's N = 500)
    A, B = base[:, :D], base[:, D:]
    parts = [A, B]
    blocks = ["A"] * n + ["B"] * n
    for gi, g in enumerate(groups):
        ab = A.copy()
        ab[:, list(g)] = B[:, list(g)]
        parts.append(ab)
        blocks += [f"AB:{gi}"] * n
    return np.vstack(parts), blocks


def sobol_indices(
    y: np.ndarray, n: int, labels: Sequence[str], *, nboot: int = 1000, seed: int = 0, level: float = 0.90
) -> pd.DataFrame:
    """First-order and total Sobol indices from the outputs of a :func:`saltelli_design`.

    COINr's ``SA_estimate`` (docs/methodology.md §B5): V = var(y_A ∪ y_B) (n − 1 denominator);
    S_i = mean(y_B·(y_ABi − y_A))/V (Saltelli 2010); S_Ti = Σ(y_A − y_ABi)²/(2N·V) (Jansen 1999).
    Bootstrap: the N rows are resampled with replacement ``nboot`` times (V held fixed, as
    COINr), and ``S1_lo``/``S1_hi``, ``ST_lo``/``ST_hi`` are the (1 ± level)/2 quantiles.

    Parameters
    ----------
    y : array of n·(d + 2) outputs, in the design's row order (A, B, A_B^(1), …)
    n : int, the base sample size N
    labels : the d group labels, in design order
    nboot : int, default=1000 (0 for no intervals)
    seed : int, default=0, seed of the bootstrap
    level : float, default=0.90 (the 5–95% interval)

    Returns
    -------
    DataFrame ``factor, S1, S1_lo, S1_hi, ST, ST_lo, ST_hi``

    Notes
    -----
    Missing outputs are not allowed (a failed build is an error, never a dropped row). When the
    output does not vary at all (V = 0) every index is NaN. When more than
    :data:`DEGENERATE_SHARE` (90%) of the outputs are one same value (e.g. 2,477 of 2,500 mean
    rank changes are 0) a :class:`~index_engine.errors.DegenerateOutputWarning` says so: the
    indices then rest on the few builds that differ.

    References
    ----------
    Saltelli A. et al. (2010), doi:10.1016/j.cpc.2009.09.018. Jansen M.J.W. (1999), Comput. Phys.
    Commun. 117:35–43, doi:10.1016/S0010-4655(98)00154-4.

    Examples
    --------
    y = x0 depends on x0 alone: S1 = ST = 1 for x0 and 0 for x1 (to Monte Carlo error, under 0.005 at N = 1024).

    >>> X, blocks = saltelli_design(1024, [[0], [1]], seed=1)
    >>> y = X[:, 0] + 0 * X[:, 1]
    >>> sobol_indices(y, 1024, ["x0", "x1"], nboot=0)[["S1", "ST"]].round(2).to_numpy().tolist()
    [[1.0, 1.0], [0.0, 0.0]]
    """
    y = np.asarray(y, dtype=float)
    d = len(labels)
    if y.shape != (n * (d + 2),):
        raise DataError(f"sobol_indices: expected {n * (d + 2)} outputs (n·(d + 2)), got {y.shape[0]}")
    if np.isnan(y).any():
        raise DataError(f"sobol_indices: {int(np.isnan(y).sum())} outputs are missing")
    _warn_if_degenerate(y)
    yA, yB = y[:n], y[n : 2 * n]
    yAB = y[2 * n :].reshape(d, n)
    V = np.var(np.concatenate([yA, yB]), ddof=1)
    si_terms = yB[None, :] * (yAB - yA[None, :])  # d × n
    st_terms = (yA[None, :] - yAB) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        S1 = si_terms.mean(axis=1) / V
        ST = st_terms.sum(axis=1) / (2 * n * V)
    out = pd.DataFrame({"factor": list(labels), "S1": S1, "S1_lo": np.nan, "S1_hi": np.nan, "ST": ST, "ST_lo": np.nan, "ST_hi": np.nan})
    if nboot > 0 and V > 0:
        rng = np.random.default_rng([seed, 20100101])
        q = [(1 - level) / 2, (1 + level) / 2]
        s1b, stb = [], []
        for start in range(0, nboot, 200):
            m = min(200, nboot - start)
            idx = rng.integers(0, n, size=(m, n))
            s1b.append(si_terms[:, idx].mean(axis=2) / V)  # d × m
            stb.append(st_terms[:, idx].sum(axis=2) / (2 * n * V))
        s1b, stb = np.concatenate(s1b, axis=1), np.concatenate(stb, axis=1)
        out[["S1_lo", "S1_hi"]] = np.quantile(s1b, q, axis=1).T
        out[["ST_lo", "ST_hi"]] = np.quantile(stb, q, axis=1).T
    return out


def _warn_if_degenerate(y: np.ndarray) -> None:
    values, counts = np.unique(y, return_counts=True)
    top = int(counts.argmax())
    if counts[top] > DEGENERATE_SHARE * y.size:
        warnings.warn(
            f"the output barely varies: {counts[top]:,} of {y.size:,} outputs ({counts[top] / y.size:.0%}) are "
            f"{values[top]:g}; Sobol indices from so few differing builds are unreliable (more than "
            f"{DEGENERATE_SHARE:.0%} equal). Choose another output or wider factors",
            DegenerateOutputWarning,
            stacklevel=3,
        )
