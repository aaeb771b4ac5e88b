"""COINr interoperability: an iMeta table becomes a spec, so a COINr user moves over in one step.

COINr (Becker et al. 2022, JOSS 7(78):4567) describes an index with two tables: iData (one row per
unit, one column per indicator, group and denominator) and iMeta (``Level, iCode, iName,
Direction, Weight, Unit, Target, Denominator, Parent, Type``). iData loads directly with
:func:`index_engine.load_panel`; iMeta becomes spec data here (:func:`imeta_to_dict`), which :func:`index_engine.load_spec`
validates when it is given an iMeta CSV.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd

from ._checks import decode_text
from .errors import SpecError

_REQUIRED = ("iCode", "Level", "Parent", "Type")


def imeta_to_dict(path: str | Path, *, index_id: str | None = None) -> dict[str, Any]:
    """Plain spec data (as YAML would hold it) from a COINr iMeta CSV.

    The steps are left at the engine's defaults (min-max 0–100, arithmetic mean); a COINr
    build's other steps are added in the spec by hand.
    """
    path = Path(path)
    try:
        text = decode_text(path.read_bytes(), str(path), "iMeta CSV", SpecError)  # UTF-8, GBK/GB18030, ...
        meta = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise SpecError(f"{path}: cannot read the iMeta table ({exc})") from None
    missing = [c for c in _REQUIRED if c not in meta.columns]
    if missing:
        raise SpecError(f"{path}: not a COINr iMeta table: columns {', '.join(missing)} are missing")
    rows = meta[meta["Type"].isin(["Indicator", "Aggregate"])]
    nodes: list[dict[str, Any]] = []

    def number(i: int, r: pd.Series, column: str, must: str = "not a number") -> float:
        try:
            return float(r[column])
        except ValueError:
            raise SpecError(f"{path}: row {i + 2}, column {column!r}: {must} ({r[column]!r})") from None

    for i, r in rows.iterrows():
        node: dict[str, Any] = {"code": r["iCode"], "name_en": r.get("iName", "") or r["iCode"]}
        if r["Parent"]:
            node["parent"] = r["Parent"]
        if r.get("Weight", ""):
            node["weight"] = number(i, r, "Weight")
        if r["Type"] == "Indicator":
            if r.get("Direction", ""):
                direction = number(i, r, "Direction", "must be 1 or -1")
                if direction not in (1, -1):
                    raise SpecError(f"{path}: row {i + 2}, column 'Direction': must be 1 or -1 ({r['Direction']!r})")
                node["direction"] = int(direction)
            if r.get("Unit", ""):
                node["unit"] = r["Unit"]
            if r.get("Denominator", ""):
                node["denominator"] = r["Denominator"]
            if r.get("Target", ""):
                node["target"] = {"value": number(i, r, "Target")}
        nodes.append(node)
    roots = [n for n in nodes if "parent" not in n]
    root = roots[0]["code"] if len(roots) == 1 else None
    return {
        "index": {
            "id": index_id or (root or path.stem),
            "name_en": roots[0].get("name_en", "") if roots else "",
            "description": f"Imported from the COINr iMeta table {path.name}.",
        },
        "tree": nodes,
        "steps": {
            "denominate": {"method": "divide"} if any("denominator" in n for n in nodes) else {"method": "none"},
            "normalize": {"method": "minmax", "params": {"lower": 0, "upper": 100}},
            "aggregate": {"method": "arithmetic"},
        },
    }
