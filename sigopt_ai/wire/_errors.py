"""SigOpt v1 ``error`` objects, both ways, mapped onto the exception tree of :mod:`sigopt_ai._exceptions`.

==============================  ======  ==========================================================
exception                       status  why
==============================  ======  ==========================================================
``ValidationError`` (and its    400     bad input; also an unknown id, which our API reports as a
``ValidationTypeError``)                ``ValidationError`` (a server may send it as 404)
``UsageError``                  409     the request does not fit the state (a finished run)
``ExperimentStopped``           409     the experiment stopped itself
``BackendRejected``             its own the server's answer, passed on
``TransportError``              502     the server could not reach what it depends on
``StoreError``                  503     the store failed; retrying may help
anything else                   500     the message is not sent: it may hold the server's secrets
==============================  ======  ==========================================================

Read back, an error whose ``sigopt_ai.type`` names one of these classes becomes that class, so an
HTTP backend raises what the SQL backend raises. An error without it (from sigopt-server, or a
proxy) becomes one by its status: 400, 404 and 422 a ``ValidationError``; 401 and 403 a
``ConfigError`` (the API token); 409 a ``UsageError``; 408, 429, 502, 503 and 504 a
``TransportError`` (retrying may help); any other a ``BackendRejected``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sigopt_ai._exceptions import (
    BackendRejected,
    ConfigError,
    ExperimentStopped,
    SigOptError,
    StoreError,
    TransportError,
    UsageError,
    ValidationError,
    ValidationTypeError,
)
from sigopt_ai.wire._fields import EXTENSION, JSON

__all__ = ["error_from_json", "error_to_json"]

# The classes sent by name, with their status; the most specific first, as isinstance() checks them.
_SENT: tuple[tuple[type[SigOptError], int], ...] = (
    (ValidationTypeError, 400),
    (ValidationError, 400),
    (UsageError, 409),
    (ExperimentStopped, 409),
    (TransportError, 502),
    (StoreError, 503),
)
_BY_NAME: dict[str, type[SigOptError]] = {cls.__name__: cls for cls, _ in _SENT}
_BY_STATUS: dict[int, type[SigOptError]] = {
    400: ValidationError,
    404: ValidationError,
    422: ValidationError,
    401: ConfigError,
    403: ConfigError,
    409: UsageError,
    **dict.fromkeys((408, 429, 502, 503, 504), TransportError),
}
_INTERNAL = 500


def error_to_json(exc: BaseException, *, status: int | None = None) -> JSON:
    """SigOpt's ``error`` object for ``exc``: ``{"object": "error", "message", "status"}``.

    The status is the one the table above gives ``exc``'s class unless ``status`` says otherwise
    (a server answers an unknown id with 404); the HTTP response carries the same. An exception from
    outside our tree is a bug of the server: its message stays there and the client gets its class
    name only.
    """
    if isinstance(exc, BackendRejected):
        return _error(exc.message, status or exc.status, BackendRejected)
    for cls, default in _SENT:
        if isinstance(exc, cls):
            return _error(str(exc), status or default, cls)
    return _error(f"The server failed with {type(exc).__name__}.", status or _INTERNAL, None)


def error_from_json(status: int, obj: Any) -> SigOptError:
    """The exception an ``error`` object describes, ready to raise.

    Never raises: a body that is not an error object (a proxy's page) gives a
    :class:`BackendRejected` with the HTTP ``status`` and the body's start as its message.

    Args:
        status: The HTTP status of the response.
        obj: The decoded response body.
    """
    if not (isinstance(obj, Mapping) and isinstance(obj.get("message"), str)):
        return BackendRejected(status, repr(obj)[:500])
    message: str = obj["message"]
    extension = obj.get(EXTENSION)
    name = extension.get("type") if isinstance(extension, Mapping) else None
    sent = obj.get("status")
    if name == BackendRejected.__name__ and isinstance(sent, int) and not isinstance(sent, bool):
        return BackendRejected(sent, message)
    cls = _BY_NAME.get(name) if isinstance(name, str) else None
    cls = cls or _BY_STATUS.get(status)
    return BackendRejected(status, message) if cls is None else cls(message)


def _error(message: str, status: int, cls: type[SigOptError] | None) -> JSON:
    body: JSON = {"object": "error", "message": message, "status": status}
    if cls is not None:
        body[EXTENSION] = {"type": cls.__name__}
    return body
