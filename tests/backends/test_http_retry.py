"""The HTTP backend waits for a server that says "later" (429, 503, Retry-After) or does not answer, on a
real server on 127.0.0.1 that answers as scripted."""

from __future__ import annotations

import email.utils
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sigopt_ai import BackendRejected, StoreError, TransportError
from sigopt_ai.backends.http import HTTPBackend
from sigopt_ai.backends.http._retry import parse_retry_after
from sigopt_ai.runs._writer import Syncer
from tests.backends.conftest import ScriptedServer
from tests.live_server import free_port

Reply = tuple[int, dict[str, str], Any]
RELEASED: Reply = (200, {}, {"object": "release", "released": True})
UNAVAILABLE: Reply = (503, {}, {"object": "error", "message": "busy", "status": 503})


def backend_of(server: ScriptedServer | str, tmp_path: Path, **kwargs: float) -> HTTPBackend:
    url = server if isinstance(server, str) else server.url
    return HTTPBackend(url, "token-1", journal=tmp_path / "spool.db", **kwargs)


def test_retry_after_is_honoured_in_seconds_and_as_an_http_date(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    in_three_seconds = email.utils.formatdate(time.time() + 3, usegmt=True)  # whole seconds: 2 to 3 s ahead
    scripted_server.replies += [
        (503, {"Retry-After": in_three_seconds}, {"object": "error", "message": "busy", "status": 503}),
        (429, {"Retry-After": "1"}, {"object": "error", "message": "slow down", "status": 429}),
        RELEASED,
    ]
    backend = backend_of(scripted_server, tmp_path)
    assert backend.release("1", "2", "run") is True
    first, second, third = scripted_server.received
    assert second.at - first.at >= 1.5  # until the date (the backoff alone is a fraction of a second)
    assert third.at - second.at >= 1.0  # what the 429 asked for
    backend.close()


def test_an_answer_that_keeps_saying_later_raises_transport_error_after_server_wait_and_says_so_once(
    scripted_server: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted_server.replies += [UNAVAILABLE] * 1000
    backend = backend_of(scripted_server, tmp_path, server_wait=1.5)
    with pytest.raises(TransportError, match="unreachable") as raised:
        backend.progress("1")
    # Retried, with backoff (not 1000 requests): how many tries fit in server_wait depends on the
    # machine's load, so the count is checked against what the error says rather than a number.
    tries = len(scripted_server.received)
    assert 2 <= tries < 100 and f"({tries} tries)" in str(raised.value)
    err = capsys.readouterr().err
    assert err.count("sigopt_ai: the server at") == 1 and scripted_server.url in err and "503" in err
    backend.close()


def test_a_server_nobody_listens_on_is_waited_for_until_it_starts(tmp_path: Path) -> None:
    port = free_port()
    server = ScriptedServer(replies=[RELEASED], port=port)
    backend = backend_of(f"http://127.0.0.1:{port}", tmp_path)
    starter = threading.Timer(1.0, server.start)
    starter.start()
    try:
        assert backend.release("1", "2", "run") is True  # waited (forever by default) until it was there
    finally:
        starter.join()
        server.stop()
        backend.close()


def test_nothing_connects_before_the_first_call(tmp_path: Path) -> None:
    backend = backend_of(f"http://127.0.0.1:{free_port()}", tmp_path, server_wait=0)
    with pytest.raises(TransportError):
        backend.get_experiment("1")
    backend.close()


def test_a_batch_is_retried_under_one_key_then_kept_in_the_journal(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    scripted_server.replies += [UNAVAILABLE] * 1000
    backend = backend_of(scripted_server, tmp_path)
    backend.write([("start", "r1", "p", "r1", 1.0, None, None)])  # never raises for the server being down
    keys = {r.headers["Idempotency-Key"] for r in scripted_server.batches()}
    assert len(scripted_server.batches()) >= 2 and len(keys) == 1  # retried, under one key
    assert backend.journal.count() == 1 and [e.key for e in backend.journal.entries(backend.url)] == list(keys)
    # the writer is not made to spin: batches right after go behind it in the journal without a request
    sent = len(scripted_server.received)
    for i in range(5):
        backend.write([("metric", "r1", "m", float(i), None, 2.0)])
    assert len(scripted_server.received) - sent <= 1
    assert backend.journal.count() == 6
    note = backend.undelivered()
    assert note is not None and "6 batch(es)" in note and str(tmp_path / "spool.db") in note
    backend.close()


def test_a_rejected_batch_raises_for_the_writer_to_split_and_a_refused_token_is_kept(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    scripted_server.replies += [
        (400, {}, {"object": "error", "message": "ops[0]: bad", "status": 400}),
        (401, {}, {"object": "error", "message": "Invalid token", "status": 401}),
    ]
    backend = backend_of(scripted_server, tmp_path)
    with pytest.raises(BackendRejected) as raised:
        backend.write([("start", "r1", "p", "r1", 1.0, None, None)])
    assert backend.rejects(raised.value) and "ops[0]: bad" in str(raised.value)
    backend.write([("start", "r1", "p", "r1", 1.0, None, None)])  # 401: kept for a sync with the right token
    assert backend.journal.count() == 1
    assert not backend.rejects(TransportError("down")) and not backend.rejects(BackendRejected(503, "busy"))
    assert not backend.rejects(BackendRejected(429, "slow")) and backend.rejects(BackendRejected(404, "run"))
    backend.close()


def test_a_journal_that_cannot_be_written_raises_store_error_for_the_writer_to_keep_the_batch(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    backend = HTTPBackend(f"http://127.0.0.1:{free_port()}", "t", journal=blocked / "spool.db")
    with pytest.raises(StoreError, match="journal") as raised:
        backend.write([("start", "r1", "p", "r1", 1.0, None, None)])
    assert not backend.rejects(raised.value)
    backend.close()


def test_the_journal_is_a_wal_file_that_keeps_rows_in_order(tmp_path: Path) -> None:
    backend = backend_of(f"http://127.0.0.1:{free_port()}", tmp_path)
    for i in range(3):
        backend.write([("metric", "r1", "m", float(i), None, 2.0)])
    backend.close()
    with sqlite3.connect(tmp_path / "spool.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        bodies = [row[0] for row in conn.execute("SELECT body FROM batches ORDER BY id")]
    assert [b.count('"m", 0.0') + 2 * b.count('"m", 1.0') + 3 * b.count('"m", 2.0') for b in bodies] == [1, 2, 3]


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), (" 7 ", 7.0), ("100000", 600.0), ("soon", None), (None, None), ("Wed, 21 Oct 2015 07:28:00", None)],
)
def test_retry_after_header_values(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_retry_after_dates_count_from_now() -> None:
    now = time.time()
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1)
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0


def test_a_damaged_journal_row_the_server_refuses_is_set_aside_and_the_rest_sent_in_order(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    backend = backend_of(scripted_server, tmp_path)
    backend.journal.append(backend.url, "k1", '{"ops": [["start", "r1", "p", "r1", 1.0, null, null]]}')
    backend.journal.append(backend.url, "k2", "not a batch")
    backend.journal.append(backend.url, "k3", '{"ops": [["end", "r1", "completed", 2.0]]}')
    scripted_server.replies += [
        (200, {}, {"object": "batch", "count": 1}),
        (400, {}, {"object": "error", "message": "Request body must be a JSON object", "status": 400}),
    ]
    assert backend.replay() == (3, 0)
    assert [r.headers["Idempotency-Key"] for r in scripted_server.batches()] == ["k1", "k2", "k3"]
    assert backend.journal.count() == 0
    backend.close()


def test_a_producer_past_high_water_is_not_held_by_a_server_nobody_listens_on(tmp_path: Path) -> None:
    # A refused connection is journaled at once: a writer that retried it for seconds first held
    # each producer that reached high water as long, waiting for a writer it saw as healthy.
    backend = backend_of(f"http://127.0.0.1:{free_port()}", tmp_path)
    syncer = Syncer(backend, interval=0.05, high_water=1_000, flush_timeout=30)
    syncer.start()
    slowest = 0.0
    for i in range(10_000):
        started = time.perf_counter()
        syncer.submit(("metric", "r1", "m", float(i), None, 2.0 + i))
        slowest = max(slowest, time.perf_counter() - started)
    assert syncer.close()
    journaled = sum(len(json.loads(e.body)["ops"]) for e in backend.journal.entries(backend.url, 10_000))
    assert journaled == 10_000
    assert slowest < 1.0  # not seconds (a generous bound: a journal append takes milliseconds)
    backend.close()
