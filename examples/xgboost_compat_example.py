"""Tune XGBoost with sigopt-python's helper, ``sigopt_ai.xgboost.experiment``: one run per suggestion.

The search space and metric are left to the helper's defaults except where given: ``eta`` (log scale) and
``max_depth`` are searched, the metric is accuracy on the first eval set ("test-accuracy"), and each run
also records F1/precision/recall, the eval metric per round as checkpoints, and xgboost's parameters.

    python examples/xgboost_compat_example.py
"""

from __future__ import annotations

import xgboost as xgb
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

import sigopt_ai.xgboost


def main() -> None:
    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0)
    dtrain = xgb.DMatrix(x_train, label=y_train)
    dtest = xgb.DMatrix(x_test, label=y_test)

    experiment = sigopt_ai.xgboost.experiment(
        {
            "name": "breast cancer xgboost",
            "parameters": [{"name": "eta"}, {"name": "max_depth", "bounds": {"min": 2, "max": 6}}],
            "budget": 6,
        },
        dtrain,
        [(dtest, "test")],
        {"objective": "binary:logistic", "eval_metric": "logloss", "nthread": 1},
        num_boost_round=30,
    )

    best = experiment.best_runs()[0]
    print(f"best run {best.id}: test-accuracy {best.metrics['test-accuracy']:.3f}")
    print(f"  eta={best.params['eta']:.4f} max_depth={best.params['max_depth']}")
    print(f"  F1 {best.metrics['test-F1']:.3f}, checkpoints {len(best.checkpoints)}")
    print(f"observations {experiment.progress.finished} of {experiment.budget}")


if __name__ == "__main__":
    main()
