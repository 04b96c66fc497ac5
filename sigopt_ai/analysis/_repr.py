"""Compact HTML summaries of an experiment and of a run, for Jupyter's ``_repr_html_``.

Static HTML and an inline SVG (:mod:`sigopt_ai.analysis._svg`), no JavaScript: notebooks render them
untrusted, and so do GitHub and VS Code. The experiment's plot is drawn from the same
:func:`sigopt_ai.analysis.history` data the dashboard plots. Every user string (names, parameter
values, failure messages) goes through :func:`html.escape`.

Example:
    >>> exp = sigopt.create_experiment(...)  # doctest: +SKIP
    >>> exp  # in Jupyter: name, counts, failures by kind, best value and assignments, the history plot
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._models import ExperimentRecord, Observation, Progress, RunRecord
from sigopt_ai.analysis import history
from sigopt_ai.analysis._svg import KIND_COLORS, OTHER_KIND, history_svg

__all__ = ["REPR_POINTS", "counts_text", "experiment_html", "run_html"]

REPR_POINTS = 500
"""The most observations the notebook plot draws (sampled as the dashboard samples): keeps a
notebook small when an experiment has thousands."""

_BOX = 'style="font-family:sans-serif;font-size:13px;line-height:1.4;max-width:560px"'
_CELL = 'style="text-align:left;padding:1px 8px 1px 0;font-weight:normal"'


def counts_text(progress: Progress, observation_count: int) -> str:
    """The dashboard's counts line: ``37 / 40 observations · 9 failed (oom 3, diverged 4, ...) · 1 active``."""
    budget = "" if progress.budget is None else f" / {progress.budget}"
    text = f"{observation_count}{budget} observations"
    if progress.failed:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(progress.failed_by_kind.items(), key=lambda kv: -kv[1]))
        text += f" · {progress.failed} failed ({kinds})" if kinds else f" · {progress.failed} failed"
    if progress.active:
        text += f" · {progress.active} active"
    return text


def experiment_html(
    record: ExperimentRecord, observations: Sequence[Observation], progress: Progress, best: Sequence[Observation]
) -> str:
    """An experiment's summary: name, counts, best value and assignments, and the history plot.

    Args:
        record: The stored experiment.
        observations: Its observations, oldest first.
        progress: Its progress counts.
        best: Its best observations (:meth:`~sigopt_ai.Experiment.best_observations`).
    """
    definition = ExperimentDefinition.from_json(record.definition)
    parts = [
        f"<div {_BOX}>",
        f'<div><strong>{escape(record.name)}</strong> <span style="color:#666">experiment {escape(record.id)}'
        f" · project {escape(record.project)} · {escape(record.state.value)}</span></div>",
        f"<div>{escape(counts_text(progress, len(observations)))}</div>",
        _best_html(definition, best),
        history_svg(history(definition, observations, points=REPR_POINTS)),
        "</div>",
    ]
    return "".join(parts)


def _best_html(definition: ExperimentDefinition, best: Sequence[Observation]) -> str:
    if not best:
        return "<div>No successful observation yet.</div>"
    optimized = [m.name for m in definition.optimized_metrics]
    if len(optimized) == 1:
        value = best[0].values.get(optimized[0])
        head = f"<div>Best {escape(optimized[0])}: <strong>{_value(value)}</strong></div>"
    else:
        head = f"<div>Pareto front: {len(best)} observation(s) over {escape(', '.join(optimized))}</div>"
    return head + _table("best assignments", best[0].assignments)


def run_html(record: RunRecord) -> str:
    """A run's summary: name, state, params, metrics, the failure, and its first metric's checkpoints."""
    state = record.state.value + (" (lost: no heartbeat)" if record.lost else "")
    duration = "" if record.ended is None else f" · {record.ended - record.created:.1f} s"
    links = "".join(
        f" · {label} {escape(value)}"
        for label, value in (("experiment", record.experiment), ("suggestion", record.suggestion))
        if value
    )
    parts = [
        f"<div {_BOX}>",
        f'<div><strong>{escape(record.name)}</strong> <span style="color:#666">run {escape(record.id)}'
        f" · project {escape(record.project)}{links}</span></div>",
        f"<div>state: <strong>{escape(state)}</strong>{escape(duration)}</div>",
        _failure_html(record),
        _table("params", record.params),
        _table("metrics", record.metrics),
        _checkpoints_svg(record),
        "</div>",
    ]
    return "".join(parts)


def _failure_html(record: RunRecord) -> str:
    failure = record.failure
    if failure is None:
        return ""
    color = KIND_COLORS.get(failure.kind.value, OTHER_KIND)
    text = f'<div>failed: <strong style="color:{color}">{escape(failure.kind.value)}</strong>'
    if failure.type:
        text += f" {escape(failure.type)}"
    if failure.message:
        text += f": {escape(failure.message)}"
    text += "</div>"
    if failure.traceback:
        text += f"<details><summary>traceback</summary><pre>{escape(failure.traceback)}</pre></details>"
    return text


def _checkpoints_svg(record: RunRecord) -> str:
    """The first checkpointed metric against its steps, in the history plot's drawing."""
    names = list(dict.fromkeys(name for c in record.checkpoints for name in c.values))
    if not names:
        return ""
    points = [(c.step, c.values[names[0]]) for c in record.checkpoints if names[0] in c.values]
    curve = {
        "metric": names[0],
        "objective": None,
        "x": [step for step, _ in points],
        "value": [v if math.isfinite(v) else None for _, v in points],
        "failed": [False] * len(points),
        "kind": [None] * len(points),
    }
    return history_svg(curve, x_label="checkpoint step", line=True, height=180)


def _table(title: str, values: Mapping[str, Any]) -> str:
    if not values:
        return ""
    rows = "".join(
        f"<tr><th {_CELL}>{escape(str(name))}</th><td {_CELL}>{_value(values[name])}</td></tr>"
        for name in sorted(values)
    )
    heading = f'<div style="color:#666;margin-top:4px">{escape(title)}</div>'
    return f'{heading}<table style="border-collapse:collapse">{rows}</table>'


def _value(value: Any) -> str:
    if isinstance(value, float):
        return escape(f"{value:.6g}")
    return escape(str(value))
