"""Parallel workers in real processes on one SQLite file: exact budget, leases, kill -9."""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from pathlib import Path

import sigopt_ai as sigopt
from tests.conftest import spawn_python


def child_env(db: Path) -> dict[str, str]:
    return {"SIGOPT_AI_DB": str(db), "SIGOPT_AI_FLUSH_INTERVAL": "0.1", "SIGOPT_PROJECT": "workers"}


def create(budget: int, lease_timeout: float = 60.0) -> sigopt.Experiment:
    return sigopt.create_experiment(
        name="parallel",
        parameters=[
            dict(name="x", type="double", bounds=dict(min=0, max=1)),
            dict(name="n", type="int", bounds=dict(min=1, max=100)),
        ],
        metrics=[dict(name="y", objective="minimize")],
        budget=budget,
        parallel_bandwidth=4,
        lease_timeout=lease_timeout,
        type="random",
    )


WORKER = """
    import json, sys, time, sigopt_ai as sigopt
    exp = sigopt.get_experiment(sys.argv[1] if len(sys.argv) > 1 else "{eid}")
    for run in exp.loop(progress=False):
        with run:
            print(json.dumps({{"run": run.id, "params": dict(run.params)}}), flush=True)
            time.sleep({sleep})
            if run.params.n > 90:
                raise MemoryError("simulated cap")
            run.log_metric("y", (run.params.x - 0.3) ** 2)
"""


def test_four_workers_finish_with_the_exact_budget_and_no_duplicate(store: Path) -> None:
    exp = create(budget=24)
    workers = [spawn_python(WORKER.format(eid=exp.id, sleep=0.02), env=child_env(store)) for _ in range(4)]
    served = []
    for proc in workers:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        served += [json.loads(line) for line in out.splitlines()]
    observations = exp.observations()
    assert len(observations) == 24 == exp.progress.finished
    assert exp.progress.active == 0 and exp.progress.remaining == 0
    assert len(served) == 24  # no run was evaluated beyond the budget
    assignments = [json.dumps(s["params"], sort_keys=True) for s in served]
    assert len(set(assignments)) == 24, "a suggestion was served twice"
    assert len({o.suggestion for o in observations}) == 24
    assert Counter(o.run for o in observations) == Counter(s["run"] for s in served)  # no run lost
    assert all(sigopt.get_run(s["run"]).experiment == exp.id for s in served)


def test_a_worker_killed_mid_run_loses_its_lease_and_the_suggestion_is_served_again(store: Path) -> None:
    exp = create(budget=3, lease_timeout=2.0)
    victim = spawn_python(WORKER.format(eid=exp.id, sleep=120), env=child_env(store))
    first = json.loads(victim.stdout.readline())  # type: ignore[union-attr]
    time.sleep(0.3)  # the run's start is durable
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=30)
    assert exp.progress.active == 1  # still leased until the grace period passes

    survivor = spawn_python(WORKER.format(eid=exp.id, sleep=0.01), env=child_env(store))
    out, err = survivor.communicate(timeout=120)
    assert survivor.returncode == 0, err
    served = [json.loads(line) for line in out.splitlines()]
    # The survivor serves the lost suggestion again once its lease expires (waiting for it if need be).
    assert len(served) == 3 and first["params"] in [s["params"] for s in served]
    assert len(exp.observations()) == 3
    lost = sigopt.get_run(first["run"])
    assert lost.state is sigopt.RunState.FAILED
    assert lost.failure is not None and lost.failure.kind is sigopt.FailureKind.INFRASTRUCTURE
    assert "heartbeats" in lost.failure.message
    assert first["run"] not in {o.run for o in exp.observations()}


def test_a_live_worker_keeps_its_lease_with_heartbeats(store: Path) -> None:
    exp = create(budget=2, lease_timeout=1.0)
    # Long enough that this process's first suggest(), which builds the strategy (importing scipy)
    # outside the store's lock, ends before the worker's run does.
    slow = spawn_python(WORKER.format(eid=exp.id, sleep=6), env=child_env(store))
    first = json.loads(slow.stdout.readline())  # type: ignore[union-attr]
    time.sleep(1.8)  # longer than the lease timeout: only heartbeats keep the lease
    assert exp.progress.active == 1
    second = exp.suggest()
    assert dict(second.assignments) != first["params"]
    exp.observe(second, values={"y": 0.5})
    out, err = slow.communicate(timeout=60)
    assert slow.returncode == 0, err
    assert sigopt.get_run(first["run"]).state is not sigopt.RunState.ACTIVE
    assert exp.progress.finished == 2
