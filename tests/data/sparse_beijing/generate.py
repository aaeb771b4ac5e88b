"""Write sparse_panel.csv: a first real-looking build of the Beijing index (the figures are made up).

    python tests/data/sparse_beijing/generate.py

5 of the 37 indicators: VC3, FS1 and IN1 annual, VC4 and XB2 monthly stocks (the December value is the
year's); BJ, SH, ZJ, SC and the national series CN, 2023-2024; GDP as the denominator. IN1 has a series
break for BJ from 2024 (``break`` 1, with a note) and two sources for SH 2024 (the later vintage is a
revision); SC's 2023 IN1 is not in the file; FS1 is a forecast for ZJ 2024 and an estimate (SDMX ``E``)
for SC 2024. Deterministic: running it again writes the same bytes.
"""

import csv
from pathlib import Path

NAMES = {"BJ": "北京", "SH": "上海", "ZJ": "浙江", "SC": "四川", "CN": "全国"}
GDP = {"BJ": (43761, 49843), "SH": (47219, 53927), "ZJ": (82553, 90131), "SC": (60133, 64697), "CN": (1260582, 1349084)}
VC3 = {"BJ": (30.1, 31.5), "SH": (25.2, 24.8), "ZJ": (18.3, 19.0), "SC": (9.4, 10.2), "CN": (20.1, 20.5)}
FS1 = {"BJ": (4.1, 4.3), "SH": (3.9, 4.0), "ZJ": (3.5, 3.6), "SC": (2.8, 3.0), "CN": (3.7, 3.8)}
FS1_FLAGS = {("ZJ", 2024): "forecast", ("SC", 2024): "E"}
IN1 = {"BJ": (560.0, 610.0), "SH": (480.0, None), "ZJ": (300.0, 320.0), "SC": (None, 210.0), "CN": (5100.0, 5400.0)}
VC4 = {"BJ": [("2023-12", 9800), ("2024-06", 10100), ("2024-12", 10400)],
       "SH": [("2023-12", 9000), ("2024-06", 9200), ("2024-12", 9500)],
       "ZJ": [("2023-12", 5200), ("2024-12", 5600)], "SC": [("2023-12", 1500), ("2024-12", 1650)],
       "CN": [("2023-12", 60000), ("2024-12", 63000)]}
XB2 = {"BJ": [("2023-12", 3000), ("2024-12", 3300)], "SH": [("2023-12", 2800), ("2024-12", 2950)],
       "ZJ": [("2023-12", 900), ("2024-12", 950)], "CN": [("2023-12", 20000), ("2024-12", 21000)]}


def rows():
    def row(u, period, ind, value, source, vintage, flag="observed", note="", brk=""):
        return [u, NAMES[u], period, ind, value, source, vintage, flag, note, brk]

    for u in NAMES:
        for k, y in enumerate((2023, 2024)):
            yield row(u, str(y), "GDP", GDP[u][k], "国家统计局", "2025-02")
            yield row(u, str(y), "VC3", VC3[u][k], "清科研究中心", "2025-01")
            yield row(u, str(y), "FS1", FS1[u][k], "中国人民银行", "2025-04", FS1_FLAGS.get((u, y), "observed"))
    for u in NAMES:
        for k, y in enumerate((2023, 2024)):
            if IN1[u][k] is None:
                continue
            brk = (u, y) == ("BJ", 2024)
            yield row(u, str(y), "IN1", IN1[u][k], "国家金融监督管理总局", "2025-03",
                      note="口径调整：2024年起含再保险保费" if brk else "", brk="1" if brk else "")
    yield row("SH", "2024", "IN1", 505.0, "国家金融监督管理总局", "2025-03")
    yield row("SH", "2024", "IN1", 512.0, "上海市金融局", "2025-06", note="修订数")
    for code, series in (("VC4", VC4), ("XB2", XB2)):
        source, vintage = {"VC4": ("中国证券投资基金业协会", "2025-01"), "XB2": ("国家外汇管理局", "2025-03")}[code]
        for u, obs in series.items():
            for period, value in obs:
                yield row(u, period, code, value, source, vintage)


def main():
    out = Path(__file__).with_name("sparse_panel.csv")
    with out.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["unit", "unit_name", "period", "indicator", "value", "source", "vintage", "flag", "note", "break"])
        w.writerows(rows())
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
