"""The client of an API token: ``GET /v1/tokens/self``, the one request the Backend contract has no call for.

A Connection to a server shows the client's id in its objects (``experiment.client``) as the server
does, and checks ``clients(id)`` paths against it.
"""

from __future__ import annotations

import httpx

from sigopt_ai._exceptions import BackendRejected, TransportError
from sigopt_ai._version import __version__
from sigopt_ai.wire import error_from_json

__all__ = ["token_client"]

_TIMEOUT_S = 30.0


def token_client(url: str, token: str, timeout: float | None = None) -> str:
    """The id of the client that ``token`` belongs to on the server at ``url``.

    Raises:
        TransportError: The server could not be reached within ``timeout`` seconds (default 30).
        SigOptError: The server answered with an error (a bad token is a ConfigError).
    """
    try:
        response = httpx.get(
            f"{url.rstrip('/')}/v1/tokens/self",
            auth=(token, ""),
            headers={"User-Agent": f"sigopt_ai/{__version__}"},
            timeout=_TIMEOUT_S if timeout is None else timeout,
        )
    except httpx.HTTPError as exc:
        raise TransportError(f"GET {url}/v1/tokens/self failed: {exc}") from exc
    try:
        body = response.json()
    except ValueError:
        body = response.text[:500]
    if response.status_code >= 400:
        raise error_from_json(response.status_code, body)
    client = body.get("client") if isinstance(body, dict) else None
    if isinstance(client, bool) or not isinstance(client, (str, int)):
        raise BackendRejected(response.status_code, f"GET /v1/tokens/self gave no client: {body!r:.200}")
    return str(client)
