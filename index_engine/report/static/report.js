/* index_engine report pages: sortable tables (click or Enter/Space on a column heading; a cell's
   data-sort attribute, when present, is the value sorted on; empty values go last), and charts
   redrawn at the printed page's width when the page is printed or saved as PDF. */
(function () {
  "use strict";
  function key(row, i) {
    var cell = row.cells[i];
    if (!cell) return "";
    var v = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
    var n = Number(v);
    return v === "" || v === "–" ? null : (isNaN(n) ? v : n);
  }
  function compare(a, b) {
    if (a === null && b === null) return 0;
    if (a === null) return 1;
    if (b === null) return -1;
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b), document.documentElement.lang || undefined);
  }
  function sortBy(table, th, i) {
    var asc = th.getAttribute("aria-sort") !== "ascending";
    var heads = table.tHead.rows[0].cells;
    for (var j = 0; j < heads.length; j++) heads[j].setAttribute("aria-sort", "none");
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (ra, rb) {
      var ka = key(ra, i), kb = key(rb, i);
      if (ka === null || kb === null) return compare(ka, kb);  // empty last either way
      var c = compare(ka, kb);
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    if (!table.tHead || !table.tBodies.length) return;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      th.tabIndex = 0;
      th.setAttribute("aria-sort", "none");
      th.addEventListener("click", function (e) {
        if (e.target.closest("a")) return;  // a link in a heading still navigates
        sortBy(table, th, i);
      });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, th, i); }
      });
    });
  });
  // charts: each container carries its figure in data-figure; plotly.min.js is loaded deferred,
  // before this file, so it is there when this runs (pages without charts do not load it)
  function draw() {
    if (!window.Plotly) return;
    var stem = (location.pathname.split("/").pop() || "index.html").replace(/\.html$/, "");
    Array.prototype.forEach.call(document.querySelectorAll("div.chart[data-figure]"), function (d) {
      var fig = JSON.parse(d.getAttribute("data-figure"));
      fig.config.toImageButtonOptions.filename = stem + "-" + d.id;
      if (window.matchMedia && window.matchMedia("(max-width: 600px)").matches) narrow(fig.layout, d, fig.data);
      window.Plotly.newPlot(d, fig.data, fig.layout, fig.config);
    });
  }
  // a phone: legends below the plot, smaller margins, so the plot keeps the width; small multiples
  // in two columns
  function narrow(layout, div, data) {
    if (layout.grid && layout.grid.columns > 2) {
      var n = layout.annotations ? layout.annotations.length : layout.grid.rows * layout.grid.columns;
      layout.grid.columns = 2;
      layout.grid.rows = Math.ceil(n / 2);
      layout.grid.ygap = 0.45;
      layout.height = 170 * layout.grid.rows + 70;
      div.style.height = layout.height + "px";
    }
    // every category label shown (plotly skips some when they crowd), the plot grown for a long legend
    ["xaxis", "yaxis"].forEach(function (k) {
      if (layout[k] && layout[k].type === "category" && !layout.grid) { layout[k].dtick = 1; layout[k].tickfont = {size: 11}; }
    });
    if (layout.showlegend && data.length > 3 && !layout.grid) {
      layout.height += 20 * Math.ceil(data.length / 2);
      div.style.height = layout.height + "px";
    }
    if (layout.legend && layout.legend.orientation === "v") {
      layout.legend = {orientation: "h", x: 0, y: -0.2, yanchor: "top", font: {size: 11}};
    }
    if (layout.margin) { layout.margin.r = Math.min(layout.margin.r || 20, 20); layout.margin.l = Math.min(layout.margin.l || 60, 48); }
  }
  draw();
  // wide tables: a visible cue under a table that scrolls sideways (the text is the page's, in data-scroll-cue)
  function cues() {
    var text = document.body.getAttribute("data-scroll-cue") || "";
    Array.prototype.forEach.call(document.querySelectorAll(".table-scroll, table.data.compact"), function (box) {
      if (box.closest(".table-scroll") && box.tagName === "TABLE") return;
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      box.classList.toggle("scrolls", scrolls);
      var next = box.nextElementSibling;
      if (scrolls && !(next && next.classList.contains("scroll-cue"))) {
        var p = document.createElement("p");
        p.className = "scroll-cue";
        p.textContent = text;
        box.parentNode.insertBefore(p, box.nextSibling);
      }
    });
  }
  cues();
  window.addEventListener("resize", cues);
  // print: redraw charts at the A4 text width (182 mm), then back to the window's width
  function charts() { return document.querySelectorAll("div.chart.js-plotly-plot"); }
  function printWidth() {
    if (!window.Plotly) return;
    Array.prototype.forEach.call(charts(), function (d) { window.Plotly.relayout(d, {width: 680}); });
  }
  function screenWidth() {
    if (!window.Plotly) return;
    Array.prototype.forEach.call(charts(), function (d) {
      window.Plotly.relayout(d, {width: null, autosize: true}).then(function () { window.Plotly.Plots.resize(d); });
    });
  }
  window.addEventListener("beforeprint", printWidth);
  window.addEventListener("afterprint", screenWidth);
})();
