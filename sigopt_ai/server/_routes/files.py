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
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from sigopt_ai._checks import MAX_FILE_BYTES, check_content_type, check_file_name, check_file_size, describe_value
from sigopt_ai._exceptions import ValidationTypeError
from sigopt_ai._models import FileRecord
from sigopt_ai.server._deps import Tenant, not_found, tenant
from sigopt_ai.server._routes import JsonBody, page, reply
from sigopt_ai.wire import file_to_json

__all__ = ["router"]

router = APIRouter(tags=["files"])
TenantDep = Annotated[Tenant, Depends(tenant)]
_UPLOADS = "v1/sigopt_ai/uploads"
_NO_UPLOAD = "No upload waits at this URL (it was used already, it expired, or it was never made)."
_TOO_LARGE = f"A file must be at most {MAX_FILE_BYTES} bytes."


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise ValidationTypeError(f"file.{key}: expected a string, got {describe_value(value)}.")
    return value


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
    check_file_name(name, "file.name")
    check_content_type(content_type, "file.content_type")
    if body.get("content_length") is not None:  # refused before any byte is sent
        check_file_size(body["content_length"], "file.content_length")
    record, secret = who.store.reserve_upload(run.id, name=name, content_type=content_type)
    upload = {
        "method": "PUT",
        "url": f"{str(request.base_url).rstrip('/')}/{_UPLOADS}/{secret}",
        "headers": {"Content-Type": content_type},
    }
    return reply({**file_to_json(record), "upload": upload})


@router.put(f"/{_UPLOADS.removeprefix('v1/')}/{{secret}}")
async def upload_file(secret: str, request: Request) -> JSONResponse:
    """The bytes of a file described before; no API token: the URL's single-use secret is the capability.

    Anyone can send to this URL, so nothing of the body is read before the secret is known (404) and
    a declared length is within the limit (413).
    """
    store = request.app.state.store
    if not await run_in_threadpool(store.upload_waits, secret):
        raise HTTPException(404, _NO_UPLOAD)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FILE_BYTES:
        raise HTTPException(413, _TOO_LARGE)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_FILE_BYTES:  # a chunked body declares no length
            raise HTTPException(413, _TOO_LARGE)
    record = await run_in_threadpool(store.complete_upload, secret, bytes(data))
    if record is None:  # another request used the secret meanwhile, or the reservation expired
        raise HTTPException(404, _NO_UPLOAD)
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
    # The content type is the user's: a browser must neither sniff another one (an HTML page in an
    # "image") nor show the bytes in the server's origin.
    headers = {"X-Content-Type-Options": "nosniff", "Content-Disposition": _attachment(record.name)}
    return Response(data, media_type=record.content_type, headers=headers)


def _attachment(name: str) -> str:
    """A ``Content-Disposition`` saving the bytes as ``name`` (RFC 6266): an ASCII ``filename`` for
    old clients (characters it cannot hold, quotes and backslashes as ``_``) and the exact name in
    ``filename*``, percent-encoded UTF-8 (RFC 8187)."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in name)
    exact = quote(name.encode("utf-8", "surrogatepass"), safe="")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{exact}"


@router.get("/training_runs/{run_id}/files")
def list_files(run_id: str, request: Request, who: TenantDep) -> JSONResponse:
    """The run's stored files, oldest first."""
    run = who.run(run_id)
    return reply(page([_file_json(request, record) for record in who.backend.list_files(run.id)]))
