"""Validate SigOpt-shaped experiment definitions and build :class:`ExperimentDefinition` values.

The rules follow sigopt-server's experiment create handler and sigoptlite's validators. Where those
have an exact text for a rule, ours keeps it inside the sentence, so users searching for a SigOpt
error still find it. Every message starts with the path of the offending field
(``parameters[2].bounds: min (5) must be less than max (1).``) and validation stops at the first
problem. The one deliberate difference: ``parallel_bandwidth`` may exceed 1, as on sigopt-server.

Some rules go beyond SigOpt's, refusing what the optimizer or the store could not honour: numbers
past the 64-bit float range, int bounds and grid values beyond ±2**53 (the optimizer computes in
float64), double bounds whose width overflows, linear constraints whose weighted sums could
overflow, integers past 2**63 - 1, and text with lone surrogates (not encodable as UTF-8).
"""

# Size: this module runs past the house guide of ~800 lines on purpose. It holds the whole SigOpt
# create rule set with one small function per rule group (median body 8 lines, longest 29), so a
# reviewer can check it against sigopt-server and sigoptlite in one place.

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NoReturn, TypeVar

import yaml

from sigopt_ai._checks import INT64_MAX, check_int64, check_text
from sigopt_ai._checks import short_repr as _short
from sigopt_ai._definition import (
    Bounds,
    Conditional,
    ConstraintTerm,
    ExperimentDefinition,
    ExperimentType,
    LinearConstraint,
    Metric,
    MetricStrategy,
    Objective,
    Parameter,
    ParameterType,
    Prior,
)
from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai._types import MetadataValue, ParamValue

__all__ = ["definition_to_json", "load_experiment_file", "parse_experiment"]

NAME_MAX_LENGTH = 100
CATEGORICAL_VALUE_MAX_LENGTH = 50
MAX_OPTIMIZED_METRICS = 2
MAX_CONSTRAINT_METRICS = 4
MAX_METRICS = 50
METADATA_MAX_KEYS = 100
METADATA_MAX_KEY_LENGTH = 100
METADATA_MAX_VALUE_LENGTH = 500
MAX_EXACT_INT = 2**53
"""The largest int bound or grid value: float64, which the optimizer computes in, holds every int up to it."""
MAX_CONSTRAINT_MAGNITUDE = 1e300
"""Largest |threshold| + sum |weight| × |bound| of a linear constraint, leaving float headroom for its sums."""
# Radius, in the unit cube the bounds map to, below which a constraint region counts as empty.
_INTERIOR_TOLERANCE = 1e-9

_EXPERIMENT_KEYS = frozenset(
    "name type parameters metrics conditionals linear_constraints budget observation_budget "
    "parallel_bandwidth num_solutions metadata".split()
)
_PARAMETER_KEYS = frozenset(
    "name type bounds categorical_values grid transformation prior conditions default_value".split()
)
_PARAMETER_TYPES: dict[str, ParameterType] = {"double": "double", "int": "int", "categorical": "categorical"}
_EXPERIMENT_TYPES: dict[str, ExperimentType] = {"offline": "offline", "random": "random", "grid": "grid"}
_OBJECTIVES: dict[str, Objective] = {"maximize": "maximize", "minimize": "minimize"}
_STRATEGIES: dict[str, MetricStrategy] = {
    "optimize": "optimize",
    "constraint": "constraint",
    "store": "store",
}
_CONSTRAINT_TYPES: dict[str, Literal["greater_than", "less_than"]] = {
    "greater_than": "greater_than",
    "less_than": "less_than",
}

_T = TypeVar("_T")
_Parameters = tuple[Parameter, ...]
_Conditionals = tuple[Conditional, ...]
_Metrics = tuple[Metric, ...]
_Constraints = tuple[LinearConstraint, ...]
_Conditions = dict[str, tuple[str, ...]]


# --- public API
def parse_experiment(body: Mapping[str, Any]) -> ExperimentDefinition:
    """Validate a SigOpt experiment definition and build its immutable value.

    ``body`` has the shape users pass to ``sigopt.create_experiment`` (``name``, ``parameters``,
    ``metrics``, ``budget`` or its alias ``observation_budget``, ``parallel_bandwidth``,
    ``conditionals``, ``linear_constraints``, ``num_solutions``, ``metadata``, ``type``) without
    ``project``. ``object`` and ``enum_index`` keys and null optional fields are ignored, so the
    output of :func:`definition_to_json` parses back to an equal definition.

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
    body = _as_mapping(body, "experiment")
    _check_experiment_keys(body)
    name = _name(_required(body, "name", "name"), "name")
    experiment_type = _choice(body.get("type"), "type", _EXPERIMENT_TYPES, "experiment type", "offline")
    conditionals = _parse_conditionals(body.get("conditionals"))
    parameters = _parse_parameters(body.get("parameters"), conditionals)
    metrics = _parse_metrics(body.get("metrics"))
    budget = _parse_budget(body)
    parallel_bandwidth = _optional_positive_int(body.get("parallel_bandwidth"), "parallel_bandwidth")
    num_solutions = _optional_positive_int(body.get("num_solutions"), "num_solutions")
    metadata = _parse_metadata(body.get("metadata"))
    constraints = _parse_linear_constraints(body.get("linear_constraints"), parameters)
    _check_conditional_features(parameters, conditionals, metrics, num_solutions)
    budget = _resolve_grid_budget(experiment_type, parameters, conditionals, budget)
    _check_budget_required(metrics, num_solutions, budget)
    _check_num_solutions(num_solutions, budget, metrics)
    _check_feasible(constraints, {p.name: p for p in parameters})
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


def definition_to_json(defn: ExperimentDefinition) -> dict[str, Any]:
    """Give the SigOpt v1 JSON shape of a definition.

    Parameters, metrics, bounds, categorical values, conditionals and constraints carry SigOpt's
    ``object`` keys; ``parse_experiment(definition_to_json(d)) == d``.

    Args:
        defn: A validated definition.

    Returns:
        A JSON-serialisable dict (no ``project``, ``id`` or ``progress``: the server adds those).

    Example:
        >>> definition_to_json(defn)["parameters"][0]["object"]
        'parameter'
    """
    return defn.to_json()


def load_experiment_file(path: str | os.PathLike[str]) -> ExperimentDefinition:
    """Load and validate a SigOpt ``experiment.yml``.

    The file is read with a safe YAML loader that also reads exponent floats without a dot
    (``min: 1e-5``) as numbers, as YAML 1.2 does. ``project`` is not allowed in the file.

    Args:
        path: The YAML file.

    Returns:
        The validated definition.

    Raises:
        ValidationError: ``path`` is not a path, the file is missing or unreadable (or the OS
            cannot take its name), is not valid YAML, does not hold a
            mapping, sets ``project``, or breaks a rule of :func:`parse_experiment` (the message
            then starts with the file name).

    Example:
        >>> defn = load_experiment_file("experiment.yml")
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ValidationTypeError(f"Experiment file must be a path (str or os.PathLike), got {_describe(path)}.")
    file = Path(path)
    document = _read_yaml(file)
    if not isinstance(document, Mapping):
        got = "an empty document" if document is None else _describe(document)
        raise ValidationError(
            f"Experiment file {_short(str(file))} must hold a mapping of experiment fields, got {got}."
        )
    if "project" in document:
        raise ValidationError(
            f"Experiment file {_short(str(file))} sets 'project', which an experiment file may not hold. "
            "Pass the project separately (the --project option or the SIGOPT_PROJECT environment variable)."
        )
    try:
        return parse_experiment(document)
    except ValidationError as exc:
        raise ValidationError(f"Experiment file {_short(str(file))}: {exc}") from exc


# --- primitives
def _fail(path: str, message: str) -> NoReturn:
    raise ValidationError(f"{path}: {message}")


def _describe(value: Any) -> str:
    return "null" if value is None else f"{type(value).__name__} ({_short(value)})"


def _num(value: float) -> str:
    """A number as users wrote it: ``5`` rather than ``5.0``."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def _as_mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        _fail(path, f"expected a mapping, got {_describe(value)}.")
    return value


def _as_list(value: Any, path: str) -> Sequence[Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        _fail(path, f"expected a list, got {_describe(value)}.")
    return value


def _non_empty_list(value: Any, path: str, what: str) -> Sequence[Any]:
    if value is None:
        _fail(path, "this field is required.")
    items = _as_list(value, path)
    if not items:
        _fail(path, f"at least one {what} is required, got an empty list.")
    return items


def _required(obj: Mapping[str, Any], key: str, path: str) -> Any:
    value = obj.get(key)
    if value is None:
        _fail(path, "this field is required.")
    return value


def _check_keys(obj: Mapping[str, Any], allowed: frozenset[str], path: str) -> None:
    # Null fields and SigOpt's ``object`` tags are what the API emits, so they are not errors.
    for key, value in obj.items():
        if value is not None and key != "object" and key not in allowed:
            _fail(path, f"unknown field {_short(key)}. Valid fields are {sorted(allowed)!r}.")


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        _fail(path, f"expected a string, got {_describe(value)}.")
    return value


def _name(value: Any, path: str, max_length: int = NAME_MAX_LENGTH) -> str:
    text = _string(value, path)
    if not 1 <= len(text) <= max_length:
        _fail(path, f"must be 1 to {max_length} characters long, got {len(text)} ({_short(text)}).")
    return check_text(text, path)


def _choice(value: Any, path: str, choices: Mapping[str, _T], what: str, default: _T) -> _T:
    if value is None:
        return default
    if not isinstance(value, str) or value not in choices:
        _fail(path, f"{_short(value)} is not a valid {what}. It must be one of {sorted(choices)!r}.")
    return choices[value]


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_integral(value: Any) -> bool:
    if isinstance(value, numbers.Integral):
        return not isinstance(value, bool)
    if not _is_real(value):
        return False
    try:
        number = float(value)
    except OverflowError:
        return False
    return math.isfinite(number) and number.is_integer()


def _float(value: Any, path: str) -> float:
    """A real number as a float; one beyond the float range fails here instead of overflowing later."""
    try:
        return float(value)
    except OverflowError:
        pass
    _fail(path, f"expected a number within the 64-bit float range (about ±1.8e308), got {_short(value)}.")


def _number(value: Any, path: str) -> float:
    if not _is_real(value):
        _fail(path, f"expected a number, got {_describe(value)}.")
    number = _float(value, path)
    if not math.isfinite(number):
        _fail(path, f"expected a finite number, got {number!r}.")
    return number


def _positive_int(value: Any, path: str) -> int:
    if not _is_integral(value):
        _fail(path, f"expected an integer, got {_describe(value)}.")
    number = int(value)
    if number < 1:
        _fail(path, f"must be greater than or equal to 1, got {_short(number)}.")
    if number > INT64_MAX:
        _fail(path, f"must be at most 2**63 - 1, got {_short(number)}.")
    return number


def _optional_positive_int(value: Any, path: str) -> int:
    return 1 if value is None else _positive_int(value, path)


def _typed_number(value: Any, path: str, what: str, name: str, ptype: ParameterType) -> int | float:
    """A bound, grid value or default of a numeric parameter, in the parameter's type."""
    if _is_real(value) and not math.isfinite(_float(value, path)):
        _fail(path, f"expected a finite number, got {float(value)!r}.")
    if ptype == "int" and _is_integral(value):
        number = int(value)
        if abs(number) > MAX_EXACT_INT:
            _fail(
                path,
                f"int values must be within ±2**53 ({MAX_EXACT_INT}), the integers the optimizer "
                f"represents exactly, got {number}.",
            )
        return number
    if ptype == "double" and _is_real(value):
        return float(value)
    _fail(path, f"{what} {_short(value)} is not from the same type as parameter {name} ({ptype}).")


def _check_unique(names: Sequence[str], path: str, rule: str) -> None:
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in seen:
            _fail(f"{path}[{index}].name", f"{rule}: {name!r} is also the name of {path}[{seen[name]}].")
        seen[name] = index


def _value_names(value: Any, path: str, owner: str) -> tuple[str, ...]:
    """Category or conditional values given as ``["a"]`` or ``[{"name": "a"}]``, unique."""
    items = _as_list(value, path)
    names = tuple(_value_name(item, f"{path}[{i}]") for i, item in enumerate(items))
    for index, name in enumerate(names):
        if name in names[:index]:
            _fail(f"{path}[{index}]", f"{owner} lists the value {name!r} twice.")
    return names


def _value_name(item: Any, path: str) -> str:
    if isinstance(item, Mapping):
        _check_keys(item, frozenset({"name", "enum_index"}), path)
        return _name(_required(item, "name", f"{path}.name"), f"{path}.name", CATEGORICAL_VALUE_MAX_LENGTH)
    return _name(item, path, CATEGORICAL_VALUE_MAX_LENGTH)


# --- top level
def _check_experiment_keys(body: Mapping[str, Any]) -> None:
    if body.get("project") is not None:
        _fail(
            "project",
            "the project is not part of the experiment definition. Pass it separately "
            "(the project argument or the SIGOPT_PROJECT environment variable).",
        )
    if body.get("tasks") is not None:
        _fail("tasks", "multitask experiments are not supported.")
    _check_keys(body, _EXPERIMENT_KEYS, "experiment")


def _parse_budget(body: Mapping[str, Any]) -> int | None:
    budget, alias = body.get("budget"), body.get("observation_budget")
    if budget is not None and alias is not None:
        _fail("observation_budget", "this is an alias of budget, so give only one of the two.")
    if budget is not None:
        return _positive_int(budget, "budget")
    if alias is not None:
        return _positive_int(alias, "observation_budget")
    return None


def _parse_metadata(value: Any) -> dict[str, MetadataValue]:
    if value is None:
        return {}
    obj = _as_mapping(value, "metadata")
    if len(obj) > METADATA_MAX_KEYS:
        _fail("metadata", f"at most {METADATA_MAX_KEYS} keys are allowed, got {len(obj)}.")
    return {_metadata_key(key): _metadata_value(item, f"metadata[{key!r}]") for key, item in obj.items()}


def _metadata_key(key: Any) -> str:
    if not isinstance(key, str):
        _fail("metadata", f"keys must be strings, got {_describe(key)}.")
    check_text(key, "metadata key")
    if len(key) > METADATA_MAX_KEY_LENGTH:
        shown = f"{key[:10]}...{key[-10:]}"
        _fail(
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
            _fail(path, f"strings must be at most {METADATA_MAX_VALUE_LENGTH} characters, got {len(value)}.")
        return check_text(value, path)
    if not _is_real(value):
        _fail(path, f"expected a string, number, boolean or null, got {_describe(value)}.")
    if isinstance(value, numbers.Integral):
        return check_int64(int(value), path)
    return _number(value, path)


# --- conditionals
def _parse_conditionals(value: Any) -> _Conditionals:
    if value is None:
        return ()
    items = _as_list(value, "conditionals")
    conditionals = tuple(_parse_conditional(item, f"conditionals[{i}]") for i, item in enumerate(items))
    _check_unique([c.name for c in conditionals], "conditionals", "No duplicate conditionals are allowed")
    return conditionals


def _parse_conditional(item: Any, path: str) -> Conditional:
    obj = _as_mapping(item, path)
    _check_keys(obj, frozenset({"name", "values"}), path)
    name = _name(_required(obj, "name", f"{path}.name"), f"{path}.name")
    values = _value_names(_required(obj, "values", f"{path}.values"), f"{path}.values", f"Conditional {name}")
    if len(values) < 2:
        _fail(f"{path}.values", f"Conditional {name} must have at least two values, got {list(values)!r}.")
    return Conditional(name=name, values=values)


def _parse_conditions(value: Any, path: str, name: str, conditionals: _Conditionals) -> _Conditions:
    if value is None:
        return {}
    obj = _as_mapping(value, path)
    if obj and not conditionals:
        _fail(
            path,
            "For conditional experiment, need both conditions defined in parameters and conditionals "
            "variables defined in experiment; the experiment has no conditionals.",
        )
    known = {c.name: c.values for c in conditionals}
    unknown = [key for key in obj if key not in known]
    if unknown:
        _fail(
            path,
            f"The parameter {name} has conditions {unknown!r} that are not part of the conditionals {sorted(known)!r}.",
        )
    return {key: _condition_values(item, f"{path}.{key}", key, known[key]) for key, item in obj.items()}


def _condition_values(value: Any, path: str, conditional: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else _as_list(value, path)
    if not items:
        _fail(path, f"a condition must list at least one value of conditional {conditional}, got none.")
    for index, item in enumerate(items):
        if not isinstance(item, str) or item not in allowed:
            _fail(
                path,
                f"{_short(item)} is not a value of conditional {conditional}. Valid values are {list(allowed)!r}.",
            )
        if item in items[:index]:
            _fail(path, f"the value {item!r} is listed twice.")
    return tuple(items)


def _check_conditional_features(
    parameters: _Parameters,
    conditionals: _Conditionals,
    metrics: _Metrics,
    num_solutions: int,
) -> None:
    if not conditionals:
        return
    if not any(p.conditions for p in parameters):
        _fail(
            "conditionals",
            "For conditional experiment, need both conditions defined in parameters and conditionals "
            "variables defined in experiment; no parameter has conditions.",
        )
    if num_solutions > 1:
        _fail("num_solutions", "An experiment with multiple solutions does not support conditional parameters.")
    if not any(m.strategy == "optimize" for m in metrics):
        _fail("conditionals", "All-Constraint experiment does not support conditional parameters.")
    _check_conditional_coverage(parameters, conditionals)


def _check_conditional_coverage(parameters: _Parameters, conditionals: _Conditionals) -> None:
    # An unconditioned parameter is active under every combination, so it covers them all.
    if any(not p.conditions for p in parameters):
        return
    level = {c.name: i for i, c in enumerate(conditionals)}
    boxes = [{level[c]: frozenset(values) for c, values in p.conditions.items()} for p in parameters]
    uncovered = _first_uncovered([c.values for c in conditionals], boxes)
    if uncovered is not None:
        chosen = dict(zip((c.name for c in conditionals), uncovered, strict=True))
        _fail(
            "conditionals",
            "Need at least one parameter that satisfies each conditional value; "
            f"no parameter is active when the conditionals are {chosen!r}.",
        )


_Box = dict[int, frozenset[str]]


def _first_uncovered(domains: Sequence[tuple[str, ...]], boxes: Sequence[_Box]) -> tuple[str, ...] | None:
    """The first combination of conditional values, in ``itertools.product`` order, under which no
    parameter is active (``boxes[i]``: conditional index to the values activating parameter ``i``).

    A depth-first search over the conditionals that stops as soon as one parameter covers the whole
    remaining subspace, or none can be active in it. At each conditional the values split into
    classes that every parameter still in play treats alike, and one subtree is searched per class,
    not per value: 7 conditionals of 7 values take a few hundred steps, not 7**7 combinations.
    """

    def search(depth: int, allowed: list[tuple[str, ...]], live: list[_Box]) -> tuple[str, ...] | None:
        if any(all(set(allowed[k]) <= values for k, values in box.items()) for box in live):
            return None
        if not live:
            return tuple(values[0] for values in allowed)  # the first combination of the subspace
        if depth == len(domains):  # not reached: a parameter still live here covers its one class
            return None
        deciding = [box[depth] for box in live if depth in box]
        classes: dict[tuple[bool, ...], list[str]] = {}
        for value in allowed[depth]:
            classes.setdefault(tuple(value in values for values in deciding), []).append(value)
        for members in classes.values():  # in order of each class's first value
            narrowed = [*allowed[:depth], tuple(members), *allowed[depth + 1 :]]
            found = search(depth + 1, narrowed, [b for b in live if depth not in b or members[0] in b[depth]])
            if found is not None:
                return found
        return None

    return search(0, list(domains), list(boxes))


# --- parameters
def _parse_parameters(value: Any, conditionals: _Conditionals) -> _Parameters:
    items = _non_empty_list(value, "parameters", "parameter")
    parameters = tuple(_parse_parameter(item, f"parameters[{i}]", conditionals) for i, item in enumerate(items))
    _check_unique([p.name for p in parameters], "parameters", "No duplicate parameters are allowed")
    conditional_names = {c.name for c in conditionals}
    for index, parameter in enumerate(parameters):
        if parameter.name in conditional_names:
            _fail(
                f"parameters[{index}].name",
                f"cannot have a parameter and a conditional both named {parameter.name!r}.",
            )
    return parameters


def _parse_parameter(item: Any, path: str, conditionals: _Conditionals) -> Parameter:
    obj = _as_mapping(item, path)
    _check_keys(obj, _PARAMETER_KEYS, path)
    name = _name(_required(obj, "name", f"{path}.name"), f"{path}.name")
    raw_type = _required(obj, "type", f"{path}.type")
    ptype = _choice(raw_type, f"{path}.type", _PARAMETER_TYPES, "parameter type", "double")
    conditions = _parse_conditions(obj.get("conditions"), f"{path}.conditions", name, conditionals)
    if ptype == "categorical":
        return _parse_categorical(obj, path, name, conditions)
    return _parse_numeric(obj, path, name, ptype, conditions)


def _parse_categorical(obj: Mapping[str, Any], path: str, name: str, conditions: _Conditions) -> Parameter:
    rules = {
        "bounds": "Categorical parameter should not have bounds",
        "grid": "Categorical parameter does not support grid values",
        "prior": "Prior only applies to parameters type of double",
    }
    for key, rule in rules.items():
        if obj.get(key) is not None:
            _fail(f"{path}.{key}", f"{rule}, got {_short(obj[key])} on categorical parameter {name}.")
    _parse_transformation(obj.get("transformation"), f"{path}.transformation", "categorical")
    raw = obj.get("categorical_values")
    if raw is None:
        _fail(f"{path}.categorical_values", f"categorical parameter {name} needs categorical_values.")
    values = _value_names(raw, f"{path}.categorical_values", f"Categorical parameter {name}")
    if len(values) < 2:
        _fail(
            f"{path}.categorical_values",
            f"Categorical parameter {name} must have more than one categorical value, got {list(values)!r}.",
        )
    default = _categorical_default(obj.get("default_value"), f"{path}.default_value", name, values)
    return Parameter(
        name=name, type="categorical", categorical_values=values, conditions=conditions, default_value=default
    )


def _parse_numeric(
    obj: Mapping[str, Any],
    path: str,
    name: str,
    ptype: ParameterType,
    conditions: _Conditions,
) -> Parameter:
    if obj.get("categorical_values") is not None:
        _fail(f"{path}.categorical_values", f"numerical parameter {name} cannot have categorical_values.")
    transformation = _parse_transformation(obj.get("transformation"), f"{path}.transformation", ptype)
    grid = _parse_grid(obj.get("grid"), f"{path}.grid", name, ptype)
    bounds = _parse_bounds(obj.get("bounds"), f"{path}.bounds", name, ptype, bool(grid))
    if transformation == "log":
        _check_log_domain(bounds, grid, path)
    prior = _parse_prior(obj.get("prior"), f"{path}.prior", ptype, bounds, grid, transformation)
    default = _numeric_default(obj.get("default_value"), f"{path}.default_value", name, ptype, bounds, grid)
    return Parameter(
        name=name,
        type=ptype,
        bounds=bounds,
        grid=grid,
        transformation=transformation,
        prior=prior,
        conditions=conditions,
        default_value=default,
    )


def _parse_transformation(value: Any, path: str, ptype: ParameterType) -> Literal["log"] | None:
    if value is None or value == "none":
        return None
    if value != "log":
        _fail(path, f"{_short(value)} is not a valid transformation. It must be one of ['log', 'none'].")
    if ptype != "double":
        _fail(path, f"log-transformation only applies to parameters type of double, not {ptype}.")
    return "log"


def _parse_grid(value: Any, path: str, name: str, ptype: ParameterType) -> tuple[float, ...]:
    if value is None:
        return ()
    items = _as_list(value, path)
    grid = [_typed_number(v, f"{path}[{i}]", "Grid value", name, ptype) for i, v in enumerate(items)]
    if len(grid) < 2:
        _fail(path, f"Grid parameter {name} must have more than one value, got {grid!r}.")
    if len(set(grid)) != len(grid):
        _fail(path, f"Grid values should be unique, got {grid!r}.")
    return tuple(sorted(grid))


def _parse_bounds(value: Any, path: str, name: str, ptype: ParameterType, has_grid: bool) -> Bounds | None:
    if has_grid:
        if value is not None:
            _fail(
                path,
                f"Grid parameter should not have bounds (got {_short(value)}); the grid of {name} sets its range.",
            )
        return None
    if value is None:
        _fail(path, f"parameter {name} must have bounds (or a grid).")
    obj = _as_mapping(value, path)
    _check_keys(obj, frozenset({"min", "max"}), path)
    low = _typed_number(_required(obj, "min", f"{path}.min"), f"{path}.min", "Parameter bound", name, ptype)
    high = _typed_number(_required(obj, "max", f"{path}.max"), f"{path}.max", "Parameter bound", name, ptype)
    if not low < high:
        _fail(path, f"min ({_num(low)}) must be less than max ({_num(high)}).")
    if not math.isfinite(high - low):
        _fail(
            path,
            f"the width max - min must be a finite 64-bit float, got [{_num(low)}, {_num(high)}] "
            "(the optimizer maps the bounds onto [0, 1] through it).",
        )
    return Bounds(min=low, max=high)


def _check_log_domain(bounds: Bounds | None, grid: tuple[float, ...], path: str) -> None:
    if bounds is not None and bounds.min <= 0:
        _fail(
            f"{path}.bounds",
            f"Invalid bounds for log-transformation: bounds must be positive, got min {_num(bounds.min)}.",
        )
    if grid and grid[0] <= 0:
        _fail(
            f"{path}.grid",
            f"Invalid grid values for log-transformation: values must be positive, got {_num(grid[0])}.",
        )


def _parse_prior(
    value: Any,
    path: str,
    ptype: ParameterType,
    bounds: Bounds | None,
    grid: tuple[float, ...],
    transformation: str | None,
) -> Prior | None:
    if value is None:
        return None
    if ptype != "double":
        _fail(path, f"Prior only applies to parameters type of double, not {ptype}.")
    if grid:
        _fail(path, "Grid parameters cannot have priors.")
    if transformation == "log":
        _fail(path, "Parameters with log transformation cannot have priors.")
    obj = _as_mapping(value, path)
    kind = _required(obj, "name", f"{path}.name")
    if kind == "normal" and bounds is not None:
        return _parse_normal_prior(obj, path, bounds)
    if kind == "beta":
        return _parse_beta_prior(obj, path)
    _fail(f"{path}.name", f"{_short(kind)} is not a valid prior. It must be one of ['beta', 'normal'].")


def _parse_normal_prior(obj: Mapping[str, Any], path: str, bounds: Bounds) -> Prior:
    _check_keys(obj, frozenset({"name", "mean", "scale"}), path)
    mean = _number(_required(obj, "mean", f"{path}.mean"), f"{path}.mean")
    scale = _number(_required(obj, "scale", f"{path}.scale"), f"{path}.scale")
    if not bounds.min <= mean <= bounds.max:
        _fail(
            f"{path}.mean",
            f"the mean ({_num(mean)}) must be within the bounds [{_num(bounds.min)}, {_num(bounds.max)}] "
            "of the parameter.",
        )
    if scale <= 0:
        _fail(f"{path}.scale", f"the scale must be positive, got {_num(scale)}.")
    return Prior(name="normal", mean=mean, scale=scale)


def _parse_beta_prior(obj: Mapping[str, Any], path: str) -> Prior:
    _check_keys(obj, frozenset({"name", "shape_a", "shape_b"}), path)
    shapes = []
    for key in ("shape_a", "shape_b"):
        shape = _number(_required(obj, key, f"{path}.{key}"), f"{path}.{key}")
        if shape <= 0:
            _fail(f"{path}.{key}", f"shape parameters for beta must be positive, got {_num(shape)}.")
        shapes.append(shape)
    return Prior(name="beta", shape_a=shapes[0], shape_b=shapes[1])


def _categorical_default(value: Any, path: str, name: str, values: tuple[str, ...]) -> ParamValue:
    if value is None:
        return None
    if value not in values:
        _fail(
            path,
            f"Categorical parameter {name} must have one of following categories: {list(values)!r} "
            f"instead of {_short(value)}.",
        )
    return str(value)


def _numeric_default(
    value: Any,
    path: str,
    name: str,
    ptype: ParameterType,
    bounds: Bounds | None,
    grid: tuple[float, ...],
) -> ParamValue:
    if value is None:
        return None
    number = _typed_number(value, path, "Default value", name, ptype)
    if grid and number not in grid:
        _fail(
            path,
            f"Grid parameter {name} must have one of following grid values: {list(grid)!r} instead of {_num(number)}.",
        )
    if bounds is not None and not bounds.min <= number <= bounds.max:
        _fail(
            path,
            f"the default value {_num(number)} is outside the bounds "
            f"[{_num(bounds.min)}, {_num(bounds.max)}] of parameter {name}.",
        )
    return number


# --- metrics and budget
def _parse_metrics(value: Any) -> _Metrics:
    items = _non_empty_list(value, "metrics", "metric")
    if len(items) > MAX_METRICS:
        _fail("metrics", f"an experiment can have at most {MAX_METRICS} metrics, got {len(items)}.")
    metrics = tuple(_parse_metric(item, f"metrics[{i}]") for i, item in enumerate(items))
    _check_unique([m.name for m in metrics], "metrics", "No duplicate metrics are allowed")
    _check_metric_counts(metrics)
    return metrics


def _parse_metric(item: Any, path: str) -> Metric:
    if isinstance(item, str):
        return Metric(name=_name(item, path))
    obj = _as_mapping(item, path)
    _check_keys(obj, frozenset({"name", "objective", "strategy", "threshold"}), path)
    name = _name(_required(obj, "name", f"{path}.name"), f"{path}.name")
    objective = _choice(obj.get("objective"), f"{path}.objective", _OBJECTIVES, "objective", "maximize")
    strategy = _choice(obj.get("strategy"), f"{path}.strategy", _STRATEGIES, "strategy", "optimize")
    raw = obj.get("threshold")
    threshold = None if raw is None else _number(raw, f"{path}.threshold")
    if strategy == "constraint" and threshold is None:
        _fail(f"{path}.threshold", "Constraint metrics must have the threshold field defined.")
    if strategy == "store" and threshold is not None:
        _fail(f"{path}.threshold", f"Thresholds cannot be specified on stored metrics, got {_num(threshold)}.")
    return Metric(name=name, objective=objective, strategy=strategy, threshold=threshold)


def _check_metric_counts(metrics: _Metrics) -> None:
    optimized = [m for m in metrics if m.strategy == "optimize"]
    constraints = [m.name for m in metrics if m.strategy == "constraint"]
    if not optimized and not constraints:
        _fail(
            "metrics",
            f"An experiment must have optimized or constraint metrics; all {len(metrics)} are stored.",
        )
    if len(optimized) > MAX_OPTIMIZED_METRICS:
        names = [m.name for m in optimized]
        _fail("metrics", f"An experiment must have one or two optimized metrics, got {len(names)}: {names!r}.")
    if len(constraints) > MAX_CONSTRAINT_METRICS:
        _fail(
            "metrics",
            f"An experiment can have at most {MAX_CONSTRAINT_METRICS} constraint metrics, "
            f"got {len(constraints)}: {constraints!r}.",
        )
    if len(optimized) == 1 and optimized[0].threshold is not None:
        _fail(
            f"metrics[{metrics.index(optimized[0])}].threshold",
            "Thresholds are only supported for experiments with more than one optimized metric. "
            "Try an All-Constraint experiment instead by setting `strategy` to `constraint`.",
        )


def _resolve_grid_budget(
    experiment_type: ExperimentType,
    parameters: _Parameters,
    conditionals: _Conditionals,
    budget: int | None,
) -> int | None:
    """A grid experiment's budget is the number of grid points; a given budget must match it."""
    if experiment_type != "grid":
        return budget
    if conditionals:
        _fail("type", "Grid search experiments do not support conditional parameters.")
    for index, parameter in enumerate(parameters):
        if parameter.type != "categorical" and not parameter.grid:
            _fail(
                f"parameters[{index}].grid",
                "a grid experiment needs grid values on every double and int parameter, "
                f"and {parameter.name} has none.",
            )
    computed = math.prod(len(p.grid) or len(p.categorical_values) for p in parameters)
    if budget is not None and budget != computed:
        _fail(
            "budget",
            f"The specified budget of {budget} does not match the computed budget of {computed} grid points.",
        )
    return computed


def _check_budget_required(metrics: _Metrics, num_solutions: int, budget: int | None) -> None:
    if budget is not None:
        return
    if sum(m.strategy == "optimize" for m in metrics) > 1:
        _fail("budget", "budget is required for an experiment with more than one optimized metric.")
    if any(m.strategy == "constraint" for m in metrics):
        _fail("budget", "budget is required for an experiment with constraint metrics.")
    if num_solutions > 1:
        _fail("budget", "budget is required for an experiment with more than one solution.")


def _check_num_solutions(num_solutions: int, budget: int | None, metrics: _Metrics) -> None:
    if num_solutions == 1:
        return
    optimized = sum(m.strategy == "optimize" for m in metrics)
    if optimized != 1:
        _fail(
            "num_solutions",
            f"An experiment with multiple solutions requires exactly one optimized metric, got {optimized}.",
        )
    if budget is not None and num_solutions > budget:
        _fail(
            "num_solutions",
            f"The budget needs to be larger than the number of solutions, got {num_solutions} solutions "
            f"and a budget of {budget}.",
        )


# --- linear constraints
def _parse_linear_constraints(value: Any, parameters: _Parameters) -> _Constraints:
    if value is None:
        return ()
    items = _as_list(value, "linear_constraints")
    by_name = {p.name: p for p in parameters}
    return tuple(_parse_linear_constraint(item, f"linear_constraints[{i}]", by_name) for i, item in enumerate(items))


def _parse_linear_constraint(item: Any, path: str, by_name: Mapping[str, Parameter]) -> LinearConstraint:
    obj = _as_mapping(item, path)
    _check_keys(obj, frozenset({"type", "threshold", "terms"}), path)
    raw_type = _required(obj, "type", f"{path}.type")
    if not isinstance(raw_type, str) or raw_type not in _CONSTRAINT_TYPES:
        _fail(f"{path}.type", f"{_short(raw_type)} is not one of the allowed values: greater_than, less_than.")
    threshold = _number(_required(obj, "threshold", f"{path}.threshold"), f"{path}.threshold")
    items = _as_list(_required(obj, "terms", f"{path}.terms"), f"{path}.terms")
    terms = tuple(_parse_term(term, f"{path}.terms[{j}]") for j, term in enumerate(items))
    _check_terms(terms, f"{path}.terms", by_name)
    _check_magnitude(terms, threshold, path, by_name)
    return LinearConstraint(type=_CONSTRAINT_TYPES[raw_type], threshold=threshold, terms=terms)


def _parse_term(item: Any, path: str) -> ConstraintTerm:
    obj = _as_mapping(item, path)
    _check_keys(obj, frozenset({"name", "weight"}), path)
    name = _string(_required(obj, "name", f"{path}.name"), f"{path}.name")
    weight = _number(_required(obj, "weight", f"{path}.weight"), f"{path}.weight")
    return ConstraintTerm(name=name, weight=weight)


def _check_terms(terms: tuple[ConstraintTerm, ...], path: str, by_name: Mapping[str, Parameter]) -> None:
    if len(terms) <= 1:
        _fail(path, f"Constraint must have more than one term, got {len(terms)}.")
    for index, term in enumerate(terms):
        _check_constraint_variable(by_name.get(term.name), term.name, f"{path}[{index}].name")
        if term.name in (t.name for t in terms[:index]):
            _fail(f"{path}[{index}].name", f"Duplicate constrained variable name: {term.name}.")
    if len({by_name[t.name].type for t in terms}) > 1:
        _fail(path, "Constraint functions cannot mix integers and doubles. One or the other only.")


def _check_magnitude(
    terms: tuple[ConstraintTerm, ...], threshold: float, path: str, by_name: Mapping[str, Parameter]
) -> None:
    """The weighted sum must stay far from float overflow wherever the parameters are in their bounds."""
    largest = abs(threshold)
    for term in terms:
        bounds = by_name[term.name].bounds
        if bounds is not None:
            largest += abs(term.weight) * max(abs(bounds.min), abs(bounds.max))
    if not largest <= MAX_CONSTRAINT_MAGNITUDE:
        _fail(
            path,
            f"|threshold| plus the sum of |weight| × the largest |bound| of each term is {largest:.3g}, above "
            f"{MAX_CONSTRAINT_MAGNITUDE:g}; the constraint's sums would overflow a 64-bit float. Rescale the "
            "weights and threshold.",
        )


def _check_constraint_variable(parameter: Parameter | None, name: str, path: str) -> None:
    if parameter is None:
        _fail(path, f"Variable {name} is not a known parameter.")
    if parameter.type == "categorical":
        _fail(path, f"Variable {name} is not a parameter of type `double` or type `int`.")
    if parameter.conditions:
        _fail(path, f"Constraint cannot be defined on a conditioned parameter {name}.")
    if parameter.is_log:
        _fail(path, f"Constraint cannot be defined on a log-transformed parameter {name}.")
    if parameter.grid:
        _fail(path, f"Constraint cannot be defined on a grid parameter {name}.")


def _check_feasible(constraints: _Constraints, by_name: Mapping[str, Parameter]) -> None:
    if not constraints:
        return
    if not _has_interior_point(constraints, by_name):
        _fail(
            "linear_constraints",
            "Infeasible constraints: no point strictly inside the parameter bounds satisfies all of them.",
        )
    integer = tuple(c for c in constraints if by_name[c.terms[0].name].type == "int")
    if integer and not _has_integer_point(integer, by_name):
        _fail(
            "linear_constraints",
            "Infeasible constraints: no integer assignment inside the bounds of the int parameters "
            "satisfies all of them.",
        )


def _constraint_rows(constraints: _Constraints, names: list[str]) -> tuple[list[list[float]], list[float]]:
    """The constraints as ``A @ x <= b`` over the variables ``names``."""
    index = {name: i for i, name in enumerate(names)}
    rows, rhs = [], []
    for constraint in constraints:
        sign = 1.0 if constraint.type == "less_than" else -1.0
        row = [0.0] * len(names)
        for term in constraint.terms:
            row[index[term.name]] = sign * term.weight
        rows.append(row)
        rhs.append(sign * constraint.threshold)
    return rows, rhs


def _unit_rows(a: Any, b: Any) -> tuple[Any, Any]:
    """``a @ x <= b`` with each row divided by its largest |coefficient|: the same region, with
    coefficients the LP solver takes (it rejects huge ones, and a row's norm must not overflow)."""
    import numpy as np

    scale = np.abs(a).max(axis=1)
    scale[scale == 0] = 1.0
    return a / scale[:, None], b / scale


def _bounds_of(parameters: Sequence[Parameter]) -> list[tuple[float, float]]:
    # Constrained parameters are numeric and off-grid, so they always have bounds.
    return [(p.bounds.min, p.bounds.max) if p.bounds else (0.0, 1.0) for p in parameters]


def _has_interior_point(constraints: _Constraints, by_name: Mapping[str, Parameter]) -> bool:
    """Whether the region has a ball of positive radius inside the bounds (its Chebyshev centre).

    Solved in the unit cube the bounds map to, so the tolerance does not depend on their scale;
    sigoptlite asks for the same interior point (``find_interior_point``).
    """
    import numpy as np
    from scipy.optimize import linprog

    names = sorted({t.name for c in constraints for t in c.terms})
    rows, rhs = _constraint_rows(constraints, names)
    low, high = np.array(_bounds_of([by_name[n] for n in names])).T
    a, b = _unit_rows(np.array(rows) * (high - low), np.array(rhs) - np.array(rows) @ low)
    n = len(names)
    cube = np.vstack([-np.eye(n), np.eye(n)])
    a_ub = np.vstack([np.hstack([a, np.linalg.norm(a, axis=1)[:, None]]), np.hstack([cube, np.ones((2 * n, 1))])])
    b_ub = np.concatenate([b, np.zeros(n), np.ones(n)])
    objective = np.zeros(n + 1)
    objective[-1] = -1.0
    result = linprog(objective, A_ub=a_ub, b_ub=b_ub, bounds=[(None, None)] * n + [(0, None)], method="highs")
    if result.status == 2:
        return False
    # Other statuses are numerical trouble, not proof of infeasibility: let the optimizer try.
    return result.status != 0 or -float(result.fun) > _INTERIOR_TOLERANCE


def _has_integer_point(constraints: _Constraints, by_name: Mapping[str, Parameter]) -> bool:
    import numpy as np
    from scipy.optimize import linprog

    names = sorted({t.name for c in constraints for t in c.terms})
    rows, rhs = _constraint_rows(constraints, names)
    a, b = _unit_rows(np.array(rows), np.array(rhs))
    bounds = _bounds_of([by_name[n] for n in names])
    result = linprog(
        np.zeros(len(names)),
        A_ub=a,
        b_ub=b,
        bounds=bounds,
        integrality=np.ones(len(names)),
        method="highs",
    )
    return bool(result.status != 2)


# --- YAML
class _YamlLoader(yaml.SafeLoader):  # type: ignore[misc, unused-ignore]
    """``yaml.SafeLoader`` that also reads ``1e-5`` (no dot) as a float, as YAML 1.2 does."""


_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _read_yaml(file: Path) -> Any:
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ValidationError(f"Experiment file {_short(str(file))} does not exist.") from exc
    except (OSError, ValueError) as exc:  # ValueError: undecodable text, or a name the OS cannot take
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValidationError(f"Experiment file {_short(str(file))} cannot be read: {reason}.") from exc
    try:
        return yaml.load(text, Loader=_YamlLoader)
    except yaml.YAMLError as exc:
        raise ValidationError(f"Experiment file {_short(str(file))} is not valid YAML: {_yaml_problem(exc)}") from exc


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"{exc.problem} (line {mark.line + 1}, column {mark.column + 1})."
    return f"{exc}."
