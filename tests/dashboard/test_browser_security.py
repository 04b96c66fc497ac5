"""The server's pages in a real Chromium: the login and its cookie, one client never seeing another's
experiments, crafted names rendered as text with no dialog, and the cookie never authorising a write.

The server is a real ``sigopt-ai server`` over a fresh store; each client's experiments are made through its
API with the SDK (the HTTP backend), by ``tests/dashboard/_fill.py`` in a fresh interpreter.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Page

from tests.dashboard._browser import Console, screenshot, wait_ready
from tests.dashboard._expect import text
from tests.dashboard._fill import SCRIPT_NAME
from tests.dashboard.conftest import fill_stores
from tests.live_server import LiveServer

pytestmark = pytest.mark.timeout(120)

COOKIE = "sigopt_ai_token"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(str(tmp_path_factory.mktemp("secure") / "server.db")) as live:
        yield live


@pytest.fixture(scope="module")
def clients(server: LiveServer) -> dict[str, Any]:
    """Client alpha's ``<script>`` experiment, and client beta's token and Pareto experiment."""
    beta = server.make_token("beta")
    alpha_made, beta_made = fill_stores(
        ({"SIGOPT_API_URL": server.url, "SIGOPT_API_TOKEN": server.token}, ["script"]),
        ({"SIGOPT_API_URL": server.url, "SIGOPT_API_TOKEN": beta}, ["pareto"]),
    )
    return {"alpha": alpha_made["script"], "beta": beta_made["pareto"], "beta_token": beta}


def _log_in(page: Page, server: LiveServer, token: str) -> None:
    page.fill("input[name=token]", token)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_load_state()


def test_without_a_token_every_page_redirects_to_the_login(
    page: Page, server: LiveServer, clients: dict[str, Any]
) -> None:
    alpha = clients["alpha"]
    run_id = next(iter(alpha["runs"]))
    for path in ["/", f"/experiments/{alpha['id']}", f"/runs/{run_id}"]:
        page.goto(server.url + path)
        assert page.url == f"{server.url}/login?next={quote(path, safe='')}" or page.url == (
            f"{server.url}/login?next={path}"
        ), page.url
        assert page.locator("input[name=token]").count() == 1
        assert SCRIPT_NAME not in (page.content()), "a page showed data without a token"
    screenshot(page, "login")


def test_a_wrong_token_gets_the_form_again_with_a_message(
    page: Page, console: Console, server: LiveServer, clients: dict[str, Any]
) -> None:
    console.allow(r"status of 401")  # Chromium logs the 401 answer to the form's POST
    page.goto(f"{server.url}/login?next=/")
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as answer:
        _log_in(page, server, "not-a-token")
    assert answer.value.status == 401
    assert page.locator("input[name=token]").count() == 1
    assert "token" in text(page, "[role=alert], .error")
    assert not [c for c in page.context.cookies() if c["name"] == COOKIE]


def test_the_login_keeps_an_httponly_samesite_cookie_and_goes_back_to_the_page_asked_for(
    page: Page, server: LiveServer, clients: dict[str, Any]
) -> None:
    alpha = clients["alpha"]
    page.goto(f"{server.url}/experiments/{alpha['id']}")
    _log_in(page, server, server.token)
    assert page.url == f"{server.url}/experiments/{alpha['id']}"
    wait_ready(page)
    [cookie] = [c for c in page.context.cookies() if c["name"] == COOKIE]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert COOKIE not in page.evaluate("() => document.cookie"), "a script can read the token"
    # The crafted name is text: no element made of it, no script run (a dialog fails the test).
    assert text(page, "#name") == SCRIPT_NAME
    assert page.evaluate("() => document.querySelectorAll('script:not([src])').length") == 0
    assert page.locator("img[src='x']").count() == 0
    screenshot(page, "server-experiment-script-name")


def test_a_client_sees_only_its_own_experiments(
    page: Page, console: Console, server: LiveServer, clients: dict[str, Any]
) -> None:
    alpha, beta = clients["alpha"], clients["beta"]
    page.goto(f"{server.url}/login?next=/")
    _log_in(page, server, server.token)
    wait_ready(page)
    ids = page.locator("table#experiments tr[data-id]").evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert ids == [alpha["id"]]
    assert beta["name"] not in text(page, "body")
    screenshot(page, "server-experiments")

    console.allow(r"status of 404")  # the page, or its API call, answers 404 for another client's experiment
    answer = page.goto(f"{server.url}/experiments/{beta['id']}")
    assert answer is not None
    if answer.status == 200:  # the page shell is served; its data must not be
        page.wait_for_timeout(1000)
    assert beta["name"] not in text(page, "body")
    api = page.request.get(f"{server.url}/v1/experiments/{beta['id']}/sigopt_ai/analysis")
    assert api.status == 404


def test_crafted_run_names_metadata_and_failure_messages_render_as_text(
    page: Page, server: LiveServer, clients: dict[str, Any]
) -> None:
    alpha = clients["alpha"]
    failed = next(i for i, r in alpha["runs"].items() if r["kind"])
    page.goto(f"{server.url}/login?next=/runs/{failed}")
    _log_in(page, server, server.token)
    wait_ready(page)
    assert text(page, "#name") == "<b>bold</b>"
    assert page.locator("#name b").count() == 0
    assert "<script>alert(3)</script>" in text(page, "#metadata")
    assert "<script>alert(4)</script>" in text(page, "#failure")
    assert page.evaluate("() => document.querySelectorAll('script:not([src])').length") == 0
    screenshot(page, "server-run-script")


def test_the_cookie_never_authorises_a_write_and_logout_forgets_it(
    page: Page, console: Console, server: LiveServer, clients: dict[str, Any]
) -> None:
    page.goto(f"{server.url}/login?next=/")
    _log_in(page, server, server.token)
    wait_ready(page)
    console.allow(r"status of 40[13]")  # the refused write below
    # A 401 that asks for Basic credentials (WWW-Authenticate) makes Chromium prompt for them, and the fetch
    # waits for an answer nobody gives: after 5 s it is aborted and reported as such.
    status = page.evaluate(
        """async () => {
            const me = await (await fetch('/v1/tokens/self')).json();  // a read: the cookie lets it in
            const abort = new AbortController();
            setTimeout(() => abort.abort(), 5000);
            try {
                const write = await fetch(`/v1/clients/${me.client}/projects`, {method: 'POST', signal: abort.signal,
                    headers: {'Content-Type': 'application/json'}, body: JSON.stringify({id: 'by-cookie', name: 'x'})});
                return write.status;
            } catch (error) {
                return 'no answer in 5 s (a Basic-auth prompt?): ' + error;
            }
        }"""
    )
    assert status in (401, 403), status
    page.click("#logout button")  # the header's Log out, shown to a logged-in client only
    page.wait_for_url(f"{server.url}/login")
    assert not [c for c in page.context.cookies() if c["name"] == COOKIE]
    page.goto(server.url + "/")
    assert page.url.startswith(f"{server.url}/login")
