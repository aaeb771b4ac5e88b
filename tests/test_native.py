"""index_engine._native: OpenBLAS on one thread and no transparent huge pages inside a block, and freed memory handed back."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from index_engine import _native
from index_engine._native import numeric_settings, release_memory


def test_numeric_settings_restores_the_count_and_keeps_the_products():
    """Inside the block OpenBLAS runs on one thread (nested blocks too, and blocks on other threads); the
    count before is back after the last; a product is the same to the last bit."""
    rng = np.random.default_rng(0)
    W, A = rng.random((3, 12)), rng.random((20_000, 12))
    before = W @ A.T
    blas = _native._openblas()
    count = blas[1]() if blas else None
    with numeric_settings():
        with numeric_settings():
            inside = W @ A.T
            if blas:
                assert blas[1]() == 1
        def other() -> None:  # a block on another thread, opened and closed inside this one
            with numeric_settings():
                pass

        t = threading.Thread(target=other)
        t.start()
        t.join()
        if blas:
            assert blas[1]() == 1
    if blas:
        assert blas[1]() == count
    np.testing.assert_array_equal(inside, before)


def _thp_enabled() -> bool:
    """Whether the kernel would give this process transparent huge pages, as it says in /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("THP_enabled:"):
            return line.split()[1] == "1"
    pytest.skip("the kernel does not say (Linux before 5.0, or not Linux)")


def test_numeric_settings_turn_huge_pages_off_and_back():
    pages = _native._huge_pages()
    if pages is None:
        pytest.skip("no switch of huge pages here")
    was = pages(True)
    try:
        with numeric_settings():
            assert pages(False) is False  # off inside (setting it again returns the setting before)
        assert pages(True) is True  # on again after
    finally:
        pages(was)


def test_the_switch_is_the_process_s_own_on_linux():
    """Where Linux has the switch, it is the one the kernel reports for the process (not numpy's alone)."""
    if _native._prctl() is None:
        pytest.skip("not Linux")
    was = _native._process_huge_pages(True)
    try:
        if not _thp_enabled():
            pytest.skip("a kernel built without transparent huge pages")
        with numeric_settings():
            assert not _thp_enabled()
        assert _thp_enabled()
        _native.no_huge_pages()
        assert not _thp_enabled()
    finally:
        _native._process_huge_pages(was)


def test_release_memory_keeps_the_data():
    x = np.arange(1 << 20, dtype=float)
    y = x.copy()
    del y
    release_memory()
    assert x.sum() == (1 << 20) * ((1 << 20) - 1) / 2
