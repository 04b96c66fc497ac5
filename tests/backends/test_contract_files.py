"""The backend contract for files stored with runs: on SQLite, PostgreSQL and a real server over HTTP.

A ``file`` write operation stores a file once per file id (a batch written twice does not double it);
``list_files`` describes a run's files oldest first and ``read_file`` gives their bytes back exactly.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from sigopt_ai._checks import MAX_FILE_BYTES
from sigopt_ai._exceptions import StoreError
from sigopt_ai._models import FileRecord, Op
from sigopt_ai.backends import Backend, make_backend
from sigopt_ai.backends.sql import SQLBackend
from sigopt_ai.backends.sql import _schema as t
from sigopt_ai.backends.sql._files import UPLOAD_SECONDS, complete_upload, reserve_upload, upload_waits
from sigopt_ai.wire import ops_from_json, ops_to_json

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
"""Bytes of every value, as a binary file has them."""


def start(run_id: str) -> Op:
    return ("start", run_id, "p", f"run {run_id}", 1.0, None, None)


def file_op(run_id: str, file_id: str, data: bytes, name: str = "plot.png", ts: float = 2.0) -> Op:
    return ("file", run_id, file_id, name, "image/png", data, ts)


def test_a_file_reads_back_exactly_and_is_described(backend: Backend) -> None:
    backend.write([start("r1"), file_op("r1", "a" * 16, PNG)])
    assert backend.list_files("r1") == [
        FileRecord(
            id="a" * 16,
            run="r1",
            name="plot.png",
            content_type="image/png",
            size=len(PNG),
            created=2.0,
            sha256=hashlib.sha256(PNG).hexdigest(),
        )
    ]
    assert backend.read_file("a" * 16) == PNG


def test_files_are_listed_oldest_first_per_run(backend: Backend) -> None:
    backend.write([start("r1"), start("r2"), file_op("r1", "b" * 16, b"late", "stderr", 5.0)])
    backend.write([file_op("r1", "c" * 16, b"early", "stdout", 3.0), file_op("r2", "d" * 16, b"")])
    assert [(f.name, f.size) for f in backend.list_files("r1")] == [("stdout", 5), ("stderr", 4)]
    assert [(f.id, f.size) for f in backend.list_files("r2")] == [("d" * 16, 0)]
    assert backend.read_file("d" * 16) == b""


def test_a_batch_written_twice_stores_its_file_once(backend: Backend) -> None:
    backend.write([start("r1")])
    batch = [file_op("r1", "e" * 16, b"first")]
    backend.write(batch)
    backend.write(batch)
    backend.write([file_op("r1", "e" * 16, b"another body, same id")])
    assert [f.sha256 for f in backend.list_files("r1")] == [hashlib.sha256(b"first").hexdigest()]
    assert backend.read_file("e" * 16) == b"first"


def test_ids_that_name_nothing_give_nothing(backend: Backend) -> None:
    backend.write([start("r1")])
    assert backend.list_files("r1") == []
    assert backend.list_files("no-such-run") == []
    assert backend.read_file("f" * 16) is None
    assert backend.list_files("") == [] and backend.read_file("") is None


def test_an_archived_run_keeps_its_files(backend: Backend) -> None:
    backend.write([start("r1"), file_op("r1", "9" * 16, PNG)])
    assert backend.archive_run("r1")
    assert [f.id for f in backend.list_files("r1")] == ["9" * 16]
    assert backend.read_file("9" * 16) == PNG


def _as_sent(ops: list[Op]) -> list[Any]:
    return ops_from_json(ops_to_json(ops))


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=2048), name=st.text(min_size=1, max_size=50))
def test_a_file_op_crosses_json_unchanged(data: bytes, name: str) -> None:
    op = ("file", "r1", "0123456789abcdef", name, "application/octet-stream", data, 1.5)
    assert _as_sent([op]) == [op]


def test_a_batch_of_files_over_a_servers_body_limit_goes_in_parts(http_url: str) -> None:
    """Two files of the largest size and a metric: the batch is past the server's 8 MiB body limit once
    in base64, so the HTTP backend sends it in parts, in order, rather than have it refused (413)."""
    big = bytes(range(256)) * (MAX_FILE_BYTES // 256)
    backend = make_backend(http_url)
    try:
        backend.write([start("r1"), file_op("r1", "1" * 16, big), file_op("r1", "2" * 16, big[::-1], ts=3.0)])
        backend.write([("metric", "r1", "loss", 0.5, None, 4.0)])
        assert [f.size for f in backend.list_files("r1")] == [MAX_FILE_BYTES, MAX_FILE_BYTES]
        assert backend.read_file("2" * 16) == big[::-1]
        run = backend.read_run("r1")
        assert run is not None and run.metrics == {"loss": 0.5}
    finally:
        backend.close()


# -- the server's two-step upload, in the SQL store --------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SQLBackend]:
    url = str(tmp_path / "store.db") if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))
    backend = SQLBackend(url)
    backend.write([start("r1")])
    yield backend
    backend.close()


def _reserve(backend: SQLBackend, file_id: str, secret: str) -> None:
    reserve_upload(backend, run_id="r1", file_id=file_id, name=file_id, content_type="text/plain", secret=secret)


def test_an_upload_reservation_expires(sql_backend: SQLBackend) -> None:
    """A reservation whose bytes never came is not a file, stops taking bytes after an hour, and its
    row goes when another reservation is made."""
    _reserve(sql_backend, "old", "old-secret")
    _reserve(sql_backend, "recent", "recent-secret")
    assert sql_backend.list_files("r1") == [] and sql_backend.read_file("old") is None
    with sql_backend.engine.begin() as conn:  # made longer ago than a reservation waits
        conn.execute(t.files.update().where(t.files.c.id == "old").values(created=time.time() - UPLOAD_SECONDS - 1))
    assert not upload_waits(sql_backend, "old-secret") and upload_waits(sql_backend, "recent-secret")
    assert complete_upload(sql_backend, "old-secret", b"late") is None
    _reserve(sql_backend, "new", "new-secret")
    with sql_backend.engine.begin() as conn:
        assert sorted(conn.execute(sa.select(t.files.c.id)).scalars()) == ["new", "recent"]
    done = complete_upload(sql_backend, "recent-secret", b"bytes")
    assert done is not None and (done.id, done.size) == ("recent", 5)
    assert not upload_waits(sql_backend, "recent-secret")
    assert [f.id for f in sql_backend.list_files("r1")] == ["recent"]


def test_an_upload_secret_completes_once_under_concurrency(postgres_url: str) -> None:
    """Two completions with one secret, both waiting on a lock of the row while a third transaction
    holds it: one stores its bytes, the other finds the secret used."""
    backend = SQLBackend(postgres_url)
    backend.write([start("r1")])
    _reserve(backend, "f1", "s3cret")
    results: dict[bytes, FileRecord | None] = {}

    def complete(data: bytes) -> None:
        results[data] = complete_upload(backend, "s3cret", data)

    engine = sa.create_engine(backend.engine.url)
    try:
        with engine.connect() as locker:
            tx = locker.begin()
            locker.execute(sa.text("SELECT id FROM files WHERE id = 'f1' FOR UPDATE"))
            threads = [threading.Thread(target=complete, args=(data,)) for data in (b"first", b"second")]
            for thread in threads:
                thread.start()
            # Until both completions wait on the row. The server is shared with other tests' databases,
            # whose sessions pg_stat_activity also lists: count only this database's waiters. By their
            # wait alone: a waiter's `state` is sometimes still shown as 'idle in transaction'.
            query = (
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            deadline = time.monotonic() + 60
            with engine.connect() as probe:
                while probe.execute(sa.text(query)).scalar() < 2 and all(thread.is_alive() for thread in threads):
                    assert time.monotonic() < deadline, "the two completions never both waited on the row's lock"
                    time.sleep(0.05)
            tx.commit()
            for thread in threads:
                thread.join()
    finally:
        engine.dispose()
    done = {data: record for data, record in results.items() if record is not None}
    assert len(done) == 1, results
    ((data, record),) = done.items()
    assert backend.read_file("f1") == data and record.sha256 == hashlib.sha256(data).hexdigest()
    backend.close()


def test_a_rejected_file_is_dead_lettered_with_its_bytes_as_base64(tmp_path: Path) -> None:
    """A file the store refuses (its run is missing) is kept in a dead-letter row of about 4/3 of its
    size, from which its bytes come back, rather than the up to 4 characters a byte of ``repr``."""
    data = bytes(range(256)) * (MAX_FILE_BYTES // 256)
    op = file_op("no-such-run", "a" * 16, data)
    backend = make_backend(str(tmp_path / "store.db"))
    try:
        with pytest.raises(StoreError) as refused:
            backend.write([op])
        assert backend.rejects(refused.value)
        backend.dead_letter(op, refused.value)
        (row,) = backend.dead_letters()
    finally:
        backend.close()
    record = row["record"]
    assert len(record) < 1.34 * len(data) + 1000
    assert record.startswith("('file', 'no-such-run', 'aaaaaaaaaaaaaaaa', 'plot.png', 'image/png', base64.b64decode('")
    encoded = re.search(r"base64\.b64decode\('([A-Za-z0-9+/=]+)'\)", record)
    assert encoded is not None and base64.b64decode(encoded.group(1)) == data
    assert len(row["error"]) < 10_000
