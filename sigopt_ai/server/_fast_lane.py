"""The fast lane: the official client's ``log_metric`` answered without FastAPI's routing.

Each ``run.log_metric`` of the official ``sigopt`` client is one ``MERGE /v1/training_runs/{id}``
with ``X-Response-Content: skip`` and a body of metric values, so a run's metrics arrive as many small
requests. FastAPI's routing, dependency solving and middleware cost several times what the update
itself costs once it is committed in a group, so this ASGI middleware answers such a request itself
when every condition below holds, and hands anything else to the application unchanged (with the
body it read, replayed):

* the method, path and ``X-Response-Content: skip`` as above, a JSON ``Content-Type`` and a
  ``Content-Length`` under :data:`MAX_FAST_BODY` (the server's body limit applies before this lane);
* an HTTP Basic token that this process already trusts (:mod:`._token_cache`);
* a body that :func:`~sigopt_ai.server._routes.runs.submit_logged_values` takes: metric values alone,
  each valid.

What it answers is what the route would: 204 once the values are stored, or the same error object
(404 for a run that is not the client's, 400 for a record the store refuses, 503 when it fails).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.datastructures import State
from starlette.exceptions import HTTPException

from sigopt_ai._exceptions import SigOptError
from sigopt_ai.server._deps import tenant_of
from sigopt_ai.server._errors import error_body, error_response
from sigopt_ai.server._routes.runs import submit_logged_values
from sigopt_ai.server._token_cache import TokenCache

__all__ = ["MAX_FAST_BODY", "FastLane"]


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_FAST_BODY = 64 * 1024
"""Larger bodies take the full path (and its body limit)."""
_PREFIX = "/v1/training_runs/"
_NO_CONTENT: Message = {"type": "http.response.start", "status": 204, "headers": []}
_EMPTY: Message = {"type": "http.response.body", "body": b""}


class FastLane:
    """ASGI middleware answering the official client's metric MERGEs itself (see the module).

    Args:
        app: The application every other request goes to.
        state: The application's state (its token cache, store and group commit).
    """

    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fast = self._fast(scope)
        if fast is None:
            await self.app(scope, receive, send)
            return
        client, run_id, length = fast
        body, more = await _read(receive, length)
        parsed = None if more or len(body) != length else _json_object(body)
        written = None if parsed is None else submit_logged_values(tenant_of(self.state, client), run_id, parsed)
        if written is None:
            await self.app(scope, _replaying(body, more, receive), send)
            return
        try:
            await written
        except HTTPException as exc:
            headers = dict(exc.headers) if exc.headers else None
            await error_response(exc.status_code, str(exc.detail), headers)(scope, receive, send)
            return
        except SigOptError as exc:
            error = error_body(exc)
            await error_response(error["status"], error["message"])(scope, receive, send)
            return
        await send(_NO_CONTENT)
        await send(_EMPTY)

    def _fast(self, scope: Scope) -> tuple[str, str, int] | None:
        """The client, run id and body length of a request this lane may answer, else None."""
        if scope["type"] != "http" or scope["method"] != "MERGE" or scope.get("root_path"):
            return None
        path: str = scope["path"]
        run_id = path[len(_PREFIX) :]
        if not path.startswith(_PREFIX) or not run_id or "/" in run_id:
            return None
        token = skip = kind = None
        length = -1
        for name, value in scope["headers"]:
            name = name.lower()
            if name == b"authorization":
                token = _basic_user(value)
            elif name == b"x-response-content":
                skip = value.lower() == b"skip"
            elif name == b"content-type":
                kind = value.split(b";", 1)[0].strip().lower()
            elif name == b"content-length":
                length = int(value) if value.isdigit() and len(value) < 10 else -1
        if not skip or kind != b"application/json" or not 0 < length <= MAX_FAST_BODY or token is None:
            return None
        tokens: TokenCache = self.state.tokens
        client = tokens.cached(token)
        return None if client is None else (client, run_id, length)


def _basic_user(header: bytes) -> str | None:
    """The user name of an HTTP Basic ``Authorization`` header, read as FastAPI's ``HTTPBasic`` does."""
    scheme, _, param = header.decode("latin-1").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, separator, _password = base64.b64decode(param.strip()).decode("ascii").partition(":")
    except (ValueError, UnicodeDecodeError, binascii.Error):
        return None
    return user if separator and user else None


async def _read(receive: Receive, length: int) -> tuple[bytes, bool]:
    """The request body as far as it was read, and whether more is to come: it stops past
    ``length`` bytes, and when the client is gone (the application then reads the rest itself)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), True
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = bool(message.get("more_body", False))
        if size > length or not more:
            return b"".join(chunks), more


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _replaying(body: bytes, more: bool, receive: Receive) -> Receive:
    """``receive`` that first gives back the body already read."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": more}

    return replay
