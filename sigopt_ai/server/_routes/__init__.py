"""The server's routes, one module per area, each with its ``router`` (``_app`` includes them); and
what they share."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Body, Depends
from fastapi.responses import JSONResponse, Response

from sigopt_ai.wire import page_to_json

__all__ = ["JsonBody", "json_object", "no_content", "page", "reply"]


async def json_object(
    body: Annotated[
        dict[str, Any] | None, Body(description="A JSON object; the route's parser checks its fields.")
    ] = None,
) -> dict[str, Any]:
    """The request body as a dependency: any JSON object, ``{}`` when the body is empty.

    Anything else is refused with 400 ``Request body must be a JSON object.``; the fields are left to
    the route's parser, so that an error names the field as SigOpt's would, and ``/openapi.json``
    still says that the route takes a JSON object.
    """
    return {} if body is None else body


JsonBody = Annotated[dict[str, Any], Depends(json_object)]
"""A route's request body parameter: ``body: JsonBody``."""


def reply(obj: Mapping[str, Any], status: int = 200) -> JSONResponse:
    """A JSON object as the response, as it is (the wire functions made it JSON already).

    A free-form map (metadata, ``sys_metadata``, assignments) may hold ``NaN`` or an infinity that a
    client sent, since request bodies are read by Python's JSON, which takes them; JSON has no such
    numbers, so they go out as the strings the wire writes for a metric value that is not finite.
    """
    try:
        return JSONResponse(obj, status)
    except ValueError:
        return JSONResponse(_finite(obj), status)


def _finite(value: Any) -> Any:
    """``value`` with each float that is not finite as ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Mapping):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def no_content() -> Response:
    """204, no body."""
    return Response(status_code=204)


page = page_to_json
"""SigOpt's ``pagination`` object of items already converted (:func:`sigopt_ai.wire.page_to_json`)."""
