"""Faults in real processes: what a kill -9, a SIGTERM, a fork or store trouble costs a training run.

Usage (from the repository root)::

    python benchmarks/faults.py            # everything (about 3 minutes on 2 cores)
    python benchmarks/faults.py --quick    # one repeat of each, short runs, 2 workers (under a minute)

What is measured, each in fresh Python processes against a fresh SQLite store (flush interval 0.2 s,
except for kill -9: ``--interval``, by default the SDK's 0.5 s):

* ``kill9``: a child logs the counter ``i`` (0, 1, 2, ...) into one run at a target rate (about 1,000
  and 100,000 points/s, and a tight loop with no pause), and is killed with SIGKILL after a random
  delay. The loss window is the time from the kill to the last stored point's timestamp (an upper
  bound of "last logged to last stored": the child logs until it dies, unless backpressure is
  holding it). ``gap_free``: the stored values are exactly 0..n-1, a prefix of what was logged. The
  achieved rate is the stored points over their timestamps' span; ``peak_rss_mb`` is the child's
  ``VmHWM`` just before the kill.
* ``sigterm``: the same child (tight loop) gets SIGTERM after a random delay; it prints how many
  points it logged as the run unwinds (one fewer if the signal lands between a call and the count's
  increment). Lost = logged - stored (at least 0).
* ``store``: a training run of 1,000 points, paced over a second, through a store fault;
  the child must finish its loop and exit 0. Lost = logged - stored, read afterwards.
  ``locked``: another process holds ``BEGIN EXCLUSIVE`` from before the first run until the training
  loop has finished (so the whole loop runs against a locked store); the run's end then waits for it.
  ``full``: the child's ``RLIMIT_FSIZE`` (SIGXFSZ ignored, as a full disk fails a write without a
  signal) is lowered to 32 KB after the first flush and raised again half-way (space freed);
  ``full until exit`` never raises it (with ``SIGOPT_AI_FLUSH_TIMEOUT=1``), so what was logged after
  is lost and reported at exit. ``deleted``: the store file (and its -wal/-shm) is unlinked half-way
  (the store was flushed once first, so it exists); what was written before is gone with it,
  ``lost_after_fault`` counts what was logged after.
  ``unusable at first use``: the store's folder is a regular file (ENOTDIR, which chmod cannot
  fake for root) until half-way, when it becomes a folder.
* ``fork``: a parent logs in a tight loop from a thread and forks children; each logs into the
  inherited run and into its own run, then leaves (flush+end+``os._exit``, ``os._exit`` once a
  reader sees its records, which its writer thread wrote without a flush: ``written_s`` says after how
  long, or a normal exit). Lost = child records missing from the store; ``hung`` = children
  not gone after 20 s; ``fork_ms``: how long each ``os.fork()`` took in the parent, which includes
  waiting for the parent's write transaction in progress.
* ``workers``: :func:`benchmarks.fault_workers.measure` (8 workers, budget 40, lease 3 s, two
  workers killed with SIGKILL mid-run): suggestions served to a second live worker (overlaps) and
  completed runs with no observation (orphans).

Results go to ``benchmarks/results/faults.json`` and ``.md`` (overwritten on each run).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:  # run as a script: ``benchmarks`` is not an installed package
    sys.path.insert(0, str(REPO))

from benchmarks.fault_workers import spawn  # noqa: E402
from benchmarks.log_overhead import fmt, machine_facts, machine_table, progress, write_results  # noqa: E402
from sigopt_ai.runs._writer import DEFAULT_INTERVAL  # noqa: E402

DEFAULT_RESULTS = HERE / "results"
INTERVAL = 0.2
"""Flush interval of the trials other than kill -9 (short, so that they are quick)."""
RATES = {"~1k/s": 1_000.0, "~100k/s": 100_000.0, "tight loop": 0.0}
"""Target logging rates (points per second); 0 is a loop with no pause."""
STORE_FAULTS = ("locked", "full", "full until exit", "deleted", "unusable at first use")
FORK_EXITS = ("flush, end, os._exit", "os._exit without flush", "normal exit")
CHILD_TIMEOUT_S = 120.0
FULL_AT_BYTES = 32 * 1024

# Logs the counter ``i`` into one run at ``rate`` points/s (0: no pause), in chunks of about a
# millisecond's worth, until it is killed; prints the run id first and, as the run unwinds, the count.
TRAIN_AT_RATE = """
    import sys, time, sigopt_ai as sigopt
    rate = float(sys.argv[1])
    chunk = max(1, int(rate // 1000)) if rate else 1000
    period = chunk / rate if rate else 0.0
    i = 0
    with sigopt.run(name="victim") as run:
        print(run.id, flush=True)
        log = run.log_metric
        next_t = time.perf_counter()
        try:
            while True:
                for _ in range(chunk):
                    log("i", i + 0.0)
                    i += 1
                if period:
                    next_t += period
                    pause = next_t - time.perf_counter()
                    if pause > 0:
                        time.sleep(pause)
        finally:
            print("logged", i, flush=True)
"""

# A run of ``points`` points paced over ``seconds``, through ``fault``; what happens half-way is
# the fault's end (or, for "deleted", the fault itself). Prints the run id first, "trained" when the
# loop is over (before the run ends) and "done" last.
TRAIN_THROUGH_FAULT = """
    import os, resource, signal, sys, time, sigopt_ai as sigopt
    fault, db = sys.argv[1], sys.argv[3]
    points, full_at, seconds = int(sys.argv[2]), int(sys.argv[4]), float(sys.argv[5])
    if fault.startswith("full"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)

    def half_way():
        if fault == "deleted":
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(db + suffix):
                    os.unlink(db + suffix)
        elif fault == "unusable at first use":
            os.unlink(os.path.dirname(db))
            os.makedirs(os.path.dirname(db), exist_ok=True)  # the writer, retrying, may make it first
        elif fault == "full":
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))

    with sigopt.run(name=fault) as run:
        print(run.id, flush=True)
        if fault.startswith("full") or fault == "deleted":
            sigopt.flush()  # the store exists before the fault starts
        if fault.startswith("full"):
            resource.setrlimit(resource.RLIMIT_FSIZE, (full_at, hard))
        for i in range(points):
            run.log_metric("i", float(i))
            if i == points // 2:
                half_way()
            time.sleep(seconds / points)
        print("trained", flush=True)
    print("done", flush=True)
"""

# The parent logs in a tight loop from a thread (so its writer is almost always inside a write
# transaction) and forks; each child logs into the parent's run and into a run of its own, then
# leaves in one of EXITS ways. A child not gone after 20 s is killed and reported as hung. Prints one
# JSON line per child, then the parent's summary.
FORKS_WHILE_WRITING = """
    import json, os, sys, threading, time
    import sigopt_ai as sigopt

    FORKS, EXITS, INTERVAL, DEADLINE = int(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3]), 20.0
    parent = sigopt.create_run(name="parent")
    stop = threading.Event()

    def hammer():
        i = 0
        while not stop.is_set():
            parent.log_metric("parent", i)
            i += 1

    def written_by_itself(run_id, started):
        import sqlite3
        from contextlib import closing
        query = "SELECT count(*) FROM metric_chunks WHERE run_id = ? AND name = 'k'"
        while time.monotonic() - started < DEADLINE:
            with closing(sqlite3.connect(os.environ["SIGOPT_AI_DB"], timeout=DEADLINE)) as db:
                if db.execute(query, (run_id,)).fetchone()[0]:
                    return time.monotonic() - started
            time.sleep(INTERVAL / 10)
        return None

    def child(k):
        how = EXITS[k % len(EXITS)]
        parent.log_metric("from_child", k)
        own = sigopt.create_run(name=f"child-{k}")
        own.log_metric("k", k)
        outcome = {"k": k, "own": own.id, "exit": how}
        if how == "os._exit without flush":
            # No flush, no end: the child's own writer thread must write by itself. How long it takes
            # depends on the parent's writes it queues behind, so it is measured, not assumed.
            outcome["written_s"] = written_by_itself(own.id, time.monotonic())
        else:
            outcome["flushed"] = sigopt.flush(10)
            outcome["state"] = own.end().value
        print(json.dumps(outcome), flush=True)
        if how == "normal exit":
            sys.exit(0)  # atexit runs: it must end only the child's runs
        os._exit(0)

    threading.Thread(target=hammer, daemon=True).start()
    time.sleep(0.3)
    hung, fork_ms = [], []
    for k in range(FORKS):
        t0 = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            child(k)
        fork_ms.append((time.perf_counter() - t0) * 1e3)  # with the wait for a write in progress
        deadline = time.monotonic() + DEADLINE
        while not os.waitpid(pid, os.WNOHANG)[0]:
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                hung.append(k)
                break
            time.sleep(0.01)
    stop.set()
    flushed = sigopt.flush(30)
    state = sigopt.get_run(parent.id).state.value
    summary = {"parent": parent.id, "hung": hung, "flushed": flushed, "state": state, "fork_ms": fork_ms}
    print(json.dumps(summary), flush=True)
"""


# --- the child processes ------------------------------------------------------------------------


def child_env(db: Path, interval: float = INTERVAL, **extra: str) -> dict[str, str]:
    """The environment of a child that stores into ``db``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.pop("SIGOPT_AI_DISABLED", None)
    env.update(
        {"SIGOPT_AI_DB": str(db), "SIGOPT_AI_FLUSH_INTERVAL": str(interval), "SIGOPT_PROJECT": "faults", **extra}
    )
    return env


def first_line(proc: subprocess.Popen[str]) -> str:
    """The child's first line of output (it prints its run id once the run exists)."""
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line:
        _, err = proc.communicate(timeout=CHILD_TIMEOUT_S)
        raise RuntimeError(f"the child printed nothing (rc={proc.returncode}): {err[-2000:]}")
    return line


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident memory (``VmHWM``) in MiB, where /proc has it."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def stored(db: Path, run_id: str, metric: str) -> tuple[Any, list[Any]]:
    """The run's record (None if absent) and its history of ``metric``, read by a fresh backend."""
    from sigopt_ai.backends.sql._backend import SQLBackend

    backend = SQLBackend(str(db))
    try:
        return backend.read_run(run_id), backend.metric_history(run_id, metric)
    finally:
        backend.close()


def is_counter(values: Sequence[float], start: int = 0) -> bool:
    """Whether ``values`` are exactly ``start, start + 1, ...``: nothing missing, nothing twice."""
    return list(values) == [float(i) for i in range(start, start + len(values))]


@contextmanager
def write_lock(db: Path) -> Iterator[Callable[[], None]]:
    """Another process holds the store's write lock (``BEGIN EXCLUSIVE``) until the function this
    yields is called (or the block ends)."""
    db.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
    code = f"""
        import sqlite3, sys
        conn = sqlite3.connect({str(db)!r}, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        print("locked", flush=True)
        sys.stdin.readline()
        conn.execute("COMMIT")
    """
    locker = subprocess.Popen(
        [sys.executable, "-u", "-c", textwrap.dedent(code)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            locker.communicate("\n", timeout=CHILD_TIMEOUT_S)

    try:
        if first_line(locker) != "locked":
            raise RuntimeError("the locker did not take the lock")
        yield release
    finally:
        release()


# --- the trials -----------------------------------------------------------------------------------


def kill9_trial(db: Path, rate: float, delay: float, interval: float = INTERVAL) -> dict[str, Any]:
    """Log at ``rate`` points/s, SIGKILL after ``delay`` s; the loss window and what survived."""
    proc = spawn(TRAIN_AT_RATE, [str(rate)], child_env(db, interval))
    run_id = first_line(proc)
    started_at = time.time()
    time.sleep(delay)
    peak = peak_rss_mb(proc.pid)
    killed_at = time.time()
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=CHILD_TIMEOUT_S)
    _, points = stored(db, run_id, "i")
    values = [p.value for p in points]
    span = points[-1].created - points[0].created if len(points) > 1 else 0.0
    return {
        "rate_target": rate,
        "delay_s": round(delay, 3),
        "interval_s": interval,
        "returncode": proc.returncode,
        "points_stored": len(values),
        "achieved_per_s": len(values) / span if span > 0 else None,
        # With nothing stored, everything since the run started was lost.
        "window_s": killed_at - (points[-1].created if points else started_at),
        "gap_free": is_counter(values),
        "peak_rss_mb": peak,
    }


def sigterm_trial(db: Path, delay: float, rate: float = 0.0, interval: float = INTERVAL) -> dict[str, Any]:
    """Log at ``rate`` points/s, SIGTERM after ``delay`` s; how the run ended and what was lost."""
    proc = spawn(TRAIN_AT_RATE, [str(rate)], child_env(db, interval))
    run_id = first_line(proc)
    time.sleep(delay)
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return {"delay_s": round(delay, 3), "hung": True, "stderr_tail": err[-2000:]}
    # The count may miss the last point: the signal can land between a log call and ``i += 1``.
    logged = int(next(line.split()[1] for line in out.splitlines() if line.startswith("logged ")))
    record, points = stored(db, run_id, "i")
    values = [p.value for p in points]
    return {
        "delay_s": round(delay, 3),
        "hung": False,
        "returncode": proc.returncode,
        "state": None if record is None else record.state.value,
        "failure_kind": None if record is None or record.failure is None else record.failure.kind.value,
        "logged": logged,
        "stored": len(values),
        "lost": max(0, logged - len(values)),
        "gap_free": is_counter(values),
        "stderr_tail": err[-2000:],
    }


def store_fault_trial(
    tmp: Path, fault: str, points: int = 1000, seconds: float = 1.0, interval: float = INTERVAL
) -> dict[str, Any]:
    """Train ``points`` points over ``seconds`` through ``fault`` (one of :data:`STORE_FAULTS`); what landed."""
    if fault not in STORE_FAULTS:
        raise ValueError(f"unknown fault {fault!r}")
    db = tmp / "store" / "faults.db"
    extra = {"SIGOPT_AI_FLUSH_TIMEOUT": "1" if fault == "full until exit" else "30"}
    if fault == "unusable at first use":
        db.parent.parent.mkdir(parents=True, exist_ok=True)
        db.parent.write_text("a file where the store's folder should be")
    args = [fault, str(points), str(db), str(FULL_AT_BYTES), str(seconds)]
    started = time.monotonic()
    with write_lock(db) if fault == "locked" else _no_lock() as release:
        proc = spawn(TRAIN_THROUGH_FAULT, args, child_env(db, interval, **extra))
        run_id = first_line(proc)
        assert proc.stdout is not None
        if proc.stdout.readline().strip() == "trained":  # the loop finished while the store was locked
            release()
        out, err = proc.communicate(timeout=CHILD_TIMEOUT_S)
    wall = time.monotonic() - started
    record, history = stored(db, run_id, "i")
    values = [p.value for p in history]
    after = points // 2 + 1  # the first point logged after the half-way event
    kept = set(values)
    return {
        "fault": fault,
        "returncode": proc.returncode,
        "finished": "done" in out.split(),
        "wall_s": wall,
        "logged": points,
        "stored": len(values),
        "lost": points - len(kept),
        "lost_after_fault": sum(1 for i in range(after, points) if float(i) not in kept),
        "duplicates": len(values) - len(kept),
        "in_order": values == sorted(values),
        "state": None if record is None else record.state.value,
        "reported_unwritten": "could not be written" in err,
        "stderr_tail": err[-2000:],
    }


@contextmanager
def _no_lock() -> Iterator[Callable[[], None]]:
    yield lambda: None


def fork_trial(db: Path, forks: int, interval: float = INTERVAL) -> dict[str, Any]:
    """Fork ``forks`` children while the parent's writer writes; what each did and what landed."""
    proc = spawn(FORKS_WHILE_WRITING, [str(forks), json.dumps(FORK_EXITS), str(interval)], child_env(db, interval))
    out, err = proc.communicate(timeout=CHILD_TIMEOUT_S)
    if proc.returncode != 0:
        raise RuntimeError(f"the forking parent failed (rc={proc.returncode}): {err[-2000:]}")
    lines = [json.loads(line) for line in out.splitlines()]
    summary = lines.pop()
    children = sorted(lines, key=lambda outcome: outcome["k"])
    parent, from_children = stored(db, summary["parent"], "from_child")
    _, parent_points = stored(db, summary["parent"], "parent")
    own = [stored(db, child["own"], "k") for child in children]
    missing = forks - len({p.value for p in from_children}) + sum(1 for _, points in own if not points)
    return {
        "forks": forks,
        "hung": len(summary["hung"]),
        "children": children,
        "parent": summary,
        "parent_state_at_exit": None if parent is None else parent.state.value,
        "parent_gap_free": is_counter([p.value for p in parent_points]),
        "parent_points": len(parent_points),
        "child_records": 2 * forks,
        "lost": missing,
        "own_runs": [None if record is None else record.state.value for record, _ in own],
        "fork_ms_median": statistics.median(summary["fork_ms"]),
        "fork_ms_max": max(summary["fork_ms"]),
        "unflushed_written_s": [c["written_s"] for c in children if "written_s" in c],
    }


# --- the benchmark --------------------------------------------------------------------------------


def bench_kill9(
    scratch: Path, repeats: int, delays: tuple[float, float], interval: float, rng: random.Random
) -> dict[str, Any]:
    """Every rate, ``repeats`` kills each at random delays; per rate the window's median and max."""
    out: dict[str, Any] = {}
    for label, rate in RATES.items():
        trials = []
        for rep in range(repeats):
            trial = kill9_trial(scratch / f"kill9-{len(out)}-{rep}.db", rate, rng.uniform(*delays), interval)
            trials.append(trial)
            progress(f"kill -9 {label} rep{rep}: window {fmt(trial['window_s'])} s, gap-free {trial['gap_free']}")
        windows = [t["window_s"] for t in trials if t["window_s"] is not None]
        achieved = [t["achieved_per_s"] for t in trials if t["achieved_per_s"]]
        rss = [t["peak_rss_mb"] for t in trials if t["peak_rss_mb"] is not None]
        out[label] = {
            "rate_target": rate,
            "achieved_per_s_median": statistics.median(achieved) if achieved else None,
            "window_s_median": statistics.median(windows) if windows else None,
            "window_s_max": max(windows) if windows else None,
            "gap_free": all(t["gap_free"] for t in trials),
            "peak_rss_mb_max": max(rss) if rss else None,
            "trials": trials,
        }
    return out


def bench_faults(
    scratch: Path, repeats: int, forks: int, delays: tuple[float, float], seconds: float, rng: random.Random
) -> Any:
    """Records lost after each fault: SIGTERM, the store faults (training ``seconds`` long), fork children."""
    out: dict[str, Any] = {}
    terms = [sigterm_trial(scratch / f"sigterm-{rep}.db", rng.uniform(*delays)) for rep in range(repeats)]
    out["SIGTERM"] = {
        "trials": terms,
        "lost": sum(t.get("lost", 0) for t in terms),
        "logged": sum(t.get("logged", 0) for t in terms),
        "ok": all(not t["hung"] and t["failure_kind"] == "interrupted" and t["gap_free"] for t in terms),
    }
    progress(f"SIGTERM: lost {out['SIGTERM']['lost']} of {out['SIGTERM']['logged']}")
    for fault in STORE_FAULTS:
        trial = store_fault_trial(scratch / fault.replace(" ", "-"), fault, seconds=seconds)
        out[fault] = {"lost": trial["lost"], "logged": trial["logged"], "trials": [trial]}
        progress(f"{fault}: lost {trial['lost']} of {trial['logged']}, exit {trial['returncode']}")
    fork = fork_trial(scratch / "fork.db", forks)
    out["fork child"] = {"lost": fork["lost"], "logged": fork["child_records"], "trials": [fork]}
    progress(f"fork: lost {fork['lost']} of {fork['child_records']}, hung {fork['hung']}")
    return out


def bench_workers(quick: bool) -> dict[str, Any]:
    """The parallel-workers figures from ``benchmarks/fault_workers.py`` (if it is there)."""
    try:
        from benchmarks.fault_workers import measure
    except ImportError as exc:
        return {"measured": False, "why": f"benchmarks/fault_workers.py is not importable: {exc}"}
    settings = {"repeats": 1, "workers": 2, "budget": 4, "kills": 1, "lease": 1.0} if quick else {"repeats": 3}
    figures = measure(**settings)
    progress(f"workers: overlaps {figures['overlaps']}, orphans {figures['orphans']}")
    return {"measured": True, **figures}


# --- reporting ------------------------------------------------------------------------------------


def render_markdown(results: dict[str, Any]) -> str:
    """The results as the Markdown report."""
    cfg = results["config"]
    lines = [
        "# Faults: what kill -9, SIGTERM, fork and store trouble cost a training run",
        "",
        *machine_table(results),
        f"## kill -9 loss window by logging rate (flush interval {cfg['kill9_interval_s']} s, "
        f"{cfg['repeats']} kills per rate after {cfg['delays_s'][0]}-{cfg['delays_s'][1]} s)",
        "",
        "| target rate | achieved (points/s, median) | loss window median (s) | max (s) | stored history gap-free "
        "| peak RSS of the logging process (MiB, max) |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for label, row in results["kill9"].items():
        lines.append(
            f"| {label} | {fmt(row['achieved_per_s_median'])} | {fmt(row['window_s_median'])} | "
            f"{fmt(row['window_s_max'])} | {row['gap_free']} | {fmt(row['peak_rss_mb_max'])} |"
        )
    lines += [
        "",
        "The window is measured from the kill to the last stored point's timestamp, so it also counts",
        "any time the logging loop spent held by backpressure. Every stored history was checked to be",
        "exactly 0..n-1 (a prefix of what was logged).",
        "",
        f"## Records lost after each fault (flush interval {cfg['interval_s']} s)",
        "",
        "| fault | records logged | records lost | notes |",
        "|---|---:|---:|---|",
    ]
    for name, row in results["faults"].items():
        lines.append(f"| {name} | {row['logged']:,} | {row['lost']:,} | {_fault_note(name, row)} |")
    lines += ["", "## Parallel workers (`benchmarks/fault_workers.py`)", ""]
    workers = results["workers"]
    if not workers.get("measured"):
        lines.append(f"Not measured: {workers.get('why')}")
    else:
        lines += [
            "| workers | budget | lease (s) | killed per repeat | repeats | overlaps | orphans | lost | "
            "budget exact | wall per repeat (median, s) |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
            f"| {workers['workers']} | {workers['budget']} | {workers['lease_s']} | {workers['kills']} | "
            f"{workers['repeats']} | {workers['overlaps']} | {workers['orphans']} | {workers['lost']} | "
            f"{workers['repeats_budget_exact']} of {workers['repeats']} | {fmt(workers['wall_s']['median'])} |",
            "",
            "Overlaps: a suggestion served to a second worker while an earlier run of it was alive.",
            "Orphans: a completed run with no observation.",
        ]
    lines += [
        "",
        "## Method",
        "",
        "- Every trial is a fresh Python process writing a fresh SQLite store; the store is read",
        "  afterwards by a fresh backend in the benchmark's process. See the module docstring of",
        "  `benchmarks/faults.py` for each scenario.",
        "- The machine is shared: load inflates windows; compare rows of one run.",
        "",
    ]
    return "\n".join(lines)


def _fault_note(name: str, row: dict[str, Any]) -> str:
    trials = row["trials"]
    if name == "SIGTERM":
        kinds = sorted({str(t.get("failure_kind")) for t in trials})
        return f"{len(trials)} trials; runs ended {', '.join(kinds)}; stored history gap-free: {row['ok']}"
    if name == "fork child":
        trial = trials[0]
        written = ", ".join("never" if w is None else fmt(w) for w in trial["unflushed_written_s"])
        return (
            f"{trial['forks']} children forked mid-write, {trial['hung']} hung; parent's history gap-free: "
            f"{trial['parent_gap_free']}; os.fork() took {fmt(trial['fork_ms_median'])} ms median, "
            f"{fmt(trial['fork_ms_max'])} ms max (it waits for a write in progress); records a child never "
            f"flushed were written by its writer after {written} s"
        )
    trial = trials[0]
    note = f"exit {trial['returncode']}, training finished: {trial['finished']}; run {trial['state']}"
    if name == "deleted":
        note += f"; lost after the deletion: {trial['lost_after_fault']} (the rest went with the deleted file)"
    if name == "full until exit":
        note += f"; reported at exit: {trial['reported_unwritten']}"
    return note


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat of each, short runs, 2 workers")
    parser.add_argument("--repeats", type=int, default=5, help="kills per rate and SIGTERMs (default 5)")
    parser.add_argument("--forks", type=int, default=12, help="children forked in the fork trial (default 12)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random delays")
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL, help="kill -9 trials: flush interval (s)")
    parser.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS, help="where faults.json/.md go")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and write the results."""
    args = parse_args(argv)
    repeats, forks, seconds = (1, 3, 0.3) if args.quick else (args.repeats, args.forks, 1.0)
    delays = (0.3, 0.6) if args.quick else (0.5, 2.5)
    rng = random.Random(args.seed)
    command = "python benchmarks/faults.py " + " ".join(sys.argv[1:] if argv is None else argv)
    results: dict[str, Any] = {
        "command": command.strip(),
        "machine": machine_facts(),
        "config": {
            "interval_s": INTERVAL,
            "kill9_interval_s": args.interval,
            "repeats": repeats,
            "forks": forks,
            "delays_s": delays,
            "store_fault_training_s": seconds,
            "seed": args.seed,
        },
    }
    with tempfile.TemporaryDirectory(prefix="sigopt-ai-faults-") as tmp:
        scratch = Path(tmp)
        results["kill9"] = bench_kill9(scratch, repeats, delays, args.interval, rng)
        results["faults"] = bench_faults(scratch, repeats, forks, delays, seconds, rng)
    results["workers"] = bench_workers(args.quick)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    markdown = render_markdown(results)
    write_results(args.results_dir, "faults", results, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
