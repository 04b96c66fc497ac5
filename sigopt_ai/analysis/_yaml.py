"""An experiment's definition as the ``experiment.yml`` that ``sigopt-ai optimize`` and ``sigopt-ai
create experiment`` read (``-e``): SigOpt's fields without the store's ``object`` keys, and without
the fields that hold their defaults, so the file reads like one a person wrote."""

from __future__ import annotations

from typing import Any

import yaml

from sigopt_ai._definition import ExperimentDefinition, Parameter

__all__ = ["experiment_yaml"]


def _parameter(parameter: Parameter) -> dict[str, Any]:
    out: dict[str, Any] = {"name": parameter.name, "type": parameter.type}
    if parameter.grid:
        out["grid"] = list(parameter.grid)
    elif parameter.bounds is not None:
        out["bounds"] = {"min": parameter.bounds.min, "max": parameter.bounds.max}
    if parameter.categorical_values:
        out["categorical_values"] = list(parameter.categorical_values)
    if parameter.transformation is not None:
        out["transformation"] = parameter.transformation
    if parameter.prior is not None:
        out["prior"] = {k: v for k, v in parameter.prior.to_json().items() if k != "object" and v is not None}
    if parameter.conditions:
        out["conditions"] = {name: list(values) for name, values in parameter.conditions.items()}
    if parameter.default_value is not None:
        out["default_value"] = parameter.default_value
    return out


def experiment_yaml(definition: ExperimentDefinition) -> str:
    """The definition as ``experiment.yml`` text; reading it back (``load_experiment_file``) gives an
    equal definition.

    Example:
        >>> print(experiment_yaml(definition))
        name: tune
        parameters:
        - name: lr
        ...
    """
    document: dict[str, Any] = {"name": definition.name}
    if definition.type != "offline":
        document["type"] = definition.type
    document["parameters"] = [_parameter(p) for p in definition.parameters]
    document["metrics"] = [
        {k: v for k, v in m.to_json().items() if k != "object" and v is not None} for m in definition.metrics
    ]
    if definition.conditionals:
        document["conditionals"] = [{"name": c.name, "values": list(c.values)} for c in definition.conditionals]
    if definition.linear_constraints:
        document["linear_constraints"] = [
            {
                "type": c.type,
                "threshold": c.threshold,
                "terms": [{"name": t.name, "weight": t.weight} for t in c.terms],
            }
            for c in definition.linear_constraints
        ]
    if definition.budget is not None:
        document["budget"] = definition.budget
    document["parallel_bandwidth"] = definition.parallel_bandwidth
    if definition.num_solutions != 1:
        document["num_solutions"] = definition.num_solutions
    if definition.metadata:
        document["metadata"] = dict(definition.metadata)
    text: str = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return text
