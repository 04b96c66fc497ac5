"""Real ``sigopt-ai server`` subprocesses for the server tests: on SQLite, and on PostgreSQL.

The servers are module-scoped: starting one costs about a second, and the tests of a module share it
(each makes its own projects and runs, so they do not disturb each other). A test that kills or
stops its server makes its own :class:`~tests.live_server.LiveServer`.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.backends.conftest import create_database, postgres_server, postgres_url
from tests.live_server import LiveServer

__all__ = ["api", "cid", "live_server", "live_server_pg", "postgres_server", "postgres_url"]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server over a fresh SQLite store, shared by the tests of a module."""
    db = tmp_path_factory.mktemp("live") / "server.db"
    with LiveServer(str(db)) as server:
        yield server


@pytest.fixture(scope="module")
def live_server_pg(postgres_server: str) -> Iterator[LiveServer]:
    """A server over a fresh PostgreSQL database, shared by the tests of a module."""
    with LiveServer(create_database(postgres_server)) as server:
        yield server


@pytest.fixture
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    """An httpx client of ``live_server``'s v1 API, with the token of client ``alpha``."""
    with httpx.Client(base_url=live_server.url + "/v1", auth=(live_server.token, ""), timeout=60) as client:
        yield client


@pytest.fixture
def cid(api: httpx.Client) -> str:
    """The id of the client whose token ``api`` carries."""
    return str(api.get("/tokens/self").json()["client"])
