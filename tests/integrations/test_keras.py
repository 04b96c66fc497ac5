"""sigopt_ai.integrations.keras: real Keras 3 training (on its torch backend, CPU) into a real SQLite store."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sigopt_ai as sigopt
from sigopt_ai import ValidationError
from sigopt_ai.integrations._run import MAX_CHECKPOINTS
from tests.conftest import run_python
from tests.integrations._examples import run_example
from tests.integrations._torch_loop import check_loop, check_memory, grid_experiment

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

from sigopt_ai.integrations import keras as integration  # noqa: E402
from sigopt_ai.integrations.keras import SigOptCallback  # noqa: E402


class MemoryCap(keras.layers.Layer):  # type: ignore[misc]
    """Passes its input through; in training, raises CUDA's OOM when the model's weights need more than the cap."""

    def __init__(self, weights: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model_weights = weights

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        if training:
            check_memory(self.model_weights)
        return inputs


def _model(lr: float = 0.01, width: int = 16) -> Any:
    weights = 4 * width + width + width + 1
    model = keras.Sequential(
        [
            keras.Input((4,)),
            MemoryCap(weights),
            keras.layers.Dense(width, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr), loss="mse", metrics=["mae"])
    return model


def _data(rows: int = 128) -> tuple[Any, Any]:
    x = np.random.default_rng(0).standard_normal((rows, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def _fit(callback: SigOptCallback, *, lr: float = 0.01, width: int = 16, epochs: int = 3, **fit: Any) -> Any:
    x, y = _data(fit.pop("rows", 128))
    options = {"batch_size": 32, "validation_split": 0.25, "verbose": 0, **fit}
    return _model(lr, width).fit(x, y, epochs=epochs, callbacks=[callback], **options)


def test_experiment_loop_records_oom_and_divergence_as_failed_observations() -> None:
    exp = grid_experiment("keras-mlp", good_lr=0.01)
    callback = SigOptCallback()  # one for all runs: each fit records into its own run, after a failed one too
    for run in exp.loop(progress=False):
        with run:
            _fit(callback, lr=run.params.lr, width=run.params.width)
    check_loop(exp)
    diverged = sigopt.get_run(next(str(o.run) for o in exp.observations() if o.failure_kind == "diverged"))
    assert diverged.failure is not None and diverged.failure.message.startswith("loss was ")
    assert len(diverged.checkpoints) == 1  # stopped in its first epoch, as TerminateOnNaN stops


def test_an_owned_run_records_params_epoch_checkpoints_and_final_metrics() -> None:
    callback = SigOptCallback(name="mlp")
    history = _fit(callback, epochs=3)

    record = sigopt.get_run(callback.run.id)
    assert record.name == "mlp" and record.state == "completed" and record.failure is None
    assert record.model == "keras"
    assert record.params == {
        "optimizer": "SGD",
        "learning_rate": 0.01,
        "loss": "mse",
        "epochs": 3,
        "steps_per_epoch": 3,  # 96 training rows in batches of 32
    }
    assert [c.step for c in record.checkpoints] == [0, 1, 2]
    assert set(record.checkpoints[0].values) == {"loss", "mae", "val_loss", "val_mae"}
    assert record.metrics == pytest.approx({name: values[-1] for name, values in history.history.items()})


def test_an_owned_run_used_as_a_context_manager_fails_with_the_classified_kind() -> None:
    with pytest.raises(torch.cuda.OutOfMemoryError), SigOptCallback() as callback:
        _fit(callback, width=4096)
    record = sigopt.get_run(callback.run.id)
    assert record.state == "failed" and record.failure is not None and record.failure.kind == "oom"
    assert record.failure.type == "torch.OutOfMemoryError"

    with SigOptCallback() as callback:  # a clean fit: the callback ended the run already
        _fit(callback, epochs=1)
    assert sigopt.get_run(callback.run.id).state == "completed"


def test_the_given_run_and_the_current_run_are_recorded_into_and_left_open() -> None:
    target = sigopt.create_run(name="given")
    callback = SigOptCallback(target)
    with sigopt.run(name="current") as current:
        current.params.lr = 0.5  # a user-set value, kept
        _fit(callback, epochs=1)
        _fit(SigOptCallback(), epochs=1)
        assert sigopt.get_run(target.id).state == "active" and current.state == "active"
    target.end()

    assert callback.run is target and sigopt.get_run(target.id).metrics.keys() == {"loss", "mae", "val_loss", "val_mae"}
    record = sigopt.get_run(current.id)
    assert record.state == "completed" and record.params["lr"] == 0.5 and record.params["learning_rate"] == 0.01
    assert len(sigopt.list_runs()) == 2


def test_epoch_checkpoints_stay_within_the_bound() -> None:
    callback = SigOptCallback()
    _fit(callback, epochs=250, rows=8, batch_size=8, validation_split=0.0)
    steps = [c.step for c in sigopt.get_run(callback.run.id).checkpoints]
    assert len(steps) == 125 <= MAX_CHECKPOINTS  # every 2nd epoch
    assert steps[:2] == [1, 3] and steps[-1] == 249


def test_batch_checkpoints_share_the_bound_with_epochs() -> None:
    callback = SigOptCallback(log_batches=True)
    _fit(callback, epochs=2, rows=480, batch_size=4, validation_split=0.0)  # 240 batches
    record = sigopt.get_run(callback.run.id)
    batches = [c.step for c in record.checkpoints if "batch/loss" in c.values]
    epochs = [c.step for c in record.checkpoints if "loss" in c.values]
    assert len(batches) == 80 and batches[:2] == [0, 3] and epochs == [119, 239]  # 100 at most: every 3rd
    assert len(record.checkpoints) <= MAX_CHECKPOINTS
    assert set(record.checkpoints[0].values) == {"batch/loss", "batch/mae"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"log_batches": 1}, "log_batches must be True or False, got 1 (int)"),
        ({"log_batches": "yes"}, "log_batches must be True or False"),
        ({"run": "abc"}, "run must be a sigopt_ai.RunContext"),
        ({"name": 3}, "name must be a non-empty string"),
        ({"project": "Not A Project"}, "project must be 1 to 100 lower-case letters"),
    ],
)
def test_bad_constructor_input_names_the_argument(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SigOptCallback(**kwargs)


@settings(max_examples=50, deadline=None)
@given(value=st.one_of(st.booleans(), st.integers(), st.text(max_size=5), st.none(), st.floats()))
def test_log_batches_takes_a_bool_only(value: Any) -> None:
    if isinstance(value, bool):
        assert SigOptCallback(log_batches=value)._log_batches is value
    else:
        with pytest.raises(ValidationError, match="^log_batches must be True or False"):
            SigOptCallback(log_batches=value)


def test_the_backend_defaults_to_torch_only_when_nobody_chose_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "keras")  # as before the first import of Keras
    monkeypatch.delenv("KERAS_BACKEND")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    integration._default_backend()
    assert os.environ["KERAS_BACKEND"] == "torch"

    monkeypatch.delenv("KERAS_BACKEND")
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "jax"}))
    integration._default_backend()  # keras.json chose: left to Keras
    assert "KERAS_BACKEND" not in os.environ

    (tmp_path / "keras.json").write_text(json.dumps({"backend": "tensorflow"}))  # what Keras writes by itself
    integration._default_backend()
    assert os.environ["KERAS_BACKEND"] == "torch"


def test_a_missing_backend_is_named() -> None:
    done = run_python(
        """
        import sigopt_ai
        try:
            import sigopt_ai.integrations.keras
        except sigopt_ai.MissingDependency as exc:
            print(exc)
        """,
        env={"KERAS_BACKEND": "jax"},  # not installed here
    )
    assert done.returncode == 0, done.stderr
    assert "Keras cannot run on its backend jax: No module named 'jax'" in done.stdout
    assert "pip install torch" in done.stdout


def test_the_example_runs_without_a_backend_set(tmp_path: Path) -> None:
    stdout = run_example("keras_example.py", tmp_path, drop=("KERAS_BACKEND", "KERAS_HOME"), HOME=str(tmp_path)).stdout
    assert "Keras on torch" in stdout and "best run" in stdout and "val_loss" in stdout
