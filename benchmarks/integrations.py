"""What each framework integration costs training: the same small training without a callback, with ours
(``sigopt_ai.integrations.<framework>``), and with MLflow's and W&B's callback or logger for that framework.

Usage (from the repository root)::

    python benchmarks/integrations.py              # ours and the peers (about 8 minutes on 2 cores)
    python benchmarks/integrations.py --no-peers   # ours only, in this interpreter
    python benchmarks/integrations.py --size tiny --reps 1 --frameworks xgboost   # a smoke run

What is measured, per framework, in one fresh process (one framework per process, so one framework's
imports and threads do not slow another's):

* The training (``--size full``): XGBoost and LightGBM, 200 boosting rounds on 10,000 x 20 synthetic
  binary data with a train and a validation set evaluated every round; Lightning and Keras 3 (torch
  backend), a 20-64-64-1 MLP, 2 epochs of 100 batches of 64 with a validation set (Lightning logs
  the loss every step: ``log_every_n_steps=1``); Transformers, a 1-layer BERT (hidden size 16) built
  from a config, 200 steps of batch 8, logging every step (``logging_steps=1``), evaluated at the end.
  A step is a boosting round or an optimizer step. Every framework runs on one thread
  (``nthread``/``num_threads``/``torch.set_num_threads(1)``) so that the figures move less with the
  shared machine's load; recording threads (our writer, MLflow's, wandb-core) run beside it.
* The long training: the same workload with ``Size.long_factor`` times the steps (5x at ``full``: 1,000
  boosting rounds, 10 epochs, 5 epochs of the same batches; 2x at ``tiny``), run for ``none``, ``noop`` and
  ``sigopt_ai`` only (``--long-reps``, default 3, of the repetitions below; no warm-up of its own, the
  short one's warms the framework). Two lengths separate what an integration pays once per training
  (opening its records, the writer storing the run's start, system metadata and params, XGBoost's own
  lazy setup inside ``before_training``) from what it pays at every step.
* Variants: ``none`` (no callback, no logger), ``noop`` (a callback or logger of the framework's base
  class that does nothing: the floor every integration pays, the framework's dispatch and Python code
  run cold after each step's compute), ``sigopt_ai``, ``mlflow`` (3.17.2) and ``wandb``
  (0.31.0, ``mode="offline"``). Each records what ours records: metrics per step, params, final
  metrics, feature importances for the boosters; none saves the model. MLflow: ``mlflow.xgboost``/
  ``mlflow.lightgbm.autolog(log_models=False, log_datasets=False)``, Lightning's ``MLFlowLogger``,
  ``mlflow.keras.MlflowCallback``, Transformers' ``MLflowCallback``, on a SQLite tracking store.
  W&B: ``wandb.integration.xgboost.WandbCallback(log_model=False)``,
  ``wandb.integration.lightgbm.wandb_callback()``, Lightning's ``WandbLogger(offline=True)``,
  Transformers' ``WandbCallback``; W&B's Keras callbacks import TensorFlow (not installed), so Keras
  has no W&B row.
* Each variant's run is opened before the timed training and closed after it (``with sigopt.run()``,
  ``mlflow.start_run()``, ``wandb.init()``; Lightning's loggers open theirs when first asked), so
  ``train`` is the training alone; ``open`` and ``close`` (which waits until the records are stored)
  are reported beside it.
* Repetitions are interleaved: after one untimed warm-up training per variant, repetition ``r`` runs
  every variant once (and, in the first ``--long-reps`` repetitions, every long variant once), in an order
  shuffled with seed ``r``; after each training the child processes
  are left to go idle (at most 5 s) and garbage is collected. Reported: median ``train`` per variant; the
  overhead per step, the median over repetitions of (variant - ``none``) of the same repetition,
  divided by the steps, in µs and in % of the median ``none`` step; and the time spent inside the
  callback's own methods on the training thread (each hook wrapped with ``perf_counter_ns``,
  outermost call only), per step. The same paired overhead in CPU time (``time.process_time``, every
  thread of the process, plus its children's CPU through psutil: wandb-core) counts what recording
  threads and processes take from the machine, and not the time other processes held the cores.
* The cost of a training: the median time in hooks plus the median CPU of every other thread and child
  process during the training (writer threads, MLflow's logging threads, wandb-core; ``process_time -
  thread_time`` plus the children) over ``none``'s of the same length (at least 0: below ``none``'s it
  is the framework's own threads doing less). At each length; on 2 shared cores, repetitions of one
  variant differ by 10 to 20 % in wall and in CPU time, so the whole-training differences (reported
  beside it, with their spread) confirm only large costs.
* The marginal cost per step = (cost(long) - cost(short)) / (steps_long - steps_short), split into its
  time in hooks and its background CPU, and in % of the short ``none`` step; the fixed cost per training
  = cost(short) - marginal x steps_short. The target (issue 18) is a marginal cost under 1 % of
  ``none``'s marginal step ((none(long) - none(short)) / the extra steps, in wall time: the short
  training's step also carries the framework's setup per training, Transformers' Trainer most); a
  training of N steps of s ms is overhead (marginal + fixed / N) / s. The cost at the
  short length divided by its steps is reported too, labelled "at 200 steps, fixed cost included"; the
  peers (no long training) and MLflow's autolog (no object to time: the paired CPU difference) are
  judged on that, and marked so. Our callbacks keep at most 200 checkpoints per run, thinning them on
  longer trainings: the lower recording per step at the long length is the product's behaviour there,
  and it is part of the marginal cost (the checkpoints recorded at both lengths are reported).
* Each variant's run (at each length) is read back after its repetitions (ours: ``sigopt.get_run``; MLflow: the run's
  metrics and params; W&B: the size of the offline run file) to show that it recorded something.

Peers run from a venv under ``--cache-dir`` that sees this interpreter's packages (the frameworks and
this repo), with MLflow and wandb installed in it, inside a loopback-only network namespace when one
can be made, with proxies pointed at a closed port and ``WANDB_MODE=offline`` (as in
``benchmarks/log_overhead.py``). An integration of ours that has not landed is reported as missing.

Results go to ``benchmarks/results/integrations.json`` and ``.md`` (overwritten on each run).
"""

from __future__ import annotations

import argparse
import functools
import gc
import importlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:  # run as a script, ``benchmarks`` is not an installed package
    sys.path.insert(0, str(REPO))

from benchmarks.log_overhead import (  # noqa: E402
    RESULT_PREFIX,
    Peer,
    PeerConfig,
    ensure_venv,
    fmt,
    isolation_prefix,
    machine_facts,
    machine_table,
    peer_env,
    progress,
    write_results,
)

DEFAULT_RESULTS = HERE / "results"
DEFAULT_CACHE = Path("~/.cache/sigopt-ai-bench").expanduser()
FRAMEWORKS = ("xgboost", "lightgbm", "lightning", "keras", "transformers")
VARIANTS = ("none", "noop", "sigopt_ai", "mlflow", "wandb")
LONG_VARIANTS = ("none", "noop", "sigopt_ai")
"""The variants also timed at the long training (``Size.longer``): the marginal cost per step."""
PEER_VARIANTS = ("mlflow", "wandb")
TARGET_PCT = 1.0
"""Issue 18: an integration costs under 1 % of the training it records."""
CHILD_TIMEOUT_S = 900

PEER_SDKS = Peer(
    key="integrations",
    sdk="MLflow and wandb beside the frameworks",
    requirements=("mlflow==3.17.2", "wandb==0.31.0"),
    script="",
    configs=(PeerConfig("callbacks", "framework callbacks", "per SDK"),),
    system_site_packages=True,
)
"""The peers' venv: MLflow and wandb, with the frameworks and this repo from this interpreter."""


@dataclass(frozen=True)
class Size:
    """How big each training is."""

    rows: int  # boosters: training rows (and a quarter as many validation rows)
    features: int
    rounds: int  # boosting rounds
    nn_rows: int  # Lightning and Keras: training rows (batches of ``batch``)
    epochs: int
    batch: int
    hf_rows: int  # Transformers: training sequences (batches of ``hf_batch``)
    hf_batch: int
    hf_epochs: int = 1
    long_factor: int = 5
    """The long training: this many times the steps (rounds or epochs of the same batches)."""

    def longer(self) -> Size:
        """The same training with ``long_factor`` times the steps: more rounds, more epochs of the same data."""
        f = self.long_factor
        return replace(self, rounds=self.rounds * f, epochs=self.epochs * f, hf_epochs=self.hf_epochs * f)


SIZES = {
    "full": Size(rows=10_000, features=20, rounds=200, nn_rows=6_400, epochs=2, batch=64, hf_rows=1_600, hf_batch=8),
    "tiny": Size(
        rows=400, features=5, rounds=10, nn_rows=256, epochs=1, batch=64, hf_rows=32, hf_batch=8, long_factor=2
    ),
}


# --- the trainings (run in the child process) ---------------------------------------------------


@dataclass
class Workload:
    """One framework's training: ``train(objects)`` with the variant's callbacks (or loggers)."""

    steps: int
    train: Callable[[list[Any]], Any]
    hooks: Callable[[Any], Iterable[str]]
    """The names of an integration object's methods the framework calls (the ones timed)."""


def _binary_data(rows: int, features: int, seed: int = 0) -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features)).astype("float32")
    w = rng.normal(size=features)
    y = ((x @ w + 0.5 * rng.normal(size=rows)) > 0).astype("float32")
    return x, y


def _on_methods(obj: Any) -> list[str]:
    return [name for name in dir(type(obj)) if name.startswith("on_") and callable(getattr(obj, name, None))]


def xgboost_workload(size: Size) -> Workload:
    """200 rounds of ``xgb.train`` on binary data, train and validation sets evaluated every round."""
    import xgboost as xgb

    x, y = _binary_data(size.rows, size.features)
    xv, yv = _binary_data(size.rows // 4, size.features, seed=1)
    dtrain, dvalid = xgb.DMatrix(x, label=y), xgb.DMatrix(xv, label=yv)
    params = {"objective": "binary:logistic", "eval_metric": ["logloss", "error"], "max_depth": 4, "eta": 0.1}
    params |= {"nthread": 1, "verbosity": 0}

    def train(callbacks: list[Any]) -> Any:
        evals = [(dtrain, "train"), (dvalid, "valid")]
        return xgb.train(params, dtrain, size.rounds, evals=evals, verbose_eval=False, callbacks=callbacks)

    hooks = ("before_training", "before_iteration", "after_iteration", "after_training")
    return Workload(size.rounds, train, lambda _: hooks)


def lightgbm_workload(size: Size) -> Workload:
    """200 rounds of ``lgb.train`` on binary data, train and validation sets evaluated every round."""
    import lightgbm as lgb

    x, y = _binary_data(size.rows, size.features)
    xv, yv = _binary_data(size.rows // 4, size.features, seed=1)
    params = {"objective": "binary", "metric": ["binary_logloss", "binary_error"], "num_leaves": 15}
    params |= {"learning_rate": 0.1, "num_threads": 1, "verbosity": -1}

    def train(callbacks: list[Any]) -> Any:
        dtrain = lgb.Dataset(x, label=y, free_raw_data=False)
        dvalid = lgb.Dataset(xv, label=yv, reference=dtrain, free_raw_data=False)
        return lgb.train(
            params,
            dtrain,
            size.rounds,
            valid_sets=[dtrain, dvalid],
            valid_names=["train", "valid"],
            callbacks=callbacks,
        )

    return Workload(size.rounds, train, lambda _: ("__call__",))


def lightning_workload(size: Size) -> Workload:
    """A small MLP through ``Trainer.fit``, the loss logged every step, validation every epoch."""
    import lightning.pytorch as pl
    import torch

    torch.set_num_threads(1)
    x, y = _binary_data(size.nn_rows, size.features)
    xv, yv = _binary_data(size.nn_rows // 4, size.features, seed=1)
    data = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    valid = torch.utils.data.TensorDataset(torch.from_numpy(xv), torch.from_numpy(yv))

    class Net(pl.LightningModule):
        def __init__(self, lr: float = 1e-3, hidden: int = 64) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.net = torch.nn.Sequential(
                torch.nn.Linear(size.features, hidden),
                torch.nn.ReLU(),
                torch.nn.Linear(hidden, hidden),
                torch.nn.ReLU(),
                torch.nn.Linear(hidden, 1),
            )

        def _loss(self, batch: Any) -> Any:
            xb, yb = batch
            return torch.nn.functional.binary_cross_entropy_with_logits(self.net(xb).squeeze(-1), yb)

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            loss = self._loss(batch)
            self.log("train_loss", loss)
            return loss

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            self.log("val_loss", self._loss(batch))

        def configure_optimizers(self) -> Any:
            return torch.optim.Adam(self.parameters(), lr=self.hparams["lr"])

    def train(loggers: list[Any]) -> Any:
        torch.manual_seed(0)
        trainer = pl.Trainer(
            max_epochs=size.epochs,
            logger=loggers or False,
            log_every_n_steps=1,
            accelerator="cpu",
            devices=1,
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
            num_sanity_val_steps=0,
        )
        loader = torch.utils.data.DataLoader(data, batch_size=size.batch, shuffle=True)
        trainer.fit(Net(), loader, torch.utils.data.DataLoader(valid, batch_size=256))
        return trainer

    hooks = ("log_hyperparams", "log_metrics", "log_graph", "save", "finalize", "after_save_checkpoint")
    steps = size.epochs * -(-size.nn_rows // size.batch)
    return Workload(steps, train, lambda _: hooks)


def keras_workload(size: Size) -> Workload:
    """The same MLP through Keras 3's ``fit`` on the torch backend, with validation data."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    import torch

    torch.set_num_threads(1)
    x, y = _binary_data(size.nn_rows, size.features)
    xv, yv = _binary_data(size.nn_rows // 4, size.features, seed=1)

    def train(callbacks: list[Any]) -> Any:
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((size.features,)),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dense(1),
            ]
        )
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.BinaryCrossentropy(from_logits=True))
        model.fit(
            x,
            y,
            batch_size=size.batch,
            epochs=size.epochs,
            validation_data=(xv, yv),
            verbose=0,
            callbacks=callbacks,
        )
        return model

    steps = size.epochs * -(-size.nn_rows // size.batch)
    return Workload(steps, train, _on_methods)


def transformers_workload(size: Size) -> Workload:
    """A 1-layer BERT built from a config through ``Trainer.train``, logging every step, evaluated at the end."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    transformers: Any = importlib.import_module("transformers")  # untyped calls, as Any
    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    config = transformers.BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    )
    generator = torch.Generator().manual_seed(0)

    class Sequences(torch.utils.data.Dataset[dict[str, Any]]):
        def __init__(self, rows: int) -> None:
            self.ids = torch.randint(1, 50, (rows, 16), generator=generator)
            self.labels = (self.ids[:, 0] > 25).long()

        def __len__(self) -> int:
            return len(self.ids)

        def __getitem__(self, i: int) -> dict[str, Any]:
            return {"input_ids": self.ids[i], "labels": self.labels[i]}

    train_set, eval_set = Sequences(size.hf_rows), Sequences(max(8, size.hf_rows // 8))
    workdir = Path(tempfile.mkdtemp(prefix="hf-"))

    def train(callbacks: list[Any]) -> Any:
        torch.manual_seed(0)
        args = transformers.TrainingArguments(
            output_dir=str(workdir),
            per_device_train_batch_size=size.hf_batch,
            per_device_eval_batch_size=64,
            num_train_epochs=size.hf_epochs,
            learning_rate=1e-3,
            logging_steps=1,
            eval_strategy="epoch",
            save_strategy="no",
            report_to="none",
            use_cpu=True,
            disable_tqdm=True,
            dataloader_num_workers=0,
        )
        model = transformers.BertForSequenceClassification(config)
        trainer = transformers.Trainer(
            model=model, args=args, train_dataset=train_set, eval_dataset=eval_set, callbacks=callbacks
        )
        trainer.train()
        return trainer

    return Workload(size.hf_epochs * -(-size.hf_rows // size.hf_batch), train, _on_methods)


WORKLOADS: dict[str, Callable[[Size], Workload]] = {
    "xgboost": xgboost_workload,
    "lightgbm": lightgbm_workload,
    "lightning": lightning_workload,
    "keras": keras_workload,
    "transformers": transformers_workload,
}


# --- the variants: how each opens its run, what it hands the framework, how it closes ---------


class Unavailable(Exception):
    """A variant that cannot run here (an integration not landed, a peer needing TensorFlow)."""


class Variant:
    """No callback: the baseline."""

    name = "none"

    def __init__(self, framework: str, workload: Workload, workdir: Path) -> None:
        self.framework, self.workload, self.workdir = framework, workload, workdir

    def open(self) -> list[Any]:
        """Start a run; the objects to pass to the training."""
        return []

    def close(self) -> None:
        """End the run and wait until its records are stored."""

    def verify(self) -> dict[str, Any]:
        """What the last run recorded, read back."""
        return {}


class Noop(Variant):
    """A callback (or logger) that does nothing: the floor any integration pays, the framework's
    dispatch and the Python code's cold start after each step's compute."""

    name = "noop"

    def open(self) -> list[Any]:
        if self.framework == "xgboost":
            from xgboost.callback import TrainingCallback

            return [TrainingCallback()]
        if self.framework == "lightgbm":

            def callback(env: Any) -> None:
                pass

            callback.order = 30  # type: ignore[attr-defined]  # LightGBM reads these attributes
            callback.before_iteration = False  # type: ignore[attr-defined]
            return [callback]
        if self.framework == "lightning":
            return [_noop_logger()]
        if self.framework == "keras":
            import keras

            return [keras.callbacks.Callback()]
        return [importlib.import_module("transformers").TrainerCallback()]


def _noop_logger() -> Any:
    from lightning.pytorch.loggers import Logger

    class NoopLogger(Logger):
        name = "noop"
        version = "0"

        def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
            pass

        def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
            pass

    return NoopLogger()


class Ours(Variant):
    """``sigopt_ai.integrations.<framework>`` inside ``with sigopt.run():``."""

    name = "sigopt_ai"

    def __init__(self, framework: str, workload: Workload, workdir: Path) -> None:
        super().__init__(framework, workload, workdir)
        os.environ["SIGOPT_AI_DB"] = str(workdir / "sigopt_ai.db")
        try:
            self.module = importlib.import_module(f"sigopt_ai.integrations.{framework}")
        except ImportError as exc:
            raise Unavailable(f"sigopt_ai.integrations.{framework} not importable: {exc}") from exc
        self.run_id: str | None = None

    def make(self) -> Any:
        """The integration object, built as its docs say."""
        if self.framework == "lightning":
            return self.module.SigOptLogger()
        if self.framework == "xgboost":
            return self.module.SigOptCallback(num_boost_round=self.workload.steps)
        return self.module.SigOptCallback()

    def open(self) -> list[Any]:
        import sigopt_ai as sigopt

        self.context = sigopt.run(name=f"bench-{self.framework}", project="bench-integrations")
        run = self.context.__enter__()
        self.run_id = run.id
        return [self.make()]

    def close(self) -> None:
        self.context.__exit__(None, None, None)

    def verify(self) -> dict[str, Any]:
        import sigopt_ai as sigopt

        run = sigopt.get_run(str(self.run_id))
        return {
            "state": str(run.state),
            "params": len(run.params),
            "metrics": len(run.metrics),
            "checkpoints": len(run.checkpoints),
        }


class MLflow(Variant):
    """MLflow's autolog (boosters) or callback/logger, on a SQLite tracking store."""

    name = "mlflow"

    def __init__(self, framework: str, workload: Workload, workdir: Path) -> None:
        super().__init__(framework, workload, workdir)
        import mlflow

        self.mlflow = mlflow
        self.uri = f"sqlite:///{workdir / 'mlflow.db'}"
        os.environ["MLFLOW_TRACKING_URI"] = self.uri  # Transformers' MLflowCallback reads it
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_experiment("bench-integrations")
        self.run_id: str | None = None

    def open(self) -> list[Any]:
        mlflow = self.mlflow
        if self.framework == "lightning":
            from lightning.pytorch.loggers import MLFlowLogger

            logger = MLFlowLogger(experiment_name="bench-integrations", tracking_uri=self.uri)
            self.run_id = logger.run_id  # creates the run now, outside the timed training
            return [logger]
        if self.framework in ("xgboost", "lightgbm"):
            flavor = getattr(mlflow, self.framework)
            flavor.autolog(log_models=False, log_datasets=False, silent=True)
        self.run_id = mlflow.start_run().info.run_id
        if self.framework == "keras":
            from mlflow.keras import MlflowCallback

            return [MlflowCallback()]
        if self.framework == "transformers":
            return [importlib.import_module("transformers.integrations").MLflowCallback()]
        return []

    def close(self) -> None:
        if self.framework in ("xgboost", "lightgbm"):
            getattr(self.mlflow, self.framework).autolog(disable=True)
        if self.framework != "lightning":  # the Trainer's finalize ended the logger's run
            self.mlflow.end_run()

    def verify(self) -> dict[str, Any]:
        run = self.mlflow.MlflowClient(self.uri).get_run(self.run_id)
        return {"status": run.info.status, "params": len(run.data.params), "metrics": len(run.data.metrics)}


class WandB(Variant):
    """W&B's callback or logger in ``mode="offline"``."""

    name = "wandb"

    def __init__(self, framework: str, workload: Workload, workdir: Path) -> None:
        super().__init__(framework, workload, workdir)
        if framework == "keras":
            try:
                import wandb.integration.keras
            except ImportError as exc:
                raise Unavailable(f"wandb.integration.keras: {exc}") from exc
        import wandb

        self.wandb = wandb
        self.run_id: str | None = None

    def open(self) -> list[Any]:
        wandb = self.wandb
        if self.framework == "lightning":
            from lightning.pytorch.loggers import WandbLogger

            logger = WandbLogger(
                project="bench-integrations", save_dir=str(self.workdir), offline=True, log_model=False
            )
            self.run_id = logger.experiment.id  # wandb.init now, outside the timed training
            return [logger]
        self.run_id = wandb.init(project="bench-integrations", dir=str(self.workdir), mode="offline").id
        if self.framework == "xgboost":
            from wandb.integration.xgboost import WandbCallback

            return [WandbCallback(log_model=False)]
        if self.framework == "lightgbm":
            from wandb.integration.lightgbm import wandb_callback

            return [wandb_callback()]
        if self.framework == "keras":
            from wandb.integration.keras import WandbMetricsLogger

            return [WandbMetricsLogger()]
        return [importlib.import_module("transformers.integrations").WandbCallback()]

    def close(self) -> None:
        self.wandb.finish()

    def verify(self) -> dict[str, Any]:
        files = list(self.workdir.rglob(f"run-{self.run_id}.wandb"))
        return {"offline_file_bytes": sum(f.stat().st_size for f in files)}


VARIANT_CLASSES: dict[str, type[Variant]] = {v.name: v for v in (Variant, Noop, Ours, MLflow, WandB)}


class HookTimer:
    """Time spent inside an integration object's methods, outermost call only (a hook calling another
    hook is counted once)."""

    def __init__(self) -> None:
        self.ns = 0
        self.calls = 0
        self.by_hook: dict[str, list[int]] = {}
        """Per hook: [calls, ns]; which hooks cost what (per step, or once at the start or end)."""
        self._depth = 0

    def wrap(self, method: Callable[..., Any], name: str) -> Callable[..., Any]:
        """``method``, timed under ``name``."""

        @functools.wraps(method)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._depth += 1
            t0 = time.perf_counter_ns()
            try:
                return method(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:
                    spent = time.perf_counter_ns() - t0
                    self.ns += spent
                    self.calls += 1
                    entry = self.by_hook.setdefault(name, [0, 0])
                    entry[0] += 1
                    entry[1] += spent

        return timed

    def instrument(self, obj: Any, names: Iterable[str]) -> Any:
        """``obj`` with ``names`` timed: a plain callable (LightGBM's) is wrapped in a function that
        keeps the attributes LightGBM reads; methods are replaced on the instance."""
        if tuple(names) == ("__call__",):
            timed = self.wrap(obj, "__call__")
            for attribute in ("order", "before_iteration"):
                if hasattr(obj, attribute):
                    setattr(timed, attribute, getattr(obj, attribute))
            return timed
        for name in names:
            method = getattr(obj, name, None)
            if callable(method):
                setattr(obj, name, self.wrap(method, name))
        return obj


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def child_framework(
    framework: str, size: Size, variants: Sequence[str], reps: int, workdir: Path, long_reps: int = 0
) -> dict[str, Any]:
    """Every repetition of every variant of one framework, interleaved, in this process; with
    ``long_reps``, the ``LONG_VARIANTS`` also at the long training, in the first ``long_reps`` repetitions."""
    import warnings

    warnings.simplefilter("ignore")  # frameworks' and peers' deprecation notes would flood the log
    import logging

    logging.disable(logging.WARNING)
    t0 = time.perf_counter()
    workload = WORKLOADS[framework](size)
    setup_s = time.perf_counter() - t0
    long_workload = WORKLOADS[framework](size.longer()) if long_reps > 0 and size.long_factor > 1 else None
    live: dict[tuple[str, str], Variant] = {}
    out: dict[str, Any] = {"framework": framework, "steps": workload.steps, "setup_s": setup_s, "variants": {}}
    outputs = {"short": out["variants"]}
    if long_workload is not None:
        out["long"] = {"steps": long_workload.steps, "reps": long_reps, "variants": {}}
        outputs["long"] = out["long"]["variants"]
    for length, load in (("short", workload), ("long", long_workload)):
        if load is None:
            continue
        for name in variants if length == "short" else [v for v in LONG_VARIANTS if v in variants]:
            folder = workdir / name  # the long one shares it: ours reads its database's path once
            folder.mkdir(parents=True, exist_ok=True)
            try:
                live[name, length] = VARIANT_CLASSES[name](framework, load, folder)
            except Unavailable as exc:
                outputs[length][name] = {"status": "unavailable", "reason": str(exc)}
            except Exception as exc:  # a peer that does not import here is reported, not fatal
                outputs[length][name] = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
    records: dict[tuple[str, str], list[dict[str, Any]]] = {key: [] for key in live}
    for rep in range(-1, reps):  # -1: the untimed warm-up, of the short trainings only
        keys = [k for k in live if k[1] == "short" or 0 <= rep < long_reps]
        # A new order each repetition: a rotation would keep each variant behind the same one.
        for key in keys if rep < 0 else random.Random(rep).sample(keys, len(keys)):
            if key not in live:
                continue
            variant = live[key]
            try:
                records[key].append(_one_training(variant, variant.workload, timed=rep >= 0))
            except Exception as exc:
                outputs[key[1]][key[0]] = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"[-2000:]}
                del live[key]
                continue
            _settle()
    for (name, length), variant in live.items():
        reps_ = [r for r in records[name, length] if r.get("timed")]
        outputs[length][name] = {"status": "ok", "reps": reps_, "recorded": _safe(variant.verify)}
    return out


def _one_training(variant: Variant, workload: Workload, timed: bool) -> dict[str, Any]:
    timer = HookTimer()
    pc = time.perf_counter
    # Reading the CPU times (psutil walks /proc) takes a few ms: outside the wall-clock intervals.
    c0 = _cpu_s()
    t0 = pc()
    objects = [timer.instrument(obj, workload.hooks(obj)) for obj in variant.open()]
    open_s = pc() - t0
    c1, b1 = _cpu_s(), _background_cpu_s()
    t1 = pc()
    workload.train(objects)
    train_s = pc() - t1
    c2, b2 = _cpu_s(), _background_cpu_s()
    t2 = pc()
    variant.close()
    close_s = pc() - t2
    c3 = _cpu_s()
    return {
        "timed": timed,
        "open_s": open_s,
        "train_s": train_s,
        "close_s": close_s,
        "cpu_train_s": c2 - c1,
        "background_cpu_train_s": b2 - b1,
        "cpu_total_s": c3 - c0,
        "hook_s": timer.ns / 1e9,
        "hook_calls": timer.calls,
        "hooks": {name: {"calls": calls, "ms": ns / 1e6} for name, (calls, ns) in timer.by_hook.items()},
    }


def _cpu_s() -> float:
    """CPU seconds of this process (every thread: a recorder's writer too) and of its children (wandb-core):
    what recording costs the machine, without the time other processes took the cores."""
    return time.process_time() + _children_cpu_s()


def _background_cpu_s() -> float:
    """CPU seconds of every thread but this one (the training's), and of the children: the recorders'
    writers, MLflow's logging threads, wandb-core."""
    return time.process_time() - time.thread_time() + _children_cpu_s()


def _children_cpu_s() -> float:
    import psutil

    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:  # it exited meanwhile
            continue
        total += times.user + times.system
    return total


def _settle(timeout_s: float = 5.0) -> None:
    """Wait until child processes are idle (wandb-core writes on after ``finish``) and collect garbage, so
    that what one variant left running is not charged to the next."""
    gc.collect()
    deadline = time.monotonic() + timeout_s
    last = _children_cpu_s()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = _children_cpu_s()
        if now - last < 0.002:
            return
        last = now


def _safe(read: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return read()
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"[-500:]}


# --- the parent: one child per framework, then the summary ----------------------------------------


def summarize(child: dict[str, Any]) -> dict[str, Any]:
    """Medians per variant, and each variant's overhead over ``none`` paired by repetition."""
    steps = child["steps"]
    variants = child.get("variants", {})
    base = variants.get("none", {})
    base_train = [r["train_s"] for r in base.get("reps", [])]
    base_step = _median(base_train)
    rows: dict[str, Any] = {}
    for name, entry in variants.items():
        if entry.get("status") != "ok":
            rows[name] = {"status": entry.get("status"), "reason": entry.get("reason")}
            continue
        reps = entry["reps"]
        train = [r["train_s"] for r in reps]
        row: dict[str, Any] = {
            "status": "ok",
            "reps": len(reps),
            "train_s": _median(train),
            "open_s": _median([r["open_s"] for r in reps]),
            "close_s": _median([r["close_s"] for r in reps]),
            "hook_us_per_step": _median([r["hook_s"] / steps * 1e6 for r in reps]),
            "hook_calls": _median([r["hook_calls"] for r in reps]),
            "hooks": _hook_medians(reps),
            "recorded": entry.get("recorded"),
        }
        if name != "none" and base_train and base_step:
            paired = [(v - b) / steps * 1e6 for v, b in zip(train, base_train, strict=False)]
            step_us = base_step / steps * 1e6
            row["overhead_us_per_step"] = statistics.median(paired)
            row["overhead_us_per_step_range"] = [min(paired), max(paired)]
            row["overhead_pct"] = row["overhead_us_per_step"] / step_us * 100
            base_cpu = [r["cpu_train_s"] for r in base.get("reps", [])]
            cpu = [(r["cpu_train_s"] - b) / steps * 1e6 for r, b in zip(reps, base_cpu, strict=False)]
            row["cpu_overhead_us_per_step"] = statistics.median(cpu)
            row["cpu_overhead_pct"] = (
                row["cpu_overhead_us_per_step"] / (statistics.median(base_cpu) / steps * 1e6) * 100
            )
            total = [(r["cpu_total_s"] - b["cpu_total_s"]) * 1e3 for r, b in zip(reps, base["reps"], strict=False)]
            row["cpu_run_ms"] = statistics.median(total)
            if not row["hook_calls"]:  # autolog patches the training function: no object of its to time
                row["hook_us_per_step"] = None
            row["hook_pct"] = None if row["hook_us_per_step"] is None else row["hook_us_per_step"] / step_us * 100
            background = [r.get("background_cpu_train_s", 0.0) for r in reps]
            base_background = [r.get("background_cpu_train_s", 0.0) for r in base.get("reps", [])]
            row["background_us_per_step"] = (statistics.median(background) - statistics.median(base_background)) / (
                steps / 1e6
            )
            if row["hook_us_per_step"] is None:
                row["cost_us_per_step"] = row["cost_pct"] = None
            else:
                # Below none's, the background is the framework's own threads working less (Keras handles
                # batch logs on a thread pool only while no callback overrides on_train_batch_end): not a gain.
                row["cost_us_per_step"] = row["hook_us_per_step"] + max(row["background_us_per_step"], 0.0)
                row["cost_pct"] = row["cost_us_per_step"] / step_us * 100
            # The verdict rests on what can be measured on a shared machine: the time in hooks on the
            # training thread plus the CPU the variant's other threads and processes used meanwhile;
            # with no hook to time (autolog), on the paired CPU difference. Here at the short length, with
            # the fixed cost per training included; replaced below by the marginal cost where one was measured.
            cost = row["cost_pct"] if row["cost_pct"] is not None else row["cpu_overhead_pct"]
            row["meets_target"] = cost < TARGET_PCT
            row["target_basis"] = f"at {steps} steps, fixed cost included"
            row["target_step_ms"] = None
        rows[name] = row
    long = child.get("long")
    marginal_step_us = _marginal(rows, steps, variants, long) if long and base_step else None
    return {
        "steps": steps,
        "step_us": None if base_step is None else base_step / steps * 1e6,
        "long_steps": long["steps"] if long else None,
        "long_step_us": _long_step_us(long),
        "marginal_step_us": marginal_step_us,
        "variants": rows,
    }


def _long_step_us(long: dict[str, Any] | None) -> float | None:
    base = (long or {}).get("variants", {}).get("none", {})
    train = [r["train_s"] for r in base.get("reps", [])] if base.get("status") == "ok" else []
    return statistics.median(train) / long["steps"] * 1e6 if long and train else None


def _cost_parts_s(reps: Sequence[dict[str, Any]], base_reps: Sequence[dict[str, Any]]) -> tuple[float, float]:
    """Per training: the median time in hooks, and the median background CPU over ``none``'s (at least 0)."""
    hooks = statistics.median(r["hook_s"] for r in reps)
    background = statistics.median(r.get("background_cpu_train_s", 0.0) for r in reps) - statistics.median(
        r.get("background_cpu_train_s", 0.0) for r in base_reps
    )
    return hooks, max(background, 0.0)


def _marginal(rows: dict[str, Any], steps: int, short: dict[str, Any], long: dict[str, Any]) -> float | None:
    """The marginal cost per step, (cost(long) - cost(short)) / (steps_long - steps_short), and the fixed
    cost per training, cost(short) - marginal x steps_short, into each variant's row; the target is then
    judged on the marginal cost, in % of ``none``'s marginal step (what one more step of the training
    takes: the short training's step also carries the framework's setup per training). That marginal
    step, in µs; None without both lengths of ``none``."""
    long_steps, variants = long["steps"], long.get("variants", {})
    base_short, base_long = short.get("none", {}), variants.get("none", {})
    if base_short.get("status") != "ok" or base_long.get("status") != "ok" or long_steps <= steps:
        return None
    extra = long_steps - steps
    median_train = statistics.median(r["train_s"] for r in base_long["reps"])
    step_us = (median_train - statistics.median(r["train_s"] for r in base_short["reps"])) / extra * 1e6
    if step_us <= 0:  # noise: a longer training cannot take less time; the short step instead
        step_us = statistics.median(r["train_s"] for r in base_short["reps"]) / steps * 1e6
    for name, entry in variants.items():
        row = rows.get(name)
        if name == "none" or row is None or row.get("status") != "ok":
            continue
        if entry.get("status") != "ok":
            row["long"] = {"status": entry.get("status"), "reason": entry.get("reason")}
            continue
        if row.get("hook_us_per_step") is None:
            continue
        hooks_short, background_short = _cost_parts_s(short[name]["reps"], base_short["reps"])
        hooks_long, background_long = _cost_parts_s(entry["reps"], base_long["reps"])
        cost_short, cost_long = hooks_short + background_short, hooks_long + background_long
        marginal_us = (cost_long - cost_short) / extra * 1e6
        row["long"] = {
            "status": "ok",
            "reps": len(entry["reps"]),
            "steps": long_steps,
            "train_s": statistics.median(r["train_s"] for r in entry["reps"]),
            "hook_us_per_step": hooks_long / long_steps * 1e6,
            "background_us_per_step": background_long / long_steps * 1e6,
            "cost_us_per_step": cost_long / long_steps * 1e6,
            "recorded": entry.get("recorded"),
        }
        row["marginal_hook_us_per_step"] = (hooks_long - hooks_short) / extra * 1e6
        row["marginal_background_us_per_step"] = (background_long - background_short) / extra * 1e6
        row["marginal_us_per_step"] = marginal_us
        row["marginal_pct"] = marginal_us / step_us * 100
        row["fixed_ms_per_training"] = (cost_short - marginal_us / 1e6 * steps) * 1e3
        # A step at least this long keeps the marginal cost under the target (the fixed cost aside).
        row["target_step_ms"] = max(marginal_us, 0.0) * 100 / TARGET_PCT / 1e3
        row["meets_target"] = row["marginal_pct"] < TARGET_PCT
        row["target_basis"] = "marginal"
    return step_us


def _hook_medians(reps: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per hook, the median calls and ms per training over repetitions (0 where a repetition lacks it)."""
    names = sorted({name for rep in reps for name in rep.get("hooks", {})})
    empty = {"calls": 0, "ms": 0.0}
    return {
        name: {key: statistics.median(rep.get("hooks", {}).get(name, empty)[key] for rep in reps) for key in empty}
        for name in names
    }


def run_child(
    framework: str,
    python: str,
    args: argparse.Namespace,
    variants: Sequence[str],
    prefix: list[str],
    env: dict[str, str],
) -> dict[str, Any]:
    """One framework's measurements in a fresh interpreter (``python``), its JSON result."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{framework}-") as tmp:
        cmd = [*prefix, python, str(Path(__file__).resolve()), "--child", framework, "--workdir", tmp]
        cmd += ["--size", args.size, "--reps", str(args.reps), "--long-reps", str(args.long_reps)]
        cmd += ["--variants", ",".join(variants)]
        try:
            proc = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return {"framework": framework, "error": f"timed out after {CHILD_TIMEOUT_S} s"}
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return result
    return {"framework": framework, "error": f"rc={proc.returncode}: {(proc.stderr or proc.stdout)[-3000:]}"}


def render_markdown(results: dict[str, Any]) -> str:
    """The report: one table per framework's variants, and what each recorded."""
    config = results["config"]
    short_steps = sorted({e["summary"]["steps"] for e in results["frameworks"].values() if "summary" in e})
    long_steps = sorted(
        {e["summary"]["long_steps"] for e in results["frameworks"].values() if e.get("summary", {}).get("long_steps")}
    )
    at = f"{'/'.join(map(str, short_steps)) or 'N'} steps"
    longer = f"{'/'.join(map(str, long_steps)) or 'M'} steps"
    long_reps = config.get("long_reps", 0)
    lines = [
        "# Integration overhead: each framework's training without a callback, with ours, MLflow's and W&B's",
        "",
        *machine_table(results),
        f"Size `{config['size']}`, {config['reps']} interleaved repetitions per variant after one warm-up; "
        f"`none`, `noop` and `sigopt_ai` also at {config.get('long_factor', 1)}x the steps ({longer}: more "
        "boosting rounds, more epochs of the same batches), in the first "
        f"{long_reps} of the same shuffled repetitions (no warm-up of their own; fewer to keep the run under "
        f"10 minutes); peers: {results.get('peers_python', 'not run')}; network: {results.get('isolation', 'n/a')}.",
        "",
        "Cost of a training = time inside the integration's methods on the training thread (each hook timed, "
        "outermost call only) + CPU its other threads and processes used during training (writer threads, "
        "MLflow's logging threads, wandb-core) over the `none` variant's of the same length (a background "
        "below `none`'s counts as 0); both stay steady on a shared machine. Part of it is paid once per "
        "training (XGBoost's `before_training`, the writer storing the run's start, system metadata and "
        "params while training runs), part at every step. Measured at two lengths: **marginal cost per step** "
        f"= (cost at {longer} - cost at {at}) / the extra steps, what one more step costs; **fixed cost per "
        f"training** = cost at {at} - marginal x {at}. Target: a marginal cost under {TARGET_PCT:g} % of "
        f"`none`'s marginal step, (`none` at {longer} - `none` at {at}) / the extra steps: the step column's "
        "second figure; the first, `none`'s short training / its steps, also carries the framework's setup "
        "per training (Transformers' Trainer, Keras' and Lightning's fit). The verdict column: peers, without "
        "a long training, are judged on their cost at "
        f"{at}, fixed cost included, and marked so. At N steps of s ms, a training's overhead is "
        '(marginal + fixed / N) / s; the "1 % from steps of" column is the step at which the marginal cost '
        "alone is 1 %. Our callbacks keep at most 200 checkpoints per run (the `recorded` column gives both "
        "lengths' counts): the boosters' one every 5 rounds reaches the bound at 1,000 rounds, Lightning's and "
        "Transformers' are thinned on the longer training, Keras' is one per epoch. That recording per step, "
        "lower on longer trainings, is the product's behaviour there, and it is what the marginal cost measures. "
        f'The columns "at {at}, fixed cost included" are the cost of the short training divided by its steps. '
        "Beside them, the paired differences of the whole short training (median over repetitions of variant "
        "- `none` of the same repetition, per step), in wall time (with its range) and in CPU time: on 2 "
        "shared cores repetitions of one variant differ by 10 to 20 %, so these confirm large costs only. "
        "MLflow's autolog patches the training function: nothing to time in hooks, it is judged on the CPU "
        "difference.",
        "",
        f"| framework | variant | `none` step (ms): at {at} / marginal | marginal / step (µs): in hooks "
        "+ background | marginal % | < 1 % "
        f"| 1 % from steps of (ms) | fixed / training (ms) | at {at}, fixed cost included: in hooks / step (µs) "
        "| background CPU / step (µs) | cost / step (µs) | cost % | wall diff / step (µs), range "
        f"| CPU diff / step (µs) | open / close (ms) | recorded ({at} / {longer}) |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---|---|",
    ]
    blank = " |" * 14
    for framework, entry in results["frameworks"].items():
        if "error" in entry:
            lines.append(f"| {framework} | failed: {entry['error'][-200:]!r} |{blank}")
            continue
        summary = entry["summary"]
        step_ms = None if summary["step_us"] is None else summary["step_us"] / 1e3
        for name in VARIANTS:
            row = summary["variants"].get(name)
            if row is None:
                continue
            if row.get("status") != "ok":
                reason = (row.get("reason") or "")[:160]
                lines.append(f"| {framework} | {name}: {row['status']} ({reason}) |{blank}")
                continue
            if name == "none":
                text = f"none ({summary['steps']} steps, {fmt(row['train_s'], 2)} s"
                long_us = summary.get("long_step_us")
                if long_us:
                    text += f"; {summary['long_steps']} steps, {fmt(long_us * summary['long_steps'] / 1e6, 2)} s"
                marginal_us = summary.get("marginal_step_us")
                long_ms = f" / {fmt(marginal_us / 1e3)}" if marginal_us else ""
                lines.append(f"| {framework} | {text}) | {fmt(step_ms)}{long_ms} |{' |' * 13}")
                continue
            span = row.get("overhead_us_per_step_range")
            wall = f"{fmt(row.get('overhead_us_per_step'))}, {fmt(span[0])} to {fmt(span[1])}" if span else ""
            verdict = "yes" if row.get("meets_target") else "**no**"
            if row.get("target_basis") != "marginal":
                verdict += f" (at {summary['steps']} steps)"
            recorded = ", ".join(f"{k}: {v}" for k, v in (row.get("recorded") or {}).items())
            long = row.get("long") or {}
            if long.get("status") == "ok" and "checkpoints" in (long.get("recorded") or {}):
                recorded += f"; at {long['steps']} steps: checkpoints: {long['recorded']['checkpoints']}"
            elif long and long.get("status") != "ok":
                recorded += f"; long training {long.get('status')}: {(long.get('reason') or '')[:120]}"
            marginal = ""
            if row.get("marginal_us_per_step") is not None:
                marginal = (
                    f"{fmt(row['marginal_us_per_step'])}: {fmt(row['marginal_hook_us_per_step'])} "
                    f"+ {fmt(row['marginal_background_us_per_step'])}"
                )
            marginal_step = summary.get("marginal_step_us")
            step_text = fmt(step_ms) + (f" / {fmt(marginal_step / 1e3)}" if marginal_step else "")
            lines.append(
                f"| {framework} | {name} | {step_text} | {marginal} | {fmt(row.get('marginal_pct'))} "
                f"| {verdict} | {fmt(row.get('target_step_ms'))} | {fmt(row.get('fixed_ms_per_training'))} "
                f"| {fmt(row['hook_us_per_step'])} | {fmt(row.get('background_us_per_step'))} "
                f"| {fmt(row.get('cost_us_per_step'))} | {fmt(row.get('cost_pct'))} | {wall} "
                f"| {fmt(row.get('cpu_overhead_us_per_step'))} "
                f"| {fmt(row['open_s'] * 1e3)} / {fmt(row['close_s'] * 1e3)} | {recorded} |"
            )
    lines += [
        "",
        "Where the time in hooks goes (median per training: calls, ms; hooks under 0.5 ms left out):",
        "",
        "| framework | variant | hooks |",
        "|---|---|---|",
    ]
    for framework, entry in results["frameworks"].items():
        rows = entry.get("summary", {}).get("variants", {})
        for name, row in ((name, rows[name]) for name in VARIANTS if rows.get(name, {}).get("status") == "ok"):
            hooks = row.get("hooks") or {}
            spent = sorted(hooks.items(), key=lambda item: -item[1]["ms"])
            text = "; ".join(f"`{hook}` {h['calls']:g} x, {fmt(h['ms'])} ms" for hook, h in spent if h["ms"] >= 0.5)
            if name != "none":
                lines.append(f"| {framework} | {name} | {text or 'under 0.5 ms in all'} |")
    lines += [
        "",
        "- Sklearn and Ray Tune are left out: their integrations drive a search (one run per fit or trial), "
        "with no per-step hook to time.",
        "- A negative difference is noise: the variant's repetition ran faster than the baseline's; a negative "
        "marginal cost too (its background CPU over `none`'s differs between the two lengths by more than it "
        "grows). A negative "
        "background is the framework's own threads doing less, counted as 0 in the cost: Keras 3 hands batch "
        "logs to a thread pool of its own only while no callback overrides `on_train_batch_end` (`none` and "
        "`noop` do not; ours does, to stop on a NaN loss at once, so Keras handles them on the training thread).",
        "- `noop` records nothing: its marginal background CPU is the noise floor of that column in this run "
        "(the difference of medians of 3 and 4 repetitions at two lengths, each over its own `none`); the "
        "marginal time in hooks is the steadier part.",
        "- W&B's Keras callbacks (`wandb.integration.keras`) import TensorFlow, which Keras 3 on torch does "
        "not need and this machine does not have.",
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--frameworks", default=",".join(FRAMEWORKS), help="comma-separated frameworks (default: all)")
    add("--size", choices=tuple(SIZES), default="full", help="training size (default full)")
    add("--reps", type=int, default=4, help="timed repetitions per variant (default 4)")
    add(
        "--long-reps",
        type=int,
        default=3,
        help="repetitions of none, noop and sigopt_ai at the long training, interleaved with the first ones "
        "(default 3; 0: no marginal cost)",
    )
    add("--no-peers", action="store_true", help="only none and sigopt_ai, in this interpreter")
    add("--no-isolation", action="store_true", help="do not run in a loopback-only network namespace")
    add("--cache-dir", type=Path, default=DEFAULT_CACHE, help=f"where the peers' venv lives (default {DEFAULT_CACHE})")
    add("--results-dir", type=Path, default=DEFAULT_RESULTS, help="where integrations.json and .md are written")
    add("--child", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    add("--workdir", type=Path, help=argparse.SUPPRESS)
    add("--variants", default=",".join(VARIANTS), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and write the results; 0 unless one of ours failed."""
    args = parse_args(argv)
    if args.child:
        variants = args.variants.split(",")
        result = child_framework(args.child, SIZES[args.size], variants, args.reps, args.workdir, args.long_reps)
        print(RESULT_PREFIX + json.dumps(result), flush=True)
        return 0

    frameworks = args.frameworks.split(",")
    unknown = set(frameworks) - set(FRAMEWORKS)
    if unknown:
        raise SystemExit(f"unknown framework(s): {', '.join(sorted(unknown))}")
    command = "python benchmarks/integrations.py " + " ".join(sys.argv[1:] if argv is None else argv)
    results: dict[str, Any] = {
        "command": command.strip(),
        "machine": machine_facts(),
        "config": {
            "size": args.size,
            "sizes": SIZES[args.size].__dict__,
            "reps": args.reps,
            "long_reps": min(args.long_reps, args.reps),
            "long_factor": SIZES[args.size].long_factor,
            "target_pct": TARGET_PCT,
        },
        "frameworks": {},
    }
    python, variants = sys.executable, [v for v in VARIANTS if v not in PEER_VARIANTS]
    prefix: list[str] = []
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p))
    if not args.no_peers:
        cache = args.cache_dir.expanduser()
        peer_python, install = ensure_venv(PEER_SDKS, cache)
        results["peers_install"] = install
        if peer_python is None:
            progress(f"peers not installed: {install.get('error', '')[-300:]}")
        else:
            python, variants = str(peer_python), list(VARIANTS)
            results["peers_python"] = f"{' '.join(PEER_SDKS.requirements)} in {peer_python.parent.parent}"
            prefix, results["isolation"] = isolation_prefix(not args.no_isolation)
            env = {**peer_env(cache), **{k: v for k, v in env.items() if k == "PYTHONPATH"}}
    for framework in frameworks:
        progress(
            f"{framework}: {', '.join(variants)}, {args.reps} rep(s), size {args.size}; "
            f"{args.long_reps} rep(s) of {', '.join(LONG_VARIANTS)} at {SIZES[args.size].long_factor}x the steps"
        )
        child = run_child(framework, python, args, variants, prefix, env)
        if "error" not in child:
            child["summary"] = summarize(child)
            for name, row in child["summary"]["variants"].items():
                progress(f"  {name}: " + json.dumps({k: v for k, v in row.items() if k != "recorded"})[:300])
        else:
            progress(f"  failed: {child['error'][-500:]}")
        results["frameworks"][framework] = child
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]

    markdown = render_markdown(results)
    write_results(args.results_dir, "integrations", results, markdown)
    ours_failed = [
        f
        for f, entry in results["frameworks"].items()
        if "error" in entry or entry["variants"].get("sigopt_ai", {}).get("status") == "failed"
    ]
    return 1 if ours_failed else 0


if __name__ == "__main__":
    sys.exit(main())
