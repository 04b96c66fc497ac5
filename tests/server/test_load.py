"""16 experiment workers in separate processes, 2 server processes over one PostgreSQL, one worker killed.

Each worker is a real ``sigopt_ai`` experiment loop talking to one of two ``sigopt-ai server``
processes (stateless, sharing one database). One worker is killed with SIGKILL in the middle of a
run; its lease expires and its suggestion is served again. The store is then read directly: the
budget is exact, no suggestion was held by two live runs, and no run that started is missing.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from sigopt_ai import FailureKind, RunState
from sigopt_ai.backends import make_backend
from tests.live_server import LiveServer

WORKERS = 16
BUDGET = 32
LEASE_S = 2.0

SETUP = f"""
import sigopt_ai as sigopt
exp = sigopt.create_experiment(
    name="load",
    parameters=[dict(name="x", type="double", bounds=dict(min=0, max=1))],
    metrics=[dict(name="loss", objective="minimize")],
    budget={BUDGET},
    type="random",
    lease_timeout={LEASE_S},
)
print(exp.id, flush=True)
"""

# The run's start is flushed before it is announced: a worker killed after that has a run the
# store must keep.
WORKER = """
import json, random, sys, time
import sigopt_ai as sigopt

exp = sigopt.get_experiment(sys.argv[1])
pace = random.Random(int(sys.argv[2]))
for run in exp.loop(progress=False):
    with run:
        sigopt.flush()
        print(json.dumps({"start": run.id}), flush=True)
        time.sleep(pace.uniform(0.2, 0.4))
        run.log_metric("loss", (run.params.x - 0.3) ** 2)
    print(json.dumps({"end": run.id}), flush=True)
"""


def worker_env(server: LiveServer, tmp_path: Path, index: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGOPT_AI_", "SIGOPT_API_"))}
    return {
        **env,
        **server.env(),
        "SIGOPT_AI_SPOOL": str(tmp_path / f"spool-{index}.db"),
        "SIGOPT_AI_FLUSH_INTERVAL": "0.1",
        "SIGOPT_PROJECT": "load",
    }


def spawn(code: str, args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-u", "-c", textwrap.dedent(code), *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def pump(index: int, proc: subprocess.Popen[str], events: queue.Queue[tuple[int, dict[str, Any]]]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("{"):
            events.put((index, json.loads(line)))
    events.put((index, {"exit": True}))


def drive(procs: list[subprocess.Popen[str]]) -> tuple[int, dict[int, list[str]]]:
    """Follow the workers; SIGKILL one inside a run once a third of the budget has started.

    Returns the killed worker and the runs each worker announced.
    """
    events: queue.Queue[tuple[int, dict[str, Any]]] = queue.Queue()
    for i, proc in enumerate(procs):
        threading.Thread(target=pump, args=(i, proc, events), daemon=True).start()
    started: dict[int, list[str]] = defaultdict(list)
    victim = -1
    running = len(procs)
    deadline = time.monotonic() + 240
    while running and time.monotonic() < deadline:
        try:
            index, event = events.get(timeout=1.0)
        except queue.Empty:
            continue
        if "exit" in event:
            running -= 1
        elif "start" in event:
            started[index].append(event["start"])
            if victim < 0 and sum(map(len, started.values())) >= BUDGET // 3:
                victim = index
                os.kill(procs[index].pid, signal.SIGKILL)  # its run started and is 0.2 s from its end
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
    assert running == 0, "the workers did not finish"
    return victim, started


@pytest.fixture
def two_servers(postgres_url: str) -> Any:
    """Two ``sigopt-ai server`` processes on different ports over one PostgreSQL database."""
    servers = [LiveServer(postgres_url), LiveServer(postgres_url)]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.mark.slow
def test_sixteen_workers_two_servers_one_killed_keep_the_budget_exact(
    two_servers: list[LiveServer], postgres_url: str, tmp_path: Path
) -> None:
    setup = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SETUP)],
        env=worker_env(two_servers[0], tmp_path, -1),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert setup.returncode == 0, setup.stderr
    experiment = setup.stdout.strip()
    procs = [
        spawn(WORKER, [experiment, str(i)], worker_env(two_servers[i % 2], tmp_path, i), tmp_path)
        for i in range(WORKERS)
    ]
    victim, started = drive(procs)
    assert victim >= 0, "no worker was killed"
    for i, proc in enumerate(procs):
        _, err = proc.communicate(timeout=30)
        if i != victim:
            assert proc.returncode == 0 and "Traceback" not in err, f"worker {i}:\n{err[-3000:]}"

    store = make_backend(postgres_url)
    try:
        progress = store.progress(experiment)
        observations = store.observations(experiment)
        runs = {r.id: r for r in store.list_runs(experiment=experiment)}
    finally:
        store.close()
    assert progress is not None
    assert (progress.finished, progress.active, progress.remaining) == (BUDGET, 0, 0), progress
    counted = [o for o in observations if not o.extra]
    assert len(counted) == BUDGET and len({o.suggestion for o in counted}) == BUDGET, "the budget is not exact"

    killed = started[victim][-1]
    announced = {run for runs_of in started.values() for run in runs_of}
    assert announced <= set(runs), f"runs that started are missing from the store: {announced - set(runs)}"
    observed = {o.run for o in observations}
    for run_id, record in runs.items():
        if run_id == killed:
            assert record.state is RunState.FAILED and record.failure is not None
            assert record.failure.kind is FailureKind.INFRASTRUCTURE, record.failure
        else:
            assert record.state is RunState.COMPLETED and run_id in observed, f"run {run_id} was dropped"

    # A suggestion goes to a second run only once the first's worker is dead: the killed run's.
    by_suggestion: dict[str | None, list[str]] = defaultdict(list)
    for record in sorted(runs.values(), key=lambda r: r.created):
        by_suggestion[record.suggestion].append(record.id)
    served_again = {s: chain for s, chain in by_suggestion.items() if len(chain) > 1}
    assert list(served_again) == [runs[killed].suggestion], f"a suggestion was served to two live runs: {served_again}"
    first, second = served_again[runs[killed].suggestion]
    assert first == killed and runs[second].state is RunState.COMPLETED
