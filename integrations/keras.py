"""Keras 3: :class:`SigOptCallback`, a callback that records ``model.fit`` into a run.

Keras 3 picks its backend once, when it is first imported: ``KERAS_BACKEND`` if set, else
``~/.keras/keras.json``, else TensorFlow. When nothing chose one and TensorFlow is not installed,
``import keras`` would fail; importing this module first then sets ``KERAS_BACKEND`` to ``torch``
(or ``jax``), whichever is installed, so that Keras works out of the box on PyTorch. A backend
chosen by the environment or by ``keras.json``, an installed TensorFlow, or Keras imported earlier
are left alone: set ``KERAS_BACKEND`` yourself to be explicit. When the backend Keras tries is not
installed, importing this module raises :class:`~sigopt_ai.MissingDependency` naming that backend.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import sys
from collections.abc import Mapping
from typing import Any

from sigopt_ai._exceptions import MissingDependency
from sigopt_ai.integrations._require import require
from sigopt_ai.integrations._run import MAX_CHECKPOINTS, Closable, IntegrationRun, checkpoint_period, flag
from sigopt_ai.runs._run import RunContext

__all__ = ["SigOptCallback"]

logger = logging.getLogger("sigopt_ai.integrations")


def _installed(module: str) -> bool:
    """Whether ``module`` can be found, without importing it (a module set to None in sys.modules cannot)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _default_backend() -> None:
    """Point Keras at an installed backend when its default, TensorFlow, is missing and nobody chose one."""
    if "keras" in sys.modules or os.environ.get("KERAS_BACKEND"):
        return
    if _installed("tensorflow"):
        return
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json"), encoding="utf-8") as file:
            chosen = json.load(file).get("backend")
    except (OSError, ValueError, AttributeError):
        chosen = None
    # Keras writes "tensorflow" into keras.json by itself on its first import: only another name is a choice.
    if chosen not in (None, "tensorflow"):
        return
    for backend in ("torch", "jax"):
        if _installed(backend):
            os.environ["KERAS_BACKEND"] = backend
            logger.info("sigopt_ai: TensorFlow is not installed; Keras will run on %s (KERAS_BACKEND).", backend)
            return


_default_backend()
try:
    keras = require("keras", "keras", minimum="3.3")
except MissingDependency as exc:
    if not _installed("keras"):
        raise
    # Keras is there; its backend is not: say which one it tried, not that Keras is missing.
    backend = os.environ.get("KERAS_BACKEND") or "tensorflow (its default)"
    raise MissingDependency(
        f"Keras cannot run on its backend {backend}: {exc.__cause__}. Install a backend "
        "(pip install torch, or jax, or tensorflow) and name it in KERAS_BACKEND."
    ) from exc

from keras.callbacks import Callback  # noqa: E402


class SigOptCallback(Closable, Callback):  # type: ignore[misc]  # keras has no type information
    """A Keras callback that records ``model.fit`` into a sigopt_ai run.

    It records into ``run``, else the run current when training starts (an experiment loop's), else
    a run it starts and ends itself.

    * As training starts: the optimizer's name and learning rate, the loss, ``epochs`` and
      ``steps_per_epoch`` become the run's parameters (suggested and user-set parameters are kept).
      Keras does not tell callbacks the batch size: record it yourself if you tune it.
    * Each epoch's logs (``loss``, compiled metrics, ``val_*``) become a checkpoint at step = the
      epoch, thinned to at most 200 checkpoints over ``epochs``; at the end of training the last
      epoch's logs become the run's metrics.
    * ``log_batches=True`` also records each batch's logs as ``batch/<name>`` checkpoints, and then
      every checkpoint's step is the batch count (the epoch's checkpoint at its last batch); at most
      100 batch and 100 epoch checkpoints are recorded.
    * A NaN or infinite loss stops training as ``keras.callbacks.TerminateOnNaN`` does
      (``model.stop_training = True``) and fails the run ``diverged``.
    * Keras calls no callback when ``fit`` raises. Inside an experiment loop or ``with sigopt.run():``
      the run classifies the exception itself (``torch.cuda.OutOfMemoryError`` is ``oom``). For a
      run the callback starts, use the callback as a context manager around ``fit``
      (``with SigOptCallback() as callback:``): leaving the block records the classified failure
      and ends the run. Without it, such a run stays open until training ends without an exception
      or the interpreter exits.

    Args:
        run: Record into this run (default: the current run when training starts, else a new one).
        name: The name of a run the callback starts itself.
        project: The project of a run the callback starts itself.
        log_batches: Also record every batch's logs.

    Raises:
        ValidationError: An argument breaks its rule; the message names it.

    Example:
        >>> from sigopt_ai.integrations.keras import SigOptCallback
        >>> for run in experiment.loop():
        ...     with run:
        ...         model = build_model(width=run.params.width)
        ...         model.compile(optimizer=keras.optimizers.Adam(run.params.lr), loss="mse")
        ...         model.fit(x, y, epochs=10, validation_split=0.2, callbacks=[SigOptCallback()])
    """

    def __init__(
        self,
        run: RunContext | None = None,
        *,
        name: str | None = None,
        project: str | None = None,
        log_batches: bool = False,
    ) -> None:
        super().__init__()
        self._log_batches = flag(log_batches, "log_batches")
        self._integration = IntegrationRun(run, name=name, project=project, framework="keras")
        self._epoch_period = 1
        self._batch_period = 1
        self._epochs: int | None = None
        self._batches = 0  # batches trained in this fit, over all epochs
        self._epoch_start = 0
        self._diverged = False

    @property
    def run(self) -> RunContext:
        """The run recorded into: during training the one resolved as it started; after it, the last one."""
        return self._integration.last or self._integration.run

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        """Resolve the run and record the compile and fit parameters."""
        integration = self._integration
        integration.begin()  # a run left by a fit that raised (Keras calls no callback then) is let go
        params = self.params or {}
        epochs = params.get("epochs")
        steps = params.get("steps")
        self._epochs = epochs if isinstance(epochs, int) and epochs > 0 else None
        self._batches = self._epoch_start = 0
        self._diverged = False
        epoch_limit = MAX_CHECKPOINTS // 2 if self._log_batches else MAX_CHECKPOINTS
        self._epoch_period = checkpoint_period(self._epochs, 1, epoch_limit)
        total = self._epochs * steps if self._epochs and isinstance(steps, int) and steps > 0 else None
        self._batch_period = checkpoint_period(total, 1, MAX_CHECKPOINTS // 2)
        integration.log_params({**self._compile_params(), "epochs": self._epochs, "steps_per_epoch": steps})

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        """Count batches from here (Keras numbers them per epoch)."""
        self._epoch_start = self._batches

    def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        """Stop training on a NaN or infinite loss; with ``log_batches``, checkpoint the batch's logs."""
        if not logs:
            return
        self._batches = self._epoch_start + batch + 1
        self._check_loss(logs, f"batch {self._batches - 1}")
        if self._log_batches and (self._batches - 1) % self._batch_period == 0:
            self._integration.checkpoint({f"batch/{key}": value for key, value in logs.items()}, self._batches - 1)

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        """Checkpoint the epoch's logs when the period says so (always the last and a stopped epoch)."""
        if not logs:
            return
        self._check_loss(logs, f"epoch {epoch}")
        last = self._epochs is not None and epoch + 1 >= self._epochs
        if (epoch + 1) % self._epoch_period == 0 or last or getattr(self.model, "stop_training", False):
            step = max(self._batches - 1, 0) if self._log_batches else epoch
            self._integration.checkpoint(logs, step)

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        """Record the last epoch's logs as the run's metrics, and end a run the callback started."""
        if logs:
            self._integration.log_metrics(logs)
        self.close()

    # -- divergence -----------------------------------------------------------------------------------

    def _check_loss(self, logs: Mapping[str, Any], where: str) -> None:
        loss = logs.get("loss")
        if self._diverged or loss is None:
            return
        try:
            finite = math.isfinite(loss)
        except TypeError:  # not a number: nothing to judge
            return
        if not finite:
            self._diverged = True
            self.model.stop_training = True  # as TerminateOnNaN: the loop stops after this batch
            self._integration.call(self._integration.diverged, f"loss was {loss} at {where}")

    # -- parameters -----------------------------------------------------------------------------------

    def _compile_params(self) -> dict[str, Any]:
        model = self.model
        found: dict[str, Any] = {}
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None:
            found["optimizer"] = type(optimizer).__name__  # its name is made unique per process: "sgd_5"
            try:
                # A float32 variable: 0.01 reads 0.009999999776; 7 significant digits give back 0.01.
                found["learning_rate"] = float(f"{float(optimizer.learning_rate):.7g}")
            except Exception:  # a schedule Keras cannot evaluate now, or no learning rate at all
                pass
        loss = getattr(model, "loss", None)
        if loss is not None:
            found["loss"] = loss if isinstance(loss, str) else getattr(loss, "name", None) or _name_of(loss)
        return found


def _name_of(value: Any) -> str:
    name = getattr(value, "__name__", None)
    return name if isinstance(name, str) else type(value).__name__
