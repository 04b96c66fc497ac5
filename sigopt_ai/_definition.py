"""The experiment definition as immutable values: parameters, metrics, conditionals, constraints.

Values here are already validated; :func:`sigopt_ai.experiments._parse.parse_experiment` builds them from the
SigOpt-shaped JSON a user passes (or an ``experiment.yml``), raising :class:`ValidationError` with
SigOpt's messages. :meth:`ExperimentDefinition.to_json` gives the canonical SigOpt v1 shape that the store
keeps, and :meth:`ExperimentDefinition.from_json` rebuilds the values from it without validating again, so a
reader of the store (the optimizer service) needs no validator.
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

    def to_json(self) -> dict[str, Any]:
        """The SigOpt v1 ``bounds`` object."""
        return {"object": "bounds", "min": self.min, "max": self.max}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Bounds:
        """The bounds :meth:`to_json` gave."""
        return cls(min=data["min"], max=data["max"])


@dataclass(frozen=True, slots=True)
class Prior:
    """A prior belief on a double parameter: ``normal`` (mean, scale) or ``beta`` (shape_a, shape_b)."""

    name: Literal["normal", "beta"]
    mean: float | None = None
    scale: float | None = None
    shape_a: float | None = None
    shape_b: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The SigOpt v1 ``normal_prior`` or ``beta_prior`` object."""
        if self.name == "normal":
            return {"object": "normal_prior", "name": "normal", "mean": self.mean, "scale": self.scale}
        return {"object": "beta_prior", "name": "beta", "shape_a": self.shape_a, "shape_b": self.shape_b}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Prior:
        """The prior :meth:`to_json` gave."""
        return cls(
            name=data["name"],
            mean=data.get("mean"),
            scale=data.get("scale"),
            shape_a=data.get("shape_a"),
            shape_b=data.get("shape_b"),
        )


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

    def to_json(self) -> dict[str, Any]:
        """The SigOpt v1 ``parameter`` object; ``grid`` appears only on a grid parameter."""
        data: dict[str, Any] = {
            "object": "parameter",
            "name": self.name,
            "type": self.type,
            "bounds": None if self.bounds is None else self.bounds.to_json(),
            "categorical_values": [
                {"object": "categorical_value", "name": value, "enum_index": index}
                for index, value in enumerate(self.categorical_values, start=1)
            ]
            or None,
            "conditions": {name: list(values) for name, values in self.conditions.items()},
            "default_value": self.default_value,
            "prior": None if self.prior is None else self.prior.to_json(),
            "transformation": self.transformation,
        }
        if self.grid:
            data["grid"] = list(self.grid)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Parameter:
        """The parameter :meth:`to_json` gave."""
        bounds, prior = data["bounds"], data["prior"]
        return cls(
            name=data["name"],
            type=data["type"],
            bounds=None if bounds is None else Bounds.from_json(bounds),
            categorical_values=tuple(value["name"] for value in data["categorical_values"] or ()),
            grid=tuple(data.get("grid", ())),
            transformation=data["transformation"],
            prior=None if prior is None else Prior.from_json(prior),
            conditions={name: tuple(values) for name, values in data["conditions"].items()},
            default_value=data["default_value"],
        )


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

    def to_json(self) -> dict[str, Any]:
        """The SigOpt v1 ``metric`` object."""
        return {
            "object": "metric",
            "name": self.name,
            "objective": self.objective,
            "strategy": self.strategy,
            "threshold": self.threshold,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Metric:
        """The metric :meth:`to_json` gave."""
        return cls(
            name=data["name"], objective=data["objective"], strategy=data["strategy"], threshold=data["threshold"]
        )


@dataclass(frozen=True, slots=True)
class Conditional:
    """A categorical switch that turns conditioned parameters on and off."""

    name: str
    values: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The SigOpt v1 ``conditional`` object."""
        return {"object": "conditional", "name": self.name, "values": list(self.values)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Conditional:
        """The conditional :meth:`to_json` gave."""
        return cls(name=data["name"], values=tuple(data["values"]))


@dataclass(frozen=True, slots=True)
class ConstraintTerm:
    """One ``weight * parameter`` term of a linear constraint."""

    name: str
    weight: float

    def to_json(self) -> dict[str, Any]:
        """The SigOpt v1 ``constraint_term`` object."""
        return {"object": "constraint_term", "name": self.name, "weight": self.weight}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConstraintTerm:
        """The term :meth:`to_json` gave."""
        return cls(name=data["name"], weight=data["weight"])


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

    def to_json(self) -> dict[str, Any]:
        """The SigOpt v1 ``linear_constraint`` object."""
        return {
            "object": "linear_constraint",
            "type": self.type,
            "threshold": self.threshold,
            "terms": [term.to_json() for term in self.terms],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LinearConstraint:
        """The constraint :meth:`to_json` gave."""
        return cls(
            type=data["type"],
            threshold=data["threshold"],
            terms=tuple(ConstraintTerm.from_json(term) for term in data["terms"]),
        )


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

    def to_json(self) -> dict[str, Any]:
        """The canonical SigOpt v1 JSON of the definition, as the store keeps it.

        Parameters, metrics, bounds, categorical values, conditionals and constraints carry SigOpt's
        ``object`` keys. ``parse_experiment(d.to_json()) == d`` and ``ExperimentDefinition.from_json(d.to_json())
        == d``.

        Returns:
            A JSON-serialisable dict (no ``project``, ``id`` or ``progress``: the store adds those).

        Example:
            >>> definition.to_json()["parameters"][0]["object"]
            'parameter'
        """
        return {
            "name": self.name,
            "type": self.type,
            "parameters": [p.to_json() for p in self.parameters],
            "metrics": [m.to_json() for m in self.metrics],
            "conditionals": [c.to_json() for c in self.conditionals],
            "linear_constraints": [c.to_json() for c in self.linear_constraints],
            "budget": self.budget,
            "parallel_bandwidth": self.parallel_bandwidth,
            "num_solutions": self.num_solutions,
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExperimentDefinition:
        """Rebuild the definition that :meth:`to_json` gave, without validating it again.

        Only for JSON that :meth:`to_json` produced (the store's own copy): anything else must go
        through ``parse_experiment``, which checks every rule.

        Args:
            data: The output of :meth:`to_json`, as is or after a JSON round trip.

        Returns:
            A definition equal to the one that produced ``data``.

        Raises:
            KeyError: ``data`` lacks a field that :meth:`to_json` always writes.
        """
        return cls(
            name=data["name"],
            parameters=tuple(Parameter.from_json(p) for p in data["parameters"]),
            metrics=tuple(Metric.from_json(m) for m in data["metrics"]),
            conditionals=tuple(Conditional.from_json(c) for c in data["conditionals"]),
            linear_constraints=tuple(LinearConstraint.from_json(c) for c in data["linear_constraints"]),
            budget=data["budget"],
            parallel_bandwidth=data["parallel_bandwidth"],
            num_solutions=data["num_solutions"],
            type=data["type"],
            metadata=dict(data["metadata"]),
        )

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
