"""Files stored with runs: SigOpt's upload flow (the official client's ``log_image``), reads, and the
HTTP backend's download of a file's bytes.

``POST /training_runs/{id}/files`` describes a file (``name`` or ``filename``, ``content_type``,
``content_length``) and answers a ``file`` object whose ``upload`` says where to send the bytes: a
``PUT`` to ``/sigopt_ai/uploads/{secret}``. That URL needs no API token (the client sends the bytes
with a plain HTTP request, as it would to a storage bucket): its secret, 256 random bits of which
the store keeps only the hash, is the capability, and it works once. A file is listed and read only
once its bytes arrived.

Files written by the SDK come in its batches, as ``file`` operations (``/sigopt_ai/batches``).
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from sigopt_ai._checks import MAX_FILE_BYTES, describe_value
from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai._models import FileRecord
from sigopt_ai.server._deps import Tenant, not_found, tenant
from sigopt_ai.server._op_checks import check_file
from sigopt_ai.server._routes import JsonBody, page, reply
from sigopt_ai.wire import file_to_json

__all__ = ["router"]

router = APIRouter(tags=["files"])
TenantDep = Annotated[Tenant, Depends(tenant)]
_UPLOADS = "v1/sigopt_ai/uploads"


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise ValidationTypeError(f"file.{key}: expected a string, got {describe_value(value)}.")
    return value


def _declared_size(body: dict[str, Any]) -> None:
    """Refuse a ``content_length`` over the limit before any byte is sent."""
    size = body.get("content_length")
    if size is None:
        return
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValidationTypeError(f"file.content_length: expected an integer >= 0, got {describe_value(size)}.")
    if size > MAX_FILE_BYTES:
        raise ValidationError(f"file.content_length: a file must be at most {MAX_FILE_BYTES} bytes, got {size}.")


def _file_json(request: Request, record: FileRecord) -> dict[str, Any]:
    url = f"{str(request.base_url).rstrip('/')}/v1/files/{record.id}/sigopt_ai/data"
    return {**file_to_json(record), "download": {"method": "GET", "url": url, "headers": {}}}


def _owned_file(who: Tenant, file_id: str) -> FileRecord:
    """A stored file of this client's runs; 404 for any other id, as for a missing one."""
    record = who.store.file(file_id)
    if record is None:
        raise not_found("file", file_id)
    who.run(record.run)  # 404 unless the run is this client's
    return record


@router.post("/training_runs/{run_id}/files")
def create_file(run_id: str, request: Request, who: TenantDep, body: JsonBody) -> JSONResponse:
    """Describe a file of the run; the reply's ``upload`` says where to ``PUT`` its bytes (once)."""
    run = who.run(run_id)
    # The official client sends the path it was given as the filename: its last part names the file.
    filename = _text(body, "filename")
    name = _text(body, "name") or (PurePath(filename).name if filename else None) or "file"
    content_type = _text(body, "content_type") or "application/octet-stream"
    _declared_size(body)
    check_file(name, content_type, 0, "file")
    record, secret = who.store.reserve_upload(run.id, name=name, content_type=content_type)
    upload = {
        "method": "PUT",
        "url": f"{str(request.base_url).rstrip('/')}/{_UPLOADS}/{secret}",
        "headers": {"Content-Type": content_type},
    }
    return reply({**file_to_json(record), "upload": upload})


@router.put(f"/{_UPLOADS.removeprefix('v1/')}/{{secret}}")
async def upload_file(secret: str, request: Request) -> JSONResponse:
    """The bytes of a file described before; no API token: the URL's single-use secret is the capability."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_FILE_BYTES:
            raise HTTPException(413, f"A file must be at most {MAX_FILE_BYTES} bytes.")
    store = request.app.state.store
    record = await run_in_threadpool(store.complete_upload, secret, bytes(data))
    if record is None:
        raise HTTPException(404, "No upload waits at this URL (it was used already, or never made).")
    return reply(file_to_json(record))


@router.get("/files/{file_id}")
def get_file(file_id: str, request: Request, who: TenantDep) -> JSONResponse:
    """A stored file's description, with the URL of its bytes."""
    return reply(_file_json(request, _owned_file(who, file_id)))


@router.get("/files/{file_id}/sigopt_ai/data")
def file_data(file_id: str, who: TenantDep) -> Response:
    """A stored file's bytes, with its content type."""
    record = _owned_file(who, file_id)
    data = who.backend.read_file(record.id)
    if data is None:
        raise not_found("file", file_id)
    return Response(data, media_type=record.content_type)


@router.get("/training_runs/{run_id}/files")
def list_files(run_id: str, request: Request, who: TenantDep) -> JSONResponse:
    """The run's stored files, oldest first."""
    run = who.run(run_id)
    return reply(page([_file_json(request, record) for record in who.backend.list_files(run.id)]))
