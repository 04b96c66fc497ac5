"""SigOpt ``training_run`` objects: request bodies as write operations, and runs as responses.

A body (of POST, PUT or MERGE) is applied to the run's current ``training_run`` object: MERGE merges
maps deeply and a ``null`` deletes a key, PUT replaces each field it gives. The result is read back
with :func:`sigopt_ai.wire.training_run_from_json`, so a malformed field gets the wire's message
naming it (``training_run.values['loss'].value: expected a number...``), and the difference between
the two runs becomes the store's write operations plus what the operations cannot express: keys to
delete, and a new name.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sigopt_ai._checks import check_name, check_run_name, describe_value, to_metadata, to_param
from sigopt_ai._exceptions import ValidationError
from sigopt_ai._failures import FailureInfo, FailureKind
from sigopt_ai._models import Op, RunRecord, RunState
from sigopt_ai.server._deps import Tenant
from sigopt_ai.wire import EXTENSION, training_run_from_json, training_run_to_json

__all__ = ["RunChange", "apply_body", "merge", "run_to_json"]

WRITABLE = frozenset(
    {"name", "state", "assignments", "values", "metadata", "sys_metadata", "datasets", "model", EXTENSION}
)
"""Fields of a training run a request writes."""
IGNORED = frozenset(
    {
        # SigOpt's, which this store does not keep: accepted so that the official client works.
        "assignments_meta",
        "assignments_sources",
        "dev_metadata",
        "favorite",
        "logs",
        "source_code",
        "tags",
        "files",
        # Read-only ones, which a client may send back as it fetched them.
        "object",
        "id",
        "client",
        "user",
        "project",
        "experiment",
        "suggestion",
        "observation",
        "finished",
        "created",
        "updated",
        "completed",
        "checkpoint_count",
    }
)
_FIELD_OF = {"params": "assignments"}
_PRECEDENCE = {state.value: state.precedence for state in RunState}
# Run attribute, store section, and the check of a written value (the SDK's, so the store holds the same).
_SECTIONS: tuple[tuple[str, str, Callable[[Any, str], Any] | None], ...] = (
    ("params", "params", to_param),
    ("metadata", "metadata", to_metadata),
    ("sys_metadata", "sys_metadata", None),
)


@dataclass
class RunChange:
    """What a request does to a run: operations, and what operations cannot express."""

    ops: list[Op] = field(default_factory=list)
    removed_fields: dict[str, list[str]] = field(default_factory=dict)  # section -> keys
    removed_metrics: list[str] = field(default_factory=list)
    name: str | None = None  # the new name, when it changes
    finished: bool = False  # the request ends the run

    def __bool__(self) -> bool:
        return bool(self.ops or self.removed_fields or self.removed_metrics or self.name)


def run_to_json(who: Tenant, run: RunRecord) -> dict[str, Any]:
    """The ``training_run`` object of a run, as its client sees it (its project un-namespaced)."""
    return {**training_run_to_json(run), "project": who.user_project(run.project), "client": who.client}


def merge(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``patch`` merged in deeply: maps merge key by key, a ``None`` deletes the key."""
    merged = dict(base)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = _without_nulls(value)
    return merged


def _without_nulls(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


def apply_body(run: RunRecord, body: Mapping[str, Any], *, replace: bool, now: float | None = None) -> RunChange:
    """The change that ``body`` makes to ``run`` (PUT when ``replace``, else MERGE).

    Raises:
        ValidationError: A field is unknown or malformed; the message names it.
    """
    body = _normalized(body)
    current = training_run_to_json(run)
    if replace:
        updated = {**current, **{key: _without_nulls(value) for key, value in body.items() if value is not None}}
        for key in (k for k, v in body.items() if v is None):
            updated.pop(key, None)
        if EXTENSION in body:  # the extension holds bookkeeping besides the failure: merge it
            updated[EXTENSION] = merge(current[EXTENSION], body[EXTENSION] or {})
    else:
        updated = merge(current, body)
    state = updated.get("state")
    if state in _PRECEDENCE and _PRECEDENCE[state] < run.state.precedence:
        state = updated["state"] = run.state.value  # SigOpt's precedence: failed > completed > active
    extension = updated.setdefault(EXTENSION, {})
    extension["lost"] = False  # computed by the store on reading, never written
    if state == RunState.FAILED.value and extension.get("failure") is None:
        # The official client's log_failure() sends the state alone: a failure reported by the user.
        extension["failure"] = FailureInfo(FailureKind.REPORTED).to_json()
    if state != RunState.FAILED.value and run.state is not RunState.FAILED:
        extension["failure"] = None  # a failure reaches the run only with the failed state
    new = training_run_from_json(updated)
    values = body.get("values")
    logged = {name for name, item in values.items() if item is not None} if isinstance(values, dict) else set()
    return _diff(run, new, logged, now if now is not None else time.time())


def _normalized(body: Mapping[str, Any]) -> dict[str, Any]:
    """The body with SigOpt's shorthands spelt out, after refusing unknown fields."""
    for key in body:
        if key not in WRITABLE and key not in IGNORED:
            raise ValidationError(
                f"training_run.{key}: not a field of a training run that can be written; "
                f"the fields are {sorted(WRITABLE - {EXTENSION})!r}."
            )
    out = {key: copy.deepcopy(value) for key, value in body.items() if key in WRITABLE}
    values = out.get("values")
    if isinstance(values, dict):
        # The official client sends {"loss": {"value": 1.0}}: the evaluation's name is its key.
        out["values"] = {
            name: {"name": name, **item} if isinstance(item, dict) and "name" not in item else item
            for name, item in values.items()
        }
    model = out.get("model")
    if isinstance(model, dict) and model.get("type") is None:
        out["model"] = None  # log_model(None) sends {}: no model type
    extension = out.get(EXTENSION)
    if extension is not None and not (isinstance(extension, dict) and set(extension) <= {"failure"}):
        raise ValidationError(
            f"training_run.{EXTENSION}: expected an object with 'failure' alone, got {describe_value(extension)}."
        )
    return out


def _diff(old: RunRecord, new: RunRecord, logged: set[str], now: float) -> RunChange:
    """The change from ``old`` to ``new``; each metric in ``logged`` was given a value by the request,
    which is a point of its history even when the value is the last one again."""
    change = RunChange()
    run_id = old.id
    for attribute, section, check in _SECTIONS:
        before: Mapping[str, Any] = getattr(old, attribute)
        after: Mapping[str, Any] = getattr(new, attribute)
        written = {key: value for key, value in after.items() if key not in before or before[key] != value}
        for key, value in written.items():
            where = f"training_run.{_FIELD_OF.get(attribute, attribute)}[{key!r}]"
            check_name(key, f"{where} (its name)")
            if check is not None:
                written[key] = check(value, where)
        if written:
            change.ops.append(("fields", run_id, section, written))
        if removed := [key for key in before if key not in after]:
            change.removed_fields[section] = removed
    if added := [name for name in new.datasets if name not in old.datasets]:
        change.ops.append(("fields", run_id, "datasets", dict.fromkeys(added, {})))
    if removed := [name for name in old.datasets if name not in new.datasets]:
        change.removed_fields["datasets"] = removed
    if new.model != old.model:
        if new.model is None:
            change.removed_fields["model"] = ["type"]
        else:
            change.ops.append(("fields", run_id, "model", {"type": new.model}))
    for name in new.datasets:
        check_name(name, f"training_run.datasets[{name!r}] (its name)")
    for name, value in new.metrics.items():
        check_name(name, f"training_run.values[{name!r}] (its name)")
        stddev = new.metric_stddevs.get(name)
        unchanged = _same(old.metrics.get(name), value) and _same(old.metric_stddevs.get(name), stddev)
        if name in logged or not unchanged:
            change.ops.append(("metric", run_id, name, value, stddev, now))
    change.removed_metrics = [name for name in old.metrics if name not in new.metrics]
    if new.name != old.name:
        change.name = check_run_name(new.name)
    if new.state is not old.state and new.state.precedence > old.state.precedence:
        if new.failure is not None:
            change.ops.append(("failure", run_id, new.failure.to_json(), now))
        change.ops.append(("end", run_id, new.state.value, now))
        change.finished = True
    return change


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or (math.isnan(a) and math.isnan(b))
