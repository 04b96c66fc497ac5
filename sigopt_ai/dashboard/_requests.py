"""The ``/v1`` requests the experiment page makes when it loads: one list, which the report answers in
advance (its data map) and ``app.js`` makes (its ``api(path)`` reads the map when the page has one).

A path here must be exactly the one ``app.js`` asks, query string included, in the same order of
parameters: the map is looked up by the string.
"""

from __future__ import annotations

from urllib.parse import quote

__all__ = ["HISTORY_POINTS", "RUNS_PAGE", "experiment_requests"]

HISTORY_POINTS = 2000
"""The points the page asks of the analysis route (the history and the sampled points)."""
RUNS_PAGE = 50
"""Rows of the runs table on a page."""


def experiment_requests(experiment_id: str) -> list[str]:
    """The paths (with their query) that the experiment page of ``experiment_id`` GETs as it loads.

    Example:
        >>> experiment_requests("7")[0]
        '/v1/experiments/7'
    """
    base = f"/v1/experiments/{quote(experiment_id, safe='')}"
    return [
        base,
        f"{base}/sigopt_ai/analysis?points={HISTORY_POINTS}",
        f"{base}/sigopt_ai/failure_map",
        f"{base}/sigopt_ai/runs?offset=0&limit={RUNS_PAGE}&sort=created&order=desc",
        f"{base}/sigopt_ai/experiment.yml",
    ]
