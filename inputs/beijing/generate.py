"""Illustrative panel of the Beijing Tech-Finance Development Index (示例数据，非官方统计).

Writes ``beijing_tfdi_panel.csv`` beside this file, in the engine's long layout
(unit, unit_name, unit_name_en, period, indicator, value, source, flag), for Beijing, 12 peer
provinces and the national series (CN), 2019-2025, plus two real 2025Q1 anchors.

    python inputs/beijing/generate.py

The numbers are SIMULATED. Only their orders of magnitude are meant to be plausible; nothing
here is an official statistic except the two 2025Q1 anchor rows; the ``flag`` column says so on
every row (``illustrative``; ``observed`` for the anchors), and the build's data notice comes from it. Seeded: running the script
again reproduces the file byte for byte (same numpy).

Model, per amount indicator: Beijing follows a level path (2019 value x growth x a national
cycle); every other province is Beijing's value per unit of a scale variable (GDP, loans or
high-tech firms) x its own relative strength in the dimension x a slow trend x noise. 18
unnamed provinces are simulated too, so that CN = the sum of all 31 provinces and the national
ranks (1 = best among 31) follow the simulated flows. Lumpy flows are Poisson numbers of deals,
hence the zeros.
"""

import csv
from pathlib import Path

import numpy as np

SEED = 20251016
YEARS = list(range(2018, 2026))  # 2018 is simulated only for 2019 growth rates; not written
LABEL = "示例数据，非官方统计 (illustrative, not official statistics)"
SOURCE = LABEL + "; simulated by inputs/beijing/generate.py (seed 20251016)"
ANCHOR = (LABEL + "; 例外：本行为公开数字 (exception: a published figure): 2025年一季度末北京{what}余额"
          "{wan}万亿元, 据《北京市关于加快构建科技金融体制 有力支撑高水平科技自立自强的实施方案"
          "（2025-2027年）》新闻发布会及相关报道 (press coverage of the plan's release, 2025)")
DIMS = ["VC", "CR", "CM", "BD", "RT", "IN", "FS", "XB"]

# code, 中文, English, GDP 2019 (亿元), RMB loans 2019 (亿元), corporate share of loans,
# high-tech firms 2019, their yearly growth, GDP growth offset (pp), loan growth offset (pp),
# strength in each dimension relative to Beijing (per unit of the scale variable), DIMS order
UNITS = [
    ("BJ", "北京", "Beijing", 35400, 70000, .72, 27000, .03, -.3, -1, [1, 1, 1, 1, 1, 1, 1, 1]),
    ("SH", "上海", "Shanghai", 38200, 72000, .62, 12800, .15, -.5, -3, [.85, .8, .9, .6, .6, 1.1, .9, 1.3]),
    ("GD", "广东", "Guangdong", 107700, 157000, .55, 50000, .10, -.5, 0, [.3, .6, .45, .2, .45, .6, .5, .7]),
    ("JS", "江苏", "Jiangsu", 99600, 139000, .62, 24000, .18, .3, 1, [.2, .55, .45, .25, .35, .5, .45, .45]),
    ("ZJ", "浙江", "Zhejiang", 62400, 124000, .55, 16000, .22, .8, 2, [.4, .6, .55, .2, .45, .75, .6, .4]),
    ("SD", "山东", "Shandong", 71100, 84000, .65, 14000, .20, .3, 0, [.08, .4, .18, .12, .3, .35, .4, .25]),
    ("SC", "四川", "Sichuan", 46600, 62000, .68, 8000, .17, .8, 1, [.1, .45, .2, .15, .35, .3, .45, .15]),
    ("HB", "湖北", "Hubei", 45800, 56000, .64, 7800, .22, .3, 0, [.12, .45, .2, .15, .25, .35, .45, .15]),
    ("AH", "安徽", "Anhui", 37100, 45000, .60, 6600, .23, 1.0, 2, [.35, .55, .3, .15, .25, .4, .8, .2]),
    ("FJ", "福建", "Fujian", 42400, 50000, .55, 5500, .17, .5, -1, [.1, .4, .2, .12, .3, .3, .35, .35]),
    ("HN", "湖南", "Hunan", 39800, 46000, .60, 6100, .20, .2, 0, [.08, .4, .2, .12, .2, .3, .4, .15]),
    ("SN", "陕西", "Shaanxi", 25800, 36000, .70, 5000, .18, 0, 0, [.12, .45, .2, .15, .3, .3, .5, .15]),
    ("TJ", "天津", "Tianjin", 14100, 36000, .72, 7400, .12, -2.0, -5, [.15, .5, .25, .3, .7, .35, .45, .45]),
]
# GDP 2019 of the 18 other provinces (亿元); loans = 1.7 x GDP, 0.11 high-tech firms per 亿元;
# their strength in each dimension is drawn from these ranges (DIMS order)
OTHERS = [35100, 17000, 17200, 24900, 11700, 13600, 24800, 54300, 21200,
          5300, 23600, 16800, 23200, 1700, 8700, 3000, 3700, 13600]
OTHERS_REL = [(.03, .12), (.25, .45), (.05, .15), (.05, .15), (.1, .3), (.1, .25), (.15, .35), (.03, .12)]
TREND = [0, -.01, 0, 0, 0, 0, 0, 0]  # mean yearly drift of the others' strength (CR: Beijing keeps pace)
GDP_GROWTH = [7.3, 2.7, 12.8, 4.8, 4.6, 4.2, 4.0]      # national nominal growth %, 2019-2025
LOAN_GROWTH = [12.5, 12.8, 11.6, 11.1, 10.6, 7.6, 6.5]  # national RMB loan growth %, 2019-2025

CYCLE = {  # national cycles, 2018..2025 (Beijing's 2019 value is the level at 1.0)
    "none": [1] * 8,
    "ipo": [.8, 1, 1.5, 1.9, 1.6, 1.1, .45, .7],         # A-share IPO wave, then the 2024 slowdown
    "bond": [.6, 1, 1.5, 2.6, 4.6, 7.1, 10, 16],          # 科创票据 2022, 科技板 2025
    "reit": [0, 0, 0, 1, 1.3, .9, 3, 2.4],                # public REITs list from June 2021
    "fdi": [1, 1, 1.05, 1.2, 1.15, .85, .7, .75],
    "invest": [1.05, 1, .95, 1.15, .95, .8, .75, .85],    # VC/PE investment cycle
    "hk": [.8, 1, 1.3, 1.5, .8, .6, .7, 1.6],             # overseas (mainly Hong Kong) listings
}
# code, dimension, kind, scale variable, Beijing 2019 value, yearly growth, cycle, noise sd,
# decimals written, deal size (亿 per deal, lumpy flows only)
#   kind: stock (random-walk noise) | flow (iid noise) | deals (Poisson number of deals x size)
#         | count (Poisson count) | path (Beijing path given below)
AMOUNTS = [
    ("VC1", "VC", "flow", "GDP", 2200, .05, "invest", .15, 1, None),
    ("VC2", "VC", "flow", "GDP", 1800, 0, "invest", .15, 1, None),
    ("VC4", "VC", "stock", "GDP", 29000, .05, "none", .03, 1, None),
    ("CR1", "CR", "path", "LOANS_RMB", None, None, None, .02, 1, None),
    ("CR2", "CR", "path", "LOANS_CORP", None, None, None, .02, 1, None),
    ("CR4", "CR", "count", "HT_FIRMS", 2600, .08, "none", .08, 0, None),
    ("CR6", "CR", "flow", "GDP", 120, .30, "none", .20, 1, None),
    ("CM1", "CM", "count", "GDP", 38, .03, "ipo", .10, 0, None),
    ("CM4", "CM", "stock", "GDP", 9000, .17, "none", .06, 1, None),
    ("CM5", "CM", "flow", "GDP", 1500, 0, "none", .25, 1, None),
    ("BD3", "BD", "count", "GDP", 17, 0, "bond", .10, 0, None),
    ("RT1", "RT", "deals", "GDP", 60, 0, "reit", .20, 1, 30),  # 60 = the 2021 level (cycle 1.0)
    ("IN1", "IN", "flow", "GDP", 28, .14, "none", .12, 2, None),
    ("IN2", "IN", "flow", "GDP", 9500, .18, "none", .15, 1, None),
    ("IN3", "IN", "stock", "GDP", 2400, .11, "none", .04, 1, None),
    ("FS2", "FS", "stock", "GDP", 500, .15, "none", .04, 1, None),
    ("FS3", "FS", "stock", "GDP", 350, .12, "none", .04, 1, None),
    ("FS4", "FS", "deals", "GDP", 10, .10, "none", .15, 2, 1),
    ("FS5", "FS", "flow", "GDP", 420, .15, "none", .08, 1, None),
    ("XB1", "XB", "deals", "GDP", 9, .25, "none", .20, 2, 1),
    ("XB2", "XB", "stock", "GDP", 600, .12, "none", .05, 1, None),
    ("XB3", "XB", "count", "GDP", 9, 0, "hk", .10, 0, None),
    ("XB4", "XB", "flow", "GDP", 75, .03, "fdi", .12, 2, None),
    ("XB5", "XB", "flow", "GDP", 2500, .15, "none", .10, 1, None),
]
BJ_PATH = {  # Beijing's tech loan balances, end of year 2018..2025 (亿元): 42,000 and 19,000 at 2025Q1
    "CR1": [20800, 23500, 26800, 30200, 33900, 37300, 40900, 45200],
    "CR2": [9300, 10600, 12100, 13600, 15100, 16700, 18500, 20500],
}
BJ_ONLY = {  # Beijing-only programmes, 2018..2025 (亿元); zero before the programme started
    "VC5": [0, 0, 0, 0, 0, 0, 126.5, 318.0],     # AIC equity-investment pilot funds (pilot 2024)
    "CR5": [0, 0, 0, 0, 0, 185.0, 402.6, 588.4],  # Zhongguancun service centre loans (illustrative start 2023)
}
RANKS = {"CM3": "CM2", "BD2": "BD1", "RT3": "RT1", "IN4": "IN1"}  # rank of the flow among 31 provinces
MISSING = [("SN", "VC3", 2019), ("HN", "XB2", 2019), ("TJ", "IN3", 2020), ("HB", "VC4", 2021),
           ("BJ", "IN2", 2022), ("FJ", "CR4", 2023), ("SD", "XB5", 2024), ("SC", "FS3", 2025),
           ("AH", "FS5", 2025), ("JS", "IN2", 2025)]
ORDER = ["VC1", "VC2", "VC3", "VC4", "VC5", "CR1", "CR2", "CR3", "CR4", "CR5", "CR6",
         "CM1", "CM2", "CM3", "CM4", "CM5", "BD1", "BD2", "BD3", "BD4", "RT1", "RT2", "RT3",
         "IN1", "IN2", "IN3", "IN4", "XB1", "XB2", "XB3", "XB4", "XB5",
         "FS1", "FS2", "FS3", "FS4", "FS5", "GDP", "LOANS_RMB", "LOANS_CORP", "HT_FIRMS"]
DECIMALS = {"VC3": 2, "BD4": 1, "RT2": 2, "FS1": 2, "CR3": 2, "CM2": 1, "BD1": 1, "VC5": 1, "CR5": 1,
            "GDP": 1, "LOANS_RMB": 1, "LOANS_CORP": 1, "HT_FIRMS": 0, **{r: 0 for r in RANKS}}


CODES = [u[0] for u in UNITS]


def decimals(ind):
    return DECIMALS.get(ind, next((a[8] for a in AMOUNTS if a[0] == ind), 1))


def grow(level_2019, rates):
    """Levels 2018..2025 from the 2019 level and the growth rates of 2019..2025 (units x 7)."""
    up = np.cumprod(1 + rates[:, 1:], 1)
    return level_2019[:, None] * np.hstack([1 / (1 + rates[:, :1]), np.ones((len(rates), 1)), up])


def simulate(rng):
    n, T = len(UNITS) + len(OTHERS), len(YEARS)
    lo, hi = np.array(OTHERS_REL).T
    rel = np.vstack([u[10] for u in UNITS] + [rng.uniform(lo, hi, (len(OTHERS), len(DIMS)))])
    trend = np.vstack([np.zeros(len(DIMS)), rng.normal(TREND, .02, (n - 1, len(DIMS)))])  # Beijing: none
    gdp0 = np.array([u[3] for u in UNITS] + OTHERS, float)
    off = np.array([u[8] for u in UNITS] + [0] * len(OTHERS), float)
    gdp = grow(gdp0, (np.array(GDP_GROWTH) + off[:, None] + rng.normal(0, .5, (n, T - 1))) / 100)
    loan0 = np.array([u[4] for u in UNITS] + [1.7 * x for x in OTHERS], float)
    loff = np.array([u[9] for u in UNITS] + [0] * len(OTHERS), float)
    loans = grow(loan0, (np.array(LOAN_GROWTH) + loff[:, None] + rng.normal(0, .8, (n, T - 1))) / 100)
    corp_share = np.array([u[5] for u in UNITS] + [.62] * len(OTHERS))[:, None] + .004 * (np.arange(T) - 1)
    ht0 = np.array([u[6] for u in UNITS] + [.11 * x for x in OTHERS], float)
    htg = np.array([u[7] for u in UNITS] + [.2] * len(OTHERS))[:, None]
    yrs = np.arange(T) - 1.0
    ht = np.round(ht0[:, None] * (1 + htg) ** np.minimum(yrs, 4) * (1 + htg / 2) ** np.maximum(yrs - 4, 0))
    v = {"GDP": gdp, "LOANS_RMB": loans, "LOANS_CORP": loans * corp_share, "HT_FIRMS": ht}

    for code, dim, kind, scale, bj0, growth, cyc, sd, _, size in AMOUNTS:
        d = DIMS.index(dim)
        S = v[scale]
        if kind == "path":
            bj = np.array(BJ_PATH[code], float)
        else:
            bj = bj0 * (1 + growth) ** yrs * np.array(CYCLE[cyc])
        mean = bj / S[0] * S * rel[:, d:d + 1] * np.exp(trend[:, d:d + 1] * yrs)
        if kind in ("stock", "path"):
            x = mean * np.exp(np.cumsum(rng.normal(0, sd, (n, T)), 1))
        elif kind == "flow":
            x = mean * np.exp(rng.normal(0, sd, (n, T)))
        elif kind == "count":
            x = rng.poisson(mean).astype(float)
        else:  # deals
            x = rng.poisson(mean / size) * size * np.exp(rng.normal(0, sd, (n, T)))
        if kind == "path":
            x[0] = bj  # Beijing keeps its path through the published 2025Q1 anchors
        v[code] = x
    # amounts that ride on a count: IPO proceeds per IPO, sci-tech bond issuance per issuer
    v["CM2"] = v["CM1"] * 18 * rel[:, 2:3] ** .5 * np.exp(rng.normal(0, .25, (n, T)))
    v["BD1"] = v["BD3"] * 21 * rel[:, 3:4] ** .5 * np.exp(rng.normal(0, .2, (n, T)))
    v["RT1"][CODES.index("TJ"), YEARS.index(2024)] = 178.0  # one large industrial-park REIT: an outlier per GDP
    for code, path in BJ_ONLY.items():
        x = np.full((n, T), np.nan)
        x[0] = path
        v[code] = x

    # ratios
    v["VC3"] = 14 + 16 * rel[:, 0:1] + .3 * yrs + rng.normal(0, 2, (n, T))
    v["FS1"] = 1.8 + 4.5 * rel[:, 6:7] + .05 * yrs + rng.normal(0, .2, (n, T))
    spread_cycle = np.array([1.05, 1, 1.1, .9, .8, .75, .6, .55])
    v["BD4"] = np.where(v["BD3"] > 0, (95 - 55 * rel[:, 3:4]) * spread_cycle + rng.normal(0, 6, (n, T)), np.nan)
    tech = v["RT1"] * np.clip(.2 + .5 * rel[:, 4:5] + rng.normal(0, .15, (n, T)), 0, 1)
    cum = np.cumsum(v["RT1"], 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        v["RT2"] = np.where(cum > 0, 100 * np.cumsum(tech, 1) / cum, np.nan)
    # tech-enterprise loan growth lead: min(vs national tech-loan growth, vs own all-loan growth), pp
    g_tech = v["CR2"][:, 1:] / v["CR2"][:, :-1] - 1
    g_all = v["LOANS_RMB"][:, 1:] / v["LOANS_RMB"][:, :-1] - 1
    g_cn = v["CR2"].sum(0)[1:] / v["CR2"].sum(0)[:-1] - 1
    v["CR3"] = np.hstack([np.full((n, 1), np.nan), 100 * np.minimum(g_tech - g_cn, g_tech - g_all)])
    # national ranks among all 31 provinces (1 = best, ties share the best place); none without a market
    for rank, flow in RANKS.items():
        v[flow] = np.round(v[flow], decimals(flow))  # rank what is written, so ties agree
        r = np.full((n, T), np.nan)
        for t in range(T):
            if v[flow][:, t].sum() > 0:
                r[:, t] = (v[flow][:, t][None, :] > v[flow][:, t][:, None]).sum(1) + 1
        v[rank] = r

    # the national series: sums over the 31 provinces; national ratios
    cn = {k: x.sum(0) for k, x in v.items() if k not in RANKS and k not in BJ_ONLY and k not in
          ("VC3", "FS1", "BD4", "RT2", "CR3")}
    cn["VC3"] = 20 + .3 * yrs + rng.normal(0, 1, T)
    cn["FS1"] = 3.9 + .05 * yrs + rng.normal(0, .1, T)
    w = np.nan_to_num(v["BD1"])
    cn["BD4"] = np.nansum(v["BD4"] * w, 0) / w.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cn["RT2"] = np.where(cum.sum(0) > 0, 100 * np.cumsum(tech.sum(0)) / cum.sum(0), np.nan)
    return v, cn


def rows(v, cn):
    names = [(u[0], u[1], u[2]) for u in UNITS] + [("CN", "全国", "China (national)")]
    missing = set(MISSING)
    for i, (code, zh, en) in enumerate(names):
        data = cn if code == "CN" else {k: x[i] for k, x in v.items()}
        for t, year in enumerate(YEARS):
            if year < 2019:
                continue
            for ind in ORDER:
                if ind not in data or (code, ind, year) in missing:
                    continue
                x = data[ind][t]
                if np.isnan(x):
                    continue
                yield [code, zh, en, str(year), ind, f"{x:.{decimals(ind)}f}", SOURCE, "illustrative"]
        if code == "BJ":
            yield [code, zh, en, "2025Q1", "CR1", "42000", ANCHOR.format(what="科技贷款", wan="4.2"), "observed"]
            yield [code, zh, en, "2025Q1", "CR2", "19000", ANCHOR.format(what="科技型企业贷款", wan="1.9"), "observed"]


def main():
    v, cn = simulate(np.random.default_rng(SEED))
    out = Path(__file__).with_name("beijing_tfdi_panel.csv")
    with out.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["unit", "unit_name", "unit_name_en", "period", "indicator", "value", "source", "flag"])
        w.writerows(rows(v, cn))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
