"""Tests of ``sigopt_ai.experiments._parse``: every experiment rule with its exact message, and the round trip."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest

from sigopt_ai._definition import (
    Bounds,
    Conditional,
    ConstraintTerm,
    ExperimentDefinition,
    LinearConstraint,
    Metric,
    Parameter,
    Prior,
)
from sigopt_ai._exceptions import ValidationError
from sigopt_ai.experiments._parse import load_experiment_file, parse_experiment


@pytest.fixture
def store() -> None:
    """Replaces the root conftest's autouse SQLite store: validation never touches a store."""


X = {"name": "x", "type": "double", "bounds": {"min": 0, "max": 1}}
Y = {"name": "y", "type": "double", "bounds": {"min": 0, "max": 1}}
INT1 = {"name": "i", "type": "int", "bounds": {"min": 0, "max": 10}}
INT2 = {"name": "j", "type": "int", "bounds": {"min": 0, "max": 10}}
C = {"name": "c", "type": "categorical", "categorical_values": ["a", "b"]}
ARCH = {"name": "arch", "values": ["cnn", "mlp"]}


def body(**fields: Any) -> dict[str, Any]:
    """A valid minimal experiment with ``fields`` replaced (``None`` deletes a field)."""
    data: dict[str, Any] = {"name": "exp", "parameters": [X], "metrics": [{"name": "acc"}]}
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def param(base: dict[str, Any] = X, **fields: Any) -> dict[str, Any]:
    data = {**base, **fields}
    return {key: value for key, value in data.items() if value is not None}


def with_param(**fields: Any) -> dict[str, Any]:
    return body(parameters=[param(**fields)])


def metrics(*items: Any, **fields: Any) -> dict[str, Any]:
    return body(metrics=list(items), **fields)


def constraint(*terms: tuple[str, float], type: str = "less_than", threshold: float = 1.0) -> dict[str, Any]:
    return {"type": type, "threshold": threshold, "terms": [{"name": n, "weight": w} for n, w in terms]}


def constrained(params: list[dict[str, Any]], *constraints: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return body(parameters=params, linear_constraints=list(constraints), **fields)


def conditional(params: list[dict[str, Any]], conditionals: Any = None, **fields: Any) -> dict[str, Any]:
    return body(parameters=params, conditionals=[ARCH] if conditionals is None else conditionals, **fields)


def cnn(base: dict[str, Any] = X, arch: Any = "cnn") -> dict[str, Any]:
    return param(base, conditions={"arch": arch})


ALL_KEYS = (
    "['budget', 'conditionals', 'linear_constraints', 'metadata', 'metrics', 'name', 'num_solutions', "
    "'observation_budget', 'parallel_bandwidth', 'parameters', 'type']"
)
PARAM_KEYS = (
    "['bounds', 'categorical_values', 'conditions', 'default_value', 'grid', 'name', 'prior', 'transformation', 'type']"
)
LONG = repr("n" * 101)
TWO_OPT = [{"name": "a"}, {"name": "b", "objective": "minimize"}]

INVALID = [
    # ----------------------------------------------------------------- top level
    (
        [X],
        "experiment: expected a mapping, got list ([{'name': 'x', 'type': 'double', 'bounds': {'min': 0, 'max': 1}}]).",
    ),
    (body(foo=1), f"experiment: unknown field 'foo'. Valid fields are {ALL_KEYS}."),
    (
        body(project="p"),
        "project: the project is not part of the experiment definition. Pass it separately (the project "
        "argument or the SIGOPT_PROJECT environment variable).",
    ),
    (body(tasks=[{"name": "t", "cost": 1}]), "tasks: multitask experiments are not supported."),
    (body(name=None), "name: this field is required."),
    (body(name=12), "name: expected a string, got int (12)."),
    (body(name=""), "name: must be 1 to 100 characters long, got 0 ('')."),
    (body(name="n" * 101), f"name: must be 1 to 100 characters long, got 101 ({LONG[:77]}...)."),
    (
        body(type="bayes"),
        "type: 'bayes' is not a valid experiment type. It must be one of ['grid', 'offline', 'random'].",
    ),
    # ----------------------------------------------------------------- budget & counts
    (body(budget=0), "budget: must be greater than or equal to 1, got 0."),
    (body(budget=True), "budget: expected an integer, got bool (True)."),
    (body(budget=2.5), "budget: expected an integer, got float (2.5)."),
    (body(budget=math.inf), "budget: expected an integer, got float (inf)."),
    (body(budget="10"), "budget: expected an integer, got str ('10')."),
    (body(observation_budget=-3), "observation_budget: must be greater than or equal to 1, got -3."),
    (
        body(budget=10, observation_budget=10),
        "observation_budget: this is an alias of budget, so give only one of the two.",
    ),
    (body(parallel_bandwidth=0), "parallel_bandwidth: must be greater than or equal to 1, got 0."),
    (body(parallel_bandwidth=1.5), "parallel_bandwidth: expected an integer, got float (1.5)."),
    (body(num_solutions=0), "num_solutions: must be greater than or equal to 1, got 0."),
    (body(num_solutions=False), "num_solutions: expected an integer, got bool (False)."),
    # ----------------------------------------------------------------- parameters: structure
    (body(parameters=None), "parameters: this field is required."),
    (body(parameters=[]), "parameters: at least one parameter is required, got an empty list."),
    (
        body(parameters={"x": X}),
        "parameters: expected a list, got dict ({'x': {'name': 'x', 'type': 'double', 'bounds': "
        "{'min': 0, 'max': 1}}}).",
    ),
    (body(parameters=["x"]), "parameters[0]: expected a mapping, got str ('x')."),
    (with_param(bound={"min": 0}), f"parameters[0]: unknown field 'bound'. Valid fields are {PARAM_KEYS}."),
    (with_param(name=None), "parameters[0].name: this field is required."),
    (
        with_param(name="n" * 101),
        f"parameters[0].name: must be 1 to 100 characters long, got 101 ({LONG[:77]}...).",
    ),
    (with_param(type=None), "parameters[0].type: this field is required."),
    (
        with_param(type="float"),
        "parameters[0].type: 'float' is not a valid parameter type. It must be one of "
        "['categorical', 'double', 'int'].",
    ),
    (
        body(parameters=[X, Y, param(name="x")]),
        "parameters[2].name: No duplicate parameters are allowed: 'x' is also the name of parameters[0].",
    ),
    # ----------------------------------------------------------------- bounds
    (with_param(bounds=None), "parameters[0].bounds: parameter x must have bounds (or a grid)."),
    (with_param(bounds=[0, 1]), "parameters[0].bounds: expected a mapping, got list ([0, 1])."),
    (with_param(bounds={"min": 0}), "parameters[0].bounds.max: this field is required."),
    (
        with_param(bounds={"min": 0, "max": 1, "step": 1}),
        "parameters[0].bounds: unknown field 'step'. Valid fields are ['max', 'min'].",
    ),
    (
        body(parameters=[X, Y, param(bounds={"min": 5, "max": 1})]),
        "parameters[2].bounds: min (5) must be less than max (1).",
    ),
    (with_param(bounds={"min": 1, "max": 1}), "parameters[0].bounds: min (1) must be less than max (1)."),
    (
        body(parameters=[param(INT1, bounds={"min": 1.5, "max": 3})]),
        "parameters[0].bounds.min: Parameter bound 1.5 is not from the same type as parameter i (int).",
    ),
    (
        with_param(bounds={"min": "0", "max": 1}),
        "parameters[0].bounds.min: Parameter bound '0' is not from the same type as parameter x (double).",
    ),
    (
        with_param(bounds={"min": 0, "max": math.inf}),
        "parameters[0].bounds.max: expected a finite number, got inf.",
    ),
    (
        with_param(bounds={"min": True, "max": 2}),
        "parameters[0].bounds.min: Parameter bound True is not from the same type as parameter x (double).",
    ),
    # ----------------------------------------------------------------- categorical
    (
        body(parameters=[param(C, categorical_values=None)]),
        "parameters[0].categorical_values: categorical parameter c needs categorical_values.",
    ),
    (
        body(parameters=[param(C, categorical_values=["a"])]),
        "parameters[0].categorical_values: Categorical parameter c must have more than one categorical "
        "value, got ['a'].",
    ),
    (
        body(parameters=[param(C, categorical_values=["a", {"name": "a"}])]),
        "parameters[0].categorical_values[1]: Categorical parameter c lists the value 'a' twice.",
    ),
    (
        body(parameters=[param(C, categorical_values=["a", 3])]),
        "parameters[0].categorical_values[1]: expected a string, got int (3).",
    ),
    (
        body(parameters=[param(C, categorical_values=["a", "v" * 51])]),
        f"parameters[0].categorical_values[1]: must be 1 to 50 characters long, got 51 ({'v' * 51!r}).",
    ),
    (
        body(parameters=[param(C, categorical_values=["a", {"label": "b"}])]),
        "parameters[0].categorical_values[1]: unknown field 'label'. Valid fields are ['enum_index', 'name'].",
    ),
    (
        body(parameters=[param(C, bounds={"min": 0, "max": 1})]),
        "parameters[0].bounds: Categorical parameter should not have bounds, got {'min': 0, 'max': 1} on "
        "categorical parameter c.",
    ),
    (
        body(parameters=[param(C, grid=[1, 2])]),
        "parameters[0].grid: Categorical parameter does not support grid values, got [1, 2] on categorical "
        "parameter c.",
    ),
    (
        body(parameters=[param(C, prior={"name": "beta", "shape_a": 1, "shape_b": 1})]),
        "parameters[0].prior: Prior only applies to parameters type of double, got {'name': 'beta', "
        "'shape_a': 1, 'shape_b': 1} on categorical parameter c.",
    ),
    (
        body(parameters=[param(C, transformation="log")]),
        "parameters[0].transformation: log-transformation only applies to parameters type of double, not categorical.",
    ),
    (
        with_param(categorical_values=["a", "b"]),
        "parameters[0].categorical_values: numerical parameter x cannot have categorical_values.",
    ),
    # ----------------------------------------------------------------- grid
    (
        with_param(bounds=None, grid=[0.5]),
        "parameters[0].grid: Grid parameter x must have more than one value, got [0.5].",
    ),
    (
        with_param(bounds=None, grid=[]),
        "parameters[0].grid: Grid parameter x must have more than one value, got [].",
    ),
    (
        with_param(bounds=None, grid=[0.5, 0.5, 1]),
        "parameters[0].grid: Grid values should be unique, got [0.5, 0.5, 1.0].",
    ),
    (
        with_param(grid=[0.1, 0.2]),
        "parameters[0].bounds: Grid parameter should not have bounds (got {'min': 0, 'max': 1}); the grid "
        "of x sets its range.",
    ),
    (
        body(parameters=[param(INT1, bounds=None, grid=[1, 2.5])]),
        "parameters[0].grid[1]: Grid value 2.5 is not from the same type as parameter i (int).",
    ),
    (with_param(bounds=None, grid="0.1,0.2"), "parameters[0].grid: expected a list, got str ('0.1,0.2')."),
    # ----------------------------------------------------------------- log transformation
    (
        with_param(transformation="exp"),
        "parameters[0].transformation: 'exp' is not a valid transformation. It must be one of ['log', 'none'].",
    ),
    (
        body(parameters=[param(INT1, transformation="log", bounds={"min": 1, "max": 10})]),
        "parameters[0].transformation: log-transformation only applies to parameters type of double, not int.",
    ),
    (
        with_param(transformation="log"),
        "parameters[0].bounds: Invalid bounds for log-transformation: bounds must be positive, got min 0.",
    ),
    (
        with_param(transformation="log", bounds=None, grid=[-1, 1, 10]),
        "parameters[0].grid: Invalid grid values for log-transformation: values must be positive, got -1.",
    ),
    # ----------------------------------------------------------------- priors
    (
        body(parameters=[param(INT1, prior={"name": "normal", "mean": 5, "scale": 1})]),
        "parameters[0].prior: Prior only applies to parameters type of double, not int.",
    ),
    (
        with_param(bounds=None, grid=[0.1, 0.2], prior={"name": "normal", "mean": 0.1, "scale": 1}),
        "parameters[0].prior: Grid parameters cannot have priors.",
    ),
    (
        with_param(
            bounds={"min": 1, "max": 2},
            transformation="log",
            prior={"name": "normal", "mean": 1.5, "scale": 1},
        ),
        "parameters[0].prior: Parameters with log transformation cannot have priors.",
    ),
    (with_param(prior={"mean": 0.5, "scale": 1}), "parameters[0].prior.name: this field is required."),
    (
        with_param(prior={"name": "uniform"}),
        "parameters[0].prior.name: 'uniform' is not a valid prior. It must be one of ['beta', 'normal'].",
    ),
    (
        with_param(prior={"name": "normal", "mean": 2, "scale": 1}),
        "parameters[0].prior.mean: the mean (2) must be within the bounds [0, 1] of the parameter.",
    ),
    (
        with_param(prior={"name": "normal", "mean": 0.5, "scale": 0}),
        "parameters[0].prior.scale: the scale must be positive, got 0.",
    ),
    (with_param(prior={"name": "normal", "mean": 0.5}), "parameters[0].prior.scale: this field is required."),
    (
        with_param(prior={"name": "normal", "mean": 0.5, "scale": 1, "shape_a": 2}),
        "parameters[0].prior: unknown field 'shape_a'. Valid fields are ['mean', 'name', 'scale'].",
    ),
    (
        with_param(prior={"name": "beta", "shape_a": 0, "shape_b": 1}),
        "parameters[0].prior.shape_a: shape parameters for beta must be positive, got 0.",
    ),
    (
        with_param(prior={"name": "beta", "shape_a": 1, "shape_b": -2}),
        "parameters[0].prior.shape_b: shape parameters for beta must be positive, got -2.",
    ),
    (
        with_param(prior={"name": "beta", "shape_a": 1, "shape_b": "2"}),
        "parameters[0].prior.shape_b: expected a number, got str ('2').",
    ),
    # ----------------------------------------------------------------- default_value
    (
        with_param(default_value=2),
        "parameters[0].default_value: the default value 2 is outside the bounds [0, 1] of parameter x.",
    ),
    (
        body(parameters=[param(INT1, default_value=2.5)]),
        "parameters[0].default_value: Default value 2.5 is not from the same type as parameter i (int).",
    ),
    (
        with_param(bounds=None, grid=[0.1, 0.2], default_value=0.3),
        "parameters[0].default_value: Grid parameter x must have one of following grid values: [0.1, 0.2] "
        "instead of 0.3.",
    ),
    (
        body(parameters=[param(C, default_value="z")]),
        "parameters[0].default_value: Categorical parameter c must have one of following categories: "
        "['a', 'b'] instead of 'z'.",
    ),
    # ----------------------------------------------------------------- conditionals
    (
        body(parameters=[cnn()]),
        "parameters[0].conditions: For conditional experiment, need both conditions defined in parameters "
        "and conditionals variables defined in experiment; the experiment has no conditionals.",
    ),
    (
        conditional([X]),
        "conditionals: For conditional experiment, need both conditions defined in parameters and "
        "conditionals variables defined in experiment; no parameter has conditions.",
    ),
    (
        conditional([X, param(Y, conditions={"depth": ["deep"]})]),
        "parameters[1].conditions: The parameter y has conditions ['depth'] that are not part of the "
        "conditionals ['arch'].",
    ),
    (
        conditional([X, cnn(Y, arch=["rnn"])]),
        "parameters[1].conditions.arch: 'rnn' is not a value of conditional arch. Valid values are ['cnn', 'mlp'].",
    ),
    (
        conditional([X, cnn(Y, arch=[])]),
        "parameters[1].conditions.arch: a condition must list at least one value of conditional arch, got none.",
    ),
    (
        conditional([X, cnn(Y, arch=["cnn", "cnn"])]),
        "parameters[1].conditions.arch: the value 'cnn' is listed twice.",
    ),
    (
        conditional([X, cnn(Y)], [{"name": "arch", "values": ["cnn"]}]),
        "conditionals[0].values: Conditional arch must have at least two values, got ['cnn'].",
    ),
    (
        conditional([X, cnn(Y)], [ARCH, ARCH]),
        "conditionals[1].name: No duplicate conditionals are allowed: 'arch' is also the name of conditionals[0].",
    ),
    (
        conditional([X, cnn(Y)], [{"name": "arch"}]),
        "conditionals[0].values: this field is required.",
    ),
    (
        conditional([X, cnn(Y)], [{**ARCH, "default": "cnn"}]),
        "conditionals[0]: unknown field 'default'. Valid fields are ['name', 'values'].",
    ),
    (
        conditional([X, cnn(Y)], {"arch": ["cnn"]}),
        "conditionals: expected a list, got dict ({'arch': ['cnn']}).",
    ),
    (
        conditional([cnn(X), param(Y, name="arch")]),
        "parameters[1].name: cannot have a parameter and a conditional both named 'arch'.",
    ),
    (
        conditional([cnn(X), cnn(Y)]),
        "conditionals: Need at least one parameter that satisfies each conditional value; no parameter is "
        "active when the conditionals are {'arch': 'mlp'}.",
    ),
    (
        conditional([X, cnn(Y)], num_solutions=2, budget=10),
        "num_solutions: An experiment with multiple solutions does not support conditional parameters.",
    ),
    (
        conditional([X, cnn(Y)], metrics=[{"name": "m", "strategy": "constraint", "threshold": 1}], budget=10),
        "conditionals: All-Constraint experiment does not support conditional parameters.",
    ),
    # ----------------------------------------------------------------- metrics
    (body(metrics=None), "metrics: this field is required."),
    (body(metrics=[]), "metrics: at least one metric is required, got an empty list."),
    (
        body(metrics=[{"name": f"m{i}", "strategy": "store"} for i in range(51)]),
        "metrics: an experiment can have at most 50 metrics, got 51.",
    ),
    (metrics(3), "metrics[0]: expected a mapping, got int (3)."),
    (metrics({"objective": "maximize"}), "metrics[0].name: this field is required."),
    (
        metrics("acc", "acc", budget=5),
        "metrics[1].name: No duplicate metrics are allowed: 'acc' is also the name of metrics[0].",
    ),
    (
        metrics({"name": "acc", "goal": "max"}),
        "metrics[0]: unknown field 'goal'. Valid fields are ['name', 'objective', 'strategy', 'threshold'].",
    ),
    (
        metrics({"name": "acc", "objective": "max"}),
        "metrics[0].objective: 'max' is not a valid objective. It must be one of ['maximize', 'minimize'].",
    ),
    (
        metrics({"name": "acc", "strategy": "optimise"}),
        "metrics[0].strategy: 'optimise' is not a valid strategy. It must be one of "
        "['constraint', 'optimize', 'store'].",
    ),
    (
        metrics("acc", {"name": "lat", "strategy": "constraint"}),
        "metrics[1].threshold: Constraint metrics must have the threshold field defined.",
    ),
    (
        metrics("acc", {"name": "loss", "strategy": "store", "threshold": 1}),
        "metrics[1].threshold: Thresholds cannot be specified on stored metrics, got 1.",
    ),
    (
        metrics({"name": "acc", "threshold": 0.9}),
        "metrics[0].threshold: Thresholds are only supported for experiments with more than one optimized "
        "metric. Try an All-Constraint experiment instead by setting `strategy` to `constraint`.",
    ),
    (
        metrics({"name": "acc", "threshold": "high"}),
        "metrics[0].threshold: expected a number, got str ('high').",
    ),
    (
        metrics({"name": "a", "strategy": "store"}, {"name": "b", "strategy": "store"}),
        "metrics: An experiment must have optimized or constraint metrics; all 2 are stored.",
    ),
    (
        metrics("a", "b", "c", budget=10),
        "metrics: An experiment must have one or two optimized metrics, got 3: ['a', 'b', 'c'].",
    ),
    (
        metrics(*({"name": f"c{i}", "strategy": "constraint", "threshold": 0} for i in range(5)), budget=10),
        "metrics: An experiment can have at most 4 constraint metrics, got 5: ['c0', 'c1', 'c2', 'c3', 'c4'].",
    ),
    (
        metrics(*TWO_OPT),
        "budget: budget is required for an experiment with more than one optimized metric.",
    ),
    (
        metrics("a", {"name": "b", "strategy": "constraint", "threshold": 1}),
        "budget: budget is required for an experiment with constraint metrics.",
    ),
    (body(num_solutions=3), "budget: budget is required for an experiment with more than one solution."),
    # ----------------------------------------------------------------- num_solutions
    (
        metrics(*TWO_OPT, num_solutions=2, budget=10),
        "num_solutions: An experiment with multiple solutions requires exactly one optimized metric, got 2.",
    ),
    (
        body(num_solutions=5, budget=3),
        "num_solutions: The budget needs to be larger than the number of solutions, got 5 solutions and a budget of 3.",
    ),
    # ----------------------------------------------------------------- grid experiments
    (
        body(type="grid", parameters=[X]),
        "parameters[0].grid: a grid experiment needs grid values on every double and int parameter, and x has none.",
    ),
    (
        body(type="grid", parameters=[param(bounds=None, grid=[1, 2, 3]), C], budget=5),
        "budget: The specified budget of 5 does not match the computed budget of 6 grid points.",
    ),
    (
        conditional([param(bounds=None, grid=[1, 2]), cnn(param(Y, bounds=None, grid=[1, 2]))], type="grid"),
        "type: Grid search experiments do not support conditional parameters.",
    ),
    # ----------------------------------------------------------------- metadata
    (body(metadata=[1]), "metadata: expected a mapping, got list ([1])."),
    (
        body(metadata={f"k{i}": i for i in range(101)}),
        "metadata: at most 100 keys are allowed, got 101.",
    ),
    (body(metadata={1: "a"}), "metadata: keys must be strings, got int (1)."),
    (
        body(metadata={"k" * 101: 1}),
        "metadata: The length of the metadata key 'kkkkkkkkkk...kkkkkkkkkk' must be at most 100 characters, got 101.",
    ),
    (
        body(metadata={"note": "n" * 501}),
        "metadata['note']: strings must be at most 500 characters, got 501.",
    ),
    (
        body(metadata={"tags": ["a"]}),
        "metadata['tags']: expected a string, number, boolean or null, got list (['a']).",
    ),
    (body(metadata={"loss": math.nan}), "metadata['loss']: expected a finite number, got nan."),
    # ----------------------------------------------------------------- linear constraints
    (
        constrained([X, Y], {"type": "less_than", "terms": []}),
        "linear_constraints[0].threshold: this field is required.",
    ),
    (
        constrained([X, Y], constraint(("x", 1), ("y", 1), type="strictly_less_than")),
        "linear_constraints[0].type: 'strictly_less_than' is not one of the allowed values: greater_than, less_than.",
    ),
    (
        constrained([X, Y], {**constraint(("x", 1), ("y", 1)), "rhs": 1}),
        "linear_constraints[0]: unknown field 'rhs'. Valid fields are ['terms', 'threshold', 'type'].",
    ),
    (
        constrained([X, Y], constraint(("x", 1))),
        "linear_constraints[0].terms: Constraint must have more than one term, got 1.",
    ),
    (
        constrained([X, Y], constraint(("x", 1), ("p0", 1))),
        "linear_constraints[0].terms[1].name: Variable p0 is not a known parameter.",
    ),
    (
        constrained([X, Y, C], constraint(("x", 1), ("c", 1))),
        "linear_constraints[0].terms[1].name: Variable c is not a parameter of type `double` or type `int`.",
    ),
    (
        constrained([X, Y], constraint(("x", 1), ("x", 2))),
        "linear_constraints[0].terms[1].name: Duplicate constrained variable name: x.",
    ),
    (
        constrained([X, Y, INT1], constraint(("x", 1), ("i", 1))),
        "linear_constraints[0].terms: Constraint functions cannot mix integers and doubles. One or the other only.",
    ),
    (
        constrained([X, param(Y, bounds=None, grid=[0.1, 0.2])], constraint(("x", 1), ("y", 1))),
        "linear_constraints[0].terms[1].name: Constraint cannot be defined on a grid parameter y.",
    ),
    (
        constrained([X, param(Y, bounds={"min": 1, "max": 2}, transformation="log")], constraint(("x", 1), ("y", 1))),
        "linear_constraints[0].terms[1].name: Constraint cannot be defined on a log-transformed parameter y.",
    ),
    (
        conditional([X, cnn(Y)], linear_constraints=[constraint(("x", 1), ("y", 1))]),
        "linear_constraints[0].terms[1].name: Constraint cannot be defined on a conditioned parameter y.",
    ),
    (
        constrained([X, Y], {**constraint(("x", 1), ("y", 1)), "terms": [{"name": "x", "weight": "1"}]}),
        "linear_constraints[0].terms[0].weight: expected a number, got str ('1').",
    ),
    (
        constrained([X, Y], constraint(("x", 1), ("y", 1), type="greater_than", threshold=2.5)),
        "linear_constraints: Infeasible constraints: no point strictly inside the parameter bounds satisfies "
        "all of them.",
    ),
    (
        # A single corner (x = y = 1) is feasible but has no interior, as in sigoptlite.
        constrained([X, Y], constraint(("x", 1), ("y", 1), type="greater_than", threshold=2)),
        "linear_constraints: Infeasible constraints: no point strictly inside the parameter bounds satisfies "
        "all of them.",
    ),
    (
        constrained(
            [X, Y],
            constraint(("x", 1), ("y", 1), threshold=0.5),
            constraint(("x", 1), ("y", 1), type="greater_than", threshold=0.6),
        ),
        "linear_constraints: Infeasible constraints: no point strictly inside the parameter bounds satisfies "
        "all of them.",
    ),
    (
        constrained(
            [INT1, INT2],
            constraint(("i", 1), ("j", 1), type="greater_than", threshold=2.5),
            constraint(("i", 1), ("j", 1), threshold=2.7),
        ),
        "linear_constraints: Infeasible constraints: no integer assignment inside the bounds of the int "
        "parameters satisfies all of them.",
    ),
]


@pytest.mark.parametrize(("definition", "message"), INVALID)
def test_invalid_definition_is_rejected_with_exact_message(definition: Any, message: str) -> None:
    with pytest.raises(ValidationError, match="^" + re.escape(message) + "$"):
        parse_experiment(definition)


def test_validation_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="budget"):
        parse_experiment(body(budget=0))


# --------------------------------------------------------------------- happy paths


def test_minimal_definition_gets_sigopt_defaults() -> None:
    defn = parse_experiment(body())
    assert defn == ExperimentDefinition(
        name="exp",
        parameters=(Parameter(name="x", type="double", bounds=Bounds(0.0, 1.0)),),
        metrics=(Metric(name="acc"),),
    )
    assert defn.budget is None
    assert (defn.parallel_bandwidth, defn.num_solutions, defn.type, defn.metadata) == (1, 1, "offline", {})


def test_parameter_kinds_are_typed() -> None:
    defn = parse_experiment(
        body(
            parameters=[
                param(INT1, bounds={"min": 1.0, "max": 8}),
                param(bounds={"min": 0, "max": 2}),
                param(C, name="opt", categorical_values=[{"name": "adam", "enum_index": 7}, "sgd"]),
            ]
        )
    )
    depth, x, opt = defn.parameters
    assert depth.bounds is not None and x.bounds is not None
    assert depth.bounds == Bounds(1, 8) and isinstance(depth.bounds.min, int)
    assert x.bounds == Bounds(0.0, 2.0) and isinstance(x.bounds.max, float)
    assert opt.categorical_values == ("adam", "sgd") and opt.bounds is None


def test_grid_parameters_are_sorted_and_typed() -> None:
    defn = parse_experiment(
        body(parameters=[param(bounds=None, grid=[0.3, 0.1, 0.2]), param(INT1, bounds=None, grid=[4, 2.0])])
    )
    assert defn.parameters[0].grid == (0.1, 0.2, 0.3)
    assert defn.parameters[1].grid == (2, 4) and all(isinstance(v, int) for v in defn.parameters[1].grid)


def test_log_transformation_on_bounds_and_grid() -> None:
    defn = parse_experiment(
        body(
            parameters=[
                param(bounds={"min": 1e-5, "max": 1}, transformation="log"),
                param(Y, bounds=None, grid=[0.01, 0.1], transformation="log"),
                param(name="z", transformation="none"),
            ]
        )
    )
    assert [p.is_log for p in defn.parameters] == [True, True, False]


def test_priors() -> None:
    defn = parse_experiment(
        body(
            parameters=[
                param(prior={"name": "normal", "mean": 0.5, "scale": 0.1, "object": "normal_prior"}),
                param(Y, prior={"name": "beta", "shape_a": 2, "shape_b": 5}),
            ]
        )
    )
    assert defn.parameters[0].prior == Prior(name="normal", mean=0.5, scale=0.1)
    assert defn.parameters[1].prior == Prior(name="beta", shape_a=2.0, shape_b=5.0)


def test_conditionals_and_conditions() -> None:
    defn = parse_experiment(
        conditional(
            [cnn(INT1), cnn(INT2, arch=["mlp"]), param(C, conditions={"arch": ["cnn", "mlp"]})],
            [{"name": "arch", "values": [{"name": "cnn"}, "mlp"]}],
        )
    )
    assert defn.conditionals == (Conditional(name="arch", values=("cnn", "mlp")),)
    assert [dict(p.conditions) for p in defn.parameters] == [
        {"arch": ("cnn",)},
        {"arch": ("mlp",)},
        {"arch": ("cnn", "mlp")},
    ]
    assert [p.name for p in defn.active_parameters({"arch": "mlp"})] == ["j", "c"]


def test_multiple_conditionals_are_covered_by_combinations() -> None:
    size = {"name": "size", "values": ["s", "l"]}
    params = [
        param(X, conditions={"arch": "cnn"}),
        param(Y, conditions={"arch": "mlp", "size": ["s"]}),
        param(INT1, conditions={"size": "l"}),
    ]
    assert len(parse_experiment(conditional(params, [ARCH, size])).conditionals) == 2


def test_linear_constraints() -> None:
    defn = parse_experiment(
        constrained(
            [X, Y, INT1, INT2],
            constraint(("x", 1), ("y", 1)),
            constraint(("i", 2), ("j", -1), type="greater_than", threshold=3),
        )
    )
    assert defn.linear_constraints == (
        LinearConstraint("less_than", 1.0, (ConstraintTerm("x", 1.0), ConstraintTerm("y", 1.0))),
        LinearConstraint("greater_than", 3.0, (ConstraintTerm("i", 2.0), ConstraintTerm("j", -1.0))),
    )


def test_constraint_feasibility_is_scale_invariant() -> None:
    wide = {"name": "w", "type": "double", "bounds": {"min": 0, "max": 1e9}}
    narrow = {"name": "n", "type": "double", "bounds": {"min": 0, "max": 1e-6}}
    defn = parse_experiment(constrained([wide, narrow], constraint(("w", 1), ("n", 1e15), threshold=1e9)))
    assert len(defn.linear_constraints) == 1


def test_multimetric_constraints_and_stored_metrics() -> None:
    defn = parse_experiment(
        metrics(
            {"name": "acc", "threshold": 0.8},
            {"name": "latency", "objective": "minimize"},
            {"name": "mem", "strategy": "constraint", "threshold": 4, "objective": "minimize"},
            {"name": "loss", "strategy": "store"},
            budget=40,
        )
    )
    assert [m.name for m in defn.optimized_metrics] == ["acc", "latency"]
    assert defn.metrics[0] == Metric("acc", threshold=0.8)
    assert defn.metrics[2] == Metric("mem", objective="minimize", strategy="constraint", threshold=4.0)
    assert defn.metrics[3] == Metric("loss", strategy="store")


def test_metric_given_as_a_string() -> None:
    assert parse_experiment(metrics("acc")).metrics == (Metric("acc"),)


def test_all_constraint_search_experiment() -> None:
    defn = parse_experiment(metrics({"name": "acc", "strategy": "constraint", "threshold": 0.9}, budget=20))
    assert defn.optimized_metrics == () and len(defn.constraint_metrics) == 1


def test_num_solutions_and_parallel_bandwidth() -> None:
    defn = parse_experiment(body(num_solutions=5, budget=5, parallel_bandwidth=8))
    assert (defn.num_solutions, defn.budget, defn.parallel_bandwidth) == (5, 5, 8)


def test_observation_budget_alias_and_integral_float_budget() -> None:
    assert parse_experiment(body(observation_budget=12)).budget == 12
    assert parse_experiment(body(budget=12.0)).budget == 12


def test_grid_experiment_computes_its_budget() -> None:
    defn = parse_experiment(
        body(
            type="grid",
            parameters=[param(bounds=None, grid=[0.1, 0.2, 0.3]), C, param(INT1, bounds=None, grid=[1, 2])],
        )
    )
    assert defn.type == "grid" and defn.budget == 12
    assert parse_experiment(defn.to_json()) == defn


def test_metadata_values() -> None:
    metadata = {"team": "vision", "epochs": 3, "lr": 0.1, "flag": True, "none": None, "k" * 100: "v" * 500}
    assert parse_experiment(body(metadata=metadata)).metadata == metadata


def test_default_values() -> None:
    defn = parse_experiment(
        body(parameters=[param(default_value=0.5), param(INT1, default_value=3.0), param(C, default_value="b")])
    )
    assert [p.default_value for p in defn.parameters] == [0.5, 3, "b"]


def test_null_optional_fields_and_object_tags_are_ignored() -> None:
    nulls = dict.fromkeys(["prior", "transformation", "grid", "conditions", "default_value"])
    definition = {
        "name": "exp",
        "parameters": [{**X, **nulls, "object": "parameter", "categorical_values": None}],
        "metrics": [{"object": "metric", "name": "acc", "threshold": None, "strategy": None, "objective": None}],
        **dict.fromkeys(["budget", "conditionals", "linear_constraints", "metadata", "num_solutions", "type"]),
        **dict.fromkeys(["parallel_bandwidth", "observation_budget", "project", "tasks"]),
    }
    assert parse_experiment(definition) == parse_experiment(body())


# --------------------------------------------------------------------- round trip


FULL = body(
    name="resnet-tune",
    type="random",
    parameters=[
        param(name="lr", bounds={"min": 1e-5, "max": 0.1}, transformation="log"),
        param(INT1, name="depth", bounds={"min": 2, "max": 16}, default_value=4),
        param(C, name="opt", categorical_values=["adam", "sgd"], conditions={"arch": ["cnn"]}),
        param(name="dropout", bounds=None, grid=[0.0, 0.1, 0.3]),
        param(name="wd", prior={"name": "normal", "mean": 0.1, "scale": 0.05}),
        param(name="mom", prior={"name": "beta", "shape_a": 2, "shape_b": 2}),
        param(INT1, name="w1"),
        param(INT1, name="w2"),
    ],
    conditionals=[ARCH],
    linear_constraints=[
        constraint(("wd", 1), ("mom", 1)),
        constraint(("w1", 1), ("w2", 1), type="greater_than", threshold=3),
    ],
    metrics=[
        {"name": "val_acc", "threshold": 0.5},
        {"name": "latency_ms", "objective": "minimize", "threshold": 100},
        {"name": "mem", "strategy": "constraint", "threshold": 50, "objective": "minimize"},
        {"name": "train_loss", "strategy": "store"},
    ],
    observation_budget=60,
    parallel_bandwidth=4,
    metadata={"team": "vision", "n": 1, "ok": True, "none": None},
)


@pytest.mark.parametrize(
    "definition",
    [
        body(),
        FULL,
        body(num_solutions=3, budget=9),
        conditional([cnn(), param(Y, conditions={"arch": "mlp"})]),
    ],
    ids=["minimal", "full", "num_solutions", "conditional"],
)
def test_to_json_round_trips(definition: dict[str, Any]) -> None:
    defn = parse_experiment(definition)
    assert parse_experiment(defn.to_json()) == defn


def test_to_json_has_the_sigopt_v1_shape() -> None:
    data = parse_experiment(FULL).to_json()
    lr, depth, opt, dropout, wd = data["parameters"][:5]
    assert lr == {
        "object": "parameter",
        "name": "lr",
        "type": "double",
        "bounds": {"object": "bounds", "min": 1e-5, "max": 0.1},
        "categorical_values": None,
        "conditions": {},
        "default_value": None,
        "prior": None,
        "transformation": "log",
    }
    assert depth["bounds"] == {"object": "bounds", "min": 2, "max": 16} and depth["default_value"] == 4
    assert opt["categorical_values"] == [
        {"object": "categorical_value", "name": "adam", "enum_index": 1},
        {"object": "categorical_value", "name": "sgd", "enum_index": 2},
    ]
    assert opt["conditions"] == {"arch": ["cnn"]} and opt["bounds"] is None
    assert dropout["grid"] == [0.0, 0.1, 0.3] and dropout["bounds"] is None
    assert wd["prior"] == {"object": "normal_prior", "name": "normal", "mean": 0.1, "scale": 0.05}
    assert data["metrics"][2] == {
        "object": "metric",
        "name": "mem",
        "objective": "minimize",
        "strategy": "constraint",
        "threshold": 50.0,
    }
    assert data["linear_constraints"][0] == {
        "object": "linear_constraint",
        "type": "less_than",
        "threshold": 1.0,
        "terms": [
            {"object": "constraint_term", "name": "wd", "weight": 1.0},
            {"object": "constraint_term", "name": "mom", "weight": 1.0},
        ],
    }
    assert data["conditionals"] == [{"object": "conditional", "name": "arch", "values": ["cnn", "mlp"]}]
    assert {k: data[k] for k in ("name", "type", "budget", "parallel_bandwidth", "num_solutions", "metadata")} == {
        "name": "resnet-tune",
        "type": "random",
        "budget": 60,
        "parallel_bandwidth": 4,
        "num_solutions": 1,
        "metadata": {"team": "vision", "n": 1, "ok": True, "none": None},
    }
    assert "project" not in data and "observation_budget" not in data


# --------------------------------------------------------------------- experiment.yml

EXPERIMENT_YML = """\
name: My Experiment
metrics:
  - name: accuracy
    objective: maximize
  - name: latency
    strategy: store
parameters:
  - name: lr
    type: double
    bounds: {min: 1e-5, max: 0.1}
    transformation: log
  - name: layers
    type: int
    bounds:
      min: 1
      max: 4
  - name: act
    type: categorical
    categorical_values: [relu, tanh]
parallel_bandwidth: 2
budget: 10
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "experiment.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_experiment_file(tmp_path: Path) -> None:
    defn = load_experiment_file(write(tmp_path, EXPERIMENT_YML))
    assert defn.name == "My Experiment" and defn.budget == 10 and defn.parallel_bandwidth == 2
    assert defn.parameters[0].bounds == Bounds(1e-5, 0.1)
    assert defn.parameters[2].categorical_values == ("relu", "tanh")
    assert [m.strategy for m in defn.metrics] == ["optimize", "store"]


def test_load_experiment_file_accepts_str_paths(tmp_path: Path) -> None:
    assert load_experiment_file(str(write(tmp_path, EXPERIMENT_YML))).name == "My Experiment"


def test_load_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yml"
    with pytest.raises(ValidationError, match="^" + re.escape(f"Experiment file {str(path)!r} does not exist.") + "$"):
        load_experiment_file(path)


def test_load_bad_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nparameters: [\n  - a\n")
    message = f"Experiment file {str(path)!r} is not valid YAML: "
    with pytest.raises(ValidationError, match="^" + re.escape(message) + r".*\(line \d+, column \d+\)\.$"):
        load_experiment_file(path)


@pytest.mark.parametrize(
    ("text", "got"),
    [
        ("- name: x\n", "list ([{'name': 'x'}])"),
        ("", "an empty document"),
        ("just text\n", "str ('just text')"),
    ],
)
def test_load_non_mapping(tmp_path: Path, text: str, got: str) -> None:
    path = write(tmp_path, text)
    message = f"Experiment file {str(path)!r} must hold a mapping of experiment fields, got {got}."
    with pytest.raises(ValidationError, match="^" + re.escape(message) + "$"):
        load_experiment_file(path)


def test_load_rejects_project(tmp_path: Path) -> None:
    path = write(tmp_path, "project: vision\n" + EXPERIMENT_YML)
    message = (
        f"Experiment file {str(path)!r} sets 'project', which an experiment file may not hold. "
        "Pass the project "
        "separately (the --project option or the SIGOPT_PROJECT environment variable)."
    )
    with pytest.raises(ValidationError, match="^" + re.escape(message) + "$"):
        load_experiment_file(path)


def test_load_reports_rule_with_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, EXPERIMENT_YML.replace("max: 4", "max: 0"))
    message = f"Experiment file {str(path)!r}: parameters[1].bounds: min (1) must be less than max (0)."
    with pytest.raises(ValidationError, match="^" + re.escape(message) + "$") as info:
        load_experiment_file(path)
    assert isinstance(info.value.__cause__, ValidationError)
