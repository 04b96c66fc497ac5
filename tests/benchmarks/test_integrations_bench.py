"""``benchmarks/integrations.py`` at its tiny size, without peers: a real training per variant in a child
process, at two lengths (2x the steps at the tiny size), a report whose figures add up and whose run of ours
recorded checkpoints (no timing checks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import integrations


@pytest.mark.slow
def test_tiny_run_of_xgboost_writes_the_json_and_markdown(tmp_path: Path) -> None:
    argv = ["--no-peers", "--size", "tiny", "--reps", "2", "--frameworks", "xgboost", "--results-dir", str(tmp_path)]
    assert integrations.main(argv) == 0
    results = json.loads((tmp_path / "integrations.json").read_text())
    assert results["command"] == "python benchmarks/integrations.py " + " ".join(argv)
    assert {"date_utc", "cpu_count", "repo_commit", "load_average_at_end"} <= set(results["machine"])

    entry = results["frameworks"]["xgboost"]
    rounds = integrations.SIZES["tiny"].rounds
    assert entry["steps"] == rounds
    assert set(entry["variants"]) == {"none", "noop", "sigopt_ai"}  # no peers asked for
    for name in ("none", "noop", "sigopt_ai"):
        variant = entry["variants"][name]
        assert variant["status"] == "ok", variant
        assert len(variant["reps"]) == 2  # the warm-up is not among them
        assert all(rep["train_s"] > 0 for rep in variant["reps"])
    assert all(rep["hook_calls"] == 0 for rep in entry["variants"]["none"]["reps"])
    # Every round went through the callback's timed hooks: before/after each iteration, and training's ends.
    for name in ("noop", "sigopt_ai"):
        assert all(rep["hook_calls"] >= 2 * rounds + 2 for rep in entry["variants"][name]["reps"])
    recorded = entry["variants"]["sigopt_ai"]["recorded"]
    assert 0 < recorded["checkpoints"] <= rounds and recorded["metrics"] > 0 and recorded["params"] > 0

    # The long training: none, noop and ours again at 2x the rounds, in the same repetitions (no peers there).
    long = entry["long"]
    assert long["steps"] == 2 * rounds and integrations.SIZES["tiny"].long_factor == 2
    assert set(long["variants"]) == {"none", "noop", "sigopt_ai"}
    for name, variant in long["variants"].items():
        assert variant["status"] == "ok" and len(variant["reps"]) == 2, (name, variant)
    for rep in long["variants"]["sigopt_ai"]["reps"]:
        assert rep["hook_calls"] >= 4 * rounds + 2
    long_recorded = long["variants"]["sigopt_ai"]["recorded"]
    assert recorded["checkpoints"] < long_recorded["checkpoints"] <= 2 * rounds

    row = entry["summary"]["variants"]["sigopt_ai"]
    assert row["reps"] == 2 and row["hook_us_per_step"] > 0
    low, high = row["overhead_us_per_step_range"]
    assert low <= row["overhead_us_per_step"] <= high
    assert isinstance(row["meets_target"], bool) and row["target_basis"] == "marginal"
    # marginal = (cost(long) - cost(short)) / extra steps, and fixed = cost(short) - marginal x steps.
    assert row["long"]["steps"] == 2 * rounds and row["long"]["recorded"] == long_recorded
    assert row["marginal_us_per_step"] == pytest.approx(
        (row["long"]["cost_us_per_step"] * 2 * rounds - row["cost_us_per_step"] * rounds) / rounds
    )
    assert row["fixed_ms_per_training"] * 1e3 == pytest.approx(
        (row["cost_us_per_step"] - row["marginal_us_per_step"]) * rounds
    )

    markdown = (tmp_path / "integrations.md").read_text()
    assert f"Command: `{results['command']}`" in markdown
    assert f"| xgboost | none ({rounds} steps, " in markdown and "| xgboost | sigopt_ai |" in markdown
    assert f"at {2 * rounds} steps: checkpoints: {long_recorded['checkpoints']}" in markdown


def test_the_hook_timer_counts_the_outermost_call_of_nested_hooks() -> None:
    class Callback:
        def on_batch_end(self) -> None:
            pass

        def on_train_batch_end(self) -> None:
            self.on_batch_end()  # as Keras' base class does

    timer = integrations.HookTimer()
    callback = timer.instrument(Callback(), ["on_batch_end", "on_train_batch_end"])
    for _ in range(3):
        callback.on_train_batch_end()
    callback.on_batch_end()
    assert timer.calls == 4 and timer.ns > 0
    assert {name: calls for name, (calls, _) in timer.by_hook.items()} == {"on_train_batch_end": 3, "on_batch_end": 1}
    assert sum(ns for _, ns in timer.by_hook.values()) == timer.ns


def test_a_plain_callable_keeps_the_attributes_lightgbm_reads() -> None:
    seen = []

    def callback(env: object) -> None:
        seen.append(env)

    callback.order = 20  # type: ignore[attr-defined]
    callback.before_iteration = False  # type: ignore[attr-defined]
    timer = integrations.HookTimer()
    timed = timer.instrument(callback, ["__call__"])
    timed("env")
    assert seen == ["env"] and timer.calls == 1
    assert (timed.order, timed.before_iteration) == (20, False)


def test_overhead_is_paired_by_repetition() -> None:
    def reps(*train: float) -> list[dict[str, float]]:
        # CPU time as the wall time, plus 0.1 s of open and close in each run.
        timing = {"open_s": 0.0, "close_s": 0.0, "hook_s": 0.001, "hook_calls": 10}
        return [{"train_s": t, "cpu_train_s": t, "cpu_total_s": t + 0.1, **timing} for t in train]

    def background(rows: list[dict[str, float]], *cpu_s: float) -> list[dict[str, float]]:
        return [{**row, "background_cpu_train_s": s} for row, s in zip(rows, cpu_s, strict=True)]

    child = {
        "steps": 100,
        "variants": {
            "none": {"status": "ok", "reps": background(reps(1.0, 2.0, 1.0), 0.001, 0.002, 0.001)},
            "sigopt_ai": {"status": "ok", "reps": background(reps(1.01, 2.01, 1.02), 0.003, 0.004, 0.002)},
            "wandb": {"status": "unavailable", "reason": "needs tensorflow"},
        },
    }
    summary = integrations.summarize(child)
    assert summary["step_us"] == pytest.approx(10_000)  # median none (1.0 s) / 100 steps
    row = summary["variants"]["sigopt_ai"]
    # Per repetition: +100, +100, +200 µs per step; median 100 µs, 1 % of a 10 ms step.
    assert row["overhead_us_per_step"] == pytest.approx(100)
    assert row["overhead_us_per_step_range"] == pytest.approx([100, 200])
    assert row["overhead_pct"] == pytest.approx(1.0)
    assert row["hook_us_per_step"] == pytest.approx(10) and row["hook_pct"] == pytest.approx(0.1)
    assert row["cpu_overhead_us_per_step"] == pytest.approx(100) and row["cpu_overhead_pct"] == pytest.approx(1.0)
    assert row["cpu_run_ms"] == pytest.approx(10)  # the median of +10, +10, +20 ms over whole runs
    # Hooks 10 µs + background (median 3 ms - median 1 ms) / 100 steps = 20 µs: 30 µs, 0.3 % of a step.
    assert row["background_us_per_step"] == pytest.approx(20)
    assert row["cost_us_per_step"] == pytest.approx(30) and row["cost_pct"] == pytest.approx(0.3)
    assert row["meets_target"] is True  # judged on the cost, not on the noisy whole-training differences
    assert row["target_basis"] == "at 100 steps, fixed cost included" and row["target_step_ms"] is None
    assert "marginal_us_per_step" not in row and summary["long_steps"] is None
    # A background below none's is the framework's threads doing less: it counts as 0, not as a gain.
    quieter = {"background_cpu_train_s": 0.0}
    child["variants"]["noop"] = {"status": "ok", "reps": [{**r, **quieter} for r in child["variants"]["none"]["reps"]]}
    noop = integrations.summarize(child)["variants"]["noop"]
    assert noop["background_us_per_step"] == pytest.approx(-10) and noop["cost_us_per_step"] == pytest.approx(10)
    child["variants"]["sigopt_ai"]["reps"] = [{**r, "hook_calls": 0} for r in child["variants"]["sigopt_ai"]["reps"]]
    autolog = integrations.summarize(child)["variants"]["sigopt_ai"]
    assert autolog["hook_us_per_step"] is None and autolog["cost_us_per_step"] is None
    assert autolog["meets_target"] is False  # nothing to time: the CPU difference, 1 %, is not under 1 %
    assert summary["variants"]["wandb"] == {"status": "unavailable", "reason": "needs tensorflow"}


def test_marginal_and_fixed_cost_come_from_the_two_lengths() -> None:
    def reps(hook_s: float, background_s: float, train_s: float = 1.0) -> list[dict[str, float]]:
        row = {"open_s": 0.0, "close_s": 0.0, "cpu_total_s": train_s, "hook_calls": 10, "hook_s": hook_s}
        return [{**row, "train_s": train_s, "cpu_train_s": train_s, "background_cpu_train_s": background_s}] * 3

    # 100 steps of 10 ms; ours: 3 ms fixed (1 ms in hooks, 2 ms of background) + 10 µs a step (5 + 5).
    child = {
        "steps": 100,
        "variants": {
            "none": {"status": "ok", "reps": reps(0.0, 0.001)},
            "sigopt_ai": {"status": "ok", "reps": reps(0.0015, 0.0035)},
            "mlflow": {"status": "ok", "reps": reps(0.2, 0.001)},
        },
        "long": {
            "steps": 500,
            "reps": 3,
            "variants": {
                "none": {"status": "ok", "reps": reps(0.0, 0.002, 5.0)},
                "sigopt_ai": {"status": "ok", "reps": reps(0.0035, 0.0065, 5.0), "recorded": {"checkpoints": 200}},
            },
        },
    }
    summary = integrations.summarize(child)
    assert summary["long_steps"] == 500 and summary["long_step_us"] == pytest.approx(10_000)
    assert summary["marginal_step_us"] == pytest.approx(10_000)  # (5 s - 1 s) / 400 extra steps
    row = summary["variants"]["sigopt_ai"]
    assert row["cost_us_per_step"] == pytest.approx(40)  # at 100 steps, 3 ms fixed included: 0.4 %
    assert row["long"]["cost_us_per_step"] == pytest.approx(16)  # 8 ms over 500 steps
    assert row["marginal_us_per_step"] == pytest.approx(10) and row["marginal_pct"] == pytest.approx(0.1)
    assert row["marginal_hook_us_per_step"] == pytest.approx(5)
    assert row["marginal_background_us_per_step"] == pytest.approx(5)
    assert row["fixed_ms_per_training"] == pytest.approx(3)
    assert row["target_basis"] == "marginal" and row["meets_target"] is True
    assert row["target_step_ms"] == pytest.approx(1)  # 10 µs is 1 % of a 1 ms step
    assert row["long"]["recorded"] == {"checkpoints": 200}
    peer = summary["variants"]["mlflow"]  # no long training: judged at 100 steps, fixed cost included
    assert peer["target_basis"] == "at 100 steps, fixed cost included" and "marginal_us_per_step" not in peer
    assert peer["cost_us_per_step"] == pytest.approx(2_000) and peer["meets_target"] is False
