"""ASGI middleware of the server: the request body limit (413) and ``X-Response-Content: skip`` (204).

Plain ASGI rather than Starlette's ``BaseHTTPMiddleware``, which would copy every response through a
second task: the server's requests are small and many.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["BodyLimit", "SkipResponse"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


class BodyLimit:
    """Answer 413 to a request whose body is larger than ``max_body`` bytes.

    A declared ``Content-Length`` is refused before anything is read; a chunked body is counted as it
    arrives and refused once it passes the limit.
    """

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await self._refuse(send)
            return
        seen = 0
        started = refused = False

        async def counting_receive() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    # Answer now, and tell the app the client left: it stops reading, and whatever
                    # it answers then is dropped below.
                    if not started:
                        await self._refuse(send)
                    refused = True
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counting_receive, tracking_send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {
                "object": "error",
                "message": f"Request body is larger than this server's limit of {self.max_body} bytes.",
                "status": 413,
            }
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class SkipResponse:
    """``X-Response-Content: skip`` (SigOpt's header): a successful response is sent as 204, no body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (_header(scope, b"x-response-content") or b"").lower() != b"skip":
            await self.app(scope, receive, send)
            return
        skipping = False

        async def skipping_send(message: Message) -> None:
            nonlocal skipping
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                skipping = True
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() not in _BODY_HEADERS]
                message = {**message, "status": 204, "headers": headers}
            elif message["type"] == "http.response.body" and skipping:
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        await self.app(scope, receive, skipping_send)


_BODY_HEADERS = frozenset({b"content-length", b"content-type"})
