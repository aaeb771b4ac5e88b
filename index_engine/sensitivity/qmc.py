"""Sobol' points in numpy: the Gray-code construction with Joe & Kuo's direction numbers, and a
random linear matrix scramble with a digital shift (docs/methodology.md §B5).

The unscrambled points are those of ``scipy.stats.qmc.Sobol(d, scramble=False).random(n)`` to the
last bit: the direction numbers are the Joe–Kuo table scipy ships
(``scipy/stats/_sobol_direction_numbers.npz``), read from scipy's folder without importing
``scipy.stats`` (whose import builds every distribution's docstring and costs most of a second).

References
----------
Bratley P., Fox B.L. (1988). Algorithm 659: Implementing Sobol's quasirandom sequence generator.
ACM TOMS 14(1):88–100. doi:10.1145/42288.214372
Joe S., Kuo F.Y. (2008). Constructing Sobol sequences with better two-dimensional projections.
SIAM J. Sci. Comput. 30(5):2635–2654. doi:10.1137/070709359
Matoušek J. (1998). On the L2-discrepancy for anchored boxes. J. Complexity 14(4):527–556.
doi:10.1006/jcom.1998.0489
Owen A.B. (2003). Variance with alternative scramblings of digital nets. ACM TOMACS 13(4):363–378.
doi:10.1145/945511.945518
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import SpecError

BITS = 30
"""Binary digits of each coordinate (scipy's default): points are integers / 2^30, at most 2^30 of them."""


def sobol_points(n: int, d: int, *, scramble: bool = True, seed: int = 0) -> np.ndarray:
    """The first ``n`` points of the ``d``-dimensional Sobol' sequence, in Gray-code order.

    Point i is x_i = ⊕_k g_k(i)·v_k / 2^30, the XOR of the direction numbers v_k of the bits k set
    in the Gray code g(i) = i ⊕ (i >> 1) (the Gray-code order of Bratley & Fox 1988); the
    first point is 0. Direction numbers: v_k = m_k·2^(30−k) from the Joe–Kuo (2008) initial
    numbers m_1..m_s of each dimension, then the recurrence of its primitive polynomial
    x^s + a_1 x^(s−1) + … + a_(s−1) x + 1:
    v_k = v_(k−s) ⊕ (v_(k−s) >> s) ⊕ a_1 v_(k−1) ⊕ … ⊕ a_(s−1) v_(k−s+1).

    Parameters
    ----------
    n : int
        Number of points (any n; the first 2^m form a (t, m, d)-net).
    d : int
        Dimension, at most 21,201 (the Joe–Kuo table).
    scramble : bool, default=True
        A random linear matrix scramble and a digital shift (Matoušek 1998): each dimension's
        digits are multiplied (mod 2) by a random lower-triangular binary matrix with unit
        diagonal, then XORed with a random shift. The first 2^m points are still a
        (t, m, d)-net (each elementary interval of volume 2^(t−m) holds 2^t of them), and each
        point is uniform on [0, 1)^d.
    seed : int, default=0
        Seed of numpy's Generator (PCG64) that draws the matrices and shifts.

    Returns
    -------
    array, n × d, values in [0, 1) (multiples of 2^-30)

    Examples
    --------
    >>> sobol_points(4, 2, scramble=False).tolist()
    [[0.0, 0.0], [0.5, 0.5], [0.75, 0.25], [0.25, 0.75]]
    """
    if n < 0 or n > 2**BITS:
        raise SpecError(f"sobol_points: n must be between 0 and 2^{BITS}. Got {n} instead")
    m = max(int(n - 1).bit_length(), 1)  # the direction numbers the first n points use
    V = direction_numbers(d, m)  # d × m
    shift = np.zeros(d, dtype=np.int64)
    if scramble:
        rng = np.random.default_rng(seed)
        V, shift = _linear_scramble(V, rng)
    # g(i) differs from g(i − 1) in bit k = the lowest set bit of i, so x_i = x_(i−1) ⊕ v_k: one running XOR
    i = np.arange(1, n, dtype=np.int64)
    k = np.log2(i & -i).astype(np.intp)  # (exact: i & −i is a power of 2)
    steps = np.empty((n, d), dtype=np.int64)
    steps[:1] = shift
    steps[1:] = V.T[k]
    return np.bitwise_xor.accumulate(steps, axis=0) * 2.0**-BITS


def _linear_scramble(V: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Direction numbers L_j·v (mod 2) for a random lower-triangular L_j with unit diagonal per
    dimension j (digit r of the result is ⊕_(c ≤ r) L_j[r, c]·digit c, digit 0 the most significant),
    and a random digital shift per dimension. The construction is linear over GF(2), so scrambling
    the direction numbers scrambles every point."""
    d, m = V.shape
    L = np.tril(rng.integers(0, 2, size=(d, BITS, BITS), dtype=np.uint8), k=-1)
    L[:, np.arange(BITS), np.arange(BITS)] = 1
    place = np.int64(1) << np.arange(BITS - 1, -1, -1, dtype=np.int64)  # digit c's value
    digits = ((V[:, :, None] // place) & 1).astype(np.uint8)  # d × m × BITS
    scrambled = np.einsum("jrc,jkc->jkr", L, digits) & 1  # (sums of at most 30 ones: uint8 holds them)
    shift = rng.integers(0, 2**BITS, size=d, dtype=np.int64)
    return scrambled.astype(np.int64) @ place, shift


def direction_numbers(d: int, m: int) -> np.ndarray:
    """The first ``m`` direction numbers v_1..v_m (as integers of 30 bits) of each of ``d`` dimensions."""
    if d < 1:
        raise SpecError(f"sobol_points: the dimension must be at least 1. Got {d} instead")
    poly, vinit = _joe_kuo()
    if poly is None:
        return _direction_numbers_from_scipy(d, m)
    if d > len(poly):
        raise SpecError(f"sobol_points: at most {len(poly)} dimensions (the Joe–Kuo table). Got {d} instead")
    V = np.zeros((d, m), dtype=np.int64)
    V[0] = [1 << (BITS - 1 - k) for k in range(m)]  # the first dimension: van der Corput, every m_k = 1
    for j in range(1, d):
        s = int(poly[j]).bit_length() - 1  # the polynomial's degree
        a = (int(poly[j]) >> 1) & ((1 << (s - 1)) - 1)  # a_1 … a_(s-1), a_1 the most significant
        v = [int(vinit[j, k]) << (BITS - 1 - k) for k in range(min(s, m))]
        for k in range(s, m):
            x = v[k - s] ^ (v[k - s] >> s)
            for t in range(1, s):
                if (a >> (s - 1 - t)) & 1:
                    x ^= v[k - t]
            v.append(x)
        V[j] = v
    return V


@lru_cache(maxsize=1)
def _joe_kuo() -> tuple[np.ndarray | None, np.ndarray | None]:
    """The Joe–Kuo table shipped with scipy: ``poly`` (each dimension's primitive polynomial, its
    coefficients as bits, x^s and 1 included) and ``vinit`` (the initial m_1..m_s); None when absent."""
    spec = importlib.util.find_spec("scipy")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(folder) / "stats" / "_sobol_direction_numbers.npz"
        if path.is_file():
            with np.load(path) as z:
                return z["poly"], z["vinit"]
    return None, None


def _direction_numbers_from_scipy(d: int, m: int) -> np.ndarray:
    """Direction numbers read off scipy's unscrambled points: the point of Gray code 2^k, number
    2^(k+1) − 1, is v_(k+1) itself."""
    import warnings

    from scipy.stats import qmc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # not a power of 2
        X = qmc.Sobol(d=d, scramble=False, bits=BITS).random(2**m)
    rows = (1 << np.arange(1, m + 1)) - 1
    return np.rint(X[rows].T * 2.0**BITS).astype(np.int64)
