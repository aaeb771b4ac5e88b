"""The audit's thresholds: each states the comparison that raises its flag."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import SpecError


@dataclass(frozen=True)
class Thresholds:
    """The audit's thresholds; each states the comparison that raises its flag.

    Attributes
    ----------
    low_availability : float, default=0.65
        Flag an indicator whose share of available values is ``<`` this (COINr ``t_avail``).
    high_zero_share : float, default=0.5
        Flag an indicator whose share of zeros among available values is ``>=`` this
        (COINr ``t_zero`` flags a non-zero share below 0.5).
    low_unique_share : float, default=0.5
        Flag an indicator whose share of distinct values among available values is ``<`` this
        (COINr ``t_unq``).
    outlier_skew, outlier_kurtosis : float, default=2.0, 3.5
        Flag an indicator with ``|skew| >= outlier_skew`` **and** ``kurtosis >= outlier_kurtosis``
        (Excel SKEW and KURT; the JRC rule, docs/methodology.md §B2, §H.5).
    unit_coverage : float, default=0.66
        A unit meets the coverage rule if, in every dimension, the share of its indicators with
        data is ``>=`` this (GII: about 66% in each group; docs/methodology.md §B1).
    collinear : float, default=0.9
        Flag a pair of indicators in one dimension whose Pearson r is ``>`` this
        (COINr ``get_corr_flags(cor_thresh = 0.9)``).
    significance : float, default=0.05
        Flag a correlation with the parent whose Pearson p-value is ``>=`` this.
    denominator_corr : float, default=0.6
        Flag an indicator whose |Pearson r| with a denominator is ``>`` this, on the denominated
        data (COINr ``get_denom_corr(cor_thresh = 0.6)``).
    alpha_coherent, alpha_incoherent : float, default=0.7, 0.6
        Cronbach's alpha at or above which a dimension can be coherent, and below which it is
        incoherent (rules of thumb, docs/methodology.md §B4).
    pc1_share : float, default=0.5
        PC1 dominates if exactly one eigenvalue is ``> 1`` and PC1 explains ``>=`` this share.
    importance_gap : float, default=0.5
        Flag a node whose relative importance (r² over the sum of r² at its level, in its year)
        differs from its relative effective weight by more than this fraction of the weight; both
        sums run over the nodes with weight > 0 and a known r² (:func:`index_engine.stats.importance_shares`;
        docs/methodology.md §B6; this project's choice, not a JRC rule).
    dimension_level : int, default=2
        The level whose aggregates are the dimensions (1 = indicator). An indicator's dimension
        is its lowest ancestor at this level or above.
    """

    low_availability: float = 0.65
    high_zero_share: float = 0.5
    low_unique_share: float = 0.5
    outlier_skew: float = 2.0
    outlier_kurtosis: float = 3.5
    unit_coverage: float = 0.66
    collinear: float = 0.9
    significance: float = 0.05
    denominator_corr: float = 0.6
    alpha_coherent: float = 0.7
    alpha_incoherent: float = 0.6
    pc1_share: float = 0.5
    importance_gap: float = 0.5
    dimension_level: int = 2

    def __post_init__(self) -> None:
        unit = ("low_availability", "high_zero_share", "low_unique_share", "unit_coverage", "significance",
                "denominator_corr", "pc1_share")  # fmt: skip
        for name in unit:
            _check_number(name, getattr(self, name), 0.0, 1.0, "a number between 0 and 1")
        _check_number("collinear", self.collinear, -1.0, 1.0, "a number between -1 and 1")
        for name in ("outlier_skew", "outlier_kurtosis", "importance_gap"):
            _check_number(name, getattr(self, name), 0.0, math.inf, "a non-negative number")
        for name in ("alpha_coherent", "alpha_incoherent"):
            _check_number(name, getattr(self, name), -math.inf, 1.0, "a number at most 1")
        if self.alpha_incoherent > self.alpha_coherent:
            raise SpecError(
                "The 'alpha_incoherent' parameter of audit must be a number at most 'alpha_coherent' "
                f"({self.alpha_coherent:g}). Got {self.alpha_incoherent!r} instead."
            )
        lv = self.dimension_level
        if isinstance(lv, bool) or not isinstance(lv, (int, np.integer)) or lv < 2:
            raise SpecError(f"The 'dimension_level' parameter of audit must be an integer of at least 2. Got {lv!r} instead.")

    @property
    def verdict_rule(self) -> str:
        return (
            f"coherent: alpha >= {self.alpha_coherent:g}, PC1 dominates (exactly one eigenvalue > 1 and "
            f"PC1 >= {self.pc1_share:.0%} of the variance) and no indicator correlates negatively with the "
            f"dimension; incoherent: alpha < {self.alpha_incoherent:g} or an indicator correlates negatively "
            "with the dimension; check: otherwise (or when alpha or the PCA cannot be computed)"
        )


def _check_number(name: str, v: Any, lo: float, hi: float, what: str) -> None:
    ok = not isinstance(v, bool) and isinstance(v, (int, float, np.integer, np.floating)) and lo <= v <= hi
    if not ok or math.isnan(float(v)):
        raise SpecError(f"The '{name}' parameter of audit must be {what}. Got {v!r} instead.")
