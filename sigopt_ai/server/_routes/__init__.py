"""The server's routes, one module per area, each with its ``router``; and what they share."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse, Response

__all__ = ["AREAS", "JsonObject", "OptionalJsonObject", "no_content", "page", "reply", "routers"]

JsonObject = Annotated[dict[str, Any], Body(description="A JSON object; our parsers check its fields.")]
"""A request body: any JSON object (anything else is a 400), whose fields the route's parser checks,
so that an error names the field as SigOpt's would."""
OptionalJsonObject = Annotated[dict[str, Any] | None, Body(description="A JSON object, or nothing.")]
"""A request body that may be absent (give the parameter the default None)."""

AREAS = ("tokens", "clients", "runs", "batches", "experiments", "suggestions", "observations", "aiexperiments")
"""The modules of this package that hold routes."""


def routers() -> list[APIRouter]:
    """The router of every area."""
    found = []
    for area in AREAS:
        try:
            module = importlib.import_module(f"{__name__}.{area}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{area}":
                raise
            continue  # TODO(SERVER-CORE): strict once every area has landed
        found.append(module.router)
    return found


def reply(obj: Mapping[str, Any], status: int = 200) -> JSONResponse:
    """A JSON object as the response, as it is (the wire functions made it JSON already)."""
    return JSONResponse(obj, status)


def no_content() -> Response:
    """204, no body."""
    return Response(status_code=204)


def page(items: list[Any], *, before: str | None = None, after: str | None = None) -> dict[str, Any]:
    """SigOpt's ``pagination`` object of ``items``."""
    return {"object": "pagination", "count": len(items), "data": items, "paging": {"before": before, "after": after}}
