"""Linear constraints: their terms, a bound on their magnitude, and feasibility inside the parameter bounds.

Feasibility is a linear program (scipy's HiGHS), so this is the one rule module that loads numpy and scipy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from scipy.optimize import linprog

from sigopt_ai._checks import short_repr
from sigopt_ai._definition import ConstraintTerm, LinearConstraint, Parameter
from sigopt_ai.experiments._parse._common import (
    Parameters,
    as_list,
    as_mapping,
    as_number,
    as_string,
    check_keys,
    fail,
    required,
)

MAX_CONSTRAINT_MAGNITUDE = 1e300
"""Largest |threshold| + sum |weight| × |bound| of a linear constraint, leaving float headroom for its sums."""

# Radius, in the unit cube the bounds map to, below which a constraint region counts as empty.
_INTERIOR_TOLERANCE = 1e-9
_CONSTRAINT_TYPES: dict[str, Literal["greater_than", "less_than"]] = {
    "greater_than": "greater_than",
    "less_than": "less_than",
}
_Constraints = tuple[LinearConstraint, ...]


def parse_linear_constraints(value: Any, parameters: Parameters) -> _Constraints:
    """The ``linear_constraints`` list, each on numeric, unconditioned, unlogged, off-grid parameters of one type."""
    if value is None:
        return ()
    items = as_list(value, "linear_constraints")
    by_name = {p.name: p for p in parameters}
    return tuple(_parse_linear_constraint(item, f"linear_constraints[{i}]", by_name) for i, item in enumerate(items))


def _parse_linear_constraint(item: Any, path: str, by_name: Mapping[str, Parameter]) -> LinearConstraint:
    obj = as_mapping(item, path)
    check_keys(obj, frozenset({"type", "threshold", "terms"}), path)
    raw_type = required(obj, "type", f"{path}.type")
    if not isinstance(raw_type, str) or raw_type not in _CONSTRAINT_TYPES:
        fail(f"{path}.type", f"{short_repr(raw_type)} is not one of the allowed values: greater_than, less_than.")
    threshold = as_number(required(obj, "threshold", f"{path}.threshold"), f"{path}.threshold")
    items = as_list(required(obj, "terms", f"{path}.terms"), f"{path}.terms")
    terms = tuple(_parse_term(term, f"{path}.terms[{j}]") for j, term in enumerate(items))
    _check_terms(terms, f"{path}.terms", by_name)
    _check_magnitude(terms, threshold, path, by_name)
    return LinearConstraint(type=_CONSTRAINT_TYPES[raw_type], threshold=threshold, terms=terms)


def _parse_term(item: Any, path: str) -> ConstraintTerm:
    obj = as_mapping(item, path)
    check_keys(obj, frozenset({"name", "weight"}), path)
    name = as_string(required(obj, "name", f"{path}.name"), f"{path}.name")
    weight = as_number(required(obj, "weight", f"{path}.weight"), f"{path}.weight")
    return ConstraintTerm(name=name, weight=weight)


def _check_terms(terms: tuple[ConstraintTerm, ...], path: str, by_name: Mapping[str, Parameter]) -> None:
    if len(terms) <= 1:
        fail(path, f"Constraint must have more than one term, got {len(terms)}.")
    for index, term in enumerate(terms):
        _check_constraint_variable(by_name.get(term.name), term.name, f"{path}[{index}].name")
        if term.name in (t.name for t in terms[:index]):
            fail(f"{path}[{index}].name", f"Duplicate constrained variable name: {term.name}.")
    if len({by_name[t.name].type for t in terms}) > 1:
        fail(path, "Constraint functions cannot mix integers and doubles. One or the other only.")


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
        fail(
            path,
            f"|threshold| plus the sum of |weight| × the largest |bound| of each term is {largest:.3g}, above "
            f"{MAX_CONSTRAINT_MAGNITUDE:g}; the constraint's sums would overflow a 64-bit float. Rescale the "
            "weights and threshold.",
        )


def _check_constraint_variable(parameter: Parameter | None, name: str, path: str) -> None:
    if parameter is None:
        fail(path, f"Variable {name} is not a known parameter.")
    if parameter.type == "categorical":
        fail(path, f"Variable {name} is not a parameter of type `double` or type `int`.")
    if parameter.conditions:
        fail(path, f"Constraint cannot be defined on a conditioned parameter {name}.")
    if parameter.is_log:
        fail(path, f"Constraint cannot be defined on a log-transformed parameter {name}.")
    if parameter.grid:
        fail(path, f"Constraint cannot be defined on a grid parameter {name}.")


def check_feasible(constraints: _Constraints, by_name: Mapping[str, Parameter]) -> None:
    """Fail when no point strictly inside the bounds, or no integer point for int parameters, satisfies all
    constraints.
    """
    if not constraints:
        return
    if not _has_interior_point(constraints, by_name):
        fail(
            "linear_constraints",
            "Infeasible constraints: no point strictly inside the parameter bounds satisfies all of them.",
        )
    integer = tuple(c for c in constraints if by_name[c.terms[0].name].type == "int")
    if integer and not _has_integer_point(integer, by_name):
        fail(
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
