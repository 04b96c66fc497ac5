"""The data the browser tests look at, made by real experiment loops through the public SDK.

Run as ``python -m tests.dashboard._fill`` in a fresh interpreter (``SIGOPT_AI_DB`` for the embedded store, or
``SIGOPT_API_URL``/``SIGOPT_API_TOKEN`` for a server): it fills the store and prints the ids as one JSON line.
A fresh interpreter keeps the SDK's process-wide configuration (and its writer thread) out of the test process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sigopt_ai as sigopt

__all__ = [
    "CLI_PROJECT",
    "CLI_STDERR",
    "CLI_STDOUT",
    "MAIN_BUDGET",
    "PARETO_BUDGET",
    "SCRIPT_NAME",
    "cli_run",
    "describe",
    "fill",
    "main_experiment",
    "pareto_experiment",
    "run_facts",
    "script_experiment",
]

MAIN_BUDGET = 40
"""Small enough for a fast loop, big enough for every failure kind and a P(success) model."""
PARETO_BUDGET = 60
"""More runs than the runs table shows on a page: its pagination is exercised on this experiment."""
SCRIPT_NAME = "<script>alert(1)</script>"
"""An experiment name that runs if a page ever writes it as HTML."""


def _number(value: object) -> float:
    assert isinstance(value, (int, float)), value
    return float(value)


def _objective(run: sigopt.RunContext) -> None:
    """A cheap loss over 4 parameters whose corners really fail: too wide runs out of memory, too large a learning
    rate diverges (a NaN loss, or a FloatingPointError), too much dropout is refused as an invalid assignment."""
    lr, width = _number(run.params.lr), int(_number(run.params.width))
    dropout, activation = _number(run.params.dropout), str(run.params.activation)
    run.log_metadata("activation_note", f"{activation} at width {width}")
    if width > 400:
        raise MemoryError(f"cannot allocate a {width}-wide layer")
    if lr > 0.3:
        if width % 2:
            raise FloatingPointError("overflow in the gradient")
        run.log_checkpoint({"loss": 1.0}, step=0)
        run.log_metric("loss", math.nan)
        return
    if dropout > 0.75:
        raise sigopt.InvalidAssignment(f"dropout {dropout:.2f} leaves nothing to train")
    loss = (
        (math.log10(lr) + 2.5) ** 2 + ((width - 128) / 256) ** 2 + dropout + (0.1 if activation == "tanh" else 0) + 0.05
    )
    for step in range(3):  # a short curve for the run page's checkpoint plot
        run.log_checkpoint({"loss": loss * (3 - step), "accuracy": 1 / (1 + loss * (3 - step))}, step=step)
    run.log_metric("loss", loss)


def main_experiment(project: str = "dash") -> str:
    """A Bayesian experiment of budget :data:`MAIN_BUDGET` run to its end, with oom, diverged and
    invalid_assignment failures; returns its id."""
    exp = sigopt.create_experiment(
        name="dash-main",
        project=project,
        parameters=[
            dict(name="lr", type="double", bounds=dict(min=1e-4, max=1.0), transformation="log"),
            dict(name="width", type="int", bounds=dict(min=16, max=512)),
            dict(name="dropout", type="double", bounds=dict(min=0.0, max=0.9)),
            dict(name="activation", type="categorical", categorical_values=["relu", "tanh"]),
        ],
        metrics=[dict(name="loss", objective="minimize")],
        budget=MAIN_BUDGET,
        seed=19,
    )
    for run in exp.loop(progress=False):
        with run:
            _objective(run)
    return str(exp.id)


def pareto_experiment(project: str = "dash") -> str:
    """Two optimized metrics (a Pareto front) and a constraint metric with a threshold, random suggestions (fast);
    returns its id."""
    exp = sigopt.create_experiment(
        name="dash-pareto",
        project=project,
        parameters=[
            dict(name="a", type="double", bounds=dict(min=0.0, max=1.0)),
            dict(name="b", type="double", bounds=dict(min=0.0, max=1.0)),
        ],
        metrics=[
            dict(name="accuracy", objective="maximize"),
            dict(name="latency", objective="minimize"),
            dict(name="size", objective="minimize", strategy="constraint", threshold=0.8),
        ],
        budget=PARETO_BUDGET,
        type="random",
        seed=19,
    )
    for run in exp.loop(progress=False):
        with run:
            a, b = _number(run.params.a), _number(run.params.b)
            run.log_metric("accuracy", a * (1 - 0.3 * b))
            run.log_metric("latency", a * a + 0.2 * b)
            run.log_metric("size", b)
    return str(exp.id)


def script_experiment(project: str = "dash") -> str:
    """An experiment whose name, project-wide metadata and a parameter's categorical value are markup."""
    exp = sigopt.create_experiment(
        name=SCRIPT_NAME,
        project=project,
        parameters=[
            dict(name="x", type="double", bounds=dict(min=0.0, max=1.0)),
            dict(name="tag", type="categorical", categorical_values=["<img src=x onerror=alert(2)>", "plain"]),
        ],
        metrics=[dict(name="value", objective="maximize")],
        budget=3,
        type="random",
        seed=19,
    )
    for i, run in enumerate(exp.loop(name="<b>bold</b>", progress=False)):
        with run:
            run.log_metadata("note", "<script>alert(3)</script>")
            if i == 0:  # one failed run, whose message is markup too
                raise ValueError("<script>alert(4)</script>")
            run.log_metric("value", _number(run.params.x))
    return str(exp.id)


CLI_MODEL = """\
import sys
import sigopt_ai as sigopt

print("epoch 1: loss 0.5 <on stdout>", flush=True)
print("a warning <on stderr>", file=sys.stderr, flush=True)
for step, loss in enumerate([0.9, 0.6, 0.5]):
    sigopt.log_checkpoint({"loss": loss}, step=step)
sigopt.log_metric("loss", 0.5)
"""
CLI_STDOUT = "epoch 1: loss 0.5 <on stdout>"
CLI_STDERR = "a warning <on stderr>"


CLI_PROJECT = "dash-cli"


@contextlib.contextmanager
def cli_run() -> Iterator[Callable[[], str]]:
    """Start ``sigopt-ai run python model.py`` (which stores the child's stdout and stderr as files of its run)
    in the background; the function given waits for it and returns the run's id.

    It runs while the loops do: two more interpreters to start, on cores the loops leave idle at times.
    """
    sigopt.list_runs(CLI_PROJECT)  # the store exists (its schema made) before the CLI's processes open it
    with tempfile.TemporaryDirectory() as work:
        Path(work, "model.py").write_text(CLI_MODEL)
        command = [sys.executable, "-m", "sigopt_ai.cli", "run", "-p", CLI_PROJECT, "--", sys.executable, "model.py"]
        # The package's directory on the path: the child runs elsewhere, and an editable install may point away.
        path = os.pathsep.join(filter(None, [str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": path}
        process = subprocess.Popen(command, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

        def finish() -> str:
            output, _ = process.communicate(timeout=120)
            if process.returncode != 0:
                raise RuntimeError(f"sigopt-ai run failed ({process.returncode}): {output.decode()}")
            [record] = sigopt.list_runs(CLI_PROJECT)
            return record.id

        try:
            yield finish
        finally:
            process.kill()
            process.wait()


def describe(experiment_id: str) -> dict[str, Any]:
    """What the pages must show of an experiment, read back through the public SDK: the tests' expectations."""
    exp = sigopt.get_experiment(experiment_id)
    progress = exp.progress
    return {
        "id": exp.id,
        "name": exp.name,
        "project": exp.project,
        "budget": exp.budget,
        "metrics": [{"name": m.name, "objective": m.objective} for m in exp.metrics],
        "parameters": [p.name for p in exp.parameters],
        "definition": exp.definition.to_json(),
        "progress": dataclasses.asdict(progress),
        "observations": [
            {
                "run": o.run,
                "assignments": dict(o.assignments),
                "failed": o.failed,
                "kind": o.failure_kind,
                "values": dict(o.values),
            }
            for o in exp.observations()
        ],
        "best": [{"assignments": dict(o.assignments), "values": dict(o.values)} for o in exp.best_observations()],
        "runs": {
            r.id: {
                "name": r.name,
                "state": r.state.value,
                "kind": None if r.failure is None else r.failure.kind.value,
                "message": None if r.failure is None else r.failure.message,
            }
            for r in exp.runs()
        },
    }


def run_facts(run_id: str) -> dict[str, Any]:
    """What the run page must show of a run (its params, metrics, checkpoint metrics, failure)."""
    record = sigopt.get_run(run_id)
    return {
        "id": record.id,
        "name": record.name,
        "state": record.state.value,
        "params": dict(record.params),
        "metrics": dict(record.metrics),
        "checkpoint_metrics": sorted({name for c in record.checkpoints for name in c.values}),
        "checkpoints": len(record.checkpoints),
        "host": record.sys_metadata.get("host"),
        "experiment": record.experiment,
        "suggestion": record.suggestion,
        "failure": None
        if record.failure is None
        else {
            "kind": record.failure.kind.value,
            "type": record.failure.type,
            "message": record.failure.message,
            "traceback": record.failure.traceback,
        },
    }


def fill(roles: list[str]) -> dict[str, Any]:
    """Make the experiments of ``roles`` (main, pareto, script) in one store, and the CLI run ("cli")."""
    makers = {"main": main_experiment, "pareto": pareto_experiment, "script": script_experiment}
    with contextlib.ExitStack() as stack:
        cli = stack.enter_context(cli_run()) if "cli" in roles else None
        made: dict[str, Any] = {role: describe(makers[role]()) for role in roles if role in makers}
        if cli is not None:
            made["cli"] = run_facts(cli())
    if "main" in made:  # a run of each outcome of the main experiment for the run page: failed ones with a traceback
        outcomes: dict[str, dict[str, Any]] = {}
        for run_id, facts in made["main"]["runs"].items():
            run = run_facts(run_id)
            if run["failure"] is None or run["failure"]["traceback"]:
                outcomes.setdefault(facts["kind"] or facts["state"], run)
        made["main_runs"] = outcomes
    return made


if __name__ == "__main__":
    sigopt.configure(flush_interval=0.05)
    print(json.dumps(fill(sys.argv[1:] or ["main", "pareto", "script", "cli"])))
