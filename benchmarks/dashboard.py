"""The dashboard's experiment page with 10,000 runs: load time in the real Chromium, each JSON route's
server time, the server's peak memory, and optuna-dashboard side by side.

Usage (from the repository root; about 5 minutes on 2 cores, plus about 7 the first time, which fills
the store and caches it under ``~/.cache/sigopt-ai-bench/dashboard/``; ``--fresh-store`` fills it again)::

    python benchmarks/dashboard.py                 # 10,000 runs, 5 loads of each kind, the peer
    python benchmarks/dashboard.py --no-peer       # ours only
    python benchmarks/dashboard.py --screenshot docs/images/experiment-page.png   # only the README's image

* **Store**: one SQLite store, one experiment of the main job's shape (``examples/tune_digits.py``:
  six parameters, two on a log scale, minimize ``error``, type ``offline`` so the failure map fits
  the optimizer's P(success) model) with ``--runs`` observations, each a real run (start, params,
  metric or failure, end) with its observation. It is filled through the SQL backend's own calls
  (``serve_suggestion``, ``write``, ``observe``) with a closed-form objective that fails by region,
  as the main job does (``oom`` where width x depth x batch is large, ``diverged`` at high learning
  rate and momentum, ``invalid_assignment`` in one corner), and suggestions from the Sobol
  strategy rather than the Bayesian one (a Bayesian suggestion per observation would take an hour
  at this size; what the page shows depends on the observations, not on who suggested them). Run
  writes are batched per 100 runs; each observation is its own transaction, as in a loop.
* **Page**: ``sigopt-ai dashboard`` (local mode, one process) on the store; Chromium (Debian's, via
  Playwright, headless) opens ``/experiments/{id}``. Load time = navigation start to the moment
  ``document.body.dataset.ready`` becomes ``"1"`` (every plot and table rendered), recorded in the page
  by a MutationObserver installed before any page script. *Cold*: a fresh server process (empty
  caches) and a fresh browser context (empty HTTP cache), ``--reps`` times. *Warm*: ``--reps``
  reloads in the last context. *First visit*: ``--reps`` loads each in a fresh browser context against
  that warm server (what a colleague opening the link sees). For each load the page's own Resource
  Timing gives, per request, the time from request to last byte; the report splits the load into the
  document and scripts, the JSON requests (first request to last response), and what is left:
  rendering, of which each plot's ECharts ``init`` + ``setOption`` is timed in the page.
* **Routes**: each ``/v1`` request the page made, sent again alone to a fresh server: the first
  answer (cold: caches empty) and the median of ``--reps`` more (warm), wall time of a loopback
  HTTP request (server time plus ~0.2 ms).
* **Memory**: the server's peak resident set (``VmHWM``), the largest over its processes.
* **Peer** (unless ``--no-peer``): optuna-dashboard 0.21.0 (with optuna 5.0.0) from its own venv under
  ``~/.cache/sigopt-ai-bench/venvs/`` (made on first use), on a journal-file study of ``--runs``
  trials of the same objective and space (random sampler; failures are ``FAIL`` trials). Its study
  page is ready when its three plots (history, importance, timeline) have drawn their marks; same
  cold/warm protocol.
* **Screenshot** (``--screenshot PATH``): the README's first command (``examples/tune_digits.py``, 20
  runs) in a temporary folder, then its experiment page at 1280x900, written to ``PATH``.

Results: ``benchmarks/results/dashboard.json`` (every load and request) and ``dashboard.md``.
Target (issue 19): the experiment page with 10,000 runs loads and renders in under 1 s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))  # run as a script: ``benchmarks`` and ``tests`` are not installed packages

from benchmarks.log_overhead import (  # noqa: E402
    Peer,
    ensure_venv,
    fmt,
    machine_facts,
    machine_table,
    peer_env,
    progress,
    write_results,
)
from benchmarks.revisions import command_line  # noqa: E402
from tests.live_server import LiveDashboard, free_port  # noqa: E402

DEFAULT_RESULTS = HERE / "results"
DEFAULT_CACHE = Path.home() / ".cache" / "sigopt-ai-bench"
TARGET_MS = 1000.0
LOAD_TIMEOUT_MS = 120_000
CHUNK = 100
"""Runs written per store write while filling."""

PEER = Peer(
    key="optuna_dashboard",
    sdk="optuna-dashboard 0.21.0",
    requirements=("optuna==5.0.0", "optuna-dashboard==0.21.0"),
    script="",
    configs=(),
)

# The main job's search space (examples/tune_digits.py), as SigOpt parameters.
PARAMETERS = [
    {"name": "lr", "type": "double", "bounds": {"min": 1e-4, "max": 1.0}, "transformation": "log"},
    {"name": "width", "type": "int", "bounds": {"min": 16, "max": 256}},
    {"name": "depth", "type": "int", "bounds": {"min": 1, "max": 3}},
    {"name": "batch_size", "type": "int", "bounds": {"min": 32, "max": 512}},
    {"name": "alpha", "type": "double", "bounds": {"min": 1e-6, "max": 1e-1}, "transformation": "log"},
    {"name": "momentum", "type": "double", "bounds": {"min": 0.0, "max": 0.99}},
]

# Installed in the page before any of its scripts: records the time ``predicate`` first holds, checked on
# each batch of DOM changes (``filter``: only changes of these attributes; None: every change).
READY_PROBE = """
(() => {
  const ready = () => (%s);
  const mark = () => {
    if (window.__readyAt === undefined && ready()) window.__readyAt = performance.now();
  };
  new MutationObserver(mark).observe(document, %s);
})();
"""


def ready_probe(predicate: str, attributes: Sequence[str] | None) -> str:
    """The probe's script for ``predicate`` (a JS expression)."""
    options: dict[str, Any] = {"subtree": True, "attributes": True, "childList": attributes is None}
    if attributes is not None:
        options["attributeFilter"] = list(attributes)
    return READY_PROBE % (predicate, json.dumps(options))


# Ours only: the time of each ECharts ``init`` and ``setOption`` (which draws the SVG), per plot, wrapped
# once the deferred scripts have run (before any data arrives).
CHART_PROBE = """
document.addEventListener("DOMContentLoaded", () => {
  window.__charts = [];
  const echarts = window.echarts;
  if (!echarts) return;
  const init = echarts.init;
  echarts.init = function (dom, theme, options) {
    const name = dom.dataset.plot || dom.id || "?";
    const t0 = performance.now();
    const instance = init.call(this, dom, theme, options);
    window.__charts.push({plot: name, call: "init", ms: performance.now() - t0});
    const setOption = instance.setOption;
    instance.setOption = function () {
      const t = performance.now();
      const out = setOption.apply(this, arguments);
      window.__charts.push({plot: name, call: "setOption", ms: performance.now() - t});
      return out;
    };
    return instance;
  };
});
"""

TIMINGS_JS = """
() => ({
  ready: window.__readyAt === undefined ? null : window.__readyAt,
  charts: window.__charts || null,
  navigation: (() => { const n = performance.getEntriesByType("navigation")[0];
    return n ? {responseEnd: n.responseEnd, domContentLoaded: n.domContentLoadedEventEnd} : null; })(),
  resources: performance.getEntriesByType("resource").map(r => ({
    name: r.name, type: r.initiatorType, start: r.startTime, requestStart: r.requestStart,
    responseStart: r.responseStart, end: r.responseEnd, bytes: r.transferSize, decoded: r.decodedBodySize})),
})
"""


# --- the objective --------------------------------------------------------------------------------


def outcome(p: Mapping[str, Any]) -> tuple[float | None, dict[str, str] | None]:
    """The main job's failure regions in closed form: ``(error, None)`` or ``(None, failure)``."""
    lr, width, depth, batch = float(p["lr"]), int(p["width"]), int(p["depth"]), int(p["batch_size"])
    alpha, momentum = float(p["alpha"]), float(p["momentum"])
    if width * depth * batch > 160_000:
        return None, _failure("oom", "MemoryError", f"a training step needs {width * depth * batch / 30_000:.1f} MiB")
    if lr * (1.0 + 4.0 * momentum) > 0.9:
        return None, _failure("diverged", "Diverged", "final training loss nan is no better than chance")
    if batch > 448 and width < 40:
        return None, _failure("invalid_assignment", "InvalidAssignment", "batch larger than the layer can hold")
    error = 0.02 + 0.05 * (math.log10(lr) + 1.5) ** 2 + 0.02 * (math.log10(alpha) + 4) ** 2 / 9
    error += 0.03 * (1 - width / 256) + 0.01 * abs(depth - 2) + 0.02 * (momentum - 0.9) ** 2
    return round(error, 6), None


def _failure(kind: str, type_: str, message: str) -> dict[str, str]:
    return {"kind": kind, "type": type_, "message": message, "traceback": f"{type_}: {message}\n"}


# --- filling the store ----------------------------------------------------------------------------


def quasi_random_service() -> Any:
    """A suggestion service that serves Sobol points whatever the experiment's type (see the module's
    docstring): through the service interface every store calls, ``after`` and ``suggest``."""
    from sigopt_ai._definition import ExperimentDefinition
    from sigopt_ai.optimizer import SobolStrategy, SuggestionService

    class QuasiRandomService(SuggestionService):
        def __init__(self) -> None:
            super().__init__()
            self._seen: dict[str, list[Any]] = {}
            self._strategies: dict[str, SobolStrategy] = {}

        def after(self, experiment: Any) -> str | None:
            seen = self._seen.get(experiment.id)
            return seen[-1].id if seen else None

        def suggest(self, experiment: Any, snapshot: Any) -> Any:
            seen = self._seen.setdefault(experiment.id, [])
            seen.extend(snapshot.observations)
            if experiment.id not in self._strategies:
                definition = ExperimentDefinition.from_json(experiment.definition)
                self._strategies[experiment.id] = SobolStrategy(definition, seed=experiment.seed)
            return self._strategies[experiment.id].suggest(seen, snapshot.pending, index=snapshot.index)

    return QuasiRandomService()


def fill(db: Path, runs: int) -> dict[str, Any]:
    """One ``offline`` experiment of the main job's shape with ``runs`` observed runs; its id and timings."""
    from sigopt_ai.backends.sql import SQLBackend

    started = time.monotonic()
    backend = SQLBackend(str(db), service=quasi_random_service())
    import sigopt_ai as sigopt

    sigopt.configure(db=str(db))
    experiment = sigopt.create_experiment(
        name="digits-mlp",
        project="digits",
        parameters=PARAMETERS,
        metrics=[{"name": "error", "objective": "minimize"}],
        budget=runs,
        type="offline",
        seed=7,
        lease_timeout=600,
    )
    record = backend.get_experiment(experiment.id)
    assert record is not None
    base = time.time() - runs * 30.0  # one run every 30 s, lasting 5 to 25 s: durations to sort by
    failed: dict[str, int] = {}
    serve_s = write_s = observe_s = 0.0
    for first in range(0, runs, CHUNK):
        t0 = time.perf_counter()
        served = []
        for _ in range(min(CHUNK, runs - first)):
            run_id = secrets.token_hex(8)
            suggestion = backend.serve_suggestion(record.id, run_id=run_id)
            assert suggestion is not None, "the budget ran out while filling"
            served.append((run_id, suggestion))
        t1 = time.perf_counter()
        ops: list[tuple[Any, ...]] = []
        results = []
        for i, (run_id, suggestion) in enumerate(served, first):
            error, failure = outcome(suggestion.assignments)
            created = base + 30.0 * i
            ended = created + 5.0 + 20.0 * ((i * 7919) % 97) / 97
            ops.append(
                ("start", run_id, record.project, f"digits-mlp #{suggestion.id}", created, record.id, suggestion.id)
            )
            ops.append(("fields", run_id, "params", dict(suggestion.assignments)))
            if failure is None:
                ops.append(("metric", run_id, "error", error, None, ended))
            else:
                ops.append(("failure", run_id, failure, ended))
                failed[failure["kind"]] = failed.get(failure["kind"], 0) + 1
            ops.append(("end", run_id, "completed" if failure is None else "failed", ended))
            results.append((run_id, suggestion, error, failure))
        backend.write(ops)
        t2 = time.perf_counter()
        for run_id, suggestion, error, failure in results:
            backend.observe(
                record.id,
                suggestion.id,
                run_id=run_id,
                values=None if error is None else {"error": error},
                failure_kind=None if failure is None else failure["kind"],
                run_failure=failure,
            )
        observe_s += time.perf_counter() - t2
        serve_s += t1 - t0
        write_s += t2 - t1
        if (first // CHUNK) % 20 == 0:
            progress(f"  filled {first + len(served):,} / {runs:,}")
    backend.close()
    return {
        "experiment": record.id,
        "runs": runs,
        "failed_by_kind": failed,
        "seconds": round(time.monotonic() - started, 2),
        "serve_s": round(serve_s, 2),
        "write_s": round(write_s, 2),
        "observe_s": round(observe_s, 2),
        "store_mb": round(db.stat().st_size / 2**20, 1),
    }


def filled_store(cache: Path, runs: int, fresh: bool) -> tuple[Path, dict[str, Any]]:
    """The store with ``runs`` runs: filled now, or reused from ``cache`` (filled by an earlier run of this
    script at the same store revision and size; its fill timings are kept with it)."""
    from sigopt_ai.backends.sql import _migrate

    folder = cache / "dashboard" / f"runs-{runs}-rev-{_migrate.HEAD}"
    db, facts = folder / "sigopt_ai.db", folder / "fill.json"
    if facts.exists() and db.exists() and not fresh:
        return db, {**json.loads(facts.read_text()), "reused": True}
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    progress(f"filling a store with {runs:,} runs: {db}")
    filled = fill(db, runs)
    facts.write_text(json.dumps(filled, indent=1))
    return db, {**filled, "reused": False}


# --- loading pages --------------------------------------------------------------------------------


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    from tests.dashboard._browser import launch  # the browser tests' launch: the same binary and flags

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


def new_page(context: Any, console: list[str]) -> Any:
    page = context.new_page()
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    return page


def load(page: Any, url: str, *, reload: bool = False) -> dict[str, Any]:
    """Open ``url`` (or reload it) and wait until the context's ready probe fired; the page's own timings."""
    started = time.perf_counter()
    if reload:
        page.reload(wait_until="commit")
    else:
        page.goto(url, wait_until="commit")
    page.wait_for_function("() => window.__readyAt !== undefined", timeout=LOAD_TIMEOUT_MS, polling=20)
    wall_ms = (time.perf_counter() - started) * 1000
    timings: dict[str, Any] = page.evaluate(TIMINGS_JS)
    return {"wall_ms": round(wall_ms, 1), **split(timings)}


def split(timings: Mapping[str, Any]) -> dict[str, Any]:
    """Where a load's time went: the document and static files, the JSON requests, and rendering (the
    rest until ready)."""
    resources = timings["resources"]
    api = [r for r in resources if "/v1/" in r["name"] or "/api/" in r["name"]]
    static = [r for r in resources if r not in api]
    ready = timings["ready"]
    nav = timings["navigation"] or {}
    api_end = max((r["end"] for r in api), default=None)
    charts: dict[str, float] = {}
    for c in timings.get("charts") or []:  # init and setOption of each plot, summed
        charts[c["plot"]] = round(charts.get(c["plot"], 0.0) + c["ms"], 1)
    out: dict[str, Any] = {
        "ready_ms": None if ready is None else round(ready, 1),
        "chart_ms": charts,
        "document_ms": _r(nav.get("responseEnd")),
        "dom_content_loaded_ms": _r(nav.get("domContentLoaded")),
        "static_end_ms": _r(max((r["end"] for r in static), default=None)),
        "api_first_start_ms": _r(min((r["start"] for r in api), default=None)),
        "api_last_end_ms": _r(api_end),
        "render_after_api_ms": None if ready is None or api_end is None else round(ready - api_end, 1),
        "requests": [
            {
                "path": r["name"].split("://", 1)[-1].split("/", 1)[-1],
                "type": r["type"],
                "start_ms": _r(r["start"]),
                "ttfb_ms": _r(r["responseStart"] - r["requestStart"]) if r["requestStart"] else None,
                "duration_ms": _r(r["end"] - r["start"]),
                "bytes": r["decoded"],
            }
            for r in resources
        ],
    }
    return out


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def peak_rss_mb(pid: int | None) -> float | None:
    """The process's peak resident set (``VmHWM``) with its children's, in MB."""
    if pid is None:
        return None
    peaks = []
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        except OSError:
            pass
    return round(max(peaks), 1) if peaks else None


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


def time_routes(
    base: str, paths: Sequence[str], reps: int, headers: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Each path requested alone: the first answer, then the median of ``reps`` more (ms, loopback)."""
    host, port = base.split("://", 1)[1].split(":")
    rows = []
    for path in paths:
        times, size, status = [], 0, 0
        for _ in range(reps + 1):
            conn = http.client.HTTPConnection(host, int(port), timeout=120)
            t0 = time.perf_counter()
            conn.request("GET", "/" + path, headers=dict(headers or {}))
            response = conn.getresponse()
            body = response.read()
            times.append((time.perf_counter() - t0) * 1000)
            conn.close()
            size, status = len(body), response.status
        rows.append(
            {
                "path": path,
                "status": status,
                "bytes": size,
                "first_ms": round(times[0], 1),
                "median_ms": round(statistics.median(times[1:]), 1),
                "max_ms": round(max(times[1:]), 1),
            }
        )
    return rows


def bench_page(
    name: str,
    start: Callable[[], Any],
    stop: Callable[[Any], None],
    url: Callable[[Any], str],
    probes: Sequence[str],
    reps: int,
    pid: Callable[[Any], int | None],
) -> dict[str, Any]:
    """``reps`` cold loads (a fresh server and browser context each), then on the last server ``reps``
    warm reloads and ``reps`` first visits (a fresh browser context: empty HTTP cache, warm server), then
    each JSON request the page made timed alone against a fresh server."""
    cold: list[dict[str, Any]] = []
    warm: list[dict[str, Any]] = []
    visits: list[dict[str, Any]] = []
    console: list[str] = []
    peaks: list[float | None] = []
    with chromium() as browser:
        for rep in range(reps):
            server = start()
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            for probe in probes:
                context.add_init_script(probe)
            try:
                page = new_page(context, console)
                cold.append(load(page, url(server)))
                progress(f"  {name} cold {rep + 1}/{reps}: ready at {cold[-1]['ready_ms']} ms")
                if rep == reps - 1:
                    for wrep in range(reps):
                        warm.append(load(page, url(server), reload=True))
                        progress(f"  {name} warm {wrep + 1}/{reps}: ready at {warm[-1]['ready_ms']} ms")
                    for vrep in range(reps):
                        visits.append(first_visit(browser, probes, url(server), console))
                        progress(f"  {name} first visit {vrep + 1}/{reps}: ready at {visits[-1]['ready_ms']} ms")
            finally:
                context.close()
                peaks.append(peak_rss_mb(pid(server)))
                stop(server)
    paths = sorted({r["path"] for r in cold[0]["requests"] if "/v1/" in "/" + r["path"] or "/api/" in "/" + r["path"]})
    server = start()
    try:
        base = url(server).split("/", 3)
        routes = time_routes(f"{base[0]}//{base[2]}", paths, reps)
        peaks.append(peak_rss_mb(pid(server)))
    finally:
        stop(server)
    return {
        "cold": {"median_ready_ms": _median([c["ready_ms"] for c in cold]), "loads": cold},
        "warm": {"median_ready_ms": _median([w["ready_ms"] for w in warm]), "loads": warm},
        "first_visit": {"median_ready_ms": _median([v["ready_ms"] for v in visits]), "loads": visits},
        "routes": routes,
        "server_peak_rss_mb": max((p for p in peaks if p is not None), default=None),
        "console": console,
    }


def first_visit(browser: Any, probes: Sequence[str], url: str, console: list[str]) -> dict[str, Any]:
    """One load in a fresh browser context (nothing cached in the browser)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    for probe in probes:
        context.add_init_script(probe)
    try:
        return load(new_page(context, console), url)
    finally:
        context.close()


def _median(values: Sequence[float | None]) -> float | None:
    clean = [v for v in values if v is not None]
    return round(statistics.median(clean), 1) if clean else None


# --- ours -----------------------------------------------------------------------------------------

# Ours: the page's contract (every plot and table rendered); only changes of data-ready are watched.
READY_OURS = ready_probe('document.body && document.body.dataset.ready === "1"', ["data-ready"])


def bench_ours(db: Path, experiment: str, reps: int) -> dict[str, Any]:
    """Our experiment page over ``db``, served by ``sigopt-ai dashboard``."""

    def start() -> LiveDashboard:
        server = LiveDashboard(str(db))
        server.start()
        return server

    result = bench_page(
        "sigopt-ai dashboard",
        start,
        lambda s: s.stop(),
        lambda s: f"{s.url}/experiments/{experiment}",
        [READY_OURS, CHART_PROBE],
        reps,
        lambda s: s.pid,
    )
    return result


# --- the peer: optuna-dashboard -------------------------------------------------------------------

STUDY_SCRIPT = """
import json, math, random, sys, time
from typing import Any, Mapping
import optuna
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

{objective}

path, n = sys.argv[1], int(sys.argv[2])
optuna.logging.set_verbosity(optuna.logging.WARNING)
storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path))
study = optuna.create_study(study_name="digits-mlp", storage=storage, direction="minimize")
space = {{
    "lr": FloatDistribution(1e-4, 1.0, log=True), "width": IntDistribution(16, 256),
    "depth": IntDistribution(1, 3), "batch_size": IntDistribution(32, 512),
    "alpha": FloatDistribution(1e-6, 1e-1, log=True), "momentum": FloatDistribution(0.0, 0.99),
}}
rng = random.Random(7)


def draw(d):
    if isinstance(d, IntDistribution):
        return rng.randint(d.low, d.high)
    if d.log:
        return math.exp(rng.uniform(math.log(d.low), math.log(d.high)))
    return rng.uniform(d.low, d.high)


started = time.monotonic()
failed = {{}}
trials = []
for _ in range(n):
    params = {{name: draw(d) for name, d in space.items()}}
    error, failure = outcome(params)
    if failure is None:
        trials.append(create_trial(params=params, distributions=space, value=error))
    else:
        attrs = {{"failure_kind": failure["kind"]}}
        trials.append(create_trial(params=params, distributions=space, state=TrialState.FAIL, user_attrs=attrs))
        failed[failure["kind"]] = failed.get(failure["kind"], 0) + 1
study.add_trials(trials)
print(json.dumps({{"seconds": round(time.monotonic() - started, 2), "failed_by_kind": failed,
                  "optuna": optuna.__version__, "study_id": study._study_id}}))
"""

# The study page is ready when every plot on it (history, hyperparameter importance, timeline: Plotly
# in optuna-dashboard) has drawn its marks: the peer of our data-ready.
READY_PEER = ready_probe(
    "(() => { const plots = [...document.querySelectorAll('.js-plotly-plot')];"
    " return plots.length >= 3 && plots.every(p => p.querySelector('.point')); })()",
    None,
)


def bench_peer(runs: int, reps: int, cache: Path, scratch: Path) -> dict[str, Any]:
    """optuna-dashboard on a journal-file study of ``runs`` trials of the same objective."""
    import inspect

    python, install = ensure_venv(PEER, cache)
    if python is None:
        return {"status": "install_failed", "install": install}
    journal = scratch / "optuna-journal.log"
    objective = inspect.getsource(_failure) + "\n\n" + inspect.getsource(outcome)
    env = peer_env(cache)
    progress(f"peer: a study of {runs:,} trials in {journal}")
    done = subprocess.run(
        [str(python), "-c", STUDY_SCRIPT.format(objective=objective), str(journal), str(runs)],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    if done.returncode != 0:
        return {"status": "fill_failed", "install": install, "error": done.stderr[-2000:]}
    study = json.loads(done.stdout.strip().splitlines()[-1])
    executable = python.parent / "optuna-dashboard"

    def start() -> tuple[subprocess.Popen[bytes], int]:
        port = free_port()
        log = (scratch / "optuna-dashboard.log").open("ab")
        process = subprocess.Popen(
            [str(executable), str(journal), "--host", "127.0.0.1", "--port", str(port), "--quiet"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/api/studies")
                if conn.getresponse().status == 200:
                    return process, port
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"optuna-dashboard did not answer: {(scratch / 'optuna-dashboard.log').read_text()[-2000:]}")

    def stop(server: tuple[subprocess.Popen[bytes], int]) -> None:
        server[0].terminate()
        server[0].wait(timeout=30)

    result = bench_page(
        "optuna-dashboard",
        start,
        stop,
        lambda s: f"http://127.0.0.1:{s[1]}/dashboard/studies/{study['study_id']}",
        [READY_PEER],
        reps,
        lambda s: s[0].pid,
    )
    return {"status": "ok", "install": install, "study": study, **result}


# --- the README's image ---------------------------------------------------------------------------


def screenshot(path: Path, scratch: Path) -> dict[str, Any]:
    """Run the README's first command's job in ``scratch`` and take its experiment page at 1280x900."""
    work = scratch / "main-job"
    work.mkdir()
    progress("running examples/tune_digits.py (the README's main job)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGOPT")}
    # This checkout's package, whichever one pip installed (the job runs in another folder).
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "tune_digits.py")], cwd=work, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"tune_digits.py failed: {done.stderr[-2000:]}")
    db = work / ".sigopt_ai" / "sigopt_ai.db"
    with LiveDashboard(str(db)) as server, chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{server.url}/experiments/1")
        page.wait_for_function("() => document.body.dataset.ready === '1'", timeout=LOAD_TIMEOUT_MS)
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path))
        context.close()
    progress(f"wrote {path}")
    return {"path": str(path), "job_output": done.stdout.strip().splitlines()[-2:]}


# --- report ---------------------------------------------------------------------------------------


def render_markdown(results: dict[str, Any]) -> str:
    """The summary tables."""
    ours, fill_facts, reps = results["ours"], results["store"], results["config"]["reps"]
    runs = fill_facts["runs"]
    lines = [
        f"# Dashboard: the experiment page with {runs:,} runs",
        "",
        *machine_table(results),
        "## Store",
        "",
        f"One `offline` experiment of the main job's shape, {runs:,} runs and observations, failed by kind "
        f"{fill_facts['failed_by_kind']}; filled through the SQL backend in {fill_facts['seconds']:.0f} s "
        f"(serve {fill_facts['serve_s']:.0f} s, run writes {fill_facts['write_s']:.0f} s, observe "
        f"{fill_facts['observe_s']:.0f} s; {fill_facts['store_mb']} MB)"
        + (", reused from an earlier run of this script." if fill_facts.get("reused") else "."),
        "",
        f'## Load time: navigation to `data-ready="1"` (median of {reps})',
        "",
        "| dashboard | cold (ms) | first visit (ms) | warm (ms) | target | server peak RSS (MB) |",
        "|---|---:|---:|---:|---:|---:|",
        _load_row("sigopt-ai dashboard", ours, True),
    ]
    peer = results.get("peer") or {}
    if peer.get("status") == "ok":
        lines.append(_load_row(f"{PEER.sdk} ({runs:,} trials, journal file)", peer, False))
    elif peer:
        lines.append(f"| {PEER.sdk} | {peer.get('status')} | | | | |")
    lines += ["", "## Where the time goes (median load)", ""]
    lines += [
        "| dashboard | load | document (ms) | static files done (ms) | JSON: first start / last end (ms) "
        "| render after JSON (ms) | ready (ms) |",
    ]
    lines += ["|---|---|---:|---:|---:|---:|---:|"]
    for name, entry in (("sigopt-ai", ours), ("optuna-dashboard", peer if peer.get("status") == "ok" else None)):
        if not entry:
            continue
        for kind in ("cold", "first_visit", "warm"):
            m = _median_load(entry[kind]["loads"])
            lines.append(
                f"| {name} | {kind} | {fmt(m['document_ms'])} | {fmt(m['static_end_ms'])} | "
                f"{fmt(m['api_first_start_ms'])} / {fmt(m['api_last_end_ms'])} | {fmt(m['render_after_api_ms'])} | "
                f"{fmt(m['ready_ms'])} |"
            )
    lines += ["", "## Our page's plots: ECharts `init` + `setOption` (draws the SVG), median load (ms)", ""]
    plots = sorted({p for kind in ("cold", "warm") for p in _median_load(ours[kind]["loads"])["chart_ms"]})
    kinds = ("cold", "first_visit", "warm")
    lines += ["| load | " + " | ".join(plots) + " |", "|---|" + "---:|" * len(plots)]
    for kind in kinds:
        charts = _median_load(ours[kind]["loads"])["chart_ms"]
        lines.append(f"| {kind} | " + " | ".join(fmt(charts.get(p)) for p in plots) + " |")
    lines += ["", "## Our page's requests in its median loads (ms from navigation start)", ""]
    lines += ["| load | request | start | to first byte | to last byte |", "|---|---|---:|---:|---:|"]
    for kind in kinds:
        for q in _median_load(ours[kind]["loads"])["requests"]:
            lines.append(
                f"| {kind} | `{q['path']}` | {fmt(q['start_ms'])} | {fmt(q['ttfb_ms'])} | {fmt(q['duration_ms'])} |"
            )
    lines += ["", "## JSON routes, each alone (loopback wall time, ms)", ""]
    lines += [
        "| dashboard | route | bytes | first (cold) | median of warm | max warm |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, entry in (("sigopt-ai", ours), ("optuna-dashboard", peer if peer.get("status") == "ok" else None)):
        for r in (entry or {}).get("routes", []):
            lines.append(
                f"| {name} | `{r['path']}` | {r['bytes']:,} | {fmt(r['first_ms'])} | {fmt(r['median_ms'])} "
                f"| {fmt(r['max_ms'])} |"
            )
    console = ours.get("console") or []
    lines += [
        "",
        f"Console errors and warnings on our page: {len(console)}" + (f": {console[:5]}" if console else "."),
        "",
    ]
    return "\n".join(lines)


def _load_row(name: str, entry: Mapping[str, Any], target: bool) -> str:
    cold, warm = entry["cold"]["median_ready_ms"], entry["warm"]["median_ready_ms"]
    visit = entry["first_visit"]["median_ready_ms"]
    verdict = ""
    if target:  # judged per column: cold / first visit / warm
        verdict = f"≤ {TARGET_MS:,.0f} ms: " + " / ".join(
            "n/a" if x is None else "**pass**" if x <= TARGET_MS else "**FAIL**" for x in (cold, visit, warm)
        )
    return f"| {name} | {fmt(cold)} | {fmt(visit)} | {fmt(warm)} | {verdict} | {fmt(entry['server_peak_rss_mb'])} |"


def _median_load(loads: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The load whose ready time is the median (the lower middle for an even count)."""
    ordered = sorted(loads, key=lambda x: x["ready_ms"] if x["ready_ms"] is not None else math.inf)
    return ordered[(len(ordered) - 1) // 2]


# --- main -----------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=10_000, help="runs in the experiment (default 10,000)")
    parser.add_argument("--reps", type=int, default=5, help="cold loads, warm loads and route timings (default 5)")
    parser.add_argument("--no-peer", action="store_true", help="skip optuna-dashboard")
    parser.add_argument("--fresh-store", action="store_true", help="fill the store again even if cached")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="venvs and the filled store")
    parser.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--screenshot", type=Path, help="only write the README's screenshot to this path")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sigopt-dashboard-bench-") as tmp:
        scratch = Path(tmp)
        if args.screenshot:
            screenshot(args.screenshot, scratch)
            return 0
        results: dict[str, Any] = {
            "command": command_line("dashboard.py", argv),
            "machine": machine_facts(),
            "config": {"runs": args.runs, "reps": args.reps, "target_ms": TARGET_MS},
        }
        db, results["store"] = filled_store(args.cache_dir, args.runs, args.fresh_store)
        progress(f"store ready: {results['store']}")
        results["ours"] = bench_ours(db, results["store"]["experiment"], args.reps)
        if not args.no_peer:
            results["peer"] = bench_peer(args.runs, args.reps, args.cache_dir, scratch)
        results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        write_results(args.results_dir, "dashboard", results, render_markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
