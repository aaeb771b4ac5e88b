"""Implementation of the plan (实施推进): the status of each measure and milestone from a progress file.

The spec's ``measures:`` section lists the plan's parts, each with its measures (title, highlights,
milestones, links to the indicators and targets that evidence it). The user reports progress in a
file named beside the data (``data.progress``, or ``--progress FILE``), CSV or Excel, one row per
report: ``measure`` (a measure's or a milestone's code), ``date``, ``status``, ``evidence``,
``source`` and optionally ``flag`` (e.g. ``illustrative``). Status words: ``done`` (已完成),
``in_progress`` (推进中), ``delayed`` (滞后), ``not_started`` (未启动); an item with no report is
``no_report`` (未报告). An item's status is its latest report's (by date, then file order).

:func:`measure_table` gives one row per measure and milestone (``measures.csv`` in a build folder):
``part, measure, item, kind, title_zh, title_en, by, status, date, evidence, source, flag,
n_reports, indicators, targets, target_statuses``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from ._files import check_input_file
from .errors import DataError
from .spec import Spec
from .panel import _read_csv, _read_excel

PROGRESS_STATUSES: dict[str, tuple[str, str]] = {
    "done": ("已完成", "done"),
    "in_progress": ("推进中", "in progress"),
    "delayed": ("延误", "delayed"),
    "not_started": ("未启动", "not started"),
    "no_report": ("未报告", "no progress reported"),
}
"""Progress statuses (zh, en) in display order; ``no_report`` is given by the engine, never by a file."""
_SYNONYMS = {w.casefold(): k for k, (zh, en) in PROGRESS_STATUSES.items() if k != "no_report" for w in (k, zh, en)}
_SYNONYMS.update({"completed": "done", "complete": "done", "ongoing": "in_progress", "进行中": "in_progress",
                  "behind": "delayed", "延期": "delayed", "滞后": "delayed", "planned": "not_started"})
PROGRESS_COLUMNS = ("measure", "date", "status", "evidence", "source")
TRANSLATED_COLUMNS = ("evidence_en", "source_en")
"""Optional columns of a progress file: the evidence and source in English, for the English pages (the
``evidence`` and ``source`` columns are in the file's own language, shown on the Chinese pages)."""
COLUMNS = ["part", "measure", "item", "kind", "title_zh", "title_en", "by", "status", "date", "evidence", "source",
           "evidence_en", "source_en", "flag", "n_reports", "indicators", "targets", "target_statuses"]


def progress_path(spec: Spec) -> Path | None:
    """The progress file the spec names (``data.progress``, relative to the spec's folder), or None."""
    if spec.data is None or not spec.data.progress:
        return None
    return spec.base_dir / spec.data.progress


def read_progress(path: str | Path, spec: Spec) -> pd.DataFrame:
    """The progress reports of ``path`` (CSV or .xlsx): ``measure, date, status, evidence, source, flag, row``.

    Every row must name a measure or milestone of the spec and a known status word; errors name the
    file and the row.
    """
    path = Path(path)
    name = str(path)
    check_input_file(path, "progress", DataError)
    df = _read_excel(path, name, None) if path.suffix.lower() in (".xlsx", ".xlsm") else _read_csv(path, name)
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in PROGRESS_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{name}: the progress file lacks the column(s) {', '.join(missing)} (needs {', '.join(PROGRESS_COLUMNS)})")
    for c in ("flag", *TRANSLATED_COLUMNS):
        if c not in df.columns:
            df[c] = ""
    df = df[list(PROGRESS_COLUMNS) + ["flag", *TRANSLATED_COLUMNS]].astype(str).apply(lambda c: c.str.strip())
    items = {code for code, _, _ in _items(spec)}
    statuses = []
    for i, r in enumerate(df.itertuples(index=False)):
        row = f"{name}: row {i + 2}"
        if r.measure not in items:
            raise DataError(f"{row}: column 'measure': {r.measure!r} is no measure or milestone of the spec "
                            f"(codes such as {', '.join(sorted(items)[:4])})")
        key = _SYNONYMS.get(r.status.casefold())
        if key is None:
            words = ", ".join(f"{k} ({zh})" for k, (zh, _) in PROGRESS_STATUSES.items() if k != "no_report")
            raise DataError(f"{row}: column 'status': unknown status {r.status!r}; use one of {words}")
        statuses.append(key)
        try:
            pd.Timestamp(r.date)
        except (ValueError, TypeError):
            raise DataError(f"{row}: column 'date': {r.date!r} is not a date (e.g. 2025-06-30)") from None
    df["status"] = statuses
    df["row"] = range(2, len(df) + 2)
    return df


def _items(spec: Spec):
    """(code, part, measure-or-milestone) of every measure and milestone of the spec."""
    for part, m in spec.plan_measures.values():
        yield m.code, part, m
        for code, ms in m.all_milestones:
            yield code, part, ms


def target_ids(spec: Spec, refs: Iterable[str]) -> list[str]:
    """The targets a measure or a part of the plan names: a target's id as it is, an indicator's code as each
    of that indicator's targets; each once, in order."""
    by_indicator: dict[str, list[str]] = {}
    for tid, (code, _) in spec.targets.items():
        by_indicator.setdefault(code, []).append(tid)
    return list(dict.fromkeys(t for ref in refs for t in ([ref] if ref in spec.targets else by_indicator.get(ref, []))))


def measure_table(spec: Spec, progress: pd.DataFrame | None, targets: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per measure and milestone with its latest reported status (see the module docstring)."""
    latest: dict[str, pd.Series] = {}
    counts: dict[str, int] = {}
    if progress is not None and not progress.empty:
        p = progress.assign(_when=pd.to_datetime(progress["date"])).sort_values(["_when", "row"], kind="stable")
        for code, g in p.groupby("measure", sort=False):
            latest[str(code)], counts[str(code)] = g.iloc[-1], len(g)
    status_of = {}
    if targets is not None and not targets.empty and "target" in targets.columns:
        status_of = dict(zip(targets["target"], targets["status"]))
    rows = []
    for part, m in spec.plan_measures.values():
        tids = target_ids(spec, m.targets)
        entries = [(m.code, "measure", m.title_zh, m.title_en, "")]
        entries += [(c, "milestone", ms.what_zh, ms.what_en, ms.by or "") for c, ms in m.all_milestones]
        for item, kind, zh, en, by in entries:
            rep = latest.get(item)
            rows.append({
                "part": part.code, "measure": m.code, "item": item, "kind": kind, "title_zh": zh, "title_en": en,
                "by": by, "status": "no_report" if rep is None else rep["status"],
                "date": "" if rep is None else rep["date"], "evidence": "" if rep is None else rep["evidence"],
                "source": "" if rep is None else rep["source"], "flag": "" if rep is None else rep["flag"],
                **{c: "" if rep is None else rep[c] for c in TRANSLATED_COLUMNS},
                "n_reports": counts.get(item, 0),
                "indicators": ";".join(m.indicators) if kind == "measure" else "",
                "targets": ";".join(tids) if kind == "measure" else "",
                "target_statuses": ";".join(f"{t}:{status_of.get(t, '')}" for t in tids) if kind == "measure" else "",
            })
    return pd.DataFrame(rows, columns=COLUMNS)


def spec_measure_table(spec: Spec, targets: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`measure_table` with the spec's own progress file (none named: every item ``no_report``)."""
    path = progress_path(spec)
    return measure_table(spec, read_progress(path, spec) if path is not None else None, targets)
