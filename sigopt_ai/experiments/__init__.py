"""Experiments: suggestions evaluated as runs, until the budget is spent."""

from __future__ import annotations

from sigopt_ai.experiments._experiment import Experiment, create_experiment, get_experiment

__all__ = ["Experiment", "create_experiment", "get_experiment"]
