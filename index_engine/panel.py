"""The panel: indicator data, units × years × indicators, read once and validated.

Accepted files: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030 as Chinese Excel saves it), Excel
``.xlsx`` (one sheet, ``sheet=`` picks it) and Parquet, in either layout:

* long: ``unit, period, indicator, value`` (``year`` accepted for ``period``), optional
  ``source``, ``vintage``, ``unit_name`` and group columns;
* wide: ``unit``, optional ``period``/``year``, one column per indicator, optional
  ``unit_name``, group (text) and denominator (number) columns. COINr's iData (``uCode``,
  ``uName``, ``Time``) is read as it is.

Builds are annual. A period such as ``2025Q1`` or ``2025-03`` is kept in
:attr:`Panel.observations` (every dated value) for what needs it, such as target baselines.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._checks import NO_YEAR, list_rows
from .errors import DataError

if TYPE_CHECKING:
    from .spec import Spec

UNIT_COLS = ("unit", "ucode", "unit_code", "code")
NAME_COLS = ("unit_name", "uname", "name")
PERIOD_COLS = ("period", "year", "time")
NA_TOKENS = {"", "na", "n/a", "nan", "null", "none", "-", "—", "--", "..", "…", "#n/a"}
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
        ``unit, year, indicator, source, vintage`` where the file gives them.
    """

    values: pd.DataFrame
    attrs: pd.DataFrame
    _observations: pd.DataFrame | None = field(repr=False)
    sources: pd.DataFrame = field(repr=False)
    file: str = "<memory>"
    sha256: str = ""
    has_years: bool = True
    _checked: set = field(default_factory=set, compare=False, repr=False)

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
        codes = np.asarray(idx.codes[k])
        _, first = np.unique(codes, return_index=True)
        return list(idx.levels[k][codes[np.sort(first)]])

    @cached_property
    def n_units(self) -> int:
        """How many units (without listing them)."""
        idx = self.values.index
        return int(np.unique(np.asarray(idx.codes[idx.names.index("unit")])).size)

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

    def unit_names(self) -> dict[str, str]:
        if "unit_name" not in self.attrs:
            return {u: u for u in self.units}
        names = self.attrs["unit_name"].groupby(level="unit").first()
        return {u: (names.get(u) if isinstance(names.get(u), str) and names.get(u) else u) for u in self.units}

    def check_against(self, spec: Spec) -> None:
        """Every spec indicator and denominator is in the data, and every unit has some data.

        A panel remembers what it passed, so a build after ``load_panel(path, spec)`` does not
        check the same indicators twice."""
        dens = tuple(sorted({n.denominator for n in spec.nodes.values() if n.denominator}))
        key = (spec.indicators, dens if spec.steps.denominate.method != "none" else ())
        if key in self._checked:
            return
        self._check(spec)
        self._checked.add(key)

    def _check(self, spec: Spec) -> None:
        missing = [c for c in spec.indicators if c not in self.values.columns]
        if missing:
            raise DataError(
                f"{self.file}: the spec {spec.source} names indicators the data lacks: {list_rows(missing)}"
            )
        dens = sorted({n.denominator for n in spec.nodes.values() if n.denominator})
        if spec.steps.denominate.method != "none":
            lacking = [d for d in dens if d not in self.values.columns]
            if lacking:
                raise DataError(f"{self.file}: denominator columns the spec names are missing: {list_rows(lacking)}")
        ind = self.values[list(spec.indicators)]
        has = ind.notna().to_numpy().any(axis=1)
        codes, uniq = pd.factorize(ind.index.get_level_values("unit"), sort=False)
        any_data = np.bincount(codes, weights=has, minlength=len(uniq)) > 0
        empty = list(np.asarray(uniq)[~any_data])
        if empty:
            raise DataError(f"{self.file}: these units have no data for any indicator of the spec: {list_rows(empty)}")


def _decode(raw: bytes, path: str) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise DataError(f"{path}: the file is neither UTF-8 nor GBK/GB18030 text")


def _read_table(path: Path, sheet: str | int | None) -> pd.DataFrame:
    name = str(path)
    if not path.exists():
        raise DataError(f"{name}: no such data file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm", ".xls"):
            try:
                book = pd.ExcelFile(path, engine="openpyxl")
            except Exception as exc:  # openpyxl raises many types for a broken file
                raise DataError(f"{name}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
            sheets = book.sheet_names
            if sheet is None:
                sheet = sheets[0]
            elif sheet not in sheets:
                raise DataError(f"{name}: no sheet {sheet!r}; the sheets are {', '.join(map(repr, sheets))}")
            df = pd.read_excel(book, sheet_name=sheet, dtype=object)
            df = df.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else v)
        elif suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        else:
            text = _decode(path.read_bytes(), name)
            if not text.strip():
                raise DataError(f"{name}: the file is empty")
            df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
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
    dup = [c for c in df.columns if list(df.columns).count(c) > 1]
    if dup:
        raise DataError(f"{name}: duplicated column names: {list_rows(sorted(set(dup)))}")
    return df


def _find(cols: list[str], names: tuple[str, ...]) -> str | None:
    low = {c.lower(): c for c in cols}
    for n in names:
        if n in low:
            return low[n]
    return None


def _parse_numbers(
    col: pd.Series, name: str, column: str, percent_ok: bool, rows: np.ndarray | None = None, what: str = ""
) -> np.ndarray:
    """Parse text cells to floats; a cell that is not a number is an error naming its file row.

    ``rows`` are the file row numbers of the cells (default: header on row 1, data from row 2).
    """
    col = col.reset_index(drop=True)
    if rows is None:
        rows = np.arange(len(col)) + 2
    if pd.api.types.is_numeric_dtype(col):
        return col.to_numpy(dtype=float)
    s = col.astype(str).str.strip()
    missing = s.str.lower().isin(NA_TOKENS)
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
    inf = np.isinf(arr)
    if inf.any():
        idx = np.flatnonzero(inf)
        where = [f"row {rows[i]}" for i in idx[:6]]
        raise DataError(f"{name}: column {column!r}{what}: infinite value at {list_rows(where, total=idx.size)}")
    return arr


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


def _periods(col: pd.Series, name: str, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, period label, is annual) for every row, parsing each distinct value once."""
    codes, uniq = pd.factorize(col.astype(str) if col.dtype != object else col.map(str), sort=False)
    parsed: list[tuple[int, str, bool]] = []
    bad = []
    for u in uniq:
        try:
            parsed.append(parse_period(u))
        except ValueError:
            bad.append(u)
            parsed.append((0, "", False))
    if bad:
        badset = set(bad)
        rows = [f"row {i + 2} ({uniq[c]!r})" for i, c in enumerate(codes) if uniq[c] in badset]
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


def load_panel(path: str | Path, spec: Spec | None = None, sheet: str | int | None = None) -> Panel:
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
    """
    path = Path(path)
    name = str(path)
    df = _read_table(path, sheet)
    cols = list(df.columns)
    lower = {c.lower() for c in cols}
    if {"indicator", "value"} <= lower:
        panel = _from_long(df, name, spec)
    else:
        panel = _from_wide(df, name, spec)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    panel = Panel(panel.values, panel.attrs, panel._observations, panel.sources, name, digest, panel.has_years)
    if spec is not None:
        panel.check_against(spec)
    return panel


def _unit_column(df: pd.DataFrame, name: str) -> str:
    ucol = _find(list(df.columns), UNIT_COLS)
    if ucol is None:
        raise DataError(
            f"{name}: no unit column; name one of {', '.join(UNIT_COLS)} (columns are {list_rows(list(df.columns))})"
        )
    units = df[ucol].astype(str).str.strip()
    blank = units.isin(["", "nan", "None"])
    if blank.any():
        rows = [f"row {i + 2}" for i in np.flatnonzero(blank.to_numpy())]
        raise DataError(f"{name}: column {ucol!r}: empty unit at {list_rows(rows)}")
    df[ucol] = units
    return ucol


def _from_long(df: pd.DataFrame, name: str, spec: Spec | None) -> Panel:
    cols = list(df.columns)
    ucol = _unit_column(df, name)
    low = {c.lower(): c for c in cols}
    icol, vcol = low["indicator"], low["value"]
    pcol = _find(cols, PERIOD_COLS)
    ncol = _find(cols, NAME_COLS)
    df[icol] = df[icol].astype(str).str.strip()
    has_years = pcol is not None
    if has_years:
        years, labels, annual = _periods(df[pcol], name, pcol)
    else:
        years = np.full(len(df), NO_YEAR)
        labels = np.full(len(df), "", dtype=object)
        annual = np.ones(len(df), bool)
    pct = _percent_units(spec)
    values = np.empty(len(df))
    for ind, idx in df.groupby(icol, sort=False).indices.items():
        values[idx] = _parse_numbers(df[vcol].iloc[idx], name, vcol, ind in pct, idx + 2, f" (indicator {ind!r})")
    key = pd.DataFrame({"unit": df[ucol].to_numpy(), "period": labels, "indicator": df[icol].to_numpy()})
    dup = key.duplicated(keep=False).to_numpy()
    if dup.any():
        rows = [f"row {i + 2} ({key.unit[i]}, {key.period[i] or '-'}, {key.indicator[i]})" for i in np.flatnonzero(dup)]
        raise DataError(f"{name}: duplicated (unit, period, indicator) at {list_rows(rows)}")
    obs = pd.DataFrame(
        {
            "unit": key.unit,
            "period": labels,
            "date": [_period_end(p) if p else pd.NaT for p in labels],
            "year": years,
            "indicator": key.indicator,
            "value": values,
        }
    )
    ann = obs[annual]
    wide = ann.pivot(index=["unit", "year"], columns="indicator", values="value")
    wide = _order(wide, df[ucol])
    wide.columns.name = None
    extra = [c for c in cols if c not in {ucol, icol, vcol, pcol} and c.lower() not in ("source", "vintage")]
    attrs = _attrs_from_rows(df.loc[annual], ucol, years[annual], extra, ncol, wide.index)
    src_cols = [low[c] for c in ("source", "vintage") if c in low]
    sources = pd.DataFrame(
        {"unit": key.unit, "year": years, "period": labels, "indicator": key.indicator}
        | {c.lower(): df[c].to_numpy() for c in src_cols}
    )
    return Panel(wide.astype(float), attrs, obs, sources, name, "", has_years)


def _order(wide: pd.DataFrame, unit_col: pd.Series) -> pd.DataFrame:
    """Rows in the file's order of first appearance of each unit, years ascending."""
    idx = wide.index
    first = pd.unique(unit_col.to_numpy())
    keys = pd.Categorical(idx.get_level_values("unit"), categories=first).codes
    pos = np.lexsort((idx.get_level_values("year").to_numpy(), keys))
    if (np.diff(pos) == 1).all():
        return wide
    return wide.iloc[pos]


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
    key = pd.DataFrame({"unit": df[ucol].to_numpy(), "year": years})
    dup = key.duplicated(keep=False).to_numpy()
    if dup.any():
        rows = [f"row {i + 2} ({key.unit[i]}{' ' + str(key.year[i]) if has_years else ''})" for i in np.flatnonzero(dup)]
        raise DataError(f"{name}: duplicated unit{' and year' if has_years else ''} at {list_rows(rows)}")
    spec_codes = set(spec.nodes) if spec is not None else set()
    dens = {n.denominator for n in spec.nodes.values() if n.denominator} if spec is not None else set()
    pct = _percent_units(spec)
    numeric: dict[str, np.ndarray] = {}
    text: list[str] = []
    for c in cols:
        if c in (ucol, pcol):
            continue
        if c == ncol:
            text.append(c)
            continue
        col = df[c]
        if c in spec_codes or c in dens:
            numeric[c] = _parse_numbers(col, name, c, c in pct)
            continue
        if pd.api.types.is_numeric_dtype(col):
            numeric[c] = col.to_numpy(dtype=float)
            continue
        if not _mostly_numeric(col.head(1000)):
            text.append(c)
            continue
        try:
            numeric[c] = _parse_numbers(col, name, c, False)
        except DataError:
            if spec is None and _mostly_numeric(col):
                raise
            text.append(c)
    index = pd.MultiIndex.from_arrays([key.unit.to_numpy(), years], names=["unit", "year"])
    wide = pd.DataFrame(numeric, index=index)
    wide = _order(wide, df[ucol]) if has_years else wide
    attrs = pd.DataFrame({("unit_name" if c == ncol else c): df[c].astype(str).to_numpy() for c in text}, index=index)
    attrs = attrs.reindex(wide.index)
    sources = pd.DataFrame(columns=["unit", "year", "period", "indicator"])
    return Panel(wide.astype(float), attrs, None, sources, name, "", has_years)


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
    low = {c.lower() for c in df.columns}
    panel = _from_long(df, name, spec) if {"indicator", "value"} <= low else _from_wide(df, name, spec)
    if spec is not None:
        panel.check_against(spec)
    return panel
