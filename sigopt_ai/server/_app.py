"""The server's ASGI application: FastAPI routes under ``/v1`` over one store."""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from sigopt_ai._exceptions import ConfigError
from sigopt_ai.backends.sql import SQLBackend
from sigopt_ai.backends.sql._engine import sqlite_file
from sigopt_ai.server._commit import GroupCommit
from sigopt_ai.server._deps import not_found
from sigopt_ai.server._errors import RESPONSES, install_error_handlers
from sigopt_ai.server._fast_lane import FastLane
from sigopt_ai.server._middleware import BodyLimit, ReadOnly, SecurityHeaders, SkipResponse
from sigopt_ai.server._routes import (
    aiexperiments,
    analysis,
    batches,
    clients,
    experiments,
    files,
    observations,
    runs,
    suggestions,
    tokens,
)
from sigopt_ai.server._store import ServerStore
from sigopt_ai.server._token_cache import TokenCache, token_cache_seconds
from sigopt_ai.server._turns import Turns, no_turns

__all__ = ["DB_ENV", "MAX_BODY", "MAX_BODY_ENV", "app_from_env", "create_app", "open_backend"]

MAX_BODY = 8 * 1024 * 1024
"""The default limit on a request body, in bytes."""
DB_ENV = "SIGOPT_AI_SERVER_DB"
"""Where a worker started by uvicorn's factory finds the store."""
MAX_BODY_ENV = "SIGOPT_AI_SERVER_MAX_BODY"
"""And its body limit."""


def open_backend(db_url: str) -> SQLBackend:
    """The server's store, which must be at the migration head already: a server never changes a
    schema that other servers and SDKs share.

    Raises:
        ConfigError: The store is not at the head (the message says what to run).
    """
    backend = SQLBackend(db_url, upgrade=False)
    ServerStore(backend).check()
    return backend


def create_app(
    db_url: str,
    *,
    max_body: int = MAX_BODY,
    token_cache: float | None = None,
    local: bool = False,
    pages: Callable[[FastAPI], None] | None = None,
) -> FastAPI:
    """The SigOpt v1 REST application over the store at ``db_url``.

    Args:
        db_url: A SQLite path or SQLAlchemy URL, as ``make_backend`` takes.
        max_body: Request bodies larger than this many bytes are refused with 413.
        token_cache: Seconds a process trusts a token it found valid, the longest a revoked token
            still works (default: ``SIGOPT_AI_SERVER_TOKEN_CACHE``, else 5; see :mod:`._token_cache`).
        local: The local dashboard's application (``sigopt-ai dashboard``): no tokens, every request
            sees every project of the store, and any method but GET and HEAD is refused with 405.
        pages: Adds routes outside ``/v1`` (``sigopt_ai.dashboard.mount``: the dashboard's pages under
            ``/``); it is handed in because the dashboard sits above the server and imports it.

    Example:
        >>> app = create_app("runs.db", local=True, pages=sigopt_ai.dashboard.mount)  # doctest: +SKIP

    Raises:
        ConfigError: The store is not at the migration head, or ``SIGOPT_AI_SERVER_TOKEN_CACHE`` is bad.
    """
    seconds = token_cache_seconds() if token_cache is None else token_cache
    backend = open_backend(db_url)  # before any route exists: a store not at the head refuses here
    store = ServerStore(backend)
    store_file = sqlite_file(backend.engine)
    commit = GroupCommit(
        backend,
        store.apply_run_updates,
        lambda run_id: not_found("training run", run_id),
        turns=no_turns if store_file is None else Turns(store_file),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Suggestions and the dashboard's failure map fit the optimizer's models: a thread pays for
        # importing numpy and scipy (~0.6 s) while the server waits for its first request, not inside it.
        # (The package itself is light: its strategies load on first use, hence the module by name.)
        threading.Thread(target=importlib.import_module, args=("sigopt_ai.optimizer._optimizer",), daemon=True).start()
        yield
        commit.close()
        backend.close()

    app = FastAPI(
        title="sigopt-ai server",
        description="The SigOpt v1 REST API over a sigopt-ai store.",
        lifespan=lifespan,
    )
    app.state.backend = backend
    app.state.store = store
    app.state.tokens = TokenCache(store.authenticate, seconds)
    app.state.commit = commit
    app.state.local = local
    install_error_handlers(app)
    areas = (tokens, clients, runs, files, batches, experiments, suggestions, observations, aiexperiments, analysis)
    for area in areas:
        router: APIRouter = area.router
        app.include_router(router, prefix="/v1", responses=RESPONSES)
    if pages is not None:
        pages(app)
    # Innermost first. The security headers are inside the fast lane, which answers only the API's
    # metric updates; the read-only rule is outside everything, the fast lane included.
    app.add_middleware(SecurityHeaders)
    app.add_middleware(FastLane, state=app.state)  # the body limit applies to it too
    app.add_middleware(SkipResponse)
    app.add_middleware(BodyLimit, max_body=max_body)
    if local:
        app.add_middleware(ReadOnly)
    return app


def app_from_env(pages: Callable[[FastAPI], None] | None = None) -> FastAPI:
    """The application of a uvicorn worker (``--factory``): the store from ``SIGOPT_AI_SERVER_DB``;
    ``pages`` as :func:`create_app` takes it.

    Raises:
        ConfigError: ``SIGOPT_AI_SERVER_DB`` is not set.
    """
    db_url = os.environ.get(DB_ENV)
    if not db_url:
        raise ConfigError(f"{DB_ENV} must name the server's store.")
    return create_app(db_url, max_body=int(os.environ.get(MAX_BODY_ENV, MAX_BODY)), pages=pages)
