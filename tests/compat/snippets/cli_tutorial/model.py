# Source: sigopt/sigopt-python ci/tutorial/model.py (https://github.com/sigopt/sigopt-python/blob/main/ci/tutorial/model.py).
# Changed: `import sigopt` -> `import sigopt_ai as sigopt`; xgboost's XGBClassifier (xgboost is not installed
#   with the test extra; the XGBoost helpers are issue 18) -> scikit-learn's GradientBoostingClassifier, the
#   same n_estimators hyperparameter (its xgboost-only arguments use_label_encoder/eval_metric dropped).
#   Reformatted to 4-space indents.
# model.py
# ruff: noqa  (a user's code as its source wrote it: lint rules are not applied)
import sklearn.datasets
import sklearn.metrics
from sklearn.ensemble import GradientBoostingClassifier

import sigopt_ai as sigopt

# Data preparation required to run and evaluate the sample model
X, y = sklearn.datasets.load_iris(return_X_y=True)
Xtrain, ytrain = X[:100], y[:100]

# Track the name of the dataset used for your Run
sigopt.log_dataset("iris 2/3 training, full test")
# Set n_estimators as the hyperparameter to explore for your Experiment
sigopt.params.setdefault("n_estimators", 100)
# Track the name of the model used for your Run
sigopt.log_model("xgboost")

# Instantiate and train your sample model
model = GradientBoostingClassifier(
    n_estimators=sigopt.params.n_estimators,
)
model.fit(Xtrain, ytrain)
pred = model.predict(X)

# Track the metric value and metric name for each Run
sigopt.log_metric("accuracy", sklearn.metrics.accuracy_score(pred, y))
