"""Observations of an experiment: record, list, fetch; best assignments and progress.

A body follows SigOpt's rules (reference §3.5): exactly one of ``suggestion`` and ``assignments``;
``values`` as ``[{"name", "value", "value_stddev"?}]``, one for each metric of the experiment (the
name may be left out when there is one metric; SigOpt's older ``value``/``value_stddev`` say the same
for an experiment of one metric), unless ``failed: true``, which takes no values. The checks live in
:mod:`sigopt_ai.connection._bodies`, shared with :class:`sigopt_ai.Connection`.
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

from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._models import ExperimentRecord, Observation
from sigopt_ai.connection._bodies import observation_body, observed_suggestion
from sigopt_ai.server._deps import Tenant, not_found, tenant
from sigopt_ai.server._routes import JsonBody, no_content, page, reply
from sigopt_ai.server._routes._experiment_views import DEFAULT_LIMIT, Limit, extension
from sigopt_ai.server._routes.suggestions import check_run_id, run_failure
from sigopt_ai.wire import observation_to_json, progress_to_json
from sigopt_ai.wire._core import best_assignments_json

__all__ = ["router"]

router = APIRouter(tags=["observations"])

TenantDep = Annotated[Tenant, Depends(tenant)]
Marker = Annotated[str | None, Query(description="Continue after this paging marker.")]
_EXTENSION_KEYS = frozenset({"run", "failure_kind", "run_failure"})


def record_observation(who: Tenant, record: ExperimentRecord, body: Mapping[str, Any]) -> Observation | None:
    """Check an observation body (the Connection's checks) and record it; None when the store recorded nothing.

    Raises:
        ValidationError: The body breaks a rule; the message names the field.
    """
    options = extension(body, _EXTENSION_KEYS)
    run = options.get("run")
    run_id = None if run is None else check_run_id(who, run, "sigopt_ai.run")
    definition = ExperimentDefinition.from_json(record.definition)
    checked = observation_body(definition, body, of_run=run_id is not None, failure_kind=options.get("failure_kind"))
    failure = run_failure(options.get("run_failure"), "sigopt_ai.run_failure")
    sid = observed_suggestion(who.backend, record.id, body, not_found)
    return who.backend.observe(
        record.id, sid, run_id=run_id, values=checked.values, failure_kind=checked.failure_kind, run_failure=failure
    )


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
    return reply(page(best_assignments_json(who.backend.best_observations(experiment), experiment)))


@router.get("/experiments/{experiment_id}/sigopt_ai/progress")
def progress(experiment_id: str, who: TenantDep) -> JSONResponse:
    """Budget, observed, failed, leased and remaining counts, after expiring lost leases."""
    experiment = who.experiment(experiment_id).id
    counts = who.backend.progress(experiment)
    if counts is None:
        raise not_found("experiment", experiment_id)
    return reply(progress_to_json(counts))
