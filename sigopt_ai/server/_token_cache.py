"""Valid API tokens remembered for a few seconds in each server process.

Every request carries its token, and looking it up is a store transaction: more than the rest of a
metric update costs once updates are committed in groups. A token found valid is trusted for
:data:`TOKEN_CACHE_SECONDS` without asking the store again, so **a revoked token stops working within
that many seconds** (``SIGOPT_AI_SERVER_TOKEN_CACHE`` sets it; 0 looks every token up each time).
Unknown and revoked tokens are never remembered: a new token works at once.

Entries are keyed by the token's SHA-256, like the store's rows, and a hit is confirmed with
:func:`hmac.compare_digest`, as the store's lookup is.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from sigopt_ai._exceptions import ConfigError
from sigopt_ai.server._store import token_hash

__all__ = ["TOKEN_CACHE_ENV", "TOKEN_CACHE_SECONDS", "TokenCache", "token_cache_seconds"]

TOKEN_CACHE_SECONDS = 5.0
"""How long a server process trusts a token it found valid: the longest a revoked one still works."""
TOKEN_CACHE_ENV = "SIGOPT_AI_SERVER_TOKEN_CACHE"
"""Overrides :data:`TOKEN_CACHE_SECONDS` (seconds, 0 or more)."""
MAX_TOKENS = 10_000
"""Tokens remembered at most; the least recently used go first."""


def token_cache_seconds() -> float:
    """The cache period: ``SIGOPT_AI_SERVER_TOKEN_CACHE`` when set, else :data:`TOKEN_CACHE_SECONDS`.

    Raises:
        ConfigError: The variable is not a number of seconds >= 0.
    """
    text = os.environ.get(TOKEN_CACHE_ENV, "").strip()
    if not text:
        return TOKEN_CACHE_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also refuses NaN
        raise ConfigError(f"{TOKEN_CACHE_ENV} must be a number of seconds >= 0, got {text!r}.")
    return seconds


class TokenCache:
    """Which client a token belongs to, remembered for ``seconds`` after the store said it is valid.

    Args:
        lookup: The store's answer for a token: its client's id, or None if unknown or revoked.
        seconds: How long a valid token is trusted without asking the store.
        size: Tokens remembered at most.
    """

    def __init__(
        self, lookup: Callable[[str], str | None], seconds: float = TOKEN_CACHE_SECONDS, *, size: int = MAX_TOKENS
    ) -> None:
        self._lookup = lookup
        self.seconds = seconds
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[str, str, float]] = OrderedDict()  # hash -> (hash, client, until)

    def cached(self, token: str) -> str | None:
        """The client of ``token`` if it was found valid less than ``seconds`` ago, else None."""
        digest = token_hash(token)
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            stored, client, until = entry
            if time.monotonic() >= until:
                del self._entries[digest]
                return None
            self._entries.move_to_end(digest)
        return client if hmac.compare_digest(stored, digest) else None

    def authenticate(self, token: str) -> str | None:
        """The client of a valid token (remembered, or asked of the store), or None. Blocks on the
        store when the token is not remembered."""
        client = self.cached(token)
        if client is not None:
            return client
        client = self._lookup(token)
        if client is not None and self.seconds > 0:
            digest = token_hash(token)
            with self._lock:
                self._entries[digest] = (digest, client, time.monotonic() + self.seconds)
                self._entries.move_to_end(digest)
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
        return client
