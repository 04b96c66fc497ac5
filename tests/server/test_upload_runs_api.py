"""Batch uploads on a real server: ``POST /v1/clients/{cid}/projects/{pid}/training_runs/batch``, which
the official client's ``sigopt.upload_runs`` sends, read back with the official client and with
``sigopt_ai.get_run`` over the HTTP backend; a bad body stores nothing; another client's project is
out of reach."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import sigopt_ai
from sigopt_ai import FailureKind, RunState
from tests.conftest import run_python
from tests.live_server import LiveServer

# sigopt-python's integration_test/test_sigopt.py: TestSigOpt.create_run and test_upload_runs (10 runs,
# batches of 3), with the runs read back through the official client.
OFFICIAL_UPLOAD = """
import json
import uuid
import sigopt

def create_run(n):
    return {
        "name": f"batch-{n}",
        "assignments": {"x": n, "y": n * n},
        "values": {"r0": dict(value=n * n + n), "r1": dict(value=n**2)},
        "state": "completed" if (n % 2 == 0) else "failed",
    }

sigopt.create_project()
runs = [create_run(i) for i in range(10)]
training_runs = sigopt.upload_runs(runs, 3)
assert len(training_runs) == 10
ids = [run.id for run in training_runs]
read = [sigopt.get_run(run_id) for run_id in ids]
print(json.dumps({"ids": ids, "runs": [run.to_json() for run in read]}))
"""


@pytest.fixture
def through_server(live_server: LiveServer, tmp_path: Path) -> Iterator[None]:
    """sigopt_ai's session on the HTTP backend of the live server."""
    sigopt_ai.configure(api_url=live_server.url, api_token=live_server.token, spool=tmp_path / "journal.db")
    yield
    sigopt_ai.configure(api_url="")


def _project(api: httpx.Client, cid: str, prefix: str) -> str:
    """A new project of the client (the server is shared by the module's tests)."""
    project = f"{prefix}-{uuid.uuid4().hex[:8]}"
    created = api.post(f"/clients/{cid}/projects", json={"id": project})
    assert created.status_code in (200, 201), created.text
    return project


def _listed(api: httpx.Client, cid: str, project: str) -> list[dict[str, Any]]:
    listed = api.get(f"/clients/{cid}/projects/{project}/training_runs")
    assert listed.status_code == 200, listed.text
    return list(listed.json()["data"])


def _batch(api: httpx.Client, cid: str, project: str, body: dict[str, Any]) -> httpx.Response:
    return api.post(f"/clients/{cid}/projects/{project}/training_runs/batch", json=body)


def test_the_official_clients_upload_runs_reads_back(
    live_server: LiveServer, api: httpx.Client, cid: str, tmp_path: Path, through_server: None
) -> None:
    home = tmp_path / "home"
    env = {**live_server.env(), "HOME": str(home), "SIGOPT_HOME": str(home / ".sigopt"), "SIGOPT_PROJECT": "up"}
    done = run_python(OFFICIAL_UPLOAD, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    ids, official = out["ids"], out["runs"]
    assert len(set(ids)) == 10
    for n, run in enumerate(official):
        assert run["name"] == f"batch-{n}" and run["project"] == "up"
        assert run["state"] == ("completed" if n % 2 == 0 else "failed")
        assert run["assignments"] == {"x": n, "y": n * n}
        assert {name: value["value"] for name, value in run["values"].items()} == {"r0": n * n + n, "r1": n**2}
    assert sorted(run["id"] for run in _listed(api, cid, "up")) == sorted(ids)

    for n, run_id in enumerate(ids):
        record = sigopt_ai.get_run(run_id)
        assert (record.name, record.project) == (f"batch-{n}", "up")
        assert dict(record.params) == {"x": n, "y": n * n}
        assert dict(record.metrics) == {"r0": n * n + n, "r1": n**2}
        if n % 2 == 0:
            assert record.state is RunState.COMPLETED and record.failure is None
        else:
            assert record.state is RunState.FAILED
            assert record.failure is not None and record.failure.kind is FailureKind.REPORTED


def test_without_fields_the_reply_is_the_stored_runs(api: httpx.Client, cid: str) -> None:
    project = _project(api, cid, "full")
    body = {"runs": [{"name": "a", "values": {"y": {"value": 1.5, "value_stddev": 0.1}}, "metadata": {"k": "v"}}]}
    reply = _batch(api, cid, project, body)
    assert reply.status_code == 200, reply.text
    page = reply.json()
    assert page["object"] == "pagination" and page["count"] == 1
    [run] = page["data"]
    assert run == api.get(f"/training_runs/{run['id']}").json()
    assert run["values"]["y"]["value_stddev"] == 0.1 and run["metadata"] == {"k": "v"}

    chosen = _batch(api, cid, project, {"runs": [{"name": "b"}], "fields": "id,name"}).json()["data"]
    assert [set(item) for item in chosen] == [{"object", "id", "name"}] and chosen[0]["name"] == "b"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"runs": [{"name": "ok"}] * 3 + [{"values": {"accuracy": {"value": "high"}}}]}, "runs[3]"),
        ({"runs": [{"name": "ok"}, {"assignments": {"x": [1, 2]}}]}, "runs[1]"),
        ({"runs": [{"name": "ok"}, {"colour": "red"}]}, "runs[1].'colour'"),
        ({"runs": [{"name": "ok"}, {"state": "sleeping"}]}, "runs[1]"),
        ({"runs": [{"name": "ok", "project": "elsewhere"}]}, "runs[0].project"),
        ({"runs": {"name": "ok"}}, "runs"),
        ({"runs": [{"name": "ok"}], "fields": "id,bogus"}, "fields"),
        ({"runs": [{"name": "ok"}], "dry_run": True}, "dry_run"),
    ],
)
def test_a_bad_body_is_400_naming_the_field_and_stores_nothing(
    api: httpx.Client, cid: str, body: dict[str, Any], field: str
) -> None:
    project = _project(api, cid, "bad")
    refused = _batch(api, cid, project, body)
    assert refused.status_code == 400, refused.text
    message = refused.json()["message"]
    assert message.startswith(field), message
    if field == "runs[3]":
        assert "accuracy" in message and "value" in message
    assert _listed(api, cid, project) == []


def test_a_body_over_the_limit_is_413_and_stores_nothing(api: httpx.Client, cid: str) -> None:
    project = _project(api, cid, "big")
    runs = [{"name": f"r{n}", "metadata": {"blob": "x" * 4000}} for n in range(2200)]  # about 9 MB
    refused = _batch(api, cid, project, {"runs": runs, "fields": "id"})
    assert refused.status_code == 413, refused.text[:300]
    assert _listed(api, cid, project) == []


def test_another_clients_project_is_out_of_reach(live_server: LiveServer, api: httpx.Client, cid: str) -> None:
    project = _project(api, cid, "mine")
    body = {"runs": [{"name": "intruder"}], "fields": "id"}
    with httpx.Client(base_url=live_server.url + "/v1", auth=(live_server.make_token("eve"), ""), timeout=60) as eve:
        eve_cid = str(eve.get("/tokens/self").json()["client"])
        assert _batch(eve, cid, project, body).status_code == 404  # alpha's client path
        assert _batch(eve, eve_cid, project, body).status_code == 404  # eve has no project of that id
        assert eve.post(f"/clients/{eve_cid}/projects", json={"id": project}).status_code in (200, 201)
        [own] = _batch(eve, eve_cid, project, body).json()["data"]
        assert api.get(f"/training_runs/{own['id']}").status_code == 404
    assert _listed(api, cid, project) == []
