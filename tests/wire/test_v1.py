"""The SigOpt v1 objects: every value survives JSON exactly, SigOpt's field names are where a SigOpt
client reads them, and a malformed object is refused with the field named."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigopt_ai import wire
from sigopt_ai._exceptions import (
    BackendRejected,
    ConfigError,
    ExperimentStopped,
    SigOptError,
    StoreError,
    TransportError,
    UsageError,
    ValidationError,
    ValidationTypeError,
)
from sigopt_ai._failures import FailureInfo, FailureKind
from sigopt_ai._models import (
    Checkpoint,
    ExperimentRecord,
    ExperimentState,
    FileRecord,
    MetricPoint,
    Observation,
    Progress,
    ProjectRecord,
    RunRecord,
    RunState,
    Suggestion,
    SuggestionState,
)
from sigopt_ai.experiments._parse import parse_experiment


# --- comparing values that may hold NaN (Python compares no NaN equal, not even to itself)
def canonical(value: Any) -> Any:
    """``value`` with each NaN replaced by a marker, and each leaf tagged with its type (1 is not 1.0)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, *(canonical(getattr(value, f.name)) for f in dataclasses.fields(value)))
    if isinstance(value, dict):
        return {key: canonical(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, *(canonical(item) for item in value))
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    if isinstance(value, enum.Enum):
        return (type(value).__name__, value.value)
    return (type(value).__name__, value)


def through_json(obj: Any) -> Any:
    """What the other end of a connection reads; refuses NaN as the JSON standard does."""
    return json.loads(json.dumps(obj, allow_nan=False))


# --- strategies
names = st.text(min_size=1, max_size=20)
ids = st.text(alphabet="0123456789abcdef-", min_size=1, max_size=12)
timestamps = st.floats(min_value=0, max_value=4e9, allow_nan=False)
metric_values = st.floats()  # NaN and infinities included: a run keeps a diverged metric as logged
stddevs = st.floats(min_value=0)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | names
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3), max_leaves=8
)
scalar_maps = st.dictionaries(names, scalars, max_size=4)
failures = st.builds(
    FailureInfo,
    kind=st.sampled_from(FailureKind),
    type=st.none() | names,
    message=st.text(max_size=40),
    traceback=st.none() | st.text(max_size=40),
)

# Definition keys that the experiment object uses for itself (or for the budget) are not generated.
_RESERVED = {"object", "id", "project", "state", "created", "progress", "sigopt_ai", "updated", "client", "user"}
_RESERVED |= {"development", "runs_only", "name", "budget", "observation_budget"}


@st.composite
def experiments(draw: st.DrawFn) -> ExperimentRecord:
    name = draw(names)
    rest = draw(st.dictionaries(names.filter(lambda k: k not in _RESERVED), json_values, max_size=4))
    budget = draw(st.none() | st.integers(1, 10_000))
    return ExperimentRecord(
        id=draw(ids),
        project=draw(names),
        name=name,
        definition={"name": name, **rest, "budget": budget},
        state=draw(st.sampled_from(ExperimentState)),
        seed=draw(st.integers(0, 2**31)),
        lease_timeout=draw(st.floats(min_value=1, max_value=1e6)),
        created=draw(timestamps),
    )


@st.composite
def progresses(draw: st.DrawFn) -> Progress:
    budget = draw(st.none() | st.integers(0, 10_000))
    finished, active = draw(st.integers(0, 10_000)), draw(st.integers(0, 100))
    return Progress(
        budget=budget,
        finished=finished,
        failed=draw(st.integers(0, finished)),
        active=active,
        remaining=None if budget is None else max(0, budget - finished - active),
        failed_by_kind=draw(st.dictionaries(st.sampled_from([k.value for k in FailureKind]), st.integers(0, 50))),
        extra=draw(st.integers(0, 50)),
        manual=draw(st.integers(0, active)),
    )


suggestions = st.builds(
    Suggestion,
    id=ids,
    experiment=ids,
    assignments=scalar_maps,
    state=st.sampled_from(SuggestionState),
    serve_count=st.integers(0, 1_000),
    run=st.none() | ids,
    leased=st.booleans(),
    created=timestamps,
)
observations = st.builds(
    Observation,
    assignments=scalar_maps,
    values=st.dictionaries(names, metric_values, max_size=4),
    failed=st.booleans(),
    failure_kind=st.none() | st.sampled_from([k.value for k in FailureKind]),
    id=ids,
    suggestion=st.none() | ids,
    run=st.none() | ids,
    created=timestamps,
    extra=st.booleans(),
)
checkpoints = st.builds(
    Checkpoint,
    step=st.integers(0, 2**63 - 1),
    values=st.dictionaries(names, metric_values, max_size=3),
    created=timestamps,
)
metric_points = st.builds(MetricPoint, value=metric_values, stddev=st.none() | stddevs, created=timestamps)


@st.composite
def runs(draw: st.DrawFn) -> RunRecord:
    state = draw(st.sampled_from(RunState))
    metrics = draw(st.dictionaries(names, metric_values, max_size=4))
    created = draw(timestamps)
    return RunRecord(
        id=draw(ids),
        name=draw(names),
        project=draw(names),
        state=state,
        created=created,
        ended=draw(st.none() | st.floats(min_value=created, max_value=5e9)),
        params=draw(scalar_maps),
        metrics=metrics,
        # A stddev for a metric without a value too: the SDK never logs one, the store could hold one.
        metric_stddevs=draw(st.dictionaries(st.sampled_from(sorted(metrics) or ["x"]) | names, stddevs, max_size=3)),
        checkpoints=tuple(draw(st.lists(checkpoints, max_size=3))),
        metadata=draw(scalar_maps),
        sys_metadata=draw(st.dictionaries(names, json_values, max_size=3)),
        datasets=tuple(draw(st.lists(names, max_size=3, unique=True))),
        model=draw(st.none() | names),
        failure=draw(failures) if state is RunState.FAILED else None,
        experiment=draw(st.none() | ids),
        suggestion=draw(st.none() | ids),
        heartbeat=draw(st.none() | timestamps),
        lost=state is RunState.ACTIVE and draw(st.booleans()),
        archived=draw(st.booleans()),
    )


# --- every converter round-trips exactly, through JSON without NaN
ROUND_TRIPS: list[tuple[str, Any, Callable[[Any], Any], Callable[[Any], Any]]] = [
    ("experiment", experiments(), wire.experiment_to_json, wire.experiment_from_json),
    ("progress", progresses(), wire.progress_to_json, wire.progress_from_json),
    ("suggestion", suggestions, wire.suggestion_to_json, wire.suggestion_from_json),
    ("observation", observations, wire.observation_to_json, wire.observation_from_json),
    ("training_run", runs(), wire.training_run_to_json, wire.training_run_from_json),
    ("checkpoint", checkpoints, wire.checkpoint_to_json, wire.checkpoint_from_json),
    ("metric_point", metric_points, wire.metric_point_to_json, wire.metric_point_from_json),
    (
        "file",
        st.builds(
            FileRecord,
            id=ids,
            run=ids,
            name=names,
            content_type=names,
            size=st.integers(0, 2**40),
            created=timestamps,
            sha256=st.text("0123456789abcdef", min_size=64, max_size=64),
        ),
        wire.file_to_json,
        wire.file_from_json,
    ),
    (
        "project",
        st.builds(ProjectRecord, id=names, name=names, created=timestamps),
        lambda project: wire.project_to_json(project, client="1"),
        wire.project_from_json,
    ),
]


@pytest.mark.parametrize(("kind", "values", "to_json", "from_json"), ROUND_TRIPS, ids=[r[0] for r in ROUND_TRIPS])
def test_every_value_comes_back_exactly(
    kind: str, values: Any, to_json: Callable[[Any], Any], from_json: Callable[[Any], Any]
) -> None:
    @given(values)
    def check(value: Any) -> None:
        obj = through_json(to_json(value))
        assert obj["object"] == kind
        assert canonical(from_json(obj)) == canonical(value)

    check()


@given(experiments(), progresses())
def test_an_experiment_carries_its_progress(record: ExperimentRecord, progress: Progress) -> None:
    obj = through_json(wire.experiment_to_json(record, progress))
    assert canonical(wire.progress_from_json(obj["progress"])) == canonical(progress)
    assert canonical(wire.experiment_from_json(obj)) == canonical(record)


@given(st.lists(runs(), max_size=3), st.none() | ids, st.none() | ids, st.none() | st.integers(0, 10**6))
def test_a_page_of_runs_comes_back(
    items: list[RunRecord], before: str | None, after: str | None, count: int | None
) -> None:
    obj = through_json(
        wire.page_to_json([wire.training_run_to_json(r) for r in items], before=before, after=after, count=count)
    )
    page = wire.page_from_json(obj)
    assert (page.before, page.after) == (before, after)
    assert page.count == (len(items) if count is None else count)
    assert canonical([wire.training_run_from_json(item) for item in page.data]) == canonical(items)


def test_a_timestamp_is_whole_seconds_for_sigopt_and_exact_for_us() -> None:
    suggestion = Suggestion("7", "3", {"x": 1}, SuggestionState.OPEN, 1, created=1_700_000_000.987654)
    obj = wire.suggestion_to_json(suggestion)
    assert obj["created"] == 1_700_000_000
    assert wire.suggestion_from_json(obj).created == 1_700_000_000.987654


# --- what a SigOpt client reads
def test_experiment_fields_a_sigopt_client_reads() -> None:
    definition = parse_experiment(
        {
            "name": "tune",
            "parameters": [{"name": "lr", "type": "double", "bounds": {"min": 1e-4, "max": 0.1}}],
            "metrics": [{"name": "acc", "objective": "maximize"}],
            "budget": 30,
            "parallel_bandwidth": 4,
            "metadata": {"team": "vision"},
        }
    ).to_json()
    record = ExperimentRecord("42", "vision", "tune", definition, ExperimentState.ACTIVE, 7, 60.0, 1_700_000_000.5)
    progress = Progress(budget=30, finished=5, failed=1, active=2, remaining=23, failed_by_kind={"oom": 1}, extra=1)

    obj = through_json(wire.experiment_to_json(record, progress))

    assert {k: obj[k] for k in ("object", "id", "project", "name", "state", "created", "type")} == {
        "object": "experiment",
        "id": "42",
        "project": "vision",
        "name": "tune",
        "state": "active",
        "created": 1_700_000_000,
        "type": "offline",
    }
    assert (obj["observation_budget"], obj["parallel_bandwidth"], obj["metadata"]) == (30, 4, {"team": "vision"})
    assert "budget" not in obj
    assert obj["parameters"][0]["bounds"] == {"object": "bounds", "min": 1e-4, "max": 0.1}
    assert obj["metrics"][0]["name"] == "acc"
    assert {k: v for k, v in obj["progress"].items() if k != "sigopt_ai"} == {
        "object": "progress",
        "observation_budget": 30,
        "observation_count": 6,  # the extra result of a suggestion is an observation too
        "observation_budget_consumed": 5,
        "active_run_count": 2,
        "finished_run_count": 5,
        "total_run_count": 7,
        "remaining_budget": 23,
    }
    assert obj["progress"]["sigopt_ai"] == {"failed": 1, "failed_by_kind": {"oom": 1}, "extra": 1, "manual": 0}
    assert parse_experiment(wire.experiment_from_json(obj).definition) == parse_experiment(definition)


def test_observation_fields_a_sigopt_client_reads() -> None:
    observation = Observation(
        {"lr": 0.01}, {"acc": 0.91, "loss": math.inf}, id="555", suggestion="101", run="r1", created=1_700_000_200.25
    )

    obj = through_json(wire.observation_to_json(observation, experiment="42"))

    assert {k: obj[k] for k in ("object", "id", "experiment", "suggestion", "created", "failed", "assignments")} == {
        "object": "observation",
        "id": "555",
        "experiment": "42",
        "suggestion": "101",
        "created": 1_700_000_200,
        "failed": False,
        "assignments": {"lr": 0.01},
    }
    assert obj["values"] == [
        {"object": "metric_evaluation", "name": "acc", "value": 0.91, "value_stddev": None},
        {"object": "metric_evaluation", "name": "loss", "value": "Infinity", "value_stddev": None},
    ]
    assert obj["metadata"] is None  # the user's: ours goes in the extension
    assert obj["sigopt_ai"] == {"created": 1_700_000_200.25, "failure_kind": None, "extra": False, "run": "r1"}


def test_a_failed_observation_says_why_in_the_extension() -> None:
    obj = wire.observation_to_json(Observation({"x": 1}, {}, True, "oom", id="9"))
    assert (obj["failed"], obj["values"], obj["sigopt_ai"]["failure_kind"]) == (True, [], "oom")


def test_sigopt_servers_observation_reads() -> None:
    # sigopt-server's response for an observation (reference 3.5): no extension of ours.
    obj = {
        "object": "observation",
        "id": "555",
        "experiment": "42",
        "suggestion": "101",
        "created": 1700000200,
        "failed": False,
        "assignments": {"lr": 0.0031, "depth": 7, "opt": "adam"},
        "values": [{"object": "metric_evaluation", "name": "val_acc", "value": 0.912, "value_stddev": 0.004}],
        "metadata": {"host": "gpu-3"},
    }
    assert wire.observation_from_json(obj) == Observation(
        {"lr": 0.0031, "depth": 7, "opt": "adam"}, {"val_acc": 0.912}, id="555", suggestion="101", created=1700000200
    )


def test_training_run_fields_a_sigopt_client_reads() -> None:
    run = RunRecord(
        id="900",
        name="worker-3",
        project="vision",
        state=RunState.FAILED,
        created=1_700_000_000.5,
        ended=1_700_000_100.75,
        params={"batch_size": 64},
        metrics={"val_acc": 0.91, "loss": math.nan},
        metric_stddevs={"val_acc": 0.01},
        checkpoints=(Checkpoint(0, {"val_acc": 0.7}, 1_700_000_050.0),),
        metadata={"git": "abc"},
        datasets=("imagenet",),
        model="ResNet50",
        failure=FailureInfo(FailureKind.DIVERGED, "FloatingPointError", "loss is nan", "Traceback ..."),
        experiment="43",
        suggestion="101",
        heartbeat=1_700_000_090.0,
    )

    obj = through_json(wire.training_run_to_json(run))

    assert {
        k: obj[k] for k in ("object", "id", "name", "project", "state", "finished", "experiment", "suggestion")
    } == {
        "object": "training_run",
        "id": "900",
        "name": "worker-3",
        "project": "vision",
        "state": "failed",
        "finished": True,
        "experiment": "43",
        "suggestion": "101",
    }
    assert (obj["created"], obj["completed"], obj["updated"]) == (1_700_000_000, 1_700_000_100, 1_700_000_100)
    assert obj["assignments"] == {"batch_size": 64}
    assert obj["values"] == {
        "val_acc": {"object": "metric_evaluation", "name": "val_acc", "value": 0.91, "value_stddev": 0.01},
        "loss": {"object": "metric_evaluation", "name": "loss", "value": "NaN", "value_stddev": None},
    }
    assert (obj["metadata"], obj["datasets"], obj["model"]) == ({"git": "abc"}, {"imagenet": {}}, {"type": "ResNet50"})
    assert obj["checkpoint_count"] == 1
    assert obj["sigopt_ai"]["failure"] == {
        "kind": "diverged",
        "type": "FloatingPointError",
        "message": "loss is nan",
        "traceback": "Traceback ...",
    }
    assert (obj["sigopt_ai"]["heartbeat"], obj["sigopt_ai"]["lost"]) == (1_700_000_090.0, False)


def test_suggestion_and_page_fields_a_sigopt_client_reads() -> None:
    suggestion = Suggestion("101", "42", {"lr": 0.0031, "opt": "adam"}, SuggestionState.OPEN, 1, created=1_700_000_100)
    obj = wire.page_to_json([wire.suggestion_to_json(suggestion)], after="CgIIAQ", count=42)
    assert (obj["object"], obj["count"], obj["paging"]) == ("pagination", 42, {"before": None, "after": "CgIIAQ"})
    item = obj["data"][0]
    assert {k: item[k] for k in ("object", "id", "experiment", "state", "created", "assignments")} == {
        "object": "suggestion",
        "id": "101",
        "experiment": "42",
        "state": "open",
        "created": 1_700_000_100,
        "assignments": {"lr": 0.0031, "opt": "adam"},
    }


# --- malformed objects are refused, naming the field
def _good(kind: str) -> dict[str, Any]:
    run = RunRecord(id="r", name="n", project="p", state=RunState.ACTIVE, created=1.0, metrics={"a": 1.0})
    made = {
        "experiment": wire.experiment_to_json(
            ExperimentRecord("1", "p", "n", {"name": "n", "budget": 3}, ExperimentState.ACTIVE, 1, 60.0, 1.0)
        ),
        "observation": wire.observation_to_json(Observation({"x": 1}, {"a": 1.0, "b": 2.0}, id="o")),
        "suggestion": wire.suggestion_to_json(Suggestion("s", "1", {"x": 1}, SuggestionState.OPEN, 0)),
        "training_run": wire.training_run_to_json(run),
        "progress": wire.progress_to_json(Progress(None, 0, 0, 0, None, {})),
        "pagination": wire.page_to_json([]),
    }
    return through_json(made[kind])  # type: ignore[no-any-return]


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(obj: dict[str, Any]) -> None:
        for key in path[:-1]:
            obj = obj[key]
        if value is _DELETE:
            del obj[path[-1]]
        else:
            obj[path[-1]] = value

    return change


_DELETE = object()
FROM_JSON = {
    "experiment": wire.experiment_from_json,
    "observation": wire.observation_from_json,
    "suggestion": wire.suggestion_from_json,
    "training_run": wire.training_run_from_json,
    "progress": wire.progress_from_json,
    "pagination": wire.page_from_json,
}
MALFORMED = [
    ("experiment", ["id"], 5, ValidationTypeError, "experiment.id: expected a string, got 5 (int)."),
    (
        "experiment",
        ["object"],
        "suggestion",
        ValidationError,
        "experiment.object: expected 'experiment', got 'suggestion'",
    ),
    ("experiment", ["state"], "paused", ValidationError, "experiment.state: expected one of ['active', 'deleted']"),
    (
        "experiment",
        ["sigopt_ai", "seed"],
        _DELETE,
        ValidationError,
        "experiment.sigopt_ai.seed: the field is required.",
    ),
    (
        "experiment",
        ["sigopt_ai", "created"],
        "now",
        ValidationTypeError,
        "experiment.sigopt_ai.created: expected a number",
    ),
    (
        "observation",
        ["values", 1, "name"],
        3,
        ValidationTypeError,
        "observation.values[1].name: expected a string, got 3",
    ),
    (
        "observation",
        ["values", 1, "value"],
        "high",
        ValidationTypeError,
        "observation.values[1].value: expected a number",
    ),
    (
        "observation",
        ["values", 1, "name"],
        "a",
        ValidationError,
        "observation.values[1].name: expected each metric once",
    ),
    ("observation", ["values"], {"a": 1}, ValidationTypeError, "observation.values: expected a JSON array or null"),
    ("observation", ["assignments", "x"], [1], ValidationTypeError, "observation.assignments['x']: expected a string"),
    ("observation", ["failed"], "no", ValidationTypeError, "observation.failed: expected true or false"),
    ("suggestion", ["sigopt_ai", "serve_count"], _DELETE, ValidationError, "suggestion.sigopt_ai.serve_count"),
    ("suggestion", ["state"], "pending", ValidationError, "suggestion.state: expected one of ['open', 'closed']"),
    ("training_run", ["state"], "running", ValidationError, "training_run.state: expected one of"),
    ("training_run", ["values", "a", "name"], "b", ValidationError, "training_run.values['a'].name: expected the key"),
    ("training_run", ["values", "a", "value"], True, ValidationTypeError, "training_run.values['a'].value"),
    ("training_run", ["model"], {"kind": "x"}, ValidationError, "training_run.model.type: the field is required."),
    (
        "training_run",
        ["sigopt_ai", "failure"],
        {"kind": "gremlins"},
        ValidationError,
        "training_run.sigopt_ai.failure: ",
    ),
    ("training_run", ["sigopt_ai", "checkpoints"], [{"values": []}], ValidationError, "checkpoints[0].sigopt_ai.step"),
    ("training_run", ["sigopt_ai", "heartbeat"], "now", ValidationTypeError, "training_run.sigopt_ai.heartbeat"),
    ("training_run", ["state"], "failed", ValidationError, "training_run: Run 'r' is failed but has no failure"),
    ("training_run", ["sigopt_ai", "lost"], "yes", ValidationTypeError, "training_run.sigopt_ai.lost: expected true"),
    ("progress", ["sigopt_ai", "failed_by_kind"], {"oom": "1"}, ValidationTypeError, "failed_by_kind['oom']"),
    ("progress", ["observation_budget_consumed"], None, ValidationTypeError, "progress.observation_budget_consumed"),
    ("pagination", ["data"], [1], ValidationTypeError, "pagination.data[0]: expected a JSON object, got 1 (int)."),
    ("pagination", ["paging", "after"], 5, ValidationTypeError, "pagination.paging.after: expected a string or null"),
]


@pytest.mark.parametrize(("kind", "path", "value", "error", "message"), MALFORMED)
def test_a_malformed_object_is_refused_naming_the_field(
    kind: str, path: list[Any], value: Any, error: type[Exception], message: str
) -> None:
    obj = _good(kind)
    FROM_JSON[kind](obj)  # the object before the change reads
    _set(path, value)(obj)
    with pytest.raises(error) as info:
        FROM_JSON[kind](obj)
    assert message in str(info.value)


@pytest.mark.parametrize("from_json", list(FROM_JSON.values()))
def test_what_is_not_an_object_is_refused(from_json: Callable[[Any], Any]) -> None:
    with pytest.raises(ValidationTypeError, match=r"expected a JSON object, got \[\] \(list\)"):
        from_json([])


# --- errors
SENT_ERRORS = [
    (ValidationError("metric 'acc' is unknown."), 400),
    (ValidationTypeError("step must be an integer."), 400),
    (UsageError("Run 'r' has already finished."), 409),
    (ExperimentStopped("The same bug three times."), 409),
    (TransportError("The store's host did not answer."), 502),
    (StoreError("database is locked"), 503),
    (BackendRejected(418, "a teapot"), 418),
]


@pytest.mark.parametrize(("exc", "status"), SENT_ERRORS, ids=[type(e).__name__ for e, _ in SENT_ERRORS])
def test_our_errors_come_back_as_the_same_class(exc: SigOptError, status: int) -> None:
    obj = through_json(wire.error_to_json(exc))
    assert (obj["object"], obj["status"]) == ("error", status)
    back = wire.error_from_json(status, obj)
    assert (type(back), str(back)) == (type(exc), str(exc))


def test_an_unknown_id_may_be_sent_as_404_and_stays_a_validation_error() -> None:
    obj = through_json(wire.error_to_json(ValidationError("There is no experiment with id '7'."), status=404))
    assert obj["status"] == 404
    back = wire.error_from_json(404, obj)
    assert (type(back), str(back)) == (ValidationError, "There is no experiment with id '7'.")


def test_an_unexpected_exception_keeps_its_message_on_the_server() -> None:
    obj = wire.error_to_json(KeyError("postgres://admin:secret@db"))
    assert (obj["status"], obj["message"]) == (500, "The server failed with KeyError.")
    back = wire.error_from_json(500, obj)
    assert isinstance(back, BackendRejected) and back.status == 500


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, ValidationError),
        (404, ValidationError),
        (401, ConfigError),
        (403, ConfigError),
        (409, UsageError),
        (429, TransportError),
        (503, TransportError),
        (500, BackendRejected),
        (418, BackendRejected),
    ],
)
def test_sigopt_servers_errors_map_by_status(status: int, error: type[SigOptError]) -> None:
    back = wire.error_from_json(status, {"message": "Experiment 42 was not found.", "status": status})
    assert type(back) is error
    assert "Experiment 42 was not found." in str(back)


def test_a_body_that_is_not_an_error_still_gives_an_error() -> None:
    back = wire.error_from_json(502, "<html>Bad Gateway</html>")
    assert isinstance(back, BackendRejected) and back.status == 502 and "Bad Gateway" in back.message
