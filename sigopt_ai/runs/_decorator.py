"""``sigopt.run``: one name that is a decorator (bare or with options) and a context manager."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar, overload

import wrapt

from sigopt_ai import _config
from sigopt_ai._checks import MAX_NAME_LENGTH, check_name, check_run_name, is_param, is_text
from sigopt_ai.runs._run import RunContext, claim_for_function, current_run, entered_runs

logger = logging.getLogger("sigopt_ai")

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_METRIC = "value"
"""The metric a decorated function's numeric return value is logged as when no ``metric`` is given."""


class RunSpec:
    """The options of ``sigopt.run(...)``: a decorator and a (sync or async) context manager.

    Each decorated *call*, and each ``with`` block, opens a fresh :class:`RunContext`.
    """

    def __init__(self, *, name: str | None = None, project: str | None = None, metric: str | None = None) -> None:
        if project is not None:
            _config.check_project(project)
        if metric is not None:
            check_name(metric, "metric")
        self.name = check_run_name(name)
        self.project = project
        self.metric = metric
        # The runs entered through this spec and not left yet, from any thread or task.
        self._open: list[RunContext] = []

    # -- context manager ------------------------------------------------------------------------

    def __enter__(self) -> RunContext:
        run = RunContext(self.name, self.project)
        run.__enter__()
        self._open.append(run)
        return run

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        run = self._run_to_leave()
        if run is not None:
            run.__exit__(exc_type, exc, tb)  # a plain run never absorbs an exception

    def _run_to_leave(self) -> RunContext | None:
        """The run this ``with`` block entered: the innermost of this spec's runs in this thread or task.

        Threads and tasks share the spec, so the spec cannot simply keep the last run it opened.
        """
        mine = [run for run in reversed(entered_runs()) if run in self._open]
        # A generator or coroutine finished in another context than it began: its run is the
        # spec's only open run, or cannot be told apart (it then ends at exit).
        candidates = mine or (self._open if len(self._open) == 1 else [])
        if not candidates:
            return None
        try:
            self._open.remove(candidates[0])
        except ValueError:  # another context left it at the same moment
            return None
        return candidates[0]

    async def __aenter__(self) -> RunContext:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    # -- decorator ------------------------------------------------------------------------------

    def __call__(self, func: F) -> F:
        if not callable(func):
            raise TypeError(f"sigopt.run(...) decorates a callable, got {func!r}.")
        spec = self

        @wrapt.decorator
        def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if _config.disabled():
                return wrapped(*args, **kwargs)
            params = _bound_params(wrapped, args, kwargs)
            if inspect.iscoroutinefunction(wrapped):
                return spec._call_async(wrapped, args, kwargs, params)
            with spec._open_run(wrapped, params) as (run, metric):
                result = wrapped(*args, **kwargs)
                log_result(run, metric, result)
                return result

        return wrapper(func)  # type: ignore[return-value]

    async def _call_async(
        self,
        wrapped: Callable[..., Awaitable[Any]],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        params: dict[str, Any],
    ) -> Any:
        with self._open_run(wrapped, params) as (run, metric):
            result = await wrapped(*args, **kwargs)
            log_result(run, metric, result)
            return result

    def _open_run(self, wrapped: Callable[..., Any], params: dict[str, Any]) -> _OpenRun:
        outer = current_run(silent=True)
        binding = None if outer is None else claim_for_function(outer)
        if outer is not None and binding is not None:
            # An experiment loop opened this run for the function: record into it, do not nest.
            return _OpenRun(outer, self.metric or binding.metric, params, owned=False)
        return _OpenRun(
            RunContext(self.name or _default_name(wrapped), self.project),
            self.metric or DEFAULT_METRIC,
            params,
            owned=True,
        )


def _default_name(func: Callable[..., Any]) -> str | None:
    """The function's name as the run's, cut to the run-name limit: a name nobody passed cannot be refused."""
    name = getattr(func, "__name__", None)
    return name[:MAX_NAME_LENGTH] if isinstance(name, str) and name and is_text(name) else None


class _OpenRun:
    """Enters a run for one decorated call (or records into an experiment's run without ending it)."""

    def __init__(self, run: RunContext, metric: str, params: dict[str, Any], *, owned: bool) -> None:
        self.run, self.metric, self.params, self.owned = run, metric, params, owned

    def __enter__(self) -> tuple[RunContext, str]:
        if self.owned:
            self.run.__enter__()
        _record_params(self.run, self.params)
        return self.run, self.metric

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.owned:
            self.run.__exit__(exc_type, exc, tb)


def _bound_params(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments by parameter name, defaults included (``**kwargs`` are flattened)."""
    try:
        bound = inspect.signature(func).bind(*args, **kwargs)
    except (TypeError, ValueError):
        return {}  # the call itself will raise the TypeError the user expects
    bound.apply_defaults()
    params: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        kind = bound.signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            params.update(value)
        elif kind is not inspect.Parameter.VAR_POSITIONAL:
            params[name] = value
    return params


def _record_params(run: RunContext, params: Mapping[str, Any]) -> None:
    """Record the scalar arguments; others (a dataset, a model object) are not parameters."""
    scalars = {k: v for k, v in params.items() if is_param(k, v) and not run.params.is_fixed(k)}
    run.params.update(scalars)


def log_result(run: RunContext, metric: str, result: Any) -> None:
    """Log what a training function returned: a number as ``metric``, a mapping as one metric per number."""
    if isinstance(result, Mapping):
        for name, value in result.items():
            if isinstance(name, str) and _is_number(value):
                run.log_metric(name, value)
    elif _is_number(result):
        run.log_metric(metric, result)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or isinstance(value, (str, bytes)):
        return False
    if isinstance(value, (int, float)):
        return True
    return getattr(value, "ndim", None) == 0  # numpy/torch scalars; an array is not a metric


@overload
def run(func: F, /) -> F: ...
@overload
def run(*, name: str | None = None, project: str | None = None, metric: str | None = None) -> RunSpec: ...
def run(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    project: str | None = None,
    metric: str | None = None,
) -> Any:
    """Record a training run: ``@sigopt.run``, ``@sigopt.run(...)`` or ``with sigopt.run(...) as run:``.

    As a decorator, each call opens a run, records the bound arguments (defaults included) as
    parameters and a numeric return value as the metric ``metric`` (a dict return: one metric per
    numeric item); the return value is passed through unchanged. Works on functions, methods and
    ``async def`` functions. ``SIGOPT_AI_DISABLED=1`` makes decorated calls pass straight through.

    Args:
        func: The function, when used as a bare decorator.
        name: The run's name (default: the function's name, or ``"<project> <date time>"``).
        project: The project (default: ``SIGOPT_PROJECT``, else the working directory's name).
        metric: The metric name for a numeric return value (default ``"value"``, or the
            experiment's optimized metric inside an experiment loop).

    Returns:
        The decorated function, or a :class:`RunSpec` to decorate with or enter.

    Example:
        >>> @sigopt.run(metric="accuracy")
        ... def train(lr=0.01, epochs=3):
        ...     return 0.93
        >>> with sigopt.run(name="manual") as run:
        ...     run.log_metric("accuracy", 0.91)
    """
    spec = RunSpec(name=name, project=project, metric=metric)
    return spec if func is None else spec(func)
