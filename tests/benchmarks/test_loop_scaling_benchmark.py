"""``benchmarks/loop_scaling.py`` on tiny budgets writes a labelled report whose figures add up (no timing checks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import loop_scaling

POINTS = 20_000


@pytest.mark.slow
def test_tiny_run_writes_the_labelled_json_and_markdown(tmp_path: Path) -> None:
    argv = ["--label", "tiny", "--random", "12,24", "--offline", "12", "--points", str(POINTS)]
    argv += ["--results-dir", str(tmp_path)]
    assert loop_scaling.main(argv) == 0
    results = json.loads((tmp_path / "loop_scaling.json").read_text())
    entry = results["labels"]["tiny"]
    assert entry["command"].endswith("python benchmarks/loop_scaling.py " + " ".join(argv))
    assert Path(entry["code"]["package"]).name == "sigopt_ai"

    loops = entry["figures"]["loop"]
    assert {kind: list(by_budget) for kind, by_budget in loops.items()} == {"random": ["12", "24"], "offline": ["12"]}
    for by_budget in loops.values():
        for budget, row in by_budget.items():
            assert row["iterations"] == row["observations"] == int(budget)
            # The strategy was found and timed: every iteration asks it for the next suggestion.
            assert 0 < row["strategy_s"] < row["total_s"]
            for name in ("iteration", "store"):
                assert row[name]["first_tenth_ms"] > 0 and row[name]["last_tenth_ms"] > 0
            # The store's work is each iteration less its strategy time, so never more.
            assert row["store"]["first_tenth_ms"] <= row["iteration"]["first_tenth_ms"]
            assert row["store"]["mean_ms"] <= row["iteration"]["mean_ms"]
    flatness = entry["figures"]["flatness"]
    assert (flatness["random"]["from_budget"], flatness["random"]["to_budget"]) == (12, 24)
    assert flatness["random"]["ratio"] > 0 and isinstance(flatness["random"]["meets_target"], bool)

    memory = entry["figures"]["memory"]
    assert memory["flushed"] is True
    assert memory["points_stored"] == POINTS + 1  # with the warm-up point
    assert memory["rss_before_mb"] > 0
    assert memory["peak_growth_mb"] >= memory["growth_after_flush_mb"]

    markdown = (tmp_path / "loop_scaling.md").read_text()
    assert f"Command: `{entry['command']}`" in markdown
    assert "| tiny | random | 24 |" in markdown and "| tiny | offline | 12 |" in markdown
    assert f"| tiny | {POINTS:,} |" in markdown


@pytest.mark.parametrize(("size", "tenth"), [(1, 1), (9, 1), (25, 2), (250, 25)])
def test_a_tenth_holds_at_least_one_iteration(size: int, tenth: int) -> None:
    values = list(range(size))
    first, last = loop_scaling.tenths(values)
    assert (list(first), list(last)) == (values[:tenth], values[-tenth:])


def test_the_store_work_is_each_iteration_less_its_strategy_time() -> None:
    raw = {
        "iteration_s": [0.010] * 10 + [0.030] * 10,
        "strategy_s": [0.004] * 10 + [0.010] * 10,
        "total_s": 0.5,
        "observations": 20,
    }
    row = loop_scaling.summarize_loop(raw)
    assert row["iteration"]["first_tenth_ms"] == pytest.approx(10.0)
    assert row["iteration"]["last_tenth_ms"] == pytest.approx(30.0)
    assert row["store"]["first_tenth_ms"] == pytest.approx(6.0)
    assert row["store"]["last_over_first"] == pytest.approx(20.0 / 6.0)
    assert row["strategy_s"] == pytest.approx(0.14)
    flat = loop_scaling.flatness({"random": {"20": row}})
    assert flat["random"]["ratio"] == pytest.approx(20.0 / 6.0) and flat["random"]["meets_target"] is False
