"""Stores of runs and experiments behind one contract, :class:`Backend`, built from a URL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sigopt_ai._exceptions import ConfigError
from sigopt_ai.backends._base import Backend

if TYPE_CHECKING:
    from sigopt_ai.optimizer import SuggestionService

__all__ = ["Backend", "make_backend"]


def make_backend(url: str, *, service: SuggestionService | None = None) -> Backend:
    """The store at ``url``: a SQLite file path or a SQLAlchemy URL (``postgresql+psycopg://...``).

    Nothing is opened yet: the store is created or connected on first use.

    Args:
        url: Where the store is.
        service: Makes the experiments' suggestions, where the store is (default: a new one).

    Raises:
        ConfigError: ``url`` names a kind of store this version cannot open.
    """
    if url.startswith(("http://", "https://")):
        raise ConfigError(f"{url!r} is a SigOpt REST server; this version stores in SQLite or PostgreSQL only.")
    # The store's driver loads here, with the first backend, not at `import sigopt_ai`.
    from sigopt_ai.backends.sql import SQLBackend

    return SQLBackend(url, service=service)
