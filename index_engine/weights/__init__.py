"""Weighting methods (family ``weights``).

Two layers, one computation:

* **Public functions** a script calls on a table (rows = units or unit-years, columns =
  indicators, direction already applied): :func:`ahp`, :func:`entropy`, :func:`critic`,
  :func:`cv`, :func:`std`, :func:`pca`, :func:`bod`, :func:`combine` and :func:`optimal`. Each
  returns weights indexed by column, summing to 1 (``bod`` returns one row of weights per unit),
  with its diagnostics in ``result.attrs``.
* **Registry adapters** with the family signature ``f(children, nominal, *, params) -> Series``:
  a weighting method gets the children of one aggregate node (a DataFrame, rows = unit-years,
  columns = child codes, on the scale they are aggregated at) and their nominal weights from the
  spec, and returns a Series of weights indexed by child, summing to 1. A spec chooses one with
  ``steps.weights: {method: entropy, params: {...}}``, per node with ``by_node`` or per level with
  ``by_level``.

The modules: ``subjective`` (fixed, equal, AHP), ``statistical`` (entropy, CRITIC, CV, SD, PCA),
``bod`` (benefit of the doubt), ``combine`` (combined sets), ``optimal`` (COINr's optimised
weights), ``weight_set`` (a build's weights written back as a spec), ``_shared`` (the registry and
the conventions below). KMO and Bartlett's test come from :mod:`index_engine.stats`.

Conventions shared by the data-driven methods (entropy, critic, cv, std, pca, bod, optimal):

* **Missing values**: rows with any missing indicator are left out (complete cases, as COINr's
  ``get_PCA`` does with ``na.omit``); ``attrs["rows_used"]`` and ``attrs["rows_dropped"]`` count them.
  At least 2 complete rows are needed.
* **Panels**: every row counts once, so a panel of n units × T years is n·T observations
  (docs/methodology.md §E2: k = 1/ln(n·T) for entropy). Pass ``window: [first_year, last_year]`` in the
  registry params to estimate on those years only; the weights are then held fixed for every
  year of the build (docs/methodology.md §E2: estimate once on a base window and freeze).
* **Constant indicators** (zero variance over the rows used) carry no information about the
  differences between units, so every data-driven method gives them weight 0 and warns with
  :class:`~index_engine.errors.DegenerateIndicatorWarning`; nothing is ever divided by a zero
  range. If no indicator is informative, the weights are equal (1/k) and the warning says so.
"""

from __future__ import annotations

from ..errors import InconsistentJudgementsWarning
from ..stats import bartlett_sphericity, kmo
from ._shared import WEIGHTS, Window
from .bod import bod
from .combine import combine
from .optimal import optimal
from .statistical import critic, cv, entropy, pca, std
from .subjective import CR_LIMIT, RI_TABLES, ahp, equal, fixed
from .weight_set import weight_set_yaml

__all__ = [
    "CR_LIMIT",
    "InconsistentJudgementsWarning",
    "RI_TABLES",
    "WEIGHTS",
    "Window",
    "ahp",
    "bartlett_sphericity",
    "bod",
    "combine",
    "critic",
    "cv",
    "entropy",
    "equal",
    "fixed",
    "kmo",
    "optimal",
    "pca",
    "std",
    "weight_set_yaml",
]
