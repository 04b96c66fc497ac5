"""The experiment loop's progress line: runs done of budget, failures by kind, best value so far."""

from __future__ import annotations

from typing import Protocol

from rich.console import Console

from sigopt_ai._best import meets_thresholds
from sigopt_ai._definition import ExperimentDefinition
from sigopt_ai._models import Observation, Progress
from sigopt_ai.runs._run import RunContext


class _Source(Protocol):
    """What the line reads: an experiment's name, definition, progress and new observations."""

    @property
    def name(self) -> str: ...

    definition: ExperimentDefinition

    @property
    def progress(self) -> Progress: ...

    def observations(self, *, after: str | None = None) -> list[Observation]: ...


class ProgressLine:
    """Prints one rich line per finished run (to stderr), or nothing when disabled.

    Each line reads the experiment's counts (one aggregate query) and only the observations made
    since the previous line, so a line costs the same at the thousandth run as at the first.
    """

    def __init__(self, experiment: _Source, *, enabled: bool = True) -> None:
        self._experiment = experiment
        self._console = Console(stderr=True, highlight=False) if enabled else None
        metrics = experiment.definition.optimized_metrics
        self._metric = metrics[0] if metrics else None
        self._best: float | None = None
        self._after: str | None = None

    def update(self, run: RunContext) -> None:
        """Report the run that just finished."""
        if self._console is not None:
            self._console.print(self.render(run), soft_wrap=True)

    def render(self, run: RunContext | None = None) -> str:
        """The line as rich markup."""
        exp = self._experiment
        progress = exp.progress
        done = f"{progress.finished}/{progress.budget}" if progress.budget is not None else str(progress.finished)
        parts = [f"[bold]{exp.name}[/] {done} done"]
        if progress.failed:
            kinds = ", ".join(f"{k} {n}" for k, n in sorted(progress.failed_by_kind.items()))
            parts.append(f"[red]{progress.failed} failed[/] ({kinds})")
        if progress.active:
            parts.append(f"{progress.active} active")
        if progress.extra:  # results of workers declared lost that finished after all
            parts.append(f"{progress.extra} extra")
        best = self._best_value()
        if best is not None and self._metric is not None:
            parts.append(f"best {self._metric.name} [green]{best:.6g}[/]")
        if run is not None and run.failure is not None:
            parts.append(f"last run {run.failure.kind.value}: {run.failure.type or ''} {run.failure.message[:60]}")
        return " · ".join(parts)

    def _best_value(self) -> float | None:
        """The best value of the first optimized metric among valid observations: the first metric's
        value of SigOpt's best assignment (for two metrics, the Pareto front's best in that metric)."""
        metric = self._metric
        new = self._experiment.observations(after=self._after)
        if new:
            self._after = new[-1].id
        if metric is None:
            return None
        definition = self._experiment.definition
        for o in new:
            value = o.values.get(metric.name)
            if o.failed or value is None or value != value or not meets_thresholds(definition, o.values):
                continue
            if self._best is None or (value > self._best if metric.objective == "maximize" else value < self._best):
                self._best = value
        return self._best

    def finish(self) -> None:
        """Print the final line."""
        if self._console is not None:
            self._console.print(self.render() + " · [bold]finished[/]", soft_wrap=True)
