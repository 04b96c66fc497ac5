"""Timing harness shared by the per-SDK logging-overhead scripts (``bench_<sdk>.py``).

Adapted from the project's shared peer-bench scripts. It runs under each peer's own virtual
environment, so it needs only the standard library and ``psutil``.

Each ``bench_<sdk>.py`` defines ``CONFIGS = {name: factory}``; ``factory(workdir)`` returns
``(start, log, end, verify)``:

* ``handle = start()``: the start-run call(s), timed as ``start_ms``;
* ``log(handle, i, value)``: ONE logging call, timed per call with ``time.perf_counter_ns``;
* ``end(handle)``: the end-run call(s), timed as ``end_ms`` (including any flush the SDK does);
* ``verify(handle)``: untimed; returns facts showing the data landed (row counts, versions).

Imports and store creation inside the factory are timed as ``setup_ms``. The driver
(``python bench_<sdk>.py``) runs every config ``BENCH_REPS`` times, each repetition in a fresh child
process whose working directory is a fresh folder, and keeps the median of each statistic.

Environment: ``BENCH_N`` (calls, default 10,000), ``BENCH_REPS`` (default 3), ``BENCH_OUT`` (JSON
summary path), ``BENCH_TMP`` (work folder), ``BENCH_ONLY`` (comma-separated config names).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Handle = Any
StartFn = Callable[[], Handle]
LogFn = Callable[[Handle, int, float], None]
EndFn = Callable[[Handle], None]
VerifyFn = Callable[[Handle], Any]
Factory = Callable[[str], tuple[StartFn, LogFn, EndFn, VerifyFn]]

N = int(os.environ.get("BENCH_N", "10000"))
REPS = int(os.environ.get("BENCH_REPS", "3"))
CHILD_TIMEOUT_S = 1800

KEYS = (
    "setup_ms",
    "start_ms",
    "p50_us",
    "p99_us",
    "max_us",
    "mean_us",
    "total_ms",
    "p50_first1k_us",
    "p50_last1k_us",
    "loop_wall_ms",
    "end_ms",
    "rss_before_mb",
    "rss_peak_growth_mb",
    "child_procs_rss_peak_mb",
)
"""Statistics of one repetition; the driver reports the median of each over repetitions."""


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` percentile (0 < q <= 100) of already sorted values."""
    return sorted_values[max(0, math.ceil(q / 100 * len(sorted_values)) - 1)]


def value_for(i: int) -> float:
    """The metric value logged by call ``i`` (a float that changes every call)."""
    return 1.0 / (i + 1) + 0.001 * (i % 7)


def _rss_tree() -> tuple[int, int]:
    """(this process's RSS, summed RSS of its child processes) in bytes."""
    import psutil

    proc = psutil.Process()
    kids = 0
    for child in proc.children(recursive=True):
        try:
            kids += child.memory_info().rss
        except psutil.Error:
            pass
    return proc.memory_info().rss, kids


def measure(factory: Factory, workdir: str, n: int = N) -> dict[str, Any]:
    """Run one repetition of one config in this process and return its statistics."""
    pc = time.perf_counter_ns
    t0 = pc()
    start, log, end, verify = factory(workdir)
    setup_ns = pc() - t0
    rss_before, _ = _rss_tree()

    t0 = pc()
    handle = start()
    start_ns = pc() - t0

    times = [0] * n
    rss_samples: list[int] = []
    kid_samples: list[int] = []
    loop_t0 = pc()
    for i in range(n):
        value = value_for(i)
        t0 = pc()
        log(handle, i, value)
        times[i] = pc() - t0
        if (i + 1) % 1000 == 0:  # RSS sampling, outside the timed region
            own, kids = _rss_tree()
            rss_samples.append(own)
            kid_samples.append(kids)
    loop_wall_ns = pc() - loop_t0

    t0 = pc()
    end(handle)
    end_ns = pc() - t0
    own, kids = _rss_tree()
    rss_samples.append(own)
    kid_samples.append(kids)

    checked = verify(handle)  # untimed
    ordered = sorted(times)
    return {
        "verify": checked,
        "n": n,
        "setup_ms": setup_ns / 1e6,
        "start_ms": start_ns / 1e6,
        "p50_us": statistics.median(ordered) / 1e3,
        "p99_us": percentile(ordered, 99) / 1e3,
        "max_us": ordered[-1] / 1e3,
        "mean_us": sum(ordered) / n / 1e3,
        "total_ms": sum(ordered) / 1e6,
        "p50_first1k_us": statistics.median(times[:1000]) / 1e3,
        "p50_last1k_us": statistics.median(times[-1000:]) / 1e3,
        "loop_wall_ms": loop_wall_ns / 1e6,
        "end_ms": end_ns / 1e6,
        "rss_before_mb": rss_before / 2**20,
        "rss_peak_growth_mb": (max(rss_samples) - rss_before) / 2**20,
        "child_procs_rss_peak_mb": max(kid_samples) / 2**20,
    }


def _run_child(script: str, name: str, workdir: str, env: Mapping[str, str]) -> dict[str, Any]:
    """One repetition of config ``name`` in a fresh process; ``{"error": ...}`` if it failed."""
    try:
        proc = subprocess.run(
            [sys.executable, script, "--child", name, workdir],
            env=dict(env),
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {CHILD_TIMEOUT_S} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        return {"error": f"rc={proc.returncode}: " + (proc.stderr or proc.stdout or "")[-3000:]}
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    return result


def drive(
    script: str,
    configs: Mapping[str, Factory],
    extra_env: Mapping[str, str] | None = None,
    out_json: str | None = None,
    only: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Run every config ``REPS`` times in child processes; return (and save) the medians."""
    base = os.environ.get("BENCH_TMP") or tempfile.mkdtemp(prefix="bench-")
    env = {**os.environ, **(extra_env or {})}
    summary: dict[str, Any] = {}
    for name in configs:
        if only and name not in only:
            continue
        reps = []
        for rep in range(REPS):
            workdir = os.path.join(base, f"{name}-rep{rep}")
            os.makedirs(workdir, exist_ok=True)
            result = _run_child(script, name, workdir, env)
            reps.append(result)
            if "error" in result:
                print(f"[{name} rep{rep}] FAILED {result['error'][-500:]}", flush=True)
            else:
                print(
                    f"[{name} rep{rep}] p50={result['p50_us']:.2f}us p99={result['p99_us']:.2f}us "
                    f"max={result['max_us']:.0f}us start={result['start_ms']:.1f}ms "
                    f"end={result['end_ms']:.1f}ms verify={result['verify']}",
                    flush=True,
                )
        ok = [r for r in reps if "error" not in r]
        median = {k: statistics.median(r[k] for r in ok) for k in KEYS} if ok else None
        summary[name] = {"median": median, "reps": reps}
    if out_json:
        with open(out_json, "w") as f:
            json.dump(summary, f, indent=1)
    return summary


def main(script: str, configs: Mapping[str, Factory], extra_env: Mapping[str, str] | None = None) -> None:
    """Entry point of a ``bench_<sdk>.py``: the driver, or one child repetition (``--child``)."""
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        name, workdir = sys.argv[2], sys.argv[3]  # the driver's environment already has extra_env
        print("RESULT " + json.dumps(measure(configs[name], workdir)), flush=True)
        return
    only = os.environ.get("BENCH_ONLY")
    drive(script, configs, extra_env, os.environ.get("BENCH_OUT"), only.split(",") if only else None)
