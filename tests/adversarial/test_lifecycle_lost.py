"""A run whose process was killed (kill -9) is shown as lost once its lease passes, never before."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import sigopt_ai as sigopt
from sigopt_ai.cli import main
from tests.conftest import spawn_python

VICTIM = """
    import time, sigopt_ai as sigopt
    with sigopt.run(name="victim") as run:
        run.log_metric("loss", 0.5)
        print(run.id, flush=True)
        while True:
            time.sleep(0.01)
"""


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), env={"COLUMNS": "200"})


def wait_until_lost(run_id: str, timeout: float = 20.0) -> sigopt.RunRecord:
    deadline = time.monotonic() + timeout
    while True:
        record = sigopt.get_run(run_id)
        if record.lost or time.monotonic() > deadline:
            return record
        time.sleep(0.2)


def test_a_killed_run_is_shown_lost_by_the_cli(store: Path) -> None:
    env = {"SIGOPT_AI_DB": str(store), "SIGOPT_AI_FLUSH_INTERVAL": "0.1", "SIGOPT_AI_LOST_AFTER": "2"}
    proc = spawn_python(VICTIM, env=env)
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    assert run_id, proc.communicate(timeout=30)
    try:
        time.sleep(0.5)
        alive = sigopt.get_run(run_id)
        assert alive.state is sigopt.RunState.ACTIVE and not alive.lost  # heartbeats keep a live run
        assert alive.sys_metadata["lost_after"] == 2.0
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)

    record = wait_until_lost(run_id)
    assert record.lost and record.state is sigopt.RunState.ACTIVE
    assert record.metrics == {"loss": 0.5}
    listed = invoke("runs", "list")
    assert listed.exit_code == 0, listed.output
    assert "active (lost)" in listed.output
    shown = invoke("runs", "show", run_id)
    assert shown.exit_code == 0, shown.output
    assert "active (lost)" in shown.output and "no heartbeat for" in shown.output


def test_ended_and_live_runs_are_never_lost() -> None:
    with sigopt.run(name="live") as live:
        assert not sigopt.get_run(live.id).lost
        with pytest.raises(MemoryError), sigopt.run(name="failed"):
            raise MemoryError
    records = {r.name: r for r in sigopt.list_runs()}
    assert not records["live"].lost and not records["failed"].lost
    listed = invoke("runs", "list")
    assert "lost" not in listed.output


@pytest.mark.parametrize("value", ["0", "0.5", "-3", "abc", "nan", "inf", "1e9", ""])
def test_lost_after_setting_is_validated(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGOPT_AI_LOST_AFTER", value)
    with pytest.raises(sigopt.ConfigError, match="SIGOPT_AI_LOST_AFTER must be a number of seconds from 1 to 86400"):
        sigopt.run().__enter__()
    assert sigopt.list_runs() == []  # nothing was started
