"""index_engine.atomic: a folder assembled beside its target under a lock and renamed into place once, or nothing."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import signal
import socket
import threading
import time
import warnings
from pathlib import Path

import pytest

from index_engine import atomic
from index_engine.atomic import LOCK, Interrupted, check_target, remove_leftovers, staged_folder, write_folder
from index_engine.errors import IndexEngineWarning, OutputExistsError

TMP_NAME = r"\.out\.[a-z0-9_]{8}\.tmp"


def listing(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


def finished(d: Path, **files: str) -> Path:
    """A folder holding ``files`` (name=text) and a manifest.json, as a finished build has."""
    d.mkdir(parents=True)
    (d / "manifest.json").write_text("{}")
    for name, text in files.items():
        (d / name).write_text(text)
    return d


def no_renameat2(monkeypatch) -> None:
    """The C library, kernel or file system has no renameat2: the portable path is taken."""
    monkeypatch.setattr(atomic, "_renameat2", lambda src, dst, flags: False)


# ---- write_folder: the folder appears once, complete ---------------------------------------------
def test_the_folder_is_filled_beside_the_target_and_appears_only_once_complete(tmp_path):
    out = tmp_path / "out"
    seen = {}

    def fill(d: Path) -> None:
        (d / "a.csv").write_text("1\n")
        seen["tmp"] = d
        seen["during"] = listing(tmp_path)
        seen["inside"] = listing(d)

    assert write_folder(out, fill) == out
    assert seen["tmp"].parent == tmp_path and re.fullmatch(TMP_NAME, seen["tmp"].name)
    assert seen["during"] == [seen["tmp"].name]  # no target while the fill runs
    assert seen["inside"] == sorted([LOCK, "a.csv"])
    assert listing(tmp_path) == ["out"] and listing(out) == ["a.csv"]
    assert (out / "a.csv").read_text() == "1\n"


def test_a_target_given_as_text_is_returned_as_a_path_and_its_parents_are_made(tmp_path):
    target = tmp_path / "runs" / "2025" / "b"
    got = write_folder(str(target), lambda d: (d / "x").write_text("x"))
    assert got == target and isinstance(got, Path)
    assert listing(target) == ["x"] and listing(target.parent) == ["b"]


def test_an_empty_fill_gives_an_empty_folder(tmp_path):
    write_folder(tmp_path / "out", lambda d: None)
    assert (tmp_path / "out").is_dir() and listing(tmp_path / "out") == []


def test_the_folder_is_written_without_renameat2_too(tmp_path, monkeypatch):
    no_renameat2(monkeypatch)
    write_folder(tmp_path / "out", lambda d: (d / "a.csv").write_text("1"))
    assert listing(tmp_path) == ["out"] and listing(tmp_path / "out") == ["a.csv"]


# ---- write_folder: a failure leaves nothing -------------------------------------------------------
@pytest.mark.parametrize("exc", [RuntimeError("fill failed"), KeyboardInterrupt(), Interrupted(signal.SIGTERM)],
                         ids=["error", "ctrl-c", "sigterm"])
def test_a_fill_that_raises_leaves_no_folder_and_no_temporary_folder(tmp_path, exc):
    def fill(d: Path) -> None:
        (d / "half.csv").write_text("1\n")
        (d / "sub").mkdir()
        (d / "sub" / "more.csv").write_text("2\n")
        raise exc

    with pytest.raises(type(exc)):
        write_folder(tmp_path / "out", fill)
    assert listing(tmp_path) == []


def test_a_failed_replacement_keeps_the_earlier_folder_as_it_was(tmp_path):
    out = finished(tmp_path / "out", **{"old.csv": "old"})

    def fill(d: Path) -> None:
        (d / "manifest.json").write_text('{"new": true}')
        raise RuntimeError("report failed")

    with pytest.raises(RuntimeError, match="report failed"):
        write_folder(out, fill, force=True, replaceable="manifest.json")
    assert listing(tmp_path) == ["out"]
    assert listing(out) == ["manifest.json", "old.csv"] and (out / "manifest.json").read_text() == "{}"


def test_an_os_error_names_the_file_at_its_final_place(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(FileNotFoundError) as exc:
        write_folder(out, lambda d: (d / "tables" / "raw.csv").write_text("x"))
    assert exc.value.filename == str(out / "tables" / "raw.csv")
    assert listing(tmp_path) == []


def test_an_os_error_without_a_file_names_the_target(tmp_path):
    def full(d: Path) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(OSError) as exc:
        write_folder(tmp_path / "out", full)
    assert exc.value.filename == str(tmp_path / "out")
    assert str(exc.value) == f"[Errno {errno.ENOSPC}] {os.strerror(errno.ENOSPC)}: '{tmp_path / 'out'}'"


def test_an_os_error_with_only_a_message_is_left_as_it_is(tmp_path):
    def fail(d: Path) -> None:
        raise OSError("the workbook could not be saved")

    with pytest.raises(OSError) as exc:
        write_folder(tmp_path / "out", fail)
    assert exc.value.filename is None and str(exc.value) == "the workbook could not be saved"


# ---- refusal without force ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["folder", "empty folder", "file"])
def test_an_existing_target_is_refused_naming_it_before_the_fill_runs(tmp_path, kind):
    out = tmp_path / "out"
    if kind == "file":
        out.write_text("keep")
    else:
        out.mkdir()
        if kind == "folder":
            (out / "old.csv").write_text("old")
    called = []
    message = f"{out}: the folder exists already; choose another --out or pass --force"
    with pytest.raises(OutputExistsError, match=f"^{re.escape(message)}$") as exc:
        write_folder(out, called.append)
    assert isinstance(exc.value, FileExistsError)
    assert called == [] and listing(tmp_path) == ["out"]
    if kind == "file":
        assert out.read_text() == "keep"
    else:
        assert listing(out) == (["old.csv"] if kind == "folder" else [])


def test_staged_folder_refuses_an_existing_target_before_it_makes_anything(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(OutputExistsError, match="the folder exists already"):
        with staged_folder(tmp_path / "out"):
            pytest.fail("the block ran")
    assert listing(tmp_path) == ["out"]


# ---- replacement with force --------------------------------------------------------------------
@pytest.mark.parametrize("portable", [False, True], ids=["renameat2", "two-renames"])
def test_force_replaces_a_finished_folder_once_the_new_one_is_complete(tmp_path, monkeypatch, portable):
    if portable:
        no_renameat2(monkeypatch)
    out = finished(tmp_path / "out", **{"old.csv": "old"})
    during = {}

    def fill(d: Path) -> None:
        (d / "manifest.json").write_text('{"new": true}')
        (d / "new.csv").write_text("new")
        during["old"] = listing(out)

    assert write_folder(out, fill, force=True, replaceable="manifest.json") == out
    assert during["old"] == ["manifest.json", "old.csv"]  # the earlier folder stays whole meanwhile
    assert listing(out) == ["manifest.json", "new.csv"] and (out / "manifest.json").read_text() == '{"new": true}'
    assert listing(tmp_path) == ["out"]


def test_force_replaces_an_empty_folder_even_without_the_replaceable_file(tmp_path):
    (tmp_path / "out").mkdir()
    write_folder(tmp_path / "out", lambda d: (d / "a").write_text("a"), force=True, replaceable="manifest.json")
    assert listing(tmp_path / "out") == ["a"] and listing(tmp_path) == ["out"]


def test_force_without_replaceable_replaces_any_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("x")
    write_folder(out, lambda d: (d / "a").write_text("a"), force=True)
    assert listing(out) == ["a"]


def test_force_does_not_replace_a_folder_without_the_replaceable_file(tmp_path):
    out = tmp_path / "home"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    called = []
    message = f"{out}: the folder is not empty and holds no manifest.json; refusing to replace it"
    with pytest.raises(OutputExistsError, match=f"^{re.escape(message)}$"):
        write_folder(out, called.append, force=True, replaceable="manifest.json")
    assert called == [] and listing(out) == ["thesis.tex"] and listing(tmp_path) == ["home"]


def test_force_onto_a_new_target_just_writes_it(tmp_path):
    write_folder(tmp_path / "out", lambda d: (d / "a").write_text("a"), force=True, replaceable="manifest.json")
    assert listing(tmp_path / "out") == ["a"]


def test_force_checks_the_target_again_when_it_changed_meanwhile(tmp_path):
    """The finished folder became someone's own folder while the new one was written: refused, kept."""
    out = finished(tmp_path / "out")

    def fill(d: Path) -> None:
        (d / "manifest.json").write_text("{}")
        (out / "manifest.json").unlink()
        (out / "thesis.tex").write_text("mine")

    with pytest.raises(OutputExistsError, match="holds no manifest.json; refusing to replace it"):
        write_folder(out, fill, force=True, replaceable="manifest.json")
    assert listing(out) == ["thesis.tex"] and listing(tmp_path) == ["out"]


def test_force_onto_a_folder_that_became_a_file_meanwhile_is_refused(tmp_path):
    out = finished(tmp_path / "out")

    def fill(d: Path) -> None:
        (out / "manifest.json").unlink()
        out.rmdir()
        out.write_text("a file now")

    with pytest.raises(OutputExistsError, match=re.escape(f"{out}: exists and is not a folder (a file or a link)")):
        write_folder(out, fill, force=True)
    assert out.read_text() == "a file now" and listing(tmp_path) == ["out"]


@pytest.mark.parametrize("portable", [False, True], ids=["renameat2", "two-renames"])
def test_force_onto_a_folder_removed_meanwhile_writes_the_new_one(tmp_path, monkeypatch, portable):
    if portable:
        no_renameat2(monkeypatch)
    out = finished(tmp_path / "out")

    def fill(d: Path) -> None:
        (d / "new.csv").write_text("new")
        (out / "manifest.json").unlink()
        out.rmdir()

    write_folder(out, fill, force=True, replaceable="manifest.json")
    assert listing(out) == ["new.csv"] and listing(tmp_path) == ["out"]


# ---- check_target ------------------------------------------------------------------------------
def test_check_target_accepts_a_new_target_and_makes_nothing(tmp_path):
    assert check_target(tmp_path / "a" / "b" / "c", force=False) is None
    assert check_target(tmp_path / "out", force=True, replaceable="manifest.json") is None
    assert listing(tmp_path) == []


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("name", [".", ".."])
def test_check_target_refuses_dot_and_dot_dot(tmp_path, monkeypatch, name, force):
    monkeypatch.chdir(tmp_path)
    target = Path(name) if name == "." else tmp_path / name
    with pytest.raises(OutputExistsError, match=f"^{re.escape(str(target))}: name the folder to write, not '.' or '..'$"):
        check_target(target, force=force)


def test_check_target_names_the_file_a_new_target_would_be_under(tmp_path):
    (tmp_path / "afile").write_text("x")
    target = tmp_path / "afile" / "sub" / "out"
    message = f"{target}: {tmp_path / 'afile'} is a file, not a folder"
    with pytest.raises(OutputExistsError, match=f"^{re.escape(message)}$"):
        check_target(target, force=True)
    assert (tmp_path / "afile").read_text() == "x"


@pytest.mark.parametrize("kind", ["file", "link to a folder", "link to nothing"])
def test_check_target_with_force_replaces_folders_only(tmp_path, kind):
    target = tmp_path / "out"
    if kind == "file":
        target.write_text("x")
    elif kind == "link to a folder":
        finished(tmp_path / "real")
        target.symlink_to(tmp_path / "real")
    else:
        target.symlink_to(tmp_path / "gone")
    message = f"{target}: exists and is not a folder (a file or a link); --force replaces folders only"
    with pytest.raises(OutputExistsError, match=f"^{re.escape(message)}$"):
        check_target(target, force=True, replaceable="manifest.json")


def test_check_target_without_force_refuses_a_link_to_nothing(tmp_path):
    (tmp_path / "out").symlink_to(tmp_path / "gone")
    with pytest.raises(OutputExistsError, match="the folder exists already"):
        check_target(tmp_path / "out", force=False)


# ---- the lock ----------------------------------------------------------------------------------
def test_the_temporary_folder_holds_a_lock_naming_its_process_while_it_is_written(tmp_path):
    t0 = time.time()
    with staged_folder(tmp_path / "out") as d:
        info = json.loads((d / LOCK).read_text())
        fd = os.open(d / LOCK, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
        assert remove_leftovers(tmp_path) == []
    assert info["pid"] == os.getpid() and info["host"] == socket.gethostname()
    assert t0 <= info["started"] <= time.time()
    assert listing(tmp_path / "out") == []


def test_two_folders_being_written_side_by_side_do_not_remove_each_other(tmp_path):
    with staged_folder(tmp_path / "out") as first:
        (first / "1").write_text("1")
        with staged_folder(tmp_path / "other") as second:
            (second / "2").write_text("2")
        assert first.exists()
    assert listing(tmp_path) == ["other", "out"]
    assert listing(tmp_path / "out") == ["1"] and listing(tmp_path / "other") == ["2"]


# ---- remove_leftovers ----------------------------------------------------------------------------
def leftover(parent: Path, name: str = ".out.abcd1234.tmp", lock: bytes | None = None) -> Path:
    d = parent / name
    d.mkdir()
    (d / "scores.csv").write_text("half")
    if lock is not None:
        (d / LOCK).write_bytes(lock)
    return d


def test_a_leftover_whose_lock_is_free_is_removed_naming_its_process(tmp_path):
    d = leftover(tmp_path, lock=json.dumps({"pid": 4242, "host": "other-host", "started": 0}).encode())
    with pytest.warns(IndexEngineWarning) as record:
        assert remove_leftovers(tmp_path) == [d]
    assert [str(w.message) for w in record] == [f"removed {d}: left by an interrupted write (process 4242 on other-host)"]
    assert listing(tmp_path) == []


def test_a_leftover_with_a_lock_file_that_is_not_json_is_removed(tmp_path):
    d = leftover(tmp_path, lock=b"garbage")
    message = f"removed {d}: left by an interrupted write (unreadable lock file)"
    with pytest.warns(IndexEngineWarning, match=f"^{re.escape(message)}$"):
        assert remove_leftovers(tmp_path) == [d]
    assert not d.exists()


def test_a_temporary_folder_with_an_empty_lock_file_is_being_started_and_kept(tmp_path):
    d = leftover(tmp_path, lock=b"")
    with warnings.catch_warnings(action="error"):
        assert remove_leftovers(tmp_path) == []
    assert listing(d) == sorted([LOCK, "scores.csv"])


def test_a_temporary_folder_without_a_lock_file_is_a_leftover_only_once_old(tmp_path):
    d = leftover(tmp_path)
    with warnings.catch_warnings(action="error"):
        assert remove_leftovers(tmp_path) == []
    assert d.exists()
    old = time.time() - atomic.LEFTOVER_AGE_S - 5
    os.utime(d, (old, old))
    with pytest.warns(IndexEngineWarning, match=re.escape(f"removed {d}: left by an interrupted write (no lock file)")):
        assert remove_leftovers(tmp_path) == [d]
    assert listing(tmp_path) == []


def test_a_temporary_folder_whose_lock_is_held_is_kept(tmp_path):
    d = leftover(tmp_path, lock=b'{"pid": 1, "host": "h", "started": 0}')
    fd = os.open(d / LOCK, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with warnings.catch_warnings(action="error"):
            assert remove_leftovers(tmp_path) == []
    finally:
        os.close(fd)
    assert d.exists()


@pytest.mark.parametrize("name", [
    "out.abcd1234.tmp", ".out.ABCD1234.tmp", ".out.abc.tmp", ".out.abcd1234.old", ".abcd1234.tmp"])
def test_only_folders_named_as_temporary_folders_are_touched(tmp_path, name):
    d = leftover(tmp_path, name, lock=b"garbage")
    (tmp_path / ".file.abcd1234.tmp").write_text("a file, not a folder")
    with warnings.catch_warnings(action="error"):
        assert remove_leftovers(tmp_path) == []
    assert listing(tmp_path) == sorted([".file.abcd1234.tmp", name]) and (d / "scores.csv").exists()


def test_remove_leftovers_of_a_missing_folder_finds_nothing(tmp_path):
    assert remove_leftovers(tmp_path / "nowhere") == []


def test_a_write_removes_the_leftovers_in_its_parent_folder(tmp_path):
    d = leftover(tmp_path, lock=b"garbage")
    with pytest.warns(IndexEngineWarning, match=re.escape(f"removed {d}")):
        write_folder(tmp_path / "new", lambda x: None)
    assert listing(tmp_path) == ["new"]


# ---- signals -----------------------------------------------------------------------------------
def test_sigterm_while_a_folder_is_written_raises_interrupted_and_leaves_nothing(tmp_path):
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL or threading.current_thread() is not threading.main_thread():
        pytest.skip("SIGTERM has a handler of its own here, or this is not the main thread")
    with pytest.raises(Interrupted) as exc:
        with staged_folder(tmp_path / "out") as d:
            (d / "half.csv").write_text("1")
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
            signal.raise_signal(signal.SIGTERM)
            pytest.fail("the signal did not interrupt the block")
    assert exc.value.signum == signal.SIGTERM and str(exc.value) == "SIGTERM"
    assert isinstance(exc.value, KeyboardInterrupt)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert listing(tmp_path) == []


def test_a_handler_of_the_caller_is_left_in_place(tmp_path):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers are set in the main thread only")
    got = []
    previous = signal.signal(signal.SIGHUP, lambda signum, frame: got.append(signum))
    try:
        with staged_folder(tmp_path / "out") as d:
            signal.raise_signal(signal.SIGHUP)
            (d / "a").write_text("a")
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert got == [signal.SIGHUP] and listing(tmp_path / "out") == ["a"]


def test_a_folder_is_written_from_a_thread_other_than_the_main_one(tmp_path):
    box = []
    t = threading.Thread(target=lambda: box.append(write_folder(tmp_path / "out", lambda d: (d / "a").write_text("a"))))
    t.start()
    t.join(30)
    assert box == [tmp_path / "out"] and listing(tmp_path / "out") == ["a"]


def test_interrupted_is_a_keyboard_interrupt_named_after_its_signal():
    e = Interrupted(signal.SIGHUP)
    assert isinstance(e, KeyboardInterrupt) and e.signum == signal.SIGHUP and str(e) == "SIGHUP"


def test_a_file_to_write_is_refused_if_it_exists_unless_forced_and_never_in_a_folders_place(tmp_path):
    from index_engine.atomic import check_file_target

    target = tmp_path / "out.csv"
    check_file_target(target, force=False)  # nothing there: fine
    target.write_text("x", encoding="utf-8")
    with pytest.raises(OutputExistsError, match=r"out\.csv: the file exists already; pass --force to replace it"):
        check_file_target(target, force=False)
    check_file_target(target, force=True)
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(OutputExistsError, match=r"d\.csv: is a folder; name the file to write"):
        check_file_target(tmp_path / "d.csv", force=True)
