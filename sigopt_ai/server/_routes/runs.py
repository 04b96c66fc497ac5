"""Training runs: SigOpt's routes (create in a project, GET, PUT, MERGE, DELETE, checkpoints, lists)
and ours for the HTTP backend (metric history).

DELETE archives a run rather than deleting it (SigOpt's ``deleted``, which the official client's
``archive_run`` sends): the run leaves the lists and keeps its records; a PUT or MERGE of
``"deleted": false`` (``unarchive_run``) brings it back, and ``"deleted": true`` archives it too.

A PUT or MERGE becomes write operations (see :mod:`._run_bodies`), applied through the process's
group commit (:mod:`sigopt_ai.server._commit`); it also renews the run's heartbeat, which keeps the
lease of an experiment's suggestion. A run of an experiment that such a request finishes gets its
observation made here, as sigopt-server does.

A batch upload (the official client's ``upload_runs``) is parsed by the SDK's own ``upload_runs``
parser (:func:`sigopt_ai.runs._upload.parse_runs`), so both check a body by the same rules.

A MERGE that only logs metric values (the official client's every ``log_metric``) does not read the
run: its operations are the same whatever else the run holds, its owner is checked with the group's
writes, and it is answered without a thread of the pool.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from sigopt_ai._checks import check_run_name, describe_value
from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai._models import Op, RunRecord, RunState
from sigopt_ai.runs._upload import MAX_BATCH_SIZE, parse_runs, record_ops
from sigopt_ai.server._deps import Tenant, not_found, tenant
from sigopt_ai.server._op_checks import check_ops
from sigopt_ai.server._routes import JsonBody, no_content, page, reply
from sigopt_ai.server._routes._run_bodies import RunChange, apply_body, run_to_json
from sigopt_ai.server._routes.aiexperiments import observe_finished_run
from sigopt_ai.wire import checkpoint_from_json, checkpoint_to_json, metric_point_to_json

__all__ = ["create_run", "router", "run_to_json", "submit_logged_values", "upload_runs"]

router = APIRouter()
TenantDep = Annotated[Tenant, Depends(tenant)]
SkipHeader = Annotated[str | None, Header(description="`skip`: answer 204 without a body.")]
Limit = Annotated[int | None, Query(ge=0, le=2**63 - 1, description="At most this many.")]


def create_run(
    who: Tenant,
    project: str,
    body: dict[str, Any],
    *,
    experiment: str | None = None,
    suggestion: str | None = None,
) -> RunRecord:
    """Create a run in the user's ``project`` (which must exist) from a ``training_run`` body.

    Raises:
        HTTPException: 404, when there is no such project.
        ValidationError: A field of the body is malformed; the message names it.
    """
    stored = who.stored_project(project)
    if who.store.project(stored) is None:
        raise not_found("project", project)
    now = time.time()
    name = check_run_name(body.get("name")) or f"{project} {dt.datetime.now():%Y-%m-%d %H:%M:%S}"
    run = RunRecord(id=uuid.uuid4().hex[:16], name=name, project=stored, state=RunState.ACTIVE, created=now)
    change = apply_body(run, {**body, "name": name}, replace=False, now=now)
    start = ("start", run.id, stored, name, now, experiment, suggestion)
    who.write([start, *change.ops])
    return who.run(run.id)


def upload_runs(who: Tenant, project: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Store the finished runs of a batch upload body ``{"runs": [<training_run>...], "fields"?}`` in
    the user's ``project`` (which must exist), in one transaction; every body is checked first.

    Returns:
        The ``training_run`` objects of the stored runs, in the order given; only the ``fields``
        asked for (SigOpt's comma-separated ``"fields": "id"``), with ``object``.

    Raises:
        HTTPException: 404, when there is no such project.
        ValidationError: A field is malformed (``runs[3]: training_run.values...``); nothing is stored.
    """
    stored = who.stored_project(project)
    if who.store.project(stored) is None:
        raise not_found("project", project)
    unknown = sorted(body.keys() - {"runs", "fields"})
    if unknown:
        raise ValidationError(f"{unknown[0]}: not a field of a batch of runs; the fields are ['fields', 'runs'].")
    fields = _fields(body.get("fields"))
    runs = body.get("runs")
    if isinstance(runs, list) and len(runs) > MAX_BATCH_SIZE:
        raise ValidationError(f"runs: at most {MAX_BATCH_SIZE:,} runs in one batch, got {len(runs):,}.")
    records = parse_runs(_in_project(runs, project), stored)
    # Chosen before the write, so that an unknown field is refused with nothing stored.
    chosen = None if fields is None else [_selected(run_to_json(who, record), fields) for record in records]
    # No batch key: the official client sends none, and its runs get new ids on every request.
    who.write([op for record in records for op in record_ops(record)])
    if chosen is None:
        return [run_to_json(who, who.run(record.id)) for record in records]
    return chosen


def _in_project(runs: Any, project: str) -> Any:
    """The run bodies without their ``project``, which may only repeat the path's: a batch goes to one
    project, and a body's own would name a store project outside this client's namespace.

    Raises:
        ValidationError: A body names another project.
    """
    if not isinstance(runs, list):
        return runs  # the parser names what it is
    out = []
    for index, run in enumerate(runs):
        if isinstance(run, dict) and "project" in run:
            if run["project"] not in (None, project):
                raise ValidationError(
                    f"runs[{index}].project: the runs of a batch go to the project of its path, {project!r}; "
                    f"got {describe_value(run['project'])}."
                )
            run = {key: value for key, value in run.items() if key != "project"}
        out.append(run)
    return out


def _fields(value: Any) -> list[str] | None:
    """SigOpt's ``fields``: the comma-separated names of the fields that the reply keeps."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationTypeError(f"fields: expected a comma-separated list of names, got {describe_value(value)}.")
    return [name.strip() for name in value.split(",") if name.strip()]


def _selected(obj: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """The ``fields`` of a ``training_run`` object, with its ``object``."""
    unknown = [name for name in fields if name not in obj]
    if unknown:
        raise ValidationError(f"fields: {unknown[0]!r} is not a field of a training run; the fields are {sorted(obj)}.")
    return {"object": obj["object"], **{name: obj[name] for name in fields}}


def _archived(body: dict[str, Any]) -> bool | None:
    """The body's ``deleted`` (None when absent or null).

    Raises:
        ValidationTypeError: It is not a boolean.
    """
    deleted = body.get("deleted")
    if deleted is not None and not isinstance(deleted, bool):
        raise ValidationTypeError(f"training_run.deleted: expected true or false, got {describe_value(deleted)}.")
    return deleted


def _apply(who: Tenant, run: RunRecord, body: dict[str, Any], *, replace: bool, skip: str | None) -> Response:
    archived = _archived(body)
    change = apply_body(run, {k: v for k, v in body.items() if k != "deleted"}, replace=replace)
    _write(who, run, change)
    # Last: a body refused by any check above, or by the store, leaves the run as it was.
    if archived is not None and archived != run.archived:
        who.backend.archive_run(run.id, archived)
    if not change.finished and (skip or "").lower() == "skip":
        return no_content()  # the official client's every log call: no need to read the run back
    updated = who.run(run.id)
    if change.finished and updated.experiment is not None:
        observe_finished_run(who, updated)
    return reply(run_to_json(who, updated))


def _write(who: Tenant, run: RunRecord, change: RunChange) -> None:
    check_ops(change.ops)  # every value, before the edit below commits anything
    if change.name is not None or change.removed_fields or change.removed_metrics:
        who.store.edit_run(run.id, name=change.name, fields=change.removed_fields, metrics=change.removed_metrics)
    ops = list(change.ops)
    if run.state is RunState.ACTIVE and not change.finished:
        ops.append(("heartbeat", (run.id,), time.time()))  # a living run: renews its suggestion's lease
    who.commit.write(who, ops, verify=False)  # the run was just read as this client's


def _merge(who: Tenant, run_id: str, body: dict[str, Any], skip: str | None) -> Response:
    return _apply(who, who.run(run_id), body, replace=False, skip=skip)


def _read_back(who: Tenant, run_id: str) -> JSONResponse:
    return reply(run_to_json(who, who.run(run_id)))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _logged_metrics(run_id: str, body: dict[str, Any], now: float) -> tuple[list[Op], list[str]] | None:
    """The metric points of a MERGE body that only logs metric values, each ``{"value": number}``
    with or without a ``"value_stddev"`` (the official client's ``log_metric``), and the metrics
    whose stored stddev they keep; None for any other body.

    Such a MERGE needs nothing of the stored run: each value given is a point whatever the run held,
    its other fields are merged back unchanged and its state stays, so these are the operations the
    full path makes after reading the run. A metric's stored stddev, which a value without one
    keeps, the group commit fills in. Anything less plain (a null, a value as text, another key)
    takes the full path, whose parser names a bad field.
    """
    values = body.get("values")
    if body.keys() != {"values"} or not isinstance(values, dict) or not values:
        return None
    ops: list[Op] = []
    inherit: list[str] = []
    for name, item in values.items():
        if not (isinstance(item, dict) and item.keys() <= {"value", "value_stddev"} and _is_number(item.get("value"))):
            return None
        stddev = item.get("value_stddev")
        if stddev is not None and not _is_number(stddev):
            return None
        if "value_stddev" not in item:
            inherit.append(name)
        ops.append(("metric", run_id, name, item["value"], stddev, now))
    return ops, inherit


def submit_logged_values(who: Tenant, run_id: str, body: dict[str, Any]) -> asyncio.Future[None] | None:
    """Hand a MERGE that only logs metric values to the group commit, without reading the run (in
    the event loop's thread); the future is done once the values are stored (or failed: 404 when
    the run is not the client's).

    Returns:
        None for any other body, and for an invalid one: the full path answers those, naming the
        field, after the 404 of a run that is not the client's.
    """
    now = time.time()
    logged = _logged_metrics(run_id, body, now)
    if logged is None:
        return None
    ops, inherit = logged
    ops.append(("heartbeat", (run_id,), now))  # renews only an active run
    try:
        return who.commit.submit_async(who, ops, inherit=inherit)
    except ValidationError:
        return None


def _list(who: Tenant, *, project: str | None, experiment: str | None, limit: int | None) -> JSONResponse:
    if experiment is not None:
        who.experiment(experiment)
    if project is not None:
        runs = who.backend.list_runs(project=who.stored_project(project), experiment=experiment, limit=limit)
    else:
        runs = []
        for stored in who.store.projects(who.namespace):
            runs += who.backend.list_runs(project=stored.id, experiment=experiment, limit=limit)
        runs.sort(key=lambda r: (r.created, r.id), reverse=True)
        runs = runs[:limit] if limit is not None else runs
    return reply(page([run_to_json(who, run) for run in runs if who.owns(run.project)]))


def _experiment_filter(filters: str | None) -> str | None:
    """The experiment id of SigOpt's ``filters`` query (the official client's ``get_runs()``)."""
    if not filters:
        return None
    try:
        parsed = json.loads(filters)
    except ValueError:
        raise ValidationError("filters: expected a JSON array of filters.") from None
    if not isinstance(parsed, list):
        raise ValidationTypeError(f"filters: expected a JSON array of filters, got {describe_value(parsed)}.")
    experiment = None
    for index, item in enumerate(parsed):
        if not (isinstance(item, dict) and item.get("field") == "experiment" and item.get("operator") == "=="):
            raise ValidationError(f"filters[{index}]: only {{'field': 'experiment', 'operator': '=='}} is supported.")
        experiment = str(item.get("value"))
    return experiment


@router.post("/clients/{client_id}/projects/{project_id}/training_runs")
def create_project_run(client_id: str, project_id: str, who: TenantDep, body: JsonBody) -> JSONResponse:
    """Create a training run in a project."""
    who.check_client(client_id)
    return reply(run_to_json(who, create_run(who, project_id, body)))


@router.post("/clients/{client_id}/projects/{project_id}/training_runs/batch")
def create_project_runs(client_id: str, project_id: str, who: TenantDep, body: JsonBody) -> JSONResponse:
    """Upload finished runs: ``{"runs": [<training_run>...], "fields": "id"}`` (the official client's
    ``upload_runs``) → a pagination of the stored runs, in the order given.

    Every body is checked before anything is written, and the batch is written in one transaction:
    a bad body is a 400 naming it (``runs[3]: training_run.values...``) and stores nothing. A request
    body over the server's limit (``sigopt-ai server --max-body``, 8 MiB by default) is refused with
    413 and stores nothing; upload more runs in smaller batches (the official client's
    ``upload_runs(runs, max_batch_size=...)``, which sends one request per batch).
    """
    who.check_client(client_id)
    return reply(page(upload_runs(who, project_id, body)))


@router.get("/clients/{client_id}/projects/{project_id}/training_runs")
def list_project_runs(
    client_id: str, project_id: str, who: TenantDep, limit: Limit = None, filters: str | None = None
) -> JSONResponse:
    """The project's runs, newest first (SigOpt's ``filters`` may name an experiment)."""
    who.check_client(client_id)
    if who.store.project(who.stored_project(project_id)) is None:
        raise not_found("project", project_id)
    return _list(who, project=project_id, experiment=_experiment_filter(filters), limit=limit)


@router.get("/clients/{client_id}/training_runs")
def list_client_runs(
    client_id: str,
    who: TenantDep,
    project: str | None = None,
    experiment: str | None = None,
    limit: Limit = None,
) -> JSONResponse:
    """The client's runs, newest first, optionally of one project or experiment."""
    who.check_client(client_id)
    return _list(who, project=project, experiment=experiment, limit=limit)


@router.get("/training_runs/{run_id}")
def get_run(run_id: str, who: TenantDep) -> JSONResponse:
    """A training run."""
    return reply(run_to_json(who, who.run(run_id)))


@router.put("/training_runs/{run_id}")
def put_run(run_id: str, who: TenantDep, body: JsonBody, x_response_content: SkipHeader = None) -> Response:
    """Replace the fields of a run that the body gives."""
    return _apply(who, who.run(run_id), body, replace=True, skip=x_response_content)


@router.api_route("/training_runs/{run_id}", methods=["MERGE"], include_in_schema=False)
async def merge_run(run_id: str, who: TenantDep, body: JsonBody, x_response_content: SkipHeader = None) -> Response:
    """Merge the body into a run: maps deeply, a null deleting a key (OpenAPI has no MERGE method)."""
    written = submit_logged_values(who, run_id, body)
    if written is None:
        return await run_in_threadpool(_merge, who, run_id, body, x_response_content)
    await written
    if (x_response_content or "").lower() == "skip":
        return no_content()
    return await run_in_threadpool(_read_back, who, run_id)


@router.delete("/training_runs/{run_id}")
def delete_run(run_id: str, who: TenantDep) -> Response:
    """Archive a run: it leaves the lists, and its records stay (``"deleted": false`` brings it back)."""
    who.backend.archive_run(who.run(run_id).id)
    return no_content()


@router.post("/training_runs/{run_id}/checkpoints")
def create_checkpoint(run_id: str, who: TenantDep, body: JsonBody) -> JSONResponse:
    """Record a checkpoint: ``{"values": [{"name", "value"}...]}``; its step is the next one unless given."""
    run = who.run(run_id)
    now = time.time()
    extension = body.get("sigopt_ai") or {}
    step = extension.get("step", len(run.checkpoints)) if isinstance(extension, dict) else extension
    obj = {**body, "object": "checkpoint", "created": int(now), "sigopt_ai": {"created": now, "step": step}}
    checkpoint = checkpoint_from_json(obj)
    op = ("checkpoint", run.id, checkpoint.step, dict(checkpoint.values), now)
    who.commit.write(who, [op], verify=False)  # the run was just read as this client's
    return reply(checkpoint_to_json(checkpoint, run=run.id))


@router.get("/training_runs/{run_id}/checkpoints")
def list_checkpoints(run_id: str, who: TenantDep, limit: Limit = None) -> JSONResponse:
    """A run's checkpoints, in the order they were recorded (the first ``limit``)."""
    run = who.run(run_id)
    return reply(page([checkpoint_to_json(c, run=run.id) for c in run.checkpoints[:limit]]))


@router.get("/training_runs/{run_id}/sigopt_ai/metrics/{name}")
def metric_history(run_id: str, name: str, who: TenantDep) -> JSONResponse:
    """Every value logged for a metric of a run, in logging order."""
    run = who.run(run_id)
    return reply(page([metric_point_to_json(p) for p in who.backend.metric_history(run.id, name)]))
