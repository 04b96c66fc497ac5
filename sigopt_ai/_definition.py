"""The experiment definition as immutable values: parameters, metrics, conditionals, constraints.

Values here are already validated; :func:`sigopt_ai.experiments._parse.parse_experiment` builds them from the
SigOpt-shaped JSON a user passes (or an ``experiment.yml``), raising :class:`ValidationError` with
SigOpt's messages. ``to_json`` gives back the SigOpt v1 shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sigopt_ai._types import MetadataValue, ParamValue

ParameterType = Literal["double", "int", "categorical"]
Objective = Literal["maximize", "minimize"]
MetricStrategy = Literal["optimize", "constraint", "store"]
ExperimentType = Literal["offline", "random", "grid"]


@dataclass(frozen=True, slots=True)
class Bounds:
    """Inclusive numeric bounds of a parameter."""

    min: float
    max: float


@dataclass(frozen=True, slots=True)
class Prior:
    """A prior belief on a double parameter: ``normal`` (mean, scale) or ``beta`` (shape_a, shape_b)."""

    name: Literal["normal", "beta"]
    mean: float | None = None
    scale: float | None = None
    shape_a: float | None = None
    shape_b: float | None = None


@dataclass(frozen=True, slots=True)
class Parameter:
    """One hyperparameter of the search space.

    ``grid`` (when not empty) replaces ``bounds``; ``conditions`` maps a conditional's name to the
    values under which this parameter is active (empty: always active).
    """

    name: str
    type: ParameterType
    bounds: Bounds | None = None
    categorical_values: tuple[str, ...] = ()
    grid: tuple[float, ...] = ()
    transformation: Literal["log"] | None = None
    prior: Prior | None = None
    conditions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    default_value: ParamValue = None

    @property
    def is_log(self) -> bool:
        """Whether the parameter is searched on a log scale."""
        return self.transformation == "log"


@dataclass(frozen=True, slots=True)
class Metric:
    """A metric of the experiment: optimized, a constraint with a threshold, or only stored."""

    name: str
    objective: Objective = "maximize"
    strategy: MetricStrategy = "optimize"
    threshold: float | None = None

    def is_better(self, a: float, b: float) -> bool:
        """Whether value ``a`` is strictly better than ``b`` for this metric."""
        return a > b if self.objective == "maximize" else a < b


@dataclass(frozen=True, slots=True)
class Conditional:
    """A categorical switch that turns conditioned parameters on and off."""

    name: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ConstraintTerm:
    """One ``weight * parameter`` term of a linear constraint."""

    name: str
    weight: float


@dataclass(frozen=True, slots=True)
class LinearConstraint:
    """``sum(weight * param) > threshold`` (``greater_than``) or ``< threshold`` (``less_than``).

    SigOpt treats both as inclusive (``>=`` / ``<=``).
    """

    type: Literal["greater_than", "less_than"]
    threshold: float
    terms: tuple[ConstraintTerm, ...]

    def is_satisfied(self, assignments: Mapping[str, Any], tol: float = 1e-9) -> bool:
        """Whether ``assignments`` satisfy the constraint (inclusive, with tolerance ``tol``).

        The tolerance is relative to the largest of 1, ``|threshold|`` and ``sum |weight * value|``,
        since the rounding error of the weighted sum grows with its terms.
        """
        products = [t.weight * float(assignments[t.name]) for t in self.terms]
        total = sum(products)
        slack = tol * max(1.0, abs(self.threshold), sum(abs(p) for p in products))
        if self.type == "greater_than":
            return total >= self.threshold - slack
        return total <= self.threshold + slack


@dataclass(frozen=True, slots=True)
class ExperimentDefinition:
    """A validated experiment: its search space, metrics, budget and options."""

    name: str
    parameters: tuple[Parameter, ...]
    metrics: tuple[Metric, ...]
    conditionals: tuple[Conditional, ...] = ()
    linear_constraints: tuple[LinearConstraint, ...] = ()
    budget: int | None = None
    parallel_bandwidth: int = 1
    num_solutions: int = 1
    type: ExperimentType = "offline"
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)

    @property
    def optimized_metrics(self) -> tuple[Metric, ...]:
        """The metrics with strategy ``optimize`` (one or two)."""
        return tuple(m for m in self.metrics if m.strategy == "optimize")

    @property
    def constraint_metrics(self) -> tuple[Metric, ...]:
        """The metrics with strategy ``constraint``."""
        return tuple(m for m in self.metrics if m.strategy == "constraint")

    def parameter(self, name: str) -> Parameter:
        """The parameter called ``name``.

        Raises:
            KeyError: No such parameter.
        """
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)

    def active_parameters(self, conditions: Mapping[str, str]) -> tuple[Parameter, ...]:
        """The parameters active under the given conditional values."""
        return tuple(p for p in self.parameters if all(conditions.get(c) in vals for c, vals in p.conditions.items()))
