"""SigOpt v1 objects of runs: ``training_run`` and ``checkpoint``, and our ``metric_point`` of a
metric's history (SigOpt keeps none). The conventions are in :mod:`sigopt_ai.wire`.
"""

from __future__ import annotations

import copy
from typing import Any

from sigopt_ai._exceptions import ValidationError
from sigopt_ai._failures import FailureInfo
from sigopt_ai._models import Checkpoint, MetricPoint, RunRecord, RunState
from sigopt_ai.wire._fields import EXTENSION, JSON, Fields, evaluation_to_json, metric_to_json, seconds

__all__ = [
    "checkpoint_from_json",
    "checkpoint_to_json",
    "metric_point_from_json",
    "metric_point_to_json",
    "training_run_from_json",
    "training_run_to_json",
]


def training_run_to_json(run: RunRecord) -> JSON:
    """SigOpt's ``training_run`` object, with the run's checkpoints and failure in the extension.

    ``values`` maps each metric to its last value; a standard deviation logged for a metric without a
    value (never by the SDK) keeps a ``"value": null`` entry.
    """
    values = {
        name: evaluation_to_json(name, value, run.metric_stddevs.get(name)) for name, value in run.metrics.items()
    }
    for name, stddev in run.metric_stddevs.items():
        values.setdefault(name, evaluation_to_json(name, None, stddev))
    updated = max(t for t in (run.created, run.heartbeat, run.ended) if t is not None)
    return {
        "object": "training_run",
        "id": run.id,
        "name": run.name,
        "project": run.project,
        "state": run.state.value,
        "finished": run.state.is_finished(),
        "deleted": run.archived,
        "favorite": False,
        "created": seconds(run.created),
        "updated": seconds(updated),
        "completed": None if run.ended is None else seconds(run.ended),
        "experiment": run.experiment,
        "suggestion": run.suggestion,
        "observation": None,
        "assignments": dict(run.params),
        "values": values,
        "metadata": dict(run.metadata),
        "sys_metadata": copy.deepcopy(dict(run.sys_metadata)),
        "datasets": {name: {} for name in run.datasets},
        "model": None if run.model is None else {"type": run.model},
        "logs": {},
        "checkpoint_count": len(run.checkpoints),
        EXTENSION: {
            "created": run.created,
            "completed": run.ended,
            "heartbeat": run.heartbeat,
            "lost": run.lost,
            "failure": None if run.failure is None else run.failure.to_json(),
            "checkpoints": [checkpoint_to_json(c, run=run.id) for c in run.checkpoints],
        },
    }


def training_run_from_json(obj: Any) -> RunRecord:
    """The :class:`RunRecord` of a ``training_run`` object.

    Raises:
        ValidationError: A field is missing or malformed (the message names it), or the fields
            disagree (a ``failed`` run without a failure).
    """
    fields = Fields(obj, "training_run", "training_run")
    extension = fields.extension()
    evaluations = fields.evaluations("values", keyed=True)
    try:
        return RunRecord(
            id=fields.text("id"),
            name=fields.text("name"),
            project=fields.text("project"),
            state=fields.state(RunState),
            created=fields.time("created"),
            ended=fields.optional_time("completed"),
            params=fields.scalars("assignments"),
            metrics={name: value for name, (value, _) in evaluations.items() if value is not None},
            metric_stddevs={name: stddev for name, (_, stddev) in evaluations.items() if stddev is not None},
            checkpoints=tuple(
                checkpoint_from_json(item, f"training_run.{EXTENSION}.checkpoints[{index}]")
                for index, item in enumerate(extension.items("checkpoints"))
            ),
            metadata=fields.scalars("metadata"),
            sys_metadata=fields.mapping("sys_metadata"),
            datasets=tuple(fields.mapping("datasets")),
            model=None if fields.obj.get("model") is None else fields.child("model").text("type"),
            failure=_failure(extension),
            experiment=fields.optional_text("experiment"),
            suggestion=fields.optional_text("suggestion"),
            heartbeat=extension.optional_number("heartbeat"),
            lost=extension.flag("lost"),
            archived=fields.flag("deleted"),
        )
    except ValidationError:
        raise
    except ValueError as exc:  # the fields disagree: a lost run that ended, a failed run without a failure
        raise ValidationError(f"training_run: {exc}") from None


def checkpoint_to_json(checkpoint: Checkpoint, *, run: str | None = None) -> JSON:
    """SigOpt's ``checkpoint`` object; ``run`` is its training run's id, when known."""
    return {
        "object": "checkpoint",
        "training_run": run,
        "created": seconds(checkpoint.created),
        "values": [evaluation_to_json(name, value) for name, value in checkpoint.values.items()],
        "metadata": {},
        EXTENSION: {"created": checkpoint.created, "step": checkpoint.step},
    }


def checkpoint_from_json(obj: Any, path: str = "checkpoint") -> Checkpoint:
    """The :class:`Checkpoint` of a ``checkpoint`` object (``path`` names it in errors).

    Raises:
        ValidationError: A field is missing or malformed; the message names it.
    """
    fields = Fields(obj, path, "checkpoint")
    return Checkpoint(
        step=fields.extension().integer("step"), values=fields.metrics("values"), created=fields.time("created")
    )


def metric_point_to_json(point: MetricPoint) -> JSON:
    """One value of a metric's history: a ``metric_point`` object (ours; SigOpt keeps no history)."""
    return {
        "object": "metric_point",
        "value": metric_to_json(point.value),
        "value_stddev": None if point.stddev is None else metric_to_json(point.stddev),
        "created": seconds(point.created),
        EXTENSION: {"created": point.created},
    }


def metric_point_from_json(obj: Any) -> MetricPoint:
    """The :class:`MetricPoint` of a ``metric_point`` object.

    Raises:
        ValidationError: A field is missing or malformed; the message names it.
    """
    fields = Fields(obj, "metric_point", "metric_point")
    return MetricPoint(
        value=fields.metric("value"), stddev=fields.optional_metric("value_stddev"), created=fields.time("created")
    )


def _failure(extension: Fields) -> FailureInfo | None:
    value = extension.obj.get("failure")
    if value is None:
        return None
    try:
        return FailureInfo.from_json(value)
    except ValidationError as exc:
        raise ValidationError(f"{extension.path}.failure: {exc}") from None
