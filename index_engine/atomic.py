"""Atomic folder writes: a folder is assembled beside its target and renamed into place once.

Everything a command writes goes into one temporary folder, ``.<name>.<random>.tmp`` next to the
target, renamed into place at the end: a failure, Ctrl-C or ``kill`` leaves no folder that looks
finished, and an existing folder is untouched until the new one is complete.

- **Refusal without** ``force``: an existing target is refused at the start and again by the
  final rename, which cannot replace anything (Linux ``renameat2(RENAME_NOREPLACE)``; elsewhere an
  exclusive ``os.mkdir`` of the target, then a rename onto that empty folder). Of two writes racing
  to one target, one wins and the other gets :class:`~index_engine.errors.OutputExistsError`.
- **Replacement with** ``force``: only a folder is replaced (never a file), by an atomic exchange
  (``RENAME_EXCHANGE``) or, where that is missing, two renames; the old folder is removed after.
- **Signals**: while a folder is assembled, SIGTERM and SIGHUP raise :class:`Interrupted` (a
  ``KeyboardInterrupt``, as SIGINT raises), so the clean-up in ``finally`` runs.
- **Leftovers**: the temporary folder holds a lock file, :data:`LOCK`, that its process keeps
  locked (``fcntl.flock``, released by the kernel when the process dies, even by SIGKILL). A later
  write into the same parent folder removes temporary folders whose lock is free, with a warning.
- **Permissions**: the folder gets the mode a plain ``mkdir`` would (0o777 less the umask), not
  ``mkdtemp``'s 0o700, so colleagues on a shared server can read it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Callable, Iterator

from .errors import IndexEngineWarning, OutputExistsError

LOCK = ".writing"
"""The lock file inside a temporary folder: ``{"pid", "host", "started"}``, locked while its process lives."""
LEFTOVER_AGE_S = 600
"""A temporary folder without a lock file is a leftover once it is this old (it cannot be a fresh one)."""
_TMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")  # tempfile.mkdtemp(prefix=".<name>.", suffix=".tmp")
_CATCH = tuple(getattr(signal, s) for s in ("SIGTERM", "SIGHUP") if hasattr(signal, s))
_RENAME_NOREPLACE, _RENAME_EXCHANGE = 1, 2
_AT_FDCWD = -100

try:
    import fcntl
except ImportError:  # Windows: no flock; leftovers are reported, not removed
    fcntl = None  # type: ignore[assignment]


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived while a folder was being written (SIGINT raises KeyboardInterrupt)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def write_folder(
    out_dir: str | Path, fill: Callable[[Path], object], *, force: bool = False, replaceable: str | None = None
) -> Path:
    """Call ``fill(tmp)`` on a temporary folder beside ``out_dir`` and rename it to ``out_dir``.

    Parameters
    ----------
    out_dir : path of the folder to write
    fill : function of the temporary folder that writes every file into it
    force : bool, default False
        Replace an existing ``out_dir`` (a folder) once the new one is complete; without it an
        existing ``out_dir`` is an :class:`OutputExistsError`, also if it appears meanwhile.
    replaceable : str, optional
        With ``force``, replace a non-empty folder only if it holds this file (e.g. ``manifest.json``).

    Returns
    -------
    Path ``out_dir``.
    """
    out_dir = Path(out_dir)
    with staged_folder(out_dir, force=force, replaceable=replaceable) as tmp:
        fill(tmp)
    return out_dir


@contextlib.contextmanager
def staged_folder(target: str | Path, *, force: bool = False, replaceable: str | None = None) -> Iterator[Path]:
    """A temporary folder beside ``target``, renamed to ``target`` when the block ends without an error.

    On an error or a signal the temporary folder is removed and the error raised again; ``target``
    is untouched. See :func:`write_folder` for ``force`` and ``replaceable``.
    """
    target = Path(target)
    check_target(target, force=force, replaceable=replaceable)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(target.parent)
    with _signals_raise():
        tmp, lock_fd = _make_tmp(target)
        try:
            try:
                yield tmp
            except OSError as exc:  # name the file as it would have been, not its temporary place
                if exc.filename is not None:
                    exc.filename = _untemp(exc.filename, tmp, target)
                elif exc.errno is not None:  # OSError("text") has no errno and keeps its message as it is
                    exc.filename = str(target)
                raise
            _commit(tmp, target, force=force, replaceable=replaceable)
        finally:
            with _signals_held():
                if lock_fd is not None:
                    os.close(lock_fd)
                shutil.rmtree(tmp, ignore_errors=True)  # gone after a rename; the old folder after an exchange


def _untemp(name: str | bytes | int, tmp: Path, target: Path) -> str | bytes | int:
    try:
        return str(target / Path(os.fsdecode(name)).relative_to(tmp))
    except (TypeError, ValueError):
        return name


def check_target(target: Path, *, force: bool, replaceable: str | None = None) -> None:
    """Refuse a target that exists (without ``force``), is not a folder, or is a folder we must not replace,
    and one whose nearest existing ancestor is a file."""
    if target.name in ("", ".", ".."):
        raise OutputExistsError(f"{target}: name the folder to write, not '.' or '..'")
    if not os.path.lexists(target):
        for p in target.parents:
            if os.path.lexists(p):
                if not p.is_dir():
                    raise OutputExistsError(f"{target}: {p} is a file, not a folder")
                return
        return
    if not force:
        raise OutputExistsError(f"{target}: the folder exists already; choose another --out or pass --force")
    if target.is_symlink() or not target.is_dir():
        raise OutputExistsError(f"{target}: exists and is not a folder (a file or a link); --force replaces folders only")
    if replaceable and not (target / replaceable).exists() and any(target.iterdir()):
        raise OutputExistsError(f"{target}: the folder is not empty and holds no {replaceable}; refusing to replace it")


def check_file_target(target: Path, *, force: bool) -> None:
    """Refuse a file to write that exists already (without ``force``), or a folder in its place: before the
    work that makes it, as :func:`check_target` for a folder."""
    if target.is_dir():
        raise OutputExistsError(f"{target}: is a folder; name the file to write")
    if os.path.lexists(target) and not force:
        raise OutputExistsError(f"{target}: the file exists already; pass --force to replace it")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _make_tmp(target: Path) -> tuple[Path, int | None]:
    """``.<name>.<random>.tmp`` beside ``target`` with its lock file held, mode 0o777 less the umask."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    fd = None
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        fd = os.open(tmp / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
        os.write(fd, json.dumps(info).encode())  # written once the lock is held: a free lock with content is dead
    except BaseException:
        if fd is not None:
            os.close(fd)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp, fd


def _commit(tmp: Path, target: Path, *, force: bool, replaceable: str | None) -> None:
    """Rename ``tmp`` to ``target``: once, refusing an existing target unless ``force``."""
    with _signals_held():
        os.unlink(tmp / LOCK)  # unlinked while still locked: no cleaner can take tmp for a dead one
        if force and os.path.lexists(target):
            check_target(target, force=True, replaceable=replaceable)  # it may have changed meanwhile
            _replace(tmp, target)
        else:
            _rename_new(tmp, target)


def _rename_new(tmp: Path, target: Path) -> None:
    """Rename that never replaces: OutputExistsError if ``target`` exists (even if it appeared just now)."""
    refused = OutputExistsError(f"{target}: the folder exists already (written meanwhile by another process); choose another --out or pass --force")
    try:
        if _renameat2(tmp, target, _RENAME_NOREPLACE):
            return
    except FileExistsError:
        raise refused from None
    try:  # no renameat2: reserve the name with an exclusive mkdir, then rename onto the empty folder
        os.mkdir(target)
    except FileExistsError:
        raise refused from None
    try:
        if sys.platform == "win32":  # rename cannot replace a folder there
            os.rmdir(target)
        os.rename(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.rmdir(target)
        raise


def _replace(tmp: Path, target: Path) -> None:
    """Put ``tmp`` in place of the folder ``target`` and remove the old one."""
    try:
        swapped = _renameat2(tmp, target, _RENAME_EXCHANGE)
    except FileNotFoundError:  # target vanished meanwhile
        _rename_new(tmp, target)
        return
    if swapped:
        shutil.rmtree(tmp, ignore_errors=True)  # the old folder, now under the temporary name
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    os.rmdir(old)
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


_LIBC = None


def _renameat2(src: Path, dst: Path, flags: int) -> bool:
    """Linux ``renameat2``; False where the C library, the kernel or the file system lacks it."""
    global _LIBC
    if not sys.platform.startswith("linux"):
        return False
    if _LIBC is None:
        import ctypes

        try:
            _LIBC = ctypes.CDLL(None, use_errno=True)
        except OSError:
            _LIBC = False
    fn = getattr(_LIBC, "renameat2", None) if _LIBC else None
    if fn is None:
        return False
    import ctypes

    if fn(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(src), None, str(dst))


def remove_leftovers(parent: str | Path) -> list[Path]:
    """Remove temporary folders in ``parent`` left by writes whose process has died; return them.

    A temporary folder is a leftover when its lock file is free (its process has ended) or, with
    no lock file, when it is older than :data:`LEFTOVER_AGE_S`. Without ``fcntl`` (Windows)
    leftovers are reported with a warning but kept.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for e in entries:
        if not _TMP_NAME.match(e.name) or not e.is_dir(follow_symlinks=False):
            continue
        path = Path(e.path)
        owner = _dead_owner(path)
        if owner is None:
            continue
        if fcntl is None:
            warnings.warn(f"{path}: left by an interrupted write ({owner}); remove it when no write is running",
                          IndexEngineWarning, stacklevel=2)
            continue
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path)
            warnings.warn(f"removed {path}: left by an interrupted write ({owner})", IndexEngineWarning, stacklevel=2)
    return removed


def _dead_owner(path: Path) -> str | None:
    """A description of the dead process that left ``path``, or None if it may still be written."""
    lock = path / LOCK
    try:
        fd = os.open(lock, os.O_RDONLY)
    except FileNotFoundError:
        try:
            age = time.time() - path.stat().st_mtime
        except OSError:
            return None
        return "no lock file" if age > LEFTOVER_AGE_S else None
    except OSError:
        return None
    try:
        content = os.read(fd, 4096)
        if not content:  # just created: the lock is taken before anything is written
            return None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return None  # locked: its process is alive
        try:
            info = json.loads(content)
            return f"process {info['pid']} on {info['host']}"
        except (ValueError, KeyError, TypeError):
            return "unreadable lock file"
    finally:
        os.close(fd)


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Interrupted` inside the block (main thread, default handlers only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise Interrupted(signum)

    previous = {}
    for s in _CATCH:
        if signal.getsignal(s) is signal.SIG_DFL:
            previous[s] = signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Signals wait (are delivered after the block) while a rename or a clean-up must not be cut short."""
    can = hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()
    held = {signal.SIGINT, *_CATCH}
    if can:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        if can:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
