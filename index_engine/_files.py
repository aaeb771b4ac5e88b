"""Input files checked before they are opened: a regular file within the size limit.

Without numpy or pandas, so that the command line can check a data file (and start reading it, see
:mod:`index_engine.readahead`) before it imports them."""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path

from .errors import DataError, IndexEngineError

MAX_FILE_MB_ENV = "INDEX_ENGINE_MAX_FILE_MB"
MAX_FILE_MB = 2048
"""Default size limit of a data or spec file, in MB (2**20 bytes); the environment variable
``INDEX_ENGINE_MAX_FILE_MB`` sets another."""

_NOT_REGULAR = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def max_file_bytes(error: type[IndexEngineError] = DataError) -> int:
    """The size limit of an input file in bytes: ``$INDEX_ENGINE_MAX_FILE_MB`` MB, default 2048 MB."""
    text = os.environ.get(MAX_FILE_MB_ENV, "").strip()
    if not text:
        return MAX_FILE_MB * 2**20
    try:
        mb = float(text)
    except ValueError:
        mb = math.nan
    if not (math.isfinite(mb) and mb > 0):
        raise error(f"{MAX_FILE_MB_ENV}={text!r}: must be a positive number of megabytes")
    return int(mb * 2**20)


def check_input_file(path: str | Path, what: str, error: type[IndexEngineError]) -> int:
    """The size of ``path`` in bytes, once ``os.stat`` shows a regular file within the size limit.

    Nothing is opened, so a named pipe cannot block and ``/dev/zero`` is never read. ``what``
    names the file in messages ("data", "spec"); ``error`` is the class raised.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise error(f"{path}: no such {what} file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read the {what} file ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        kind = next((k for test, k in _NOT_REGULAR if test(st.st_mode)), "not a regular file")
        raise error(f"{path}: is {kind}, not a regular {what} file")
    limit = max_file_bytes(error)
    if st.st_size > limit:
        raise error(
            f"{path}: the {what} file is {_megabytes(st.st_size)}, over the limit of {_megabytes(limit)} "
            f"(set {MAX_FILE_MB_ENV} to raise it)"
        )
    return st.st_size


def _megabytes(n: int) -> str:
    return f"{n / 2**20:,.1f} MB" if n >= 2**20 // 10 else f"{n:,} bytes"
