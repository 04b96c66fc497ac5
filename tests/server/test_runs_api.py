"""Training runs over the SigOpt v1 REST API, as the official client and curl use them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.live_server import LiveServer


@pytest.fixture(scope="module")
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{live_server.url}/v1", auth=(live_server.token, "")) as client:
        yield client


@pytest.fixture
def project(api: httpx.Client) -> str:
    """A new project of client 1."""
    project_id = f"p-{uuid.uuid4().hex[:8]}"
    response = api.post("/clients/1/projects", json={"id": project_id, "name": "Runs"})
    assert response.status_code == 200, response.text
    return project_id


def _create(api: httpx.Client, project: str, **body: Any) -> dict[str, Any]:
    response = api.post(f"/clients/1/projects/{project}/training_runs", json={"name": "r", **body})
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


def _merge(api: httpx.Client, run_id: str, body: dict[str, Any]) -> httpx.Response:
    return api.request("MERGE", f"/training_runs/{run_id}", json=body)


def test_create_then_get_a_run(api: httpx.Client, project: str) -> None:
    created = _create(api, project, assignments={"lr": 0.1}, metadata={"git": "abc"})
    assert created["object"] == "training_run"
    assert created["project"] == project
    assert created["state"] == "active"
    fetched = api.get(f"/training_runs/{created['id']}").json()
    assert fetched["assignments"] == {"lr": 0.1}
    assert fetched["metadata"] == {"git": "abc"}
    assert fetched["name"] == "r"


def test_a_run_in_a_missing_project_is_404(api: httpx.Client) -> None:
    response = api.post("/clients/1/projects/nope-nothing/training_runs", json={"name": "r"})
    assert response.status_code == 404
    assert response.json()["message"] == "No project with id nope-nothing."


def test_merge_deep_merges_maps_and_null_deletes_a_key(api: httpx.Client, project: str) -> None:
    run = _create(api, project, metadata={"a": 1, "b": 2}, sys_metadata={"env": {"host": "h", "gpu": 1}})
    response = _merge(
        api,
        run["id"],
        {
            "metadata": {"b": None, "c": "three"},
            "sys_metadata": {"env": {"gpu": None, "cpu": 8}},
            "values": {"loss": {"value": 0.5, "value_stddev": 0.1}},
        },
    )
    assert response.status_code == 200, response.text
    after = api.get(f"/training_runs/{run['id']}").json()
    assert after["metadata"] == {"a": 1, "c": "three"}
    assert after["sys_metadata"]["env"] == {"host": "h", "cpu": 8}
    assert after["values"]["loss"]["value"] == 0.5
    assert after["values"]["loss"]["value_stddev"] == 0.1
    _merge(api, run["id"], {"values": {"loss": None}})
    assert api.get(f"/training_runs/{run['id']}").json()["values"] == {}


def test_put_replaces_the_maps_it_gives(api: httpx.Client, project: str) -> None:
    run = _create(api, project, metadata={"a": 1, "b": 2}, assignments={"x": 1})
    response = api.put(f"/training_runs/{run['id']}", json={"metadata": {"c": 3}})
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["metadata"] == {"c": 3}
    assert after["assignments"] == {"x": 1}


def test_metric_history_keeps_every_value_merged(api: httpx.Client, project: str) -> None:
    run = _create(api, project)
    for value in (3.0, 2.0, 2.0, 1.0):
        assert _merge(api, run["id"], {"values": {"loss": {"value": value}}}).status_code == 200
    assert _merge(api, run["id"], {"metadata": {"unrelated": 1}}).status_code == 200
    history = api.get(f"/training_runs/{run['id']}/sigopt_ai/metrics/loss").json()
    assert [point["value"] for point in history["data"]] == [3.0, 2.0, 2.0, 1.0]


def test_state_failed_records_a_reported_failure_and_stays_failed(api: httpx.Client, project: str) -> None:
    run = _create(api, project)
    failed = _merge(api, run["id"], {"state": "failed"}).json()
    assert failed["state"] == "failed"
    assert failed["sigopt_ai"]["failure"]["kind"] == "reported"
    assert _merge(api, run["id"], {"state": "completed"}).json()["state"] == "failed"


def test_completed_ends_the_run(api: httpx.Client, project: str) -> None:
    run = _create(api, project)
    done = _merge(api, run["id"], {"state": "completed"}).json()
    assert done["state"] == "completed"
    assert done["finished"] is True
    assert done["completed"] is not None


def test_delete_archives_the_run(api: httpx.Client, project: str) -> None:
    run = _create(api, project)
    assert api.delete(f"/training_runs/{run['id']}").status_code == 204
    fetched = api.get(f"/training_runs/{run['id']}")
    assert fetched.status_code == 200 and fetched.json()["deleted"] is True


def test_checkpoints_are_recorded_in_order(api: httpx.Client, project: str) -> None:
    run = _create(api, project)
    for step, loss in enumerate((0.9, 0.5)):
        response = api.post(
            f"/training_runs/{run['id']}/checkpoints", json={"values": [{"name": "loss", "value": loss}]}
        )
        assert response.status_code == 200, response.text
        assert response.json()["sigopt_ai"]["step"] == step
    listed = api.get(f"/training_runs/{run['id']}/checkpoints").json()
    assert [c["values"][0]["value"] for c in listed["data"]] == [0.9, 0.5]
    assert api.get(f"/training_runs/{run['id']}").json()["checkpoint_count"] == 2


def test_skip_header_answers_204_without_a_body(api: httpx.Client, project: str) -> None:
    run = _create(api, project)
    response = api.request(
        "MERGE", f"/training_runs/{run['id']}", json={"metadata": {"k": 1}}, headers={"X-Response-Content": "skip"}
    )
    assert response.status_code == 204
    assert response.content == b""
    assert api.get(f"/training_runs/{run['id']}").json()["metadata"] == {"k": 1}
    missing = api.get("/training_runs/nothing", headers={"X-Response-Content": "skip"})
    assert missing.status_code == 404  # errors are never skipped


def test_lists_are_newest_first_and_per_project(api: httpx.Client, project: str) -> None:
    first = _create(api, project)
    second = _create(api, project)
    listed = api.get(f"/clients/1/projects/{project}/training_runs").json()
    assert listed["object"] == "pagination"
    assert [r["id"] for r in listed["data"]] == [second["id"], first["id"]]
    limited = api.get("/clients/1/training_runs", params={"project": project, "limit": 1}).json()
    assert [r["id"] for r in limited["data"]] == [second["id"]]
    everything = api.get("/clients/1/training_runs").json()
    assert {first["id"], second["id"]} <= {r["id"] for r in everything["data"]}


def test_a_body_over_the_limit_gets_413(live_server: LiveServer, project: str) -> None:
    huge = b'{"metadata": {"k": "' + b"x" * (9 * 1024 * 1024) + b'"}}'
    response = httpx.post(
        f"{live_server.url}/v1/clients/1/projects/{project}/training_runs",
        content=huge,
        auth=(live_server.token, ""),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["status"] == 413


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"values": {"loss": {"value": "high"}}}, "training_run.values['loss'].value"),
        ({"metadata": ["a"]}, "training_run.metadata"),
        ({"assignments": {"x": {"nested": 1}}}, "training_run.assignments['x']"),
        ({"state": "paused"}, "training_run.state"),
        ({"name": 7}, "training_run.name"),
        ({"colour": "red"}, "training_run.colour"),
    ],
)
def test_a_malformed_field_gets_400_naming_it(
    api: httpx.Client, project: str, body: dict[str, Any], field: str
) -> None:
    run = _create(api, project)
    response = _merge(api, run["id"], body)
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith(field), response.json()["message"]


@pytest.mark.parametrize("content", [b"[1, 2]", b'"text"', b"{not json"])
def test_a_body_that_is_not_a_json_object_gets_400(api: httpx.Client, project: str, content: bytes) -> None:
    run = _create(api, project)
    response = api.request(
        "MERGE", f"/training_runs/{run['id']}", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert "Request body" in response.json()["message"]


def test_projects_create_conflict_get_update_list(api: httpx.Client) -> None:
    project_id = f"p-{uuid.uuid4().hex[:8]}"
    created = api.post("/clients/1/projects", json={"id": project_id, "name": "First", "metadata": {"team": "a"}})
    assert created.json()["id"] == project_id
    again = api.post("/clients/1/projects", json={"id": project_id})
    assert again.status_code == 409
    updated = api.put(f"/clients/1/projects/{project_id}", json={"name": "Second"}).json()
    assert (updated["name"], updated["metadata"]) == ("Second", {"team": "a"})
    assert api.get(f"/clients/1/projects/{project_id}").json()["name"] == "Second"
    assert project_id in {p["id"] for p in api.get("/clients/1/projects").json()["data"]}
    assert api.get("/clients/1").json()["name"] == "alpha"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"values": [{"name": "y", "value": 1}], "sigopt_ai": {"step": 2**70}},
            "ops[0] ('checkpoint' operation): step",
        ),
        ({"values": [{"name": "y" * 101, "value": 1}]}, "ops[0] ('checkpoint' operation): checkpoint metric name"),
        ({"values": [{"name": "y", "value": "high"}]}, "checkpoint.values[0].value"),
    ],
)
def test_a_checkpoint_the_store_cannot_hold_gets_400(
    api: httpx.Client, project: str, body: dict[str, Any], field: str
) -> None:
    run = _create(api, project)
    response = api.post(f"/training_runs/{run['id']}/checkpoints", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith(field), response.json()["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"values": {"y" * 101: {"value": 1}}}, "training_run.values["),
        ({"metadata": {"a": "x" * 501}}, "training_run.metadata['a']"),
        ({"assignments": {"a": 2**70}}, "training_run.assignments['a']"),
        ({"name": "x" * 101}, "name"),
    ],
)
def test_a_value_past_the_sdks_limits_gets_400(
    api: httpx.Client, project: str, body: dict[str, Any], field: str
) -> None:
    run = _create(api, project)
    response = _merge(api, run["id"], body)
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith(field), response.json()["message"]
