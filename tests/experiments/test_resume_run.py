"""Experiment.resume_run: a new run for a suggestion a dead worker left open."""

from __future__ import annotations

import pytest

import sigopt_ai as sigopt


def _experiment() -> sigopt.Experiment:
    return sigopt.create_experiment(
        name="resume",
        parameters=[{"name": "x", "type": "double", "bounds": {"min": 0.0, "max": 1.0}}],
        metrics=[{"name": "y", "objective": "minimize"}],
        budget=2,
    )


def test_a_suggestion_left_open_is_observed_through_the_new_run() -> None:
    exp = _experiment()
    served = exp.suggest()  # what a worker was evaluating when it died
    run = exp.resume_run(served.id, name="resumed")
    assert run is not None and dict(run.params) == dict(served.assignments)
    with run:
        run.log_metric("y", 0.25)
    (observation,) = exp.observations()
    assert observation.suggestion == served.id and observation.values == {"y": 0.25}
    assert sigopt.get_run(run.id).name == "resumed"
    assert exp.resume_run(served) is None  # observed: nothing to resume


def test_a_failure_of_the_assignment_is_a_failed_observation_and_a_bug_gives_it_back() -> None:
    exp = _experiment()
    served = exp.suggest()
    run = exp.resume_run(served)
    assert run is not None
    with pytest.raises(KeyError), run:
        raise KeyError("bug")  # the suggestion goes back: resumable again
    again = exp.resume_run(served)
    assert again is not None
    with pytest.raises(MemoryError), again:
        raise MemoryError()
    (observation,) = exp.observations()
    assert observation.failed and observation.failure_kind == "oom"


def test_an_unknown_suggestion_is_refused_by_name() -> None:
    exp = _experiment()
    with pytest.raises(sigopt.ValidationError, match="suggestion: experiment .* has no suggestion '999'"):
        exp.resume_run("999")
    with pytest.raises(sigopt.ValidationTypeError, match="suggestion must be"):
        exp.resume_run(3.5)  # type: ignore[arg-type]
