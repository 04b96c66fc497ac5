"""The experiment loop's progress line: runs done of budget, failures by kind, best value so far."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sigopt_ai.experiments._experiment import Experiment
    from sigopt_ai.runs._run import RunContext


class ProgressLine:
    """Prints one rich line per finished run (to stderr), or nothing when disabled."""

    def __init__(self, experiment: Experiment, *, enabled: bool = True) -> None:
        self._experiment = experiment
        self._console = None
        if enabled:
            from rich.console import Console

            self._console = Console(stderr=True, highlight=False)

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
        best = exp.best_observations()
        if best and exp.definition.optimized_metrics:
            metric = exp.definition.optimized_metrics[0].name
            parts.append(f"best {metric} [green]{best[0].values[metric]:.6g}[/]")
        if run is not None and run.failure is not None:
            parts.append(f"last run {run.failure.kind.value}: {run.failure.type or ''} {run.failure.message[:60]}")
        return " · ".join(parts)

    def finish(self) -> None:
        """Print the final line."""
        if self._console is not None:
            self._console.print(self.render() + " · [bold]finished[/]", soft_wrap=True)
