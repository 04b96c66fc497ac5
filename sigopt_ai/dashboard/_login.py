"""``/login`` and ``/logout`` of the server's dashboard: the API token entered once, kept in a cookie.

The cookie (:data:`~sigopt_ai.server._deps.COOKIE`) is HttpOnly (no script reads it), SameSite=Strict (no
other site's page sends it), ``Secure`` when the request came over https, and it authorises only GET and
HEAD of the API (see :func:`~sigopt_ai.server._deps.request_token`). After a login the browser goes to
``next`` only when it is a path of this server: never to another site (no open redirect). A form
posted from another site's page is refused (403), so no site can log a browser in as someone else's
client, nor out.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from sigopt_ai.dashboard._shell import document
from sigopt_ai.server._deps import COOKIE
from sigopt_ai.server._token_cache import TokenCache

__all__ = ["COOKIE_MAX_AGE", "LOGIN_PATH", "login_form", "mount_login", "safe_next"]

LOGIN_PATH = "/login"
COOKIE_MAX_AGE = 30 * 24 * 3600
"""Seconds the browser keeps the token: entered once a month at most (a revoked token stops working at
once all the same: the server checks it on every request)."""
NO_STORE = {"Cache-Control": "no-store"}
"""The pages are answers to one client: no cache keeps them."""


def safe_next(value: str | None) -> str:
    """Where to go after the login: ``value`` when it is a path of this server, else ``/``.

    A path starts with one ``/``; ``//host`` and ``/\\host`` (which browsers read as ``//host``) name
    another site, and control characters have no place in a path.

    Example:
        >>> safe_next("/experiments/3?x=1"), safe_next("//evil.example"), safe_next("https://evil.example")
        ('/experiments/3?x=1', '/', '/')
    """
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        return "/"
    return value


def login_form(next_path: str, message: str | None = None) -> str:
    """The login page: a token field posting to ``/login``, with ``message`` (text) above it."""
    error = f'<p class="error" role="alert">{html.escape(message)}</p>\n' if message else ""
    return document(
        "Log in · sigopt-ai",
        '<section class="login">\n<h1>Log in</h1>\n'
        f"{error}"
        f'<form method="post" action="{LOGIN_PATH}">\n'
        f'<input type="hidden" name="next" value="{html.escape(safe_next(next_path))}">\n'
        # A password form wants a user name (Chrome says so in the console): the token has none.
        '<input type="text" name="username" autocomplete="username" value="sigopt-ai" hidden>\n'
        '<label for="token">API token</label>\n'
        '<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>\n'
        '<button type="submit">Log in</button>\n</form>\n'
        "<p>A token of your client, as <code>sigopt-ai token create --client NAME</code> prints it.</p>\n"
        "</section>",
    )


async def login_page(request: Request) -> HTMLResponse:
    """The login form; ``?next=`` is where to go after it."""
    return HTMLResponse(login_form(request.query_params.get("next", "/")), headers=NO_STORE)


def _cross_site(request: Request) -> Response | None:
    """403 for a form another site's page posted: the browser says so in ``Sec-Fetch-Site`` (or,
    before it had that header, in an ``Origin`` that is not this server's)."""
    site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    if site is not None:
        foreign = site not in ("same-origin", "none")
    else:
        foreign = origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}"
    if not foreign:
        return None
    body = "<h1>Refused</h1>\n<p>This form was sent from another site's page.</p>"
    return HTMLResponse(document("Refused · sigopt-ai", body), status_code=403, headers=NO_STORE)


async def login(request: Request) -> Response:
    """Check the form's token with the store: a valid one is set as the cookie and the browser goes
    to ``next`` (303); another gets the form again, 401, with a message; a form from another site, 403."""
    refused = _cross_site(request)
    if refused is not None:
        return refused
    form = parse_qs((await request.body()).decode("ascii", "replace"), keep_blank_values=True)
    token = (form.get("token") or [""])[0].strip()
    next_path = safe_next((form.get("next") or ["/"])[0])
    tokens: TokenCache = request.app.state.tokens
    client = await run_in_threadpool(tokens.authenticate, token) if token else None
    if client is None:
        message = "token: this is not a valid API token of this server (unknown or revoked)."
        if not token:
            message = "token: enter an API token of this server."
        return HTMLResponse(login_form(next_path, message), status_code=401, headers=NO_STORE)
    response = RedirectResponse(next_path, status_code=303, headers=NO_STORE)
    response.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_MAX_AGE,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


async def logout(request: Request) -> Response:
    """Forget the cookie; the browser goes to the login form (303); a form from another site, 403."""
    refused = _cross_site(request)
    if refused is not None:
        return refused
    response = RedirectResponse(LOGIN_PATH, status_code=303, headers=NO_STORE)
    response.delete_cookie(COOKIE, path="/", secure=request.url.scheme == "https", httponly=True, samesite="strict")
    return response


def mount_login(app: FastAPI) -> None:
    """Add ``GET``/``POST /login`` and ``POST /logout`` to ``app``."""
    app.add_api_route(LOGIN_PATH, login_page, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_api_route(LOGIN_PATH, login, methods=["POST"], include_in_schema=False)
    app.add_api_route("/logout", logout, methods=["POST"], include_in_schema=False)
