"""Every page of ``sigopt-ai dashboard`` in a real Chromium, over a store filled by real experiment loops: the
names, counts and best values shown, each plot rendered with one mark per observation (in ECharts' option and
in the SVG), failed points labelled by kind, the runs table paginated by the server, and no console error.

Expected numbers come from the store through the public SDK (``tests/dashboard/_fill.py`` reads them back),
never from the pages' own JSON. Screenshots of each page go to ``test-artifacts/dashboard/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai.experiments._parse._yaml import load_experiment_file
from tests.dashboard._browser import Console, number_in, plot, screenshot, tooltip, wait_ready, wait_until
from tests.dashboard._expect import best_value, cells, check_header, check_plots, close, kinds, text
from tests.dashboard._fill import CLI_STDERR, CLI_STDOUT, SCRIPT_NAME
from tests.dashboard.conftest import Filled
from tests.live_server import LiveDashboard

# The main experiment's page (all its plots, the runs table) takes the longest to render on 2 loaded cores.
pytestmark = pytest.mark.timeout(120)


def _open(page: Page, url: str) -> None:
    page.goto(url)
    wait_ready(page)


_ROW_IDS = "rows => rows.filter(r => r.offsetParent !== null).map(r => r.dataset.id)"
"""The ids of the rows shown (a filtered-out row is hidden or removed)."""


def _cell(page: Page, experiment_id: str, column: str) -> str:
    return text(page, f'table#experiments tr[data-id="{experiment_id}"] [data-col="{column}"]')


# -- the experiments page ------------------------------------------------------------------------------------------


def test_the_experiments_page_lists_each_experiment_with_its_progress_failures_and_best(
    page: Page, dashboard: LiveDashboard, filled: Filled
) -> None:
    _open(page, dashboard.url + "/")
    assert page.locator("body").get_attribute("data-page") == "experiments"
    assert page.locator("#logout").is_hidden()  # the local dashboard has no login, so no Log out
    experiments = [filled.main, filled.pareto, filled.script]
    ids = page.locator("table#experiments tr[data-id]").evaluate_all(_ROW_IDS)
    assert sorted(ids) == sorted(e["id"] for e in experiments)
    for experiment in experiments:
        assert experiment["name"] in _cell(page, experiment["id"], "name")
        assert experiment["project"] in _cell(page, experiment["id"], "project")
        progress = _cell(page, experiment["id"], "progress")
        finished, budget = experiment["progress"]["finished"], experiment["budget"]
        assert str(finished) in progress and str(budget) in progress, progress
        failed = _cell(page, experiment["id"], "failed")
        assert str(experiment["progress"]["failed"]) in failed, failed
        for kind in kinds(experiment):
            assert kind in failed, f"{kind} missing from the failed cell {failed!r}"
        assert number_in(_cell(page, experiment["id"], "active")) == experiment["progress"]["active"]
        assert _cell(page, experiment["id"], "age").strip()
    best = _cell(page, filled.main["id"], "best")
    assert close(number_in(best), best_value(filled.main)), best
    screenshot(page, "experiments")


def test_the_experiments_table_filters_and_sorts(page: Page, dashboard: LiveDashboard, filled: Filled) -> None:
    _open(page, dashboard.url + "/")
    rows = page.locator("table#experiments tr[data-id]")
    shown = (
        "n => [...document.querySelectorAll('table#experiments tr[data-id]')].filter(r => r.offsetParent).length === n"
    )
    page.fill("#filter", "pareto")
    wait_until(page, shown, 1)
    assert rows.evaluate_all(_ROW_IDS) == [filled.pareto["id"]]
    page.fill("#filter", "")
    wait_until(page, shown, 3)
    experiments = [filled.main, filled.pareto, filled.script]
    by_name = [e["id"] for e in sorted(experiments, key=lambda e: str(e["name"]))]
    header = page.locator('table#experiments th[data-sort="name"]')
    orders = []
    for _ in range(2):
        header.click()
        orders.append(rows.evaluate_all(_ROW_IDS))
    assert sorted(orders) == sorted([by_name, by_name[::-1]]), orders


# -- the experiment page -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def main_tab(browser: Browser, dashboard: LiveDashboard, filled: Filled) -> Iterator[tuple[Page, Console]]:
    """The main experiment's page, loaded once for the tests that look at it (each load takes seconds)."""
    console = Console()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    console.watch(tab)
    _open(tab, f"{dashboard.url}/experiments/{filled.main['id']}")
    yield tab, console
    context.close()


@pytest.fixture
def main_page(main_tab: tuple[Page, Console]) -> Iterator[Page]:
    """The shared main experiment's page; what it reported during the test fails the test."""
    tab, console = main_tab
    yield tab
    console.check()
    console.problems.clear()


def test_the_experiment_page_shows_the_name_counts_and_best_value(main_page: Page, filled: Filled) -> None:
    check_header(main_page, filled.main)
    screenshot(main_page, "experiment")


def test_each_plot_has_a_mark_per_observation_with_failures_by_kind(main_page: Page, filled: Filled) -> None:
    check_plots(main_page, filled.main)


def test_the_pareto_plot_shows_every_point_the_front_and_the_constraint(
    page: Page, dashboard: LiveDashboard, filled: Filled
) -> None:
    pareto = filled.pareto
    _open(page, f"{dashboard.url}/experiments/{pareto['id']}")
    front = plot(page, "pareto")
    assert front.chart
    assert front.count("scatter", "line") == len(pareto["observations"]), front.series
    assert len(pareto["best"]) in [s["count"] for s in front.series], (len(pareto["best"]), front.series)
    optimized = [m["name"] for m in pareto["metrics"][:2]]
    assert any(optimized[0] in (a or "") for a in front.x_axes), front.x_axes
    assert any(optimized[1] in (a or "") for a in front.y_axes), front.y_axes
    # The constraint metric is on neither axis: its threshold shows as the points that break it (or as a line).
    [constraint] = [m for m in pareto["definition"]["metrics"] if m.get("strategy") == "constraint"]
    breaking = sum(o["values"][constraint["name"]] > constraint["threshold"] for o in pareto["observations"])
    marked = [s["count"] for s in front.series if "constraint" in (s["name"] or "")]
    assert marked == [breaking] or any(s["markLines"] for s in front.series), (breaking, front.series)
    assert front.svg_shapes >= len(pareto["observations"])
    screenshot(page, "pareto")


def test_the_main_experiment_has_no_pareto_plot(main_page: Page) -> None:
    plots = main_page.locator('div.plot[data-plot="pareto"]')
    assert plots.count() == 0 or not plots.is_visible()


def _run_ids(page: Page) -> list[str]:
    ids: list[str] = page.locator("table#runs tr[data-run]").evaluate_all("rows => rows.map(r => r.dataset.run)")
    return ids


def test_failed_runs_in_the_table_show_their_state_kind_and_message(main_page: Page, filled: Filled) -> None:
    runs = filled.main["runs"]
    for run_id in _run_ids(main_page):
        facts = runs[run_id]
        row = text(main_page, f'table#runs tr[data-run="{run_id}"]')
        assert facts["state"] in row, row
        if facts["kind"]:
            assert facts["kind"] in row and facts["message"][:20] in row, row
    assert any(runs[i]["kind"] for i in _run_ids(main_page)), "no failed run on the first page"
    screenshot(main_page, "experiment-runs")


def test_the_runs_table_pages_through_every_run_on_the_server(
    page: Page, dashboard: LiveDashboard, filled: Filled
) -> None:
    pareto = filled.pareto
    _open(page, f"{dashboard.url}/experiments/{pareto['id']}")
    seen: list[str] = []
    for _ in range(len(pareto["runs"])):
        ids = _run_ids(page)
        assert ids and not set(ids) & set(seen), "a page repeats runs of another"
        seen += ids
        following = page.locator("#runs-next")
        if following.is_disabled() or not following.is_visible():
            break
        following.click()
        wait_until(
            page,
            "first => { const r = document.querySelector('table#runs tr[data-run]');"
            " return r !== null && r.dataset.run !== first && document.body.dataset.ready === '1'; }",
            ids[0],
        )
    assert len(seen) > len(ids), "the table showed every run on one page: nothing was paginated"
    assert sorted(seen) == sorted(pareto["runs"])
    page.locator("#runs-prev").click()
    wait_until(
        page,
        "first => { const r = document.querySelector('table#runs tr[data-run]'); return r && r.dataset.run !== first; }",
        ids[0],
    )


def test_the_best_assignments_and_the_experiment_yml_are_shown(main_page: Page, filled: Filled, tmp_path: Path) -> None:
    [best] = filled.main["best"]
    shown = cells(main_page, "#best-assignments")
    lowered = [c.lower() for c in shown]
    for name, value in best["assignments"].items():
        assert name.lower() in lowered, (name, shown)
        if isinstance(value, str):
            assert value in shown, (value, shown)
        else:
            assert any(close(number_in(c), float(value)) for c in shown), (name, value, shown)
    yml = tmp_path / "experiment.yml"
    yml.write_text(text(main_page, "pre#experiment-yml"))
    assert load_experiment_file(yml) == ExperimentDefinition.from_json(filled.main["definition"])


def test_a_failed_point_tells_its_kind_in_its_tooltip(main_page: Page, filled: Filled) -> None:
    for kind in kinds(filled.main):
        for plot_name in ("history", "failure-map"):
            shown = tooltip(main_page, plot_name, f"failed: {kind}")
            assert kind in shown, (plot_name, kind, shown)


# The two tests below change what the shared page shows (an axis, the order): they come last.


def test_the_failure_map_starts_on_the_separating_pair_and_follows_the_chosen_axes(
    main_page: Page, dashboard: LiveDashboard, filled: Filled
) -> None:
    main = filled.main
    analysis = httpx.get(f"{dashboard.url}/v1/experiments/{main['id']}/sigopt_ai/analysis", timeout=30).json()
    pair = analysis["separating_pair"]
    assert pair is not None and set(pair) <= set(main["parameters"]), pair
    assert [main_page.input_value("#failure-map-x"), main_page.input_value("#failure-map-y")] == pair
    screenshot(main_page, "failure-map")

    other = next(p for p in ["lr", "dropout", "width"] if p not in pair)
    main_page.select_option("#failure-map-x", other)
    wait_until(
        main_page,
        "name => { const el = document.querySelector('div.plot[data-plot=\"failure-map\"]');"
        " const axis = echarts.getInstanceByDom(el).getOption().xAxis[0]; return String(axis.name).includes(name); }",
        arg=other,
    )
    wait_ready(main_page)
    moved = plot(main_page, "failure-map")
    assert moved.count("scatter") == len(main["observations"])
    assert moved.failed_by_kind() == kinds(main)


def test_the_runs_table_sorts_by_value_on_the_server(main_page: Page, filled: Filled) -> None:
    metric = filled.main["metrics"][0]["name"]
    values = {o["run"]: o["values"].get(metric) for o in filled.main["observations"]}
    header = main_page.locator('table#runs th[data-sort="value"]')
    for _ in range(2):
        before = _run_ids(main_page)
        header.click()
        wait_until(
            main_page,
            "before => { const ids = [...document.querySelectorAll('table#runs tr[data-run]')].map(r => r.dataset.run);"
            " return document.body.dataset.ready === '1' && ids.join() !== before.join(); }",
            before,
        )
        shown = [values[i] for i in _run_ids(main_page) if values.get(i) is not None]
        assert shown in (sorted(shown), sorted(shown, reverse=True)), shown


def test_a_crafted_experiment_name_renders_as_text(page: Page, dashboard: LiveDashboard, filled: Filled) -> None:
    _open(page, f"{dashboard.url}/experiments/{filled.script['id']}")
    assert text(page, "#name") == SCRIPT_NAME
    assert page.evaluate("() => document.querySelectorAll('script:not([src])').length") == 0
    # The tooltips write the markup of a categorical value as text too.
    scatter = [(s["name"], s["count"]) for s in plot(page, "history").series if s["type"] == "scatter"]
    shown = [tooltip(page, "history", name, i) for name, count in scatter for i in range(count)]
    markup = "<img src=x onerror=alert(2)>"
    if any(o["assignments"]["tag"] == markup for o in filled.script["observations"]):
        assert any(markup in tip for tip in shown), shown
    assert page.locator("img[src='x']").count() == 0
    # A dialog would be caught by the console fixture and fail the test.


# -- the run page --------------------------------------------------------------------------------------------------


def _open_run(page: Page, dashboard: LiveDashboard, run: dict[str, Any]) -> None:
    _open(page, f"{dashboard.url}/runs/{run['id']}")
    assert page.locator("body").get_attribute("data-page") == "run"
    assert text(page, "#name").strip() == run["name"]
    assert run["state"] in text(page, "#state")
    params = cells(page, "table#params")
    for name, value in run["params"].items():
        assert name in params, (name, params)
        assert str(value) in params or any(close(number_in(c), value) for c in params), (name, value, params)


def test_a_completed_run_shows_its_params_metrics_checkpoint_curves_and_links(
    page: Page, dashboard: LiveDashboard, filled: Filled
) -> None:
    run = filled.main_runs["completed"]
    _open_run(page, dashboard, run)
    metrics = cells(page, "table#metrics")
    for name, value in run["metrics"].items():
        assert name in metrics and any(close(number_in(c), value) for c in metrics), (name, value, metrics)
    curves = plot(page, "checkpoints")
    assert curves.chart
    by_name = {s["name"]: s["count"] for s in curves.series}
    assert {name: by_name.get(name) for name in run["checkpoint_metrics"]} == dict.fromkeys(
        run["checkpoint_metrics"], run["checkpoints"]
    )
    assert curves.svg_shapes > 0
    assert "activation_note" in text(page, "#metadata")
    system = cells(page, "#system")
    assert "host" in system and run["host"] in system, system
    href = page.locator("a#experiment-link").get_attribute("href") or ""
    assert href.rstrip("/").endswith(f"/experiments/{run['experiment']}"), href
    assert run["suggestion"] in text(page, "#suggestion")
    screenshot(page, "run")


@pytest.mark.parametrize("kind", ["oom", "diverged", "invalid_assignment"])
def test_a_failed_run_shows_its_failure_kind_message_and_traceback(
    page: Page, dashboard: LiveDashboard, filled: Filled, kind: str
) -> None:
    run = filled.main_runs[kind]
    _open_run(page, dashboard, run)
    failure = text(page, "#failure")
    assert kind in failure and run["failure"]["message"] in failure, failure
    traceback = text(page, "#failure pre")
    assert "Traceback" in traceback and run["failure"]["type"].rsplit(".", 1)[-1] in traceback, traceback
    screenshot(page, f"run-{kind}")


def test_a_cli_run_shows_its_captured_stdout_and_stderr(page: Page, dashboard: LiveDashboard, filled: Filled) -> None:
    _open_run(page, dashboard, filled.cli)
    assert CLI_STDOUT in text(page, "pre#stdout")
    assert CLI_STDERR in text(page, "pre#stderr")
    link = page.locator("a#experiment-link")
    assert link.count() == 0 or not link.is_visible(), "a run outside experiments links to one"
    screenshot(page, "run-cli")
