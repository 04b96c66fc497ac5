"""Run the optimizer benchmark: every (problem, method, seed), a JSON of traces and a markdown summary.

Usage (from the repository root)::

    python -m benchmarks.optimizer.run --seeds 20 --problems all --methods all --out benchmarks/results/
    python -m benchmarks.optimizer.run --smoke            # CI: 2 seeds, budget 12, fast methods

Every method is driven sequentially (ask -> evaluate -> tell), or with ``--parallel N`` by N
simulated asynchronous workers (:func:`drive`); only the ``ask`` call is timed.
Runs go to ``--workers`` processes (spawned, one BLAS/torch thread each so that two workers share
two cores without oversubscription); ``--workers 1`` runs in-process.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import json
import math
import os
import platform
import sys
import time
import traceback
import warnings
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from datetime import datetime, timezone
from importlib import metadata
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.optimizer import summary as summary_mod
from benchmarks.optimizer.latency import END as LATENCY_END
from benchmarks.optimizer.latency import START as LATENCY_START
from benchmarks.optimizer.latency import latency_markdown
from benchmarks.optimizer.peers import (
    DEFAULT_METHODS,
    METHODS,
    OURS,
    Asked,
    Driver,
    build_driver,
    missing_requirement,
)
from benchmarks.optimizer.problems import PROBLEMS, Problem, get_problem, verify_known_optima

SMOKE_SEEDS = 2
SMOKE_BUDGET = 12
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# Rough seconds per evaluation and per suggestion (measured on the 2-core box), used only to start
# the slowest runs first so that both workers stay busy until the end.
_EVALUATE_S = {"MLP-DIGITS": 3.0}
_SUGGEST_S = {"gp_c": 2.0, "gp": 2.0, "ax_constraint": 2.5, "ax_failed": 1.0, "sigopt_ai": 0.3}
_DURATION_STREAM = 0x5E7  # the random stream of simulated evaluation times, apart from the methods'


# --- one run ----------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _evaluation(
    assignments: Mapping[str, Any], value: float | None, kind: str | None, seconds: float, notes: list[str]
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "assignments": {k: _jsonable(v) for k, v in assignments.items()},
        "value": value,
        "failed": value is None,
        "suggest_s": seconds,
    }
    if kind is not None:
        record["failure_kind"] = kind
    if notes:
        record["warnings"] = notes
    return record


def drive(problem: Problem, driver: Driver, budget: int, *, workers: int = 1, seed: int = 0) -> list[dict[str, Any]]:
    """Run ``driver`` on ``problem`` for ``budget`` evaluations; one record per evaluation, in finishing order.

    With ``workers > 1``, that many simulated asynchronous workers each hold an assignment: an
    evaluation lasts a random time (log-normal, median 1, sigma 0.5, drawn from ``seed``), and the
    worker that finishes first is told its result and asks for the next assignment while the
    others are still out. Each record then says how many other assignments were out when it was
    asked (``in_flight``). With one worker this is the sequential loop: ask, evaluate, tell.

    Warnings raised while suggesting (e.g. the optimizer's numerical fallback) are recorded on the
    evaluation, not printed.
    """
    durations = np.random.default_rng([seed, _DURATION_STREAM])
    out: list[tuple[float, int, Asked, float | None, str | None, dict[str, Any]]] = []
    evaluations: list[dict[str, Any]] = []
    clock, asked = 0.0, 0
    while len(evaluations) < budget:
        while asked < budget and len(out) < workers:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                start = time.perf_counter()
                ticket = driver.ask()
                seconds = time.perf_counter() - start
            value = problem.evaluate(ticket.assignments)
            kind = problem.failure_kind(ticket.assignments) if value is None else None
            notes = [f"{w.category.__name__}: {w.message}" for w in caught]
            record = _evaluation(ticket.assignments, value, kind, seconds, notes)
            if workers > 1:
                record["in_flight"] = len(out)
                finish = clock + float(durations.lognormal(0.0, 0.5))
            else:
                finish = clock
            heapq.heappush(out, (finish, asked, ticket, value, kind, record))
            asked += 1
        clock, _, ticket, value, kind, record = heapq.heappop(out)
        driver.tell(ticket, value, kind)
        evaluations.append(record)
    return evaluations


def run_one(problem_name: str, method: str, seed: int, budget: int, *, workers: int = 1) -> dict[str, Any]:
    """One (problem, method, seed) trace; an exception is recorded in ``error``, not raised."""
    problem = with_budget(get_problem(problem_name), budget)
    start = time.perf_counter()
    trace: dict[str, Any] = {"problem": problem_name, "method": method, "seed": seed, "budget": budget}
    if workers > 1:
        trace["workers"] = workers
    try:
        driver = build_driver(method, problem, seed)
        trace["implementation"] = driver.implementation
        trace["evaluations"], trace["error"] = drive(problem, driver, budget, workers=workers, seed=seed), None
    except Exception:  # a crashing method must not lose the other runs
        trace["evaluations"], trace["error"] = [], traceback.format_exc(limit=8)
    trace["wall_s"] = time.perf_counter() - start
    return trace


def with_budget(problem: Problem, budget: int) -> Problem:
    """``problem`` with its budget (and its definition's observation budget) set to ``budget``."""
    return replace(problem, budget=budget, definition=replace(problem.definition, budget=budget))


# --- many runs --------------------------------------------------------------------------------


def _init_worker() -> None:
    """One BLAS thread per worker, and heavy imports done once, outside any timed call."""
    import importlib

    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    for module in ("optuna", "torch", "ax", "sklearn.neural_network", "sigopt_ai.optimizer"):
        with contextlib.suppress(ImportError), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # ax's import warns about torch.jit
            importlib.import_module(module)


def tasks(
    problems: Sequence[str], methods: Sequence[str], seeds: Mapping[str, int], budgets: Mapping[str, int]
) -> list[tuple[str, str, int, int]]:
    """Every (problem, method, seed, budget), the most expensive first."""
    items = [(p, m, s, budgets[p]) for p in problems for m in methods for s in range(seeds[p])]
    return sorted(items, key=lambda t: -t[3] * (_EVALUATE_S.get(t[0], 0.01) + _SUGGEST_S.get(t[1], 0.01)))


def run_all(
    items: Sequence[tuple[str, str, int, int]], workers: int, checkpoint: Path, *, parallel: int = 1
) -> list[dict[str, Any]]:
    """Run every task, in-process (``workers == 1``) or in a process pool; progress on stderr.

    ``parallel`` is the number of simulated asynchronous workers inside each run (see :func:`drive`).
    Each finished trace is appended to ``checkpoint`` (JSON lines) so that ``--resume`` can skip it.
    """
    if workers <= 1:
        return [
            _report(run_one(*item, workers=parallel), i, len(items), checkpoint)
            for i, item in enumerate(items, start=1)
        ]
    for name in THREAD_ENV:  # read by numpy/torch when the spawned workers import them
        os.environ.setdefault(name, "1")
    traces = []
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_init_worker) as pool:
        futures = [pool.submit(run_one, *item, workers=parallel) for item in items]
        for i, future in enumerate(as_completed(futures), start=1):
            traces.append(_report(future.result(), i, len(items), checkpoint))
    return traces


def _report(trace: dict[str, Any], done: int, total: int, checkpoint: Path) -> dict[str, Any]:
    with checkpoint.open("a") as f:
        f.write(json.dumps(_finite_or_none(trace), allow_nan=False) + "\n")
    status = "ERROR" if trace["error"] else "ok"
    print(
        f"[{done}/{total}] {trace['problem']} {trace['method']} seed={trace['seed']} {status} {trace['wall_s']:.1f}s",
        file=sys.stderr,
        flush=True,
    )
    return trace


def missing_runs(items: Sequence[tuple[str, str, int, int]]) -> list[str]:
    """One line per (problem, method) with runs that were not run, naming their seeds."""
    seeds: dict[tuple[str, str], list[int]] = {}
    for problem, method, seed, _ in items:
        seeds.setdefault((problem, method), []).append(seed)
    return [
        f"{method} on {problem}, seeds {', '.join(map(str, sorted(found)))} (not run)"
        for (problem, method), found in sorted(seeds.items())
    ]


def resume(
    checkpoint: Path, items: Sequence[tuple[str, str, int, int]], *, parallel: int = 1
) -> tuple[list[dict[str, Any]], list[tuple[str, str, int, int]]]:
    """Traces already in ``checkpoint`` (run with ``parallel`` simulated workers) and the tasks still to run."""
    done = [json.loads(line) for line in checkpoint.read_text().splitlines() if line.strip()]
    keyed = {(t["problem"], t["method"], t["seed"], t["budget"]): t for t in done if t.get("workers", 1) == parallel}
    return [keyed[item] for item in items if item in keyed], [item for item in items if item not in keyed]


# --- output -----------------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("numpy", "scipy", "optuna", "scikit-learn", "torch", "greenlet", "ax-platform", "botorch"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def optimizer_fingerprint() -> str:
    """SHA-256 prefix of ``sigopt_ai/optimizer/*.py``: which optimizer version was benchmarked."""
    import hashlib

    import sigopt_ai

    digest = hashlib.sha256()
    for path in sorted((Path(sigopt_ai.__file__).parent / "optimizer").glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def implementations(traces: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Per method, the sampler/strategy classes that did the work."""
    found: dict[str, set[str]] = {}
    for trace in traces:
        if "implementation" in trace:
            found.setdefault(trace["method"], set()).add(trace["implementation"])
    return {method: ", ".join(sorted(names)) for method, names in found.items()}


def problem_info(problems: Iterable[str], budgets: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    """JSON-ready description of each problem in the run."""
    info = {}
    for name in problems:
        problem = get_problem(name)
        info[name] = {
            "budget": budgets[name],
            "f_star": problem.f_star,
            "optimum": dict(problem.optimum) if problem.optimum else None,
            "note": problem.note,
            "failure_rules": list(problem.failure_rules),
            "parameters": [p.name for p in problem.definition.parameters],
        }
    return info


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_none(v) for v in value]
    return value


def _resumed_text(meta: Mapping[str, Any]) -> str:
    resumed = meta.get("resumed", 0)
    return f"; {resumed} of its runs were resumed from earlier invocations' checkpoint" if resumed else ""


def _seeds_text(seeds: Mapping[str, int]) -> str:
    groups: dict[int, list[str]] = {}
    for problem, n in seeds.items():
        groups.setdefault(n, []).append(problem)
    return "; ".join(f"0..{n - 1} ({', '.join(problems)})" for n, problems in groups.items())


def header_lines(meta: Mapping[str, Any]) -> list[str]:
    """Markdown lines describing the run (protocol, versions, what was left out)."""
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    classes = ", ".join(f"{m} = {c}" for m, c in meta["implementations"].items())
    workers = "in-process" if meta["workers"] <= 1 else f"{meta['workers']} worker processes"
    lines = [
        "# Optimizer benchmark",
        "",
        f"Generated {meta['finished']} by `python -m benchmarks.optimizer.run {' '.join(meta['argv'])}` "
        f"in {meta['wall_s'] / 60:.1f} min on {meta['cpus']} CPUs ({workers}, one BLAS/torch thread each)"
        f"{_resumed_text(meta)}. "
        f"{versions}; sigopt_ai/optimizer sources sha256 {meta['sigopt_ai_optimizer_sha256']}.",
        "",
        f"Implementations: {classes}.",
        "",
        f"Seeds: {_seeds_text(meta['seeds'])}; methods: {', '.join(meta['methods'])}.",
        f"Worker time summed over all runs: {meta['run_s'] / 60:.1f} min.",
        "Protocol: docs/optimizer.md, Benchmark protocol. Regret = best successful value among the first N evaluations",
        "− f* (∞ while none succeeded); failed evaluations count against the budget.",
        f"'failed after {summary_mod.INITIAL_DESIGN}' = failed fraction of evaluations"
        f" {summary_mod.INITIAL_DESIGN + 1}..N pooled over seeds.",
        "Suggest latency = wall time of the ask/suggest call only.",
        "Paired statistics: sigopt_ai vs each peer, regret at full budget, same seeds; Wilcoxon signed-rank",
        "(two-sided, zero differences dropped, ∞ regrets ranked above every finite one).",
        "MLP-DIGITS has no known optimum: its f* is the best validation error found by any method and seed",
        "in this run, so its regrets are relative to that run.",
    ]
    parallel = meta.get("parallel", 1)
    if parallel > 1:
        lines += [
            f"Parallel variant: {parallel} simulated asynchronous workers per run (evaluation times log-normal,",
            f"median 1, sigma 0.5); each suggestion is made while up to {parallel - 1} others are out, and",
            "evaluations count in the order they finish.",
        ]
    return lines + [f"Left out: {note}" for note in meta["left_out"]]


def latency_section(out_dir: Path) -> str | None:
    """The markdown of ``optimizer_latency.json`` (written by ``latency.py``), if present."""
    path = out_dir / "optimizer_latency.json"
    if not path.exists():
        return None
    return latency_markdown(json.loads(path.read_text()))


def write_outputs(out_dir: Path, name: str, document: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``<name>.json`` (traces + summary) and ``<name>.md``; return both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / f"{name}.json", out_dir / f"{name}.md"
    json_path.write_text(json.dumps(_finite_or_none(document), allow_nan=False, separators=(",", ":")))
    markdown = summary_mod.report_markdown(document["summary"], header_lines(document["meta"]))
    latency = latency_section(out_dir)
    if latency is not None:
        markdown += f"\n{LATENCY_START}\n{latency}{LATENCY_END}\n"
    md_path.write_text(markdown)
    return json_path, md_path


# --- CLI --------------------------------------------------------------------------------------


def _choices(value: str, known: Sequence[str], default: Sequence[str], what: str) -> list[str]:
    if value == "all":
        return list(default)
    chosen = [v.strip() for v in value.split(",") if v.strip()]
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise SystemExit(f"unknown {what} {unknown}; choose from {sorted(known)} or 'all'")
    return chosen


def _per_problem(text: str, what: str, problems: Sequence[str]) -> dict[str, int]:
    """``'A=1,B=2'`` as a dict restricted to ``problems``; a key that is no problem at all is an error."""
    out = {}
    for item in text.split(",") if text else []:
        key, _, value = item.partition("=")
        if key.strip() not in PROBLEMS:
            raise SystemExit(f"{what}: unknown problem {key.strip()!r}; choose from {list(PROBLEMS)}")
        if key.strip() in problems:
            out[key.strip()] = int(value)
    return out


def _seeds(args: argparse.Namespace, problems: Sequence[str]) -> dict[str, int]:
    default = args.seeds if args.seeds is not None else (SMOKE_SEEDS if args.smoke else 20)
    return {p: default for p in problems} | _per_problem(args.problem_seeds, "--problem-seeds", problems)


def _budgets(args: argparse.Namespace, problems: Sequence[str]) -> dict[str, int]:
    budgets = {p: get_problem(p).budget for p in problems}
    if args.smoke:
        budgets = dict.fromkeys(problems, SMOKE_BUDGET)
    budgets.update(_per_problem(args.budgets, "--budgets", problems))
    if args.budget is not None:
        budgets = dict.fromkeys(problems, args.budget)
    return budgets


def _methods(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    explicit = args.methods != "all"
    default: tuple[str, ...] = DEFAULT_METHODS
    if args.smoke and not explicit:
        default = tuple(m for m in DEFAULT_METHODS if METHODS[m].fast)
    methods = _choices(args.methods, list(METHODS), default, "methods")
    missing = {m: missing_requirement(m) for m in methods}
    unavailable = [f"{m} ({why})" for m, why in missing.items() if why]
    if unavailable and explicit:
        raise SystemExit(f"cannot run {', '.join(unavailable)}")
    return [m for m in methods if not missing[m]], unavailable


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.optimizer.run", description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 (default 20; smoke 2)")
    parser.add_argument("--problems", default="all", help=f"'all' or a comma list of {', '.join(PROBLEMS)}")
    parser.add_argument("--methods", default="all", help=f"'all' or a comma list of {', '.join(METHODS)}")
    parser.add_argument("--problem-seeds", default="", help="per-problem seed counts, e.g. 'MLP-DIGITS=10'")
    parser.add_argument("--budgets", default="", help="per-problem overrides, e.g. 'BR-DISK=40,H6-FAIL=60'")
    parser.add_argument("--budget", type=int, default=None, help="one budget for every problem")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"), help="output directory")
    parser.add_argument("--name", default=None, help="output file stem (default optimizer; smoke optimizer_smoke)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (1 = in-process)")
    parser.add_argument("--resume", action="store_true", help="skip runs already in <name>.partial.jsonl")
    parser.add_argument("--smoke", action="store_true", help="CI run: 2 seeds, budget 12, fast methods")
    parser.add_argument(
        "--summarize-only",
        action="store_true",
        help="run nothing: summarise the runs already in <name>.partial.jsonl and name the missing ones",
    )
    parser.add_argument(
        "--parallel", type=int, default=1, help="simulated asynchronous workers per run (default 1: sequential)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark described by ``argv``; return the JSON document that was written."""
    args = parse_args(argv)
    verify_known_optima()
    problems = _choices(args.problems, list(PROBLEMS), list(PROBLEMS), "problems")
    methods, left_out = _methods(args)
    seeds = _seeds(args, problems)
    budgets = _budgets(args, problems)
    started, fingerprint = time.perf_counter(), optimizer_fingerprint()  # workers import this version
    if args.parallel < 1:
        raise SystemExit(f"--parallel must be at least 1, got {args.parallel}")
    name = args.name or ("optimizer_smoke" if args.smoke else "optimizer")
    if args.parallel > 1 and not args.name:
        name += f"_parallel{args.parallel}"
    args.out.mkdir(parents=True, exist_ok=True)
    checkpoint = args.out / f"{name}.partial.jsonl"
    items = tasks(problems, methods, seeds, budgets)
    traces: list[dict[str, Any]] = []
    if (args.resume or args.summarize_only) and checkpoint.exists():
        traces, items = resume(checkpoint, items, parallel=args.parallel)
    elif checkpoint.exists():
        checkpoint.unlink()
    resumed = len(traces)
    if args.summarize_only:
        left_out += missing_runs(items)
    else:
        traces += run_all(items, args.workers, checkpoint, parallel=args.parallel)
    traces.sort(key=lambda t: (problems.index(t["problem"]), methods.index(t["method"]), t["seed"]))
    info = problem_info(problems, budgets)
    meta = {
        "argv": list(sys.argv[1:] if argv is None else argv),
        "finished": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_s": time.perf_counter() - started,
        "cpus": os.cpu_count(),
        "workers": args.workers,
        "parallel": args.parallel,
        "seeds": seeds,
        "run_s": sum(t["wall_s"] for t in traces),
        "resumed": resumed,
        "methods": methods,
        "left_out": left_out,
        "implementations": implementations(traces),
        "sigopt_ai_optimizer_sha256": fingerprint,
        "versions": _versions(),
    }
    document = {
        "meta": meta,
        "problems": info,
        "summary": summary_mod.summarize(traces, info, OURS),
        "traces": traces,
    }
    json_path, md_path = write_outputs(args.out, name, document)
    if not args.summarize_only:
        checkpoint.unlink()
    print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    return document


if __name__ == "__main__":
    main()
