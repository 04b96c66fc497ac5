"""SigOptSearch drives real Ray Tune trials (a local Ray with 2 CPUs, started once for the module).

Trials that really fail: a declared memory cap raises MemoryError in the trainable (no GPU here),
gradient descent with too big a step really overflows to inf, and a bug raises once.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sigopt_ai as sigopt
from sigopt_ai import ValidationError
from sigopt_ai.runs import _session
from tests.conftest import run_python
from tests.integrations._examples import run_example
from tests.live_server import LiveServer

ray = pytest.importorskip("ray")
from ray import tune  # noqa: E402

from sigopt_ai.integrations.ray import SigOptSearch  # noqa: E402

SPACE = [
    {"name": "lr", "type": "double", "bounds": {"min": 0.001, "max": 0.1}},
    {"name": "width", "type": "int", "bounds": {"min": 1, "max": 8}},
]


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """One local Ray for the module: starting it takes seconds on 2 cores."""
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def descend(config: dict[str, Any]) -> None:
    """Gradient descent on 50 w**2: a step over 0.02 overshoots, and at 0.1 w overflows to inf.
    Width 4 is over the declared memory cap; the first trial of the run has a bug (once)."""
    try:  # O_EXCL: of two trials starting at once, exactly one has the bug
        os.close(os.open(config["marker"], os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        pass
    else:
        raise KeyError("a bug in the trainable, the first time only")
    if config["width"] >= 4:
        raise MemoryError(f"width {config['width']} needs 4x the declared cap")
    w = 3.0
    for step in range(1, 201):
        w -= config["lr"] * 100 * w
        if step % 40 == 0:
            tune.report({"loss": 50 * w * w + 1.0 / config["width"], "w": w})


def test_tune_trials_become_observations_with_failure_kinds_and_an_exact_budget(cluster: str, tmp_path: Path) -> None:
    # A grid, so that which assignments fail is known: width 4 is oom, lr 0.1 diverges.
    exp = sigopt.create_experiment(
        name="ray grid",
        type="grid",
        parameters=[
            {"name": "width", "type": "int", "grid": [1, 2, 3, 4]},
            {"name": "lr", "type": "double", "grid": [0.005, 0.1]},
        ],
        metrics=[{"name": "loss", "objective": "minimize"}],
    )
    search = SigOptSearch(experiment_id=exp.id, max_concurrent=2)
    assert (search.metric, search.mode) == ("loss", "min")
    tuner = tune.Tuner(
        descend,
        param_space={"marker": str(tmp_path / "marker")},  # a constant, merged into each config
        tune_config=tune.TuneConfig(search_alg=search, num_samples=-1, reuse_actors=True),
        run_config=tune.RunConfig(callbacks=[search.callback], storage_path=str(tmp_path / "ray"), verbose=0),
    )
    tuner.fit()

    observations = exp.observations()
    assert len(observations) == 8 and exp.progress.finished == 8 and exp.is_finished()
    kinds = sorted(str(o.failure_kind) for o in observations if o.failed)
    assert kinds == ["diverged"] * 3 + ["oom"] * 2
    for o in observations:
        assert o.failed == (o.assignments["width"] >= 4 or o.assignments["lr"] == 0.1)
        if not o.failed:
            assert 0 < o.values["loss"] < 1.1
    # The bug gave its suggestion back: served again, observed once, spending no budget.
    runs = exp.runs()
    assert len(runs) == 9
    bug = [r for r in runs if r.failure is not None and r.failure.kind.value == "error"]
    assert len(bug) == 1 and bug[0].failure is not None and bug[0].failure.type == "KeyError"
    assert bug[0].suggestion in {o.suggestion for o in observations}
    oom = next(r for r in runs if r.params["width"] == 4)
    assert oom.failure is not None and oom.failure.type == "MemoryError"  # Ray's RayTaskError unwrapped
    done = next(r for r in runs if r.state.value == "completed")
    assert done.model == "ray" and done.metadata["ray_trial_id"] in done.name
    assert [c.step for c in done.checkpoints] == [1, 2, 3, 4, 5]
    assert set(done.checkpoints[0].values) == {"loss", "w"}  # Ray's own keys left out
    assert set(done.metrics) == {"loss", "w"}


def test_suggestions_served_by_hand_wait_for_free_slots_and_finish_at_the_budget() -> None:
    search = SigOptSearch(SPACE, name="by hand", metric="loss", mode="min", max_concurrent=1, observation_budget=2)
    assert search.experiment is None  # created at the first trial
    config = search.suggest("t1")
    assert isinstance(config, dict) and set(config) == {"lr", "width"}
    assert search.suggest("t2") is None  # max_concurrent trials run
    search.on_trial_result("t1", {"loss": 0.9, "training_iteration": 1, "time_this_iter_s": 0.1, "config/lr": 0.1})
    search.on_trial_complete("t1", {"loss": 0.5, "training_iteration": 2, "pid": 123})
    # No callback: the searcher cannot see why t2 errored: a bug, so its suggestion is given back.
    again = search.suggest("t2")
    search.on_trial_complete("t2", error=True)
    assert search.suggest("t3") == again  # served again
    search.on_trial_complete("t3", {"loss": 0.25})
    assert search.suggest("t4") == "FINISHED"

    exp = search.experiment
    assert exp is not None and exp.name == "by hand" and exp.parallel_bandwidth == 1
    assert exp.metrics[0].objective == "minimize"
    assert sorted(o.values["loss"] for o in exp.observations()) == [0.25, 0.5]
    first = next(r for r in exp.runs() if r.metadata.get("ray_trial_id") == "t1")
    assert [(c.step, dict(c.values)) for c in first.checkpoints] == [(1, {"loss": 0.9})]
    assert dict(first.metrics) == {"loss": 0.5} and dict(first.params) == config
    errored = next(r for r in exp.runs() if r.metadata.get("ray_trial_id") == "t2")
    assert errored.failure is not None and errored.failure.type.endswith("TrialError")


def test_a_repeating_bug_stops_the_search_instead_of_serving_forever() -> None:
    search = SigOptSearch(SPACE, metric="acc", mode="max", max_concurrent=1, observation_budget=5)
    for i in range(3):
        assert isinstance(search.suggest(f"t{i}"), dict)
        search.on_trial_complete(f"t{i}", error=True)
    assert search.suggest("t3") == "FINISHED"
    assert search.experiment is not None and search.experiment.progress.finished == 0  # no budget spent


def test_save_and_restore_carry_the_running_trials_to_a_new_driver(tmp_path: Path, store: Path) -> None:
    # The first driver serves two trials, saves (as Tune checkpoints the searcher) and dies.
    state = tmp_path / "searcher-state.json"
    died = run_python(
        f"""
        import os
        from sigopt_ai.integrations.ray import SigOptSearch
        from sigopt_ai.runs._session import get_session
        search = SigOptSearch({SPACE!r}, metric="loss", mode="min", max_concurrent=2, observation_budget=3)
        print(search.suggest("t1"), search.suggest("t2"))
        search.save({str(state)!r})
        get_session().flush()
        os._exit(0)  # no clean end: the runs stay open, as when a driver is lost
        """,
        env={"SIGOPT_AI_DB": str(store)},
    )
    assert died.returncode == 0, died.stderr
    saved = json.loads(state.read_text())
    assert set(saved["trials"]) == {"t1", "t2"}

    # Tune restores the searcher pickled at the start (no trials), then its saved state.
    search = pickle.loads(pickle.dumps(SigOptSearch(SPACE, metric="loss", mode="min", observation_budget=3)))
    search.restore(str(state))
    assert search.experiment is not None and search.experiment.id == saved["experiment"]
    search.on_trial_complete("t1", {"loss": 0.5})  # the resumed trial completes
    search.on_trial_complete("t2")  # removed before reporting: its suggestion goes back
    observed = search.experiment.observations()
    assert [(o.suggestion, o.values) for o in observed] == [(saved["trials"]["t1"], {"loss": 0.5})]
    assert isinstance(search.suggest("t3"), dict)
    # t2's suggestion stays leased to the lost driver's run until that lease expires: wait, not finished.
    assert search.suggest("t4") is None
    search.on_trial_complete("t3")


def test_the_searcher_pickles_without_its_live_trials() -> None:
    search = SigOptSearch(SPACE, metric="loss", mode="min", max_concurrent=2, observation_budget=4)
    search.suggest("t1")
    copy = pickle.loads(pickle.dumps(search))
    assert isinstance(copy.suggest("t9"), dict) and copy.metric == "loss"
    assert copy.experiment is not None and search.experiment is not None
    assert copy.experiment.id == search.experiment.id  # the same experiment, not a second one
    search.on_trial_complete("t1", {"loss": 1.0})
    copy.on_trial_complete("t9", {"loss": 2.0})


def test_several_metrics_as_the_removed_class_took_them() -> None:
    search = SigOptSearch(SPACE, metric=["acc", "loss"], mode=["max", "obs"], observation_budget=1)
    assert (search.metric, search.mode) == (["acc", "loss"], ["max", "obs"])
    search.suggest("t1")
    search.on_trial_complete("t1", {"acc": 0.9, "loss": 0.2})
    exp = search.experiment
    assert exp is not None
    assert [(m.name, m.objective, m.strategy) for m in exp.metrics] == [
        ("acc", "maximize", "optimize"),
        ("loss", "maximize", "store"),
    ]
    assert exp.observations()[0].values == {"acc": 0.9, "loss": 0.2}


def test_a_trial_records_at_most_200_checkpoints_and_its_last_result() -> None:
    search = SigOptSearch(SPACE, metric="loss", mode="min", observation_budget=1)
    search.suggest("t1")
    for step in range(1, 251):
        search.on_trial_result("t1", {"loss": 1.0 / step, "training_iteration": step})
    search.on_trial_complete("t1", {"loss": 1.0 / 250, "training_iteration": 250})
    assert search.experiment is not None
    run = search.experiment.runs()[0]
    assert len(run.checkpoints) == 200 and run.checkpoints[-1].step == 200
    assert run.metrics["loss"] == pytest.approx(1.0 / 250)


def test_a_trial_observed_after_the_save_is_not_resumed(tmp_path: Path) -> None:
    search = SigOptSearch(SPACE, metric="loss", mode="min", max_concurrent=2, observation_budget=2)
    assert isinstance(search.suggest("t1"), dict) and isinstance(search.suggest("t2"), dict)
    search.save(str(tmp_path / "state.json"))
    search.on_trial_complete("t2", {"loss": 0.3})  # completed after the save, before the driver died
    restored = SigOptSearch(SPACE, metric="loss", mode="min", observation_budget=2)
    restored.restore(str(tmp_path / "state.json"))
    assert set(restored._live) == {"t1"}
    restored.on_trial_complete("t1", {"loss": 0.2})
    search.on_trial_complete("t1")  # the old driver's run: its suggestion was observed already
    exp = restored.experiment
    assert exp is not None and sorted(o.values["loss"] for o in exp.observations()) == [0.2, 0.3]
    assert restored.suggest("t3") == "FINISHED"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "space"),
        ({"space": SPACE, "experiment_id": "1"}, "space"),
        ({"space": SPACE, "max_concurrent": 0}, "max_concurrent"),
        ({"space": SPACE, "observation_budget": -1}, "observation_budget"),
        ({"space": "lr", "metric": "loss", "mode": "min"}, "space"),
        ({"space": [{"name": "lr", "type": "double"}], "metric": "loss", "mode": "min"}, "bounds"),
        ({"space": SPACE, "metric": ["a", "b"], "mode": "min"}, "mode"),
        ({"space": SPACE, "metric": "loss", "mode": "up"}, "mode"),
        ({"space": SPACE, "metric": ["a", "b"], "mode": ["min", "sideways"]}, "mode"),
        ({"space": SPACE, "points_to_evaluate": [{"lr": 0.1, "width": 2}]}, "points_to_evaluate"),
        ({"space": SPACE, "connection": object()}, "connection"),
        ({"space": SPACE, "client_token": "x"}, "client_token"),
        ({"experiment_id": "12345"}, "experiment_id"),
    ],
)
def test_bad_arguments_are_refused_naming_them(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        SigOptSearch(**kwargs)


def test_the_metric_can_come_from_tune() -> None:
    search = SigOptSearch(SPACE, observation_budget=2)
    with pytest.raises(ValidationError, match="metric"):
        search.suggest("t1")
    assert search.set_search_properties("acc", "max", {"batch": 32})
    assert (search.metric, search.mode) == ("acc", "max")
    assert not search.set_search_properties("acc", "max", {"lr": tune.uniform(0, 1)})  # the space is `space`
    assert isinstance(search.suggest("t1"), dict)
    assert search.experiment is not None and search.experiment.metrics[0].objective == "maximize"
    search.on_trial_complete("t1", {"acc": 0.9})


modes = st.sampled_from(["min", "max", "obs", "", "MAX", None])


@settings(max_examples=50, deadline=None)
@given(
    metric=st.one_of(st.none(), st.text(max_size=8), st.lists(st.text(max_size=8), max_size=3)),
    mode=st.one_of(modes, st.lists(modes, max_size=3)),
)
def test_any_metric_and_mode_are_taken_or_refused_by_name(metric: Any, mode: Any) -> None:
    try:
        search = SigOptSearch(SPACE, metric=metric, mode=mode, observation_budget=10)
    except ValidationError as exc:
        assert any(name in str(exc) for name in ("metric", "mode"))
        return
    if isinstance(metric, str):
        assert search.metric == metric and search.mode in ("min", "max", None)
    elif metric:
        assert search.metric == list(metric)


def test_the_example_runs(cluster: str, tmp_path: Path) -> None:
    done = run_example("ray_example.py", tmp_path, "2", timeout=240, RAY_ADDRESS=cluster)
    # Two trials may both fail (out of memory or diverged): the script says so instead of a best run.
    assert "finished=2" in done.stdout and ("best run " in done.stdout or "no run succeeded" in done.stdout)


def test_a_driver_serves_from_a_shared_server(tmp_path: Path) -> None:
    # Across a Ray cluster only the driver, where the searcher runs, talks to the store: here a real
    # `sigopt-ai server`, as SIGOPT_API_URL would point a driver at it.
    with LiveServer(str(tmp_path / "server.db")) as server:
        sigopt.configure(api_url=server.url, api_token=server.token, spool=tmp_path / "journal.db")
        try:
            search = SigOptSearch(SPACE, name="shared", metric="loss", mode="min", observation_budget=2)
            config = search.suggest("t1")
            search.on_trial_complete("t1", error=True)  # no callback: a bug, the suggestion goes back
            assert search.suggest("t2") == config
            search.on_trial_complete("t2", {"loss": 0.5})
            search.suggest("t3")
            search.on_trial_complete("t3", {"loss": 0.25})
            assert search.suggest("t4") == "FINISHED"
            exp = search.experiment
            assert exp is not None
            # What another machine reads from the server: the same experiment, observed twice.
            seen = sigopt.get_experiment(exp.id)
            assert sorted(o.values["loss"] for o in seen.observations()) == [0.25, 0.5]
            assert seen.progress.finished == 2 and len(seen.runs()) == 3
        finally:
            _session.reset_session()
            sigopt.configure(api_url="")
