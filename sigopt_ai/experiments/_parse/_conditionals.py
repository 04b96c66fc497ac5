"""Conditionals, the conditions of parameters, and the rules on a conditional experiment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sigopt_ai._checks import short_repr
from sigopt_ai._definition import Conditional
from sigopt_ai.experiments._parse._common import (
    Conditionals,
    Conditions,
    Metrics,
    Parameters,
    as_list,
    as_mapping,
    check_keys,
    check_name,
    check_unique,
    fail,
    required,
    value_names,
)


def parse_conditionals(value: Any) -> Conditionals:
    """The ``conditionals`` list: unique names, each with at least two unique values."""
    if value is None:
        return ()
    items = as_list(value, "conditionals")
    conditionals = tuple(_parse_conditional(item, f"conditionals[{i}]") for i, item in enumerate(items))
    check_unique([c.name for c in conditionals], "conditionals", "No duplicate conditionals are allowed")
    return conditionals


def _parse_conditional(item: Any, path: str) -> Conditional:
    obj = as_mapping(item, path)
    check_keys(obj, frozenset({"name", "values"}), path)
    name = check_name(required(obj, "name", f"{path}.name"), f"{path}.name")
    values = value_names(required(obj, "values", f"{path}.values"), f"{path}.values", f"Conditional {name}")
    if len(values) < 2:
        fail(f"{path}.values", f"Conditional {name} must have at least two values, got {list(values)!r}.")
    return Conditional(name=name, values=values)


def parse_conditions(value: Any, path: str, name: str, conditionals: Conditionals) -> Conditions:
    """A parameter's ``conditions``: each names a conditional and some of its values."""
    if value is None:
        return {}
    obj = as_mapping(value, path)
    if obj and not conditionals:
        fail(
            path,
            "For conditional experiment, need both conditions defined in parameters and conditionals "
            "variables defined in experiment; the experiment has no conditionals.",
        )
    known = {c.name: c.values for c in conditionals}
    unknown = [key for key in obj if key not in known]
    if unknown:
        fail(
            path,
            f"The parameter {name} has conditions {unknown!r} that are not part of the conditionals {sorted(known)!r}.",
        )
    return {key: _condition_values(item, f"{path}.{key}", key, known[key]) for key, item in obj.items()}


def _condition_values(value: Any, path: str, conditional: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else as_list(value, path)
    if not items:
        fail(path, f"a condition must list at least one value of conditional {conditional}, got none.")
    for index, item in enumerate(items):
        if not isinstance(item, str) or item not in allowed:
            fail(
                path,
                f"{short_repr(item)} is not a value of conditional {conditional}. Valid values are {list(allowed)!r}.",
            )
        if item in items[:index]:
            fail(path, f"the value {item!r} is listed twice.")
    return tuple(items)


def check_conditional_features(
    parameters: Parameters,
    conditionals: Conditionals,
    metrics: Metrics,
    num_solutions: int,
) -> None:
    """The rules on a conditional experiment as a whole: features it excludes, and every combination of conditional
    values activates some parameter.
    """
    if not conditionals:
        return
    if not any(p.conditions for p in parameters):
        fail(
            "conditionals",
            "For conditional experiment, need both conditions defined in parameters and conditionals "
            "variables defined in experiment; no parameter has conditions.",
        )
    if num_solutions > 1:
        fail("num_solutions", "An experiment with multiple solutions does not support conditional parameters.")
    if not any(m.strategy == "optimize" for m in metrics):
        fail("conditionals", "All-Constraint experiment does not support conditional parameters.")
    _check_conditional_coverage(parameters, conditionals)


def _check_conditional_coverage(parameters: Parameters, conditionals: Conditionals) -> None:
    # An unconditioned parameter is active under every combination, so it covers them all.
    if any(not p.conditions for p in parameters):
        return
    level = {c.name: i for i, c in enumerate(conditionals)}
    boxes = [{level[c]: frozenset(values) for c, values in p.conditions.items()} for p in parameters]
    uncovered = _first_uncovered([c.values for c in conditionals], boxes)
    if uncovered is not None:
        chosen = dict(zip((c.name for c in conditionals), uncovered, strict=True))
        fail(
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
