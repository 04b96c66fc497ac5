"""sigopt-python's core-module API: :class:`Connection` over this library's stores."""

from __future__ import annotations

from sigopt_ai.connection._connection import BoundResource, Connection, Endpoint
from sigopt_ai.connection._routes import NotFound, RequestConflict, RequestRejected

__all__ = ["BoundResource", "Connection", "Endpoint", "NotFound", "RequestConflict", "RequestRejected"]
