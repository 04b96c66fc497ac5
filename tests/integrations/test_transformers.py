"""The Hugging Face Trainer callback, with a real tiny BERT trained on the CPU through ``Trainer.train``.

The model is built from a config (no downloads; the hub is switched off) and trains on a synthetic
task: the label says whether the first token is in the upper half of the vocabulary.
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sigopt_ai as sigopt
from sigopt_ai import ValidationError
from tests.integrations._examples import run_example

os.environ.setdefault("HF_HUB_OFFLINE", "1")

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from transformers import (  # noqa: E402
    BertConfig,
    BertForSequenceClassification,
    Trainer,
    TrainerControl,
    TrainerState,
    TrainingArguments,
)

from sigopt_ai.integrations._run import MAX_CHECKPOINTS  # noqa: E402
from sigopt_ai.integrations.transformers import SigOptCallback  # noqa: E402

transformers.logging.set_verbosity_error()  # the Trainer's info lines; warnings still fail the tests

# TrainingArguments refuses to exist without accelerate (transformers' "torch" extra installs it): every
# test that trains or builds TrainingArguments needs it; the constructor's checks do not.
needs_trainer = pytest.mark.skipif(
    importlib.util.find_spec("accelerate") is None,
    reason="transformers' Trainer needs accelerate>=1.1 (pip install 'transformers[torch]')",
)


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """A tiny model trains fastest on one thread; more only contend on a loaded CI machine (10x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


SEQ, VOCAB = 8, 50

# No GPU here: the device's memory is a declared cap on one forward pass's activations, estimated from
# the batch and the model's width, and exceeding it raises torch's real CUDA out-of-memory class.
MEMORY_CAP = 256 * 1024


class Tokens(torch.utils.data.Dataset):  # type: ignore[misc]
    """Random token rows; the label is whether the first token is in the upper half of the vocabulary."""

    def __init__(self, rows: int, seed: int) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(1, VOCAB, (rows, SEQ), generator=generator)
        self.labels = (self.ids[:, 0] >= VOCAB // 2).long()

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"input_ids": self.ids[i], "attention_mask": torch.ones(SEQ, dtype=torch.long), "labels": self.labels[i]}


def tiny_bert(hidden: int = 16) -> Any:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=hidden,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=SEQ,
    )
    return BertForSequenceClassification(config)


def cap_memory(model: Any, cap: int = MEMORY_CAP) -> None:
    """Raise ``torch.cuda.OutOfMemoryError`` at a forward pass whose activations would exceed ``cap``."""
    config = model.config

    def check(module: Any, args: Any, kwargs: dict[str, Any]) -> None:
        need = kwargs["input_ids"].numel() * config.hidden_size * config.num_hidden_layers * 4 * 16
        if need > cap:
            raise torch.cuda.OutOfMemoryError(
                f"CUDA out of memory. Tried to allocate {need / 2**20:.2f} MiB "
                f"(declared cap {cap / 2**20:.2f} MiB: no GPU here)"
            )

    model.register_forward_pre_hook(check, with_kwargs=True)


def trainer(tmp_path: Path, callback: Any, *, model: Any = None, **arguments: Any) -> Any:
    settings = dict(
        output_dir=str(tmp_path / "out"),
        report_to="none",
        use_cpu=True,
        save_strategy="no",
        disable_tqdm=True,
        max_steps=16,
        logging_steps=4,
        eval_strategy="steps",
        eval_steps=8,
        learning_rate=1e-3,
        per_device_train_batch_size=8,
        optim="adamw_torch",
    )
    settings.update(arguments)
    return Trainer(
        model=model if model is not None else tiny_bert(),
        args=TrainingArguments(**settings),
        train_dataset=Tokens(64, 0),
        eval_dataset=Tokens(32, 1),
        callbacks=[callback],
    )


def hook_arguments(tmp_path: Path, **state: Any) -> tuple[Any, Any, Any]:
    """The Trainer's real arguments, state and control objects, for tests that call the hooks in the
    Trainer's order themselves (more steps than a test can train, or a setting the CPU lacks)."""
    args = TrainingArguments(output_dir=str(tmp_path), report_to="none", use_cpu=True)
    return args, TrainerState(**state), TrainerControl()


@needs_trainer
def test_experiment_loop_learns_oom_and_divergence(tmp_path: Path) -> None:
    """Every combination of a sane and a diverging learning rate with a batch that fits and one over
    the memory cap: the failures are real (AdamW at 1e6 turns the weights NaN; the cap raises
    torch's OOM class inside the forward pass) and become failed observations of their kind."""
    exp = sigopt.create_experiment(
        name="hf-tiny-bert",
        type="grid",
        parameters=[
            dict(name="learning_rate", type="double", grid=[1e-3, 1e6]),
            dict(name="batch_size", type="int", grid=[8, 64]),
        ],
        metrics=[dict(name="eval_loss", objective="minimize")],
        budget=4,
    )
    callback = SigOptCallback()  # one instance for the whole loop: each training records into its own run
    for run in exp.loop(progress=False):
        with run:
            model = tiny_bert()
            cap_memory(model)
            lr, batch = run.params["learning_rate"], run.params["batch_size"]
            job = trainer(tmp_path, callback, model=model, learning_rate=lr, per_device_train_batch_size=batch)
            job.train()
            job.evaluate()

    observations = exp.observations()
    assert len(observations) == 4 and exp.progress.finished == 4 and exp.progress.remaining == 0
    by_case = {(o.assignments["learning_rate"], o.assignments["batch_size"]): o for o in observations}
    assert {case: o.failure_kind for case, o in by_case.items()} == {
        (1e-3, 8): None,
        (1e-3, 64): "oom",
        (1e6, 8): "diverged",
        (1e6, 64): "oom",  # the first forward pass is over the cap before any step can diverge
    }
    assert Counter(o.failure_kind for o in observations if o.failed) == {"oom": 2, "diverged": 1}
    good = by_case[(1e-3, 8)]
    assert not good.failed and 0 < good.values["eval_loss"] < 1

    runs = {(r.params["learning_rate"], r.params["batch_size"]): r for r in exp.runs()}
    for (_, batch), record in runs.items():
        assert record.params["per_device_train_batch_size"] == batch  # recorded from TrainingArguments
        assert record.model == "transformers"
    assert runs[(1e-3, 8)].state == "completed"
    oom = runs[(1e-3, 64)]
    assert oom.failure is not None and oom.failure.type is not None and "OutOfMemoryError" in oom.failure.type
    diverged = runs[(1e6, 8)]
    assert diverged.failure is not None and "grad_norm=nan" in diverged.failure.message
    # Training stopped at the first log that showed the NaN, not after all 16 steps.
    assert [c.step for c in diverged.checkpoints] == [4]
    assert math.isnan(diverged.checkpoints[0].values["grad_norm"])


@needs_trainer
def test_owned_run_records_params_checkpoints_and_metrics(tmp_path: Path) -> None:
    callback = SigOptCallback(name="tiny-bert", project="hf-demo")
    trainer(
        tmp_path, callback, lr_scheduler_type="cosine", weight_decay=0.01, metric_for_best_model="eval_loss"
    ).train()

    [record] = sigopt.list_runs(project="hf-demo")
    assert record.name == "tiny-bert" and record.state == "completed" and record.model == "transformers"
    params = record.params
    assert params["learning_rate"] == 1e-3 and params["per_device_train_batch_size"] == 8
    assert params["lr_scheduler_type"] == "cosine" and params["optim"] == "adamw_torch"
    assert params["weight_decay"] == 0.01 and params["max_steps"] == 16 and params["seed"] == 42
    assert params["model.type"] == "bert" and params["model.hidden_size"] == 16
    assert params["model.num_hidden_layers"] == 1 and params["model.parameters"] > 1000
    assert record.metadata["model_class"] == "BertForSequenceClassification"
    best = min(c.values["eval_loss"] for c in record.checkpoints if "eval_loss" in c.values)
    assert record.metadata["best_metric"] == best and record.metadata["best_metric_name"] == "eval_loss"
    assert "best_step" not in record.metadata  # the Trainer knows it only once it saves a checkpoint

    # Training logs every 4 steps and evaluates every 8: one checkpoint per logged step, both merged.
    assert [c.step for c in record.checkpoints] == [4, 8, 12, 16]
    at_8 = record.checkpoints[1].values
    assert {"loss", "grad_norm", "learning_rate", "epoch", "eval_loss", "eval_runtime"} <= set(at_8)
    assert "eval_loss" not in record.checkpoints[0].values
    # The last evaluation, the Trainer's summary and the last logged values are the run's metrics.
    assert record.metrics["eval_loss"] == record.checkpoints[3].values["eval_loss"]
    assert record.metrics["loss"] == record.checkpoints[3].values["loss"]
    assert {"train_loss", "train_runtime", "epoch", "learning_rate"} <= set(record.metrics)
    assert len(sigopt.metric_history(record.id, "eval_loss")) == 2


@needs_trainer
def test_owned_run_fails_with_the_exception_that_stopped_training(tmp_path: Path) -> None:
    model = tiny_bert()
    cap_memory(model, cap=1)
    with pytest.raises(torch.cuda.OutOfMemoryError):
        with SigOptCallback(name="too-big") as callback:
            trainer(tmp_path, callback, model=model).train()
    [record] = sigopt.list_runs()
    assert record.state == "failed" and record.failure is not None and record.failure.kind == "oom"
    assert record.params["learning_rate"] == 1e-3  # recorded before the first step


@needs_trainer
def test_a_run_left_open_by_a_raising_train_is_failed_at_the_next_train(tmp_path: Path) -> None:
    """Without the context manager nobody tells the callback that train() raised: the run it started
    stays open until the callback trains again (or the process exits), and is then failed as an error."""
    callback = SigOptCallback()
    too_big = tiny_bert()
    cap_memory(too_big, cap=1)
    with pytest.raises(torch.cuda.OutOfMemoryError):
        trainer(tmp_path, callback, model=too_big).train()
    trainer(tmp_path, callback, max_steps=4, eval_strategy="no").train()
    first, second = sorted(sigopt.list_runs(), key=lambda r: r.created)
    assert first.state == "failed" and first.failure is not None and first.failure.kind == "error"
    assert "training stopped before its end" in first.failure.message
    assert second.state == "completed" and [c.step for c in second.checkpoints] == [4]


@needs_trainer
def test_explicit_run_is_recorded_into_and_left_open(tmp_path: Path) -> None:
    target = sigopt.create_run(name="target")
    with sigopt.run(name="outer") as outer:
        job = trainer(tmp_path, SigOptCallback(run=target), max_steps=8, eval_strategy="no")
        job.train()
        job.evaluate()  # outside training: recorded into run= too
    assert target.state == "active"  # the callback did not start it, so it does not end it
    target.end()
    record, other = sigopt.get_run(target.id), sigopt.get_run(outer.id)
    assert record.state == "completed" and [c.step for c in record.checkpoints] == [4, 8]
    assert "eval_loss" in record.metrics and "train_loss" in record.metrics
    assert not other.checkpoints and not other.metrics and not other.params


@needs_trainer
def test_checkpoints_are_bounded_to_200(tmp_path: Path) -> None:
    """1000 logged steps (and evaluations) keep one step in ceil(1000 / 199) = 6: 167
    checkpoints, evaluations merged into their step. The hooks are called in the Trainer's order with
    its real state objects: 1000 real steps would take most of a minute on a loaded CI machine."""
    args, state, control = hook_arguments(tmp_path, max_steps=1000)
    callback = SigOptCallback()
    callback.on_train_begin(args, state, control, model=tiny_bert(hidden=4))
    for step in range(1, 1001):
        callback.on_step_begin(args, state, control)
        state.global_step = step
        callback.on_log(args, state, control, logs={"loss": 1 / step, "learning_rate": 1e-3, "epoch": step / 100})
        if step % 12 == 1 or step % 10 == 0:
            callback.on_log(args, state, control, logs={"eval_loss": 2 / step, "epoch": step / 100})
    callback.on_train_end(args, state, control)

    [record] = sigopt.list_runs()
    steps = [c.step for c in record.checkpoints]
    assert len(steps) == 167 <= MAX_CHECKPOINTS and steps[:3] == [1, 7, 13] and steps[-1] == 997
    assert record.checkpoints[1].values == {"loss": 1 / 7, "learning_rate": 1e-3, "epoch": 0.07}
    # An evaluation at a kept step is merged into its checkpoint (one at another step is not kept).
    evaluated = [c for c in record.checkpoints if "eval_loss" in c.values]
    assert [c.step for c in evaluated] == list(range(1, 1000, 12))
    assert all(c.values["eval_loss"] == 2 / c.step and c.values["loss"] == 1 / c.step for c in evaluated)
    assert record.metrics["loss"] == 1 / 1000  # the last step's values are the run's metrics, kept or not


@needs_trainer
def test_only_world_process_zero_records(tmp_path: Path) -> None:
    args, state, control = hook_arguments(tmp_path, max_steps=10, is_world_process_zero=False)
    callback = SigOptCallback()
    callback.on_train_begin(args, state, control, model=tiny_bert())
    callback.on_log(args, state, control, logs={"loss": float("nan")})
    callback.on_evaluate(args, state, control, metrics={"eval_loss": 0.5})
    callback.on_train_end(args, state, control)
    assert sigopt.list_runs() == []


@needs_trainer
def test_nonfinite_grad_norm_under_fp16_is_a_skipped_step(tmp_path: Path) -> None:
    """The gradient scaler skips a step whose gradients overflow; only a NaN loss is a divergence."""
    args, state, control = hook_arguments(tmp_path, max_steps=10)
    args.fp16 = True  # fp16 needs a GPU to construct; the callback only reads the flag
    with sigopt.run() as run, SigOptCallback() as callback:
        callback.on_train_begin(args, state, control)
        state.global_step = 1
        callback.on_log(args, state, control, logs={"loss": 0.7, "grad_norm": float("inf")})
        assert not control.should_training_stop
        state.global_step = 2
        callback.on_step_begin(args, state, control)
        callback.on_log(args, state, control, logs={"loss": float("nan"), "grad_norm": 3.0})
        assert control.should_training_stop
        callback.on_train_end(args, state, control)
    record = sigopt.get_run(run.id)
    assert record.failure is not None and record.failure.kind == "diverged"
    assert [dict(c.values) for c in record.checkpoints][0] == {"loss": 0.7}


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        (dict(run="run-1"), "run must be a sigopt_ai.RunContext"),
        (dict(name=""), "name must be a non-empty string"),
        (dict(name=3), "name must be a non-empty string"),
        (dict(project="Has Spaces"), "project must be 1 to 100 lower-case letters"),
    ],
)
def test_bad_constructor_input_names_the_argument(arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        SigOptCallback(**arguments)


@settings(max_examples=50, deadline=None)
@given(
    name=st.one_of(st.none(), st.text(max_size=120), st.integers()), project=st.one_of(st.none(), st.text(max_size=8))
)
def test_constructor_accepts_or_names_the_field(name: Any, project: Any) -> None:
    try:
        SigOptCallback(name=name, project=project)
    except ValidationError as exc:
        assert str(exc).startswith(("name ", "project ")), exc
    else:
        assert name is None or (isinstance(name, str) and 0 < len(name) <= 100)


@needs_trainer
def test_example_runs(tmp_path: Path) -> None:
    done = run_example("transformers_example.py", tmp_path, timeout=120, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    assert "best run" in done.stdout and "eval_loss" in done.stdout, done.stdout
