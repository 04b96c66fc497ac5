"""log_file, list_files and read_file on the embedded store: contents kept byte-exact, files that survive
a ``kill -9`` once flushed, and a writer whose memory stays bounded under a stream of large files."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

import sigopt_ai as sigopt
from sigopt_ai._checks import MAX_FILE_BYTES
from sigopt_ai.backends.sql import SQLBackend
from sigopt_ai.runs import _session
from sigopt_ai.runs._writer import Syncer
from tests.conftest import run_python, spawn_python


def test_bytes_and_paths_are_stored_byte_exact_in_the_order_logged(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(b"lr: 0.1\nepochs: 3\n")
    blob = os.urandom(100_000)
    with sigopt.run() as run:
        first = run.log_file(blob, name="weights.bin")
        second = run.log_file(path)
        third = run.log_file(bytearray(b"stdout text\n"), name="stdout", content_type="text/plain; charset=utf-8")
        fourth = run.log_file(memoryview(b"{}"), name="summary.json")
        fifth = run.log_file(b"")  # an empty file is a file
    files = sigopt.list_files(run.id)
    assert [f.id for f in files] == [first, second, third, fourth, fifth]
    assert [(f.name, f.content_type, f.size) for f in files] == [
        ("weights.bin", "application/octet-stream", 100_000),
        ("config.yaml", files[1].content_type, 18),  # the platform's guess for .yaml
        ("stdout", "text/plain; charset=utf-8", 12),
        ("summary.json", "application/json", 2),
        ("file", "application/octet-stream", 0),
    ]
    assert [sigopt.read_file(f.id) for f in files] == [blob, path.read_bytes(), b"stdout text\n", b"{}", b""]
    assert all(f.run == run.id for f in files)


def test_a_path_logged_under_another_name_keeps_its_type_unless_the_name_says_otherwise(tmp_path: Path) -> None:
    path = tmp_path / "plot.png"
    path.write_bytes(b"png")
    with sigopt.run() as run:
        run.log_file(path, name="loss")
        run.log_file(path, name="loss.svg")
        run.log_file(path, name="raw", content_type="application/x-thing")
    assert [(f.name, f.content_type) for f in sigopt.list_files(run.id)] == [
        ("loss", "image/png"),
        ("loss.svg", "image/svg+xml"),
        ("raw", "application/x-thing"),
    ]


def test_the_file_is_read_at_the_call(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    path.write_text("before")
    with sigopt.run() as run:
        file_id = run.log_file(path)
        path.write_text("after, and longer")
    assert sigopt.read_file(file_id) == b"before"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"file": 3}, sigopt.ValidationTypeError, r"file must be a path or bytes, got 3 \(int\)"),
        ({"file": "missing.bin"}, sigopt.ValidationError, r"file must be the path of a file.*does not exist"),
        ({"file": b"x" * (MAX_FILE_BYTES + 1)}, sigopt.ValidationError, r"file must be at most 4194304 bytes"),
        ({"file": b"x", "name": ""}, sigopt.ValidationError, r"file name must be 1 to 200 printable characters"),
        ({"file": b"x", "name": "a\x00b"}, sigopt.ValidationError, r"file name .*no control characters"),
        ({"file": b"x", "content_type": "png"}, sigopt.ValidationError, r"content_type must be a MIME type"),
        ({"file": b"x", "content_type": 7}, sigopt.ValidationTypeError, r"content_type must be a str"),
    ],
)
def test_bad_input_raises_naming_the_field(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    with sigopt.run() as run:
        with pytest.raises(error, match=match):
            run.log_file(**kwargs)
    assert sigopt.list_files(run.id) == []


def test_reading_what_does_not_exist() -> None:
    assert sigopt.list_files("no-such-run") == []
    with pytest.raises(sigopt.ValidationError, match="There is no file with id 'nope'"):
        sigopt.read_file("nope")
    with pytest.raises(sigopt.ValidationError, match="There is no file with id"):
        sigopt.read_file("\ud800")  # not even text


def test_logging_a_file_after_the_run_ended_raises() -> None:
    with sigopt.run() as run:
        pass
    with pytest.raises(sigopt.UsageError, match="already finished"):
        run.log_file(b"late")


def test_files_flushed_survive_a_kill_9(store: Path) -> None:
    proc = spawn_python(
        """
        import os, time, sigopt_ai as sigopt
        import numpy as np
        run = sigopt.create_run(name="victim")
        run.log_file(bytes(range(256)) * 4096, name="big.bin")
        run.log_image(np.full((4, 4), 9, dtype=np.uint8), name="nine.png")
        assert sigopt.flush()
        print(run.id, flush=True)
        time.sleep(60)
        """,
        env={"SIGOPT_AI_DB": str(store), "SIGOPT_AI_FLUSH_INTERVAL": "0.2"},
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    assert run_id, proc.stderr.read() if proc.stderr else ""
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    files = {f.name: f for f in sigopt.list_files(run_id)}
    assert set(files) == {"big.bin", "nine.png"}
    assert sigopt.read_file(files["big.bin"].id) == bytes(range(256)) * 4096
    assert sigopt.read_file(files["nine.png"].id).startswith(b"\x89PNG\r\n\x1a\n")


# -- memory ----------------------------------------------------------------------------------------

MiB = 2**20
FILE = 256 * 2**10
"""The size of the files these tests queue: what they prove is in multiples of the writer's bound,
which they set, so the files can be small (CI has two cores)."""


def file_op(run_id: str, i: int, size: int) -> tuple[Any, ...]:
    return ("file", run_id, f"{i:016x}", f"f{i}", "application/octet-stream", bytes([i % 256]) * size, time.time())


def test_queued_file_bytes_stay_under_the_bound_while_a_healthy_writer_stores_them_all() -> None:
    backend = _session.get_session().backend
    syncer = Syncer(backend, interval=0.05, flush_timeout=60, high_water_bytes=4 * FILE)
    syncer.start()
    syncer.submit(("start", "stream", "tests", "stream", time.time(), None, None))
    largest = 0
    for i in range(48):  # 12 times the bound in all
        syncer.submit_sized(file_op("stream", i, FILE), FILE)
        largest = max(largest, syncer.queued_bytes)
    assert largest <= 4 * FILE + FILE  # the file that crossed the mark
    assert syncer.flush() and syncer.pending == 0 and syncer.queued_bytes == 0
    files = backend.list_files("stream")
    assert [f.name for f in files] == [f"f{i}" for i in range(48)]
    assert backend.read_file(files[-1].id) == bytes([47]) * FILE
    assert syncer.close()


def test_with_the_store_down_files_are_spooled_to_disk_not_kept_in_memory(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a directory")
    db = tmp_path / "afile" / "store.db"  # unusable until the file becomes a directory
    backend = SQLBackend(str(db))
    syncer = Syncer(backend, interval=0.05, flush_timeout=30, high_water_bytes=4 * FILE)
    syncer.start()
    syncer.submit(("start", "down", "tests", "down", time.time(), None, None))
    largest = 0
    for i in range(40):  # 10 times the bound
        syncer.submit_sized(file_op("down", i, FILE), FILE)
        largest = max(largest, syncer.queued_bytes)
    assert largest <= 4 * FILE + FILE and syncer.spooled > 0
    assert not syncer.flush(timeout=0.2)
    db.parent.unlink()
    db.parent.mkdir(exist_ok=True)
    assert syncer.flush(timeout=60) and syncer.pending == 0
    files = backend.list_files("down")
    assert [f.name for f in files] == [f"f{i}" for i in range(40)]
    assert [backend.read_file(f.id) for f in files[:3]] == [bytes([i]) * FILE for i in range(3)]
    assert syncer.close()
    backend.close()


def test_an_outage_that_fills_the_spool_drops_files_but_keeps_the_runs_other_records(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "afile").write_text("not a directory")
    db = tmp_path / "afile" / "store.db"
    backend = SQLBackend(str(db))
    syncer = Syncer(backend, interval=0.05, flush_timeout=30, high_water_bytes=FILE, spool_limit=3 * FILE)
    syncer.start()
    syncer.submit(("start", "full", "tests", "full", time.time(), None, None))
    for i in range(12):  # 12 files into a spool of 3: memory must not keep the rest
        syncer.submit_sized(file_op("full", i, FILE), FILE)
        assert syncer.queued_bytes <= 2 * FILE
    syncer.submit(("end", "full", "completed", time.time()))
    assert not syncer.flush(timeout=0.2)
    assert syncer.dropped > 0 and "files logged from now until it is back are dropped" in caplog.text
    db.parent.unlink()
    db.parent.mkdir(exist_ok=True)
    assert syncer.flush(timeout=60) and syncer.pending == 0
    stored = backend.list_files("full")
    assert 0 < len(stored) == 12 - syncer.dropped
    assert [f.name for f in stored] == [f"f{i}" for i in range(len(stored))]  # the first ones, in order
    record = backend.read_run("full")
    assert record is not None and record.state is sigopt.RunState.COMPLETED
    assert syncer.close()
    backend.close()


def test_a_stream_of_large_files_keeps_the_process_memory_bounded(store: Path) -> None:
    # A real process logs 64 MiB of files, faster than the writer stores them, with the writer's
    # bound lowered to 4 MiB (from 32): the queue is bounded by bytes, so the resident set grows by
    # a few times the bound, not by the 64 MiB logged (with only the operation count bounding the
    # queue, it grew by all that was logged).
    result = run_python(
        """
        import json, os, resource
        import sigopt_ai as sigopt
        from sigopt_ai.runs._session import get_session

        blob = os.urandom(2**20)
        syncer = get_session().syncer
        syncer.high_water_bytes = 4 * 2**20
        largest = 0
        with sigopt.run() as run:
            sigopt.flush()
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            for i in range(64):
                run.log_file(i.to_bytes(4, "big") + blob[4:], name=f"f{i}")
                largest = max(largest, syncer.queued_bytes)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        sizes = [f.size for f in sigopt.list_files(run.id)]
        print(json.dumps({"grew_kib": peak - before, "largest": largest, "count": len(sizes), "total": sum(sizes)}))
        """,
        env={"SIGOPT_AI_DB": str(store), "SIGOPT_AI_FLUSH_INTERVAL": "0.5"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["count"] == 64 and seen["total"] == 64 * MiB
    assert seen["largest"] <= 4 * MiB + MiB  # the bound, and the file that crossed it
    assert seen["grew_kib"] < 32 * 1024, seen
