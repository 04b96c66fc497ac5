"""Hugging Face Transformers: a ``TrainerCallback`` that records a ``Trainer``'s training into a run.

``Trainer(..., callbacks=[SigOptCallback()])`` records, into the current run (an experiment loop's,
say), the run given as ``run=``, or else a run the callback starts when training starts and ends
when it ends:

* **parameters** at ``on_train_begin``: the ``TrainingArguments`` users tune (:data:`TRAINING_ARGUMENTS`,
  not all hundred of them), ``max_steps`` as the Trainer computed it, and the model's basics
  (``model.type``, ``model.parameters``, ``model.hidden_size``, ...). Values already set, such as
  an experiment's suggestions, are kept.
* **checkpoints** at ``state.global_step``: the numbers of every log (``loss``, ``grad_norm``,
  ``learning_rate``, ``epoch``, and the ``eval_*`` values of evaluations run during training, merged
  into the same step), at most 200 per run: with more steps than that, one step in
  ``ceil(max_steps / 199)`` is kept, and the step of a NaN is always kept. A step's checkpoint is
  written when the next step begins (or training ends).
* **metrics**: the metrics of every evaluation (``eval_loss``, ``eval_accuracy``, ...; the last one
  is the run's value), the Trainer's closing summary (``train_loss``, ``train_runtime``, ...), and
  the last logged ``loss``, ``grad_norm``, ``learning_rate`` and ``epoch`` when training ends.
* **metadata**: ``model_class``, and with ``metric_for_best_model`` (early stopping, say) the best
  evaluation's ``best_metric`` and ``best_metric_name`` (and ``best_step`` when checkpoints are saved).

A NaN or infinite loss, evaluation value or gradient norm fails the run as ``diverged`` and stops
training (``control.should_training_stop``), so an experiment learns to avoid the assignment and
spends no more time on it. The Trainer hides a NaN training loss by default
(``logging_nan_inf_filter=True`` logs the average of the previous losses instead): the gradient norm
and evaluation loss still show it. A non-finite gradient norm under ``fp16`` is left out: the
gradient scaler skips those steps by design.

A ``TrainerCallback`` is not told when training raises. Inside ``with run:`` or an experiment loop
the run classifies the exception itself (``torch.cuda.OutOfMemoryError`` is ``oom``). For a run the
callback starts, use the callback as a context manager around training so that the exception is
recorded; a script that dies of it has its open runs failed with it at exit, and a run left open by
a ``train()`` that raised is failed (kind ``error``) when the callback trains again. An evaluation
after training (``trainer.evaluate()``) records into ``run=`` or the current run: a run the callback
started has ended with training, so evaluate inside ``with sigopt.run():`` or with ``eval_strategy``.

The ``Trainer`` itself needs ``accelerate`` (``pip install "transformers[torch]"``).

Only the world's process zero records (``state.is_world_process_zero``), as the Trainer's own
reporting callbacks do.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from typing import Any

from sigopt_ai.integrations._require import require

transformers = require("transformers", "transformers", minimum="4.40")

from transformers import TrainerCallback  # noqa: E402  (after require: a missing framework names its extra)

from sigopt_ai.integrations._run import (  # noqa: E402
    MAX_CHECKPOINTS,
    Closable,
    IntegrationRun,
    checkpoint_period,
    numbers,
)
from sigopt_ai.runs._run import RunContext, current_run  # noqa: E402

__all__ = ["MODEL_CONFIG", "TRAINING_ARGUMENTS", "SigOptCallback"]

TRAINING_ARGUMENTS = (
    "learning_rate",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "num_train_epochs",
    "weight_decay",
    "warmup_steps",
    "warmup_ratio",
    "lr_scheduler_type",
    "optim",
    "adam_beta1",
    "adam_beta2",
    "adam_epsilon",
    "max_grad_norm",
    "label_smoothing_factor",
    "seed",
    "fp16",
    "bf16",
)
"""The ``TrainingArguments`` recorded as parameters under their own names (those a version lacks are
skipped; ``max_steps`` is recorded as the Trainer computed it, never ``-1``)."""

MODEL_CONFIG = (
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "max_position_embeddings",
    "num_labels",
)
"""The model config's fields recorded as parameters ``model.<field>``, besides ``model.type`` and
``model.parameters`` (the number of parameters)."""

_LAST_VALUES = ("loss", "grad_norm", "learning_rate", "epoch")
_SUMMARY_KEY = "train_runtime"  # only the Trainer's closing log, after the last step, carries it


class SigOptCallback(Closable, TrainerCallback):
    """Record a ``transformers.Trainer``'s parameters, logs and evaluation metrics into a run.

    Args:
        run: Record into this run (default: the current run when training starts, else a new run
            that the callback ends when training ends).
        name: The name of a run the callback starts.
        project: The project of a run the callback starts.

    Raises:
        ValidationError: ``run`` is not a :class:`~sigopt_ai.RunContext`, or ``name`` or ``project``
            breaks a rule (the message names the argument).

    Example:
        >>> from sigopt_ai.integrations.transformers import SigOptCallback
        >>> for run in experiment.loop():
        ...     with run:
        ...         args = TrainingArguments("out", learning_rate=run.params.learning_rate, report_to="none")
        ...         trainer = Trainer(model, args, train_dataset=train, eval_dataset=test,
        ...                           callbacks=[SigOptCallback()])
        ...         trainer.train()
        ...         trainer.evaluate()  # eval_loss becomes the run's metric

        Outside any run, the callback starts one; as a context manager it records an exception
        that stops training (an out-of-memory error, say) as the run's failure:

        >>> with SigOptCallback(name="bert-tiny") as callback:
        ...     Trainer(model, args, train_dataset=train, callbacks=[callback]).train()
    """

    def __init__(self, run: RunContext | None = None, *, name: str | None = None, project: str | None = None) -> None:
        self._integration = IntegrationRun(run, name=name, project=project, framework="transformers")
        self._given = run
        self._diverged = False
        self._fp16 = False
        self._stride = 1
        self._recorded: int | None = None  # the step of the last checkpoint recorded
        self._pending: tuple[int, dict[str, float]] | None = None  # this step's values, merged until it ends
        self._last: dict[str, float] = {}

    # -- training -------------------------------------------------------------------------------

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        """Resolve the run and record the training arguments and the model's basics as parameters."""
        if not state.is_world_process_zero:
            return
        integration = self._integration
        self._diverged, self._fp16 = False, bool(getattr(args, "fp16", False))
        self._recorded, self._pending, self._last = None, None, {}
        # One in `stride` steps is recorded; the step of a NaN may add one more: at most MAX_CHECKPOINTS.
        self._stride = checkpoint_period(state.max_steps, 1, MAX_CHECKPOINTS - 1)
        integration.begin()  # a run left by a train() that raised (no callback is told) is let go
        values: dict[str, Any] = {key: _plain(getattr(args, key, None)) for key in TRAINING_ARGUMENTS}
        values["max_steps"] = state.max_steps
        values.update(_model_params(model))
        integration.log_params(values)
        if model is not None:
            integration.log_metadata({"model_class": type(model).__name__})

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """The previous step's logs are complete: record them as one checkpoint."""
        if self._pending is not None:
            self._flush()

    def on_log(self, args: Any, state: Any, control: Any, logs: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Record a log's numbers at ``state.global_step``; a NaN fails the run and stops training."""
        if not state.is_world_process_zero or not logs or not self._integration.started:
            return
        values = numbers(logs)
        if self._fp16 and not math.isfinite(values.get("grad_norm", 0.0)):
            del values["grad_norm"]  # a step the gradient scaler skipped, not a divergence
        if _SUMMARY_KEY in values:
            self._integration.log_metrics(values)
            return
        bad = {key: value for key, value in values.items() if not math.isfinite(value)}
        self._buffer(state.global_step, values, force=bool(bad))
        self._last.update((key, values[key]) for key in _LAST_VALUES if key in values)
        if bad and not self._diverged:
            self._diverged = True
            shown = ", ".join(f"{key}={value}" for key, value in bad.items())
            self._integration.call(self._integration.diverged, f"Trainer logged {shown} at step {state.global_step}.")
            control.should_training_stop = True

    def on_evaluate(
        self, args: Any, state: Any, control: Any, metrics: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> None:
        """Record an evaluation's metrics as the run's metrics (the last evaluation's values win).

        An evaluation outside training (``trainer.evaluate()`` after ``train()``) records into
        ``run=`` or the current run; with neither, into nothing (a run the callback started ended
        with training)."""
        if not state.is_world_process_zero or not metrics:
            return
        if self._integration.started:
            self._integration.log_metrics(metrics)
            return
        found = self._given or current_run(silent=True)
        if found is not None:
            IntegrationRun(found, framework="transformers").log_metrics(metrics)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Record the last logged values as metrics; end the run if the callback started it."""
        if state.is_world_process_zero and self._integration.started:
            self._integration.log_metrics(self._last)
            if getattr(state, "best_metric", None) is not None:  # with metric_for_best_model (early stopping)
                best = {
                    "best_metric": state.best_metric,
                    "best_metric_name": getattr(args, "metric_for_best_model", None),
                    "best_step": getattr(state, "best_global_step", None),  # known once a checkpoint is saved
                }
                self._integration.log_metadata({key: value for key, value in best.items() if value is not None})
            self.close(None)

    def close(self, error: BaseException | None = None) -> None:
        """Training is over: record its last checkpoint and ``error`` (the exception that stopped it,
        classified: a CUDA out-of-memory error is ``oom``), and end the run if the callback started it.
        Leaving ``with callback:`` calls this."""
        if self._pending is not None:
            self._flush()
        super().close(error)

    # -- helpers --------------------------------------------------------------------------------

    def _buffer(self, step: int, values: dict[str, float], *, force: bool) -> None:
        """Merge ``values`` into step ``step``'s checkpoint (an evaluation logs at the step of the
        training log before it), when the step is kept."""
        if self._pending is not None and self._pending[0] != step:
            self._flush()
        if self._pending is None:
            if not force and self._recorded is not None and step - self._recorded < self._stride:
                return
            self._pending = (step, {})
        self._pending[1].update(values)

    def _flush(self) -> None:
        assert self._pending is not None
        step, values = self._pending
        self._pending, self._recorded = None, step
        self._integration.checkpoint(values, step)


def _plain(value: Any) -> Any:
    """An enum argument (``lr_scheduler_type``, ``optim``) as its value, not ``SchedulerType.LINEAR``."""
    return value.value if isinstance(value, enum.Enum) else value


def _model_params(model: Any) -> dict[str, Any]:
    """``model.type``, ``model.parameters`` and the :data:`MODEL_CONFIG` fields the model's config has."""
    if model is None:
        return {}
    config = getattr(model, "config", None)
    values: dict[str, Any] = {"model.type": getattr(config, "model_type", None) or None}
    counter = getattr(model, "num_parameters", None)
    try:
        values["model.parameters"] = int(counter()) if callable(counter) else sum(p.numel() for p in model.parameters())
    except Exception:  # a model that cannot count its parameters still trains
        pass
    for key in MODEL_CONFIG:
        values[f"model.{key}"] = getattr(config, key, None)
    return values
