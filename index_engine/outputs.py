"""Writing a Build to a folder: CSV tables, Excel workbook, log and manifest, atomically."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._checks import NO_YEAR
from .atomic import LOCK, write_folder  # noqa: F401 - write_folder: imported from here by the sensitivity writer

if TYPE_CHECKING:
    from .audit import Audit
    from .result import Build
    from .sensitivity import SensitivityResult

EXCEL_MAX_ROWS = 20_000
"""Tables longer than this get a sheet naming their CSV instead (Excel's own limit is 1,048,576 rows,
but a workbook of millions of cells is slow to write and to open)."""
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading apostrophe (OWASP CSV injection)."""
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            bad = [v for v in pd.unique(col) if isinstance(v, str) and v.startswith(_FORMULA_START)]
            if bad:
                mask = col.isin(bad)
                out[c] = col.where(~mask, "'" + col.astype(str))
    return out


def _blank_year(df: pd.DataFrame, has_years: bool) -> pd.DataFrame:
    if "year" in df.columns and not has_years:
        df = df.copy()
        df["year"] = df["year"].map(lambda y: "" if y == NO_YEAR else y)
    return df


def long_table(wide: pd.DataFrame, value: str = "value") -> pd.DataFrame:
    out = wide.stack(future_stack=True).rename(value).reset_index()
    out.columns = ["unit", "year", "indicator", value]
    return out


def write_csv(df: pd.DataFrame, path: Path, has_years: bool) -> int:
    """UTF-8 CSV; floats in their shortest exact form (they read back as the same doubles)."""
    df = safe_text(_blank_year(df, has_years))
    if len(df) > 50_000:  # Arrow's writer is about ten times faster than pandas'
        import pyarrow as pa
        import pyarrow.csv as pacsv

        table = pa.Table.from_pandas(df.astype({c: str for c in df.columns if df[c].dtype == object}), preserve_index=False)
        pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))
    else:
        df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return len(df)


def _write_excel(sheets: dict[str, pd.DataFrame | str], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    for name, df in sheets.items():
        ws = wb.create_sheet(title=name[:31])
        if isinstance(df, str):
            ws.append([df])
            continue
        ws.append([str(c) for c in df.columns])
        for row in df.itertuples(index=False, name=None):
            cells = []
            for v in row:
                if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
                    cells.append(None)
                elif isinstance(v, str):
                    cell = WriteOnlyCell(ws, value=v)
                    cell.data_type = "s"  # never a formula, whatever the text starts with
                    cells.append(cell)
                elif isinstance(v, (np.integer,)):
                    cells.append(int(v))
                elif isinstance(v, (np.floating,)):
                    cells.append(float(v))
                else:
                    cells.append(v)
            ws.append(cells)
    wb.save(path)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def output_tables(b: Build) -> dict[str, pd.DataFrame]:
    """Every per-build table, by file stem, as it is written."""
    spec = b.spec
    scores = b.scores_long()
    contrib = b.contributions
    w = b.weights
    names = b.panel.unit_names()
    units = pd.DataFrame({"unit": list(names), "unit_name": list(names.values())})
    extra = b.panel.attrs.drop(columns=["unit_name"], errors="ignore")
    if not extra.empty:  # text attributes of each unit (English names, groups), first value per unit
        first = extra.groupby(level="unit", sort=False).first()
        units = units.join(first, on="unit")
    units["reference"] = units["unit"].isin(spec.reference_units)
    dropped: dict[str, list[str]] = {}
    for u, y in b.dropped:
        dropped.setdefault(u, []).append("all" if y == NO_YEAR else str(y))
    units["dropped_years"] = units["unit"].map(lambda u: ";".join(dropped.get(u, [])))
    out = {
        "scores": scores,
        "contributions": contrib,
        "weights": w,
        "treatment": b.treatment,
        "imputed": b.imputed,
        "fitted": b.fitted,
        "units": units,
    }
    if not b.targets.empty:
        out["targets"] = b.targets
    if b.spec.grades is not None:
        out["grades"] = b.grades
    return out


def fill_folder(
    b: Build, d: Path, *, excel: bool | None = None, audit: Audit | None = None,
    sensitivity: SensitivityResult | None = None, inputs: dict[str, Any] | None = None,
) -> None:
    """Write ``b``'s build folder into the existing (temporary) folder ``d``: the tables, ``results.xlsx``,
    ``audit/`` and ``sensitivity/`` when given, then ``spec.yaml``, ``log.json`` and ``manifest.json``.

    The results are computed by the caller (:func:`index_engine.job.run_build`); ``inputs`` is what the
    manifest records for a rebuild (:func:`index_engine.job.recorded_inputs`).
    """
    counts = _write_into(b, d, excel, audit)
    if sensitivity is not None:
        sensitivity.write(d / "sensitivity")
    _finish(b, d, counts, inputs)


LARGE_ROWS = 5_000
"""Above this many unit-years, per-unit tables are written wide as Parquet only (a firm-level build), and results.xlsx
holds summaries (score distribution, the top units, weights, log)."""


def _wide_frame(wide: pd.DataFrame, has_years: bool) -> pd.DataFrame:
    out = wide.reset_index()
    if not has_years:
        out = out.drop(columns="year")
    return out


def _write_large(b: Build, d: Path, excel: bool | None) -> dict[str, int]:
    """Parquet (wide) per-unit tables and an Excel workbook of summaries, for firm-level builds."""
    hy = b.panel.has_years
    counts: dict[str, int] = {}
    (d / "tables").mkdir()
    # ranks of the aggregates only: indicator ranks of a million firms are rarely wanted and cost
    # a sort each (Build.ranks has them all)
    frames = {"scores": b.scores, "ranks": b.ranks_of(list(b.spec.aggregates))}
    if hy and len(b.panel.years) > 1:
        frames["change"] = b.change
    for stem, wide in frames.items():
        _wide_frame(wide, hy).to_parquet(d / f"{stem}.parquet", index=False)
        counts[f"{stem}.parquet"] = len(wide)
    previous: tuple[str, pd.DataFrame] | None = None
    same_as: dict[str, str] = {}
    for stage, wide in b.tables.items():
        if previous is not None and wide is previous[1]:  # a step that changed nothing
            same_as[stage] = same_as.get(previous[0], previous[0])
            continue
        _wide_frame(wide, hy).to_parquet(d / "tables" / f"{stage}.parquet", index=False)
        counts[f"tables/{stage}.parquet"] = len(wide)
        previous = (stage, wide)
    if same_as:
        (d / "tables" / "same_as.json").write_text(json.dumps(same_as, indent=1), encoding="utf-8")
    units = b.panel.attrs.groupby(level="unit", sort=False).first().reset_index()
    units.to_parquet(d / "units.parquet", index=False)
    counts["units.parquet"] = len(units)
    for stem in ("treatment", "imputed") + (("grades",) if b.spec.grades is not None else ()):
        df = getattr(b, stem)
        df.to_parquet(d / f"{stem}.parquet", index=False)
        counts[f"{stem}.parquet"] = len(df)
    for stem, df in (("weights", b.weights), ("fitted", b.fitted)):
        counts[f"{stem}.csv"] = write_csv(df, d / f"{stem}.csv", hy)
    if not b.targets.empty:
        counts["targets.csv"] = write_csv(b.targets, d / "targets.csv", hy)
    if excel is not False:
        _write_excel(summary_sheets(b), d / "results.xlsx")
    return counts


def summary_sheets(b: Build) -> dict[str, pd.DataFrame | str]:
    """Sheets for a build too large for a row per unit: distribution by year, top 100, weights, log."""
    idx = b.spec.tree.code
    s = b.scores[idx]
    dist = s.groupby(level="year").describe(percentiles=[0.05, 0.25, 0.5, 0.75, 0.95]).reset_index()
    last = max(b.panel.years)
    top = s.xs(last, level="year").sort_values(ascending=False).head(100).rename("score").reset_index()
    top.insert(0, "rank", range(1, len(top) + 1))
    log = pd.DataFrame([st.as_dict() for st in b.log]).astype(str)
    extra: dict[str, pd.DataFrame] = {}
    if b.spec.grades is not None:
        g = b.grades
        by = [g["year"]]
        seg_col = b.spec.segments.column if b.spec.segments else None
        if seg_col and seg_col in b.panel.attrs.columns:
            by.append(pd.Series(b.panel.attrs[seg_col].reindex(b.scores.index).to_numpy(), name=seg_col))
        extra["grades_by_segment"] = g.groupby(by + [g["grade"]]).size().unstack(fill_value=0).reset_index()
    return {
        **extra,
        "distribution": dist,
        f"top100_{last}": top,
        "weights": b.weights,
        "log": log,
        "note": f"{len(b.scores)} unit-years: per-unit tables are in scores.parquet, ranks.parquet and tables/*.parquet",
    }


def _write_into(b: Build, d: Path, excel: bool | None, audit: Audit | None) -> dict[str, int]:
    """The tables (both layouts), ``results.xlsx`` and ``audit/``; returns the row count of each file."""
    hy = b.panel.has_years
    if audit is not None:
        audit.write(d / "audit")
    if len(b.scores) > LARGE_ROWS:
        return _write_large(b, d, excel)
    counts: dict[str, int] = {}
    tables = output_tables(b)
    extra_sheets: dict[str, pd.DataFrame] = {}
    if audit is not None:
        extra_sheets.update({f"audit_{k}": v for k, v in audit.sheets().items()})
    for stem, df in tables.items():
        counts[f"{stem}.csv"] = write_csv(df, d / f"{stem}.csv", hy)
    (d / "tables").mkdir()
    stage_long: dict[str, pd.DataFrame] = {}
    for stage, wide in b.tables.items():
        lt = long_table(wide)
        stage_long[stage] = lt
        counts[f"tables/{stage}.csv"] = write_csv(lt, d / "tables" / f"{stage}.csv", hy)
    write_excel = excel if excel is not None else True
    if write_excel:
        sheets: dict[str, pd.DataFrame | str] = {}
        for stem, df in tables.items():
            df = _blank_year(df, hy)
            sheets[stem] = df if len(df) <= EXCEL_MAX_ROWS else f"{len(df)} rows: see {stem}.csv"
        for stage, df in stage_long.items():
            df = _blank_year(df, hy)
            sheets[stage] = df if len(df) <= EXCEL_MAX_ROWS else f"{len(df)} rows: see tables/{stage}.csv"
        for name, df in extra_sheets.items():
            sheets[name] = df if len(df) <= EXCEL_MAX_ROWS else f"{len(df)} rows: see the CSV"
        _write_excel(sheets, d / "results.xlsx")
    return counts


def _finish(b: Build, d: Path, counts: dict[str, int], inputs: dict[str, Any] | None = None) -> None:
    """spec.yaml, log.json and manifest.json (with every file's SHA-256), written last.

    ``spec.yaml`` is the spec as built (``--set`` applied, ``data:`` naming the file and sheet read);
    ``manifest.json`` ``inputs`` records the rest a rebuild needs (see :func:`index_engine.job.recorded_inputs`).
    """
    hy = b.panel.has_years
    (d / "spec.yaml").write_text(b.spec.to_yaml(), encoding="utf-8")
    (d / "log.json").write_text(json.dumps([s.as_dict() for s in b.log], ensure_ascii=False, indent=1), encoding="utf-8")
    manifest: dict[str, Any] = {
        "index": b.spec.index.id,
        "name_en": b.spec.index.name_en,
        "name_zh": b.spec.index.name_zh,
        "package_version": b.version,
        "spec_file": b.spec.source,
        "spec_sha256": b.spec.hash(),
        "data_file": b.panel.file,
        "data_sha256": b.panel.sha256,
        "units": b.panel.n_units,
        "years": [int(y) for y in b.panel.years] if hy else [],
        "indicators": len(b.spec.indicators),
        "timings_s": b.timings,
        "rows": counts,
        "layout": "wide parquet (large build)" if len(b.scores) > LARGE_ROWS else "long csv",
        "warnings": list(b.warnings),
        "inputs": inputs,
        "files": {},
    }
    for p in sorted(d.rglob("*")):
        if p.is_file() and p.name != LOCK:
            manifest["files"][str(p.relative_to(d))] = _sha(p)
    (d / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
