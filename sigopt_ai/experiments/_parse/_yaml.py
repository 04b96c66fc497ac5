"""Experiment files: a SigOpt ``experiment.yml`` read with a safe YAML loader, then validated."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from sigopt_ai._checks import short_repr
from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._exceptions import ValidationError, ValidationTypeError
from sigopt_ai.experiments._parse._common import describe
from sigopt_ai.experiments._parse._experiment import parse_experiment


def load_experiment_file(path: str | os.PathLike[str]) -> ExperimentDefinition:
    """Load and validate a SigOpt ``experiment.yml``.

    The file is read with a safe YAML loader that also reads exponent floats without a dot
    (``min: 1e-5``) as numbers, as YAML 1.2 does. ``project`` is not allowed in the file.

    Args:
        path: The YAML file.

    Returns:
        The validated definition.

    Raises:
        ValidationError: ``path`` is not a path, the file is missing or unreadable (or the OS
            cannot take its name), is not valid YAML, does not hold a
            mapping, sets ``project``, or breaks a rule of :func:`parse_experiment` (the message
            then starts with the file name).

    Example:
        >>> defn = load_experiment_file("experiment.yml")
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ValidationTypeError(f"Experiment file must be a path (str or os.PathLike), got {describe(path)}.")
    file = Path(path)
    document = _read_yaml(file)
    if not isinstance(document, Mapping):
        got = "an empty document" if document is None else describe(document)
        raise ValidationError(
            f"Experiment file {short_repr(str(file))} must hold a mapping of experiment fields, got {got}."
        )
    if "project" in document:
        raise ValidationError(
            f"Experiment file {short_repr(str(file))} sets 'project', which an experiment file may not hold. "
            "Pass the project separately (the --project option or the SIGOPT_PROJECT environment variable)."
        )
    try:
        return parse_experiment(document)
    except ValidationError as exc:
        raise ValidationError(f"Experiment file {short_repr(str(file))}: {exc}") from exc


class _YamlLoader(yaml.SafeLoader):  # type: ignore[misc, unused-ignore]
    """``yaml.SafeLoader`` that also reads ``1e-5`` (no dot) as a float, as YAML 1.2 does."""


_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _read_yaml(file: Path) -> Any:
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ValidationError(f"Experiment file {short_repr(str(file))} does not exist.") from exc
    except (OSError, ValueError) as exc:  # ValueError: undecodable text, or a name the OS cannot take
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValidationError(f"Experiment file {short_repr(str(file))} cannot be read: {reason}.") from exc
    try:
        return yaml.load(text, Loader=_YamlLoader)
    except yaml.YAMLError as exc:
        raise ValidationError(
            f"Experiment file {short_repr(str(file))} is not valid YAML: {_yaml_problem(exc)}"
        ) from exc


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"{exc.problem} (line {mark.line + 1}, column {mark.column + 1})."
    return f"{exc}."
