"""Hostile input to the logging calls, params and run names: every error is a ``SigOptError`` raised at
the call, what is accepted reads back equal through ``sigopt.get_run``, and the writer keeps writing.

Each example opens a real run in the test's SQLite store, throws a sequence of calls at it, ends it and
compares the stored record with a model of what the accepted calls promised.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sigopt_ai as sigopt
from sigopt_ai import FailureKind, RunState

INT64 = 2**63
MAX_MESSAGE = 1_000  # an error message never echoes a long user value in full

SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
HUGE_STRINGS = st.sampled_from(["a" * 101, "b" * 501, "c" * 1_000_000])
VALID_NAMES = st.text(st.characters(codec="utf-8", categories=["L", "N", "P", "Zs"]), min_size=1, max_size=100)

NUMPY_SCALARS = st.one_of(
    st.floats(width=32).map(np.float32),
    st.floats().map(np.float64),
    st.integers(-(2**63), 2**63 - 1).map(np.int64),
    st.booleans().map(np.bool_),
    st.text(max_size=5).map(np.str_),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(INT64 - 3, INT64 + 3) | st.integers(-INT64 - 3, -INT64 + 3),
    st.builds(pow, st.sampled_from([10, -10]), st.sampled_from([400, 5000])),  # past float, past str()
    st.floats(),
    st.text(max_size=20),
    st.text(SURROGATES, min_size=1, max_size=3).map(lambda s: f"x{s}y"),
    HUGE_STRINGS,
    st.binary(max_size=10),
    st.complex_numbers(allow_nan=False, max_magnitude=10),
    st.sampled_from([Decimal("1.5"), Decimal("NaN"), Decimal("sNaN"), Decimal("1e400"), Fraction(10**400, 3)]),
    NUMPY_SCALARS,
)
HOSTILE = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=3), inner, max_size=3)
        | st.frozensets(st.integers(), max_size=3)
    ),
    max_leaves=6,
)
NAMES = st.one_of(VALID_NAMES, VALID_NAMES, HOSTILE)


@dataclass
class Expected:
    """What a run's accepted calls promise to read back."""

    name: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    stddevs: dict[str, float] = field(default_factory=dict)
    checkpoints: list[tuple[int, dict[str, float]]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    datasets: list[str] = field(default_factory=list)
    model: str | None = None
    reason: str | None = None
    diverged: bool = False
    next_step: int = 0


def python_value(value: Any) -> Any:
    """A numpy scalar as its Python value; anything else as it is."""
    return value.item() if isinstance(value, np.generic) else value


def stored_metadata(value: Any) -> Any:
    """SigOpt's rule: a representable number or string stays as it is, anything else becomes its str."""
    plain = python_value(value)
    if plain is None or isinstance(plain, (bool, str)):
        return plain
    if isinstance(plain, int) and -INT64 <= plain < INT64:
        return plain
    if isinstance(plain, float) and math.isfinite(plain):
        return plain
    return str(value)


def same_float(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def log_metric(run: sigopt.RunContext, expected: Expected, name: Any, value: Any) -> None:
    run.log_metric(name, value)
    log_metric_model(expected, name, value)


class Pairs(Mapping[Any, Any]):
    """A mapping kept as a list of pairs, so that it can hold the unhashable keys a dict cannot."""

    def __init__(self, *pairs: tuple[Any, Any]) -> None:
        self._pairs = pairs

    def __getitem__(self, key: Any) -> Any:
        return next(v for k, v in self._pairs if k is key)

    def __iter__(self) -> Iterator[Any]:
        return (k for k, _ in self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)


def log_metrics(run: sigopt.RunContext, expected: Expected, name: Any, value: Any) -> None:
    run.log_metrics(Pairs((name, value)))
    log_metric_model(expected, name, value)


def log_metric_with_stddev(run: sigopt.RunContext, expected: Expected, name: Any, value: Any) -> None:
    run.log_metric("with stddev", 1.0, stddev=value)
    log_metric_model(expected, "with stddev", 1.0, value)


def log_metric_model(expected: Expected, name: Any, value: Any, stddev: Any = None) -> None:
    expected.metrics[name] = float(value)
    expected.diverged |= not math.isfinite(float(value))
    if stddev is None:
        expected.stddevs.pop(name, None)
    else:
        expected.stddevs[name] = float(stddev)


def log_checkpoint(run: sigopt.RunContext, expected: Expected, name: Any, value: Any) -> None:
    run.log_checkpoint(Pairs((name, value)))
    checkpoint_model(expected, expected.next_step, {} if value is None else {name: float(value)})
    expected.next_step += 1


def log_checkpoint_at(run: sigopt.RunContext, expected: Expected, name: Any, value: Any) -> None:
    run.log_checkpoint({"a": 1.0}, step=value)
    if value is None:
        expected.next_step += 1
    checkpoint_model(expected, expected.next_step - 1 if value is None else int(value), {"a": 1.0})


def checkpoint_model(expected: Expected, step: int, values: dict[str, float]) -> None:
    expected.checkpoints.append((step, values))
    expected.diverged |= not all(math.isfinite(v) for v in values.values())


def log_metadata(run: sigopt.RunContext, expected: Expected, name: Any, value: Any) -> None:
    run.log_metadata(name, value)
    expected.metadata[name] = stored_metadata(value)


def log_dataset(run: sigopt.RunContext, expected: Expected, name: Any, value: Any) -> None:
    run.log_dataset(name)
    if name not in expected.datasets:
        expected.datasets.append(name)


def log_model(run: sigopt.RunContext, expected: Expected, name: Any, value: Any) -> None:
    run.log_model(value)
    expected.model = None if value is None else str(value)


def log_failure(run: sigopt.RunContext, expected: Expected, name: Any, value: Any) -> None:
    run.log_failure(value)
    if expected.reason is None:
        expected.reason = value or ""


def params_update(run: sigopt.RunContext, expected: Expected, name: Any, value: Any) -> None:
    run.params.update([(name, value)])
    expected.params[name] = python_value(value)


def params_setdefaults(run: sigopt.RunContext, expected: Expected, name: Any, value: Any) -> None:
    run.params.setdefaults([(name, value)])
    expected.params.setdefault(name, python_value(value))


CALLS: list[Callable[[sigopt.RunContext, Expected, Any, Any], None]] = [
    log_metric,
    log_metric_with_stddev,
    log_metrics,
    log_checkpoint,
    log_checkpoint_at,
    log_metadata,
    log_dataset,
    log_model,
    log_failure,
    params_update,
    params_setdefaults,
]


def assert_matches(record: sigopt.RunRecord, expected: Expected) -> None:
    if expected.name is not None:
        assert record.name == expected.name
    assert record.metrics.keys() == expected.metrics.keys()
    assert all(same_float(record.metrics[k], v) for k, v in expected.metrics.items())
    assert record.metric_stddevs == expected.stddevs
    assert [c.step for c in record.checkpoints] == [step for step, _ in expected.checkpoints]
    for checkpoint, (_, values) in zip(record.checkpoints, expected.checkpoints, strict=True):
        assert checkpoint.values.keys() == values.keys()
        assert all(same_float(checkpoint.values[k], v) for k, v in values.items())
    assert record.params == expected.params
    assert record.metadata == expected.metadata
    assert sorted(record.datasets) == sorted(expected.datasets)
    assert record.model == expected.model
    if expected.reason is not None:
        assert record.failure is not None and record.failure.kind is FailureKind.REPORTED
        assert record.failure.message == expected.reason
    elif expected.diverged:
        assert record.failure is not None and record.failure.kind is FailureKind.DIVERGED
    else:
        assert record.state is RunState.COMPLETED


@pytest.mark.timeout(120)
@given(
    run_name=st.one_of(st.none(), VALID_NAMES, HOSTILE),
    calls=st.lists(st.tuples(st.sampled_from(CALLS), NAMES, HOSTILE), min_size=1, max_size=8),
)
def test_logging_calls_raise_only_sigopt_errors_and_what_is_accepted_reads_back(
    run_name: Any, calls: list[tuple[Callable[..., None], Any, Any]]
) -> None:
    expected = Expected()
    try:
        spec = sigopt.run(name=run_name)
        expected.name = run_name
    except sigopt.SigOptError as exc:
        assert isinstance(exc, sigopt.ValidationError), exc
        assert len(str(exc)) < MAX_MESSAGE
        spec = sigopt.run()
    with spec as run:
        for call, name, value in calls:
            try:
                call(run, expected, name, value)
            except sigopt.SigOptError as exc:
                assert isinstance(exc, sigopt.ValidationError), exc
                assert len(str(exc)) < MAX_MESSAGE
    assert sigopt.flush(timeout=5)
    assert_matches(sigopt.get_run(run.id), expected)


def test_writer_still_writes_after_hostile_calls() -> None:
    """Every value the store cannot write is refused at the call, so a later run is written at once."""
    hostile = [
        lambda r: r.log_checkpoint({"a": 1.0}, step=2**63),
        lambda r: r.log_failure(("diverged", 120)),
        lambda r: r.log_metadata("k", 10**5000),
        lambda r: r.log_metadata("k", "bad \ud800"),
        lambda r: r.params.update(p="bad \ud800"),
        lambda r: r.params.update(p=2**64),
        lambda r: r.log_model("bad \ud800"),
    ]
    run = sigopt.create_run()
    for call in hostile:
        with pytest.raises(sigopt.ValidationError):
            call(run)
    with pytest.raises(sigopt.ValidationError):
        sigopt.create_run(name="bad \ud800")
    run.end()
    with sigopt.create_run(name="after") as after:
        after.log_metric("loss", 0.5)
    assert sigopt.flush(timeout=5)
    assert sigopt.get_run(after.id).metrics == {"loss": 0.5}


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda r: r.log_metric(["a"], 1), sigopt.ValidationTypeError, r"metric name must be a string, got \['a'\]"),
        (lambda r: r.log_metric("x", 10**400), sigopt.ValidationError, "metric 'x' must be a number within the 64-bit"),
        (lambda r: r.log_metric("x", Fraction(10**400, 3)), sigopt.ValidationError, "64-bit float range"),
        (lambda r: r.log_metrics([("a", 1.0)]), sigopt.ValidationTypeError, "metrics must be a mapping"),
        (
            lambda r: r.log_metrics({10**5000: 1.0}),
            sigopt.ValidationTypeError,
            "metric name must be a string, got <int",
        ),
        (lambda r: r.log_checkpoint({"a": 1}, step=2**63), sigopt.ValidationError, r"step must be .* 2\*\*63 - 1"),
        (lambda r: r.log_checkpoint({"a": 10**400}), sigopt.ValidationError, "checkpoint metric 'a' must be a number"),
        (lambda r: r.log_checkpoint({"a": 1}, step="3"), sigopt.ValidationTypeError, "step must be an int"),
        (lambda r: r.log_failure(("diverged", 120)), sigopt.ValidationTypeError, "reason must be a str or None"),
        (lambda r: r.log_failure("x\udcff"), sigopt.ValidationError, "reason must be valid Unicode text"),
        (lambda r: r.log_metadata("k", "v\ud800"), sigopt.ValidationError, "metadata 'k' must be valid Unicode"),
        (lambda r: r.log_metadata("k", "v" * 501), sigopt.ValidationError, "metadata 'k' must be at most 500"),
        (lambda r: r.log_metadata("k", {"a": "b" * 600}), sigopt.ValidationError, "must be at most 500"),
        (lambda r: r.log_metadata("k", 10**5000), sigopt.ValidationTypeError, "metadata 'k' has no text form"),
        (lambda r: r.log_metadata(["k"], 1), sigopt.ValidationTypeError, "metadata key must be a string"),
        (lambda r: r.log_dataset(["d"]), sigopt.ValidationTypeError, "dataset name must be a string"),
        (lambda r: r.log_model("m\ud800"), sigopt.ValidationError, "model type must be valid Unicode"),
        (lambda r: r.log_model("m" * 501), sigopt.ValidationError, "model type must be at most 500"),
        (lambda r: r.params.update(lr=math.nan), sigopt.ValidationError, "parameter 'lr' must be a finite number"),
        (lambda r: r.params.update(lr=-math.inf), sigopt.ValidationError, "parameter 'lr' must be a finite number"),
        (lambda r: r.params.update(lr=np.float64("nan")), sigopt.ValidationError, "must be a finite number"),
        (lambda r: r.params.update(n=2**63), sigopt.ValidationError, "parameter 'n' must be within the signed 64-bit"),
        (lambda r: r.params.update(s="s" * 501), sigopt.ValidationError, "parameter 's' must be at most 500"),
        (lambda r: r.params.update(s="\ud800"), sigopt.ValidationError, "parameter 's' must be valid Unicode"),
        (lambda r: r.params.update([1, 2]), sigopt.ValidationTypeError, "parameters must be given as a mapping"),
        (lambda r: r.params.update([(["a"], 1)]), sigopt.ValidationTypeError, "parameters must be given"),
        (lambda r: r.params.setdefault(["a"], 1), sigopt.ValidationTypeError, "parameter name must be a string"),
    ],
)
def test_hostile_value_is_refused_at_the_call_with_a_sigopt_error(
    call: Callable[[sigopt.RunContext], None], error: type[Exception], message: str
) -> None:
    with sigopt.create_run() as run:
        run.log_metric("before", 1.0)
        with pytest.raises(error, match=message):
            call(run)
        run.log_metric("after", 2.0)
    record = sigopt.get_run(run.id)
    assert record.state is RunState.COMPLETED
    assert record.metrics == {"before": 1.0, "after": 2.0}
    assert record.params == {} and record.metadata == {} and record.checkpoints == ()


def test_run_names_are_checked_where_the_run_is_asked_for() -> None:
    for make in (sigopt.run, sigopt.create_run):
        with pytest.raises(sigopt.ValidationError, match="name must be valid Unicode text"):
            make(name="bad \ud800")
        with pytest.raises(sigopt.ValidationError, match="name must be at most 100 characters"):
            make(name="n" * 101)
        with pytest.raises(sigopt.ValidationTypeError, match="name must be a non-empty string"):
            make(name=["n"])


def test_errors_echo_a_shortened_value() -> None:
    huge = "x" * 1_000_000
    with sigopt.create_run() as run:
        for call in (
            lambda: run.log_metric(huge, 1.0),
            lambda: run.log_metric("m", huge),
            lambda: run.log_metadata("k", huge),
            lambda: run.params.update(p=huge),
            lambda: run.log_checkpoint({huge: 1.0}),
            lambda: sigopt.run(project=huge),
            lambda: sigopt.create_run(name=huge),
        ):
            with pytest.raises(sigopt.ValidationError) as info:
                call()
            assert len(str(info.value)) < 300


def test_log_metrics_logs_nothing_when_one_value_is_bad() -> None:
    with sigopt.create_run() as run:
        with pytest.raises(sigopt.ValidationTypeError, match="metric 'b' must be a number"):
            run.log_metrics({"a": 1.0, "b": "high"})
    assert sigopt.get_run(run.id).metrics == {}


def test_nan_checkpoint_is_stored_and_marks_the_run_diverged() -> None:
    with sigopt.create_run() as run:
        run.log_checkpoint({"loss": math.nan})
        run.log_checkpoint({"loss": 0.5})
    record = sigopt.get_run(run.id)
    assert math.isnan(record.checkpoints[0].values["loss"])
    assert record.failure is not None and record.failure.kind is FailureKind.DIVERGED
    assert "checkpoint metric 'loss'" in record.failure.message


def test_accepted_edge_values_read_back() -> None:
    with sigopt.create_run(name="ünïcödé ✓") as run:
        run.log_checkpoint({"a": 1.0}, step=2**63 - 1)
        run.log_checkpoint({"a": 2.0}, step=np.int64(7))
        run.params.update(n=-(2**63), m=2**63 - 1, s="s" * 500, w=np.int64(3))
        run.log_metadata("big", 2**70)
        run.log_metadata("nan", math.nan)
        run.log_metadata("cfg", {"lr": 0.1})
        run.log_metric("m", np.float32(0.5))
    record = sigopt.get_run(run.id)
    assert record.name == "ünïcödé ✓"
    assert [c.step for c in record.checkpoints] == [2**63 - 1, 7]
    assert record.params == {"n": -(2**63), "m": 2**63 - 1, "s": "s" * 500, "w": 3}
    assert record.metadata == {"big": str(2**70), "nan": "nan", "cfg": "{'lr': 0.1}"}
    assert record.metrics == {"m": 0.5}


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: sigopt.get_run(["x"]), sigopt.ValidationError, "There is no run with id ['x']"),
        (lambda: sigopt.get_run("a\ud800"), sigopt.ValidationError, "There is no run with id 'a\\ud800'"),
        (lambda: sigopt.metric_history("x", ["y"]), sigopt.ValidationTypeError, "metric name must be a string"),
        (lambda: sigopt.list_runs(limit=10**30), sigopt.ValidationError, "limit must be from 0 to 2**63 - 1"),
        (lambda: sigopt.list_runs(limit=-1), sigopt.ValidationError, "limit must be from 0 to 2**63 - 1"),
        (lambda: sigopt.list_runs(project=["x"]), sigopt.ValidationError, "project must be 1 to 100 lower-case"),
    ],
)
def test_reading_with_hostile_keys_is_a_validation_error(
    call: Callable[[], Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=re.escape(message)):
        call()
    assert sigopt.metric_history(["not an id"], "loss") == []


def test_a_decorated_function_with_a_long_name_still_runs_under_its_name_cut_to_the_limit() -> None:
    def train() -> float:
        return 0.5

    train.__name__ = "t" * 150  # the user passed no run name, so nothing of theirs can be refused
    assert sigopt.run(metric="loss")(train)() == 0.5
    (record,) = sigopt.list_runs(limit=1)
    assert record.name == "t" * 100 and record.metrics == {"loss": 0.5}
