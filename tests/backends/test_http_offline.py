"""Runs and experiments over a real ``sigopt-ai server`` that goes away: nothing raises into training code,
records wait in the offline journal and arrive once, in order, when the server is back (by themselves or
with ``sigopt-ai sync``); a reply lost after the server applied a batch adds nothing; an experiment loop
waits for its server."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import sigopt_ai as sigopt
from sigopt_ai import StoreError, TransportError, _config
from sigopt_ai._models import Op
from sigopt_ai.backends.http import HTTPBackend, Journal
from sigopt_ai.runs import _session
from sigopt_ai.runs._writer import Syncer
from tests.live_server import LiveServer, sigopt_ai_cli


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of this module's own: its tests stop and kill it (each test leaves it running)."""
    with LiveServer(str(tmp_path_factory.mktemp("offline") / "server.db")) as live:
        yield live


@pytest.fixture(scope="module")
def beta_token(server: LiveServer) -> str:
    """A token of a second client, ``beta``."""
    return server.make_token("beta")


@pytest.fixture
def spool(tmp_path: Path, server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The SDK pointed at ``server`` (running), with a journal of the test's own."""
    server.start()
    path = tmp_path / "spool.db"
    for name, value in {**server.env(), "SIGOPT_AI_SPOOL": str(path)}.items():
        monkeypatch.setenv(name, value)
    yield path
    _session.reset_session()
    _config.update(server_wait=None)
    server.start()


def history(server: LiveServer, run_id: str, name: str) -> list[float]:
    backend = HTTPBackend(server.url, server.token, journal=Path("/nonexistent/never-written.db"))
    try:
        return [p.value for p in backend.metric_history(run_id, name)]
    finally:
        backend.close()


def test_a_run_through_a_server_killed_and_restarted_keeps_every_record_once_in_order(
    server: LiveServer, spool: Path
) -> None:
    with sigopt.create_run(name="through an outage") as run:
        for i in range(10):
            run.log_metric("step", float(i))
        assert sigopt.flush()
        server.kill()
        for i in range(10, 20):
            run.log_metric("step", float(i))
        assert sigopt.flush()  # durable: in the journal
        assert Journal(spool).count() >= 1
        server.start()
        for i in range(20, 30):
            run.log_metric("step", float(i))
    record = sigopt.get_run(run.id)  # a read replays the journal first
    assert record.state is sigopt.RunState.COMPLETED and record.metrics["step"] == 29.0
    assert [p.value for p in sigopt.metric_history(run.id, "step")] == [float(i) for i in range(30)]
    assert Journal(spool).count() == 0


WRITER = """
import sys
import sigopt_ai as sigopt
with sigopt.create_run(name=sys.argv[1]) as run:
    for i in range(60):
        run.log_metric("i", float(i))
        if i % 10 == 9:
            sigopt.flush()
print(run.id)
"""


def test_runs_of_processes_with_the_server_down_finish_and_syncs_at_once_deliver_each_batch_once_in_order(
    server: LiveServer, spool: Path
) -> None:
    server.stop()
    env = {**server.env(), "SIGOPT_AI_SPOOL": str(spool), "SIGOPT_AI_FLUSH_INTERVAL": "0.05"}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, f"w{i}"],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    run_ids = []
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err  # training finished, no exception
        assert "kept in the journal" in err and str(spool) in err and "sigopt-ai sync" in err
        run_ids.append(out.strip())
    kept = Journal(spool).count()
    assert kept >= 12  # each flush made a batch
    unreachable = sigopt_ai_cli("sync", "--spool", str(spool))
    assert unreachable.returncode == 1 and f"{kept} remain" in unreachable.stdout
    server.start()
    syncs = [
        subprocess.Popen(
            [sys.executable, "-c", "from sigopt_ai.cli import main; main()", "sync", "--spool", str(spool)],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for sync in syncs:
        out, err = sync.communicate(timeout=120)
        assert sync.returncode == 0 and "0 remain" in out, err
    assert Journal(spool).count() == 0
    for run_id in run_ids:
        assert history(server, run_id, "i") == [float(i) for i in range(60)]


class LosingProxy:
    """A real HTTP proxy on 127.0.0.1 in front of ``upstream``: it forwards every request, and for the
    first ``drop`` batches closes the connection instead of passing the server's reply on (the reply is
    lost after the server applied the batch)."""

    def __init__(self, upstream: LiveServer, drop: int) -> None:
        self.drop = drop
        self.batch_keys: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                connection = http.client.HTTPConnection("127.0.0.1", upstream.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                connection.request(self.command, self.path, body=body or None, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                connection.close()
                if self.path == "/v1/sigopt_ai/batches":
                    proxy.batch_keys.append(self.headers["Idempotency-Key"])
                    if proxy.drop > 0:
                        proxy.drop -= 1
                        self.close_connection = True
                        return  # applied upstream; the client never hears
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_a_batch_whose_reply_was_lost_is_sent_again_and_applied_once(
    server: LiveServer, spool: Path, tmp_path: Path
) -> None:
    proxy = LosingProxy(server, drop=1)
    backend = HTTPBackend(proxy.url, server.token, journal=tmp_path / "own.db")
    try:
        batch: list[Op] = [("start", "lost-reply", "p", "lost reply", 1.0, None, None)]
        batch += [("metric", "lost-reply", "m", float(i), None, 2.0 + i) for i in range(5)]
        backend.write(batch)
        assert len(proxy.batch_keys) == 2 and len(set(proxy.batch_keys)) == 1  # sent again, under its key
        assert [p.value for p in backend.metric_history("lost-reply", "m")] == [0.0, 1.0, 2.0, 3.0, 4.0]
        assert backend.journal.count() == 0
    finally:
        backend.close()
        proxy.close()


def test_an_experiment_loop_waits_for_its_server_and_spends_the_budget_exactly(
    server: LiveServer, spool: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exp = sigopt.create_experiment(
        name="outage",
        parameters=[dict(name="x", type="double", bounds=dict(min=0, max=1))],
        metrics=[dict(name="y")],
        budget=3,
        type="random",
    )
    restart: threading.Timer | None = None
    for number, run in enumerate(exp.loop(progress=False)):
        with run:
            run.log_metric("y", float(run.params["x"]))  # type: ignore[arg-type]
            if number == 0:
                server.kill()  # the run's end and the next suggestion wait for it
                restart = threading.Timer(1.5, server.start)
                restart.start()
    assert restart is not None
    restart.join()
    assert "is unreachable" in capsys.readouterr().err
    progress = exp.progress
    assert (progress.finished, progress.extra, progress.failed, progress.active) == (3, 0, 0, 0)
    assert sorted(o.values["y"] for o in exp.observations()) == sorted(
        r.metrics["y"] for r in sigopt.list_runs(exp.project) if r.experiment == exp.id
    )


def test_a_worker_interrupted_while_its_server_is_down_stops_and_its_lease_holds(
    server: LiveServer, spool: Path
) -> None:
    # Giving the suggestion back waits at most flush_timeout: Ctrl-C (or SIGTERM) must stop a worker
    # whose server is away, even though experiment calls otherwise wait for it forever.
    exp = sigopt.create_experiment(
        name="interrupted",
        parameters=[dict(name="x", type="double", bounds=dict(min=0, max=1))],
        metrics=[dict(name="y")],
        budget=2,
        type="random",
    )
    sigopt.configure(flush_timeout=1)
    with pytest.raises(KeyboardInterrupt):
        for run in exp.loop(progress=False):
            with run:
                server.kill()
                raise KeyboardInterrupt
    server.start()
    progress = exp.progress
    # Not given back: the lease stays with the interrupted run until it expires, and no budget is spent.
    assert (progress.finished, progress.failed, progress.active) == (0, 0, 1)


def test_an_experiment_call_gives_up_after_server_wait(server: LiveServer, spool: Path) -> None:
    exp = sigopt.create_experiment(
        name="bounded",
        parameters=[dict(name="x", type="double", bounds=dict(min=0, max=1))],
        metrics=[dict(name="y")],
        budget=2,
        type="random",
    )
    server.stop()
    sigopt.configure(server_wait=0.5)
    with pytest.raises(TransportError, match="unreachable"):
        sigopt.get_experiment(exp.id).suggest()


def test_a_journaled_batch_is_the_json_body_it_is_sent_with(spool: Path, server: LiveServer) -> None:
    server.stop()
    backend = HTTPBackend(server.url, server.token, journal=spool)
    backend.write([("start", "j", "p", "j", 1.0, None, None)])
    (entry,) = Journal(spool).entries(server.url)
    assert json.loads(entry.body) == {"ops": [["start", "j", "p", "j", 1.0, None, None]]}
    backend.close()


def test_a_record_the_server_refuses_is_set_aside_and_the_rest_of_its_batch_written(
    server: LiveServer, spool: Path, tmp_path: Path, beta_token: str
) -> None:
    alpha = HTTPBackend(server.url, server.token, journal=tmp_path / "alpha.db")
    alpha.write([("start", "alphas", "p", "alpha's run", 1.0, None, None)])
    beta = HTTPBackend(server.url, beta_token, journal=tmp_path / "beta.db")
    syncer = Syncer(beta, interval=0.05)
    syncer.start()
    for op in [
        ("start", "betas", "p", "beta's run", 1.0, None, None),
        ("metric", "alphas", "m", 1.0, None, 2.0),  # another client's run: 404, a record error
        ("metric", "betas", "m", 2.0, None, 3.0),
    ]:
        syncer.submit(op)
    assert syncer.close(timeout=30)
    assert syncer.dead_letters == 1 and syncer.written == 2
    assert [p.value for p in beta.metric_history("betas", "m")] == [2.0]
    assert alpha.metric_history("alphas", "m") == []
    assert beta.journal.count() == 0
    alpha.close()
    beta.close()


def test_a_journaled_batch_the_server_refuses_is_split_and_only_the_bad_record_set_aside(
    server: LiveServer, spool: Path, tmp_path: Path, beta_token: str
) -> None:
    alpha = HTTPBackend(server.url, server.token, journal=tmp_path / "alpha.db")
    alpha.write([("start", "alphas2", "p", "alpha's run", 1.0, None, None)])
    beta = HTTPBackend(server.url, beta_token, journal=tmp_path / "beta.db")
    server.stop()
    beta.write(
        [
            ("start", "betas2", "p", "beta's run", 1.0, None, None),
            ("metric", "betas2", "m", 1.0, None, 2.0),
            ("metric", "alphas2", "m", 9.0, None, 3.0),  # another client's run: refused once the server is back
            ("metric", "betas2", "m", 2.0, None, 4.0),
        ]
    )
    assert beta.journal.count() == 1
    server.start()
    assert [p.value for p in beta.metric_history("betas2", "m")] == [1.0, 2.0]  # the read replayed the journal
    assert beta.journal.count() == 0 and alpha.metric_history("alphas2", "m") == []
    alpha.close()
    beta.close()


def test_a_forked_child_uses_its_own_connection(server: LiveServer, spool: Path, tmp_path: Path) -> None:
    backend = HTTPBackend(server.url, server.token, journal=tmp_path / "fork.db")
    backend.write([("start", "parent", "p", "parent", 1.0, None, None)])
    pid = os.fork()
    if pid == 0:  # the child: its own connection, the same store
        try:
            backend.after_fork()
            backend.write([("metric", "parent", "m", 1.0, None, 2.0)])
            os._exit(0 if [p.value for p in backend.metric_history("parent", "m")] == [1.0] else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert backend.read_run("parent") is not None  # the parent's connection still works
    backend.close()


def test_a_run_end_sends_the_journal_when_the_server_answers_again(
    server: LiveServer, spool: Path, tmp_path: Path
) -> None:
    # The writer replays the journal at most once per backoff period; a run's end must not leave
    # batches behind for that long (or until the process exits) while the server answers.
    backend = HTTPBackend(server.url, server.token, journal=tmp_path / "own.db")
    try:
        server.stop()
        batch: list[Op] = [("start", "at-end", "p", "at end", 1.0, None, None)]
        batch += [("metric", "at-end", "m", float(i), None, 2.0 + i) for i in range(5)]
        backend.write(batch)
        assert backend.journal.count() == 1
        server.start()
        assert backend.undelivered() is None  # what a run's end and the session's shutdown ask: nothing left
        assert backend.journal.count() == 0
        assert history(server, "at-end", "m") == [0.0, 1.0, 2.0, 3.0, 4.0]
    finally:
        backend.close()


def test_a_batch_the_journal_could_not_take_after_lost_replies_is_sent_again_under_its_key(
    server: LiveServer, spool: Path, tmp_path: Path
) -> None:
    proxy = LosingProxy(server, drop=1_000_000)
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    backend = HTTPBackend(proxy.url, server.token, journal=blocked / "spool.db")
    try:
        batch: list[Op] = [("start", "unsure", "p", "unsure", 1.0, None, None)]
        batch += [("metric", "unsure", "m", float(i), None, 2.0 + i) for i in range(5)]
        with pytest.raises(StoreError):
            backend.write(batch)  # applied upstream, every reply lost, and the journal cannot keep it
        proxy.drop = 0
        backend.write(batch)  # the writer writes the very batch it kept in memory again
        assert len(proxy.batch_keys) >= 2 and len(set(proxy.batch_keys)) == 1
        assert history(server, "unsure", "m") == [0.0, 1.0, 2.0, 3.0, 4.0]
        backend.write(list(batch))  # another batch (equal, not the same) is another key
        assert len(set(proxy.batch_keys)) == 2
    finally:
        backend.close()
        proxy.close()
