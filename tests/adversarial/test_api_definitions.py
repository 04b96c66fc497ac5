"""Hostile experiment definitions: every error is a ``SigOptError``, accepted definitions round-trip and
can be stored, and the suggestions for them respect bounds, grids, integer-ness, categorical values,
conditionals and linear constraints (quasi-random and Bayesian).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import sigopt_ai as sigopt
from sigopt_ai._definition import ExperimentDefinition, Parameter
from sigopt_ai.experiments._parse import parse_experiment
from sigopt_ai.optimizer import BayesianOptimizer, Observation, SobolStrategy
from sigopt_ai.optimizer._search import SearchOptions

MAX_MESSAGE = 1_000

NAMES = st.sampled_from(["a", "b", "c", "d", "e"])
CATEGORIES = st.sampled_from(["u", "v", "w", "x"])
WEIRD_NAMES = st.one_of(
    st.just(""),
    st.just("n" * 101),
    st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=2),
    st.integers(),
    st.none(),
    st.lists(st.text(max_size=2), max_size=2),
)
HUGE_INTS = st.builds(pow, st.sampled_from([2, -2, 10, -10]), st.sampled_from([53, 54, 63, 64, 400]))
EDGE_FLOATS = st.sampled_from([1e-300, 5e-324, 1e300, -1e300, 1e308, -1e308, 1.7976931348623157e308, 2.0**53, 0.5])
NUMBERS = st.one_of(
    st.integers(-20, 20),
    st.floats(-100, 100),
    EDGE_FLOATS,
    st.integers(-(2**53), 2**53),
    st.integers(-(2**63), 2**63 - 1),  # past 2**53 an int parameter is refused: the optimizer computes in floats
)
HOSTILE_NUMBERS = st.one_of(
    NUMBERS,
    HUGE_INTS,
    st.floats(),
    st.booleans(),
    st.text(max_size=3),
    st.none(),
    st.sampled_from([Decimal("1e400"), Decimal("NaN"), Fraction(10**400, 7), Fraction(1, 3)]),
)


def maybe_hostile(valid: st.SearchStrategy[Any], hostile: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly ``valid`` (so that many definitions are accepted), sometimes ``hostile``."""
    return st.one_of(valid, valid, valid, hostile)


@st.composite
def bounds(draw: st.DrawFn, numbers: st.SearchStrategy[Any], hostile: bool) -> dict[str, Any]:
    low, high = draw(numbers), draw(numbers)
    if not hostile or draw(st.booleans()):
        if isinstance(low, (int, float)) and isinstance(high, (int, float)):
            low, high = min(low, high), max(low, high)
            if not hostile and low == high:
                high = low + 1 if isinstance(low, int) else math.nextafter(low, math.inf) * 2 + 1
    return {"min": low, "max": high}


@st.composite
def parameters(draw: st.DrawFn, hostile: bool) -> dict[str, Any]:
    numbers = HOSTILE_NUMBERS if hostile else NUMBERS
    kind = draw(st.sampled_from(["double", "int", "categorical", "grid-double", "grid-int", "log"]))
    param: dict[str, Any] = {"name": draw(maybe_hostile(NAMES, WEIRD_NAMES) if hostile else NAMES)}
    if kind == "categorical":
        param.update(type="categorical", categorical_values=draw(st.lists(CATEGORIES, min_size=2, max_size=4)))
    elif kind.startswith("grid"):
        values = st.integers(-(2**53), 2**53) if kind == "grid-int" else st.one_of(NUMBERS, EDGE_FLOATS)
        values = maybe_hostile(values, numbers) if hostile else values
        param.update(type=kind[5:], grid=draw(st.lists(values, min_size=2, max_size=4, unique=not hostile)))
    elif kind == "log":
        positive = st.one_of(st.floats(1e-300, 1e300), EDGE_FLOATS.filter(lambda v: v > 0))
        positive = maybe_hostile(positive, numbers) if hostile else positive
        param.update(type="double", transformation="log", bounds=draw(bounds(positive, hostile)))
    else:
        param.update(type=kind, bounds=draw(bounds(numbers, hostile)))
        if kind == "double" and draw(st.integers(0, 4)) == 0:
            low, high = param["bounds"]["min"], param["bounds"]["max"]
            mean = draw(numbers) if hostile else low / 2 + high / 2
            param["prior"] = {"name": "normal", "mean": mean, "scale": draw(numbers) if hostile else 0.5}
    return param


@st.composite
def definitions(draw: st.DrawFn, hostile: bool = True) -> dict[str, Any]:
    params = draw(st.lists(parameters(hostile), min_size=1, max_size=4, unique_by=lambda p: str(p["name"])))
    body: dict[str, Any] = {
        "name": draw(maybe_hostile(st.text(min_size=1, max_size=20), WEIRD_NAMES) if hostile else st.just("exp")),
        "parameters": params,
        "metrics": [{"name": "y", "objective": draw(st.sampled_from(["maximize", "minimize"]))}],
        "type": draw(st.sampled_from(["offline", "random"])),
    }
    if hostile:
        body["budget"] = draw(st.one_of(st.none(), st.integers(1, 100), HUGE_INTS, st.floats()))
        body["metadata"] = draw(
            st.dictionaries(
                maybe_hostile(st.text(max_size=5), st.sampled_from(["", "k" * 101, "k\ud800"])),
                maybe_hostile(st.one_of(st.text(max_size=5), NUMBERS), HOSTILE_NUMBERS),
                max_size=3,
            )
        )
        if draw(st.booleans()):
            body["metrics"].append(
                {"name": "z", "strategy": "constraint", "threshold": draw(HOSTILE_NUMBERS)},
            )
            body["budget"] = body["budget"] or 10
    numeric = [
        p["name"]
        for p in params
        if p["type"] in ("double", "int") and "bounds" in p and "transformation" not in p and isinstance(p["name"], str)
    ]
    if len(numeric) >= 2 and draw(st.booleans()):
        names = draw(st.lists(st.sampled_from(numeric), min_size=2, max_size=len(numeric), unique=True))
        weights = HOSTILE_NUMBERS if hostile else st.one_of(st.integers(-5, 5), st.floats(-5, 5))
        body["linear_constraints"] = [
            {
                "type": draw(st.sampled_from(["less_than", "greater_than"])),
                "threshold": draw(HOSTILE_NUMBERS if hostile else NUMBERS),
                "terms": [{"name": n, "weight": draw(weights)} for n in names],
            }
        ]
    elif draw(st.booleans()):
        add_conditionals(draw, body)
    return body


HOSTILE_LEAVES = st.one_of(
    HOSTILE_NUMBERS,
    WEIRD_NAMES,
    st.sampled_from([1e308, -1e308, 2**53 + 1, -(2**63), 2**63, "x\udc80"]),
    st.builds(pow, st.just(10), st.sampled_from([400, 5000])),
)


def leaf_slots(obj: Any, slots: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) of ``obj`` that holds a scalar."""
    items = obj.items() if isinstance(obj, dict) else enumerate(obj)
    for key, value in items:
        if isinstance(value, (dict, list)):
            leaf_slots(value, slots)
        else:
            slots.append((obj, key))
    return slots


@st.composite
def mutated_definitions(draw: st.DrawFn) -> dict[str, Any]:
    """A valid-looking definition with one value replaced by a hostile one, so that only it is wrong."""
    body = draw(definitions(hostile=False))
    container, key = draw(st.sampled_from(leaf_slots(body, [])))
    old = container[key]
    suffix = isinstance(old, str) and draw(st.booleans())
    container[key] = old + "\ud800" if suffix else draw(HOSTILE_LEAVES)
    return body


def add_conditionals(draw: st.DrawFn, body: dict[str, Any]) -> None:
    conditionals = [
        {"name": f"k{i}", "values": draw(st.lists(CATEGORIES, min_size=2, max_size=4, unique=True))}
        for i in range(draw(st.integers(1, 3)))
    ]
    body["conditionals"] = conditionals
    for param in body["parameters"]:
        chosen = draw(st.lists(st.sampled_from(conditionals), max_size=2, unique_by=lambda c: c["name"]))
        param["conditions"] = {
            c["name"]: draw(st.lists(st.sampled_from(c["values"]), min_size=1, unique=True)) for c in chosen
        }


def parse_or_none(body: dict[str, Any]) -> ExperimentDefinition | None:
    """The definition, or None when it is rejected (with a short ``ValidationError``, nothing else)."""
    try:
        return parse_experiment(body)
    except sigopt.SigOptError as exc:
        assert isinstance(exc, sigopt.ValidationError), exc
        assert len(str(exc)) < MAX_MESSAGE
        return None


@pytest.mark.timeout(120)
@given(body=st.one_of(definitions(), mutated_definitions()))
def test_definitions_raise_only_sigopt_errors_and_accepted_ones_round_trip_and_serve(body: dict[str, Any]) -> None:
    definition = parse_or_none(body)
    if definition is None:
        return
    assert parse_experiment(definition.to_json()) == definition
    experiment = sigopt.create_experiment(**body)
    check_suggestion(definition, dict(experiment.suggest().assignments))


# -- suggestions --------------------------------------------------------------------------------


def check_suggestion(definition: ExperimentDefinition, assignment: dict[str, Any]) -> None:
    """The strategy contract: active parameters only, each inside its domain; constraints hold."""
    for conditional in definition.conditionals:
        assert assignment[conditional.name] in conditional.values
    chosen = {c.name: assignment[c.name] for c in definition.conditionals}
    active = {p.name for p in definition.active_parameters(chosen)}
    assert set(assignment) == active | set(chosen)
    for parameter in definition.parameters:
        if parameter.name in active:
            check_value(parameter, assignment[parameter.name])
    for constraint in definition.linear_constraints:
        assert constraint.is_satisfied(assignment), (constraint, assignment)


def check_value(parameter: Parameter, value: Any) -> None:
    if parameter.type == "categorical":
        assert value in parameter.categorical_values
        return
    expected_type = int if parameter.type == "int" else float
    assert type(value) is expected_type, (parameter, value)
    if parameter.grid:
        assert value in parameter.grid, (parameter, value)
    else:
        assert parameter.bounds is not None
        assert parameter.bounds.min <= value <= parameter.bounds.max, (parameter, value)


@pytest.mark.timeout(120)
@given(body=definitions(hostile=False), seed=st.integers(0, 2**31 - 1))
def test_random_suggestions_respect_the_definition(body: dict[str, Any], seed: int) -> None:
    definition = parse_or_none(body)
    assume(definition is not None)
    assert definition is not None
    strategy = SobolStrategy(definition, seed=seed)
    for index in range(6):
        check_suggestion(definition, strategy.suggest([], [], index=index))


@pytest.mark.timeout(180)
@settings(max_examples=15)  # each example fits Gaussian processes
@given(body=definitions(hostile=False), seed=st.integers(0, 2**31 - 1))
def test_bayesian_suggestions_respect_the_definition(body: dict[str, Any], seed: int) -> None:
    definition = parse_or_none(body)
    assume(definition is not None)
    assert definition is not None
    strategy = BayesianOptimizer(
        definition, seed=seed, n_initial=4, search=SearchOptions(n_sobol=128, n_local=64, n_polish=2)
    )
    observations: list[Observation] = []
    for index in range(7):
        assignment = strategy.suggest(observations, [], index=index)
        check_suggestion(definition, assignment)
        value = sum(math.atan(v) for v in assignment.values() if isinstance(v, (int, float)))
        observations.append(Observation(assignment, {"y": value + 0.1 * index}))


# -- regressions found by fuzzing ----------------------------------------------------------------

X = {"name": "x", "type": "double", "bounds": {"min": 0, "max": 1}}


def body_with(**fields: Any) -> dict[str, Any]:
    return {"name": "exp", "parameters": [X], "metrics": [{"name": "y"}], **fields}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            body_with(parameters=[{**X, "bounds": {"min": 0, "max": 10**400}}]),
            "parameters[0].bounds.max: expected a number within the 64-bit float range",
        ),
        (
            body_with(metrics=[{"name": "y"}, {"name": "z", "strategy": "constraint", "threshold": 10**400}], budget=5),
            "metrics[1].threshold: expected a number within",
        ),
        (body_with(name="bad \ud800"), "name must be valid Unicode text"),
        (body_with(parameters=[{**X, "name": "p\udfff"}]), "parameters[0].name must be valid Unicode text"),
        (body_with(metadata={"k": "v\ud800"}), "metadata['k'] must be valid Unicode text"),
        (body_with(metadata={"k": 2**64}), "metadata['k'] must be within the signed 64-bit range"),
        (body_with(budget=10**5000), "budget: must be at most 2**63 - 1"),
        (body_with(budget=-(10**5000)), "budget: must be greater than or equal to 1, got <int object>"),
        (
            body_with(parameters=[{**X, "bounds": {"min": -1e308, "max": 1e308}}]),
            "the width max - min must be a finite 64-bit float",
        ),
        (
            body_with(parameters=[{"name": "i", "type": "int", "bounds": {"min": 0, "max": 2**53 + 1}}]),
            "int values must be within ±2**53",
        ),
        (
            body_with(parameters=[{"name": "i", "type": "int", "bounds": {"min": 2**63 - 10, "max": 2**63 - 1}}]),
            "±2**53",
        ),
        (
            body_with(parameters=[{"name": "i", "type": "int", "grid": [1, 2**60]}]),
            "parameters[0].grid[1]: int values must be within",
        ),
        (
            body_with(
                parameters=[
                    {**X, "bounds": {"min": 0, "max": 1e308}},
                    {**X, "name": "w", "bounds": {"min": 0, "max": 1e308}},
                ],
                linear_constraints=[
                    {
                        "type": "less_than",
                        "threshold": 1,
                        "terms": [{"name": "x", "weight": 1}, {"name": "w", "weight": 1}],
                    }
                ],
            ),
            "the constraint's sums would overflow a 64-bit float",
        ),
    ],
)
def test_definition_beyond_what_can_be_honoured_is_rejected_naming_the_field(
    body: dict[str, Any], message: str
) -> None:
    with pytest.raises(sigopt.ValidationError, match=re.escape(message)):
        parse_experiment(body)


def test_huge_constraint_coefficients_that_fit_are_accepted_and_honoured() -> None:
    params = [{**X, "bounds": {"min": 0, "max": 1e150}}, {**X, "name": "w", "bounds": {"min": 0, "max": 1e150}}]
    terms = [{"name": "x", "weight": 1e140}, {"name": "w", "weight": 1e140}]
    definition = parse_experiment(
        body_with(parameters=params, linear_constraints=[{"type": "less_than", "threshold": 1e289, "terms": terms}])
    )
    strategy = SobolStrategy(definition, seed=1)
    for index in range(5):
        check_suggestion(definition, strategy.suggest([], [], index=index))


@pytest.mark.timeout(30)
def test_conditional_coverage_check_does_not_enumerate_every_combination() -> None:
    """10 conditionals of 10 values: 10**10 combinations, which the check must not walk one by one."""
    conditionals = [{"name": f"k{i}", "values": [f"v{j}" for j in range(10)]} for i in range(10)]
    covering = [
        {**X, "name": f"p{i}_{j}", "conditions": {f"k{i}": [f"v{j}"]}} for i in range(10) for j in range(10) if i == 0
    ]
    assert parse_experiment(body_with(parameters=covering, conditionals=conditionals)).conditionals
    gap = covering[:-1] + [{**X, "name": "last", "conditions": {"k0": ["v9"], "k9": ["v0"]}}]
    with pytest.raises(sigopt.ValidationError, match="no parameter is active when the conditionals are"):
        parse_experiment(body_with(parameters=gap, conditionals=conditionals))


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"lease_timeout": 10**400}, sigopt.ValidationError, "lease_timeout must be a number within the 64-bit"),
        ({"lease_timeout": math.inf}, sigopt.ValidationError, "lease_timeout must be a finite number of seconds"),
        ({"lease_timeout": True}, sigopt.ValidationTypeError, "lease_timeout must be a number"),
        ({"lease_timeout": 0.05}, sigopt.ValidationError, "lease_timeout must be at least 1 second"),
        ({"seed": -1}, sigopt.ValidationError, "seed must be from 0 to 2**63 - 1"),
        ({"seed": 2**63}, sigopt.ValidationError, "seed must be from 0 to 2**63 - 1"),
        ({"seed": "7"}, sigopt.ValidationTypeError, "seed must be an int"),
    ],
)
def test_create_experiment_options_are_checked_at_the_call(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=re.escape(message)):
        sigopt.create_experiment(name="exp", parameters=[X], metrics=["y"], **options)


@pytest.mark.parametrize(
    ("file", "error", "message"),
    [
        ("bad\ud800.yml", sigopt.ValidationError, "cannot be read: 'utf-8' codec can't encode"),
        ("a\x00b.yml", sigopt.ValidationError, "cannot be read: embedded null byte"),
        (12, sigopt.ValidationTypeError, "Experiment file must be a path (str or os.PathLike), got int (12)"),
        ("x" * 100_000, sigopt.ValidationError, "cannot be read: File name too long"),
    ],
)
def test_experiment_file_that_cannot_be_opened_is_a_short_validation_error(
    file: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=re.escape(message)) as info:
        sigopt.create_experiment(file=file)
    assert len(str(info.value)) < 300
