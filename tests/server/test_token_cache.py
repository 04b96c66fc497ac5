"""Each server process trusts a token it found valid for a few seconds: a revoked token stops working
within that period, and a new one works at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sigopt_ai._exceptions import ConfigError
from sigopt_ai.backends.sql import SQLBackend
from sigopt_ai.backends.sql._migrate import upgrade
from sigopt_ai.server._store import ServerStore
from sigopt_ai.server._token_cache import TOKEN_CACHE_ENV, TokenCache, token_cache_seconds
from tests.live_server import LiveServer

CACHE_SECONDS = 0.5
"""The period of the server under test: short, so that a test waits for it without sleeping long."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = tmp_path_factory.mktemp("token-cache") / "server.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(TOKEN_CACHE_ENV, str(CACHE_SECONDS))
        with LiveServer(str(db)) as live:
            yield live


def _store(server: LiveServer) -> ServerStore:
    return ServerStore(SQLBackend(server.db, upgrade=False))


def _status(server: LiveServer, token: str) -> int:
    return httpx.get(f"{server.url}/v1/tokens/self", auth=(token, "")).status_code


def _merge_status(server: LiveServer, token: str, run_id: str) -> int:
    body = {"values": {"loss": {"value": 1.0}}}
    return httpx.request(
        "MERGE",
        f"{server.url}/v1/training_runs/{run_id}",
        json=body,
        auth=(token, ""),
        headers={"X-Response-Content": "skip"},
    ).status_code


def test_a_revoked_token_is_refused_once_the_cache_period_passed(server: LiveServer) -> None:
    store = _store(server)
    token = store.create_token("alpha")
    with httpx.Client(base_url=f"{server.url}/v1", auth=(token, "")) as api:
        assert api.post("/clients/1/projects", json={"id": "cached"}).status_code == 200
        run_id = api.post("/clients/1/projects/cached/training_runs", json={"name": "r"}).json()["id"]
    assert _merge_status(server, token, run_id) == 204  # the token is trusted by the server now
    assert store.revoke_token(token)
    time.sleep(CACHE_SECONDS + 0.2)
    assert _merge_status(server, token, run_id) == 401  # the fast lane of log_metric too
    assert _status(server, token) == 401
    assert _status(server, server.token) == 200


def test_a_new_token_works_at_once(server: LiveServer) -> None:
    store = _store(server)
    assert _status(server, "not-a-token-yet") == 401  # a refusal is not remembered
    assert _status(server, store.create_token("alpha")) == 200


def test_within_the_period_the_store_is_not_asked_again(tmp_path: Path) -> None:
    db = str(tmp_path / "tokens.db")
    upgrade(db)
    store = ServerStore(SQLBackend(db, upgrade=False))
    token = store.create_token("beta")
    asked: list[str] = []

    def lookup(text: str) -> str | None:
        asked.append(text)
        return store.authenticate(text)

    cache = TokenCache(lookup, seconds=60)
    assert cache.authenticate(token) == "1"
    store.revoke_token(token)
    assert cache.authenticate(token) == "1"  # trusted for the period: the documented delay
    assert cache.authenticate(token + "x") is None
    assert cache.authenticate(token + "x") is None
    assert asked == [token, token + "x", token + "x"]  # unknown tokens are asked every time

    uncached = TokenCache(store.authenticate, seconds=0)
    assert uncached.authenticate(token) is None  # 0: every request asks the store


@pytest.mark.parametrize("text", ["soon", "-1", "nan"])
def test_a_bad_cache_period_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv(TOKEN_CACHE_ENV, text)
    with pytest.raises(ConfigError, match=TOKEN_CACHE_ENV):
        token_cache_seconds()
