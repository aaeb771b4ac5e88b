/* index_engine report: the "build your own index" page (explorer.html). The sliders, the year and
   the table are in the page's markup; this only attaches behaviour. The data sit in the JSON of
   #explorer's data-model attribute: the normalised indicator scores x[indicator][row] of every
   (unit, year) row, and per aggregate node (children before parents, "order") its children, their
   official weights w, the power p of its mean, "complete" and "minCov".

   Every node is recomputed bottom-up with the engine's rule (index_engine/aggregate.py and
   evaluate.py), so at the official weights the numbers are the engine's to rounding:
     w'_c = w_c / max_k w_k                  (every weight 0: the node is missing)
     the children present P (not missing); a "complete" mean (generalised) is missing when a child
     is; |P| / k < minCov: missing
     node = phiInv( sum_{c in P} w'_c phi(x_c) / sum_{c in P} w'_c )   (denominator 0: missing)
     phi(x) = x^p (p != 0), ln x (p = 0): p = 1 arithmetic, 0 geometric, -1 harmonic
   A slider sets the weight w_c of its child relative to its siblings (only ratios matter); the
   nodes without sliders keep their official weights. Ranks (index_engine/ranks.py): within a year,
   best first; a score within rtol * max(1, |a|, |b|) of the one before it shares that one's rank
   ("min" ties: 1, 1, 3); a missing score has no rank. */
(function () {
  "use strict";
  var root = document.getElementById("explorer");
  if (!root || !root.getAttribute("data-model")) return;
  var D = JSON.parse(root.getAttribute("data-model"));
  var sliders = Array.prototype.slice.call(root.querySelectorAll("input[type=range][data-node]"));
  var yearSel = document.getElementById("x-year");
  var dimSel = document.getElementById("x-dim");
  var state = document.getElementById("x-state");
  var tbody = document.querySelector("#x-table tbody");
  var R = D.rows.length;

  function phi(x, p) { return p === 1 ? x : p === 0 ? Math.log(x) : p === -1 ? 1 / x : Math.pow(x, p); }
  function phiInv(y, p) { return p === 1 ? y : p === 0 ? Math.exp(y) : p === -1 ? 1 / y : Math.pow(y, 1 / p); }
  function missing(v) { return v === null || v === undefined || v !== v; }

  /* the weights of each node: official, with the sliders' values for the children they set */
  function weights() {
    var W = {};
    D.order.forEach(function (code) { W[code] = D.nodes[code].w.slice(); });
    sliders.forEach(function (s) {
      var nd = D.nodes[s.getAttribute("data-node")];
      if (!nd) return;
      var j = nd.kids.indexOf(s.getAttribute("data-child"));
      if (j >= 0) W[s.getAttribute("data-node")][j] = Number(s.value);
    });
    return W;
  }

  /* one node's score for one row, from its children's values v (null when missing) */
  function mean(nd, w, v) {
    var k = v.length, top = 0, present = 0, num = 0, den = 0, j;
    for (j = 0; j < k; j++) if (w[j] > top) top = w[j];
    if (!(top > 0)) return null;
    for (j = 0; j < k; j++) if (!missing(v[j])) present++;
    if (nd.complete && present < k) return null;
    if (present / k < nd.minCov) return null;
    for (j = 0; j < k; j++) {
      if (missing(v[j])) continue;
      var wj = w[j] / top;
      if (nd.p !== 1 && v[j] <= 0 && (nd.p <= 0 || nd.p !== Math.round(nd.p))) return null;  // outside the mean's domain
      num += wj * phi(v[j], nd.p);
      den += wj;
    }
    if (den === 0) return null;
    var out = phiInv(num / den, nd.p);
    return out === out && isFinite(out) ? out : null;
  }

  /* every node's scores, bottom-up: {code: [score per row]} */
  function compute(W) {
    var S = {};
    Object.keys(D.x).forEach(function (i) { S[i] = D.x[i]; });
    D.order.forEach(function (code) {
      var nd = D.nodes[code], w = W[code], col = new Array(R), v = new Array(nd.kids.length);
      for (var r = 0; r < R; r++) {
        for (var j = 0; j < nd.kids.length; j++) v[j] = S[nd.kids[j]] ? S[nd.kids[j]][r] : null;
        col[r] = mean(nd, w, v);
      }
      S[code] = col;
    });
    return S;
  }

  /* ranks of the rows ``idx`` by ``score`` (1 = best, ties "min" within rtol, missing: null) */
  function ranks(idx, score) {
    var out = {};
    var ok = idx.filter(function (r) { return !missing(score[r]); });
    ok.sort(function (a, b) { return score[b] - score[a]; });
    for (var i = 0; i < ok.length; i++) {
      var r = ok[i];
      if (i > 0) {
        var a = score[ok[i - 1]], b = score[r];
        var tol = D.rtol * Math.max(1, Math.abs(a), Math.abs(b));
        if (a - b <= tol) { out[r] = out[ok[i - 1]]; continue; }
      }
      out[r] = i + 1;
    }
    idx.forEach(function (r) { if (!(r in out)) out[r] = null; });
    return out;
  }

  var fmt = new Intl.NumberFormat(root.getAttribute("data-lang") === "zh" ? "zh-CN" : "en", {minimumFractionDigits: D.digits, maximumFractionDigits: D.digits});
  function fmtScore(v) { return missing(v) ? "\u2013" : fmt.format(v); }
  function fmtRank(v) { return missing(v) ? "\u2013" : String(v); }
  function fmtMove(v) { return missing(v) ? "\u2013" : v > 0 ? "\u25b2" + v : v < 0 ? "\u25bc" + (-v) : "0"; }

  function cell(tag, cls, text, value) {
    var c = document.createElement(tag);
    if (cls) c.className = cls;
    if (value !== undefined) c.setAttribute("data-value", missing(value) ? "" : String(value));
    c.textContent = text;
    return c;
  }

  function shares() {
    sliders.forEach(function (s) {
      var group = sliders.filter(function (t) { return t.getAttribute("data-node") === s.getAttribute("data-node"); });
      var total = group.reduce(function (a, t) { return a + Number(t.value); }, 0);
      var out = root.querySelector("output[for='" + s.id + "']");
      if (out) out.textContent = total > 0 ? (100 * Number(s.value) / total).toFixed(1) + "%" : "\u2013";
    });
  }

  function isOfficial() {
    return sliders.every(function (s) { return s.value === s.getAttribute("data-official") || Number(s.value) === Number(s.getAttribute("data-official")); });
  }

  function update() {
    var year = yearSel ? Number(yearSel.value) : D.years[D.years.length - 1];
    var S = compute(weights());
    /* a unit-year the build does not publish (withheld for too little observed data, which the nominal
       weights decide, not the sliders) has no score at any weights */
    var score = S[D.root].map(function (v, r) { return missing(D.official[r]) ? null : v; });
    var idx = [];
    for (var r = 0; r < R; r++) if (D.rows[r][1] === year) idx.push(r);
    var mine = ranks(idx, score), off = ranks(idx, D.official);
    idx.sort(function (a, b) {
      var ra = mine[a], rb = mine[b];
      if (ra === null && rb === null) return 0;
      if (ra === null) return 1;
      if (rb === null) return -1;
      return ra - rb || score[b] - score[a];
    });
    var top = 0;
    idx.forEach(function (r) { if (!missing(score[r]) && Math.abs(score[r]) > top) top = Math.abs(score[r]); });
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    idx.forEach(function (r) {
      var unit = D.rows[r][0], tr = document.createElement("tr");
      tr.setAttribute("data-unit", unit);
      tr.appendChild(cell("td", "num x-rank", fmtRank(mine[r]), mine[r]));
      var th = document.createElement("th");
      th.setAttribute("scope", "row");
      var a = document.createElement("a");
      a.setAttribute("href", D.pages[unit]);
      a.textContent = D.names[unit];
      th.appendChild(a);
      tr.appendChild(th);
      tr.appendChild(cell("td", "num x-score", fmtScore(score[r]), score[r]));
      var barTd = cell("td", "x-barcol", ""), bar = document.createElement("span");
      bar.className = "x-bar";
      bar.style.width = top > 0 && !missing(score[r]) ? (100 * Math.max(0, score[r]) / top).toFixed(2) + "%" : "0";
      barTd.appendChild(bar);
      tr.appendChild(barTd);
      tr.appendChild(cell("td", "num x-official", fmtScore(D.official[r]), D.official[r]));
      tr.appendChild(cell("td", "num x-official-rank", fmtRank(off[r]), off[r]));
      var move = missing(mine[r]) || missing(off[r]) ? null : off[r] - mine[r];
      tr.appendChild(cell("td", "num x-move" + (move > 0 ? " up" : move < 0 ? " down" : ""), fmtMove(move), move));
      tbody.appendChild(tr);
    });
    shares();
    var official = isOfficial();
    root.classList.toggle("x-custom", !official);
    state.textContent = root.getAttribute(official ? "data-state-official" : "data-state-custom");
  }

  sliders.forEach(function (s) { s.addEventListener("input", update); });
  if (yearSel) yearSel.addEventListener("change", update);
  if (dimSel) {
    dimSel.addEventListener("change", function () {
      Array.prototype.forEach.call(root.querySelectorAll("fieldset.x-sub"), function (f) {
        f.hidden = f.getAttribute("data-dim") !== dimSel.value;
      });
    });
  }
  document.getElementById("x-reset").addEventListener("click", function () {
    sliders.forEach(function (s) { s.value = s.getAttribute("data-official"); });
    update();
  });
  update();
  root.setAttribute("data-ready", "1");
})();
