"""The whole experiment: its fields, budget, options and metadata, and the rules that span them."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from sigopt_ai._checks import INT64_MAX, check_int64, check_text, short_repr
from sigopt_ai._definition import ExperimentDefinition, ExperimentType
from sigopt_ai._types import MetadataValue
from sigopt_ai.experiments._parse._common import (
    Conditionals,
    Metrics,
    Parameters,
    as_mapping,
    as_number,
    check_keys,
    check_name,
    choice,
    describe,
    fail,
    is_integral,
    is_real,
    required,
)
from sigopt_ai.experiments._parse._conditionals import check_conditional_features, parse_conditionals
from sigopt_ai.experiments._parse._constraints import check_feasible, parse_linear_constraints
from sigopt_ai.experiments._parse._metrics import parse_metrics
from sigopt_ai.experiments._parse._parameters import parse_parameters

METADATA_MAX_KEYS = 100
METADATA_MAX_KEY_LENGTH = 100
METADATA_MAX_VALUE_LENGTH = 500
_EXPERIMENT_KEYS = frozenset(
    "name type parameters metrics conditionals linear_constraints budget observation_budget "
    "parallel_bandwidth num_solutions metadata".split()
)
_EXPERIMENT_TYPES: dict[str, ExperimentType] = {"offline": "offline", "random": "random", "grid": "grid"}


def parse_experiment(body: Mapping[str, Any]) -> ExperimentDefinition:
    """Validate a SigOpt experiment definition and build its immutable value.

    ``body`` has the shape users pass to ``sigopt.create_experiment`` (``name``, ``parameters``,
    ``metrics``, ``budget`` or its alias ``observation_budget``, ``parallel_bandwidth``,
    ``conditionals``, ``linear_constraints``, ``num_solutions``, ``metadata``, ``type``) without
    ``project``. ``object`` and ``enum_index`` keys and null optional fields are ignored, so the
    output of :meth:`ExperimentDefinition.to_json` parses back to an equal definition.

    Args:
        body: The experiment definition.

    Returns:
        The validated definition.

    Raises:
        ValidationError: At the first broken rule; the message names the field path, the rule and
            the offending value.

    Example:
        >>> defn = parse_experiment({
        ...     "name": "tune",
        ...     "parameters": [{"name": "lr", "type": "double", "bounds": {"min": 1e-4, "max": 1e-1}}],
        ...     "metrics": [{"name": "accuracy"}],
        ...     "budget": 30,
        ... })
        >>> defn.budget
        30
    """
    body = as_mapping(body, "experiment")
    _check_experiment_keys(body)
    name = check_name(required(body, "name", "name"), "name")
    experiment_type = choice(body.get("type"), "type", _EXPERIMENT_TYPES, "experiment type", "offline")
    conditionals = parse_conditionals(body.get("conditionals"))
    parameters = parse_parameters(body.get("parameters"), conditionals)
    metrics = parse_metrics(body.get("metrics"))
    budget = _parse_budget(body)
    parallel_bandwidth = _optional_positive_int(body.get("parallel_bandwidth"), "parallel_bandwidth")
    num_solutions = _optional_positive_int(body.get("num_solutions"), "num_solutions")
    metadata = _parse_metadata(body.get("metadata"))
    constraints = parse_linear_constraints(body.get("linear_constraints"), parameters)
    check_conditional_features(parameters, conditionals, metrics, num_solutions)
    budget = _resolve_grid_budget(experiment_type, parameters, conditionals, budget)
    _check_budget_required(metrics, num_solutions, budget)
    _check_num_solutions(num_solutions, budget, metrics)
    check_feasible(constraints, {p.name: p for p in parameters})
    return ExperimentDefinition(
        name=name,
        parameters=parameters,
        metrics=metrics,
        conditionals=conditionals,
        linear_constraints=constraints,
        budget=budget,
        parallel_bandwidth=parallel_bandwidth,
        num_solutions=num_solutions,
        type=experiment_type,
        metadata=metadata,
    )


def _check_experiment_keys(body: Mapping[str, Any]) -> None:
    if body.get("project") is not None:
        fail(
            "project",
            "the project is not part of the experiment definition. Pass it separately "
            "(the project argument or the SIGOPT_PROJECT environment variable).",
        )
    if body.get("tasks") is not None:
        fail("tasks", "multitask experiments are not supported.")
    check_keys(body, _EXPERIMENT_KEYS, "experiment")


def _parse_budget(body: Mapping[str, Any]) -> int | None:
    budget, alias = body.get("budget"), body.get("observation_budget")
    if budget is not None and alias is not None:
        fail("observation_budget", "this is an alias of budget, so give only one of the two.")
    if budget is not None:
        return _positive_int(budget, "budget")
    if alias is not None:
        return _positive_int(alias, "observation_budget")
    return None


def _positive_int(value: Any, path: str) -> int:
    if not is_integral(value):
        fail(path, f"expected an integer, got {describe(value)}.")
    number = int(value)
    if number < 1:
        fail(path, f"must be greater than or equal to 1, got {short_repr(number)}.")
    if number > INT64_MAX:
        fail(path, f"must be at most 2**63 - 1, got {short_repr(number)}.")
    return number


def _optional_positive_int(value: Any, path: str) -> int:
    return 1 if value is None else _positive_int(value, path)


def _parse_metadata(value: Any) -> dict[str, MetadataValue]:
    if value is None:
        return {}
    obj = as_mapping(value, "metadata")
    if len(obj) > METADATA_MAX_KEYS:
        fail("metadata", f"at most {METADATA_MAX_KEYS} keys are allowed, got {len(obj)}.")
    return {_metadata_key(key): _metadata_value(item, f"metadata[{key!r}]") for key, item in obj.items()}


def _metadata_key(key: Any) -> str:
    if not isinstance(key, str):
        fail("metadata", f"keys must be strings, got {describe(key)}.")
    check_text(key, "metadata key")
    if len(key) > METADATA_MAX_KEY_LENGTH:
        shown = f"{key[:10]}...{key[-10:]}"
        fail(
            "metadata",
            f"The length of the metadata key {shown!r} must be at most {METADATA_MAX_KEY_LENGTH} "
            f"characters, got {len(key)}.",
        )
    return key


def _metadata_value(value: Any, path: str) -> MetadataValue:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if len(value) > METADATA_MAX_VALUE_LENGTH:
            fail(path, f"strings must be at most {METADATA_MAX_VALUE_LENGTH} characters, got {len(value)}.")
        return check_text(value, path)
    if not is_real(value):
        fail(path, f"expected a string, number, boolean or null, got {describe(value)}.")
    if isinstance(value, numbers.Integral):
        return check_int64(int(value), path)
    return as_number(value, path)


def _resolve_grid_budget(
    experiment_type: ExperimentType,
    parameters: Parameters,
    conditionals: Conditionals,
    budget: int | None,
) -> int | None:
    """A grid experiment's budget is the number of grid points; a given budget must match it."""
    if experiment_type != "grid":
        return budget
    if conditionals:
        fail("type", "Grid search experiments do not support conditional parameters.")
    for index, parameter in enumerate(parameters):
        if parameter.type != "categorical" and not parameter.grid:
            fail(
                f"parameters[{index}].grid",
                "a grid experiment needs grid values on every double and int parameter, "
                f"and {parameter.name} has none.",
            )
    computed = math.prod(len(p.grid) or len(p.categorical_values) for p in parameters)
    if budget is not None and budget != computed:
        fail(
            "budget",
            f"The specified budget of {budget} does not match the computed budget of {computed} grid points.",
        )
    return computed


def _check_budget_required(metrics: Metrics, num_solutions: int, budget: int | None) -> None:
    if budget is not None:
        return
    if sum(m.strategy == "optimize" for m in metrics) > 1:
        fail("budget", "budget is required for an experiment with more than one optimized metric.")
    if any(m.strategy == "constraint" for m in metrics):
        fail("budget", "budget is required for an experiment with constraint metrics.")
    if num_solutions > 1:
        fail("budget", "budget is required for an experiment with more than one solution.")


def _check_num_solutions(num_solutions: int, budget: int | None, metrics: Metrics) -> None:
    if num_solutions == 1:
        return
    optimized = sum(m.strategy == "optimize" for m in metrics)
    if optimized != 1:
        fail(
            "num_solutions",
            f"An experiment with multiple solutions requires exactly one optimized metric, got {optimized}.",
        )
    if budget is not None and num_solutions > budget:
        fail(
            "num_solutions",
            f"The budget needs to be larger than the number of solutions, got {num_solutions} solutions "
            f"and a budget of {budget}.",
        )
