"""The official ``sigopt`` 8.8.3 client, unmodified, against a real server.

Each flow runs in its own interpreter: the client reads its settings (API URL, token, project,
``~/.sigopt``) at import and keeps global state, which must stay out of this process. The script
prints what the client saw as one JSON line; the test then checks the server's side of it through
the HTTP API and by reading the server's store with ``sigopt_ai`` itself.

The requests each flow sends are listed in the client's source (request_driver.py, factory.py,
run_context.py, aiexperiment_context.py): the AI module goes through ``/tokens/self``, projects,
project training runs, ``MERGE /training_runs/{id}`` (with ``X-Response-Content: skip``), AI
experiments and ``best_training_runs``; the core loop through ``/experiments``, suggestions,
observations and ``best_assignments``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sigopt_ai.backends import Backend, make_backend
from tests.conftest import run_python
from tests.live_server import LiveServer

# A plain run, a failed run, then an AI experiment of budget 5 driven by loop(): the third run calls
# log_failure, the others log y = x * n. The loop has a guard so that a server whose remaining_budget
# never reaches 0 fails the test instead of hanging it.
AI_FLOW = """
import json
import sigopt

out = {}
sigopt.create_project()
with sigopt.create_run(name="plain") as run:
    run.log_metric("accuracy", 0.5)
    run.log_metric("accuracy", 0.75, stddev=0.1)
    run.log_checkpoint({"accuracy": 0.6})
    run.log_metadata("host", "box")
    run.params.lr = 0.1
out["plain"] = run.id
broken = sigopt.create_run(name="broken")
broken.log_metric("accuracy", 0.1)
broken.log_failure()
broken.end()
out["broken"] = broken.id
experiment = sigopt.create_experiment(
    name="compat",
    parameters=[
        {"name": "x", "type": "double", "bounds": {"min": 0.0, "max": 1.0}},
        {"name": "n", "type": "int", "bounds": {"min": 1, "max": 5}},
    ],
    metrics=[{"name": "y", "objective": "maximize"}],
    budget=5,
)
out["experiment"] = experiment.id
out["experiment_project"] = experiment.project
runs = []
for index, run in enumerate(experiment.loop()):
    with run:
        x, n = run.params.x, run.params.n
        if index == 2:
            run.log_failure()
        else:
            run.log_metric("y", x * n)
    runs.append({"id": run.id, "x": x, "n": n, "failed": index == 2, "experiment": run.experiment})
    if len(runs) >= 12:
        break
out["runs"] = runs
out["best"] = [
    {"id": best.id, "y": best.values["y"].value, "assignments": dict(best.assignments)}
    for best in experiment.get_best_runs()
]
out["experiment_runs"] = sorted(run.id for run in experiment.get_runs())
fetched = sigopt.get_experiment(experiment.id)
out["remaining_budget"] = fetched.progress.remaining_budget
out["finished_run_count"] = fetched.progress.finished_run_count
out["state_of_broken"] = sigopt.get_run(broken.id).state
print(json.dumps(out))
"""

# The core loop of SigOpt's examples with an explicit Connection: budget 6, the second suggestion
# fails, the fourth is reported by its assignments instead of its id.
CORE_FLOW = """
import json
import sys
import sigopt

url, token = sys.argv[1], sys.argv[2]
conn = sigopt.Connection(client_token=token)
conn.set_api_url(url)
experiment = conn.experiments().create(
    name="core",
    parameters=[
        {"name": "x", "type": "double", "bounds": {"min": -1.0, "max": 1.0}},
        {"name": "c", "type": "categorical", "categorical_values": [{"name": "a"}, {"name": "b"}]},
    ],
    metrics=[{"name": "score", "objective": "maximize"}],
    observation_budget=6,
)
observed = []
while experiment.progress.observation_count < experiment.observation_budget and len(observed) < 12:
    suggestion = conn.experiments(experiment.id).suggestions().create()
    assignments = dict(suggestion.assignments)
    if len(observed) == 1:
        conn.experiments(experiment.id).observations().create(suggestion=suggestion.id, failed=True)
        observed.append({"suggestion": suggestion.id, "assignments": assignments, "failed": True})
        continue
    score = -((assignments["x"] - 0.3) ** 2) + (0.5 if assignments["c"] == "a" else 0.0)
    values = [{"name": "score", "value": score}]
    if len(observed) == 3:  # reported by its assignments instead of the suggestion's id
        conn.experiments(experiment.id).observations().create(assignments=assignments, values=values)
    else:
        conn.experiments(experiment.id).observations().create(suggestion=suggestion.id, values=values)
    observed.append({"suggestion": suggestion.id, "assignments": assignments, "failed": False, "score": score})
    experiment = conn.experiments(experiment.id).fetch()
progress = experiment.progress
best = [
    {"id": b.id, "assignments": dict(b.assignments), "values": {v.name: v.value for v in b.values}}
    for b in conn.experiments(experiment.id).best_assignments().fetch().iterate_pages()
]
observations = [
    {"id": o.id, "suggestion": o.suggestion, "failed": o.failed, "assignments": dict(o.assignments),
     "values": {v.name: v.value for v in (o.values or [])}}
    for o in conn.experiments(experiment.id).observations().fetch().iterate_pages()
]
open_suggestions = list(conn.experiments(experiment.id).suggestions().fetch(state="open").iterate_pages())
print(json.dumps({
    "experiment": experiment.id,
    "observed": observed,
    "observation_count": progress.observation_count,
    "budget_consumed": progress.observation_budget_consumed,
    "best": best,
    "observations": observations,
    "open": len(open_suggestions),
}))
"""


def _client_env(server: LiveServer, home: Path, project: str) -> dict[str, str]:
    """The settings the official client reads at import, with its home kept out of the user's."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        **server.env(),
        "SIGOPT_HOME": str(home / ".sigopt"),
        "HOME": str(home),
        "SIGOPT_PROJECT": project,
    }


def _run_client(script: str, env: dict[str, str], *args: str) -> dict[str, Any]:
    """Run ``script`` in a fresh interpreter with the official client; its last stdout line as JSON."""
    code = script if not args else f"import sys; sys.argv[1:] = {list(args)!r}\n{script}"
    done = run_python(code, env=env, timeout=120)
    assert done.returncode == 0, f"the official client failed:\n{done.stderr[-4000:]}"
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _http(server: LiveServer, token: str | None = None) -> httpx.Client:
    return httpx.Client(base_url=server.url + "/v1", auth=(token or server.token, ""), timeout=30)


def _client_id(server: LiveServer) -> str:
    with _http(server) as http:
        return str(http.get("/tokens/self").json()["client"])


@pytest.fixture
def store_of() -> Iterator[Any]:
    """Opens the server's own store with ``sigopt_ai`` (closed after the test)."""
    opened: list[Backend] = []

    def open_store(server: LiveServer) -> Backend:
        backend = make_backend(server.db)
        opened.append(backend)
        return backend

    yield open_store
    for backend in opened:
        backend.close()


@pytest.mark.parametrize("server_fixture", ["live_server", "live_server_pg"])
def test_ai_module_flow(server_fixture: str, request: pytest.FixtureRequest, tmp_path: Path, store_of: Any) -> None:
    """create_run + log_metric + log_failure, create_experiment().loop() and get_best_runs()."""
    server: LiveServer = request.getfixturevalue(server_fixture)
    out = _run_client(AI_FLOW, _client_env(server, tmp_path / "home", "compat"))
    client = _client_id(server)
    store = store_of(server)

    with _http(server) as http:
        plain = http.get(f"/training_runs/{out['plain']}").json()
    assert plain["state"] == "completed"
    assert plain["project"] == "compat"
    assert plain["values"]["accuracy"]["value"] == 0.75
    assert plain["values"]["accuracy"]["value_stddev"] == 0.1
    assert plain["assignments"] == {"lr": 0.1}
    assert plain["metadata"]["host"] == "box"
    assert plain["checkpoint_count"] == 1
    assert out["state_of_broken"] == "failed"

    record = store.read_run(out["plain"])
    assert record is not None and record.project == f"c{client}.compat"
    assert record.metrics == {"accuracy": 0.75}
    broken = store.read_run(out["broken"])
    assert broken is not None and broken.state.value == "failed"
    assert broken.failure is not None and broken.failure.kind.value == "reported"
    assert broken.metrics == {"accuracy": 0.1}

    # The loop stopped by itself at the budget: five runs, one per suggestion.
    runs = out["runs"]
    assert len(runs) == 5
    assert out["experiment_project"] == "compat"
    assert {run["experiment"] for run in runs} == {out["experiment"]}
    assert out["experiment_runs"] == sorted(run["id"] for run in runs)  # get_runs() filters by experiment
    assert out["remaining_budget"] == 0
    assert out["finished_run_count"] == 5
    stored_runs = [store.read_run(run["id"]) for run in runs]
    assert all(r is not None and r.experiment == out["experiment"] for r in stored_runs)
    suggestions = [r.suggestion for r in stored_runs if r is not None]
    assert None not in suggestions and len(set(suggestions)) == 5
    for run, stored in zip(runs, stored_runs, strict=True):
        assert stored is not None
        assert stored.state.value == ("failed" if run["failed"] else "completed")
        assert dict(stored.params) == {"x": run["x"], "n": run["n"]}

    # The server made one observation per run, the failed one with the kind log_failure records.
    progress = store.progress(out["experiment"])
    assert progress is not None
    assert (progress.finished, progress.failed, progress.active, progress.remaining) == (5, 1, 0, 0)
    assert dict(progress.failed_by_kind) == {"reported": 1}
    observations = store.observations(out["experiment"])
    assert len(observations) == 5
    by_run = {o.run: o for o in observations}
    assert set(by_run) == {run["id"] for run in runs}
    for run in runs:
        observation = by_run[run["id"]]
        assert observation.failed is run["failed"]
        if run["failed"]:
            assert observation.failure_kind == "reported"
        else:
            assert observation.values == {"y": pytest.approx(run["x"] * run["n"])}

    # get_best_runs: the run of the best value.
    succeeded = [run for run in runs if not run["failed"]]
    best_run = max(succeeded, key=lambda run: run["x"] * run["n"])
    assert [best["id"] for best in out["best"]] == [best_run["id"]]
    assert out["best"][0]["y"] == pytest.approx(best_run["x"] * best_run["n"])
    assert out["best"][0]["assignments"] == {"x": best_run["x"], "n": best_run["n"]}


def test_core_loop(live_server: LiveServer, tmp_path: Path, store_of: Any) -> None:
    """Connection(client_token=...) + set_api_url, suggestions, observations (and failed), best assignments."""
    env = _client_env(live_server, tmp_path / "home", "compat")
    # Only the explicit arguments may point the client at the server.
    env["SIGOPT_API_URL"] = "http://127.0.0.1:9"
    env["SIGOPT_API_TOKEN"] = "not-this-one"
    out = _run_client(CORE_FLOW, env, live_server.api_url, live_server.token)

    observed = out["observed"]
    assert len(observed) == 6
    assert [o["failed"] for o in observed] == [False, True, False, False, False, False]
    assert len({o["suggestion"] for o in observed}) == 6
    assert out["observation_count"] == 6
    assert out["budget_consumed"] == 6
    assert out["open"] == 0

    observations = out["observations"]
    assert len(observations) == 6
    by_suggestion = {o["suggestion"]: o for o in observations}
    assert set(by_suggestion) == {o["suggestion"] for o in observed}
    for sent in observed:
        got = by_suggestion[sent["suggestion"]]
        assert got["failed"] is sent["failed"]
        assert got["assignments"] == sent["assignments"]
        if not sent["failed"]:
            assert got["values"] == {"score": pytest.approx(sent["score"])}

    # The best assignment is the best value observed.
    best_sent = max((o for o in observed if not o["failed"]), key=lambda o: o["score"])
    assert len(out["best"]) == 1
    assert out["best"][0]["assignments"] == best_sent["assignments"]
    assert out["best"][0]["values"] == {"score": pytest.approx(best_sent["score"])}
    assert out["best"][0]["id"] == by_suggestion[best_sent["suggestion"]]["id"]

    progress = store_of(live_server).progress(out["experiment"])
    assert progress is not None
    assert (progress.finished, progress.failed, progress.active) == (6, 1, 0)


PAGED_OBSERVATIONS = """
import json
import sys
import sigopt

url, token = sys.argv[1], sys.argv[2]
conn = sigopt.Connection(client_token=token)
conn.set_api_url(url)
experiment = conn.experiments().create(
    name="paged",
    parameters=[{"name": "x", "type": "double", "bounds": {"min": 0.0, "max": 1.0}}],
    metrics=[{"name": "y"}],
    observation_budget=5,
)
made = []
for _ in range(5):
    suggestion = conn.experiments(experiment.id).suggestions().create()
    made.append(conn.experiments(experiment.id).observations().create(
        suggestion=suggestion.id, values=[{"name": "y", "value": suggestion.assignments["x"]}]
    ).id)
first = conn.experiments(experiment.id).observations().fetch(limit=2)
listed = [o.id for o in first.iterate_pages()]
print(json.dumps({"made": made, "listed": listed, "first_page": len(first.to_json()["data"])}))
"""


def test_client_pages_through_observations(live_server: LiveServer, tmp_path: Path) -> None:
    """iterate_pages() over pages of 2 sees every observation once (it pages with ``before``)."""
    env = _client_env(live_server, tmp_path / "home", "compat")
    out = _run_client(PAGED_OBSERVATIONS, env, live_server.api_url, live_server.token)
    assert out["first_page"] == 2
    assert sorted(out["listed"]) == sorted(out["made"])
