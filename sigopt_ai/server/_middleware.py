"""ASGI middleware of the server: the request body limit (413), ``X-Response-Content: skip`` (204), the
local dashboard's read-only rule (405) and the security headers of the dashboard's pages.

Plain ASGI rather than Starlette's ``BaseHTTPMiddleware``, which would copy every response through a
second task: the server's requests are small and many.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["API_HEADERS", "PAGE_HEADERS", "BodyLimit", "ReadOnly", "SecurityHeaders", "SkipResponse"]

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
        await _error(send, 413, f"Request body is larger than this server's limit of {self.max_body} bytes.")


async def _error(send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Answer SigOpt's error object (as :mod:`._errors` does, without the application)."""
    body = json.dumps({"object": "error", "message": message, "status": status}).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": head})
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


class ReadOnly:
    """The local dashboard's rule: any method but GET and HEAD is answered 405, before anything else
    (the fast lane included) sees it. The local dashboard has no token: nothing it serves may write."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD"):
            message = f"{scope['method']} is not allowed: the local dashboard is read-only (GET and HEAD only)."
            await _error(send, 405, message, [(b"allow", b"GET, HEAD")])
            return
        await self.app(scope, receive, send)


PAGE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
        b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
"""The headers of the dashboard's pages and static files: scripts only from the server itself, no
framing, no MIME sniffing, no referrer to other sites."""
API_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'; sandbox"),
    *PAGE_HEADERS[1:],
)
"""The JSON API's: a document opened from it (a user's file, say) runs nothing and loads nothing."""
_DOCS = ("/docs", "/redoc")  # Swagger UI and ReDoc load their scripts from a CDN: a strict CSP breaks them


class SecurityHeaders:
    """Add :data:`API_HEADERS` to the responses under ``/v1/``, :data:`PAGE_HEADERS` to the others
    (the dashboard's pages and static files), but only ``nosniff`` to FastAPI's docs pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope["path"])
        extra = (
            API_HEADERS if path.startswith("/v1/") else PAGE_HEADERS[1:2] if path.startswith(_DOCS) else PAGE_HEADERS
        )

        async def heading_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {extra_name for extra_name, _ in extra}
                kept = [(k, v) for k, v in message.get("headers", ()) if k.lower() not in names]
                message = {**message, "headers": [*kept, *extra]}
            await send(message)

        await self.app(scope, receive, heading_send)
