"""The run of a process that ``sigopt-ai run``, ``optimize`` or ``start-worker`` launched.

The command creates the run in its own process, makes it durable, and starts the training command
with ``SIGOPT_AI_RUN`` set to :class:`LaunchSpec` as JSON (and the store settings it resolved). In
that process :func:`launched_run` is a :class:`~sigopt_ai.RunContext` attached to that run:
module-level calls (``sigopt.log_metric``, ``sigopt.params``) record into it, and the suggested
parameters are read-only. It never ends the run: the launching process does, once the command has
exited. An uncaught exception is classified and recorded here first, so that the launching
process knows an ``oom`` from a bug, which an exit status cannot tell.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import Any

from sigopt_ai._checks import is_param, short_repr
from sigopt_ai._exceptions import ConfigError
from sigopt_ai._types import ParamValue
from sigopt_ai.runs._run import RunContext, provide_launched_run

LAUNCH_ENV = "SIGOPT_AI_RUN"
"""The environment variable that hands a launched process its run."""


@dataclass(frozen=True, slots=True)
class LaunchSpec:
    """The run a launched process records into.

    Attributes:
        id: The run's id (the run exists in the store).
        name: Its name.
        project: Its project.
        experiment: The experiment that suggested its parameters, if any.
        suggestion: That suggestion's id.
        params: The suggested assignments (read-only in the launched process).
    """

    id: str
    name: str
    project: str
    experiment: str | None = None
    suggestion: str | None = None
    params: Mapping[str, ParamValue] = field(default_factory=dict)

    def to_env(self) -> str:
        """The value of :data:`LAUNCH_ENV` for this run."""
        return json.dumps({**asdict(self), "params": dict(self.params)})

    @classmethod
    def from_env(cls, text: str) -> LaunchSpec:
        """The spec :meth:`to_env` wrote.

        Raises:
            ConfigError: ``text`` is not such JSON (the message names the variable and the field).
        """
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"{LAUNCH_ENV} must be the JSON that sigopt-ai wrote: {exc}.") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{LAUNCH_ENV} must hold a JSON object, got {short_repr(data)}.")
        for key in ("id", "name", "project"):
            if not isinstance(data.get(key), str):
                raise ConfigError(f"{LAUNCH_ENV}.{key} must be a string, got {short_repr(data.get(key))}.")
        params = data.get("params") or {}
        if not isinstance(params, dict) or not all(is_param(k, v) for k, v in params.items()):
            raise ConfigError(f"{LAUNCH_ENV}.params must map names to numbers or strings, got {short_repr(params)}.")
        return cls(
            id=data["id"],
            name=data["name"],
            project=data["project"],
            experiment=_optional_text(data, "experiment"),
            suggestion=_optional_text(data, "suggestion"),
            params=params,
        )


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{LAUNCH_ENV}.{key} must be a string or null, got {short_repr(value)}.")
    return value


def launch_spec() -> LaunchSpec | None:
    """The spec of this process's launched run, or None when no ``sigopt-ai`` command started it."""
    text = os.environ.get(LAUNCH_ENV)
    return LaunchSpec.from_env(text) if text else None


_lock = threading.Lock()
_run: RunContext | None = None


def launched_run() -> RunContext | None:
    """In a process that ``sigopt-ai`` launched, the run it records into (attached on first use);
    else None."""
    global _run
    if _run is not None:
        return _run
    spec = launch_spec()
    if spec is None:
        return None
    with _lock:
        if _run is None:
            _run = RunContext(
                spec.name,
                spec.project,
                fixed_params=spec.params,
                experiment=spec.experiment,
                suggestion=spec.suggestion,
                run_id=spec.id,
                attach=True,
            )
        return _run


def _install_excepthook() -> None:
    """Record an uncaught exception into the launched run even if the code never logged anything
    (the session's own hook does it for a run that is already attached)."""
    previous = sys.excepthook

    def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        try:
            run = launched_run()
            if run is not None:
                run.fail_with(exc)
        except Exception:  # recording must never hide the user's traceback
            pass
        previous(exc_type, exc, tb)

    sys.excepthook = _excepthook


provide_launched_run(launched_run)
if os.environ.get(LAUNCH_ENV):
    _install_excepthook()
