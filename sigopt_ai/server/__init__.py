"""A SigOpt v1 REST server over a sigopt-ai store (``sigopt-ai server``).

Imported only by the ``server`` command and tests: FastAPI and uvicorn are the server extra's
dependencies, never loaded by ``import sigopt_ai``.
"""

from __future__ import annotations

from sigopt_ai.server._app import app_from_env, create_app

__all__ = ["app_from_env", "create_app"]
