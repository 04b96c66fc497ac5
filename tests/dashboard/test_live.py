"""Pages update without a reload while another real process adds runs, and stop polling once done.

The store is this module's own (the shared one must not change under the other modules' feet): an experiment
with part of its budget observed, and a ``sigopt-ai dashboard`` over it; a worker process started by the test
runs the rest of the loop, slowly, while Chromium watches.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.conftest import run_python, spawn_python
from tests.dashboard._browser import REPO, Console, plot, screenshot, wait_ready, wait_until
from tests.dashboard._expect import text
from tests.live_server import LiveDashboard

pytestmark = pytest.mark.timeout(120)

BUDGET = 6
FIRST = 2
"""Runs observed before the page opens; the worker adds the rest."""
WORKER_TIMEOUT_MS = 45_000
"""How long a worker process may take to start and add its runs (its interpreter alone takes seconds under load)."""
POLL_S = 2.0
"""The pages' polling period (the DOM contract's)."""

# Creates the experiment and observes FIRST runs, leaving it active.
CREATE = f"""
import sigopt_ai as sigopt
exp = sigopt.create_experiment(
    name="live-exp", project="live", budget={BUDGET}, type="random", seed=3,
    parameters=[dict(name="x", type="double", bounds=dict(min=0.0, max=1.0))],
    metrics=[dict(name="y", objective="maximize")],
)
for i, run in enumerate(exp.loop(progress=False)):
    with run:
        run.log_metric("y", float(run.params.x))
    if i + 1 == {FIRST}:
        break
print(exp.id)
"""

# Runs the rest of the experiment's budget, slowly enough for the page to poll in between.
WORKER = """
import sys, time
import sigopt_ai as sigopt
exp = sigopt.get_experiment(sys.argv[1])
for run in exp.loop(progress=False):
    with run:
        time.sleep(1.0)
        run.log_metric("y", float(run.params.x))
"""

# A run alone: it says its id, waits for the test's go (the page is open), then logs a checkpoint every 0.4 s.
RUN = """
import os, sys, time
import sigopt_ai as sigopt
go = sys.argv[1]
with sigopt.run(name="live-run", project="live") as run:
    run.log_checkpoint({"loss": 1.0}, step=0)
    sigopt.flush()
    print(run.id, flush=True)
    while not os.path.exists(go):
        time.sleep(0.05)
    for step in range(1, STEPS):
        time.sleep(0.4)
        run.log_checkpoint({"loss": 1.0 / (step + 1)}, step=step)
    run.log_metric("loss", 1 / STEPS)
"""
STEPS = 8


def _env(db: Path) -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {"SIGOPT_AI_DB": str(db), "SIGOPT_AI_FLUSH_INTERVAL": "0.1", "PYTHONPATH": path}


@pytest.fixture(scope="module")
def live_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This module's store, and the id of its experiment with FIRST of BUDGET runs done."""
    db = tmp_path_factory.mktemp("live") / "live.db"
    done = run_python(CREATE, env=_env(db), timeout=120)
    assert done.returncode == 0, done.stderr
    return db, done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def dashboard(live_store: tuple[Path, str]) -> Iterator[LiveDashboard]:
    with LiveDashboard(str(live_store[0])) as server:
        yield server


def _refreshed(page: Page) -> int:
    return int(page.evaluate("Number(document.body.dataset.refreshed || 0)"))


def _finish(process: subprocess.Popen[str]) -> None:
    _, stderr = process.communicate(timeout=90)
    assert process.returncode == 0, stderr


def test_the_experiment_and_experiments_pages_follow_a_running_loop_then_stop_polling(
    page: Page, console: Console, dashboard: LiveDashboard, live_store: tuple[Path, str]
) -> None:
    db, experiment_id = live_store
    page.goto(f"{dashboard.url}/experiments/{experiment_id}")
    wait_ready(page)
    assert f"{FIRST} / {BUDGET}" in page.locator("#counts").inner_text()
    listing = page.context.new_page()
    console.watch(listing)
    listing.goto(dashboard.url + "/")
    wait_ready(listing)
    row = listing.locator(f'table#experiments tr[data-id="{experiment_id}"] [data-col="progress"]')
    assert str(FIRST) in row.inner_text()
    # Both pages must change in place: a reload would drop these markers.
    for tab in (page, listing):
        tab.evaluate("window.__not_reloaded = true")

    worker = spawn_python(WORKER.replace("sys.argv[1]", repr(experiment_id)), env=_env(db))
    try:
        # Part-way: the page shows a count between the first and the last, so it refreshed while runs were added.
        wait_until(
            page,
            "([first, budget]) => { const m = /(\\d+) \\/ (\\d+)/.exec(document.querySelector('#counts').textContent);"
            " return m && Number(m[1]) > first && Number(m[1]) < budget; }",
            arg=[FIRST, BUDGET],
            timeout_ms=WORKER_TIMEOUT_MS,
        )
        _finish(worker)
    finally:
        worker.kill()
    wait_until(
        page,
        "text => document.querySelector('#counts').textContent.includes(text)",
        arg=f"{BUDGET} / {BUDGET}",
        timeout_ms=WORKER_TIMEOUT_MS,
    )
    wait_until(
        listing,
        "([id, budget]) => { const cell = document.querySelector(`tr[data-id='${id}'] [data-col='progress']`);"
        " const m = cell && /(\\d+)\\s*\\/\\s*(\\d+)/.exec(cell.textContent); return m && Number(m[1]) === budget; }",
        arg=[experiment_id, BUDGET],
        timeout_ms=WORKER_TIMEOUT_MS,
    )
    wait_ready(page)
    for tab in (page, listing):
        assert tab.evaluate("window.__not_reloaded === true"), "the page reloaded instead of refreshing"
    assert _refreshed(page) > 0
    history = plot(page, "history")
    assert history.successes() == BUDGET
    assert page.locator("table#runs tr[data-run]").count() == BUDGET
    screenshot(page, "live-experiment-done")

    # Done: the polling stops (a refresh already in flight may still land once).
    time.sleep(POLL_S)
    settled = _refreshed(page)
    time.sleep(1.6 * POLL_S)
    assert _refreshed(page) == settled, "the page kept polling a finished experiment"


def test_the_run_page_follows_an_active_run_until_it_completes(
    page: Page, dashboard: LiveDashboard, live_store: tuple[Path, str]
) -> None:
    go = live_store[0].parent / "go"
    runner = spawn_python(
        RUN.replace("sys.argv[1]", repr(str(go))).replace("STEPS", str(STEPS)), env=_env(live_store[0])
    )
    try:
        assert runner.stdout is not None
        run_id = runner.stdout.readline().strip()
        assert run_id, runner.stderr.read() if runner.stderr else ""
        page.goto(f"{dashboard.url}/runs/{run_id}")
        wait_ready(page)
        assert "active" in text(page, "#state")
        assert {s["name"]: s["count"] for s in plot(page, "checkpoints").series}.get("loss") == 1
        page.evaluate("window.__not_reloaded = true")
        go.touch()
        wait_until(
            page,
            "() => document.querySelector('#state').textContent.includes('completed')",
            timeout_ms=WORKER_TIMEOUT_MS,
        )
        _finish(runner)
    finally:
        runner.kill()
    wait_ready(page)
    assert page.evaluate("window.__not_reloaded === true"), "the page reloaded instead of refreshing"
    curve = {s["name"]: s["count"] for s in plot(page, "checkpoints").series}
    assert curve.get("loss") == STEPS, curve
    assert _refreshed(page) > 0
    screenshot(page, "live-run-done")
