"""Writing a Build to a folder: CSV tables, Excel workbook, log and manifest, atomically."""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from ._native import numeric_settings, release_memory
from ._checks import NO_YEAR
from .folder import FILES, LOG, LONG, MANIFEST, SAME_AS, SPEC, TABLES_DIR, WIDE, stage_path
from .panel import has_gap, level_values, unit_count
from .atomic import LOCK
from .parallel import fork_call
from .xlsx import write_xlsx
from .coverage import FLAG_NAMES, aggregate_coverage, coverage_long, latest_vintage, observation_shares
from .provenance import provenance_table
from .flags import FLAGS

XLSX = "results.xlsx"
"""The workbook of a build folder."""

if TYPE_CHECKING:
    from .audit import Audit
    from .result import Build
    from .spec import Spec
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


def blank_year(df: pd.DataFrame, has_years: bool) -> pd.DataFrame:
    """``df`` with its ``year`` blank where there is none (a one-period index), as every table shows it."""
    if "year" in df.columns and not has_years:
        df = df.copy()
        df["year"] = df["year"].map(lambda y: "" if y == NO_YEAR else y)
    return df


def long_table(wide: pd.DataFrame, value: str = "value") -> pd.DataFrame:
    out = wide.stack(future_stack=True).rename(value).reset_index()
    out.columns = ["unit", "year", "indicator", value]
    return out


CSV_ENCODING = "utf-8-sig"
"""Every CSV is UTF-8 with a byte-order mark, so Excel opens Chinese text correctly on a double-click.
pandas, pyarrow and R's readr skip the mark; Python's csv module and base R's read.csv need
``encoding="utf-8-sig"`` / ``fileEncoding="UTF-8-BOM"``."""


def escape_formula(v: Any) -> Any:
    """One cell as :func:`safe_text` writes it: text a spreadsheet would run as a formula gets a leading apostrophe."""
    return "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v


def write_rows(columns: Sequence[str], rows: Iterable[Sequence[Any]], path: Path) -> int:
    """A small table given as Python rows, written as :func:`write_csv` writes a frame (:data:`CSV_ENCODING`,
    ``\\n`` line ends, formula-like text escaped, floats in their shortest exact form, a missing value
    empty) without building a DataFrame: the report's downloads are hundreds of such tables."""
    n = 0
    with open(path, "w", encoding=CSV_ENCODING, newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow([escape_formula(c) for c in columns])
        for r in rows:
            w.writerow(["" if v is None or (isinstance(v, float) and v != v) else escape_formula(v) for v in r])
            n += 1
    return n


def write_csv(df: pd.DataFrame, path: Path, has_years: bool = True, *, float_format: str | None = None) -> int:
    """Write ``df`` as the project writes every CSV: :data:`CSV_ENCODING`, ``\\n`` line ends, text that a
    spreadsheet would run as a formula escaped (:func:`safe_text`), the year blank for a one-period
    index, and floats in their shortest exact form (they read back as the same doubles) unless
    ``float_format`` rounds them. Returns the number of rows."""
    df = safe_text(blank_year(df, has_years))
    if len(df) > 50_000 and float_format is None:  # Arrow's writer is about ten times faster than pandas'
        import pyarrow as pa
        import pyarrow.csv as pacsv

        table = pa.Table.from_pandas(df.astype({c: str for c in df.columns if df[c].dtype == object}), preserve_index=False)
        with open(path, "wb") as f:
            f.write(codecs.BOM_UTF8)
            pacsv.write_csv(table, f, pacsv.WriteOptions(quoting_style="needed"))
    else:
        df.to_csv(path, index=False, encoding=CSV_ENCODING, lineterminator="\n", float_format=float_format)
    return len(df)


def _write_excel(sheets: dict[str, pd.DataFrame | str], path: Path, title: str = "") -> None:
    """One sheet per table (see :mod:`index_engine.xlsx`); a text in place of a table becomes a one-cell
    sheet headed ``note``."""
    frames = {name: pd.DataFrame({"note": [v]}) if isinstance(v, str) else v for name, v in sheets.items()}
    write_xlsx(frames, path, title=title)


def _sha(path: Path) -> str:
    with open(path, "rb") as f:  # streamed: a large file is not held in memory
        return hashlib.file_digest(f, "sha256").hexdigest()


def _shas(paths: list[Path]) -> list[str]:
    """:func:`_sha` of each file, on a thread per core (hashlib releases the GIL while it hashes)."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return list(pool.map(_sha, paths))


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
    nodes = node_names(spec)
    scores = with_names(with_names(scores, "unit", names, "unit_name"), "node", nodes, "node_name")
    out = {
        "scores": scores,
        "coverage": coverage_long(b.coverage),
        "provenance": provenance_table(b),
        "contributions": contrib,
        "weights": with_names(w, "node", nodes, "node_name"),
        "treatment": b.treatment,
        "imputed": b.imputed,
        "fitted": b.fitted,
        "units": units,
    }
    if not b.targets.empty:
        out["targets"] = b.targets
    if b.spec.measures:
        out["measures"] = b.measures
    if b.spec.grades is not None:
        out["grades"] = b.grades
    return out


def node_names(spec: Spec) -> dict[str, str]:
    """Each node's name in the index's language (:attr:`IndexMeta.lang`), else in the other one, else empty."""
    first, second = ("name_zh", "name_en") if spec.index.lang == "zh" else ("name_en", "name_zh")
    return {c: getattr(n, first) or getattr(n, second) for c, n in spec.nodes.items()}


def with_names(df: pd.DataFrame, column: str, names: dict[str, str], name_column: str) -> pd.DataFrame:
    """``df`` with ``name_column`` (the name of each row's ``column`` code, empty when unnamed) right after ``column``."""
    out = df.copy()
    out.insert(out.columns.get_loc(column) + 1, name_column, [names.get(c, "") for c in out[column]])
    return out


def data_notice(b: Build) -> dict[str, Any]:
    """What every result says about its data, from the data itself: ``{"zh": ..., "en": ..., "illustrative": bool}``.

    The statement gives the data's date (the latest ``vintage`` of the file, else its years), the share of
    the indicator-years (the build's rows × the spec's indicators) observed (flags that count as observed,
    :func:`index_engine.flags.counts_as_observed`) and the share of each flag present, imputed and missing.
    When the file flags values ``illustrative``, the statement opens with a warning not to cite the results
    (``illustrative`` True), and only then: a build on a user's own data never calls itself illustrative.
    This is THE notice of the console summary, results.xlsx's 说明 sheet, manifest.json and every report page
    (the spec's deprecated ``index.notice_zh`` / ``notice_en`` are not used).
    """
    shares = observation_shares(b)
    vintage = latest_vintage(b.panel)
    years = [int(y) for y in b.panel.years] if b.panel.has_years else []
    span = f"{years[0]}–{years[-1]}" if len(years) > 1 else (str(years[0]) if years else "")
    parts = [(f, FLAGS[f].zh, FLAGS[f].en) for f in FLAG_NAMES if f in shares]
    parts += [(k, zh, en) for k, zh, en in (("imputed", "插补", "imputed"), ("missing", "缺失", "missing")) if shares[k] > 0]
    obs_zh, obs_en = _percent(shares["counted"], "zh"), _percent(shares["counted"], "en")
    if vintage:
        zh, en = f"数据截至{vintage}（数据文件中最新的发布日期）", f"Data as of {vintage} (the latest publication date in the data file)"
    elif span:
        zh, en = f"数据年份{span}（数据文件未注明发布日期）", f"Data for {span} (the data file gives no publication dates)"
    else:
        zh, en = "数据文件未注明发布日期", "The data file gives no publication dates"
    each_zh = "，".join(z + _percent(shares[k], "zh") for k, z, _ in parts)
    each_en = ", ".join(e + " " + _percent(shares[k], "en") for k, _, e in parts)
    zh += f"；{obs_zh}的指标-年份为观测数据（{each_zh}）。"
    en += f"; {obs_en} of indicator-years observed ({each_en})."
    illustrative = "illustrative" in shares
    if illustrative:
        share = shares["illustrative"] / max(1e-300, 1.0 - shares["imputed"] - shares["missing"])
        zh = f"示例数据，非官方统计：数据文件将{_percent(share, 'zh')}的数值标为示例数据，请勿引用其结果。" + zh
        en = (f"Illustrative data, not official statistics: the data file flags {_percent(share, 'en')} of its values "
              "as illustrative; do not cite the results. ") + en
    return {"zh": zh, "en": en, "illustrative": illustrative}


def _percent(x: float, lang: str) -> str:
    """A share as a whole percentage; 'under 1%' and 'over 99%' rather than a rounded 0% or 100% that is not exact
    (words, not '<': the text goes into HTML and spreadsheets as it is)."""
    if 0 < x < 0.005:
        return "不足1%" if lang == "zh" else "under 1%"
    if 0.995 <= x < 1:
        return "逾99%" if lang == "zh" else "over 99%"
    return f"{round(100 * x)}%"


README_SHEET = "说明"
"""The first sheet of results.xlsx: the index, its data and what each other sheet holds."""
STAGE_SHEET = "stage_{}"
"""Sheet of the long table of a stage (``tables/<stage>.csv``); distinct from the record tables
``imputed`` and ``treatment``."""
_STAGE_TEXT = {
    "raw": ("原始数据", "the data as read"),
    "transformed": ("变换后的数据", "the data after transformation"),
    "denominated": ("除以分母后的数据", "the data divided by their denominators"),
    "imputed": ("缺失值插补后的数据", "the data after imputation"),
    "screened": ("样本筛选后的数据", "the data after screening"),
    "treated": ("离群值处理后的数据", "the data after outlier treatment"),
    "normalized": ("无量纲化后的数据", "the normalised data"),
}
_AUDIT_TEXT = {
    "indicator_stats": ("指标描述统计（覆盖率、偏度、峰度等）", "statistics of each indicator (coverage, skew, kurtosis, ...)"),
    "unit_coverage": ("各单元在各维度的数据覆盖率", "each unit's data coverage by dimension"),
    "correlations": ("指标与各层级之间的相关系数", "correlations between indicators and levels"),
    "correlation_flags": ("被标记的相关（过高、为负或过弱）", "flagged correlations (too high, negative or weak)"),
    "cronbach": ("各维度的 Cronbach α", "Cronbach's alpha of each aggregate"),
    "pca": ("各维度的主成分分析", "principal component analysis of each aggregate"),
    "pca_components": ("主成分的特征值与解释方差", "eigenvalues and explained variance of the components"),
    "pca_loadings": ("主成分载荷", "loadings of the components"),
    "importance": ("各指标对指数的实际重要性（相关比）", "each indicator's importance in the index (correlation ratio)"),
    "verdicts": ("各指标的审计结论", "the audit's verdict on each indicator"),
    "flags": ("全部审计标记", "every audit flag"),
}
_SHEET_TEXT = {
    "scores": (
        "各单元、年份、节点的得分、排名（1 为最好）与较上年变化；指标为无量纲化后的值；status：得分因观测数据不足而不予发布的原因，发布者为空",
        "score, rank (1 = best) and change on the previous year of every unit, year and node; indicators normalised; "
        "status: why a score is withheld (too little observed data), empty when published",
    ),
    "coverage": (
        "各单元、年份、节点的数据覆盖率：观测数据所支撑的名义有效权重份额（插补、缺失、预测值不计）",
        "coverage of every unit, year and node: the share of its nominal effective weight backed by observed data "
        "(imputed, missing and forecast values do not count)",
    ),
    "provenance": (
        "数据来源与处理的例外：标记（估计、代理等）、非常用来源、插补（方法与所据数据）、离群值处理；全文件相同者记一行（*）",
        "provenance exceptions: flagged values (estimate, proxy, ...), other sources, imputed cells (how, from what), "
        "treated outliers; what holds for the whole file is one row (*)",
    ),
    "contributions": ("各子节点对上级得分的贡献", "each child's contribution to its parent's score"),
    "weights": (
        "各节点的名义权重、在上级中的权重与在总指数中的有效权重；applied：剔除无数据节点并重新归一后实际采用的权重",
        "nominal weight, weight within the parent and effective weight in the index of every node; applied: the weights "
        "actually used once nodes without any data are taken out and their siblings renormalised",
    ),
    "treatment": ("离群值处理：每个被处理的数据点（处理前、处理后、规则）", "outlier treatment: every treated point (before, after, rule)"),
    "imputed": ("缺失值插补：每个被插补的数据格及其取值与方法", "imputation: every imputed cell, its value and method"),
    "fitted": (
        "无量纲化拟合参数（最小值、最大值、均值、标准差、基年），按指标与样本池",
        "fitted normalisation parameters (min, max, mean, sd, base year) per indicator and pool",
    ),
    "units": ("单元、名称、参照单元标记与被筛除的年份", "units, names, reference flag and years dropped by the screen"),
    "targets": ("目标跟踪：进度、所需与实际增速、预测与状态", "targets: progress, required and achieved growth, projection, status"),
    "measures": ("实施推进：规划各部分举措与里程碑的进展", "implementation: progress of the plan's measures and milestones"),
    "grades": ("各单元的等级", "each unit's grade"),
    "grades_by_segment": ("各类型、各等级的单元数", "units by segment and grade"),
    "distribution": ("各年份指数得分的分布", "distribution of the index score by year"),
    "log": ("构建日志：每一步的方法、参数与改动的数据格数", "build log: every step's method, parameters and cells changed"),
    "note": ("逐单元的表格保存位置", "where the per-unit tables are"),
}  # fmt: skip


def _sheet_text(name: str) -> tuple[str, str]:
    """What a sheet of results.xlsx holds, in Chinese and English."""
    if name in _SHEET_TEXT:
        return _SHEET_TEXT[name]
    kind, _, rest = name.partition("_")
    if name.startswith(STAGE_SHEET.format("")):
        stage = name[len(STAGE_SHEET.format("")):]
        zh, en = _STAGE_TEXT.get(stage, (f"{stage} 阶段的数据", f"the data of the {stage} stage"))
        return (
            f"{zh}（长表：单元、年份、指标、值），即 tables/{stage}.csv",
            f"{en}, long (unit, year, indicator, value), as tables/{stage}.csv",
        )
    if kind == "audit" and rest in _AUDIT_TEXT:
        zh, en = _AUDIT_TEXT[rest]
        return f"统计审计：{zh}，即 audit/{rest}.csv", f"statistical audit: {en}, as audit/{rest}.csv"
    if kind == "top100":
        return f"{rest} 年指数得分最高的 100 个单元", f"the 100 units with the highest index score in {rest}"
    return "", ""


def readme_sheet(b: Build, sheets: dict[str, pd.DataFrame | str]) -> pd.DataFrame:
    """The 说明 sheet: the index, its version and data, the data notice, and a line per sheet of ``sheets``."""
    meta, panel = b.spec.index, b.panel
    years = sorted(int(y) for y in panel.years) if panel.has_years else []
    span = f"{years[0]}–{years[-1]}" if len(years) > 1 else (str(years[0]) if years else "")
    notice = data_notice(b)
    rows = [
        ("指数 / index", meta.name_zh or meta.name_en or meta.id, meta.name_en or meta.name_zh or meta.id),
        ("代码 / id", meta.id, meta.id),
        ("规格版本 / spec version", meta.version, meta.version),
        ("规格文件 / spec file", b.spec.source, b.spec.source),
        ("数据文件 / data file", panel.file, panel.file),
        ("单元与年份 / units and years", f"{panel.n_units} 个单元" + (f"，{span} 年" if span else ""),
         f"{panel.n_units} units" + (f", {span}" if span else "")),
        ("软件版本 / package version", f"index_engine {b.version}", f"index_engine {b.version}"),
    ]
    rows.append(("数据说明 / data notice", notice["zh"], notice["en"]))
    rows += [
        ("文件 / files", "各表另存为 CSV（UTF-8，带 BOM）或 Parquet 文件；manifest.json 列出全部文件及其 SHA-256",
         "the tables are also CSV (UTF-8 with a BOM) or Parquet files; manifest.json lists every file with its SHA-256"),
        ("", "", ""),
        ("工作表 / sheet", "内容", "contents"),
        (README_SHEET, "本表：指数、数据与各工作表的说明", "this sheet: the index, its data and what each sheet holds"),
    ]
    rows += [(name, *_sheet_text(name)) for name in sheets]
    return pd.DataFrame(rows, columns=["项目 / item", "中文", "English"])


def write_workbook(b: Build, sheets: dict[str, pd.DataFrame | str], path: Path) -> None:
    """results.xlsx: the :data:`README_SHEET` sheet first, then ``sheets``."""
    meta = b.spec.index
    _write_excel({README_SHEET: readme_sheet(b, sheets), **sheets}, path, title=meta.name_zh or meta.name_en or meta.id)


def result_sheets(
    b: Build, tables: dict[str, pd.DataFrame], stage_long: dict[str, pd.DataFrame], extra: dict[str, pd.DataFrame]
) -> dict[str, pd.DataFrame | str]:
    """The sheets of a build's results.xlsx (besides 说明): each output table, each stage's long
    table as ``stage_<stage>`` and each extra sheet (the audit's ``audit_<table>``); a table longer
    than :data:`EXCEL_MAX_ROWS` is replaced by a note naming its CSV."""
    hy = b.panel.has_years
    sheets: dict[str, pd.DataFrame | str] = {}

    def add(name: str, df: pd.DataFrame, csv: str) -> None:
        if name in sheets or name == README_SHEET:
            raise ValueError(f"results.xlsx: two sheets named {name!r}")
        sheets[name] = blank_year(df, hy) if len(df) <= EXCEL_MAX_ROWS else f"{len(df)} rows: see {csv}"

    for stem, df in tables.items():
        add(stem, df, FILES[LONG][stem])
    for stage, df in stage_long.items():
        add(STAGE_SHEET.format(stage), df, stage_path(LONG, stage))
    for name, df in extra.items():
        add(name, df, "the CSV")
    return sheets


def fill_folder(
    b: Build, d: Path, *, excel: bool | None = None, audit: Audit | Callable[[], Audit] | None = None,
    sensitivity: SensitivityResult | Callable[[], SensitivityResult | None] | None = None,
    inputs: dict[str, Any] | Callable[[SensitivityResult | None], dict[str, Any]] | None = None,
    then: Callable[[Path], object] | None = None, early: EarlyRawTable | None = None,
) -> None:
    """Write ``b``'s build folder into the existing (temporary) folder ``d``: the tables, ``results.xlsx``,
    ``audit/`` and ``sensitivity/`` when given, then ``spec.yaml``, ``log.json`` and ``manifest.json``;
    then ``then(d)`` (the report pages, which read the finished folder).

    The results are computed by the caller (:func:`index_engine.job.run_build`); ``inputs`` is what the
    manifest records for a rebuild (:func:`index_engine.job.recorded_inputs`). Where a second core
    helps (:func:`index_engine.parallel.fork_call`), a child writes ``results.xlsx`` while ``then``
    runs, and the manifest gains the workbook's SHA-256 when the child is done; ``then`` must not
    read the workbook. ``audit`` and ``sensitivity`` may be functions returning the result, called while
    the tables are written (by a child where a second core helps), and ``inputs`` a function of the
    sensitivity result; ``early`` is the raw table of a large build encoded while it was built
    (:class:`EarlyRawTable`).
    """
    hashed: dict[Path, str] = {}  # the SHA-256 of files hashed as they were written
    taken: dict[str, Any] = {}

    def write_results() -> None:  # beside the table writing: results may still be in the making
        for name, value in (("audit", audit), ("sensitivity", sensitivity)):
            result = value() if callable(value) else value
            if result is not None:
                result.write(d / name)
            taken[name] = result

    counts, workbook = _write_into(b, d, excel, early, hashed, beside=write_results,
                                   extra_sheets=lambda: taken["audit"].sheets() if taken["audit"] is not None else {})
    if callable(inputs):
        inputs = inputs(taken["sensitivity"])
    if workbook is None or then is None:
        if workbook is not None:
            workbook()
        _finish(b, d, counts, inputs, hashed)
        if then is not None:
            then(d)
        return
    _finish(b, d, counts, inputs, hashed)
    with fork_call(workbook) as pending:
        then(d)
        pending.result()
    _add_to_manifest(d, [d / XLSX])


LARGE_ROWS = 5_000
"""Above this many unit-years, per-unit tables are written wide as Parquet only (a firm-level build), and results.xlsx
holds summaries (score distribution, the top units, weights, log).

Each table is written once: ``tables/same_as.json`` maps a stage whose table is not written to the
stage whose file holds it (a step that changed nothing), or to ``"scores"`` for the normalised
indicators, which are the indicator columns of ``scores.parquet``."""


def _write_large(
    b: Build, d: Path, excel: bool | None, early: EarlyRawTable | None = None, hashed: dict[Path, str] | None = None
) -> dict[str, int]:
    """Parquet (wide) per-unit tables and an Excel workbook of summaries, for firm-level builds.

    Wide tables go to Arrow straight from their columns (no copy of the data), and the Parquet files
    are written by a few threads while the rest (ranks, grades, CSVs, workbook) is made; the raw table
    encoded while the build ran (``early``, see :class:`EarlyRawTable`) is written as it is. Each Parquet file's
    SHA-256 goes into ``hashed``, hashed by the thread that encoded it."""
    hy, files = b.panel.has_years, FILES[WIDE]
    (d / TABLES_DIR).mkdir()
    keys = early.keys if early is not None else _ArrowKeys(hy)
    with numeric_settings(), _ParquetJobs(d, hashed) as parquet:  # BLAS and pages: see index_engine._native
        previous: tuple[str, pd.DataFrame] | None = None
        same_as: dict[str, str] = {}
        for stage, table in b.tables.items():
            if previous is not None and table is previous[1]:  # a step that changed nothing
                same_as[stage] = same_as.get(previous[0], previous[0])
                continue
            if stage == "normalized":  # the indicators' columns of scores.parquet
                same_as[stage] = "scores"
                continue
            if early is not None and early.holds(table):
                parquet.add_encoded(stage_path(WIDE, stage), early.take)
            else:
                parquet.add(stage_path(WIDE, stage), keys.table(table))
            previous = (stage, table)
        if same_as:
            (d / TABLES_DIR / SAME_AS).write_text(json.dumps(same_as, indent=1), encoding="utf-8")
        parquet.add(files["scores"], keys.table(b.published))
        # ranks of the aggregates only: indicator ranks of a million firms are rarely wanted and cost
        # a sort each (Build.ranks has them all); once written, only the index's are kept (for the summaries)
        parquet.add(files["ranks"], keys.table(b.ranks_of(list(b.spec.aggregates), keep=[b.spec.tree.code])))
        for stem in (("grades",) if b.spec.grades is not None else ()) + ("treatment", "imputed"):
            parquet.add(files[stem], _arrow_frame(getattr(b, stem)))
        # the workbook's summaries now, while the largest files are written: their temporaries are gone
        # before the coverage and the other tables are made
        release_memory()  # the ranks' threads' temporaries
        sheets = summary_sheets(b) if excel is not False else None
        parquet.add(files["coverage"], keys.table(aggregate_coverage(b)))  # an indicator's: whether it is observed
        parquet.add(files["provenance"], _arrow_frame(provenance_table(b).astype({"year": str})))
        if hy and len(b.panel.years) > 1:
            parquet.add(files["change"], keys.table(b.change))
        parquet.add(files["units"], keys.units(b.panel.attrs))
        counts: dict[str, int] = {}
        for stem, df in (("weights", with_names(b.weights, "node", node_names(b.spec), "node_name")), ("fitted", b.fitted)):
            counts[files[stem]] = write_csv(df, d / files[stem], hy)
        if not b.targets.empty:
            counts[files["targets"]] = write_csv(b.targets, d / files["targets"], hy)
        if b.spec.measures:
            counts[files["measures"]] = write_csv(b.measures, d / files["measures"], hy)
        if sheets is not None:
            write_workbook(b, sheets, d / XLSX)
    return parquet.rows | counts


class _ArrowKeys:
    """Arrow tables of wide frames, ``unit, year, <columns>``; the key columns are made once per row index (the
    tables of a build share one, each frame through a view of it)."""

    def __init__(self, has_years: bool):
        self.has_years = has_years
        self._made: list[tuple[pd.Index, dict]] = []

    def keys(self, index: pd.MultiIndex) -> dict:
        """``{"unit": ..., "year": ...}`` of ``index`` as Arrow arrays."""
        import pyarrow as pa

        for made, keys in self._made:
            if index.is_(made):  # the same index, or a view of it
                return keys
        keys = {"unit": pa.array(level_values(index, "unit"))}
        if self.has_years:
            keys["year"] = pa.array(index.get_level_values("year").to_numpy())
        self._made.append((index, keys))
        return keys

    def table(self, wide: pd.DataFrame) -> Callable[[], Any]:
        """A function making ``wide``'s Arrow table, whose value columns share the frame's memory (a missing
        value, NaN, becomes null, as pandas writes it); it may run on another thread."""
        import pyarrow as pa

        keys = self.keys(wide.index)
        cols = {str(c): wide[c].to_numpy() for c in wide.columns}
        return lambda: pa.table({**keys, **{c: _arrow_floats(v) for c, v in cols.items()}})

    def units(self, attrs: pd.DataFrame) -> Callable[[], Any]:
        """A function making the table of units: ``unit`` and each text attribute's first value for the
        unit, a row per unit in the file's order."""
        import pyarrow as pa

        if unit_count(attrs.index) < len(attrs):  # several rows (years) per unit
            return _arrow_frame(attrs.groupby(level="unit", sort=False).first().reset_index())
        unit = self.keys(attrs.index)["unit"]
        cols = {str(c): attrs[c].array for c in attrs.columns}
        return lambda: pa.table({"unit": unit, **{c: pa.array(v, from_pandas=True) for c, v in cols.items()}})


def _arrow_floats(v: np.ndarray) -> Any:
    """A float column as an Arrow array, NaN as null as pandas writes it; without NaN it shares the memory
    (Arrow's own NaN scan, ``from_pandas=True``, is several times slower than numpy's)."""
    import pyarrow as pa

    return pa.array(v, mask=np.isnan(v)) if has_gap(v) else pa.array(v)


def _arrow_frame(df: pd.DataFrame) -> Callable[[], Any]:
    """A function making ``df``'s Arrow table as pandas' writer does (without the index)."""
    import pyarrow as pa

    return lambda: pa.Table.from_pandas(df, preserve_index=False)


def write_parquet(table: Any, where: Any) -> None:
    """An Arrow table as a large build's Parquet file (a path, or a stream): snappy and dictionary pages as
    pandas writes them, except that the unit codes, all distinct, skip the dictionary; and no column
    statistics (each row group's smallest and largest value, for readers that skip row groups by them): a
    million rows are one row group, there is nothing to skip, and they were a tenth of the encoding's time."""
    import pyarrow.parquet as pq

    others = [c for c in table.column_names if c != "unit"]
    pq.write_table(table, where, use_dictionary=others, write_statistics=False)


class EarlyRawTable:
    """A large build's raw table written to Parquet (into memory, on a thread of its own) while the build runs.

    The raw stage of a large build is the data's columns of the spec's indicators, known as soon as the
    data is read. Its Parquet file is the largest of the folder, and the build keeps one core busy,
    so it is encoded beside the build rather than by the writers that run after it. The folder gets
    these bytes as ``tables/raw.parquet`` when the build's raw table is made of the same arrays and rows
    (:meth:`holds`), and the table written anew otherwise (a ``units:`` list keeps fewer rows).

    >>> early = EarlyRawTable.start(spec, panel)  # doctest: +SKIP
    >>> write_job(build(spec, panel), out, early=early)  # doctest: +SKIP
    """

    def __init__(self, table: pd.DataFrame, has_years: bool):
        from concurrent.futures import ThreadPoolExecutor

        self.keys = _ArrowKeys(has_years)  # the key columns, made once for this and the other tables
        self._index, self._columns = table.index, list(table.columns)
        self._arrays = [table[c].to_numpy() for c in self._columns]
        pool = ThreadPoolExecutor(max_workers=1)
        self._job = pool.submit(self._encode, self.keys.table(table))
        pool.shutdown(wait=False)  # its thread ends with the job

    @classmethod
    def start(cls, spec: Spec, panel: Any) -> EarlyRawTable | None:
        """Encoding of ``panel``'s columns of ``spec``'s indicators, for a panel of more than :data:`LARGE_ROWS`
        rows that has them all; None otherwise."""
        inds = list(spec.indicators)
        values = panel.values
        if len(values) <= LARGE_ROWS or not set(inds) <= set(values.columns):
            return None
        return cls(values[inds], panel.has_years)

    @staticmethod
    def _encode(make: Callable[[], Any]) -> tuple[Any, int, str]:
        import pyarrow as pa

        table = make()
        sink = pa.BufferOutputStream()
        write_parquet(table, sink)
        rows = table.num_rows
        del table
        release_memory()  # the writer's buffers, which this thread's allocators would keep for reuse
        data = sink.getvalue()
        return data, rows, hashlib.sha256(memoryview(data)).hexdigest()

    def holds(self, table: pd.DataFrame) -> bool:
        """Whether ``table`` is the table encoded: the same rows and columns, each column the same array."""
        return (
            self._job is not None and table.index.is_(self._index) and list(table.columns) == self._columns
            and all(np.shares_memory(table[c].to_numpy(), a) for c, a in zip(self._columns, self._arrays))
        )

    def take(self) -> tuple[Any, int, str]:
        """The Parquet file's bytes, row count and SHA-256, once (the bytes are not kept here after)."""
        job, self._job = self._job, None
        return job.result()


class _ParquetJobs:
    """Parquet files written on a few threads (Arrow's writer releases the GIL) while the caller goes on;
    ``rows`` has each file's row count once the ``with`` block ends, and ``hashed`` (given, or a new dict) each
    file's SHA-256, hashed by the thread that encoded it. Files are written by :func:`write_parquet`."""

    def __init__(self, d: Path, hashed: dict[Path, str] | None = None):
        import os
        from concurrent.futures import ThreadPoolExecutor

        self.d = d
        self.rows: dict[str, int] = {}
        self.hashed = {} if hashed is None else hashed
        self._pool = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)))
        self._jobs: dict[str, Any] = {}

    def add(self, name: str, make: Callable[[], Any]) -> None:
        """Write the table ``make()`` returns as ``name`` (relative to the folder)."""
        self._jobs[name] = self._pool.submit(self._write, self.d / name, make)

    def add_encoded(self, name: str, take: Callable[[], tuple[Any, int, str]]) -> None:
        """Write the Parquet file ``take()`` returns (its bytes, row count and SHA-256) as ``name``, here and now:
        the bytes are not held while the other tables are made."""
        from concurrent.futures import Future

        self._jobs[name] = done = Future()
        done.set_result(self._write_bytes(self.d / name, take))

    def _write(self, path: Path, make: Callable[[], Any]) -> int:
        table = make()
        write_parquet(table, path)
        self.hashed[path] = _sha(path)
        return table.num_rows

    def _write_bytes(self, path: Path, take: Callable[[], tuple[Any, int, str]]) -> int:
        data, rows, sha = take()
        with open(path, "wb") as f:
            f.write(memoryview(data))
        self.hashed[path] = sha
        return rows

    def __enter__(self) -> _ParquetJobs:
        return self

    def __exit__(self, kind, *_: Any) -> None:
        self._pool.shutdown(wait=True, cancel_futures=kind is not None)
        release_memory()  # the writers' buffers
        if kind is None:
            self.rows = {name: job.result() for name, job in self._jobs.items()}


def summary_sheets(b: Build) -> dict[str, pd.DataFrame | str]:
    """Sheets for a build too large for a row per unit: distribution by year, top 100, weights, log."""
    idx = b.spec.tree.code
    pct = [0.05, 0.25, 0.5, 0.75, 0.95]
    if len(b.panel.years) == 1:  # the same table as grouped by year below, without grouping (a copy) the one year
        dist = pd.Series(b.scores[idx].to_numpy(), name=idx).describe(percentiles=pct).to_frame().T.reset_index(drop=True)
        dist.columns.name = None
        dist.insert(0, "year", [int(b.panel.years[0])])
    else:
        years = pd.Index(b.scores.index.get_level_values("year"), name="year")
        s = pd.Series(b.scores[idx].to_numpy(), index=years, name=idx)  # grouped on the years alone
        dist = s.groupby(level="year").describe(percentiles=pct).reset_index()
    last = max(b.panel.years)
    top = b.summary(top=100)[["unit", "score"]]  # best first, ties in the order of the unit codes
    top.insert(0, "rank", range(1, len(top) + 1))
    log = pd.DataFrame([st.as_dict() for st in b.log]).astype(str)
    extra: dict[str, pd.DataFrame] = {}
    if b.spec.grades is not None:
        extra["grades_by_segment"] = grade_counts(b)
    return {
        **extra,
        "distribution": dist,
        f"top100_{last}": top,
        "weights": with_names(b.weights, "node", node_names(b.spec), "node_name"),
        "log": log,
        "note": f"{len(b.scores)} unit-years: per-unit tables are in scores.parquet, ranks.parquet and tables/*.parquet",
    }


def grade_counts(b: Build) -> pd.DataFrame:
    """Units by year, segment (with ``segments``) and grade: a row per year and segment present, a column
    per grade given (sorted), as ``grades.groupby([year, segment, grade]).size().unstack(fill_value=0)``.
    Counted on integer codes (one ``bincount``), then grouped as that table says: a million units are
    never grouped by their text."""
    g = b.grades
    keys = {"year": g["year"]}
    seg_col = b.spec.segments.column if b.spec.segments else None
    if seg_col and seg_col in b.panel.attrs.columns:
        keys[seg_col] = pd.Series(b.panel.attrs[seg_col].reindex(b.scores.index).array)
    keys["grade"] = g["grade"]
    coded = [pd.factorize(v.to_numpy() if v.dtype.kind in "iuf" else v.array) for v in keys.values()]  # NaN: -1
    if np.prod([len(uniq) for _, uniq in coded], dtype=float) > max(len(g), 1):  # a count per cell would be larger
        by = [pd.Series(v.array, name=name) for name, v in keys.items()]
        return g.groupby(by).size().unstack(fill_value=0).reset_index()
    key = np.zeros(len(g), np.int64)
    for codes, uniq in coded:
        key = key * len(uniq) + codes
    keep = np.logical_and.reduce([codes >= 0 for codes, _ in coded]) if coded else np.ones(len(g), bool)
    counts = np.bincount(key[keep], minlength=1)
    cells = np.flatnonzero(counts)
    small, rest = {}, cells
    for name, (_, uniq) in reversed(list(zip(keys, coded))):
        small[name] = pd.Index(uniq).take(rest % len(uniq))
        rest = rest // len(uniq)
    small = pd.DataFrame({name: small[name] for name in keys} | {"n": counts[cells]})
    return small.groupby(list(keys))["n"].sum().unstack(fill_value=0).reset_index()


def _write_into(
    b: Build, d: Path, excel: bool | None, early: EarlyRawTable | None = None, hashed: dict[Path, str] | None = None,
    beside: Callable[[], None] | None = None, extra_sheets: Callable[[], dict[str, pd.DataFrame]] | None = None,
) -> tuple[dict[str, int], Callable[[], None] | None]:
    """The tables (both layouts), and ``beside()`` (the caller's writing meanwhile); returns the row count of
    each file, and the writer of ``results.xlsx`` (None: written already, or not asked for), whose sheets
    include ``extra_sheets()`` (asked for once ``beside`` is done). ``hashed`` gains the SHA-256 of files
    hashed as they were written (a large build's Parquet files).

    The CSV tables of a small build are made here and written by a child
    (:func:`~index_engine.parallel.fork_call`, where a second core helps) while this process calls
    ``beside``; a large build's are written first."""
    hy = b.panel.has_years
    if len(b.scores) > LARGE_ROWS:
        counts = _write_large(b, d, excel, early, hashed)
        if beside is not None:
            beside()
        return counts, None
    tables = output_tables(b)
    stage_long = {stage: long_table(wide) for stage, wide in b.tables.items()}

    def write_tables() -> dict[str, int]:
        counts = {FILES[LONG][stem]: write_csv(df, d / FILES[LONG][stem], hy) for stem, df in tables.items()}
        (d / TABLES_DIR).mkdir()
        for stage, lt in stage_long.items():
            counts[stage_path(LONG, stage)] = write_csv(lt, d / stage_path(LONG, stage), hy)
        return counts

    with fork_call(write_tables) as pending:
        if beside is not None:
            beside()
        counts = pending.result()
    if excel is False:
        return counts, None
    return counts, lambda: write_workbook(b, result_sheets(b, tables, stage_long, extra_sheets() if extra_sheets else {}), d / XLSX)


def _finish(
    b: Build, d: Path, counts: dict[str, int], inputs: dict[str, Any] | None = None, hashed: dict[Path, str] | None = None
) -> None:
    """spec.yaml, log.json and manifest.json (with every file's SHA-256, hashed now unless in ``hashed``), written last.

    ``spec.yaml`` is the spec as built (``--set`` applied, ``data:`` naming the file and sheet read);
    ``manifest.json`` ``inputs`` records the rest a rebuild needs (see :func:`index_engine.job.recorded_inputs`).
    """
    hy = b.panel.has_years
    (d / SPEC).write_text(b.spec.to_yaml(), encoding="utf-8")
    (d / LOG).write_text(json.dumps([s.as_dict() for s in b.log], ensure_ascii=False, indent=1), encoding="utf-8")
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
        "layout": WIDE if len(b.scores) > LARGE_ROWS else LONG,
        "warnings": list(b.warnings),
        "notice": data_notice(b),
        "withheld": 0 if b.withheld is None else int(b.withheld.to_numpy().sum()),
        "inputs": inputs,
        "files": {},
    }
    files = [p for p in d.rglob("*") if p.is_file() and p.name != LOCK]
    _write_manifest(d, manifest, files, hashed)


def _write_manifest(d: Path, manifest: dict[str, Any], files: list[Path], hashed: dict[Path, str] | None = None) -> None:
    """``manifest.json``: ``manifest`` with ``files`` gaining each of ``files`` (paths in ``d``) and its SHA-256
    (from ``hashed`` if there, else hashed now), all in path order."""
    listed = {Path(name): sha for name, sha in manifest["files"].items()}
    known = hashed or {}
    todo = [p for p in files if p not in known]
    shas = dict(zip(todo, _shas(todo)))
    listed.update((p.relative_to(d), known[p] if p in known else shas[p]) for p in files)
    manifest["files"] = {str(p): listed[p] for p in sorted(listed)}
    (d / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1, default=str), encoding="utf-8")


def _add_to_manifest(d: Path, files: list[Path]) -> None:
    """Add ``files``, written after ``manifest.json``, to its list of files."""
    _write_manifest(d, json.loads((d / MANIFEST).read_text(encoding="utf-8")), files)
