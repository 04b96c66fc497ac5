"""Pointing the SDK at a server: ``SIGOPT_API_URL``/``SIGOPT_API_TOKEN`` or ``configure(api_url=...)``,
validated, and ``make_backend`` building the HTTP backend for it without connecting."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

import sigopt_ai as sigopt
from sigopt_ai import ConfigError, _config
from sigopt_ai.backends import make_backend
from sigopt_ai.backends.http import HTTPBackend
from sigopt_ai.backends.sql import SQLBackend
from sigopt_ai.optimizer import SuggestionService
from sigopt_ai.runs import _session
from tests.live_server import free_port


@pytest.fixture(autouse=True)
def no_server_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("SIGOPT_API_URL", "SIGOPT_API_TOKEN", "SIGOPT_AI_SERVER_WAIT", "SIGOPT_AI_SPOOL"):
        monkeypatch.delenv(name, raising=False)
    yield
    _session.reset_session()
    _config.update(api_url=None, api_token=None, server_wait=None, spool=None)


def test_an_api_url_in_the_environment_is_the_store_and_wins_over_the_db(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nobody listens: building the backend must not connect
    monkeypatch.setenv("SIGOPT_API_URL", url + "/")
    monkeypatch.setenv("SIGOPT_API_TOKEN", "tok")
    monkeypatch.setenv("SIGOPT_AI_SPOOL", str(tmp_path / "j.db"))
    settings = _config.current()
    assert settings.resolved_db() == url and settings.resolved_local_db() != url
    backend = make_backend(settings.resolved_db())
    assert isinstance(backend, HTTPBackend) and backend.url == url
    assert backend.journal.path == tmp_path / "j.db" and math.isinf(backend.server_wait)
    backend.close()


def test_configure_sets_the_server_its_token_wait_and_journal(tmp_path: Path) -> None:
    url = f"https://127.0.0.1:{free_port()}"
    sigopt.configure(api_url=url, api_token="tok", server_wait=5, spool=tmp_path / "s.db")
    backend = make_backend(_config.current().resolved_db())
    assert isinstance(backend, HTTPBackend)
    assert (backend.url, backend.server_wait, backend.journal.path) == (url, 5.0, tmp_path / "s.db")
    backend.close()
    sigopt.configure(api_url="")  # back to the store of the settings
    assert isinstance(make_backend(_config.current().resolved_db()), SQLBackend)


def test_a_run_starts_and_ends_with_the_server_down(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sigopt.configure(api_url=f"http://127.0.0.1:{free_port()}", api_token="tok", spool=tmp_path / "s.db")
    with sigopt.create_run(name="offline") as run:
        run.log_metric("loss", 0.5)
    assert run.state is sigopt.RunState.COMPLETED
    assert "kept in the journal" in capsys.readouterr().err


def test_a_missing_token_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGOPT_API_URL", "http://127.0.0.1:1")
    with pytest.raises(ConfigError, match="SIGOPT_API_TOKEN"):
        make_backend(_config.current().resolved_db())


def test_a_service_cannot_be_given_to_a_server() -> None:
    sigopt.configure(api_token="tok")
    with pytest.raises(ConfigError, match="service"):
        make_backend("http://127.0.0.1:1", service=SuggestionService())


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"api_url": "ftp://host"}, "api_url"),
        ({"api_url": "http://"}, "api_url"),
        ({"api_url": "http://host:99999"}, "api_url"),
        ({"api_url": "http://host/?q=1"}, "api_url"),
        ({"api_token": ""}, "api_token"),
        ({"api_token": "has space"}, "api_token"),
        ({"api_token": "a:b"}, "api_token"),
        ({"api_token": 3}, "api_token"),
        ({"server_wait": -1}, "server_wait"),
        ({"server_wait": math.nan}, "server_wait"),
        ({"server_wait": "10"}, "server_wait"),
        ({"server_wait": True}, "server_wait"),
        ({"spool": ""}, "spool"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        sigopt.configure(**changes)  # type: ignore[arg-type]


def test_a_token_is_never_echoed_in_its_error() -> None:
    with pytest.raises(ConfigError) as raised:
        sigopt.configure(api_token="secret value")
    assert "secret" not in str(raised.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [("SIGOPT_API_URL", "localhost:8080"), ("SIGOPT_API_TOKEN", "a b"), ("SIGOPT_AI_SERVER_WAIT", "soon")],
)
def test_bad_environment_values_are_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv("SIGOPT_API_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("SIGOPT_API_TOKEN", "tok")
    monkeypatch.setenv(name, value)
    settings = _config.current()
    with pytest.raises(ConfigError, match=name):
        settings.resolved_api_url()
        settings.resolved_api_token()
        settings.resolved_server_wait()


def test_server_wait_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGOPT_AI_SERVER_WAIT", "12.5")
    assert _config.current().resolved_server_wait() == 12.5
    monkeypatch.setenv("SIGOPT_AI_SERVER_WAIT", "inf")
    assert math.isinf(_config.current().resolved_server_wait())
