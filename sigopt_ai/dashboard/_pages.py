"""The dashboard's routes on the server's application: the three pages and the static files.

A page is the shell with its page and id (see :mod:`._shell`): its data comes from the ``/v1`` API,
which ``app.js`` asks with the same cookie. On the server a page needs a valid token cookie, else the
browser is sent to the login (303); a page of an experiment or run this client cannot see is a 404, as
the API answers. The static files hold no data and need no login.
"""

from __future__ import annotations

import html
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles

from sigopt_ai._models import ExperimentRecord, RunRecord
from sigopt_ai.dashboard._login import LOGIN_PATH, NO_STORE, mount_login
from sigopt_ai.dashboard._shell import STATIC, document, render_page
from sigopt_ai.server._deps import Tenant, request_client, tenant_of

__all__ = ["mount"]

_SUFFIX = " · sigopt-ai"


def mount(app: FastAPI) -> None:
    """Add the dashboard to a server application made by :func:`~sigopt_ai.server.create_app`: the pages
    ``/``, ``/experiments/{id}`` and ``/runs/{id}``, the static files under ``/static``, and, unless the
    application is the local dashboard's, ``/login`` and ``/logout``."""
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")
    for path, route in (("/", experiments_page), ("/experiments/{id}", experiment_page), ("/runs/{id}", run_page)):
        app.add_api_route(path, route, methods=["GET", "HEAD"], include_in_schema=False)
    if not app.state.local:
        mount_login(app)


async def _viewer(request: Request) -> Tenant | None:
    """The tenant of the request's cookie (the local dashboard's own tenant), or None."""
    client = await request_client(request, None)
    return None if client is None else tenant_of(request.app.state, client)


def _to_login(request: Request) -> Response:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{LOGIN_PATH}?next={quote(here, safe='/')}", status_code=303, headers=NO_STORE)


def _page(request: Request, page: str, id: str, title: str) -> HTMLResponse:
    mode = "local" if request.app.state.local else "server"
    return HTMLResponse(render_page(page, id, title + _SUFFIX, mode), headers=NO_STORE)


def _not_found(exc: HTTPException) -> HTMLResponse:
    body = f'<h1>Not found</h1>\n<p>{html.escape(str(exc.detail))}</p>\n<p><a href="/">All experiments</a></p>'
    return HTMLResponse(document("Not found" + _SUFFIX, body), status_code=exc.status_code, headers=NO_STORE)


async def experiments_page(request: Request) -> Response:
    """The experiments of the client (of the store, locally)."""
    if await _viewer(request) is None:
        return _to_login(request)
    return _page(request, "experiments", "", "Experiments")


async def _record_page(request: Request, page: str, id: str) -> Response:
    """The page of one experiment or run (``page``): 404 when this client cannot see it."""
    who = await _viewer(request)
    if who is None:
        return _to_login(request)
    try:
        if page == "experiment":
            record: ExperimentRecord | RunRecord = await run_in_threadpool(who.experiment, id)
        else:
            record = await run_in_threadpool(who.run, id)
    except HTTPException as exc:
        return _not_found(exc)
    return _page(request, page, record.id, record.name or f"Run {record.id}")


async def experiment_page(request: Request, id: str) -> Response:
    """One experiment: 404 when this client cannot see it."""
    return await _record_page(request, "experiment", id)


async def run_page(request: Request, id: str) -> Response:
    """One run: 404 when this client cannot see it."""
    return await _record_page(request, "run", id)
