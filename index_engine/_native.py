"""Three settings of the native libraries under numpy and pyarrow that large builds need.

**OpenBLAS on one thread** (:func:`numeric_settings`). A large build's matrix products (a weighted
sum of a few children over a block of rows) take a millisecond each. OpenBLAS hands each to its pool of
threads, which then spin waiting for the next one, taking the cores from the threads that write the
Parquet files: on a 2-core machine one thread does the same products many times faster. Results do
not depend on the thread count (OpenBLAS splits the rows of a product between its threads, never a
sum). The count is OpenBLAS's own setting for the process, found as threadpoolctl finds it (the
library numpy loaded, by its exported ``*_set_num_threads*``); with another BLAS nothing changes.

**No transparent huge pages** (:func:`numeric_settings` too). numpy asks the kernel for huge (2 MB)
pages for arrays of 4 MB or more, and Arrow's allocator (mimalloc) for its whole arena (``madvise``).
Where the kernel honours that (transparent huge pages ``enabled`` or ``madvise``, a common default), the
first touch of such memory zeroes 2 MB at once, and as the allocators hand freed memory back and take it
again, a large build zeroes the same memory many times over: in a 10^6-firm build on a 2-core machine the
kernel's zeroing of pages (``clear_page``) was a quarter of the CPU time, 1.8 s of system time in 4.9 s,
and 0.65 s without huge pages. Linux's per-process switch (``prctl(PR_SET_THP_DISABLE)``, Linux 3.15 and
later) turns them off for both; elsewhere numpy's own switch (``_set_madvise_hugepage``) is used. They are
off inside the block and as they were after it. The ``index-engine`` command keeps them off for its whole
process (:func:`no_huge_pages`): a large build reads its data file before any block opens.

**Freed memory handed back** (:func:`release_memory`). numpy allocates through the C library's
``malloc`` and Arrow through its own allocator (mimalloc); each keeps what was freed for its own reuse,
so the temporaries of one stage stay resident while the next stage allocates from the other.
``malloc_trim`` (glibc) and Arrow's ``release_unused`` return those pages to the system between stages.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import sys
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


PR_SET_THP_DISABLE, PR_GET_THP_DISABLE = 41, 42
"""``prctl`` options of Linux's per-process switch of transparent huge pages (``<linux/prctl.h>``)."""


@lru_cache(maxsize=1)
def _prctl() -> Callable[..., int] | None:
    """The C library's ``prctl``, where the process's transparent huge pages can be switched (Linux), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    fn.restype = ctypes.c_int
    return fn if fn(PR_GET_THP_DISABLE, 0, 0, 0, 0) >= 0 else None


def _process_huge_pages(enabled: bool) -> bool:
    """Turn the process's transparent huge pages on or off; returns whether they were on."""
    prctl = _prctl()
    was = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 0
    prctl(PR_SET_THP_DISABLE, 0 if enabled else 1, 0, 0, 0)
    return was


def _huge_pages() -> Callable[[bool], bool] | None:
    """The switch of huge pages (takes whether they are to be on, returns whether they were): the process's
    (Linux), else numpy's for its large arrays, else None."""
    if _prctl() is not None:
        return _process_huge_pages
    import numpy as np

    core = getattr(np, "_core", None)  # numpy 2 (numpy 1: np.core)
    return getattr((core or np.core).multiarray, "_set_madvise_hugepage", None)


def no_huge_pages() -> None:
    """Transparent huge pages off for the rest of the process (see the module's docstring); for a process of
    its own, as the ``index-engine`` command is: a library leaves the process's settings to its caller. Linux
    only (numpy asks for huge pages nowhere else); it imports nothing but ``ctypes``."""
    if _prctl() is not None:
        _process_huge_pages(False)


@contextlib.contextmanager
def numeric_settings() -> Iterator[None]:
    """OpenBLAS on one thread, and no transparent huge pages, inside the block (blocks may nest and run on
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
