"""Shared fixtures: paths to the examples, a tiny spec and panel (3 units × 4 indicators × 2 years),
the Beijing build made once per session, the command line run in this process, and the order in
which modules run. tests/README.md says which fixture to reuse so that new tests stay fast."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest

import index_engine as ie

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
BEIJING = ROOT / "weights/beijing_tfdi.yaml"


# Modules whose tests take longest, run first (a module's functions all go to one worker, a test class
# is a unit of its own: see addopts in pyproject.toml), so that no worker is left with a long module at
# the end while the other waits. test_report_browser.py holds two classes, one per language, that the two
# workers run side by side.
SLOWEST_FIRST = (
    "tests/test_report_browser.py",
    "tests/test_report.py",
    "tests/test_report_specs.py",
    "tests/test_job.py",
    "tests/test_folder.py",
    "tests/test_hostile_outputs.py",
    "tests/test_sensitivity.py",
    "tests/test_targets.py",
    "tests/test_weighting_methods.py",
    "tests/test_report_firms.py",
    "tests/test_dask.py",
    "tests/test_cli.py",
    "tests/test_properties.py",
    "tests/test_coverage.py",
    "tests/test_evaluate.py",
)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """The modules of SLOWEST_FIRST first, in that order; the others after them as collected."""
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


@pytest.fixture
def root() -> Path:
    return ROOT


TINY_SPEC = {
    "index": {"id": "TINY", "name_en": "Tiny index", "name_zh": "小指数"},
    "tree": {
        "code": "IDX",
        "children": [
            {
                "code": "D1",
                "children": [
                    {"code": "a", "unit": "%"},
                    {"code": "b", "direction": -1},
                ],
            },
            {"code": "D2", "weight": 2, "children": [{"code": "c"}, {"code": "d", "weight": 3}]},
        ],
    },
}


# ---- shared builds: each made once per session; tests read them and never change them ----------


@pytest.fixture(scope="session")
def beijing_inputs() -> tuple[ie.Spec, ie.Panel]:
    """The Beijing spec and its panel."""
    spec = ie.load_spec(BEIJING)
    return spec, ie.load_panel(spec.base_dir / spec.data.file, spec)


@pytest.fixture(scope="session")
def beijing_build(beijing_inputs) -> ie.Build:
    """The Beijing build (the default spec)."""
    return ie.build(*beijing_inputs)


@pytest.fixture(scope="session")
def beijing_folder(beijing_build, tmp_path_factory) -> Path:
    """The Beijing build written with its audit (no workbook, no report). Copy it before changing it."""
    d = tmp_path_factory.mktemp("bj") / "build"
    beijing_build.write(d, excel=False, extras=("audit",))
    return d


# ---- the browser: one Chromium per worker, for every module that opens pages ----------------------


def _chromium() -> str | None:
    """Debian's chromium-headless-shell if installed (the same engine without the desktop browser
    around it: about a quarter less CPU a page), else chromium; None when neither is installed."""
    for name in ("chromium-headless-shell", "chromium"):
        exe = shutil.which(name) or (f"/usr/bin/{name}" if os.access(f"/usr/bin/{name}", os.X_OK) else None)
        if exe:
            return exe
    return None


CHROMIUM = _chromium()
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    # scripts compiled on the page's thread, where V8's in-memory cache holds plotly.min.js (4.8 MB)
    # from the tab's previous page, rather than parsed again in the background for every page
    "--disable-features=ScriptStreaming",
]


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium driven by playwright, launched once per session (per worker under xdist).
    Open a page with ``browser.new_page()`` and close it when done. Skips when playwright or
    chromium is not installed. Playwright's own browser downloads are never used."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[test])")
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def tiny_spec() -> ie.Spec:
    return ie.spec_from_dict(TINY_SPEC, label="tiny.yaml")


def tiny_frame() -> pd.DataFrame:
    rows = []
    vals = {
        ("U1", 2020): [1.0, 5.0, 10.0, 100.0],
        ("U2", 2020): [2.0, 3.0, 20.0, 300.0],
        ("U3", 2020): [4.0, 1.0, 30.0, 200.0],
        ("U1", 2021): [2.0, 4.0, 12.0, 150.0],
        ("U2", 2021): [3.0, 2.0, 18.0, 250.0],
        ("U3", 2021): [5.0, 2.0, 33.0, 260.0],
    }
    for (u, y), v in vals.items():
        rows.append({"unit": u, "year": y, "a": v[0], "b": v[1], "c": v[2], "d": v[3]})
    return pd.DataFrame(rows)


@pytest.fixture
def tiny_panel(tiny_spec) -> ie.Panel:
    return ie.panel_from_frame(tiny_frame(), tiny_spec)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20251016)


def write_spec(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@dataclass(frozen=True)
class CliResult:
    """What a run of the command printed and returned (the fields of subprocess.CompletedProcess)."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(capsys, monkeypatch) -> Callable[..., CliResult]:
    """``run_cli("build", spec, "--out", d, cwd=None)``: ``index-engine`` in this process, which
    saves the second or two a subprocess spends importing the package. argparse's own exits
    (--help, --version, a bad choice) give their exit code like the command does."""
    from index_engine.cli import main

    def run(*args: object, cwd: Path | None = None) -> CliResult:
        capsys.readouterr()
        if cwd is not None:
            monkeypatch.chdir(cwd)
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        out = capsys.readouterr()
        return CliResult(code, out.out, out.err)

    return run
