"""index_engine._native: OpenBLAS on one thread and numpy in small pages inside a block, and freed memory handed back."""

from __future__ import annotations

import threading

import numpy as np

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


def test_numeric_settings_turn_numpys_huge_pages_off_and_back():
    pages = _native._huge_pages()
    if pages is None:
        return
    was = pages(True)
    try:
        with numeric_settings():
            assert pages(False) is False  # off inside (setting it again returns the setting before)
        assert pages(True) is True  # on again after
    finally:
        pages(was)


def test_release_memory_keeps_the_data():
    x = np.arange(1 << 20, dtype=float)
    y = x.copy()
    del y
    release_memory()
    assert x.sum() == (1 << 20) * ((1 << 20) - 1) / 2
