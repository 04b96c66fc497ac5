"""The compact HTML summary of an experiment, for Jupyter's ``_repr_html_`` (a run's is
``RunRecord._repr_html_``; both draw with :mod:`sigopt_ai._html`).

Static HTML and an inline SVG, no JavaScript: notebooks render them
untrusted, and so do GitHub and VS Code. The experiment's plot is drawn from the same
:func:`sigopt_ai.analysis.history` data the dashboard plots. Every user string (names, parameter
values, failure messages) goes through :func:`html.escape`.

Example:
    >>> exp = sigopt.create_experiment(...)  # doctest: +SKIP
    >>> exp  # in Jupyter: name, counts, failures by kind, best value and assignments, the history plot
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._html import BOX, history_svg, table_html, value_html
from sigopt_ai._models import ExperimentRecord, Observation, Progress
from sigopt_ai.analysis import history

__all__ = ["REPR_POINTS", "counts_text", "experiment_html"]

REPR_POINTS = 500
"""The most observations the notebook plot draws (sampled as the dashboard samples): keeps a
notebook small when an experiment has thousands."""


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
        f"<div {BOX}>",
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
        head = f"<div>Best {escape(optimized[0])}: <strong>{value_html(value)}</strong></div>"
    else:
        head = f"<div>Pareto front: {len(best)} observation(s) over {escape(', '.join(optimized))}</div>"
    return head + table_html("best assignments", best[0].assignments)
