"""Every method family by step name, in pipeline order."""

from __future__ import annotations

from .aggregate import AGGREGATE
from .impute import IMPUTE, SCREEN
from .normalize import NORMALIZE
from .registry import Registry
from .transform import DENOMINATE, TRANSFORM
from .treat import TREAT
from .weights import WEIGHTS

FAMILIES: dict[str, Registry] = {
    "transform": TRANSFORM,
    "denominate": DENOMINATE,
    "impute": IMPUTE,
    "screen": SCREEN,
    "treat": TREAT,
    "normalize": NORMALIZE,
    "weights": WEIGHTS,
    "aggregate": AGGREGATE,
}
