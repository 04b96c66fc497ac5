"""The canonical JSON of an experiment definition: ``to_json`` and ``from_json`` are exact inverses.

The store keeps ``definition.to_json()`` and the optimizer service rebuilds the definition with
``ExperimentDefinition.from_json`` without validating it again, so for every valid definition the
rebuilt value must equal the original, field by field and type by type (``repr`` tells ``1`` from
``1.0`` and a tuple from a list), and must equal what ``parse_experiment`` makes of the same JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
from sigopt_ai.experiments._parse import parse_experiment

Draw = Callable[[st.SearchStrategy[Any]], Any]


@pytest.fixture
def store() -> None:
    """Replaces the root conftest's autouse SQLite store: these tests never touch a store."""


def assert_exact_round_trip(definition: ExperimentDefinition) -> None:
    """``from_json`` and ``parse_experiment`` both give back ``definition``, before and after JSON text."""
    data = definition.to_json()
    stored = json.loads(json.dumps(data, allow_nan=False))
    for rebuilt in (
        ExperimentDefinition.from_json(data),
        ExperimentDefinition.from_json(stored),
        parse_experiment(data),
        parse_experiment(stored),
    ):
        assert rebuilt == definition
        assert repr(rebuilt) == repr(definition)
    assert stored == data


# -- strategies: valid SigOpt bodies, by construction -------------------------------------------

TEXT = st.characters(exclude_categories=["Cs"])  # no lone surrogates: the store refuses them
SMALL_FLOATS = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
POSITIVE_FLOATS = st.floats(1e-6, 1e6)
SMALL_INTS = st.integers(-(10**6), 10**6)


def names(count: int, max_size: int = 100) -> st.SearchStrategy[list[str]]:
    return st.lists(st.text(TEXT, min_size=1, max_size=max_size), min_size=count, max_size=count, unique=True)


@st.composite
def numeric_parameter(draw: Draw, name: str, *, grid: bool) -> dict[str, Any]:
    """A double or int parameter: bounds or a grid, maybe log-scaled, maybe with a prior and a default."""
    ptype = draw(st.sampled_from(["double", "int"]))
    log = ptype == "double" and draw(st.booleans())
    numbers = POSITIVE_FLOATS if log else (SMALL_FLOATS if ptype == "double" else SMALL_INTS)
    body: dict[str, Any] = {"name": name, "type": ptype}
    if log:
        body["transformation"] = "log"
    elif draw(st.booleans()):
        body["transformation"] = "none"
    if grid:
        values = draw(st.lists(numbers, min_size=2, max_size=4, unique=True))
        body["grid"] = values
        domain = values
    else:
        low, high = sorted(draw(st.lists(numbers, min_size=2, max_size=2, unique=True)))
        body["bounds"] = {"min": low, "max": high}
        domain = [low, high]
        if ptype == "double" and not log:
            body["prior"] = draw(st.one_of(st.none(), prior(low, high)))
    if draw(st.booleans()):
        body["default_value"] = draw(st.sampled_from(domain))
    return body


def prior(low: float, high: float) -> st.SearchStrategy[dict[str, Any]]:
    normal = st.builds(
        lambda mean, scale: {"name": "normal", "mean": mean, "scale": scale},
        st.floats(low, high),
        POSITIVE_FLOATS,
    )
    beta = st.builds(
        lambda a, b: {"name": "beta", "shape_a": a, "shape_b": b},
        POSITIVE_FLOATS,
        POSITIVE_FLOATS,
    )
    return st.one_of(normal, beta)


@st.composite
def categorical_parameter(draw: Draw, name: str) -> dict[str, Any]:
    values = draw(names(draw(st.integers(2, 4)), max_size=50))
    body: dict[str, Any] = {"name": name, "type": "categorical"}
    # SigOpt accepts the values as names or as objects, as its API gives them back.
    body["categorical_values"] = draw(st.sampled_from([values, [{"name": v} for v in values]]))
    if draw(st.booleans()):
        body["default_value"] = draw(st.sampled_from(values))
    return body


@st.composite
def conditions(draw: Draw, conditionals: list[dict[str, Any]]) -> dict[str, Any]:
    """Some conditionals, each to a non-empty subset of its values (a lone value maybe as a string)."""
    chosen = draw(st.lists(st.sampled_from(conditionals), unique_by=lambda c: c["name"], max_size=len(conditionals)))
    result: dict[str, Any] = {}
    for conditional in chosen:
        values = draw(st.lists(st.sampled_from(conditional["values"]), min_size=1, unique=True))
        result[conditional["name"]] = values[0] if len(values) == 1 and draw(st.booleans()) else values
    return result


def reference_point(parameter: dict[str, Any]) -> float:
    """A point inside the bounds, integral for an int parameter, that every generated constraint holds at."""
    low: float = parameter["bounds"]["min"]
    high: float = parameter["bounds"]["max"]
    return (low + high) // 2 if parameter["type"] == "int" else (low + high) / 2


@st.composite
def linear_constraints(draw: Draw, parameters: list[dict[str, Any]], *, least: int) -> list[dict[str, Any]]:
    """Constraints on unconditioned, unlogged, off-grid numeric parameters of one type each, all holding
    with a wide margin at one reference point, so the region has an interior (and integer) point."""
    eligible = [
        p
        for p in parameters
        if p["type"] != "categorical" and "bounds" in p and not p.get("conditions") and p.get("transformation") != "log"
    ]
    by_type = {t: [p for p in eligible if p["type"] == t] for t in ("double", "int")}
    groups = [group for group in by_type.values() if len(group) >= 2]
    result = []
    for _ in range(draw(st.integers(least, 3)) if groups else 0):
        group = draw(st.sampled_from(groups))
        terms = draw(st.lists(st.sampled_from(group), min_size=2, unique_by=lambda p: p["name"]))
        weights = [draw(st.sampled_from([-1, 1])) * draw(st.floats(0.1, 100)) for _ in terms]
        at_reference = sum(w * reference_point(p) for w, p in zip(weights, terms, strict=True))
        spread = sum(abs(w) * (p["bounds"]["max"] - p["bounds"]["min"]) for w, p in zip(weights, terms, strict=True))
        kind = draw(st.sampled_from(["less_than", "greater_than"]))
        margin = 0.1 * spread + 1.0
        threshold = at_reference + margin if kind == "less_than" else at_reference - margin
        result.append(
            {
                "type": kind,
                "threshold": threshold,
                "terms": [{"name": p["name"], "weight": w} for w, p in zip(weights, terms, strict=True)],
            }
        )
    return result


@st.composite
def metrics(draw: Draw, *, needs_optimized: bool, one_optimized: bool) -> list[Any]:
    """One or two optimized metrics (thresholds only with two), up to 4 constraint and a few stored ones."""
    if one_optimized:
        optimized = 1
    else:
        optimized = draw(st.integers(1 if needs_optimized else 0, 2))
    constraint = draw(st.integers(0 if optimized else 1, 4))
    stored = draw(st.integers(0, 2))
    metric_names = draw(names(optimized + constraint + stored))
    result: list[Any] = []
    for index, name in enumerate(metric_names):
        strategy = "optimize" if index < optimized else "constraint" if index < optimized + constraint else "store"
        metric: dict[str, Any] = {"name": name}
        if strategy != "optimize" or draw(st.booleans()):
            metric["strategy"] = strategy
        if draw(st.booleans()):
            metric["objective"] = draw(st.sampled_from(["maximize", "minimize"]))
        if strategy == "constraint" or (optimized == 2 and strategy == "optimize" and draw(st.booleans())):
            metric["threshold"] = draw(SMALL_FLOATS)
        result.append(metric if metric.keys() != {"name"} or draw(st.booleans()) else name)
    shuffled: list[Any] = draw(st.permutations(result))
    return shuffled


@st.composite
def definitions(draw: Draw, *, constrained: bool = False) -> dict[str, Any]:
    """A body that ``parse_experiment`` accepts, touching every feature of the definition.

    ``constrained`` leaves out grids, so that most bodies have linear constraints.
    """
    kind = draw(st.sampled_from(["offline", "random"] if constrained else ["offline", "random", "grid"]))
    grid_only = kind == "grid"
    conditional_count = 0 if grid_only else draw(st.integers(0, 2))
    parameter_count = draw(st.integers(1, 6))
    all_names = draw(names(parameter_count + conditional_count))
    conditionals = [
        {"name": name, "values": draw(names(draw(st.integers(2, 3)), max_size=50))}
        for name in all_names[parameter_count:]
    ]
    parameters = []
    for index, name in enumerate(all_names[:parameter_count]):
        if draw(st.integers(0, 3)) == 0:
            parameter = draw(categorical_parameter(name))
        else:
            on_grid = grid_only or (not constrained and draw(st.integers(0, 3)) == 0)
            parameter = draw(numeric_parameter(name, grid=on_grid))
        if conditionals and index == 0:
            # One parameter active under every value of the first conditional covers each combination.
            parameter["conditions"] = {conditionals[0]["name"]: conditionals[0]["values"]}
        elif conditionals:
            parameter["conditions"] = draw(conditions(conditionals))
        parameters.append(parameter)
    num_solutions = 1 if conditionals or draw(st.integers(0, 3)) else draw(st.integers(2, 5))
    body: dict[str, Any] = {
        "name": draw(st.text(TEXT, min_size=1, max_size=100)),
        "parameters": parameters,
        "metrics": draw(metrics(needs_optimized=bool(conditionals), one_optimized=num_solutions > 1)),
    }
    if kind != "offline" or draw(st.booleans()):
        body["type"] = kind
    if conditionals:
        body["conditionals"] = conditionals
    constraints = draw(linear_constraints(parameters, least=int(constrained)))
    if constraints or draw(st.booleans()):
        body["linear_constraints"] = constraints
    if grid_only:
        points = math.prod(len(p.get("grid") or p["categorical_values"]) for p in parameters)
        if points >= num_solutions and draw(st.booleans()):
            body["budget"] = points
        num_solutions = min(num_solutions, points)
    else:
        budget = draw(st.one_of(st.none(), st.integers(max(num_solutions, 1), 10**6)))
        if budget is None and needs_budget(body["metrics"], num_solutions):
            budget = num_solutions * 10
        if budget is not None:
            body[draw(st.sampled_from(["budget", "observation_budget"]))] = budget
    if num_solutions > 1 or draw(st.booleans()):
        body["num_solutions"] = num_solutions
    if draw(st.booleans()):
        body["parallel_bandwidth"] = draw(st.integers(1, 64))
    body["metadata"] = draw(
        st.dictionaries(
            st.text(TEXT, max_size=100),
            st.one_of(
                st.none(),
                st.booleans(),
                st.integers(-(2**63), 2**63 - 1),
                st.floats(allow_nan=False, allow_infinity=False),
                st.text(TEXT, max_size=500),
            ),
            max_size=5,
        )
    )
    return body


def needs_budget(metrics: list[Any], num_solutions: int) -> bool:
    """SigOpt's rule: several optimized metrics, a constraint metric or several solutions need a budget."""
    strategies = [m.get("strategy", "optimize") if isinstance(m, dict) else "optimize" for m in metrics]
    return num_solutions > 1 or strategies.count("optimize") > 1 or "constraint" in strategies


# -- properties ------------------------------------------------------------------------------------


@given(body=definitions())
def test_every_valid_definition_round_trips_exactly(body: dict[str, Any]) -> None:
    assert_exact_round_trip(parse_experiment(body))


@given(body=definitions(constrained=True))
def test_definitions_with_linear_constraints_round_trip_exactly(body: dict[str, Any]) -> None:
    assert_exact_round_trip(parse_experiment(body))


@given(body=definitions())
def test_to_json_is_the_canonical_form_of_its_own_output(body: dict[str, Any]) -> None:
    data = parse_experiment(body).to_json()
    assert ExperimentDefinition.from_json(data).to_json() == data


# -- examples --------------------------------------------------------------------------------------


def test_a_definition_with_every_feature_round_trips_exactly() -> None:
    definition = ExperimentDefinition(
        name="tune",
        parameters=(
            Parameter(name="lr", type="double", bounds=Bounds(1e-5, 0.1), transformation="log"),
            Parameter(name="depth", type="int", bounds=Bounds(2, 16), default_value=4),
            Parameter(
                name="opt", type="categorical", categorical_values=("adam", "sgd"), conditions={"arch": ("cnn",)}
            ),
            Parameter(name="drop", type="double", grid=(0.0, 0.1, 0.3), default_value=0.1),
            Parameter(name="wd", type="double", bounds=Bounds(0.0, 1.0), prior=Prior("normal", mean=0.1, scale=0.05)),
            Parameter(
                name="mom", type="double", bounds=Bounds(0.0, 1.0), prior=Prior("beta", shape_a=2.0, shape_b=2.0)
            ),
        ),
        metrics=(
            Metric(name="acc", threshold=0.5),
            Metric(name="latency", objective="minimize"),
            Metric(name="mem", objective="minimize", strategy="constraint", threshold=50.0),
            Metric(name="loss", strategy="store"),
        ),
        conditionals=(Conditional(name="arch", values=("cnn", "mlp")),),
        linear_constraints=(
            LinearConstraint(
                type="less_than", threshold=1.0, terms=(ConstraintTerm("wd", 1.0), ConstraintTerm("mom", 1.0))
            ),
        ),
        budget=60,
        parallel_bandwidth=4,
        type="random",
        metadata={"team": "vision", "n": 1, "ok": True, "none": None, "x": 0.5},
    )
    assert_exact_round_trip(definition)


def test_int_bounds_and_grids_stay_ints_and_doubles_stay_floats() -> None:
    definition = parse_experiment(
        {
            "name": "types",
            "type": "grid",
            "parameters": [
                {"name": "i", "type": "int", "grid": [3.0, 1, 2]},
                {"name": "d", "type": "double", "grid": [1, 2]},
            ],
            "metrics": ["m"],
        }
    )
    rebuilt = ExperimentDefinition.from_json(json.loads(json.dumps(definition.to_json())))
    assert rebuilt.parameter("i").grid == (1, 2, 3) and all(type(v) is int for v in rebuilt.parameter("i").grid)
    assert all(type(v) is float for v in rebuilt.parameter("d").grid)
    assert rebuilt.budget == 6 and rebuilt == definition


def test_from_json_keeps_what_to_json_writes_and_nothing_else() -> None:
    data = parse_experiment(
        {
            "name": "shape",
            "parameters": [
                {"name": "c", "type": "categorical", "categorical_values": ["a", "b"]},
                {"name": "x", "type": "double", "bounds": {"min": 0, "max": 1}, "conditions": {"s": "on"}},
            ],
            "conditionals": [{"name": "s", "values": ["on", "off"]}],
            "metrics": [{"name": "m"}],
            "observation_budget": 7,
        }
    ).to_json()
    assert data["budget"] == 7 and "observation_budget" not in data
    assert data["parameters"][0]["categorical_values"] == [
        {"object": "categorical_value", "name": "a", "enum_index": 1},
        {"object": "categorical_value", "name": "b", "enum_index": 2},
    ]
    assert data["parameters"][1]["conditions"] == {"s": ["on"]} and "grid" not in data["parameters"][1]
    rebuilt = ExperimentDefinition.from_json(data)
    assert rebuilt.parameters[1].conditions == {"s": ("on",)}
    assert rebuilt.parameters[0].categorical_values == ("a", "b")


def test_from_json_names_a_missing_field() -> None:
    data = parse_experiment(
        {"name": "e", "parameters": [{"name": "c", "type": "int", "bounds": {"min": 0, "max": 3}}], "metrics": ["m"]}
    ).to_json()
    del data["metrics"]
    with pytest.raises(KeyError, match="metrics"):
        ExperimentDefinition.from_json(data)
