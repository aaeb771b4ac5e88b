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
from .panel import Panel, load_panel, panel_from_frame  # noqa: E402
from .spec import Spec, load_spec, spec_from_dict  # noqa: E402
from .result import Build, Step  # noqa: E402
from .pipeline import build  # noqa: E402

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
