"""Module-level calls outside any run behave as in sigopt-python: the script runs, nothing is
recorded, and one warning per process says how to record."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sigopt_ai as sigopt
from sigopt_ai.runs import _detached
from tests.conftest import run_python

HOW_TO_RECORD = r"outside any run records nothing\. To record, run the script with `sigopt-ai run python"


@pytest.fixture(autouse=True)
def fresh_warning(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test is a process that has not warned yet (the warning is once per process)."""
    monkeypatch.setattr(_detached, "_warned", False)
    yield


def detached_params() -> sigopt.RunParams:
    return _detached.detached_params()


@pytest.fixture(autouse=True)
def empty_detached_params() -> Iterator[None]:
    """The detached parameters are process-wide: each test starts without any."""
    params = detached_params()
    for name in list(params):
        del params[name]
    yield
    for name in list(params):
        del params[name]


CALLS: list[tuple[str, Callable[[], Any]]] = [
    ("log_metric", lambda: sigopt.log_metric("accuracy", 0.9, stddev=0.01)),
    ("log_metrics", lambda: sigopt.log_metrics({"a": 1.0}, b=2)),
    ("log_checkpoint", lambda: sigopt.log_checkpoint({"loss": 0.5}, step=3)),
    ("log_metadata", lambda: sigopt.log_metadata("host", "gpu-1")),
    ("log_dataset", lambda: sigopt.log_dataset("mnist")),
    ("log_model", lambda: sigopt.log_model("xgboost")),
    ("log_failure", lambda: sigopt.log_failure("too wide")),
    ("log_image", lambda: sigopt.log_image(np.zeros((2, 2)), name="confusion")),
    ("params.setdefault", lambda: sigopt.params.setdefault("lr", 0.1)),
]


@pytest.mark.parametrize(("name", "call"), CALLS, ids=[name for name, _ in CALLS])
def test_each_module_level_call_records_nothing_and_says_how_to_record(name: str, call: Callable[[], Any]) -> None:
    with pytest.warns(UserWarning, match=HOW_TO_RECORD) as warned:
        call()
    assert len(warned) == 1
    assert name.split(".")[0] in str(warned[0].message)
    assert warned[0].filename == __file__  # the warning points at the user's line, not the library
    assert sigopt.list_runs() == []
    assert sigopt.get_run_id() is None


def test_the_warning_comes_once_per_process() -> None:
    with pytest.warns(UserWarning) as warned:
        sigopt.log_metric("a", 1.0)
        sigopt.log_metric("a", 2.0)
        sigopt.params.setdefaults(lr=0.1)
        sigopt.log_metadata("k", "v")
    assert len(warned) == 1


BAD_CALLS: list[tuple[Callable[[], Any], type[sigopt.SigOptError], str]] = [
    (lambda: sigopt.log_metric("", 1.0), sigopt.ValidationError, "metric name must be 1 to 100"),
    (lambda: sigopt.log_metric("acc", "high"), sigopt.ValidationTypeError, "metric 'acc' must be a number"),  # type: ignore[arg-type]
    (lambda: sigopt.log_metric("acc", 1.0, stddev=-1), sigopt.ValidationError, "stddev of metric 'acc'"),
    (lambda: sigopt.log_metrics({"a": 1.0, "b": None}), sigopt.ValidationTypeError, "metric 'b' must be a number"),  # type: ignore[dict-item]
    (lambda: sigopt.log_checkpoint([1]), sigopt.ValidationTypeError, "checkpoint values must be a mapping"),  # type: ignore[arg-type]
    (lambda: sigopt.log_checkpoint({"a": 1}, step=-1), sigopt.ValidationError, "step must be an int >= 0"),
    (lambda: sigopt.log_metadata(3, "v"), sigopt.ValidationTypeError, "metadata key must be a string"),  # type: ignore[arg-type]
    (lambda: sigopt.log_dataset(""), sigopt.ValidationError, "dataset name"),
    (lambda: sigopt.log_model("m" * 501), sigopt.ValidationError, "model type must be at most 500"),
    (lambda: sigopt.log_failure(("oom",)), sigopt.ValidationTypeError, "reason must be a str"),  # type: ignore[arg-type]
    (lambda: sigopt.log_image("x.png", name=""), sigopt.ValidationError, "image name"),
    (lambda: sigopt.log_image("no-such-file.png"), sigopt.ValidationError, "image must be the path of a file"),
    (lambda: sigopt.params.setdefaults(lr=[1, 2]), sigopt.ValidationTypeError, "parameter 'lr'"),
]


@pytest.mark.parametrize(("call", "error", "message"), BAD_CALLS)
def test_bad_input_is_refused_outside_a_run_as_inside_one(
    call: Callable[[], Any], error: type[sigopt.SigOptError], message: str
) -> None:
    # A script that works without a run must work when `sigopt-ai run` gives it one.
    with pytest.raises(error, match=message):
        call()
    assert sigopt.list_runs() == []


def test_params_are_read_back_and_recorded_nowhere() -> None:
    with pytest.warns(UserWarning, match=HOW_TO_RECORD):
        assert sigopt.params.setdefault("lr", 0.1) == 0.1
    assert sigopt.params.setdefault("lr", 0.5) == 0.1  # the first default stays, as in a run
    sigopt.params.setdefaults(epochs=3, lr=0.2)
    assert (sigopt.params.lr, sigopt.params.epochs) == (0.1, 3)
    sigopt.params.batch = 64
    sigopt.params["depth"] = 4
    sigopt.params.update(width=8)
    assert dict(sigopt.params) == {"lr": 0.1, "epochs": 3, "batch": 64, "depth": 4, "width": 8}
    with pytest.raises(AttributeError, match="no parameter named 'missing'"):
        sigopt.params.missing  # noqa: B018
    assert sigopt.list_runs() == []


def test_a_run_started_later_has_its_own_params_and_records_its_metrics() -> None:
    with pytest.warns(UserWarning, match=HOW_TO_RECORD):
        sigopt.params.setdefault("lr", 0.1)
        sigopt.log_metric("before", 1.0)
    with sigopt.run(name="later") as run:
        assert sigopt.get_run_id() == run.id
        assert sigopt.params.setdefault("lr", 0.3) == 0.3
        sigopt.log_metric("inside", 2.0)
    assert sigopt.get_run_id() is None
    assert sigopt.params.lr == 0.1  # back to the detached set
    record = sigopt.get_run(run.id)
    assert record.metrics == {"inside": 2.0}
    assert record.params == {"lr": 0.3}


def test_params_set_outside_a_run_start_a_created_run_as_sigopt_pythons_defaults() -> None:
    with pytest.warns(UserWarning, match=HOW_TO_RECORD):
        sigopt.params.setdefaults(lr=0.1, width=64)
    with sigopt.create_run() as run:
        assert (run.params.lr, sigopt.params.width) == (0.1, 64)
    assert sigopt.get_run(run.id).params == {"lr": 0.1, "width": 64}
    exp = sigopt.create_aiexperiment(
        name="e", parameters=[{"name": "lr", "type": "double", "bounds": {"min": 0.5, "max": 1}}], metrics=["m"]
    )
    with exp.create_run() as suggested:
        suggested.log_metric("m", 1.0)
    assert suggested.params.lr >= 0.5  # type: ignore[operator]  # the suggestion wins
    assert suggested.params.width == 64


def test_current_run_itself_still_needs_a_run() -> None:
    with pytest.raises(sigopt.UsageError, match="There is no active sigopt_ai run"):
        sigopt.current_run()


SCRIPT = """
import sigopt_ai as sigopt

lr = sigopt.params.setdefault("lr", 0.05)
for epoch in range(3):
    sigopt.log_metric("loss", 1.0 / (epoch + 1))
    sigopt.log_checkpoint({"loss": 1.0 / (epoch + 1)})
sigopt.log_metadata("optimizer", "adam")
print("lr", lr, "run", sigopt.get_run_id())
"""


def test_a_script_without_a_run_runs_and_warns_once(store: Path) -> None:
    done = run_python(SCRIPT, env={"SIGOPT_AI_DB": str(store), "PYTHONWARNINGS": "default"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "lr 0.05 run None"
    assert done.stderr.count("UserWarning") == 1, done.stderr
    assert "sigopt-ai run python" in done.stderr
    assert sigopt.list_runs() == []


def test_the_same_script_under_sigopt_ai_run_records_into_its_run(store: Path, tmp_path: Path) -> None:
    script = tmp_path / "model.py"
    script.write_text(textwrap.dedent(SCRIPT))
    cli = Path(sys.executable).with_name("sigopt-ai")
    done = subprocess.run(
        [str(cli), "run", "--", sys.executable, str(script)],
        env={**os.environ, "SIGOPT_AI_DB": str(store), "PYTHONWARNINGS": "default"},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "UserWarning" not in done.stderr
    [record] = sigopt.list_runs()
    assert record.state is sigopt.RunState.COMPLETED
    assert record.params == {"lr": 0.05}
    assert record.metrics["loss"] == pytest.approx(1 / 3)
    assert len(record.checkpoints) == 3
    assert record.metadata["optimizer"] == "adam"
    assert f"run {record.id}" in done.stdout
