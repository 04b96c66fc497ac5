"""``GET /v1/tokens/self``: the request's token, which the official client asks for its client id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from sigopt_ai.server._deps import Tenant, tenant
from sigopt_ai.server._routes import reply

router = APIRouter()


@router.get("/tokens/self")
def token_self(who: Annotated[Tenant, Depends(tenant)]) -> JSONResponse:
    """The token's ``token`` object: its client (the token itself is not echoed)."""
    return reply(
        {
            "object": "token",
            "client": who.client,
            "user": None,
            "development": False,
            "all_experiments": True,
            "experiment": None,
            "expires": None,
            "token": None,
            "token_type": "client-api",
            "permissions": None,
        }
    )
