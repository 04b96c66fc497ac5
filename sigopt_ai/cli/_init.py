"""``sigopt-ai init``: write ``run.yml`` and ``experiment.yml`` templates to start from."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import click

TEMPLATES = ("run.yml", "experiment.yml")


def write_template(name: str, *, force: bool) -> bool:
    """Write the template ``name`` into the working directory; an existing file is kept unless ``force``.

    Returns:
        Whether the file was written.

    Raises:
        click.ClickException: ``name`` exists and is not a file.
    """
    target = Path(name)
    if target.exists() and not target.is_file():
        raise click.ClickException(f"{name} already exists and is not a file; nothing written there.")
    if target.exists() and not force:
        click.echo(f"Kept {name}: it already exists (sigopt-ai init --force replaces it).")
        return False
    replacing = target.exists()
    target.write_bytes(resources.files("sigopt_ai.cli").joinpath("templates").joinpath(name).read_bytes())
    click.echo(f"{'Replaced' if replacing else 'Wrote'} {name}")
    return True


def register(main: click.Group) -> None:
    """Add ``init`` to ``main``."""

    @main.command("init")
    @click.option("--force", is_flag=True, help="Replace run.yml and experiment.yml if they exist.")
    def init(force: bool) -> None:
        """Write run.yml and experiment.yml templates in the working directory.

        Existing files are kept (and said so) unless --force is given. Then: sigopt-ai run, or
        sigopt-ai optimize once experiment.yml names your metric and parameters.
        """
        for name in TEMPLATES:
            write_template(name, force=force)
