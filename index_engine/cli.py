"""The ``index-engine`` command: thin wrappers over the same functions scripts call.

Exit codes: 0 success; 2 bad input (a one-line message naming the file and place, no
traceback; ``--debug`` shows one), a full disk or a missing permission; 130 / 143 / 129 after
Ctrl-C, SIGTERM or SIGHUP (nothing half-written is left); 1 anything else.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import os
import sys
import traceback
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Sequence

from . import __version__
from ._native import no_huge_pages
from .atomic import Interrupted, check_file_target, check_target
from .errors import IndexEngineError, SpecError
from .yamlsafe import read_yaml_text

if TYPE_CHECKING:  # the commands import numpy, pandas and the engine when they run (see cmd_build)
    import pandas as pd

EXIT_OK, EXIT_FAIL, EXIT_BAD_INPUT = 0, 1, 2


def parse_set(items: Sequence[str] | None) -> dict[str, Any]:
    """``["steps.normalize.method=zscore", "tree.VC1.weight=2"]`` → {path: YAML value}."""
    out: dict[str, Any] = {}
    for item in items or ():
        path, sep, value = item.partition("=")
        if not sep or not path.strip():
            raise SpecError(f"--set {item!r}: write it as path=value, e.g. --set steps.normalize.method=zscore")
        # the spec's own YAML reader: no Python tags, no key twice, aliases and nesting bounded
        out[path.strip()] = read_yaml_text(value, f"--set {item!r}") if value.strip() else ""
    return out


def load_inputs(args: argparse.Namespace):
    """The spec (with --set applied) and its data (--data, or the spec's own data file)."""
    from .job import read_inputs

    return read_inputs(args.spec, getattr(args, "data", None), sheet=getattr(args, "sheet", None),
                       overrides=parse_set(getattr(args, "set", None)), progress=getattr(args, "progress", None))


def cmd_build(args: argparse.Namespace) -> int:
    from . import readahead

    if args.data is not None and args.backend == "local":
        readahead.start(args.data)  # read while the engine is imported
    from .job import run_build

    engine_imported()
    job = run_build(
        args.spec, args.data, args.out, sheet=args.sheet, overrides=parse_set(args.set), force=args.force,
        audit=args.audit, uncertainty=args.uncertainty, report=not args.no_report, excel=not args.no_excel,
        backend=args.backend, scheduler=args.scheduler, partitions=args.partitions, progress_file=args.progress,
    )
    _print_summary(job.build)
    print(f"wrote {job.folder}")
    return EXIT_OK


def cmd_rebuild(args: argparse.Namespace) -> int:
    from .job import rebuild

    job = rebuild(args.build_dir, args.out, force=args.force)
    _print_summary(job.build)
    print(f"wrote {job.folder}")
    return EXIT_OK


def _print_summary(b) -> None:
    """The index's top 10 units of the latest year (a partial sort: a million units cost no more than a few)."""
    from .panel import unit_count

    s = b.summary(top=10)
    names = b.panel.unit_names(list(s["unit"]))
    year = f" ({max(b.panel.years)})" if b.panel.has_years else ""
    refs = b.spec.reference_units
    n_ref = len(set(refs) & set(b.panel.units)) if refs else 0
    n_units = unit_count(b.scores.index)
    ref = f" (+{n_ref} reference)" if n_ref else ""
    dropped = b.dropped_indicators
    n_ind = len(b.spec.indicators)
    inds = f"{n_ind - len(dropped)} of {n_ind} indicators ({len(dropped)} dropped: no data)" if dropped else f"{n_ind} indicators"
    print(f"{b.spec.index.id}{year}: {n_units} units{ref}, {inds}")
    years = b.scores.index.get_level_values("year")
    held = b.withheld[b.spec.tree.code].xs(years.max(), level="year") if b.withheld is not None else None
    for u, score, rank in zip(s["unit"], s["score"], s["rank"]):
        withheld = held is not None and bool(held.get(u))
        shown = f"{score:.2f}" if score == score else "withheld" if withheld else "–"
        print(f"  {'' if rank is None or str(rank) == '<NA>' else int(rank):>4}  {names.get(u, u)}  {shown}")
    latest = int((years == years.max()).sum())  # the units of the latest year, as the summary lists
    if latest > 10:
        print(f"  ... {latest - 10} more")
    _print_coverage(b)


def _print_coverage(b) -> None:
    """The data notice, the withheld scores and the coverage of the index and each dimension in the latest
    year: a row per unit, or (more than 40 units) the minimum, median and maximum over the units."""
    from .coverage import coverage_summary
    from .outputs import data_notice

    notice = data_notice(b)
    print(notice[b.spec.index.lang])
    held = b.withheld
    n_held = 0 if held is None else int(held.to_numpy().sum())
    if n_held:
        print(f"withheld: {n_held} scores below the publication threshold (scores.csv status says why)")
    cov = coverage_summary(b)
    year = f" ({max(b.panel.years)})" if b.panel.has_years else ""
    print(f"coverage{year}: share of each node's nominal weight backed by observed data")
    if len(cov) > 40:
        cov = _min_median_max(cov)
    else:
        names = b.panel.unit_names(list(cov.index))
        cov.index = [names.get(u, u) for u in cov.index]
    print(cov.to_string(float_format=lambda v: f"{v:.2f}"))


def _min_median_max(df: pd.DataFrame) -> pd.DataFrame:
    """Rows min, median and max of each column of ``df``, missing values left out (``describe()``'s min, 50%
    and max), column by column: a million units are not copied."""
    import numpy as np
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a column without a value: NaN
        stats = {c: [np.nanmin(v), np.nanpercentile(v, 50), np.nanmax(v)] if len(v) else [np.nan] * 3
                 for c, v in ((c, df[c].to_numpy(dtype=float)) for c in df.columns)}
    return pd.DataFrame(stats, index=["min", "median", "max"], columns=df.columns)


def cmd_audit(args: argparse.Namespace) -> int:
    if args.build is not None:
        from .job import audit_folder

        if args.out is not None:
            raise SpecError("--build writes audit/ into that build folder and --out makes a new one; give one of them")
        folder = _build_folder(args)
        a, out = audit_folder(folder, data=args.data, sheet=args.sheet, force=args.force)
        spec = folder.spec
    else:
        from .job import run_audit

        _need_spec(args)
        job = run_audit(args.spec, args.data, args.out, sheet=args.sheet, overrides=parse_set(args.set), force=args.force)
        a, out, spec = job.audit, job.folder, job.build.spec
    summary = a.summary()
    print(f"{spec.index.id}: audit of {len(spec.indicators)} indicators")
    for k, v in summary.items():
        print(f"  {k}: {v}")
    print(f"wrote {out}")
    return EXIT_OK


def _need_spec(args: argparse.Namespace) -> None:
    if args.spec is None:
        raise SpecError(f"index-engine {args.command}: give a SPEC, or --build DIR for a finished build folder")


def _build_folder(args: argparse.Namespace):
    """The finished build folder of ``--build``; a SPEC given beside it must be the one it was built from."""
    from .folder import load_build
    from .spec import load_spec

    if args.set:
        raise SpecError("--set cannot change the spec of an existing build (--build); build again with --set, or use --out")
    folder = load_build(args.build)
    if args.spec is not None and load_spec(args.spec).hash() != folder.spec.hash():
        raise SpecError(f"{folder.path}: that build was made from another spec than {args.spec}; build again or use --out")
    return folder


def cmd_targets(args: argparse.Namespace) -> int:
    from .outputs import write_csv
    from .targets import track_targets

    spec, panel = load_inputs(args)
    if spec.tracking is None:
        raise SpecError(f"{args.spec}: tracking: the spec names no tracked unit (add tracking: {{unit: CODE}})")
    table = track_targets(spec, panel)
    if table.empty:
        raise SpecError(f"{args.spec}: no indicator has a target")
    if args.out:
        out = Path(args.out)
        check_file_target(out, force=args.force)
        out.parent.mkdir(parents=True, exist_ok=True)
        write_csv(table, out)  # as the build writes targets.csv
    from .measures import spec_measure_table
    from .scorecard import scorecard_text

    measures = spec_measure_table(spec, table) if spec.measures else None
    print(scorecard_text(spec, table, measures))
    if args.out:
        print(f"wrote {args.out}")
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from .diff import diff_builds

    d = diff_builds(args.old, args.new)
    print(f"{args.old} -> {args.new}")
    for k, v in d.summary().items():
        print(f"  {k}: {v:g}" if isinstance(v, float) else f"  {k}: {v}")
    top = d.scores.reindex(d.scores["change"].abs().sort_values(ascending=False).index).head(args.top)
    for _, r in top.iterrows():
        print(f"  {r['unit']} {r['year']} {r['node']}: {r['score_old']:.4g} -> {r['score_new']:.4g} ({r['change']:+.4g})")
    for _, r in d.spec.head(args.top).iterrows():
        print(f"  spec {r['path']}: {r['old']!r} -> {r['new']!r}")
    if args.out:
        print(f"wrote {d.write(args.out, force=args.force)}")
    return EXIT_OK


def cmd_weights(args: argparse.Namespace) -> int:
    from .pipeline import build
    from .weights import weight_set_yaml

    spec, panel = load_inputs(args)
    b = build(spec, panel)
    text = weight_set_yaml(b, Path(args.out) if args.out else None)
    if args.out:
        out = Path(args.out)
        check_file_target(out, force=args.force)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out}")
    else:
        print(text, end="")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from .spec import load_spec
    from .validate import print_report, validate_data

    if args.data is None:
        spec = load_spec(args.spec, overrides=parse_set(args.set))
        if spec.data is None or spec.data.file is None:
            print(f"{args.spec}: spec OK ({len(spec.indicators)} indicators); no data file to check")
            return EXIT_OK
    if args.out is not None:
        check_target(Path(args.out), force=args.force)
    report = validate_data(args.spec, args.data, sheet=args.sheet, overrides=parse_set(args.set))
    print_report(report, args.spec)
    if args.out is not None:
        print(f"wrote {report.write(args.out, force=args.force)}")
    return EXIT_OK if report.ok else EXIT_BAD_INPUT


def cmd_template(args: argparse.Namespace) -> int:
    from .spec import load_spec
    from .template import parse_years, write_template

    spec = load_spec(args.spec, overrides=parse_set(args.set))
    years = parse_years(args.years) if args.years else None
    made = write_template(spec, args.output, data=args.data, sheet=args.sheet, years=years, force=args.force)
    print(f"{spec.index.id}: data-collection workbook, {made['indicators']} indicators x {made['units']} units x "
          f"{len(made['years'])} years ({made['rows']} rows to fill)")
    print(f"wrote {args.output}")
    return EXIT_OK


def cmd_import_coinr(args: argparse.Namespace) -> int:
    from .coinr import imeta_to_dict
    from .spec import write_spec_yaml

    out = Path(args.output)
    check_file_target(out, force=args.force)
    data = imeta_to_dict(args.imeta, index_id=args.id)
    if args.idata:
        rel = Path(args.idata).resolve()
        try:
            rel = rel.relative_to(out.resolve().parent)
        except ValueError:
            rel = Path(os.path.relpath(rel, out.resolve().parent))
        data["data"] = {"file": str(rel)}
    write_spec_yaml(data, out)
    print(f"wrote {out}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from .report import render_report

    out = render_report(args.build_dir, args.out, lang=args.lang, force=args.force)
    print(f"wrote {out / 'index.html'}")
    return EXIT_OK


@contextlib.contextmanager
def _dask_client(backend: str, scheduler: str | None):
    """A dask.distributed client for --backend dask (a LocalCluster without --scheduler), else None."""
    if backend != "dask":
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise SpecError("--backend dask needs dask.distributed: pip install 'index_engine[dask]'") from None
    cluster = None if scheduler else LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
    client = Client(scheduler or cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from .job import run_sensitivity

    engine_imported()
    if args.build is not None and args.out is not None:
        raise SpecError("--build adds sensitivity/ to an existing build folder and --out makes a new one; give one of them")
    for flag, v in (("--n", args.n), ("--jobs", args.jobs)):
        if v < 1:
            raise SpecError(f"{flag} must be at least 1. Got {v} instead")
    if args.build is not None:
        where = {"build_dir": _build_folder(args), "data": args.data, "sheet": args.sheet}
    else:
        _need_spec(args)  # run_sensitivity refuses an existing --out before the work
        where = {"spec": args.spec, "data": args.data, "sheet": args.sheet, "out": args.out, "overrides": parse_set(args.set),
                 "report": args.report, "excel": args.excel}
    with _dask_client(args.backend, args.scheduler) as client:
        job = run_sensitivity(**where, mode=args.mode, n=args.n, seed=args.seed, jobs=args.jobs, force=args.force, client=client)
    res, b = job.sensitivity, job.build
    m = res.manifest
    print(f"{b.spec.index.id}: {args.mode}, {m['builds']} builds in {m['timings_s']['total_s']:.2f} s")
    if res.sobol is not None:
        print(res.sobol.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    elif res.remove_one is not None:
        top = res.remove_one.sort_values("mean_abs_rank_change", ascending=False).head(10)
        print(top.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    if res.rank_stats is not None:
        rs = res.rank_stats
        last = rs[rs["year"] == rs["year"].max()].head(10)
        print("  rank  median  5-95%     unit")
        for _, r in last.iterrows():
            print(f"  {r['nominal_rank']:>4.0f}  {r['median_rank']:>6.1f}  {r['q05_rank']:>3.0f}-{r['q95_rank']:<4.0f}  {r['unit']}")
    for w in [w for w in m.get("warnings", []) if w not in b.warnings][:5]:  # the build's were shown as they came
        print(f"warning: {w}", file=sys.stderr)
    print(f"wrote {job.folder / 'sensitivity'}")
    return EXIT_OK


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="index-engine",
        description="Build composite indices from a YAML spec and a data file.",
    )
    p.add_argument("--version", action="version", version=f"index-engine {__version__}")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback of an error")

    def common(sp: argparse.ArgumentParser, data: bool = True, build_dir: bool = False) -> None:
        if build_dir:  # the spec may come from the --build folder instead
            sp.add_argument("spec", nargs="?", help="the spec YAML (weights/*.yaml) or a COINr iMeta CSV; "
                            "with --build: the folder's own (a SPEC given must be the same)")
        else:
            sp.add_argument("spec", help="the spec YAML (weights/*.yaml) or a COINr iMeta CSV")
        if data:
            sp.add_argument("--data", help="the data file (CSV, .xlsx or Parquet); default: the spec's data.file")
            sp.add_argument("--sheet", help="the Excel sheet to read (default: the first)")
            sp.add_argument("--progress", metavar="FILE", help="the progress file of the plan's measures (CSV or .xlsx: "
                            "measure, date, status, evidence, source); default: the spec's data.progress, unless --data "
                            "replaces the data file")
        sp.add_argument(
            "--set", action="append", metavar="PATH=VALUE", help="override one spec value for this run (repeatable)"
        )

    b = sub.add_parser("build", parents=[debug], help="build an index and write every table into a new folder")
    common(b)
    b.add_argument("--out", help="output folder (default outputs/<index-id>/<timestamp>/); must not exist")
    b.add_argument("--force", action="store_true", help="replace --out if it exists")
    b.add_argument("--audit", action="store_true", help="also write the statistical audit into audit/")
    b.add_argument("--no-excel", action="store_true", help="skip results.xlsx")
    b.add_argument("--no-report", action="store_true", help="skip the report pages (report/)")
    b.add_argument("--uncertainty", type=int, metavar="N",
                   help="also run an N-sample uncertainty analysis into sensitivity/: the spec's uncertainty: factors, "
                   "or without them ±25%% weight noise per level and arithmetic vs geometric aggregation")
    b.add_argument("--backend", choices=("local", "dask"), default="local",
                   help="local (default) or dask: partitions of units run as Dask tasks")
    b.add_argument("--scheduler", help="with --backend dask: a dask.distributed scheduler address (default: a LocalCluster)")
    b.add_argument("--partitions", type=int, help="with --backend dask: how many pieces to cut the units into")
    b.set_defaults(func=cmd_build)

    rb = sub.add_parser("rebuild", parents=[debug], help="build a build folder again from what it records (spec, data, options)")
    rb.add_argument("build_dir", metavar="BUILD_DIR", help="a folder written by index-engine build")
    rb.add_argument("--out", help="output folder (default outputs/<index-id>/<timestamp>/); must not exist")
    rb.add_argument("--force", action="store_true", help="replace --out if it exists (BUILD_DIR itself, too)")
    rb.set_defaults(func=cmd_rebuild)

    a = sub.add_parser("audit", parents=[debug], help="statistical audit: coverage, outliers, correlations, Cronbach, PCA")
    common(a, build_dir=True)
    a.add_argument("--out", help="output folder (default outputs/<index-id>/<timestamp>/audit/)")
    a.add_argument("--build", metavar="DIR", help="audit this finished build folder and write audit/ into it "
                   "(it is built again from its spec.yaml and recorded data file, which must still be there, "
                   "or pass --data; the scores must come out the same)")
    a.add_argument("--force", action="store_true", help="replace audit files in --out, or the audit/ folder of --build")
    a.set_defaults(func=cmd_audit)

    t = sub.add_parser("targets", parents=[debug], help="progress toward the spec's policy targets")
    common(t)
    t.add_argument("--out", help="write the table to this CSV file")
    t.add_argument("--force", action="store_true", help="replace --out if it exists")
    t.set_defaults(func=cmd_targets)

    df = sub.add_parser("diff", parents=[debug], help="what changed between two build folders")
    df.add_argument("old", help="the earlier build folder")
    df.add_argument("new", help="the later build folder")
    df.add_argument("--out", help="write the differences (CSV per kind) into this folder")
    df.add_argument("--top", type=int, default=10, help="how many of the largest changes to print (default 10)")
    df.add_argument("--force", action="store_true", help="replace --out if it exists")
    df.set_defaults(func=cmd_diff)

    w = sub.add_parser("weights", parents=[debug], help="estimate the spec's weights and save them as a weight-set YAML")
    common(w)
    w.add_argument("--out", help="the weight-set YAML to write (default: print it)")
    w.add_argument("--force", action="store_true", help="replace --out if it exists")
    w.set_defaults(func=cmd_weights)

    rp = sub.add_parser("report", parents=[debug], help="write the report pages (HTML) of a finished build folder")
    rp.add_argument("build_dir", metavar="BUILD_DIR", help="a folder written by index-engine build")
    rp.add_argument("--lang", choices=["zh", "en"], help="language of the pages (default: zh when the index has a Chinese name)")
    rp.add_argument("--out", help="report folder (default BUILD_DIR/report/); must not exist")
    rp.add_argument("--force", action="store_true", help="replace --out if it exists")
    rp.set_defaults(func=cmd_report)

    se = sub.add_parser(
        "sensitivity", parents=[debug], help="uncertainty and sensitivity analysis: rank intervals, Sobol indices, remove-one"
    )
    common(se, build_dir=True)
    se.add_argument(
        "--mode", choices=("uncertainty", "sobol", "remove"), default="uncertainty",
        help="uncertainty: N random builds and rank intervals; sobol: Saltelli design, N(d+2) builds; "
        "remove: each indicator and dimension left out (default: uncertainty)",
    )
    se.add_argument("--n", type=int, default=1000, help="builds (uncertainty) or base sample size N (sobol); default 1000")
    se.add_argument("--seed", type=int, default=0, help="random seed (default 0); the same seed gives the same numbers")
    se.add_argument("--jobs", type=int, default=1, help="processes for the distinct upstream builds (default 1)")
    se.add_argument("--backend", choices=("local", "dask"), default="local",
                    help="dask: run the distinct upstream builds as Dask tasks (same numbers)")
    se.add_argument("--scheduler", help="with --backend dask: a dask.distributed scheduler address (default: a LocalCluster)")
    se.add_argument("--out", help="new build folder to write, with sensitivity/ inside (default outputs/<index-id>/<timestamp>/)")
    se.add_argument("--build", metavar="DIR", help="add sensitivity/ to this finished build folder (its spec.yaml "
                    "and recorded data file are used; pass --data if the file has moved)")
    se.add_argument("--force", action="store_true", help="replace --out, or the sensitivity/ folder of --build, if it exists")
    se.add_argument("--report", action="store_true",
                    help="with a new folder (--out): also write the report pages (a sensitivity run writes the build's "
                    "tables and sensitivity/ only, so it stays quick; `index-engine report DIR` renders them later)")
    se.add_argument("--excel", action="store_true", help="with a new folder (--out): also write results.xlsx")
    se.set_defaults(func=cmd_sensitivity)

    v = sub.add_parser("validate", parents=[debug], help="check a spec and its data without building: every problem in one pass")
    common(v)
    v.add_argument("--out", help="write the report as CSV files into this new folder")
    v.add_argument("--force", action="store_true", help="replace --out if it exists")
    v.set_defaults(func=cmd_validate)

    tp = sub.add_parser("template", parents=[debug], help="write a data-collection workbook (.xlsx) for a spec's indicators")
    common(tp)
    tp.add_argument("-o", "--output", required=True, help="the workbook to write (.xlsx)")
    tp.add_argument("--years", help="the years wanted: 2019-2025 or 2023,2025 (default: those of the data, else last year)")
    tp.add_argument("--force", action="store_true", help="replace the output file if it exists")
    tp.set_defaults(func=cmd_template)

    ic = sub.add_parser("import-coinr", parents=[debug], help="write a spec from COINr's iMeta (and iData) tables")
    ic.add_argument("imeta", help="COINr iMeta CSV")
    ic.add_argument("idata", nargs="?", help="COINr iData CSV (recorded as the spec's data file)")
    ic.add_argument("-o", "--output", required=True, help="the spec YAML to write")
    ic.add_argument("--id", help="index id (default: the iMeta root's code)")
    ic.add_argument("--force", action="store_true", help="replace the output file if it exists")
    ic.set_defaults(func=cmd_import_coinr)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    return run(args.func, args)


_AS_COMMAND = False
"""True in the ``index-engine`` process itself (:func:`console_main`); False where a script or a test calls :func:`main`."""


def console_main() -> NoReturn:
    """The ``index-engine`` command (and ``python -m index_engine``): :func:`main`, then exit with its code.

    The objects alive once a command has imported the engine (:func:`engine_imported`) and when it ends
    are frozen out of the garbage collector (``gc.freeze``), as long-running Python servers do with
    what they import: the collections made during the run then skip the imported modules (they were
    most of the collector's time in a Beijing build), and those the interpreter makes as it shuts down
    skip the build's tables too, which otherwise take a tenth of a second or more only to end the
    process. Cyclic garbage made during the command is collected as before; exit handlers run and files
    are flushed and closed as before. The process also runs without transparent huge pages
    (:func:`index_engine._native.no_huge_pages`: a quarter of a large build's CPU time went to the kernel
    zeroing them).
    """
    global _AS_COMMAND
    _AS_COMMAND = True
    no_huge_pages()
    code = main()
    gc.freeze()
    sys.exit(code)


def engine_imported() -> None:
    """Called by a command once it has imported what it runs: in the ``index-engine`` process, what is alive
    now (the imported modules, mostly) is frozen out of the garbage collector (see :func:`console_main`);
    nothing where a script or a test calls :func:`main`, whose later garbage must stay collectable."""
    if _AS_COMMAND:
        gc.freeze()


_ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENAMETOOLONG}
"""OSErrors the user fixes (disk full, no permission, read-only, name too long): one line and exit 2."""


def run(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command: an IndexEngineError (or a full disk, a missing permission) is one line and exit 2;
    Ctrl-C, SIGTERM and SIGHUP exit 128 + the signal number; a closed stdout (``| head``) exits quietly;
    anything else is "internal error" and exit 1. ``--debug`` shows the traceback."""

    def show_warning(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
        print(f"warning: {category.__name__}: {message}", file=sys.stderr)

    shown, warnings.showwarning = warnings.showwarning, show_warning
    try:
        code = func(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_OK
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - the CLI's last line of defence
        code, message = _failure(exc)
        if getattr(args, "debug", False):
            traceback.print_exc()
        hook, sys.unraisablehook = sys.unraisablehook, _ignore  # before the traceback's objects are freed
        failed_write = isinstance(exc, OSError)  # a full disk, ...: half-written files to free quietly
    finally:
        warnings.showwarning = shown
    print(message, file=sys.stderr)
    if failed_write:
        _collect_quietly(hook)
    else:
        sys.unraisablehook = hook
    return code


def _failure(exc: BaseException) -> tuple[int, str]:
    """Exit code and one-line message of a failed command."""
    if isinstance(exc, IndexEngineError):
        return EXIT_BAD_INPUT, f"error: {exc}"
    if isinstance(exc, KeyboardInterrupt):
        return 128 + (exc.signum if isinstance(exc, Interrupted) else 2), "interrupted"
    if isinstance(exc, OSError) and exc.errno in _ENVIRONMENT_ERRNOS:
        where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f is not None)
        return EXIT_BAD_INPUT, f"error: {where + ': ' if where else ''}{exc.strerror or exc}"
    return EXIT_FAIL, _internal(exc)


def _internal(exc: BaseException) -> str:
    return f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)"


def _silence_stdout() -> None:
    """After a BrokenPipeError: point stdout at devnull so the exit flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _ignore(unraisable: object) -> None:
    pass


def _collect_quietly(hook: Callable[[Any], object]) -> None:
    """Free what the failed command left (e.g. half-written workbook sheets) without printing
    "Exception ignored" tracebacks for writes that cannot succeed (a full disk), then restore ``hook``."""
    try:
        gc.collect()
    finally:
        sys.unraisablehook = hook


if __name__ == "__main__":
    sys.exit(main())
