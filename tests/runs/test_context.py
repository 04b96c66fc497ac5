"""``with sigopt.run()``: logging, params, state precedence, nesting, threads and asyncio tasks."""

from __future__ import annotations

import asyncio
import math
import threading

import pytest

import sigopt_ai as sigopt


def test_context_manager_records_everything() -> None:
    with sigopt.run(name="manual", project="mnist") as run:
        run.params.setdefaults(lr=0.01, epochs=3)
        run.params.batch = 64
        run.log_metric("accuracy", 0.91, stddev=0.01)
        sigopt.log_metric("loss", 0.2)
        sigopt.log_metrics({"a": 1}, b=2)
        run.log_checkpoint({"loss": 0.5, "skipped": None})
        sigopt.log_checkpoint({"loss": 0.3}, step=10)
        run.log_metadata("git", "abc")
        sigopt.log_metadata("obj", {"x": 1})
        run.log_dataset("mnist-train")
        run.log_model("mlp")
        assert sigopt.params.lr == 0.01
        assert sigopt.current_run() is run
    record = sigopt.get_run(run.id)
    assert record.state is sigopt.RunState.COMPLETED and run.state is sigopt.RunState.COMPLETED
    assert record.params == {"lr": 0.01, "epochs": 3, "batch": 64}
    assert record.metrics == {"accuracy": 0.91, "loss": 0.2, "a": 1.0, "b": 2.0}
    assert record.metric_stddevs == {"accuracy": 0.01}
    assert [(c.step, dict(c.values)) for c in record.checkpoints] == [(0, {"loss": 0.5}), (10, {"loss": 0.3})]
    assert record.metadata == {"git": "abc", "obj": "{'x': 1}"}
    assert record.datasets == ("mnist-train",)
    assert record.model == "mlp"
    assert record.ended is not None and record.ended >= record.created
    sys_md = record.sys_metadata
    assert {"host", "os", "python", "cpu_count", "memory_total_bytes", "peak_rss_bytes", "gpus"} <= set(sys_md)
    assert sys_md["peak_rss_bytes"] > 1_000_000


def test_last_metric_value_wins_and_history_is_kept() -> None:
    with sigopt.run() as run:
        for i in range(5):
            run.log_metric("loss", 1.0 / (i + 1))
            sigopt.flush()  # several write batches: the history spans chunks
        run.log_metric("loss", math.nan, stddev=0.5)
        run.log_metric("other", 1.0)
    assert math.isnan(sigopt.get_run(run.id).metrics["loss"])
    history = sigopt.metric_history(run.id, "loss")
    assert [p.value for p in history[:5]] == [1.0, 0.5, 1 / 3, 0.25, 0.2]
    assert math.isnan(history[5].value) and history[5].stddev == 0.5
    assert all(p.stddev is None for p in history[:5])
    assert [p.created for p in history] == sorted(p.created for p in history)
    assert sigopt.metric_history(run.id, "missing") == []


def test_log_failure_then_clean_exit_stays_failed() -> None:
    with sigopt.run() as run:
        run.log_metric("loss", 0.1)
        sigopt.log_failure("too slow")
    record = sigopt.get_run(run.id)
    assert record.state is sigopt.RunState.FAILED
    assert record.failure == sigopt.FailureInfo(sigopt.FailureKind.REPORTED, message="too slow")


def test_nan_metric_never_raises_and_fails_the_run_as_diverged() -> None:
    with sigopt.run() as run:
        run.log_metric("loss", float("nan"))
        run.log_metric("grad", math.inf)
        run.log_metric("acc", 0.5)
    record = sigopt.get_run(run.id)
    assert record.state is sigopt.RunState.FAILED
    assert record.failure is not None and record.failure.kind is sigopt.FailureKind.DIVERGED
    assert "loss" in record.failure.message
    assert math.isnan(record.metrics["loss"]) and record.metrics["grad"] == math.inf


def test_end_is_idempotent_and_finished_runs_refuse_writes() -> None:
    run = sigopt.create_run(name="legacy")
    run.log_metric("x", 1)
    assert run.end() is sigopt.RunState.COMPLETED
    assert run.end() is sigopt.RunState.COMPLETED
    with pytest.raises(sigopt.UsageError, match=f"Run '{run.id}' has already finished and cannot accept metric 'x'"):
        run.log_metric("x", 2)
    with pytest.raises(sigopt.UsageError, match="cannot be entered again"):
        with run:
            pass


def test_current_run_needs_an_active_run() -> None:
    # Module-level logging outside a run is forgiving, as in sigopt-python (tests/compat/test_no_run.py);
    # asking for the run itself is not.
    with pytest.raises(sigopt.UsageError, match="There is no active sigopt_ai run"):
        sigopt.current_run()
    assert sigopt.current_run(silent=True) is None


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda r: r.log_metric("", 1.0), sigopt.ValidationError, "metric name must be 1 to 100"),
        (lambda r: r.log_metric(3, 1.0), sigopt.ValidationTypeError, "metric name must be a string"),
        (lambda r: r.log_metric("x" * 101, 1.0), sigopt.ValidationError, "metric name must be 1 to 100"),
        (
            lambda r: r.log_metric("acc", "high"),
            sigopt.ValidationTypeError,
            "metric 'acc' must be a number, got 'high'",
        ),
        (
            lambda r: r.log_metric("acc", [0.9]),
            sigopt.ValidationTypeError,
            r"metric 'acc' must be a number, got \[0.9\]",
        ),
        (
            lambda r: r.log_metric("acc", 1.0, stddev=-1),
            sigopt.ValidationError,
            "stddev of metric 'acc' must be",
        ),
        (lambda r: r.log_checkpoint([1, 2]), sigopt.ValidationError, "checkpoint values must be a mapping"),
        (lambda r: r.log_checkpoint({"a": 1}, step=-1), sigopt.ValidationError, "step must be an int >= 0"),
        (lambda r: r.log_metadata(None, 1), sigopt.ValidationTypeError, "metadata key must be a string"),
        (lambda r: r.params.update(lr=[1, 2]), sigopt.ValidationTypeError, "parameter 'lr' must be an int"),
    ],
)
def test_bad_input_raises_at_the_call_and_loses_nothing(call, error, message) -> None:  # type: ignore[no-untyped-def]
    with sigopt.run() as run:
        run.log_metric("before", 1.0)
        with pytest.raises(error, match=message):
            call(run)
        run.log_metric("after", 2.0)
    record = sigopt.get_run(run.id)
    assert record.state is sigopt.RunState.COMPLETED
    assert record.metrics == {"before": 1.0, "after": 2.0}
    assert issubclass(error, (ValueError, TypeError))


def test_numpy_scalars_are_numbers() -> None:
    np = pytest.importorskip("numpy")
    with sigopt.run() as run:
        run.log_metric("acc", np.float32(0.5))
        run.params.update(width=np.int64(64))
    record = sigopt.get_run(run.id)
    assert record.metrics["acc"] == 0.5 and record.params["width"] == 64


def test_fixed_params_are_read_only() -> None:
    run = sigopt.RunContext(fixed_params={"lr": 0.1})
    with run:
        run.params.setdefaults(lr=0.5, epochs=2)
        assert run.params.lr == 0.1 and run.params.epochs == 2
        run.params.lr = 0.1  # the same value is fine
        with pytest.raises(sigopt.ValidationError, match="Parameter 'lr' was suggested by the experiment as 0.1"):
            run.params.lr = 0.2
        with pytest.raises(AttributeError, match="There is no parameter named 'missing'"):
            _ = run.params.missing
    assert sigopt.get_run(run.id).params == {"lr": 0.1, "epochs": 2}


def test_runs_nest_and_restore_the_outer_run() -> None:
    with sigopt.run(name="outer") as outer:
        with sigopt.run(name="inner") as inner:
            sigopt.log_metric("m", 2)
            assert sigopt.current_run() is inner
        sigopt.log_metric("m", 1)
        assert sigopt.current_run() is outer
    assert sigopt.current_run(silent=True) is None
    assert sigopt.get_run(outer.id).metrics == {"m": 1.0}
    assert sigopt.get_run(inner.id).metrics == {"m": 2.0}


def test_threads_each_see_their_own_run() -> None:
    barrier = threading.Barrier(4)
    ids: dict[int, str] = {}

    def work(i: int) -> None:
        with sigopt.run(name=f"t{i}") as run:
            barrier.wait()  # all four runs are active at once
            for _ in range(100):
                sigopt.log_metric("i", i)
            ids[i] = run.id

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, run_id in ids.items():
        record = sigopt.get_run(run_id)
        assert record.name == f"t{i}" and record.metrics == {"i": float(i)}


def test_asyncio_tasks_each_see_their_own_run() -> None:
    async def work(i: int) -> str:
        async with sigopt.run(name=f"task{i}") as run:
            await asyncio.sleep(0.01 * (3 - i))
            sigopt.log_metric("i", i)
            return run.id

    async def main() -> list[str]:
        return await asyncio.gather(*(work(i) for i in range(3)))

    for i, run_id in enumerate(asyncio.run(main())):
        assert sigopt.get_run(run_id).metrics == {"i": float(i)}


def test_list_runs_is_newest_first_and_filters_by_project() -> None:
    for i in range(3):
        with sigopt.run(name=f"r{i}", project="p1" if i != 1 else "p2"):
            pass
    assert [r.name for r in sigopt.list_runs()] == ["r2", "r1", "r0"]
    assert [r.name for r in sigopt.list_runs(project="p1")] == ["r2", "r0"]


def test_project_defaults_to_the_working_directory(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SIGOPT_PROJECT")
    work = tmp_path / "My Project_1"
    work.mkdir()
    monkeypatch.chdir(work)
    with sigopt.run() as run:
        pass
    assert run.project == "myproject_1"
    assert run.name.startswith("myproject_1 ")


def test_get_run_unknown_id() -> None:
    with pytest.raises(sigopt.ValidationError, match="There is no run with id 'nope'"):
        sigopt.get_run("nope")


def test_store_lock_delays_but_never_raises(store) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    with sigopt.run() as run:
        run.log_metric("warmup", 1)
    blocker = sqlite3.connect(store, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the database
    timer = threading.Timer(1.0, blocker.execute, args=("COMMIT",))
    timer.start()
    with sigopt.run() as run2:
        for i in range(1000):
            run2.log_metric("loss", i)
    timer.join()
    assert sigopt.get_run(run2.id).metrics["loss"] == 999
