"""Group commit: concurrent run updates share one transaction, and one bad request fails alone."""

from __future__ import annotations

import sqlite3
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from sigopt_ai._exceptions import ValidationError
from sigopt_ai.backends.sql import SQLBackend
from sigopt_ai.backends.sql._migrate import upgrade
from sigopt_ai.server._deps import Tenant, not_found
from sigopt_ai.server._store import ServerStore
from tests.live_server import LiveServer

SKIP = {"X-Response-Content": "skip"}


def _run(api: httpx.Client, project: str) -> str:
    created = api.post(f"/clients/1/projects/{project}/training_runs", json={"name": "grouped"})
    assert created.status_code == 200, created.text
    run_id: str = created.json()["id"]
    return run_id


@pytest.fixture
def api(live_server: LiveServer) -> Any:
    with httpx.Client(base_url=f"{live_server.url}/v1", auth=(live_server.token, ""), timeout=30) as client:
        project = f"gc-{uuid.uuid4().hex[:8]}"
        assert client.post("/clients/1/projects", json={"id": project}).status_code == 200
        yield client, project


def test_concurrent_merges_all_land_and_a_bad_one_alone_gets_400(api: Any) -> None:
    client, project = api
    runs = [_run(client, project) for _ in range(5)]
    bodies = [(runs[i % 5], {"values": {"loss": {"value": float(i)}}}) for i in range(50)]
    bodies[17] = (runs[2], {"values": {"loss": {"value": "not a number"}}})

    def merge(item: tuple[str, dict[str, Any]]) -> httpx.Response:
        run_id, body = item
        return client.request("MERGE", f"/training_runs/{run_id}", json=body, headers=SKIP)

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(merge, bodies))

    statuses = [r.status_code for r in responses]
    assert statuses[17] == 400
    assert "training_run.values['loss'].value" in responses[17].json()["message"]
    assert statuses[:17] + statuses[18:] == [204] * 49
    for k, run_id in enumerate(runs):
        history = client.get(f"/training_runs/{run_id}/sigopt_ai/metrics/loss").json()["data"]
        expected = {float(i) for i in range(50) if i % 5 == k and i != 17}
        assert sorted(p["value"] for p in history) == sorted(expected)


def test_a_value_merged_without_its_stddev_keeps_the_stored_one(api: Any) -> None:
    client, project = api
    run_id = _run(client, project)
    first = {"values": {"loss": {"value": 1.0, "value_stddev": 0.25}}}
    assert client.request("MERGE", f"/training_runs/{run_id}", json=first, headers=SKIP).status_code == 204
    second = {"values": {"loss": {"value": 2.0}}}
    assert client.request("MERGE", f"/training_runs/{run_id}", json=second, headers=SKIP).status_code == 204
    loss = client.get(f"/training_runs/{run_id}").json()["values"]["loss"]
    assert (loss["value"], loss["value_stddev"]) == (2.0, 0.25)
    history = client.get(f"/training_runs/{run_id}/sigopt_ai/metrics/loss").json()["data"]
    assert [(p["value"], p["value_stddev"]) for p in history] == [(1.0, 0.25), (2.0, 0.25)]


def test_a_merge_on_another_clients_run_is_404_through_the_group(live_server: LiveServer, api: Any) -> None:
    client, project = api
    run_id = _run(client, project)
    other = ServerStore(SQLBackend(live_server.db, upgrade=False)).create_token("gc-other")  # in-process: fast
    with httpx.Client(base_url=f"{live_server.url}/v1", auth=(other, "")) as stranger:
        assert stranger.get("/tokens/self").status_code == 200  # trusted by the server from now on
        body = {"values": {"loss": {"value": 1.0}}}
        response = stranger.request("MERGE", f"/training_runs/{run_id}", json=body, headers=SKIP)
    assert response.status_code == 404
    assert response.json()["message"] == f"No training run with id {run_id}."
    assert client.get(f"/training_runs/{run_id}").json()["values"] == {}


def test_a_record_the_store_refuses_fails_only_its_request(tmp_path: Path) -> None:
    """The combined transaction fails on one request's record (its run was deleted after the request
    read it); every other request of the group is written, that one alone gets the 400."""
    db = str(tmp_path / "group.db")
    upgrade(db)
    backend = SQLBackend(db, upgrade=False)
    store = ServerStore(backend)
    from sigopt_ai.server._commit import GroupCommit

    commit = GroupCommit(backend, store.apply_run_updates, lambda run_id: not_found("training run", run_id))
    who = Tenant(client="1", backend=backend, store=store, commit=commit)
    runs = [f"run-{k}" for k in range(7)]
    who.write([("start", run_id, "c1.p", run_id, time.time(), None, None) for run_id in runs])

    lock = sqlite3.connect(db, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # holds the writer back while all 50 are queued: they form one group
    futures = []
    for i in range(50):
        run_id = "deleted-run" if i == 31 else runs[i % 7]
        futures.append(commit.submit(who, [("metric", run_id, "loss", float(i), None, time.time())], verify=False))
    lock.execute("ROLLBACK")
    lock.close()

    outcomes = [f.exception(timeout=30) for f in futures]
    assert isinstance(outcomes[31], ValidationError)
    assert "the store rejected a record" in str(outcomes[31])
    assert outcomes[:31] + outcomes[32:] == [None] * 49
    for k, run_id in enumerate(runs):
        values = [p.value for p in backend.metric_history(run_id, "loss")]
        assert sorted(values) == [float(i) for i in range(50) if i % 7 == k and i != 31]
    commit.close()
    backend.close()


def test_two_server_processes_on_one_sqlite_file_take_turns_and_every_merge_lands(tmp_path: Path) -> None:
    with LiveServer(str(tmp_path / "two.db"), workers=2) as server:
        with httpx.Client(base_url=f"{server.url}/v1", auth=(server.token, ""), timeout=30) as client:
            assert client.post("/clients/1/projects", json={"id": "two"}).status_code == 200
            runs = [_run(client, "two") for _ in range(4)]

            def merges(k: int) -> list[int]:
                # A connection of its own per thread: uvicorn hands connections to either process.
                with httpx.Client(base_url=f"{server.url}/v1", auth=(server.token, ""), timeout=30) as own:
                    return [
                        own.request(
                            "MERGE",
                            f"/training_runs/{runs[k % 4]}",
                            json={"values": {"loss": {"value": float(k * 100 + i)}}},
                            headers=SKIP,
                        ).status_code
                        for i in range(25)
                    ]

            with ThreadPoolExecutor(max_workers=16) as pool:
                statuses = [s for batch in pool.map(merges, range(16)) for s in batch]
            assert statuses == [204] * 400
            for k, run_id in enumerate(runs):
                history = client.get(f"/training_runs/{run_id}/sigopt_ai/metrics/loss").json()["data"]
                expected = [float(j * 100 + i) for j in range(16) if j % 4 == k for i in range(25)]
                assert sorted(p["value"] for p in history) == expected
    assert (tmp_path / "two.db.turns").exists()  # the processes took turns through it
