"""``sigopt.Connection``: sigopt-python's core-module loop, unchanged, on the embedded store and
through a live server; the official client and ours read the same objects; bad input names its field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sigopt_ai as sigopt
from sigopt_ai.connection import NotFound, RequestRejected
from sigopt_ai.exception import ApiException
from sigopt_ai.runs._session import get_session
from tests.conftest import run_python
from tests.live_server import LiveServer

PARAMETERS = [
    {"name": "x", "type": "double", "bounds": {"min": -1.0, "max": 1.0}},
    {"name": "n", "type": "int", "bounds": {"min": 1, "max": 4}},
]
METRICS = [{"name": "f", "objective": "maximize"}]
FAILED_EVERY = 4  # every 4th evaluation reports failed=True


def f(assignments: Any) -> float:
    return float(-((assignments["x"] - 0.3) ** 2) + 0.1 * assignments["n"])


@pytest.fixture(autouse=True)
def no_server_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test chooses its server itself: none from the environment the suite runs in."""
    for name in ("SIGOPT_API_URL", "SIGOPT_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real server over a fresh SQLite store, shared by this module's tests."""
    with LiveServer(str(tmp_path_factory.mktemp("live") / "server.db")) as live:
        yield live


def core_loop(conn: sigopt.Connection, budget: int = 8) -> tuple[str, list[dict[str, Any]]]:
    """The seeds' loop, as sigopt-python's users write it; returns the experiment's id and what it reported."""
    e = conn.experiments().create(name="core", parameters=PARAMETERS, metrics=METRICS, observation_budget=budget)
    assert e.progress.observation_count == 0
    reported: list[dict[str, Any]] = []
    for i in range(e.observation_budget):
        s = conn.experiments(e.id).suggestions().create()
        if i % FAILED_EVERY == FAILED_EVERY - 1:
            conn.experiments(e.id).observations().create(suggestion=s.id, failed=True)
            reported.append({"suggestion": s.id, "failed": True})
        else:
            value = f(s.assignments)
            conn.experiments(e.id).observations().create(suggestion=s.id, values=[{"name": "f", "value": value}])
            reported.append({"suggestion": s.id, "failed": False, "value": value, "assignments": dict(s.assignments)})
    return str(e.id), reported


def check_loop_results(conn: sigopt.Connection, experiment_id: str, reported: list[dict[str, Any]]) -> None:
    """What the user reads back after the loop: progress, best assignments, observations, a spent budget."""
    e = conn.experiments(experiment_id).fetch()
    assert e.progress.observation_count == len(reported) == e.observation_budget
    assert e.progress.observation_budget_consumed == len(reported)
    assert [p.name for p in e.parameters] == ["x", "n"] and e.parameters[0].bounds.min == -1.0
    assert e.metrics[0].objective == "maximize"

    best_value = max(r["value"] for r in reported if not r["failed"])
    best = conn.experiments(experiment_id).best_assignments().fetch()
    assert best.count == 1 and best.data[0].values[0].value == pytest.approx(best_value)
    assert f(best.data[0].assignments) == pytest.approx(best_value)
    assert [b.id for b in best.iterate_pages()] == [best.data[0].id]
    assert e.progress.best_observation.id == best.data[0].id

    observations = list(conn.experiments(experiment_id).observations().fetch().iterate_pages())
    assert [(o.suggestion, o.failed) for o in observations] == [(r["suggestion"], r["failed"]) for r in reported]
    assert all(o.values == [] for o in observations if o.failed)

    # The budget is spent: nothing more is served (the server's 204).
    assert conn.experiments(experiment_id).suggestions().create() is None


def test_core_loop_on_the_embedded_store(store: Path) -> None:
    conn = sigopt.Connection(client_token="unused-on-the-embedded-store")
    experiment_id, reported = core_loop(conn)
    check_loop_results(conn, experiment_id, reported)
    # It is the session's store: the rest of the library sees the same experiment.
    assert sigopt.get_experiment(experiment_id).progress.finished == len(reported)
    assert get_session().backend.url == str(store)


def test_open_suggestions_are_listed_and_deleted_by_id() -> None:
    conn = sigopt.Connection()
    e = conn.experiments().create(name="open", parameters=PARAMETERS, metrics=METRICS, observation_budget=3)
    s = conn.experiments(e.id).suggestions().create()
    listed = conn.experiments(e.id).suggestions().fetch(state="open")
    assert [o.id for o in listed.data] == [s.id] and listed.data[0].state == "open"
    assert conn.experiments(e.id).suggestions(s.id).fetch().assignments == s.assignments
    assert conn.experiments(e.id).suggestions(s.id).delete() is None
    with pytest.raises(NotFound, match="No suggestion with id 999") as caught:
        conn.experiments(e.id).suggestions("999").delete()
    assert caught.value.status_code == 404
    # Observed, it is closed.
    conn.experiments(e.id).observations().create(suggestion=s.id, values=[{"value": f(s.assignments)}])
    assert conn.experiments(e.id).suggestions().fetch(state="open").data == []
    assert [c.id for c in conn.experiments(e.id).suggestions().fetch(state="closed").data] == [s.id]


def test_experiments_are_updated_archived_and_listed() -> None:
    conn = sigopt.Connection(driver="lite")  # sigopt-python's in-process driver: the embedded store here
    e = conn.experiments().create(
        name="before", parameters=PARAMETERS, metrics=METRICS, observation_budget=2, project="proj"
    )
    assert e.project == "proj" and e.budget is None  # a field SigOpt defines but the JSON lacks reads None
    # Sent back as read (sigopt-python's integration test does so): accepted; changed: refused, naming it.
    renamed = conn.experiments(e.id).update(name="after", metadata={"owner": "me"}, parameters=e.parameters)
    assert (renamed.name, renamed.metadata) == ("after", {"owner": "me"})
    parameters = renamed.parameters
    parameters[0].bounds.max = 100  # new bounds are taken (sigopt-python's integration test widens them)
    assert conn.experiments(e.id).update(parameters=parameters).parameters[0].bounds.max == 100
    parameters[0].type = "int"
    with pytest.raises(RequestRejected, match=r"^parameters\[0\]\.type: only a parameter's bounds can change"):
        conn.experiments(e.id).update(parameters=parameters)
    with pytest.raises(RequestRejected, match="^project: an experiment's project cannot change"):
        conn.experiments(e.id).update(project="elsewhere")
    assert [x.id for x in conn.experiments().fetch(project="proj").data] == [e.id]
    assert conn.experiments(e.id).delete() is None
    assert conn.experiments(e.id).fetch().state == "deleted"
    assert conn.experiments(e.id).suggestions().create() is None
    with pytest.raises(AttributeError, match="importances"):
        conn.experiments(e.id).importances()


def test_sigopts_older_single_value_form_is_accepted() -> None:
    # sigopt-python's examples/other_languages.py: give back open suggestions, then report value=.
    conn = sigopt.Connection()
    e = conn.experiments().create(name="single", parameters=PARAMETERS, metrics=METRICS, observation_budget=2)
    assert conn.experiments(e.id).suggestions().delete(state="open") is None
    s = conn.experiments(e.id).suggestions().create()
    observed = conn.experiments(e.id).observations().create(suggestion=s.id, value=0.5, value_stddev=0.1)
    assert observed.values[0].name == "f" and observed.values[0].value == 0.5
    s = conn.experiments(e.id).suggestions().create()
    with pytest.raises(RequestRejected, match="^value: give either value"):
        conn.experiments(e.id).observations().create(suggestion=s.id, value=0.5, values=[{"value": 0.5}])
    with pytest.raises(RequestRejected, match="^value must be a number"):
        conn.experiments(e.id).observations().create(suggestion=s.id, value="high")
    two = conn.experiments().create(
        name="two", parameters=PARAMETERS, metrics=[{"name": "a"}, {"name": "b"}], observation_budget=1
    )
    s2 = conn.experiments(two.id).suggestions().create()
    with pytest.raises(RequestRejected, match="^value: this experiment has 2 metrics"):
        conn.experiments(two.id).observations().create(suggestion=s2.id, value=1.0)


def test_iterate_pages_fetches_every_page() -> None:
    conn = sigopt.Connection()
    e = conn.experiments().create(name="pages", parameters=PARAMETERS, metrics=METRICS, observation_budget=5)
    for _ in range(5):
        s = conn.experiments(e.id).suggestions().create()
        conn.experiments(e.id).observations().create(suggestion=s.id, values=[{"value": f(s.assignments)}])
    first = conn.experiments(e.id).observations().fetch(limit=2)
    assert len(first.data) == 2 and first.paging.before is not None
    every = [o.suggestion for o in first.iterate_pages()]
    assert len(every) == 5 == len(set(every))
    assert [o.id for o in conn.experiments(e.id).observations().fetch(limit=2, after="0").iterate_pages()] == [
        o.id for o in first.iterate_pages()
    ]


def test_client_paths_and_ai_experiments_on_a_server(server: LiveServer) -> None:
    with sigopt.Connection(client_token=server.token, api_url=server.url) as conn:
        client = conn.tokens("self").fetch().client
        e = (
            conn.clients(client)
            .experiments()
            .create(
                name="in client", parameters=PARAMETERS, metrics=METRICS, observation_budget=3, project="clientproj"
            )
        )
        assert e.client == client and e.project == "clientproj"
        assert e.id in [x.id for x in conn.clients(client).experiments().fetch(project="clientproj").data]
        ai = conn.aiexperiments(e.id).fetch()
        assert (ai.budget, ai.progress.remaining_budget) == (3, 3)
        with pytest.raises(AttributeError, match="observation_budget"):  # sigopt's AIExperiment has none either
            getattr(ai, "observation_budget")  # noqa: B009 (the attribute access is what is tested)
        with pytest.raises(NotFound, match="No client with id other"):
            conn.clients("other").experiments().fetch()


def test_an_unknown_driver_is_refused_naming_the_rule() -> None:
    with pytest.raises(sigopt.ConfigError, match="driver: expected one of \\['http', 'lite'\\]"):
        sigopt.Connection(driver="grpc")


def test_core_loop_through_a_live_server(server: LiveServer) -> None:
    conn = sigopt.Connection(client_token=server.token)
    conn.set_api_url(server.url)
    with conn:
        experiment_id, reported = core_loop(conn, budget=6)
        check_loop_results(conn, experiment_id, reported)
        assert conn.experiments(experiment_id).fetch().client == conn.tokens("self").fetch().client
        with pytest.raises(ApiException) as caught:
            conn.experiments("no-such-id").fetch()
        assert caught.value.status_code == 404 and "no-such-id" in caught.value.message


def test_the_environment_names_the_server(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGOPT_API_URL", server.url)
    monkeypatch.setenv("SIGOPT_API_TOKEN", server.token)
    conn = sigopt.Connection()  # as sigopt-python reads them
    e = conn.experiments().create(name="env", parameters=PARAMETERS, metrics=METRICS, observation_budget=1)
    with sigopt.Connection(client_token=server.token) as own:  # its own HTTP backend, to the env's URL
        assert own.experiments(e.id).fetch().name == "env"


OFFICIAL_READ = """
import json, sys
import sigopt

url, token, experiment_id = sys.argv[1:4]
conn = sigopt.Connection(client_token=token)
conn.set_api_url(url)
e = conn.experiments(experiment_id)
print(json.dumps({
    "experiment": e.fetch().to_json(),
    "best": [b.to_json() for b in e.best_assignments().fetch().iterate_pages()],
    "observations": [o.to_json() for o in e.observations().fetch().iterate_pages()],
    "open": [s.to_json() for s in e.suggestions().fetch(state="open").iterate_pages()],
}))
"""


def test_the_official_client_and_ours_read_the_same_objects(server: LiveServer, tmp_path: Path) -> None:
    conn = sigopt.Connection(client_token=server.token, api_url=server.url)
    e = conn.experiments().create(name="both", parameters=PARAMETERS, metrics=METRICS, observation_budget=5)
    for i in range(3):
        s = conn.experiments(e.id).suggestions().create()
        if i == 1:
            conn.experiments(e.id).observations().create(suggestion=s.id, failed=True)
        else:
            conn.experiments(e.id).observations().create(
                suggestion=s.id, values=[{"name": "f", "value": f(s.assignments)}]
            )
    conn.experiments(e.id).suggestions().create()  # one left open

    env = {"SIGOPT_HOME": str(tmp_path / ".sigopt"), "HOME": str(tmp_path)}
    code = f"import sys; sys.argv[1:] = {[server.url, server.token, e.id]!r}\n{OFFICIAL_READ}"
    done = run_python(code, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-4000:]
    official = json.loads(done.stdout.strip().splitlines()[-1])

    ours = conn.experiments(e.id)
    assert ours.fetch().to_json() == official["experiment"]
    assert [b.to_json() for b in ours.best_assignments().fetch().iterate_pages()] == official["best"]
    assert [o.to_json() for o in ours.observations().fetch().iterate_pages()] == official["observations"]
    assert [s.to_json() for s in ours.suggestions().fetch(state="open").iterate_pages()] == official["open"]
    assert len(official["observations"]) == 3 and len(official["open"]) == 1
    conn.close()


# --- bad input names the field
_BAD_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


bad_budgets = st.one_of(
    st.integers(max_value=0),
    st.text(max_size=5),
    st.floats(allow_nan=True).filter(lambda v: not (math.isfinite(v) and v == int(v) and v > 0)),
    st.lists(st.integers(), max_size=2),
)
bad_values = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=5),
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)


@_BAD_SETTINGS
@given(budget=bad_budgets)
def test_a_bad_observation_budget_names_the_field(budget: Any) -> None:
    conn = sigopt.Connection()
    with pytest.raises(RequestRejected, match="observation_budget") as caught:
        conn.experiments().create(name="bad", parameters=PARAMETERS, metrics=METRICS, observation_budget=budget)
    assert isinstance(caught.value, sigopt.ValidationError) and caught.value.status_code == 400


@_BAD_SETTINGS
@given(value=bad_values)
def test_a_bad_observed_value_names_the_field(value: Any) -> None:
    conn = sigopt.Connection()
    experiments = conn.experiments().fetch(project="default").data
    e = experiments[0] if experiments else conn.experiments().create(name="v", parameters=PARAMETERS, metrics=METRICS)
    s = (conn.experiments(e.id).suggestions().fetch(state="open").data or [None])[0]
    s = s or conn.experiments(e.id).suggestions().create()
    with pytest.raises(ApiException, match="values") as caught:
        conn.experiments(e.id).observations().create(suggestion=s.id, values=[{"name": "f", "value": value}])
    assert isinstance(caught.value, sigopt.ValidationError)
    assert conn.experiments(e.id).fetch().progress.observation_count == 0  # nothing was recorded
