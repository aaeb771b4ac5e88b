"""Work done beside the caller in a forked child process, its result sent back through a pipe.

A build's later steps are independent of each other in pairs: the audit and the uncertainty
analysis both read the finished build; ``results.xlsx`` and the report pages both read the
written tables, and the report's pages read one model. On a machine with more than one core,
:func:`fork_call` runs one of a pair in a child forked from this process (it shares the build
without copying or pickling it) while the caller does the other, and :meth:`Pending.result`
returns the child's result (pickled back) or raises its exception.

Where a child cannot help, the call is made in this process when asked for its result, so the
numbers never depend on the machine: on systems other than Linux (Windows has no ``fork``; on macOS
a forked child may not use the parent's numerical libraries), on one core, in a forked child
itself, and when the environment variable :data:`PROCESSES_ENV` is ``1``.

The child's warnings are recorded and issued again in the parent when its result is taken, in
order, so ``warnings`` filters, ``pytest.warns`` and a build's warning log see them as if the
call had been made here. The child leaves through ``os._exit``: it never runs the caller's
``finally`` blocks (which would remove a folder being assembled) or exit handlers, and it takes
SIGINT, SIGTERM and SIGHUP with their default actions. If the caller leaves before taking the
result (an error, Ctrl-C), :meth:`Pending.cancel` ends the child.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import traceback
import warnings
from typing import Any, Callable, Generic, TypeVar

T = TypeVar("T")

PROCESSES_ENV = "INDEX_ENGINE_PROCESSES"
"""Set to ``1`` to do all work in one process (the results are the same; only the wall time differs)."""

_IN_CHILD = False


def can_fork() -> bool:
    """True where :func:`fork_call` runs its function in a child: on Linux (where a forked child may use
    the numerical libraries its parent loaded; macOS's Accelerate, for one, may not), when this process
    may use more than one core, is not itself such a child, and :data:`PROCESSES_ENV` is not ``1``."""
    if _IN_CHILD or not sys.platform.startswith("linux") or os.environ.get(PROCESSES_ENV, "").strip() == "1":
        return False
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    return len(cores) > 1


class Pending(Generic[T]):
    """The result of a call running in a child (or to be made here): :meth:`result` waits for it."""

    def __init__(self, fn: Callable[[], T], pid: int | None, fd: int | None) -> None:
        self._fn, self._pid, self._fd = fn, pid, fd
        self._done = False

    def result(self) -> T:
        """The function's return value; its exception raised here, its warnings issued here. Once only."""
        if self._done:
            raise RuntimeError(f"the result of {_name(self._fn)} was taken or cancelled already")
        self._done = True
        if self._pid is None:
            return self._fn()
        pid, fd = self._pid, self._fd
        self._pid = self._fd = None
        chunks = []
        try:
            with os.fdopen(fd, "rb") as pipe:
                while chunk := pipe.read(1 << 20):
                    chunks.append(chunk)
        finally:
            _, status = os.waitpid(pid, 0)
        if not chunks:
            raise RuntimeError(f"a child process doing {_name(self._fn)} ended without a result ({_status_text(status)})")
        ok, value, caught = pickle.loads(b"".join(chunks))
        seen: dict[Any, Any] = {}  # the child recorded every warning; a "default" filter shows each place once
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, registry=seen)
        if not ok:
            raise value
        return value

    def cancel(self) -> None:
        """End the child (if any) without its result."""
        self._done = True
        if self._pid is not None:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self._pid, 0)
            os.close(self._fd)  # type: ignore[arg-type]
            self._pid = self._fd = None

    def __enter__(self) -> Pending[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()


def fork_call(fn: Callable[[], T]) -> Pending[T]:
    """Start ``fn()`` in a forked child where :func:`can_fork`, else leave it to be called by
    :meth:`Pending.result`. ``fn``'s result and exception must pickle (an exception that does not is
    raised as a RuntimeError with its text and traceback).

    Examples
    --------
    >>> with fork_call(lambda: sum(range(10))) as pending:
    ...     pending.result()
    45
    """
    if not can_fork():
        return Pending(fn, None, None)
    try:  # what is buffered is written once, not again by the child
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe (``| head``): the call is made here, the pipe's error left to the caller's next print
        return Pending(fn, None, None)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        _child(fn, read_fd, write_fd)
    os.close(write_fd)
    return Pending(fn, pid, read_fd)


def _child(fn: Callable[[], Any], read_fd: int, write_fd: int) -> None:
    global _IN_CHILD
    code = 1
    try:
        _IN_CHILD = True
        os.close(read_fd)
        for name in ("SIGINT", "SIGTERM", "SIGHUP"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_DFL)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out: tuple[bool, Any] = (True, fn())
            except BaseException as exc:  # sent to the parent, which raises it
                out = (False, exc)
        records = [_Warning(w.message, w.category, w.filename, w.lineno) for w in caught]
        try:
            data = pickle.dumps((*out, records))
            pickle.loads(data)
        except Exception:
            text = "".join(traceback.format_exception(out[1])) if not out[0] else repr(out[1])
            data = pickle.dumps((False, RuntimeError(f"a result of {_name(fn)} that cannot be sent back:\n{text}"), records))
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(data)
        code = 0
    finally:
        os._exit(code)


class _Warning:
    """A caught warning, as pickled to the parent (a ``WarningMessage`` holds unpicklable parts)."""

    def __init__(self, message: Warning | str, category: type[Warning], filename: str, lineno: int) -> None:
        self.message, self.category, self.filename, self.lineno = message, category, filename, lineno

    def __reduce__(self) -> tuple[Any, ...]:
        try:
            pickle.dumps(self.message)
            message: Warning | str = self.message
        except Exception:
            message = str(self.message)
        return (_Warning, (message, self.category, self.filename, self.lineno))


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", repr(fn))


def _status_text(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit status {os.WEXITSTATUS(status)}"
