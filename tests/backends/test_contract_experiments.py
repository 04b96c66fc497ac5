"""The backend contract for experiments: leases, observations, budget, progress and best, in every store.

The experiments are created as ``sigopt.create_experiment`` creates them (a validated definition's
JSON); each test then drives the backend directly, as the SDK's handle and the server will.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sigopt_ai import FailureInfo, FailureKind, RunState
from sigopt_ai._models import ExperimentRecord, ExperimentState, Observation, SuggestionState
from sigopt_ai.backends import Backend, make_backend
from sigopt_ai.backends.sql._serving import QUICK_SUGGESTION_S, RACES
from sigopt_ai.experiments._parse import parse_experiment
from sigopt_ai.optimizer import Snapshot, SuggestionService


def create(backend: Backend, budget: int | None = 4, lease_timeout: float = 60.0, **extra: Any) -> ExperimentRecord:
    body: dict[str, Any] = {
        "name": "contract",
        "parameters": [{"name": "x", "type": "double", "bounds": {"min": 0, "max": 1}}],
        "metrics": [{"name": "y", "objective": "minimize"}],
        "type": "random",
        **extra,
    }
    if budget is not None:
        body["budget"] = budget
    definition = parse_experiment(body).to_json()
    return backend.create_experiment(
        project="p", name="contract", definition=definition, seed=3, lease_timeout=lease_timeout
    )


def test_create_get_list_update_archive(backend: Backend) -> None:
    first = create(backend)
    second = create(backend, budget=2)
    assert backend.get_experiment(first.id) == first and first.state is ExperimentState.ACTIVE
    assert (first.budget, second.budget, first.lease_timeout, first.seed) == (4, 2, 60.0, 3)
    assert [e.id for e in backend.list_experiments()] == [second.id, first.id]
    assert [e.id for e in backend.list_experiments(project="p", limit=1)] == [second.id]
    assert backend.list_experiments(project="other") == []
    renamed = backend.update_experiment(first.id, {"name": "renamed", "metadata": {"owner": "me"}})
    assert renamed is not None and renamed.name == "renamed"
    assert renamed.definition["name"] == "renamed" and renamed.definition["metadata"] == {"owner": "me"}
    assert backend.get_experiment(first.id) == renamed
    backend.archive_experiment(first.id)
    archived = backend.get_experiment(first.id)
    assert archived is not None and archived.state is ExperimentState.DELETED
    assert backend.serve_suggestion(first.id, run_id=None) is None


def test_an_update_replaces_definition_fields_and_serving_follows_them(backend: Backend) -> None:
    exp = create(backend, budget=6)
    first = backend.serve_suggestion(exp.id, run_id=None)  # the strategy is built for x in [0, 1]
    assert first is not None and 0 <= first.assignments["x"] <= 1
    moved = create_body_parameters(bounds={"min": 5, "max": 6})
    updated = backend.update_experiment(exp.id, {"parameters": moved, "budget": 5})
    assert updated is not None and updated.definition["parameters"] == moved
    assert (updated.budget, updated.name, updated.definition["type"]) == (5, "contract", "random")
    assert backend.get_experiment(exp.id) == updated
    served = [backend.serve_suggestion(exp.id, run_id=None) for _ in range(5)]
    assert served[4] is None, "the new budget of 5 counts the suggestion served before the update"
    assert all(s is not None and 5 <= s.assignments["x"] <= 6 for s in served[:4])
    with pytest.raises(ValueError, match="colour"):
        backend.update_experiment(exp.id, {"colour": "red"})


def create_body_parameters(**x: Any) -> list[dict[str, Any]]:
    """The canonical JSON of ``create``'s parameter list with ``x``'s fields replaced."""
    body = {"name": "n", "parameters": [{"name": "x", "type": "double", **x}], "metrics": [{"name": "y"}]}
    parameters: list[dict[str, Any]] = parse_experiment(body).to_json()["parameters"]
    return parameters


@pytest.mark.parametrize("bad", ["abc", "-1", "1.5", "99999999999999999999", "", "١"])
def test_ids_that_name_nothing_give_nothing(backend: Backend, bad: str) -> None:
    exp = create(backend)
    suggestion = backend.serve_suggestion(exp.id, run_id=None)
    assert suggestion is not None
    assert backend.get_experiment(bad) is None and backend.progress(bad) is None
    assert backend.serve_suggestion(bad, run_id=None) is None
    assert backend.get_suggestion(exp.id, bad) is None and backend.get_suggestion(bad, suggestion.id) is None
    assert backend.observe(exp.id, bad, run_id=None, values={"y": 1.0}) is None
    assert backend.release(exp.id, bad, "run") is False
    assert backend.observations(bad) == [] and backend.open_suggestions(bad) == []
    assert backend.update_experiment(bad, {"name": "x"}) is None
    backend.archive_experiment(bad)  # nothing to archive: no error


def test_the_budget_is_exact_and_progress_counts_it(backend: Backend) -> None:
    exp = create(backend, budget=3)
    served = [backend.serve_suggestion(exp.id, run_id=None) for _ in range(4)]
    assert served[3] is None and len({s.id for s in served[:3] if s is not None}) == 3
    first, second, third = served[:3]
    assert first is not None and second is not None and third is not None
    assert first.state is SuggestionState.OPEN and first.leased and first.run is None
    progress = backend.progress(exp.id)
    assert progress is not None
    assert (progress.budget, progress.finished, progress.active, progress.manual, progress.remaining) == (3, 0, 3, 3, 0)
    backend.observe(exp.id, first.id, run_id=None, values={"y": 0.5})
    backend.observe(exp.id, second.id, run_id=None, values=None, failure_kind="oom")
    backend.observe(exp.id, third.id, run_id=None, values=None, failure_kind=None)
    progress = backend.progress(exp.id)
    assert progress is not None
    assert (progress.finished, progress.failed, progress.active, progress.remaining) == (3, 2, 0, 0)
    assert progress.failed_by_kind == {"oom": 1, "reported": 1}
    assert backend.serve_suggestion(exp.id, run_id=None) is None


def test_an_observation_is_returned_as_it_is_then_listed(backend: Backend) -> None:
    exp = create(backend)
    suggestion = backend.serve_suggestion(exp.id, run_id=None)
    assert suggestion is not None
    observed = backend.observe(exp.id, suggestion.id, run_id=None, values={"y": 0.25})
    assert observed is not None
    assert (observed.suggestion, observed.run, dict(observed.values), observed.failed, observed.extra) == (
        suggestion.id,
        None,
        {"y": 0.25},
        False,
        False,
    )
    assert dict(observed.assignments) == dict(suggestion.assignments)
    assert backend.observations(exp.id) == [observed]
    closed = backend.get_suggestion(exp.id, suggestion.id)
    assert closed is not None and closed.state is SuggestionState.CLOSED
    # outside runs a closed suggestion cannot be observed again
    assert backend.observe(exp.id, suggestion.id, run_id=None, values={"y": 0.5}) is None


def test_a_second_result_of_a_run_is_an_extra_observation(backend: Backend) -> None:
    exp = create(backend, budget=2)
    suggestion = backend.serve_suggestion(exp.id, run_id="first")
    assert suggestion is not None
    backend.observe(exp.id, suggestion.id, run_id="first", values={"y": 1.0})
    late = backend.observe(exp.id, suggestion.id, run_id="second", values={"y": 2.0})
    assert late is not None and late.extra
    assert [o.extra for o in backend.observations(exp.id)] == [False, True]
    assert backend.observations(exp.id)[1] == late
    progress = backend.progress(exp.id)
    assert progress is not None and (progress.finished, progress.extra, progress.remaining) == (1, 1, 1)


def test_observations_after_an_id_are_only_the_newer_ones(backend: Backend) -> None:
    exp = create(backend, budget=None)
    made: list[Observation] = []
    for i in range(5):
        suggestion = backend.serve_suggestion(exp.id, run_id=None)
        assert suggestion is not None
        observed = backend.observe(exp.id, suggestion.id, run_id=None, values={"y": float(i)})
        assert observed is not None
        made.append(observed)
    assert backend.observations(exp.id) == made
    assert backend.observations(exp.id, after=made[2].id) == made[3:]
    assert backend.observations(exp.id, after=made[-1].id) == []
    for cursor in ("abc", "-1", "99999999999999999999"):  # a cursor that names no observation
        assert backend.observations(exp.id, after=cursor) == []


def test_release_gives_the_suggestion_back_to_the_next_worker_first(backend: Backend) -> None:
    exp = create(backend)
    held = backend.serve_suggestion(exp.id, run_id="worker-1")
    assert held is not None and held.run == "worker-1"
    assert backend.release(exp.id, held.id, "someone-else") is False  # only the holder gives it back
    assert backend.release(exp.id, held.id, "worker-1") is True
    assert [s.id for s in backend.open_suggestions(exp.id) if not s.leased] == [held.id]
    again = backend.serve_suggestion(exp.id, run_id="worker-2")
    assert again is not None and again.id == held.id and again.serve_count == 2 and again.run == "worker-2"


def test_a_lost_worker_is_expired_and_its_late_result_restores_its_run(backend: Backend) -> None:
    exp = create(backend, lease_timeout=1.0)
    backend.write([("start", "lost", "p", "lost", time.time() - 30, exp.id, None)])  # heartbeats long stopped
    suggestion = backend.serve_suggestion(exp.id, run_id="lost")
    assert suggestion is not None
    backend.write([("heartbeat", ("lost",), time.time() - 10)])
    progress = backend.progress(exp.id)  # expires the lease
    assert progress is not None and progress.active == 0
    record = backend.read_run("lost")
    assert record is not None and record.state is RunState.FAILED and record.failure is not None
    assert record.failure.kind is FailureKind.INFRASTRUCTURE
    waiting = backend.serve_suggestion(exp.id, run_id="next")
    assert waiting is not None and waiting.id == suggestion.id  # served again
    own = FailureInfo(FailureKind.DIVERGED, message="nan").to_json()
    late = backend.observe(exp.id, suggestion.id, run_id="lost", values=None, failure_kind="diverged", run_failure=own)
    assert late is not None and not late.extra  # it closed the suggestion: "next" will be the extra one
    restored = backend.read_run("lost")
    assert restored is not None and restored.failure is not None and restored.failure.kind is FailureKind.DIVERGED


def test_best_observations_follow_the_objective_and_thresholds(backend: Backend) -> None:
    exp = create(
        backend,
        budget=10,
        metrics=[
            {"name": "y", "objective": "minimize"},
            {"name": "z", "strategy": "constraint", "objective": "minimize", "threshold": 1},
        ],
    )
    results = [{"y": 0.1, "z": 5.0}, {"y": 0.3, "z": 0.5}, {"y": 0.2, "z": 0.9}]
    for values in results:
        suggestion = backend.serve_suggestion(exp.id, run_id=None)
        assert suggestion is not None
        backend.observe(exp.id, suggestion.id, run_id=None, values=values)
    best = backend.best_observations(exp.id)
    assert [dict(o.values) for o in best] == [{"y": 0.2, "z": 0.9}]  # the lowest y of those under z's threshold


def test_concurrent_workers_never_share_an_open_suggestion(store_url: str) -> None:
    setup = make_backend(store_url)
    exp = create(setup, budget=16)
    served: list[str] = []
    errors: list[BaseException] = []

    def work(index: int) -> None:
        backend = make_backend(store_url)  # each worker its own connections, as another process has
        try:
            while (suggestion := backend.serve_suggestion(exp.id, run_id=f"w{index}")) is not None:
                served.append(suggestion.id)
                backend.observe(exp.id, suggestion.id, run_id=f"w{index}", values={"y": 1.0})
        except BaseException as exc:
            errors.append(exc)
        finally:
            backend.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(served) == len(set(served)) == 16
    progress = setup.progress(exp.id)
    assert progress is not None and (progress.finished, progress.extra) == (16, 0)
    setup.close()


class RecordingService(SuggestionService):
    """The real service, recording each snapshot the store gave it."""

    def __init__(self) -> None:
        super().__init__()
        self.snapshots: list[Snapshot] = []

    def suggest(self, experiment: ExperimentRecord, snapshot: Snapshot) -> dict[str, Any] | None:
        self.snapshots.append(snapshot)
        return super().suggest(experiment, snapshot)


def test_the_store_asks_its_service_and_reads_only_what_is_new(store_url: str) -> None:
    service = RecordingService()
    backend = make_backend(store_url, service=service)
    exp = create(backend, budget=None)
    for i in range(6):
        suggestion = backend.serve_suggestion(exp.id, run_id=None)
        assert suggestion is not None
        backend.observe(exp.id, suggestion.id, run_id=None, values={"y": float(i)})
    snapshots = service.snapshots
    assert [s.index for s in snapshots] == list(range(6))
    assert [s.observation_count for s in snapshots] == list(range(6))
    # each suggestion read only the observation made since the one before
    assert [len(s.observations) for s in snapshots] == [0] + [1] * 5
    backend.close()


class OutracedService(SuggestionService):
    """The real service, as slow as a model fit, outraced for its first ``races`` suggestions by a rival
    worker that computes from the same state (so the same point) and inserts it first."""

    def __init__(self, rival: Backend, races: int) -> None:
        super().__init__()
        self.rival, self.races = rival, races

    def suggest(self, experiment: ExperimentRecord, snapshot: Snapshot) -> dict[str, Any] | None:
        assignments = super().suggest(experiment, snapshot)
        if self.races:
            self.races -= 1
            assert self.rival.serve_suggestion(experiment.id, run_id=f"rival-{self.races}") is not None
        time.sleep(QUICK_SUGGESTION_S)  # too slow to be computed again inside the write lock
        return assignments


def test_a_worker_that_keeps_losing_races_does_not_insert_the_winners_point(store_url: str) -> None:
    rival = make_backend(store_url)
    exp = create(rival, budget=10)
    backend = make_backend(store_url, service=OutracedService(rival, races=RACES + 1))
    mine = backend.serve_suggestion(exp.id, run_id="me")
    assert mine is not None
    points = [tuple(sorted(s.assignments.items())) for s in rival.open_suggestions(exp.id)]
    assert len(points) == RACES + 2 and len(set(points)) == len(points)  # no point is evaluated twice
    backend.close()
    rival.close()


def test_an_experiment_made_under_an_id_seen_before_gets_its_own_strategy(tmp_path: Path) -> None:
    # The store file is deleted under a live backend and made again (see SQLBackend): its first
    # experiment takes id 1 again, with another search space than the one the service saw under it.
    path = tmp_path / "store.db"
    backend = make_backend(str(path))
    before = create(backend)
    served = backend.serve_suggestion(before.id, run_id=None)
    assert served is not None and set(served.assignments) == {"x"}
    path.unlink()
    backend.write([("start", "r1", "p", "r1", time.time(), None, None)])  # recreates the file
    after = create(backend, parameters=[{"name": "color", "type": "categorical", "categorical_values": ["r", "b"]}])
    assert after.id == before.id
    again = backend.serve_suggestion(after.id, run_id=None)
    assert again is not None and set(again.assignments) == {"color"}
    backend.close()


def _wait_for_lock_waiters(conn: Any, count: int) -> None:
    """Until ``count`` other sessions of this database wait for a row lock (no timing: a state to reach)."""
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while conn.execute(query).scalar_one() < count:
        time.sleep(0.01)


def test_an_expiry_racing_a_grant_keeps_the_new_workers_lease(postgres_url: str) -> None:
    # On PostgreSQL, progress() expires leases without the experiment's lock. It read the stale lease of
    # "lost", then waited for the suggestion's row while a worker expired the same lease and was granted
    # the suggestion: its release must not then clear that worker's lease, or a third is served it too.
    backend = make_backend(postgres_url)
    exp = create(backend, lease_timeout=1.0)
    backend.write([("start", "lost", "p", "lost", time.time() - 30, exp.id, None)])  # heartbeats long stopped
    held = backend.serve_suggestion(exp.id, run_id="lost")
    assert held is not None
    engine = sa.create_engine(postgres_url)
    results: dict[str, Any] = {}
    watching = engine.execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as blocker, watching.connect() as watcher:
        with blocker.begin():  # holds the suggestion's row so that both expiries wait at its update
            blocker.execute(sa.text("SELECT id FROM suggestions WHERE id = :id FOR UPDATE"), {"id": int(held.id)})
            grant = threading.Thread(
                target=lambda: results.update(grant=backend.serve_suggestion(exp.id, run_id="next"))
            )
            grant.start()
            _wait_for_lock_waiters(watcher, 1)
            count = threading.Thread(target=lambda: results.update(progress=backend.progress(exp.id)))
            count.start()
            _wait_for_lock_waiters(watcher, 2)
        grant.join()
        count.join()
    engine.dispose()
    granted = results["grant"]
    assert granted is not None and granted.id == held.id and granted.run == "next"
    [still] = backend.open_suggestions(exp.id)
    assert still.run == "next" and still.leased  # "next" still holds it: nobody else is served it
    third = backend.serve_suggestion(exp.id, run_id="third")
    assert third is not None and third.id != held.id
    backend.close()


def test_a_rename_and_a_metadata_change_at_once_both_land(postgres_url: str) -> None:
    backend = make_backend(postgres_url)
    exp = create(backend)
    engine = sa.create_engine(postgres_url)
    watching = engine.execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as blocker, watching.connect() as watcher:
        with blocker.begin():  # holds the experiment's row so that both changes wait to be written
            blocker.execute(sa.text("SELECT id FROM experiments WHERE id = :id FOR UPDATE"), {"id": int(exp.id)})
            rename = threading.Thread(target=lambda: backend.update_experiment(exp.id, {"name": "renamed"}))
            rename.start()
            _wait_for_lock_waiters(watcher, 1)
            describe = threading.Thread(target=lambda: backend.update_experiment(exp.id, {"metadata": {"owner": "me"}}))
            describe.start()
            _wait_for_lock_waiters(watcher, 2)
        rename.join()
        describe.join()
    engine.dispose()
    updated = backend.get_experiment(exp.id)
    assert updated is not None and updated.name == "renamed" and updated.definition["name"] == "renamed"
    assert updated.definition["metadata"] == {"owner": "me"}
    backend.close()


FORKED_WHILE_SUGGESTING = """
import dataclasses, os, signal, sys, threading, time
from sigopt_ai.backends import make_backend
from sigopt_ai.experiments._parse import parse_experiment
from sigopt_ai.optimizer import SuggestionService

inside, go_on = threading.Event(), threading.Event()

class Held(list):
    def __iter__(self):  # the strategy reads the pending points holding the experiment's lock
        inside.set()
        go_on.wait()
        return super().__iter__()

class HeldService(SuggestionService):
    held = True
    def suggest(self, experiment, snapshot):
        if self.held:
            self.held = False
            snapshot = dataclasses.replace(snapshot, pending=Held(snapshot.pending))
        return super().suggest(experiment, snapshot)

backend = make_backend(sys.argv[1], service=HeldService())
body = {"name": "e", "parameters": [{"name": "x", "type": "double", "bounds": {"min": 0, "max": 1}}],
        "metrics": [{"name": "y"}], "type": "random", "budget": 5}
exp = backend.create_experiment(project="p", name="e", definition=parse_experiment(body).to_json(), seed=3,
                                lease_timeout=60.0)
parent = threading.Thread(target=backend.serve_suggestion, args=(exp.id,), kwargs={"run_id": None})
parent.start()
inside.wait()
pid = os.fork()
if pid == 0:
    os._exit(0 if backend.serve_suggestion(exp.id, run_id=None) is not None else 1)
for _ in range(600):  # a child stuck on a lock the parent's thread held never exits by itself
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    time.sleep(0.1)
else:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    status = -1
go_on.set()
parent.join()
print("child exit status", status)
sys.exit(0 if status == 0 else 1)
"""


def test_a_child_forked_while_a_thread_makes_a_suggestion_makes_its_own(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", FORKED_WHILE_SUGGESTING, str(tmp_path / "store.db")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
