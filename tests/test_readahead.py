"""index_engine.readahead: Parquet read ahead on a thread, handed over once if unchanged, and read in column groups."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from index_engine import readahead


@pytest.fixture(autouse=True)
def no_reads_ahead(monkeypatch):
    monkeypatch.setattr(readahead, "_ahead", {})


def wide_frame(n_columns: int = 20, n_rows: int = 5, offset: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame({f"c{j:02d}": np.arange(n_rows, dtype=float) * (j + 1) + offset for j in range(n_columns)})


def write_parquet(path: Path, frame: pd.DataFrame, index: bool | None = False) -> Path:
    frame.to_parquet(path, index=index)
    return path


def joined(tables: list[pa.Table]) -> pa.Table:
    """The tables side by side, as one table."""
    columns, names = [], []
    for table in tables:
        columns += table.columns
        names += table.column_names
    return pa.table(columns, names=names)


def wait_for_reads() -> None:
    for _, job in list(readahead._ahead.values()):
        job.exception()


def test_take_hands_over_the_schema_and_tables_a_direct_read_gives(tmp_path):
    path = write_parquet(tmp_path / "d.parquet", wide_frame())
    readahead.start(path)
    read = readahead.take(path)
    direct = pq.read_table(path)
    assert read is not None and read[0].equals(direct.schema)
    assert joined(read[1:]).equals(direct)


def test_a_second_take_of_the_same_file_returns_none(tmp_path):
    path = write_parquet(tmp_path / "d.parquet", wide_frame(3))
    readahead.start(path)
    assert readahead.take(path) is not None
    assert readahead.take(path) is None
    assert readahead._ahead == {}


def test_take_returns_none_when_nothing_was_started(tmp_path):
    path = write_parquet(tmp_path / "d.parquet", wide_frame(3))
    assert readahead.take(path) is None


def test_take_of_another_file_returns_none_and_leaves_the_started_one(tmp_path):
    started = write_parquet(tmp_path / "a.parquet", wide_frame(3))
    other = write_parquet(tmp_path / "b.parquet", wide_frame(3))
    readahead.start(started)
    assert readahead.take(other) is None
    assert readahead.take(tmp_path / "missing.parquet") is None
    assert joined(readahead.take(started)[1:]).equals(pq.read_table(started))


def test_take_returns_none_when_the_file_changed_after_start(tmp_path):
    path = write_parquet(tmp_path / "d.parquet", wide_frame(4))
    readahead.start(path)
    wait_for_reads()
    before = path.stat().st_mtime_ns
    write_parquet(path, wide_frame(4, n_rows=9, offset=100.0))
    os.utime(path, ns=(before + 10**9, before + 10**9))
    assert readahead.take(path) is None
    assert readahead._ahead == {}


def test_take_returns_none_when_the_file_was_touched_without_new_content(tmp_path):
    """The modification time alone makes the file another: the stamp is device, inode, size and time."""
    path = write_parquet(tmp_path / "d.parquet", wide_frame(4))
    readahead.start(path)
    wait_for_reads()
    before = path.stat().st_mtime_ns
    os.utime(path, ns=(before + 10**9, before + 10**9))
    assert readahead.take(path) is None


@pytest.mark.parametrize("name", ["d.csv", "d.parquet.bak", "d"])
def test_a_file_without_a_parquet_suffix_is_not_read_ahead(tmp_path, name):
    path = write_parquet(tmp_path / name, wide_frame(3))
    readahead.start(path)
    assert readahead._ahead == {}
    assert readahead.take(path) is None


@pytest.mark.parametrize("name", ["d.pq", "d.PARQUET", "d.Pq"])
def test_the_pq_suffix_and_any_case_of_it_are_parquet(tmp_path, name):
    path = write_parquet(tmp_path / name, wide_frame(3))
    readahead.start(path)
    assert joined(readahead.take(path)[1:]).equals(pq.read_table(path))


def test_a_missing_file_or_a_directory_is_not_read_ahead(tmp_path):
    readahead.start(tmp_path / "missing.parquet")
    (tmp_path / "dir.parquet").mkdir()
    readahead.start(tmp_path / "dir.parquet")
    assert readahead._ahead == {}


def test_a_file_over_the_size_limit_is_not_read_ahead(tmp_path, monkeypatch):
    path = write_parquet(tmp_path / "d.parquet", wide_frame(3))
    monkeypatch.setenv("INDEX_ENGINE_MAX_FILE_MB", str(path.stat().st_size / 2 / 2**20))
    readahead.start(path)
    assert readahead._ahead == {}
    monkeypatch.delenv("INDEX_ENGINE_MAX_FILE_MB")
    readahead.start(path)
    assert readahead.take(path) is not None


def test_a_file_that_is_not_parquet_inside_is_taken_as_none(tmp_path):
    """The read fails on its thread; take gives None, so the panel reads the file and reports the error itself."""
    path = tmp_path / "d.parquet"
    path.write_bytes(b"not parquet at all")
    readahead.start(path)
    assert len(readahead._ahead) == 1
    assert readahead.take(path) is None


def test_a_read_started_through_a_link_is_taken_by_the_real_path(tmp_path):
    real = write_parquet(tmp_path / "d.parquet", wide_frame(3))
    link = tmp_path / "link.parquet"
    link.symlink_to(real)
    readahead.start(link)
    assert list(readahead._ahead) == [os.path.realpath(real)]
    assert joined(readahead.take(real)[1:]).equals(pq.read_table(real))


@pytest.mark.parametrize("n_columns", [1, 7, 8, 9, 20])
def test_parquet_tables_yields_the_schema_then_groups_of_at_most_the_set_number_of_columns(tmp_path, n_columns):
    path = write_parquet(tmp_path / "d.parquet", wide_frame(n_columns))
    step = readahead.PARQUET_COLUMNS_AT_ONCE
    parts = list(readahead.parquet_tables(path))
    schema, tables = parts[0], parts[1:]
    assert isinstance(schema, pa.Schema) and schema.names == [f"c{j:02d}" for j in range(n_columns)]
    assert len(tables) == math.ceil(n_columns / step)
    assert [t.num_columns for t in tables] == [min(step, n_columns - k) for k in range(0, n_columns, step)]
    assert joined(tables).equals(pq.read_table(path))


def test_parquet_tables_follows_the_set_number_of_columns(tmp_path, monkeypatch):
    monkeypatch.setattr(readahead, "PARQUET_COLUMNS_AT_ONCE", 3)
    path = write_parquet(tmp_path / "d.parquet", wide_frame(7))
    tables = list(readahead.parquet_tables(path))[1:]
    assert [t.column_names for t in tables] == [["c00", "c01", "c02"], ["c03", "c04", "c05"], ["c06"]]


def test_a_file_with_a_stored_index_is_one_table(tmp_path):
    frame = wide_frame(12).assign(unit=[f"U{i}" for i in range(5)]).set_index("unit")
    path = write_parquet(tmp_path / "d.parquet", frame, index=True)
    parts = list(readahead.parquet_tables(path))
    assert len(parts) == 2 and parts[1].equals(pq.read_table(path))
    assert "unit" in parts[1].column_names and parts[1].num_columns == 13
    pd.testing.assert_frame_equal(parts[1].to_pandas(), frame)


def test_a_range_index_kept_only_in_metadata_still_reads_in_groups(tmp_path):
    path = write_parquet(tmp_path / "d.parquet", wide_frame(12), index=None)
    step = readahead.PARQUET_COLUMNS_AT_ONCE
    tables = list(readahead.parquet_tables(path))[1:]
    assert [t.num_columns for t in tables] == [min(step, 12 - k) for k in range(0, 12, step)]
    assert joined(tables).equals(pq.read_table(path))
