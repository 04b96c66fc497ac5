"""The optimizers under test, each behind the same ask/tell driver (``docs/optimizer.md``, *Peers and ablations*).

Peers (Optuna, imported lazily: it is a benchmark-only dependency):

* ``random``: ``RandomSampler(seed)``, the floor.
* ``tpe``: ``TPESampler(seed)`` defaults; a failure is told as ``TrialState.FAIL`` (what most
  users get; Optuna's samplers then ignore it).
* ``tpe_c``: ``TPESampler(seed)`` with failures as an infeasible constraint (c-TPE): Optuna >= 4
  reads constraints that the trial itself carries (``trial.set_constraint(key, value)``, stored in
  the trial's system attributes; feasible when every value is <= 0). The deprecated
  ``constraints_func`` is not called for ``FAIL`` trials, so a failure is told as a *complete* trial
  with ``failed = +1`` and the worst successful value so far as a dummy objective; a success
  carries ``failed = -1``. Before the first success no dummy value exists and the failure is told
  as ``FAIL``.
* ``gp_c``: ``GPSampler(seed)`` with the same constraint encoding (LogCEI); needs ``torch``.
* ``gp``: ``GPSampler(seed)`` with failures told as ``FAIL`` (not in ``all``; opt-in).

Peers (Ax on BoTorch, ``ax-platform`` 1.3.1; a benchmark-only dependency kept in its own
virtual environment, see ``benchmarks/README.md``): Ax's ``Client(random_seed=seed)`` with its
default generation strategy (the centre of the box, Sobol, then BoTorch's modular model).

* ``ax_failed``: a failure is ``mark_trial_failed`` (Ax's own failure handling; its model ignores
  failed trials).
* ``ax_constraint``: a failure is told as the optimizer's peers with constraints are told: a
  completed trial with an auxiliary metric ``failed = 1`` under the outcome constraint
  ``failed <= 0.5`` and the worst successful value so far as its objective; a success carries
  ``failed = 0``. Before the first success there is no worst value and the failure is
  ``mark_trial_failed``.

Ours: ``sigopt_ai`` (``make_strategy(definition, seed=seed)``, the default ``type="offline"``
Bayesian optimizer) and ``sigopt_ai_random`` (``type="random"``, Sobol). The ablation
``sigopt_ai_no_padding`` (opt-in) is ``BayesianOptimizer(failure_model="classifier")``: failures
train the success classifier but are not floor-padded into the objective GP.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol

from benchmarks.optimizer.problems import METRIC, Problem
from sigopt_ai._definition import ExperimentDefinition, Parameter
from sigopt_ai._types import ParamValue

if TYPE_CHECKING:
    import optuna

FailureEncoding = Literal["fail", "constraint"]


@dataclass(frozen=True)
class Asked:
    """An assignment handed out by :meth:`Driver.ask`, with the driver's handle on it."""

    assignments: dict[str, ParamValue]
    handle: Any


class Driver(Protocol):
    """One optimizer run: ``ask`` for assignments, ``tell`` each one's result.

    Sequentially one assignment is out at a time; simulated parallel workers keep several out,
    and results come back in any order.
    """

    implementation: str
    """The class doing the work (sampler or strategy), recorded with every trace."""

    def ask(self) -> Asked:
        """The next assignment to evaluate (the only call whose wall time is measured)."""
        ...

    def tell(self, asked: Asked, value: float | None, kind: str | None = None) -> None:
        """Report the result of an asked assignment; ``None`` = the evaluation failed, ``kind`` says why."""
        ...


@dataclass(frozen=True)
class MethodSpec:
    """A method of the benchmark: how to build its driver and what it needs."""

    name: str
    build: Callable[[Problem, int], Driver]
    description: str
    fast: bool
    requires: tuple[str, ...] = ()


# --- Optuna -----------------------------------------------------------------------------------


@contextmanager
def _quiet_optuna() -> Iterator[None]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


def _suggest(trial: optuna.Trial, parameter: Parameter) -> ParamValue:
    if parameter.type == "categorical":
        return trial.suggest_categorical(parameter.name, parameter.categorical_values)
    assert parameter.bounds is not None, f"{parameter.name} has no bounds"
    low, high = parameter.bounds.min, parameter.bounds.max
    if parameter.type == "int":
        return trial.suggest_int(parameter.name, int(low), int(high), log=parameter.is_log)
    return trial.suggest_float(parameter.name, low, high, log=parameter.is_log)


class OptunaDriver:
    """Drives an Optuna sampler through ``study.ask`` / ``study.tell``."""

    def __init__(
        self,
        definition: ExperimentDefinition,
        sampler: optuna.samplers.BaseSampler,
        failures: FailureEncoding,
    ) -> None:
        import optuna

        with _quiet_optuna():
            self._study = optuna.create_study(direction="minimize", sampler=sampler)
        self._definition = definition
        self._failures = failures
        self.implementation = type(sampler).__name__
        self._worst: float | None = None

    def ask(self) -> Asked:
        """Ask a trial and sample every parameter (relative and independent sampling both happen here).

        Trials still out are ``RUNNING`` in the study, which is how Optuna's samplers see them.
        """
        with _quiet_optuna():
            trial = self._study.ask()
            return Asked({p.name: _suggest(trial, p) for p in self._definition.parameters}, trial)

    def tell(self, asked: Asked, value: float | None, kind: str | None = None) -> None:
        """Tell the asked trial, encoding a failure as configured (Optuna has no failure kinds)."""
        import optuna

        trial = asked.handle
        with _quiet_optuna():
            if self._failures == "fail" or (value is None and self._worst is None):
                state = optuna.trial.TrialState.FAIL if value is None else optuna.trial.TrialState.COMPLETE
                self._study.tell(trial, value, state=state)
            else:
                self._tell_constrained(trial, value)

    def _tell_constrained(self, trial: optuna.Trial, value: float | None) -> None:
        if value is None:
            trial.set_constraint("failed", 1.0)
            self._study.tell(trial, self._worst)
            return
        self._worst = value if self._worst is None else max(self._worst, value)
        trial.set_constraint("failed", -1.0)
        self._study.tell(trial, value)


def _random(problem: Problem, seed: int) -> Driver:
    import optuna

    return OptunaDriver(problem.definition, optuna.samplers.RandomSampler(seed=seed), "fail")


def _tpe(problem: Problem, seed: int) -> Driver:
    import optuna

    return OptunaDriver(problem.definition, optuna.samplers.TPESampler(seed=seed), "fail")


def _tpe_c(problem: Problem, seed: int) -> Driver:
    import optuna

    return OptunaDriver(problem.definition, optuna.samplers.TPESampler(seed=seed), "constraint")


def _gp_sampler(seed: int) -> optuna.samplers.BaseSampler:
    import optuna

    with _quiet_optuna():
        return optuna.samplers.GPSampler(seed=seed)


def _gp(problem: Problem, seed: int) -> Driver:
    return OptunaDriver(problem.definition, _gp_sampler(seed), "fail")


def _gp_c(problem: Problem, seed: int) -> Driver:
    return OptunaDriver(problem.definition, _gp_sampler(seed), "constraint")


# --- Ax -------------------------------------------------------------------------------------


def _ax_parameter(parameter: Parameter) -> Any:
    from ax import ChoiceParameterConfig, RangeParameterConfig

    if parameter.type == "categorical":
        values = list(parameter.categorical_values)
        return ChoiceParameterConfig(name=parameter.name, values=values, parameter_type="str", is_ordered=False)
    assert parameter.bounds is not None, f"{parameter.name} has no bounds"
    kind: Literal["int", "float"] = "int" if parameter.type == "int" else "float"
    low, high = parameter.bounds.min, parameter.bounds.max
    bounds = (int(low), int(high)) if kind == "int" else (low, high)
    scaling: Literal["log", "linear"] = "log" if parameter.is_log else "linear"
    return RangeParameterConfig(name=parameter.name, bounds=bounds, parameter_type=kind, scaling=scaling)


@contextmanager
def _quiet_ax() -> Iterator[None]:
    import logging

    # Ax logs every trial at INFO and warns about its own defaults; the harness records warnings
    # raised while asking, so only Ax's chatter is silenced, not numerical warnings from BoTorch.
    # Ax gives each of its module loggers its own INFO level, so the parent's level is not enough.
    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] in ("ax", "botorch"):
            logging.getLogger(name).setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        yield


class AxDriver:
    """Drives Ax's :class:`ax.Client` through ``get_next_trials`` / ``complete_trial``."""

    def __init__(self, definition: ExperimentDefinition, seed: int, failures: FailureEncoding) -> None:
        with _quiet_ax():
            from ax import Client  # its import warns of torch.jit.script's deprecation

            self._client = Client(random_seed=seed)
            self._client.configure_experiment(
                parameters=[_ax_parameter(p) for p in definition.parameters], name=definition.name
            )
            constraints = ["failed <= 0.5"] if failures == "constraint" else None
            self._client.configure_optimization(objective=f"-{METRIC}", outcome_constraints=constraints)
        self._failures = failures
        self._worst: float | None = None
        self.implementation = "ax.Client"

    def ask(self) -> Asked:
        """One trial from Ax's generation strategy; trials still out are ``RUNNING`` (pending) in Ax."""
        with _quiet_ax():
            (index, parameters), *_ = self._client.get_next_trials(max_trials=1).items()
        return Asked(dict(parameters), index)  # type: ignore[arg-type]

    def attach(self, assignments: dict[str, ParamValue], value: float | None) -> None:
        """Tell Ax about an evaluation it did not suggest (a history given to it)."""
        with _quiet_ax():
            index = self._client.attach_trial(parameters=dict(assignments))  # type: ignore[arg-type]
        self.tell(Asked(dict(assignments), index), value)

    def abandon(self, asked: Asked) -> None:
        """Withdraw an asked trial: Ax no longer counts it as pending."""
        with _quiet_ax():
            self._client.mark_trial_abandoned(trial_index=asked.handle)

    def tell(self, asked: Asked, value: float | None, kind: str | None = None) -> None:
        """Complete or fail the trial, encoding a failure as configured (Ax has no failure kinds)."""
        with _quiet_ax():
            if value is None and (self._failures == "fail" or self._worst is None):
                self._client.mark_trial_failed(trial_index=asked.handle, failed_reason=kind)
                return
            if self._failures == "fail":
                self._client.complete_trial(trial_index=asked.handle, raw_data={METRIC: value})
                return
            if value is None:
                data = {METRIC: self._worst, "failed": 1.0}
            else:
                self._worst = value if self._worst is None else max(self._worst, value)
                data = {METRIC: value, "failed": 0.0}
            self._client.complete_trial(trial_index=asked.handle, raw_data=data)  # type: ignore[arg-type]


def _ax_failed(problem: Problem, seed: int) -> Driver:
    return AxDriver(problem.definition, seed, "fail")


def _ax_constraint(problem: Problem, seed: int) -> Driver:
    return AxDriver(problem.definition, seed, "constraint")


# --- sigopt_ai --------------------------------------------------------------------------------


class StrategyDriver:
    """Drives a :class:`sigopt_ai.optimizer.Strategy` with the full observation history."""

    def __init__(self, strategy: Any, *, kinds: bool = True) -> None:
        self._strategy = strategy
        self._kinds = kinds
        self.implementation = type(strategy).__name__
        self._observations: list[Any] = []
        self._pending: dict[int, dict[str, ParamValue]] = {}
        self._index = 0

    def ask(self) -> Asked:
        """``strategy.suggest(observations, pending, index=n)``: ``pending`` = the assignments still out."""
        suggestion = dict(self._strategy.suggest(self._observations, list(self._pending.values()), index=self._index))
        self._pending[self._index] = suggestion
        self._index += 1
        return Asked(suggestion, self._index - 1)

    def tell(self, asked: Asked, value: float | None, kind: str | None = None) -> None:
        """Append an :class:`Observation` (``failed=True`` with its kind and without values on a failure)."""
        from sigopt_ai._models import Observation

        assignments = self._pending.pop(asked.handle)
        if value is None:
            kind = kind if self._kinds else None
            self._observations.append(Observation(dict(assignments), failed=True, failure_kind=kind))
        else:
            self._observations.append(Observation(dict(assignments), {METRIC: value}))


def _sigopt_ai(
    problem: Problem, seed: int, experiment_type: Literal["offline", "random"], *, kinds: bool = True
) -> Driver:
    from sigopt_ai.optimizer import make_strategy

    definition = replace(problem.definition, type=experiment_type)
    return StrategyDriver(make_strategy(definition, seed=seed), kinds=kinds)


def _sigopt_ai_no_padding(problem: Problem, seed: int) -> Driver:
    from sigopt_ai.optimizer import BayesianOptimizer

    return StrategyDriver(BayesianOptimizer(problem.definition, seed=seed, failure_model="classifier"))


def _sigopt_ai_no_kinds(problem: Problem, seed: int) -> Driver:
    return _sigopt_ai(problem, seed, "offline", kinds=False)


def _sigopt_ai_bayes(problem: Problem, seed: int) -> Driver:
    return _sigopt_ai(problem, seed, "offline")


def _sigopt_ai_sobol(problem: Problem, seed: int) -> Driver:
    return _sigopt_ai(problem, seed, "random")


# --- registry ---------------------------------------------------------------------------------

METHODS: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in (
        MethodSpec("sigopt_ai", _sigopt_ai_bayes, "make_strategy default (Bayesian)", True, ("sigopt_ai",)),
        MethodSpec("sigopt_ai_random", _sigopt_ai_sobol, "make_strategy type=random (Sobol)", True, ("sigopt_ai",)),
        MethodSpec("random", _random, "Optuna RandomSampler", True, ("optuna",)),
        MethodSpec("tpe", _tpe, "Optuna TPESampler, failure told as FAIL", True, ("optuna",)),
        MethodSpec("tpe_c", _tpe_c, "Optuna TPESampler, failure as constraint", True, ("optuna",)),
        MethodSpec("gp_c", _gp_c, "Optuna GPSampler, failure as constraint", False, ("optuna", "torch")),
        MethodSpec("gp", _gp, "Optuna GPSampler, failure told as FAIL", False, ("optuna", "torch")),
        MethodSpec("ax_failed", _ax_failed, "Ax Client, failure told as mark_trial_failed", False, ("ax",)),
        MethodSpec("ax_constraint", _ax_constraint, "Ax Client, failure as outcome constraint", False, ("ax",)),
        MethodSpec(
            "sigopt_ai_no_padding",
            _sigopt_ai_no_padding,
            "ablation: BayesianOptimizer(failure_model='classifier'), failures not padded into the objective GP",
            True,
            ("sigopt_ai",),
        ),
        MethodSpec(
            "sigopt_ai_no_kinds",
            _sigopt_ai_no_kinds,
            "ablation: the default optimizer told only that an evaluation failed, not why",
            True,
            ("sigopt_ai",),
        ),
    )
}
DEFAULT_METHODS = ("sigopt_ai", "sigopt_ai_random", "random", "tpe", "tpe_c", "gp_c", "ax_constraint")
"""What ``--methods all`` runs (``gp``, ``ax_failed`` and the ablations are opt-in); a peer whose package
is missing is left out and named in the report."""
OURS = "sigopt_ai"
"""The method compared against every peer in the paired statistics."""


def _has_make_strategy() -> bool:
    try:
        from sigopt_ai.optimizer import make_strategy  # noqa: F401
    except ImportError:
        return False
    return True


def missing_requirement(method: str) -> str | None:
    """Why ``method`` cannot run here (a missing package), or ``None`` when it can."""
    for requirement in METHODS[method].requires:
        if requirement == "sigopt_ai":
            if not _has_make_strategy():
                return "sigopt_ai.optimizer.make_strategy is not importable"
        elif importlib.util.find_spec(requirement) is None:
            return f"{requirement} is not installed"
    return None


def build_driver(method: str, problem: Problem, seed: int) -> Driver:
    """A fresh driver of ``method`` on ``problem`` with ``seed``.

    Raises:
        KeyError: Unknown method name.
    """
    if method not in METHODS:
        raise KeyError(f"{method!r} is not a benchmark method. It must be one of {sorted(METHODS)!r}.")
    return METHODS[method].build(problem, seed)
