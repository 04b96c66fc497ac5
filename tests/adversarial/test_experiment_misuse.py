"""Misusing the SDK inside an experiment loop spends no budget, and the loop stops pointing at the user's line."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import pytest

import sigopt_ai as sigopt
from sigopt_ai._failures import MAX_MESSAGE_LENGTH, MAX_TRACEBACK_LENGTH, classify, describe

PACKAGE = str(Path(sigopt.__file__).resolve().parent)


def make(budget: int) -> sigopt.Experiment:
    return sigopt.create_experiment(
        name="misuse",
        parameters=[
            dict(name="x", type="double", bounds=dict(min=0, max=1)),
            dict(name="width", type="int", bounds=dict(min=16, max=512)),
        ],
        metrics=[dict(name="loss", objective="minimize")],
        budget=budget,
        type="random",
        seed=3,
    )


def here() -> int:
    """The caller's line number plus one: the line of the call the test makes next."""
    frame = inspect.currentframe()
    assert frame is not None and frame.f_back is not None
    return frame.f_back.f_lineno + 1


def assert_stopped_without_spending(exp: sigopt.Experiment, stopped: sigopt.ExperimentStopped, line: int) -> None:
    message = str(stopped)
    assert f"{__file__}:{line}" in message, message  # the user's line ...
    assert PACKAGE not in message  # ... not a frame inside the SDK
    progress = exp.progress
    assert (progress.finished, progress.active, progress.remaining) == (0, 0, exp.budget)
    runs = exp.runs()
    assert len(runs) == 3
    assert all(r.failure is not None and r.failure.kind is sigopt.FailureKind.ERROR for r in runs)


def test_a_bad_logging_call_gives_the_suggestion_back_and_stops_after_three() -> None:
    exp = make(budget=6)
    with pytest.raises(sigopt.ExperimentStopped, match="the same error ended 3 runs in a row") as stopped:
        for run in exp.loop(progress=False):
            with run:
                line = here()
                run.log_metric("loss", "high")  # type: ignore[arg-type]
    assert "ValidationTypeError" in str(stopped.value)
    assert_stopped_without_spending(exp, stopped.value, line)


def test_assigning_a_suggested_parameter_gives_the_suggestion_back_and_stops_after_three() -> None:
    exp = make(budget=6)
    with pytest.raises(sigopt.ExperimentStopped, match="the same error ended 3 runs in a row") as stopped:
        for run in exp.loop(progress=False):
            with run:
                line = here()
                run.params.x = 0.5  # each message names a different suggested value
    assert_stopped_without_spending(exp, stopped.value, line)


def test_identical_first_failures_are_compared_by_type_and_line_not_by_message() -> None:
    exp = make(budget=10)
    with pytest.raises(sigopt.ExperimentStopped, match="the first 3 runs failed identically"):
        for run in exp.loop(progress=False):
            with run:
                raise sigopt.InvalidAssignment(f"width {run.params.width} cannot be trained")
    assert exp.progress.failed == 3  # assignment failures still spend budget, but only three


def test_the_sdks_misuse_errors_are_bugs_and_the_users_value_errors_stay_assignment_failures() -> None:
    with sigopt.run() as run:
        with pytest.raises(sigopt.ValidationError) as bad_value:
            run.log_metric("loss", float("nan"), stddev=-1)
        with pytest.raises(sigopt.ValidationTypeError) as bad_type:
            run.log_metric("loss", "high")  # type: ignore[arg-type]
    with pytest.raises(sigopt.UsageError) as misuse:
        run.log_metric("loss", 1.0)
    for exc in (bad_value.value, bad_type.value, misuse.value):
        assert classify(exc) is sigopt.FailureKind.ERROR
    assert classify(ValueError("lr too large")) is sigopt.FailureKind.INVALID_ASSIGNMENT
    assert classify(sigopt.InvalidAssignment("tanh needs width >= 64")) is sigopt.FailureKind.INVALID_ASSIGNMENT
    # In one chain with the user's ValueError, the SDK's error still marks a bug; an OOM still wins.
    user = ValueError("user")
    user.__context__ = bad_type.value
    assert classify(user) is sigopt.FailureKind.ERROR
    oom = MemoryError()
    oom.__context__ = bad_value.value
    assert classify(oom) is sigopt.FailureKind.OOM


def test_a_failure_message_with_a_lone_surrogate_is_stored_escaped() -> None:
    name = os.fsdecode(b"shard-\xff.bin")  # what a non-UTF-8 file name decodes to
    exp = make(budget=1)
    for run in exp.loop(progress=False):
        with run:
            raise OSError(f"cannot read {name}")  # a bug (kind error): the suggestion goes back
        break
    stored = sigopt.get_run(run.id).failure
    assert stored is not None and stored.kind is sigopt.FailureKind.ERROR
    assert "cannot read shard-\\udcff.bin" in stored.message
    assert stored.traceback is not None and "\\udcff" in stored.traceback
    info = describe(OSError(f"cannot read {name}"))
    info.message.encode("utf-8")  # valid UTF-8 text: the writer can store it
    assert info.traceback is not None
    info.traceback.encode("utf-8")


def test_a_huge_failure_message_is_cut_keeping_its_start_and_end() -> None:
    huge = "start " + "x" * 1_000_000 + " end"
    info = describe(ValueError(huge))
    assert len(info.message) <= MAX_MESSAGE_LENGTH + 100
    assert info.message.startswith("start x") and info.message.endswith("x end")
    assert "characters cut" in info.message
    assert info.traceback is not None and len(info.traceback) <= MAX_TRACEBACK_LENGTH + 100
    exp = make(budget=1)
    for run in exp.loop(progress=False):
        with run:
            raise ValueError(huge)
    stored = sigopt.get_run(run.id).failure
    assert stored is not None and len(stored.message) <= MAX_MESSAGE_LENGTH + 100


def test_an_exception_whose_str_fails_is_still_recorded() -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    info = describe(Unprintable())
    assert info.kind is sigopt.FailureKind.ERROR and "Unprintable" in info.message


def test_a_runtime_error_whose_str_fails_leaves_the_run_as_itself_and_the_run_ends_failed() -> None:
    # RuntimeError and OSError messages are searched for out-of-memory text while classifying.
    class Unprintable(RuntimeError):
        def __str__(self) -> str:
            raise TypeError("no")

    assert describe(Unprintable()).kind is sigopt.FailureKind.ERROR
    with pytest.raises(Unprintable), sigopt.run(name="unprintable") as run:
        raise Unprintable()
    record = sigopt.get_run(run.id)
    assert record is not None and record.state is sigopt.RunState.FAILED
