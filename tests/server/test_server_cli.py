"""``sigopt-ai server``: it serves only a store at the migration head, with one or several workers."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from sigopt_ai.backends.sql._migrate import alembic_config, revision
from tests.live_server import LiveServer, free_port, sigopt_ai_cli


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _old_store(path: Path) -> str:
    from alembic import command

    command.upgrade(alembic_config(url=str(path)), "0001")
    assert revision(str(path)) == "0001"
    return str(path)


@pytest.mark.parametrize("made", ["old", "missing"])
def test_the_server_refuses_a_store_not_at_the_head_before_it_listens(tmp_path: Path, made: str) -> None:
    db = _old_store(tmp_path / "old.db") if made == "old" else str(tmp_path / "missing.db")
    port = free_port()
    done = sigopt_ai_cli("server", "--db", db, "--port", str(port))
    assert done.returncode == 1
    assert "sigopt-ai db upgrade --db" in done.stderr
    assert not _listening(port)
    assert revision(db) == ("0001" if made == "old" else None)  # the server changed nothing


def test_token_create_upgrades_an_old_store(tmp_path: Path) -> None:
    db = _old_store(tmp_path / "old.db")
    done = sigopt_ai_cli("token", "create", "--client", "alpha", "--db", db)
    assert done.returncode == 0, done.stderr
    assert revision(db) != "0001"


def test_several_workers_serve_one_store_and_stop_together(tmp_path: Path) -> None:
    server = LiveServer(str(tmp_path / "workers.db"), workers=2)
    with server:
        with httpx.Client(base_url=f"{server.url}/v1", auth=(server.token, "")) as api:
            assert api.post("/clients/1/projects", json={"id": "shared"}).status_code == 200
            answers = {api.get("/clients/1/projects/shared").status_code for _ in range(20)}
        assert answers == {200}
    assert not _listening(server.port)
