"""``index-engine template SPEC -o collect.xlsx``: a data-collection workbook for the departments that supply data.

Sheets, in order:

* ``data``: the long entry sheet ``unit, unit_name, period, indicator, value, flag, source, vintage, note,
  break``, one row per unit, indicator and year wanted (value empty), with drop-down lists for ``unit``,
  ``indicator`` and ``flag``. It is the first sheet, so the filled workbook is read as it is
  (``index-engine build SPEC --data collect.xlsx``);
* ``indicators``: code, names, dimension, unit, type, sub-annual rule, definition (口径), source, direction,
  target and the periods wanted of every indicator;
* ``说明``: how to fill the data sheet (Chinese and English);
* ``lists``: the codes and flags the drop-down lists offer.

The units are those of ``--data`` (or the spec's data file, when it can be read), else the spec's ``units``
and ``reference_units``; the years those of that file, else the last complete calendar year, unless
``--years`` says (``2019-2025`` or ``2023,2025``).
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .dataquality import group_by_dimension, period_rule
from .atomic import check_file_target
from .errors import DataError, SpecError
from .flags import FLAGS
from .panel import load_panel
from .xlsx import write_xlsx

if TYPE_CHECKING:
    from .panel import Panel
    from .spec import Spec

MAX_ROWS = 100_000
"""The most entry rows a template fills in (units × indicators × years); beyond it (a firm register, say) the
entry sheet is left empty and the unit list is not offered: a workbook that size is no form to fill in."""
ENTRY_COLUMNS = ["unit", "unit_name", "period", "indicator", "value", "flag", "source", "vintage", "note", "break"]

_GUIDE = [
    ("每行一个数值：单位（unit）、期间（period：年份 2025，或季度 2025Q1、月份 2025-03）、指标代码（indicator）和数值（value）。",
     "One value a row: unit, period (a year 2025, or a quarter 2025Q1 or month 2025-03), indicator code and value."),
    ("没有数据的格子留空（或写 NA、—）；不要删除行或改动表头。", "Leave a cell empty (or write NA, —) where there is no data; keep the header as it is."),
    ("flag 说明数值的性质：观测（默认，可留空）、估计、初步、代理、预测、示例；也接受 SDMX 字母 A E P X F S。",
     "flag says what stands behind the value: observed (default, may be empty), estimate, provisional, proxy, forecast, illustrative; SDMX letters A E P X F S are accepted."),
    ("source 写数据来源（如 统计年鉴 2025），vintage 写发布日期（YYYY、YYYY-MM 或 YYYY-MM-DD），note 写说明。",
     "source names where the value comes from (e.g. the 2025 yearbook), vintage its publication date (YYYY, YYYY-MM or YYYY-MM-DD), note anything to explain."),
    ("口径变化时，在新口径的第一个数值的 break 列写 1，并在 note 中说明。",
     "Where the definition (口径) changes, write 1 in the break column of the first value on the new basis and explain it in note."),
    ("同一单位、期间、指标只填一行；月度或季度数据另起行，按指标表中的规则汇总为年度值。",
     "One row per unit, period and indicator; monthly or quarterly values go on rows of their own and become annual values by the rule of the indicators sheet."),
    ("填好后检查：index-engine validate 指标体系.yaml --data 本文件.xlsx", "To check the filled workbook: index-engine validate SPEC.yaml --data this.xlsx"),
]


def parse_years(text: str) -> list[int]:
    """``'2019-2025'`` or ``'2023,2025'`` → the years; anything else is a :class:`SpecError` naming ``--years``."""
    text = text.strip()
    m = re.fullmatch(r"(\d{4})\s*-\s*(\d{4})", text)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        if a <= b and b - a < 200:
            return list(range(a, b + 1))
    elif re.fullmatch(r"\d{4}(\s*,\s*\d{4})*", text):
        return sorted({int(y) for y in text.split(",")})
    raise SpecError(f"--years {text!r}: write a range such as 2019-2025 or a list such as 2023,2025")


def _known_panel(spec: Spec, data: str | Path | None, sheet: str | None) -> Panel | None:
    """The data (``data``, or the spec's file) when it can be read; without ``data``, a spec file that cannot
    be read just gives no units (``data`` given and unreadable is an error)."""
    if data is not None:
        return load_panel(data, sheet=sheet)
    if spec.data is None or spec.data.file is None:
        return None
    path = Path(os.path.normpath(spec.base_dir / spec.data.file))
    try:
        return load_panel(path, sheet=sheet or spec.data.sheet)
    except (DataError, OSError):
        return None


def template_sheets(spec: Spec, units: list[str], names: dict[str, str], years: list[int]) -> dict[str, pd.DataFrame]:
    """The sheets of the collection workbook (see the module docstring)."""
    dims = {c: d for d, codes in group_by_dimension(spec, list(spec.indicators)).items() for c in codes}
    period_text = f"{years[0]}-{years[-1]}" if years == list(range(years[0], years[-1] + 1)) and len(years) > 1 else \
        ",".join(map(str, years))
    rows = []
    for code in spec.indicators:
        n = spec.nodes[code]
        t = n.target
        rule = period_rule(spec, code)
        rows.append({
            "code": code, "name_zh": n.name_zh, "name_en": n.name_en, "dimension": dims[code], "unit": n.unit or "",
            "type": n.type or "", "sub_annual_rule": rule, "definition (口径)": n.description or "",
            "source": n.source or "", "direction": n.direction,
            "target": "" if t is None else f"{t.value:g}" + (f" by {t.year}" if t.year else "") + f" ({t.basis})",
            "periods wanted": f"{period_text} annual; monthly or quarterly rows become annual by '{rule}'",
        })
    if len(units) * len(spec.indicators) * len(years) > MAX_ROWS:
        units = []
    entry = pd.DataFrame(
        [{"unit": u, "unit_name": names.get(u, ""), "period": y, "indicator": code}
         for u in units for code in spec.indicators for y in years],
        columns=ENTRY_COLUMNS,
    )
    flags = [f.name for f in FLAGS.values()] + [f.zh for f in FLAGS.values()]
    longest = max(len(units), len(spec.indicators), len(flags), 1)
    pad = lambda xs: list(xs) + [None] * (longest - len(xs))  # noqa: E731
    lists = pd.DataFrame({"unit": pad(units), "indicator": pad(spec.indicators), "flag": pad(flags)})
    guide = pd.DataFrame(_GUIDE, columns=["说明", "guide"])
    return {"data": entry, "indicators": pd.DataFrame(rows), "说明": guide, "lists": lists}


def list_ranges(sheets: dict[str, pd.DataFrame]) -> dict[str, dict[str, str]]:
    """The drop-down lists of the data sheet: each column's range on the ``lists`` sheet."""
    lists = sheets["lists"]
    out = {}
    for j, col in enumerate(("unit", "indicator", "flag")):
        n = int(lists[col].notna().sum())
        if n:
            letter = "ABC"[j]
            out[col] = f"'lists'!${letter}$2:${letter}${n + 1}"
    return {"data": out}


def write_template(spec: Spec, out: str | Path, *, data: str | Path | None = None, sheet: str | None = None,
                   years: list[int] | None = None, force: bool = False) -> dict[str, Any]:
    """Write the collection workbook ``out`` (replacing it only with ``force``); returns what it holds."""
    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        raise SpecError(f"{out}: the template is an .xlsx workbook; give a name ending in .xlsx")
    check_file_target(out, force=force)
    panel = _known_panel(spec, data, sheet)
    if panel is not None:
        units, names = panel.units, panel.unit_names()
        names = {u: n for u, n in names.items() if n != u}
        years = years or (panel.years if panel.has_years else None)
    else:
        units = list(dict.fromkeys([*(spec.units or ()), *spec.reference_units]))
        names = {}
    years = years or [_dt.date.today().year - 1]
    sheets = template_sheets(spec, units, names, years)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        write_xlsx(sheets, tmp, title=f"{spec.index.name_zh or spec.index.name_en or spec.index.id}: data collection",
                   lists=list_ranges(sheets))
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return {"units": len(units), "indicators": len(spec.indicators), "years": years, "rows": len(sheets["data"])}
