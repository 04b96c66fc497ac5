"""The report: one HTML file that is the experiment page, frozen, for a ticket or a CI artifact.

``sigopt-ai report EXPERIMENT_ID -o report.html`` writes it. The page's requests
(:func:`~sigopt_ai.dashboard._requests.experiment_requests`) are made in-process against a local-mode
application over the store, so the data is exactly what the ``/v1`` API answers; the answers go into
the page as a JSON map from path to response (``<script type="application/json" id="sigopt-data">``),
which ``app.js``'s data layer reads instead of the network. The CSS, ECharts and ``app.js`` are inlined,
each escaped so that nothing in them can close its element, and a Content-Security-Policy ``<meta>``
lets the page run those scripts alone and load nothing: it opens from ``file://`` with no network.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from sigopt_ai._exceptions import SigOptError, ValidationError
from sigopt_ai.dashboard._requests import experiment_requests
from sigopt_ai.dashboard._shell import STATIC, render_page

__all__ = ["DATA_ID", "ReportError", "fetch_data", "report_html", "write_report"]

DATA_ID = "sigopt-data"
"""The id of the report's data map element."""
_STYLESHEET = re.compile(r'<link rel="stylesheet" href="/static/([\w./-]+)">')
_SCRIPT = re.compile(r'<script src="/static/([\w./-]+)"[^>]*></script>\n?')


class ReportError(SigOptError):
    """The report cannot be written: the experiment or a request of its page failed (the message says)."""


def write_report(db_url: str, experiment_id: str, path: str | os.PathLike[str]) -> Path:
    """Write the self-contained report of an experiment of the store at ``db_url`` to ``path``.

    Args:
        db_url: The store: a SQLite path or SQLAlchemy URL (every project of it is visible, as in
            ``sigopt-ai dashboard``).
        experiment_id: The experiment.
        path: The HTML file to write (replaced if it exists).

    Returns:
        The file written.

    Raises:
        ValidationError: There is no experiment ``experiment_id`` in the store.
        ReportError: A request of the page failed.
        ConfigError: The store is not at the migration head.

    Example:
        >>> write_report("runs.db", "1", "report.html")  # doctest: +SKIP
        PosixPath('report.html')
    """
    data = fetch_data(db_url, experiment_id)
    experiment = data[experiment_requests(experiment_id)[0]]
    target = Path(path)
    target.write_text(report_html(experiment_id, str(experiment.get("name") or experiment_id), data), "utf-8")
    return target


def fetch_data(db_url: str, experiment_id: str) -> dict[str, Any]:
    """The answers of the experiment page's requests, from a local-mode application over the store:
    a JSON response as its value, any other (``experiment.yml``) as its text. A request the API
    refuses (4xx: a failure map of an experiment with a single parameter, say) is left out: the page
    shows what it shows when the API refuses it.

    Raises:
        ValidationError: There is no such experiment.
        ReportError: A request failed on the server's side (5xx).
    """
    # FastAPI loads here, with a report, never with `import sigopt_ai`.
    from starlette.testclient import TestClient

    from sigopt_ai.server import create_app

    data: dict[str, Any] = {}
    with TestClient(create_app(db_url, local=True)) as client:
        for request in experiment_requests(experiment_id):
            response = client.get(request)
            if response.status_code == 404 and not data:
                raise ValidationError(f"experiment_id: no experiment with id {experiment_id} in the store.")
            if response.status_code >= 500:
                raise ReportError(f"GET {request} answered {response.status_code}: {response.text[:300]}")
            if response.status_code != 200:
                continue
            is_json = response.headers.get("content-type", "").startswith("application/json")
            data[request] = response.json() if is_json else response.text
    return data


def report_html(experiment_id: str, name: str, data: dict[str, Any]) -> str:
    """The report page: the shell of the experiment page with the static files inlined and ``data``
    (path to response) embedded."""
    page = render_page("experiment", experiment_id, f"{name} · sigopt-ai report", "report")
    page = _STYLESHEET.sub(lambda match: f"<style>\n{_inline(_static(match[1]), 'style')}\n</style>", page)
    scripts = [_inline(_static(name), "script") for name in _SCRIPT.findall(page)]
    page = _SCRIPT.sub("", page)
    # Escaped as JSON ("\u003c" for "<"), the data cannot hold "</script" nor "<!--".
    embedded = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    embedded = embedded.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    tail = f'<script type="application/json" id="{DATA_ID}">{embedded}</script>\n'
    # At the end of <body>: inline scripts run at once (``defer`` is for files), after the body exists.
    tail += "".join(f"<script>{script}</script>\n" for script in scripts)
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in scripts)
    policy = (
        f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )
    meta = f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
    page = page.replace('<meta charset="utf-8">\n', f'<meta charset="utf-8">\n{meta}', 1)
    return page.replace("</body>", tail + "</body>", 1)


def _static(name: str) -> str:
    path = (STATIC / name).resolve()
    if STATIC.resolve() not in path.parents:  # the shell names files of static/ only
        raise ReportError(f"page.html links {name!r}, which is not a file of the dashboard's static folder.")
    return path.read_text(encoding="utf-8")


def _inline(text: str, element: str) -> str:
    """``text`` made safe inside ``<element>``: ``</element`` and ``<!--`` cannot end it or change how
    the HTML parser reads it. In scripts, ``<\\/`` and ``<\\!`` mean the same inside strings and regular
    expressions, the only places such text appears in code."""
    text = re.sub(f"</({element})", r"<\\/\1", text, flags=re.IGNORECASE)
    return text.replace("<!--", "<\\!--")
