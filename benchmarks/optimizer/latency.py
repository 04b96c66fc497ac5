"""Suggestion latency of our Bayesian optimizer at 200 and 1,000 observations, in 10, 20 and 40 dimensions.

Usage (from the repository root)::

    python -m benchmarks.optimizer.latency --repeats 20 --out benchmarks/results/
    "$(bash benchmarks/optimizer/ax_venv.sh)" -m benchmarks.optimizer.latency --repeats 20 --peers ax_constraint

With ``--peers ax_constraint`` Ax is timed in the same run on the same histories (told about failures
as the ``ax_constraint`` peer is), at ``--peer-sizes`` and ``--peer-dims`` only: one Ax suggestion at
200 observations takes seconds.

Synthetic history: uniformly random points in [0, 1]^d, a smooth objective, and a hidden failure
rule ``x1 + x2 > 1.37`` (19.8 % of the cube). Each timed call sees one more observation than the
previous one (as in the real loop, so warm starts are exercised); the first call is also reported
alone (cold). The targets (``docs/optimizer.md``, *Latency*) are set in 10 dimensions; 20 and 40 show how the
cost grows with the dimension. Writes ``optimizer_latency.json`` and puts its section into ``optimizer.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from sigopt_ai._definition import Bounds, ExperimentDefinition, Metric, Parameter

START, END = "<!-- latency:start -->", "<!-- latency:end -->"
FAILURE_EDGE = 1.37  # P(x1 + x2 > 1.37) = 0.63^2 / 2 = 0.198 on the unit square


def definition(dim: int) -> ExperimentDefinition:
    """``dim`` doubles in [0, 1], one minimised metric."""
    params = tuple(Parameter(f"x{i}", "double", Bounds(0.0, 1.0)) for i in range(1, dim + 1))
    return ExperimentDefinition("latency", params, (Metric("value", objective="minimize"),))


def synthetic_observations(n: int, dim: int, seed: int) -> list[Any]:
    """``n`` random observations, about 20 % failed (``x1 + x2 > 1.37``).

    Failures carry two kinds (``oom`` where ``x3 < 0.5``, else ``diverged``), so the success classifier
    works with two oblique directions, as on a real experiment with both kinds.
    """
    from sigopt_ai._models import Observation

    x = np.random.default_rng(seed).uniform(size=(n, dim))
    values = np.sum((x - 0.3) ** 2, axis=1) + 0.1 * np.sin(5 * x).sum(axis=1)
    observations = []
    for row, value in zip(x, values, strict=True):
        assignments = {f"x{i}": float(v) for i, v in enumerate(row, start=1)}
        failed = bool(row[0] + row[1] > FAILURE_EDGE)
        kind = ("oom" if row[2] < 0.5 else "diverged") if failed else None
        observations.append(Observation(assignments, {} if failed else {"value": float(value)}, failed, kind))
    return observations


def measure(n: int, dim: int, repeats: int, seed: int = 0) -> dict[str, Any]:
    """Time ``repeats`` suggestions with ``n``, ``n + 1``, ... observations in history."""
    from sigopt_ai.optimizer import make_strategy

    strategy = make_strategy(definition(dim), seed=seed)
    history = synthetic_observations(n + repeats, dim, seed)
    times = []
    for k in range(repeats):
        start = time.perf_counter()
        strategy.suggest(history[: n + k], [], index=n + k)
        times.append(time.perf_counter() - start)
    return _case(n, dim, repeats, history[:n], times) | {"method": "sigopt_ai"}


def measure_ax(n: int, dim: int, repeats: int, seed: int = 0) -> dict[str, Any]:
    """:func:`measure` for Ax's ``Client`` (the ``ax_constraint`` peer), on the same history.

    The history is attached to Ax as completed trials; each timed ``get_next_trials`` is followed
    by abandoning the trial it made and attaching the next observation of the history, so Ax sees
    exactly what our optimizer sees at each call.
    """
    from benchmarks.optimizer.peers import AxDriver

    driver = AxDriver(definition(dim), seed, "constraint")
    history = synthetic_observations(n + repeats, dim, seed)
    for observation in history[:n]:
        driver.attach(observation.assignments, None if observation.failed else observation.values["value"])
    times = []
    for k in range(repeats):
        start = time.perf_counter()
        asked = driver.ask()
        times.append(time.perf_counter() - start)
        driver.abandon(asked)
        observation = history[n + k]
        driver.attach(observation.assignments, None if observation.failed else observation.values["value"])
    return _case(n, dim, repeats, history[:n], times) | {"method": "ax_constraint"}


def _case(n: int, dim: int, repeats: int, history: Sequence[Any], times: Sequence[float]) -> dict[str, Any]:
    return {
        "n": n,
        "dim": dim,
        "repeats": repeats,
        "failed_fraction": float(np.mean([o.failed for o in history])),
        "first_s": times[0],
        "p50_s": float(np.percentile(times, 50)),
        "p95_s": float(np.percentile(times, 95)),
        "max_s": float(max(times)),
        "times_s": list(times),
    }


def latency_markdown(document: Mapping[str, Any]) -> str:
    """The markdown section of a latency document."""
    meta = document["meta"]
    lines = [
        "## Suggestion latency (latency.py)",
        "",
        f"Measured {meta['finished']} with {meta['threads']} BLAS thread(s), Python {meta['python']}.",
        "Synthetic history: uniform random points, ~20 % failed (x1 + x2 > 1.37); each call sees one",
        "more observation than the previous one.",
        "",
        "| method | observations | dims | failed | calls | first (cold) s | p50 s | p95 s | max s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in document["cases"]:
        lines.append(
            f"| {c.get('method', 'sigopt_ai')} | {c['n']} | {c['dim']} | {100 * c['failed_fraction']:.0f} % "
            f"| {c['repeats']} "
            f"| {c['first_s']:.3f} | {c['p50_s']:.3f} | {c['p95_s']:.3f} | {c['max_s']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def update_markdown(path: Path, section: str) -> None:
    """Replace the latency section of ``path`` (between the markers), or append it."""
    text = path.read_text() if path.exists() else ""
    block = f"{START}\n{section}{END}\n"
    if START in text and END in text:
        head, _, rest = text.partition(START)
        text = head + block + rest.partition(END)[2].lstrip("\n")
    else:
        text = f"{text.rstrip()}\n\n{block}" if text else block
    path.write_text(text)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.optimizer.latency", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="200,1000", help="observation counts, comma separated")
    parser.add_argument("--dims", default="10,20,40", help="dimensions, comma separated")
    parser.add_argument("--repeats", type=int, default=10, help="timed calls per size")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (the benchmark uses 1)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--markdown", default="optimizer.md", help="report to put the section into")
    parser.add_argument("--peers", default="", help="peers timed beside ours: '' or 'ax_constraint'")
    parser.add_argument("--peer-sizes", default="200", help="observation counts at which peers are timed")
    parser.add_argument("--peer-dims", default="10", help="dimensions in which peers are timed")
    parser.add_argument("--peer-repeats", type=int, default=5, help="timed calls per size for peers")
    args = parser.parse_args(argv)
    unknown = {p for p in args.peers.split(",") if p} - {"ax_constraint"}
    if unknown:
        parser.error(f"unknown peers {sorted(unknown)}; the one peer is ax_constraint")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Measure, write ``optimizer_latency.json`` and update the markdown report."""
    from threadpoolctl import threadpool_limits

    args = parse_args(argv)
    with threadpool_limits(args.threads):
        cases = [measure(int(n), int(d), args.repeats) for d in args.dims.split(",") for n in args.sizes.split(",")]
        if args.peers:
            cases += [
                measure_ax(int(n), int(d), args.peer_repeats)
                for d in args.peer_dims.split(",")
                for n in args.peer_sizes.split(",")
            ]
    meta = {
        "finished": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "threads": args.threads,
        "python": platform.python_version(),
    }
    document = {"meta": meta, "cases": cases}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "optimizer_latency.json").write_text(json.dumps(document, indent=1))
    update_markdown(args.out / args.markdown, latency_markdown(document))
    for c in cases:
        print(f"{c['method']} n={c['n']} d={c['dim']}: p50 {c['p50_s']:.3f}s p95 {c['p95_s']:.3f}s", file=sys.stderr)
    return document


if __name__ == "__main__":
    main()
