"""Weighting methods (family ``weights``).

A weighting method gets the children of one aggregate node (a DataFrame, rows = unit-years,
columns = child codes, on the scale they are aggregated at) and their nominal weights from the
spec, and returns a Series of weights indexed by child, summing to 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .registry import Registry

WEIGHTS = Registry("weights", "Weights of the children of each aggregate node.")


@WEIGHTS.register("fixed")
def fixed(children: pd.DataFrame, nominal: pd.Series) -> pd.Series:
    """The spec's weights, rescaled to sum to 1 within the parent (COINr: weights are relative)."""
    w = nominal.astype(float)
    return w / w.sum()


@WEIGHTS.register("equal")
def equal(children: pd.DataFrame, nominal: pd.Series) -> pd.Series:
    """Equal weights 1/k for the k children (逐级等权 when used at every level, METHODOLOGY §E1)."""
    return pd.Series(np.full(len(nominal), 1.0 / len(nominal)), index=nominal.index)
