"""The optimizer benchmark harness works (problems, drivers, CLI, statistics); not its numbers."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from benchmarks.optimizer import latency, problems, run, summary
from benchmarks.optimizer.peers import build_driver, missing_requirement

pytest.importorskip("optuna")

OURS_AVAILABLE = missing_requirement("sigopt_ai") is None
FAST_METHODS = ["random", "tpe", "tpe_c"] + (["sigopt_ai", "sigopt_ai_random"] if OURS_AVAILABLE else [])


def test_known_optima_are_rederived() -> None:
    optima = problems.verify_known_optima()
    assert optima["BR-DISK"] == pytest.approx(0.397887, abs=1e-6)
    assert optima["H6-FAIL"] == pytest.approx(-3.32237)
    assert optima["OOM-MIX"] == pytest.approx(0.136474, abs=1e-6)
    value, point = problems.derive_oom_optimum()
    assert problems.evaluate_oom_mix(point) == value
    assert problems.evaluate_oom_mix(problems.OOM_DESIGN_DOC_POINT) == pytest.approx(0.139035, abs=1e-6)


OOM_BASE: dict[str, Any] = {
    "lr": 1e-3,
    "batch_size": 128,
    "width": 256,
    "depth": 2,
    "optimizer": "adam",
    "dropout": 0.3,
}
H6_BASE = dict(zip([f"x{i}" for i in range(1, 7)], problems.H6_OPTIMUM, strict=True))


@pytest.mark.parametrize(
    ("name", "assignments", "fails"),
    [
        ("BR-DISK", {"x1": math.pi, "x2": 2.275}, False),
        ("BR-DISK", {"x1": -math.pi, "x2": 12.275}, True),  # a global minimum inside the disk's outside
        ("BR-DISK", {"x1": 3 * math.pi, "x2": 2.475}, True),
        ("BR-DISK", {"x1": 2.5 + 7.08, "x2": 7.5}, True),  # just outside radius sqrt(50) = 7.071
        ("BR-DISK", {"x1": 2.5 + 7.06, "x2": 7.5}, False),
        ("H6-FAIL", H6_BASE, False),
        ("H6-FAIL", {**H6_BASE, "x1": 0.7, "x2": 0.6}, True),  # x1 + x2 > 1.2
        ("H6-FAIL", {**H6_BASE, "x4": 0.25, "x5": 0.25}, True),  # x4 + x5 < 0.55
        ("OOM-MIX", OOM_BASE, False),
        ("OOM-MIX", {**OOM_BASE, "width": 1024}, True),  # 128 * 1024 * 2 = 2^18 > 2^17
        ("OOM-MIX", {**OOM_BASE, "lr": 10**-2.6}, True),  # u* = -3 for adam at batch 128: -2.6 > -2.65
        ("OOM-MIX", {**OOM_BASE, "lr": 10**-2.7}, False),
        ("OOM-MIX", {**OOM_BASE, "optimizer": "sgd", "lr": 10**-1.1}, True),  # u* + 0.35 = -1.15 for sgd
        ("OOM-MIX", {**OOM_BASE, "optimizer": "sgd", "lr": 10**-1.5}, False),
    ],
)
def test_evaluate_fails_exactly_in_the_failure_regions(name: str, assignments: dict[str, Any], fails: bool) -> None:
    value = problems.get_problem(name).evaluate(assignments)
    if fails:
        assert value is None
    else:
        assert value is not None and math.isfinite(value)
        assert value >= problems.get_problem(name).f_star - 1e-9  # type: ignore[operator]


MLP_OK: dict[str, Any] = {
    "learning_rate_init": 0.01,
    "width": 16,
    "depth": 1,
    "batch_size": 64,
    "alpha": 1e-4,
    "momentum": 0.9,
    "activation": "relu",
}


def test_mlp_digits_fails_on_memory_cap_and_divergence() -> None:
    evaluate = problems.get_problem("MLP-DIGITS").evaluate
    value = evaluate(MLP_OK)
    assert value is not None and 0.0 <= value < 0.5
    assert evaluate({**MLP_OK, "width": 512, "depth": 3, "batch_size": 64}) is None  # 98,304 > 2^15
    assert evaluate({**MLP_OK, "learning_rate_init": 1.0, "batch_size": 16}) is None  # diverges


def test_mlp_memory_cap_raises_a_real_memory_error() -> None:
    with pytest.raises(MemoryError, match="simulated memory cap"):
        problems._mlp({**MLP_OK, "width": 512, "depth": 1, "batch_size": 128})


def test_smoke_run_writes_json_and_markdown(tmp_path: Path) -> None:
    argv = ["--smoke", "--problems", "BR-DISK,OOM-MIX", "--methods", ",".join(FAST_METHODS)]
    document = run.main([*argv, "--budget", "12", "--workers", "1", "--out", str(tmp_path)])
    data = json.loads((tmp_path / "optimizer_smoke.json").read_text())
    assert set(data) == {"meta", "problems", "summary", "traces"} == set(document)
    assert not (tmp_path / "optimizer_smoke.partial.jsonl").exists()
    assert len(data["traces"]) == 2 * len(FAST_METHODS) * 2
    for trace in data["traces"]:
        assert trace["error"] is None, trace["error"]
        assert len(trace["evaluations"]) == 12
        assert {"assignments", "value", "failed", "suggest_s"} <= set(trace["evaluations"][0])
    stats = data["summary"]["BR-DISK"]["methods"]["random"]
    assert {"regret_half", "regret_full", "failed_after_initial", "failed_last_half", "latency_s"} <= set(stats)
    markdown = (tmp_path / "optimizer_smoke.md").read_text()
    assert "### BR-DISK" in markdown and "### OOM-MIX" in markdown and "failed after 10" in markdown
    if OURS_AVAILABLE:
        assert set(data["summary"]["OOM-MIX"]["paired"]) == set(FAST_METHODS) - {"sigopt_ai"}
        assert "Wilcoxon p" in markdown


def test_problem_seeds_override_the_seed_count_per_problem(tmp_path: Path) -> None:
    argv = ["--problems", "BR-DISK,H6-FAIL", "--methods", "random", "--seeds", "3", "--budget", "4"]
    data = run.main([*argv, "--problem-seeds", "H6-FAIL=1", "--workers", "1", "--out", str(tmp_path), "--name", "x"])
    seeds = {(t["problem"], t["seed"]) for t in data["traces"]}
    assert seeds == {("BR-DISK", 0), ("BR-DISK", 1), ("BR-DISK", 2), ("H6-FAIL", 0)}
    assert data["meta"]["seeds"] == {"BR-DISK": 3, "H6-FAIL": 1}
    assert "0..2 (BR-DISK); 0..0 (H6-FAIL)" in (tmp_path / "x.md").read_text()
    with pytest.raises(SystemExit, match="unknown problem 'NOPE'"):
        run.main([*argv, "--problem-seeds", "NOPE=1", "--out", str(tmp_path)])


def test_unknown_or_unavailable_method_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        run.main(["--methods", "nope", "--out", str(tmp_path)])


def test_gp_sampler_with_constraint_encoding_runs() -> None:
    pytest.importorskip("torch")
    problem = run.with_budget(problems.get_problem("BR-DISK"), 12)
    evaluations = run.drive(problem, build_driver("gp_c", problem, seed=0), 12)  # GP after 10 random
    assert len(evaluations) == 12 and all(e["suggest_s"] >= 0 for e in evaluations)


@pytest.mark.skipif(not OURS_AVAILABLE, reason="sigopt_ai.optimizer is not importable")
def test_no_padding_ablation_is_opt_in_and_differs_only_after_failures() -> None:
    assert "sigopt_ai_no_padding" not in run.DEFAULT_METHODS
    problem = run.with_budget(problems.get_problem("BR-DISK"), 13)
    ours = run.drive(problem, build_driver("sigopt_ai", problem, seed=0), 13)
    driver = build_driver("sigopt_ai_no_padding", problem, seed=0)
    ablation = run.drive(problem, driver, 13)
    assert driver._strategy.failure_model == "classifier"
    # Same Sobol design, then the same models until a failure is there to be used differently.
    diverged = next(
        i for i, (a, b) in enumerate(zip(ours, ablation, strict=True)) if a["assignments"] != b["assignments"]
    )
    assert diverged >= driver._strategy.n_initial
    assert any(e["failed"] for e in ours[:diverged])


def _trace(method: str, seed: int, values: list[float | None]) -> dict[str, Any]:
    evaluations = [{"value": v, "failed": v is None, "suggest_s": 0.01 * (i + 1)} for i, v in enumerate(values)]
    return {
        "problem": "P",
        "method": method,
        "seed": seed,
        "budget": len(values),
        "error": None,
        "evaluations": evaluations,
    }


def test_regret_and_failure_statistics_on_a_hand_made_trace() -> None:
    trace = _trace("m", 0, [None, 3.0, 1.0, None] + [2.0] * 6 + [None, 0.5])
    assert summary.regret_at(trace, 0.0, 1) == math.inf
    assert summary.regret_at(trace, 0.0, 2) == 3.0
    assert summary.regret_at(trace, 0.0, 12) == 0.5
    assert summary.regret_curve(trace, 0.0)[:3] == [math.inf, 3.0, 1.0]
    assert summary.failure_rate([trace], 10, 12) == 0.5
    assert summary.failure_rate([trace], 6, 12) == pytest.approx(1 / 6)
    assert summary.latency([trace])["max"] == pytest.approx(0.12)
    assert summary.quantile([1.0, 2.0, math.inf], 0.5) == 2.0
    assert summary.quantile([1.0, math.inf], 0.5) == math.inf


def test_wilcoxon_and_paired_wins_handle_ties_and_infinite_regrets() -> None:
    from scipy.stats import wilcoxon

    ours = {0: 0.1, 1: 0.2, 2: 0.3, 3: math.inf}
    peer = {0: 1.0, 1: 2.0, 2: 3.0, 3: math.inf}
    result = summary.paired(ours, peer)
    assert (result["wins"], result["ties"], result["losses"]) == (3, 1, 0)
    assert result["p"] == pytest.approx(wilcoxon([0.1, 0.2, 0.3], [1.0, 2.0, 3.0]).pvalue)  # 0.25
    all_inf = summary.paired({s: float(s + 1) for s in range(6)}, dict.fromkeys(range(6), math.inf))
    assert all_inf["wins"] == 6 and all_inf["p"] == pytest.approx(2 / 64)
    assert summary.wilcoxon_p([1.0, math.inf], [1.0, math.inf]) == 1.0


def test_summarize_uses_run_best_when_optimum_is_unknown() -> None:
    traces = [_trace("sigopt_ai", s, [None, 1.0 + s]) for s in range(3)]
    traces += [_trace("random", s, [2.0 + s, None]) for s in range(3)]
    result = summary.summarize(traces, {"P": {"budget": 2, "f_star": None}})["P"]
    assert result["f_star"] == 1.0 and result["f_star_source"].startswith("best value")
    assert result["paired"]["random"]["wins"] == 3
    assert result["average_rank"] == {"sigopt_ai": 1.0, "random": 2.0}
    markdown = summary.report_markdown({"P": result}, ["# header"])
    assert "| sigopt_ai vs |" in markdown and "| random | 3 | 3 / 0 / 0 |" in markdown


def test_latency_section_is_replaced_not_duplicated(tmp_path: Path) -> None:
    report = tmp_path / "optimizer.md"
    report.write_text("# report\n")
    document = {
        "meta": {"finished": "now", "threads": 1, "python": "3"},
        "cases": [
            {
                "n": 200,
                "dim": 10,
                "repeats": 3,
                "failed_fraction": 0.2,
                **dict.fromkeys(("first_s", "p50_s", "p95_s", "max_s"), 0.1),
            }
        ],
    }
    latency.update_markdown(report, latency.latency_markdown(document))
    latency.update_markdown(report, latency.latency_markdown(document))
    text = report.read_text()
    assert text.startswith("# report") and text.count(latency.START) == 1 and "| 200 | 10 | 20 % |" in text


@pytest.mark.skipif(not OURS_AVAILABLE, reason="sigopt_ai.optimizer.make_strategy is not there yet")
def test_latency_measure_runs_our_optimizer() -> None:
    observations = latency.synthetic_observations(500, 10, seed=0)
    assert 0.15 < sum(o.failed for o in observations) / 500 < 0.25
    result = latency.measure(n=12, dim=3, repeats=2)
    assert result["repeats"] == 2 and result["p95_s"] >= result["p50_s"] >= 0


@pytest.mark.skipif(not OURS_AVAILABLE, reason="sigopt_ai.optimizer.make_strategy is not there yet")
def test_latency_cli_measures_every_size_in_every_dimension(tmp_path: Path) -> None:
    document = latency.main(["--sizes", "12,14", "--dims", "3,4", "--repeats", "1", "--out", str(tmp_path)])
    assert [(c["dim"], c["n"]) for c in document["cases"]] == [(3, 12), (3, 14), (4, 12), (4, 14)]
    assert json.loads((tmp_path / "optimizer_latency.json").read_text()) == document
    assert "| 14 | 4 |" in (tmp_path / "optimizer.md").read_text()


def test_resume_skips_runs_already_in_the_checkpoint(tmp_path: Path) -> None:
    checkpoint = tmp_path / "optimizer.partial.jsonl"
    done = {**_trace("random", 0, [1.0]), "problem": "BR-DISK", "budget": 1}
    checkpoint.write_text(json.dumps(done) + "\n")
    items = [("BR-DISK", "random", 0, 1), ("BR-DISK", "random", 1, 1)]
    traces, todo = run.resume(checkpoint, items)
    assert [t["seed"] for t in traces] == [0] and todo == [("BR-DISK", "random", 1, 1)]


def test_resumed_run_says_how_many_runs_came_from_the_checkpoint(tmp_path: Path) -> None:
    argv = ["--problems", "BR-DISK", "--methods", "random", "--seeds", "2", "--budget", "3", "--workers", "1"]
    first = run.main([*argv, "--problem-seeds", "BR-DISK=1", "--out", str(tmp_path), "--name", "r"])
    (tmp_path / "r.partial.jsonl").write_text(json.dumps(first["traces"][0]) + "\n")
    second = run.main([*argv, "--resume", "--out", str(tmp_path), "--name", "r"])
    assert second["meta"]["resumed"] == 1 and len(second["traces"]) == 2
    assert second["traces"][0]["evaluations"] == first["traces"][0]["evaluations"]
    assert "1 of its runs were resumed" in (tmp_path / "r.md").read_text()


def test_summarize_only_runs_nothing_and_names_the_runs_it_lacks(tmp_path: Path) -> None:
    # Slow peers (Ax) are run apart and on fewer seeds; the report is assembled from checkpoints.
    argv = ["--problems", "BR-DISK", "--methods", "random,tpe", "--seeds", "2", "--budget", "3", "--workers", "1"]
    first = run.main([*argv, "--out", str(tmp_path), "--name", "r"])
    kept = [t for t in first["traces"] if (t["method"], t["seed"]) != ("tpe", 1)]
    checkpoint = tmp_path / "r.partial.jsonl"
    checkpoint.write_text("".join(json.dumps(t) + "\n" for t in kept))
    second = run.main([*argv, "--summarize-only", "--out", str(tmp_path), "--name", "r"])
    assert [(t["method"], t["seed"]) for t in second["traces"]] == [("random", 0), ("random", 1), ("tpe", 0)]
    assert second["summary"]["BR-DISK"]["methods"]["tpe"]["seeds"] == 1
    assert "Left out: tpe on BR-DISK, seeds 1 (not run)" in (tmp_path / "r.md").read_text()
    assert checkpoint.exists()  # kept for the runs still to come


def test_each_failure_has_the_kind_the_sdk_would_give_it() -> None:
    oom_mix, mlp = problems.get_problem("OOM-MIX"), problems.get_problem("MLP-DIGITS")
    memory = {**OOM_BASE, "batch_size": 512, "width": 1024}
    assert oom_mix.evaluate(memory) is None and oom_mix.failure_kind(memory) == "oom"
    diverged = {**OOM_BASE, "lr": 10**-2.6}
    assert oom_mix.evaluate(diverged) is None and oom_mix.failure_kind(diverged) == "diverged"
    assert mlp.failure_kind({**MLP_OK, "width": 512, "depth": 3, "batch_size": 64}) == "oom"
    assert mlp.failure_kind({**MLP_OK, "learning_rate_init": 1.0, "batch_size": 16}) == "diverged"
    assert problems.get_problem("BR-DISK").failure_kind({"x1": -5.0, "x2": 15.0}) == "reported"


@pytest.mark.skipif(not OURS_AVAILABLE, reason="sigopt_ai.optimizer is not importable")
def test_traces_record_failure_kinds_and_the_kindless_ablation_differs_only_with_them() -> None:
    assert "sigopt_ai_no_kinds" not in run.DEFAULT_METHODS
    problem = run.with_budget(problems.get_problem("OOM-MIX"), 14)
    ours = run.drive(problem, build_driver("sigopt_ai", problem, seed=1), 14)
    kinds = {e.get("failure_kind") for e in ours if e["failed"]}
    assert kinds and kinds <= {"oom", "diverged"}
    assert all("failure_kind" not in e for e in ours if not e["failed"])
    ablation = run.drive(problem, build_driver("sigopt_ai_no_kinds", problem, seed=1), 14)
    assert [e["assignments"] for e in ablation] != [e["assignments"] for e in ours]
    # With a single kind ("reported") knowing it changes nothing.
    branin = run.with_budget(problems.get_problem("BR-DISK"), 12)
    told = run.drive(branin, build_driver("sigopt_ai", branin, seed=0), 12)
    untold = run.drive(branin, build_driver("sigopt_ai_no_kinds", branin, seed=0), 12)
    assert any(e["failed"] for e in told)
    assert [e["assignments"] for e in told] == [e["assignments"] for e in untold]


def test_parallel_workers_keep_assignments_out_and_report_them_in_finishing_order() -> None:
    from benchmarks.optimizer.peers import StrategyDriver
    from sigopt_ai.optimizer import SobolStrategy

    problem = problems.get_problem("BR-DISK")
    seen: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]] = []
    order: list[dict[str, Any]] = []

    class Recording(SobolStrategy):  # a real strategy that also records what the harness told it
        def suggest(self, observations, pending, *, index):  # type: ignore[no-untyped-def]
            seen.append(([dict(o.assignments) for o in observations], [dict(p) for p in pending]))
            order.append(dict(super().suggest(observations, pending, index=index)))
            return order[-1]

    evaluations = run.drive(problem, StrategyDriver(Recording(problem.definition, seed=0)), 12, workers=4, seed=0)
    assert len(evaluations) == 12 and [len(pending) for _, pending in seen] == [0, 1, 2, 3] + [3] * 8
    assert [len(told) for told, _ in seen] == [0, 0, 0, 0, *range(1, 9)]
    for k, (told, pending) in enumerate(seen):  # every earlier assignment is either told or still out
        assert sorted(map(str, told + pending)) == sorted(map(str, order[:k]))
        assert told == [dict(e["assignments"]) for e in evaluations[: len(told)]]  # told in finishing order
    assert [dict(e["assignments"]) for e in evaluations] != order, "random evaluation times reorder results"
    assert sorted(e["in_flight"] for e in evaluations) == sorted(len(pending) for _, pending in seen)


def test_parallel_cli_names_its_outputs_and_never_resumes_sequential_traces(tmp_path: Path) -> None:
    argv = ["--problems", "BR-DISK", "--methods", "random", "--seeds", "1", "--budget", "6", "--workers", "1"]
    sequential = run.main([*argv, "--out", str(tmp_path), "--name", "p"])
    (tmp_path / "p.partial.jsonl").write_text(json.dumps(sequential["traces"][0]) + "\n")
    parallel = run.main([*argv, "--parallel", "3", "--resume", "--out", str(tmp_path), "--name", "p"])
    assert parallel["meta"]["resumed"] == 0 and parallel["traces"][0]["workers"] == 3
    assert "3 simulated asynchronous workers" in (tmp_path / "p.md").read_text()
    run.main([*argv, "--parallel", "2", "--out", str(tmp_path)])
    assert (tmp_path / "optimizer_parallel2.json").exists()
    with pytest.raises(SystemExit, match="--parallel must be at least 1"):
        run.main([*argv, "--parallel", "0", "--out", str(tmp_path)])


@pytest.mark.parametrize("method", ["ax_failed", "ax_constraint"])
def test_ax_peers_run_where_ax_is_installed_and_are_left_out_by_name_elsewhere(method: str, tmp_path: Path) -> None:
    # Ax is a benchmark-only dependency in its own environment (benchmarks/README.md): the suite's
    # environment has no Ax, so there the peer must be reported missing, never crash the harness.
    from benchmarks.optimizer.peers import METHODS

    if missing_requirement(method) is not None:
        assert missing_requirement(method) == "ax is not installed"
        with pytest.raises(SystemExit, match=f"cannot run {method} \\(ax is not installed\\)"):
            run.main(["--methods", method, "--problems", "BR-DISK", "--smoke", "--out", str(tmp_path)])
        return
    assert not METHODS[method].fast
    problem = run.with_budget(problems.get_problem("BR-DISK"), 8)
    driver = build_driver(method, problem, seed=3)
    evaluations = run.drive(problem, driver, 8)
    assert len(evaluations) == 8 and evaluations[0]["assignments"] == {"x1": 2.5, "x2": 7.5}  # Ax's centre first
    trials = driver._client._experiment.trials  # type: ignore[attr-defined]
    data = driver._client._experiment.lookup_data().df  # type: ignore[attr-defined]
    worst: float | None = None
    for i, e in enumerate(evaluations):
        rows = data[data.trial_index == i].set_index("metric_name")["mean"]
        if not e["failed"]:
            worst = e["value"] if worst is None else max(worst, e["value"])
            assert trials[i].status.is_completed and rows["value"] == pytest.approx(e["value"])
        elif method == "ax_failed" or worst is None:
            assert trials[i].status.is_failed and rows.empty
        else:  # told as infeasible, at the worst value seen so far
            assert trials[i].status.is_completed and rows["failed"] == 1.0 and rows["value"] == worst
    if method == "ax_constraint":  # latency.py times it on our optimizer's history
        case = latency.measure_ax(n=12, dim=3, repeats=2)
        assert case["method"] == "ax_constraint" and len(case["times_s"]) == 2 and case["p95_s"] > 0
