"""AI experiments over a real server, as the official client's loop uses them: create, runs with served
suggestions, results observed when a run is finished with MERGE, best runs, progress; tenancy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.live_server import LiveServer


def aiexperiment_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "ai tune",
        "parameters": [{"name": "lr", "type": "double", "bounds": {"min": 0.001, "max": 0.1}}],
        "metrics": [{"name": "accuracy", "objective": "maximize"}],
        "budget": 3,
    }
    body.update(changes)
    return body


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest) -> LiveServer:
    """The module's server, over each store in turn."""
    found: LiveServer = request.getfixturevalue("live_server" if request.param == "sqlite" else "live_server_pg")
    return found


@pytest.fixture(scope="module")
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.url}/v1", auth=(server.token, ""), timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def client_id(client: httpx.Client) -> str:
    return str(client.get("/tokens/self").json()["client"])


def create(client: httpx.Client, client_id: str, **changes: Any) -> dict[str, Any]:
    response = client.post(f"/clients/{client_id}/projects/ai/aiexperiments", json=aiexperiment_body(**changes))
    assert response.status_code == 200, response.text
    return dict(response.json())


def start_run(client: httpx.Client, aid: str, name: str = "worker") -> dict[str, Any]:
    response = client.post(f"/aiexperiments/{aid}/training_runs", json={"name": name, "metadata": {"host": "a"}})
    assert response.status_code == 200, response.text
    return dict(response.json())


def merge(client: httpx.Client, run_id: str, body: dict[str, Any]) -> None:
    response = client.request("MERGE", f"/training_runs/{run_id}", json=body)
    assert response.status_code in (200, 204), response.text


def progress(client: httpx.Client, aid: str) -> dict[str, Any]:
    return dict(client.get(f"/aiexperiments/{aid}").json()["progress"])


def observations(client: httpx.Client, aid: str) -> list[dict[str, Any]]:
    return list(client.get(f"/experiments/{aid}/observations").json()["data"])


def test_create_fetch_update_and_list(client: httpx.Client, client_id: str) -> None:
    created = create(client, client_id)
    assert created["object"] == "aiexperiment"
    assert created["project"] == "ai" and created["client"] == client_id
    assert created["budget"] == 3 and "observation_budget" not in created
    assert {k: v for k, v in created["progress"].items() if k != "sigopt_ai"} == {
        "object": "progress",
        "active_run_count": 0,
        "finished_run_count": 0,
        "total_run_count": 0,
        "remaining_budget": 3,
    }
    # The official client sends no heartbeats: a run's lease outlasts a long training between two logs.
    assert created["sigopt_ai"]["lease_timeout"] == 24 * 3600
    aid = created["id"]
    assert client.get(f"/aiexperiments/{aid}").json()["name"] == "ai tune"
    assert client.put(f"/aiexperiments/{aid}", json={"name": "renamed"}).json()["name"] == "renamed"
    listed = client.get(f"/clients/{client_id}/aiexperiments").json()
    assert aid in [e["id"] for e in listed["data"]]
    assert all(e["object"] == "aiexperiment" for e in listed["data"])
    assert client.delete(f"/aiexperiments/{aid}", params={"include_runs": "false"}).status_code == 204
    assert client.get(f"/aiexperiments/{aid}").json()["state"] == "deleted"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"project": "elsewhere"}, "project"),
        ({"budget": 0}, "budget"),
        ({"metrics": [{"name": "a", "strategy": "guess"}]}, "metrics[0].strategy"),
        ({"parameters": [{"name": "lr", "type": "float"}]}, "parameters[0].type"),
    ],
)
def test_a_malformed_aiexperiment_gets_400_naming_the_field(
    client: httpx.Client, client_id: str, changes: dict[str, Any], field: str
) -> None:
    response = client.post(f"/clients/{client_id}/projects/ai/aiexperiments", json=aiexperiment_body(**changes))
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith(field)


def test_a_run_gets_a_served_suggestion_and_its_completion_is_observed(client: httpx.Client, client_id: str) -> None:
    aid = create(client, client_id)["id"]
    run = start_run(client, aid)
    assert run["object"] == "training_run" and run["experiment"] == aid and run["project"] == "ai"
    suggestion = client.get(f"/experiments/{aid}/suggestions/{run['suggestion']}").json()
    assert run["assignments"] == suggestion["assignments"]
    assert suggestion["sigopt_ai"]["run"] == run["id"]
    assert run["metadata"] == {"host": "a"}
    assert progress(client, aid)["active_run_count"] == 1
    assert progress(client, aid)["remaining_budget"] == 2

    merge(client, run["id"], {"values": {"accuracy": {"value": 0.9}}})
    merge(client, run["id"], {"state": "completed"})

    [observed] = observations(client, aid)
    assert observed["suggestion"] == run["suggestion"] and observed["failed"] is False
    assert observed["values"][0]["value"] == 0.9
    assert observed["sigopt_ai"]["run"] == run["id"]
    counts = progress(client, aid)
    assert (counts["active_run_count"], counts["finished_run_count"], counts["remaining_budget"]) == (0, 1, 2)
    best = client.get(f"/aiexperiments/{aid}/best_training_runs").json()
    assert [r["id"] for r in best["data"]] == [run["id"]]
    merge(client, run["id"], {"metadata": {"note": "after the end"}})
    assert len(observations(client, aid)) == 1  # observed once


def test_a_failed_run_is_a_failed_observation(client: httpx.Client, client_id: str) -> None:
    aid = create(client, client_id)["id"]
    run = start_run(client, aid)
    merge(client, run["id"], {"state": "failed"})
    [observed] = observations(client, aid)
    assert observed["failed"] is True
    assert observed["sigopt_ai"]["failure_kind"] == "reported"
    assert progress(client, aid)["finished_run_count"] == 1


@pytest.mark.parametrize(("kind", "observed"), [("oom", True), ("infrastructure", False)])
def test_the_failure_kind_decides_between_a_failed_observation_and_another_try(
    client: httpx.Client, client_id: str, kind: str, observed: bool
) -> None:
    aid = create(client, client_id)["id"]
    run = start_run(client, aid)
    failure = {"kind": kind, "type": "RuntimeError", "message": "it broke", "traceback": None}
    merge(client, run["id"], {"state": "failed", "sigopt_ai": {"failure": failure}})
    found = observations(client, aid)
    if observed:  # the assignment failed: the optimizer learns the kind, the budget is spent
        assert [(o["failed"], o["sigopt_ai"]["failure_kind"]) for o in found] == [(True, kind)]
        assert progress(client, aid)["remaining_budget"] == 2
    else:  # not the assignment's fault: its suggestion is served again
        assert found == []
        assert progress(client, aid)["remaining_budget"] == 3
        assert start_run(client, aid, name="retry")["suggestion"] == run["suggestion"]


def test_a_run_completed_without_the_metric_gives_its_suggestion_back(client: httpx.Client, client_id: str) -> None:
    aid = create(client, client_id)["id"]
    run = start_run(client, aid)
    merge(client, run["id"], {"values": {"loss": {"value": 1.0}}, "state": "completed"})
    assert observations(client, aid) == []
    fetched = client.get(f"/training_runs/{run['id']}").json()
    assert fetched["state"] == "failed"
    assert fetched["sigopt_ai"]["failure"]["kind"] == "missing_metric"
    assert progress(client, aid)["remaining_budget"] == 3
    again = start_run(client, aid, name="second")
    assert again["suggestion"] == run["suggestion"]


def test_no_run_beyond_the_budget(client: httpx.Client, client_id: str) -> None:
    aid = create(client, client_id, budget=2)["id"]
    first, second = start_run(client, aid), start_run(client, aid)
    assert first["suggestion"] != second["suggestion"]
    assert progress(client, aid)["remaining_budget"] == 0
    refused = client.post(f"/aiexperiments/{aid}/training_runs", json={})
    assert refused.status_code == 409, refused.text
    assert "budget" in refused.json()["message"]


def test_a_malformed_run_body_gets_400(client: httpx.Client, client_id: str) -> None:
    aid = create(client, client_id)["id"]
    response = client.post(f"/aiexperiments/{aid}/training_runs", json={"metadata": [1]})
    assert response.status_code == 400 and response.json()["message"].startswith("metadata")
    assert progress(client, aid)["active_run_count"] == 0


def test_another_clients_aiexperiment_is_not_found(server: LiveServer, client: httpx.Client, client_id: str) -> None:
    aid = create(client, client_id)["id"]
    token = server.make_token("gamma")
    with httpx.Client(base_url=f"{server.url}/v1", auth=(token, ""), timeout=30) as other:
        for method, path in [
            ("GET", f"/aiexperiments/{aid}"),
            ("PUT", f"/aiexperiments/{aid}"),
            ("DELETE", f"/aiexperiments/{aid}"),
            ("GET", f"/aiexperiments/{aid}/best_training_runs"),
            ("POST", f"/aiexperiments/{aid}/training_runs"),
            ("POST", f"/clients/{client_id}/projects/ai/aiexperiments"),
            ("GET", f"/clients/{client_id}/aiexperiments"),
        ]:
            body = aiexperiment_body() if path.endswith("/aiexperiments") else {}
            response = other.request(method, path, json=body if method in ("POST", "PUT") else None)
            assert response.status_code == 404, (method, path, response.text)
    assert progress(client, aid)["active_run_count"] == 0
