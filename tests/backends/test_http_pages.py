"""Lists over HTTP hold every item, past the 1,000 that a SigOpt page holds when no ``limit`` is asked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy

from sigopt_ai._models import ExperimentRecord
from sigopt_ai.backends import Backend, make_backend
from sigopt_ai.backends.http import HTTPBackend
from sigopt_ai.backends.sql._schema import suggestions
from sigopt_ai.experiments._parse import parse_experiment
from tests.live_server import LiveServer

PAGE = 1000  # the server's page when a request names no limit (SigOpt's default and maximum)
DEFINITION = parse_experiment(
    {
        "name": "pages",
        "parameters": [{"name": "x", "type": "double", "bounds": {"min": 0, "max": 1}}],
        "metrics": [{"name": "y", "objective": "minimize"}],
        "type": "random",
    }
).to_json()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(str(tmp_path_factory.mktemp("pages") / "server.db")) as live:
        yield live


@pytest.fixture
def client(server: LiveServer, tmp_path: Path) -> Iterator[HTTPBackend]:
    backend = HTTPBackend(server.url, server.token, journal=tmp_path / "spool.db")
    yield backend
    backend.close()


@pytest.fixture
def server_store(server: LiveServer) -> Iterator[Backend]:
    """The server's own store, to fill faster than a request per item would."""
    store = make_backend(server.db)
    yield store
    store.close()


def stored_project(server: LiveServer, project: str) -> str:
    """The store's name of the token's ``project`` (the server namespaces projects by client)."""
    client = httpx.get(f"{server.url}/v1/tokens/self", auth=(server.token, "")).json()["client"]
    return f"c{client}.{project}"


def create_experiment(store: Backend, project: str) -> ExperimentRecord:
    """An experiment made in the server's store, in its ``project`` (as the store names it)."""
    return store.create_experiment(project=project, name="pages", definition=DEFINITION, seed=1, lease_timeout=60)


def test_every_experiment_is_listed_past_one_page(
    server: LiveServer, client: HTTPBackend, server_store: Backend
) -> None:
    project = stored_project(server, "many")
    made = [create_experiment(server_store, project) for _ in range(PAGE + 2)]
    listed = client.list_experiments(project="many")
    assert len(listed) == PAGE + 2 and {e.id for e in listed} == {e.id for e in made}
    assert len(client.list_experiments(project="many", limit=3)) == 3


def test_every_open_suggestion_is_listed_past_one_page(
    server: LiveServer, client: HTTPBackend, server_store: Backend
) -> None:
    experiment = create_experiment(server_store, stored_project(server, "open"))
    first = server_store.serve_suggestion(experiment.id, run_id=None)
    assert first is not None
    # More open suggestions like the first, in one transaction (serving each would take seconds).
    engine = sqlalchemy.create_engine(f"sqlite:///{server.db}")
    with engine.begin() as conn:
        row = conn.execute(sqlalchemy.select(suggestions).where(suggestions.c.id == int(first.id))).one()
        copy = {k: v for k, v in row._mapping.items() if k != "id"}
        conn.execute(suggestions.insert(), [copy] * (PAGE + 1))
    engine.dispose()
    open_ids = [s.id for s in client.open_suggestions(experiment.id)]
    assert len(open_ids) == PAGE + 2 and open_ids == sorted(open_ids, key=int) and open_ids[0] == first.id


def test_every_run_is_listed_past_one_page(client: HTTPBackend) -> None:
    client.write([("start", f"paged-{i}", "runs", f"run {i}", float(i), None, None) for i in range(PAGE + 2)])
    runs = client.list_runs(project="runs")
    assert len(runs) == PAGE + 2 and runs[0].id == f"paged-{PAGE + 1}"  # newest first
