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


@pytest.mark.parametrize("spec", SPECS)
def test_every_bundled_spec_renders_with_audit(spec, tmp_path):
    report = build_with_audit(spec, tmp_path / "build") / "report"
    pages = {p.name: p.read_text(encoding="utf-8") for p in report.glob("*.html")}
    assert {"index.html", "methodology.html", "robustness.html"} <= set(pages)
    for name, text in pages.items():
        assert text.rstrip().endswith("</html>"), name
