"""The HTTP backend's routes: ``POST /sigopt_ai/batches`` (the writer's batches of write operations)
and ``GET /sigopt_ai/dead_letters``.

A batch is applied once per ``Idempotency-Key``: a retry after a lost reply finds the key recorded
with the batch (in the same transaction) and changes nothing. Its ``start`` operations name the
user's project, which is namespaced here; an operation on a run of another client is refused as if
the run did not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse

from sigopt_ai._checks import check_text
from sigopt_ai._exceptions import ValidationError
from sigopt_ai._models import Op
from sigopt_ai.server._deps import Tenant, not_found, tenant
from sigopt_ai.server._routes import JsonBody, page, reply
from sigopt_ai.wire import ops_from_json

__all__ = ["router"]

router = APIRouter()
TenantDep = Annotated[Tenant, Depends(tenant)]
MAX_STORED_KEY = 200
"""The store's limit on a batch key, the client's prefix included."""


def _namespaced(who: Tenant, ops: list[Op]) -> list[Op]:
    """The batch with its projects namespaced, after checking that every run and experiment it
    names is this client's (or started by the batch itself)."""
    started: dict[str, str] = {}
    out: list[Op] = []
    for op in ops:
        if op[0] == "start":
            _, run_id, project, name, created, experiment, suggestion = op
            if experiment is not None:
                who.experiment(experiment)
            stored = who.stored_project(project)
            started.setdefault(run_id, stored)
            op = ("start", run_id, stored, name, created, experiment, suggestion)
        out.append(op)
    named = {run_id for op in ops for run_id in (op[1] if op[0] == "heartbeat" else (op[1],))}
    known = who.store.run_projects(named)
    for run_id in sorted(named):
        project = known.get(run_id) or started.get(run_id)  # the stored run's project decides
        if project is None or not who.owns(project):
            raise not_found("training run", run_id)
    return out


def _key(who: Tenant, key: str | None) -> str | None:
    if key is None:
        return None
    limit = MAX_STORED_KEY - len(who.client) - 1
    if not key:
        raise ValidationError("Idempotency-Key header: must not be empty.")
    return f"{who.client}:{check_text(key, 'Idempotency-Key header', limit)}"


@router.post("/sigopt_ai/batches")
def write_batch(
    who: TenantDep,
    body: JsonBody,
    idempotency_key: Annotated[str | None, Header(description="Applies the batch once per key.")] = None,
) -> JSONResponse:
    """Apply a batch of write operations (``{"ops": wire.ops_to_json(ops)}``) in one transaction."""
    ops = ops_from_json(body.get("ops"))
    ops = _namespaced(who, ops)
    who.write(ops, key=_key(who, idempotency_key))
    return reply({"object": "batch", "count": len(ops)})


@router.get("/sigopt_ai/dead_letters")
def dead_letters(who: TenantDep, run: str | None = None) -> JSONResponse:
    """The records the store set aside (of one run), oldest first; only this client's runs'."""
    if run is not None:
        who.run(run)
        rows: list[dict[str, Any]] = who.backend.dead_letters(run)
    else:
        rows = who.backend.dead_letters()
        projects = who.store.run_projects(row["run_id"] for row in rows if row.get("run_id"))
        rows = [row for row in rows if who.owns(projects.get(row.get("run_id") or "", ""))]
    return reply(page(rows))
