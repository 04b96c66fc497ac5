"""Logging overhead of sigopt_ai: what ``run.log_metric`` costs the training loop, and how fast points
become durable; with ``--peers``, the same figures for sigopt 8.8.3, MLflow, wandb and Optuna.

Usage (from the repository root)::

    python benchmarks/log_overhead.py            # ours only (about a minute)
    python benchmarks/log_overhead.py --peers    # ours, then each peer in its own venv

What is measured (each repetition in a fresh process, in a fresh work folder; medians reported):

* ``calls``: ``run.log_metric("loss", v)`` timed one call at a time with ``time.perf_counter_ns``
  on the caller's thread, 100,000 calls in one run: p50/p99/p99.9/max in µs. Also the cold start
  (the first ``with sigopt.run()`` of the process: store and writer thread created), the end of that
  run (``__exit__``: ends it and makes the 100,000 points durable), warm start/end latencies (short
  runs after it), the timer's own floor, and garbage collections during the loop.
* ``durable``: 1,000,000 ``log_metric`` calls in one run, then ``sigopt.flush()``: the time from the
  first call until ``flush`` returns True, checked afterwards by counting the run's points in the
  SQLite store (rows of ``metric_points``, or the values packed in ``metric_chunks``).
* ``--peers``: the peers' scripts in ``benchmarks/peers/`` (one shared harness: 10,000 calls, start,
  end, p50/p99/max, median of repetitions), each in a venv under ``--cache-dir``, with our SDK run
  through the same harness; one table with peer/ours ratios. Peers run in a network namespace that
  has only the loopback interface when this user may create one (root with ``unshare``), and always
  with proxies pointed at a closed loopback port, ``WANDB_MODE=offline`` and telemetry off.

Results go to ``benchmarks/results/log_overhead.json`` and ``.md`` (overwritten on each run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import json
import math
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PEERS_DIR = HERE / "peers"
DEFAULT_RESULTS = HERE / "results"
DEFAULT_CACHE = Path("~/.cache/sigopt-ai-bench").expanduser()
RESULT_PREFIX = "RESULT "

TARGETS = {"p50_us": 2.0, "p99_us": 20.0, "durable_s": 5.0}
"""The issue's targets: p50 <= 2 µs, p99 <= 20 µs, 1M points durable in <= 5 s."""

SHORT_RUNS = 20
"""Warm start/end latencies: this many short runs (10 points each) after the measured run."""

FLUSH_TIMEOUT_S = 600.0
CHILD_TIMEOUT_S = 1800
PEER_TIMEOUT_S = 3600
DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens, so a stray request fails fast


# --- the measured child processes (ours) ------------------------------------------------------


def value_for(i: int) -> float:
    """The value logged by call ``i`` (the peers' harness logs the same)."""
    return 1.0 / (i + 1) + 0.001 * (i % 7)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` percentile (0 < q <= 100) of already sorted values."""
    return sorted_values[max(0, math.ceil(q / 100 * len(sorted_values)) - 1)]


def latency_stats(times_ns: Sequence[int]) -> dict[str, float]:
    """p50/p90/p99/p99.9/max/mean in µs, and how many calls took over 100 µs and over 1 ms."""
    ordered = sorted(times_ns)
    return {
        "p50_us": statistics.median(ordered) / 1e3,
        "p90_us": percentile(ordered, 90) / 1e3,
        "p99_us": percentile(ordered, 99) / 1e3,
        "p99_9_us": percentile(ordered, 99.9) / 1e3,
        "max_us": ordered[-1] / 1e3,
        "mean_us": sum(ordered) / len(ordered) / 1e3,
        "calls_over_100us": sum(1 for t in ordered if t > 100_000),
        "calls_over_1ms": sum(1 for t in ordered if t > 1_000_000),
    }


def count_points(db: Path, run_id: str) -> tuple[int, str]:
    """The points of ``run_id`` in the store, read with a separate ``sqlite3`` connection, and how.

    A store with a ``metric_points`` table (one row per point) is counted by rows; one with
    ``metric_chunks`` (one row per run, metric and write batch, values packed as float64) by the
    number of float64 values its chunks actually hold, checked against their ``count`` column.
    """
    with closing(sqlite3.connect(db)) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "metric_points" in tables:
            query = "SELECT COUNT(*) FROM metric_points WHERE run_id = ?"
            (rows,) = conn.execute(query, (run_id,)).fetchone()
            return int(rows), "COUNT(*) of metric_points rows"
        query = (
            'SELECT COALESCE(SUM("count"), 0), COALESCE(SUM(LENGTH("values")) / 8, 0), COUNT(*) '
            "FROM metric_chunks WHERE run_id = ?"
        )
        declared, held, chunks = conn.execute(query, (run_id,)).fetchone()
    if declared != held:
        return -1, f"metric_chunks: count column says {declared}, packed values hold {held}"
    return int(held), f"float64 values packed in {chunks} metric_chunks rows"


def _gc_collections() -> list[int]:
    return [generation["collections"] for generation in gc.get_stats()]


def child_calls(workdir: Path, n: int) -> dict[str, Any]:
    """Per-call latency of ``log_metric`` over ``n`` calls, and start/end latencies."""
    pc = time.perf_counter_ns
    t0 = pc()
    import sigopt_ai as sigopt

    import_ms = (pc() - t0) / 1e6
    db = workdir / "sigopt_ai.db"
    sigopt.configure(db=str(db))

    floor = [0] * n  # the cost of the timer itself: an empty timed region
    for i in range(n):
        t0 = pc()
        floor[i] = pc() - t0

    spec = sigopt.run(name="log-overhead", project="bench")
    t0 = pc()
    run = spec.__enter__()
    start_cold_ns = pc() - t0

    gc_before = _gc_collections()
    times = [0] * n
    loop_t0 = pc()
    for i in range(n):
        value = value_for(i)
        t0 = pc()
        run.log_metric("loss", value)
        times[i] = pc() - t0
    loop_ns = pc() - loop_t0
    gc_during = [b - a for a, b in zip(gc_before, _gc_collections(), strict=True)]

    t0 = pc()
    spec.__exit__(None, None, None)
    end_ns = pc() - t0
    stored, counted_by = count_points(db, run.id)

    starts, ends = [], []
    for k in range(SHORT_RUNS):
        short = sigopt.run(name=f"short-{k}", project="bench")
        t0 = pc()
        short_run = short.__enter__()
        starts.append(pc() - t0)
        for i in range(10):
            short_run.log_metric("loss", value_for(i))
        t0 = pc()
        short.__exit__(None, None, None)
        ends.append(pc() - t0)

    gc.collect()
    t0 = pc()
    gc.collect()  # for scale: a call that triggers a full collection waits this long
    full_gc_ns = pc() - t0

    tenth = max(1, n // 10)
    return {
        "n": n,
        **latency_stats(times),
        "p50_first10pct_us": statistics.median(times[:tenth]) / 1e3,
        "p50_last10pct_us": statistics.median(times[-tenth:]) / 1e3,
        "loop_wall_ms": loop_ns / 1e6,
        "timer_floor": latency_stats(floor),
        "gc_collections_during_loop": gc_during,
        "full_gc_ms": full_gc_ns / 1e6,
        "import_ms": import_ms,
        "start_cold_ms": start_cold_ns / 1e6,
        "end_after_calls_ms": end_ns / 1e6,
        "start_warm_ms": statistics.median(starts) / 1e6,
        "start_warm_max_ms": max(starts) / 1e6,
        "end_warm_ms": statistics.median(ends) / 1e6,
        "end_warm_max_ms": max(ends) / 1e6,
        "points_stored": stored,
        "counted_by": counted_by,
        "verified": stored == n,
        "switch_interval_ms": sys.getswitchinterval() * 1e3,
    }


def child_durable(workdir: Path, points: int) -> dict[str, Any]:
    """Time from the first of ``points`` ``log_metric`` calls until ``sigopt.flush()`` returns."""
    import sigopt_ai as sigopt

    db = workdir / "sigopt_ai.db"
    sigopt.configure(db=str(db))
    spec = sigopt.run(name="log-overhead-durable", project="bench")
    run = spec.__enter__()
    log_metric = run.log_metric
    pc = time.perf_counter_ns
    cpu0 = time.process_time()
    t0 = pc()
    for i in range(points):
        log_metric("loss", value_for(i))
    loop_ns = pc() - t0
    flushed = sigopt.flush(timeout=FLUSH_TIMEOUT_S)
    durable_ns = pc() - t0
    cpu_s = time.process_time() - cpu0
    t1 = pc()
    spec.__exit__(None, None, None)
    end_ns = pc() - t1
    stored, counted_by = count_points(db, run.id)
    return {
        "points": points,
        "durable_s": durable_ns / 1e9,
        "loop_s": loop_ns / 1e9,
        "drain_after_loop_s": (durable_ns - loop_ns) / 1e9,
        "points_per_s": points / (durable_ns / 1e9),
        "process_cpu_s": cpu_s,
        "flush_returned": flushed,
        "end_ms": end_ns / 1e6,
        "points_stored": stored,
        "counted_by": counted_by,
        "verified": flushed and stored == points,
    }


# --- the parent: ours -------------------------------------------------------------------------


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.pop("SIGOPT_AI_DB", None)
    env.pop("SIGOPT_AI_FLUSH_INTERVAL", None)
    env.pop("SIGOPT_AI_DISABLED", None)
    return env


def _run_child(kind: str, workdir: Path, size: int) -> dict[str, Any]:
    """One repetition of ``kind`` in a fresh interpreter whose working directory is ``workdir``."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        kind,
        "--workdir",
        str(workdir),
        "--size",
        str(size),
    ]
    try:
        proc = subprocess.run(
            cmd, cwd=workdir, env=_child_env(), capture_output=True, text=True, timeout=CHILD_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {CHILD_TIMEOUT_S} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        return {"error": f"rc={proc.returncode}: {(proc.stderr or proc.stdout)[-3000:]}"}
    result: dict[str, Any] = json.loads(lines[-1][len(RESULT_PREFIX) :])
    return result


def _median_of(reps: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The median of every numeric statistic over successful repetitions (nested dicts too)."""
    ok = [r for r in reps if "error" not in r]
    if not ok:
        return None
    out: dict[str, Any] = {}
    for key, first in ok[0].items():
        values = [r[key] for r in ok]
        if isinstance(first, bool):
            out[key] = all(values)
        elif isinstance(first, (int, float)):
            out[key] = statistics.median(values)
        elif isinstance(first, dict):
            out[key] = _median_of(values)
        elif isinstance(first, list) and all(isinstance(x, (int, float)) for x in first):
            out[key] = [statistics.median(column) for column in zip(*values, strict=True)]
        else:
            out[key] = first
    return out


def bench_ours(calls: int, points: int, reps: int, scratch: Path) -> dict[str, Any]:
    """Both measurements of our SDK, ``reps`` fresh processes each."""
    results: dict[str, Any] = {}
    for kind, size in (("calls", calls), ("durable", points)):
        rep_results = []
        for rep in range(reps):
            workdir = scratch / f"ours-{kind}-rep{rep}"
            workdir.mkdir(parents=True)
            result = _run_child(kind, workdir, size)
            rep_results.append(result)
            shutil.rmtree(workdir, ignore_errors=True)  # a 1M-point store is ~100 MB
            progress(f"ours {kind} rep{rep}: " + _summary_line(kind, result))
        results[kind] = {"median": _median_of(rep_results), "reps": rep_results}
    return results


def _summary_line(kind: str, result: dict[str, Any]) -> str:
    if "error" in result:
        return "FAILED " + result["error"][-300:]
    if kind == "calls":
        return (
            f"p50={result['p50_us']:.2f}us p99={result['p99_us']:.2f}us max={result['max_us']:.0f}us "
            f"start={result['start_cold_ms']:.1f}ms end={result['end_after_calls_ms']:.1f}ms "
            f"verified={result['verified']}"
        )
    return (
        f"durable={result['durable_s']:.2f}s (loop {result['loop_s']:.2f}s) "
        f"rows={result['points_stored']} verified={result['verified']}"
    )


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- peers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeerConfig:
    """One configuration of a peer's script: how it logs, and when its points are durable."""

    name: str
    label: str
    durability: str


@dataclass(frozen=True)
class Peer:
    """A peer SDK: its venv requirements, its script in ``benchmarks/peers``, its configs."""

    key: str
    sdk: str
    requirements: tuple[str, ...]
    script: str
    configs: tuple[PeerConfig, ...]
    system_site_packages: bool = False
    """The venv also sees this interpreter's packages (the frameworks a peer's callbacks hook into)."""

    def venv_dir(self, cache: Path) -> Path:
        """The venv folder; a new one when the requirements or the Python version change."""
        spec = json.dumps([self.requirements, platform.python_version(), *(["system"] * self.system_site_packages)])
        spec = spec.encode()
        return cache / "venvs" / f"{self.key}-{hashlib.sha256(spec).hexdigest()[:10]}"


OURS = Peer(
    key="sigopt_ai",
    sdk="sigopt_ai (this repo)",
    requirements=(),
    script="bench_sigopt_ai.py",
    configs=(
        PeerConfig(
            "sqlite",
            "SQLite store, `with sigopt.run()`, `run.log_metric`",
            "queued; end flushes (WAL, synchronous=NORMAL)",
        ),
    ),
)

_PER_REQUEST = "blocking HTTP request per call"

PEERS = (
    Peer(
        key="sigopt",
        sdk="sigopt 8.8.3",
        requirements=("sigopt==8.8.3", "psutil"),
        script="bench_sigopt.py",
        configs=(
            PeerConfig("log_metric", "local stub API, `run.log_metric`", _PER_REQUEST),
            PeerConfig("log_checkpoint", "local stub API, `run.log_checkpoint`", _PER_REQUEST),
        ),
    ),
    Peer(
        key="mlflow",
        sdk="MLflow",
        requirements=("mlflow==3.17.2", "psutil"),
        script="bench_mlflow.py",
        configs=(
            PeerConfig("file_sync", "file store, sync", "written per call"),
            PeerConfig("file_async", "file store, `synchronous=False`", "queued; end_run drains"),
            PeerConfig("file_async_buffer1s", "file store, async + 1 s buffering", "queued; end_run drains"),
            PeerConfig("sqlite_sync", "SQLite, sync", "committed per call"),
            PeerConfig("sqlite_async", "SQLite, `synchronous=False`", "queued; end_run drains"),
            PeerConfig("sqlite_async_buffer1s", "SQLite, async + 1 s buffering", "queued; end_run drains"),
        ),
    ),
    Peer(
        key="wandb",
        sdk="wandb",
        requirements=("wandb==0.31.0", "psutil"),
        script="bench_wandb.py",
        configs=(PeerConfig("offline", '`mode="offline"`', "sent to wandb-core; finish writes the file"),),
    ),
    Peer(
        key="optuna",
        sdk="Optuna",
        requirements=("optuna==5.0.0", "psutil"),
        script="bench_optuna.py",
        configs=(
            PeerConfig("inmemory", "in-memory storage, `trial.report`", "never (in memory)"),
            PeerConfig("sqlite", "SQLite RDB storage, `trial.report`", "committed per call"),
        ),
    ),
)

_VERSION_KEYS = ("sigopt", "mlflow", "wandb", "optuna", "sigopt_ai")


def ensure_venv(peer: Peer, cache: Path) -> tuple[Path | None, dict[str, Any]]:
    """The peer's venv Python, created and installed on first use; ``(None, info)`` if that failed."""
    venv = peer.venv_dir(cache)
    marker = venv / "sigopt-ai-bench.json"
    python = venv / "bin" / "python"
    if marker.exists() and python.exists():
        info: dict[str, Any] = json.loads(marker.read_text())
        return python, {**info, "reused": True}
    shutil.rmtree(venv, ignore_errors=True)  # a partial venv from an interrupted install
    progress(f"creating venv for {peer.key}: {venv} ({' '.join(peer.requirements)})")
    t0 = time.monotonic()
    steps = [
        [sys.executable, "-m", "venv", *(["--system-site-packages"] * peer.system_site_packages), str(venv)],
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *peer.requirements],
    ]
    for cmd in steps:
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PEER_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            shutil.rmtree(venv, ignore_errors=True)
            return None, {"status": "install_failed", "error": f"{' '.join(cmd[:4])}: {exc}"}
        if proc.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            tail = (proc.stderr or proc.stdout)[-2000:]
            error = f"{' '.join(cmd[:5])}: rc={proc.returncode}: {tail}"
            return None, {"status": "install_failed", "error": error}
    freeze = subprocess.run([str(python), "-m", "pip", "freeze", "--local"], capture_output=True, text=True).stdout
    info = {
        "status": "installed",
        "venv": str(venv),
        "requirements": list(peer.requirements),
        "install_s": round(time.monotonic() - t0, 1),
        "installed": {line.split("==")[0].lower(): line.split("==")[1] for line in freeze.splitlines() if "==" in line},
    }
    marker.write_text(json.dumps(info, indent=1))
    return python, {**info, "reused": False}


def isolation_prefix(enabled: bool) -> tuple[list[str], str]:
    """A command prefix that runs in a network namespace with only loopback, and what it does."""
    if not enabled:
        return [], "env guards only (--no-isolation)"
    unshare, ip = shutil.which("unshare"), shutil.which("ip")
    if unshare is None or ip is None or os.geteuid() != 0:
        return [], "env guards only (no unshare/ip, or not root)"
    prefix = [unshare, "--net", "sh", "-c", f'{ip} link set lo up && exec "$@"', "sh"]
    bind = "import socket; socket.socket().bind(('127.0.0.1', 0))"
    probe = subprocess.run([*prefix, sys.executable, "-c", bind], capture_output=True, text=True)
    if probe.returncode != 0:
        return [], f"env guards only (unshare failed: {probe.stderr.strip()[-200:]})"
    return prefix, "network namespace with loopback only (unshare --net), plus env guards"


def peer_env(cache: Path) -> dict[str, str]:
    """No network: proxies to a closed loopback port, offline modes, telemetry off; HOME in the cache."""
    home = cache / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = _child_env()
    env.update(
        {
            "HOME": str(home),
            "HTTP_PROXY": DEAD_PROXY,
            "HTTPS_PROXY": DEAD_PROXY,
            "http_proxy": DEAD_PROXY,
            "https_proxy": DEAD_PROXY,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "WANDB_MODE": "offline",
            "WANDB_SILENT": "true",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "1",
            "GIT_PYTHON_REFRESH": "quiet",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def run_harness(
    peer: Peer, python: Path, n: int, reps: int, scratch: Path, prefix: list[str], env: dict[str, str]
) -> dict[str, Any]:
    """Run one peer's script through the shared harness; its per-config medians and repetitions."""
    out = scratch / f"{peer.key}.json"
    work = scratch / peer.key
    work.mkdir(parents=True)
    run_env = {**env, "BENCH_N": str(n), "BENCH_REPS": str(reps), "BENCH_OUT": str(out), "BENCH_TMP": str(work)}
    progress(f"peer {peer.key}: {len(peer.configs)} config(s) x {reps} rep(s) x {n:,} calls")
    try:
        proc = subprocess.run(
            [*prefix, str(python), str(PEERS_DIR / peer.script)],
            env=run_env,
            cwd=work,
            timeout=PEER_TIMEOUT_S,
            capture_output=True,
            text=True,
        )
    except subprocess.TimeoutExpired:
        return {"status": "run_failed", "error": f"timed out after {PEER_TIMEOUT_S} s"}
    for line in proc.stdout.splitlines():
        progress(f"  {peer.key} {line}")
    if proc.returncode != 0 or not out.exists():
        tail = (proc.stderr or proc.stdout)[-2000:]
        return {"status": "run_failed", "error": f"rc={proc.returncode}: {tail}"}
    configs: dict[str, Any] = json.loads(out.read_text())
    return {"status": "ok", "configs": configs}


def bench_peers(peers: Sequence[Peer], n: int, reps: int, cache: Path, scratch: Path, isolate: bool) -> dict[str, Any]:
    """Ours and every peer through the same harness, one after another."""
    prefix, isolation = isolation_prefix(isolate)
    env = peer_env(cache)
    progress(f"peer isolation: {isolation}")
    results: dict[str, Any] = {"isolation": isolation, "calls": n, "reps": reps, "sdks": {}}
    for peer in (OURS, *peers):
        if peer is OURS:
            python: Path | None = Path(sys.executable)
            install: dict[str, Any] = {"status": "current interpreter", "venv": sys.prefix}
        else:
            python, install = ensure_venv(peer, cache)
        if python is None:
            progress(f"peer {peer.key}: install failed, recorded")
            results["sdks"][peer.key] = {"install": install, "status": "install_failed"}
            continue
        run = run_harness(peer, python, n, reps, scratch, prefix, env)
        results["sdks"][peer.key] = {"install": install, **run}
    return results


# --- reporting --------------------------------------------------------------------------------


def write_results(results_dir: Path, name: str, results: dict[str, Any], markdown: str) -> None:
    """Write ``<name>.json`` (every figure) and ``<name>.md`` (the summary) into ``results_dir``, and print
    the summary."""
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / f"{name}.json").write_text(json.dumps(results, indent=1) + "\n")
    (results_dir / f"{name}.md").write_text(markdown)
    print(markdown)


def machine_facts() -> dict[str, Any]:
    """CPU, memory, Python, library versions, date and load: what the figures depend on."""
    import sqlalchemy

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        import psutil

        mem_gib = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    return {
        "date_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": model,
        "memory_gib": mem_gib,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        "repo_commit": _repo_commit(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _repo_commit() -> str | None:
    """HEAD's commit, read from the .git folder's files (no git command)."""
    git = REPO / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head
        ref = head[5:]
        if (git / ref).exists():
            return (git / ref).read_text().strip()
        for line in (git / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split()[0]
    except OSError:
        pass
    return None


def fmt(x: float | None, digits: int = 1) -> str:
    """A number for a table: thousands separators when large, more digits when small."""
    if x is None:
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}" if abs(x) < 1 else f"{x:.{digits}f}"


def ratio(peer: float | None, ours: float | None) -> str:
    """``peer / ours`` as ``12.3x``."""
    if peer is None or not ours:
        return "n/a"
    x = peer / ours
    return f"{x:.2f}x" if x < 1 else f"{x:.1f}x" if x < 100 else f"{x:,.0f}x"


def _verdict(value: float | None, limit: float) -> str:
    return "n/a" if value is None else ("**pass**" if value <= limit else "**FAIL**")


def _version(entry: dict[str, Any]) -> str:
    for rep in entry.get("reps", []):
        verify = rep.get("verify") or {}
        for key in _VERSION_KEYS:
            if key in verify:
                return str(verify[key])
    return ""


def _stored(entry: dict[str, Any]) -> str:
    """What the peer's untimed check found (rows, requests the stub got, files), from one repetition."""
    for rep in entry.get("reps", []):
        verify = rep.get("verify")
        if verify:
            if "points_stored" in verify:
                return f"{verify['points_stored']:,}"
            return ", ".join(f"{k}: {v}" for k, v in verify.items() if k not in _VERSION_KEYS)
    return ""


def machine_table(results: dict[str, Any]) -> list[str]:
    """The report's opening lines: the command, the date and commit, and the machine's facts."""
    m = results["machine"]
    return [
        f"Command: `{results['command']}`  ",
        f"Date (UTC): {m['date_utc']}; repo commit: `{m['repo_commit']}`",
        "",
        "| machine | |",
        "|---|---|",
        f"| CPUs | {m['cpu_count']} ({m['cpus_usable']} usable), {m['cpu_model']} |",
        f"| memory | {m['memory_gib']} GiB |",
        f"| Python | {m['python_implementation']} {m['python']} on {m['platform']} |",
        f"| SQLite / SQLAlchemy | {m['sqlite']} / {m['sqlalchemy']} |",
        f"| load average (1/5/15 min) | start {m['load_average_at_start']}, end {m.get('load_average_at_end')} |",
        "",
    ]


def render_markdown(results: dict[str, Any]) -> str:
    """The human-readable report."""
    lines = [
        "# Logging overhead: `run.log_metric` on the caller's thread, and time to durable",
        "",
        *machine_table(results),
    ]
    calls = results["ours"]["calls"]["median"]
    durable = results["ours"]["durable"]["median"]
    reps = results["config"]["reps"]
    if calls:
        floor = calls["timer_floor"]
        gc_counts = " / ".join(f"{x:g}" for x in calls["gc_collections_during_loop"])
        lines += [
            f"## sigopt_ai: {calls['n']:,} `run.log_metric` calls in one run (median of {reps} processes)",
            "",
            "| statistic | value | target | verdict |",
            "|---|---:|---:|---|",
            f"| p50 per call | {fmt(calls['p50_us'])} µs | ≤ {TARGETS['p50_us']:g} µs "
            f"| {_verdict(calls['p50_us'], TARGETS['p50_us'])} |",
            f"| p99 per call | {fmt(calls['p99_us'])} µs | ≤ {TARGETS['p99_us']:g} µs "
            f"| {_verdict(calls['p99_us'], TARGETS['p99_us'])} |",
            f"| p90 / p99.9 per call | {fmt(calls['p90_us'])} / {fmt(calls['p99_9_us'])} µs | | |",
            f"| max per call | {fmt(calls['max_us'])} µs | | |",
            f"| mean per call | {fmt(calls['mean_us'])} µs | | |",
            f"| calls over 100 µs / over 1 ms | {calls['calls_over_100us']:g} / {calls['calls_over_1ms']:g} | | |",
            f"| p50 first 10% / last 10% of calls | {fmt(calls['p50_first10pct_us'])} / "
            f"{fmt(calls['p50_last10pct_us'])} µs | | |",
            f"| timer floor (empty timed region) p50 / p99 / max | {fmt(floor['p50_us'])} / "
            f"{fmt(floor['p99_us'])} / {fmt(floor['max_us'])} µs | | |",
            f"| GC collections during the loop (gen 0/1/2) | {gc_counts} | | |",
            f"| one full GC of the process after the run (for scale with max) | {fmt(calls['full_gc_ms'])} ms | | |",
            "| run start, cold (first run of the process: store, writer thread) | "
            f"{fmt(calls['start_cold_ms'])} ms | | |",
            f"| run start, warm (median / max of {SHORT_RUNS}) | {fmt(calls['start_warm_ms'])} / "
            f"{fmt(calls['start_warm_max_ms'])} ms | | |",
            f"| run end after the {calls['n']:,} calls (ends the run, all points durable) | "
            f"{fmt(calls['end_after_calls_ms'])} ms | | |",
            f"| run end, warm (10 points; median / max of {SHORT_RUNS}) | {fmt(calls['end_warm_ms'])} / "
            f"{fmt(calls['end_warm_max_ms'])} ms | | |",
            f"| `import sigopt_ai` | {fmt(calls['import_ms'])} ms | | |",
            f"| points stored / verified | {calls['points_stored']:,.0f} / {calls['verified']} "
            f"({calls['counted_by']}) | | |",
            "",
        ]
    if durable:
        lines += [
            f"## sigopt_ai: {durable['points']:,} points durable (median of {reps} processes)",
            "",
            "| statistic | value | target | verdict |",
            "|---|---:|---:|---|",
            f"| first call → `sigopt.flush()` returned | {fmt(durable['durable_s'])} s "
            f"| ≤ {TARGETS['durable_s']:g} s | {_verdict(durable['durable_s'], TARGETS['durable_s'])} |",
            f"| of which: the logging loop | {fmt(durable['loop_s'])} s | | |",
            f"| of which: draining after the loop | {fmt(durable['drain_after_loop_s'])} s | | |",
            f"| throughput | {fmt(durable['points_per_s'])} points/s | | |",
            f"| process CPU time (both threads) | {fmt(durable['process_cpu_s'])} s | | |",
            f"| `run.end()` afterwards | {fmt(durable['end_ms'])} ms | | |",
            f"| points stored for the run / verified | {durable['points_stored']:,.0f} / "
            f"{durable['verified']} ({durable['counted_by']}) | | |",
            "",
        ]
    for kind in ("calls", "durable"):
        failed = [r["error"] for r in results["ours"][kind]["reps"] if "error" in r]
        if failed:
            lines += [f"{len(failed)} `{kind}` repetition(s) failed; last error: `{failed[-1][-300:]}`", ""]
    lines += _peer_section(results.get("peers"), calls["start_warm_ms"] if calls else None)
    lines += [
        "## Method",
        "",
        "- Every repetition is a fresh Python process with its own work folder and store; figures are the",
        "  median over repetitions. Per-call times are `time.perf_counter_ns()` around one call; the",
        "  timer floor row is the cost of the measurement itself.",
        "- Durable means the store has committed the points (SQLite WAL, `synchronous=NORMAL`: they survive",
        "  a process kill). They are counted afterwards with a separate `sqlite3` connection: rows of",
        "  `metric_points`, or, in a store that packs points into `metric_chunks` rows, the float64 values",
        "  the chunks hold (checked against their `count` column).",
        "- The peers' table uses one harness (`benchmarks/peers/harness.py`) for every SDK, ours included:",
        "  each call goes through a small wrapper function, so its figures differ a little from the 100k table's.",
        "  Ratios are peer / ours; above 1x means the peer is slower.",
        "- The machine is shared: other processes' load (see load average) inflates tails (max, p99.9)",
        "  and throughput; compare rows of one run, not runs of different days.",
        "",
    ]
    return "\n".join(lines)


def _peer_section(peers: dict[str, Any] | None, warm_start_ms: float | None = None) -> list[str]:
    if not peers:
        return ["## Peers", "", "Not run (`--peers` was not given).", ""]
    lines = [
        f"## Side by side: {peers['calls']:,} calls per run, same harness, median of {peers['reps']} processes",
        "",
        f"Network: {peers['isolation']}.",
        "",
        "| SDK | configuration | points durable | start (ms) | p50 (µs) | p99 (µs) | max (µs) "
        "| total, all calls (ms) | end (ms) | p50 ratio | p99 ratio | max ratio | start ratio | end ratio "
        "| check after the run |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    ours_entry = peers["sdks"].get(OURS.key, {})
    ours = (ours_entry.get("configs") or {}).get(OURS.configs[0].name, {}).get("median")

    def row(peer: Peer, config: PeerConfig, entry: dict[str, Any]) -> str:
        sdk = peer.sdk if peer is OURS or peer.key == "sigopt" else f"{peer.sdk} {_version(entry)}".strip()
        med = entry.get("median")
        if med is None:
            errors = [r.get("error", "") for r in entry.get("reps", []) if "error" in r]
            last = ([ln for ln in (errors[-1] if errors else "?").splitlines() if ln.strip()] or ["?"])[-1]
            return f"| {sdk} | {config.label} | {config.durability} | FAILED: `{last[:150]}` |" + " |" * 11
        cells = [
            fmt(med["start_ms"]),
            fmt(med["p50_us"]),
            fmt(med["p99_us"]),
            fmt(med["max_us"]),
            fmt(med["total_ms"]),
            fmt(med["end_ms"]),
        ]
        keys = ("p50_us", "p99_us", "max_us", "start_ms", "end_ms")
        ratios = ["1.0x"] * 5 if peer is OURS else [ratio(med[k], ours[k] if ours else None) for k in keys]
        return (
            f"| {sdk} | {config.label} | {config.durability} | " + " | ".join(cells + ratios) + f" | {_stored(entry)} |"
        )

    for peer in (OURS, *PEERS):
        entry = peers["sdks"].get(peer.key)
        if entry is None:
            continue
        if entry.get("status") != "ok":
            error = (entry.get("error") or entry.get("install", {}).get("error") or "?").strip().splitlines()
            reason = entry.get("status", "failed").replace("_", " ")
            lines.append(f"| {peer.sdk} | (all) | | {reason}: `{(error or ['?'])[-1][:150]}` |" + " |" * 11)
            continue
        for config in peer.configs:
            if config.name in entry["configs"]:
                lines.append(row(peer, config, entry["configs"][config.name]))
    lines += [
        "",
        "start = the call(s) that open a run (`with sigopt.run()`, `mlflow.start_run()`, `wandb.init()`,",
        "`sigopt.create_run()`, `study.ask()`); end = the call(s) that close it, including any flush",
        "(`__exit__`, `end_run()`, `finish()`, `run.end()`, `study.tell()`). The peers create their store in",
        "setup (`mlflow.set_experiment()`, `optuna.create_study()`), which is not in start; ours creates it,",
        "and imports SQLAlchemy, in the first run's start (a warm start is "
        f"{fmt(warm_start_ms)} ms). Peer versions are pinned in `benchmarks/log_overhead.py` (`PEERS`).",
        "",
    ]
    return lines


# --- CLI --------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--peers", action="store_true", help="also run sigopt 8.8.3, MLflow, wandb and Optuna")
    add("--calls", type=int, default=100_000, help="timed log_metric calls (default 100,000)")
    add("--points", type=int, default=1_000_000, help="points made durable (default 1,000,000)")
    add("--reps", type=int, default=3, help="fresh processes per measurement of ours (default 3)")
    add("--peer-calls", type=int, default=10_000, help="calls per peer run (default 10,000)")
    add("--peer-reps", type=int, default=3, help="fresh processes per peer config (default 3)")
    parser.add_argument(
        "--only-peers", default=",".join(p.key for p in PEERS), help="comma-separated peers to run (default: all)"
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=DEFAULT_CACHE, help=f"where peer venvs live (default {DEFAULT_CACHE})"
    )
    parser.add_argument(
        "--results-dir", type=Path, default=DEFAULT_RESULTS, help="where log_overhead.json and .md are written"
    )
    parser.add_argument(
        "--no-isolation", action="store_true", help="do not run peers in a loopback-only network namespace"
    )
    parser.add_argument("--child", choices=("calls", "durable"), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and write the results; 0 unless a measurement of ours failed."""
    args = parse_args(argv)
    if args.child:
        child: Callable[[Path, int], dict[str, Any]] = child_calls if args.child == "calls" else child_durable
        print(RESULT_PREFIX + json.dumps(child(args.workdir, args.size)), flush=True)
        return 0

    unknown = set(args.only_peers.split(",")) - {p.key for p in PEERS}
    if unknown:
        raise SystemExit(f"unknown peer(s): {', '.join(sorted(unknown))}")
    command = "python benchmarks/log_overhead.py " + " ".join(sys.argv[1:] if argv is None else argv)
    results: dict[str, Any] = {
        "command": command.strip(),
        "machine": machine_facts(),
        "config": {"calls": args.calls, "points": args.points, "reps": args.reps, "targets": TARGETS},
    }
    with tempfile.TemporaryDirectory(prefix="sigopt-ai-bench-") as tmp:
        scratch = Path(tmp)
        results["ours"] = bench_ours(args.calls, args.points, args.reps, scratch)
        if args.peers:
            chosen = [p for p in PEERS if p.key in args.only_peers.split(",")]
            results["peers"] = bench_peers(
                chosen, args.peer_calls, args.peer_reps, args.cache_dir.expanduser(), scratch, not args.no_isolation
            )
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    calls, durable = results["ours"]["calls"]["median"], results["ours"]["durable"]["median"]
    results["targets_met"] = {
        "p50_us": None if calls is None else calls["p50_us"] <= TARGETS["p50_us"],
        "p99_us": None if calls is None else calls["p99_us"] <= TARGETS["p99_us"],
        "durable_s": None
        if durable is None
        else (durable["verified"] and durable["durable_s"] <= TARGETS["durable_s"]),
    }

    write_results(args.results_dir, "log_overhead", results, render_markdown(results))
    return 0 if calls is not None and durable is not None else 1


if __name__ == "__main__":
    sys.exit(main())
