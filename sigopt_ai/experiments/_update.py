"""Updating a stored experiment, as SigOpt's ``PUT /experiments/{id}`` does: a new name, metadata,
budget, parallel bandwidth or parameter bounds, and archiving or unarchiving by ``state``.

The rest of the search space (each parameter's type, transformation, categorical values, grid, prior,
conditions and default; the conditionals and constraints), the metrics and the type stay as created:
the observations made so far are results in that space, and new bounds only change the box the
optimizer searches (an observation outside a narrowed box counts at its edge, as the optimizer clips).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sigopt_ai._checks import describe_value, short_repr
from sigopt_ai._definition import ExperimentDefinition, Parameter
from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai._models import ExperimentRecord, ExperimentState
from sigopt_ai.backends import Backend
from sigopt_ai.experiments._parse import parse_experiment

__all__ = ["UPDATABLE", "update_experiment"]

_WRITTEN = ("name", "metadata", "budget", "parallel_bandwidth", "parameters")
"""The definition's fields an update writes (``None`` leaves one as it is, but clears ``metadata``)."""
UPDATABLE = frozenset({*_WRITTEN, "observation_budget", "state"})
"""The fields an update may change (``observation_budget`` is the core module's name of ``budget``)."""
_STORED = {"observation_budget": "budget"}
"""The field of the stored definition that an update's field writes, where the names differ."""
_READ_ONLY = frozenset({"object", "id", "client", "user", "created", "updated", "progress", "project"})
_STATES = frozenset(state.value for state in ExperimentState)


def update_experiment(backend: Backend, record: ExperimentRecord, fields: Mapping[str, Any]) -> ExperimentRecord:
    """Apply ``fields`` to the stored experiment ``record`` and return it as stored now.

    ``name``, ``metadata``, ``budget`` (or ``observation_budget``), ``parallel_bandwidth`` and
    ``parameters`` are validated by the rules of creation; of the parameters only the bounds may
    change (the same parameters, in any order; they are kept in the order of creation).
    ``state`` ``"deleted"`` archives and ``"active"`` unarchives.
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
        if "parameters" in changes:
            definition = _with_new_bounds(ExperimentDefinition.from_json(record.definition), definition)
        written = definition.to_json()
        backend.update_experiment(record.id, {_STORED.get(key, key): written[_STORED.get(key, key)] for key in changes})
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
        key: _as_json(fields[key])
        for key in (*_WRITTEN, "observation_budget")
        if key in fields and (fields[key] is not None or key == "metadata")
    }


_FIXED_PARAMETER_FIELDS = tuple(f.name for f in dataclasses.fields(Parameter) if f.name not in ("name", "bounds"))


def _with_new_bounds(created: ExperimentDefinition, updated: ExperimentDefinition) -> ExperimentDefinition:
    """``updated`` (validated by the rules of creation) with its parameters in the order of ``created``,
    when the only change to them is their bounds.

    Raises:
        ValidationError: A parameter was added, removed, renamed, or changed in another field; the
            message names it by its index in the update.
    """
    kept = {p.name: p for p in created.parameters}
    for index, parameter in enumerate(updated.parameters):
        before = kept.get(parameter.name)
        if before is None:
            raise ValidationError(
                f"parameters[{index}].name: the experiment has no parameter {short_repr(parameter.name)}; an "
                f"update can change the bounds of its parameters {sorted(kept)!r} but cannot add or rename one."
            )
        for field in _FIXED_PARAMETER_FIELDS:
            old, new = getattr(before, field), getattr(parameter, field)
            if old != new:
                raise ValidationError(
                    f"parameters[{index}].{field}: only a parameter's bounds can change after the experiment is "
                    f"created (its observations were made in this space); {field} stays {short_repr(old)}, "
                    f"got {short_repr(new)}."
                )
    given = {p.name: p for p in updated.parameters}
    if missing := [name for name in kept if name not in given]:
        raise ValidationError(
            f"parameters: {short_repr(missing[0])} is missing; an update can change the bounds of the "
            "experiment's parameters but cannot remove one (give every parameter)."
        )
    return dataclasses.replace(updated, parameters=tuple(given[name] for name in kept))


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
