"""``index-engine validate SPEC [--data FILE] [--out DIR]``: every problem of a data file in one pass.

:func:`validate_data` reads the spec and the data collecting problems instead of stopping at the first
(:func:`index_engine.panel.load_panel` with ``problems=``): bad flags and vintages, duplicates, indicators the
data lacks (grouped by dimension), unknown units, and what reading found (indicators the spec does not name,
gap tokens, sub-annual rules applied, duplicates settled, series breaks; :func:`index_engine.dataquality.findings`).
It adds two coverage matrices: for the tracked unit, each indicator by year (the flag of each value, ``''``
missing); for every unit, each dimension's coverage in the latest year as the build will compute it (the share
of nominal weight backed by observed data, which the publication threshold is compared with). A file that
cannot be read at all is one error, and so is data the build could not take as far as its denominators.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .atomic import write_folder
from .coverage import coverage_of, observed_cells
from .dataquality import findings, group_by_dimension
from .errors import DataError, IndexEngineError
from .flags import FLAGS
from .job import data_path
from .outputs import write_csv
from .pipeline import STAGE_TABLE, upstream
from .panel import Panel, load_panel, resolve_units
from .spec import Spec, load_spec


@dataclass
class ValidationReport:
    """What :func:`validate_data` found: ``errors`` and ``warnings`` (messages) and the tables written by ``--out``."""

    spec: Any
    panel: Any
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def write(self, out: str | Path, force: bool = False) -> Path:
        """The tables as CSV files in the folder ``out``, written at once (:func:`index_engine.atomic.write_folder`);
        the year is blank for data without a period column, as in a build folder."""
        has_years = self.panel is None or self.panel.has_years

        def fill(d: Path) -> None:
            for name, df in self.tables.items():
                write_csv(df, d / f"{name}.csv", has_years)

        return write_folder(out, fill, force=force)


def validate_data(spec: str | Path, data: str | Path | None = None, *, sheet: str | None = None,
                  overrides: Mapping[str, Any] | None = None) -> ValidationReport:
    """Check ``spec`` and its data (``data``, or the spec's ``data.file``) and report every problem."""
    s = load_spec(spec, overrides=dict(overrides or {}))
    path, sheet = data_path(s, data, sheet, str(spec))
    problems: list[str] = []
    try:
        panel = load_panel(path, s, sheet=sheet, problems=problems)
    except DataError as exc:
        report = ValidationReport(s, None, [str(exc)])
        report.tables["problems"] = _problems(report)
        return report
    report = ValidationReport(s, panel, list(problems))
    if not problems:
        s = resolve_units(s, panel)
        report.spec = s
    for f in findings(s, panel):
        (report.warnings if f.warning is not None else report.notes).append(f.text)
    report.tables = {
        "problems": _problems(report),
        "missing_indicators": _missing(s, panel),
        "gaps": pd.DataFrame(sorted(panel.quality.gaps.items()), columns=["token", "cells"]),
        "sub_annual": panel.quality.annualised,
        "duplicates": panel.quality.duplicates,
        "breaks": panel.breaks,
    }
    try:
        report.tables["coverage_units"] = unit_coverage(s, panel)
    except IndexEngineError as exc:  # the data cannot be taken as far as the denominators: a build would stop here
        report.errors.append(str(exc))
        report.tables["problems"] = _problems(report)
    tracked = _tracked(s, panel)
    if tracked is not None:
        report.tables["coverage_tracked"] = tracked_matrix(s, panel, tracked)
    return report


def _problems(r: ValidationReport) -> pd.DataFrame:
    rows = [("error", m) for m in r.errors] + [("warning", m) for m in r.warnings] + [("note", m) for m in r.notes]
    return pd.DataFrame(rows, columns=["severity", "message"])


def _missing(spec: Spec, panel: Panel) -> pd.DataFrame:
    policy = spec.data.on_missing_indicator if spec.data is not None else "error"
    rows = [(c, dim, "dropped" if policy == "warn" else "error")
            for dim, codes in group_by_dimension(spec, panel.missing_indicators(spec)).items() for c in codes]
    return pd.DataFrame(rows, columns=["indicator", "dimension", "status"])


def _tracked(spec: Spec, panel: Panel) -> str | None:
    if spec.tracking is None:
        return None
    return panel.unit_code(spec.tracking.unit)


def flags_of(spec: Spec, panel: Panel) -> pd.DataFrame:
    """The flag of every annual value of the spec's indicators, rows (unit, year), columns indicators: the
    file's flag (``observed`` when it gives none), ``''`` where there is no value."""
    codes = [c for c in spec.indicators if c in panel.values.columns]
    values = panel.values[codes]
    out = pd.DataFrame(np.where(values.notna(), "observed", ""), index=values.index, columns=codes)
    s = panel.sources
    if not s.empty:
        s = s[(s["period"] == s["year"].astype(str)) & s["indicator"].isin(codes)]
        s = s.drop_duplicates(["unit", "year", "indicator"], keep="last")
        flags = s.pivot(index=["unit", "year"], columns="indicator", values="flag").reindex(index=out.index, columns=codes)
        out = out.where((out == "") | flags.isna(), flags)
    return out.reindex(columns=list(spec.indicators), fill_value="")


def tracked_matrix(spec: Spec, panel: Panel, unit: str) -> pd.DataFrame:
    """Indicators × years for ``unit``: each value's flag, ``''`` missing."""
    f = flags_of(spec, panel)
    f = f[f.index.get_level_values("unit") == unit].droplevel("unit").reindex(panel.years, fill_value="").T
    f.columns = [str(y) for y in f.columns]
    return f.rename_axis("indicator").reset_index()


def unit_coverage(spec: Spec, panel: Panel) -> pd.DataFrame:
    """Units × dimensions for the latest year: the build's coverage of each dimension, the share of its
    nominal weight backed by observed data, which the publication threshold is compared with
    (:func:`index_engine.coverage.coverage_of` of the data's raw and denominated tables, as the build
    computes it); 0 for a unit without a row that year."""
    dims = [c.code for c in spec.tree.children]
    with warnings.catch_warnings():  # the build says them; validation reports the data's own problems
        warnings.simplefilter("ignore")
        stages = upstream(spec, panel, until="denominate")
    tables = {STAGE_TABLE[stage]: res.table for stage, res in stages.items()}
    index = tables["raw"].index
    if not len(index):
        return pd.DataFrame(columns=["unit", "year", *dims])
    cov = coverage_of(spec, observed_cells(spec, panel, tables, index), index, dims)
    latest = max(index.get_level_values("year"))
    cov = cov.xs(latest, level="year").reindex(panel.units, fill_value=0.0)
    return cov.rename_axis("unit").reset_index().assign(year=latest)[["unit", "year", *dims]]


def print_report(r: ValidationReport, spec_file: str) -> None:
    """The report on stdout (problems on stderr as ``error: ...`` / ``warning: ...``)."""
    import sys

    p = r.panel
    where = f"{p.file} ({p.n_units} units, {len(p.years)} years)" if p is not None else "data"
    status = "OK" if r.ok else f"{len(r.errors)} error{'s' * (len(r.errors) != 1)}"
    print(f"{spec_file}: spec OK ({len(r.spec.indicators)} indicators); {where}: {status}, "
          f"{len(r.warnings)} warning{'s' * (len(r.warnings) != 1)}")
    for m in r.errors:
        print(f"error: {m}", file=sys.stderr)
    for m in r.warnings:
        print(f"warning: {m}", file=sys.stderr)
    for m in r.notes:
        print(f"  {m}")
    if p is None:
        return
    letters = {name: f.sdmx[0] for name, f in FLAGS.items()}
    t = r.tables.get("coverage_tracked")
    if t is not None and not t.empty:
        years = [c for c in t.columns if c != "indicator"]
        print(f"coverage of {r.spec.tracking.unit} (indicator × year; {', '.join(f'{v} {k}' for k, v in letters.items())}, . missing):")
        print("  " + " " * 8 + " ".join(y[-4:].rjust(4) for y in years))
        for row in t.itertuples(index=False):
            cells = [letters.get(v, "?") if v else "." for v in row[1:]]
            print(f"  {str(row[0])[:8]:<8}" + " ".join(c.rjust(4) for c in cells))
    u = r.tables.get("coverage_units")
    if u is not None and not u.empty:
        dims = [c for c in u.columns if c not in ("unit", "year")]
        print(f"observed share of each dimension's weight, {u['year'].iloc[0]} (unit × dimension):")
        print("  " + " " * 10 + " ".join(str(d)[:6].rjust(6) for d in dims))
        for row in u.head(40).itertuples(index=False):
            print(f"  {str(row[0])[:10]:<10}" + " ".join(f"{v:6.0%}" if v == v else "     -" for v in row[2:]))
        if len(u) > 40:
            print(f"  ... {len(u) - 40} more units (--out writes them all)")
