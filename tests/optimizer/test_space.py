from __future__ import annotations

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
from sigopt_ai.optimizer._space import INACTIVE, SearchSpace, row_keys


def _random_points(space: SearchSpace, n: int, seed: int = 0) -> np.ndarray:
    return space.round(np.random.default_rng(seed).random((n, space.dim)))


def test_dim_counts_one_hot_columns(mixed: ExperimentDefinition) -> None:
    # lr, batch, 3 opt, width, momentum, beta, a, b, 3 family
    assert SearchSpace(mixed).dim == 13
    assert SearchSpace(mixed).n_parameters == 9


def test_round_is_idempotent(mixed: ExperimentDefinition) -> None:
    space = SearchSpace(mixed)
    u = _random_points(space, 200)
    np.testing.assert_array_equal(space.round(u), u)


def test_encode_decode_round_trip(mixed: ExperimentDefinition) -> None:
    space = SearchSpace(mixed)
    for row in _random_points(space, 100):
        assignment = space.decode(row)
        np.testing.assert_allclose(space.encode(assignment), row, atol=1e-12)
        assert space.decode(space.encode(assignment)) == pytest.approx(assignment)


def test_decoded_types_and_membership(mixed: ExperimentDefinition) -> None:
    space = SearchSpace(mixed)
    for row in _random_points(space, 300):
        a = space.decode(row)
        assert isinstance(a["batch"], int) and 16 <= a["batch"] <= 1024
        assert isinstance(a["a"], int)
        assert a["width"] in (64, 128, 512) and isinstance(a["width"], int)
        assert a["opt"] in ("sgd", "adam", "rmsprop")
        assert isinstance(a["lr"], float) and 1e-5 <= a["lr"] <= 1e-1


def test_inactive_parameters_are_omitted_and_fixed(mixed: ExperimentDefinition) -> None:
    space = SearchSpace(mixed)
    u = _random_points(space, 300)
    for row in u:
        a = space.decode(row)
        assert ("momentum" in a) == (a["family"] == "sgd")
        assert ("beta" in a) == (a["family"] in ("adam", "lamb"))
    momentum_col = 6
    inactive = space.active(u)[:, 4] == 0
    assert np.all(u[inactive, momentum_col] == INACTIVE)


def test_int_rounding_gives_each_integer_an_equal_share() -> None:
    definition = ExperimentDefinition(
        name="ints", parameters=(Parameter("k", "int", Bounds(0, 3)),), metrics=(Metric("m"),)
    )
    space = SearchSpace(definition)
    values = [space.decode(r)["k"] for r in _random_points(space, 4000)]
    counts = np.bincount(np.asarray(values, dtype=int), minlength=4)
    assert counts.min() > 900


def test_linear_constraints_feasible_checks_decoded_values(mixed: ExperimentDefinition) -> None:
    space = SearchSpace(mixed)
    u = _random_points(space, 500)
    ok = space.feasible(u)
    assert 0 < ok.sum() < len(u)
    for row, flag in zip(u, ok, strict=True):
        a = space.decode(row)
        assert flag == all(c.is_satisfied(a) for c in mixed.linear_constraints)


def test_repair_makes_every_point_feasible(mixed: ExperimentDefinition) -> None:
    space = SearchSpace(mixed)
    u = _random_points(space, 200)
    fixed = space.repair(u, space.anchor())
    assert space.feasible(fixed).all()
    ok = space.feasible(u)
    np.testing.assert_array_equal(fixed[ok], u[ok])


def test_anchor_handles_integer_rounding() -> None:
    # 2a + 2b == 7 has no integer solution near the boundary; 2a + 2b <= 7 and >= 5 needs a + b == 3.
    definition = ExperimentDefinition(
        name="tight",
        parameters=(Parameter("a", "int", Bounds(0, 10)), Parameter("b", "int", Bounds(0, 10))),
        metrics=(Metric("m"),),
        linear_constraints=(
            LinearConstraint("less_than", 7.0, (ConstraintTerm("a", 2.0), ConstraintTerm("b", 2.0))),
            LinearConstraint("greater_than", 5.0, (ConstraintTerm("a", 2.0), ConstraintTerm("b", 2.0))),
        ),
    )
    space = SearchSpace(definition)
    a = space.decode(space.anchor())
    assert a["a"] + a["b"] == 3  # type: ignore[operator]


def test_infeasible_constraints_raise() -> None:
    definition = ExperimentDefinition(
        name="empty",
        parameters=(Parameter("a", "double", Bounds(0, 1)),),
        metrics=(Metric("m"),),
        linear_constraints=(LinearConstraint("greater_than", 2.0, (ConstraintTerm("a", 1.0),)),),
    )
    with pytest.raises(ValueError, match="No assignment"):
        SearchSpace(definition).anchor()


@pytest.mark.parametrize(
    ("value", "message"),
    [({"opt": "lbfgs"}, "is not a value of 'opt'"), ({"lr": "fast"}, "needs a number")],
)
def test_encode_rejects_bad_values(mixed: ExperimentDefinition, value: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SearchSpace(mixed).encode(value)


def test_shapes_are_validated(mixed: ExperimentDefinition) -> None:
    space = SearchSpace(mixed)
    with pytest.raises(ValueError, match=r"shape \(n, 13\)"):
        space.round(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"shape \(13,\)"):
        space.decode(np.zeros(4))
    with pytest.raises(ValueError, match="finite"):
        space.round(np.full((1, 13), np.nan))


def test_log_parameter_needs_positive_bounds() -> None:
    definition = ExperimentDefinition(
        name="bad",
        parameters=(Parameter("lr", "double", Bounds(0.0, 1.0), transformation="log"),),
        metrics=(Metric("m"),),
    )
    with pytest.raises(ValueError, match="positive bounds"):
        SearchSpace(definition)


def test_row_keys_identify_equal_assignments() -> None:
    u = np.array([[0.1, 0.2], [0.1, 0.2 + 1e-13], [0.3, 0.2]])
    keys = row_keys(u)
    assert keys[0] == keys[1] != keys[2]
