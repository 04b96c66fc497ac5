"""Tune a scikit-learn MLP on the bundled digits data, with failures as results.

The search space is honest about what goes wrong in real tuning:

* large learning rates make SGD diverge on the unscaled pixels (a ``Diverged`` failure);
* wide, deep networks with big batches need more memory than the declared cap: the first training
  step is measured with ``tracemalloc`` and a ``MemoryError`` is raised when its peak is over the cap.

Both become failed observations: the optimizer learns to avoid those regions. Run it with

    python examples/tune_digits.py --budget 20

It uses the embedded store (``./.sigopt_ai/sigopt_ai.db``); ``sigopt-ai runs list -p digits`` shows the runs.
"""

from __future__ import annotations

import argparse
import math
import tracemalloc
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

import sigopt_ai as sigopt

MEMORY_CAP_MIB = 4.0
"""The memory a training step may use, as on a small GPU."""

X, y = load_digits(return_X_y=True)  # pixels 0..16, deliberately unscaled
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)


def build(lr: float, width: int, depth: int, batch_size: int, alpha: float, momentum: float) -> MLPClassifier:
    return MLPClassifier(
        hidden_layer_sizes=(width,) * depth,
        solver="sgd",
        learning_rate_init=lr,
        batch_size=batch_size,
        alpha=alpha,
        momentum=momentum,
        max_iter=8,
        random_state=0,
    )


def check_memory(model: MLPClassifier, batch_size: int) -> float:
    """Run one real training step under tracemalloc; raise MemoryError if its peak is over the cap."""
    tracemalloc.start()
    try:
        model.partial_fit(X_train[:batch_size], y_train[:batch_size], classes=np.unique(y))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    peak_mib = peak / 2**20
    if peak_mib > MEMORY_CAP_MIB:
        raise MemoryError(f"a training step needs {peak_mib:.1f} MiB, over the {MEMORY_CAP_MIB:g} MiB cap")
    return peak_mib


@sigopt.run
def train(lr: float, width: int, depth: int, batch_size: int, alpha: float, momentum: float) -> float:
    """Train once and return the validation error (1 - accuracy)."""
    sigopt.log_dataset("sklearn-digits")
    sigopt.log_model("MLPClassifier")
    step_mib = check_memory(build(lr, width, depth, batch_size, alpha, momentum), batch_size)
    sigopt.log_metadata("step_memory_mib", round(step_mib, 2))
    model = build(lr, width, depth, batch_size, alpha, momentum)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            model.fit(X_train, y_train)
        except ValueError as exc:  # sklearn refuses non-finite weights
            raise sigopt.Diverged(f"training diverged: {exc}") from exc
    if not math.isfinite(model.loss_) or model.loss_ > math.log(10):
        raise sigopt.Diverged(f"final training loss {model.loss_:.3g} is no better than chance")
    sigopt.log_metric("train_loss", model.loss_)
    return 1.0 - model.score(X_val, y_val)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=20)
    parser.add_argument("--workers-hint", type=int, default=1, help="parallel_bandwidth of the experiment")
    args = parser.parse_args()

    experiment = sigopt.create_experiment(
        name="digits-mlp",
        project="digits",
        parameters=[
            dict(name="lr", type="double", bounds=dict(min=1e-4, max=1.0), transformation="log"),
            dict(name="width", type="int", bounds=dict(min=16, max=256)),
            dict(name="depth", type="int", bounds=dict(min=1, max=3)),
            dict(name="batch_size", type="int", bounds=dict(min=32, max=512)),
            dict(name="alpha", type="double", bounds=dict(min=1e-6, max=1e-1), transformation="log"),
            dict(name="momentum", type="double", bounds=dict(min=0.0, max=0.99)),
        ],
        metrics=[dict(name="error", objective="minimize")],
        budget=args.budget,
        parallel_bandwidth=args.workers_hint,
    )
    best = experiment.optimize(train)
    progress = experiment.progress
    print(
        f"\nexperiment {experiment.id}: {progress.finished} runs, {progress.failed} failed "
        f"{dict(progress.failed_by_kind)}"
    )
    for record in best:
        print(f"best run {record.id}: validation error {record.metrics['error']:.4f} with {dict(record.params)}")


if __name__ == "__main__":
    main()
