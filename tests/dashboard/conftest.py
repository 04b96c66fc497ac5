"""Fixtures of the browser tests: a store filled by real experiment loops (once per session), a real
``sigopt-ai dashboard`` subprocess and one headless Chromium per module, and a page per test whose console
errors, uncaught exceptions and dialogs fail the test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.dashboard._browser import REPO, Console, launch
from tests.live_server import LiveDashboard

__all__ = ["Filled", "browser", "console", "dashboard", "fill_stores", "filled", "page", "playwright"]


def fill_stores(*jobs: tuple[dict[str, str], list[str]]) -> list[dict[str, Any]]:
    """Run ``tests/dashboard/_fill.py`` for each job ``(env, roles)`` at once, each in a fresh interpreter with
    ``env`` (its store: ``SIGOPT_AI_DB``, or a server's ``SIGOPT_API_URL``/``SIGOPT_API_TOKEN``); what each made,
    as it read it back through the public SDK."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SIGOPT_API", "SIGOPT_AI_RUN", "SIGOPT_AI_DB"))}
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.dashboard._fill", *roles],
            cwd=REPO,
            env={**clean, "PYTHONPATH": path, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for env, roles in jobs
    ]
    made: list[dict[str, Any]] = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=240)
            assert process.returncode == 0, f"filling the store failed:\n{stdout}\n{stderr}"
            made.append(json.loads(stdout.strip().splitlines()[-1]))
    finally:
        for process in processes:
            process.kill()
            process.wait()
    return made


@dataclass(frozen=True)
class Filled:
    """The shared store, and what :mod:`tests.dashboard._fill` read back from it per role: the experiments
    ``main``, ``pareto`` and ``script`` (as ``_fill.describe`` gives them), the ``cli`` run, and ``main_runs``: a
    run of the main experiment per outcome (``completed``, ``oom``, ``diverged``, ``invalid_assignment``)."""

    db: Path
    main: dict[str, Any]
    pareto: dict[str, Any]
    script: dict[str, Any]
    cli: dict[str, Any]
    main_runs: dict[str, Any]


@pytest.fixture(scope="session")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Filled:
    """One store for every browser test that only reads: the main experiment (budget 40, failures of three
    kinds), the 2-metric one, the ``<script>``-named one and a CLI run with stdout and stderr (about 10 s)."""
    db = tmp_path_factory.mktemp("dashboard-store") / "store.db"
    [made] = fill_stores(({"SIGOPT_AI_DB": str(db)}, ["main", "pareto", "script", "cli"]))
    return Filled(db, **made)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Playwright's driver, once per module: never for the session, because while it runs the main thread
    has a running asyncio loop (Playwright's sync API lives on one), so a later test's ``asyncio.run()``
    fails, and its greenlets upset CPython 3.11's compiler (``AST constructor recursion depth mismatch``)."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One headless Chromium per module."""
    chromium = launch(playwright)
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def dashboard(filled: Filled) -> Iterator[LiveDashboard]:
    """``sigopt-ai dashboard`` over the shared store, one per module."""
    with LiveDashboard(str(filled.db)) as server:
        yield server


@pytest.fixture
def console() -> Console:
    """What the test's pages report; the ``page`` fixture fails the test on any of it."""
    return Console()


@pytest.fixture
def page(browser: Browser, console: Console) -> Iterator[Page]:
    """A page in a fresh browser context (no cookies), 1280x900, watched by ``console``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    console.watch(tab)
    yield tab
    context.close()
    console.check()
