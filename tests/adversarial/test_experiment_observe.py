"""observe() as a careless user calls it: only SigOptError, never into the wrong experiment, accepted values read back."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

import sigopt_ai as sigopt
from sigopt_ai._models import Suggestion


def make(name: str = "observe", budget: int = 4) -> sigopt.Experiment:
    return sigopt.create_experiment(
        name=name,
        parameters=[dict(name="x", type="double", bounds=dict(min=0, max=1))],
        metrics=[dict(name="loss", objective="minimize"), dict(name="mem", strategy="store")],
        budget=budget,
        type="random",
        seed=1,
    )


@pytest.mark.parametrize(
    ("suggestion", "kwargs", "error", "message"),
    [
        (
            "abc",
            dict(values={"loss": 1.0}),
            sigopt.ValidationError,
            r"suggestion: a suggestion id is a string of digits",
        ),
        (1.5, dict(values={"loss": 1.0}), sigopt.ValidationTypeError, r"suggestion must be a Suggestion or its id"),
        pytest.param(
            10**5000,
            dict(values={"loss": 1.0}),
            sigopt.ValidationError,
            r"a suggestion id is a string of digits",
            id="int-past-the-str-digit-limit",
        ),
        (
            "9" * 40,
            dict(values={"loss": 1.0}),
            sigopt.ValidationError,
            r"suggestion: experiment '\d+' has no suggestion",
        ),
        (None, dict(values=1.0), sigopt.ValidationTypeError, r"values must be a mapping"),
        (None, dict(values=["loss"]), sigopt.ValidationTypeError, r"values\[0\] must be a mapping with 'name'"),
        (None, dict(values={"loss": "low"}), sigopt.ValidationTypeError, r"values\['loss'\] must be a number"),
        (None, dict(values={"loss": True}), sigopt.ValidationTypeError, r"values\['loss'\] must be a number"),
        (
            None,
            dict(values={"loss": 10**400}),
            sigopt.ValidationError,
            r"values\['loss'\] must be a number within the 64-bit float range",
        ),
        (None, dict(values={"loss": math.nan}), sigopt.ValidationError, r"finite number, got nan; .*failed=True"),
        (None, dict(values={"loss": -math.inf}), sigopt.ValidationError, r"finite number, got -inf"),
        (None, dict(values=[{"name": "loss", "value": math.inf}]), sigopt.ValidationError, r"finite number, got inf"),
        (None, dict(values={1: 0.5}), sigopt.ValidationTypeError, r"values: a metric name must be a string"),
        (None, dict(values={"loss": 1.0}, failed="no"), sigopt.ValidationTypeError, r"failed must be True or False"),
        (
            None,
            dict(values=[{"name": "loss", "value": 1.0}, {"name": "loss", "value": 2.0}]),
            sigopt.ValidationError,
            r"metric 'loss' is given twice",
        ),
        (None, dict(values={"x" * 1_000_000: 1.0}), sigopt.ValidationError, r"are not metrics of this experiment"),
    ],
)
def test_bad_observations_raise_a_validation_error_naming_the_field(
    suggestion: Any, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    exp = make()
    served = exp.suggest()
    with pytest.raises(error, match=message) as raised:
        exp.observe(served if suggestion is None else suggestion, **kwargs)
    assert len(str(raised.value)) < 500  # user values are shortened, never echoed whole
    assert exp.observations() == [] and exp.progress.active == 1  # nothing written, the suggestion still open


def test_a_suggestion_of_another_experiment_is_rejected_and_neither_experiment_changes() -> None:
    a, b = make("a"), make("b")
    of_a = a.suggest()
    b.suggest()
    with pytest.raises(sigopt.ValidationError, match=r"belongs to experiment '\d+', not to"):
        b.observe(of_a, values={"loss": 0.5})
    with pytest.raises(sigopt.ValidationError, match="has no suggestion"):
        b.observe(of_a.id, values={"loss": 0.5})  # the id alone: a's numbering is not b's
    assert a.observations() == [] == b.observations()
    assert a.progress.active == 1 == b.progress.active
    a.observe(of_a, values={"loss": 0.5})
    assert [o.values for o in a.observations()] == [{"loss": 0.5}]


def test_a_non_finite_value_is_rejected_so_the_best_observation_stays_finite() -> None:
    exp = make(budget=1)
    suggestion = exp.suggest()
    with pytest.raises(sigopt.ValidationError):
        exp.observe(suggestion, values={"loss": -math.inf})  # a diverged evaluation is failed=True
    exp.observe(suggestion, values={"loss": 0.25})
    assert [o.values["loss"] for o in exp.best_observations()] == [0.25]


# -- properties -------------------------------------------------------------------------------------

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.booleans(),
    st.text(max_size=3),
    st.none(),
)
names = st.sampled_from(["loss", "mem", "other", ""]) | st.text(max_size=3) | st.integers(0, 3)
finite = st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**60), 2**60)
valid_values = st.one_of(
    st.fixed_dictionaries({"loss": finite}, optional={"mem": finite}),
    st.lists(st.fixed_dictionaries({"name": st.just("loss"), "value": finite}), min_size=1, max_size=1),
)
values = valid_values | st.one_of(
    st.none(),
    numbers,
    st.dictionaries(names, numbers, max_size=3),
    st.lists(
        st.one_of(st.fixed_dictionaries({"name": names, "value": numbers}), names, st.dictionaries(names, numbers)),
        max_size=3,
    ),
)
# Which suggestion: one served by this experiment or the other (picked by position), or an arbitrary id.
targets = st.one_of(
    st.tuples(st.just("own"), st.integers(0, 20)),
    st.tuples(st.just("own"), st.integers(0, 20)),
    st.tuples(st.just("other"), st.integers(0, 20)),
    st.tuples(st.just("id"), st.one_of(st.text(max_size=4), st.integers(-5, 10**20), st.floats(), st.none())),
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("suggest"), st.sampled_from("ab")),
        st.tuples(st.just("observe"), st.sampled_from("ab"), targets, values, st.sampled_from([False, False, True])),
    ),
    min_size=2,
    max_size=12,
)


def as_values(given_values: Any) -> dict[str, float]:
    """What an accepted ``values`` argument means."""
    if isinstance(given_values, Mapping):
        return {k: float(v) for k, v in given_values.items()}
    return {item["name"]: float(item["value"]) for item in given_values}


@given(steps=steps)
def test_any_observe_sequence_raises_only_sigopt_errors_and_stays_in_its_experiment(steps: list[Any]) -> None:
    experiments = {"a": make("a", budget=3), "b": make("b", budget=3)}
    served = {key: [exp.suggest()] for key, exp in experiments.items()}
    accepted: dict[str, list[tuple[str, dict[str, float], bool]]] = {"a": [], "b": []}
    for step in steps:
        exp = experiments[step[1]]
        try:
            if step[0] == "suggest":
                served[step[1]].append(exp.suggest())
                continue
            _, key, (kind, target), given_values, failed = step
            pool = served[key if kind == "own" else "b" if key == "a" else "a"]
            suggestion = pool[target % len(pool)] if kind != "id" and pool else target
            observed = exp.observe(suggestion, values=given_values, failed=failed)
        except sigopt.SigOptError:
            continue
        # Accepted: a suggestion of this very experiment, with finite values equal to those given.
        assert isinstance(suggestion, Suggestion) and suggestion.experiment == exp.id
        expected = {} if failed else as_values(given_values)
        assert all(math.isfinite(v) for v in expected.values())
        assert (dict(observed.values), observed.failed) == (expected, failed)
        accepted[key].append((observed.suggestion or "", expected, failed))
    event(f"{sum(map(len, accepted.values()))} accepted")
    for key, exp in experiments.items():
        stored = [(o.suggestion or "", dict(o.values), o.failed) for o in exp.observations()]
        assert stored == accepted[key]
        progress = exp.progress
        assert progress.finished == len(stored) and progress.extra == 0
        assert progress.finished + progress.active <= 3
