"""Statistical audit of a build: coverage, indicator statistics, correlations, Cronbach's alpha, PCA.

``audit(build)`` returns an :class:`Audit`, a frozen record of labelled tables that a report can
render directly, and writes them with :meth:`Audit.write`. It follows the JRC-COIN audit practice
(OECD/JRC *Handbook on Constructing Composite Indicators*, 2008, step 4; Saisana et al., GII
audits) with the conventions of COINr 1.1.14 (``get_stats``, ``get_data_avail``, ``get_corr``,
``get_corr_flags``, ``get_cronbach``, ``get_denom_corr``, ``get_eff_weights``; see
docs/methodology.md §B1, §B4, §B6, §H).

Which data each table is computed on:

=====================  ======================================================================
table                  data
=====================  ======================================================================
indicator_stats        ``raw`` (as read) and ``normalized`` (after every indicator step);
                       the ``data`` column says which
unit_coverage          ``raw``
correlations           ``scores`` (normalised indicators and aggregates) for the framework
                       relations; ``raw`` and ``denominated`` for the denominators
cronbach, pca          ``normalized``, complete cases of the group's indicators
importance             ``scores`` (r² with the index) and ``build.weights``
=====================  ======================================================================

Every table has a ``year`` column: a panel is audited year by year (a one-period build has
the single year ``0``, written as an empty cell).

Where this module departs from COINr on purpose (each is documented where it happens):

* Cronbach's alpha uses complete cases (COINr: pairwise-complete covariances), so that the
  covariance matrix is a proper one and alpha matches the textbook formula.
* The zero-share and unique-share flags divide by the available values (COINr's flags divide
  by all rows, so missing values also count against them).
* The outlier flag is the failure of the treat step's pass test (docs/methodology.md §H.5):
  ``|skew| >= 2 and kurtosis >= 3.5``; COINr's ``get_stats`` uses strict ``>``. They differ
  only at the exact thresholds.
* Spearman p-values are scipy's t approximation; R's ``cor.test`` uses an exact test for small
  samples without ties. Pearson p-values agree with R.

The statistics themselves (correlations, Cronbach's alpha, PCA eigenvalues, KMO, Bartlett, r²
and the importance shares) are in :mod:`index_engine.stats`, shared with the weights and the
sensitivity analysis. The modules: ``thresholds`` (:class:`Thresholds`), ``checks`` (the tables
and flags), ``result`` (:class:`Audit` and its files).
"""

from __future__ import annotations

from typing import Any

from ..plan import compile_plan
from ..stats import bartlett_sphericity, correlate, cronbach_alpha, kmo, pca_eigen
from .checks import CORRELATION_CHECKS, CORRELATION_COLUMNS, FLAG_COLUMNS, MIN_UNITS, Auditor
from .result import FILES, Audit
from .thresholds import Thresholds

__all__ = [
    "CORRELATION_CHECKS",
    "CORRELATION_COLUMNS",
    "FILES",
    "FLAG_COLUMNS",
    "MIN_UNITS",
    "Audit",
    "Thresholds",
    "audit",
    "bartlett_sphericity",
    "correlate",
    "cronbach_alpha",
    "kmo",
    "pca_eigen",
]


def audit(
    build: Any,
    *,
    low_availability: float = 0.65,
    high_zero_share: float = 0.5,
    low_unique_share: float = 0.5,
    outlier_skew: float | None = None,
    outlier_kurtosis: float | None = None,
    unit_coverage: float = 0.66,
    collinear: float = 0.9,
    significance: float = 0.05,
    denominator_corr: float = 0.6,
    alpha_coherent: float = 0.7,
    alpha_incoherent: float = 0.6,
    pc1_share: float = 0.5,
    importance_gap: float = 0.5,
    dimension_level: int = 2,
) -> Audit:
    """Audit a build: coverage, indicator statistics, correlations, Cronbach's alpha, PCA, weights.

    Parameters
    ----------
    build : Build
        A finished build (``index_engine.build``).
    low_availability, high_zero_share, low_unique_share, outlier_skew, outlier_kurtosis,
    unit_coverage, collinear, significance, denominator_corr, alpha_coherent, alpha_incoherent,
    pc1_share, importance_gap, dimension_level
        Thresholds; see :class:`Thresholds` for each default and the comparison it makes. A bad
        value raises :class:`~index_engine.errors.SpecError`. ``outlier_skew`` and ``outlier_kurtosis``
        default to the thresholds of the spec's outlier treatment (``skew_thresh`` and ``kurt_thresh`` of
        ``steps.treat``, where all its choices give the same pair), so that the audit flags what the
        treatment treats; else to :class:`Thresholds`' (the JRC's 2.0 and 3.5).

    Returns
    -------
    Audit

    Notes
    -----
    Panels are audited year by year. Correlations use pairwise-complete observations;
    Cronbach's alpha, PCA, KMO and Bartlett use complete cases of the group's indicators on the
    normalised data. A statistic that cannot be computed (too few values, constant data, a
    singular correlation matrix) is NaN and raises no flag. A year with fewer than
    :data:`MIN_UNITS` units gets a :class:`~index_engine.errors.SmallSampleWarning`.

    Dimension verdicts: see :attr:`Thresholds.verdict_rule`; the rule is also written in the
    ``rule`` column of ``verdicts`` and in ``audit.json``.

    References
    ----------
    OECD/JRC (2008). *Handbook on Constructing Composite Indicators: Methodology and User Guide*,
    step 4 (multivariate analysis). ISBN 978-92-64-04345-9.
    Becker, W. et al. COINr 1.1.14 (R package, JRC-COIN), ``R/stats.R``, ``R/correlations.R``,
    ``R/weights.R``.
    Cronbach (1951) doi:10.1007/BF02310555; Kaiser (1974) doi:10.1007/BF02291575;
    Bartlett (1950) doi:10.1111/j.2044-8317.1950.tb00285.x.
    Paruolo, M., Saisana, M. and Saltelli, A. (2013). Ratings and rankings: voodoo or science?
    *JRSS A* 176(3), 609–634. doi:10.1111/j.1467-985X.2012.01059.x (importance vs weights).

    Examples
    --------
    >>> import index_engine as ie
    >>> spec = ie.load_spec("weights/examples/asem.yaml")
    >>> b = ie.build(spec, ie.load_panel("inputs/examples/asem/ASEM_iData.csv", spec))
    >>> a = audit(b)
    >>> a.cronbach.set_index("node").loc[["Conn", "Sust", "Index"], "alpha"].round(3).tolist()
    [0.881, 0.679, 0.899]
    >>> a.verdicts.set_index("node").loc[["Social", "Physical", "Instit"], "verdict"].tolist()
    ['coherent', 'check', 'incoherent']
    """
    spec_skew, spec_kurtosis = treatment_thresholds(build.spec)
    th = Thresholds(
        low_availability=low_availability,
        high_zero_share=high_zero_share,
        low_unique_share=low_unique_share,
        outlier_skew=spec_skew if outlier_skew is None else outlier_skew,
        outlier_kurtosis=spec_kurtosis if outlier_kurtosis is None else outlier_kurtosis,
        unit_coverage=unit_coverage,
        collinear=collinear,
        significance=significance,
        denominator_corr=denominator_corr,
        alpha_coherent=alpha_coherent,
        alpha_incoherent=alpha_incoherent,
        pc1_share=pc1_share,
        importance_gap=importance_gap,
        dimension_level=dimension_level,
    )
    return Auditor(build, th).run()


def treatment_thresholds(spec: Any) -> tuple[float, float]:
    """The (skew, kurtosis) thresholds of the outlier rule (:func:`index_engine.treat.outlying`) as the spec's
    treatment sets them, where every choice of ``steps.treat`` that takes them gives the same pair; else
    :class:`Thresholds`' defaults."""
    pairs = {(float(e.params["skew_thresh"]), float(e.params["kurt_thresh"]))
             for e in compile_plan(spec).entries("treat") if "skew_thresh" in e.params and "kurt_thresh" in e.params}
    if len(pairs) == 1:
        return pairs.pop()
    return Thresholds.outlier_skew, Thresholds.outlier_kurtosis
