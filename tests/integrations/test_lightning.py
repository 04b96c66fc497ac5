"""sigopt_ai.integrations.lightning: real Lightning training of a tiny MLP on the CPU, into a real SQLite store."""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sigopt_ai as sigopt
from sigopt_ai import ValidationError
from sigopt_ai.integrations._run import MAX_CHECKPOINTS
from tests.integrations._examples import run_example
from tests.integrations._torch_loop import check_loop, check_memory, grid_experiment

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch")

from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from sigopt_ai.integrations.lightning import SigOptLogger  # noqa: E402

# Lightning 2.6 calls a helper that torch 2.13 deprecated, on every evaluation loop.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning",
    # A 2-core CI machine: Lightning suggests more DataLoader workers than there are cores to gain from.
    "ignore:The '(train|val)_dataloader' does not have many workers:UserWarning",
)


class Regressor(pl.LightningModule):
    """A 2-layer MLP regressing the sum of its inputs, trained with plain SGD."""

    def __init__(self, lr: float = 0.05, width: int = 16, optim: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, width), torch.nn.ReLU(), torch.nn.Linear(width, 1))

    def training_step(self, batch: Any, index: int) -> Any:
        x, y = batch
        check_memory(sum(p.numel() for p in self.parameters()))
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: Any, index: int) -> None:
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def _loader(rows: int = 128, batch_size: int = 32) -> Any:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(rows, 4, generator=generator)
    return DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=batch_size)


def _fit(logger: SigOptLogger, *, lr: float = 0.05, width: int = 16, epochs: int = 2, **trainer: Any) -> Any:
    module = Regressor(lr=lr, width=width, optim={"name": "sgd", "momentum": 0.0})
    options: dict[str, Any] = {
        "max_epochs": epochs,
        "logger": logger,
        "accelerator": "cpu",
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "log_every_n_steps": 1,
        "num_sanity_val_steps": 0,
        **trainer,
    }
    model = pl.Trainer(**options)
    model.fit(module, _loader(), _loader(64))
    return model


def test_experiment_loop_records_oom_and_divergence_as_failed_observations() -> None:
    exp = grid_experiment("lightning-mlp", good_lr=0.05)
    logger = SigOptLogger()  # one for all runs: each fit records into its own run
    for run in exp.loop(progress=False):
        with run:
            _fit(logger, lr=run.params.lr, width=run.params.width)
    check_loop(exp)


def test_an_owned_run_records_params_step_merged_checkpoints_and_final_metrics() -> None:
    logger = SigOptLogger(name="mlp")
    trainer = _fit(logger, epochs=2)

    record = sigopt.get_run(logger.version)
    assert record.name == "mlp" and record.state == "completed" and record.failure is None
    assert logger.name == record.project == "tests" and record.model == "lightning"
    assert record.params == {"lr": 0.05, "width": 16, "optim/name": "sgd", "optim/momentum": 0.0}
    steps = [c.step for c in record.checkpoints]
    assert steps == list(range(8))  # 4 batches x 2 epochs
    # Each epoch's validation is logged at the step of its last training batch: one checkpoint holds both.
    assert [set(c.values) for c in record.checkpoints[2:4]] == [
        {"train_loss", "epoch"},
        {"train_loss", "val_loss", "epoch"},
    ]
    assert set(record.checkpoints[7].values) == {"train_loss", "val_loss", "epoch"}
    last = {name: [c.values[name] for c in record.checkpoints if name in c.values][-1] for name in record.metrics}
    assert record.metrics == last and set(last) == {"train_loss", "val_loss", "epoch"}
    assert record.metrics["val_loss"] == pytest.approx(float(trainer.callback_metrics["val_loss"]))


# torch's anomaly mode warns with the forward traceback of the operation that produced the NaN.
@pytest.mark.filterwarnings("ignore:Error detected in AddmmBackward0:UserWarning")
def test_an_owned_run_fails_with_the_classified_kind_when_training_raises() -> None:
    logger = SigOptLogger()
    with pytest.raises(torch.cuda.OutOfMemoryError):
        _fit(logger, width=4096)
    record = sigopt.get_run(logger.version)
    assert record.state == "failed" and record.failure is not None and record.failure.kind == "oom"

    # A NaN gradient found by Lightning's detect_anomaly is a plain RuntimeError: recorded as diverged.
    logger = SigOptLogger()
    with pytest.raises(RuntimeError, match="returned nan values"):
        _fit(logger, lr=1e4, detect_anomaly=True)
    record = sigopt.get_run(logger.version)
    assert record.state == "failed" and record.failure is not None and record.failure.kind == "diverged"


def test_a_nan_loss_fails_the_run_and_early_stopping_stops_it() -> None:
    logger = SigOptLogger()
    stop = pl.callbacks.EarlyStopping(monitor="train_loss", patience=100)  # check_finite=True by default
    _fit(logger, lr=1e4, epochs=20, callbacks=[stop])

    record = sigopt.get_run(logger.version)
    assert record.state == "failed" and record.failure is not None and record.failure.kind == "diverged"
    assert "train_loss was" in record.failure.message
    assert max(c.step for c in record.checkpoints) < 8  # stopped in its first epochs, not after 20


def test_the_given_run_and_the_current_run_are_recorded_into_and_left_open() -> None:
    target = sigopt.create_run(name="given")
    with sigopt.run(name="current") as current:
        given_logger = SigOptLogger(target)
        _fit(given_logger, epochs=1)
        _fit(SigOptLogger(prefix="fold1"), epochs=1)
        assert sigopt.get_run(target.id).state == "active" and current.state == "active"
    target.end()

    assert given_logger.version == target.id
    assert sigopt.get_run(target.id).metrics.keys() == {"train_loss", "val_loss", "epoch"}
    record = sigopt.get_run(current.id)
    assert record.metrics.keys() == {"fold1-train_loss", "fold1-val_loss", "fold1-epoch"}
    assert record.state == "completed" and len(sigopt.list_runs()) == 2


def test_checkpoints_stay_within_the_bound_and_reach_the_last_step() -> None:
    logger = SigOptLogger()
    x = torch.randn(900, 4, generator=torch.Generator().manual_seed(1))
    module = Regressor()
    trainer = pl.Trainer(
        max_epochs=1,
        logger=logger,
        accelerator="cpu",
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
    )
    trainer.fit(module, DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=2), _loader(8))
    record = sigopt.get_run(logger.version)
    steps = [c.step for c in record.checkpoints]
    assert 150 <= len(steps) <= MAX_CHECKPOINTS and steps == sorted(set(steps))
    assert steps[-1] == 449  # the latest values of the last span are kept
    assert record.metrics["train_loss"] == record.checkpoints[-1].values["train_loss"]


def test_hyperparams_from_a_namespace_and_logging_outside_a_trainer() -> None:
    logger = SigOptLogger(name="direct")
    logger.log_hyperparams(Namespace(lr=0.1, layers=[8, 8], model={"act": "relu", "loss": torch.nn.MSELoss}))
    logger.log_metrics({"loss": 1.0, "note": "text"}, step=3)
    logger.log_metrics({"acc": torch.tensor(0.5)}, step=3)  # one step, two calls: one checkpoint
    logger.log_metrics({"loss": 0.5})  # no step: the next one
    logger.finalize("success")

    record = sigopt.get_run(logger.version)
    assert record.params == {"lr": 0.1, "layers": "[8, 8]", "model/act": "relu", "model/loss": "MSELoss"}
    assert [(c.step, c.values) for c in record.checkpoints] == [(3, {"loss": 1.0, "acc": 0.5}), (4, {"loss": 0.5})]
    assert record.metrics == {"loss": 0.5, "acc": 0.5} and record.state == "completed"


def test_a_requeue_status_leaves_the_run_open_and_other_ranks_record_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    logger = SigOptLogger()
    logger.log_metrics({"loss": 2.0}, step=0)
    logger.finalize("finished")  # Lightning's status before a SLURM requeue: the process goes on
    record = sigopt.get_run(logger.version)
    assert record.state == "active" and record.metrics == {"loss": 2.0}

    monkeypatch.setattr(pl.utilities.rank_zero_only, "rank", 1)  # as in a process of global rank 1
    logger.log_metrics({"loss": 1.0}, step=1)
    logger.finalize("success")
    monkeypatch.setattr(pl.utilities.rank_zero_only, "rank", 0)
    assert sigopt.get_run(logger.version).state == "active"  # rank 1 neither recorded nor ended it

    logger.finalize("success")
    record = sigopt.get_run(logger.version)
    assert record.state == "completed" and [c.step for c in record.checkpoints] == [0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"prefix": 3}, "prefix must be a string, got 3 (int)"),
        ({"prefix": "x" * 51}, "prefix must be at most 50 printable characters"),
        ({"prefix": "a\nb"}, "prefix must be at most 50 printable characters"),
        ({"run": "abc"}, "run must be a sigopt_ai.RunContext"),
        ({"name": ""}, "name must be a non-empty string"),
        ({"project": "Not A Project"}, "project must be 1 to 100 lower-case letters"),
    ],
)
def test_bad_constructor_input_names_the_argument(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SigOptLogger(**kwargs)


@settings(max_examples=50, deadline=None)
@given(prefix=st.text(max_size=60))
def test_any_prefix_is_accepted_and_used_or_refused_naming_it(prefix: str) -> None:
    if len(prefix) <= 50 and prefix.isprintable():
        logger = SigOptLogger(prefix=prefix)
        key = f"{prefix}-loss" if prefix else "loss"
        with sigopt.run() as run:
            logger.log_metrics({"loss": 1.0}, step=0)
            logger.finalize("success")
        assert sigopt.get_run(run.id).metrics == {key: 1.0}
    else:
        with pytest.raises(ValidationError, match="^prefix must be at most 50 printable characters"):
            SigOptLogger(prefix=prefix)


def test_the_example_runs(tmp_path: Path) -> None:
    stdout = run_example("lightning_example.py", tmp_path).stdout
    assert "best run" in stdout and "val_loss" in stdout
