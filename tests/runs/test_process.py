"""Real subprocesses: SIGTERM, kill -9, a normal exit and an uncaught exception, then what survived."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import sigopt_ai as sigopt
from tests.conftest import run_python, spawn_python

K = sigopt.FailureKind


def child_env(db: Path, interval: str = "0.2") -> dict[str, str]:
    return {"SIGOPT_AI_DB": str(db), "SIGOPT_AI_FLUSH_INTERVAL": interval, "SIGOPT_PROJECT": "proc"}


TRAINING_LOOP = """
    import time, sigopt_ai as sigopt
    with sigopt.run(name="victim") as run:
        print(run.id, flush=True)
        i = 0
        while True:
            i += 1
            sigopt.log_metric("t", time.time())
            sigopt.log_metric("i", i)
            time.sleep(0.001)
"""


def wait_for_line(proc) -> str:  # type: ignore[no-untyped-def]
    line = proc.stdout.readline().strip()
    assert line, proc.stderr.read()
    return line


def test_sigterm_fails_the_run_as_interrupted_and_flushes(store: Path) -> None:
    proc = spawn_python(TRAINING_LOOP, env=child_env(store))
    run_id = wait_for_line(proc)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert "Terminated" in stderr
    record = sigopt.get_run(run_id)
    assert record.state is sigopt.RunState.FAILED
    assert record.failure is not None and record.failure.kind is K.INTERRUPTED and record.failure.retryable
    assert record.failure.type == "sigopt_ai._exceptions.Terminated"
    assert record.metrics["i"] > 10  # everything up to the signal was flushed at exit


def test_sigterm_outside_a_run_kills_as_usual(store: Path) -> None:
    proc = spawn_python(
        """
        import time, sigopt_ai as sigopt
        with sigopt.run():
            pass
        print("ready", flush=True)
        time.sleep(30)
        """,
        env=child_env(store),
    )
    assert wait_for_line(proc) == "ready"
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGTERM


def test_kill_9_loses_at_most_the_last_flush_interval(store: Path) -> None:
    interval = 0.2
    proc = spawn_python(TRAINING_LOOP, env=child_env(store, str(interval)))
    run_id = wait_for_line(proc)
    time.sleep(1.5)
    killed_at = time.time()
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    record = sigopt.get_run(run_id)
    assert record.state is sigopt.RunState.ACTIVE  # nobody could end it
    assert record.name == "victim" and record.sys_metadata["pid"] == proc.pid
    last_durable = record.metrics["t"]
    # What was logged more than one flush interval (plus a commit's worth of slack) before the kill survived.
    assert last_durable >= killed_at - (interval + 0.3), killed_at - last_durable
    assert record.metrics["i"] > 100


def test_normal_exit_flushes_and_ends_open_runs(store: Path) -> None:
    result = run_python(
        """
        import sigopt_ai as sigopt
        run = sigopt.create_run(name="never-ended")
        for i in range(20_000):
            run.log_metric("loss", 1 / (i + 1))
        print(run.id)
        """,
        env=child_env(store, "1.0"),
    )
    assert result.returncode == 0, result.stderr
    record = sigopt.get_run(result.stdout.strip())
    assert record.state is sigopt.RunState.COMPLETED
    assert record.metrics["loss"] == 1 / 20_000


def test_uncaught_exception_fails_open_runs(store: Path) -> None:
    result = run_python(
        """
        import sigopt_ai as sigopt
        run = sigopt.create_run(name="crashes")
        print(run.id, flush=True)
        run.log_metric("loss", 0.5)
        raise MemoryError("simulated")
        """,
        env=child_env(store),
    )
    assert result.returncode == 1 and "MemoryError" in result.stderr
    record = sigopt.get_run(result.stdout.strip())
    assert record.state is sigopt.RunState.FAILED
    assert record.failure is not None and record.failure.kind is K.OOM
    assert record.metrics == {"loss": 0.5}


def test_processes_share_one_store(store: Path) -> None:
    code = """
        import sigopt_ai as sigopt
        for i in range(5):
            with sigopt.run(name="w") as run:
                for j in range(200):
                    run.log_metric("j", j)
    """
    procs = [spawn_python(code, env=child_env(store)) for _ in range(3)]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    records = sigopt.list_runs(project="proc")
    assert len(records) == 15
    assert all(r.state is sigopt.RunState.COMPLETED and r.metrics == {"j": 199.0} for r in records)
