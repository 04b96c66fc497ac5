"""Archiving on a real server: SigOpt's ``deleted`` for runs (DELETE archives, ``"deleted": false``
brings a run back) and ``state`` for experiments (``"active"`` unarchives), driven by the official
client's ``archive_run``/``unarchive_run`` and ``archive_experiment``/``unarchive_experiment``, and
projects made through the store's contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import run_python
from tests.live_server import LiveServer

ARCHIVE_FLOW = """
import json
import sigopt

out = {}
sigopt.create_project()
with sigopt.create_run(name="kept") as kept:
    kept.log_metric("y", 1.0)
with sigopt.create_run(name="archived") as run:
    run.log_metric("y", 2.0)
out["kept"], out["run"] = kept.id, run.id
sigopt.archive_run(run.id)
out["after_archive"] = sigopt.get_run(run.id).deleted
sigopt.unarchive_run(run.id)
out["after_unarchive"] = sigopt.get_run(run.id).deleted
sigopt.archive_run(run.id)

experiment = sigopt.create_experiment(
    name="archived",
    parameters=[{"name": "x", "type": "double", "bounds": {"min": 0.0, "max": 1.0}}],
    metrics=[{"name": "y", "objective": "maximize"}],
    budget=3,
)
out["experiment"] = experiment.id
sigopt.archive_experiment(experiment.id)
out["experiment_archived"] = sigopt.get_experiment(experiment.id).state
sigopt.unarchive_experiment(experiment.id)
out["experiment_unarchived"] = sigopt.get_experiment(experiment.id).state
with experiment.create_run() as served:
    served.log_metric("y", served.params.x)
out["served"] = served.id
print(json.dumps(out))
"""


def _run(api: httpx.Client, cid: str, project: str = "arch") -> dict[str, Any]:
    api.post(f"/clients/{cid}/projects", json={"id": project})
    created = api.post(f"/clients/{cid}/projects/{project}/training_runs", json={"name": "r"})
    assert created.status_code == 200, created.text
    return dict(created.json())


def _listed(api: httpx.Client, cid: str, project: str = "arch") -> list[str]:
    return [run["id"] for run in api.get(f"/clients/{cid}/projects/{project}/training_runs").json()["data"]]


def test_the_official_client_archives_and_unarchives(
    live_server: LiveServer, api: httpx.Client, cid: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    env = {**live_server.env(), "HOME": str(home), "SIGOPT_HOME": str(home / ".sigopt"), "SIGOPT_PROJECT": "oc"}
    done = run_python(ARCHIVE_FLOW, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert (out["after_archive"], out["after_unarchive"]) == (True, False)
    assert (out["experiment_archived"], out["experiment_unarchived"]) == ("deleted", "active")
    listed = _listed(api, cid, "oc")
    assert out["kept"] in listed and out["run"] not in listed and out["served"] in listed
    archived = api.get(f"/training_runs/{out['run']}").json()
    assert archived["deleted"] is True and archived["values"]["y"]["value"] == 2.0


def test_delete_archives_and_deleted_false_brings_back(api: httpx.Client, cid: str) -> None:
    run = _run(api, cid)
    assert api.delete(f"/training_runs/{run['id']}").status_code == 204
    assert run["id"] not in _listed(api, cid)
    assert api.get(f"/training_runs/{run['id']}").json()["deleted"] is True
    back = api.request("MERGE", f"/training_runs/{run['id']}", json={"deleted": False})
    assert back.status_code == 200 and back.json()["deleted"] is False
    assert run["id"] in _listed(api, cid)
    again = api.put(f"/training_runs/{run['id']}", json={"deleted": True, "name": "renamed"})
    assert again.json()["deleted"] is True and again.json()["name"] == "renamed"
    assert run["id"] not in _listed(api, cid)


def test_deleted_must_be_a_boolean(api: httpx.Client, cid: str) -> None:
    run = _run(api, cid)
    refused = api.put(f"/training_runs/{run['id']}", json={"deleted": "yes"})
    assert refused.status_code == 400 and refused.json()["message"].startswith("training_run.deleted")
    assert api.get(f"/training_runs/{run['id']}").json()["deleted"] is False


def test_a_refused_body_does_not_archive(api: httpx.Client, cid: str) -> None:
    """The model type passes the body's parsing but not the values' checks: nothing of it is applied."""
    run = _run(api, cid)
    for method in ("PUT", "MERGE"):
        body = {"deleted": True, "name": "renamed", "model": {"type": "x" * 600}}
        refused = api.request(method, f"/training_runs/{run['id']}", json=body)
        assert refused.status_code == 400 and "model" in refused.json()["message"], refused.text
        stored = api.get(f"/training_runs/{run['id']}").json()
        assert (stored["deleted"], stored["name"]) == (False, "r")
    assert run["id"] in _listed(api, cid)


def test_another_client_cannot_archive_a_run(live_server: LiveServer, api: httpx.Client, cid: str) -> None:
    run = _run(api, cid)
    with httpx.Client(base_url=live_server.url + "/v1", auth=(live_server.make_token("eve"), "")) as other:
        assert other.delete(f"/training_runs/{run['id']}").status_code == 404
        assert other.put(f"/training_runs/{run['id']}", json={"deleted": True}).status_code == 404
    assert api.get(f"/training_runs/{run['id']}").json()["deleted"] is False


def test_an_unarchived_aiexperiment_serves_runs_again(api: httpx.Client, cid: str) -> None:
    api.post(f"/clients/{cid}/projects", json={"id": "arch"})
    body = {
        "name": "e",
        "parameters": [{"name": "x", "type": "double", "bounds": {"min": 0, "max": 1}}],
        "metrics": [{"name": "y", "objective": "maximize"}],
        "budget": 2,
    }
    aid = api.post(f"/clients/{cid}/projects/arch/aiexperiments", json=body).json()["id"]
    assert api.delete(f"/aiexperiments/{aid}").status_code == 204
    assert api.post(f"/aiexperiments/{aid}/training_runs", json={}).status_code >= 400
    assert api.put(f"/aiexperiments/{aid}", json={"state": "active"}).json()["state"] == "active"
    served = api.post(f"/aiexperiments/{aid}/training_runs", json={})
    assert served.status_code == 200, served.text


def test_archiving_an_aiexperiment_with_its_runs(api: httpx.Client, cid: str) -> None:
    api.post(f"/clients/{cid}/projects", json={"id": "arch"})
    body = {
        "name": "e",
        "parameters": [{"name": "x", "type": "double", "bounds": {"min": 0, "max": 1}}],
        "metrics": [{"name": "y", "objective": "maximize"}],
        "budget": 4,
    }
    kept, gone = (api.post(f"/clients/{cid}/projects/arch/aiexperiments", json=body).json()["id"] for _ in range(2))
    kept_run = api.post(f"/aiexperiments/{kept}/training_runs", json={}).json()["id"]
    gone_run = api.post(f"/aiexperiments/{gone}/training_runs", json={}).json()["id"]
    assert api.delete(f"/aiexperiments/{kept}", params={"include_runs": "false"}).status_code == 204
    assert api.delete(f"/aiexperiments/{gone}", params={"include_runs": "true"}).status_code == 204
    assert api.get(f"/training_runs/{kept_run}").json()["deleted"] is False
    assert api.get(f"/training_runs/{gone_run}").json()["deleted"] is True


def test_a_project_is_made_once_and_keeps_its_metadata(api: httpx.Client, cid: str) -> None:
    made = api.post(f"/clients/{cid}/projects", json={"id": "meta", "name": "Meta", "metadata": {"team": "a"}})
    assert made.status_code == 200 and made.json()["metadata"] == {"team": "a"} and made.json()["name"] == "Meta"
    assert api.post(f"/clients/{cid}/projects", json={"id": "meta"}).status_code == 409
    fetched = api.get(f"/clients/{cid}/projects/meta").json()
    assert (fetched["name"], fetched["metadata"]) == ("Meta", {"team": "a"})
