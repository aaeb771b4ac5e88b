"""The index-engine command: each subcommand, exit codes and messages (run as a subprocess)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from .conftest import ROOT

ASEM = str(ROOT / "weights/examples/asem.yaml")
HDI = str(ROOT / "weights/examples/hdi.yaml")


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "index_engine", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def test_version():
    r = cli("--version")
    assert r.returncode == 0 and r.stdout.startswith("index-engine ")


def test_help_for_every_command():
    for cmd in ("build", "validate", "import-coinr"):
        r = cli(cmd, "--help")
        assert r.returncode == 0 and "usage: index-engine" in r.stdout


def test_build_writes_a_new_folder_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "hdi"
    r = cli("build", HDI, "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "Switzerland" in r.stdout and (out / "scores.csv").exists()
    before = (out / "scores.csv").read_bytes()
    r = cli("build", HDI, "--out", str(out))
    assert r.returncode == 2 and "the folder exists already" in r.stderr and "Traceback" not in r.stderr
    assert (out / "scores.csv").read_bytes() == before
    r = cli("build", HDI, "--out", str(out), "--force", "--set", "steps.aggregate.by_level={}")
    assert r.returncode == 0
    assert (out / "scores.csv").read_bytes() != before


def test_default_output_folder(tmp_path):
    r = cli("build", HDI, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    runs = list((tmp_path / "outputs" / "HDI").iterdir())
    assert len(runs) == 1 and (runs[0] / "manifest.json").exists()


def test_set_is_validated(tmp_path):
    r = cli("build", HDI, "--out", str(tmp_path / "x"), "--set", "tree.le.direction=up")
    assert r.returncode == 2
    assert "tree.health.children[0].direction: must be 1 or -1, got 'up'" in r.stderr
    r = cli("build", HDI, "--out", str(tmp_path / "x"), "--set", "nonsense")
    assert r.returncode == 2 and "write it as path=value" in r.stderr
    assert not (tmp_path / "x").exists()


def test_data_flag_and_bad_data(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("unit,le,eys,mys,gni\nA,80,15,abc,1000\n")
    r = cli("build", HDI, "--data", str(bad), "--out", str(tmp_path / "o"))
    assert r.returncode == 2
    assert f"{bad}: column 'mys': not a number at row 2 ('abc')" in r.stderr
    assert "Traceback" not in r.stderr
    r = cli("build", HDI, "--data", str(bad), "--out", str(tmp_path / "o"), "--debug")
    assert r.returncode == 2 and "Traceback" in r.stderr


def test_validate(tmp_path):
    r = cli("validate", ASEM)
    assert r.returncode == 0 and "51 units" in r.stdout
    spec = tmp_path / "x.yaml"
    spec.write_text("index: {id: X}\ntree: {code: X, children: [{code: a, wieght: 2}]}\n")
    r = cli("validate", str(spec))
    assert r.returncode == 2
    assert "tree.X.children[0].wieght: unknown key 'wieght' (did you mean 'weight'?)" in r.stderr


def test_import_coinr_round_trip(tmp_path):
    meta = ROOT / "inputs/examples/asem/ASEM_iMeta.csv"
    data = ROOT / "inputs/examples/asem/ASEM_iData.csv"
    out = tmp_path / "asem.yaml"
    r = cli("import-coinr", str(meta), str(data), "-o", str(out))
    assert r.returncode == 0, r.stderr
    r = cli("build", str(out), "--out", str(tmp_path / "b"))
    assert r.returncode == 0, r.stderr
    scores = pd.read_csv(tmp_path / "b" / "scores.csv")
    assert scores.node.nunique() == 49 + 8 + 2 + 1
    r = cli("import-coinr", str(meta), "-o", str(out))
    assert r.returncode == 2 and "exists already" in r.stderr


def test_missing_spec_file():
    r = cli("build", "nope.yaml")
    assert r.returncode == 2 and "nope.yaml: no such spec file" in r.stderr


def test_no_command_prints_help():
    r = cli()
    assert r.returncode == 2 and "usage" in r.stdout
