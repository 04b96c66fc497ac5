"""The server's routes, one module per area, each with its ``router`` (``_app`` includes them); and
what they share."""

from __future__ import annotations

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
    """A JSON object as the response, as it is (the wire functions made it JSON already)."""
    return JSONResponse(obj, status)


def no_content() -> Response:
    """204, no body."""
    return Response(status_code=204)


page = page_to_json
"""SigOpt's ``pagination`` object of items already converted (:func:`sigopt_ai.wire.page_to_json`)."""
