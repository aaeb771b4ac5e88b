"""The panel: indicator data, units × years × indicators, read once and validated.

Accepted files: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030 as Chinese Excel saves it, Windows-1252
with a warning; see :func:`index_engine._checks.decode_text`) or tab-separated text, Excel ``.xlsx``
(one sheet, ``sheet=`` picks it; no merged cells, no formulas without a saved result) and Parquet,
regular files within the size limit (:func:`index_engine._files.check_input_file`), in either layout:

* long: ``unit, period, indicator, value`` (``year`` accepted for ``period``), optional
  provenance columns ``source``, ``vintage``, ``flag``, ``note``, ``break``, and ``unit_name`` and group columns;
* wide: ``unit``, optional ``period``/``year``, one column per indicator, optional
  ``unit_name``, group (text) and denominator (number) columns. COINr's iData (``uCode``,
  ``uName``, ``Time``) is read as it is. Its provenance is a second sheet named ``provenance`` of the
  workbook, or the sidecar file the spec names in ``data.provenance`` (long: ``unit, period, indicator``
  and the provenance columns).

Builds are annual. A period such as ``2025Q1`` or ``2025-03`` is kept in
:attr:`Panel.observations` (every dated value) for what needs it, such as target baselines; a year with
no annual row takes its value from its sub-annual rows by the indicator's rule
(:func:`index_engine.dataquality.annualise`). ``docs/data.md`` describes the format.
"""

from __future__ import annotations

import csv
import hashlib
import io
import posixpath
import re
import warnings
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Callable
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from . import dataquality as dq, readahead
from ._checks import NO_YEAR, decode_text, list_rows
from ._files import check_input_file
from .dataquality import BREAK_COLUMNS, SOURCE_COLUMNS, DataQuality, Problems, group_by_dimension
from .errors import DataError, EmptyNodeWarning

if TYPE_CHECKING:
    from .spec import Spec

UNIT_COLS = ("unit", "ucode", "unit_code", "code")
NAME_COLS = ("unit_name", "uname", "name")
PERIOD_COLS = ("period", "year", "time")
NA_TOKENS = frozenset(dq.GAP_TOKENS)
"""Cell texts read as gaps (lower case, trimmed): :data:`index_engine.dataquality.GAP_TOKENS`."""
PROVENANCE_SHEET = "provenance"
"""The sheet of a workbook that gives the provenance of a wide data sheet's values."""
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_PERIOD = re.compile(r"^\s*(\d{4})(?:\.0)?\s*(?:(?:[-/ ]?[Qq]([1-4]))|(?:[-/.M]?(\d{1,2})))?\s*$")


@dataclass(frozen=True, eq=False)
class Panel:
    """Validated indicator data.

    Attributes
    ----------
    values : DataFrame, index (unit, year), one float column per numeric variable
        Indicators and denominators, annual values only.
    attrs : DataFrame, same index
        Text columns: ``unit_name`` and group columns.
    observations : DataFrame
        Every dated value, annual and sub-annual: ``unit, period, date, indicator, value``.
    sources : DataFrame
        ``unit, year, period, indicator, source, vintage, flag, note``: one row per value the file gives
        provenance for (flag canonical, ``observed`` when not given); an annual value made from sub-annual
        rows has a row with the rule in ``note``. Empty when the file has no provenance columns.
    breaks : DataFrame
        ``unit, indicator, date, note``: series breaks, from the file's ``break`` column and the spec's
        ``breaks:`` (merged in when the panel is checked against a spec). Values before ``date`` and from
        it on are not comparable (see :meth:`break_between`).
    quality : DataQuality
        Gap tokens counted, sub-annual rules applied, duplicates settled.
    """

    values: pd.DataFrame
    attrs: pd.DataFrame
    _observations: pd.DataFrame | None = field(repr=False)
    sources: pd.DataFrame = field(repr=False)
    file: str = "<memory>"
    sha256: str = ""
    has_years: bool = True
    _checked: set = field(default_factory=set, compare=False, repr=False)
    breaks: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=BREAK_COLUMNS), compare=False, repr=False)
    quality: DataQuality = field(default_factory=DataQuality, compare=False, repr=False)

    @property
    def observations(self) -> pd.DataFrame:
        """Every dated value: ``unit, period, date, year, indicator, value`` (made on first use for wide data)."""
        if self._observations is None:
            object.__setattr__(self, "_observations", _dated(self.values, self.has_years))
        return self._observations

    @cached_property
    def units(self) -> list[str]:
        """Unit codes in the order of the file (found from the index's integer codes)."""
        idx = self.values.index
        k = idx.names.index("unit")
        return list(idx.levels[k].take(pd.unique(np.asarray(idx.codes[k]))))

    @cached_property
    def _unit_set(self) -> frozenset:
        return frozenset(self.units)

    @cached_property
    def n_units(self) -> int:
        """How many units (without listing them)."""
        return unit_count(self.values.index)

    @cached_property
    def years(self) -> list[int]:
        return sorted(int(y) for y in pd.unique(self.values.index.get_level_values("year")))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Panel):
            return NotImplemented
        return (
            self.values.equals(other.values)
            and self.attrs.equals(other.attrs)
            and (self._observations is None or other._observations is None or self.observations.equals(other.observations))
            and self.has_years == other.has_years
        )

    __hash__ = None  # type: ignore[assignment]

    def unit_names(self, units: list[str] | None = None) -> dict[str, str]:
        """Each unit's name (its first non-empty ``unit_name``, else its code), for ``units`` (default: every
        unit, in the order of the file)."""
        units = self.units if units is None else list(units)
        if "unit_name" not in self.attrs:
            return {u: u for u in units}
        names = self.attrs["unit_name"]
        if len(units) < self.n_units:  # a few units: look at their rows only
            names = names[names.index.get_level_values("unit").isin(units)]
        names = names.groupby(level="unit").first()
        return {u: (names.get(u) if isinstance(names.get(u), str) and names.get(u) else u) for u in units}

    def break_between(self, unit: str, indicator: str, year_a: int, year_b: int) -> bool:
        """Whether a series break of ``indicator`` for ``unit`` lies between two years: a break dated in year Y
        separates the years before Y from Y and after, so a change from ``year_a`` to ``year_b`` spans it when
        min < Y <= max."""
        b = self.breaks
        if b.empty:
            return False
        lo, hi = sorted((int(year_a), int(year_b)))
        hit = b[(b["unit"] == unit) & (b["indicator"] == indicator)]
        return any(lo < dq.year_of(d) <= hi for d in hit["date"])

    def unit_code(self, text: str) -> str | None:
        """The unit code ``text`` names: a code of the data, else the code of the one unit whose name it is."""
        if text in self._unit_set:
            return text
        names = self.unit_names()
        hits = [u for u, n in names.items() if n == text]
        return hits[0] if len(hits) == 1 else None

    def missing_indicators(self, spec: Spec) -> list[str]:
        """Spec indicators with no column in the data (no row at all: an indicator with rows that are all gaps,
        or only sub-annual rows, has one)."""
        return [c for c in spec.indicators if c not in self.values.columns]

    def check_against(self, spec: Spec, problems: list[str] | None = None) -> None:
        """Every spec indicator is in the data (unless ``data.on_missing_indicator: warn``), every unit has some
        data, and the units the spec names (``reference_units``, ``tracking.unit``, ``breaks``) are units of the
        data, by code or name. The spec's ``breaks:`` join :attr:`breaks`. A denominator the data lacks is not a
        problem: the values it divides are missing (the build's denominate stage records them).

        A panel remembers what it passed, so a build after ``load_panel(path, spec)`` does not
        check the same indicators twice. ``problems``: append every problem to it instead of raising the first."""
        policy = spec.data.on_missing_indicator if spec.data is not None else "error"
        key = (spec.indicators, policy,
               spec.reference_units, spec.tracking.unit if spec.tracking else None, spec.breaks)
        if key in self._checked and problems is None:
            return
        self._check(spec, Problems(problems))
        if problems is None or not problems:
            self._checked.add(key)

    def _check(self, spec: Spec, problems: Problems) -> None:
        missing = self.missing_indicators(spec)
        if missing and (spec.data is None or spec.data.on_missing_indicator == "error"):
            problems(missing_message(spec, self.file, missing))
        resolve_units(spec, self, problems)
        made = self.quality.annualised
        if not made.empty:
            rules = made[["indicator", "rule"]].drop_duplicates()
            other = [f"{i} ({r}, the spec's is {dq.period_rule(spec, i)})" for i, r in rules.itertuples(index=False)
                     if i in spec.nodes and r != dq.period_rule(spec, i)]
            if other:
                problems(f"{self.file}: annual values were made from sub-annual rows by other rules than the spec's: "
                         f"{list_rows(other)}; read the data with this spec (load_panel(path, spec))")
        has = np.zeros(len(self.values), bool)
        for c in spec.indicators:  # column by column: no copy of the table
            if c in self.values.columns:
                col = self.values[c]
                if col.dtype.kind == "f" and not has_gap(col.to_numpy()):  # a value on every row: every unit has data
                    has[:] = True
                    break
                has |= col.notna().to_numpy()
        idx = self.values.index
        k = idx.names.index("unit")
        codes = np.asarray(idx.codes[k])
        rows = np.bincount(codes, minlength=len(idx.levels[k]))
        empty_code = (rows > 0) & (np.bincount(codes[has], minlength=len(rows)) == 0)
        if empty_code.any():
            first = pd.unique(codes)  # in the order of the file
            empty = list(idx.levels[k].take(first[empty_code[first]]))
            problems(f"{self.file}: these units have no data for any indicator of the spec: {list_rows(empty)}")


def missing_message(spec: Spec, file: str, missing: list[str]) -> str:
    """The error for spec indicators the data lacks: the count, then each dimension's codes on a line, then
    how to build without them."""
    lines = [f"{file}: the data lacks {len(missing)} of the {len(spec.indicators)} indicators of {spec.source}:"]
    for dim, codes in group_by_dimension(spec, missing).items():
        lines.append(f"  {dim}: {', '.join(codes)}")
    lines.append("  to build without them (their siblings' weights renormalised), set data.on_missing_indicator: warn "
                 "in the spec or pass --set data.on_missing_indicator=warn; `index-engine validate` lists every problem")
    return "\n".join(lines)


def resolve_units(spec: Spec, panel: Panel, problems: Problems | None = None) -> Spec:
    """``spec`` with ``reference_units``, ``tracking.unit`` and the units of ``breaks:`` as unit codes of the
    data (each may be written as a code or as a unit's name); a unit that is neither is a problem naming the
    spec path. Checked against the whole file, before ``units:`` narrows the ranked units."""
    problems = problems or Problems()
    changes: dict[str, object] = {}

    def code(text: str, path: str) -> str:
        found = panel.unit_code(text)
        if found is None:
            problems(f"{panel.file}: {spec.source}: {path}: {text!r} is neither a unit code nor a unit name of the data")
            return text
        return found

    refs = tuple(code(u, f"reference_units[{i}]") for i, u in enumerate(spec.reference_units))
    if refs != spec.reference_units:
        changes["reference_units"] = list(refs)
    if spec.tracking is not None:
        unit = code(spec.tracking.unit, "tracking.unit")
        if unit != spec.tracking.unit:
            changes["tracking.unit"] = unit
    for i, brk in enumerate(spec.breaks):
        if brk.unit is not None:
            unit = code(brk.unit, f"breaks[{i}].unit")
            if unit != brk.unit:
                changes[f"breaks[{i}].unit"] = unit
    if changes:
        spec = spec.replace_many(changes, origin="unit names")
    _merge_breaks(spec, panel)
    return spec


def _merge_breaks(spec: Spec, panel: Panel) -> None:
    """Join the spec's ``breaks:`` (a break without a unit: one row per unit of the data) to ``panel.breaks``."""
    if not spec.breaks:
        return
    rows = [
        (u, b.indicator, b.date, b.note)
        for b in spec.breaks
        for u in ([b.unit] if b.unit is not None else panel.units)
        if b.unit is None or b.unit in panel._unit_set
    ]
    merged = pd.concat([panel.breaks, pd.DataFrame(rows, columns=BREAK_COLUMNS)], ignore_index=True)
    object.__setattr__(panel, "breaks", merged.drop_duplicates(["unit", "indicator", "date"]).reset_index(drop=True))


def unit_count(index: pd.MultiIndex) -> int:
    """How many distinct units a (unit, year) index has, counted on its integer codes."""
    codes = np.asarray(index.codes[index.names.index("unit")])
    return int(np.count_nonzero(np.bincount(codes[codes >= 0], minlength=1)))


def level_values(index: pd.MultiIndex, name: str) -> pd.Index:
    """``index.get_level_values(name)``; the level itself (not a copy) when each of its values is one row, in
    order (a large file's units, one year each): a million codes are not taken from it again."""
    i = index.names.index(name)
    level, codes = index.levels[i], np.asarray(index.codes[i])
    if len(codes) == len(level) and len(codes) and codes[0] == 0 and (np.diff(codes) == 1).all():
        return level.rename(name)
    return index.get_level_values(name)


def _read_table(path: Path, sheet: str | int | None) -> pd.DataFrame:
    name = str(path)
    check_input_file(path, "data", DataError)
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm", ".xls"):
            df = _read_excel(path, name, sheet)
        elif suffix in (".parquet", ".pq"):
            df = _read_parquet(path, name)
        else:
            df = _read_csv(path, name)
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"{name}: the file is empty") from None
    except pd.errors.ParserError as exc:
        msg = str(exc).strip().splitlines()[-1]
        raise DataError(f"{name}: not a well-formed CSV table ({msg})") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{name}: cannot read the file ({exc})") from None
    if df.shape[0] == 0:
        raise DataError(f"{name}: the file has a header but no rows")
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _read_parquet(path: Path, name: str) -> pd.DataFrame:
    """A Parquet file as a DataFrame of one block per column, read (or taken as the command line read it ahead)
    a few columns at a time (:func:`index_engine.readahead.parquet_tables`), Arrow's memory released column by
    column as it converts (so a large file is not held twice)."""
    tables = iter(readahead.take(path) or readahead.parquet_tables(path))
    _check_header(next(tables).names, name)
    return side_by_side([t.to_pandas(split_blocks=True, self_destruct=True) for t in tables])


def side_by_side(parts: list[pd.DataFrame | pd.Series]) -> pd.DataFrame:
    """``pd.concat(parts, axis=1)`` of frames or Series on the same rows, without copying a column.

    pandas 3 copies on write only. pandas 2 copies unless told not to (``copy=False``), and a frame's columns
    even then: there, the parts are joined as Series, and labelled after."""
    if len(parts) == 1 and isinstance(parts[0], pd.DataFrame):
        return parts[0]
    if _COPY_ON_WRITE:
        return pd.concat(parts, axis=1)
    columns = [c for p in parts for c in ([p] if isinstance(p, pd.Series) else (p.iloc[:, i] for i in range(p.shape[1])))]
    labels = [p.name if isinstance(p, pd.Series) else c for p in parts for c in ([p] if isinstance(p, pd.Series) else p.columns)]
    joined = pd.concat(columns, axis=1, copy=False, ignore_index=True)
    joined.columns = labels
    return joined


_COPY_ON_WRITE = int(pd.__version__.split(".")[0]) >= 3
"""pandas 3 and later: a frame made of others' columns shares them until one is written."""


def _read_csv(path: Path, name: str) -> pd.DataFrame:
    """A CSV (or tab-separated) file as text cells; the header is read here, not by pandas."""
    text = decode_text(path.read_bytes(), name, "CSV", DataError)
    head = text.lstrip()
    if not head:
        raise DataError(f"{name}: the file is empty")
    end = head.find("\n")
    first = (head if end < 0 else head[:end]).rstrip("\r")
    sep = _separator(first, name)
    _check_header(next(csv.reader([first], delimiter=sep, skipinitialspace=True)), name)
    return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True)


def _separator(header: str, name: str) -> str:
    """',' (or a tab for tab-separated text); a ';' or '|' separated file is refused.

    The separator is the most frequent of , tab ; | in the header line. Files saved with ';'
    usually write decimal commas (1,5), which cannot be told from thousands separators, so
    they are refused rather than guessed.
    """
    counts = {c: header.count(c) for c in (",", "\t", ";", "|")}
    best = max(counts, key=counts.__getitem__)
    if counts[best] == 0 or best == ",":
        return ","
    if best == "\t":
        return "\t"
    raise DataError(
        f"{name}: line 1: the file looks {best!r}-separated ({counts[best]} {best!r} and {counts[',']} ',' in the header); "
        "save it as comma-separated CSV with '.' as the decimal mark"
    )


def _check_header(names: list, name: str, column: Callable[[int], str] = lambda i: str(i + 1)) -> None:
    """No column name twice (after trimming); ``column(i)`` labels position i in messages."""
    first: dict[str, int] = {}
    twice = []
    for i, n in enumerate(names):
        key = "" if n is None else str(n).strip()
        if not key:
            continue
        if key in first:
            twice.append(f"{key!r} (columns {column(first[key])} and {column(i)})")
        else:
            first[key] = i
    if twice:
        raise DataError(f"{name}: the header names a column twice: {list_rows(twice)}; rename or remove one of each")


def _read_excel(path: Path, name: str, sheet: str | int | None) -> pd.DataFrame:
    """One sheet of a workbook, refused when its header repeats a name, it has merged cells or
    formulas without a saved result, or (without ``sheet``) it has no unit column."""
    from openpyxl.utils import get_column_letter

    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise DataError(f"{name}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    sheets = book.sheet_names
    if sheet is None:
        sheet = sheets[0]
    elif sheet not in sheets:
        raise DataError(f"{name}: no sheet {sheet!r}; the sheets are {', '.join(map(repr, sheets))}")
    where = f"{name}: sheet {sheet!r}"
    header = next(book.book[sheet].iter_rows(min_row=1, max_row=1, values_only=True), ())
    _check_header(list(header), where, lambda i: get_column_letter(i + 1))
    merged, uncached = _sheet_cells(path, sheet)
    if merged:
        raise DataError(
            f"{where}: merged cells at {list_rows(merged)}: a merged range keeps its value in its first cell only, "
            "so the others would read as gaps; unmerge them and fill every cell"
        )
    if uncached:
        raise DataError(
            f"{where}: formulas with no saved result at {list_rows(uncached)}: the workbook was saved by a program "
            "that does not calculate formulas; open and save it in Excel or WPS, or paste the values"
        )
    df = pd.read_excel(book, sheet_name=sheet, dtype=object)
    df = df.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else v)
    cols = [str(c).strip() for c in df.columns]
    if _find(cols, UNIT_COLS) is None and len(sheets) > 1:
        raise DataError(
            f"{where} has no unit column (columns are {list_rows(cols)}); the sheets are "
            f"{', '.join(map(repr, sheets))}: choose the data sheet with --sheet (or data.sheet in the spec)"
        )
    return df


_XL = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_XL_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_XL_MARKS = re.compile(rb"<(?:\w+:)?(?:f|mergeCell)[\s>/]")


def _sheet_cells(path: Path, sheet: str) -> tuple[list[str], list[str]]:
    """(merged ranges, formula cells with no saved result) of a worksheet, read from its XML.

    A formula cell holds ``<f>`` and, once a spreadsheet program has calculated it, its result
    in ``<v>``; without one (or with an empty ``<v/>`` in a number cell, as openpyxl writes)
    pandas reads the cell as empty. An empty text result (``t="str"``) is a result. Most
    sheets have neither formulas nor merged cells, which one scan of the raw XML shows; only
    then is the XML parsed.
    """
    with zipfile.ZipFile(path) as zf:
        part = _sheet_part(zf, sheet)
        if part is None:
            return [], []
        with zf.open(part) as f:
            tail = b""
            while chunk := f.read(1 << 20):
                if _XL_MARKS.search(tail + chunk):
                    break
                tail = chunk[-32:]
            else:
                return [], []
        merged: list[str] = []
        uncached: list[str] = []
        with zf.open(part) as f:
            for _, el in ElementTree.iterparse(f):
                if el.tag == f"{_XL}c" and el.find(f"{_XL}f") is not None:
                    v = el.find(f"{_XL}v")
                    if v is None or (not v.text and el.get("t", "n") == "n"):
                        uncached.append(el.get("r") or "?")
                elif el.tag == f"{_XL}row":
                    el.clear()
                elif el.tag == f"{_XL}mergeCell":
                    merged.append(el.get("ref") or "?")
    return merged, uncached


def _sheet_part(zf: zipfile.ZipFile, sheet: str) -> str | None:
    """The zip member holding worksheet ``sheet`` (None if the workbook's parts are not where .xlsx puts them)."""
    try:
        book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        rid = next(s.get(_XL_REL) for s in book.iter(f"{_XL}sheet") if s.get("name") == sheet)
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        target = next(r.get("Target") for r in rels if r.get("Id") == rid)
    except (KeyError, StopIteration, ElementTree.ParseError):
        return None
    if target is None:
        return None
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")


def _find(cols: list[str], names: tuple[str, ...]) -> str | None:
    low = {c.lower(): c for c in cols}
    for n in names:
        if n in low:
            return low[n]
    return None


def _parse_numbers(
    col: pd.Series,
    name: str,
    column: str,
    percent_ok: bool,
    units: np.ndarray,
    rows: np.ndarray | None = None,
    what: str = "",
    gaps: dict[str, int] | None = None,
) -> np.ndarray:
    """Parse cells to floats; a cell that is not a number, or not a finite one within
    ±:data:`MAX_ABS_VALUE`, is an error naming its file row and unit.

    ``rows`` are the file row numbers of the cells (default: header on row 1, data from row 2);
    ``units`` the unit of each cell. ``gaps`` counts the gap tokens read (:data:`NA_TOKENS`).
    """
    col = col.reset_index(drop=True)
    if rows is None:
        rows = _DataRows()
    if pd.api.types.is_numeric_dtype(col):
        arr = col.to_numpy(dtype=float, na_value=np.nan)
        _check_magnitude(arr, units, rows, name, column, what)
        if gaps is not None and has_gap(arr):
            gaps[""] = gaps.get("", 0) + int(np.isnan(arr).sum())
        return arr
    s = col.astype(str).str.strip()
    low = s.str.lower()
    missing = low.isin(NA_TOKENS)
    if gaps is not None and missing.any():
        dq.count_gaps(low[missing].where(~col[missing].isna().to_numpy(), ""), gaps)
    num = pd.to_numeric(s.where(~missing), errors="coerce")
    bad = num.isna() & ~missing
    if bad.any():
        t = s[bad]
        fixed = t.where(~t.str.match(_THOUSANDS), t.str.replace(",", "", regex=False))
        if percent_ok:
            fixed = fixed.str.replace(r"\s*%$", "", regex=True)
        num[bad] = pd.to_numeric(fixed, errors="coerce")
        bad = num.isna() & ~missing
    if bad.any():
        idx = np.flatnonzero(bad.to_numpy())
        where = [f"row {rows[i]} ({s.iloc[i]!r})" for i in idx[:6]]
        hint = " (a trailing % is read only for indicators whose unit is %)" if s[bad].str.endswith("%").any() else ""
        raise DataError(f"{name}: column {column!r}{what}: not a number at {list_rows(where, total=idx.size)}{hint}")
    arr = num.to_numpy(dtype=float)
    _check_magnitude(arr, units, rows, name, column, what)
    return arr


MAX_ABS_VALUE = 1e50
"""The largest magnitude a data value may have. Far beyond any real quantity (world GDP in the
smallest currency unit is below 1e20), it keeps the sums, squares and fourth powers the steps
compute (variances, skewness, kurtosis, min-max ranges, means) finite: a value near 1e308
would overflow them into inf or NaN scores. Larger values are refused when the data is read."""


class _DataRows:
    """File row numbers of data cells when the header is on row 1: ``rows[i] == i + 2`` (made on demand, for messages)."""

    def __getitem__(self, i: int) -> int:
        return int(i) + 2


def _check_magnitude(
    arr: np.ndarray, units: np.ndarray, rows: np.ndarray | _DataRows, name: str, column: str, what: str
) -> None:
    """An error naming the rows and units of infinite values and values beyond ±MAX_ABS_VALUE."""
    if arr.size == 0 or (np.fmax.reduce(arr) <= MAX_ABS_VALUE and np.fmin.reduce(arr) >= -MAX_ABS_VALUE) or np.isnan(arr).all():
        return  # two passes without temporaries settle the usual case (fmax and fmin skip gaps)
    inf = np.isinf(arr)
    big = ~inf & (np.abs(arr) > MAX_ABS_VALUE)
    for mask, problem, hint in (
        (inf, "infinite value", ""),
        (big, f"value beyond ±{MAX_ABS_VALUE:g}", " (the limit that keeps sums and squares finite; rescale the indicator)"),
    ):
        if mask.any():
            idx = np.flatnonzero(mask)
            where = [f"row {rows[i]} (unit {units[i]}, {arr[i]:g})" for i in idx[:5]]
            raise DataError(f"{name}: column {column!r}{what}: {problem} at {list_rows(where, total=idx.size)}{hint}")


def parse_period(value: object) -> tuple[int, str, bool]:
    """(year, label, is_annual) for 2025, '2025', '2025Q1', '2025-03', '2025M03'."""
    text = str(value).strip()
    m = _PERIOD.match(text)
    if not m:
        raise ValueError(text)
    year = int(m.group(1))
    if m.group(2):
        return year, f"{year}Q{m.group(2)}", False
    if m.group(3):
        month = int(m.group(3))
        if not 1 <= month <= 12:
            raise ValueError(text)
        return year, f"{year}-{month:02d}", False
    return year, str(year), True


def _period_end(label: str) -> pd.Timestamp:
    if "Q" in label:
        y, q = label.split("Q")
        return pd.Timestamp(int(y), int(q) * 3, 1) + pd.offsets.MonthEnd(0)
    if "-" in label:
        y, m = label.split("-")
        return pd.Timestamp(int(y), int(m), 1) + pd.offsets.MonthEnd(0)
    return pd.Timestamp(int(label), 12, 31)


def _period_ends(labels: np.ndarray) -> list[pd.Timestamp]:
    """:func:`_period_end` of each label (NaT for an empty one), worked out once per distinct label."""
    ends = {p: _period_end(p) if p else pd.NaT for p in pd.unique(labels)}
    return [ends[p] for p in labels]


def _periods(col: pd.Series, name: str, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, period label, is annual) for every row, parsing each distinct value once."""
    empty = col.isna().to_numpy()
    if empty.any():
        rows = [f"row {i + 2}" for i in np.flatnonzero(empty)]
        raise DataError(f"{name}: column {column!r}: no period at {list_rows(rows, total=int(empty.sum()))}")
    codes, uniq = pd.factorize(col, sort=False)  # each distinct value is parsed as its text, once
    texts = list(uniq.astype(str)) if col.dtype != object else [str(u) for u in uniq]
    parsed: list[tuple[int, str, bool]] = []
    bad = np.zeros(len(texts), bool)
    for i, u in enumerate(texts):
        try:
            parsed.append(parse_period(u))
        except ValueError:
            bad[i] = True
            parsed.append((0, "", False))
    if bad.any():
        rows = [f"row {i + 2} ({texts[codes[i]]!r})" for i in np.flatnonzero(bad[codes])]
        raise DataError(
            f"{name}: column {column!r}: not a period (use 2025, 2025Q1 or 2025-03) at {list_rows(rows)}"
        )
    years = np.array([p[0] for p in parsed], dtype=int)[codes]
    labels = np.array([p[1] for p in parsed], dtype=object)[codes]
    annual = np.array([p[2] for p in parsed], dtype=bool)[codes]
    return years, labels, annual


def _percent_units(spec: Spec | None) -> set[str]:
    if spec is None:
        return set()
    return {c for c, n in spec.nodes.items() if n.unit and "%" in n.unit}


def load_panel(
    path: str | Path, spec: Spec | None = None, sheet: str | int | None = None, problems: list[str] | None = None
) -> Panel:
    """Read and validate an indicator data file.

    Parameters
    ----------
    path : str or Path
        CSV, .xlsx or Parquet, long or wide (see the module docstring).
    spec : Spec, optional
        When given, the data is checked against it (every indicator present, every unit with
        some data) and trailing % signs are read for indicators whose unit is %.
    sheet : str, optional
        The Excel sheet (default: the first).
    problems : list, optional
        Append the problems a file's rows can have (bad flags or vintages, duplicates, indicators the data
        lacks, unknown units, ...) to it and go on, instead of raising the first (``index-engine validate``).
        A file that cannot be read at all still raises.
    """
    path = Path(path)
    name = str(path)
    collect = Problems(problems)
    check_input_file(path, "data", DataError)  # a regular file within the limit before it is opened twice
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(_sha256, path)  # hashed while the file is read (hashlib releases the GIL)
        panel = _read_panel(path, name, spec, sheet, collect)
    panel = replace(panel, file=name, sha256=digest.result(), _checked=set())
    if spec is not None:
        panel.check_against(spec, problems)
    return panel


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _read_panel(path: Path, name: str, spec: Spec | None, sheet: str | int | None, collect: Problems) -> Panel:
    """:func:`load_panel`'s reading: the file's table in either layout, with a wide file's provenance."""
    df = _read_table(path, sheet)
    cols = list(df.columns)
    lower = {c.lower() for c in cols}
    if {"indicator", "value"} <= lower:
        panel = _from_long(df, name, spec, collect)
    else:
        panel = _from_wide(df, name, spec)
        side = _provenance_file(path, sheet, spec)
        if side is not None:
            panel = _with_provenance(panel, *side, collect)
    del df
    if path.suffix.lower() in (".parquet", ".pq"):  # Arrow's allocator keeps what it freed for reuse: hand it back
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    return panel


def _provenance_file(path: Path, sheet: str | int | None, spec: Spec | None) -> tuple[Path, str | None] | None:
    """Where a wide file's provenance is: the spec's ``data.provenance`` sidecar (relative to the spec), else a
    sheet named :data:`PROVENANCE_SHEET` of the same workbook (not the data sheet itself)."""
    if spec is not None and spec.data is not None and spec.data.provenance:
        side = Path(spec.base_dir) / spec.data.provenance
        if not side.exists():
            raise DataError(f"{spec.source}: data.provenance: no such file {str(side)!r}")
        return side, None
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return None
    try:
        with pd.ExcelFile(path, engine="openpyxl") as book:
            names = book.sheet_names
    except Exception:  # noqa: BLE001 - the data sheet was read: a workbook that lists no sheets has none
        return None
    found = [n for n in names if n.strip().lower() == PROVENANCE_SHEET and n != sheet and names.index(n) != 0]
    return (path, found[0]) if found else None


def _with_provenance(panel: Panel, path: Path, sheet: str | None, problems: Problems) -> Panel:
    """``panel`` (wide) with :attr:`Panel.sources` and :attr:`Panel.breaks` from a provenance table
    (``unit, period, indicator`` and the provenance columns); a row naming a unit or indicator the data does
    not have is a problem naming the table and row."""
    where = f"{path}" + (f": sheet {sheet!r}" if sheet else "")
    df = _read_table(path, sheet)
    cols = list(df.columns)
    ucol = _unit_column(df, where)
    low = {c.lower(): c for c in cols}
    if "indicator" not in low:
        raise DataError(f"{where}: a provenance table needs the columns unit, period, indicator and some of "
                        f"{', '.join(dq.PROVENANCE_COLUMNS)} (columns are {list_rows(cols)})")
    _strip_codes(df, ucol, where, "unit")
    _strip_codes(df, low["indicator"], where, "indicator")
    pcol = _find(cols, PERIOD_COLS)
    if pcol is not None:
        years, labels, _ = _periods(df[pcol], where, pcol)
    else:
        years, labels = np.full(len(df), NO_YEAR), np.full(len(df), "", dtype=object)
    prov = dq.read_provenance(df, where, problems)
    units, inds = df[ucol].to_numpy(), df[low["indicator"]].to_numpy()
    for what, have, col in (("unit", panel._unit_set, units), ("indicator", set(panel.values.columns), inds)):
        bad = np.flatnonzero(~np.isin(col, list(have)))
        if bad.size:
            problems(f"{where}: {what}s the data does not have at "
                     f"{list_rows([f'row {i + 2} ({col[i]})' for i in bad[:6]], total=bad.size)}")
    if prov is None:
        return panel
    key = pd.DataFrame({"unit": units, "period": labels, "indicator": inds})
    keep, _ = dq.settle_duplicates(key, prov, "error", where, problems)
    key, years, labels = key[keep].reset_index(drop=True), years[keep], labels[keep]
    prov = {k: v[keep] for k, v in prov.items()}
    sources = _sources(key, years, labels, prov, pd.DataFrame(columns=dq.ANNUAL_COLUMNS))
    b = prov["break"]
    breaks = pd.DataFrame({"unit": key.unit[b].to_numpy(), "indicator": key.indicator[b].to_numpy(),
                           "date": labels[b], "note": prov["note"][b]})
    return replace(panel, sources=sources, breaks=breaks)


def _unit_column(df: pd.DataFrame, name: str) -> str:
    ucol = _find(list(df.columns), UNIT_COLS)
    if ucol is None:
        raise DataError(
            f"{name}: no unit column; name one of {', '.join(UNIT_COLS)} (columns are {list_rows(list(df.columns))})"
        )
    return ucol


def _codes(col: pd.Series, name: str, what: str) -> tuple[np.ndarray, pd.Index]:
    """(the code of each row as an integer, the distinct codes sorted) of a column of codes, each
    trimmed; an empty (or missing) code is an error naming its rows. Each distinct value is trimmed and
    checked once, and the rows coded once."""
    codes, uniq = _sorted_codes(col) or pd.factorize(col, sort=True)  # a missing value is coded -1
    uniq = pd.Index(uniq)
    text = uniq.astype(str).str.strip()
    bad = codes < 0
    bad[~bad] = text.isin(["", "nan", "None"])[codes[~bad]]
    if bad.any():
        rows = [f"row {i + 2}" for i in np.flatnonzero(bad)]
        raise DataError(f"{name}: column {col.name!r}: empty {what} at {list_rows(rows)}")
    if text.dtype != uniq.dtype or (text.str.len() != uniq.str.len()).any():  # not text, or trimmed: code the text
        recode, text = pd.factorize(text, sort=True)
        codes = recode[codes]
    return codes, text


def _sorted_codes(col: pd.Series) -> tuple[np.ndarray, pd.Index] | None:
    """``pandas.factorize(col, sort=True)`` for Arrow text already in order, as files sorted by unit code
    are: two comparisons of neighbouring codes instead of hashing every one. None for other columns."""
    if len(col) < 2 or not isinstance(col.dtype, pd.StringDtype) or col.dtype.storage != "pyarrow":
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    a = pa.chunked_array(pa.array(col.array)).combine_chunks()
    before, after = a.slice(0, len(a) - 1), a.slice(1)
    if a.null_count or not pc.all(pc.less_equal(before, after)).as_py():
        return None
    new = np.concatenate([[True], pc.not_equal(before, after).to_numpy(zero_copy_only=False)])
    return np.cumsum(new) - 1, pd.Index(pd.array(a.filter(pa.array(new)), dtype=col.dtype))


def _strip_codes(df: pd.DataFrame, col: str, name: str, what: str) -> None:
    """Trim a column of codes in place; an empty (or missing) code is an error naming its rows."""
    codes, text = _codes(df[col], name, what)
    df[col] = text.take(codes)


def _from_long(df: pd.DataFrame, name: str, spec: Spec | None, problems: Problems | None = None) -> Panel:
    problems = problems or Problems()
    cols = list(df.columns)
    ucol = _unit_column(df, name)
    _strip_codes(df, ucol, name, "unit")
    low = {c.lower(): c for c in cols}
    icol, vcol = low["indicator"], low["value"]
    pcol = _find(cols, PERIOD_COLS)
    ncol = _find(cols, NAME_COLS)
    _strip_codes(df, icol, name, "indicator")
    has_years = pcol is not None
    if has_years:
        years, labels, annual = _periods(df[pcol], name, pcol)
    else:
        years = np.full(len(df), NO_YEAR)
        labels = np.full(len(df), "", dtype=object)
        annual = np.ones(len(df), bool)
    pct = _percent_units(spec)
    values = np.empty(len(df))
    unit_codes = df[ucol].to_numpy()
    gaps: dict[str, int] = {}
    try:  # the whole column at once, when every cell is a plain number or a gap
        values = _parse_numbers(df[vcol], name, vcol, False, unit_codes, None, "", gaps)
    except DataError:  # indicator by indicator: a % where the unit is %, and the message names the indicator
        gaps.clear()
        for ind, idx in df.groupby(icol, sort=False).indices.items():
            values[idx] = _parse_numbers(
                df[vcol].iloc[idx], name, vcol, ind in pct, unit_codes[idx], idx + 2, f" (indicator {ind!r})", gaps
            )
    prov = dq.read_provenance(df, name, problems)
    key = pd.DataFrame({"unit": unit_codes, "period": labels, "indicator": df[icol].to_numpy()})
    dup = key.duplicated(keep=False).to_numpy()
    if dup.any() and not has_years:
        rows = [f"row {i + 2} ({key.unit[i]}, {key.indicator[i]})" for i in np.flatnonzero(dup)]
        raise DataError(
            f"{name}: there is no period column ({', '.join(PERIOD_COLS)}) and these (unit, indicator) pairs "
            f"repeat: {list_rows(rows)}; add a period column, or keep one row per unit and indicator"
        )
    settled = pd.DataFrame(columns=dq.DUPLICATE_COLUMNS)
    if dup.any():
        policy = spec.data.duplicates if spec is not None and spec.data is not None else "error"
        keep, settled = dq.settle_duplicates(key, prov, policy, name, problems)
        if not keep.all():
            df = df.loc[keep].reset_index(drop=True)
            key = key[keep].reset_index(drop=True)
            years, labels, annual, values, unit_codes = years[keep], labels[keep], annual[keep], values[keep], unit_codes[keep]
            prov = None if prov is None else {k: v[keep] for k, v in prov.items()}
    obs = pd.DataFrame(
        {
            "unit": key.unit,
            "period": labels,
            "date": _period_ends(labels),
            "year": years,
            "indicator": key.indicator,
            "value": values,
        }
    )
    ann = obs[annual]
    made = _annual_from_periods(obs, annual, spec)
    if not made.empty:
        ann = pd.concat([ann, made[["unit", "year", "indicator", "value"]].assign(period=made["year"].astype(str))],
                        ignore_index=True)
    wide = ann.pivot(index=["unit", "year"], columns="indicator", values="value")
    named = list(pd.unique(key.indicator))  # every indicator the file names has a column, even one of gaps only
    if len(named) != wide.shape[1]:
        wide = wide.reindex(columns=sorted(named))
    wide = _order(wide, df[ucol])
    wide.columns.name = None
    extra = [c for c in cols if c not in {ucol, icol, vcol, pcol} and c.lower() not in dq.PROVENANCE_COLUMNS]
    first = np.argsort(~annual, kind="stable")  # a unit-year's annual rows give its names and groups
    attrs = _attrs_from_rows(df.iloc[first], ucol, years[first], extra, ncol, wide.index)
    sources = _sources(key, years, labels, prov, made)
    breaks = pd.DataFrame(columns=BREAK_COLUMNS)
    if prov is not None and prov["break"].any():
        b = prov["break"]
        breaks = pd.DataFrame({"unit": key.unit[b].to_numpy(), "indicator": key.indicator[b].to_numpy(),
                               "date": labels[b], "note": prov["note"][b]})
    quality = DataQuality(gaps, tuple(named), made, settled)
    return Panel(wide.astype(float), attrs, obs, sources, name, "", has_years, breaks=breaks, quality=quality)


def _annual_from_periods(obs: pd.DataFrame, annual: np.ndarray, spec: Spec | None) -> pd.DataFrame:
    """The annual values made from sub-annual rows (:func:`index_engine.dataquality.annualise`) for the unit-years
    and indicators without an annual value; an annual row with a value wins."""
    if annual.all():
        return pd.DataFrame(columns=dq.ANNUAL_COLUMNS)
    sub = obs[~annual & obs["value"].notna().to_numpy()]
    ann = obs[annual & obs["value"].notna().to_numpy()]
    if not ann.empty and not sub.empty:
        have = pd.MultiIndex.from_frame(ann[["unit", "year", "indicator"]])
        sub = sub[~pd.MultiIndex.from_frame(sub[["unit", "year", "indicator"]]).isin(have)]
    return dq.annualise(sub, spec)


def _sources(key: pd.DataFrame, years: np.ndarray, labels: np.ndarray, prov: dict[str, np.ndarray] | None,
             made: pd.DataFrame) -> pd.DataFrame:
    """:attr:`Panel.sources`: a row per row of the file (when it has provenance columns) and per annual value made
    from sub-annual rows (its source, vintage and flag those of the latest row used, its rule in ``note``)."""
    if prov is None and made.empty:
        return pd.DataFrame(columns=SOURCE_COLUMNS)
    n = len(key)
    get = (lambda c, fill: prov[c]) if prov is not None else (lambda c, fill: np.full(n, fill, dtype=object))
    rows = pd.DataFrame({"unit": key.unit.to_numpy(), "year": years, "period": labels, "indicator": key.indicator.to_numpy(),
                         "source": get("source", ""), "vintage": get("vintage", ""), "flag": get("flag", "observed"),
                         "note": get("note", "")})
    if made.empty:
        return rows
    last = rows.set_index(["unit", "period", "indicator"])
    if prov is None:  # the file gives no provenance: only the rows made here
        rows = rows.iloc[:0]
    at = pd.MultiIndex.from_arrays([made["unit"], made["last_period"], made["indicator"]])
    used = last.reindex(at)
    rule = made["rule"] + np.where(made["note"] != "", ": " + made["note"], "")
    derived = pd.DataFrame({"unit": made["unit"].to_numpy(), "year": made["year"].to_numpy(),
                            "period": made["year"].astype(str).to_numpy(), "indicator": made["indicator"].to_numpy(),
                            "source": used["source"].fillna("").to_numpy(), "vintage": used["vintage"].fillna("").to_numpy(),
                            "flag": used["flag"].fillna("observed").to_numpy(),
                            "note": ("from sub-annual rows, " + rule).to_numpy()})
    return pd.concat([rows, derived], ignore_index=True)


def _order(wide: pd.DataFrame, unit_col: pd.Series) -> pd.DataFrame:
    """Rows in the file's order of first appearance of each unit, years ascending."""
    idx = wide.index
    rank = pd.Categorical(idx.get_level_values("unit"), categories=pd.unique(unit_col.to_numpy())).codes
    pos = _file_order(rank, idx.get_level_values("year").to_numpy())
    return wide if pos is None else wide.iloc[pos]


def _file_order(rank: np.ndarray, years: np.ndarray) -> np.ndarray | None:
    """Positions that sort rows by ``rank`` (the place of each row's unit in the file's order of first
    appearance), years ascending within a unit; None when the rows are in that order already (one
    linear pass, so an ordered file is not sorted)."""
    step = np.diff(rank)
    if ((step > 0) | ((step == 0) & (np.diff(years) > 0))).all():
        return None
    return np.lexsort((years, rank))


def _row_index(units: tuple[np.ndarray, pd.Index], years: np.ndarray) -> pd.MultiIndex:
    """The (unit, year) index of the rows from ``units`` coded by :func:`_codes` and the years."""
    ucodes, ulevel = units
    ycodes, ylevel = pd.factorize(years, sort=True)
    return pd.MultiIndex(levels=[ulevel, ylevel], codes=[ucodes, ycodes], names=["unit", "year"], verify_integrity=False)


def _attrs_from_rows(
    df: pd.DataFrame, ucol: str, years: np.ndarray, extra: list[str], ncol: str | None, index: pd.MultiIndex
) -> pd.DataFrame:
    if not extra:
        return pd.DataFrame(index=index)
    a = pd.DataFrame({c: df[c].astype(str).to_numpy() for c in extra})
    a["unit"] = df[ucol].to_numpy()
    a["year"] = years
    a = a.drop_duplicates(["unit", "year"]).set_index(["unit", "year"])
    if ncol is not None and ncol in a.columns:
        a = a.rename(columns={ncol: "unit_name"})
    return a.reindex(index)


def _from_wide(df: pd.DataFrame, name: str, spec: Spec | None) -> Panel:
    cols = list(df.columns)
    ucol = _unit_column(df, name)
    units = _codes(df[ucol], name, "unit")
    pcol = _find(cols, PERIOD_COLS)
    ncol = _find(cols, NAME_COLS)
    has_years = pcol is not None
    if has_years:
        years, labels, annual = _periods(df[pcol], name, pcol)
        if not annual.all():
            rows = [f"row {i + 2}" for i in np.flatnonzero(~annual)]
            raise DataError(f"{name}: sub-annual periods need the long layout (unit, period, indicator, value): {list_rows(rows)}")
    else:
        years = np.full(len(df), NO_YEAR)
    index = _row_index(units, years)
    if _repeats(index):
        dup = index.duplicated(keep=False)
        rows = [f"row {i + 2} ({index[i][0]}{' ' + str(index[i][1]) if has_years else ''})" for i in np.flatnonzero(dup)]
        hint = "" if has_years else f"; there is no period column ({', '.join(PERIOD_COLS)}): add one if the rows are different years"
        raise DataError(f"{name}: duplicated unit{' and year' if has_years else ''} at {list_rows(rows)}{hint}")
    row_units = level_values(index, "unit")  # of each row, for messages
    # rows in the file's order of first appearance of each unit, years ascending
    pos = _file_order(pd.factorize(np.asarray(index.codes[0]))[0], years) if len(index.levels[1]) > 1 else None
    spec_codes = set(spec.nodes) if spec is not None else set()
    dens = {n.denominator for n in spec.nodes.values() if n.denominator} if spec is not None else set()
    pct = _percent_units(spec)
    numeric: dict[str, np.ndarray] = {}
    text: list[str] = []
    gaps: dict[str, int] = {}
    for c in cols:
        if c in (ucol, pcol):
            continue
        if c == ncol:
            text.append(c)
            continue
        col = df[c]
        if c in spec_codes or c in dens or pd.api.types.is_numeric_dtype(col):
            numeric[c] = _rows(_parse_numbers(col, name, c, c in pct, row_units, gaps=gaps), pos)
            continue
        if not _mostly_numeric(col.head(1000)):
            text.append(c)
            continue
        try:
            counted: dict[str, int] = {}
            numeric[c] = _rows(_parse_numbers(col, name, c, False, row_units, gaps=counted), pos)
            for token, n in counted.items():
                gaps[token] = gaps.get(token, 0) + n
        except DataError:
            if spec is None and _mostly_numeric(col):
                raise
            text.append(c)
    if pos is not None:
        index = index[pos]
    # a block per column, sharing the arrays read (a float column of a Parquet file is Arrow's memory): no
    # copy of the data, and a table of some of the columns (the raw stage) is a view too
    columns = [pd.Series(v, index=index, name=c, copy=False) for c, v in numeric.items()]
    wide = side_by_side(columns) if columns else pd.DataFrame(index=index)
    attrs = pd.DataFrame(
        {("unit_name" if c == ncol else c): _rows(df[c].astype(str).array, pos) for c in text}, index=index
    )
    sources = pd.DataFrame(columns=SOURCE_COLUMNS)
    return Panel(wide, attrs, None, sources, name, "", has_years, quality=DataQuality(gaps))


def _repeats(index: pd.MultiIndex) -> bool:
    """Whether some (unit, year) of ``index`` repeats; one pass over the codes when they increase (a file
    sorted by unit and year), else a hash of every row."""
    key = np.asarray(index.codes[0], dtype=np.int64) * len(index.levels[1]) + np.asarray(index.codes[1])
    return not (np.diff(key) > 0).all() and bool(index.duplicated().any())


def _rows(values, pos: np.ndarray | None):
    """``values`` (an array) in the order ``pos`` (None: as they are)."""
    return values if pos is None else values.take(pos)


def _dated(values: pd.DataFrame, has_years: bool) -> pd.DataFrame:
    """The long table of dated values of a wide panel (each annual value dated 31 December)."""
    obs = values.stack(future_stack=True).rename("value").reset_index()
    obs.columns = ["unit", "year", "indicator", "value"]
    years = obs["year"].to_numpy()
    obs.insert(1, "period", obs["year"].astype(str) if has_years else "")
    dates = pd.to_datetime(pd.DataFrame({"year": years, "month": 12, "day": 31})) if has_years else pd.NaT
    obs.insert(2, "date", dates)
    return obs[["unit", "period", "date", "year", "indicator", "value"]]


def _mostly_numeric(col: pd.Series) -> bool:
    s = col.astype(str).str.strip()
    s = s[~s.str.lower().isin(NA_TOKENS)]
    if s.empty:
        return False
    return pd.to_numeric(s, errors="coerce").notna().mean() >= 0.8


def panel_from_frame(df: pd.DataFrame, spec: Spec | None = None, name: str = "<DataFrame>") -> Panel:
    """Build a Panel from an in-memory DataFrame in either layout (as a file would be read)."""
    df = df.copy()
    df.columns = [str(c) for c in df.columns]
    _check_header(list(df.columns), name)
    low = {c.lower() for c in df.columns}
    panel = _from_long(df, name, spec) if {"indicator", "value"} <= low else _from_wide(df, name, spec)
    if spec is not None:
        panel.check_against(spec)
    return panel


def warn_empty_nodes(spec: Spec, table: pd.DataFrame, file: str, dropped: tuple[str, ...] = ()) -> list[str]:
    """Warn (:class:`EmptyNodeWarning`) about each node of ``spec`` with no value in ``table``.

    An indicator is empty when no unit and year has a value; an aggregate when all its
    children are. Only the highest empty node of a branch is named (an empty dimension, not
    each of its indicators). An indicator in ``dropped`` (the data lacks it, and its own warning
    says so) is empty but not named again. Returns the codes named.
    """
    empty = {c for c in spec.indicators if not has_value(table[c])}
    for code in spec.aggregates:
        if all(c.code in empty for c in spec.nodes[code].children):
            empty.add(code)
    top = [c for c in spec.nodes if c in empty and spec.parents[c] not in empty and c not in dropped]
    for code in top:
        node = spec.nodes[code]
        if node.is_indicator:
            what = f"indicator {code!r} (under {spec.parents[code]!r})"
        else:
            inds = [c for c in spec.indicators if _under(spec, c, code)]
            what = f"node {code!r} (its indicators {list_rows(inds)})"
        warnings.warn(
            f"{file}: {what} has no value for any unit or year, so the scores above it are computed without it",
            EmptyNodeWarning,
            stacklevel=2,
        )
    return top


def has_gap(v: np.ndarray) -> bool:
    """Whether the float array ``v`` has a NaN: one pass without a temporary (``minimum`` propagates NaN, so its
    reduction is NaN when some value is)."""
    return v.size > 0 and bool(np.isnan(np.minimum.reduce(v, axis=None)))


def has_value(col: pd.Series | np.ndarray) -> bool:
    """Whether ``col`` has a value (not missing); for floats the first value, which decides almost every
    column, else one pass without a temporary (``fmax`` skips NaN, so it is NaN only when every value is)."""
    if col.dtype.kind == "f":
        v = col.to_numpy() if isinstance(col, pd.Series) else col  # (numpy's probing of a Series' attributes
        return v.size > 0 and (v[0] == v[0] or not np.isnan(np.fmax.reduce(v)))  # would look them up in its index)
    return bool(pd.Series(col).notna().any())


def _under(spec: Spec, code: str, ancestor: str) -> bool:
    while code is not None:
        if code == ancestor:
            return True
        code = spec.parents[code]
    return False
