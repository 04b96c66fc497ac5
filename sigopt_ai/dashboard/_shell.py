"""The page shell: ``static/page.html`` with its placeholders filled, and the small pages (login, not
found) that are not the application's."""

from __future__ import annotations

import html
import re
from pathlib import Path

__all__ = ["PAGES", "STATIC", "document", "render_page"]

STATIC = Path(__file__).with_name("static")
"""The dashboard's static files (FRONTEND's): ``page.html``, ``app.js``, ``style.css``, ``vendor/``."""
PAGES = ("experiments", "experiment", "run")
"""The values of ``<body data-page>``."""
_PLACEHOLDER = re.compile(r"\{\{(page|id|title|mode)\}\}")
_COMMENT = re.compile(r"<!--.*?-->\n?", re.DOTALL)


def render_page(page: str, id: str, title: str, mode: str = "server") -> str:
    """``page.html`` with ``{{page}}``, ``{{id}}``, ``{{title}}`` and ``{{mode}}`` (``server``: a
    logged-in client, with a Log out button; ``local``; ``report``) replaced, each html-escaped, in one
    pass (a value holding a placeholder's text stays as it is), and its comments (notes for its
    authors) left out.

    Example:
        >>> "data-page=\\"run\\"" in render_page("run", "7", "Run 7")
        True
    """
    values = {"page": page, "id": id, "title": title, "mode": mode}
    template = _COMMENT.sub("", (STATIC / "page.html").read_text(encoding="utf-8"))  # 1 KB: read each time
    return _PLACEHOLDER.sub(lambda match: html.escape(values[match[1]]), template)


def document(title: str, body: str) -> str:
    """A small page of the dashboard's style: ``body`` is HTML (the caller escapes what it holds),
    ``title`` is text.

    Example:
        >>> "<title>Log in</title>" in document("Log in", "<p>Hi</p>")
        True
    """
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        # No favicon request (a 404 in the console): the page shell does the same.
        '<link rel="icon" href="data:,">\n'
        f'<title>{html.escape(title)}</title>\n<link rel="stylesheet" href="/static/style.css">\n</head>\n'
        f'<body class="message">\n<header class="topbar"><a class="brand" href="/">sigopt<span>-ai</span></a>'
        f"</header>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )
