"""A run: the context that records one training run, and its lifecycle.

Logging methods validate on the caller's thread, queue a write and return; the writer thread of
:mod:`sigopt_ai.runs._session` does the I/O. A run is entered with ``with``, opened by ``@sigopt.run`` on
each call, or created with :func:`create_run` and ended with :meth:`RunContext.end`.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, overload

from sigopt_ai import _config
from sigopt_ai._checks import (
    MAX_TEXT_LENGTH,
    check_name,
    check_run_name,
    check_stddev,
    check_step,
    check_text,
    describe_value,
    model_type,
    short_repr,
    to_metadata,
    to_metrics,
    to_number,
    to_text,
)
from sigopt_ai._exceptions import Terminated, UsageError, ValidationTypeError
from sigopt_ai._failures import FailureInfo, FailureKind, describe
from sigopt_ai._models import LOST_AFTER_KEY, RunRecord, RunState
from sigopt_ai._types import MetricValue, ParamValue
from sigopt_ai.runs._context import ContextStack
from sigopt_ai.runs._images import Payload, file_payload, image_payload
from sigopt_ai.runs._params import RunParams
from sigopt_ai.runs._session import Session, get_session, peek_session
from sigopt_ai.runs._signals import install_sigterm_handler
from sigopt_ai.runs._sysinfo import rss_bytes, static_facts

logger = logging.getLogger("sigopt_ai")

_ACTIVE = RunState.ACTIVE
_time = time.time


def new_run_id() -> str:
    """A new run id: 16 hex digits."""
    return uuid.uuid4().hex[:16]


@dataclass(frozen=True, slots=True)
class LoopBinding:
    """How an experiment loop owns a run it opened.

    Attributes:
        metric: The metric a decorated function's numeric return value is logged as.
        on_end: Called as the run ends, before its end is recorded: turns the run into an
            observation or gives its suggestion back. It may return a failure for the run to
            record (a run that completed without the experiment's metric).
        absorbs: Which failures leaving a ``with run:`` block the loop absorbs (it goes on with the
            next suggestion) rather than lets propagate.
    """

    metric: str
    on_end: Callable[[RunContext], FailureInfo | None]
    absorbs: Callable[[FailureInfo], bool]


class RunContext:
    """One training run being recorded.

    Use it as a context manager (``with sigopt.run() as run:``); an exception leaving the block is
    classified, recorded and re-raised. Logging methods raise :class:`~sigopt_ai.ValidationError`
    for bad input and :class:`~sigopt_ai.UsageError` once the run has ended; nothing else, except
    :class:`~sigopt_ai.Terminated` once the process received SIGTERM while the run was open outside
    the main thread's ``with`` blocks (another thread or task), so that its training stops.

    One run may be entered from several threads or tasks; each leaves it in its own context.

    Args:
        name: A display name (default: ``"<project> <date time>"``, as SigOpt names runs).
        project: The project (default: ``SIGOPT_PROJECT``, else the working directory's name).
        params: Parameters to record at the start.
        fixed_params: Parameters suggested by an experiment; read-only.
        experiment: The experiment id when an experiment loop owns the run.
        suggestion: The suggestion id when an experiment loop owns the run.
        binding: How the experiment loop that opened the run owns it.
        attach: Record into run ``run_id`` that another process started and ends (a process that
            ``sigopt-ai run`` launched): no start is recorded, and :meth:`end` makes the records
            durable without ending the run.
        guest: With ``attach``, record as a helper process of the one that owns the run's outcome:
            metrics and parameters only, neither a failure nor ``sys_metadata``.
    """

    def __init__(
        self,
        name: str | None = None,
        project: str | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        fixed_params: Mapping[str, ParamValue] | None = None,
        experiment: str | None = None,
        suggestion: str | None = None,
        session: Session | None = None,
        run_id: str | None = None,
        binding: LoopBinding | None = None,
        attach: bool = False,
        guest: bool = False,
    ) -> None:
        self._project = _config.check_project(project) if project is not None else _config.default_project()
        self._name = check_run_name(name) or f"{self._project} {time.strftime('%Y-%m-%d %H:%M:%S')}"
        self._id = run_id or new_run_id()
        self._session = session or get_session()
        self._submit = self._session.submit
        # The logging methods' one check: active until the run ends, or until SIGTERM interrupts it.
        self._state = _ACTIVE
        self._ended = False
        self._interrupted: str | None = None  # why, once SIGTERM interrupted the run
        self._failure: FailureInfo | None = None
        self._diverged: str | None = None
        self._steps = itertools.count()
        self._peak_rss = rss_bytes()
        self._started = _time()
        self._experiment = experiment
        self._suggestion = suggestion
        self._end_lock = threading.Lock()
        self._claimable = binding is not None
        self._binding = binding
        self._attached = attach or guest
        self._guest = guest
        self.params = RunParams(self._record_params, fixed_params)
        lease = self._lease()  # before the start: a bad setting must not leave a run behind
        start = ("start", self._id, self._project, self._name, self._started, experiment, suggestion)
        if not self._attached:
            self._submit(start)
        if not guest:
            self._submit(("fields", self._id, "sys_metadata", {**static_facts(), **lease}))
        if fixed_params and not self._attached:
            self._record_params(dict(fixed_params))
        if params:
            self.params.update(params)
        self._session.add_run(self, start)
        install_sigterm_handler(entered_runs)  # a run from create_run() is never entered
        _watch_exit()

    def _lease(self) -> dict[str, float]:
        """Heartbeat often enough that a reader does not take this live run for a lost one."""
        lease = _config.lost_after()
        self._session.heartbeat_interval = min(self._session.heartbeat_interval, lease / 4)
        return {LOST_AFTER_KEY: lease}

    # -- identity -----------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The run's id."""
        return self._id

    @property
    def name(self) -> str:
        """The run's name."""
        return self._name

    @property
    def project(self) -> str:
        """The run's project."""
        return self._project

    @property
    def state(self) -> RunState:
        """``active`` until the run ends, then ``completed`` or ``failed`` (``failed`` at once when
        SIGTERM interrupts a run open outside the main thread's ``with`` blocks)."""
        return self._state

    @property
    def failure(self) -> FailureInfo | None:
        """Why the run failed, once it has."""
        return self._failure

    @property
    def experiment(self) -> str | None:
        """The id of the experiment that owns this run, if any."""
        return self._experiment

    @property
    def suggestion(self) -> str | None:
        """The id of the suggestion whose parameters this run evaluates, if any."""
        return self._suggestion

    def __repr__(self) -> str:
        return f"<RunContext {self._id} {self._name!r} {self._state.value}>"

    # -- logging (the hot path) -----------------------------------------------------------------

    def _finished(self, what: str) -> BaseException:
        if self._interrupted is not None:
            # SIGTERM arrived while this run was open in another thread or task: stop its training.
            return Terminated(self._interrupted)
        return UsageError(f"Run {self._id!r} has already finished and cannot accept {what}.")

    def log_metric(self, name: str, value: MetricValue, stddev: MetricValue | None = None) -> None:
        """Record a metric value (the last one logged is the run's value; all are kept as history).

        A NaN or infinite value never raises: it is stored and fails the run as ``diverged`` when
        it ends.

        Args:
            name: The metric's name.
            value: A number (int, float, or a numpy/torch scalar).
            stddev: The value's standard deviation, if known.

        Raises:
            ValidationError: ``name``, ``value`` or ``stddev`` is invalid.
            UsageError: The run has ended.
        """
        if self._state is not _ACTIVE:
            raise self._finished(f"metric {short_repr(name)}")
        check_name(name, "metric name")
        if type(value) is not float:
            value = to_number(value, f"metric {name!r}")
        if value - value:  # non-zero only for NaN and +-inf
            self._diverged = self._diverged or f"metric {name!r} was {value}"
        if stddev is not None:
            stddev = check_stddev(stddev, f"stddev of metric {name!r}")
        self._submit(("metric", self._id, name, value, stddev, _time()))

    def log_metrics(self, metrics: Mapping[str, MetricValue] | None = None, /, **kwargs: MetricValue) -> None:
        """Record several metrics: ``log_metrics({"loss": 0.1})`` or ``log_metrics(loss=0.1)``."""
        for name, value in to_metrics(metrics, kwargs).items():  # all checked before any is logged
            self.log_metric(name, value)

    def log_checkpoint(self, values: Mapping[str, MetricValue], step: int | None = None) -> None:
        """Record metric values at a training step (``None`` values are dropped).

        A NaN or infinite value never raises: it is stored and fails the run as ``diverged`` when it
        ends, as with :meth:`log_metric`.

        Args:
            values: Metric name to value.
            step: The step, 0 to 2**63 - 1 (default: one more than the previous checkpoint's).

        Raises:
            ValidationError: A name, value or ``step`` is invalid; nothing is recorded.
            UsageError: The run has ended.
        """
        if self._state is not _ACTIVE:
            raise self._finished("a checkpoint")
        if not isinstance(values, Mapping):
            raise ValidationTypeError(
                f"checkpoint values must be a mapping of metric names to numbers, got {describe_value(values)}."
            )
        clean: dict[str, float] = {}
        for name, value in values.items():
            if value is not None:
                check_name(name, "checkpoint metric name")
                clean[name] = to_number(value, f"checkpoint metric {name!r}")
        step = next(self._steps) if step is None else check_step(step)
        for name, number in clean.items():
            if number - number:  # NaN or +-inf: stored, and the run is diverged, as for log_metric
                self._diverged = self._diverged or f"checkpoint metric {name!r} was {number}"
        self._submit(("checkpoint", self._id, step, clean, _time()))

    def log_metadata(self, key: str, value: Any) -> None:
        """Record a metadata entry, as SigOpt stores it.

        Ints within 64 bits, finite floats, bools, None and strings are stored as they are; anything
        else (a dict, NaN, a larger int) as its ``str``. A string must be valid Unicode text of at
        most 500 characters (SigOpt's limit), the key a name of at most 100.

        Raises:
            ValidationError: The key or the value breaks a rule; nothing is recorded.
            UsageError: The run has ended.
        """
        if self._state is not _ACTIVE:
            raise self._finished(f"metadata {short_repr(key)}")
        check_name(key, "metadata key")
        self._submit(("fields", self._id, "metadata", {key: to_metadata(value, f"metadata {key!r}")}))

    def log_dataset(self, name: str) -> None:
        """Record that the run used the dataset ``name`` (1 to 100 printable characters)."""
        if self._state is not _ACTIVE:
            raise self._finished(f"dataset {short_repr(name)}")
        check_name(name, "dataset name")
        self._submit(("fields", self._id, "datasets", {name: {}}))

    def log_model(self, type: str | None = None, *, type_: str | None = None) -> None:
        """Record the model's type (for example ``"xgboost"``): its ``str``, at most 500 characters.
        ``type_`` is sigopt-python's name for it."""
        if self._state is not _ACTIVE:
            raise self._finished("a model")
        type = model_type(type, type_)
        model = None if type is None else to_text(type, "model type", MAX_TEXT_LENGTH)
        self._submit(("fields", self._id, "model", {"type": model}))

    def log_image(self, image: Any, name: str | None = None) -> str | None:
        """Store an image with the run, as sigopt-python's ``log_image`` does.

        The image is encoded now, on the calling thread, so that changing it afterwards changes
        nothing stored. An object of another kind, or a numpy array while Pillow is missing, is
        skipped with a :class:`RuntimeWarning` (as sigopt-python skips it).

        Args:
            image: A path to an image file (APNG, BMP, GIF, JPEG, PNG, SVG, WebP or ICO, by its
                extension), a ``PIL.Image.Image`` (stored as PNG), a ``matplotlib.figure.Figure``
                (SVG) or a numpy array of shape (height, width) or (height, width, 1, 3 or 4)
                (values clipped to 0-255, stored as PNG).
            name: The name to store it under (default: the file's name, else ``image.png``,
                ``figure.svg`` or ``array.png``).

        Returns:
            The stored file's id (see :func:`sigopt_ai.read_file`), or None when it was skipped.

        Raises:
            ValidationError: ``name`` breaks the naming rule, the path is not a file, the file is
                over 4 MiB, or the array cannot make an image.
            UsageError: The run has ended.
        """
        if self._state is not _ACTIVE:
            raise self._finished("an image")
        payload = image_payload(image, name)
        return None if payload is None else self._store_file(payload)

    def log_file(
        self,
        file: str | os.PathLike[str] | bytes | bytearray | memoryview,
        *,
        name: str | None = None,
        content_type: str | None = None,
    ) -> str:
        """Store a file with the run: the contents of a path, or bytes (read now, at most 4 MiB).

        Args:
            file: A path, or the contents as ``bytes``, ``bytearray`` or ``memoryview``.
            name: The name to store it under (default: the path's file name; ``file`` for bytes).
            content_type: Its MIME type (default: guessed from the name's extension, else the
                path's, else ``application/octet-stream``).

        Returns:
            The stored file's id (see :func:`sigopt_ai.read_file`).

        Raises:
            ValidationError: The path is not a readable file, the contents are over 4 MiB, or
                ``name`` or ``content_type`` is invalid.
            UsageError: The run has ended.
        """
        if self._state is not _ACTIVE:
            raise self._finished(f"file {short_repr(name or file)}")
        return self._store_file(file_payload(file, name, content_type))

    def _store_file(self, payload: Payload) -> str:
        file_id = uuid.uuid4().hex[:16]
        op = ("file", self._id, file_id, payload.name, payload.content_type, payload.data, _time())
        self._session.syncer.submit_sized(op, len(payload.data))
        return file_id

    def _record_params(self, changes: dict[str, ParamValue]) -> None:
        if self._state is not _ACTIVE:
            raise self._finished("parameters")
        self._submit(("fields", self._id, "params", changes))

    # -- failure and end ------------------------------------------------------------------------

    def log_failure(self, reason: str | None = None) -> None:
        """Mark the run failed because of its assignment (kind ``reported``).

        In an experiment the suggestion becomes a failed observation; the run keeps recording until
        it ends, and a clean exit does not undo the failure.

        Raises:
            ValidationError: ``reason`` is not a str or None, or holds a lone surrogate.
            UsageError: The run has ended.
        """
        if self._state is not _ACTIVE:
            raise self._finished("a failure")
        if reason is not None:
            if not isinstance(reason, str):
                raise ValidationTypeError(f"reason must be a str or None, got {describe_value(reason)}.")
            check_text(reason, "reason")
        self._set_failure(FailureInfo(FailureKind.REPORTED, message=reason or ""))

    def adopt(self, record: RunRecord, fallback: FailureInfo | None = None, *, peak_rss: int = 0) -> None:
        """Take what another process recorded into this run (the child ``sigopt-ai run`` launched): its
        failure, a metric that diverged, and its peak resident set, so that :meth:`end` and the
        experiment loop judge the run as if it had run here.

        Args:
            record: The run as stored, after the other process exited.
            fallback: The failure to record when ``record`` holds none (what its exit status says).
            peak_rss: The peak resident set of its processes, as sampled from outside.
        """
        failure = record.failure or fallback
        if failure is not None:
            self._set_failure(failure)
        for name, value in record.metrics.items():
            if value - value:  # NaN or +-inf
                self._diverged = self._diverged or f"metric {name!r} was {value}"
        peak = record.sys_metadata.get("peak_rss_bytes")
        self._peak_rss = max(self._peak_rss, peak if isinstance(peak, int) else 0, peak_rss)

    def _set_failure(self, failure: FailureInfo) -> None:
        if self._failure is None:
            self._failure = failure
            if not self._guest:  # the owner's outcome is the run's
                self._submit(("failure", self._id, failure.to_json(), _time()))

    def fail_with(self, exc: BaseException) -> None:
        """Record ``exc`` as the run's failure, classified as when it leaves the run's ``with`` block,
        unless the run has ended or already failed (the process's exit hooks call this with an
        uncaught exception)."""
        if not self._ended:
            self._set_failure(describe(exc))

    def interrupt(self, failure: FailureInfo, *, stop: bool) -> None:
        """Fail the run as interrupted (the SIGTERM handler calls this while the run is open).

        Args:
            failure: The failure to record.
            stop: Make the run's next logging call, in whichever thread or task runs it, raise
                :class:`~sigopt_ai.Terminated`.
        """
        if not self._end_lock.acquire(blocking=False):
            return  # the run is ending at this moment
        try:
            if self._state is _ACTIVE:
                self._set_failure(failure)
                if stop:
                    self._interrupted = failure.message
                    self._state = RunState.FAILED
        finally:
            self._end_lock.release()

    def end(self) -> RunState:
        """End the run and make everything it recorded durable (idempotent).

        Returns:
            The final state: ``failed`` if a failure was recorded or a metric diverged, else
            ``completed``.
        """
        with self._end_lock:
            if self._ended:
                return self._state
            if self._failure is None and self._diverged is not None:
                self._set_failure(FailureInfo(FailureKind.DIVERGED, type=None, message=self._diverged))
            self.sample_memory()
            if not self._guest:
                self._submit(("fields", self._id, "sys_metadata", self._end_facts()))
            if self._binding is not None:
                self._run_end_hook(self._binding)
            self._state = RunState.FAILED if self._failure else RunState.COMPLETED
            self._ended = True
            if not self._attached:  # an attached run is ended by the process that started it
                self._submit(("end", self._id, self._state.value, _time()))
            self._session.remove_run(self._id)
        if not self._session.flush():
            logger.warning("sigopt_ai: run %s is not durable yet; the writer keeps retrying", self._id)
        self._session.report_undelivered()
        return self._state

    def _run_end_hook(self, binding: LoopBinding) -> None:
        self._session.flush()
        try:
            failure = binding.on_end(self)
            if failure is not None:
                self._set_failure(failure)
        except Warning:
            raise  # a warning turned into an error by the user's filters is theirs to see
        except Exception:  # the store failing must not raise into training code; the lease expires
            logger.warning("sigopt_ai: recording the result of run %s failed", self._id, exc_info=True)

    def _end_facts(self) -> dict[str, Any]:
        return {"peak_rss_bytes": self._peak_rss, "duration_seconds": _time() - self._started}

    def sample_memory(self) -> None:
        """Note the process's resident set now, for the run's peak (the writer calls this each interval)."""
        self._peak_rss = max(self._peak_rss, rss_bytes())

    # -- context manager ------------------------------------------------------------------------

    def __enter__(self) -> RunContext:
        if self._interrupted is not None:
            raise Terminated(self._interrupted)
        if self._state is not _ACTIVE:
            raise UsageError(f"Run {self._id!r} has already finished and cannot be entered again.")
        _entered.push(self)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        try:
            if exc is not None and not _is_clean_exit(exc):
                self.fail_with(exc)
            self.end()
        finally:
            _entered.pop(self)
        # Only a run owned by an experiment loop absorbs an exception (an OOM, say), so that the
        # loop goes on with the next suggestion; a plain run always lets it propagate. A
        # BaseException that is not an Exception (Ctrl-C, SIGTERM, sys.exit, a generator being
        # closed) always propagates: absorbing it would keep a process alive that was told to stop.
        if not isinstance(exc, Exception) or self._binding is None or self._failure is None:
            return False
        return self._binding.absorbs(self._failure)

    async def __aenter__(self) -> RunContext:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        return self.__exit__(exc_type, exc, tb)


_entered: ContextStack[RunContext] = ContextStack("sigopt_ai_entered_runs")


def entered_runs() -> tuple[RunContext, ...]:
    """The runs entered in this thread or task, outermost first."""
    return _entered.entered()


@overload
def current_run(silent: Literal[False] = False) -> RunContext: ...
@overload
def current_run(silent: bool) -> RunContext | None: ...
def current_run(silent: bool = False) -> RunContext | None:
    """The run active in this thread or task: the last one it entered and has not left.

    Args:
        silent: Return None instead of raising when there is no active run.

    Raises:
        UsageError: There is no active run and ``silent`` is false.

    Example:
        >>> with sigopt.run(name="demo"):
        ...     sigopt.current_run().log_metric("loss", 0.1)
    """
    run = _entered.top() or _launched_run()
    if run is None and not silent:
        raise UsageError(
            "There is no active sigopt_ai run. Start one with `with sigopt.run():` or decorate the "
            "training function with `@sigopt.run`."
        )
    return run


def _no_launched_run() -> RunContext | None:
    return None


_launched_run: Callable[[], RunContext | None] = _no_launched_run


def provide_launched_run(provider: Callable[[], RunContext | None]) -> None:
    """Make :func:`current_run` fall back to ``provider()``: the run of a process that ``sigopt-ai
    run`` launched (:mod:`sigopt_ai.runs._launched` registers itself here; it imports this module)."""
    global _launched_run
    _launched_run = provider


def abandon(run: RunContext) -> None:
    """End a run its experiment loop was left with: interrupted, so its suggestion is served again."""
    if not run._ended:
        run._set_failure(FailureInfo(FailureKind.INTERRUPTED, message="The experiment loop was left."))
        run.end()


def claim_for_function(run: RunContext) -> LoopBinding | None:
    """The binding of an experiment loop's run that no decorated function has recorded into yet, once:
    that function records into the loop's run instead of opening its own."""
    claimable, run._claimable = run._claimable, False
    return run._binding if claimable else None


# At import rather than at the first run, so that a process whose runs all live in other threads
# (where a handler cannot be installed) is covered too.
install_sigterm_handler(entered_runs)

_watching_exit = False


def _watch_exit() -> None:
    """Register :func:`_fail_runs_left_open` once, after the session registered its exit hook (a
    session exists by now), so that it runs before that hook ends the runs still open."""
    global _watching_exit
    if not _watching_exit:
        _watching_exit = True
        atexit.register(_fail_runs_left_open)


def _fail_runs_left_open() -> None:
    """A process dying of an uncaught exception fails the runs it leaves open with that exception
    (instead of ending them ``completed``), even where another ``sys.excepthook`` replaced ours."""
    uncaught = getattr(sys, "last_value", None)  # set for the exception that ended the main module
    session = peek_session()
    if uncaught is None or session is None or hasattr(sys, "ps1"):  # an interactive session's is stale
        return
    for run in list(session.active.values()):
        run.fail_with(uncaught)


def _is_clean_exit(exc: BaseException) -> bool:
    """``sys.exit(0)``, or closing a generator suspended inside the run, is a normal end, not a failure."""
    return isinstance(exc, GeneratorExit) or isinstance(exc, SystemExit) and exc.code in (0, None)
