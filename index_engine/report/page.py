"""One page of a report: its file, template, context and charts; and the helpers page modules share.

The page modules (:mod:`.site`, :mod:`.loop`, :mod:`.brief`, :mod:`.explorer`, :mod:`.firms`) build
:class:`Page` objects; :mod:`.render` renders and writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import charts as ch


@dataclass
class Page:
    """One page to write: its file name, template and context."""

    file: str
    template: str
    context: dict[str, Any]
    charts: list[ch.Chart] = field(default_factory=list)


def strengths_weaknesses(inds: list[dict[str, Any]], by_base: bool = False) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A unit's best and worst counted indicators by rank share (rank / units ranked), or with
    ``by_base`` (one unit, no ranks) by the score gained since the base year: five each from twelve
    indicators up, else a third of them."""
    if by_base:
        ranked = [r for r in inds if r.get("since_base") is not None and r["counted"]]
        ranked.sort(key=lambda r: -r["since_base"])
    else:
        ranked = [r for r in inds if r["rank"] is not None and r["counted"]]
        ranked.sort(key=lambda r: (r["rank"] / max(r["n"], 1), -(r["score"] or 0)))
    k = 5 if len(ranked) >= 12 else max(1, len(ranked) // 3) if ranked else 0
    strengths = ranked[:k]
    weaknesses = [r for r in reversed(ranked[-k:]) if r not in strengths] if k else []
    return strengths, weaknesses
