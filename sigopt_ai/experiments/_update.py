"""Updating a stored experiment, as SigOpt's ``PUT /experiments/{id}`` does: a new name, metadata,
budget or parallel bandwidth, and archiving or unarchiving by ``state``.

The search space (parameters, conditionals, constraints), the metrics and the type stay as created:
every worker's optimizer models the space the experiment was created with, and the observations made
so far are results in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sigopt_ai._checks import describe_value, short_repr
from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai._models import ExperimentRecord, ExperimentState
from sigopt_ai.backends import Backend
from sigopt_ai.experiments._parse import parse_experiment

__all__ = ["UPDATABLE", "update_experiment"]

_WRITTEN = ("name", "metadata", "budget", "parallel_bandwidth")
"""The definition's fields an update writes (``None`` leaves one as it is, but clears ``metadata``)."""
UPDATABLE = frozenset({*_WRITTEN, "observation_budget", "state"})
"""The fields an update may change (``observation_budget`` is the core module's name of ``budget``)."""
_READ_ONLY = frozenset({"object", "id", "client", "user", "created", "updated", "progress", "project"})
_STATES = frozenset(state.value for state in ExperimentState)


def update_experiment(backend: Backend, record: ExperimentRecord, fields: Mapping[str, Any]) -> ExperimentRecord:
    """Apply ``fields`` to the stored experiment ``record`` and return it as stored now.

    ``name``, ``metadata``, ``budget`` (or ``observation_budget``) and ``parallel_bandwidth`` are
    validated by the rules of creation; ``state`` ``"deleted"`` archives and ``"active"`` unarchives.
    Any other field of the definition may be given with its current value (a definition read back and
    sent again), and read-only fields are ignored.

    Raises:
        ValidationError: A field cannot change or breaks a rule; the message names it.
    """
    _check_fixed(record, fields)
    state = fields.get("state")
    if state is not None and (not isinstance(state, str) or state not in _STATES):
        error = ValidationTypeError if not isinstance(state, str) else ValidationError
        raise error(f"state: expected one of {sorted(_STATES)!r}, got {describe_value(state)}.")
    changes = _changes(fields)
    if changes:
        # The budget under the name it was given, so that a message names the field the caller wrote.
        base = {k: v for k, v in record.definition.items() if not (k == "budget" and "observation_budget" in changes)}
        definition = parse_experiment({**base, **changes})
        budget_given = "budget" in changes or "observation_budget" in changes
        backend.update_experiment(
            record.id,
            name=definition.name if "name" in changes else None,
            metadata=dict(definition.metadata) if "metadata" in changes else None,
            budget=definition.budget if budget_given else None,
            parallel_bandwidth=definition.parallel_bandwidth if "parallel_bandwidth" in changes else None,
        )
    if state is not None and state != record.state.value:
        if state == ExperimentState.DELETED.value:
            backend.archive_experiment(record.id)
        else:
            backend.unarchive_experiment(record.id)
    stored = backend.get_experiment(record.id)
    if stored is None:
        raise ValidationError(f"There is no experiment with id {short_repr(record.id)} any more.")
    return stored


def _check_fixed(record: ExperimentRecord, fields: Mapping[str, Any]) -> None:
    """Refuse a change to a field an update cannot change (its current value passes)."""
    for key, value in fields.items():
        if key in UPDATABLE or key in _READ_ONLY:
            continue
        if key in record.definition and _same(record.definition[key], value):
            continue
        field = key if isinstance(key, str) and key.isidentifier() else short_repr(key)
        raise ValidationError(
            f"{field}: an experiment's {field} cannot change after it is created (the optimizer models the "
            f"space and metrics it was created with); only {sorted(UPDATABLE)!r} can."
        )


def _changes(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The definition fields to write, of :data:`UPDATABLE`; a None name, budget or bandwidth
    changes nothing."""
    if fields.get("observation_budget") is not None and fields.get("budget") is not None:
        raise ValidationError("observation_budget: this is an alias of budget, so give only one of the two.")
    return {
        key: fields[key]
        for key in (*_WRITTEN, "observation_budget")
        if key in fields and (fields[key] is not None or key == "metadata")
    }


def _same(current: Any, given: Any) -> bool:
    """Whether ``given`` is the field's current value (an array's ambiguous ``==`` is not)."""
    try:
        return bool(current == _as_json(given))
    except Exception:  # a foreign object's __eq__ or to_json failing: not the stored value
        return False


def _as_json(value: Any) -> Any:
    """A field's value as JSON: the attribute objects an experiment hands out (``exp.parameters``)
    become their JSON again, so a definition read back and sent unchanged compares equal."""
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return to_json()
    if isinstance(value, (list, tuple)):
        return [_as_json(item) for item in value]
    return value
