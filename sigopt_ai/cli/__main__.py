"""``python -m sigopt_ai.cli``: the ``sigopt-ai`` command."""

from sigopt_ai.cli import main

main(prog_name="sigopt-ai")
