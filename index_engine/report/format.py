"""Names and numbers of a report in one language: the filters the templates use and the page builders call."""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

from markupsafe import Markup

from . import i18n
from .model import MARK_KINDS, ReportModel


_NO_MARKS = Markup("")


class Formatter:
    """Names and numbers in one language (the filters the templates use)."""

    def __init__(self, m: ReportModel, lang: str):
        self.m, self.lang = m, lang
        self.digits = m.score_digits
        self.lo, self.hi = m.score_range() or (0.0, 100.0)
        self._names: dict[tuple[bool, Any], str] = {}  # (is a unit, code) -> name: asked for on every row

    def t(self, key: str, **kw: Any) -> str:
        return i18n.t(key, self.lang, **kw)

    def num(self, v: Any, digits: int | None = None) -> str:
        return i18n.fmt_num(v, digits)

    def score(self, v: Any) -> str:
        return i18n.fmt_num(v, self.digits)

    def signed(self, v: Any, digits: int | None = None) -> str:
        return i18n.fmt_signed(v, self.digits if digits is None else digits)

    def pct(self, v: Any, digits: int = 1) -> str:
        return i18n.fmt_pct(v, self.lang, digits)

    def qty(self, v: Any, unit: str | None = None) -> str:
        return i18n.fmt_qty(v, unit, self.lang)

    def weight(self, v: Any) -> str:
        if i18n.is_missing(v):
            return i18n.MISSING
        v = float(v)
        return "0" if v == 0 else f"{v:.4f}".rstrip("0").rstrip(".") if v >= 0.001 else f"{v:.2g}"

    def node_name(self, code: str) -> str:
        name = self._names.get((False, code))
        if name is None:
            n = self.m.nodes.get(code)
            name = self._names[False, code] = i18n.pick_name(n, self.lang, code) if n else str(code)
        return name

    def unit_name(self, code: str) -> str:
        name = self._names.get((True, code))
        if name is None:
            u = self.m.units.get(code)
            name = self._names[True, code] = i18n.pick_name(u, self.lang, code) if u else str(code)
        return name

    def unit_label(self, unit: str | None) -> str:
        return i18n.unit_label(unit, self.lang)

    def status(self, s: Any) -> str:
        key = f"status_{s}"
        return self.t(key) if key in i18n.STRINGS else str(s or i18n.MISSING)

    def flag_message(self, flag: Mapping[str, Any]) -> str:
        """An audit flag's message in the page's language, from its fields (check, node, other,
        group, data, value, threshold); the audit's own English text for a check it does not know."""
        check = flag.get("check")
        try:
            value = float(flag.get("value"))
            threshold = float(flag["threshold"]) if not i18n.is_missing(flag.get("threshold")) else math.nan
        except (TypeError, ValueError):
            value = math.nan
        if f"flagmsg_{check}" not in i18n.STRINGS or math.isnan(value):
            return str(flag.get("message") or "")
        sep = "、" if self.lang == "zh" else ", "
        fields = {
            "node": flag.get("node") or "", "other": flag.get("other") or "",
            "group": flag.get("group") or "", "data": self.keyed("flagdata_", flag.get("data")),
            "share": i18n.fmt_pct(value, self.lang, 0), "skew": i18n.fmt_num(value, 2), "r": i18n.fmt_num(value, 2),
            "p": i18n.fmt_num(value, 3), "importance": i18n.fmt_num(value, 3),
            "limit": i18n.fmt_pct(threshold, self.lang, 0), "r_own": i18n.fmt_num(threshold, 2),
            "weight": i18n.fmt_num(threshold, 3),
            "dims": sep.join(str(flag.get("group") or "").split(";")),
        }  # fmt: skip
        return i18n.t(f"flagmsg_{check}", self.lang, **fields)

    def mark(self, unit: str, indicator: str, year: int | None = None) -> Markup:
        """The markers of one value (imputed, earlier year, estimate, ...), each with its meaning as a tooltip."""
        marks = self.m.marks_of(unit, self.m.latest if year is None else year, indicator)
        if not marks:  # most values
            return _NO_MARKS
        out = []
        for kind, how in marks:
            label = self.t(f"mark_{kind}")
            if how and (self.lang == "en") == (not i18n.has_cjk(how)):
                label = f"{label}: {how}"
            out.append(Markup('<sup class="mk mk-{}" title="{}">{}</sup>').format(kind, label, MARK_KINDS[kind]))
        return Markup("").join(out)

    def column(self, values: Any, unit: str | None) -> tuple[str, Callable[[Any], str]]:
        return i18n.column_unit(values, unit, self.lang)

    def verdict_reason(self, v: Mapping[str, Any]) -> str:
        """Why a dimension got its verdict, in the page's language, from the verdict's fields."""
        sep = "，" if self.lang == "zh" else ", "
        alpha = _num(v.get("alpha"))
        parts = [self.t("reason_alpha", alpha=i18n.fmt_num(alpha, 2)) if alpha is not None else self.t("reason_no_alpha")]
        eig, pc1 = _num(v.get("n_eigen_gt1")), _num(v.get("pc1_share"))
        if eig is None and pc1 is None:
            parts.append(self.t("reason_no_pca"))
        else:
            if eig is not None:
                parts.append(self.t("reason_eigen", n=int(eig)))
            if pc1 is not None:
                parts.append(self.t("reason_pc1", share=i18n.fmt_pct(pc1, self.lang, 0)))
        neg = _num(v.get("n_negative"))
        if neg is not None:
            parts.append(self.t("reason_negative", n=int(neg)) if neg else self.t("reason_no_negative"))
        return sep.join(parts)

    def verdict_rule(self) -> str:
        th = (self.m.audit_json or {}).get("thresholds", {})
        return self.t("verdict_rule", hi=th.get("alpha_coherent", 0.7), lo=th.get("alpha_incoherent", 0.6),
                      pc1=i18n.fmt_pct(th.get("pc1_share", 0.5), self.lang, 0))

    def in_script(self, text: Any) -> str:
        """``text`` when it is in the page's language, else '' (see :func:`i18n.in_script`)."""
        return str(text) if text and i18n.in_script(text, self.lang) else ""

    def keyed(self, prefix: str, key: Any) -> str:
        """The interface string ``prefix + key``, or ``key`` itself when there is none."""
        k = f"{prefix}{key}"
        return self.t(k) if k in i18n.STRINGS else ("" if key is None else str(key))

    def params(self, p: Any) -> str:
        if not p:
            return i18n.MISSING
        if isinstance(p, dict):
            return ", ".join(f"{k} = {self._pv(v)}" for k, v in p.items())
        return str(p)

    @staticmethod
    def _pv(v: Any) -> str:
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k}: {Formatter._pv(x)}" for k, x in v.items()) + "}"
        return "null" if v is None else str(v)

    def heat(self, v: Any, lo: float | None = None, hi: float | None = None) -> str:
        """A CSS background for a heat-table cell (blue scale, light text on dark cells)."""
        if i18n.is_missing(v):
            return "background:#f1f3f5;color:#6b7785"
        lo = self.lo if lo is None else lo
        hi = self.hi if hi is None else hi
        x = 0.5 if hi <= lo else min(1.0, max(0.0, (float(v) - lo) / (hi - lo)))
        stops = [(0.0, (244, 248, 251)), (0.5, (127, 168, 207)), (1.0, (22, 64, 107))]
        for (x0, c0), (x1, c1) in zip(stops, stops[1:]):
            if x <= x1:
                f = (x - x0) / (x1 - x0)
                rgb = tuple(round(a + (b - a) * f) for a, b in zip(c0, c1))
                break
        text = "#ffffff" if x > 0.62 else "#1b2733"
        return f"background:#{rgb[0]:02x}{rgb[1]:02x}{rgb[2]:02x};color:{text}"


def _num(v: Any) -> float | None:
    """A number, or None for a missing or unreadable value."""
    if i18n.is_missing(v):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None
