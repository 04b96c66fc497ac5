"""Parameters: types, bounds, grids, log transformation, priors and default values."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from sigopt_ai._checks import short_repr
from sigopt_ai._definition import Bounds, Parameter, ParameterType, Prior
from sigopt_ai._types import ParamValue
from sigopt_ai.experiments._parse._common import (
    Conditionals,
    Conditions,
    Parameters,
    as_float,
    as_list,
    as_mapping,
    as_number,
    as_written,
    check_keys,
    check_name,
    check_unique,
    choice,
    fail,
    is_integral,
    is_real,
    non_empty_list,
    required,
    value_names,
)
from sigopt_ai.experiments._parse._conditionals import parse_conditions

MAX_EXACT_INT = 2**53
"""The largest int bound or grid value: float64, which the optimizer computes in, holds every int up to it."""

_PARAMETER_KEYS = frozenset(
    "name type bounds categorical_values grid transformation prior conditions default_value".split()
)
_PARAMETER_TYPES: dict[str, ParameterType] = {"double": "double", "int": "int", "categorical": "categorical"}


def parse_parameters(value: Any, conditionals: Conditionals) -> Parameters:
    """The ``parameters`` list: at least one, unique names that no conditional also has."""
    items = non_empty_list(value, "parameters", "parameter")
    parameters = tuple(_parse_parameter(item, f"parameters[{i}]", conditionals) for i, item in enumerate(items))
    check_unique([p.name for p in parameters], "parameters", "No duplicate parameters are allowed")
    conditional_names = {c.name for c in conditionals}
    for index, parameter in enumerate(parameters):
        if parameter.name in conditional_names:
            fail(
                f"parameters[{index}].name",
                f"cannot have a parameter and a conditional both named {parameter.name!r}.",
            )
    return parameters


def _parse_parameter(item: Any, path: str, conditionals: Conditionals) -> Parameter:
    obj = as_mapping(item, path)
    check_keys(obj, _PARAMETER_KEYS, path)
    name = check_name(required(obj, "name", f"{path}.name"), f"{path}.name")
    raw_type = required(obj, "type", f"{path}.type")
    ptype = choice(raw_type, f"{path}.type", _PARAMETER_TYPES, "parameter type", "double")
    conditions = parse_conditions(obj.get("conditions"), f"{path}.conditions", name, conditionals)
    if ptype == "categorical":
        return _parse_categorical(obj, path, name, conditions)
    return _parse_numeric(obj, path, name, ptype, conditions)


def _parse_categorical(obj: Mapping[str, Any], path: str, name: str, conditions: Conditions) -> Parameter:
    rules = {
        "bounds": "Categorical parameter should not have bounds",
        "grid": "Categorical parameter does not support grid values",
        "prior": "Prior only applies to parameters type of double",
    }
    for key, rule in rules.items():
        if obj.get(key) is not None:
            fail(f"{path}.{key}", f"{rule}, got {short_repr(obj[key])} on categorical parameter {name}.")
    _parse_transformation(obj.get("transformation"), f"{path}.transformation", "categorical")
    raw = obj.get("categorical_values")
    if raw is None:
        fail(f"{path}.categorical_values", f"categorical parameter {name} needs categorical_values.")
    values = value_names(raw, f"{path}.categorical_values", f"Categorical parameter {name}")
    if len(values) < 2:
        fail(
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
    conditions: Conditions,
) -> Parameter:
    if obj.get("categorical_values") is not None:
        fail(f"{path}.categorical_values", f"numerical parameter {name} cannot have categorical_values.")
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
        fail(path, f"{short_repr(value)} is not a valid transformation. It must be one of ['log', 'none'].")
    if ptype != "double":
        fail(path, f"log-transformation only applies to parameters type of double, not {ptype}.")
    return "log"


def _parse_grid(value: Any, path: str, name: str, ptype: ParameterType) -> tuple[float, ...]:
    if value is None:
        return ()
    items = as_list(value, path)
    grid = [_typed_number(v, f"{path}[{i}]", "Grid value", name, ptype) for i, v in enumerate(items)]
    if len(grid) < 2:
        fail(path, f"Grid parameter {name} must have more than one value, got {grid!r}.")
    if len(set(grid)) != len(grid):
        fail(path, f"Grid values should be unique, got {grid!r}.")
    return tuple(sorted(grid))


def _parse_bounds(value: Any, path: str, name: str, ptype: ParameterType, has_grid: bool) -> Bounds | None:
    if has_grid:
        if value is not None:
            fail(
                path,
                f"Grid parameter should not have bounds (got {short_repr(value)}); the grid of {name} sets its range.",
            )
        return None
    if value is None:
        fail(path, f"parameter {name} must have bounds (or a grid).")
    obj = as_mapping(value, path)
    check_keys(obj, frozenset({"min", "max"}), path)
    low = _typed_number(required(obj, "min", f"{path}.min"), f"{path}.min", "Parameter bound", name, ptype)
    high = _typed_number(required(obj, "max", f"{path}.max"), f"{path}.max", "Parameter bound", name, ptype)
    if not low < high:
        fail(path, f"min ({as_written(low)}) must be less than max ({as_written(high)}).")
    if not math.isfinite(high - low):
        fail(
            path,
            f"the width max - min must be a finite 64-bit float, got [{as_written(low)}, {as_written(high)}] "
            "(the optimizer maps the bounds onto [0, 1] through it).",
        )
    return Bounds(min=low, max=high)


def _check_log_domain(bounds: Bounds | None, grid: tuple[float, ...], path: str) -> None:
    if bounds is not None and bounds.min <= 0:
        fail(
            f"{path}.bounds",
            f"Invalid bounds for log-transformation: bounds must be positive, got min {as_written(bounds.min)}.",
        )
    if grid and grid[0] <= 0:
        fail(
            f"{path}.grid",
            f"Invalid grid values for log-transformation: values must be positive, got {as_written(grid[0])}.",
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
        fail(path, f"Prior only applies to parameters type of double, not {ptype}.")
    if grid:
        fail(path, "Grid parameters cannot have priors.")
    if transformation == "log":
        fail(path, "Parameters with log transformation cannot have priors.")
    obj = as_mapping(value, path)
    kind = required(obj, "name", f"{path}.name")
    if kind == "normal" and bounds is not None:
        return _parse_normal_prior(obj, path, bounds)
    if kind == "beta":
        return _parse_beta_prior(obj, path)
    fail(f"{path}.name", f"{short_repr(kind)} is not a valid prior. It must be one of ['beta', 'normal'].")


def _parse_normal_prior(obj: Mapping[str, Any], path: str, bounds: Bounds) -> Prior:
    check_keys(obj, frozenset({"name", "mean", "scale"}), path)
    mean = as_number(required(obj, "mean", f"{path}.mean"), f"{path}.mean")
    scale = as_number(required(obj, "scale", f"{path}.scale"), f"{path}.scale")
    if not bounds.min <= mean <= bounds.max:
        fail(
            f"{path}.mean",
            f"the mean ({as_written(mean)}) must be within the bounds "
            f"[{as_written(bounds.min)}, {as_written(bounds.max)}] of the parameter.",
        )
    if scale <= 0:
        fail(f"{path}.scale", f"the scale must be positive, got {as_written(scale)}.")
    return Prior(name="normal", mean=mean, scale=scale)


def _parse_beta_prior(obj: Mapping[str, Any], path: str) -> Prior:
    check_keys(obj, frozenset({"name", "shape_a", "shape_b"}), path)
    shapes = []
    for key in ("shape_a", "shape_b"):
        shape = as_number(required(obj, key, f"{path}.{key}"), f"{path}.{key}")
        if shape <= 0:
            fail(f"{path}.{key}", f"shape parameters for beta must be positive, got {as_written(shape)}.")
        shapes.append(shape)
    return Prior(name="beta", shape_a=shapes[0], shape_b=shapes[1])


def _categorical_default(value: Any, path: str, name: str, values: tuple[str, ...]) -> ParamValue:
    if value is None:
        return None
    if value not in values:
        fail(
            path,
            f"Categorical parameter {name} must have one of following categories: {list(values)!r} "
            f"instead of {short_repr(value)}.",
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
        fail(
            path,
            f"Grid parameter {name} must have one of following grid values: {list(grid)!r} "
            f"instead of {as_written(number)}.",
        )
    if bounds is not None and not bounds.min <= number <= bounds.max:
        fail(
            path,
            f"the default value {as_written(number)} is outside the bounds "
            f"[{as_written(bounds.min)}, {as_written(bounds.max)}] of parameter {name}.",
        )
    return number


def _typed_number(value: Any, path: str, what: str, name: str, ptype: ParameterType) -> int | float:
    """A bound, grid value or default of a numeric parameter, in the parameter's type."""
    if is_real(value) and not math.isfinite(as_float(value, path)):
        fail(path, f"expected a finite number, got {float(value)!r}.")
    if ptype == "int" and is_integral(value):
        number = int(value)
        if abs(number) > MAX_EXACT_INT:
            fail(
                path,
                f"int values must be within ±2**53 ({MAX_EXACT_INT}), the integers the optimizer "
                f"represents exactly, got {number}.",
            )
        return number
    if ptype == "double" and is_real(value):
        return float(value)
    fail(path, f"{what} {short_repr(value)} is not from the same type as parameter {name} ({ptype}).")
