"""The experiment loop's cost per iteration as the history grows, and the memory of logging in a tight loop.

Usage (from the repository root; ``--label`` names the code under test, the report shows every label
measured so far side by side)::

    taskset -c 0,1 python benchmarks/loop_scaling.py --label after
    git worktree add /tmp/rev-821c71c 821c71c
    PYTHONPATH=/tmp/rev-821c71c taskset -c 0,1 python benchmarks/loop_scaling.py --label before

Only the public API is used, in child processes that import ``sigopt_ai`` from ``PYTHONPATH`` (see
:mod:`benchmarks.revisions`), so the same script measures older revisions.

* ``loop``: for each optimizer ``type`` (``random``: Sobol; ``offline``: the default Bayesian
  optimizer) and each budget, a fresh process and store run ``exp.loop(progress=False)`` on a
  5-dimensional experiment to the end; each run logs its metric. An iteration is the time from the
  loop yielding one run to yielding the next (or returning): the run's end, its observation and the
  next suggestion. The time inside the strategy (every ``suggest`` of a subclass of the public
  ``sigopt_ai.optimizer.Strategy``, timed by wrapping it from outside, the outermost call only) is
  subtracted to give the store's work. Reported per run: the median iteration in the first and in the
  last tenth, and their ratio. Target (issue 15): the store's work per iteration stays flat within 2x
  from 250 to 3,000 observations; the verdict compares the last tenth of the largest budget with the
  first tenth of the smallest.
* ``memory``: a fresh process logs ``--points`` points with ``sigopt.log_metric`` in a tight loop
  inside ``with sigopt.run():``, then calls ``sigopt.flush()``. A thread samples the resident set
  every 10 ms; with ``ru_maxrss`` that gives the peak. Reported: the peak's growth over the resident
  set before the loop, and what is left of the growth after the flush and after the run ends.
  Target (issue 15): growth under 100 MB, memory returned after the flush.

Results go to ``benchmarks/results/loop_scaling.json`` and ``.md``; each ``--label`` keeps its own
entry, and a label run again replaces its entry.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# Run as a script, ``benchmarks`` is not an installed package; ahead of PYTHONPATH, which may point
# at another checkout (with its own ``benchmarks``) whose ``sigopt_ai`` the children measure.
sys.path.insert(0, str(REPO))

from benchmarks.log_overhead import count_points, fmt, machine_facts, machine_table, progress  # noqa: E402
from benchmarks.revisions import (  # noqa: E402
    child_env,
    code_under_test,
    command_line,
    record_label,
    run_child,
    runs_table,
)

DEFAULT_RESULTS = HERE / "results"
DIMS = 5
TYPES = ("random", "offline")
TARGET_FLAT = 2.0
"""Store work per iteration: last tenth of the largest budget over first tenth of the smallest, at most."""
TARGET_GROWTH_MB = 100.0
"""Peak resident growth while logging in a tight loop, at most (MB, 10**6 bytes)."""

LOOP = """
import json, sys, threading, time
import sigopt_ai as sigopt
from sigopt_ai.optimizer import Strategy

kind, budget, dims = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
inside = [0.0]
depth = threading.local()


def timed(suggest):
    def wrapper(self, *args, **kwargs):
        if getattr(depth, "n", 0):  # a strategy that asks another one: count the outer call only
            return suggest(self, *args, **kwargs)
        depth.n = 1
        started = time.perf_counter()
        try:
            return suggest(self, *args, **kwargs)
        finally:
            inside[0] += time.perf_counter() - started
            depth.n = 0
    return wrapper


def wrap(cls):
    if "suggest" in vars(cls):
        cls.suggest = timed(vars(cls)["suggest"])


def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)


def init_subclass(cls, **kwargs):  # a strategy module imported later (lazily) is wrapped too
    super(Strategy, cls).__init_subclass__(**kwargs)
    wrap(cls)


assert "__init_subclass__" not in vars(Strategy)
Strategy.__init_subclass__ = classmethod(init_subclass)
for cls in set(subclasses(Strategy)):
    wrap(cls)

exp = sigopt.create_experiment(
    name=f"loop-{kind}-{budget}",
    parameters=[dict(name=f"x{i}", type="double", bounds=dict(min=0, max=1)) for i in range(dims)],
    metrics=[dict(name="loss", objective="minimize")],
    budget=budget,
    type=kind,
    seed=0,
)
marks, strategy = [], []
started = time.perf_counter()
for run in exp.loop(progress=False):
    marks.append(time.perf_counter())
    strategy.append(inside[0])
    with run:
        run.log_metric("loss", sum((getattr(run.params, f"x{i}") - 0.3) ** 2 for i in range(dims)))
marks.append(time.perf_counter())
strategy.append(inside[0])
print(json.dumps({
    "sigopt_ai": sigopt.__file__,
    "total_s": marks[-1] - started,
    "first_serve_s": marks[0] - started,
    "iteration_s": [b - a for a, b in zip(marks, marks[1:])],
    "strategy_s": [b - a for a, b in zip(strategy, strategy[1:])],
    "observations": len(exp.observations()),
}))
"""

MEMORY = """
import gc, json, resource, sys, threading, time
import psutil
import sigopt_ai as sigopt

points = int(sys.argv[1])
process = psutil.Process()
peak = [0]
done = threading.Event()


def sample():
    while not done.wait(0.01):
        peak[0] = max(peak[0], process.memory_info().rss)


with sigopt.run(name="tight-loop") as run:
    sigopt.log_metric("warm", 0.0)
    sigopt.flush()  # the store, the run's record and the writer exist before the baseline
    gc.collect()
    before = process.memory_info().rss
    threading.Thread(target=sample, daemon=True).start()
    started = time.perf_counter()
    for i in range(points):
        sigopt.log_metric("x", float(i))
    logged = time.perf_counter()
    flushed = sigopt.flush(600)
    done.set()
    after_flush = process.memory_info().rss
    run_id = run.id
after_end = process.memory_info().rss
peak_rss = max(peak[0], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, after_flush)
print(json.dumps({
    "sigopt_ai": sigopt.__file__,
    "run_id": run_id,
    "points": points,
    "flushed": flushed,
    "log_s": logged - started,
    "flush_s": time.perf_counter() - logged,
    "rss_before": before,
    "rss_peak": peak_rss,
    "rss_after_flush": after_flush,
    "rss_after_end": after_end,
}))
"""


# --- the measurements -----------------------------------------------------------------------------


def measure_loop(scratch: Path, kind: str, budget: int, dims: int = DIMS) -> dict[str, Any]:
    """One loop of ``budget`` iterations with optimizer ``kind`` in a fresh process and store."""
    env = child_env(scratch / f"loop-{kind}-{budget}.db", "loop-scaling")
    return run_child(LOOP, [kind, str(budget), str(dims)], env, scratch)


def measure_memory(scratch: Path, points: int) -> dict[str, Any]:
    """The tight logging loop in a fresh process; its resident set, and the points the store holds."""
    db = scratch / "memory.db"
    raw = run_child(MEMORY, [str(points)], child_env(db, "loop-scaling"), scratch)
    raw["points_stored"], _ = count_points(db, raw["run_id"])
    return raw


# --- the figures ----------------------------------------------------------------------------------


def tenths(values: Sequence[float]) -> tuple[Sequence[float], Sequence[float]]:
    """The first and the last tenth of ``values`` (at least one value each)."""
    size = max(1, len(values) // 10)
    return values[:size], values[-size:]


def summarize_loop(raw: dict[str, Any]) -> dict[str, Any]:
    """Per-iteration figures in ms: all of it, and the store's work (without the strategy's time)."""
    iterations = raw["iteration_s"]
    store = [total - inside for total, inside in zip(iterations, raw["strategy_s"], strict=True)]
    figures: dict[str, Any] = {
        "iterations": len(iterations),
        "observations": raw["observations"],
        "total_s": raw["total_s"],
        "strategy_s": sum(raw["strategy_s"]),
    }
    for name, values in (("iteration", iterations), ("store", store)):
        first, last = tenths(values)
        figures[name] = {
            "first_tenth_ms": statistics.median(first) * 1e3,
            "last_tenth_ms": statistics.median(last) * 1e3,
            "first_tenth_mean_ms": statistics.fmean(first) * 1e3,
            "last_tenth_mean_ms": statistics.fmean(last) * 1e3,
            "mean_ms": statistics.fmean(values) * 1e3,
        }
        figures[name]["last_over_first"] = figures[name]["last_tenth_ms"] / figures[name]["first_tenth_ms"]
    return figures


def flatness(loops: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per optimizer type: the store's work per iteration at the largest budget's end over the smallest's start."""
    out: dict[str, Any] = {}
    for kind, by_budget in loops.items():
        budgets = sorted(by_budget, key=int)
        if not budgets:
            continue
        smallest, largest = by_budget[budgets[0]]["store"], by_budget[budgets[-1]]["store"]
        ratio = largest["last_tenth_ms"] / smallest["first_tenth_ms"]
        out[kind] = {
            "from_budget": int(budgets[0]),
            "to_budget": int(budgets[-1]),
            "ratio": ratio,
            "meets_target": ratio <= TARGET_FLAT,
        }
    return out


def summarize_memory(raw: dict[str, Any]) -> dict[str, Any]:
    """The memory figures in MB (10**6 bytes) and the logging rate."""
    before = raw["rss_before"]
    growth = (raw["rss_peak"] - before) / 1e6
    return {
        "points": raw["points"],
        "points_stored": raw["points_stored"],
        "flushed": raw["flushed"],
        "log_s": raw["log_s"],
        "flush_s": raw["flush_s"],
        "rss_before_mb": before / 1e6,
        "peak_growth_mb": growth,
        "growth_after_flush_mb": (raw["rss_after_flush"] - before) / 1e6,
        "growth_after_end_mb": (raw["rss_after_end"] - before) / 1e6,
        "target_growth_mb": TARGET_GROWTH_MB,
        "meets_target": growth < TARGET_GROWTH_MB,
    }


# --- reporting ------------------------------------------------------------------------------------


def render_markdown(results: dict[str, Any]) -> str:
    """Every label's figures side by side, with the runs that produced them."""
    labels = results["labels"]
    lines = [
        "# Loop scaling: cost per iteration as the history grows, and memory of a tight logging loop",
        "",
        *machine_table(results),
        "## Runs",
        "",
        *runs_table(results),
        "",
        f"## The loop ({DIMS} dimensions; median ms per iteration in the first and last tenth)",
        "",
        "| label | type | budget | total (s) | iteration: first / last tenth (ms) | ratio | "
        "store work: first / last tenth (ms) | ratio | time in the strategy (s) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, entry in labels.items():
        for kind, by_budget in entry["figures"]["loop"].items():
            for budget, row in by_budget.items():
                it, store = row["iteration"], row["store"]
                lines.append(
                    f"| {label} | {kind} | {int(budget):,} | {fmt(row['total_s'])} | "
                    f"{fmt(it['first_tenth_ms'])} / {fmt(it['last_tenth_ms'])} | {it['last_over_first']:.1f}x | "
                    f"{fmt(store['first_tenth_ms'])} / {fmt(store['last_tenth_ms'])} | "
                    f"{store['last_over_first']:.1f}x | {fmt(row['strategy_s'])} |"
                )
    lines += [
        "",
        f"Target: store work per iteration flat within {TARGET_FLAT:g}x (last tenth of the largest budget over the",
        "first tenth of the smallest):",
        "",
        "| label | type | budgets | ratio | verdict |",
        "|---|---|---|---:|---|",
    ]
    for label, entry in labels.items():
        for kind, flat in entry["figures"]["flatness"].items():
            lines.append(
                f"| {label} | {kind} | {flat['from_budget']:,} to {flat['to_budget']:,} | {flat['ratio']:.1f}x | "
                f"{_verdict(flat['meets_target'])} |"
            )
    lines += [
        "",
        "## Memory of a tight logging loop (`sigopt.log_metric` in `with sigopt.run():`)",
        "",
        "| label | points | logged in (s) | flush (s) | stored | peak RSS growth (MB) | left after flush (MB) | "
        f"left after the run's end (MB) | target < {TARGET_GROWTH_MB:g} MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for label, entry in labels.items():
        mem = entry["figures"]["memory"]
        lines.append(
            f"| {label} | {mem['points']:,} | {fmt(mem['log_s'])} | {fmt(mem['flush_s'])} | "
            f"{mem['points_stored']:,} | {fmt(mem['peak_growth_mb'])} | {fmt(mem['growth_after_flush_mb'])} | "
            f"{fmt(mem['growth_after_end_mb'])} | {_verdict(mem['meets_target'])} |"
        )
    lines += [
        "",
        "## Method",
        "",
        "- Each loop and the memory trial run in a fresh process against a fresh SQLite store, through",
        "  the public API only, imported from `PYTHONPATH` (`benchmarks/revisions.py`).",
        "- An iteration is from one yield of `exp.loop()` to the next: the run's end, its observation",
        "  and the next suggestion. The store's work is that minus the time in the strategy's `suggest`",
        "  (wrapped from outside). Medians, so one slow iteration (a first import, a refit) does not",
        "  move a tenth; the means are in the JSON.",
        "- `stored` counts the points the store holds (one warm-up point, then the loop's).",
        "- The machine is shared and small; compare labels of one machine.",
        "",
    ]
    return "\n".join(lines)


def _verdict(met: bool) -> str:
    return "**pass**" if met else "**FAIL**"


def _budgets(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--label", required=True, help="name of the code under test (e.g. before, after)")
    parser.add_argument("--random", type=_budgets, default=[250, 1000, 3000], help="budgets, type random")
    parser.add_argument("--offline", type=_budgets, default=[250, 1000], help="budgets, the default optimizer")
    parser.add_argument("--points", type=int, default=5_000_000, help="points of the tight loop (default 5M)")
    parser.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS, help="where loop_scaling.json/.md go")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, store the figures under the label and rewrite the report."""
    args = parse_args(argv)
    budgets = {"random": args.random, "offline": args.offline}
    machine = machine_facts()
    files: list[str] = []
    loops: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="sigopt-ai-loop-scaling-") as tmp:
        scratch = Path(tmp)
        for kind in TYPES:
            loops[kind] = {}
            for budget in budgets[kind]:
                raw = measure_loop(scratch, kind, budget)
                files.append(raw["sigopt_ai"])
                loops[kind][str(budget)] = summarize_loop(raw)
                progress(f"{kind} {budget}: {raw['total_s']:.1f} s")
        memory = measure_memory(scratch, args.points)
        files.append(memory["sigopt_ai"])
    machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    entry = {
        "command": command_line("loop_scaling.py", argv),
        "machine": machine,
        "code": code_under_test(files),
        "config": {"dims": DIMS, "budgets": budgets, "points": args.points},
        "figures": {"loop": loops, "flatness": flatness(loops), "memory": summarize_memory(memory)},
    }
    results = record_label(args.results_dir / "loop_scaling.json", args.label, entry)
    markdown = render_markdown(results)
    (args.results_dir / "loop_scaling.md").write_text(markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
