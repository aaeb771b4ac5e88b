"""The whole job of ``index-engine build`` as one library call: build, audit, uncertainty, report.

:func:`run_build` reads the spec and data, builds the index, runs the audit and the uncertainty
analysis when asked, and writes the build folder with its report pages, all assembled in one
temporary folder and renamed into place once (:mod:`index_engine.atomic`). The CLI only parses
arguments for it and prints. :func:`rebuild` makes the same folder again from a build folder, which
records its spec (``spec.yaml``, with ``--set`` applied and the data file and sheet used), the
``--set`` values and the options (``manifest.json`` ``inputs``).

>>> from index_engine.job import run_build
>>> job = run_build("weights/examples/hdi.yaml", out="outputs/hdi", audit=True, uncertainty=200)  # doctest: +SKIP
>>> job.folder, job.build.summary().head(3)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from .errors import BuildError, DataError, OutputExistsError, SpecError

from .atomic import check_target, staged_folder, write_folder
from .folder import BuildFolder, load_build
from .outputs import EarlyRawTable, fill_folder
from .parallel import Pending, fork_call
from ._files import check_input_file
from .panel import Panel, load_panel, resolve_units
from .pipeline import build
from .result import Build
from .spec import Spec, load_spec

if TYPE_CHECKING:  # the audit, sensitivity, report and Dask modules are imported when a job asks for them
    from .audit import Audit
    from .sensitivity import SensitivityResult

DEFAULT_NOISE = 0.25
"""Weight noise of the default uncertainty factors (±25%, as COINr's vignette)."""


@dataclass(frozen=True)
class Job:
    """What :func:`run_build` (or :func:`run_sensitivity`, :func:`run_audit`) computed and where it wrote it."""

    folder: Path
    build: Build
    audit: Audit | None = None
    sensitivity: SensitivityResult | None = None


def default_out(index_id: str) -> Path:
    """``outputs/<index id>/<YYYYmmdd-HHMMSS>/`` (the spec loader checks that the id is one folder name)."""
    return Path("outputs") / index_id / _dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def read_inputs(
    spec: str | Path | Spec, data: str | Path | Panel | None = None, *, sheet: str | None = None,
    overrides: Mapping[str, Any] | None = None, progress: str | Path | None = None,
) -> tuple[Spec, Panel]:
    """The spec (with ``overrides`` applied, as ``--set``) and its data (``data``, or the spec's ``data:`` file).

    The returned spec names the data file and sheet it was read with in ``data:``, so the build
    folder's ``spec.yaml`` records them. When ``data`` replaces the spec's data file, the spec's
    progress file (``data.progress``) goes with it; ``progress`` names the one to use instead.
    """
    if isinstance(spec, Spec):
        label = spec.source
        if overrides:
            spec = spec.replace_many(dict(overrides), origin="--set")
    else:
        label = str(spec)
        spec = load_spec(spec, overrides=dict(overrides or {}))
    if isinstance(data, Panel):
        data.check_against(spec)
        return _naming_progress(_with_unit_codes(_naming_data(spec, data.file, sheet), data), progress), data
    path, sheet = data_path(spec, data, sheet, label)
    panel = load_panel(path, spec, sheet=sheet)
    return _naming_progress(_with_unit_codes(_naming_data(spec, path, sheet), panel), progress), panel


def data_path(spec: Spec, data: str | Path | None, sheet: str | None, label: str) -> tuple[Path, str | None]:
    """The data file and sheet to read: ``data`` (with ``sheet``), else the spec's ``data:`` entry."""
    if data is not None:
        return Path(data), sheet
    if spec.data is None or spec.data.file is None:
        raise SpecError(f"{label}: no data file: pass --data FILE or give the spec a 'data: {{file: ...}}' entry")
    return Path(os.path.normpath(spec.base_dir / spec.data.file)), sheet or spec.data.sheet


def _with_unit_codes(spec: Spec, panel: Panel) -> Spec:
    """``spec`` with its reference and tracked units as the data's unit codes (:func:`index_engine.panel.resolve_units`)."""
    return resolve_units(spec, panel)


def _naming_progress(spec: Spec, progress: str | Path | None) -> Spec:
    """``spec`` with ``data.progress`` naming ``progress`` (relative to the spec's folder), when given."""
    if progress is None:
        return spec
    path = Path(progress)
    check_input_file(path, "progress", DataError)
    where = path if path.is_absolute() else Path(os.path.relpath(path.resolve(), spec.base_dir.resolve()))
    if spec.data is None:
        raise SpecError(f"{spec.source}: --progress needs a data file (data: {{file: ...}} or --data)")
    return spec.replace("data.progress", where.as_posix(), origin="--progress")


def _naming_data(spec: Spec, file: str | Path, sheet: str | None) -> Spec:
    """``spec`` with ``data: {file, sheet}`` naming ``file`` (relative to the spec's folder, as in a spec file)."""
    if str(file) == "<memory>":
        return spec
    path = Path(file)
    where = path if path.is_absolute() else Path(os.path.relpath(path.resolve(), spec.base_dir.resolve()))
    if (spec.data is not None and spec.data.file is not None and sheet in (None, spec.data.sheet)
            and _same_file(spec.base_dir / spec.data.file, path)):
        return spec
    # the reading policies (data.on_missing_indicator, data.duplicates, ...) stay as the spec sets them;
    # the provenance sidecar and the progress file belong to the replaced file and go with it
    kept = spec.data.model_dump(mode="json", exclude={"provenance", "progress"}) if spec.data is not None else {}
    return spec.replace("data", kept | {"file": where.as_posix(), "sheet": sheet}, origin="--data")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def default_factors(spec: Spec, panel: Panel, cache: dict | None = None) -> dict[str, Any]:
    """Uncertainty factors for a spec without an ``uncertainty:`` section.

    - ``weights_level<L>``: the weights of the nodes at each aggregate level below the index
      (at the indicators when the index has no level between) vary by ±25%
      (:class:`~index_engine.sensitivity.WeightNoise`, ``noise=0.25``);
    - ``aggregation``: ``steps.aggregate.method`` is the spec's arithmetic or geometric mean
      or the other one, when the spec uses one of those two and a build with the other succeeds
      (a geometric mean needs scores > 0).
    """
    from . import sensitivity as sa

    levels = spec.levels
    top = levels[spec.tree.code]
    aggregate_levels = sorted({lvl for code, lvl in levels.items() if code in spec.aggregates and lvl < top})
    out: dict[str, Any] = {
        f"weights_level{lvl}": sa.WeightNoise(levels=(lvl,), noise=DEFAULT_NOISE) for lvl in aggregate_levels or [1]
    }
    nominal = spec.steps.aggregate.method
    other = {"arithmetic": "geometric", "geometric": "arithmetic"}.get(nominal)
    if other is not None:
        try:
            with warnings.catch_warnings():  # the nominal build has said them already
                warnings.simplefilter("ignore")
                build(spec.replace("steps.aggregate.method", other, origin="default uncertainty factors"), panel, cache=cache)
        except (BuildError, SpecError):
            return out
        out["aggregation"] = sa.Choice(path="steps.aggregate.method", values=[nominal, other])
    return out


def run_build(
    spec: str | Path | Spec,
    data: str | Path | Panel | None = None,
    out: str | Path | None = None,
    *,
    sheet: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    force: bool = False,
    audit: bool = False,
    uncertainty: int | None = None,
    seed: int = 0,
    report: bool = True,
    excel: bool = True,
    lang: str | None = None,
    backend: str = "local",
    scheduler: str | None = None,
    partitions: int | None = None,
    progress: bool | None = None,
    progress_file: str | Path | None = None,
) -> Job:
    """Build an index and write its folder, as ``index-engine build`` does.

    Parameters
    ----------
    spec : path of a spec (YAML or COINr iMeta CSV), or a Spec
    data : path of the data file, or a Panel; default: the spec's ``data:`` file
    out : path, default ``outputs/<index id>/<timestamp>/``
        The folder to write; refused if it exists unless ``force`` (see :mod:`index_engine.atomic`).
    sheet : str, optional
        The Excel sheet of ``data`` (default: the spec's, else the first).
    overrides : mapping of spec path -> value, optional
        Values to replace, as ``--set``; recorded in ``manifest.json``.
    force : bool, default False
        Replace an existing build folder ``out`` once the new one is complete.
    audit : bool, default False
        Also run the statistical audit (``audit/`` and sheets in ``results.xlsx``).
    uncertainty : int, optional
        Also run an uncertainty analysis of this many builds (``sensitivity/``) over the spec's
        ``uncertainty:`` factors, or :func:`default_factors` when it has none.
    seed : int, default 0
        Seed of the uncertainty analysis.
    report, excel : bool, default True
        Write the report pages (``report/``) and ``results.xlsx``.
    lang : {"zh", "en"}, optional
        Language of the report (default: ``zh`` when the index has a Chinese name).
    backend, scheduler, partitions
        ``"dask"`` builds partitions of units as Dask tasks (see :func:`index_engine.dask_backend.build_dask`).
    progress : bool, optional
        Progress bar of the uncertainty analysis; default: only when stderr is a terminal.
    progress_file : path, optional
        The progress file of the plan's measures (``data.progress``), as ``--progress``; without
        it, a ``data`` other than the spec's own file leaves the spec's progress file unused.

    Returns
    -------
    Job
        The folder written, the Build, and the Audit and SensitivityResult when asked for.
    """

    if uncertainty is not None and (isinstance(uncertainty, bool) or uncertainty < 1):
        raise SpecError(f"--uncertainty must be at least 1. Got {uncertainty} instead")
    if out is not None:
        check_target(Path(out), force=force, replaceable="manifest.json")  # before the work, not only after
    spec, panel = read_inputs(spec, data, sheet=sheet, overrides=overrides, progress=progress_file)
    cache: dict = {}
    early = None
    if backend == "dask":
        from .dask_backend import build_dask

        b = build_dask(spec, panel, scheduler=scheduler, partitions=partitions)
    else:
        early = EarlyRawTable.start(spec, panel)  # a large build's raw table written while it is built
        b = build(spec, panel, cache=cache)

    def uncertainty_analysis(importance: bool = True) -> SensitivityResult:
        return analyse(spec, panel, "uncertainty", n=uncertainty, seed=seed, cache=cache, progress=progress, nominal=b,
                       importance=importance)

    def run_audit() -> Audit:
        from .audit import audit as audit_of

        return audit_of(b)

    # Where there is a second core, a child makes the audit (which alone loads scipy) while the uncertainty
    # analysis and then the tables are made here, or else the analysis while the tables are made.
    with contextlib.ExitStack() as stack:
        a = sens = None
        if audit:
            a = functools.cache(stack.enter_context(fork_call(run_audit)).result)
            sens = uncertainty_analysis() if uncertainty else None
        elif uncertainty:
            pending = stack.enter_context(fork_call(functools.partial(uncertainty_analysis, importance=False)))
            sens = _with_importance(pending, b)
        folder = write_job(
            b, default_out(spec.index.id) if out is None else out, force=force, excel=excel, audit=a,
            sensitivity=sens, report=report, lang=lang, overrides=overrides, early=early,
        )
    return Job(folder, b, a() if a is not None else None, sens() if callable(sens) else sens)


MODES = ("uncertainty", "sobol", "remove")
"""The analyses of :func:`analyse`: random builds and rank intervals, Sobol indices, each component left out."""


def analyse(
    spec: Spec, panel: Panel, mode: str = "uncertainty", *, n: int = 1000, seed: int = 0, jobs: int = 1,
    cache: dict | None = None, progress: bool | None = None, client: Any = None, nominal: Build | None = None,
    importance: bool = True,
) -> SensitivityResult:
    """The sensitivity analysis ``mode`` (:data:`MODES`) of ``spec`` and ``panel``; given their build ``nominal``,
    the scores it withholds are withheld in the analysis too and, unless ``importance`` is False, the result has
    the build's importance table (:func:`~index_engine.sensitivity.with_importance`).

    The factors are the spec's ``uncertainty:`` section, else :func:`default_factors` (remove-one
    needs none); ``n``, ``seed``, ``jobs`` and ``client`` are those of
    :func:`~index_engine.sensitivity.uncertainty` and :func:`~index_engine.sensitivity.sobol`, ``cache`` a
    build cache (:func:`~index_engine.pipeline.build`).
    """
    from . import sensitivity as sa

    if mode not in MODES:
        raise SpecError(f"the sensitivity mode must be one of {', '.join(MODES)}. Got {mode!r} instead")
    if mode == "remove":
        res = sa.remove_one(spec, panel, cache=cache, nominal=nominal)
    else:
        factors = None if spec.uncertainty else default_factors(spec, panel, cache)
        run = sa.uncertainty if mode == "uncertainty" else sa.sobol
        res = run(spec, panel, factors, n=n, seed=seed, jobs=jobs, cache=cache, progress=progress, client=client,
                  nominal=nominal)
    return sa.with_importance(res, nominal) if nominal is not None and importance else res


def _with_importance(pending: Pending[SensitivityResult], b: Build) -> Callable[[], SensitivityResult]:
    """The result of an analysis made by a child (``pending``, without the importance table), with the
    importance table of ``b`` made here while the child is at work (:func:`~index_engine.parallel.fork_call`)."""
    from .sensitivity import with_importance

    return functools.cache(lambda: with_importance(pending.result, b))


def run_sensitivity(
    spec: str | Path | Spec | None = None,
    data: str | Path | Panel | None = None,
    out: str | Path | None = None,
    *,
    build_dir: str | Path | BuildFolder | None = None,
    mode: str = "uncertainty",
    n: int = 1000,
    seed: int = 0,
    jobs: int = 1,
    sheet: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    force: bool = False,
    report: bool = False,
    excel: bool = False,
    lang: str | None = None,
    client: Any = None,
    progress: bool | None = None,
) -> Job:
    """A sensitivity analysis as ``index-engine sensitivity`` runs it: of a spec and its data into a new
    build folder ``out``, or of the finished folder ``build_dir`` into its ``sensitivity/``.

    With ``spec``: the nominal build, :func:`analyse` of it, and a new folder (default
    ``outputs/<index id>/<timestamp>/``) holding the build's tables and ``sensitivity/``, with
    ``results.xlsx`` and the report pages only when ``excel`` and ``report`` ask (see
    :func:`write_job`). Where a second core helps (:func:`~index_engine.parallel.fork_call`, not with a
    Dask ``client``), the analysis runs in a child while the build's tables are written. With
    ``build_dir``: the folder's build made again (:func:`build_again`, ``data`` and ``sheet`` if its data
    file has moved), analysed, and ``sensitivity/`` written into it atomically (an existing one refused
    unless ``force``); a report the folder holds is rendered again.
    """
    if (build_dir is None) == (spec is None):
        raise SpecError("give a spec to analyse into a new folder, or a finished build folder (build_dir), not both")
    cache: dict = {}
    if build_dir is not None:
        folder = build_dir if isinstance(build_dir, BuildFolder) else load_build(build_dir)
        target = folder.path / "sensitivity"
        if target.exists() and not force:
            raise OutputExistsError(f"{target}: the folder exists already; pass --force to replace it")
        b = build_again(folder, data, sheet, cache=cache)
        res = analyse(b.spec, b.panel, mode, n=n, seed=seed, jobs=jobs, cache=cache, progress=progress, client=client, nominal=b)
        res.write(target, force=force)
        if folder.has_report:  # the report shows the new robustness results
            from .report import render_report

            render_report(folder.path, force=True)
        return Job(folder.path, b, None, res)
    if out is not None:
        check_target(Path(out), force=force, replaceable="manifest.json")  # before the work, not only after
    spec, panel = read_inputs(spec, data, sheet=sheet, overrides=overrides)
    b = build(spec, panel, cache=cache)  # its stages are in the cache the analysis starts from
    analysis = functools.partial(analyse, spec, panel, mode, n=n, seed=seed, jobs=jobs, cache=cache, progress=progress,
                                 client=client, nominal=b)
    # the analysis in a child (not with a Dask client) while the build's tables are written here
    pending = fork_call(functools.partial(analysis, importance=False)) if client is None else None
    with pending if pending is not None else contextlib.nullcontext():
        result = _with_importance(pending, b) if pending is not None else functools.cache(analysis)
        folder_path = write_job(b, default_out(spec.index.id) if out is None else out, force=force, excel=excel,
                                sensitivity=result, report=report, lang=lang, overrides=overrides)
    return Job(folder_path, b, None, result())


def recorded_inputs(b: Build, overrides: Mapping[str, Any] | None = None, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``manifest.json`` ``inputs``: what :func:`rebuild` needs besides ``spec.yaml``.

    ``spec_file`` and ``base_dir`` (the spec's folder: relative paths in ``spec.yaml`` start there),
    ``data_file`` (absolute) and ``sheet``, ``set`` (the overrides, already applied in ``spec.yaml``)
    and ``options`` (audit, uncertainty, seed, report, excel, lang).
    """
    data = b.spec.data
    file = None if b.panel.file == "<memory>" else os.path.abspath(b.panel.file)
    return {
        "spec_file": b.spec.source,
        "base_dir": os.path.abspath(b.spec.base_dir),
        "data_file": file,
        "sheet": data.sheet if data is not None and data.file and file and _same_file(b.spec.base_dir / data.file, Path(file)) else None,
        "set": {str(k): v for k, v in (overrides or {}).items()},
        "options": dict(options or {}),
    }


def write_job(
    b: Build,
    out: str | Path,
    *,
    force: bool = False,
    excel: bool | None = None,
    audit: Audit | Callable[[], Audit] | bool | None = None,
    sensitivity: SensitivityResult | Callable[[], SensitivityResult | None] | None = None,
    report: bool = True,
    lang: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    early: EarlyRawTable | None = None,
) -> Path:
    """Write a build folder atomically: tables, ``audit/`` and ``sensitivity/`` when given, manifest, report pages.

    ``audit=True`` runs the audit of ``b`` first. ``audit`` and ``sensitivity`` may be functions returning
    the result, called while the build's own tables are written (so that writing them overlaps a result
    still being computed beside, see :func:`run_build`). ``overrides`` (the ``--set`` values applied to
    ``b.spec``) and the options are recorded in ``manifest.json`` for :func:`rebuild`; ``early`` is a large
    build's raw table encoded while it was built (:class:`~index_engine.outputs.EarlyRawTable`). Everything goes
    into one temporary folder, renamed to ``out`` at the end (see :mod:`index_engine.atomic`);
    ``force`` replaces an existing build folder. Returns ``out``.
    """

    if audit is True:
        from .audit import audit as run_audit

        audit = run_audit(b)

    def inputs(sens: SensitivityResult | None) -> dict[str, Any]:
        uncertain = sens is not None and sens.mode == "uncertainty"
        options = {
            "audit": bool(audit), "uncertainty": sens.manifest["n"] if uncertain else None,
            "seed": sens.manifest["seed"] if uncertain else 0, "report": report, "excel": excel is not False, "lang": lang,
        }
        return recorded_inputs(b, overrides, options)

    def render(folder: Path) -> None:  # it reads the finished folder, audit/ and sensitivity/ included
        from .report import render_report

        render_report(folder, lang=lang, workbook=excel is not False, spec=b.spec)

    with staged_folder(Path(out), force=force, replaceable="manifest.json") as tmp:
        fill_folder(b, tmp, excel=excel, audit=audit or None, sensitivity=sensitivity, inputs=inputs,
                    then=render if report else None, early=early)
    return Path(out)


def rebuild(folder: str | Path, out: str | Path | None = None, *, force: bool = False, progress: bool | None = None) -> Job:
    """Build again what ``folder`` holds, from its ``spec.yaml`` and recorded inputs, into ``out``.

    The data file must be the one the build read (same SHA-256); the scores are then the same.
    ``out`` defaults to a new ``outputs/<index id>/<timestamp>/``; ``out=folder, force=True``
    replaces the folder itself.
    """

    f = load_build(folder)
    inputs = f.recorded_inputs
    if not inputs.get("data_file"):
        raise DataError(f"{f.path}/manifest.json: records no inputs (data file, sheet, options): build it again with index-engine build")
    spec, panel = f.inputs()  # the recorded data file, refused unless its SHA-256 is the manifest's
    opts = {k: v for k, v in (inputs.get("options") or {}).items() if k in ("audit", "uncertainty", "seed", "report", "excel", "lang")}
    return run_build(spec, panel, out, sheet=inputs.get("sheet"), overrides=inputs.get("set"), force=force, progress=progress, **opts)


def build_again(folder: str | Path | BuildFolder, data: str | Path | None = None, sheet: str | None = None, *,
                cache: dict | None = None, tol: float = 1e-9) -> Build:
    """The Build of a finished folder made again, from its spec and recorded data file
    (:meth:`BuildFolder.inputs`), and checked against the folder: every score it computes must equal the
    folder's (within ``tol``, :meth:`BuildFolder.check_same`), else DataError.

    This is how an analysis of a finished folder (``audit --build``, ``sensitivity --build``) gets the
    Build it needs: the folder keeps the scores and stage tables but not the whole data file
    (denominators, unit attributes) the audit reads, so the build is run again and proved to be the
    same one. ``cache`` is :func:`~index_engine.pipeline.build`'s, for many builds of the same data.
    """
    f = folder if isinstance(folder, BuildFolder) else load_build(folder)
    spec, panel = f.inputs(data, sheet)
    b = build(spec, panel, cache=cache)
    f.check_same(b, tol=tol)
    return b


def run_audit(
    spec: str | Path | Spec, data: str | Path | Panel | None = None, out: str | Path | None = None, *,
    sheet: str | None = None, overrides: Mapping[str, Any] | None = None, force: bool = False,
) -> Job:
    """Build ``spec`` on its data and write the audit alone into a folder of its own, as ``index-engine audit
    SPEC`` does: the folder (default ``outputs/<index id>/<timestamp>/audit``) is written atomically and
    refused if it exists unless ``force`` (checked before the work). For a finished build's folder,
    :func:`audit_folder`."""
    from .audit import audit

    if out is not None:
        check_target(Path(out), force=force, replaceable="audit.json")
    spec, panel = read_inputs(spec, data, sheet=sheet, overrides=overrides)
    b = build(spec, panel)
    a = audit(b)
    target = Path(out) if out is not None else default_out(spec.index.id) / "audit"
    write_folder(target, a.write, force=force, replaceable="audit.json")  # one rename, as every command writes
    return Job(target, b, a)


def audit_folder(path: str | Path | BuildFolder, *, data: str | Path | None = None, sheet: str | None = None,
                 force: bool = False, report: bool = True) -> tuple[Audit, Path]:
    """Audit a finished build folder and write ``audit/`` into it; returns the Audit and that path.

    The audit needs the whole Build (stage tables, the data file's denominators and unit
    attributes), which a folder keeps only in part, so the build is run again from the folder's
    ``spec.yaml`` and the data file its manifest records (or ``data``), refused unless that file's
    SHA-256 is the recorded one and the rebuilt scores are the folder's (:func:`build_again`).
    ``audit/`` is written atomically (a temporary folder renamed into place); an existing one is
    refused unless ``force``. With ``report`` a report the folder holds is rendered again, so that
    it shows the audit. The manifest is left as the build wrote it.
    """
    from .audit import audit
    from .report import render_report

    f = path if isinstance(path, BuildFolder) else load_build(path)
    target = f.path / "audit"
    if target.exists() and not force:
        raise OutputExistsError(f"{target}: the folder exists already; pass --force to replace it")
    a = audit(build_again(f, data, sheet))
    write_folder(target, lambda tmp: a.write(tmp, force=True), force=force)
    if report and f.has_report:
        render_report(f.path, force=True)
    return a, target
