"""PyTorch Lightning: :class:`SigOptLogger`, a Lightning logger that records training into a run.

Pass it as ``Trainer(logger=SigOptLogger())`` (alone or in a list with other loggers). What
``self.log(...)`` records reaches it through Lightning: hyperparameters become the run's parameters,
logged metrics become checkpoints at Lightning's step, and the last value of each becomes the run's
metric when training ends. ``torch.cuda.OutOfMemoryError`` fails the run as ``oom``, a NaN or
infinite loss as ``diverged``, so an experiment over a Lightning model learns where it cannot train.
"""

from __future__ import annotations

import math
import weakref
from argparse import Namespace
from collections.abc import Mapping
from typing import Any

from sigopt_ai._checks import MAX_NAME_LENGTH, describe_value
from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai.integrations._require import require
from sigopt_ai.integrations._run import IntegrationRun, checkpoint_period, numbers
from sigopt_ai.runs._run import RunContext

require("lightning.pytorch", "lightning", minimum="2.2")

from lightning.fabric.loggers.logger import rank_zero_experiment  # noqa: E402
from lightning.pytorch.loggers.logger import Logger  # noqa: E402
from lightning.pytorch.utilities import rank_zero_only  # noqa: E402

__all__ = ["SigOptLogger"]

MAX_PREFIX_LENGTH = 50
"""Characters of ``prefix`` at most: it leaves room for the metric's own name within 100."""


class SigOptLogger(Logger):
    """A Lightning logger that records into a sigopt_ai run.

    It records into ``run``, else the run current when training starts (an experiment loop's), else
    a run it starts and ends itself. Only the process of global rank zero records, as with
    Lightning's own loggers.

    * ``log_hyperparams``: the LightningModule's (and DataModule's) saved hyperparameters become the
      run's parameters, nested names joined with ``/`` (``optimizer/lr``). Suggested and user-set
      parameters are kept as they are.
    * ``log_metrics``: the numbers logged at one step become one checkpoint at that step (several
      calls at one step, such as the training and the validation metrics, are merged). Under a
      ``Trainer``, the steps recorded are thinned so that a run holds at most 200 checkpoints over
      the training's estimated steps (``Trainer.estimated_stepping_batches``); each recorded
      checkpoint holds the latest values of its span of steps.
    * ``finalize("success")``: the last value of each metric becomes the run's metric, and a run the
      logger started ends ``completed``. ``finalize("failed")`` records the exception Lightning is
      handling, classified (``torch.cuda.OutOfMemoryError`` is ``oom``, a NaN gradient found by
      ``detect_anomaly=True`` is ``diverged``). Another status (``"finished"``, which Lightning sends
      before a SLURM requeue) records the metrics and leaves the run open.
    * A NaN or infinite value logged fails the run ``diverged``. A logger cannot stop training; to
      stop a diverging run early, add Lightning's ``EarlyStopping(monitor="train_loss")`` (its
      ``check_finite=True`` default stops training once the monitored value is NaN or infinite),
      or ``Trainer(detect_anomaly=True)``, which raises at the first NaN gradient.

    A run the logger started ends with ``fit``; a ``trainer.test()`` afterwards records into a run
    of its own. To keep both in one run, call them inside ``with sigopt.run():`` (or pass ``run=``).

    Args:
        run: Record into this run (default: the current run when training starts, else a new one).
        name: The name of a run the logger starts itself.
        project: The project of a run the logger starts itself.
        prefix: Put before every metric name, joined with ``-`` as Lightning's loggers do
            (``prefix="fold1"`` records ``fold1-val_loss``); at most 50 printable characters.

    Raises:
        ValidationError: An argument breaks its rule; the message names it.

    Example:
        >>> import lightning.pytorch as pl
        >>> from sigopt_ai.integrations.lightning import SigOptLogger
        >>> for run in experiment.loop():
        ...     with run:
        ...         trainer = pl.Trainer(max_epochs=5, logger=SigOptLogger())
        ...         trainer.fit(MyModule(lr=run.params.lr), train_loader, val_loader)
    """

    def __init__(
        self,
        run: RunContext | None = None,
        *,
        name: str | None = None,
        project: str | None = None,
        prefix: str = "",
    ) -> None:
        super().__init__()
        self._prefix = _check_prefix(prefix)
        self._integration = IntegrationRun(run, name=name, project=project, framework="lightning")
        self._trainer: weakref.ReferenceType[Any] | None = None
        self._period: int | None = None  # steps per checkpoint, fixed once the trainer knows the total
        self._bucket: int | None = None  # the span of steps the pending values belong to
        self._pending: dict[str, float] = {}
        self._pending_step = 0
        self._next_step = 0
        self._last: dict[str, float] = {}
        self._diverged = False

    # -- what Lightning asks of a logger --------------------------------------------------------------

    @property
    @rank_zero_experiment
    def experiment(self) -> RunContext:
        """The run recorded into (resolved, and started if need be, as training starts)."""
        return self._integration.run

    @property
    def name(self) -> str | None:
        """The run's project (Lightning puts checkpoints under ``<save_dir>/<name>/<version>``)."""
        run = self._integration.last or self.experiment
        return run.project if isinstance(run, RunContext) else None

    @property
    def version(self) -> str | None:
        """The run's id."""
        run = self._integration.last or self.experiment
        return run.id if isinstance(run, RunContext) else None

    @rank_zero_only
    def log_hyperparams(self, params: Mapping[str, Any] | Namespace, *args: Any, **kwargs: Any) -> None:
        """Record hyperparameters as the run's parameters, nested names joined with ``/``.

        Parameters the run has already (suggested by an experiment, or set by the user) are kept.
        """
        values = vars(params) if isinstance(params, Namespace) else params
        if isinstance(values, Mapping):
            self._integration.log_params(_flatten(values))

    @rank_zero_only
    def log_graph(self, model: Any, input_array: Any = None) -> None:
        """Lightning calls this with the LightningModule as training starts: its trainer says how many
        steps training will take, which bounds the checkpoints (no graph is recorded)."""
        try:
            trainer = model.trainer
        except (AttributeError, RuntimeError):  # a module not attached to a Trainer
            return
        if trainer is not None:
            self._trainer = weakref.ref(trainer)
            self._period = None

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Record the numbers among ``metrics`` as a checkpoint at ``step`` (default: the next step)."""
        values = numbers(metrics)
        if self._prefix:
            values = {f"{self._prefix}-{key}": value for key, value in values.items()}
        if not values:
            return
        if step is None or isinstance(step, bool) or not isinstance(step, int) or step < 0:
            step = self._next_step
        self._next_step = step + 1
        self._last.update(values)
        bucket = step // self._steps_per_checkpoint()
        if bucket != self._bucket:
            self._flush()
            self._bucket = bucket
        self._pending.update(values)
        self._pending_step = step
        if not self._diverged:
            bad = next((key for key, value in values.items() if not math.isfinite(value)), None)
            if bad is not None:
                self._diverged = True
                self._integration.call(self._integration.diverged, f"{bad} was {values[bad]} at step {step}")

    def save(self) -> None:
        """Nothing to do: the run's writer thread stores what was recorded."""

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """Training ended with ``status``: record the last values as the run's metrics, and a failure.

        ``"success"`` ends a run the logger started; ``"failed"`` records the exception being handled
        (classified as it would be leaving ``with run:``) and ends a run the logger started. Any other
        status leaves the run open.
        """
        self._flush()
        if self._last:
            self._integration.log_metrics(self._last)
        self._last = {}
        self._bucket = None
        self._diverged = False
        if status == "success":
            self._integration.finish()
        elif status == "failed":
            self._integration.finish(True)  # the exception Lightning is handling, classified

    # -- checkpoints ----------------------------------------------------------------------------------

    def _steps_per_checkpoint(self) -> int:
        if self._period is None:
            trainer = self._trainer() if self._trainer is not None else None
            if trainer is None or getattr(trainer, "train_dataloader", None) is None:
                return 1  # not fitting (yet): every step; asking for the total now would load the data
            try:
                total = trainer.estimated_stepping_batches
            except Exception:  # Lightning cannot tell (gradient accumulation that changes per epoch)
                total = None
            finite = isinstance(total, (int, float)) and math.isfinite(total)
            # Steps run from 0 to the total included: the validation after the last step logs there.
            self._period = checkpoint_period(int(total) + 1 if finite else None)
        return self._period

    def _flush(self) -> None:
        if self._pending:
            self._integration.checkpoint(self._pending, self._pending_step)
            self._pending = {}


def _check_prefix(prefix: Any) -> str:
    if not isinstance(prefix, str):
        raise ValidationTypeError(f"prefix must be a string, got {describe_value(prefix)}.")
    if len(prefix) > MAX_PREFIX_LENGTH or not prefix.isprintable():
        raise ValidationError(
            f"prefix must be at most {MAX_PREFIX_LENGTH} printable characters (metric names are at most "
            f"{MAX_NAME_LENGTH}), got {len(prefix)}: {prefix[:60]!r}."
        )
    return prefix


def _flatten(values: Mapping[Any, Any], parent: str = "") -> dict[str, Any]:
    """Nested mappings and namespaces flattened to ``a/b`` names; a function or class as its name."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{parent}/{key}" if parent else str(key)
        if isinstance(value, Namespace):
            value = vars(value)
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name))
        elif callable(value) and hasattr(value, "__name__"):
            flat[name] = value.__name__
        else:
            flat[name] = value
    return flat
