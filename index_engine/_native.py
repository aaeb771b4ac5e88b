"""Three settings of the native libraries under numpy and pyarrow that large builds need.

**OpenBLAS on one thread** (:func:`numeric_settings`). A large build's matrix products (a weighted
sum of a few children over a block of rows) take a millisecond each. OpenBLAS hands each to its pool of
threads, which then spin waiting for the next one, taking the cores from the threads that write the
Parquet files: on a 2-core machine one thread does the same products many times faster. Results do
not depend on the thread count (OpenBLAS splits the rows of a product between its threads, never a
sum). The count is OpenBLAS's own setting for the process, found as threadpoolctl finds it (the
library numpy loaded, by its exported ``*_set_num_threads*``); with another BLAS nothing changes.

**numpy's arrays in small pages** (:func:`numeric_settings` too). numpy asks the kernel for
huge (2 MB) pages for arrays of 4 MB or more (``madvise``); where the kernel then compacts memory to
find them (transparent huge pages with ``defrag`` set to ``madvise``, a common default) each first
touch of such an array can stall, which costs a large build more system time than the pages save
(about 0.4 s of 5 s on a 2-core machine). numpy's own switch (``NUMPY_MADVISE_HUGEPAGE`` at import,
``_set_madvise_hugepage`` after) is turned off inside the block and back after.

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
_before: tuple[int | None, bool | None] = (None, None)


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


def _huge_pages() -> Callable[[bool], bool] | None:
    """numpy's switch of huge pages for large arrays (returns the setting before), or None."""
    import numpy as np

    core = getattr(np, "_core", None)  # numpy 2 (numpy 1: np.core)
    return getattr((core or np.core).multiarray, "_set_madvise_hugepage", None)


@contextlib.contextmanager
def numeric_settings() -> Iterator[None]:
    """OpenBLAS on one thread, and numpy's arrays in small pages, inside the block (blocks may nest and run on
    several threads: the settings before the first are restored when the last ends)."""
    global _depth, _before
    blas, pages = _openblas(), _huge_pages()
    with _lock:
        if _depth == 0:
            count = None
            if blas is not None:
                count = blas[1]()
                blas[0](1)
            _before = (count, pages(False) if pages is not None else None)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                count, huge = _before
                if blas is not None and count is not None:
                    blas[0](count)
                if pages is not None and huge is not None:
                    pages(huge)


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
