"""The SDK's run files through a live server: log_image and log_file from a run, list_files and read_file
back over HTTP, files at the size limit (one request body each), and files that survive a ``kill -9``."""

from __future__ import annotations

import io
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import sigopt_ai as sigopt
from sigopt_ai._checks import MAX_FILE_BYTES
from sigopt_ai.runs import _session
from tests.conftest import spawn_python
from tests.live_server import LiveServer


@pytest.fixture
def through_server(live_server: LiveServer, tmp_path: Path) -> Iterator[LiveServer]:
    """The SDK stores runs in ``live_server`` for the test."""
    sigopt.configure(api_url=live_server.url, api_token=live_server.token, spool=tmp_path / "journal.db")
    yield live_server
    _session.reset_session()
    sigopt.configure(api_url="")


def test_images_and_files_are_stored_and_read_back_through_the_server(
    through_server: LiveServer, tmp_path: Path
) -> None:
    path = tmp_path / "chart.svg"
    path.write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg"/>')
    with sigopt.run(name="files over http") as run:
        array_id = run.log_image(np.arange(12, dtype=np.uint8).reshape(3, 4), name="ramp")
        svg_id = sigopt.log_image(str(path))
        text_id = run.log_file(b"epoch 1\n", name="stdout", content_type="text/plain; charset=utf-8")
    assert array_id is not None and svg_id is not None
    files = sigopt.list_files(run.id)
    assert [(f.id, f.name, f.content_type) for f in files] == [
        (array_id, "ramp", "image/png"),
        (svg_id, "chart.svg", "image/svg+xml"),
        (text_id, "stdout", "text/plain; charset=utf-8"),
    ]
    ramp = Image.open(io.BytesIO(sigopt.read_file(array_id)))
    assert ramp.format == "PNG" and np.asarray(ramp).tolist() == np.arange(12).reshape(3, 4).tolist()
    assert sigopt.read_file(svg_id) == path.read_bytes()
    assert sigopt.read_file(text_id) == b"epoch 1\n"
    assert all(f.size == len(sigopt.read_file(f.id)) for f in files)
    with pytest.raises(sigopt.ValidationError, match="There is no file with id 'nope'"):
        sigopt.read_file("nope")


def test_files_at_the_size_limit_all_reach_the_server(through_server: LiveServer) -> None:
    # Three files of 4 MiB logged back to back: together they are past the server's request body
    # limit (8 MiB), and none may be lost or set aside.
    blobs = [bytes([i]) * MAX_FILE_BYTES for i in range(3)]
    with sigopt.run() as run:
        ids = [run.log_file(blob, name=f"part{i}") for i, blob in enumerate(blobs)]
        run.log_metric("after", 1.0)
    assert [f.id for f in sigopt.list_files(run.id)] == ids
    assert [sigopt.read_file(file_id) for file_id in ids] == blobs
    assert _session.get_session().syncer.dead_letters == 0
    assert sigopt.get_run(run.id).metrics == {"after": 1.0}


def test_files_flushed_through_the_server_survive_a_kill_9(live_server: LiveServer, tmp_path: Path) -> None:
    proc = spawn_python(
        """
        import time, sigopt_ai as sigopt
        run = sigopt.create_run(name="victim")
        run.log_file(bytes(range(256)) * 1024, name="weights.bin")
        assert sigopt.flush()
        print(run.id, flush=True)
        time.sleep(60)
        """,
        env={**live_server.env(), "SIGOPT_AI_SPOOL": str(tmp_path / "child.db"), "SIGOPT_PROJECT": "files-sdk"},
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    assert run_id, proc.stderr.read() if proc.stderr else ""
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    sigopt.configure(api_url=live_server.url, api_token=live_server.token, spool=tmp_path / "reader.db")
    try:
        files = sigopt.list_files(run_id)
        assert [f.name for f in files] == ["weights.bin"]
        assert sigopt.read_file(files[0].id) == bytes(range(256)) * 1024
    finally:
        _session.reset_session()
        sigopt.configure(api_url="")
