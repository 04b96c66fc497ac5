"""The run of a process that ``sigopt-ai run``, ``optimize`` or ``start-worker`` launched.

The command creates the run in its own process, makes it durable, and starts the training command
with ``SIGOPT_AI_RUN`` set to :class:`LaunchSpec` as JSON (and the store settings it resolved). In
that process :func:`launched_run` is a :class:`~sigopt_ai.RunContext` attached to that run:
module-level calls (``sigopt.log_metric``, ``sigopt.params``) record into it, and the suggested
parameters are read-only. It never ends the run: the launching process does, once the command has
exited. An uncaught exception is classified and recorded here first, so that the launching
process knows an ``oom`` from a bug, which an exit status cannot tell.

Only one process owns the run's outcome: the first that imports ``sigopt_ai`` below the launching
process (the command itself, or the first Python under a shell). It claims the run at import, before
it can start a helper, by rewriting ``SIGOPT_AI_RUN`` with ``"owner": false`` for its descendants.
They still record metrics and parameters into the run, but neither a failure (a helper the command
lets fail must not fail the run) nor ``sys_metadata`` (the owner's argv, memory and duration).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
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
        owner: Whether the process that reads this spec owns the run's failure and ``sys_metadata``
            (the launching process hands out True; the owner hands its descendants False).
    """

    id: str
    name: str
    project: str
    experiment: str | None = None
    suggestion: str | None = None
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    owner: bool = True

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
        owner = data.get("owner", True)
        if not isinstance(owner, bool):
            raise ConfigError(f"{LAUNCH_ENV}.owner must be true or false, got {short_repr(owner)}.")
        return cls(
            id=data["id"],
            name=data["name"],
            project=data["project"],
            experiment=_optional_text(data, "experiment"),
            suggestion=_optional_text(data, "suggestion"),
            params=params,
            owner=owner,
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
_owner_pid: int | None = None
"""The pid of this process if it claimed the run's outcome (a forked copy of it does not own it)."""


def _claim_ownership() -> None:
    """Own the run's outcome if no process above this one does, and tell every descendant (which
    inherits the environment) that it does not."""
    global _owner_pid
    try:
        spec = launch_spec()
    except ConfigError:  # raised where the run is first used, not at import
        return
    if spec is None or not spec.owner:
        return
    _owner_pid = os.getpid()
    os.environ[LAUNCH_ENV] = replace(spec, owner=False).to_env()


def _is_owner() -> bool:
    return _owner_pid == os.getpid()


def launched_run() -> RunContext | None:
    """In a process that ``sigopt-ai`` launched, the run it records into (attached on first use);
    else None."""
    global _run
    if _run is not None:
        return _run
    spec = launch_spec()  # in the owner, the rewritten spec: ownership is _owner_pid's
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
                guest=not _is_owner(),
            )
        return _run


def _install_excepthook() -> None:
    """Record an uncaught exception into the launched run even if the code never logged anything
    (the session's own hook does it for a run that is already attached)."""
    previous = sys.excepthook

    def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        try:
            run = launched_run() if _is_owner() else None  # a helper's failure is not the run's
            if run is not None:
                run.fail_with(exc)
        except Exception:  # recording must never hide the user's traceback
            pass
        previous(exc_type, exc, tb)

    sys.excepthook = _excepthook


provide_launched_run(launched_run)
if os.environ.get(LAUNCH_ENV):
    _claim_ownership()
    if _is_owner():
        _install_excepthook()
