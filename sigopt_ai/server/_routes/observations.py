"""Observations of an experiment: record, list, fetch; best assignments and progress.

A body follows SigOpt's rules (reference §3.5): exactly one of ``suggestion`` and ``assignments``;
``values`` as ``[{"name", "value", "value_stddev"?}]``, one for each metric of the experiment (the
name may be left out when there is one metric), unless ``failed: true``, which takes no values.
``metadata`` and ``no_optimize`` are accepted and not kept (the store has no place for them); the
standard deviations are not kept either.

Our extension ``"sigopt_ai": {"run", "failure_kind", "run_failure"}`` is what the SDK's loop sends
over HTTP: the run that evaluated the suggestion, why it failed (so the optimizer learns the kind of
failure), and the run's failure. A run's values are checked as the loop makes them: the experiment's
metrics that the run logged, every optimized and constraint metric among them. When the store records
nothing (a suggestion observed already, outside runs) the answer is 204.

**Observations with assignments instead of a suggestion.** The store records an observation only of
a suggestion it served (the backend contract has no call that makes a suggestion with chosen
assignments, and an observation's budget accounting hangs on its suggestion). So ``assignments`` names
the open suggestion with exactly these assignments, one served outside runs first: that is SigOpt's
common use, a client that evaluated a suggestion and reports its assignments instead of its id. When
no open suggestion has them, the answer is a 400 saying to serve one first; inventing a suggestion
with other assignments, or writing around the contract, would record a result for a point nobody
evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from sigopt_ai._checks import describe_value, short_repr
from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai._failures import FailureKind
from sigopt_ai._models import ExperimentRecord, Observation
from sigopt_ai.experiments._values import names, observed_values
from sigopt_ai.server._deps import Tenant, not_found, tenant
from sigopt_ai.server._routes import JsonBody, no_content, page, reply
from sigopt_ai.server._routes._experiment_views import DEFAULT_LIMIT, Limit, extension
from sigopt_ai.server._routes.suggestions import check_run_id, run_failure
from sigopt_ai.wire import EXTENSION, observation_to_json, progress_to_json

__all__ = ["router"]

router = APIRouter(tags=["observations"])

TenantDep = Annotated[Tenant, Depends(tenant)]
Marker = Annotated[str | None, Query(description="Continue after this paging marker.")]
_KEYS = frozenset({"suggestion", "assignments", "values", "failed", "metadata", "no_optimize", EXTENSION})
_EXTENSION_KEYS = frozenset({"run", "failure_kind", "run_failure"})


# --- the body of an observation
def _failed(body: Mapping[str, Any]) -> bool:
    failed = body.get("failed")
    if failed is None:
        return False
    if not isinstance(failed, bool):
        raise ValidationTypeError(f"failed: expected true or false, got {describe_value(failed)}.")
    return failed


def _values(definition: ExperimentDefinition, values: Any, *, of_run: bool) -> dict[str, float]:
    """The observed values, checked against the experiment's metrics: SigOpt's rule (one value for
    each metric), or, for a run's result, the loop's (the required metrics, no unknown one)."""
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


def _suggestion_id(who: Tenant, record: ExperimentRecord, body: Mapping[str, Any]) -> str:
    """The suggestion observed: ``suggestion``, or the open one that ``assignments`` names."""
    suggestion, assignments = body.get("suggestion"), body.get("assignments")
    if (suggestion is None) == (assignments is None):
        raise ValidationError("suggestion: give exactly one of suggestion and assignments.")
    if suggestion is not None:
        if isinstance(suggestion, bool) or not isinstance(suggestion, (str, int)):
            raise ValidationTypeError(f"suggestion: expected a suggestion id, got {describe_value(suggestion)}.")
        sid = str(suggestion)
        if who.backend.get_suggestion(record.id, sid) is None:  # an unknown id is a 404, as everywhere
            raise not_found("suggestion", sid)
        return sid
    if not isinstance(assignments, Mapping):
        raise ValidationTypeError(f"assignments: expected an object, got {describe_value(assignments)}.")
    matching = [s for s in who.backend.open_suggestions(record.id) if dict(s.assignments) == dict(assignments)]
    matching.sort(key=lambda s: s.run is not None)  # one served outside runs first: no run will report it
    if not matching:
        raise ValidationError(
            f"assignments: no open suggestion of experiment {record.id} has these assignments; this server "
            "records observations of the suggestions it serves, so create one with POST "
            f"/v1/experiments/{record.id}/suggestions and observe it."
        )
    return matching[0].id


def record_observation(who: Tenant, record: ExperimentRecord, body: Mapping[str, Any]) -> Observation | None:
    """Check an observation body and record it; None when the store recorded nothing.

    Raises:
        ValidationError: The body breaks a rule; the message names the field.
    """
    if "task" in body:
        raise ValidationError("task: multitask experiments are not supported.")
    if unknown := sorted(set(body) - _KEYS):
        raise ValidationError(f"{unknown[0]}: unknown field of an observation.")
    failed = _failed(body)
    options = extension(body, _EXTENSION_KEYS)
    run = options.get("run")
    run_id = None if run is None else check_run_id(who, run, "sigopt_ai.run")
    values = body.get("values")
    if failed and values:
        raise ValidationError("values: Cannot provide `values` if observation has failed.")
    if not failed and values is None:
        raise ValidationError("values: required unless failed is true.")
    definition = ExperimentDefinition.from_json(record.definition)
    clean = None if failed else _values(definition, values, of_run=run_id is not None)
    kind = _failure_kind(options.get("failure_kind"), failed)
    failure = run_failure(options.get("run_failure"), "sigopt_ai.run_failure")
    sid = _suggestion_id(who, record, body)
    return who.backend.observe(record.id, sid, run_id=run_id, values=clean, failure_kind=kind, run_failure=failure)


# --- routes
@router.post("/experiments/{experiment_id}/observations")
def create_observation(experiment_id: str, who: TenantDep, body: JsonBody) -> Response:
    """Record an observation of a suggestion; 204 when the store recorded nothing."""
    record = who.experiment(experiment_id)
    observed = record_observation(who, record, body)
    return no_content() if observed is None else reply(observation_to_json(observed, experiment=record.id))


@router.get("/experiments/{experiment_id}/observations")
def list_observations(
    experiment_id: str,
    who: TenantDep,
    sigopt_ai_after: Marker = None,
    after: Marker = None,
    before: Marker = None,
    limit: Limit = None,
) -> JSONResponse:
    """The observations, oldest first, a page at a time.

    A page that leaves more behind carries the marker of the next in ``paging.after`` and
    ``paging.before`` alike, and the next page is asked for with it as ``sigopt_ai_after``, ``after``
    or ``before``: the official client's ``iterate_pages`` follows whichever it uses.
    """
    experiment = who.experiment(experiment_id).id
    marker = sigopt_ai_after or after or before
    found = who.backend.observations(experiment, after=marker)
    size = DEFAULT_LIMIT if limit is None else limit
    shown = found[:size]
    more = shown[-1].id if shown and len(found) > size else None
    return reply(page([observation_to_json(o, experiment=experiment) for o in shown], before=more, after=more))


@router.get("/experiments/{experiment_id}/observations/{observation_id}")
def get_observation(experiment_id: str, observation_id: str, who: TenantDep) -> JSONResponse:
    """The observation."""
    experiment = who.experiment(experiment_id).id
    for observation in who.backend.observations(experiment):
        if observation.id == observation_id:
            return reply(observation_to_json(observation, experiment=experiment))
    raise not_found("observation", observation_id)


@router.get("/experiments/{experiment_id}/best_assignments")
def best_assignments(experiment_id: str, who: TenantDep) -> JSONResponse:
    """SigOpt's best assignments: the best successful observations within every threshold."""
    experiment = who.experiment(experiment_id).id
    best = [
        {**observation_to_json(o, experiment=experiment), "object": "best_assignments"}
        for o in who.backend.best_observations(experiment)
    ]
    return reply(page(best))


@router.get("/experiments/{experiment_id}/sigopt_ai/progress")
def progress(experiment_id: str, who: TenantDep) -> JSONResponse:
    """Budget, observed, failed, leased and remaining counts, after expiring lost leases."""
    experiment = who.experiment(experiment_id).id
    counts = who.backend.progress(experiment)
    if counts is None:
        raise not_found("experiment", experiment_id)
    return reply(progress_to_json(counts))
