"""The values of ``Experiment.observe()``: metric values as SigOpt's API and ours accept them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from sigopt_ai._checks import short_repr, to_real
from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai._failures import FailureInfo, FailureKind

_VALUE_KEYS = frozenset({"name", "value", "value_stddev"})


def observed_values(values: Any) -> dict[str, float]:
    """``observe(values=...)`` as ``{metric: finite float}``: a mapping, or SigOpt's list of
    ``{"name": ..., "value": ...}``."""
    if isinstance(values, Mapping):
        pairs = list(values.items())
    elif isinstance(values, (list, tuple)):
        pairs = [_named_value(item, i) for i, item in enumerate(values)]
    else:
        raise ValidationTypeError(
            "values must be a mapping {metric: number} or a list of {'name': ..., 'value': ...}, "
            f"got {type(values).__name__} ({short_repr(values)})."
        )
    clean: dict[str, float] = {}
    for name, value in pairs:
        if not isinstance(name, str):
            raise ValidationTypeError(f"values: a metric name must be a string, got {type(name).__name__}.")
        if name in clean:
            raise ValidationError(f"values: metric {short_repr(name)} is given twice.")
        clean[name] = _finite(value, f"values[{short_repr(name)}]")
    return clean


def _named_value(item: Any, index: int) -> tuple[Any, Any]:
    if not (isinstance(item, Mapping) and "name" in item and "value" in item and set(item) <= _VALUE_KEYS):
        raise ValidationTypeError(
            f"values[{index}] must be a mapping with 'name' and 'value' (and optionally 'value_stddev'), "
            f"got {short_repr(item)}."
        )
    return item["name"], item["value"]


def _finite(value: Any, field: str) -> float:
    """A metric value of an observation: a finite number (a diverged evaluation is ``failed=True``)."""
    number = to_real(value, field)
    if not math.isfinite(number):
        raise ValidationError(
            f"{field} must be a finite number, got {number!r}; report a diverged evaluation with failed=True."
        )
    return number


def names(names: Any) -> str:
    """A few names, shortened, for a message."""
    listed = sorted(names)
    shown = ", ".join(short_repr(n) for n in listed[:5])
    return f"[{shown}{', ...' if len(listed) > 5 else ''}]"


def run_values(definition: ExperimentDefinition, metrics: Mapping[str, float]) -> tuple[dict[str, float], list[str]]:
    """Of a finished run's last metric values: the experiment's metrics, and the required ones
    (optimized and constraint) it did not log."""
    required = definition.optimized_metrics + definition.constraint_metrics
    known = {m.name for m in definition.metrics}
    return {k: v for k, v in metrics.items() if k in known}, [m.name for m in required if m.name not in metrics]


def missing_metric_failure(missing: list[str], logged: Any) -> FailureInfo:
    """The failure of a run that completed without the experiment's required metric(s) ``missing``:
    a bug of the training code, whose suggestion goes back to be served again."""
    message = (
        f"The run completed without the experiment's metric(s) {missing!r}; it logged {names(logged)}. "
        "Its suggestion goes back to be served again."
    )
    return FailureInfo(FailureKind.MISSING_METRIC, message=message)
