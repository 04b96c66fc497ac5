"""``benchmarks/dashboard.py`` at a tiny size: a real store, ``sigopt-ai dashboard`` and Chromium, and a report
whose figures hang together (no timing targets checked)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import dashboard
from benchmarks.log_overhead import fmt

RUNS = 40


@pytest.mark.slow
def test_tiny_run_loads_the_page_and_writes_the_report(tmp_path: Path) -> None:
    argv = [
        "--runs",
        str(RUNS),
        "--reps",
        "1",
        "--no-peer",
        "--results-dir",
        str(tmp_path),
        "--cache-dir",
        str(tmp_path),
    ]
    assert dashboard.main(argv) == 0
    results = json.loads((tmp_path / "dashboard.json").read_text())
    assert results["command"].endswith("python benchmarks/dashboard.py " + " ".join(argv))

    store = results["store"]
    assert store["runs"] == RUNS and store["reused"] is False and sum(store["failed_by_kind"].values()) > 0

    ours = results["ours"]
    for kind in ("cold", "first_visit", "warm"):
        (one,) = ours[kind]["loads"]
        assert one["ready_ms"] > 0 and ours[kind]["median_ready_ms"] == one["ready_ms"]
        assert one["api_first_start_ms"] <= one["api_last_end_ms"] <= one["ready_ms"]
        assert one["render_after_api_ms"] == pytest.approx(one["ready_ms"] - one["api_last_end_ms"], abs=0.2)
        assert {"history", "parallel", "failure-map"} <= set(one["chart_ms"])  # each plot's drawing timed
    routes = {r["path"].split("?")[0]: r for r in ours["routes"]}
    experiment = store["experiment"]
    assert f"v1/experiments/{experiment}/sigopt_ai/analysis" in routes  # the page's data came from /v1
    assert all(r["status"] == 200 and r["median_ms"] > 0 for r in routes.values())
    assert ours["server_peak_rss_mb"] > 20 and ours["console"] == []

    markdown = (tmp_path / "dashboard.md").read_text()
    assert (
        f"with {RUNS:,} runs" in markdown
        and f"| sigopt-ai dashboard | {fmt(ours['cold']['median_ready_ms'])} |" in markdown
    )

    # A second run reuses the store it filled.
    assert dashboard.filled_store(tmp_path, RUNS, fresh=False)[1]["reused"] is True


def test_the_objective_fails_by_region() -> None:
    base = {"lr": 0.01, "width": 64, "depth": 2, "batch_size": 64, "alpha": 1e-4, "momentum": 0.9}
    error, failure = dashboard.outcome(base)
    assert failure is None and error is not None and 0 < error < 1
    assert dashboard.outcome({**base, "width": 256, "depth": 3, "batch_size": 512})[1]["kind"] == "oom"  # type: ignore[index]
    assert dashboard.outcome({**base, "lr": 0.5})[1]["kind"] == "diverged"  # type: ignore[index]
    assert dashboard.outcome({**base, "batch_size": 480, "width": 20})[1]["kind"] == "invalid_assignment"  # type: ignore[index]
