"""The request's tenant: which client its token belongs to, and that client's view of the store.

Every route depends on :func:`tenant`. A token sees only its own client's objects: store projects
are namespaced ``c{client}.{project}``, and an id of another client's run or experiment is answered
exactly as a missing one (404), so ids cannot be probed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from sigopt_ai._config import check_project
from sigopt_ai._exceptions import StoreError, ValidationError
from sigopt_ai._models import ExperimentRecord, Op, RunRecord
from sigopt_ai.backends import Backend
from sigopt_ai.backends._dead_letters import causes
from sigopt_ai.server._commit import GroupCommit
from sigopt_ai.server._op_checks import check_ops
from sigopt_ai.server._store import ServerStore
from sigopt_ai.server._token_cache import TokenCache

__all__ = [
    "COOKIE",
    "COOKIE_WRITE",
    "LOCAL_CLIENT",
    "SAFE_METHODS",
    "UNAUTHENTICATED",
    "Tenant",
    "authenticated",
    "not_found",
    "request_client",
    "request_token",
    "tenant",
    "tenant_of",
]

MAX_PROJECT_LENGTH = 100
"""The store's limit on a project id, namespace included."""

UNAUTHENTICATED = "Missing or invalid API token: send it as the user name of HTTP Basic authentication."
COOKIE_WRITE = (
    "The dashboard's cookie authorises only GET and HEAD: send the API token as the user name of HTTP Basic "
    "authentication to write."
)
_basic = HTTPBasic(auto_error=False, description="The API token as the user name, an empty password.")
COOKIE = "sigopt_ai_token"
"""The cookie the dashboard's ``/login`` sets: the API token, HttpOnly and SameSite=Strict."""
SAFE_METHODS = frozenset({"GET", "HEAD"})
"""The methods a cookie may authorise: a cookie never authorises a write, so no other site's page can make
one (no CSRF), whatever the browser does with SameSite."""
LOCAL_CLIENT = "local"
"""The client id of every request to a local dashboard (``sigopt-ai dashboard``), which has no tokens."""


def not_found(kind: str, id: str) -> HTTPException:
    """The 404 for an id that names nothing this client can see: ``No <kind> with id <id>.``"""
    return HTTPException(status_code=404, detail=f"No {kind} with id {id}.")


@dataclass(frozen=True)
class Tenant:
    """One authenticated request's client, with the server's store.

    Attributes:
        client: The id of the token's client, such as ``"1"``.
        backend: The server's store (built not to create or upgrade its schema).
        store: Clients, tokens and projects.
        commit: The process's group commit, which run updates go through (see :mod:`._commit`).
        local: The one tenant of a local dashboard: it sees every project of the store, unprefixed.
    """

    client: str
    backend: Backend
    store: ServerStore
    commit: GroupCommit
    local: bool = False

    @property
    def namespace(self) -> str:
        """The prefix of this client's projects in the store (none for the local tenant)."""
        return "" if self.local else f"c{self.client}."

    def stored_project(self, project: str) -> str:
        """The store's id of the user's ``project``.

        Raises:
            ValidationError: ``project`` is not a valid project id, or too long once namespaced.
        """
        check_project(project)
        stored = self.namespace + project
        if len(stored) > MAX_PROJECT_LENGTH:
            limit = MAX_PROJECT_LENGTH - len(self.namespace)
            raise ValidationError(f"project must be at most {limit} characters on this server, got {len(project)}.")
        return stored

    def user_project(self, stored: str) -> str:
        """The user's id of a store project of this client (the inverse of :meth:`stored_project`)."""
        return stored[len(self.namespace) :] if stored.startswith(self.namespace) else stored

    def owns(self, stored_project: str) -> bool:
        """Whether a store project belongs to this client."""
        return stored_project.startswith(self.namespace)

    def write(self, ops: Sequence[Op], *, key: str | None = None) -> None:
        """Apply write operations, checked by the SDK's rules first; a record the store cannot hold
        is bad input, not a store failure.

        Raises:
            ValidationError: A value breaks the SDK's rules, or the store rejected a record (the
                client's writer sets it aside).
            StoreError: The store failed; retrying may help.
        """
        check_ops(ops)
        try:
            self.backend.write(ops, key=key)
        except StoreError as exc:
            if not self.backend.rejects(exc):
                raise
            # The database's own words, not the store's message, which names the store (its URL).
            root = list(causes(exc))[-1]
            reason = (str(root).splitlines() or [""])[0][:300]
            raise ValidationError(f"ops: the store rejected a record: {type(root).__name__}: {reason}") from exc

    def check_client(self, client_id: str) -> None:
        """Refuse a ``/clients/{client_id}/...`` path of another client as if it did not exist.

        Raises:
            HTTPException: 404, when ``client_id`` is not this tenant's client.
        """
        if client_id != self.client:
            raise not_found("client", client_id)

    def run(self, run_id: str) -> RunRecord:
        """The run with this id if this client owns it.

        Raises:
            HTTPException: 404, when there is none or another client's.
        """
        run = self.backend.read_run(run_id)
        if run is None or not self.owns(run.project):
            raise not_found("training run", run_id)
        return run

    def experiment(self, experiment_id: str) -> ExperimentRecord:
        """The experiment with this id if this client owns it.

        Raises:
            HTTPException: 404, when there is none or another client's.
        """
        experiment = self.backend.get_experiment(experiment_id)
        if experiment is None or not self.owns(experiment.project):
            raise not_found("experiment", experiment_id)
        return experiment


def request_token(request: Request, credentials: HTTPBasicCredentials | None) -> str | None:
    """The request's API token: HTTP Basic's user name, else the dashboard's cookie for GET and HEAD."""
    if credentials and credentials.username:
        return credentials.username
    return request.cookies.get(COOKIE) if request.method in SAFE_METHODS else None


async def request_client(request: Request, credentials: HTTPBasicCredentials | None) -> str | None:
    """The token's client: the local dashboard's own; else from the process's token cache when it is
    there (no thread, no store transaction), else from the store in a thread of the pool."""
    if getattr(request.app.state, "local", False):
        return LOCAL_CLIENT
    token = request_token(request, credentials)
    if not token:
        return None
    tokens: TokenCache = request.app.state.tokens
    client = tokens.cached(token)
    return client if client is not None else await run_in_threadpool(tokens.authenticate, token)


async def authenticated(request: Request) -> bool:
    """Whether the request carries a valid token (for answers given before :func:`tenant` runs)."""
    try:
        credentials = await _basic(request)
    except HTTPException:
        return False
    return await request_client(request, credentials) is not None


async def tenant(request: Request, credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)]) -> Tenant:
    """The FastAPI dependency of every route: the tenant of the request's token.

    Raises:
        HTTPException: 401, when the token is missing, unknown or revoked; 403 for a write that only
            the dashboard's cookie would authorise.
    """
    client = await request_client(request, credentials)
    if client is None:
        # A request with the dashboard's cookie comes from its pages in a browser: no WWW-Authenticate,
        # which would make the browser prompt for a user name and password (the page goes to /login).
        browser = COOKIE in request.cookies
        if browser and request.method not in SAFE_METHODS:
            raise HTTPException(status_code=403, detail=COOKIE_WRITE)
        headers = None if browser else {"WWW-Authenticate": "Basic"}
        raise HTTPException(status_code=401, detail=UNAUTHENTICATED, headers=headers)
    return tenant_of(request.app.state, client)


def tenant_of(state: State, client: str) -> Tenant:
    """The tenant of an authenticated ``client`` in the application whose state is ``state``."""
    local = getattr(state, "local", False)
    return Tenant(client=client, backend=state.backend, store=state.store, commit=state.commit, local=local)
