"""index_engine.parallel: a call in a forked child gives what the call gives here."""

from __future__ import annotations

import os
import signal
import warnings

import pytest

from index_engine import parallel
from index_engine.errors import EmptyNodeYearWarning, SpecError
from index_engine.parallel import PROCESSES_ENV, can_fork, fork_call

forks = pytest.mark.skipif(not can_fork(), reason="needs os.fork and a second core")


def _warn_and_add(a: int, b: int) -> int:
    warnings.warn("first", EmptyNodeYearWarning, stacklevel=1)
    warnings.warn("second", UserWarning, stacklevel=1)
    return a + b


@forks
def test_the_call_runs_in_a_child_and_its_result_comes_back():
    with fork_call(lambda: (os.getpid(), {"x": [1.5, float("nan")]})) as pending:
        pid, value = pending.result()
    assert pid != os.getpid()
    assert value["x"][0] == 1.5 and value["x"][1] != value["x"][1]


def test_without_a_second_process_the_call_is_made_here(monkeypatch):
    monkeypatch.setenv(PROCESSES_ENV, "1")
    assert not can_fork()
    calls = []
    pending = fork_call(lambda: calls.append(os.getpid()) or 7)
    assert calls == []  # made when the result is asked for, as a child would have made it
    assert pending.result() == 7 and calls == [os.getpid()]


@pytest.mark.parametrize("processes", ["", "1"])
def test_exceptions_and_warnings_reach_the_caller_in_order(monkeypatch, processes):
    monkeypatch.setenv(PROCESSES_ENV, processes)
    with pytest.raises(SpecError, match="a bad key"):
        fork_call(lambda: (_ for _ in ()).throw(SpecError("spec.yaml: a bad key"))).result()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert fork_call(lambda: _warn_and_add(2, 3)).result() == 5
    assert [(w.category, str(w.message)) for w in caught] == [(EmptyNodeYearWarning, "first"), (UserWarning, "second")]
    with warnings.catch_warnings():
        warnings.simplefilter("error", EmptyNodeYearWarning)  # the caller's filters apply
        with pytest.raises(EmptyNodeYearWarning, match="first"):
            fork_call(lambda: _warn_and_add(2, 3)).result()


@forks
def test_a_result_that_cannot_be_sent_back_is_an_error_naming_the_call():
    with pytest.raises(RuntimeError, match="cannot be sent back"):
        fork_call(lambda: (lambda: None)).result()  # a lambda does not pickle


@forks
def test_a_child_that_dies_is_an_error_and_cancel_ends_a_child(tmp_path):
    with pytest.raises(RuntimeError, match="killed by SIGKILL"):
        fork_call(lambda: os.kill(os.getpid(), signal.SIGKILL)).result()
    marker = tmp_path / "late"
    pending = fork_call(lambda: (__import__("time").sleep(30), marker.write_text("x")))
    pending.cancel()
    assert not marker.exists()
    with pytest.raises(RuntimeError, match="cancelled"):  # a cancelled call has no result
        pending.result()


@forks
def test_a_child_does_not_fork_again():
    assert fork_call(lambda: parallel.can_fork()).result() is False


def test_a_result_is_taken_once(monkeypatch):
    monkeypatch.setenv(PROCESSES_ENV, "1")
    pending = fork_call(lambda: 1)
    assert pending.result() == 1
    with pytest.raises(RuntimeError, match="taken or cancelled"):
        pending.result()


def test_with_a_closed_stdout_the_call_is_made_here(monkeypatch):
    """A stdout that cannot be flushed before forking (``| head`` gone) leaves the call to this process."""
    import io
    import sys

    class Closed(io.StringIO):
        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Closed())
    with fork_call(os.getpid) as pending:
        assert pending.result() == os.getpid()
