"""The pure analysis functions: history and its downsampling, the Pareto front (against the
best-assignments rule it replaces), the separating pair, points, experiment rows, experiment.yml
round trips, and the optimizer's P(success) behind the failure map."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigopt_ai._best import best_observations
from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._exceptions import ValidationError
from sigopt_ai._models import ExperimentRecord, ExperimentState, Observation, Progress
from sigopt_ai.analysis import (
    experiment_analysis,
    experiment_row,
    experiment_yaml,
    failure_map,
    history,
    pareto_front,
    sample_indices,
    separating_pair,
)
from sigopt_ai.experiments._parse import load_experiment_file, parse_experiment
from sigopt_ai.optimizer import BayesianOptimizer

PARAMETERS = [
    {"name": "lr", "type": "double", "bounds": {"min": 1e-5, "max": 1.0}, "transformation": "log"},
    {"name": "width", "type": "int", "bounds": {"min": 1, "max": 100}},
    {"name": "depth", "type": "int", "bounds": {"min": 1, "max": 8}},
    {"name": "opt", "type": "categorical", "categorical_values": ["adam", "sgd"]},
]


def definition(**changes: Any) -> ExperimentDefinition:
    body: dict[str, Any] = {"name": "t", "parameters": PARAMETERS, "metrics": [{"name": "acc"}], "budget": 100}
    body.update(changes)
    return parse_experiment(body)


def obs(acc: float | None = None, kind: str | None = None, **assignments: Any) -> Observation:
    params = {"lr": 0.01, "width": 10, "depth": 2, "opt": "adam", **assignments}
    if acc is None:
        return Observation(params, failed=True, failure_kind=kind)
    return Observation(params, {"acc": acc})


# --- sample_indices and history


@settings(max_examples=200, deadline=None)
@given(
    failed=st.lists(st.booleans(), max_size=300),
    keep=st.lists(st.integers(0, 299), max_size=20),
    limit=st.integers(1, 100),
)
def test_a_sample_keeps_what_it_must_within_the_limit(failed: list[bool], keep: list[int], limit: int) -> None:
    chosen = sample_indices(failed, keep, limit)
    n = len(failed)
    kept = {i for i in keep if i < n}
    assert chosen == sorted(set(chosen)) and all(0 <= i < n for i in chosen)
    if n <= limit:
        assert chosen == list(range(n))
        return
    assert len(chosen) <= limit
    if len(kept) < limit:
        assert kept <= set(chosen)
        rest = [i for i in range(n) if i not in kept]
        if any(failed[i] for i in rest):
            assert any(failed[i] for i in chosen if i not in kept)  # a failure is never sampled away entirely


def test_a_sample_keeps_failures_in_proportion() -> None:
    failed = [i % 4 == 0 for i in range(10_000)]  # a quarter failed
    chosen = sample_indices(failed, [], 400)
    assert len(chosen) == 400
    assert sum(failed[i] for i in chosen) == 100
    assert chosen[0] == 0 and chosen[-1] == 9_999  # spread to both ends


OBJECTIVES = {o: definition(metrics=[{"name": "acc", "objective": o}]) for o in ("maximize", "minimize")}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.floats(-10, 10), st.just(math.nan), st.just(math.inf)),
        min_size=1,
        max_size=60,
    ),
    st.sampled_from(["maximize", "minimize"]),
    st.integers(1, 80),
)
def test_history_best_so_far_is_the_running_best(values: list[float | None], objective: str, points: int) -> None:
    defn = OBJECTIVES[objective]
    observations = [obs(v, kind="oom") for v in values]
    found = history(defn, observations, points=points)
    better = max if objective == "maximize" else min
    running: list[float] = []
    best: float | None = None
    for v in values:
        if v is not None and math.isfinite(v):
            best = v if best is None else better(best, v)
        running.append(math.nan if best is None else best)
    for x, step in zip(found["best_x"], found["best"], strict=True):
        assert running[x - 1] == step
    finite = [i + 1 for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    if finite:
        assert found["best_x"][0] == finite[0] and found["best_x"][-1] == len(values)
        assert found["best"][-1] == running[-1]
        steps = found["best_x"][:-1] if found["best_x"][-1] not in found["x"] else found["best_x"]
        assert set(steps[: points - 1]) <= set(found["x"]) or len(steps) > points
    else:
        assert found["best_x"] == found["best"] == []
    assert len(found["x"]) <= max(points, 1) and found["x"] == sorted(found["x"])
    for x, value, failed, kind in zip(found["x"], found["value"], found["failed"], found["kind"], strict=True):
        original = values[x - 1]
        assert failed is (original is None) and kind == ("oom" if failed else None)
        assert value == (original if original is not None and math.isfinite(original) else None)


def test_history_respects_thresholds_and_names_the_metric() -> None:
    defn = definition(
        metrics=[{"name": "acc"}, {"name": "size", "strategy": "constraint", "objective": "minimize", "threshold": 5}]
    )
    observations = [
        Observation({"lr": 0.1}, {"acc": 0.5, "size": 1}),
        Observation({"lr": 0.1}, {"acc": 0.9, "size": 9}),  # over the size threshold: never the best
        Observation({"lr": 0.1}, {"acc": 0.6, "size": 4}),
    ]
    found = history(defn, observations)
    assert (found["metric"], found["objective"]) == ("acc", "maximize")
    assert (found["best_x"], found["best"]) == ([1, 3], [0.5, 0.6])
    assert found["value"] == [0.5, 0.9, 0.6]


def test_history_refuses_no_points() -> None:
    with pytest.raises(ValueError, match="points"):
        history(definition(), [], points=0)


# --- Pareto front


values = st.one_of(st.integers(0, 5).map(float), st.sampled_from([math.nan, math.inf, -math.inf]))


def pairwise_front(defn: ExperimentDefinition, observations: list[Observation]) -> list[Observation]:
    """The front by the definition, pairwise: what the sort-and-sweep replaced (quadratic)."""
    from sigopt_ai._best import _key, meets_thresholds

    metrics = defn.optimized_metrics
    valid = [
        o
        for o in observations
        if not o.failed
        and meets_thresholds(defn, o.values)
        and all(o.values[m.name] == o.values[m.name] for m in metrics)
    ]
    keyed = [(tuple(_key(m, o.values[m.name]) for m in metrics), o) for o in valid]
    front = [
        o
        for k, o in keyed
        if not any(all(a <= b for a, b in zip(other, k, strict=True)) and other != k for other, _ in keyed)
    ]
    return sorted(front, key=lambda o: _key(metrics[0], o.values[metrics[0].name]))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(values, values, st.booleans()), max_size=40),
    st.sampled_from(["maximize", "minimize"]),
    st.sampled_from(["maximize", "minimize"]),
    st.one_of(st.none(), st.integers(0, 5)),
)
def test_the_pareto_front_is_the_best_assignments_rule(
    rows: list[tuple[float, float, bool]], first: str, second: str, threshold: int | None
) -> None:
    defn = definition(
        metrics=[
            {"name": "a", "objective": first, "threshold": threshold},
            {"name": "b", "objective": second},
        ]
    )
    observations = [
        Observation({"lr": 0.1}, failed=True) if failed else Observation({"lr": 0.1}, {"a": a, "b": b})
        for a, b, failed in rows
    ]
    front = pareto_front(defn, observations)
    assert front is not None
    assert [observations[i] for i in front] == pairwise_front(defn, observations)
    assert best_observations(defn, observations) == pairwise_front(defn, observations)


def test_one_metric_has_no_pareto_front() -> None:
    assert pareto_front(definition(), [obs(0.5)]) is None


# --- separating pair


def test_the_separating_pair_is_the_plane_where_failures_live() -> None:
    import random

    rng = random.Random(0)
    observations = []
    for _ in range(200):
        a = {"lr": 10 ** rng.uniform(-5, 0), "width": rng.randint(1, 100), "depth": rng.randint(1, 8)}
        fails = a["width"] * a["depth"] > 300  # memory: width and depth together
        observations.append(obs(None if fails else rng.random(), kind="oom", **a))
    assert separating_pair(definition(), observations) == ["width", "depth"]


def test_no_separating_pair_without_a_failure_or_two_numeric_parameters() -> None:
    assert separating_pair(definition(), [obs(0.5), obs(0.6)]) is None
    assert separating_pair(definition(), [obs(None), obs(None)]) is None
    one = definition(parameters=[PARAMETERS[0], PARAMETERS[3]])
    assert separating_pair(one, [obs(0.5), obs(None)]) is None


# --- the analysis object and experiment rows


def test_the_analysis_keeps_every_best_step_and_the_front_when_sampling() -> None:
    defn = definition(metrics=[{"name": "a"}, {"name": "b"}])
    observations = [
        Observation({"lr": 0.1, "width": i % 100 + 1}, {"a": float(i), "b": float(-i)}) for i in range(500)
    ] + [obs(None, kind="diverged") for _ in range(100)]
    found = experiment_analysis("7", defn, observations, points_limit=50)
    assert found["count"] == 600 and found["sampled"] is True
    indices = {p["index"] for p in found["points"]}
    assert set(found["pareto"]["front"]) <= indices  # the front alone is 500: spread to the limit
    assert len(found["pareto"]["front"]) == 50
    assert len(found["points"]) == 50
    assert found["best_assignments"][0]["object"] == "best_assignments"
    assert found["pareto"]["metrics"] == ["a", "b"]


def test_non_finite_values_go_out_as_none() -> None:
    observations = [Observation({"lr": math.inf, "width": 2}, {"acc": math.nan}), obs(0.5)]
    found = experiment_analysis("7", definition(), observations)
    assert found["points"][0]["values"] == {"acc": None}
    assert found["points"][0]["assignments"]["lr"] is None
    assert found["points"][0]["assignments"]["width"] == 2 and isinstance(
        found["points"][0]["assignments"]["width"], int
    )
    assert found["history"]["value"] == [None, 0.5]


def _record(state: ExperimentState = ExperimentState.ACTIVE, budget: int | None = 10) -> ExperimentRecord:
    return ExperimentRecord(
        id="3",
        project="c1.p",
        name="n",
        definition=definition(budget=budget).to_json(),
        state=state,
        seed=0,
        lease_timeout=60,
        created=1.0,
    )


@pytest.mark.parametrize(
    ("state", "budget", "finished", "done"),
    [
        (ExperimentState.ACTIVE, 10, 9, False),
        (ExperimentState.ACTIVE, 10, 10, True),
        (ExperimentState.DELETED, 10, 0, True),
        (ExperimentState.ACTIVE, None, 99, False),
    ],
)
def test_an_experiment_row_is_done_once_its_budget_is_spent_or_it_is_archived(
    state: ExperimentState, budget: int | None, finished: int, done: bool
) -> None:
    progress = Progress(budget, finished, 2, 1, None, {"oom": 2})
    row = experiment_row(_record(state, budget), progress, [obs(0.75)], project="p")
    assert row["done"] is done
    assert (row["failed"], row["failed_by_kind"], row["active_run_count"]) == (2, {"oom": 2}, 1)
    assert (row["best_value"], row["metric"], row["project"]) == (0.75, {"name": "acc", "objective": "maximize"}, "p")


# --- experiment.yml


DEFINITIONS: list[dict[str, Any]] = [
    {"name": "plain", "parameters": PARAMETERS, "metrics": [{"name": "acc"}], "budget": 30},
    {
        "name": "everything",
        "type": "offline",
        "parameters": [
            {"name": "x", "type": "double", "bounds": {"min": -1.5, "max": 2.25e-3}, "default_value": 0.0},
            {"name": "y", "type": "double", "bounds": {"min": 0, "max": 1}, "prior": {"name": "beta", "shape_a": 2, "shape_b": 3}},
            {"name": "z", "type": "double", "bounds": {"min": 1, "max": 9}, "prior": {"name": "normal", "mean": 4, "scale": 1}},
            {"name": "g", "type": "double", "grid": [0.1, 0.5, 0.9]},
            {"name": "k", "type": "int", "bounds": {"min": 1, "max": 4}, "conditions": {"arch": ["deep"]}},
        ],
        "conditionals": [{"name": "arch", "values": ["deep", "shallow"]}],
        "linear_constraints": [
            {"type": "less_than", "threshold": 1.5, "terms": [{"name": "x", "weight": 1}, {"name": "y", "weight": 1}]}
        ],
        "metrics": [
            {"name": "loss", "objective": "minimize"},
            {"name": "size", "strategy": "constraint", "objective": "minimize", "threshold": 100},
            {"name": "time", "strategy": "store"},
        ],
        "budget": 50,
        "parallel_bandwidth": 4,
        "metadata": {"team": "ml", "version": 2, "note": "a: b # not a comment"},
    },
    {"name": "solutions", "parameters": PARAMETERS, "metrics": [{"name": "acc"}], "num_solutions": 3, "budget": 9},
    {"name": "grid", "type": "grid", "parameters": [{"name": "g", "type": "int", "grid": [1, 2, 4]}],
     "metrics": [{"name": "a"}, {"name": "b", "objective": "minimize"}]},
]  # fmt: skip


@pytest.mark.parametrize("body", DEFINITIONS, ids=[d["name"] for d in DEFINITIONS])
def test_experiment_yml_reads_back_as_the_same_definition(body: dict[str, Any], tmp_path: Path) -> None:
    defn = parse_experiment(body)
    file = tmp_path / "experiment.yml"
    file.write_text(experiment_yaml(defn), encoding="utf-8")
    assert load_experiment_file(file) == defn
    assert "object:" not in file.read_text(encoding="utf-8")  # no store bookkeeping


@settings(max_examples=50, deadline=None)
@given(
    low=st.floats(-1e12, 1e12, allow_nan=False),
    width=st.floats(1e-9, 1e12, allow_nan=False),
    name=st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=20),
)
def test_experiment_yml_round_trips_any_bounds_and_name(low: float, width: float, name: str) -> None:
    high = low + width
    if not high > low:
        return
    try:
        defn = parse_experiment(
            {"name": name, "parameters": [{"name": "x", "type": "double", "bounds": {"min": low, "max": high}}],
             "metrics": [{"name": "m"}]}
        )  # fmt: skip
    except ValidationError:
        return  # a name the parser refuses says nothing about the file
    import yaml

    from sigopt_ai.experiments._parse._yaml import _YamlLoader

    assert parse_experiment(yaml.load(experiment_yaml(defn), Loader=_YamlLoader)) == defn


# --- the failure map and the optimizer's P(success)


def _memory_runs(n: int) -> list[Observation]:
    """Wide and deep runs run out of memory; the rest succeed with a smooth value."""
    import random

    rng = random.Random(1)
    out = []
    for _ in range(n):
        lr, width, depth = 10 ** rng.uniform(-5, 0), rng.randint(1, 100), rng.randint(1, 8)
        value = None if width * depth > 250 else 1 - abs(math.log10(lr) + 2) / 5
        out.append(obs(value, kind="oom", lr=lr, width=width, depth=depth))
    return out


def test_the_failure_map_shows_low_p_success_where_runs_ran_out_of_memory() -> None:
    observations = _memory_runs(60)
    found = failure_map(definition(), observations, grid=10)
    assert (found["x"]["name"], found["y"]["name"]) == ("width", "depth")
    assert found["model"] == "bayesian"
    grid = found["success_probability"]["grid"]
    assert grid[0][0] > 0.7 > 0.3 > grid[-1][-1]  # small and shallow succeed, wide and deep fail
    best = max((o for o in observations if not o.failed), key=lambda o: o.values["acc"])
    assert found["success_probability"]["sliced_at"] == {"lr": best.assignments["lr"], "opt": "adam"}
    assert len(found["points"]) == 60
    assert {p["kind"] for p in found["points"] if p["failed"]} == {"oom"}


def test_a_random_search_or_no_failure_has_no_model() -> None:
    observations = _memory_runs(30)
    assert failure_map(definition(type="random"), observations)["model"] is None
    successes = [o for o in observations if not o.failed]
    found = failure_map(definition(), successes, x="lr", y="width")
    assert found["success_probability"] is None and found["model"] is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"x": "opt"}, "x"), ({"y": "nope"}, "y"), ({"x": "lr", "y": "lr"}, "y"), ({"grid": 1}, "grid")],
)
def test_a_bad_failure_map_argument_names_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=f"^{field}: "):
        failure_map(definition(), _memory_runs(10), **kwargs)


def test_one_numeric_parameter_has_no_plane() -> None:
    found = failure_map(definition(parameters=[PARAMETERS[0], PARAMETERS[3]]), [obs(0.5), obs(None)])
    assert found == {"x": None, "y": None, "points": [], "success_probability": None, "model": None}


def test_success_probability_fits_a_subset_of_many_observations_and_is_none_without_a_model() -> None:
    optimizer = BayesianOptimizer(definition(), seed=0)
    observations = _memory_runs(400)
    points = [{"width": 5, "depth": 1}, {"width": 100, "depth": 8}]
    found = optimizer.success_probability(observations, points, max_observations=60)
    assert found is not None and found.shape == (2,) and found[0] > found[1]
    assert optimizer.success_probability(observations[:3], points) is None  # still the initial design
    assert optimizer.success_probability([o for o in observations if not o.failed], points) is None
    with pytest.raises(ValueError, match="max_observations"):
        optimizer.success_probability(observations, points, max_observations=5)
