"""The ``sigopt-ai`` command line: a thin shell over the public API."""

from sigopt_ai.cli._main import main

__all__ = ["main"]
