"""Real faults between the SDK and a real server: every record of a run arrives, exactly once.

Training code runs in real subprocesses (``import sigopt_ai as sigopt``, nothing else) with
``SIGOPT_API_URL``/``SIGOPT_API_TOKEN`` pointing at a real ``sigopt-ai server`` (``LiveServer``); the
server is killed with SIGKILL, kept down for a whole run, or has one reply lost by a TCP proxy. The
records are then counted in the server's own store.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sigopt_ai import RunState
from sigopt_ai.backends import Backend, make_backend
from tests.live_server import LiveServer
from tests.server.processes import Child, children, sdk_env  # noqa: F401  (children: the fixture)

CHECKPOINT_EVERY = 20
SIGOPT_AI = [sys.executable, "-c", "from sigopt_ai.cli import main; main()"]
"""The ``sigopt-ai`` command, run by this interpreter."""

# A run that logs a point per step (a checkpoint every CHECKPOINT_EVERY steps) until the file named
# by argv[1] exists, or for argv[2] steps when there is no such file ("-"). It prints its id once the
# run has started and its step count when it has ended.
TRAINER = f"""
import json, os, sys, time
import sigopt_ai as sigopt

stop, steps = sys.argv[1], int(sys.argv[2])
with sigopt.create_run(name="faults") as run:
    run.params.update(lr=0.1, depth=3)
    run.log_metadata("dataset", "mnist")
    print(json.dumps({{"run": run.id}}), flush=True)
    step = 0
    while (step < steps) if stop == "-" else not os.path.exists(stop):
        run.log_metric("loss", float(step))
        if step % {CHECKPOINT_EVERY} == 0:
            run.log_checkpoint({{"loss": float(step)}}, step=step)
        step += 1
        time.sleep(0.002)
print(json.dumps({{"steps": step}}), flush=True)
"""


def env_for(server: LiveServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    return sdk_env(server, tmp_path / "spool.db", "faults", **extra)


@contextmanager
def server_store(server: LiveServer) -> Iterator[Backend]:
    """The server's own database, opened directly: what arrived, whatever the HTTP layer says."""
    backend = make_backend(server.db)
    try:
        yield backend
    finally:
        backend.close()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.05)


def assert_whole_run(store: Backend, run_id: str, steps: int) -> None:
    """Every record the trainer made is stored, and none twice."""
    points = store.metric_history(run_id, "loss")
    assert [p.value for p in points] == [float(s) for s in range(steps)], "a metric point is missing or doubled"
    record = store.read_run(run_id)
    assert record is not None
    assert [c.step for c in record.checkpoints] == list(range(0, steps, CHECKPOINT_EVERY))
    assert all(dict(c.values) == {"loss": float(c.step)} for c in record.checkpoints)
    assert dict(record.params) == {"lr": 0.1, "depth": 3}
    assert record.metadata.get("dataset") == "mnist"
    assert record.metrics["loss"] == float(steps - 1)
    assert record.state is RunState.COMPLETED and record.ended is not None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    """A server of this test's own over a fresh SQLite store: the tests kill it."""
    with LiveServer(str(tmp_path / "server.db")) as live:
        yield live


def test_server_killed_mid_run_and_restarted_gets_every_record_exactly_once(
    server: LiveServer,
    tmp_path: Path,
    children: Callable[..., Child],  # noqa: F811
) -> None:
    stop = tmp_path / "stop"
    trainer = children(TRAINER, [str(stop), "0"], env_for(server, tmp_path))
    run_id = trainer.next()["run"]
    with server_store(server) as store:
        wait_until(lambda: len(store.metric_history(run_id, "loss")) >= 30, "points reach the server")
        server.kill()  # SIGKILL, in the middle of the stream of batches
        time.sleep(1.0)  # the trainer goes on logging while the server is down
        server.start()  # same port, same database
        before = len(store.metric_history(run_id, "loss"))
        # The journal is replayed at the writer's next try, after a backoff that grew while the server was down.
        wait_until(lambda: len(store.metric_history(run_id, "loss")) > before, "points flow again", timeout=90)
        stop.touch()
        steps = trainer.next()["steps"]
        trainer.finish()
        assert steps > before
        assert_whole_run(store, run_id, steps)


def test_server_down_for_a_whole_run_then_sync_uploads_every_record(
    server: LiveServer,
    tmp_path: Path,
    children: Callable[..., Child],  # noqa: F811
) -> None:
    server.kill()
    steps = 500
    env = env_for(server, tmp_path, SIGOPT_AI_FLUSH_TIMEOUT="2")
    trainer = children(TRAINER, ["-", str(steps)], env)
    run_id = trainer.next()["run"]
    assert trainer.next()["steps"] == steps
    err = trainer.finish()
    assert "journal" in err and "sigopt-ai sync" in err, f"stderr does not say where the records are:\n{err}"
    assert (tmp_path / "spool.db").exists()

    server.start()
    with server_store(server) as store:
        assert store.read_run(run_id) is None, "a record reached a server that was down"
        sync = [*SIGOPT_AI, "sync", "--spool", str(tmp_path / "spool.db")]
        for _ in range(2):  # a second sync finds nothing left to send, and doubles nothing
            done = subprocess.run(sync, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stdout + done.stderr
            assert_whole_run(store, run_id, steps)


class ReplyDroppingProxy:
    """A TCP proxy on 127.0.0.1 in front of a server that forwards every byte both ways, except the
    server's reply to the first batch of metric points: it reads that reply (so the server has
    applied the batch) and closes the client's connection instead of passing it on."""

    def __init__(self, upstream_port: int) -> None:
        self._upstream = ("127.0.0.1", upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._armed = True
        self.dropped: list[tuple[bytes, bytes]] = []
        """(request, first bytes of the reply) of each reply dropped."""
        self.batches: list[bytes] = []
        """Every batch request that reached the server, in order."""
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self._upstream)
        sent = bytearray()  # what the client sent since the server's last reply: the request
        threading.Thread(target=self._forward_requests, args=(client, upstream, sent), daemon=True).start()
        with client, upstream:
            while data := self._recv(upstream):
                with self._lock:
                    request = bytes(sent)
                    sent.clear()
                    if request.startswith(b"POST /v1/sigopt_ai/batches"):
                        self.batches.append(request)
                    drop = self._armed and request.startswith(b"POST /v1/sigopt_ai/batches") and b'"metric"' in request
                    if drop:
                        self._armed = False
                        self.dropped.append((request, data[:200]))
                if drop:  # the reply is lost: the client sees its connection closed without an answer
                    client.shutdown(socket.SHUT_RDWR)  # (close alone would wait for the thread reading it)
                    return
                client.sendall(data)

    def _forward_requests(self, client: socket.socket, upstream: socket.socket, sent: bytearray) -> None:
        while data := self._recv(client):
            with self._lock:
                sent.extend(data)  # recorded before it is sent, so a reply always finds its request
            try:
                upstream.sendall(data)
            except OSError:
                return
        try:
            upstream.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    @staticmethod
    def _recv(sock: socket.socket) -> bytes:
        try:
            return sock.recv(65536)
        except OSError:
            return b""


def idempotency_key(request: bytes) -> str:
    head = request.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "idempotency-key":
            return value.strip()
    return ""


def test_a_batch_whose_reply_is_lost_is_sent_again_and_applied_once(
    server: LiveServer,
    tmp_path: Path,
    children: Callable[..., Child],  # noqa: F811
) -> None:
    proxy = ReplyDroppingProxy(server.port)
    steps = 300
    try:
        trainer = children(TRAINER, ["-", str(steps)], env_for(server, tmp_path, SIGOPT_API_URL=proxy.url))
        run_id = trainer.next()["run"]
        assert trainer.next()["steps"] == steps
        trainer.finish()
    finally:
        proxy.close()
    assert len(proxy.dropped) == 1, "no batch reply was dropped: the fault did not happen"
    request, reply = proxy.dropped[0]
    assert reply.startswith(b"HTTP/1.1 200"), f"the server did not apply the dropped batch: {reply!r}"
    key = idempotency_key(request)
    assert key, "a batch was sent without an Idempotency-Key header"
    assert [idempotency_key(r) for r in proxy.batches].count(key) >= 2, (
        "the batch whose reply was lost was not sent again"
    )
    with server_store(server) as store:
        assert_whole_run(store, run_id, steps)


SETUP_EXPERIMENT = """
import sigopt_ai as sigopt
exp = sigopt.create_experiment(
    name="waits",
    parameters=[dict(name="x", type="double", bounds=dict(min=0, max=1))],
    metrics=[dict(name="y", objective="minimize")],
    budget=3,
    type="random",
    lease_timeout=60,
)
print(exp.id, flush=True)
"""

LOOP = """
import json, sys, time
import sigopt_ai as sigopt

exp = sigopt.get_experiment(sys.argv[1])
for run in exp.loop(progress=False):
    with run:
        print(json.dumps({"start": run.id}), flush=True)
        time.sleep(0.3)
        run.log_metric("y", run.params.x)
print(json.dumps({"done": True}), flush=True)
"""


def test_an_experiment_loop_waits_for_its_server_and_spends_no_extra_budget(
    server: LiveServer,
    tmp_path: Path,
    children: Callable[..., Child],  # noqa: F811
) -> None:
    env = env_for(server, tmp_path)
    setup = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SETUP_EXPERIMENT)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert setup.returncode == 0, setup.stderr
    experiment = setup.stdout.strip()
    loop = children(LOOP, [experiment], env)
    first = loop.next()["start"]
    second = loop.next()["start"]
    server.kill()  # inside the second run: its end, its observation and the next serve meet a dead server
    time.sleep(1.5)
    assert loop.proc.poll() is None, "the loop gave up while its server was down"
    server.start()
    third = loop.next()["start"]
    assert loop.next() == {"done": True}
    err = loop.finish()
    assert err.count("is unreachable") == 1, f"the loop did not say once that it waits for its server:\n{err}"

    with server_store(server) as store:
        progress = store.progress(experiment)
        assert progress is not None
        assert (progress.finished, progress.failed, progress.active, progress.extra) == (3, 0, 0, 0)
        observations = store.observations(experiment)
        assert sorted(o.run or "" for o in observations) == sorted([first, second, third])
        assert not any(o.failed or o.extra for o in observations)
        suggestions = [store.get_suggestion(experiment, o.suggestion or "") for o in observations]
        assert [s.serve_count if s else None for s in suggestions] == [1, 1, 1], "a suggestion was served again"
        runs = store.list_runs(experiment=experiment)
        assert sorted(r.id for r in runs) == sorted([first, second, third])
        assert all(r.state is RunState.COMPLETED for r in runs)
