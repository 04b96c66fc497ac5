"""``sigopt-ai sync``: send the batches an offline journal keeps to their server, from any process.

httpx and tenacity are imported inside the command: ``sigopt-ai runs list`` must not load them.
"""

from __future__ import annotations

from pathlib import Path

import click

from sigopt_ai import _config
from sigopt_ai._exceptions import SigOptError

__all__ = ["register"]


@click.command()
@click.option(
    "--spool",
    type=click.Path(dir_okay=False),
    help="The journal (default: SIGOPT_AI_SPOOL, else ./.sigopt_ai/spool.db).",
)
@click.option(
    "--api-url",
    help="Send only the batches for this server (default: SIGOPT_API_URL, else every server in the journal).",
)
@click.option("--api-token", help="The server's API token (default: SIGOPT_API_TOKEN).")
def sync(spool: str | None, api_url: str | None, api_token: str | None) -> None:
    """Send the runs' records kept in the offline journal while the server was unreachable.

    Prints how many batches were sent and how many remain; exits with 1 if a server is unreachable.
    """
    from sigopt_ai.backends.http import HTTPBackend, Journal

    try:
        settings = _config.current()
        path = Path(spool).absolute() if spool else settings.resolved_spool()
        token = _config.check_api_token(api_token, "--api-token") if api_token else settings.resolved_api_token()
        url = _config.check_api_url(api_url, "--api-url") if api_url else settings.resolved_api_url()
        urls = [url] if url else Journal(path).api_urls()
        left = 0
        for server in urls:
            backend = HTTPBackend(server, token, journal=path)
            try:
                sent, remaining = backend.replay()
            finally:
                backend.close()
            left += remaining
            state = f"{remaining} remain: the server is unreachable" if remaining else "0 remain"
            click.echo(f"{server}: {sent} batch(es) sent from {path}, {state}.")
        if not urls:
            click.echo(f"{path}: no batches to send.")
    except SigOptError as exc:
        raise click.ClickException(str(exc)) from exc
    if left:
        raise SystemExit(1)


def register(group: click.Group) -> None:
    """Add ``sync`` to the ``sigopt-ai`` command group."""
    group.add_command(sync)
