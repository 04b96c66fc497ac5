"""Tune XGBoost on scikit-learn's diabetes data, with each run's training recorded by SigOptCallback.

Large learning rates make the boosted predictions overflow to infinity: the callback stops those
trainings and their runs fail ``diverged``, so the optimizer learns to avoid them. Run it with

    python examples/xgboost_example.py

It uses the embedded store (``./.sigopt_ai/sigopt_ai.db``, or ``SIGOPT_AI_DB``).
"""

from __future__ import annotations

import xgboost as xgb
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split

import sigopt_ai as sigopt
from sigopt_ai.integrations.xgboost import SigOptCallback

ROUNDS = 50


def main() -> None:
    features, target = load_diabetes(return_X_y=True)
    x_train, x_valid, y_train, y_valid = train_test_split(features, target, random_state=0)
    train = xgb.DMatrix(x_train, label=y_train)
    valid = xgb.DMatrix(x_valid, label=y_valid)

    experiment = sigopt.create_experiment(
        name="xgboost diabetes",
        parameters=[
            {"name": "eta", "type": "double", "bounds": {"min": 0.01, "max": 300}, "transformation": "log"},
            {"name": "max_depth", "type": "int", "bounds": {"min": 1, "max": 8}},
        ],
        metrics=[{"name": "valid-rmse", "objective": "minimize"}],
        budget=8,
    )
    for run in experiment.loop():
        with run:
            params = {"eta": run.params.eta, "max_depth": run.params.max_depth}
            xgb.train(
                {**params, "nthread": 2, "verbosity": 0},
                train,
                ROUNDS,
                evals=[(train, "train"), (valid, "valid")],
                early_stopping_rounds=10,
                verbose_eval=False,
                callbacks=[SigOptCallback(num_boost_round=ROUNDS)],
            )

    print(f"progress: {experiment.progress}")
    for best in experiment.best_runs():
        score, eta, depth = best.metrics["valid-rmse"], best.params["eta"], best.params["max_depth"]
        print(f"best run {best.id}: valid-rmse={score:.2f} at eta={eta:.3g}, max_depth={depth}")


if __name__ == "__main__":
    main()
