"""``GET /v1/tokens/self``: the request's token, which the official client asks for its client id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from sigopt_ai.server._deps import Tenant, tenant
from sigopt_ai.server._routes import reply
from sigopt_ai.wire._core import token_json

router = APIRouter()


@router.get("/tokens/self")
def token_self(who: Annotated[Tenant, Depends(tenant)]) -> JSONResponse:
    """The token's ``token`` object: its client (the token itself is not echoed)."""
    return reply(token_json(who.client))
