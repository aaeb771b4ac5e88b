"""index_engine._files: an input file is a regular file within the size limit before anything opens it."""

from __future__ import annotations

import os
import re
import socket

import pytest

from index_engine._files import MAX_FILE_MB, MAX_FILE_MB_ENV, check_input_file, max_file_bytes
from index_engine.errors import DataError, SpecError


@pytest.fixture(autouse=True)
def default_limit(monkeypatch):
    monkeypatch.delenv(MAX_FILE_MB_ENV, raising=False)


def exact(message: str) -> str:
    return f"^{re.escape(message)}$"


# ---- check_input_file ------------------------------------------------------------------------
def test_a_regular_file_gives_its_size_in_bytes(tmp_path):
    p = tmp_path / "d.csv"
    p.write_bytes(b"unit,a\nU1,1\n")
    assert check_input_file(p, "data", DataError) == 12
    assert check_input_file(str(p), "data", DataError) == 12


def test_an_empty_file_is_a_regular_file_of_size_zero(tmp_path):
    (tmp_path / "empty.csv").touch()
    assert check_input_file(tmp_path / "empty.csv", "data", DataError) == 0


def test_a_link_to_a_regular_file_is_followed(tmp_path):
    (tmp_path / "real.yaml").write_bytes(b"index: {id: X}\n")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "real.yaml")
    assert check_input_file(tmp_path / "link.yaml", "spec", SpecError) == 15


def test_a_missing_file_is_named_as_the_kind_of_file_asked_for(tmp_path):
    p = tmp_path / "nowhere.csv"
    with pytest.raises(DataError, match=exact(f"{p}: no such data file")) as exc:
        check_input_file(p, "data", DataError)
    assert exc.value.__cause__ is None and exc.value.__suppress_context__
    with pytest.raises(SpecError, match=exact(f"{p}: no such spec file")):
        check_input_file(p, "spec", SpecError)


def test_a_link_to_nothing_is_a_missing_file(tmp_path):
    (tmp_path / "dangling.csv").symlink_to(tmp_path / "gone.csv")
    with pytest.raises(DataError, match=exact(f"{tmp_path / 'dangling.csv'}: no such data file")):
        check_input_file(tmp_path / "dangling.csv", "data", DataError)


def test_a_path_through_a_file_cannot_be_read_and_says_why(tmp_path):
    (tmp_path / "afile").write_text("x")
    p = tmp_path / "afile" / "d.csv"
    with pytest.raises(DataError, match=exact(f"{p}: cannot read the data file (Not a directory)")):
        check_input_file(p, "data", DataError)


def test_a_folder_is_not_a_regular_file(tmp_path):
    d = tmp_path / "inputs"
    d.mkdir()
    with pytest.raises(SpecError, match=exact(f"{d}: is a directory, not a regular spec file")):
        check_input_file(d, "spec", SpecError)


def test_a_socket_is_not_a_regular_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative name: a socket's path is limited to about 100 bytes
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind("d.csv")
        with pytest.raises(DataError, match=exact("d.csv: is a socket, not a regular data file")):
            check_input_file("d.csv", "data", DataError)
    finally:
        s.close()


def test_a_character_device_is_refused_without_being_read():
    with pytest.raises(DataError, match=exact("/dev/null: is a character device, not a regular data file")):
        check_input_file("/dev/null", "data", DataError)


def test_a_file_over_the_limit_is_refused_with_both_sizes_in_bytes(tmp_path, monkeypatch):
    """A limit of 0.001 MB is int(1048.576) = 1,048 bytes; sizes under a tenth of a MB are given in bytes."""
    monkeypatch.setenv(MAX_FILE_MB_ENV, "0.001")
    p = tmp_path / "d.csv"
    p.write_bytes(b"x" * 1500)
    message = f"{p}: the data file is 1,500 bytes, over the limit of 1,048 bytes (set INDEX_ENGINE_MAX_FILE_MB to raise it)"
    with pytest.raises(DataError, match=exact(message)):
        check_input_file(p, "data", DataError)


def test_a_file_of_exactly_the_limit_is_accepted(tmp_path, monkeypatch):
    monkeypatch.setenv(MAX_FILE_MB_ENV, "0.001")
    p = tmp_path / "d.csv"
    p.write_bytes(b"x" * 1048)
    assert check_input_file(p, "data", DataError) == 1048
    p.write_bytes(b"x" * 1049)
    with pytest.raises(DataError, match="the data file is 1,049 bytes, over the limit of 1,048 bytes"):
        check_input_file(p, "data", DataError)


def test_large_sizes_are_given_in_megabytes(tmp_path, monkeypatch):
    """A sparse file of 3.5 MB against a limit of 2 MB (nothing is written to the disk)."""
    monkeypatch.setenv(MAX_FILE_MB_ENV, "2")
    p = tmp_path / "big.yaml"
    with open(p, "wb") as fh:
        fh.truncate(3 * 2**20 + 2**19)
    message = f"{p}: the spec file is 3.5 MB, over the limit of 2.0 MB (set INDEX_ENGINE_MAX_FILE_MB to raise it)"
    with pytest.raises(SpecError, match=exact(message)):
        check_input_file(p, "spec", SpecError)


def test_a_bad_limit_is_raised_as_the_class_asked_for(tmp_path, monkeypatch):
    p = tmp_path / "x.yaml"
    p.write_text("x")
    monkeypatch.setenv(MAX_FILE_MB_ENV, "-5")
    with pytest.raises(SpecError, match=exact("INDEX_ENGINE_MAX_FILE_MB='-5': must be a positive number of megabytes")):
        check_input_file(p, "spec", SpecError)


def test_nothing_is_opened(tmp_path):
    """Only os.stat: a named pipe is refused at once, with no reader to wait for."""
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)

    def no_open(*args, **kwargs):
        raise AssertionError("opened")

    with pytest.raises(DataError, match=exact(f"{fifo}: is a named pipe (FIFO), not a regular data file")):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr("builtins.open", no_open)
            mp.setattr(os, "open", no_open)
            check_input_file(fifo, "data", DataError)


# ---- max_file_bytes ----------------------------------------------------------------------------
def test_the_default_limit_is_2048_mb():
    assert MAX_FILE_MB == 2048
    assert max_file_bytes() == 2048 * 2**20


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_setting_is_the_default(monkeypatch, text):
    monkeypatch.setenv(MAX_FILE_MB_ENV, text)
    assert max_file_bytes() == 2**31


@pytest.mark.parametrize("text, expected", [("1", 2**20), (" 0.5 ", 2**19), ("1e-6", 1), ("4096", 2**32)])
def test_the_setting_is_megabytes_of_2_to_the_20_bytes(monkeypatch, text, expected):
    monkeypatch.setenv(MAX_FILE_MB_ENV, text)
    assert max_file_bytes() == expected


@pytest.mark.parametrize("text", ["0", "-1", "nan", "inf", "-inf", "2 GB"])
def test_a_setting_that_is_not_a_positive_number_is_refused(monkeypatch, text):
    monkeypatch.setenv(MAX_FILE_MB_ENV, text)
    with pytest.raises(DataError, match=exact(f"INDEX_ENGINE_MAX_FILE_MB={text!r}: must be a positive number of megabytes")):
        max_file_bytes()
    with pytest.raises(SpecError, match="must be a positive number of megabytes"):
        max_file_bytes(SpecError)
