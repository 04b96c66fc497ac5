"""Parallel experiment workers under faults: overlaps, orphans and budget exactness, in real processes.

Each repeat creates a Bayesian experiment in a fresh SQLite store and starts ``workers`` processes
running ``exp.loop()`` on it (each run sleeps 250 to 500 ms, then logs its metric). Once a third of the
budget has started, ``kills`` workers are killed with SIGKILL in the middle of a run; their leases
expire after ``lease`` seconds and the survivors serve those suggestions again. Afterwards the store
is read directly (``sqlite3``, no SDK) and the figures are:

* ``overlaps``: a suggestion served to a second run while an earlier run of it was alive (its
  worker was not killed): the bug this guards against gives two live workers the same suggestion;
* ``orphans``: a completed run with no observation (its result was dropped);
* ``lost``: a run a surviving worker finished that the store does not hold as completed;
* ``budget_exact``: the observed suggestions number exactly the budget and none is left open;
* ``extras``: results for a suggestion that already had one (kept, not counted in the budget);
* timings: wall time of each repeat and the wait between a worker's runs (serving a suggestion).

Usage (from the repository root)::

    python benchmarks/fault_workers.py --repeats 3

``benchmarks/faults.py`` calls :func:`measure` and writes the results with the other fault figures.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

KILL_AFTER_S = 0.15
"""Seconds after a victim's run printed its start that it is killed (its runs last 0.25 to 0.5 s)."""

SETUP = """
    import sys, sigopt_ai as sigopt
    exp = sigopt.create_experiment(
        name="fault-workers",
        parameters=[
            dict(name="x", type="double", bounds=dict(min=0, max=1)),
            dict(name="y", type="double", bounds=dict(min=-2, max=2)),
        ],
        metrics=[dict(name="loss", objective="minimize")],
        budget=int(sys.argv[1]),
        parallel_bandwidth=int(sys.argv[2]),
        lease_timeout=float(sys.argv[3]),
        seed=int(sys.argv[4]),
    )
    print(exp.id)
"""

WORKER = """
    import json, random, sys, time, sigopt_ai as sigopt
    exp = sigopt.get_experiment(sys.argv[1])
    pace = random.Random(int(sys.argv[2]))
    for run in exp.loop(progress=False):
        with run:
            print(json.dumps({"start": run.id, "t": time.time()}), flush=True)
            time.sleep(pace.uniform(0.25, 0.5))
            run.log_metric("loss", (run.params.x - 0.3) ** 2 + (run.params.y - 0.5) ** 2)
        print(json.dumps({"end": run.id, "t": time.time()}), flush=True)
"""


def spawn(code: str, args: Sequence[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """Start ``code`` in a fresh interpreter with ``args``, stdout and stderr piped."""
    return subprocess.Popen(
        [sys.executable, "-u", "-c", textwrap.dedent(code), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _pump(index: int, proc: subprocess.Popen[str], events: queue.Queue[tuple[int, dict[str, Any]]]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("{"):
            events.put((index, json.loads(line)))
    events.put((index, {"exit": True}))


def run_once(
    db: Path, *, workers: int = 8, budget: int = 40, lease: float = 3.0, kills: int = 2, seed: int = 0
) -> dict[str, Any]:
    """One repeat in the store ``db`` (a new file); the figures of the module's docstring."""
    env = {
        **os.environ,
        "SIGOPT_AI_DB": str(db),
        "SIGOPT_AI_FLUSH_INTERVAL": "0.1",
        "SIGOPT_PROJECT": "fault-workers",
    }
    setup = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SETUP), str(budget), str(workers), str(lease), str(seed)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    experiment = setup.stdout.strip()
    started = time.time()
    procs = [spawn(WORKER, [experiment, str(seed * 1000 + i)], env) for i in range(workers)]
    events: queue.Queue[tuple[int, dict[str, Any]]] = queue.Queue()
    for i, proc in enumerate(procs):
        threading.Thread(target=_pump, args=(i, proc, events), daemon=True).start()
    killed, alive, gaps, finished = _drive(procs, events, budget=budget, kills=kills)
    errors = []
    for i, proc in enumerate(procs):
        _, err = proc.communicate(timeout=120)
        if i not in killed and proc.returncode != 0:
            errors.append(err[-2000:])
    figures = _analyse(db, experiment, budget, alive, finished)
    return {
        **figures,
        "killed": len(killed),
        "worker_errors": errors,
        "wall_s": time.time() - started,
        "serve_wait_s": gaps,
    }


def _drive(
    procs: list[subprocess.Popen[str]],
    events: queue.Queue[tuple[int, dict[str, Any]]],
    *,
    budget: int,
    kills: int,
) -> tuple[set[int], set[str], list[float], set[str]]:
    """Follow the workers' events; SIGKILL ``kills`` of them inside a run once a third has started.

    Returns:
        The killed workers; the runs known to have been alive to the end (every run of a surviving
        worker, and every run that ended); the waits between a worker's runs; the runs that ended.
    """
    killed: set[int] = set()
    started_by: dict[int, list[str]] = defaultdict(list)
    last_end: dict[int, float] = {}
    gaps: list[float] = []
    finished: set[str] = set()
    starts = 0
    running = len(procs)
    deadline = time.time() + 600
    while running and time.time() < deadline:
        try:
            index, event = events.get(timeout=1.0)
        except queue.Empty:
            continue
        if "exit" in event:
            running -= 1
        elif "start" in event:
            starts += 1
            started_by[index].append(event["start"])
            if index in last_end:
                gaps.append(event["t"] - last_end[index])
            if len(killed) < kills and starts >= budget // 3 and index not in killed:
                # Mid-run, once the run's start is durable (the flush interval is 0.1 s).
                threading.Timer(KILL_AFTER_S, os.kill, (procs[index].pid, signal.SIGKILL)).start()
                killed.add(index)
        elif "end" in event:
            last_end[index] = event["t"]
            finished.add(event["end"])
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
    alive = finished | {r for index, runs in started_by.items() if index not in killed for r in runs}
    return killed, alive, gaps, finished


def _analyse(db: Path, experiment: str, budget: int, alive: set[str], finished: set[str]) -> dict[str, Any]:
    with closing(sqlite3.connect(db)) as conn:
        runs = conn.execute(
            "SELECT id, suggestion_id, state FROM runs WHERE experiment_id = ? ORDER BY created", (experiment,)
        ).fetchall()
        observations = conn.execute(
            "SELECT suggestion_id, run_id FROM observations WHERE experiment_id = ? ORDER BY id", (int(experiment),)
        ).fetchall()
        still_open = conn.execute(
            "SELECT count(*) FROM suggestions WHERE experiment_id = ? AND state = 'open'", (int(experiment),)
        ).fetchone()[0]
    served: dict[str, list[str]] = defaultdict(list)
    for run_id, suggestion, _ in runs:
        served[suggestion].append(run_id)
    # A later run of a suggestion overlaps when an earlier run of it was alive to the end.
    overlaps = sum(1 for chain in served.values() for k in range(1, len(chain)) if alive & set(chain[:k]))
    observed_runs = {run_id for _, run_id in observations}
    state = {run_id: s for run_id, _, s in runs}
    observed_suggestions = [str(s) for s, _ in observations]
    distinct = len(set(observed_suggestions))
    return {
        "overlaps": overlaps,
        "orphans": sum(1 for run_id, _, s in runs if s == "completed" and run_id not in observed_runs),
        "lost": sum(1 for run_id in finished if state.get(run_id) != "completed" or run_id not in observed_runs),
        "observed_suggestions": distinct,
        "extras": len(observed_suggestions) - distinct,
        "open_suggestions": still_open,
        "budget_exact": distinct == budget and still_open == 0,
        "runs": len(runs),
    }


def measure(repeats: int, workers: int = 8, budget: int = 40, lease: float = 3.0, kills: int = 2) -> dict[str, Any]:
    """Run ``repeats`` repeats; totals of overlaps, orphans and lost runs, and timings.

    Returns:
        ``overlaps``, ``orphans``, ``lost`` and ``extras`` summed over repeats; ``budget_exact``
        (every repeat), ``repeats_budget_exact``; ``wall_s`` (median and max per repeat);
        ``serve_wait_s`` (median, p95 and max wait between a worker's runs); ``per_repeat``.
    """
    results = []
    with tempfile.TemporaryDirectory(prefix="fault-workers-") as tmp:
        for seed in range(repeats):
            results.append(
                run_once(
                    Path(tmp) / f"store-{seed}.db", workers=workers, budget=budget, lease=lease, kills=kills, seed=seed
                )
            )
    waits = sorted(w for r in results for w in r.pop("serve_wait_s"))
    walls = [r["wall_s"] for r in results]
    return {
        "repeats": repeats,
        "workers": workers,
        "budget": budget,
        "lease_s": lease,
        "kills": kills,
        "overlaps": sum(r["overlaps"] for r in results),
        "orphans": sum(r["orphans"] for r in results),
        "lost": sum(r["lost"] for r in results),
        "extras": sum(r["extras"] for r in results),
        "budget_exact": all(r["budget_exact"] for r in results),
        "repeats_budget_exact": sum(r["budget_exact"] for r in results),
        "worker_errors": [e for r in results for e in r["worker_errors"]],
        "wall_s": {"median": statistics.median(walls), "max": max(walls)},
        "serve_wait_s": {
            "median": statistics.median(waits) if waits else None,
            "p95": waits[int(0.95 * (len(waits) - 1))] if waits else None,
            "max": waits[-1] if waits else None,
        },
        "per_repeat": results,
    }


def main(argv: list[str] | None = None) -> None:
    """Print :func:`measure`'s figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--budget", type=int, default=40)
    parser.add_argument("--lease", type=float, default=3.0)
    parser.add_argument("--kills", type=int, default=2)
    args = parser.parse_args(argv)
    figures = measure(args.repeats, workers=args.workers, budget=args.budget, lease=args.lease, kills=args.kills)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
