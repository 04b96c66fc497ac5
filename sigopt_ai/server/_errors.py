"""Every error the server answers is SigOpt's ``{"object": "error", "message", "status"}``.

Our exceptions are mapped by :func:`sigopt_ai.wire.error_to_json` (bad input 400, a finished run 409,
a failing store 503); FastAPI's own request validation (422) becomes a 400 naming the field; and an
unexpected exception is a 500 whose message names nothing but its class, while the traceback goes to
the server's log.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from sigopt_ai._exceptions import SigOptError
from sigopt_ai.server._deps import UNAUTHENTICATED, authenticated
from sigopt_ai.wire import error_to_json

__all__ = ["RESPONSES", "error_body", "error_response", "install_error_handlers", "validation_message"]

logger = logging.getLogger("sigopt_ai.server")

BODY_NOT_OBJECT = "Request body must be a JSON object."


class ErrorBody(BaseModel):
    """SigOpt's ``error`` object."""

    object: str = "error"
    message: str
    status: int


RESPONSES: dict[int | str, dict[str, Any]] = {
    204: {"description": "Success, without a body: the request had `X-Response-Content: skip`."},
    400: {"model": ErrorBody, "description": "Bad input; the message names the field and the rule."},
    401: {"model": ErrorBody, "description": "No API token, or an unknown or revoked one."},
    404: {"model": ErrorBody, "description": "No such object, or one of another client."},
    409: {"model": ErrorBody, "description": "The request does not fit the object's state."},
    413: {"model": ErrorBody, "description": "The request body is larger than the server's limit."},
    503: {"model": ErrorBody, "description": "The store failed; retrying may help."},
}
"""The answers every route may give besides its own, for ``/openapi.json``."""


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """SigOpt's error object as a response."""
    return JSONResponse({"object": "error", "message": message, "status": status}, status, headers=headers)


def validation_message(errors: Sequence[Any]) -> str:
    """One line naming the first field FastAPI refused, and why (``query.limit: ...``)."""
    if not errors:
        return "The request is invalid."
    error = errors[0]
    location = [str(part) for part in error.get("loc", ())]
    kind = error.get("type", "")
    if location[:1] == ["body"]:
        if kind == "json_invalid":
            return f"Request body is not valid JSON: {error.get('ctx', {}).get('error', 'parse error')}."
        if len(location) == 1 or kind in ("dict_type", "missing"):
            return BODY_NOT_OBJECT
    field = ".".join(location) or "request"
    return f"{field}: {error.get('msg', 'invalid value')}."


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, str(exc.detail), getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # FastAPI reads the body before the route's dependencies run: a stranger learns nothing from it.
    if not await authenticated(request):
        return error_response(401, UNAUTHENTICATED, {"WWW-Authenticate": "Basic"})
    return error_response(400, validation_message(exc.errors()))


def error_body(exc: BaseException) -> dict[str, Any]:
    """SigOpt's error object for ``exc`` as a client gets it.

    A server-side failure (5xx) is logged with its detail, and the client gets a fixed message for
    its class: the detail of a store's failure names the database (its URL, user and password), a
    file path or a query, none of which a client may see. Its class still goes with it, so an HTTP
    backend knows to retry.
    """
    body = error_to_json(exc)
    if body["status"] >= 500:
        logger.warning("sigopt_ai server: %s: %s", type(exc).__name__, exc)
        body["message"] = _GENERIC.get(body["status"], _GENERIC[500])
    return body


_GENERIC = {
    500: "The server failed; its log says why.",
    502: "The server could not reach a service it depends on; retrying may help.",
    503: "The server's store failed; retrying may help (the server's log says why).",
}


async def _our_error(_request: Request, exc: Exception) -> JSONResponse:
    body = error_body(exc)
    return JSONResponse(body, body["status"])


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.error("sigopt_ai server: %s %s failed", request.method, request.url.path, exc_info=exc)
    body = error_to_json(exc)  # a message naming nothing but the class, already
    return JSONResponse(body, body["status"])


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` as SigOpt's error object."""
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(SigOptError, _our_error)
    app.add_exception_handler(Exception, _unexpected)
