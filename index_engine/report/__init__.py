"""Report pages of a finished build: bilingual, self-contained HTML with plotly charts.

Three stages, as ydata-profiling renders its reports: the build folder is read into a plain
report model (:mod:`.model`), each page's context is built from it (:mod:`.render`, with charts
from :mod:`.charts` and words and number formats from :mod:`.i18n`), and jinja2 renders the
templates with autoescape on. ``plotly.min.js`` is written once beside the pages, so the folder
opens from disk or any static web server with no network. A firm-level build (wide Parquet, or more
units than :data:`.firms.SUMMARY_UNITS`) gets summary pages instead of a page per unit
(:mod:`.firms`); :func:`render_report` chooses.

Usage (the report goes into ``<build>/report/``; open ``index.html``)::

    from index_engine.report import render_report
    render_report("outputs/BJ_TFDI/20250101-000000", lang="en")
"""

from __future__ import annotations

from .model import ReportModel, load_model
from .render import render_report

__all__ = ["ReportModel", "load_model", "render_report"]
