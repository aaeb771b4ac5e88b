"""A build's resolved weights written back as a variant spec with fixed weights."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..yamlsafe import write_yaml_text


def weight_set_yaml(build: Any, out: Path | None = None) -> str:
    """A variant spec holding a build's resolved weights as fixed weights, for review and reuse.

    It ``extends`` the build's spec (path relative to ``out``), sets every node's weight to the
    weight the build used within its parent, and replaces the weights step by ``fixed``, so
    data-driven weights estimated once (e.g. on a base window) stay frozen.
    """
    spec = build.spec
    w = build.weights.set_index("node")
    src = Path(spec.source)
    base = os.path.relpath(src.resolve(), (out.parent if out else Path.cwd()).resolve()) if src.exists() else str(src)
    methods = {row.node: row.children_weights for row in build.weights.itertuples() if row.children_weights}
    data = {
        "extends": base,
        "index": {"id": f"{spec.index.id}_derived", "description": (
            f"Weights estimated by {spec.index.id}'s weights step ("
            + ", ".join(f"{k}: {v}" for k, v in methods.items())
            + "), frozen as fixed weights."
        )},
        "weight_set": {code: float(w.loc[code, "weight"]) for code in spec.nodes if spec.parents[code] is not None},
        "set": {"steps.weights": {"method": "fixed"}},
    }
    return "# Derived weight set: review before use.\n" + write_yaml_text(data, allow_unicode=True, sort_keys=False)
