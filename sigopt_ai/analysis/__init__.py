"""Analysis of experiments and runs for the dashboard, reports and notebooks: pure functions from
store records to JSON-ready dicts (numbers that are not finite become None).

Nothing here imports the server or a web framework: the server's ``/v1/.../sigopt_ai/...`` analysis
routes, the report and ``_repr_html_`` all call these functions.

Example:
    >>> from sigopt_ai.analysis import history
    >>> history(definition, observations)["best"][-1]
    0.93
"""

from __future__ import annotations

from sigopt_ai.analysis._analysis import experiment_analysis
from sigopt_ai.analysis._common import finite, json_assignments, plotted_metric, sample_indices
from sigopt_ai.analysis._experiments import experiment_row
from sigopt_ai.analysis._failure_map import DEFAULT_GRID, MAX_GRID, failure_map, map_axes
from sigopt_ai.analysis._history import DEFAULT_POINTS, history
from sigopt_ai.analysis._points import pareto_front, point, points
from sigopt_ai.analysis._runs import MAX_RUNS_LIMIT, RUN_SORTS, check_runs_query, run_row, runs_json, runs_page
from sigopt_ai.analysis._separating import numeric_parameters, separating_pair
from sigopt_ai.analysis._yaml import experiment_yaml

__all__ = [
    "DEFAULT_GRID",
    "DEFAULT_POINTS",
    "MAX_GRID",
    "MAX_RUNS_LIMIT",
    "RUN_SORTS",
    "check_runs_query",
    "experiment_analysis",
    "experiment_row",
    "experiment_yaml",
    "failure_map",
    "finite",
    "history",
    "json_assignments",
    "map_axes",
    "numeric_parameters",
    "pareto_front",
    "plotted_metric",
    "point",
    "points",
    "run_row",
    "runs_json",
    "runs_page",
    "sample_indices",
    "separating_pair",
]
