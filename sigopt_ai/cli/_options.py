"""Options that several commands share, spelled as sigopt-python's command line spells them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

project_option: Callable[[F], F] = click.option(
    "-p",
    "--project",
    help="The project (default: SIGOPT_PROJECT, else the working directory's name).",
)
"""``-p/--project``: the project a command's runs or experiment go to."""

experiment_file_option: Callable[[F], F] = click.option(
    "-e",
    "--experiment-file",
    default="experiment.yml",
    show_default=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A SigOpt experiment.yml defining the experiment.",
)
"""``-e/--experiment-file``: the experiment.yml to create an experiment from."""
