"""Hostile conditions for the writers: failures, signals, races, odd targets, a full disk, odd unit codes.

Each test checks what is left on disk afterwards: the finished folder or nothing, never a half-written
one, and an earlier build untouched. CLI cases run in-process through ``index_engine.cli.main``; the
two signal cases need a process of their own.
"""

from __future__ import annotations

import errno
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index_engine import atomic
from index_engine.cli import main

from .conftest import ROOT, TINY_SPEC, tiny_frame



@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """The tiny spec as a file, with its data beside it."""
    import yaml

    tiny_frame().to_csv(tmp_path / "tiny.csv", index=False)
    spec = dict(TINY_SPEC, data={"file": "tiny.csv"})
    p = tmp_path / "tiny.yaml"
    p.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return p


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.endswith(".tmp") or p.name.endswith(".old"))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def build(tiny: Path, out: Path, *extra: str) -> int:
    return main(["build", str(tiny), "--out", str(out), "--no-excel", *extra])


def test_a_failure_after_the_folder_is_assembled_leaves_nothing_and_keeps_the_earlier_build(tiny, tmp_path, monkeypatch, capsys):
    out = tmp_path / "runs" / "b"
    assert build(tiny, out, "--no-report") == 0
    before = snapshot(out)

    def fail(*args, **kwargs):
        raise RuntimeError("report failed")

    monkeypatch.setattr("index_engine.report.render_report", fail)
    assert build(tiny, out, "--force", "--audit", "--set", "tree.D2.weight=5") == 1
    assert "internal error: RuntimeError: report failed" in capsys.readouterr().err
    assert snapshot(out) == before
    assert leftovers(out.parent) == []
    assert build(tiny, tmp_path / "runs" / "c") == 1  # a new folder: nothing at all is left
    assert sorted(p.name for p in out.parent.iterdir()) == ["b"]


def test_an_uncertainty_factor_that_cannot_be_applied_leaves_nothing(tiny, tmp_path, capsys):
    import yaml

    spec = yaml.safe_load(tiny.read_text(encoding="utf-8"))
    spec["uncertainty"] = {"norm": {"type": "choice", "path": "steps.normalize.params.upper", "values": [100, -1]}}
    tiny.write_text(yaml.safe_dump(spec), encoding="utf-8")
    out = tmp_path / "u"
    code = build(tiny, out, "--uncertainty", "10", "--no-report")
    assert code in (1, 2) and capsys.readouterr().err.count("\n") == 1
    assert not out.exists() and leftovers(tmp_path) == []


SLOW_BUILD = """
import os, sys, time
from pathlib import Path
import index_engine.report
from index_engine.cli import main

def slow(folder, **kwargs):
    (Path(sys.argv[2]) / "starting").write_text(str(folder))
    os.replace(Path(sys.argv[2]) / "starting", Path(sys.argv[2]) / "started")  # whole, or not there
    time.sleep(120)

index_engine.report.render_report = slow
sys.exit(main(["build", sys.argv[1], "--out", sys.argv[3], "--no-excel"]))
"""


def _start_slow_build(tiny: Path, tmp_path: Path, out: Path) -> tuple[subprocess.Popen, str]:
    script = tmp_path / "slow.py"
    script.write_text(SLOW_BUILD, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.Popen([sys.executable, str(script), str(tiny), str(tmp_path), str(out)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    marker = tmp_path / "started"
    deadline = time.monotonic() + 120
    while not marker.exists():
        if p.poll() is not None or time.monotonic() > deadline:
            p.kill()
            pytest.fail(f"the build did not reach the report: {p.communicate()}")
        time.sleep(0.05)
    return p, marker.read_text()


def test_sigterm_mid_build_leaves_nothing_and_an_existing_folder_untouched(tiny, tmp_path):
    out = tmp_path / "runs" / "b"
    assert build(tiny, out, "--no-report") == 0
    before = snapshot(out)
    p, staging = _start_slow_build(tiny, tmp_path, tmp_path / "runs" / "new")
    assert Path(staging).parent == out.parent and Path(staging).is_dir()
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 128 + signal.SIGTERM, err
    assert err.strip().splitlines()[-1] == "interrupted" and "Traceback" not in err
    assert sorted(x.name for x in out.parent.iterdir()) == ["b"]
    assert snapshot(out) == before


def test_the_leftover_of_a_killed_build_is_removed_by_the_next_run(tiny, tmp_path, capsys):
    runs = tmp_path / "runs"
    p, staging = _start_slow_build(tiny, tmp_path, runs / "killed")
    p.kill()  # SIGKILL: no clean-up can run
    p.communicate(timeout=60)
    assert leftovers(runs) == [Path(staging).name]
    assert build(tiny, runs / "next", "--no-report") == 0
    assert f"warning: IndexEngineWarning: removed {staging}: left by an interrupted write (process {p.pid}" in capsys.readouterr().err
    assert leftovers(runs) == [] and sorted(x.name for x in runs.iterdir()) == ["next"]


def test_a_folder_being_written_is_not_taken_for_a_leftover(tmp_path):
    with atomic.staged_folder(tmp_path / "a") as tmp:
        (tmp / "x.csv").write_text("1\n")
        assert atomic.remove_leftovers(tmp_path) == []
        assert tmp.exists()
    assert (tmp_path / "a" / "x.csv").read_text() == "1\n" and not (tmp_path / "a" / atomic.LOCK).exists()


@pytest.mark.parametrize("renameat2", [True, False], ids=["renameat2", "mkdir-reservation"])
def test_the_final_rename_refuses_a_folder_that_appeared_meanwhile(tiny, tmp_path, monkeypatch, capsys, renameat2):
    """Two builds to one --out: the one that finishes second exits 2 and leaves nothing (simulated:
    the other build's folder appears while this one writes)."""
    if not renameat2:
        monkeypatch.setattr(atomic, "_renameat2", lambda src, dst, flags: False)
    out = tmp_path / "b"
    from index_engine import job

    real = job.fill_folder

    def fill_then_other_wins(b, d, **kw):
        real(b, d, **kw)
        out.mkdir()  # the other build's folder: an empty folder is enough to be refused
        (out / "theirs").write_text("x")

    monkeypatch.setattr(job, "fill_folder", fill_then_other_wins)
    assert build(tiny, out, "--no-report") == 2
    assert "exists already (written meanwhile by another process)" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["theirs"]
    assert leftovers(tmp_path) == []


def test_two_builds_racing_to_one_folder_one_wins(tmp_path):
    """The real race: folders prepared in parallel, renamed one after the other."""
    target = tmp_path / "b"
    first = atomic.staged_folder(target)
    second = atomic.staged_folder(target)
    d1, d2 = first.__enter__(), second.__enter__()  # both started before either finished
    (d1 / "who").write_text("1")
    (d2 / "who").write_text("2")
    first.__exit__(None, None, None)
    with pytest.raises(FileExistsError, match="exists already"):
        second.__exit__(None, None, None)
    assert (target / "who").read_text() == "1" and leftovers(tmp_path) == []


def test_force_onto_a_file_is_refused_and_nothing_is_renamed(tiny, tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("keep me")
    assert build(tiny, f, "--force", "--no-report") == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert f.read_text() == "keep me" and sorted(p.name for p in tmp_path.iterdir()) == ["afile", "tiny.csv", "tiny.yaml"]


def test_force_onto_a_link_or_the_current_folder_is_refused(tiny, tmp_path, monkeypatch, capsys):
    real = tmp_path / "real"
    assert build(tiny, real, "--no-report") == 0
    (tmp_path / "link").symlink_to(real)
    assert build(tiny, tmp_path / "link", "--force", "--no-report") == 2
    assert "exists and is not a folder (a file or a link)" in capsys.readouterr().err
    assert (tmp_path / "link").is_symlink()
    monkeypatch.chdir(real)
    assert build(tiny, Path("."), "--force", "--no-report") == 2
    assert "name the folder to write, not '.' or '..'" in capsys.readouterr().err
    assert (real / "manifest.json").exists() and leftovers(tmp_path) == []


def test_force_does_not_replace_a_folder_that_is_not_a_build(tiny, tmp_path, capsys):
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work")
    assert build(tiny, home, "--force", "--no-report") == 2
    assert "holds no manifest.json; refusing to replace it" in capsys.readouterr().err
    assert (home / "thesis.tex").read_text() == "years of work"


@pytest.mark.parametrize("bad_id", ["../../x", "/abs/x", "a/b", "..", "a\\b"])
def test_an_index_id_that_is_not_a_folder_name_is_refused(tiny, tmp_path, monkeypatch, capsys, bad_id):
    monkeypatch.chdir(tmp_path)
    assert main(["build", str(tiny), "--set", f"index.id={bad_id}", "--no-report"]) == 2
    assert "index.id: must be a folder name" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.csv", "tiny.yaml"]
    assert not (tmp_path.parent / "x").exists()


@pytest.mark.parametrize("umask, mode", [(0o022, 0o755), (0o027, 0o750), (0o077, 0o700)])
def test_build_folders_get_their_mode_from_the_umask(tiny, tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        assert build(tiny, tmp_path / "b", "--no-report") == 0
    finally:
        os.umask(old)
    assert (tmp_path / "b").stat().st_mode & 0o777 == mode


def test_out_under_a_regular_file_exits_2(tiny, tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert build(tiny, tmp_path / "afile" / "sub" / "b", "--no-report") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{tmp_path / 'afile'} is a file, not a folder" in err


class ClosedPipe(io.StringIO):
    """stdout of ``index-engine build | head`` once head has exited."""

    def write(self, s):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    def fileno(self):
        raise io.UnsupportedOperation("fileno")


def test_a_closed_stdout_exits_quietly(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert build(tiny, tmp_path / "b", "--no-report") == 0
    assert capsys.readouterr().err == "" and (tmp_path / "b" / "manifest.json").exists()


class HalfWrittenSheet:
    """Like a write-only workbook sheet cut short by a full disk: closing it fails too."""

    def __init__(self) -> None:
        self.me = self  # a cycle: freed by the garbage collector, as openpyxl's generators are

    def __del__(self) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("where", ["_write_excel", "_finish"])
def test_a_full_disk_is_one_line_exit_2_and_leaves_nothing(tiny, tmp_path, monkeypatch, capsys, where):
    from index_engine import outputs

    def no_space(*args, **kwargs):
        sheets = [HalfWrittenSheet() for _ in range(11)]  # noqa: F841 - left to the garbage collector
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(outputs, where, no_space)
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    assert main(["build", str(tiny), "--out", str(tmp_path / "b"), "--no-report"]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'b'}: No space left on device\n"
    assert not (tmp_path / "b").exists() and leftovers(tmp_path) == []
    import gc

    gc.collect()
    assert seen == [] and sys.unraisablehook == seen.append


def test_long_and_chinese_unit_codes_get_bounded_unique_page_names(tmp_path):
    import yaml

    import pandas as pd

    codes = ["x" * 250, "x" * 249 + "y", "北" * 36, "北" * 35 + "京", "Ab", "aB"]
    frame = tiny_frame()
    frame = frame[frame["unit"] == "U1"].drop(columns="unit")
    rows = [dict(r, unit=c, a=r["a"] + i, c=r["c"] * (i + 1)) for i, c in enumerate(codes) for r in frame.to_dict("records")]
    pd.DataFrame(rows).to_csv(tmp_path / "d.csv", index=False, encoding="utf-8")
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(dict(TINY_SPEC, data={"file": "d.csv"}), allow_unicode=True), encoding="utf-8")
    assert main(["build", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "b"), "--no-excel"]) == 0
    pages = sorted(p.name for p in (tmp_path / "b" / "report").glob("unit-*.html"))
    assert len(pages) == len(codes) and len({p.lower() for p in pages}) == len(codes)
    assert max(len(p.encode()) for p in pages) <= 100
    overview = (tmp_path / "b" / "report" / "index.html").read_text(encoding="utf-8")
    assert all(p in overview for p in pages)
