"""index_engine: composite indices from a YAML spec and a data file.

>>> import index_engine as ie
>>> spec = ie.load_spec("weights/examples/hdi.yaml")
>>> b = ie.build(spec, ie.load_panel("inputs/examples/hdi/hdi_2021.csv", spec))
>>> round(float(b.scores.loc[("CHE", 2021), "HDI"]), 3)
0.962
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import (  # noqa: E402
    BuildError,
    DataError,
    DegenerateIndicatorWarning,
    InconsistentJudgementsWarning,
    IndexEngineError,
    IndexEngineWarning,
    OutputExistsError,
    SpecError,
    UnknownMethodError,
    WeightsNotNormalizedWarning,
)

_LAZY = {
    "Panel": "panel", "load_panel": "panel", "panel_from_frame": "panel",
    "Spec": "spec", "load_spec": "spec", "spec_from_dict": "spec",
    "Build": "result", "Step": "result",
    "build": "pipeline",
}
"""Names imported from their module when first used: ``python -m index_engine`` reads its arguments (and
starts reading a data file, see :mod:`index_engine.readahead`) before pandas and the engine are imported."""


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Build",
    "BuildError",
    "DataError",
    "DegenerateIndicatorWarning",
    "InconsistentJudgementsWarning",
    "IndexEngineError",
    "IndexEngineWarning",
    "OutputExistsError",
    "Panel",
    "Spec",
    "SpecError",
    "Step",
    "UnknownMethodError",
    "WeightsNotNormalizedWarning",
    "build",
    "load_panel",
    "load_spec",
    "panel_from_frame",
    "spec_from_dict",
    "__version__",
]
