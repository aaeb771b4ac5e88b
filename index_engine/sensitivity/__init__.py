"""Uncertainty and sensitivity analysis: batched perturbations of a Spec (docs/methodology.md §B5, §B6, §H.9).

What is varied is a set of **factors** (:mod:`.factors`), declared in the spec's ``uncertainty:``
section or built in Python: :class:`WeightNoise` (weights × (1 + u·f), renormalised, as COINr
``get_noisy_weights``) and :class:`Choice` (one of a list of values at a spec path).

A design (:mod:`.design`: Monte Carlo or Saltelli, or any array of uniforms) gives each build its
choices and weight multipliers; one runner (:mod:`.run`) evaluates every design. Samples are
grouped by the spec their choices give; the upstream tables (impute … normalize) are computed once
per distinct spec through :func:`index_engine.pipeline.upstream` with one shared cache, so a sample
that only changes the normalisation reuses the treated table, and a sample that only changes the
aggregation or the weights reuses everything. Weights, aggregation and ranks of whole batches of
samples are then the build's own evaluator (:mod:`index_engine.evaluate`, where a build is one
sample), so the nominal of an analysis is its build to the last bit. Batches are chunks of the
design sized by :data:`~index_engine.evaluate.EVAL_CELLS` (never by the number of processes), so
the same seed gives the same numbers whatever ``jobs`` is; with ``jobs > 1`` the distinct upstream
builds run in a process pool.

Results (:mod:`.result`): :func:`uncertainty` (N random builds, rank and score intervals),
:func:`sobol` (Saltelli design, first-order and total Sobol indices with bootstrap intervals),
:func:`remove_one` (each indicator and dimension left out in turn), :func:`evaluate_design` (a
design of your own) and :func:`importance` (:mod:`.importance`: effective weight against η² and
r², Paruolo, Saisana & Saltelli 2013). Each returns an object with DataFrames and ``.write(dir)``.

References
----------
Saisana M., Saltelli A., Tarantola S. (2005). Uncertainty and sensitivity analysis techniques as
tools for the quality assessment of composite indicators. JRSS-A 168(2):307–323.
doi:10.1111/j.1467-985X.2005.00350.x
Saltelli A. et al. (2010). Variance based sensitivity analysis of model output. Design and estimator
for the total sensitivity index. Comput. Phys. Commun. 181(2):259–270. doi:10.1016/j.cpc.2009.09.018
Paruolo P., Saisana M., Saltelli A. (2013). Ratings and rankings: voodoo or science? JRSS-A
176(3):609–634. doi:10.1111/j.1467-985X.2012.01059.x

Examples
--------
>>> from index_engine.sensitivity import Choice, WeightNoise
>>> factors = {"weights": WeightNoise(levels=(2, 3)), "aggregation": Choice(path="steps.aggregate.method",
...            values=["arithmetic", "geometric"])}
>>> factors["weights"].noise
0.25
"""

from __future__ import annotations

from ..evaluate import EVAL_CELLS
from ..ranks import rank_desc
from ..stats import correlation_ratio
from .design import DEGENERATE_SHARE, monte_carlo_design, saltelli_design, sobol_indices
from .factors import Choice, Factor, WeightNoise, factors_from_spec
from .importance import Importance, importance, with_importance
from .result import SensitivityResult, removed_spec, sample_spec
from .run import evaluate_design, remove_one, sobol, uncertainty

__all__ = [
    "DEGENERATE_SHARE",
    "EVAL_CELLS",
    "Choice",
    "Factor",
    "Importance",
    "SensitivityResult",
    "WeightNoise",
    "correlation_ratio",
    "evaluate_design",
    "factors_from_spec",
    "importance",
    "monte_carlo_design",
    "rank_desc",
    "remove_one",
    "removed_spec",
    "sample_spec",
    "saltelli_design",
    "sobol",
    "sobol_indices",
    "uncertainty",
    "with_importance",
]
