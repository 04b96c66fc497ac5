"""Running a suggestion's dense linear algebra on one BLAS thread.

The matrices of one suggestion are small (at most a few hundred rows), so BLAS threads buy nothing,
and on a busy machine OpenBLAS's spinning worker threads made small solves far slower
(``docs/optimizer.md``, *Latency*). ``threadpoolctl`` (a dependency of
scikit-learn) limits them at run time; without it this is a no-op.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

try:
    from threadpoolctl import ThreadpoolController
except ImportError:  # pragma: no cover - exercised only where threadpoolctl is absent
    ThreadpoolController = None


@functools.cache
def _controller() -> Any:
    return None if ThreadpoolController is None else ThreadpoolController()


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Limit BLAS to one thread inside the block (when ``threadpoolctl`` is installed)."""
    controller = _controller()
    if controller is None:
        yield
        return
    with controller.limit(limits=1, user_api="blas"):
        yield
