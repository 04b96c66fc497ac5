"""Settings: where runs are stored (a store or a SigOpt REST server), how often they are written, how long a
flush waits, the default project."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeGuard
from urllib.parse import urlsplit

from sigopt_ai._checks import short_repr
from sigopt_ai._exceptions import ConfigError, ValidationError

DB_ENV = "SIGOPT_AI_DB"
INTERVAL_ENV = "SIGOPT_AI_FLUSH_INTERVAL"
FLUSH_TIMEOUT_ENV = "SIGOPT_AI_FLUSH_TIMEOUT"
DEFAULT_FLUSH_TIMEOUT = 30.0
MAX_FLUSH_TIMEOUT = 86_400.0
DISABLED_ENV = "SIGOPT_AI_DISABLED"
PROJECT_ENV = "SIGOPT_PROJECT"
DEFAULT_DB = Path(".sigopt_ai") / "sigopt_ai.db"
API_URL_ENV = "SIGOPT_API_URL"
API_TOKEN_ENV = "SIGOPT_API_TOKEN"
SERVER_WAIT_ENV = "SIGOPT_AI_SERVER_WAIT"
SPOOL_ENV = "SIGOPT_AI_SPOOL"
DEFAULT_SPOOL = Path(".sigopt_ai") / "spool.db"

_PROJECT_RE = re.compile(r"^[a-z0-9\-_.]+$")


@dataclass(frozen=True, slots=True)
class Settings:
    """Process-wide settings; :func:`sigopt_ai.configure` overrides the environment."""

    db: str | None = None
    flush_interval: float | None = None
    flush_timeout: float | None = None
    api_url: str | None = None
    api_token: str | None = None
    server_wait: float | None = None
    spool: str | None = None
    project: str | None = None

    def resolved_db(self) -> str:
        """The store URL or path: the SigOpt API URL when one is set (see :meth:`resolved_api_url`), else
        the argument, else ``SIGOPT_AI_DB``, else ``./.sigopt_ai/sigopt_ai.db``."""
        return self.resolved_api_url() or self.resolved_local_db()

    def resolved_local_db(self) -> str:
        """The database itself, whatever the API URL (what a server serves): the argument, else
        ``SIGOPT_AI_DB``, else ``./.sigopt_ai/sigopt_ai.db``."""
        return self.db or os.environ.get(DB_ENV) or str(DEFAULT_DB.absolute())

    def resolved_api_url(self) -> str | None:
        """The SigOpt REST server's URL: the argument, else ``SIGOPT_API_URL``, else None (no server)."""
        if self.api_url:
            return self.api_url
        env = os.environ.get(API_URL_ENV)
        return check_api_url(env, API_URL_ENV) if env else None

    def resolved_api_token(self) -> str:
        """The API token for the server: the argument, else ``SIGOPT_API_TOKEN``.

        Raises:
            ConfigError: Neither is set, or the environment's is malformed.
        """
        if self.api_token:
            return self.api_token
        env = os.environ.get(API_TOKEN_ENV)
        if not env:
            raise ConfigError(
                f"A SigOpt API URL is set but no API token: set {API_TOKEN_ENV} or call "
                "sigopt.configure(api_token=...)."
            )
        return check_api_token(env, API_TOKEN_ENV)

    def resolved_server_wait(self) -> float:
        """Seconds an experiment call or a read waits for a server that is down before it raises:
        the argument, else ``SIGOPT_AI_SERVER_WAIT``, else forever (``math.inf``)."""
        if self.server_wait is not None:
            return self.server_wait
        return _seconds_from_env(SERVER_WAIT_ENV, math.inf, check_server_wait)

    def resolved_spool(self) -> Path:
        """The journal that keeps batches while the server is unreachable: the argument, else
        ``SIGOPT_AI_SPOOL``, else ``./.sigopt_ai/spool.db`` (made absolute now)."""
        return Path(self.spool or os.environ.get(SPOOL_ENV) or DEFAULT_SPOOL).absolute()

    def resolved_interval(self) -> float:
        """Seconds between background writes (at most 1 s, so a kill loses at most that)."""
        if self.flush_interval is not None:
            return self.flush_interval
        return _seconds_from_env(INTERVAL_ENV, 0.5, check_interval)

    def resolved_flush_timeout(self) -> float:
        """Seconds ``flush()`` and ``run.end()`` wait for the store (default 30)."""
        if self.flush_timeout is not None:
            return self.flush_timeout
        return _seconds_from_env(FLUSH_TIMEOUT_ENV, DEFAULT_FLUSH_TIMEOUT, check_flush_timeout)


def _seconds_from_env(name: str, default: float, check: Callable[[object, str], float]) -> float:
    """The number of seconds in environment variable ``name`` (``default`` when unset), validated by
    ``check``, which also words the error for text that is not a number."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value: object = float(raw)
    except ValueError:
        value = raw
    return check(value, name)


def check_interval(value: object, field: str) -> float:
    """Validate a flush interval: more than 0 and at most 1 second."""
    if not _is_number(value) or not 0 < value <= 1:
        raise ConfigError(f"{field} must be more than 0 and at most 1 second, got {short_repr(value)}.")
    return float(value)


def check_flush_timeout(value: object, field: str) -> float:
    """Validate a flush timeout: from 0 to ``MAX_FLUSH_TIMEOUT`` seconds."""
    return _check_seconds(value, field, 0, MAX_FLUSH_TIMEOUT)


def _check_seconds(value: object, field: str, low: float, high: float) -> float:
    if not _is_number(value) or not low <= value <= high:
        raise ConfigError(f"{field} must be a number of seconds from {low:g} to {high:g}, got {short_repr(value)}.")
    return float(value)


def check_server_wait(value: object, field: str) -> float:
    """Validate a server wait: 0 seconds or more, ``math.inf`` for forever."""
    if not _is_number(value) or math.isnan(value) or value < 0:
        raise ConfigError(f"{field} must be a number of seconds from 0 (inf: forever), got {short_repr(value)}.")
    return float(value)


def check_api_url(value: object, field: str) -> str:
    """Validate a SigOpt API URL: ``http(s)://host[:port][/path]``, returned without a trailing ``/``."""
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(
            f"{field} must be an http:// or https:// URL of a SigOpt server, such as http://127.0.0.1:8080, "
            f"got {short_repr(value)}."
        )
    try:
        parts.port  # noqa: B018 (parsing the port is the check)
    except ValueError:
        raise ConfigError(f"{field} has an invalid port, got {short_repr(value)}.") from None
    assert isinstance(value, str)
    return value.rstrip("/")


_TOKEN_RE = re.compile(r"^[!-9;-~]{1,500}$")  # printable ASCII without spaces or ':' (HTTP Basic's user name)


def check_api_token(value: object, field: str) -> str:
    """Validate an API token: 1 to 500 printable ASCII characters, no spaces and no ``:``."""
    if not isinstance(value, str) or not _TOKEN_RE.match(value):
        shown = "a string" if isinstance(value, str) else short_repr(value)
        raise ConfigError(f"{field} must be 1 to 500 printable ASCII characters without spaces or ':', got {shown}.")
    return value


def check_spool(value: object, field: str) -> str:
    """Validate a journal path: a non-empty path."""
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        raise ConfigError(f"{field} must be a file path, got {short_repr(value)}.")
    return str(os.fspath(value))


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


LOST_AFTER_ENV = "SIGOPT_AI_LOST_AFTER"
DEFAULT_LOST_AFTER = 60.0


def lost_after() -> float:
    """Seconds without a heartbeat after which an active run is shown as lost: ``SIGOPT_AI_LOST_AFTER``,
    1 to 86,400 (default 60)."""
    return _seconds_from_env(LOST_AFTER_ENV, DEFAULT_LOST_AFTER, check_lost_after)


def check_lost_after(value: object, field: str) -> float:
    """Validate a lost-after lease: from 1 to 86,400 seconds."""
    return _check_seconds(value, field, 1, 86_400)


def disabled() -> bool:
    """Whether ``SIGOPT_AI_DISABLED`` turns recording off."""
    return os.environ.get(DISABLED_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def default_project() -> str:
    """The project set by :func:`set_project`, else ``SIGOPT_PROJECT``, else the working directory's
    name lower-cased (SigOpt's rule)."""
    if _settings.project is not None:
        return _settings.project
    env = os.environ.get(PROJECT_ENV)
    if env:
        return check_project(env, PROJECT_ENV)
    name = re.sub(r"[^a-z0-9\-_.]", "", Path.cwd().name.lower())
    return name or "default"


def check_project(project: object, field: str = "project") -> str:
    """Validate a project id: lower-case letters, digits, ``-``, ``_`` and ``.``."""
    if not isinstance(project, str) or not _PROJECT_RE.match(project) or len(project) > 100:
        raise ValidationError(
            f"{field} must be 1 to 100 lower-case letters, digits, '-', '_' or '.', got {short_repr(project)}."
        )
    return project


def set_project(project: object) -> str:
    """Make ``project`` this process's default project (it overrides ``SIGOPT_PROJECT``).

    Raises:
        ValidationError: It is not a valid project id.
    """
    update(project=check_project(project))
    return str(project)


_settings = Settings()


def reset() -> Settings:
    """Forget every setting made in this process (the environment's apply again)."""
    global _settings
    _settings = Settings()
    return _settings


def current() -> Settings:
    """The settings in force."""
    return _settings


def update(**changes: object) -> Settings:
    """Replace some settings; returns the new settings."""
    global _settings
    _settings = replace(_settings, **changes)  # type: ignore[arg-type]
    return _settings
