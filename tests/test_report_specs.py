"""Every bundled spec's report renders with the audit (as ``make run`` builds it)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from index_engine.job import run_build

from .conftest import ROOT

SPECS = sorted(p.relative_to(ROOT).as_posix() for p in [*ROOT.glob("weights/*.yaml"), *ROOT.glob("weights/examples/*.yaml")])


def build_with_audit(spec: str, out: Path) -> Path:
    """``index-engine build <spec> --audit --no-excel`` into ``out`` (the audit's small-sample warnings silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_build(ROOT / spec, out=out, audit=True, excel=False)
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """``built(spec)``: the folder of ``build_with_audit(spec)``, made once for the module (tests only read it)."""
    folders: dict[str, Path] = {}

    def get(spec: str) -> Path:
        if spec not in folders:
            folders[spec] = build_with_audit(spec, tmp_path_factory.mktemp("spec") / "build")
        return folders[spec]

    return get


@pytest.mark.parametrize("spec", SPECS)
def test_every_bundled_spec_renders_with_audit(spec, built):
    report = built(spec) / "report"
    pages = {p.name: p.read_text(encoding="utf-8") for p in report.glob("*.html")}
    assert {"index.html", "methodology.html", "robustness.html"} <= set(pages)
    for name, text in pages.items():
        assert text.rstrip().endswith("</html>"), name


def test_a_single_unit_gets_pages_for_one_unit(built):
    """The time series (Beijing alone): base year, growth and contributions since the base year; no
    rank out of one and no peer median (which would be the unit itself)."""
    report = built("weights/beijing_tfdi_timeseries.yaml") / "report"
    index, unit = (report / "index.html").read_text(encoding="utf-8"), (report / "unit-BJ.html").read_text(encoding="utf-8")
    for page in (index, unit):
        assert "基期（2019年）得分" in page and "同组中位数" not in page and 'class="card-of"' not in page
    assert "历年指数与维度得分" in index and "横向比较版" not in index  # its own description, not the benchmark's
    assert "各维度对指数较基期变化的贡献（2019→2025）" in unit
