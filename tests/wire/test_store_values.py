"""What a real store gives back survives the wire: an HTTP backend built on it returns what the SQL
backend returns."""

from __future__ import annotations

import math
from typing import Any

import sigopt_ai as sigopt
from sigopt_ai import wire
from sigopt_ai.runs._session import get_session

from .test_v1 import canonical, through_json


def across(value: Any, to_json: Any, from_json: Any) -> Any:
    return canonical(from_json(through_json(to_json(value))))


def test_runs_from_the_store_cross_the_wire() -> None:
    with sigopt.create_run(name="wire ✓ ünïcode") as run:
        run.params.update({"lr": 0.01, "optimizer": "adam", "layers": 3, "bn": True})
        run.log_checkpoint({"loss": 0.5, "acc": 0.25})
        run.log_checkpoint({"loss": math.inf})
        run.log_metric("acc", 0.9, stddev=0.01)
        run.log_metadata("host", "gpu-3")
        run.log_dataset("imagenet")
        run.log_model("ResNet50")
        run.log_metric("loss", math.nan)  # diverged: the run fails, and keeps the NaN
    sigopt.flush()
    stored = sigopt.get_run(run.id)
    assert stored is not None and stored.failure is not None and math.isnan(stored.metrics["loss"])

    assert across(stored, wire.training_run_to_json, wire.training_run_from_json) == canonical(stored)
    for point in sigopt.metric_history(run.id, "loss") + sigopt.metric_history(run.id, "acc"):
        assert across(point, wire.metric_point_to_json, wire.metric_point_from_json) == canonical(point)


def test_an_experiment_from_the_store_crosses_the_wire() -> None:
    experiment = sigopt.create_experiment(
        name="wire",
        parameters=[
            {"name": "x", "type": "double", "bounds": {"min": 0, "max": 1}},
            {"name": "kind", "type": "categorical", "categorical_values": ["a", "b"]},
        ],
        metrics=[{"name": "acc"}],
        budget=5,
        type="random",
    )
    first = experiment.suggest()
    experiment.observe(first, values={"acc": 0.5})
    experiment.observe(experiment.suggest(), failed=True)
    pending = experiment.suggest()
    for run in experiment.loop(progress=False):
        run.log_metric("acc", 0.75)
        break

    record = get_session().backend.get_experiment(experiment.id)
    assert record is not None
    assert across(record, wire.experiment_to_json, wire.experiment_from_json) == canonical(record)
    progress = experiment.progress
    assert across(progress, wire.progress_to_json, wire.progress_from_json) == canonical(progress)
    assert progress.failed == 1
    for observation in experiment.observations():
        assert across(observation, wire.observation_to_json, wire.observation_from_json) == canonical(observation)
    for suggestion in (first, pending):
        assert across(suggestion, wire.suggestion_to_json, wire.suggestion_from_json) == canonical(suggestion)
    runs = experiment.runs()
    assert runs and all(r.experiment == experiment.id for r in runs)
    for stored in runs:
        assert across(stored, wire.training_run_to_json, wire.training_run_from_json) == canonical(stored)
