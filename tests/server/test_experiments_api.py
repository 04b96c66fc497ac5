"""Core experiments over a real server: create, fetch, update, archive; suggestions and observations;
best assignments; budget; malformed bodies; tenancy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.live_server import LiveServer

PARAMETERS = [
    {"name": "x", "type": "double", "bounds": {"min": 0, "max": 1}},
    {"name": "n", "type": "int", "bounds": {"min": 1, "max": 5}},
]


def experiment_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "tune",
        "project": "core",
        "parameters": PARAMETERS,
        "metrics": [{"name": "loss", "objective": "minimize"}],
        "observation_budget": 4,
        "sigopt_ai": {"seed": 7},
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
def other(server: LiveServer) -> Iterator[httpx.Client]:
    """A client of another tenant."""
    token = server.make_token("beta")
    with httpx.Client(base_url=f"{server.url}/v1", auth=(token, ""), timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def client_id(client: httpx.Client) -> str:
    return str(client.get("/tokens/self").json()["client"])


def create(client: httpx.Client, client_id: str, **changes: Any) -> dict[str, Any]:
    response = client.post(f"/clients/{client_id}/experiments", json=experiment_body(**changes))
    assert response.status_code == 200, response.text
    return dict(response.json())


def suggest(client: httpx.Client, eid: str) -> dict[str, Any]:
    response = client.post(f"/experiments/{eid}/suggestions", json={})
    assert response.status_code == 200, response.text
    return dict(response.json())


def observe(client: httpx.Client, eid: str, body: dict[str, Any]) -> httpx.Response:
    return client.post(f"/experiments/{eid}/observations", json=body)


def error_of(response: httpx.Response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    return str(body["message"])


# --- experiments
def test_create_fetch_and_list_an_experiment(client: httpx.Client, client_id: str) -> None:
    created = create(client, client_id, name="fetch me", project="listing")
    assert created["object"] == "experiment"
    assert created["project"] == "listing"  # the client's name, not the store's namespaced one
    assert created["observation_budget"] == 4
    assert [p["name"] for p in created["parameters"]] == ["x", "n"]
    assert created["progress"]["observation_count"] == 0
    assert created["progress"]["observation_budget_consumed"] == 0
    assert client.get(f"/experiments/{created['id']}").json()["progress"]["best_observation"] is None
    assert created["sigopt_ai"]["seed"] == 7
    assert created["sigopt_ai"]["lease_timeout"] == 60.0

    fetched = client.get(f"/experiments/{created['id']}").json()
    assert fetched["id"] == created["id"] and fetched["name"] == "fetch me"

    listed = client.get(f"/clients/{client_id}/experiments", params={"project": "listing"}).json()
    assert listed["object"] == "pagination"
    assert [e["id"] for e in listed["data"]] == [created["id"]]
    in_project = client.get(f"/clients/{client_id}/projects/listing/experiments").json()
    assert [e["id"] for e in in_project["data"]] == [created["id"]]
    assert created["id"] in [e["id"] for e in client.get("/experiments").json()["data"]]


def test_the_extension_sets_the_lease_and_is_checked(client: httpx.Client, client_id: str) -> None:
    created = create(client, client_id, sigopt_ai={"lease_timeout": 5})
    assert created["sigopt_ai"]["lease_timeout"] == 5.0
    response = client.post(f"/clients/{client_id}/experiments", json=experiment_body(sigopt_ai={"lease_timeout": 0.1}))
    assert error_of(response).startswith("sigopt_ai.lease_timeout")
    response = client.post(f"/clients/{client_id}/experiments", json=experiment_body(sigopt_ai={"color": 1}))
    assert error_of(response).startswith("sigopt_ai.color")


def test_update_renames_and_replaces_metadata_and_refuses_the_rest(client: httpx.Client, client_id: str) -> None:
    eid = create(client, client_id)["id"]
    updated = client.put(f"/experiments/{eid}", json={"name": "renamed", "metadata": {"team": "a"}})
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "renamed"
    assert client.get(f"/experiments/{eid}").json()["metadata"] == {"team": "a"}
    assert client.put(f"/experiments/{eid}", json={"observation_budget": 9}).json()["observation_budget"] == 9
    assert error_of(client.put(f"/experiments/{eid}", json={"observation_budget": 0})).startswith("observation_budget")
    assert error_of(client.put(f"/experiments/{eid}", json={"parameters": []})).startswith("parameters")
    assert error_of(client.put(f"/experiments/{eid}", json={"name": ""})).startswith("name")
    assert error_of(client.put(f"/experiments/{eid}", json={"state": "paused"})).startswith("state")
    assert client.put(f"/experiments/{eid}", json={"state": "deleted"}).json()["state"] == "deleted"
    assert client.put(f"/experiments/{eid}", json={"state": "active"}).json()["state"] == "active"


def test_archive_stops_serving(client: httpx.Client, client_id: str) -> None:
    eid = create(client, client_id)["id"]
    assert client.delete(f"/experiments/{eid}").status_code == 204
    assert client.get(f"/experiments/{eid}").json()["state"] == "deleted"
    assert client.post(f"/experiments/{eid}/suggestions", json={}).status_code == 204


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"parameters": [{"name": "x", "type": "double", "bounds": {"min": 2, "max": 1}}]}, "parameters[0].bounds"),
        ({"metrics": [{"name": "loss", "objective": "smallest"}]}, "metrics[0].objective"),
        ({"observation_budget": -1}, "observation_budget"),
        ({"name": 5}, "name"),
        ({"colour": "red"}, "colour"),
        ({"project": "Not A Project"}, "project"),
    ],
)
def test_a_malformed_experiment_gets_400_naming_the_field(
    client: httpx.Client, client_id: str, changes: dict[str, Any], field: str
) -> None:
    response = client.post(f"/clients/{client_id}/experiments", json=experiment_body(**changes))
    assert field in error_of(response)


def test_a_body_that_is_not_an_object_gets_400(client: httpx.Client) -> None:
    response = client.post("/experiments", json=[1, 2])
    assert "JSON object" in error_of(response)


# --- the core loop
def test_suggest_observe_and_best_assignments(client: httpx.Client, client_id: str) -> None:
    eid = create(client, client_id)["id"]
    first, second = suggest(client, eid), suggest(client, eid)
    assert first["state"] == "open" and set(first["assignments"]) == {"x", "n"}
    opened = client.get(f"/experiments/{eid}/suggestions", params={"state": "open"}).json()
    assert [s["id"] for s in opened["data"]] == [first["id"], second["id"]]

    good = observe(client, eid, {"suggestion": first["id"], "values": [{"name": "loss", "value": 0.25}]})
    assert good.status_code == 200, good.text
    assert good.json()["assignments"] == first["assignments"]
    failed = observe(client, eid, {"suggestion": second["id"], "failed": True})
    assert failed.status_code == 200, failed.text
    assert failed.json()["failed"] is True
    assert failed.json()["sigopt_ai"]["failure_kind"] == "reported"

    assert client.get(f"/experiments/{eid}/suggestions/{first['id']}").json()["state"] == "closed"
    best = client.get(f"/experiments/{eid}/best_assignments").json()
    assert [(b["object"], b["id"]) for b in best["data"]] == [("best_assignments", good.json()["id"])]
    progress = client.get(f"/experiments/{eid}").json()["progress"]
    assert progress["observation_count"] == 2 and progress["observation_budget_consumed"] == 2
    assert progress["best_observation"]["id"] == good.json()["id"]
    ours = client.get(f"/experiments/{eid}/sigopt_ai/progress").json()
    assert ours["sigopt_ai"]["failed_by_kind"] == {"reported": 1}
    assert ours["remaining_budget"] == 2


def test_observations_page_oldest_first(client: httpx.Client, client_id: str) -> None:
    eid = create(client, client_id, observation_budget=5)["id"]
    made = []
    for value in range(5):
        sid = suggest(client, eid)["id"]
        response = observe(client, eid, {"suggestion": sid, "values": [{"name": "loss", "value": value}]})
        made.append(response.json()["id"])
    seen: list[str] = []
    marker = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"sigopt_ai_after": marker} if marker else {})
        listed = client.get(f"/experiments/{eid}/observations", params=params).json()
        seen += [o["id"] for o in listed["data"]]
        marker = listed["paging"]["after"]
        if marker is None:
            break
    assert seen == made
    assert [o["id"] for o in client.get(f"/experiments/{eid}/observations").json()["data"]] == made
    one = client.get(f"/experiments/{eid}/observations/{made[2]}").json()
    assert one["values"][0]["value"] == 2
    assert client.get(f"/experiments/{eid}/observations/999999").status_code == 404


def test_the_budget_is_exact(client: httpx.Client, client_id: str) -> None:
    eid = create(client, client_id, observation_budget=3)["id"]
    served = [suggest(client, eid)["id"] for _ in range(3)]
    assert len(set(served)) == 3
    assert client.post(f"/experiments/{eid}/suggestions", json={}).status_code == 204
    for sid in served:
        assert observe(client, eid, {"suggestion": sid, "failed": True}).status_code == 200
    assert client.post(f"/experiments/{eid}/suggestions", json={}).status_code == 204
    assert client.get(f"/experiments/{eid}").json()["progress"]["observation_budget_consumed"] == 3


def test_an_observation_by_assignments_records_the_open_suggestion_with_them(
    client: httpx.Client, client_id: str
) -> None:
    eid = create(client, client_id)["id"]
    served = suggest(client, eid)
    response = observe(client, eid, {"assignments": served["assignments"], "values": [{"value": 1.0}]})
    assert response.status_code == 200, response.text
    assert response.json()["suggestion"] == served["id"]
    assert client.get(f"/experiments/{eid}/suggestions/{served['id']}").json()["state"] == "closed"
    unknown = observe(client, eid, {"assignments": {"x": 0.5, "n": 9}, "values": [{"value": 1.0}]})
    assert error_of(unknown).startswith("assignments")


def test_a_run_lease_is_released_and_served_again(client: httpx.Client, client_id: str) -> None:
    eid = create(client, client_id)["id"]
    leased = client.post(f"/experiments/{eid}/suggestions", json={"sigopt_ai": {"run": "run-released-1"}}).json()
    assert leased["sigopt_ai"]["run"] == "run-released-1"
    released = client.post(
        f"/experiments/{eid}/suggestions/{leased['id']}/sigopt_ai/release", json={"run": "run-released-1"}
    )
    assert released.json() == {"object": "release", "released": True}
    again = client.post(f"/experiments/{eid}/suggestions", json={"sigopt_ai": {"run": "run-released-2"}}).json()
    assert again["id"] == leased["id"]
    observed = observe(
        client,
        eid,
        {"suggestion": again["id"], "failed": True, "sigopt_ai": {"run": "run-released-2", "failure_kind": "oom"}},
    )
    assert observed.json()["sigopt_ai"] == observed.json()["sigopt_ai"] | {
        "run": "run-released-2",
        "failure_kind": "oom",
    }


def test_delete_open_suggestions_gives_back_those_runs_hold(client: httpx.Client, client_id: str) -> None:
    eid = create(client, client_id)["id"]
    leased = client.post(f"/experiments/{eid}/suggestions", json={"sigopt_ai": {"run": "run-deleted"}}).json()
    assert client.delete(f"/experiments/{eid}/suggestions", params={"state": "open"}).status_code == 204
    open_ = client.get(f"/experiments/{eid}/suggestions", params={"state": "open"}).json()["data"]
    assert [(s["id"], s["sigopt_ai"]["leased"]) for s in open_] == [(leased["id"], False)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"values": [{"name": "loss", "value": 1}]}, "suggestion"),
        ({"suggestion": "SID", "failed": True, "values": [{"name": "loss", "value": 1}]}, "values"),
        ({"suggestion": "SID"}, "values"),
        ({"suggestion": "SID", "values": [{"name": "nope", "value": 1}]}, "values"),
        ({"suggestion": "SID", "values": [{"name": "loss", "value": "high"}]}, "values"),
        ({"suggestion": "SID", "values": {"loss": 1}, "failed": "yes"}, "failed"),
        ({"suggestion": "SID", "failed": True, "sigopt_ai": {"failure_kind": "sad"}}, "sigopt_ai.failure_kind"),
        ({"suggestion": "SID", "values": [{"name": "loss", "value": 1}], "shape": 1}, "shape"),
    ],
)
def test_a_malformed_observation_gets_400_naming_the_field(
    client: httpx.Client, client_id: str, body: dict[str, Any], field: str
) -> None:
    eid = create(client, client_id)["id"]
    sid = suggest(client, eid)["id"]
    body = {k: sid if v == "SID" else v for k, v in body.items()}
    assert error_of(observe(client, eid, body)).startswith(field)
    assert client.get(f"/experiments/{eid}/suggestions/{sid}").json()["state"] == "open"


def test_an_unknown_suggestion_is_not_found(client: httpx.Client, client_id: str) -> None:
    eid = create(client, client_id)["id"]
    response = observe(client, eid, {"suggestion": "999999", "values": [{"name": "loss", "value": 1}]})
    assert error_of(response, 404) == "No suggestion with id 999999."


def test_sigopts_rule_wants_a_value_for_every_metric(client: httpx.Client, client_id: str) -> None:
    metrics = [{"name": "loss", "objective": "minimize"}, {"name": "time", "strategy": "store"}]
    eid = create(client, client_id, metrics=metrics)["id"]
    sid = suggest(client, eid)["id"]
    short = observe(client, eid, {"suggestion": sid, "values": [{"name": "loss", "value": 1}]})
    assert "must be equal" in error_of(short)
    both = [{"name": "loss", "value": 1}, {"name": "time", "value": 3}]
    assert observe(client, eid, {"suggestion": sid, "values": both}).status_code == 200


# --- tenancy
def test_another_clients_experiment_is_not_found(client: httpx.Client, other: httpx.Client, client_id: str) -> None:
    eid = create(client, client_id)["id"]
    sid = suggest(client, eid)["id"]
    for method, path in [
        ("GET", f"/experiments/{eid}"),
        ("PUT", f"/experiments/{eid}"),
        ("DELETE", f"/experiments/{eid}"),
        ("POST", f"/experiments/{eid}/suggestions"),
        ("GET", f"/experiments/{eid}/suggestions/{sid}"),
        ("POST", f"/experiments/{eid}/observations"),
        ("GET", f"/experiments/{eid}/observations"),
        ("GET", f"/experiments/{eid}/best_assignments"),
        ("GET", f"/experiments/{eid}/sigopt_ai/progress"),
        ("GET", f"/clients/{client_id}/experiments"),
    ]:
        response = other.request(method, path, json={} if method in ("POST", "PUT") else None)
        assert response.status_code == 404, (method, path, response.text)
    assert eid not in [e["id"] for e in other.get("/experiments").json()["data"]]
    assert client.get(f"/experiments/{eid}").json()["state"] == "active"
