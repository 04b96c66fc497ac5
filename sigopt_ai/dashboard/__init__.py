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

from sigopt_ai.dashboard._pages import mount

__all__ = ["mount"]
