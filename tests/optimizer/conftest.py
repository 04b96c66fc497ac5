"""Experiment definitions shared by the optimizer tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sigopt_ai._definition import (
    Bounds,
    Conditional,
    ConstraintTerm,
    ExperimentDefinition,
    LinearConstraint,
    Metric,
    Parameter,
)


def mixed_definition(**kwargs: object) -> ExperimentDefinition:
    """Every parameter kind: log double, int, categorical, grid, conditional, linear constraint."""
    return ExperimentDefinition(
        name="mixed",
        parameters=(
            Parameter("lr", "double", Bounds(1e-5, 1e-1), transformation="log"),
            Parameter("batch", "int", Bounds(16, 1024)),
            Parameter("opt", "categorical", categorical_values=("sgd", "adam", "rmsprop")),
            Parameter("width", "int", grid=(512.0, 64.0, 128.0)),
            Parameter("momentum", "double", Bounds(0.0, 0.99), conditions={"family": ("sgd",)}),
            Parameter("beta", "double", Bounds(0.5, 0.999), conditions={"family": ("adam", "lamb")}),
            Parameter("a", "int", Bounds(0, 10)),
            Parameter("b", "double", Bounds(0.0, 10.0)),
        ),
        metrics=(Metric("accuracy"),),
        conditionals=(Conditional("family", ("sgd", "adam", "lamb")),),
        linear_constraints=(
            LinearConstraint("less_than", 7.5, (ConstraintTerm("a", 1.0), ConstraintTerm("b", 1.0))),
            LinearConstraint("greater_than", 2.0, (ConstraintTerm("a", 1.0), ConstraintTerm("b", -0.5))),
        ),
        **kwargs,  # type: ignore[arg-type]
    )


def box_definition(dim: int = 2, **kwargs: object) -> ExperimentDefinition:
    """``dim`` doubles in [0, 1], one maximized metric."""
    return ExperimentDefinition(
        name="box",
        parameters=tuple(Parameter(f"x{i}", "double", Bounds(0.0, 1.0)) for i in range(dim)),
        metrics=(Metric("f", objective="minimize"),),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def mixed() -> ExperimentDefinition:
    return mixed_definition()


@pytest.fixture
def make_mixed() -> Callable[..., ExperimentDefinition]:
    return mixed_definition


@pytest.fixture
def make_box() -> Callable[..., ExperimentDefinition]:
    return box_definition
