"""Tune LightGBM on scikit-learn's breast cancer data, with each run's training recorded by SigOptCallback.

Early stopping picks each run's best iteration: the callback is used as ``with SigOptCallback() as
callback:`` so that leaving the block records that iteration's values as the run's metrics. Run it with

    python examples/lightgbm_example.py

It uses the embedded store (``./.sigopt_ai/sigopt_ai.db``, or ``SIGOPT_AI_DB``).
"""

from __future__ import annotations

import lightgbm as lgb
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

import sigopt_ai as sigopt
from sigopt_ai.integrations.lightgbm import SigOptCallback


def main() -> None:
    features, target = load_breast_cancer(return_X_y=True)
    x_train, x_valid, y_train, y_valid = train_test_split(features, target, random_state=0)

    experiment = sigopt.create_experiment(
        name="lightgbm breast cancer",
        parameters=[
            {"name": "learning_rate", "type": "double", "bounds": {"min": 0.01, "max": 1.0}, "transformation": "log"},
            {"name": "num_leaves", "type": "int", "bounds": {"min": 2, "max": 64}},
        ],
        metrics=[{"name": "valid-binary_logloss", "objective": "minimize"}],
        budget=8,
    )
    for run in experiment.loop():
        train = lgb.Dataset(x_train, y_train)
        valid = lgb.Dataset(x_valid, y_valid, reference=train)
        params = {"objective": "binary", "verbosity": -1, "num_threads": 2, **run.params}
        with run, SigOptCallback() as callback:
            lgb.train(
                params,
                train,
                num_boost_round=100,
                valid_sets=[valid],
                valid_names=["valid"],
                callbacks=[callback, lgb.early_stopping(10, verbose=False)],
            )

    print(f"progress: {experiment.progress}")
    for best in experiment.best_runs():
        score = best.metrics["valid-binary_logloss"]
        chosen = {name: best.params[name] for name in ("learning_rate", "num_leaves")}
        print(f"best run {best.id}: valid-binary_logloss={score:.4f} with {chosen}")


if __name__ == "__main__":
    main()
