"""A Parquet data file's columns read into Arrow, and read ahead on a thread of its own by the command line.

``index-engine build --data file.parquet`` knows its data file before it imports pandas and the engine
(about half a second on one core). Reading the file into Arrow needs neither, and Arrow's reader
releases the GIL, so :func:`start` reads it on a second core while the imports run; :func:`take`,
called by :func:`index_engine.panel.load_panel`, hands over what was read when the same file is still
as it was (same inode, size and modification time), else None, and the panel reads the file itself (also when
reading ahead failed: the errors are then the reader's own, raised where they always were).

Nothing here imports numpy or pandas, and pyarrow only when a file is read.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

from ._files import check_input_file
from .errors import IndexEngineError

PARQUET_COLUMNS_AT_ONCE = 8
"""Columns of a Parquet file read (and converted to pandas) at a time: the memory Arrow frees as it converts one
group's columns (a column with gaps becomes a new array with NaN) is what it reads the next group into."""

_ahead: dict[str, tuple[tuple[int, ...], Future]] = {}
"""The reads started: by the file's real path, with its :func:`_stamp` then."""


def parquet_tables(path: str | Path) -> Iterator[Any]:
    """The file's schema, then an Arrow table of each group of :data:`PARQUET_COLUMNS_AT_ONCE` columns, each
    read when asked for. A file whose pandas metadata stores index columns (``to_parquet`` of a frame with an
    index) is one table, so that pandas makes its index as it made it."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as file:
        schema = file.schema_arrow
        yield schema
        names = schema.names
        stored_index = any(isinstance(c, str) for c in (schema.pandas_metadata or {}).get("index_columns", ()))
        step = PARQUET_COLUMNS_AT_ONCE
        for group in [None] if stored_index or not names else [names[i:i + step] for i in range(0, len(names), step)]:
            yield file.read(columns=group)


def _stamp(path: str | Path) -> tuple[str, tuple[int, ...]]:
    """The file's real path, and its device, inode, size and modification time (a file replaced or written
    since has another)."""
    st = os.stat(path)
    return os.path.realpath(path), (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def start(path: str | Path) -> None:
    """Read the Parquet file ``path`` (by its suffix) on a thread of its own, if it is a regular file within
    the size limit (else nothing is read: the panel's reading says what is wrong)."""
    if Path(path).suffix.lower() not in (".parquet", ".pq"):
        return
    try:
        check_input_file(path, "data", IndexEngineError)
        real, stamp = _stamp(path)
    except (IndexEngineError, OSError):
        return
    import pyarrow.parquet  # noqa: F401 - here, not by two threads at once

    pool = ThreadPoolExecutor(max_workers=1)
    _ahead[real] = (stamp, pool.submit(lambda: list(parquet_tables(path))))
    pool.shutdown(wait=False)  # its thread ends with the read


def take(path: str | Path) -> list[Any] | None:
    """What :func:`start` read of ``path`` (the schema, then the tables), once, if the file is unchanged since;
    else None."""
    if not _ahead:
        return None
    try:
        real, stamp = _stamp(path)
    except OSError:
        return None
    before, job = _ahead.pop(real, (None, None))
    if job is None:
        return None
    try:
        read = job.result()
    except Exception:  # noqa: BLE001 - the panel reads the file again and reports what is wrong
        return None
    return read if before == stamp else None
