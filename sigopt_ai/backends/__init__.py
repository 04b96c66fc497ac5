"""Stores of runs and experiments behind one contract, :class:`Backend`, built from a URL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sigopt_ai import _config
from sigopt_ai._exceptions import ConfigError
from sigopt_ai.backends._base import Backend

if TYPE_CHECKING:
    from sigopt_ai.optimizer import SuggestionService

__all__ = ["Backend", "make_backend"]


def make_backend(url: str, *, service: SuggestionService | None = None, upgrade: bool = True) -> Backend:
    """The store at ``url``: a SQLite file path, a SQLAlchemy URL (``postgresql+psycopg://...``), or a
    SigOpt REST server's ``http(s)://`` URL (with the API token of the settings).

    Nothing is opened yet: the store is created or connected on first use.

    Args:
        url: Where the store is.
        service: Makes the experiments' suggestions, where the store is (default: a new one). A
            server makes its own: this must be None for an ``http(s)://`` URL.
        upgrade: Create or upgrade a SQL store's schema on first use (False: refuse one not current).

    Raises:
        ConfigError: ``url`` names a kind of store this version cannot open, or a server without an
            API token (``SIGOPT_API_TOKEN``), or a service is given for a server.
    """
    if url.startswith(("http://", "https://")):
        if service is not None:
            raise ConfigError(f"{url!r} is a SigOpt server: it makes the suggestions, no service can be given.")
        # httpx and tenacity load here, with the first backend of a server, not at `import sigopt_ai`.
        from sigopt_ai.backends.http import HTTPBackend

        return HTTPBackend(url, _config.current().resolved_api_token())
    # The store's driver loads here, with the first backend, not at `import sigopt_ai`.
    from sigopt_ai.backends.sql import SQLBackend

    return SQLBackend(url, service=service, upgrade=upgrade)
