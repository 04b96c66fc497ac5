"""The dashboard: the pages of experiments and runs, served by ``sigopt-ai server`` (behind a login) and
``sigopt-ai dashboard`` (the embedded store, read-only, no token), and the self-contained report.

The pages hold no data: each is the shell ``static/page.html``, which ``static/app.js`` fills from the
``/v1`` JSON API. FastAPI loads with this package, never with ``import sigopt_ai``: the server's
application imports it when it mounts the pages.

Example:
    >>> from sigopt_ai.dashboard.report import write_report
    >>> write_report("runs.db", "1", "report.html")  # doctest: +SKIP
"""

from __future__ import annotations

from fastapi import FastAPI

from sigopt_ai.dashboard._pages import mount
from sigopt_ai.server import app_from_env as _api_from_env

__all__ = ["app_from_env", "mount"]


def app_from_env() -> FastAPI:
    """A uvicorn worker's application of ``sigopt-ai server --workers N`` (``--factory``): the API
    with the dashboard's pages (see :func:`sigopt_ai.server.app_from_env`)."""
    return _api_from_env(pages=mount)
