from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from sigopt_ai._definition import (
    Bounds,
    ConstraintTerm,
    ExperimentDefinition,
    LinearConstraint,
    Metric,
    Parameter,
)
from sigopt_ai._types import ParamValue
from sigopt_ai.optimizer import Observation, SobolStrategy, make_strategy


def _suggestions(definition: ExperimentDefinition, n: int, seed: int = 0) -> list[dict[str, ParamValue]]:
    strategy = SobolStrategy(definition, seed=seed)
    return [strategy.suggest([], [], index=i) for i in range(n)]


def test_every_assignment_is_valid(mixed: ExperimentDefinition) -> None:
    for a in _suggestions(mixed, 200):
        assert isinstance(a["lr"], float) and 1e-5 <= a["lr"] <= 1e-1
        assert isinstance(a["batch"], int) and 16 <= a["batch"] <= 1024
        assert a["opt"] in ("sgd", "adam", "rmsprop")
        assert a["width"] in (64, 128, 512)
        assert a["family"] in ("sgd", "adam", "lamb")
        assert ("momentum" in a) == (a["family"] == "sgd")
        assert ("beta" in a) == (a["family"] != "sgd")
        if "momentum" in a:
            assert 0.0 <= a["momentum"] <= 0.99  # type: ignore[operator]
        assert all(c.is_satisfied(a) for c in mixed.linear_constraints)


def test_log_scale_is_uniform_in_log_space(mixed: ExperimentDefinition) -> None:
    lrs = np.array([a["lr"] for a in _suggestions(mixed, 256)])
    below_geometric_midpoint = np.mean(lrs < math.sqrt(1e-5 * 1e-1))
    assert below_geometric_midpoint == pytest.approx(0.5, abs=0.08)
    decades = np.histogram(np.log10(lrs), bins=4, range=(-5, -1))[0]
    assert decades.min() > 40


def test_categories_and_grid_values_all_appear(mixed: ExperimentDefinition) -> None:
    suggestions = _suggestions(mixed, 64)
    assert {a["opt"] for a in suggestions} == {"sgd", "adam", "rmsprop"}
    assert {a["width"] for a in suggestions} == {64, 128, 512}
    assert {a["family"] for a in suggestions} == {"sgd", "adam", "lamb"}


def test_same_seed_and_index_agree_across_strategies(mixed: ExperimentDefinition) -> None:
    first, second = SobolStrategy(mixed, seed=5), SobolStrategy(mixed, seed=5)
    for i in (0, 1, 7, 100, 33):  # out of order: separate processes see arbitrary indices
        assert first.suggest([], [], index=i) == second.suggest([], [], index=i)


def test_index_is_the_kth_valid_point_without_constraints(
    make_box: Callable[..., ExperimentDefinition],
) -> None:
    strategy = SobolStrategy(make_box(3), seed=2)
    late = strategy.suggest([], [], index=1000)
    assert SobolStrategy(make_box(3), seed=2).suggest([], [], index=1000) == late
    assert strategy.suggest([], [], index=999) != late


def test_different_seeds_differ(mixed: ExperimentDefinition) -> None:
    assert _suggestions(mixed, 5, seed=0) != _suggestions(mixed, 5, seed=1)


def test_suggestions_do_not_repeat(mixed: ExperimentDefinition) -> None:
    suggestions = _suggestions(mixed, 100)
    assert len({tuple(sorted(a.items())) for a in suggestions}) == 100


def test_pending_assignment_is_never_repeated() -> None:
    definition = ExperimentDefinition(
        name="tiny", parameters=(Parameter("k", "int", Bounds(0, 2)),), metrics=(Metric("m"),)
    )
    strategy = SobolStrategy(definition, seed=0)
    first = strategy.suggest([], [], index=0)
    second = strategy.suggest([], [first], index=0)
    assert second != first
    third = strategy.suggest([Observation(first, {"m": 1.0})], [second], index=2)
    assert third not in (first, second)
    # The space is exhausted: an observed value may come back, a pending one may not.
    fourth = strategy.suggest([Observation(first, {"m": 1.0}), Observation(third, {"m": 1.0})], [second], index=3)
    assert fourth != second


def test_negative_index_is_rejected(mixed: ExperimentDefinition) -> None:
    with pytest.raises(ValueError, match="index must be >= 0"):
        SobolStrategy(mixed).suggest([], [], index=-1)


@pytest.mark.parametrize("kind", ["random", "grid", "offline"])
def test_make_strategy_returns_a_working_strategy(make_box: Callable[..., ExperimentDefinition], kind: str) -> None:
    strategy = make_strategy(make_box(2, type=kind), seed=1)
    a = strategy.suggest([], [], index=0)
    assert set(a) == {"x0", "x1"}


def test_make_strategy_random_is_sobol(make_box: Callable[..., ExperimentDefinition]) -> None:
    assert isinstance(make_strategy(make_box(2, type="random")), SobolStrategy)


def test_seed_may_be_a_generator(make_box: Callable[..., ExperimentDefinition]) -> None:
    first = SobolStrategy(make_box(2), seed=np.random.default_rng(3))
    second = SobolStrategy(make_box(2), seed=np.random.default_rng(3))
    assert first.seed == second.seed
    with pytest.raises(ValueError, match="non-negative"):
        SobolStrategy(make_box(2), seed=-1)


def test_a_tiny_feasible_region_still_gives_distinct_feasible_points() -> None:
    definition = ExperimentDefinition(
        name="tiny",
        parameters=(Parameter("a", "double", Bounds(0.0, 1.0)), Parameter("b", "double", Bounds(0.0, 1.0))),
        metrics=(Metric("m"),),
        linear_constraints=(LinearConstraint("less_than", 1e-3, (ConstraintTerm("a", 1.0), ConstraintTerm("b", 1.0))),),
    )
    suggestions = _suggestions(definition, 20)
    assert all(definition.linear_constraints[0].is_satisfied(a) for a in suggestions)
    assert len({(a["a"], a["b"]) for a in suggestions}) == 20
