"""Tune a scikit-learn pipeline with SigOptSearchCV, a drop-in for RandomizedSearchCV.

Each candidate is a run of a sigopt_ai experiment. Some combinations cannot be trained: lbfgs takes no
L1 penalty (l1_ratio > 0), and a solver that does not converge in max_iter is counted as failed here
(convergence_failure=True). They become failed observations, and the optimizer learns to avoid them.

    python examples/sklearn_example.py        # then: sigopt-ai experiments show <id>
"""

from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sigopt_ai.integrations.sklearn import SigOptSearchCV

X, y = load_breast_cancer(return_X_y=True)
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300, tol=1e-3))

search = SigOptSearchCV(
    model,
    parameters=[
        dict(name="logisticregression__C", type="double", bounds=dict(min=1e-3, max=1e2), transformation="log"),
        dict(name="logisticregression__l1_ratio", type="double", bounds=dict(min=0.0, max=1.0)),
        dict(name="logisticregression__solver", type="categorical", categorical_values=["lbfgs", "saga"]),
    ],
    budget=10,
    scoring="accuracy",
    cv=3,
    convergence_failure=True,
    name="breast cancer logistic regression",
    random_state=0,
)
search.fit(X, y)

progress = search.experiment_.progress
print(f"experiment {search.experiment_.id}: {progress.finished} candidates, failed by kind {progress.failed_by_kind}")
print(f"best accuracy {search.best_score_:.4f} with {search.best_params_}")
print(f"accuracy of the refit best pipeline on the training data: {search.score(X, y):.4f}")
