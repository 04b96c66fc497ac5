"""``benchmarks/concurrency.py`` on a tiny experiment writes a labelled report whose figures add up (no timing checks)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import concurrency, revisions

TINY = ["--workers", "2", "--seeded", "12", "--per-worker", "3", "--dims", "3", "--alone", "0.5", "--cpu-load", "0.3"]


def _ordered(stats: dict[str, Any], high: str) -> bool:
    return bool(0 < stats["p50_ms"] <= stats[high] <= stats["max_ms"])


@pytest.mark.slow
def test_tiny_run_writes_the_labelled_json_and_markdown(tmp_path: Path) -> None:
    argv = ["--label", "tiny", *TINY, "--results-dir", str(tmp_path)]
    assert concurrency.main(argv) == 0
    results = json.loads((tmp_path / "concurrency.json").read_text())
    assert list(results["labels"]) == ["tiny"]
    entry = results["labels"]["tiny"]
    assert entry["command"].endswith("python benchmarks/concurrency.py " + " ".join(argv))
    assert results["command"] == entry["command"]
    assert {"date_utc", "cpus_usable", "python", "sqlite", "load_average_at_end"} <= set(entry["machine"])
    assert Path(entry["code"]["package"]).name == "sigopt_ai"

    figures = entry["figures"]
    assert (figures["observations_at_start"], figures["observations_at_end"]) == (12, 12 + 2 * 3)
    assert figures["suggestion"]["count"] == 6 and _ordered(figures["suggestion"], "p95_ms")
    assert [w["count"] for w in figures["suggestion_per_worker"]] == [3, 3]
    assert figures["observe"]["count"] == 6
    assert figures["flush_alone"]["count"] > 0 and _ordered(figures["flush_alone"], "p99_ms")
    assert figures["flush_cpu_load"]["count"] > 0
    overlapping, suggesting = figures["flush_overlapping_a_suggestion"], figures["flush_suggesting"]
    assert overlapping["count"] <= suggesting["count"]
    assert figures["flushes_failed"] == figures["worker_errors"] == 0
    if overlapping["count"]:
        expected = overlapping["max_ms"] / figures["flush_alone"]["p99_ms"]
        assert figures["worst_stall_over_alone_p99"] == pytest.approx(expected)
        assert figures["meets_target"] is (expected <= concurrency.TARGET_RATIO)

    markdown = (tmp_path / "concurrency.md").read_text()
    assert f"Command: `{entry['command']}`" in markdown
    assert "| | tiny |" in markdown and "| tiny | `" in markdown
    assert "| target: at most 3x |" in markdown


def test_a_flush_overlaps_a_suggestion_only_if_their_intervals_meet() -> None:
    raw = {
        "observations_at_start": 10,
        "seed_s": 0.1,
        "phases": {"alone": 0.0, "cpu_load": 10.0, "suggesting": 20.0, "end": 30.0},
        "suggest": [[[21.0, 22.0], [25.0, 26.0]], [[21.5, 23.0]]],
        "observe_s": [[0.001, 0.001], [0.002]],
        "errors": ["StoreError: locked"],
        # [start, seconds, ok]: two alone, one under CPU load, then one during a suggestion, one
        # between suggestions, and one that starts before a suggestion and ends inside it.
        "flushes": [[1.0, 0.002, True], [2.0, 0.004, True], [11.0, 0.05, True]]
        + [[21.2, 0.01, True], [24.0, 0.5, True], [24.9, 0.2, True]],
    }
    figures = concurrency.summarize(raw)
    assert figures["observations_at_end"] == 13
    assert figures["flush_alone"]["count"] == 2 and figures["flush_alone"]["p99_ms"] == pytest.approx(4.0)
    assert figures["flush_cpu_load"]["count"] == 1
    assert figures["flush_suggesting"]["count"] == 3
    assert figures["flush_overlapping_a_suggestion"]["count"] == 2
    assert figures["flush_overlapping_a_suggestion"]["max_ms"] == pytest.approx(200.0)
    assert figures["worst_stall_over_alone_p99"] == pytest.approx(50.0)
    assert figures["meets_target"] is False
    assert figures["worst_stall_over_worst_cpu_load"] == pytest.approx(4.0)
    assert [w["count"] for w in figures["suggestion_per_worker"]] == [2, 1]
    assert (figures["worker_errors"], figures["worker_error_examples"]) == (1, ["StoreError: locked"])


def test_each_label_keeps_its_entry_and_a_label_run_again_replaces_its_own(tmp_path: Path) -> None:
    path = tmp_path / "results" / "bench.json"

    def entry(n: int) -> dict[str, Any]:
        return {"command": f"cmd {n}", "machine": {"n": n}, "figures": n}

    revisions.record_label(path, "before", entry(1))
    revisions.record_label(path, "after", entry(2))
    results = revisions.record_label(path, "before", entry(3))
    assert results == json.loads(path.read_text())
    assert list(results["labels"]) == ["before", "after"]
    assert [e["figures"] for e in results["labels"].values()] == [3, 2]
    assert (results["command"], results["machine"]) == ("cmd 3", {"n": 3})
