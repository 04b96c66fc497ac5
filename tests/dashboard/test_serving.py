"""The dashboard's serving, without a browser: a real ``sigopt-ai server`` and a real ``sigopt-ai dashboard``
over one store, asked with httpx.

On the server: pages redirect to the login without a valid cookie; the login sets the cookie HttpOnly and
SameSite=Strict and goes only to a local path; the cookie reads the API but never writes; one client's
cookie sees none of another's experiments, on pages or in the API; every page carries the security headers
and no inline script. The local dashboard: no token, every project, and any write is 405. Its command
refuses a missing store and says when it listens beyond loopback.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from sigopt_ai.cli import main
from sigopt_ai.cli._dashboard import is_loopback
from sigopt_ai.server._deps import COOKIE, COOKIE_WRITE
from tests.live_server import LiveDashboard, LiveServer, free_port, sigopt_ai_cli
from tests.server.conftest import live_server  # noqa: F401  (the module's server)

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
NAME = "<script>alert(1)</script>"
EXPERIMENT: dict[str, Any] = {
    "name": NAME,
    "project": "dash",
    "parameters": [{"name": "x", "type": "double", "bounds": {"min": 0, "max": 1}}],
    "metrics": [{"name": "loss", "objective": "minimize"}],
    "observation_budget": 3,
}


class Tenant:
    """A client of the server: its token, and one experiment and one run of its own."""

    def __init__(self, server: LiveServer, token: str) -> None:
        self.token = token
        with httpx.Client(base_url=server.url + "/v1", auth=(token, ""), timeout=30) as api:
            self.client = str(api.get("/tokens/self").json()["client"])
            created = api.post(f"/clients/{self.client}/experiments", json=EXPERIMENT)
            assert created.status_code == 200, created.text
            self.experiment = str(created.json()["id"])
            run = api.post(f"/clients/{self.client}/projects/dash/training_runs", json={"name": "<b>run</b>"})
            assert run.status_code == 200, run.text
            self.run = str(run.json()["id"])


@pytest.fixture(scope="module")
def alpha(live_server: LiveServer) -> Tenant:  # noqa: F811
    return Tenant(live_server, live_server.token)


@pytest.fixture(scope="module")
def beta(live_server: LiveServer) -> Tenant:  # noqa: F811
    return Tenant(live_server, live_server.make_token("beta"))


@pytest.fixture
def browser(live_server: LiveServer) -> Iterator[httpx.Client]:  # noqa: F811
    """What a browser does, without following redirects: no cookie at first."""
    with httpx.Client(base_url=live_server.url, timeout=30, follow_redirects=False) as client:
        yield client


def log_in(client: httpx.Client, token: str, next_path: str = "/") -> httpx.Response:
    return client.post("/login", data={"token": token, "next": next_path})


def test_pages_redirect_to_the_login_without_a_valid_cookie(browser: httpx.Client, alpha: Tenant) -> None:
    for path in ("/", f"/experiments/{alpha.experiment}", f"/runs/{alpha.run}?tab=x"):
        response = browser.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/login?next=" + path.replace("?", "%3F").replace("=", "%3D")
    browser.cookies.set(COOKIE, "not-a-token")
    assert browser.get("/").status_code == 303
    login = browser.get("/login", params={"next": "/experiments/1"})
    assert login.status_code == 200
    assert '<form method="post" action="/login">' in login.text
    assert 'name="next" value="/experiments/1"' in login.text


def test_login_sets_the_cookie_and_goes_only_to_a_local_path(browser: httpx.Client, alpha: Tenant) -> None:
    bad = log_in(browser, "not-a-token", "/runs/1")
    assert bad.status_code == 401
    assert "not a valid API token" in bad.text
    assert "set-cookie" not in bad.headers
    assert log_in(browser, "").status_code == 401

    page = f"/experiments/{alpha.experiment}"
    good = log_in(browser, alpha.token, page)
    assert good.status_code == 303
    assert good.headers["location"] == page
    flags = [part.strip().lower() for part in good.headers["set-cookie"].split(";")]
    assert flags[0] == f"{COOKIE}={alpha.token}".lower()
    assert {"httponly", "samesite=strict", "path=/"} <= set(flags)
    assert "secure" not in flags  # plain http here; https gets Secure
    assert browser.get(page).status_code == 200

    for elsewhere in ("//evil.example/x", "https://evil.example", "/\\evil.example", "evil", "/\x00x"):
        assert log_in(browser, alpha.token, elsewhere).headers["location"] == "/", elsewhere


def test_a_form_from_another_site_neither_logs_in_nor_out(browser: httpx.Client, alpha: Tenant) -> None:
    for headers in (
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "http://evil.example"},
    ):
        posted = browser.post("/login", data={"token": alpha.token, "next": "/"}, headers=headers)
        assert posted.status_code == 403, headers
        assert "set-cookie" not in posted.headers
        assert browser.post("/logout", headers=headers).status_code == 403
    same = {"Sec-Fetch-Site": "same-origin", "Origin": str(browser.base_url).rstrip("/")}
    assert browser.post("/login", data={"token": alpha.token}, headers=same).status_code == 303


def test_logout_forgets_the_cookie(browser: httpx.Client, alpha: Tenant) -> None:
    log_in(browser, alpha.token)
    assert browser.get("/").status_code == 200
    out = browser.post("/logout")
    assert out.status_code == 303
    assert out.headers["location"] == "/login"
    assert "max-age=0" in out.headers["set-cookie"].lower()
    assert browser.get("/").status_code == 303


def test_the_cookie_reads_the_api_but_never_writes(browser: httpx.Client, alpha: Tenant) -> None:
    log_in(browser, alpha.token)
    assert browser.get("/v1/tokens/self").json()["client"] == alpha.client
    assert browser.head(f"/experiments/{alpha.experiment}").status_code == 200
    writes = [
        ("POST", f"/v1/clients/{alpha.client}/projects", {"id": "by-cookie"}),
        ("PUT", f"/v1/experiments/{alpha.experiment}", {"name": "renamed"}),
        ("DELETE", f"/v1/experiments/{alpha.experiment}", None),
        ("MERGE", f"/v1/training_runs/{alpha.run}", {"values": {"loss": {"value": 1.0}}}),
    ]
    for method, path, body in writes:
        response = browser.request(method, path, json=body)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["message"] == COOKIE_WRITE
        assert "www-authenticate" not in response.headers  # a browser would prompt for a password
    assert browser.get(f"/v1/experiments/{alpha.experiment}").json()["name"] == NAME
    browser.cookies.set(COOKIE, "revoked-or-unknown")
    expired = browser.get("/v1/tokens/self")
    assert expired.status_code == 401
    assert "www-authenticate" not in expired.headers  # the page goes to the login instead
    assert httpx.get(browser.base_url.join("/v1/tokens/self")).headers["www-authenticate"] == "Basic"


def test_one_clients_cookie_never_shows_another_clients_experiments(
    browser: httpx.Client, alpha: Tenant, beta: Tenant
) -> None:
    log_in(browser, beta.token)
    assert browser.get(f"/experiments/{beta.experiment}").status_code == 200
    for path in (f"/experiments/{alpha.experiment}", f"/runs/{alpha.run}", "/experiments/no-such-id"):
        response = browser.get(path)
        assert response.status_code == 404, path
        assert "Not found" in response.text
    for path in (
        f"/v1/experiments/{alpha.experiment}",
        f"/v1/experiments/{alpha.experiment}/sigopt_ai/analysis",
        f"/v1/experiments/{alpha.experiment}/sigopt_ai/runs",
        f"/v1/training_runs/{alpha.run}",
        f"/v1/clients/{alpha.client}/sigopt_ai/experiments",
    ):
        assert browser.get(path).status_code == 404, path
    rows = browser.get(f"/v1/clients/{beta.client}/sigopt_ai/experiments").json()["data"]
    assert [row["id"] for row in rows] == [beta.experiment]


def test_pages_carry_the_security_headers_and_no_inline_script(browser: httpx.Client, alpha: Tenant) -> None:
    log_in(browser, alpha.token)
    page = browser.get(f"/experiments/{alpha.experiment}")
    assert page.headers["content-security-policy"] == PAGE_CSP
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["cache-control"] == "no-store"
    body = re.search(r"<body[^>]*>", page.text)
    assert body is not None
    assert f'data-page="experiment" data-id="{alpha.experiment}"' in body[0]
    assert NAME not in page.text  # the name is in the title, escaped
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    scripts = re.findall(r"<script\b[^>]*>", page.text)
    assert scripts and all(re.search(r'\ssrc="/static/', tag) for tag in scripts)
    assert re.search(r"\son\w+=", page.text) is None  # no inline event handler either
    for path in ("/login", "/static/app.js", "/static/vendor/echarts.min.js"):
        assert browser.get(path).headers["content-security-policy"] == PAGE_CSP, path
    api = browser.get("/v1/tokens/self").headers
    assert api["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'; sandbox"
    assert api["x-content-type-options"] == "nosniff"


def test_static_files_need_no_login_and_stay_in_their_folder(browser: httpx.Client) -> None:
    script = browser.get("/static/app.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert browser.get("/static/../_pages.py").status_code == 404
    assert browser.get("/static/%2e%2e/_pages.py").status_code == 404


@pytest.fixture(scope="module")
def local(live_server: LiveServer, alpha: Tenant, beta: Tenant) -> Iterator[LiveDashboard]:  # noqa: F811
    """``sigopt-ai dashboard`` over the server's store (both clients' experiments are in it)."""
    with LiveDashboard(live_server.db) as dashboard:
        yield dashboard


def test_the_local_dashboard_shows_every_project_without_a_token(
    local: LiveDashboard, alpha: Tenant, beta: Tenant
) -> None:
    with httpx.Client(base_url=local.url, timeout=30, follow_redirects=False) as client:
        assert client.get("/").status_code == 200
        assert client.get(f"/experiments/{alpha.experiment}").status_code == 200
        assert client.get(f"/runs/{beta.run}").status_code == 200
        assert client.get("/experiments/no-such-id").status_code == 404
        assert client.get("/login").status_code == 404  # nothing to log in to
        client_id = client.get("/v1/tokens/self").json()["client"]
        rows = client.get(f"/v1/clients/{client_id}/sigopt_ai/experiments").json()["data"]
        assert {alpha.experiment, beta.experiment} <= {row["id"] for row in rows}
        assert client.get(f"/v1/experiments/{alpha.experiment}").json()["name"] == NAME


def test_the_local_dashboard_refuses_every_write(local: LiveDashboard, alpha: Tenant) -> None:
    with httpx.Client(base_url=local.url, timeout=30) as client:
        for method, path in (
            ("POST", "/v1/clients/local/projects"),
            ("PUT", f"/v1/experiments/{alpha.experiment}"),
            ("DELETE", f"/v1/experiments/{alpha.experiment}"),
            ("MERGE", f"/v1/training_runs/{alpha.run}"),
            ("POST", "/login"),
            ("PATCH", "/"),
        ):
            response = client.request(method, path, json={"name": "x"}, headers={"X-Response-Content": "skip"})
            assert response.status_code == 405, (method, path)
            assert response.headers["allow"] == "GET, HEAD"
            assert "read-only" in response.json()["message"]
        assert client.get(f"/v1/experiments/{alpha.experiment}").json()["name"] == NAME


def test_the_dashboard_command_refuses_a_missing_store(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.db"
    done = sigopt_ai_cli("dashboard", "--db", str(missing), "--no-open", "--port", str(free_port()))
    assert done.returncode == 1
    assert f"--db: no store at {missing}" in done.stderr
    assert not missing.exists()


def test_the_dashboard_warns_when_it_listens_beyond_loopback(live_server: LiveServer) -> None:  # noqa: F811
    command = [sys.executable, "-c", "from sigopt_ai.cli import main; main()", "dashboard", "--no-open"]
    command += ["--db", live_server.db, "--host", "0.0.0.0", "--port", str(free_port())]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        warning = process.stderr.readline()
        assert "warning: listening on 0.0.0.0, with no authentication" in warning
        assert "(read-only; Ctrl-C stops it)" in process.stderr.readline()
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()


def test_only_a_host_typed_on_the_command_line_may_leave_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("[::1]") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3") and not is_loopback("example.org")
    refused = CliRunner().invoke(main, ["dashboard", "--no-open"], default_map={"dashboard": {"host": "0.0.0.0"}})
    assert refused.exit_code == 2
    assert "--host 0.0.0.0 is not a loopback address: give it on the command line" in refused.output
