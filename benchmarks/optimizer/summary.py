"""Statistics and the markdown report of a benchmark run (``docs/optimizer.md``, *Metrics*).

A *trace* is one (problem, method, seed) run: a dict with ``problem``, ``method``, ``seed``,
``budget``, ``error`` (``None`` or the exception text) and ``evaluations``, a list of
``{"value": float | None, "failed": bool, "suggest_s": float, ...}`` in evaluation order.

Definitions:
    * Simple regret after N evaluations: best *successful* value among the first N minus the
      reference ``f*``; infinite when none succeeded. ``f*`` is the known optimum, or for problems
      without one (MLP-DIGITS) the best value found by any method and seed in the same run.
    * Failed after the initial design: failed fraction of evaluations 11..N (pooled over seeds);
      failed in the last half: of evaluations N/2+1..N.
    * Paired statistics compare ``sigopt_ai`` with each peer on the seeds both completed, at the
      full budget. Infinite regrets are replaced by a value farther from every finite regret than
      any two finite regrets are from each other, so they take the largest ranks and two infinite
      regrets tie (difference 0, dropped by the ``wilcox`` zero method). All differences zero:
      p = 1.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

INITIAL_DESIGN = 10
"""Failures are counted after this many evaluations (``docs/optimizer.md``, *Metrics*)."""

Trace = Mapping[str, Any]


def regret_curve(trace: Trace, f_star: float) -> list[float]:
    """Simple regret after each evaluation (``inf`` until the first success)."""
    best, curve = math.inf, []
    for evaluation in trace["evaluations"]:
        if not evaluation["failed"]:
            best = min(best, float(evaluation["value"]))
        curve.append(best - f_star)
    return curve


def regret_at(trace: Trace, f_star: float, n: int) -> float:
    """Simple regret after the first ``n`` evaluations (``inf`` if none succeeded)."""
    values = [float(e["value"]) for e in trace["evaluations"][:n] if not e["failed"]]
    return min(values) - f_star if values else math.inf


def best_value(traces: Iterable[Trace]) -> float:
    """The lowest successful value over all ``traces`` (``inf`` if none)."""
    values = [float(e["value"]) for t in traces for e in t["evaluations"] if not e["failed"]]
    return min(values, default=math.inf)


def quantile(values: Sequence[float], q: float) -> float:
    """``np.quantile`` that tolerates infinite values (interpolating towards ``inf`` gives ``inf``)."""
    if not values:
        return math.nan
    finite = np.where(np.isinf(values), 1e300, np.asarray(values, dtype=float))
    result = float(np.quantile(finite, q))
    return math.inf if result >= 1e299 else result


def failure_rate(traces: Sequence[Trace], start: int, stop: int | None = None) -> float:
    """Pooled fraction of failed evaluations ``start..stop`` (0-based slice) over ``traces``."""
    flags = [e["failed"] for t in traces for e in t["evaluations"][start:stop]]
    return float(np.mean(flags)) if flags else math.nan


def latency(traces: Sequence[Trace]) -> dict[str, float]:
    """Suggestion wall time (seconds) pooled over ``traces``: p50, p95, max and per-run total."""
    times = [e["suggest_s"] for t in traces for e in t["evaluations"]]
    if not times:
        return {"p50": math.nan, "p95": math.nan, "max": math.nan, "total_median": math.nan}
    totals = [sum(e["suggest_s"] for e in t["evaluations"]) for t in traces]
    return {
        "p50": float(np.percentile(times, 50)),
        "p95": float(np.percentile(times, 95)),
        "max": float(max(times)),
        "total_median": float(np.median(totals)),
    }


def _finite_stand_in(a: Sequence[float], b: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    both = np.asarray([*a, *b], dtype=float)
    finite = both[np.isfinite(both)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    stand_in = high + 2 * (high - low) + 1.0
    return (
        np.where(np.isinf(a), stand_in, np.asarray(a, dtype=float)),
        np.where(np.isinf(b), stand_in, np.asarray(b, dtype=float)),
    )


def wilcoxon_p(ours: Sequence[float], peer: Sequence[float]) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired regrets (see the module docstring)."""
    from scipy.stats import wilcoxon

    a, b = _finite_stand_in(ours, peer)
    if not np.any(a != b):
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small-sample / ties notes of the normal approximation
        return float(wilcoxon(a, b, zero_method="wilcox").pvalue)


def paired(ours: Mapping[int, float], peer: Mapping[int, float]) -> dict[str, Any]:
    """Per-seed wins/ties/losses of ``ours`` (lower regret wins) and the Wilcoxon p-value."""
    seeds = sorted(set(ours) & set(peer))
    a, b = [ours[s] for s in seeds], [peer[s] for s in seeds]
    wins = sum(x < y for x, y in zip(a, b, strict=True))
    ties = sum(x == y for x, y in zip(a, b, strict=True))
    p = wilcoxon_p(a, b) if seeds else math.nan
    return {"n": len(seeds), "wins": wins, "ties": ties, "losses": len(seeds) - wins - ties, "p": p}


def _ok(traces: Iterable[Trace]) -> list[Trace]:
    return [t for t in traces if t.get("error") is None]


def method_stats(traces: Sequence[Trace], f_star: float, budget: int) -> dict[str, Any]:
    """Regret, failure and latency statistics of one (problem, method)."""
    ok = _ok(traces)
    half = [regret_at(t, f_star, budget // 2) for t in ok]
    full = [regret_at(t, f_star, budget) for t in ok]
    return {
        "seeds": len(ok),
        "errors": len(traces) - len(ok),
        "regret_half": _median_iqr(half),
        "regret_full": _median_iqr(full),
        "regret_full_by_seed": {int(t["seed"]): r for t, r in zip(ok, full, strict=True)},
        "failed_after_initial": failure_rate(ok, INITIAL_DESIGN, budget),
        "failed_last_half": failure_rate(ok, budget // 2, budget),
        "latency_s": latency(ok),
    }


def _median_iqr(values: Sequence[float]) -> dict[str, float]:
    return {"median": quantile(values, 0.5), "q25": quantile(values, 0.25), "q75": quantile(values, 0.75)}


def average_ranks(by_method: Mapping[str, Mapping[int, float]]) -> dict[str, float]:
    """Mean rank (1 = best, ties averaged) of each method over the seeds all methods completed."""
    from scipy.stats import rankdata

    methods = list(by_method)
    seeds = sorted(set.intersection(*(set(by_method[m]) for m in methods))) if methods else []
    if not seeds:
        return {}
    table = np.array([[by_method[m][s] for m in methods] for s in seeds])
    ranks = np.mean([rankdata(row) for row in table], axis=0)
    return {m: float(r) for m, r in zip(methods, ranks, strict=True)}


def summarize(
    traces: Sequence[Trace], problems: Mapping[str, Mapping[str, Any]], ours: str = "sigopt_ai"
) -> dict[str, Any]:
    """Every statistic of the report, per problem.

    Args:
        traces: All traces of the run.
        problems: Per problem name, at least ``budget`` and ``f_star`` (``None`` = unknown).
        ours: The method compared with every other one.

    Returns:
        ``{problem: {"f_star", "f_star_source", "budget", "methods": {...}, "paired": {...},
        "average_rank": {...}}}``.
    """
    result: dict[str, Any] = {}
    for name, info in problems.items():
        mine = [t for t in traces if t["problem"] == name]
        if mine:
            result[name] = _summarize_problem(mine, info, ours)
    return result


def _who(traces: Sequence[Trace], value: float) -> str:
    found = [f"{t['method']} seed {t['seed']}" for t in _ok(traces) if best_value([t]) == value]
    more = f" and {len(found) - 3} more" if len(found) > 3 else ""
    return (", ".join(found[:3]) + more) or "none"


def _summarize_problem(traces: Sequence[Trace], info: Mapping[str, Any], ours: str) -> dict[str, Any]:
    known = info.get("f_star") is not None
    f_star = float(info["f_star"]) if known else best_value(_ok(traces))
    source = "known optimum" if known else f"best value found by any method in this run ({_who(traces, f_star)})"
    budget = int(info["budget"])
    methods = sorted({t["method"] for t in traces}, key=[t["method"] for t in traces].index)
    stats = {m: method_stats([t for t in traces if t["method"] == m], f_star, budget) for m in methods}
    by_seed = {m: s["regret_full_by_seed"] for m, s in stats.items()}
    comparisons = {m: paired(by_seed[ours], by_seed[m]) for m in methods if ours in by_seed and m != ours}
    return {
        "f_star": f_star,
        "f_star_source": source,
        "budget": budget,
        "methods": stats,
        "paired": comparisons,
        "average_rank": average_ranks(by_seed),
    }


# --- markdown ---------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    if math.isnan(x):
        return "–"
    if math.isinf(x):
        return "∞"
    return f"{x:.3g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.1e}"


def _pct(x: float) -> str:
    return "–" if math.isnan(x) else f"{100 * x:.0f} %"


def _ms(x: float) -> str:
    return "–" if math.isnan(x) else f"{1000 * x:.0f}" if x >= 0.01 else f"{1000 * x:.1f}"


def _regret_cell(stat: Mapping[str, float]) -> str:
    return f"{_fmt(stat['median'])} ({_fmt(stat['q25'])}–{_fmt(stat['q75'])})"


def problem_markdown(name: str, summary: Mapping[str, Any]) -> list[str]:
    """The markdown section of one problem."""
    budget = summary["budget"]
    lines = [
        f"### {name} (budget {budget}, f* = {summary['f_star']:.6g}, {summary['f_star_source']})",
        "",
        f"| method | seeds | regret @{budget // 2} median (IQR) | regret @{budget} median (IQR) "
        f"| failed after {INITIAL_DESIGN} | failed in last half | suggest p50 / p95 ms | avg rank |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for method, s in summary["methods"].items():
        rank = summary["average_rank"].get(method, math.nan)
        errors = f" ({s['errors']} errors)" if s["errors"] else ""
        lines.append(
            f"| {method} | {s['seeds']}{errors} | {_regret_cell(s['regret_half'])} "
            f"| {_regret_cell(s['regret_full'])} | {_pct(s['failed_after_initial'])} "
            f"| {_pct(s['failed_last_half'])} | {_ms(s['latency_s']['p50'])} / {_ms(s['latency_s']['p95'])} "
            f"| {_fmt(rank)} |"
        )
    return lines + ["", *_paired_markdown(summary["paired"])]


def _paired_markdown(comparisons: Mapping[str, Mapping[str, Any]]) -> list[str]:
    if not comparisons:
        return []
    lines = [
        "| sigopt_ai vs | seeds | wins / ties / losses | Wilcoxon p |",
        "|---|---|---|---|",
    ]
    for peer, c in comparisons.items():
        p = "–" if math.isnan(c["p"]) else f"{c['p']:.3g}"
        lines.append(f"| {peer} | {c['n']} | {c['wins']} / {c['ties']} / {c['losses']} | {p} |")
    return [*lines, ""]


def overall_ranks(summary: Mapping[str, Any]) -> dict[str, float]:
    """Average rank per method across the problems where it ran."""
    ranks: dict[str, list[float]] = {}
    for problem in summary.values():
        for method, rank in problem["average_rank"].items():
            ranks.setdefault(method, []).append(rank)
    return {m: float(np.mean(r)) for m, r in sorted(ranks.items(), key=lambda kv: np.mean(kv[1]))}


def report_markdown(summary: Mapping[str, Any], header: Sequence[str]) -> str:
    """The whole report: ``header`` lines, one section per problem, average ranks."""
    lines = [*header, "", "## Results", ""]
    for name, problem in summary.items():
        lines += problem_markdown(name, problem)
    ranks = overall_ranks(summary)
    if ranks:
        lines += ["### Average rank over problems (regret at full budget; 1 = best)", ""]
        lines += ["| method | average rank |", "|---|---|"]
        lines += [f"| {m} | {r:.2f} |" for m, r in ranks.items()]
    return "\n".join(lines) + "\n"
