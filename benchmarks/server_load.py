"""The REST server under concurrent clients, and ``log_metric`` in training code while the server is down.

Usage (from the repository root)::

    python benchmarks/server_load.py                  # SQLite and PostgreSQL, 1, 4 and 16 clients, 5 s each
    python benchmarks/server_load.py --profile        # also py-spy the server where run updates spend time
    python benchmarks/server_load.py --quick          # 1 and 4 clients, 2 s each, 20,000 log_metric calls

What is measured, on loopback (``127.0.0.1``), the clients sharing the machine's cores with the server:

* **Server throughput.** For each store (a SQLite file; a PostgreSQL database, on a throwaway
  cluster this script starts, or on ``--pg-url``), a ``sigopt-ai server --workers W`` process
  (``tests/live_server.py``'s ``LiveServer``, the one the tests start) and, for each count in
  ``--clients``, that many keep-alive connections (HTTP Basic with a token) sending requests back to
  back for ``--duration`` seconds after all are connected. ``--load light`` (the default) drives them
  from one thread of this process with pre-built requests (``benchmarks/_load_client.py``: tens of
  microseconds of CPU per request, so the server gets the cores); ``--load httpx`` forks a process per
  client with one ``httpx.Client`` each (about a millisecond of CPU per request, what a Python client
  costs). The modes (``--modes``):

  - ``auth``: ``GET /v1/tokens/self``, the floor: authentication, routing and a small reply, no
    write, what every request pays before its own work;
  - ``merge``: ``MERGE /v1/training_runs/{id}`` with one metric value and ``X-Response-Content:
    skip``, what the official ``sigopt`` client sends for each ``log_metric`` (each client its own run);
  - ``batch``: ``POST /v1/sigopt_ai/batches`` with an ``Idempotency-Key`` and ``--points-per-batch``
    metric points, what this SDK's writer thread sends;
  - ``suggest``: ``POST /v1/experiments/{id}/suggestions`` on a new random-search experiment (one per
    measurement) of a budget no client reaches; every suggestion served stays open.

  Figures per mode and client count: requests/s (successful requests over the timed window; any
  other answer is counted as an error), latency p50/p99 in ms, and CPU time per request of the
  server's processes and of the clients (``psutil``), which tells whether the server or the load
  generator used the cores. Target (issue 16): at least 1,500 run-update requests/s on 2 cores.
* **Where the server's time goes** (``--profile``): ``py-spy record`` of the server's processes
  during the ``merge`` run of the most clients on SQLite; samples are grouped by the library of
  the innermost frame, and the heaviest functions listed (own and inclusive samples).
* **``log_metric`` with the server down.** ``--reps`` fresh processes per configuration each time
  ``--calls`` calls of ``run.log_metric`` inside ``with sigopt.create_run()`` with
  ``time.perf_counter_ns()``: ``SIGOPT_API_URL`` pointing at a closed port (the batches go to the
  offline journal), and side by side the embedded SQLite store. p50/p90/p99/max in ns, and the time
  ``run.end()`` takes (``SIGOPT_AI_FLUSH_TIMEOUT=2`` bounds its wait for the server). Target: p50 of
  2 µs or less with the server down.

Results go to ``benchmarks/results/server_load.json`` (every figure and the machine's facts) and
``server_load.md``, overwritten on each run.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import multiprocessing as mp
import os
import queue
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:  # run as a script, ``benchmarks`` and ``tests`` are not installed packages
    sys.path.insert(0, str(REPO))

from benchmarks._load_client import build_request, merge_requests, run_load  # noqa: E402
from benchmarks.log_overhead import fmt, machine_facts, machine_table, percentile  # noqa: E402
from benchmarks.revisions import command_line  # noqa: E402
from tests.live_server import LiveServer, free_port  # noqa: E402

DEFAULT_RESULTS = HERE / "results"
MODES = ("auth", "merge", "batch", "suggest")
TARGET_RUN_UPDATES_PER_S = 1_500.0
TARGET_LOG_METRIC_P50_NS = 2_000.0
DOWN_FLUSH_TIMEOUT_S = "2"
BIG_BUDGET = 1_000_000
LIGHT_BATCH_RATE = 8_000
"""Batch requests per second of the window pre-built for the light generator (each carries its own key;
a measurement that sends more reports the keys it sent again)."""


# --- the load-generating clients ---------------------------------------------------------------


def _request(client: Any, mode: str, target: str, batch_size: int, i: int) -> Any:
    """One request of ``mode``; ``target`` is the client's run (merge, batch) or the experiment (suggest)."""
    if mode == "merge":
        body = {"values": {"loss": {"value": 1.0 / (i + 1)}}}
        return client.request("MERGE", f"/v1/training_runs/{target}", json=body, headers={"X-Response-Content": "skip"})
    if mode == "auth":
        return client.get("/v1/tokens/self")
    if mode == "batch":
        now = time.time()
        ops = [["metric", target, "loss", 1.0 / (i + k + 1), None, now] for k in range(batch_size)]
        return client.post("/v1/sigopt_ai/batches", json={"ops": ops}, headers={"Idempotency-Key": str(uuid.uuid4())})
    return client.post(f"/v1/experiments/{target}/suggestions", json={})


def client_process(
    url: str,
    token: str,
    mode: str,
    target: str,
    batch_size: int,
    duration: float,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    """Connect, report ready, wait for the start, then send ``mode`` requests for ``duration`` seconds."""
    import httpx

    with httpx.Client(base_url=url, auth=(token, ""), timeout=30) as client:
        _request(client, mode, target, batch_size, 0).raise_for_status()  # connected and warm
        ready.put(os.getpid())
        go.wait()
        cpu0 = time.process_time()
        latencies: list[int] = []
        errors: collections.Counter[str] = collections.Counter()
        pc = time.perf_counter_ns
        end = pc() + int(duration * 1e9)
        i = 1
        while (t0 := pc()) < end:
            status: int | str
            try:
                status = _request(client, mode, target, batch_size, i).status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            if status in (200, 204):
                latencies.append(pc() - t0)
            else:
                errors[str(status)] += 1
            i += 1
        results.put({"latencies": latencies, "errors": dict(errors), "cpu_s": time.process_time() - cpu0})


def _server_cpu(pid: int) -> float:
    """CPU seconds used so far by the server's process and its children (the uvicorn workers)."""
    import psutil

    total = 0.0
    process = psutil.Process(pid)
    for proc in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def _wait_ready(procs: Sequence[Any], ready: Any, timeout: float = 120) -> None:
    """Wait until every client process is connected; raise if one died first (its error is on stderr)."""
    deadline = time.monotonic() + timeout
    waiting = len(procs)
    while waiting:
        try:
            ready.get(timeout=0.5)
            waiting -= 1
        except queue.Empty:
            dead = [proc.exitcode for proc in procs if proc.exitcode is not None]
            if dead or time.monotonic() > deadline:
                for proc in procs:
                    proc.kill()
                raise RuntimeError(f"a client process did not start (exit codes {dead})") from None


def _httpx_load(
    server: LiveServer, mode: str, targets: Sequence[str], clients: int, duration: float, batch_size: int, start: Any
) -> tuple[list[int], dict[str, int], float]:
    """``clients`` forked processes, one ``httpx.Client`` each; ``start()`` is called as they are let go.
    Returns the latencies of the successful requests, the other answers, and the clients' CPU seconds."""
    ctx = mp.get_context("fork")  # this process holds no thread or connection a child could inherit
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(
            target=client_process,
            args=(server.url, server.token, mode, targets[k % len(targets)], batch_size, duration, ready, go, results),
        )
        for k in range(clients)
    ]
    for proc in procs:
        proc.start()
    _wait_ready(procs, ready)
    start()
    go.set()
    reports = [results.get(timeout=duration + 120) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    errors: collections.Counter[str] = collections.Counter()
    for r in reports:
        errors.update(r["errors"])
    return [t for r in reports for t in r["latencies"]], dict(errors), sum(r["cpu_s"] for r in reports)


def light_requests(
    mode: str, server: LiveServer, targets: Sequence[str], clients: int, batch_size: int, duration: float
) -> list[list[bytes]]:
    """Each connection's pre-built requests for ``_load_client.run_load`` (sent in turn)."""
    host = urlsplit(server.url).netloc
    token = server.token
    if mode == "merge":
        return [merge_requests(host, token, targets[k % len(targets)]) for k in range(clients)]
    if mode == "auth":
        return [[build_request("GET", host, "/v1/tokens/self", token, None, {})]] * clients
    if mode == "suggest":
        return [[build_request("POST", host, f"/v1/experiments/{targets[0]}/suggestions", token, {}, {})]] * clients
    # Batches: every request its own idempotency key (a key sent again is skipped, which costs less).
    now = time.time()
    per_connection = max(256, int(LIGHT_BATCH_RATE * duration) // clients)
    return [
        [
            build_request(
                "POST",
                host,
                "/v1/sigopt_ai/batches",
                token,
                {
                    "ops": [
                        ["metric", targets[k % len(targets)], "loss", 1.0 / (i + j + 1), None, now]
                        for j in range(batch_size)
                    ]
                },
                {"Idempotency-Key": str(uuid.uuid4())},
            )
            for i in range(per_connection)
        ]
        for k in range(clients)
    ]


def _light_load(
    server: LiveServer, mode: str, targets: Sequence[str], clients: int, duration: float, batch_size: int, start: Any
) -> tuple[list[int], dict[str, int], float]:
    """``clients`` keep-alive connections driven by one thread of this process (``_load_client``)."""
    requests = light_requests(mode, server, targets, clients, batch_size, duration)
    start()
    result = run_load(server.url, requests, duration)
    errors = {str(status): n for status, n in result.statuses.items() if not 200 <= status < 300}
    if mode == "batch" and result.requests > sum(map(len, requests)):
        errors["idempotency keys sent again"] = result.requests - sum(map(len, requests))
    return result.latencies_ns, errors, result.cpu_s


LOADS = {"light": _light_load, "httpx": _httpx_load}
LOAD_WORDS = {
    "light": "one thread of the benchmark drives a keep-alive connection per client with pre-built requests",
    "httpx": "a process per client, each with one keep-alive `httpx.Client`",
}
"""The load generators: one thread with pre-built requests (its CPU stays small), or a process per
client with ``httpx`` (what a Python client costs)."""


def measure_mode(
    server: LiveServer,
    mode: str,
    targets: Sequence[str],
    clients: int,
    duration: float,
    batch_size: int,
    *,
    load: str = "light",
    profile_to: Path | None = None,
) -> dict[str, Any]:
    """``clients`` connections sending ``mode`` requests for ``duration`` seconds; their figures (and
    ``py-spy``'s folded stacks of the server over that window in ``profile_to``, if given)."""
    server_pid = server.pid
    assert server_pid is not None, "the server is not running"
    window: dict[str, Any] = {}

    def start() -> None:
        window["cpu0"] = _server_cpu(server_pid)
        window["t0"] = time.perf_counter()
        window["profiler"] = start_profiler(server_pid, duration, profile_to) if profile_to else None

    latencies, errors, client_cpu = LOADS[load](server, mode, targets, clients, duration, batch_size, start)
    wall = time.perf_counter() - window["t0"]
    server_cpu = _server_cpu(server_pid) - window["cpu0"]
    profiler = window["profiler"]
    if profiler is not None:
        profiler[1].wait(timeout=duration + 60)
    latencies.sort()
    done = len(latencies)
    return {
        "mode": mode,
        "clients": clients,
        "load": load,
        "duration_s": duration,
        "wall_s": wall,
        "requests": done,
        "requests_per_s": done / duration,
        "points_per_s": done * batch_size / duration if mode == "batch" else None,
        "errors": errors,
        "p50_ms": statistics.median(latencies) / 1e6 if latencies else None,
        "p99_ms": percentile(latencies, 99) / 1e6 if latencies else None,
        "server_cpu_ms_per_request": server_cpu * 1e3 / done if done else None,
        "client_cpu_ms_per_request": client_cpu * 1e3 / done if done else None,
        **({"profile_command": profiler[0]} if profiler else {}),
    }


# --- the server and what it holds --------------------------------------------------------------


def start_runs(server: LiveServer, runs: int) -> list[str]:
    """Runs for the clients to update, each client its own."""
    import httpx

    run_ids = [f"bench-{uuid.uuid4().hex[:12]}" for _ in range(runs)]
    now = time.time()
    ops = [["start", run, "bench", f"load {k}", now, None, None] for k, run in enumerate(run_ids)]
    with httpx.Client(base_url=server.url, auth=(server.token, ""), timeout=30) as client:
        client.post(
            "/v1/sigopt_ai/batches", json={"ops": ops}, headers={"Idempotency-Key": str(uuid.uuid4())}
        ).raise_for_status()
    return run_ids


def new_experiment(server: LiveServer) -> str:
    """A random-search experiment with a budget no client reaches: each measurement of suggestions
    starts from none open (every suggestion served stays open, and a serve reads the open ones)."""
    import httpx

    definition = {
        "name": "server load",
        "project": "bench",
        "type": "random",
        "parameters": [{"name": "x", "type": "double", "bounds": {"min": 0, "max": 1}}],
        "metrics": [{"name": "loss", "objective": "minimize"}],
        "observation_budget": BIG_BUDGET,
        "sigopt_ai": {"seed": 0, "lease_timeout": 60},
    }
    with httpx.Client(base_url=server.url, auth=(server.token, ""), timeout=30) as client:
        me = client.get("/v1/tokens/self").raise_for_status().json()
        experiment = client.post(f"/v1/clients/{me['client']}/experiments", json=definition).raise_for_status()
    return str(experiment.json()["id"])


@contextlib.contextmanager
def postgres_base(pg_url: str | None) -> Iterator[str]:
    """The base URL of a PostgreSQL server: ``pg_url``, or a throwaway cluster started for this run."""
    if pg_url:
        yield pg_url
        return
    from tests.backends.conftest import postgres_cluster

    with postgres_cluster() as url:
        yield url


def store_url(kind: str, scratch: Path, pg_base: str | None) -> str:
    if kind == "sqlite":
        return str(scratch / "server.db")
    assert pg_base is not None
    from tests.backends.conftest import create_database

    return create_database(pg_base)


def start_profiler(pid: int, seconds: float, out: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """``py-spy record`` of process ``pid`` and its children for ``seconds``, folded stacks to ``out``;
    returns the command (without the executable) and the running profiler."""
    exe = shutil.which("py-spy")
    if exe is None:
        raise RuntimeError("--profile needs py-spy (pip install py-spy)")
    command = [exe, "record", "--pid", str(pid), "--subprocesses", "--format", "raw", "--rate", "250"]
    command += ["--duration", str(max(1, round(seconds))), "--output", str(out), "--nonblocking"]
    popen = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return " ".join(command[1:]), popen


IDLE_FRAME = re.compile(r"(select|wait|sleep|poll|accept|_wait_for_tstate_lock)$")
"""Functions where a sampled thread waits rather than works (py-spy counts them unless told not to)."""


def summarize_profile(out: Path) -> dict[str, Any]:
    """Group py-spy's folded stacks (``frame;frame;... count``, each frame ``function (path:line)``)
    by the library of the innermost frame and by function, over the samples that were not waiting."""
    by_library: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    busy = idle = 0
    for line in out.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = [f for f in stack.split(";") if " (" in f and not f.startswith("process ")]
        if not frames or not count_text.isdigit():
            continue
        count = int(count_text)
        if IDLE_FRAME.search(frames[-1].partition(" (")[0]):
            idle += count
            continue
        busy += count
        by_library[_library(frames[-1])] += count
        own[_function(frames[-1])] += count
        for name in {_function(f) for f in frames}:
            inclusive[name] += count

    def shares(counter: collections.Counter[str], n: int) -> dict[str, float]:
        return {name: round(100 * k / busy, 1) for name, k in counter.most_common(n)} if busy else {}

    return {
        "samples": busy + idle,
        "idle_samples": idle,
        "busy_samples": busy,
        "by_library_pct": shares(by_library, 12),
        "top_own_pct": shares(own, 15),
        "top_inclusive_pct": shares(inclusive, 30),
        "ours_inclusive_pct": shares(
            collections.Counter({k: n for k, n in inclusive.items() if "(sigopt_ai/" in k}), 20
        ),
    }


def _where(frame: str) -> str:
    """The file of ``function (path:line)``, as py-spy writes it (relative to its ``sys.path`` entry)."""
    return frame.partition(" (")[2].rstrip(")").rsplit(":", 1)[0]


def _function(frame: str) -> str:
    """``function (path:line)`` as ``function (path)``."""
    return f"{frame.partition(' (')[0]} ({_where(frame)})"


def _library(frame: str) -> str:
    """The top-level package of a frame's file (``sigopt_ai.<subpackage>`` for ours), or the module."""
    parts = _where(frame).lstrip("/").split("/")
    if parts[0] == "sigopt_ai" and len(parts) > 2:
        return f"sigopt_ai.{parts[1]}"
    return parts[0].removesuffix(".py")


def bench_store(kind: str, args: argparse.Namespace, scratch: Path, pg_base: str | None) -> dict[str, Any]:
    """Every mode and client count against one server over one store of ``kind``."""
    db = store_url(kind, scratch, pg_base)
    server = LiveServer(db, workers=args.server_workers)
    rows: list[dict[str, Any]] = []
    profile: dict[str, Any] | None = None
    with server:
        runs = start_runs(server, max(args.clients))
        for mode in args.modes:
            for clients in args.clients:
                targets = [new_experiment(server)] if mode == "suggest" else runs
                profiling = args.profile and kind == "sqlite" and mode == "merge" and clients == max(args.clients)
                out = scratch / "profile.txt" if profiling else None
                row = measure_mode(
                    server, mode, targets, clients, args.duration, args.points_per_batch, load=args.load, profile_to=out
                )
                rows.append(row)
                _progress(f"{kind} {mode:7} {clients:3} clients: {row['requests_per_s']:8.0f} req/s, {row['errors']}")
                if out is not None:
                    profile = {"command": row.pop("profile_command"), **summarize_profile(out)}
    return {"store": kind, "server_workers": args.server_workers, "rows": rows, "profile": profile}


# --- log_metric with the server down -----------------------------------------------------------


def child_log_metric(calls: int) -> dict[str, Any]:
    """Time ``calls`` ``run.log_metric`` calls in this process (its environment picks the store)."""
    import sigopt_ai as sigopt

    pc = time.perf_counter_ns
    floor = [0] * 1000
    for i in range(len(floor)):
        t0 = pc()
        floor[i] = pc() - t0
    with sigopt.create_run(name="log-metric-latency", project="bench") as run:
        times = [0] * calls
        for i in range(calls):
            value = 1.0 / (i + 1)
            t0 = pc()
            run.log_metric("loss", value)
            times[i] = pc() - t0
        t_end = pc()
    end_ns = pc() - t_end
    ordered = sorted(times)
    return {
        "calls": calls,
        "p50_ns": statistics.median(ordered),
        "p90_ns": percentile(ordered, 90),
        "p99_ns": percentile(ordered, 99),
        "max_ns": ordered[-1],
        "calls_over_1ms": sum(1 for t in ordered if t > 1_000_000),
        "timer_floor_p50_ns": statistics.median(sorted(floor)),
        "end_ms": end_ns / 1e6,
    }


def _latency_env(kind: str, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGOPT_AI_", "SIGOPT_API_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    if kind == "server_down":
        env.update(
            SIGOPT_API_URL=f"http://127.0.0.1:{free_port()}",  # nothing listens there
            SIGOPT_API_TOKEN="benchmark-token",
            SIGOPT_AI_SPOOL=str(workdir / "spool.db"),
            SIGOPT_AI_FLUSH_TIMEOUT=DOWN_FLUSH_TIMEOUT_S,
        )
    else:
        env["SIGOPT_AI_DB"] = str(workdir / "sigopt_ai.db")
    return env


def bench_log_metric(calls: int, reps: int, scratch: Path) -> dict[str, Any]:
    """``reps`` fresh processes per store kind; each repetition's figures and their medians."""
    out: dict[str, Any] = {}
    for kind in ("server_down", "embedded"):
        reps_out = []
        for rep in range(reps):
            workdir = scratch / f"{kind}-{rep}"
            workdir.mkdir(parents=True)
            done = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--child-calls", str(calls)],
                env=_latency_env(kind, workdir),
                cwd=workdir,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if done.returncode != 0:
                raise RuntimeError(f"log_metric child ({kind}) failed:\n{done.stderr[-3000:]}")
            reps_out.append({**json.loads(done.stdout.strip().splitlines()[-1]), "stderr": done.stderr[-500:]})
        medians = {
            k: statistics.median(r[k] for r in reps_out) for k in reps_out[0] if k.endswith(("_ns", "_ms", "_1ms"))
        }
        out[kind] = {"reps": reps_out, "median": medians}
        _progress(f"log_metric {kind}: p50 {medians['p50_ns']:.0f} ns, p99 {medians['p99_ns']:.0f} ns")
    return out


# --- the report -------------------------------------------------------------------------------


def render_markdown(results: dict[str, Any]) -> str:
    lines = ["# Server load", "", *machine_table(results)]
    lines += ["## Requests per second", ""]
    lines += [
        "| store | mode | clients | req/s | points/s | p50 ms | p99 ms "
        "| server CPU ms/req | client CPU ms/req | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for store in results["stores"]:
        for row in store["rows"]:
            lines.append(
                f"| {store['store']} | {row['mode']} | {row['clients']} | {fmt(row['requests_per_s'])} | "
                f"{fmt(row['points_per_s'])} | {fmt(row['p50_ms'])} | {fmt(row['p99_ms'])} | "
                f"{fmt(row['server_cpu_ms_per_request'])} | {fmt(row['client_cpu_ms_per_request'])} | "
                f"{sum(row['errors'].values())} |"
            )
    lines += [
        "",
        f"Server: `--workers {results['server_workers']}`. Clients: {LOAD_WORDS[results.get('load', 'httpx')]}.",
        "",
    ]
    for verdict in results["verdicts"]:
        lines.append(f"- {verdict}")
    profile = next((s["profile"] for s in results["stores"] if s.get("profile")), None)
    if profile and "samples" in profile:
        lines += [
            "",
            "## Where the server's time goes (py-spy, merge, SQLite)",
            "",
            f"`py-spy {profile['command']}`",
            "",
        ]
        lines += [
            f"{profile['samples']:,} samples, {profile['idle_samples']:,} of them waiting (select, a lock, a "
            "sleep) and left out; of the rest, by library of the innermost frame:",
            "",
        ]
        lines += [f"- {name}: {pct}%" for name, pct in profile["by_library_pct"].items()]
        lines += ["", "Heaviest functions, own samples:", ""]
        lines += [f"- `{name}`: {pct}%" for name, pct in profile["top_own_pct"].items()]
        lines += ["", "Our functions, inclusive:", ""]
        lines += [f"- `{name}`: {pct}%" for name, pct in profile["ours_inclusive_pct"].items()]
    latency = results.get("log_metric")
    if latency:
        lines += ["", "## `run.log_metric` on the training thread", ""]
        lines += [
            "| store | p50 ns | p90 ns | p99 ns | max ns | calls over 1 ms | timer floor ns | run.end() ms |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for kind, entry in latency.items():
            m = entry["median"]
            lines.append(
                f"| {kind.replace('_', ' ')} | {fmt(m['p50_ns'])} | {fmt(m['p90_ns'])} | {fmt(m['p99_ns'])} | "
                f"{fmt(m['max_ns'])} | {m['calls_over_1ms']:g} | {fmt(m['timer_floor_p50_ns'])} | {fmt(m['end_ms'])} |"
            )
        lines += ["", f"Medians of {len(latency['server_down']['reps'])} processes, {results['calls']:,} calls each."]
    return "\n".join(lines) + "\n"


def verdicts(results: dict[str, Any]) -> list[str]:
    """One line per target: met or missed, with the figure."""
    out = []
    for store in results["stores"]:
        best = max((r for r in store["rows"] if r["mode"] in ("merge", "batch")), key=lambda r: r["requests_per_s"])
        met = best["requests_per_s"] >= TARGET_RUN_UPDATES_PER_S
        out.append(
            f"{store['store']}: best run updates {best['requests_per_s']:,.0f} req/s ({best['mode']}, "
            f"{best['clients']} clients): {'**met**' if met else '**missed**'} (target {TARGET_RUN_UPDATES_PER_S:,.0f})"
        )
    latency = results.get("log_metric")
    if latency:
        p50 = latency["server_down"]["median"]["p50_ns"]
        met = p50 <= TARGET_LOG_METRIC_P50_NS
        out.append(
            f"log_metric p50 with the server down: {p50:,.0f} ns: {'**met**' if met else '**missed**'} (target 2,000)"
        )
    return out


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--stores", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--clients", default="1,4,16", help="comma-separated counts of concurrent clients")
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, of {', '.join(MODES)}")
    parser.add_argument(
        "--load",
        choices=sorted(LOADS),
        default="light",
        help="light: one thread, pre-built requests; httpx: a process each",
    )
    parser.add_argument("--duration", type=float, default=5.0, help="seconds each measurement runs")
    parser.add_argument("--server-workers", type=int, default=2, help="uvicorn worker processes of the server")
    parser.add_argument("--points-per-batch", type=int, default=10, help="metric points in each batch request")
    parser.add_argument("--calls", type=int, default=100_000, help="log_metric calls per process (0: skip)")
    parser.add_argument("--reps", type=int, default=3, help="processes per log_metric configuration")
    parser.add_argument("--pg-url", help="a PostgreSQL server's base URL (default: start a throwaway cluster)")
    parser.add_argument("--profile", action="store_true", help="py-spy the server during merge on SQLite")
    parser.add_argument("--quick", action="store_true", help="1 and 4 clients, 2 s each, 20,000 calls")
    parser.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--child-calls", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.duration, args.calls = "1,4", 2.0, 20_000
    args.stores = [s for s in args.stores.split(",") if s]
    args.modes = [m for m in args.modes.split(",") if m]
    if set(args.modes) - set(MODES):
        parser.error(f"unknown modes {sorted(set(args.modes) - set(MODES))}")
    args.clients = [int(c) for c in str(args.clients).split(",") if c]
    unknown = set(args.stores) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown stores {sorted(unknown)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child_calls:
        print(json.dumps(child_log_metric(args.child_calls)))
        return 0
    results: dict[str, Any] = {
        "command": command_line("server_load.py", argv),
        "machine": machine_facts(),
        "server_workers": args.server_workers,
        "load": args.load,
        "calls": args.calls,
        "stores": [],
    }
    with tempfile.TemporaryDirectory(prefix="sigopt-server-load-") as tmp:
        scratch = Path(tmp)
        with contextlib.ExitStack() as stack:
            pg = stack.enter_context(postgres_base(args.pg_url)) if "postgresql" in args.stores else None
            for kind in args.stores:
                (scratch / kind).mkdir()
                results["stores"].append(bench_store(kind, args, scratch / kind, pg))
        if args.calls:
            results["log_metric"] = bench_log_metric(args.calls, args.reps, scratch / "latency")
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["verdicts"] = verdicts(results)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "server_load.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (args.results_dir / "server_load.md").write_text(render_markdown(results))
    for line in results["verdicts"]:
        _progress(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
