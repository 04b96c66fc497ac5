"""The dashboard's analysis routes over a real server: shapes, sorting and pagination of the runs
table, 400s naming the field, the failure map's model, experiment.yml round trip, tenant isolation.

One module-scoped experiment is filled the way the official client fills one: runs of an AI
experiment served by the optimizer, completed with a value or failed with a kind (wide runs run out
of memory, high learning rates diverge).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sigopt_ai.experiments._parse import load_experiment_file, parse_experiment
from tests.live_server import LiveServer

BUDGET = 16
PARAMETERS = [
    {"name": "lr", "type": "double", "bounds": {"min": 0.0001, "max": 1.0}, "transformation": "log"},
    {"name": "width", "type": "int", "bounds": {"min": 1, "max": 100}},
    {"name": "batch", "type": "int", "bounds": {"min": 1, "max": 10}},
]
BODY: dict[str, Any] = {
    "name": "analysis api",
    "parameters": PARAMETERS,
    "metrics": [{"name": "loss", "objective": "minimize"}],
    "budget": BUDGET,
}
SEED = {"sigopt_ai": {"seed": 7}}  # the optimizer's suggestions, and so the failures, are the same each run


def _outcome(assignments: dict[str, Any]) -> dict[str, Any]:
    """What a run of these assignments reports: a MERGE body that ends it."""
    if assignments["width"] > 60:
        kind = "oom"
    elif assignments["lr"] > 0.1:
        kind = "diverged"
    else:
        loss = abs(assignments["lr"] - 0.01) + assignments["width"] / 1000
        return {"values": {"loss": {"value": loss}}, "state": "completed"}
    failure = {"kind": kind, "type": "RuntimeError", "message": f"{kind} at step 1", "traceback": None}
    return {"state": "failed", "sigopt_ai": {"failure": failure}}


@pytest.fixture(scope="module")
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    """One client for the module's experiment (``api`` is per test; the fill is per module)."""
    with httpx.Client(base_url=live_server.url + "/v1", auth=(live_server.token, ""), timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def experiment(http: httpx.Client) -> dict[str, Any]:
    """The filled AI experiment, as its create call returned it."""
    cid = http.get("/tokens/self").json()["client"]
    created = http.post(f"/clients/{cid}/projects/analysis/aiexperiments", json={**BODY, **SEED})
    assert created.status_code == 200, created.text
    record: dict[str, Any] = created.json()
    for _ in range(BUDGET):
        run = http.post(f"/aiexperiments/{record['id']}/training_runs", json={})
        assert run.status_code == 200, run.text
        ended = http.request("MERGE", f"/training_runs/{run.json()['id']}", json=_outcome(run.json()["assignments"]))
        assert ended.status_code in (200, 204), ended.text
    return record


@pytest.fixture(scope="module")
def stranger(live_server: LiveServer) -> Iterator[httpx.Client]:
    """A client of another tenant."""
    with httpx.Client(base_url=live_server.url + "/v1", auth=(live_server.make_token("beta"), ""), timeout=60) as c:
        yield c


def _get(client: httpx.Client, path: str, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _observations(client: httpx.Client, eid: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = _get(client, f"/experiments/{eid}/observations")["data"]
    return found


# --- the experiments list


def test_the_experiments_list_has_progress_failures_by_kind_and_the_best_value(
    api: httpx.Client, cid: str, experiment: dict[str, Any]
) -> None:
    rows = _get(api, f"/clients/{cid}/sigopt_ai/experiments")["data"]
    row = next(r for r in rows if r["id"] == experiment["id"])
    observations = _observations(api, experiment["id"])
    failed = [o for o in observations if o["failed"]]
    kinds: dict[str, int] = {}
    for o in failed:
        kinds[o["sigopt_ai"]["failure_kind"]] = kinds.get(o["sigopt_ai"]["failure_kind"], 0) + 1
    best = _get(api, f"/experiments/{experiment['id']}/best_assignments")["data"][0]["values"][0]["value"]
    assert row["name"] == "analysis api" and row["project"] == "analysis" and row["state"] == "active"
    assert (row["budget"], row["observation_count"], row["failed"]) == (BUDGET, len(observations), len(failed))
    assert row["failed_by_kind"] == kinds and set(kinds) == {"oom", "diverged"}
    assert row["active_run_count"] == 0 and row["done"] is True
    assert row["best_value"] == best
    assert row["metric"] == {"name": "loss", "objective": "minimize"}
    assert isinstance(row["created"], float)
    assert [r["created"] for r in rows] == sorted((r["created"] for r in rows), reverse=True)  # newest first


def test_a_new_experiment_is_listed_first_and_not_done(api: httpx.Client, cid: str) -> None:
    body = {**BODY, **SEED, "name": "fresh"}
    fresh = api.post(f"/clients/{cid}/projects/analysis/aiexperiments", json=body).json()
    first = _get(api, f"/clients/{cid}/sigopt_ai/experiments", project="analysis")["data"][0]
    assert first["id"] == fresh["id"]
    assert (first["observation_count"], first["best_value"], first["done"]) == (0, None, False)


# --- the analysis


def test_the_analysis_has_every_part_of_the_contract(api: httpx.Client, experiment: dict[str, Any]) -> None:
    eid = experiment["id"]
    found = _get(api, f"/experiments/{eid}/sigopt_ai/analysis")
    observations = _observations(api, eid)
    assert found["experiment"] == eid and found["count"] == len(observations) == BUDGET
    assert found["metrics"] == [{"name": "loss", "objective": "minimize", "strategy": "optimize", "threshold": None}]
    assert [p["name"] for p in found["parameters"]] == ["lr", "width", "batch"]
    assert found["parameters"][0] == {
        "name": "lr",
        "type": "double",
        "bounds": {"min": 0.0001, "max": 1.0},
        "categorical_values": None,
        "transformation": "log",
    }
    history = found["history"]
    assert history["metric"] == "loss" and history["objective"] == "minimize"
    assert history["x"] == list(range(1, BUDGET + 1))
    assert history["failed"] == [o["failed"] for o in observations]
    assert history["kind"] == [o["sigopt_ai"]["failure_kind"] if o["failed"] else None for o in observations]
    assert all(v is None for v, f in zip(history["value"], history["failed"], strict=True) if f)
    assert history["best"] == sorted(history["best"], reverse=True)  # minimized: never rises
    assert history["best_x"][-1] == BUDGET
    assert [p["index"] for p in found["points"]] == list(range(1, BUDGET + 1))
    assert {p["run"] for p in found["points"]} == {o["sigopt_ai"]["run"] for o in observations}
    assert found["pareto"] is None and found["constraints"] == [] and found["sampled"] is False
    assert found["separating_pair"] is not None and len(set(found["separating_pair"])) == 2
    official = _get(api, f"/experiments/{eid}/best_assignments")["data"]
    assert found["best_assignments"] == official


def test_the_analysis_samples_to_points_and_keeps_every_best_step(
    api: httpx.Client, experiment: dict[str, Any]
) -> None:
    found = _get(api, f"/experiments/{experiment['id']}/sigopt_ai/analysis", points=4)
    steps = set(found["history"]["best_x"][:-1])
    assert found["sampled"] is True
    assert len(found["points"]) <= max(4, len(steps))
    assert steps <= {p["index"] for p in found["points"]} or len(steps) > 4


@pytest.mark.parametrize("points", ["0", "x", "-3"])
def test_a_bad_points_is_a_400_naming_it(api: httpx.Client, experiment: dict[str, Any], points: str) -> None:
    response = api.get(f"/experiments/{experiment['id']}/sigopt_ai/analysis", params={"points": points})
    assert response.status_code == 400
    assert "points" in response.json()["message"]


def test_two_metrics_have_a_pareto_front_that_is_the_best_assignments(api: httpx.Client, cid: str) -> None:
    body = {
        "name": "pareto",
        "project": "analysis",
        "parameters": [{"name": "x", "type": "double", "bounds": {"min": 0, "max": 1}}],
        "metrics": [{"name": "a", "objective": "maximize"}, {"name": "b", "objective": "maximize"}],
        "observation_budget": 6,
        "type": "random",
    }
    eid = api.post(f"/clients/{cid}/experiments", json=body).json()["id"]
    for _ in range(6):
        suggestion = api.post(f"/experiments/{eid}/suggestions", json={}).json()
        x = suggestion["assignments"]["x"]
        values = [{"name": "a", "value": x}, {"name": "b", "value": 1 - x * x}]
        assert api.post(f"/experiments/{eid}/observations", json={"suggestion": suggestion["id"], "values": values})
    found = _get(api, f"/experiments/{eid}/sigopt_ai/analysis")
    official = _get(api, f"/experiments/{eid}/best_assignments")["data"]
    by_index = {p["index"]: p for p in found["points"]}
    assert found["pareto"]["metrics"] == ["a", "b"]
    assert [by_index[i]["suggestion"] for i in found["pareto"]["front"]] == [o["suggestion"] for o in official]
    assert len(found["pareto"]["front"]) == 6  # x up, 1 - x^2 down: every point is on the front


# --- the failure map


def test_the_failure_map_shows_the_separating_pair_and_the_learned_p_success(
    api: httpx.Client, experiment: dict[str, Any]
) -> None:
    eid = experiment["id"]
    pair = _get(api, f"/experiments/{eid}/sigopt_ai/analysis")["separating_pair"]
    found = _get(api, f"/experiments/{eid}/sigopt_ai/failure_map", grid=6)
    assert [found["x"]["name"], found["y"]["name"]] == pair
    assert len(found["points"]) == BUDGET
    assert {p["kind"] for p in found["points"] if p["failed"]} == {"oom", "diverged"}
    assert found["model"] == "bayesian"
    grid = found["success_probability"]
    assert len(grid["grid"]) == len(grid["ys"]) == 6 and all(len(row) == len(grid["xs"]) == 6 for row in grid["grid"])
    assert all(0.0 <= p <= 1.0 for row in grid["grid"] for p in row)
    best = _get(api, f"/experiments/{eid}/best_assignments")["data"][0]["assignments"]
    assert grid["sliced_at"] == {k: v for k, v in best.items() if k not in pair}
    again = _get(api, f"/experiments/{eid}/sigopt_ai/failure_map", grid=6)
    assert again == found  # the kept answer


def test_the_failure_map_takes_named_axes(api: httpx.Client, experiment: dict[str, Any]) -> None:
    found = _get(api, f"/experiments/{experiment['id']}/sigopt_ai/failure_map", x="lr", y="batch", grid=3)
    assert found["x"] == {"name": "lr", "min": 0.0001, "max": 1.0, "log": True}
    assert found["y"] == {"name": "batch", "min": 1, "max": 10, "log": False}
    assert found["success_probability"]["xs"][0] == pytest.approx(0.0001)


@pytest.mark.parametrize(
    ("route", "params", "field"),
    [
        ("failure_map", {"x": "nope"}, "x"),
        ("failure_map", {"y": "nope"}, "y"),
        ("failure_map", {"x": "lr", "y": "lr"}, "y"),
        ("failure_map", {"grid": 1}, "grid"),
        ("failure_map", {"grid": 101}, "grid"),
        ("failure_map", {"grid": "many"}, "grid"),
        ("runs", {"offset": -1}, "offset"),
        ("runs", {"limit": 0}, "limit"),
        ("runs", {"limit": 501}, "limit"),
        ("runs", {"limit": "all"}, "limit"),
        ("runs", {"sort": "colour"}, "sort"),
        ("runs", {"order": "up"}, "order"),
        ("runs", {"state": "lost"}, "state"),
    ],
)
def test_a_bad_query_is_a_400_naming_the_field(
    api: httpx.Client, experiment: dict[str, Any], route: str, params: dict[str, Any], field: str
) -> None:
    response = api.get(f"/experiments/{experiment['id']}/sigopt_ai/{route}", params=params)
    assert response.status_code == 400, response.text
    assert field in response.json()["message"].split(":")[0]


# --- the runs table


def test_the_runs_table_pages_through_every_run_once(api: httpx.Client, experiment: dict[str, Any]) -> None:
    eid = experiment["id"]
    seen: list[str] = []
    for offset in range(0, BUDGET, 5):
        page = _get(api, f"/experiments/{eid}/sigopt_ai/runs", offset=offset, limit=5)
        assert (page["count"], page["offset"], page["limit"]) == (BUDGET, offset, 5)
        seen += [r["id"] for r in page["data"]]
    runs = {o["sigopt_ai"]["run"] for o in _observations(api, eid)}
    assert len(seen) == len(set(seen)) == BUDGET and set(seen) == runs
    first = _get(api, f"/experiments/{eid}/sigopt_ai/runs", limit=500)["data"]
    assert [r["created"] for r in first] == sorted((r["created"] for r in first), reverse=True)
    row = first[0]
    assert set(row) == {
        "id", "name", "state", "created", "ended", "duration", "assignments", "values", "failure", "suggestion",
    }  # fmt: skip
    assert row["duration"] == pytest.approx(row["ended"] - row["created"])


def test_the_runs_table_sorts_by_value_with_failures_last(api: httpx.Client, experiment: dict[str, Any]) -> None:
    eid = experiment["id"]
    for order in ("asc", "desc"):
        rows = _get(api, f"/experiments/{eid}/sigopt_ai/runs", sort="value", order=order, limit=500)["data"]
        values = [r["values"]["loss"] for r in rows]
        present = [v for v in values if v is not None]
        assert values == present + [None] * (len(values) - len(present))
        assert present == sorted(present, reverse=order == "desc")


def test_the_runs_table_filters_by_state_and_sorts_by_kind(api: httpx.Client, experiment: dict[str, Any]) -> None:
    eid = experiment["id"]
    failed = _get(api, f"/experiments/{eid}/sigopt_ai/runs", state="failed", sort="kind", order="asc", limit=500)
    kinds = [r["failure"]["kind"] for r in failed["data"]]
    assert failed["count"] == len(kinds) > 0 and kinds == sorted(kinds)
    assert all(r["state"] == "failed" and r["failure"]["message"].endswith("at step 1") for r in failed["data"])
    completed = _get(api, f"/experiments/{eid}/sigopt_ai/runs", state="completed")
    assert completed["count"] + failed["count"] == BUDGET
    assert all(r["failure"] is None and r["values"]["loss"] is not None for r in completed["data"])


# --- experiment.yml


def test_experiment_yml_reads_back_as_the_same_definition(
    api: httpx.Client, experiment: dict[str, Any], tmp_path: Path
) -> None:
    response = api.get(f"/experiments/{experiment['id']}/sigopt_ai/experiment.yml")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/yaml")
    file = tmp_path / "experiment.yml"
    file.write_text(response.text, encoding="utf-8")
    assert load_experiment_file(file) == parse_experiment(BODY)


# --- tenancy


@pytest.mark.parametrize("route", ["analysis", "failure_map", "runs", "experiment.yml"])
def test_another_clients_experiment_is_a_404(stranger: httpx.Client, experiment: dict[str, Any], route: str) -> None:
    response = stranger.get(f"/experiments/{experiment['id']}/sigopt_ai/{route}")
    assert response.status_code == 404
    assert experiment["id"] in response.json()["message"]


def test_another_client_lists_none_of_these_experiments(
    stranger: httpx.Client, cid: str, experiment: dict[str, Any]
) -> None:
    own = stranger.get("/tokens/self").json()["client"]
    assert experiment["id"] not in [r["id"] for r in _get(stranger, f"/clients/{own}/sigopt_ai/experiments")["data"]]
    assert stranger.get(f"/clients/{cid}/sigopt_ai/experiments").status_code == 404


def test_without_a_token_the_routes_are_401(live_server: LiveServer, experiment: dict[str, Any]) -> None:
    response = httpx.get(f"{live_server.url}/v1/experiments/{experiment['id']}/sigopt_ai/analysis")
    assert response.status_code == 401


# --- one process, two stores


def test_two_stores_in_one_process_never_share_kept_answers(tmp_path: Path) -> None:
    """The routes keep observations and answers per experiment id, which repeats between stores (a
    report is made by an in-process app of its own): each store's experiment 1 is its own."""
    from starlette.testclient import TestClient

    from sigopt_ai.backends.sql import SQLBackend
    from sigopt_ai.server._app import create_app
    from sigopt_ai.server._store import ServerStore

    counts = []
    for name, observed in (("a", 3), ("b", 1)):
        db = str(tmp_path / f"{name}.db")
        backend = SQLBackend(db)
        token = ServerStore(backend).create_token("alpha")
        backend.close()
        with TestClient(create_app(db), base_url="http://testserver/v1") as client:
            client.auth = (token, "")
            cid = client.get("/tokens/self").json()["client"]
            body: dict[str, Any] = {"name": name, "project": "p", "type": "random", "parameters": PARAMETERS[:1]}
            body |= {"metrics": [{"name": "loss"}], "observation_budget": 5}
            eid = client.post(f"/clients/{cid}/experiments", json=body).json()["id"]
            for _ in range(observed):
                sid = client.post(f"/experiments/{eid}/suggestions", json={}).json()["id"]
                client.post(f"/experiments/{eid}/observations", json={"suggestion": sid, "values": [{"value": 1.0}]})
            found = client.get(f"/experiments/{eid}/sigopt_ai/analysis").json()
            counts.append((eid, found["count"], len(found["points"])))
    assert counts == [("1", 3, 3), ("1", 1, 1)]
