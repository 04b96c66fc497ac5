"""Runs still open when the interpreter exits: a clean exit completes them, a crash never does."""

from __future__ import annotations

from pathlib import Path

import sigopt_ai as sigopt
from tests.conftest import run_python


def child_env(db: Path) -> dict[str, str]:
    return {"SIGOPT_AI_DB": str(db), "SIGOPT_AI_FLUSH_INTERVAL": "0.1", "SIGOPT_PROJECT": "exit"}


def test_an_uncaught_exception_fails_open_runs_even_under_another_excepthook(store: Path) -> None:
    result = run_python(
        """
        import sys, threading, time, sigopt_ai as sigopt
        run = sigopt.create_run(name="never-ended")
        run.log_metric("loss", 0.5)
        started = threading.Event()

        def work():
            with sigopt.run(name="background") as bg:
                print(bg.id, flush=True)
                started.set()
                while True:
                    bg.log_metric("step", 1)
                    time.sleep(0.01)

        threading.Thread(target=work, daemon=True).start()
        started.wait()
        print(run.id, flush=True)
        # A tool that shows tracebacks its own way, without calling the hook it replaces.
        sys.excepthook = lambda kind, exc, tb: print("custom hook:", kind.__name__, file=sys.stderr)
        raise MemoryError("simulated")
        """,
        env=child_env(store),
    )
    assert result.returncode == 1 and "custom hook: MemoryError" in result.stderr
    for run_id in result.stdout.split():
        record = sigopt.get_run(run_id)
        assert record.state is sigopt.RunState.FAILED, record
        assert record.failure is not None and record.failure.kind is sigopt.FailureKind.OOM
    assert sigopt.get_run(result.stdout.split()[1]).metrics == {"loss": 0.5}
