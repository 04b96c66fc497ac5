"""The SDK on each store: a user's run and experiment give the same results on SQLite, PostgreSQL and a server."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import pytest

import sigopt_ai as sigopt
from sigopt_ai._failures import FailureKind
from sigopt_ai._models import RunState


@pytest.fixture(params=["sqlite", "postgresql", "http"])
def db(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "sqlite":
        url = str(tmp_path / "contract.db")
    elif request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        url = request.getfixturevalue("http_url")
        monkeypatch.setenv("SIGOPT_API_URL", url)  # a server wins over the db setting
    sigopt.configure(db=url, flush_interval=0.1)
    return url


def test_a_run_round_trips(db: str) -> None:
    with sigopt.run(name="contract", project="p") as run:
        run.params.update(lr=0.1, layers=3, opt="adam", flag=True, none=None)
        for i in range(100):
            run.log_metric("loss", 1 / (i + 1), stddev=0.01)
        run.log_metric("nan_metric", float("nan"))
        run.log_checkpoint({"acc": 0.5})
        run.log_metadata("k", "v")
        run.log_dataset("d")
        run.log_model("m")
    record = sigopt.get_run(run.id)
    assert record.params == {"lr": 0.1, "layers": 3, "opt": "adam", "flag": True, "none": None}
    assert record.metrics["loss"] == 0.01 and math.isnan(record.metrics["nan_metric"])
    assert record.state is RunState.FAILED and record.failure.kind is FailureKind.DIVERGED  # type: ignore[union-attr]
    assert [dict(c.values) for c in record.checkpoints] == [{"acc": 0.5}]
    history = sigopt.metric_history(run.id, "loss")
    assert [p.value for p in history] == [1 / (i + 1) for i in range(100)]
    assert all(p.stddev == 0.01 for p in history)
    assert (record.metadata, record.datasets, record.model) == ({"k": "v"}, ("d",), "m")


def test_concurrent_serving_respects_the_budget(db: str) -> None:
    exp = sigopt.create_experiment(
        name="contract",
        parameters=[dict(name="x", type="double", bounds=dict(min=0, max=1))],
        metrics=[dict(name="y")],
        budget=12,
        type="random",
    )
    served: list[str] = []

    def worker() -> None:
        handle = sigopt.get_experiment(exp.id)
        while True:
            try:
                suggestion = handle.suggest()
            except sigopt.UsageError:
                return
            served.append(suggestion.id)
            handle.observe(suggestion, values={"y": float(suggestion.assignments["x"])})  # type: ignore[arg-type]

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(served) == len(set(served)) == 12
    assert exp.progress.finished == 12
    assert exp.best_observations()[0].values["y"] == max(o.values["y"] for o in exp.observations())
