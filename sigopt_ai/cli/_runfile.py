"""``run.yml``: the run's name and command, as sigopt-python's command line reads them."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sigopt_ai._checks import check_run_name, describe_value, short_repr
from sigopt_ai._exceptions import UsageError, ValidationError

DEFAULT_RUN_FILE = "run.yml"
_KEYS = ("name", "run", "image", "resources")


@dataclass(frozen=True, slots=True)
class RunFile:
    """A validated ``run.yml``.

    Attributes:
        name: The run's name (in an experiment: the runs' name).
        run: The command: a string (run by ``sh -c``) or a list (the program and its arguments).
        image: A container image name (kept for sigopt-python's files; not used).
        resources: Resources to request (kept for sigopt-python's files; not used).
    """

    name: str | None = None
    run: str | tuple[str, ...] | None = None
    image: str | None = None
    resources: Mapping[str, Any] = field(default_factory=dict)


def load_run_file(path: str | os.PathLike[str] | None) -> RunFile:
    """Read and validate a ``run.yml``; without ``path``, ``./run.yml`` if there is one.

    Raises:
        ValidationError: The file is missing (when named), unreadable, not YAML, or a field breaks
            its rule; the message names the file and the field.
    """
    file = Path(path if path is not None else DEFAULT_RUN_FILE)
    if not file.exists() and path is None:
        return RunFile()
    where = f"Run file {short_repr(str(file))}"
    try:
        document = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError(f"{where} does not exist.") from None
    except (OSError, ValueError) as exc:  # ValueError: undecodable text
        raise ValidationError(f"{where} cannot be read: {exc}.") from None
    except yaml.YAMLError as exc:
        raise ValidationError(f"{where} is not valid YAML: {exc}") from None
    if document is None:
        return RunFile()
    if not isinstance(document, Mapping):
        raise ValidationError(f"{where} must hold a mapping of run fields, got {describe_value(document)}.")
    if unknown := [str(key) for key in document if key not in _KEYS]:
        raise ValidationError(f"{where}: unknown field(s) {unknown!r}; a run file may hold {list(_KEYS)!r}.")
    return RunFile(
        name=_name(document.get("name"), where),
        run=_command(document.get("run"), where),
        image=_text(document.get("image"), where, "image"),
        resources=_resources(document.get("resources"), where),
    )


def _name(value: Any, where: str) -> str | None:
    if value is None:
        return None
    try:
        return check_run_name(value)
    except ValidationError as exc:
        raise ValidationError(f"{where}: field 'name': {exc}") from None


def _command(value: Any, where: str) -> str | tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, Sequence) and not isinstance(value, str) and value:
        if all(isinstance(part, (str, int, float)) and not isinstance(part, bool) for part in value):
            return tuple(str(part) for part in value)
    raise ValidationError(
        f"{where}: field 'run' must be a command line (a string, run by sh -c) or a non-empty list of "
        f"the program and its arguments, got {short_repr(value)}."
    )


def _text(value: Any, where: str, key: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ValidationError(f"{where}: field {key!r} must be a string, got {describe_value(value)}.")


def _resources(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    raise ValidationError(f"{where}: field 'resources' must be a mapping, got {describe_value(value)}.")


def command_argv(arguments: Sequence[str], run_file: RunFile) -> list[str]:
    """The command to run: the arguments, else the run file's ``run`` (a string through ``sh -c``).

    Raises:
        UsageError: There is neither.
    """
    if arguments and arguments[0] == "--":  # after a positional argument click keeps the separator
        arguments = arguments[1:]
    if arguments:
        return list(arguments)
    if isinstance(run_file.run, str):
        return ["sh", "-c", run_file.run]
    if run_file.run:
        return list(run_file.run)
    raise UsageError(
        "Missing command: give it after the options (sigopt-ai run -- python model.py) or as 'run' in the "
        "run file (run: python model.py)."
    )


def describe_command(argv: Sequence[str]) -> str:
    """``argv`` as one shell line, for messages."""
    return shlex.join(argv)
