"""Core experiments: create, fetch, update, archive and list (SigOpt's ``/experiments`` routes).

A body is SigOpt's experiment JSON, validated by :func:`~sigopt_ai.experiments._parse.parse_experiment`
so an error names the field, plus an optional ``project`` (namespaced for the client, ``"default"``
when absent, as the server has no working directory to name one) and our extension
``"sigopt_ai": {"seed", "lease_timeout"}`` with the defaults of :func:`sigopt_ai.create_experiment`.
An update can rename an experiment, replace its metadata, budget, parallel bandwidth or parameter
bounds, archive it (``"state": "deleted"``) and make it active again (``"state": "active"``, the official
client's ``unarchive_experiment``); a change to any other field is refused with a 400 naming it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from sigopt_ai._models import ExperimentRecord
from sigopt_ai.connection._bodies import create_experiment_record, update_experiment_record
from sigopt_ai.experiments._experiment import DEFAULT_LEASE_TIMEOUT
from sigopt_ai.server._deps import Tenant, tenant
from sigopt_ai.server._routes import JsonBody, no_content, page, reply
from sigopt_ai.server._routes._experiment_views import (
    DEFAULT_LIMIT,
    Limit,
    client_experiments,
    experiment_json,
)
from sigopt_ai.wire._core import DEFAULT_PROJECT

__all__ = ["DEFAULT_PROJECT", "create_stored_experiment", "router", "update_stored_experiment"]

router = APIRouter(tags=["experiments"])

TenantDep = Annotated[Tenant, Depends(tenant)]


def create_stored_experiment(
    who: Tenant, project: str, body: dict[str, Any], *, lease_timeout: float = DEFAULT_LEASE_TIMEOUT
) -> ExperimentRecord:
    """Validate an experiment body (without ``project``) and store it in the client's ``project``;
    ``lease_timeout`` is the lease when the body's extension names none (the Connection's checks).

    Raises:
        ValidationError: The body breaks a rule; the message names the field.
    """
    return create_experiment_record(who.backend, who.stored_project(project), body, lease_timeout=lease_timeout)


def update_stored_experiment(who: Tenant, record: ExperimentRecord, body: dict[str, Any]) -> ExperimentRecord:
    """Apply an update body: ``name``, ``metadata``, ``budget``, ``parallel_bandwidth``, parameter
    bounds, and ``state``: ``"deleted"`` archives, ``"active"`` unarchives (the Connection's rules).

    Raises:
        ValidationError: A field cannot be updated here or breaks a rule; the message names it.
    """
    return update_experiment_record(who.backend, record, body, project=who.user_project(record.project))


def _create(who: Tenant, body: dict[str, Any]) -> JSONResponse:
    project = body.pop("project", None)
    stored = create_stored_experiment(who, DEFAULT_PROJECT if project is None else project, body)
    return reply(experiment_json(who, stored))


@router.post("/experiments")
def create_experiment(who: TenantDep, body: JsonBody) -> JSONResponse:
    """Create a core experiment in the token's client."""
    return _create(who, body)


@router.post("/clients/{client_id}/experiments")
def create_client_experiment(client_id: str, who: TenantDep, body: JsonBody) -> JSONResponse:
    """Create a core experiment in this client."""
    who.check_client(client_id)
    return _create(who, body)


@router.get("/experiments/{experiment_id}")
def get_experiment(experiment_id: str, who: TenantDep) -> JSONResponse:
    """The experiment, with its progress."""
    return reply(experiment_json(who, who.experiment(experiment_id), best=True))


@router.put("/experiments/{experiment_id}")
def update_experiment(experiment_id: str, who: TenantDep, body: JsonBody) -> JSONResponse:
    """Rename the experiment, replace its metadata, budget, bandwidth or parameter bounds, archive it
    (``"state": "deleted"``) or make it active again (``"state": "active"``)."""
    record = update_stored_experiment(who, who.experiment(experiment_id), body)
    return reply(experiment_json(who, record))


@router.delete("/experiments/{experiment_id}")
def archive_experiment(experiment_id: str, who: TenantDep) -> Response:
    """Archive the experiment: no suggestion is served any more."""
    who.backend.archive_experiment(who.experiment(experiment_id).id)
    return no_content()


def _list(who: Tenant, project: str | None, limit: int | None) -> JSONResponse:
    records = client_experiments(who, project, DEFAULT_LIMIT if limit is None else limit)
    return reply(page([experiment_json(who, r) for r in records]))


@router.get("/experiments")
def list_experiments(who: TenantDep, limit: Limit = None) -> JSONResponse:
    """The token's client's experiments, newest first."""
    return _list(who, None, limit)


@router.get("/clients/{client_id}/experiments")
def list_client_experiments(
    client_id: str, who: TenantDep, project: str | None = None, limit: Limit = None
) -> JSONResponse:
    """The client's experiments (of one project), newest first."""
    who.check_client(client_id)
    return _list(who, project, limit)


@router.get("/clients/{client_id}/projects/{project_id}/experiments")
def list_project_experiments(client_id: str, project_id: str, who: TenantDep, limit: Limit = None) -> JSONResponse:
    """The project's experiments, newest first."""
    who.check_client(client_id)
    return _list(who, project_id, limit)
