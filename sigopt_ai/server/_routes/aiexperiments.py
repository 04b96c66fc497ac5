"""AI experiments: what the official client's ``sigopt.create_experiment(...).loop()`` and
``get_best_runs()`` ask for.

An AI experiment is a stored experiment seen as SigOpt's ``aiexperiment`` (``budget``, and the runs'
progress whose ``remaining_budget`` ends the client's loop). ``POST .../training_runs`` serves a
suggestion to a new run and writes the run with the suggestion's assignments as its parameters;
the client then logs to the run with MERGE, and when the run reaches ``completed`` or ``failed``
the runs' routes call :func:`observe_finished_run`, which records its result as the SDK's own loop
does (``Experiment._record_result``).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from sigopt_ai._checks import check_name, check_run_name, describe_value, to_metadata
from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._exceptions import UsageError, ValidationError, ValidationTypeError
from sigopt_ai._failures import FailureInfo, FailureKind
from sigopt_ai._models import RunRecord, RunState, SuggestionState
from sigopt_ai.experiments._values import missing_metric_failure, run_values
from sigopt_ai.runs._run import new_run_id
from sigopt_ai.server._deps import Tenant, tenant
from sigopt_ai.server._routes import JsonBody, no_content, page, reply
from sigopt_ai.server._routes._experiment_views import (
    DEFAULT_LIMIT,
    Limit,
    aiexperiment_json,
    client_experiments,
)
from sigopt_ai.server._routes._run_bodies import run_to_json
from sigopt_ai.server._routes.experiments import create_stored_experiment, update_stored_experiment

__all__ = ["AI_LEASE_TIMEOUT", "observe_finished_run", "router"]

router = APIRouter(tags=["aiexperiments"])

TenantDep = Annotated[Tenant, Depends(tenant)]
_RUN_KEYS = frozenset({"name", "metadata"})

AI_LEASE_TIMEOUT = 24 * 3600.0
"""The default suggestion lease of an AI experiment, in seconds. The official client sends no
heartbeats, only its MERGEs, and a run commonly logs its metric once, at the end of training: with
the SDK's minute-long lease every run longer than a minute would be declared lost and its suggestion
served again. A worker that dies gives its suggestion back after this long (``sigopt_ai.lease_timeout``
sets another)."""


# --- the experiment
@router.post("/clients/{client_id}/projects/{project_id}/aiexperiments")
def create_aiexperiment(client_id: str, project_id: str, who: TenantDep, body: JsonBody) -> JSONResponse:
    """Create an AI experiment in the project (its body as the official client sends it)."""
    who.check_client(client_id)
    if body.get("project") is not None:
        raise ValidationError("project: not part of an AI experiment's body; the project is in the path.")
    body.pop("project", None)
    record = create_stored_experiment(who, project_id, body, lease_timeout=AI_LEASE_TIMEOUT)
    return reply(aiexperiment_json(who, record))


@router.get("/aiexperiments/{experiment_id}")
def get_aiexperiment(experiment_id: str, who: TenantDep) -> JSONResponse:
    """The AI experiment, with its runs' progress."""
    return reply(aiexperiment_json(who, who.experiment(experiment_id)))


@router.put("/aiexperiments/{experiment_id}")
def update_aiexperiment(experiment_id: str, who: TenantDep, body: JsonBody) -> JSONResponse:
    """Rename the AI experiment, replace its metadata, archive it (``"state": "deleted"``) or make it
    active again (``"state": "active"``)."""
    return reply(aiexperiment_json(who, update_stored_experiment(who, who.experiment(experiment_id), body)))


@router.delete("/aiexperiments/{experiment_id}")
def archive_aiexperiment(experiment_id: str, who: TenantDep, include_runs: str | None = None) -> Response:
    """Archive the AI experiment, and with ``include_runs=true`` its runs too (the official client's
    ``archive_experiment(id, include_runs=True)``)."""
    record = who.experiment(experiment_id)
    who.backend.archive_experiment(record.id)
    if (include_runs or "").lower() == "true":
        for run in who.backend.list_runs(experiment=record.id):
            who.backend.archive_run(run.id)
    return no_content()


def _list(who: Tenant, project: str | None, limit: int | None) -> JSONResponse:
    records = client_experiments(who, project, DEFAULT_LIMIT if limit is None else limit)
    return reply(page([aiexperiment_json(who, r) for r in records]))


@router.get("/clients/{client_id}/aiexperiments")
def list_aiexperiments(client_id: str, who: TenantDep, limit: Limit = None) -> JSONResponse:
    """The client's AI experiments, newest first."""
    who.check_client(client_id)
    return _list(who, None, limit)


@router.get("/clients/{client_id}/projects/{project_id}/aiexperiments")
def list_project_aiexperiments(client_id: str, project_id: str, who: TenantDep, limit: Limit = None) -> JSONResponse:
    """The project's AI experiments, newest first."""
    who.check_client(client_id)
    return _list(who, project_id, limit)


@router.get("/aiexperiments/{experiment_id}/best_training_runs")
def best_training_runs(experiment_id: str, who: TenantDep) -> JSONResponse:
    """The runs of the best observations (observations made outside runs are left out)."""
    experiment = who.experiment(experiment_id).id
    runs = (who.backend.read_run(o.run) for o in who.backend.best_observations(experiment) if o.run)
    return reply(page([run_to_json(who, r) for r in runs if r is not None]))


# --- runs
def _run_body(body: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    """The ``name`` and ``metadata`` of a new run's body."""
    if unknown := sorted(set(body) - _RUN_KEYS):
        raise ValidationError(f"{unknown[0]}: not accepted when an AI experiment creates a run; set it afterwards.")
    metadata = body.get("metadata")
    if metadata is None:
        return check_run_name(body.get("name")), None
    if not isinstance(metadata, dict):
        raise ValidationTypeError(f"metadata: expected an object, got {describe_value(metadata)}.")
    checked = {check_name(k, "metadata key"): to_metadata(v, f"metadata[{k!r}]") for k, v in metadata.items()}
    return check_run_name(body.get("name")), checked


@router.post("/aiexperiments/{experiment_id}/training_runs")
def create_training_run(experiment_id: str, who: TenantDep, body: JsonBody) -> JSONResponse:
    """Serve a suggestion to a new run of the experiment and create the run with its assignments.

    Raises:
        UsageError: Nothing can be served (409): the budget is spent or held by other runs, or the
            experiment is archived.
    """
    record = who.experiment(experiment_id)  # another client's id is a 404 whatever the body
    name, metadata = _run_body(body)
    run_id = new_run_id()
    served = who.backend.serve_suggestion(record.id, run_id=run_id)
    if served is None:
        raise UsageError(
            f"AI experiment {record.id} has no suggestion to serve: its budget is spent or held by running "
            "runs, or it is archived."
        )
    ops: list[tuple[Any, ...]] = [
        ("start", run_id, record.project, name or f"{record.name} #{served.id}", time.time(), record.id, served.id),
        ("fields", run_id, "params", dict(served.assignments)),
    ]
    if metadata:
        ops.append(("fields", run_id, "metadata", metadata))
    who.backend.write(ops)
    return reply(run_to_json(who, who.run(run_id)))


def observe_finished_run(who: Tenant, run: RunRecord) -> None:
    """Record the result of an AI experiment's run that has just reached ``completed`` or ``failed``,
    as the SDK's loop records its own runs.

    The values are the run's last values of the experiment's metrics. A failure of the assignment
    (its kind from the run's failure, ``reported`` when the run was only marked failed) is a failed
    observation, so the optimizer learns the kind. Any other failure gives the suggestion back to be
    served again, and so does a run that completed without a required metric (a bug of the training
    code, recorded on the run as ``missing_metric``): no budget is spent on either. A run that is no
    experiment's, still active, or observed already is left as it is.

    Call it for runs updated through the SigOpt routes (MERGE, PUT) only: the SDK's loop observes
    the runs it writes through batches itself.
    """
    if run.experiment is None or run.suggestion is None or run.state is RunState.ACTIVE:
        return
    record = who.backend.get_experiment(run.experiment)
    suggestion = who.backend.get_suggestion(run.experiment, run.suggestion)
    if record is None or suggestion is None or not who.owns(record.project):
        return
    if suggestion.state is SuggestionState.CLOSED and any(o.run == run.id for o in who.backend.observations(record.id)):
        return
    values: dict[str, float] = {}
    failure = run.failure
    if run.state is RunState.FAILED and failure is None:
        failure = FailureInfo(FailureKind.REPORTED)
    if failure is None:
        values, missing = run_values(ExperimentDefinition.from_json(record.definition), run.metrics)
        if missing:
            failure = missing_metric_failure(missing, run.metrics)
            who.backend.write([("failure", run.id, failure.to_json(), time.time())])
    if failure is not None and not failure.kind.is_assignment_failure:
        who.backend.release(record.id, suggestion.id, run.id, failure.to_json())
        return
    who.backend.observe(
        record.id,
        suggestion.id,
        run_id=run.id,
        values=None if failure else values,
        failure_kind=None if failure is None else failure.kind.value,
        run_failure=None if failure is None else failure.to_json(),
    )
