"""The backend contract for files stored with runs: on SQLite, PostgreSQL and a real server over HTTP.

A ``file`` write operation stores a file once per file id (a batch written twice does not double it);
``list_files`` describes a run's files oldest first and ``read_file`` gives their bytes back exactly.
"""

from __future__ import annotations

import hashlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sigopt_ai._checks import MAX_FILE_BYTES
from sigopt_ai._models import FileRecord, Op
from sigopt_ai.backends import Backend, make_backend
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
