"""Several workers on one SQLite file: how long a suggestion takes, and how long it stalls another process's flush.

Usage (from the repository root; ``--label`` names the code under test, the report shows every label
measured so far side by side)::

    taskset -c 0,1 python benchmarks/concurrency.py --label after
    git worktree add /tmp/rev-821c71c 821c71c
    PYTHONPATH=/tmp/rev-821c71c taskset -c 0,1 python benchmarks/concurrency.py --label before

Only the public API is used (``import sigopt_ai as sigopt``), in child processes that import the
package from ``PYTHONPATH`` (see :mod:`benchmarks.revisions`), so the same script measures older
revisions. What happens, against one fresh SQLite store:

1. A child creates a Bayesian experiment (``type`` left to its default) in ``--dims`` dimensions and
   fills it with ``--seeded`` observations: that many ``exp.suggest()`` calls (all from the initial
   design, as nothing is observed yet) then an ``exp.observe()`` of each.
2. ``--workers`` worker processes attach with ``sigopt.get_experiment()``, import the optimizer and
   wait. Each then makes ``--per-worker`` suggestions, ``exp.suggest()`` (timed) followed by
   ``exp.observe()``, as fast as it can: the experiment grows to ``seeded + workers * per_worker``
   observations.
3. A logger process logs one metric point into its run and calls ``sigopt.flush()`` (timed), then
   sleeps ``--pause`` seconds, over and over, through three phases: alone (the workers wait);
   ``--workers`` processes burning CPU without touching the store (how much a busy machine alone
   stretches a flush); and the workers suggesting.

Figures: suggestion latency per worker and pooled (p50/p95/max), and the worker calls that raised
(a store too busy for a worker: the worker counts it and goes on); flush latency in each phase
(p50/p99/max); and the flushes of the last phase that overlapped at least one worker's
``suggest()`` call. Target (issue 15): a flush during another process's suggestion stalls no more
than 3x its p99 when alone; the verdict compares the worst overlapping flush with that.

Results go to ``benchmarks/results/concurrency.json`` and ``.md``; each ``--label`` keeps its own
entry, and a label run again replaces its entry.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# Run as a script, ``benchmarks`` is not an installed package; ahead of PYTHONPATH, which may point
# at another checkout (with its own ``benchmarks``) whose ``sigopt_ai`` the children measure.
sys.path.insert(0, str(REPO))

from benchmarks.log_overhead import fmt, machine_facts, machine_table, percentile  # noqa: E402
from benchmarks.revisions import (  # noqa: E402
    child_env,
    code_under_test,
    command_line,
    read_json_line,
    record_label,
    run_child,
    runs_table,
    spawn,
)

DEFAULT_RESULTS = HERE / "results"
TARGET_RATIO = 3.0
"""A flush overlapping a suggestion may take at most this many times the alone p99 (issue 15)."""

# The objective every child evaluates: smooth, its minimum inside the box.
LOSS = """
def loss(assignments):
    return sum((float(v) - 0.3) ** 2 for v in assignments.values())
"""

SETUP = """
import json, sys, time
import sigopt_ai as sigopt

dims, seeded, budget, seed = (int(a) for a in sys.argv[1:5])
exp = sigopt.create_experiment(
    name="concurrency",
    parameters=[dict(name=f"x{i}", type="double", bounds=dict(min=0, max=1)) for i in range(dims)],
    metrics=[dict(name="loss", objective="minimize")],
    budget=budget,
    seed=seed,
)
started = time.perf_counter()
# Nothing is observed yet, so every one of these comes from the initial design (no model fit).
suggestions = [exp.suggest() for _ in range(seeded)]
for suggestion in suggestions:
    exp.observe(suggestion, values={"loss": loss(suggestion.assignments)})
print(json.dumps({
    "experiment": exp.id,
    "sigopt_ai": sigopt.__file__,
    "seed_s": time.perf_counter() - started,
    "observations": len(exp.observations()),
}))
"""

WORKER = """
import json, sys, time
import sigopt_ai as sigopt
import sigopt_ai.optimizer  # a long-lived worker has paid for numpy and scipy before it suggests

exp = sigopt.get_experiment(sys.argv[1])
count = int(sys.argv[2])
print(json.dumps({"ready": True, "sigopt_ai": sigopt.__file__}), flush=True)
sys.stdin.readline()
suggest, observe, errors = [], [], []
for _ in range(count):
    t0 = time.monotonic()
    try:  # a store too busy for a worker is part of what it feels: counted, and the worker goes on
        suggestion = exp.suggest()
        t1 = time.monotonic()
        exp.observe(suggestion, values={"loss": loss(suggestion.assignments)})
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}"[:500])
        continue
    suggest.append([t0, t1])
    observe.append(time.monotonic() - t1)
print(json.dumps({"suggest": suggest, "observe_s": observe, "errors": errors}), flush=True)
"""

BURNER = """
import json, sys, time

print(json.dumps({"ready": True}), flush=True)
sys.stdin.readline()
deadline = time.monotonic() + float(sys.argv[1])
while time.monotonic() < deadline:
    sum(i * i for i in range(1000))
print(json.dumps({"done": True}), flush=True)
"""

LOGGER = """
import json, sys, threading, time
import sigopt_ai as sigopt

pause = float(sys.argv[1])
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
samples = []
with sigopt.run(name="logger"):
    for i in range(5):  # the run's record and the writer's connection exist before the clock starts
        sigopt.log_metric("warm", float(i))
        sigopt.flush()
    print(json.dumps({"ready": True, "sigopt_ai": sigopt.__file__}), flush=True)
    i = 0
    while not stop.is_set():
        sigopt.log_metric("m", float(i))
        i += 1
        t0 = time.monotonic()
        ok = sigopt.flush()
        samples.append([t0, time.monotonic() - t0, ok])
        time.sleep(pause)
print(json.dumps({"samples": samples}), flush=True)
"""


def _code(*parts: str) -> str:
    return "\n".join(textwrap.dedent(part) for part in parts)


# --- the measurement ------------------------------------------------------------------------------


def measure(
    scratch: Path,
    *,
    workers: int = 8,
    seeded: int = 250,
    per_worker: int = 20,
    dims: int = 10,
    alone_s: float = 4.0,
    control_s: float = 4.0,
    pause: float = 0.01,
    seed: int = 0,
) -> dict[str, Any]:
    """Run the three phases of the module's docstring against a fresh store in ``scratch``.

    Returns:
        The raw timings (``suggest``: per worker, its ``[start, end]`` intervals in monotonic
        seconds; ``flushes``: the logger's ``[start, seconds, ok]``), the phase boundaries, the
        copy of ``sigopt_ai`` each child imported and the experiment's size.
    """
    env = child_env(scratch / "concurrency.db", "concurrency")
    budget = seeded + workers * per_worker
    setup = run_child(_code(LOSS, SETUP), [str(dims), str(seeded), str(budget), str(seed)], env, scratch)
    procs = [spawn(_code(LOSS, WORKER), [setup["experiment"], str(per_worker)], env, scratch) for _ in range(workers)]
    burners = [spawn(BURNER, [str(control_s)], env, scratch) for _ in range(workers)]
    logger: subprocess.Popen[str] | None = None
    try:
        files = [setup["sigopt_ai"], *(read_json_line(p)["sigopt_ai"] for p in procs)]
        for burner in burners:
            read_json_line(burner)
        logger = spawn(LOGGER, [str(pause)], env, scratch)
        files.append(read_json_line(logger)["sigopt_ai"])
        phases = {"alone": time.monotonic()}
        time.sleep(alone_s)
        phases["cpu_load"] = time.monotonic()
        _go(burners)
        for burner in burners:
            read_json_line(burner)
        phases["suggesting"] = time.monotonic()
        _go(procs)
        outcomes = [read_json_line(p) for p in procs]
        phases["end"] = time.monotonic()
        _go([logger])
        samples = read_json_line(logger)["samples"]
    finally:
        for proc in [*procs, *burners, *([logger] if logger else [])]:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
    return {
        "files": files,
        "seed_s": setup["seed_s"],
        "observations_at_start": setup["observations"],
        "phases": phases,
        "suggest": [o["suggest"] for o in outcomes],
        "observe_s": [o["observe_s"] for o in outcomes],
        "errors": [e for o in outcomes for e in o["errors"]],
        "flushes": samples,
    }


def _go(procs: Sequence[subprocess.Popen[str]]) -> None:
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()


# --- the figures ----------------------------------------------------------------------------------


def ms_stats(seconds: Sequence[float], high: float = 99) -> dict[str, float | int | None]:
    """Count, p50, p``high`` and max of durations in seconds, in ms."""
    ordered = sorted(seconds)
    if not ordered:
        return {"count": 0, "p50_ms": None, f"p{high:g}_ms": None, "max_ms": None}
    return {
        "count": len(ordered),
        "p50_ms": statistics.median(ordered) * 1e3,
        f"p{high:g}_ms": percentile(ordered, high) * 1e3,
        "max_ms": ordered[-1] * 1e3,
    }


def summarize(raw: dict[str, Any]) -> dict[str, Any]:
    """The figures of the module's docstring from :func:`measure`'s timings."""
    phases = raw["phases"]
    flushes = raw["flushes"]
    intervals = sorted(tuple(iv) for worker in raw["suggest"] for iv in worker)

    def between(start: float, end: float) -> list[list[Any]]:
        return [f for f in flushes if start <= f[0] < end]

    suggesting = between(phases["suggesting"], phases["end"])
    overlapping = [f for f in suggesting if _overlaps(f[0], f[0] + f[1], intervals)]
    alone = ms_stats([f[1] for f in between(phases["alone"], phases["cpu_load"])])
    stalls = ms_stats([f[1] for f in overlapping])
    busy = ms_stats([f[1] for f in between(phases["cpu_load"], phases["suggesting"])])
    worst, p99_alone, worst_busy = stalls["max_ms"], alone["p99_ms"], busy["max_ms"]
    ratio = worst / p99_alone if worst is not None and p99_alone else None
    durations = [[end - start for start, end in worker] for worker in raw["suggest"]]
    return {
        "observations_at_start": raw["observations_at_start"],
        "observations_at_end": raw["observations_at_start"] + sum(len(d) for d in durations),
        "seed_s": raw["seed_s"],
        "suggesting_s": phases["end"] - phases["suggesting"],
        "suggestion": ms_stats([d for worker in durations for d in worker], high=95),
        "suggestion_per_worker": [ms_stats(worker, high=95) for worker in durations],
        "observe": ms_stats([s for worker in raw["observe_s"] for s in worker], high=95),
        "flush_alone": alone,
        "flush_cpu_load": busy,
        "flush_suggesting": ms_stats([f[1] for f in suggesting]),
        "flush_overlapping_a_suggestion": stalls,
        "flushes_failed": sum(1 for f in flushes if not f[2]),
        "worker_errors": len(raw["errors"]),
        "worker_error_examples": sorted(set(raw["errors"]))[:3],
        "worst_stall_over_alone_p99": ratio,
        # The share of the worst stall that a busy CPU alone does not explain.
        "worst_stall_over_worst_cpu_load": worst / worst_busy if worst is not None and worst_busy else None,
        "target_ratio": TARGET_RATIO,
        "meets_target": None if ratio is None else ratio <= TARGET_RATIO,
    }


def _overlaps(start: float, end: float, intervals: Sequence[tuple[float, float]]) -> bool:
    return any(s < end and start < e for s, e in intervals)


# --- reporting ------------------------------------------------------------------------------------


def render_markdown(results: dict[str, Any]) -> str:
    """Every label's figures side by side, with the runs that produced them."""
    labels = results["labels"]
    figures = {label: entry["figures"] for label, entry in labels.items()}
    configs = {label: entry["config"] for label, entry in labels.items()}

    def row(name: str, cell: Any) -> str:
        return f"| {name} | " + " | ".join(cell(label) for label in labels) + " |"

    def trio(key: str, high: str = "p99_ms") -> Any:
        return lambda label: " / ".join(fmt(figures[label][key][k]) for k in ("p50_ms", high, "max_ms"))

    def verdict(label: str) -> str:
        met = figures[label]["meets_target"]
        return "n/a" if met is None else "**pass**" if met else "**FAIL**"

    lines = [
        "# Concurrency: suggestions from several workers, and another process's flush",
        "",
        *machine_table(results),
        "## Runs",
        "",
        *runs_table(results),
        "",
        "## Figures",
        "",
        "| | " + " | ".join(labels) + " |",
        "|---|" + "---:|" * len(labels),
        row("worker processes x suggestions each", lambda k: f"{configs[k]['workers']} x {configs[k]['per_worker']}"),
        row("dimensions", lambda k: str(configs[k]["dims"])),
        row(
            "observations at start, at end",
            lambda k: f"{figures[k]['observations_at_start']}, {figures[k]['observations_at_end']}",
        ),
        row("`exp.suggest()` p50 / p95 / max (ms, all workers)", trio("suggestion", "p95_ms")),
        row(
            "slowest worker's p95 (ms)",
            lambda k: fmt(max(w["p95_ms"] or 0.0 for w in figures[k]["suggestion_per_worker"])),
        ),
        row("`exp.observe()` p50 / p95 / max (ms)", trio("observe", "p95_ms")),
        row("flush alone p50 / p99 / max (ms)", trio("flush_alone")),
        row("flush, CPU busy, store idle: p50 / p99 / max (ms)", trio("flush_cpu_load")),
        row("flush while workers suggest p50 / p99 / max (ms)", trio("flush_suggesting")),
        row("flush overlapping a suggestion p50 / p99 / max (ms)", trio("flush_overlapping_a_suggestion")),
        row("flushes overlapping a suggestion", lambda k: str(figures[k]["flush_overlapping_a_suggestion"]["count"])),
        row("worst overlapping flush / alone p99", lambda k: _times(figures[k]["worst_stall_over_alone_p99"])),
        row(f"target: at most {TARGET_RATIO:g}x", verdict),
        row(
            "worst overlapping flush / worst flush with CPU busy, store idle",
            lambda k: _times(figures[k].get("worst_stall_over_worst_cpu_load")),
        ),
        row("failed flushes", lambda k: str(figures[k]["flushes_failed"])),
        row("worker calls that raised (suggest or observe)", lambda k: str(figures[k].get("worker_errors", "n/a"))),
        "",
        "## Method",
        "",
        "- One fresh SQLite store per run. A Bayesian experiment (the default `type`) is filled with",
        "  quasi-random observations through `exp.suggest()`/`exp.observe()`; then every worker process",
        "  calls `exp.suggest()` (timed) and `exp.observe()` in a loop, all at once.",
        "- A separate logger process logs one point, times `sigopt.flush()` and sleeps (`pause_s` in",
        "  the JSON), over and over, through three phases: alone (the workers are started and idle);",
        "  as many processes burning CPU without the store (the machine's share of any stall); and",
        "  the workers suggesting. A flush overlaps a suggestion if its interval meets any worker's",
        "  `suggest()` call.",
        "- Only the public API runs in the children, imported from `PYTHONPATH`: see",
        "  `benchmarks/revisions.py`. The machine is shared and small; compare labels of one machine.",
        "",
    ]
    return "\n".join(lines)


def _times(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio:.1f}x"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--label", required=True, help="name of the code under test (e.g. before, after)")
    parser.add_argument("--workers", type=int, default=8, help="worker processes (default 8)")
    parser.add_argument("--seeded", type=int, default=250, help="observations before the workers start (250)")
    parser.add_argument("--per-worker", type=int, default=20, help="suggestions each worker makes (default 20)")
    parser.add_argument("--dims", type=int, default=10, help="parameters of the experiment (default 10)")
    parser.add_argument("--alone", type=float, default=4.0, help="seconds of the logger alone (default 4)")
    parser.add_argument("--cpu-load", type=float, default=4.0, help="seconds of CPU load only (default 4)")
    parser.add_argument("--pause", type=float, default=0.01, help="logger's sleep between flushes (s)")
    parser.add_argument("--seed", type=int, default=0, help="the experiment's seed")
    parser.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS, help="where concurrency.json/.md go")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, store the figures under the label and rewrite the report."""
    args = parse_args(argv)
    config = {
        "workers": args.workers,
        "seeded": args.seeded,
        "per_worker": args.per_worker,
        "dims": args.dims,
        "alone_s": args.alone,
        "cpu_load_s": args.cpu_load,
        "pause_s": args.pause,
        "seed": args.seed,
    }
    machine = machine_facts()
    with tempfile.TemporaryDirectory(prefix="sigopt-ai-concurrency-") as tmp:
        raw = measure(
            Path(tmp),
            workers=args.workers,
            seeded=args.seeded,
            per_worker=args.per_worker,
            dims=args.dims,
            alone_s=args.alone,
            control_s=args.cpu_load,
            pause=args.pause,
            seed=args.seed,
        )
    machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    entry = {
        "command": command_line("concurrency.py", argv),
        "machine": machine,
        "code": code_under_test(raw["files"]),
        "config": config,
        "figures": summarize(raw),
    }
    results = record_label(args.results_dir / "concurrency.json", args.label, entry)
    markdown = render_markdown(results)
    (args.results_dir / "concurrency.md").write_text(markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
