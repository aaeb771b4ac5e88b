"""Render a build folder's report pages: report model → page contexts → jinja2 (autoescape on).

Stage three of three. :func:`render_report` reads a finished build folder into a
:class:`~index_engine.report.model.ReportModel` (:mod:`.model`), has each page's context built
(:mod:`.site`, with the names and numbers of :mod:`.format`: plain rows of codes and numbers, plus
:class:`~index_engine.report.charts.Chart` objects) and renders the templates under ``templates/``
with the format filters of :mod:`index_engine.report.i18n` registered. The
pages, ``report.css``, ``report.js`` and ``plotly.min.js`` (from the installed plotly package) go
into one folder that opens from disk or any static web server with no network.

Pages: ``index.html`` (overview), ``units.html``, ``framework.html``, ``unit-<code>.html`` per unit,
``dim-<code>.html`` per aggregate below the index, ``ind-<code>.html`` per indicator,
``methodology.html``, ``scorecard.html`` and ``targets.html`` (when the build has ``targets.csv``),
``implementation.html`` (when the spec has ``measures:``; see :mod:`index_engine.report.loop`),
``robustness.html`` (when it has ``audit/`` or ``sensitivity/``), ``explorer.html`` (自定义权重, see
:mod:`index_engine.report.explorer`) and ``brief-<code>.html`` per tracked unit (the printable
brief, see :mod:`index_engine.report.brief`).

A firm-level build (a large build written as Parquet, or more than
:data:`~index_engine.report.firms.SUMMARY_UNITS` units) gets summary pages instead, with no page per
unit: ``index.html``, ``distribution.html``, ``grades.html``, ``firms.html`` (the top firms),
``indicators.html`` (what separates the grades), ``methodology.html`` and, as above,
``targets.html`` and ``robustness.html`` (see :mod:`index_engine.report.firms`).
"""

from __future__ import annotations

import functools
import importlib.util
import pkgutil
import shutil
from pathlib import Path
from typing import Any, Iterable, Mapping

import jinja2

from .. import __version__
from ..errors import OutputExistsError
from ..folder import load_build
from ..atomic import write_folder
from ..outputs import XLSX, write_rows
from ..parallel import fork_call
from ..spec import Spec
from . import i18n
from .environment import OPTIONS, ReportEnvironment, TemplateCodeCache, template_cache_folder
from .firms import FirmPageBuilder, is_summary_build, load_firm_model
from .format import Formatter
from .model import MARK_KINDS, ReportModel, load_model
from .site import PageBuilder, extra_static

HERE = Path(__file__).resolve().parent


TEMPLATE_CODES = TemplateCodeCache(template_cache_folder)
"""The compiled templates: in memory for the process, in files for later ones (see
:class:`~index_engine.report.environment.TemplateCodeCache`)."""


def make_env(lang: str, m: ReportModel) -> jinja2.Environment:
    """The jinja2 environment: autoescape on, strict undefined, the format filters registered."""
    env = ReportEnvironment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")), bytecode_cache=TEMPLATE_CODES, **OPTIONS
    )
    f = Formatter(m, lang)
    env.filters.update(
        num=f.num,
        score=f.score,
        signed=f.signed,
        pct=f.pct,
        qty=f.qty,
        rank=i18n.fmt_rank,
        rankchg=i18n.fmt_int_signed,
        nname=f.node_name,
        uname=f.unit_name,
        npage=lambda c: m.nodes[c].page if c in m.nodes else "",
        nopath=i18n.without_folders,
        upage=lambda u: m.units[u].page if u in m.units else "",
        ulabel=f.unit_label,
        status=f.status,
        stepname=lambda s: f.keyed("step_", s),
        checkname=lambda s: f.keyed("check_", s),
        flagmsg=f.flag_message,
        basis=lambda s: f.keyed("basis_", s),
        statname=lambda s: f.keyed("stat_", s),
        typename=lambda s: f.keyed("type_", s),
        fitname=lambda s: f.keyed("fit_", s),
        yesno=lambda v: f.t("yes") if v in (True, "True", "true") else f.t("no") if v in (False, "False", "false") else v,
        weight=f.weight,
        params=f.params,
        heat=f.heat,
        reason=f.verdict_reason,
        ours=f.in_script,
        text=lambda obj, field: i18n.pick_text(obj, field, lang),
        datakind=lambda s: f.keyed("flagdata_", s),
        basename=lambda s: Path(str(s)).name,
        segname=lambda s: f.keyed("seg_", s),
    )
    env.globals.update(t=f.t, lang=lang, m=m, fmt=f, version=__version__, mark=f.mark, MARK_KINDS=MARK_KINDS)
    return env


def _check_out(out_dir: Path, force: bool) -> None:
    if not out_dir.exists():
        return
    if not force:
        raise OutputExistsError(f"{out_dir}: the folder exists already; choose another --out or pass --force")
    if not out_dir.is_dir():
        raise OutputExistsError(f"{out_dir}: exists and is not a folder")
    if any(out_dir.iterdir()) and not (out_dir / "index.html").is_file():
        raise OutputExistsError(
            f"{out_dir}: the folder is not empty and holds no report (index.html); refusing to replace it"
        )


def render_report(
    build_dir: str | Path, out_dir: str | Path | None = None, lang: str | None = None, *, force: bool = False,
    workbook: bool | None = None, spec: Spec | None = None,
) -> Path:
    """Write the report pages of a finished build folder and return the report folder.

    Parameters
    ----------
    build_dir : path of a folder written by ``index-engine build`` (or ``Build.write``)
    out_dir : path, default ``build_dir / "report"``
        Written into a temporary folder and renamed at the end, so a failure leaves nothing behind.
    lang : {"zh", "en"} or None, default None
        None: ``zh`` when the spec's index has a ``name_zh``, else ``en``.
    force : bool, default False
        Replace ``out_dir`` if it exists (only if it is empty or holds a report).
    workbook : bool, optional
        Whether the build folder has ``results.xlsx`` (None: look); the pages link to it when the
        report sits in its build folder.
    spec : Spec, optional
        The spec the folder was just written from, taken as its ``spec.yaml`` when it is the one the
        manifest records (see :func:`~index_engine.folder.load_build`).

    Returns
    -------
    Path of the report folder; open ``index.html``.

    Raises
    ------
    DataError
        ``build_dir`` is not a finished build folder.
    OutputExistsError
        ``out_dir`` exists and ``force`` is False.
    ValueError
        ``lang`` is not "zh" or "en".
    """
    build_dir = Path(build_dir)
    if lang is not None and lang not in i18n.LANGS:
        raise ValueError(f"lang must be one of {', '.join(map(repr, i18n.LANGS))}; got {lang!r}")
    out_dir = Path(out_dir) if out_dir is not None else build_dir / "report"
    _check_out(out_dir, force)
    folder = load_build(build_dir, spec)
    if is_summary_build(folder):  # many units (a firm-level build): summary pages, none per unit
        m: ReportModel = load_firm_model(folder)
        builder: PageBuilder = FirmPageBuilder(m, lang or m.default_lang)
    else:
        m = load_model(folder)
        builder = PageBuilder(m, lang or m.default_lang)
    if workbook is None:
        workbook = (build_dir / XLSX).is_file()
    builder.has_xlsx = workbook and out_dir.resolve().parent == build_dir.resolve()
    lang = builder.lang
    env = make_env(lang, m)
    env.globals["has_xlsx"] = builder.has_xlsx
    n = len(builder.page_makers())

    def write_pages(tmp: Path, which: Iterable[int]) -> tuple[list[tuple[str, bool]], dict[str, Any]]:
        """Make, render and write the pages of the makers ``which`` with their charts' numbers; returns
        each page's file and whether it has charts, and the tables they registered for download."""
        known = set(builder.downloads)
        pages = builder.make_pages(which)
        for p in pages:
            html = env.get_template(p.template).render(**p.context)
            (tmp / p.file).write_text(html, encoding="utf-8")
            for c in p.charts:
                write_rows(c.table.columns, c.table.rows, tmp / c.csv)
        return [(p.file, bool(p.charts)) for p in pages], {k: v for k, v in builder.downloads.items() if k not in known}

    def fill(tmp: Path) -> None:
        (tmp / "data").mkdir()
        if n < PAGES_FOR_TWO_PROCESSES:
            written, _ = write_pages(tmp, range(n))
        else:
            second = builder.second_share()
            with fork_call(functools.partial(write_pages, tmp, second)) as theirs:  # where a second core helps
                written, _ = write_pages(tmp, sorted(set(range(n)) - set(second)))
                more, downloads = theirs.result()
            builder.downloads.update(downloads)
            written += more
        for name in ("report.css", "report.js", *extra_static([f for f, _ in written])):
            shutil.copyfile(HERE / "static" / name, tmp / name)
        if any(charts for _, charts in written):
            write_plotlyjs(tmp / "plotly.min.js")
        write_downloads(tmp, builder.downloads)

    return write_folder(out_dir, fill, force=True)  # _check_out has refused what must not be replaced


PAGES_FOR_TWO_PROCESSES = 12
"""From this many page makers on, a report's pages are made by two processes where a second core helps
(:func:`index_engine.parallel.fork_call`): about every other maker each (see
:meth:`~index_engine.report.site.PageBuilder.second_share`). The pages are the same either way."""


def write_downloads(folder: Path, tables: Mapping[str, tuple[list[str], list[list[Any]]]]) -> None:
    """``data/<name>.csv``: each registered table, through the project's CSV writer
    (:func:`index_engine.outputs.write_rows`: formula-safe text). Each chart's numbers are written
    with its page."""
    for path, (columns, rows) in tables.items():
        write_rows(columns, rows, folder / path)


PLOTLYJS = "package_data/plotly.min.js"
"""Where the plotly package keeps the plotly.js it ships."""


def write_plotlyjs(path: Path) -> None:
    """plotly.js as the installed plotly package ships it (no network): its file copied as it is,
    found without importing plotly (which costs more than the copy); read through plotly's loader
    where the package is not a folder of files (a zip)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None:
        raise ModuleNotFoundError("the report needs the plotly package (pip install plotly)", name="plotly")
    shipped = Path(next(iter(spec.submodule_search_locations or [""]))) / PLOTLYJS
    if shipped.is_file():
        shutil.copyfile(shipped, path)
        return
    data = pkgutil.get_data("plotly", PLOTLYJS)
    if data is None:
        raise FileNotFoundError(f"the installed plotly package has no {PLOTLYJS}")
    path.write_bytes(data)
