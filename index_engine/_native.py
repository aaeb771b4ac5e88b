"""Two settings of the native libraries under numpy and pyarrow that large builds need.

**OpenBLAS on one thread** (:func:`single_threaded_blas`). A large build's matrix products (a weighted
sum of a few children over a block of rows) take a millisecond each. OpenBLAS hands each to its pool of
threads, which then spin waiting for the next one, taking the cores from the threads that write the
Parquet files: on a 2-core machine one thread does the same products many times faster. Results do
not depend on the thread count (OpenBLAS splits the rows of a product between its threads, never a
sum). The count is OpenBLAS's own setting for the process, found as threadpoolctl finds it (the
library numpy loaded, by its exported ``*_set_num_threads*``); with another BLAS nothing changes.

**Freed memory handed back** (:func:`release_memory`). numpy allocates through the C library's
``malloc`` and Arrow through its own allocator (mimalloc); each keeps what was freed for its own reuse,
so the temporaries of one stage stay resident while the next stage allocates from the other.
``malloc_trim`` (glibc) and Arrow's ``release_unused`` return those pages to the system between stages.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import threading
from functools import lru_cache
from typing import Callable, Iterator

_lock = threading.Lock()
_depth = 0
_before = 0


@lru_cache(maxsize=1)
def _openblas() -> tuple[Callable[[int], None], Callable[[], int]] | None:
    """(set, get) of the thread count of the OpenBLAS numpy loaded (found in this process's memory map), or None."""
    import numpy  # noqa: F401 - loads the BLAS numpy uses

    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            paths = sorted({line.split(None, 5)[-1].strip() for line in f if "openblas" in line.lower()})
    except OSError:  # not Linux
        return None
    for path in (p for p in paths if p.startswith("/")):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", "_64", ""):
                try:
                    set_n = getattr(lib, f"{prefix}_set_num_threads{suffix}")
                    get_n = getattr(lib, f"{prefix}_get_num_threads{suffix}")
                except AttributeError:
                    continue
                set_n.restype, set_n.argtypes, get_n.restype = None, [ctypes.c_int], ctypes.c_int
                return set_n, get_n
    return None


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """OpenBLAS on one thread inside the block (blocks may nest and run on several threads: the count before
    the first is restored when the last ends)."""
    global _depth, _before
    blas = _openblas()
    if blas is None:
        yield
        return
    set_n, get_n = blas
    with _lock:
        if _depth == 0:
            _before = get_n()
            set_n(1)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                set_n(_before)


@lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None (another C library)."""
    name = ctypes.util.find_library("c")
    try:
        fn = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None
    if fn is not None:
        fn.restype, fn.argtypes = ctypes.c_int, [ctypes.c_size_t]
    return fn


def release_memory() -> None:
    """Return the memory numpy (``malloc``) and Arrow have freed to the system (a few milliseconds)."""
    import pyarrow as pa

    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    pa.default_memory_pool().release_unused()
