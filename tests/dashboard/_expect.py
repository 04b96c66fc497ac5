"""Checks of an experiment page against what the store holds, shared by the served page and the report file.

``experiment`` is what :func:`tests.dashboard._fill.describe` read back through the public SDK: the expected
counts never come from the page's own JSON.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from playwright.sync_api import Page

from tests.dashboard._browser import number_in, plot

__all__ = ["best_value", "cells", "check_header", "check_plots", "close", "kinds", "successes", "text"]


def text(page: Page, selector: str) -> str:
    """The text of the one element ``selector`` as the DOM holds it (``inner_text`` would apply CSS such as
    ``text-transform: uppercase``)."""
    return page.locator(selector).text_content() or ""


def cells(page: Page, selector: str) -> list[str]:
    """The texts of the cells (``th``, ``td``, ``dt``, ``dd``, ``li``) under ``selector``, stripped."""
    found: list[str] = page.locator(selector).evaluate(
        "el => [...el.querySelectorAll('th, td, dt, dd, li')].map(c => c.textContent.trim())"
    )
    return found


def kinds(experiment: dict[str, Any]) -> dict[str, int]:
    """Failed observations per kind."""
    return dict(Counter(o["kind"] for o in experiment["observations"] if o["failed"]))


def successes(experiment: dict[str, Any]) -> int:
    return sum(not o["failed"] for o in experiment["observations"])


def best_value(experiment: dict[str, Any]) -> float:
    """The best value of the single optimized metric, from the store's best observation."""
    metric = experiment["metrics"][0]["name"]
    [best] = experiment["best"]
    return float(best["values"][metric])


def close(shown: float, expected: float) -> bool:
    """A value as a page prints it (a few significant digits) against the stored one."""
    return math.isclose(shown, expected, rel_tol=5e-3, abs_tol=1e-12)


def check_header(page: Page, experiment: dict[str, Any]) -> None:
    """The name, ``#counts`` (done / budget, failed by kind) and the best value."""
    assert page.locator("body").get_attribute("data-page") == "experiment"
    assert page.locator("#name").text_content() == experiment["name"]
    counts = text(page, "#counts")
    progress = experiment["progress"]
    assert f"{progress['finished']} / {experiment['budget']}" in counts, counts
    assert f"{progress['failed']} failed" in counts, counts
    for kind, n in kinds(experiment).items():
        assert f"{kind} {n}" in counts, counts
    best = text(page, "#best-value")
    assert close(number_in(best), best_value(experiment)), best


def check_plots(page: Page, experiment: dict[str, Any]) -> None:
    """History, parallel coordinates and failure map: one mark per observation in the option and at least as
    many shapes in the SVG, failures in one series per kind, P(success) drawn as a heatmap."""
    observations = len(experiment["observations"])
    history = plot(page, "history")
    assert history.chart
    assert history.successes() == successes(experiment)
    assert history.failed_by_kind() == kinds(experiment)
    assert any(s["type"] == "line" and s["count"] > 0 for s in history.series), history.series
    assert history.svg_shapes >= observations, "the SVG has fewer shapes than observations"

    parallel = plot(page, "parallel")
    assert parallel.chart
    assert parallel.count("parallel") == observations
    assert parallel.failed_by_kind() == kinds(experiment)
    for name in experiment["parameters"]:
        assert any(axis and name in axis for axis in parallel.parallel_axes), (name, parallel.parallel_axes)
    assert parallel.visual_maps >= 1, "the lines are not coloured by the metric"
    assert parallel.svg_shapes >= observations

    failure_map = plot(page, "failure-map")
    assert failure_map.chart
    assert failure_map.count("scatter") == observations
    assert failure_map.failed_by_kind() == kinds(experiment)
    # With successes and failures of three kinds the Bayesian optimizer has its classifier: P(success) is drawn
    # (as a heatmap, or as custom-drawn cells).
    [contour] = [s for s in failure_map.series if s["type"] == "heatmap" or "P(success)" in (s["name"] or "")]
    assert contour["count"] > 0
    assert failure_map.svg_shapes >= observations, "the SVG has fewer shapes than observations"
