"""Helpers for the command-line tests: ``sigopt-ai`` as a real process on the test's store."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "sigopt_ai.cli"]


def cli_env(store: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``sigopt-ai`` process recording into ``store``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGOPT_API", "SIGOPT_AI_RUN"))}
    return {**env, "SIGOPT_AI_DB": str(store), "SIGOPT_AI_FLUSH_INTERVAL": "0.1", "SIGOPT_PROJECT": "tests", **extra}


def sigopt_ai(
    *args: str, store: Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``sigopt-ai ARGS`` to its end in ``cwd`` (``env``: more variables)."""
    return subprocess.run(
        [*CLI, *args], cwd=cwd, env=cli_env(store, **(env or {})), capture_output=True, text=True, timeout=timeout
    )


def spawn_sigopt_ai(*args: str, store: Path, cwd: Path) -> subprocess.Popen[str]:
    """Start ``sigopt-ai ARGS`` in ``cwd``, its stdout read line by line."""
    return subprocess.Popen(
        [*CLI, *args],
        cwd=cwd,
        env=cli_env(store),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def write(directory: Path, name: str, text: str) -> Path:
    """Write a file of dedented ``text``."""
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """The directory the commands run in."""
    directory = tmp_path / "work"
    directory.mkdir()
    return directory


EXPERIMENT_YML = """\
name: cli-test
metrics:
  - name: accuracy
    objective: maximize
parameters:
  - name: lr
    type: double
    bounds: {min: 0.001, max: 0.1}
  - name: layers
    type: int
    bounds: {min: 1, max: 4}
budget: %d
"""


def experiment_file(directory: Path, budget: int) -> Path:
    """An ``experiment.yml`` in ``directory`` with this budget."""
    return write(directory, "experiment.yml", EXPERIMENT_YML % budget)
