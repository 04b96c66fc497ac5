"""``sigopt.Connection``: sigopt-python's core-module API, over this library's stores.

Code written for sigopt-python's core module runs unchanged::

    conn = sigopt.Connection(client_token="...")
    experiment = conn.experiments().create(name="f", parameters=[...], metrics=[...], observation_budget=30)
    suggestion = conn.experiments(experiment.id).suggestions().create()
    conn.experiments(experiment.id).observations().create(suggestion=suggestion.id, values=[...])

A path of resources (``experiments(id).suggestions()``) ends in an endpoint, ``create`` (POST),
``fetch`` (GET), ``update`` (PUT) or ``delete`` (DELETE), whose keyword arguments are the request's
parameters. The request is answered by :mod:`sigopt_ai.connection._routes` over a
:class:`~sigopt_ai.backends.Backend`:

* no API URL and no token given to the Connection: the session's store, the one every other call
  of this library uses (the embedded SQLite file by default, or what :func:`sigopt_ai.configure` and
  the environment name, a server included);
* an API URL or a token (arguments, setters, or ``SIGOPT_API_URL``/``SIGOPT_API_TOKEN`` as
  sigopt-python reads them): the Connection's own HTTP backend for that server. A token with no
  URL anywhere has no server to go to (sigopt-python's hosted one is gone): the session's store
  answers;
* ``driver="lite"`` (sigopt-python's in-process SigOpt Lite): the embedded store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sigopt_ai import _config
from sigopt_ai._checks import describe_value
from sigopt_ai._exceptions import ConfigError, UsageError, ValidationError
from sigopt_ai._objects import ApiObject, Pagination, as_json
from sigopt_ai.backends import Backend, make_backend
from sigopt_ai.connection._routes import ROUTES, CoreApi, RequestConflict, RequestRejected
from sigopt_ai.runs._session import get_session

__all__ = ["BoundResource", "Connection", "Endpoint"]

_METHODS = {"create": "POST", "fetch": "GET", "update": "PUT", "delete": "DELETE"}
_DRIVERS = ("http", "lite")
_PATTERNS = frozenset(pattern for _, pattern in ROUTES)


def _pattern(path: tuple[tuple[str, str | None], ...]) -> tuple[str, ...]:
    return tuple(part for name, id_ in path for part in ((name,) if id_ is None else (name, "{}")))


class Endpoint:
    """One request of a resource path (``conn.experiments(id).fetch``); call it with the parameters."""

    def __init__(self, conn: Connection, method: str, path: tuple[tuple[str, str | None], ...]) -> None:
        self._conn = conn
        self._method = method
        self._path = path

    def __call__(self, **params: Any) -> Any:
        """Send the request: an :class:`~sigopt_ai.ApiObject`, a :class:`~sigopt_ai.Pagination`, or
        None where the server answers 204 (nothing to serve, nothing recorded, a deletion)."""
        body = self._conn.request(self._method, self._path, as_json(params))
        if body is None:
            return None
        if body.get("object") == "pagination":
            return Pagination(body, fetch_page=self, params=params)
        return ApiObject(body)

    def __repr__(self) -> str:
        return f"<{self._method} /v1/{'/'.join(_pattern(self._path))}>"


class BoundResource:
    """A resource path (``conn.experiments(id)``): its endpoints and sub-resources are attributes."""

    def __init__(self, conn: Connection, path: tuple[tuple[str, str | None], ...]) -> None:
        self._conn = conn
        self._path = path

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        pattern = _pattern(self._path)
        method = _METHODS.get(name)
        if method is not None and (method, pattern) in ROUTES:
            return Endpoint(self._conn, method, self._path)
        if any(p[: len(pattern) + 1] == (*pattern, name) for p in _PATTERNS):
            return _Resource(self._conn, name, self._path)
        raise AttributeError(
            f"Cannot find attribute {name!r} on resource {self._path[-1][0]!r}: this library has no endpoint "
            f"/v1/{'/'.join(pattern)}/{name}, or {self._path[-1][0]!r} does not support {name!r}."
        )

    def __repr__(self) -> str:
        return f"<resource /v1/{'/'.join(_pattern(self._path))}>"


class _Resource:
    """A resource not yet bound to an id: call it, with an id or without."""

    def __init__(self, conn: Connection, name: str, parent: tuple[tuple[str, str | None], ...] = ()) -> None:
        self._conn = conn
        self._name = name
        self._parent = parent

    def __call__(self, id_: Any = None) -> BoundResource:
        if id_ is not None and (isinstance(id_, bool) or not isinstance(id_, (str, int))):
            raise ValidationError(f"{self._name}: expected an id (a string or an int), got {describe_value(id_)}.")
        return BoundResource(self._conn, (*self._parent, (self._name, None if id_ is None else str(id_))))


class Connection:
    """sigopt-python's ``Connection``: the core-module API (experiments, suggestions, observations).

    Args:
        client_token: An API token. With an API URL (:meth:`set_api_url`, ``api_url``, or
            ``SIGOPT_API_URL``) the Connection talks to that server with it; with none, the session's
            store answers and the token is not needed.
        driver: ``None`` or ``"http"``; ``"lite"`` (sigopt-python's in-process driver) uses the
            embedded store.
        api_url: The server, ``http(s)://host[:port]``.
        timeout: Seconds a request waits for a server that is down before it raises
            :class:`~sigopt_ai.TransportError` (default: the ``server_wait`` setting).

    Raises:
        ConfigError: An unknown driver, or an option this library cannot honour (``proxies``,
            ``session``, ``client_ssl_certs``, ``headers``); the message names it.

    Example:
        >>> conn = sigopt.Connection()
        >>> experiment = conn.experiments().create(
        ...     name="f", parameters=[{"name": "x", "type": "double", "bounds": {"min": 0, "max": 1}}],
        ...     metrics=[{"name": "f"}], observation_budget=10)
        >>> best = conn.experiments(experiment.id).best_assignments().fetch()
    """

    def __init__(
        self,
        client_token: str | None = None,
        driver: str | None = None,
        *,
        api_url: str | None = None,
        timeout: float | None = None,
        proxies: Any = None,
        session: Any = None,
        client_ssl_certs: Any = None,
        headers: Any = None,
        verify_ssl_certs: Any = None,
    ) -> None:
        if driver is not None and driver not in _DRIVERS:
            raise ConfigError(
                f'driver: expected one of {list(_DRIVERS)!r} ("lite" uses the embedded store), got {driver!r}.'
            )
        self._lite = driver == "lite"
        self._token = None if client_token is None else _config.check_api_token(client_token, "client_token")
        self._api_url = None if api_url is None else _config.check_api_url(api_url, "api_url")
        self._timeout: float | None = None
        self._api: CoreApi | None = None
        self._owned: Backend | None = None
        self._client_id: str | None = None
        for name, value in (("session", session), ("headers", headers)):
            if value:
                raise ConfigError(f"{name}: not supported; the HTTP backend makes its own requests.")
        self.set_proxies(proxies)
        self.set_client_ssl_certs(client_ssl_certs)
        if verify_ssl_certs is not None:
            self.set_verify_ssl_certs(verify_ssl_certs)
        if timeout is not None:
            self.set_timeout(timeout)

    # --- sigopt-python's setters
    def set_api_url(self, api_url: str) -> None:
        """Talk to the server at ``api_url`` (with :meth:`set_client_token`'s token, or ``SIGOPT_API_TOKEN``)."""
        self._api_url = _config.check_api_url(api_url, "api_url")
        self._reset()

    def set_client_token(self, client_token: str) -> None:
        """The API token sent to the server."""
        self._token = _config.check_api_token(client_token, "client_token")
        self._reset()

    def set_timeout(self, timeout: float) -> None:
        """Seconds a request waits for a server that is down before it raises (the HTTP backend's
        ``server_wait``; the backend times each attempt itself)."""
        self._timeout = _config.check_server_wait(timeout, "timeout")
        self._reset()

    def set_verify_ssl_certs(self, verify_ssl_certs: Any) -> None:
        """Certificates are always verified; only ``True`` (or a CA bundle path, which
        ``SSL_CERT_FILE`` names for the HTTP backend) is accepted.

        Raises:
            ConfigError: ``verify_ssl_certs`` is False.
        """
        if verify_ssl_certs is False:
            raise ConfigError(
                "verify_ssl_certs: False is not supported; the HTTP backend always verifies the server's "
                "certificate (point SSL_CERT_FILE at the CA bundle of a self-signed server)."
            )

    def set_proxies(self, proxies: Any) -> None:
        """Proxies come from the environment (``HTTPS_PROXY``, ``HTTP_PROXY``, ``NO_PROXY``).

        Raises:
            ConfigError: ``proxies`` is not empty.
        """
        if proxies:
            raise ConfigError("proxies: not supported here; set HTTPS_PROXY/HTTP_PROXY in the environment instead.")

    def set_client_ssl_certs(self, client_ssl_certs: Any) -> None:
        """Client certificates are not supported.

        Raises:
            ConfigError: ``client_ssl_certs`` is given.
        """
        if client_ssl_certs:
            raise ConfigError("client_ssl_certs: client certificates are not supported by the HTTP backend.")

    # --- resources
    @property
    def experiments(self) -> Callable[..., BoundResource]:
        """``conn.experiments()`` (create, list) and ``conn.experiments(id)`` (fetch, update, delete,
        ``suggestions()``, ``observations()``, ``best_assignments()``)."""
        return _Resource(self, "experiments")

    @property
    def aiexperiments(self) -> Callable[..., BoundResource]:
        """``conn.aiexperiments(id).fetch()``: an experiment as SigOpt's AI experiment."""
        return _Resource(self, "aiexperiments")

    @property
    def clients(self) -> Callable[..., BoundResource]:
        """``conn.clients(id).experiments()``: create and list in the token's client."""
        return _Resource(self, "clients")

    @property
    def tokens(self) -> Callable[..., BoundResource]:
        """``conn.tokens("self").fetch()``: the token's client."""
        return _Resource(self, "tokens")

    # --- requests
    def request(self, method: str, path: tuple[tuple[str, str | None], ...], params: dict[str, Any]) -> Any:
        """Answer one request as the server would: its JSON, or None for the server's 204.

        Raises:
            RequestRejected: Bad input (400, the message names the field) or an unknown id (404).
            RequestConflict: The request does not fit the state of what it names (409).
            TransportError: A server that stayed unreachable.
        """
        pattern = _pattern(path)
        handler = ROUTES.get((method, pattern))
        if handler is None:
            raise UsageError(f"{method} /v1/{'/'.join(pattern)} is not an endpoint of this library's core API.")
        ids = [id_ for _, id_ in path if id_ is not None]
        try:
            return handler(self._core(), ids, dict(params))
        except RequestRejected:
            raise
        except ValidationError as exc:
            raise RequestRejected(str(exc)) from None
        except UsageError as exc:
            raise RequestConflict(str(exc)) from None

    def _core(self) -> CoreApi:
        if self._api is None:
            backend, client = self._backend()
            self._api = CoreApi(backend, client)
        return self._api

    def _backend(self) -> tuple[Backend, Callable[[], str | None]]:
        """The store that answers, and how to learn the client its objects belong to."""
        settings = _config.current()
        if self._lite:
            if settings.resolved_api_url() is None:
                return get_session().backend, _no_client
            self._owned = make_backend(settings.resolved_local_db())
            return self._owned, _no_client
        # A token alone goes to the configured server (SIGOPT_API_URL), else to the session's store.
        url = self._api_url or (settings.resolved_api_url() if self._token is not None else None)
        if url is None:
            session_url = settings.resolved_api_url()
            if session_url is None:
                return get_session().backend, _no_client
            return get_session().backend, self._client_of(session_url, settings.resolved_api_token())
        token = self._token if self._token is not None else settings.resolved_api_token()
        # httpx loads here, with a Connection to a server, not at `import sigopt_ai`.
        from sigopt_ai.backends.http import HTTPBackend

        self._owned = HTTPBackend(url, token, server_wait=self._timeout)
        return self._owned, self._client_of(url, token)

    def _client_of(self, url: str, token: str) -> Callable[[], str | None]:
        def client() -> str | None:
            if self._client_id is None:
                from sigopt_ai.connection._token import token_client

                self._client_id = token_client(url, token, self._timeout)
            return self._client_id

        return client

    def _reset(self) -> None:
        """Forget the store chosen so far: the next request picks one by the new settings."""
        self.close()
        self._api = None
        self._client_id = None

    def close(self) -> None:
        """Close the Connection's own HTTP backend, if it made one (the session's store stays open)."""
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self._api_url or ("the embedded store" if self._lite else "the session's store")
        return f"Connection({where})"


def _no_client() -> str | None:
    return None
