"""The audit's tables and flags, computed from one build (COINr get_stats, get_data_avail,
get_corr, get_corr_flags, get_cronbach, get_eff_weights)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from .._checks import kurt_excel, skew_excel
from ..errors import SingularCorrelationWarning, SmallSampleWarning, SpecError
from ..tables import default_weights
from ..treat import outlying
from ..stats import bartlett_sphericity, correlate_pairs, cronbach_alpha, importance_shares, kmo, pca_eigen
from .result import Audit
from .thresholds import Thresholds

MIN_UNITS = 10
"""Below this many units in a year the audit warns that its statistics are unstable (§F3)."""

FLAG_COLUMNS = ["year", "check", "data", "node", "other", "group", "value", "threshold", "message"]
CORRELATION_CHECKS = (
    "collinear",
    "negative_with_parent",
    "insignificant_with_parent",
    "stronger_with_other_dimension",
    "denominator_correlation",
)
CORRELATION_COLUMNS = [
    "year", "data", "relation", "x", "y", "group", "n",
    "pearson", "pearson_p", "spearman", "spearman_p",
]  # fmt: skip


class Auditor:
    """Computes the tables of one audit; holds the tree lookups they share."""

    def __init__(self, b: Any, th: Thresholds) -> None:
        self.b = b
        self.th = th
        spec = b.spec
        self.spec = spec
        self.ind = list(spec.indicators)
        self.index = spec.tree.code
        top = spec.levels[self.index]
        if th.dimension_level > top:
            raise SpecError(
                f"The 'dimension_level' parameter of audit must be an integer between 2 and {top} "
                f"(the index's level in {spec.source}). Got {th.dimension_level!r} instead."
            )
        self.dim_of = {c: self._dimension_of(c) for c in self.ind}
        self.dims = list(dict.fromkeys(self.dim_of[c] for c in self.ind))
        self.beneath = {a: self._indicators_beneath(a) for a in spec.aggregates}
        self.flags: list[dict[str, Any]] = []

    # tree helpers
    def _dimension_of(self, code: str) -> str:
        p = self.spec.parents[code]
        while p is not None and self.spec.levels[p] < self.th.dimension_level and self.spec.parents[p] is not None:
            p = self.spec.parents[p]
        return p if p is not None else code

    def _indicators_beneath(self, code: str) -> list[str]:
        """Indicators under ``code`` that count in the index: one weighing 0 (a rank kept only for
        a target, a programme only one unit has) is not part of the dimension's scale."""
        out: list[str] = []
        eff = self.b.effective_weights()

        def walk(n: Any) -> None:
            if n.is_indicator and float(eff.get(n.code, 1.0)) > 0:
                out.append(n.code)
            for c in n.children:
                walk(c)

        walk(self.spec.nodes[code])
        return out

    def _flag(self, year: int, check: str, node: str, value: float, threshold: float, message: str,
              *, data: str = "", other: str = "", group: str = "") -> None:  # fmt: skip
        self.flags.append(
            {"year": year, "check": check, "data": data, "node": node, "other": other, "group": group,
             "value": value, "threshold": threshold, "message": message}  # fmt: skip
        )

    def _years(self, df: pd.DataFrame) -> dict[int, pd.DataFrame]:
        ys = df.index.get_level_values("year")
        return {int(y): df[ys == y] for y in self.b.panel.years}

    def _yl(self, year: int) -> str:
        return f" in {year}" if self.b.panel.has_years else ""

    # ---- run ------------------------------------------------------------------------
    def run(self) -> Audit:
        b = self.b
        raw_years = self._years(b.tables["raw"])
        small = [y for y, t in raw_years.items() if len(t) < MIN_UNITS]
        if small:
            label = ", ".join(str(y) for y in small) if b.panel.has_years else "the build"
            warnings.warn(
                f"audit: fewer than {MIN_UNITS} units ({label}): skewness, kurtosis, correlations, alpha and PCA "
                "are unstable at this size",
                SmallSampleWarning,
                stacklevel=3,
            )
        istats = self.indicator_stats()
        coverage = self.unit_coverage()
        corr = self.correlations()
        self.correlation_flags(corr)
        cron, pca, comps, loads = self.cronbach_pca()
        imp = self.importance(corr)
        verdicts = self.verdicts(cron, pca, corr)
        flags = pd.DataFrame(self.flags, columns=FLAG_COLUMNS)
        order = {c: i for i, c in enumerate(["low_availability", "many_zeros", "few_unique", "outlier",
                                              "unit_coverage", *CORRELATION_CHECKS, "importance_gap"])}  # fmt: skip
        flags = (
            flags.assign(_o=flags["check"].map(order))
            .sort_values(["year", "_o"], kind="stable")
            .drop(columns="_o")
            .reset_index(drop=True)
        )
        cflags = flags[flags["check"].isin(CORRELATION_CHECKS)].reset_index(drop=True)
        return Audit(
            indicator_stats=istats,
            unit_coverage=coverage,
            correlations=corr,
            correlation_flags=cflags,
            cronbach=cron,
            pca=pca,
            pca_components=comps,
            pca_loadings=loads,
            importance=imp,
            verdicts=verdicts,
            flags=flags,
            thresholds=self.th,
            index=self.index,
            has_years=bool(b.panel.has_years),
        )

    # ---- indicator statistics (COINr get_stats) -------------------------------------
    def indicator_stats(self) -> pd.DataFrame:
        th = self.th
        rows = []
        for data in ("raw", "normalized"):
            for year, t in self._years(self.b.tables[data]).items():
                columns = np.ascontiguousarray(t[self.ind].to_numpy(dtype=float).T)  # one row per indicator
                for code, x in zip(self.ind, columns):
                    a = x[~np.isnan(x)]
                    n, na = x.size, a.size
                    nz = int((a == 0).sum())
                    nu = int(np.unique(a).size)
                    avail = na / n if n else math.nan
                    zshare = nz / na if na else math.nan
                    ushare = nu / na if na else math.nan
                    sk, ku = skew_excel(x), kurt_excel(x)
                    f_av = bool(avail < th.low_availability)
                    f_z = bool(zshare >= th.high_zero_share)
                    f_u = bool(ushare < th.low_unique_share)
                    f_out = outlying(sk, ku, th.outlier_skew, th.outlier_kurtosis)
                    rows.append({
                        "year": year, "data": data, "indicator": code, "dimension": self.dim_of[code],
                        "n_units": n, "n_available": na, "availability": avail, "n_zero": nz,
                        "zero_share": zshare, "n_unique": nu, "unique_share": ushare,
                        "min": a.min() if na else math.nan, "max": a.max() if na else math.nan,
                        "mean": a.mean() if na else math.nan, "median": float(np.median(a)) if na else math.nan,
                        "sd": a.std(ddof=1) if na >= 2 else math.nan, "skew": sk, "kurtosis": ku,
                        "flag_availability": f_av, "flag_zeros": f_z, "flag_unique": f_u, "flag_outlier": f_out,
                    })  # fmt: skip
                    yl = self._yl(year)
                    if f_av:
                        self._flag(year, "low_availability", code, avail, th.low_availability,
                                   f"{code}: {avail:.0%} of values available{yl} ({data} data)", data=data)  # fmt: skip
                    if f_z:
                        self._flag(year, "many_zeros", code, zshare, th.high_zero_share,
                                   f"{code}: {zshare:.0%} of available values are zero{yl} ({data} data)", data=data)  # fmt: skip
                    if f_u:
                        self._flag(year, "few_unique", code, ushare, th.low_unique_share,
                                   f"{code}: only {ushare:.0%} of available values are distinct{yl} ({data} data)",
                                   data=data)  # fmt: skip
                    if f_out:
                        self._flag(year, "outlier", code, sk, th.outlier_skew,
                                   f"{code}: skew {sk:.2f}, kurtosis {ku:.2f}{yl} ({data} data): possible outliers",
                                   data=data)  # fmt: skip
        return pd.DataFrame(rows)

    # ---- unit coverage (COINr get_data_avail) --------------------------------------
    def unit_coverage(self) -> pd.DataFrame:
        th = self.th
        names = self.b.panel.unit_names()
        rows = []
        for year, t in self._years(self.b.tables["raw"]).items():
            values = t[self.ind].to_numpy(dtype=float)
            ok = ~np.isnan(values)
            zero = (values == 0).sum(axis=1)
            by_dim = {d: ok[:, [self.dim_of[c] == d for c in self.ind]].mean(axis=1) for d in self.dims}
            n_ok, share_ok = ok.sum(axis=1), ok.mean(axis=1)
            for i, (unit, _) in enumerate(t.index):
                dav = {d: float(by_dim[d][i]) for d in self.dims}
                short = [d for d, v in dav.items() if v < th.unit_coverage]
                row = {
                    "year": year, "unit": unit, "unit_name": names.get(unit, unit),
                    "n_indicators": len(self.ind), "n_available": int(n_ok[i]),
                    "n_zero": int(zero[i]), "availability": float(share_ok[i]),
                }  # fmt: skip
                row.update({f"avail_{d}": v for d, v in dav.items()})
                row["min_dimension_availability"] = min(dav.values())
                row["meets_coverage"] = not short
                row["short_dimensions"] = ";".join(short)
                rows.append(row)
                if short:
                    detail = ", ".join(f"{d} {dav[d]:.0%}" for d in short)
                    self._flag(year, "unit_coverage", unit, min(dav.values()), th.unit_coverage,
                               f"{unit}: below {th.unit_coverage:.0%} of indicators in {detail}{self._yl(year)}",
                               data="raw", group=";".join(short))  # fmt: skip
        return pd.DataFrame(rows)

    # ---- correlations (COINr get_corr, get_corr_flags, get_denom_corr) -------------
    def correlations(self) -> pd.DataFrame:
        spec = self.spec
        rows: list[dict[str, Any]] = []

        def add(year: int, data: str, cols: dict[Any, np.ndarray], pairs: list[tuple[str, str, str, str]],
                keys: list[tuple[Any, Any]] | None = None) -> None:  # fmt: skip
            """``pairs``: (relation, x, y, group), x and y the columns' keys in ``cols`` unless ``keys`` gives them;
            each column is centred and ranked once (correlate_pairs)."""
            keys = keys if keys is not None else [(x, y) for _, x, y, _ in pairs]
            for (relation, x, y, group), (n, r, p, rho, prho) in zip(pairs, correlate_pairs(cols, keys)):
                rows.append({"year": year, "data": data, "relation": relation, "x": x, "y": y, "group": group, "n": n,
                             "pearson": r, "pearson_p": p, "spearman": rho, "spearman_p": prho})  # fmt: skip

        nodes = [c for c in spec.nodes if c != self.index]
        pairs: list[tuple[str, str, str, str]] = []
        for d in self.dims:
            members = [c for c in self.ind if self.dim_of[c] == d]
            for i, a in enumerate(members):
                for c in members[i + 1 :]:
                    pairs.append(("same_dimension", a, c, d))
        pairs += [("parent", c, spec.parents[c], self.dim_of.get(c, "")) for c in nodes]
        pairs += [("dimension", c, d, self.dim_of[c]) for c in self.ind for d in self.dims]
        pairs += [("index", c, self.index, self.dim_of.get(c, "")) for c in nodes]
        for year, s in self._years(self.b.scores).items():
            values = np.ascontiguousarray(s.to_numpy(dtype=float).T)  # one contiguous row per column
            add(year, "scores", dict(zip(s.columns, values)), pairs)
        dens = sorted({n.denominator for n in spec.nodes.values() if n.denominator})
        dens = [d for d in dens if d in self.b.panel.values.columns]
        for data in ("raw", "denominated"):
            if not dens or data not in self.b.tables:
                continue
            table = self.b.tables[data]
            den = self.b.panel.values[dens].reindex(table.index)
            # the indicators and the denominators under keys of their own (a code may be both)
            den_pairs = [("denominator", c, d, self.dim_of[c]) for c in self.ind for d in dens]
            for year, t in self._years(table).items():
                dy = np.ascontiguousarray(den.loc[t.index].to_numpy(dtype=float).T)
                xs = np.ascontiguousarray(t[self.ind].to_numpy(dtype=float).T)
                cols = {("x", c): xs[j] for j, c in enumerate(self.ind)} | {("d", d): dy[j] for j, d in enumerate(dens)}
                add(year, data, cols, den_pairs, [(("x", x), ("d", y)) for _, x, y, _ in den_pairs])
        return pd.DataFrame(rows, columns=CORRELATION_COLUMNS)

    def correlation_flags(self, corr: pd.DataFrame) -> None:
        th = self.th
        relation, data = corr["relation"].to_numpy(dtype=object), corr["data"].to_numpy(dtype=object)
        pearson, pearson_p = corr["pearson"].to_numpy(dtype=float), corr["pearson_p"].to_numpy(dtype=float)
        candidate = (  # the rows a test below flags (NaN flags nothing); the rest are not looked at
            ((relation == "same_dimension") & (pearson > th.collinear))
            | ((relation == "parent") & ((pearson < 0) | (pearson_p >= th.significance)))
            | ((relation == "denominator") & (data == "denominated") & (np.abs(pearson) > th.denominator_corr))
        )
        for r in corr[candidate].itertuples(index=False):
            yl = self._yl(r.year)
            if r.relation == "same_dimension" and r.pearson > th.collinear:
                self._flag(r.year, "collinear", r.x, r.pearson, th.collinear,
                           f"{r.x} and {r.y} correlate at r = {r.pearson:.2f} within {r.group}{yl}: possible "
                           "double counting", data=r.data, other=r.y, group=r.group)  # fmt: skip
            elif r.relation == "parent":
                if r.pearson < 0:
                    self._flag(r.year, "negative_with_parent", r.x, r.pearson, 0.0,
                               f"{r.x} correlates negatively with its parent {r.y} (r = {r.pearson:.2f}){yl}",
                               data=r.data, other=r.y, group=r.group)  # fmt: skip
                elif r.pearson_p >= th.significance:
                    self._flag(r.year, "insignificant_with_parent", r.x, r.pearson_p, th.significance,
                               f"{r.x} is not significantly correlated with its parent {r.y} (r = {r.pearson:.2f}, "
                               f"p = {r.pearson_p:.3f}){yl}", data=r.data, other=r.y, group=r.group)  # fmt: skip
            elif r.relation == "denominator" and r.data == "denominated" and abs(r.pearson) > th.denominator_corr:
                own = self.spec.nodes[r.x].denominator
                how = f"divided by {own}" if own else "not denominated"
                self._flag(r.year, "denominator_correlation", r.x, r.pearson, th.denominator_corr,
                           f"{r.x} ({how}) correlates with {r.y} at r = {r.pearson:.2f}{yl}: a size effect?",
                           data=r.data, other=r.y, group=r.group)  # fmt: skip
        # an indicator that correlates more with another dimension than with its own
        dim = corr[(corr["data"] == "scores") & (corr["relation"] == "dimension")]
        by_x: dict[tuple[int, str], dict[str, float]] = {}
        for year, x, y, r in zip(dim["year"].tolist(), dim["x"].to_numpy(dtype=object), dim["y"].to_numpy(dtype=object),
                                 dim["pearson"].tolist()):
            by_x.setdefault((int(year), x), {})[y] = float(r)
        for (year, x), rs in by_x.items():
            d = self.dim_of[x]
            r_own = rs.get(d, math.nan)
            others = {y: r for y, r in rs.items() if y != d and not math.isnan(r)}
            if math.isnan(r_own) or not others:
                continue
            best = max(others, key=lambda y: others[y])
            if others[best] > r_own:
                self._flag(year, "stronger_with_other_dimension", x, others[best], r_own,
                           f"{x} correlates more with {best} (r = {others[best]:.2f}) than with its own "
                           f"dimension {d} (r = {r_own:.2f}){self._yl(year)}",
                           data="scores", other=best, group=d)  # fmt: skip

    # ---- Cronbach's alpha and PCA ---------------------------------------------------
    def cronbach_pca(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        th = self.th
        cron, pca, comps, loads = [], [], [], []
        aggs = list(self.spec.aggregates)
        top_down = sorted(aggs, key=lambda c: (-self.spec.levels[c], aggs.index(c)))
        normalized = self.b.tables["normalized"]
        where = {c: j for j, c in enumerate(normalized.columns)}
        for year, t in self._years(normalized).items():
            values = t.to_numpy(dtype=float)
            for node in top_down:
                codes = self.beneath[node]
                x = values[:, [where[c] for c in codes]]
                x = np.asfortranarray(x[~np.isnan(x).any(axis=1)])  # complete units, column-major as pandas holds them
                n, k = x.shape
                lvl = self.spec.levels[node]
                cron.append({"year": year, "node": node, "level": lvl, "n_indicators": k, "n_units": n,
                             "alpha": cronbach_alpha(x)})  # fmt: skip
                row = {"year": year, "node": node, "level": lvl, "n_indicators": k, "n_units": n,
                       "n_eigen_gt1": pd.NA, "pc1_share": math.nan, "pc1_dominates": pd.NA,
                       "loadings_same_sign": pd.NA, "kmo": math.nan, "bartlett_chi2": math.nan,
                       "bartlett_df": k * (k - 1) // 2, "bartlett_p": math.nan}  # fmt: skip
                ok = k >= 2 and n >= 3 and bool((np.ptp(x, axis=0) > 0).all())
                if ok:
                    r = np.corrcoef(x, rowvar=False)
                    vals, load = pca_eigen(r)
                    share = vals / vals.sum()
                    n_gt1 = int((vals > 1).sum())
                    with warnings.catch_warnings():  # a singular R gives NaN, which the table shows
                        warnings.simplefilter("ignore", SingularCorrelationWarning)
                        overall, msa = kmo(r)
                    chi2, df, p = bartlett_sphericity(r, n)
                    row.update({
                        "n_eigen_gt1": n_gt1, "pc1_share": float(share[0]),
                        "pc1_dominates": bool(n_gt1 == 1 and share[0] >= th.pc1_share),
                        "loadings_same_sign": bool((load >= -1e-12).all()),
                        "kmo": overall, "bartlett_chi2": chi2, "bartlett_df": df, "bartlett_p": p,
                    })  # fmt: skip
                    cum = np.cumsum(share)
                    for j in range(k):
                        comps.append({"year": year, "node": node, "component": j + 1, "eigenvalue": float(vals[j]),
                                      "explained": float(share[j]), "cumulative": float(cum[j])})  # fmt: skip
                    for j, c in enumerate(codes):
                        loads.append({"year": year, "node": node, "indicator": c, "pc1_loading": float(load[j]),
                                      "msa": float(msa[j])})  # fmt: skip
                pca.append(row)
        pca_df = pd.DataFrame(pca)
        for c in ("n_eigen_gt1",):
            pca_df[c] = pca_df[c].astype("Int64")
        for c in ("pc1_dominates", "loadings_same_sign"):
            pca_df[c] = pca_df[c].astype("boolean")
        comp_cols = ["year", "node", "component", "eigenvalue", "explained", "cumulative"]
        load_cols = ["year", "node", "indicator", "pc1_loading", "msa"]
        return pd.DataFrame(cron), pca_df, pd.DataFrame(comps, columns=comp_cols), pd.DataFrame(loads, columns=load_cols)

    # ---- effective weights against importance (COINr get_eff_weights; §B6) ---------
    def importance(self, corr: pd.DataFrame) -> pd.DataFrame:
        th = self.th
        w = default_weights(self.b.weights)  # the tree's weights: a segment's own set has rows of its own
        r_idx = corr[(corr["data"] == "scores") & (corr["relation"] == "index")].set_index(["year", "x"])["pearson"]
        rows = []
        for year in self.b.panel.years:
            wy = w[w["year"] == year] if "year" in w.columns else w
            for rec in wy.itertuples(index=False):
                if rec.node == self.index:
                    continue
                r = r_idx.get((int(year), rec.node), math.nan)
                rows.append({"year": int(year), "node": rec.node, "parent": rec.parent, "level": int(rec.level),
                             "effective_weight": float(rec.effective_weight), "r2": r * r})  # fmt: skip
        cols = ["year", "node", "parent", "level", "effective_weight", "r2", "rel_weight", "rel_r2", "flag_gap"]
        df = pd.DataFrame(rows, columns=cols[:6])
        if df.empty:
            return pd.DataFrame(columns=cols)
        shares = importance_shares(df["r2"], df["effective_weight"], list(zip(df["year"], df["level"])),
                                   threshold=th.importance_gap)  # fmt: skip
        df["rel_weight"] = shares["rel_weight"]
        df["rel_r2"] = shares["rel_importance"]
        df["flag_gap"] = shares["gap"]
        for r in df[df["flag_gap"]].itertuples(index=False):
            self._flag(r.year, "importance_gap", r.node, r.rel_r2, r.rel_weight,
                       f"{r.node}: relative importance {r.rel_r2:.3f} (r² with the index) against relative "
                       f"effective weight {r.rel_weight:.3f} at level {r.level}{self._yl(r.year)}",
                       data="scores", other=self.index, group=str(r.parent))  # fmt: skip
        return df

    # ---- verdicts ---------------------------------------------------------------------
    def verdicts(self, cron: pd.DataFrame, pca: pd.DataFrame, corr: pd.DataFrame) -> pd.DataFrame:
        th = self.th
        rule = th.verdict_rule
        alpha = dict(zip(zip(cron["year"], cron["node"]), cron["alpha"]))
        columns = {c: list(pca[c]) for c in pca.columns}  # pd.NA kept, as the audit's tables hold it
        pc = {(y, n): {c: v[i] for c, v in columns.items()} for i, (y, n) in enumerate(zip(pca["year"], pca["node"]))}
        dim = corr[(corr["data"] == "scores") & (corr["relation"] == "dimension")]
        own = dim[(dim["y"] == dim["group"]) & (dim["pearson"] < 0)]
        negative: dict[tuple[int, str], list[Any]] = {}
        for r in own.itertuples(index=False):
            negative.setdefault((int(r.year), r.y), []).append(r)
        rows = []
        for year in self.b.panel.years:
            year = int(year)
            for d in self.dims:
                if d not in self.beneath:
                    continue
                a = float(alpha.get((year, d), math.nan))
                p = pc[(year, d)]
                dom = p["pc1_dominates"]
                neg = negative.get((year, d), [])
                reasons_bad, reasons_check = [], []
                if a < th.alpha_incoherent:
                    reasons_bad.append(f"alpha {a:.2f} < {th.alpha_incoherent:g}")
                for r in neg:
                    reasons_bad.append(f"{r.x} correlates negatively with {d} (r = {r.pearson:.2f})")
                if reasons_bad:
                    verdict, reason = "incoherent", "; ".join(reasons_bad)
                else:
                    if math.isnan(a):
                        reasons_check.append(f"alpha not computable ({p['n_indicators']} indicators, "
                                             f"{p['n_units']} complete units)")  # fmt: skip
                    elif a < th.alpha_coherent:
                        reasons_check.append(f"alpha {a:.2f} < {th.alpha_coherent:g}")
                    if dom is pd.NA:
                        reasons_check.append("PCA not computable")
                    elif not dom:
                        reasons_check.append(
                            f"PC1 does not dominate ({p['n_eigen_gt1']} eigenvalues > 1, PC1 {p['pc1_share']:.0%})"
                        )
                    if reasons_check:
                        verdict, reason = "check", "; ".join(reasons_check)
                    else:
                        verdict = "coherent"
                        reason = f"alpha {a:.2f}, one eigenvalue > 1, PC1 {p['pc1_share']:.0%}, no negative correlation"
                rows.append({
                    "year": year, "node": d, "name": self.spec.nodes[d].name_en or self.spec.nodes[d].name_zh,
                    "verdict": verdict, "alpha": a, "n_eigen_gt1": p["n_eigen_gt1"], "pc1_share": p["pc1_share"],
                    "pc1_dominates": dom, "n_negative": int(len(neg)), "reason": reason, "rule": rule,
                })  # fmt: skip
        df = pd.DataFrame(rows)
        if not df.empty:
            df["n_eigen_gt1"] = df["n_eigen_gt1"].astype("Int64")
            df["pc1_dominates"] = df["pc1_dominates"].astype("boolean")
        return df
