"""``sigopt.config``: the settings in force, read under sigopt-python's ``sigopt.config`` names."""

from __future__ import annotations

import os
from typing import Any

from sigopt_ai import _config

__all__ = ["ClientConfig", "config"]


class ClientConfig:
    """What sigopt-python's ``sigopt.config`` tells, read from this library's settings
    (:func:`sigopt_ai.configure`, then the environment). Read-only: change settings with
    :func:`sigopt_ai.configure`.

    Example:
        >>> sigopt.config.api_url is None  # no server: runs go to the embedded store
        True
    """

    @property
    def api_token(self) -> str | None:
        """The SigOpt API token in force, or None when none is set."""
        return _config.current().api_token or os.environ.get(_config.API_TOKEN_ENV) or None

    @property
    def api_url(self) -> str | None:
        """The SigOpt REST server runs go to, or None for the embedded store (see :attr:`db`)."""
        return _config.current().resolved_api_url()

    @property
    def db(self) -> str:
        """Where runs are stored: the server's URL, else the database's path or URL."""
        return _config.current().resolved_db()

    @property
    def project(self) -> str:
        """The default project of new runs and experiments."""
        return _config.default_project()

    @property
    def cell_tracking_enabled(self) -> bool:
        """Notebook cell tracking, which this library does not do."""
        return False

    @property
    def log_collection_enabled(self) -> bool:
        """Whether a command's output is kept with its run: ``sigopt-ai run`` always keeps it."""
        return True

    def set_user_agent_info(self, info: Any) -> None:
        """Accepted for sigopt-python's integrations; the information is kept, not sent."""
        self._user_agent_info = info

    def get_user_agent_info(self) -> Any:
        """What :meth:`set_user_agent_info` was given, or None."""
        return getattr(self, "_user_agent_info", None)

    def __repr__(self) -> str:
        return f"<sigopt_ai config: store {self.db!r}, project {self.project!r}>"


config = ClientConfig()
"""The settings in force (``sigopt.config.api_url``, ``sigopt.config.project``...)."""
