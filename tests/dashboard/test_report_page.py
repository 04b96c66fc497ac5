"""The report (``sigopt-ai report``) is one HTML file that renders in a real Chromium with every network request refused:
the experiment's name, counts, best value and plots as the served page shows them, and no request but the
file itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, Route

from sigopt_ai.dashboard.report import write_report
from tests.dashboard._browser import screenshot, wait_ready
from tests.dashboard._expect import check_header, check_plots, text
from tests.dashboard.conftest import Filled

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def report(filled: Filled, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The main experiment's report, written in this process as ``sigopt-ai report`` writes it (the CLI itself is
    tested in test_report_cli.py; here a fresh interpreter would only add seconds)."""
    return write_report(str(filled.db), filled.main["id"], tmp_path_factory.mktemp("report") / "report.html")


def test_the_report_renders_from_file_with_the_network_blocked(page: Page, report: Path, filled: Filled) -> None:
    attempted: list[str] = []

    def only_the_file(route: Route) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            attempted.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_the_file)
    page.goto(report.as_uri())
    wait_ready(page)
    check_header(page, filled.main)
    check_plots(page, filled.main)
    assert page.locator("table#runs tr[data-run]").count() > 0
    assert filled.main["name"] in text(page, "pre#experiment-yml")
    assert attempted == [], f"the report asked the network for {attempted}"
    screenshot(page, "report")
