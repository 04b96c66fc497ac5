"""Tokens and tenancy: who may ask the server what."""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live_server import LiveServer, sigopt_ai_cli


def _get(server: LiveServer, path: str, token: str | None) -> httpx.Response:
    auth = None if token is None else (token, "")
    return httpx.get(f"{server.url}/v1{path}", auth=auth)


def test_tokens_self_names_the_tokens_client(live_server: LiveServer) -> None:
    response = _get(live_server, "/tokens/self", live_server.token)
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "token"
    assert body["client"] == "1"


@pytest.mark.parametrize("token", [None, "", "not-a-token"])
def test_a_missing_or_unknown_token_gets_401(live_server: LiveServer, token: str | None) -> None:
    response = _get(live_server, "/tokens/self", token)
    assert response.status_code == 401
    assert response.json() == {"object": "error", "message": response.json()["message"], "status": 401}
    assert "token" in response.json()["message"]


def test_a_token_one_character_off_gets_401(live_server: LiveServer) -> None:
    near = live_server.token[:-1] + ("A" if live_server.token[-1] != "A" else "B")
    assert _get(live_server, "/tokens/self", near).status_code == 401


def test_a_revoked_token_gets_401_and_others_keep_working(live_server: LiveServer) -> None:
    from sigopt_ai.backends.sql import SQLBackend
    from sigopt_ai.server._store import ServerStore

    store = ServerStore(SQLBackend(live_server.db, upgrade=False))
    doomed = store.create_token("alpha")  # in-process: the CLI is not what this tests, and is slow to start
    # Checked in the store, not through the server: a server process may trust a token it has seen for
    # a few seconds (its token cache), which is not what this test is about.
    assert store.authenticate(doomed) == "1"
    done = sigopt_ai_cli("token", "revoke", doomed, "--db", live_server.db)
    assert done.returncode == 0, done.stderr
    assert store.authenticate(doomed) is None
    assert _get(live_server, "/tokens/self", doomed).status_code == 401
    assert _get(live_server, "/tokens/self", live_server.token).status_code == 200
    again = sigopt_ai_cli("token", "revoke", doomed, "--db", live_server.db)
    assert again.returncode != 0
    assert "nothing was revoked" in again.stderr


def test_token_create_prints_a_token_and_stores_only_its_hash(tmp_path: Path) -> None:
    db = tmp_path / "tokens.db"
    done = sigopt_ai_cli("token", "create", "--client", "beta", "--db", str(db))
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert len(token) >= 32
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT t.hash, c.name FROM tokens t JOIN clients c ON c.id = t.client_id").fetchall()
        dump = "\n".join(conn.iterdump())
    assert rows == [(hashlib.sha256(token.encode()).hexdigest(), "beta")]
    assert token not in dump


def test_tokens_are_compared_in_constant_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sigopt_ai.backends.sql import SQLBackend
    from sigopt_ai.backends.sql._migrate import upgrade
    from sigopt_ai.server._store import ServerStore

    db = str(tmp_path / "tokens.db")
    upgrade(db)
    store = ServerStore(SQLBackend(db, upgrade=False))
    store.create_token("beta")
    token = store.create_token("beta")
    compared: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert store.authenticate(token) == "1"
    assert compared == [(hashlib.sha256(token.encode()).hexdigest(),) * 2]
    assert store.authenticate(token[:-1] + "x" if not token.endswith("x") else token[:-1] + "y") is None


def test_another_clients_run_and_project_are_404_as_missing_ones(live_server: LiveServer) -> None:
    beta = live_server.make_token("beta-tenancy")
    beta_client = _get(live_server, "/tokens/self", beta).json()["client"]
    with httpx.Client(base_url=f"{live_server.url}/v1", auth=(live_server.token, "")) as alpha:
        assert alpha.post("/clients/1/projects", json={"id": "private"}).status_code == 200
        run = alpha.post("/clients/1/projects/private/training_runs", json={"name": "secret"}).json()
    with httpx.Client(base_url=f"{live_server.url}/v1", auth=(beta, "")) as intruder:
        answers = [
            intruder.get(f"/training_runs/{run['id']}"),
            intruder.request("MERGE", f"/training_runs/{run['id']}", json={"metadata": {"x": 1}}),
            intruder.put(f"/training_runs/{run['id']}", json={"metadata": {}}),
            intruder.delete(f"/training_runs/{run['id']}"),
            intruder.post(f"/training_runs/{run['id']}/checkpoints", json={"values": []}),
            intruder.get(f"/clients/{beta_client}/projects/private"),
            intruder.get("/clients/1/projects/private"),
            intruder.get("/clients/1"),
            intruder.post("/clients/1/projects/private/training_runs", json={"name": "x"}),
        ]
        assert [a.status_code for a in answers] == [404] * len(answers)
        assert answers[0].json()["message"] == intruder.get("/training_runs/no-such-run").json()["message"].replace(
            "no-such-run", run["id"]
        )
        # the same project id is free in the intruder's own namespace
        assert intruder.post(f"/clients/{beta_client}/projects", json={"id": "private"}).status_code == 200
    with httpx.Client(base_url=f"{live_server.url}/v1", auth=(live_server.token, "")) as alpha:
        assert alpha.get(f"/training_runs/{run['id']}").json()["metadata"] == {}


def test_tokens_never_start_with_a_dash_so_the_command_line_takes_them() -> None:
    from sigopt_ai.server._store import new_token

    assert not any(new_token().startswith("-") for _ in range(2000))  # 1 in 64 would without the rule
