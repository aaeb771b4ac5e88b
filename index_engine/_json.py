"""Plain data for JSON (and YAML) from what the engine holds: numpy scalars, arrays, pandas objects, NaN.

One function, :func:`jsonable`, used wherever a params mapping, a method's diagnostics, an audit
table or a chart's data is written as JSON. It lives in its own tiny module rather than in
``stats``: it is not a statistic, and the report and the build log need it without importing
the statistics (and their scipy imports).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


_INFINITIES = (math.inf, -math.inf)
_AS_THEY_ARE = frozenset({str, int, bool, type(None)})


def jsonable(value: Any, *, keep_infinite: bool = False) -> Any:
    """``value`` as plain Python data that :func:`json.dumps` writes as strict JSON.

    Parameters
    ----------
    value : any
        Mappings become dicts with ``str`` keys; lists, tuples and arrays become lists; a Series
        becomes ``{str(label): value}``; a DataFrame becomes ``{column: [values]}``; numpy integers,
        floats and booleans become ``int``, ``float`` and ``bool``. Anything else is returned as
        it is.
    keep_infinite : bool, default=False
        NaN, ``None``, ``pd.NA`` and ``NaT`` always become ``None``. ±infinity becomes ``None`` too
        (JSON has no infinity; ``json.dumps`` would write the non-standard ``Infinity``), unless
        ``keep_infinite`` is set, for YAML, which writes ``.inf`` and reads it back.

    Examples
    --------
    >>> jsonable({1: np.float64("nan"), "w": np.array([0.5, np.inf]), "k": (np.int64(3), np.bool_(True))})
    {'1': None, 'w': [0.5, None], 'k': [3, True]}
    >>> jsonable([float("-inf")], keep_infinite=True)
    [-inf]
    """
    kind = type(value)  # the plain types first, by exact type: a figure holds tens of thousands of them
    if kind is float:
        return None if value != value or (not keep_infinite and value in _INFINITIES) else value
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is list or kind is tuple:
        return [v if type(v) in _AS_THEY_ARE else jsonable(v, keep_infinite=keep_infinite) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v, keep_infinite=keep_infinite) for k, v in value.items()}
    if isinstance(value, pd.Series):
        return {str(k): jsonable(v, keep_infinite=keep_infinite) for k, v in value.items()}
    if isinstance(value, pd.DataFrame):
        return jsonable(value.to_dict(orient="list"), keep_infinite=keep_infinite)
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist(), keep_infinite=keep_infinite)
    if isinstance(value, (list, tuple)):
        return [jsonable(v, keep_infinite=keep_infinite) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isnan(f) or (math.isinf(f) and not keep_infinite):
            return None
        return f
    if isinstance(value, np.generic):  # other numpy scalars (str_, datetime64, ...)
        return value.item()
    return value
