"""The store behind a SigOpt v1 REST server (``sigopt-ai server``), reached over HTTP with httpx.

:class:`HTTPBackend` is what :func:`sigopt_ai.backends.make_backend` builds for an ``http(s)://``
URL. A server that is down delays records but never loses them: batches wait in an offline
journal on disk (:class:`Journal`) and are sent when it is back, or with ``sigopt-ai sync``.
"""

from __future__ import annotations

from sigopt_ai.backends.http._backend import HTTPBackend
from sigopt_ai.backends.http._journal import Journal

__all__ = ["HTTPBackend", "Journal"]
