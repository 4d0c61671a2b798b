"""The one retry policy of the package (pure: decisions and delays, no sleeping).

Retried: HTTP 408, 409, 429 (rate limit 3021, capacity 3040) and >= 500, connection errors and
timeouts. Never retried: the exhausted daily quota (3036/4006) and other 4xx input errors, or a
stream after its first event was handed to the caller.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from workers_ai.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ConflictError,
    InternalServerError,
    QuotaExceededError,
    RateLimitError,
    RequestTimeoutError,
    StreamError,
)

INITIAL_DELAY = 0.5
MAX_DELAY = 8.0
MAX_RETRY_AFTER = 60.0

_RETRYABLE_STATUS_CLASSES = (
    RateLimitError,
    RequestTimeoutError,
    ConflictError,
    InternalServerError,
)


def is_retryable(error: BaseException) -> bool:
    """Whether a failed attempt may be retried."""
    if isinstance(error, QuotaExceededError):
        return False
    if isinstance(error, (*_RETRYABLE_STATUS_CLASSES, APIConnectionError)):
        return True
    if isinstance(error, APIStatusError):
        return error.status_code in (408, 409, 429) or error.status_code >= 500
    if isinstance(error, StreamError):
        # Only reached for streams that broke before their first event was handed out (the
        # client retries nothing later): a cut or garbled start is a server glitch; an error
        # event is retried when its code is.
        cls = error.error_class
        if cls is None:
            return True
        return issubclass(cls, _RETRYABLE_STATUS_CLASSES) and not issubclass(
            cls, QuotaExceededError
        )
    return False


def _retry_after_seconds(headers: Mapping[str, str], now: Callable[[], float]) -> float | None:
    lower = {k.lower(): v for k, v in headers.items()}
    raw_ms = lower.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return float(raw_ms) / 1000.0
        except ValueError:
            pass
    raw = lower.get("retry-after")
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        return float(parsed.timestamp()) - now()


def retry_delay(
    retries_done: int,
    headers: Mapping[str, str] | None = None,
    *,
    rand: Callable[[], float] = random.random,
    now: Callable[[], float] = time.time,
) -> float:
    """Seconds to wait before retry number ``retries_done + 1``.

    A server's ``retry-after-ms`` or ``retry-after`` (seconds or HTTP date) wins when it is
    between 0 and 60 s; otherwise exponential backoff with jitter:
    ``min(0.5 * 2**n, 8) * (1 - 0.25 * random())``.
    """
    if headers:
        after = _retry_after_seconds(headers, now)
        if after is not None and 0 <= after <= MAX_RETRY_AFTER:
            return after
    base = min(INITIAL_DELAY * 2.0**retries_done, MAX_DELAY)
    return base * (1 - 0.25 * rand())


def error_headers(error: BaseException) -> Mapping[str, str]:
    """Response headers carried by a status error (for ``retry-after``), else empty."""
    return error.headers if isinstance(error, APIStatusError) else {}


def transport_error(exc: httpx.TransportError) -> APIConnectionError:
    """Map an httpx transport failure to our connection/timeout errors (message only)."""
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"Request timed out ({type(exc).__name__}).")
    return APIConnectionError(f"Connection error ({type(exc).__name__}): {exc}")


@dataclass(frozen=True)
class RetryState:
    """Bookkeeping for one call's attempts."""

    max_retries: int
    retries_done: int = 0

    def next(self, error: BaseException) -> RetryState | None:
        """The state for the next attempt, or ``None`` when ``error`` must be raised."""
        if self.retries_done >= self.max_retries or not is_retryable(error):
            return None
        return RetryState(self.max_retries, self.retries_done + 1)


__all__ = [
    "RetryState",
    "error_headers",
    "is_retryable",
    "retry_delay",
    "transport_error",
]
