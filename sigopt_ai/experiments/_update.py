"""Updating a stored experiment, as SigOpt's ``PUT /experiments/{id}`` does: a new name or metadata,
and archiving or unarchiving by ``state``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sigopt_ai._checks import describe_value, short_repr
from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai._models import ExperimentRecord, ExperimentState
from sigopt_ai.backends import Backend
from sigopt_ai.experiments._parse import parse_experiment

__all__ = ["UPDATABLE", "update_experiment"]

UPDATABLE = frozenset({"name", "metadata", "state"})
"""The fields an update may change."""
_READ_ONLY = frozenset({"object", "id", "client", "user", "created", "updated", "progress", "project"})
_STATES = frozenset(state.value for state in ExperimentState)


def update_experiment(backend: Backend, record: ExperimentRecord, fields: Mapping[str, Any]) -> ExperimentRecord:
    """Apply ``fields`` to the stored experiment ``record`` and return it as stored now.

    ``name`` and ``metadata`` are validated by the rules of creation; ``state`` ``"deleted"``
    archives and ``"active"`` unarchives. Any other field of the definition may be given with its
    current value (a definition read back and sent again), and read-only fields are ignored.

    Raises:
        ValidationError: A field cannot change or breaks a rule; the message names it.
    """
    for key, value in fields.items():
        if key in UPDATABLE or key in _READ_ONLY:
            continue
        current_key = "budget" if key == "observation_budget" else key
        if current_key in record.definition and _same(record.definition[current_key], value):
            continue
        field = key if isinstance(key, str) and key.isidentifier() else short_repr(key)
        raise ValidationError(
            f"{field}: an experiment's {field} cannot change after it is created; only {sorted(UPDATABLE)!r} can."
        )
    state = fields.get("state")
    if state is not None and (not isinstance(state, str) or state not in _STATES):
        error = ValidationTypeError if not isinstance(state, str) else ValidationError
        raise error(f"state: expected one of {sorted(_STATES)!r}, got {describe_value(state)}.")
    name = fields.get("name")
    if name is not None or "metadata" in fields:
        changed = {**record.definition, "name": name if name is not None else record.name}
        if "metadata" in fields:
            changed["metadata"] = fields["metadata"]
        definition = parse_experiment(changed)
        backend.update_experiment(
            record.id,
            name=definition.name if name is not None else None,
            metadata=dict(definition.metadata) if "metadata" in fields else None,
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
