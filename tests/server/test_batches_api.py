"""``POST /v1/sigopt_ai/batches``: the HTTP backend's writes, applied once per idempotency key."""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sigopt_ai._models import Op
from sigopt_ai.wire import ops_to_json
from tests.live_server import LiveServer


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest) -> LiveServer:
    """The module's server on each kind of store: idempotency is the database's unique key."""
    found: LiveServer = request.getfixturevalue("live_server" if request.param == "sqlite" else "live_server_pg")
    return found


@pytest.fixture(scope="module")
def api(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.url}/v1", auth=(server.token, "")) as client:
        yield client


@pytest.fixture(scope="module")
def other(server: LiveServer) -> Iterator[httpx.Client]:
    """A client of another tenant."""
    with httpx.Client(base_url=f"{server.url}/v1", auth=(server.make_token("beta"), "")) as client:
        yield client


def _post(api: httpx.Client, ops: list[Op], key: str | None = None) -> httpx.Response:
    headers = {} if key is None else {"Idempotency-Key": key}
    return api.post("/sigopt_ai/batches", json={"ops": ops_to_json(ops)}, headers=headers)


def _started(api: httpx.Client, project: str = "batches") -> str:
    run_id = uuid.uuid4().hex[:16]
    response = _post(api, [("start", run_id, project, "r", time.time(), None, None)])
    assert response.status_code == 200, response.text
    return run_id


def test_a_batch_posted_twice_with_one_key_is_applied_once(api: httpx.Client) -> None:
    run_id = _started(api)
    now = time.time()
    batch: list[Op] = [("metric", run_id, "loss", float(i), None, now + i) for i in range(3)]
    key = str(uuid.uuid4())
    first = _post(api, batch, key)
    second = _post(api, batch, key)
    assert first.status_code == second.status_code == 200
    assert first.json() == {"object": "batch", "count": 3}
    history = api.get(f"/training_runs/{run_id}/sigopt_ai/metrics/loss").json()["data"]
    assert [point["value"] for point in history] == [0.0, 1.0, 2.0]
    assert _post(api, batch, str(uuid.uuid4())).status_code == 200  # another key: applied again
    assert len(api.get(f"/training_runs/{run_id}/sigopt_ai/metrics/loss").json()["data"]) == 6


def test_start_ops_land_in_the_clients_own_project(api: httpx.Client, other: httpx.Client) -> None:
    run_id = _started(api, "shared-name")
    theirs = _started(other, "shared-name")
    assert api.get(f"/training_runs/{run_id}").json()["project"] == "shared-name"
    mine = api.get("/clients/1/training_runs", params={"project": "shared-name"}).json()["data"]
    assert [r["id"] for r in mine] == [run_id]
    assert theirs not in {r["id"] for r in mine}


def test_ops_on_another_clients_run_are_404_and_change_nothing(api: httpx.Client, other: httpx.Client) -> None:
    run_id = _started(api)
    now = time.time()
    for ops in (
        [("metric", run_id, "loss", 1.0, None, now)],
        [("fields", run_id, "metadata", {"stolen": True})],
        [("heartbeat", (run_id,), now)],
        [("start", run_id, "mine-now", "r", now, None, None)],
    ):
        response = _post(other, ops)
        assert response.status_code == 404, response.text
        assert response.json()["message"] == f"No training run with id {run_id}."
    run = api.get(f"/training_runs/{run_id}").json()
    assert run["values"] == {}
    assert run["metadata"] == {}
    assert other.get(f"/training_runs/{run_id}").status_code == 404


def test_ops_on_a_run_nobody_started_are_404(api: httpx.Client) -> None:
    response = _post(api, [("metric", "never-started", "loss", 1.0, None, time.time())])
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "ops"),
        ({"ops": [["metric", "r", "loss", "high", None, 1.0]]}, "ops[0][3]"),
        ({"ops": [["teleport", "r"]]}, "ops[0]"),
        ({"ops": [["start", "r", "Bad Project!", "r", 1.0, None, None]]}, "project"),
        ({"ops": [["start", "r" * 41, "p", "r", 1.0, None, None]]}, "ops[0] ('start' operation): run id"),
    ],
)
def test_a_malformed_batch_gets_400_naming_the_field(api: httpx.Client, body: dict[str, Any], field: str) -> None:
    response = api.post("/sigopt_ai/batches", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith(field), response.json()["message"]


@pytest.mark.parametrize(
    ("op", "field"),
    [
        (["metric", "RUN", "y" * 101, 1.0, None, 1.0], "metric name"),
        (["checkpoint", "RUN", 2**70, {"y": 1.0}, 1.0], "step"),
        (["fields", "RUN", "params", {"lr": 2**70}], "params 'lr'"),
        (["fields", "RUN", "metadata", {"k": "v" * 501}], "metadata 'k'"),
        (["metric", "RUN", "y", 1.0, -1.0, 1.0], "stddev"),
    ],
)
def test_a_value_the_sdk_would_refuse_gets_400_naming_it(api: httpx.Client, op: list[Any], field: str) -> None:
    run_id = _started(api)
    response = api.post("/sigopt_ai/batches", json={"ops": [[run_id if item == "RUN" else item for item in op]]})
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith(f"ops[0] ({op[0]!r} operation): {field}"), response.json()["message"]


def test_dead_letters_of_a_run_are_a_page(api: httpx.Client, other: httpx.Client) -> None:
    run_id = _started(api)
    page = api.get("/sigopt_ai/dead_letters", params={"run": run_id}).json()
    assert page == {"object": "pagination", "count": 0, "data": [], "paging": {"before": None, "after": None}}
    assert other.get("/sigopt_ai/dead_letters", params={"run": run_id}).status_code == 404


def test_a_run_holding_a_value_json_lacks_can_still_be_read(api: httpx.Client) -> None:
    """Python's JSON reads ``Infinity`` and ``NaN`` into free-form maps; reading them back is no 500."""
    run_id = _started(api)
    body = json.dumps({"ops": [["fields", run_id, "sys_metadata", {"limit": math.inf, "gap": math.nan}]]})
    response = api.post("/sigopt_ai/batches", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    read = api.get(f"/training_runs/{run_id}")
    assert read.status_code == 200, read.text
    assert read.json()["sys_metadata"] == {"limit": "Infinity", "gap": "NaN"}
    client = api.get("/tokens/self").json()["client"]
    assert api.get(f"/clients/{client}/training_runs", params={"project": "batches"}).status_code == 200
