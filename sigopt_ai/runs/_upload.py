"""``upload_runs``: finished runs recorded elsewhere, stored in batches as sigopt-python uploads them.

Each run is a SigOpt ``training_run`` body, as sigopt-python's ``LocalRunContext.get()`` builds it::

    {"name": "batch-3", "assignments": {"x": 3}, "values": {"loss": {"value": 0.2, "value_stddev": 0.01}},
     "state": "completed", "metadata": {...}, "datasets": {"mnist": {}}, "model": {"type": "xgboost"}}

A body is read with the wire's ``training_run`` parser, so a malformed field is named as the server
names it, and then checked by the rules the SDK's logging calls apply, so an uploaded run holds only
what a recorded run could. Every body is checked before anything is written.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sigopt_ai import _config
from sigopt_ai._checks import (
    MAX_TEXT_LENGTH,
    check_name,
    check_run_name,
    check_stddev,
    check_text,
    describe_value,
    short_repr,
    to_metadata,
    to_param,
)
from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai._failures import FailureInfo, FailureKind
from sigopt_ai._models import Op, RunRecord, RunState
from sigopt_ai.runs._run import new_run_id
from sigopt_ai.runs._session import get_session
from sigopt_ai.wire import EXTENSION, training_run_from_json

__all__ = ["parse_runs", "record_ops", "upload_runs"]

_FIELDS = frozenset({"name", "state", "assignments", "values", "metadata", "datasets", "model", "project"})
# SigOpt's, which this store does not keep (sys_metadata is what the SDK measures, not the uploader):
# accepted so that sigopt-python's bodies upload as they are.
_IGNORED = frozenset(
    {
        "assignments_meta",
        "assignments_sources",
        "dev_metadata",
        "favorite",
        "files",
        "logs",
        "source_code",
        "sys_metadata",
        "tags",
    }
)
MAX_BATCH_SIZE = 10_000
"""sigopt-python's default and largest batch."""


def upload_runs(runs: Iterable[Mapping[str, Any]], max_batch_size: int = MAX_BATCH_SIZE) -> list[RunRecord]:
    """Store finished runs from their SigOpt ``training_run`` bodies, as sigopt-python's
    ``sigopt.upload_runs`` does.

    A body without ``state`` is stored ``completed`` (it describes a run that happened elsewhere);
    ``"failed"`` is a failure of kind ``reported``. Without ``name`` a run is named as
    :func:`sigopt_ai.create_run` names it; without ``project``, it goes to the default project.

    Args:
        runs: The bodies (any iterable of mappings).
        max_batch_size: How many runs one write to the store holds, 1 to 10,000.

    Returns:
        The stored runs (``.id`` of each), in the order given.

    Raises:
        ValidationError: A body breaks a rule; the message names it (``runs[3].values['loss'].value:
            ...``) and nothing is stored.
    """
    size = _batch_size(max_batch_size)
    parsed = parse_runs(runs, _config.default_project())
    backend = get_session().backend
    for start in range(0, len(parsed), size):
        batch = parsed[start : start + size]
        # The key makes a batch that a server receives twice (a retried request) count once.
        backend.write([op for record in batch for op in record_ops(record)], key=uuid.uuid4().hex)
    return parsed


def parse_runs(runs: Any, default_project: str) -> list[RunRecord]:
    """The runs that SigOpt ``training_run`` bodies describe (each with a new id), all checked before
    any is returned; what :func:`upload_runs` stores, for a server's batch route too.

    Raises:
        ValidationError: A body breaks a rule; the message names it (``runs[3].values...``).
    """
    if isinstance(runs, (str, bytes, Mapping)) or not isinstance(runs, Iterable):
        raise ValidationTypeError(f"runs must be a list of training run bodies, got {describe_value(runs)}.")
    now = time.time()
    return [_parse(body, f"runs[{index}]", default_project, now) for index, body in enumerate(runs)]


def _batch_size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationTypeError(f"max_batch_size must be an int, got {describe_value(value)}.")
    if not 1 <= value <= MAX_BATCH_SIZE:
        raise ValidationError(f"max_batch_size must be from 1 to {MAX_BATCH_SIZE:,}, got {short_repr(value)}.")
    return value


def _parse(body: Any, where: str, default_project: str, now: float) -> RunRecord:
    """The run that ``body`` describes, checked as the SDK checks what a run records."""
    if not isinstance(body, Mapping):
        raise ValidationTypeError(f"{where} must be a training run body (a mapping), got {describe_value(body)}.")
    for key in body:
        if key not in _FIELDS and key not in _IGNORED:
            raise ValidationError(
                f"{where}.{short_repr(key)}: not a field of a training run; the fields are {sorted(_FIELDS)!r}."
            )
    try:
        return _checked(training_run_from_json(_training_run(body, default_project, now)))
    except ValidationError as exc:
        raise type(exc)(f"{where}: {exc}") from None


def _training_run(body: Mapping[str, Any], default_project: str, now: float) -> dict[str, Any]:
    """The ``training_run`` object of a body: its fields, SigOpt's shorthands spelt out, and ours."""
    project = body.get("project")
    project = default_project if project is None else _config.check_project(project, "training_run.project")
    state = body.get("state")
    state = RunState.COMPLETED.value if state is None else state
    values = body.get("values")
    if isinstance(values, Mapping):  # sigopt-python writes {"loss": {"value": 1.0}}: the key is the name
        values = {k: {"name": k, **v} if isinstance(v, Mapping) and "name" not in v else v for k, v in values.items()}
    datasets = body.get("datasets")
    if isinstance(datasets, (list, tuple)) and all(isinstance(name, str) for name in datasets):
        datasets = dict.fromkeys(datasets, {})  # a list of names, as TrainingRun.datasets reads
    model = body.get("model")
    if isinstance(model, str):
        model = {"type": model}
    elif isinstance(model, Mapping) and model.get("type") is None:
        model = None
    failure = FailureInfo(FailureKind.REPORTED).to_json() if state == RunState.FAILED.value else None
    return {
        "object": "training_run",
        "id": new_run_id(),
        "name": body.get("name")
        if body.get("name") is not None
        else f"{project} {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(now))}",
        "project": project,
        "state": state,
        "assignments": body.get("assignments"),
        "values": values,
        "metadata": body.get("metadata"),
        "datasets": datasets,
        "model": model,
        EXTENSION: {
            "created": now,
            "completed": None if state == RunState.ACTIVE.value else now,
            "failure": failure,
        },
    }


def _checked(record: RunRecord) -> RunRecord:
    """``record`` by the rules of the SDK's logging calls (metadata stored as ``log_metadata`` stores
    it), so that an uploaded run holds what a recorded one could."""
    check_run_name(record.name)
    params = {
        key: to_param(value, f"training_run.assignments[{check_name(key, 'training_run.assignments (a name)')!r}]")
        for key, value in record.params.items()
    }
    metadata = {
        key: to_metadata(value, f"training_run.metadata[{check_name(key, 'training_run.metadata (a key)')!r}]")
        for key, value in record.metadata.items()
    }
    for name in (*record.metrics, *record.metric_stddevs):
        check_name(name, "training_run.values (a metric name)")
    for name, stddev in record.metric_stddevs.items():
        check_stddev(stddev, f"training_run.values[{name!r}].value_stddev")
    for name in record.datasets:
        check_name(name, "training_run.datasets (a name)")
    if record.model is not None:
        check_text(record.model, "training_run.model.type", MAX_TEXT_LENGTH)
    return dataclasses.replace(record, params=params, metadata=metadata)


def record_ops(record: RunRecord) -> list[Op]:
    """The write operations that store ``record`` (a run from :func:`parse_runs`)."""
    run_id, at = record.id, record.created
    ops: list[Op] = [("start", run_id, record.project, record.name, at, None, None)]
    sections = {
        "params": dict(record.params),
        "metadata": dict(record.metadata),
        "datasets": {name: {} for name in record.datasets},
        "model": {} if record.model is None else {"type": record.model},
    }
    ops += [("fields", run_id, section, values) for section, values in sections.items() if values]
    ops += [
        ("metric", run_id, name, value, record.metric_stddevs.get(name), at) for name, value in record.metrics.items()
    ]
    if record.failure is not None:
        ops.append(("failure", run_id, record.failure.to_json(), at))
    if record.state is not RunState.ACTIVE:
        ops.append(("end", run_id, record.state.value, record.ended or at))
    return ops
