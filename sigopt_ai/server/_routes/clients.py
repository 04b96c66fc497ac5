"""Clients and their projects: ``/clients/{cid}`` and ``/clients/{cid}/projects[/{pid}]``.

Project ids are the user's (``my-project``); the store keeps them namespaced by client.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse

from sigopt_ai._checks import MAX_NAME_LENGTH, check_text, describe_value
from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai._models import ProjectRecord
from sigopt_ai.server._deps import Tenant, not_found, tenant
from sigopt_ai.server._routes import JsonBody, page, reply
from sigopt_ai.server._store import ProjectExists, StoredProject
from sigopt_ai.wire import project_to_json

__all__ = ["router"]

router = APIRouter()
TenantDep = Annotated[Tenant, Depends(tenant)]


def _project_json(who: Tenant, project: StoredProject) -> dict[str, Any]:
    user_id = who.user_project(project.id)
    record = ProjectRecord(
        id=user_id, name=project.name if project.name is not None else user_id, created=project.created
    )
    return project_to_json(record, client=who.client, metadata=project.metadata)


def _name(body: dict[str, Any]) -> str | None:
    name = body.get("name")
    if name is None:
        return None
    if not isinstance(name, str) or not name:
        raise ValidationTypeError(f"project.name: expected a non-empty string, got {describe_value(name)}.")
    return check_text(name, "project.name", MAX_NAME_LENGTH)


def _metadata(body: dict[str, Any]) -> dict[str, Any] | None:
    metadata = body.get("metadata")
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise ValidationTypeError(f"project.metadata: expected a JSON object or null, got {describe_value(metadata)}.")
    return metadata


@router.get("/clients/{client_id}")
def get_client(client_id: str, who: TenantDep) -> JSONResponse:
    """The token's client."""
    who.check_client(client_id)
    client = who.store.client(client_id)
    if client is None:
        raise not_found("client", client_id)
    return reply(
        {"object": "client", "id": client.id, "name": client.name, "created": int(client.created), "organization": None}
    )


@router.post("/clients/{client_id}/projects")
def create_project(client_id: str, who: TenantDep, body: JsonBody) -> JSONResponse:
    """Create a project: ``{"id", "name"?, "metadata"?}``; 409 if the id is taken."""
    who.check_client(client_id)
    project_id = body.get("id")
    if not isinstance(project_id, str):
        raise ValidationTypeError(f"project.id: expected a string, got {describe_value(project_id)}.")
    stored = who.stored_project(project_id)
    try:
        project = who.store.create_project(stored, name=_name(body) or project_id, metadata=_metadata(body))
    except ProjectExists:
        raise HTTPException(409, f"A project with id {project_id} already exists.") from None
    return reply(_project_json(who, project))


@router.get("/clients/{client_id}/projects")
def list_projects(
    client_id: str, who: TenantDep, limit: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None
) -> JSONResponse:
    """The client's projects, newest first."""
    who.check_client(client_id)
    return reply(page([_project_json(who, p) for p in who.store.projects(who.namespace, limit=limit)]))


def _project(who: Tenant, project_id: str) -> str:
    try:
        stored = who.stored_project(project_id)
    except ValidationError:
        raise not_found("project", project_id) from None  # an id that cannot exist
    return stored


@router.get("/clients/{client_id}/projects/{project_id}")
def get_project(client_id: str, project_id: str, who: TenantDep) -> JSONResponse:
    """A project."""
    who.check_client(client_id)
    project = who.store.project(_project(who, project_id))
    if project is None:
        raise not_found("project", project_id)
    return reply(_project_json(who, project))


@router.put("/clients/{client_id}/projects/{project_id}")
def update_project(client_id: str, project_id: str, who: TenantDep, body: JsonBody) -> JSONResponse:
    """Rename a project or replace its metadata."""
    who.check_client(client_id)
    project = who.store.update_project(_project(who, project_id), name=_name(body), metadata=_metadata(body))
    if project is None:
        raise not_found("project", project_id)
    return reply(_project_json(who, project))
