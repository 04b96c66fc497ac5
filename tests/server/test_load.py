"""16 experiment workers in separate processes, 2 server processes over one PostgreSQL, one worker killed.

Each worker is a real ``sigopt_ai`` experiment loop talking to one of two ``sigopt-ai server``
processes (stateless, sharing one database). One worker is killed with SIGKILL in the middle of a
run; its lease expires and its suggestion is served again. The store is then read directly: the
budget is exact, no suggestion was held by two live runs, and no run that started is missing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sigopt_ai import FailureKind, RunState
from sigopt_ai.backends import make_backend
from tests.live_server import LiveServer
from tests.server.processes import Child, children, sdk_env  # noqa: F401  (children: the fixture)

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


def drive(workers: list[Child]) -> tuple[int, dict[int, list[str]]]:
    """Follow the workers; SIGKILL one inside a run once a third of the budget has started.

    Returns the killed worker and the runs each worker announced.
    """
    started: dict[int, list[str]] = defaultdict(list)
    victim = -1
    running = set(range(len(workers)))
    deadline = time.monotonic() + 240
    while running and time.monotonic() < deadline:
        time.sleep(0.02)
        for index in sorted(running):
            for event in workers[index].ready():
                if "exit" in event:
                    running.discard(index)
                elif "start" in event:
                    started[index].append(event["start"])
                    if victim < 0 and sum(map(len, started.values())) >= BUDGET // 3:
                        victim = index
                        os.kill(workers[index].proc.pid, signal.SIGKILL)  # 0.2 s or more before its run ends
    assert not running, f"workers {sorted(running)} did not finish"
    return victim, started


@pytest.fixture
def two_servers(postgres_url: str) -> Iterator[list[LiveServer]]:
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
    two_servers: list[LiveServer],
    postgres_url: str,
    tmp_path: Path,
    children: Callable[..., Child],  # noqa: F811
) -> None:
    def env(index: int) -> dict[str, str]:
        return sdk_env(two_servers[index % 2], tmp_path / f"spool-{index}.db", "load")

    setup = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SETUP)],
        env=env(0),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert setup.returncode == 0, setup.stderr
    experiment = setup.stdout.strip()
    workers = [children(WORKER, [experiment, str(i)], env(i)) for i in range(WORKERS)]
    victim, started = drive(workers)
    assert victim >= 0, "no worker was killed"
    for i, worker in enumerate(workers):
        if i != victim:
            worker.finish()

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
