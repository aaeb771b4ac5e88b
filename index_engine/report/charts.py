"""Charts for the report pages: plotly figures as a ``<div>`` + script, with their numbers as a table.

Each function returns a :class:`Chart`: the plotly figure (a plain dict, so building one costs
no validation; the tests validate every figure with ``plotly.graph_objects.Figure``), the HTML
that draws it with the ``plotly.min.js`` written beside the pages, and a :class:`Table` holding
the same numbers for screen readers, for print and for copying.

Text is passed to plotly HTML-escaped (plotly reads ``&lt;`` as ``<`` and draws it as text), and
the figure JSON is embedded with ``<``, ``>`` and ``&`` escaped, so a name such as
``</script><script>…`` can neither end the script nor become markup.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from markupsafe import Markup

from .._json import jsonable

FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "Helvetica Neue", Arial, sans-serif'
INK = "#1b2733"
GRID = "#e3e7ec"
NAVY = "#1f4e79"
FOCUS = "#b8262b"
MUTED = "#9aa5b1"
COLORWAY = [
    "#1f4e79", "#d98b2b", "#3a8f6b", "#7a5195", "#c75b5b", "#4f9dc9", "#8c6d46",
    "#a3a940", "#5b6b7f", "#d16fa8", "#2e7f7f", "#e0b43a", "#6d8fd1", "#98604f",
]
def dimension_colors(dimensions: Sequence[str]) -> dict[str, str]:
    """One colour per dimension, in the framework's order, the same on every page."""
    return {d: COLORWAY[i % len(COLORWAY)] for i, d in enumerate(dimensions)}


def lighter(color: str, share: float = 0.45) -> str:
    """``color`` mixed with white (for the indicators under a dimension)."""
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(c + (255 - c) * share):02x}" for c in (r, g, b))


STATUS_COLORS = {"achieved": "#2e7d4f", "on_track": "#4f9d69", "at_risk": "#d98b2b", "off_track": "#b8262b"}
BLUES = [(0.0, "#f4f8fb"), (0.5, "#7fa8cf"), (1.0, "#16406b")]
DIVERGING = [(0.0, "#b8262b"), (0.5, "#f7f7f7"), (1.0, "#1f4e79")]
CONFIG = {"displayModeBar": "hover", "responsive": True, "displaylogo": False,
          "modeBarButtons": [["toImage"]]}
EXPORT = {"toImageButtonOptions": {"format": "png", "scale": 2}}
"""The mode bar offers one button: the chart as a PNG (``filename`` set per chart by report.js from its id)."""

Fmt = Callable[[Any], str]


@dataclass
class Table:
    """A chart's numbers: a caption, column headings and rows of formatted cells."""

    caption: str
    columns: list[str]
    rows: list[list[str]]
    row_header: bool = True  # the first cell of each row names it


@dataclass
class Chart:
    """A plotly figure, its HTML and its numbers as a :class:`Table`."""

    id: str
    title: str
    figure: dict[str, Any]
    table: Table
    height: int = 360
    note: str = ""
    kind: str = field(default="chart")

    @property
    def csv(self) -> str:
        """The chart's numbers as a CSV file beside the pages (written by the report)."""
        return f"data/{self.id}.csv"

    @property
    def html(self) -> Markup:
        """The chart's container; its figure sits in ``data-figure`` (JSON, HTML-escaped) and
        ``report.js`` draws it once the deferred ``plotly.min.js`` has loaded, so no chart blocks the
        first paint and the page holds no inline script."""
        fig = _js({"data": self.figure["data"], "layout": self.figure["layout"], "config": {**CONFIG, **EXPORT}})
        label = html.escape(self.title, quote=True)
        return Markup(
            f'<div id="{self.id}" class="chart" role="img" aria-label="{label}" style="height:{self.height}px"'
            f' data-figure="{html.escape(fig, quote=True)}"></div>'
        )


_FIGURE_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _js(obj: Any) -> str:
    """``obj`` as compact JSON that is safe inside HTML: ``<``, ``>``, ``&`` and the JavaScript line
    separators escaped.

    A figure holds plain values (keys that are strings, finite floats) and is written as it is; one
    that holds NaN, an infinity or a numpy value is cleaned by :func:`~index_engine._json.jsonable`
    first (NaN and infinities as ``null``). The text is the same as if every figure were cleaned:
    cleaning leaves plain values as they are."""
    try:
        text = _FIGURE_JSON.encode(obj)
    except (ValueError, TypeError):  # NaN or infinity (allow_nan=False), or a value JSON does not know
        text = _FIGURE_JSON.encode(jsonable(obj))
    return (
        text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    )


def esc(text: Any) -> str:
    """Text for plotly: HTML-escaped, so plotly shows it literally."""
    return html.escape("" if text is None else str(text), quote=False)


def _num(v: Any) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _layout(height: int, **kw: Any) -> dict[str, Any]:
    lay: dict[str, Any] = {
        "height": height,
        "autosize": True,
        "margin": {"l": 60, "r": 20, "t": 16, "b": 48},
        "font": {"family": FONT, "size": 13, "color": INK},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "colorway": COLORWAY,
        "hoverlabel": {"font": {"family": FONT}},
        "xaxis": {"gridcolor": GRID, "linecolor": "#c5ccd4", "zeroline": False, "automargin": True},
        "yaxis": {"gridcolor": GRID, "linecolor": "#c5ccd4", "zeroline": False, "automargin": True},
        "legend": {"orientation": "h", "y": -0.18, "x": 0, "font": {"size": 12}},
    }
    for k, v in kw.items():
        if isinstance(v, dict) and isinstance(lay.get(k), dict):
            lay[k] = {**lay[k], **v}
        else:
            lay[k] = v
    return lay


def line_chart(
    cid: str,
    title: str,
    x: Sequence[Any],
    series: Sequence[dict[str, Any]],
    *,
    fmt: Fmt,
    y_title: str = "",
    x_label: str = "",
    height: int = 380,
) -> Chart:
    """Lines over ``x``; each series ``{"name", "y", "focus": bool, "dash": str}``. Table: a row per series."""
    data = []
    for i, s in enumerate(series):
        focus = bool(s.get("focus"))
        color = s.get("color") or (FOCUS if focus else COLORWAY[i % len(COLORWAY)])
        ys = [_num(v) for v in s["y"]]
        data.append({
            "type": "scatter",
            "mode": "lines+markers",
            "name": esc(s["name"]),
            "x": list(x),
            "y": ys,
            "customdata": [fmt(v) for v in ys],
            "hovertemplate": "%{x}: %{customdata}",
            "line": {"width": 3.5 if focus else 1.6, "color": color, "dash": s.get("dash", "solid")},
            "marker": {"size": 7 if focus else 4, "color": color},
            "opacity": 1.0 if focus or not any(t.get("focus") for t in series) else 0.75,
            "connectgaps": False,
        })
    layout = _layout(
        height,
        xaxis={"type": "category", "title": {"text": esc(x_label)}},
        yaxis={"title": {"text": esc(y_title)}},
        hovermode="closest",
        showlegend=len(series) > 1,
    )
    if len(series) > 6:
        layout["legend"] = {"orientation": "v", "x": 1.02, "y": 1, "font": {"size": 12}}
        layout["margin"] = {**layout["margin"], "r": 140}
    table = Table(title, [x_label] + [str(v) for v in x], [[s["name"]] + [fmt(v) for v in s["y"]] for s in series])
    return Chart(cid, title, {"data": data, "layout": layout}, table, height)


def bar_chart(
    cid: str,
    title: str,
    categories: Sequence[str],
    groups: Sequence[dict[str, Any]],
    *,
    fmt: Fmt,
    value_title: str = "",
    category_title: str = "",
    horizontal: bool = True,
    barmode: str = "group",
    height: int | None = None,
    errors: bool = False,
    ref_line: float | None = None,
    range_: tuple[float, float] | None = None,
    total: Sequence[Any] | None = None,
    total_label: str = "",
    tickformat: str | None = None,
) -> Chart:
    """Bars per category; each group ``{"name", "values", "color"?, "colors"?, "lo"?, "hi"?}``.

    Table: a row per category, a column per group (and ``total`` when given).
    """
    n = len(categories)
    if height is None:
        height = max(220, 60 + n * (26 if barmode != "group" else 14 * max(1, len(groups)) + 10)) if horizontal else 380
    cats = [esc(c) for c in categories]
    data = []
    for i, g in enumerate(groups):
        vals = [_num(v) for v in g["values"]]
        trace: dict[str, Any] = {
            "type": "bar",
            "name": esc(g["name"]),
            "orientation": "h" if horizontal else "v",
            ("y" if horizontal else "x"): cats,
            ("x" if horizontal else "y"): vals,
            "customdata": [fmt(v) for v in vals],
            "hovertemplate": "%{customdata}",
            "marker": {"color": g.get("colors") or g.get("color") or COLORWAY[i % len(COLORWAY)]},
        }
        if errors and g.get("lo") is not None:
            lo = [_num(v) for v in g["lo"]]
            hi = [_num(v) for v in g["hi"]]
            trace["error_x" if horizontal else "error_y"] = {
                "type": "data",
                "symmetric": False,
                "array": [None if (h is None or v is None) else h - v for h, v in zip(hi, vals)],
                "arrayminus": [None if (lw is None or v is None) else v - lw for lw, v in zip(lo, vals)],
                "color": INK,
                "thickness": 1.2,
                "width": 4,
            }
        data.append(trace)
    cat_axis = {"type": "category", "autorange": "reversed" if horizontal else True, "title": {"text": esc(category_title)}}
    val_axis: dict[str, Any] = {"title": {"text": esc(value_title)}, "zeroline": True, "zerolinecolor": "#8793a0"}
    if range_:
        val_axis["range"] = list(range_)
    if tickformat:
        val_axis["tickformat"] = tickformat
    layout = _layout(
        height,
        barmode=barmode,
        bargap=0.25,
        xaxis=val_axis if horizontal else cat_axis,
        yaxis=cat_axis if horizontal else val_axis,
        showlegend=len(groups) > 1,
        hovermode="closest",
        legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom", "traceorder": "normal", "font": {"size": 12}},
        margin={"l": 60, "r": 20, "t": 40 if len(groups) > 1 else 16, "b": 48},
    )
    if ref_line is not None:
        line = {"type": "line", "line": {"color": INK, "width": 1.2, "dash": "dot"}}
        if horizontal:
            line.update(x0=ref_line, x1=ref_line, y0=0, y1=1, xref="x", yref="paper")
        else:
            line.update(y0=ref_line, y1=ref_line, x0=0, x1=1, yref="y", xref="paper")
        layout["shapes"] = [line]
    cols = [category_title] + [g["name"] for g in groups] + ([total_label] if total is not None else [])
    rows = []
    for j, c in enumerate(categories):
        row = [c]
        for g in groups:
            cell = fmt(g["values"][j])
            if errors and g.get("lo") is not None:
                cell += f" [{fmt(g['lo'][j])}, {fmt(g['hi'][j])}]"
            row.append(cell)
        if total is not None:
            row.append(fmt(total[j]))
        rows.append(row)
    return Chart(cid, title, {"data": data, "layout": layout}, Table(title, cols, rows), height)


def heatmap(
    cid: str,
    title: str,
    xlabels: Sequence[str],
    ylabels: Sequence[str],
    z: Sequence[Sequence[Any]],
    *,
    fmt: Fmt,
    zmin: float,
    zmax: float,
    diverging: bool = False,
    corner: str = "",
    height: int | None = None,
) -> Chart:
    """A heat map (rows ``ylabels``, columns ``xlabels``); the table holds the same matrix."""
    height = height or max(260, 90 + 22 * len(ylabels))
    zz = [[_num(v) for v in row] for row in z]
    text = [[fmt(v) if v is not None else "" for v in row] for row in zz]
    data = [{
        "type": "heatmap",
        "x": [esc(x) for x in xlabels],
        "y": [esc(y) for y in ylabels],
        "z": zz,
        "zmin": zmin,
        "zmax": zmax,
        "colorscale": [list(p) for p in (DIVERGING if diverging else BLUES)],
        "text": text,
        "texttemplate": "%{text}",
        "textfont": {"size": 10},
        "hovertemplate": "%{y} × %{x}: %{text}<extra></extra>",
        "xgap": 1,
        "ygap": 1,
        "colorbar": {"thickness": 12, "outlinewidth": 0},
    }]
    layout = _layout(
        height,
        xaxis={"type": "category", "side": "top", "gridcolor": "rgba(0,0,0,0)", "tickangle": 0},
        yaxis={"type": "category", "autorange": "reversed", "gridcolor": "rgba(0,0,0,0)"},
        margin={"l": 60, "r": 20, "t": 40, "b": 20},
    )
    rows = [[y] + [fmt(v) for v in row] for y, row in zip(ylabels, zz)]
    return Chart(cid, title, {"data": data, "layout": layout}, Table(title, [corner] + list(xlabels), rows), height)


def interval_chart(
    cid: str,
    title: str,
    labels: Sequence[str],
    point: Sequence[Any],
    lo: Sequence[Any],
    hi: Sequence[Any],
    *,
    fmt: Fmt,
    point_name: str,
    interval_name: str,
    extra: Sequence[Any] | None = None,
    extra_name: str = "",
    value_title: str = "",
    label_title: str = "",
    reverse_values: bool = False,
    ref_line: float | None = None,
    colors: Sequence[str] | None = None,
    height: int | None = None,
    tickformat: str | None = None,
    log: bool = False,
) -> Chart:
    """A dot per label with its interval as a bar (rank intervals, projections against targets)."""
    height = height or max(240, 80 + 26 * len(labels))
    cats = [esc(c) for c in labels]
    pts = [_num(v) for v in point]
    los = [_num(v) for v in lo]
    his = [_num(v) for v in hi]
    seg_x: list[Any] = []
    seg_y: list[Any] = []
    seg_text: list[Any] = []
    for c, a, b in zip(cats, los, his):
        if a is None or b is None:
            continue
        text = f"{fmt(a)} – {fmt(b)}"
        seg_x += [a, b, None]
        seg_y += [c, c, None]
        seg_text += [text, text, None]
    data: list[dict[str, Any]] = [{
        "type": "scatter",
        "mode": "lines",
        "name": esc(interval_name),
        "y": seg_y,
        "x": seg_x,
        "line": {"color": "#7fa8cf", "width": 7},
        "customdata": seg_text,
        "hovertemplate": "%{customdata}<extra></extra>",
        "connectgaps": False,
    }]
    if extra is not None:
        ex = [_num(v) for v in extra]
        data.append({
            "type": "scatter", "mode": "markers", "name": esc(extra_name), "y": cats, "x": ex,
            "marker": {"symbol": "diamond-open", "size": 9, "color": INK, "line": {"width": 1.5}},
            "customdata": [fmt(v) for v in ex], "hovertemplate": "%{customdata}<extra></extra>",
        })
    data.append({
        "type": "scatter", "mode": "markers", "name": esc(point_name), "y": cats, "x": pts,
        "marker": {"size": 10, "color": list(colors) if colors else FOCUS, "line": {"width": 1, "color": "#ffffff"}},
        "customdata": [fmt(v) for v in pts], "hovertemplate": "%{customdata}<extra></extra>",
    })
    xaxis: dict[str, Any] = {"title": {"text": esc(value_title)}, "autorange": "reversed" if reverse_values else True}
    if tickformat:
        xaxis["tickformat"] = tickformat
    if log:
        xaxis["type"] = "log"
        xaxis["dtick"] = "D2"  # 1, 2, 5 per decade
    layout = _layout(
        height,
        xaxis=xaxis,
        yaxis={"type": "category", "autorange": "reversed", "title": {"text": esc(label_title)}},
        hovermode="closest",
    )
    if ref_line is not None:
        x = ref_line
        layout["shapes"] = [{
            "type": "line", "x0": x, "x1": x, "y0": 0, "y1": 1, "xref": "x", "yref": "paper",
            "line": {"color": INK, "width": 1.2, "dash": "dot"},
        }]
    cols = [label_title, point_name, interval_name] + ([extra_name] if extra is not None else [])
    rows = []
    for j, lab in enumerate(labels):
        row = [lab, fmt(point[j]), f"{fmt(lo[j])} – {fmt(hi[j])}"]
        if extra is not None:
            row.append(fmt(extra[j]))
        rows.append(row)
    return Chart(cid, title, {"data": data, "layout": layout}, Table(title, cols, rows), height)


def weight_map(
    cid: str,
    title: str,
    ids: Sequence[str],
    labels: Sequence[str],
    parents: Sequence[str],
    values: Sequence[Any],
    *,
    fmt: Fmt,
    columns: Sequence[str],
    height: int = 520,
    colors: Sequence[str] | None = None,
) -> Chart:
    """Effective weights as a treemap (boxes read better than a sunburst's rings): ``values`` on the
    leaves, aggregates 0 (branchvalues remainder); ``colors`` one per node (its dimension's colour)."""
    vals = [_num(v) or 0.0 for v in values]
    data = [{
        "type": "treemap",
        "ids": [esc(i) for i in ids],
        "labels": [esc(lab) for lab in labels],
        "parents": [esc(p) for p in parents],
        "values": vals,
        "branchvalues": "remainder",
        "texttemplate": "<b>%{label}</b><br>%{customdata}",
        "hovertemplate": "%{label}: %{customdata}<extra></extra>",
        "customdata": [fmt(v) for v in values],
        "tiling": {"pad": 2},
        "pathbar": {"visible": False},
        "marker": {"colors": list(colors) if colors else [COLORWAY[i % len(COLORWAY)] for i in range(len(ids))],
                   "line": {"color": "#ffffff", "width": 1}},
        "textfont": {"size": 13},
    }]
    layout = _layout(height, margin={"l": 4, "r": 4, "t": 4, "b": 4})
    rows = [[lab, fmt(v)] for lab, v in zip(labels, values)]
    return Chart(cid, title, {"data": data, "layout": layout}, Table(title, list(columns), rows), height)


def _remembered(fmt: Fmt) -> Fmt:
    """``fmt`` keeping its text of each number (and None) it formats, for a chart that shows the same
    values many times. A formatter is a function of the value alone; ``-0.0`` (equal to ``0.0``
    but perhaps written with its sign) and values of other types are formatted each time."""
    texts: dict[tuple[type, Any], str] = {}

    def remembered(v: Any) -> str:
        kind = type(v)
        if v is None or ((kind is float or kind is int) and v != 0):
            text = texts.get((kind, v))
            if text is None:
                text = texts[kind, v] = fmt(v)
            return text
        return fmt(v)

    return remembered


PANEL_HEIGHT = 150
"""Height in pixels of one panel of a small-multiples chart."""


def small_multiples(
    cid: str,
    title: str,
    x: Sequence[Any],
    panels: Sequence[dict[str, Any]],
    *,
    fmt: Fmt,
    x_label: str = "",
    value_name: str = "",
    ref_name: str = "",
    columns: int = 4,
    shared_y: bool = True,
) -> Chart:
    """One small line chart per panel (plotly subplots on a grid), each ``{"name", "y", "ref"?, "focus"?,
    "color"?}``: the panel's series, and its reference (e.g. the peer median) as a grey dashed line.

    The panels share the y axis (``shared_y``) so heights compare across panels; report.js lays the
    grid out in two columns on a phone. Table: a row per panel (and one for the reference when all
    panels share it)."""
    fmt = _remembered(fmt)  # each value is shown twice (hover, table), and the reference on every panel
    n = len(panels)
    cols = max(1, min(columns, n))
    rows = math.ceil(n / cols)
    data: list[dict[str, Any]] = []
    annotations = []
    height = PANEL_HEIGHT * rows + 90
    layout: dict[str, Any] = _layout(
        height,
        grid={"rows": rows, "columns": cols, "pattern": "independent", "xgap": 0.08, "ygap": 0.32 if rows > 1 else 0.1},
        showlegend=any(p.get("ref") is not None for p in panels),
        # above the first row's panel titles (paper y is relative to the plotting area)
        legend={"orientation": "h", "x": 0, "y": 1 + 24 / (height - 96), "yanchor": "bottom", "font": {"size": 12}},
        hovermode="closest",
        margin={"l": 48, "r": 12, "t": 64, "b": 32},
    )
    layout.pop("xaxis")
    layout.pop("yaxis")
    xs = list(x)
    for i, p in enumerate(panels, start=1):
        ax = "" if i == 1 else str(i)
        color = p.get("color") or (FOCUS if p.get("focus") else NAVY)
        ys = [_num(v) for v in p["y"]]
        data.append({
            "type": "scatter", "mode": "lines+markers", "name": esc(value_name or p["name"]), "x": xs, "y": ys,
            "xaxis": f"x{ax}", "yaxis": f"y{ax}", "line": {"width": 2.4, "color": color}, "marker": {"size": 4, "color": color},
            "customdata": [fmt(v) for v in ys], "hovertemplate": esc(p["name"]) + " %{x}: %{customdata}<extra></extra>",
            "showlegend": i == 1 and bool(value_name), "legendgroup": "value", "connectgaps": False,
        })
        if p.get("ref") is not None:
            rs = [_num(v) for v in p["ref"]]
            data.append({
                "type": "scatter", "mode": "lines", "name": esc(ref_name), "x": xs, "y": rs, "xaxis": f"x{ax}", "yaxis": f"y{ax}",
                "line": {"width": 1.4, "color": MUTED, "dash": "dash"}, "customdata": [fmt(v) for v in rs],
                "hovertemplate": esc(ref_name) + " %{x}: %{customdata}<extra></extra>", "showlegend": i == 1,
                "legendgroup": "ref", "connectgaps": False,
            })
        layout[f"xaxis{ax}"] = {"type": "category", "gridcolor": GRID, "linecolor": "#c5ccd4", "tickfont": {"size": 10},
                                "nticks": 4, "automargin": True}
        layout[f"yaxis{ax}"] = {"gridcolor": GRID, "linecolor": "#c5ccd4", "tickfont": {"size": 10}, "zeroline": False,
                                "automargin": True, **({"matches": "y"} if shared_y and i > 1 else {})}
        annotations.append({"text": f"<b>{esc(p['name'])}</b>", "xref": f"x{ax} domain", "yref": f"y{ax} domain", "x": 0, "y": 1.0,
                            "xanchor": "left", "yanchor": "bottom", "showarrow": False, "font": {"size": 12, "color": INK}})
    layout["annotations"] = annotations
    table_rows = [[p["name"]] + [fmt(v) for v in p["y"]] for p in panels]
    refs = [tuple(p["ref"]) for p in panels if p.get("ref") is not None]
    if refs and len(set(refs)) == 1:
        table_rows.append([ref_name] + [fmt(v) for v in refs[0]])
    elif refs:
        table_rows += [[f"{p['name']} · {ref_name}"] + [fmt(v) for v in p["ref"]] for p in panels if p.get("ref") is not None]
    chart = Chart(cid, title, {"data": data, "layout": layout}, Table(title, [x_label] + [str(v) for v in xs], table_rows),
                  layout["height"])
    chart.kind = "multiples"
    return chart
