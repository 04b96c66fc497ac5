"""When a request to the server is tried again, and how long to wait before it (with tenacity).

A request is retried when the server could not be reached or did not answer in time, and when it
answered 429 or 5xx: :class:`Unavailable` says so, with the server's ``Retry-After`` when it sent
one. The wait is exponential backoff with full jitter, and never shorter than ``Retry-After``.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Callable

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_before_delay, stop_never
from tenacity.stop import stop_base
from tenacity.wait import wait_base, wait_random_exponential

from sigopt_ai._exceptions import TransportError

RETRY_AFTER_MAX_S = 600.0
"""The longest ``Retry-After`` honoured: a server asking for more is asked again after this."""


class Unavailable(TransportError):
    """The server is unreachable, or answered that it cannot serve now (429, 5xx).

    Args:
        message: What happened, for the user.
        status: The HTTP status, or None when no answer came.
        retry_after: Seconds the server asked to wait (its ``Retry-After``), if it did.
        refused: No connection could be made (nothing listens there): the server is down, not slow.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        refused: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.refused = refused


def is_retryable_status(status: int) -> bool:
    """Whether a reply with this status means "try again later" (429 and 5xx)."""
    return status == 429 or 500 <= status <= 599


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or an HTTP date), at most
    :data:`RETRY_AFTER_MAX_S`; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_MAX_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        return None
    delay = when.timestamp() - (time.time() if now is None else now)
    return min(max(delay, 0.0), RETRY_AFTER_MAX_S)


class WaitRetryAfter(wait_base):
    """Wait ``backoff``'s time, or the server's ``Retry-After`` when that is longer."""

    def __init__(self, backoff: wait_base) -> None:
        self.backoff = backoff

    def __call__(self, retry_state: RetryCallState) -> float:
        delay = float(self.backoff(retry_state))
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None and outcome.failed else None
        hint = error.retry_after if isinstance(error, Unavailable) else None
        return delay if hint is None else max(delay, hint)


def retrying(
    *,
    within: float,
    first_wait: float,
    max_wait: float,
    before_sleep: Callable[[RetryCallState], None] | None = None,
    retry_refused: bool = True,
) -> Retrying:
    """A tenacity policy that retries :class:`Unavailable` until ``within`` seconds have passed
    (``math.inf``: forever), never sleeping past that bound; the last error is raised again.

    Args:
        within: Seconds to keep trying.
        first_wait: The backoff's scale: the first wait is up to this, then doubling, with full jitter.
        max_wait: The longest backoff (a ``Retry-After`` may be longer).
        before_sleep: Called before each wait (to tell the user once).
        retry_refused: Whether a refused connection is tried again too (False: it is raised at once,
            for a caller with somewhere else to put its request while the server is down).
    """
    stop: stop_base = stop_never if math.isinf(within) else stop_before_delay(within)
    return Retrying(
        retry=retry_if_exception(lambda error: isinstance(error, Unavailable) and (retry_refused or not error.refused)),
        wait=WaitRetryAfter(wait_random_exponential(multiplier=first_wait, max=max_wait)),
        stop=stop,
        before_sleep=before_sleep,
        reraise=True,
    )
