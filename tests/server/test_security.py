"""Security of the server over real HTTP: authentication, tenancy, malformed and oversized bodies.

- Every route family answers 401 without a token, with an unknown one and with a revoked one.
- Another client's run, project, experiment, suggestion, observation (and its client id in
  ``/clients/{cid}/...``) is answered 404, exactly as a missing one, and is left unchanged.
- A malformed body is a 400 whose message names the field, never a 500; a body over the limit is 413.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import httpx
import pytest

from sigopt_ai.server._token_cache import TOKEN_CACHE_SECONDS
from tests.live_server import LiveServer, sigopt_ai_cli

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # ``benchmarks`` is not an installed package
    sys.path.insert(0, str(ROOT))

from benchmarks import fuzz_server  # noqa: E402

JSONBody = dict[str, Any] | list[Any] | None

PARAMETERS = fuzz_server.PARAMETERS
CORE_DEFINITION = {
    "name": "core",
    "project": "sec",
    "parameters": PARAMETERS,
    "metrics": [{"name": "y"}],
    "observation_budget": 10,
}
AI_DEFINITION = {"name": "ai", "parameters": PARAMETERS, "metrics": [{"name": "y"}], "budget": 10}


@dataclass(frozen=True)
class Objects:
    """One client's objects of every kind, made through the API."""

    client: str
    project: str
    run: str
    aiexperiment: str
    experiment: str
    suggestion: str
    observation: str

    def fill(self, template: str) -> str:
        return template.format(
            cid=self.client,
            project=self.project,
            run=self.run,
            aiexperiment=self.aiexperiment,
            experiment=self.experiment,
            suggestion=self.suggestion,
            observation=self.observation,
        )


# (method, path template, JSON body): one request of each route family the server serves.
ROUTES: list[tuple[str, str, JSONBody]] = [
    ("GET", "/tokens/self", None),
    ("GET", "/clients/{cid}", None),
    ("GET", "/clients/{cid}/projects", None),
    ("POST", "/clients/{cid}/projects", {"id": "another", "name": "another"}),
    ("GET", "/clients/{cid}/projects/{project}", None),
    ("PUT", "/clients/{cid}/projects/{project}", {"name": "renamed"}),
    ("POST", "/clients/{cid}/projects/{project}/training_runs", {"name": "r"}),
    ("POST", "/clients/{cid}/projects/{project}/training_runs/batch", {"runs": [{"name": "r"}], "fields": "id"}),
    ("GET", "/clients/{cid}/projects/{project}/training_runs", None),
    ("GET", "/clients/{cid}/training_runs", None),
    ("GET", "/training_runs/{run}", None),
    ("PUT", "/training_runs/{run}", {"name": "replaced"}),
    ("MERGE", "/training_runs/{run}", {"metadata": {"k": 1}}),
    ("POST", "/training_runs/{run}/checkpoints", {"values": [{"name": "y", "value": 1.0}]}),
    ("GET", "/training_runs/{run}/checkpoints", None),
    ("GET", "/training_runs/{run}/sigopt_ai/metrics/y", None),
    ("POST", "/training_runs/{run}/files", {"name": "plot.png", "content_type": "image/png"}),
    ("GET", "/training_runs/{run}/files", None),
    ("DELETE", "/training_runs/{run}", None),
    ("POST", "/clients/{cid}/projects/{project}/aiexperiments", AI_DEFINITION),
    ("GET", "/aiexperiments/{aiexperiment}", None),
    ("PUT", "/aiexperiments/{aiexperiment}", {"name": "renamed"}),
    ("GET", "/aiexperiments/{aiexperiment}/best_training_runs", None),
    ("POST", "/aiexperiments/{aiexperiment}/training_runs", {"name": "r"}),
    ("DELETE", "/aiexperiments/{aiexperiment}", None),
    ("POST", "/experiments", CORE_DEFINITION),
    ("POST", "/clients/{cid}/experiments", CORE_DEFINITION),
    ("GET", "/clients/{cid}/experiments", None),
    ("GET", "/experiments/{experiment}", None),
    ("PUT", "/experiments/{experiment}", {"name": "renamed"}),
    ("GET", "/experiments/{experiment}/suggestions", None),
    ("GET", "/experiments/{experiment}/suggestions/{suggestion}", None),
    ("POST", "/experiments/{experiment}/suggestions/{suggestion}/sigopt_ai/release", {"run": "{run}"}),
    ("POST", "/experiments/{experiment}/observations", {"suggestion": "{suggestion}", "failed": True}),
    ("GET", "/experiments/{experiment}/observations", None),
    ("GET", "/experiments/{experiment}/observations/{observation}", None),
    ("GET", "/experiments/{experiment}/best_assignments", None),
    ("GET", "/experiments/{experiment}/sigopt_ai/progress", None),
    ("DELETE", "/experiments/{experiment}/suggestions/{suggestion}", None),
    ("POST", "/experiments/{experiment}/suggestions", {}),
    ("DELETE", "/experiments/{experiment}", None),
    ("POST", "/sigopt_ai/batches", {"ops": []}),
    ("GET", "/sigopt_ai/dead_letters", None),
]

# Routes that name no object of a client: they cannot answer another client's 404.
UNOWNED = {"/tokens/self", "/experiments", "/sigopt_ai/batches", "/sigopt_ai/dead_letters"}


def _fill_body(body: Any, objects: Objects) -> Any:
    """``body`` with the ids of ``objects`` in its string values (``"{suggestion}"``)."""
    if isinstance(body, str):
        return objects.fill(body)
    if isinstance(body, dict):
        return {key: _fill_body(value, objects) for key, value in body.items()}
    if isinstance(body, list):
        return [_fill_body(item, objects) for item in body]
    return body


def _request(http: httpx.Client, method: str, path: str, body: JSONBody = None, **kwargs: Any) -> httpx.Response:
    if body is not None:
        kwargs["content"] = json.dumps(body)
        kwargs.setdefault("headers", {})["Content-Type"] = "application/json"
    return http.request(method, path, **kwargs)


def _assert_error(response: httpx.Response, status: int, what: str) -> dict[str, Any]:
    """The response is SigOpt's error object of ``status``; returns its body."""
    assert response.status_code == status, f"{what}: {response.status_code} {response.text[:300]}"
    body = response.json()
    assert body["status"] == status and body["object"] == "error", f"{what}: {body}"
    assert isinstance(body["message"], str) and body["message"], f"{what}: {body}"
    assert "Traceback" not in response.text and 'File "' not in response.text, f"{what} leaks code: {body}"
    return dict(body)


def _make_objects(server: LiveServer, token: str, project: str) -> Objects:
    """A project, a run, an AI experiment, a core experiment with an observation and an open suggestion."""
    made = fuzz_server.make_objects(server.url, token, project)
    return Objects(**{item.name: made[item.name] for item in fields(Objects)})


@pytest.fixture(scope="module")
def alpha(live_server: LiveServer) -> Objects:
    """Client alpha's objects (the server's own token), shared by the module's tests."""
    return _make_objects(live_server, live_server.token, "sec")


@pytest.fixture(scope="module")
def beta_token(live_server: LiveServer) -> str:
    """A token of client beta."""
    return live_server.make_token("beta")


@pytest.fixture(scope="module")
def beta(live_server: LiveServer, beta_token: str, alpha: Objects) -> Objects:
    """Client beta's objects, in a project of the same id as alpha's."""
    return _make_objects(live_server, beta_token, alpha.project)


@pytest.fixture
def http_of(live_server: LiveServer) -> Iterator[Any]:
    """Opens HTTP clients on the server with a given token (or none), closed after the test."""
    opened: list[httpx.Client] = []

    def open_client(token: str | None) -> httpx.Client:
        auth = None if token is None else (token, "")
        client = httpx.Client(base_url=live_server.url + "/v1", auth=auth, timeout=30)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()


def _unauthorized_everywhere(http: httpx.Client, objects: Objects) -> list[str]:
    """The routes that did not answer 401 (with SigOpt's error object) to ``http``."""
    wrong = []
    for method, template, body in ROUTES:
        response = _request(http, method, objects.fill(template), _fill_body(body, objects))
        try:
            _assert_error(response, 401, f"{method} {template}")
        except (AssertionError, ValueError, KeyError) as exc:
            wrong.append(str(exc).splitlines()[0])
    return wrong


def test_no_token_is_401_on_every_route(alpha: Objects, http_of: Any) -> None:
    assert _unauthorized_everywhere(http_of(None), alpha) == []


def test_unknown_token_is_401_on_every_route(alpha: Objects, http_of: Any) -> None:
    assert _unauthorized_everywhere(http_of("not-a-token-of-this-server"), alpha) == []


def test_malformed_authorization_is_401(live_server: LiveServer, http_of: Any) -> None:
    """The real token in the wrong place, or a header that is not HTTP Basic, is refused with 401."""
    anonymous = http_of(None)
    basic = "Basic " + base64.b64encode(f"{live_server.token}:".encode()).decode()
    for what, header in {
        "token as the password": "Basic " + base64.b64encode(f":{live_server.token}".encode()).decode(),
        "bearer scheme": f"Bearer {live_server.token}",
        "bad base64": "Basic !!!not-base64!!!",
        "no colon": "Basic " + base64.b64encode(live_server.token.encode()).decode(),
        "empty": "",
    }.items():
        _assert_error(anonymous.get("/tokens/self", headers={"Authorization": header}), 401, what)
    assert anonymous.get("/tokens/self", headers={"Authorization": basic}).status_code == 200


def test_revoked_token_is_401_on_every_route(live_server: LiveServer, alpha: Objects, http_of: Any) -> None:
    """A token in use stops working once revoked (a server process trusts a token it checked for a few
    seconds, TOKEN_CACHE_SECONDS, so this waits out at most a few of those periods)."""
    token = live_server.make_token("alpha")
    http = http_of(token)
    assert http.get("/tokens/self").status_code == 200
    done = sigopt_ai_cli("token", "revoke", token, "--db", live_server.db)
    assert done.returncode == 0, done.stderr
    give_up = time.monotonic() + 4 * TOKEN_CACHE_SECONDS + 10
    while http.get("/tokens/self").status_code == 200 and time.monotonic() < give_up:
        time.sleep(0.2)
    assert _unauthorized_everywhere(http, alpha) == []
    # The server's own token still works: revoking one token leaves the client's others alone.
    assert http_of(live_server.token).get(f"/training_runs/{alpha.run}").status_code == 200


def test_malformed_body_without_token_is_401_not_400(alpha: Objects, http_of: Any) -> None:
    """Authentication comes first: an anonymous caller learns nothing from the body checks."""
    response = http_of(None).post("/experiments", content=b"{not json", headers={"Content-Type": "application/json"})
    _assert_error(response, 401, "anonymous malformed body")


def test_another_clients_objects_are_404(
    live_server: LiveServer, alpha: Objects, beta_token: str, http_of: Any
) -> None:
    """Every id of alpha's, read or written with beta's token, is 404 as a missing one, and unchanged."""
    beta = http_of(beta_token)
    owner = http_of(live_server.token)
    before_run = owner.get(f"/training_runs/{alpha.run}").json()
    before_experiment = owner.get(f"/experiments/{alpha.experiment}").json()

    wrong = []
    for method, template, body in ROUTES:
        if template in UNOWNED:
            continue
        response = _request(beta, method, alpha.fill(template), _fill_body(body, alpha))
        try:
            _assert_error(response, 404, f"{method} {template}")
        except (AssertionError, ValueError, KeyError) as exc:
            wrong.append(str(exc).splitlines()[0])
    assert not wrong, "\n".join(wrong)

    # The official client's writes ask for no content; a refusal still carries its error object.
    skipped = beta.request(
        "MERGE", f"/training_runs/{alpha.run}", json={"state": "failed"}, headers={"X-Response-Content": "skip"}
    )
    _assert_error(skipped, 404, "MERGE with X-Response-Content: skip")

    # A foreign id and a missing one get the same answer, so ids cannot be probed.
    foreign = _assert_error(beta.get(f"/training_runs/{alpha.run}"), 404, "foreign run")
    missing = _assert_error(beta.get("/training_runs/987654321"), 404, "missing run")
    assert foreign["message"].replace(alpha.run, "ID") == missing["message"].replace("987654321", "ID")

    # Nothing of alpha's changed, and alpha still sees all of it.
    assert owner.get(f"/training_runs/{alpha.run}").json() == before_run
    after_experiment = owner.get(f"/experiments/{alpha.experiment}").json()
    assert after_experiment["state"] == before_experiment["state"] == "active"
    assert after_experiment["name"] == before_experiment["name"]
    assert owner.get(f"/aiexperiments/{alpha.aiexperiment}").json()["state"] == "active"
    assert owner.get(f"/experiments/{alpha.experiment}/suggestions/{alpha.suggestion}").json()["state"] == "open"
    assert owner.get(f"/clients/{alpha.client}/projects/{alpha.project}").json()["name"] == alpha.project


def test_another_clients_ids_inside_own_experiment_are_404(
    live_server: LiveServer, alpha: Objects, beta: Objects, beta_token: str, http_of: Any
) -> None:
    """Beta's own experiment cannot reach alpha's suggestion or observation by id."""
    http = http_of(beta_token)
    base = f"/experiments/{beta.experiment}"
    _assert_error(http.get(f"{base}/suggestions/{alpha.suggestion}"), 404, "foreign suggestion")
    _assert_error(http.get(f"{base}/observations/{alpha.observation}"), 404, "foreign observation")
    _assert_error(http.delete(f"{base}/suggestions/{alpha.suggestion}"), 404, "delete a foreign suggestion")
    response = http.post(
        f"{base}/observations", json={"suggestion": alpha.suggestion, "values": [{"name": "y", "value": 1.0}]}
    )
    assert response.status_code in (400, 404), response.text
    owner = http_of(live_server.token)
    assert owner.get(f"/experiments/{alpha.experiment}/suggestions/{alpha.suggestion}").json()["state"] == "open"
    assert len(owner.get(f"/experiments/{alpha.experiment}/observations").json()["data"]) == 1


def test_tenants_lists_and_projects_are_separate(alpha: Objects, beta: Objects, beta_token: str, http_of: Any) -> None:
    """Beta may use the same project id as alpha; its lists hold none of alpha's objects."""
    assert beta.client != alpha.client and beta.project == alpha.project
    http = http_of(beta_token)
    lists = {
        "experiments": f"/clients/{beta.client}/experiments",
        "training_runs": f"/clients/{beta.client}/training_runs",
        "projects": f"/clients/{beta.client}/projects",
        "project runs": f"/clients/{beta.client}/projects/{beta.project}/training_runs",
    }
    alpha_ids = {alpha.run, alpha.experiment, alpha.aiexperiment}
    for what, path in lists.items():
        response = http.get(path)
        assert response.status_code == 200, f"{what}: {response.text}"
        data = response.json()["data"]
        ids = {str(item["id"]) for item in data}
        assert ids and not ids & alpha_ids, f"{what}: {ids}"
        projects = {item.get("project") for item in data if item.get("object") != "project"} - {None}
        assert projects <= {beta.project}, f"{what} shows a store project: {projects}"


def test_batch_on_another_clients_run_is_404(
    live_server: LiveServer, alpha: Objects, beta_token: str, http_of: Any
) -> None:
    ops = [["fields", alpha.run, "metadata", {"stolen": 1}]]
    response = http_of(beta_token).post("/sigopt_ai/batches", json={"ops": ops}, headers={"Idempotency-Key": "k-1"})
    _assert_error(response, 404, "batch on a foreign run")
    run = http_of(live_server.token).get(f"/training_runs/{alpha.run}").json()
    assert "stolen" not in run["metadata"]


def _deep(depth: int) -> bytes:
    return b'{"metadata": {"k": ' + b"[" * depth + b"]" * depth + b"}}"


def _raw_definition(replace: str, by: str) -> bytes:
    """The core definition as JSON text with one literal replaced (for NaN and huge numbers)."""
    text = json.dumps(CORE_DEFINITION)
    assert replace in text
    return text.replace(replace, by, 1).encode()


# (method, path template, raw body, words of which the message must hold one)
MALFORMED: list[tuple[str, str, bytes, tuple[str, ...]]] = [
    ("POST", "/experiments", b"[1, 2, 3]", ("JSON object",)),
    ("POST", "/experiments", b'"text"', ("JSON object",)),
    ("POST", "/experiments", b"null", ("JSON object", "name")),  # null may read as the empty body
    ("POST", "/experiments", b"42", ("JSON object",)),
    ("POST", "/experiments", b'{"name": ', ("JSON",)),
    ("POST", "/experiments", b"\xff\xfe{}", ("JSON",)),
    ("MERGE", "/training_runs/{run}", b"[]", ("JSON object",)),
    ("MERGE", "/training_runs/{run}", b"{oops}", ("JSON",)),
    # missing fields
    ("POST", "/experiments", json.dumps({"name": "e", "metrics": [{"name": "y"}]}).encode(), ("parameters",)),
    ("POST", "/clients/{cid}/projects", json.dumps({"name": "no id"}).encode(), ("id",)),
    (
        "POST",
        "/experiments/{experiment}/observations",
        json.dumps({"values": [{"name": "y", "value": 1}]}).encode(),
        ("suggestion", "assignments"),
    ),
    # wrong types
    ("POST", "/experiments", json.dumps({**CORE_DEFINITION, "parameters": "x"}).encode(), ("parameters",)),
    ("POST", "/experiments", json.dumps({**CORE_DEFINITION, "name": 7}).encode(), ("name",)),
    ("POST", "/experiments", json.dumps({**CORE_DEFINITION, "observation_budget": "ten"}).encode(), ("budget",)),
    ("POST", "/clients/{cid}/projects/{project}/training_runs", json.dumps({"name": ["r"]}).encode(), ("name",)),
    (
        "POST",
        "/clients/{cid}/projects/{project}/aiexperiments",
        json.dumps({**AI_DEFINITION, "metrics": {"y": 1}}).encode(),
        ("metrics",),
    ),
    ("MERGE", "/training_runs/{run}", json.dumps({"values": "fast"}).encode(), ("values",)),
    ("MERGE", "/training_runs/{run}", json.dumps({"values": {"y": {"value": "high"}}}).encode(), ("values", "value")),
    ("MERGE", "/training_runs/{run}", json.dumps({"metadata": ["a"]}).encode(), ("metadata",)),
    ("MERGE", "/training_runs/{run}", json.dumps({"state": "exploded"}).encode(), ("state",)),
    ("POST", "/training_runs/{run}/checkpoints", json.dumps({"values": {"y": 1}}).encode(), ("values",)),
    (
        "POST",
        "/experiments/{experiment}/observations",
        json.dumps({"suggestion": "{suggestion}", "values": "1"}).encode(),
        ("values",),
    ),
    (
        "POST",
        "/experiments/{experiment}/observations",
        json.dumps({"suggestion": "{suggestion}", "failed": "yes"}).encode(),
        ("failed",),
    ),
    ("POST", "/sigopt_ai/batches", json.dumps({"ops": "all"}).encode(), ("ops",)),
    ("POST", "/sigopt_ai/batches", json.dumps({"ops": [["explode", "1"]]}).encode(), ("ops", "explode")),
    # huge numbers and NaN written as JSON text (Python's parser accepts NaN, Infinity and 1e999)
    (
        "POST",
        "/experiments",
        _raw_definition('"observation_budget": 10', '"observation_budget": 1' + "0" * 400),
        ("budget",),
    ),
    ("POST", "/experiments", _raw_definition('"max": 1.0', '"max": 1e999'), ("max", "bounds")),
    ("POST", "/experiments", _raw_definition('"min": 0.0', '"min": NaN'), ("min", "bounds")),
    ("POST", "/experiments", _raw_definition('"observation_budget": 10', '"observation_budget": NaN'), ("budget",)),
    ("POST", "/experiments", _raw_definition('"max": 1.0', '"max": Infinity'), ("max", "bounds")),
    # deep nesting: Python's JSON parser raises RecursionError, which must not become a 500
    ("MERGE", "/training_runs/{run}", _deep(100_000), ("JSON", "body", "metadata", "deep", "nest")),
    ("POST", "/experiments", b"[" * 100_000 + b"]" * 100_000, ("JSON", "body")),
]


@pytest.mark.parametrize(("method", "template", "raw", "words"), MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_body_is_400_naming_the_field(
    method: str,
    template: str,
    raw: bytes,
    words: tuple[str, ...],
    live_server: LiveServer,
    alpha: Objects,
    http_of: Any,
) -> None:
    path = alpha.fill(template)
    content = raw.replace(b"{suggestion}", alpha.suggestion.encode())
    response = http_of(live_server.token).request(
        method, path, content=content, headers={"Content-Type": "application/json"}
    )
    body = _assert_error(response, 400, f"{method} {template} {raw[:80]!r}")
    assert any(word.lower() in body["message"].lower() for word in words), body["message"]


LIST_ROUTES = [
    "/clients/{cid}/projects",
    "/clients/{cid}/training_runs",
    "/clients/{cid}/projects/{project}/training_runs",
    "/clients/{cid}/experiments",
    "/clients/{cid}/projects/{project}/experiments",
    "/clients/{cid}/aiexperiments",
    "/clients/{cid}/projects/{project}/aiexperiments",
    "/experiments",
    "/experiments/{experiment}/suggestions",
    "/experiments/{experiment}/observations",
    "/training_runs/{run}/checkpoints",
]


def test_bad_paging_query_is_400_naming_it(live_server: LiveServer, alpha: Objects, http_of: Any) -> None:
    """A limit that is no count, is negative or overflows the store's integers, on every list: 400, never 500.

    A huge limit may also be read as "everything" (200); a paging marker that names nothing is an
    empty page or a 400.
    """
    http = http_of(live_server.token)
    wrong = []
    for template in LIST_ROUTES:
        path = alpha.fill(template)
        for query, allowed in (
            ("limit=many", {400}),
            ("limit=-1", {400}),
            ("limit=" + "9" * 40, {200, 400}),
            ("before=not-a-marker", {200, 400}),
            ("after=not-a-marker", {200, 400}),
        ):
            try:
                response = http.get(f"{path}?{query}")
            except httpx.TransportError as exc:  # the server dropped the connection
                wrong.append(f"GET {template}?{query[:20]}: {type(exc).__name__} {exc}")
                continue
            if response.status_code not in allowed:
                wrong.append(f"GET {template}?{query[:20]}: {response.status_code} {response.text[:160]}")
            elif response.status_code == 400 and query.split("=")[0] not in response.json()["message"]:
                wrong.append(f"GET {template}?{query[:20]}: the message does not name it: {response.text[:160]}")
    assert not wrong, "\n".join(wrong)


def test_oversized_body_is_413(live_server: LiveServer, alpha: Objects, http_of: Any) -> None:
    """Over the default 8 MiB limit: refused by its Content-Length, or while a chunked body arrives."""
    http = http_of(live_server.token)
    big = json.dumps({"metadata": {"k": "x" * (9 * 1024 * 1024)}}).encode()
    _assert_error(
        http.request("MERGE", f"/training_runs/{alpha.run}", content=big, headers={"Content-Type": "application/json"}),
        413,
        "declared length",
    )

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 256 * 1024):
            yield big[start : start + 256 * 1024]

    response = http.post("/sigopt_ai/batches", content=chunks(), headers={"Content-Type": "application/json"})
    _assert_error(response, 413, "chunked")
    # The run did not take any of it, and the server still answers.
    run = http.get(f"/training_runs/{alpha.run}").json()
    assert "k" not in run["metadata"]
