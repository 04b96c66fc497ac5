"""SigOptSearchCV: real scikit-learn estimators cross-validated in an experiment's loop, where some
assignments really fail (an invalid combination, a solver that diverges, a real MemoryError under a
real address-space cap), read back through the public API."""

from __future__ import annotations

import resource
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, ClassifierMixin, clone, is_classifier
from sklearn.datasets import load_iris, make_regression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import RandomizedSearchCV
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures
from sklearn.utils.estimator_checks import check_get_params_invariance, check_no_attributes_set_in_init
from threadpoolctl import threadpool_limits

import sigopt_ai as sigopt
from sigopt_ai.integrations.sklearn import SigOptSearchCV
from tests.integrations._examples import run_example

C = {"name": "C", "type": "double", "bounds": {"min": 0.01, "max": 100.0}, "transformation": "log"}


@pytest.fixture(autouse=True)
def one_blas_thread() -> Iterator[None]:
    """Models this small train fastest on one BLAS thread: on a busy 2-core machine, OpenBLAS threads
    waiting for each other made lbfgs 3 times slower."""
    with threadpool_limits(limits=1):
        yield


def iris() -> tuple[Any, Any]:
    X, y = load_iris(return_X_y=True)
    return X[::2], y[::2]  # 75 rows: seconds on a busy machine


def kinds(search: SigOptSearchCV) -> Counter[str | None]:
    return Counter(o.failure_kind if o.failed else None for o in search.experiment_.observations())


@pytest.fixture
def memory_cap() -> Iterator[None]:
    """A real cap on this process's address space (RLIMIT_AS), 4 GiB above what it maps now: an array
    of hundreds of TiB then fails to allocate whatever the machine's overcommit policy."""
    with open("/proc/self/status") as status:
        mapped = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize"))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = mapped + 4 * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# MLPRegressor's overflow as it diverges, and its short training, are what the test means to cause.
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:Stochastic Optimizer:sklearn.exceptions.ConvergenceWarning")
def test_failing_fits_are_failed_observations_of_their_kind(memory_cap: None) -> None:
    X, y = make_regression(n_samples=90, n_features=40, noise=1.0, random_state=0)
    y = y / y.std()
    model = make_pipeline(
        PolynomialFeatures(), MLPRegressor(hidden_layer_sizes=(8,), solver="sgd", max_iter=20, random_state=0)
    )
    parameters = [
        # degree 12 of 40 features is 2e11 columns: a real MemoryError (numpy's) under the cap.
        {"name": "polynomialfeatures__degree", "type": "int", "grid": [1, 12]},
        # 10 makes SGD's weights overflow: sklearn raises "non-finite parameter weights".
        {"name": "mlpregressor__learning_rate_init", "type": "double", "grid": [0.01, 10.0]},
        # "sigmoid" is not one of MLP's activations: sklearn's InvalidParameterError, a ValueError.
        {"name": "mlpregressor__activation", "type": "categorical", "categorical_values": ["relu", "sigmoid"]},
    ]
    search = SigOptSearchCV(model, parameters, budget=8, cv=3, experiment_options={"type": "grid"})
    search.fit(X, y)

    # Every grid point once: degree 12 runs out of memory before the MLP's parameters are checked.
    assert kinds(search) == {"oom": 4, "invalid_assignment": 2, "diverged": 1, None: 1}
    progress = search.experiment_.progress
    assert (progress.budget, progress.finished, progress.remaining) == (8, 8, 0)
    assert progress.failed_by_kind == {"oom": 4, "invalid_assignment": 2, "diverged": 1}
    best = search.experiment_.best_observations()[0]
    assert best.values["score"] == pytest.approx(search.best_score_)
    assert search.best_params_ == {
        "polynomialfeatures__degree": 1,
        "mlpregressor__learning_rate_init": 0.01,
        "mlpregressor__activation": "relu",
    }
    by_kind = {kind: i for i, kind in enumerate(search.cv_results_["failure_kind"])}
    oom = sigopt.get_run(search.cv_results_["run_id"][by_kind["oom"]]).failure
    assert oom is not None and "Unable to allocate" in oom.message and oom.type.endswith("_ArrayMemoryError")
    diverged = sigopt.get_run(search.cv_results_["run_id"][by_kind["diverged"]]).failure
    assert diverged is not None and "non-finite parameter weights" in diverged.message
    assert diverged.type == "sigopt_ai._exceptions.Diverged"
    # Failed candidates score NaN and rank last, as in RandomizedSearchCV.
    scores, ranks = search.cv_results_["mean_test_score"], search.cv_results_["rank_test_score"]
    assert np.isnan(scores).sum() == 7 and ranks[search.best_index_] == 1 and ranks.max() == 2
    assert search.predict(X[:2]).shape == (2,)


@pytest.mark.filterwarnings("ignore:lbfgs failed to converge:sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("convergence_failure", [True, False])
def test_a_convergence_warning_fails_the_candidate_when_asked(convergence_failure: bool) -> None:
    X, y = iris()
    search = SigOptSearchCV(
        LogisticRegression(),
        [{"name": "max_iter", "type": "int", "grid": [1, 300]}],
        budget=2,
        cv=3,
        convergence_failure=convergence_failure,
        experiment_options={"type": "grid"},
    )
    search.fit(X, y)
    if convergence_failure:
        assert kinds(search) == {"invalid_assignment": 1, None: 1}
        failed = search.cv_results_["failure_kind"].index("invalid_assignment")
        failure = sigopt.get_run(search.cv_results_["run_id"][failed]).failure
        assert failure is not None and failure.message.startswith("LogisticRegression did not converge: lbfgs")
        assert search.best_params_ == {"max_iter": 300}
    else:
        assert kinds(search) == {None: 2}


def test_results_and_records_match_randomized_search_cv() -> None:
    X, y = iris()
    scoring = ["accuracy", "f1_macro"]
    shared: dict[str, Any] = {"scoring": scoring, "refit": "accuracy", "cv": 3, "return_train_score": True}
    search = SigOptSearchCV(
        LogisticRegression(max_iter=300), [C], budget=3, random_state=7, name="iris search", project="sk", **shared
    )
    assert is_classifier(search)
    search.fit(X, y)
    grid = {"C": [0.1, 1.0, 10.0]}
    reference = RandomizedSearchCV(LogisticRegression(max_iter=300), grid, n_iter=3, random_state=0, **shared).fit(X, y)
    assert set(reference.cv_results_) <= set(search.cv_results_)
    assert set(search.cv_results_) - set(reference.cv_results_) == {"run_id", "failure_kind"}
    results = search.cv_results_
    assert search.best_index_ == int(np.argmax(results["mean_test_accuracy"]))
    assert search.best_score_ == results["mean_test_accuracy"][search.best_index_]
    assert search.best_params_ == results["params"][search.best_index_]
    assert results["param_C"].dtype == np.float64 and not results["param_C"].mask.any()
    assert search.n_splits_ == 3 and search.multimetric_ and set(search.scorer_) == set(scoring)
    assert search.refit_time_ > 0 and search.n_features_in_ == 4 and list(search.classes_) == [0, 1, 2]
    assert search.best_estimator_.C == search.best_params_["C"]
    assert search.score(X, y) == pytest.approx(search.scorer_["accuracy"](search.best_estimator_, X, y))
    assert search.predict_proba(X[:3]).shape == (3, 3)
    assert not hasattr(search, "transform")  # LogisticRegression has none
    assert not hasattr(search, "feature_names_in_")  # fit on an array, not a DataFrame

    experiment = search.experiment_
    assert (experiment.name, experiment.project) == ("iris search", "sk")
    assert [(m.name, m.strategy) for m in experiment.definition.metrics] == [
        ("accuracy", "optimize"),
        ("f1_macro", "store"),
    ]
    record = sigopt.get_run(results["run_id"][search.best_index_])
    assert record.params["C"] == search.best_params_["C"]
    assert record.params["estimator"] == "LogisticRegression" and record.params["max_iter"] == 300
    assert record.params["cv_splits"] == 3 and record.model == "sklearn"
    assert record.metrics["accuracy"] == pytest.approx(results["mean_test_accuracy"][search.best_index_])
    assert record.metric_stddevs["accuracy"] == pytest.approx(results["std_test_accuracy"][search.best_index_])
    assert {"f1_macro", "train_accuracy", "train_f1_macro", "fit_time", "score_time"} <= set(record.metrics)
    assert [c.step for c in record.checkpoints] == [0, 1, 2]
    assert record.checkpoints[1].values["test_accuracy"] == results["split1_test_accuracy"][search.best_index_]
    assert set(record.checkpoints[0].values) == {
        "fit_time",
        "score_time",
        "test_accuracy",
        "test_f1_macro",
        "train_accuracy",
        "train_f1_macro",
    }


def test_refit_false_and_a_refit_callable() -> None:
    X, y = iris()
    search = SigOptSearchCV(LogisticRegression(max_iter=300), [C], budget=2, cv=2, refit=False).fit(X, y)
    assert search.best_params_ == search.cv_results_["params"][search.best_index_]
    assert not hasattr(search, "best_estimator_") and not hasattr(search, "predict")
    with pytest.raises(AttributeError) as refused:
        search.predict(X)
    assert "refit=False" in str(refused.value.__cause__)
    picked = SigOptSearchCV(LogisticRegression(max_iter=300), [C], budget=2, cv=2, refit=lambda results: 1)
    assert picked.fit(X, y).best_index_ == 1 and not hasattr(picked, "best_score_")


def test_a_search_inside_a_users_run_leaves_that_run_alone() -> None:
    X, y = iris()
    with sigopt.run(name="outer") as outer:
        search = SigOptSearchCV(LogisticRegression(max_iter=300), [C], budget=2, cv=2).fit(X, y)
        outer.log_metric("best", search.best_score_)  # still open: the search used the experiment's own runs
    assert outer.id not in search.cv_results_["run_id"] and len(search.experiment_.runs()) == 2
    record = sigopt.get_run(outer.id)
    assert record.metrics == {"best": search.best_score_} and record.params == {}
    assert record.state is sigopt.RunState.COMPLETED


def test_error_score_raise_records_the_failure_then_raises() -> None:
    X, y = iris()
    search = SigOptSearchCV(
        LogisticRegression(),
        [{"name": "solver", "type": "categorical", "categorical_values": ["liblinear", "lbfgs"]}],
        budget=2,
        cv=2,
        error_score="raise",
        experiment_options={"type": "grid"},
    )
    with pytest.raises(ValueError, match="liblinear"):
        search.fit(X, y)  # liblinear refuses 3 classes
    *before, last = search.experiment_.observations()  # the grid's order is the experiment's
    assert last.failure_kind == "invalid_assignment" and last.assignments == {"solver": "liblinear"}
    assert [(o.failed, o.assignments) for o in before] in ([], [(False, {"solver": "lbfgs"})])


def test_error_score_fills_failed_candidates_and_all_failing_raises() -> None:
    X, y = iris()
    search = SigOptSearchCV(
        LogisticRegression(),
        [{"name": "C", "type": "double", "bounds": {"min": -2.0, "max": -1.0}}],  # C must be > 0
        budget=1,
        cv=2,
        error_score=-1.0,
    )
    with pytest.raises(ValueError, match="All 1 candidates .* failed \\(invalid_assignment\\)"):
        search.fit(X, y)
    assert list(search.cv_results_["mean_test_score"]) == [-1.0] and search.cv_results_["rank_test_score"][0] == 1


class Broken(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """An estimator with a bug: every fit raises a TypeError."""

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def fit(self, X: Any, y: Any) -> Broken:
        raise TypeError("a bug in fit")


def test_a_bug_gives_suggestions_back_and_stops_the_search() -> None:
    X, y = iris()
    search = SigOptSearchCV(Broken(), [{"name": "alpha", "type": "double", "bounds": {"min": 0, "max": 1}}], budget=5)
    with pytest.raises(sigopt.ExperimentStopped):
        search.fit(X, y)
    assert search.experiment_.observations() == []  # no budget spent on a bug
    assert search.experiment_.progress.remaining == 5


def test_categorical_none_true_false_reach_the_estimator_as_python_values() -> None:
    X, y = iris()
    search = SigOptSearchCV(
        LogisticRegression(max_iter=300),
        [
            {"name": "class_weight", "type": "categorical", "categorical_values": ["None", "balanced"]},
            {"name": "fit_intercept", "type": "categorical", "categorical_values": ["True", "False"]},
        ],
        budget=None,  # a grid experiment's budget is its size: 4
        cv=2,
        experiment_options={"type": "grid"},
    ).fit(X, y)
    assert search.experiment_.budget == 4
    assert {(p["class_weight"], p["fit_intercept"]) for p in search.cv_results_["params"]} == {
        (None, True),
        (None, False),
        ("balanced", True),
        ("balanced", False),
    }
    assert search.cv_results_["param_fit_intercept"].dtype == bool


def test_clone_get_params_and_set_params_work_as_for_any_estimator() -> None:
    search = SigOptSearchCV(LogisticRegression(), [C], budget=3, scoring="accuracy")
    copy = clone(search)
    assert copy.get_params(deep=False).keys() == search.get_params(deep=False).keys()
    assert copy.parameters == search.parameters and copy.parameters is not search.parameters
    assert search.get_params()["estimator__C"] == 1.0
    search.set_params(estimator__max_iter=50, budget=4)
    assert search.estimator.max_iter == 50 and search.budget == 4
    check_get_params_invariance("SigOptSearchCV", search)
    check_no_attributes_set_in_init("SigOptSearchCV", search)


def test_set_params_is_checked_again_in_fit() -> None:
    X, y = iris()
    search = SigOptSearchCV(LogisticRegression(), [C], budget=3).set_params(budget=0)
    with pytest.raises(sigopt.ValidationError, match="^budget"):
        search.fit(X, y)


BAD = [
    ({"estimator": object()}, "^estimator must be a scikit-learn estimator"),
    ({"parameters": [{"name": "C", "type": "double", "bounds": {"min": 5, "max": 1}}]}, r"^parameters\[0\].bounds"),
    ({"parameters": [{"name": "gamma", "type": "double", "bounds": {"min": 0, "max": 1}}]}, r"^parameters\[0\].name"),
    ({"parameters": []}, "^parameters"),
    ({"budget": 0}, "^budget"),
    ({"budget": None}, "^budget must be a positive int; it may be None only for a grid"),
    ({"scoring": "no_such_scorer"}, "^scoring"),
    ({"scoring": ["accuracy", "accuracy"]}, "^scoring"),
    ({"scoring": 3}, "^scoring"),
    ({"scoring": ["accuracy", "f1_macro"]}, "^refit must name the scorer"),
    ({"refit": "f1"}, "^refit"),
    ({"cv": 1}, "^cv"),
    ({"cv": "five"}, "^cv"),
    ({"n_jobs": 0}, "^n_jobs"),
    ({"error_score": "ignore"}, "^error_score"),
    ({"convergence_failure": "yes"}, "^convergence_failure"),
    ({"return_train_score": 1}, "^return_train_score"),
    ({"verbose": -1}, "^verbose"),
    ({"random_state": -1}, "^random_state"),
    ({"name": ""}, "^name"),
    ({"project": "a b/c"}, "project"),
    ({"experiment_options": {"budget": 3}}, "^experiment_options"),
    ({"experiment_options": {"lease_timeout": 0}}, r"^experiment_options\['lease_timeout'\]"),
    ({"experiment_options": {"type": "grid"}}, r"^parameters\[0\].grid"),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_arguments_are_refused_at_construction_naming_the_argument(change: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"estimator": LogisticRegression(), "parameters": [C], **change}
    with pytest.raises(sigopt.ValidationError, match=message):
        SigOptSearchCV(**arguments)


values = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 30), st.floats(allow_nan=True), st.text(max_size=5), st.just("raise")
)


@settings(max_examples=50, deadline=None)
@given(budget=values, cv=values, n_jobs=values, verbose=values, error_score=values, random_state=values)
def test_any_argument_is_accepted_unchanged_or_refused_by_name(**arguments: Any) -> None:
    try:
        search = SigOptSearchCV(LogisticRegression(), [C], **arguments)
    except sigopt.ValidationError as exc:
        assert str(exc).split(" ")[0].rstrip(":") in arguments  # "budget: ..." or "cv must be ..."
        return
    assert all(search.get_params()[k] is v for k, v in arguments.items())
    clone(search)


def test_the_example_runs(tmp_path: Path) -> None:
    one = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}  # as one_blas_thread
    done = run_example("sklearn_example.py", tmp_path, timeout=120, SIGOPT_PROJECT="examples", **one)
    assert "best" in done.stdout and "accuracy" in done.stdout
