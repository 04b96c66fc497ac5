"""Shared fixtures: every test gets its own real SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import sigopt_ai as sigopt
from sigopt_ai import _config
from sigopt_ai.runs import _session


@pytest.fixture(autouse=True)
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh SQLite store in a temp dir, with a short flush interval; the client is torn down after."""
    db = tmp_path / "store" / "sigopt_ai.db"
    monkeypatch.setenv("SIGOPT_PROJECT", "tests")
    monkeypatch.delenv("SIGOPT_AI_DISABLED", raising=False)
    sigopt.configure(db=str(db), flush_interval=0.1)
    yield db
    _session.reset_session()
    _config.reset()


def run_python(
    code: str, *, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter and return the finished process."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def spawn_python(code: str, *, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start ``code`` in a fresh interpreter, with stdout piped line by line."""
    return subprocess.Popen(
        [sys.executable, "-u", "-c", textwrap.dedent(code)],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--long",
        action="store_true",
        help="Run the adversarial property tests with the 'long' hypothesis profile (thousands of examples).",
    )


def pytest_configure(config: pytest.Config) -> None:
    from hypothesis import settings

    import tests.adversarial.conftest  # noqa: F401  (registers the profiles)

    settings.load_profile("long" if config.getoption("--long") else "ci")
