"""A build folder read back: one reader for both layouts.

:func:`load_build` opens a folder written by ``index-engine build`` (or :meth:`Build.write`) and
returns a :class:`BuildFolder`, which reads each table on first use only. Everything that knows
how a build folder is laid out is here; ``diff``, the report, ``sensitivity --build`` and
``audit --build`` read through it.

Two layouts (``manifest.json`` names it under ``"layout"``):

``long csv`` (at most ``outputs.LARGE_ROWS`` unit-years)
    ``scores.csv`` (``unit, year, node, level, score, rank, change``), ``contributions.csv``,
    ``weights.csv``, ``fitted.csv``, ``treatment.csv``, ``imputed.csv``, ``units.csv``,
    ``grades.csv`` (with grades), ``targets.csv`` (with targets), ``coverage.csv`` (``unit, year, node,
    coverage``), ``provenance.csv`` and ``tables/<stage>.csv`` (``unit, year, indicator, value``).
``wide parquet (large build)``
    ``scores.parquet``, ``ranks.parquet`` (aggregates only), ``change.parquet`` (with more than one
    year) and ``tables/<stage>.parquet``, each a row per (unit, year) and a column per node;
    ``tables/same_as.json`` names the stages a step left unchanged (written once, under the first
    stage that had them); ``units.parquet``, ``treatment.parquet``, ``imputed.parquet``,
    ``grades.parquet``, ``coverage.parquet`` (the aggregates' coverage, wide), ``provenance.parquet``;
    ``weights.csv``, ``fitted.csv`` and ``targets.csv`` stay CSV.

Either layout holds ``manifest.json`` (written last: a folder without it is unfinished),
``spec.yaml`` (the spec as built, ``--set`` applied), ``log.json`` and, when they were asked for,
``audit/``, ``sensitivity/``, ``report/`` and ``results.xlsx``.

CSV files are read as UTF-8 with or without a byte-order mark, every cell as text first
(``keep_default_na=False``), so a unit code ``NA`` (Namibia), ``NULL``, ``None`` or ``nan`` stays
that code; only the numeric columns turn an empty cell (or ``nan``, ``NA``, ``NULL``, ...) into
NaN, and their numbers are parsed exactly (a float written in its shortest form reads back as the
same double). An empty ``year`` cell (a one-period build) reads as ``NO_YEAR``. Extra columns are
kept and never required.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping

import numpy as np
import pandas as pd

from ._checks import NO_YEAR
from .errors import DataError, SpecError
from .spec import Spec, load_spec
from .tables import default_weights, long_scores
from .targets import NUMERIC_COLUMNS as TARGET_NUMERIC
from .coverage import status_of, thresholds
from .panel import load_panel

if TYPE_CHECKING:
    from .panel import Panel
    from .result import Build

LONG = "long csv"
WIDE = "wide parquet (large build)"
LAYOUTS = (LONG, WIDE)
MANIFEST = "manifest.json"
SPEC = "spec.yaml"
LOG = "log.json"
SAME_AS = "same_as.json"
TABLES_DIR = "tables"
"""The folder of the stage tables."""
STAGE_ORDER = ("raw", "transformed", "denominated", "imputed", "screened", "treated", "normalized")

FILES: dict[str, dict[str, str]] = {
    LONG: {
        "scores": "scores.csv", "contributions": "contributions.csv", "weights": "weights.csv", "fitted": "fitted.csv",
        "treatment": "treatment.csv", "imputed": "imputed.csv", "units": "units.csv", "grades": "grades.csv",
        "targets": "targets.csv", "coverage": "coverage.csv", "provenance": "provenance.csv", "measures": "measures.csv",
    },
    WIDE: {
        "scores": "scores.parquet", "ranks": "ranks.parquet", "change": "change.parquet", "weights": "weights.csv",
        "fitted": "fitted.csv", "treatment": "treatment.parquet", "imputed": "imputed.parquet",
        "units": "units.parquet", "grades": "grades.parquet", "targets": "targets.csv",
        "coverage": "coverage.parquet", "provenance": "provenance.parquet", "measures": "measures.csv",
    },
}
"""The file of each table, by layout (tables/<stage> aside: :func:`stage_path`)."""


def stage_path(layout: str, stage: str) -> str:
    """Where a stage's table is written in a folder of ``layout``: ``tables/<stage>.csv``, or ``.parquet``."""
    return f"{TABLES_DIR}/{stage}.{'parquet' if layout == WIDE else 'csv'}"


REQUIRED = ("scores", "weights", "units")
"""Tables every finished build folder holds (besides spec.yaml and manifest.json)."""

NUMERIC: dict[str, tuple[str, ...]] = {
    "scores": ("level", "score", "rank", "change"),
    "contributions": ("contribution",),
    "weights": ("level", "nominal_weight", "weight", "effective_weight", "applied_weight", "applied_effective_weight"),
    "coverage": ("coverage",),
    "treatment": ("before", "after"),
    "imputed": ("value",),
    "grades": ("score",),
    "stage": ("value",),
    "targets": TARGET_NUMERIC,
    "measures": ("n_reports",),
}
"""Numeric columns of each table (the others stay text, unless read with ``auto``)."""
SENSITIVITY_NUMERIC: dict[str, tuple[str, ...]] = {
    "rank_stats": ("nominal_rank", "mean_rank", "median_rank", "q05_rank", "q95_rank",
                   "nominal_score", "q05_score", "q95_score"),
    "sobol": ("S1", "S1_lo", "S1_hi", "ST", "ST_lo", "ST_hi"),
    "importance": ("effective_weight", "r2", "eta2"),
    "remove_one": ("level", "mean_abs_rank_change", "max_abs_rank_change"),
}
"""Numeric columns of the tables of sensitivity/ (others of an unknown table: every all-number column)."""
TEXT = frozenset({"unit", "node", "indicator", "parent", "child", "pool", "segment", "name", "unit_name",
                  "unit_name_en", "node_name", "name_zh", "name_en", "tracked_unit", "x", "y", "other", "group",
                  "dimension", "method", "status", "flag", "source", "vintage", "note", "treatment", "how"})
"""Columns that are always text, whatever their cells look like (codes such as ``NA`` or ``0012``)."""
NULLS = frozenset({"", "nan", "NaN", "NAN", "-nan", "NA", "N/A", "n/a", "NULL", "null", "None", "<NA>", "#N/A"})
"""Cells of a numeric column that mean 'no value'."""
YEARS_FIRST = ("scores", "ranks", "change")
"""Tables with a row per (unit, year) and a column per node (the wide views)."""


# ---- cells ---------------------------------------------------------------------------------
def _numbers(col: pd.Series) -> np.ndarray | None:
    """The cells of a text column as exact doubles (NULLS → NaN), or as int64 when every cell is
    a whole number written without a point (as pandas reads them); None when one is not a number.

    A column held by Arrow is converted by Arrow (a correctly rounded parse, as Python's ``float``);
    a cell Arrow refuses (blanks around it, ``1_000``, other scripts' digits) sends the column to
    ``float`` itself, which decides."""
    arrow = _arrow_text(col)
    if arrow is None:
        vals = col.to_numpy(dtype=object)
        return _floats(vals, np.fromiter((v in NULLS for v in vals), dtype=bool, count=len(vals)))
    import pyarrow as pa
    import pyarrow.compute as pc

    null = pc.is_in(arrow, value_set=_arrow_nulls())
    some_null = bool(pc.any(null).as_py())
    try:
        v = pc.cast(pc.if_else(null, pa.scalar(None, pa.string()), arrow) if some_null else arrow, pa.float64())
    except pa.ArrowInvalid:
        return _floats(col.to_numpy(dtype=object), null.to_numpy(zero_copy_only=False))
    v = v.to_numpy(zero_copy_only=False)
    if len(v) and not some_null and np.all(np.abs(v) < 2**53) and not pc.any(pc.match_substring_regex(arrow, _NOT_WHOLE.pattern)).as_py():
        return v.astype(np.int64)
    return v


def _floats(vals: np.ndarray, null: np.ndarray) -> np.ndarray | None:
    """:func:`_numbers` of the cells ``vals`` (object), ``null`` marking those in NULLS, by Python's ``float``."""
    some_null = bool(null.any())
    try:
        v = (np.where(null, "nan", vals) if some_null else vals).astype(float)
    except (TypeError, ValueError):
        return None
    # every cell a number and none with a character other than digits, blanks and a sign: whole numbers
    if len(v) and not some_null and np.all(np.abs(v) < 2**53) and not _NOT_WHOLE.search("".join(vals)):
        return v.astype(np.int64)
    return v


def _arrow_text(col: pd.Series) -> Any:
    """The Arrow array of a text column pandas keeps in Arrow (its cells as they are, none missing), else None."""
    if getattr(col.dtype, "storage", None) != "pyarrow" or col.hasnans:
        return None
    import pyarrow as pa

    arr = pa.array(col.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type) else None


_NOT_WHOLE = re.compile(r"[^\d\s+-]")


@cache
def _arrow_nulls() -> Any:
    """NULLS as an Arrow array."""
    import pyarrow as pa

    return pa.array(sorted(NULLS))


def _first_bad(col: pd.Series) -> tuple[int, str]:
    for i, v in enumerate(col.to_numpy(dtype=object)):
        if v in NULLS:
            continue
        try:
            float(v)
        except (TypeError, ValueError):
            return i, str(v)
    return -1, ""


def _year_column(col: pd.Series) -> pd.Series | None:
    """Years as int64, an empty cell as NO_YEAR; None when a cell is not a whole number."""
    v = _numbers(col)
    if v is None:
        return None
    v = np.where(np.isnan(v), NO_YEAR, v)
    if not np.all(np.isfinite(v)) or not np.all(v == np.round(v)):
        return None
    return pd.Series(v.astype(np.int64), index=col.index, name=col.name)


def read_csv(path: str | Path, *, numeric: Iterable[str] = (), auto: bool = False,
             columns: Iterable[str] | None = None) -> pd.DataFrame:
    """A CSV a build wrote: text kept as text, ``numeric`` columns as exact floats, ``year`` as int.

    Parameters
    ----------
    path : the CSV file (UTF-8, with or without a byte-order mark)
    numeric : columns that must hold numbers (an empty cell, ``nan``, ``NA``, ``NULL`` ... is NaN)
    auto : also read as numbers the columns (not in :data:`TEXT`) whose every non-empty cell is a number
    columns : read only these columns (those present)

    Raises
    ------
    DataError
        The file is missing, cannot be decoded or parsed, or a ``numeric`` cell is not a number
        (naming the file, row and column).
    """
    path = Path(path)
    want = None if columns is None else set(columns)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig",
                         usecols=None if want is None else (lambda c: c in want))
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"{path}: cannot read it as a CSV file ({exc})") from None
    numeric = set(numeric)
    for c in df.columns:
        col = df[c]
        if c == "year":
            y = _year_column(col)
            if y is not None:
                df[c] = y
            continue
        if c in TEXT or (c not in numeric and not auto):
            continue
        v = _numbers(col)
        if v is not None:
            df[c] = v
        elif c in numeric:
            i, cell = _first_bad(col)
            raise DataError(f"{path}: row {i + 2}, column {c!r}: {cell!r} is not a number")
    return df


def read_parquet(path: str | Path, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """A Parquet file a build wrote (only ``columns``, those present, when given)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        f = pq.ParquetFile(path)
        names = f.schema_arrow.names
        cols = None if columns is None else [c for c in dict.fromkeys(columns) if c in names]
        return f.read(columns=cols).to_pandas()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: cannot read it as a Parquet file ({exc})") from None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None


# ---- the folder ----------------------------------------------------------------------------
def load_build(path: str | Path, spec: Spec | None = None) -> BuildFolder:
    """Open a finished build folder (either layout); tables are read when first asked for.

    ``spec``, the Spec the folder was just written from, is taken as its ``spec.yaml`` (not read
    again) when its hash is the manifest's ``spec_sha256``: the file holds those same values.

    Raises
    ------
    DataError
        The folder does not exist, lacks a file every build has (``manifest.json``, ``spec.yaml``,
        scores, weights, units), or its ``manifest.json`` is not valid.
    """
    d = Path(path)
    if not d.is_dir():
        raise DataError(f"{d}: no such build folder")
    manifest: dict[str, Any] = {}
    if (d / MANIFEST).is_file():
        manifest = _read_json(d / MANIFEST)
        if not isinstance(manifest, dict):
            raise DataError(f"{d / MANIFEST}: not a build manifest (a JSON object)")
    layout = manifest.get("layout")
    if layout is None:  # no manifest: say what is missing in the layout its files suggest
        layout = WIDE if (d / FILES[WIDE]["scores"]).is_file() and not (d / FILES[LONG]["scores"]).is_file() else LONG
    elif layout not in LAYOUTS:
        raise DataError(f"{d / MANIFEST}: unknown layout {layout!r} (known: {', '.join(map(repr, LAYOUTS))})")
    need = [FILES[layout][t] for t in REQUIRED] + [SPEC, MANIFEST]
    missing = [f for f in need if not (d / f).is_file()]
    if missing:
        raise DataError(f"{d}: not a finished build folder: {', '.join(missing)} missing")
    folder = BuildFolder(d, manifest, layout)
    if spec is not None and manifest.get("spec_sha256") == spec.hash():
        folder.__dict__["spec"] = spec.as_read_from(d / SPEC, folder._spec_base)  # what reading spec.yaml gives
    return folder


class TablesOnDemand(Mapping[str, pd.DataFrame]):
    """Tables by name, each read from its file the first time it is asked for (a report reads a few of
    the audit's and none of the uncertainty samples); a file that cannot be read raises then."""

    def __init__(self, files: dict[str, Path], read: Callable[[str, Path], pd.DataFrame]) -> None:
        self._files, self._read, self._tables = files, read, {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._tables:
            self._tables[name] = self._read(name, self._files[name])
        return self._tables[name]

    def __contains__(self, name: object) -> bool:  # without reading the table
        return name in self._files

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def __repr__(self) -> str:
        return f"TablesOnDemand({list(self._files)})"


class BuildFolder:
    """A finished build folder, read lazily (see :func:`load_build` and the module docstring).

    Wide views (``scores``, ``ranks``, ``change``, :meth:`table`) are DataFrames like the Build's:
    rows (unit, year) in the order of ``units``, a column per node; long views
    (:attr:`scores_long`, :meth:`table_long`) are as the CSV layout writes them.
    """

    def __init__(self, path: Path, manifest: dict[str, Any], layout: str):
        self.path = Path(path)
        self.manifest = manifest
        self.layout = layout

    def __repr__(self) -> str:
        return f"BuildFolder({str(self.path)!r}, layout={self.layout!r})"

    @property
    def is_large(self) -> bool:
        """True for the wide Parquet layout of a large (firm-level) build."""
        return self.layout == WIDE

    def file(self, table: str) -> Path:
        """The path of ``table`` (``scores``, ``weights``, ... see :data:`FILES`) in this layout."""
        try:
            return self.path / FILES[self.layout][table]
        except KeyError:
            raise KeyError(f"no table {table!r} in the {self.layout} layout") from None

    def stage_file(self, stage: str) -> Path:
        """The path of a stage table (``tables/<stage>.csv`` or ``.parquet``; an unchanged stage's
        Parquet is the earlier stage's, see ``same_as.json``; the normalised indicators are the
        indicator columns of ``scores.parquet``)."""
        target = self._same_as.get(stage, stage) if self.is_large else stage
        return self.file("scores") if target == "scores" else self.path / stage_path(self.layout, target)

    def has(self, table: str) -> bool:
        return table in FILES[self.layout] and self.file(table).is_file()

    # ---- spec, log and structure ---------------------------------------------------------
    @cached_property
    def spec(self) -> Spec:
        """The spec the build ran (``spec.yaml``, ``--set`` applied).

        Its ``base_dir`` is the original spec's folder (the manifest's ``spec_file``), so that
        ``data.file`` and ``freeze_normalization`` resolve as they did for the build. The data
        file need not exist: reading the spec never opens it.
        """
        try:
            return load_spec(self.path / SPEC, base_dir=self._spec_base)
        except SpecError as exc:
            raise DataError(str(exc)) from None  # the message names the folder's spec.yaml

    @property
    def _spec_base(self) -> Path:
        """The folder relative paths in the spec (``data.file``, ``freeze_normalization``) start at: the
        original spec's, as the manifest records it, else the build folder's."""
        base = self.recorded_inputs.get("base_dir")
        origin = self.manifest.get("spec_file")
        if not base and isinstance(origin, str) and origin and not origin.startswith("<"):
            base = Path(origin).parent
        return Path(base) if base else self.path

    @property
    def recorded_inputs(self) -> dict[str, Any]:
        """``manifest.json`` ``inputs`` (written by :func:`index_engine.job.recorded_inputs`): the spec's
        folder, the data file and sheet read, every ``--set`` and the options; empty for older folders."""
        inputs = self.manifest.get("inputs")
        return inputs if isinstance(inputs, dict) else {}

    @cached_property
    def log(self) -> list[dict[str, Any]]:
        """``log.json``: one dict per step (empty when the file is absent)."""
        p = self.path / LOG
        if not p.is_file():
            return []
        log = _read_json(p)
        if not isinstance(log, list):
            raise DataError(f"{p}: not a build log (a JSON list)")
        return log

    @cached_property
    def units(self) -> pd.DataFrame:
        """``unit, unit_name`` and the units' text attributes, ``reference`` (bool) and, in the long
        layout, ``dropped_years``; a row per unit in the order of the data file."""
        if self.is_large:
            u = read_parquet(self.file("units"))
        else:
            u = read_csv(self.file("units"))
        if "unit" not in u.columns:
            raise DataError(f"{self.file('units')}: column 'unit' missing")
        u["unit"] = u["unit"].astype(str)
        if "reference" in u.columns:
            u["reference"] = u["reference"].map(lambda v: str(v).strip().lower() in ("true", "1", "yes"))
        else:
            u["reference"] = u["unit"].isin(self.spec.reference_units)
        return u

    def unit_names(self) -> dict[str, str]:
        """``{unit: name}`` (the code where the data gave no name)."""
        u = self.units
        names = u["unit_name"] if "unit_name" in u.columns else u["unit"]
        return {c: (n if isinstance(n, str) and n else c) for c, n in zip(u["unit"], names)}

    @cached_property
    def index(self) -> pd.MultiIndex:
        """The (unit, year) rows of the scores, in the order of ``units`` then year."""
        if self.is_large:
            units, years = self.row_keys
            return pd.MultiIndex.from_arrays([units, years], names=["unit", "year"])
        s = self.scores_long
        return self._ordered(pd.MultiIndex.from_frame(s[["unit", "year"]]).unique())

    @cached_property
    def row_keys(self) -> tuple[np.ndarray, np.ndarray]:
        """:attr:`index` as two arrays, unit codes (object) and years (int64), without building it
        in the wide layout (cheaper for a million rows)."""
        if self.is_large:
            units, years = self._keys(self.file("scores"))
            return units.to_numpy(zero_copy_only=False), years
        idx = self.index
        return idx.get_level_values("unit").to_numpy(dtype=object), idx.get_level_values("year").to_numpy(dtype=np.int64)

    def _ordered(self, idx: pd.MultiIndex) -> pd.MultiIndex:
        """``idx`` sorted as a Build's rows: units in the order of units.csv (others after, as met), years ascending."""
        units = idx.get_level_values("unit")
        pos = pd.Index(self.units["unit"]).get_indexer(units)
        first = pd.factorize(units)[0]
        pos = np.where(pos >= 0, pos, len(self.units) + first)
        order = np.lexsort((idx.get_level_values("year").to_numpy(), pos))
        return idx[order]

    @property
    def years(self) -> tuple[int, ...]:
        """The years of the scores, ascending (``(NO_YEAR,)`` for a one-period build)."""
        ys = sorted(int(y) for y in np.unique(self.row_keys[1]))
        return tuple(ys) or (NO_YEAR,)

    @property
    def has_years(self) -> bool:
        return self.years != (NO_YEAR,)

    @cached_property
    def stages(self) -> tuple[str, ...]:
        """The stage tables the folder holds, in pipeline order (unchanged stages included)."""
        d = self.path / TABLES_DIR
        ext = ".parquet" if self.is_large else ".csv"
        found = [p.stem for p in d.glob(f"*{ext}")] if d.is_dir() else []
        found += list(self._same_as)
        known = [s for s in STAGE_ORDER if s in found]
        return tuple(known + sorted(s for s in set(found) if s not in STAGE_ORDER))

    @cached_property
    def _same_as(self) -> dict[str, str]:
        p = self.path / TABLES_DIR / SAME_AS
        if not self.is_large or not p.is_file():
            return {}
        m = _read_json(p)
        if not isinstance(m, dict):
            raise DataError(f"{p}: not a mapping of stage to stage")
        return {str(k): str(v) for k, v in m.items()}

    # ---- wide views ----------------------------------------------------------------------
    def _keys(self, path: Path) -> tuple[Any, np.ndarray]:
        """Unit codes (an arrow string array) and years (int64) of the rows of a wide Parquet file,
        read once per file."""
        import pyarrow as pa
        import pyarrow.compute as pc

        cache = self.__dict__.setdefault("_row_keys_of", {})
        if path not in cache:
            f = self._parquet_file(path)
            names = f.schema_arrow.names if f is not None else []
            if f is None:
                raise DataError(f"{path}: no such file")
            if "unit" not in names:
                raise DataError(f"{path}: column 'unit' missing")
            t = self._guard(path, lambda: f.read(columns=["unit"] + (["year"] if "year" in names else [])))
            units = t.column("unit").combine_chunks()
            if pa.types.is_dictionary(units.type):
                units = units.dictionary_decode()
            if not pa.types.is_string(units.type):
                units = pc.cast(units, pa.string())
            years = t.column("year").to_numpy().astype(np.int64) if "year" in names else np.full(len(units), NO_YEAR, np.int64)
            cache[path] = (units, years)
        return cache[path]

    def _parquet_file(self, path: Path) -> Any:
        """The open ``pyarrow.parquet.ParquetFile`` of ``path`` (None when it is absent), opened once per folder."""
        import pyarrow.parquet as pq

        files = self.__dict__.setdefault("_parquet_files", {})
        if path not in files:
            files[path] = self._guard(path, lambda: pq.ParquetFile(path)) if path.is_file() else None
        return files[path]

    @staticmethod
    def _guard(path: Path, read: Any) -> Any:
        import pyarrow as pa

        try:
            return read()
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{path}: cannot read it as a Parquet file ({exc})") from None

    def _parquet_wide(self, path: Path, columns: list[str] | None) -> pd.DataFrame:
        """A wide Parquet file as a frame on (unit, year); rows that are the scores' reuse :attr:`index`."""
        f = self._parquet_file(path)
        if f is None:
            raise DataError(f"{path}: no such file")
        names = [c for c in f.schema_arrow.names if c not in ("unit", "year")]
        cols = names if columns is None else [c for c in columns if c in names]
        t = self._guard(path, lambda: f.read(columns=cols))
        data = {c: t.column(c).to_numpy() for c in cols}
        if columns is None:  # a text column beside the codes (names) is not a node
            data = {c: v for c, v in data.items() if v.dtype.kind in "fiub"}
        if self._positions(path) is None:
            index = self.index
        else:
            units, years = self._keys(path)
            index = pd.MultiIndex.from_arrays([units.to_numpy(zero_copy_only=False), years], names=["unit", "year"])
        out = pd.DataFrame({c: v.astype(float) for c, v in data.items()}, index=index)
        return out if columns is None else out.reindex(columns=columns)

    def _long_wide(self, long: pd.DataFrame, key: str, value: str, path: Path, order: Iterable[str]) -> pd.DataFrame:
        """A long table (unit, year, key, value) as wide: rows as the scores, columns in ``order``."""
        for c in ("unit", key, value):
            if c not in long.columns:
                raise DataError(f"{path}: column {c!r} missing")
        if "year" not in long.columns:
            long = long.assign(year=NO_YEAR)
        try:
            wide = long.pivot(index=["unit", "year"], columns=key, values=value)
        except ValueError:
            dup = long[long.duplicated(["unit", "year", key], keep=False)]
            first = dup.iloc[0]
            raise DataError(f"{path}: ({first['unit']}, {first['year']}, {first[key]}) appears more than once") from None
        present = list(wide.columns)
        cols = [c for c in order if c in present] + [c for c in present if c not in set(order)]
        wide = wide.reindex(columns=cols)
        wide.columns.name = None
        return wide.reindex(self._ordered(wide.index))

    def wide(self, table: str, columns: Iterable[str] | None = None) -> pd.DataFrame:
        """``scores``, ``ranks``, ``change`` or a stage as a wide frame (only ``columns`` when given).

        Ranks of indicators are not in the wide layout (its ``ranks.parquet`` holds the
        aggregates'): their columns are absent there.
        """
        cols = None if columns is None else list(columns)
        if table in YEARS_FIRST:
            if self.is_large:
                p = self.file(table)
                if table == "change" and not p.is_file():  # one year: no change
                    base = self._parquet_wide(self.file("scores"), cols)
                    return pd.DataFrame(np.nan, index=base.index, columns=base.columns)
                return self._parquet_wide(p, cols)
            value = {"scores": "score", "ranks": "rank", "change": "change"}[table]
            w = self._long_wide(self.scores_long, "node", value, self.file("scores"), self._node_order)
            w = w.astype(float)
            return w if cols is None else w.reindex(columns=cols)
        if table not in self.stages:
            raise DataError(f"{self.path}: no stage table {table!r}; the stages are {', '.join(self.stages) or 'none'}")
        if self.is_large:
            if cols is None and self._same_as.get(table) == "scores":  # the indicator columns of scores.parquet
                cols = list(self.spec.indicators)
            return self._parquet_wide(self.stage_file(table), cols)
        cache = self.__dict__.setdefault("_stage_wide", {})
        if table not in cache:
            long = self.table_long(table)
            cache[table] = self._long_wide(long, "indicator", "value", self.stage_file(table), self.spec.indicators).astype(float)
        w = cache[table]
        return w.copy() if cols is None else w.reindex(columns=cols)

    @property
    def _node_order(self) -> list[str]:
        return list(self.spec.indicators) + list(self.spec.aggregates)

    @cached_property
    def scores(self) -> pd.DataFrame:
        """Scores, rows (unit, year), a column per node (indicators, then aggregates)."""
        return self.wide("scores")

    @cached_property
    def ranks(self) -> pd.DataFrame:
        """Ranks within the year (1 = best) like ``scores``; aggregates only in the wide layout."""
        return self.wide("ranks")

    @cached_property
    def change(self) -> pd.DataFrame:
        """Score minus the previous year's, like ``scores``."""
        return self.wide("change")

    def table(self, stage: str) -> pd.DataFrame:
        """The wide table of a stage (``raw`` ... ``normalized``), or ``scores``."""
        return self.scores if stage == "scores" else self.wide(stage)

    @property
    def ranked_nodes(self) -> tuple[str, ...]:
        """The nodes whose ranks the folder holds (every node in the long layout, aggregates in the wide)."""
        return tuple(self.spec.aggregates) if self.is_large else tuple(self._node_order)

    def column(self, table: str, code: str) -> np.ndarray | None:
        """One column (a node) of ``scores``, ``ranks``, ``change`` or a stage as floats aligned to
        :attr:`index`; None when the folder does not have it. In the wide layout only that column
        is read from its Parquet file."""
        if table not in YEARS_FIRST and table not in self.stages:
            return None
        if not self.is_large:
            w = getattr(self, table) if table in YEARS_FIRST else self.wide(table)
            return w[code].reindex(self.index).to_numpy(dtype=float) if code in w.columns else None
        p = self.file(table) if table in YEARS_FIRST else self.stage_file(table)
        v = self._parquet_column(p, code)
        return None if v is None else self._align(p, v.astype(float))

    def _parquet_column(self, path: Path, column: str) -> np.ndarray | None:
        """One column of a Parquet file of the folder as a numpy array (None when absent)."""
        f = self._parquet_file(path)
        if f is None or column not in f.schema_arrow.names:
            return None
        return self._guard(path, lambda: f.read(columns=[column]).column(column).to_numpy())

    def _align(self, path: Path, values: np.ndarray) -> np.ndarray:
        """``values`` (rows of the file ``path``) on the rows of :attr:`index`, NaN where absent."""
        pos = self._positions(path)
        if pos is None:
            return values
        out = np.full(len(pos), np.nan)
        ok = pos >= 0
        out[ok] = values[pos[ok]]
        return out

    def _positions(self, path: Path) -> np.ndarray | None:
        """Row of the wide-layout file ``path`` for each row of :attr:`index` (None when the rows are the same)."""
        cache = self.__dict__.setdefault("_rowmaps", {})
        if path not in cache:
            units, years = self._keys(path)
            mine_u, mine_y = self._keys(self.file("scores"))
            if len(units) == len(mine_u) and np.array_equal(years, mine_y) and units.equals(mine_u):
                cache[path] = None
            else:
                there = pd.MultiIndex.from_arrays([units.to_numpy(zero_copy_only=False), years])
                cache[path] = there.get_indexer(self.index)
        return cache[path]

    # ---- long views ----------------------------------------------------------------------
    def _long(self, table: str, numeric: Iterable[str] = (), auto: bool = False,
              columns: Iterable[str] | None = None) -> pd.DataFrame:
        p = self.file(table)
        if p.suffix == ".parquet":
            df = read_parquet(p, columns)
            if "year" in df.columns:
                df["year"] = df["year"].astype(np.int64)
            return df
        return read_csv(p, numeric=numeric, auto=auto, columns=columns)

    @cached_property
    def scores_long(self) -> pd.DataFrame:
        """``unit, year, node, level, score, rank, change`` (rank Int64) for every node, unit and year."""
        if not self.is_large:
            s = self._long("scores", NUMERIC["scores"])
            for c in ("unit", "node", "score"):
                if c not in s.columns:
                    raise DataError(f"{self.file('scores')}: column {c!r} missing")
            if "year" not in s.columns:
                s["year"] = NO_YEAR
            for c in ("level", "rank", "change"):
                if c not in s.columns:
                    s[c] = np.nan
        else:
            s = long_scores(self.spec, self.scores, self.ranks, self.change)
        s["rank"] = pd.array(np.round(s["rank"].to_numpy(dtype=float)), dtype="Int64") if len(s) else s["rank"].astype("Int64")
        if "status" not in s.columns:  # the wide layout, or a folder written before it: from coverage and publish
            s["status"] = status_of(self.spec, self.coverage if thresholds(self.spec) else None, s)
        return s

    def table_long(self, stage: str) -> pd.DataFrame:
        """``unit, year, indicator, value`` of a stage."""
        if stage not in self.stages:
            raise DataError(f"{self.path}: no stage table {stage!r}; the stages are {', '.join(self.stages) or 'none'}")
        if self.is_large:
            w = self.wide(stage)
            out = w.stack(future_stack=True).rename("value").reset_index()
            out.columns = ["unit", "year", "indicator", "value"]
            return out
        return read_csv(self.stage_file(stage), numeric=NUMERIC["stage"])

    def _optional(self, table: str, numeric: Iterable[str] = (), auto: bool = False) -> pd.DataFrame | None:
        return self._long(table, numeric, auto) if self.has(table) else None

    @cached_property
    def weights(self) -> pd.DataFrame:
        """``weights.csv``: ``node, parent, level, nominal_weight, weight, effective_weight`` (+ ``segment`` ...)."""
        return self._long("weights", NUMERIC["weights"])

    def effective_weights(self) -> pd.Series:
        """The default weights' effective weight of each node (segment weight sets left out)."""
        return default_weights(self.weights).set_index("node")["effective_weight"]

    @cached_property
    def fitted(self) -> pd.DataFrame:
        """``fitted.csv``: ``indicator, pool`` and each fitted parameter (empty without it)."""
        return self._optional("fitted", auto=True) if self.has("fitted") else pd.DataFrame()

    @cached_property
    def contributions(self) -> pd.DataFrame | None:
        """``unit, year, parent, child, contribution`` (long layout only; None in the wide one)."""
        return self._optional("contributions", NUMERIC["contributions"])

    @cached_property
    def treatment(self) -> pd.DataFrame:
        """``unit, year, indicator, treatment, before, after`` (empty when the file is absent)."""
        return self._optional("treatment", NUMERIC["treatment"]) if self.has("treatment") else pd.DataFrame()

    @cached_property
    def imputed(self) -> pd.DataFrame:
        """``unit, year, indicator, method, value`` (empty when the file is absent)."""
        return self._optional("imputed", NUMERIC["imputed"]) if self.has("imputed") else pd.DataFrame()

    @cached_property
    def grades(self) -> pd.DataFrame | None:
        """``unit, year, node, score, grade`` (None without grades)."""
        return self._optional("grades", NUMERIC["grades"])

    def grades_column(self) -> np.ndarray | None:
        """The grade of each row of :attr:`index` (object array, None where a row has none), or
        None without grades. In the wide layout only the grade column is read."""
        if not self.has("grades"):
            return None
        p = self.file("grades")
        if self.is_large:
            vals = self._parquet_column(p, "grade")
            if vals is None:
                return None
            vals = vals.astype(object)
            pos = self._positions(p)
            if pos is not None:
                vals = np.where(pos >= 0, vals[np.maximum(pos, 0)] if len(vals) else None, None)
        else:
            g = self._long("grades", columns=["unit", "year", "grade"])
            if not {"unit", "grade"} <= set(g.columns):
                return None
            if "year" not in g.columns:
                g["year"] = NO_YEAR
            s = pd.Series(g["grade"].to_numpy(dtype=object), index=pd.MultiIndex.from_frame(g[["unit", "year"]]))
            vals = s[~s.index.duplicated()].reindex(self.index).to_numpy(dtype=object)
        vals = np.asarray(vals, dtype=object)
        vals[pd.isna(vals) | (vals == "")] = None
        return vals

    @cached_property
    def coverage(self) -> pd.DataFrame | None:
        """``unit, year, node, coverage`` (coverage.csv; a large build's coverage.parquet holds the
        aggregates); None in a folder written before coverage was recorded."""
        if not self.has("coverage"):
            return None
        if self.is_large:
            w = self._parquet_wide(self.file("coverage"), None)
            out = w.stack(future_stack=True).rename("coverage").reset_index()
            out.columns = ["unit", "year", "node", "coverage"]
            return out
        return self._long("coverage", NUMERIC["coverage"])

    @cached_property
    def provenance(self) -> pd.DataFrame | None:
        """``unit, year, indicator, flag, source, vintage, note, treatment, how`` (provenance.csv: the exceptions,
        a first row ``*`` for what holds for the whole file; see :mod:`index_engine.provenance`); None in a
        folder written before provenance was recorded."""
        if not self.has("provenance"):
            return None
        p = self.file("provenance")
        df = read_parquet(p) if p.suffix == ".parquet" else read_csv(p)
        if len(df) and "year" in df.columns and not pd.api.types.is_integer_dtype(df["year"]):  # years as numbers, '*' (every value) kept
            df["year"] = [y if y == "*" else (NO_YEAR if y in ("", None) else int(y)) for y in df["year"]]
        return df

    @cached_property
    def notice(self) -> dict[str, Any]:
        """The build's data notice (manifest.json ``notice``: ``zh``, ``en``, ``illustrative``; see
        :func:`index_engine.outputs.data_notice`); empty texts in a folder written before it was recorded."""
        n = self.manifest.get("notice")
        n = n if isinstance(n, dict) else {}
        return {"zh": str(n.get("zh") or ""), "en": str(n.get("en") or ""), "illustrative": bool(n.get("illustrative"))}

    @cached_property
    def targets(self) -> pd.DataFrame | None:
        """``targets.csv`` (None when the build tracked no targets)."""
        return self._optional("targets", NUMERIC["targets"])

    @cached_property
    def measures(self) -> pd.DataFrame | None:
        """``measures.csv``: the plan's measures and milestones with their reported status (None without ``measures:``)."""
        return self._optional("measures", NUMERIC["measures"])

    # ---- analyses added to the build -----------------------------------------------------
    def _csv_dir(self, name: str, numeric: dict[str, tuple[str, ...]]) -> TablesOnDemand | None:
        """The CSVs of a sub-folder by stem: the columns ``numeric`` names for a stem as numbers,
        or, for a stem it does not name, every all-number column; each read when first asked for."""
        d = self.path / name
        if not d.is_dir():
            return None
        return TablesOnDemand(
            {p.stem: p for p in sorted(d.glob("*.csv"))},
            lambda stem, p: read_csv(p, numeric=numeric.get(stem, ()), auto=stem not in numeric),
        )

    @cached_property
    def audit(self) -> TablesOnDemand | None:
        """The tables of ``audit/`` by file stem, every all-number column as numbers (None without it)."""
        return self._csv_dir("audit", {})

    @cached_property
    def audit_json(self) -> dict[str, Any] | None:
        p = self.path / "audit" / "audit.json"
        return _read_json(p) if p.is_file() else None

    @cached_property
    def sensitivity(self) -> TablesOnDemand | None:
        """The tables of ``sensitivity/`` by file stem (None without it)."""
        return self._csv_dir("sensitivity", SENSITIVITY_NUMERIC)

    @cached_property
    def sensitivity_manifest(self) -> dict[str, Any] | None:
        p = self.path / "sensitivity" / MANIFEST
        return _read_json(p) if p.is_file() else None

    @property
    def has_report(self) -> bool:
        return (self.path / "report").is_dir()

    # ---- rebuilding ----------------------------------------------------------------------
    def data_file(self, data: str | Path | None = None) -> Path:
        """The data file this build read: ``data`` when given, else the one the manifest records (as
        given at build time, so relative to the folder the build ran from) or the spec's data file;
        refused unless its SHA-256 is the manifest's ``data_sha256``."""
        want = self.manifest.get("data_sha256")
        cands: list[Path] = []
        if data is not None:
            cands.append(Path(data))
        else:
            for recorded in (self.recorded_inputs.get("data_file"), self.manifest.get("data_file")):
                if isinstance(recorded, str) and recorded and not recorded.startswith("<"):
                    cands.append(Path(recorded))
            if self.spec.data is not None and self.spec.data.file is not None:
                cands.append(Path(os.path.normpath(self.spec.base_dir / self.spec.data.file)))
        found = [p for p in dict.fromkeys(cands) if p.is_file()]
        if not found:
            shown = ", ".join(str(p) for p in cands) or "none recorded"
            raise DataError(f"{self.path}: the data file it was built from is not there ({shown}); pass --data FILE")
        for p in found:
            if not want or _sha256(p) == want:
                return p
        raise DataError(
            f"{found[0]}: not the data {self.path} was built from (its SHA-256 differs from the manifest's "
            f"data_sha256 {str(want)[:12]}...); build again or pass the original file with --data"
        )

    def inputs(self, data: str | Path | None = None, sheet: str | None = None) -> tuple[Spec, Panel]:
        """The spec and the data the build was made from (see :meth:`data_file`)."""
        spec = self.spec
        want = self.manifest.get("spec_sha256")
        if want and spec.hash() != want:
            raise DataError(f"{self.path / SPEC}: changed since the build (its hash is not the manifest's spec_sha256)")
        path = self.data_file(data)
        recorded = self.recorded_inputs.get("sheet")
        sheet = sheet or (recorded if isinstance(recorded, str) and recorded else None) or (
            spec.data.sheet if spec.data is not None else None)
        return spec, load_panel(path, spec, sheet=sheet)

    def check_same(self, b: Build, *, tol: float = 1e-9) -> None:
        """DataError unless ``b`` has this folder's rows and scores (within ``tol``)."""
        mine = self.scores
        theirs = b.scores.reindex(index=mine.index, columns=mine.columns)
        if len(b.scores) != len(mine) or theirs.index.has_duplicates or not b.scores.index.isin(mine.index).all():
            raise DataError(f"{self.path}: a build of its spec and data has other (unit, year) rows than the folder")
        a, c = mine.to_numpy(dtype=float), theirs.to_numpy(dtype=float)
        bad = ~((np.isnan(a) & np.isnan(c)) | (np.abs(a - c) <= tol))
        if bad.any():
            i, j = map(int, np.argwhere(bad)[0])
            u, y = mine.index[i]
            raise DataError(
                f"{self.path}: a build of its spec and data does not reproduce its scores ({int(bad.sum())} differ, "
                f"first {u} {y} {mine.columns[j]}: {a[i, j]!r} in the folder, {c[i, j]!r} rebuilt)"
            )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
