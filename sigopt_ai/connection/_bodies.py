"""SigOpt's core experiment calls over a :class:`~sigopt_ai.backends.Backend`: their bodies checked,
and what they do to the store.

No HTTP and no tenant here: the server's routes and the :class:`~sigopt_ai.Connection` both use
these, so a request gets the same answer, and a bad body the same message, either way.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sigopt_ai._checks import describe_value, short_repr, to_real, to_seed
from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai._failures import FailureKind
from sigopt_ai._models import ExperimentRecord, Suggestion, SuggestionState
from sigopt_ai.backends import Backend
from sigopt_ai.experiments._experiment import DEFAULT_LEASE_TIMEOUT, check_lease_timeout
from sigopt_ai.experiments._parse import parse_experiment
from sigopt_ai.experiments._update import update_experiment
from sigopt_ai.experiments._values import names, observed_values
from sigopt_ai.wire import EXTENSION
from sigopt_ai.wire._core import extension

__all__ = [
    "OBSERVATION_KEYS",
    "SUGGESTION_STATES",
    "ObservationBody",
    "check_serve_body",
    "create_experiment_record",
    "give_back",
    "suggestions_of",
    "observation_body",
    "observed_suggestion",
    "update_experiment_record",
]

_CREATE_EXTENSION = frozenset({"seed", "lease_timeout"})
_SINGLE_VALUE_KEYS = frozenset({"value", "value_stddev"})
OBSERVATION_KEYS = frozenset(
    {"suggestion", "assignments", "values", "failed", "metadata", "no_optimize", EXTENSION} | _SINGLE_VALUE_KEYS
)
"""The fields an observation body may have (``metadata`` and ``no_optimize`` are accepted, not kept;
``value`` and ``value_stddev`` are SigOpt's older form of ``values`` for an experiment of one metric)."""


def create_experiment_record(
    backend: Backend, project: str, body: Mapping[str, Any], *, lease_timeout: float = DEFAULT_LEASE_TIMEOUT
) -> ExperimentRecord:
    """Validate an experiment body (without ``project``) and store it in the store project ``project``.

    The body is SigOpt's experiment JSON (:func:`~sigopt_ai.experiments._parse.parse_experiment`)
    plus our extension ``"sigopt_ai": {"seed", "lease_timeout"}``; ``lease_timeout`` is the lease
    when the extension names none.

    Raises:
        ValidationError: The body breaks a rule; the message names the field.
    """
    options = extension(body, _CREATE_EXTENSION)
    definition = parse_experiment({k: v for k, v in body.items() if k != EXTENSION})
    seed = options.get("seed")
    return backend.create_experiment(
        project=project,
        name=definition.name,
        definition=definition.to_json(),
        seed=random.SystemRandom().randrange(2**31) if seed is None else to_seed(seed, "sigopt_ai.seed"),
        lease_timeout=check_lease_timeout(options.get("lease_timeout", lease_timeout), "sigopt_ai.lease_timeout"),
    )


def update_experiment_record(
    backend: Backend, record: ExperimentRecord, body: Mapping[str, Any], *, project: str | None = None
) -> ExperimentRecord:
    """Apply an update body (:func:`~sigopt_ai.experiments._update.update_experiment`'s rules: ``name``,
    ``metadata``, ``budget``, ``parallel_bandwidth``, parameter bounds, ``state`` ``"deleted"``/``"active"``;
    other fields only unchanged), as it comes over
    the wire: with our extension, which a client sends back as it read it, and a ``project``.

    Args:
        project: The project as the body's sender names it (default: the record's).

    Raises:
        ValidationError: A field cannot be updated or breaks a rule; the message names it.
    """
    shown_project = record.project if project is None else project
    if body.get("project", shown_project) != shown_project:
        raise ValidationError(
            f"project: an experiment's project cannot change after it is created, got {short_repr(body['project'])}."
        )
    return update_experiment(backend, record, {k: v for k, v in body.items() if k != EXTENSION})


SUGGESTION_STATES = ("open", "closed", "all")
"""The ``state`` a suggestion list may ask for."""


def check_serve_body(body: Mapping[str, Any], allowed: frozenset[str] = frozenset({"metadata"})) -> None:
    """Refuse a field of a suggestion request other than ``allowed`` (``metadata``, accepted and not kept).

    Raises:
        ValidationError: An unknown field, or ``assignments`` (only the optimizer's suggestions are served).
    """
    if unknown := sorted(set(body) - allowed):
        raise ValidationError(
            f"{unknown[0]}: not accepted; this server serves its optimizer's suggestions only, and cannot "
            "serve chosen assignments."
            if unknown[0] == "assignments"
            else f"{unknown[0]}: unknown field of a suggestion request."
        )


def suggestions_of(backend: Backend, experiment_id: str, state: str = "all") -> list[Suggestion]:
    """The experiment's suggestions, oldest first: ``open`` ones, ``closed`` ones (those observed), or ``all``.

    Raises:
        ValidationError: ``state`` is not one of :data:`SUGGESTION_STATES`.
    """
    if state not in SUGGESTION_STATES:
        raise ValidationError(f"query.state: expected one of {list(SUGGESTION_STATES)!r}, got {short_repr(state)}.")
    found: list[Suggestion] = []
    if state != "closed":
        found += backend.open_suggestions(experiment_id)
    if state != "open":
        observed = dict.fromkeys(o.suggestion for o in backend.observations(experiment_id) if o.suggestion)
        closed = (backend.get_suggestion(experiment_id, sid) for sid in observed if sid is not None)
        found += [s for s in closed if s is not None and s.state is SuggestionState.CLOSED]
    found.sort(key=lambda s: int(s.id) if s.id.isdigit() else 0)
    return found


def give_back(backend: Backend, suggestion: Suggestion) -> bool:
    """Give a suggestion back to be served again, when a run holds it (SigOpt's DELETE of a suggestion).

    A suggestion served outside runs has no lease the store can give back: it stays open until it is
    observed (``failed=True`` when it will not be evaluated).
    """
    if suggestion.state is not SuggestionState.OPEN or suggestion.run is None:
        return False
    return backend.release(suggestion.experiment, suggestion.id, suggestion.run)


@dataclass(frozen=True)
class ObservationBody:
    """An observation body, checked: its values (None when failed) and failure kind."""

    failed: bool
    values: dict[str, float] | None
    failure_kind: str | None


def observation_body(
    definition: ExperimentDefinition, body: Mapping[str, Any], *, of_run: bool, failure_kind: Any = None
) -> ObservationBody:
    """Check an observation body by SigOpt's rules (reference §3.5), or the loop's for a run's result.

    Args:
        definition: The experiment's definition.
        body: The request body; its keys are checked against :data:`OBSERVATION_KEYS`.
        of_run: The observation is a run's result (the SDK's loop): the values need only the
            optimized and constraint metrics. Otherwise SigOpt's rule: one value for each metric.
        failure_kind: The extension's failure kind, if any (only a failed observation has one).

    Raises:
        ValidationError: The body breaks a rule; the message names the field.
    """
    if "task" in body:
        raise ValidationError("task: multitask experiments are not supported.")
    if unknown := sorted(set(body) - OBSERVATION_KEYS):
        raise ValidationError(f"{unknown[0]}: unknown field of an observation.")
    failed = _failed(body)
    values = _single_value(definition, body) if _SINGLE_VALUE_KEYS & set(body) else body.get("values")
    if failed and values:
        raise ValidationError("values: Cannot provide `values` if observation has failed.")
    if not failed and values is None:
        raise ValidationError("values: required unless failed is true.")
    clean = None if failed else _values(definition, values, of_run=of_run)
    return ObservationBody(failed, clean, _failure_kind(failure_kind, failed))


def observed_suggestion(
    backend: Backend,
    experiment_id: str,
    body: Mapping[str, Any],
    not_found: Callable[[str, str], Exception],
) -> str:
    """The id of the suggestion an observation body observes: ``suggestion``, or the open one that
    ``assignments`` names (one served outside runs first: no run will report it).

    Raises:
        ValidationError: Neither or both are given, or no open suggestion has the assignments.
        Exception: ``not_found("suggestion", id)`` for an unknown suggestion id.
    """
    suggestion, assignments = body.get("suggestion"), body.get("assignments")
    if (suggestion is None) == (assignments is None):
        raise ValidationError("suggestion: give exactly one of suggestion and assignments.")
    if suggestion is not None:
        if isinstance(suggestion, bool) or not isinstance(suggestion, (str, int)):
            raise ValidationTypeError(f"suggestion: expected a suggestion id, got {describe_value(suggestion)}.")
        sid = str(suggestion)
        if backend.get_suggestion(experiment_id, sid) is None:
            raise not_found("suggestion", sid)
        return sid
    if not isinstance(assignments, Mapping):
        raise ValidationTypeError(f"assignments: expected an object, got {describe_value(assignments)}.")
    matching = [s for s in backend.open_suggestions(experiment_id) if dict(s.assignments) == dict(assignments)]
    matching.sort(key=lambda s: s.run is not None)
    if not matching:
        raise ValidationError(
            f"assignments: no open suggestion of experiment {experiment_id} has these assignments; this server "
            "records observations of the suggestions it serves, so create one with POST "
            f"/v1/experiments/{experiment_id}/suggestions and observe it."
        )
    return matching[0].id


def _failed(body: Mapping[str, Any]) -> bool:
    failed = body.get("failed")
    if failed is None:
        return False
    if not isinstance(failed, bool):
        raise ValidationTypeError(f"failed: expected true or false, got {describe_value(failed)}.")
    return failed


def _single_value(definition: ExperimentDefinition, body: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """SigOpt's older ``value`` (and ``value_stddev``) as ``values``, for an experiment of one metric."""
    if "values" in body:
        raise ValidationError("value: give either value (an experiment of one metric) or values, not both.")
    if len(definition.metrics) != 1:
        raise ValidationError(
            f"value: this experiment has {len(definition.metrics)} metrics; report each one in "
            "values=[{'name': ..., 'value': ...}]."
        )
    if body.get("value") is None:
        if body.get("value_stddev") is not None:
            raise ValidationError("value_stddev: given without value.")
        return None
    value = {"value": to_real(body["value"], "value")}
    if body.get("value_stddev") is not None:
        value["value_stddev"] = to_real(body["value_stddev"], "value_stddev")
    return [value]


def _values(definition: ExperimentDefinition, values: Any, *, of_run: bool) -> dict[str, float]:
    metrics = [m.name for m in definition.metrics]
    if isinstance(values, list) and len(metrics) == 1:
        # SigOpt lets the value of an experiment's only metric leave out its name.
        values = [{"name": metrics[0], **v} if isinstance(v, Mapping) and "name" not in v else v for v in values]
    clean = observed_values(values)
    if unknown := set(clean) - set(metrics):
        raise ValidationError(f"values: {names(unknown)} are not metrics of this experiment ({sorted(metrics)!r}).")
    required = metrics if not of_run else [m.name for m in definition.optimized_metrics + definition.constraint_metrics]
    if missing := [name for name in required if name not in clean]:
        if not of_run:
            raise ValidationError(
                "values: The number of observation values and experiment metrics must be equal: "
                f"expected one for each of {metrics!r}, missing {missing!r}."
            )
        raise ValidationError(f"values: the experiment's metric(s) {missing!r} are missing.")
    return clean


def _failure_kind(value: Any, failed: bool) -> str | None:
    if value is None:
        return FailureKind.REPORTED.value if failed else None
    if not failed:
        raise ValidationError("sigopt_ai.failure_kind: only a failed observation has a failure kind.")
    try:
        return FailureKind(value).value
    except ValueError:
        raise ValidationError(
            f"sigopt_ai.failure_kind: {short_repr(value)} is not a failure kind; expected one of "
            f"{sorted(k.value for k in FailureKind)!r}."
        ) from None
