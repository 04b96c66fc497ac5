"""SIGTERM in every run style, in real subprocesses killed while the run is active.

Each child logs a counter as fast as it can and prints, when the run unwinds, the last value it
logged. After SIGTERM the run must be ``failed`` with kind ``interrupted``, that last value and every
one before it must be stored, and the process must die by the signal (exit status -15, 143 in a
shell) without hanging.
"""

from __future__ import annotations

import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

import sigopt_ai as sigopt
from tests.conftest import spawn_python

# A child prints "run <id>" for each run once it has logged a little, and "logged <id> <n>" when the
# run unwinds (from a finally block, so the signal's exception is not caught).
TRAIN = """
import asyncio, sys, threading, time
import sigopt_ai as sigopt

def train(run):
    logged = 0
    try:
        while True:
            run.log_metric("i", logged + 1)
            logged += 1
            if logged == 20:
                print("run", run.id, flush=True)
            time.sleep(0.001)
    finally:
        print("logged", run.id, logged, flush=True)

async def train_async(run, pause=0.001):
    logged = 0
    try:
        while True:
            run.log_metric("i", logged + 1)
            logged += 1
            if logged == 20:
                print("run", run.id, flush=True)
            await asyncio.sleep(pause)
    finally:
        print("logged", run.id, logged, flush=True)
"""

STYLES = {
    "with": """
        with sigopt.run(name="with") as run:
            train(run)
    """,
    "decorated": """
        @sigopt.run(name="decorated")
        def job(lr=0.1):
            train(sigopt.current_run())
        job()
    """,
    "async_with": """
        async def main():
            async with sigopt.run(name="async-with") as run:
                await train_async(run)
        asyncio.run(main())
    """,
    "async_decorated": """
        @sigopt.run(name="async-decorated")
        async def job(lr=0.1):
            await train_async(sigopt.current_run())
        asyncio.run(job())
    """,
    # The signal lands while a child task (which inherits the run) executes, not in the event loop.
    "async_child_task": """
        async def main():
            async with sigopt.run(name="async-child") as run:
                await asyncio.gather(train_async(run, pause=0))
        asyncio.run(main())
    """,
    "create_run": """
        run = sigopt.create_run(name="created")
        train(run)
        run.end()
    """,
    "thread": """
        def work():
            with sigopt.run(name="threaded") as run:
                train(run)
        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
    """,
    "thread_main_done": """
        def work():
            with sigopt.run(name="threaded") as run:
                train(run)
        threading.Thread(target=work).start()  # the main thread's code ends here
    """,
    "nested": """
        with sigopt.run(name="outer") as outer:
            outer.log_metric("i", 1)
            try:
                with sigopt.run(name="inner") as inner:
                    train(inner)
            finally:
                print("logged", outer.id, 1, flush=True)
    """,
}


def child_env(db: Path) -> dict[str, str]:
    return {"SIGOPT_AI_DB": str(db), "SIGOPT_AI_FLUSH_INTERVAL": "0.1", "SIGOPT_PROJECT": "sigterm"}


def terminate(code: str, db: Path, runs: int = 1) -> tuple[subprocess.Popen[str], dict[str, int]]:
    """Start ``code``, SIGTERM it once ``runs`` runs are logging, and return the last value each logged."""
    proc = spawn_python(TRAIN + textwrap.dedent(code), env=child_env(db))
    assert proc.stdout is not None
    for _ in range(runs):
        line = proc.stdout.readline()
        if not line.startswith("run "):
            proc.kill()
            pytest.fail(f"the child did not start its run: {line!r} {proc.communicate(timeout=30)}")
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    logged = {}
    for line in out.splitlines():
        if line.startswith("logged "):
            _, run_id, count = line.split()
            logged[run_id] = int(count)
    assert proc.returncode == -signal.SIGTERM, err
    assert "Terminated" in err
    return proc, logged


def assert_interrupted_and_stored(logged: dict[str, int]) -> None:
    for run_id, count in logged.items():
        record = sigopt.get_run(run_id)
        assert record.state is sigopt.RunState.FAILED, record
        assert record.failure is not None and record.failure.kind is sigopt.FailureKind.INTERRUPTED
        assert record.metrics["i"] == count
        assert [p.value for p in sigopt.metric_history(run_id, "i")][-count:] == list(range(1, count + 1))


@pytest.mark.parametrize("style", sorted(STYLES))
def test_sigterm_ends_every_run_style_interrupted_with_everything_logged(style: str, store: Path) -> None:
    _, logged = terminate(STYLES[style], store)
    assert len(logged) == (2 if style == "nested" else 1)
    assert_interrupted_and_stored(logged)


def test_sigterm_in_an_experiment_loop_gives_the_suggestion_back(store: Path) -> None:
    exp = sigopt.create_experiment(
        name="sigterm",
        parameters=[{"name": "x", "type": "double", "bounds": {"min": 0, "max": 1}}],
        metrics=[{"name": "i", "objective": "maximize"}],
        budget=3,
    )
    code = f"""
        exp = sigopt.get_experiment({exp.id!r})
        for run in exp.loop(progress=False):
            with run:
                train(run)
    """
    _, logged = terminate(code, store)
    assert_interrupted_and_stored(logged)
    (run_id,) = logged
    record = sigopt.get_run(run_id)
    assert exp.progress.active == 0 and exp.progress.finished == 0  # the budget was not spent
    assert exp.suggest().id == record.suggestion  # served again


def test_code_that_catches_sigterm_can_still_log_and_exit_its_own_way(store: Path) -> None:
    code = """
        with sigopt.run(name="graceful") as run:
            try:
                train(run)
            except sigopt.Terminated:
                run.log_metadata("shutdown", "checkpoint saved")
        print("exited cleanly", flush=True)
    """
    proc = spawn_python(TRAIN + textwrap.dedent(code), env=child_env(store))
    assert proc.stdout is not None
    run_id = proc.stdout.readline().split()[1]
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "exited cleanly" in out, err  # the exit is the program's choice
    record = sigopt.get_run(run_id)
    assert record.metadata == {"shutdown": "checkpoint saved"}
    assert record.failure is not None and record.failure.kind is sigopt.FailureKind.INTERRUPTED
    assert record.failure.traceback is not None and "in train" in record.failure.traceback  # where it stopped
