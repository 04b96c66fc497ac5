"""Experiments: suggestions evaluated as runs, until the budget is spent."""

from __future__ import annotations

from sigopt_ai.experiments._api import (
    archive_aiexperiment,
    archive_experiment,
    create_aiexperiment,
    create_experiment,
    get_aiexperiment,
    get_experiment,
    unarchive_aiexperiment,
    unarchive_experiment,
)
from sigopt_ai.experiments._experiment import Experiment

__all__ = [
    "Experiment",
    "archive_aiexperiment",
    "archive_experiment",
    "create_aiexperiment",
    "create_experiment",
    "get_aiexperiment",
    "get_experiment",
    "unarchive_aiexperiment",
    "unarchive_experiment",
]
