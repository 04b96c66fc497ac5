"""Every page of ``sigopt-ai dashboard`` in a real Chromium, over a store filled by real experiment loops: the
names, counts and best values shown, each plot rendered with one mark per observation (in ECharts' option and
in the SVG), failed points labelled by kind, the runs table paginated by the server, and no console error.

Expected numbers come from the store through the public SDK (``tests/dashboard/_fill.py`` reads them back),
never from the pages' own JSON. Screenshots of each page go to ``test-artifacts/dashboard/``.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai.experiments._parse._yaml import load_experiment_file
from tests.dashboard._browser import number_in, plot, screenshot, wait_ready
from tests.dashboard._fill import CLI_STDERR, CLI_STDOUT, SCRIPT_NAME
from tests.dashboard.conftest import Filled
from tests.live_server import LiveDashboard

# The main experiment's page (all its plots, the runs table) takes the longest to render on 2 loaded cores.
pytestmark = pytest.mark.timeout(120)


def _open(page: Page, url: str) -> None:
    page.goto(url)
    wait_ready(page)


def _kinds(experiment: dict[str, Any]) -> dict[str, int]:
    """Failed observations per kind, from the store."""
    return dict(Counter(o["kind"] for o in experiment["observations"] if o["failed"]))


def _successes(experiment: dict[str, Any]) -> int:
    return sum(not o["failed"] for o in experiment["observations"])


def _best(experiment: dict[str, Any]) -> float:
    """The best value of the single optimized metric, from the store's best observations."""
    metric = experiment["metrics"][0]["name"]
    [best] = experiment["best"]
    return float(best["values"][metric])


def _close(shown: float, expected: float) -> bool:
    """A value as a page prints it (a few significant digits) against the stored one."""
    return math.isclose(shown, expected, rel_tol=5e-3, abs_tol=1e-12)


def _visible_texts(page: Page, selector: str) -> list[str]:
    return [text.strip() for text in page.locator(selector).all_inner_texts()]


# -- the experiments page ------------------------------------------------------------------------------------------


def test_the_experiments_page_lists_each_experiment_with_its_progress_failures_and_best(
    page: Page, dashboard: LiveDashboard, filled: Filled
) -> None:
    _open(page, dashboard.url + "/")
    assert page.locator("body").get_attribute("data-page") == "experiments"
    experiments = [filled.main, filled.pareto, filled.script]
    ids = page.locator("table#experiments tr[data-id]").evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert sorted(ids) == sorted(e["id"] for e in experiments)
    for experiment in experiments:
        row = page.locator(f'table#experiments tr[data-id="{experiment["id"]}"]')
        assert row.locator('[data-col="name"]').inner_text().strip() == experiment["name"]
        assert experiment["project"] in row.locator('[data-col="project"]').inner_text()
        progress = row.locator('[data-col="progress"]').inner_text()
        finished, budget = experiment["progress"]["finished"], experiment["budget"]
        assert str(finished) in progress and str(budget) in progress, progress
        failed = row.locator('[data-col="failed"]').inner_text()
        assert str(experiment["progress"]["failed"]) in failed, failed
        for kind in _kinds(experiment):
            assert kind in failed, f"{kind} missing from the failed cell {failed!r}"
        assert number_in(row.locator('[data-col="active"]').inner_text()) == experiment["progress"]["active"]
        assert row.locator('[data-col="age"]').inner_text().strip()
    best = page.locator(f'tr[data-id="{filled.main["id"]}"] [data-col="best"]').inner_text()
    assert _close(number_in(best), _best(filled.main)), best
    screenshot(page, "experiments")


def test_the_experiments_table_filters_and_sorts(page: Page, dashboard: LiveDashboard, filled: Filled) -> None:
    _open(page, dashboard.url + "/")
    page.fill("#filter", "pareto")
    page.wait_for_function(
        "() => [...document.querySelectorAll('table#experiments tr[data-id]')]"
        ".filter(r => r.offsetParent !== null).length === 1"
    )
    assert _visible_texts(page, 'table#experiments tr[data-id]:visible [data-col="name"]') == ["dash-pareto"]
    page.fill("#filter", "")
    page.wait_for_function(
        "n => [...document.querySelectorAll('table#experiments tr[data-id]')]"
        ".filter(r => r.offsetParent !== null).length === n",
        arg=3,
    )
    names = sorted([filled.main["name"], filled.pareto["name"], filled.script["name"]])
    header = page.locator('table#experiments th[data-sort="name"]')
    orders = []
    for _ in range(2):
        header.click()
        orders.append(_visible_texts(page, 'table#experiments tr[data-id] [data-col="name"]'))
    assert sorted(orders) == sorted([names, names[::-1]]), orders


# -- the experiment page -------------------------------------------------------------------------------------------


@pytest.fixture
def main_page(page: Page, dashboard: LiveDashboard, filled: Filled) -> Page:
    _open(page, f"{dashboard.url}/experiments/{filled.main['id']}")
    return page


def test_the_experiment_page_shows_the_name_counts_and_best_value(main_page: Page, filled: Filled) -> None:
    main = filled.main
    assert main_page.locator("body").get_attribute("data-page") == "experiment"
    assert main_page.locator("#name").inner_text().strip() == main["name"]
    counts = main_page.locator("#counts").inner_text()
    progress = main["progress"]
    assert f"{progress['finished']} / {main['budget']}" in counts, counts
    assert f"{progress['failed']} failed" in counts, counts
    for kind, n in _kinds(main).items():
        assert f"{kind} {n}" in counts, counts
    best = main_page.locator("#best-value").inner_text()
    assert _close(number_in(best), _best(main)), best
    screenshot(main_page, "experiment")


def test_the_history_plot_has_every_observation_with_failures_by_kind_and_the_best_so_far(
    main_page: Page, filled: Filled
) -> None:
    history = plot(main_page, "history")
    assert history.chart
    assert history.successes() == _successes(filled.main)
    assert history.failed_by_kind() == _kinds(filled.main)
    assert any(s["type"] == "line" and s["count"] > 0 for s in history.series), history.series
    assert history.svg_shapes >= len(filled.main["observations"]), "the SVG has fewer shapes than observations"


def test_the_parallel_coordinates_have_a_line_per_observation_and_an_axis_per_parameter(
    main_page: Page, filled: Filled
) -> None:
    parallel = plot(main_page, "parallel")
    assert parallel.chart
    assert parallel.count("parallel") == len(filled.main["observations"])
    assert parallel.failed_by_kind() == _kinds(filled.main)
    for name in filled.main["parameters"]:
        assert any(axis and name in axis for axis in parallel.parallel_axes), (name, parallel.parallel_axes)
    assert parallel.visual_maps >= 1, "the lines are not coloured by the metric"
    assert parallel.svg_shapes >= len(filled.main["observations"])


def test_the_failure_map_plots_the_separating_pair_with_failures_by_kind_and_p_success(
    main_page: Page, dashboard: LiveDashboard, filled: Filled
) -> None:
    main = filled.main
    analysis = httpx.get(f"{dashboard.url}/v1/experiments/{main['id']}/sigopt_ai/analysis", timeout=30).json()
    pair = analysis["separating_pair"]
    assert pair is not None and set(pair) <= set(main["parameters"]), pair
    assert [main_page.input_value("#failure-map-x"), main_page.input_value("#failure-map-y")] == pair
    failure_map = plot(main_page, "failure-map")
    assert failure_map.chart
    assert failure_map.count("scatter") == len(main["observations"])
    assert failure_map.failed_by_kind() == _kinds(main)
    # 40 observations with successes and failures of three kinds: the Bayesian optimizer has its classifier.
    [heatmap] = [s for s in failure_map.series if s["type"] == "heatmap"]
    assert heatmap["count"] > 0
    assert failure_map.svg_shapes >= len(main["observations"]) + heatmap["count"]
    screenshot(main_page, "failure-map")

    other = next(p for p in ["lr", "dropout", "width"] if p not in pair)
    refreshed = main_page.evaluate("Number(document.body.dataset.refreshed || 0)")
    main_page.select_option("#failure-map-x", other)
    main_page.wait_for_function(
        "name => { const el = document.querySelector('div.plot[data-plot=\"failure-map\"]');"
        " const axis = echarts.getInstanceByDom(el).getOption().xAxis[0]; return String(axis.name).includes(name); }",
        arg=other,
    )
    wait_ready(main_page)
    assert main_page.evaluate("Number(document.body.dataset.refreshed || 0)") >= refreshed
    moved = plot(main_page, "failure-map")
    assert moved.count("scatter") == len(main["observations"])
    assert moved.failed_by_kind() == _kinds(main)


def test_the_pareto_plot_shows_every_point_the_front_and_the_constraint_threshold(
    page: Page, dashboard: LiveDashboard, filled: Filled
) -> None:
    pareto = filled.pareto
    _open(page, f"{dashboard.url}/experiments/{pareto['id']}")
    front = plot(page, "pareto")
    assert front.chart
    counts = sorted(s["count"] for s in front.series if s["type"] == "scatter")
    assert sum(counts) >= len(pareto["observations"])
    assert len(pareto["best"]) in [s["count"] for s in front.series], (len(pareto["best"]), front.series)
    optimized = [m["name"] for m in pareto["metrics"][:2]]
    assert any(optimized[0] in (a or "") for a in front.x_axes), front.x_axes
    assert any(optimized[1] in (a or "") for a in front.y_axes), front.y_axes
    threshold = [s for s in front.series if s["markLines"]] or [s for s in front.series if "size" in (s["name"] or "")]
    page_text = page.locator("body").inner_text()
    assert threshold or ("size" in page_text and "0.8" in page_text), "the constraint threshold is not drawn"
    screenshot(page, "pareto")


def test_the_main_experiment_has_no_pareto_plot(main_page: Page) -> None:
    plots = main_page.locator('div.plot[data-plot="pareto"]')
    assert plots.count() == 0 or not plots.is_visible()


def test_the_runs_table_pages_through_every_run_on_the_server_with_failures_and_sorting(
    main_page: Page, filled: Filled
) -> None:
    runs = filled.main["runs"]
    seen: list[str] = []
    for _ in range(len(runs) + 1):
        rows = main_page.locator("table#runs tr[data-run]")
        page_ids = rows.evaluate_all("rows => rows.map(r => r.dataset.run)")
        assert page_ids and not set(page_ids) & set(seen), "a page repeats runs of another"
        seen += page_ids
        for run_id in page_ids:
            facts = runs[run_id]
            text = main_page.locator(f'table#runs tr[data-run="{run_id}"]').inner_text()
            assert facts["state"] in text, text
            if facts["kind"]:
                assert facts["kind"] in text and facts["message"][:20] in text, text
        following = main_page.locator("#runs-next")
        if following.count() == 0 or following.is_disabled() or not following.is_visible():
            break
        marker = page_ids[0]
        following.click()
        main_page.wait_for_function(
            "first => { const r = document.querySelector('table#runs tr[data-run]'); return r && r.dataset.run !== first"
            " && document.body.dataset.ready === '1'; }",
            arg=marker,
        )
    assert sorted(seen) == sorted(runs)
    screenshot(main_page, "experiment-runs")


def test_the_runs_table_sorts_by_value_on_the_server(main_page: Page, filled: Filled) -> None:
    metric = filled.main["metrics"][0]["name"]
    values = {o["run"]: o["values"].get(metric) for o in filled.main["observations"]}
    header = main_page.locator('table#runs th[data-sort="value"]')
    for _ in range(2):
        before = main_page.locator("table#runs tr[data-run]").evaluate_all("rows => rows.map(r => r.dataset.run)")
        header.click()
        main_page.wait_for_function(
            "before => { const ids = [...document.querySelectorAll('table#runs tr[data-run]')].map(r => r.dataset.run);"
            " return document.body.dataset.ready === '1' && ids.join() !== before.join(); }",
            arg=before,
        )
        ids = main_page.locator("table#runs tr[data-run]").evaluate_all("rows => rows.map(r => r.dataset.run)")
        shown = [values[i] for i in ids if values.get(i) is not None]
        assert shown in (sorted(shown), sorted(shown, reverse=True)), shown


def test_the_best_assignments_and_the_experiment_yml_are_shown(main_page: Page, filled: Filled, tmp_path: Path) -> None:
    [best] = filled.main["best"]
    text = main_page.locator("#best-assignments").inner_text()
    for name, value in best["assignments"].items():
        assert name in text, text
        if isinstance(value, str):
            assert value in text, text
        else:
            assert any(_close(number_in(part), float(value)) for part in text.split(name)[1:]), (name, value, text)
    yml = tmp_path / "experiment.yml"
    yml.write_text(main_page.locator("pre#experiment-yml").inner_text())
    assert load_experiment_file(yml) == ExperimentDefinition.from_json(filled.main["definition"])


def test_a_crafted_experiment_name_renders_as_text(page: Page, dashboard: LiveDashboard, filled: Filled) -> None:
    _open(page, f"{dashboard.url}/experiments/{filled.script['id']}")
    assert page.locator("#name").inner_text().strip() == SCRIPT_NAME
    assert page.evaluate("document.querySelectorAll('script:not([src])').length") == 0
    assert page.locator("img[src='x']").count() == 0
    # A dialog would be caught by the console fixture and fail the test.


# -- the run page --------------------------------------------------------------------------------------------------


def _open_run(page: Page, dashboard: LiveDashboard, run: dict[str, Any]) -> None:
    _open(page, f"{dashboard.url}/runs/{run['id']}")
    assert page.locator("body").get_attribute("data-page") == "run"
    assert page.locator("#name").inner_text().strip() == run["name"]
    assert run["state"] in page.locator("#state").inner_text()
    params = page.locator("table#params").inner_text()
    for name, value in run["params"].items():
        assert name in params and (str(value) in params or _close(number_in(params.split(name, 1)[1]), value))


def test_a_completed_run_shows_its_params_metrics_checkpoint_curves_and_links(
    page: Page, dashboard: LiveDashboard, filled: Filled
) -> None:
    run = filled.main_runs["completed"]
    _open_run(page, dashboard, run)
    metrics = page.locator("table#metrics").inner_text()
    for name, value in run["metrics"].items():
        assert name in metrics and _close(number_in(metrics.split(name, 1)[1]), value), metrics
    curves = plot(page, "checkpoints")
    assert curves.chart
    by_name = {s["name"]: s["count"] for s in curves.series}
    assert {name: by_name.get(name) for name in run["checkpoint_metrics"]} == dict.fromkeys(
        run["checkpoint_metrics"], run["checkpoints"]
    )
    assert curves.svg_shapes > 0
    assert "activation_note" in page.locator("#metadata").inner_text()
    assert page.locator("#system").inner_text().strip()
    href = page.locator("a#experiment-link").get_attribute("href") or ""
    assert href.rstrip("/").endswith(f"/experiments/{run['experiment']}"), href
    assert run["suggestion"] in page.locator("#suggestion").inner_text()
    screenshot(page, "run")


@pytest.mark.parametrize("kind", ["oom", "diverged", "invalid_assignment"])
def test_a_failed_run_shows_its_failure_kind_message_and_traceback(
    page: Page, dashboard: LiveDashboard, filled: Filled, kind: str
) -> None:
    run = filled.main_runs[kind]
    _open_run(page, dashboard, run)
    failure = page.locator("#failure").inner_text()
    assert kind in failure and run["failure"]["message"] in failure, failure
    traceback = page.locator("#failure pre").inner_text()
    assert "Traceback" in traceback and run["failure"]["type"].rsplit(".", 1)[-1] in traceback, traceback
    screenshot(page, f"run-{kind}")


def test_a_cli_run_shows_its_captured_stdout_and_stderr(page: Page, dashboard: LiveDashboard, filled: Filled) -> None:
    run = filled.cli
    _open_run(page, dashboard, run)
    assert CLI_STDOUT in page.locator("pre#stdout").inner_text()
    assert CLI_STDERR in page.locator("pre#stderr").inner_text()
    assert page.locator("a#experiment-link").count() == 0 or not page.locator("a#experiment-link").is_visible()
    screenshot(page, "run-cli")
