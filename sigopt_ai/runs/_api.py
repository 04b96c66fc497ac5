"""Module-level functions: logging to the current run and its parameters, reading runs, settings."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from sigopt_ai import _config
from sigopt_ai._checks import (
    MAX_TEXT_LENGTH,
    check_limit,
    check_name,
    check_stddev,
    check_step,
    check_text,
    describe_value,
    is_text,
    model_type,
    short_repr,
    to_metadata,
    to_metrics,
    to_number,
    to_text,
)
from sigopt_ai._exceptions import UsageError, ValidationError, ValidationTypeError
from sigopt_ai._models import MetricPoint, RunRecord
from sigopt_ai._types import MetricValue, ParamValue
from sigopt_ai.runs._detached import detached_params, warn_no_run
from sigopt_ai.runs._params import RunParams
from sigopt_ai.runs._run import RunContext, current_run
from sigopt_ai.runs._session import get_session, peek_session, reset_session


def log_metric(name: str, value: MetricValue, stddev: MetricValue | None = None) -> None:
    """Record a metric on the current run (see :meth:`RunContext.log_metric`).

    Outside any run the input is checked and nothing is recorded, as in sigopt-python (one
    ``UserWarning`` per process says how to record).
    """
    run = current_run(silent=True)
    if run is not None:
        run.log_metric(name, value, stddev)
        return
    check_name(name, "metric name")
    to_number(value, f"metric {name!r}")
    if stddev is not None:
        check_stddev(stddev, f"stddev of metric {name!r}")
    warn_no_run("sigopt.log_metric()")


def log_metrics(metrics: dict[str, MetricValue] | None = None, /, **kwargs: MetricValue) -> None:
    """Record several metrics on the current run (outside any run: checked, not recorded)."""
    run = current_run(silent=True)
    if run is not None:
        run.log_metrics(metrics, **kwargs)
        return
    to_metrics(metrics, kwargs)
    warn_no_run("sigopt.log_metrics()")


def log_checkpoint(values: dict[str, MetricValue], step: int | None = None) -> None:
    """Record a checkpoint on the current run (outside any run: checked, not recorded)."""
    run = current_run(silent=True)
    if run is not None:
        run.log_checkpoint(values, step)
        return
    if not isinstance(values, Mapping):
        raise ValidationTypeError(
            f"checkpoint values must be a mapping of metric names to numbers, got {describe_value(values)}."
        )
    for name, value in values.items():
        if value is not None:
            check_name(name, "checkpoint metric name")
            to_number(value, f"checkpoint metric {name!r}")
    if step is not None:
        check_step(step)
    warn_no_run("sigopt.log_checkpoint()")


def log_metadata(key: str, value: Any) -> None:
    """Record metadata on the current run (outside any run: checked, not recorded)."""
    run = current_run(silent=True)
    if run is not None:
        run.log_metadata(key, value)
        return
    check_name(key, "metadata key")
    to_metadata(value, f"metadata {key!r}")
    warn_no_run("sigopt.log_metadata()")


def log_dataset(name: str) -> None:
    """Record a dataset on the current run (outside any run: checked, not recorded)."""
    run = current_run(silent=True)
    if run is not None:
        run.log_dataset(name)
        return
    check_name(name, "dataset name")
    warn_no_run("sigopt.log_dataset()")


def log_model(type: str | None = None, *, type_: str | None = None) -> None:
    """Record the model type of the current run (``type_`` is sigopt-python's name for it); outside
    any run: checked, not recorded."""
    run = current_run(silent=True)
    if run is not None:
        run.log_model(type, type_=type_)
        return
    type = model_type(type, type_)
    if type is not None:
        to_text(type, "model type", MAX_TEXT_LENGTH)
    warn_no_run("sigopt.log_model()")


def log_failure(reason: str | None = None) -> None:
    """Mark the current run failed because of its assignment (kind ``reported``); outside any run,
    nothing is recorded."""
    run = current_run(silent=True)
    if run is not None:
        run.log_failure(reason)
        return
    if reason is not None:
        if not isinstance(reason, str):
            raise ValidationTypeError(f"reason must be a str or None, got {describe_value(reason)}.")
        check_text(reason, "reason")
    warn_no_run("sigopt.log_failure()")


def get_run_id() -> str | None:
    """The id of the run module-level calls record into (the entered run, or the run of a process
    that ``sigopt-ai run`` launched), else None."""
    run = current_run(silent=True)
    return None if run is None else run.id


class CurrentRunParams(MutableMapping[str, ParamValue]):
    """``sigopt.params``: the parameters of the current run (see :func:`sigopt_ai.current_run`).

    Outside any run they are a process-wide set that records nothing, as in sigopt-python:
    ``sigopt.params.setdefault("lr", 0.1)`` returns 0.1 (one ``UserWarning`` per process says so).
    """

    __slots__ = ()

    @staticmethod
    def _params() -> RunParams:
        run = current_run(silent=True)
        return detached_params() if run is None else run.params

    @staticmethod
    def _wrote(params: RunParams, what: str) -> None:
        """After a write that succeeded: warn if it went to the detached parameters (the user's
        frame is two above this method)."""
        if params is detached_params():
            warn_no_run(f"sigopt.params.{what}", stacklevel=4)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._params(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        params = self._params()
        params[name] = value
        self._wrote(params, name)

    def __getitem__(self, name: str) -> ParamValue:
        return self._params()[name]

    def __setitem__(self, name: str, value: Any) -> None:
        params = self._params()
        params[name] = value
        self._wrote(params, f"[{name!r}]")

    def __delitem__(self, name: str) -> None:
        params = self._params()
        del params[name]
        self._wrote(params, f"[{name!r}]")

    def __iter__(self) -> Iterator[str]:
        return iter(self._params())

    def __len__(self) -> int:
        return len(self._params())

    def __repr__(self) -> str:
        return repr(self._params())

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Set several parameters of the current run at once."""
        params = self._params()
        params.update(*args, **kwargs)
        self._wrote(params, "update()")

    def setdefaults(self, *args: Any, **kwargs: Any) -> RunParams:
        """Set the current run's parameters that have no value yet; returns its params."""
        params = self._params()
        params.setdefaults(*args, **kwargs)
        self._wrote(params, "setdefaults()")
        return params

    def setdefault(self, name: str, default: Any = None) -> ParamValue:  # type: ignore[override]
        """The value of ``name``, set to ``default`` first if it has none."""
        params = self._params()
        value = params.setdefault(name, default)
        self._wrote(params, "setdefault()")
        return value


def create_run(
    name: str | None = None, metadata: Mapping[str, Any] | None = None, project: str | None = None
) -> RunContext:
    """Start a run, as sigopt-python's ``sigopt.create_run`` does; end it with ``run.end()``
    or use it in a ``with`` block. Parameters set on ``sigopt.params`` outside any run (at the top of
    a script) are its starting parameters, as sigopt-python's defaults, and are recorded with it.

    Args:
        name: The run's name (default: ``"<project> <date time>"``).
        metadata: Metadata to record at the start, each entry as :meth:`RunContext.log_metadata` takes it.
        project: The project (default: :func:`set_project`'s, else ``SIGOPT_PROJECT``, else the working
            directory's name).

    Raises:
        ValidationError: An argument breaks a rule (nothing is recorded).

    Example:
        >>> with sigopt.create_run(name="legacy") as run:
        ...     run.log_metric("accuracy", 0.9)
    """
    entries = checked_metadata(metadata)
    run = RunContext(name, project, params=detached_params().as_dict())
    for key, value in entries.items():
        run.log_metadata(key, value)
    return run


def checked_metadata(metadata: Any) -> dict[str, Any]:
    """A run's starting metadata, every entry checked as ``log_metadata`` checks it; None gives ``{}``."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise ValidationTypeError(f"metadata must be a mapping of keys to values, got {describe_value(metadata)}.")
    return {check_name(key, "metadata key"): to_metadata(value, f"metadata {key!r}") for key, value in metadata.items()}


def get_run(run_id: str) -> RunRecord:
    """The stored run with this id (this process's pending writes are flushed first).

    Raises:
        ValidationError: No run has this id.
    """
    session = get_session()
    session.flush()
    record = session.backend.read_run(run_id) if is_text(run_id) else None
    if record is None:
        raise ValidationError(f"There is no run with id {short_repr(run_id)} in {session.backend.url!r}.")
    return record


def archive_run(run_id: str) -> None:
    """Archive a run (SigOpt's ``deleted``): it leaves run lists; :func:`get_run` still reads it.

    Raises:
        ValidationError: No run has this id.
    """
    _set_archived(run_id, True)


def unarchive_run(run_id: str) -> None:
    """Bring an archived run back into run lists.

    Raises:
        ValidationError: No run has this id.
    """
    _set_archived(run_id, False)


def _set_archived(run_id: Any, archived: bool) -> None:
    if not isinstance(run_id, str):
        raise ValidationTypeError(f"run id must be a string, got {describe_value(run_id)}.")
    session = get_session()
    session.flush()  # a run this process just started may still be on its way to the store
    if not (is_text(run_id) and session.backend.archive_run(run_id, archived)):
        raise ValidationError(f"run id: there is no run with id {short_repr(run_id)} in {session.backend.url!r}.")


def metric_history(run_id: str, name: str) -> list[MetricPoint]:
    """Every value logged for metric ``name`` of run ``run_id``, oldest first (pending writes flushed first).

    Example:
        >>> [p.value for p in sigopt.metric_history(run.id, "loss")]
        [0.9, 0.5, 0.2]
    """
    check_name(name, "metric name")
    session = get_session()
    session.flush()
    return session.backend.metric_history(run_id, name) if is_text(run_id) else []


def list_runs(project: str | None = None, *, limit: int | None = None) -> list[RunRecord]:
    """Stored runs, newest first, optionally of one project."""
    if project is not None:
        _config.check_project(project)
    limit = check_limit(limit)
    session = get_session()
    session.flush()
    return session.backend.list_runs(project=project, limit=limit)


def flush(timeout: float | None = None) -> bool:
    """Make everything logged so far durable. Returns False if the store failed (never raises).

    Args:
        timeout: Seconds to wait for the store (default: the ``flush_timeout`` setting, 30 s unless
            configured; ``math.inf`` waits as long as it takes). While the store is known to be down
            (an earlier flush timed out on it), a flush waits only for the writer's next attempt.
    """
    session = peek_session()
    return True if session is None else session.flush(timeout)


def configure(
    *,
    db: str | None = None,
    flush_interval: float | None = None,
    flush_timeout: float | None = None,
    api_url: str | None = None,
    api_token: str | None = None,
    server_wait: float | None = None,
    spool: str | os.PathLike[str] | None = None,
) -> None:
    """Set where runs are stored, how often they are written and how long a flush waits, before the first run.

    Only the settings given change; the others keep their values.

    Args:
        db: A SQLite file path or a SQLAlchemy URL (overrides ``SIGOPT_AI_DB``; default
            ``./.sigopt_ai/sigopt_ai.db``).
        flush_interval: Seconds between background writes, at most 1 (overrides
            ``SIGOPT_AI_FLUSH_INTERVAL``; default 0.5). A ``kill -9`` loses at most this much.
        flush_timeout: Seconds :func:`flush` and ``run.end()`` wait for a store that is down or
            locked before they return False, from 0 to 86,400 (overrides ``SIGOPT_AI_FLUSH_TIMEOUT``;
            default 30). The records are kept and written when the store is back.
        api_url: A SigOpt REST server (``sigopt-ai server``) to store runs and experiments in
            instead of ``db`` (overrides ``SIGOPT_API_URL``; ``""`` goes back to the environment's).
        api_token: The server's API token (overrides ``SIGOPT_API_TOKEN``).
        server_wait: Seconds an experiment call or a read waits for a server that is unreachable
            before it raises :class:`~sigopt_ai.TransportError` (overrides ``SIGOPT_AI_SERVER_WAIT``;
            default ``math.inf``: wait until it is back).
        spool: The journal file that keeps runs' records while the server is unreachable
            (overrides ``SIGOPT_AI_SPOOL``; default ``./.sigopt_ai/spool.db``).

    Raises:
        UsageError: A run is active; settings cannot change under it.
        ConfigError: A setting is out of range or malformed (the message names it).
    """
    session = peek_session()
    if session is not None and session.active:
        raise UsageError("configure() cannot change the store while runs are active; end them first.")
    if flush_interval is not None:
        _config.check_interval(flush_interval, "flush_interval")
    if flush_timeout is not None:
        _config.check_flush_timeout(flush_timeout, "flush_timeout")
    if api_url:
        api_url = _config.check_api_url(api_url, "api_url")
    if api_token is not None:
        _config.check_api_token(api_token, "api_token")
    if server_wait is not None:
        _config.check_server_wait(server_wait, "server_wait")
    changes = {
        "db": db,
        "flush_interval": flush_interval,
        "flush_timeout": flush_timeout,
        "api_url": api_url,
        "api_token": api_token,
        "server_wait": server_wait,
        "spool": None if spool is None else _config.check_spool(spool, "spool"),
    }
    reset_session()
    _config.update(**{name: value for name, value in changes.items() if value is not None})
