"""What the browser tests share besides fixtures: Debian's Chromium under Playwright, a collector of console
errors, screenshots, and reading an ECharts plot back from the page (its option and its SVG)."""

from __future__ import annotations

import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, ConsoleMessage, Dialog, Error, Page, Playwright

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "READY_TIMEOUT_MS",
    "REPO",
    "Console",
    "Plot",
    "artifacts_dir",
    "launch",
    "number_in",
    "plot",
    "screenshot",
    "tooltip",
    "wait_ready",
    "wait_until",
]

CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium: Playwright drives it, it never downloads a browser."""
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
READY_TIMEOUT_MS = 20_000
"""How long a page may take to render every plot and table (seconds on 2 loaded cores; 1 s on an idle one)."""
REPO = Path(__file__).resolve().parents[2]


def launch(playwright: Playwright) -> Browser:
    """A headless Chromium with a fresh profile (Playwright makes a new user data dir per launch)."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"The browser tests drive Debian's Chromium at {CHROMIUM}: apt-get install chromium.")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def artifacts_dir() -> Path:
    """Where screenshots go: ``$SIGOPT_AI_TEST_ARTIFACTS/dashboard`` (``test-artifacts/dashboard`` by default)."""
    root = Path(os.environ.get("SIGOPT_AI_TEST_ARTIFACTS") or REPO / "test-artifacts")
    directory = root / "dashboard"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as ``<artifacts>/<name>.png``."""
    path = artifacts_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_until(page: Page, predicate: str, arg: Any = None, *, timeout_ms: int = READY_TIMEOUT_MS) -> Any:
    """Evaluate the JavaScript function ``predicate(arg)`` in the page every 50 ms until it returns something
    truthy, and return that.

    Playwright's ``wait_for_function`` evaluates its predicate with ``eval``, which the pages' Content-Security-
    Policy (``script-src 'self'``) forbids; ``evaluate`` goes through the DevTools protocol, which it does not.

    Raises:
        AssertionError: Still falsy after ``timeout_ms``.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        result = page.evaluate(predicate, arg)
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_ms} ms: {predicate} ({arg!r})")
        time.sleep(0.05)


def wait_ready(page: Page, *, refreshed: int | None = None) -> None:
    """Wait until the page says every plot and table has rendered (``<body data-ready="1">``), and, with
    ``refreshed``, until it has refreshed more than that many times."""
    wait_until(
        page,
        "n => document.body !== null && document.body.dataset.ready === '1'"
        " && (n === null || Number(document.body.dataset.refreshed || 0) > n)",
        refreshed,
    )


@dataclass
class Console:
    """Every console error and warning, uncaught exception, failed request and dialog of the pages it watches.

    A dialog is dismissed and counted as an error: no page of ours opens one, so one means injected script ran.
    """

    problems: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        page.on("dialog", self._dialog)

    def allow(self, pattern: str) -> None:
        """Do not count messages matching ``pattern`` (a test that provokes one, e.g. a 401 page)."""
        self.allowed.append(re.compile(pattern))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            where = message.location.get("url", "")
            self.problems.append(f"console {message.type}: {message.text} ({where})")

    def _dialog(self, dialog: Dialog) -> None:
        self.problems.append(f"dialog {dialog.type}: {dialog.message}")
        try:
            dialog.dismiss()
        except Error:  # the page may be gone already
            pass

    def unexpected(self) -> list[str]:
        return [p for p in self.problems if not any(a.search(p) for a in self.allowed)]

    def check(self) -> None:
        """Fail on anything not allowed."""
        problems = self.unexpected()
        assert not problems, "the page reported:\n" + "\n".join(problems)


_PLOT_JS = """
el => {
  const chart = window.echarts ? window.echarts.getInstanceByDom(el) : undefined;
  const svg = el.querySelector("svg");
  const option = chart ? chart.getOption() : null;
  const names = axes => (axes || []).map(a => a.name == null ? null : String(a.name));
  return {
    chart: Boolean(chart),
    series: option ? option.series.map(s => ({
      type: s.type,
      name: s.name == null ? null : String(s.name),
      count: Array.isArray(s.data) ? s.data.length : 0,
      markLines: s.markLine && Array.isArray(s.markLine.data) ? s.markLine.data.length : 0,
    })) : [],
    xAxes: option ? names(option.xAxis) : [],
    yAxes: option ? names(option.yAxis) : [],
    parallelAxes: option ? names(option.parallelAxis) : [],
    visualMaps: option ? (option.visualMap || []).length : 0,
    svgShapes: svg ? svg.querySelectorAll("path,circle,rect,polyline,polygon,line,ellipse").length : 0,
    svgText: svg ? svg.textContent : "",
  };
}
"""


@dataclass(frozen=True)
class Plot:
    """One ECharts plot as the page holds it: its series (type, name, number of data items), axes, and how many
    shapes its SVG has."""

    chart: bool
    series: list[dict[str, Any]]
    x_axes: list[str | None]
    y_axes: list[str | None]
    parallel_axes: list[str | None]
    visual_maps: int
    svg_shapes: int
    svg_text: str

    def named(self, name: str) -> list[dict[str, Any]]:
        return [s for s in self.series if s["name"] == name]

    def count(self, *types: str) -> int:
        """Data items over the series of these types."""
        return sum(s["count"] for s in self.series if s["type"] in types)

    def failed_by_kind(self) -> dict[str, int]:
        """Data items per failure kind, from the series named ``failed: <kind>``."""
        counts: dict[str, int] = {}
        for s in self.series:
            if s["name"] and s["name"].startswith("failed: "):
                kind = s["name"].removeprefix("failed: ")
                counts[kind] = counts.get(kind, 0) + s["count"]
        return counts

    def successes(self) -> int:
        """Data items of the success series (named ``success`` or ``value``)."""
        return sum(s["count"] for s in self.series if s["name"] in ("success", "value"))


def plot(page: Page, name: str) -> Plot:
    """The plot ``div.plot[data-plot=name]`` of the page."""
    element = page.locator(f'div.plot[data-plot="{name}"]')
    assert element.count() == 1, f"the page has {element.count()} plots named {name!r}"
    found = element.evaluate(_PLOT_JS)
    return Plot(
        chart=found["chart"],
        series=found["series"],
        x_axes=found["xAxes"],
        y_axes=found["yAxes"],
        parallel_axes=found["parallelAxes"],
        visual_maps=found["visualMaps"],
        svg_shapes=found["svgShapes"],
        svg_text=found["svgText"],
    )


_SHOW_TIP_JS = """
([name, series, index]) => {
  const el = document.querySelector(`div.plot[data-plot="${name}"]`);
  const chart = echarts.getInstanceByDom(el);
  const seriesIndex = chart.getOption().series.findIndex(s => s.name === series);
  if (seriesIndex < 0) return false;
  chart.dispatchAction({type: "showTip", seriesIndex, dataIndex: index});
  return true;
}
"""
# ECharts' tooltip is a div of the plot holding no SVG; shown, it has text.
_TIP_TEXT_JS = """
name => {
  const el = document.querySelector(`div.plot[data-plot="${name}"]`);
  const tips = [...el.querySelectorAll("div")].filter(d => !d.querySelector("svg") && d.tagName !== "svg"
    && getComputedStyle(d).display !== "none" && d.textContent.trim() !== "" && d.children.length > 0);
  return tips.length ? tips[0].textContent : "";
}
"""


def tooltip(page: Page, name: str, series: str, index: int = 0) -> str:
    """The text of the tooltip that plot ``name`` shows for item ``index`` of its series ``series`` (as a hover
    would show it: ECharts' ``showTip`` action)."""
    assert page.evaluate(_SHOW_TIP_JS, [name, series, index]), f"plot {name!r} has no series {series!r}"
    shown: str = wait_until(page, _TIP_TEXT_JS, name, timeout_ms=5000)
    return shown


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def number_in(text: str) -> float:
    """The first number written in ``text`` (``1.23e-4``, ``0.0512``, ``1,234.5``), or NaN when none is."""
    found = _NUMBER.search(text.replace(",", "").replace("\u2212", "-"))
    return float(found.group()) if found else math.nan
