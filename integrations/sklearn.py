"""scikit-learn: :class:`SigOptSearchCV`, a hyperparameter search like ``RandomizedSearchCV`` whose
candidates come from a sigopt_ai experiment, and whose failing fits are results, not crashes.

Each candidate is one run of the experiment's loop: the suggested assignment is set on a clone of the
estimator, which is cross-validated with ``error_score="raise"``, so that a fit that fails reaches the
loop and is classified as any run's failure: an invalid combination (sklearn's ``ValueError``) is
``invalid_assignment``, a ``MemoryError`` is ``oom``, and a solver that blows up is ``diverged``
(sklearn says so with a ``ValueError`` whose text this module recognises, see :data:`DIVERGED_TEXT`).
The experiment spends its budget on them as failed observations and learns to avoid them.
"""

from __future__ import annotations

import math
import numbers as _numbers
import re
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from copy import deepcopy
from typing import Any

from sigopt_ai._checks import describe_value, short_repr, to_seed
from sigopt_ai._config import check_project
from sigopt_ai._exceptions import Diverged, InvalidAssignment, ValidationError, ValidationTypeError
from sigopt_ai.experiments._api import create_experiment
from sigopt_ai.experiments._experiment import Experiment, check_lease_timeout
from sigopt_ai.experiments._parse import parse_experiment
from sigopt_ai.integrations._require import require
from sigopt_ai.integrations._run import IntegrationRun
from sigopt_ai.runs._run import RunContext

sklearn = require("sklearn", "sklearn", minimum="1.6")

import numpy as np  # noqa: E402  (scikit-learn installs it)
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import check_scoring  # noqa: E402
from sklearn.model_selection import check_cv, cross_validate  # noqa: E402
from sklearn.utils import get_tags  # noqa: E402
from sklearn.utils.metaestimators import available_if  # noqa: E402
from sklearn.utils.validation import check_is_fitted  # noqa: E402

__all__ = ["DIVERGED_TEXT", "SigOptSearchCV"]

DIVERGED_TEXT = re.compile(r"non-finite parameter weights|Floating-point under-/overflow|overflow encountered")
"""What scikit-learn says when a solver diverges: ``MLPRegressor``/``MLPClassifier`` ("Solver produced
non-finite parameter weights"), the SGD estimators ("Floating-point under-/overflow occurred at epoch
#N"), both raised as ``ValueError``, and numpy's ``RuntimeWarning`` "overflow encountered in ..." when
warnings are errors. Such a fit fails its run as ``diverged`` rather than ``invalid_assignment``."""

# Categorical values are strings in an experiment; these stand for the Python values sklearn's
# estimators take (``class_weight=None``, ``fit_intercept=False``).
_CATEGORICAL_VALUES: dict[str, Any] = {"None": None, "True": True, "False": False}
_OPTIONS = frozenset({"conditionals", "linear_constraints", "metadata", "type", "parallel_bandwidth", "lease_timeout"})
_PROXIED = ("predict", "predict_proba", "predict_log_proba", "decision_function", "score_samples", "transform")


def _delegates(method: str) -> Callable[[Any], bool]:
    """Whether ``method`` can be delegated to the best estimator (as sklearn's searches decide it:
    only with ``refit``, and only if the estimator has it)."""

    def check(self: SigOptSearchCV) -> bool:
        if not self.refit:
            raise AttributeError(
                f"This SigOptSearchCV was created with refit=False: {method} needs the best estimator "
                "refit on all the data. Fit one yourself with best_params_."
            )
        getattr(self.best_estimator_ if hasattr(self, "best_estimator_") else self.estimator, method)
        return True

    return check


def _proxy(method: str) -> Any:
    def call(self: SigOptSearchCV, X: Any, *args: Any, **kwargs: Any) -> Any:
        check_is_fitted(self)
        return getattr(self.best_estimator_, method)(X, *args, **kwargs)

    call.__name__ = call.__qualname__ = method
    call.__doc__ = f"``best_estimator_.{method}(X, ...)``: the best estimator, refit on all the data."
    return available_if(_delegates(method))(call)


def _best_attribute(name: str, doc: str) -> Any:
    """A fitted attribute of the best estimator, absent (AttributeError) where it has none."""

    def get(self: SigOptSearchCV) -> Any:
        _delegates(name)(self)
        return getattr(self.best_estimator_, name)

    return property(get, doc=doc)


class SigOptSearchCV(MetaEstimatorMixin, BaseEstimator):  # type: ignore[misc]
    """Search an estimator's hyperparameters with a sigopt_ai experiment, cross-validating each
    suggestion: a drop-in for ``RandomizedSearchCV``.

    :meth:`fit` creates an experiment that maximizes the cross-validated score (scikit-learn's scorers
    are greater-is-better) and runs its loop: each suggestion is a run, which records the assignment
    and the estimator's other scalar parameters as params, each split's scores and times as a
    checkpoint (step = split index), and the mean scores (with their standard deviations) as metrics.
    A fit that raises fails its run with the kind of its exception and becomes a failed observation:
    ``ValueError`` (an invalid combination, such as ``penalty="l1"`` with ``solver="lbfgs"``) is
    ``invalid_assignment``, ``MemoryError`` is ``oom``, a diverging solver is ``diverged``
    (:data:`DIVERGED_TEXT`), and with ``convergence_failure=True`` a ``ConvergenceWarning`` is
    ``invalid_assignment``. A bug (a ``TypeError`` in a custom estimator) gives its suggestion back and
    stops the loop after three in a row (``sigopt_ai.ExperimentStopped``), as in any experiment loop.

    Categorical values are strings in an experiment; ``"None"``, ``"True"`` and ``"False"`` are given
    to the estimator as ``None``, ``True`` and ``False``.

    The arguments are checked here, where they were written (the experiment definition with SigOpt's
    rules, and each parameter's name against the estimator's), and again in :meth:`fit`, since
    ``set_params`` may have changed them; they are stored as given, so ``clone`` and ``get_params``
    work as for any scikit-learn estimator.

    Args:
        estimator: The scikit-learn estimator (or pipeline) to tune.
        parameters: SigOpt parameter definitions, each named after a parameter of the estimator as
            ``set_params`` takes it (``"C"``, ``"clf__alpha"``).
        budget: How many candidates to evaluate (failed ones included); ``None`` only for a grid
            experiment (``experiment_options={"type": "grid"}``), whose budget is its grid's size.
        scoring: As in ``RandomizedSearchCV``: None (the estimator's ``score``), a scorer's name, a
            callable ``scorer(estimator, X, y)``, or a list or dict of them (several metrics: ``refit``
            names the one the experiment maximizes; the others are stored).
        cv: As in ``RandomizedSearchCV``: None (5 folds), an int of at least 2, a splitter, or an
            iterable of (train, test) index pairs. Every candidate is scored on the same splits.
        refit: Refit the best candidate on all the data as ``best_estimator_`` (True), not (False),
            or, with several scorers, the scorer's name to maximize and refit with. A callable
            ``refit(cv_results_) -> index`` picks the best candidate itself (one scorer only).
        n_jobs: Fits run in parallel within one candidate's cross-validation (``cross_validate``'s
            ``n_jobs``); candidates follow one another, as the experiment learns from each.
        error_score: ``"raise"``: a failing fit is recorded and then raised out of :meth:`fit`; a
            number: the score ``cv_results_`` shows for a failed candidate (default NaN).
        convergence_failure: A ``ConvergenceWarning`` during a fit fails the candidate.
        name: The experiment's name (default: ``"<estimator class> search"``).
        project: The experiment's project (default: ``SIGOPT_PROJECT``, else the working directory).
        verbose: 0: quiet; 1 or more: the loop's progress line after each candidate.
        random_state: Seed of the experiment's suggestions (an int), for a repeatable search.
        return_train_score: Also score each split's training data (``train_<scorer>`` metrics).
        experiment_options: More of the experiment's definition: ``conditionals``,
            ``linear_constraints``, ``metadata``, ``type`` (``"offline"``, ``"random"``, ``"grid"``),
            ``parallel_bandwidth``, ``lease_timeout``.

    Attributes:
        experiment_: The :class:`~sigopt_ai.Experiment` the last :meth:`fit` created.
        cv_results_: ``RandomizedSearchCV``'s keys (``params``, ``param_<name>`` masked arrays,
            ``split<i>_test_<scorer>``, ``mean_test_<scorer>``, ``std_test_<scorer>``,
            ``rank_test_<scorer>``, ``mean_fit_time``...; ``_score`` for one scorer), one entry per
            observation, failed ones with ``error_score``; plus ``run_id`` and ``failure_kind``
            (None for a candidate that succeeded).
        best_index_, best_params_, best_score_, best_estimator_, refit_time_, scorer_,
        n_splits_, multimetric_, n_features_in_, classes_: As in ``RandomizedSearchCV``.

    Raises:
        ValidationError: An argument breaks a rule; the message names it.

    Example:
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sigopt_ai.integrations.sklearn import SigOptSearchCV
        >>> search = SigOptSearchCV(
        ...     LogisticRegression(max_iter=500),
        ...     [dict(name="C", type="double", bounds=dict(min=1e-3, max=1e3), transformation="log")],
        ...     budget=10,
        ...     scoring="accuracy",
        ... )
        >>> search.fit(*load_iris(return_X_y=True)).best_params_  # doctest: +SKIP
        {'C': 12.3...}
    """

    _required_parameters = ["estimator", "parameters"]

    # Set by fit (annotated here for readers and type checkers; sklearn wants no attribute set in __init__).
    experiment_: Experiment
    cv_results_: dict[str, Any]
    best_index_: int
    best_params_: dict[str, Any]
    best_score_: float
    best_estimator_: Any
    refit_time_: float
    scorer_: Any
    n_splits_: int
    multimetric_: bool

    def __init__(
        self,
        estimator: Any,
        parameters: Sequence[Mapping[str, Any]],
        *,
        budget: int | None = 20,
        scoring: Any = None,
        cv: Any = None,
        refit: bool | str | Callable[[dict[str, Any]], int] = True,
        n_jobs: int | None = None,
        error_score: str | float = np.nan,
        convergence_failure: bool = False,
        name: str | None = None,
        project: str | None = None,
        verbose: int = 0,
        random_state: int | None = None,
        return_train_score: bool = False,
        experiment_options: Mapping[str, Any] | None = None,
    ) -> None:
        # Stored unchanged, as scikit-learn's clone() requires; checked without keeping anything.
        self.estimator = estimator
        self.parameters = parameters
        self.budget = budget
        self.scoring = scoring
        self.cv = cv
        self.refit = refit
        self.n_jobs = n_jobs
        self.error_score = error_score
        self.convergence_failure = convergence_failure
        self.name = name
        self.project = project
        self.verbose = verbose
        self.random_state = random_state
        self.return_train_score = return_train_score
        self.experiment_options = experiment_options
        self._check()

    # -- checks ----------------------------------------------------------------------------------

    def _check(self) -> tuple[dict[str, Any], str, dict[str, Any]]:
        """Check every argument; return the scorers by name, the optimized one's name, and the
        keywords of ``create_experiment``."""
        estimator = self.estimator
        if not (hasattr(estimator, "fit") and hasattr(estimator, "get_params")):
            raise ValidationTypeError(
                "estimator must be a scikit-learn estimator (with fit and get_params), "
                f"got {describe_value(estimator)}."
            )
        scorers = _scorers(estimator, self.scoring)
        objective = self._objective(scorers)
        for field in ("convergence_failure", "return_train_score"):
            if not isinstance(getattr(self, field), bool):
                raise ValidationTypeError(f"{field} must be True or False, got {describe_value(getattr(self, field))}.")
        _check_cv(self.cv)
        _check_int(self.n_jobs, "n_jobs", "an int other than 0, or None", lambda n: n != 0, optional=True)
        _check_int(self.verbose, "verbose", "an int >= 0", lambda n: n >= 0)
        if not (self.error_score == "raise" or _is_real(self.error_score)):
            raise ValidationError(f'error_score must be "raise" or a number, got {short_repr(self.error_score)}.')
        if self.random_state is not None:
            to_seed(self.random_state, "random_state")
        if self.project is not None:
            check_project(self.project)
        keywords = self._experiment_keywords(scorers, objective)
        definition = {k: v for k, v in keywords.items() if k not in ("project", "seed", "lease_timeout")}
        try:
            parsed = parse_experiment({k: v for k, v in definition.items() if v is not None})
        except ValidationError as exc:
            # The metrics come from ``scoring``: name it, as the user wrote no metrics.
            raise type(exc)(f"scoring: {exc}" if str(exc).startswith("metrics") else str(exc)) from None
        if parsed.budget is None:  # the loop would never end
            raise ValidationError("budget must be a positive int; it may be None only for a grid experiment.")
        if "lease_timeout" in keywords:
            check_lease_timeout(keywords["lease_timeout"], "experiment_options['lease_timeout']")
        _check_names(estimator, self.parameters)
        return scorers, objective, keywords

    def _objective(self, scorers: Mapping[str, Any]) -> str:
        """The scorer the experiment maximizes (and ``refit`` refits with)."""
        refit = self.refit
        if not (isinstance(refit, (bool, str)) or callable(refit)):
            raise ValidationTypeError(
                f"refit must be True, False, a scorer's name or a callable, got {describe_value(refit)}."
            )
        if len(scorers) == 1:
            only = next(iter(scorers))
            if isinstance(refit, str) and refit != only:
                raise ValidationError(f"refit must be True, False or {only!r} (the scorer), got {refit!r}.")
            return only
        if isinstance(refit, str) and refit in scorers:
            return refit
        raise ValidationError(
            f"refit must name the scorer the experiment maximizes, one of {sorted(scorers)!r}, when scoring "
            f"has several; got {short_repr(refit)}."
        )

    def _experiment_keywords(self, scorers: Mapping[str, Any], objective: str) -> dict[str, Any]:
        options = self.experiment_options
        if options is None:
            options = {}
        if not isinstance(options, Mapping):
            raise ValidationTypeError(f"experiment_options must be a mapping, got {describe_value(options)}.")
        if unknown := set(options) - _OPTIONS:
            raise ValidationError(
                f"experiment_options: {sorted(map(str, unknown))!r} cannot be set here; the keys are "
                f"{sorted(_OPTIONS)!r} "
                "(parameters, metrics, budget and name are this search's own arguments)."
            )
        metrics = [{"name": objective, "objective": "maximize"}]
        metrics += [{"name": n, "objective": "maximize", "strategy": "store"} for n in scorers if n != objective]
        return {
            "name": self.name if self.name is not None else f"{type(self.estimator).__name__} search"[:100],
            "parameters": self.parameters,
            "metrics": metrics,
            "budget": self.budget,
            "project": self.project,
            "seed": self.random_state,
            **options,
        }

    # -- the search ------------------------------------------------------------------------------

    def fit(self, X: Any, y: Any = None, **params: Any) -> SigOptSearchCV:
        """Run the experiment: cross-validate each suggestion until the budget is spent, then refit
        the best one on all the data.

        Args:
            X: The training data.
            y: The targets, if the estimator takes them.
            **params: ``groups`` for the splitter, and fit parameters for the estimator (as
                ``RandomizedSearchCV.fit`` takes them).

        Returns:
            self.

        Raises:
            ValidationError: An argument (changed by ``set_params``) breaks a rule.
            ValueError: Every candidate failed: there is no best one.
            sigopt_ai.ExperimentStopped: The same bug ended three candidates in a row.
        """
        scorers, objective, keywords = self._check()
        groups = params.pop("groups", None)
        estimator = self.estimator
        cv = check_cv(self.cv, y, classifier=get_tags(estimator).estimator_type == "classifier")
        splits = list(cv.split(X, y, groups))
        self.multimetric_ = len(scorers) > 1
        self.scorer_ = scorers if self.multimetric_ else scorers[objective]
        self.n_splits_ = len(splits)
        self.experiment_ = experiment = create_experiment(**keywords)
        candidates: list[_Candidate] = []
        for run in experiment.loop(progress=self.verbose > 0):
            candidate = _Candidate(run)
            with run:
                self._evaluate(candidate, X, y, splits, scorers, params)
            failure = run.failure
            if failure is None or failure.kind.is_assignment_failure:
                candidates.append(candidate)
            if candidate.error is not None and self.error_score == "raise":
                raise candidate.error
        self.cv_results_ = _results(
            candidates, list(scorers), self.n_splits_, self.return_train_score, self.error_score
        )
        self._select(objective, candidates)
        if self.refit:
            started = time.perf_counter()
            self.best_estimator_ = clone(estimator).set_params(**self.best_params_)
            self.best_estimator_.fit(X, y, **params)
            self.refit_time_ = time.perf_counter() - started
        return self

    def _evaluate(
        self,
        candidate: _Candidate,
        X: Any,
        y: Any,
        splits: list[tuple[Any, Any]],
        scorers: dict[str, Any],
        params: dict[str, Any],
    ) -> None:
        """Cross-validate one suggestion in its run; a failing fit leaves with its classified cause."""
        recorder = IntegrationRun(candidate.run, framework="sklearn")
        estimator = clone(self.estimator).set_params(**candidate.params)
        recorder.log_params({"estimator": type(estimator).__name__, "cv_splits": len(splits), **_scalars(estimator)})
        try:
            with warnings.catch_warnings():
                if self.convergence_failure:
                    warnings.simplefilter("error", ConvergenceWarning)  # sklearn passes filters to its workers
                scores = cross_validate(
                    estimator,
                    X,
                    y,
                    scoring=scorers,
                    cv=splits,
                    n_jobs=self.n_jobs,
                    params=params or None,
                    return_train_score=self.return_train_score,
                    error_score="raise",
                )
        except ConvergenceWarning as exc:
            candidate.error = InvalidAssignment(f"{type(estimator).__name__} did not converge: {exc}")
            raise candidate.error from exc
        except Exception as exc:
            candidate.error = exc
            if DIVERGED_TEXT.search(str(exc)):
                candidate.error = Diverged(f"{type(estimator).__name__} diverged: {exc}")
                raise candidate.error from exc
            raise
        candidate.scores = {key: np.asarray(value, dtype=float) for key, value in scores.items()}
        for step in range(len(splits)):
            recorder.checkpoint({key: value[step] for key, value in candidate.scores.items()}, step)
        for key, value in candidate.scores.items():
            metric = key.partition("_")[2] if key.startswith("test_") else key
            mean, std = float(np.mean(value)), float(np.std(value))
            if math.isfinite(mean) and math.isfinite(std):
                recorder.call(candidate.run.log_metric, metric, mean, std)
            else:  # NaN: the run fails diverged
                recorder.log_metrics({metric: mean})

    def _select(self, objective: str, candidates: list[_Candidate]) -> None:
        results = self.cv_results_
        means = results[f"mean_test_{'score' if not self.multimetric_ else objective}"]
        # A run whose mean score was NaN failed diverged, though cross_validate returned scores.
        succeeded = [i for i, c in enumerate(candidates) if c.scores is not None and c.run.failure is None]
        if not succeeded:
            kinds = sorted({str(c.run.failure.kind.value) for c in candidates if c.run.failure})
            raise ValueError(
                f"All {len(candidates)} candidates of experiment {self.experiment_.id} failed ({', '.join(kinds)}); "
                "there is no best one. cv_results_ and experiment_ hold what was recorded."
            )
        if callable(self.refit):
            best = self.refit(results)
            if isinstance(best, bool) or not isinstance(best, _numbers.Integral) or not 0 <= best < len(candidates):
                raise ValidationError(
                    "refit: the callable must return an index of cv_results_ "
                    f"(0 to {len(candidates) - 1}), got {best!r}."
                )
            self.best_index_ = int(best)
        else:
            self.best_index_ = max(succeeded, key=lambda i: float(means[i]))
            self.best_score_ = float(means[self.best_index_])
        self.best_params_ = dict(candidates[self.best_index_].params)

    # -- delegation to the best estimator ------------------------------------------------------------

    predict = _proxy("predict")
    predict_proba = _proxy("predict_proba")
    predict_log_proba = _proxy("predict_log_proba")
    decision_function = _proxy("decision_function")
    score_samples = _proxy("score_samples")
    transform = _proxy("transform")
    inverse_transform = _proxy("inverse_transform")

    @available_if(_delegates("score"))  # type: ignore[untyped-decorator]
    def score(self, X: Any, y: Any = None, **params: Any) -> float:
        """The refit scorer's score of ``best_estimator_`` on ``X`` and ``y``."""
        check_is_fitted(self)
        scorer = self.scorer_[str(self.refit)] if self.multimetric_ else self.scorer_
        return float(scorer(self.best_estimator_, X, y, **params))

    classes_ = _best_attribute("classes_", "The classes of the best estimator.")
    n_features_in_ = _best_attribute("n_features_in_", "How many features the best estimator was fit on.")
    feature_names_in_ = _best_attribute("feature_names_in_", "The names of the features the best estimator was fit on.")

    def __sklearn_tags__(self) -> Any:
        # The search is what its estimator is (a classifier, a regressor...), as sklearn's own searches.
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = deepcopy(inner.classifier_tags)
        tags.regressor_tags = deepcopy(inner.regressor_tags)
        tags.input_tags.pairwise = inner.input_tags.pairwise
        tags.input_tags.sparse = inner.input_tags.sparse
        return tags


class _Candidate:
    """One suggestion's evaluation: its run, the values given to the estimator, and its scores."""

    def __init__(self, run: RunContext) -> None:
        self.run = run
        self.params = {key: _estimator_value(value) for key, value in run.params.items()}
        self.scores: dict[str, Any] | None = None
        self.error: BaseException | None = None


def _estimator_value(value: Any) -> Any:
    return _CATEGORICAL_VALUES.get(value, value) if isinstance(value, str) else value


def _scalars(estimator: Any) -> dict[str, Any]:
    """The estimator's scalar parameters (nested ones included, as ``clf__alpha``), for the run's params."""
    return {k: v for k, v in estimator.get_params(deep=True).items() if isinstance(v, (bool, int, float, str))}


def _scorers(estimator: Any, scoring: Any) -> dict[str, Any]:
    """The scorers of ``scoring`` by their metric name: ``"score"`` for None or a callable, else their names."""
    if scoring is None or callable(scoring) or isinstance(scoring, str):
        specs: dict[Any, Any] = {scoring if isinstance(scoring, str) else "score": scoring}
    elif isinstance(scoring, Mapping):
        specs = dict(scoring)
    elif isinstance(scoring, (list, tuple, set, frozenset)):
        specs = {spec: spec for spec in scoring}
        if len(specs) != len(scoring) or not all(isinstance(s, str) for s in specs):
            raise ValidationError(f"scoring: a list of scorers holds distinct scorer names, got {short_repr(scoring)}.")
    else:
        raise ValidationTypeError(
            "scoring must be None, a scorer's name, a callable, or a list or dict of them, "
            f"got {describe_value(scoring)}."
        )
    if not specs:
        raise ValidationError("scoring: an empty list or dict of scorers scores nothing.")
    scorers: dict[str, Any] = {}
    for key, spec in specs.items():
        if not isinstance(key, str):
            raise ValidationTypeError(f"scoring: scorer names are strings, got {short_repr(key)}.")
        if spec is not None and not (isinstance(spec, str) or callable(spec)):
            raise ValidationTypeError(
                f"scoring[{key!r}] must be a scorer's name or a callable, got {describe_value(spec)}."
            )
        try:
            scorers[key] = check_scoring(estimator, scoring=spec)
        except (ValueError, TypeError) as exc:
            raise ValidationError(f"scoring: {exc}") from None
    return scorers


def _check_cv(cv: Any) -> None:
    if cv is None or hasattr(cv, "split") and not isinstance(cv, (str, bytes)):
        return
    if isinstance(cv, _numbers.Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise ValidationError(f"cv must be at least 2 folds, got {cv}.")
        return
    if isinstance(cv, Iterable) and not isinstance(cv, (str, bytes, Mapping)):
        return
    raise ValidationTypeError(
        "cv must be None, an int of at least 2, a splitter or an iterable of (train, test) indices, "
        f"got {describe_value(cv)}."
    )


def _check_int(value: Any, field: str, rule: str, ok: Callable[[int], bool], optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, _numbers.Integral) or not ok(int(value)):
        raise ValidationError(f"{field} must be {rule}, got {short_repr(value)}.")


def _is_real(value: Any) -> bool:
    return isinstance(value, _numbers.Real) and not isinstance(value, bool)


def _check_names(estimator: Any, parameters: Any) -> None:
    """Each parameter names one of the estimator's (``set_params`` would fail every candidate)."""
    known = estimator.get_params(deep=True)
    for index, parameter in enumerate(parameters):
        name = parameter["name"]
        if name not in known:
            close = sorted(k for k in known if k.split("__")[-1] == name.split("__")[-1])
            hint = f" (did you mean {close[0]!r}?)" if close else f"; it has {sorted(known)[:20]!r}"
            raise ValidationError(
                f"parameters[{index}].name: {type(estimator).__name__} has no parameter {name!r}{hint}."
            )


def _results(
    candidates: list[_Candidate], scorers: list[str], n_splits: int, train: bool, error_score: Any
) -> dict[str, Any]:
    """``cv_results_`` in ``RandomizedSearchCV``'s shape: one entry per candidate, scores of failed
    ones as ``error_score`` (NaN unless a number was given), ranks with failed ones last."""
    filler = float("nan") if error_score == "raise" else float(error_score)
    results: dict[str, Any] = {}
    count = len(candidates)

    def table(key: str, fill: float) -> Any:
        rows = [c.scores[key] if c.scores is not None else np.full(n_splits, fill) for c in candidates]
        return np.asarray(rows, dtype=float).reshape(count, n_splits)

    for kind in ("fit_time", "score_time"):
        times = table(kind, float("nan"))
        results[f"mean_{kind}"], results[f"std_{kind}"] = times.mean(axis=1), times.std(axis=1)
    for name, value in _param_arrays([c.params for c in candidates]).items():
        results[f"param_{name}"] = value
    results["params"] = [dict(c.params) for c in candidates]
    for scorer in scorers:
        suffix = "score" if len(scorers) == 1 else scorer
        for split_set in ("test", "train") if train else ("test",):
            values = table(f"{split_set}_{scorer}", filler)
            for split in range(n_splits):
                results[f"split{split}_{split_set}_{suffix}"] = values[:, split]
            means = values.mean(axis=1)
            results[f"mean_{split_set}_{suffix}"], results[f"std_{split_set}_{suffix}"] = means, values.std(axis=1)
            if split_set == "test":
                results[f"rank_test_{suffix}"] = _ranks(means)
    results["run_id"] = [c.run.id for c in candidates]
    results["failure_kind"] = [None if c.run.failure is None else c.run.failure.kind.value for c in candidates]
    return results


def _ranks(means: Any) -> Any:
    """1 for the best mean; ties share the lower rank; NaN (failed) ranks last, as in sklearn."""
    if count := len(means):
        filled = np.where(np.isnan(means), np.nanmin(means) - 1 if not np.isnan(means).all() else 0.0, means)
        order = -filled
        return np.asarray([1 + int(np.sum(order < value)) for value in order], dtype=np.int32)
    return np.zeros(count, dtype=np.int32)


def _param_arrays(candidate_params: list[dict[str, Any]]) -> dict[str, Any]:
    """A masked array per parameter name, masked where a candidate has no value (an inactive
    conditional parameter); numeric when the values are numbers, else of objects (as sklearn's)."""
    names = sorted({name for params in candidate_params for name in params})
    arrays: dict[str, Any] = {}
    for name in names:
        given = {index: params[name] for index, params in enumerate(candidate_params) if name in params}
        inferred = np.asarray(list(given.values()))
        dtype = inferred.dtype if inferred.dtype.kind in "biuf" and inferred.ndim == 1 else np.dtype(object)
        array = np.ma.MaskedArray(np.empty(len(candidate_params), dtype=dtype), mask=True)
        for index, value in given.items():
            array[index] = value  # setting a value unmasks it
        arrays[name] = array
    return arrays
