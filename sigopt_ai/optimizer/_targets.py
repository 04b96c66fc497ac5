"""From observations to model targets: success labels, the scalar objective, constraint metrics.

Everything is oriented so that larger is better: a minimised metric is negated, and a constraint
metric is satisfied when its oriented value is at least its oriented threshold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sigopt_ai._definition import ExperimentDefinition, Metric
from sigopt_ai._models import Observation
from sigopt_ai._types import ParamValue
from sigopt_ai.optimizer._acquisition import parego_scalarize
from sigopt_ai.optimizer._arrays import BoolArray, FloatArray, IntArray, as_float
from sigopt_ai.optimizer._space import SearchSpace


@dataclass(frozen=True, slots=True)
class ConstraintData:
    """One constraint metric: oriented values (NaN when failed or missing) and oriented threshold."""

    name: str
    values: FloatArray
    threshold: float


@dataclass(frozen=True, slots=True)
class Data:
    """What the models are fitted on.

    Attributes:
        x: ``(n, dim)`` canonical points of the observations.
        success: ``(n,)`` whether each observation succeeded (not failed, optimised metrics finite).
        objective: ``(n,)`` the oriented scalar objective, NaN where ``success`` is false.
        constraints: One entry per constraint metric that has a threshold.
        pending: ``(p, dim)`` canonical points of the pending suggestions.
        failure_group: ``(n,)`` -1 for a success; for a failure, the index of its failure kind
            in ``failure_kinds``.
        failure_kinds: The failure kinds in order of first appearance (None: nobody said why).
    """

    x: FloatArray
    success: BoolArray
    objective: FloatArray
    constraints: tuple[ConstraintData, ...]
    pending: FloatArray
    failure_group: IntArray
    failure_kinds: tuple[str | None, ...]

    def failed_as(self, kinds: frozenset[str]) -> BoolArray:
        """Failures whose kind is one of ``kinds``."""
        groups = [g for g, kind in enumerate(self.failure_kinds) if kind in kinds]
        return np.asarray(np.isin(self.failure_group, groups), dtype=bool)

    @property
    def satisfied(self) -> BoolArray:
        """Successful observations that satisfy every constraint threshold (incumbent candidates)."""
        ok = self.success.copy()
        for c in self.constraints:
            ok &= np.nan_to_num(c.values, nan=-np.inf) >= c.threshold
        return np.asarray(ok, dtype=bool)

    def take(self, idx: IntArray) -> Data:
        """The observations at ``idx`` (pending suggestions unchanged)."""
        cons = tuple(ConstraintData(c.name, c.values[idx], c.threshold) for c in self.constraints)
        return Data(
            self.x[idx],
            self.success[idx],
            self.objective[idx],
            cons,
            self.pending,
            self.failure_group[idx],
            self.failure_kinds,
        )


def _sign(metric: Metric) -> float:
    return 1.0 if metric.objective == "maximize" else -1.0


def _value(obs: Observation, name: str) -> float:
    v = obs.values.get(name)
    return float(v) if v is not None and math.isfinite(float(v)) else math.nan


def is_success(obs: Observation, definition: ExperimentDefinition) -> bool:
    """Not failed, and every optimised metric present and finite."""
    return not obs.failed and all(math.isfinite(_value(obs, m.name)) for m in definition.optimized_metrics)


def _objective(
    definition: ExperimentDefinition, observations: Sequence[Observation], success: BoolArray, weights: FloatArray
) -> FloatArray:
    metrics = definition.optimized_metrics
    raw = np.array([[_sign(m) * _value(o, m.name) for m in metrics] for o in observations])
    raw = raw.reshape(len(observations), len(metrics))
    out = np.full(len(observations), np.nan)
    if len(metrics) == 1:
        out[success] = raw[success, 0]
    elif success.any():
        out[success] = parego_scalarize(raw[success], weights)
    return out


def _constraints(definition: ExperimentDefinition, observations: Sequence[Observation]) -> tuple[ConstraintData, ...]:
    out = []
    for m in definition.constraint_metrics:
        if m.threshold is None:
            continue
        vals = np.array([math.nan if o.failed else _sign(m) * _value(o, m.name) for o in observations])
        out.append(ConstraintData(m.name, vals, _sign(m) * float(m.threshold)))
    return tuple(out)


def _failure_groups(observations: Sequence[Observation], success: BoolArray) -> tuple[IntArray, tuple[str | None, ...]]:
    groups: dict[str | None, int] = {}
    out = np.full(len(observations), -1, dtype=np.int64)
    for i, (obs, ok) in enumerate(zip(observations, success, strict=True)):
        if not ok:
            # A run that finished with a non-finite optimised metric diverged.
            kind = obs.failure_kind if obs.failed else "diverged"
            out[i] = groups.setdefault(kind, len(groups))
    return out, tuple(groups)


def collect(
    space: SearchSpace,
    observations: Sequence[Observation],
    pending: Sequence[Mapping[str, ParamValue]],
    *,
    weights: FloatArray,
) -> Data:
    """Encode observations and pending assignments into model data.

    Args:
        space: The search space of the experiment.
        observations: Finished observations, oldest first.
        pending: Assignments being evaluated.
        weights: ParEGO weights, used when the experiment optimises two metrics.

    Raises:
        ValueError: An assignment has a value the space cannot encode.
    """
    definition = space.definition
    success = np.array([is_success(o, definition) for o in observations], dtype=bool)
    groups, kinds = _failure_groups(observations, success)
    return Data(
        x=space.encode_many(o.assignments for o in observations),
        success=success,
        objective=as_float(_objective(definition, observations, success, weights)),
        constraints=_constraints(definition, observations),
        pending=space.encode_many(pending),
        failure_group=groups,
        failure_kinds=kinds,
    )
